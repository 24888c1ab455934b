/* What the batch backends share: shard status files, checks of scheduler
 * settings, running scheduler commands without a shell, and the driver's
 * loop (submit a job array over the missing shards, poll, collect,
 * resubmit what ended without a result, up to max_retries). The
 * schedulers' own words are in slurm.c and pbs.c. */
#define _GNU_SOURCE
#include "batch_driver.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "../base/files.h"
#include "hcmc/log.h"
#include "hcmc/stop.h"
#include "hcmc/timing.h"

extern char **environ;

/* ---- status files ---------------------------------------------------- */

static const char *const state_names[] = {"unknown", "running", "ok", "failed",
                                          "terminated"};

const char *hcmc__shard_state_name(hcmc__shard_state s)
{
    return state_names[s];
}

static void status_path(char *buf, size_t cap, const char *dir, size_t id)
{
    snprintf(buf, cap, "%s/shards/shard_%05zu.status", dir, id);
}

int hcmc__status_write(const char *dir, size_t id, const hcmc__shard_status *st,
                       hcmc_error *err)
{
    char path[HCMC_PATH_MAX + 64], tmp[HCMC_PATH_MAX + 96];
    status_path(path, sizeof path, dir, id);
    if (hcmc__tmp_name(tmp, sizeof tmp, path))
        return hcmc_error_set(err, HCMC_EINVAL, "%s: path too long", path);
    json_t *j =
        json_pack("{s:I, s:s, s:s, s:s, s:I, s:f, s:s}", "shard", (json_int_t)id,
                  "state", state_names[st->state], "host", st->host, "job", st->job,
                  "pid", (json_int_t)st->pid, "seconds",
                  isfinite(st->seconds) ? st->seconds : 0.0, "message", st->message);
    int rc = !j || json_dump_file(j, tmp, JSON_INDENT(1)) ? -1 : 0;
    json_decref(j);
    if (rc) {
        remove(tmp);
        return hcmc_error_set(err, HCMC_EIO, "%s: cannot write", tmp);
    }
    return hcmc__commit(tmp, path, err);
}

void hcmc__status_read(const char *dir, size_t id, hcmc__shard_status *st)
{
    memset(st, 0, sizeof *st);
    char path[HCMC_PATH_MAX + 64];
    status_path(path, sizeof path, dir, id);
    json_t *j = json_load_file(path, 0, NULL);
    const char *state = NULL, *host = "", *job = "", *msg = "";
    json_int_t shard = -1, pid = 0;
    double sec = 0;
    if (!j ||
        json_unpack(j, "{s:I, s:s, s?s, s?s, s?I, s?F, s?s}", "shard", &shard, "state",
                    &state, "host", &host, "job", &job, "pid", &pid, "seconds", &sec,
                    "message", &msg) ||
        shard != (json_int_t)id) {
        json_decref(j);
        return;
    }
    for (int k = 1; k < 5; k++)
        if (!strcmp(state, state_names[k]))
            st->state = (hcmc__shard_state)k;
    snprintf(st->host, sizeof st->host, "%s", host);
    snprintf(st->job, sizeof st->job, "%s", job);
    snprintf(st->message, sizeof st->message, "%s", msg);
    st->pid = (long)pid;
    st->seconds = sec;
    json_decref(j);
}

/* ---- checks of scheduler settings ------------------------------------- */

void hcmc_batch_options_defaults(hcmc_batch_options *b)
{
    memset(b, 0, sizeof *b);
    strcpy(b->dialect, "pro");
    b->poll_max = 30;
}

/* Characters a value may hold: nothing a shell or a job-script parser
 * gives a meaning to (no space, quote, $, `, ;, |, &, <, >, (, ), \, #). */
static bool plain(const char *s, const char *also)
{
    if (!*s)
        return false;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || strchr("_.-+", c) ||
                  (also && strchr(also, c));
        if (!ok || !c)
            return false;
    }
    return true;
}

static bool digits(const char **p, int lo, int hi)
{
    int n = 0;
    while (**p >= '0' && **p <= '9')
        (*p)++, n++;
    return n >= lo && n <= hi;
}

