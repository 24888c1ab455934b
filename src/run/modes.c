/* Modes of the posterior that the chains did not visit (run.h
 * hcmc_run_result modes), sampled one by one and weighed.
 *
 * Every chain of a run starts in the warm start's mode. Where the draws
 * stay more than MODE_SD sd from another mode that the warm start's search
 * found with at least MODE_MIN_WEIGHT of the first's mass by its Laplace
 * approximation, or from phi0's mirror image under an angle set with
 * several mirror axes within phi0's bounds (model.h; with one, mirror.c
 * makes both modes exactly from the draws of either), that mode is sampled
 * by chains of its own: its posterior mode is found by Newton from the
 * search's fit (or from the first mode's image), and NUTS with the run's
 * settings and as many chains as the run's (at least 2, so that R-hat
 * within the mode means something) samples the posterior of the points
 * combined from there, in one run's coordinates (as the refinement). A
 * mode whose chains all go back to the first is none: its basin drains
 * into the first, which its draws already hold.
 *
 * Each mode's mass is estimated by bridge sampling (importance.h
 * hcmc_bridge_log_mass) between its draws and a Gaussian fitted to them:
 * the first half of every chain gives the Gaussian's mean and covariance,
 * the second half and as many draws of the Gaussian give the bridge, so
 * that the proposal does not reuse the draws it is judged by (Overstall &
 * Forster 2010). The chains do not mix between the modes, so each mode's
 * draws are of the posterior restricted to its basin, and the estimate is
 * that basin's mass. Its error comes from the estimates of batches (each
 * half of a chain's second half, with its own share of the Gaussian's
 * draws, so that they are independent): their sd over the square root of
 * their number, which holds where a batch is long against the draws'
 * autocorrelation.
 * The weights are the masses over their sum; the error of a weight by the
 * delta method.
 *
 * The draws become the mixture: each mode gives a share of the run's
 * draws in proportion to its weight (largest remainders), evenly strided
 * through its own draws, and the whole is shuffled (the draws' order no
 * longer means anything; the diagnostics are each mode's own). Every mode
 * has at least as many draws as the run, so no draw is repeated. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lapacke.h>

#include "hcmc/coords.h"
#include "hcmc/diagnostics.h"
#include "hcmc/importance.h"
#include "hcmc/log.h"
#include "hcmc/model.h"
#include "hcmc/nuts.h"
#include "hcmc/rng.h"
#include "hcmc/timing.h"
#include "hcmc/warmstart.h"
#include "../cmc/cmc_internal.h"
#include "run_internal.h"

/* The sampler's stream key of the j-th mode sampled (the refinement has
 * UINT32_MAX). */
#define MODES_STREAM (UINT32_MAX - 1)

bool hcmc__mode_missed(const hcmc_param_summary *s, size_t d, const double *theta,
                       size_t *far)
{
    double worst = 0;
    size_t at = 0;
    for (size_t k = 0; k < d; k++) {
        double z = fabs(theta[k] - s[k].mean) / s[k].sd;
        if (s[k].sd > 0 && z > worst) {
            worst = z;
            at = k;
        }
    }
    if (far)
        *far = at;
    return worst > HCMC__MODE_SD;
}

typedef struct {
    double theta[65]; /* where Newton starts */
    int found;        /* the search's mode, -1: none */
    bool mirror;
} candidate;

/* The modes to sample: the search's modes of enough mass that the draws
 * (summaries s) miss, and phi0's mirror image (index kp, axis ax, bounds
 * lo hi; has_axis false where there is none) where it is not mirror.c's
 * (exact: one mirror axis within the bounds). */
