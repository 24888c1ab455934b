/* The coordinates of a rate law (law.h), SHAPE and SLOPE: round trips, the
 * Jacobian and its log determinant against finite differences, no walls,
 * the change of variables integrating to the volume of the bounds, the
 * non-centred exponent (SHAPE), the reference time and ridge of SLOPE,
 * and the normal quantile. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hcmc/coords.h"
#include "hcmc/law.h"
#include "hcmc/prior.h"
#include "hcmc/rng.h"

/* Bounds of MODEL.md: D(t) and gamma_dot(t), and reference times of three
 * kinds of windows: dt 0.1 s x 160 frames (L = 0.23), a window far below
 * 1 s (APS 8-ID: dt 2e-5 s x 1000 frames, L = -7.4) and one far above. */
static const double Dlo[3] = {100, -2, -1e5}, Dhi[3] = {1e5, 2, 1e5};
static const double Glo[3] = {1e-6, -2, -0.1}, Ghi[3] = {0.5, 2, 0.1};
static const double t_refs[3] = {1.26, 6.3e-4, 300.0};

/* Slope scales: none, and what 10 000 points would allow (about 1e-3 of
 * the slopes the bounds allow). */
static void make_w(hcmc_law *m, int law, int tr, double w)
{
    assert_int_equal(
        hcmc_law_init(m, law ? Glo : Dlo, law ? Ghi : Dhi, t_refs[tr], w, NULL), 0);
}

/* The kind the tests below build: SHAPE, or SLOPE (law.h). */
static hcmc_law_kind kind = HCMC_LAW_SHAPE;

/* Reference times of SLOPE coordinates for exponents in (-2, 2): 1 + L b >=
 * 0.1 holds for t_r in (0.638, 1.568) s; the middle and both ends. */
static const double t_slope[3] = {1.26, 0.6381, 1.567};

/* A curvature scale for SLOPE's edge (law.h): 1/30 of the largest
 * curvature b^2 a t_r^b the bounds allow, so that every theta they allow
 * lies within reach of the map (s above about -37). */
static double edge_scale(const hcmc_law *m)
{
    double bmax = fmax(fabs(m->lo[1]), fabs(m->hi[1]));
    return bmax * bmax * m->hi[0] * m->e_hi / 30;
}

static void make(hcmc_law *m, int law, int tr)
{
    if (kind == HCMC_LAW_SLOPE) {
        const double *lo = law ? Glo : Dlo, *hi = law ? Ghi : Dhi;
        assert_int_equal(hcmc_law_init_slope(m, lo, hi, t_slope[tr], 0, NULL), 0);
        if (tr % 2) /* the edge of u's map where the curvature reaches it */
            assert_int_equal(
                hcmc_law_init_slope(m, lo, hi, t_slope[tr], edge_scale(m), NULL), 0);
        return;
    }
    make_w(m, law, tr, 0);
    double slope = 1e-3 * m->hi[0] * m->e_hi;
    make_w(m, law, tr, tr % 2 ? slope : 0); /* both kinds, over the windows */
}

/* Runs a test of SHAPE coordinates on SLOPE ones too. */
#define BOTH_KINDS(test)                                                              \
    static void test##_both(void **state)                                             \
    {                                                                                 \
        kind = HCMC_LAW_SHAPE;                                                        \
        test(state);                                                                  \
        kind = HCMC_LAW_SLOPE;                                                        \
        test(state);                                                                  \
        kind = HCMC_LAW_SHAPE;                                                        \
    }

/* theta uniform in the bounds' box, with the exponent on a log scale near
 * 0 half the time, the prefactor log-uniform a third of the time and the
 * offset within 1 % of a bound a third of the time (where the ranges of
 * level and slope move with the level): the cases that matter are near
 * b = 0, at all scales. */
static void draw_theta(hcmc_rng *r, const hcmc_law *m, double th[3])
{
    for (int k = 0; k < 3; k++) {
        double u = hcmc_rng_uniform(r);
        th[k] = m->lo[k] + u * (m->hi[k] - m->lo[k]);
    }
    if (hcmc_rng_uniform(r) < 0.5)
        th[1] *= pow(10, -6 * hcmc_rng_uniform(r));
    if (hcmc_rng_uniform(r) < 0.3)
        th[0] = exp(log(m->lo[0]) + hcmc_rng_uniform(r) * log(m->hi[0] / m->lo[0]));
    double u = hcmc_rng_uniform(r), w = m->hi[2] - m->lo[2];
    if (u < 1.0 / 6)
        th[2] = m->lo[2] + 0.01 * w * hcmc_rng_uniform(r);
    else if (u < 1.0 / 3)
        th[2] = m->hi[2] - 0.01 * w * hcmc_rng_uniform(r);
}

