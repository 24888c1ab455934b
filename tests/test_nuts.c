/* The sampler on targets with known answers: a 100-dimensional standard
 * normal, a 20-dimensional Gaussian with condition number 1e4 (dense metric),
 * Neal's funnel (divergences), densities that are not finite at the start,
 * identical draws from parallel and sequential chains, and a run extended
 * that is the longer run.
 *
 * Tolerances: a posterior mean, variance or covariance estimate is checked
 * against the exact value within 4 Monte Carlo standard errors, the MCSE of
 * the mean of the relevant draws (x, (x - mu)^2, x_k x_l) estimated with
 * their effective sample size. With about 240 such checks in this file, at
 * 4 MCSE the chance that any fails for a correct sampler is about 1.5 %;
 * the seeds are fixed, so a pass is reproducible. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hcmc/diagnostics.h"
#include "hcmc/nuts.h"
#include "hcmc/rng.h"

/* ---- Gaussian targets -------------------------------------------------- */

typedef struct {
    size_t n;
    double *prec; /* precision matrix, NULL: identity */
    double *cov;  /* exact covariance */
} gauss;

static int gauss_eval(const void *ctx, void *ws, const double *z, double *lp,
                      double *grad)
{
    (void)ws;
    const gauss *g = ctx;
    double s = 0.0;
    for (size_t r = 0; r < g->n; r++) {
        double pz = 0.0;
        if (g->prec)
            for (size_t c = 0; c < g->n; c++)
                pz += g->prec[r * g->n + c] * z[c];
        else
            pz = z[r];
        s += z[r] * pz;
        if (grad)
            grad[r] = -pz;
    }
    *lp = -0.5 * s;
    return 0;
}

/* Covariance Q diag(lambda) Q^T with lambda log-spaced from 1 to cond and Q
 * a random rotation (Gram-Schmidt of a Gaussian matrix). */
static void gauss_correlated(gauss *g, size_t n, double cond, uint64_t seed)
{
    hcmc_rng rng;
    hcmc_rng_init(&rng, seed, HCMC_RNG_TEST, 0, 0);
    double *Q = malloc(n * n * sizeof(double));
    for (size_t i = 0; i < n * n; i++)
        Q[i] = hcmc_rng_normal(&rng);
    for (size_t c = 0; c < n; c++) { /* columns orthonormal */
        for (size_t p = 0; p < c; p++) {
            double d = 0;
            for (size_t r = 0; r < n; r++)
                d += Q[r * n + c] * Q[r * n + p];
            for (size_t r = 0; r < n; r++)
                Q[r * n + c] -= d * Q[r * n + p];
        }
        double norm = 0;
        for (size_t r = 0; r < n; r++)
            norm += Q[r * n + c] * Q[r * n + c];
        for (size_t r = 0; r < n; r++)
            Q[r * n + c] /= sqrt(norm);
    }
    g->n = n;
    g->cov = calloc(n * n, sizeof(double));
    g->prec = calloc(n * n, sizeof(double));
    for (size_t k = 0; k < n; k++) {
        double lambda = pow(cond, (double)k / (double)(n - 1));
        for (size_t r = 0; r < n; r++)
            for (size_t c = 0; c < n; c++) {
                g->cov[r * n + c] += Q[r * n + k] * lambda * Q[c * n + k];
                g->prec[r * n + c] += Q[r * n + k] / lambda * Q[c * n + k];
            }
    }
    free(Q);
}

static void gauss_free(gauss *g)
{
    free(g->prec);
    free(g->cov);
}

static hcmc_nuts_result *run(const hcmc_density *d, hcmc_nuts_settings *s)
{
    hcmc_nuts_result *r = NULL;
    hcmc_error err;
    int rc = hcmc_nuts_run(d, s, NULL, NULL, &r, &err);
    if (rc)
        fail_msg("sampler failed: %s", err.msg);
    return r;
}

