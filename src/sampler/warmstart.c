#include "hcmc/warmstart.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cminpack.h>
#include <lapacke.h>

#include "hcmc/log.h"
#include "hcmc/timing.h"
#include "../base/blas.h"

typedef struct {
    const hcmc_target *t;
    hcmc_target_ws *ws;
    const hcmc_points *pts;
    size_t dim, nb;     /* nb = dim - 1: every coordinate but sigma */
    const size_t *free; /* LM variables x[i] = z[free[i]] */
    size_t nfree;
    double *z;    /* full coordinate vector, fixed entries kept */
    double *Jrow; /* [n][nb] row-major Jacobian scratch */
} lm_problem;

static int lm_fcn(void *p, int m, int n, const double *x, double *fvec, double *fjac,
                  int ldfjac, int iflag)
{
    lm_problem *P = p;
    for (int i = 0; i < n; i++)
        P->z[P->free[i]] = x[i];
    int rc = hcmc_target_residuals(P->t, P->ws, P->pts, P->z, fvec,
                                   iflag == 2 ? P->Jrow : NULL, P->nb);
    if (rc)
        return -1;
    if (iflag == 1) {
        for (int r = 0; r < m; r++)
            if (!isfinite(fvec[r]))
                return -1;
        return 0;
    }
    for (int c = 0; c < n; c++) {
        size_t k = P->free[c];
        for (int r = 0; r < m; r++)
            fjac[r + (size_t)c * ldfjac] = P->Jrow[(size_t)r * P->nb + k];
    }
    return 0;
}

static double sum_sq(const double *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += v[i] * v[i];
    return s;
}

/* Largest |z| of a bounded coordinate the fit may end at: logistic(18) is
 * 1.5e-8 of the range from the bound. Along a ridge that the data leave
 * flat up to a bound, LM drives z towards infinity (dtheta/dz vanishes
 * there, so its steps grow without limit): such a start is no start. */
#define WS_Z_MAX 18.0
/* Largest sd of a bounded coordinate in the fit's covariance: a little more
 * than the logistic distribution's pi/sqrt(3) = 1.81, the sd in z of a
 * uniform distribution over the bounds. A wider Laplace approximation only
 * says that J^T J is nearly singular, and would start chains and scale the
 * metric far outside any posterior. */
#define WS_SD_MAX 2.0

/* One LM run over the free coordinates from P->z; returns the residual sum
 * of squares (inf when it failed) and leaves the fit in P->z, each
 * coordinate within WS_Z_MAX. */
static double lm_run(lm_problem *P, double *fvec, double *fjac, int *info)
{
    int m = (int)P->pts->n, n = (int)P->nfree;
    double x[64], diag[64], qtf[64], wa1[64], wa2[64], wa3[64];
    int ipvt[64], nfev = 0, njev = 0;
    double *wa4 = malloc((size_t)m * sizeof(double));
    if (!wa4)
        return INFINITY;
    for (int i = 0; i < n; i++)
        x[i] = P->z[P->free[i]];
    *info = lmder(lm_fcn, P, m, n, x, fvec, fjac, m, 1e-10, 1e-10, 0.0, 200 * (n + 1),
                  diag, 1, 100.0, 0, &nfev, &njev, ipvt, qtf, wa1, wa2, wa3, wa4);
    free(wa4);
    for (int i = 0; i < n; i++) {
        x[i] = x[i] > WS_Z_MAX ? WS_Z_MAX : x[i] < -WS_Z_MAX ? -WS_Z_MAX : x[i];
        P->z[P->free[i]] = x[i];
    }
    if (*info <= 0 || lm_fcn(P, m, n, x, fvec, NULL, m, 1))
        return INFINITY;
    return sum_sq(fvec, (size_t)m);
}

/* The best of several LM runs: its residual sum of squares, MINPACK info
 * and coordinates (z[dim]), and how many runs were made. */
typedef struct {
    double ss;
    int info, starts;
    double *z;
} best_fit;

/* One LM run from P->z; kept in b when it fits better than b's. */
static void try_start(lm_problem *P, double *fvec, double *fjac, best_fit *b)
{
    int info;
    double ss = lm_run(P, fvec, fjac, &info);
    b->starts++;
    if (ss < b->ss) {
        b->ss = ss;
        b->info = info;
        memcpy(b->z, P->z, P->dim * sizeof(double));
    }
}