static size_t candidates(const hcmc_run_result *r, const hcmc_param_summary *s,
                         bool has_axis, int kp, double ax, double lo, double hi,
                         bool exact, candidate *out)
{
    size_t n = 0, d = r->dim;
    for (size_t i = 1; i < r->n_found && n < HCMC_PROBLEM_MAX_MODES - 1; i++) {
        const hcmc_problem_mode *m = &r->found[i];
        if (!(m->weight >= HCMC__MODE_MIN_WEIGHT) ||
            !hcmc__mode_missed(s, d, m->theta, NULL))
            continue;
        bool image = false; /* the sampled mode's mirror image */
        if (has_axis) {
            double img[65];
            memcpy(img, m->theta, d * sizeof(double));
            img[kp] = hcmc_phi0_mirror(m->theta[kp], ax, lo, hi);
            image = !isnan(img[kp]) && !hcmc__mode_missed(s, d, img, NULL);
        }
        if (image && exact)
            continue; /* mirror.c's */
        candidate *c = &out[n++];
        memcpy(c->theta, m->theta, d * sizeof(double));
        c->found = (int)i;
        c->mirror = image;
    }
    bool have_mirror = false;
    for (size_t j = 0; j < n; j++)
        have_mirror = have_mirror || out[j].mirror;
    if (has_axis && !exact && !have_mirror && n < HCMC_PROBLEM_MAX_MODES - 1) {
        double mi = hcmc_phi0_mirror(s[kp].mean, ax, lo, hi);
        if (!isnan(mi) && fabs(mi - s[kp].mean) > HCMC__MODE_SD * s[kp].sd) {
            candidate *c = &out[n++];
            for (size_t k = 0; k < d; k++)
                c->theta[k] = r->n_found ? r->found[0].theta[k] : s[k].mean;
            c->theta[kp] = mi;
            c->found = -1;
            c->mirror = true;
        }
    }
    return n;
}

/* log N(z; mu, L L^T), L lower triangular row-major; y: room for d */
static double log_normal(const double *z, const double *mu, const double *L, size_t d,
                         double *y)
{
    double q = 0, ld = 0;
    for (size_t a = 0; a < d; a++) {
        double v = z[a] - mu[a];
        for (size_t b = 0; b < a; b++)
            v -= L[a * d + b] * y[b];
        y[a] = v / L[a * d + a];
        q += y[a] * y[a];
        ld += log(L[a * d + a]);
    }
    return -0.5 * q - ld - 0.5 * (double)d * log(2 * M_PI);
}

/* The log mass of the posterior t restricted to the basin that draws z
 * ([C][D][d], t's coordinates) sample, and its standard error. */
