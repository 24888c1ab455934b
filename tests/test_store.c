/* The run directory's formats (src/store): summary.json and shard files
 * written and read back equal, a damaged file refused with its path named,
 * and a file of another format or a newer version refused with a message
 * that says so; the plan file's format checked by every reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <hdf5.h>

#include "../src/store/store.h"
#include "hcmc/config.h"
#include "synth_problem.h"

static char tmpdir[64];

static int make_tmp(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/hcmc_test_store.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmp(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Replaces the first occurrence of from by to in the file at path. */
static void edit_file(const char *path, const char *from, const char *to)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *at = strstr(buf, from);
    assert_non_null(at);
    f = fopen(path, "wb");
    assert_non_null(f);
    fwrite(buf, 1, (size_t)(at - buf), f);
    fputs(to, f);
    fputs(at + strlen(from), f);
    fclose(f);
}

static void truncate_file(const char *path, long keep)
{
    assert_int_equal(truncate(path, keep), 0);
}

/* ---- summary.json ---------------------------------------------------------- */

static void fill_result(hcmc_run_result *r, hcmc_run_shard *shards,
                        hcmc_param_summary *sum, char (*names)[40])
{
    memset(r, 0, sizeof *r);
    r->dim = 2;
    r->n_shards = 2;
    r->n_kept = 1;
    r->n_points = 1234;
    r->names = names;
    r->summary = sum;
    r->shards = shards;
    snprintf(names[0], 40, "D0");
    snprintf(names[1], 40, "sigma");
    for (size_t k = 0; k < 2; k++)
        sum[k] = (hcmc_param_summary){.mean = 1.5 + (double)k,
                                      .sd = 0.25,
                                      .q05 = 1.0,
                                      .median = 1.5,
                                      .q95 = 2.0,
                                      .mcse_mean = 0.01,
                                      .ess_bulk = 812,
                                      .ess_tail = 640,
                                      .rhat = 1.002};
    shards[0] = (hcmc_run_shard){.id = 0, .points = 600, .status = HCMC_SHARD_KEPT};
    shards[1] = (hcmc_run_shard){.id = 1, .points = 634, .status = HCMC_SHARD_FAILED};
    snprintf(shards[1].reason, sizeof shards[1].reason, "divergence rate 0.2");
    snprintf(r->backend, sizeof r->backend, "serial");
}

static void write_summary(void)
{
    hcmc_run_result r;
    hcmc_run_shard shards[2];
    hcmc_param_summary sum[2];
    char names[2][40];
    fill_result(&r, shards, sum, names);
    hcmc_config c;
    hcmc_config_defaults(&c, HCMC_MODE_STATIC);
    char path[128];
    snprintf(path, sizeof path, "%s/summary.json", tmpdir);
    hcmc_error e;
    assert_int_equal(hcmc__summary_write(path, &r, &c, NULL, &e), 0);
    hcmc_config_release(&c);
}

static void test_summary_round_trip(void **state)
{
    (void)state;
    write_summary();
    hcmc_run_result *r = NULL;
    hcmc_error e;
    char failure[64] = "x";
    assert_int_equal(hcmc_run_summary_read(tmpdir, &r, failure, sizeof failure, &e), 0);
    assert_int_equal(r->dim, 2);
    assert_string_equal(r->names[0], "D0");
    assert_string_equal(r->names[1], "sigma");
    assert_true(r->summary[1].mean == 2.5);
    assert_true(r->summary[0].ess_tail == 640);
    assert_true(r->summary[0].rhat == 1.002);
    assert_int_equal(r->n_shards, 2);
    assert_int_equal(r->shards[1].points, 634);
    assert_int_equal(r->shards[1].status, HCMC_SHARD_FAILED);
    assert_string_equal(r->shards[1].reason, "divergence rate 0.2");
    assert_string_equal(failure, "");
    hcmc_run_result_free(r);
}

static void test_summary_damaged(void **state)
{
    (void)state;
    write_summary();
    char path[128];
    snprintf(path, sizeof path, "%s/summary.json", tmpdir);
    truncate_file(path, 100);
    hcmc_run_result *r = NULL;
    hcmc_error e;
    assert_int_not_equal(hcmc_run_summary_read(tmpdir, &r, NULL, 0, &e), 0);
    assert_null(r);
    assert_non_null(strstr(e.msg, path));
}

