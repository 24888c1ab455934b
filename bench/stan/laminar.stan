// The hcmc laminar_flow shard target (MODEL.md 2-4, physical convention,
// shared contrast and offset, one shard: no tempering) written as a Stan
// user writes it first: the natural parameters with their bounds declared,
// which Stan samples in the logit of each bound.
functions {
#include laminar_common.stan
}
data {
  int<lower=1> N;
  int<lower=3> n_t;
  int<lower=1> n_phi;
  int<lower=1> ii[N];
  int<lower=1> jj[N];
  int<lower=1> aa[N];
  vector[N] y;
  vector[n_phi] phi;
  real q;
  real L;
  real dt;
  vector[9] lo;
  vector[9] hi;
  real sigma_scale;
}
parameters {
  real<lower=lo[1], upper=hi[1]> D0;
  real<lower=lo[2], upper=hi[2]> alpha;
  real<lower=lo[3], upper=hi[3]> D_offset;
  real<lower=lo[4], upper=hi[4]> gamma_dot_t0;
  real<lower=lo[5], upper=hi[5]> beta;
  real<lower=lo[6], upper=hi[6]> gamma_dot_t_offset;
  real<lower=lo[7], upper=hi[7]> phi0;
  real<lower=lo[8], upper=hi[8]> contrast;
  real<lower=lo[9], upper=hi[9]> offset;
  real<lower=0> sigma;
}
model {
  vector[9] th = [D0, alpha, D_offset, gamma_dot_t0, beta, gamma_dot_t_offset, phi0,
                  contrast, offset]';
  target += laminar_logprior(th, sigma, lo, hi, sigma_scale);
  target += laminar_loglik(th, sigma, y, ii, jj, aa, phi, q, L, dt, n_t);
}
