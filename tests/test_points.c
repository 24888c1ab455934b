/* Points table from a data set: counts, NaN handling, frame slicing,
 * subsets, noise scale. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hcmc/dataset.h"

/* n_phi angles of n frames with c2[a][i][j] = 100 a + 10 i + j (distinct,
 * so every point can be traced back to its cell). */
static void make_ds(hcmc_dataset *ds, size_t n_phi, size_t n)
{
    assert_int_equal(hcmc_dataset_init(ds, n_phi, n, NULL), 0);
    ds->dt = 0.1;
    ds->q = 0.01;
    ds->L = 2e6;
    for (size_t a = 0; a < n_phi; a++) {
        ds->phi[a] = 10.0 * (double)a;
        double *M = hcmc_dataset_matrix(ds, a);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++)
                M[i * n + j] = 100.0 * (double)a + 10.0 * (double)i + (double)j;
    }
}

/* 5 kept frames: pairs i<j with i >= 1 are (1,2),(1,3),(1,4),(2,3),(2,4),
 * (3,4): 6 per angle, (n-1)(n-2)/2 in general. */
static void test_counts_small_matrix(void **state)
{
    (void)state;
    hcmc_dataset ds;
    make_ds(&ds, 2, 5);
    hcmc_points p;
    hcmc_points_report rep;
    assert_int_equal(hcmc_dataset_to_points(&ds, 1, -1, &p, &rep, NULL), 0);
    assert_int_equal(p.n, 12);
    assert_int_equal(p.n_phi, 2);
    assert_int_equal(p.n_t, 5);
    assert_int_equal(p.angle_start[1], 6);
    assert_int_equal(rep.n_nonfinite, 0);
    const uint16_t wi[6] = {1, 1, 1, 2, 2, 3}, wj[6] = {2, 3, 4, 3, 4, 4};
    for (int k = 0; k < 6; k++) {
        assert_int_equal(p.i[k], wi[k]);
        assert_int_equal(p.j[k], wj[k]);
        assert_true(p.y[k] == 10.0 * wi[k] + wj[k]);
        assert_true(p.y[6 + k] == 100.0 + 10.0 * wi[k] + wj[k]);
    }
    assert_int_equal(hcmc_points_check(&p, NULL), 0);
    hcmc_points_release(&p);
    hcmc_dataset_release(&ds);
}

static void test_nan_handling(void **state)
{
    (void)state;
    hcmc_dataset ds;
    make_ds(&ds, 3, 6);
    double *M0 = hcmc_dataset_matrix(&ds, 0);
    M0[1 * 6 + 3] = NAN;      /* an upper-triangle point: dropped, counted */
    M0[3 * 6 + 1] = INFINITY; /* lower triangle: never read */
    M0[0 * 6 + 4] = NAN;      /* frame 0: excluded anyway */
    double *M1 = hcmc_dataset_matrix(&ds, 1);
    for (size_t k = 0; k < 36; k++) /* a whole angle unusable */
        M1[k] = NAN;
    hcmc_points p;
    hcmc_points_report rep;
    assert_int_equal(hcmc_dataset_to_points(&ds, 1, -1, &p, &rep, NULL), 0);
    assert_int_equal(rep.n_angles_dropped, 1);
    assert_int_equal(rep.n_nonfinite, 1 + 10);
    assert_int_equal(p.n_phi, 2);
    assert_int_equal(p.n, 9 + 10);
    assert_true(p.phi[1] == 20.0); /* angle 1 is gone, angle 2 follows */
    for (size_t k = 0; k < p.n; k++)
        assert_true(isfinite(p.y[k]));
    hcmc_points_release(&p);
    /* nothing finite at all: an error naming the source */
    for (size_t a = 0; a < 3; a++)
        for (size_t k = 0; k < 36; k++)
            hcmc_dataset_matrix(&ds, a)[k] = NAN;
    strcpy(ds.source, "run42.h5");
    hcmc_error e;
    assert_int_equal(hcmc_dataset_to_points(&ds, 1, -1, &p, NULL, &e), HCMC_ENODATA);
    assert_non_null(strstr(e.msg, "run42.h5"));
    hcmc_dataset_release(&ds);
}

