/* homodyne's YAML configuration, read with libyaml's document API (every
 * node keeps its line and column for messages).
 *
 * Scalar settings are described by one table (path, type, field); the
 * few structured ones (bounds, angle ranges, initial values) have their own
 * readers. The walk visits every key of the file once: a table key is
 * parsed, a structured key goes to its reader, a mapping on the way to
 * known keys is descended, a key homodyne defines for its other methods is
 * skipped silently, anything else is an unknown key (a warning). */
#include "hcmc/config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "hcmc/log.h"

/* ---- value types ---------------------------------------------------- */

typedef enum {
    V_DOUBLE,     /* any finite number */
    V_POS,        /* finite > 0 */
    V_NONNEG,     /* finite >= 0 */
    V_UNIT,       /* in [0, 1] */
    V_OPEN_UNIT,  /* in (0, 1) */
    V_COUNT,      /* integer >= 1 */
    V_COUNT0,     /* integer >= 0 */
    V_COUNT_AUTO, /* integer >= 1 or "auto" (stored as 0) */
    V_INT_RANGE,  /* int within [lo, hi] */
    V_FRAME,      /* long >= 1, or -1 */
    V_SEED,       /* integer >= 0 (64-bit) */
    V_BOOL,
    V_TRI, /* true, false, "auto" */
    V_STRING,
    V_CHOICE, /* one of choices (|-separated), stored as a string */
    V_MODE,
    V_CONVENTION,
    V_SCALING,
    V_CHAIN_METHOD,
    V_BATCH /* a scheduler setting, checked by hcmc_batch_option_check; a
               list is taken as lines */
} vtype;

typedef struct {
    const char *path;
    vtype type;
    size_t off, size; /* field offset, and its size for strings */
    const char *choices;
    double lo, hi;
    int fallback_for; /* index of the key this one is a fallback of, or -1 */
} key_spec;

#define F(field) offsetof(hcmc_config, field), sizeof(((hcmc_config *)0)->field)

/* Index of each primary key that has a fallback. */
enum { K_WARMUP = 0, K_SAMPLES, K_CHAINS, K_ACCEPT, K_DEPTH, K_DENSE, K_BACKEND };

static const key_spec keys[] = {
    /* primaries with fallbacks first (their index is the enum above) */
    {"optimization.cmc.per_shard_mcmc.num_warmup", V_COUNT0, F(num_warmup), NULL, 0, 0,
     -1},
    {"optimization.cmc.per_shard_mcmc.num_samples", V_COUNT, F(num_samples), NULL, 0, 0,
     -1},
    {"optimization.cmc.per_shard_mcmc.num_chains", V_COUNT, F(num_chains), NULL, 0, 0,
     -1},
    {"optimization.cmc.per_shard_mcmc.target_accept_prob", V_OPEN_UNIT,
     F(target_accept_prob), NULL, 0, 0, -1},
    {"optimization.cmc.per_shard_mcmc.max_tree_depth", V_INT_RANGE, F(max_tree_depth),
     NULL, 1, 20, -1},
    {"optimization.cmc.per_shard_mcmc.dense_mass", V_BOOL, F(dense_mass), NULL, 0, 0,
     -1},
    {"optimization.cmc.backend_config.name", V_CHOICE, F(backend),
     "auto|serial|threads|multiprocessing|pool|slurm|pbs|mpi|jax|pjit", 0, 0, -1},
    /* fallbacks */
    {"optimization.mcmc.num_warmup", V_COUNT0, F(num_warmup), NULL, 0, 0, K_WARMUP},
    {"optimization.mcmc.num_samples", V_COUNT, F(num_samples), NULL, 0, 0, K_SAMPLES},
    {"optimization.mcmc.num_chains", V_COUNT, F(num_chains), NULL, 0, 0, K_CHAINS},
    {"optimization.mcmc.target_accept_prob", V_OPEN_UNIT, F(target_accept_prob), NULL,
     0, 0, K_ACCEPT},
    {"optimization.mcmc.max_tree_depth", V_INT_RANGE, F(max_tree_depth), NULL, 1, 20,
     K_DEPTH},
    {"optimization.mcmc.dense_mass_matrix", V_BOOL, F(dense_mass), NULL, 0, 0, K_DENSE},
    {"optimization.cmc.per_shard_mcmc.dense_mass_matrix", V_BOOL, F(dense_mass), NULL,
     0, 0, K_DENSE},
    {"optimization.cmc.backend", V_CHOICE, F(backend),
     "auto|serial|threads|multiprocessing|pool|slurm|pbs|mpi|jax|pjit|numpy", 0, 0,
     K_BACKEND},
    /* the rest */
    {"optimization.cmc.per_shard_mcmc.rerun_divergent", V_UNIT, F(rerun_divergent), NULL,
     0, 0, -1},
    {"optimization.cmc.per_shard_mcmc.rerun_target_accept_prob", V_OPEN_UNIT,
     F(rerun_target_accept_prob), NULL, 0, 0, -1},
    {"analysis_mode", V_MODE, F(mode), NULL, 0, 0, -1},
    {"model_convention", V_CONVENTION, F(convention), NULL, 0, 0, -1},
    {"experimental_data.file_path", V_STRING, F(data_file), NULL, 0, 0, -1},
    {"analyzer_parameters.dt", V_POS, F(dt), NULL, 0, 0, -1},
    {"analyzer_parameters.start_frame", V_FRAME, F(start_frame), NULL, 0, 0, -1},
    {"analyzer_parameters.end_frame", V_FRAME, F(end_frame), NULL, 0, 0, -1},
    {"analyzer_parameters.scattering.wavevector_q", V_POS, F(q), NULL, 0, 0, -1},
    {"analyzer_parameters.geometry.stator_rotor_gap", V_POS, F(L), NULL, 0, 0, -1},
    {"phi_filtering.enabled", V_BOOL, F(phi_filter), NULL, 0, 0, -1},
    {"phi_filtering.fallback_to_all_angles", V_BOOL, F(phi_fallback_all), NULL, 0, 0,
     -1},
    {"optimization.cmc.enable", V_TRI, F(cmc_enable), NULL, 0, 0, -1},
    {"optimization.cmc.min_points_for_cmc", V_COUNT0, F(min_points_for_cmc), NULL, 0, 0,
     -1},
    {"optimization.cmc.per_angle_mode", V_SCALING, F(per_angle_mode), NULL, 0, 0, -1},
    {"optimization.cmc.constant_scaling_threshold", V_COUNT,
     F(constant_scaling_threshold), NULL, 0, 0, -1},
    {"optimization.cmc.prior_tempering", V_BOOL, F(prior_tempering), NULL, 0, 0, -1},
    {"optimization.cmc.backend_config.num_workers", V_COUNT_AUTO, F(num_workers), NULL,
     0, 0, -1},
    {"optimization.cmc.backend_config.max_retries", V_INT_RANGE, F(max_retries), NULL,
     0, 100, -1},
    {"optimization.cmc.per_shard_timeout", V_POS, F(per_shard_timeout), NULL, 0, 0, -1},
    {"optimization.cmc.heartbeat_timeout", V_POS, F(heartbeat_timeout), NULL, 0, 0, -1},
    {"optimization.cmc.seed", V_SEED, F(seed), NULL, 0, 0, -1},
    {"optimization.cmc.sharding.strategy", V_CHOICE, F(strategy),
     "random|stratified|contiguous", 0, 0, -1},
    {"optimization.cmc.sharding.num_shards", V_COUNT_AUTO, F(num_shards), NULL, 0, 0,
     -1},
    {"optimization.cmc.sharding.max_points_per_shard", V_COUNT_AUTO,
     F(max_points_per_shard), NULL, 0, 0, -1},
    {"optimization.cmc.combination.method", V_CHOICE, F(combination),
     "auto|consensus_mc|robust_consensus_mc|gaussian|weighted_gaussian|simple_average",
     0, 0, -1},
    {"optimization.cmc.combination.space", V_CHOICE, F(combination_space),
     "auto|sampling|reference_rates|unconstrained", 0, 0, -1},
    {"optimization.cmc.combination.importance_correction", V_BOOL,
     F(importance_correction), NULL, 0, 0, -1},
    {"optimization.cmc.combination.refine", V_CHOICE, F(refine), "auto|always|never", 0,
     0, -1},
    {"optimization.cmc.combination.min_success_rate", V_UNIT, F(min_success_rate), NULL,
     0, 0, -1},
    {"optimization.cmc.validation.max_divergence_rate", V_UNIT, F(max_divergence_rate),
     NULL, 0, 0, -1},
    {"optimization.cmc.validation.max_parameter_cv", V_POS, F(max_parameter_cv), NULL,
     0, 0, -1},
    {"optimization.cmc.validation.heterogeneity_abort", V_BOOL, F(heterogeneity_abort),
     NULL, 0, 0, -1},
    {"optimization.cmc.validation.max_r_hat", V_POS, F(verdict_max_rhat), NULL, 0, 0,
     -1},
    {"optimization.cmc.validation.min_ess", V_NONNEG, F(verdict_min_ess), NULL, 0, 0,
     -1},
    {"optimization.cmc.per_shard_mcmc.sampling_space", V_CHOICE, F(sampling_space),
     "auto|rate_laws|per_parameter|reference_rates|unconstrained", 0, 0, -1},
    {"optimization.cmc.per_shard_mcmc.chain_method", V_CHAIN_METHOD, F(chain_parallel),
     NULL, 0, 0, -1},
    {"output.directory", V_STRING, F(output_dir), NULL, 0, 0, -1},
#define SLURM_KEY(name, type, field)                                                   \
    {                                                                                  \
        "optimization.cmc.backend_config.slurm." name, type, F(slurm.field), NULL, 0,  \
            0, -1                                                                      \
    }
#define PBS_KEY(name, type, field)                                                     \
    {                                                                                  \
        "optimization.cmc.backend_config.pbs." name, type, F(pbs.field), NULL, 0, 0,   \
            -1                                                                         \
    }
    SLURM_KEY("partition", V_BATCH, partition),
    SLURM_KEY("account", V_BATCH, account),
    SLURM_KEY("qos", V_BATCH, qos),
    SLURM_KEY("time", V_BATCH, time),
    SLURM_KEY("mem", V_BATCH, mem),
    SLURM_KEY("cpus_per_task", V_COUNT0, cpus),
    SLURM_KEY("array_throttle", V_COUNT0, throttle),
    SLURM_KEY("extra", V_BATCH, extra),
    SLURM_KEY("setup", V_BATCH, setup),
    SLURM_KEY("executable", V_BATCH, executable),
    SLURM_KEY("poll_interval_max", V_POS, poll_max),
    SLURM_KEY("timeout", V_NONNEG, timeout),
    PBS_KEY("queue", V_BATCH, partition),
    PBS_KEY("account", V_BATCH, account),
    PBS_KEY("walltime", V_BATCH, time),
    PBS_KEY("memory", V_BATCH, mem),
    PBS_KEY("ncpus", V_COUNT0, cpus),
    PBS_KEY("dialect", V_BATCH, dialect),
    PBS_KEY("extra", V_BATCH, extra),
    PBS_KEY("setup", V_BATCH, setup),
    PBS_KEY("executable", V_BATCH, executable),
    PBS_KEY("poll_interval_max", V_POS, poll_max),
    PBS_KEY("timeout", V_NONNEG, timeout),
#undef SLURM_KEY
#undef PBS_KEY
};
#define NKEYS (sizeof keys / sizeof keys[0])
#define NPRIMARY 7

