/* The warm start (see warmstart.h): Levenberg-Marquardt in logit
 * coordinates from ladders of starts, then the posterior mode and its
 * Laplace approximation in the target's own coordinates.
 *
 * Why two coordinate systems: the least-squares fit needs every iterate to
 * have parameter values, which the logit of each bound gives for any z
 * (the law coordinates have walls, where MINPACK would stop). The sampler
 * needs its start and covariance in its own coordinates, and there the
 * prior matters: where the data leave a direction open (the shape of a
 * rate law whose exponent is near 0), least squares has no optimum and the
 * prior has one. So the fit is carried over and refined on the whole
 * posterior: Newton steps with the Gauss-Newton curvature of the
 * likelihood plus the prior's, the latter by differences of its analytic
 * gradient; the same curvature at the mode is the Laplace approximation. */
#include "hcmc/warmstart.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pthread.h>

#include <cminpack.h>
#include <lapacke.h>

#include "hcmc/cores.h"
#include "hcmc/log.h"
#include "hcmc/model.h"
#include "hcmc/rng.h"
#include "hcmc/timing.h"
#include "../base/blas.h"

typedef struct {
    const hcmc_target *t;
    hcmc_target_ws *ws;
    const hcmc_points *pts;
    hcmc_coords lc;     /* logit coordinates of the target's bounds */
    size_t dim, nb;     /* nb = dim - 1: every coordinate but sigma */
    const size_t *free; /* LM variables x[i] = z[free[i]] */
    size_t nfree;
    double *z;    /* full coordinate vector (logit), fixed entries kept */
    double *th;   /* [dim] parameter values */
    double *Jrow; /* [n][nb] row-major Jacobian scratch */
} lm_problem;

/* Residuals at logit coordinates z and, when J is not NULL, their
 * Jacobian in them (rows of nb). */
static int lm_residuals(lm_problem *P, const double *z, double *r, double *J)
{
    hcmc_coords_constrain(&P->lc, z, P->th);
    int rc = hcmc_target_residuals_theta(P->t, P->ws, P->pts, P->th, r, J, P->nb);
    if (rc || !J)
        return rc;
    double dth[64];
    for (size_t k = 0; k < P->nb; k++)
        hcmc_bounded_from_real(P->lc.bounds[k][0], P->lc.bounds[k][1], z[k], &dth[k],
                               NULL, NULL);
    for (size_t p = 0; p < P->pts->n; p++)
        for (size_t k = 0; k < P->nb; k++)
            J[p * P->nb + k] *= dth[k];
    return 0;
}

