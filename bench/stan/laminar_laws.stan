// The same target as laminar.stan in hcmc's sampling coordinates
// (src/model/law.c, src/model/coords.c): each rate law in its law
// coordinates (kind 1: shape (r1, r2, s) with reference time t_r and slope
// scale w; kind 2: log rates at t_max/16, t_max/4, t_max), phi0, contrast
// and offset in the probit of their bounds, sigma in its log. The
// parameters and prior are those of laminar.stan; target adds log |dtheta/dz|.
functions {
#include laminar_common.stan
  // the normal quantile on [0.05, 0.95]: the central rational
  // approximation (relative error < 1.2e-9) and one Newton step, all in
  // Stan's automatic differentiation
  real qnorm_central(real p) {
    real x;
    real q = p - 0.5;
    real r = q * q;
    x = (((((-3.969683028665376e+01 * r + 2.209460984245205e+02) * r
            - 2.759285104469687e+02) * r + 1.383577518672690e+02) * r
          - 3.066479806614716e+01) * r + 2.506628277459239e+00) * q
        / (((((-5.447609879822406e+01 * r + 1.615858368580409e+02) * r
              - 1.556989798598866e+02) * r + 6.680131188771972e+01) * r
            - 1.328068155288572e+01) * r + 1);
    return x - (Phi(x) - p) / exp(normal_lpdf(x | 0, 1));
  }
  // lo + (hi - lo) Phi(r), from the nearer end
  real along(real lo, real hi, real r) {
    if (r <= 0) return fmin(lo + (hi - lo) * Phi(r), hi);
    return fmax(hi - (hi - lo) * Phi(-r), lo);
  }
  // (a, b, c, log |d(a, b, c)/d xi|) of shape coordinates xi = (r1, r2, s)
  vector shape_law(vector xi, vector lo, vector hi, real t_r, real w) {
    real Lr = log(t_r);
    real e_lo = fmin(pow(t_r, lo[2]), pow(t_r, hi[2]));
    real e_hi = fmax(pow(t_r, lo[2]), pow(t_r, hi[2]));
    real v1_lo = lo[1] * e_lo + lo[3];
    real v1_hi = hi[1] * e_hi + hi[3];
    real v1 = along(v1_lo, v1_hi, xi[1]);
    // the u allowed at v1
    real X1 = v1 - hi[3];
    real X2 = v1 - lo[3];
    real Ulo = log(lo[1] * e_lo);
    real Uhi = log(hi[1] * e_hi);
    real u;
    real Blo = lo[2];
    real Bhi = hi[2];
    real f;
    real c0;
    real k = 1;
    real qq;
    real b;
    vector[4] out;
    if (!(X2 > 0)) reject("level below the offset's range");
    if (X1 > 0 && log(X1) > Ulo) Ulo = log(X1);
    if (log(X2) < Uhi) Uhi = log(X2);
    if (!(Ulo < Uhi)) reject("empty interval of u");
    u = along(Ulo, Uhi, xi[3]);
    // the b allowed at u
    if (Lr != 0) {
      real from_hi = (u - log(hi[1])) / Lr;
      real from_lo = (u - log(lo[1])) / Lr;
      real blo = Lr > 0 ? from_hi : from_lo;
      real bhi = Lr > 0 ? from_lo : from_hi;
      if (blo > Blo) Blo = blo;
      if (bhi < Bhi) Bhi = bhi;
    }
    if (!(Blo < Bhi)) reject("empty interval of b");
    // the exponent's non-centred coordinate
    f = -Blo / (Bhi - Blo);
    if (f < 0.05) c0 = qnorm_central(0.05);
    else if (f > 0.95) c0 = qnorm_central(0.95);
    else c0 = qnorm_central(f);
    if (w > 0) k = 1 / (1 + exp(u) * (Bhi - Blo) / (sqrt(2 * pi()) * w));
    qq = k * xi[2] + c0;
    b = along(Blo, Bhi, qq);
    out[1] = fmin(fmax(exp(u - b * Lr), lo[1]), hi[1]);
    out[2] = fmin(fmax(b, lo[2]), hi[2]);
    out[3] = fmin(fmax(v1 - exp(u), lo[3]), hi[3]);
    out[4] = log(v1_hi - v1_lo) + log(Uhi - Ulo) + log(Bhi - Blo) + log(k) + u - b * Lr
             - 0.5 * (xi[1] ^ 2 + xi[3] ^ 2 + qq ^ 2) - 3 * log(sqrt(2 * pi()));
    return out;
  }
  // the same for rates coordinates: xi = log f at the times tk (ratio 4)
  vector rates_law(vector xi, vector lo, vector hi, vector tk) {
    vector[3] v = exp(xi);
    real d1 = v[2] - v[1];
    real d2 = v[3] - v[2];
    real b;
    real a;
    matrix[3, 3] Dm;
    vector[4] out;
    if (!(d1 != 0 && d2 / d1 > 0 && d2 != d1)) reject("rates without an exponent");
    b = log(d2 / d1) / log(4.0);
    a = d1 * d1 / (pow(tk[1], b) * (d2 - d1));
    out[1] = a;
    out[2] = b;
    out[3] = v[1] - a * pow(tk[1], b);
    for (j in 1:3)
      if (!(out[j] > lo[j] && out[j] < hi[j])) reject("rates outside the bounds");
    for (j in 1:3) {
      Dm[j, 1] = pow(tk[j], b);
      Dm[j, 2] = pow(tk[j], b) * log(tk[j]);
      Dm[j, 3] = 1;
    }
    out[4] = -log(fabs(a)) - log(fabs(determinant(Dm))) + sum(xi);
    return out;
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
  int<lower=1, upper=2> law_kind[2]; // 1 shape, 2 rates
  real t_r;
  vector[2] law_w;
  vector[3] t_rates;
}
parameters {
  vector[10] z;
}
transformed parameters {
  vector[9] th;
  real sigma = exp(z[10]);
  real logjac = z[10];
  for (l in 1:2) {
    int at = 3 * (l - 1);
    vector[4] r = law_kind[l] == 1
                  ? shape_law(z[at + 1:at + 3], lo[at + 1:at + 3], hi[at + 1:at + 3], t_r,
                              law_w[l])
                  : rates_law(z[at + 1:at + 3], lo[at + 1:at + 3], hi[at + 1:at + 3],
                              t_rates);
    th[at + 1:at + 3] = r[1:3];
    logjac += r[4];
  }
  for (j in 7:9) {
    th[j] = along(lo[j], hi[j], z[j]);
    logjac += log(hi[j] - lo[j]) + normal_lpdf(z[j] | 0, 1);
  }
}
model {
  target += logjac;
  target += laminar_logprior(th, sigma, lo, hi, sigma_scale);
  target += laminar_loglik(th, sigma, y, ii, jj, aa, phi, q, L, dt, n_t);
}
generated quantities {
  real D0 = th[1];
  real alpha = th[2];
  real D_offset = th[3];
  real gamma_dot_t0 = th[4];
  real beta = th[5];
  real gamma_dot_t_offset = th[6];
  real phi0 = th[7];
  real contrast = th[8];
  real offset = th[9];
}
