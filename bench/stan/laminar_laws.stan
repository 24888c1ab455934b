// The same target as laminar.stan in hcmc's sampling coordinates
// (src/model/law.c, src/model/coords.c): each rate law in its law
// coordinates (kind 1: shape (r1, r2, s) with reference time t_r and slope
// scale w; kind 2: log rates at t_max/16, t_max/4, t_max; kind 3: slope
// (r1, r2, s) with reference time t_r and curvature scale w), phi0, contrast
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
  // ---- SLOPE coordinates (law.c): xi = (r1, r2, s) -> level v1, log-slope
  // v2 = b e^u, u = log(a t_r^b), each along its interval given the ones
  // before, u by the reference density exp(-min(y(u), Y_CAP)), y(u) =
  // exp(-2 (u - ue)) / 2, ue = log(v2^2 / w). Every root below is found by
  // iterations on the autodiff variables themselves: converged, their
  // derivatives are those of the root.
  // log E1(x), x > 0: its series up to 1, Lentz's continued fraction beyond
  real log_e1(real x) {
    if (x <= 1) {
      real acc = 0;
      real term = 1;
      for (k in 1:59) {
        real inc;
        term = term * (-x / k);
        inc = -term / k;
        acc = acc + inc;
        if (fabs(inc) <= 1e-17 * fabs(acc)) break;
      }
      return log(-0.57721566490153286061 - log(x) + acc);
    } else {
      real b = x + 1;
      real c = 1e300;
      real d = 1 / b;
      real h = d;
      for (i in 1:299) {
        real an = -square(i);
        real del;
        b = b + 2;
        d = 1 / (an * d + b);
        c = b + an / c;
        del = c * d;
        h = h * del;
        if (fabs(del - 1) <= 1e-16) break;
      }
      return log(h) - x;
    }
  }
  // log E1 at x = e^lx, also where x would round to 0
  real log_e1_at(real lx) {
    if (lx > -30) return log_e1(exp(lx));
    return log(-0.57721566490153286061 - lx + exp(lx));
  }
  real log_y(real ue, real u) { return -2 * (u - ue) - log(2); }
  // the u above the floor where log E1(y(u)) = lE: Newton's method on
  // l = log y within (log y(hi), log y(c)), bisecting where it leaves them
  real e1_root(real ue, real hi, real c, real lE) {
    real la = log_y(ue, hi);
    real lb = log_y(ue, c);
    real l = 0.5 * (la + lb);
    for (it in 1:200) {
      real x = exp(l);
      real le = log_e1_at(l);
      real h = le - lE;
      // d log E1 / d l = -e^-x / E1(x)
      real nxt = l + h * exp(x + le);
      real stp;
      if (h > 0) la = l; else lb = l;
      if (!(nxt > la && nxt < lb)) nxt = 0.5 * (la + lb);
      stp = fabs(nxt - l);
      l = nxt;
      if (stp <= 1e-15 * (1 + fabs(l)) || lb - la <= 1e-15 * (1 + fabs(l))) break;
    }
    return ue - 0.5 * (l + log(2));
  }
  // u on (lo, hi) from s, and log du/ds; edge 0: no edge (uniform map)
  vector u_along(real lo, real hi, real ue, int edge, real s) {
    real Y = 30;
    vector[2] out;
    real u;
    real lT;
    real c;
    real lA;
    real lB;
    real lEc;
    real lEhi;
    int floor_ = 0;
    int rest = 0;
    if (edge == 0) {
      out[1] = along(lo, hi, s);
      out[2] = log(hi - lo) + normal_lpdf(s | 0, 1);
      return out;
    }
    c = fmin(fmax(ue - 0.5 * log(2 * Y), lo), hi);
    floor_ = c > lo;
    rest = c < hi;
    lEc = log_e1_at(log_y(ue, c));
    lEhi = log_e1_at(log_y(ue, hi));
    lA = floor_ ? -Y + log(c - lo) : 0;
    lB = rest ? log_diff_exp(lEhi, lEc) - log(2) : 0;
    if (floor_ && rest) lT = log_sum_exp(lA, lB);
    else if (floor_) lT = lA;
    else lT = lB;
    if (s <= 0) { // from below: mass T Phi(s)
      real lR = lT + log(Phi(s));
      if (floor_ && lR <= lA) u = lo + exp(lR + Y);
      else if (floor_) u = e1_root(ue, hi, c, log_sum_exp(lEc, log(2) + log_diff_exp(lR, lA)));
      else u = e1_root(ue, hi, c, log_sum_exp(lEc, log(2) + lR));
    } else { // from above: mass T Phi(-s)
      real lR = lT + log(Phi(-s));
      if (!rest) u = c - exp(lR + Y);
      else if (lR >= lB) u = c - exp(log_diff_exp(lR, lB) + Y);
      else u = e1_root(ue, hi, c, log_diff_exp(lEhi, log(2) + lR));
    }
    u = fmin(fmax(u, lo), hi);
    out[1] = u;
    out[2] = lT + normal_lpdf(s | 0, 1) + fmin(exp(log_y(ue, u)), Y);
    return out;
  }
  // Lambert's W on its principal branch (Halley's iteration); NaN below -1/e
  real lambert_w0(real x) {
    real em1 = 0.36787944117144232160;
    real w;
    if (!(x >= -em1)) return not_a_number();
    if (x == 0) return 0;
    if (x < -0.25) {
      real p = sqrt(2 * (x / em1 + 1));
      w = -1 + p - p * p / 3 + 11.0 / 72 * p * p * p;
    } else if (x < 3) {
      w = log1p(x) * (1 - 0.3 * log1p(x) / (1 + log1p(x)));
    } else {
      real l1 = log(x);
      real l2 = log(l1);
      w = l1 - l2 + l2 / l1;
    }
    for (it in 1:40) {
      real ew = exp(w);
      real f = w * ew - x;
      real wp = w + 1;
      real dw;
      if (wp == 0) break;
      dw = f / (ew * wp - (w + 2) * f / (2 * wp));
      w = w - dw;
      if (fabs(dw) <= 4e-16 * (1 + fabs(w))) break;
    }
    return w;
  }
  // the log-slopes b e^u allowed at level v1: the extremes of b e^u over
  // the vertices of the polygon the bounds cut in (u, b)
  vector v2_span(real v1, vector lo, vector hi, real L) {
    real X1 = v1 - hi[3];
    real X2 = v1 - lo[3];
    real al[6];
    real be[6];
    real ga[6];
    int n = 0;
    real ulo;
    real uhi = log(X2);
    real tb = 1e-9 * (hi[2] - lo[2]);
    real tu;
    int found = 0;
    vector[2] S;
    if (!(X2 > 0)) reject("level below the offset's range");
    tu = 1e-9 * (1 + fabs(uhi));
    ulo = X1 > 0 ? log(X1) : negative_infinity();
    if (X1 > 0) { n += 1; al[n] = 1; be[n] = 0; ga[n] = log(X1); }
    n += 1; al[n] = 1; be[n] = 0; ga[n] = log(X2);
    n += 1; al[n] = 0; be[n] = 1; ga[n] = lo[2];
    n += 1; al[n] = 0; be[n] = 1; ga[n] = hi[2];
    n += 1; al[n] = 1; be[n] = -L; ga[n] = log(lo[1]);
    n += 1; al[n] = 1; be[n] = -L; ga[n] = log(hi[1]);
    for (i in 1:n) {
      for (j in (i + 1):n) {
        real det = al[i] * be[j] - al[j] * be[i];
        if (fabs(det) >= 1e-300) {
          real u = (ga[i] * be[j] - ga[j] * be[i]) / det;
          real b = (al[i] * ga[j] - al[j] * ga[i]) / det;
          real r = u - b * L;
          if (u >= ulo - tu && u <= uhi + tu && b >= lo[2] - tb && b <= hi[2] + tb
              && r >= log(lo[1]) - tu && r <= log(hi[1]) + tu) {
            real v = b * exp(u);
            if (found == 0 || v < S[1]) S[1] = v;
            if (found == 0 || v > S[2]) S[2] = v;
            found = 1;
          }
        }
      }
    }
    if (!(found == 1 && S[1] < S[2])) reject("no log-slope at this level");
    return S;
  }
  // the u allowed at (v1, v2): e^u = v1 - c within the offset's bounds,
  // b = v2 e^-u within the exponent's, a = exp(u - L v2 e^-u) within the
  // prefactor's (the root of u - L v2 e^-u = K where it increases)
  vector u_span_slope(real v1, real v2, vector lo, vector hi, real L) {
    real X1 = v1 - hi[3];
    real X2 = v1 - lo[3];
    real bl = lo[2];
    real bh = hi[2];
    real y;
    vector[2] U;
    int have_lo = 0;
    if (!(X2 > 0)) reject("level below the offset's range");
    U[2] = log(X2);
    if (X1 > 0) { U[1] = log(X1); have_lo = 1; }
    if (v2 > 0) {
      if (!(bh > 0)) reject("no exponent for this log-slope");
      if (have_lo == 0 || log(v2 / bh) > U[1]) U[1] = log(v2 / bh);
      have_lo = 1;
      if (bl > 0 && log(v2 / bl) < U[2]) U[2] = log(v2 / bl);
    } else if (v2 < 0) {
      if (!(bl < 0)) reject("no exponent for this log-slope");
      if (have_lo == 0 || log(v2 / bl) > U[1]) U[1] = log(v2 / bl);
      have_lo = 1;
      if (bh < 0 && log(v2 / bh) < U[2]) U[2] = log(v2 / bh);
    }
    y = lambert_w0(L * v2 * exp(-log(lo[1])));
    if (!is_nan(y) && (have_lo == 0 || log(lo[1]) + y > U[1])) {
      U[1] = log(lo[1]) + y;
      have_lo = 1;
    }
    y = lambert_w0(L * v2 * exp(-log(hi[1])));
    if (is_nan(y)) reject("no prefactor for this log-slope");
    if (log(hi[1]) + y < U[2]) U[2] = log(hi[1]) + y;
    if (!(have_lo == 1 && U[1] < U[2])) reject("empty interval of u");
    return U;
  }
  // (a, b, c, log |d(a, b, c)/d xi|) of slope coordinates xi = (r1, r2, s);
  // |d(a, b, c)/d(v1, v2, u)| = t_r^-b
  vector slope_law(vector xi, vector lo, vector hi, real t_r, real w) {
    real L = log(t_r);
    real e_lo = fmin(pow(t_r, lo[2]), pow(t_r, hi[2]));
    real e_hi = fmax(pow(t_r, lo[2]), pow(t_r, hi[2]));
    real v1_lo = lo[1] * e_lo + lo[3];
    real v1_hi = hi[1] * e_hi + hi[3];
    real v1 = along(v1_lo, v1_hi, xi[1]);
    vector[2] P = v2_span(v1, lo, hi, L);
    real v2 = along(P[1], P[2], xi[2]);
    vector[2] U = u_span_slope(v1, v2, lo, hi, L);
    int edge = w > 0 && v2 != 0;
    vector[2] um = u_along(U[1], U[2], edge ? 2 * log(fabs(v2)) - log(w) : 0, edge, xi[3]);
    real u = um[1];
    real b = v2 * exp(-u);
    vector[4] out;
    out[1] = fmin(fmax(exp(u - b * L), lo[1]), hi[1]);
    out[2] = fmin(fmax(b, lo[2]), hi[2]);
    out[3] = fmin(fmax(v1 - exp(u), lo[3]), hi[3]);
    out[4] = -b * L + log(v1_hi - v1_lo) + log(P[2] - P[1]) + um[2]
             - 0.5 * (xi[1] ^ 2 + xi[2] ^ 2) - 2 * log(sqrt(2 * pi()));
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
  int<lower=1, upper=3> law_kind[2]; // 1 shape, 2 rates, 3 slope
  vector[2] law_t_r;                 // each law's reference time
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
    vector[4] r;
    if (law_kind[l] == 1)
      r = shape_law(z[at + 1:at + 3], lo[at + 1:at + 3], hi[at + 1:at + 3], law_t_r[l],
                    law_w[l]);
    else if (law_kind[l] == 2)
      r = rates_law(z[at + 1:at + 3], lo[at + 1:at + 3], hi[at + 1:at + 3], t_rates);
    else
      r = slope_law(z[at + 1:at + 3], lo[at + 1:at + 3], hi[at + 1:at + 3], law_t_r[l],
                    law_w[l]);
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
