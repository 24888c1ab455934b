/* The problem and the shard task. */
#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lapacke.h>

#include "hcmc/cmc.h"
#include "hcmc/diagnostics.h"
#include "hcmc/version.h"
#include "../base/hash.h"
#include "cmc_internal.h"
#include "hcmc/warmstart.h"
#include "hcmc/log.h"
#include "hcmc/timing.h"

struct hcmc_problem {
    hcmc_target_spec spec; /* for the shards: K, fixed scaling, sigma scale */
    const hcmc_points *pts;
    hcmc_target *full; /* all points, the same settings */
    double *fixed;     /* [2 n_phi] contrast, offset for constant modes */
    double *z0, *cov0; /* warm start on all points; cov scaled by K */
    size_t dim;
    /* each rate law's coordinates for one run on all points (choose_laws
     * with K = 1): the refinement's (hcmc__problem_refine_spec) */
    bool has_one;
    hcmc_law_kind one_kind[2];
    double one_scale[2];
    size_t n_modes; /* the warm start's search (hcmc_problem_modes) */
    hcmc_problem_mode modes[HCMC_PROBLEM_MAX_MODES];
};

_Static_assert(HCMC_PROBLEM_MAX_MODES == HCMC_WARM_MAX_ALT + 1, "one mode per fit");

bool hcmc__problem_ok(const hcmc_problem *p)
{
    size_t d = p ? p->dim : 0;
    bool ok = d >= 2 && p->z0 && p->cov0 && p->spec.num_shards >= 1;
    for (size_t i = 0; ok && i < d; i++) {
        double cii = p->cov0[i * d + i];
        ok = isfinite(p->z0[i]) && cii > 0 && isfinite(cii);
        for (size_t j = 0; ok && j < i; j++) { /* symmetric to rounding */
            double a = p->cov0[i * d + j], b = p->cov0[j * d + i];
            ok = isfinite(a) && fabs(a - b) <= 1e-9 * sqrt(cii * p->cov0[j * d + j]);
        }
    }
    return ok;
}

size_t hcmc_problem_dim(const hcmc_problem *p)
{
    return p->dim;
}

const char *hcmc_problem_param_name(const hcmc_problem *p, size_t k)
{
    return hcmc_target_param_name(p->full, k);
}

const hcmc_target *hcmc_problem_target(const hcmc_problem *p)
{
    return p->full;
}

size_t hcmc_problem_modes(const hcmc_problem *p, const hcmc_problem_mode **modes)
{
    *modes = p->modes;
    return p->n_modes;
}

/* Whether z lies within the 99 % region of the Gaussian (mean m, cov C;
 * dimension d): (z - m)' C^-1 (z - m) below chi2's 99 % quantile. */
static bool within(const double *z, const double *m, const double *C, size_t d)
{
    double L[65 * 65], x[65];
    memcpy(L, C, d * d * sizeof(double));
    for (size_t k = 0; k < d; k++)
        x[k] = z[k] - m[k];
    if (LAPACKE_dposv(LAPACK_ROW_MAJOR, 'L', (lapack_int)d, 1, L, (lapack_int)d, x, 1))
        return false;
    double q = 0;
    for (size_t k = 0; k < d; k++)
        q += (z[k] - m[k]) * x[k];
    return q < (double)d * hcmc_chi2_quantile_ratio((double)d, 2.3263);
}

/* The other basins of the search as modes of the posterior: each one's
 * mode and Laplace mass in the target's coordinates, kept where it is no
 * mode already kept (within). log_mass0: the first mode's. A basin whose
 * mode cannot be found is left out (debug log): the search is a help, the
 * first mode is what the run needs. */
static void other_modes(hcmc_problem *p, const hcmc_warm_alts *alts, double log_mass0)
{
    size_t d = p->dim;
    double *zs = malloc(HCMC_PROBLEM_MAX_MODES * (d + d * d) * sizeof(double));
    if (!zs)
        return;
    double *covs = zs + HCMC_PROBLEM_MAX_MODES * d;
    memcpy(zs, p->z0, d * sizeof(double));
    memcpy(covs, p->cov0, d * d * sizeof(double));
    for (size_t j = 0; j < alts->n && p->n_modes < HCMC_PROBLEM_MAX_MODES; j++) {
        size_t i = p->n_modes;
        double *z = zs + i * d, *cov = covs + i * d * d, lm;
        hcmc_error e;
        double tm = hcmc_seconds();
        int mrc = hcmc_warm_mode(p->full, alts->theta[j], 0, z, cov, &lm, &e);
        hcmc_log(HCMC_LOG_DEBUG, "warm start: the mode of a basin %.3g below: %.2f s",
                 alts->dloglik[j], hcmc_seconds() - tm);
        if (mrc) {
            hcmc_log(HCMC_LOG_DEBUG,
                     "warm start: a basin %.3g below in log likelihood "
                     "has no mode: %s",
                     alts->dloglik[j], e.msg);
            continue;
        }
        bool same = false;
        for (size_t k = 0; k < i && !same; k++)
            same = within(z, zs + k * d, covs + k * d * d, d) ||
                   within(zs + k * d, z, cov, d);
        if (same)
            continue;
        hcmc_problem_mode *m = &p->modes[p->n_modes++];
        hcmc_target_constrain(p->full, z, m->theta);
        m->dloglik = alts->dloglik[j];
        m->weight = exp(lm - log_mass0);
    }
    free(zs);
}

