/* Priors of the parameters (Uniform, Normal, TruncatedNormal, LogNormal
 * and homodyne's names for them), their log densities with gradients, and
 * the maps of a bounded value to the real line (scaled logit, probit)
 * with their Jacobians; the normal distribution function and its quantile
 * to full double precision, which the probit needs in the far tails. */
#include "hcmc/prior.h"

#include <math.h>
#include <string.h>

static const char *const prior_names[] = {"TruncatedNormal", "Uniform", "Normal",
                                          "LogNormal", "BetaScaled"};

const char *hcmc_prior_type_name(hcmc_prior_type t)
{
    return (unsigned)t < 5 ? prior_names[t] : "?";
}

int hcmc_prior_type_parse(const char *s, hcmc_prior_type *out, hcmc_error *err)
{
    for (int k = 0; k < 5; k++)
        if (!strcmp(s, prior_names[k])) {
            *out = (hcmc_prior_type)k;
            return HCMC_OK;
        }
    return hcmc_error_set(err, HCMC_EINVAL,
                          "prior type '%s' is not one of TruncatedNormal, "
                          "Uniform, Normal, LogNormal, BetaScaled",
                          s);
}

/* log(Phi(b) - Phi(a)) for a < b, accurate in both tails. */
static double log_normal_mass(double a, double b)
{
    double m;
    if (a > 0) /* upper tail: use erfc of positive arguments */
        m = 0.5 * (erfc(a / M_SQRT2) - erfc(b / M_SQRT2));
    else if (b < 0)
        m = 0.5 * (erfc(-b / M_SQRT2) - erfc(-a / M_SQRT2));
    else
        m = 1.0 - 0.5 * (erfc(-a / M_SQRT2) + erfc(b / M_SQRT2));
    return log(m);
}

static const double LOG_SQRT_2PI = 0.91893853320467274178;

int hcmc_prior_init(hcmc_prior *p, hcmc_prior_type type, double lo, double hi,
                    double mu, double sigma, const char *name, hcmc_error *err)
{
    memset(p, 0, sizeof *p);
    if (!isfinite(lo) || !isfinite(hi) || !(lo < hi))
        return hcmc_error_set(err, HCMC_EINVAL,
                              "%s: bounds [%g, %g] are impossible: min must be "
                              "finite and below max",
                              name, lo, hi);
    if ((unsigned)type > HCMC_PRIOR_BETA_SCALED)
        return hcmc_error_set(err, HCMC_EINVAL, "%s: unknown prior type %d", name,
                              (int)type);
    if (type == HCMC_PRIOR_LOGNORMAL && lo < 0)
        return hcmc_error_set(err, HCMC_EINVAL,
                              "%s: LogNormal prior needs min >= 0, got min = %g", name,
                              lo);
    double mid = 0.5 * (lo + hi);
    if (isnan(mu))
        mu = type == HCMC_PRIOR_LOGNORMAL ? log(mid) : mid;
    if (isnan(sigma))
        sigma = type == HCMC_PRIOR_LOGNORMAL ? 1.0 : 0.25 * (hi - lo);
    if (!isfinite(mu))
        return hcmc_error_set(err, HCMC_EINVAL, "%s: prior_mu = %g is not finite", name,
                              mu);
    if (!(sigma > 0) || !isfinite(sigma))
        return hcmc_error_set(err, HCMC_EINVAL,
                              "%s: prior_sigma = %g must be finite and > 0", name,
                              sigma);
    p->type = type;
    p->lo = lo;
    p->hi = hi;
    p->mu = mu;
    p->sigma = sigma;
    switch (type) {
    case HCMC_PRIOR_UNIFORM:
        p->log_norm = -log(hi - lo);
        break;
    case HCMC_PRIOR_TRUNCATED_NORMAL:
    case HCMC_PRIOR_NORMAL:
        p->log_norm = -log(sigma) - LOG_SQRT_2PI -
                      log_normal_mass((lo - mu) / sigma, (hi - mu) / sigma);
        break;
    case HCMC_PRIOR_LOGNORMAL: {
        double a = lo > 0 ? (log(lo) - mu) / sigma : -INFINITY;
        double b = (log(hi) - mu) / sigma;
        p->log_norm = -log(sigma) - LOG_SQRT_2PI - log_normal_mass(a, b);
        break;
    }
    case HCMC_PRIOR_BETA_SCALED: {
        double w = hi - lo, m = (mu - lo) / w, v = (sigma / w) * (sigma / w);
        if (!(m > 0 && m < 1))
            return hcmc_error_set(err, HCMC_EINVAL,
                                  "%s: BetaScaled prior_mu = %g must lie strictly "
                                  "inside the bounds [%g, %g]",
                                  name, mu, lo, hi);
        double kappa = m * (1 - m) / v - 1;
        if (!(kappa > 0))
            return hcmc_error_set(err, HCMC_EINVAL,
                                  "%s: BetaScaled prior_sigma = %g is too large "
                                  "for prior_mu = %g on [%g, %g] (need sigma < %g)",
                                  name, sigma, mu, lo, hi, w * sqrt(m * (1 - m)));
        p->a = m * kappa;
        p->b = (1 - m) * kappa;
        p->log_norm = lgamma(p->a + p->b) - lgamma(p->a) - lgamma(p->b) - log(w);
        break;
    }
    }
    return HCMC_OK;
}

