/* The cores this process may use. */
#ifndef HCMC_CORES_H
#define HCMC_CORES_H

#include <stddef.h>

#include "hcmc/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Cores this process may run on (its CPU affinity, which a batch
 * scheduler's allocation or taskset narrows), at least 1. */
HCMC_API size_t hcmc_usable_cores(void);

#ifdef __cplusplus
}
#endif
#endif
