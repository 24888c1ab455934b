/* The No-U-Turn sampler as Stan implements it (MODEL.md section 6).
 *
 * One transition: multinomial sampling along a trajectory doubled in random
 * directions, uniform progressive sampling inside a new subtree and biased
 * progressive sampling when it joins the old one, the generalised no-U-turn
 * criterion checked over every merged tree and across the boundaries of its
 * two halves, a divergence when the energy error exceeds max_delta_h.
 * Warmup: Stan's step-size search, dual averaging on the step size, and the
 * metric (diagonal or dense, regularised) estimated in doubling windows.
 *
 * Each chain draws from its own counter-based streams (seed, purpose,
 * shard, chain), so chains are independent of how they are scheduled: run on
 * threads or one after another they give the same bytes.
 *
 * The sampler knows nothing of XPCS: it samples any hcmc_density. */
#ifndef HCMC_NUTS_H
#define HCMC_NUTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hcmc/export.h"
#include "hcmc/status.h"
#include "hcmc/target.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A log density on R^dim. eval returns 0 with a finite lp and gradient;
 * HCMC_DENSITY_WALL for a point beyond a hard boundary of the support (the
 * density is 0 there: a trajectory that reaches it ends, as at a
 * divergence, but none is counted: it is exact, not an integration error);
 * any other value (or a non-finite lp) for a failure, which is a
 * divergence. ctx is
 * shared read-only by the chains; each chain evaluates through its own
 * workspace from ws_new (ws_new and ws_free may be NULL: no workspace). */
#define HCMC_DENSITY_WALL 1

typedef struct hcmc_density {
    size_t dim;
    const void *ctx;
    /* grad may be NULL where only lp is wanted (slice steps, below) */
    int (*eval)(const void *ctx, void *ws, const double *z, double *lp, double *grad);
    void *(*ws_new)(const void *ctx);
    void (*ws_free)(void *ws);
    /* Optional: z -> constrained values theta[dim], kept with every draw. */
    void (*constrain)(const void *ctx, const double *z, double *theta);
    /* Optional: name of coordinate k, for error messages. */
    const char *(*param_name)(const void *ctx, size_t k);
    /* Optional: coordinates that a slice sampler step (Neal 2003: stepping
     * out, then shrinkage) updates one at a time after every NUTS
     * transition, with an initial width of the coordinate's sd under the
     * metric, evaluating the density without its gradient. Meant for a
     * direction along which the posterior is flat for units on one side
     * and falls steeply on the other, where one step size cannot serve
     * both and NUTS crosses the flat part slowly. Each step leaves the
     * posterior invariant; it draws from the chain's own stream. */
    size_t n_slice;
    size_t slice[4];
} hcmc_density;

/* The XPCS target as a density (constrain and names included). */
HCMC_API hcmc_density hcmc_density_from_target(const hcmc_target *t);

typedef struct hcmc_nuts_settings {
    size_t num_warmup;    /* default 500 */
    size_t num_samples;   /* default 1500 */
    size_t num_chains;    /* default 4 */
    int max_tree_depth;   /* default 10, at most HCMC_NUTS_MAX_DEPTH */
    double target_accept; /* dual averaging target, default 0.85 */
    bool dense_mass;      /* default true */
    bool parallel;        /* chains on threads (true) or one after another */
    bool keep_warmup;     /* also return the warmup draws */
    double step_size;     /* step size the search starts from, default 1 */
    double max_delta_h;   /* divergence threshold, default 1000 */
    /* A chain with more than rerun_divergent of its sampling transitions
     * divergent is run again from the same start, warmup included, adapting
     * its step size to rerun_target_accept (default 0.99) on a stream of
     * its own, and that run is kept whatever it gives: the standard remedy
     * (a smaller step) where a chain needs it. The decision rests on the
     * chain's own draws, so chains run anywhere give the same bytes.
     * Default 0.01; 0: never. */
    double rerun_divergent;
    double rerun_target_accept;
    /* Initial point of chain c: init (or 0) + init_radius * L u with u
     * uniform on (-1, 1)^dim from the chain's own stream and L the Cholesky
     * factor of init_cov (identity without one); with init, a point whose
     * log density lies more than half the 99 % quantile of chi2(dim) below
     * init's is drawn again (up to 100 tries, then the best). Default
     * radius 2 (Stan's uniform(-2, 2)), 0 = no jitter. */
    double init_radius;
    uint64_t seed;
    uint32_t shard; /* stream key: chains of different shards differ */
    /* Run only chains chain_first .. chain_first + chain_count - 1 of the
     * num_chains (chain_count 0: all). Each is drawn exactly as in a run of
     * all chains, so the pieces of a run can go to different workers and be
     * put together (hcmc_shard_result_merge) into the same bytes. */
    size_t chain_first, chain_count;
    /* Optional: called by every chain (on its own thread) after each
     * iteration, warmup ones first (iteration 0 .. warmup + samples - 1). A
     * non-zero return ends the run with HCMC_ECANCELED. It must not change
     * anything the chains read: results do not depend on it. */
    int (*progress)(void *user, size_t chain, size_t iteration); /* chain: its number */
    void *progress_user;
} hcmc_nuts_settings;

