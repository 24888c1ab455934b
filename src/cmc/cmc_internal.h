/* Internal to the cmc and backends layers: a problem taken apart and put
 * together again in another process (the worker processes of the pool). */
#ifndef HCMC_CMC_INTERNAL_H
#define HCMC_CMC_INTERNAL_H

#include <stdbool.h>

#include "hcmc/cmc.h"
#include "hcmc/nuts.h"

/* The shards' target settings (fixed scaling values included). */
const hcmc_target_spec *hcmc__problem_spec(const hcmc_problem *p);
/* The warm start z0 [dim] and its covariance *cov0 [dim * dim]. */
const double *hcmc__problem_start(const hcmc_problem *p, const double **cov0);

/* A problem of those parts: spec (its fixed values are copied), pts (not
 * copied; must outlive it), z0 and cov0 (copied). With full, it also has
 * its target over all points (names, bounds, hcmc_problem_fingerprint);
 * without, hcmc_shard_run is all it is good for. */
int hcmc__problem_from_parts(const hcmc_target_spec *spec, const hcmc_points *pts,
                             size_t dim, const double *z0, const double *cov0, bool full,
                             hcmc_problem **out, hcmc_error *err);

#endif
