/* The help of every command, in one table: `hcmc COMMAND --help`, the
 * command list of `hcmc --help` and the manual page (`hcmc man`) are all
 * printed from it. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "hcmc/version.h"

typedef struct {
    const char *flags; /* "-o, --output-dir DIR" */
    const char *help;  /* what it does; "(default X)" at the end where it has one */
} cli_opt;

typedef struct {
    const char *name;
    const char *synopsis; /* after "hcmc NAME "; "\n" separates forms */
    const char *summary;  /* one line for the command list */
    const char *text;     /* what it does, paragraphs separated by "\n\n" */
    const cli_opt *opts;  /* terminated by {0} */
    bool overrides;       /* takes the configuration overrides */
} cli_help;

/* Configuration overrides shared by run, plan and config --check. */
static const cli_opt overrides[] = {
    {"--num-shards N|auto", "optimization.cmc.sharding.num_shards; N > 1 shards the "
                            "data even below min_points_for_cmc (with a notice), unless "
                            "optimization.cmc.enable is false"},
    {"--backend NAME", "optimization.cmc.backend_config.name: auto, serial, threads, "
                       "multiprocessing, pool, slurm, pbs, mpi"},
    {"--seed S", "optimization.cmc.seed"},
    {"--num-samples N", "optimization.cmc.per_shard_mcmc.num_samples"},
    {"--num-warmup N", "optimization.cmc.per_shard_mcmc.num_warmup"},
    {"--num-chains N", "optimization.cmc.per_shard_mcmc.num_chains"},
    {"--workers N|auto", "optimization.cmc.backend_config.num_workers"},
    {"--max-retries N", "optimization.cmc.backend_config.max_retries"},
    {"--per-shard-timeout S", "optimization.cmc.per_shard_timeout (seconds)"},
    {"-o, --output-dir DIR", "output.directory"},
    {"--fix NAME=VALUE", "hold physical parameter NAME at VALUE instead of sampling "
                         "it (initial_parameters.fixed_parameters; VALUE 'free' "
                         "samples it again)"},
    {"--set KEY=VALUE", "any setting by its dotted path, e.g. --set "
                        "optimization.cmc.backend_config.slurm.time=2:00:00"},
    {0}};

static const cli_opt run_opts[] = {
    {"--config FILE", "the configuration (YAML, homodyne's layout); required"},
    {"--fresh", "sample every shard again, ignoring an earlier run's shard files"},
    {"--submit-only", "slurm, pbs: submit the shard jobs and a combine job, and return "
                      "(hcmc status RUN_DIR follows them)"},
    {"--no-plots", "no plots and no report.html at the end"},
    {"-q, --quiet", "only errors and the final table"},
    {"-v, --verbose", "debug messages too"},
    {0}};

static const cli_opt plot_opts[] = {
    {"--angles N", "angles shown as c2 heatmaps and cuts (default 3)"},
    {"--draws N", "posterior draws in the predictive band (default 200)"},
    {"--cells N", "heatmap cells per side at most; frames are binned (default 300)"},
    {0}};

static const cli_opt combine_opts[] = {
    {"--method M", "auto, consensus_mc, robust_consensus_mc, gaussian, "
                   "weighted_gaussian, simple_average (default: the run's "
                   "configuration)"},
    {"--no-importance", "keep the combination's draws: no importance correction "
                        "and no refinement (which read the data again)"},
    {"--refine WHEN", "auto (where the combination was not close), always or never: "
                      "a run of NUTS on the points combined, started from the "
                      "corrected draws (default: the run's configuration)"},
    {"--no-plots", "no plots and no report.html"},
    {"-v, --verbose", "debug messages too (e.g. each round of the importance "
                      "correction)"},
    {0}};

static const cli_opt simulate_opts[] = {
    {"-o FILE.h5", "the file to write; required"},
    {"--mode MODE", "static or laminar_flow (default laminar_flow)"},
    {"--layout L", "current or legacy (default current)"},
    {"--frames N", "frames per map (default 200)"},
    {"--angles LIST", "angles in degrees, comma-separated (default -45,0,45,90)"},
    {"--q Q", "wavevector [1/A] (default 0.0054)"},
    {"--dt DT", "frame step [s] (default 0.1)"},
    {"--gap L", "stator-rotor gap [A] (default 2e6)"},
    {"--param NAME=VALUE", "a true physical parameter, repeatable (defaults D0=2e4 "
                           "alpha=-0.5 D_offset=100 gamma_dot_t0=2e-4 beta=-0.3 "
                           "gamma_dot_t_offset=1e-5 phi0=4)"},
    {"--contrast C", "contrast of every angle (default 0.3)"},
    {"--offset O", "offset of every angle (default 1.0)"},
    {"--noise SIGMA", "Normal noise on c2; 0: the exact model (default 0.02)"},
    {"--seed S", "random seed (default 42)"},
    {"--no-compress", "store the maps without LZF"},
    {"--config-out FILE", "also write a configuration that runs on this file"},
    {0}};

