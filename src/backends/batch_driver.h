/* Internal to the batch backends: the driver's loop (batch.c) and what a
 * scheduler supplies to it (slurm.c, pbs.c). */
#ifndef HCMC_BACKENDS_BATCH_DRIVER_H
#define HCMC_BACKENDS_BATCH_DRIVER_H

#include <stdio.h>

#include "batch.h"
#include "common.h"

/* One submission: a job array of n hcmc worker elements over the shard
 * list, or (combine) one hcmc combine job after job `after`. */
typedef struct {
    const hcmc_batch_options *b;
    const char *dir, *exe, *list;
    const char *log; /* scheduler output: log_<element>.out */
    size_t n, cpus;
    unsigned round;
    bool combine;
    const char *after;
} hcmc__batch_job;

typedef enum {
    HCMC__JOB_ACTIVE,  /* running, or pending for a reason that passes */
    HCMC__JOB_PENDING, /* waiting for resources */
    HCMC__JOB_STUCK,   /* pending for a reason that never passes */
    HCMC__JOB_GONE     /* no element left in the queue */
} hcmc__job_state;

typedef struct {
    const char *name, *cancel, *script_ext;
    /* the #SBATCH / #PBS lines of the job script */
    void (*header)(FILE *f, const hcmc__batch_job *J);
    /* the submit command's argv (NULL-terminated; arr and dep are buffers
     * it may point into) */
    void (*submit_argv)(const hcmc__batch_job *J, const char *script, char **argv,
                        char *arr, size_t arr_cap, char *dep, size_t dep_cap);
    /* the job id in the submit command's output */
    bool (*parse_id)(const char *out, char *job, size_t cap);
    hcmc__job_state (*query)(const char *job, char *why, size_t cap);
    /* the most CPUs a node of the job's partition/queue has; 0: unknown
     * (NULL: the scheduler is not asked) */
    size_t (*node_cpus)(const hcmc_batch_options *b);
    const char *cpus_key; /* the setting of CPUs per job (messages) */
} hcmc__dialect;

/* Runs argv without a shell, stdout and stderr into out (trailing blanks
 * cut), killed after timeout seconds. The exit status, or -1 when it could
 * not start or timed out (out says why). */
int hcmc__batch_command(char *const argv[], char *out, size_t cap, double timeout);
int hcmc__batch_check_all(const char *scheduler, const hcmc_batch_options *b,
                          hcmc_error *err);
int hcmc__batch_run(const hcmc__dialect *D, const hcmc_problem *p,
                    const hcmc_shard_plan *plan, const size_t *todo, size_t n_todo,
                    const hcmc_nuts_settings *s, const hcmc_backend_options *o,
                    hcmc_error *err);

#endif