/* Keys with their own readers. */
static const char *const structured[] = {
    "experimental_data.data_folder_path",
    "experimental_data.data_file_name",
    "phi_filtering.target_ranges",
    "initial_parameters.parameter_names",
    "initial_parameters.values",
    "initial_parameters.per_angle_scaling.contrast",
    "initial_parameters.per_angle_scaling.offset",
    "initial_parameters.fixed_parameters",
    "initial_parameters.active_parameters",
    "parameter_space.bounds",
};
#define NSTRUCT (sizeof structured / sizeof structured[0])

/* homodyne keys for its other methods and outputs: accepted, not used.
 * An entry ending in '.' covers the whole subtree. */
static const char *const ignored[] = {
    "metadata.",
    "analysis_settings.",
    "noise_estimation.",
    "performance.",
    "logging.",
    "quality_control.",
    "plotting.",
    "validation.",
    "output.",
    "streaming.",
    "experimental_data.phi_angles_path",
    "experimental_data.phi_angles_file",
    "experimental_data.cache_file_path",
    "experimental_data.cache_filename_template",
    "experimental_data.cache_compression",
    "experimental_data.data_type",
    "experimental_data.file_format",
    "experimental_data.exchange_key",
    "phi_filtering.algorithm",
    "phi_filtering.tolerance",
    "phi_filtering.quality_control.",
    "initial_parameters.units",
    "parameter_space.model",
    "parameter_space.priors",
    "optimization.method",
    "optimization.nlsq.",
    "optimization.vi.",
    "optimization.hybrid.",
    "optimization.streaming.",
    "optimization.stratification.",
    "optimization.sequential.",
    "optimization.recovery.",
    "optimization.mcmc.backend",
    "optimization.mcmc.progress_bar",
    "optimization.mcmc.initial_values.",
    "optimization.mcmc.enabled",
    "optimization.mcmc.adaptation_window",
    "optimization.mcmc.step_size_adaptation",
    "optimization.mcmc.mass_matrix_adaptation",
    "optimization.mcmc.max_treedepth",
    "optimization.cmc.run_id",
    "optimization.cmc.backend_config.enable_checkpoints",
    "optimization.cmc.backend_config.checkpoint_frequency",
    "optimization.cmc.backend_config.checkpoint_dir",
    "optimization.cmc.backend_config.keep_last_checkpoints",
    "optimization.cmc.backend_config.resume_from_checkpoint",
    "optimization.cmc.backend_config.mpi.",
    "optimization.cmc.sharding.min_points_per_shard",
    "optimization.cmc.sharding.min_points_per_param",
    "optimization.cmc.sharding.seed_base",
    "optimization.cmc.combination.validate_results",
    "optimization.cmc.combination.min_success_rate_warning",
    "optimization.cmc.per_shard_mcmc.adaptive_sampling",
    "optimization.cmc.per_shard_mcmc.min_warmup",
    "optimization.cmc.per_shard_mcmc.min_samples",
    "optimization.cmc.per_shard_mcmc.enable_jax_profiling",
    "optimization.cmc.per_shard_mcmc.jax_profile_dir",
    "optimization.cmc.validation.strict_mode",
    "optimization.cmc.validation.min_per_shard_ess",
    "optimization.cmc.validation.max_per_shard_rhat",
    "optimization.cmc.validation.max_between_shard_kl",
    "optimization.cmc.validation.min_success_rate",
    "optimization.cmc.validation.require_nlsq_warmstart",
    "optimization.cmc.validation.use_nlsq_informed_priors",
    "optimization.cmc.validation.nlsq_prior_width_factor",
    "optimization.cmc.reparameterization.",
};
#define NIGNORED (sizeof ignored / sizeof ignored[0])

