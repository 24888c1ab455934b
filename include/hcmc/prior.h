/* Priors on bounded parameters and the maps to the real line (MODEL.md 4).
 *
 * Every sampled parameter x has bounds lo < hi and is mapped to the real
 * line: for sampling by z = Phi^-1((x - lo) / (hi - lo)) (probit), for the
 * least-squares warm start by the logit; the log-Jacobian of x(z) is added
 * to the target. The declared prior type is honoured; all of them are
 * truncated to the bounds and normalised on them. */
#ifndef HCMC_PRIOR_H
#define HCMC_PRIOR_H

#include "hcmc/export.h"
#include "hcmc/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hcmc_prior_type {
    HCMC_PRIOR_TRUNCATED_NORMAL = 0, /* default */
    HCMC_PRIOR_UNIFORM,
    HCMC_PRIOR_NORMAL,     /* a normal truncated to the bounds */
    HCMC_PRIOR_LOGNORMAL,  /* mu, sigma of log x; needs lo >= 0 */
    HCMC_PRIOR_BETA_SCALED /* Beta on [lo, hi] with mean mu, sd sigma */
} hcmc_prior_type;

/* Caller-owned value type, filled by hcmc_prior_init. */
typedef struct hcmc_prior {
    hcmc_prior_type type;
    double lo, hi;
    double mu, sigma; /* after init: the values in force (defaults applied) */
    double log_norm;  /* normalising constant, precomputed */
    double a, b;      /* BetaScaled shape parameters */
} hcmc_prior;

HCMC_API const char *hcmc_prior_type_name(hcmc_prior_type t);
/* Accepts TruncatedNormal, Uniform, Normal, LogNormal, BetaScaled. */
HCMC_API int hcmc_prior_type_parse(const char *s, hcmc_prior_type *out,
                                   hcmc_error *err);

/* Validates the bounds and parameters and precomputes constants. mu and
 * sigma may be NaN for the defaults: midpoint and range/4 (LogNormal:
 * log of the midpoint and 1). name is used in messages only. */
HCMC_API int hcmc_prior_init(hcmc_prior *p, hcmc_prior_type type, double lo, double hi,
                             double mu, double sigma, const char *name,
                             hcmc_error *err);

/* Log density at x (-inf outside the bounds); *dx (may be NULL) receives
 * d log p / dx. */
HCMC_API double hcmc_prior_logpdf(const hcmc_prior *p, double x, double *dx);

/* x = lo + (hi - lo) * logistic(z). When logjac is not NULL it receives
 * log dx/dz; dlogjac (may be NULL) its derivative in z; dxdz (may be NULL)
 * dx/dz. */
HCMC_API double hcmc_bounded_from_real(double lo, double hi, double z, double *dxdz,
                                       double *logjac, double *dlogjac);
/* The inverse; x must lie strictly inside (lo, hi). */
HCMC_API double hcmc_bounded_to_real(double lo, double hi, double x);

/* x = lo + (hi - lo) Phi(z), Phi the standard normal distribution
 * function: the map of a bounded parameter that sampling uses. Under a
 * uniform prior on (lo, hi), z is standard normal. logjac = log dx/dz =
 * log(hi - lo) + log phi(z), dlogjac = -z; dxdz, logjac and dlogjac may be
 * NULL. */
HCMC_API double hcmc_probit_from_real(double lo, double hi, double z, double *dxdz,
                                      double *logjac, double *dlogjac);
/* The inverse; x must lie strictly inside (lo, hi). */
HCMC_API double hcmc_probit_to_real(double lo, double hi, double x);

/* The standard normal distribution function and its inverse, to full
 * double precision in both tails. */
HCMC_API double hcmc_normal_cdf(double x);
HCMC_API double hcmc_normal_quantile(double p);

#ifdef __cplusplus
}
#endif
#endif
