/* The translation of a configuration into the settings of the layers
 * below it: the sampler's and the combination's. The run's seed enters a
 * run here: the sampler settings carry it on to the shard plan
 * (prepare.c) and to the importance correction. */
#include "config_internal.h"

void hcmc__config_nuts_settings(const hcmc_config *c, hcmc_nuts_settings *ns)
{
    hcmc_nuts_settings_defaults(ns);
    ns->num_warmup = c->num_warmup;
    ns->num_samples = c->num_samples;
    ns->num_chains = c->num_chains;
    ns->target_accept = c->target_accept_prob;
    ns->rerun_divergent = c->rerun_divergent;
    ns->rerun_target_accept = c->rerun_target_accept_prob;
    ns->max_tree_depth = c->max_tree_depth;
    ns->dense_mass = c->dense_mass;
    ns->parallel = c->chain_parallel;
    ns->seed = c->seed;
}

int hcmc__config_combine_settings(const hcmc_config *c, const hcmc_coords *co,
                                  double *base, hcmc_combine_settings *cs,
                                  hcmc_error *err)
{
    hcmc_combine_settings_defaults(cs);
    int rc = hcmc_combine_method_parse(c->combination, &cs->method, err);
    cs->max_divergence_rate = c->max_divergence_rate;
    cs->max_parameter_cv = c->max_parameter_cv;
    cs->heterogeneity_abort = c->heterogeneity_abort;
    cs->min_success_rate = c->min_success_rate;
    cs->seed = c->seed;
    for (size_t k = 0; k < co->dim; k++)
        base[k] = hcmc_coords_has_base(co, k) ? 1.0 : 0.0;
    cs->base_precision = c->prior_tempering ? base : NULL;
    return rc;
}
