/* The run's verdict (src/run/verdict.c): each check fails or warns at its
 * threshold and not below it, the advice names the likely cause where the
 * draws show one (an exponent within 1 sd of 0, a bound reached), and the
 * verdict goes through summary.json and the printed block unchanged. The
 * results are made by hand: the rules are tested, not a sampler. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../src/run/run_internal.h"
#include "hcmc/config.h"
#include "hcmc/law.h"

enum { DIM = 4, SHARDS = 2 };

typedef struct {
    hcmc_run_result r;
    hcmc_run_shard shards[SHARDS];
    hcmc_param_summary sum[DIM];
    char names[DIM][40];
    hcmc_config c;
} fixture;

/* A run that passes every check: D0, alpha, D_offset, sigma well sampled,
 * two shards of 6 000 transitions without divergences. */
static void good(fixture *f, size_t n_shards)
{
    memset(f, 0, sizeof *f);
    hcmc_config_defaults(&f->c, HCMC_MODE_STATIC);
    hcmc_run_result *r = &f->r;
    r->dim = DIM;
    r->names = f->names;
    r->summary = f->sum;
    r->shards = f->shards;
    r->n_shards = n_shards;
    r->n_kept = n_shards;
    r->chains = 4;
    r->draws = 1500;
    const char *nm[DIM] = {"D0", "alpha", "D_offset", "sigma"};
    const double mean[DIM] = {2e4, -0.5, 100, 0.02}, sd[DIM] = {400, 0.02, 50, 1e-4};
    for (size_t k = 0; k < DIM; k++) {
        snprintf(f->names[k], 40, "%s", nm[k]);
        f->sum[k] = (hcmc_param_summary){.mean = mean[k],
                                         .sd = sd[k],
                                         .q05 = mean[k] - 1.645 * sd[k],
                                         .median = mean[k],
                                         .q95 = mean[k] + 1.645 * sd[k],
                                         .rhat = 1.002,
                                         .ess_bulk = 3000,
                                         .ess_tail = 2500};
    }
    for (size_t k = 0; k < n_shards; k++)
        f->shards[k] = (hcmc_run_shard){.id = k,
                                        .points = 10000,
                                        .transitions = 6000,
                                        .status = HCMC_SHARD_KEPT,
                                        .rhat_max = 1.003,
                                        .ebfmi_min = 0.9};
}

static const double bounds[3][2] = {{1e2, 1e5}, {-2, 2}, {-1e5, 1e5}};

static const hcmc_verdict_item *item(const hcmc_verdict_item *list, size_t n,
                                     const char *check)
{
    for (size_t k = 0; k < n; k++)
        if (!strcmp(list[k].check, check))
            return &list[k];
    return NULL;
}

static const hcmc_verdict_item *failure(const fixture *f, const char *check)
{
    return item(f->r.verdict.failures, f->r.verdict.n_failures, check);
}

static const hcmc_verdict_item *warning(const fixture *f, const char *check)
{
    return item(f->r.verdict.warnings, f->r.verdict.n_warnings, check);
}

static void judge(fixture *f)
{
    hcmc__verdict(&f->c, &f->r, bounds, 3);
}

static void test_ok(void **state)
{
    (void)state;
    fixture f;
    good(&f, SHARDS);
    judge(&f);
    assert_true(f.r.verdict.known && f.r.verdict.ok);
    assert_int_equal(f.r.verdict.n_failures, 0);
    assert_int_equal(f.r.verdict.n_warnings, 0);
    assert_true(f.r.verdict.max_rhat == 1.01 && f.r.verdict.min_ess == 400);
    hcmc_config_release(&f.c);
}

