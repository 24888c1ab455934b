/* NUTS transitions and warmup, following Stan's base_nuts, base_hmc,
 * stepsize_adaptation and windowed_adaptation step for step, so that the
 * sampler behaves as the reference does. The recursion of build_tree is at
 * most max_tree_depth deep; its temporaries come from per-depth scratch. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lapacke.h>

#include "hcmc/coords.h"
#include "hcmc/diagnostics.h"
#include "hcmc/log.h"
#include "hcmc/nuts.h"
#include "hcmc/rng.h"
#include "hcmc/timing.h"
#include "../base/blas.h"

void hcmc_nuts_settings_defaults(hcmc_nuts_settings *s)
{
    memset(s, 0, sizeof *s);
    s->num_warmup = 500;
    s->num_samples = 1500;
    s->num_chains = 4;
    s->max_tree_depth = 10;
    s->target_accept = 0.85;
    s->dense_mass = true;
    s->parallel = true;
    s->step_size = 1.0;
    s->rerun_divergent = 0.01;
    s->rerun_target_accept = 0.99;
    s->max_delta_h = 1000.0;
    s->init_radius = 2.0;
    s->seed = 42;
}

/* ---- the target as a density ---------------------------------------- */

static int target_eval_cb(const void *ctx, void *ws, const double *z, double *lp,
                          double *grad)
{
    int rc = hcmc_target_eval(ctx, ws, z, lp, grad, NULL);
    return rc == HCMC_TARGET_OUTSIDE ? HCMC_DENSITY_WALL : rc;
}
static void *target_ws_new_cb(const void *ctx)
{
    return hcmc_target_ws_new(ctx);
}
static void target_ws_free_cb(void *ws)
{
    hcmc_target_ws_free(ws);
}
static void target_constrain_cb(const void *ctx, const double *z, double *theta)
{
    hcmc_target_constrain(ctx, z, theta);
}
static const char *target_name_cb(const void *ctx, size_t k)
{
    return hcmc_target_param_name(ctx, k);
}

hcmc_density hcmc_density_from_target(const hcmc_target *t)
{
    hcmc_density d = {.dim = hcmc_target_dim(t),
                      .ctx = t,
                      .eval = target_eval_cb,
                      .ws_new = target_ws_new_cb,
                      .ws_free = target_ws_free_cb,
                      .constrain = target_constrain_cb,
                      .param_name = target_name_cb};
    /* u of a law in slope coordinates: flat where the exponent is near 0,
     * falling steeply where the data see the law bend (law.h) */
    const hcmc_coords *c = hcmc_target_coords(t);
    for (size_t l = 0; l < c->nlaw; l++)
        if (c->law[l].kind == HCMC_LAW_SLOPE)
            d.slice[d.n_slice++] = c->law_at[l] + 2;
    return d;
}

/* ---- phase-space points and the metric ------------------------------ */

typedef struct {
    double *q, *p, *g; /* position, momentum, gradient of the log density */
    double lp;
} ps_point;

typedef struct {
    size_t n;
    bool dense;
    double *inv;  /* inverse metric: [n] or [n*n] row-major */
    double *chol; /* dense: lower Cholesky factor of inv */
} metric;

static void ps_copy(ps_point *dst, const ps_point *src, size_t n)
{
    memcpy(dst->q, src->q, n * sizeof(double));
    memcpy(dst->p, src->p, n * sizeof(double));
    memcpy(dst->g, src->g, n * sizeof(double));
    dst->lp = src->lp;
}

/* v = inv * p */
static void metric_velocity(const metric *m, const double *p, double *v)
{
    size_t n = m->n;
    if (!m->dense) {
        for (size_t k = 0; k < n; k++)
            v[k] = m->inv[k] * p[k];
        return;
    }
    for (size_t r = 0; r < n; r++) {
        const double *row = m->inv + r * n;
        double s = 0.0;
        for (size_t c = 0; c < n; c++)
            s += row[c] * p[c];
        v[r] = s;
    }
}

static double metric_tau(const metric *m, const double *p, double *tmp)
{
    metric_velocity(m, p, tmp);
    double s = 0.0;
    for (size_t k = 0; k < m->n; k++)
        s += p[k] * tmp[k];
    return 0.5 * s;
}

/* p ~ N(0, inv^-1): diagonal p_k = u_k / sqrt(inv_k); dense p = L^-T u. */
static void metric_sample(const metric *m, hcmc_rng *rng, double *p)
{
    size_t n = m->n;
    for (size_t k = 0; k < n; k++)
        p[k] = hcmc_rng_normal(rng);
    if (!m->dense) {
        for (size_t k = 0; k < n; k++)
            p[k] /= sqrt(m->inv[k]);
        return;
    }
    for (size_t r = n; r-- > 0;) { /* back substitution with L^T */
        double s = p[r];
        for (size_t c = r + 1; c < n; c++)
            s -= m->chol[c * n + r] * p[c];
        p[r] = s / m->chol[r * n + r];
    }
}

static int metric_factor(metric *m)
{
    if (!m->dense)
        return 0;
    size_t n = m->n;
    memcpy(m->chol, m->inv, n * n * sizeof(double));
    lapack_int info =
        LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)n, m->chol, (lapack_int)n);
    for (size_t r = 0; r < n; r++)
        for (size_t c = r + 1; c < n; c++)
            m->chol[r * n + c] = 0.0;
    return info == 0 ? 0 : -1;
}

/* ---- one chain ------------------------------------------------------ */

typedef struct {
    /* ps_point scratch of build_tree per depth: z_propose_final, and the
     * momenta / sharp momenta / rho vectors of the two halves. */
    ps_point propose_final;
    double *p_init_end, *p_sharp_init_end, *rho_init;
    double *p_final_beg, *p_sharp_final_beg, *rho_final;
} level;

typedef struct {
    const hcmc_density *d;
    const hcmc_nuts_settings *s;
    void *ws;
    size_t n;
    hcmc_rng rng;
    metric m;
    double eps;
    ps_point z; /* the integrator's current point */
    level lv[HCMC_NUTS_MAX_DEPTH + 1];
    double *tmp;
    bool divergent;
    bool wall; /* the last leapfrog step left the support (HCMC_DENSITY_WALL) */
    uint64_t n_grad, n_value;
    double *slice_q, *slice_g; /* slice steps' point and gradient */
    double *block;             /* every vector of the chain, one allocation */
} chain;

static int chain_eval(chain *ch, const double *q, double *lp, double *g)
{
    ch->n_grad++;
    int rc = ch->d->eval(ch->d->ctx, ch->ws, q, lp, g);
    ch->wall = rc == HCMC_DENSITY_WALL;
    if (rc || !isfinite(*lp)) {
        *lp = -INFINITY;
        return -1;
    }
    for (size_t k = 0; k < ch->n; k++)
        if (!isfinite(g[k])) {
            *lp = -INFINITY;
            return -1;
        }
    return 0;
}

