/* Internal: the run directory's formats (layer store, above config: a
 * plan file and summary.json record the configuration they came from).
 *   shard_file.c  shards/shard_NNNNN.h5, its path, and the reuse of a
 *                 finished shard (resume)
 *   summary.c     summary.json
 *   posterior.c   posterior.nc
 *   plan_file.c   plan.h5: a prepared problem for batch workers
 *   status.c      where a run directory stands (hcmc status)
 *   run_result.c  the hcmc_run_result these files hold
 * The status files of batch jobs are the batch driver's
 * (src/backends/batch.h). */
#ifndef HCMC_STORE_STORE_H
#define HCMC_STORE_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "hcmc/cmc.h"
#include "hcmc/config.h"
#include "hcmc/dataset.h"
#include "hcmc/nuts.h"
#include "hcmc/law.h"
#include "hcmc/run.h"

/* A law kind as the plan and shard files store it (law.h); an unknown one
 * reads as SHAPE, the only other kind of earlier files. */
static inline hcmc_law_kind hcmc__law_kind(double k)
{
    return k == HCMC_LAW_RATES   ? HCMC_LAW_RATES
           : k == HCMC_LAW_SLOPE ? HCMC_LAW_SLOPE
                                 : HCMC_LAW_SHAPE;
}

typedef struct {
    const char *created, *data_file, *checksum, *config_text;
    unsigned long long seed;
    const hcmc_nuts_draws *const *shard_draws; /* [K], NULL for a failed shard */
} hcmc_results_extra;

/* summary.json, with "format": "hcmc-summary" and "format_version": the
 * reader refuses another format or a newer version (and takes a file
 * without them as version 1). failure: why no posterior was made (NULL:
 * it was). */
#define HCMC__SUMMARY_FORMAT_NAME "hcmc-summary"
#define HCMC__SUMMARY_FORMAT 1
int hcmc__summary_write(const char *path, const hcmc_run_result *r,
                        const hcmc_config *c, const char *failure, hcmc_error *err);
/* posterior.nc: groups posterior (r->theta; left out when NULL: the shards
 * were not combined), sample_stats and shards (x->shard_draws). */
int hcmc__posterior_write(const char *path, const hcmc_run_result *r,
                          const hcmc_results_extra *x, hcmc_error *err);
/* A netCDF call in a function with int rc, hcmc_error *err, const char
 * *path and a label out: on failure rc and err say which file and why. */
#define NC_TRY(call)                                                                   \
    do {                                                                               \
        int nc_rc_ = (call);                                                           \
        if (nc_rc_ != NC_NOERR) {                                                      \
            rc = hcmc_error_set(err, HCMC_EIO, "%s: netCDF: %s", path,                 \
                                nc_strerror(nc_rc_));                                  \
            goto out;                                                                  \
        }                                                                              \
    } while (0)

/* The data_file attribute of the posterior.nc at path into buf; -1 when
 * there is no such file or attribute (or it does not fit). */
int hcmc__posterior_data_file(const char *path, char *buf, size_t cap);
/* t: the problem's target over all points (names and bounds of the
 * coordinates, so that a shard file can be constrained without the data). */
int hcmc__shard_file_write(const char *path, const hcmc_shard_result *r,
                           const hcmc_target *t, uint64_t fingerprint, hcmc_error *err);

/* "ok", "failed", "non-finite", ... of HCMC_SHARD_* (summary.json's words). */
const char *hcmc__shard_status_name(int status);

/* The path of shard id's file in run directory dir. */
void hcmc__shard_path(char *buf, size_t cap, const char *dir, size_t id);

/* A shard file read back (shard_file.c). Format 2 records the map of its
 * coordinates (the law blocks: first coordinate, reference time, slope
 * scale); format 1, without a version, had every bounded coordinate logit. */
typedef struct {
    hcmc_nuts_draws D;  /* sampling draws; theta from the file or the map */
    double *bounds;     /* [d][2] */
    char *names;        /* [d][40] */
    hcmc_coords coords; /* z -> theta without the data */
    size_t id, points, d, chains;
    uint64_t fingerprint;
    bool has_fingerprint;
    double seconds, rhat_max; /* NaN when the file does not say */
    size_t reruns;            /* chains run again (0 when the file does not say) */
    char failure[200];        /* non-empty: the shard failed, no draws */
    double *angles;           /* [n_angles] of its points (NULL: not recorded) */
    size_t n_angles;
} hcmc__shard_file;

/* 0 also for a failed shard's file (failure set); an error when the file
 * cannot be read or lacks what a result needs. Release either way. */
int hcmc__shard_file_read(const char *path, hcmc__shard_file *L, hcmc_error *err);
void hcmc__shard_file_release(hcmc__shard_file *L);

/* The shard file format this hcmc writes, and the one it reads at most. */
#define HCMC__SHARD_FORMAT 2

/* z -> theta through an hcmc_coords (ctx), for hcmc_combine_settings. */
void hcmc__coords_constrain(const void *ctx, const double *z, double *theta);

/* A finished shard of the problem with fingerprint fp in dir, as a
 * result; NULL when the file is missing, from another problem, failed or
 * unreadable (*stale set when it belongs to another problem; *damaged,
 * which may be NULL, when it could not be read). */
hcmc_shard_result *hcmc__shard_reuse(const char *dir, size_t id, size_t points,
                                     uint64_t fp, bool *stale, bool *damaged);

/* A prepared problem: what a run samples from (built by hcmc__prepare in
 * src/run/prepare.c) and what the plan file holds. */
typedef struct {
    hcmc_dataset ds; /* released once the points are made */
    hcmc_points pts;
    hcmc_shard_plan *plan;
    hcmc_problem *prob;
    hcmc_nuts_settings ns;
    uint64_t fingerprint;
    bool cmc; /* consensus Monte Carlo, else one NUTS run */
    double warm_start_seconds;
} hcmc__prepared;

/* Accepts a zeroed or partly filled P. */
void hcmc__prepared_release(hcmc__prepared *P);

/* DIR/plan.h5: the prepared problem and the configuration it came from
 * (text and overrides), so that a worker on any node rebuilds it without
 * the data file. The reader checks the fingerprint it recomputes against
 * the stored one: a plan damaged or made by another version is refused. */
int hcmc__plan_write(const char *path, const hcmc_config *c, const hcmc__prepared *P,
                     hcmc_error *err);
/* c receives the plan's configuration; release it and P either way. */
int hcmc__plan_read(const char *path, hcmc_config *c, hcmc__prepared *P,
                    hcmc_error *err);
/* The command-line overrides the plan at path was made with, one
 * "key=value" per line (malloc'd; NULL on error). */
char *hcmc__plan_overrides(const char *path, hcmc_error *err);
/* The number of shards of the plan at path, without reading the rest. */
int hcmc__plan_shards(const char *path, size_t *K, hcmc_error *err);

#endif
