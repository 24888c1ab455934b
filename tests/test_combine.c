/* Combination rules on a conjugate linear-Gaussian model whose exact
 * posterior is known, split into K = 1, 4, 16, 64 shards; the gates
 * (failed, divergent, degenerate, outlier shards, heterogeneity,
 * min_success_rate); a base shared by the shards' targets, divided out.
 *
 * Each shard's draws are exact iid draws from its subposterior (prior
 * tempered by 1/K), so only the rule is under test. Tolerances: the error
 * of a combined mean has two Monte Carlo sources, the G combined draws
 * (variance sd^2 / G) and the shards' estimated precisions W_k (relative
 * error about sqrt(2d / G) each, contributing about sd^2 2d / G); the test
 * allows 4 sd sqrt((1 + 2d) / G). A variance is allowed 4 sqrt((2 + 4d) /
 * G) relative error by the same reasoning (2/G of its own, twice the
 * precision term). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <lapacke.h>

#include "hcmc/combine.h"
#include "hcmc/log.h"
#include "hcmc/rng.h"

#define D 3
#define NPTS 6400
#define CH 4
#define DR 2000

/* Posterior of beta in y = X beta + e, e ~ N(0, 1), beta ~ N(0, tau2 I):
 * precision P = X^T X + I / tau2, mean = P^-1 X^T y. Returns the
 * covariance in cov and the mean in mean. */
static void posterior(const double *X, const double *y, size_t n, double tau2,
                      double *mean, double *cov)
{
    double P[D * D] = {0}, b[D] = {0};
    for (size_t i = 0; i < n; i++)
        for (int a = 0; a < D; a++) {
            b[a] += X[i * D + a] * y[i];
            for (int c = 0; c < D; c++)
                P[a * D + c] += X[i * D + a] * X[i * D + c];
        }
    for (int a = 0; a < D; a++)
        P[a * D + a] += 1.0 / tau2;
    memcpy(cov, P, sizeof P);
    LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', D, cov, D);
    LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'L', D, cov, D);
    for (int a = 0; a < D; a++)
        for (int c = 0; c < a; c++)
            cov[c * D + a] = cov[a * D + c];
    for (int a = 0; a < D; a++) {
        mean[a] = 0;
        for (int c = 0; c < D; c++)
            mean[a] += cov[a * D + c] * b[c];
    }
}

/* iid draws from N(mean, cov) */
static void draw(const double *mean, const double *cov, hcmc_rng *rng, double *z,
                 size_t G)
{
    double L[D * D];
    memcpy(L, cov, sizeof L);
    LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', D, L, D);
    for (size_t g = 0; g < G; g++) {
        double u[D];
        for (int a = 0; a < D; a++)
            u[a] = hcmc_rng_normal(rng);
        for (int a = 0; a < D; a++) {
            z[g * D + a] = mean[a];
            for (int c = 0; c <= a; c++)
                z[g * D + a] += L[a * D + c] * u[c];
        }
    }
}

typedef struct {
    double X[NPTS * D], y[NPTS];
    double mean[D], cov[D * D];
} data;

/* Shard k of K takes points with x scaled by a shard-dependent factor, so
 * shards carry unequal information (simple averaging is then wrong). */
static void make_data(data *dd, size_t K)
{
    hcmc_rng rng;
    hcmc_rng_init(&rng, 1, HCMC_RNG_TEST, 0, 0);
    const double beta[D] = {1.0, -0.5, 0.25};
    size_t per = NPTS / K;
    for (size_t i = 0; i < NPTS; i++) {
        double scale = 0.3 + 2.7 * (double)(i / per) / (double)(K > 1 ? K - 1 : 1);
        dd->y[i] = hcmc_rng_normal(&rng);
        for (int a = 0; a < D; a++) {
            dd->X[i * D + a] = scale * hcmc_rng_normal(&rng);
            dd->y[i] += dd->X[i * D + a] * beta[a];
        }
    }
    posterior(dd->X, dd->y, NPTS, 4.0, dd->mean, dd->cov);
}

static hcmc_shard_draws *make_shards(const data *dd, size_t K, double **store)
{
    hcmc_shard_draws *sh = calloc(K, sizeof *sh);
    *store = malloc(K * CH * DR * D * sizeof(double));
    size_t per = NPTS / K;
    for (size_t k = 0; k < K; k++) {
        double m[D], c[D * D];
        posterior(dd->X + k * per * D, dd->y + k * per, per, 4.0 * (double)K, m, c);
        hcmc_rng rng;
        hcmc_rng_init(&rng, 2, HCMC_RNG_TEST, (uint32_t)k, 0);
        double *z = *store + k * CH * DR * D;
        draw(m, c, &rng, z, CH * DR);
        sh[k] = (hcmc_shard_draws){.chains = CH, .draws = DR, .dim = D, .z = z};
    }
    return sh;
}

