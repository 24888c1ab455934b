/* hcmc config: write a configuration template, or check a configuration
 * (with command-line overrides) and print the settings in force. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "../base/files.h"
#include "hcmc/hcmc.h"

static const struct {
    const char *opt, *key;
} override_keys[] = {
    {"--num-shards", "optimization.cmc.sharding.num_shards"},
    {"--backend", "optimization.cmc.backend_config.name"},
    {"--seed", "optimization.cmc.seed"},
    {"--num-samples", "optimization.cmc.per_shard_mcmc.num_samples"},
    {"--num-warmup", "optimization.cmc.per_shard_mcmc.num_warmup"},
    {"--num-chains", "optimization.cmc.per_shard_mcmc.num_chains"},
    {"--workers", "optimization.cmc.backend_config.num_workers"},
    {"--max-retries", "optimization.cmc.backend_config.max_retries"},
    {"--per-shard-timeout", "optimization.cmc.per_shard_timeout"},
    {"--output-dir", "output.directory"},
    {"-o", "output.directory"},
};

int cli_override(hcmc_config *c, const char *opt, const char *value, int *failed)
{
    if (!strcmp(opt, "--fix")) { /* NAME=VALUE */
        const char *eq = value ? strchr(value, '=') : NULL;
        char key[128];
        hcmc_error err;
        int n =
            eq ? snprintf(key, sizeof key, "initial_parameters.fixed_parameters.%.*s",
                          (int)(eq - value), value)
               : -1;
        if (!eq || eq == value || n < 0 || (size_t)n >= sizeof key) {
            fprintf(stderr,
                    "hcmc: error: --fix expects NAME=VALUE (e.g. --fix beta=0)\n");
            *failed = 1;
        } else if (hcmc_config_set(c, key, eq + 1, &err)) {
            fprintf(stderr, "hcmc: error: --fix: %s\n", err.msg);
            *failed = 1;
        }
        return 1;
    }
    if (!strcmp(opt, "--set")) {
        const char *eq = value ? strchr(value, '=') : NULL;
        char key[256];
        hcmc_error err;
        if (!eq || eq == value || (size_t)(eq - value) >= sizeof key) {
            fprintf(stderr, "hcmc: error: --set expects KEY=VALUE\n");
            *failed = 1;
            return 1;
        }
        memcpy(key, value, (size_t)(eq - value));
        key[eq - value] = 0;
        if (hcmc_config_set(c, key, eq + 1, &err)) {
            fprintf(stderr, "hcmc: error: --set: %s\n", err.msg);
            *failed = 1;
        }
        return 1;
    }
    for (size_t k = 0; k < sizeof override_keys / sizeof *override_keys; k++) {
        if (strcmp(opt, override_keys[k].opt))
            continue;
        hcmc_error err;
        if (!value) {
            fprintf(stderr, "hcmc: error: %s needs a value\n", opt);
            *failed = 1;
        } else if (hcmc_config_set(c, override_keys[k].key, value, &err)) {
            fprintf(stderr, "hcmc: error: %s: %s\n", opt, err.msg);
            *failed = 1;
        }
        return 1;
    }
    return 0;
}

hcmc_config *cli_config(int argc, char **argv, const char *cmd, void (*usage)(FILE *),
                        int (*flag)(const char *arg, void *user), void *user,
                        int *status)
{
    const char *cfg = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            *status = 0;
            return NULL;
        }
        if (!strcmp(argv[i], "--config") && i + 1 < argc)
            cfg = argv[i + 1];
    }
    if (!cfg) {
        fprintf(stderr, "hcmc: error: %s needs --config CONFIG.yaml\n", cmd);
        usage(stderr);
        *status = 2;
        return NULL;
    }
    hcmc_config *c = calloc(1, sizeof *c);
    hcmc_error err;
    if (!c || hcmc_config_load(cfg, c, &err)) {
        fprintf(stderr, "hcmc: error: %s\n", c ? err.msg : "out of memory");
        free(c);
        *status = 1;
        return NULL;
    }
    int failed = 0;
    for (int i = 1; i < argc && !failed; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--config") || cli_override(c, a, v, &failed)) {
            i++;
        } else if (!flag || !flag(a, user)) {
            fprintf(stderr, "hcmc: error: %s: unknown option '%s'\n", cmd, a);
            usage(stderr);
            failed = 2;
        }
    }
    if (failed) {
        hcmc_config_release(c);
        free(c);
        *status = failed;
        return NULL;
    }
    return c;
}