static const cli_opt config_opts[] = {
    {"--mode MODE", "static or laminar_flow: write a commented template"},
    {"-o FILE", "write the template to FILE (default stdout)"},
    {"--check FILE", "read FILE, apply the overrides, print the settings in force"},
    {0}};

static const cli_opt demo_opts[] = {
    {"--mode MODE", "static or laminar_flow (default laminar_flow)"},
    {"--angles N", "number of angles (default 3)"},
    {"--frames N", "frames per angle (default 200)"},
    {"--noise SIGMA", "noise added to c2 (default 0.01)"},
    {"--seed S", "random seed (default 42)"},
    {"--convention C", "physical or homodyne (default physical)"},
    {0}};

static const cli_opt worker_opts[] = {
    {"--shard N", "the shard to run"},
    {"--list FILE", "run the shard on line I (from 0) of FILE, I the job array index"},
    {"-q, --quiet", "only errors"},
    {0}};

static const cli_opt none[] = {{0}};

static const cli_help helps[] = {
    {"run", "--config CONFIG.yaml [OPTIONS] [OVERRIDES]",
     "the whole analysis from a configuration",
     "Runs the analysis CONFIG.yaml describes and writes summary.json, posterior.nc, "
     "shards/, config.yaml, run.log, plots/ and report.html to the output directory. "
     "Shards finished by an earlier run of the same problem in that directory are "
     "reused (resume); Ctrl-C stops and keeps them. The verdict is printed last: "
     "whether the draws passed their diagnostics (R-hat <= "
     "optimization.cmc.validation.max_r_hat, 1.01; bulk and tail ESS >= min_ess, "
     "400; at most 1 % divergent transitions in a shard; every shard's chains "
     "agreeing; the importance correction applied; after a refinement, NUTS on all "
     "points combined started from the corrected draws where the combination was not "
     "close, its own chains judged instead), and for each failure its likely "
     "cause and what to do.\n\n"
     "Exit status: 0 success, 3 the run finished but failed its diagnostics (see the "
     "verdict; the files are written), 1 the run failed (the reason first on "
     "stderr), 2 a usage error, 128+N stopped by signal N.",
     run_opts, true},
    {"plot", "RUN_DIR [OPTIONS]", "draw a run's plots and write its report",
     "Draws the plots of the run in RUN_DIR into RUN_DIR/plots (trace, marginals with "
     "every shard's, shard forest, corner, c2 heatmaps of data, model and residuals, "
     "c2 cuts with the posterior predictive band) and writes RUN_DIR/report.html, one "
     "self-contained page. The data plots need the run's data file; without it they "
     "are left out with a warning.",
     plot_opts, false},
    {"summary", "RUN_DIR", "print a finished run's table again",
     "Prints the table of a finished run again from RUN_DIR/summary.json: parameter, "
     "mean, sd, 90% interval, R-hat, ESS; then every shard that was excluded or "
     "failed, with its reason, and the run's verdict.\n\n"
     "Exit status: 0 the run ended well, 3 it failed its diagnostics (the verdict "
     "says which), 1 it ended with an error (shown) or the file cannot be read, 2 a "
     "usage error.",
     none, false},
    {"combine", "RUN_DIR [--method M] [--no-importance] [--refine WHEN] [-v]",
     "combine the shard files of a run again",
     "Combines the shard files in RUN_DIR/shards again, without sampling, and rewrites "
     "RUN_DIR/summary.json, RUN_DIR/posterior.nc, the plots and the report, and "
     "prints the table and the verdict.\n\n"
     "Exit status: 0 the combined draws passed their diagnostics, 3 they failed them "
     "(see the verdict), 1 an error, 2 a usage error.",
     combine_opts, false},
    {"simulate", "-o FILE.h5 [OPTIONS]", "write synthetic two-time data as an APS file",
     "Writes synthetic two-time correlation data of the homodyne model in a real APS "
     "HDF5 layout, with Normal noise.",
     simulate_opts, false},
    {"inspect", "FILE.h5", "show what an APS HDF5 file holds",
     "Prints the layout, q bins, angles, maps, frames, frame time and compression of "
     "an "
     "APS two-time file.",
     none, false},
    {"config", "--mode static|laminar_flow [-o FILE]\n--check CONFIG.yaml [OVERRIDES]",
     "write a configuration template, or check a configuration",
     "The first form writes a commented configuration template. The second reads "
     "CONFIG.yaml, applies the overrides and prints the settings in force; it exits "
     "non-zero on any error.",
     config_opts, true},
    {"plan", "--config CONFIG.yaml -o RUN_DIR [OVERRIDES]",
     "write a run directory's plan for worker jobs",
     "Reads the data, builds the shard plan and the warm start, and writes "
     "RUN_DIR/plan.h5 and RUN_DIR/config.yaml: what hcmc worker jobs on any node that "
     "sees RUN_DIR need.",
     none, true},
    {"worker", "RUN_DIR [--shard N | --list FILE] [-q]",
     "run one shard of a plan (what batch jobs run)",
     "Runs one shard of the plan in RUN_DIR and writes RUN_DIR/shards/shard_N.h5 and "
     "shard_N.status. The shard is N, else line I (from 0) of FILE, else I itself, "
     "where I is the job array index (SLURM_ARRAY_TASK_ID, PBS_ARRAY_INDEX or "
     "PBS_ARRAYID; 0 without one when FILE is given). A shard finished before is not "
     "sampled again.\n\n"
     "Exit status: 0 done (now or before), 1 failed or an error, 75 stopped by a "
     "signal (SIGTERM before the walltime): submit it again.",
     worker_opts, false},
    {"status", "RUN_DIR", "where a run directory stands",
     "Where the run in RUN_DIR stands: shards done, failed, running, stopped and not "
     "started; the last job submitted; whether it is combined. Exit status 0 when "
     "every "
     "shard is done.",
     none, false},
    {"demo", "[OPTIONS]", "evaluate the model on simulated data",
     "Simulates a data set and evaluates the model's log density and gradient at the "
     "true parameters, with the time per evaluation.",
     demo_opts, false},
    {"man", "", "print the manual page (troff)",
     "Prints this manual in troff: hcmc man > hcmc.1; man ./hcmc.1", none, false},
};

