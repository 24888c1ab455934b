/* Reference-rate coordinates: where shard posteriors are combined
 * (MODEL.md section 8).
 *
 * A rate law J(t) = D0 t^alpha + D_offset is written as its log values at
 * three reference times, w_i = log J(t_i), t = t_max (1/16, 1/4, 1) with
 * t_max the last frame's time; likewise gamma_dot(t) = gamma_dot_t0 t^beta
 * + gamma_dot_t_offset in laminar_flow. The data measure the rates over the
 * frames, so a shard's posterior is close to Gaussian in w, while in the
 * sampling coordinates z of (D0, alpha, D_offset) it is a curved ridge whose
 * width and direction change from shard to shard. Every other coordinate
 * stays as it is in z.
 *
 * The map is a bijection between the rate laws whose three values are
 * positive and which are strictly monotone (or constant in the limit) and
 * their images. The inverse is closed-form (the times are geometric with
 * ratio 4): alpha = log((J3 - J2) / (J2 - J1)) / log 4, then D0 and D_offset
 * are linear. A w without a rate law inside the parameter bounds has no z. */
#ifndef HCMC_RATES_H
#define HCMC_RATES_H

#include <stdbool.h>
#include <stddef.h>

#include "hcmc/export.h"
#include "hcmc/model.h"
#include "hcmc/target.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hcmc_rate_coords {
    size_t dim;                /* length of z; the last coordinate is log sigma */
    size_t nblocks;            /* 1 (static) or 2 (laminar_flow) */
    bool use[2];               /* blocks mapped; the others stay as in z */
    size_t at[2];              /* coordinate of each block's first parameter */
    double t[3];               /* reference times, s */
    const double (*bounds)[2]; /* [dim] constrained bounds of z's coordinates */
} hcmc_rate_coords;

/* t_max: the time of the last kept frame, (n_t - 1) dt. bounds must outlive
 * c. Every block is used, block b at coordinates 3b .. 3b + 2. */
HCMC_API void hcmc_rate_coords_init(hcmc_rate_coords *c, hcmc_mode mode, size_t dim,
                                    double t_max, const double (*bounds)[2]);

/* Places the blocks at the coordinates of their parameters, slot[k] for
 * physical parameter k of model.h (-1: fixed, not a coordinate); a block
 * whose three parameters are not consecutive coordinates is not used. */
HCMC_API void hcmc_rate_coords_place(hcmc_rate_coords *c, const int *slot);

/* The same for a target's z: its time t_max and bounds (filled into
 * bounds[dim], which must outlive c), each block at its parameters'
 * coordinates; a block with a fixed parameter is not used (it stays in z). */
HCMC_API void hcmc_rate_coords_init_target(hcmc_rate_coords *c, const hcmc_target *t,
                                           double (*bounds)[2]);

/* z -> w and back (ctx: a hcmc_rate_coords). Non-zero when the point has no
 * image: a rate not positive at a reference time (z -> w), or no rate law
 * of the family inside the bounds (w -> z). */
HCMC_API int hcmc_rate_coords_from_z(const void *ctx, const double *z, double *w);
HCMC_API int hcmc_rate_coords_to_z(const void *ctx, const double *w, double *z);

/* For sampling in w: z = to_z(w), the blocks of dz/dw (jac[b][3 i + j] =
 * dz_{at[b]+i} / dw_{at[b]+j}; identity for unused blocks) and, when ijac is not
 * NULL, of its inverse dw/dz; log |det dz/dw| and its gradient in w,
 * dlogdet[dim] (0 outside the used blocks). Non-zero when w has no z, or
 * the map is singular there (exponent 0). */
HCMC_API int hcmc_rate_coords_to_z_jac(const hcmc_rate_coords *c, const double *w,
                                       double *z, double jac[2][9], double ijac[2][9],
                                       double *logdet, double *dlogdet);

#ifdef __cplusplus
}
#endif
#endif