/* ---- defaults ------------------------------------------------------- */

static void default_priors(hcmc_config *c)
{
    for (int k = 0; k < HCMC_NPHYS_MAX; k++) {
        const double *b = hcmc_default_bounds(k);
        hcmc_prior_init(&c->phys[k], HCMC_PRIOR_TRUNCATED_NORMAL, b[0], b[1], NAN, NAN,
                        hcmc_phys_name(k), NULL);
    }
    hcmc_prior_init(&c->contrast, HCMC_PRIOR_TRUNCATED_NORMAL, 0.0, 1.0, NAN, NAN,
                    "contrast", NULL);
    hcmc_prior_init(&c->offset, HCMC_PRIOR_TRUNCATED_NORMAL, 0.5, 1.5, NAN, NAN,
                    "offset", NULL);
}

void hcmc_config_defaults(hcmc_config *c, hcmc_mode mode)
{
    memset(c, 0, sizeof *c);
    c->mode = mode;
    c->convention = HCMC_CONVENTION_PHYSICAL;
    c->dt = 0.1;
    c->q = 0.0054;
    c->L = 2e6;
    c->start_frame = 1;
    c->end_frame = -1;
    c->phi_fallback_all = true;
    for (int k = 0; k < HCMC_NPHYS_MAX; k++)
        c->init_phys[k] = NAN;
    default_priors(c);
    c->cmc_enable = HCMC_AUTO;
    c->min_points_for_cmc = 100000;
    c->per_angle_mode = HCMC_SCALING_AUTO;
    c->constant_scaling_threshold = 3;
    c->prior_tempering = true;
    strcpy(c->backend, "auto");
    c->max_retries = 2;
    c->per_shard_timeout = 3600;
    c->heartbeat_timeout = 600;
    hcmc_batch_options_defaults(&c->slurm);
    hcmc_batch_options_defaults(&c->pbs);
    c->seed = 42;
    strcpy(c->strategy, "random");
    strcpy(c->combination, "robust_consensus_mc");
    strcpy(c->combination_space, "auto");
    c->importance_correction = true;
    strcpy(c->refine, "auto");
    strcpy(c->sampling_space, "rate_laws");
    c->min_success_rate = 0.90;
    c->max_divergence_rate = 0.10;
    c->max_parameter_cv = 1.0;
    c->heterogeneity_abort = true;
    c->verdict_max_rhat = 1.01;
    c->verdict_min_ess = 400;
    c->num_warmup = 500;
    c->num_samples = 1500;
    c->num_chains = 4;
    c->target_accept_prob = mode == HCMC_MODE_LAMINAR ? 0.9 : 0.85;
    c->rerun_divergent = 0.01;
    c->rerun_target_accept_prob = 0.99;
    c->max_tree_depth = 10;
    c->dense_mass = true;
    c->chain_parallel = true;
    strcpy(c->output_dir, "./hcmc_results");
}

void hcmc_config_release(hcmc_config *c)
{
    if (!c)
        return;
    free(c->text);
    c->text = NULL;
}

/* ---- scalar parsing ------------------------------------------------- */

typedef struct {
    const char *file;
    size_t line, col; /* 1-based; 0: not from a file */
} where;

static int fail_at(hcmc_error *err, const where *w, const char *key, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));

static int fail_at(hcmc_error *err, const where *w, const char *key, const char *fmt,
                   ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (w->line)
        return hcmc_error_set(err, HCMC_EINVAL, "%s:%zu:%zu: %s: %s", w->file, w->line,
                              w->col, key, msg);
    return hcmc_error_set(err, HCMC_EINVAL, "%s: %s: %s", w->file, key, msg);
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno == ERANGE)
        return -1;
    while (isspace((unsigned char)*end))
        end++;
    if (*end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static int parse_long(const char *s, long long *out)
{
    double d;
    if (parse_double(s, &d) || d != floor(d) || fabs(d) > 9.0e18)
        return -1;
    *out = (long long)d;
    return 0;
}

/* A seed: any integer 0 .. 2^64 - 1 written in digits, to the last digit
 * (not through a double, which keeps 53 bits), or an integral number
 * within the range parse_long takes (42.0, 1e6). */
static int parse_seed(const char *s, uint64_t *out)
{
    const char *p = s + (*s == '+');
    if (*p >= '0' && *p <= '9' && p[strspn(p, "0123456789")] == 0) {
        errno = 0;
        unsigned long long v = strtoull(p, NULL, 10);
        if (errno == ERANGE)
            return -1;
        *out = (uint64_t)v;
        return 0;
    }
    long long n;
    if (parse_long(s, &n) || n < 0)
        return -1;
    *out = (uint64_t)n;
    return 0;
}

static int parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "on", "On"};
    static const char *const no[] = {"false", "False", "FALSE", "no",
                                     "No",    "off",   "Off"};
    for (size_t k = 0; k < sizeof yes / sizeof *yes; k++) {
        if (!strcmp(s, yes[k])) {
            *out = true;
            return 0;
        }
        if (!strcmp(s, no[k])) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

static bool in_choices(const char *s, const char *choices)
{
    size_t n = strlen(s);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && !strncmp(p, s, n))
            return true;
        if (!bar)
            break;
        p = bar + 1;
    }
    return false;
}

