/* Internal: the result-file writers of hcmc_run. */
#ifndef HCMC_IO_RESULTS_H
#define HCMC_IO_RESULTS_H

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
/* t: the problem's target over all points (names and bounds of the
 * coordinates, so that a shard file can be constrained without the data). */
int hcmc__write_shard(const char *path, const hcmc_shard_result *r,
                      const hcmc_target *t, hcmc_error *err);

#endif
