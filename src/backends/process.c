/* The process backends, multiprocessing and pool, and the worker pool
 * behind them: worker processes that run shard tasks and send the results
 * back over pipes.
 *
 * - Workers are forked once per pool and live until the pool is freed: a
 *   run only hands them its problem, so no shard and no later run pays a
 *   start-up cost. The multiprocessing backend makes a pool for one run;
 *   a library user keeps one across runs (hcmc_pool_new, hcmc_run_options).
 * - A run puts the points table and the shard plan into one shared-memory
 *   region (created 0600 and unlinked at once, so no name is left behind on
 *   any exit path, SIGKILL included) and passes its descriptor to every
 *   worker over a socket, with the problem's small parts (target settings,
 *   warm start, sampler settings). Workers map it read-only: the data is in
 *   memory once whatever the worker count.
 * - A free worker takes the next shard in the plan's order (longest
 *   first): dispatch on demand, no fixed assignment.
 * - Workers send a heartbeat when they start and about once a second from
 *   the sampler's progress callback. A worker silent for heartbeat_timeout,
 *   over per_shard_timeout on one shard, or dead (signal, abort, OOM) is
 *   replaced, and its shard is run again with the same seed up to
 *   max_retries times, so the result does not change; after that the shard
 *   is a failed result naming the cause.
 * - A stop request (Ctrl-C, SIGTERM) ends the busy workers and returns
 *   HCMC_ECANCELED; results already handed to the sink are kept.
 * - Workers ignore SIGINT (the driver decides), hold BLAS and OpenMP to one
 *   thread, and die with the thread that made the pool (PR_SET_PDEATHSIG).
 *
 * Test hook: HCMC_TEST_FAULT=KIND:SHARD[:ATTEMPTS] makes the worker running
 * SHARD (* for every shard) fail in the middle of its sampling on its
 * first ATTEMPTS attempts (default: every attempt): KIND kill (SIGKILL),
 * crash (abort), exit (exit status 3) or hang (stops without a word). It
 * exists for the test suite; a run without the variable cannot trigger it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../cmc/cmc_internal.h"
#include "common.h"
#include "hcmc/log.h"
#include "hcmc/stop.h"
#include "hcmc/timing.h"
#include "../base/blas.h"

/* worker -> driver, over a pipe: heartbeats and results */
enum { MSG_BEAT = 1, MSG_RESULT = 2 };
typedef struct {
    uint32_t type, shard;
    uint64_t len; /* payload bytes after the header */
} msg_head;

/* driver -> worker, over a socket (a LOAD carries a descriptor) */
enum { CMD_LOAD = 1, CMD_TASK = 2, CMD_RELEASE = 3, CMD_QUIT = 4 };
typedef struct {
    uint32_t type, pad;
    uint64_t shard;
    uint32_t attempt;
    uint32_t chain_first, chain_count; /* the chains of the shard to run */
    uint64_t len;                      /* LOAD: payload bytes after the header */
} cmd_head;

/* The LOAD payload: this, then the fixed scaling values [2 n_phi] when
 * has_fixed, z0 [dim], cov0 [dim * dim]. Offsets are into the region. */
typedef struct {
    hcmc_target_spec spec; /* pointers are rebuilt on arrival */
    hcmc_nuts_settings s;  /* progress is the worker's own */
    uint64_t dim, n, n_phi, n_t, K, has_fixed;
    uint64_t size, o_phi, o_as, o_y, o_i, o_j, o_start, o_idx;
    double beat_every;
} load_msg;

static size_t align64(size_t n)
{
    return (n + 63) & ~(size_t)63;
}

/* All of buf to fd. The driver writes to its workers' sockets with
 * sock set (MSG_NOSIGNAL): a channel to a worker that has died reports
 * EPIPE instead of raising SIGPIPE in the driver, a library user's
 * process. A worker's pipe back keeps SIGPIPE, which ends a worker whose
 * driver is gone. */