/* [D-]H[:MM[:SS]] or minutes: what sbatch --time and PBS walltime take. */
static bool walltime(const char *s)
{
    const char *p = s;
    if (strchr(s, '-')) {
        if (!digits(&p, 1, 4) || *p++ != '-')
            return false;
    }
    if (!digits(&p, 1, 5))
        return false;
    for (int k = 0; k < 2 && *p == ':'; k++) {
        p++;
        if (!digits(&p, 1, 2))
            return false;
    }
    return !*p;
}

static bool memory(const char *s)
{
    const char *p = s;
    if (!digits(&p, 1, 12))
        return false;
    if (*p && strchr("KkMmGgTt", *p))
        p++;
    if (*p == 'B' || *p == 'b')
        p++;
    return !*p;
}

/* One "#SBATCH" / "#PBS" option of extra: --name=value (SLURM) or -x value
 * (PBS), the name from an allow-list, the value plain. */
static const char *extra_line_ok(const char *scheduler, const char *line)
{
    static const char *const slurm_ok[] = {
        "constraint", "gres",        "gpus",        "gpus-per-task", "gpus-per-node",
        "exclude",    "nodelist",    "reservation", "licenses",      "mail-type",
        "mail-user",  "mem-per-cpu", "tmp",         "clusters",      "comment",
        "wckey",      "nice",        "hint",        "exclusive",     "signal",
        "begin",      "deadline",    "requeue",     "no-requeue",    "propagate",
        "switches"};
    static const char *const pbs_ok[] = {"-l", "-m", "-M", "-P",
                                         "-W", "-p", "-r", "-k"};
    char name[64];
    if (!strcmp(scheduler, "slurm")) {
        if (strncmp(line, "--", 2))
            return "a SLURM option must start with --";
        const char *eq = strchr(line, '=');
        size_t n = eq ? (size_t)(eq - line - 2) : strlen(line + 2);
        if (n == 0 || n >= sizeof name)
            return "no option name";
        memcpy(name, line + 2, n);
        name[n] = 0;
        bool known = false;
        for (size_t k = 0; k < sizeof slurm_ok / sizeof *slurm_ok; k++)
            known = known || !strcmp(name, slurm_ok[k]);
        if (!known)
            return "not an allowed option (hcmc sets the job's name, array, "
                   "output, cpus, memory, time, partition, account and qos itself; "
                   "see the README for the allowed ones)";
        if (eq && !plain(eq + 1, ",:=@/%"))
            return "the value may only hold letters, digits and _ . - + , : = @ / %";
        return NULL;
    }
    size_t n = strcspn(line, " ");
    if (n >= sizeof name || !line[n])
        return "a PBS option is '-x value'";
    memcpy(name, line, n);
    name[n] = 0;
    bool known = false;
    for (size_t k = 0; k < sizeof pbs_ok / sizeof *pbs_ok; k++)
        known = known || !strcmp(name, pbs_ok[k]);
    if (!known)
        return "not an allowed option (-l, -m, -M, -P, -W, -p, -r, -k)";
    if (!plain(line + n + 1, ",:=@/%"))
        return "the value may only hold letters, digits and _ . - + , : = @ / %";
    return NULL;
}

/* A set-up line: module/ml/spack/conda/source/./export with plain words. */
static const char *setup_line_ok(const char *line)
{
    static const char *const first[] = {"module", "ml", "spack",  "conda",
                                        "source", ".",  "export", "umask"};
    char buf[512];
    if (strlen(line) >= sizeof buf)
        return "line too long";
    strcpy(buf, line);
    char *save, *w = strtok_r(buf, " ", &save);
    bool known = false;
    for (size_t k = 0; w && k < sizeof first / sizeof *first; k++)
        known = known || !strcmp(w, first[k]);
    if (!known)
        return "a set-up line starts with module, ml, spack, conda, source, ., export "
               "or umask";
    if (strstr(line, "  ") || line[strlen(line) - 1] == ' ')
        return "words are separated by single spaces";
    bool is_export = !strcmp(w, "export");
    while ((w = strtok_r(NULL, " ", &save)))
        if (!plain(w, is_export ? ",:=@/%" : ",:=@/%~")) /* ~: module versions */
            return "words may only hold letters, digits and _ . - + , : = @ / %";
    return NULL;
}

