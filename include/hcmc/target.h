/* The log-density target handed to the sampler (MODEL.md sections 2-4).
 *
 * Parameters theta, in this order:
 *   physical parameters (3 static, 7 laminar_flow; see model.h) that are
 *   not fixed, in the order of model.h,
 *   scaling: contrast_0..contrast_{n-1}, offset_0..offset_{n-1} (individual),
 *            or contrast, offset (shared), or nothing (constant modes),
 *   sigma.
 * The sampling vector z has one coordinate per parameter (coords.h): each
 * rate law whose three parameters are sampled is a block of law
 * coordinates (level, log-slope, shape; law.h), every other bounded
 * parameter mapped onto its bounds by the normal distribution function
 * (probit), sigma its log. The density is
 *   log L(shard) + log N(z) + tau * (log prior + log Jacobian - log N(z)),
 * N(z) the standard normal density of the coordinates whose prior has
 * that part (hcmc_coords_has_base: the bounded ones, but the non-centred
 * exponent of a law block), tau = 1/K
 * when prior_tempering is on, else 1. The prior of a bounded coordinate
 * about uniform on its bounds is about N(0, 1) in z: that part enters every
 * shard whole (a direction the data leave open keeps the prior's width in
 * each shard, far from the rounding of the maps), the rest is tempered.
 * The K shard targets multiply to the full posterior in z times
 * N(z)^(K-1), which the combination divides out (combine.h).
 *
 * A target is immutable once made and may be shared by threads; each thread
 * evaluates through its own workspace. */
#ifndef HCMC_TARGET_H
#define HCMC_TARGET_H

#include <stdbool.h>
#include <stddef.h>

#include "hcmc/coords.h"
#include "hcmc/law.h"
#include "hcmc/export.h"
#include "hcmc/model.h"
#include "hcmc/points.h"
#include "hcmc/prior.h"
#include "hcmc/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hcmc_scaling_mode {
    HCMC_SCALING_AUTO = 0,         /* shared if n_phi >= threshold, else individual */
    HCMC_SCALING_INDIVIDUAL,       /* contrast_a, offset_a sampled per angle */
    HCMC_SCALING_SHARED,           /* one contrast, one offset sampled */
    HCMC_SCALING_CONSTANT,         /* fixed per angle from the data */
    HCMC_SCALING_CONSTANT_AVERAGED /* fixed, averaged over angles */
} hcmc_scaling_mode;

HCMC_API const char *hcmc_scaling_mode_name(hcmc_scaling_mode m);
/* Accepts auto, individual, constant, constant_averaged (and shared). */
HCMC_API int hcmc_scaling_mode_parse(const char *s, hcmc_scaling_mode *out,
                                     hcmc_error *err);

typedef struct hcmc_target_spec {
    hcmc_model model;
    hcmc_prior phys[HCMC_NPHYS_MAX]; /* priors of the mode's parameters */
    /* Physical parameters held at a value instead of sampled (homodyne's
     * initial_parameters.fixed_parameters): no coordinate, no prior. */
    bool phys_fixed[HCMC_NPHYS_MAX];
    double phys_fixed_value[HCMC_NPHYS_MAX];
    hcmc_prior contrast, offset;     /* per-angle scaling priors and bounds */
    hcmc_scaling_mode scaling;
    size_t constant_scaling_threshold; /* for auto; default 3 */
    /* Constant modes: values per angle [n_phi]. NULL: estimated from the
     * target's own points (pass the full data set's values to shards). */
    const double *fixed_contrast, *fixed_offset;
    double sigma_scale; /* HalfNormal scale of sigma; <= 0: 1.5 s_y of the points */
    size_t num_shards;  /* K >= 1 */
    bool prior_tempering;
    /* Rate laws in law coordinates (law.h) where their three parameters are
     * sampled and the prefactor's lower bound is above 0; false: every
     * bounded parameter plain (probit). Default true. */
    bool law_coords;
    /* The kind of each law's coordinates (law.h; D(t), gamma_dot(t)) and
     * its scale: for SHAPE the scale w of its log-slope in rate units, for
     * SLOPE that of its curvature (the sd the data allow; 0: none).
     * hcmc_problem_new chooses both from the warm start's fit. Default
     * SHAPE, 0. */
    hcmc_law_kind law_kind[2];
    double law_slope_scale[2];
} hcmc_target_spec;

