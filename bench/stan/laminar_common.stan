  // cumulative trapezoid of max(a t^e + off, 1e-10) on the frame grid,
  // t_0 replaced by dt/2 (MODEL.md 2)
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
  // log likelihood of the shard at theta = (D0, alpha, D_offset,
  // gamma_dot_t0, beta, gamma_dot_t_offset, phi0, contrast, offset) and
  // sigma (physical convention, shared contrast and offset)
  real laminar_loglik(vector th, real sigma, vector y, int[] ii, int[] jj, int[] aa,
                      vector phi, real q, real L, real dt, int n_t) {
    int N = num_elements(y);
    vector[n_t] CJ = cumrate(dt, n_t, th[1], th[2], th[3]);
    vector[n_t] CG = cumrate(dt, n_t, th[4], th[5], th[6]);
    vector[num_elements(phi)] A = q * L * cos((th[7] - phi) * (pi() / 180));
    vector[N] X = A[aa] .* (CG[jj] - CG[ii]);
    vector[N] v = 0.5 * X;
    vector[N] s = sin(v) ./ v;
    return normal_lpdf(y | th[9] + th[8] * exp(-q * q * (CJ[jj] - CJ[ii])) .* s .* s, sigma);
  }
  // TruncatedNormal priors: mean the midpoint, sd a quarter of the range
  // (hcmc's defaults; the truncation constants are constant here), and
  // sigma's half-normal
  real laminar_logprior(vector th, real sigma, vector lo, vector hi, real sigma_scale) {
    return normal_lpdf(th | 0.5 * (lo + hi), 0.25 * (hi - lo))
           + normal_lpdf(sigma | 0, sigma_scale);
  }
