/* The log-density target (see target.h): parameters from the sampling
 * coordinates (coords.h), priors, and the likelihood from the per-angle
 * kernel, all gradients first in the parameters theta and then pulled back
 * to z once. The per-frame row tables of the rate integrals (build_rows)
 * make the likelihood's gradient a sum over points of differences of two
 * rows, without a scatter. */
#include "hcmc/target.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcmc/coords.h"
#include "kernel.h"

#define NAME_MAX_ 32

struct hcmc_target {
    hcmc_model model;
    const hcmc_points *pts;
    size_t nphys, nscale, dim; /* sampled physical and scaling parameters */
    size_t nmode;              /* the mode's physical parameters */
    int slot[HCMC_NPHYS_MAX];  /* coordinate of each, -1: fixed */
    double phys_fixed[HCMC_NPHYS_MAX]; /* values of the fixed ones */
    hcmc_scaling_mode scaling; /* resolved: INDIVIDUAL, SHARED or CONSTANT */
    hcmc_prior *prior;         /* [dim - 1]: every bounded parameter */
    double sigma_scale;
    double tau;    /* tempering exponent on prior and Jacobian */
    double weight; /* likelihood multiplicity: 2 when both triangles count */
    double *fixed_contrast, *fixed_offset; /* [n_phi], constant modes */
    char (*names)[NAME_MAX_];
    hcmc_coords coords; /* z <-> theta */
    const hcmc__kernel *kern;
    /* laminar_flow on a pair grid (kernel.h), where the table is one:
     * n_pairs 0 where not; i and j are the first angle's, y by blocks */
    size_t n_pairs, n_blk;
    double *grid_y;
};

struct hcmc_target_ws {
    double *rowJ, *rowG;             /* [n_t][4], 32-byte aligned */
    double *ef;                      /* [n_t][2]: exp(-q^2 CJ_k), exp(+q^2 CJ_k) */
    double *rec; /* [2 n_t][HCMC__KERNEL_REC]: laminar_flow's records (kernel.h) */
    double *logt;                    /* [n_t]: log of each frame's time (build_rows) */
    double *scratch;                 /* [n_t] */
    double *theta, *dtheta, *gtheta; /* [dim] */
    double *dlogjac;                 /* [dim] */
    double M[2][9];                  /* law blocks of dtheta/dz */
    double *lanes;        /* pair grid: [3][n_blk W] kappa A, contrast, offset */
    hcmc__seg_sums *sums; /* pair grid: [n_phi] */
    double *pairs;        /* pair grid: [n_pairs][2] */
    double *proj;         /* laminar_flow: [2][n_phi] each angle's A and dA/dphi0 */
};

static const double default_bounds[HCMC_NPHYS_MAX][2] = {
    {100.0, 1e5}, {-2.0, 2.0}, {-1e5, 1e5},  {1e-6, 0.5},
    {-2.0, 2.0},  {-0.1, 0.1}, {-10.0, 10.0}};

const double *hcmc_default_bounds(int k)
{
    return (k >= 0 && k < HCMC_NPHYS_MAX) ? default_bounds[k] : NULL;
}

void hcmc_target_spec_defaults(hcmc_target_spec *s, hcmc_mode mode)
{
    memset(s, 0, sizeof *s);
    s->model.mode = mode;
    s->model.convention = HCMC_CONVENTION_PHYSICAL;
    s->model.L = 2e6;
    for (int k = 0; k < HCMC_NPHYS_MAX; k++)
        hcmc_prior_init(&s->phys[k], HCMC_PRIOR_TRUNCATED_NORMAL, default_bounds[k][0],
                        default_bounds[k][1], NAN, NAN, hcmc_phys_name(k), NULL);
    hcmc_prior_init(&s->contrast, HCMC_PRIOR_TRUNCATED_NORMAL, 0.0, 1.0, NAN, NAN,
                    "contrast", NULL);
    hcmc_prior_init(&s->offset, HCMC_PRIOR_TRUNCATED_NORMAL, 0.5, 1.5, NAN, NAN,
                    "offset", NULL);
    s->scaling = HCMC_SCALING_AUTO;
    s->constant_scaling_threshold = 3;
    s->num_shards = 1;
    s->prior_tempering = true;
    s->law_coords = true;
}

void hcmc_target_free(hcmc_target *t)
{
    if (!t)
        return;
    free(t->prior);
    free(t->fixed_contrast);
    free(t->fixed_offset);
    free(t->names);
    free(t->grid_y);
    hcmc_coords_release(&t->coords);
    free(t);
}

/* Whether every angle has the same pairs in the same order (and enough of
 * them that per-frame tables of every angle pay, and angles enough to fill
 * more than half the lanes), so that the pair grid kernel serves: then t's
 * grid copy of the values, by blocks of the kernel's W angles. HCMC_LAYOUT=angles keeps
 * the kernel by angle (for comparisons and the tests). */
