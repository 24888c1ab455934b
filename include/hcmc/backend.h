/* Execution backends (DESIGN.md): one small interface, one file per
 * backend under src/backends. A backend runs the shard task on a list of
 * shard ids and hands every finished result to the sink, in any order: the
 * results do not depend on the backend, the worker count or the order.
 *
 * Failures of a shard (the sampler failed, its worker died, it ran over
 * its time) end up as a result with a non-zero status and a message, after
 * the backend's retries; the pipeline's gates decide what follows. run
 * returns non-zero only when the run as a whole cannot go on: the sink
 * asked to stop, a stop was requested (hcmc/stop.h; HCMC_ECANCELED), or no
 * worker could be started. */
#ifndef HCMC_BACKEND_H
#define HCMC_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include "hcmc/cmc.h"
#include "hcmc/cores.h"
#include "hcmc/export.h"
#include "hcmc/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Receives ownership of r. A non-zero return stops the run: run returns
 * that value at once, and the sink is the one to have said why (it knows
 * the run's error object). */
typedef int (*hcmc_shard_sink)(void *user, hcmc_shard_result *r);

typedef enum hcmc_backend_event {
    HCMC_EVENT_STARTED, /* a shard was handed to a worker (detail: which) */
    HCMC_EVENT_RETRY,   /* an attempt failed; the shard runs again (detail: why) */
    HCMC_EVENT_TICK     /* about once a second while shards run */
} hcmc_backend_event;

/* A scheduler's settings for the batch backends (config
 * optimization.cmc.backend_config.slurm / .pbs). Empty strings and zeros:
 * not asked for (the scheduler's defaults). Every value is checked by
 * hcmc_batch_option_check before it goes into a job script. */
typedef struct hcmc_batch_options {
    char partition[65]; /* SLURM partition, PBS queue */
    char account[65];
    char qos[65];     /* SLURM only */
    char time[32];    /* walltime of one shard job: [D-]HH:MM:SS, MM, ... */
    char mem[32];     /* memory of one shard job: 4G, 4000M, 4gb, ... */
    size_t cpus;      /* cores of one shard job; 0: one per chain */
    size_t throttle;  /* SLURM: at most this many array elements at once; 0: no limit */
    char dialect[16]; /* PBS: "pro" (qsub -J, PBS_ARRAY_INDEX; default) or "torque" */
    char extra[1024]; /* further scheduler options, one per line, from an allow-list */
    char
        setup[2048]; /* environment set-up lines of the job script (module load, ...) */
    char executable[512]; /* hcmc on the compute nodes; default: this hcmc */
    double poll_max;      /* longest pause between polls, s (default 30) */
    double timeout; /* longest wait on the scheduler for a whole run, s; 0: none */
} hcmc_batch_options;

/* Checks one setting (key as in the config: partition, account, qos, time,
 * mem, cpus_per_task, array_throttle, extra, setup, executable; queue,
 * walltime, memory, ncpus, dialect for PBS) against its pattern: no shell
 * metacharacters, no line breaks except between lines of extra and setup,
 * extra options from an allow-list. scheduler: "slurm" or "pbs". */
HCMC_API int hcmc_batch_option_check(const char *scheduler, const char *key,
                                     const char *value, hcmc_error *err);
HCMC_API void hcmc_batch_options_defaults(hcmc_batch_options *b);

typedef struct hcmc_backend_options {
    size_t workers;           /* 0: the usable cores */
    int max_retries;          /* further attempts after a worker died or timed out */
    double per_shard_timeout; /* seconds one attempt may take; 0: no limit */
    double heartbeat_timeout; /* seconds a worker may be silent; 0: no limit */
    hcmc_shard_sink sink;
    /* Optional; called from the thread that called run. */
    void (*event)(void *user, hcmc_backend_event ev, size_t shard, const char *detail);
    void *user; /* for sink, event and fetch */
    /* Batch backends (slurm, pbs): the run directory, holding plan.h5 (see
     * hcmc_plan_create), on a filesystem every node sees; the scheduler's
     * settings; and fetch, which loads the result a worker left there
     * (NULL: none). submit_only: submit the shard jobs and a combine job
     * that waits for them, and return at once. */
    const char *run_dir;
    const hcmc_batch_options *batch;
    hcmc_shard_result *(*fetch)(void *user, size_t shard);
    bool submit_only;
    char submitted[128]; /* out, submit_only: the job ids */
    /* Backends that run on worker processes (pooled): run on this pool's
     * workers instead of starting their own (NULL: their own; o->workers is
     * then not used). */
    struct hcmc_pool *pool;
} hcmc_backend_options;

HCMC_API void hcmc_backend_options_defaults(hcmc_backend_options *o);

/* Which scheduler's settings a batch backend takes (o->batch). */
typedef enum hcmc_scheduler {
    HCMC_SCHEDULER_NONE,
    HCMC_SCHEDULER_SLURM,
    HCMC_SCHEDULER_PBS
} hcmc_scheduler;

/* A backend: what a run needs to know of it, and its run. */
typedef struct hcmc_backend {
    const char *name;
    bool (*available)(void);
    /* runs hcmc worker jobs on a run directory (slurm, pbs): needs
     * o->run_dir with a plan, o->batch, and the scheduler's commands on
     * PATH (available) */
    bool batch;
    hcmc_scheduler scheduler; /* batch: whose settings */
    const char *commands;     /* batch: the scheduler's commands, for messages */
    bool pooled;              /* runs on worker processes: takes o->pool */
    /* how many workers it keeps busy on n_todo shards with options o */
    size_t (*workers)(size_t n_todo, const hcmc_backend_options *o);
    int (*run)(const hcmc_problem *p, const hcmc_shard_plan *plan, const size_t *todo,
               size_t n_todo, const hcmc_nuts_settings *s,
               const hcmc_backend_options *o, hcmc_error *err);
} hcmc_backend;

/* The backend of a name: serial, threads, multiprocessing, pool, slurm,
 * pbs; auto is multiprocessing when there are more usable cores and shards
 * than one, else serial (n_shards and workers, 0 = auto, inform that
 * choice). homodyne's names map with a notice in the log: jax ->
 * multiprocessing, pjit -> threads. mpi is refused with a clear message
 * in a build without MPI. */
HCMC_API const hcmc_backend *hcmc_backend_find(const char *name, size_t n_shards,
                                               size_t workers, hcmc_error *err);
/* The same without a word in the log or an error: NULL for a name that is
 * no backend here. */
HCMC_API const hcmc_backend *hcmc_backend_lookup(const char *name, size_t n_shards,
                                                 size_t workers);

/* A pool of worker processes that outlives runs: the pool backend for a
 * program that runs several analyses. The workers start once; each run
 * only hands them its problem (points and plan in shared memory), so a
 * run pays no start-up cost. Make and free a pool on a thread that lives
 * as long as the pool: its workers end with that thread. workers 0: the
 * usable cores. */
typedef struct hcmc_pool hcmc_pool;
HCMC_API int hcmc_pool_new(size_t workers, hcmc_pool **out, hcmc_error *err);
HCMC_API void hcmc_pool_free(hcmc_pool *pool);
HCMC_API size_t hcmc_pool_size(const hcmc_pool *pool);
/* Worker processes started so far: the first ones and every replacement. */
HCMC_API size_t hcmc_pool_started(const hcmc_pool *pool);
/* Runs shard tasks on the pool's workers as a backend's run does
 * (o->workers is not used: the pool's size is). */
HCMC_API int hcmc_pool_run(hcmc_pool *pool, const hcmc_problem *p,
                           const hcmc_shard_plan *plan, const size_t *todo,
                           size_t n_todo, const hcmc_nuts_settings *s,
                           const hcmc_backend_options *o, hcmc_error *err);

#ifdef __cplusplus
}
#endif
#endif
