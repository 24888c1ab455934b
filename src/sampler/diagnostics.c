/* R-hat, ESS and MCSE as in R's `posterior` 1.4 (see diagnostics.h). The
 * autocovariances are summed directly and only as far as Geyer's sequence
 * reads them, which is exact and, for the usual short truncation, cheaper
 * than the FFT of the reference. */
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hcmc/diagnostics.h"

/* A draws matrix: cols chains of rows draws, column-major. */
typedef struct {
    double *v;
    size_t rows, cols;
} mat;

static double *gather(const double *x, size_t chains, size_t draws, size_t stride)
{
    double *v = malloc(chains * draws * sizeof(double));
    if (v)
        for (size_t i = 0; i < chains * draws; i++)
            v[i] = x[i * stride];
    return v;
}

/* posterior's .split_chains: halves of floor(n/2); an odd middle draw is
 * dropped. One draw per chain: left as it is. */
static int split(const double *v, size_t chains, size_t draws, mat *m)
{
    if (draws == 1) {
        m->rows = 1;
        m->cols = chains;
    } else {
        m->rows = draws / 2;
        m->cols = 2 * chains;
    }
    m->v = malloc(m->rows * m->cols * sizeof(double) + 1);
    if (!m->v)
        return -1;
    if (draws == 1) {
        memcpy(m->v, v, chains * sizeof(double));
        return 0;
    }
    size_t h = m->rows;
    for (size_t c = 0; c < chains; c++) {
        memcpy(m->v + (2 * c) * h, v + c * draws, h * sizeof(double));
        memcpy(m->v + (2 * c + 1) * h, v + c * draws + (draws - h), h * sizeof(double));
    }
    return 0;
}

static bool should_return_na(const double *v, size_t n)
{
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i]))
            return true;
        lo = v[i] < lo ? v[i] : lo;
        hi = v[i] > hi ? v[i] : hi;
    }
    return fabs(hi - lo) < DBL_EPSILON;
}

static double mean_of(const double *v, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += v[i];
    return s / (double)n;
}

