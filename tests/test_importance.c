/* Importance correction of combined draws (importance.h) on a small static
 * problem whose posterior is sampled by one long NUTS run (the reference),
 * in the sampling coordinates z (law coordinates for the rate law) as hcmc
 * run uses it:
 * draws made slightly too narrow and shifted (sd x 0.9, mean moved 0.35
 * sd in whitened coordinates) come back to the reference in one round;
 * draws far too narrow (sd x 0.3) come back in adapted rounds; draws
 * narrowed 300-fold are beyond them, and the correction declines and
 * leaves them as they were.
 *
 * Tolerances: the reference has 4 x 2000 draws (bulk ESS > 3 000 on this
 * problem), the correction 8 000 proposals with an importance ESS above
 * 4 000 (checked), so a corrected mean differs from the reference's by
 * about sd sqrt(1/3000 + 1/4000) = 0.024 sd and an sd ratio by about 2 %;
 * the test allows 0.1 sd and 8 %, and checks that the distorted draws
 * themselves miss the mean bound. Over correction seeds 1-20 the largest
 * errors were 0.047 sd and 4.2 % (sd x 0.9: one round; sd x 0.3: three
 * adapted rounds on every seed), and sd x 0.003 was declined on every seed
 * (tail index 1.01-1.30 after its five rounds). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <lapacke.h>

#include "hcmc/cmc.h"
#include "hcmc/importance.h"
#include "hcmc/rng.h"
#include "synth_problem.h"

static void moments(const double *z, size_t G, size_t d, double *m, double *s)
{
    for (size_t a = 0; a < d; a++) {
        double mu = 0, v = 0;
        for (size_t g = 0; g < G; g++)
            mu += z[g * d + a];
        mu /= (double)G;
        for (size_t g = 0; g < G; g++)
            v += (z[g * d + a] - mu) * (z[g * d + a] - mu);
        m[a] = mu;
        s[a] = sqrt(v / (double)(G - 1));
    }
}

static void test_correction(void **state)
{
    (void)state;
    synth_problem sp;
    hcmc_shard_plan *plan;
    hcmc_problem *prob;
    hcmc_shard_result *res;
    hcmc_error e;
    assert_int_equal(synth_problem_make(&sp, HCMC_MODE_STATIC, 3, 40, HCMC_SCALING_SHARED,
                                        0.02, 11, NULL, NULL),
                     0);
    assert_int_equal(hcmc_shard_plan_make(&sp.pts, HCMC_STRATEGY_RANDOM, 1, 0, 1,
                                          HCMC_MODE_STATIC, 3, &plan, &e),
                     0);
    assert_int_equal(hcmc_problem_new(&sp.spec, &sp.pts, 1, NULL, &prob, &e), 0);
    hcmc_nuts_settings ns;
    hcmc_nuts_settings_defaults(&ns);
    ns.num_samples = 2000;
    ns.parallel = false;
    assert_int_equal(hcmc_shard_run(prob, plan, 0, &ns, &res, &e), 0);
    assert_int_equal(res->status, 0);
    const hcmc_target *full = hcmc_problem_target(prob);
    size_t d = hcmc_problem_dim(prob), G = res->nuts->num_chains * res->nuts->sampling.n;
    /* in z, where the posterior is close to Gaussian (law coordinates) */
    double *ref = malloc(G * d * sizeof(double));
    memcpy(ref, res->nuts->sampling.z, G * d * sizeof(double));
    double m[16], s[16], mc[16], sc[16];
    moments(ref, G, d, m, s);
    /* the shift: 0.35 posterior sds along the diagonal of the whitened
     * coordinates, delta = 0.35 L (1, ..., 1) / sqrt(d), L L^T the
     * reference covariance (a shift of every marginal by the same number
     * of sds would lie many sds away across the correlations) */
    double C[256] = {0}, delta[16] = {0};
    for (size_t g = 0; g < G; g++)
        for (size_t a = 0; a < d; a++)
            for (size_t b = 0; b < d; b++)
                C[a * d + b] += (ref[g * d + a] - m[a]) * (ref[g * d + b] - m[b]) / (double)(G - 1);
    assert_int_equal(LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)d, C, (lapack_int)d), 0);
    for (size_t a = 0; a < d; a++)
        for (size_t b = 0; b <= a; b++)
            delta[a] += 0.35 * C[a * d + b] / sqrt((double)d);
    double *z = malloc(G * d * sizeof(double));
    const double scales[] = {0.9, 0.3, 0.003};
    for (int pass = 0; pass < 3; pass++) {
        double scale = scales[pass];
        for (size_t g = 0; g < G; g++)
            for (size_t a = 0; a < d; a++)
                z[g * d + a] = m[a] + delta[a] + scale * (ref[g * d + a] - m[a]);
        double worst = 0;
        moments(z, G, d, mc, sc);
        for (size_t a = 0; a < d; a++)
            worst = fmax(worst, fabs(mc[a] - m[a]) / s[a]);
        print_message("distorted draws: largest |dmean|/sd %.3f\n", worst);
        assert_true(worst > 0.1); /* the distorted draws miss */
        hcmc_importance_info info;
        assert_int_equal(hcmc_importance_correct(full, z, G, 42, 0.7, &info, &e), 0);
        print_message("sd x %g: %zu rounds, tail index %.2f, ESS %.0f of %zu (%zu in the "
                      "support), applied %d\n",
                      scale, info.rounds, info.khat, info.ess, info.n, info.n_support,
                      info.applied);
        if (pass == 2) {
            /* 4 adapted rounds cannot widen a proposal 300-fold in 6
             * dimensions: declined, the draws left as they were */
            assert_false(info.applied);
            moments(z, G, d, mc, sc);
            assert_true(fabs(sc[0] / s[0] - scale) < 1e-6 * scale);
            continue;
        }
        /* sd x 0.9: the first (Gaussian) round serves; sd x 0.3: its
         * weights have an infinite variance and adapted rounds are needed */
        assert_true(info.applied);
        assert_true(pass == 0 ? info.rounds == 1 : info.rounds > 1);
        assert_true(info.ess > 4000);
        moments(z, G, d, mc, sc);
        for (size_t a = 0; a < d; a++) {
            double dm = (mc[a] - m[a]) / s[a], sr = sc[a] / s[a];
            print_message("  coordinate %zu: dmean/sd %.3f, sd ratio %.3f\n", a, dm, sr);
            assert_true(fabs(dm) <= 0.1);
            assert_true(fabs(sr - 1) <= 0.08);
        }
    }
    free(z);
    free(ref);
    hcmc_shard_result_free(res);
    hcmc_problem_free(prob);
    hcmc_shard_plan_free(plan);
    synth_problem_free(&sp);
}

