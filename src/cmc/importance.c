/* Importance correction of combined draws (see importance.h). */
#include "hcmc/importance.h"

#include <math.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <lapacke.h>

#include "hcmc/cores.h"
#include "hcmc/log.h"
#include "hcmc/rng.h"
#include "../base/blas.h"

/* Adapted rounds after the first (see importance.h), and the importance ESS
 * (a share of the proposals) that the tempered weights a round adapts to
 * keep. */
#define ROUNDS_MAX 4
#define TEMPER_ESS_SHARE 0.1
/* Every proposal's covariance is its estimate times this. */
#define INFLATE (1.2 * 1.2)
/* Adapted rounds propose from a defensive mixture (Hesterberg 1995): this
 * share from a Student-t with T_DOF degrees of freedom and the estimated
 * covariance as its scale, which reaches tails a Gaussian fitted to the
 * weighted proposals never samples (and whose weights it then cannot
 * show), the rest from the Gaussian. */
#define T_SHARE 0.5
#define T_DOF 7
/* At most this many batches of G proposals in the final pool. */
#define BATCHES_MAX 8

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

/* lp[g] for every proposal, on threads (each value is independent of which
 * thread computes it). */
static int evaluate_all(const hcmc_target *full, const double *prop, size_t G, size_t d,
                        double *lp, hcmc_error *err)
{
    size_t T = hcmc_usable_cores();
    if (T > 64)
        T = 64;
    job jobs[64];
    pthread_t th[64];
    size_t started = 0;
    for (size_t k = 0; k < T; k++) {
        jobs[k] = (job){full, prop, lp, G, d, k, T, 0};
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
        if (jobs[k].failed == 1)
            return hcmc_error_set(err, HCMC_ENOMEM, "importance: out of memory");
    return HCMC_OK;
}

int hcmc_log_posterior_many(const hcmc_target *full, const double *z, size_t n,
                            double *lp, hcmc_error *err)
{
    return evaluate_all(full, z, n, hcmc_target_dim(full), lp, err);
}

/* log(exp(a) + exp(b)) */
static double log_add(double a, double b)
{
    double m = fmax(a, b);
    return m == -INFINITY ? -INFINITY : m + log1p(exp(-fabs(a - b)));
}

/* log of the mean of exp(x[n]) */
static double log_mean_exp(const double *x, size_t n)
{
    double m = -INFINITY, s = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, x[i]);
    if (!isfinite(m))
        return m;
    for (size_t i = 0; i < n; i++)
        s += exp(x[i] - m);
    return m + log(s / (double)n);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double hcmc_bridge_log_mass(const double *lp1, const double *lq1, size_t n1,
                            double n1_eff, const double *lp2, const double *lq2,
                            size_t n2)
{
    if (!n1 || !n2)
        return NAN;
    double *l1 = malloc((2 * n1 + 2 * n2) * sizeof(double));
    if (!l1)
        return NAN;
    double *l2 = l1 + n1, *t1 = l2 + n2, *t2 = t1 + n1;
    /* the log ratios p / q, less the median at the draws of p: the
     * estimate's scale, which keeps the sums in range */
    for (size_t i = 0; i < n1; i++)
        t1[i] = l1[i] = lp1[i] - lq1[i];
    qsort(t1, n1, sizeof(double), cmp_double);
    double shift = t1[n1 / 2];
    if (!isfinite(shift)) {
        free(l1);
        return NAN;
    }
    for (size_t i = 0; i < n1; i++)
        l1[i] -= shift;
    for (size_t i = 0; i < n2; i++)
        l2[i] = lp2[i] - lq2[i] - shift; /* -inf where p is 0 */
    double ne = fmin(fmax(n1_eff, 1), (double)n1);
    double ls1 = log(ne / (ne + (double)n2)), ls2 = log((double)n2 / (ne + (double)n2));
    double lr = 0, out = NAN;
    for (int it = 0; it < 1000; it++) {
        for (size_t i = 0; i < n2; i++)
            t2[i] = isfinite(l2[i]) ? -log_add(ls1, ls2 + lr - l2[i]) : -INFINITY;
        for (size_t i = 0; i < n1; i++)
            t1[i] = -log_add(ls1 + l1[i], ls2 + lr);
        double next = log_mean_exp(t2, n2) - log_mean_exp(t1, n1);
        if (!isfinite(next))
            break;
        bool done = fabs(next - lr) < 1e-10;
        lr = next;
        if (done) {
            out = lr + shift;
            break;
        }
    }
    free(l1);
    return out;
}

/* One round: G proposals from a Gaussian with mean mu and Cholesky factor L
 * (lower, row-major) of its covariance, or (mix > 0) from the defensive
 * mixture (1 - mix) N(mu, L L^T) + mix t_T_DOF(mu, L L^T / INFLATE), and
 * their log weights log p - log q (constants common to the round dropped;
 * -inf where p is 0). */
static int round_propose(const hcmc_target *full, size_t G, size_t d, const double *mu,
                         const double *L, double mix, hcmc_rng *rng, double *prop,
                         double *lw, double *lq, double *u, hcmc_error *err)
{
    double logdetL = 0;
    for (size_t a = 0; a < d; a++)
        logdetL += log(L[a * d + a]);
    /* the t's scale factor is L / sqrt(INFLATE): q below is in L's units */
    const double nu = T_DOF, si = INFLATE;
    double logc_t = lgamma(0.5 * (nu + (double)d)) - lgamma(0.5 * nu) -
                    0.5 * (double)d * log(nu * M_PI) + 0.5 * (double)d * log(si);
    double logc_n = -0.5 * (double)d * log(2 * M_PI);
    for (size_t g = 0; g < G; g++) {
        double *p = prop + g * d, q = 0;
        for (size_t a = 0; a < d; a++) {
            u[a] = hcmc_rng_normal(rng);
            q += u[a] * u[a];
        }
        double r = 1;
        if (mix > 0 && hcmc_rng_uniform(rng) < mix) {
            double c = 0; /* u sqrt(nu / chi2_nu) / sqrt(INFLATE): the t */
            for (int k = 0; k < T_DOF; k++) {
                double x = hcmc_rng_normal(rng);
                c += x * x;
            }
            r = sqrt(nu / c / si);
        }
        for (size_t a = 0; a < d; a++) {
            p[a] = mu[a];
            for (size_t b = 0; b <= a; b++)
                p[a] += L[a * d + b] * u[b] * r;
        }
        q *= r * r; /* |L^-1 (p - mu)|^2 */
        double ln = logc_n - 0.5 * q;
        if (mix > 0) {
            double lt = logc_t - 0.5 * (nu + (double)d) * log1p(q * si / nu);
            double hi = fmax(ln, lt);
            ln = hi + log((1 - mix) * exp(ln - hi) + mix * exp(lt - hi));
        }
        lq[g] = ln - logdetL;
    }
    int rc = evaluate_all(full, prop, G, d, lw, err);
    if (rc)
        return rc;
    for (size_t g = 0; g < G; g++)
        lw[g] = isfinite(lw[g]) ? lw[g] - lq[g] : -INFINITY;
    return HCMC_OK;
}

/* Zhang & Stephens (2009): the generalized Pareto fit to exceedances x[n]
 * (ascending, positive) by the posterior mean of theta = -k / sigma on
 * their grid with the profile likelihood, then k; shrunk towards 0.5 by the
 * weakly informative prior of Vehtari et al. (2024, eq. 9). */
static void gpd_fit(const double *x, size_t n, double *k_out, double *sigma_out)
{
    size_t m = 30 + (size_t)floor(sqrt((double)n));
    double xstar = x[(size_t)floor((double)n / 4 + 0.5) - 1], xmax = x[n - 1];
    double theta[256], lt[256], lmax = -INFINITY;
    if (m > 256)
        m = 256;
    for (size_t j = 0; j < m; j++) {
        theta[j] = 1 / xmax + (1 - sqrt((double)m / ((double)j + 0.5))) / 3 / xstar;
        double kk = 0;
        for (size_t i = 0; i < n; i++)
            kk += log1p(-theta[j] * x[i]);
        kk /= (double)n;
        /* profile log likelihood: n (log(-theta / k) - k - 1), k = mean log1p(-theta x) */
        lt[j] = (double)n * (log(-theta[j] / kk) - kk - 1);
        if (!isfinite(lt[j]))
            lt[j] = -INFINITY;
        if (lt[j] > lmax)
            lmax = lt[j];
    }
    double sw = 0, th = 0;
    for (size_t j = 0; j < m; j++) {
        double v = exp(lt[j] - lmax);
        sw += v;
        th += v * theta[j];
    }
    th /= sw;
    double k = 0;
    for (size_t i = 0; i < n; i++)
        k += log1p(-th * x[i]);
    k /= (double)n;
    *sigma_out = -k / th;
    *k_out = (k * (double)n + 10 * 0.5) / ((double)n + 10);
}

typedef struct {
    double w;
    size_t i;
} ranked;

static int cmp_ranked(const void *a, const void *b)
{
    double x = ((const ranked *)a)->w, y = ((const ranked *)b)->w;
    return (x > y) - (x < y);
}

double hcmc_psis_smooth(double *w, size_t n)
{
    size_t npos = 0;
    for (size_t g = 0; g < n; g++)
        npos += w[g] > 0;
    size_t M = (size_t)ceil(fmin(0.2 * (double)npos, 3 * sqrt((double)npos)));
    if (M < 5 || M + 1 > npos)
        return INFINITY;
    ranked *r = malloc(npos * sizeof *r);
    double *x = malloc(M * sizeof(double));
    if (!r || !x) {
        free(r);
        free(x);
        return NAN;
    }
    for (size_t g = 0, j = 0; g < n; g++)
        if (w[g] > 0)
            r[j++] = (ranked){w[g], g};
    qsort(r, npos, sizeof *r, cmp_ranked);
    /* the M largest, over the cutoff: the next largest */
    const ranked *tail = r + npos - M;
    double cut = tail[-1].w, wmax = tail[M - 1].w;
    for (size_t j = 0; j < M; j++)
        x[j] = tail[j].w - cut;
    double k, sigma;
    if (!(x[M - 1] > 0)) {
        k = -INFINITY; /* a flat tail: nothing to smooth */
    } else {
        for (size_t j = 0; j < M && !(x[j] > 0); j++)
            x[j] = 1e-300 * x[M - 1]; /* ties with the cutoff */
        gpd_fit(x, M, &k, &sigma);
        /* the tail's weights by their expected order statistics, no larger
         * than the largest raw weight */
        if (isfinite(k) && isfinite(sigma) && sigma > 0)
            for (size_t j = 0; j < M; j++) {
                double p = ((double)j + 0.5) / (double)M;
                double q = fabs(k) < 1e-12 ? -sigma * log1p(-p)
                                            : sigma * expm1(-k * log1p(-p)) / k;
                w[tail[j].i] = fmin(cut + q, wmax);
            }
    }
    free(r);
    free(x);
    return k;
}

/* Weights w = exp(lw - max) into w, Pareto smoothed (hcmc_psis_smooth),
 * their ESS and tail index k. Returns the number of proposals with a
 * finite density. */
static size_t weigh(const double *lw, size_t G, double *w, double *ess, double *khat)
{
    double mx = -INFINITY;
    size_t support = 0;
    for (size_t g = 0; g < G; g++) {
        if (lw[g] > mx)
            mx = lw[g];
        support += isfinite(lw[g]);
    }
    *ess = 0;
    *khat = INFINITY;
    if (!isfinite(mx))
        return 0;
    for (size_t g = 0; g < G; g++)
        w[g] = isfinite(lw[g]) ? exp(lw[g] - mx) : 0.0;
    *khat = hcmc_psis_smooth(w, G);
    double s1 = 0, s2 = 0;
    for (size_t g = 0; g < G; g++) {
        s1 += w[g];
        s2 += w[g] * w[g];
    }
    *ess = s1 * s1 / s2;
    return support;
}

static double ess_of(const double *w, size_t G, double lambda)
{
    double s1 = 0, s2 = 0;
    for (size_t g = 0; g < G; g++)
        if (w[g] > 0) {
            double v = pow(w[g], lambda);
            s1 += v;
            s2 += v * v;
        }
    return s2 > 0 ? s1 * s1 / s2 : 0;
}

/* The next round's mean and covariance from this round's proposals: their
 * moments under the weights w^lambda, lambda in (0, 1] the largest that
 * keeps an ESS of TEMPER_ESS_SHARE * G (so an estimate rests on hundreds of
 * proposals, never on a few heavy ones: w^lambda weighs by q^(1-lambda)
 * p^lambda, a step from the proposal towards the posterior), the covariance
 * times INFLATE and shrunk towards the round's own S with weight (d + 2) /
 * (ESS + d + 2). L gets the Cholesky factor; returns non-zero if it has
 * none. */
static int adapt(const double *prop, const double *w, size_t G, size_t d, const double *S,
                 double *mu, double *L, double *wl)
{
    double target = TEMPER_ESS_SHARE * (double)G, lo = 0, hi = 1, lambda = 1;
    if (ess_of(w, G, 1) < target) {
        for (int it = 0; it < 50; it++) {
            double mid = 0.5 * (lo + hi);
            if (ess_of(w, G, mid) >= target)
                lo = mid;
            else
                hi = mid;
        }
        lambda = lo > 0 ? lo : 1e-12;
    }
    double s = 0;
    for (size_t g = 0; g < G; g++) {
        wl[g] = w[g] > 0 ? pow(w[g], lambda) : 0;
        s += wl[g];
    }
    double ess = ess_of(w, G, lambda), a0 = ess / (ess + (double)d + 2);
    memset(mu, 0, d * sizeof(double));
    for (size_t g = 0; g < G; g++)
        for (size_t a = 0; a < d; a++)
            mu[a] += wl[g] / s * prop[g * d + a];
    for (size_t a = 0; a < d; a++)
        for (size_t b = 0; b <= a; b++) {
            double c = 0;
            for (size_t g = 0; g < G; g++)
                c += wl[g] / s * (prop[g * d + a] - mu[a]) * (prop[g * d + b] - mu[b]);
            L[a * d + b] = a0 * INFLATE * c + (1 - a0) * S[a * d + b];
        }
    for (size_t a = 0; a < d; a++)
        for (size_t b = a + 1; b < d; b++)
            L[a * d + b] = 0;
    return LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)d, L, (lapack_int)d) != 0;
}

