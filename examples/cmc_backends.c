/* Consensus Monte Carlo through the library, without the hcmc command: a
 * data file and a configuration make a problem and a shard plan; a backend
 * chosen by name runs the shards, reporting progress; the shard posteriors
 * are combined in reference-rate coordinates, the combined draws corrected
 * by importance weighting with the full posterior (as hcmc run does when
 * every shard is kept) and read back in physical units.
 *
 *   example_cmc_backends CONFIG.yaml [BACKEND [SHARDS]]
 *
 * BACKEND: auto (default), serial, threads, multiprocessing, pool, ...
 * (hcmc_run does all of this, and writes the result files, in one call.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcmc/hcmc.h"

/* The backend hands every finished shard to a sink; keep them by id. */
static int keep_shard(void *user, hcmc_shard_result *r)
{
    hcmc_shard_result **results = user;
    results[r->id] = r;
    return 0;
}

/* Progress: backends report shards starting, retries, and a tick about
 * once a second. */
static void on_event(void *user, hcmc_backend_event ev, size_t shard,
                     const char *detail)
{
    (void)user;
    if (ev == HCMC_EVENT_STARTED)
        fprintf(stderr, "shard %zu started\n", shard);
    else if (ev == HCMC_EVENT_RETRY)
        fprintf(stderr, "shard %zu runs again: %s\n", shard, detail);
}

