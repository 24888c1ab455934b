/* Subcommands of the hcmc command, one file each. */
#ifndef HCMC_CLI_H
#define HCMC_CLI_H

#include "hcmc/config.h"

int cmd_config(int argc, char **argv);
int cmd_simulate(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_combine(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_worker(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_summary(int argc, char **argv);
int cmd_plot(int argc, char **argv);

/* The common command-line overrides of config keys (--num-shards,
 * --backend, --seed, --num-samples, --num-warmup, --num-chains,
 * -o/--output-dir). Returns 1 when opt is one of them (applied, or an
 * error printed and *failed set), 0 when it is not. */
int cli_override(hcmc_config *c, const char *opt, const char *value, int *failed);
/* The configuration of a command's --config FILE, its overrides applied.
 * flag(arg, user) takes the command's own flags without a value (1:
 * taken). NULL when there is none to run with, with *status set: 0 after
 * --help (usage printed to stdout), else 1 or 2 after a message. */
hcmc_config *cli_config(int argc, char **argv, const char *cmd, void (*usage)(FILE *),
                        int (*flag)(const char *arg, void *user), void *user,
                        int *status);
/* The help of a command (help.c), the command list, the manual page. */
void cli_help_print(FILE *f, const char *cmd);
void cli_usage(FILE *f);
int cli_man(FILE *f);
int cmd_man(int argc, char **argv);
/* The one argument of a command that takes only RUN_DIR (and --help, which
 * prints the command's help to stdout). Returns -1 with *dir set, else the
 * exit status: 0 after --help, 2 after a usage error (message printed). */
int cli_run_dir(int argc, char **argv, const char *cmd, const char **dir);

#endif
