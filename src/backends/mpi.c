/* The mpi backend: rank 0 deals shard ids on demand to the other ranks and
 * gathers their results; every rank has read the same plan file (the io
 * layer writes it and tells the ranks where it is: hcmc__mpi_announce).
 *
 * Messages (MPI_COMM_WORLD):
 *   0 -> r  TAG_TASK   one uint64: a shard id, or UINT64_MAX to stop
 *   r -> 0  TAG_RESULT the packed shard result (hcmc_shard_result_pack);
 *                      an empty message when the rank could not make one
 *   r -> 0  TAG_READY  a rank's first message: it has its problem (or, with
 *                      a non-zero int, it has not: it waits for the stop)
 * Rank 0 only samples when it is alone. */
#include "mpi_backend.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mpi.h>

#include "hcmc/log.h"
#include "hcmc/stop.h"

enum { TAG_TASK = 1, TAG_RESULT = 2, TAG_READY = 3, TAG_PATH = 4 };
#define STOP UINT64_MAX

static void finalize(void)
{
    int fin = 0;
    MPI_Finalized(&fin);
    if (!fin)
        MPI_Finalize();
}

int hcmc__mpi_world(int *rank, int *size)
{
    int init = 0;
    MPI_Initialized(&init);
    if (!init) {
        int provided;
        if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
            return -1;
        atexit(finalize);
    }
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, size);
    return 0;
}

bool hcmc__mpi_wanted(const char *name)
{
    return !strcmp(name, "mpi") ||
           ((!strcmp(name, "auto") || !strcmp(name, "numpy")) && hcmc__mpi_launched());
}

bool hcmc__mpi_launched(void)
{
    const char *v[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE",
                       "MPI_LOCALNRANKS"};
    for (size_t k = 0; k < sizeof v / sizeof *v; k++) {
        const char *s = getenv(v[k]);
        if (s && atoi(s) > 1)
            return true;
    }
    return false;
}

void hcmc__mpi_announce(const char *dir)
{
    char buf[HCMC_PATH_MAX];
    snprintf(buf, sizeof buf, "%s", dir ? dir : "");
    MPI_Bcast(buf, sizeof buf, MPI_CHAR, 0, MPI_COMM_WORLD);
}

int hcmc__mpi_await(char *dir, size_t cap)
{
    char buf[HCMC_PATH_MAX];
    MPI_Bcast(buf, sizeof buf, MPI_CHAR, 0, MPI_COMM_WORLD);
    snprintf(dir, cap, "%s", buf);
    return dir[0] ? 0 : -1;
}

