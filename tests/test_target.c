/* The log-density target: likelihood against the scalar reference model,
 * analytic gradient against finite differences, kernel variants, tempering,
 * per-angle scaling modes and bad input. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hcmc/dataset.h"
#include "hcmc/rng.h"
#include "hcmc/target.h"
#include "../src/model/kernel.h"

typedef struct {
    hcmc_target_spec spec;
    hcmc_dataset ds;
    hcmc_points pts;
    double phys[7];
} problem;

/* A small data set (n_phi angles, 24 frames) whose decay and shear both
 * show within the window, with test bounds around the truth so that random
 * points inside them stay in the model's informative range. */
static void problem_make_at(problem *p, hcmc_mode mode, hcmc_convention conv,
                            size_t n_phi, uint64_t seed, const double *angles)
{
    memset(p, 0, sizeof *p);
    hcmc_target_spec_defaults(&p->spec, mode);
    p->spec.model.convention = conv;
    p->spec.model.q = 0.0054;
    p->spec.model.L = 2e6;
    p->spec.model.dt = 0.1;
    p->spec.model.n_t = 24;
    const double truth[7] = {1500, -0.4, 20, 0.002, -0.2, 1e-4, 3.0};
    const double lo[7] = {100, -1.5, -50, 1e-4, -1, -1e-3, -10};
    const double hi[7] = {5000, 1.0, 200, 0.01, 1, 1e-3, 10};
    for (int k = 0; k < 7; k++)
        hcmc_prior_init(&p->spec.phys[k], HCMC_PRIOR_TRUNCATED_NORMAL, lo[k], hi[k],
                        NAN, NAN, hcmc_phys_name(k), NULL);
    /* a mix of declared prior types, so their gradients are exercised */
    hcmc_prior_init(&p->spec.phys[HCMC_P_D0], HCMC_PRIOR_LOGNORMAL, lo[0], hi[0],
                    log(1500), 1.0, "D0", NULL);
    hcmc_prior_init(&p->spec.phys[HCMC_P_ALPHA], HCMC_PRIOR_UNIFORM, lo[1], hi[1], NAN,
                    NAN, "alpha", NULL);
    hcmc_prior_init(&p->spec.phys[HCMC_P_BETA], HCMC_PRIOR_BETA_SCALED, lo[4], hi[4],
                    0.0, 0.4, "beta", NULL);
    memcpy(p->phys, truth, sizeof truth);
    double phi[8], con[8], off[8];
    for (size_t a = 0; a < n_phi; a++) {
        phi[a] = angles ? angles[a] : -40.0 + 37.0 * (double)a;
        con[a] = 0.25 + 0.02 * (double)a;
        off[a] = 1.0 + 0.01 * (double)a;
    }
    hcmc_synth_spec ss = {.model = p->spec.model,
                          .n_phi = n_phi,
                          .phi = phi,
                          .contrast = con,
                          .offset = off,
                          .noise = 0.01,
                          .seed = seed};
    memcpy(ss.phys, truth, sizeof truth);
    hcmc_error e;
    if (hcmc_synth_dataset(&ss, &p->ds, &e) ||
        hcmc_dataset_to_points(&p->ds, 1, -1, &p->pts, NULL, &e))
        fail_msg("%s", e.msg);
}

static void problem_make(problem *p, hcmc_mode mode, hcmc_convention conv, size_t n_phi,
                         uint64_t seed)
{
    problem_make_at(p, mode, conv, n_phi, seed, NULL);
}

static void problem_free(problem *p)
{
    hcmc_points_release(&p->pts);
    hcmc_dataset_release(&p->ds);
}

/* Whether n_phi angles fill more than half the lanes of the pair grid
 * kernel's blocks in the variant chosen now (HCMC_KERNEL): where they do
 * not, the target goes by angle (target.c, make_grid). */
static int grid_fills(size_t n_phi)
{
    size_t W = hcmc__kernel_select()->width;
    return 2 * n_phi > (n_phi + W - 1) / W * W;
}

static hcmc_target *target_make(const problem *p)
{
    hcmc_target *t;
    hcmc_error e;
    if (hcmc_target_new(&p->spec, &p->pts, &t, &e))
        fail_msg("target: %s", e.msg);
    return t;
}

/* A point inside the bounds: each bounded value uniform on the middle 90 %
 * of its range, sigma uniform on [0.005, 0.05]. */
static void random_z(const hcmc_target *t, hcmc_rng *r, double *z)
{
    size_t d = hcmc_target_dim(t);
    double th[32];
    for (size_t k = 0; k + 1 < d; k++) {
        double lo, hi;
        hcmc_target_bounds(t, k, &lo, &hi);
        th[k] = lo + (hi - lo) * (0.05 + 0.9 * hcmc_rng_uniform(r));
    }
    th[d - 1] = 0.005 + 0.045 * hcmc_rng_uniform(r);
    hcmc_error e;
    if (hcmc_target_unconstrain(t, th, z, &e))
        fail_msg("%s", e.msg);
}

static double lp_at(const hcmc_target *t, hcmc_target_ws *ws, const double *z)
{
    double lp;
    hcmc_target_eval(t, ws, z, &lp, NULL, NULL);
    return lp;
}

/* Analytic gradient against a fourth-order central difference with step
 * h = 1e-4 max(|z_k|, 0.01) in z (the level and slope of a law block can
 * be small numbers: the step follows their size): truncation ~h^4 f^(5)
 * and rounding ~1e-16 |lp| / h are both far below the tolerance. Allowed
 * error per component: 1e-5 relative, or 1e-8 of the largest component
 * where a component is near zero. */
