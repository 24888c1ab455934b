/* Convergence diagnostics of Vehtari, Gelman, Simpson, Carpenter and
 * Buerkner (2021), computed as R's `posterior` package (1.4) computes them:
 * split chains, rank normalisation with (r - 3/8) / (S + 1/4), Geyer's
 * initial positive and monotone sequences with the antithetic correction,
 * and the ESS cap at S log10(S). Where `posterior` returns NA (constant or
 * non-finite draws, fewer than 3 draws per split chain) these return NaN.
 *
 * Draws of one quantity: value of draw d in chain c is x[(c * draws + d) *
 * stride], so a column of hcmc_nuts_draws.z is passed with stride = dim. */
#ifndef HCMC_DIAGNOSTICS_H
#define HCMC_DIAGNOSTICS_H

#include <stddef.h>

#include "hcmc/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* max(bulk R-hat, folded R-hat), both rank-normalised and split. */
HCMC_API double hcmc_rhat(const double *x, size_t chains, size_t draws, size_t stride);
/* Classic split R-hat without rank normalisation. */
HCMC_API double hcmc_rhat_basic(const double *x, size_t chains, size_t draws,
                                size_t stride);
HCMC_API double hcmc_ess_bulk(const double *x, size_t chains, size_t draws,
                              size_t stride);
/* min of the ESS of the 5 % and 95 % quantile indicators. */
HCMC_API double hcmc_ess_tail(const double *x, size_t chains, size_t draws,
                              size_t stride);
/* ESS of the mean (split, not rank-normalised). */
HCMC_API double hcmc_ess_mean(const double *x, size_t chains, size_t draws,
                              size_t stride);
/* sd(x) / sqrt(ess_mean). */
HCMC_API double hcmc_mcse_mean(const double *x, size_t chains, size_t draws,
                               size_t stride);
/* Monte Carlo standard error of the sd, as R's posterior (1.4) computes it:
 * with c = x - mean, var_var = (mean(c^4) - mean(c^2)^2) / ess_mean(c^2),
 * then sqrt(var_var / mean(c^2) / 4) (the delta method). Large where the
 * draws have heavy tails, whose sd a few draws decide. */
HCMC_API double hcmc_mcse_sd(const double *x, size_t chains, size_t draws,
                             size_t stride);
/* E-BFMI of one chain's energies: mean squared difference over variance. */
HCMC_API double hcmc_ebfmi(const double *energy, size_t n);

typedef struct hcmc_param_summary {
    double mean, sd, q05, median, q95;
    double mcse_mean, ess_bulk, ess_tail, rhat;
    double mcse_sd;
} hcmc_param_summary;

/* Everything above for one quantity; 0, or HCMC_ENOMEM. */
HCMC_API int hcmc_param_summarise(const double *x, size_t chains, size_t draws,
                                  size_t stride, hcmc_param_summary *out);

/* Standard normal quantile (Wichura's AS 241, about 1e-16 relative). */
HCMC_API double hcmc_qnorm(double p);

/* The quantile of chi-square with nu degrees of freedom at the standard
 * normal quantile z (2.3263: 99 %; 3.0902: 99.9 %), divided by nu: Wilson
 * and Hilferty's (1 - a + z sqrt(a))^3 with a = 2 / (9 nu), within 1 % of
 * it from nu = 3 on. */
HCMC_API double hcmc_chi2_quantile_ratio(double nu, double z);

#ifdef __cplusplus
}
#endif
#endif