static int write_all(int fd, const void *buf, size_t n, bool sock)
{
    const unsigned char *p = buf;
    while (n) {
        ssize_t w = sock ? send(fd, p, n, MSG_NOSIGNAL) : write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int write_full(int fd, const void *buf, size_t n)
{
    return write_all(fd, buf, n, false);
}

/* To a worker's socket. */
static int send_full(int fd, const void *buf, size_t n)
{
    return write_all(fd, buf, n, true);
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
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
    char kind[8] = "", which[24] = "";
    int n = sscanf(v, "%7[a-z]:%23[0-9*]:%ld", kind, which, &attempts);
    if (n >= 2)
        shard = !strcmp(which, "*") ? LONG_MAX : strtol(which, NULL, 10);
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
    int fd;
    uint32_t shard;
    bool fault_armed;
    const fault *fault;
    double last;
    pthread_mutex_t lock;
    double every;
} beat_ctx;

/* A heartbeat carries the worker's clock (monotonic, ns): the first one
 * tells the driver how long the worker took to start. */
static void send_beat(beat_ctx *b)
{
    msg_head h = {MSG_BEAT, b->shard, (uint64_t)(hcmc_seconds() * 1e9)};
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

/* What a worker holds of the current run. */
typedef struct {
    void *base;
    size_t size;
    hcmc_points pts;
    hcmc_shard_plan plan;
    hcmc_problem *prob;
    hcmc_nuts_settings s;
} loaded;

static void unload(loaded *L)
{
    hcmc_problem_free(L->prob);
    if (L->base)
        munmap(L->base, L->size);
    memset(L, 0, sizeof *L);
}

/* read_full over a socket that may pass a descriptor: *fd receives one
 * that arrives with these bytes (it is left alone otherwise). */
static int recv_full(int sock, void *buf, size_t n, int *fd)
{
    unsigned char *p = buf;
    while (n) {
        char ctl[CMSG_SPACE(sizeof(int))];
        struct iovec iov = {p, n};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = ctl,
                            .msg_controllen = sizeof ctl};
        ssize_t r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
            if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
                if (*fd >= 0)
                    close(*fd);
                memcpy(fd, CMSG_DATA(cm), sizeof *fd);
            }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Takes a LOAD's payload and the region's descriptor *fd (closed here);
 * 0 when the run's problem is ready. */
static int load(int in, const cmd_head *c, int *fd, loaded *L, double *beat_every)
{
    unload(L);
    load_msg m;
    unsigned char *buf = c->len >= sizeof m ? malloc(c->len) : NULL;
    int rc = !buf || recv_full(in, buf, c->len, fd) || *fd < 0;
    if (!rc) {
        memcpy(&m, buf, sizeof m);
        size_t need = sizeof m + (m.has_fixed ? 2 * m.n_phi : 0) * sizeof(double) +
                      (m.dim + m.dim * m.dim) * sizeof(double);
        rc = need != c->len;
    }
    if (!rc) {
        L->base = mmap(NULL, m.size, PROT_READ, MAP_SHARED, *fd, 0);
        rc = L->base == MAP_FAILED;
        if (rc)
            L->base = NULL;
    }
    close_fd(fd);
    if (!rc) {
        unsigned char *b = L->base;
        L->size = m.size;
        L->pts = (hcmc_points){.n = m.n,
                               .n_phi = m.n_phi,
                               .n_t = m.n_t,
                               .phi = (double *)(b + m.o_phi),
                               .angle_start = (size_t *)(b + m.o_as),
                               .y = (double *)(b + m.o_y),
                               .i = (uint16_t *)(b + m.o_i),
                               .j = (uint16_t *)(b + m.o_j)};
        L->plan = (hcmc_shard_plan){.n_shards = m.K,
                                    .start = (size_t *)(b + m.o_start),
                                    .idx = (size_t *)(b + m.o_idx)};
        const double *v = (const double *)(buf + sizeof m);
        m.spec.fixed_contrast = m.has_fixed ? v : NULL;
        m.spec.fixed_offset = m.has_fixed ? v + m.n_phi : NULL;
        v += m.has_fixed ? 2 * m.n_phi : 0;
        hcmc_error e;
        rc = hcmc__problem_from_parts(&m.spec, &L->pts, m.dim, v, v + m.dim, false,
                                      &L->prob, &e);
        L->s = m.s;
        *beat_every = m.beat_every;
    }
    free(buf);
    return rc;
}

static void worker_main(int in, int out)
{
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    /* one process per core: no library may start threads of its own */
    setenv("OMP_NUM_THREADS", "1", 1);
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    setenv("MKL_NUM_THREADS", "1", 1);
    hcmc__blas_one_thread();
    fault f;
    fault_parse(&f);
    loaded L = {0};
    beat_ctx b = {.fd = out, .fault = &f, .every = 1};
    pthread_mutex_init(&b.lock, NULL);
    send_beat(&b); /* ready */
    cmd_head c;
    int fd = -1;
    while (recv_full(in, &c, sizeof c, &fd) == 0 && c.type != CMD_QUIT) {
        if (c.type == CMD_LOAD) {
            if (load(in, &c, &fd, &L, &b.every))
                _exit(6); /* the driver sees the death */
            continue;
        }
        if (c.type == CMD_RELEASE) {
            unload(&L);
            continue;
        }
        if (c.type != CMD_TASK || !L.prob)
            _exit(7);
        b.shard = (uint32_t)c.shard;
        b.last = hcmc_seconds();
        b.fault_armed = (f.shard == (long)c.shard || f.shard == LONG_MAX) &&
                        (f.attempts < 0 || (long)c.attempt < f.attempts);
        send_beat(&b);
        hcmc_nuts_settings s = L.s;
        s.parallel = c.chain_count > 1;
        s.chain_first = c.chain_first;
        s.chain_count = c.chain_count;
        s.progress = beat_progress;
        s.progress_user = &b;
        hcmc_shard_result *r;
        hcmc_error e;
        void *buf = NULL;
        size_t len = 0;
        if (hcmc_shard_run(L.prob, &L.plan, (size_t)c.shard, &s, &r, &e))
            _exit(4); /* no memory for a result: the driver sees the death */
        if (r->nuts)
            hcmc_log(HCMC_LOG_DEBUG, "shard %u, chain %u: %.2f s (warmup %.2f s)",
                     (unsigned)c.shard, c.chain_first, r->seconds,
                     r->nuts->warmup_seconds);
        int rc = hcmc_shard_result_pack(r, &buf, &len, &e);
        hcmc_shard_result_free(r);
        if (rc)
            _exit(4);
        msg_head h = {MSG_RESULT, (uint32_t)c.shard, len};
        if (write_full(out, &h, sizeof h) || write_full(out, buf, len))
            _exit(5);
        free(buf);
    }
    _exit(0);
}

/* ---- the pool -------------------------------------------------------- */

typedef struct {
    pid_t pid;    /* 0: empty slot */
    int to, from; /* a socket to the worker, a pipe from it */
    long task;    /* -1: idle */
    double t_spawn, t_start, t_beat;
    bool ready;
    unsigned char *rx;
    size_t rx_len, rx_cap;
} worker;

struct hcmc_pool {
    size_t W, started, n_ready, n_logged;
    worker *w;
    double ready_max; /* slowest start-up (fork to first message), s */
    /* the current run's problem, also for workers started during it */
    int region_fd;
    void *region;
    size_t region_size;
    unsigned char *load;
    size_t load_len;
};

size_t hcmc_pool_size(const hcmc_pool *pool)
{
    return pool->W;
}

size_t hcmc_pool_started(const hcmc_pool *pool)
{
    return pool->started;
}

/* Hands the current run's problem to w: the payload and the region's
 * descriptor in one message. A failure shows as the worker's death. */
static void send_load(hcmc_pool *P, worker *w)
{
    cmd_head c = {.type = CMD_LOAD, .len = P->load_len};
    struct iovec iov[2] = {{&c, sizeof c}, {P->load, P->load_len}};
    char ctl[CMSG_SPACE(sizeof(int))];
    memset(ctl, 0, sizeof ctl);
    struct msghdr mh = {.msg_iov = iov,
                        .msg_iovlen = 2,
                        .msg_control = ctl,
                        .msg_controllen = sizeof ctl};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &P->region_fd, sizeof(int));
    size_t total = sizeof c + P->load_len;
    ssize_t n;
    while ((n = sendmsg(w->to, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR)
        ;
    if (n >= 0 && (size_t)n < total) { /* the rest without the descriptor */
        const unsigned char *rest = P->load + ((size_t)n - sizeof c);
        if ((size_t)n < sizeof c || send_full(w->to, rest, total - (size_t)n) != 0)
            n = -1;
    }
    if (n < 0)
        close_fd(&w->to);
}

static int spawn(hcmc_pool *P, worker *w, hcmc_error *err)
{
    int a[2], b[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a))
        return hcmc_error_set(err, HCMC_EIO, "worker: socketpair: %s", strerror(errno));
    if (pipe2(b, O_CLOEXEC)) {
        close(a[0]);
        close(a[1]);
        return hcmc_error_set(err, HCMC_EIO, "worker: pipe: %s", strerror(errno));
    }
    fflush(NULL); /* nothing buffered is written twice */
    pid_t parent = getpid();
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
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        for (size_t k = 0; k < P->W; k++) /* the other workers' channels */
            if (P->w[k].pid > 0) {
                close(P->w[k].to);
                close(P->w[k].from);
            }
        if (P->region_fd >= 0)
            close(P->region_fd);
        close(a[0]);
        close(b[0]);
        worker_main(a[1], b[1]);
    }
    close(a[1]);
    close(b[1]);
    fcntl(b[0], F_SETFL, fcntl(b[0], F_GETFL) | O_NONBLOCK);
    *w = (worker){.pid = pid,
                  .to = a[0],
                  .from = b[0],
                  .task = -1,
                  .t_spawn = t,
                  .t_beat = t,
                  .rx = w->rx,
                  .rx_cap = w->rx_cap};
    P->started++;
    if (P->load)
        send_load(P, w);
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
    w->task = -1;
    w->ready = false;
    w->rx_len = 0;
}

int hcmc_pool_new(size_t workers, hcmc_pool **out, hcmc_error *err)
{
    *out = NULL;
    hcmc_pool *P = calloc(1, sizeof *P);
    size_t W = workers ? workers : hcmc_usable_cores();
    if (!P || !(P->w = calloc(W, sizeof *P->w))) {
        free(P);
        return hcmc_error_set(err, HCMC_ENOMEM, "pool of %zu workers: out of memory",
                              W);
    }
    P->W = W;
    P->region_fd = -1;
    for (size_t k = 0; k < W; k++)
        P->w[k].to = P->w[k].from = -1;
    size_t live = 0;
    hcmc_error e;
    for (size_t k = 0; k < W; k++)
        live += spawn(P, &P->w[k], &e) == 0;
    if (live == 0) {
        hcmc_pool_free(P);
        return hcmc_error_set(err, HCMC_EIO, "no worker process could be started: %s",
                              e.msg);
    }
    if (live < W)
        hcmc_log(HCMC_LOG_WARN, "started %zu of %zu worker processes: %s", live, W,
                 e.msg);
    *out = P;
    return HCMC_OK;
}

void hcmc_pool_free(hcmc_pool *P)
{
    if (!P)
        return;
    cmd_head quit = {.type = CMD_QUIT};
    for (size_t k = 0; k < P->W; k++) {
        worker *w = &P->w[k];
        if (w->pid > 0 && w->task < 0 && w->to >= 0 &&
            send_full(w->to, &quit, sizeof quit) == 0)
            close_fd(&w->to); /* it ends by itself */
    }
    for (size_t k = 0; k < P->W; k++) {
        if (P->w[k].pid > 0)
            reap(&P->w[k], P->w[k].to >= 0, NULL, 0);
        free(P->w[k].rx);
    }
    free(P->w);
    free(P);
}

/* ---- one run on the pool --------------------------------------------- */

/* The points table and the plan in a new shared-memory region, and the
 * LOAD payload describing it. */
static int make_load(hcmc_pool *P, const hcmc_problem *p, const hcmc_shard_plan *plan,
                     const hcmc_nuts_settings *s, const hcmc_backend_options *o,
                     hcmc_error *err)
{
    const hcmc_points *src = hcmc_target_points(hcmc_problem_target(p));
    size_t A = src->n_phi, n = src->n, K = plan->n_shards, d = hcmc_problem_dim(p);
    load_msg m = {.spec = *hcmc__problem_spec(p),
                  .s = *s,
                  .dim = d,
                  .n = n,
                  .n_phi = A,
                  .n_t = src->n_t,
                  .K = K};
    m.has_fixed = m.spec.fixed_contrast && m.spec.fixed_offset;
    m.spec.fixed_contrast = m.spec.fixed_offset = NULL;
    m.s.progress = NULL;
    m.s.progress_user = NULL;
    m.beat_every = o->heartbeat_timeout > 0 ? fmin(1.0, o->heartbeat_timeout / 4) : 1.0;
    m.o_phi = 0;
    m.o_as = align64(m.o_phi + A * sizeof(double));
    m.o_y = align64(m.o_as + (A + 1) * sizeof(size_t));
    m.o_i = align64(m.o_y + n * sizeof(double));
    m.o_j = align64(m.o_i + n * sizeof(uint16_t));
    m.o_start = align64(m.o_j + n * sizeof(uint16_t));
    m.o_idx = align64(m.o_start + (K + 1) * sizeof(size_t));
    m.size = align64(m.o_idx + n * sizeof(size_t));
    char name[64];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(name, sizeof name, "/hcmc-%ld-%lx", (long)getpid(),
             (unsigned long)ts.tv_nsec);
    int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0)
        return hcmc_error_set(err, HCMC_EIO, "shared memory %s: cannot create: %s",
                              name, strerror(errno));
    shm_unlink(name); /* the descriptor and mappings keep it; no name is left */
    void *base = MAP_FAILED;
    if (ftruncate(fd, (off_t)m.size) == 0)
        base = mmap(NULL, m.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        int e = errno;
        close(fd);
        return hcmc_error_set(err, HCMC_ENOMEM,
                              "shared memory: cannot have %zu bytes: %s",
                              (size_t)m.size, strerror(e));
    }
    unsigned char *b = base;
    memcpy(b + m.o_phi, src->phi, A * sizeof(double));
    memcpy(b + m.o_as, src->angle_start, (A + 1) * sizeof(size_t));
    memcpy(b + m.o_y, src->y, n * sizeof(double));
    memcpy(b + m.o_i, src->i, n * sizeof(uint16_t));
    memcpy(b + m.o_j, src->j, n * sizeof(uint16_t));
    memcpy(b + m.o_start, plan->start, (K + 1) * sizeof(size_t));
    memcpy(b + m.o_idx, plan->idx, n * sizeof(size_t));
    mprotect(base, m.size, PROT_READ);
    size_t nf = m.has_fixed ? 2 * A : 0;
    P->load_len = sizeof m + (nf + d + d * d) * sizeof(double);
    if (!(P->load = malloc(P->load_len))) {
        munmap(base, m.size);
        close(fd);
        return hcmc_error_set(err, HCMC_ENOMEM, "pool: out of memory");
    }
    double *v = (double *)(P->load + sizeof m);
    memcpy(P->load, &m, sizeof m);
    const hcmc_target_spec *sp = hcmc__problem_spec(p);
    if (nf) {
        memcpy(v, sp->fixed_contrast, A * sizeof(double));
        memcpy(v + A, sp->fixed_offset, A * sizeof(double));
    }
    const double *cov0, *z0 = hcmc__problem_start(p, &cov0);
    memcpy(v + nf, z0, d * sizeof(double));
    memcpy(v + nf + d, cov0, d * d * sizeof(double));
    P->region_fd = fd;
    P->region = base;
    P->region_size = m.size;
    return HCMC_OK;
}

static void drop_load(hcmc_pool *P)
{
    if (P->region)
        munmap(P->region, P->region_size);
    close_fd(&P->region_fd);
    free(P->load);
    P->region = NULL;
    P->load = NULL;
}

/* A run is cut into tasks of one chain each: chain c of the i-th shard to
 * do is task i * C + c. Chains are independent (their own streams and
 * adaptation), so a shard's chains can run on different workers at once
 * and be put together into the bytes of one run of all of them; work is
 * shared out C times finer than shards, and at the end of a run a core
 * idles for one chain at most. */
typedef struct {
    hcmc_pool *P;
    const hcmc_shard_plan *plan;
    const size_t *todo;
    const hcmc_backend_options *o;
    size_t C;                     /* chains per shard */
    size_t *queue, q_head, q_len; /* pending tasks, retries in front */
    int *attempts;                /* [tasks] failed attempts */
    hcmc_shard_result **parts;    /* [tasks] finished chains */
    size_t *n_parts;              /* [n_todo] chains finished per shard */
    bool *started, *final;        /* [n_todo] */
    size_t n_final, idle_deaths;
} driver;

static size_t task_shard(const driver *D, size_t t)
{
    return D->todo[t / D->C];
}

/* Hands a finished shard to the sink, once. */
static int finish_shard(driver *D, size_t i, hcmc_shard_result *r)
{
    D->final[i] = true;
    D->n_final++;
    for (size_t c = 0; c < D->C; c++) { /* chains no longer wanted */
        hcmc_shard_result_free(D->parts[i * D->C + c]);
        D->parts[i * D->C + c] = NULL;
    }
    return D->o->sink(D->o->user, r);
}

/* A chain finished: keep it; a complete shard is put together and sunk. */
static int chain_done(driver *D, size_t t, hcmc_shard_result *res, hcmc_error *err)
{
    size_t i = t / D->C;
    if (D->final[i]) { /* its shard has failed already */
        hcmc_shard_result_free(res);
        return HCMC_OK;
    }
    if (res->status) /* a failed chain fails its shard */
        return finish_shard(D, i, res);
    D->parts[t] = res;
    if (++D->n_parts[i] < D->C)
        return HCMC_OK;
    hcmc_shard_result *merged;
    int rc = hcmc_shard_result_merge(D->parts + i * D->C, D->C, &merged, err);
    if (rc)
        return rc;
    for (size_t c = 0; c < D->C; c++)
        D->parts[i * D->C + c] = NULL; /* taken by the merge */
    return finish_shard(D, i, merged);
}

static int attempt_failed(driver *D, size_t t, int code, const char *cause,
                          double seconds, hcmc_error *err)
{
    size_t i = t / D->C, shard = task_shard(D, t), chain = t % D->C;
    if (D->final[i])
        return HCMC_OK;
    int k = ++D->attempts[t];
    if (k <= D->o->max_retries) {
        char what[400];
        snprintf(what, sizeof what, "%s, chain %zu; attempt %d of %d", cause, chain,
                 k + 1, D->o->max_retries + 1);
        hcmc__event(D->o, HCMC_EVENT_RETRY, shard, what);
        D->queue[--D->q_head] = t; /* retries go first */
        D->q_len++;
        return HCMC_OK;
    }
    hcmc_shard_result *r = calloc(1, sizeof *r);
    if (!r)
        return hcmc_error_set(err, HCMC_ENOMEM, "shard %zu: out of memory", shard);
    r->id = shard;
    r->n_points = D->plan->start[shard + 1] - D->plan->start[shard];
    r->status = code;
    r->seconds = seconds;
    r->rhat_max = NAN;
    r->ess_bulk_min = NAN;
    snprintf(r->message, sizeof r->message, "%s, chain %zu (%d attempt%s)", cause,
             chain, k, k == 1 ? "" : "s");
    return finish_shard(D, i, r);
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
                D->P->n_ready++;
                D->P->ready_max =
                    fmax(D->P->ready_max, 1e-9 * (double)h.len - w->t_spawn);
            }
            continue;
        }
        if (h.type != MSG_RESULT || w->task < 0 ||
            h.shard != task_shard(D, (size_t)w->task)) {
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
        size_t t = (size_t)w->task;
        w->task = -1;
        rc = rc ? attempt_failed(D, t, HCMC_EFORMAT, e.msg, now - w->t_start, err)
                : chain_done(D, t, res, err);
        if (rc)
            return rc;
    }
    memmove(w->rx, w->rx + pos, w->rx_len - pos);
    w->rx_len -= pos;
    return HCMC_OK;
}