/* (v1, v2, u) of theta (law.h). */
static void levels(const hcmc_law *m, const double th[3], double v[3])
{
    v[2] = log(th[0]) + th[1] * m->L;
    double ap = exp(v[2]);
    v[0] = ap + th[2];
    v[1] = ap * th[1];
}

/* How far rounding may move theta (for the round trip): the map computes
 * v1 = v1_lo + V1 Phi, v2 likewise within at most the largest |a' b| of
 * the bounds, u within its set, then theta from (v1, v2, u) through
 * d theta / d(v1, v2, u). */
static void theta_rounding(const hcmc_law *m, const double th[3], double out[3])
{
    const double eps = 4e-16;
    double v[3];
    levels(m, th, v);
    double apmax = m->hi[0] * fmax(exp(m->lo[1] * m->L), exp(m->hi[1] * m->L));
    double V2 = 2 * fmax(fabs(m->lo[1]), fabs(m->hi[1])) * apmax;
    double dv1 = eps * (m->v1_hi - m->v1_lo + fabs(v[0])), dv2 = eps * (V2 + fabs(v[1]));
    double du = eps * 8 * (1 + fabs(v[2]) + fabs(log(m->hi[0])) + fabs(m->L) * 2);
    double a = th[0], b = th[1], L = m->L, emu = exp(-v[2]), eu = exp(v[2]);
    double P[9] = {0, a * L * emu, a * (1 + fabs(L * b)), 0, emu, fabs(b), 1, 0, eu};
    for (int i = 0; i < 3; i++)
        out[i] = fabs(P[3 * i]) * dv1 + fabs(P[3 * i + 1]) * dv2 + fabs(P[3 * i + 2]) * du +
                 eps * fabs(th[i]);
}

static void test_round_trip(void **state)
{
    (void)state;
    hcmc_rng r;
    hcmc_rng_init(&r, 1, HCMC_RNG_TEST, 0, 0);
    for (int law = 0; law < 2; law++)
        for (int tr = 0; tr < 3; tr++) {
            hcmc_law m;
            make(&m, law, tr);
            for (int it = 0; it < 4000; it++) {
                double th[3], xi[3], back[3], round[3];
                draw_theta(&r, &m, th);
                if (hcmc_law_from_theta(&m, th, xi))
                    fail_msg("law %d t_r %g: no xi for (%g, %g, %g)", law, m.t_r, th[0],
                             th[1], th[2]);
                assert_int_equal(hcmc_law_to_theta(&m, xi, back, NULL, NULL, NULL), 0);
                theta_rounding(&m, th, round);
                for (int k = 0; k < 3; k++)
                    if (fabs(back[k] - th[k]) > 1e-9 * fabs(th[k]) + 100 * round[k])
                        fail_msg("law %d t_r %g: theta %d = %.17g came back as %.17g "
                                 "(xi %g %g %g)",
                                 law, m.t_r, k, th[k], back[k], xi[0], xi[1], xi[2]);
            }
        }
}

/* Central differences of theta and of log |det| along xi_j at step h:
 * fd[0..2] and fd[3]. ok[i] says the step checks component i: neither side
 * is without theta or clamped onto a bound, the analytic derivative at
 * each side is within 1e-4 (relative; for log |det|, whose gradient has
 * entries of order 1, of |d| + 1) of the one at xi (the
 * function is smooth at the step's scale, so the difference, an average
 * of the derivative over the step, is close to it: no kink of the sets,
 * where another bound takes over, lies between), and the value
 * moves by at least 1e5 times its rounding over the step (theta_rounding;
 * for log |det|, a sum of logs of differences of far larger ends, by 3e-6
 * of its size). */