int hcmc_batch_option_check(const char *scheduler, const char *key, const char *value,
                            hcmc_error *err)
{
    const char *why = NULL;
    bool pbs = !strcmp(scheduler, "pbs");
    if (!*value)
        return HCMC_OK; /* not asked for */
    if (!strcmp(key, "partition") || !strcmp(key, "queue") || !strcmp(key, "account") ||
        !strcmp(key, "qos")) {
        if (strlen(value) > 64 || !plain(value, pbs ? "@" : NULL))
            why = "expected a name of letters, digits and _ . - +";
    } else if (!strcmp(key, "time") || !strcmp(key, "walltime")) {
        if (!walltime(value))
            why = "expected a walltime such as 2:00:00, 1-12:00:00 or 90";
    } else if (!strcmp(key, "mem") || !strcmp(key, "memory")) {
        if (!memory(value))
            why = "expected an amount such as 4G, 4000M or 8gb";
    } else if (!strcmp(key, "dialect")) {
        if (strcmp(value, "pro") && strcmp(value, "torque"))
            why = "expected pro or torque";
    } else if (!strcmp(key, "executable")) {
        if (value[0] != '/' || !plain(value, "/"))
            why = "expected an absolute path of letters, digits and _ . - + /";
    } else if (!strcmp(key, "extra") || !strcmp(key, "setup")) {
        char line[600];
        for (const char *p = value; *p && !why;) {
            size_t n = strcspn(p, "\n");
            if (n >= sizeof line) {
                why = "line too long";
                break;
            }
            memcpy(line, p, n);
            line[n] = 0;
            if (strchr(line, '\r'))
                why = "carriage return in a line";
            else if (n)
                why = key[0] == 'e' ? extra_line_ok(scheduler, line)
                                    : setup_line_ok(line);
            if (why)
                return hcmc_error_set(err, HCMC_EINVAL, "%s option %s: '%s': %s",
                                      scheduler, key, line, why);
            p += n + (p[n] == '\n');
        }
    } else {
        why = "unknown setting";
    }
    if (why)
        return hcmc_error_set(err, HCMC_EINVAL, "%s option %s: '%s': %s", scheduler,
                              key, value, why);
    return HCMC_OK;
}

int hcmc__batch_check_all(const char *scheduler, const hcmc_batch_options *b,
                          hcmc_error *err)
{
    const struct {
        const char *key, *value;
    } v[] = {{scheduler[0] == 'p' ? "queue" : "partition", b->partition},
             {"account", b->account},
             {"qos", b->qos},
             {"time", b->time},
             {"mem", b->mem},
             {"dialect", scheduler[0] == 'p' ? b->dialect : ""},
             {"extra", b->extra},
             {"setup", b->setup},
             {"executable", b->executable}};
    for (size_t k = 0; k < sizeof v / sizeof *v; k++) {
        int rc = hcmc_batch_option_check(scheduler, v[k].key, v[k].value, err);
        if (rc)
            return rc;
    }
    return HCMC_OK;
}

/* ---- scheduler commands ---------------------------------------------- */