static int log_mass(const hcmc_target *t, const double *z, size_t C, size_t D, size_t d,
                    hcmc_rng *rng, double *lm, double *se, hcmc_error *e)
{
    size_t D1 = D / 2, D2 = D - D1, N = C * D2;
    if (D1 < 2 || C * D1 <= d)
        return hcmc_error_set(e, HCMC_EINVAL, "too few draws (%zu) to weigh a mode", D);
    double *mu = calloc(d, sizeof(double)), *L = calloc(d * d, sizeof(double));
    double *z1 = malloc(2 * N * d * sizeof(double)), *z2 = z1 ? z1 + N * d : NULL;
    double *buf = malloc((4 * N + 2 * C + d) * sizeof(double));
    int rc = mu && L && z1 && buf ? 0 : hcmc_error_set(e, HCMC_ENOMEM, "out of memory");
    if (rc)
        goto done;
    double *lp1 = buf, *lq1 = buf + N, *lp2 = buf + 2 * N, *lq2 = buf + 3 * N;
    double *lc = buf + 4 * N, *y = lc + 2 * C;
    /* the Gaussian from the first halves */
    double n1 = (double)(C * D1);
    for (size_t c = 0; c < C; c++)
        for (size_t i = 0; i < D1; i++)
            for (size_t a = 0; a < d; a++)
                mu[a] += z[(c * D + i) * d + a] / n1;
    for (size_t c = 0; c < C; c++)
        for (size_t i = 0; i < D1; i++) {
            const double *x = z + (c * D + i) * d;
            for (size_t a = 0; a < d; a++)
                for (size_t b = 0; b <= a; b++)
                    L[a * d + b] += (x[a] - mu[a]) * (x[b] - mu[b]) / (n1 - 1);
        }
    if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)d, L, (lapack_int)d)) {
        rc = hcmc_error_set(e, HCMC_ENUMERIC, "the draws' covariance is singular");
        goto done;
    }
    for (size_t a = 0; a < d; a++)
        for (size_t b = a + 1; b < d; b++)
            L[a * d + b] = 0;
    /* the second halves, and as many draws of the Gaussian */
    for (size_t c = 0; c < C; c++)
        memcpy(z1 + c * D2 * d, z + (c * D + D1) * d, D2 * d * sizeof(double));
    for (size_t g = 0; g < N; g++) {
        for (size_t a = 0; a < d; a++)
            y[a] = hcmc_rng_normal(rng);
        for (size_t a = 0; a < d; a++) {
            double v = mu[a];
            for (size_t b = 0; b <= a; b++)
                v += L[a * d + b] * y[b];
            z2[g * d + a] = v;
        }
    }
    for (size_t g = 0; g < N; g++) {
        lq1[g] = log_normal(z1 + g * d, mu, L, d, y);
        lq2[g] = log_normal(z2 + g * d, mu, L, d, y);
    }
    if ((rc = hcmc_log_posterior_many(t, z1, N, lp1, e)) ||
        (rc = hcmc_log_posterior_many(t, z2, N, lp2, e)))
        goto done;
    double ess = (double)N;
    for (size_t a = 0; a < d; a++) {
        double v = hcmc_ess_bulk(z1 + a, C, D2, d);
        if (isfinite(v) && v < ess)
            ess = v;
    }
    *lm = hcmc_bridge_log_mass(lp1, lq1, N, ess, lp2, lq2, N);
    /* the error: estimates from B = 2 C batches, each a half of a chain's
     * second half with its own share of the Gaussian's draws */
    size_t B = 2 * C, nb = N / B;
    double m = 0, s2 = 0;
    for (size_t b = 0; b < B; b++) {
        lc[b] = hcmc_bridge_log_mass(lp1 + b * nb, lq1 + b * nb, nb, ess / (double)B,
                                     lp2 + b * nb, lq2 + b * nb, nb);
        m += lc[b] / (double)B;
    }
    for (size_t b = 0; b < B; b++)
        s2 += (lc[b] - m) * (lc[b] - m) / (double)(B - 1);
    *se = sqrt(s2 / (double)B);
    if (!isfinite(*lm))
        rc = hcmc_error_set(e, HCMC_ENUMERIC, "bridge sampling found no finite mass");
done:
    free(mu);
    free(L);
    free(z1);
    free(buf);
    return rc;
}

/* One mode sampled: its draws in t's coordinates and constrained. */
typedef struct {
    hcmc_nuts_result *nr;
    size_t chains;
    const double *z;
    double *theta;
    int found;
    bool mirror;
} sampled;

/* Whether every chain of x ([C][D][d] constrained) ends in the first
 * mode (summaries s): the chain's mean is within MODE_SD sd of it. */
static bool drained(const double *x, size_t C, size_t D, size_t d,
                    const hcmc_param_summary *s)
{
    for (size_t c = 0; c < C; c++) {
        double mean[65] = {0};
        for (size_t i = 0; i < D; i++)
            for (size_t k = 0; k < d; k++)
                mean[k] += x[(c * D + i) * d + k] / (double)D;
        if (hcmc__mode_missed(s, d, mean, NULL))
            return false;
    }
    return true;
}

/* Whether the mode z lies within MODE_SD sd (cov) of the mode z2 in
 * every coordinate. */
static bool same_mode(const double *z, const double *z2, const double *cov2, size_t d)
{
    for (size_t a = 0; a < d; a++)
        if (fabs(z[a] - z2[a]) > HCMC__MODE_SD * sqrt(cov2[a * d + a]))
            return false;
    return true;
}

/* The mixture's draws: counts by largest remainders of w[M] * G, each
 * mode's evenly strided through its own G_m draws (zs[m], chains[m] * D
 * of them), shuffled; labels into mode_of. */