static double hamiltonian(chain *ch, const ps_point *z)
{
    double h = -z->lp + metric_tau(&ch->m, z->p, ch->tmp);
    return isnan(h) ? INFINITY : h;
}

/* Leapfrog from ch->z by step e; the gradient at z is already known. */
static void evolve(chain *ch, double e)
{
    ps_point *z = &ch->z;
    size_t n = ch->n;
    for (size_t k = 0; k < n; k++)
        z->p[k] += 0.5 * e * z->g[k];
    metric_velocity(&ch->m, z->p, ch->tmp);
    for (size_t k = 0; k < n; k++)
        z->q[k] += e * ch->tmp[k];
    if (chain_eval(ch, z->q, &z->lp, z->g)) {
        for (size_t k = 0; k < n; k++) /* leaves H infinite: a divergence */
            z->g[k] = 0.0;
        return;
    }
    for (size_t k = 0; k < n; k++)
        z->p[k] += 0.5 * e * z->g[k];
}

static double log_sum_exp(double a, double b)
{
    if (a == -INFINITY)
        return b;
    if (b == -INFINITY)
        return a;
    double m = a > b ? a : b;
    return m + log(exp(a - m) + exp(b - m));
}

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0.0;
    for (size_t k = 0; k < n; k++)
        s += a[k] * b[k];
    return s;
}

static bool criterion(const double *p_sharp_minus, const double *p_sharp_plus,
                      const double *rho, size_t n)
{
    return dot(p_sharp_plus, rho, n) > 0 && dot(p_sharp_minus, rho, n) > 0;
}

static void sum3(double *out, const double *a, const double *b, size_t n)
{
    for (size_t k = 0; k < n; k++)
        out[k] = a[k] + b[k];
}

/* Stan's base_nuts::build_tree. Returns whether the subtree is valid. */
static bool build_tree(chain *ch, int depth, ps_point *z_propose, double *p_sharp_beg,
                       double *p_sharp_end, double *rho, double *p_beg, double *p_end,
                       double H0, double sign, int *n_leapfrog, double *log_sum_weight,
                       double *sum_metro_prob)
{
    size_t n = ch->n;
    if (depth == 0) {
        evolve(ch, sign * ch->eps);
        ++*n_leapfrog;
        if (ch->wall) /* zero density beyond: the subtree ends, no divergence */
            return false;
        double h = hamiltonian(ch, &ch->z);
        if (h - H0 > ch->s->max_delta_h)
            ch->divergent = true;
        *log_sum_weight = log_sum_exp(*log_sum_weight, H0 - h);
        *sum_metro_prob += H0 - h > 0 ? 1.0 : exp(H0 - h);
        ps_copy(z_propose, &ch->z, n);
        metric_velocity(&ch->m, ch->z.p, p_sharp_beg);
        memcpy(p_sharp_end, p_sharp_beg, n * sizeof(double));
        for (size_t k = 0; k < n; k++)
            rho[k] += ch->z.p[k];
        memcpy(p_beg, ch->z.p, n * sizeof(double));
        memcpy(p_end, p_beg, n * sizeof(double));
        return !ch->divergent;
    }
    level *L = &ch->lv[depth];
    /* initial subtree */
    double log_sum_weight_init = -INFINITY;
    memset(L->rho_init, 0, n * sizeof(double));
    if (!build_tree(ch, depth - 1, z_propose, p_sharp_beg, L->p_sharp_init_end,
                    L->rho_init, p_beg, L->p_init_end, H0, sign, n_leapfrog,
                    &log_sum_weight_init, sum_metro_prob))
        return false;
    /* final subtree */
    ps_copy(&L->propose_final, &ch->z, n);
    double log_sum_weight_final = -INFINITY;
    memset(L->rho_final, 0, n * sizeof(double));
    if (!build_tree(ch, depth - 1, &L->propose_final, L->p_sharp_final_beg, p_sharp_end,
                    L->rho_final, L->p_final_beg, p_end, H0, sign, n_leapfrog,
                    &log_sum_weight_final, sum_metro_prob))
        return false;
    /* multinomial sample from the right subtree */
    double log_sum_weight_subtree =
        log_sum_exp(log_sum_weight_init, log_sum_weight_final);
    *log_sum_weight = log_sum_exp(*log_sum_weight, log_sum_weight_subtree);
    if (log_sum_weight_final > log_sum_weight_subtree) {
        ps_copy(z_propose, &L->propose_final, n);
    } else {
        double accept_prob = exp(log_sum_weight_final - log_sum_weight_subtree);
        if (hcmc_rng_uniform(&ch->rng) < accept_prob)
            ps_copy(z_propose, &L->propose_final, n);
    }
    double *rho_subtree = ch->tmp; /* tmp is free here: no metric call below */
    sum3(rho_subtree, L->rho_init, L->rho_final, n);
    for (size_t k = 0; k < n; k++)
        rho[k] += rho_subtree[k];
    bool persist = criterion(p_sharp_beg, p_sharp_end, rho_subtree, n);
    double *rho_ext = rho_subtree;
    sum3(rho_ext, L->rho_init, L->p_final_beg, n);
    persist = persist && criterion(p_sharp_beg, L->p_sharp_final_beg, rho_ext, n);
    sum3(rho_ext, L->rho_final, L->p_init_end, n);
    persist = persist && criterion(L->p_sharp_init_end, p_sharp_end, rho_ext, n);
    return persist;
}

typedef struct {
    double accept_stat;
    int depth, n_leapfrog;
    bool divergent;
    double energy;
} transition_stats;

/* Per-transition buffers at the top level, carved from the chain block. */
typedef struct {
    ps_point z_fwd, z_bck, z_sample, z_propose;
    double *p_fwd_fwd, *p_fwd_bck, *p_bck_fwd, *p_bck_bck;
    double *ps_fwd_fwd, *ps_fwd_bck, *ps_bck_fwd, *ps_bck_bck;
    double *rho, *rho_fwd, *rho_bck, *rho_ext;
} top;

