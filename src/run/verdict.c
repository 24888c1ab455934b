/* The run's verdict (run.h): the checks every finished run gets, with the
 * likely cause of a failure read off the draws, and the block printed
 * after the table.
 *
 * Failures (the draws are not to be trusted as they are):
 * - R-hat of a parameter above validation.max_r_hat (1.01) or bulk or tail
 *   ESS below validation.min_ess (400; 100 per chain of 4), Vehtari et al.
 *   (2021);
 * - a kept shard with more than 1 % divergent transitions: the chains could
 *   not follow the posterior somewhere, and what they missed is unknown
 *   (Betancourt 2017). Fewer is a warning: an occasional divergence in a
 *   sharp corner of a tail changes little, but is worth a look;
 * - a kept shard whose own chains disagree (its largest R-hat above
 *   max_r_hat): the combination rests on a shard posterior its chains did
 *   not agree on, whatever the R-hat of the combined draws says;
 * - an importance correction that was tried and refused (tail index above
 *   HCMC_IMPORTANCE_MAX_KHAT): the combination of the shards is then not
 *   the posterior, and may be off by many sd (README "Validation").
 * - phi0 in one of two mirror modes of an angle set with a mirror axis
 *   (model.h hcmc_angles_mirror_axis): the likelihood is the same in the
 *   other, which the draws miss.
 * - another mode that the warm start's global search found, of at least
 *   1 % of the sampled mode's mass by its Laplace approximation, that the
 *   draws do not visit (search()).
 * - a refinement (run.h hcmc_refine_info) with more than 1 % divergent
 *   transitions.
 * Warnings: chains run again for their divergences (nuts.h
 * rerun_divergent), E-BFMI below 0.3 in a chain, trees that reached max_tree_depth
 * in more than 1 % of transitions, shards left out of the combination, a
 * correction whose weights have a tail index above 0.5. After a refinement
 * the shards' divergences and disagreeing chains and a refused correction
 * are warnings: the draws are the refinement's chains on the posterior
 * itself, judged by their own R-hat, ESS and divergences. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hcmc/law.h"
#include "hcmc/log.h"
#include "hcmc/model.h"
#include "run_internal.h"

#define DIVERGENT_SHARE_MAX 0.01
#define EBFMI_MIN 0.3
#define TREEDEPTH_SHARE_MAX 0.01
#define KHAT_WARN HCMC_IMPORTANCE_GOOD_KHAT

static hcmc_verdict_item *add(hcmc_verdict *v, bool failure, const char *check)
{
    size_t *n = failure ? &v->n_failures : &v->n_warnings;
    hcmc_verdict_item *list = failure ? v->failures : v->warnings;
    if (*n == HCMC_VERDICT_MAX)
        return NULL;
    hcmc_verdict_item *it = &list[(*n)++];
    memset(it, 0, sizeof *it);
    snprintf(it->check, sizeof it->check, "%s", check);
    if (failure)
        v->ok = false;
    return it;
}

/* Appends printf text to buf (of size cap), cut where it is full. */
static void cat(char *buf, size_t cap, const char *fmt, ...)
{
    size_t n = strlen(buf);
    if (n + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, cap - n, fmt, ap);
    va_end(ap);
}

/* The rate laws (D(t), gamma_dot(t), hcmc_run_result.law_kind's order):
 * name, prefactor, exponent, offset. */
static const char *const LAWS[2][4] = {
    {"D(t)", "D0", "alpha", "D_offset"},
    {"gamma_dot(t)", "gamma_dot_t0", "beta", "gamma_dot_t_offset"}};

static int find(const hcmc_run_result *r, const char *name)
{
    for (size_t k = 0; k < r->dim; k++)
        if (!strcmp(r->names[k], name))
            return (int)k;
    return -1;
}

static bool flagged(const hcmc_verdict *v, const hcmc_run_result *r, size_t k)
{
    const hcmc_param_summary *s = &r->summary[k];
    return !(s->rhat <= v->max_rhat) || !(s->ess_bulk >= v->min_ess) ||
           !(s->ess_tail >= v->min_ess);
}

/* A rate law whose exponent the draws put within 1 sd of 0 leaves the split
 * between prefactor and offset to the prior: where one of the three is
 * among the flagged parameters, that is the likely cause. */