double hcmc_prior_logpdf(const hcmc_prior *p, double x, double *dx)
{
    if (dx)
        *dx = 0.0;
    if (!(x >= p->lo && x <= p->hi))
        return -INFINITY;
    switch (p->type) {
    case HCMC_PRIOR_UNIFORM:
        return p->log_norm;
    case HCMC_PRIOR_TRUNCATED_NORMAL:
    case HCMC_PRIOR_NORMAL: {
        double u = (x - p->mu) / p->sigma;
        if (dx)
            *dx = -u / p->sigma;
        return p->log_norm - 0.5 * u * u;
    }
    case HCMC_PRIOR_LOGNORMAL: {
        if (!(x > 0))
            return -INFINITY;
        double lx = log(x), u = (lx - p->mu) / p->sigma;
        if (dx)
            *dx = -(1.0 + u / p->sigma) / x;
        return p->log_norm - lx - 0.5 * u * u;
    }
    case HCMC_PRIOR_BETA_SCALED: {
        double w = p->hi - p->lo, s = (x - p->lo) / w;
        if (dx)
            *dx = ((p->a - 1) / s - (p->b - 1) / (1 - s)) / w;
        return p->log_norm + (p->a - 1) * log(s) + (p->b - 1) * log1p(-s);
    }
    }
    return -INFINITY;
}

/* log(1 + exp(x)) without overflow. */
static double softplus(double x)
{
    return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

double hcmc_bounded_from_real(double lo, double hi, double z, double *dxdz,
                              double *logjac, double *dlogjac)
{
    double w = hi - lo;
    /* logistic(z) and 1 - logistic(z), each without cancellation */
    double e = exp(-fabs(z));
    double s = z >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
    double c = z >= 0 ? e / (1.0 + e) : 1.0 / (1.0 + e);
    if (dxdz)
        *dxdz = w * s * c;
    if (logjac)
        *logjac = log(w) - softplus(-z) - softplus(z);
    if (dlogjac)
        *dlogjac = c - s;
    /* near the upper bound, lo + w*s loses the digits that hi - w*c keeps */
    return z >= 0 ? hi - w * c : lo + w * s;
}

double hcmc_bounded_to_real(double lo, double hi, double x)
{
    return log(x - lo) - log(hi - x);
}

double hcmc_probit_from_real(double lo, double hi, double z, double *dxdz, double *logjac,
                             double *dlogjac)
{
    double w = hi - lo, lphi = -0.5 * z * z - LOG_SQRT_2PI;
    if (dxdz)
        *dxdz = w * exp(lphi);
    if (logjac)
        *logjac = log(w) + lphi;
    if (dlogjac)
        *dlogjac = -z;
    /* from the nearer bound, whose digits Phi keeps */
    double x = z <= 0 ? lo + w * hcmc_normal_cdf(z) : hi - w * hcmc_normal_cdf(-z);
    return fmin(fmax(x, lo), hi);
}

double hcmc_probit_to_real(double lo, double hi, double x)
{
    double w = hi - lo, below = x - lo, above = hi - x;
    return below <= above ? hcmc_normal_quantile(below / w)
                          : -hcmc_normal_quantile(above / w);
}

double hcmc_normal_cdf(double x)
{
    return 0.5 * erfc(-x / M_SQRT2);
}

/* Acklam's rational approximation (relative error 1.2e-9), then one step
 * of Halley's method on Phi(x) = p, which brings it to full precision. */
double hcmc_normal_quantile(double p)
{
    if (!(p > 0 && p < 1))
        return p == 0 ? -INFINITY : p == 1 ? INFINITY : NAN;
    static const double a[6] = {-3.969683028665376e+01, 2.209460984245205e+02,
                                -2.759285104469687e+02, 1.383577518672690e+02,
                                -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[5] = {-5.447609879822406e+01, 1.615858368580409e+02,
                                -1.556989798598866e+02, 6.680131188771972e+01,
                                -1.328068155288572e+01};
    static const double c[6] = {-7.784894002430293e-03, -3.223964580411365e-01,
                                -2.400758277161838e+00, -2.549732539343734e+00,
                                4.374664141464968e+00,  2.938163982698783e+00};
    static const double d[4] = {7.784695709041462e-03, 3.224671290700398e-01,
                                2.445134137142996e+00, 3.754408661907416e+00};
    double x;
    if (p < 0.02425 || p > 1 - 0.02425) {
        double q = sqrt(-2 * log(p < 0.5 ? p : 1 - p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
        if (p > 0.5)
            x = -x;
    } else {
        double q = p - 0.5, r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    }
    double e = hcmc_normal_cdf(x) - p;
    double u = e * exp(0.5 * x * x + LOG_SQRT_2PI);
    return x - u / (1 + 0.5 * x * u);
}