/* The tail index of weights with a known tail: Pareto with shape 0.3 and
 * 0.8 (w = U^-k), exponential (k = 0). Over 200 seeds of 6 000 weights the
 * estimates scatter with sd 0.078, 0.101 and 0.066 about means 0.306,
 * 0.791 and 0.036; the mean of 20 seeds then has sd 0.023 at most, and the
 * test allows 0.1 (more than 4 sd). Smoothing keeps the order of the
 * weights, changes only the largest M = 3 sqrt(6000) = 233 of them and
 * none beyond the largest. */
static void test_psis(void **state)
{
    (void)state;
    const size_t n = 6000, M = 233;
    const double truth[] = {0.3, 0.8, 0.0};
    double *w = malloc(n * sizeof(double)), *w0 = malloc(n * sizeof(double));
    for (int kind = 0; kind < 3; kind++) {
        double sum = 0;
        for (int r = 0; r < 20; r++) {
            hcmc_rng rng;
            hcmc_rng_init(&rng, (uint64_t)r + 1, 99, (uint32_t)kind, 0);
            double wmax = 0;
            for (size_t i = 0; i < n; i++) {
                double u = hcmc_rng_uniform(&rng);
                w0[i] = w[i] = kind < 2 ? pow(u, -truth[kind]) : -log(u);
                wmax = fmax(wmax, w0[i]);
            }
            double k = hcmc_psis_smooth(w, n);
            sum += k;
            size_t changed = 0;
            for (size_t i = 0; i < n; i++) {
                changed += w[i] != w0[i];
                assert_true(w[i] <= wmax && w[i] > 0);
                if (i > 0) /* same order (ties allowed) */
                    assert_true((w0[i] > w0[i - 1]) ? w[i] >= w[i - 1] : w[i] <= w[i - 1]);
            }
            assert_true(changed <= M);
        }
        print_message("k %.1f: mean estimate %.3f over 20 seeds\n", truth[kind], sum / 20);
        assert_true(fabs(sum / 20 - truth[kind]) <= 0.1);
    }
    /* too few positive weights for a fit: unchanged, infinite */
    double few[30] = {0};
    for (int i = 0; i < 10; i++)
        few[i] = i + 1;
    assert_true(isinf(hcmc_psis_smooth(few, 30)));
    assert_true(few[9] == 10);
    free(w);
    free(w0);
}

