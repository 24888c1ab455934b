/* phi0's mirror modes (run.h hcmc_run_result mirrored).
 *
 * The model sees phi0 only through |cos(phi0 - phi_a)|, so where every
 * angle lies on s or s + 90 (model.h hcmc_angles_mirror_axis) the
 * likelihood is the same at phi0 and at its image 2 a - phi0 about any
 * axis a = s + 90 j. Where exactly one such axis lies inside phi0's bounds,
 * every value has at most one image within them, and the posterior
 *   p(phi0, rest) ~ L(|phi0 - a|, rest) pi(phi0) pi(rest)
 * restricted to one side A of a determines the other side B exactly where
 * A is the wider side within the bounds (every value of B has its image in
 * A; where the draws are on the narrower side, modes.c samples the other
 * with chains of its own): B's draws are A's draws reflected and weighed
 * by the prior ratio
 *   r(x) = pi(2 a - x) / pi(x)     (0 where the image leaves the bounds),
 * and B's mass over A's is the mean of r over A's draws. The draws of both
 * modes follow from A's draws alone: each is resampled with weight 1 + r
 * (the density of the folded value, L (pi(x) + pi(2 a - x))) and then
 * replaced by its image with probability r / (1 + r). Where the bounds and
 * the prior are symmetric about a, r = 1: every draw is folded onto side A
 * (the folded posterior, whichever modes the chains visited: its density
 * is L pi twice there) and replaced by its image with probability 1/2. Else
 * only the draws on side A are used: a correct sampler's draws restricted
 * to a region are draws of the posterior restricted to it, whichever modes
 * the chains visited and in whatever proportion.
 *
 * CMC: shards' posteriors may hold both modes, in any proportion, and a
 * Gaussian product of bimodal shards is neither mode. The product of the
 * shards' posteriors restricted to side A is the posterior of all points
 * restricted to A, so every shard's draws are taken on side A before
 * combining: folded where the prior is symmetric (their coordinate, a
 * probit of bounds symmetric about a, changes sign), else restricted (each
 * chain's draws on side A, repeated evenly to its length). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hcmc/diagnostics.h"
#include "hcmc/log.h"
#include "hcmc/model.h"
#include "hcmc/prior.h"
#include "hcmc/rng.h"
#include "run_internal.h"

bool hcmc__phi0_axis(const hcmc_run_result *r, const double (*bounds)[2], size_t nb,
                     int *k, double *s)
{
    *k = -1;
    for (size_t j = 0; j < r->dim && j < nb; j++)
        if (!strcmp(r->names[j], "phi0"))
            *k = (int)j;
    return *k >= 0 && bounds && r->phi && hcmc_angles_mirror_axis(r->phi, r->n_phi, s);
}

double hcmc__mirror_side(const hcmc__mirror *m, const double *theta, size_t G, size_t d)
{
    double vote = 0;
    for (size_t g = 0; g < G; g++)
        vote += theta[g * d + (size_t)m->k] >= m->axis ? 1 : -1;
    return vote >= 0 ? 1 : -1;
}

bool hcmc__mirror_of(const hcmc_config *c, const hcmc_run_result *r,
                     const double (*bounds)[2], size_t nb, hcmc__mirror *m)
{
    memset(m, 0, sizeof *m);
    double s;
    if (!hcmc__phi0_axis(r, bounds, nb, &m->k, &s))
        return false;
    double lo = bounds[m->k][0], hi = bounds[m->k][1];
    size_t inside = 0;
    for (double a = s + 90.0 * ceil((lo - s) / 90.0); a < hi; a += 90.0)
        if (a > lo) {
            m->axis = a;
            inside++;
        }
    if (inside != 1)
        return false;
    m->lo = lo;
    m->hi = hi;
    m->prior = &c->phys[HCMC_P_PHI0];
    m->symmetric = fabs((lo + hi) / 2 - m->axis) <= 1e-9 * (hi - lo);
    for (int i = 1; m->symmetric && i < 10; i++) {
        double x = lo + (hi - lo) * i / 10.0, dx;
        m->symmetric = fabs(hcmc_prior_logpdf(m->prior, x, &dx) -
                            hcmc_prior_logpdf(m->prior, 2 * m->axis - x, &dx)) <= 1e-9;
    }
    return true;
}

bool hcmc__mirror_covers(const hcmc__mirror *m, double side)
{
    double a = side > 0 ? m->hi - m->axis : m->axis - m->lo;
    double b = side > 0 ? m->axis - m->lo : m->hi - m->axis;
    return a >= b - 1e-9 * (m->hi - m->lo);
}

/* r(x), the prior ratio of x's image to x (0 where the image leaves the
 * bounds) */
