/* The shard task and what travels between processes: a shard result packed
 * and unpacked is the same bytes, and every truncated or corrupted message
 * is refused with an error (never a crash: this test also runs under
 * ASan); the sampler's progress callback sees every iteration, can stop a
 * run, and does not change the draws; the problem fingerprint changes with
 * every setting that changes draws and only with those. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hcmc/cmc.h"
#include "../src/cmc/cmc_internal.h"
#include "synth_problem.h"

typedef struct {
    synth_problem sp;
    hcmc_shard_plan *plan;
    hcmc_problem *prob;
    hcmc_nuts_settings s;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    hcmc_error e;
    if (!f ||
        synth_problem_make(&f->sp, HCMC_MODE_STATIC, 3, 30, HCMC_SCALING_INDIVIDUAL,
                           0.02, 5, NULL, NULL) ||
        hcmc_shard_plan_make(&f->sp.pts, HCMC_STRATEGY_RANDOM, 3, 0, 1,
                             HCMC_MODE_STATIC, 9, &f->plan, &e) ||
        hcmc_problem_new(&f->sp.spec, &f->sp.pts, 3, NULL, &f->prob, &e))
        return -1;
    hcmc_nuts_settings_defaults(&f->s);
    f->s.num_chains = 2;
    f->s.num_warmup = 60;
    f->s.num_samples = 40;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    hcmc_problem_free(f->prob);
    hcmc_shard_plan_free(f->plan);
    synth_problem_free(&f->sp);
    free(f);
    return 0;
}

static void assert_same_draws(const hcmc_shard_result *a, const hcmc_shard_result *b)
{
    const hcmc_nuts_result *x = a->nuts, *y = b->nuts;
    assert_non_null(x);
    assert_non_null(y);
    assert_int_equal(x->dim, y->dim);
    assert_int_equal(x->num_chains, y->num_chains);
    assert_int_equal(x->sampling.n, y->sampling.n);
    size_t m = x->num_chains * x->sampling.n, d = x->dim;
    assert_memory_equal(x->sampling.z, y->sampling.z, m * d * sizeof(double));
    assert_memory_equal(x->sampling.lp, y->sampling.lp, m * sizeof(double));
    assert_memory_equal(x->sampling.diverging, y->sampling.diverging, m);
    assert_memory_equal(x->sampling.tree_depth, y->sampling.tree_depth,
                        m * sizeof(int));
}

typedef struct {
    size_t calls, stop_at;
} counter;

static int count_progress(void *user, size_t chain, size_t iteration)
{
    (void)chain;
    counter *c = user;
    __atomic_add_fetch(&c->calls, 1, __ATOMIC_RELAXED);
    return c->stop_at && iteration + 1 >= c->stop_at;
}

static void test_progress_and_pack(void **state)
{
    fixture *f = *state;
    hcmc_error e;
    hcmc_shard_result *plain, *watched, *back;
    assert_int_equal(hcmc_shard_run(f->prob, f->plan, 1, &f->s, &plain, &e), 0);
    assert_int_equal(plain->status, 0);
    /* the callback sees every iteration of every chain (twice for a chain
     * run again), changes nothing */
    counter c = {0, 0};
    hcmc_nuts_settings s = f->s;
    s.progress = count_progress;
    s.progress_user = &c;
    s.parallel = false;
    assert_int_equal(hcmc_shard_run(f->prob, f->plan, 1, &s, &watched, &e), 0);
    int runs = 0;
    for (size_t k = 0; k < 2; k++)
        runs += 1 + plain->nuts->rerun[k];
    assert_int_equal(c.calls, runs * (60 + 40));
    assert_same_draws(plain, watched);
    /* and can stop the run */
    counter stop = {0, 10};
    s.progress_user = &stop;
    hcmc_shard_result *stopped;
    assert_int_equal(hcmc_shard_run(f->prob, f->plan, 1, &s, &stopped, &e), 0);
    assert_int_equal(stopped->status, HCMC_ECANCELED);
    assert_null(stopped->nuts);
    hcmc_shard_result_free(stopped);

    /* pack -> unpack: the same result */
    void *buf;
    size_t len;
    assert_int_equal(hcmc_shard_result_pack(plain, &buf, &len, &e), 0);
    assert_int_equal(hcmc_shard_result_unpack(buf, len, &back, &e), 0);
    assert_int_equal(back->id, 1);
    assert_int_equal(back->n_points, plain->n_points);
    assert_true(back->rhat_max == plain->rhat_max);
    assert_same_draws(plain, back);
    size_t C = plain->nuts->num_chains, d = plain->nuts->dim;
    assert_memory_equal(back->nuts->inv_metric, plain->nuts->inv_metric,
                        C * d * d * sizeof(double));
    hcmc_shard_result_free(back);
    /* every truncation is refused (all short lengths, then a stride) */
    for (size_t n = 0; n < len; n += n < 400 ? 1 : 97) {
        back = NULL;
        assert_int_equal(hcmc_shard_result_unpack(buf, n, &back, &e), HCMC_EFORMAT);
        assert_null(back);
    }
    /* so is a wrong magic, and a count that claims more than is there */
    unsigned char *bad = malloc(len);
    memcpy(bad, buf, len);
    bad[0] ^= 0xff;
    assert_int_equal(hcmc_shard_result_unpack(bad, len, &back, &e), HCMC_EFORMAT);
    memcpy(bad, buf, len);
    size_t chains_at = 4 + 4 + 2 * sizeof(size_t) + sizeof(int) + 512 +
                       3 * sizeof(double) + 1 + sizeof(size_t);
    size_t huge = 1000;
    memcpy(bad + chains_at, &huge, sizeof huge);
    assert_int_equal(hcmc_shard_result_unpack(bad, len, &back, &e), HCMC_EFORMAT);
    free(bad);
    free(buf);
    /* a failed result travels too */
    hcmc_shard_result failed = {.id = 2, .n_points = 7, .status = HCMC_EIO};
    snprintf(failed.message, sizeof failed.message, "worker died");
    assert_int_equal(hcmc_shard_result_pack(&failed, &buf, &len, &e), 0);
    assert_int_equal(hcmc_shard_result_unpack(buf, len, &back, &e), 0);
    assert_int_equal(back->status, HCMC_EIO);
    assert_string_equal(back->message, "worker died");
    assert_null(back->nuts);
    hcmc_shard_result_free(back);
    free(buf);
    hcmc_shard_result_free(plain);
    hcmc_shard_result_free(watched);
}