static int lm_fcn(void *p, int m, int n, const double *x, double *fvec, double *fjac,
                  int ldfjac, int iflag)
{
    lm_problem *P = p;
    for (int i = 0; i < n; i++)
        P->z[P->free[i]] = x[i];
    if (lm_residuals(P, P->z, fvec, iflag == 2 ? P->Jrow : NULL))
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

/* One LM run over the free coordinates from P->z, at most maxfev
 * evaluations (0: MINPACK's default, 200 (n + 1)); returns the residual
 * sum of squares (inf when it failed) and leaves the fit in P->z, each
 * coordinate within WS_Z_MAX. */
static double lm_run(lm_problem *P, double *fvec, double *fjac, int maxfev, int *info)
{
    int m = (int)P->pts->n, n = (int)P->nfree;
    double x[64], diag[64], qtf[64], wa1[64], wa2[64], wa3[64];
    int ipvt[64], nfev = 0, njev = 0;
    double *wa4 = malloc((size_t)m * sizeof(double));
    if (!wa4)
        return INFINITY;
    for (int i = 0; i < n; i++)
        x[i] = P->z[P->free[i]];
    *info = lmder(lm_fcn, P, m, n, x, fvec, fjac, m, 1e-10, 1e-10, 0.0,
                  maxfev > 0 ? maxfev : 200 * (n + 1), diag, 1, 100.0, 0, &nfev, &njev,
                  ipvt, qtf, wa1, wa2, wa3, wa4);
    free(wa4);
    for (int i = 0; i < n; i++) {
        x[i] = x[i] > WS_Z_MAX ? WS_Z_MAX : x[i] < -WS_Z_MAX ? -WS_Z_MAX : x[i];
        P->z[P->free[i]] = x[i];
    }
    if (*info <= 0 || lm_fcn(P, m, n, x, fvec, NULL, m, 1))
        return INFINITY;
    return sum_sq(fvec, (size_t)m);
}

/* ---- many starts on threads ------------------------------------------- */

/* A batch of LM runs on one set of points: start i from z[i * dim] (the
 * fit replaces it), its residual sum of squares into ss[i] and MINPACK's
 * info into info[i]. Each run is independent of the others and of the
 * thread it runs on. */
typedef struct {
    const hcmc_target *t;
    const hcmc_coords *lc;
    const hcmc_points *pts;
    const size_t *free;
    size_t nfree, dim, n;
    int maxfev;
    double *z, *ss;
    int *info;
    size_t next; /* the next start to take (under lock) */
    pthread_mutex_t lock;
    int failed; /* out of memory in a thread */
} lm_batch;

static void *lm_batch_main(void *arg)
{
    lm_batch *B = arg;
    size_t m = B->pts->n, nb = B->dim - 1;
    lm_problem P = {.t = B->t,
                    .pts = B->pts,
                    .lc = *B->lc,
                    .dim = B->dim,
                    .nb = nb,
                    .free = B->free,
                    .nfree = B->nfree};
    double *fvec = malloc(m * sizeof(double));
    double *fjac = malloc(m * B->nfree * sizeof(double));
    P.Jrow = malloc(m * nb * sizeof(double));
    P.th = malloc(B->dim * sizeof(double));
    P.ws = hcmc_target_ws_new(B->t);
    bool ok = fvec && fjac && P.Jrow && P.th && P.ws;
    for (;;) {
        pthread_mutex_lock(&B->lock);
        size_t i = B->next++;
        if (!ok)
            B->failed = 1;
        pthread_mutex_unlock(&B->lock);
        if (i >= B->n || !ok)
            break;
        P.z = B->z + i * B->dim;
        B->ss[i] = lm_run(&P, fvec, fjac, B->maxfev, &B->info[i]);
    }
    hcmc_target_ws_free(P.ws);
    free(P.th);
    free(P.Jrow);
    free(fjac);
    free(fvec);
    return NULL;
}

/* Runs the batch on up to WS_THREADS threads (the calling one among them). */
#define WS_THREADS 8
static int lm_batch_run(lm_batch *B)
{
    size_t T = hcmc_usable_cores();
    T = T > WS_THREADS ? WS_THREADS : T;
    T = T > B->n ? B->n : T;
    pthread_t th[WS_THREADS];
    bool started[WS_THREADS] = {false};
    B->next = 0;
    B->failed = 0;
    pthread_mutex_init(&B->lock, NULL);
    for (size_t k = 1; k < T; k++)
        started[k] = pthread_create(&th[k], NULL, lm_batch_main, B) == 0;
    lm_batch_main(B);
    for (size_t k = 1; k < T; k++)
        if (started[k])
            pthread_join(th[k], NULL);
    pthread_mutex_destroy(&B->lock);
    return B->failed ? HCMC_ENOMEM : HCMC_OK;
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

/* ---- the mode and its curvature in the target's coordinates ---------- */

typedef struct {
    const hcmc_target *t;
    hcmc_target_ws *ws;
    const hcmc_points *sub; /* the subsample of the fit */
    size_t dim, nb, n_full;
    double w;       /* likelihood weight */
    double *g, *gp; /* [dim] gradients */
    double *J;      /* [m][nb] */
    double *r;      /* [m] */
    double *H, *A;  /* [dim][dim] */
} mode_problem;

/* The untempered log posterior f at z and, when g is not NULL, its
 * gradient: the target's gradient has the prior tempered by tau, the
 * prior's own gradient makes up the rest. */
static int post_eval(mode_problem *Q, const double *z, double *f, double *g)
{
    hcmc_target_parts parts;
    double lp, lpp;
    int rc = hcmc_target_eval(Q->t, Q->ws, z, &lp, g, &parts);
    if (rc)
        return rc;
    *f = parts.loglik + parts.logprior + parts.logjac;
    double tau = hcmc_target_tau(Q->t);
    if (g && tau != 1) {
        if ((rc = hcmc_target_eval_prior(Q->t, Q->ws, z, &lpp, Q->gp)))
            return rc;
        for (size_t k = 0; k < Q->dim; k++)
            g[k] += (1 - tau) * Q->gp[k];
    }
    return isfinite(*f) ? 0 : HCMC_ENUMERIC;
}

/* Minus the Hessian of the untempered log posterior, approximated: the
 * likelihood's Gauss-Newton term w J^T J / sigma^2 over the subsample,
 * scaled to all points, and 2 w N for log sigma; the prior's (with the
 * Jacobian of z) by central differences of its analytic gradient,
 * symmetrised. Into Q->H. */
static int curvature(mode_problem *Q, const double *z)
{
    size_t d = Q->dim, nb = Q->nb, m = Q->sub->n;
    int rc = hcmc_target_residuals(Q->t, Q->ws, Q->sub, z, Q->r, Q->J, nb);
    if (rc)
        return rc;
    double sigma = exp(z[nb]);
    double f = Q->w * (double)Q->n_full / ((double)m * sigma * sigma);
    memset(Q->H, 0, d * d * sizeof(double));
    for (size_t p = 0; p < m; p++) {
        const double *row = Q->J + p * nb;
        for (size_t a = 0; a < nb; a++)
            for (size_t b = 0; b <= a; b++)
                Q->H[a * d + b] += f * row[a] * row[b];
    }
    Q->H[nb * d + nb] = 2 * Q->w * (double)Q->n_full;
    double zz[64 + 1], lp;
    memcpy(zz, z, d * sizeof(double));
    for (size_t k = 0; k < d; k++) {
        /* a step that leaves the coordinates' domain (a mode near a wall
         * of rates coordinates, law.h) is halved until it does not */
        double h = 1e-5 * fmax(1, fabs(z[k]));
        for (int tries = 0;; tries++) {
            zz[k] = z[k] + h;
            rc = hcmc_target_eval_prior(Q->t, Q->ws, zz, &lp, Q->g);
            if (!rc) {
                zz[k] = z[k] - h;
                rc = hcmc_target_eval_prior(Q->t, Q->ws, zz, &lp, Q->gp);
            }
            if (rc != HCMC_TARGET_OUTSIDE || tries == 30)
                break;
            h /= 2;
        }
        if (rc)
            return rc;
        zz[k] = z[k];
        for (size_t a = 0; a < d; a++) /* column k of minus the Hessian, halved */
            Q->A[a * d + k] = -(Q->g[a] - Q->gp[a]) / (2 * h);
    }
    for (size_t a = 0; a < d; a++)
        for (size_t b = 0; b <= a; b++)
            Q->H[a * d + b] += 0.5 * (Q->A[a * d + b] + Q->A[b * d + a]);
    /* a coordinate the data leave open where the prior curves the wrong
     * way (its density convex there) has no curvature to offer: it gets
     * that of the standard normal base every bounded coordinate's prior
     * holds (target.h), alone */
    for (size_t a = 0; a < d; a++)
        if (!(Q->H[a * d + a] > 0)) {
            for (size_t b = 0; b < d; b++)
                Q->H[a * d + b] = Q->H[b * d + a] = 0;
            Q->H[a * d + a] = 1;
        }
    for (size_t a = 0; a < d; a++)
        for (size_t b = 0; b < a; b++)
            Q->H[b * d + a] = Q->H[a * d + b];
    return 0;
}

/* Cholesky of H + lambda diag(H) into Q->A (lower); 0 when positive
 * definite. */
static int damped_chol(mode_problem *Q, double lambda)
{
    size_t d = Q->dim;
    for (size_t a = 0; a < d; a++)
        for (size_t b = 0; b < d; b++)
            Q->A[a * d + b] = Q->H[a * d + b] * (a == b ? 1 + lambda : 1);
    for (size_t a = 0; a < d; a++)
        if (!(Q->A[a * d + a] > 0) || !isfinite(Q->A[a * d + a]))
            return -1;
    return LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)d, Q->A, (lapack_int)d)
               ? -1
               : 0;
}