/* The checks on one worker after a wait: messages, death, time limits. */
static int watch(driver *D, worker *w, double now, hcmc_error *err)
{
    const hcmc_backend_options *o = D->o;
    bool dead = false;
    int rc = drain(D, w, &dead, err);
    if (rc)
        return rc;
    char cause[300] = "";
    int code = HCMC_EIO;
    if (!dead && w->task >= 0) {
        if (o->per_shard_timeout > 0 && now - w->t_start > o->per_shard_timeout) {
            snprintf(cause, sizeof cause, "timed out: over per_shard_timeout = %g s",
                     o->per_shard_timeout);
            code = HCMC_ECANCELED;
        } else if (o->heartbeat_timeout > 0 && now - w->t_beat > o->heartbeat_timeout) {
            snprintf(cause, sizeof cause,
                     "worker silent for %.0f s (heartbeat_timeout = %g s)",
                     now - w->t_beat, o->heartbeat_timeout);
            code = HCMC_ECANCELED;
        }
    }
    if (!dead && !cause[0])
        return HCMC_OK;
    long t = w->task;
    char how[200];
    reap(w, true, how, sizeof how);
    if (!cause[0])
        snprintf(cause, sizeof cause, "%s", how);
    if (t >= 0)
        return attempt_failed(D, (size_t)t, code, cause, now - w->t_start, err);
    if (hcmc_stop_requested())
        return HCMC_OK;
    /* a worker that dies with no task, again and again, cannot take the
     * problem: stop rather than fork forever */
    if (++D->idle_deaths > 2 * D->P->W + 2)
        return hcmc_error_set(err, HCMC_EIO,
                              "worker processes keep dying before any shard (last: %s)",
                              how);
    hcmc_log(HCMC_LOG_WARN, "%s while idle; replaced", how);
    return HCMC_OK;
}

