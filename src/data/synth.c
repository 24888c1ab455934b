/* Synthetic data: c2 from the model at given parameters on every angle,
 * with Gaussian noise from the angle's own random stream (the same data
 * for a seed whatever the number of angles drawn before), for hcmc
 * simulate, the tests and the benchmarks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "hcmc/dataset.h"
#include "hcmc/rng.h"

int hcmc_synth_dataset(const hcmc_synth_spec *spec, hcmc_dataset *out, hcmc_error *err)
{
    const hcmc_model *m = &spec->model;
    int rc = hcmc_model_check(m, err);
    if (rc)
        return rc;
    if (!(spec->noise >= 0) || !isfinite(spec->noise))
        return hcmc_error_set(err, HCMC_EINVAL,
                              "noise sigma = %g must be finite and >= 0", spec->noise);
    for (size_t k = 0; k < hcmc_mode_nphys(m->mode); k++)
        if (!isfinite(spec->phys[k]))
            return hcmc_error_set(err, HCMC_EINVAL, "true %s is not finite",
                                  hcmc_phys_name((int)k));
    if ((rc = hcmc_dataset_init(out, spec->n_phi, m->n_t, err)))
        return rc;
    snprintf(out->source, sizeof out->source, "synthetic");
    out->q = m->q;
    out->L = m->L;
    out->dt = m->dt;
    double *CJ = malloc(2 * m->n_t * sizeof *CJ);
    if (!CJ) {
        hcmc_dataset_release(out);
        return hcmc_error_set(err, HCMC_ENOMEM, "out of memory");
    }
    double *CG = CJ + m->n_t;
    hcmc_model_integrals(m, spec->phys, CJ, CG);
    size_t n = m->n_t;
    for (size_t a = 0; a < spec->n_phi; a++) {
        out->phi[a] = spec->phi[a];
        double *M = hcmc_dataset_matrix(out, a);
        hcmc_rng rng;
        hcmc_rng_init(&rng, spec->seed, HCMC_RNG_SYNTH, (uint32_t)a, 0);
        for (size_t i = 0; i < n; i++)
            for (size_t j = i; j < n; j++) {
                double v = hcmc_model_c2(m, spec->phys, CJ, CG, spec->phi[a], i, j,
                                         spec->contrast[a], spec->offset[a]);
                if (spec->noise > 0)
                    v += spec->noise * hcmc_rng_normal(&rng);
                M[i * n + j] = v;
                M[j * n + i] = v;
            }
    }
    free(CJ);
    return HCMC_OK;
}