static bool law_advice(const hcmc_verdict *v, const hcmc_run_result *r, const char *a,
                       const char *b, const char *c, char *out, size_t cap)
{
    int ia = find(r, a), ib = find(r, b), ic = find(r, c);
    if (ia < 0 || ib < 0 || ic < 0)
        return false;
    const hcmc_param_summary *e = &r->summary[ib];
    if (!(fabs(e->mean) < e->sd))
        return false;
    if (!flagged(v, r, (size_t)ia) && !flagged(v, r, (size_t)ib) &&
        !flagged(v, r, (size_t)ic))
        return false;
    snprintf(out, cap,
             "the %s-%s split is not identified (%s = %.3g +- %.3g, within 1 sd of 0): "
             "fix %s = 0 and %s = 0 (initial_parameters.fixed_parameters), or accept "
             "the wide posterior of %s and %s",
             a, c, b, e->mean, e->sd, b, c, a, c);
    return true;
}

/* A flagged parameter whose 90 % interval reaches a bound (within 1 % of the
 * range, and of a bound away from 0 within a factor 2): the bound shapes
 * the posterior. */
static bool bound_advice(const hcmc_verdict *v, const hcmc_run_result *r,
                         const double (*bounds)[2], size_t nb, char *out, size_t cap)
{
    for (size_t k = 0; bounds && k < nb && k < r->dim; k++) {
        const hcmc_param_summary *s = &r->summary[k];
        double lo = bounds[k][0], hi = bounds[k][1], w = 0.01 * (hi - lo);
        if (!flagged(v, r, k) || !isfinite(w))
            continue;
        /* within 1 % of the range, and for a bound away from 0 within a
         * factor 2 of it: an interval [1.6e-4, 2.3e-3] of a rate bounded by
         * [1e-6, 0.5] is 160 times its lower bound, not at it */
        bool at_lo = s->q05 <= lo + w && (lo <= 0 || s->q05 <= 2 * lo),
             at_hi = s->q95 >= hi - w && (hi >= 0 || s->q95 >= 2 * hi);
        if (!at_lo && !at_hi)
            continue;
        snprintf(out, cap,
                 "%s reaches its %s bound %g: the data want values beyond it (widen "
                 "parameter_space.bounds %s) or leave it open (narrow that bound, or "
                 "fix %s)",
                 r->names[k], at_hi ? "upper" : "lower", at_hi ? hi : lo, r->names[k],
                 r->names[k]);
        return true;
    }
    return false;
}

static void convergence(hcmc_verdict *v, const hcmc_run_result *r, const hcmc_config *c,
                        const double (*bounds)[2], size_t nb)
{
    hcmc_verdict_item *rh = NULL, *es = NULL;
    size_t nrh = 0, nes = 0;
    for (size_t k = 0; k < r->dim; k++) {
        const hcmc_param_summary *s = &r->summary[k];
        if (!(s->rhat <= v->max_rhat) && r->chains > 1) {
            if (!rh && (rh = add(v, true, "r_hat")))
                snprintf(rh->what, sizeof rh->what, "R-hat above %g:", v->max_rhat);
            if (rh && nrh++ < 4)
                cat(rh->what, sizeof rh->what, " %s %.3f", r->names[k], s->rhat);
        }
        if (!(s->ess_bulk >= v->min_ess) || !(s->ess_tail >= v->min_ess)) {
            if (!es && (es = add(v, true, "ess")))
                snprintf(es->what, sizeof es->what,
                         "ESS (bulk / tail) below %g:", v->min_ess);
            if (es && nes++ < 4)
                cat(es->what, sizeof es->what, " %s %.0f / %.0f", r->names[k],
                    s->ess_bulk, s->ess_tail);
        }
    }
    if (nrh > 4)
        cat(rh->what, sizeof rh->what, " and %zu more", nrh - 4);
    if (nes > 4)
        cat(es->what, sizeof es->what, " and %zu more", nes - 4);
    hcmc_verdict_item *it = rh ? rh : es;
    if (!it)
        return;
    char *adv = it->advice;
    size_t cap = sizeof it->advice;
    if (law_advice(v, r, LAWS[0][1], LAWS[0][2], LAWS[0][3], adv, cap) ||
        law_advice(v, r, LAWS[1][1], LAWS[1][2], LAWS[1][3], adv, cap) ||
        bound_advice(v, r, bounds, nb, adv, cap))
        ;
    else if (rh)
        snprintf(adv, cap,
                 "the chains disagree: see plots/trace.png; a longer warmup "
                 "(num_warmup, now %zu) lets them find the posterior, more draws "
                 "(num_samples, now %zu) let them meet",
                 c->num_warmup, c->num_samples);
    else
        snprintf(adv, cap,
                 "the draws are correlated: more draws (num_samples, now %zu) raise "
                 "the ESS about in proportion",
                 c->num_samples);
    if (rh && es) /* one cause for both */
        snprintf(es->advice, sizeof es->advice, "see r_hat");
}

