/* The refinement of a combination (run.h, hcmc_refine_info): NUTS on the
 * posterior of the points combined, started from the corrected draws.
 *
 * The Gaussian rules combine the shards' posteriors as if each were
 * Gaussian, and the importance correction can only reweigh what its
 * proposals (Gaussian or Student-t in the sampling coordinates) reach.
 * Where the shards' posteriors are far from Gaussian, a tail that bends
 * away from those proposals keeps too little weight however many are
 * drawn: on the steady-shear file of the validation catalogue the
 * correction was applied at tail index 0.65 and gave beta an sd of 0.23,
 * where NUTS on all points gives 0.28-0.32 whatever its coordinates. A
 * Markov chain on the full posterior has no such limit: it leaves the
 * posterior invariant, so chains that start from the corrected draws (near
 * the posterior already) and pass R-hat are draws of it. The cost is that of
 * one run on the points combined, which is why it is made only where the
 * combination was not close: the importance correction needed more than
 * its first round (the Gaussian combination's weights had a tail index
 * above HCMC_IMPORTANCE_GOOD_KHAT or an ESS below half the draws), or was
 * not applied, or could not be made. And only where it costs no more than
 * HCMC__ONE_RUN_BUDGET times the shards' sampling took, or HCMC__ONE_RUN_FREE_S: one
 * run on all points is what CMC spares a cluster (100 shards sampled at once would take
 * about 100 times as long again); beyond that auto leaves the corrected draws, says so,
 * and combination.refine: always makes it.
 *
 * Where its draws fall short of the verdict's R-hat or ESS, the chains go
 * on to twice their length (hcmc_nuts_extend: the draws a run twice as
 * long would have made), every second draw kept, up to REFINE_LONGEST
 * times: a refinement is wanted where the posterior is hard, and the
 * chains' length is the standard remedy there (on the brownian file of the
 * validation catalogue, seed 42, the chains' R-hat was 1.011 at ESS 634,
 * where seeds 1-4 gave 1.002-1.005 at 904-1 094).
 *
 * The chains sample in the coordinates one run on all points would
 * (hcmc__problem_refine_spec): a rate law whose exponent is 3 shard sd
 * from 0 may be many sd from 0 on all points, where rates coordinates
 * serve better than the slope coordinates chosen for the shards. The
 * draws go there and back through the parameters themselves. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hcmc/diagnostics.h"
#include "hcmc/log.h"
#include "hcmc/nuts.h"
#include "hcmc/timing.h"
#include "../cmc/cmc_internal.h"
#include "run_internal.h"

/* The sampler's stream key for the refinement: no shard has it. */
#define REFINE_STREAM UINT32_MAX
/* the longest chains, in units of the draws kept */
#define REFINE_LONGEST 4
/* The least share of the corrected draws that must have coordinates in
 * the one run's for them to set its start and first metric (the others
 * are values rounded onto a bound, in a tail): a few per cent left out
 * move a mean and covariance that only start the warmup by a few per cent
 * of an sd at most. */
#define REFINE_MIN_KEPT 0.95

/* Its time: about that of the shards combined, one after another (a
 * shard's NUTS costs its points times its gradients, and the posterior of
 * all points needs about as many gradients as a shard's). */
double hcmc__one_run_estimate(const hcmc_run_result *r, double *wall)
{
    double s = 0;
    *wall = r->sampling_seconds; /* 0 in hcmc combine: the longest shard's then */
    for (size_t k = 0; k < r->n_shards; k++)
        if (r->shards[k].status == HCMC_SHARD_KEPT) {
            s += r->shards[k].seconds;
            *wall = fmax(*wall, r->shards[k].seconds);
        }
    return s;
}

static bool wanted(const char *mode, const hcmc_run_result *r, bool made, char *why,
                   size_t cap)
{
    const hcmc_importance_info *im = &r->importance;
    if (!strcmp(mode, "never"))
        return false;
    if (!strcmp(mode, "always"))
        snprintf(why, cap, "combination.refine is always");
    else if (!made)
        snprintf(why, cap, "the importance correction could not be made");
    else if (!im->applied)
        snprintf(why, cap,
                 "the importance correction was not applied (tail index %.2f)",
                 im->khat);
    else if (im->rounds > 1)
        snprintf(why, cap,
                 "the importance correction needed %zu rounds: the shards' posteriors "
                 "are far from Gaussian",
                 im->rounds);
    else
        return false;
    return true;
}