void hcmc_problem_free(hcmc_problem *p)
{
    if (!p)
        return;
    hcmc_target_free(p->full);
    free(p->fixed);
    free(p->z0);
    free(p->cov0);
    free(p);
}

/* Parameter k at the warm start, and its sd there from cov0 by the first
 * order of the map z -> theta; t: a target of p's spec (its coordinates),
 * since a worker's problem may have no full target. */
static double start_value_sd(const hcmc_problem *p, const hcmc_target *t, size_t k,
                             double *sd)
{
    const hcmc_coords *c = hcmc_target_coords(t);
    size_t d = p->dim;
    double th[d], dth[d], dlj[d], row[d], M[2][9], lj;
    memset(row, 0, sizeof row);
    if (hcmc_coords_forward(c, p->z0, th, dth, M, &lj, dlj)) {
        *sd = NAN;
        return NAN;
    }
    row[k] = dth[k];
    for (size_t l = 0; l < c->nlaw; l++)
        if (k >= c->law_at[l] && k < c->law_at[l] + 3)
            for (size_t j = 0; j < 3; j++)
                row[c->law_at[l] + j] = M[l][3 * (k - c->law_at[l]) + j];
    double v = 0;
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++)
            v += row[i] * p->cov0[i * d + j] * row[j];
    *sd = sqrt(v);
    return th[k];
}

/* The warm start's covariance is where the chains start and the metric's
 * first guess: one the sampler cannot factor is refused here, naming the
 * parameter where it breaks down with the fit's value and its bounds,
 * rather than as "not positive definite" from every shard later. */
static int check_start(const hcmc_problem *p, hcmc_error *err)
{
    size_t d = p->dim;
    double *a = malloc(d * d * sizeof *a), *theta = malloc(d * sizeof *theta);
    if (!a || !theta) {
        free(a), free(theta);
        return hcmc_error_set(err, HCMC_ENOMEM, "problem: out of memory");
    }
    size_t bad = d;
    for (size_t k = 0; k < d && bad == d; k++)
        if (!isfinite(p->z0[k]) || !(p->cov0[k * d + k] > 0) ||
            !isfinite(p->cov0[k * d + k]))
            bad = k;
    for (size_t k = 0; k < d * d && bad == d; k++)
        if (!isfinite(p->cov0[k]))
            bad = k / d;
    if (bad == d) {
        memcpy(a, p->cov0, d * d * sizeof *a);
        lapack_int info =
            LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)d, a, (lapack_int)d);
        if (info > 0)
            bad = (size_t)info - 1;
    }
    int rc = 0;
    if (bad < d) {
        double lo, hi;
        hcmc_target_constrain(p->full, p->z0, theta);
        hcmc_target_bounds(p->full, bad, &lo, &hi);
        double w = hi - lo, v = theta[bad];
        bool edge = isfinite(w) && (v - lo < 1e-3 * w || hi - v < 1e-3 * w);
        rc = hcmc_error_set(
            err, HCMC_ENUMERIC,
            "warm start: the posterior's curvature at the fit is not usable in %s "
            "(%s%.6g, bounds [%g, %g]): %s",
            hcmc_target_param_name(p->full, bad), edge ? "at a bound: " : "", v, lo, hi,
            edge ? "the data want a value beyond that bound (widen it) or leave the "
                   "parameter open (narrow the bound or fix it: "
                   "initial_parameters.fixed_parameters)"
                 : "the data leave it undetermined at the fit: fix it "
                   "(initial_parameters.fixed_parameters), narrow its bounds, or give "
                   "initial_parameters near the answer");
    }
    free(a), free(theta);
    return rc;
}

/* A rate law whose exponent the data cannot tell from 0 (within 3 sds on
 * all points, by the warm start) has its prefactor and offset identified
 * only through their sum there: the posterior is a long ridge bounded by
 * the priors, slow to sample and hard to combine. Said once, with the way
 * out: fix the exponent and one of the two. */
static void warn_flat_laws(const hcmc_problem *p)
{
    static const char *const rate[2] = {"D(t)", "gamma_dot(t)"};
    for (int b = 0; b < 2; b++) {
        int s0 = hcmc_target_phys_slot(p->full, 3 * b),
            se = hcmc_target_phys_slot(p->full, 3 * b + 1),
            s2 = hcmc_target_phys_slot(p->full, 3 * b + 2);
        if (s0 < 0 || se < 0 || s2 < 0)
            continue;
        double sd, a = start_value_sd(p, p->full, (size_t)se, &sd);
        if (fabs(a) < 3 * sd)
            hcmc_log(
                HCMC_LOG_WARN,
                "%s: %s = %.3g is within 3 sd (%.2g) of 0 on all points: %s and %s "
                "are then told apart only weakly (at 0 only their sum counts) and "
                "the posterior is a long ridge; for a steady rate fix the exponent "
                "and one of them (--fix %s=0 --fix %s=0)",
                rate[b], hcmc_phys_name(3 * b + 1), a, sd, hcmc_phys_name(3 * b),
                hcmc_phys_name(3 * b + 2), hcmc_phys_name(3 * b + 1),
                hcmc_phys_name(3 * b + 2));
    }
}

