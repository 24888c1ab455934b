/* The process backends, multiprocessing and pool: forked worker processes
 * that run shard tasks and send the results back over pipes.
 *
 * - The points table is copied once into a shared-memory region (created
 *   0600 and unlinked at once, so no name is left behind on any exit path,
 *   SIGKILL included); workers map it read-only and build nothing else per
 *   point: the data is in memory once whatever the worker count.
 * - A free worker takes the next shard in the plan's order (longest first):
 *   dispatch on demand, no fixed assignment.
 * - Workers send a heartbeat at start (ready) and about once a second from
 *   the sampler's progress callback. A worker silent for heartbeat_timeout,
 *   over per_shard_timeout on one shard, or dead (signal, abort, OOM) is
 *   replaced, and its shard is run again with the same seed up to
 *   max_retries times, so the result does not change; after that the shard
 *   is a failed result naming the cause.
 * - A stop request (Ctrl-C, SIGTERM) ends the workers and returns
 *   HCMC_ECANCELED; results already handed to the sink are kept.
 * - Workers ignore SIGINT (the driver decides) and die with the driver
 *   (PR_SET_PDEATHSIG).
 *
 * `pool` is this backend: workers live for the whole run, so no shard pays
 * a start-up cost (a fork, about a millisecond; measured by bench_backends).
 *
 * Test hook: HCMC_TEST_FAULT=KIND:SHARD[:ATTEMPTS] makes the worker running
 * SHARD fail in the middle of its sampling on its first ATTEMPTS attempts
 * (default: every attempt): KIND kill (SIGKILL), crash (abort), exit
 * (exit status 3) or hang (stops without a word). It exists for the test
 * suite; a run without the variable cannot trigger it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../cmc/cmc_internal.h"
#include "common.h"
#include "hcmc/log.h"
#include "hcmc/stop.h"
#include "hcmc/timing.h"

/* OpenBLAS' own switch, when the BLAS in use is OpenBLAS. */
extern void openblas_set_num_threads(int) __attribute__((weak));

enum { MSG_BEAT = 1, MSG_RESULT = 2 };
typedef struct {
    uint32_t type, shard;
    uint64_t len; /* payload bytes after the header */
} msg_head;

typedef struct {
    uint64_t shard;
    uint32_t attempt, quit, chains_parallel;
} task_msg;

/* ---- the points in shared memory ------------------------------------- */

typedef struct {
    void *base;
    size_t size;
    hcmc_points pts; /* arrays inside base */
} shared_points;

static size_t align64(size_t n)
{
    return (n + 63) & ~(size_t)63;
}

static int share_points(const hcmc_points *src, shared_points *sh, hcmc_error *err)
{
    size_t A = src->n_phi, n = src->n;
    size_t o_phi = 0, o_as = align64(o_phi + A * sizeof(double)),
           o_y = align64(o_as + (A + 1) * sizeof(size_t)),
           o_i = align64(o_y + n * sizeof(double)),
           o_j = align64(o_i + n * sizeof(uint16_t)),
           size = align64(o_j + n * sizeof(uint16_t));
    char name[64];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(name, sizeof name, "/hcmc-%ld-%lx", (long)getpid(),
             (unsigned long)ts.tv_nsec);
    int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd < 0)
        return hcmc_error_set(err, HCMC_EIO, "shared memory %s: cannot create: %s",
                              name, strerror(errno));
    shm_unlink(name); /* the mappings keep it; nothing named is left */
    if (ftruncate(fd, (off_t)size)) {
        int e = errno;
        close(fd);
        return hcmc_error_set(err, HCMC_ENOMEM,
                              "shared memory: cannot reserve %zu bytes: %s", size,
                              strerror(e));
    }
    void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (base == MAP_FAILED)
        return hcmc_error_set(err, HCMC_ENOMEM,
                              "shared memory: cannot map %zu bytes: %s", size,
                              strerror(errno));
    unsigned char *b = base;
    hcmc_points *p = &sh->pts;
    *p = (hcmc_points){.n = n,
                       .n_phi = A,
                       .n_t = src->n_t,
                       .phi = (double *)(b + o_phi),
                       .angle_start = (size_t *)(b + o_as),
                       .y = (double *)(b + o_y),
                       .i = (uint16_t *)(b + o_i),
                       .j = (uint16_t *)(b + o_j)};
    memcpy(p->phi, src->phi, A * sizeof(double));
    memcpy(p->angle_start, src->angle_start, (A + 1) * sizeof(size_t));
    memcpy(p->y, src->y, n * sizeof(double));
    memcpy(p->i, src->i, n * sizeof(uint16_t));
    memcpy(p->j, src->j, n * sizeof(uint16_t));
    mprotect(base, size, PROT_READ);
    sh->base = base;
    sh->size = size;
    return HCMC_OK;
}