static int make_grid(hcmc_target *t, hcmc_error *err)
{
    const hcmc_points *p = t->pts;
    const char *force = getenv("HCMC_LAYOUT");
    if (t->model.mode != HCMC_MODE_LAMINAR || (force && !strcmp(force, "angles")))
        return HCMC_OK;
    size_t n = hcmc_points_pairs(p), W = t->kern->width;
    size_t n_blk = (p->n_phi + W - 1) / W, bytes = n_blk * n * W * sizeof(double);
    /* the grid's lanes at most half filled (2 angles of 4): by angle is
     * faster ("Performance") */
    if (n < p->n_t || 2 * p->n_phi <= n_blk * W)
        return HCMC_OK;
    t->grid_y = aligned_alloc(32, (bytes + 31) / 32 * 32);
    if (!t->grid_y)
        return hcmc_error_set(err, HCMC_ENOMEM,
                              "out of memory for a pair grid of %zu points", p->n);
    for (size_t b = 0; b < n_blk; b++)
        for (size_t k = 0; k < n; k++)
            for (size_t l = 0; l < W; l++) {
                size_t a = W * b + l;
                t->grid_y[(b * n + k) * W + l] =
                    a < p->n_phi ? p->y[p->angle_start[a] + k] : 0.0;
            }
    t->n_pairs = n;
    t->n_blk = n_blk;
    return HCMC_OK;
}

static int check_prior(const hcmc_prior *p, const char *name, hcmc_error *err)
{
    if (!(p->lo < p->hi) || !isfinite(p->lo) || !isfinite(p->hi))
        return hcmc_error_set(err, HCMC_EINVAL,
                              "%s: bounds [%g, %g] are impossible (min >= max "
                              "or not finite)",
                              name, p->lo, p->hi);
    return HCMC_OK;
}

static int resolve_fixed_scaling(hcmc_target *t, const hcmc_target_spec *spec,
                                 hcmc_scaling_mode mode, hcmc_error *err)
{
    size_t n_phi = t->pts->n_phi;
    t->fixed_contrast = malloc(n_phi * sizeof(double));
    t->fixed_offset = malloc(n_phi * sizeof(double));
    if (!t->fixed_contrast || !t->fixed_offset)
        return hcmc_error_set(err, HCMC_ENOMEM, "out of memory for scalings");
    if (spec->fixed_contrast && spec->fixed_offset) {
        memcpy(t->fixed_contrast, spec->fixed_contrast, n_phi * sizeof(double));
        memcpy(t->fixed_offset, spec->fixed_offset, n_phi * sizeof(double));
    } else {
        int rc = hcmc_scaling_estimate(t->pts, &spec->contrast, &spec->offset,
                                       spec->model.dt, t->fixed_contrast,
                                       t->fixed_offset, err);
        if (rc)
            return rc;
    }
    for (size_t a = 0; a < n_phi; a++)
        if (!isfinite(t->fixed_contrast[a]) || !isfinite(t->fixed_offset[a]))
            return hcmc_error_set(err, HCMC_EINVAL,
                                  "fixed contrast/offset of angle %zu is not finite",
                                  a);
    if (mode == HCMC_SCALING_CONSTANT_AVERAGED) {
        double c = 0, o = 0;
        for (size_t a = 0; a < n_phi; a++) {
            c += t->fixed_contrast[a];
            o += t->fixed_offset[a];
        }
        for (size_t a = 0; a < n_phi; a++) {
            t->fixed_contrast[a] = c / (double)n_phi;
            t->fixed_offset[a] = o / (double)n_phi;
        }
    }
    return HCMC_OK;
}

/* The reference time of the laws, sqrt(t_min t_max) over the frames the
 * points use (1 .. n_t - 1). */
static double law_time(const hcmc_model *m)
{
    return hcmc_law_reference_time(m->dt, (double)(m->n_t - 1) * m->dt);
}

/* z <-> theta: plain (probit) everywhere, then each law whose three
 * parameters are sampled (consecutive slots) as a law block where its
 * bounds allow one. */
static int make_coords(hcmc_target *t, const hcmc_target_spec *spec, hcmc_error *err)
{
    size_t nb = t->dim - 1;
    double (*b)[2] = malloc((nb ? nb : 1) * sizeof *b);
    if (!b)
        return hcmc_error_set(err, HCMC_ENOMEM, "out of memory for a target");
    for (size_t k = 0; k < nb; k++) {
        b[k][0] = t->prior[k].lo;
        b[k][1] = t->prior[k].hi;
    }
    int rc = hcmc_coords_init(&t->coords, t->dim, (const double(*)[2])b, false, err);
    free(b);
    if (rc || !spec->law_coords)
        return rc;
    const hcmc_model *m = &t->model;
    double tr = law_time(m);
    size_t nlaws = m->mode == HCMC_MODE_LAMINAR ? 2 : 1;
    for (size_t l = 0; l < nlaws; l++) {
        const int *s = t->slot + 3 * l;
        if (s[0] < 0 || s[1] != s[0] + 1 || s[2] != s[0] + 2)
            continue; /* a fixed member: the others stay logit */
        hcmc_law_kind kind = spec->law_kind[l];
        double t_max = hcmc_target_time_max(t), ts = 0;
        if (kind == HCMC_LAW_SLOPE)
            ts = hcmc_law_slope_time(t->prior[s[1]].lo, t->prior[s[1]].hi, m->dt, t_max);
        /* SLOPE where no reference time suits the exponent: SHAPE */
        if (kind == HCMC_LAW_SLOPE && !(ts > 0))
            kind = HCMC_LAW_SHAPE;
        rc = hcmc_coords_add_law(&t->coords, (size_t)s[0], kind,
                                 kind == HCMC_LAW_RATES   ? t_max
                                 : kind == HCMC_LAW_SLOPE ? ts
                                                          : tr,
                                 spec->law_slope_scale[l], err);
        if (rc == HCMC_EUNSUPPORTED) /* a prefactor bound not above 0: plain */
            rc = HCMC_OK;
        if (rc)
            return rc;
    }
    return HCMC_OK;
}