/* |estimate - exact| within 4 MCSE for the mean of f over the draws. */
static int within_mcse(const double *f, size_t chains, size_t draws, double exact,
                       const char *what, size_t k)
{
    double m = 0;
    for (size_t i = 0; i < chains * draws; i++)
        m += f[i];
    m /= (double)(chains * draws);
    double mcse = hcmc_mcse_mean(f, chains, draws, 1);
    if (!(fabs(m - exact) <= 4 * mcse)) {
        print_message("%s[%zu]: estimate %.5g, exact %.5g, mcse %.3g\n", what, k, m,
                      exact, mcse);
        return 0;
    }
    return 1;
}

/* Means and variances of every coordinate, and covariances of the pairs
 * given, against the exact Gaussian. Returns the number of failures. */
static int check_moments(const hcmc_nuts_result *r, const gauss *g, const size_t *pairs,
                         size_t npairs)
{
    size_t C = r->num_chains, D = r->sampling.n, n = r->dim, S = C * D;
    double *f = malloc(S * sizeof(double));
    int bad = 0;
    for (size_t k = 0; k < n; k++) {
        for (size_t i = 0; i < S; i++)
            f[i] = r->sampling.z[i * n + k];
        bad += !within_mcse(f, C, D, 0.0, "mean", k);
        for (size_t i = 0; i < S; i++)
            f[i] *= f[i];
        double var = g->cov ? g->cov[k * n + k] : 1.0;
        bad += !within_mcse(f, C, D, var, "variance", k);
    }
    for (size_t p = 0; p < npairs; p++) {
        size_t a = pairs[2 * p], b = pairs[2 * p + 1];
        for (size_t i = 0; i < S; i++)
            f[i] = r->sampling.z[i * n + a] * r->sampling.z[i * n + b];
        bad += !within_mcse(f, C, D, g->cov[a * n + b], "covariance", p);
    }
    free(f);
    return bad;
}

static double mean_depth(const hcmc_nuts_result *r)
{
    double s = 0;
    size_t S = r->num_chains * r->sampling.n;
    for (size_t i = 0; i < S; i++)
        s += r->sampling.tree_depth[i];
    return s / (double)S;
}

static void test_standard_normal_100(void **state)
{
    (void)state;
    gauss g = {.n = 100};
    hcmc_density d = {.dim = 100, .ctx = &g, .eval = gauss_eval};
    hcmc_nuts_settings s;
    hcmc_nuts_settings_defaults(&s);
    s.num_warmup = 500;
    s.num_samples = 1000;
    s.dense_mass = false;
    s.seed = 11;
    hcmc_nuts_result *r = run(&d, &s);
    assert_int_equal(check_moments(r, &g, NULL, 0), 0);
    for (size_t c = 0; c < r->num_chains; c++) {
        /* the optimal step for a 100-d unit Gaussian at 0.85 acceptance is
         * about 0.5 (Stan's adapted value). The metric is each variance
         * estimated from the last window's 200 draws: measured over 40
         * seeds, unbiased (mean of the 400 entries 1.000, runs within
         * +-0.017) with an rms error of 0.158 per entry (an effective
         * sample of about 80 draws). So per chain the mean of its 100
         * entries has sd about 0.016: allowed 0.08 (5 sd); its rms error
         * is allowed 0.25 (observed at most 0.17), which a metric learned
         * from far fewer draws or from the wrong ones exceeds. A bound on
         * every entry would be the maximum of 400 noisy estimates, which
         * reaches 0.5 to 0.75 in most runs. */
        assert_true(r->step_size[c] > 0.25 && r->step_size[c] < 1.0);
        double mean = 0, ms = 0;
        for (size_t k = 0; k < 100; k++) {
            double v = r->inv_metric[c * 100 + k];
            mean += v / 100.0;
            ms += (v - 1.0) * (v - 1.0) / 100.0;
        }
        assert_true(fabs(mean - 1.0) < 0.08);
        assert_true(sqrt(ms) < 0.25);
    }
    double depth = mean_depth(r);
    assert_true(depth >= 2.0 && depth <= 5.0);
    assert_int_equal(hcmc_nuts_divergences(r), 0);
    /* one gradient per leapfrog step, none without one (no slice steps) */
    uint64_t steps = 0;
    for (size_t i = 0; i < r->num_chains * r->sampling.n; i++)
        steps += (uint64_t)r->sampling.n_steps[i];
    assert_true(r->n_gradients_sampling == steps && r->n_values == 0);
    assert_true(r->n_gradients > steps);
    hcmc_nuts_result_free(r);
}

