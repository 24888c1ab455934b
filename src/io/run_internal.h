/* Internal to the io layer: the first stage of hcmc_run (configuration ->
 * data -> shard plan -> problem -> sampler settings), which the plan file
 * of batch runs stores and the batch worker reads back. */
#ifndef HCMC_IO_RUN_INTERNAL_H
#define HCMC_IO_RUN_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "hcmc/cmc.h"
#include "hcmc/combine.h"
#include "hcmc/config.h"
#include "hcmc/dataset.h"
#include "hcmc/nuts.h"
#include "hcmc/importance.h"
#include "hcmc/run.h"

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

/* The sampler settings c asks for. */
void hcmc__nuts_settings_of(const hcmc_config *c, hcmc_nuts_settings *ns);
/* Reads the data and builds everything a run samples from. */
int hcmc__prepare(const hcmc_config *c, hcmc__prepared *P, hcmc_error *err);
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

/* Makes dir and dir/shards, writes dir/plan.h5 and dir/config.yaml. */
int hcmc__run_dir_init(const hcmc_config *c, const char *dir, const hcmc__prepared *P,
                       hcmc_error *err);
/* Applies one recorded override "key=value" to c (through hcmc_config_set);
 * with problem_only, not those that say where the results go (output.*) or
 * how to combine (optimization.cmc.combination.*): combine's own business. */
int hcmc__override_apply(hcmc_config *c, const char *s, bool problem_only,
                         hcmc_error *err);
/* The same for newline-separated lines (split in place). */
int hcmc__overrides_apply(hcmc_config *c, char *lines, bool problem_only,
                          hcmc_error *err);
/* The command-line overrides the plan at path was made with, one
 * "key=value" per line (malloc'd; NULL on error). */
char *hcmc__plan_overrides(const char *path, hcmc_error *err);
/* The number of shards of the plan at path, without reading the rest. */
int hcmc__plan_shards(const char *path, size_t *K, hcmc_error *err);

/* A finished shard of the problem with fingerprint fp in dir, as a
 * result; NULL when the file is missing, from another problem, failed or
 * unreadable (*stale set when it belongs to another problem; *damaged,
 * which may be NULL, when it could not be read). */
hcmc_shard_result *hcmc__shard_reuse(const char *dir, size_t id, size_t points,
                                     uint64_t fp, bool *stale, bool *damaged);

/* The base of the shards' targets (target.h) for the combination: base[d]
 * (filled: 1 where coordinate k of co has one, hcmc_coords_has_base) when
 * c tempers the prior, else none. */
void hcmc__combination_base(const hcmc_config *c, const hcmc_coords *co, double *base,
                            hcmc_combine_settings *cs);

/* Corrects the combined draws comb->z by importance weighting with the
 * posterior of the points of the shards combined (importance.h; all of
 * prob's when every shard was kept) and records what it did in
 * r->importance. ids[k]: the plan's shard of comb's entry k (NULL: k). A
 * failure or a heavy tail is a warning: the combination's draws stay. */
void hcmc__importance(const hcmc_problem *prob, const hcmc_shard_plan *plan,
                      const size_t *ids, hcmc_combine_result *comb, uint64_t seed,
                      hcmc_run_result *r);

/* The paths of a run directory's files for shard id. */
void hcmc__shard_path(char *buf, size_t cap, const char *dir, size_t id);

#endif