static void differences(const hcmc_law *m, const double *xi, int j, double h,
                        const double *M, const double *dld, const double *abs,
                        double fd[4], bool ok[4])
{
    double xp[3], xm[3], tp[3], tm[3], Mp[9], Mm[9], lp, lm, dp[3], dm[3];
    memcpy(xp, xi, sizeof xp);
    memcpy(xm, xi, sizeof xm);
    xp[j] += h;
    xm[j] -= h;
    bool good = !hcmc_law_to_theta(m, xp, tp, Mp, &lp, dp) &&
                !hcmc_law_to_theta(m, xm, tm, Mm, &lm, dm);
    for (int i = 0; good && i < 3; i++)
        good = tp[i] > m->lo[i] && tp[i] < m->hi[i] && tm[i] > m->lo[i] && tm[i] < m->hi[i];
    for (int i = 0; i < 4; i++)
        ok[i] = false;
    if (!good)
        return;
    double round[3];
    theta_rounding(m, tp, round);
    for (int i = 0; i < 4; i++) {
        double c = i < 3 ? M[3 * i + j] : dld[j];
        double a = i < 3 ? Mp[3 * i + j] : dp[j], b = i < 3 ? Mm[3 * i + j] : dm[j];
        double tol = 1e-4 * (fabs(c) + (i < 3 ? 0 : 1)) + abs[i];
        fd[i] = i < 3 ? (tp[i] - tm[i]) / (2 * h) : (lp - lm) / (2 * h);
        bool moves = i < 3 ? fabs(tp[i] - tm[i]) >= 1e5 * round[i]
                           : fabs(lp - lm) >= 3e-6 * (1 + fabs(lp));
        ok[i] = moves && fabs(a - c) <= tol && fabs(b - c) <= tol;
    }
}

/* Every xi maps inside the bounds, and the derivatives agree with central
 * differences, Richardson-extrapolated from steps h and h/2 (the error is
 * then of order h^4), at the longest of twelve h from 1e-2 to 1e-13 that
 * check (see differences), within 1e-4 relative (plus twice the absolute
 * floor: 1e-8 for log |det|, whose gradient has entries of order 1, 1e-10
 * of the row's scale for theta). Where no step checks (a kink right at xi,
 * or rounding everywhere in an extreme corner) there is no check. For the
 * window of t_r = 1.26 s at least 40 % of each component of theta and
 * of log |det|'s gradient are checked; for
 * t_r far from 1 s, where uniform draws of theta land in the far corners
 * of levels spanning 1e11 and the map bends on every step scale, at least
 * 0.2 % (a few points: the formulas are the same). */
static void test_jacobian(void **state)
{
    (void)state;
    hcmc_rng r;
    hcmc_rng_init(&r, 2, HCMC_RNG_TEST, 0, 0);
    int checked = 0, tried = 0;
    for (int law = 0; law < 2; law++)
        for (int tr = 0; tr < 3; tr++) {
            hcmc_law m;
            make(&m, law, tr);
            int per[4] = {0, 0, 0, 0};
            for (int it = 0; it < 600; it++) {
                double th[3], xi[3], M[9], ld, dld[3];
                draw_theta(&r, &m, th);
                assert_int_equal(hcmc_law_from_theta(&m, th, xi), 0);
                xi[2] = 3 * (2 * hcmc_rng_uniform(&r) - 1); /* anywhere along u */
                assert_int_equal(hcmc_law_to_theta(&m, xi, th, M, &ld, dld), 0);
                for (int k = 0; k < 3; k++)
                    assert_true(th[k] >= m.lo[k] && th[k] <= m.hi[k]);
                double det = M[0] * (M[4] * M[8] - M[5] * M[7]) -
                             M[1] * (M[3] * M[8] - M[5] * M[6]) +
                             M[2] * (M[3] * M[7] - M[4] * M[6]);
                if (fabs(log(fabs(det)) - ld) > 1e-6 * fmax(1, fabs(ld)))
                    fail_msg("log|det| %.12g, stated %.12g", log(fabs(det)), ld);
                double abs[4];
                for (int i = 0; i < 3; i++)
                    abs[i] = 1e-10 * (fabs(M[3 * i]) + fabs(M[3 * i + 1]) + fabs(M[3 * i + 2]));
                abs[3] = 1e-8;
                for (int j = 0; j < 3; j++) {
                    bool done[4] = {false, false, false, false};
                    for (int q = 0; q < 12; q++) {
                        double fd[4], fd2[4], h = 1e-2 * pow(0.1, q);
                        bool ok[4], ok2[4];
                        differences(&m, xi, j, h, M, dld, abs, fd, ok);
                        differences(&m, xi, j, h / 2, M, dld, abs, fd2, ok2);
                        for (int i = 0; i < 4; i++) {
                            /* the two steps agree: no kink between them
                             * whose sides happen to share a derivative */
                            if (done[i] || !ok[i] || !ok2[i] ||
                                fabs(fd[i] - fd2[i]) > 1e-3 * fabs(fd[i]) + abs[i])
                                continue;
                            done[i] = true;
                            double an = i < 3 ? M[3 * i + j] : dld[j];
                            /* Richardson: the h^2 term of the error cancels */
                            double rich = (4 * fd2[i] - fd[i]) / 3;
                            if (fabs(rich - an) > 1e-4 * fabs(an) + 2 * abs[i] + 1e-300)
                                fail_msg("law %d t_r %g theta (%g %g %g) xi (%.17g %.17g "
                                         "%.17g): d %s%d / d xi%d = %.10g, differences "
                                         "%.10g",
                                         law, m.t_r, th[0], th[1], th[2], xi[0], xi[1], xi[2],
                                         i < 3 ? "theta" : "logdet", i < 3 ? i : 0, j, an,
                                         rich);
                        }
                    }
                    for (int i = 0; i < 4; i++) {
                        tried++;
                        checked += done[i];
                        per[i] += done[i];
                    }
                }
            }
            print_message("law %d t_r %g: %d %d %d %d of 1800 checked\n", law, m.t_r, per[0],
                          per[1], per[2], per[3]);
            for (int i = 0; i < 4; i++)
                assert_true(per[i] >= (tr == 0 ? 0.4 : 0.002) * 1800);
        }
    print_message("jacobian: %d of %d derivatives checked\n", checked, tried);
}

