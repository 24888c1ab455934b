/* The homodyne model: c2 against independently computed values. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hcmc/model.h"
#include "hcmc/prior.h"

typedef struct {
    double q, L, dt;
    size_t n_t;
    hcmc_mode mode;
    double phys[7];
    double phi, contrast, offset;
    hcmc_convention conv;
} ref_case;

/* Same cases as tests/ref/c2_reference.py. */
// clang-format off
static const ref_case cases[] = {
    {0.0054, 2e6, 0.1, 50, HCMC_MODE_STATIC, {1000.0, -0.5, 10.0},
     0.0, 0.3, 1.0, HCMC_CONVENTION_PHYSICAL},
    {0.01, 2e6, 0.5, 40, HCMC_MODE_STATIC, {250.0, 0.8, -50.0},
     30.0, 0.6, 0.95, HCMC_CONVENTION_PHYSICAL},
    {0.0054, 2e6, 0.1, 50, HCMC_MODE_LAMINAR, {1000.0, -0.5, 10.0, 0.002, -0.3, 1e-4, 4.0},
     30.0, 0.3, 1.0, HCMC_CONVENTION_PHYSICAL},
    {0.0054, 2e6, 0.1, 50, HCMC_MODE_LAMINAR, {1000.0, -0.5, 10.0, 0.002, -0.3, 1e-4, 4.0},
     30.0, 0.3, 1.0, HCMC_CONVENTION_HOMODYNE},
    {0.003, 1e6, 0.05, 60, HCMC_MODE_LAMINAR, {5000.0, 1.2, 0.0, 0.01, 0.5, -0.001, -5.0},
     -120.0, 0.2, 1.1, HCMC_CONVENTION_PHYSICAL},
    {0.003, 1e6, 0.05, 60, HCMC_MODE_LAMINAR, {5000.0, 1.2, 0.0, 0.01, 0.5, -0.001, -5.0},
     -120.0, 0.2, 1.1, HCMC_CONVENTION_HOMODYNE},
};
// clang-format on

/* Expected values: output of tests/ref/c2_reference.py, a direct Python
 * transcription of MODEL.md section 2 (case, i, j, c2). */
static const struct {
    int c, i, j;
    double v;
} expected[] = {
    {0, 1, 2, 1.2976393523918484},   {0, 1, 49, 1.2681010377090296},
    {0, 3, 17, 1.2869217323791511},  {0, 10, 30, 1.2872911803831633},
    {0, 20, 39, 1.290188258701964},  {1, 1, 2, 1.5456123123984105},
    {1, 3, 17, 1.2825505893107843},  {1, 10, 30, 1.08169520475241},
    {1, 20, 39, 1.0318738513929733}, {2, 1, 2, 1.0866390559202381},
    {2, 1, 49, 1.0001015595109539},  {2, 3, 17, 1.0007797471243505},
    {2, 10, 30, 1.0009290990824458}, {2, 20, 39, 1.0013477014950383},
    {3, 1, 2, 1.2383421777953723},   {3, 1, 49, 1.0000017390994689},
    {3, 3, 17, 1.0005786086909969},  {3, 10, 30, 1.0001112178932083},
    {3, 20, 39, 1.0006393046108104}, {4, 1, 2, 1.2997863434185262},
    {4, 1, 49, 1.1006219174123133},  {4, 3, 17, 1.1070833046948145},
    {4, 10, 30, 1.1021905935251415}, {4, 20, 39, 1.1006235361209271},
    {5, 1, 2, 1.2999404463420148},   {5, 1, 49, 1.1003644993483781},
    {5, 3, 17, 1.2225832151570726},  {5, 10, 30, 1.1166950693844193},
    {5, 20, 39, 1.1047651509235326},
};

static double eval_case(const ref_case *rc, size_t i, size_t j)
{
    hcmc_model m = {rc->mode, rc->conv, rc->q, rc->L, rc->dt, rc->n_t};
    double CJ[64], CG[64];
    hcmc_model_integrals(&m, rc->phys, CJ, CG);
    return hcmc_model_c2(&m, rc->phys, CJ, CG, rc->phi, i, j, rc->contrast, rc->offset);
}

/* Relative 1e-13: both sides sum at most 60 trapezoid terms in the same
 * order; differences are a few ulps from pow/exp/sin. */
static void test_c2_reference_values(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof expected / sizeof *expected; k++) {
        double got = eval_case(&cases[expected[k].c], (size_t)expected[k].i,
                               (size_t)expected[k].j);
        if (fabs(got - expected[k].v) > 1e-13 * fabs(expected[k].v))
            fail_msg("case %d (%d,%d): got %.17g want %.17g", expected[k].c,
                     expected[k].i, expected[k].j, got, expected[k].v);
    }
}

/* Closed forms: alpha = 0, D_offset = 0 makes J constant, so the trapezoid
 * is exact and g_D = exp(-q^2 D0 (j-i) dt); beta = 0, gamma_offset = 0 and
 * phi0 = phi give X = q L gdot (j-i) dt. */
