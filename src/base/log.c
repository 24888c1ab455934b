/* Log lines: a level and a sink. The library writes nothing to stdout;
 * without a sink a line goes to stderr as "hcmc: ...", and a program (the
 * CLI, a binding) may set a sink that routes lines elsewhere. */
#include "hcmc/log.h"

#include <stdarg.h>
#include <stdio.h>

static hcmc_log_level log_level = HCMC_LOG_INFO;
static hcmc_log_sink log_sink;
static void *log_user;

void hcmc_log_set_level(hcmc_log_level level)
{
    log_level = level;
}
hcmc_log_level hcmc_log_get_level(void)
{
    return log_level;
}

void hcmc_log_set_sink(hcmc_log_sink sink, void *user)
{
    log_sink = sink;
    log_user = user;
}

void hcmc_log(hcmc_log_level level, const char *fmt, ...)
{
    if (level > log_level)
        return;
    static const char *const tag[] = {"error: ", "warning: ", "", "debug: "};
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (log_sink)
        log_sink(level, line, log_user);
    else
        fprintf(stderr, "hcmc: %s%s\n", tag[level], line);
}