static void check_gradient(const hcmc_target *t, const double *z0, const char *what)
{
    size_t d = hcmc_target_dim(t);
    hcmc_target_ws *ws = hcmc_target_ws_new(t);
    double z[32], g[32], fd[32], lp, gmax = 0;
    memcpy(z, z0, d * sizeof *z);
    assert_int_equal(hcmc_target_eval(t, ws, z, &lp, g, NULL), 0);
    for (size_t k = 0; k < d; k++) {
        const double h = 1e-4 * fmax(fabs(z0[k]), 0.01);
        double v[4], s[4] = {-2, -1, 1, 2};
        for (int m = 0; m < 4; m++) {
            z[k] = z0[k] + s[m] * h;
            v[m] = lp_at(t, ws, z);
        }
        z[k] = z0[k];
        fd[k] = (v[0] - 8 * v[1] + 8 * v[2] - v[3]) / (12 * h);
        gmax = fmax(gmax, fabs(fd[k]));
    }
    for (size_t k = 0; k < d; k++) {
        double tol = 1e-5 * fmax(fabs(fd[k]), 1e-3 * gmax);
        if (!(fabs(g[k] - fd[k]) <= tol))
            fail_msg("%s: d lp / d %s: analytic %.12g, finite difference %.12g", what,
                     hcmc_target_param_name(t, k), g[k], fd[k]);
    }
    hcmc_target_ws_free(ws);
}

static void test_gradient_all_modes(void **state)
{
    (void)state;
    const hcmc_scaling_mode scal[] = {
        HCMC_SCALING_INDIVIDUAL, HCMC_SCALING_SHARED, HCMC_SCALING_CONSTANT,
        HCMC_SCALING_CONSTANT_AVERAGED, HCMC_SCALING_AUTO};
    hcmc_rng r;
    hcmc_rng_init(&r, 11, HCMC_RNG_TEST, 0, 0);
    for (int mode = 0; mode < 2; mode++)
        for (int conv = 0; conv < 2; conv++)
            for (size_t s = 0; s < 5; s++) {
                problem p;
                problem_make(&p, (hcmc_mode)mode, (hcmc_convention)conv, 3, 100 + s);
                p.spec.scaling = scal[s];
                p.spec.num_shards = s % 2 ? 4 : 1;
                hcmc_target *t = target_make(&p);
                for (int rep = 0; rep < 4; rep++) {
                    double z[32];
                    random_z(t, &r, z);
                    char what[128];
                    snprintf(what, sizeof what, "%s/%s/%s/point %d",
                             hcmc_mode_name((hcmc_mode)mode),
                             hcmc_convention_name((hcmc_convention)conv),
                             hcmc_scaling_mode_name(scal[s]), rep);
                    check_gradient(t, z, what);
                }
                hcmc_target_free(t);
                problem_free(&p);
            }
}

/* Where the rate floor clamps J on part of the grid (D_offset very
 * negative), the gradient stays exact away from the kinks. */
static void test_gradient_with_clamped_rates(void **state)
{
    (void)state;
    problem p;
    problem_make(&p, HCMC_MODE_LAMINAR, HCMC_CONVENTION_PHYSICAL, 2, 5);
    hcmc_target *t = target_make(&p);
    double th[32], z[32];
    size_t d = hcmc_target_dim(t);
    const double v[7] = {300, 0.9, -45, 0.003, 0.5, -9e-4, 2};
    memcpy(th, v, sizeof v);
    for (size_t k = 7; k + 1 < d; k++)
        th[k] = strncmp(hcmc_target_param_name(t, k), "contrast", 8) ? 1.0 : 0.3;
    th[d - 1] = 0.02;
    assert_int_equal(hcmc_target_unconstrain(t, th, z, NULL), 0);
    check_gradient(t, z, "clamped rates");
    hcmc_target_free(t);
    problem_free(&p);
}

/* Sum over points of the scalar reference model (model.c) at z, with the
 * individual scaling layout (contrast_a, offset_a per angle). */
static double reference_loglik(const hcmc_target *t, const problem *p,
                               const hcmc_points *pts, const double *z)
{
    double th[32];
    hcmc_target_constrain(t, z, th);
    const hcmc_model *m = &p->spec.model;
    double CJ[64], CG[64], sum = 0, sigma = th[hcmc_target_dim(t) - 1];
    hcmc_model_integrals(m, th, CJ, CG);
    size_t np = hcmc_mode_nphys(m->mode), n_phi = pts->n_phi;
    for (size_t a = 0; a < n_phi; a++)
        for (size_t k = pts->angle_start[a]; k < pts->angle_start[a + 1]; k++) {
            double c2 = hcmc_model_c2(m, th, CJ, CG, pts->phi[a], pts->i[k], pts->j[k],
                                      th[np + a], th[np + n_phi + a]);
            double u = (pts->y[k] - c2) / sigma;
            sum += -0.5 * u * u - log(sigma) - 0.5 * log(2 * M_PI);
        }
    return m->convention == HCMC_CONVENTION_HOMODYNE ? 2 * sum : sum;
}

/* The likelihood equals the reference to 1e-11 relative: the kernel uses
 * 1-ulp vector functions, per-frame exp/sin/cos tables and another
 * summation order. */
static void test_loglik_matches_reference(void **state)
{
    (void)state;
    for (int mode = 0; mode < 2; mode++)
        for (int conv = 0; conv < 4; conv++) { /* convention, layout */
            problem p;
            problem_make(&p, (hcmc_mode)mode, (hcmc_convention)(conv % 2), 3, 7);
            p.spec.scaling = HCMC_SCALING_INDIVIDUAL;
            if (conv >= 2)
                setenv("HCMC_LAYOUT", "angles", 1);
            hcmc_target *t = target_make(&p);
            unsetenv("HCMC_LAYOUT");
            /* laminar_flow's full data are a pair grid, which its kernel
             * takes unless told to go by angle */
            assert_int_equal(hcmc_target_grid_pairs(t) > 0,
                             mode == 1 && conv < 2 && grid_fills(3));
            hcmc_target_ws *ws = hcmc_target_ws_new(t);
            hcmc_rng r;
            hcmc_rng_init(&r, 3, HCMC_RNG_TEST, 0, 0);
            for (int rep = 0; rep < 3; rep++) {
                double z[32], lp;
                random_z(t, &r, z);
                hcmc_target_parts parts;
                hcmc_target_eval(t, ws, z, &lp, NULL, &parts);
                double sum = reference_loglik(t, &p, &p.pts, z);
                if (fabs(parts.loglik - sum) > 1e-11 * fabs(sum))
                    fail_msg("mode %d conv %d: loglik %.15g, reference %.15g", mode,
                             conv, parts.loglik, sum);
            }
            hcmc_target_ws_free(ws);
            hcmc_target_free(t);
            problem_free(&p);
        }
}

