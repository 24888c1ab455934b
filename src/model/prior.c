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