int hcmc__mpi_serve(const hcmc_problem *p, const hcmc_shard_plan *plan,
                    const hcmc_nuts_settings *s, const hcmc_backend_options *o)
{
    int ready = p ? 0 : 1;
    MPI_Send(&ready, 1, MPI_INT, 0, TAG_READY, MPI_COMM_WORLD);
    for (;;) {
        uint64_t id;
        MPI_Recv(&id, 1, MPI_UINT64_T, 0, TAG_TASK, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (id == STOP)
            return 0;
        hcmc_shard_result *r = NULL;
        hcmc_error e;
        void *buf = NULL;
        size_t len = 0;
        if (p && hcmc__run_watched(p, plan, (size_t)id, s, s->parallel, o, NULL, &r,
                                   &e) == 0)
            hcmc_shard_result_pack(r, &buf, &len, &e);
        else if (p)
            hcmc_log(HCMC_LOG_WARN, "shard %llu: %s", (unsigned long long)id, e.msg);
        MPI_Send(buf, (int)len, MPI_BYTE, 0, TAG_RESULT, MPI_COMM_WORLD);
        free(buf);
        hcmc_shard_result_free(r);
    }
}

static bool mpi_available(void)
{
    return true;
}

/* A failure result for a shard whose rank sent nothing usable. */
static hcmc_shard_result *failed(size_t id, const char *why)
{
    hcmc_shard_result *r = calloc(1, sizeof *r);
    if (r) {
        r->id = id;
        r->status = HCMC_EIO;
        snprintf(r->message, sizeof r->message, "%s", why);
    }
    return r;
}

static int mpi_run(const hcmc_problem *p, const hcmc_shard_plan *plan,
                   const size_t *todo, size_t n_todo, const hcmc_nuts_settings *s,
                   const hcmc_backend_options *o, hcmc_error *err)
{
    int rank, size;
    if (hcmc__mpi_world(&rank, &size))
        return hcmc_error_set(err, HCMC_EIO, "backend mpi: MPI_Init failed");
    if (size < 2) { /* alone: the serial backend's work, in this rank */
        extern const hcmc_backend hcmc__backend_serial;
        return hcmc__backend_serial.run(p, plan, todo, n_todo, s, o, err);
    }
    int rc = HCMC_OK;
    int *task = malloc((size_t)size * sizeof *task); /* shard of each rank, -1 idle */
    if (!task)
        return hcmc_error_set(err, HCMC_ENOMEM, "backend mpi: out of memory");
    size_t next = 0, done = 0, workers = 0;
    /* every rank says whether it has its problem */
    for (int k = 1; k < size; k++) {
        int bad;
        MPI_Status st;
        MPI_Recv(&bad, 1, MPI_INT, MPI_ANY_SOURCE, TAG_READY, MPI_COMM_WORLD, &st);
        task[st.MPI_SOURCE] = -1;
        if (bad) {
            task[st.MPI_SOURCE] = -2; /* never given work */
            hcmc_log(HCMC_LOG_WARN,
                     "rank %d could not read the plan; it gets no shards",
                     st.MPI_SOURCE);
        } else {
            workers++;
        }
    }
    if (!workers) {
        rc = hcmc_error_set(err, HCMC_EIO, "backend mpi: no rank could read the plan");
        goto stop;
    }
    hcmc_log(HCMC_LOG_INFO, "mpi: %zu ranks sample, rank 0 deals", workers);
    char detail[32];
    for (int k = 1; k < size && next < n_todo; k++) {
        if (task[k] != -1)
            continue;
        uint64_t id = todo[next++];
        task[k] = (int)id;
        MPI_Send(&id, 1, MPI_UINT64_T, k, TAG_TASK, MPI_COMM_WORLD);
        snprintf(detail, sizeof detail, "rank %d", k);
        hcmc__event(o, HCMC_EVENT_STARTED, id, detail);
    }
    while (done < n_todo) {
        /* wait for a result, looking at stop requests while waiting */
        MPI_Status st;
        int flag = 0;
        while (!flag) {
            MPI_Iprobe(MPI_ANY_SOURCE, TAG_RESULT, MPI_COMM_WORLD, &flag, &st);
            if (!flag) {
                if (hcmc_stop_requested()) {
                    /* a signal: Ctrl-C, or mpirun ending the job because a
                     * rank died. Say what was running where, then end every
                     * rank; finished shard files stay for a resume. */
                    char line[400] = "";
                    size_t used = 0;
                    for (int k = 1; k < size && used < sizeof line - 40; k++)
                        if (task[k] >= 0)
                            used += (size_t)snprintf(line + used, sizeof line - used,
                                                     "%sshard %d on rank %d",
                                                     used ? ", " : "", task[k], k);
                    hcmc_log(
                        HCMC_LOG_ERROR,
                        "mpi: stopped by a signal; unfinished: %s; finished shards "
                        "are kept: run again to resume",
                        used ? line : "none");
                    MPI_Abort(MPI_COMM_WORLD, 128 + hcmc_stop_signal());
                    rc = hcmc_error_set(err, HCMC_ECANCELED, "stopped on request");
                    goto stop;
                }
                struct timespec ts = {0, 2000000};
                nanosleep(&ts, NULL);
                hcmc__event(o, HCMC_EVENT_TICK, 0, NULL);
            }
        }
        int len;
        MPI_Get_count(&st, MPI_BYTE, &len);
        void *buf = malloc(len > 0 ? (size_t)len : 1);
        if (!buf) {
            rc = hcmc_error_set(err, HCMC_ENOMEM, "backend mpi: out of memory");
            goto stop;
        }
        MPI_Recv(buf, len, MPI_BYTE, st.MPI_SOURCE, TAG_RESULT, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
        int src = st.MPI_SOURCE;
        size_t id = (size_t)task[src];
        hcmc_shard_result *r = NULL;
        hcmc_error e;
        if (len <= 0 || hcmc_shard_result_unpack(buf, (size_t)len, &r, &e)) {
            snprintf(detail, sizeof detail, "rank %d", src);
            r = failed(id, len <= 0 ? "its rank could not run it" : e.msg);
        }
        free(buf);
        task[src] = -1;
        done++;
        if (next < n_todo) {
            uint64_t nid = todo[next++];
            task[src] = (int)nid;
            MPI_Send(&nid, 1, MPI_UINT64_T, src, TAG_TASK, MPI_COMM_WORLD);
            snprintf(detail, sizeof detail, "rank %d", src);
            hcmc__event(o, HCMC_EVENT_STARTED, nid, detail);
        }
        if (!r) {
            rc = hcmc_error_set(err, HCMC_ENOMEM, "backend mpi: out of memory");
            goto stop;
        }
        if ((rc = o->sink(o->user, r)))
            goto stop;
    }
stop:
    /* every rank ends: the idle ones now; busy ones finish their shard
     * first (results left unread are dropped by MPI_Finalize) */
    for (int k = 1; k < size; k++) {
        uint64_t id = STOP;
        if (task[k] >= 0) {
            MPI_Status st;
            int len;
            MPI_Probe(k, TAG_RESULT, MPI_COMM_WORLD, &st);
            MPI_Get_count(&st, MPI_BYTE, &len);
            void *buf = malloc(len > 0 ? (size_t)len : 1);
            MPI_Recv(buf, len, MPI_BYTE, k, TAG_RESULT, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
            free(buf);
        }
        MPI_Send(&id, 1, MPI_UINT64_T, k, TAG_TASK, MPI_COMM_WORLD);
    }
    free(task);
    return rc;
}

const hcmc_backend hcmc__backend_mpi = {.name = "mpi",
                                        .available = mpi_available,
                                        .workers = hcmc__workers_cores,
                                        .run = mpi_run};
