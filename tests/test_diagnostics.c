/* Diagnostics against R's `posterior` on fixed draws, and against the
 * known answers of iid, AR(1) and shifted chains. */
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
#include "hcmc/rng.h"

#define NCH 4
#define NDR 251

/* tests/ref/diag_draws.csv (written by tests/ref/diag_draws.py), as
 * x[v][chain * NDR + draw]. */
static void read_draws(double x[3][NCH * NDR])
{
    FILE *f = fopen(HCMC_TEST_REF_DIR "/diag_draws.csv", "r");
    assert_non_null(f);
    char line[256];
    assert_non_null(fgets(line, sizeof line, f));
    for (size_t i = 0; i < NCH * NDR; i++) {
        int c, d;
        assert_int_equal(
            fscanf(f, "%d,%d,%lf,%lf,%lf", &c, &d, &x[0][i], &x[1][i], &x[2][i]), 5);
        assert_int_equal((size_t)((c - 1) * NDR + d - 1), i);
    }
    fclose(f);
}

static void assert_rel(double got, double want, const char *what)
{
    if (!(fabs(got - want) <= 1e-6 * fabs(want)))
        fail_msg("%s: %.17g, posterior gives %.17g", what, got, want);
}

/* Reference values printed by `Rscript tests/ref/diag_reference.R` with
 * Debian's r-cran-posterior 1.4.0 (rhat, ess_bulk, ess_tail, ess_mean,
 * mcse_mean, rhat_basic, mcse_sd). */
static void test_matches_posterior(void **state)
{
    (void)state;
    static double x[3][NCH * NDR];
    read_draws(x);
    static const double ref[3][7] = {
        {1.0112665078643537, 286.19808475345855, 439.62474693317563, 287.70180086137321,
         0.072335404014066726, 1.0113194164110884, 0.037150960075109388},
        {1.0403419444877198, 232.36899318916997, 466.27857724767193, 261.66622335688248,
         0.048488741268404204, 1.0248956088680039, 0.043556576977665663},
        {1.0023142479439306, 1015.1277880659115, 1032.1209804395903, 1008.5726866693186,
         0.026438836901499306, 1.001653779158884, 0.010408190938621361},
    };
    for (int v = 0; v < 3; v++) {
        assert_rel(hcmc_rhat(x[v], NCH, NDR, 1), ref[v][0], "rhat");
        assert_rel(hcmc_ess_bulk(x[v], NCH, NDR, 1), ref[v][1], "ess_bulk");
        assert_rel(hcmc_ess_tail(x[v], NCH, NDR, 1), ref[v][2], "ess_tail");
        assert_rel(hcmc_ess_mean(x[v], NCH, NDR, 1), ref[v][3], "ess_mean");
        assert_rel(hcmc_mcse_mean(x[v], NCH, NDR, 1), ref[v][4], "mcse_mean");
        assert_rel(hcmc_rhat_basic(x[v], NCH, NDR, 1), ref[v][5], "rhat_basic");
        assert_rel(hcmc_mcse_sd(x[v], NCH, NDR, 1), ref[v][6], "mcse_sd");
    }
}

static double *ar1_chains(size_t chains, size_t draws, double rho, uint64_t seed)
{
    double *x = malloc(chains * draws * sizeof(double));
    hcmc_rng rng;
    for (size_t c = 0; c < chains; c++) {
        hcmc_rng_init(&rng, seed, HCMC_RNG_TEST, 0, (uint32_t)c);
        double v = hcmc_rng_normal(&rng); /* stationary start */
        for (size_t d = 0; d < draws; d++) {
            if (d > 0)
                v = rho * v + sqrt(1 - rho * rho) * hcmc_rng_normal(&rng);
            x[c * draws + d] = v;
        }
    }
    return x;
}

/* iid draws: R-hat's sampling sd at 4 x 1000 draws is about 5e-4, so 1.005
 * is a 10-sd margin; the ESS estimate's relative sd is about 4 % there, and
 * 20 % is five of them. */