static void test_c2_closed_forms(void **state)
{
    (void)state;
    const double q = 0.005, L = 1e6, dt = 0.2, D0 = 800, g0 = 3e-3;
    hcmc_model m = {HCMC_MODE_LAMINAR, HCMC_CONVENTION_PHYSICAL, q, L, dt, 30};
    double phys[7] = {D0, 0.0, 0.0, g0, 0.0, 0.0, 12.0};
    double CJ[30], CG[30];
    hcmc_model_integrals(&m, phys, CJ, CG);
    for (size_t i = 1; i < 30; i += 7)
        for (size_t j = i + 1; j < 30; j += 5) {
            double lag = (double)(j - i) * dt;
            double X = q * L * g0 * lag;
            double s = sin(X / 2) / (X / 2);
            double want = 1.0 + 0.4 * exp(-q * q * D0 * lag) * s * s;
            assert_true(fabs(hcmc_model_c2(&m, phys, CJ, CG, 12.0, i, j, 0.4, 1.0) -
                             want) < 1e-14);
            m.convention = HCMC_CONVENTION_HOMODYNE;
            double v = X / (2 * M_PI), s4 = pow(sin(v) / v, 4);
            want = 1.0 + 0.4 * exp(-q * q * D0 * lag) * s4;
            assert_true(fabs(hcmc_model_c2(&m, phys, CJ, CG, 12.0, i, j, 0.4, 1.0) -
                             want) < 1e-14);
            m.convention = HCMC_CONVENTION_PHYSICAL;
            /* perpendicular to the flow the shear term vanishes */
            want = 1.0 + 0.4 * exp(-q * q * D0 * lag);
            assert_true(fabs(hcmc_model_c2(&m, phys, CJ, CG, 102.0, i, j, 0.4, 1.0) -
                             want) < 1e-12);
        }
    /* the diagonal is offset + contrast; the matrix is symmetric */
    assert_true(hcmc_model_c2(&m, phys, CJ, CG, 0.0, 5, 5, 0.4, 1.0) == 1.4);
    assert_true(hcmc_model_c2(&m, phys, CJ, CG, 3.0, 9, 4, 0.4, 1.0) ==
                hcmc_model_c2(&m, phys, CJ, CG, 3.0, 4, 9, 0.4, 1.0));
}

/* Rates below the floor are clamped: a large negative offset gives
 * J = 1e-10 everywhere and g_D = 1 to within 1e-9. */
static void test_rate_floor(void **state)
{
    (void)state;
    hcmc_model m = {HCMC_MODE_STATIC, HCMC_CONVENTION_PHYSICAL, 0.01, 2e6, 0.1, 20};
    double phys[3] = {100, 0.5, -1e5}, CJ[20];
    hcmc_model_integrals(&m, phys, CJ, NULL);
    assert_true(fabs(CJ[19] - 19 * 0.1 * 1e-10) < 1e-20);
}

static void test_shear_factor_series(void **state)
{
    (void)state;
    /* continuity across the series threshold and the limit at 0 */
    assert_true(hcmc_model_shear_factor(HCMC_CONVENTION_PHYSICAL, 0.0) == 1.0);
    /* on both sides of the series threshold |u| = 1e-4 the value is
     * sinc(u)^2 to rounding (sin(u)/u is exact to 1e-16 there) */
    for (double u = 0.99e-4; u < 1.01e-4; u += 0.005e-4) {
        double want = pow(sin(u) / u, 2);
        assert_true(fabs(hcmc_model_shear_factor(HCMC_CONVENTION_PHYSICAL, 2 * u) -
                         want) < 4e-16);
    }
    double u = 0.3;
    assert_true(fabs(hcmc_model_shear_factor(HCMC_CONVENTION_PHYSICAL, 2 * u) -
                     pow(sin(u) / u, 2)) < 1e-15);
}

static void test_names_and_parsing(void **state)
{
    (void)state;
    hcmc_mode mode;
    hcmc_error e;
    assert_int_equal(hcmc_mode_parse("static_isotropic", &mode, &e), 0);
    assert_int_equal(mode, HCMC_MODE_STATIC);
    assert_int_equal(hcmc_mode_parse("static_anisotropic", &mode, &e), 0);
    assert_int_equal(hcmc_mode_parse("laminar_flow", &mode, &e), 0);
    assert_int_equal(mode, HCMC_MODE_LAMINAR);
    assert_int_equal(hcmc_mode_parse("turbulent", &mode, &e), HCMC_EINVAL);
    assert_non_null(strstr(e.msg, "turbulent"));
    assert_int_equal(hcmc_phys_index("gamma_dot_0"), HCMC_P_GAMMA_DOT_T0);
    assert_int_equal(hcmc_phys_index("gamma_dot_offset"), HCMC_P_GAMMA_DOT_T_OFFSET);
    assert_int_equal(hcmc_phys_index("phi_0"), HCMC_P_PHI0);
    assert_int_equal(hcmc_phys_index("D_offset"), HCMC_P_D_OFFSET);
    assert_int_equal(hcmc_phys_index("D1"), -1);
    assert_int_equal(hcmc_mode_nphys(HCMC_MODE_LAMINAR), 7);
    assert_true(hcmc_angle_normalize(180.0) == 180.0);
    assert_true(hcmc_angle_normalize(-180.0) == 180.0);
    assert_true(hcmc_angle_normalize(270.0) == -90.0);
    assert_true(hcmc_angle_normalize(-450.0) == -90.0);
}