/* Defaults of MODEL.md: TruncatedNormal priors on the default bounds,
 * contrast [0, 1], offset [0.5, 1.5], auto scaling with threshold 3, K = 1,
 * tempering on, physical convention. Geometry (q, L, dt, n_t) is left 0
 * for the caller. */
HCMC_API void hcmc_target_spec_defaults(hcmc_target_spec *s, hcmc_mode mode);
HCMC_API const double *hcmc_default_bounds(int phys_index); /* {min, max} */

/* Per-angle quantile estimates (MODEL.md 3) into contrast[n_phi] and
 * offset[n_phi]; angles with fewer than 100 points get the prior means. */
HCMC_API int hcmc_scaling_estimate(const hcmc_points *pts,
                                   const hcmc_prior *contrast_prior,
                                   const hcmc_prior *offset_prior, double dt,
                                   double *contrast, double *offset, hcmc_error *err);

typedef struct hcmc_target hcmc_target;
typedef struct hcmc_target_ws hcmc_target_ws;

/* Makes a target over pts, which must outlive it (it is not copied). */
HCMC_API int hcmc_target_new(const hcmc_target_spec *spec, const hcmc_points *pts,
                             hcmc_target **out, hcmc_error *err);
HCMC_API void hcmc_target_free(hcmc_target *t);

HCMC_API size_t hcmc_target_dim(const hcmc_target *t);
/* Physical parameters sampled: the first coordinates of z. */
HCMC_API size_t hcmc_target_nphys(const hcmc_target *t);
/* The same from a spec: the mode's parameters less the fixed ones. */
HCMC_API size_t hcmc_target_spec_nphys(const hcmc_target_spec *s);
/* Coordinate of physical parameter k (model.h order), or -1 when k is
 * fixed or not a parameter of the mode. */
HCMC_API int hcmc_target_phys_slot(const hcmc_target *t, int k);
/* The mode's physical parameters phys[HCMC_NPHYS_MAX] at constrained values
 * theta[dim]: sampled ones from theta, fixed ones at their values. */
HCMC_API void hcmc_target_phys_values(const hcmc_target *t, const double *theta,
                                      double *phys);
HCMC_API const char *hcmc_target_param_name(const hcmc_target *t, size_t k);
HCMC_API hcmc_mode hcmc_target_mode(const hcmc_target *t);
/* The scaling mode in force after auto was resolved. */
HCMC_API hcmc_scaling_mode hcmc_target_scaling(const hcmc_target *t);
/* Name of the kernel variant in use ("avx2", "generic"). */
HCMC_API const char *hcmc_target_kernel_name(const hcmc_target *t);
/* laminar_flow: the pairs of each angle where the points form a pair grid
 * (hcmc_points_pairs) and its kernel serves them, all angles at once; 0
 * where the kernel goes angle by angle. HCMC_LAYOUT=angles makes it go by
 * angle (for comparisons). */
HCMC_API size_t hcmc_target_grid_pairs(const hcmc_target *t);
/* Bounds of parameter k in constrained units (sigma: 0, +inf). */
HCMC_API void hcmc_target_bounds(const hcmc_target *t, size_t k, double *lo,
                                 double *hi);
/* Fixed contrast/offset of angle a in the constant modes (else NaN). */
HCMC_API double hcmc_target_fixed_contrast(const hcmc_target *t, size_t a);
HCMC_API double hcmc_target_fixed_offset(const hcmc_target *t, size_t a);

/* z -> constrained values theta[dim] (NaN where z has none). */
HCMC_API void hcmc_target_constrain(const hcmc_target *t, const double *z,
                                    double *theta);