static void shards(hcmc_verdict *v, const hcmc_run_result *r, const hcmc_config *c)
{
    size_t div = 0, trans = 0, worst = r->n_shards, deep = 0, excluded = 0,
           low_e = r->n_shards, split = r->n_shards, reruns = 0, rerun_shards = 0;
    double worst_share = 0, emin = INFINITY, rmax = 0;
    for (size_t k = 0; k < r->n_shards; k++) {
        const hcmc_run_shard *s = &r->shards[k];
        if (s->status != HCMC_SHARD_KEPT) {
            excluded++;
            continue;
        }
        div += s->divergences;
        trans += s->transitions;
        reruns += s->reruns;
        rerun_shards += s->reruns > 0;
        deep += s->treedepth_hits;
        double share =
            s->transitions ? (double)s->divergences / (double)s->transitions : 0.0;
        if (share > worst_share || (worst == r->n_shards && s->divergences))
            worst_share = share, worst = k;
        if (s->ebfmi_min < emin)
            emin = s->ebfmi_min, low_e = k;
        if (r->n_shards > 1 && s->rhat_max > rmax)
            rmax = s->rhat_max, split = k;
    }
    hcmc_verdict_item *it;
    bool refined = r->refine.done;
    if (div &&
        (it = add(v, !refined && worst_share > DIVERGENT_SHARE_MAX, "divergences"))) {
        snprintf(it->what, sizeof it->what,
                 "%zu divergent transitions of %zu in the shards combined; %s%zu: "
                 "%.2g %%",
                 div, trans, r->n_shards > 1 ? "the most in shard " : "",
                 r->n_shards > 1 ? r->shards[worst].id : 0, 100 * worst_share);
        if (r->n_shards == 1) /* "shard 0: x %" says nothing in a one run */
            snprintf(it->what, sizeof it->what,
                     "%zu divergent transitions of %zu (%.2g %%)", div, trans,
                     100 * worst_share);
        snprintf(it->advice, sizeof it->advice,
                 "the sampler cannot follow the posterior into some region (a funnel, "
                 "a cliff or a ridge), so the draws may miss it: raise "
                 "target_accept_prob (now %g) towards 0.99; where they persist, see "
                 "plots/corner.png for the ridge and fix or bound what it runs along",
                 c->target_accept_prob);
    }
    if (reruns && (it = add(v, false, "reruns"))) {
        snprintf(it->what, sizeof it->what, "%zu chain%s", reruns,
                 reruns == 1 ? "" : "s");
        if (r->n_shards > 1) /* "in 1 shard" says nothing in a one run */
            cat(it->what, sizeof it->what, " in %zu shard%s", rerun_shards,
                rerun_shards == 1 ? "" : "s");
        cat(it->what, sizeof it->what,
            " had more than %g %% divergent transitions and ran again at target "
            "acceptance %g (the draws are from the run again)",
            100 * c->rerun_divergent, c->rerun_target_accept_prob);
        snprintf(it->advice, sizeof it->advice,
                 "those chains cost about twice as much; a target_accept_prob above "
                 "%g for the whole run avoids the first attempts",
                 c->target_accept_prob);
    }
    if (low_e < r->n_shards && emin < EBFMI_MIN && (it = add(v, false, "e_bfmi"))) {
        snprintf(it->what, sizeof it->what, "E-BFMI %.2f (below %.1f)", emin,
                 EBFMI_MIN);
        if (r->n_shards > 1)
            cat(it->what, sizeof it->what, " in shard %zu", r->shards[low_e].id);
        snprintf(it->advice, sizeof it->advice,
                 "the chains move slowly between levels of the log density (heavy "
                 "tails or a funnel): the tails may be under-explored");
    }
    if (trans && (double)deep > TREEDEPTH_SHARE_MAX * (double)trans &&
        (it = add(v, false, "tree_depth"))) {
        snprintf(it->what, sizeof it->what,
                 "%zu of %zu transitions reached max_tree_depth %d", deep, trans,
                 c->max_tree_depth);
        snprintf(it->advice, sizeof it->advice,
                 "the trajectories were cut short, so the chains explore slowly: raise "
                 "max_tree_depth, or narrow the bounds of a parameter the data leave "
                 "open");
    }
    if (split < r->n_shards && rmax > v->max_rhat &&
        (it = add(v, !refined, "shard_r_hat"))) {
        snprintf(it->what, sizeof it->what,
                 "shard %zu: its chains disagree (R-hat %.3f above %g)%s",
                 r->shards[split].id, rmax, v->max_rhat,
                 refined ? "; the draws are the refinement's" : "");
        snprintf(it->advice, sizeof it->advice,
                 "that shard's posterior may be wider or have more modes than the "
                 "chains showed; more warmup or fewer, larger shards help");
    }
    if (excluded && (it = add(v, false, "shards"))) {
        snprintf(it->what, sizeof it->what, "%zu of %zu shards left out:", excluded,
                 r->n_shards);
        size_t shown = 0;
        for (size_t k = 0; k < r->n_shards && shown < 3; k++)
            if (r->shards[k].status != HCMC_SHARD_KEPT) {
                cat(it->what, sizeof it->what, "%s shard %zu (%s)", shown ? ";" : "",
                    r->shards[k].id,
                    r->shards[k].reason[0] ? r->shards[k].reason : "excluded");
                shown++;
            }
        snprintf(it->advice, sizeof it->advice,
                 "the result stands on the other shards' points; see the shards in "
                 "report.html");
    }
}

