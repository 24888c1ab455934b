/* Starting points for the sampler (MODEL.md section 6), because NUTS
 * started far out in the laminar model's tails spends its warmup in
 * divergent, depth-10 trajectories.
 *
 * The fit: Levenberg-Marquardt (MINPACK's lmder, with the target's
 * analytic Jacobian) in logit coordinates of the bounds, so every iterate
 * has parameter values. It is a global search: many starts on an evenly
 * strided subsample of 2 000 points, then the best distinct fits again on
 * one of at most max_points points. laminar_flow first fits the diffusion
 * part with the shear switched off, from a ladder of D0 values; then
 * everything, from a log-spaced ladder of gamma_dot_t0 values (the shear
 * model has many local minima in it), the guess, and a Latin hypercube
 * over the physical parameters' bounds (log-spaced where a range is above
 * 0); then the best fit's images under every axis the angle set is
 * symmetric about (phi0 -> 2 s - phi0). static takes its ladder and
 * hypercube at once. The starts run on threads; each fit is independent of
 * the thread, so the result is too. sigma is the rms residual.
 *
 * The mode: from the fit, damped Newton steps on the whole (untempered)
 * posterior in the target's own coordinates, where the prior decides the
 * directions the data leave open; cov, the inverse of its curvature there
 * (the Laplace approximation), is where the sampler starts its chains and
 * the metric its warmup starts from. */
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

/* Fits of other basins than the best's that the search found, best
 * first: those whose log likelihood (over all points, sigma at each
 * fit's rms) lies at most HCMC_WARM_KEEP_DLOGLIK below the best's. Their
 * posterior weight is a question for the modes (shard.c): a basin 20
 * below in log likelihood holds e^-20 of the best's density at its
 * optimum, far below anything a run of thousands of draws could show,
 * unless it is far wider; the margin leaves room for that. */
#define HCMC_WARM_MAX_ALT 3
#define HCMC_WARM_KEEP_DLOGLIK 20.0
typedef struct hcmc_warm_alts {
    size_t n;
    double theta[HCMC_WARM_MAX_ALT][64 + 1]; /* as the best's theta */
    double dloglik[HCMC_WARM_MAX_ALT];       /* below the best's, >= 0 */
} hcmc_warm_alts;

/* The fit: guess, z to start from (NULL: prior centres, scaling from the
 * data's quantile estimate); theta[d] at the best fit, d =
 * hcmc_target_dim(t), sigma last; cov_theta[(d-1)^2] (may be NULL) the
 * linearised posterior covariance of the bounded parameters there (the
 * fit's Gauss-Newton precision over all points plus that of uniform
 * priors on the bounds; NaN when singular), from which a problem chooses
 * its laws' coordinates (law.h); alts (may be NULL) the other basins.
 * info may be NULL; max_points 0 means 20000. */
HCMC_API int hcmc_warm_fit(const hcmc_target *t, const double *guess, size_t max_points,
                           double *theta, double *cov_theta, hcmc_warm_alts *alts,
                           hcmc_warm_start_info *info, hcmc_error *err);
/* The mode from theta (strictly inside the bounds): z[d] and cov[d * d]
 * (row-major; may be NULL) in t's coordinates; *log_mass (may be NULL;
 * needs cov) the log of the Laplace approximation of the posterior's mass
 * around it, log p(z) + log det(2 pi cov) / 2 with the untempered density
 * (its log Jacobian included) and cov before its sds are capped: what
 * weighs one mode against another (shard.c). */
HCMC_API int hcmc_warm_mode(const hcmc_target *t, const double *theta,
                            size_t max_points, double *z, double *cov, double *log_mass,
                            hcmc_error *err);
/* The sd the data leave the curvature kappa = v2 b of the rate law at
 * coordinates at .. at + 2 with reference time t_r (law.h SLOPE), under
 * the Gauss-Newton precision at theta over all points; *scale 0 where it
 * is not positive definite. */
HCMC_API int hcmc_warm_curvature(const hcmc_target *t, const double *theta, size_t at,
                                 double t_r, size_t max_points, double *scale,
                                 hcmc_error *err);
/* Both, in t's coordinates. */
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