/* Least-squares residuals equal the scalar reference model's c2 - y (to
 * 1e-12), and the analytic Jacobian matches central differences of the
 * residuals with step 1e-6 in z (truncation ~1e-12 times the third
 * derivative, rounding ~1e-10): 1e-6 relative to the row's largest entry.
 * Both modes, both conventions, individual and shared scaling, on a subset
 * of the target's points. */
static void test_residuals_and_jacobian(void **state)
{
    (void)state;
    for (int mode = 0; mode < 2; mode++)
        for (int conv = 0; conv < 2; conv++)
            for (int sc = 0; sc < 2; sc++) {
                problem p;
                problem_make(&p, (hcmc_mode)mode, (hcmc_convention)conv, 3, 17);
                p.spec.scaling = sc ? HCMC_SCALING_SHARED : HCMC_SCALING_INDIVIDUAL;
                hcmc_target *t = target_make(&p);
                hcmc_target_ws *ws = hcmc_target_ws_new(t);
                size_t d = hcmc_target_dim(t), nb = d - 1;
                size_t idx[60];
                for (size_t k = 0; k < 60; k++)
                    idx[k] = k * (p.pts.n / 60);
                hcmc_points sub;
                hcmc_error e;
                assert_int_equal(hcmc_points_subset(&p.pts, idx, 60, &sub, &e), 0);
                hcmc_rng r;
                hcmc_rng_init(&r, 5, HCMC_RNG_TEST, 0, 0);
                double z[32], th[32], res[60], rp[60], rm[60], J[60 * 32];
                random_z(t, &r, z);
                assert_int_equal(hcmc_target_residuals(t, ws, &sub, z, res, J, nb), 0);
                hcmc_target_constrain(t, z, th);
                double CJ[64], CG[64];
                const hcmc_model *m = &p.spec.model;
                hcmc_model_integrals(m, th, CJ, CG);
                size_t np = hcmc_mode_nphys(m->mode);
                for (size_t a = 0; a < sub.n_phi; a++)
                    for (size_t k = sub.angle_start[a]; k < sub.angle_start[a + 1];
                         k++) {
                        double c = sc ? th[np] : th[np + a];
                        double o = sc ? th[np + 1] : th[np + sub.n_phi + a];
                        double c2 = hcmc_model_c2(m, th, CJ, CG, sub.phi[a], sub.i[k],
                                                  sub.j[k], c, o);
                        assert_true(fabs(res[k] - (c2 - sub.y[k])) < 1e-12);
                    }
                for (size_t k = 0; k < nb; k++) {
                    const double h = 1e-6, z0 = z[k];
                    z[k] = z0 + h;
                    hcmc_target_residuals(t, ws, &sub, z, rp, NULL, nb);
                    z[k] = z0 - h;
                    hcmc_target_residuals(t, ws, &sub, z, rm, NULL, nb);
                    z[k] = z0;
                    for (size_t q = 0; q < 60; q++) {
                        double rowmax = 0;
                        for (size_t c = 0; c < nb; c++)
                            rowmax = fmax(rowmax, fabs(J[q * nb + c]));
                        double fd = (rp[q] - rm[q]) / (2 * h);
                        if (!(fabs(J[q * nb + k] - fd) <= 1e-6 * rowmax + 1e-12))
                            fail_msg("mode %d conv %d: d r_%zu / d %s: %.10g vs %.10g",
                                     mode, conv, q, hcmc_target_param_name(t, k),
                                     J[q * nb + k], fd);
                    }
                }
                /* points of another layout are refused */
                sub.n_phi = 2;
                assert_int_equal(hcmc_target_residuals(t, ws, &sub, z, res, NULL, nb),
                                 HCMC_EINVAL);
                sub.n_phi = p.pts.n_phi;
                hcmc_points_release(&sub);
                hcmc_target_ws_free(ws);
                hcmc_target_free(t);
                problem_free(&p);
            }
}

/* The kernel's two fallbacks: (a) angles with fewer points than frames
 * use sincos per point instead of the per-angle table; (b) a decay so
 * strong that q^2 CJ exceeds 600 uses exp per point instead of the
 * per-frame table. Both must match the reference and the finite
 * differences as the main paths do. */
static void test_kernel_fallback_paths(void **state)
{
    (void)state;
    for (int conv = 0; conv < 2; conv++) {
        problem p;
        problem_make(&p, HCMC_MODE_LAMINAR, (hcmc_convention)conv, 3, 21);
        /* (a) 10 points per angle on a 24-frame grid */
        size_t idx[30];
        for (size_t a = 0; a < 3; a++)
            for (size_t k = 0; k < 10; k++)
                idx[10 * a + k] = p.pts.angle_start[a] + 17 * k + 3;
        hcmc_points few;
        assert_int_equal(hcmc_points_subset(&p.pts, idx, 30, &few, NULL), 0);
        assert_true(few.angle_start[1] - few.angle_start[0] < few.n_t);
        p.spec.scaling = HCMC_SCALING_INDIVIDUAL;
        hcmc_target *t;
        assert_int_equal(hcmc_target_new(&p.spec, &few, &t, NULL), 0);
        hcmc_target_ws *ws = hcmc_target_ws_new(t);
        hcmc_rng r;
        hcmc_rng_init(&r, 12, HCMC_RNG_TEST, 0, 0);
        for (int rep = 0; rep < 3; rep++) {
            double z[32], lp;
            hcmc_target_parts parts;
            random_z(t, &r, z);
            hcmc_target_eval(t, ws, z, &lp, NULL, &parts);
            double ref = reference_loglik(t, &p, &few, z);
            assert_true(fabs(parts.loglik - ref) <= 1e-11 * fabs(ref));
            check_gradient(t, z, "few points per angle");
        }
        hcmc_target_ws_free(ws);
        hcmc_target_free(t);
        hcmc_points_release(&few);
        /* (b) q = 0.3: q^2 = 0.09, and D0 near 5000 makes q^2 CJ > 600 */
        problem_free(&p);
        problem_make(&p, HCMC_MODE_LAMINAR, (hcmc_convention)conv, 3, 22);
        p.spec.model.q = 0.3;
        p.spec.scaling = HCMC_SCALING_INDIVIDUAL;
        t = target_make(&p);
        ws = hcmc_target_ws_new(t);
        double th[32], z[32], lp, CJ[24], CG[24];
        size_t d = hcmc_target_dim(t);
        const double v[7] = {4500, 0.5, 100, 0.003, 0.2, 1e-4, 2};
        memcpy(th, v, sizeof v);
        for (size_t k = 7; k + 1 < d; k++)
            th[k] = k < 10 ? 0.3 : 1.0;
        th[d - 1] = 0.02;
        hcmc_model_integrals(&p.spec.model, th, CJ, CG);
        assert_true(0.09 * CJ[23] > 600); /* the fallback is really taken */
        assert_int_equal(hcmc_target_unconstrain(t, th, z, NULL), 0);
        hcmc_target_parts parts;
        hcmc_target_eval(t, ws, z, &lp, NULL, &parts);
        double ref = reference_loglik(t, &p, &p.pts, z);
        assert_true(fabs(parts.loglik - ref) <= 1e-11 * fabs(ref));
        check_gradient(t, z, "strong decay");
        hcmc_target_ws_free(ws);
        hcmc_target_free(t);
        problem_free(&p);
    }
}

