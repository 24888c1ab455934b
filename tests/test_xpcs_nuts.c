/* The sampler on synthetic homodyne data (static and laminar_flow, 23 and
 * 3 angles): the warm start finds the truth within the noise, and the
 * posterior covers it. A posterior mean is checked against the truth within
 * 4 posterior sd: the posterior of a correct sampler on data simulated from
 * the model holds the truth within 4 sd with probability > 0.9999 per
 * parameter. That needs the mean and sd themselves estimated well: every
 * parameter must reach bulk ESS >= 100 (MCSE of the mean <= 0.1 sd) and
 * R-hat <= 1.05, the divergence rate must stay under the pipeline's own
 * shard gate (validation.max_divergence_rate, 0.10) and E-BFMI over 0.3
 * (MODEL.md 7). The warm start is checked within 4 of its own approximate
 * posterior sd.
 *
 * Each case is analysed as `hcmc run` analyses a file in one NUTS run
 * (hcmc_problem_new, hcmc_shard_run, the sampler's defaults). Scatter over
 * 20 data and sampler seeds (HCMC_TEST_SEEDS=20; seeds s, s + 1000, ...),
 * default kernel / HCMC_KERNEL=generic with OPENBLAS_CORETYPE=Haswell,
 * worst over seeds and parameters:
 *   static, 23 angles:    truth 3.33 / 3.36 sd, R-hat 1.0024 / 1.0028,
 *                         ESS 3875 / 4109, no divergences;
 *   static, 3 angles:     truth 2.20 / 2.21 sd, R-hat 1.0029 / 1.0030,
 *                         ESS 3969 / 3706, no divergences;
 *   laminar_flow, 23:     truth 3.39 / 3.21 sd, R-hat 1.0147 / 1.0104,
 *                         ESS 182 / 290, 0.58 / 0.62 % divergent;
 *   laminar_flow, 3:      truth 2.85 / 2.86 sd, R-hat 1.0096 / 1.0987,
 *                         ESS 402 / 16, 0.35 / 3.50 % divergent.
 * The largest |truth - mean| / sd over about 280 parameters is what a
 * normal gives (about 3.3), and 4 is 1 in 16 000 per parameter. One seed
 * of 40 failed: laminar_flow with 3 angles, seed 18104, generic kernel,
 * where the shear law (beta 3.3 posterior sd from 0, sampled in shape
 * coordinates because the fit put it nearer) mixes slowly (R-hat 1.10);
 * the default kernel passes it (ESS 402). That case is at the edge of
 * the sampler (README "Where it still fails"); its fixed seed passes in
 * both configurations (ESS 618 / 386, R-hat 1.007).
 *
 * The bounds are synth_bounds (see synth_problem.h), not MODEL.md's
 * defaults: those put gamma_dot_t0 at the bottom of a range five decades
 * wide, where the logit bends the posterior ridge and NUTS needs steps a
 * hundred times smaller. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hcmc/cmc.h"
#include "hcmc/diagnostics.h"
#include "hcmc/log.h"
#include "hcmc/nuts.h"
#include "hcmc/law.h"
#include "hcmc/warmstart.h"
#include "synth_problem.h"

/* One case on one seed, as `hcmc run` analyses a data set in one NUTS run:
 * hcmc_problem_new (warm start, the laws' coordinates), a plan of one
 * shard, hcmc_shard_run with the sampler's defaults. Prints its figures;
 * returns the number of failed checks and the case's worst figures in
 * *worst (truth in sd, R-hat, -ESS, divergence rate: larger is worse). */