int hcmc_target_new(const hcmc_target_spec *spec, const hcmc_points *pts,
                    hcmc_target **out, hcmc_error *err)
{
    *out = NULL;
    int rc = hcmc_model_check(&spec->model, err);
    if (rc)
        return rc;
    if ((rc = hcmc_points_check(pts, err)))
        return rc;
    if (pts->n_t != spec->model.n_t)
        return hcmc_error_set(err, HCMC_EINVAL,
                              "points table has %zu frames but the model %zu", pts->n_t,
                              spec->model.n_t);
    if (spec->num_shards < 1)
        return hcmc_error_set(err, HCMC_EINVAL, "num_shards must be >= 1");
    hcmc_target *t = calloc(1, sizeof *t);
    if (!t)
        return hcmc_error_set(err, HCMC_ENOMEM, "out of memory for a target");
    t->model = spec->model;
    t->pts = pts;
    t->nmode = hcmc_mode_nphys(spec->model.mode);
    for (size_t k = 0; k < HCMC_NPHYS_MAX; k++) {
        bool fixed = k < t->nmode && spec->phys_fixed[k];
        t->slot[k] = k < t->nmode && !fixed ? (int)t->nphys++ : -1;
        t->phys_fixed[k] = fixed ? spec->phys_fixed_value[k] : NAN;
        if (fixed && !isfinite(t->phys_fixed[k])) {
            rc = hcmc_error_set(err, HCMC_EINVAL, "fixed %s = %g is not finite",
                                hcmc_phys_name((int)k), t->phys_fixed[k]);
            goto fail;
        }
    }
    hcmc_scaling_mode mode = spec->scaling;
    if (mode == HCMC_SCALING_AUTO) {
        size_t thr =
            spec->constant_scaling_threshold ? spec->constant_scaling_threshold : 3;
        mode = pts->n_phi >= thr ? HCMC_SCALING_SHARED : HCMC_SCALING_INDIVIDUAL;
    }
    t->scaling = mode;
    if (mode == HCMC_SCALING_INDIVIDUAL)
        t->nscale = 2 * pts->n_phi;
    else if (mode == HCMC_SCALING_SHARED)
        t->nscale = 2;
    else {
        t->nscale = 0;
        t->scaling = HCMC_SCALING_CONSTANT;
        if ((rc = resolve_fixed_scaling(t, spec, mode, err)))
            goto fail;
    }
    t->dim = t->nphys + t->nscale + 1;
    t->prior = malloc((t->dim - 1) * sizeof *t->prior);
    t->names = calloc(t->dim, sizeof *t->names);
    if (!t->prior || !t->names) {
        rc = hcmc_error_set(err, HCMC_ENOMEM, "out of memory for a target");
        goto fail;
    }
    for (size_t k = 0; k < t->nmode; k++) {
        if (t->slot[k] < 0)
            continue;
        if ((rc = check_prior(&spec->phys[k], hcmc_phys_name((int)k), err)))
            goto fail;
        t->prior[t->slot[k]] = spec->phys[k];
        snprintf(t->names[t->slot[k]], NAME_MAX_, "%s", hcmc_phys_name((int)k));
    }
    if ((rc = check_prior(&spec->contrast, "contrast", err)) ||
        (rc = check_prior(&spec->offset, "offset", err)))
        goto fail;
    size_t half = t->nscale / 2;
    for (size_t k = 0; k < half; k++) {
        t->prior[t->nphys + k] = spec->contrast;
        t->prior[t->nphys + half + k] = spec->offset;
        if (t->scaling == HCMC_SCALING_SHARED) {
            snprintf(t->names[t->nphys + k], NAME_MAX_, "contrast");
            snprintf(t->names[t->nphys + half + k], NAME_MAX_, "offset");
        } else {
            snprintf(t->names[t->nphys + k], NAME_MAX_, "contrast_%zu", k);
            snprintf(t->names[t->nphys + half + k], NAME_MAX_, "offset_%zu", k);
        }
    }
    snprintf(t->names[t->dim - 1], NAME_MAX_, "sigma");
    t->sigma_scale = spec->sigma_scale;
    if (!(t->sigma_scale > 0)) {
        double s_y;
        if ((rc = hcmc_points_noise_scale(pts, &s_y, err)))
            goto fail;
        t->sigma_scale = 1.5 * s_y;
    }
    if (!isfinite(t->sigma_scale)) {
        rc = hcmc_error_set(err, HCMC_EINVAL, "sigma prior scale %g is not finite",
                            t->sigma_scale);
        goto fail;
    }
    t->tau = spec->prior_tempering ? 1.0 / (double)spec->num_shards : 1.0;
    t->weight = spec->model.convention == HCMC_CONVENTION_HOMODYNE ? 2.0 : 1.0;
    t->kern = hcmc__kernel_select();
    if ((rc = make_grid(t, err)) || (rc = make_coords(t, spec, err)))
        goto fail;
    *out = t;
    return HCMC_OK;
fail:
    hcmc_target_free(t);
    return rc;
}

