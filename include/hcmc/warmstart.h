/* Starting points for the sampler: a least-squares fit of the model to the
 * data (MODEL.md section 6), because NUTS started far out in the laminar
 * model's tails spends its warmup in divergent, depth-10 trajectories.
 *
 * Levenberg-Marquardt (MINPACK's lmder, with the target's analytic
 * Jacobian) runs in the sampler's unconstrained coordinates, so every
 * iterate respects the bounds, on an evenly strided subsample of at most
 * max_points points. The shear model has many local minima in gamma_dot_t0,
 * so laminar_flow first fits the diffusion part with the shear switched
 * off, then restarts from a log-spaced ladder of gamma_dot_t0 values and
 * keeps the best fit. sigma is the rms residual. cov approximates the
 * posterior covariance of z by sigma^2 (J^T J)^-1 on the full point count
 * (the Laplace approximation): the sampler starts its chains within it and
 * its metric from it. */
#ifndef HCMC_WARMSTART_H
#define HCMC_WARMSTART_H

#include <stddef.h>

#include "hcmc/export.h"
#include "hcmc/status.h"
#include "hcmc/target.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hcmc_warm_start_info {
    size_t points_used;
    int starts;     /* LM runs made */
    int lm_info;    /* MINPACK's info of the best run (1-4: converged) */
    double rms;     /* rms residual at the fit */
    double seconds; /* wall time */
} hcmc_warm_start_info;

/* guess: z to start from (NULL: prior centres, scaling from the data's
 * quantile estimate). z has d = hcmc_target_dim(t) values, cov d * d
 * (row-major; may be NULL); info may be NULL. max_points 0 means 20000. */
HCMC_API int hcmc_warm_start(const hcmc_target *t, const double *guess,
                             size_t max_points, double *z, double *cov,
                             hcmc_warm_start_info *info, hcmc_error *err);

/* A starting point from given values (MODEL.md 6: config initial values
 * mapped into the bounds): theta[k] in constrained units, NaN where none is
 * given; a value on or outside its bounds is moved just inside (1e-6 of
 * the range) with a warning naming the parameter. Coordinates without a
 * value get the warm start's default guess (prior centres; per-angle
 * scaling from the data's quantile estimate); sigma without a value gets
 * the data's noise scale s_y. */
HCMC_API int hcmc_initial_point(const hcmc_target *t, const double *theta, double *z,
                                hcmc_error *err);

#ifdef __cplusplus
}
#endif
#endif
