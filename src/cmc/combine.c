/* Combination rules and the gates before them (see combine.h). */
#include "hcmc/combine.h"
#include "cmc_internal.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lapacke.h>

#include "hcmc/diagnostics.h"
#include "hcmc/log.h"
#include "hcmc/points.h"
#include "hcmc/rng.h"
#include "../base/blas.h"

static const char *const method_names[] = {"robust_consensus_mc", "consensus_mc",
                                           "gaussian", "weighted_gaussian",
                                           "simple_average"};

const char *hcmc_combine_method_name(hcmc_combine_method m)
{
    return (unsigned)m < 5 ? method_names[m] : "?";
}

int hcmc_combine_method_parse(const char *s, hcmc_combine_method *out, hcmc_error *err)
{
    if (!strcmp(s, "auto")) {
        *out = HCMC_COMBINE_ROBUST_CONSENSUS;
        return 0;
    }
    for (int k = 0; k < 5; k++)
        if (!strcmp(s, method_names[k])) {
            *out = (hcmc_combine_method)k;
            return 0;
        }
    return hcmc_error_set(err, HCMC_EINVAL,
                          "unknown combination method '%s' (auto, consensus_mc, "
                          "robust_consensus_mc, gaussian, weighted_gaussian, "
                          "simple_average)",
                          s);
}

void hcmc_combine_settings_defaults(hcmc_combine_settings *s)
{
    memset(s, 0, sizeof *s);
    s->method = HCMC_COMBINE_ROBUST_CONSENSUS;
    s->max_divergence_rate = 0.10;
    s->max_parameter_cv = 1.0;
    s->heterogeneity_abort = true;
    s->min_success_rate = 0.90;
    s->seed = 42;
}

void hcmc_combine_result_free(hcmc_combine_result *r)
{
    if (!r)
        return;
    free(r->z);
    free(r->status);
    free(r->reason);
    free(r->cv);
    free(r);
}

/* Per-shard moments: mean[d], cov[d*d], precision[d*d] (inverse of cov),
 * constrained means of the physical parameters tmean[nphys]. */
typedef struct {
    double *mean, *cov, *prec, *tmean, *tsd;
    bool finite, invertible;
} moments;

static void shard_moments(const hcmc_shard_draws *sh, const hcmc_combine_settings *s,
                          moments *m, double *theta)
{
    size_t n = sh->chains * sh->draws, d = sh->dim;
    m->finite = true;
    memset(m->mean, 0, d * sizeof(double));
    memset(m->tmean, 0, (s->nphys ? s->nphys : 1) * sizeof(double));
    memset(m->tsd, 0, (s->nphys ? s->nphys : 1) * sizeof(double));
    for (size_t g = 0; g < n; g++) {
        const double *z = sh->z + g * d;
        for (size_t k = 0; k < d; k++) {
            m->finite = m->finite && isfinite(z[k]);
            m->mean[k] += z[k];
        }
        if (s->nphys) {
            if (s->constrain)
                s->constrain(s->ctx, z, theta);
            else
                memcpy(theta, z, d * sizeof(double));
            for (size_t k = 0; k < s->nphys; k++) {
                m->tmean[k] += theta[k];
                m->tsd[k] += theta[k] * theta[k];
            }
        }
    }
    for (size_t k = 0; k < d; k++)
        m->mean[k] /= (double)n;
    for (size_t k = 0; k < s->nphys; k++) {
        m->tmean[k] /= (double)n;
        double v = m->tsd[k] / (double)n - m->tmean[k] * m->tmean[k];
        m->tsd[k] = sqrt(fmax(v, 0.0) * (double)n / (double)(n - 1));
    }
    memset(m->cov, 0, d * d * sizeof(double));
    for (size_t g = 0; g < n && m->finite; g++) {
        const double *x = sh->z + g * d;
        for (size_t a = 0; a < d; a++)
            for (size_t b = 0; b <= a; b++)
                m->cov[a * d + b] += (x[a] - m->mean[a]) * (x[b] - m->mean[b]);
    }
    for (size_t a = 0; a < d; a++)
        for (size_t b = 0; b <= a; b++) {
            m->cov[a * d + b] /= (double)(n - 1);
            m->cov[b * d + a] = m->cov[a * d + b];
        }
    memcpy(m->prec, m->cov, d * d * sizeof(double));
    m->invertible = m->finite &&
                    LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)d, m->prec,
                                   (lapack_int)d) == 0 &&
                    LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'L', (lapack_int)d, m->prec,
                                   (lapack_int)d) == 0;
    for (size_t a = 0; a < d; a++) /* dpotri fills the lower triangle */
        for (size_t b = 0; b < a; b++)
            m->prec[b * d + a] = m->prec[a * d + b];
}

