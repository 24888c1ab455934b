/* Reference-rate coordinates (see rates.h). */
#include "hcmc/rates.h"

#include <math.h>
#include <string.h>

#include "hcmc/prior.h"

void hcmc_rate_coords_init(hcmc_rate_coords *c, hcmc_mode mode, size_t dim,
                           double t_max, const double (*bounds)[2])
{
    c->dim = dim;
    c->nblocks = mode == HCMC_MODE_LAMINAR ? 2 : 1;
    c->t[0] = t_max / 16;
    c->t[1] = t_max / 4;
    c->t[2] = t_max;
    c->bounds = bounds;
}

static double coord(const hcmc_rate_coords *c, size_t k, double z)
{
    return k + 1 == c->dim ? exp(z)
                           : hcmc_bounded_from_real(c->bounds[k][0], c->bounds[k][1], z,
                                                    NULL, NULL, NULL);
}

int hcmc_rate_coords_from_z(const void *ctx, const double *z, double *w)
{
    const hcmc_rate_coords *c = ctx;
    memcpy(w, z, c->dim * sizeof(double));
    for (size_t b = 0; b < c->nblocks; b++) {
        size_t o = 3 * b;
        double a0 = coord(c, o, z[o]), a = coord(c, o + 1, z[o + 1]),
               off = coord(c, o + 2, z[o + 2]);
        for (size_t i = 0; i < 3; i++) {
            double v = a0 * pow(c->t[i], a) + off;
            if (!(v > 0) || !isfinite(v))
                return -1;
            w[o + i] = log(v);
        }
    }
    return 0;
}

int hcmc_rate_coords_to_z(const void *ctx, const double *w, double *z)
{
    const hcmc_rate_coords *c = ctx;
    memcpy(z, w, c->dim * sizeof(double));
    for (size_t b = 0; b < c->nblocks; b++) {
        size_t o = 3 * b;
        double v1 = exp(w[o]), v2 = exp(w[o + 1]), v3 = exp(w[o + 2]);
        double d1 = v2 - v1, d2 = v3 - v2;
        /* r = (t3^a - t2^a) / (t2^a - t1^a) = 4^a; a constant law (r = 1)
         * has no exponent */
        if (!(d1 != 0 && d2 / d1 > 0 && d2 != d1))
            return -1;
        double a = log(d2 / d1) / log(4.0);
        double u1 = pow(c->t[0], a);
        double a0 = d1 * d1 / (u1 * (d2 - d1)); /* d1 / (u1 (4^a - 1)) */
        double off = v1 - a0 * u1;
        double th[3] = {a0, a, off};
        for (size_t i = 0; i < 3; i++) {
            const double *bd = c->bounds[o + i];
            if (!(th[i] > bd[0] && th[i] < bd[1]))
                return -1;
            z[o + i] = hcmc_bounded_to_real(bd[0], bd[1], th[i]);
        }
    }
    return 0;
}
