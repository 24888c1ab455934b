/* Combining shard posteriors (MODEL.md section 8), in the coordinates z the
 * shards sampled in (target.h: law coordinates for the rate laws, where a
 * shard's posterior is close to Gaussian).
 *
 * The shards' targets share a base: each holds the standard normal part
 * N(z) of the prior of the bounded coordinates whole (target.h), so their
 * product is the posterior times N(z)^(K-1). The Gaussian rules divide it
 * out: with base_precision the base's precision per coordinate (1 for a
 * bounded one, 0 for log sigma; NULL: no base), the combined precision is
 * A = sum_k W_k - (K - 1) diag(base_precision), K the shards kept. A
 * direction the data leave open then keeps the prior's width, not the
 * product's, which is K times narrower.
 *
 *   consensus_mc: W_k = inverse sample covariance of shard k; combined draw
 *     g = A^-1 sum W_k z_{k,g}, g the same (chain, draw) index in every
 *     shard, so chains and draws keep their structure; with a base, the
 *     draws are then mapped linearly about their mean to covariance A^-1.
 *     Memory beyond the shards' draws: O(C S d + K d^2).
 *   robust_consensus_mc (= auto): shards whose mean of a physical parameter
 *     is an outlier (0.6745 |m_k - median| / MAD > 3.5, the MAD taken at
 *     least 0.6745 x the median shard posterior sd) are dropped first (all
 *     kept if fewer than 3 would remain), then consensus_mc.
 *   gaussian: the product of the shards' Gaussian approximations (less the
 *     bases), sampled with the run's seed.
 *   weighted_gaussian, simple_average: homodyne's rules, for comparison:
 *     per-parameter precision weighting (sampled, independent parameters)
 *     and the plain average of the shards' draws; bases not divided out.
 *
 * Before any rule: failed shards, shards with a non-finite draw, shards
 * whose divergence rate exceeds max_divergence_rate, and shards with a
 * variance below 1e-6 x the median variance of that parameter are excluded,
 * each with its reason. Heterogeneity: CV = sd(shard means) / max(|mean of
 * means|, 0.01 (max - min), noise) per physical parameter (constrained
 * units), noise = the median shard posterior sd times the 99.9 % quantile
 * of sqrt(chi2(n-1) / (n-1)): the scatter agreeing shards can show. That
 * term is hcmc's addition to MODEL.md's rule: without it a weakly
 * identified parameter near zero (an offset) shows a CV above 1 from
 * sampling noise alone;
 * above max_parameter_cv the combination fails when heterogeneity_abort,
 * else warns. Fewer than min_success_rate of the shards left: fails, naming
 * the shards and reasons. */
#ifndef HCMC_COMBINE_H
#define HCMC_COMBINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hcmc/export.h"
#include "hcmc/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hcmc_combine_method {
    HCMC_COMBINE_ROBUST_CONSENSUS = 0, /* default, "auto" */
    HCMC_COMBINE_CONSENSUS,
    HCMC_COMBINE_GAUSSIAN,
    HCMC_COMBINE_WEIGHTED_GAUSSIAN,
    HCMC_COMBINE_SIMPLE_AVERAGE
} hcmc_combine_method;

HCMC_API int hcmc_combine_method_parse(const char *s, hcmc_combine_method *out,
                                       hcmc_error *err);
HCMC_API const char *hcmc_combine_method_name(hcmc_combine_method m);

/* One shard's draws: z[(c * draws + d) * dim + k]. */
typedef struct hcmc_shard_draws {
    size_t chains, draws, dim;
    const double *z; /* NULL for a failed shard */
    size_t divergences;
    const char *failure; /* why it failed, or NULL */
} hcmc_shard_draws;

typedef struct hcmc_combine_settings {
    hcmc_combine_method method;
    double max_divergence_rate; /* 0.10 */
    double max_parameter_cv;    /* 1.0 */
    bool heterogeneity_abort;   /* true */
    double min_success_rate;    /* 0.90 */
    size_t nphys;               /* the first nphys coordinates are physical */
    /* constrained values of z (for CV and outliers) and their bounds; NULL:
     * identity and no range floor */
    void (*constrain)(const void *ctx, const double *z, double *theta);
    const void *ctx;
    const double (*bounds)[2]; /* [nphys] */
    uint64_t seed;
    const double *base_precision; /* [dim] (see above), or NULL */
} hcmc_combine_settings;

HCMC_API void hcmc_combine_settings_defaults(hcmc_combine_settings *s);

enum {
    HCMC_SHARD_KEPT = 0,
    HCMC_SHARD_FAILED,
    HCMC_SHARD_NONFINITE,
    HCMC_SHARD_DIVERGENT,
    HCMC_SHARD_DEGENERATE,
    HCMC_SHARD_OUTLIER
};

typedef struct hcmc_combine_result {
    size_t chains, draws, dim;
    double *z; /* combined draws, [chain][draw][dim] */
    size_t n_shards, n_kept;
    int *status;         /* [K]: HCMC_SHARD_* */
    char (*reason)[160]; /* [K]: why a shard was excluded */
    double *cv;          /* [nphys] heterogeneity CV */
    bool heterogeneous;  /* a CV above the threshold (warned) */
} hcmc_combine_result;

/* Combines the K shards by s. When the shards were judged but too few are
 * left (HCMC_ENODATA) or they disagree (HCMC_ENUMERIC, heterogeneity_abort),
 * *out is still set: each shard's status and reason and n_kept, no draws
 * (z NULL, chains = draws = 0), for the caller to report and free. On any
 * other error *out is NULL. */
HCMC_API int hcmc_combine(const hcmc_shard_draws *shards, size_t K,
                          const hcmc_combine_settings *s, hcmc_combine_result **out,
                          hcmc_error *err);
HCMC_API void hcmc_combine_result_free(hcmc_combine_result *r);

#ifdef __cplusplus
}
#endif
#endif