/* Stan's base_nuts::transition; on entry ch->z holds q, lp and g. */
static void transition(chain *ch, top *T, transition_stats *st)
{
    size_t n = ch->n, vb = n * sizeof(double);
    metric_sample(&ch->m, &ch->rng, ch->z.p);
    ps_copy(&T->z_fwd, &ch->z, n);
    ps_copy(&T->z_bck, &ch->z, n);
    ps_copy(&T->z_sample, &ch->z, n);
    ps_copy(&T->z_propose, &ch->z, n);
    memcpy(T->p_fwd_fwd, ch->z.p, vb);
    memcpy(T->p_fwd_bck, ch->z.p, vb);
    memcpy(T->p_bck_fwd, ch->z.p, vb);
    memcpy(T->p_bck_bck, ch->z.p, vb);
    metric_velocity(&ch->m, ch->z.p, T->ps_fwd_fwd);
    memcpy(T->ps_fwd_bck, T->ps_fwd_fwd, vb);
    memcpy(T->ps_bck_fwd, T->ps_fwd_fwd, vb);
    memcpy(T->ps_bck_bck, T->ps_fwd_fwd, vb);
    memcpy(T->rho, ch->z.p, vb);
    double log_sum_weight = 0.0;
    double H0 = hamiltonian(ch, &ch->z);
    int n_leapfrog = 0;
    double sum_metro_prob = 0.0;
    int depth = 0;
    ch->divergent = false;

    while (depth < ch->s->max_tree_depth) {
        memset(T->rho_fwd, 0, vb);
        memset(T->rho_bck, 0, vb);
        bool valid;
        double log_sum_weight_subtree = -INFINITY;
        if (hcmc_rng_uniform(&ch->rng) > 0.5) {
            ps_copy(&ch->z, &T->z_fwd, n);
            memcpy(T->rho_bck, T->rho, vb);
            memcpy(T->p_bck_fwd, T->p_fwd_bck, vb);
            memcpy(T->ps_bck_fwd, T->ps_fwd_bck, vb);
            valid = build_tree(ch, depth, &T->z_propose, T->ps_fwd_bck, T->ps_fwd_fwd,
                               T->rho_fwd, T->p_fwd_bck, T->p_fwd_fwd, H0, 1.0,
                               &n_leapfrog, &log_sum_weight_subtree, &sum_metro_prob);
            ps_copy(&T->z_fwd, &ch->z, n);
        } else {
            ps_copy(&ch->z, &T->z_bck, n);
            memcpy(T->rho_fwd, T->rho, vb);
            memcpy(T->p_fwd_bck, T->p_bck_fwd, vb);
            memcpy(T->ps_fwd_bck, T->ps_bck_fwd, vb);
            valid = build_tree(ch, depth, &T->z_propose, T->ps_bck_fwd, T->ps_bck_bck,
                               T->rho_bck, T->p_bck_fwd, T->p_bck_bck, H0, -1.0,
                               &n_leapfrog, &log_sum_weight_subtree, &sum_metro_prob);
            ps_copy(&T->z_bck, &ch->z, n);
        }
        if (!valid)
            break;
        ++depth;
        if (log_sum_weight_subtree > log_sum_weight) {
            ps_copy(&T->z_sample, &T->z_propose, n);
        } else {
            double accept_prob = exp(log_sum_weight_subtree - log_sum_weight);
            if (hcmc_rng_uniform(&ch->rng) < accept_prob)
                ps_copy(&T->z_sample, &T->z_propose, n);
        }
        log_sum_weight = log_sum_exp(log_sum_weight, log_sum_weight_subtree);
        sum3(T->rho, T->rho_bck, T->rho_fwd, n);
        bool persist = criterion(T->ps_bck_bck, T->ps_fwd_fwd, T->rho, n);
        sum3(T->rho_ext, T->rho_bck, T->p_fwd_bck, n);
        persist = persist && criterion(T->ps_bck_bck, T->ps_fwd_bck, T->rho_ext, n);
        sum3(T->rho_ext, T->rho_fwd, T->p_bck_fwd, n);
        persist = persist && criterion(T->ps_bck_fwd, T->ps_fwd_fwd, T->rho_ext, n);
        if (!persist)
            break;
    }
    st->n_leapfrog = n_leapfrog;
    st->depth = depth;
    st->divergent = ch->divergent;
    st->accept_stat = n_leapfrog > 0 ? sum_metro_prob / n_leapfrog : 0.0;
    ps_copy(&ch->z, &T->z_sample, n);
    st->energy = hamiltonian(ch, &ch->z);
}

/* ---- slice steps along chosen coordinates ---------------------------- */

/* The log density at q without its gradient; -inf where it has none. */
static double chain_value(chain *ch, const double *q)
{
    double lp;
    ch->n_value++;
    int rc = ch->d->eval(ch->d->ctx, ch->ws, q, &lp, NULL);
    return rc || !isfinite(lp) ? -INFINITY : lp;
}

/* At most this many widths stepped out, split at random between the two
 * sides (Neal 2003, fig. 3), and this many shrinkage draws. */
enum { SLICE_STEPS_OUT = 20, SLICE_SHRINKS = 60 };

/* One slice sampler update of coordinate k of the chain's point, initial
 * width w (Neal 2003, section 4: stepping out and shrinkage). The point
 * moves only to a place whose density has a finite gradient. */
static void slice_step(chain *ch, size_t k, double w)
{
    size_t n = ch->n;
    double *q = ch->slice_q;
    memcpy(q, ch->z.q, n * sizeof(double));
    double x0 = q[k], logy = ch->z.lp - hcmc_rng_exponential(&ch->rng);
    double lo = x0 - w * hcmc_rng_uniform(&ch->rng), hi = lo + w;
    int left = (int)(SLICE_STEPS_OUT * hcmc_rng_uniform(&ch->rng));
    int right = SLICE_STEPS_OUT - 1 - left;
    for (; left > 0; left--, lo -= w) {
        q[k] = lo;
        if (!(chain_value(ch, q) > logy))
            break;
    }
    for (; right > 0; right--, hi += w) {
        q[k] = hi;
        if (!(chain_value(ch, q) > logy))
            break;
    }
    for (int i = 0; i < SLICE_SHRINKS; i++) {
        q[k] = lo + (hi - lo) * hcmc_rng_uniform(&ch->rng);
        if (chain_value(ch, q) > logy) {
            double lp;
            if (chain_eval(ch, q, &lp, ch->slice_g) == 0) {
                memcpy(ch->z.q, q, n * sizeof(double));
                memcpy(ch->z.g, ch->slice_g, n * sizeof(double));
                ch->z.lp = lp;
            }
            return;
        }
        if (q[k] < x0)
            lo = q[k];
        else
            hi = q[k];
    }
}

static void slice_steps(chain *ch)
{
    const hcmc_density *d = ch->d;
    for (size_t i = 0; i < d->n_slice; i++) {
        size_t k = d->slice[i], n = ch->n;
        if (k >= n)
            continue;
        double v = ch->m.dense ? ch->m.inv[k * n + k] : ch->m.inv[k];
        if (v > 0 && isfinite(v))
            slice_step(ch, k, sqrt(v));
    }
}

