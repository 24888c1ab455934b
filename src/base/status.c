/* Status codes and error objects: every library function returns 0 or a
 * negative HCMC_E* code and fills an hcmc_error whose message names the
 * value, file or parameter at fault. */
#include "hcmc/status.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    const char *text;
} status_table[HCMC_E_COUNT_] = {
    {"HCMC_OK", "success"},
    {"HCMC_EINVAL", "invalid value"},
    {"HCMC_ENOMEM", "out of memory"},
    {"HCMC_EIO", "input/output error"},
    {"HCMC_EFORMAT", "malformed input"},
    {"HCMC_ENUMERIC", "non-finite result"},
    {"HCMC_ENODATA", "no usable data"},
    {"HCMC_EUNSUPPORTED", "not supported"},
    {"HCMC_ECANCELED", "stopped on request"},
};

static int status_index(int code)
{
    int k = -code;
    return (k >= 0 && k < HCMC_E_COUNT_) ? k : -1;
}

const char *hcmc_status_name(int code)
{
    int k = status_index(code);
    return k < 0 ? "HCMC_E?" : status_table[k].name;
}

const char *hcmc_status_str(int code)
{
    int k = status_index(code);
    return k < 0 ? "unknown status" : status_table[k].text;
}

void hcmc_error_clear(hcmc_error *err)
{
    if (err) {
        err->code = HCMC_OK;
        err->msg[0] = '\0';
    }
}

int hcmc_error_vset(hcmc_error *err, int code, const char *fmt, va_list ap)
{
    if (err) {
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    }
    return code;
}

int hcmc_error_set(hcmc_error *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hcmc_error_vset(err, code, fmt, ap);
    va_end(ap);
    return code;
}

void hcmc_error_prefix(hcmc_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    char out[HCMC_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, sizeof out, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t used = (size_t)n < sizeof out ? (size_t)n : sizeof out - 1;
    /* ": " and the old message, cut to what still fits */
    snprintf(out + used, sizeof out - used, ": %.*s", (int)(sizeof out - used),
             err->msg);
    memcpy(err->msg, out, sizeof out);
}