/* Gives w the next task whose shard is still wanted. */
static void dispatch(driver *D, worker *w)
{
    while (D->q_len > 0) {
        size_t t = D->queue[D->q_head++];
        D->q_len--;
        size_t i = t / D->C, shard = D->todo[i];
        if (D->final[i])
            continue;
        cmd_head c = {.type = CMD_TASK,
                      .shard = shard,
                      .attempt = (uint32_t)D->attempts[t],
                      .chain_first = (uint32_t)(t % D->C),
                      .chain_count = 1};
        w->task = (long)t;
        w->t_start = w->t_beat = hcmc_seconds();
        if (!D->started[i]) {
            D->started[i] = true;
            char who[48];
            snprintf(who, sizeof who, "worker %ld", (long)w->pid);
            hcmc__event(D->o, HCMC_EVENT_STARTED, shard, who);
        }
        if (send_full(w->to, &c, sizeof c))
            close_fd(&w->to); /* dead: the end of its pipe tells the rest */
        return;
    }
}

int hcmc_pool_run(hcmc_pool *P, const hcmc_problem *p, const hcmc_shard_plan *plan,
                  const size_t *todo, size_t n_todo, const hcmc_nuts_settings *s,
                  const hcmc_backend_options *o, hcmc_error *err)
{
    if (n_todo == 0)
        return HCMC_OK;
    size_t W = P->W, C = s->num_chains, T = n_todo * C;
    size_t max_retry = o->max_retries > 0 ? (size_t)o->max_retries : 0;
    driver D = {.P = P, .plan = plan, .todo = todo, .o = o, .C = C};
    /* retries are pushed in front of the queue: room for all of them */
    size_t room = T * (max_retry + 1);
    D.queue = malloc(room * sizeof *D.queue);
    D.attempts = calloc(T, sizeof *D.attempts);
    D.parts = calloc(T, sizeof *D.parts);
    D.n_parts = calloc(n_todo, sizeof *D.n_parts);
    D.started = calloc(n_todo, sizeof *D.started);
    D.final = calloc(n_todo, sizeof *D.final);
    struct pollfd *pfd = calloc(W, sizeof *pfd);
    int rc = HCMC_OK;
    if (!D.queue || !D.attempts || !D.parts || !D.n_parts || !D.started || !D.final ||
        !pfd) {
        rc = hcmc_error_set(err, HCMC_ENOMEM, "%zu workers: out of memory", W);
        goto out;
    }
    D.q_head = room - T;
    D.q_len = T;
    for (size_t t = 0; t < T; t++)
        D.queue[D.q_head + t] = t;
    if ((rc = make_load(P, p, plan, s, o, err)))
        goto out;
    size_t live = 0;
    for (size_t k = 0; k < W; k++) {
        worker *w = &P->w[k];
        int st;
        if (w->pid > 0 && waitpid(w->pid, &st, WNOHANG) == w->pid) {
            w->pid = 0; /* ended between runs */
            close_fd(&w->to);
            close_fd(&w->from);
            w->rx_len = 0;
        }
        if (w->pid > 0)
            send_load(P, w);
        else
            spawn(P, w, err);
        live += w->pid > 0;
    }
    if (live == 0) {
        rc = hcmc_error_set(err, HCMC_EIO, "no worker process could be started");
        goto out;
    }
    hcmc_log(HCMC_LOG_INFO, "%zu worker processes for %zu chains of %zu shards", live,
             T, n_todo);
    double last_tick = hcmc_seconds();
    while (D.n_final < n_todo) {
        if (hcmc_stop_requested()) {
            rc = hcmc_error_set(err, HCMC_ECANCELED, "stopped by %s",
                                hcmc_stop_signal() ? strsignal(hcmc_stop_signal())
                                                   : "request");
            break;
        }
        /* hand out work; replace lost workers while there is work */
        for (size_t k = 0; k < W; k++) {
            worker *w = &P->w[k];
            if (w->pid == 0 && D.q_len > 0 && spawn(P, w, err) != 0) {
                hcmc_log(HCMC_LOG_WARN, "%s", err ? err->msg : "cannot start a worker");
                continue;
            }
            if (w->pid > 0 && w->task < 0 && w->to >= 0)
                dispatch(&D, w);
        }
        size_t np = 0;
        for (size_t k = 0; k < W; k++)
            if (P->w[k].pid > 0)
                pfd[np++] = (struct pollfd){.fd = P->w[k].from, .events = POLLIN};
        if (np == 0) {
            rc = hcmc_error_set(err, HCMC_EIO, "no worker process could be started");
            break;
        }
        if (poll(pfd, np, 250) < 0 && errno != EINTR) {
            rc = hcmc_error_set(err, HCMC_EIO, "driver: poll: %s", strerror(errno));
            break;
        }
        double now = hcmc_seconds();
        for (size_t k = 0; k < W && !rc; k++)
            if (P->w[k].pid > 0)
                rc = watch(&D, &P->w[k], now, err);
        if (rc)
            break;
        if (P->n_ready > P->n_logged && P->n_ready >= P->started) {
            P->n_logged = P->n_ready;
            hcmc_log(HCMC_LOG_INFO,
                     "%zu worker processes started, ready %.1f ms after fork",
                     P->started, 1e3 * P->ready_max);
        }
        if (now - last_tick >= 1) {
            last_tick = now;
            hcmc__event(o, HCMC_EVENT_TICK, 0, NULL);
        }
    }
out:
    /* busy workers (a stop, an error, chains of failed shards) are ended;
     * idle ones let the run's problem go */
    for (size_t k = 0; k < W; k++) {
        worker *w = &P->w[k];
        cmd_head release = {.type = CMD_RELEASE};
        if (w->pid > 0 && w->task >= 0)
            reap(w, true, NULL, 0);
        else if (w->pid > 0 && w->to >= 0 && send_full(w->to, &release, sizeof release))
            close_fd(&w->to);
    }
    drop_load(P);
    for (size_t t = 0; D.parts && t < T; t++)
        hcmc_shard_result_free(D.parts[t]);
    free(D.parts);
    free(D.n_parts);
    free(D.started);
    free(D.final);
    free(D.queue);
    free(D.attempts);
    free(pfd);
    return rc;
}