/* ---- faults for the tests -------------------------------------------- */

typedef struct {
    char kind[8];
    long shard;
    long attempts; /* first attempts affected; <0 all */
} fault;

static void fault_parse(fault *f)
{
    f->shard = -1;
    const char *v = getenv("HCMC_TEST_FAULT");
    if (!v || !*v)
        return;
    long shard = -1, attempts = -1;
    char kind[8] = "";
    int n = sscanf(v, "%7[a-z]:%ld:%ld", kind, &shard, &attempts);
    if (n < 2 || (strcmp(kind, "kill") && strcmp(kind, "crash") &&
                  strcmp(kind, "exit") && strcmp(kind, "hang"))) {
        hcmc_log(HCMC_LOG_WARN, "HCMC_TEST_FAULT='%s' not understood; ignored", v);
        return;
    }
    snprintf(f->kind, sizeof f->kind, "%s", kind);
    f->shard = shard;
    f->attempts = n == 3 ? attempts : -1;
}

static void fault_fire(const fault *f)
{
    if (!strcmp(f->kind, "kill"))
        raise(SIGKILL);
    if (!strcmp(f->kind, "crash"))
        abort();
    if (!strcmp(f->kind, "exit"))
        _exit(3);
    for (;;) /* hang */
        pause();
}

/* ---- the worker ------------------------------------------------------ */

typedef struct {
    const hcmc_problem *p;
    const hcmc_shard_plan *plan;
    const hcmc_nuts_settings *s;
    bool chains_parallel;
    double beat_every;
    fault fault;
    shared_points sh;
    pid_t parent;
} shared_ctx;

typedef struct {
    int fd;
    uint32_t shard;
    bool fault_armed;
    const fault *fault;
    double last;
    pthread_mutex_t lock;
    double every;
} beat_ctx;