static void config_usage(FILE *f)
{
    cli_help_print(f, "config");
}

static void print_settings(const hcmc_config *c)
{
    printf("configuration %s\n", c->source);
    printf("  analysis_mode       %s (%s convention)\n", hcmc_mode_name(c->mode),
           hcmc_convention_name(c->convention));
    printf("  data file           %s\n", c->data_file[0] ? c->data_file : "(none)");
    printf("  q, gap, dt          %g 1/A, %g A, %g s\n", c->q, c->L, c->dt);
    printf("  frames              %ld..%ld%s\n", c->start_frame, c->end_frame,
           c->end_frame == -1 ? " (last)" : "");
    printf("  phi filtering       %s, %zu ranges\n", c->phi_filter ? "on" : "off",
           c->n_ranges);
    printf("  priors:\n");
    for (size_t k = 0; k < hcmc_mode_nphys(c->mode); k++) {
        const hcmc_prior *p = &c->phys[k];
        printf("    %-20s %-15s [%g, %g] mu %g sigma %g%s\n", hcmc_phys_name((int)k),
               hcmc_prior_type_name(p->type), p->lo, p->hi, p->mu, p->sigma,
               isnan(c->init_phys[k]) ? "" : "  (initial value given)");
    }
    for (size_t k = 0; k < hcmc_mode_nphys(c->mode); k++)
        if (c->phys_fixed[k])
            printf("    %-20s fixed at %g (not sampled)\n", hcmc_phys_name((int)k),
                   c->phys_fixed_value[k]);
    printf("    %-20s %-15s [%g, %g]\n", "contrast",
           hcmc_prior_type_name(c->contrast.type), c->contrast.lo, c->contrast.hi);
    printf("    %-20s %-15s [%g, %g]\n", "offset", hcmc_prior_type_name(c->offset.type),
           c->offset.lo, c->offset.hi);
    printf("  cmc                 enable %s from %zu points, seed %" PRIu64 "\n",
           c->cmc_enable == HCMC_AUTO ? "auto"
           : c->cmc_enable            ? "true"
                                      : "false",
           c->min_points_for_cmc, c->seed);
    printf("  backend             %s, workers %s, retries %d\n", c->backend,
           c->num_workers ? "" : "auto", c->max_retries);
    printf("  sharding            %s, shards ", c->strategy);
    c->num_shards ? printf("%zu", c->num_shards) : printf("auto");
    printf(", max points per shard ");
    c->max_points_per_shard ? printf("%zu\n", c->max_points_per_shard)
                            : printf("auto\n");
    printf("  per-angle scaling   %s (threshold %zu), prior tempering %s\n",
           hcmc_scaling_mode_name(c->per_angle_mode), c->constant_scaling_threshold,
           c->prior_tempering ? "on" : "off");
    printf("  per-shard NUTS      %zu warmup, %zu draws, %zu chains (%s), target %.2f, "
           "depth %d, %s metric, coordinates %s\n",
           c->num_warmup, c->num_samples, c->num_chains,
           c->chain_parallel ? "parallel" : "sequential", c->target_accept_prob,
           c->max_tree_depth, c->dense_mass ? "dense" : "diagonal", c->sampling_space);
    if (c->rerun_divergent > 0)
        printf("                      a chain over %g %% divergent runs again at target "
               "%.2f\n",
               100 * c->rerun_divergent, c->rerun_target_accept_prob);
    else
        printf("                      divergent chains do not run again\n");
    printf("  combination         %s, importance correction %s, refinement %s, min "
           "success rate %g\n",
           c->combination, c->importance_correction ? "on" : "off", c->refine,
           c->min_success_rate);
    printf("  output directory    %s\n", c->output_dir);
    for (size_t k = 0; k < c->n_overrides; k++)
        printf("  override            %s\n", c->overrides[k]);
}