/* The angles as text, "0, 90" (at most 8). */
static void angle_list(const double *phi, size_t n, char *buf, size_t cap)
{
    buf[0] = 0;
    for (size_t a = 0; a < n && a < 8; a++)
        cat(buf, cap, "%s%g", a ? ", " : "", phi[a]);
    if (n > 8)
        cat(buf, cap, ", ...");
}

/* An angle set with a mirror axis (model.h) leaves phi0 and its image
 * 2 s - phi0 equally likely: draws that sit in one of them, more than 4 sd
 * away from the other, miss half of the posterior. */
static void mirror(hcmc_verdict *v, const hcmc_run_result *r, const double (*bounds)[2],
                   size_t nb)
{
    int k = find(r, "phi0");
    double s;
    hcmc_verdict_item *it;
    if (r->mirrored && k >= 0 && (it = add(v, false, "modes"))) {
        char angles[120];
        angle_list(r->phi, r->n_phi, angles, sizeof angles);
        if (r->mirror_symmetric) {
            snprintf(it->what, sizeof it->what,
                     "phi0 has two mirror modes of weight 1/2 each, %.4g and %.4g (the "
                     "angles %s cannot tell them apart); the draws hold both, so "
                     "phi0's mean and sd describe the pair, not the flow angle",
                     r->mirror_phi0, 2 * r->mirror_axis - r->mirror_phi0, angles);
            snprintf(it->advice, sizeof it->advice,
                     "report phi0 = +-%.4g about %g with its sign undetermined; an "
                     "angle that is not a multiple of 90 deg away from these, or "
                     "bounds on one side of %g, decide it",
                     fabs(r->mirror_phi0 - r->mirror_axis), r->mirror_axis,
                     r->mirror_axis);
        } else { /* the prior weighs them */
            snprintf(it->what, sizeof it->what,
                     "phi0 has two mirror modes, %.4g of weight %.3g and %.4g of "
                     "weight %.3g +- %.2g (the angles %s cannot tell them apart; the "
                     "prior and the bounds weigh them); the draws hold both, so "
                     "phi0's mean and sd describe the pair, not the flow angle",
                     r->mode_summary[k].mean, r->modes[0].weight,
                     r->mode_summary[r->dim + (size_t)k].mean, r->modes[1].weight,
                     r->modes[1].weight_se, angles);
            snprintf(it->advice, sizeof it->advice,
                     "report both modes with their weights (summary.json run.modes): "
                     "only the prior tells them apart; an angle that is not a "
                     "multiple of 90 deg away from these, or bounds on one side of "
                     "%g, decide the sign",
                     r->mirror_axis);
        }
        return;
    }
    if (r->n_modes > 1 || k < 0 || (size_t)k >= nb || !bounds || !r->phi ||
        !hcmc_angles_mirror_axis(r->phi, r->n_phi, &s))
        return; /* several modes sampled: modes()'s */
    const hcmc_param_summary *p = &r->summary[k];
    double m = hcmc_phi0_mirror(p->mean, s, bounds[k][0], bounds[k][1]);
    if (isnan(m) || !(fabs(m - p->mean) > 4 * p->sd) || !(it = add(v, true, "modes")))
        return;
    char angles[120];
    angle_list(r->phi, r->n_phi, angles, sizeof angles);
    snprintf(it->what, sizeof it->what,
             "phi0: the angles %s cannot tell phi0 = %.4g from its mirror image %.4g "
             "(the model sees |cos(phi0 - phi)| only, the same for phi0 and %g - "
             "phi0): the posterior has a second mode there, of the same weight under "
             "a prior symmetric about %g, which these draws do not hold",
             angles, p->mean, m, 2 * s, s);
    snprintf(
        it->advice, sizeof it->advice,
        "add an angle that is not a multiple of 90 deg away from these; or, if the "
        "sign of the flow angle is known, bound phi0 to that side of %g "
        "(parameter_space.bounds phi0)",
        s);
}