enum { N_HELPS = sizeof helps / sizeof *helps };

static const cli_help *find(const char *cmd)
{
    for (size_t k = 0; k < N_HELPS; k++)
        if (!strcmp(helps[k].name, cmd))
            return &helps[k];
    return NULL;
}

/* s wrapped at width: the first line starts at column col (the caller
 * has printed that much), the others are indented by indent; "\n" breaks a
 * line, "\n\n" leaves an empty one. */
static void wrap(FILE *f, const char *s, int col, int indent, int width)
{
    bool fresh = true; /* nothing on this line yet */
    while (*s) {
        if (*s == '\n') {
            fputc('\n', f);
            s++;
            col = 0, fresh = true;
            if (*s && *s != '\n')
                col = fprintf(f, "%*s", indent, "");
            continue;
        }
        size_t w = strcspn(s, " \n");
        if (!fresh && col + 1 + (int)w > width) {
            fprintf(f, "\n%*s", indent, "");
            col = indent;
        } else if (!fresh) {
            fputc(' ', f);
            col++;
        }
        fwrite(s, 1, w, f);
        col += (int)w, fresh = false;
        s += w;
        while (*s == ' ')
            s++;
    }
    fputc('\n', f);
}

static void print_opts(FILE *f, const cli_opt *o)
{
    for (; o->flags; o++) {
        int n = fprintf(f, "  %s", o->flags);
        if (n > 24)
            n = fprintf(f, "\n") - 1;
        n += fprintf(f, "%*s", 26 - n, "");
        wrap(f, o->help, n, 26, 79);
    }
}

