/* Batch runs: the plan file made once, shard tasks run by worker jobs on
 * any node that sees the run directory, and where such a run stands. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../backends/batch.h"
#include "hcmc/backend.h"
#include "hcmc/log.h"
#include "hcmc/run.h"
#include "../store/store.h"
#include "run_internal.h"

typedef struct {
    hcmc_shard_result *r;
} catch_one;

static int catch_sink(void *user, hcmc_shard_result *r)
{
    ((catch_one *)user)->r = r;
    return 0;
}

static void status_base(hcmc__shard_status *st)
{
    memset(st, 0, sizeof *st);
    gethostname(st->host, sizeof st->host - 1);
    st->pid = (long)getpid();
    const char *job = getenv("SLURM_JOB_ID");
    if (!job)
        job = getenv("PBS_JOBID");
    snprintf(st->job, sizeof st->job, "%s", job ? job : "");
    const char *task = getenv("SLURM_ARRAY_TASK_ID");
    if (job && task) {
        size_t n = strlen(st->job);
        snprintf(st->job + n, sizeof st->job - n, "_%s", task);
    }
}

/* For the tests, which must see a job element die mid-shard: with
 * HCMC_TEST_BATCH_FAULT=SHARD:MARKER the worker of that shard kills itself
 * (SIGKILL) after it said it was running, once: it makes MARKER first, and
 * a worker that finds MARKER runs normally. A normal run never sets it. */
static void test_fault(size_t shard)
{
    const char *v = getenv("HCMC_TEST_BATCH_FAULT");
    unsigned long s;
    int n = 0;
    if (!v || sscanf(v, "%lu:%n", &s, &n) != 1 || !n || s != shard)
        return;
    int fd = open(v + n, O_CREAT | O_EXCL | O_WRONLY, 0644);
    if (fd < 0)
        return;
    close(fd);
    raise(SIGKILL);
}

int hcmc_worker_run(const char *dir, size_t shard, hcmc_worker_outcome *out,
                    hcmc_error *err)
{
    hcmc_config *c = calloc(1, sizeof *c);
    if (!c)
        return hcmc_error_set(err, HCMC_ENOMEM, "worker: out of memory");
    hcmc__prepared P;
    catch_one got = {NULL};
    char path[HCMC_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/plan.h5", dir);
    int rc = hcmc__plan_read(path, c, &P, err);
    if (rc)
        goto done;
    size_t K = P.plan->n_shards;
    if (shard >= K) {
        rc = hcmc_error_set(err, HCMC_EINVAL,
                            "shard %zu: the plan in %s has %zu shard%s "
                            "(0 to %zu)",
                            shard, dir, K, K == 1 ? "" : "s", K - 1);
        goto done;
    }
    size_t np = P.plan->start[shard + 1] - P.plan->start[shard];
    hcmc__shard_status st;
    bool stale = false, damaged = false;
    hcmc_shard_result *prev =
        hcmc__shard_reuse(dir, shard, np, P.fingerprint, &stale, &damaged);
    if (prev) {
        hcmc_log(HCMC_LOG_INFO, "shard %zu: done before (%s/shards); nothing to do",
                 shard, dir);
        status_base(&st);
        st.state = HCMC__SHARD_OK;
        st.seconds = prev->seconds;
        snprintf(st.message, sizeof st.message, "done before");
        hcmc_shard_result_free(prev);
        rc = hcmc__status_write(dir, shard, &st, err);
        *out = HCMC_WORKER_DONE_BEFORE;
        goto done;
    }
    if (damaged)
        hcmc_log(HCMC_LOG_WARN,
                 "shard %zu: the earlier shard file is damaged; sampled "
                 "again",
                 shard);
    status_base(&st);
    st.state = HCMC__SHARD_RUNNING;
    if ((rc = hcmc__status_write(dir, shard, &st, err)))
        goto done;
    test_fault(shard);
    hcmc_log(HCMC_LOG_INFO, "shard %zu of %zu: %zu points, sampling", shard, K, np);
    /* the serial backend: the per-shard timeout and stop requests */
    const hcmc_backend *be = hcmc_backend_find("serial", 1, 1, err);
    hcmc_backend_options bo;
    hcmc_backend_options_defaults(&bo);
    bo.per_shard_timeout = c->per_shard_timeout;
    bo.sink = catch_sink;
    bo.user = &got;
    rc = be->run(P.prob, P.plan, &shard, 1, &P.ns, &bo, err);
    if (rc == HCMC_ECANCELED) {
        st.state = HCMC__SHARD_TERMINATED;
        snprintf(st.message, sizeof st.message, "stopped by a signal before the end");
        hcmc_error ignored;
        hcmc__status_write(dir, shard, &st, &ignored);
        goto done;
    }
    if (rc)
        goto done;
    hcmc__shard_path(path, sizeof path, dir, shard);
    if ((rc = hcmc__shard_file_write(path, got.r, hcmc_problem_target(P.prob),
                                     P.fingerprint, err)))
        goto done;
    st.state = got.r->status ? HCMC__SHARD_FAILED : HCMC__SHARD_OK;
    st.seconds = got.r->seconds;
    snprintf(st.message, sizeof st.message, "%s", got.r->status ? got.r->message : "");
    if ((rc = hcmc__status_write(dir, shard, &st, err)))
        goto done;
    *out = got.r->status ? HCMC_WORKER_FAILED : HCMC_WORKER_SAMPLED;
    if (got.r->status)
        hcmc_log(HCMC_LOG_WARN, "shard %zu failed: %s", shard, got.r->message);
    else
        hcmc_log(HCMC_LOG_INFO, "shard %zu done: %.1f s, R-hat max %.3f", shard,
                 got.r->seconds, got.r->rhat_max);
done:
    hcmc_shard_result_free(got.r);
    hcmc__prepared_release(&P);
    hcmc_config_release(c);
    free(c);
    return rc;
}
