// The hcmc laminar_flow shard target (MODEL.md 2-4, physical convention,
// shared contrast and offset, one shard: no tempering), for comparing
// hcmc's sampler with Stan's on the same posterior. Bounded parameters use
// Stan's lower/upper logit transform, the same scaled logit hcmc samples in.
functions {
  // cumulative trapezoid of max(a t^e + off, 1e-10) on the frame grid,
  // t_0 replaced by dt/2
  vector cumrate(real dt, int nt, real a, real e, real off) {
    vector[nt] C;
    real prev = 0;
    C[1] = 0;
    for (k in 1:nt) {
      real t = k == 1 ? 0.5 * dt : (k - 1) * dt;
      real f = fmax(a * pow(t, e) + off, 1e-10);
      if (k > 1) C[k] = C[k - 1] + dt * 0.5 * (prev + f);
      prev = f;
    }
    return C;
  }
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
  vector[n_t] CJ = cumrate(dt, n_t, D0, alpha, D_offset);
  vector[n_t] CG = cumrate(dt, n_t, gamma_dot_t0, beta, gamma_dot_t_offset);
  vector[n_phi] A = q * L * cos((phi0 - phi) * (pi() / 180));
  vector[N] X = A[aa] .* (CG[jj] - CG[ii]);
  vector[N] v = 0.5 * X;
  vector[N] s = sin(v) ./ v;
  // TruncatedNormal priors: mean the midpoint, sd a quarter of the range
  // (hcmc's defaults); the truncation constants are constant here.
  D0 ~ normal(0.5 * (lo[1] + hi[1]), 0.25 * (hi[1] - lo[1]));
  alpha ~ normal(0.5 * (lo[2] + hi[2]), 0.25 * (hi[2] - lo[2]));
  D_offset ~ normal(0.5 * (lo[3] + hi[3]), 0.25 * (hi[3] - lo[3]));
  gamma_dot_t0 ~ normal(0.5 * (lo[4] + hi[4]), 0.25 * (hi[4] - lo[4]));
  beta ~ normal(0.5 * (lo[5] + hi[5]), 0.25 * (hi[5] - lo[5]));
  gamma_dot_t_offset ~ normal(0.5 * (lo[6] + hi[6]), 0.25 * (hi[6] - lo[6]));
  phi0 ~ normal(0.5 * (lo[7] + hi[7]), 0.25 * (hi[7] - lo[7]));
  contrast ~ normal(0.5 * (lo[8] + hi[8]), 0.25 * (hi[8] - lo[8]));
  offset ~ normal(0.5 * (lo[9] + hi[9]), 0.25 * (hi[9] - lo[9]));
  sigma ~ normal(0, sigma_scale);
  y ~ normal(offset + contrast * exp(-q * q * (CJ[jj] - CJ[ii])) .* s .* s, sigma);
}
