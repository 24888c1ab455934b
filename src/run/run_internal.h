/* Internal to the run layer: its stages, shared by hcmc_run (run.c), the
 * batch worker (worker.c) and hcmc_combine_dir (combine_dir.c). */
#ifndef HCMC_RUN_INTERNAL_H
#define HCMC_RUN_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "hcmc/cmc.h"
#include "hcmc/combine.h"
#include "hcmc/config.h"
#include "hcmc/run.h"
#include "../store/store.h"

/* Reads the data and builds everything a run samples from (prepare.c). */
int hcmc__prepare(const hcmc_config *c, hcmc__prepared *P, hcmc_error *err);
/* The same from a data set in memory (NULL: c's data file), with c's
 * selection applied to it. */
int hcmc__prepare_from(const hcmc_config *c, const hcmc_dataset *ds, hcmc__prepared *P,
                       hcmc_error *err);

/* Makes dir and dir/shards, writes dir/plan.h5 and dir/config.yaml
 * (run_dir.c). */
int hcmc__run_dir_init(const hcmc_config *c, const char *dir, const hcmc__prepared *P,
                       hcmc_error *err);

/* Corrects the combined draws comb->z by importance weighting with the
 * posterior of the points of the shards combined (importance.h; all of
 * prob's when every shard was kept) and records what it did in
 * r->importance, then refines them where c->refine ("auto", "always",
 * "never") asks for it (hcmc__refine). ids[k]: the plan's shard of comb's
 * entry k (NULL: k); ns: the run's sampler settings (its seed is the
 * correction's). A failure or a heavy tail is a warning: the
 * combination's draws stay (finish.c). */
void hcmc__importance(const hcmc_problem *prob, const hcmc_shard_plan *plan,
                      const size_t *ids, hcmc_combine_result *comb,
                      const hcmc_nuts_settings *ns, const hcmc_config *c,
                      hcmc_run_result *r);

/* The refinement (run.h hcmc_refine_info; refine.c): where c->refine asks for it
 * (made: the importance correction was made; r->importance says how it
 * went), NUTS with ns's settings on the posterior of prob's model and
 * priors on pts (untempered, in one run's coordinates), started from
 * comb's draws, replaces comb->z; r->refine records it. Chains short of
 * c's R-hat or ESS bar run longer. A failure is a warning and leaves
 * comb->z as it was. */
void hcmc__refine(const hcmc_problem *prob, const hcmc_points *pts,
                  const hcmc_nuts_settings *ns, const hcmc_config *c, bool made,
                  hcmc_combine_result *comb, hcmc_run_result *r);

/* Every draw z[G][d] in from's coordinates into to's, in place (the
 * parameters the same); non-zero where one has none there. With keep (may
 * be NULL), such a draw is marked false there instead, and the count of
 * the others returned (refine.c). */
long hcmc__recoordinate(const hcmc_target *from, const hcmc_target *to, double *z,
                        size_t G, size_t d, double *theta, bool *keep);
/* phi0's mirror modes (mirror.c): an angle set with a mirror axis
 * (model.h) of which exactly one, axis, lies inside phi0's bounds lo hi,
 * so that every value has at most one image 2 axis - phi0 within them. */
typedef struct hcmc__mirror {
    int k; /* phi0's coordinate */
    double axis, lo, hi;
    const hcmc_prior *prior;
    bool symmetric; /* the bounds and the prior symmetric about axis */
} hcmc__mirror;
/* phi0's coordinate *k among the first nb of r's (the physical ones) and
 * the mirror axis *s of r's angles (model.h hcmc_angles_mirror_axis):
 * whether both exist and bounds is given. */
bool hcmc__phi0_axis(const hcmc_run_result *r, const double (*bounds)[2], size_t nb,
                     int *k, double *s);
/* Whether r (its names and angles, phi0's bounds among bounds[nb] and c's
 * prior) has such a mirror. */
bool hcmc__mirror_of(const hcmc_config *c, const hcmc_run_result *r,
                     const double (*bounds)[2], size_t nb, hcmc__mirror *m);
