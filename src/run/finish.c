/* The last stage of hcmc_run and hcmc_combine_dir: the combination of the
 * shards, the importance correction, the summary of the draws and the
 * result files. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcmc/importance.h"
#include "hcmc/log.h"
#include "hcmc/model.h"
#include "hcmc/prior.h"
#include "hcmc/rng.h"
#include "hcmc/timing.h"
#include "../cmc/cmc_internal.h"
#include "../config/config_internal.h"
#include "run_internal.h"

static void report_importance(const hcmc_importance_info *im, double seconds)
{
    if (im->applied)
        hcmc_log(HCMC_LOG_INFO,
                 "importance correction: ESS %.0f of %zu proposals, tail index %.2f, "
                 "%zu round%s (%.1f s)",
                 im->ess, im->n, im->khat, im->rounds, im->rounds == 1 ? "" : "s",
                 seconds);
    else
        hcmc_log(HCMC_LOG_WARN,
                 "importance correction not applied: tail index %.2f above %g (ESS "
                 "%.0f of %zu, %zu rounds)",
                 im->khat, HCMC_IMPORTANCE_MAX_KHAT, im->ess, im->n, im->rounds);
}

void hcmc__importance(const hcmc_problem *prob, const hcmc_shard_plan *plan,
                      const size_t *ids, hcmc_combine_result *comb,
                      const hcmc_nuts_settings *ns, const hcmc_config *c,
                      hcmc_run_result *r)
{
    uint64_t seed = ns->seed;
    hcmc_error e;
    double t0 = hcmc_seconds();
    size_t G = comb->chains * comb->draws, K = comb->n_shards;
    const hcmc_target *full = hcmc_problem_target(prob);
    /* the posterior of the points that were combined: without excluded or
     * failed shards (an outlier's data must not come back this way) */
    hcmc_target *kept = NULL;
    hcmc_points sub = {0};
    int rc = 0;
    if (comb->n_kept < K) {
        size_t n = 0, *idx = malloc(plan->start[plan->n_shards] * sizeof(size_t));
        if (!idx)
            rc = hcmc_error_set(&e, HCMC_ENOMEM, "out of memory");
        for (size_t k = 0; !rc && k < K; k++) {
            size_t id = ids ? ids[k] : k;
            if (comb->status[k] != HCMC_SHARD_KEPT || id >= plan->n_shards)
                continue;
            for (size_t i = plan->start[id]; i < plan->start[id + 1]; i++)
                idx[n++] = plan->idx[i];
        }
        if (!rc)
            rc = hcmc_points_subset(hcmc_target_points(full), idx, n, &sub, &e);
        if (!rc)
            rc = hcmc_target_new(hcmc__problem_spec(prob), &sub, &kept, &e);
        free(idx);
    }
    if (!rc)
        rc = hcmc_importance_correct(kept ? kept : full, comb->z, G, seed,
                                     HCMC_IMPORTANCE_MAX_KHAT, &r->importance, &e);
    if (rc) {
        hcmc_log(HCMC_LOG_WARN,
                 "importance correction not made (%s); the draws are "
                 "the combination's",
                 e.msg);
        memset(&r->importance, 0, sizeof r->importance);
    } else
        report_importance(&r->importance, hcmc_seconds() - t0);
    /* with the points combined only (not after a failure to allocate: a run
     * would fail the same way) */
    if (rc != HCMC_ENOMEM && (kept || comb->n_kept == K))
        hcmc__refine(prob, hcmc_target_points(kept ? kept : full), ns, c, rc == 0, comb,
                     r);
    hcmc_target_free(kept);
    hcmc_points_release(&sub);
}

/* A shard's sampling statistics for the verdict: transitions, trees that
 * reached the depth limit, the smallest E-BFMI of its chains. */
static void shard_stats(const hcmc_nuts_draws *D, size_t chains, int max_depth,
                        hcmc_run_shard *o)
{
    o->ebfmi_min = NAN;
    if (!D || !chains)
        return;
    o->transitions = chains * D->n;
    o->treedepth_hits = 0;
    for (size_t g = 0; D->tree_depth && g < chains * D->n; g++)
        o->treedepth_hits += D->tree_depth[g] >= max_depth;
    for (size_t ch = 0; D->energy && D->n > 2 && ch < chains; ch++) {
        double e = hcmc_ebfmi(D->energy + ch * D->n, D->n);
        if (isfinite(e) && !(e >= o->ebfmi_min))
            o->ebfmi_min = e;
    }
}

static hcmc_results_extra extra_of(const hcmc_config *c, const hcmc__finish_input *in)
{
    return (hcmc_results_extra){in->created,
                                in->data_file,
                                in->checksum,
                                c->text ? c->text : "",
                                (unsigned long long)c->seed,
                                in->shard_draws};
}

/* A run whose shards could not be combined: summary.json says why (no
 * parameter table) and posterior.nc holds the shards' own draws (groups
 * shards and sample_stats, no posterior), so that the plots and the report
 * show what the shards found. Failures here are warnings: the error that
 * got here is the one to report. */