static int run_seed(hcmc_mode mode, size_t n_phi, size_t n_t, hcmc_scaling_mode sc,
                    uint64_t seed, double worst[4])
{
    synth_problem p;
    assert_int_equal(
        synth_problem_make(&p, mode, n_phi, n_t, sc, 0.02, seed, NULL, synth_bounds),
        0);
    hcmc_error err;
    hcmc_problem *prob;
    hcmc_shard_plan *plan;
    if (hcmc_problem_new(&p.spec, &p.pts, 1, NULL, &prob, &err))
        fail_msg("problem: %s", err.msg);
    assert_int_equal(hcmc_shard_plan_make(&p.pts, HCMC_STRATEGY_RANDOM, 1, 0, 1, mode,
                                          seed, &plan, &err),
                     0);
    hcmc_nuts_settings s;
    hcmc_nuts_settings_defaults(&s);
    s.seed = seed;
    hcmc_shard_result *res;
    assert_int_equal(hcmc_shard_run(prob, plan, 0, &s, &res, &err), 0);
    if (res->status)
        fail_msg("sampler: %s", res->message);
    const hcmc_nuts_result *r = res->nuts;
    size_t dim = r->dim, C = r->num_chains, D = r->sampling.n, S = C * D;
    double depth = 0, div = (double)hcmc_nuts_divergences(r) / (double)S;
    for (size_t i = 0; i < S; i++)
        depth += r->sampling.tree_depth[i];
    print_message("%s, %zu angles, %zu points, seed %llu: step %.3g, mean depth %.2f, "
                  "%.2f %% divergent, %.2f s sampling\n",
                  hcmc_mode_name(mode), n_phi, p.pts.n, (unsigned long long)seed,
                  r->step_size[0], depth / (double)S, 100 * div,
                  r->sampling_seconds / (double)C);
    int bad = 0;
    worst[3] = fmax(worst[3], div);
    for (size_t k = 0; k < dim; k++) {
        hcmc_param_summary ps;
        assert_int_equal(hcmc_param_summarise(r->sampling.theta + k, C, D, dim, &ps),
                         0);
        double truth = synth_problem_true(&p, k), zt = fabs(ps.mean - truth) / ps.sd;
        worst[0] = fmax(worst[0], zt);
        worst[1] = fmax(worst[1], ps.rhat);
        worst[2] = fmax(worst[2], -fmin(ps.ess_bulk, ps.ess_tail));
        if (!(zt <= 4) ||
            !(ps.rhat <= 1.05 && fmin(ps.ess_bulk, ps.ess_tail) >= 100.0)) {
            print_message("  %-18s true %-10.5g mean %-10.5g sd %-9.3g rhat %.4f ess "
                          "bulk %.0f tail %.0f: %s\n",
                          hcmc_problem_param_name(prob, k), truth, ps.mean, ps.sd,
                          ps.rhat, ps.ess_bulk, ps.ess_tail,
                          zt <= 4 ? "not converged" : "truth outside 4 sd");
            bad++;
        }
    }
    for (size_t c = 0; c < C; c++)
        bad += !(hcmc_ebfmi(r->sampling.energy + c * D, D) > 0.3);
    bad += !(div < 0.10);
    hcmc_shard_result_free(res);
    hcmc_shard_plan_free(plan);
    hcmc_problem_free(prob);
    synth_problem_free(&p);
    return bad;
}

/* The case on its fixed seed; with HCMC_TEST_SEEDS=n in the environment, on
 * n seeds from it, printing the worst figures over them (how the margins
 * in the header were measured). */
static void run_case(hcmc_mode mode, size_t n_phi, size_t n_t, hcmc_scaling_mode sc,
                     uint64_t seed)
{
    const char *env = getenv("HCMC_TEST_SEEDS");
    int n = env ? atoi(env) : 1, bad = 0, failed = 0;
    double worst[4] = {0, 0, -INFINITY, 0};
    for (int i = 0; i < (n > 0 ? n : 1); i++) {
        int b = run_seed(mode, n_phi, n_t, sc, seed + 1000 * (uint64_t)i, worst);
        bad += b;
        failed += b > 0;
    }
    print_message("%s, %zu angles over %d seeds: %d failed; worst truth %.2f sd, R-hat "
                  "%.4f, ESS %.0f, divergences %.2f %%\n",
                  hcmc_mode_name(mode), n_phi, n > 0 ? n : 1, failed, worst[0],
                  worst[1], -worst[2], 100 * worst[3]);
    assert_int_equal(bad, 0);
}

/* On noise-free data the fit is the truth: from the default start (prior
 * centres, scaling from the data) LM must reach it to 1e-6 of each
 * parameter's range, in both modes, with the shear ladder. */
static void test_warm_start_exact(void **state)
{
    (void)state;
    for (int mode = 0; mode < 2; mode++) {
        synth_problem p;
        assert_int_equal(synth_problem_make(&p, (hcmc_mode)mode, 5, 40,
                                            HCMC_SCALING_INDIVIDUAL, 0.0, 7, NULL,
                                            synth_bounds),
                         0);
        size_t dim = hcmc_target_dim(p.t);
        double z[32], th[32];
        hcmc_error err;
        if (hcmc_warm_start(p.t, NULL, 0, z, NULL, NULL, &err))
            fail_msg("warm start: %s", err.msg);
        hcmc_target_constrain(p.t, z, th);
        for (size_t k = 0; k + 1 < dim; k++) {
            double lo, hi;
            hcmc_target_bounds(p.t, k, &lo, &hi);
            double truth = synth_problem_true(&p, k);
            if (!(fabs(th[k] - truth) <= 1e-6 * (hi - lo)))
                fail_msg("%s: fit %.10g, truth %.10g", hcmc_target_param_name(p.t, k),
                         th[k], truth);
        }
        synth_problem_free(&p);
    }
}

