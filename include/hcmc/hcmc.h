/* hcmc: Bayesian analysis of XPCS two-time correlations by Consensus Monte
 * Carlo. Umbrella header of the public API. */
#ifndef HCMC_HCMC_H
#define HCMC_HCMC_H

#include "hcmc/aps.h"
#include "hcmc/backend.h"
#include "hcmc/cmc.h"
#include "hcmc/combine.h"
#include "hcmc/config.h"
#include "hcmc/dataset.h"
#include "hcmc/importance.h"
#include "hcmc/diagnostics.h"
#include "hcmc/log.h"
#include "hcmc/model.h"
#include "hcmc/nuts.h"
#include "hcmc/plot.h"
#include "hcmc/points.h"
#include "hcmc/prior.h"
#include "hcmc/coords.h"
#include "hcmc/law.h"
#include "hcmc/rng.h"
#include "hcmc/run.h"
#include "hcmc/status.h"
#include "hcmc/stop.h"
#include "hcmc/target.h"
#include "hcmc/timing.h"
#include "hcmc/version.h"
#include "hcmc/warmstart.h"

#endif
