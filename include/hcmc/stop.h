/* A request to stop, made from a signal handler (Ctrl-C, SIGTERM) or any
 * thread, and seen by long computations: the backends stop dispatching
 * shards and the sampler's chains end at their next iteration, so that
 * finished work is kept and the run can be resumed.
 *
 * This is the one process-wide flag of the library besides the log
 * settings: a signal reaches the whole process, so its effect is global. */
#ifndef HCMC_STOP_H
#define HCMC_STOP_H

#include <stdbool.h>

#include "hcmc/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Async-signal-safe. sig is recorded (0 for a request that is no signal). */
HCMC_API void hcmc_stop_request(int sig);
HCMC_API bool hcmc_stop_requested(void);
/* The signal of the first request, or 0. */
HCMC_API int hcmc_stop_signal(void);
HCMC_API void hcmc_stop_clear(void);
/* SIGINT and SIGTERM make a stop request; a second SIGINT ends the process
 * at once (the default action). For programs, not for library code. */
HCMC_API int hcmc_stop_install_handlers(void);

#ifdef __cplusplus
}
#endif
#endif
