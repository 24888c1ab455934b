/* The slurm backend: one job array of hcmc worker elements per round
 * (sbatch --array), polled with squeue. The driver's loop is batch.c. */
#include <stdlib.h>
#include <string.h>

#include "batch_driver.h"

static void slurm_header(FILE *f, const hcmc__batch_job *J)
{
    const hcmc_batch_options *b = J->b;
    fprintf(f, "#SBATCH --job-name=%s\n", J->combine ? "hcmc-combine" : "hcmc-shards");
    fprintf(f, "#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=%zu\n", J->cpus);
    if (b->partition[0])
        fprintf(f, "#SBATCH --partition=%s\n", b->partition);
    if (b->account[0])
        fprintf(f, "#SBATCH --account=%s\n", b->account);
    if (b->qos[0])
        fprintf(f, "#SBATCH --qos=%s\n", b->qos);
    if (b->time[0])
        fprintf(f, "#SBATCH --time=%s\n", J->combine ? "1:00:00" : b->time);
    if (b->mem[0])
        fprintf(f, "#SBATCH --mem=%s\n", b->mem);
    /* a warning before the walltime: the worker stops cleanly (exit 75) */
    fprintf(f, "#SBATCH --signal=TERM@60\n");
    for (const char *p = b->extra; *p;) {
        size_t n = strcspn(p, "\n");
        if (n)
            fprintf(f, "#SBATCH %.*s\n", (int)n, p);
        p += n + (p[n] == '\n');
    }
}

static void slurm_submit_argv(const hcmc__batch_job *J, const char *script, char **argv,
                              char *arr, size_t arr_cap, char *dep, size_t dep_cap)
{
    int k = 0;
    argv[k++] = "sbatch";
    argv[k++] = "--parsable";
    /* the output path goes on the command line, not into #SBATCH lines,
     * so that any run directory name is safe */
    snprintf(dep, dep_cap, "--output=%s%s.out", J->log, J->combine ? "" : "_%a");
    argv[k++] = dep;
    if (J->combine) {
        snprintf(arr, arr_cap, "--dependency=afterany:%s", J->after);
    } else if (J->b->throttle) {
        snprintf(arr, arr_cap, "--array=0-%zu%%%zu", J->n - 1, J->b->throttle);
    } else {
        snprintf(arr, arr_cap, "--array=0-%zu", J->n - 1);
    }
    argv[k++] = arr;
    argv[k++] = (char *)script;
    argv[k] = NULL;
}

static bool slurm_parse_id(const char *out, char *job, size_t cap)
{
    /* --parsable: "jobid" or "jobid;cluster" */
    size_t n = strspn(out, "0123456789");
    if (!n || n >= cap || (out[n] && out[n] != ';' && out[n] != '\n'))
        return false;
    memcpy(job, out, n);
    job[n] = 0;
    return true;
}

/* Pending reasons that no amount of waiting clears. */
static bool never_starts(const char *reason)
{
    static const char *const stuck[] = {"PartitionNodeLimit",
                                        "PartitionTimeLimit",
                                        "PartitionConfig",
                                        "PartitionDown",
                                        "BadConstraints",
                                        "InvalidAccount",
                                        "InvalidQOS",
                                        "DependencyNeverSatisfied",
                                        "QOSMaxWallDurationPerJobLimit",
                                        "QOSMaxCpuPerJobLimit",
                                        "QOSMaxMemoryPerJob",
                                        "AssocMaxWallDurationPerJobLimit",
                                        "AssocMaxCpuPerJobLimit"};
    for (size_t k = 0; k < sizeof stuck / sizeof *stuck; k++)
        if (strstr(reason, stuck[k]))
            return true;
    return false;
}

static hcmc__job_state slurm_query(const char *job, char *why, size_t cap)
{
    char out[16384];
    char *argv[] = {"squeue", "-h", "-j", (char *)job, "-o", "%T|%r", NULL};
    int st = hcmc__batch_command(argv, out, sizeof out, 60);
    if (st < 0)
        return HCMC__JOB_ACTIVE; /* squeue did not answer: ask again later */
    if (st != 0)
        /* "Invalid job id specified": gone from the controller's memory */
        return strstr(out, "Invalid job id") ? HCMC__JOB_GONE : HCMC__JOB_ACTIVE;
    if (!out[0])
        return HCMC__JOB_GONE;
    bool all_pending = true, stuck = false;
    for (char *line = out, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        char *bar = strchr(line, '|');
        const char *reason = bar ? bar + 1 : "";
        if (bar)
            *bar = 0;
        if (strcmp(line, "PENDING")) {
            all_pending = false;
        } else if (never_starts(reason)) {
            stuck = true;
            snprintf(why, cap, "pending with reason %s", reason);
        }
    }
    return stuck ? HCMC__JOB_STUCK : all_pending ? HCMC__JOB_PENDING : HCMC__JOB_ACTIVE;
}

/* sinfo's CPUs per node of the partition (the default one without a
 * partition), the largest over its node groups ("2", "4+" read as 4). */
static size_t slurm_node_cpus(const hcmc_batch_options *b)
{
    char out[4096];
    char *argv[] = {"sinfo", "-h", "-o", "%c", NULL, NULL, NULL};
    if (b->partition[0]) {
        argv[4] = "-p";
        argv[5] = (char *)b->partition;
    }
    if (hcmc__batch_command(argv, out, sizeof out, 30) != 0)
        return 0;
    size_t most = 0;
    for (char *line = out, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        unsigned long v = strtoul(line, NULL, 10);
        most = v > most ? v : most;
    }
    return most;
}

static const hcmc__dialect slurm = {"slurm",      "scancel",         "sbatch",
                                    slurm_header, slurm_submit_argv, slurm_parse_id,
                                    slurm_query,  slurm_node_cpus,   "cpus_per_task"};

static bool slurm_available(void)
{
    char out[256];
    char *argv[] = {"sbatch", "--version", NULL};
    return hcmc__batch_command(argv, out, sizeof out, 30) == 0;
}

static int slurm_run(const hcmc_problem *p, const hcmc_shard_plan *plan,
                     const size_t *todo, size_t n_todo, const hcmc_nuts_settings *s,
                     const hcmc_backend_options *o, hcmc_error *err)
{
    return hcmc__batch_run(&slurm, p, plan, todo, n_todo, s, o, err);
}

const hcmc_backend hcmc__backend_slurm = {.name = "slurm",
                                          .available = slurm_available,
                                          .batch = true,
                                          .scheduler = HCMC_SCHEDULER_SLURM,
                                          .commands = "sbatch, squeue",
                                          .workers = hcmc__workers_each,
                                          .run = slurm_run};