static void test_summary_versions(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/summary.json", tmpdir);
    hcmc_run_result *r = NULL;
    hcmc_error e;
    /* a newer version */
    write_summary();
    edit_file(path, "\"format_version\": 1", "\"format_version\": 7");
    assert_int_equal(hcmc_run_summary_read(tmpdir, &r, NULL, 0, &e), HCMC_EFORMAT);
    assert_non_null(strstr(e.msg, "summary format 7"));
    /* another format */
    write_summary();
    edit_file(path, "\"hcmc-summary\"", "\"something-else\"");
    assert_int_equal(hcmc_run_summary_read(tmpdir, &r, NULL, 0, &e), HCMC_EFORMAT);
    assert_non_null(strstr(e.msg, "not an hcmc summary"));
    /* none: a file from before formats were named, read as version 1 */
    write_summary();
    edit_file(path, "\"format_version\": 1,", "");
    edit_file(path, "\"format\": \"hcmc-summary\",", "");
    assert_int_equal(hcmc_run_summary_read(tmpdir, &r, NULL, 0, &e), 0);
    assert_int_equal(r->dim, 2);
    hcmc_run_result_free(r);
}

/* ---- shard files ----------------------------------------------------------- */

static synth_problem prob_data;
static hcmc_problem *prob;
static hcmc_shard_plan *plan;
static hcmc_shard_result *shard;

static int make_shard(void **state)
{
    if (make_tmp(state))
        return -1;
    hcmc_error e;
    if (synth_problem_make(&prob_data, HCMC_MODE_STATIC, 2, 30, HCMC_SCALING_AUTO, 0.02,
                           7, NULL, NULL) ||
        hcmc_shard_plan_make(&prob_data.pts, HCMC_STRATEGY_RANDOM, 2, 0, 1,
                             HCMC_MODE_STATIC, 3, &plan, &e) ||
        hcmc_problem_new(&prob_data.spec, &prob_data.pts, 2, NULL, &prob, &e))
        return -1;
    hcmc_nuts_settings s;
    hcmc_nuts_settings_defaults(&s);
    s.num_warmup = 30;
    s.num_samples = 20;
    s.num_chains = 2;
    return hcmc_shard_run(prob, plan, 1, &s, &shard, &e) || shard->status ? -1 : 0;
}

static int free_shard(void **state)
{
    hcmc_shard_result_free(shard);
    hcmc_problem_free(prob);
    hcmc_shard_plan_free(plan);
    synth_problem_free(&prob_data);
    return remove_tmp(state);
}

static void shard_file_path(char *path, size_t cap)
{
    snprintf(path, cap, "%s/shard_00001.h5", tmpdir);
}

static void write_shard(void)
{
    char path[128];
    shard_file_path(path, sizeof path);
    hcmc_error e;
    assert_int_equal(hcmc__shard_file_write(path, shard, hcmc_problem_target(prob),
                                            0x1234abcdULL, &e),
                     0);
}

static void test_shard_round_trip(void **state)
{
    (void)state;
    write_shard();
    char path[128];
    shard_file_path(path, sizeof path);
    hcmc__shard_file L;
    hcmc_error e;
    assert_int_equal(hcmc__shard_file_read(path, &L, &e), 0);
    const hcmc_nuts_result *n = shard->nuts;
    size_t d = n->dim, G = n->num_chains * n->sampling.n;
    assert_int_equal(L.id, 1);
    assert_int_equal(L.d, d);
    assert_int_equal(L.chains, n->num_chains);
    assert_int_equal(L.D.n, n->sampling.n);
    assert_true(L.has_fingerprint && L.fingerprint == 0x1234abcdULL);
    assert_string_equal(L.failure, "");
    assert_memory_equal(L.D.z, n->sampling.z, G * d * sizeof(double));
    const hcmc_target *t = hcmc_problem_target(prob);
    for (size_t k = 0; k < d; k++) {
        assert_string_equal(L.names + 40 * k, hcmc_target_param_name(t, k));
        if (k + 1 < d) {
            double lo, hi;
            hcmc_target_bounds(t, k, &lo, &hi);
            assert_true(L.bounds[2 * k] == lo && L.bounds[2 * k + 1] == hi);
        }
    }
    /* the file's own map gives the draws' parameter values without the data */
    double th[16], th_file[16];
    hcmc_target_constrain(t, n->sampling.z, th);
    hcmc__coords_constrain(&L.coords, L.D.z, th_file);
    assert_memory_equal(th, th_file, d * sizeof(double));
    hcmc__shard_file_release(&L);
}