/* Bridge sampling (importance.h hcmc_bridge_log_mass) of the mass of an
 * unnormalised density exp(a) p(x) from exact draws of p, with a normal
 * proposal fitted to a first half of them as hcmc run does (modes.c):
 * p a Student-t with 5 degrees of freedom (tails heavier than the
 * proposal's), and p the mixture 0.3 N(-5, 1) + 0.7 N(5, 1) with draws of
 * the right component only, whose estimate is the mass of that basin,
 * a + log 0.7 (the left one adds e^-12.5 of the density there). Over 100
 * seeds of 3 000 draws and 3 000 proposals the errors scatter with sd
 * 0.0027 and 0.0003 about means of -0.0005 and 0.0000 (largest 0.008 and
 * 0.0009). The test allows the mean of the 100 seeds 4 times its own sd
 * (sd / 10: a bias of a tenth of the scatter fails), and every single
 * estimate 0.02 (7 of the larger sd). */
static void test_bridge(void **state)
{
    (void)state;
    const size_t n = 3000, R = 100;
    const double a = 3.7;
    double *buf = malloc(6 * n * sizeof(double));
    double *x = buf, *lp1 = x + n, *lq1 = lp1 + n, *y = lq1 + n, *lp2 = y + n,
           *lq2 = lp2 + n;
    for (int kind = 0; kind < 2; kind++) {
        double sum = 0, sum2 = 0, worst = 0;
        const double truth = kind == 0 ? a : a + log(0.7);
        for (size_t r = 0; r < R; r++) {
            hcmc_rng rng;
            hcmc_rng_init(&rng, r + 1, 99, 7 + (uint32_t)kind, 0);
            for (size_t i = 0; i < 2 * n; i++) { /* first half: the fit */
                double v;
                if (kind == 0) {
                    double c2 = 0;
                    for (int j = 0; j < 5; j++) {
                        double u = hcmc_rng_normal(&rng);
                        c2 += u * u;
                    }
                    v = hcmc_rng_normal(&rng) / sqrt(c2 / 5);
                } else
                    v = 5 + hcmc_rng_normal(&rng);
                if (i < n)
                    y[i] = v; /* room for the fit's half */
                else
                    x[i - n] = v;
            }
            double m = 0, s2 = 0;
            for (size_t i = 0; i < n; i++)
                m += y[i] / (double)n;
            for (size_t i = 0; i < n; i++)
                s2 += (y[i] - m) * (y[i] - m) / (double)(n - 1);
            double sd = sqrt(s2);
            for (size_t i = 0; i < n; i++)
                y[i] = m + sd * hcmc_rng_normal(&rng);
            for (size_t i = 0; i < 2 * n; i++) {
                double v = i < n ? x[i] : y[i - n], lp;
                if (kind == 0)
                    lp = lgamma(3.0) - lgamma(2.5) - 0.5 * log(5 * M_PI) -
                         3.0 * log1p(v * v / 5);
                else
                    lp = log(0.3 * exp(-0.5 * (v + 5) * (v + 5)) +
                             0.7 * exp(-0.5 * (v - 5) * (v - 5))) -
                         0.5 * log(2 * M_PI);
                double lq = -0.5 * ((v - m) / sd) * ((v - m) / sd) - log(sd) -
                            0.5 * log(2 * M_PI);
                (i < n ? lp1 : lp2)[i % n] = lp + a;
                (i < n ? lq1 : lq2)[i % n] = lq;
            }
            double e =
                hcmc_bridge_log_mass(lp1, lq1, n, (double)n, lp2, lq2, n) - truth;
            assert_true(isfinite(e));
            sum += e;
            sum2 += e * e;
            worst = fmax(worst, fabs(e));
        }
        double mean = sum / (double)R, sd = sqrt(sum2 / (double)R - mean * mean);
        print_message(
            "bridge %s: error mean %.4f, sd %.4f, largest %.4f over %zu seeds\n",
            kind == 0 ? "t5" : "one mode of two", mean, sd, worst, R);
        assert_true(fabs(mean) <= 4 * sd / sqrt((double)R));
        assert_true(worst <= 0.02);
    }
    /* no draw of q where p is positive: no estimate */
    for (size_t i = 0; i < 10; i++)
        lp1[i] = lq1[i] = lq2[i] = 0, lp2[i] = -INFINITY;
    assert_true(isnan(hcmc_bridge_log_mass(lp1, lq1, 10, 10, lp2, lq2, 10)));
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_psis),
        cmocka_unit_test(test_bridge),
        cmocka_unit_test(test_correction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