/* Largest error of the combined mean and variances in units of their
 * allowed errors (> 1 fails). */
static double worst(const hcmc_combine_result *r, const data *dd)
{
    size_t G = r->chains * r->draws;
    double w = 0;
    for (int a = 0; a < D; a++) {
        double m = 0, v = 0;
        for (size_t g = 0; g < G; g++)
            m += r->z[g * D + a];
        m /= (double)G;
        for (size_t g = 0; g < G; g++)
            v += (r->z[g * D + a] - m) * (r->z[g * D + a] - m);
        v /= (double)(G - 1);
        double sd = sqrt(dd->cov[a * D + a]);
        double tol_m = 4 * sd * sqrt((1.0 + 2 * D) / (double)G);
        double tol_v = 4 * sqrt((2.0 + 4 * D) / (double)G);
        w = fmax(w, fabs(m - dd->mean[a]) / tol_m);
        w = fmax(w, fabs(v / dd->cov[a * D + a] - 1) / tol_v);
    }
    return w;
}

static void test_conjugate(void **state)
{
    (void)state;
    static data dd;
    const size_t Ks[4] = {1, 4, 16, 64};
    for (int i = 0; i < 4; i++) {
        size_t K = Ks[i];
        make_data(&dd, K);
        double *store;
        hcmc_shard_draws *sh = make_shards(&dd, K, &store);
        const hcmc_combine_method methods[4] = {
            HCMC_COMBINE_CONSENSUS, HCMC_COMBINE_ROBUST_CONSENSUS,
            HCMC_COMBINE_GAUSSIAN, HCMC_COMBINE_SIMPLE_AVERAGE};
        for (int m = 0; m < 4; m++) {
            hcmc_combine_settings s;
            hcmc_combine_settings_defaults(&s);
            s.method = methods[m];
            s.max_parameter_cv = 1e9; /* shards differ by design here */
            hcmc_combine_result *r;
            hcmc_error e;
            if (hcmc_combine(sh, K, &s, &r, &e))
                fail_msg("K %zu %s: %s", K, hcmc_combine_method_name(methods[m]),
                         e.msg);
            double w = worst(r, &dd);
            print_message("K %2zu %-20s worst error / allowed %.2f\n", K,
                          hcmc_combine_method_name(methods[m]), w);
            if (methods[m] == HCMC_COMBINE_SIMPLE_AVERAGE) {
                if (K > 1)
                    assert_true(w > 10.0); /* visibly wrong */
            } else {
                assert_true(w <= 1.0);
                assert_int_equal(r->n_kept, K);
            }
            hcmc_combine_result_free(r);
        }
        free(sh);
        free(store);
    }
}

static void test_gates(void **state)
{
    (void)state;
    static data dd;
    make_data(&dd, 1); /* every shard alike */
    double *store;
    hcmc_shard_draws *sh = make_shards(&dd, 16, &store);
    /* shard 1 failed, shard 2 too divergent, shard 3 stuck (a constant
     * chain makes a coordinate's variance tiny), shard 4 shifted far */
    sh[1].z = NULL;
    sh[1].failure = "worker killed by signal 9";
    sh[2].divergences = CH * DR / 5;
    double *z3 = (double *)sh[3].z, *z4 = (double *)sh[4].z;
    for (size_t g = 0; g < CH * DR; g++) {
        z3[g * D + 0] = 1.0 + 1e-9 * (double)(g % 2);
        z4[g * D + 1] += 50.0;
    }
    hcmc_combine_settings s;
    hcmc_combine_settings_defaults(&s);
    s.nphys = D;
    s.max_parameter_cv = 1e9;
    s.min_success_rate = 0.5;
    hcmc_combine_result *r;
    hcmc_error e;
    assert_int_equal(hcmc_combine(sh, 16, &s, &r, &e), 0);
    for (size_t k = 0; k < 16; k++)
        if (r->status[k])
            print_message("shard %zu excluded: %s\n", k, r->reason[k]);
    assert_int_equal(r->status[1], HCMC_SHARD_FAILED);
    assert_non_null(strstr(r->reason[1], "signal 9"));
    assert_int_equal(r->status[2], HCMC_SHARD_DIVERGENT);
    assert_int_equal(r->status[3], HCMC_SHARD_DEGENERATE);
    assert_int_equal(r->status[4], HCMC_SHARD_OUTLIER);
    assert_int_equal(r->n_kept, 12);
    hcmc_combine_result_free(r);
    /* plain consensus keeps the outlier */
    s.method = HCMC_COMBINE_CONSENSUS;
    assert_int_equal(hcmc_combine(sh, 16, &s, &r, &e), 0);
    assert_int_equal(r->status[4], HCMC_SHARD_KEPT);
    hcmc_combine_result_free(r);
    /* heterogeneity: abort, or warn */
    s.max_parameter_cv = 0.5;
    assert_int_equal(hcmc_combine(sh, 16, &s, &r, &e), HCMC_ENUMERIC);
    assert_non_null(strstr(e.msg, "CV"));
    assert_non_null(r); /* judged: statuses, no draws */
    assert_null(r->z);
    hcmc_combine_result_free(r);
    s.heterogeneity_abort = false;
    hcmc_log_set_level(HCMC_LOG_ERROR);
    assert_int_equal(hcmc_combine(sh, 16, &s, &r, &e), 0);
    hcmc_log_set_level(HCMC_LOG_INFO);
    assert_true(r->heterogeneous);
    hcmc_combine_result_free(r);
    /* min_success_rate 0.9: 13 of 16 left is too few, and says why */
    s.min_success_rate = 0.9;
    s.max_parameter_cv = 1e9;
    assert_int_equal(hcmc_combine(sh, 16, &s, &r, &e), HCMC_ENODATA);
    assert_non_null(strstr(e.msg, "shard 1: failed"));
    assert_non_null(strstr(e.msg, "shard 2: divergence rate"));
    /* the statuses come back for the report, without draws */
    assert_non_null(r);
    assert_null(r->z);
    assert_int_equal(r->n_kept, 13);
    assert_int_equal(r->status[1], HCMC_SHARD_FAILED);
    assert_int_equal(r->status[2], HCMC_SHARD_DIVERGENT);
    hcmc_combine_result_free(r);
    free(sh);
    free(store);
}

