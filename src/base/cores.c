/* The cores this process may use: its affinity mask, not the machine's
 * online count, so that threads stay within a scheduler's allocation. */
#define _GNU_SOURCE
#include "hcmc/cores.h"

#include <sched.h>

size_t hcmc_usable_cores(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return (size_t)CPU_COUNT(&set);
    return 1;
}
