/* The serial backend: shards one after another in this process, in the
 * plan's order (longest first). */
#include <string.h>

#include "hcmc/backend.h"

static bool serial_available(void)
{
    return true;
}

static int serial_run(const hcmc_problem *p, const hcmc_shard_plan *plan,
                      const size_t *todo, size_t n_todo, const hcmc_nuts_settings *s,
                      hcmc_shard_sink sink, void *user, hcmc_error *err)
{
    for (size_t i = 0; i < n_todo; i++) {
        hcmc_shard_result *r;
        int rc = hcmc_shard_run(p, plan, todo[i], s, &r, err);
        if (rc)
            return rc;
        if ((rc = sink(user, r)))
            return hcmc_error_set(err, rc, "run stopped after shard %zu", todo[i]);
    }
    return HCMC_OK;
}

const hcmc_backend hcmc__backend_serial = {"serial", serial_available, serial_run};

const hcmc_backend *hcmc_backend_find(const char *name, hcmc_error *err)
{
    if (!strcmp(name, "serial") || !strcmp(name, "auto"))
        return &hcmc__backend_serial;
    static const char *const later[] = {
        "threads", "multiprocessing", "pool", "slurm", "pbs", "mpi", "jax", "pjit"};
    for (size_t k = 0; k < sizeof later / sizeof *later; k++)
        if (!strcmp(name, later[k])) {
            hcmc_error_set(err, HCMC_EUNSUPPORTED,
                           "backend '%s' is not available in this version of hcmc; use "
                           "serial or auto",
                           name);
            return NULL;
        }
    hcmc_error_set(err, HCMC_EINVAL, "unknown backend '%s'", name);
    return NULL;
}
