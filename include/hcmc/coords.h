/* The sampling coordinates z of a target and their map to parameter values
 * theta (MODEL.md sections 4 and 6).
 *
 * z has the target's order (target.h). Every rate law whose three
 * parameters are all sampled, as consecutive coordinates, and whose
 * prefactor's lower bound is above 0 is one block of law coordinates
 * (law.h: level, shape and exponent, each mapped onto what the bounds
 * allow). Every other bounded parameter is mapped onto its bounds by the
 * normal distribution function (probit; the logit in coordinates made for
 * least squares); the last coordinate is log sigma. The map is a bijection
 * between R^dim and the open box of the bounds (up to rounding far out in
 * the tails, law.h).
 *
 * Caller-owned value type: init, then add the laws, then release. */
#ifndef HCMC_COORDS_H
#define HCMC_COORDS_H

#include <stdbool.h>
#include <stddef.h>

#include "hcmc/export.h"
#include "hcmc/law.h"
#include "hcmc/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hcmc_coords {
    size_t dim;         /* length of z; coordinate dim - 1 is log sigma */
    bool logit;         /* plain coordinates logit (else probit) */
    double (*bounds)[2]; /* [dim - 1], owned */
    size_t nlaw;
    size_t law_at[2]; /* first coordinate of each law block, ascending */
    hcmc_law law[2];
} hcmc_coords;

/* Every bounded coordinate plain (bounds[dim - 1], copied): probit, or
 * logit with logit; then log sigma. */
HCMC_API int hcmc_coords_init(hcmc_coords *c, size_t dim, const double (*bounds)[2],
                              bool logit, hcmc_error *err);
HCMC_API void hcmc_coords_release(hcmc_coords *c);

/* Makes coordinates at .. at + 2 (a prefactor, exponent and offset) one law
 * block of the given kind (law.h): t is the reference time for SHAPE and
 * SLOPE (hcmc_law_reference_time, hcmc_law_slope_time), the last frame's
 * time for RATES; w the log-slope scale of SHAPE (ignored otherwise).
 * HCMC_EUNSUPPORTED when the prefactor's lower bound is not above 0 (they
 * then stay plain), and for SLOPE also where t does not suit the
 * exponent's bounds. */
HCMC_API int hcmc_coords_add_law(hcmc_coords *c, size_t at, hcmc_law_kind kind, double t,
                                 double w, hcmc_error *err);

/* The law block that starts at coordinate k, or -1. */
HCMC_API int hcmc_coords_law_at(const hcmc_coords *c, size_t k);

/* Whether coordinate k's prior has a standard normal part N(0, 1): every
 * bounded coordinate (a uniform prior is exactly that in probit
 * coordinates), but the exponent of a SHAPE block, whose coordinate is
 * non-centred (law.h: its prior is N(-m/k, 1/k^2) there), the log-slope of
 * a SLOPE block (its prior peaks at 0), a RATES block
 * (log rates), and log sigma. */
HCMC_API bool hcmc_coords_has_base(const hcmc_coords *c, size_t k);

/* z -> theta[dim] (sigma last). Non-zero where z has no parameter values;
 * theta is then NaN in the laws concerned. */
HCMC_API int hcmc_coords_constrain(const hcmc_coords *c, const double *z, double *theta);
/* theta -> z; every bounded value must lie strictly inside its bounds and
 * sigma be > 0. Non-zero otherwise. */
HCMC_API int hcmc_coords_unconstrain(const hcmc_coords *c, const double *theta,
                                     double *z);

/* For a density in z, the bounded coordinates (0 .. dim - 2): theta, the
 * diagonal dtheta[k] = dtheta_k / dz_k of the plain coordinates, the blocks
 * M[l][3 i + j] = dtheta_{at+i} / dz_{at+j} of the laws, log |dtheta/dz| and
 * its gradient dlogjac[dim - 1]. Non-zero where z has no parameter values. */
HCMC_API int hcmc_coords_forward(const hcmc_coords *c, const double *z, double *theta,
                                 double *dtheta, double M[2][9], double *logjac,
                                 double *dlogjac);

/* g[k] = df/dtheta_k on entry, df/dz_k on return (k < dim - 1), by the
 * chain rule through dtheta and the blocks M of hcmc_coords_forward. */
HCMC_API void hcmc_coords_pullback(const hcmc_coords *c, const double *dtheta,
                                   const double M[2][9], double *g);

#ifdef __cplusplus
}
#endif
#endif