/* ---- the backends ---------------------------------------------------- */

static bool process_available(void)
{
    return true;
}

/* On the caller's pool (o->pool), else on a pool for this run: as many
 * workers as are useful. */
static int process_run(const hcmc_problem *p, const hcmc_shard_plan *plan,
                       const size_t *todo, size_t n_todo, const hcmc_nuts_settings *s,
                       const hcmc_backend_options *o, hcmc_error *err)
{
    if (o->pool)
        return hcmc_pool_run(o->pool, p, plan, todo, n_todo, s, o, err);
    size_t W = o->workers ? o->workers : hcmc_usable_cores();
    if (W > n_todo)
        W = n_todo;
    if (W == 0)
        return HCMC_OK;
    hcmc_pool *P;
    int rc = hcmc_pool_new(W, &P, err);
    if (rc)
        return rc;
    rc = hcmc_pool_run(P, p, plan, todo, n_todo, s, o, err);
    hcmc_pool_free(P);
    return rc;
}

const hcmc_backend hcmc__backend_multiprocessing = {.name = "multiprocessing",
                                                    .available = process_available,
                                                    .pooled = true,
                                                    .workers = hcmc__workers_cores,
                                                    .run = process_run};
const hcmc_backend hcmc__backend_pool = {.name = "pool",
                                         .available = process_available,
                                         .pooled = true,
                                         .workers = hcmc__workers_cores,
                                         .run = process_run};