static double ratio(const hcmc__mirror *m, double x)
{
    double y = 2 * m->axis - x, dx;
    if (!(y >= m->lo && y <= m->hi))
        return 0;
    double v =
        exp(hcmc_prior_logpdf(m->prior, y, &dx) - hcmc_prior_logpdf(m->prior, x, &dx));
    return isfinite(v) ? v : 0;
}

/* Shard j's draws in the region (in_a) into copy: folded in by changing
 * the sign of coordinate fold (>= 0), or each chain's own draws there
 * repeated evenly to its length (a chain with none takes the shard's,
 * pool[np]); the number taken from outside. */
static size_t take_inside(int fold, const double *z, size_t C, size_t D, size_t d,
                          const bool *in_a, const size_t *pool, size_t np, size_t *at,
                          double *copy)
{
    size_t moved = 0, G = C * D;
    if (fold >= 0) {
        memcpy(copy, z, G * d * sizeof(double));
        for (size_t g = 0; g < G; g++)
            if (!in_a[g]) {
                copy[g * d + (size_t)fold] = -copy[g * d + (size_t)fold];
                moved++;
            }
        return moved;
    }
    for (size_t c = 0; c < C; c++) {
        size_t n = 0;
        for (size_t i = 0; i < D; i++)
            if (in_a[c * D + i])
                at[n++] = c * D + i;
        for (size_t i = 0; i < D; i++) {
            size_t src = n ? at[i * n / D] : pool[(c * D + i) * np / G];
            memcpy(copy + (c * D + i) * d, z + src * d, d * sizeof(double));
        }
        moved += D - n;
    }
    return moved;
}

/* The largest R-hat of copy ([C][D][d]) over the chains with at least
 * half their draws in the region (the others repeat a few draws; all
 * where folded); 0 with fewer than 2 such chains. */
static double rhat_within(bool folded, const double *copy, size_t C, size_t D, size_t d,
                          const bool *in_a, double *x)
{
    size_t nc = 0;
    bool *use = calloc(C, sizeof *use);
    if (!use)
        return 0;
    for (size_t c = 0; c < C; c++) {
        size_t n = 0;
        for (size_t i = 0; i < D; i++)
            n += in_a[c * D + i];
        use[c] = folded || 2 * n >= D;
        nc += use[c];
    }
    double rh = 0;
    for (size_t i = 0; nc >= 2 && i < d; i++) {
        size_t w = 0;
        for (size_t c = 0; c < C; c++)
            for (size_t t = 0; use[c] && t < D; t++)
                x[w++] = copy[(c * D + t) * d + i];
        double v = hcmc_rhat(x, nc, D, 1);
        rh = isfinite(v) && v > rh ? v : rh;
    }
    free(use);
    return rh;
}

double **hcmc__shards_within(const hcmc__region *reg, const hcmc__finish_input *in,
                             hcmc_run_result *r, hcmc_shard_draws *draws, size_t *moved,
                             size_t *total)
{
    size_t K = in->K, dd = r->dim;
    double *th = malloc(dd * sizeof(double));
    double **copies = K >= 2 && th ? calloc(K, sizeof *copies) : NULL;
    *moved = *total = 0;
    if (!copies) {
        free(th);
        return NULL;
    }
    for (size_t j = 0; j < K; j++) {
        size_t C = in->draws[j].chains, D = in->draws[j].draws, G = C * D, np = 0;
        const double *z = in->draws[j].z;
        size_t *at = malloc(2 * G * sizeof *at), *pool = at ? at + G : NULL;
        bool *in_a = malloc(G * sizeof *in_a);
        double *x = malloc(G * sizeof *x);
        if (z && in->draws[j].dim == dd && at && in_a && x &&
            (copies[j] = malloc(G * dd * sizeof(double)))) {
            for (size_t g = 0; g < G; g++) {
                in->constrain(in->ctx, z + g * dd, th);
                in_a[g] = reg->inside(reg->ctx, z + g * dd, th);
                if (in_a[g])
                    pool[np++] = g;
            }
            *total += G;
            if (np) {
                *moved +=
                    take_inside(reg->fold, z, C, D, dd, in_a, pool, np, at, copies[j]);
                draws[j].z = copies[j];
                double rh = rhat_within(reg->fold >= 0, copies[j], C, D, dd, in_a, x);
                if (rh > 0)
                    r->shards[j].rhat_max = rh;
            } else
                hcmc_log(HCMC_LOG_WARN,
                         "shard %zu: every draw lies in another mode (%s); its draws "
                         "are combined as they are",
                         j, reg->what);
        }
        free(at);
        free(in_a);
        free(x);
    }
    free(th);
    return copies;
}

