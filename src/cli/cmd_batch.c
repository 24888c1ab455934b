/* hcmc plan, hcmc worker, hcmc status: batch runs by hand or by the
 * scheduler backends' job scripts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hcmc/hcmc.h"

#define EXIT_TERMINATED 75 /* as the batch backends expect; see run.h */

static void plan_usage(FILE *f)
{
    cli_help_print(f, "plan");
}

int cmd_plan(int argc, char **argv)
{
    int failed = 0;
    hcmc_config *c = cli_config(argc, argv, "plan", plan_usage, NULL, NULL, &failed);
    if (!c)
        return failed;
    hcmc_error err;
    size_t K = 0;
    if (hcmc_plan_create(c, c->output_dir, &K, &err)) {
        fprintf(stderr, "hcmc: error: %s\n", err.msg);
        failed = 1;
    }
    if (!failed)
        printf(
            "plan of %zu shard%s in %s/plan.h5; run them with hcmc worker %s --shard N "
            "(N = 0 .. %zu)\n",
            K, K == 1 ? "" : "s", c->output_dir, c->output_dir, K - 1);
    hcmc_config_release(c);
    free(c);
    return failed;
}

static void worker_usage(FILE *f)
{
    cli_help_print(f, "worker");
}

static int parse_index(const char *what, const char *s, size_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || end == s || v < 0) {
        fprintf(stderr, "hcmc: error: worker: %s: expected an index >= 0, got '%s'\n",
                what, s);
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

/* Line `index` of the shard list file. */
static int list_shard(const char *file, size_t index, size_t *shard)
{
    FILE *f = fopen(file, "r");
    if (!f) {
        fprintf(stderr, "hcmc: error: worker: %s: %s\n", file, strerror(errno));
        return -1;
    }
    char line[64];
    size_t k = 0;
    int rc = -1;
    while (fgets(line, sizeof line, f)) {
        if (k++ != index)
            continue;
        line[strcspn(line, "\n")] = 0;
        rc = parse_index(file, line, shard);
        break;
    }
    fclose(f);
    if (rc && k <= index)
        fprintf(stderr, "hcmc: error: worker: %s has %zu lines, no line %zu\n", file, k,
                index);
    return rc;
}

int cmd_worker(int argc, char **argv)
{
    const char *dir = NULL, *list = NULL, *shard_s = NULL;
    bool quiet = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            worker_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--shard") && i + 1 < argc) {
            shard_s = argv[++i];
        } else if (!strcmp(a, "--list") && i + 1 < argc) {
            list = argv[++i];
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            quiet = true;
        } else if (!dir && a[0] != '-') {
            dir = a;
        } else {
            fprintf(stderr, "hcmc: error: worker: unknown option '%s'\n", a);
            worker_usage(stderr);
            return 2;
        }
    }
    if (!dir) {
        fprintf(stderr, "hcmc: error: worker needs RUN_DIR\n");
        worker_usage(stderr);
        return 2;
    }
    size_t shard = 0, index = 0;
    const char *env = NULL,
               *names[] = {"SLURM_ARRAY_TASK_ID", "PBS_ARRAY_INDEX", "PBS_ARRAYID"};
    for (int k = 0; k < 3 && !env; k++)
        if ((env = getenv(names[k])) && !*env)
            env = NULL;
    if (shard_s) {
        if (parse_index("--shard", shard_s, &shard))
            return 2;
    } else {
        if (!env && !list) {
            fprintf(stderr,
                    "hcmc: error: worker: no shard: give --shard N, or run it as "
                    "an element of a job array\n");
            return 2;
        }
        if (env && parse_index("array index", env, &index))
            return 2;
        if (list ? list_shard(list, index, &shard) : (shard = index, 0))
            return 2;
    }
    if (quiet)
        hcmc_log_set_level(HCMC_LOG_ERROR);
    hcmc_stop_install_handlers();
    hcmc_error err;
    hcmc_worker_outcome out;
    int rc = hcmc_worker_run(dir, shard, &out, &err);
    if (rc == HCMC_ECANCELED) {
        fprintf(stderr, "hcmc: error: shard %zu: %s; exit %d (submit it again)\n",
                shard, err.msg, EXIT_TERMINATED);
        return EXIT_TERMINATED;
    }
    if (rc) {
        fprintf(stderr, "hcmc: error: %s\n", err.msg);
        return 1;
    }
    return out == HCMC_WORKER_FAILED ? 1 : 0;
}

int cmd_status(int argc, char **argv)
{
    const char *dir;
    int rc = cli_run_dir(argc, argv, "status", &dir);
    if (rc >= 0)
        return rc;
    hcmc_dir_status st;
    hcmc_error err;
    if (hcmc_dir_status_read(dir, &st, &err)) {
        fprintf(stderr, "hcmc: error: %s\n", err.msg);
        return 1;
    }
    printf("%s: %zu shards: %zu done, %zu failed, %zu running, %zu stopped, %zu not "
           "started\n",
           dir, st.shards, st.ok, st.failed, st.running, st.terminated, st.missing);
    if (st.last_job[0])
        printf("last job: %s\n", st.last_job);
    printf("%s\n", st.combined ? "combined: posterior.nc and summary.json are there"
                               : "not combined yet (hcmc combine RUN_DIR)");
    hcmc_run_result *r = NULL;
    char failure[512];
    if (st.combined && !hcmc_run_summary_read(dir, &r, failure, sizeof failure, &err) &&
        r->verdict.known) {
        printf("verdict: %s", r->verdict.ok ? "ok" : "FAILED:");
        for (size_t k = 0; !r->verdict.ok && k < r->verdict.n_failures; k++)
            printf(" %s", r->verdict.failures[k].check);
        printf("%s\n", r->verdict.ok ? "" : " (hcmc summary RUN_DIR says more)");
    }
    hcmc_run_result_free(r);
    return st.ok == st.shards ? 0 : 3;
}
