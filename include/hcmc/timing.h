/* Wall-clock timing for reports and benchmarks. */
#ifndef HCMC_TIMING_H
#define HCMC_TIMING_H

#include "hcmc/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Seconds on the monotonic clock, from an arbitrary origin. */
HCMC_API double hcmc_seconds(void);

#ifdef __cplusplus
}
#endif
#endif