static void test_correlated_dense_20(void **state)
{
    (void)state;
    gauss g;
    gauss_correlated(&g, 20, 1e4, 5);
    hcmc_density d = {.dim = 20, .ctx = &g, .eval = gauss_eval};
    hcmc_nuts_settings s;
    hcmc_nuts_settings_defaults(&s);
    s.num_warmup = 1000;
    s.num_samples = 1000;
    s.seed = 12;
    hcmc_nuts_result *r = run(&d, &s);
    const size_t pairs[] = {0, 1, 2, 7, 5, 19, 10, 11, 3, 17};
    assert_int_equal(check_moments(r, &g, pairs, 5), 0);
    /* with the metric learned, the target is nearly white: steps of order 1
     * and short trees; a diagonal metric would need depth 7 or more */
    for (size_t c = 0; c < r->num_chains; c++)
        assert_true(r->step_size[c] > 0.3 && r->step_size[c] < 1.5);
    double depth = mean_depth(r);
    assert_true(depth >= 1.5 && depth <= 4.0);
    assert_int_equal(hcmc_nuts_divergences(r), 0);
    hcmc_nuts_result_free(r);
    gauss_free(&g);
}

/* ---- slice steps --------------------------------------------------------- */

/* Slice steps (hcmc_density.slice) leave the target invariant: on the
 * 20-dimensional Gaussian of condition number 1e4, with three coordinates
 * also updated by slice steps, every moment stays within 4 MCSE. */
static void test_slice_gaussian(void **state)
{
    (void)state;
    gauss g;
    gauss_correlated(&g, 20, 1e4, 5);
    hcmc_density d = {
        .dim = 20, .ctx = &g, .eval = gauss_eval, .n_slice = 3, .slice = {0, 7, 19}};
    hcmc_nuts_settings s;
    hcmc_nuts_settings_defaults(&s);
    s.num_warmup = 1000;
    s.num_samples = 1000;
    s.seed = 13;
    hcmc_nuts_result *r = run(&d, &s);
    const size_t pairs[] = {0, 1, 0, 7, 7, 19, 10, 11, 3, 17};
    assert_int_equal(check_moments(r, &g, pairs, 5), 0);
    assert_true(r->n_values > 0);
    hcmc_nuts_result_free(r);
    gauss_free(&g);
}

/* A flat side and a cliff, the geometry slice steps are for (law.h SLOPE):
 * x with log density -e^(-2 x) / 2 - x^2 / 50 (flat for x of a few units
 * above 0, falling like exp(-e^-2x) below) and y | x ~ N(x / 2, 1). */
static int cliff_eval(const void *ctx, void *ws, const double *z, double *lp,
                      double *grad)
{
    (void)ctx;
    (void)ws;
    double e = exp(-2 * z[0]), r = z[1] - 0.5 * z[0];
    *lp = -0.5 * e - z[0] * z[0] / 50 - 0.5 * r * r;
    if (grad) {
        grad[0] = e - z[0] / 25 + 0.5 * r;
        grad[1] = -r;
    }
    return 0;
}

/* x's mean and variance by quadrature. */
static void cliff_moments(double *mean, double *var)
{
    double s0 = 0, s1 = 0, s2 = 0;
    for (double x = -6; x <= 40; x += 1e-4) {
        double p = exp(-0.5 * exp(-2 * x) - x * x / 50);
        s0 += p;
        s1 += p * x;
        s2 += p * x * x;
    }
    *mean = s1 / s0;
    *var = s2 / s0 - *mean * *mean;
}