/* Stan's base_hmc::init_stepsize. Returns -1 when no usable step exists. */
static int init_stepsize(chain *ch, hcmc_error *err, size_t chain_id)
{
    size_t n = ch->n;
    if (ch->eps == 0 || ch->eps > 1e7 || isnan(ch->eps))
        return 0;
    ps_point *z0 = &ch->lv[0].propose_final; /* free at this point */
    ps_copy(z0, &ch->z, n);
    metric_sample(&ch->m, &ch->rng, ch->z.p);
    double H0 = hamiltonian(ch, &ch->z);
    evolve(ch, ch->eps);
    double delta_h = H0 - hamiltonian(ch, &ch->z);
    int direction = delta_h > log(0.8) ? 1 : -1;
    for (;;) {
        ps_copy(&ch->z, z0, n);
        metric_sample(&ch->m, &ch->rng, ch->z.p);
        H0 = hamiltonian(ch, &ch->z);
        evolve(ch, ch->eps);
        delta_h = H0 - hamiltonian(ch, &ch->z);
        if (direction == 1 && !(delta_h > log(0.8)))
            break;
        if (direction == -1 && !(delta_h < log(0.8)))
            break;
        ch->eps = direction == 1 ? 2 * ch->eps : 0.5 * ch->eps;
        if (ch->eps > 1e7) {
            ps_copy(&ch->z, z0, n);
            return hcmc_error_set(err, HCMC_ENUMERIC,
                                  "chain %zu: the step size grows without bound: "
                                  "the posterior is improper (check the priors)",
                                  chain_id);
        }
        if (ch->eps == 0) {
            ps_copy(&ch->z, z0, n);
            return hcmc_error_set(err, HCMC_ENUMERIC,
                                  "chain %zu: no acceptably small step size: the "
                                  "gradient is not usable at the current point",
                                  chain_id);
        }
    }
    ps_copy(&ch->z, z0, n);
    return 0;
}

/* ---- adaptation ----------------------------------------------------- */

typedef struct {
    double mu, s_bar, x_bar, delta, gamma, kappa, t0;
    double counter;
} dual_averaging;

static void da_restart(dual_averaging *a)
{
    a->counter = 0;
    a->s_bar = 0;
    a->x_bar = 0;
}

static double da_learn(dual_averaging *a, double adapt_stat)
{
    a->counter += 1;
    adapt_stat = adapt_stat > 1 ? 1 : adapt_stat;
    double eta = 1.0 / (a->counter + a->t0);
    a->s_bar = (1.0 - eta) * a->s_bar + eta * (a->delta - adapt_stat);
    double x = a->mu - a->s_bar * sqrt(a->counter) / a->gamma;
    double x_eta = pow(a->counter, -a->kappa);
    a->x_bar = (1.0 - x_eta) * a->x_bar + x_eta * x;
    return exp(x);
}

typedef struct {
    unsigned num_warmup, init_buffer, term_buffer, base_window;
    unsigned counter, window_size, next_window;
    bool enabled;
    /* Welford estimator */
    size_t n_samples;
    double *mean, *m2; /* [n] and [n] or [n*n] */
} windowed;

static void win_restart(windowed *w)
{
    w->counter = 0;
    w->window_size = w->base_window;
    w->next_window = w->init_buffer + w->window_size - 1;
}

static void win_init(windowed *w, unsigned num_warmup)
{
    w->num_warmup = num_warmup;
    w->init_buffer = 75;
    w->term_buffer = 50;
    w->base_window = 25;
    w->enabled = num_warmup >= 20;
    if (w->enabled && w->init_buffer + w->base_window + w->term_buffer > num_warmup) {
        w->init_buffer = (unsigned)(0.15 * num_warmup);
        w->term_buffer = (unsigned)(0.1 * num_warmup);
        w->base_window = num_warmup - (w->init_buffer + w->term_buffer);
    }
    win_restart(w);
}

static bool win_in_window(const windowed *w)
{
    return w->counter >= w->init_buffer &&
           w->counter < w->num_warmup - w->term_buffer && w->counter != w->num_warmup;
}

static bool win_end_window(const windowed *w)
{
    return w->counter == w->next_window && w->counter != w->num_warmup;
}

static void win_next(windowed *w)
{
    unsigned last = w->num_warmup - w->term_buffer - 1;
    if (w->next_window == last)
        return;
    w->window_size *= 2;
    w->next_window = w->counter + w->window_size;
    if (w->next_window != last) {
        unsigned boundary = w->next_window + 2 * w->window_size;
        if (boundary >= w->num_warmup - w->term_buffer)
            w->next_window = last;
    }
}

static void welford_add(windowed *w, const double *q, size_t n, bool dense,
                        double *delta)
{
    w->n_samples++;
    double inv = 1.0 / (double)w->n_samples;
    for (size_t k = 0; k < n; k++) {
        delta[k] = q[k] - w->mean[k];
        w->mean[k] += delta[k] * inv;
    }
    if (!dense) {
        for (size_t k = 0; k < n; k++)
            w->m2[k] += delta[k] * (q[k] - w->mean[k]);
        return;
    }
    for (size_t r = 0; r < n; r++)
        for (size_t c = 0; c < n; c++)
            w->m2[r * n + c] += (q[r] - w->mean[r]) * delta[c];
}

/* Stan's covar/var adaptation: learn at every warmup iteration, and at the
 * end of a window put the regularised estimate into the metric. The
 * estimate is shrunk by Stan's weight 5/(n+5), but towards the metric it
 * replaces (the Laplace covariance of the warm start, then each window's
 * estimate) rather than towards Stan's 1e-3·I: that target assumes
 * unit-scale, uncorrelated parameters, and XPCS posteriors are far narrower
 * in the sampling space (contrast, offset and log sigma have sd 1e-3 to
 * 5e-3, variance 1e-6 to 2e-5). Against 1e-3·5/(n+5) = 2.4e-5 after the
 * last window of a 500-iteration warmup, the metric overstated those
 * variances up to tenfold, and the step size and the mixing paid for it.
 * Towards the previous metric the shrinkage is affine invariant (the same
 * whatever the units and the correlations), and the metric stays positive
 * definite even when a window's draws do not move. */
static bool win_learn(windowed *w, metric *m, const double *q, double *delta)
{
    size_t n = m->n;
    if (!w->enabled)
        return false;
    if (win_in_window(w))
        welford_add(w, q, n, m->dense, delta);
    if (win_end_window(w)) {
        win_next(w);
        double ns = (double)w->n_samples;
        double a = ns / (ns + 5.0), b = 5.0 / (ns + 5.0);
        /* in place: element (r, c) reads only its own old value */
        if (m->dense) {
            for (size_t r = 0; r < n; r++)
                for (size_t c = 0; c < n; c++)
                    m->inv[r * n + c] =
                        a * w->m2[r * n + c] / (ns - 1.0) + b * m->inv[r * n + c];
        } else {
            for (size_t k = 0; k < n; k++)
                m->inv[k] = a * w->m2[k] / (ns - 1.0) + b * m->inv[k];
        }
        w->n_samples = 0;
        memset(w->mean, 0, n * sizeof(double));
        memset(w->m2, 0, (m->dense ? n * n : n) * sizeof(double));
        ++w->counter;
        return true;
    }
    ++w->counter;
    return false;
}