static void mixture(const double *const *zs, const size_t *Gm, const double *w,
                    size_t M, size_t G, size_t d, hcmc_rng *rng, double *z,
                    int *mode_of)
{
    size_t count[HCMC_PROBLEM_MAX_MODES], total = 0;
    double rem[HCMC_PROBLEM_MAX_MODES];
    for (size_t m = 0; m < M; m++) {
        count[m] = (size_t)floor(w[m] * (double)G);
        rem[m] = w[m] * (double)G - (double)count[m];
        total += count[m];
    }
    while (total < G) { /* the largest remainders get one more */
        size_t best = 0;
        for (size_t m = 1; m < M; m++)
            best = rem[m] > rem[best] ? m : best;
        count[best]++;
        rem[best] = -1;
        total++;
    }
    size_t g = 0;
    for (size_t m = 0; m < M; m++)
        for (size_t i = 0; i < count[m]; i++, g++) {
            size_t at = (size_t)(((double)i + 0.5) * (double)Gm[m] / (double)count[m]);
            memcpy(z + g * d, zs[m] + at * d, d * sizeof(double));
            mode_of[g] = (int)m;
        }
    double tmp[65];
    for (size_t i = G; i > 1; i--) { /* Fisher-Yates */
        size_t j = (size_t)hcmc_rng_below(rng, i);
        memcpy(tmp, z + (i - 1) * d, d * sizeof(double));
        memcpy(z + (i - 1) * d, z + j * d, d * sizeof(double));
        memcpy(z + j * d, tmp, d * sizeof(double));
        int l = mode_of[i - 1];
        mode_of[i - 1] = mode_of[j];
        mode_of[j] = l;
    }
}