/* x = A^-1 b with A's Cholesky factor in Q->A. */
static void chol_solve(const mode_problem *Q, const double *b, double *x)
{
    size_t d = Q->dim;
    memcpy(x, b, d * sizeof(double));
    LAPACKE_dpotrs(LAPACK_ROW_MAJOR, 'L', (lapack_int)d, 1, Q->A, (lapack_int)d, x, 1);
}

/* Damped Newton ascent of the untempered log posterior from z (in place,
 * target coordinates): a step is taken when it raises the density, the
 * damping shrinks after a success and grows after a failure. Stops when
 * the predicted rise is below 1e-6 or after 100 steps. */
static int find_mode(mode_problem *Q, double *z)
{
    size_t d = Q->dim;
    double f, fn, zn[64 + 1], step[64 + 1], g[64 + 1];
    int rc = post_eval(Q, z, &f, g);
    if (rc)
        return rc;
    double lambda = 1e-3;
    for (int it = 0; it < 100; it++) {
        if ((rc = curvature(Q, z)))
            return rc;
        bool moved = false;
        while (lambda < 1e12) {
            if (damped_chol(Q, lambda)) {
                lambda = fmax(1e-3, 10 * lambda);
                continue;
            }
            chol_solve(Q, g, step);
            double rise = 0;
            for (size_t k = 0; k < d; k++) {
                rise += g[k] * step[k];
                zn[k] = z[k] + step[k];
            }
            if (!(rise > 1e-6))
                return 0; /* converged */
            if (post_eval(Q, zn, &fn, NULL) == 0 && fn > f) {
                memcpy(z, zn, d * sizeof(double));
                if ((rc = post_eval(Q, z, &f, g)))
                    return rc;
                lambda = lambda > 1e-2 ? lambda / 10 : 0;
                moved = true;
                break;
            }
            lambda = fmax(1e-3, 10 * lambda);
        }
        if (!moved)
            return 0; /* no step raises it: as good as the curvature tells */
    }
    return 0;
}

/* The Laplace approximation's covariance at z: the inverse of the
 * curvature (damped until positive definite). The sds of the bounded
 * coordinates are capped at WS_SD_MAX, correlations kept; *half_logdet is
 * half the log determinant of the covariance before the caps. */
static int laplace_cov(mode_problem *Q, const double *z, double *cov,
                       double *half_logdet)
{
    size_t d = Q->dim;
    int rc = curvature(Q, z);
    if (rc)
        return rc;
    double lambda = 0;
    while (damped_chol(Q, lambda))
        if ((lambda = fmax(1e-6, 10 * lambda)) > 1e6)
            return HCMC_ENUMERIC;
    *half_logdet = 0; /* of the covariance before the caps: -sum log L_ii */
    for (size_t a = 0; a < d; a++)
        *half_logdet -= log(Q->A[a * d + a]);
    memcpy(cov, Q->A, d * d * sizeof(double));
    if (LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'L', (lapack_int)d, cov, (lapack_int)d))
        return HCMC_ENUMERIC;
    for (size_t a = 0; a < d; a++)
        for (size_t b = 0; b < a; b++)
            cov[b * d + a] = cov[a * d + b];
    double f[64 + 1];
    for (size_t a = 0; a < d; a++) {
        double sd = sqrt(cov[a * d + a]);
        f[a] = a + 1 < d && sd > WS_SD_MAX ? WS_SD_MAX / sd : 1.0;
        if (!isfinite(sd) || !(sd > 0))
            return HCMC_ENUMERIC;
    }
    for (size_t a = 0; a < d; a++)
        for (size_t b = 0; b < d; b++)
            cov[a * d + b] *= f[a] * f[b];
    return 0;
}

/* The target's bounds as logit coordinates, for the least-squares fit. */
static int logit_coords(const hcmc_target *t, hcmc_coords *lc, hcmc_error *err)
{
    const hcmc_coords *c = hcmc_target_coords(t);
    return hcmc_coords_init(lc, c->dim, (const double(*)[2])c->bounds, true, err);
}

/* An evenly strided subsample of at most max_points (0: 20 000) of t's
 * points, in *sub (released by the caller); *pts points to it, or to all
 * points when they are few enough. */