static void test_slice_cliff(void **state)
{
    (void)state;
    double mean, var;
    cliff_moments(&mean, &var);
    hcmc_density d = {.dim = 2, .eval = cliff_eval, .n_slice = 1, .slice = {0}};
    hcmc_nuts_settings s;
    hcmc_nuts_settings_defaults(&s);
    s.num_warmup = 500;
    s.num_samples = 2000;
    s.seed = 14;
    hcmc_nuts_result *r = run(&d, &s);
    size_t C = r->num_chains, D = r->sampling.n, S = C * D;
    double *f = malloc(S * sizeof(double));
    double m = 0;
    for (size_t i = 0; i < S; i++)
        m += (f[i] = r->sampling.z[2 * i]) / (double)S;
    print_message("x: mean %.4f (exact %.4f), bulk ESS %.0f of %zu draws\n", m, mean,
                  hcmc_ess_bulk(f, C, D, 1), S);
    assert_true(within_mcse(f, C, D, mean, "mean", 0));
    for (size_t i = 0; i < S; i++)
        f[i] = (f[i] - mean) * (f[i] - mean);
    assert_true(within_mcse(f, C, D, var, "variance", 0));
    for (size_t i = 0; i < S; i++)
        f[i] = r->sampling.z[2 * i + 1];
    assert_true(within_mcse(f, C, D, 0.5 * mean, "mean", 1));
    free(f);
    hcmc_nuts_result_free(r);
}

/* ---- the funnel -------------------------------------------------------- */

/* Neal's funnel: v ~ N(0, 3), x_k ~ N(0, exp(v/2)), k = 1..9. */
static int funnel_eval(const void *ctx, void *ws, const double *z, double *lp,
                       double *grad)
{
    (void)ctx;
    (void)ws;
    double v = z[0], s = 0.0;
    *lp = -v * v / 18.0;
    for (int k = 1; k < 10; k++) {
        double e = exp(-v);
        *lp += -0.5 * z[k] * z[k] * e - 0.5 * v;
        if (grad)
            grad[k] = -z[k] * e;
        s += 0.5 * z[k] * z[k] * e - 0.5;
    }
    if (grad)
        grad[0] = -v / 9.0 + s;
    return 0;
}

/* The settings both funnel tests sample with. */
static void funnel_settings(hcmc_nuts_settings *s)
{
    hcmc_nuts_settings_defaults(s);
    s->num_warmup = 300;
    s->num_samples = 500;
    s->dense_mass = false;
    s->seed = 3;
}

static void test_funnel_divergences(void **state)
{
    (void)state;
    hcmc_density d = {.dim = 10, .eval = funnel_eval};
    hcmc_nuts_settings s;
    funnel_settings(&s);
    hcmc_nuts_result *r = run(&d, &s);
    size_t k = 0, S = r->num_chains * r->sampling.n;
    for (size_t i = 0; i < S; i++)
        k += r->sampling.diverging[i];
    assert_int_equal(hcmc_nuts_divergences(r), k);
    assert_true(k > 0); /* the neck of the funnel cannot be integrated */
    hcmc_nuts_result_free(r);
}

/* A chain with more than rerun_divergent of its transitions divergent runs
 * again at rerun_target_accept: on the funnel, with the threshold between
 * the chains' shares of a run without it, the chains above it are run
 * again (flagged, other draws, a smaller adapted step) and the chains below
 * it are the same bytes as without it. */