int hcmc_importance_correct(const hcmc_target *full, double *z, size_t G, uint64_t seed,
                            double max_khat, hcmc_importance_info *info, hcmc_error *err)
{
    hcmc__blas_one_thread();
    memset(info, 0, sizeof *info);
    size_t d = hcmc_target_dim(full);
    if (G < 10)
        return hcmc_error_set(err, HCMC_EINVAL, "importance: %zu draws are too few", G);
    if (d > G)
        return hcmc_error_set(err, HCMC_EINVAL, "importance: fewer draws than parameters");
    /* the pool: the batch of the best round, then more from its proposal */
    const size_t Mmax = BATCHES_MAX * G;
    double *pool = malloc(Mmax * d * sizeof(double)), *lw = malloc(Mmax * sizeof(double));
    double *w = malloc(Mmax * sizeof(double)), *buf = malloc(d * sizeof(double));
    double *mu = calloc(d, sizeof(double)), *L = calloc(d * d, sizeof(double));
    double *S = calloc(d * d, sizeof(double)), *lq = malloc(G * sizeof(double));
    double *best = malloc(G * d * sizeof(double)), *best_lw = malloc(G * sizeof(double));
    double *best_mu = malloc(d * sizeof(double)), *best_L = malloc(d * d * sizeof(double));
    int rc_ = HCMC_OK;
    if (!pool || !lw || !w || !buf || !mu || !L || !S || !lq || !best || !best_lw ||
        !best_mu || !best_L) {
        rc_ = hcmc_error_set(err, HCMC_ENOMEM, "importance: out of memory");
        goto done;
    }
    /* round 1: the combined draws' Gaussian, its covariance inflated by 1.2^2 */
    for (size_t g = 0; g < G; g++)
        for (size_t a = 0; a < d; a++)
            mu[a] += z[g * d + a] / (double)G;
    for (size_t g = 0; g < G; g++)
        for (size_t a = 0; a < d; a++)
            for (size_t b = 0; b <= a; b++)
                L[a * d + b] += (z[g * d + a] - mu[a]) * (z[g * d + b] - mu[b]);
    for (size_t a = 0; a < d; a++)
        for (size_t b = 0; b <= a; b++)
            L[a * d + b] *= INFLATE / (double)(G - 1);
    if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)d, L, (lapack_int)d)) {
        rc_ = hcmc_error_set(err, HCMC_ENUMERIC,
                             "importance: the combined draws' covariance is not "
                             "positive definite");
        goto done;
    }
    hcmc_rng rng, best_rng;
    double ess = 0, khat = INFINITY, ess_prev = 0;
    double best_ess = 0, best_khat = INFINITY;
    size_t support = 0, best_support = 0, M = 0;
    uint32_t round = 0;
    size_t made = 0; /* batches of G proposals */
    double best_mix = 0;
    /* rounds of adaptation: the first from the combined draws, the next
     * from the last batch while its tail index is above GOOD_KHAT, or its
     * ESS below half of G and still growing by a tenth a round */
    for (;; round++) {
        if (round > 0) {
            bool more = round <= ROUNDS_MAX && (khat > HCMC_IMPORTANCE_GOOD_KHAT ||
                                                (ess < 0.5 * (double)G && ess > 1.1 * ess_prev));
            if (!more)
                break;
            /* S = L L^T of the batch just made, then the next proposal */
            for (size_t a = 0; a < d; a++)
                for (size_t b = 0; b <= a; b++) {
                    double c = 0;
                    for (size_t k = 0; k <= b; k++)
                        c += L[a * d + k] * L[b * d + k];
                    S[a * d + b] = S[b * d + a] = c;
                }
            if (adapt(pool, w, G, d, S, mu, L, lq)) {
                hcmc_log(HCMC_LOG_DEBUG, "importance: round %u: no proposal scale",
                         round + 1);
                break;
            }
        }
        ess_prev = ess;
        hcmc_rng_init(&rng, seed, HCMC_RNG_IMPORTANCE, round, 0);
        rc_ = round_propose(full, G, d, mu, L, round ? T_SHARE : 0, &rng, pool, lw, lq, buf,
                            err);
        if (rc_)
            goto done;
        made++;
        support = weigh(lw, G, w, &ess, &khat);
        hcmc_log(HCMC_LOG_DEBUG, "importance: round %u (%s): tail index %.2f, ESS %.0f of %zu",
                 round + 1, round ? "adapted" : "Gaussian", khat, ess, G);
        if (!support)
            break;
        /* the best so far: good tails first, then the larger ESS; without
         * good tails, the smaller tail index */
        bool good = khat <= HCMC_IMPORTANCE_GOOD_KHAT,
             best_good = best_khat <= HCMC_IMPORTANCE_GOOD_KHAT;
        if (!best_support || (good && (!best_good || ess > best_ess)) ||
            (!good && !best_good && khat < best_khat)) {
            best_ess = ess;
            best_khat = khat;
            best_mix = round ? T_SHARE : 0;
            best_support = support;
            best_rng = rng;
            memcpy(best, pool, G * d * sizeof(double));
            memcpy(best_lw, lw, G * sizeof(double));
            memcpy(best_mu, mu, d * sizeof(double));
            memcpy(best_L, L, d * d * sizeof(double));
        }
    }
    if (!best_support) {
        rc_ = hcmc_error_set(err, HCMC_ENUMERIC,
                             "importance: the posterior is not finite at any proposal");
        goto done;
    }
    /* the pool: the best round's batch, then batches from its proposal until
     * the ESS reaches half of G, the budget is spent, or the tail is one more
     * proposals cannot mend */
    memcpy(pool, best, G * d * sizeof(double));
    memcpy(lw, best_lw, G * sizeof(double));
    rng = best_rng;
    M = G;
    support = weigh(lw, M, w, &ess, &khat);
    while (ess < 0.5 * (double)G && M + G <= Mmax && khat <= max_khat) {
        hcmc_rng_init(&rng, seed, HCMC_RNG_IMPORTANCE, (uint32_t)made, 0);
        rc_ = round_propose(full, G, d, best_mu, best_L, best_mix, &rng, pool + M * d, lw + M,
                            lq, buf, err);
        if (rc_)
            goto done;
        M += G;
        made++;
        support = weigh(lw, M, w, &ess, &khat);
        hcmc_log(HCMC_LOG_DEBUG, "importance: round %u (pooled): tail index %.2f, ESS %.0f of %zu",
                 (unsigned)made, khat, ess, M);
    }
    info->rounds = made;
    info->n = M;
    info->khat = khat;
    info->ess = ess;
    info->n_support = support;
    info->applied = info->khat <= max_khat;
    if (!info->applied)
        goto done;
    /* systematic resample of G draws, in proposal order */
    double s1 = 0;
    for (size_t g = 0; g < M; g++)
        s1 += w[g];
    double u0 = hcmc_rng_uniform(&rng) / (double)G, cum = 0;
    size_t g = 0;
    for (size_t i = 0; i < G; i++) {
        double target = (u0 + (double)i / (double)G) * s1;
        while (g + 1 < M && cum + w[g] < target)
            cum += w[g++];
        size_t pick = g;
        while (w[pick] == 0 && pick > 0) /* the last proposal may weigh 0 */
            pick--;
        memcpy(z + i * d, pool + pick * d, d * sizeof(double));
    }
done:
    free(pool);
    free(lw);
    free(w);
    free(buf);
    free(mu);
    free(L);
    free(S);
    free(lq);
    free(best);
    free(best_lw);
    free(best_mu);
    free(best_L);
    return rc_;
}
