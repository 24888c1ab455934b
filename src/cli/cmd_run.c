/* hcmc run: the whole analysis from a configuration. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hcmc/hcmc.h"

static void run_usage(FILE *f)
{
    fprintf(f,
            "usage: hcmc run --config CONFIG.yaml [OVERRIDES] [-q]\n"
            "Runs the analysis CONFIG.yaml describes and writes summary.json,\n"
            "posterior.nc, shards/ and config.yaml to the output directory.\n"
            "  -q, --quiet           only errors and the final table\n"
            "overrides (win over the file):\n%s",
            cli_override_usage);
}

int cmd_run(int argc, char **argv)
{
    const char *cfg = NULL;
    int quiet = 0;
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--config"))
            cfg = argv[i + 1];
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            run_usage(stdout);
            return 0;
        }
    if (!cfg) {
        fprintf(stderr, "hcmc: error: run needs --config CONFIG.yaml\n");
        run_usage(stderr);
        return 2;
    }
    hcmc_config *c = calloc(1, sizeof *c);
    hcmc_error err;
    if (!c || hcmc_config_load(cfg, c, &err)) {
        fprintf(stderr, "hcmc: error: %s\n", c ? err.msg : "out of memory");
        free(c);
        return 1;
    }
    int failed = 0;
    for (int i = 1; i < argc && !failed; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--config")) {
            i++;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            quiet = 1;
        } else if (cli_override(c, a, v, &failed)) {
            i++;
        } else {
            fprintf(stderr, "hcmc: error: run: unknown option '%s'\n", a);
            run_usage(stderr);
            failed = 2;
        }
    }
    if (failed) {
        hcmc_config_release(c);
        free(c);
        return failed;
    }
    if (quiet)
        hcmc_log_set_level(HCMC_LOG_ERROR);
    for (size_t k = 0; k < c->n_overrides; k++)
        hcmc_log(HCMC_LOG_INFO, "override %s", c->overrides[k]);
    hcmc_run_result *r;
    int status = 0;
    if (hcmc_run(c, &r, &err)) {
        fprintf(stderr, "hcmc: error: %s\n", err.msg);
        status = 1;
    } else {
        hcmc_run_print_table(stdout, r);
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
