/* Internal: the translation of a configuration into the settings of the
 * layers below (settings.c), and the overrides a run recorded applied to a
 * configuration again (overrides.c). */
#ifndef HCMC_CONFIG_INTERNAL_H
#define HCMC_CONFIG_INTERNAL_H

#include <stdbool.h>

#include "hcmc/combine.h"
#include "hcmc/config.h"
#include "hcmc/coords.h"
#include "hcmc/nuts.h"

/* The sampler settings c asks for (the run's seed among them). */
void hcmc__config_nuts_settings(const hcmc_config *c, hcmc_nuts_settings *ns);

/* The combination settings c asks for: method, gates, seed, and the base
 * of the shards' targets (target.h): base[co->dim] is filled (1 where
 * coordinate k of co has one, hcmc_coords_has_base) and used when c
 * tempers the prior. The caller sets nphys, constrain, ctx and bounds. */
int hcmc__config_combine_settings(const hcmc_config *c, const hcmc_coords *co,
                                  double *base, hcmc_combine_settings *cs,
                                  hcmc_error *err);

/* Applies one recorded override "key=value" to c (through hcmc_config_set);
 * with problem_only, not those that say where the results go (output.*) or
 * how to combine (optimization.cmc.combination.*): combine's own business. */
int hcmc__override_apply(hcmc_config *c, const char *s, bool problem_only,
                         hcmc_error *err);
/* The same for newline-separated lines (split in place). */
int hcmc__overrides_apply(hcmc_config *c, char *lines, bool problem_only,
                          hcmc_error *err);

#endif
