/* The threads backend: shard tasks on a pool of threads in this process,
 * each thread taking the next shard in the plan's order when it is free.
 * Threads share the problem read-only; a crash of one shard ends the
 * process, which the process backends (multiprocessing, pool) isolate. */
#include <pthread.h>
#include <stdlib.h>

#include "common.h"
#include "hcmc/log.h"
#include "hcmc/timing.h"

typedef struct {
    const hcmc_problem *p;
    const hcmc_shard_plan *plan;
    const size_t *todo;
    size_t n_todo, next, workers;
    const hcmc_nuts_settings *s;
    const hcmc_backend_options *o;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    size_t running, finished;
    atomic_bool abort;
    int rc; /* first failure that ends the run */
    bool err_set;
    hcmc_error err;
    /* events are reported by the calling thread: started shards queue here */
    size_t *started;
    size_t n_started;
} pool;

static void *worker_main(void *arg)
{
    pool *P = arg;
    bool chains_parallel = hcmc__chains_parallel(P->s, P->workers);
    pthread_mutex_lock(&P->lock);
    for (;;) {
        if (P->rc || P->next == P->n_todo)
            break;
        size_t id = P->todo[P->next++];
        /* chains on threads too for the last shards (cores would idle) */
        bool par =
            chains_parallel || (P->s->parallel && P->n_todo - P->next < P->workers);
        P->started[P->n_started++] = id;
        P->running++;
        pthread_cond_broadcast(&P->changed);
        pthread_mutex_unlock(&P->lock);
        hcmc_shard_result *r;
        hcmc_error e;
        int rc =
            hcmc__run_watched(P->p, P->plan, id, P->s, par, P->o, &P->abort, &r, &e);
        pthread_mutex_lock(&P->lock);
        P->running--;
        bool from_sink = false;
        if (!rc && !P->rc) {
            rc = P->o->sink(P->o->user, r); /* the sink explains its refusal */
            from_sink = rc != 0;
        } else if (!rc) {
            hcmc_shard_result_free(r);
        }
        if (rc && !P->rc) {
            P->rc = rc;
            P->err_set = !from_sink;
            if (!from_sink)
                P->err = e;
            atomic_store(&P->abort, true);
        }
        P->finished++;
        pthread_cond_broadcast(&P->changed);
    }
    pthread_mutex_unlock(&P->lock);
    return NULL;
}

static bool threads_available(void)
{
    return true;
}

static int threads_run(const hcmc_problem *p, const hcmc_shard_plan *plan,
                       const size_t *todo, size_t n_todo, const hcmc_nuts_settings *s,
                       const hcmc_backend_options *o, hcmc_error *err)
{
    size_t W = o->workers ? o->workers : hcmc_usable_cores();
    if (W > n_todo)
        W = n_todo;
    if (W == 0)
        return HCMC_OK;
    pool P = {.p = p,
              .plan = plan,
              .todo = todo,
              .n_todo = n_todo,
              .workers = W,
              .s = s,
              .o = o};
    atomic_init(&P.abort, false);
    pthread_t *tid = calloc(W, sizeof *tid);
    P.started = calloc(n_todo, sizeof *P.started);
    if (!tid || !P.started) {
        free(tid);
        free(P.started);
        return hcmc_error_set(err, HCMC_ENOMEM, "threads backend: out of memory");
    }
    pthread_mutex_init(&P.lock, NULL);
    pthread_cond_init(&P.changed, NULL);
    size_t started = 0;
    for (; started < W; started++)
        if (pthread_create(&tid[started], NULL, worker_main, &P))
            break;
    if (started < W)
        hcmc_log(HCMC_LOG_WARN, "threads backend: started %zu of %zu threads", started,
                 W);
    if (started == 0) {
        worker_main(&P); /* no thread at all: run here */
    } else {
        size_t reported = 0;
        pthread_mutex_lock(&P.lock);
        while (P.finished < n_todo && !P.rc && (P.running || P.next < n_todo)) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 1;
            pthread_cond_timedwait(&P.changed, &P.lock, &until);
            while (reported < P.n_started) {
                size_t id = P.started[reported++];
                pthread_mutex_unlock(&P.lock);
                hcmc__event(o, HCMC_EVENT_STARTED, id, "a thread");
                pthread_mutex_lock(&P.lock);
            }
            pthread_mutex_unlock(&P.lock);
            hcmc__event(o, HCMC_EVENT_TICK, 0, NULL);
            pthread_mutex_lock(&P.lock);
        }
        pthread_mutex_unlock(&P.lock);
    }
    for (size_t k = 0; k < started; k++)
        pthread_join(tid[k], NULL);
    pthread_mutex_destroy(&P.lock);
    pthread_cond_destroy(&P.changed);
    free(tid);
    free(P.started);
    if (P.rc && P.err_set && err)
        *err = P.err;
    return P.rc;
}

const hcmc_backend hcmc__backend_threads = {.name = "threads",
                                            .available = threads_available,
                                            .workers = hcmc__workers_cores,
                                            .run = threads_run};
