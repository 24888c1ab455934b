/* A whole analysis from a configuration: data, shard plan, problem,
 * backend, combination, and the result files in the output directory
 * (summary.json, posterior.nc, shards/shard_NNNNN.h5, config.yaml). */
#ifndef HCMC_RUN_H
#define HCMC_RUN_H

#include <stdbool.h>
#include <stdio.h>

#include "hcmc/cmc.h"
#include "hcmc/combine.h"
#include "hcmc/config.h"
#include "hcmc/dataset.h"
#include "hcmc/diagnostics.h"
#include "hcmc/export.h"
#include "hcmc/importance.h"
#include "hcmc/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hcmc_run_shard {
    size_t id, points, divergences;
    size_t transitions;    /* sampling iterations over all chains (0: unknown) */
    size_t treedepth_hits; /* of them, trees that reached max_tree_depth */
    int status;            /* HCMC_SHARD_* after combination */
    char reason[160];
    double seconds, rhat_max;
    double ebfmi_min; /* smallest E-BFMI of its chains (NaN: unknown) */
    size_t reruns;    /* chains run again for their divergences */
} hcmc_run_shard;

/* The refinement of the combination (combination.refine): where the
 * combination was not close to the posterior (the importance correction
 * needed more than its first round, or was not applied, or could not be
 * made; "auto"), or always, a run of NUTS on the posterior of the points
 * combined, started from the corrected draws, whose draws then replace
 * them. Its chains are the combined draws' chains, so R-hat and ESS judge
 * it; what the shards' chains did no longer decides the result. auto
 * leaves it out (skipped) where it would take more than 4 times the
 * shards' sampling and more than 15 minutes (src/run/refine.c). */
typedef struct hcmc_refine_info {
    bool done;     /* the draws are the refinement's */
    bool skipped;  /* wanted, but left out for its time (estimate) */
    double estimate; /* seconds it would take, about */
    char why[160]; /* why it was wanted ("" when it was not) */
    size_t points; /* the points of its posterior */
    size_t chains;
    size_t length; /* its chains' length in draws kept (one in length kept) */
    size_t transitions, divergences, treedepth_hits, reruns;
    double ebfmi_min;   /* smallest E-BFMI of its chains (NaN: unknown) */
    uint64_t gradients; /* density evaluations, warmup included */
    double seconds;
} hcmc_refine_info;

/* One mode of a run's posterior (hcmc_run_result modes). */
typedef struct hcmc_run_mode {
    double weight, weight_se; /* its share of the posterior, and its error */
    double log_mass;          /* log of its mass (bridge sampling) */
    size_t chains, draws;     /* its own chains (the first: the run's) */
    size_t divergences, transitions;
    int found;   /* the search's mode it started from (found[]), -1: none */
    bool mirror; /* phi0's mirror image of the first under the angles' axis */
} hcmc_run_mode;

/* ---- the verdict ----------------------------------------------------------
 * Whether a run's draws can be trusted, by the checks of Vehtari et al.
 * (2021) and Betancourt (2017) on the combined draws and every shard kept:
 * a failure makes the verdict "not ok" (hcmc run, combine and summary then
 * exit with HCMC_EXIT_DIAGNOSTICS); a warning is worth a look. Each item
 * says what was found and, where the draws show it, the likely cause and
 * what to do. */
#define HCMC_VERDICT_MAX 12
#define HCMC_EXIT_DIAGNOSTICS 3

typedef struct hcmc_verdict_item {
    char check[24];   /* r_hat, ess, divergences, importance, e_bfmi, ... */
    char what[320];   /* what was found */
    char advice[320]; /* the likely cause and what to do ("" when none) */
} hcmc_verdict_item;

typedef struct hcmc_verdict {
    bool known; /* false: read from a summary.json that has none */
    bool ok;    /* no failure */
    double max_rhat, min_ess, max_divergence_share; /* the thresholds used */
    size_t n_failures, n_warnings;
    hcmc_verdict_item failures[HCMC_VERDICT_MAX], warnings[HCMC_VERDICT_MAX];
} hcmc_verdict;