/* The coordinates of each rate law whose three parameters are sampled
 * (law.h), from the fit theta and its linearised covariance C (nb x nb),
 * judged by a shard's posterior (sqrt(K) times as wide as that of all
 * points): SLOPE where the exponent lies within SLOPE_SD shard sd of 0, if
 * a reference time suits the exponent's bounds, with the curvature's
 * scale in a shard (hcmc_warm_curvature) for u's map. Such a posterior
 * has a plateau at exponent 0 (the data leave u to the prior there), which
 * only SLOPE reaches without a wall or a squeeze: RATES are singular at 0
 * and SHAPE has a wall where the prefactor's bound cuts that ridge. 4 sd,
 * because the warm start's sd is local and can be optimistic threefold
 * (noise0.05 of the validation catalogue: beta 3.4 sd from 0 by it, 1.1 in
 * the posterior), and because beyond it SLOPE is slower than RATES on a
 * posterior peaked away from 0 (the laminar file's CMC: 35 s against 7 s
 * with its shear law 4.2 shard sd from 0). Beyond: RATES where the
 * exponent is more than 3 shard sd from 0 and each reference rate more
 * than 4 sd above 0 (such a posterior is closest to Gaussian in log rates:
 * measured on the cli_accuracy files, README "The sampler"); else SHAPE
 * with the slope scale w a shard's sd of the log-slope. The shard count is
 * spec's; spec gets the kinds and scales. True when it changed them. */
static const double SLOPE_SD = 4;

static bool choose_laws(const hcmc_problem *p, hcmc_target_spec *spec,
                        const double *theta, const double *C)
{
    const hcmc_model *m = &spec->model;
    size_t nb = p->dim - 1, nlaws = m->mode == HCMC_MODE_LAMINAR ? 2 : 1;
    double rk = sqrt((double)spec->num_shards), t_max = (double)(m->n_t - 1) * m->dt;
    double t_r = hcmc_law_reference_time(m->dt, t_max);
    bool changed = false;
    for (size_t l = 0; spec->law_coords && l < nlaws; l++) {
        int s0 = hcmc_target_phys_slot(p->full, 3 * (int)l);
        if (s0 < 0 || hcmc_target_phys_slot(p->full, 3 * (int)l + 2) != s0 + 2)
            continue;
        const double *th = theta + s0, *Cb = C + (size_t)s0 * nb + (size_t)s0;
        /* sd of g . theta over the block */
        double g[3], sd_b = sqrt(Cb[nb + 1]), margin = INFINITY;
        bool rates = isfinite(sd_b) && fabs(th[1]) > 3 * rk * sd_b;
        /* rates coordinates have walls where the bounds cut: not for a law
         * whose fit lies near one */
        for (int i = 0; i < 3; i++) {
            double lo, hi, sd = rk * sqrt(Cb[(size_t)i * (nb + 1)]);
            hcmc_target_bounds(p->full, (size_t)s0 + (size_t)i, &lo, &hi);
            rates = rates && th[i] - lo > 3 * sd && hi - th[i] > 3 * sd;
        }
        for (int i = 0; i < 3; i++) {
            double t = t_max / (i == 0 ? 16 : i == 1 ? 4 : 1), u = pow(t, th[1]), v = 0;
            g[0] = u;
            g[1] = th[0] * u * log(t);
            g[2] = 1;
            for (int a = 0; a < 3; a++)
                for (int b = 0; b < 3; b++)
                    v += g[a] * Cb[(size_t)a * nb + (size_t)b] * g[b];
            margin = fmin(margin, (th[0] * u + th[2]) / (rk * sqrt(v)));
        }
        rates = rates && margin > 4;
        double w = 0;
        if (!rates) {
            hcmc_law_slope(t_r, th, g);
            for (int a = 0; a < 3; a++)
                for (int b = 0; b < 3; b++)
                    w += g[a] * Cb[(size_t)a * nb + (size_t)b] * g[b];
            w = isfinite(w) && w > 0 ? rk * sqrt(w) : 0;
        }
        double blo, bhi;
        hcmc_target_bounds(p->full, (size_t)s0 + 1, &blo, &bhi);
        double ts = hcmc_law_slope_time(blo, bhi, m->dt, t_max);
        bool slope = fabs(th[1]) < SLOPE_SD * rk * sd_b && ts > 0;
        hcmc_law_kind kind = slope   ? HCMC_LAW_SLOPE
                             : rates ? HCMC_LAW_RATES
                                     : HCMC_LAW_SHAPE;
        if (slope) {
            /* the curvature's scale in a shard, where u's map has its edge */
            double ks = 0;
            hcmc_warm_curvature(p->full, theta, (size_t)s0, ts, 0, &ks, NULL);
            w = rk * ks;
        }
        hcmc_log(
            HCMC_LOG_DEBUG,
            "rate law %zu: exponent %.3g is %.1f shard sd from 0, the least reference "
            "rate %.1f shard sd above 0: %s coordinates (scale %.3g)",
            l, th[1], fabs(th[1]) / (rk * sd_b), margin, hcmc_law_kind_name(kind), w);
        changed = changed || kind != spec->law_kind[l] || w != spec->law_slope_scale[l];
        spec->law_kind[l] = kind;
        spec->law_slope_scale[l] = w;
    }
    return changed;
}

