/* Internal to the cmc and backends layers. */
#ifndef HCMC_CMC_INTERNAL_H
#define HCMC_CMC_INTERNAL_H

#include "hcmc/cmc.h"

/* A shallow copy of p that reads its points from pts, which must hold the
 * same values (e.g. a worker's read-only shared-memory copy). Free it with
 * free(); p must outlive it. */
hcmc_problem *hcmc__problem_view(const hcmc_problem *p, const hcmc_points *pts);

#endif
