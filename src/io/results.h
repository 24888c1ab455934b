/* Internal: the result-file writers of hcmc_run. */
#ifndef HCMC_IO_RESULTS_H
#define HCMC_IO_RESULTS_H

#include <stdbool.h>
#include <stdint.h>

#include "hcmc/cmc.h"
#include "hcmc/config.h"
#include "hcmc/run.h"

typedef struct {
    const char *created, *data_file, *checksum, *config_text;
    unsigned long long seed;
    const hcmc_nuts_draws *const *shard_draws; /* [K], NULL for a failed shard */
} hcmc_results_extra;

int hcmc__write_summary(const char *path, const hcmc_run_result *r,
                        const hcmc_config *c, const char *failure, hcmc_error *err);
int hcmc__write_posterior(const char *path, const hcmc_run_result *r,
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
int hcmc__write_shard(const char *path, const hcmc_shard_result *r,
                      const hcmc_target *t, uint64_t fingerprint, hcmc_error *err);

/* "ok", "failed", "non-finite", ... of HCMC_SHARD_* (summary.json's words). */
const char *hcmc__shard_status_name(int status);

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
    char failure[200];        /* non-empty: the shard failed, no draws */
} hcmc__shard_file;

/* 0 also for a failed shard's file (failure set); an error when the file
 * cannot be read or lacks what a result needs. Release either way. */
int hcmc__shard_file_read(const char *path, hcmc__shard_file *L, hcmc_error *err);
void hcmc__shard_file_release(hcmc__shard_file *L);

/* The shard file format this hcmc writes, and the one it reads at most. */
#define HCMC__SHARD_FORMAT 2

/* z -> theta through an hcmc_coords (ctx), for hcmc_combine_settings. */
void hcmc__coords_constrain(const void *ctx, const double *z, double *theta);

#endif
