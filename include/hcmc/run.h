/* A whole analysis from a configuration: data, shard plan, problem,
 * backend, combination, and the result files in the output directory
 * (summary.json, posterior.nc, shards/shard_NNNNN.h5, config.yaml). */
#ifndef HCMC_RUN_H
#define HCMC_RUN_H

#include <stdbool.h>
#include <stdio.h>

#include "hcmc/combine.h"
#include "hcmc/config.h"
#include "hcmc/diagnostics.h"
#include "hcmc/export.h"
#include "hcmc/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hcmc_run_shard {
    size_t id, points, divergences;
    int status; /* HCMC_SHARD_* after combination */
    char reason[160];
    double seconds, rhat_max;
} hcmc_run_shard;

typedef struct hcmc_run_result {
    size_t n_points, n_shards, dim, chains, draws;
    char (*names)[40];           /* [dim] */
    double *theta;               /* combined draws, constrained, [chain][draw][dim] */
    hcmc_param_summary *summary; /* [dim] */
    hcmc_run_shard *shards;      /* [n_shards] */
    size_t n_kept;
    size_t workers;         /* of the backend (1 for serial) */
    size_t sampled, reused; /* shards sampled now, taken from an earlier run */
    char backend[32];
    double seconds, sampling_seconds, warm_start_seconds;
} hcmc_run_result;

typedef struct hcmc_run_progress {
    size_t shards;  /* in the plan */
    size_t done;    /* finished, failed ones and reused ones included */
    size_t failed;  /* finished without draws */
    size_t running; /* handed to a worker, not finished */
    size_t reused;  /* taken from an earlier run's shard files */
    double elapsed; /* seconds since sampling began */
    double eta;     /* seconds still to go from the cost model; NaN: unknown */
} hcmc_run_progress;

typedef struct hcmc_run_options {
    /* Sample every shard again, ignoring shard files of an earlier run in
     * the output directory. Otherwise finished shards of the same problem
     * (same fingerprint) are reused and only the others are sampled. */
    bool fresh;
    /* Optional: called when a shard starts or ends and about once a
     * second while shards run, on the thread that called hcmc_run. */
    void (*progress)(void *user, const hcmc_run_progress *p);
    void *user;
    /* Optional: worker processes kept across runs (hcmc_pool_new), used
     * when the backend is pool, multiprocessing, or auto choosing it. */
    struct hcmc_pool *pool;
} hcmc_run_options;

/* Runs the analysis c describes and writes its files to c->output_dir.
 * o may be NULL (defaults). A stop request (hcmc/stop.h) ends it with
 * HCMC_ECANCELED; shard files written by then are kept for a resume. */
HCMC_API int hcmc_run(const hcmc_config *c, const hcmc_run_options *o,
                      hcmc_run_result **out, hcmc_error *err);
HCMC_API void hcmc_run_result_free(hcmc_run_result *r);

/* Combines the shard files of the run in dir again with c's combination
 * settings (e.g. another method) and rewrites dir's summary.json and
 * posterior.nc; no sampling. */
HCMC_API int hcmc_combine_dir(const hcmc_config *c, const char *dir,
                              hcmc_run_result **out, hcmc_error *err);
/* The console table: parameter, mean, sd, 90 % interval, R-hat, ESS, and a
 * line on the shards. */
HCMC_API void hcmc_run_print_table(FILE *f, const hcmc_run_result *r);

#ifdef __cplusplus
}
#endif
#endif
