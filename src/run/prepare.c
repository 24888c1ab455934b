/* The first stage of a run: configuration -> data -> points -> shard plan
 * -> problem (with its warm start) -> sampler settings, and the
 * fingerprint that ties shard files to that problem. */
#include <string.h>

#include "hcmc/aps.h"
#include "hcmc/log.h"
#include "hcmc/timing.h"
#include "../config/config_internal.h"
#include "run_internal.h"

int hcmc__prepare(const hcmc_config *c, hcmc__prepared *P, hcmc_error *err)
{
    return hcmc__prepare_from(c, NULL, P, err);
}

int hcmc__prepare_from(const hcmc_config *c, const hcmc_dataset *ds, hcmc__prepared *P,
                       hcmc_error *err)
{
    memset(P, 0, sizeof *P);
    int rc;
    if (!ds && !c->data_file[0])
        return hcmc_error_set(err, HCMC_EINVAL,
                              "%s: no data file (experimental_data.file_path)",
                              c->source);
    hcmc_aps_select sel;
    hcmc_config_selection(c, &sel);
    if ((rc = ds ? hcmc_dataset_select(ds, &sel, &P->ds, err)
                 : hcmc_aps_read(c->data_file, &sel, &P->ds, NULL, err)))
        return rc;
    hcmc_points_report prep;
    if ((rc = hcmc_dataset_to_points(&P->ds, 1, -1, &P->pts, &prep, err)))
        return rc;
    if (prep.n_nonfinite)
        hcmc_log(HCMC_LOG_WARN,
                 "%s: %zu values of the selected maps are not finite (NaN or Inf) and "
                 "are left out",
                 P->ds.source, prep.n_nonfinite);
    /* the points are all a run needs: the c2 matrices go before workers
     * are forked, which would otherwise each map them (copy-on-write) */
    hcmc_dataset_release(&P->ds);
    /* the sampler settings first: they carry the run's seed (settings.c) */
    hcmc__config_nuts_settings(c, &P->ns);
    /* CMC or one NUTS run */
    /* CMC or one NUTS run: auto shards from min_points_for_cmc points, or
     * when a number of shards is asked for */
    bool small = P->pts.n < c->min_points_for_cmc;
    P->cmc = c->cmc_enable == HCMC_ON ||
             (c->cmc_enable == HCMC_AUTO && (!small || c->num_shards > 1));
    if (c->cmc_enable == HCMC_AUTO && small && c->num_shards > 1)
        hcmc_log(HCMC_LOG_INFO,
                 "%zu shards as asked for, although the data have %zu points, fewer "
                 "than min_points_for_cmc = %zu (without num_shards: one NUTS run on "
                 "all of them)",
                 c->num_shards, P->pts.n, c->min_points_for_cmc);
    hcmc_shard_strategy strategy;
    if ((rc = hcmc_shard_strategy_parse(c->strategy, &strategy, err)))
        return rc;
    if ((rc = hcmc_shard_plan_make(&P->pts, strategy, P->cmc ? c->num_shards : 1,
                                   P->cmc ? c->max_points_per_shard : 0, 1, c->mode,
                                   P->ns.seed, &P->plan, err)))
        return rc;
    size_t K = P->plan->n_shards;
    hcmc_log(HCMC_LOG_INFO, "%zu points from %s; %s, %zu shard%s", P->pts.n,
             ds ? (ds->source[0] ? ds->source : "data in memory") : c->data_file,
             P->cmc ? "consensus Monte Carlo" : "one NUTS run", K, K == 1 ? "" : "s");
    hcmc_target_spec spec;
    hcmc_config_target_spec(c, &spec);
    spec.model.n_t = P->pts.n_t;
    double tw = hcmc_seconds();
    rc = hcmc_problem_new(&spec, &P->pts, K, c->init_phys, &P->prob, err);
    if ((rc = hcmc__check_decay(&spec, &P->pts, P->prob, rc, err)))
        return rc;
    hcmc__check_mirror(&P->pts, P->prob);
    P->warm_start_seconds = hcmc_seconds() - tw;
    P->fingerprint = hcmc_problem_fingerprint(P->prob, P->plan, &P->ns);
    return HCMC_OK;
}
