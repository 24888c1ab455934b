/* What the in-process and the process backends share: the default
 * options, one watched attempt at a shard
 * (per-shard timeout, stop requests), whether chains go on threads, and
 * how many workers each kind of backend keeps busy. */
#define _GNU_SOURCE
#include "common.h"

#include <sched.h>
#include <stdio.h>

#include "hcmc/stop.h"
#include "hcmc/timing.h"

void hcmc_backend_options_defaults(hcmc_backend_options *o)
{
    *o = (hcmc_backend_options){
        .max_retries = 2, .per_shard_timeout = 3600, .heartbeat_timeout = 600};
}

int hcmc__watch_progress(void *user, size_t chain, size_t iteration)
{
    (void)chain;
    hcmc__watch *w = user;
    if (hcmc_stop_requested() || (w->abort && atomic_load(w->abort)))
        return 1;
    /* the clock is read every 16 iterations: cheap, and a fraction of a
     * second late at worst */
    if (w->deadline > 0 && (iteration & 15) == 0 && hcmc_seconds() > w->deadline) {
        atomic_store(&w->timed_out, true);
        return 1;
    }
    return 0;
}

bool hcmc__chains_parallel(const hcmc_nuts_settings *s, size_t workers)
{
    return s->parallel && workers < hcmc_usable_cores();
}

void hcmc__event(const hcmc_backend_options *o, hcmc_backend_event ev, size_t shard,
                 const char *detail)
{
    if (o->event)
        o->event(o->user, ev, shard, detail);
}

int hcmc__run_watched(const hcmc_problem *p, const hcmc_shard_plan *plan, size_t id,
                      const hcmc_nuts_settings *s, bool chains_parallel,
                      const hcmc_backend_options *o, const atomic_bool *abort,
                      hcmc_shard_result **out, hcmc_error *err)
{
    *out = NULL;
    hcmc__watch w;
    w.deadline = o->per_shard_timeout > 0 ? hcmc_seconds() + o->per_shard_timeout : 0;
    w.abort = abort;
    atomic_init(&w.timed_out, false);
    hcmc_nuts_settings ws = *s;
    ws.parallel = chains_parallel;
    ws.progress = hcmc__watch_progress;
    ws.progress_user = &w;
    hcmc_shard_result *r;
    int rc = hcmc_shard_run(p, plan, id, &ws, &r, err);
    if (rc)
        return rc;
    if (atomic_load(&w.timed_out)) {
        snprintf(r->message, sizeof r->message,
                 "timed out: over per_shard_timeout = %g s", o->per_shard_timeout);
    } else if (r->status == HCMC_ECANCELED) {
        hcmc_shard_result_free(r);
        return hcmc_error_set(err, HCMC_ECANCELED, "shard %zu: stopped on request", id);
    }
    *out = r;
    return HCMC_OK;
}

size_t hcmc__workers_one(size_t n, const hcmc_backend_options *o)
{
    (void)n;
    (void)o;
    return 1;
}

size_t hcmc__workers_cores(size_t n, const hcmc_backend_options *o)
{
    size_t w = o->pool      ? hcmc_pool_size(o->pool)
               : o->workers ? o->workers
                            : hcmc_usable_cores();
    return w < n ? w : n;
}

size_t hcmc__workers_each(size_t n, const hcmc_backend_options *o)
{
    (void)o;
    return n;
}