/* Parses s into the field of spec k. */
static int set_value(hcmc_config *c, const key_spec *k, const char *s, const where *w,
                     hcmc_error *err)
{
    char *field = (char *)c + k->off;
    double d;
    long long n;
    bool b;
    switch (k->type) {
    case V_DOUBLE:
    case V_POS:
    case V_NONNEG:
    case V_UNIT:
    case V_OPEN_UNIT:
        if (parse_double(s, &d))
            return fail_at(err, w, k->path, "expected a number, got '%s'", s);
        if (k->type == V_POS && !(d > 0))
            return fail_at(err, w, k->path, "expected a number > 0, got %g", d);
        if (k->type == V_NONNEG && !(d >= 0))
            return fail_at(err, w, k->path, "expected a number >= 0, got %g", d);
        if (k->type == V_UNIT && !(d >= 0 && d <= 1))
            return fail_at(err, w, k->path, "expected a number in [0, 1], got %g", d);
        if (k->type == V_OPEN_UNIT && !(d > 0 && d < 1))
            return fail_at(err, w, k->path, "expected a number in (0, 1), got %g", d);
        *(double *)field = d;
        return 0;
    case V_COUNT:
    case V_COUNT0:
    case V_COUNT_AUTO:
        if (k->type == V_COUNT_AUTO && !strcmp(s, "auto")) {
            *(size_t *)field = 0;
            return 0;
        }
        if (parse_long(s, &n) || n < (k->type == V_COUNT0 ? 0 : 1) ||
            n > 1000000000000LL)
            return fail_at(err, w, k->path, "expected an integer >= %d%s, got '%s'",
                           k->type == V_COUNT0 ? 0 : 1,
                           k->type == V_COUNT_AUTO ? " or 'auto'" : "", s);
        *(size_t *)field = (size_t)n;
        return 0;
    case V_INT_RANGE:
        if (parse_long(s, &n) || n < (long long)k->lo || n > (long long)k->hi)
            return fail_at(err, w, k->path,
                           "expected an integer from %.0f to %.0f, got '%s'", k->lo,
                           k->hi, s);
        *(int *)field = (int)n;
        return 0;
    case V_FRAME:
        if (parse_long(s, &n) || !(n >= 1 || n == -1) || n > LONG_MAX)
            return fail_at(err, w, k->path,
                           "expected a frame number >= 1 (1-based) or -1 for the last "
                           "frame, got '%s'",
                           s);
        *(long *)field = (long)n;
        return 0;
    case V_SEED:
        if (parse_seed(s, (uint64_t *)field))
            return fail_at(
                err, w, k->path,
                "expected an integer from 0 to 18446744073709551615, got '%s'", s);
        return 0;
    case V_BOOL:
        if (parse_bool(s, &b))
            return fail_at(err, w, k->path, "expected true or false, got '%s'", s);
        *(bool *)field = b;
        return 0;
    case V_TRI:
        if (!strcmp(s, "auto")) {
            *(hcmc_tristate *)field = HCMC_AUTO;
            return 0;
        }
        if (parse_bool(s, &b))
            return fail_at(err, w, k->path, "expected true, false or auto, got '%s'",
                           s);
        *(hcmc_tristate *)field = b ? HCMC_ON : HCMC_OFF;
        return 0;
    case V_BATCH: {
        const char *leaf = strrchr(k->path, '.') + 1;
        hcmc_error e;
        if (hcmc_batch_option_check(strstr(k->path, ".pbs.") ? "pbs" : "slurm", leaf, s,
                                    &e))
            return fail_at(err, w, k->path, "%s", e.msg);
    }
        /* fall through */
    case V_STRING:
        if (strlen(s) >= k->size)
            return fail_at(err, w, k->path, "value longer than %zu characters",
                           k->size - 1);
        strcpy(field, s);
        return 0;
    case V_CHOICE: {
        if (!in_choices(s, k->choices)) {
            char list[256];
            snprintf(list, sizeof list, "%s", k->choices);
            for (char *p = list; *p; p++)
                if (*p == '|')
                    *p = ',';
            return fail_at(err, w, k->path, "expected one of %s, got '%s'", list, s);
        }
        snprintf(field, k->size, "%s", s);
        return 0;
    }
    case V_MODE:
        if (hcmc_mode_parse(s, (hcmc_mode *)field, NULL))
            return fail_at(err, w, k->path,
                           "expected static, static_isotropic, static_anisotropic or "
                           "laminar_flow, got '%s'",
                           s);
        return 0;
    case V_CONVENTION:
        if (hcmc_convention_parse(s, (hcmc_convention *)field, NULL))
            return fail_at(err, w, k->path, "expected physical or homodyne, got '%s'",
                           s);
        return 0;
    case V_SCALING:
        if (hcmc_scaling_mode_parse(s, (hcmc_scaling_mode *)field, NULL))
            return fail_at(err, w, k->path,
                           "expected auto, individual, constant or constant_averaged, "
                           "got '%s'",
                           s);
        return 0;
    case V_CHAIN_METHOD:
        if (strcmp(s, "parallel") && strcmp(s, "sequential"))
            return fail_at(err, w, k->path, "expected parallel or sequential, got '%s'",
                           s);
        *(bool *)field = !strcmp(s, "parallel");
        return 0;
    }
    return fail_at(err, w, k->path, "internal: unknown value type");
}

/* ---- the walk ------------------------------------------------------- */

typedef struct {
    hcmc_config *c;
    yaml_document_t *doc;
    const char *file;
    bool primary_set[NPRIMARY];
    bool mode_set;
    /* collected for the end */
    char folder[HCMC_PATH_MAX], fname[HCMC_PATH_MAX];
    bool have_file_path;
    size_t n_names;
    char names[16][40];
    where names_at, values_at;
    size_t n_values;
    double values[16];
    bool values_given;
    where fixed_at[HCMC_NPHYS_MAX]; /* fixed_parameters entries */
    bool active[HCMC_NPHYS_MAX];    /* active_parameters, when given */
    bool active_given;
    where active_at;
} walk;

static where where_of(const walk *W, const yaml_node_t *n)
{
    where w = {W->file, n->start_mark.line + 1, n->start_mark.column + 1};
    return w;
}

static bool is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE)
        return false;
    const char *s = (const char *)n->data.scalar.value;
    return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           (!strcmp(s, "null") || !strcmp(s, "~") || !strcmp(s, "Null") ||
            !strcmp(s, "NULL") || !*s);
}