static void test_bad_geometry(void **state)
{
    (void)state;
    hcmc_error e;
    hcmc_model m = {HCMC_MODE_STATIC, HCMC_CONVENTION_PHYSICAL, 0.01, 2e6, 0.1, 20};
    assert_int_equal(hcmc_model_check(&m, &e), 0);
    m.dt = 0;
    assert_int_equal(hcmc_model_check(&m, &e), HCMC_EINVAL);
    assert_non_null(strstr(e.msg, "dt = 0"));
    m.dt = 0.1;
    m.q = -1;
    assert_int_equal(hcmc_model_check(&m, &e), HCMC_EINVAL);
    assert_non_null(strstr(e.msg, "q = -1"));
    m.q = NAN;
    assert_int_equal(hcmc_model_check(&m, &e), HCMC_EINVAL);
    m.q = 0.01;
    m.L = 0;
    assert_int_equal(hcmc_model_check(&m, &e), HCMC_EINVAL);
    m.L = 1;
    m.n_t = 2;
    assert_int_equal(hcmc_model_check(&m, &e), HCMC_EINVAL);
    assert_non_null(strstr(e.msg, "frames"));
}

/* Angle sets with a mirror axis of phi0, and the likelihood's invariance
 * under that mirror checked on c2 itself. */
static void test_mirror(void **state)
{
    (void)state;
    double s = -1;
    const double a[] = {0, 90}, b[] = {-45, 45, 135}, c[] = {30}, e[] = {-20, 50},
                 f[] = {0, 45, 90};
    assert_true(hcmc_angles_mirror_axis(a, 2, &s) && s == 0);
    assert_true(hcmc_angles_mirror_axis(b, 3, &s) && s == 45);
    assert_true(hcmc_angles_mirror_axis(c, 1, &s) && s == 30);
    assert_false(hcmc_angles_mirror_axis(e, 2, &s));
    assert_false(hcmc_angles_mirror_axis(f, 3, &s));
    assert_false(hcmc_angles_mirror_axis(a, 0, &s));
    /* the image within the bounds nearest to phi0, or none */
    assert_true(hcmc_phi0_mirror(8, 0, -10, 10) == -8);
    assert_true(isnan(hcmc_phi0_mirror(8, 0, -2, 18)));
    assert_true(isnan(hcmc_phi0_mirror(0, 0, -10, 10))); /* its own image */
    assert_true(fabs(hcmc_phi0_mirror(100, 45, 0, 180) - 170) < 1e-12);
    /* c2 is the same at phi0 and its image for every angle of the set */
    hcmc_model m = {.q = 0.0054, .L = 2e6, .dt = 0.1, .n_t = 40,
                    .mode = HCMC_MODE_LAMINAR};
    double p1[7] = {2e4, -0.5, 100, 2e-3, -0.3, 1e-5, 8}, p2[7];
    memcpy(p2, p1, sizeof p1);
    p2[6] = 2 * 45 - 8; /* the image about s = 45 for the set b */
    double CJ[40], CG[40];
    hcmc_model_integrals(&m, p1, CJ, CG);
    for (size_t k = 0; k < 3; k++) {
        double y1 = hcmc_model_c2(&m, p1, CJ, CG, b[k], 3, 30, 0.3, 1.0);
        double y2 = hcmc_model_c2(&m, p2, CJ, CG, b[k], 3, 30, 0.3, 1.0);
        assert_true(fabs(y1 - y2) < 1e-14);
        assert_true(y1 < 1.3 - 1e-3); /* shear has an effect to lose */
    }
    p2[6] = 10; /* not an image: c2 differs */
    assert_true(fabs(hcmc_model_c2(&m, p1, CJ, CG, 0, 3, 30, 0.3, 1.0) -
                     hcmc_model_c2(&m, p2, CJ, CG, 0, 3, 30, 0.3, 1.0)) > 1e-9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_c2_reference_values),
        cmocka_unit_test(test_c2_closed_forms),
        cmocka_unit_test(test_rate_floor),
        cmocka_unit_test(test_shear_factor_series),
        cmocka_unit_test(test_names_and_parsing),
        cmocka_unit_test(test_bad_geometry),
        cmocka_unit_test(test_mirror),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