static void test_shard_damaged(void **state)
{
    (void)state;
    write_shard();
    char path[128];
    shard_file_path(path, sizeof path);
    truncate_file(path, 2000);
    hcmc__shard_file L;
    hcmc_error e;
    assert_int_not_equal(hcmc__shard_file_read(path, &L, &e), 0);
    assert_non_null(strstr(e.msg, path));
    hcmc__shard_file_release(&L);
}

static void set_u64_attr(const char *path, const char *name, uint64_t v)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(f >= 0);
    hid_t a = H5Aopen(f, name, H5P_DEFAULT);
    assert_true(a >= 0);
    assert_true(H5Awrite(a, H5T_NATIVE_UINT64, &v) >= 0);
    H5Aclose(a);
    H5Fclose(f);
}

static void test_shard_version(void **state)
{
    (void)state;
    write_shard();
    char path[128];
    shard_file_path(path, sizeof path);
    set_u64_attr(path, "format_version", HCMC__SHARD_FORMAT + 1);
    hcmc__shard_file L;
    hcmc_error e;
    assert_int_equal(hcmc__shard_file_read(path, &L, &e), HCMC_EFORMAT);
    char want[64];
    snprintf(want, sizeof want, "shard file format %d", HCMC__SHARD_FORMAT + 1);
    assert_non_null(strstr(e.msg, want));
    hcmc__shard_file_release(&L);
}

/* ---- plan files ------------------------------------------------------------ */

/* An HDF5 file with only a format attribute. */
static void fake_plan(const char *path, const char *format)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(f >= 0);
    hid_t sp = H5Screate(H5S_SCALAR), ty = H5Tcopy(H5T_C_S1);
    H5Tset_size(ty, strlen(format) + 1);
    hid_t a = H5Acreate2(f, "format", ty, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, ty, format);
    H5Aclose(a);
    H5Tclose(ty);
    H5Sclose(sp);
    H5Fclose(f);
}

static void test_plan_format(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/plan.h5", tmpdir);
    size_t K = 0;
    hcmc_error e;
    fake_plan(path, "hcmc plan 99");
    assert_int_equal(hcmc__plan_shards(path, &K, &e), HCMC_EFORMAT);
    assert_non_null(strstr(e.msg, "plan file format 'hcmc plan 99'"));
    assert_null(hcmc__plan_overrides(path, &e));
    assert_non_null(strstr(e.msg, "plan file format 'hcmc plan 99'"));
    fake_plan(path, "a spreadsheet");
    assert_int_equal(hcmc__plan_shards(path, &K, &e), HCMC_EFORMAT);
    assert_non_null(strstr(e.msg, "not an hcmc plan file"));
    /* not HDF5 at all */
    FILE *f = fopen(path, "w");
    fputs("plan\n", f);
    fclose(f);
    assert_int_not_equal(hcmc__plan_shards(path, &K, &e), 0);
    assert_non_null(strstr(e.msg, path));
}

int main(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* the damaged files are meant */
    const struct CMUnitTest summary[] = {
        cmocka_unit_test(test_summary_round_trip),
        cmocka_unit_test(test_summary_damaged),
        cmocka_unit_test(test_summary_versions),
        cmocka_unit_test(test_plan_format),
    };
    const struct CMUnitTest shards[] = {
        cmocka_unit_test(test_shard_round_trip),
        cmocka_unit_test(test_shard_damaged),
        cmocka_unit_test(test_shard_version),
    };
    int failed = cmocka_run_group_tests_name("store", summary, make_tmp, remove_tmp);
    return failed +
           cmocka_run_group_tests_name("shard files", shards, make_shard, free_shard);
}