static const char *scalar(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

static int want_scalar(const walk *W, const yaml_node_t *n, const char *path,
                       hcmc_error *err)
{
    if (n->type == YAML_SCALAR_NODE)
        return 0;
    where w = where_of(W, n);
    return fail_at(err, &w, path, "expected a single value, got a %s",
                   n->type == YAML_MAPPING_NODE ? "mapping" : "list");
}

static int want_seq(const walk *W, const yaml_node_t *n, const char *path,
                    hcmc_error *err)
{
    if (n->type == YAML_SEQUENCE_NODE)
        return 0;
    where w = where_of(W, n);
    return fail_at(err, &w, path, "expected a list");
}

/* A list of numbers into out[max]; *n receives the count. */
static int read_numbers(walk *W, const yaml_node_t *n, const char *path, double *out,
                        size_t max, size_t *count, hcmc_error *err)
{
    int rc = want_seq(W, n, path, err);
    if (rc)
        return rc;
    size_t k = 0;
    for (yaml_node_item_t *it = n->data.sequence.items.start;
         it < n->data.sequence.items.top; it++, k++) {
        yaml_node_t *e = yaml_document_get_node(W->doc, *it);
        where w = where_of(W, e);
        if (k >= max)
            return fail_at(err, &w, path, "more than %zu values", max);
        if ((rc = want_scalar(W, e, path, err)))
            return rc;
        if (parse_double(scalar(e), &out[k]))
            return fail_at(err, &w, path, "expected a number, got '%s'", scalar(e));
    }
    *count = k;
    return 0;
}

static int read_ranges(walk *W, const yaml_node_t *n, const char *path, hcmc_error *err)
{
    int rc = want_seq(W, n, path, err);
    if (rc)
        return rc;
    hcmc_config *c = W->c;
    c->n_ranges = 0;
    for (yaml_node_item_t *it = n->data.sequence.items.start;
         it < n->data.sequence.items.top; it++) {
        yaml_node_t *e = yaml_document_get_node(W->doc, *it);
        where w = where_of(W, e);
        if (e->type != YAML_MAPPING_NODE)
            return fail_at(err, &w, path, "expected entries {min_angle, max_angle}");
        if (c->n_ranges >= HCMC_CONFIG_MAX_RANGES)
            return fail_at(err, &w, path, "more than %d ranges",
                           HCMC_CONFIG_MAX_RANGES);
        double v[2] = {NAN, NAN};
        for (yaml_node_pair_t *p = e->data.mapping.pairs.start;
             p < e->data.mapping.pairs.top; p++) {
            yaml_node_t *kn = yaml_document_get_node(W->doc, p->key);
            yaml_node_t *vn = yaml_document_get_node(W->doc, p->value);
            const char *key = kn->type == YAML_SCALAR_NODE ? scalar(kn) : "";
            int slot = !strcmp(key, "min_angle")   ? 0
                       : !strcmp(key, "max_angle") ? 1
                                                   : -1;
            if (slot < 0) {
                if (strcmp(key, "description")) {
                    hcmc_log(HCMC_LOG_WARN, "%s:%zu: unknown key '%s' in %s (ignored)",
                             W->file, kn->start_mark.line + 1, key, path);
                    W->c->n_warnings++;
                }
                continue;
            }
            where wv = where_of(W, vn);
            if ((rc = want_scalar(W, vn, path, err)))
                return rc;
            if (parse_double(scalar(vn), &v[slot]))
                return fail_at(err, &wv, path, "%s: expected a number, got '%s'", key,
                               scalar(vn));
        }
        if (isnan(v[0]) || isnan(v[1]))
            return fail_at(err, &w, path,
                           "an entry needs both min_angle and max_angle");
        c->ranges[c->n_ranges][0] = v[0];
        c->ranges[c->n_ranges][1] = v[1];
        c->n_ranges++;
    }
    return 0;
}

static int read_bounds(walk *W, const yaml_node_t *n, const char *path, hcmc_error *err)
{
    int rc = want_seq(W, n, path, err);
    if (rc)
        return rc;
    for (yaml_node_item_t *it = n->data.sequence.items.start;
         it < n->data.sequence.items.top; it++) {
        yaml_node_t *e = yaml_document_get_node(W->doc, *it);
        where w = where_of(W, e);
        if (e->type != YAML_MAPPING_NODE)
            return fail_at(err, &w, path, "expected entries {name, min, max, ...}");
        const char *name = NULL, *type = NULL;
        double v[4] = {NAN, NAN, NAN, NAN}; /* min, max, prior_mu, prior_sigma */
        static const char *const vk[4] = {"min", "max", "prior_mu", "prior_sigma"};
        for (yaml_node_pair_t *p = e->data.mapping.pairs.start;
             p < e->data.mapping.pairs.top; p++) {
            yaml_node_t *kn = yaml_document_get_node(W->doc, p->key);
            yaml_node_t *vn = yaml_document_get_node(W->doc, p->value);
            const char *key = kn->type == YAML_SCALAR_NODE ? scalar(kn) : "";
            where wv = where_of(W, vn);
            if (!strcmp(key, "unit") || !strcmp(key, "description"))
                continue;
            if ((rc = want_scalar(W, vn, path, err)))
                return rc;
            if (!strcmp(key, "name")) {
                name = scalar(vn);
                continue;
            }
            if (!strcmp(key, "type")) {
                type = is_null(vn) ? NULL : scalar(vn);
                continue;
            }
            int slot = -1;
            for (int s = 0; s < 4; s++)
                if (!strcmp(key, vk[s]))
                    slot = s;
            if (slot < 0) {
                hcmc_log(HCMC_LOG_WARN, "%s:%zu: unknown key '%s' in %s (ignored)",
                         W->file, kn->start_mark.line + 1, key, path);
                W->c->n_warnings++;
                continue;
            }
            if (is_null(vn))
                continue;
            if (parse_double(scalar(vn), &v[slot]))
                return fail_at(err, &wv, path, "%s: expected a number, got '%s'", key,
                               scalar(vn));
        }
        if (!name)
            return fail_at(err, &w, path, "an entry has no name");
        hcmc_prior *target = NULL;
        int ph = hcmc_phys_index(name);
        if (ph >= 0)
            target = &W->c->phys[ph];
        else if (!strcmp(name, "contrast"))
            target = &W->c->contrast;
        else if (!strcmp(name, "offset"))
            target = &W->c->offset;
        else
            return fail_at(err, &w, path, "unknown parameter '%s'", name);
        hcmc_prior_type pt = HCMC_PRIOR_TRUNCATED_NORMAL;
        if (type && hcmc_prior_type_parse(type, &pt, NULL))
            return fail_at(err, &w, path,
                           "%s: unknown prior type '%s' (TruncatedNormal, Uniform, "
                           "Normal, LogNormal, BetaScaled)",
                           name, type);
        double lo = isnan(v[0]) ? target->lo : v[0],
               hi = isnan(v[1]) ? target->hi : v[1];
        hcmc_error perr;
        if (hcmc_prior_init(target, pt, lo, hi, v[2], v[3], name, &perr))
            return fail_at(err, &w, path, "%s", perr.msg);
    }
    return 0;
}

/* Index of a physical parameter named in fixed_parameters or
 * active_parameters; the scaling parameters have their own setting. */
static int fixable_index(const walk *W, const yaml_node_t *n, const char *path,
                         const char *name, hcmc_error *err)
{
    where w = where_of(W, n);
    int k = hcmc_phys_index(name);
    if (k >= 0)
        return k;
    if (!strncmp(name, "contrast", 8) || !strncmp(name, "offset", 6))
        return fail_at(err, &w, path,
                       "'%s': per-angle scaling is held fixed with "
                       "optimization.cmc.per_angle_mode: constant, not here",
                       name),
               -1;
    return fail_at(err, &w, path, "unknown parameter '%s'", name), -1;
}

/* fixed_parameters: a mapping name: value. */
static int read_fixed(walk *W, const yaml_node_t *n, const char *path, hcmc_error *err)
{
    where w = where_of(W, n);
    if (n->type != YAML_MAPPING_NODE)
        return fail_at(err, &w, path,
                       "expected a mapping of parameter: value (e.g. beta: 0.0)");
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
         p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(W->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(W->doc, p->value);
        if (!kn || !vn || kn->type != YAML_SCALAR_NODE)
            return fail_at(err, &w, path, "a key must be a parameter name");
        int k = fixable_index(W, kn, path, scalar(kn), err);
        if (k < 0)
            return err ? err->code : HCMC_EINVAL;
        where wv = where_of(W, vn);
        double v;
        if (vn->type != YAML_SCALAR_NODE || is_null(vn) || parse_double(scalar(vn), &v))
            return fail_at(err, &wv, path, "%s: expected a number, got '%s'",
                           scalar(kn), vn->type == YAML_SCALAR_NODE ? scalar(vn) : "?");
        W->c->phys_fixed[k] = true;
        W->c->phys_fixed_value[k] = v;
        W->fixed_at[k] = wv;
    }
    return 0;
}

/* active_parameters: the physical parameters sampled; the others of the
 * mode are held at their initial values (checked in finish). */
static int read_active(walk *W, const yaml_node_t *n, const char *path, hcmc_error *err)
{
    int rc = want_seq(W, n, path, err);
    if (rc)
        return rc;
    W->active_given = true;
    W->active_at = where_of(W, n);
    for (yaml_node_item_t *it = n->data.sequence.items.start;
         it < n->data.sequence.items.top; it++) {
        yaml_node_t *e = yaml_document_get_node(W->doc, *it);
        if ((rc = want_scalar(W, e, path, err)))
            return rc;
        int k = fixable_index(W, e, path, scalar(e), err);
        if (k < 0)
            return err ? err->code : HCMC_EINVAL;
        W->active[k] = true;
    }
    return 0;
}

static int read_structured(walk *W, const char *path, const yaml_node_t *n,
                           hcmc_error *err)
{
    hcmc_config *c = W->c;
    where w = where_of(W, n);
    int rc;
    if (!strcmp(path, "experimental_data.data_folder_path") ||
        !strcmp(path, "experimental_data.data_file_name")) {
        if ((rc = want_scalar(W, n, path, err)))
            return rc;
        char *dst =
            !strcmp(path, "experimental_data.data_folder_path") ? W->folder : W->fname;
        if (strlen(scalar(n)) >= HCMC_PATH_MAX)
            return fail_at(err, &w, path, "path too long");
        strcpy(dst, is_null(n) ? "" : scalar(n));
        return 0;
    }
    if (!strcmp(path, "phi_filtering.target_ranges"))
        return is_null(n) ? 0 : read_ranges(W, n, path, err);
    if (!strcmp(path, "parameter_space.bounds"))
        return is_null(n) ? 0 : read_bounds(W, n, path, err);
    if (!strcmp(path, "initial_parameters.parameter_names")) {
        if (is_null(n))
            return 0;
        if ((rc = want_seq(W, n, path, err)))
            return rc;
        W->names_at = w;
        W->n_names = 0;
        for (yaml_node_item_t *it = n->data.sequence.items.start;
             it < n->data.sequence.items.top; it++) {
            yaml_node_t *e = yaml_document_get_node(W->doc, *it);
            where we = where_of(W, e);
            if ((rc = want_scalar(W, e, path, err)))
                return rc;
            if (W->n_names >= 16 || strlen(scalar(e)) >= 40)
                return fail_at(err, &we, path, "too many or too long names");
            if (hcmc_phys_index(scalar(e)) < 0)
                return fail_at(err, &we, path, "unknown parameter '%s'", scalar(e));
            strcpy(W->names[W->n_names++], scalar(e));
        }
        return 0;
    }
    if (!strcmp(path, "initial_parameters.values")) {
        if (is_null(n))
            return 0;
        W->values_at = w;
        W->values_given = true;
        return read_numbers(W, n, path, W->values, 16, &W->n_values, err);
    }
    if (!strcmp(path, "initial_parameters.fixed_parameters"))
        return is_null(n) ? 0 : read_fixed(W, n, path, err);
    if (!strcmp(path, "initial_parameters.active_parameters"))
        return is_null(n) ? 0 : read_active(W, n, path, err);
    if (!strcmp(path, "initial_parameters.per_angle_scaling.contrast"))
        return is_null(n)
                   ? 0
                   : read_numbers(W, n, path, c->init_contrast, HCMC_CONFIG_MAX_ANGLES,
                                  &c->n_init_contrast, err);
    if (!strcmp(path, "initial_parameters.per_angle_scaling.offset"))
        return is_null(n)
                   ? 0
                   : read_numbers(W, n, path, c->init_offset, HCMC_CONFIG_MAX_ANGLES,
                                  &c->n_init_offset, err);
    return fail_at(err, &w, path, "internal: no reader");
}

/* Whether path is a known key or a mapping on the way to one. */
static bool leads_somewhere(const char *path)
{
    size_t n = strlen(path);
    for (size_t k = 0; k < NKEYS; k++)
        if (!strncmp(keys[k].path, path, n) && keys[k].path[n] == '.')
            return true;
    for (size_t k = 0; k < NSTRUCT; k++)
        if (!strncmp(structured[k], path, n) && structured[k][n] == '.')
            return true;
    return false;
}

static bool is_ignored(const char *path)
{
    for (size_t k = 0; k < NIGNORED; k++) {
        size_t n = strlen(ignored[k]);
        if (ignored[k][n - 1] == '.') {
            if (!strncmp(path, ignored[k], n - 1) &&
                (path[n - 1] == 0 || path[n - 1] == '.'))
                return true;
        } else if (!strcmp(path, ignored[k])) {
            return true;
        }
    }
    return false;
}

static int apply_key(walk *W, size_t k, const char *s, const where *w, hcmc_error *err)
{
    const key_spec *ks = &keys[k];
    if (ks->fallback_for >= 0 && W->primary_set[ks->fallback_for])
        return 0;
    int rc = set_value(W->c, ks, s, w, err);
    if (rc == 0 && k < NPRIMARY)
        W->primary_set[k] = true;
    if (rc == 0 && ks->type == V_MODE)
        W->mode_set = true;
    return rc;
}

/* A list of lines (extra, setup) as one value, lines joined by newlines. */
static int apply_lines(walk *W, size_t k, const yaml_node_t *seq, const where *w,
                       hcmc_error *err)
{
    char buf[4096];
    size_t len = 0;
    buf[0] = 0;
    for (yaml_node_item_t *it = seq->data.sequence.items.start;
         it < seq->data.sequence.items.top; it++) {
        yaml_node_t *e = yaml_document_get_node(W->doc, *it);
        where we = where_of(W, e);
        if (!e || e->type != YAML_SCALAR_NODE)
            return fail_at(err, &we, keys[k].path, "expected a list of lines");
        const char *line = scalar(e);
        if (strchr(line, '\n'))
            return fail_at(err, &we, keys[k].path, "a line break inside a list item");
        int n = snprintf(buf + len, sizeof buf - len, "%s%s", len ? "\n" : "", line);
        if (n < 0 || (size_t)n >= sizeof buf - len)
            return fail_at(err, &we, keys[k].path, "too long");
        len += (size_t)n;
    }
    return apply_key(W, k, buf, w, err);
}

static int walk_map(walk *W, const yaml_node_t *map, const char *prefix, int depth,
                    hcmc_error *err)
{
    if (depth > 16) {
        where w = where_of(W, map);
        return fail_at(err, &w, prefix, "nested too deeply");
    }
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
         p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(W->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(W->doc, p->value);
        if (!kn || !vn)
            continue;
        where wk = where_of(W, kn);
        if (kn->type != YAML_SCALAR_NODE)
            return fail_at(err, &wk, prefix[0] ? prefix : "(top level)",
                           "a key must be a plain name");
        char path[512];
        int len = snprintf(path, sizeof path, "%s%s%s", prefix, prefix[0] ? "." : "",
                           scalar(kn));
        if (len < 0 || (size_t)len >= sizeof path)
            return fail_at(err, &wk, prefix, "key path too long");
        int rc = 0;
        size_t k;
        for (k = 0; k < NKEYS; k++)
            if (!strcmp(keys[k].path, path))
                break;
        if (k < NKEYS) {
            if (is_null(vn))
                continue; /* null: keep the default */
            where wv = where_of(W, vn);
            if (keys[k].type == V_BATCH && vn->type == YAML_SEQUENCE_NODE) {
                rc = apply_lines(W, k, vn, &wv, err);
            } else {
                if ((rc = want_scalar(W, vn, path, err)))
                    return rc;
                rc = apply_key(W, k, scalar(vn), &wv, err);
            }
        } else {
            bool st = false;
            for (size_t s = 0; s < NSTRUCT; s++)
                st = st || !strcmp(structured[s], path);
            if (st)
                rc = read_structured(W, path, vn, err);
            else if (leads_somewhere(path) && vn->type == YAML_MAPPING_NODE)
                rc = walk_map(W, vn, path, depth + 1,
                              err); /* before the ignored
                                        prefixes: output.directory */
            else if (is_ignored(path))
                continue;
            else if (leads_somewhere(path) && is_null(vn))
                continue;
            else {
                hcmc_log(HCMC_LOG_WARN, "%s:%zu: unknown key '%s' (ignored)", W->file,
                         wk.line, path);
                W->c->n_warnings++;
            }
        }
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- after the walk --------------------------------------------------- */

/* A fixed value must lie within the parameter's bounds: they say where the
 * model is meant to be, and a value outside is most likely a typing error. */
static int check_fixed_value(const hcmc_config *c, int k, const where *w,
                             const char *key, hcmc_error *err)
{
    const hcmc_prior *p = &c->phys[k];
    double v = c->phys_fixed_value[k];
    if (!(v >= p->lo && v <= p->hi))
        return fail_at(err, w, key,
                       "%s = %g is outside its bounds [%g, %g] (parameter_space."
                       "bounds)",
                       hcmc_phys_name(k), v, p->lo, p->hi);
    return 0;
}

/* fixed_parameters and active_parameters, once the mode, the initial values
 * and the bounds are known. */
static int finish_fixed(walk *W, hcmc_error *err)
{
    hcmc_config *c = W->c;
    size_t np = hcmc_mode_nphys(c->mode);
    const char *fkey = "initial_parameters.fixed_parameters",
               *akey = "initial_parameters.active_parameters";
    for (int k = 0; k < HCMC_NPHYS_MAX; k++) {
        if ((size_t)k >= np) {
            if (c->phys_fixed[k] || W->active[k]) {
                hcmc_log(HCMC_LOG_WARN,
                         "%s:%zu: %s: %s is not a parameter of %s "
                         "(ignored)",
                         W->file,
                         c->phys_fixed[k] ? W->fixed_at[k].line : W->active_at.line,
                         c->phys_fixed[k] ? fkey : akey, hcmc_phys_name(k),
                         hcmc_mode_name(c->mode));
                c->n_warnings++;
            }
            c->phys_fixed[k] = false;
            continue;
        }
        if (c->phys_fixed[k] && W->active[k])
            return fail_at(err, &W->fixed_at[k], fkey,
                           "%s is also listed in active_parameters: fix it or "
                           "sample it",
                           hcmc_phys_name(k));
        const char *key = fkey;
        if (W->active_given && !W->active[k] && !c->phys_fixed[k]) {
            key = akey;
            if (isnan(c->init_phys[k]))
                return fail_at(err, &W->active_at, akey,
                               "%s is not listed, so it is held at its initial value, "
                               "but initial_parameters.values gives none (give one, "
                               "or fix it in fixed_parameters)",
                               hcmc_phys_name(k));
            c->phys_fixed[k] = true;
            c->phys_fixed_value[k] = c->init_phys[k];
            W->fixed_at[k] = W->values_at;
        }
        int rc;
        if (c->phys_fixed[k] &&
            (rc = check_fixed_value(c, k, &W->fixed_at[k], key, err)))
            return rc;
    }
    return 0;
}

static int finish(walk *W, hcmc_error *err)
{
    hcmc_config *c = W->c;
    where none = {W->file, 0, 0};
    /* the data file: file_path, else data_folder_path + data_file_name,
     * relative to the config's folder */
    char rel[2 * HCMC_PATH_MAX + 2];
    if (c->data_file[0])
        snprintf(rel, sizeof rel, "%s", c->data_file);
    else if (W->fname[0])
        snprintf(rel, sizeof rel, "%s%s%s", W->folder,
                 W->folder[0] && W->folder[strlen(W->folder) - 1] != '/' ? "/" : "",
                 W->fname);
    else
        rel[0] = 0;
    if (strlen(rel) >= HCMC_PATH_MAX)
        return fail_at(err, &none, "experimental_data", "data path too long");
    if (rel[0] && rel[0] != '/' && c->source[0]) {
        const char *slash = strrchr(c->source, '/');
        if (slash) {
            int n = snprintf(c->data_file, sizeof c->data_file, "%.*s/%s",
                             (int)(slash - c->source), c->source, rel);
            if (n < 0 || (size_t)n >= sizeof c->data_file)
                return fail_at(err, &none, "experimental_data", "data path too long");
        } else {
            memcpy(c->data_file, rel, strlen(rel) + 1);
        }
    } else {
        memcpy(c->data_file, rel, strlen(rel) + 1);
    }

    /* initial values: by parameter_names, else in the mode's order */
    if (W->values_given) {
        size_t np = hcmc_mode_nphys(c->mode);
        size_t nn = W->n_names ? W->n_names : np;
        if (W->n_values != nn)
            return fail_at(err, &W->values_at, "initial_parameters.values",
                           "%zu values for %zu parameters%s", W->n_values, nn,
                           W->n_names ? " in parameter_names"
                                      : " of the analysis mode");
        for (size_t k = 0; k < nn; k++) {
            int ph = W->n_names ? hcmc_phys_index(W->names[k]) : (int)k;
            c->init_phys[ph] = W->values[k];
        }
    }
    int rc = finish_fixed(W, err);
    if (rc)
        return rc;
    if (c->end_frame != -1 && c->start_frame > c->end_frame)
        return fail_at(err, &none, "analyzer_parameters",
                       "start_frame = %ld is after end_frame = %ld", c->start_frame,
                       c->end_frame);
    /* names of earlier versions */
    if (!strcmp(c->sampling_space, "auto") ||
        !strcmp(c->sampling_space, "reference_rates"))
        strcpy(c->sampling_space, "rate_laws");
    else if (!strcmp(c->sampling_space, "unconstrained"))
        strcpy(c->sampling_space, "per_parameter");
    if (strcmp(c->combination_space, "auto") &&
        strcmp(c->combination_space, "sampling")) {
        hcmc_log(
            HCMC_LOG_WARN,
            "%s: optimization.cmc.combination.space = %s is no longer used: shards "
            "are combined in the coordinates they sample in (per_shard_mcmc."
            "sampling_space)",
            W->file, c->combination_space);
        c->n_warnings++;
        strcpy(c->combination_space, "sampling");
    }
    if (!W->primary_set[K_ACCEPT] && c->mode == HCMC_MODE_LAMINAR &&
        c->target_accept_prob < 0.9) {
        /* MODEL.md 6: at least 0.9 for laminar_flow unless the shard
         * settings ask otherwise */
        c->target_accept_prob = 0.9;
    }
    return 0;
}

/* Leaves the loaded tree's settings in c; c's defaults depend on the mode,
 * so the mode is read first. */
static int parse_text(const char *text, size_t len, const char *name, hcmc_config *c,
                      hcmc_error *err);

/* The text is kept (c->text), as that of a file: a plan (plan.h5) and the
 * run directory's config.yaml record it. */
int hcmc_config_parse(const char *text, size_t len, const char *name, hcmc_config *c,
                      hcmc_error *err)
{
    int rc = parse_text(text, len, name, c, err);
    if (rc)
        return rc;
    if (!(c->text = malloc(len + 1))) {
        hcmc_config_release(c);
        return hcmc_error_set(err, HCMC_ENOMEM, "%s: out of memory", name);
    }
    memcpy(c->text, text, len);
    c->text[len] = 0;
    return 0;
}

static int parse_text(const char *text, size_t len, const char *name, hcmc_config *c,
                      hcmc_error *err)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser))
        return hcmc_error_set(err, HCMC_ENOMEM, "%s: out of memory", name);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        int rc =
            hcmc_error_set(err, HCMC_EFORMAT, "%s:%zu:%zu: not valid YAML: %s", name,
                           parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                           parser.problem ? parser.problem : "parse error");
        yaml_parser_delete(&parser);
        return rc;
    }
    yaml_parser_delete(&parser);
    int rc = 0;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    char source[HCMC_PATH_MAX];
    snprintf(source, sizeof source, "%s", c->source);
    if (!root || is_null(root)) {
        rc = hcmc_error_set(err, HCMC_EFORMAT, "%s: the configuration is empty", name);
        goto out;
    }
    if (root->type != YAML_MAPPING_NODE) {
        rc = hcmc_error_set(
            err, HCMC_EFORMAT,
            "%s:%zu:%zu: expected a mapping of settings at the top level", name,
            root->start_mark.line + 1, root->start_mark.column + 1);
        goto out;
    }
    /* the mode first: defaults depend on it */
    hcmc_mode mode = HCMC_MODE_STATIC;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
         p < root->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(&doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(&doc, p->value);
        if (kn && vn && kn->type == YAML_SCALAR_NODE && vn->type == YAML_SCALAR_NODE &&
            !strcmp(scalar(kn), "analysis_mode"))
            hcmc_mode_parse(scalar(vn), &mode, NULL);
    }
    hcmc_config_defaults(c, mode);
    snprintf(c->source, sizeof c->source, "%s", source);
    walk *W = calloc(1, sizeof *W);
    if (!W) {
        rc = hcmc_error_set(err, HCMC_ENOMEM, "%s: out of memory", name);
        goto out;
    }
    W->c = c;
    W->doc = &doc;
    W->file = name;
    rc = walk_map(W, root, "", 0, err);
    if (!rc)
        rc = finish(W, err);
    free(W);