static void test_rerun_divergent(void **state)
{
    (void)state;
    hcmc_density d = {.dim = 10, .eval = funnel_eval};
    hcmc_nuts_settings s;
    funnel_settings(&s);
    s.rerun_divergent = 0;
    hcmc_nuts_result *a = run(&d, &s);
    size_t C = a->num_chains, S = a->sampling.n, n = d.dim;
    double share[16], lo = 1, hi = 0;
    for (size_t c = 0; c < C; c++) {
        size_t k = 0;
        for (size_t i = 0; i < S; i++)
            k += a->sampling.diverging[c * S + i];
        share[c] = (double)k / (double)S;
        lo = fmin(lo, share[c]);
        hi = fmax(hi, share[c]);
        assert_int_equal(a->rerun[c], 0);
    }
    print_message("divergent shares of the chains: %.3f to %.3f\n", lo, hi);
    assert_true(lo < hi);
    s.rerun_divergent = 0.5 * (lo + hi);
    hcmc_nuts_result *b = run(&d, &s);
    size_t again = 0;
    for (size_t c = 0; c < C; c++) {
        bool same = !memcmp(a->sampling.z + c * S * n, b->sampling.z + c * S * n,
                            S * n * sizeof(double));
        if (share[c] > s.rerun_divergent) {
            again++;
            assert_int_equal(b->rerun[c], 1);
            assert_false(same);
            assert_true(b->step_size[c] < a->step_size[c]);
        } else {
            assert_int_equal(b->rerun[c], 0);
            assert_true(same);
        }
    }
    assert_true(again > 0 && again < C);
    assert_true(b->n_gradients > a->n_gradients);
    hcmc_nuts_result_free(a);
    hcmc_nuts_result_free(b);
}

/* ---- failures ------------------------------------------------------------ */

static int nowhere_eval(const void *ctx, void *ws, const double *z, double *lp,
                        double *grad)
{
    (void)ctx;
    (void)ws;
    (void)grad;
    *lp = z[0] > 1e300 ? 0.0 : -INFINITY;
    return 0;
}

static int nan_grad_eval(const void *ctx, void *ws, const double *z, double *lp,
                         double *grad)
{
    (void)ctx;
    (void)ws;
    *lp = -0.5 * (z[0] * z[0] + z[1] * z[1]);
    grad[0] = NAN;
    grad[1] = -z[1];
    return 0;
}

static const char *names_cb(const void *ctx, size_t k)
{
    (void)ctx;
    return k == 0 ? "D0" : "alpha";
}

static void test_nonfinite_start(void **state)
{
    (void)state;
    hcmc_nuts_settings s;
    hcmc_nuts_settings_defaults(&s);
    s.num_warmup = 10;
    s.num_samples = 10;
    hcmc_density d = {.dim = 2, .eval = nowhere_eval, .param_name = names_cb};
    hcmc_nuts_result *r = (hcmc_nuts_result *)1;
    hcmc_error err;
    assert_int_equal(hcmc_nuts_run(&d, &s, NULL, NULL, &r, &err), HCMC_ENUMERIC);
    assert_null(r);
    assert_non_null(strstr(err.msg, "initial point"));
    assert_non_null(strstr(err.msg, "D0="));
    assert_non_null(strstr(err.msg, "alpha="));

    const double init[2] = {0.5, -0.25};
    d.eval = nan_grad_eval;
    s.init_radius = 0;
    assert_int_equal(hcmc_nuts_run(&d, &s, init, NULL, &r, &err), HCMC_ENUMERIC);
    assert_non_null(strstr(err.msg, "D0=0.5, alpha=-0.25"));

    s.num_chains = 0;
    assert_int_equal(hcmc_nuts_run(&d, &s, init, NULL, &r, &err), HCMC_EINVAL);
    assert_non_null(strstr(err.msg, "num_chains"));
}

/* ---- scheduling does not change the draws ------------------------------ */