typedef struct {
    size_t k;
    double axis, side;
} side_of;

static bool on_side(const void *ctx, const double *z, const double *theta)
{
    const side_of *s = ctx;
    (void)z;
    return s->side * (theta[s->k] - s->axis) >= 0;
}

double **hcmc__mirror_shards(const hcmc__mirror *m, const hcmc__finish_input *in,
                             hcmc_run_result *r, hcmc_shard_draws *draws)
{
    size_t K = in->K, k = (size_t)m->k, dd = r->dim, moved, total;
    double vote = 0, *th = malloc(dd * sizeof(double));
    if (K < 2 || !th) {
        free(th);
        return NULL;
    }
    /* the side most draws are on */
    for (size_t j = 0; j < K; j++) {
        size_t G = in->draws[j].chains * in->draws[j].draws;
        for (size_t g = 0; in->draws[j].z && in->draws[j].dim == dd && g < G; g++) {
            in->constrain(in->ctx, in->draws[j].z + g * dd, th);
            vote += th[k] >= m->axis ? 1 : -1;
        }
    }
    free(th);
    side_of so = {k, m->axis, vote >= 0 ? 1 : -1};
    hcmc__region reg = {on_side, &so, m->symmetric ? m->k : -1, "phi0's mirror image"};
    double **copies = hcmc__shards_within(&reg, in, r, draws, &moved, &total);
    if (copies)
        hcmc_log(HCMC_LOG_INFO,
                 "phi0: the shards are combined on the %s side of the mirror axis %g "
                 "(%zu of %zu draws %s; the likelihood is symmetric about it)",
                 so.side > 0 ? "upper" : "lower", m->axis, moved, total,
                 m->symmetric ? "taken as their mirror images"
                              : "on the other side left out");
    return copies;
}