static int write_full(int fd, const void *buf, size_t n)
{
    const unsigned char *p = buf;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_full(int fd, void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static void send_beat(beat_ctx *b)
{
    msg_head h = {MSG_BEAT, b->shard, 0};
    /* 16 bytes: one atomic pipe write, whichever chain thread sends it */
    if (write(b->fd, &h, sizeof h) < 0) {
        /* the driver is gone; PR_SET_PDEATHSIG ends this process */
    }
}

static int beat_progress(void *user, size_t chain, size_t iteration)
{
    beat_ctx *b = user;
    if (b->fault_armed && chain == 0 && iteration == 20)
        fault_fire(b->fault);
    if ((iteration & 7) == 0) {
        pthread_mutex_lock(&b->lock);
        double now = hcmc_seconds();
        if (now - b->last >= b->every) {
            b->last = now;
            send_beat(b);
        }
        pthread_mutex_unlock(&b->lock);
    }
    return 0;
}

static void worker_main(const shared_ctx *X, int in, int out)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != X->parent)
        _exit(1);
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    /* one process per core: no library may start threads of its own */
    setenv("OMP_NUM_THREADS", "1", 1);
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    setenv("MKL_NUM_THREADS", "1", 1);
    if (openblas_set_num_threads)
        openblas_set_num_threads(1);
    hcmc_problem *view = hcmc__problem_view(X->p, &X->sh.pts);
    if (!view)
        _exit(2);
    beat_ctx b = {.fd = out, .fault = &X->fault, .every = X->beat_every};
    pthread_mutex_init(&b.lock, NULL);
    send_beat(&b); /* ready */
    task_msg t;
    while (read_full(in, &t, sizeof t) == 0 && !t.quit) {
        b.shard = (uint32_t)t.shard;
        b.last = hcmc_seconds();
        b.fault_armed = X->fault.shard == (long)t.shard &&
                        (X->fault.attempts < 0 || (long)t.attempt < X->fault.attempts);
        send_beat(&b);
        hcmc_nuts_settings s = *X->s;
        s.parallel = t.chains_parallel != 0;
        s.progress = beat_progress;
        s.progress_user = &b;
        hcmc_shard_result *r;
        hcmc_error e;
        void *buf = NULL;
        size_t len = 0;
        if (hcmc_shard_run(view, X->plan, (size_t)t.shard, &s, &r, &e))
            _exit(4); /* no memory for a result: the driver sees the death */
        int rc = hcmc_shard_result_pack(r, &buf, &len, &e);
        hcmc_shard_result_free(r);
        if (rc)
            _exit(4);
        msg_head h = {MSG_RESULT, (uint32_t)t.shard, len};
        if (write_full(out, &h, sizeof h) || write_full(out, buf, len))
            _exit(5);
        free(buf);
    }
    _exit(0);
}

/* ---- the driver ------------------------------------------------------ */

typedef struct {
    pid_t pid; /* 0: empty slot */
    int to, from;
    long shard; /* -1: idle */
    int attempt;
    double t_spawn, t_start, t_beat;
    bool ready;
    unsigned char *rx;
    size_t rx_len, rx_cap;
} worker;

typedef struct {
    shared_ctx X;
    const hcmc_backend_options *o;
    worker *w;
    size_t W;
    size_t *queue, q_head, q_len; /* pending shard ids, retries in front */
    int *attempts;                /* [plan->n_shards] failed attempts */
    size_t n_final, n_todo;
    double ready_max; /* slowest start-up (fork to first message), s */
    size_t n_ready;
} driver;

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static int spawn(driver *D, worker *w, hcmc_error *err)
{
    int a[2], b[2];
    if (pipe2(a, O_CLOEXEC))
        return hcmc_error_set(err, HCMC_EIO, "worker: pipe: %s", strerror(errno));
    if (pipe2(b, O_CLOEXEC)) {
        close(a[0]);
        close(a[1]);
        return hcmc_error_set(err, HCMC_EIO, "worker: pipe: %s", strerror(errno));
    }
    fflush(NULL); /* nothing buffered is written twice */
    double t = hcmc_seconds();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(a[0]);
        close(a[1]);
        close(b[0]);
        close(b[1]);
        return hcmc_error_set(err, HCMC_EIO, "worker: fork: %s", strerror(e));
    }
    if (pid == 0) {
        for (size_t k = 0; k < D->W; k++) /* the other workers' pipes */
            if (D->w[k].pid > 0) {
                close(D->w[k].to);
                close(D->w[k].from);
            }
        close(a[1]);
        close(b[0]);
        worker_main(&D->X, a[0], b[1]);
    }
    close(a[0]);
    close(b[1]);
    fcntl(b[0], F_SETFL, fcntl(b[0], F_GETFL) | O_NONBLOCK);
    *w = (worker){.pid = pid,
                  .to = a[1],
                  .from = b[0],
                  .shard = -1,
                  .t_spawn = t,
                  .t_beat = t,
                  .rx = w->rx,
                  .rx_cap = w->rx_cap};
    return HCMC_OK;
}

