/* Coordinates of a rate law in which its posterior is regular (MODEL.md 6).
 *
 * A rate law f(t) = a t^b + c (D0, alpha, D_offset, or gamma_dot_t0, beta,
 * gamma_dot_t_offset) with bounds a in (a_lo, a_hi), a_lo > 0, b in
 * (b_lo, b_hi), c in (c_lo, c_hi) is described at a reference time t_r
 * inside the data window (sqrt(t_min t_max)) by
 *
 *   v1 = a t_r^b + c    its level f(t_r),
 *   u  = log(a t_r^b)   the log of its varying part there,
 *   b                   its exponent,
 *
 * with inverse c = v1 - e^u, a = exp(u - b L), L = log t_r. What data
 * measure is f over the window: its level v1, which they fix in every
 * case, and its log-slope there, v2 = t_r f'(t_r) = b e^u. Where b is near
 * 0 (Brownian diffusion, steady shear) they fix v1 and v2 and leave u to
 * the prior: the direction they leave open runs along u, and f bends
 * instead of tilting as u moves.
 *
 * The bounds are mapped away one coordinate after the other, so that
 * xi = (r1, r2, s) ranges over all of R^3 without a wall:
 *
 *   v1 = the point a fraction Phi(r1) along the levels the bounds allow,
 *   u  = the point a fraction Phi(s) along the u they allow at v1,
 *   b  = the point a fraction Phi(k r2 + m) along the exponents they allow
 *        at (v1, u),
 *
 * Phi the standard normal distribution function. Each of these sets is an
 * interval in closed form (the bounds of c and a give e^u an interval, and
 * at given u the bounds of a give b a linear one). With a prior about
 * uniform along a coordinate, that coordinate is about standard normal: a
 * direction the data leave to the prior stays Gaussian, in every shard.
 *
 * The exponent is non-centred: where e^u is large against the scale w of
 * the log-slope the data allow (the law's own, fitted by the warm start),
 * the data fix v2 = b e^u, and b within e^-u w of 0, a funnel that narrows
 * as u grows. k = 1 / (1 + e^u (B2 - B1) / (sqrt(2 pi) w)) makes r2 about
 * v2 / w there, whatever u, while where e^u is small against w (the
 * exponent the data cannot see: a tiny prefactor) k tends to 1 and r2 to
 * the exponent's own prior; m puts r2 = 0 at b = 0 where 0 lies in the
 * middle 80 % of the exponents allowed (else near the nearer end, joined
 * smoothly, so that no crease arises where 0 leaves them). w = 0 means no scale
 * (k = 1, m = 0: centred).
 *
 * The map is triangular in the order (r1, s, r2), so |d theta / d xi| is
 * the product of |d(a, b, c) / d(v1, u, b)| = a and the three derivatives
 * along:
 *   log |d theta / d xi| = log(V1 U(v1) dB(u) k(u)) + log a
 *                          + log phi(r1) + log phi(s) + log phi(k r2 + m),
 * V1, U, dB the lengths of the three intervals. Beyond |xi| of about 8, Phi
 * rounds to 0 or 1 and the point lands on the edge of an interval, where
 * it may have no parameter values: the density is 0 there. */
#ifndef HCMC_LAW_H
#define HCMC_LAW_H

#include <stdbool.h>