/* Frames are 1-based and inclusive; the first kept frame becomes frame 0
 * (t = 0) and is excluded. */
static void test_frame_slicing(void **state)
{
    (void)state;
    hcmc_dataset ds;
    make_ds(&ds, 1, 10);
    hcmc_points p;
    hcmc_error e;
    /* frames 3..7 (1-based) = recorded rows 2..6, 5 kept */
    assert_int_equal(hcmc_dataset_to_points(&ds, 3, 7, &p, NULL, &e), 0);
    assert_int_equal(p.n_t, 5);
    assert_int_equal(p.n, 6);
    assert_true(p.y[0] == 10.0 * 3 + 4); /* kept (1,2) = recorded (3,4) */
    assert_true(p.y[5] == 10.0 * 5 + 6); /* kept (3,4) = recorded (5,6) */
    hcmc_points_release(&p);
    /* end_frame -1 = last; start == end - 2 is the smallest slice */
    assert_int_equal(hcmc_dataset_to_points(&ds, 8, -1, &p, NULL, &e), 0);
    assert_int_equal(p.n, 1);
    assert_true(p.y[0] == 10.0 * 8 + 9);
    hcmc_points_release(&p);
    assert_int_equal(hcmc_dataset_to_points(&ds, 1, 10, &p, NULL, &e), 0);
    assert_int_equal(p.n, 36);
    hcmc_points_release(&p);
    /* the edges that must fail, each with the value in the message */
    assert_int_equal(hcmc_dataset_to_points(&ds, 9, -1, &p, NULL, &e), HCMC_ENODATA);
    assert_int_equal(hcmc_dataset_to_points(&ds, 7, 5, &p, NULL, &e), HCMC_EINVAL);
    assert_non_null(strstr(e.msg, "start_frame = 7 is after end_frame = 5"));
    assert_int_equal(hcmc_dataset_to_points(&ds, 0, 5, &p, NULL, &e), HCMC_EINVAL);
    assert_non_null(strstr(e.msg, "start_frame = 0"));
    assert_int_equal(hcmc_dataset_to_points(&ds, 1, 11, &p, NULL, &e), HCMC_EINVAL);
    assert_non_null(strstr(e.msg, "end_frame = 11"));
    assert_int_equal(hcmc_dataset_to_points(&ds, 1, -2, &p, NULL, &e), HCMC_EINVAL);
    ds.dt = 0;
    assert_int_equal(hcmc_dataset_to_points(&ds, 1, -1, &p, NULL, &e), HCMC_EINVAL);
    assert_non_null(strstr(e.msg, "dt"));
    hcmc_dataset_release(&ds);
}