/* Shards built from two different truths (half with beta_2 = 0.25, half
 * with beta_2 = -0.25, tens of shard sds apart) trip the heterogeneity
 * abort; shards from one truth do not. (The CV is relative to the mean
 * of the shard means, so truths of one sign need a much larger difference
 * to count as heterogeneous: that is MODEL.md's rule.) */
static void test_two_truths(void **state)
{
    (void)state;
    static data dd;
    make_data(&dd, 1);
    double *store;
    hcmc_shard_draws *sh = make_shards(&dd, 8, &store);
    hcmc_combine_settings s;
    hcmc_combine_settings_defaults(&s);
    s.nphys = D;
    hcmc_combine_result *r;
    hcmc_error e;
    if (hcmc_combine(sh, 8, &s, &r, &e))
        fail_msg("%s", e.msg);
    for (int a = 0; a < D; a++)
        assert_true(r->cv[a] < 1.0);
    hcmc_combine_result_free(r);
    for (size_t k = 4; k < 8; k++) {
        double *z = (double *)sh[k].z;
        for (size_t g = 0; g < CH * DR; g++)
            z[g * D + 2] -= 0.5;
    }
    assert_int_equal(hcmc_combine(sh, 8, &s, &r, &e), HCMC_ENUMERIC);
    assert_non_null(strstr(e.msg, "physical parameter 2"));
    hcmc_combine_result_free(r);
    free(sh);
    free(store);
}

/* A shard whose posterior runs far along a direction its data leave open
 * (CMC shards at alpha near 0: D_offset -1e4 +- 9e3 where the others have
 * 400 +- 1.6e3) has a far mean and an sd to match. One of 8 like shards is
 * widened 40-fold about its mean in coordinate 0 and moved by 20 of its
 * former sds (half its new sd): neither an outlier nor heterogeneity, by
 * default settings. Moved by 10 of its new sds instead, it is both. */