/* Any xi within 5 of 0 in each coordinate has parameter values inside the
 * bounds: no walls (further out, rounding can leave the set of a corner
 * empty: prior mass below 1e-6 per coordinate). Also with bounds that
 * allow rising laws only, and only falling ones; a prefactor that may be 0
 * is refused; NaN has no theta. */
static void test_no_walls(void **state)
{
    (void)state;
    hcmc_rng r;
    hcmc_rng_init(&r, 3, HCMC_RNG_TEST, 0, 0);
    const double rise_lo[3] = {100, 0.1, -1e5}, rise_hi[3] = {1e5, 2, 1e5};
    const double fall_lo[3] = {1e-6, -2, -0.1}, fall_hi[3] = {0.5, -0.3, 0.1};
    for (int law = 0; law < 4; law++)
        for (int tr = 0; tr < 3; tr++) {
            hcmc_law m;
            if (law < 2)
                make(&m, law, tr);
            else
                assert_int_equal(kind == HCMC_LAW_SLOPE
                                     ? hcmc_law_init_slope(&m,
                                                           law == 2 ? rise_lo : fall_lo,
                                                           law == 2 ? rise_hi : fall_hi,
                                                           t_slope[tr], 0, NULL)
                                     : hcmc_law_init(&m, law == 2 ? rise_lo : fall_lo,
                                                     law == 2 ? rise_hi : fall_hi,
                                                     t_refs[tr], tr * 1e-3, NULL),
                                 0);
            for (int it = 0; it < 3000; it++) {
                double xi[3], th[3];
                for (int k = 0; k < 3; k++)
                    xi[k] = 5 * (2 * hcmc_rng_uniform(&r) - 1);
                if (hcmc_law_to_theta(&m, xi, th, NULL, NULL, NULL))
                    fail_msg("law %d t_r %g: no theta at xi (%g %g %g)", law, m.t_r, xi[0],
                             xi[1], xi[2]);
                for (int k = 0; k < 3; k++)
                    assert_true(th[k] >= m.lo[k] && th[k] <= m.hi[k]);
            }
        }
    hcmc_law m;
    make(&m, 0, 0);
    double th[3], nan_xi[3] = {0, NAN, 0};
    assert_int_not_equal(hcmc_law_to_theta(&m, nan_xi, th, NULL, NULL, NULL), 0);
    double lo2[3] = {0, -2, -1}, hi2[3] = {1, 2, 1};
    assert_int_equal(hcmc_law_init(&m, lo2, hi2, 1.0, 0, NULL), HCMC_EUNSUPPORTED);
}