out:
    yaml_document_delete(&doc);
    return rc;
}

int hcmc_config_load(const char *path, hcmc_config *c, hcmc_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return hcmc_error_set(err, HCMC_EIO, "%s: cannot open: %s", path,
                              strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap + 1);
    while (text) {
        size_t got = fread(text + len, 1, cap - len, f);
        len += got;
        if (len < cap)
            break;
        if (cap >= (size_t)64 << 20) {
            free(text);
            fclose(f);
            return hcmc_error_set(err, HCMC_EFORMAT,
                                  "%s: larger than 64 MiB: not a config", path);
        }
        char *grown = realloc(text, 2 * cap + 1);
        if (!grown) {
            free(text);
            text = NULL;
            break;
        }
        text = grown;
        cap *= 2;
    }
    int rd = ferror(f);
    fclose(f);
    if (!text)
        return hcmc_error_set(err, HCMC_ENOMEM, "%s: out of memory", path);
    if (rd) {
        free(text);
        return hcmc_error_set(err, HCMC_EIO, "%s: read error", path);
    }
    text[len] = 0;
    if (memchr(text, 0, len)) {
        free(text);
        return hcmc_error_set(err, HCMC_EFORMAT, "%s: binary data: not a YAML config",
                              path);
    }
    snprintf(c->source, sizeof c->source, "%s", path);
    int rc = parse_text(text, len, path, c, err);
    if (rc) {
        free(text);
        c->text = NULL;
        return rc;
    }
    c->text = text;
    return 0;
}