/* Inside-bounds value x as z, nudged off the bounds themselves. */
static double to_z(const hcmc_target *t, size_t k, double x)
{
    double lo, hi;
    hcmc_target_bounds(t, k, &lo, &hi);
    double eps = 1e-6 * (hi - lo);
    x = x < lo + eps ? lo + eps : x > hi - eps ? hi - eps : x;
    return hcmc_bounded_to_real(lo, hi, x);
}

static int default_guess(const hcmc_target *t, const hcmc_points *pts, double *z,
                         hcmc_error *err)
{
    size_t dim = hcmc_target_dim(t), np = 0;
    const hcmc_points *all = hcmc_target_points(t);
    for (size_t k = 0; k + 1 < dim; k++) {
        double lo, hi;
        hcmc_target_bounds(t, k, &lo, &hi);
        z[k] = to_z(t, k, 0.5 * (lo + hi));
        if (hcmc_phys_index(hcmc_target_param_name(t, k)) >= 0)
            np = k + 1;
    }
    hcmc_scaling_mode mode = hcmc_target_scaling(t);
    if (mode == HCMC_SCALING_INDIVIDUAL || mode == HCMC_SCALING_SHARED) {
        size_t na = all->n_phi;
        double *c = malloc(2 * na * sizeof(double)), *o = c + na;
        hcmc_prior cp, op;
        double clo, chi, olo, ohi;
        hcmc_target_bounds(t, np, &clo, &chi);
        hcmc_target_bounds(t, mode == HCMC_SCALING_SHARED ? np + 1 : np + na, &olo,
                           &ohi);
        if (!c ||
            hcmc_prior_init(&cp, HCMC_PRIOR_UNIFORM, clo, chi, NAN, NAN, "contrast",
                            err) ||
            hcmc_prior_init(&op, HCMC_PRIOR_UNIFORM, olo, ohi, NAN, NAN, "offset",
                            err) ||
            hcmc_scaling_estimate(pts, &cp, &op, 1.0, c, o, err)) {
            free(c);
            return err && err->code ? err->code : HCMC_ENOMEM;
        }
        if (mode == HCMC_SCALING_SHARED) {
            double cs = 0, os = 0;
            for (size_t a = 0; a < na; a++) {
                cs += c[a];
                os += o[a];
            }
            z[np] = to_z(t, np, cs / (double)na);
            z[np + 1] = to_z(t, np + 1, os / (double)na);
        } else {
            for (size_t a = 0; a < na; a++) {
                z[np + a] = to_z(t, np + a, c[a]);
                z[np + na + a] = to_z(t, np + na + a, o[a]);
            }
        }
        free(c);
    }
    return HCMC_OK;
}

/* log-spaced (or, for a range through zero, evenly spaced) values inside
 * the bounds of coordinate k */
static void ladder(const hcmc_target *t, size_t k, int n, double *z)
{
    double lo, hi;
    hcmc_target_bounds(t, k, &lo, &hi);
    for (int i = 0; i < n; i++) {
        double f = (i + 0.5) / n, x;
        if (lo > 0)
            x = exp(log(lo) + f * (log(hi) - log(lo)));
        else
            x = lo + f * (hi - lo);
        z[i] = to_z(t, k, x);
    }
}

/* Approximate posterior covariance of z: sigma^2 (J^T J)^-1 on the
 * subsample, scaled to the full point count; sigma's coordinate apart. When
 * J^T J is singular, a diagonal of 0.1^2. */