static void test_wide_shard(void **state)
{
    (void)state;
    static data dd;
    make_data(&dd, 1);
    double *store;
    hcmc_shard_draws *sh = make_shards(&dd, 8, &store);
    double *z = (double *)sh[5].z, m = 0, v = 0, n = (double)(CH * DR);
    for (size_t g = 0; g < CH * DR; g++)
        m += z[g * D] / n;
    for (size_t g = 0; g < CH * DR; g++)
        v += (z[g * D] - m) * (z[g * D] - m) / n;
    for (size_t g = 0; g < CH * DR; g++)
        z[g * D] = m + 40 * (z[g * D] - m) + 20 * sqrt(v);
    hcmc_combine_settings s;
    hcmc_combine_settings_defaults(&s);
    s.nphys = D;
    hcmc_combine_result *r;
    hcmc_error e;
    if (hcmc_combine(sh, 8, &s, &r, &e))
        fail_msg("%s", e.msg);
    assert_int_equal(r->status[5], HCMC_SHARD_KEPT);
    assert_true(r->cv[0] < 1.0);
    hcmc_combine_result_free(r);
    for (size_t g = 0; g < CH * DR; g++)
        z[g * D] += (400 - 20) * sqrt(v);
    s.heterogeneity_abort = false;
    s.min_success_rate = 0.5;
    hcmc_log_set_level(HCMC_LOG_ERROR);
    assert_int_equal(hcmc_combine(sh, 8, &s, &r, &e), 0);
    hcmc_log_set_level(HCMC_LOG_INFO);
    assert_int_equal(r->status[5], HCMC_SHARD_OUTLIER);
    hcmc_combine_result_free(r);
    s.method = HCMC_COMBINE_CONSENSUS; /* keeps it: the shards disagree */
    hcmc_log_set_level(HCMC_LOG_ERROR);
    assert_int_equal(hcmc_combine(sh, 8, &s, &r, &e), 0);
    hcmc_log_set_level(HCMC_LOG_INFO);
    assert_true(r->heterogeneous);
    hcmc_combine_result_free(r);
    free(sh);
    free(store);
}

/* Shards whose targets share a base: the prior N(0, tau2 I) enters every
 * shard whole (as the standard normal base of the bounded coordinates
 * does in hcmc's targets), and the third coordinate's data are weak (x
 * scaled by 0.002), so its posterior is about the prior. With the bases
 * divided out (base_precision = 1 / tau2) consensus and gaussian give the
 * exact posterior (the same tolerance as test_conjugate); without, the
 * prior counted K times makes that coordinate sqrt(K) too narrow. */
static void test_base(void **state)
{
    (void)state;
    static data dd;
    const size_t K = 16;
    make_data(&dd, K);
    for (size_t i = 0; i < NPTS; i++) {
        dd.y[i] -= dd.X[i * D + 2] * 0.25;
        dd.X[i * D + 2] *= 0.002;
        dd.y[i] += dd.X[i * D + 2] * 0.25;
    }
    posterior(dd.X, dd.y, NPTS, 4.0, dd.mean, dd.cov);
    hcmc_shard_draws *sh = calloc(K, sizeof *sh);
    double *store = malloc(K * CH * DR * D * sizeof(double));
    size_t per = NPTS / K;
    for (size_t k = 0; k < K; k++) {
        double m[D], c[D * D];
        posterior(dd.X + k * per * D, dd.y + k * per, per, 4.0, m, c);
        hcmc_rng rng;
        hcmc_rng_init(&rng, 3, HCMC_RNG_TEST, (uint32_t)k, 0);
        double *z = store + k * CH * DR * D;
        draw(m, c, &rng, z, CH * DR);
        sh[k] = (hcmc_shard_draws){.chains = CH, .draws = DR, .dim = D, .z = z};
    }
    const double base[D] = {0.25, 0.25, 0.25};
    const hcmc_combine_method methods[2] = {HCMC_COMBINE_CONSENSUS,
                                            HCMC_COMBINE_GAUSSIAN};
    for (int m = 0; m < 2; m++) {
        hcmc_combine_settings s;
        hcmc_combine_settings_defaults(&s);
        s.method = methods[m];
        s.max_parameter_cv = 1e9;
        s.base_precision = base;
        hcmc_combine_result *r, *rn;
        hcmc_error e;
        if (hcmc_combine(sh, K, &s, &r, &e))
            fail_msg("%s", e.msg);
        double w = worst(r, &dd);
        s.base_precision = NULL;
        assert_int_equal(hcmc_combine(sh, K, &s, &rn, &e), 0);
        size_t G = rn->chains * rn->draws;
        double m2 = 0, v2 = 0;
        for (size_t g = 0; g < G; g++)
            m2 += rn->z[g * D + 2] / (double)G;
        for (size_t g = 0; g < G; g++)
            v2 += (rn->z[g * D + 2] - m2) * (rn->z[g * D + 2] - m2) / (double)(G - 1);
        print_message("%s: worst error / allowed %.2f with the bases divided out; "
                      "without, the weak coordinate's variance is %.3g of the "
                      "posterior's\n",
                      hcmc_combine_method_name(methods[m]), w, v2 / dd.cov[2 * D + 2]);
        assert_true(w <= 1.0);
        assert_true(v2 / dd.cov[2 * D + 2] < 2.0 / (double)K); /* about 1/K */
        hcmc_combine_result_free(r);
        hcmc_combine_result_free(rn);
    }
    free(sh);
    free(store);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conjugate),  cmocka_unit_test(test_gates),
        cmocka_unit_test(test_two_truths), cmocka_unit_test(test_wide_shard),
        cmocka_unit_test(test_base),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