size_t hcmc_target_dim(const hcmc_target *t)
{
    return t->dim;
}

hcmc_mode hcmc_target_mode(const hcmc_target *t)
{
    return t->model.mode;
}

size_t hcmc_target_nphys(const hcmc_target *t)
{
    return t->nphys;
}

size_t hcmc_target_spec_nphys(const hcmc_target_spec *s)
{
    size_t n = 0, nmode = hcmc_mode_nphys(s->model.mode);
    for (size_t k = 0; k < nmode; k++)
        n += !s->phys_fixed[k];
    return n;
}

int hcmc_target_phys_slot(const hcmc_target *t, int k)
{
    return k >= 0 && k < HCMC_NPHYS_MAX ? t->slot[k] : -1;
}

void hcmc_target_phys_values(const hcmc_target *t, const double *theta, double *phys)
{
    for (size_t k = 0; k < HCMC_NPHYS_MAX; k++)
        phys[k] = t->slot[k] >= 0 ? theta[t->slot[k]] : t->phys_fixed[k];
}

const char *hcmc_target_param_name(const hcmc_target *t, size_t k)
{
    return k < t->dim ? t->names[k] : "?";
}

hcmc_scaling_mode hcmc_target_scaling(const hcmc_target *t)
{
    return t->scaling;
}

const char *hcmc_target_kernel_name(const hcmc_target *t)
{
    return t->kern->isa;
}

size_t hcmc_target_grid_pairs(const hcmc_target *t)
{
    return t->n_pairs;
}

void hcmc_target_bounds(const hcmc_target *t, size_t k, double *lo, double *hi)
{
    if (k + 1 < t->dim) {
        *lo = t->prior[k].lo;
        *hi = t->prior[k].hi;
    } else {
        *lo = 0.0;
        *hi = INFINITY;
    }
}

double hcmc_target_fixed_contrast(const hcmc_target *t, size_t a)
{
    return t->fixed_contrast && a < t->pts->n_phi ? t->fixed_contrast[a] : NAN;
}

double hcmc_target_fixed_offset(const hcmc_target *t, size_t a)
{
    return t->fixed_offset && a < t->pts->n_phi ? t->fixed_offset[a] : NAN;
}

void hcmc_target_constrain(const hcmc_target *t, const double *z, double *theta)
{
    hcmc_coords_constrain(&t->coords, z, theta);
}

int hcmc_target_unconstrain(const hcmc_target *t, const double *theta, double *z,
                            hcmc_error *err)
{
    for (size_t k = 0; k + 1 < t->dim; k++) {
        const hcmc_prior *p = &t->prior[k];
        if (!(theta[k] > p->lo && theta[k] < p->hi))
            return hcmc_error_set(err, HCMC_EINVAL,
                                  "%s = %g is not strictly inside its bounds "
                                  "[%g, %g]",
                                  t->names[k], theta[k], p->lo, p->hi);
    }
    double s = theta[t->dim - 1];
    if (!(s > 0) || !isfinite(s))
        return hcmc_error_set(err, HCMC_EINVAL, "sigma = %g must be > 0", s);
    if (hcmc_coords_unconstrain(&t->coords, theta, z))
        return hcmc_error_set(err, HCMC_ENUMERIC,
                              "the parameter values have no sampling coordinates");
    return HCMC_OK;
}

const hcmc_coords *hcmc_target_coords(const hcmc_target *t)
{
    return &t->coords;
}

hcmc_target_ws *hcmc_target_ws_new(const hcmc_target *t)
{
    hcmc_target_ws *ws = calloc(1, sizeof *ws);
    if (!ws)
        return NULL;
    size_t rows = 4 * t->model.n_t * sizeof(double);
    rows = (rows + 31) / 32 * 32;
    ws->rowJ = aligned_alloc(32, rows);
    ws->rowG = aligned_alloc(32, rows);
    ws->theta = malloc(4 * t->dim * sizeof(double));
    ws->ef = malloc(2 * t->model.n_t * sizeof(double));
    size_t rec = 2 * HCMC__KERNEL_REC * t->model.n_t * sizeof(double);
    size_t lanes = t->n_blk * t->kern->width;
    if (t->n_pairs) /* the grid's entries: n_blk n_t 4 W doubles */
        rec = rec > 4 * lanes * t->model.n_t * sizeof(double)
                  ? rec
                  : 4 * lanes * t->model.n_t * sizeof(double);
    ws->rec = aligned_alloc(32, (rec + 31) / 32 * 32);
    ws->logt = malloc(t->model.n_t * sizeof(double));
    ws->scratch = malloc(t->model.n_t * sizeof(double));
    ws->proj = malloc(2 * t->pts->n_phi * sizeof(double));
    if (t->n_pairs) {
        ws->lanes = calloc(3 * lanes, sizeof(double));
        ws->sums = malloc(t->pts->n_phi * sizeof *ws->sums);
        ws->pairs = malloc(2 * t->n_pairs * sizeof(double));
    }
    if (!ws->rowJ || !ws->rowG || !ws->theta || !ws->ef || !ws->rec || !ws->logt ||
        !ws->scratch || !ws->proj || (t->n_pairs && (!ws->lanes || !ws->sums || !ws->pairs))) {
        hcmc_target_ws_free(ws);
        return NULL;
    }
    for (size_t k = 0; k < t->model.n_t; k++)
        ws->logt[k] = log(k == 0 ? 0.5 * t->model.dt : (double)k * t->model.dt);
    memset(ws->rowG, 0, rows);
    ws->dtheta = ws->theta + t->dim;
    ws->gtheta = ws->theta + 2 * t->dim;
    ws->dlogjac = ws->theta + 3 * t->dim;
    return ws;
}