static void fit_cov(lm_problem *P, double *r, double sigma, size_t n_full, double *cov)
{
    size_t nb = P->nb, dim = P->dim, m = P->pts->n;
    double *A = calloc(nb * nb, sizeof(double));
    int ok = A && hcmc_target_residuals(P->t, P->ws, P->pts, P->z, r, P->Jrow, nb) == 0;
    if (ok) {
        for (size_t p = 0; p < m; p++) {
            const double *row = P->Jrow + p * nb;
            for (size_t a = 0; a < nb; a++)
                for (size_t b = 0; b <= a; b++)
                    A[a * nb + b] += row[a] * row[b];
        }
        ok = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)nb, A, (lapack_int)nb) ==
                 0 &&
             LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'L', (lapack_int)nb, A, (lapack_int)nb) ==
                 0;
    }
    double scale = sigma * sigma * (double)m / (double)n_full;
    for (size_t k = 0; ok && k < nb; k++)
        ok = isfinite(A[k * nb + k]) && A[k * nb + k] > 0;
    memset(cov, 0, dim * dim * sizeof(double));
    for (size_t a = 0; a < nb; a++)
        for (size_t b = 0; b <= a; b++) {
            double v = ok ? A[a * nb + b] * scale : (a == b ? 0.01 : 0.0);
            cov[a * dim + b] = cov[b * dim + a] = v;
        }
    /* sds capped at WS_SD_MAX, correlations kept */
    double f[64];
    for (size_t a = 0; a < nb; a++) {
        double sd = sqrt(cov[a * dim + a]);
        f[a] = sd > WS_SD_MAX ? WS_SD_MAX / sd : 1.0;
    }
    for (size_t a = 0; a < nb; a++)
        for (size_t b = 0; b < nb; b++)
            cov[a * dim + b] *= f[a] * f[b];
    cov[nb * dim + nb] = 1.0 / (2.0 * (double)n_full); /* var of log sigma */
    free(A);
}

int hcmc_warm_start(const hcmc_target *t, const double *guess, size_t max_points,
                    double *z, double *cov, hcmc_warm_start_info *info, hcmc_error *err)
{
    hcmc__blas_one_thread();
    double t0 = hcmc_seconds();
    const hcmc_points *all = hcmc_target_points(t);
    size_t dim = hcmc_target_dim(t), nb = dim - 1;
    if (max_points == 0)
        max_points = 20000;
    if (nb > 64)
        return hcmc_error_set(err, HCMC_EUNSUPPORTED,
                              "warm start: %zu parameters, at most 64 supported", nb);
    /* evenly strided subsample */
    hcmc_points sub = {0};
    const hcmc_points *pts = all;
    size_t m = all->n < max_points ? all->n : max_points;
    if (m < all->n) {
        size_t *idx = malloc(m * sizeof(size_t));
        if (!idx)
            return hcmc_error_set(err, HCMC_ENOMEM, "warm start: out of memory");
        for (size_t i = 0; i < m; i++)
            idx[i] = (size_t)((double)i * (double)all->n / (double)m);
        int rc = hcmc_points_subset(all, idx, m, &sub, err);
        free(idx);
        if (rc)
            return rc;
        pts = &sub;
    }
    if (m <= nb) {
        hcmc_points_release(&sub);
        return hcmc_error_set(err, HCMC_EINVAL,
                              "warm start: %zu points for %zu parameters", m, nb);
    }
    lm_problem P = {.t = t, .pts = pts, .dim = dim, .nb = nb};
    size_t freeall[64], freed[64], nd = 0;
    double *zbest = malloc(2 * dim * sizeof(double));
    double *fvec = malloc(m * sizeof(double));
    double *fjac = malloc(m * nb * sizeof(double));
    P.Jrow = malloc(m * nb * sizeof(double));
    P.ws = hcmc_target_ws_new(t);
    P.z = zbest ? zbest + dim : NULL;
    int rc = HCMC_OK;
    if (!zbest || !fvec || !fjac || !P.Jrow || !P.ws) {
        rc = hcmc_error_set(err, HCMC_ENOMEM, "warm start: out of memory");
        goto out;
    }
    if (guess)
        memcpy(P.z, guess, dim * sizeof(double));
    else if ((rc = default_guess(t, pts, P.z, err)))
        goto out;
    P.z[nb] = 0.0;

    /* coordinates of D0, gamma_dot_t0 and of the shear parameters (absent
     * when fixed) */
    const int s_d0 = hcmc_target_phys_slot(t, HCMC_P_D0),
              s_g0 = hcmc_target_phys_slot(t, HCMC_P_GAMMA_DOT_T0);
    bool shear[64] = {false}, laminar = false;
    for (int k = HCMC_P_GAMMA_DOT_T0; k <= HCMC_P_PHI0; k++) {
        int s = hcmc_target_phys_slot(t, k);
        if (s >= 0)
            laminar = shear[s] = true;
    }
    for (size_t k = 0; k < nb; k++) {
        freeall[k] = k;
        if (!shear[k])
            freed[nd++] = k;
    }
    best_fit B = {.ss = INFINITY, .z = zbest};
    double z_start[HCMC_NPHYS_MAX + 64];
    /* diffusion (and scaling) first, from a ladder of D0 values; the shear
     * is held at its guess, or switched off when there is no guess */
    if (laminar && !guess && s_g0 >= 0)
        P.z[s_g0] = to_z(t, (size_t)s_g0, 0.0);
    double rungs[8];
    int nrung = guess || s_d0 < 0 ? 1 : 4;
    if (s_d0 >= 0)
        ladder(t, (size_t)s_d0, nrung, rungs);
    P.free = laminar ? freed : freeall;
    P.nfree = laminar ? nd : nb;
    memcpy(z_start, P.z, dim * sizeof(double));
    for (int i = 0; i < nrung; i++) {
        memcpy(P.z, z_start, dim * sizeof(double));
        if (!guess && s_d0 >= 0)
            P.z[s_d0] = rungs[i];
        try_start(&P, fvec, fjac, &B);
    }
    if (laminar) {
        /* then everything, from a ladder of shear rates */
        memcpy(z_start, zbest, dim * sizeof(double));
        B.ss = INFINITY;
        nrung = s_g0 >= 0 ? 8 : 1;
        if (s_g0 >= 0)
            ladder(t, (size_t)s_g0, nrung, rungs);
        P.free = freeall;
        P.nfree = nb;
        for (int i = 0; i < nrung + (guess != NULL); i++) {
            memcpy(P.z, z_start, dim * sizeof(double));
            if (i >= nrung)
                memcpy(P.z, guess, dim * sizeof(double));
            else if (s_g0 >= 0)
                P.z[s_g0] = rungs[i];
            try_start(&P, fvec, fjac, &B);
        }
    }
    if (!isfinite(B.ss)) {
        rc = hcmc_error_set(err, HCMC_ENUMERIC,
                            "warm start: the least-squares fit failed from every "
                            "start (the model is not finite there)");
        goto out;
    }
    double sigma = sqrt(B.ss / (double)m);
    memcpy(P.z, zbest, dim * sizeof(double));
    zbest[nb] = log(sigma > 1e-12 ? sigma : 1e-12);
    memcpy(z, zbest, dim * sizeof(double));
    if (cov)
        fit_cov(&P, fvec, sigma, all->n, cov);
    if (info) {
        info->points_used = m;
        info->starts = B.starts;
        info->lm_info = B.info;
        info->rms = sigma;
        info->seconds = hcmc_seconds() - t0;
    }
out:
    hcmc_target_ws_free(P.ws);
    free(P.Jrow);
    free(fjac);
    free(fvec);
    free(zbest);
    hcmc_points_release(&sub);
    return rc;
}

