/* Logging with levels. Messages go to stderr (or to a sink the program
 * installs); the level and sink are the only process-wide mutable state in
 * the library and are meant to be set once at start-up. */
#ifndef HCMC_LOG_H
#define HCMC_LOG_H

#include "hcmc/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hcmc_log_level {
    HCMC_LOG_ERROR = 0,
    HCMC_LOG_WARN = 1,
    HCMC_LOG_INFO = 2,
    HCMC_LOG_DEBUG = 3
} hcmc_log_level;

/* A sink receives one formatted line without trailing newline. */
typedef void (*hcmc_log_sink)(hcmc_log_level level, const char *line, void *user);

HCMC_API void hcmc_log_set_level(hcmc_log_level level);
HCMC_API hcmc_log_level hcmc_log_get_level(void);
/* NULL restores the default sink (stderr, "hcmc: warning: ..."). */
HCMC_API void hcmc_log_set_sink(hcmc_log_sink sink, void *user);
HCMC_API void hcmc_log(hcmc_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif
#endif
