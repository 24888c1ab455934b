/* Using libhcmc directly: simulate a laminar_flow data set, build its points
 * table and the log-density target, and evaluate the log density and its
 * gradient at the true parameters.
 *
 *   cc evaluate_model.c -lhcmc -o evaluate_model   (or: built by CMake) */
#include <stdio.h>
#include <string.h>

#include "hcmc/hcmc.h"

int main(void)
{
    hcmc_error err = {0};
    hcmc_target_spec spec;
    hcmc_target_spec_defaults(&spec, HCMC_MODE_LAMINAR);
    spec.model.q = 0.0054; /* 1/Angstrom */
    spec.model.dt = 0.1;   /* s */
    spec.model.n_t = 100;  /* frames */

    const double phi[3] = {-30, 0, 30}, contrast[3] = {0.3, 0.3, 0.3},
                 offset[3] = {1, 1, 1};
    hcmc_synth_spec sim = {.model = spec.model,
                           .n_phi = 3,
                           .phi = phi,
                           .contrast = contrast,
                           .offset = offset,
                           .noise = 0.01,
                           .seed = 42,
                           .phys = {1000, -0.5, 10, 0.002, -0.3, 1e-4, 4}};
    hcmc_dataset ds;
    hcmc_points pts;
    hcmc_target *t;
    if (hcmc_synth_dataset(&sim, &ds, &err) ||
        hcmc_dataset_to_points(&ds, 1, -1, &pts, NULL, &err) ||
        hcmc_target_new(&spec, &pts, &t, &err)) {
        fprintf(stderr, "error: %s\n", err.msg);
        return 1;
    }
    size_t dim = hcmc_target_dim(t);
    double theta[16], z[16], grad[16], lp;
    memcpy(theta, sim.phys, 7 * sizeof *theta);
    theta[7] = 0.3;  /* contrast (one shared value: 3 angles, auto mode) */
    theta[8] = 1.0;  /* offset */
    theta[9] = 0.01; /* sigma */
    hcmc_target_ws *ws = hcmc_target_ws_new(t);
    if (!ws || hcmc_target_unconstrain(t, theta, z, &err) ||
        hcmc_target_eval(t, ws, z, &lp, grad, NULL)) {
        fprintf(stderr, "error: %s\n", ws ? err.msg : "out of memory");
        return 1;
    }
    printf("%zu points, %zu parameters, log density %.3f\n", pts.n, dim, lp);
    for (size_t k = 0; k < dim; k++)
        printf("  d lp / d z[%s] = %g\n", hcmc_target_param_name(t, k), grad[k]);
    hcmc_target_ws_free(ws);
    hcmc_target_free(t);
    hcmc_points_release(&pts);
    hcmc_dataset_release(&ds);
    return 0;
}