void hcmc__problem_refine_spec(const hcmc_problem *p, hcmc_target_spec *out)
{
    *out = p->spec;
    out->num_shards = 1;
    out->prior_tempering = false;
    for (int l = 0; l < 2; l++) {
        if (p->has_one) {
            out->law_kind[l] = p->one_kind[l];
            out->law_slope_scale[l] = p->one_scale[l];
        } else if (out->law_kind[l] == HCMC_LAW_SLOPE) {
            /* a plan without the choice: the shards' kinds, the curvature
             * scale of all points (choose_laws: sqrt(K) times it in a
             * shard) */
            out->law_slope_scale[l] /= sqrt((double)p->spec.num_shards);
        }
    }
}

bool hcmc__problem_one_laws(const hcmc_problem *p, int kind[2], double scale[2])
{
    for (int l = 0; l < 2; l++) {
        kind[l] = (int)p->one_kind[l];
        scale[l] = p->one_scale[l];
    }
    return p->has_one;
}

void hcmc__problem_set_one_laws(hcmc_problem *p, const int kind[2], const double scale[2])
{
    for (int l = 0; l < 2; l++) {
        p->one_kind[l] = kind[l] == HCMC_LAW_RATES   ? HCMC_LAW_RATES
                         : kind[l] == HCMC_LAW_SLOPE ? HCMC_LAW_SLOPE
                                                     : HCMC_LAW_SHAPE;
        p->one_scale[l] = scale[l];
    }
    p->has_one = true;
}

int hcmc_problem_new(const hcmc_target_spec *spec, const hcmc_points *pts, size_t K,
                     const double *init_phys, hcmc_problem **out, hcmc_error *err)
{
    *out = NULL;
    hcmc_problem *p = calloc(1, sizeof *p);
    if (!p)
        return hcmc_error_set(err, HCMC_ENOMEM, "problem: out of memory");
    p->spec = *spec;
    p->spec.num_shards = K ? K : 1;
    p->pts = pts;
    double s_y;
    int rc = hcmc_points_noise_scale(pts, &s_y, err);
    if (rc)
        goto fail;
    if (!(p->spec.sigma_scale > 0))
        p->spec.sigma_scale = 1.5 * s_y;
    if ((rc = hcmc_target_new(&p->spec, pts, &p->full, err)))
        goto fail;
    p->dim = hcmc_target_dim(p->full);
    /* constant modes: every shard uses the values of the whole data set */
    hcmc_scaling_mode sm = hcmc_target_scaling(p->full);
    if (sm == HCMC_SCALING_CONSTANT || sm == HCMC_SCALING_CONSTANT_AVERAGED) {
        size_t A = pts->n_phi;
        if (!(p->fixed = malloc(2 * A * sizeof(double)))) {
            rc = hcmc_error_set(err, HCMC_ENOMEM, "problem: out of memory");
            goto fail;
        }
        for (size_t a = 0; a < A; a++) {
            p->fixed[a] = hcmc_target_fixed_contrast(p->full, a);
            p->fixed[A + a] = hcmc_target_fixed_offset(p->full, a);
        }
        p->spec.fixed_contrast = p->fixed;
        p->spec.fixed_offset = p->fixed + A;
    }
    size_t d = p->dim;
    p->z0 = malloc(d * sizeof(double));
    p->cov0 = malloc(d * d * sizeof(double));
    if (!p->z0 || !p->cov0) {
        rc = hcmc_error_set(err, HCMC_ENOMEM, "problem: out of memory");
        goto fail;
    }
    /* a start: given values, then a least-squares fit from there */
    double *guess = NULL;
    bool any = false;
    for (int k = 0; init_phys && k < HCMC_NPHYS_MAX; k++)
        any = any || (hcmc_target_phys_slot(p->full, k) >= 0 && !isnan(init_phys[k]));
    if (any) {
        double *theta = malloc(d * sizeof(double));
        if (!theta) {
            rc = hcmc_error_set(err, HCMC_ENOMEM, "problem: out of memory");
            goto fail;
        }
        for (size_t k = 0; k < d; k++)
            theta[k] = NAN;
        for (int k = 0; k < HCMC_NPHYS_MAX; k++) {
            int slot = hcmc_target_phys_slot(p->full, k);
            if (slot >= 0)
                theta[slot] = init_phys[k];
        }
        rc = hcmc_initial_point(p->full, theta, p->z0, err);
        free(theta);
        if (rc)
            goto fail;
        guess = p->z0;
    }
    /* the fit, then each law's coordinates from it (choose_laws), then the
     * mode in those coordinates */
    double *theta = malloc(d * (d + 1) * sizeof(double)),
           *cth = theta ? theta + d : NULL;
    if (!theta) {
        rc = hcmc_error_set(err, HCMC_ENOMEM, "problem: out of memory");
        goto fail;
    }
    hcmc_warm_alts alts;
    rc = hcmc_warm_fit(p->full, guess, 0, theta, cth, &alts, NULL, err);
    if (!rc && choose_laws(p, &p->spec, theta, cth)) {
        hcmc_target_free(p->full);
        p->full = NULL;
        rc = hcmc_target_new(&p->spec, pts, &p->full, err);
    }
    if (!rc) { /* the choice one run on all points makes: the refinement's */
        hcmc_target_spec one = p->spec;
        one.num_shards = 1;
        if (p->spec.num_shards > 1)
            choose_laws(p, &one, theta, cth);
        p->has_one = true;
        for (int l = 0; l < 2; l++) {
            p->one_kind[l] = one.law_kind[l];
            p->one_scale[l] = one.law_slope_scale[l];
        }
    }
    double log_mass0 = 0;
    if (!rc)
        rc = hcmc_warm_mode(p->full, theta, 0, p->z0, p->cov0, &log_mass0, err);
    free(theta);
    if (!rc) {
        p->n_modes = 1;
        hcmc_target_constrain(p->full, p->z0, p->modes[0].theta);
        p->modes[0].weight = 1;
        other_modes(p, &alts, log_mass0);
    }
    if (!rc)
        rc = check_start(p, err);
    if (rc)
        goto fail;
    warn_flat_laws(p);
    /* a shard sees 1/K of the data: its posterior is about K times wider */
    for (size_t i = 0; i < d * d; i++)
        p->cov0[i] *= (double)p->spec.num_shards;
    assert(hcmc__problem_ok(p));
    *out = p;
    return HCMC_OK;
fail:
    hcmc_problem_free(p);
    return rc;
}

