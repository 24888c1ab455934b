/* Priors against closed forms, transforms, and impossible bounds. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hcmc/prior.h"

#define NO NAN

static hcmc_prior make(hcmc_prior_type t, double lo, double hi, double mu, double sd)
{
    hcmc_prior p;
    hcmc_error e;
    if (hcmc_prior_init(&p, t, lo, hi, mu, sd, "x", &e))
        fail_msg("prior init failed: %s", e.msg);
    return p;
}

/* One prior of each kind (Normal is TruncatedNormal's alias), bounded
 * away from their singular points. */
static void four_priors(hcmc_prior ps[4])
{
    ps[0] = make(HCMC_PRIOR_TRUNCATED_NORMAL, -1, 4, 0.5, 0.7);
    ps[1] = make(HCMC_PRIOR_LOGNORMAL, 0.5, 20, 1.0, 0.8);
    ps[2] = make(HCMC_PRIOR_BETA_SCALED, -3, 5, 0.0, 1.5);
    ps[3] = make(HCMC_PRIOR_UNIFORM, 2, 3, NO, NO);
}

/* Expected values from Python's math module (erf, erfc, lgamma):
 *   TruncatedNormal(0.3, 0.2) on [0,1] at 0.5:
 *     -0.5*(1)^2 - log(0.2 sqrt(2 pi)) - log(Phi(3.5) - Phi(-1.5))
 *   LogNormal(0, 1) on [0, 10] at 2:
 *     -log 2 - log sqrt(2 pi) - 0.5 (log 2)^2 - log Phi(log 10)
 *   BetaScaled(mean 1.5, sd 0.3) on [1, 3] at 2: Beta(a, b) with
 *     m = 0.25, kappa = m(1-m)/0.15^2 - 1, a = m kappa, b = (1-m) kappa,
 *     (a-1) log .5 + (b-1) log .5 - log B(a, b) - log 2
 *   default TruncatedNormal on [100, 1e5] (mu 50050, sd 24975) at 5000
 *   TruncatedNormal(0, 1) on [8, 9] at 8.5, mass by erfc (far tail). */
static void test_closed_forms(void **state)
{
    (void)state;
    struct {
        hcmc_prior p;
        double x, want;
    } c[] = {
        {make(HCMC_PRIOR_TRUNCATED_NORMAL, 0, 1, 0.3, 0.2), 0.5, 0.25989214889488432},
        {make(HCMC_PRIOR_NORMAL, 0, 1, 0.3, 0.2), 0.5, 0.25989214889488432},
        {make(HCMC_PRIOR_LOGNORMAL, 0, 10, 0, 1), 2.0, -1.8416039924036918},
        {make(HCMC_PRIOR_BETA_SCALED, 1, 3, 1.5, 0.3), 2.0, -1.07466689741418},
        {make(HCMC_PRIOR_TRUNCATED_NORMAL, 100, 1e5, NO, NO), 5000,
         -12.624855305737571},
        {make(HCMC_PRIOR_TRUNCATED_NORMAL, 8, 9, 0, 1), 8.5, -2.03031993976753},
        {make(HCMC_PRIOR_UNIFORM, -2, 2, NO, NO), 0.7, -log(4.0)},
    };
    for (size_t k = 0; k < sizeof c / sizeof *c; k++) {
        double got = hcmc_prior_logpdf(&c[k].p, c[k].x, NULL);
        /* 1e-12 relative: erf/lgamma agree to a few ulps; the far-tail
         * case would lose everything without the erfc path */
        if (fabs(got - c[k].want) > 1e-12 * fmax(1.0, fabs(c[k].want)))
            fail_msg("case %zu: got %.17g want %.17g", k, got, c[k].want);
    }
    hcmc_prior u = make(HCMC_PRIOR_UNIFORM, -2, 2, NO, NO);
    assert_true(isinf(hcmc_prior_logpdf(&u, 2.5, NULL)));
}

/* Each prior integrates to 1 over its bounds (Simpson, 20 000 intervals;
 * the BetaScaled and LogNormal densities are smooth inside, error < 1e-6). */
static void test_normalised(void **state)
{
    (void)state;
    hcmc_prior ps[4];
    four_priors(ps);
    for (size_t k = 0; k < 4; k++) {
        const int n = 20000;
        double lo = ps[k].lo, hi = ps[k].hi, h = (hi - lo) / n, s = 0;
        for (int i = 0; i <= n; i++) {
            double x = lo + i * h, w = (i == 0 || i == n) ? 1 : (i % 2 ? 4 : 2);
            double f = exp(hcmc_prior_logpdf(&ps[k], x, NULL));
            s += w * (isfinite(f) ? f : 0);
        }
        s *= h / 3;
        if (fabs(s - 1) > 1e-6)
            fail_msg("prior %zu integrates to %.9f", k, s);
    }
}