/* Modes sampled one by one (modes.c): a warning that the mean and sd
 * describe a mixture, naming the cause where it is phi0's mirror symmetry;
 * a failure where a mode's own chains diverged in more than 1 % of their
 * transitions (its R-hat and ESS are in the parameters' already). */
static void modes(hcmc_verdict *v, const hcmc_run_result *r)
{
    if (r->n_modes < 2 || !r->mode_summary || r->mirrored) /* mirror()'s */
        return;
    int k = find(r, "phi0");
    bool mirror = false;
    char list[200] = "";
    for (size_t m = 0; m < r->n_modes; m++) {
        mirror = mirror || r->modes[m].mirror;
        cat(list, sizeof list, "%s%.3g +- %.2g", m ? ", " : "", r->modes[m].weight,
            r->modes[m].weight_se);
    }
    for (size_t m = 1; m < r->n_modes; m++) {
        const hcmc_run_mode *o = &r->modes[m];
        hcmc_verdict_item *it;
        if (!((double)o->divergences > DIVERGENT_SHARE_MAX * (double)o->transitions) ||
            !(it = add(v, true, "divergences")))
            continue;
        snprintf(it->what, sizeof it->what,
                 "mode %zu: %zu of its chains' %zu transitions diverged", m + 1,
                 o->divergences, o->transitions);
        snprintf(it->advice, sizeof it->advice,
                 "its draws may miss part of that mode; its weight is uncertain too");
    }
    hcmc_verdict_item *it = add(v, false, "modes");
    if (!it)
        return;
    if (mirror && k >= 0 && r->phi) {
        char angles[120];
        angle_list(r->phi, r->n_phi, angles, sizeof angles);
        double s = 0;
        hcmc_angles_mirror_axis(r->phi, r->n_phi, &s);
        snprintf(
            it->what, sizeof it->what,
            "phi0 has mirror modes the angles %s cannot tell apart (the model sees "
            "|cos(phi0 - phi)| only): the draws hold %zu modes of weights %s "
            "(bridge sampling; the prior and the bounds weigh them), so phi0's "
            "mean and sd describe the mixture, not the flow angle",
            angles, r->n_modes, list);
        snprintf(it->advice, sizeof it->advice,
                 "report each mode (summary.json run.modes); an angle that is not a "
                 "multiple of 90 deg away from these, or bounds on one side of %g, "
                 "decide the sign",
                 s);
    } else {
        snprintf(it->what, sizeof it->what,
                 "the posterior has %zu modes (the warm start's search found them, "
                 "chains of their own sampled each): weights %s (bridge sampling); the "
                 "mean and sd describe their mixture",
                 r->n_modes, list);
        snprintf(it->advice, sizeof it->advice,
                 "report the modes (summary.json run.modes); bounds that exclude the "
                 "modes you can rule out, or data that tell them apart (more angles, a "
                 "longer series), leave one");
    }
}