/* The change of variables integrates to the volume of the bounds:
 * E[|det M| / phi3(xi)] over xi ~ N(0, I) is the volume of (a, b, c)'s
 * box, by importance sampling. Centred (w = 0) the ratio |det M| / phi3 is
 * V1 U dB a phi(r2 + m) / phi(r2), whose variance is finite. 2e5 draws;
 * allowed: 4 standard errors, and the standard error below 3 % (a map
 * that misses or covers twice a part of the box is off by that part). The
 * window of t_r = 1.26 s: far from 1 s, a spans orders of magnitude over
 * the box and the ratio's variance is too large for a test. */
static void test_volume(void **state)
{
    (void)state;
    hcmc_rng r;
    hcmc_rng_init(&r, 5, HCMC_RNG_TEST, 0, 0);
    for (int law = 0; law < 2; law++)
        for (int tr = 0; tr < 1; tr++) {
            hcmc_law m;
            make(&m, law, tr); /* SHAPE: centred (w = 0) at tr = 0 */
            double vol = 1, s1 = 0, s2 = 0;
            for (int k = 0; k < 3; k++)
                vol *= m.hi[k] - m.lo[k];
            const int n = 200000;
            for (int i = 0; i < n; i++) {
                double xi[3], th[3], M[9], ld, d[3], lq = 0;
                for (int k = 0; k < 3; k++) {
                    xi[k] = hcmc_rng_normal(&r);
                    lq += -0.5 * xi[k] * xi[k] - 0.918938533204672742;
                }
                double w = 0;
                if (!hcmc_law_to_theta(&m, xi, th, M, &ld, d))
                    w = exp(ld - lq) / vol;
                s1 += w;
                s2 += w * w;
            }
            double mean = s1 / n, se = sqrt((s2 / n - mean * mean) / n);
            print_message("law %d t_r %g: volume ratio %.4f +- %.4f\n", law, m.t_r, mean, se);
            assert_true(se < 0.03);
            assert_true(fabs(mean - 1) < 4 * se);
        }
}

/* The exponent is non-centred: with a slope scale w, where e^u is large
 * against w, r2 is about v2 / w (law.h), whatever u: the funnel of b
 * within e^-u w of 0 is opened; where e^u is small against w, r2 follows
 * the exponent's own fraction of its interval. */
static void test_non_centred(void **state)
{
    (void)state;
    hcmc_law m;
    make_w(&m, 1, 0, 1e-6); /* gamma_dot(t), t_r = 1.26 s, slopes of 1e-6 / s */
    double th[3], xi[3];
    for (int i = 0; i < 5; i++) {
        double ap = 1e-3 * pow(10, 0.5 * i), v2 = 2e-6; /* a' from 1e-3 to 1e-1 */
        double b = v2 / ap;
        th[0] = ap * exp(-b * m.L);
        th[1] = b;
        th[2] = 0.05 - ap;
        assert_int_equal(hcmc_law_from_theta(&m, th, xi), 0);
        /* r2 = v2 / w (1 + O(w / (e^u dB))), up to the centre's offset */
        assert_true(fabs(xi[1] - v2 / 1e-6) < 0.05 * v2 / 1e-6);
    }
    /* a prefactor far below the scale: the exponent's own fraction of its
     * interval (k near 1): b = 1 is 3/4 of (-2, 2), Phi^-1(3/4) = 0.674 */
    make_w(&m, 1, 0, 1e-3);
    th[0] = 2e-6;
    th[1] = 1.0;
    th[2] = 0.05;
    assert_int_equal(hcmc_law_from_theta(&m, th, xi), 0);
    assert_true(fabs(xi[1] - 0.674) < 0.01);
}

/* The largest change of d log|J| / ds between neighbours h apart along s
 * within 4 of xi0's, at xi0's (r1, r2). */
static double largest_step(const hcmc_law *m, const double xi0[3], double h)
{
    double x[3] = {xi0[0], xi0[1], 0}, th[3], M[9], ld, d[3], prev = NAN, most = 0;
    for (double s = xi0[2] - 4; s < xi0[2] + 4; s += h) {
        x[2] = s;
        assert_int_equal(hcmc_law_to_theta(m, x, th, M, &ld, d), 0);
        if (!isnan(prev))
            most = fmax(most, fabs(d[2] - prev));
        prev = d[2];
    }
    return most;
}

