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
    c->use[0] = true;
    c->use[1] = c->nblocks == 2;
    c->t[0] = t_max / 16;
    c->t[1] = t_max / 4;
    c->t[2] = t_max;
    c->at[0] = 0;
    c->at[1] = 3;
    c->bounds = bounds;
}

void hcmc_rate_coords_place(hcmc_rate_coords *c, const int *slot)
{
    for (size_t b = 0; b < c->nblocks; b++) {
        const int *s = slot + 3 * b;
        c->use[b] = c->use[b] && s[0] >= 0 && s[1] == s[0] + 1 && s[2] == s[0] + 2;
        c->at[b] = s[0] >= 0 ? (size_t)s[0] : 0;
    }
}

void hcmc_rate_coords_init_target(hcmc_rate_coords *c, const hcmc_target *t,
                                  double (*bounds)[2])
{
    size_t d = hcmc_target_dim(t);
    int slot[HCMC_NPHYS_MAX];
    for (size_t k = 0; k < d; k++)
        hcmc_target_bounds(t, k, &bounds[k][0], &bounds[k][1]);
    for (int k = 0; k < HCMC_NPHYS_MAX; k++)
        slot[k] = hcmc_target_phys_slot(t, k);
    hcmc_rate_coords_init(c, hcmc_target_mode(t), d, hcmc_target_time_max(t),
                          (const double(*)[2])bounds);
    hcmc_rate_coords_place(c, slot);
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
        if (!c->use[b])
            continue;
        size_t o = c->at[b];
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
        if (!c->use[b])
            continue;
        size_t o = c->at[b];
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

/* 3 x 3 inverse by cofactors; 0 when singular. */
static int inv3(const double *A, double *B)
{
    double c00 = A[4] * A[8] - A[5] * A[7], c01 = A[5] * A[6] - A[3] * A[8],
           c02 = A[3] * A[7] - A[4] * A[6];
    double det = A[0] * c00 + A[1] * c01 + A[2] * c02;
    if (!(fabs(det) > 0) || !isfinite(det))
        return -1;
    B[0] = c00 / det;
    B[1] = (A[2] * A[7] - A[1] * A[8]) / det;
    B[2] = (A[1] * A[5] - A[2] * A[4]) / det;
    B[3] = c01 / det;
    B[4] = (A[0] * A[8] - A[2] * A[6]) / det;
    B[5] = (A[2] * A[3] - A[0] * A[5]) / det;
    B[6] = c02 / det;
    B[7] = (A[1] * A[6] - A[0] * A[7]) / det;
    B[8] = (A[0] * A[4] - A[1] * A[3]) / det;
    return 0;
}

static double det3(const double *A)
{
    return A[0] * (A[4] * A[8] - A[5] * A[7]) - A[1] * (A[3] * A[8] - A[5] * A[6]) +
           A[2] * (A[3] * A[7] - A[4] * A[6]);
}

/* With theta = (a0, a, c) and J_k = a0 u_k + c, u_k = t_k^a, L_k = ln t_k:
 *   A = dw/dtheta, rows (u_k, a0 u_k L_k, 1) / J_k,
 *   log |det A| = log |a0| + log |D(a)| - sum log J_k, D(a) = det(u_k, u_k L_k,
 *   1) and D'(a) = det(u_k, u_k L_k^2, 1);
 *   z_i = logit((theta_i - lo) / (hi - lo)), s_i = dz_i/dtheta_i
 *       = (hi - lo) / ((theta_i - lo) (hi - theta_i));
 *   dz/dw = diag(s) A^-1, log |det dz/dw| = sum log s_i - log |det A|, and its
 *   gradient in w is A^-T times its gradient in theta. */
int hcmc_rate_coords_to_z_jac(const hcmc_rate_coords *c, const double *w, double *z,
                              double jac[2][9], double ijac[2][9], double *logdet,
                              double *dlogdet)
{
    if (hcmc_rate_coords_to_z(c, w, z))
        return -1;
    *logdet = 0;
    memset(dlogdet, 0, c->dim * sizeof(double));
    for (size_t b = 0; b < 2; b++) {
        memset(jac[b], 0, 9 * sizeof(double));
        jac[b][0] = jac[b][4] = jac[b][8] = 1;
        if (ijac)
            memcpy(ijac[b], jac[b], 9 * sizeof(double));
    }
    for (size_t b = 0; b < c->nblocks; b++) {
        if (!c->use[b])
            continue;
        size_t o = c->at[b];
        double th[3], s[3], ds[3];
        for (size_t i = 0; i < 3; i++) {
            const double *bd = c->bounds[o + i];
            th[i] = hcmc_bounded_from_real(bd[0], bd[1], z[o + i], NULL, NULL, NULL);
            s[i] = (bd[1] - bd[0]) / ((th[i] - bd[0]) * (bd[1] - th[i]));
            ds[i] = -1.0 / (th[i] - bd[0]) + 1.0 / (bd[1] - th[i]); /* d log s/dtheta */
        }
        double a0 = th[0], a = th[1], A[9], D1[9], D2[9], g[3] = {0, 0, 0};
        for (size_t k = 0; k < 3; k++) {
            double u = pow(c->t[k], a), L = log(c->t[k]), J = a0 * u + th[2];
            A[3 * k] = u / J;
            A[3 * k + 1] = a0 * u * L / J;
            A[3 * k + 2] = 1 / J;
            D1[3 * k] = D2[3 * k] = u;
            D1[3 * k + 1] = u * L;
            D2[3 * k + 1] = u * L * L;
            D1[3 * k + 2] = D2[3 * k + 2] = 1;
            g[0] -= u / J; /* - d log J_k / dtheta */
            g[1] -= a0 * u * L / J;
            g[2] -= 1 / J;
        }
        double D = det3(D1), B[9];
        if (!(a0 != 0) || !(fabs(D) > 0) || inv3(A, B))
            return -1;
        /* f = sum log s - log|det A| = sum log s - log|a0| - log|D| + sum log J */
        double f = -log(fabs(a0)) - log(fabs(D)), gf[3];
        for (size_t k = 0; k < 3; k++)
            f += log(a0 * pow(c->t[k], a) + th[2]) + log(s[k]);
        gf[0] = ds[0] - 1 / a0 - g[0];
        gf[1] = ds[1] - det3(D2) / D - g[1];
        gf[2] = ds[2] - g[2];
        *logdet += f;
        for (size_t j = 0; j < 3; j++) {
            double t = 0;
            for (size_t i = 0; i < 3; i++)
                t += B[3 * i + j] * gf[i]; /* (A^-T gf)_j = sum_i B_ij gf_i */
            dlogdet[o + j] = t;
            for (size_t i = 0; i < 3; i++) {
                jac[b][3 * i + j] = s[i] * B[3 * i + j];
                if (ijac) /* dw/dz = A diag(1/s) */
                    ijac[b][3 * i + j] = A[3 * i + j] / s[j];
            }
        }
    }
    return 0;
}