/* A mode that draws must hold: at least this share of the sampled mode's
 * mass by the search's Laplace approximation. A mode of less mass moves any
 * tail probability of the posterior by less than 1 %, about the Monte
 * Carlo error of a 5 % tail at the 400 effective draws the verdict asks
 * for (sqrt(0.05 0.95 / 400) = 0.011). */
#define HCMC__MODE_MIN_WEIGHT 0.01
/* Draws miss a point when it lies more than this many of their sd from
 * their mean in some parameter. */
#define HCMC__MODE_SD 4.0
/* Whether draws with summaries s[d] miss theta[d] (*far: the parameter
 * farthest from them, in their sd; may be NULL). */
bool hcmc__mode_missed(const hcmc_param_summary *s, size_t d, const double *theta,
                       size_t *far);
/* The modes the draws comb->z miss (modes.c; run.h hcmc_run_result
 * modes): the search's modes of r->found of enough mass, and phi0's
 * mirror image under the angles r->phi unless mirror.c makes it exactly
 * (mirror: hcmc__mirror_of, NULL where there is none; exact where the
 * draws lie on the side that covers the other), each sampled by chains of
 * its own with ns's settings on the posterior of pts in one run's
 * coordinates, weighed by bridge sampling; comb->z becomes their mixture
 * and r->modes, mode_of and mode_summary say what each holds.
 * r->found_sampled marks the search's modes sampled. bounds[nb]: of the
 * physical parameters. A failure is a warning, and leaves comb->z. */
void hcmc__modes(const hcmc_problem *prob, const hcmc_points *pts,
                 const hcmc_nuts_settings *ns, const hcmc_config *c,
                 const hcmc__mirror *mirror, const double (*bounds)[2], size_t nb,
                 hcmc_combine_result *comb, hcmc_run_result *r);
/* With several modes, each parameter's R-hat the largest and its ESS the
 * smallest of the modes', its MCSE of the mean that of the weighted means
 * (the modes' MCSE and their weights' errors). */
void hcmc__modes_summary(hcmc_run_result *r);
/* About what one run on all points takes: the kept shards' seconds
 * summed (a shard's NUTS costs its points times its gradients, and the
 * posterior of all points needs about as many gradients as a shard's);
 * *wall the sampling's wall time, or the longest shard's (refine.c). */
double hcmc__one_run_estimate(const hcmc_run_result *r, double *wall);
/* What CMC spends on sampling all points after the shards (the
 * refinement, the modes the draws miss) where the user left it to auto:
 * at most this many times the wall time of the shards' sampling, or at
 * most HCMC__ONE_RUN_FREE_S seconds. */
#define HCMC__ONE_RUN_BUDGET 4
#define HCMC__ONE_RUN_FREE_S 900
/* What the last stage needs besides the configuration (finish.c). */
typedef struct {
    const hcmc_shard_draws *draws;             /* [K]; failure set: failed */
    const hcmc_nuts_draws *const *shard_draws; /* [K] for posterior.nc; NULL: failed */
    size_t K;
    const hcmc_coords *coords; /* the sampling coordinates (their bases) */
    size_t nphys;              /* physical parameters: the leading coordinates */
    const double (*bounds)[2]; /* [dim] or [nphys] */
    void (*constrain)(const void *ctx, const double *z, double *theta);
    const void *ctx;
    /* the importance correction of comb's draws, recording what it did in
     * r->importance (NULL: none) */
    void (*correct)(void *user, hcmc_combine_result *comb, hcmc_run_result *r);
    /* the modes the draws miss (hcmc__modes; NULL: none are sampled) */
    void (*modes)(void *user, hcmc_combine_result *comb, hcmc_run_result *r,
                  const struct hcmc__mirror *mirror);
    void *user;
    const char *dir; /* where summary.json and posterior.nc go */
    const char *created, *data_file, *checksum; /* posterior.nc's attributes */
    bool summary_on_failure; /* a summary.json that says why, when no combination */
    double t0;               /* hcmc_seconds() when the run began */
} hcmc__finish_input;

/* The side of m's axis most of the draws theta[G][d] are on: +1 above
 * (ties too), -1 below. */
double hcmc__mirror_side(const hcmc__mirror *m, const double *theta, size_t G,
                         size_t d);
/* Whether the side (+1: above the axis, -1: below) is at least as wide
 * within the bounds as the other, so that its draws make both modes
 * (hcmc__mirror_expand); else modes.c samples the other. */
