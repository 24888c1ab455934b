/* hcmc run: the whole analysis from a configuration. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "hcmc/hcmc.h"

static void run_usage(FILE *f)
{
    fprintf(
        f,
        "usage: hcmc run --config CONFIG.yaml [OVERRIDES] [--fresh] [-q]\n"
        "Runs the analysis CONFIG.yaml describes and writes summary.json,\n"
        "posterior.nc, shards/ and config.yaml to the output directory.\n"
        "Shards finished by an earlier run of the same problem in that\n"
        "directory are reused (resume); Ctrl-C stops and keeps them.\n"
        "  --fresh               sample every shard again\n"
        "  --submit-only         slurm, pbs: submit the shard jobs and a combine\n"
        "                        job, and return (hcmc status RUN_DIR follows them)\n"
        "  -q, --quiet           only errors and the final table\n"
        "overrides (win over the file):\n%s",
        cli_override_usage);
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

static void log_above_bar(hcmc_log_level level, const char *line, void *user)
{
    progress_view *v = user;
    static const char *const tag[] = {"error: ", "warning: ", "", "debug: "};
    fprintf(stderr, "%shcmc: %s%s\n", v->shown ? "\r\033[K" : "", tag[level], line);
    if (v->shown)
        draw_bar(v);
}

typedef struct {
    bool quiet, fresh, submit_only;
} run_flags;

static int run_flag(const char *a, void *user)
{
    run_flags *f = user;
    if (!strcmp(a, "-q") || !strcmp(a, "--quiet"))
        f->quiet = true;
    else if (!strcmp(a, "--fresh"))
        f->fresh = true;
    else if (!strcmp(a, "--submit-only"))
        f->submit_only = true;
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
    const char *n = c->backend;
    if (submit_only)
        return NULL;
    if (!strcmp(n, "auto") || !strcmp(n, "numpy")) {
        /* multiprocessing unless one core or an MPI launcher */
        hcmc_error e;
        const hcmc_backend *b = hcmc_backend_find("auto", 2, c->num_workers, &e);
        if (!b || strcmp(b->name, "multiprocessing"))
            return NULL;
    } else if (strcmp(n, "multiprocessing") && strcmp(n, "pool") && strcmp(n, "jax")) {
        return NULL;
    }
    hcmc_pool *pool = NULL;
    hcmc_error e;
    if (hcmc_pool_new(c->num_workers, &pool, &e))
        return NULL;
    return pool;
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
    if (quiet)
        hcmc_log_set_level(HCMC_LOG_ERROR);
    for (size_t k = 0; k < c->n_overrides; k++)
        hcmc_log(HCMC_LOG_INFO, "override %s", c->overrides[k]);
    progress_view view = {.tty = !quiet && isatty(STDERR_FILENO)};
    hcmc_run_options o = {.fresh = fresh,
                          .progress = quiet ? NULL : on_progress,
                          .user = &view,
                          .submit_only = submit_only};
    if (view.tty)
        hcmc_log_set_sink(log_above_bar, &view);
    hcmc_stop_install_handlers();
    hcmc_run_result *r;
    status = 0;
    o.pool = early_pool(c, submit_only);
    int rc = hcmc_run(c, &o, &r, &err);
    hcmc_pool_free(o.pool);
    if (view.shown)
        fprintf(stderr, "\n");
    hcmc_log_set_sink(NULL, NULL);
    if (rc == HCMC_ECANCELED) {
        int sig = hcmc_stop_signal();
        fprintf(stderr,
                "hcmc: error: %s\n"
                "hcmc: finished shards are kept in %s/shards; run the same command "
                "again to resume (--fresh starts over)\n",
                err.msg, c->output_dir);
        status = sig ? 128 + sig : 1;
    } else if (rc) {
        fprintf(stderr, "hcmc: error: %s\n", err.msg);
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
        hcmc_run_print_table(stdout, r);
        if (r->reused)
            printf("resumed: %zu shards from the earlier run, %zu sampled now\n",
                   r->reused, r->sampled);
        printf("results in %s\n", c->output_dir);
        hcmc_run_result_free(r);
    }
    hcmc_config_release(c);
    free(c);
    return status;
}

int cmd_combine(int argc, char **argv)
{
    const char *dir = NULL, *method = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: hcmc combine RUN_DIR [--method M]\n"
                   "Combines the shard files in RUN_DIR/shards again (M: auto,\n"
                   "consensus_mc, robust_consensus_mc, gaussian, weighted_gaussian,\n"
                   "simple_average; default: the run's config) and rewrites\n"
                   "RUN_DIR/summary.json and RUN_DIR/posterior.nc.\n");
            return 0;
        }
        if (!strcmp(argv[i], "--method") && i + 1 < argc)
            method = argv[++i];
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
        (method &&
         hcmc_config_set(c, "optimization.cmc.combination.method", method, &err))) {
        fprintf(stderr, "hcmc: error: %s\n", c ? err.msg : "out of memory");
        hcmc_config_release(c);
        free(c);
        return 1;
    }
    hcmc_run_result *r;
    int status = 0;
    if (hcmc_combine_dir(c, dir, &r, &err)) {
        fprintf(stderr, "hcmc: error: %s\n", err.msg);
        status = 1;
    } else {
        printf("combined with %s\n", c->combination);
        hcmc_run_print_table(stdout, r);
        hcmc_run_result_free(r);
    }
    hcmc_config_release(c);
    free(c);
    return status;
}

/* Plots and report of the run in dir; a failure is a warning (the run's
 * results are on disk either way). Returns 0 when both were written. */
static int plots_and_report(const char *dir, const hcmc_plot_options *po)
{
    hcmc_error err;
    size_t n = 0;
    double t0 = hcmc_seconds();
    if (hcmc_plot_dir(dir, po, &n, &err) || hcmc_report_write(dir, &err)) {
        hcmc_log(HCMC_LOG_WARN, "plots and report: %s (hcmc plot %s tries again)",
                 err.msg, dir);
        return 1;
    }
    hcmc_log(HCMC_LOG_INFO, "%zu plots in %s/plots, report %s/report.html (%.1f s)", n,
             dir, dir, hcmc_seconds() - t0);
    return 0;
}

int cmd_plot(int argc, char **argv)
{
    const char *dir = NULL;
    hcmc_plot_options po;
    hcmc_plot_options_defaults(&po);
    (void)argc, (void)argv;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--angles") && i + 1 < argc)
            po.angles = strtoul(argv[++i], NULL, 10);
        else if (!dir && argv[i][0] != '-')
            dir = argv[i];
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
    int rc = cli_run_dir(
        argc, argv, "summary",
        "usage: hcmc summary RUN_DIR\n"
        "Prints the table of a finished run again from RUN_DIR/summary.json:\n"
        "parameter, mean, sd, 90% interval, R-hat, ESS; then every shard\n"
        "that was excluded or failed, with its reason.\n"
        "exit status: 0 the run ended well, 1 it ended with an error (shown)\n"
        "or the file cannot be read, 2 a usage error.\n",
        &dir);
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
    hcmc_run_result_free(r);
    return failure[0] ? 1 : 0;
}
