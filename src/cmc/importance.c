/* Importance correction of combined draws (see importance.h). */
#include "hcmc/importance.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lapacke.h>

#include "hcmc/rng.h"
#include "../base/blas.h"

typedef struct {
    const hcmc_target *full;
    const double *z; /* proposals [n][d] */
    double *lp;      /* full log density in z [n], -inf outside */
    size_t n, d, first, step;
    int failed;
} job;

/* The full posterior's log density at z: likelihood of every point plus the
 * untempered prior and Jacobian. */
static void *evaluate(void *arg)
{
    job *j = arg;
    size_t d = j->d;
    hcmc_target_ws *ws = hcmc_target_ws_new(j->full);
    if (!ws) {
        j->failed = 1;
        return NULL;
    }
    for (size_t g = j->first; g < j->n; g += j->step) {
        double lp;
        hcmc_target_parts parts;
        j->lp[g] = -INFINITY;
        if (hcmc_target_eval(j->full, ws, j->z + g * d, &lp, NULL, &parts))
            continue;
        double v = parts.loglik + parts.logprior + parts.logjac;
        if (isfinite(v))
            j->lp[g] = v;
    }
    hcmc_target_ws_free(ws);
    return NULL;
}

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

int hcmc_importance_correct(const hcmc_target *full, double *z, size_t G, uint64_t seed,
                            double max_khat, hcmc_importance_info *info, hcmc_error *err)
{
    hcmc__blas_one_thread();
    memset(info, 0, sizeof *info);
    size_t d = hcmc_target_dim(full);
    if (G < 10)
        return hcmc_error_set(err, HCMC_EINVAL, "importance: %zu draws are too few", G);
    double *w = z, *prop = malloc(G * d * sizeof(double));
    double *mu = calloc(d, sizeof(double)), *L = calloc(d * d, sizeof(double));
    double *lw = malloc(G * sizeof(double)), *lq = malloc(G * sizeof(double));
    double *buf = malloc(G * sizeof(double));
    int rc_ = HCMC_OK;
    if (!prop || !mu || !L || !lw || !lq || !buf) {
        rc_ = hcmc_error_set(err, HCMC_ENOMEM, "importance: out of memory");
        goto done;
    }
    if (d > G) {
        rc_ = hcmc_error_set(err, HCMC_EINVAL, "importance: fewer draws than parameters");
        goto done;
    }
    for (size_t g = 0; g < G; g++)
        for (size_t a = 0; a < d; a++)
            mu[a] += w[g * d + a] / (double)G;
    for (size_t g = 0; g < G; g++)
        for (size_t a = 0; a < d; a++)
            for (size_t b = 0; b <= a; b++)
                L[a * d + b] += (w[g * d + a] - mu[a]) * (w[g * d + b] - mu[b]);
    const double inflate = 1.2 * 1.2;
    for (size_t a = 0; a < d; a++)
        for (size_t b = 0; b <= a; b++)
            L[a * d + b] *= inflate / (double)(G - 1);
    if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)d, L, (lapack_int)d)) {
        rc_ = hcmc_error_set(err, HCMC_ENUMERIC,
                             "importance: the combined draws' covariance is not "
                             "positive definite");
        goto done;
    }
    double logdetL = 0;
    for (size_t a = 0; a < d; a++)
        logdetL += log(L[a * d + a]);
    /* proposals and their log density (constants dropped) */
    hcmc_rng rng;
    hcmc_rng_init(&rng, seed, HCMC_RNG_IMPORTANCE, 0, 0);
    for (size_t g = 0; g < G; g++) {
        double *p = prop + g * d, *u = buf; /* buf holds d values here: G >= d */
        double q = 0;
        for (size_t a = 0; a < d; a++) {
            u[a] = hcmc_rng_normal(&rng);
            q += u[a] * u[a];
        }
        for (size_t a = 0; a < d; a++) {
            p[a] = mu[a];
            for (size_t b = 0; b <= a; b++)
                p[a] += L[a * d + b] * u[b];
        }
        lq[g] = -0.5 * q - logdetL;
    }
    /* the full density, on threads (each proposal's value is independent of
     * which thread computes it) */
    long nc = sysconf(_SC_NPROCESSORS_ONLN);
    size_t T = nc > 1 ? (size_t)nc : 1;
    if (T > 64)
        T = 64;
    job jobs[64];
    pthread_t th[64];
    size_t started = 0;
    for (size_t k = 0; k < T; k++) {
        jobs[k] = (job){full, prop, lw, G, d, k, T, 0};
        if (k > 0 && pthread_create(&th[k], NULL, evaluate, &jobs[k]) == 0)
            started |= (size_t)1 << k; /* else done below on this thread */
    }
    evaluate(&jobs[0]);
    for (size_t k = 1; k < T; k++) {
        if (started & ((size_t)1 << k))
            pthread_join(th[k], NULL);
        else
            evaluate(&jobs[k]);
    }
    for (size_t k = 0; k < T; k++)
        if (jobs[k].failed == 1) {
            rc_ = hcmc_error_set(err, HCMC_ENOMEM, "importance: out of memory");
            goto done;
        }
    /* weights */
    double mx = -INFINITY;
    for (size_t g = 0; g < G; g++) {
        lw[g] = isfinite(lw[g]) ? lw[g] - lq[g] : -INFINITY;
        if (lw[g] > mx)
            mx = lw[g];
        info->n_support += isfinite(lw[g]);
    }
    info->n = G;
    if (!isfinite(mx)) {
        rc_ = hcmc_error_set(err, HCMC_ENUMERIC,
                             "importance: the posterior is not finite at any proposal");
        goto done;
    }
    double s1 = 0, s2 = 0;
    size_t npos = 0;
    for (size_t g = 0; g < G; g++) {
        lw[g] = isfinite(lw[g]) ? exp(lw[g] - mx) : 0.0;
        s1 += lw[g];
        s2 += lw[g] * lw[g];
        if (lw[g] > 0)
            buf[npos++] = lw[g];
    }
    info->ess = s1 * s1 / s2;
    qsort(buf, npos, sizeof(double), cmp_desc);
    size_t m = npos / 5 > 5 ? npos / 5 : 5;
    if (m >= npos) {
        info->khat = INFINITY;
    } else {
        double h = 0;
        for (size_t k = 0; k < m; k++)
            h += log(buf[k] / buf[m]);
        info->khat = h / (double)m;
    }
    info->applied = info->khat <= max_khat;
    if (!info->applied)
        goto done;
    /* systematic resample, in proposal order */
    double u0 = hcmc_rng_uniform(&rng) / (double)G, cum = 0;
    size_t g = 0;
    for (size_t i = 0; i < G; i++) {
        double target = (u0 + (double)i / (double)G) * s1;
        while (g + 1 < G && cum + lw[g] < target)
            cum += lw[g++];
        size_t pick = g;
        while (lw[pick] == 0 && pick > 0) /* the last proposal may weigh 0 */
            pick--;
        memcpy(z + i * d, prop + pick * d, d * sizeof(double));
    }
done:
    free(prop);
    free(mu);
    free(L);
    free(lw);
    free(lq);
    free(buf);
    return rc_;
}