/* chains run apart and put together: the bytes of one run of all chains */
static void test_merge_chains(void **state)
{
    fixture *f = *state;
    hcmc_error e;
    hcmc_nuts_settings s = f->s;
    s.num_chains = 3;
    hcmc_shard_result *whole, *parts[2], *merged;
    assert_int_equal(hcmc_shard_run(f->prob, f->plan, 2, &s, &whole, &e), 0);
    s.chain_first = 0;
    s.chain_count = 2;
    assert_int_equal(hcmc_shard_run(f->prob, f->plan, 2, &s, &parts[0], &e), 0);
    s.chain_first = 2;
    s.chain_count = 1;
    assert_int_equal(hcmc_shard_run(f->prob, f->plan, 2, &s, &parts[1], &e), 0);
    assert_int_equal(parts[1]->nuts->num_chains, 1);
    assert_int_equal(hcmc_shard_result_merge(parts, 2, &merged, &e), 0);
    assert_same_draws(whole, merged);
    size_t d = whole->nuts->dim;
    assert_memory_equal(whole->nuts->inv_metric, merged->nuts->inv_metric,
                        3 * d * d * sizeof(double));
    assert_memory_equal(whole->nuts->step_size, merged->nuts->step_size,
                        3 * sizeof(double));
    assert_memory_equal(whole->nuts->init, merged->nuts->init, 3 * d * sizeof(double));
    assert_true(whole->rhat_max == merged->rhat_max);
    assert_true(whole->ess_bulk_min == merged->ess_bulk_min);
    assert_int_equal(whole->nuts->n_gradients, merged->nuts->n_gradients);
    hcmc_shard_result_free(merged);
    /* chains outside the run are refused */
    s.chain_first = 2;
    s.chain_count = 2;
    assert_int_equal(hcmc_shard_run(f->prob, f->plan, 2, &s, &merged, &e), 0);
    assert_int_equal(merged->status, HCMC_EINVAL);
    hcmc_shard_result_free(merged);
    /* a failed chain fails the shard, with its message */
    hcmc_shard_result *ok, *bad = calloc(1, sizeof *bad);
    s.chain_first = 0;
    s.chain_count = 1;
    assert_int_equal(hcmc_shard_run(f->prob, f->plan, 2, &s, &ok, &e), 0);
    bad->id = 2;
    bad->status = HCMC_EIO;
    snprintf(bad->message, sizeof bad->message, "worker lost");
    hcmc_shard_result *two[2] = {ok, bad};
    assert_int_equal(hcmc_shard_result_merge(two, 2, &merged, &e), 0);
    assert_int_equal(merged->status, HCMC_EIO);
    assert_string_equal(merged->message, "worker lost");
    hcmc_shard_result_free(merged);
    hcmc_shard_result_free(whole);
}

