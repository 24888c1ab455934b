/* The configuration reader: templates read back without warnings, a
 * homodyne-style file with aliases and fallbacks, unknown keys warned with
 * file:line, bad values refused with file:line:column, overrides. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hcmc/config.h"
#include "hcmc/log.h"

static char logged[8192];

static void capture(hcmc_log_level level, const char *line, void *user)
{
    (void)level;
    (void)user;
    size_t n = strlen(logged);
    snprintf(logged + n, sizeof logged - n, "%s\n", line);
}

/* c: zeroed, or parsed here before (its text is released) */
static int parse(const char *text, hcmc_config *c, hcmc_error *err)
{
    logged[0] = 0;
    hcmc_config_release(c);
    memset(c, 0, sizeof *c);
    snprintf(c->source, sizeof c->source, "/runs/exp1/cfg.yaml");
    return hcmc_config_parse(text, strlen(text), "cfg.yaml", c, err);
}

static void test_template_round_trip(void **state)
{
    (void)state;
    for (int mode = 0; mode < 2; mode++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        assert_int_equal(hcmc_config_write_template(f, (hcmc_mode)mode), 0);
        fclose(f);
        hcmc_config *c = calloc(1, sizeof *c), *d = calloc(1, sizeof *d);
        hcmc_error err;
        if (parse(buf, c, &err))
            fail_msg("template does not read back: %s", err.msg);
        assert_int_equal(c->n_warnings, 0);
        assert_string_equal(logged, "");
        hcmc_config_defaults(d, (hcmc_mode)mode);
        assert_int_equal(c->mode, mode);
        assert_true(c->dt == d->dt && c->q == d->q && c->L == d->L);
        assert_int_equal(c->num_samples, d->num_samples);
        assert_int_equal(c->num_shards, 0);
        assert_true(c->target_accept_prob == d->target_accept_prob);
        for (size_t k = 0; k < hcmc_mode_nphys((hcmc_mode)mode); k++) {
            assert_true(c->phys[k].lo == d->phys[k].lo &&
                        c->phys[k].hi == d->phys[k].hi);
            assert_true(fabs(c->phys[k].mu - d->phys[k].mu) <=
                        1e-9 * fabs(d->phys[k].mu) + 1e-300);
        }
        assert_string_equal(c->data_file, "/runs/exp1/./data/experiment.hdf");
        hcmc_config_release(c);
        free(c);
        free(d);
        free(buf);
    }
}

static const char homodyne_style[] =
    "metadata:\n"
    "  config_version: \"2.23.1\"\n"
    "analysis_mode: \"laminar_flow\"\n"
    "analyzer_parameters:\n"
    "  dt: 0.001\n"
    "  start_frame: 100\n"
    "  end_frame: 2000\n"
    "  scattering:\n"
    "    wavevector_q: 0.0054\n"
    "  geometry:\n"
    "    stator_rotor_gap: 2000000\n"
    "experimental_data:\n"
    "  data_folder_path: \"./data/sample\"\n"
    "  data_file_name: \"experiment.hdf\"\n"
    "  phi_angles_path: \"./data/sample/\"\n"
    "phi_filtering:\n"
    "  enabled: true\n"
    "  target_ranges:\n"
    "    - min_angle: -10.0\n"
    "      max_angle: 10.0\n"
    "      description: \"Parallel\"\n"
    "    - {min_angle: 170, max_angle: -170}\n"
    "  tolerance: 3.0\n"
    "initial_parameters:\n"
    "  parameter_names: [D0, alpha, D_offset, gamma_dot_0, beta, gamma_dot_offset, "
    "phi_0]\n"
    "  values: [1000.0, -1.2, 0.0, 0.01, 0.0, 0.0, 0.0]\n"
    "  per_angle_scaling:\n"
    "    contrast: [0.05, 0.06]\n"
    "    offset: null\n"
    "parameter_space:\n"
    "  bounds:\n"
    "    - name: contrast\n"
    "      min: 0.0\n"
    "      max: 0.5\n"
    "      type: TruncatedNormal\n"
    "    - name: D0\n"
    "      min: 100.0\n"
    "      max: 100000.0\n"
    "      type: LogNormal\n"
    "      prior_mu: 7.0\n"
    "      prior_sigma: 1.0\n"
    "      unit: \"A2/s\"\n"
    "    - name: gamma_dot_0\n"
    "      min: 1.0e-6\n"
    "      max: 0.5\n"
    "      type: Uniform\n"
    "optimization:\n"
    "  method: \"nlsq\"\n"
    "  nlsq:\n"
    "    max_iterations: 100\n"
    "  cmc:\n"
    "    per_shard_mcmc:\n"
    "      num_samples: 2000\n"
    "      chain_method: sequential\n"
    "    backend: jax\n"
    "    backend_config:\n"
    "      name: multiprocessing\n"
    "    sharding:\n"
    "      num_shards: 16\n"
    "    seed: 7\n"
    "  mcmc:\n"
    "    num_warmup: 800\n"
    "    num_samples: 3000\n"
    "    dense_mass_matrix: false\n";