static void test_subset_groups_by_angle(void **state)
{
    (void)state;
    hcmc_dataset ds;
    make_ds(&ds, 3, 5);
    hcmc_points p, s;
    assert_int_equal(hcmc_dataset_to_points(&ds, 1, -1, &p, NULL, NULL), 0);
    const size_t idx[5] = {13, 2, 7, 12, 0}; /* angles 2, 0, 1, 2, 0 */
    assert_int_equal(hcmc_points_subset(&p, idx, 5, &s, NULL), 0);
    assert_int_equal(s.n, 5);
    assert_int_equal(s.angle_start[1], 2);
    assert_int_equal(s.angle_start[2], 3);
    assert_int_equal(s.angle_start[3], 5);
    assert_true(s.y[0] == p.y[2] && s.y[1] == p.y[0]);
    assert_true(s.y[2] == p.y[7]);
    assert_true(s.y[3] == p.y[13] && s.y[4] == p.y[12]);
    hcmc_points_release(&s);
    const size_t bad[1] = {18};
    hcmc_error e;
    assert_int_equal(hcmc_points_subset(&p, bad, 1, &s, &e), HCMC_EINVAL);
    hcmc_points_release(&p);
    hcmc_dataset_release(&ds);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The selection gives the quantile of the sorted values exactly, on sizes
 * 1..200 with many ties (values from 0..9 or 0..n), sorted, reversed and
 * constant inputs, at q = 0, 1 and in between. */
static void test_quantile_is_that_of_the_sorted_values(void **state)
{
    (void)state;
    static double v[200], w[200], s[200];
    unsigned long x = 12345;
    const double qs[] = {0, 0.005, 0.1, 0.2, 0.5, 0.8, 0.9, 0.995, 1};
    for (size_t n = 1; n <= 200; n++)
        for (int kind = 0; kind < 5; kind++) {
            for (size_t k = 0; k < n; k++) {
                x = x * 6364136223846793005UL + 1442695040888963407UL;
                unsigned r = (unsigned)(x >> 33);
                v[k] = kind == 0   ? (double)(r % 10)
                       : kind == 1 ? (double)(r % (n + 1)) + 0.25 * (r % 3)
                       : kind == 2 ? (double)k
                       : kind == 3 ? (double)(n - k)
                                   : 1.5;
            }
            memcpy(s, v, n * sizeof *s);
            qsort(s, n, sizeof *s, cmp_double);
            for (size_t m = 0; m < sizeof qs / sizeof *qs; m++) {
                double pos = qs[m] * (double)(n - 1);
                size_t k = (size_t)floor(pos);
                double want = k + 1 >= n ? s[n - 1]
                                         : s[k] + (pos - (double)k) * (s[k + 1] - s[k]);
                memcpy(w, v, n * sizeof *w);
                if (hcmc_quantile_inplace(w, n, qs[m]) != want)
                    fail_msg("n %zu kind %d q %g", n, kind, qs[m]);
            }
        }
    double nan_in[4] = {2, NAN, 1, 3}; /* ends; the value is unspecified */
    (void)hcmc_quantile_inplace(nan_in, 4, 0.5);
}

static void test_noise_scale_and_quantile(void **state)
{
    (void)state;
    double v[5] = {5, 1, 4, 2, 3};
    assert_true(hcmc_quantile_inplace(v, 5, 0.5) == 3);
    assert_true(hcmc_quantile_inplace(v, 5, 0.1) == 1.4); /* numpy linear */
    hcmc_points p;
    assert_int_equal(hcmc_points_init(&p, 5, 1, 10, NULL), 0);
    const double y[5] = {1.0, 1.1, 1.2, 1.3, 5.0}; /* median 1.2, MAD 0.1 */
    memcpy(p.y, y, sizeof y);
    double s;
    assert_int_equal(hcmc_points_noise_scale(&p, &s, NULL), 0);
    assert_true(fabs(s - 0.14826) < 1e-12);
    for (int k = 0; k < 5; k++)
        p.y[k] = 1.0; /* MAD 0: floor 1e-3 */
    assert_int_equal(hcmc_points_noise_scale(&p, &s, NULL), 0);
    assert_true(s == 1e-3);
    hcmc_points_release(&p);
}

static void test_bad_dataset(void **state)
{
    (void)state;
    hcmc_dataset ds;
    hcmc_error e;
    assert_int_equal(hcmc_dataset_init(&ds, 0, 10, &e), HCMC_ENODATA);
    assert_int_equal(hcmc_dataset_init(&ds, 2, 0, &e), HCMC_ENODATA);
    hcmc_dataset_release(NULL);
    hcmc_points_release(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_small_matrix),
        cmocka_unit_test(test_quantile_is_that_of_the_sorted_values),
        cmocka_unit_test(test_nan_handling),
        cmocka_unit_test(test_frame_slicing),
        cmocka_unit_test(test_subset_groups_by_angle),
        cmocka_unit_test(test_noise_scale_and_quantile),
        cmocka_unit_test(test_bad_dataset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