/* d log p / dx against central differences (h = 1e-6 of the range). */
static void test_prior_derivatives(void **state)
{
    (void)state;
    hcmc_prior ps[4];
    four_priors(ps);
    for (size_t k = 0; k < 4; k++)
        for (double f = 0.1; f < 0.95; f += 0.2) {
            double x = ps[k].lo + f * (ps[k].hi - ps[k].lo);
            double h = 1e-6 * (ps[k].hi - ps[k].lo), d;
            hcmc_prior_logpdf(&ps[k], x, &d);
            double fd = (hcmc_prior_logpdf(&ps[k], x + h, NULL) -
                         hcmc_prior_logpdf(&ps[k], x - h, NULL)) /
                        (2 * h);
            assert_true(fabs(d - fd) < 1e-6 * fmax(1.0, fabs(d)));
        }
}

static void test_transform_round_trip(void **state)
{
    (void)state;
    const double b[][2] = {{0, 1}, {-1e5, 1e5}, {1e-6, 0.5}, {100, 1e5}};
    for (size_t k = 0; k < 4; k++)
        for (double z = -30; z <= 30; z += 0.37) {
            double dx, lj, dlj;
            double x = hcmc_bounded_from_real(b[k][0], b[k][1], z, &dx, &lj, &dlj);
            assert_true(x >= b[k][0] && x <= b[k][1]);
            /* log-Jacobian equals log dx/dz and its derivative matches */
            assert_true(fabs(lj - log(dx)) < 1e-12 * fmax(1, fabs(lj)));
            double h = 1e-5, l1, l2;
            hcmc_bounded_from_real(b[k][0], b[k][1], z + h, NULL, &l1, NULL);
            hcmc_bounded_from_real(b[k][0], b[k][1], z - h, NULL, &l2, NULL);
            assert_true(fabs((l1 - l2) / (2 * h) - dlj) < 1e-8);
            if (fabs(z) < 15) { /* beyond, x sits on a bound in double */
                double back = hcmc_bounded_to_real(b[k][0], b[k][1], x);
                assert_true(fabs(back - z) < 1e-9 * fmax(1, fabs(z)));
            }
        }
}

static void test_bad_priors(void **state)
{
    (void)state;
    hcmc_prior p;
    hcmc_error e;
    assert_int_equal(hcmc_prior_init(&p, HCMC_PRIOR_UNIFORM, 1, 1, NO, NO, "D0", &e),
                     HCMC_EINVAL);
    assert_non_null(strstr(e.msg, "D0"));
    assert_non_null(strstr(e.msg, "[1, 1]"));
    assert_int_equal(hcmc_prior_init(&p, HCMC_PRIOR_UNIFORM, 3, 1, NO, NO, "beta", &e),
                     HCMC_EINVAL);
    assert_int_equal(
        hcmc_prior_init(&p, HCMC_PRIOR_UNIFORM, NAN, 1, NO, NO, "beta", &e),
        HCMC_EINVAL);
    assert_int_equal(
        hcmc_prior_init(&p, HCMC_PRIOR_LOGNORMAL, -1, 1, NO, NO, "D_offset", &e),
        HCMC_EINVAL);
    assert_non_null(strstr(e.msg, "LogNormal"));
    assert_non_null(strstr(e.msg, "D_offset"));
    assert_int_equal(
        hcmc_prior_init(&p, HCMC_PRIOR_BETA_SCALED, 0, 1, 0.5, 0.6, "c", &e),
        HCMC_EINVAL);
    assert_non_null(strstr(e.msg, "too large"));
    assert_int_equal(
        hcmc_prior_init(&p, HCMC_PRIOR_TRUNCATED_NORMAL, 0, 1, 0.5, -1, "c", &e),
        HCMC_EINVAL);
    hcmc_prior_type t;
    assert_int_equal(hcmc_prior_type_parse("LogNormal", &t, &e), 0);
    assert_int_equal(t, HCMC_PRIOR_LOGNORMAL);
    assert_int_equal(hcmc_prior_type_parse("Gamma", &t, &e), HCMC_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_closed_forms),
        cmocka_unit_test(test_normalised),
        cmocka_unit_test(test_prior_derivatives),
        cmocka_unit_test(test_transform_round_trip),
        cmocka_unit_test(test_bad_priors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