static void test_rhat_ess(void **state)
{
    (void)state;
    fixture f;
    good(&f, 1);
    f.sum[3].rhat = 1.0101; /* just above */
    judge(&f);
    assert_false(f.r.verdict.ok);
    const hcmc_verdict_item *it = failure(&f, "r_hat");
    assert_non_null(it);
    assert_non_null(strstr(it->what, "sigma 1.010"));
    assert_non_null(strstr(it->advice, "num_warmup, now 500")); /* no other cause */
    f.sum[3].rhat = 1.01; /* at the threshold: passes */
    judge(&f);
    assert_true(f.r.verdict.ok);
    f.sum[3].ess_tail = 399;
    judge(&f);
    it = failure(&f, "ess");
    assert_non_null(it);
    assert_non_null(strstr(it->what, "sigma 3000 / 399"));
    assert_non_null(strstr(it->advice, "num_samples, now 1500"));
    assert_null(failure(&f, "r_hat"));
    f.sum[3].ess_tail = NAN; /* not computable is not a pass */
    judge(&f);
    assert_non_null(failure(&f, "ess"));
    /* the thresholds are the configuration's */
    f.c.verdict_min_ess = 100;
    f.sum[3].ess_tail = 150;
    judge(&f);
    assert_true(f.r.verdict.ok);
    hcmc_config_release(&f.c);
}

static void test_causes(void **state)
{
    (void)state;
    fixture f;
    good(&f, 1);
    /* alpha within 1 sd of 0 and D0 not converged: the D0-D_offset split */
    f.sum[1].mean = 0.02;
    f.sum[1].sd = 0.1;
    f.sum[0].rhat = 1.3;
    judge(&f);
    const hcmc_verdict_item *it = failure(&f, "r_hat");
    assert_non_null(it);
    assert_non_null(strstr(it->advice, "D0-D_offset split is not identified"));
    assert_non_null(strstr(it->advice, "fix alpha = 0 and D_offset = 0"));
    /* alpha away from 0 and D0's interval at its upper bound: the bound */
    f.sum[1].mean = -0.5;
    f.sum[1].sd = 0.02;
    f.sum[0].q95 = 99950;
    judge(&f);
    it = failure(&f, "r_hat");
    assert_non_null(strstr(it->advice, "D0 reaches its upper bound 100000"));
    /* a positive lower bound far below the interval, though within 1 % of
     * the range (a rate bounded by [1e-6, 0.5] seen at [1.6e-4, 2.3e-3]),
     * is not reached: no bound advice */
    f.sum[0].q95 = 3e4;
    f.sum[0].q05 = 150; /* 1.5 times D0's lower bound 100: reached */
    judge(&f);
    assert_non_null(
        strstr(failure(&f, "r_hat")->advice, "D0 reaches its lower bound 100"));
    f.sum[0].q05 = 900; /* 9 times it, within 1 % of the range: not reached */
    judge(&f);
    assert_null(strstr(failure(&f, "r_hat")->advice, "bound"));
    f.sum[0].q95 = 99950;
    /* a converged posterior at a bound is no failure, and gets no advice */
    f.sum[0].rhat = 1.001;
    judge(&f);
    assert_true(f.r.verdict.ok);
    hcmc_config_release(&f.c);
}

static void test_divergences(void **state)
{
    (void)state;
    fixture f;
    good(&f, SHARDS);
    f.shards[1].divergences = 60; /* exactly 1 % of 6 000: a warning */
    judge(&f);
    assert_true(f.r.verdict.ok);
    assert_non_null(warning(&f, "divergences"));
    f.shards[1].divergences = 61;
    judge(&f);
    assert_false(f.r.verdict.ok);
    const hcmc_verdict_item *it = failure(&f, "divergences");
    assert_non_null(it);
    assert_non_null(strstr(it->what, "shard 1"));
    assert_non_null(strstr(it->advice, "target_accept_prob"));
    /* an excluded shard's divergences are not the result's: a warning that
     * it was left out */
    f.shards[1].status = HCMC_SHARD_DIVERGENT;
    snprintf(f.shards[1].reason, sizeof f.shards[1].reason, "divergence rate 0.2");
    f.r.n_kept = 1;
    judge(&f);
    assert_true(f.r.verdict.ok);
    it = warning(&f, "shards");
    assert_non_null(it);
    assert_non_null(strstr(it->what, "divergence rate 0.2"));
    hcmc_config_release(&f.c);
}