void hcmc_target_ws_free(hcmc_target_ws *ws)
{
    if (!ws)
        return;
    free(ws->rowJ);
    free(ws->rowG);
    free(ws->theta);
    free(ws->ef);
    free(ws->rec);
    free(ws->logt);
    free(ws->scratch);
    free(ws->lanes);
    free(ws->sums);
    free(ws->pairs);
    free(ws->proj);
    free(ws);
}

/* Rows (C_k, dC_k/da, dC_k/de, dC_k/doff) of the cumulative trapezoid of
 * the rate f = max(a t^e + off, floor) at the times t_k = exp(logt[k])
 * (0.5 dt, dt, 2 dt, ...); derivatives vanish where clamped. t^e as
 * exp(e log t): one exp a frame instead of a pow and a log, the frames'
 * exps by the kernel's vector exp. te_k: scratch, n_t doubles. */
static void build_rows(const hcmc__kernel *K, double dt, size_t n_t, const double *logt,
                       double a, double e, double off, double *row, double *te_k)
{
    double prev[4] = {0, 0, 0, 0};
    for (size_t k = 0; k < n_t; k++)
        te_k[k] = e * logt[k];
    K->exp_n(n_t, te_k, te_k);
    for (size_t k = 0; k < n_t; k++) {
        double te = te_k[k], raw = a * te + off, f[4];
        if (raw > HCMC_RATE_FLOOR) {
            f[0] = raw;
            f[1] = te;
            f[2] = a * te * logt[k];
            f[3] = 1.0;
        } else {
            f[0] = HCMC_RATE_FLOOR;
            f[1] = f[2] = f[3] = 0.0;
        }
        double *r = row + 4 * k;
        for (int c = 0; c < 4; c++) {
            r[c] = k == 0 ? 0.0 : r[c - 4] + dt * 0.5 * (prev[c] + f[c]);
            prev[c] = f[c];
        }
    }
}

static const double LOG_SQRT_2PI = 0.91893853320467274178;

/* Largest q^2 CJ for which exp(q^2 CJ) is tabulated: far below overflow
 * (709) and with E_k = exp(-q^2 CJ_k) still a normal number. */
#define EF_MAX_EXPONENT 600.0

/* Parameters at z (ws->theta), the untempered log prior and log Jacobian
 * of z, and in ws->gtheta the prior's gradient times tau: in theta for the
 * bounded coordinates (the Jacobian's gradient is kept apart, in z, in
 * ws->dlogjac), in z for log sigma (prior and Jacobian). HCMC_TARGET_OUTSIDE
 * where z has no parameter values. */
static int transform(const hcmc_target *t, hcmc_target_ws *ws, const double *z,
                     double *logprior_out, double *logjac_out)
{
    const size_t nb = t->dim - 1;
    double *th = ws->theta, *g = ws->gtheta, logprior = 0, logjac;
    for (size_t k = 0; k <= nb; k++)
        if (!isfinite(z[k]))
            return HCMC_ENUMERIC;
    if (hcmc_coords_forward(&t->coords, z, th, ws->dtheta, ws->M, &logjac, ws->dlogjac))
        return HCMC_TARGET_OUTSIDE;
    for (size_t k = 0; k < nb; k++) {
        double dpdx;
        logprior += hcmc_prior_logpdf(&t->prior[k], th[k], &dpdx);
        g[k] = t->tau * dpdx;
    }
    double sigma = exp(z[nb]), ss = t->sigma_scale;
    th[nb] = sigma;
    logprior += M_LN2 - log(ss) - LOG_SQRT_2PI - 0.5 * (sigma / ss) * (sigma / ss);
    logjac += z[nb];
    g[nb] = t->tau * (-(sigma / ss) * (sigma / ss) + 1.0);
    *logprior_out = logprior;
    *logjac_out = logjac;
    return HCMC_OK;
}

/* The standard normal part of the prior of z, sum of log phi(z_k) over the
 * coordinates that have one (coords.h; target.h: it is not tempered). */
