/* Internal to the backends: what the in-process and the process backends
 * share. */
#ifndef HCMC_BACKENDS_COMMON_H
#define HCMC_BACKENDS_COMMON_H

#include <stdatomic.h>
#include <stdbool.h>

#include "hcmc/backend.h"

/* Watches one attempt of a shard run in this process: the sampler's
 * progress callback stops it when the deadline passes, a stop was
 * requested, or *abort (may be NULL) becomes true. */
typedef struct {
    double deadline; /* hcmc_seconds() value; 0: none */
    const atomic_bool *abort;
    atomic_bool timed_out;
} hcmc__watch;

int hcmc__watch_progress(void *user, size_t chain, size_t iteration);

/* Runs shard id under a watch (per_shard_timeout of o), chains in parallel
 * or not as chains_parallel says. A timeout becomes a failed result with a
 * message naming the limit; a stop request or an abort returns
 * HCMC_ECANCELED with no result. */
int hcmc__run_watched(const hcmc_problem *p, const hcmc_shard_plan *plan, size_t id,
                      const hcmc_nuts_settings *s, bool chains_parallel,
                      const hcmc_backend_options *o, const atomic_bool *abort,
                      hcmc_shard_result **out, hcmc_error *err);

/* Sampler chains of a shard go on threads only while workers leave cores
 * free: with as many workers as cores they would only take turns. */
bool hcmc__chains_parallel(const hcmc_nuts_settings *s, size_t workers);

/* Workers of a backend on n shards (hcmc_backend.workers): one; as many as
 * o->workers (0: the usable cores) or a pool's size allow; one per shard
 * (batch jobs). */
size_t hcmc__workers_one(size_t n, const hcmc_backend_options *o);
size_t hcmc__workers_cores(size_t n, const hcmc_backend_options *o);
size_t hcmc__workers_each(size_t n, const hcmc_backend_options *o);

void hcmc__event(const hcmc_backend_options *o, hcmc_backend_event ev, size_t shard,
                 const char *detail);

#endif