static int subsample(const hcmc_target *t, size_t max_points, hcmc_points *sub,
                     const hcmc_points **pts, hcmc_error *err)
{
    const hcmc_points *all = hcmc_target_points(t);
    size_t dim = hcmc_target_dim(t), nb = dim - 1;
    if (max_points == 0)
        max_points = 20000;
    if (nb > 64)
        return hcmc_error_set(err, HCMC_EUNSUPPORTED,
                              "warm start: %zu parameters, at most 64 supported", nb);
    memset(sub, 0, sizeof *sub);
    *pts = all;
    size_t m = all->n < max_points ? all->n : max_points;
    if (m < all->n) {
        size_t *idx = malloc(m * sizeof(size_t));
        if (!idx)
            return hcmc_error_set(err, HCMC_ENOMEM, "warm start: out of memory");
        for (size_t i = 0; i < m; i++)
            idx[i] = (size_t)((double)i * (double)all->n / (double)m);
        int rc = hcmc_points_subset(all, idx, m, sub, err);
        free(idx);
        if (rc)
            return rc;
        *pts = sub;
    }
    if (m <= nb) {
        hcmc_points_release(sub);
        return hcmc_error_set(err, HCMC_EINVAL,
                              "warm start: %zu points for %zu parameters", m, nb);
    }
    return HCMC_OK;
}

/* The linearised posterior covariance of the bounded parameters at the
 * fit, cov[nb * nb] (row-major): the inverse of the Gauss-Newton precision
 * of the subsample's residual Jacobian J (in theta), scaled to all n_full
 * points, plus each parameter's prior precision (that of a uniform prior
 * on its bounds), so that a direction the data leave open gets the
 * prior's width rather than none; but the three columns from no_prior on
 * (SIZE_MAX: none), which J holds in other coordinates than theta's. NaN
 * where the precision is not positive definite. */
static void fit_cov_theta(const hcmc_target *t, const double *J, size_t m,
                          size_t n_full, double sigma, size_t no_prior, double *cov)
{
    size_t nb = hcmc_target_dim(t) - 1;
    double s[64],
        f = hcmc_target_weight(t) * (double)n_full / ((double)m * sigma * sigma);
    memset(cov, 0, nb * nb * sizeof(double));
    for (size_t p = 0; p < m; p++)
        for (size_t a = 0; a < nb; a++)
            for (size_t b = 0; b <= a; b++)
                cov[a * nb + b] += f * J[p * nb + a] * J[p * nb + b];
    for (size_t k = 0; k < nb; k++) {
        double lo, hi;
        hcmc_target_bounds(t, k, &lo, &hi);
        if (k < no_prior || k >= no_prior + 3)
            cov[k * nb + k] += 12 / ((hi - lo) * (hi - lo));
        s[k] = 1 / sqrt(cov[k * nb + k]);
    }
    for (size_t a = 0; a < nb; a++) /* equilibrated: parameter units do not matter */
        for (size_t b = 0; b <= a; b++)
            cov[a * nb + b] *= s[a] * s[b];
    bool ok =
        LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)nb, cov, (lapack_int)nb) ==
            0 &&
        LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'L', (lapack_int)nb, cov, (lapack_int)nb) == 0;
    for (size_t a = 0; a < nb; a++)
        for (size_t b = 0; b <= a; b++) {
            double v = ok ? cov[a * nb + b] * s[a] * s[b] : NAN;
            cov[a * nb + b] = cov[b * nb + a] = v;
        }
}

/* ---- the global search ------------------------------------------------- */

/* Exploratory starts run on an evenly strided subsample of this many
 * points: enough to tell one basin of the least-squares fit from another
 * (their residual sums differ by many times the noise wherever the data
 * tell the modes apart), at a tenth of the cost of the fit's 20 000. */
#define WS_EXPLORE_POINTS 2000
/* The evaluations a refit of an exploratory fit may take, per free
 * coordinate and one, before the best of them goes on to MINPACK's
 * default of 200: a basin far down, where LM crawls along a ridge
 * towards a bound, then costs a quarter of that. */
#define WS_POLISH_FEV 50
/* Latin hypercube starts over the physical parameters' bounds. */
#define WS_DESIGN 12
/* The distinct exploratory fits refitted on the fit's subsample, best
 * first. */
#define WS_POLISH (HCMC_WARM_MAX_ALT + 1)
/* Two fits lie in different basins when some free logit coordinate
 * differs by more than this (a logit of 0.5 is about 12 % of a bound's
 * range in probability near the middle): LM ends within 1e-6 of an
 * optimum, so fits of one basin agree far better, except along a ridge
 * the data leave flat, where the mode (hcmc_warm_mode) and its Laplace
 * covariance decide instead (shard.c). */
#define WS_DISTINCT 0.5

static bool distinct(const double *a, const double *b, const size_t *free, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fabs(a[free[i]] - b[free[i]]) > WS_DISTINCT)
            return true;
    return false;
}

/* The axes s (degrees, in [0, 90)) about which the angle set is symmetric
 * as a set modulo 180: every angle's mirror image 2 s - phi is an angle of
 * the set. phi0 -> 2 s - phi0 then maps the model at each angle to the
 * model at its image, so the posterior has an approximate mirror mode
 * where the data at the two angles are alike (an exact one when every
 * angle is its own image, model.h hcmc_angles_mirror_axis). At most max. */
static size_t set_axes(const double *phi, size_t n, double *axes, size_t max)
{
    size_t na = 0;
    for (size_t a = 0; a < n && na < max; a++)
        for (size_t b = a; b < n && na < max; b++) {
            double s = fmod(0.5 * (phi[a] + phi[b]), 90.0);
            s = s < 0 ? s + 90.0 : s;
            bool is_axis = true;
            for (size_t i = 0; i < n && is_axis; i++) {
                bool found = false;
                for (size_t j = 0; j < n && !found; j++) {
                    double r = fmod(2 * s - phi[i] - phi[j], 180.0);
                    r = r < 0 ? r + 180.0 : r;
                    found = r < 1e-6 || r > 180.0 - 1e-6;
                }
                is_axis = found;
            }
            for (size_t k = 0; k < na && is_axis; k++) {
                double d = fabs(axes[k] - s);
                is_axis = d > 1e-6 && d < 90.0 - 1e-6;
            }
            if (is_axis)
                axes[na++] = s;
        }
    return na;
}

