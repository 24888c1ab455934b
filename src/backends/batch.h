/* Internal to the backends, store and run layers: what batch jobs (hcmc worker)
 * and the batch backends (slurm, pbs) share through a run directory.
 *
 * RUN_DIR/plan.h5                the problem (written by the store layer)
 * RUN_DIR/shards/shard_N.h5      a finished shard (the store layer's format)
 * RUN_DIR/shards/shard_N.status  the worker's word on shard N: running,
 *                                ok, failed (why) or terminated (stopped
 *                                by a signal: run it again)
 * RUN_DIR/batch/                 job scripts, shard lists, scheduler logs */
#ifndef HCMC_BACKENDS_BATCH_H
#define HCMC_BACKENDS_BATCH_H

#include <stddef.h>

#include "hcmc/status.h"

typedef enum {
    HCMC__SHARD_UNKNOWN = 0, /* no status file (not started, or lost) */
    HCMC__SHARD_RUNNING,
    HCMC__SHARD_OK,
    HCMC__SHARD_FAILED,
    HCMC__SHARD_TERMINATED
} hcmc__shard_state;

typedef struct {
    hcmc__shard_state state;
    char host[64], job[64];
    long pid;
    double seconds;
    char message[512];
} hcmc__shard_status;

/* Exit status of hcmc worker when a signal stopped it before the shard was
 * done (SLURM's and PBS's warning before the walltime, preemption): the
 * shard can simply run again (sysexits' EX_TEMPFAIL). */
#define HCMC_WORKER_EXIT_TERMINATED 75

const char *hcmc__shard_state_name(hcmc__shard_state s);
/* Writes RUN_DIR/shards/shard_N.status atomically. */
int hcmc__status_write(const char *dir, size_t id, const hcmc__shard_status *st,
                       hcmc_error *err);
/* UNKNOWN when the file is missing or unreadable. */
void hcmc__status_read(const char *dir, size_t id, hcmc__shard_status *st);

#endif