void hcmc_shard_result_free(hcmc_shard_result *r)
{
    if (!r)
        return;
    hcmc_nuts_result_free(r->nuts);
    free(r);
}

/* R-hat and bulk ESS over the parameters: the shard's summary figures. */
static void diagnose(hcmc_shard_result *r)
{
    size_t C = r->nuts->num_chains, D = r->nuts->sampling.n, dim = r->nuts->dim;
    r->rhat_max = 0;
    r->ess_bulk_min = INFINITY;
    r->reruns = 0;
    for (size_t c = 0; r->nuts->rerun && c < C; c++)
        r->reruns += r->nuts->rerun[c];
    for (size_t k = 0; k < dim; k++) {
        double rh = hcmc_rhat(r->nuts->sampling.z + k, C, D, dim);
        double eb = hcmc_ess_bulk(r->nuts->sampling.z + k, C, D, dim);
        r->rhat_max = fmax(r->rhat_max, isnan(rh) ? 0 : rh);
        r->ess_bulk_min = fmin(r->ess_bulk_min, isnan(eb) ? 0 : eb);
    }
}

static int sample(const hcmc_problem *p, const hcmc_target *t,
                  const hcmc_nuts_settings *s, hcmc_nuts_result **out, hcmc_error *e)
{
    hcmc_density dz = hcmc_density_from_target(t);
    return hcmc_nuts_run(&dz, s, p->z0, p->cov0, out, e);
}

int hcmc_shard_run(const hcmc_problem *p, const hcmc_shard_plan *plan, size_t id,
                   const hcmc_nuts_settings *settings, hcmc_shard_result **out,
                   hcmc_error *err)
{
    *out = NULL;
    if (id >= plan->n_shards)
        return hcmc_error_set(err, HCMC_EINVAL, "shard %zu: the plan has %zu shards",
                              id, plan->n_shards);
    assert(hcmc__problem_ok(p)); /* a worker's plan has no costs: not checked here */
    hcmc_shard_result *r = calloc(1, sizeof *r);
    if (!r)
        return hcmc_error_set(err, HCMC_ENOMEM, "shard %zu: out of memory", id);
    double t0 = hcmc_seconds();
    r->id = id;
    r->n_points = plan->start[id + 1] - plan->start[id];
    hcmc_points sub = {0};
    hcmc_target *t = NULL;
    hcmc_error e;
    int rc =
        hcmc_points_subset(p->pts, plan->idx + plan->start[id], r->n_points, &sub, &e);
    if (!rc)
        rc = hcmc_target_new(&p->spec, &sub, &t, &e);
    if (!rc) {
        hcmc_nuts_settings s = *settings;
        s.shard = (uint32_t)id;
        rc = sample(p, t, &s, &r->nuts, &e);
    }
    if (rc) {
        r->status = rc;
        snprintf(r->message, sizeof r->message, "%s", e.msg);
    } else {
        diagnose(r);
    }
    hcmc_target_free(t);
    hcmc_points_release(&sub);
    r->seconds = hcmc_seconds() - t0;
    *out = r;
    return HCMC_OK;
}

/* ---- the shard result as bytes --------------------------------------- */

/* One function walks the result for both directions, so the two can never
 * disagree: writing appends every field, reading takes them back in the
 * same order (counts before the arrays they size). */
typedef struct {
    unsigned char *buf;
    size_t len, cap, pos;
    bool reading, bad;
} ser;