/* theta -> z; every bounded value must lie strictly inside its bounds. */
HCMC_API int hcmc_target_unconstrain(const hcmc_target *t, const double *theta,
                                     double *z, hcmc_error *err);

/* The map between z and theta (owned by t). */
HCMC_API const hcmc_coords *hcmc_target_coords(const hcmc_target *t);

/* One workspace per thread. */
HCMC_API hcmc_target_ws *hcmc_target_ws_new(const hcmc_target *t);
HCMC_API void hcmc_target_ws_free(hcmc_target_ws *ws);

typedef struct hcmc_target_parts {
    double loglik;   /* full log likelihood of the points */
    double logprior; /* untempered log prior */
    double logjac;   /* untempered log Jacobian */
    double logbase;  /* log N(z) of the bounded coordinates (not tempered) */
} hcmc_target_parts;

/* Returned by the evaluations for a z that has no parameter values: a law
 * block's (v1, v2) where the bounds allow no rate law. The density is 0
 * there (a wall for the sampler), not a numerical failure. */
#define HCMC_TARGET_OUTSIDE 1

/* Log density at z and, when grad is not NULL, its gradient in z. parts may
 * be NULL. Returns HCMC_TARGET_OUTSIDE (see above), HCMC_ENUMERIC (no
 * message: this is the sampler's hot path) when the log density is not
 * finite, else 0. */
HCMC_API int hcmc_target_eval(const hcmc_target *t, hcmc_target_ws *ws, const double *z,
                              double *lp, double *grad, hcmc_target_parts *parts);

/* The untempered log prior plus log Jacobian of z and its gradient (may be
 * NULL): the density of z before any data. Returns as hcmc_target_eval. */
HCMC_API int hcmc_target_eval_prior(const hcmc_target *t, hcmc_target_ws *ws,
                                    const double *z, double *lp, double *grad);

/* The exponent on prior and Jacobian: 1/K with prior tempering, else 1. */
HCMC_API double hcmc_target_tau(const hcmc_target *t);
/* The likelihood's multiplicity: 2 in homodyne's convention (both
 * triangles counted), else 1. */
HCMC_API double hcmc_target_weight(const hcmc_target *t);
/* The precision of the base that a tempered target holds whole, per
 * coordinate, into base[dim]: 1 where the coordinate has one
 * (hcmc_coords_has_base), else 0; all 0 when the prior is not tempered
 * (tau = 1). What the combination divides out of the product of the
 * shards (combine.h base_precision). */
HCMC_API void hcmc_target_base_precision(const hcmc_target *t, double *base);
/* The time of the last kept frame, (n_t - 1) dt, in s. */
HCMC_API double hcmc_target_time_max(const hcmc_target *t);

/* The points the target was made over. */
HCMC_API const hcmc_points *hcmc_target_points(const hcmc_target *t);

/* Least-squares view of the model, for warm starts: for the points pts
 * (any subset of the data with the target's angles and frames), residuals
 * r[p] = c2_p(z) - y_p and, when J is not NULL, the analytic Jacobian
 * J[p * ldj + k] = d c2_p / d z_k for every coordinate but sigma (k < dim - 1).
 * HCMC_EINVAL when pts does not match the target's angles and frames,
 * HCMC_TARGET_OUTSIDE where z has no parameter values. */
HCMC_API int hcmc_target_residuals(const hcmc_target *t, hcmc_target_ws *ws,
                                   const hcmc_points *pts, const double *z, double *r,
                                   double *J, size_t ldj);
/* The same at parameter values theta[dim] (inside the bounds), with
 * J[p * ldj + k] = d c2_p / d theta_k. */
HCMC_API int hcmc_target_residuals_theta(const hcmc_target *t, hcmc_target_ws *ws,
                                         const hcmc_points *pts, const double *theta,
                                         double *r, double *J, size_t ldj);

#ifdef __cplusplus
}
#endif
#endif