/* Points whose sinc argument v lies below 0.1, where the kernel takes the
 * sinc and its derivative from their series: at the truth (phi0 = 3,
 * gamma_dot lag-one increments 1.8e-4 to 3.5e-4), the angle 93 is
 * perpendicular to the flow (every v about 0), and -84 and -85.5 have v
 * below 0.1 for the shortest lags only in either convention, so blocks of
 * 4 points mix both branches. Every variant against the scalar reference (1e-11) and
 * finite differences. */
static void test_kernel_small_phase(void **state)
{
    (void)state;
    static const char *const variants[] = {"generic", "avx2", "avx512"};
    const double angles[3] = {-84.0, -85.5, 93.0};
    for (int c = 0; c < 12; c++) { /* convention, variant, layout */
        problem p;
        problem_make_at(&p, HCMC_MODE_LAMINAR, (hcmc_convention)(c % 2), 3, 31, angles);
        p.spec.scaling = HCMC_SCALING_INDIVIDUAL;
        setenv("HCMC_KERNEL", variants[c / 2 % 3], 1);
        if (c >= 6)
            setenv("HCMC_LAYOUT", "angles", 1);
        hcmc_target *t = target_make(&p);
        const int grid = c < 6 && grid_fills(3);
        unsetenv("HCMC_KERNEL");
        unsetenv("HCMC_LAYOUT");
        assert_int_equal(hcmc_target_grid_pairs(t) > 0, grid);
        size_t d = hcmc_target_dim(t);
        double th[32], z[32];
        memcpy(th, p.phys, sizeof p.phys);
        for (size_t k = 7; k + 1 < d; k++)
            th[k] = k < 10 ? 0.3 : 1.0;
        th[d - 1] = 0.02;
        assert_int_equal(hcmc_target_unconstrain(t, th, z, NULL), 0);
        /* the branches are really taken: blocks of 4 with v below 0.1 in
         * some lanes at -84 and -85.5, in every lane at 93 */
        double CJ[24], CG[24];
        hcmc_model_integrals(&p.spec.model, th, CJ, CG);
        const double kappa = c % 2 ? 0.5 / M_PI : 0.5;
        for (size_t a = 0; a < 3; a++) {
            const double A = p.spec.model.q * p.spec.model.L *
                             cos((th[HCMC_P_PHI0] - p.pts.phi[a]) * (M_PI / 180.0));
            size_t mixed = 0, all = 0, a0 = p.pts.angle_start[a];
            for (size_t b = a0; b + 4 <= p.pts.angle_start[a + 1]; b += 4) {
                int small = 0;
                for (size_t q = b; q < b + 4; q++)
                    small += fabs(kappa * A * (CG[p.pts.j[q]] - CG[p.pts.i[q]])) < 0.1;
                mixed += small > 0 && small < 4;
                all += small == 4;
            }
            if (a < 2)
                assert_true(mixed > 0);
            else
                assert_true(all == (p.pts.angle_start[a + 1] - a0) / 4);
        }
        hcmc_target_ws *ws = hcmc_target_ws_new(t);
        hcmc_target_parts parts;
        double lp;
        hcmc_target_eval(t, ws, z, &lp, NULL, &parts);
        double ref = reference_loglik(t, &p, &p.pts, z);
        assert_true(fabs(parts.loglik - ref) <= 1e-11 * fabs(ref));
        char what[64];
        snprintf(what, sizeof what, "small phases, %s kernel by %s, convention %d",
                 hcmc_target_kernel_name(t), grid ? "pairs" : "angle", c % 2);
        check_gradient(t, z, what);
        hcmc_target_ws_free(ws);
        hcmc_target_free(t);
        problem_free(&p);
    }
}

/* The portable kernel and the vector ones (AVX-512 and AVX2, where the CPU
 * runs them; otherwise the best it runs, compared again) give the same
 * density and gradient up to the last bits of exp/sin/cos and the order of
 * the sums (1e-12 relative, 1e-10 of the largest component), and each its
 * value-only kernel the same density as with the gradient. */
