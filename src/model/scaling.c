/* Per-angle contrast and offset: the scaling modes' names and, for the
 * constant modes, estimates from the data alone: the offset from the
 * points at the longest lags (their 10 % quantile), the contrast from the
 * shortest lags (90 % quantile) less the offset, each clipped to its
 * prior's bounds. Quantiles, not fits: cheap and robust to a few bad
 * points, good enough for values that are then held fixed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hcmc/target.h"

static const char *const scaling_names[] = {"auto", "individual", "shared", "constant",
                                            "constant_averaged"};

const char *hcmc_scaling_mode_name(hcmc_scaling_mode m)
{
    return (unsigned)m < 5 ? scaling_names[m] : "?";
}

int hcmc_scaling_mode_parse(const char *s, hcmc_scaling_mode *out, hcmc_error *err)
{
    for (int k = 0; k < 5; k++)
        if (!strcmp(s, scaling_names[k])) {
            *out = (hcmc_scaling_mode)k;
            return HCMC_OK;
        }
    return hcmc_error_set(err, HCMC_EINVAL,
                          "per_angle_mode '%s' is not one of auto, individual, "
                          "constant, constant_averaged",
                          s);
}

static double clip(double x, const hcmc_prior *p)
{
    return fmin(fmax(x, p->lo), p->hi);
}

/* Where a prior puts its mass: mu, or exp(mu) for LogNormal. */
static double prior_centre(const hcmc_prior *p)
{
    return p->type == HCMC_PRIOR_LOGNORMAL ? exp(p->mu) : p->mu;
}

/* Quantile estimate for one angle; n >= 100. */
static void estimate_angle(const hcmc_points *pts, size_t a0, size_t n, double dt,
                           double *buf, double *lagbuf, const hcmc_prior *cp,
                           const hcmc_prior *op, double *contrast, double *offset)
{
    for (size_t k = 0; k < n; k++)
        lagbuf[k] = dt * (double)(pts->j[a0 + k] - pts->i[a0 + k]);
    double *sorted = buf;
    memcpy(sorted, lagbuf, n * sizeof *sorted);
    double lag80 = hcmc_quantile_inplace(sorted, n, 0.8);
    double lag20 = hcmc_quantile_inplace(sorted, n, 0.2);
    size_t m = 0;
    for (size_t k = 0; k < n; k++)
        if (lagbuf[k] >= lag80)
            buf[m++] = pts->y[a0 + k];
    double off = hcmc_quantile_inplace(buf, m, 0.1);
    m = 0;
    for (size_t k = 0; k < n; k++)
        if (lagbuf[k] <= lag20)
            buf[m++] = pts->y[a0 + k];
    double top = hcmc_quantile_inplace(buf, m, 0.9);
    *offset = clip(off, op);
    *contrast = clip(top - *offset, cp);
}

int hcmc_scaling_estimate(const hcmc_points *pts, const hcmc_prior *cp,
                          const hcmc_prior *op, double dt, double *contrast,
                          double *offset, hcmc_error *err)
{
    size_t nmax = 1;
    for (size_t a = 0; a < pts->n_phi; a++) {
        size_t n = pts->angle_start[a + 1] - pts->angle_start[a];
        nmax = n > nmax ? n : nmax;
    }
    double *buf = malloc(2 * nmax * sizeof *buf);
    if (!buf)
        return hcmc_error_set(err, HCMC_ENOMEM,
                              "out of memory for the scaling estimate");
    for (size_t a = 0; a < pts->n_phi; a++) {
        size_t a0 = pts->angle_start[a], n = pts->angle_start[a + 1] - a0;
        if (n >= 100) {
            estimate_angle(pts, a0, n, dt, buf, buf + nmax, cp, op, &contrast[a],
                           &offset[a]);
        } else {
            contrast[a] = clip(prior_centre(cp), cp);
            offset[a] = clip(prior_centre(op), op);
        }
    }
    free(buf);
    return HCMC_OK;
}
