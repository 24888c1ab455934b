/* The sampling coordinates of a target (see coords.h). The law blocks are
 * few (at most two) and sit at known coordinates, so every loop walks the
 * bounded coordinates once and hands a block of three to law.c where one
 * starts. */

#include "hcmc/coords.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hcmc/prior.h"

/* A plain coordinate's parameter value (and derivatives, see prior.h). */
static double plain(const hcmc_coords *c, size_t k, double z, double *dxdz, double *lj,
                    double *dlj)
{
    const double *b = c->bounds[k];
    return c->logit ? hcmc_bounded_from_real(b[0], b[1], z, dxdz, lj, dlj)
                    : hcmc_probit_from_real(b[0], b[1], z, dxdz, lj, dlj);
}

int hcmc_coords_init(hcmc_coords *c, size_t dim, const double (*bounds)[2], bool logit,
                     hcmc_error *err)
{
    memset(c, 0, sizeof *c);
    if (dim < 1)
        return hcmc_error_set(err, HCMC_EINVAL, "coordinates: none");
    c->dim = dim;
    c->logit = logit;
    c->bounds = malloc((dim > 1 ? dim - 1 : 1) * sizeof *c->bounds);
    if (!c->bounds)
        return hcmc_error_set(err, HCMC_ENOMEM, "coordinates: out of memory");
    if (dim > 1)
        memcpy(c->bounds, bounds, (dim - 1) * sizeof *c->bounds);
    return HCMC_OK;
}

void hcmc_coords_release(hcmc_coords *c)
{
    if (!c)
        return;
    free(c->bounds);
    memset(c, 0, sizeof *c);
}

/* The bounds of the law block that would start at coordinate at, after
 * the blocks already added; HCMC_EINVAL when none fits there. */
static int block_bounds(const hcmc_coords *c, size_t at, double lo[3], double hi[3],
                        hcmc_error *err)
{
    if (c->nlaw >= 2 || at + 3 >= c->dim || (c->nlaw && at < c->law_at[0] + 3))
        return hcmc_error_set(err, HCMC_EINVAL, "coordinates: no law block fits at %zu",
                              at);
    for (int i = 0; i < 3; i++) {
        lo[i] = c->bounds[at + i][0];
        hi[i] = c->bounds[at + i][1];
    }
    return HCMC_OK;
}

int hcmc_coords_add_law(hcmc_coords *c, size_t at, hcmc_law_kind kind, double t,
                        double w, hcmc_error *err)
{
    double lo[3], hi[3];
    int rc = block_bounds(c, at, lo, hi, err);
    if (rc)
        return rc;
    hcmc_law *m = &c->law[c->nlaw];
    switch (kind) {
    case HCMC_LAW_RATES:
        rc = hcmc_law_init_rates(m, lo, hi, t, err);
        break;
    case HCMC_LAW_SLOPE:
        rc = hcmc_law_init_slope(m, lo, hi, t, w, err);
        break;
    default:
        rc = hcmc_law_init(m, lo, hi, t, w, err);
    }
    if (!rc)
        c->law_at[c->nlaw++] = at;
    return rc;
}

int hcmc_coords_law_at(const hcmc_coords *c, size_t k)
{
    for (size_t l = 0; l < c->nlaw; l++)
        if (c->law_at[l] == k)
            return (int)l;
    return -1;
}

bool hcmc_coords_has_base(const hcmc_coords *c, size_t k)
{
    if (k + 1 >= c->dim)
        return false;
    for (size_t l = 0; l < c->nlaw; l++)
        if (k >= c->law_at[l] && k < c->law_at[l] + 3 &&
            (c->law[l].kind == HCMC_LAW_RATES || k == c->law_at[l] + 1))
            return false;
    return true;
}

int hcmc_coords_constrain(const hcmc_coords *c, const double *z, double *theta)
{
    int rc = 0;
    for (size_t k = 0; k + 1 < c->dim; k++) {
        int l = hcmc_coords_law_at(c, k);
        if (l >= 0) {
            if (hcmc_law_to_theta(&c->law[l], z + k, theta + k, NULL, NULL, NULL)) {
                theta[k] = theta[k + 1] = theta[k + 2] = NAN;
                rc = -1;
            }
            k += 2;
            continue;
        }
        theta[k] = plain(c, k, z[k], NULL, NULL, NULL);
    }
    theta[c->dim - 1] = exp(z[c->dim - 1]);
    return rc;
}

int hcmc_coords_unconstrain(const hcmc_coords *c, const double *theta, double *z)
{
    for (size_t k = 0; k + 1 < c->dim; k++) {
        const double *b = c->bounds[k];
        if (!(theta[k] > b[0] && theta[k] < b[1]))
            return -1;
    }
    for (size_t k = 0; k + 1 < c->dim; k++) {
        int l = hcmc_coords_law_at(c, k);
        if (l >= 0) {
            if (hcmc_law_from_theta(&c->law[l], theta + k, z + k))
                return -1;
            k += 2;
            continue;
        }
        const double *b = c->bounds[k];
        z[k] = c->logit ? hcmc_bounded_to_real(b[0], b[1], theta[k])
                        : hcmc_probit_to_real(b[0], b[1], theta[k]);
    }
    double s = theta[c->dim - 1];
    if (!(s > 0) || !isfinite(s))
        return -1;
    z[c->dim - 1] = log(s);
    return 0;
}

int hcmc_coords_forward(const hcmc_coords *c, const double *z, double *theta,
                        double *dtheta, double M[2][9], double *logjac, double *dlogjac)
{
    double lj = 0;
    for (size_t k = 0; k + 1 < c->dim; k++) {
        int l = hcmc_coords_law_at(c, k);
        if (l >= 0) {
            double ld;
            if (hcmc_law_to_theta(&c->law[l], z + k, theta + k, M[l], &ld, dlogjac + k))
                return -1;
            lj += ld;
            dtheta[k] = dtheta[k + 1] = dtheta[k + 2] = NAN; /* see M */
            k += 2;
            continue;
        }
        double ljk;
        theta[k] = plain(c, k, z[k], &dtheta[k], &ljk, &dlogjac[k]);
        lj += ljk;
    }
    *logjac = lj;
    return 0;
}

void hcmc_coords_pullback(const hcmc_coords *c, const double *dtheta,
                          const double M[2][9], double *g)
{
    for (size_t k = 0; k + 1 < c->dim; k++) {
        int l = hcmc_coords_law_at(c, k);
        if (l >= 0) {
            double gt[3] = {g[k], g[k + 1], g[k + 2]};
            for (int j = 0; j < 3; j++) /* (M^T g)_j */
                g[k + j] = M[l][j] * gt[0] + M[l][3 + j] * gt[1] + M[l][6 + j] * gt[2];
            k += 2;
            continue;
        }
        g[k] *= dtheta[k];
    }
}