static void test_kernel_variants_agree(void **state)
{
    (void)state;
    static const char *const variants[] = {"avx512", "avx2"};
    for (int c = 0; c < 8; c++) { /* mode, convention, variant */
        problem p;
        problem_make(&p, (hcmc_mode)(c % 2), (hcmc_convention)(c / 2 % 2), 3, 9);
        setenv("HCMC_KERNEL", variants[c / 4], 1);
        hcmc_target *fast = target_make(&p);
        setenv("HCMC_KERNEL", "generic", 1);
        hcmc_target *slow = target_make(&p);
        unsetenv("HCMC_KERNEL");
        assert_string_equal(hcmc_target_kernel_name(slow), "generic");
        print_message("%s kernel against the generic one, mode %d, convention %d\n",
                      hcmc_target_kernel_name(fast), c % 2, c / 2 % 2);
        hcmc_target_ws *w1 = hcmc_target_ws_new(fast), *w2 = hcmc_target_ws_new(slow);
        hcmc_rng r;
        hcmc_rng_init(&r, 4, HCMC_RNG_TEST, 0, 0);
        size_t d = hcmc_target_dim(fast);
        for (int rep = 0; rep < 5; rep++) {
            double z[32], g1[32], g2[32], l1, l2, gmax = 0;
            random_z(fast, &r, z);
            hcmc_target_eval(fast, w1, z, &l1, g1, NULL);
            hcmc_target_eval(slow, w2, z, &l2, g2, NULL);
            assert_true(fabs(l1 - l2) <= 1e-12 * fabs(l1));
            /* without a gradient each variant runs its value-only kernel:
             * the same operations for the density, so the same value (to
             * 1e-14, should a compiler contract them differently) */
            double v1, v2;
            hcmc_target_eval(fast, w1, z, &v1, NULL, NULL);
            hcmc_target_eval(slow, w2, z, &v2, NULL, NULL);
            assert_true(fabs(v1 - l1) <= 1e-14 * fabs(l1));
            assert_true(fabs(v2 - l2) <= 1e-14 * fabs(l2));
            for (size_t k = 0; k < d; k++)
                gmax = fmax(gmax, fabs(g2[k]));
            for (size_t k = 0; k < d; k++)
                assert_true(fabs(g1[k] - g2[k]) <= 1e-10 * gmax);
        }
        hcmc_target_ws_free(w1);
        hcmc_target_ws_free(w2);
        hcmc_target_free(fast);
        hcmc_target_free(slow);
        problem_free(&p);
    }
}

/* The pair grid kernel (all angles at once, kernel.h) against the kernel
 * by angle on the same points, every variant this CPU runs, both
 * conventions, per-angle scaling (each lane its own contrast and offset):
 * 5 angles (blocks of 4: one full and one with three padding lanes; of 8:
 * three padding lanes) and 8 (full blocks either way), among them one
 * perpendicular to the flow (A = 0). The two differ only in rounding (the
 * order of the sums, and the sinc argument as kappa A (CG_j - CG_i) rather
 * than a difference of phases): density to 1e-12 relative, gradient to
 * 1e-10 of its largest component; the value-only density to 1e-14 of the
 * one with the gradient. */
static void test_grid_matches_angles(void **state)
{
    (void)state;
    static const char *const variants[] = {"generic", "avx2", "avx512"};
    const double angles[8] = {-84.0, -40.0, 3.0, 93.0, 120.0, -150.0, 10.0, 61.0};
    for (int c = 0; c < 12; c++) { /* convention, angles, variant */
        size_t n_phi = c / 2 % 2 ? 8 : 5;
        problem p;
        problem_make_at(&p, HCMC_MODE_LAMINAR, (hcmc_convention)(c % 2), n_phi, 41,
                        angles);
        p.spec.scaling = HCMC_SCALING_INDIVIDUAL;
        setenv("HCMC_KERNEL", variants[c / 4], 1);
        hcmc_target *grid = target_make(&p);
        setenv("HCMC_LAYOUT", "angles", 1);
        hcmc_target *by_angle = target_make(&p);
        unsetenv("HCMC_KERNEL");
        unsetenv("HCMC_LAYOUT");
        assert_int_equal(hcmc_target_grid_pairs(grid), p.pts.n / n_phi);
        assert_int_equal(hcmc_target_grid_pairs(by_angle), 0);
        hcmc_target_ws *w1 = hcmc_target_ws_new(grid),
                       *w2 = hcmc_target_ws_new(by_angle);
        hcmc_rng r;
        hcmc_rng_init(&r, 5, HCMC_RNG_TEST, 0, 0);
        size_t d = hcmc_target_dim(grid);
        for (int rep = 0; rep < 4; rep++) {
            double z[32], g1[32], g2[32], l1, l2, v1, gmax = 0;
            random_z(grid, &r, z);
            if (rep == 0) { /* phi0 = 3: angle 93 perpendicular to the flow */
                double th[32];
                hcmc_target_constrain(grid, z, th);
                th[HCMC_P_PHI0] = 3.0;
                assert_int_equal(hcmc_target_unconstrain(grid, th, z, NULL), 0);
            }
            assert_int_equal(hcmc_target_eval(grid, w1, z, &l1, g1, NULL), 0);
            assert_int_equal(hcmc_target_eval(by_angle, w2, z, &l2, g2, NULL), 0);
            assert_int_equal(hcmc_target_eval(grid, w1, z, &v1, NULL, NULL), 0);
            if (!(fabs(l1 - l2) <= 1e-12 * fabs(l2)))
                fail_msg("%s, %zu angles, convention %d: lp %.15g by pairs, %.15g by "
                         "angle",
                         hcmc_target_kernel_name(grid), n_phi, c % 2, l1, l2);
            assert_true(fabs(v1 - l1) <= 1e-14 * fabs(l1));
            for (size_t k = 0; k < d; k++)
                gmax = fmax(gmax, fabs(g2[k]));
            for (size_t k = 0; k < d; k++)
                if (!(fabs(g1[k] - g2[k]) <= 1e-10 * gmax))
                    fail_msg(
                        "%s, %zu angles, convention %d: d lp / d %s %.15g by pairs, "
                        "%.15g by angle",
                        hcmc_target_kernel_name(grid), n_phi, c % 2,
                        hcmc_target_param_name(grid, k), g1[k], g2[k]);
        }
        hcmc_target_ws_free(w1);
        hcmc_target_ws_free(w2);
        hcmc_target_free(grid);
        hcmc_target_free(by_angle);
        problem_free(&p);
    }
}

/* Each variant's sin and cos of the frames' phases against the C
 * library's, absolute difference at most 6e-16: the reduction adds two
 * roundings of at most half an ulp of |r| <= pi/4 (5.6e-17 each), the
 * polynomial at most an ulp of the result (1.1e-16; the sign flips are
 * exact), the C library its own (up to 1.1e-16), 3.3e-16 in all. The
 * arguments are fixed (0, -0, every magnitude from 1e-8 to 1e6 with either
 * sign, both sides of the quadrant boundaries m pi/4 up to m = 2000, and
 * beyond 1e12, the vector library's path), so no seed decides it; NaN
 * gives NaN. */
