/* A synthetic XPCS problem shared by the sampler tests and benchmarks:
 * n_phi angles evenly over (-90, 90] degrees, n_t frames of dt = 0.1 s at
 * q = 0.0054 1/A, parameters chosen so that the diffusive decay (to about
 * exp(-2)) and the shear decorrelation (X up to about 7 along the flow)
 * both show within the window, default bounds and priors (MODEL.md 4). */
#ifndef HCMC_TESTS_SYNTH_PROBLEM_H
#define HCMC_TESTS_SYNTH_PROBLEM_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcmc/dataset.h"
#include "hcmc/target.h"

typedef struct synth_problem {
    hcmc_target_spec spec;
    hcmc_dataset ds;
    hcmc_points pts;
    hcmc_target *t;
    double truth[HCMC_NPHYS_MAX];
    double contrast, offset, noise;
} synth_problem;

static const double synth_truth[HCMC_NPHYS_MAX] = {2e4,  -0.5, 100.0, 2e-4,
                                                   -0.3, 1e-5, 4.0};

/* Bounds suited to synth_truth: wide enough to be uninformative, narrow
 * enough that the scaled logit is nearly linear over the posterior. With
 * MODEL.md's default bounds (gamma_dot_t0 in [1e-6, 0.5]) the logit acts as
 * a log at the truth and bends the linear gamma_dot_t0 / gamma_dot_t_offset
 * ridge into a banana. */
static const double synth_bounds[HCMC_NPHYS_MAX][2] = {
    {1e3, 1e5},  {-1.5, 1.0},   {-1e4, 1e4},  {1e-5, 2e-3},
    {-1.5, 1.0}, {-2e-4, 2e-4}, {-10.0, 10.0}};

/* truth: physical parameters (NULL: synth_truth); bounds: NULL for
 * MODEL.md's defaults, else [nphys][2] with TruncatedNormal priors. Returns
 * 0, or prints the error and returns -1. */
static int synth_problem_make(synth_problem *p, hcmc_mode mode, size_t n_phi,
                              size_t n_t, hcmc_scaling_mode scaling, double noise,
                              uint64_t seed, const double *truth,
                              const double (*bounds)[2])
{
    memset(p, 0, sizeof *p);
    hcmc_target_spec_defaults(&p->spec, mode);
    p->spec.model.q = 0.0054;
    p->spec.model.dt = 0.1;
    p->spec.model.n_t = n_t;
    p->spec.scaling = scaling;
    for (size_t k = 0; bounds && k < hcmc_mode_nphys(mode); k++)
        if (hcmc_prior_init(&p->spec.phys[k], HCMC_PRIOR_TRUNCATED_NORMAL, bounds[k][0],
                            bounds[k][1], NAN, NAN, hcmc_phys_name((int)k), NULL))
            return -1;
    memcpy(p->truth, truth ? truth : synth_truth, sizeof p->truth);
    p->contrast = 0.3;
    p->offset = 1.0;
    p->noise = noise;
    double *phi = malloc(3 * n_phi * sizeof(double)), *con = phi + n_phi,
           *off = phi + 2 * n_phi;
    if (!phi)
        return -1;
    for (size_t a = 0; a < n_phi; a++) {
        phi[a] = -90.0 + 180.0 * (double)(a + 1) / (double)n_phi;
        con[a] = p->contrast;
        off[a] = p->offset;
    }
    hcmc_synth_spec ss = {.model = p->spec.model,
                          .n_phi = n_phi,
                          .phi = phi,
                          .contrast = con,
                          .offset = off,
                          .noise = noise,
                          .seed = seed};
    memcpy(ss.phys, p->truth, sizeof p->truth);
    hcmc_error e;
    int rc = hcmc_synth_dataset(&ss, &p->ds, &e) ||
             hcmc_dataset_to_points(&p->ds, 1, -1, &p->pts, NULL, &e) ||
             hcmc_target_new(&p->spec, &p->pts, &p->t, &e);
    free(phi);
    if (rc) {
        fprintf(stderr, "synthetic problem: %s\n", e.msg);
        return -1;
    }
    return 0;
}

static void synth_problem_free(synth_problem *p)
{
    hcmc_target_free(p->t);
    hcmc_points_release(&p->pts);
    hcmc_dataset_release(&p->ds);
}

/* True value of sampled coordinate k in constrained units (sigma: noise). */
__attribute__((unused)) static double synth_problem_true(const synth_problem *p,
                                                         size_t k)
{
    const char *name = hcmc_target_param_name(p->t, k);
    int ph = hcmc_phys_index(name);
    if (ph >= 0)
        return p->truth[ph];
    if (!strncmp(name, "contrast", 8))
        return p->contrast;
    if (!strncmp(name, "offset", 6))
        return p->offset;
    return p->noise;
}

#endif