/* ---- a chain from start to end --------------------------------------- */

typedef struct {
    const hcmc_density *d;
    const hcmc_nuts_settings *s;
    const double *init, *init_cov, *init_chol;
    hcmc_nuts_result *r;
    size_t c;  /* index in the result */
    size_t id; /* the chain's number among num_chains: its streams */
    int rc;
    hcmc_error err;
    double warmup_s, sampling_s;
    uint64_t n_grad, n_value, n_grad_sampling;
    hcmc_nuts_draws *more; /* hcmc_nuts_extend: the transitions to add */
    hcmc_rng rng_end;      /* and the stream where they end */
} chain_job;

static void record(chain *ch, const transition_stats *st, hcmc_nuts_draws *D, size_t c,
                   size_t i)
{
    size_t n = ch->n, at = c * D->n + i;
    memcpy(D->z + at * n, ch->z.q, n * sizeof(double));
    if (D->theta)
        ch->d->constrain(ch->d->ctx, ch->z.q, D->theta + at * n);
    D->lp[at] = ch->z.lp;
    D->energy[at] = st->energy;
    D->step_size[at] = ch->eps;
    D->accept_stat[at] = st->accept_stat;
    D->tree_depth[at] = st->depth;
    D->n_steps[at] = st->n_leapfrog;
    D->diverging[at] = st->divergent;
}

static void describe_point(const hcmc_density *d, const double *z, char *buf,
                           size_t cap)
{
    size_t used = 0;
    buf[0] = 0;
    for (size_t k = 0; k < d->dim && used + 40 < cap; k++) {
        const char *name = d->param_name ? d->param_name(d->ctx, k) : NULL;
        int w = name ? snprintf(buf + used, cap - used, "%s%s=%.6g", k ? ", " : "",
                                name, z[k])
                     : snprintf(buf + used, cap - used, "%sz[%zu]=%.6g", k ? ", " : "",
                                k, z[k]);
        used += (size_t)w;
    }
    if (used + 40 >= cap && d->dim > 0)
        snprintf(buf + used, cap - used, ", ...");
}

/* The largest drop of the log density below the centre's that a jittered
 * start may have: half the 99 % quantile of chi2 with dim degrees of
 * freedom (Wilson-Hilferty), what a draw of a Gaussian posterior exceeds
 * once in a hundred. Farther down, a chain would start in a tail the
 * Laplace approximation does not describe (along a direction the data
 * leave open, a bound of the prior), and spend its warmup coming back. */
static double start_max_drop(size_t dim)
{
    return 0.5 * (double)dim * hcmc_chi2_quantile_ratio((double)dim, 2.3263);
}

/* Starting point: init jittered by init_radius L u (u uniform on (-1, 1)^dim,
 * L the Cholesky factor of init_cov), up to 100 tries, the first whose log
 * density is finite and, when init is given, within start_max_drop of
 * init's own; when none is, the best finite one. */
static int chain_start(chain *ch, chain_job *job, double *start)
{
    const hcmc_density *d = ch->d;
    size_t n = ch->n;
    hcmc_rng irng;
    hcmc_rng_init(&irng, job->s->seed, HCMC_RNG_INIT, job->s->shard, (uint32_t)job->id);
    double radius = job->s->init_radius;
    int tries = radius > 0 ? 100 : 1;
    double floor = -INFINITY, best = -INFINITY;
    bool have = false;
    if (job->init && radius > 0) {
        memcpy(ch->z.q, job->init, n * sizeof(double));
        if (chain_eval(ch, ch->z.q, &ch->z.lp, ch->z.g) == 0)
            floor = ch->z.lp - start_max_drop(n);
    }
    for (int t = 0; t < tries; t++) {
        double *u = ch->tmp;
        for (size_t k = 0; k < n; k++)
            u[k] = radius > 0 ? radius * (2.0 * hcmc_rng_uniform(&irng) - 1.0) : 0.0;
        for (size_t k = 0; k < n; k++) {
            double jitter = u[k];
            if (job->init_chol) {
                jitter = 0.0;
                for (size_t c = 0; c <= k; c++)
                    jitter += job->init_chol[k * n + c] * u[c];
            }
            ch->z.q[k] = (job->init ? job->init[k] : 0.0) + jitter;
        }
        if (!have && t == 0)
            memcpy(start, ch->z.q, n * sizeof(double));
        double lp, *g = ch->tmp; /* u is not needed any more */
        if (chain_eval(ch, ch->z.q, &lp, g) != 0)
            continue;
        if (lp > best) {
            best = lp;
            have = true;
            memcpy(start, ch->z.q, n * sizeof(double));
        }
        if (lp >= floor)
            break;
    }
    if (have) {
        memcpy(ch->z.q, start, n * sizeof(double));
        return chain_eval(ch, ch->z.q, &ch->z.lp, ch->z.g);
    }
    char where[320];
    describe_point(d, start, where, sizeof where);
    return hcmc_error_set(&job->err, HCMC_ENUMERIC,
                          "chain %zu: the log density or its gradient is not finite "
                          "at the initial point (%s)%s",
                          job->id, where,
                          tries > 1 ? " nor at 99 jittered points around it" : "");
}

static int chain_alloc(chain *ch, size_t n, bool dense, int depth_max, top *T,
                       windowed *w)
{
    size_t nm = dense ? n * n : n;
    /* z(3) + levels (3 + 6 each) + tmp(1) + slice steps (2) + top (4 points =
     * 12, 12 vectors) + metric (inv, chol) + Welford (mean, m2, delta) */
    size_t nvec = 3 + (size_t)(depth_max + 1) * 9 + 1 + 2 + 12 + 12 + 3;
    ch->block = calloc(nvec * n + 3 * nm + 1, sizeof(double));
    if (!ch->block)
        return -1;
    double *b = ch->block;
#define TAKE(k) (b += (k), b - (k))
    ch->z.q = TAKE(n);
    ch->z.p = TAKE(n);
    ch->z.g = TAKE(n);
    for (int l = 0; l <= depth_max; l++) {
        level *L = &ch->lv[l];
        L->propose_final.q = TAKE(n);
        L->propose_final.p = TAKE(n);
        L->propose_final.g = TAKE(n);
        L->p_init_end = TAKE(n);
        L->p_sharp_init_end = TAKE(n);
        L->rho_init = TAKE(n);
        L->p_final_beg = TAKE(n);
        L->p_sharp_final_beg = TAKE(n);
        L->rho_final = TAKE(n);
    }
    ch->tmp = TAKE(n);
    ch->slice_q = TAKE(n);
    ch->slice_g = TAKE(n);
    ps_point *pts[4] = {&T->z_fwd, &T->z_bck, &T->z_sample, &T->z_propose};
    for (int i = 0; i < 4; i++) {
        pts[i]->q = TAKE(n);
        pts[i]->p = TAKE(n);
        pts[i]->g = TAKE(n);
    }
    double **vecs[12] = {&T->p_fwd_fwd,  &T->p_fwd_bck,  &T->p_bck_fwd,  &T->p_bck_bck,
                         &T->ps_fwd_fwd, &T->ps_fwd_bck, &T->ps_bck_fwd, &T->ps_bck_bck,
                         &T->rho,        &T->rho_fwd,    &T->rho_bck,    &T->rho_ext};
    for (int i = 0; i < 12; i++)
        *vecs[i] = TAKE(n);
    ch->m.inv = TAKE(nm);
    ch->m.chol = TAKE(nm);
    w->mean = TAKE(n);
    w->m2 = TAKE(nm);
#undef TAKE
    return 0;
}