static void test_homodyne_style(void **state)
{
    (void)state;
    hcmc_config *c = calloc(1, sizeof *c);
    hcmc_error err;
    if (parse(homodyne_style, c, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(c->n_warnings, 0);
    assert_int_equal(c->mode, HCMC_MODE_LAMINAR);
    assert_true(c->dt == 0.001);
    assert_int_equal(c->start_frame, 100);
    assert_int_equal(c->end_frame, 2000);
    assert_string_equal(c->data_file, "/runs/exp1/./data/sample/experiment.hdf");
    assert_true(c->phi_filter);
    assert_int_equal(c->n_ranges, 2);
    assert_true(c->ranges[1][0] == 170 && c->ranges[1][1] == -170);
    /* aliases resolve to the canonical parameters */
    assert_true(c->init_phys[HCMC_P_GAMMA_DOT_T0] == 0.01);
    assert_true(c->init_phys[HCMC_P_ALPHA] == -1.2);
    assert_true(c->init_phys[HCMC_P_PHI0] == 0.0);
    assert_int_equal(c->n_init_contrast, 2);
    assert_int_equal(c->n_init_offset, 0);
    assert_int_equal(c->phys[HCMC_P_D0].type, HCMC_PRIOR_LOGNORMAL);
    assert_true(c->phys[HCMC_P_D0].mu == 7.0);
    assert_int_equal(c->phys[HCMC_P_GAMMA_DOT_T0].type, HCMC_PRIOR_UNIFORM);
    assert_true(c->contrast.hi == 0.5);
    assert_true(c->phys[HCMC_P_BETA].lo == -2.0); /* default bounds */
    /* per_shard_mcmc wins over mcmc; mcmc fills what it lacks */
    assert_int_equal(c->num_samples, 2000);
    assert_int_equal(c->num_warmup, 800);
    assert_false(c->dense_mass);
    assert_false(c->chain_parallel);
    /* backend_config.name wins over backend */
    assert_string_equal(c->backend, "multiprocessing");
    assert_int_equal(c->num_shards, 16);
    assert_true(c->seed == 7);
    assert_true(c->target_accept_prob >= 0.9); /* laminar_flow */
    hcmc_config_release(c);
    free(c);
}

static void test_fallback_order_and_modes(void **state)
{
    (void)state;
    hcmc_config *c = calloc(1, sizeof *c);
    hcmc_error err;
    /* the fallback before the primary, and the primary before the fallback */
    const char *a = "optimization:\n  mcmc:\n    num_chains: 2\n  cmc:\n"
                    "    per_shard_mcmc:\n      num_chains: 6\n";
    const char *b = "optimization:\n  cmc:\n    per_shard_mcmc:\n      num_chains: 6\n"
                    "  mcmc:\n    num_chains: 2\n";
    assert_int_equal(parse(a, c, &err), 0);
    assert_int_equal(c->num_chains, 6);
    assert_int_equal(parse(b, c, &err), 0);
    assert_int_equal(c->num_chains, 6);
    const char *m[] = {"analysis_mode: static_isotropic\n",
                       "analysis_mode: static_anisotropic\n",
                       "analysis_mode: static\n"};
    for (int k = 0; k < 3; k++) {
        assert_int_equal(parse(m[k], c, &err), 0);
        assert_int_equal(c->mode, HCMC_MODE_STATIC);
        assert_true(c->target_accept_prob == 0.85);
    }
    /* file_path wins; an absolute path stays as it is */
    assert_int_equal(parse("experimental_data:\n  file_path: /data/x.h5\n"
                           "  data_file_name: y.h5\n",
                           c, &err),
                     0);
    assert_string_equal(c->data_file, "/data/x.h5");
    hcmc_config_release(c);
    free(c);
}

static void test_unknown_keys_warned(void **state)
{
    (void)state;
    hcmc_log_set_sink(capture, NULL);
    hcmc_config *c = calloc(1, sizeof *c);
    hcmc_error err;
    const char *t = "analysis_mode: static\n"
                    "analyzer_parameters:\n"
                    "  dt: 0.1\n"
                    "  wavevector: 0.005\n"
                    "optimisation:\n"
                    "  cmc: {}\n";
    assert_int_equal(parse(t, c, &err), 0);
    assert_int_equal(c->n_warnings, 2);
    assert_non_null(
        strstr(logged, "cfg.yaml:4: unknown key 'analyzer_parameters.wavevector'"));
    assert_non_null(strstr(logged, "cfg.yaml:5: unknown key 'optimisation'"));
    hcmc_log_set_sink(NULL, NULL);
    hcmc_config_release(c);
    free(c);
}

/* Each bad input: the error names file:line:column (or the file) and what
 * is wrong. */
static void test_bad_values(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"optimization:\n  cmc:\n    per_shard_mcmc:\n      num_chains: four\n",
         "cfg.yaml:4:19: optimization.cmc.per_shard_mcmc.num_chains: expected an "
         "integer >= 1, "
         "got 'four'"},
        {"optimization:\n  cmc:\n    per_shard_mcmc:\n      target_accept_prob: 1.5\n",
         "expected a number in (0, 1), got 1.5"},
        {"analyzer_parameters:\n  dt: -0.1\n", "cfg.yaml:2:7: analyzer_parameters.dt"},
        {"analyzer_parameters:\n  dt: [1, 2]\n", "expected a single value, got a list"},
        {"analyzer_parameters:\n  start_frame: 0\n", "frame number >= 1"},
        {"analyzer_parameters:\n  start_frame: 50\n  end_frame: 10\n",
         "start_frame = 50 is after end_frame = 10"},
        {"analysis_mode: turbulent\n", "cfg.yaml:1:16: analysis_mode"},
        {"optimization:\n  cmc:\n    sharding:\n      strategy: alphabetical\n",
         "expected one of random,stratified,contiguous"},
        {"optimization:\n  cmc:\n    enable: maybe\n", "expected true, false or auto"},
        {"parameter_space:\n  bounds:\n    - name: D0\n      min: 10\n      max: 5\n",
         "cfg.yaml:3:7: parameter_space.bounds"},
        {"parameter_space:\n  bounds:\n    - name: D1\n      min: 1\n      max: 5\n",
         "unknown parameter 'D1'"},
        {"parameter_space:\n  bounds:\n    - name: D0\n      type: Cauchy\n",
         "unknown prior type 'Cauchy'"},
        {"initial_parameters:\n  values: [1, 2]\n", "2 values for 3 parameters"},
        {"initial_parameters:\n  parameter_names: [D0, gamma]\n",
         "unknown parameter 'gamma'"},
        {"initial_parameters:\n  fixed_parameters:\n    gamma: 0\n",
         "cfg.yaml:3:5: initial_parameters.fixed_parameters: unknown parameter 'gamma'"},
        {"initial_parameters:\n  fixed_parameters:\n    contrast: 0.3\n",
         "per-angle scaling is held fixed with optimization.cmc.per_angle_mode"},
        {"initial_parameters:\n  fixed_parameters:\n    alpha: zero\n",
         "cfg.yaml:3:12: initial_parameters.fixed_parameters: alpha: expected a number"},
        {"initial_parameters:\n  fixed_parameters: [alpha]\n",
         "expected a mapping of parameter: value"},
        {"initial_parameters:\n  fixed_parameters:\n    alpha: 3\n",
         "cfg.yaml:3:12: initial_parameters.fixed_parameters: alpha = 3 is outside its "
         "bounds [-2, 2]"},
        {"initial_parameters:\n  fixed_parameters:\n    D_offset: 50\n"
         "parameter_space:\n  bounds:\n    - name: D_offset\n      min: 0\n"
         "      max: 10\n",
         "D_offset = 50 is outside its bounds [0, 10]"},
        {"initial_parameters:\n  active_parameters: [D0, alpha]\n",
         "cfg.yaml:2:22: initial_parameters.active_parameters: D_offset is not listed"},
        {"initial_parameters:\n  active_parameters: [D0, alpha]\n"
         "  fixed_parameters:\n    alpha: 0.5\n",
         "alpha is also listed in active_parameters"},
        {"initial_parameters:\n  active_parameters: D0\n", "expected a list"},
        {"key: [unclosed\n", "not valid YAML"},
        {"- a\n- b\n", "expected a mapping of settings at the top level"},
        {"", "the configuration is empty"},
        {"\x01\x02\x03\xff\xfe", "not valid YAML"},
    };
    hcmc_config *c = calloc(1, sizeof *c);
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        hcmc_error err;
        err.msg[0] = 0;
        int rc = parse(cases[k].text, c, &err);
        if (rc == 0 || !strstr(err.msg, cases[k].want))
            fail_msg("case %zu: rc %d, message '%s', expected '%s'", k, rc, err.msg,
                     cases[k].want);
    }
    hcmc_config_release(c);
    free(c);
}