/* SHAPE where the prefactor's upper bound cuts a posterior near b = 0 (the
 * static SBC's bounds, D0 near 5e4, the level just below a_hi + c_hi): as
 * u rises towards log a_hi, the exponent's interval (b > (u - log a_hi) /
 * L, b < b_hi, nothing else binding at this level) puts 0 ever nearer its
 * lower end, from 32 % of it to 1 %, and its centre c0 goes to its
 * limit. The density's gradient must stay continuous there (a hard limit
 * at 5 % made a crease, on which chains diverged): a tenfold finer
 * spacing of the points must shrink the largest change of d log|J| / ds
 * between neighbours about tenfold (1.6e-3 to 1.6e-4 here; with the hard
 * limit the crease keeps it at 1.1 for both spacings). */
static void test_centre_smooth(void **state)
{
    (void)state;
    const double lo[3] = {1e3, -1.5, 0}, hi[3] = {5e4, 0.5, 1e3};
    for (int iw = 0; iw < 2; iw++) {
        hcmc_law m;
        assert_int_equal(hcmc_law_init(&m, lo, hi, 1.09, iw ? 300 : 0, NULL), 0);
        double th[3] = {4.9e4, 0.02, 900}, xi[3];
        assert_int_equal(hcmc_law_from_theta(&m, th, xi), 0);
        double coarse = largest_step(&m, xi, 1e-3), fine = largest_step(&m, xi, 1e-4);
        print_message("centre: w %g, largest step %.3g at 1e-3, %.3g at 1e-4\n", m.w,
                      coarse, fine);
        assert_true(coarse > 0);
        assert_true(fine < 0.3 * coarse);
    }
}

BOTH_KINDS(test_round_trip)
BOTH_KINDS(test_jacobian)
BOTH_KINDS(test_no_walls)
BOTH_KINDS(test_volume)

/* SLOPE's reference time: the middle of the window where the exponents
 * allow it, else the nearest time that leaves 1 + L b >= 0.1; none where
 * the window lies beyond; init refuses a time that does not suit. A
 * narrow exponent allows a window far from 1 s (APS 8-ID: 2e-5 s x 1000
 * frames, L = -7.4 with |b| <= 0.1), where the map works as well. */
static void test_slope_time(void **state)
{
    (void)state;
    assert_true(fabs(hcmc_law_slope_time(-2, 2, 0.1, 16) - sqrt(1.6)) < 1e-12);
    assert_true(fabs(log(hcmc_law_slope_time(-2, 2, 1e-3, 1)) + 0.45) < 1e-12);
    assert_true(fabs(log(hcmc_law_slope_time(-2, 2, 1, 1e4)) - 0.45) < 1e-12);
    assert_true(fabs(log(hcmc_law_slope_time(0, 2, 1, 1e4)) - log(100)) < 1e-12);
    assert_true(hcmc_law_slope_time(-2, 2, 2e-5, 2e-2) == 0);
    hcmc_law m;
    assert_int_equal(hcmc_law_init_slope(&m, Dlo, Dhi, 2.0, 0, NULL),
                     HCMC_EUNSUPPORTED);
    const double lo[3] = {100, -0.1, -1e5}, hi[3] = {1e5, 0.1, 1e5};
    double tr = hcmc_law_slope_time(lo[1], hi[1], 2e-5, 2e-2);
    assert_true(fabs(tr - sqrt(2e-5 * 2e-2)) < 1e-15);
    assert_int_equal(hcmc_law_init_slope(&m, lo, hi, tr, 0, NULL), 0);
    hcmc_rng r;
    hcmc_rng_init(&r, 6, HCMC_RNG_TEST, 0, 0);
    for (int it = 0; it < 2000; it++) {
        double th[3], xi[3], back[3], round[3];
        draw_theta(&r, &m, th);
        assert_int_equal(hcmc_law_from_theta(&m, th, xi), 0);
        assert_int_equal(hcmc_law_to_theta(&m, xi, back, NULL, NULL, NULL), 0);
        theta_rounding(&m, th, round);
        for (int k = 0; k < 3; k++)
            assert_true(fabs(back[k] - th[k]) <= 1e-9 * fabs(th[k]) + 100 * round[k]);
    }
}