bool hcmc__mirror_covers(const hcmc__mirror *m, double side);
/* A region of the parameters that every shard's draws are taken in
 * before combining: the product of the shards' posteriors restricted to
 * one region is the posterior of all points restricted to it, whatever
 * modes each shard's chains visited (mirror.c). */
typedef struct {
    bool (*inside)(const void *ctx, const double *z, const double *theta);
    const void *ctx;
    int fold;         /* >= 0: a draw outside changes the sign of this
                         coordinate (a region the sign maps onto the rest);
                         -1: each chain's draws inside, repeated evenly */
    const char *what; /* the rest, in words */
} hcmc__region;
/* Every shard's draws in reg into draws[K] (copies returned, free them;
 * NULL: none made), each shard's R-hat then that within the region;
 * *moved of *total draws were outside. */
double **hcmc__shards_within(const hcmc__region *reg, const hcmc__finish_input *in,
                             hcmc_run_result *r, hcmc_shard_draws *draws, size_t *moved,
                             size_t *total);
/* Where the warm start's search found other modes of at least
 * HCMC__MODE_MIN_WEIGHT, or phi0 has mirror images of the first under
 * several axes within its bounds: every shard's draws in the first mode's cell
 * (each draw's nearest mode, in the sd of all shards' draws), so that a
 * shard whose chains visit another mode combines as the first (the others
 * are sampled on all points after; modes.c). NULL where none. */
double **hcmc__search_shards(const hcmc__finish_input *in, hcmc_run_result *r,
                             hcmc_shard_draws *draws);
/* Every shard's draws on the side of the mirror axis most draws are on,
 * into draws[K] (copies returned, free them; NULL: none made): folded
 * where the prior is symmetric, else restricted; each shard's R-hat then
 * that within the mode. */
double **hcmc__mirror_shards(const hcmc__mirror *m, const hcmc__finish_input *in,
                             hcmc_run_result *r, hcmc_shard_draws *draws);
/* Both mirror modes from the draws r->theta on one side (mirror.c): the
 * draws, their summaries and r->modes, mode_of, mode_summary, mirrored.
 * Nothing where the draws lie within 2 sd of the axis (one mode about it)
 * or r holds modes sampled one by one. */
void hcmc__mirror_expand(const hcmc__mirror *m, const hcmc_config *c,
                         hcmc_run_result *r);
/* The last stage: combines the shards by c's settings, corrects the draws
 * (in->correct, when c asks for it and K > 1), summarises them in
 * constrained units and writes summary.json and posterior.nc. On entry r
 * has dim and names, and shards[K] with what the caller knows of each
 * (id, points, seconds, R-hat, divergences); the combination adds their
 * status. */
int hcmc__finish(const hcmc_config *c, const hcmc__finish_input *in, hcmc_run_result *r,
                 hcmc_error *err);

/* The decay of c2 read off pts against the largest D that s's bounds allow
 * (checks.c), after the warm start (rc: what hcmc_problem_new returned,
 * prob its problem when rc is 0). A decay beyond the bounds is an error
 * naming D0, its bound and what the data want when the warm start ended at
 * that bound, a warning otherwise; a failed warm start's message gets the
 * same words. Returns rc or that error. */
int hcmc__check_decay(const hcmc_target_spec *s, const hcmc_points *pts,
                      const hcmc_problem *prob, int rc, hcmc_error *err);

/* A warning when pts's angles leave phi0 a mirror image (model.h
 * hcmc_angles_mirror_axis) away from the warm start's (checks.c). */
void hcmc__check_mirror(const hcmc_points *pts, const hcmc_problem *prob);

/* The verdict of the finished run r (its summary and shards filled) by c's
 * thresholds into r->verdict; bounds[k] of the leading nb coordinates (the
 * physical parameters; may be NULL) for the advice (verdict.c). */
void hcmc__verdict(const hcmc_config *c, hcmc_run_result *r, const double (*bounds)[2],
                   size_t nb);
/* The verdict of a run whose combination failed with why. */
void hcmc__verdict_failed(const hcmc_config *c, hcmc_run_result *r, const char *why);

#endif