static void test_phase_sincos(void **state)
{
    (void)state;
    static const char *const variants[] = {"generic", "avx2", "avx512"};
    enum { N = 12000 };
    static double x[N], sn[N], cs[N];
    size_t n = 0;
    x[n++] = 0.0;
    x[n++] = -0.0;
    x[n++] = 1e13;
    x[n++] = -3.7e14;
    x[n++] = NAN;
    hcmc_rng r;
    hcmc_rng_init(&r, 9, HCMC_RNG_TEST, 0, 0);
    while (n < N / 2) {
        double mag = pow(10.0, -8.0 + 14.0 * hcmc_rng_uniform(&r));
        x[n++] = hcmc_rng_uniform(&r) < 0.5 ? -mag : mag;
    }
    for (int m = -2000; m <= 2000 && n + 2 <= N; m += 2) {
        double b = m * (M_PI / 4);
        x[n++] = nextafter(b, -INFINITY);
        x[n++] = nextafter(b, INFINITY);
    }
    for (size_t v = 0; v < 3; v++) {
        setenv("HCMC_KERNEL", variants[v], 1);
        const hcmc__kernel *k = hcmc__kernel_select();
        unsetenv("HCMC_KERNEL");
        if (strcmp(k->isa, variants[v]))
            continue; /* not on this CPU */
        k->phase_sincos(n, x, sn, cs);
        double worst = 0;
        for (size_t i = 0; i < n; i++) {
            if (isnan(x[i])) {
                assert_true(isnan(sn[i]) && isnan(cs[i]));
                continue;
            }
            double e = fmax(fabs(sn[i] - sin(x[i])), fabs(cs[i] - cos(x[i])));
            if (!(e <= 6e-16))
                fail_msg(
                    "%s: x = %.17g: sin %.17g (libm %.17g), cos %.17g (libm %.17g)",
                    k->isa, x[i], sn[i], sin(x[i]), cs[i], cos(x[i]));
            worst = fmax(worst, e);
        }
        print_message("%s: largest difference from the C library %.2g\n", k->isa,
                      worst);
    }
}

/* Tempering multiplies log prior and log Jacobian, less the standard normal
 * base of the bounded coordinates, by 1/K (to rounding), leaves the
 * likelihood and the base alone, and prior_tempering = false gives the
 * K = 1 density. */
static void test_tempering(void **state)
{
    (void)state;
    problem p;
    problem_make(&p, HCMC_MODE_LAMINAR, HCMC_CONVENTION_PHYSICAL, 3, 1);
    hcmc_target *t1 = target_make(&p);
    p.spec.num_shards = 4;
    hcmc_target *t4 = target_make(&p);
    p.spec.prior_tempering = false;
    hcmc_target *tf = target_make(&p);
    hcmc_target_ws *ws = hcmc_target_ws_new(t1);
    hcmc_rng r;
    hcmc_rng_init(&r, 8, HCMC_RNG_TEST, 0, 0);
    size_t d = hcmc_target_dim(t1);
    for (int rep = 0; rep < 5; rep++) {
        double z[32], g1[32], g4[32], gf[32], l1, l4, lf;
        hcmc_target_parts a, b;
        random_z(t1, &r, z);
        hcmc_target_eval(t1, ws, z, &l1, g1, &a);
        hcmc_target_eval(t4, ws, z, &l4, g4, &b);
        hcmc_target_eval(tf, ws, z, &lf, gf, NULL);
        assert_true(a.loglik == b.loglik && a.logprior == b.logprior &&
                    a.logjac == b.logjac && a.logbase == b.logbase);
        /* the standard normal base of the bounded coordinates enters whole */
        double base = 0;
        for (size_t k = 0; k + 1 < d; k++)
            if (hcmc_coords_has_base(hcmc_target_coords(t1), k))
                base += -0.5 * z[k] * z[k] - 0.5 * log(2 * M_PI);
        assert_true(fabs(a.logbase - base) <= 1e-12 * fabs(base));
        assert_true(l1 == a.loglik + a.logbase + (a.logprior + a.logjac - a.logbase));
        assert_true(fabs(l4 - (a.loglik + a.logbase + 0.25 * (a.logprior + a.logjac -
                                                               a.logbase))) <=
                    1e-12 * fabs(l4));
        assert_true(lf == l1);
        for (size_t k = 0; k < d; k++)
            assert_true(gf[k] == g1[k]);
    }
    hcmc_target_ws_free(ws);
    hcmc_target_free(t1);
    hcmc_target_free(t4);
    hcmc_target_free(tf);
    problem_free(&p);
}

static void test_scaling_layout(void **state)
{
    (void)state;
    problem p;
    problem_make(&p, HCMC_MODE_STATIC, HCMC_CONVENTION_PHYSICAL, 3, 1);
    hcmc_target *t = target_make(&p); /* auto with 3 angles: shared */
    assert_int_equal(hcmc_target_scaling(t), HCMC_SCALING_SHARED);
    assert_int_equal(hcmc_target_dim(t), 3 + 2 + 1);
    assert_string_equal(hcmc_target_param_name(t, 3), "contrast");
    assert_string_equal(hcmc_target_param_name(t, 5), "sigma");
    hcmc_target_free(t);
    p.spec.constant_scaling_threshold = 4; /* now individual */
    t = target_make(&p);
    assert_int_equal(hcmc_target_scaling(t), HCMC_SCALING_INDIVIDUAL);
    assert_int_equal(hcmc_target_dim(t), 3 + 6 + 1);
    assert_string_equal(hcmc_target_param_name(t, 4), "contrast_1");
    assert_string_equal(hcmc_target_param_name(t, 8), "offset_2");
    hcmc_target_free(t);
    p.spec.scaling = HCMC_SCALING_CONSTANT;
    t = target_make(&p);
    assert_int_equal(hcmc_target_dim(t), 3 + 1);
    /* 231 points per angle: the quantile estimate applies, and with noise
     * 0.01 it lands near the truth (contrast 0.25 + 0.02 a, offset
     * 1 + 0.01 a) but not on it: the window does not reach full decay */
    for (size_t a = 0; a < 3; a++) {
        double c = hcmc_target_fixed_contrast(t, a), o = hcmc_target_fixed_offset(t, a);
        assert_true(c > 0 && c <= 1 && o >= 0.5 && o <= 1.5);
        assert_true(fabs(o + c - (1.25 + 0.03 * (double)a)) < 0.05);
    }
    double c0 = hcmc_target_fixed_contrast(t, 0);
    hcmc_target_free(t);
    p.spec.scaling = HCMC_SCALING_CONSTANT_AVERAGED;
    t = target_make(&p);
    assert_true(hcmc_target_fixed_contrast(t, 0) == hcmc_target_fixed_contrast(t, 2));
    assert_true(hcmc_target_fixed_contrast(t, 0) != c0);
    hcmc_target_free(t);
    /* values given by the caller (a shard receives the full data's) */
    double fc[3] = {0.1, 0.2, 0.3}, fo[3] = {1, 1.1, 1.2};
    p.spec.scaling = HCMC_SCALING_CONSTANT;
    p.spec.fixed_contrast = fc;
    p.spec.fixed_offset = fo;
    t = target_make(&p);
    assert_true(hcmc_target_fixed_contrast(t, 2) == 0.3);
    assert_true(hcmc_target_fixed_offset(t, 1) == 1.1);
    hcmc_target_free(t);
    problem_free(&p);
}