static void test_shards_sampler_importance(void **state)
{
    (void)state;
    fixture f;
    good(&f, SHARDS);
    f.shards[0].rhat_max = 1.02; /* a kept shard whose chains disagree */
    judge(&f);
    assert_non_null(failure(&f, "shard_r_hat"));
    good(&f, SHARDS);
    f.shards[0].ebfmi_min = 0.25;
    f.shards[1].treedepth_hits = 121; /* of 12 000 transitions: above 1 % */
    judge(&f);
    assert_true(f.r.verdict.ok);
    assert_non_null(warning(&f, "e_bfmi"));
    assert_non_null(warning(&f, "tree_depth"));
    f.shards[1].treedepth_hits = 120; /* 1 %: not above it */
    f.shards[0].ebfmi_min = 0.3;
    judge(&f);
    assert_int_equal(f.r.verdict.n_warnings, 0);
    /* the importance correction refused: the draws are not the posterior */
    f.r.importance = (hcmc_importance_info){.n = 6000, .applied = false, .khat = 1.4};
    judge(&f);
    const hcmc_verdict_item *it = failure(&f, "importance");
    assert_non_null(it);
    assert_non_null(strstr(it->advice, "fewer, larger shards"));
    f.r.importance = (hcmc_importance_info){.n = 6000, .applied = true, .khat = 0.6};
    judge(&f);
    assert_true(f.r.verdict.ok);
    assert_non_null(warning(&f, "importance"));
    hcmc_config_release(&f.c);
}

/* After a refinement the draws are its chains: the shards' divergences,
 * disagreeing chains and a refused correction are warnings, and the
 * refinement's own divergences fail above 1 % (and warn at it). */
static void test_refined(void **state)
{
    (void)state;
    fixture f;
    good(&f, SHARDS);
    f.shards[0].rhat_max = 1.02;
    f.shards[1].divergences = 61;
    f.r.importance = (hcmc_importance_info){.n = 6000, .applied = false, .khat = 1.4};
    f.r.refine = (hcmc_refine_info){.done = true, .points = 20000, .chains = 4,
                                    .transitions = 6000, .ebfmi_min = 0.9};
    judge(&f);
    assert_true(f.r.verdict.ok);
    assert_non_null(warning(&f, "shard_r_hat"));
    assert_non_null(strstr(warning(&f, "shard_r_hat")->what, "refinement's"));
    assert_non_null(warning(&f, "divergences"));
    assert_non_null(warning(&f, "importance"));
    assert_null(item(f.r.verdict.warnings, f.r.verdict.n_warnings, "refine_divergences"));
    f.r.refine.divergences = 60; /* 1 %: a warning */
    judge(&f);
    assert_true(f.r.verdict.ok);
    assert_non_null(warning(&f, "refine_divergences"));
    f.r.refine.divergences = 61;
    judge(&f);
    assert_false(f.r.verdict.ok);
    assert_non_null(failure(&f, "refine_divergences"));
    /* the refinement's chains are the combined draws: their R-hat decides */
    f.r.refine.divergences = 0;
    f.sum[1].rhat = 1.02;
    judge(&f);
    assert_non_null(failure(&f, "r_hat"));
    /* left out for its time: a warning that says so; the rest as unrefined */
    f.r.refine = (hcmc_refine_info){.skipped = true, .estimate = 5e4};
    snprintf(f.r.refine.why, sizeof f.r.refine.why, "the correction needed 3 rounds");
    judge(&f);
    assert_non_null(warning(&f, "refine"));
    assert_non_null(strstr(warning(&f, "refine")->what, "about 50000 s"));
    assert_non_null(failure(&f, "shard_r_hat"));
    /* not refined (wanted, but it failed): the shards' troubles fail again */
    f.sum[1].rhat = 1.002;
    f.r.refine.done = false;
    judge(&f);
    assert_non_null(failure(&f, "shard_r_hat"));
    assert_non_null(failure(&f, "divergences"));
    assert_non_null(failure(&f, "importance"));
    hcmc_config_release(&f.c);
}

/* A law sampled in log rates whose exponent the draws put within 4 sd of 0
 * (those coordinates cannot follow the plateau at exponent 0): a warning
 * naming the law's prefactor and offset; none at 4 sd, none in other
 * coordinates. */
