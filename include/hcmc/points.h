/* The points table: what the likelihood reads (MODEL.md section 1).
 *
 * Structure of arrays, grouped by angle: the points of angle a are
 * [angle_start[a], angle_start[a+1]). Each point is a frame pair i < j
 * (uint16, 0-based on the kept grid) and its measured c2 value y. Grouping
 * by angle lets the kernel hold the per-angle constants in registers and
 * read no angle index per point.
 *
 * Invariants (hcmc_points_check): 1 <= i < j < n_t, every y finite,
 * angle_start non-decreasing from 0 to n, phi in (-180, 180]. */
#ifndef HCMC_POINTS_H
#define HCMC_POINTS_H

#include <stddef.h>
#include <stdint.h>

#include "hcmc/export.h"
#include "hcmc/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hcmc_points {
    size_t n;            /* points */
    size_t n_phi;        /* angles */
    size_t n_t;          /* frames on the kept grid */
    double *phi;         /* [n_phi] degrees */
    size_t *angle_start; /* [n_phi + 1] */
    uint16_t *i, *j;     /* [n] */
    double *y;           /* [n] */
} hcmc_points;

/* Allocates arrays for n points and n_phi angles; the caller fills them.
 * On failure p is left released. Free with hcmc_points_release. */
HCMC_API int hcmc_points_init(hcmc_points *p, size_t n, size_t n_phi, size_t n_t,
                              hcmc_error *err);
/* Frees the arrays (accepts a zeroed or released struct). */
HCMC_API void hcmc_points_release(hcmc_points *p);
HCMC_API int hcmc_points_check(const hcmc_points *p, hcmc_error *err);

/* dst = the points src[idx[0..m)], grouped by angle, within an angle in the
 * order given. dst is initialised here; release it. */
HCMC_API int hcmc_points_subset(const hcmc_points *src, const size_t *idx, size_t m,
                                hcmc_points *dst, hcmc_error *err);

/* The pairs of each angle where every angle has the same pairs (i, j) in
 * the same order, as a full data set has them and every shard the plan
 * deals by pairs: then the point of pair k at angle a is angle_start[a] +
 * k. 0 where the angles differ (or the table is empty). */
HCMC_API size_t hcmc_points_pairs(const hcmc_points *p);

/* Robust noise scale s_y = max(1.4826 * MAD(y), 1e-3) over all points; the
 * scale of sigma's HalfNormal prior is 1.5 s_y. */
HCMC_API int hcmc_points_noise_scale(const hcmc_points *p, double *s_y,
                                     hcmc_error *err);

/* Linear-interpolation quantile (numpy's default) of v[0..n), q in [0, 1],
 * n >= 1. Reorders v (a selection, not a sort: expected O(n)). */
HCMC_API double hcmc_quantile_inplace(double *v, size_t n, double q);

#ifdef __cplusplus
}
#endif
#endif
