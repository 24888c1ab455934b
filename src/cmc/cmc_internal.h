/* Internal to the cmc and backends layers: a problem taken apart and put
 * together again in another process (the worker processes of the pool). */
#ifndef HCMC_CMC_INTERNAL_H
#define HCMC_CMC_INTERNAL_H

#include <stdbool.h>

#include "hcmc/cmc.h"
#include "hcmc/combine.h"
#include "hcmc/nuts.h"

/* The shards' target settings (fixed scaling values included). */
const hcmc_target_spec *hcmc__problem_spec(const hcmc_problem *p);
/* The spec of one run on all of p's points, for the refinement of a
 * combination (run/refine.c): no tempering, and each rate law in the
 * coordinates one run would choose from the same warm start (choose_laws
 * with K = 1, made with the problem and kept in the plan file; a plan
 * without them: the shards' kinds, a slope law's curvature scale divided
 * by sqrt(K)). */
void hcmc__problem_refine_spec(const hcmc_problem *p, hcmc_target_spec *out);
/* That choice (law.h kinds as ints, scales), for the plan file; false
 * where p has none. */
bool hcmc__problem_one_laws(const hcmc_problem *p, int kind[2], double scale[2]);
void hcmc__problem_set_one_laws(hcmc_problem *p, const int kind[2],
                                const double scale[2]);
/* The warm start z0 [dim] and its covariance *cov0 [dim * dim]. */
const double *hcmc__problem_start(const hcmc_problem *p, const double **cov0);

/* A problem of those parts: spec (its fixed values are copied), pts (not
 * copied; must outlive it), z0 and cov0 (copied). With full, it also has
 * its target over all points (names, bounds, hcmc_problem_fingerprint);
 * without, hcmc_shard_run is all it is good for. */
int hcmc__problem_from_parts(const hcmc_target_spec *spec, const hcmc_points *pts,
                             size_t dim, const double *z0, const double *cov0,
                             bool full, hcmc_problem **out, hcmc_error *err);

/* Invariants, for assert() at module boundaries (debug builds; each costs
 * a pass over what it checks):
 *   plan: shards start at 0 and end at n_points, every point in exactly
 *         one shard, ascending within it, costs finite and >= 0, order a
 *         permutation of the shards;
 *   problem: a start z0 and a covariance that are finite, symmetric, with
 *         a positive diagonal;
 *   combination of K shards: every status known, n_kept the kept ones,
 *         the combined draws finite. */
bool hcmc__plan_ok(const hcmc_shard_plan *p, size_t n_points);
bool hcmc__problem_ok(const hcmc_problem *p);
bool hcmc__combine_ok(const hcmc_combine_result *r, size_t K);

#endif
