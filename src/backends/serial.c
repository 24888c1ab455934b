/* The serial backend: shards one after another in this process, in the
 * plan's order (longest first). */
#include "common.h"

static bool serial_available(void)
{
    return true;
}

static int serial_run(const hcmc_problem *p, const hcmc_shard_plan *plan,
                      const size_t *todo, size_t n_todo, const hcmc_nuts_settings *s,
                      const hcmc_backend_options *o, hcmc_error *err)
{
    for (size_t i = 0; i < n_todo; i++) {
        hcmc_shard_result *r;
        hcmc__event(o, HCMC_EVENT_STARTED, todo[i], "this process");
        int rc = hcmc__run_watched(p, plan, todo[i], s, s->parallel, o, NULL, &r, err);
        if (rc)
            return rc;
        if ((rc = o->sink(o->user, r)))
            return rc;
    }
    return HCMC_OK;
}

const hcmc_backend hcmc__backend_serial = {.name = "serial",
                                           .available = serial_available,
                                           .workers = hcmc__workers_one,
                                           .run = serial_run};
