/* The hcmc command: one function per subcommand (src/cli/cmd_*.c); their
 * help is in help.c. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "hcmc/hcmc.h"
#include "hcmc/timing.h"

static void usage(FILE *f)
{
    cli_usage(f);
}

static void demo_usage(FILE *f)
{
    cli_help_print(f, "demo");
}

static int parse_size(const char *opt, const char *s, size_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v <= 0) {
        fprintf(stderr, "hcmc: error: %s expects a positive integer, got '%s'\n", opt,
                s);
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

static int parse_double(const char *opt, const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v)) {
        fprintf(stderr, "hcmc: error: %s expects a number, got '%s'\n", opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

typedef struct {
    hcmc_mode mode;
    hcmc_convention conv;
    size_t n_phi, n_t, seed;
    double noise;
} demo_args;

/* The demo's options: -1 to go on, else the exit status. */
static int demo_options(int argc, char **argv, demo_args *d)
{
    static const struct option opts[] = {{"mode", required_argument, 0, 'm'},
                                         {"angles", required_argument, 0, 'a'},
                                         {"frames", required_argument, 0, 'f'},
                                         {"noise", required_argument, 0, 'n'},
                                         {"seed", required_argument, 0, 's'},
                                         {"convention", required_argument, 0, 'c'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    *d = (demo_args){.mode = HCMC_MODE_LAMINAR,
                     .conv = HCMC_CONVENTION_PHYSICAL,
                     .n_phi = 3,
                     .n_t = 200,
                     .seed = 42,
                     .noise = 0.01};
    hcmc_error err = {0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            if (hcmc_mode_parse(optarg, &d->mode, &err)) {
                fprintf(stderr, "hcmc: error: --mode: %s\n", err.msg);
                return 2;
            }
            break;
        case 'c':
            if (hcmc_convention_parse(optarg, &d->conv, &err)) {
                fprintf(stderr, "hcmc: error: --convention: %s\n", err.msg);
                return 2;
            }
            break;
        case 'a':
            if (parse_size("--angles", optarg, &d->n_phi))
                return 2;
            break;
        case 'f':
            if (parse_size("--frames", optarg, &d->n_t))
                return 2;
            break;
        case 'n':
            if (parse_double("--noise", optarg, &d->noise))
                return 2;
            break;
        case 's':
            if (parse_size("--seed", optarg, &d->seed))
                return 2;
            break;
        case 'h':
            demo_usage(stdout);
            return 0;
        default:
            demo_usage(stderr);
            return 2;
        }
    }
    return -1;
}

static int cmd_demo(int argc, char **argv)
{
    demo_args d;
    int st = demo_options(argc, argv, &d);
    if (st >= 0)
        return st;
    hcmc_mode mode = d.mode;
    hcmc_convention conv = d.conv;
    size_t n_phi = d.n_phi, n_t = d.n_t, seed = d.seed;
    double noise = d.noise;
    hcmc_error err = {0};
    hcmc_target_spec spec;
    hcmc_target_spec_defaults(&spec, mode);
    spec.model.convention = conv;
    spec.model.q = 0.0054;
    spec.model.dt = 0.1;
    spec.model.n_t = n_t;
    double truth[HCMC_NPHYS_MAX] = {1000.0, -0.5, 10.0, 0.002, -0.3, 1e-4, 4.0};
    double *phi = malloc(n_phi * sizeof *phi), *con = malloc(n_phi * sizeof *con),
           *off = malloc(n_phi * sizeof *off);
    hcmc_dataset ds = {0};
    hcmc_points pts = {0};
    hcmc_target *t = NULL;
    hcmc_target_ws *ws = NULL;
    double *z = NULL;
    int status = 1;
    if (!phi || !con || !off) {
        fprintf(stderr, "hcmc: error: out of memory\n");
        goto done;
    }
    for (size_t a = 0; a < n_phi; a++) {
        phi[a] = -90.0 + 180.0 * (double)a / (double)n_phi;
        con[a] = 0.3;
        off[a] = 1.0;
    }
    hcmc_synth_spec ss = {.model = spec.model,
                          .n_phi = n_phi,
                          .phi = phi,
                          .contrast = con,
                          .offset = off,
                          .noise = noise,
                          .seed = seed};
    memcpy(ss.phys, truth, sizeof truth);
    double t0 = hcmc_seconds();
    if (hcmc_synth_dataset(&ss, &ds, &err))
        goto fail;
    double t_sim = hcmc_seconds() - t0;
    hcmc_points_report rep;
    if (hcmc_dataset_to_points(&ds, 1, -1, &pts, &rep, &err))
        goto fail;
    if (hcmc_target_new(&spec, &pts, &t, &err))
        goto fail;
    size_t dim = hcmc_target_dim(t);
    ws = hcmc_target_ws_new(t);
    z = calloc(3 * dim, sizeof *z);
    if (!ws || !z) {
        fprintf(stderr, "hcmc: error: out of memory\n");
        goto done;
    }
    double *theta = z + dim, *grad = z + 2 * dim;
    size_t np = hcmc_mode_nphys(mode);
    for (size_t k = 0; k < np; k++)
        theta[k] = truth[k];
    for (size_t k = np; k + 1 < dim; k++) {
        const char *nm = hcmc_target_param_name(t, k);
        theta[k] = !strncmp(nm, "contrast", 8) ? 0.3 : 1.0;
    }
    theta[dim - 1] = noise > 0 ? noise : 1e-3;
    if (hcmc_target_unconstrain(t, theta, z, &err))
        goto fail;
    double lp;
    hcmc_target_parts parts;
    hcmc_target_eval(t, ws, z, &lp, grad, &parts);
    int reps = 0;
    t0 = hcmc_seconds();
    double elapsed;
    do {
        hcmc_target_eval(t, ws, z, &lp, grad, NULL);
        reps++;
    } while ((elapsed = hcmc_seconds() - t0) < 0.5);

    printf("hcmc %s demo: %s, %s convention\n", HCMC_VERSION, hcmc_mode_name(mode),
           hcmc_convention_name(conv));
    printf("simulated %zu angles x %zu frames (noise %g, seed %zu) in %.2f s\n", n_phi,
           n_t, noise, seed, t_sim);
    printf("points: %zu (upper triangle, frame 0 excluded; %zu non-finite "
           "dropped)\n",
           pts.n, rep.n_nonfinite);
    printf("sampled parameters: %zu (per-angle scaling: %s), kernel: %s\n", dim,
           hcmc_scaling_mode_name(hcmc_target_scaling(t)), hcmc_target_kernel_name(t));
    printf("at the true parameters:\n");
    printf("  log likelihood %.6f, log prior %.6f, log Jacobian %.6f\n", parts.loglik,
           parts.logprior, parts.logjac);
    printf("  %-20s %14s %16s\n", "parameter", "value", "d lp / d z");
    for (size_t k = 0; k < dim; k++)
        printf("  %-20s %14.6g %16.6g\n", hcmc_target_param_name(t, k), theta[k],
               grad[k]);
    printf("log density + gradient: %.1f us per evaluation, %.2f ns per point\n",
           1e6 * elapsed / reps, 1e9 * elapsed / reps / (double)pts.n);
    status = 0;
    goto done;
fail:
    fprintf(stderr, "hcmc: error: %s\n", err.msg);
done:
    free(z);
    hcmc_target_ws_free(ws);
    hcmc_target_free(t);
    hcmc_points_release(&pts);
    hcmc_dataset_release(&ds);
    free(phi);
    free(con);
    free(off);
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
        printf("hcmc %s\n", HCMC_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "demo"))
        return cmd_demo(argc - 1, argv + 1);
    if (!strcmp(cmd, "config"))
        return cmd_config(argc - 1, argv + 1);
    if (!strcmp(cmd, "simulate"))
        return cmd_simulate(argc - 1, argv + 1);
    if (!strcmp(cmd, "inspect"))
        return cmd_inspect(argc - 1, argv + 1);
    if (!strcmp(cmd, "run"))
        return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "combine"))
        return cmd_combine(argc - 1, argv + 1);
    if (!strcmp(cmd, "plan"))
        return cmd_plan(argc - 1, argv + 1);
    if (!strcmp(cmd, "worker"))
        return cmd_worker(argc - 1, argv + 1);
    if (!strcmp(cmd, "status"))
        return cmd_status(argc - 1, argv + 1);
    if (!strcmp(cmd, "summary"))
        return cmd_summary(argc - 1, argv + 1);
    if (!strcmp(cmd, "plot"))
        return cmd_plot(argc - 1, argv + 1);
    if (!strcmp(cmd, "man"))
        return cmd_man(argc - 1, argv + 1);
    fprintf(stderr, "hcmc: error: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
