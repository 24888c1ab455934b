/* hcmc_run_dataset: a run on a data set in memory gives the same draws as
 * hcmc_run on a file holding the same values (the values rounded to float32
 * first, as the file stores them), the configuration's frame selection
 * applies to it, non-finite values are left out, and bad data sets are
 * refused with a message naming their source. */
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

#include "hcmc/aps.h"
#include "hcmc/config.h"
#include "hcmc/dataset.h"
#include "hcmc/log.h"
#include "hcmc/run.h"

static char dir[64];

static void synth(hcmc_dataset *ds)
{
    double phi[2] = {0, 60}, con[2] = {0.3, 0.3}, off[2] = {1, 1};
    hcmc_synth_spec ss = {.model = {.mode = HCMC_MODE_STATIC,
                                    .q = 0.0054,
                                    .L = 2e6,
                                    .dt = 0.1,
                                    .n_t = 40},
                          .n_phi = 2,
                          .phi = phi,
                          .phys = {2e4, -0.5, 100},
                          .contrast = con,
                          .offset = off,
                          .noise = 0.01,
                          .seed = 5};
    hcmc_error e;
    if (hcmc_synth_dataset(&ss, ds, &e))
        fail_msg("%s", e.msg);
    size_t n = ds->n_phi * ds->n_frames * ds->n_frames;
    for (size_t k = 0; k < n; k++) /* as a file of float32 maps holds them */
        ds->c2[k] = (double)(float)ds->c2[k];
}

static hcmc_config *config(const char *data, const char *out, const char *extra)
{
    char text[2048];
    snprintf(text, sizeof text,
             "analysis_mode: static\n"
             "analyzer_parameters:\n  dt: 0.1\n  scattering: {wavevector_q: 0.0054}\n"
             "experimental_data: {file_path: %s}\n"
             "optimization:\n  cmc:\n    backend_config: {name: serial}\n"
             "    per_shard_mcmc: {num_warmup: 100, num_samples: 100}\n"
             "output: {directory: %s}\n%s",
             data, out, extra);
    hcmc_config *c = hcmc_config_new();
    hcmc_error e;
    if (!c || hcmc_config_parse(text, strlen(text), "test", c, &e))
        fail_msg("config: %s", c ? e.msg : "out of memory");
    return c;
}

static void test_same_as_file(void **state)
{
    (void)state;
    hcmc_dataset ds;
    synth(&ds);
    char file[128], a[128], b[128];
    snprintf(file, sizeof file, "%s/d.h5", dir);
    snprintf(a, sizeof a, "%s/file", dir);
    snprintf(b, sizeof b, "%s/memory", dir);
    hcmc_aps_write_spec w = {.layout = HCMC_APS_CURRENT,
                             .ds = &ds,
                             .frame_time = 0.1,
                             .mode = HCMC_MODE_STATIC};
    hcmc_error e;
    if (hcmc_aps_write(file, &w, &e))
        fail_msg("%s", e.msg);
    hcmc_config *ca = config(file, a, ""), *cb = config("", b, "");
    hcmc_run_result *ra = NULL, *rb = NULL;
    if (hcmc_run(ca, NULL, &ra, &e))
        fail_msg("file: %s", e.msg);
    if (hcmc_run_dataset(cb, &ds, NULL, &rb, &e))
        fail_msg("memory: %s", e.msg);
    assert_int_equal(ra->n_points, rb->n_points);
    assert_int_equal(ra->dim, rb->dim);
    size_t n = ra->chains * ra->draws * ra->dim;
    assert_int_equal(n, rb->chains * rb->draws * rb->dim);
    assert_memory_equal(ra->theta, rb->theta, n * sizeof(double));
    /* the run directory has plan.h5: combine needs no data file */
    char plan[160];
    snprintf(plan, sizeof plan, "%s/plan.h5", b);
    assert_int_equal(access(plan, R_OK), 0);
    hcmc_run_result_free(ra);
    hcmc_run_result_free(rb);
    hcmc_config_free(ca);
    hcmc_config_free(cb);
    hcmc_dataset_release(&ds);
}

static void test_selection_and_nan(void **state)
{
    (void)state;
    hcmc_dataset ds;
    synth(&ds);
    hcmc_dataset_matrix(&ds, 1)[3 * ds.n_frames + 9] = NAN; /* one point (3, 9) */
    char out[128];
    snprintf(out, sizeof out, "%s/sel", dir);
    /* frames 1..30: 29 kept frames without the first, per angle 28 * 27 / 2 */
    hcmc_config *c = config("", out, "");
    hcmc_error e;
    assert_int_equal(hcmc_config_set(c, "analyzer_parameters.end_frame", "30", &e), 0);
    hcmc_run_result *r = NULL;
    if (hcmc_run_dataset(c, &ds, NULL, &r, &e))
        fail_msg("%s", e.msg);
    assert_int_equal(r->n_points, 2 * (28 * 29 / 2) - 1);
    hcmc_run_result_free(r);
    hcmc_config_free(c);
    hcmc_dataset_release(&ds);
}

static void test_refused(void **state)
{
    (void)state;
    hcmc_dataset ds;
    synth(&ds);
    snprintf(ds.source, sizeof ds.source, "my arrays");
    char out[128];
    snprintf(out, sizeof out, "%s/bad", dir);
    hcmc_config *c = config("", out, "");
    hcmc_error e;
    hcmc_run_result *r = NULL;
    ds.dt = 0;
    assert_int_not_equal(hcmc_run_dataset(c, &ds, NULL, &r, &e), 0);
    assert_non_null(strstr(e.msg, "my arrays: q = 0.0054, dt = 0,"));
    ds.dt = 0.1;
    ds.phi[1] = NAN;
    assert_int_not_equal(hcmc_run_dataset(c, &ds, NULL, &r, &e), 0);
    assert_non_null(strstr(e.msg, "my arrays: angle 1 is nan"));
    assert_null(r);
    hcmc_config_free(c);
    hcmc_dataset_release(&ds);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/hcmc_test_run_dataset.XXXXXX");
    hcmc_log_set_level(HCMC_LOG_ERROR);
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_file),
        cmocka_unit_test(test_selection_and_nan),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