static void ser_bytes(ser *s, void *data, size_t n)
{
    if (s->bad || n == 0)
        return;
    if (s->reading) {
        if (n > s->len - s->pos) {
            s->bad = true;
            return;
        }
        memcpy(data, s->buf + s->pos, n);
        s->pos += n;
        return;
    }
    if (s->len + n > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + n)
            cap *= 2;
        unsigned char *g = realloc(s->buf, cap);
        if (!g) {
            s->bad = true;
            return;
        }
        s->buf = g;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, n);
    s->len += n;
}

#define SER(s, field) ser_bytes((s), &(field), sizeof(field))

/* An array of count elements of size elem behind *ptr (allocated when
 * reading; NULL stays NULL: a flag goes first). */
static void ser_array(ser *s, void *ptr, size_t count, size_t elem)
{
    void **p = ptr;
    unsigned char present = *p != NULL;
    SER(s, present);
    if (s->bad || !present)
        return;
    if (count > (SIZE_MAX / 2) / (elem ? elem : 1)) {
        s->bad = true;
        return;
    }
    if (s->reading && !(*p = malloc(count * elem > 0 ? count * elem : 1))) {
        s->bad = true;
        return;
    }
    ser_bytes(s, *p, count * elem);
}

static void ser_result(ser *s, hcmc_shard_result *r)
{
    uint32_t magic = 0x52534348u, version = 2; /* "HCSR" */
    SER(s, magic);
    SER(s, version);
    if (s->reading && (magic != 0x52534348u || version != 2))
        s->bad = true;
    SER(s, r->id);
    SER(s, r->n_points);
    SER(s, r->status);
    SER(s, r->message);
    r->message[sizeof r->message - 1] = 0;
    SER(s, r->seconds);
    SER(s, r->rhat_max);
    SER(s, r->ess_bulk_min);
    SER(s, r->reruns);
    unsigned char has = r->nuts != NULL;
    SER(s, has);
    if (s->bad || !has)
        return;
    if (s->reading && !(r->nuts = calloc(1, sizeof *r->nuts))) {
        s->bad = true;
        return;
    }
    hcmc_nuts_result *n = r->nuts;
    hcmc_nuts_draws *D = &n->sampling;
    SER(s, n->dim);
    SER(s, n->num_chains);
    SER(s, n->dense);
    SER(s, n->n_gradients);
    SER(s, n->warmup_seconds);
    SER(s, n->sampling_seconds);
    SER(s, D->n);
    if (s->bad || n->dim > 4096 || n->num_chains > 1024) {
        s->bad = true;
        return;
    }
    size_t C = n->num_chains, d = n->dim, m = C * D->n, nm = n->dense ? d * d : d;
    ser_array(s, &n->step_size, C, sizeof(double));
    ser_array(s, &n->inv_metric, C * nm, sizeof(double));
    ser_array(s, &n->init, C * d, sizeof(double));
    ser_array(s, &n->rerun, C, 1);
    ser_array(s, &D->z, m * d, sizeof(double));
    ser_array(s, &D->theta, m * d, sizeof(double));
    ser_array(s, &D->lp, m, sizeof(double));
    ser_array(s, &D->energy, m, sizeof(double));
    ser_array(s, &D->step_size, m, sizeof(double));
    ser_array(s, &D->accept_stat, m, sizeof(double));
    ser_array(s, &D->tree_depth, m, sizeof(int));
    ser_array(s, &D->n_steps, m, sizeof(int));
    ser_array(s, &D->diverging, m, 1);
}

int hcmc_shard_result_pack(const hcmc_shard_result *r, void **buf, size_t *len,
                           hcmc_error *err)
{
    ser s = {0};
    hcmc_shard_result copy = *r; /* the walker takes non-const pointers */
    hcmc_nuts_result nuts;
    if (r->nuts) {
        nuts = *r->nuts;
        nuts.warmup = (hcmc_nuts_draws){0}; /* warmup draws do not travel */
        copy.nuts = &nuts;
    }
    ser_result(&s, &copy);
    if (s.bad) {
        free(s.buf);
        return hcmc_error_set(err, HCMC_ENOMEM, "shard %zu: out of memory", r->id);
    }
    *buf = s.buf;
    *len = s.len;
    return HCMC_OK;
}

int hcmc_shard_result_unpack(const void *buf, size_t len, hcmc_shard_result **out,
                             hcmc_error *err)
{
    *out = NULL;
    hcmc_shard_result *r = calloc(1, sizeof *r);
    if (!r)
        return hcmc_error_set(err, HCMC_ENOMEM, "shard result: out of memory");
    ser s = {.buf = (unsigned char *)buf, .len = len, .reading = true};
    ser_result(&s, r);
    bool complete = !s.bad && s.pos == len;
    if (complete && r->nuts) { /* every array a result has must be there */
        const hcmc_nuts_draws *D = &r->nuts->sampling;
        complete = r->nuts->step_size && r->nuts->inv_metric && r->nuts->init && D->z &&
                   D->lp && D->energy && D->step_size && D->accept_stat &&
                   D->tree_depth && D->n_steps && D->diverging;
    }
    if (!complete) {
        hcmc_shard_result_free(r);
        return hcmc_error_set(err, HCMC_EFORMAT,
                              "a shard result of %zu bytes is truncated or malformed",
                              len);
    }
    *out = r;
    return HCMC_OK;
}