/* Quantile estimator on data with a known answer: y = 1 + 0.4 exp(-lag),
 * lag = (j - i) dt. */
static void test_scaling_estimate_known(void **state)
{
    (void)state;
    hcmc_points pts;
    assert_int_equal(hcmc_points_init(&pts, 0, 1, 60, NULL), 0);
    hcmc_points_release(&pts);
    size_t n = 0, n_t = 60;
    for (size_t i = 1; i < n_t; i++)
        n += n_t - 1 - i;
    assert_int_equal(hcmc_points_init(&pts, n, 1, n_t, NULL), 0);
    size_t k = 0;
    for (size_t i = 1; i < n_t; i++)
        for (size_t j = i + 1; j < n_t; j++, k++) {
            pts.i[k] = (uint16_t)i;
            pts.j[k] = (uint16_t)j;
            pts.y[k] = 1.0 + 0.4 * exp(-0.5 * (double)(j - i));
        }
    pts.angle_start[1] = n;
    hcmc_prior cp, op;
    hcmc_prior_init(&cp, HCMC_PRIOR_TRUNCATED_NORMAL, 0, 1, NAN, NAN, "c", NULL);
    hcmc_prior_init(&op, HCMC_PRIOR_TRUNCATED_NORMAL, 0.5, 1.5, NAN, NAN, "o", NULL);
    double c, o;
    assert_int_equal(hcmc_scaling_estimate(&pts, &cp, &op, 0.5, &c, &o, NULL), 0);
    /* long lags: y -> 1 (within 0.4 e^-14); short lags: the 90th
     * percentile of y over the shortest 20 % of lags is the lag-1 value
     * 1 + 0.4 e^-0.5 (lag 1 is the most common lag) */
    assert_true(fabs(o - 1.0) < 1e-5);
    assert_true(fabs(c - 0.4 * exp(-0.5)) < 1e-5);
    hcmc_points_release(&pts);
}

static void test_bad_input(void **state)
{
    (void)state;
    problem p;
    problem_make(&p, HCMC_MODE_LAMINAR, HCMC_CONVENTION_PHYSICAL, 3, 1);
    hcmc_target *t = NULL;
    hcmc_error e;
    hcmc_target_spec s = p.spec;
    s.phys[HCMC_P_BETA].lo = 2;
    s.phys[HCMC_P_BETA].hi = 1;
    assert_int_equal(hcmc_target_new(&s, &p.pts, &t, &e), HCMC_EINVAL);
    assert_null(t);
    assert_non_null(strstr(e.msg, "beta"));
    s = p.spec;
    s.model.dt = -0.1;
    assert_int_equal(hcmc_target_new(&s, &p.pts, &t, &e), HCMC_EINVAL);
    assert_non_null(strstr(e.msg, "dt"));
    s = p.spec;
    s.model.q = 0;
    assert_int_equal(hcmc_target_new(&s, &p.pts, &t, &e), HCMC_EINVAL);
    assert_non_null(strstr(e.msg, "q = 0"));
    s = p.spec;
    s.model.n_t = 30;
    assert_int_equal(hcmc_target_new(&s, &p.pts, &t, &e), HCMC_EINVAL);
    hcmc_points empty = {0};
    size_t zero = 0;
    empty.angle_start = &zero;
    assert_int_equal(hcmc_target_new(&p.spec, &empty, &t, &e), HCMC_ENODATA);
    assert_non_null(strstr(e.msg, "empty"));
    /* out-of-bounds values are refused when mapping to z */
    t = target_make(&p);
    double th[32], z[32];
    for (size_t k = 0; k < hcmc_target_dim(t); k++)
        th[k] = 0.5;
    th[HCMC_P_D0] = 1e6;
    assert_int_equal(hcmc_target_unconstrain(t, th, z, &e), HCMC_EINVAL);
    assert_non_null(strstr(e.msg, "D0"));
    /* a non-finite density is reported, not crashed on */
    hcmc_target_ws *ws = hcmc_target_ws_new(t);
    for (size_t k = 0; k < hcmc_target_dim(t); k++)
        z[k] = 0;
    z[0] = NAN;
    double lp;
    assert_int_equal(hcmc_target_eval(t, ws, z, &lp, NULL, NULL), HCMC_ENUMERIC);
    hcmc_target_ws_free(ws);
    hcmc_target_free(t);
    problem_free(&p);
}

/* Fixed physical parameters: the target without their coordinates is the
 * full target with them held at their values. Likelihood and residuals
 * agree to rounding (1e-12 relative: the same arithmetic on the same
 * numbers up to summation order and the z -> theta -> z round trip), the
 * prior lacks exactly the fixed parameters' terms, the Jacobian's columns
 * in theta are the full one's columns of the sampled parameters (1e-9 of
 * the row's largest entry, the round trip's rounding), and the gradient
 * passes the finite-difference check. Sets: the steady-shear pair, one diffusion parameter, two apart
 * (alpha and phi0), and everything physical. */