/* The curvature's scale (hcmc_warm_curvature, law.h SLOPE) of a Brownian
 * D(t) (alpha = 0.02): positive and finite, and the sd of an amount of
 * information: over every second point it is sqrt(2) as large, within
 * 5 % (the two sets of points are not the same design, only alike). */
static void test_warm_curvature(void **state)
{
    (void)state;
    double truth[HCMC_NPHYS_MAX] = {2e4, 0.02, 100};
    synth_problem p;
    assert_int_equal(synth_problem_make(&p, HCMC_MODE_STATIC, 3, 80,
                                        HCMC_SCALING_INDIVIDUAL, 0.02, 8, truth, NULL),
                     0);
    size_t dim = hcmc_target_dim(p.t);
    double th[32];
    hcmc_error err;
    for (size_t k = 0; k < dim; k++)
        th[k] = synth_problem_true(&p, k);
    double t_max = 79 * 0.1, tr = hcmc_law_slope_time(-2, 2, 0.1, t_max), all, half;
    if (hcmc_warm_curvature(p.t, th, 0, tr, 0, &all, &err))
        fail_msg("curvature: %s", err.msg);
    /* every second point */
    size_t m = p.pts.n / 2, *idx = malloc(m * sizeof(size_t));
    for (size_t i = 0; i < m; i++)
        idx[i] = 2 * i;
    hcmc_points sub;
    hcmc_target *t2;
    assert_int_equal(hcmc_points_subset(&p.pts, idx, m, &sub, &err), 0);
    assert_int_equal(hcmc_target_new(&p.spec, &sub, &t2, &err), 0);
    if (hcmc_warm_curvature(t2, th, 0, tr, 0, &half, &err))
        fail_msg("curvature: %s", err.msg);
    print_message("curvature sd %.4g on %zu points, %.4g on %zu (ratio %.4f)\n", all,
                  p.pts.n, half, m, half / all);
    assert_true(all > 0 && isfinite(all));
    assert_true(fabs(half / all / sqrt(2) - 1) < 0.05);
    hcmc_target_free(t2);
    hcmc_points_release(&sub);
    free(idx);
    synth_problem_free(&p);
}

/* A data set whose likelihood is flat along a ridge up to a bound: steady
 * shear (beta and gamma_dot_t_offset fixed at 0) with D_offset free in
 * [-1e4, 1e4]. One of the D0 starts runs LM along the ridge into that
 * bound, where dtheta/dz vanishes and its steps grow without limit (it
 * stopped at z = -1e234 and the chains started there). The fit must stay a
 * usable start: every coordinate within |z| <= 18, the covariance's sds
 * within 2 in z, a finite log density; and it is the truth's fit. */
static void test_warm_start_ridge(void **state)
{
    (void)state;
    const double truth[HCMC_NPHYS_MAX] = {2e4, -0.5, 100.0, 3e-4, 0.0, 0.0, 4.0};
    const double bounds[HCMC_NPHYS_MAX][2] = {{1e3, 1e5},       {-2, 2}, {-1e4, 1e4},
                                              {1.5e-5, 1.5e-3}, {-2, 2}, {-3e-4, 3e-4},
                                              {-6, 14}};
    synth_problem p;
    assert_int_equal(synth_problem_make(&p, HCMC_MODE_LAMINAR, 3, 150,
                                        HCMC_SCALING_INDIVIDUAL, 0.02, 7, truth,
                                        bounds),
                     0);
    hcmc_target_free(p.t);
    p.spec.phys_fixed[HCMC_P_BETA] = p.spec.phys_fixed[HCMC_P_GAMMA_DOT_T_OFFSET] =
        true;
    hcmc_error err;
    if (hcmc_target_new(&p.spec, &p.pts, &p.t, &err))
        fail_msg("%s", err.msg);
    size_t dim = hcmc_target_dim(p.t);
    double z[32], cov[32 * 32], th[32], lp;
    hcmc_warm_start_info info;
    if (hcmc_warm_start(p.t, NULL, 0, z, cov, &info, &err))
        fail_msg("warm start: %s", err.msg);
    hcmc_target_constrain(p.t, z, th);
    for (size_t k = 0; k + 1 < dim; k++) {
        print_message("  %-14s z %10.4g sd %8.3g  %12.6g (truth %g)\n",
                      hcmc_target_param_name(p.t, k), z[k], sqrt(cov[k * dim + k]),
                      th[k], synth_problem_true(&p, k));
        assert_true(fabs(z[k]) <= 18.0);
        assert_true(sqrt(cov[k * dim + k]) <= 2.0 + 1e-12);
    }
    hcmc_target_ws *ws = hcmc_target_ws_new(p.t);
    assert_int_equal(hcmc_target_eval(p.t, ws, z, &lp, NULL, NULL), 0);
    hcmc_target_ws_free(ws);
    /* the fit's rms is the noise's (0.02) to its sampling error, ~0.5 %
     * at 20 000 points: 2 % */
    assert_true(fabs(info.rms - 0.02) < 0.02 * 0.02);
    synth_problem_free(&p);
}