static void test_fingerprint(void **state)
{
    fixture *f = *state;
    uint64_t h = hcmc_problem_fingerprint(f->prob, f->plan, &f->s);
    assert_true(h == hcmc_problem_fingerprint(f->prob, f->plan, &f->s));
    hcmc_nuts_settings s = f->s;
    s.parallel = !s.parallel; /* scheduling: same draws, same fingerprint */
    s.progress = count_progress;
    assert_true(h == hcmc_problem_fingerprint(f->prob, f->plan, &s));
    s = f->s;
    s.seed++;
    assert_true(h != hcmc_problem_fingerprint(f->prob, f->plan, &s));
    s = f->s;
    s.num_samples++;
    assert_true(h != hcmc_problem_fingerprint(f->prob, f->plan, &s));
    s = f->s;
    s.target_accept = 0.9;
    assert_true(h != hcmc_problem_fingerprint(f->prob, f->plan, &s));
    /* another plan of the same points */
    hcmc_shard_plan *other;
    hcmc_error e;
    assert_int_equal(hcmc_shard_plan_make(&f->sp.pts, HCMC_STRATEGY_RANDOM, 3, 0, 1,
                                          HCMC_MODE_STATIC, 10, &other, &e),
                     0);
    assert_true(h != hcmc_problem_fingerprint(f->prob, other, &f->s));
    hcmc_shard_plan_free(other);
    /* one data value changed: another problem */
    double y = f->sp.pts.y[17];
    f->sp.pts.y[17] = nextafter(y, 2 * y);
    assert_true(h != hcmc_problem_fingerprint(f->prob, f->plan, &f->s));
    f->sp.pts.y[17] = y;
}

/* The shard target in law coordinates (laminar_flow, both rate laws as
 * law blocks): its gradient against central differences of its log
 * density (step 1e-3 of the warm start's sd in each coordinate, where the
 * density changes by about 1e-6 over a step: the quotient's error is far
 * below the tolerance of 1e-5 relative + 1e-4 absolute), near the warm
 * start, which maps back to itself. */