static double log_base(const hcmc_target *t, const double *z)
{
    double b = 0;
    for (size_t k = 0; k + 1 < t->dim; k++)
        if (hcmc_coords_has_base(&t->coords, k))
            b += -0.5 * z[k] * z[k] - LOG_SQRT_2PI;
    return b;
}

/* ws->gtheta from d/dtheta to d/dz (log sigma's entry already is), plus the
 * gradient of tau (log Jacobian - base) + base. */
static void pull_back(const hcmc_target *t, hcmc_target_ws *ws, const double *z)
{
    hcmc_coords_pullback(&t->coords, ws->dtheta, (const double(*)[9])ws->M, ws->gtheta);
    for (size_t k = 0; k + 1 < t->dim; k++)
        ws->gtheta[k] += t->tau * ws->dlogjac[k] -
                         (hcmc_coords_has_base(&t->coords, k) ? (1 - t->tau) * z[k] : 0);
}

/* Contrast and offset of angle a at theta. */
static void angle_scaling(const hcmc_target *t, const double *th, size_t a, double *c,
                          double *o)
{
    const size_t np = t->nphys, half = t->nscale / 2;
    if (t->scaling == HCMC_SCALING_INDIVIDUAL) {
        *c = th[np + a];
        *o = th[np + half + a];
    } else if (t->scaling == HCMC_SCALING_SHARED) {
        *c = th[np];
        *o = th[np + 1];
    } else {
        *c = t->fixed_contrast[a];
        *o = t->fixed_offset[a];
    }
}

/* The shear's projection A = q L cos(phi0 - phi) onto the angle phi
 * (degrees), and *B = dA/dphi0. */
static double shear_projection(const hcmc_model *m, const double *ph, double phi,
                               double *B)
{
    double ang = (ph[HCMC_P_PHI0] - phi) * (M_PI / 180.0);
    *B = -m->q * m->L * sin(ang) * (M_PI / 180.0);
    return m->q * m->L * cos(ang);
}