static int report_progress(const hcmc_nuts_settings *s, hcmc_error *err, size_t c,
                           size_t it)
{
    if (s->progress && s->progress(s->progress_user, c, it))
        return hcmc_error_set(err, HCMC_ECANCELED,
                              "chain %zu: stopped at iteration %zu", c, it + 1);
    return 0;
}

/* Sampling transitions into D (its n of them, at the job's chain), the
 * first numbered it0 for progress. */
static int sample(chain_job *job, chain *ch, top *T, hcmc_nuts_draws *D, size_t it0)
{
    transition_stats st;
    for (size_t i = 0; i < D->n; i++) {
        transition(ch, T, &st);
        slice_steps(ch);
        record(ch, &st, D, job->c, i);
        int rc = report_progress(job->s, &job->err, job->id, it0 + i);
        if (rc)
            return rc;
    }
    return HCMC_OK;
}

/* One run of the chain from its start: warmup adapting the step size to
 * target acceptance delta, then sampling into the result. stream picks the
 * chain's momenta (HCMC_RNG_NUTS, or HCMC_RNG_NUTS_RERUN for the run
 * again). */
static int chain_run(chain_job *job, chain *ch, top *T, windowed *w, double *delta_scratch,
                     uint32_t stream, double delta)
{
    const hcmc_density *d = job->d;
    const hcmc_nuts_settings *s = job->s;
    hcmc_nuts_result *r = job->r;
    size_t n = d->dim, c = job->c, id = job->id;
    double t_start = hcmc_seconds();
    hcmc_rng_init(&ch->rng, s->seed, stream, s->shard, (uint32_t)id);
    ch->m.n = n;
    ch->m.dense = s->dense_mass;
    memset(ch->m.inv, 0, (s->dense_mass ? n * n : n) * sizeof(double));
    for (size_t k = 0; k < n; k++)
        ch->m.inv[s->dense_mass ? k * n + k : k] =
            job->init_cov ? job->init_cov[k * n + k] : 1.0;
    if (job->init_cov && s->dense_mass)
        memcpy(ch->m.inv, job->init_cov, n * n * sizeof(double));
    metric_factor(&ch->m);
    ch->eps = s->step_size;

    int rc = chain_start(ch, job, r->init + c * n);
    if (rc == 0)
        rc = init_stepsize(ch, &job->err, id);
    if (rc)
        return rc;

    dual_averaging da = {.delta = delta, .gamma = 0.05, .kappa = 0.75, .t0 = 10};
    da.mu = log(10 * ch->eps);
    da_restart(&da);
    win_init(w, (unsigned)s->num_warmup);
    transition_stats st;
    for (size_t i = 0; i < s->num_warmup; i++) {
        transition(ch, T, &st);
        slice_steps(ch);
        if (r->warmup.n)
            record(ch, &st, &r->warmup, c, i);
        if ((rc = report_progress(s, &job->err, id, i)))
            return rc;
        ch->eps = da_learn(&da, st.accept_stat);
        if (win_learn(w, &ch->m, ch->z.q, delta_scratch)) {
            if (metric_factor(&ch->m))
                return hcmc_error_set(&job->err, HCMC_ENUMERIC,
                                      "chain %zu: the adapted metric is not "
                                      "positive definite after warmup iteration %zu",
                                      id, i + 1);
            if ((rc = init_stepsize(ch, &job->err, id)))
                return rc;
            da.mu = log(10 * ch->eps);
            da_restart(&da);
        }
    }
    if (s->num_warmup > 0)
        ch->eps = exp(da.x_bar);
    double t_mid = hcmc_seconds();
    uint64_t grads_mid = ch->n_grad;
    if ((rc = sample(job, ch, T, &r->sampling, s->num_warmup)))
        return rc;
    job->sampling_s += hcmc_seconds() - t_mid;
    job->n_grad_sampling = ch->n_grad - grads_mid; /* the kept run's */
    job->warmup_s += t_mid - t_start;
    r->step_size[c] = ch->eps;
    size_t nm = s->dense_mass ? n * n : n;
    memcpy(r->inv_metric + c * nm, ch->m.inv, nm * sizeof(double));
    r->rng_end[c] = ch->rng;
    return HCMC_OK;
}

/* The chain of the result job->r from its last draw on, with its adapted
 * step size and metric and its stream where it stopped: the transitions a
 * longer run would have made next. */
static int chain_extend(chain_job *job, chain *ch, top *T)
{
    const hcmc_nuts_result *r = job->r;
    size_t n = ch->n, c = job->c, nm = r->dense ? n * n : n;
    double t0 = hcmc_seconds();
    ch->m.n = n;
    ch->m.dense = r->dense;
    memcpy(ch->m.inv, r->inv_metric + c * nm, nm * sizeof(double));
    if (metric_factor(&ch->m))
        return hcmc_error_set(&job->err, HCMC_ENUMERIC,
                              "chain %zu: its metric is not positive definite",
                              job->id);
    ch->eps = r->step_size[c];
    ch->rng = r->rng_end[c];
    memcpy(ch->z.q, r->sampling.z + (c * r->sampling.n + r->sampling.n - 1) * n,
           n * sizeof(double));
    if (chain_eval(ch, ch->z.q, &ch->z.lp, ch->z.g))
        return hcmc_error_set(
            &job->err, HCMC_ENUMERIC,
            "chain %zu: the log density is not finite at its last draw", job->id);
    uint64_t g0 = ch->n_grad;
    int rc = sample(job, ch, T, job->more, job->s->num_warmup + r->sampling.n);
    job->sampling_s = hcmc_seconds() - t0;
    job->n_grad_sampling = ch->n_grad - g0;
    job->rng_end = ch->rng;
    return rc;
}