static void test_law_density(void **state)
{
    (void)state;
    synth_problem sp;
    hcmc_problem *prob;
    hcmc_error e;
    assert_int_equal(synth_problem_make(&sp, HCMC_MODE_LAMINAR, 3, 120,
                                        HCMC_SCALING_SHARED, 0.02, 7, NULL, NULL),
                     0);
    assert_int_equal(hcmc_problem_new(&sp.spec, &sp.pts, 2, NULL, &prob, &e), 0);
    const hcmc_target *t = hcmc_problem_target(prob);
    assert_int_equal(hcmc_target_coords(t)->nlaw, 2);
    size_t d = hcmc_problem_dim(prob);
    const double *cov0, *z0 = hcmc__problem_start(prob, &cov0);
    double z[32], th[32], g[32], gp[32], lp, lpp, lpm;
    hcmc_target_constrain(t, z0, th);
    assert_int_equal(hcmc_target_unconstrain(t, th, z, &e), 0);
    for (size_t k = 0; k < d; k++)
        assert_float_equal(z[k], z0[k], 1e-8 * (1 + fabs(z0[k])));
    hcmc_density dz = hcmc_density_from_target(t);
    void *ws = dz.ws_new(dz.ctx);
    /* away from the mode, where the gradient is not small */
    z[0] += 0.5 * sqrt(cov0[0]);
    z[5] -= 0.5 * sqrt(cov0[5 * d + 5]);
    assert_int_equal(dz.eval(dz.ctx, ws, z, &lp, g), 0);
    for (size_t k = 0; k < d; k++) {
        double zk = z[k], h = 1e-3 * sqrt(cov0[k * d + k]);
        z[k] = zk + h;
        assert_int_equal(dz.eval(dz.ctx, ws, z, &lpp, gp), 0);
        z[k] = zk - h;
        assert_int_equal(dz.eval(dz.ctx, ws, z, &lpm, gp), 0);
        z[k] = zk;
        double fd = (lpp - lpm) / (2 * h);
        if (fabs(fd - g[k]) > 1e-5 * fabs(fd) + 1e-4)
            fail_msg("coordinate %zu: gradient %.10g, central difference %.10g", k, g[k],
                     fd);
    }
    dz.ws_free(ws);
    hcmc_problem_free(prob);
    synth_problem_free(&sp);
}

/* The warm start's global search (cmc.h hcmc_problem_modes). Two angles,
 * 0 and 90 deg, leave phi0 and -phi0 exactly equally likely (model.h
 * hcmc_angles_mirror_axis), and the bounds of phi0 are symmetric about 0:
 * the search must find both modes (from the mirror image of its best fit
 * and from its hypercube), and their Laplace masses are equal up to the
 * Newton steps' tolerance (a rise below 1e-6 in log density at each mode:
 * 1e-3 relative allowed, far above it and far below any real difference
 * of masses). Three angles (-30, 30, 90) identify phi0: one mode. */
static void test_search_modes(void **state)
{
    (void)state;
    for (size_t n_phi = 2; n_phi <= 3; n_phi++) {
        synth_problem sp;
        hcmc_problem *prob;
        hcmc_error e;
        assert_int_equal(synth_problem_make(&sp, HCMC_MODE_LAMINAR, n_phi, 100,
                                            HCMC_SCALING_SHARED, 0.02, 11, NULL,
                                            synth_bounds),
                         0);
        assert_int_equal(hcmc_problem_new(&sp.spec, &sp.pts, 1, NULL, &prob, &e), 0);
        const hcmc_problem_mode *m;
        size_t n = hcmc_problem_modes(prob, &m);
        int k = hcmc_target_phys_slot(hcmc_problem_target(prob), HCMC_P_PHI0);
        assert_true(k >= 0);
        for (size_t i = 0; i < n; i++)
            print_message("  %zu angles: mode %zu of %zu, phi0 %.4f, weight %.4f\n",
                          n_phi, i + 1, n, m[i].theta[k], m[i].weight);
        assert_float_equal(m[0].weight, 1.0, 0.0);
        if (n_phi == 2) {
            assert_int_equal(n, 2);
            assert_float_equal(m[1].theta[k], -m[0].theta[k],
                               1e-3 * fabs(m[0].theta[k]));
            assert_float_equal(m[1].weight, 1.0, 1e-3);
            assert_true(m[1].dloglik >= 0 && m[1].dloglik < 1e-3);
        } else {
            assert_int_equal(n, 1);
        }
        hcmc_problem_free(prob);
        synth_problem_free(&sp);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_progress_and_pack), cmocka_unit_test(test_merge_chains),
        cmocka_unit_test(test_fingerprint),       cmocka_unit_test(test_law_density),
        cmocka_unit_test(test_search_modes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