typedef struct hcmc_run_result {
    size_t n_points, n_shards, dim, chains, draws;
    char (*names)[40];           /* [dim] */
    double *theta;               /* combined draws, constrained, [chain][draw][dim] */
    hcmc_param_summary *summary; /* [dim] */
    /* physical parameters held fixed (model.h order), not among names */
    bool phys_fixed[HCMC_NPHYS_MAX];
    double phys_fixed_value[HCMC_NPHYS_MAX];
    hcmc_run_shard *shards; /* [n_shards] */
    size_t n_kept;
    size_t workers;         /* of the backend (1 for serial) */
    size_t sampled, reused; /* shards sampled now, taken from an earlier run */
    char backend[32];
    /* importance correction of the combined draws (importance.h); n = 0
     * when none was tried (one shard, switched off, or it failed) */
    hcmc_importance_info importance;
    hcmc_refine_info refine;
    double seconds, sampling_seconds, warm_start_seconds;
    uint64_t seed; /* the run's seed (optimization.cmc.seed) */
    /* submit_only: the jobs submitted ("SHARDS_JOB COMBINE_JOB"); nothing
     * else is filled but n_points, n_shards, sampled and reused */
    char submitted[128];
    /* mpi backend: this process's rank. Only rank 0 has results; the
     * others only sampled shards (their result is otherwise empty). */
    int rank;
    hcmc_verdict verdict;
    /* the angles of the data (degrees; NULL when not known, e.g. read back
     * from summary.json) */
    double *phi;
    size_t n_phi;
    /* phi0 of an angle set with a mirror axis s (model.h) inside its
     * bounds: the draws hold both mirror modes, from the draws on one side
     * (src/run/mirror.c; modes[] their weights, 1/2 each where the prior
     * is symmetric about s: mirror_symmetric); mirror_phi0 is the mean of
     * the mode the chains sampled, R-hat and ESS of phi0 are theirs. */
    bool mirrored, mirror_symmetric;
    double mirror_phi0, mirror_axis;
    /* the modes the warm start's global search found (cmc.h
     * hcmc_problem_modes), the first where the chains started; missed: the
     * draws stay more than 4 sd away from it in some parameter. n_found 0
     * where not known (a run read back, hcmc combine). */
    size_t n_found;
    hcmc_problem_mode found[HCMC_PROBLEM_MAX_MODES];
    bool found_missed[HCMC_PROBLEM_MAX_MODES];
    /* The modes sampled one by one (src/run/modes.c): where the draws
     * missed a mode of the search (found) or phi0's mirror image under an
     * asymmetric prior, chains of its own sampled it, and the draws are
     * the mixture of the modes resampled by their weights (bridge
     * sampling), in random order; mode_of[chains * draws] gives each
     * draw's mode and mode_summary[n_modes * dim] each mode's parameters
     * from its own chains (R-hat and ESS within the mode). n_modes 0 or
     * 1: one mode, mode_of and mode_summary NULL. found_sampled[i]: the
     * search's mode i was sampled (or its chains went back to the first). */
    size_t n_modes;
    hcmc_run_mode modes[HCMC_PROBLEM_MAX_MODES];
    hcmc_param_summary *mode_summary;
    int *mode_of;
    bool found_sampled[HCMC_PROBLEM_MAX_MODES];
    double modes_seconds;
    /* the coordinates each rate law (D(t), gamma_dot(t)) was sampled in:
     * an hcmc_law_kind (law.h), or -1 where the law is no law block (a
     * member fixed, or logit coordinates) or it is not known */
    int law_kind[2];
} hcmc_run_result;

/* hcmc_run_progress and hcmc_run_options are mirrored by python/hcmc
 * (ctypes): change both together. */
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
    /* Batch backends (slurm, pbs): submit the shard jobs and a combine job
     * that runs after them, and return without waiting. */
    bool submit_only;
} hcmc_run_options;

/* Runs the analysis c describes and writes its files to c->output_dir.
 * o may be NULL (defaults). A stop request (hcmc/stop.h) ends it with
 * HCMC_ECANCELED; shard files written by then are kept for a resume. */
HCMC_API int hcmc_run(const hcmc_config *c, const hcmc_run_options *o,
                      hcmc_run_result **out, hcmc_error *err);
HCMC_API void hcmc_run_result_free(hcmc_run_result *r);