void hcmc__modes(const hcmc_problem *prob, const hcmc_points *pts,
                 const hcmc_nuts_settings *ns, const hcmc_config *c,
                 const hcmc__mirror *mirror, const double (*bounds)[2], size_t nb,
                 hcmc_combine_result *comb, hcmc_run_result *r)
{
    size_t d = comb->dim, G = comb->chains * comb->draws, D = comb->draws;
    if (d > 65 || !G)
        return;
    double t0 = hcmc_seconds();
    const hcmc_target *shard_coords = hcmc_problem_target(prob);
    hcmc_param_summary *s = calloc(d, sizeof *s);
    double *th0 = malloc(G * d * sizeof(double));
    if (!s || !th0) {
        free(s);
        free(th0);
        return;
    }
    for (size_t g = 0; g < G; g++)
        hcmc_target_constrain(shard_coords, comb->z + g * d, th0 + g * d);
    for (size_t k = 0; k < d; k++)
        hcmc_param_summarise(th0 + k, comb->chains, D, d, &s[k]);
    int kp;
    double ax = 0, lo = 0, hi = 0;
    bool has_axis = hcmc__phi0_axis(r, bounds, nb, &kp, &ax);
    if (has_axis) {
        lo = bounds[kp][0];
        hi = bounds[kp][1];
    }
    /* mirror.c makes the mirror image where the draws' side covers the
     * other */
    bool exact =
        mirror && hcmc__mirror_covers(mirror, hcmc__mirror_side(mirror, th0, G, d));
    candidate cand[HCMC_PROBLEM_MAX_MODES];
    size_t nc = candidates(r, s, has_axis, kp, ax, lo, hi, exact, cand);
    sampled got[HCMC_PROBLEM_MAX_MODES] = {{0}};
    size_t M = 1; /* the run's draws are mode 0 */
    hcmc_target *t = NULL;
    double *z0 = NULL, *zm = NULL, *covm = NULL, *out = NULL;
    int *labels = NULL;
    hcmc_param_summary *ms = NULL;
    hcmc_error e;
    int rc = 0;
    if (!nc)
        goto done;
    double wall, est = hcmc__one_run_estimate(r, &wall) * (double)nc;
    if (r->n_shards > 1 &&
        est > fmax(HCMC__ONE_RUN_BUDGET * wall, HCMC__ONE_RUN_FREE_S)) {
        hcmc_log(HCMC_LOG_WARN,
                 "modes: the draws miss %zu mode%s of the posterior, but sampling them "
                 "on all points would take about %.0f s; not made",
                 nc, nc == 1 ? "" : "s", est);
        goto done;
    }
    /* the posterior itself, in one run's coordinates, over the points */
    hcmc_target_spec spec;
    hcmc__problem_refine_spec(prob, &spec);
    z0 = malloc(G * d * sizeof(double));
    zm = malloc(HCMC_PROBLEM_MAX_MODES * (d + d * d) * sizeof(double));
    covm = zm ? zm + HCMC_PROBLEM_MAX_MODES * d : NULL;
    double theta[65];
    rc = z0 && zm ? hcmc_target_new(&spec, pts, &t, &e)
                  : hcmc_error_set(&e, HCMC_ENOMEM, "out of memory");
    if (!rc && hcmc_target_dim(t) != d)
        rc = hcmc_error_set(&e, HCMC_EINVAL, "%zu coordinates, the draws have %zu",
                            hcmc_target_dim(t), d);
    if (!rc) {
        memcpy(z0, comb->z, G * d * sizeof(double));
        if (hcmc__recoordinate(shard_coords, t, z0, G, d, theta, NULL))
            rc = hcmc_error_set(&e, HCMC_ENUMERIC,
                                "a draw lies on a bound of a parameter");
    }
    if (rc)
        goto done;
    hcmc_density den = hcmc_density_from_target(t);
    for (size_t j = 0; j < nc; j++) {
        double *z = zm + M * d, *cov = covm + M * d * d;
        hcmc_error me;
        if (hcmc_warm_mode(t, cand[j].theta, 0, z, cov, NULL, &me)) {
            hcmc_log(HCMC_LOG_WARN,
                     "modes: a mode the draws miss has no mode by Newton: %s", me.msg);
            continue;
        }
        hcmc_target_constrain(t, z, theta);
        bool dup = !hcmc__mode_missed(s, d, theta, NULL);
        for (size_t m = 1; m < M && !dup; m++)
            dup = same_mode(z, zm + m * d, covm + m * d * d, d);
        if (dup) { /* Newton went back to a mode sampled already */
            if (cand[j].found > 0)
                r->found_sampled[cand[j].found] = true;
            continue;
        }
        hcmc_nuts_settings n = *ns;
        n.num_chains = comb->chains > 2 ? comb->chains : 2;
        n.num_samples = D;
        n.shard = MODES_STREAM - (uint32_t)j;
        n.chain_first = n.chain_count = 0;
        n.keep_warmup = false;
        n.progress = NULL;
        size_t far = 0;
        hcmc__mode_missed(s, d, theta, &far);
        hcmc_log(HCMC_LOG_INFO,
                 "modes: the draws (%s = %.4g +- %.3g) miss a mode of the posterior at "
                 "%s = %.4g%s; %zu chains sample it",
                 r->names[far], s[far].mean, s[far].sd, r->names[far], theta[far],
                 cand[j].mirror ? " (phi0's mirror image)" : "", n.num_chains);
        sampled *sm = &got[M];
        if ((rc = hcmc_nuts_run(&den, &n, z, cov, &sm->nr, &e)))
            goto done;
        sm->chains = n.num_chains;
        sm->z = sm->nr->sampling.z;
        size_t Gm = sm->chains * D;
        if (!(sm->theta = malloc(Gm * d * sizeof(double)))) {
            rc = hcmc_error_set(&e, HCMC_ENOMEM, "out of memory");
            goto done;
        }
        for (size_t g = 0; g < Gm; g++)
            hcmc_target_constrain(t, sm->z + g * d, sm->theta + g * d);
        if (cand[j].found > 0)
            r->found_sampled[cand[j].found] = true;
        if (drained(sm->theta, sm->chains, D, d, s)) {
            hcmc_log(HCMC_LOG_INFO,
                     "modes: every chain started there went to the sampled mode: its "
                     "basin drains into it, no mode of its own");
            hcmc_nuts_result_free(sm->nr);
            free(sm->theta);
            *sm = (sampled){0};
            continue;
        }
        sm->found = cand[j].found;
        sm->mirror = cand[j].mirror;
        M++;
    }
    if (M == 1)
        goto done;
    /* weights */
    hcmc_rng rng;
    hcmc_rng_init(&rng, c->seed, HCMC_RNG_MODES, 0, 0);
    double lm[HCMC_PROBLEM_MAX_MODES], se[HCMC_PROBLEM_MAX_MODES],
        w[HCMC_PROBLEM_MAX_MODES];
    got[0] = (sampled){.chains = comb->chains, .z = z0, .theta = th0, .found = 0};
    double top = -INFINITY;
    for (size_t m = 0; m < M; m++) {
        if ((rc = log_mass(t, got[m].z, got[m].chains, D, d, &rng, &lm[m], &se[m], &e)))
            goto done;
        top = fmax(top, lm[m]);
    }
    double sum = 0;
    for (size_t m = 0; m < M; m++)
        sum += w[m] = exp(lm[m] - top);
    for (size_t m = 0; m < M; m++)
        w[m] /= sum;
    /* the draws of the other modes into the run's coordinates */
    const double *zs[HCMC_PROBLEM_MAX_MODES];
    size_t Gm[HCMC_PROBLEM_MAX_MODES];
    zs[0] = comb->z;
    Gm[0] = G;
    for (size_t m = 1; m < M; m++) {
        Gm[m] = got[m].chains * D;
        double *zc = got[m].nr->sampling.z; /* its own: changed in place */
        if (hcmc__recoordinate(t, shard_coords, zc, Gm[m], d, theta, NULL)) {
            rc = hcmc_error_set(&e, HCMC_ENUMERIC,
                                "a draw lies on a bound of a parameter");
            goto done;
        }
        zs[m] = zc;
    }
    out = malloc(G * d * sizeof(double));
    labels = malloc(G * sizeof(int));
    ms = calloc(M * d, sizeof *ms);
    if (!out || !labels || !ms) {
        rc = hcmc_error_set(&e, HCMC_ENOMEM, "out of memory");
        goto done;
    }
    mixture(zs, Gm, w, M, G, d, &rng, out, labels);
    for (size_t m = 0; m < M; m++) {
        for (size_t k = 0; k < d; k++)
            hcmc_param_summarise(got[m].theta + k, got[m].chains, D, d, &ms[m * d + k]);
        double v = 0; /* var(w_m) by the delta method */
        for (size_t j = 0; j < M; j++) {
            double dj = j == m ? 1 - w[m] : w[j];
            v += dj * dj * se[j] * se[j];
        }
        hcmc_run_mode *o = &r->modes[m];
        *o = (hcmc_run_mode){.weight = w[m],
                             .weight_se = w[m] * sqrt(v),
                             .log_mass = lm[m],
                             .chains = got[m].chains,
                             .draws = D,
                             .found = got[m].found,
                             .mirror = got[m].mirror};
        if (m > 0) {
            o->divergences = hcmc_nuts_divergences(got[m].nr);
            o->transitions = got[m].chains * D;
        }
        hcmc_log(HCMC_LOG_INFO, "modes: mode %zu weight %.4f +- %.4f (bridge sampling)",
                 m + 1, o->weight, o->weight_se);
    }
    memcpy(comb->z, out, G * d * sizeof(double));
    r->n_modes = M;
    r->mode_of = labels;
    r->mode_summary = ms;
    labels = NULL;
    ms = NULL;
    r->modes_seconds = hcmc_seconds() - t0;
    hcmc_log(HCMC_LOG_INFO, "modes: %zu modes, %.1f s", M, r->modes_seconds);
done:
    if (rc)
        hcmc_log(HCMC_LOG_WARN, "modes: the modes the draws miss were not sampled (%s)",
                 e.msg);
    for (size_t m = 1; m < HCMC_PROBLEM_MAX_MODES; m++) {
        hcmc_nuts_result_free(got[m].nr);
        free(got[m].theta);
    }
    hcmc_target_free(t);
    free(s);
    free(th0);
    free(z0);
    free(zm);
    free(out);
    free(labels);
    free(ms);
}