static void exclude(hcmc_combine_result *r, size_t k, int why, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void exclude(hcmc_combine_result *r, size_t k, int why, const char *fmt, ...)
{
    if (r->status[k] != HCMC_SHARD_KEPT)
        return;
    r->status[k] = why;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->reason[k], sizeof r->reason[k], fmt, ap);
    va_end(ap);
    r->n_kept--;
}

/* 0.6745 |m_k - median| / MAD > 3.5 on any physical parameter. */
static void drop_outliers(hcmc_combine_result *r, const moments *M, size_t K,
                          size_t nphys, double *buf)
{
    int *flag = calloc(K, sizeof(int));
    if (!flag)
        return;
    size_t n_out = 0;
    for (size_t j = 0; j < nphys; j++) {
        size_t n = 0;
        for (size_t k = 0; k < K; k++)
            if (r->status[k] == HCMC_SHARD_KEPT)
                buf[n++] = M[k].tmean[j];
        if (n < 3)
            break;
        double med = hcmc_quantile_inplace(buf, n, 0.5);
        n = 0;
        for (size_t k = 0; k < K; k++)
            if (r->status[k] == HCMC_SHARD_KEPT)
                buf[n++] = fabs(M[k].tmean[j] - med);
        double mad = hcmc_quantile_inplace(buf, n, 0.5);
        /* scatter within a shard's own posterior sd is noise, not an
         * outlier: the MAD is at least that of a normal with that sd */
        n = 0;
        for (size_t k = 0; k < K; k++)
            if (r->status[k] == HCMC_SHARD_KEPT)
                buf[n++] = M[k].tsd[j];
        mad = fmax(mad, 0.6745 * hcmc_quantile_inplace(buf, n, 0.5));
        if (!(mad > 0))
            continue;
        /* nor is a mean within its own posterior's sd of the median: a
         * shard whose posterior runs far along a direction the data leave
         * open has a mean far off and an sd to match */
        for (size_t k = 0; k < K; k++)
            if (r->status[k] == HCMC_SHARD_KEPT && !flag[k] &&
                0.6745 * fabs(M[k].tmean[j] - med) / fmax(mad, 0.6745 * M[k].tsd[j]) >
                    3.5) {
                flag[k] = (int)j + 1;
                n_out++;
            }
    }
    if (r->n_kept - n_out >= 3)
        for (size_t k = 0; k < K; k++)
            if (flag[k])
                exclude(r, k, HCMC_SHARD_OUTLIER,
                        "outlier: its mean of physical parameter %d is more than 3.5 "
                        "robust sd from the median of the shards",
                        flag[k] - 1);
    free(flag);
}

/* The consensus draws x_g = A^-1 sum_k W_k z_{k,g} have the mean of the
 * product of Gaussians but the covariance A^-1 (sum_k W_k) A^-1, not A^-1,
 * where A is the sum less the bases divided out (combine.h): map them
 * about their mean by T = L_A^-T L_C^-1 (below), which gives A^-1 and
 * keeps the draws' chain structure. Sw: sum_k W_k; A: the Cholesky factor
 * of A (lower, column-major). */