int hcmc__batch_command(char *const argv[], char *out, size_t cap, double timeout)
{
    int fds[2];
    out[0] = 0;
    if (pipe2(fds, O_CLOEXEC)) {
        snprintf(out, cap, "pipe: %s", strerror(errno));
        return -1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    pid_t pid;
    int e = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (e) {
        close(fds[0]);
        snprintf(out, cap, "%s: cannot run: %s", argv[0], strerror(e));
        return -1;
    }
    size_t len = 0;
    double end = hcmc_seconds() + timeout;
    bool timed_out = false;
    for (;;) {
        int left = (int)fmax(0, (end - hcmc_seconds()) * 1000);
        struct pollfd pf = {fds[0], POLLIN, 0};
        int n = poll(&pf, 1, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0) {
            timed_out = true;
            kill(pid, SIGKILL);
            break;
        }
        char buf[4096];
        ssize_t r = read(fds[0], buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        size_t take = (size_t)r < cap - 1 - len ? (size_t)r : cap - 1 - len;
        memcpy(out + len, buf, take);
        len += take;
        out[len] = 0;
    }
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (timed_out) {
        snprintf(out, cap, "%s: no answer within %.0f s", argv[0], timeout);
        return -1;
    }
    while (len && (out[len - 1] == '\n' || out[len - 1] == ' '))
        out[--len] = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---- the driver ------------------------------------------------------ */

/* Nothing that a job script quotes may break out of its quotes. */
static int check_path(const char *what, const char *p, hcmc_error *err)
{
    if (strpbrk(p, "'\n\r"))
        return hcmc_error_set(
            err, HCMC_EINVAL,
            "%s '%s': a path used in a job script may not hold a quote "
            "or a line break",
            what, p);
    return HCMC_OK;
}

/* The job script of one submission: the dialect's header, the set-up
 * lines, the worker. */
static char *job_script(const hcmc__dialect *D, const hcmc__batch_job *J)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    fprintf(f, "#!/bin/sh\n");
    D->header(f, J);
    fprintf(f, "# written by hcmc for the run in %s; hcmc submits it itself\n", J->dir);
    if (J->b->setup[0])
        fprintf(f, "%s\n", J->b->setup);
    fprintf(f, "export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1\n");
    if (J->combine)
        fprintf(f, "exec '%s' combine '%s'\n", J->exe, J->dir);
    else
        fprintf(f, "exec '%s' worker '%s' --list '%s'\n", J->exe, J->dir, J->list);
    fclose(f);
    return buf;
}

typedef struct {
    int attempts;
    bool delivered, pending;
    char cause[400];
} shard_track;

static void cancel(const hcmc__dialect *D, const char *job)
{
    char out[512];
    char *argv[] = {(char *)D->cancel, (char *)job, NULL};
    hcmc__batch_command(argv, out, sizeof out, 30);
}

/* Submits script path for n elements; the job id into job. */
static int submit(const hcmc__dialect *D, const hcmc__batch_job *J, const char *script,
                  char *job, size_t cap, hcmc_error *err)
{
    char *argv[16], out[2048];
    char arr[64], dep[128];
    D->submit_argv(J, script, argv, arr, sizeof arr, dep, sizeof dep);
    int st = hcmc__batch_command(argv, out, sizeof out, 120);
    if (st != 0 || !D->parse_id(out, job, cap))
        return hcmc_error_set(err, HCMC_EIO, "%s %s failed (exit %d): %s", argv[0],
                              script, st, out[0] ? out : "no output");
    FILE *log = NULL;
    char lp[HCMC_PATH_MAX + 32];
    snprintf(lp, sizeof lp, "%s/batch/jobs", J->dir);
    if ((log = fopen(lp, "a"))) {
        time_t now = time(NULL);
        char when[32];
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
        fprintf(log, "%s %s %s %zu %s\n", when, job, J->combine ? "combine" : "shards",
                J->n, script);
        fclose(log);
    }
    return HCMC_OK;
}

static int delivered_result(const hcmc_backend_options *o, size_t id, int status,
                            const char *msg)
{
    hcmc_shard_result *r = calloc(1, sizeof *r);
    if (!r)
        return HCMC_ENOMEM;
    r->id = id;
    r->status = status;
    r->rhat_max = r->ess_bulk_min = NAN;
    snprintf(r->message, sizeof r->message, "%s", msg);
    return o->sink(o->user, r);
}

/* Hands shard id's result to the sink once its worker has said it is ok
 * (and the shard file reads back) or failed; *st receives the status.
 * 1 when handed over (*rc: the sink's answer), 0 when not (yet). */
static int collect(const hcmc_backend_options *o, const char *dir, size_t id,
                   shard_track *t, hcmc__shard_status *st, int *rc)
{
    hcmc__status_read(dir, id, st);
    if (st->state != HCMC__SHARD_OK && st->state != HCMC__SHARD_FAILED)
        return 0;
    hcmc_shard_result *r = o->fetch(o->user, id);
    if (!r && st->state == HCMC__SHARD_OK)
        return 0; /* the file may still be on its way (NFS) */
    t->delivered = true;
    *rc = r ? o->sink(o->user, r) : delivered_result(o, id, HCMC_ENODATA, st->message);
    return 1;
}

/* The executable the jobs run: the setting, else this program. */
static int executable(const hcmc_batch_options *b, char *exe, size_t cap,
                      hcmc_error *err)
{
    if (b->executable[0]) {
        snprintf(exe, cap, "%s", b->executable);
    } else {
        ssize_t n = readlink("/proc/self/exe", exe, cap - 1);
        if (n <= 0)
            return hcmc_error_set(err, HCMC_EIO,
                                  "cannot tell this program's path; set the batch "
                                  "option executable");
        exe[n] = 0;
    }
    if (access(exe, X_OK))
        return hcmc_error_set(err, HCMC_EINVAL, "%s: not an executable hcmc", exe);
    return check_path("executable", exe, err);
}

/* What the stages of a batch run share. */
typedef struct {
    const hcmc__dialect *D;
    const hcmc_backend_options *o;
    const hcmc_batch_options *b;
    const char *dir;
    char exe[HCMC_PATH_MAX];
    size_t cpus;
    double t_start;
    shard_track *T; /* [K] */
} batch_run;

/* One round's shard list and job script written, the job array submitted
 * (its id into job); logp gets the prefix of its elements' logs. */
static int submit_round(batch_run *X, const size_t *list, size_t n, unsigned round,
                        char job[64], char logp[HCMC_PATH_MAX + 64], hcmc_error *err)
{
    const hcmc__dialect *D = X->D;
    char lpath[HCMC_PATH_MAX + 64], spath[HCMC_PATH_MAX + 64];
    snprintf(lpath, sizeof lpath, "%s/batch/round_%03u.shards", X->dir, round);
    snprintf(spath, sizeof spath, "%s/batch/round_%03u.%s", X->dir, round,
             D->script_ext);
    snprintf(logp, HCMC_PATH_MAX + 64, "%s/batch/round_%03u", X->dir, round);
    char *ltext = malloc(n * 24 + 1);
    if (!ltext)
        return hcmc_error_set(err, HCMC_ENOMEM, "out of memory");
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        pos += (size_t)sprintf(ltext + pos, "%zu\n", list[i]);
        /* a status from an earlier attempt must not be read as this one's */
        char sp[HCMC_PATH_MAX + 64];
        snprintf(sp, sizeof sp, "%s/shards/shard_%05zu.status", X->dir, list[i]);
        remove(sp);
        X->T[list[i]].pending = false;
    }
    int rc = hcmc__write_text(lpath, ltext, 0644, err);
    free(ltext);
    if (rc)
        return rc;
    hcmc__batch_job J = {.b = X->b,
                         .dir = X->dir,
                         .exe = X->exe,
                         .list = lpath,
                         .log = logp,
                         .n = n,
                         .cpus = X->cpus,
                         .round = round};
    char *script = job_script(D, &J);
    if (!script)
        return hcmc_error_set(err, HCMC_ENOMEM, "out of memory");
    rc = hcmc__write_text(spath, script, 0755, err);
    free(script);
    if (rc || (rc = submit(D, &J, spath, job, 64, err)))
        return rc;
    hcmc_log(HCMC_LOG_INFO, "%s: job %s submitted: %zu shard%s (script %s)", D->name,
             job, n, n == 1 ? "" : "s", spath);
    char detail[128];
    snprintf(detail, sizeof detail, "%s job %s", D->name, job);
    for (size_t i = 0; i < n; i++)
        hcmc__event(X->o, HCMC_EVENT_STARTED, list[i], detail);
    return HCMC_OK;
}

/* submit_only: a combine job after every element of job, whatever their
 * outcome; both ids go into o->submitted. */
static int submit_combine(batch_run *X, const char *job, hcmc_error *err)
{
    const hcmc__dialect *D = X->D;
    char cpath[HCMC_PATH_MAX + 64], cjob[64], clog[HCMC_PATH_MAX + 64];
    snprintf(cpath, sizeof cpath, "%s/batch/combine.%s", X->dir, D->script_ext);
    snprintf(clog, sizeof clog, "%s/batch/combine", X->dir);
    hcmc__batch_job C = {.b = X->b,
                         .dir = X->dir,
                         .exe = X->exe,
                         .log = clog,
                         .n = 1,
                         .cpus = 1,
                         .combine = true,
                         .after = job};
    char *script = job_script(D, &C);
    if (!script)
        return hcmc_error_set(err, HCMC_ENOMEM, "out of memory");
    int rc = hcmc__write_text(cpath, script, 0755, err);
    free(script);
    if (rc || (rc = submit(D, &C, cpath, cjob, sizeof cjob, err))) {
        cancel(D, job);
        return rc;
    }
    hcmc_log(HCMC_LOG_INFO, "%s: combine job %s runs after job %s", D->name, cjob, job);
    snprintf(((hcmc_backend_options *)X->o)->submitted, sizeof X->o->submitted, "%s %s",
             job, cjob);
    return HCMC_OK;
}

/* Polls until the scheduler no longer knows job, taking results as they
 * come; cancels it on a stop request, a job that cannot start, or the
 * run's timeout. */
static int wait_round(batch_run *X, const char *job, const size_t *list, size_t n,
                      hcmc_error *err)
{
    const hcmc__dialect *D = X->D;
    const hcmc_batch_options *b = X->b;
    double pause = 1;
    int rc = HCMC_OK;
    for (bool active = true; active;) {
        for (double t = 0; t < pause; t += 0.25) {
            if (hcmc_stop_requested()) {
                cancel(D, job);
                return hcmc_error_set(err, HCMC_ECANCELED,
                                      "stopped on request; job %s cancelled", job);
            }
            struct timespec ts = {0, 250000000};
            nanosleep(&ts, NULL);
        }
        pause = fmin(pause * 1.5, b->poll_max > 0 ? b->poll_max : 30);
        char why[256] = "";
        hcmc__job_state js = D->query(job, why, sizeof why);
        active = js != HCMC__JOB_GONE;
        if (js == HCMC__JOB_STUCK) {
            cancel(D, job);
            return hcmc_error_set(err, HCMC_EINVAL,
                                  "%s job %s cannot start: %s; cancelled (check the "
                                  "partition/queue, cpus, memory and time settings)",
                                  D->name, job, why);
        }
        if (b->timeout > 0 && hcmc_seconds() - X->t_start > b->timeout) {
            cancel(D, job);
            return hcmc_error_set(err, HCMC_EIO,
                                  "%s: the run waited over timeout = %g s on the "
                                  "scheduler; job %s cancelled. Finished shards are "
                                  "kept: run again to resume",
                                  D->name, b->timeout, job);
        }
        /* results as they come */
        for (size_t i = 0; i < n; i++) {
            hcmc__shard_status st;
            if (!X->T[list[i]].delivered &&
                collect(X->o, X->dir, list[i], &X->T[list[i]], &st, &rc) && rc) {
                cancel(D, job);
                return rc;
            }
        }
        hcmc__event(X->o, HCMC_EVENT_TICK, 0, NULL);
    }
    return HCMC_OK;
}

/* The array has ended: what did not deliver runs again, up to
 * max_retries, then is delivered as failed with its cause. */
static int after_round(batch_run *X, const char *job, const char *logp,
                       const size_t *list, size_t n)
{
    const hcmc_backend_options *o = X->o;
    int rc = HCMC_OK;
    for (size_t i = 0; i < n; i++) {
        size_t id = list[i];
        shard_track *t = &X->T[id];
        if (t->delivered)
            continue;
        hcmc__shard_status st;
        if (collect(o, X->dir, id, t, &st, &rc)) {
            if (rc)
                return rc;
            continue;
        }
        if (st.state == HCMC__SHARD_TERMINATED)
            snprintf(t->cause, sizeof t->cause, "stopped by a signal on %.60s (%.200s)",
                     st.host, st.message);
        else if (st.state == HCMC__SHARD_OK)
            snprintf(t->cause, sizeof t->cause,
                     "reported done but its shard file is missing or damaged");
        else
            snprintf(t->cause, sizeof t->cause,
                     "the job element ended without a result%s (see %.300s_*.out)",
                     st.state == HCMC__SHARD_RUNNING ? " (killed while running)" : "",
                     logp);
        t->attempts++;
        char msg[sizeof((hcmc_shard_result *)0)->message];
        if (t->attempts <= (o->max_retries > 0 ? o->max_retries : 0)) {
            t->pending = true;
            snprintf(msg, sizeof msg, "attempt %d of job %s: %s; submitted again",
                     t->attempts, job, t->cause);
            hcmc__event(o, HCMC_EVENT_RETRY, id, msg);
        } else {
            t->delivered = true;
            snprintf(msg, sizeof msg, "%s (%d attempt%s)", t->cause, t->attempts,
                     t->attempts == 1 ? "" : "s");
            if ((rc = delivered_result(o, id, HCMC_EIO, msg)))
                return rc;
        }
    }
    return HCMC_OK;
}

int hcmc__batch_run(const hcmc__dialect *D, const hcmc_problem *p,
                    const hcmc_shard_plan *plan, const size_t *todo, size_t n_todo,
                    const hcmc_nuts_settings *s, const hcmc_backend_options *o,
                    hcmc_error *err)
{
    (void)p;
    if (!o->run_dir || !o->batch || !o->fetch)
        return hcmc_error_set(err, HCMC_EINVAL,
                              "backend %s: needs a run directory with a plan "
                              "(hcmc_run provides it)",
                              D->name);
    batch_run X = {.D = D, .o = o, .b = o->batch, .dir = o->run_dir};
    const char *dir = X.dir;
    int rc;
    char path[HCMC_PATH_MAX + 64];
    if ((rc = hcmc__batch_check_all(D->name, X.b, err)) ||
        (rc = check_path("run directory", dir, err)) ||
        (rc = executable(X.b, X.exe, sizeof X.exe, err)))
        return rc;
    if (dir[0] != '/')
        return hcmc_error_set(err, HCMC_EINVAL,
                              "backend %s: the run directory must be an absolute path",
                              D->name);
    snprintf(path, sizeof path, "%s/batch", dir);
    if ((rc = hcmc__make_dir(path, err)))
        return rc;
    size_t K = plan->n_shards;
    X.T = calloc(K, sizeof *X.T);
    size_t *list = malloc((n_todo ? n_todo : 1) * sizeof *list);
    if (!X.T || !list) {
        free(X.T);
        free(list);
        return hcmc_error_set(err, HCMC_ENOMEM, "backend %s: out of memory", D->name);
    }
    for (size_t i = 0; i < n_todo; i++)
        X.T[todo[i]].pending = true;
    X.cpus = X.b->cpus ? X.b->cpus : s->parallel ? s->num_chains : 1;
    size_t node = D->node_cpus ? D->node_cpus(X.b) : 0;
    if (node && X.b->cpus > node) { /* asked for: refused before submitting */
        free(X.T);
        free(list);
        return hcmc_error_set(
            err, HCMC_EINVAL,
            "%s: %s = %zu, but the nodes of %s have %zu CPUs: such a job would never "
            "start; set optimization.cmc.backend_config.%s.%s to %zu or less (or 0: "
            "one per chain, up to a node's CPUs)",
            D->name, D->cpus_key, X.b->cpus,
            X.b->partition[0]           ? X.b->partition
            : !strcmp(D->name, "slurm") ? "the default partition"
                                        : "the cluster",
            node, D->name, D->cpus_key, node);
    }
    if (node && X.cpus > node) { /* one per chain would never start there */
        hcmc_log(
            HCMC_LOG_INFO,
            "%s: the nodes of %s have %zu CPUs: shard jobs ask for %zu, and the %zu "
            "chains share them (cpus_per_task sets it)",
            D->name, X.b->partition[0] ? X.b->partition : "the default partition", node,
            node, X.cpus);
        X.cpus = node;
    }
    X.t_start = hcmc_seconds();
    char job[64] = "", logp[HCMC_PATH_MAX + 64];
    /* rounds: submit the pending shards, wait for the array, collect */
    for (unsigned round = 1;; round++) {
        size_t n = 0;
        for (size_t i = 0; i < n_todo; i++)
            if (X.T[todo[i]].pending)
                list[n++] = todo[i];
        if (!n)
            break;
        if ((rc = submit_round(&X, list, n, round, job, logp, err)))
            break;
        if (o->submit_only) {
            rc = submit_combine(&X, job, err);
            break;
        }
        if ((rc = wait_round(&X, job, list, n, err)) ||
            (rc = after_round(&X, job, logp, list, n)))
            break;
    }
    free(X.T);
    free(list);
    return rc;
}