/* Config initial values: inside the bounds they are kept exactly, on or
 * beyond a bound moved just inside, missing ones (NaN) get the default. */
static void test_initial_point(void **state)
{
    (void)state;
    synth_problem p;
    assert_int_equal(synth_problem_make(&p, HCMC_MODE_LAMINAR, 3, 20,
                                        HCMC_SCALING_INDIVIDUAL, 0.02, 9, NULL,
                                        synth_bounds),
                     0);
    size_t dim = hcmc_target_dim(p.t);
    double theta[32], z[32], back[32];
    for (size_t k = 0; k < dim; k++)
        theta[k] = NAN;
    theta[HCMC_P_D0] = 2e4;            /* inside */
    theta[HCMC_P_ALPHA] = 5.0;         /* above its bound 1.0 */
    theta[HCMC_P_GAMMA_DOT_T0] = 1e-5; /* on its lower bound */
    hcmc_error err;
    hcmc_log_set_level(HCMC_LOG_ERROR);
    assert_int_equal(hcmc_initial_point(p.t, theta, z, &err), 0);
    hcmc_log_set_level(HCMC_LOG_INFO);
    hcmc_target_constrain(p.t, z, back);
    assert_true(fabs(back[HCMC_P_D0] - 2e4) < 1e-9 * 2e4);
    assert_true(back[HCMC_P_ALPHA] < 1.0 && back[HCMC_P_ALPHA] > 1.0 - 1e-5);
    assert_true(back[HCMC_P_GAMMA_DOT_T0] > 1e-5);
    for (size_t k = 0; k < dim; k++)
        assert_true(isfinite(z[k]));
    double lp, g[32];
    hcmc_target_ws *ws = hcmc_target_ws_new(p.t);
    assert_int_equal(hcmc_target_eval(p.t, ws, z, &lp, g, NULL), 0);
    hcmc_target_ws_free(ws);
    theta[HCMC_P_BETA] = INFINITY;
    assert_int_equal(hcmc_initial_point(p.t, theta, z, &err), HCMC_EINVAL);
    assert_non_null(strstr(err.msg, "beta"));
    synth_problem_free(&p);
}

static void test_static_23(void **s)
{
    (void)s;
    run_case(HCMC_MODE_STATIC, 23, 50, HCMC_SCALING_AUTO, 101);
}
static void test_static_3(void **s)
{
    (void)s;
    run_case(HCMC_MODE_STATIC, 3, 83, HCMC_SCALING_INDIVIDUAL, 102);
}
static void test_laminar_23(void **s)
{
    (void)s;
    run_case(HCMC_MODE_LAMINAR, 23, 50, HCMC_SCALING_AUTO, 103);
}
static void test_laminar_3(void **s)
{
    (void)s;
    run_case(HCMC_MODE_LAMINAR, 3, 83, HCMC_SCALING_INDIVIDUAL, 104);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_warm_start_exact),
        cmocka_unit_test(test_warm_start_ridge),
        cmocka_unit_test(test_warm_curvature),
        cmocka_unit_test(test_initial_point),
        cmocka_unit_test(test_static_23),
        cmocka_unit_test(test_static_3),
        cmocka_unit_test(test_laminar_23),
        cmocka_unit_test(test_laminar_3),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
