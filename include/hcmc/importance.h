/* Importance correction of combined CMC draws (MODEL.md section 8 leaves
 * the combination Gaussian; this makes it exact where it works).
 *
 * The combined draws are summarised by a Gaussian in the coordinates they
 * were combined in (the sampling coordinates z), its covariance inflated by
 * 1.2^2; as many proposals as draws are made from it and weighted by the
 * full posterior (likelihood of every point, untempered prior and
 * Jacobians) over the proposal density. The largest 20 % of the weights
 * give a tail index (Hill's estimator of the Pareto shape k); when it is
 * at most max_khat the draws are replaced by a systematic resample of the
 * proposals (same seed, same bytes), otherwise they are left as they were
 * and applied is false. Cost: one evaluation of the full log density per
 * draw, no gradient. */
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

typedef struct hcmc_importance_info {
    double khat;      /* tail index of the weights */
    double ess;       /* (sum w)^2 / sum w^2 */
    size_t n;         /* proposals */
    size_t n_support; /* proposals with a finite density */
    bool applied;
} hcmc_importance_info;

/* z: the combined draws [G][dim] (G = chains x draws) in the coordinates of
 * full, replaced when the correction is applied. full: the target over
 * all points (its tempering is undone). */
HCMC_API int hcmc_importance_correct(const hcmc_target *full, double *z, size_t G,
                                     uint64_t seed, double max_khat,
                                     hcmc_importance_info *info, hcmc_error *err);

#ifdef __cplusplus
}
#endif
#endif