static void test_load_errors(void **state)
{
    (void)state;
    hcmc_config *c = calloc(1, sizeof *c);
    hcmc_error err;
    assert_int_equal(hcmc_config_load("/nonexistent/cfg.yaml", c, &err), HCMC_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent/cfg.yaml"));
    char path[] = "/tmp/hcmc_cfg_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    fwrite("a\0b", 1, 3, f);
    fclose(f);
    assert_int_equal(hcmc_config_load(path, c, &err), HCMC_EFORMAT);
    assert_non_null(strstr(err.msg, "binary"));
    f = fopen(path, "w");
    fputs("analysis_mode: laminar_flow\nexperimental_data:\n  file_path: d.h5\n", f);
    fclose(f);
    assert_int_equal(hcmc_config_load(path, c, &err), 0);
    assert_non_null(c->text);
    assert_non_null(strstr(c->data_file, "/tmp/d.h5"));
    hcmc_config_release(c);
    remove(path);
    hcmc_config_release(c);
    free(c);
}

static void test_overrides(void **state)
{
    (void)state;
    hcmc_config *c = calloc(1, sizeof *c);
    hcmc_error err;
    assert_int_equal(parse("optimization:\n  cmc:\n    seed: 3\n", c, &err), 0);
    assert_int_equal(hcmc_config_set(c, "optimization.cmc.seed", "99", &err), 0);
    assert_true(c->seed == 99);
    assert_int_equal(
        hcmc_config_set(c, "optimization.cmc.sharding.num_shards", "auto", &err), 0);
    assert_int_equal(c->num_shards, 0);
    assert_int_equal(c->n_overrides, 2);
    assert_string_equal(c->overrides[0], "optimization.cmc.seed=99");
    assert_int_equal(hcmc_config_set(c, "optimization.cmc.seed", "-4", &err),
                     HCMC_EINVAL);
    assert_non_null(strstr(err.msg, "command line: optimization.cmc.seed"));
    assert_int_equal(hcmc_config_set(c, "optimization.cmc.speed", "1", &err),
                     HCMC_EINVAL);
    assert_non_null(strstr(err.msg, "unknown setting"));
    hcmc_config_release(c);
    free(c);
}

/* fixed_parameters and active_parameters: what is fixed at which value,
 * from the file and from overrides; names of the other mode warned. */
static void test_fixed_parameters(void **state)
{
    (void)state;
    hcmc_config *c = calloc(1, sizeof *c);
    hcmc_error err;
    assert_int_equal(parse("analysis_mode: laminar_flow\n"
                           "initial_parameters:\n"
                           "  fixed_parameters: {beta: 0.0, gamma_dot_offset: 0}\n",
                           c, &err),
                     0);
    for (int k = 0; k < HCMC_NPHYS_MAX; k++)
        assert_int_equal(c->phys_fixed[k],
                         k == HCMC_P_BETA || k == HCMC_P_GAMMA_DOT_T_OFFSET);
    assert_true(c->phys_fixed_value[HCMC_P_BETA] == 0.0);
    hcmc_target_spec spec;
    hcmc_config_target_spec(c, &spec);
    assert_true(spec.phys_fixed[HCMC_P_BETA] && spec.phys_fixed[HCMC_P_GAMMA_DOT_T_OFFSET]);
    assert_int_equal(hcmc_target_spec_nphys(&spec), 5);
    /* overrides: fix another, free one, refuse a value outside the bounds
     * (and keep the setting as it was) */
    assert_int_equal(
        hcmc_config_set(c, "initial_parameters.fixed_parameters.phi0", "2.5", &err), 0);
    assert_true(c->phys_fixed[HCMC_P_PHI0] && c->phys_fixed_value[HCMC_P_PHI0] == 2.5);
    assert_int_equal(
        hcmc_config_set(c, "initial_parameters.fixed_parameters.beta", "free", &err), 0);
    assert_false(c->phys_fixed[HCMC_P_BETA]);
    assert_int_equal(
        hcmc_config_set(c, "initial_parameters.fixed_parameters.phi0", "40", &err),
        HCMC_EINVAL);
    assert_non_null(strstr(err.msg, "phi0 = 40 is outside its bounds"));
    assert_true(c->phys_fixed_value[HCMC_P_PHI0] == 2.5);
    assert_int_equal(
        hcmc_config_set(c, "initial_parameters.fixed_parameters.gamma", "1", &err),
        HCMC_EINVAL);
    assert_int_equal(c->n_overrides, 2);
    assert_string_equal(c->overrides[1], "initial_parameters.fixed_parameters.beta=free");
    /* active_parameters: the others held at their initial values */
    assert_int_equal(parse("initial_parameters:\n"
                           "  parameter_names: [D0, alpha, D_offset]\n"
                           "  values: [1000, -0.5, 12]\n"
                           "  active_parameters: [D0, alpha]\n",
                           c, &err),
                     0);
    assert_true(!c->phys_fixed[HCMC_P_D0] && !c->phys_fixed[HCMC_P_ALPHA]);
    assert_true(c->phys_fixed[HCMC_P_D_OFFSET] &&
                c->phys_fixed_value[HCMC_P_D_OFFSET] == 12);
    /* a laminar parameter in a static configuration: warned, not fixed */
    hcmc_log_set_sink(capture, NULL);
    assert_int_equal(parse("initial_parameters:\n  fixed_parameters:\n    beta: 0\n",
                           c, &err),
                     0);
    assert_int_equal(c->n_warnings, 1);
    assert_non_null(strstr(logged, "cfg.yaml:3: initial_parameters.fixed_parameters: "
                                   "beta is not a parameter of static (ignored)"));
    assert_false(c->phys_fixed[HCMC_P_BETA]);
    hcmc_log_set_sink(NULL, NULL);
    /* null: nothing fixed, silently (homodyne's templates write it) */
    assert_int_equal(parse("initial_parameters:\n  fixed_parameters: null\n"
                           "  active_parameters: null\n",
                           c, &err),
                     0);
    assert_int_equal(c->n_warnings, 0);
    for (int k = 0; k < HCMC_NPHYS_MAX; k++)
        assert_false(c->phys_fixed[k]);
    hcmc_config_release(c);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_template_round_trip),
        cmocka_unit_test(test_homodyne_style),
        cmocka_unit_test(test_fallback_order_and_modes),
        cmocka_unit_test(test_unknown_keys_warned),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_fixed_parameters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