static void test_rates_reach(void **state)
{
    (void)state;
    fixture f;
    good(&f, 1);
    f.r.law_kind[0] = HCMC_LAW_RATES;
    f.r.law_kind[1] = -1;
    judge(&f); /* alpha = -0.5 +- 0.02: 25 sd */
    assert_null(warning(&f, "coordinates"));
    f.sum[1].sd = 0.16; /* 3.1 sd */
    judge(&f);
    assert_true(f.r.verdict.ok);
    const hcmc_verdict_item *it = warning(&f, "coordinates");
    assert_non_null(it);
    assert_non_null(strstr(it->what, "D(t) was sampled in log rates"));
    assert_non_null(strstr(it->what, "3.1 sd from 0"));
    assert_non_null(strstr(it->what, "D0 and D_offset"));
    assert_non_null(strstr(it->advice, "upper bound of D0"));
    f.sum[1].sd = 0.125; /* 4 sd: not below */
    judge(&f);
    assert_null(warning(&f, "coordinates"));
    f.sum[1].sd = 0.16;
    f.r.law_kind[0] = HCMC_LAW_SHAPE;
    judge(&f);
    assert_null(warning(&f, "coordinates"));
    hcmc_config_release(&f.c);
}

/* Another mode of the warm start's search (search()): a failure where it
 * has at least 1 % of the sampled mode's Laplace mass and the draws stay
 * more than 4 sd from it in some parameter; not where it is lighter, nor
 * where the draws reach it. */
static void test_search_modes(void **state)
{
    (void)state;
    fixture f;
    good(&f, 1);
    f.r.n_found = 2;
    for (size_t k = 0; k < DIM; k++)
        f.r.found[0].theta[k] = f.r.found[1].theta[k] = f.sum[k].mean;
    f.r.found[0].weight = 1;
    f.r.found[1].theta[1] = -0.5 + 5 * 0.02; /* alpha 5 sd away */
    f.r.found[1].weight = 0.3;
    f.r.found[1].dloglik = 1.5;
    judge(&f);
    const hcmc_verdict_item *it = failure(&f, "search");
    assert_non_null(it);
    assert_false(f.r.verdict.ok);
    assert_true(f.r.found_missed[1]);
    assert_non_null(strstr(it->what, "alpha = -0.4"));
    assert_non_null(strstr(it->what, "0.3 times the sampled mode's mass"));
    assert_non_null(strstr(it->advice, "bound alpha"));
    f.r.found[1].weight = 0.009; /* lighter than 1 % */
    judge(&f);
    assert_null(failure(&f, "search"));
    assert_true(f.r.verdict.ok);
    f.r.found[1].weight = 0.3;
    f.r.found[1].theta[1] = -0.5 + 3.9 * 0.02; /* within the draws' reach */
    judge(&f);
    assert_null(failure(&f, "search"));
    assert_false(f.r.found_missed[1]);
    hcmc_config_release(&f.c);
}

/* Modes sampled one by one (modes()): a search mode that was sampled is
 * no failure, the mixture is a warning with the weights; a mode whose own
 * chains diverged in more than 1 % of their transitions fails. */
static void test_sampled_modes(void **state)
{
    (void)state;
    fixture f;
    good(&f, 1);
    hcmc_param_summary ms[2 * DIM];
    memcpy(ms, f.sum, sizeof f.sum);
    memcpy(ms + DIM, f.sum, sizeof f.sum);
    ms[DIM + 1].mean = -0.4;
    f.r.n_found = 2;
    for (size_t k = 0; k < DIM; k++)
        f.r.found[0].theta[k] = f.r.found[1].theta[k] = f.sum[k].mean;
    f.r.found[0].weight = 1;
    f.r.found[1].theta[1] = -0.4;
    f.r.found[1].weight = 0.3;
    f.r.found_sampled[1] = true;
    f.r.n_modes = 2;
    f.r.mode_summary = ms;
    f.r.modes[0] = (hcmc_run_mode){
        .weight = 0.77, .weight_se = 0.01, .chains = 4, .draws = 1500, .found = 0};
    f.r.modes[1] = (hcmc_run_mode){.weight = 0.23,
                                   .weight_se = 0.01,
                                   .chains = 4,
                                   .draws = 1500,
                                   .found = 1,
                                   .transitions = 6000,
                                   .divergences = 60};
    judge(&f);
    assert_true(f.r.verdict.ok);
    assert_null(failure(&f, "search"));
    assert_false(f.r.found_missed[1]);
    const hcmc_verdict_item *it = warning(&f, "modes");
    assert_non_null(it);
    assert_non_null(strstr(it->what, "2 modes"));
    assert_non_null(strstr(it->what, "0.77 +- 0.01, 0.23 +- 0.01"));
    f.r.modes[1].divergences = 61; /* above 1 % */
    judge(&f);
    assert_false(f.r.verdict.ok);
    assert_non_null(failure(&f, "divergences"));
    f.r.mode_summary = NULL;
    hcmc_config_release(&f.c);
}