/* The cells of the search's modes (and of phi0's mirror images of the
 * first): each draw belongs to the mode nearest to it in the sampling
 * coordinates, distances in units of the sd of every shard's draws
 * pooled. A fixed partition, the same for every shard. */
typedef struct {
    size_t n, d;
    double z[HCMC_PROBLEM_MAX_MODES][65], w[65]; /* modes, 1 / variances */
} cells;

static bool in_first(const void *ctx, const double *z, const double *theta)
{
    const cells *c = ctx;
    (void)theta;
    double best = INFINITY, first = 0;
    for (size_t i = 0; i < c->n; i++) {
        double q = 0;
        for (size_t a = 0; a < c->d; a++)
            q += (z[a] - c->z[i][a]) * (z[a] - c->z[i][a]) * c->w[a];
        if (i == 0)
            first = q;
        best = fmin(best, q);
    }
    return first <= best;
}

double **hcmc__search_shards(const hcmc__finish_input *in, hcmc_run_result *r,
                             hcmc_shard_draws *draws)
{
    size_t d = r->dim, K = in->K;
    cells ce = {.d = d};
    if (K < 2 || d > 65 || !in->coords || r->n_found < 1 ||
        hcmc_coords_unconstrain(in->coords, r->found[0].theta, ce.z[0]))
        return NULL;
    ce.n = 1;
    for (size_t i = 1; i < r->n_found; i++)
        if (r->found[i].weight >= HCMC__MODE_MIN_WEIGHT &&
            !hcmc_coords_unconstrain(in->coords, r->found[i].theta, ce.z[ce.n]))
            ce.n++;
    /* phi0's mirror images of the first under the axes within its bounds
     * (several: mirror.c has none) */
    int kp;
    double ax;
    if (hcmc__phi0_axis(r, in->bounds, in->nphys, &kp, &ax)) {
        double lo = in->bounds[kp][0], hi = in->bounds[kp][1], th[65];
        for (double a = ax + 90.0 * ceil((lo - ax) / 90.0); a < hi; a += 90.0) {
            memcpy(th, r->found[0].theta, d * sizeof(double));
            th[kp] = 2 * a - th[kp];
            if (a > lo && th[kp] > lo && th[kp] < hi && ce.n < HCMC_PROBLEM_MAX_MODES &&
                !hcmc_coords_unconstrain(in->coords, th, ce.z[ce.n]))
                ce.n++;
        }
    }
    if (ce.n < 2)
        return NULL;
    double n = 0, m[65] = {0}, m2[65] = {0};
    for (size_t j = 0; j < K; j++) {
        size_t G = in->draws[j].chains * in->draws[j].draws;
        for (size_t g = 0; in->draws[j].z && in->draws[j].dim == d && g < G; g++, n++)
            for (size_t a = 0; a < d; a++) {
                double v = in->draws[j].z[g * d + a];
                m[a] += v;
                m2[a] += v * v;
            }
    }
    for (size_t a = 0; a < d; a++) {
        double var = n > 1 ? (m2[a] - m[a] * m[a] / n) / (n - 1) : 0;
        if (!(var > 0))
            return NULL;
        ce.w[a] = 1 / var;
    }
    hcmc__region reg = {in_first, &ce, -1, "another mode of the warm start's search"};
    size_t moved, total;
    double **copies = hcmc__shards_within(&reg, in, r, draws, &moved, &total);
    if (copies)
        hcmc_log(HCMC_LOG_INFO,
                 "modes: the shards are combined within the first mode's cell (%zu of "
                 "%zu draws nearer another mode of the search or a mirror image left "
                 "out)",
                 moved, total);
    return copies;
}

void hcmc__modes_summary(hcmc_run_result *r)
{
    size_t M = r->n_modes, d = r->dim;
    if (M < 2 || !r->summary || !r->mode_summary)
        return;
    for (size_t k = 0; k < d; k++) {
        hcmc_param_summary *p = &r->summary[k];
        double rh = 0, eb = INFINITY, et = INFINITY, v = 0;
        for (size_t m = 0; m < M; m++) {
            const hcmc_param_summary *q = &r->mode_summary[m * d + k];
            const hcmc_run_mode *o = &r->modes[m];
            rh = fmax(rh, q->rhat);
            eb = fmin(eb, q->ess_bulk);
            et = fmin(et, q->ess_tail);
            double dm = q->mean - p->mean;
            v += o->weight * o->weight * q->mcse_mean * q->mcse_mean +
                 o->weight_se * o->weight_se * dm * dm;
        }
        p->rhat = rh;
        p->ess_bulk = eb;
        p->ess_tail = et;
        p->mcse_mean = sqrt(v);
    }
}