int hcmc_initial_point(const hcmc_target *t, const double *theta, double *z,
                       hcmc_error *err)
{
    const hcmc_points *pts = hcmc_target_points(t);
    size_t dim = hcmc_target_dim(t), nb = dim - 1;
    int rc = default_guess(t, pts, z, err);
    if (rc)
        return rc;
    for (size_t k = 0; k < nb; k++) {
        if (!theta || isnan(theta[k]))
            continue;
        double lo, hi;
        hcmc_target_bounds(t, k, &lo, &hi);
        if (!isfinite(theta[k]))
            return hcmc_error_set(err, HCMC_EINVAL, "initial value of %s is %g",
                                  hcmc_target_param_name(t, k), theta[k]);
        double eps = 1e-6 * (hi - lo);
        if (!(theta[k] > lo + eps && theta[k] < hi - eps))
            hcmc_log(
                HCMC_LOG_WARN,
                "initial value %s = %g is not inside its bounds [%g, %g]; starting "
                "just inside them",
                hcmc_target_param_name(t, k), theta[k], lo, hi);
        z[k] = to_z(t, k, theta[k]);
    }
    double s_y = 0.0;
    if (theta && isfinite(theta[nb]) && theta[nb] > 0)
        z[nb] = log(theta[nb]);
    else if (hcmc_points_noise_scale(pts, &s_y, err) == 0)
        z[nb] = log(s_y);
    else
        return err ? err->code : HCMC_EINVAL;
    return HCMC_OK;
}