static void write_uncombined(const hcmc_config *c, const hcmc__finish_input *in,
                             hcmc_run_result *r, const char *why)
{
    hcmc_error e;
    char path[HCMC_PATH_MAX + 32];
    size_t d = r->dim;
    snprintf(path, sizeof path, "%s/summary.json", in->dir);
    r->seconds = hcmc_seconds() - in->t0;
    r->dim = 0;
    if (hcmc__summary_write(path, r, c, why, &e))
        hcmc_log(HCMC_LOG_WARN, "%s", e.msg);
    r->dim = d;
    r->chains = r->draws = 0;
    for (size_t k = 0; k < in->K && !r->chains; k++)
        if (in->shard_draws[k] && in->draws[k].z) {
            r->chains = in->draws[k].chains;
            r->draws = in->draws[k].draws;
        }
    snprintf(path, sizeof path, "%s/posterior.nc", in->dir);
    hcmc_results_extra x = extra_of(c, in);
    if (!r->chains) /* no shard has draws: an earlier run's file is not this one's */
        remove(path);
    else if (hcmc__posterior_write(path, r, &x, &e))
        hcmc_log(HCMC_LOG_WARN, "the shards' draws: %s", e.msg);
}

/* r->law_kind from the law blocks of co, told apart by the name of their
 * first parameter. */
static void law_kinds(const hcmc_coords *co, hcmc_run_result *r)
{
    r->law_kind[0] = r->law_kind[1] = -1;
    for (size_t l = 0; co && l < co->nlaw; l++) {
        size_t k = co->law_at[l];
        if (k < r->dim && !strcmp(r->names[k], "D0"))
            r->law_kind[0] = (int)co->law[l].kind;
        else if (k < r->dim && !strcmp(r->names[k], "gamma_dot_t0"))
            r->law_kind[1] = (int)co->law[l].kind;
    }
}

int hcmc__finish(const hcmc_config *c, const hcmc__finish_input *in, hcmc_run_result *r,
                 hcmc_error *err)
{
    size_t K = in->K, d = r->dim;
    hcmc_combine_result *comb = NULL;
    hcmc_combine_settings cs;
    double *base = malloc(d * sizeof(double));
    if (!base)
        return hcmc_error_set(err, HCMC_ENOMEM, "combine: out of memory");
    int rc = hcmc__config_combine_settings(c, in->coords, base, &cs, err);
    hcmc__mirror mir;
    bool has_mirror = hcmc__mirror_of(c, r, in->bounds, in->nphys, &mir);
    cs.nphys = in->nphys;
    cs.constrain = in->constrain;
    cs.ctx = in->ctx;
    cs.bounds = in->bounds;
    hcmc_shard_draws *draws = malloc(K * sizeof *draws);
    double **folded = NULL;
    if (!draws)
        rc = hcmc_error_set(err, HCMC_ENOMEM, "combine: out of memory");
    if (!rc) {
        memcpy(draws, in->draws, K * sizeof *draws);
        folded = has_mirror ? hcmc__mirror_shards(&mir, in, r, draws)
                            : hcmc__search_shards(in, r, draws);
        rc = hcmc_combine(draws, K, &cs, &comb, err);
    }
    for (size_t k = 0; folded && k < K; k++)
        free(folded[k]);
    free(folded);
    free(draws);
    free(base);
    /* what is known about the shards goes into the result either way */
    r->n_shards = K;
    r->seed = c->seed;
    for (size_t k = 0; k < K; k++) {
        hcmc_run_shard *o = &r->shards[k];
        shard_stats(in->shard_draws[k], in->draws[k].chains, c->max_tree_depth, o);
        if (comb) {
            o->status = comb->status[k];
            snprintf(o->reason, sizeof o->reason, "%s", comb->reason[k]);
        } else if (in->draws[k].failure) {
            o->status = HCMC_SHARD_FAILED;
            snprintf(o->reason, sizeof o->reason, "%s", in->draws[k].failure);
        }
    }
    if (rc) {
        const char *why = err ? err->msg : "combination failed";
        r->n_kept = comb ? comb->n_kept : 0;
        hcmc_combine_result_free(comb); /* the shards' status only */
        hcmc__verdict_failed(c, r, why);
        if (in->summary_on_failure)
            write_uncombined(c, in, r, why);
        return rc;
    }
    if (c->importance_correction && K > 1 && in->correct)
        in->correct(in->user, comb, r);
    if (in->modes)
        in->modes(in->user, comb, r, has_mirror ? &mir : NULL);
    /* combined draws in constrained units, their summary */
    r->n_kept = comb->n_kept;
    r->chains = comb->chains;
    r->draws = comb->draws;
    size_t G = r->chains * r->draws;
    r->theta = malloc(G * d * sizeof(double));
    r->summary = calloc(d, sizeof *r->summary);
    if (!r->theta || !r->summary) {
        hcmc_combine_result_free(comb);
        return hcmc_error_set(err, HCMC_ENOMEM, "combine: out of memory");
    }
    for (size_t g = 0; g < G; g++)
        in->constrain(in->ctx, comb->z + g * d, r->theta + g * d);
    hcmc_combine_result_free(comb);
    for (size_t k = 0; k < d; k++)
        hcmc_param_summarise(r->theta + k, r->chains, r->draws, d, &r->summary[k]);
    hcmc__modes_summary(r);
    if (has_mirror)
        hcmc__mirror_expand(&mir, c, r);
    law_kinds(in->coords, r);
    hcmc__verdict(c, r, in->bounds, in->nphys);
    r->seconds = hcmc_seconds() - in->t0;
    /* files */
    hcmc_results_extra x = extra_of(c, in);
    char path[HCMC_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/summary.json", in->dir);
    if ((rc = hcmc__summary_write(path, r, c, NULL, err)))
        return rc;
    snprintf(path, sizeof path, "%s/posterior.nc", in->dir);
    return hcmc__posterior_write(path, r, &x, err);
}
