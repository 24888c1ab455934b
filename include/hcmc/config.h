/* The run configuration: homodyne's YAML tree (MODEL.md sections 1-9), read
 * with libyaml.
 *
 * Every setting has a default (MODEL.md's), so an empty mapping is a valid
 * configuration apart from the data file. Keys hcmc does not know produce a
 * warning with file:line; keys homodyne defines for its other methods
 * (nlsq, vi, plotting, ...) are accepted silently. A value of the wrong
 * type or out of range is an error with file:line:column, the key, what was
 * expected and what was found. Command-line overrides go through the same
 * parsers (hcmc_config_set) and win over the file. */
#ifndef HCMC_CONFIG_H
#define HCMC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hcmc/aps.h"
#include "hcmc/backend.h"
#include "hcmc/export.h"
#include "hcmc/model.h"
#include "hcmc/prior.h"
#include "hcmc/status.h"
#include "hcmc/target.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HCMC_CONFIG_MAX_RANGES 64
#define HCMC_CONFIG_MAX_ANGLES 1024
#define HCMC_CONFIG_MAX_OVERRIDES 32

typedef enum { HCMC_AUTO = -1, HCMC_OFF = 0, HCMC_ON = 1 } hcmc_tristate;

typedef struct hcmc_config {
    char source[HCMC_PATH_MAX]; /* the file read, "" for defaults */
    char *text;                 /* its contents, kept for result files */

    hcmc_mode mode;
    hcmc_convention convention;
    char data_file[HCMC_PATH_MAX]; /* resolved against the config's folder */

    /* analyzer_parameters */
    double dt, q, L;
    long start_frame, end_frame; /* 1-based, inclusive; -1 = last */

    /* phi_filtering */
    bool phi_filter;
    size_t n_ranges;
    double ranges[HCMC_CONFIG_MAX_RANGES][2]; /* {min_angle, max_angle} */
    bool phi_fallback_all;                    /* fallback_to_all_angles */

    /* initial_parameters: physical values by index (NaN: not given) and
     * per-angle scaling values (n_init_* = 0: not given) */
    double init_phys[HCMC_NPHYS_MAX];
    size_t n_init_contrast, n_init_offset;
    double init_contrast[HCMC_CONFIG_MAX_ANGLES], init_offset[HCMC_CONFIG_MAX_ANGLES];

    /* initial_parameters.fixed_parameters, and the parameters of the mode
     * left out of initial_parameters.active_parameters (held at their
     * initial values): not sampled. Each value lies within its bounds. */
    bool phys_fixed[HCMC_NPHYS_MAX];
    double phys_fixed_value[HCMC_NPHYS_MAX];

    /* parameter_space.bounds: priors of the physical parameters, contrast
     * and offset (defaults of MODEL.md 4 where not given) */
    hcmc_prior phys[HCMC_NPHYS_MAX];
    hcmc_prior contrast, offset;

    /* optimization.cmc */
    hcmc_tristate cmc_enable;
    size_t min_points_for_cmc;
    hcmc_scaling_mode per_angle_mode;
    size_t constant_scaling_threshold;
    bool prior_tempering;
    char backend[32];   /* backend_config.name (or backend); "auto" */
    size_t num_workers; /* 0: usable cores */
    int max_retries;
    double per_shard_timeout, heartbeat_timeout; /* seconds */
    /* backend_config.slurm, backend_config.pbs */
    hcmc_batch_options slurm, pbs;
    uint64_t seed;
    char strategy[16];           /* sharding.strategy */
    size_t num_shards;           /* 0: auto */
    size_t max_points_per_shard; /* 0: auto */
    char combination[32];        /* combination.method */
    /* combination.space: no longer used (shards are combined in the
     * sampling coordinates); earlier values are warned about */
    char combination_space[32];
    bool importance_correction; /* combination.importance_correction */
    /* combination.refine: auto (a full-data run from the corrected draws
     * where the combination was not close; run.h), always, never */
    char refine[8];
    double min_success_rate;
    double max_divergence_rate, max_parameter_cv;
    bool heterogeneity_abort;
    /* the run's verdict (run.h): largest R-hat and smallest bulk and tail
     * ESS of the combined draws (validation.max_r_hat, min_ess) */
    double verdict_max_rhat, verdict_min_ess;

    /* optimization.cmc.per_shard_mcmc (optimization.mcmc as fallback) */
    size_t num_warmup, num_samples, num_chains;
    double target_accept_prob;
    /* a chain with more than this share of divergent transitions runs again
     * at rerun_target_accept_prob (nuts.h rerun_divergent); 0: never */
    double rerun_divergent, rerun_target_accept_prob;
    int max_tree_depth;
    bool dense_mass;
    bool chain_parallel; /* chain_method: parallel | sequential */
    /* sampling_space: rate_laws (= auto; law coordinates, law.h) or
     * per_parameter (every bounded parameter on its own, probit); the
     * names of earlier versions, reference_rates and unconstrained, are
     * read as these */
    char sampling_space[32];

    char output_dir[HCMC_PATH_MAX]; /* output.directory */

    /* command-line overrides applied, "key=value", for the run report */
    size_t n_overrides;
    char overrides[HCMC_CONFIG_MAX_OVERRIDES][160];
    /* warnings issued while reading (unknown keys, ...) */
    size_t n_warnings;
} hcmc_config;

/* MODEL.md's defaults for mode (data_file empty). */
HCMC_API void hcmc_config_defaults(hcmc_config *c, hcmc_mode mode);

/* Reads path. On success the config is complete and validated; warnings
 * go to the log. On failure err says file:line:column and the key. */
HCMC_API int hcmc_config_load(const char *path, hcmc_config *c, hcmc_error *err);

/* The same from a string (name is used in messages; relative data paths
 * resolve against the current directory). */
HCMC_API int hcmc_config_parse(const char *text, size_t len, const char *name,
                               hcmc_config *c, hcmc_error *err);

/* Sets one scalar key by its dotted path (e.g. "optimization.cmc.seed") from
 * a string, as a command-line override; recorded in c->overrides.
 * "initial_parameters.fixed_parameters.NAME" fixes physical parameter NAME
 * at the value, or samples it again when the value is "free". */
HCMC_API int hcmc_config_set(hcmc_config *c, const char *key, const char *value,
                             hcmc_error *err);

HCMC_API void hcmc_config_release(hcmc_config *c);

/* A configuration on the heap, with the static defaults (NULL: out of
 * memory), and its release and free: for callers that cannot size the
 * struct (bindings to other languages). */
HCMC_API hcmc_config *hcmc_config_new(void);
HCMC_API void hcmc_config_free(hcmc_config *c);
/* output.directory as c has it (overrides applied). */
HCMC_API const char *hcmc_config_output_dir(const hcmc_config *c);

/* A commented template for mode that hcmc_config_load reads back without
 * warnings. */
HCMC_API int hcmc_config_write_template(FILE *f, hcmc_mode mode);

/* The target spec this configuration asks for (geometry from the data's
 * frames is the caller's: n_t). */
HCMC_API void hcmc_config_target_spec(const hcmc_config *c, hcmc_target_spec *s);

/* The data selection this configuration asks for (q, phi ranges, frames,
 * dt), for hcmc_aps_read on c->data_file. */
HCMC_API void hcmc_config_selection(const hcmc_config *c, hcmc_aps_select *s);

#ifdef __cplusplus
}
#endif
#endif