/* Where the data fix the level and log-slope of a law near b = 0, the map
 * leaves them alone as u moves: at fixed (r1, r2), s moves u only, and b
 * e^u and a e^(bL) + c stay (the ridge of such a posterior is a line of
 * constant r1, r2). */
/* SLOPE's edge (law.h) changes only how u is measured along s: at given
 * (r1, r2) the integral of |d theta / d xi| over s is the same with and
 * without it (the volume of theta along that line of (v1, v2)), and u's
 * map has its edge where the curvature v2^2 e^-u reaches the scale:
 * Phi(s) there is the share of the interval's E1 measure below it. */
static double along_s(const hcmc_law *m, double r1, double r2)
{
    /* Simpson's rule (its error here, from the kink where the floor of the
     * reference density begins, is below 5e-6); beyond |s| = 12 the
     * normal's mass is below 1e-32 */
    const int n = 96000;
    const double lim = 12, h = 2 * lim / n;
    double sum = 0;
    for (int i = 0; i <= n; i++) {
        double xi[3] = {r1, r2, -lim + i * h}, th[3], M[9], ld, d[3];
        if (hcmc_law_to_theta(m, xi, th, M, &ld, d) == 0)
            sum += exp(ld) * (i == 0 || i == n ? 1 : i % 2 ? 4 : 2);
    }
    return sum * h / 3;
}

static void test_slope_edge(void **state)
{
    (void)state;
    hcmc_rng r;
    hcmc_rng_init(&r, 9, HCMC_RNG_TEST, 0, 0);
    for (int law = 0; law < 2; law++) {
        hcmc_law flat, edge;
        const double *lo = law ? Glo : Dlo, *hi = law ? Ghi : Dhi;
        assert_int_equal(hcmc_law_init_slope(&flat, lo, hi, 1.26, 0, NULL), 0);
        for (int sc = 0; sc < 2; sc++) {
            double k = edge_scale(&flat) * (sc ? 1 : 0.2);
            assert_int_equal(hcmc_law_init_slope(&edge, lo, hi, 1.26, k, NULL), 0);
            for (int i = 0; i < 6; i++) {
                double r1 = hcmc_rng_normal(&r), r2 = hcmc_rng_normal(&r);
                double a = along_s(&flat, r1, r2), b = along_s(&edge, r1, r2);
                if (!(a > 0))
                    continue;
                print_message("law %d scale %g (r1 %.2f, r2 %.2f): %.8g against %.8g\n",
                              law, k, r1, r2, b, a);
                assert_true(fabs(b / a - 1) < 1e-5);
            }
        }
    }
}

static void test_slope_ridge(void **state)
{
    (void)state;
    hcmc_law m;
    assert_int_equal(hcmc_law_init_slope(&m, Dlo, Dhi, 1.26, 0, NULL), 0);
    double th[3] = {2e4, 0.015, 100}, xi[3], v[3], w[3];
    assert_int_equal(hcmc_law_from_theta(&m, th, xi), 0);
    levels(&m, th, v);
    for (double s = -2.5; s <= 2.5; s += 0.5) {
        double x[3] = {xi[0], xi[1], s};
        assert_int_equal(hcmc_law_to_theta(&m, x, th, NULL, NULL, NULL), 0);
        levels(&m, th, w);
        assert_true(fabs(w[0] - v[0]) < 1e-9 * fabs(v[0]));
        assert_true(fabs(w[1] - v[1]) < 1e-9 * fabs(v[1]));
    }
}

static void test_normal_quantile(void **state)
{
    (void)state;
    double ps[] = {1e-300, 1e-100, 1e-20, 1e-10, 1e-5, 0.001, 0.02425, 0.1, 0.3, 0.5,
                   0.7, 0.97575, 0.999};
    for (size_t k = 0; k < sizeof ps / sizeof *ps; k++) {
        double x = hcmc_normal_quantile(ps[k]);
        double back = hcmc_normal_cdf(x);
        assert_true(fabs(back - ps[k]) <= 1e-13 * ps[k]);
    }
    assert_true(isinf(hcmc_normal_quantile(0)) && hcmc_normal_quantile(0) < 0);
    assert_true(isnan(hcmc_normal_quantile(-0.1)));
}

/* The coordinates of a whole laminar_flow vector (coords.h): two law
 * blocks, probit elsewhere, log sigma last. theta -> z -> theta round
 * trips; for f(theta) = c . theta, the pullback of c is the gradient of
 * f(theta(z)) in z (central differences, 1e-6 relative to the gradient's
 * size); log |dtheta/dz| is the law blocks' plus the probit terms. */
