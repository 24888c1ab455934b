/* Wall-clock time for progress, timeouts and the figures of a run: a
 * monotonic clock, so that a clock change never makes a timeout fire. */
#include "hcmc/timing.h"

#include <time.h>

double hcmc_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