/* summary.json keeps the verdict, the printed block shows it */
static void test_round_trip(void **state)
{
    (void)state;
    fixture f;
    good(&f, SHARDS);
    f.sum[0].rhat = 1.3;
    f.shards[1].divergences = 3;
    snprintf(f.r.backend, sizeof f.r.backend, "serial");
    judge(&f);
    char dir[] = "/tmp/hcmc_test_verdict.XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/summary.json", dir);
    hcmc_error e;
    assert_int_equal(hcmc__summary_write(path, &f.r, &f.c, NULL, &e), 0);
    hcmc_run_result *r = NULL;
    assert_int_equal(hcmc_run_summary_read(dir, &r, NULL, 0, &e), 0);
    const hcmc_verdict *a = &f.r.verdict, *b = &r->verdict;
    assert_true(b->known && !b->ok);
    assert_int_equal(b->n_failures, a->n_failures);
    assert_int_equal(b->n_warnings, a->n_warnings);
    assert_string_equal(b->failures[0].what, a->failures[0].what);
    assert_string_equal(b->failures[0].advice, a->failures[0].advice);
    assert_string_equal(b->warnings[0].check, "divergences");
    assert_true(b->max_rhat == 1.01 && b->min_ess == 400);
    assert_int_equal(r->shards[1].transitions, 6000);
    assert_true(r->shards[0].ebfmi_min == 0.9);
    assert_false(r->refine.done); /* "refinement": null */
    hcmc_run_result_free(r);
    /* a refinement and the Monte Carlo error of the sd go through too */
    f.r.refine = (hcmc_refine_info){.done = true, .points = 20000, .chains = 4,
                                    .transitions = 6000, .divergences = 2,
                                    .seconds = 1.5, .ebfmi_min = 0.9};
    snprintf(f.r.refine.why, sizeof f.r.refine.why, "combination.refine is always");
    f.sum[0].mcse_sd = 7.5;
    assert_int_equal(hcmc__summary_write(path, &f.r, &f.c, NULL, &e), 0);
    assert_int_equal(hcmc_run_summary_read(dir, &r, NULL, 0, &e), 0);
    assert_true(r->refine.done);
    assert_string_equal(r->refine.why, f.r.refine.why);
    assert_int_equal(r->refine.points, 20000);
    assert_int_equal(r->refine.chains, 4);
    assert_int_equal(r->refine.transitions, 6000);
    assert_int_equal(r->refine.divergences, 2);
    assert_true(r->refine.seconds == 1.5);
    assert_true(r->summary[0].mcse_sd == 7.5);
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    hcmc_run_print_verdict(m, r);
    fclose(m);
    assert_non_null(strstr(text, "verdict: FAILED diagnostics"));
    assert_non_null(strstr(text, "  FAIL R-hat above 1.01: D0 1.300"));
    assert_non_null(strstr(text, "  warn 3 divergent transitions"));
    free(text);
    hcmc_run_result_free(r);
    remove(path);
    rmdir(dir);
    hcmc_config_release(&f.c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ok),
        cmocka_unit_test(test_rhat_ess),
        cmocka_unit_test(test_causes),
        cmocka_unit_test(test_divergences),
        cmocka_unit_test(test_shards_sampler_importance),
        cmocka_unit_test(test_rates_reach),
        cmocka_unit_test(test_refined),
        cmocka_unit_test(test_search_modes),
        cmocka_unit_test(test_sampled_modes),
        cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