static void test_coords(void **state)
{
    (void)state;
    const double bounds[9][2] = {{100, 1e5}, {-2, 2},  {-1e5, 1e5}, {1e-6, 0.5}, {-2, 2},
                                 {-0.1, 0.1}, {-10, 10}, {0, 1},      {0.5, 1.5}};
    const double theta0[10] = {2e4, -0.5, 100, 2e-4, -0.3, 1e-5, 4, 0.3, 1.0, 0.02};
    hcmc_coords c;
    assert_int_equal(hcmc_coords_init(&c, 10, bounds, false, NULL), 0);
    assert_int_equal(hcmc_coords_add_law(&c, 0, HCMC_LAW_SHAPE, 1.26, 0, NULL), 0);
    assert_int_equal(hcmc_coords_add_law(&c, 3, HCMC_LAW_SHAPE, 1.26, 1e-6, NULL), 0);
    assert_int_equal(hcmc_coords_law_at(&c, 3), 1);
    assert_int_equal(hcmc_coords_law_at(&c, 4), -1);
    double z[10], th[10], dth[10], M[2][9], lj, dlj[10];
    assert_int_equal(hcmc_coords_unconstrain(&c, theta0, z), 0);
    assert_int_equal(hcmc_coords_constrain(&c, z, th), 0);
    for (int k = 0; k < 10; k++)
        assert_true(fabs(th[k] - theta0[k]) <= 1e-9 * fabs(theta0[k]) + 1e-12);
    const double cvec[9] = {1e-4, 3, 1e-4, 1e3, -2, 50, 0.1, 7, -3};
    double g[10];
    assert_int_equal(hcmc_coords_forward(&c, z, th, dth, M, &lj, dlj), 0);
    memcpy(g, cvec, sizeof cvec);
    hcmc_coords_pullback(&c, dth, (const double(*)[9])M, g);
    double gmax = 0;
    for (int k = 0; k < 9; k++)
        gmax = fmax(gmax, fabs(g[k]));
    for (int k = 0; k < 9; k++) {
        double h = 1e-6, zp[10], zm[10], tp[10], tm[10], fp = 0, fm = 0;
        memcpy(zp, z, sizeof z);
        memcpy(zm, z, sizeof z);
        zp[k] += h;
        zm[k] -= h;
        hcmc_coords_constrain(&c, zp, tp);
        hcmc_coords_constrain(&c, zm, tm);
        for (int i = 0; i < 9; i++) {
            fp += cvec[i] * tp[i];
            fm += cvec[i] * tm[i];
        }
        double fd = (fp - fm) / (2 * h);
        if (fabs(fd - g[k]) > 1e-6 * gmax)
            fail_msg("coordinate %d: pullback %.10g, differences %.10g", k, g[k], fd);
    }
    /* log |dtheta/dz|: the blocks' log |det| and log(hi - lo) + log phi(z) */
    double expect = 0, ld, d3[3];
    for (int l = 0; l < 2; l++) {
        double t3[3];
        assert_int_equal(hcmc_law_to_theta(&c.law[l], z + 3 * l, t3, M[l], &ld, d3), 0);
        expect += ld;
    }
    for (int k = 6; k < 9; k++)
        expect += log(bounds[k][1] - bounds[k][0]) - 0.5 * z[k] * z[k] -
                  0.918938533204672742;
    assert_true(fabs(lj - expect) <= 1e-12 * fabs(expect));
    /* out of the bounds: refused */
    double bad[10];
    memcpy(bad, theta0, sizeof bad);
    bad[7] = 1.5;
    assert_int_not_equal(hcmc_coords_unconstrain(&c, bad, z), 0);
    hcmc_coords_release(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_both), cmocka_unit_test(test_jacobian_both),
        cmocka_unit_test(test_no_walls_both),   cmocka_unit_test(test_volume_both),
        cmocka_unit_test(test_slope_time),      cmocka_unit_test(test_slope_ridge),
        cmocka_unit_test(test_slope_edge),      cmocka_unit_test(test_non_centred),
        cmocka_unit_test(test_centre_smooth),   cmocka_unit_test(test_normal_quantile),
        cmocka_unit_test(test_coords),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