/* Reads the data the configuration selects and says what it got. */
static int check_data(const hcmc_config *c)
{
    hcmc_aps_select sel;
    hcmc_config_selection(c, &sel);
    hcmc_dataset ds;
    hcmc_aps_report rep;
    hcmc_error err;
    if (hcmc_aps_read(c->data_file, &sel, &ds, &rep, &err)) {
        fprintf(stderr, "hcmc: error: %s\n", err.msg);
        return 1;
    }
    hcmc_points pts;
    hcmc_points_report prep;
    int status = 0;
    if (hcmc_dataset_to_points(&ds, 1, -1, &pts, &prep, &err)) {
        fprintf(stderr, "hcmc: error: %s\n", err.msg);
        status = 1;
    } else {
        printf("data                %s layout, q bin %g (%zu maps), %zu angles kept,\n"
               "                    %zu frames, %zu points (%zu non-finite dropped)\n",
               hcmc_aps_layout_name(rep.layout), rep.q_used, rep.n_maps_at_q, pts.n_phi,
               ds.n_frames, pts.n, prep.n_nonfinite);
        hcmc_points_release(&pts);
    }
    hcmc_dataset_release(&ds);
    return status;
}

int cmd_config(int argc, char **argv)
{
    const char *mode_s = NULL, *out = NULL, *check = NULL;
    hcmc_config *c = calloc(1, sizeof *c);
    int failed = 0;
    if (!c) {
        fprintf(stderr, "hcmc: error: out of memory\n");
        return 1;
    }
    /* the config must be read before overrides apply: find --check first */
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--check"))
            check = argv[i + 1];
    hcmc_error err;
    if (check && hcmc_config_load(check, c, &err)) {
        fprintf(stderr, "hcmc: error: %s\n", err.msg);
        free(c);
        return 1;
    }
    for (int i = 1; i < argc && !failed; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            config_usage(stdout);
            hcmc_config_release(c);
            free(c);
            return 0;
        }
        if (!strcmp(a, "--check")) {
            i++;
        } else if (!strcmp(a, "--mode") && v) {
            mode_s = v;
            i++;
        } else if (!check && !strcmp(a, "-o") && v) {
            out = v;
            i++;
        } else if (check && cli_override(c, a, v, &failed)) {
            i++;
        } else {
            fprintf(stderr, "hcmc: error: config: unknown or incomplete option '%s'\n",
                    a);
            config_usage(stderr);
            failed = 2;
        }
    }
    int status = failed;
    if (!failed && check) {
        print_settings(c);
        if (c->data_file[0])
            status = check_data(c);
    } else if (!failed && mode_s) {
        hcmc_mode mode;
        if (hcmc_mode_parse(mode_s, &mode, &err)) {
            fprintf(stderr, "hcmc: error: --mode: %s\n", err.msg);
            status = 2;
        } else {
            /* to a file: whole or not at all (src/base/files.c) */
            char *text = NULL;
            size_t len = 0;
            FILE *f = out ? open_memstream(&text, &len) : stdout;
            if (!f) {
                fprintf(stderr, "hcmc: error: out of memory\n");
                status = 1;
            } else {
                status = hcmc_config_write_template(f, mode) ? 1 : 0;
                if (out) {
                    hcmc_error e;
                    if (fclose(f) || (!status && hcmc__write_text(out, text, 0, &e))) {
                        fprintf(stderr, "hcmc: error: %s: cannot write\n", out);
                        status = 1;
                    }
                    free(text);
                }
                if (out && !status)
                    fprintf(stderr, "hcmc: wrote %s\n", out);
            }
        }
    } else if (!failed) {
        fprintf(stderr, "hcmc: error: config needs --mode or --check\n");
        config_usage(stderr);
        status = 2;
    }
    hcmc_config_release(c);
    free(c);
    return status;
}

int cli_run_dir(int argc, char **argv, const char *cmd, const char **dir)
{
    *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            cli_help_print(stdout, cmd);
            return 0;
        }
        if (*dir || argv[i][0] == '-') {
            fprintf(stderr, "hcmc: error: %s: unknown option '%s'\n", cmd, argv[i]);
            return 2;
        }
        *dir = argv[i];
    }
    if (!*dir) {
        fprintf(stderr, "hcmc: error: %s needs RUN_DIR\n", cmd);
        return 2;
    }
    return -1;
}