int hcmc_target_eval(const hcmc_target *t, hcmc_target_ws *ws, const double *z,
                     double *lp, double *grad, hcmc_target_parts *parts)
{
    const size_t dim = t->dim, nb = dim - 1, np = t->nphys;
    const hcmc_points *pts = t->pts;
    const hcmc_model *m = &t->model;
    double *th = ws->theta, *g = ws->gtheta;
    double logprior, logjac;
    int rc = transform(t, ws, z, &logprior, &logjac);
    if (rc)
        return rc;
    const double sigma = th[nb];

    /* row tables of the integrals and their derivatives */
    double ph[HCMC_NPHYS_MAX];
    hcmc_target_phys_values(t, th, ph);
    build_rows(t->kern, m->dt, m->n_t, ws->logt, ph[HCMC_P_D0], ph[HCMC_P_ALPHA],
               ph[HCMC_P_D_OFFSET], ws->rowJ, ws->scratch);
    const int laminar = m->mode == HCMC_MODE_LAMINAR;
    if (laminar)
        build_rows(t->kern, m->dt, m->n_t, ws->logt, ph[HCMC_P_GAMMA_DOT_T0],
                   ph[HCMC_P_BETA], ph[HCMC_P_GAMMA_DOT_T_OFFSET], ws->rowG,
                   ws->scratch);

    hcmc__seg seg = {0};
    seg.rowJ = ws->rowJ;
    seg.rowG = ws->rowG;
    seg.rec = ws->rec;
    seg.q2 = m->q * m->q;
    seg.n_t = m->n_t;
    /* exp per frame instead of per point, while exp(+q^2 CJ) stays far
     * from overflow (CJ grows with k, so its last entry is the largest) */
    if (seg.q2 * ws->rowJ[4 * (m->n_t - 1)] <= EF_MAX_EXPONENT) {
        double *x = ws->scratch;
        for (size_t k = 0; k < m->n_t; k++)
            x[k] = -seg.q2 * ws->rowJ[4 * k];
        t->kern->exp_n(m->n_t, x, x);
        for (size_t k = 0; k < m->n_t; k++) {
            ws->ef[2 * k] = x[k];
            x[k] = seg.q2 * ws->rowJ[4 * k];
        }
        t->kern->exp_n(m->n_t, x, x);
        for (size_t k = 0; k < m->n_t; k++)
            ws->ef[2 * k + 1] = x[k];
        seg.ef = ws->ef;
    }
    seg.homodyne = m->convention == HCMC_CONVENTION_HOMODYNE;
    seg.kappa = seg.homodyne ? 0.5 / M_PI : 0.5;
    double rr = 0, gphys[HCMC_NPHYS_MAX] = {0};
    const size_t half = t->nscale / 2;
    double *gc = g + np, *go = g + np + half; /* scaling gradients */
    double *A = ws->proj, *B = ws->proj + pts->n_phi;
    if (laminar)
        for (size_t a = 0; a < pts->n_phi; a++)
            A[a] = shear_projection(m, ph, pts->phi[a], &B[a]);
    /* the pair grid's kernel gives every angle's sums at once */
    const int grid = t->n_pairs && seg.ef;
    if (grid) {
        size_t L = t->n_blk * t->kern->width;
        double *kA = ws->lanes, *lc = kA + L, *lo = lc + L;
        for (size_t a = 0; a < pts->n_phi; a++) {
            angle_scaling(t, th, a, &lc[a], &lo[a]);
            kA[a] = seg.kappa * A[a];
        }
        hcmc__grid gr = {.n_pairs = t->n_pairs,
                         .n_phi = pts->n_phi,
                         .n_t = m->n_t,
                         .n_blk = t->n_blk,
                         .i = pts->i,
                         .j = pts->j,
                         .y = t->grid_y,
                         .rowJ = ws->rowJ,
                         .rowG = ws->rowG,
                         .ef = seg.ef,
                         .kA = kA,
                         .contrast = lc,
                         .offset = lo,
                         .kappa = seg.kappa,
                         .homodyne = seg.homodyne,
                         .rec = ws->rec,
                         .pairs = ws->pairs};
        (grad ? t->kern->run_grid : t->kern->run_grid_value)(&gr, ws->sums);
    }
    for (size_t a = 0; a < pts->n_phi; a++) {
        size_t a0 = pts->angle_start[a], n = pts->angle_start[a + 1] - a0;
        if (n == 0)
            continue;
        double c, o;
        angle_scaling(t, th, a, &c, &o);
        seg.n = n;
        seg.i = pts->i + a0;
        seg.j = pts->j + a0;
        seg.y = pts->y + a0;
        seg.contrast = c;
        seg.offset = o;
        hcmc__seg_sums s;
        /* a sin/cos table costs n_t evaluations, sincos per point n */
        seg.use_trig = n >= m->n_t;
        if (laminar) {
            seg.A = A[a];
            if (grid)
                s = ws->sums[a];
            else
                (grad ? t->kern->run_laminar : t->kern->run_laminar_value)(&seg, &s);
        } else {
            (grad ? t->kern->run_static : t->kern->run_static_value)(&seg, &s);
        }
        rr += s.rr;
        /* sums of r * dc2/dtheta, scaled by weight/sigma^2 below */
        for (int k = 0; k < 3; k++)
            gphys[k] += c * -seg.q2 * s.gJ[k + 1];
        if (laminar) {
            for (int k = 0; k < 3; k++)
                gphys[3 + k] += c * seg.A * s.gG[k + 1];
            gphys[HCMC_P_PHI0] += c * B[a] * s.gX;
        }
        if (half) { /* sampled scaling: slot a, or slot 0 when shared */
            size_t k = t->scaling == HCMC_SCALING_INDIVIDUAL ? a : 0;
            double f = t->weight / (sigma * sigma);
            gc[k] += f * s.rh;
            go[k] += f * s.r;
        }
    }
    const double N = (double)pts->n, w = t->weight, is2 = 1.0 / (sigma * sigma);
    double loglik = w * (-0.5 * rr * is2 - N * (z[nb] + LOG_SQRT_2PI));
    for (size_t k = 0; k < t->nmode; k++)
        if (t->slot[k] >= 0)
            g[t->slot[k]] += w * is2 * gphys[k];
    g[nb] += w * (rr * is2 - N);

    double base = log_base(t, z);
    double total = loglik + base + t->tau * (logprior + logjac - base);
    *lp = total;
    if (grad) {
        pull_back(t, ws, z);
        memcpy(grad, g, dim * sizeof *grad);
    }
    if (parts) {
        parts->loglik = loglik;
        parts->logprior = logprior;
        parts->logjac = logjac;
        parts->logbase = base;
    }
    return isfinite(total) ? HCMC_OK : HCMC_ENUMERIC;
}

int hcmc_target_eval_prior(const hcmc_target *t, hcmc_target_ws *ws, const double *z,
                           double *lp, double *grad)
{
    double logprior, logjac;
    int rc = transform(t, ws, z, &logprior, &logjac);
    if (rc)
        return rc;
    *lp = logprior + logjac;
    if (grad) {
        /* untempered: transform scaled by tau */
        double tau = t->tau;
        for (size_t k = 0; k < t->dim; k++)
            ws->gtheta[k] /= tau;
        hcmc_coords_pullback(&t->coords, ws->dtheta, (const double(*)[9])ws->M,
                             ws->gtheta);
        for (size_t k = 0; k + 1 < t->dim; k++)
            ws->gtheta[k] += ws->dlogjac[k];
        memcpy(grad, ws->gtheta, t->dim * sizeof *grad);
    }
    return isfinite(*lp) ? HCMC_OK : HCMC_ENUMERIC;
}

double hcmc_target_tau(const hcmc_target *t)
{
    return t->tau;
}

double hcmc_target_weight(const hcmc_target *t)
{
    return t->weight;
}

void hcmc_target_base_precision(const hcmc_target *t, double *base)
{
    for (size_t k = 0; k < t->dim; k++)
        base[k] = t->tau < 1 && hcmc_coords_has_base(&t->coords, k) ? 1.0 : 0.0;
}

double hcmc_target_time_max(const hcmc_target *t)
{
    return (double)(t->model.n_t - 1) * t->model.dt;
}

const hcmc_points *hcmc_target_points(const hcmc_target *t)
{
    return t->pts;
}