void cli_help_print(FILE *f, const char *cmd)
{
    const cli_help *h = find(cmd);
    if (!h)
        return;
    const char *s = h->synopsis;
    const char *lead = "usage:";
    do {
        size_t n = strcspn(s, "\n");
        fprintf(f, "%s hcmc %s %.*s\n", lead, h->name, (int)n, s);
        lead = "      ";
        s += n + (s[n] == '\n');
    } while (*s);
    fputc('\n', f);
    wrap(f, h->text, 0, 0, 79);
    if (h->opts[0].flags) {
        fprintf(f, "\noptions:\n");
        print_opts(f, h->opts);
    }
    if (h->overrides) {
        fprintf(f, "\nconfiguration overrides (win over the file):\n");
        print_opts(f, overrides);
    }
    fprintf(f, "  -h, --help              this help\n");
}

void cli_usage(FILE *f)
{
    fprintf(f, "usage: hcmc [--version] [--help] COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t k = 0; k < N_HELPS; k++)
        fprintf(f, "  %-10s%s\n", helps[k].name, helps[k].summary);
    fprintf(f, "\nhcmc COMMAND --help shows the options of a command; hcmc man the "
               "whole manual.\n");
}

/* troff with its special characters escaped */
static void roff(FILE *f, const char *s)
{
    if (*s == '.' || *s == '\'')
        fputs("\\&", f);
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\e", f);
        else if (*s == '-')
            fputs("\\-", f);
        else if (*s == '\n') {
            fputc('\n', f);
            if (s[1] == '.' || s[1] == '\'')
                fputs("\\&", f);
        } else
            fputc(*s, f);
    }
}

static void roff_paragraphs(FILE *f, const char *s)
{
    while (*s) {
        const char *e = strstr(s, "\n\n");
        size_t n = e ? (size_t)(e - s) : strlen(s);
        char buf[2048];
        snprintf(buf, sizeof buf, "%.*s", (int)n, s);
        fputs(".PP\n", f);
        roff(f, buf);
        fputc('\n', f);
        s += n;
        while (*s == '\n')
            s++;
    }
}

static void roff_opts(FILE *f, const cli_opt *o)
{
    for (; o->flags; o++) {
        fputs(".TP\n.B ", f);
        roff(f, o->flags);
        fputc('\n', f);
        roff(f, o->help);
        fputc('\n', f);
    }
}

int cli_man(FILE *f)
{
    fprintf(f, ".TH HCMC 1 \"\" \"hcmc %s\" \"User Commands\"\n", HCMC_VERSION);
    fputs(".SH NAME\nhcmc \\- Bayesian analysis of XPCS two-time correlations by "
          "Consensus Monte Carlo\n.SH SYNOPSIS\n.B hcmc\n[\\-\\-version] [\\-\\-help] "
          "COMMAND [OPTIONS]\n.SH DESCRIPTION\n",
          f);
    roff_paragraphs(f, "hcmc fits the homodyne model of two-time correlation functions "
                       "c2(phi, t1, t2) of soft matter under flow to XPCS data (APS "
                       "HDF5 files, homodyne's YAML configurations) and returns the "
                       "full posterior: the data are split into shards, NUTS samples "
                       "every shard, and the shard posteriors are combined.");
    fputs(".SH COMMANDS\n", f);
    for (size_t k = 0; k < N_HELPS; k++) {
        const cli_help *h = &helps[k];
        fputs(".SS ", f);
        roff(f, h->name);
        fputs("\n", f);
        const char *s = h->synopsis;
        do {
            size_t n = strcspn(s, "\n");
            char buf[256];
            snprintf(buf, sizeof buf, "hcmc %s %.*s", h->name, (int)n, s);
            fputs(".PP\n.B ", f);
            roff(f, buf);
            fputc('\n', f);
            s += n + (s[n] == '\n');
        } while (*s);
        roff_paragraphs(f, h->text);
        roff_opts(f, h->opts);
        if (h->overrides) {
            fputs(".PP\nConfiguration overrides (win over the file):\n", f);
            roff_opts(f, overrides);
        }
    }
    fputs(".SH FILES\nA run directory holds summary.json, posterior.nc (ArviZ "
          "InferenceData groups), shards/shard_NNNNN.h5, config.yaml, run.log, plots/ "
          "and report.html.\n.SH SEE ALSO\nThe README of hcmc: quick start, "
          "configuration reference, backends.\n",
          f);
    return ferror(f) ? 1 : 0;
}

int cmd_man(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        cli_help_print(stdout, "man");
        return 0;
    }
    return cli_man(stdout);
}