static void *chain_main(void *arg)
{
    chain_job *job = arg;
    const hcmc_density *d = job->d;
    const hcmc_nuts_settings *s = job->s;
    hcmc_nuts_result *r = job->r;
    size_t n = d->dim, c = job->c, id = job->id;
    chain ch = {.d = d, .s = s, .n = n};
    top T;
    windowed w = {0};

    if (chain_alloc(&ch, n, s->dense_mass, s->max_tree_depth, &T, &w)) {
        job->rc =
            hcmc_error_set(&job->err, HCMC_ENOMEM, "chain %zu: out of memory", id);
        return NULL;
    }
    double *delta =
        T.rho_ext; /* Welford scratch; rho_ext is free between transitions */
    if (d->ws_new && !(ch.ws = d->ws_new(d->ctx))) {
        free(ch.block);
        job->rc =
            hcmc_error_set(&job->err, HCMC_ENOMEM, "chain %zu: out of memory", id);
        return NULL;
    }
    if (job->more) {
        job->rc = chain_extend(job, &ch, &T);
        goto out;
    }
    job->rc = chain_run(job, &ch, &T, &w, delta, HCMC_RNG_NUTS, s->target_accept);
    if (job->rc == 0 && s->rerun_divergent > 0) {
        size_t div = 0;
        for (size_t i = 0; i < s->num_samples; i++)
            div += r->sampling.diverging[c * s->num_samples + i];
        if ((double)div > s->rerun_divergent * (double)s->num_samples) {
            hcmc_log(HCMC_LOG_INFO,
                     "shard %u, chain %zu: %zu of %zu transitions divergent: run "
                     "again at target acceptance %g",
                     (unsigned)s->shard, id, div, s->num_samples,
                     s->rerun_target_accept);
            r->rerun[c] = 1;
            job->rc = chain_run(job, &ch, &T, &w, delta, HCMC_RNG_NUTS_RERUN,
                                s->rerun_target_accept);
        }
    }
out:
    job->n_grad = ch.n_grad;
    job->n_value = ch.n_value;
    if (d->ws_free && ch.ws)
        d->ws_free(ch.ws);
    free(ch.block);
    return NULL;
}

/* ---- the chains ----------------------------------------------------- */

static void draws_free(hcmc_nuts_draws *D)
{
    free(D->z);
    free(D->theta);
    free(D->lp);
    free(D->energy);
    free(D->step_size);
    free(D->accept_stat);
    free(D->tree_depth);
    free(D->n_steps);
    free(D->diverging);
}

static int draws_alloc(hcmc_nuts_draws *D, size_t chains, size_t n, size_t dim,
                       bool theta)
{
    size_t m = chains * n;
    D->n = n;
    if (m == 0)
        return 0;
    D->z = malloc(m * dim * sizeof(double));
    D->theta = theta ? malloc(m * dim * sizeof(double)) : NULL;
    D->lp = malloc(m * sizeof(double));
    D->energy = malloc(m * sizeof(double));
    D->step_size = malloc(m * sizeof(double));
    D->accept_stat = malloc(m * sizeof(double));
    D->tree_depth = malloc(m * sizeof(int));
    D->n_steps = malloc(m * sizeof(int));
    D->diverging = malloc(m);
    bool ok = D->z && (!theta || D->theta) && D->lp && D->energy && D->step_size &&
              D->accept_stat && D->tree_depth && D->n_steps && D->diverging;
    return ok ? 0 : -1;
}

void hcmc_nuts_result_free(hcmc_nuts_result *r)
{
    if (!r)
        return;
    draws_free(&r->sampling);
    draws_free(&r->warmup);
    free(r->step_size);
    free(r->inv_metric);
    free(r->init);
    free(r->rerun);
    free(r->rng_end);
    free(r);
}

size_t hcmc_nuts_divergences(const hcmc_nuts_result *r)
{
    size_t k = 0, m = r->num_chains * r->sampling.n;
    for (size_t i = 0; i < m; i++)
        k += r->sampling.diverging[i];
    return k;
}

static int check_settings(const hcmc_density *d, const hcmc_nuts_settings *s,
                          hcmc_error *err)
{
    if (!d || !d->eval || d->dim == 0)
        return hcmc_error_set(err, HCMC_EINVAL, "sampler: no density, or dimension 0");
    if (s->num_chains < 1 || s->num_chains > 1024)
        return hcmc_error_set(err, HCMC_EINVAL, "num_chains = %zu: expected 1 to 1024",
                              s->num_chains);
    if (s->chain_first + (s->chain_count ? s->chain_count : 1) > s->num_chains ||
        (!s->chain_count && s->chain_first))
        return hcmc_error_set(err, HCMC_EINVAL,
                              "chains %zu + %zu: outside the %zu chains of the run",
                              s->chain_first, s->chain_count, s->num_chains);
    if (s->num_samples < 1)
        return hcmc_error_set(err, HCMC_EINVAL, "num_samples must be at least 1");
    if (s->max_tree_depth < 1 || s->max_tree_depth > HCMC_NUTS_MAX_DEPTH)
        return hcmc_error_set(err, HCMC_EINVAL, "max_tree_depth = %d: expected 1 to %d",
                              s->max_tree_depth, HCMC_NUTS_MAX_DEPTH);
    if (!(s->target_accept > 0 && s->target_accept < 1))
        return hcmc_error_set(err, HCMC_EINVAL,
                              "target_accept_prob = %g: expected a value in (0, 1)",
                              s->target_accept);
    if (!(s->step_size > 0) || !isfinite(s->step_size))
        return hcmc_error_set(err, HCMC_EINVAL, "initial step size %g must be > 0",
                              s->step_size);
    if (!(s->max_delta_h > 0))
        return hcmc_error_set(err, HCMC_EINVAL, "max_delta_h must be > 0");
    if (!(s->rerun_divergent >= 0 && s->rerun_divergent <= 1))
        return hcmc_error_set(err, HCMC_EINVAL,
                              "rerun_divergent = %g: expected a share in [0, 1]",
                              s->rerun_divergent);
    if (s->rerun_divergent > 0 &&
        !(s->rerun_target_accept > 0 && s->rerun_target_accept < 1))
        return hcmc_error_set(err, HCMC_EINVAL,
                              "rerun target acceptance %g: expected a value in (0, 1)",
                              s->rerun_target_accept);
    if (!(s->init_radius >= 0) || !isfinite(s->init_radius))
        return hcmc_error_set(err, HCMC_EINVAL, "init_radius = %g must be >= 0",
                              s->init_radius);
    return HCMC_OK;
}

/* The chains of jobs, on threads where parallel; their counts into r (the
 * first error into err). */
