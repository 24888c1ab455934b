/* hcmc status codes and the error object.
 *
 * Every function that acts returns int: 0 (HCMC_OK) or a negative HCMC_E*
 * code. When it fails it also fills a caller-owned hcmc_error with one line
 * naming the input at fault (file, dataset, config key, parameter). The
 * library never prints, exits or aborts; the caller decides what to show. */
#ifndef HCMC_STATUS_H
#define HCMC_STATUS_H

#include <stdarg.h>

#include "hcmc/export.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    HCMC_OK = 0,
    HCMC_EINVAL = -1,   /* a value is invalid or out of range */
    HCMC_ENOMEM = -2,   /* an allocation failed */
    HCMC_EIO = -3,      /* reading or writing a file failed */
    HCMC_EFORMAT = -4,  /* an input is malformed */
    HCMC_ENUMERIC = -5, /* a computation gave a non-finite result */
    HCMC_ENODATA = -6,  /* nothing usable is left */
    HCMC_EUNSUPPORTED = -7,
    HCMC_ECANCELED = -8, /* stopped on request (signal, timeout, callback) */
    HCMC_E_COUNT_ = 9
};

#define HCMC_ERROR_MSG_MAX 512
/* The longest file path hcmc takes (config files, data, run directories). */
#define HCMC_PATH_MAX 4096

/* Mirrored by python/hcmc (ctypes): change both together. */
typedef struct hcmc_error {
    int code;                     /* 0 or the HCMC_E* code of the failure */
    char msg[HCMC_ERROR_MSG_MAX]; /* one line; empty when code is 0 */
} hcmc_error;

/* Stable name ("HCMC_EINVAL") and generic description of a code. */
HCMC_API const char *hcmc_status_name(int code);
HCMC_API const char *hcmc_status_str(int code);

/* Clears err (err may be NULL). */
HCMC_API void hcmc_error_clear(hcmc_error *err);

/* Records code and a printf-style message in err (err may be NULL) and
 * returns code, so that failures read `return hcmc_error_set(err, ...)`. */
HCMC_API int hcmc_error_set(hcmc_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
HCMC_API int hcmc_error_vset(hcmc_error *err, int code, const char *fmt, va_list ap);

/* Puts "context: " in front of an existing message, for callers that know
 * more about where the failure happened (e.g. the file name). */
HCMC_API void hcmc_error_prefix(hcmc_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif
#endif