static void constrain(const void *target, const double *z, double *theta)
{
    hcmc_target_constrain(target, z, theta);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CONFIG.yaml [BACKEND [SHARDS]]\n", argv[0]);
        return 2;
    }
    const char *backend_name = argc > 2 ? argv[2] : "auto";
    size_t K = argc > 3 ? strtoul(argv[3], NULL, 10) : 4;
    hcmc_error err = {0};
    hcmc_config *c = calloc(1, sizeof *c);
    hcmc_dataset ds = {0};
    hcmc_points pts = {0};
    hcmc_shard_plan *plan = NULL;
    hcmc_problem *prob = NULL;
    hcmc_shard_result **results = NULL;
    hcmc_shard_draws *draws = NULL;
    hcmc_combine_result *comb = NULL;
    double *theta = NULL;
    double(*bounds)[2] = NULL, *base = NULL;
    int status = 1;
    if (!c)
        return 1;

    /* configuration and data -> points */
    if (hcmc_config_load(argv[1], c, &err))
        goto fail;
    hcmc_aps_select sel;
    hcmc_config_selection(c, &sel);
    if (hcmc_aps_read(c->data_file, &sel, &ds, NULL, &err) ||
        hcmc_dataset_to_points(&ds, 1, -1, &pts, NULL, &err))
        goto fail;
    hcmc_dataset_release(&ds);

    /* shard plan and problem (priors, scaling, warm start on all points) */
    if (hcmc_shard_plan_make(&pts, HCMC_STRATEGY_RANDOM, K, 0, 1, c->mode, c->seed,
                             &plan, &err))
        goto fail;
    K = plan->n_shards;
    hcmc_target_spec spec;
    hcmc_config_target_spec(c, &spec);
    spec.model.n_t = pts.n_t;
    if (hcmc_problem_new(&spec, &pts, K, c->init_phys, &prob, &err))
        goto fail;
    hcmc_nuts_settings ns;
    hcmc_nuts_settings_defaults(&ns);
    ns.num_warmup = c->num_warmup;
    ns.num_samples = c->num_samples;
    ns.num_chains = c->num_chains;
    ns.seed = c->seed;

    /* the backend, by name, and the run over every shard, longest first */
    const hcmc_backend *be = hcmc_backend_find(backend_name, K, 0, &err);
    if (!be)
        goto fail;
    results = calloc(K, sizeof *results);
    draws = calloc(K, sizeof *draws);
    if (!results || !draws)
        goto fail;
    hcmc_backend_options bo;
    hcmc_backend_options_defaults(&bo);
    bo.sink = keep_shard;
    bo.event = on_event;
    bo.user = results;
    fprintf(stderr, "%zu points, %zu shards, backend %s\n", pts.n, K, be->name);
    if (be->run(prob, plan, plan->order, K, &ns, &bo, &err))
        goto fail;

    /* combination in the sampling coordinates, the shards' shared base
     * divided out (combine.h) */
    const hcmc_target *t = hcmc_problem_target(prob);
    size_t d = hcmc_problem_dim(prob), np = hcmc_target_nphys(t);
    bounds = malloc(d * sizeof *bounds);
    base = malloc(d * sizeof *base);
    if (!bounds || !base)
        goto fail;
    for (size_t k = 0; k < d; k++)
        hcmc_target_bounds(t, k, &bounds[k][0], &bounds[k][1]);
    hcmc_target_base_precision(t, base);
    for (size_t k = 0; k < K; k++) {
        const hcmc_shard_result *r = results[k];
        if (!r || r->status || !r->nuts) {
            draws[k].failure = r ? r->message : "no result";
            continue;
        }
        draws[k] = (hcmc_shard_draws){.chains = r->nuts->num_chains,
                                      .draws = r->nuts->sampling.n,
                                      .dim = d,
                                      .z = r->nuts->sampling.z,
                                      .divergences = hcmc_nuts_divergences(r->nuts)};
    }
    hcmc_combine_settings cs;
    hcmc_combine_settings_defaults(&cs);
    if (hcmc_combine_method_parse(c->combination, &cs.method, &err))
        goto fail;
    cs.nphys = np;
    cs.constrain = constrain;
    cs.ctx = t;
    cs.bounds = (const double(*)[2])bounds;
    cs.seed = c->seed;
    cs.base_precision = base;
    if (hcmc_combine(draws, K, &cs, &comb, &err))
        goto fail;
    size_t G = comb->chains * comb->draws;
    hcmc_importance_info info = {0};
    if (K > 1 && comb->n_kept == K &&
        hcmc_importance_correct(t, comb->z, G, c->seed, HCMC_IMPORTANCE_MAX_KHAT, &info,
                                &err))
        goto fail;
    if (info.n)
        printf("importance correction %s: ESS %.0f of %zu, tail index %.2f\n",
               info.applied ? "applied" : "not applied", info.ess, info.n, info.khat);

    /* the combined draws, constrained, and their summaries */
    theta = malloc(G * d * sizeof *theta);
    if (!theta)
        goto fail;
    for (size_t g = 0; g < G; g++)
        hcmc_target_constrain(t, comb->z + g * d, theta + g * d);
    printf("combined with %s: %zu of %zu shards, %zu chains x %zu draws\n",
           hcmc_combine_method_name(cs.method), comb->n_kept, K, comb->chains,
           comb->draws);
    printf("%-20s %14s %12s %8s\n", "parameter", "mean", "sd", "R-hat");
    for (size_t k = 0; k < d; k++) {
        hcmc_param_summary s;
        if (hcmc_param_summarise(theta + k, comb->chains, comb->draws, d, &s))
            goto fail;
        printf("%-20s %14.8g %12.6g %8.4f\n", hcmc_problem_param_name(prob, k), s.mean,
               s.sd, s.rhat);
    }
    status = 0;
    goto done;
fail:
    fprintf(stderr, "error: %s\n", err.msg[0] ? err.msg : "out of memory");
done:
    free(theta);
    free(bounds);
    free(base);
    hcmc_combine_result_free(comb);
    free(draws);
    for (size_t k = 0; results && k < K; k++)
        hcmc_shard_result_free(results[k]);
    free(results);
    hcmc_problem_free(prob);
    hcmc_shard_plan_free(plan);
    hcmc_points_release(&pts);
    hcmc_dataset_release(&ds);
    hcmc_config_release(c);
    free(c);
    return status;
}
