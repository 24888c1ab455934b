/* The pbs backend: PBS Pro (qsub -J, PBS_ARRAY_INDEX, select) by default,
 * Torque (qsub -t, PBS_ARRAYID, nodes/ppn) with dialect: torque. Polled
 * with qstat. The driver's loop is batch.c. */
#include <stdlib.h>
#include <string.h>

#include "batch_driver.h"

static bool torque(const hcmc__batch_job *J)
{
    return !strcmp(J->b->dialect, "torque");
}

static void pbs_header(FILE *f, const hcmc__batch_job *J)
{
    const hcmc_batch_options *b = J->b;
    fprintf(f, "#PBS -N %s\n#PBS -j oe\n", J->combine ? "hcmc-combine" : "hcmc-shards");
    if (torque(J)) {
        fprintf(f, "#PBS -l nodes=1:ppn=%zu\n", J->cpus);
        if (b->mem[0])
            fprintf(f, "#PBS -l mem=%s\n", b->mem);
    } else {
        fprintf(f, "#PBS -l select=1:ncpus=%zu%s%s\n", J->cpus,
                b->mem[0] ? ":mem=" : "", b->mem);
    }
    if (b->time[0])
        fprintf(f, "#PBS -l walltime=%s\n", J->combine ? "1:00:00" : b->time);
    if (b->partition[0])
        fprintf(f, "#PBS -q %s\n", b->partition);
    if (b->account[0])
        fprintf(f, "#PBS -A %s\n", b->account);
    for (const char *p = b->extra; *p;) {
        size_t n = strcspn(p, "\n");
        if (n)
            fprintf(f, "#PBS %.*s\n", (int)n, p);
        p += n + (p[n] == '\n');
    }
}

static void pbs_submit_argv(const hcmc__batch_job *J, const char *script, char **argv,
                            char *arr, size_t arr_cap, char *dep, size_t dep_cap)
{
    int k = 0;
    argv[k++] = "qsub";
    /* scheduler output beside the scripts (a directory: PBS names the
     * files after the job) */
    argv[k++] = "-o";
    snprintf(dep, dep_cap, "%s.out", J->log);
    argv[k++] = dep;
    if (J->combine) {
        argv[k++] = "-W";
        snprintf(arr, arr_cap, "depend=%s:%s", torque(J) ? "afteranyarray" : "afterany",
                 J->after);
        argv[k++] = arr;
    } else if (J->n > 1 || torque(J)) { /* PBS Pro has no one-element arrays */
        argv[k++] = torque(J) ? "-t" : "-J";
        snprintf(arr, arr_cap, "0-%zu", J->n - 1);
        argv[k++] = arr;
    }
    argv[k++] = (char *)script;
    argv[k] = NULL;
}

static bool pbs_parse_id(const char *out, char *job, size_t cap)
{
    /* "123.server", "123[].server" or "123" on the last line */
    const char *last = strrchr(out, '\n');
    last = last ? last + 1 : out;
    size_t n = strcspn(last, " \t\n");
    if (!n || n >= cap || last[0] < '0' || last[0] > '9')
        return false;
    memcpy(job, last, n);
    job[n] = 0;
    return true;
}

static hcmc__job_state pbs_query(const char *job, char *why, size_t cap)
{
    (void)why;
    (void)cap;
    char out[16384];
    char *argv[] = {"qstat", (char *)job, NULL};
    int st = hcmc__batch_command(argv, out, sizeof out, 60);
    if (st < 0)
        return HCMC__JOB_ACTIVE;
    if (st != 0)
        /* "Unknown Job Id", "Job has finished" */
        return strstr(out, "nknown") || strstr(out, "finished") ||
                       strstr(out, "Invalid")
                   ? HCMC__JOB_GONE
                   : HCMC__JOB_ACTIVE;
    /* a finished job may still be listed with state C (Torque) or F */
    char num[64];
    snprintf(num, sizeof num, "%.*s", (int)strcspn(job, ".["), job);
    for (char *line = out, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        if (strncmp(line, num, strlen(num)))
            continue;
        /* columns: id name user time state queue */
        char id[128], name[128], user[128], t[64], state[16];
        if (sscanf(line, "%127s %127s %127s %63s %15s", id, name, user, t, state) ==
                5 &&
            strcmp(state, "C") && strcmp(state, "F") && strcmp(state, "E"))
            return HCMC__JOB_ACTIVE;
    }
    return HCMC__JOB_GONE;
}

/* pbsnodes' CPUs per node, the largest over the nodes (PBS Pro's
 * "resources_available.ncpus = N", Torque's "np = N"); 0 when pbsnodes is
 * missing or says neither. Over all nodes, not the queue's: an upper
 * bound, so that no job that fits some node is refused. */
static size_t pbs_node_cpus(const hcmc_batch_options *b)
{
    (void)b;
    static char out[1 << 16];
    char *argv[] = {"pbsnodes", "-a", NULL};
    if (hcmc__batch_command(argv, out, sizeof out, 30) != 0)
        return 0;
    size_t most = 0;
    for (char *line = out, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        while (*line == ' ' || *line == '\t')
            line++;
        const char *v = !strncmp(line, "resources_available.ncpus", 25) ? line + 25
                        : !strncmp(line, "np ", 3) || !strncmp(line, "np=", 3)
                            ? line + 2
                            : NULL;
        if (!v)
            continue;
        while (*v == ' ' || *v == '=')
            v++;
        unsigned long n = strtoul(v, NULL, 10);
        most = n > most ? n : most;
    }
    return most;
}

static const hcmc__dialect pbs = {"pbs",      "qdel",          "pbs",
                                  pbs_header, pbs_submit_argv, pbs_parse_id,
                                  pbs_query,  pbs_node_cpus,   "ncpus"};

static bool pbs_available(void)
{
    char out[256];
    char *argv[] = {"qstat", "--version", NULL};
    return hcmc__batch_command(argv, out, sizeof out, 30) >= 0;
}

static int pbs_run(const hcmc_problem *p, const hcmc_shard_plan *plan,
                   const size_t *todo, size_t n_todo, const hcmc_nuts_settings *s,
                   const hcmc_backend_options *o, hcmc_error *err)
{
    return hcmc__batch_run(&pbs, p, plan, todo, n_todo, s, o, err);
}

const hcmc_backend hcmc__backend_pbs = {.name = "pbs",
                                        .available = pbs_available,
                                        .batch = true,
                                        .scheduler = HCMC_SCHEDULER_PBS,
                                        .commands = "qsub, qstat",
                                        .workers = hcmc__workers_each,
                                        .run = pbs_run};