/* ---- what identifies a problem --------------------------------------- */

#define HASH(h, v) ((h) = hcmc__fnv1a((h), &(v), sizeof(v)))
#define HASH_ARRAY(h, a, n) ((h) = (a) ? hcmc__fnv1a((h), (a), (n) * sizeof *(a)) : (h))

static uint64_t hash_prior(uint64_t h, const hcmc_prior *p)
{
    int type = (int)p->type;
    HASH(h, type);
    HASH(h, p->lo);
    HASH(h, p->hi);
    HASH(h, p->mu);
    HASH(h, p->sigma);
    return h;
}

uint64_t hcmc_problem_fingerprint(const hcmc_problem *p, const hcmc_shard_plan *plan,
                                  const hcmc_nuts_settings *s)
{
    uint64_t h =
        hcmc__fnv1a(HCMC__FNV_INIT, "hcmc " HCMC_VERSION, 5 + strlen(HCMC_VERSION));
    const hcmc_points *pts = p->pts;
    HASH(h, pts->n);
    HASH(h, pts->n_phi);
    HASH(h, pts->n_t);
    HASH_ARRAY(h, pts->phi, pts->n_phi);
    HASH_ARRAY(h, pts->angle_start, pts->n_phi + 1);
    HASH_ARRAY(h, pts->i, pts->n);
    HASH_ARRAY(h, pts->j, pts->n);
    HASH_ARRAY(h, pts->y, pts->n);
    HASH(h, plan->n_shards);
    HASH_ARRAY(h, plan->start, plan->n_shards + 1);
    HASH_ARRAY(h, plan->idx, pts->n);
    const hcmc_target_spec *sp = &p->spec;
    int mode = (int)sp->model.mode, conv = (int)sp->model.convention;
    int scaling = (int)hcmc_target_scaling(p->full);
    HASH(h, mode);
    HASH(h, conv);
    HASH(h, sp->model.q);
    HASH(h, sp->model.L);
    HASH(h, sp->model.dt);
    HASH(h, sp->model.n_t);
    for (size_t k = 0; k < hcmc_mode_nphys(sp->model.mode); k++) {
        h = hash_prior(h, &sp->phys[k]);
        if (sp->phys_fixed[k]) /* only then: earlier runs keep their hash */
            HASH(h, sp->phys_fixed_value[k]);
    }
    h = hash_prior(h, &sp->contrast);
    h = hash_prior(h, &sp->offset);
    HASH(h, scaling);
    HASH_ARRAY(h, p->fixed, p->fixed ? 2 * pts->n_phi : 0);
    HASH(h, sp->sigma_scale);
    HASH(h, sp->num_shards);
    HASH(h, sp->prior_tempering);
    HASH(h, sp->law_coords);
    HASH(h, sp->law_kind);
    HASH(h, sp->law_slope_scale);
    HASH_ARRAY(h, p->z0, p->dim);
    HASH_ARRAY(h, p->cov0, p->dim * p->dim);
    /* the sampler settings that change draws (not parallel or progress) */
    HASH(h, s->num_warmup);
    HASH(h, s->num_samples);
    HASH(h, s->num_chains);
    HASH(h, s->max_tree_depth);
    HASH(h, s->target_accept);
    HASH(h, s->dense_mass);
    HASH(h, s->step_size);
    HASH(h, s->max_delta_h);
    HASH(h, s->rerun_divergent);
    HASH(h, s->rerun_target_accept);
    HASH(h, s->init_radius);
    HASH(h, s->seed);
    return h;
}

const hcmc_target_spec *hcmc__problem_spec(const hcmc_problem *p)
{
    return &p->spec;
}

const double *hcmc__problem_start(const hcmc_problem *p, const double **cov0)
{
    *cov0 = p->cov0;
    return p->z0;
}

int hcmc__problem_from_parts(const hcmc_target_spec *spec, const hcmc_points *pts,
                             size_t dim, const double *z0, const double *cov0,
                             bool full, hcmc_problem **out, hcmc_error *err)
{
    *out = NULL;
    hcmc_problem *p = calloc(1, sizeof *p);
    if (!p)
        return hcmc_error_set(err, HCMC_ENOMEM, "problem: out of memory");
    p->spec = *spec;
    p->pts = pts;
    p->dim = dim;
    size_t A = pts->n_phi;
    p->z0 = malloc(dim * sizeof(double));
    p->cov0 = malloc(dim * dim * sizeof(double));
    if (spec->fixed_contrast && spec->fixed_offset)
        p->fixed = malloc(2 * A * sizeof(double));
    if (!p->z0 || !p->cov0 || (spec->fixed_contrast && !p->fixed)) {
        hcmc_problem_free(p);
        return hcmc_error_set(err, HCMC_ENOMEM, "problem: out of memory");
    }
    memcpy(p->z0, z0, dim * sizeof(double));
    memcpy(p->cov0, cov0, dim * dim * sizeof(double));
    if (p->fixed) {
        memcpy(p->fixed, spec->fixed_contrast, A * sizeof(double));
        memcpy(p->fixed + A, spec->fixed_offset, A * sizeof(double));
        p->spec.fixed_contrast = p->fixed;
        p->spec.fixed_offset = p->fixed + A;
    }
    if (full) {
        int rc = hcmc_target_new(&p->spec, pts, &p->full, err);
        if (!rc && hcmc_target_dim(p->full) != dim)
            rc = hcmc_error_set(err, HCMC_EFORMAT,
                                "problem: %zu coordinates given, the target has %zu",
                                dim, hcmc_target_dim(p->full));
        if (rc) {
            hcmc_problem_free(p);
            return rc;
        }
    }
    *out = p;
    return HCMC_OK;
}

