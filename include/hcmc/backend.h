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

typedef struct hcmc_backend_options {
    size_t workers;           /* 0: the usable cores */
    int max_retries;          /* further attempts after a worker died or timed out */
    double per_shard_timeout; /* seconds one attempt may take; 0: no limit */
    double heartbeat_timeout; /* seconds a worker may be silent; 0: no limit */
    hcmc_shard_sink sink;
    /* Optional; called from the thread that called run. */
    void (*event)(void *user, hcmc_backend_event ev, size_t shard, const char *detail);
    void *user; /* for sink and event */
} hcmc_backend_options;

HCMC_API void hcmc_backend_options_defaults(hcmc_backend_options *o);

typedef struct hcmc_backend {
    const char *name;
    bool (*available)(void);
    int (*run)(const hcmc_problem *p, const hcmc_shard_plan *plan, const size_t *todo,
               size_t n_todo, const hcmc_nuts_settings *s,
               const hcmc_backend_options *o, hcmc_error *err);
} hcmc_backend;

/* The backend of a name: serial, threads, multiprocessing, pool; auto is
 * multiprocessing when there are more usable cores and shards than one,
 * else serial (n_shards and workers, 0 = auto, inform that choice).
 * homodyne's names map with a notice in the log: jax -> multiprocessing,
 * pjit -> threads. slurm, pbs and mpi are refused with a clear message
 * until they exist. */
HCMC_API const hcmc_backend *hcmc_backend_find(const char *name, size_t n_shards,
                                               size_t workers, hcmc_error *err);

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

/* Cores this process may run on (its CPU affinity), at least 1. */
HCMC_API size_t hcmc_usable_cores(void);

#ifdef __cplusplus
}
#endif
#endif