/* Fraction f in (0, 1) of coordinate k's bounds: log-spaced for a range
 * above 0, evenly otherwise (ladder). */
static double at_fraction(const hcmc_target *t, size_t k, double f)
{
    double lo, hi;
    hcmc_target_bounds(t, k, &lo, &hi);
    double x = lo > 0 ? exp(log(lo) + f * (log(hi) - log(lo))) : lo + f * (hi - lo);
    return to_z(t, k, x);
}

/* n Latin hypercube starts, each a copy of base with every physical
 * coordinate among free drawn from its own permutation of n strata; the
 * design is fixed (its stream depends on nothing but its size), so the
 * warm start does not depend on the run's seed. */
static void lhs_design(const hcmc_target *t, const double *base, const size_t *free,
                       size_t nfree, size_t dim, size_t n, double *out)
{
    hcmc_rng rng;
    hcmc_rng_init(&rng, 0x5eed, HCMC_RNG_WARM, 0, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        memcpy(out + i * dim, base, dim * sizeof(double));
    size_t perm[64];
    for (size_t c = 0; c < nfree; c++) {
        size_t k = free[c];
        if (hcmc_phys_index(hcmc_target_param_name(t, k)) < 0)
            continue;
        for (size_t i = 0; i < n; i++)
            perm[i] = i;
        for (size_t i = n; i > 1; i--) { /* Fisher-Yates */
            size_t j = (size_t)hcmc_rng_below(&rng, i), tmp = perm[i - 1];
            perm[i - 1] = perm[j];
            perm[j] = tmp;
        }
        for (size_t i = 0; i < n; i++)
            out[i * dim + k] = at_fraction(
                t, k, ((double)perm[i] + hcmc_rng_uniform(&rng)) / (double)n);
    }
}

/* The best of n fits (ss, index order breaking ties); SIZE_MAX when none
 * is finite. */
static size_t best_of(const double *ss, size_t n)
{
    size_t b = SIZE_MAX;
    for (size_t i = 0; i < n; i++)
        if (isfinite(ss[i]) && (b == SIZE_MAX || ss[i] < ss[b]))
            b = i;
    return b;
}

/* Up to max fits of a batch, best first, each in another basin than the
 * ones before it (distinct): their indices into pick. */
static size_t pick_distinct(const lm_batch *B, size_t max, size_t *pick)
{
    size_t np = 0;
    bool *used = calloc(B->n, sizeof(bool));
    if (!used)
        return 0;
    while (np < max) {
        size_t b = SIZE_MAX;
        for (size_t i = 0; i < B->n; i++)
            if (!used[i] && isfinite(B->ss[i]) &&
                (b == SIZE_MAX || B->ss[i] < B->ss[b]))
                b = i;
        if (b == SIZE_MAX)
            break;
        used[b] = true;
        bool dup = false;
        for (size_t j = 0; j < np && !dup; j++)
            dup = !distinct(B->z + b * B->dim, B->z + pick[j] * B->dim, B->free,
                            B->nfree);
        if (!dup)
            pick[np++] = b;
    }
    free(used);
    return np;
}

/* A batch of n starts over pts, free coordinates free[nfree]; z [n][dim]
 * allocated (filled by the caller), ss and info too. */
static int batch_new(lm_batch *B, const hcmc_target *t, const hcmc_coords *lc,
                     const hcmc_points *pts, const size_t *free, size_t nfree, size_t n,
                     int maxfev)
{
    size_t dim = hcmc_target_dim(t);
    *B = (lm_batch){.t = t,
                    .lc = lc,
                    .pts = pts,
                    .free = free,
                    .nfree = nfree,
                    .dim = dim,
                    .n = n,
                    .maxfev = maxfev};
    B->z = malloc(n * dim * sizeof(double));
    B->ss = malloc(n * sizeof(double));
    B->info = malloc(n * sizeof(int));
    return B->z && B->ss && B->info ? HCMC_OK : HCMC_ENOMEM;
}

/* Starts from .. from + n - 1 of B as a batch of their own (the same
 * arrays), run with maxfev. */
static lm_batch batch_part(const lm_batch *B, size_t from, size_t n, int maxfev)
{
    lm_batch P = *B;
    P.z += from * B->dim;
    P.ss += from;
    P.info += from;
    P.n = n;
    P.maxfev = maxfev;
    return P;
}

static void batch_free(lm_batch *B)
{
    free(B->z);
    free(B->ss);
    free(B->info);
}

int hcmc_warm_fit(const hcmc_target *t, const double *guess, size_t max_points,
                  double *theta, double *cov_theta, hcmc_warm_alts *alts,
                  hcmc_warm_start_info *info, hcmc_error *err)
{
    hcmc__blas_one_thread();
    double t0 = hcmc_seconds();
    const hcmc_points *all = hcmc_target_points(t), *pts, *epts;
    size_t dim = hcmc_target_dim(t), nb = dim - 1;
    if (alts)
        alts->n = 0;
    hcmc_points sub, esub;
    memset(&esub, 0, sizeof esub);
    int rc = subsample(t, max_points, &sub, &pts, err);
    if (rc)
        return rc;
    size_t m = pts->n;
    if ((rc = subsample(t, m < WS_EXPLORE_POINTS ? m : WS_EXPLORE_POINTS, &esub, &epts,
                        err))) {
        hcmc_points_release(&sub);
        return rc;
    }
    hcmc_coords lc = {0};
    lm_batch A = {0}, Bb = {0}, Po = {0};
    double *z0 = malloc(2 * dim * sizeof(double)), *lguess = z0 ? z0 + dim : NULL;
    double *fvec = malloc(m * sizeof(double)), *Jrow = malloc(m * nb * sizeof(double));
    hcmc_target_ws *ws = hcmc_target_ws_new(t);
    int starts = 0;
    if ((rc = logit_coords(t, &lc, err)))
        goto out;
    if (!z0 || !fvec || !Jrow || !ws) {
        rc = hcmc_error_set(err, HCMC_ENOMEM, "warm start: out of memory");
        goto out;
    }
    if (guess) {
        double th[64 + 1];
        hcmc_target_constrain(t, guess, th);
        for (size_t k = 0; k < nb; k++)
            lguess[k] = to_z(t, k, th[k]);
        lguess[nb] = 0.0;
        guess = lguess;
        memcpy(z0, guess, dim * sizeof(double));
    } else if ((rc = default_guess(t, pts, z0, err))) {
        goto out;
    }
    z0[nb] = 0.0;
    /* coordinates of D0, gamma_dot_t0 and of the shear parameters (absent
     * when fixed) */
    const int s_d0 = hcmc_target_phys_slot(t, HCMC_P_D0),
              s_g0 = hcmc_target_phys_slot(t, HCMC_P_GAMMA_DOT_T0),
              s_phi = hcmc_target_phys_slot(t, HCMC_P_PHI0);
    size_t freeall[64], freed[64], nd = 0;
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
    /* 1. diffusion (and scaling) first, from a ladder of D0 values, on the
     * exploratory points; the shear is held at its guess, or switched off
     * when there is no guess. A static model takes the design here too. */
    if (laminar && !guess && s_g0 >= 0)
        z0[s_g0] = to_z(t, (size_t)s_g0, 0.0);
    double rungs[8];
    size_t nrung = guess || s_d0 < 0 ? 1 : 4, ndes = laminar ? 0 : WS_DESIGN;
    if (s_d0 >= 0)
        ladder(t, (size_t)s_d0, (int)nrung, rungs);
    if (batch_new(&A, t, &lc, epts, laminar ? freed : freeall, laminar ? nd : nb,
                  nrung + ndes, 0))
        goto nomem;
    for (size_t i = 0; i < nrung; i++) {
        memcpy(A.z + i * dim, z0, dim * sizeof(double));
        if (!guess && s_d0 >= 0)
            A.z[i * dim + (size_t)s_d0] = rungs[i];
    }
    lhs_design(t, z0, A.free, A.nfree, dim, ndes, A.z + nrung * dim);
    if (lm_batch_run(&A))
        goto nomem;
    starts += (int)A.n;
    lm_batch *last = &A;
    size_t a_best = best_of(A.ss, A.n);
    if (laminar && a_best != SIZE_MAX) {
        /* 2. everything, from a ladder of shear rates, the guess and a
         * Latin hypercube over all physical parameters */
        const double *za = A.z + a_best * dim;
        nrung = s_g0 >= 0 ? 8 : 1;
        if (s_g0 >= 0)
            ladder(t, (size_t)s_g0, (int)nrung, rungs);
        size_t ng = guess != NULL;
        if (batch_new(&Bb, t, &lc, epts, freeall, nb, nrung + ng + WS_DESIGN, 0))
            goto nomem;
        for (size_t i = 0; i < nrung; i++) {
            memcpy(Bb.z + i * dim, za, dim * sizeof(double));
            if (s_g0 >= 0)
                Bb.z[i * dim + (size_t)s_g0] = rungs[i];
        }
        if (guess)
            memcpy(Bb.z + nrung * dim, guess, dim * sizeof(double));
        lhs_design(t, za, freeall, nb, dim, WS_DESIGN, Bb.z + (nrung + ng) * dim);
        if (lm_batch_run(&Bb))
            goto nomem;
        starts += (int)Bb.n;
        last = &Bb;
    }
    /* 4. the best distinct fits again on the fit's points, from where the
     * exploration left them */
    size_t pick[WS_POLISH];
    size_t np = pick_distinct(last, WS_POLISH, pick);
    if (np == 0) {
        rc = hcmc_error_set(err, HCMC_ENUMERIC,
                            "warm start: the least-squares fit failed from every "
                            "start (the model is not finite there)");
        goto out;
    }
    double axes[16];
    size_t nax = s_phi >= 0 ? set_axes(all->phi, all->n_phi, axes, 16) : 0;
    if (batch_new(&Po, t, &lc, pts, freeall, nb, np + nax,
                  WS_POLISH_FEV * ((int)nb + 1)))
        goto nomem;
    for (size_t i = 0; i < np; i++)
        memcpy(Po.z + i * dim, last->z + pick[i] * dim, dim * sizeof(double));
    Po.n = np;
    if (lm_batch_run(&Po))
        goto nomem;
    starts += (int)np;
    size_t best = best_of(Po.ss, Po.n);
    if (best != SIZE_MAX) { /* the best to the end */
        lm_batch One = batch_part(&Po, best, 1, 0);
        if (lm_batch_run(&One))
            goto nomem;
        best = best_of(Po.ss, Po.n);
    }
    /* 5. the best fit's images under the axes the angle set is symmetric
     * about, fitted from there: exact or approximate mirror modes */
    if (nax && best != SIZE_MAX) {
        double lo, hi, th[64 + 1];
        hcmc_target_bounds(t, (size_t)s_phi, &lo, &hi);
        hcmc_coords_constrain(&lc, Po.z + best * dim, th);
        lm_batch Im = batch_part(&Po, np, 0, 0);
        for (size_t k = 0; k < nax; k++) {
            double im = hcmc_phi0_mirror(th[s_phi], axes[k], lo, hi);
            if (isnan(im))
                continue;
            double *zi = Im.z + Im.n++ * dim;
            memcpy(zi, Po.z + best * dim, dim * sizeof(double));
            zi[s_phi] = to_z(t, (size_t)s_phi, im);
        }
        if (Im.n && lm_batch_run(&Im))
            goto nomem;
        starts += (int)Im.n;
        Po.n = np + Im.n;
        /* an image replaces the best only where it fits better by more
         * than rounding: under an exact symmetry both fit alike, and which
         * one the chains start in must not depend on the last bit */
        for (size_t i = np; i < Po.n; i++)
            if (Po.ss[i] < Po.ss[best] * (1 - 1e-9))
                best = i;
    }
    for (size_t i = 0; i < Po.n && best != SIZE_MAX; i++) {
        double th[64 + 1];
        char buf[400] = "";
        hcmc_coords_constrain(&lc, Po.z + i * dim, th);
        for (size_t k = 0, n = 0; k < nb && n + 40 < sizeof buf; k++)
            n += (size_t)snprintf(buf + n, sizeof buf - n, " %.4g", th[k]);
        hcmc_log(HCMC_LOG_DEBUG,
                 "warm start: basin %zu of %zu, %.4g below in log "
                 "likelihood:%s",
                 i + 1, Po.n, 0.5 * (double)all->n * log(Po.ss[i] / Po.ss[best]), buf);
    }
    if (best == SIZE_MAX) {
        rc = hcmc_error_set(err, HCMC_ENUMERIC,
                            "warm start: the least-squares fit failed from every "
                            "start (the model is not finite there)");
        goto out;
    }
    double *zb = Po.z + best * dim;
    double sigma = sqrt(Po.ss[best] / (double)m);
    zb[nb] = log(sigma > 1e-12 ? sigma : 1e-12);
    hcmc_coords_constrain(&lc, zb, theta);
    /* the other basins within reach of the best, best first */
    size_t kept[WS_POLISH], nk = 0;
    while (alts && alts->n < HCMC_WARM_MAX_ALT) {
        size_t b = SIZE_MAX;
        for (size_t i = 0; i < Po.n; i++) {
            bool skip = i == best || !isfinite(Po.ss[i]) ||
                        !distinct(Po.z + i * dim, zb, freeall, nb);
            for (size_t j = 0; j < nk && !skip; j++)
                skip = kept[j] == i ||
                       !distinct(Po.z + i * dim, Po.z + kept[j] * dim, freeall, nb);
            if (!skip && (b == SIZE_MAX || Po.ss[i] < Po.ss[b]))
                b = i;
        }
        if (b == SIZE_MAX)
            break;
        double dl = fmax(0, 0.5 * (double)all->n * log(Po.ss[b] / Po.ss[best]));
        if (!(dl <= HCMC_WARM_KEEP_DLOGLIK))
            break;
        kept[nk++] = b;
        double *za = Po.z + b * dim, s = sqrt(Po.ss[b] / (double)m);
        za[nb] = log(s > 1e-12 ? s : 1e-12);
        hcmc_coords_constrain(&lc, za, alts->theta[alts->n]);
        alts->dloglik[alts->n++] = dl;
    }
    if (cov_theta) {
        hcmc_target_residuals_theta(t, ws, pts, theta, fvec, Jrow, nb);
        fit_cov_theta(t, Jrow, m, all->n, sigma, SIZE_MAX, cov_theta);
    }
    if (info) {
        info->points_used = m;
        info->starts = starts;
        info->lm_info = Po.info[best];
        info->rms = sigma;
        info->seconds = hcmc_seconds() - t0;
    }
    goto out;
nomem:
    rc = hcmc_error_set(err, HCMC_ENOMEM, "warm start: out of memory");
out:
    batch_free(&A);
    batch_free(&Bb);
    batch_free(&Po);
    hcmc_coords_release(&lc);
    hcmc_target_ws_free(ws);
    free(Jrow);
    free(fvec);
    free(z0);
    hcmc_points_release(&esub);
    hcmc_points_release(&sub);
    return rc;
}

/* The data's scale of the curvature of the rate law at coordinates at .. at
 * + 2 (law.h SLOPE): kappa = v2 b, the second derivative of the law in log
 * time at t_r, which the data measure about linearly where the exponent is
 * near 0. Its sd under the Gauss-Newton precision of the subsample (scaled
 * to all points) in (v1, v2, kappa) and the other parameters, with the
 * other parameters' uniform priors (fit_cov_theta). The derivative in
 * kappa at fixed (v1, v2) is finite at b = 0 (t^b - 1 ~ b log t) but not
 * through (a, b, c): it is taken at an exponent of at least 0.05, where the
 * law bends as at 0 to within a few per cent over the window. */
int hcmc_warm_curvature(const hcmc_target *t, const double *theta, size_t at,
                        double t_r, size_t max_points, double *scale, hcmc_error *err)
{
    *scale = 0;
    const hcmc_points *all = hcmc_target_points(t), *pts;
    size_t dim = hcmc_target_dim(t), nb = dim - 1;
    if (at + 3 > nb || !(t_r > 0))
        return hcmc_error_set(err, HCMC_EINVAL, "curvature: no law at coordinate %zu",
                              at);
    hcmc_points sub;
    int rc = subsample(t, max_points, &sub, &pts, err);
    if (rc)
        return rc;
    size_t m = pts->n;
    double *th = malloc(dim * sizeof(double)), *r = malloc(m * sizeof(double));
    double *J = malloc(m * nb * sizeof(double)), *F = malloc(nb * nb * sizeof(double));
    hcmc_target_ws *ws = hcmc_target_ws_new(t);
    if (!th || !r || !J || !F || !ws) {
        rc = hcmc_error_set(err, HCMC_ENOMEM, "curvature: out of memory");
        goto out;
    }
    memcpy(th, theta, dim * sizeof(double));
    double L = log(t_r), b = th[at + 1], ap = th[at] * exp(b * L);
    double be = fabs(b) >= 0.05 ? b : b < 0 ? -0.05 : 0.05;
    double v2 = be * ap, kap = v2 * be, e = exp(-be * L);
    th[at] = ap * e;
    th[at + 1] = be;
    if ((rc = hcmc_target_residuals_theta(t, ws, pts, th, r, J, nb))) {
        rc = hcmc_error_set(err, HCMC_ENUMERIC,
                            "curvature: the model has no value there");
        goto out;
    }
    /* d(a, b, c) / d(v1, v2, kappa): a' = v2^2 / kappa, b = kappa / v2,
     * a = a' t_r^-b, c = v1 - a' */
    double dap[3] = {0, 2 * v2 / kap, -v2 * v2 / (kap * kap)};
    double db[3] = {0, -kap / (v2 * v2), 1 / v2};
    double G[3][3];
    for (int j = 0; j < 3; j++) {
        G[0][j] = e * (dap[j] - ap * L * db[j]);
        G[1][j] = db[j];
        G[2][j] = (j == 0) - dap[j];
    }
    for (size_t p = 0; p < m; p++) {
        double *row = J + p * nb, old[3] = {row[at], row[at + 1], row[at + 2]};
        for (int j = 0; j < 3; j++)
            row[at + (size_t)j] =
                old[0] * G[0][j] + old[1] * G[1][j] + old[2] * G[2][j];
    }
    fit_cov_theta(t, J, m, all->n, th[nb], at, F);
    double v = F[(at + 2) * nb + at + 2];
    *scale = isfinite(v) && v > 0 ? sqrt(v) : 0;
out:
    hcmc_target_ws_free(ws);
    free(F);
    free(J);
    free(r);
    free(th);
    hcmc_points_release(&sub);
    return rc;
}

int hcmc_warm_mode(const hcmc_target *t, const double *theta, size_t max_points,
                   double *z, double *cov, double *log_mass, hcmc_error *err)
{
    hcmc__blas_one_thread();
    const hcmc_points *pts;
    size_t dim = hcmc_target_dim(t), nb = dim - 1;
    hcmc_points sub;
    int rc = subsample(t, max_points, &sub, &pts, err);
    if (rc)
        return rc;
    size_t m = pts->n;
    double *work = malloc((3 * dim + m + m * nb + 2 * dim * dim) * sizeof(double));
    hcmc_target_ws *ws = hcmc_target_ws_new(t);
    if (!work || !ws) {
        rc = hcmc_error_set(err, HCMC_ENOMEM, "warm start: out of memory");
        goto out;
    }
    if (hcmc_target_unconstrain(t, theta, z, err)) {
        rc = hcmc_error_set(err, HCMC_ENUMERIC,
                            "warm start: the fit has no sampling coordinates");
        goto out;
    }
    mode_problem Q = {.t = t,
                      .ws = ws,
                      .sub = pts,
                      .dim = dim,
                      .nb = nb,
                      .n_full = hcmc_target_points(t)->n,
                      .w = hcmc_target_weight(t),
                      .g = work,
                      .gp = work + dim,
                      .r = work + 2 * dim,
                      .J = work + 2 * dim + m,
                      .H = work + 2 * dim + m + m * nb,
                      .A = work + 2 * dim + m + m * nb + dim * dim};
    double half_logdet = 0, f = 0;
    if ((rc = find_mode(&Q, z)) ||
        (cov && (rc = laplace_cov(&Q, z, cov, &half_logdet))) ||
        (log_mass && (rc = post_eval(&Q, z, &f, NULL))))
        rc = hcmc_error_set(err, rc,
                            "warm start: the posterior is not finite near the "
                            "least-squares fit");
    else if (log_mass)
        *log_mass = f + half_logdet + 0.5 * (double)dim * log(2 * M_PI);
out:
    hcmc_target_ws_free(ws);
    free(work);
    hcmc_points_release(&sub);
    return rc;
}

int hcmc_warm_start(const hcmc_target *t, const double *guess, size_t max_points,
                    double *z, double *cov, hcmc_warm_start_info *info, hcmc_error *err)
{
    double t0 = hcmc_seconds(), theta[64 + 1];
    if (hcmc_target_dim(t) > 65)
        return hcmc_error_set(err, HCMC_EUNSUPPORTED,
                              "warm start: %zu parameters, at most 64 supported",
                              hcmc_target_dim(t) - 1);
    int rc = hcmc_warm_fit(t, guess, max_points, theta, NULL, NULL, info, err);
    if (!rc)
        rc = hcmc_warm_mode(t, theta, max_points, z, cov, NULL, err);
    if (!rc && info)
        info->seconds = hcmc_seconds() - t0;
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
    /* from logit to the target's coordinates */
    hcmc_coords lc;
    if ((rc = logit_coords(t, &lc, err)))
        return rc;
    double th[64 + 1];
    hcmc_coords_constrain(&lc, z, th);
    hcmc_coords_release(&lc);
    return hcmc_target_unconstrain(t, th, z, err);
}