/* initial_parameters.fixed_parameters.NAME = value | free */
static int set_fixed(hcmc_config *c, const char *key, const char *name,
                     const char *value, hcmc_error *err)
{
    where w = {"command line", 0, 0};
    int k = hcmc_phys_index(name);
    double v;
    if (k < 0 || (size_t)k >= hcmc_mode_nphys(c->mode))
        return fail_at(err, &w, key, "'%s' is not a parameter of %s", name,
                       hcmc_mode_name(c->mode));
    if (!strcmp(value, "free")) {
        c->phys_fixed[k] = false;
        return 0;
    }
    if (parse_double(value, &v))
        return fail_at(err, &w, key, "expected a number or 'free', got '%s'", value);
    bool was = c->phys_fixed[k];
    double old = c->phys_fixed_value[k];
    c->phys_fixed[k] = true;
    c->phys_fixed_value[k] = v;
    int rc = check_fixed_value(c, k, &w, key, err);
    if (rc) {
        c->phys_fixed[k] = was;
        c->phys_fixed_value[k] = old;
    }
    return rc;
}

int hcmc_config_set(hcmc_config *c, const char *key, const char *value, hcmc_error *err)
{
    where w = {"command line", 0, 0};
    static const char fixed_prefix[] = "initial_parameters.fixed_parameters.";
    if (!strncmp(key, fixed_prefix, sizeof fixed_prefix - 1)) {
        int rc = set_fixed(c, key, key + sizeof fixed_prefix - 1, value, err);
        if (!rc && c->n_overrides < HCMC_CONFIG_MAX_OVERRIDES)
            snprintf(c->overrides[c->n_overrides++], sizeof c->overrides[0], "%s=%s",
                     key, value);
        return rc;
    }
    for (size_t k = 0; k < NKEYS; k++) {
        if (strcmp(keys[k].path, key))
            continue;
        int rc = set_value(c, &keys[k], value, &w, err);
        if (rc)
            return rc;
        if (c->n_overrides < HCMC_CONFIG_MAX_OVERRIDES)
            snprintf(c->overrides[c->n_overrides++], sizeof c->overrides[0], "%s=%s",
                     key, value);
        return 0;
    }
    return hcmc_error_set(err, HCMC_EINVAL, "command line: unknown setting '%s'", key);
}