/* Modes of the warm start's global search (cmc.h hcmc_problem_modes)
 * with a weight the draws must show, which they do not visit: every
 * chain started in the first. The mirror image of the sampled mode under
 * an exact symmetry of the angles is mirror()'s where mirror() sees it. */
static void search(hcmc_verdict *v, hcmc_run_result *r, const double (*bounds)[2],
                   size_t nb)
{
    int kp = find(r, "phi0");
    double s;
    bool axis = kp >= 0 && (size_t)kp < nb && bounds && r->phi &&
                hcmc_angles_mirror_axis(r->phi, r->n_phi, &s);
    for (size_t i = 1; i < r->n_found && r->summary; i++) {
        const hcmc_problem_mode *m = &r->found[i];
        size_t far = 0;
        r->found_missed[i] = !r->found_sampled[i] &&
                             hcmc__mode_missed(r->summary, r->dim, m->theta, &far);
        if (!r->found_missed[i] || !(m->weight >= HCMC__MODE_MIN_WEIGHT))
            continue;
        /* the sampled mode's exact mirror image is mirror()'s, where that
         * check sees it: the draws unfolded, or the image of their mean
         * within the bounds (a mode cut by a bound is this one's) */
        if (axis &&
            (r->mirrored || !isnan(hcmc_phi0_mirror(r->summary[kp].mean, s,
                                                    bounds[kp][0], bounds[kp][1])))) {
            double img[65];
            memcpy(img, m->theta, r->dim * sizeof(double));
            img[kp] = hcmc_phi0_mirror(m->theta[kp], s, bounds[kp][0], bounds[kp][1]);
            if (!isnan(img[kp]) && !hcmc__mode_missed(r->summary, r->dim, img, NULL))
                continue;
        }
        hcmc_verdict_item *it = add(v, true, "search");
        if (!it)
            return;
        char where[200] = "";
        for (size_t k = 0, n = 0; k < r->dim && n < 4; k++) {
            const hcmc_param_summary *p = &r->summary[k];
            if (p->sd > 0 && fabs(m->theta[k] - p->mean) > HCMC__MODE_SD * p->sd)
                cat(where, sizeof where, "%s%s = %.4g", n++ ? ", " : "", r->names[k],
                    m->theta[k]);
        }
        snprintf(it->what, sizeof it->what,
                 "the warm start's search found another mode of the posterior (%s; "
                 "the draws: %s = %.4g +- %.3g), with %.3g times the sampled mode's "
                 "mass by its Laplace approximation (its best fit %.3g below in log "
                 "likelihood), and the draws do not visit it",
                 where, r->names[far], r->summary[far].mean, r->summary[far].sd,
                 m->weight, m->dloglik);
        snprintf(it->advice, sizeof it->advice,
                 "every chain started in the best fit's mode; the data allow both: "
                 "bound %s to the side you can justify (parameter_space.bounds), or "
                 "add data that tell them apart (more angles, a longer series)",
                 r->names[far]);
    }
}

/* A rate law sampled in log rates (law.h RATES: chosen where the warm
 * start put its exponent more than 3 shard sd from 0) whose exponent the
 * draws put within RATES_Z sd of 0. Those coordinates are singular at
 * exponent 0 and cannot follow the posterior there, where the prefactor
 * grows with the offset cancelling it: a plateau the data leave to the
 * prior, with a share of the posterior of about exp(-z^2 / 2) times the
 * plateau's length over the peak's width (below about 0.5 % at 4 sd).
 * Measured on the validation catalogue's angles2 file (beta = -0.20 +-
 * 0.065, 3.1 sd): gamma_dot_t0's sd 1.7e-4 in log rates against 1.6e-3 in
 * a 4 x 10 000-draw run in shape coordinates, whose 0.5 % of draws above
 * 5e-3 the rates draws lack; the 90 % intervals agree. A warning: the
 * quantiles hold, the mean and sd of the prefactor and offset may not. */