#define HCMC_NUTS_MAX_DEPTH 20

HCMC_API void hcmc_nuts_settings_defaults(hcmc_nuts_settings *s);

/* Draws of one phase, chain-major: value k of draw d of chain c is
 * z[(c * n + d) * dim + k]; statistics are [c * n + d]. */
typedef struct hcmc_nuts_draws {
    size_t n;          /* draws per chain */
    double *z, *theta; /* theta NULL when the density has no constrain */
    double *lp;        /* log density */
    double *energy;    /* Hamiltonian at the draw */
    double *step_size;
    double *accept_stat;
    int *tree_depth;
    int *n_steps;
    unsigned char *diverging;
} hcmc_nuts_draws;

typedef struct hcmc_nuts_result {
    size_t dim, num_chains;
    hcmc_nuts_draws sampling;
    hcmc_nuts_draws warmup; /* n = 0 unless keep_warmup */
    bool dense;
    double *step_size;    /* [chain] adapted step size */
    double *inv_metric;   /* [chain][dim*dim] dense or [chain][dim] diagonal */
    double *init;         /* [chain][dim] starting points */
    unsigned char *rerun; /* [chain] 1 where the chain was run again */
    struct hcmc_rng *rng_end; /* [chain] its stream where it stopped (NULL in a
                                 result read back from a file) */
    uint64_t n_gradients; /* evaluations over all chains, warmup included */
    uint64_t n_values;    /* of the density alone (slice steps), likewise */
    uint64_t n_gradients_sampling; /* of the sampling iterations alone */
    double warmup_seconds, sampling_seconds; /* summed over chains */
} hcmc_nuts_result;

/* Runs the chains. init (dim values, may be NULL) and init_cov (dim * dim,
 * row-major, may be NULL) set the starting points as described in the
 * settings; init_cov, an approximation of the posterior covariance such as
 * the warm start's, is also the metric warmup starts from (its diagonal for
 * a diagonal metric; else the identity, as in Stan). On error nothing is
 * returned and err names the chain and the parameter values at fault. */
HCMC_API int hcmc_nuts_run(const hcmc_density *d, const hcmc_nuts_settings *s,
                           const double *init, const double *init_cov,
                           hcmc_nuts_result **out, hcmc_error *err);
HCMC_API void hcmc_nuts_result_free(hcmc_nuts_result *r);

/* Runs every chain of r (made by hcmc_nuts_run with d and s) more sampling
 * transitions further, from its last draw with its adapted step size and
 * metric, on its stream from where it stopped, and appends them to
 * r->sampling: the draws that a run of num_samples + more would have made
 * (bit for bit, where no chain was run again for its divergences; such a
 * chain goes on from its second run). s gives the tree depth, divergence
 * threshold, threads and progress (iterations numbered on); its
 * rerun_divergent is not applied. The counts and sampling seconds grow by
 * the new transitions'. On error r is as it was. */
HCMC_API int hcmc_nuts_extend(const hcmc_density *d, const hcmc_nuts_settings *s,
                              hcmc_nuts_result *r, size_t more, hcmc_error *err);

/* Divergent transitions of the sampling phase, all chains. */
HCMC_API size_t hcmc_nuts_divergences(const hcmc_nuts_result *r);

#ifdef __cplusplus
}
#endif
#endif