#include "hcmc/export.h"
#include "hcmc/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Two kinds of coordinates. SHAPE is the map above, for every law. RATES,
 * for a law whose exponent the data tell well from 0 and whose rate stays
 * clear of 0 over the window: xi = log f at t_max (1/16, 1/4, 1), where
 * such a posterior is closest to Gaussian (its curved ridge in (a, b, c)
 * straightens out, and shard posteriors combine best); closed-form inverse
 * (the times are geometric: 4^b is the ratio of the rates' differences),
 * but singular at b = 0 and undefined where a rate is <= 0, and a xi with
 * no law inside the bounds has no theta (a wall, far from such a
 * posterior). */
typedef enum hcmc_law_kind {
    HCMC_LAW_SHAPE = 0,
    HCMC_LAW_RATES = 1,
    HCMC_LAW_SLOPE = 2
} hcmc_law_kind;

/* SLOPE: the level v1, the log-slope v2 = b e^u and the shape u, mapped in
 * that order (xi = (r1, r2, s)):
 *
 *   v1 = the point a fraction Phi(r1) along the levels the bounds allow,
 *   v2 = the point a fraction Phi(r2) along the log-slopes they allow at v1,
 *   u  = the point a fraction Phi(s) along the u they allow at (v1, v2),
 *        measured by the reference density below,
 *
 * and b = v2 e^-u, a = exp(u - b L), c = v1 - e^u. What the data measure
 * comes first, so that the set left to u (the direction the data leave to
 * the prior where b is near 0) is exactly what the bounds allow there: no
 * wall where a bound of the prefactor or of the exponent cuts the ridge
 * the data leave (SHAPE has one there, as its interval of u does not know
 * v2). At given v2 the bounds of a and b give u one interval when g(u) =
 * u - L v2 e^-u is monotone over the exponents allowed, i.e. 1 + L b > 0
 * for every b in the bounds; hcmc_law_slope_time picks a reference time
 * inside the window where that holds with a margin (1 + L b >= 0.1), and
 * the ends are then in closed form through Lambert's W. The log-slopes
 * allowed at v1 are the extremes of b e^u over the polygon the bounds cut
 * in (u, b), at its vertices.
 *   |d(a, b, c) / d(v1, v2, u)| = e^(-b L), so
 *   log |d theta / d xi| = -b L + log(V1 V2(v1) U(v1, v2))
 *                          + log phi(r1) + log phi(r2) + log phi(s).
 * Along u the posterior is flat where b is near 0 (the data see no
 * curvature there) and falls where the curvature kappa = v2 b = v2^2 e^-u
 * (the law's second derivative in log t at t_r, which the data measure
 * about linearly) grows beyond what the data allow: like exp(-kappa^2 /
 * (2 k^2)), a cliff exp(-C e^-2u) in u. With a curvature scale k > 0 (the
 * sd the data leave kappa, hcmc_warm_curvature) "a fraction Phi(s)" is
 * measured in the reference density p(u) = exp(-min(y, 30)), y = (kappa /
 * k)^2 / 2, whose distribution function has a closed form in the
 * exponential integral: flat where kappa < k, so that under a uniform
 * prior s is about standard normal there, and falling as the likelihood
 * falls beyond, so that the cliff becomes a normal tail in s. The edge ue
 * = log(v2^2 / k) moves with v2, which takes out the bend between v2 and
 * u where the curvature ties them. Below y = 30 (kappa beyond 7.7 k) p is
 * flat again, so that every u the bounds allow stays within reach of s
 * (|s| below about 8) even where k is off: the map changes how u is
 * measured, never which u are allowed. k = 0: uniform in u (p = 1), where
 * s is about standard normal under a uniform prior (exactly so where L b
 * is small); r2 is not (the prior of the log-slope peaks at 0). The
 * Jacobian gains log du/ds = log T + log phi(s) + min(y, 30), T the
 * integral of p over the interval. */

typedef struct hcmc_law {
    hcmc_law_kind kind;
    double lo[3], hi[3]; /* bounds of (a, b, c) */
    double t_r, L;       /* SHAPE: reference time (s) and its log */
    double w;            /* scale (rate units), 0: none: SHAPE of the log-slope,
                          * SLOPE of the curvature (k below) */
    double v1_lo, v1_hi; /* SHAPE: the levels the bounds allow */
    double e_lo, e_hi;   /* SHAPE: the least and largest t_r^b over the exponents */
    double t[3];         /* RATES: the reference times */
} hcmc_law;

/* "shape", "rates" or "slope"; "?" for another value. */
HCMC_API const char *hcmc_law_kind_name(hcmc_law_kind kind);

/* The reference time of a data window [t_min, t_max]: sqrt(t_min t_max). */
HCMC_API double hcmc_law_reference_time(double t_min, double t_max);

/* SHAPE coordinates. Checks the bounds (finite, lo < hi, a_lo > 0: the
 * prefactor's log is a coordinate), t_r > 0 and w >= 0. */
HCMC_API int hcmc_law_init(hcmc_law *m, const double lo[3], const double hi[3],
                           double t_r, double w, hcmc_error *err);
/* SLOPE coordinates at reference time t_r (hcmc_law_slope_time) with
 * curvature scale kscale >= 0 (0: u uniform). Checks what hcmc_law_init
 * does, and 1 + L b >= 0.1 over the exponent's bounds (HCMC_EUNSUPPORTED
 * otherwise). */
HCMC_API int hcmc_law_init_slope(hcmc_law *m, const double lo[3], const double hi[3],
                                 double t_r, double kscale, hcmc_error *err);

/* The reference time of SLOPE coordinates for exponents in (b_lo, b_hi) and
 * a data window [t_min, t_max]: the time in the window nearest (in log)
 * to sqrt(t_min t_max) where 1 + b log t_r >= 0.1 for every exponent
 * allowed; 0 where the window has none (then SHAPE serves). */
HCMC_API double hcmc_law_slope_time(double b_lo, double b_hi, double t_min,
                                    double t_max);

/* RATES coordinates for a window ending at t_max. */
HCMC_API int hcmc_law_init_rates(hcmc_law *m, const double lo[3], const double hi[3],
                                 double t_max, hcmc_error *err);

/* xi -> theta = (a, b, c). When M is not NULL: M[3 i + j] = d theta_i /
 * d xi_j, *logdet = log |det M| and dlogdet[3] its gradient in xi. Returns
 * non-zero when xi has no theta (not finite, or so far out that an interval
 * rounds to nothing). */
HCMC_API int hcmc_law_to_theta(const hcmc_law *m, const double xi[3], double theta[3],
                               double M[9], double *logdet, double dlogdet[3]);

/* theta -> xi for theta strictly inside the bounds; non-zero otherwise. */
HCMC_API int hcmc_law_from_theta(const hcmc_law *m, const double theta[3], double xi[3]);

/* The log-slope v2 = b a t_r^b of theta at reference time t_r, and its
 * gradient in theta (may be NULL): what the scale w measures. */
HCMC_API double hcmc_law_slope(double t_r, const double theta[3], double grad[3]);

#ifdef __cplusplus
}
#endif
#endif