/* hcmc_run on a data set in memory (e.g. arrays from Python) instead of
 * c's data file: c's selection (phi_filtering, frames) applies to it
 * (hcmc_dataset_select), and its q, dt and L (when > 0) replace c's. The run
 * directory also gets plan.h5, so that hcmc combine and a resume need no
 * data file; plots of the data are left out (there is no file to read
 * them again). Not with the mpi backend, whose ranks read the file. */
/* posterior.nc's data_file of such a run begins with this */
#define HCMC_IN_MEMORY "(in memory: "
HCMC_API int hcmc_run_dataset(const hcmc_config *c, const hcmc_dataset *ds,
                              const hcmc_run_options *o, hcmc_run_result **out,
                              hcmc_error *err);

/* Combines the shard files of the run in dir again with c's combination
 * settings (e.g. another method) and rewrites dir's summary.json and
 * posterior.nc; no sampling. */
/* Applies to c the command-line overrides the run in dir was made with
 * (summary.json run.overrides; before the first combination, those of
 * dir/plan.h5), so that c describes the run's problem
 * again (shards, seed, sampler); output.* and combination.* are left to
 * the caller. Neither file: nothing to apply. */
HCMC_API int hcmc_run_dir_apply_overrides(hcmc_config *c, const char *dir,
                                          hcmc_error *err);
HCMC_API int hcmc_combine_dir(const hcmc_config *c, const char *dir,
                              hcmc_run_result **out, hcmc_error *err);
/* ---- batch runs: a plan file and worker jobs ----------------------------
 * The slurm and pbs backends run hcmc_run this way; these are the pieces
 * for running workers by other means (a workflow manager, by hand). */

/* Builds the problem c describes and writes dir/plan.h5 (points, shard
 * plan, warm start, configuration) and dir/config.yaml: everything a
 * worker on any node that sees dir needs. *n_shards may be NULL. */
HCMC_API int hcmc_plan_create(const hcmc_config *c, const char *dir, size_t *n_shards,
                              hcmc_error *err);

typedef enum hcmc_worker_outcome {
    HCMC_WORKER_SAMPLED,     /* sampled now; shard file written */
    HCMC_WORKER_DONE_BEFORE, /* a valid shard file of this plan was there */
    HCMC_WORKER_FAILED       /* sampled, the sampler failed (file says why) */
} hcmc_worker_outcome;

/* Runs shard `shard` of the plan in dir: writes dir/shards/shard_N.h5 and
 * the status file beside it. Idempotent: a finished shard of the same plan
 * is not sampled again; a damaged shard file (checksums) is. A stop request
 * (SIGTERM before a walltime) returns HCMC_ECANCELED and leaves the status
 * "terminated". */
HCMC_API int hcmc_worker_run(const char *dir, size_t shard, hcmc_worker_outcome *out,
                             hcmc_error *err);

typedef struct hcmc_dir_status {
    size_t shards;                          /* in the plan */
    size_t ok, failed, running, terminated; /* by status or shard file */
    size_t missing;                         /* no word yet */
    bool combined;                          /* posterior.nc exists */
    char last_job[160];                     /* the last line of batch/jobs */
} hcmc_dir_status;

/* Where the run in dir stands (from its plan, shard and status files). */
HCMC_API int hcmc_dir_status_read(const char *dir, hcmc_dir_status *st,
                                  hcmc_error *err);

/* The console table: parameter, mean, sd, 90 % interval, R-hat, ESS, and a
 * line on the shards. */
HCMC_API void hcmc_run_print_table(FILE *f, const hcmc_run_result *r);

/* The verdict block printed after the table: "verdict: ok", or each
 * failure and warning with its advice. */
HCMC_API void hcmc_run_print_verdict(FILE *f, const hcmc_run_result *r);

/* The result of a finished run read back from dir/summary.json: names,
 * summaries, shards and the run's figures (no draws: theta is NULL, chains
 * and draws 0). *failure (may be NULL) gets the run's error message, or ""
 * when it ended well; cap is its size. Free with hcmc_run_result_free. */
HCMC_API int hcmc_run_summary_read(const char *dir, hcmc_run_result **out,
                                   char *failure, size_t cap, hcmc_error *err);

#ifdef __cplusplus
}
#endif
#endif
