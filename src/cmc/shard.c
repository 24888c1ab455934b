/* The problem and the shard task. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hcmc/cmc.h"
#include "hcmc/warmstart.h"
#include "hcmc/timing.h"

struct hcmc_problem {
    hcmc_target_spec spec; /* for the shards: K, fixed scaling, sigma scale */
    const hcmc_points *pts;
    hcmc_target *full; /* all points, the same settings */
    double *fixed;     /* [2 n_phi] contrast, offset for constant modes */
    double *z0, *cov0; /* warm start on all points; cov scaled by K */
    size_t dim;
};

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
    size_t np = hcmc_mode_nphys(spec->model.mode);
    bool any = false;
    for (size_t k = 0; init_phys && k < np; k++)
        any = any || !isnan(init_phys[k]);
    if (any) {
        double *theta = malloc(d * sizeof(double));
        if (!theta) {
            rc = hcmc_error_set(err, HCMC_ENOMEM, "problem: out of memory");
            goto fail;
        }
        for (size_t k = 0; k < d; k++)
            theta[k] = k < np ? init_phys[k] : NAN;
        rc = hcmc_initial_point(p->full, theta, p->z0, err);
        free(theta);
        if (rc)
            goto fail;
        guess = p->z0;
    }
    if ((rc = hcmc_warm_start(p->full, guess, 0, p->z0, p->cov0, NULL, err)))
        goto fail;
    /* a shard sees 1/K of the data: its posterior is about K times wider */
    for (size_t i = 0; i < d * d; i++)
        p->cov0[i] *= (double)p->spec.num_shards;
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

int hcmc_shard_run(const hcmc_problem *p, const hcmc_shard_plan *plan, size_t id,
                   const hcmc_nuts_settings *settings, hcmc_shard_result **out,
                   hcmc_error *err)
{
    *out = NULL;
    if (id >= plan->n_shards)
        return hcmc_error_set(err, HCMC_EINVAL, "shard %zu: the plan has %zu shards",
                              id, plan->n_shards);
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
        hcmc_density d = hcmc_density_from_target(t);
        hcmc_nuts_settings s = *settings;
        s.shard = (uint32_t)id;
        rc = hcmc_nuts_run(&d, &s, p->z0, p->cov0, &r->nuts, &e);
    }
    if (rc) {
        r->status = rc;
        snprintf(r->message, sizeof r->message, "%s", e.msg);
    } else {
        size_t C = r->nuts->num_chains, D = r->nuts->sampling.n, dim = r->nuts->dim;
        r->ess_bulk_min = INFINITY;
        for (size_t k = 0; k < dim; k++) {
            double rh = hcmc_rhat(r->nuts->sampling.z + k, C, D, dim);
            double eb = hcmc_ess_bulk(r->nuts->sampling.z + k, C, D, dim);
            r->rhat_max = fmax(r->rhat_max, isnan(rh) ? 0 : rh);
            r->ess_bulk_min = fmin(r->ess_bulk_min, isnan(eb) ? 0 : eb);
        }
    }
    hcmc_target_free(t);
    hcmc_points_release(&sub);
    r->seconds = hcmc_seconds() - t0;
    *out = r;
    return HCMC_OK;
}