/* Ends a worker (SIGKILL when it may still run) and describes how it went. */
static void reap(worker *w, bool kill_it, char *cause, size_t n)
{
    if (kill_it)
        kill(w->pid, SIGKILL);
    close_fd(&w->to);
    close_fd(&w->from);
    int st = 0;
    while (waitpid(w->pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (cause) {
        if (WIFSIGNALED(st))
            snprintf(cause, n, "worker %ld killed by signal %d (%s)", (long)w->pid,
                     WTERMSIG(st), strsignal(WTERMSIG(st)));
        else if (WIFEXITED(st))
            snprintf(cause, n, "worker %ld exited with status %d", (long)w->pid,
                     WEXITSTATUS(st));
        else
            snprintf(cause, n, "worker %ld ended", (long)w->pid);
    }
    w->pid = 0;
    w->rx_len = 0;
}

static int attempt_failed(driver *D, size_t shard, int code, const char *cause,
                          double seconds, hcmc_error *err)
{
    int k = ++D->attempts[shard];
    if (k <= D->o->max_retries) {
        char what[400];
        snprintf(what, sizeof what, "%s; attempt %d of %d", cause, k + 1,
                 D->o->max_retries + 1);
        hcmc__event(D->o, HCMC_EVENT_RETRY, shard, what);
        D->queue[--D->q_head] = shard; /* retries go first */
        D->q_len++;
        return HCMC_OK;
    }
    hcmc_shard_result *r = calloc(1, sizeof *r);
    if (!r)
        return hcmc_error_set(err, HCMC_ENOMEM, "shard %zu: out of memory", shard);
    r->id = shard;
    r->n_points = D->X.plan->start[shard + 1] - D->X.plan->start[shard];
    r->status = code;
    r->seconds = seconds;
    r->rhat_max = NAN;
    r->ess_bulk_min = NAN;
    snprintf(r->message, sizeof r->message, "%s (%d attempt%s)", cause, k,
             k == 1 ? "" : "s");
    D->n_final++;
    return D->o->sink(D->o->user, r);
}

/* Reads what a worker sent; handles complete messages. *dead on EOF. */
static int drain(driver *D, worker *w, bool *dead, hcmc_error *err)
{
    *dead = false;
    for (;;) {
        if (w->rx_cap - w->rx_len < 65536) {
            size_t cap = w->rx_cap ? 2 * w->rx_cap : 1 << 17;
            unsigned char *g = realloc(w->rx, cap);
            if (!g)
                return hcmc_error_set(err, HCMC_ENOMEM, "driver: out of memory");
            w->rx = g;
            w->rx_cap = cap;
        }
        ssize_t r = read(w->from, w->rx + w->rx_len, w->rx_cap - w->rx_len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (r <= 0) {
            *dead = true;
            break;
        }
        w->rx_len += (size_t)r;
    }
    size_t pos = 0;
    double now = hcmc_seconds();
    while (w->rx_len - pos >= sizeof(msg_head)) {
        msg_head h;
        memcpy(&h, w->rx + pos, sizeof h);
        if (h.type == MSG_BEAT) {
            pos += sizeof h;
            w->t_beat = now;
            if (!w->ready) {
                w->ready = true;
                D->n_ready++;
                D->ready_max = fmax(D->ready_max, now - w->t_spawn);
            }
            continue;
        }
        if (h.type != MSG_RESULT || (long)h.shard != w->shard) {
            *dead = true; /* garbage: treat the worker as lost */
            kill(w->pid, SIGKILL);
            break;
        }
        if (w->rx_len - pos - sizeof h < h.len)
            break; /* the rest is on its way */
        hcmc_shard_result *res;
        hcmc_error e;
        int rc = hcmc_shard_result_unpack(w->rx + pos + sizeof h, h.len, &res, &e);
        pos += sizeof h + h.len;
        size_t shard = (size_t)w->shard;
        w->shard = -1;
        if (rc) {
            if ((rc = attempt_failed(D, shard, HCMC_EFORMAT, e.msg, now - w->t_start,
                                     err)))
                return rc;
            continue;
        }
        D->n_final++;
        if ((rc = D->o->sink(D->o->user, res)))
            return rc;
    }
    memmove(w->rx, w->rx + pos, w->rx_len - pos);
    w->rx_len -= pos;
    return HCMC_OK;
}

static bool process_available(void)
{
    return true;
}

static void shutdown_workers(driver *D)
{
    task_msg quit = {0, 0, 1, 0};
    for (size_t k = 0; k < D->W; k++)
        if (D->w[k].pid > 0 && D->w[k].shard < 0 && D->w[k].to >= 0 &&
            write_full(D->w[k].to, &quit, sizeof quit) == 0)
            close_fd(&D->w[k].to);
    for (size_t k = 0; k < D->W; k++)
        if (D->w[k].pid > 0)
            reap(&D->w[k], D->w[k].shard >= 0 || D->w[k].to >= 0, NULL, 0);
}

static int process_run(const hcmc_problem *p, const hcmc_shard_plan *plan,
                       const size_t *todo, size_t n_todo, const hcmc_nuts_settings *s,
                       const hcmc_backend_options *o, hcmc_error *err)
{
    size_t W = o->workers ? o->workers : hcmc_usable_cores();
    if (W > n_todo)
        W = n_todo;
    if (W == 0)
        return HCMC_OK;
    size_t K = plan->n_shards,
           max_retry = o->max_retries > 0 ? (size_t)o->max_retries : 0;
    driver D = {.o = o, .W = W, .n_todo = n_todo};
    D.X = (shared_ctx){.p = p,
                       .plan = plan,
                       .s = s,
                       .chains_parallel = hcmc__chains_parallel(s, W),
                       .parent = getpid()};
    D.X.beat_every =
        o->heartbeat_timeout > 0 ? fmin(1.0, o->heartbeat_timeout / 4) : 1.0;
    fault_parse(&D.X.fault);
    /* retries are pushed in front of the queue: room for all of them */
    size_t room = n_todo * (max_retry + 1);
    D.queue = malloc(room * sizeof *D.queue);
    D.attempts = calloc(K, sizeof *D.attempts);
    D.w = calloc(W, sizeof *D.w);
    struct pollfd *pfd = calloc(W, sizeof *pfd);
    int rc = HCMC_OK;
    if (!D.queue || !D.attempts || !D.w || !pfd) {
        rc = hcmc_error_set(err, HCMC_ENOMEM, "%zu workers: out of memory", W);
        goto out;
    }
    D.q_head = room - n_todo;
    D.q_len = n_todo;
    memcpy(D.queue + D.q_head, todo, n_todo * sizeof *todo);
    for (size_t k = 0; k < W; k++)
        D.w[k].to = D.w[k].from = -1;
    if ((rc = share_points(hcmc_target_points(hcmc_problem_target(p)), &D.X.sh, err)))
        goto out;
    size_t live = 0;
    for (size_t k = 0; k < W; k++)
        if (spawn(&D, &D.w[k], err) == 0)
            live++;
    if (live == 0) {
        rc = err ? err->code : HCMC_EIO;
        goto out;
    }
    hcmc_log(HCMC_LOG_INFO, "%zu worker processes, chains %s", live,
             D.X.chains_parallel
                 ? "on threads"
                 : "one after another (on threads for the last shards)");
    /* the start-up measured is fork to first message: the worker's whole
     * preparation, since it inherits the problem */
    double last_tick = hcmc_seconds();
    bool ready_logged = false;
    while (D.n_final < n_todo) {
        if (hcmc_stop_requested()) {
            rc = hcmc_error_set(err, HCMC_ECANCELED, "stopped by %s",
                                hcmc_stop_signal() ? strsignal(hcmc_stop_signal())
                                                   : "request");
            break;
        }
        /* hand out work; replace lost workers while there is work */
        for (size_t k = 0; k < W && !rc; k++) {
            worker *w = &D.w[k];
            if (w->pid == 0 && D.q_len > 0 && spawn(&D, w, err) != 0) {
                hcmc_log(HCMC_LOG_WARN, "%s", err ? err->msg : "cannot start a worker");
                continue;
            }
            if (w->pid == 0 || w->shard >= 0 || D.q_len == 0)
                continue;
            size_t id = D.queue[D.q_head++];
            D.q_len--;
            /* chains on threads while cores would idle otherwise: fewer
             * workers than cores, or the last shards, whose chains then
             * fill the cores that finished workers leave */
            bool par = s->parallel && (D.X.chains_parallel || D.q_len < W);
            task_msg t = {id, (uint32_t)D.attempts[id], 0, par};
            w->shard = (long)id;
            w->attempt = D.attempts[id];
            w->t_start = w->t_beat = hcmc_seconds();
            char who[48];
            snprintf(who, sizeof who, "worker %ld", (long)w->pid);
            hcmc__event(o, HCMC_EVENT_STARTED, id, who);
            if (write_full(w->to, &t, sizeof t))
                close_fd(&w->to); /* dead: its pipe's end tells the rest */
        }
        size_t np = 0;
        for (size_t k = 0; k < W; k++)
            if (D.w[k].pid > 0)
                pfd[np++] = (struct pollfd){.fd = D.w[k].from, .events = POLLIN};
        if (np == 0) {
            rc = hcmc_error_set(err, HCMC_EIO, "no worker process could be started");
            break;
        }
        int n = poll(pfd, np, 250);
        if (n < 0 && errno != EINTR) {
            rc = hcmc_error_set(err, HCMC_EIO, "driver: poll: %s", strerror(errno));
            break;
        }
        double now = hcmc_seconds();
        for (size_t k = 0; k < W && !rc; k++) {
            worker *w = &D.w[k];
            if (w->pid == 0)
                continue;
            bool dead = false;
            rc = drain(&D, w, &dead, err);
            char cause[300] = "";
            int code = HCMC_EIO;
            if (!rc && !dead && w->shard >= 0) {
                if (o->per_shard_timeout > 0 &&
                    now - w->t_start > o->per_shard_timeout) {
                    snprintf(cause, sizeof cause,
                             "timed out: over per_shard_timeout = %g s",
                             o->per_shard_timeout);
                    code = HCMC_ECANCELED;
                } else if (o->heartbeat_timeout > 0 &&
                           now - w->t_beat > o->heartbeat_timeout) {
                    snprintf(cause, sizeof cause,
                             "worker silent for %.0f s (heartbeat_timeout = %g s)",
                             now - w->t_beat, o->heartbeat_timeout);
                    code = HCMC_ECANCELED;
                }
            }
            if (rc || (!dead && !cause[0]))
                continue;
            long shard = w->shard;
            char how[200];
            reap(w, true, how, sizeof how);
            if (!cause[0])
                snprintf(cause, sizeof cause, "%s", how);
            if (shard >= 0)
                rc = attempt_failed(&D, (size_t)shard, code, cause, now - w->t_start,
                                    err);
            else if (!hcmc_stop_requested())
                hcmc_log(HCMC_LOG_WARN, "%s while idle; replaced", how);
        }
        if (rc)
            break;
        if (!ready_logged && D.n_ready >= live) {
            ready_logged = true;
            hcmc_log(HCMC_LOG_INFO, "%zu worker processes ready %.1f ms after fork",
                     live, 1e3 * D.ready_max);
        }
        if (now - last_tick >= 1) {
            last_tick = now;
            hcmc__event(o, HCMC_EVENT_TICK, 0, NULL);
        }
    }
out:
    if (D.w) {
        shutdown_workers(&D);
        for (size_t k = 0; k < W; k++)
            free(D.w[k].rx);
    }
    if (D.X.sh.base)
        munmap(D.X.sh.base, D.X.sh.size);
    free(D.queue);
    free(D.attempts);
    free(D.w);
    free(pfd);
    return rc;
}

const hcmc_backend hcmc__backend_multiprocessing = {"multiprocessing",
                                                    process_available, process_run};
const hcmc_backend hcmc__backend_pool = {"pool", process_available, process_run};
