/* Importance correction of combined CMC draws (MODEL.md section 8 leaves
 * the combination Gaussian; this makes it exact where it works).
 *
 * Round 1: the combined draws are summarised by a Gaussian in the
 * coordinates they were combined in (the sampling coordinates z), its
 * covariance inflated by 1.2^2; as many proposals as draws are made from it
 * and weighted by the full posterior (likelihood of every point, untempered
 * prior and Jacobians) over the proposal density. The weights are Pareto
 * smoothed (hcmc_psis_smooth below), which also gives their tail index k.
 *
 * Where it is above HCMC_IMPORTANCE_GOOD_KHAT (the shards' posteriors were
 * far from Gaussian, so their product is too narrow or shifted), or the ESS
 * is below half the draws, up to four more rounds adapt the proposal to the
 * posterior (population Monte Carlo, Cappe et al. 2004): the moments of the
 * last round's proposals under their weights, tempered (w^lambda) where the
 * weights are too uneven to estimate from so that each step rests on an ESS
 * of at least a tenth of the proposals, give a defensive mixture (Hesterberg
 * 1995): half a Gaussian with that covariance inflated by 1.2^2, half a
 * Student-t with 7 degrees of freedom. The t reaches tails that a Gaussian
 * fitted to the weighted proposals never samples, and whose weights it
 * therefore cannot show (measured on a Brownian file: Gaussian rounds gave
 * a tail index of 0.13 and an sd of D0 0.71 times a long NUTS run's; the
 * mixture 0.06 and 0.99). Adapting stops when the tail index is within
 * GOOD_KHAT and the ESS stops growing by a tenth a round.
 *
 * The best round (a tail index within GOOD_KHAT first, then the larger ESS;
 * else the smaller tail index) is kept, and more batches are drawn from its
 * proposal and pooled with it until the ESS reaches half the draws (at most
 * 8 batches in all). When the pool's tail index is at most max_khat the
 * draws are replaced by a systematic resample of it (same seed, same
 * bytes), otherwise they are left as they were and applied is false. Cost:
 * one evaluation of the full log density per proposal, no gradient; one
 * round where the combination is close to the posterior. */
#ifndef HCMC_IMPORTANCE_H
#define HCMC_IMPORTANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hcmc/export.h"
#include "hcmc/status.h"
#include "hcmc/target.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The tail index above which hcmc run and hcmc combine leave the draws
 * uncorrected. */
#define HCMC_IMPORTANCE_MAX_KHAT 0.7
/* The tail index at which the rounds stop adapting (Vehtari et al. 2024:
 * below 0.5 the importance estimates' error falls as with independent
 * draws). */
#define HCMC_IMPORTANCE_GOOD_KHAT 0.5

typedef struct hcmc_importance_info {
    double khat;      /* tail index of the weights */
    double ess;       /* (sum w)^2 / sum w^2 */
    size_t n;         /* proposals */
    size_t n_support; /* proposals with a finite density */
    size_t rounds;    /* rounds of proposals made (1: the combination's Gaussian only) */
    bool applied;
} hcmc_importance_info;

/* z: the combined draws [G][dim] (G = chains x draws) in the coordinates of
 * full, replaced when the correction is applied. full: the target over
 * all points (its tempering is undone). */
HCMC_API int hcmc_importance_correct(const hcmc_target *full, double *z, size_t G,
                                     uint64_t seed, double max_khat,
                                     hcmc_importance_info *info, hcmc_error *err);

/* Pareto smoothed importance sampling (Vehtari et al. 2024): the largest
 * M = min(n / 5, 3 sqrt(n)) of the positive weights w[n] (any scale) are
 * fitted by a generalized Pareto distribution over the next largest
 * (Zhang & Stephens 2009, with the weakly informative prior of Vehtari et
 * al.) and replaced, in place, by its expected order statistics, none above
 * the largest weight. Returns the fitted shape k, the tail index: the
 * weights have finite variance below 0.5, and above 0.7 importance
 * estimates are not to be trusted; INFINITY when fewer than 25 weights are
 * positive (too few for a fit of 5; w then unchanged), NAN when out of
 * memory. */
HCMC_API double hcmc_psis_smooth(double *w, size_t n);

/* The full posterior's log density (likelihood of every point of full,
 * untempered prior and Jacobian) at z[n][dim] of full's coordinates into
 * lp[n], -inf where it has none; on threads, each value the same whichever
 * thread computes it. */
HCMC_API int hcmc_log_posterior_many(const hcmc_target *full, const double *z, size_t n,
                                     double *lp, hcmc_error *err);

/* Bridge sampling (Meng & Wong 1996, with the effective size of the draws
 * as in Gronau et al. 2017) of the log of a density's mass, log int p:
 * lp1[n1] and lq1[n1] the log of p (unnormalised) and of a normalised
 * proposal q at draws of p, n1_eff their effective size (at most n1);
 * lp2[n2] and lq2[n2] the same at independent draws of q. The optimal
 * bridge's fixed-point iteration, in logs. NAN where it has no finite
 * value (no draw of q where p is positive, or no iteration converged). */
HCMC_API double hcmc_bridge_log_mass(const double *lp1, const double *lq1, size_t n1,
                                     double n1_eff, const double *lp2,
                                     const double *lq2, size_t n2);

#ifdef __cplusplus
}
#endif
#endif