static void test_parallel_equals_sequential(void **state)
{
    (void)state;
    gauss g;
    gauss_correlated(&g, 6, 100, 9);
    hcmc_density d = {.dim = 6, .ctx = &g, .eval = gauss_eval};
    hcmc_nuts_settings s;
    hcmc_nuts_settings_defaults(&s);
    s.num_warmup = 200;
    s.num_samples = 200;
    s.keep_warmup = true;
    s.parallel = true;
    hcmc_nuts_result *a = run(&d, &s);
    s.parallel = false;
    hcmc_nuts_result *b = run(&d, &s);
    size_t m = s.num_chains * s.num_samples;
    assert_memory_equal(a->sampling.z, b->sampling.z, m * 6 * sizeof(double));
    assert_memory_equal(a->sampling.energy, b->sampling.energy, m * sizeof(double));
    assert_memory_equal(a->sampling.n_steps, b->sampling.n_steps, m * sizeof(int));
    assert_memory_equal(a->warmup.z, b->warmup.z,
                        s.num_warmup * 4 * 6 * sizeof(double));
    assert_memory_equal(a->step_size, b->step_size, 4 * sizeof(double));
    assert_int_equal(a->n_gradients, b->n_gradients);
    /* and different chains are different */
    assert_memory_not_equal(a->sampling.z, a->sampling.z + s.num_samples * 6,
                            6 * sizeof(double));
    hcmc_nuts_result_free(a);
    hcmc_nuts_result_free(b);
    gauss_free(&g);
}

/* A run extended is the longer run: every draw and statistic the same, the
 * counts those of the longer run and one evaluation per chain (the last
 * draw's, again); with slice steps, so that their stream goes on too. On
 * a bad request the result is left as it was. */
static void test_extend(void **state)
{
    (void)state;
    gauss g;
    gauss_correlated(&g, 6, 100, 9);
    hcmc_density d = {
        .dim = 6, .ctx = &g, .eval = gauss_eval, .n_slice = 1, .slice = {2}};
    hcmc_nuts_settings s;
    hcmc_nuts_settings_defaults(&s);
    s.num_warmup = 200;
    s.num_samples = 500;
    s.parallel = true;
    hcmc_nuts_result *whole = run(&d, &s);
    s.num_samples = 200;
    hcmc_nuts_result *part = run(&d, &s);
    hcmc_error err;
    assert_int_equal(hcmc_nuts_extend(&d, &s, part, 100, &err), 0);
    s.parallel = false; /* the same on one thread */
    assert_int_equal(hcmc_nuts_extend(&d, &s, part, 200, &err), 0);
    size_t m = 4 * 500;
    assert_int_equal(part->sampling.n, 500);
    assert_memory_equal(whole->sampling.z, part->sampling.z, m * 6 * sizeof(double));
    assert_memory_equal(whole->sampling.lp, part->sampling.lp, m * sizeof(double));
    assert_memory_equal(whole->sampling.energy, part->sampling.energy,
                        m * sizeof(double));
    assert_memory_equal(whole->sampling.step_size, part->sampling.step_size,
                        m * sizeof(double));
    assert_memory_equal(whole->sampling.tree_depth, part->sampling.tree_depth,
                        m * sizeof(int));
    assert_memory_equal(whole->sampling.diverging, part->sampling.diverging, m);
    assert_int_equal(part->n_gradients, whole->n_gradients + 2 * 4);
    assert_int_equal(part->n_values, whole->n_values);
    /* nothing to extend, or another metric: refused, r unchanged */
    assert_int_not_equal(hcmc_nuts_extend(&d, &s, part, 0, &err), 0);
    s.dense_mass = false;
    assert_int_not_equal(hcmc_nuts_extend(&d, &s, part, 10, &err), 0);
    assert_int_equal(part->sampling.n, 500);
    hcmc_nuts_result_free(whole);
    hcmc_nuts_result_free(part);
    gauss_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_standard_normal_100),
        cmocka_unit_test(test_correlated_dense_20),
        cmocka_unit_test(test_slice_gaussian),
        cmocka_unit_test(test_slice_cliff),
        cmocka_unit_test(test_funnel_divergences),
        cmocka_unit_test(test_rerun_divergent),
        cmocka_unit_test(test_nonfinite_start),
        cmocka_unit_test(test_parallel_equals_sequential),
        cmocka_unit_test(test_extend),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