/* auto and too long: a warning, and the verdict's */
static bool affordable(const char *mode, hcmc_run_result *r)
{
    hcmc_refine_info *ri = &r->refine;
    double wall;
    ri->estimate = hcmc__one_run_estimate(r, &wall);
    double budget = fmax(HCMC__ONE_RUN_BUDGET * wall, HCMC__ONE_RUN_FREE_S);
    if (strcmp(mode, "auto") || ri->estimate <= budget)
        return true;
    ri->skipped = true;
    hcmc_log(HCMC_LOG_WARN,
             "refinement not made: %s, but it would take about %.0f s, more than %g "
             "times the shards' sampling (combination.refine: always makes it)",
             ri->why, ri->estimate, (double)HCMC__ONE_RUN_BUDGET);
    return false;
}

long hcmc__recoordinate(const hcmc_target *from, const hcmc_target *to, double *z,
                        size_t G, size_t d, double *theta, bool *keep)
{
    long n = 0;
    for (size_t g = 0; g < G; g++) {
        hcmc_target_constrain(from, z + g * d, theta);
        bool ok = !hcmc_coords_unconstrain(hcmc_target_coords(to), theta, z + g * d);
        if (!ok && !keep)
            return -1;
        if (keep)
            keep[g] = ok;
        n += ok;
    }
    return keep ? n : 0;
}

/* Whether draws z ([chain][draw][dim], t's coordinates) meet c's R-hat and
 * ESS bars in every parameter; th: room for them in parameters. */
static bool converged(const hcmc_target *t, const double *z, size_t chains,
                      size_t draws, size_t d, double *th, const hcmc_config *c)
{
    for (size_t g = 0; g < chains * draws; g++)
        hcmc_target_constrain(t, z + g * d, th + g * d);
    for (size_t k = 0; k < d; k++) {
        double rh = hcmc_rhat(th + k, chains, draws, d),
               eb = hcmc_ess_bulk(th + k, chains, draws, d),
               et = hcmc_ess_tail(th + k, chains, draws, d);
        if (!(rh <= c->verdict_max_rhat) || !(eb >= c->verdict_min_ess) ||
            !(et >= c->verdict_min_ess))
            return false;
    }
    return true;
}

