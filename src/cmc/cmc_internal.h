/* Internal to the cmc and backends layers: a problem taken apart and put
 * together again in another process (the worker processes of the pool). */
#ifndef HCMC_CMC_INTERNAL_H
#define HCMC_CMC_INTERNAL_H

#include <stdbool.h>

#include "hcmc/cmc.h"
#include "hcmc/nuts.h"
#include "hcmc/rates.h"

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

/* A shard's sampling in reference-rate coordinates (rates.h): the shard
 * target t as a density in w, log density lp_z(z(w)) + tau log |det dz/dw|
 * (the same posterior, prior and Jacobian tempered alike, so the K shard
 * densities still multiply to the full posterior), and where it starts.
 * A rate law is sampled in w when the warm start maps and its exponent
 * lies at least 3 shard posterior sds from 0 (where the map is singular);
 * used counts them (0: the shard samples in z). */
typedef struct {
    const hcmc_target *t;
    hcmc_rate_coords rc;
    double (*bounds)[2];
    double tau;
    double *w0, *cov_w; /* start and its covariance in w */
    size_t used;
} hcmc__rates_sampling;

int hcmc__rates_sampling_init(hcmc__rates_sampling *rs, const hcmc_problem *p,
                              const hcmc_target *t);
void hcmc__rates_sampling_release(hcmc__rates_sampling *rs);
hcmc_density hcmc__rates_density(const hcmc__rates_sampling *rs);

#endif