#define RATES_Z 4.0

static void rates_reach(hcmc_verdict *v, const hcmc_run_result *r)
{
    const char *const(*law)[4] = LAWS;
    for (int l = 0; l < 2; l++) {
        int ib = find(r, law[l][2]);
        if (r->law_kind[l] != (int)HCMC_LAW_RATES || ib < 0)
            continue;
        const hcmc_param_summary *e = &r->summary[ib];
        double z = fabs(e->mean) / e->sd;
        hcmc_verdict_item *it;
        if (!(z < RATES_Z) || !(it = add(v, false, "coordinates")))
            continue;
        snprintf(it->what, sizeof it->what,
                 "%s was sampled in log rates, but its exponent %s = %.3g +- %.3g is "
                 "only %.1f sd from 0, where those coordinates cannot follow the "
                 "posterior (%s large with %s cancelling it): the mean and sd of %s "
                 "and %s may miss a long tail; their 90 %% intervals hold",
                 law[l][0], law[l][2], e->mean, e->sd, z, law[l][1], law[l][3], law[l][1],
                 law[l][3]);
        snprintf(it->advice, sizeof it->advice,
                 "narrow the upper bound of %s to what is physical (the tail runs "
                 "towards it), or report the medians and intervals",
                 law[l][1]);
    }
}

static void importance(hcmc_verdict *v, const hcmc_run_result *r)
{
    const hcmc_importance_info *im = &r->importance;
    hcmc_verdict_item *it;
    if (!im->n)
        return;
    if (!im->applied && (it = add(v, !r->refine.done, "importance"))) {
        snprintf(it->what, sizeof it->what,
                 "the importance correction was not applied: tail index %.2f above %g "
                 "(ESS %.0f of %zu); %s",
                 im->khat, HCMC_IMPORTANCE_MAX_KHAT, im->ess, im->n,
                 r->refine.done
                     ? "the draws are the refinement's"
                     : "the draws are the Gaussian combination of the shards, "
                       "which may be too narrow or shifted");
        snprintf(it->advice, sizeof it->advice,
                 "the shards' posteriors are far from Gaussian: %s",
                 r->refine.done ? "fewer, larger shards (num_shards) bring the "
                                  "combination closer and save the refinement's time"
                                : "use fewer, larger shards (num_shards), one run on "
                                  "all points (optimization.cmc.enable: false), or "
                                  "the refinement (combination.refine: auto)");
    } else if (im->khat > KHAT_WARN && !r->refine.done &&
               (it = add(v, false, "importance"))) {
        snprintf(it->what, sizeof it->what,
                 "the importance weights have a heavy tail (tail index %.2f, ESS %.0f "
                 "of %zu)",
                 im->khat, im->ess, im->n);
        snprintf(it->advice, sizeof it->advice,
                 "the corrected draws are approximate in the tails; fewer, larger "
                 "shards make the combination closer");
    }
}