/* Sample variance (n - 1), as R's var. */
static double var_of(const double *v, size_t n)
{
    double m = mean_of(v, n), s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (v[i] - m) * (v[i] - m);
    return s / (double)(n - 1);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* R's quantile(type = 7) of sorted values. */
static double quantile7(const double *sorted, size_t n, double p)
{
    double h = (double)(n - 1) * p;
    size_t lo = (size_t)floor(h);
    if (lo + 1 >= n)
        return sorted[n - 1];
    return sorted[lo] + (h - (double)lo) * (sorted[lo + 1] - sorted[lo]);
}

static double median_of(const double *v, size_t n)
{
    double *s = malloc(n * sizeof(double));
    if (!s)
        return NAN;
    memcpy(s, v, n * sizeof(double));
    qsort(s, n, sizeof(double), cmp_double);
    double m = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    free(s);
    return m;
}

typedef struct {
    double x;
    size_t i;
} ranked;

static int cmp_ranked(const void *a, const void *b)
{
    const ranked *p = a, *q = b;
    return (p->x > q->x) - (p->x < q->x);
}

/* posterior's z_scale: average ranks over all values, then qnorm of
 * (r - 3/8) / (S - 2*3/8 + 1). */
static int z_scale(mat *m)
{
    size_t S = m->rows * m->cols;
    ranked *r = malloc(S * sizeof *r);
    if (!r)
        return -1;
    for (size_t i = 0; i < S; i++)
        r[i] = (ranked){m->v[i], i};
    qsort(r, S, sizeof *r, cmp_ranked);
    for (size_t a = 0; a < S;) {
        size_t b = a;
        while (b + 1 < S && r[b + 1].x == r[a].x)
            b++;
        double rank = 0.5 * (double)(a + b) + 1.0; /* 1-based average */
        double z = hcmc_qnorm((rank - 0.375) / ((double)S - 0.75 + 1.0));
        for (size_t k = a; k <= b; k++)
            m->v[r[k].i] = z;
        a = b + 1;
    }
    free(r);
    return 0;
}

static double rhat_mat(const mat *m)
{
    size_t n = m->rows, C = m->cols;
    if (should_return_na(m->v, n * C) || n < 2)
        return NAN;
    double *cm = malloc(C * sizeof(double));
    if (!cm)
        return NAN;
    double wv = 0.0;
    for (size_t c = 0; c < C; c++) {
        cm[c] = mean_of(m->v + c * n, n);
        wv += var_of(m->v + c * n, n);
    }
    wv /= (double)C;
    double between = C > 1 ? (double)n * var_of(cm, C) : 0.0;
    free(cm);
    return sqrt((between / wv + (double)n - 1.0) / (double)n);
}

/* Mean over chains of the biased lag-k autocovariance sum_t yc_t yc_{t+k} / N
 * (zero for a constant chain, as in posterior's autocovariance). */
static double acov_mean(const mat *m, const double *cmean, const bool *flat, size_t k)
{
    size_t N = m->rows;
    double acc = 0.0;
    for (size_t c = 0; c < m->cols; c++) {
        if (flat[c] || k >= N)
            continue;
        const double *y = m->v + c * N;
        double s = 0.0, mu = cmean[c];
        for (size_t t = 0; t + k < N; t++)
            s += (y[t] - mu) * (y[t + k] - mu);
        acc += s / (double)N;
    }
    return acc / (double)m->cols;
}

static double ess_mat(const mat *m)
{
    size_t N = m->rows, C = m->cols;
    if (N < 3 || C == 0 || should_return_na(m->v, N * C))
        return NAN;
    double *cmean = malloc(C * sizeof(double));
    bool *flat = malloc(C * sizeof(bool));
    double *rho = calloc(N + 2, sizeof(double));
    if (!cmean || !flat || !rho) {
        free(cmean);
        free(flat);
        free(rho);
        return NAN;
    }
    for (size_t c = 0; c < C; c++) {
        cmean[c] = mean_of(m->v + c * N, N);
        flat[c] = var_of(m->v + c * N, N) == 0.0;
    }
    double mean_var = acov_mean(m, cmean, flat, 0) * (double)N / (double)(N - 1);
    double var_plus = mean_var * (double)(N - 1) / (double)N;
    if (C > 1)
        var_plus += var_of(cmean, C);

    /* rho[i] is R's rho_hat_t[i + 1] */
    size_t t = 0;
    double rho_even = 1.0;
    rho[0] = rho_even;
    double rho_odd = 1.0 - (mean_var - acov_mean(m, cmean, flat, 1)) / var_plus;
    rho[1] = rho_odd;
    while (t + 5 < N && !isnan(rho_even + rho_odd) && rho_even + rho_odd > 0) {
        t += 2;
        rho_even = 1.0 - (mean_var - acov_mean(m, cmean, flat, t)) / var_plus;
        rho_odd = 1.0 - (mean_var - acov_mean(m, cmean, flat, t + 1)) / var_plus;
        if (rho_even + rho_odd >= 0) {
            rho[t] = rho_even;
            rho[t + 1] = rho_odd;
        }
    }
    size_t max_t = t;
    if (rho_even > 0)
        rho[max_t] = rho_even;
    /* initial monotone sequence */
    t = 0;
    while (t + 4 <= max_t) {
        t += 2;
        if (rho[t] + rho[t + 1] > rho[t - 2] + rho[t - 1]) {
            rho[t] = 0.5 * (rho[t - 2] + rho[t - 1]);
            rho[t + 1] = rho[t];
        }
    }
    double S = (double)(N * C);
    double sum = 0.0;
    for (size_t i = 0; i < max_t; i++)
        sum += rho[i];
    double tau = -1.0 + 2.0 * sum + rho[max_t];
    double bound = 1.0 / log10(S);
    if (tau < bound)
        tau = bound;
    free(cmean);
    free(flat);
    free(rho);
    return S / tau;
}

double hcmc_rhat_basic(const double *x, size_t chains, size_t draws, size_t stride)
{
    double *v = gather(x, chains, draws, stride);
    mat m;
    if (!v || split(v, chains, draws, &m)) {
        free(v);
        return NAN;
    }
    double r = rhat_mat(&m);
    free(m.v);
    free(v);
    return r;
}

double hcmc_rhat(const double *x, size_t chains, size_t draws, size_t stride)
{
    size_t S = chains * draws;
    double *v = gather(x, chains, draws, stride);
    mat m = {0};
    double bulk = NAN, tail = NAN;
    if (!v || split(v, chains, draws, &m))
        goto out;
    if (!should_return_na(m.v, m.rows * m.cols) && z_scale(&m) == 0)
        bulk = rhat_mat(&m);
    free(m.v);
    m.v = NULL;
    double med = median_of(v, S);
    for (size_t i = 0; i < S; i++)
        v[i] = fabs(v[i] - med);
    if (split(v, chains, draws, &m))
        goto out;
    if (!should_return_na(m.v, m.rows * m.cols) && z_scale(&m) == 0)
        tail = rhat_mat(&m);
out:
    free(m.v);
    free(v);
    if (isnan(bulk) || isnan(tail))
        return NAN;
    return bulk > tail ? bulk : tail;
}

static double ess_of(const double *x, size_t chains, size_t draws, size_t stride,
                     bool ranks)
{
    double *v = gather(x, chains, draws, stride);
    mat m = {0};
    double e = NAN;
    if (v && split(v, chains, draws, &m) == 0) {
        if (!ranks || (!should_return_na(m.v, m.rows * m.cols) && z_scale(&m) == 0))
            e = ess_mat(&m);
    }
    free(m.v);
    free(v);
    return e;
}

double hcmc_ess_bulk(const double *x, size_t chains, size_t draws, size_t stride)
{
    return ess_of(x, chains, draws, stride, true);
}

double hcmc_ess_mean(const double *x, size_t chains, size_t draws, size_t stride)
{
    return ess_of(x, chains, draws, stride, false);
}

static double ess_quantile(const double *v, const double *sorted, size_t chains,
                           size_t draws, double prob)
{
    size_t S = chains * draws;
    double qv = quantile7(sorted, S, prob);
    double *ind = malloc(S * sizeof(double));
    if (!ind)
        return NAN;
    for (size_t i = 0; i < S; i++)
        ind[i] = v[i] <= qv ? 1.0 : 0.0;
    double e = ess_of(ind, chains, draws, 1, false);
    free(ind);
    return e;
}

double hcmc_ess_tail(const double *x, size_t chains, size_t draws, size_t stride)
{
    size_t S = chains * draws;
    double *v = gather(x, chains, draws, stride);
    double *s = malloc(S * sizeof(double));
    double e = NAN;
    if (v && s && !should_return_na(v, S)) {
        memcpy(s, v, S * sizeof(double));
        qsort(s, S, sizeof(double), cmp_double);
        double a = ess_quantile(v, s, chains, draws, 0.05);
        double b = ess_quantile(v, s, chains, draws, 0.95);
        e = isnan(a) || isnan(b) ? NAN : (a < b ? a : b);
    }
    free(s);
    free(v);
    return e;
}

double hcmc_mcse_mean(const double *x, size_t chains, size_t draws, size_t stride)
{
    double *v = gather(x, chains, draws, stride);
    if (!v)
        return NAN;
    double sd = sqrt(var_of(v, chains * draws));
    free(v);
    return sd / sqrt(hcmc_ess_mean(x, chains, draws, stride));
}

double hcmc_mcse_sd(const double *x, size_t chains, size_t draws, size_t stride)
{
    size_t S = chains * draws;
    double *v = gather(x, chains, draws, stride);
    if (!v)
        return NAN;
    double m = mean_of(v, S), e2 = 0, e4 = 0;
    for (size_t i = 0; i < S; i++) {
        double c2 = (v[i] - m) * (v[i] - m);
        v[i] = c2;
        e2 += c2;
        e4 += c2 * c2;
    }
    e2 /= (double)S;
    e4 /= (double)S;
    double ess = hcmc_ess_mean(v, chains, draws, 1);
    free(v);
    return sqrt((e4 - e2 * e2) / ess / e2 / 4);
}

double hcmc_ebfmi(const double *energy, size_t n)
{
    if (n < 2)
        return NAN;
    double num = 0.0;
    for (size_t i = 1; i < n; i++)
        num += (energy[i] - energy[i - 1]) * (energy[i] - energy[i - 1]);
    num /= (double)(n - 1);
    double m = mean_of(energy, n), den = 0.0;
    for (size_t i = 0; i < n; i++)
        den += (energy[i] - m) * (energy[i] - m);
    den /= (double)n;
    return num / den;
}

int hcmc_param_summarise(const double *x, size_t chains, size_t draws, size_t stride,
                         hcmc_param_summary *out)
{
    size_t S = chains * draws;
    double *s = gather(x, chains, draws, stride);
    if (!s)
        return -2; /* HCMC_ENOMEM */
    out->mean = mean_of(s, S);
    out->sd = S > 1 ? sqrt(var_of(s, S)) : NAN;
    qsort(s, S, sizeof(double), cmp_double);
    out->q05 = quantile7(s, S, 0.05);
    out->median = quantile7(s, S, 0.5);
    out->q95 = quantile7(s, S, 0.95);
    free(s);
    out->mcse_mean = hcmc_mcse_mean(x, chains, draws, stride);
    out->mcse_sd = hcmc_mcse_sd(x, chains, draws, stride);
    out->ess_bulk = hcmc_ess_bulk(x, chains, draws, stride);
    out->ess_tail = hcmc_ess_tail(x, chains, draws, stride);
    out->rhat = hcmc_rhat(x, chains, draws, stride);
    return 0;
}

/* Wichura (1988), Algorithm AS 241, PPND16: rational approximations in
 * three ranges, coefficients in ascending powers. */
static const double as241_a[8] = {3.387132872796366608,  133.14166789178437745,
                                  1971.5909503065514427, 13731.693765509461125,
                                  45921.953931549871457, 67265.770927008700853,
                                  33430.575583588128105, 2509.0809287301226727};
static const double as241_b[8] = {1.0,
                                  42.313330701600911252,
                                  687.1870074920579083,
                                  5394.1960214247511077,
                                  21213.794301586595867,
                                  39307.89580009271061,
                                  28729.085735721942674,
                                  5226.495278852545925};
static const double as241_c[8] = {1.42343711074968357734,   4.6303378461565452959,
                                  5.7694972214606914055,    3.64784832476320460504,
                                  1.27045825245236838258,   0.24178072517745061177,
                                  0.0227238449892691845833, 7.7454501427834140764e-4};
static const double as241_d[8] = {1.0,
                                  2.05319162663775882187,
                                  1.6763848301838038494,
                                  0.68976733498510000455,
                                  0.14810397642748007459,
                                  0.0151986665636164571966,
                                  5.475938084995344946e-4,
                                  1.05075007164441684324e-9};
static const double as241_e[8] = {6.6579046435011037772,     5.4637849111641143699,
                                  1.7848265399172913358,     0.29656057182850489123,
                                  0.026532189526576123093,   0.0012426609473880784386,
                                  2.71155556874348757815e-5, 2.01033439929228813265e-7};
static const double as241_f[8] = {1.0,
                                  0.59983220655588793769,
                                  0.13692988092273580531,
                                  0.0148753612908506148525,
                                  7.868691311456132591e-4,
                                  1.8463183175100546818e-5,
                                  1.4215117583164458887e-7,
                                  2.04426310338993978564e-15};

static double horner8(const double *c, double x)
{
    double v = c[7];
    for (int k = 6; k >= 0; k--)
        v = v * x + c[k];
    return v;
}

double hcmc_qnorm(double p)
{
    if (!(p > 0 && p < 1))
        return p == 0 ? -INFINITY : p == 1 ? INFINITY : NAN;
    double q = p - 0.5;
    if (fabs(q) <= 0.425) {
        double r = 0.180625 - q * q;
        return q * horner8(as241_a, r) / horner8(as241_b, r);
    }
    double r = sqrt(-log(q < 0 ? p : 1.0 - p)), val;
    if (r <= 5.0)
        val = horner8(as241_c, r - 1.6) / horner8(as241_d, r - 1.6);
    else
        val = horner8(as241_e, r - 5.0) / horner8(as241_f, r - 5.0);
    return q < 0 ? -val : val;
}

double hcmc_chi2_quantile_ratio(double nu, double z)
{
    double a = 2.0 / (9.0 * nu), q = 1.0 - a + z * sqrt(a);
    return q * q * q;
}
