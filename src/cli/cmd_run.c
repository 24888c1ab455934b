/* hcmc run: the whole analysis from a configuration. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "hcmc/hcmc.h"

static void run_usage(FILE *f)
{
    cli_help_print(f, "run");
}

/* Progress: a bar on stderr when it is a terminal (log lines print above
 * it), a plain line every 30 s otherwise. */
typedef struct {
    bool tty, shown;
    double last_line;
    hcmc_run_progress p;
} progress_view;

static void fmt_duration(char *buf, size_t n, double s)
{
    if (!isfinite(s))
        snprintf(buf, n, "?");
    else if (s < 3600)
        snprintf(buf, n, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
    else
        snprintf(buf, n, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
}

static void draw_bar(progress_view *v)
{
    const hcmc_run_progress *p = &v->p;
    char el[32], eta[32], bar[33];
    size_t width = 30, fill = p->shards ? width * p->done / p->shards : 0;
    for (size_t k = 0; k < width; k++)
        bar[k] = k < fill ? '#' : '-';
    bar[width] = 0;
    fmt_duration(el, sizeof el, p->elapsed);
    fmt_duration(eta, sizeof eta, p->eta);
    fprintf(stderr, "\r\033[K[%s] %zu/%zu shards, %zu running, %zu failed, %s, ETA %s",
            bar, p->done, p->shards, p->running, p->failed, el, eta);
    fflush(stderr);
    v->shown = true;
}

static void on_progress(void *user, const hcmc_run_progress *p)
{
    progress_view *v = user;
    v->p = *p;
    if (v->tty) {
        draw_bar(v);
    } else if (p->elapsed - v->last_line >= 30) {
        v->last_line = p->elapsed;
        char el[32], eta[32];
        fmt_duration(el, sizeof el, p->elapsed);
        fmt_duration(eta, sizeof eta, p->eta);
        hcmc_log(HCMC_LOG_INFO,
                 "progress: %zu/%zu shards, %zu running, %zu failed, %s, ETA %s",
                 p->done, p->shards, p->running, p->failed, el, eta);
    }
}

/* Log lines go to the terminal (above the bar when there is one) at the
 * level the user chose, and to RUN_DIR/run.log at least at INFO, with the
 * time. The run creates RUN_DIR: lines from before are kept until it
 * exists. Forked workers (another pid) write to stderr only. */
typedef struct {
    progress_view *view;
    hcmc_log_level term_level;
    char path[4200];
    FILE *file;
    char *pending;
    size_t n_pending;
    pid_t owner;
} run_log;

static void run_log_write(run_log *L, const char *text)
{
    if (!L->file) {
        char dir[4200];
        snprintf(dir, sizeof dir, "%s", L->path);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = 0;
        struct stat st;
        if (!stat(dir, &st) && S_ISDIR(st.st_mode) && (L->file = fopen(L->path, "a"))) {
            if (L->pending)
                fwrite(L->pending, 1, L->n_pending, L->file);
            free(L->pending);
            L->pending = NULL;
            L->n_pending = 0;
        }
    }
    if (L->file) {
        fputs(text, L->file);
        fflush(L->file);
    } else if (L->n_pending < (1u << 20)) {
        size_t n = strlen(text);
        char *p = realloc(L->pending, L->n_pending + n);
        if (p) {
            memcpy(p + L->n_pending, text, n);
            L->pending = p;
            L->n_pending += n;
        }
    }
}

static void run_log_sink(hcmc_log_level level, const char *line, void *user)
{
    run_log *L = user;
    static const char *const tag[] = {"error: ", "warning: ", "", "debug: "};
    if (getpid() != L->owner) {
        fprintf(stderr, "hcmc: %s%s\n", tag[level], line);
        return;
    }
    if (level <= L->term_level) {
        progress_view *v = L->view;
        fprintf(stderr, "%shcmc: %s%s\n", v->shown ? "\r\033[K" : "", tag[level], line);
        if (v->shown)
            draw_bar(v);
    }
    char text[1200], when[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime_r(&now, &tm));
    snprintf(text, sizeof text, "%s %s%s\n", when, tag[level], line);
    run_log_write(L, text);
}

static void run_log_close(run_log *L)
{
    run_log_write(L, ""); /* the directory may exist only now */
    if (L->file)
        fclose(L->file);
    free(L->pending);
    L->file = NULL;
    L->pending = NULL;
}

typedef struct {
    bool quiet, verbose, fresh, submit_only, no_plots;
} run_flags;

static int run_flag(const char *a, void *user)
{
    run_flags *f = user;
    if (!strcmp(a, "-q") || !strcmp(a, "--quiet"))
        f->quiet = true;
    else if (!strcmp(a, "-v") || !strcmp(a, "--verbose"))
        f->verbose = true;
    else if (!strcmp(a, "--fresh"))
        f->fresh = true;
    else if (!strcmp(a, "--submit-only"))
        f->submit_only = true;
    else if (!strcmp(a, "--no-plots"))
        f->no_plots = true;
    else
        return 0;
    return 1;
}

/* The worker processes of a multiprocessing run, started before the data
 * is read: forked from a driver that holds no tables yet, a worker's memory
 * is its own workspace and the shared region, not a copy-on-write image of
 * the driver's points, plan and problem (about 40 MB at 1 M points, counted
 * in every worker's RSS). NULL when the run will not use worker processes
 * (or cannot start them: the backend then starts its own). */
static hcmc_pool *early_pool(const hcmc_config *c, bool submit_only)
{
    if (submit_only)
        return NULL;
    /* auto: multiprocessing unless one core or an MPI launcher */
    const hcmc_backend *b = hcmc_backend_lookup(c->backend, 2, c->num_workers);
    if (!b || !b->pooled)
        return NULL;
    hcmc_pool *pool = NULL;
    hcmc_error e;
    if (hcmc_pool_new(c->num_workers, &pool, &e))
        return NULL;
    return pool;
}

/* The exit status of a finished run: 0, or HCMC_EXIT_DIAGNOSTICS when it
 * failed its diagnostics (a summary without a verdict counts as ok). */
static int verdict_status(const hcmc_run_result *r)
{
    return r->verdict.known && !r->verdict.ok ? HCMC_EXIT_DIAGNOSTICS : 0;
}

/* Whether dir/name was written in or after the second of t (by this run,
 * not an earlier one in the same directory; whole seconds, as file systems
 * with coarse times record them). */
static bool written_since(const char *dir, const char *name, const struct timespec *t)
{
    char path[HCMC_PATH_MAX + 64];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (stat(path, &st))
        return false;
    return st.st_mtim.tv_sec >= t->tv_sec;
}

/* Plots and report of the run in dir, with the default options; a failure
 * is a warning (the run's results are on disk either way). The report is
 * written even when the plots fail. */
static void plots_and_report(const char *dir)
{
    hcmc_error err;
    size_t n = 0;
    double t0 = hcmc_seconds();
    int bad = hcmc_plot_dir(dir, NULL, &n, &err);
    if (bad)
        hcmc_log(HCMC_LOG_WARN, "plots: %s (hcmc plot %s tries again)", err.msg, dir);
    if (hcmc_report_write(dir, &err))
        hcmc_log(HCMC_LOG_WARN, "report: %s (hcmc plot %s tries again)", err.msg, dir);
    else if (bad)
        hcmc_log(HCMC_LOG_INFO, "report %s/report.html", dir);
    else
        hcmc_log(HCMC_LOG_INFO, "%zu plots in %s/plots, report %s/report.html (%.1f s)",
                 n, dir, dir, hcmc_seconds() - t0);
}

int cmd_run(int argc, char **argv)
{
    run_flags fl = {0};
    int status;
    hcmc_config *c = cli_config(argc, argv, "run", run_usage, run_flag, &fl, &status);
    if (!c)
        return status;
    hcmc_error err;
    bool quiet = fl.quiet, fresh = fl.fresh, submit_only = fl.submit_only;
    progress_view view = {.tty = !quiet && isatty(STDERR_FILENO)};
    run_log L = {.view = &view,
                 .term_level = quiet        ? HCMC_LOG_ERROR
                               : fl.verbose ? HCMC_LOG_DEBUG
                                            : HCMC_LOG_INFO,
                 .owner = getpid()};
    snprintf(L.path, sizeof L.path, "%s/run.log", c->output_dir);
    hcmc_log_set_level(fl.verbose ? HCMC_LOG_DEBUG : HCMC_LOG_INFO);
    hcmc_log_set_sink(run_log_sink, &L);
    hcmc_log(HCMC_LOG_INFO, "hcmc %s run --config %s", HCMC_VERSION, c->source);
    for (size_t k = 0; k < c->n_overrides; k++)
        hcmc_log(HCMC_LOG_INFO, "override %s", c->overrides[k]);
    hcmc_run_options o = {.fresh = fresh,
                          .progress = quiet ? NULL : on_progress,
                          .user = &view,
                          .submit_only = submit_only};
    hcmc_stop_install_handlers();
    hcmc_run_result *r;
    status = 0;
    o.pool = early_pool(c, submit_only);
    struct timespec started;
    clock_gettime(CLOCK_REALTIME, &started);
    int rc = hcmc_run(c, &o, &r, &err);
    hcmc_pool_free(o.pool);
    if (view.shown)
        fprintf(stderr, "\n");
    view.shown = false;
    if (rc == HCMC_ECANCELED) {
        int sig = hcmc_stop_signal();
        fprintf(stderr,
                "hcmc: error: %s\n"
                "hcmc: finished shards are kept in %s/shards; run the same command "
                "again to resume (--fresh starts over)\n",
                err.msg, c->output_dir);
        status = sig ? 128 + sig : 1;
    } else if (rc) {
        /* shards that could not be combined: their draws are in posterior.nc,
         * drawn as far as they go */
        if (!fl.no_plots && written_since(c->output_dir, "posterior.nc", &started))
            plots_and_report(c->output_dir);
        fprintf(stderr, "hcmc: error: %s\n", err.msg);
        run_log_write(&L, "error: ");
        run_log_write(&L, err.msg);
        run_log_write(&L, "\n");
        status = 1;
    } else if (r->rank > 0) {
        hcmc_run_result_free(r); /* an mpi rank: rank 0 reports */
    } else if (r->submitted[0]) {
        char jobs[128], *sp;
        snprintf(jobs, sizeof jobs, "%s", r->submitted);
        sp = strchr(jobs, ' ');
        if (sp)
            *sp++ = 0;
        printf("submitted: %zu shard%s in job %s; combine job %s runs after it\n"
               "follow it with: hcmc status %s\n",
               r->sampled, r->sampled == 1 ? "" : "s", jobs, sp ? sp : "?",
               c->output_dir);
        hcmc_run_result_free(r);
    } else {
        if (!fl.no_plots)
            plots_and_report(c->output_dir);
        hcmc_run_print_table(stdout, r);
        if (r->reused)
            printf("resumed: %zu shards from the earlier run, %zu sampled now\n",
                   r->reused, r->sampled);
        printf("results in %s\n", c->output_dir);
        hcmc_run_print_verdict(stdout, r);
        status = verdict_status(r);
        hcmc_run_result_free(r);
    }
    hcmc_log_set_sink(NULL, NULL);
    run_log_close(&L);
    hcmc_config_release(c);
    free(c);
    return status;
}

int cmd_combine(int argc, char **argv)
{
    const char *dir = NULL, *method = NULL, *refine = NULL;
    bool no_plots = false, no_importance = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            cli_help_print(stdout, "combine");
            return 0;
        }
        if (!strcmp(argv[i], "--method") && i + 1 < argc)
            method = argv[++i];
        else if (!strcmp(argv[i], "--space") && i + 1 < argc)
            fprintf(stderr,
                    "hcmc: warning: combine: --space %s is no longer used: shards "
                    "are combined in the coordinates they sample in\n",
                    argv[++i]);
        else if (!strcmp(argv[i], "--no-importance"))
            no_importance = true;
        else if (!strcmp(argv[i], "--refine") && i + 1 < argc)
            refine = argv[++i];
        else if (!strcmp(argv[i], "--no-plots"))
            no_plots = true;
        else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose"))
            hcmc_log_set_level(HCMC_LOG_DEBUG);
        else if (!dir && argv[i][0] != '-')
            dir = argv[i];
        else {
            fprintf(stderr, "hcmc: error: combine: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!dir) {
        fprintf(stderr, "hcmc: error: combine needs RUN_DIR\n");
        return 2;
    }
    hcmc_config *c = calloc(1, sizeof *c);
    hcmc_error err;
    char path[4200];
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    if (!c || hcmc_config_load(path, c, &err) ||
        hcmc_run_dir_apply_overrides(c, dir, &err) ||
        (method &&
         hcmc_config_set(c, "optimization.cmc.combination.method", method, &err)) ||
        (refine &&
         hcmc_config_set(c, "optimization.cmc.combination.refine", refine, &err))) {
        fprintf(stderr, "hcmc: error: %s\n", c ? err.msg : "out of memory");
        hcmc_config_release(c);
        free(c);
        return 1;
    }
    if (no_importance)
        c->importance_correction = false;
    hcmc_run_result *r;
    int status = 0;
    if (hcmc_combine_dir(c, dir, &r, &err)) {
        fprintf(stderr, "hcmc: error: %s\n", err.msg);
        status = 1;
    } else {
        if (!no_plots)
            plots_and_report(dir);
        printf("combined with %s\n", c->combination);
        hcmc_run_print_table(stdout, r);
        hcmc_run_print_verdict(stdout, r);
        status = verdict_status(r);
        hcmc_run_result_free(r);
    }
    hcmc_config_release(c);
    free(c);
    return status;
}

/* A positive count for option opt, or 0 after a message. */
static size_t count_arg(const char *opt, const char *s)
{
    char *end;
    errno = 0;
    long long v = s ? strtoll(s, &end, 10) : 0;
    if (!s || errno || *end || v <= 0) {
        fprintf(stderr, "hcmc: error: %s expects a positive integer, got '%s'\n", opt,
                s ? s : "");
        return 0;
    }
    return (size_t)v;
}

int cmd_plot(int argc, char **argv)
{
    const char *dir = NULL;
    hcmc_plot_options po;
    hcmc_plot_options_defaults(&po);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        size_t *target = !strcmp(a, "--angles")  ? &po.angles
                         : !strcmp(a, "--draws") ? &po.draws
                         : !strcmp(a, "--cells") ? &po.cells
                                                 : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            cli_help_print(stdout, "plot");
            return 0;
        } else if (target) {
            if (!(*target = count_arg(a, i + 1 < argc ? argv[++i] : NULL)))
                return 2;
        } else if (!dir && a[0] != '-') {
            dir = a;
        } else {
            fprintf(stderr, "hcmc: error: plot: unknown option '%s'\n", a);
            return 2;
        }
    }
    if (!dir) {
        fprintf(stderr, "hcmc: error: plot needs RUN_DIR\n");
        return 2;
    }
    hcmc_error err;
    size_t n = 0;
    if (hcmc_plot_dir(dir, &po, &n, &err) || hcmc_report_write(dir, &err)) {
        fprintf(stderr, "hcmc: error: %s\n", err.msg);
        return 1;
    }
    printf("%zu plots in %s/plots\nreport: %s/report.html\n", n, dir, dir);
    return 0;
}

int cmd_summary(int argc, char **argv)
{
    const char *dir;
    int rc = cli_run_dir(argc, argv, "summary", &dir);
    if (rc >= 0)
        return rc;
    hcmc_run_result *r;
    hcmc_error err;
    char failure[1024];
    if (hcmc_run_summary_read(dir, &r, failure, sizeof failure, &err)) {
        fprintf(stderr, "hcmc: error: %s\n", err.msg);
        return 1;
    }
    if (failure[0])
        fprintf(stderr, "hcmc: error: the run ended with: %s\n", failure);
    hcmc_run_print_table(stdout, r);
    for (size_t k = 0; k < r->n_shards; k++)
        if (r->shards[k].status != HCMC_SHARD_KEPT)
            printf("shard %zu (%zu points): %s\n", r->shards[k].id, r->shards[k].points,
                   r->shards[k].reason[0] ? r->shards[k].reason : "excluded");
    int status = failure[0] ? 1 : 0;
    if (!failure[0]) {
        hcmc_run_print_verdict(stdout, r);
        status = verdict_status(r);
    }
    hcmc_run_result_free(r);
    return status;
}