void hcmc_config_target_spec(const hcmc_config *c, hcmc_target_spec *s)
{
    hcmc_target_spec_defaults(s, c->mode);
    s->model.convention = c->convention;
    s->model.q = c->q;
    s->model.L = c->L;
    s->model.dt = c->dt;
    memcpy(s->phys, c->phys, sizeof s->phys);
    memcpy(s->phys_fixed, c->phys_fixed, sizeof s->phys_fixed);
    memcpy(s->phys_fixed_value, c->phys_fixed_value, sizeof s->phys_fixed_value);
    s->contrast = c->contrast;
    s->offset = c->offset;
    s->scaling = c->per_angle_mode;
    s->constant_scaling_threshold = c->constant_scaling_threshold;
    s->prior_tempering = c->prior_tempering;
    s->law_coords = strcmp(c->sampling_space, "per_parameter") != 0;
}

void hcmc_config_selection(const hcmc_config *c, hcmc_aps_select *s)
{
    memset(s, 0, sizeof *s);
    s->q = c->q;
    s->n_ranges = c->phi_filter ? c->n_ranges : 0;
    s->ranges = (const double(*)[2])c->ranges;
    s->fallback_all = c->phi_fallback_all;
    s->start_frame = c->start_frame;
    s->end_frame = c->end_frame;
    s->dt = c->dt;
}

hcmc_config *hcmc_config_new(void)
{
    hcmc_config *c = malloc(sizeof *c);
    if (c)
        hcmc_config_defaults(c, HCMC_MODE_STATIC);
    return c;
}

void hcmc_config_free(hcmc_config *c)
{
    if (!c)
        return;
    hcmc_config_release(c);
    free(c);
}

const char *hcmc_config_output_dir(const hcmc_config *c)
{
    return c->output_dir;
}
