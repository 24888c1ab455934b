/* Consensus Monte Carlo: the problem, the shard plan and the shard task
 * (MODEL.md sections 5, 6, 9; DESIGN.md).
 *
 * A problem is immutable once made: the full points table, the target
 * specification every shard shares (tempering K, fixed scaling and sigma's
 * prior scale from the whole data set), and the warm start computed once on
 * the whole data set. A plan assigns every point to exactly one shard and
 * orders the shards longest first. The shard task is a pure function of
 * (problem, plan, shard id, settings): the same inputs give the same bytes,
 * whichever process or machine runs it. */
#ifndef HCMC_CMC_H
#define HCMC_CMC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hcmc/diagnostics.h"
#include "hcmc/export.h"
#include "hcmc/nuts.h"
#include "hcmc/points.h"
#include "hcmc/status.h"
#include "hcmc/target.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hcmc_shard_strategy {
    HCMC_STRATEGY_RANDOM = 0, /* angle-balanced when several angles */
    HCMC_STRATEGY_STRATIFIED, /* one shard per angle, split when too large */
    HCMC_STRATEGY_CONTIGUOUS  /* consecutive blocks in (angle, i, j) order */
} hcmc_shard_strategy;

HCMC_API int hcmc_shard_strategy_parse(const char *s, hcmc_shard_strategy *out,
                                       hcmc_error *err);

typedef struct hcmc_shard_plan {
    size_t n_shards;
    size_t *start; /* [K + 1]: shard k holds idx[start[k] .. start[k+1]) */
    size_t *idx;   /* point indices, ascending within a shard */
    double *cost;  /* [K]: N_k (1 + normalised noise) */
    size_t *order; /* [K]: dispatch order, largest cost first */
} hcmc_shard_plan;

/* num_shards and max_points 0 mean auto (MODEL.md 5: the fewest shards
 * that give every worker at least 2, with at most 100 000 and at least
 * 5 000 (laminar_flow) / 10 000 (static) points each). */
HCMC_API int hcmc_shard_plan_make(const hcmc_points *pts, hcmc_shard_strategy strategy,
                                  size_t num_shards, size_t max_points, size_t workers,
                                  hcmc_mode mode, uint64_t seed, hcmc_shard_plan **out,
                                  hcmc_error *err);
HCMC_API void hcmc_shard_plan_free(hcmc_shard_plan *p);

typedef struct hcmc_problem hcmc_problem;

/* Builds the problem over pts (not copied; must outlive it) for K shards:
 * the spec's num_shards is set to K, constant scaling values and sigma's
 * prior scale come from all points, and the warm start (a least-squares
 * fit) runs on all points. init_phys: starting values of the physical
 * parameters for that fit (NaN = none; NULL: none), e.g. a config's
 * initial_parameters. */
HCMC_API int hcmc_problem_new(const hcmc_target_spec *spec, const hcmc_points *pts,
                              size_t K, const double *init_phys, hcmc_problem **out,
                              hcmc_error *err);
HCMC_API void hcmc_problem_free(hcmc_problem *p);
HCMC_API size_t hcmc_problem_dim(const hcmc_problem *p);
HCMC_API const char *hcmc_problem_param_name(const hcmc_problem *p, size_t k);
/* A target over all points with the problem's settings (for constrain,
 * names, bounds). */
HCMC_API const hcmc_target *hcmc_problem_target(const hcmc_problem *p);

/* The modes of the posterior that the warm start's global search found
 * (warmstart.h), the first where the chains start: each one's parameter
 * values (hcmc_problem_dim of them, sigma last), how far its fit's log
 * likelihood lies below the best fit's, and the Laplace estimate of its
 * posterior mass relative to the first's. A fit whose mode is within the
 * 99 % region of another's Laplace approximation is that mode, not
 * another. */
#define HCMC_PROBLEM_MAX_MODES 4
typedef struct hcmc_problem_mode {
    double theta[65];
    double dloglik, weight;
} hcmc_problem_mode;

HCMC_API size_t hcmc_problem_modes(const hcmc_problem *p,
                                   const hcmc_problem_mode **modes);

typedef struct hcmc_shard_result {
    size_t id, n_points;
    int status;        /* 0, or the error code */
    char message[512]; /* why it failed */
    hcmc_nuts_result *nuts;
    double seconds;
    double rhat_max; /* over parameters */
    double ess_bulk_min;
    size_t reruns; /* chains run again for their divergences (nuts.h rerun_divergent) */
} hcmc_shard_result;

/* Runs shard `id` of plan. Failures of the sampler are recorded in the
 * result (status, message), not returned: the gates decide. Returns non-zero
 * only when no result could be made (out of memory). */
HCMC_API int hcmc_shard_run(const hcmc_problem *p, const hcmc_shard_plan *plan,
                            size_t id, const hcmc_nuts_settings *settings,
                            hcmc_shard_result **out, hcmc_error *err);
HCMC_API void hcmc_shard_result_free(hcmc_shard_result *r);

/* The result of a whole shard from the results of its chains run apart
 * (settings chain_first / chain_count), parts in chain order. The same
 * bytes as one run of all chains; seconds are summed (CPU time). On
 * success it has taken the parts (freed, or one returned when it failed:
 * the shard then fails with that part's message); on an error they are
 * still the caller's. */
HCMC_API int hcmc_shard_result_merge(hcmc_shard_result **parts, size_t n,
                                     hcmc_shard_result **out, hcmc_error *err);

/* The result as bytes, for pipes and messages between processes of one
 * machine or cluster (native byte order; warmup draws are left out), and
 * back. unpack checks the length and every count, so a truncated or
 * corrupted message gives an error, never a crash. */
HCMC_API int hcmc_shard_result_pack(const hcmc_shard_result *r, void **buf, size_t *len,
                                    hcmc_error *err);
HCMC_API int hcmc_shard_result_unpack(const void *buf, size_t len,
                                      hcmc_shard_result **out, hcmc_error *err);

/* A 64-bit digest of everything that decides a shard's draws: the points,
 * the plan, the target's settings, the warm start, the sampler settings
 * that change draws, and the hcmc version. Shard files carry it, so a
 * later run reuses only results of the same problem (resume). */
HCMC_API uint64_t hcmc_problem_fingerprint(const hcmc_problem *p,
                                           const hcmc_shard_plan *plan,
                                           const hcmc_nuts_settings *s);

#ifdef __cplusplus
}
#endif
#endif