/* The refinement's own sampling: its divergences, E-BFMI, tree depth. */
static void refinement(hcmc_verdict *v, const hcmc_run_result *r, const hcmc_config *c)
{
    const hcmc_refine_info *ri = &r->refine;
    hcmc_verdict_item *it;
    if (ri->skipped && (it = add(v, false, "refine"))) {
        snprintf(it->what, sizeof it->what,
                 "the combination was not close (%s) and was not refined: that would "
                 "take about %.0f s",
                 ri->why, ri->estimate);
        snprintf(it->advice, sizeof it->advice,
                 "the corrected draws may miss a tail of the posterior; "
                 "combination.refine: always (hcmc combine DIR --refine always) makes "
                 "the refinement, fewer, larger shards make the combination closer");
    }
    if (!ri->done || !ri->transitions)
        return;
    double share = (double)ri->divergences / (double)ri->transitions;
    if (ri->divergences &&
        (it = add(v, share > DIVERGENT_SHARE_MAX, "refine_divergences"))) {
        snprintf(it->what, sizeof it->what,
                 "%zu divergent transitions of %zu (%.2g %%) in the refinement",
                 ri->divergences, ri->transitions, 100 * share);
        snprintf(it->advice, sizeof it->advice,
                 "the sampler cannot follow the posterior into some region: raise "
                 "target_accept_prob (now %g) towards 0.99",
                 c->target_accept_prob);
    }
    if (ri->reruns && (it = add(v, false, "refine_reruns")))
        snprintf(it->what, sizeof it->what,
                 "%zu chain%s of the refinement had more than %g %% divergent "
                 "transitions and ran again at target acceptance %g",
                 ri->reruns, ri->reruns == 1 ? "" : "s", 100 * c->rerun_divergent,
                 c->rerun_target_accept_prob);
    if (ri->ebfmi_min < EBFMI_MIN && (it = add(v, false, "refine_e_bfmi")))
        snprintf(it->what, sizeof it->what,
                 "E-BFMI %.2f (below %.1f) in the refinement", ri->ebfmi_min,
                 EBFMI_MIN);
    if ((double)ri->treedepth_hits > TREEDEPTH_SHARE_MAX * (double)ri->transitions &&
        (it = add(v, false, "refine_tree_depth")))
        snprintf(it->what, sizeof it->what,
                 "%zu of %zu transitions of the refinement reached max_tree_depth %d",
                 ri->treedepth_hits, ri->transitions, c->max_tree_depth);
}

void hcmc__verdict(const hcmc_config *c, hcmc_run_result *r, const double (*bounds)[2],
                   size_t nb)
{
    hcmc_verdict *v = &r->verdict;
    memset(v, 0, sizeof *v);
    v->known = true;
    v->ok = true;
    v->max_rhat = c->verdict_max_rhat;
    v->min_ess = c->verdict_min_ess;
    v->max_divergence_share = DIVERGENT_SHARE_MAX;
    convergence(v, r, c, bounds, nb);
    mirror(v, r, bounds, nb);
    modes(v, r);
    search(v, r, bounds, nb);
    shards(v, r, c);
    importance(v, r);
    refinement(v, r, c);
    rates_reach(v, r);
    for (size_t k = 0; k < v->n_failures; k++)
        hcmc_log(HCMC_LOG_WARN, "verdict: %s", v->failures[k].what);
}

void hcmc__verdict_failed(const hcmc_config *c, hcmc_run_result *r, const char *why)
{
    hcmc_verdict *v = &r->verdict;
    memset(v, 0, sizeof *v);
    v->known = true;
    v->max_rhat = c->verdict_max_rhat;
    v->min_ess = c->verdict_min_ess;
    v->max_divergence_share = DIVERGENT_SHARE_MAX;
    hcmc_verdict_item *it = add(v, true, "combination");
    snprintf(it->what, sizeof it->what, "%s", why);
    snprintf(it->advice, sizeof it->advice,
             "no posterior was made; the shards' own draws are in posterior.nc (group "
             "shards) and plots/ (trace, marginals, forest): they show which shards "
             "went astray and where");
}

static void print_item(FILE *f, const char *tag, const hcmc_verdict_item *it)
{
    fprintf(f, "  %s %s\n", tag, it->what);
    if (it->advice[0] && strcmp(it->advice, "see r_hat"))
        fprintf(f, "      -> %s\n", it->advice);
}

void hcmc_run_print_verdict(FILE *f, const hcmc_run_result *r)
{
    const hcmc_verdict *v = &r->verdict;
    if (!v->known)
        return;
    if (v->ok && !v->n_warnings) {
        fprintf(f, "verdict: ok (R-hat <= %g, ESS >= %g, no divergences)\n",
                v->max_rhat, v->min_ess);
        return;
    }
    bool none = v->n_failures && !strcmp(v->failures[0].check, "combination");
    fprintf(f, "verdict: %s\n",
            v->ok  ? "ok, with warnings"
            : none ? "FAILED: the shards could not be combined"
                   : "FAILED diagnostics: do not use these draws as they are");
    for (size_t k = 0; k < v->n_failures; k++)
        print_item(f, "FAIL", &v->failures[k]);
    for (size_t k = 0; k < v->n_warnings; k++)
        print_item(f, "warn", &v->warnings[k]);
}