static int run_jobs(chain_job *jobs, pthread_t *tid, size_t C, bool parallel,
                    hcmc_nuts_result *r, hcmc_error *err)
{
    size_t started = 0;
    if (parallel && C > 1) {
        for (; started < C; started++)
            if (pthread_create(&tid[started], NULL, chain_main, &jobs[started]))
                break;
        if (started < C)
            hcmc_log(HCMC_LOG_WARN,
                     "could start only %zu chain threads; the other "
                     "chains run one after another",
                     started);
    }
    for (size_t c = started; c < C; c++)
        chain_main(&jobs[c]);
    for (size_t c = 0; c < started; c++)
        pthread_join(tid[c], NULL);
    int rc = HCMC_OK;
    for (size_t c = 0; c < C; c++) {
        r->n_gradients += jobs[c].n_grad;
        r->n_values += jobs[c].n_value;
        r->n_gradients_sampling += jobs[c].n_grad_sampling;
        r->warmup_seconds += jobs[c].warmup_s;
        r->sampling_seconds += jobs[c].sampling_s;
        if (jobs[c].rc && !rc) {
            rc = jobs[c].rc;
            if (err)
                *err = jobs[c].err;
        }
    }
    return rc;
}

int hcmc_nuts_run(const hcmc_density *d, const hcmc_nuts_settings *s,
                  const double *init, const double *init_cov, hcmc_nuts_result **out,
                  hcmc_error *err)
{
    hcmc__blas_one_thread();
    *out = NULL;
    int rc = check_settings(d, s, err);
    if (rc)
        return rc;
    size_t n = d->dim, C = s->chain_count ? s->chain_count : s->num_chains,
           nm = s->dense_mass ? n * n : n;
    hcmc_nuts_result *r = calloc(1, sizeof *r);
    chain_job *jobs = calloc(C, sizeof *jobs);
    pthread_t *tid = calloc(C, sizeof *tid);
    double *chol = init_cov ? calloc(n * n, sizeof(double)) : NULL;
    if (!r || !jobs || !tid || (init_cov && !chol))
        goto nomem;
    if (init_cov) {
        metric mc = {.n = n, .dense = true, .inv = (double *)init_cov, .chol = chol};
        bool finite = true;
        for (size_t k = 0; k < n * n; k++)
            finite = finite && isfinite(init_cov[k]);
        if (!finite || metric_factor(&mc)) {
            free(jobs);
            free(tid);
            free(chol);
            hcmc_nuts_result_free(r);
            return hcmc_error_set(err, HCMC_EINVAL,
                                  "sampler: the initial covariance is not a finite "
                                  "positive definite matrix");
        }
    }
    r->dim = n;
    r->num_chains = C;
    r->dense = s->dense_mass;
    r->step_size = calloc(C, sizeof(double));
    r->inv_metric = calloc(C * nm, sizeof(double));
    r->init = calloc(C * n, sizeof(double));
    r->rerun = calloc(C, 1);
    r->rng_end = calloc(C, sizeof *r->rng_end);
    if (!r->step_size || !r->inv_metric || !r->init || !r->rerun || !r->rng_end ||
        draws_alloc(&r->sampling, C, s->num_samples, n, d->constrain != NULL) ||
        draws_alloc(&r->warmup, C, s->keep_warmup ? s->num_warmup : 0, n,
                    d->constrain != NULL))
        goto nomem;

    for (size_t c = 0; c < C; c++)
        jobs[c] = (chain_job){.d = d,
                              .s = s,
                              .init = init,
                              .init_cov = init_cov,
                              .init_chol = chol,
                              .r = r,
                              .c = c,
                              .id = s->chain_first + c};
    rc = run_jobs(jobs, tid, C, s->parallel, r, err);
    free(jobs);
    free(tid);
    free(chol);
    if (rc) {
        hcmc_nuts_result_free(r);
        return rc;
    }
    *out = r;
    return HCMC_OK;
nomem:
    free(jobs);
    free(tid);
    free(chol);
    hcmc_nuts_result_free(r);
    return hcmc_error_set(err, HCMC_ENOMEM, "sampler: out of memory for %zu chains",
                          s->num_chains);
}

/* Chain c's n draws of from, then m of more, into to (n + m a chain). */
static void draws_join(hcmc_nuts_draws *to, const hcmc_nuts_draws *from,
                       const hcmc_nuts_draws *more, size_t c, size_t dim)
{
    size_t n = from->n, m = more->n, a = c * to->n, b = a + n;
#define JOIN(f, w)                                                                     \
    do {                                                                               \
        if (to->f) {                                                                   \
            memcpy(to->f + a * (w), from->f + c * n * (w), n * (w) * sizeof *to->f);   \
            memcpy(to->f + b * (w), more->f + c * m * (w), m * (w) * sizeof *to->f);   \
        }                                                                              \
    } while (0)
    JOIN(z, dim);
    JOIN(theta, dim);
    JOIN(lp, 1);
    JOIN(energy, 1);
    JOIN(step_size, 1);
    JOIN(accept_stat, 1);
    JOIN(tree_depth, 1);
    JOIN(n_steps, 1);
    JOIN(diverging, 1);
#undef JOIN
}

int hcmc_nuts_extend(const hcmc_density *d, const hcmc_nuts_settings *s,
                     hcmc_nuts_result *r, size_t more, hcmc_error *err)
{
    hcmc__blas_one_thread();
    int rc = check_settings(d, s, err);
    if (rc)
        return rc;
    if (!r || !r->rng_end || r->sampling.n == 0 || r->dim != d->dim ||
        r->dense != s->dense_mass || more == 0)
        return hcmc_error_set(err, HCMC_EINVAL,
                              "sampler: no chains of this density to extend");
    size_t n = d->dim, C = r->num_chains;
    bool theta = r->sampling.theta != NULL;
    hcmc_nuts_draws add = {0}, all = {0};
    chain_job *jobs = calloc(C, sizeof *jobs);
    pthread_t *tid = calloc(C, sizeof *tid);
    if (!jobs || !tid || draws_alloc(&add, C, more, n, theta) ||
        draws_alloc(&all, C, r->sampling.n + more, n, theta)) {
        rc = hcmc_error_set(err, HCMC_ENOMEM, "sampler: out of memory for %zu draws",
                            C * (r->sampling.n + more));
        goto done;
    }
    for (size_t c = 0; c < C; c++)
        jobs[c] = (chain_job){
            .d = d, .s = s, .r = r, .c = c, .id = s->chain_first + c, .more = &add};
    /* the counts go to a copy: r stays as it was where a chain fails */
    hcmc_nuts_result counts = {0};
    if ((rc = run_jobs(jobs, tid, C, s->parallel, &counts, err)))
        goto done;
    for (size_t c = 0; c < C; c++) {
        draws_join(&all, &r->sampling, &add, c, n);
        r->rng_end[c] = jobs[c].rng_end;
    }
    draws_free(&r->sampling);
    r->sampling = all;
    all = (hcmc_nuts_draws){0};
    r->n_gradients += counts.n_gradients;
    r->n_values += counts.n_values;
    r->n_gradients_sampling += counts.n_gradients_sampling;
    r->sampling_seconds += counts.sampling_seconds;
done:
    draws_free(&add);
    draws_free(&all);
    free(jobs);
    free(tid);
    return rc;
}