void hcmc__mirror_expand(const hcmc__mirror *m, const hcmc_config *c,
                         hcmc_run_result *r)
{
    r->mirrored = false;
    if (r->n_modes > 1) /* a mixture of modes sampled one by one already */
        return;
    size_t G = r->chains * r->draws, d = r->dim, k = (size_t)m->k;
    double ax = m->axis;
    double *y = malloc(G * sizeof *y), *w = malloc(G * sizeof *w);
    double *out = malloc(G * d * sizeof *out);
    size_t *idx = malloc(G * sizeof *idx);
    int *label = malloc(G * sizeof *label);
    hcmc_param_summary *ms = calloc(2 * d, sizeof *ms);
    if (!G || !y || !w || !out || !idx || !label || !ms)
        goto done;
    double side = hcmc__mirror_side(m, r->theta, G, d);
    if (!hcmc__mirror_covers(m, side))
        goto done;                 /* modes.c's */
    for (size_t g = 0; g < G; g++) /* folded: for the diagnostics */
        y[g] = ax + side * fabs(r->theta[g * d + k] - ax);
    hcmc_param_summary folded;
    hcmc_param_summarise(y, r->chains, r->draws, 1, &folded);
    if (!(fabs(folded.mean - ax) > 2 * folded.sd))
        goto done; /* one mode about the axis: nothing to add */
    /* side A's draws, each with its prior ratio */
    size_t n = 0;
    double mr = 0, mr2 = 0;
    for (size_t g = 0; g < G; g++) {
        double x = r->theta[g * d + k];
        if (m->symmetric || side * (x - ax) >= 0) {
            idx[n] = g;
            w[n] = m->symmetric ? 1 : ratio(m, x);
            mr += w[n];
            mr2 += w[n] * w[n];
            n++;
        }
    }
    if (n < 2)
        goto done;
    mr /= (double)n;
    double sr = sqrt(fmax(mr2 / (double)n - mr * mr, 0));
    hcmc_rng rng;
    hcmc_rng_init(&rng, c->seed, HCMC_RNG_MIRROR, 0, 0);
    /* systematic resample with weights 1 + r (all equal where r = 1: the
     * folded draws themselves, in their order), then each to its image
     * with probability r / (1 + r) */
    double tot = 0;
    for (size_t i = 0; i < n; i++)
        tot += 1 + w[i];
    double u = hcmc_rng_uniform(&rng), acc = 0;
    size_t i = 0;
    for (size_t g = 0; g < G; g++) {
        double target = ((double)g + u) * tot / (double)G;
        while (i + 1 < n && acc + 1 + w[i] < target)
            acc += 1 + w[i++];
        size_t src = idx[i];
        memcpy(out + g * d, r->theta + src * d, d * sizeof(double));
        double x = r->theta[src * d + k], xa = m->symmetric ? y[src] : x;
        bool flip = hcmc_rng_uniform(&rng) < w[i] / (1 + w[i]);
        out[g * d + k] = flip ? 2 * ax - xa : xa;
        label[g] = flip;
    }
    memcpy(r->theta, out, G * d * sizeof(double));
    /* the summaries: mean, sd and quantiles of the new draws; R-hat, ESS
     * and MCSE those of the chains (phi0's of its folded draws, within a
     * mode) */
    for (size_t j = 0; j < d; j++) {
        hcmc_param_summary before = r->summary[j];
        hcmc_param_summarise(r->theta + j, r->chains, r->draws, d, &r->summary[j]);
        const hcmc_param_summary *diag = j == k ? &folded : &before;
        r->summary[j].rhat = diag->rhat;
        r->summary[j].ess_bulk = diag->ess_bulk;
        r->summary[j].ess_tail = diag->ess_tail;
        r->summary[j].mcse_mean = diag->mcse_mean;
        r->summary[j].mcse_sd = diag->mcse_sd;
    }
    double wb = mr / (1 + mr), se = 0;
    if (!m->symmetric && folded.ess_bulk > 0)
        se = sr / sqrt(folded.ess_bulk) / ((1 + mr) * (1 + mr));
    size_t cnt[2] = {0, 0};
    for (int md = 0; md < 2; md++) {
        for (size_t g = 0; g < G; g++)
            if (label[g] == md)
                memcpy(out + cnt[md]++ * d, r->theta + g * d, d * sizeof(double));
        for (size_t j = 0; j < d && cnt[md] > 1; j++) {
            hcmc_param_summary *q = &ms[(size_t)md * d + j];
            hcmc_param_summarise(out + j, 1, cnt[md], d, q);
            q->rhat = r->summary[j].rhat;
            q->ess_bulk = r->summary[j].ess_bulk;
            q->ess_tail = r->summary[j].ess_tail;
        }
        r->modes[md] = (hcmc_run_mode){.weight = md ? wb : 1 - wb,
                                       .weight_se = se,
                                       .log_mass = NAN,
                                       .chains = r->chains,
                                       .draws = r->draws,
                                       .found = md ? -1 : 0,
                                       .mirror = md == 1};
    }
    /* the search's modes that are the sampled one's image: in the draws */
    for (size_t i = 1; i < r->n_found; i++) {
        double img = 2 * ax - r->found[i].theta[k];
        if (fabs(img - folded.mean) <= HCMC__MODE_SD * folded.sd)
            r->found_sampled[i] = true;
    }
    r->n_modes = 2;
    r->mode_of = label;
    r->mode_summary = ms;
    label = NULL;
    ms = NULL;
    r->mirrored = true;
    r->mirror_symmetric = m->symmetric;
    r->mirror_phi0 = folded.mean;
    r->mirror_axis = ax;
    if (m->symmetric)
        hcmc_log(
            HCMC_LOG_WARN,
            "phi0: these angles leave phi0 = %.4g and its mirror image %.4g equally "
            "likely, and the prior is symmetric about %g: the draws hold both "
            "modes, each with weight 1/2 (every draw folded onto one side, then "
            "replaced by its image with probability 1/2; R-hat and ESS of phi0 are "
            "those within a mode)",
            folded.mean, 2 * ax - folded.mean, ax);
    else
        hcmc_log(
            HCMC_LOG_WARN,
            "phi0: these angles leave phi0 = %.4g and its mirror image %.4g equally "
            "likely; the prior weighs them %.4g and %.4g (+- %.2g): the draws hold "
            "both (those on one side of %g, each resampled by 1 + the prior ratio r "
            "of its image and replaced by its image with probability r / (1 + r); "
            "R-hat and ESS of phi0 are those within a mode)",
            folded.mean, 2 * ax - folded.mean, 1 - wb, wb, se, ax);
done:
    free(y);
    free(w);
    free(out);
    free(idx);
    free(label);
    free(ms);
}