static void test_iid(void **state)
{
    (void)state;
    double *x = ar1_chains(4, 1000, 0.0, 1);
    double r = hcmc_rhat(x, 4, 1000, 1);
    assert_true(fabs(r - 1.0) < 0.005);
    double eb = hcmc_ess_bulk(x, 4, 1000, 1);
    assert_true(fabs(eb / 4000.0 - 1.0) < 0.2);
    double et = hcmc_ess_tail(x, 4, 1000, 1);
    assert_true(fabs(et / 4000.0 - 1.0) < 0.2);
    free(x);
}

/* AR(1) with rho = 0.5 and 0.9: ESS of the mean = n (1 - rho) / (1 + rho).
 * 4 x 10000 draws keep the estimator's relative sd near 2-3 %: 10 % is
 * about 4 sd. */
static void test_ar1(void **state)
{
    (void)state;
    const double rhos[2] = {0.5, 0.9};
    for (int i = 0; i < 2; i++) {
        double rho = rhos[i];
        double *x = ar1_chains(4, 10000, rho, 2 + (uint64_t)i);
        double want = 40000.0 * (1 - rho) / (1 + rho);
        double em = hcmc_ess_mean(x, 4, 10000, 1);
        double eb = hcmc_ess_bulk(x, 4, 10000, 1);
        print_message("AR(1) rho %.1f: ess_mean %.0f, ess_bulk %.0f, theory %.0f\n",
                      rho, em, eb, want);
        assert_true(fabs(em / want - 1.0) < 0.1);
        assert_true(fabs(eb / want - 1.0) < 0.1);
        free(x);
    }
}

/* One chain of four shifted by two sd: R-hat about 1.35 (1.0 if mixed). */
static void test_shifted_means(void **state)
{
    (void)state;
    double *x = ar1_chains(4, 1000, 0.0, 7);
    for (size_t d = 0; d < 1000; d++)
        x[3 * 1000 + d] += 2.0;
    assert_true(hcmc_rhat(x, 4, 1000, 1) > 1.1);
    /* a chain with a larger spread only: caught by the folded R-hat */
    double *y = ar1_chains(4, 1000, 0.0, 8);
    for (size_t d = 0; d < 1000; d++)
        y[d] *= 3.0;
    assert_true(hcmc_rhat_basic(y, 4, 1000, 1) < 1.01);
    assert_true(hcmc_rhat(y, 4, 1000, 1) > 1.1);
    free(x);
    free(y);
}

static void test_degenerate_and_ebfmi(void **state)
{
    (void)state;
    double c[40];
    for (int i = 0; i < 40; i++)
        c[i] = 2.5;
    assert_true(isnan(hcmc_rhat(c, 2, 20, 1)));
    assert_true(isnan(hcmc_ess_bulk(c, 2, 20, 1)));
    c[3] = NAN;
    assert_true(isnan(hcmc_ess_tail(c, 2, 20, 1)));
    assert_true(isnan(hcmc_ess_mean(c, 1, 4, 1))); /* 2 draws per split chain */
    /* E-BFMI: iid energies give about 2; a random walk gives about 0 */
    double *e = ar1_chains(1, 4000, 0.0, 9);
    assert_true(fabs(hcmc_ebfmi(e, 4000) - 2.0) < 0.15);
    double *w = ar1_chains(1, 4000, 0.999, 10);
    assert_true(hcmc_ebfmi(w, 4000) < 0.05);
    free(e);
    free(w);
    /* qnorm at known quantiles */
    assert_true(fabs(hcmc_qnorm(0.975) - 1.959963984540054) < 1e-15);
    assert_true(fabs(hcmc_qnorm(1e-10) + 6.361340902404056) < 1e-13);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_posterior),
        cmocka_unit_test(test_iid),
        cmocka_unit_test(test_ar1),
        cmocka_unit_test(test_shifted_means),
        cmocka_unit_test(test_degenerate_and_ebfmi),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