static void test_fixed_parameters(void **state)
{
    (void)state;
    static const int sets[][8] = {{HCMC_P_BETA, HCMC_P_GAMMA_DOT_T_OFFSET, -1},
                                  {HCMC_P_D_OFFSET, -1},
                                  {HCMC_P_ALPHA, HCMC_P_PHI0, -1},
                                  {0, 1, 2, 3, 4, 5, 6, -1}};
    for (int mode = 0; mode < 2; mode++)
        for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++) {
            problem p;
            problem_make(&p, (hcmc_mode)mode, HCMC_CONVENTION_PHYSICAL, 3, 23);
            size_t np = hcmc_mode_nphys((hcmc_mode)mode), nfix = 0;
            hcmc_target *tf = target_make(&p);
            hcmc_target_spec fixed_spec = p.spec;
            for (const int *k = sets[s]; *k >= 0; k++)
                if ((size_t)*k < np) {
                    fixed_spec.phys_fixed[*k] = true;
                    fixed_spec.phys_fixed_value[*k] = p.phys[*k];
                    nfix++;
                }
            hcmc_target *tx;
            hcmc_error e;
            if (hcmc_target_new(&fixed_spec, &p.pts, &tx, &e))
                fail_msg("%s", e.msg);
            size_t df = hcmc_target_dim(tf), dx = hcmc_target_dim(tx);
            assert_int_equal(dx, df - nfix);
            assert_int_equal(hcmc_target_nphys(tx), np - nfix);
            assert_int_equal(hcmc_target_spec_nphys(&fixed_spec), np - nfix);
            hcmc_rng r;
            hcmc_rng_init(&r, 29 + s, HCMC_RNG_TEST, 0, 0);
            double zx[32], zf[32], thx[32], thf[32], ph[HCMC_NPHYS_MAX];
            random_z(tx, &r, zx);
            hcmc_target_constrain(tx, zx, thx);
            hcmc_target_phys_values(tx, thx, ph);
            /* the same point in the full target's coordinates */
            double fixed_prior = 0;
            for (size_t k = 0, j = 0; k < df; k++) {
                int ph_k = (int)k < (int)np ? (int)k : -1;
                if (ph_k >= 0 && fixed_spec.phys_fixed[ph_k]) {
                    assert_int_equal(hcmc_target_phys_slot(tx, ph_k), -1);
                    assert_true(ph[ph_k] == p.phys[ph_k]);
                    thf[k] = p.phys[ph_k];
                    fixed_prior += hcmc_prior_logpdf(&p.spec.phys[ph_k], thf[k], NULL);
                } else {
                    if (ph_k >= 0)
                        assert_int_equal(hcmc_target_phys_slot(tx, ph_k), (int)j);
                    assert_string_equal(hcmc_target_param_name(tx, j),
                                        hcmc_target_param_name(tf, k));
                    thf[k] = thx[j++];
                }
            }
            if (hcmc_target_unconstrain(tf, thf, zf, &e))
                fail_msg("%s", e.msg);
            hcmc_target_ws *wf = hcmc_target_ws_new(tf), *wx = hcmc_target_ws_new(tx);
            hcmc_target_parts pf, px;
            double lf, lx;
            assert_int_equal(hcmc_target_eval(tf, wf, zf, &lf, NULL, &pf), 0);
            assert_int_equal(hcmc_target_eval(tx, wx, zx, &lx, NULL, &px), 0);
            assert_true(fabs(pf.loglik - px.loglik) <= 1e-12 * fabs(pf.loglik));
            assert_true(fabs(pf.logprior - fixed_prior - px.logprior) <=
                        1e-12 * (1 + fabs(pf.logprior)));
            check_gradient(tx, zx, "fixed parameters");
            /* residuals and Jacobian columns */
            size_t idx[40];
            for (size_t k = 0; k < 40; k++)
                idx[k] = k * (p.pts.n / 40);
            hcmc_points sub;
            assert_int_equal(hcmc_points_subset(&p.pts, idx, 40, &sub, &e), 0);
            double rf[40], rx[40], Jf[40 * 32], Jx[40 * 32];
            /* in theta: the two targets' z differ where a law with a fixed
             * member stays logit */
            assert_int_equal(hcmc_target_residuals(tf, wf, &sub, zf, rf, NULL, 0), 0);
            assert_int_equal(hcmc_target_residuals(tx, wx, &sub, zx, rx, NULL, 0), 0);
            assert_int_equal(
                hcmc_target_residuals_theta(tf, wf, &sub, thf, rf, Jf, df - 1), 0);
            assert_int_equal(
                hcmc_target_residuals_theta(tx, wx, &sub, thx, rx, Jx, dx - 1), 0);
            for (size_t q = 0; q < 40; q++) {
                assert_true(fabs(rf[q] - rx[q]) <= 1e-12);
                double rowmax = 0;
                for (size_t k = 0; k + 1 < df; k++)
                    rowmax = fmax(rowmax, fabs(Jf[q * (df - 1) + k]));
                for (size_t k = 0, j = 0; k + 1 < df; k++) {
                    if ((int)k < (int)np && fixed_spec.phys_fixed[k])
                        continue;
                    double a = Jf[q * (df - 1) + k], b = Jx[q * (dx - 1) + j++];
                    if (!(fabs(a - b) <= 1e-9 * rowmax))
                        fail_msg("mode %d set %zu: d r_%zu / d %s: %.12g vs %.12g", mode,
                                 s, q, hcmc_target_param_name(tf, k), a, b);
                }
            }
            hcmc_points_release(&sub);
            hcmc_target_ws_free(wf);
            hcmc_target_ws_free(wx);
            hcmc_target_free(tx);
            hcmc_target_free(tf);
            problem_free(&p);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradient_all_modes),
        cmocka_unit_test(test_gradient_with_clamped_rates),
        cmocka_unit_test(test_loglik_matches_reference),
        cmocka_unit_test(test_residuals_and_jacobian),
        cmocka_unit_test(test_kernel_fallback_paths),
        cmocka_unit_test(test_kernel_variants_agree),
        cmocka_unit_test(test_kernel_small_phase),
        cmocka_unit_test(test_grid_matches_angles),
        cmocka_unit_test(test_phase_sincos),
        cmocka_unit_test(test_tempering),
        cmocka_unit_test(test_scaling_layout),
        cmocka_unit_test(test_scaling_estimate_known),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_fixed_parameters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