void hcmc__refine(const hcmc_problem *prob, const hcmc_points *pts,
                  const hcmc_nuts_settings *ns, const hcmc_config *c, bool made,
                  hcmc_combine_result *comb, hcmc_run_result *r)
{
    const char *mode = c->refine;
    hcmc_refine_info *ri = &r->refine;
    memset(ri, 0, sizeof *ri);
    if (!wanted(mode, r, made, ri->why, sizeof ri->why) || !affordable(mode, r))
        return;
    double t0 = hcmc_seconds();
    size_t d = comb->dim, G = comb->chains * comb->draws;
    hcmc_error e;
    /* the posterior itself: prior and Jacobian whole, in one run's
     * coordinates */
    hcmc_target_spec s;
    hcmc_target *t = NULL;
    hcmc_nuts_result *nr = NULL;
    const hcmc_target *shard_coords = hcmc_problem_target(prob);
    double *mu = calloc(d, sizeof(double)), *C = calloc(d * d, sizeof(double));
    double *z = malloc(G * d * sizeof(double)), *theta = malloc(d * sizeof(double));
    double *th = malloc(G * d * sizeof(double));
    hcmc__problem_refine_spec(prob, &s);
    int rc = mu && C && z && theta && th ? hcmc_target_new(&s, pts, &t, &e)
                                   : hcmc_error_set(&e, HCMC_ENOMEM, "out of memory");
    if (!rc && hcmc_target_dim(t) != d)
        rc = hcmc_error_set(&e, HCMC_EINVAL, "%zu coordinates, the draws have %zu",
                            hcmc_target_dim(t), d);
    /* the corrected draws only set where the chains start and their first
     * metric: one that has no coordinates in the one run's (a value
     * rounded onto a bound) is left out of both, unless too many are */
    long kept = 0;
    bool *keep = malloc(G * sizeof(bool));
    if (!rc && !keep)
        rc = hcmc_error_set(&e, HCMC_ENOMEM, "out of memory");
    if (!rc) {
        memcpy(z, comb->z, G * d * sizeof(double));
        kept = hcmc__recoordinate(shard_coords, t, z, G, d, theta, keep);
        if ((double)kept < REFINE_MIN_KEPT * (double)G || kept < 2)
            rc = hcmc_error_set(&e, HCMC_ENUMERIC,
                                "%ld of %zu corrected draws lie on a bound of a "
                                "parameter",
                                (long)G - kept, G);
        else if ((size_t)kept < G)
            hcmc_log(HCMC_LOG_INFO,
                     "refinement: %ld of %zu corrected draws lie on a bound of a "
                     "parameter and do not set the start",
                     (long)G - kept, G);
    }
    if (rc) {
        free(keep);
        goto done;
    }
    /* chains start in a box of +-1 sd of the draws about their mean
     * (nuts.h init_radius), the metric from their covariance */
    for (size_t g = 0; g < G; g++)
        for (size_t a = 0; keep[g] && a < d; a++)
            mu[a] += z[g * d + a] / (double)kept;
    for (size_t g = 0; g < G; g++)
        for (size_t a = 0; keep[g] && a < d; a++)
            for (size_t b = 0; b <= a; b++)
                C[a * d + b] += (z[g * d + a] - mu[a]) * (z[g * d + b] - mu[b]) /
                                (double)(kept - 1);
    free(keep);
    for (size_t a = 0; a < d; a++)
        for (size_t b = a + 1; b < d; b++)
            C[a * d + b] = C[b * d + a];
    hcmc_nuts_settings n = *ns;
    n.num_chains = comb->chains;
    n.num_samples = comb->draws;
    n.shard = REFINE_STREAM;
    n.chain_first = n.chain_count = 0;
    n.init_radius = 1;
    n.keep_warmup = false;
    n.progress = NULL;
    hcmc_log(HCMC_LOG_INFO,
             "refinement: %zu chains of NUTS on the %zu points combined, from the "
             "corrected draws (%s)",
             n.num_chains, pts->n, ri->why);
    hcmc_density den = hcmc_density_from_target(t);
    size_t m = 1, D = comb->draws, N = D;
    if ((rc = hcmc_nuts_run(&den, &n, mu, C, &nr, &e)))
        goto done;
    for (;;) {
        for (size_t ch = 0; ch < comb->chains; ch++) /* every m-th draw */
            for (size_t k = 0; k < D; k++)
                memcpy(z + (ch * D + k) * d,
                       nr->sampling.z + (ch * N + (k + 1) * m - 1) * d,
                       d * sizeof(double));
        if (m >= REFINE_LONGEST || converged(t, z, comb->chains, D, d, th, c))
            break;
        hcmc_log(HCMC_LOG_INFO,
                 "refinement: R-hat or ESS short of the verdict's bar: the chains go "
                 "on to %zu times their length, one draw in %zu kept",
                 2 * m, 2 * m);
        if ((rc = hcmc_nuts_extend(&den, &n, nr, N, &e)))
            goto done;
        N *= 2;
        m *= 2;
    }
    ri->length = m;
    if (hcmc__recoordinate(t, shard_coords, z, G, d, theta, NULL)) {
        rc = hcmc_error_set(&e, HCMC_ENUMERIC, "a draw lies on a bound of a parameter");
        goto done;
    }
    memcpy(comb->z, z, G * d * sizeof(double));
    ri->done = true;
    ri->points = pts->n;
    ri->chains = n.num_chains;
    ri->gradients = nr->n_gradients + nr->n_values;
    ri->divergences = hcmc_nuts_divergences(nr);
    ri->transitions = comb->chains * N;
    ri->ebfmi_min = NAN;
    for (size_t g = 0; g < ri->transitions; g++)
        ri->treedepth_hits += nr->sampling.tree_depth[g] >= n.max_tree_depth;
    for (size_t ch = 0; ch < comb->chains; ch++) {
        double b = hcmc_ebfmi(nr->sampling.energy + ch * N, N);
        if (isfinite(b) && !(b >= ri->ebfmi_min))
            ri->ebfmi_min = b;
        ri->reruns += nr->rerun[ch] != 0;
    }
    ri->seconds = hcmc_seconds() - t0;
    hcmc_log(HCMC_LOG_INFO, "refinement: %zu divergent transitions of %zu, %.1f s",
             ri->divergences, ri->transitions, ri->seconds);
done:
    if (rc)
        hcmc_log(HCMC_LOG_WARN,
                 "refinement not made (%s); the draws are the correction's", e.msg);
    hcmc_nuts_result_free(nr);
    hcmc_target_free(t);
    free(mu);
    free(C);
    free(z);
    free(theta);
    free(th);
}