/* ---- a shard from the results of its chains --------------------------- */

/* Appends count elements of size elem from src to *dst at element offset
 * at (dst allocated for total elements by the first call). */
static int join(void *dst_p, const void *src, size_t at, size_t count, size_t total,
                size_t elem)
{
    unsigned char **dst = dst_p;
    if (!src)
        return -1;
    if (!*dst && !(*dst = malloc(total * elem > 0 ? total * elem : 1)))
        return -1;
    memcpy(*dst + at * elem, src, count * elem);
    return 0;
}

int hcmc_shard_result_merge(hcmc_shard_result **parts, size_t n,
                            hcmc_shard_result **out, hcmc_error *err)
{
    *out = NULL;
    size_t failed = n;
    for (size_t k = 0; k < n && failed == n; k++)
        if (parts[k]->status || !parts[k]->nuts)
            failed = k;
    if (failed < n) { /* the shard failed as its first failed part did */
        *out = parts[failed];
        for (size_t k = 0; k < n; k++)
            if (k != failed)
                hcmc_shard_result_free(parts[k]);
        return HCMC_OK;
    }
    const hcmc_nuts_result *a = parts[0]->nuts;
    size_t d = a->dim, S = a->sampling.n, nm = a->dense ? d * d : d, C = 0;
    bool theta = true;
    for (size_t k = 0; k < n; k++) {
        const hcmc_nuts_result *b = parts[k]->nuts;
        if (b->dim != d || b->sampling.n != S || b->dense != a->dense)
            return hcmc_error_set(err, HCMC_EINVAL,
                                  "shard %zu: its chains' results do not fit together",
                                  parts[0]->id);
        C += b->num_chains;
        theta = theta && b->sampling.theta;
    }
    hcmc_shard_result *r = calloc(1, sizeof *r);
    hcmc_nuts_result *m = r ? calloc(1, sizeof *m) : NULL;
    int bad = !m;
    if (!bad) {
        r->nuts = m;
        r->id = parts[0]->id;
        r->n_points = parts[0]->n_points;
        m->dim = d;
        m->num_chains = C;
        m->dense = a->dense;
        m->sampling.n = S;
    }
    hcmc_nuts_draws *D = bad ? NULL : &m->sampling;
    for (size_t k = 0, c0 = 0; k < n && !bad; k++) {
        const hcmc_nuts_result *b = parts[k]->nuts;
        const hcmc_nuts_draws *B = &b->sampling;
        size_t c = b->num_chains, g0 = c0 * S, g = c * S;
        bad = join(&m->step_size, b->step_size, c0, c, C, sizeof(double)) ||
              join(&m->inv_metric, b->inv_metric, c0 * nm, c * nm, C * nm,
                   sizeof(double)) ||
              join(&m->init, b->init, c0 * d, c * d, C * d, sizeof(double)) ||
              (b->rerun && join(&m->rerun, b->rerun, c0, c, C, 1)) ||
              join(&D->z, B->z, g0 * d, g * d, C * S * d, sizeof(double)) ||
              (theta &&
               join(&D->theta, B->theta, g0 * d, g * d, C * S * d, sizeof(double))) ||
              join(&D->lp, B->lp, g0, g, C * S, sizeof(double)) ||
              join(&D->energy, B->energy, g0, g, C * S, sizeof(double)) ||
              join(&D->step_size, B->step_size, g0, g, C * S, sizeof(double)) ||
              join(&D->accept_stat, B->accept_stat, g0, g, C * S, sizeof(double)) ||
              join(&D->tree_depth, B->tree_depth, g0, g, C * S, sizeof(int)) ||
              join(&D->n_steps, B->n_steps, g0, g, C * S, sizeof(int)) ||
              join(&D->diverging, B->diverging, g0, g, C * S, 1);
        m->n_gradients += b->n_gradients;
        m->warmup_seconds += b->warmup_seconds;
        m->sampling_seconds += b->sampling_seconds;
        r->seconds += parts[k]->seconds;
        c0 += c;
    }
    if (bad) {
        hcmc_shard_result_free(r);
        return hcmc_error_set(err, HCMC_ENOMEM, "shard %zu: out of memory",
                              parts[0]->id);
    }
    diagnose(r);
    for (size_t k = 0; k < n; k++)
        hcmc_shard_result_free(parts[k]);
    *out = r;
    return HCMC_OK;
}
