/* Where a run directory stands (hcmc status): the plan's shards, each
 * one's status file (src/backends/batch.h) or, without one, its shard file,
 * whether the run was combined, and the last batch job submitted. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../backends/batch.h"
#include "store.h"

int hcmc_dir_status_read(const char *dir, hcmc_dir_status *st, hcmc_error *err)
{
    memset(st, 0, sizeof *st);
    char path[HCMC_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/plan.h5", dir);
    int rc = hcmc__plan_shards(path, &st->shards, err);
    if (rc)
        return rc;
    for (size_t k = 0; k < st->shards; k++) {
        hcmc__shard_status s;
        hcmc__status_read(dir, k, &s);
        if (s.state == HCMC__SHARD_UNKNOWN) {
            /* a shard file without a status: sampled by a local backend */
            hcmc__shard_path(path, sizeof path, dir, k);
            hcmc__shard_file L = {0};
            hcmc_error e;
            if (!access(path, F_OK) && !hcmc__shard_file_read(path, &L, &e))
                s.state = L.failure[0] ? HCMC__SHARD_FAILED : HCMC__SHARD_OK;
            hcmc__shard_file_release(&L);
        }
        switch (s.state) {
        case HCMC__SHARD_OK:
            st->ok++;
            break;
        case HCMC__SHARD_FAILED:
            st->failed++;
            break;
        case HCMC__SHARD_RUNNING:
            st->running++;
            break;
        case HCMC__SHARD_TERMINATED:
            st->terminated++;
            break;
        default:
            st->missing++;
        }
    }
    snprintf(path, sizeof path, "%s/posterior.nc", dir);
    st->combined = access(path, F_OK) == 0;
    snprintf(path, sizeof path, "%s/batch/jobs", dir);
    FILE *f = fopen(path, "r");
    char line[sizeof st->last_job];
    while (f && fgets(line, sizeof line, f))
        snprintf(st->last_job, sizeof st->last_job, "%.*s", (int)strcspn(line, "\n"),
                 line);
    if (f)
        fclose(f);
    return HCMC_OK;
}
