/* Execution backends (DESIGN.md): one small interface, one file per
 * backend under src/backends. A backend runs the shard task on a list of
 * shard ids and hands every finished result to the sink, in any order: the
 * results do not depend on the backend, the worker count or the order. */
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

/* Receives ownership of r. A non-zero return stops the run. */
typedef int (*hcmc_shard_sink)(void *user, hcmc_shard_result *r);

typedef struct hcmc_backend {
    const char *name;
    bool (*available)(void);
    int (*run)(const hcmc_problem *p, const hcmc_shard_plan *plan, const size_t *todo,
               size_t n_todo, const hcmc_nuts_settings *s, hcmc_shard_sink sink,
               void *user, hcmc_error *err);
} hcmc_backend;

/* The backend of a name: serial; auto picks the best available one.
 * Names of later backends (threads, multiprocessing, pool, slurm, pbs,
 * mpi; homodyne's jax and pjit) are refused with a clear message until
 * they exist. */
HCMC_API const hcmc_backend *hcmc_backend_find(const char *name, hcmc_error *err);

#ifdef __cplusplus
}
#endif
#endif