static int rescale_draws(double *x, size_t G, size_t d, const double *Sw,
                         const double *A)
{
    double *C = malloc(d * d * sizeof(double));
    double *mu = calloc(d, sizeof(double)), *t = malloc(d * sizeof(double));
    int rc = !C || !mu || !t;
    if (rc)
        goto out;
    /* C = A^-1 Sw A^-1 (column-major; A^-1 from the factor) */
    memcpy(C, Sw, d * d * sizeof(double));
    LAPACKE_dpotrs(LAPACK_COL_MAJOR, 'L', (lapack_int)d, (lapack_int)d, A,
                   (lapack_int)d, C, (lapack_int)d); /* A^-1 Sw */
    for (size_t a = 0; a < d; a++) /* transpose in place: (A^-1 Sw)^T = Sw A^-1 */
        for (size_t b = 0; b < a; b++) {
            double v = C[a * d + b];
            C[a * d + b] = C[b * d + a];
            C[b * d + a] = v;
        }
    LAPACKE_dpotrs(LAPACK_COL_MAJOR, 'L', (lapack_int)d, (lapack_int)d, A,
                   (lapack_int)d, C, (lapack_int)d); /* A^-1 Sw A^-1 */
    for (size_t a = 0; a < d; a++)                   /* symmetric to rounding */
        for (size_t b = 0; b < a; b++)
            C[b * d + a] = C[a * d + b] = 0.5 * (C[a * d + b] + C[b * d + a]);
    if ((rc = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', (lapack_int)d, C, (lapack_int)d)))
        goto out;
    /* with A = L_A L_A^T and C = L_C L_C^T, x' - mu = L_A^-T L_C^-1 (x - mu)
     * has covariance L_A^-T L_A^-1 = A^-1 */
    for (size_t g = 0; g < G; g++)
        for (size_t a = 0; a < d; a++)
            mu[a] += x[g * d + a] / (double)G;
    for (size_t g = 0; g < G; g++) {
        double *y = x + g * d;
        for (size_t a = 0; a < d; a++)
            t[a] = y[a] - mu[a];
        LAPACKE_dtrtrs(LAPACK_COL_MAJOR, 'L', 'N', 'N', (lapack_int)d, 1, C,
                       (lapack_int)d, t, (lapack_int)d);
        LAPACKE_dtrtrs(LAPACK_COL_MAJOR, 'L', 'T', 'N', (lapack_int)d, 1, A,
                       (lapack_int)d, t, (lapack_int)d);
        for (size_t a = 0; a < d; a++)
            y[a] = mu[a] + t[a];
    }
out:
    free(C);
    free(mu);
    free(t);
    return rc;
}

/* Heterogeneity: the coefficient of variation of the kept shards' means
 * of every physical parameter (r->cv), against a floor of 1 % of its
 * bounds and the noise of agreeing shards; above max_parameter_cv a
 * warning, or the end of the combination with heterogeneity_abort. */
static int heterogeneity(hcmc_combine_result *r, const moments *M, size_t K,
                         const hcmc_combine_settings *s, hcmc_error *err)
{
    int rc = HCMC_OK;
    size_t np = s->nphys;
    for (size_t j = 0; j < np; j++) {
        double mu = 0, var = 0;
        size_t n = 0;
        for (size_t k = 0; k < K; k++)
            if (r->status[k] == HCMC_SHARD_KEPT) {
                mu += M[k].tmean[j];
                n++;
            }
        mu /= (double)n;
        for (size_t k = 0; k < K; k++)
            if (r->status[k] == HCMC_SHARD_KEPT)
                var += (M[k].tmean[j] - mu) * (M[k].tmean[j] - mu);
        double sd = n > 1 ? sqrt(var / (double)(n - 1)) : 0.0;
        double floor = s->bounds ? 0.01 * (s->bounds[j][1] - s->bounds[j][0]) : 0.0;
        /* When the shards agree, shard k's mean scatters with about its
         * own posterior sd s_k: sd(means)^2 ~ s^2 chi2(n-1) / (n-1), s^2
         * the mean of the s_k^2 (not their median: one shard whose
         * posterior runs far along a direction the data leave open has a
         * far mean and an sd to match). The noise floor is that at its
         * 99.9 % quantile (Wilson-Hilferty), so agreeing shards stay below
         * CV 1 but for 1 run in 1000. */
        double s2 = 0;
        for (size_t k = 0; k < K; k++)
            if (r->status[k] == HCMC_SHARD_KEPT)
                s2 += M[k].tsd[j] * M[k].tsd[j] / (double)n;
        double nu = n > 1 ? (double)(n - 1) : 1.0;
        double chi_ratio = hcmc_chi2_quantile_ratio(nu, 3.0902); /* chi2 / nu */
        double noise = sqrt(s2 * chi_ratio);
        double den = fmax(fmax(fabs(mu), floor), noise);
        r->cv[j] = den > 0 ? sd / den : 0.0;
        if (r->cv[j] > s->max_parameter_cv) {
            r->heterogeneous = true;
            if (s->heterogeneity_abort) {
                rc = hcmc_error_set(
                    err, HCMC_ENUMERIC,
                    "the shards disagree: physical parameter %zu has shard "
                    "means with CV %.3g above max_parameter_cv %.3g (mean "
                    "%.4g, sd %.4g across %zu shards); the data may not "
                    "come from one posterior, or shards are too small",
                    j, r->cv[j], s->max_parameter_cv, mu, sd, n);
                return rc;
            }
            hcmc_log(HCMC_LOG_WARN,
                     "shards disagree on physical parameter %zu: CV %.3g above %.3g", j,
                     r->cv[j], s->max_parameter_cv);
        }
    }
    return rc;
}

/* The rule: the kept shards' draws (shards, their moments M) into the
 * combined draws r->z, by s->method. */
static int combine_rule(hcmc_combine_result *r, const hcmc_shard_draws *shards,
                        const moments *M, size_t K, size_t C, size_t S, size_t d,
                        const hcmc_combine_settings *s, hcmc_error *err)
{
    int rc = HCMC_OK;
    size_t G = C * S;
    r->chains = C;
    r->draws = S;
    r->dim = d;
    r->z = calloc(G * d, sizeof(double));
    double *A = calloc(2 * d * d, sizeof(double)), *h = calloc(d, sizeof(double));
    double *Sw = A ? A + d * d : NULL;
    if (!r->z || !A || !h) {
        free(A);
        free(h);
        return hcmc_error_set(err, HCMC_ENOMEM, "combine: out of memory");
    }
    double nk = (double)r->n_kept;
    bool based = false;
    switch (s->method) {
    case HCMC_COMBINE_ROBUST_CONSENSUS:
    case HCMC_COMBINE_CONSENSUS:
    case HCMC_COMBINE_GAUSSIAN:
        for (size_t k = 0; k < K; k++) {
            if (r->status[k] != HCMC_SHARD_KEPT)
                continue;
            const double *W = M[k].prec;
            for (size_t i = 0; i < d * d; i++)
                A[i] += W[i];
            if (s->method == HCMC_COMBINE_GAUSSIAN) {
                for (size_t a = 0; a < d; a++)
                    for (size_t b = 0; b < d; b++)
                        h[a] += W[a * d + b] * M[k].mean[b];
                continue;
            }
            for (size_t g = 0; g < G; g++) {
                const double *x = shards[k].z + g * d;
                for (size_t a = 0; a < d; a++) {
                    double t = 0;
                    for (size_t b = 0; b < d; b++)
                        t += W[a * d + b] * x[b];
                    r->z[g * d + a] += t;
                }
            }
        }
        /* every shard's target has the whole base N(0, diag(1 / base)):
         * the product holds it n_kept times, the posterior once (the base's
         * mean, 0, drops out of the weighted sums) */
        memcpy(Sw, A, d * d * sizeof(double));
        for (size_t a = 0; s->base_precision && a < d; a++) {
            A[a * d + a] -= (nk - 1) * s->base_precision[a];
            based = based || (nk > 1 && s->base_precision[a] != 0);
        }
        if (LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', (lapack_int)d, A, (lapack_int)d)) {
            rc = hcmc_error_set(
                err, HCMC_ENUMERIC,
                "combine: the summed shard precisions%s are not positive "
                "definite",
                based ? ", less the bases of the shards' targets," : "");
            break;
        }
        if (s->method != HCMC_COMBINE_GAUSSIAN) {
            LAPACKE_dpotrs(LAPACK_COL_MAJOR, 'L', (lapack_int)d, (lapack_int)G, A,
                           (lapack_int)d, r->z, (lapack_int)d);
            if (based && rescale_draws(r->z, G, d, Sw, A))
                rc = hcmc_error_set(err, HCMC_ENUMERIC,
                                    "combine: the consensus draws' covariance is not "
                                    "positive definite");
            break;
        }
        /* gaussian: mu = A^-1 h; draws mu + L^-T u with A = L L^T */
        LAPACKE_dpotrs(LAPACK_COL_MAJOR, 'L', (lapack_int)d, 1, A, (lapack_int)d, h,
                       (lapack_int)d);
        for (size_t c = 0; c < C; c++) {
            hcmc_rng rng;
            hcmc_rng_init(&rng, s->seed, HCMC_RNG_COMBINE, 0, (uint32_t)c);
            for (size_t t = 0; t < S; t++) {
                double *z = r->z + (c * S + t) * d;
                for (size_t a = 0; a < d; a++)
                    z[a] = hcmc_rng_normal(&rng);
                LAPACKE_dtrtrs(LAPACK_COL_MAJOR, 'L', 'T', 'N', (lapack_int)d, 1, A,
                               (lapack_int)d, z, (lapack_int)d);
                for (size_t a = 0; a < d; a++)
                    z[a] += h[a];
            }
        }
        break;
    case HCMC_COMBINE_WEIGHTED_GAUSSIAN:
        for (size_t a = 0; a < d; a++) {
            double wsum = 0, wm = 0;
            for (size_t k = 0; k < K; k++)
                if (r->status[k] == HCMC_SHARD_KEPT) {
                    double w = 1.0 / M[k].cov[a * d + a];
                    wsum += w;
                    wm += w * M[k].mean[a];
                }
            A[a] = wm / wsum;
            h[a] = sqrt(1.0 / wsum);
        }
        for (size_t c = 0; c < C; c++) {
            hcmc_rng rng;
            hcmc_rng_init(&rng, s->seed, HCMC_RNG_COMBINE, 0, (uint32_t)c);
            for (size_t t = 0; t < S; t++)
                for (size_t a = 0; a < d; a++)
                    r->z[(c * S + t) * d + a] = A[a] + h[a] * hcmc_rng_normal(&rng);
        }
        break;
    case HCMC_COMBINE_SIMPLE_AVERAGE:
        for (size_t k = 0; k < K; k++)
            if (r->status[k] == HCMC_SHARD_KEPT)
                for (size_t g = 0; g < G; g++) {
                    const double *x = shards[k].z + g * d;
                    for (size_t a = 0; a < d; a++)
                        r->z[g * d + a] += x[a] / nk;
                }
        break;
    }
    free(A);
    free(h);
    return rc;
}

int hcmc_combine(const hcmc_shard_draws *shards, size_t K,
                 const hcmc_combine_settings *s, hcmc_combine_result **out,
                 hcmc_error *err)
{
    hcmc__blas_one_thread();
    *out = NULL;
    if (K == 0)
        return hcmc_error_set(err, HCMC_EINVAL, "combine: no shards");
    const hcmc_shard_draws *ref = NULL;
    for (size_t k = 0; k < K; k++)
        if (shards[k].z && !shards[k].failure) {
            if (!ref)
                ref = &shards[k];
            else if (shards[k].chains != ref->chains || shards[k].draws != ref->draws ||
                     shards[k].dim != ref->dim)
                return hcmc_error_set(
                    err, HCMC_EINVAL,
                    "combine: shard %zu has %zu chains x %zu draws x %zu "
                    "parameters, shard %zu %zu x %zu x %zu",
                    k, shards[k].chains, shards[k].draws, shards[k].dim,
                    (size_t)(ref - shards), ref->chains, ref->draws, ref->dim);
        }
    hcmc_combine_result *r = calloc(1, sizeof *r);
    if (!r)
        return hcmc_error_set(err, HCMC_ENOMEM, "combine: out of memory");
    r->n_shards = K;
    r->n_kept = K;
    r->status = calloc(K, sizeof(int));
    r->reason = calloc(K, sizeof *r->reason);
    r->cv = calloc(s->nphys ? s->nphys : 1, sizeof(double));
    size_t d = ref ? ref->dim : 0, C = ref ? ref->chains : 0, S = ref ? ref->draws : 0;
    size_t G = C * S, np = s->nphys;
    moments *M = calloc(K, sizeof *M);
    double *store =
        ref ? calloc(K * (d + 2 * d * d + 2 * np + 2), sizeof(double)) : NULL;
    double *buf = malloc((K + d + 1) * sizeof(double));
    double *theta = malloc((d + 1) * sizeof(double));
    int rc = HCMC_OK;
    bool judged = false; /* statuses made: reported even when it fails */
    if (!r->status || !r->reason || !r->cv || !M || (ref && !store) || !buf || !theta) {
        rc = hcmc_error_set(err, HCMC_ENOMEM, "combine: out of memory for %zu shards",
                            K);
        goto done;
    }
    /* gates */
    for (size_t k = 0; k < K; k++) {
        const hcmc_shard_draws *sh = &shards[k];
        if (!sh->z || sh->failure) {
            exclude(r, k, HCMC_SHARD_FAILED, "failed: %s",
                    sh->failure ? sh->failure : "no draws");
            continue;
        }
        double *p = store + k * (d + 2 * d * d + 2 * np + 2);
        M[k] = (moments){.mean = p,
                         .cov = p + d,
                         .prec = p + d + d * d,
                         .tmean = p + d + 2 * d * d,
                         .tsd = p + d + 2 * d * d + np + 1};
        shard_moments(sh, s, &M[k], theta);
        double rate = (double)sh->divergences / (double)G;
        if (!M[k].finite)
            exclude(r, k, HCMC_SHARD_NONFINITE, "a draw is not finite");
        else if (rate > s->max_divergence_rate)
            exclude(r, k, HCMC_SHARD_DIVERGENT,
                    "divergence rate %.3f above max_divergence_rate %.3f", rate,
                    s->max_divergence_rate);
        else if (!M[k].invertible)
            exclude(r, k, HCMC_SHARD_DEGENERATE,
                    "degenerate: its covariance is not positive definite");
    }
    for (size_t j = 0; j < d; j++) {
        size_t n = 0;
        for (size_t k = 0; k < K; k++)
            if (r->status[k] == HCMC_SHARD_KEPT)
                buf[n++] = M[k].cov[j * d + j];
        if (n == 0)
            break;
        double med = hcmc_quantile_inplace(buf, n, 0.5);
        for (size_t k = 0; k < K; k++)
            if (r->status[k] == HCMC_SHARD_KEPT && M[k].cov[j * d + j] < 1e-6 * med)
                exclude(
                    r, k, HCMC_SHARD_DEGENERATE,
                    "degenerate: the variance of coordinate %zu is %.3g, below 1e-6 "
                    "of the shards' median %.3g (a stuck chain?)",
                    j, M[k].cov[j * d + j], med);
    }
    if (s->method == HCMC_COMBINE_ROBUST_CONSENSUS && np)
        drop_outliers(r, M, K, np, buf);
    if ((double)r->n_kept < s->min_success_rate * (double)K || r->n_kept == 0) {
        char list[400] = "";
        size_t used = 0;
        for (size_t k = 0; k < K && used + 80 < sizeof list; k++)
            if (r->status[k] != HCMC_SHARD_KEPT)
                used +=
                    (size_t)snprintf(list + used, sizeof list - used, "%sshard %zu: %s",
                                     used ? "; " : "", k, r->reason[k]);
        rc = hcmc_error_set(err, HCMC_ENODATA,
                            "only %zu of %zu shards can be combined (min_success_rate "
                            "%.2f): %s",
                            r->n_kept, K, s->min_success_rate, list);
        judged = true;
        goto done;
    }
    if ((rc = heterogeneity(r, M, K, s, err))) {
        judged = true;
        goto done;
    }
    rc = combine_rule(r, shards, M, K, C, S, d, s, err);
done:
    free(M);
    free(store);
    free(buf);
    free(theta);
    if (rc && judged) { /* the shards' status, no draws */
        free(r->z);
        r->z = NULL;
        r->chains = r->draws = 0;
        *out = r;
        return rc;
    }
    if (rc) {
        hcmc_combine_result_free(r);
        return rc;
    }
    assert(hcmc__combine_ok(r, K));
    *out = r;
    return HCMC_OK;
}

bool hcmc__combine_ok(const hcmc_combine_result *r, size_t K)
{
    if (!r || r->n_shards != K)
        return false;
    size_t kept = 0, G = r->chains * r->draws * r->dim;
    for (size_t k = 0; k < K; k++) {
        if (r->status[k] < 0 || r->status[k] > HCMC_SHARD_OUTLIER)
            return false;
        kept += r->status[k] == HCMC_SHARD_KEPT;
    }
    for (size_t g = 0; g < G; g++)
        if (!isfinite(r->z[g]))
            return false;
    return kept == r->n_kept;
}