/* d sinc(v)/dv, by its series where the quotient loses accuracy. */
static void sinc_and_slope(double v, double *s, double *ds)
{
    if (fabs(v) < 1e-4) {
        double v2 = v * v;
        *s = 1.0 - v2 / 6.0 + v2 * v2 / 120.0;
        *ds = -v / 3.0 + v * v2 / 30.0;
        return;
    }
    double sv = sin(v), cv = cos(v);
    *s = sv / v;
    *ds = (cv - *s) / v;
}

int hcmc_target_residuals_theta(const hcmc_target *t, hcmc_target_ws *ws,
                                const hcmc_points *pts, const double *th, double *r,
                                double *J, size_t ldj)
{
    const size_t nb = t->dim - 1, np = t->nphys, half = t->nscale / 2;
    const hcmc_model *m = &t->model;
    if (pts->n_phi != t->pts->n_phi || pts->n_t != m->n_t)
        return HCMC_EINVAL;
    double ph[HCMC_NPHYS_MAX];
    hcmc_target_phys_values(t, th, ph);
    build_rows(t->kern, m->dt, m->n_t, ws->logt, ph[HCMC_P_D0], ph[HCMC_P_ALPHA],
               ph[HCMC_P_D_OFFSET], ws->rowJ, ws->scratch);
    const int laminar = m->mode == HCMC_MODE_LAMINAR;
    const int homodyne = m->convention == HCMC_CONVENTION_HOMODYNE;
    if (laminar)
        build_rows(t->kern, m->dt, m->n_t, ws->logt, ph[HCMC_P_GAMMA_DOT_T0],
                   ph[HCMC_P_BETA], ph[HCMC_P_GAMMA_DOT_T_OFFSET], ws->rowG,
                   ws->scratch);
    const int *sl = t->slot;
    const double q2 = m->q * m->q, kappa = homodyne ? 0.5 / M_PI : 0.5;
    for (size_t a = 0; a < pts->n_phi; a++) {
        size_t kc = SIZE_MAX, ko = SIZE_MAX; /* sampled scaling slots */
        double c, o;
        if (t->scaling == HCMC_SCALING_INDIVIDUAL) {
            kc = np + a;
            ko = np + half + a;
        } else if (t->scaling == HCMC_SCALING_SHARED) {
            kc = np;
            ko = np + 1;
        }
        c = kc != SIZE_MAX ? th[kc] : t->fixed_contrast[a];
        o = ko != SIZE_MAX ? th[ko] : t->fixed_offset[a];
        double A = 0, B = 0;
        if (laminar)
            A = shear_projection(m, ph, pts->phi[a], &B);
        for (size_t p = pts->angle_start[a]; p < pts->angle_start[a + 1]; p++) {
            size_t lo = pts->i[p] < pts->j[p] ? pts->i[p] : pts->j[p];
            size_t hi = pts->i[p] < pts->j[p] ? pts->j[p] : pts->i[p];
            const double *J0 = ws->rowJ + 4 * lo, *J1 = ws->rowJ + 4 * hi;
            double gD = exp(-q2 * (J1[0] - J0[0])), gS = 1.0, dgS = 0.0;
            double dG[4] = {0, 0, 0, 0};
            if (laminar) {
                const double *G0 = ws->rowG + 4 * lo, *G1 = ws->rowG + 4 * hi;
                for (int k = 0; k < 4; k++)
                    dG[k] = G1[k] - G0[k];
                double s, ds;
                sinc_and_slope(kappa * A * dG[0], &s, &ds);
                gS = homodyne ? s * s * s * s : s * s;
                dgS = (homodyne ? 4.0 * s * s * s : 2.0 * s) * ds * kappa;
            }
            r[p] = o + c * gD * gS - pts->y[p];
            if (!J)
                continue;
            double *row = J + p * ldj;
            memset(row, 0, nb * sizeof(double));
            for (int k = 0; k < 3; k++)
                if (sl[k] >= 0)
                    row[sl[k]] = c * gD * gS * -q2 * (J1[k + 1] - J0[k + 1]);
            if (laminar) {
                for (int k = 0; k < 3; k++)
                    if (sl[3 + k] >= 0)
                        row[sl[3 + k]] = c * gD * dgS * A * dG[k + 1];
                if (sl[HCMC_P_PHI0] >= 0)
                    row[sl[HCMC_P_PHI0]] = c * gD * dgS * B * dG[0];
            }
            if (kc != SIZE_MAX) {
                row[kc] = gD * gS;
                row[ko] = 1;
            }
        }
    }
    return HCMC_OK;
}

int hcmc_target_residuals(const hcmc_target *t, hcmc_target_ws *ws,
                          const hcmc_points *pts, const double *z, double *r, double *J,
                          size_t ldj)
{
    double lj, *th = ws->theta;
    if (hcmc_coords_forward(&t->coords, z, th, ws->dtheta, ws->M, &lj, ws->dlogjac))
        return HCMC_TARGET_OUTSIDE;
    int rc = hcmc_target_residuals_theta(t, ws, pts, th, r, J, ldj);
    for (size_t p = 0; !rc && J && p < pts->n; p++)
        hcmc_coords_pullback(&t->coords, ws->dtheta, (const double(*)[9])ws->M,
                             J + p * ldj);
    return rc;
}
