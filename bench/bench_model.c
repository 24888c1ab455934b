/* Model kernel benchmark: one log density + gradient per point, against a
 * floor loop that reads the same per-point arrays and evaluates only the
 * transcendentals the model needs per point (exp; exp, sin and cos), with
 * the same vector functions. Data: 23 angles, a random subset of N points
 * of a full upper triangle (as a random shard is). Kernel and floor are
 * timed alternately and the best of several rounds is kept, so the ratio
 * is measured under the same machine conditions.
 *
 * usage: bench_model [N ...]   (default 10000 100000 1000000)
 * prints: BENCH model.<mode>.ns_per_point.<N> <x> ns
 *         BENCH model.<mode>.value_ns_per_point.<N> <x> ns  (no gradient)
 *         BENCH model.<mode>.floor_ns_per_point.<N> <x> ns
 *         BENCH model.<mode>.floor_ratio[.<N>] <x> ratio  (unsuffixed: 1 M) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hcmc/hcmc.h"
#include "kernel.h"
#include "hcmc/timing.h"

static volatile double sink;

static int run(hcmc_mode mode, size_t N)
{
    const size_t n_phi = 23;
    size_t n_t = 3;
    while ((n_t - 1) * (n_t - 2) / 2 * n_phi < N)
        n_t++;
    hcmc_target_spec spec;
    hcmc_target_spec_defaults(&spec, mode);
    spec.model.q = 0.0054;
    spec.model.dt = 0.1;
    spec.model.n_t = n_t;
    const double truth[7] = {1000.0, -0.5, 10.0, 0.002, -0.3, 1e-4, 4.0};
    double phi[23], con[23], off[23];
    for (size_t a = 0; a < n_phi; a++) {
        phi[a] = -90.0 + 180.0 * (double)a / (double)n_phi;
        con[a] = 0.3;
        off[a] = 1.0;
    }
    hcmc_synth_spec ss = {.model = spec.model,
                          .n_phi = n_phi,
                          .phi = phi,
                          .contrast = con,
                          .offset = off,
                          .noise = 0.01,
                          .seed = 1};
    memcpy(ss.phys, truth, sizeof truth);
    hcmc_error err;
    hcmc_dataset ds;
    hcmc_points full, pts;
    if (hcmc_synth_dataset(&ss, &ds, &err) ||
        hcmc_dataset_to_points(&ds, 1, -1, &full, NULL, &err)) {
        fprintf(stderr, "bench_model: %s\n", err.msg);
        return 1;
    }
    size_t *idx = malloc(full.n * sizeof *idx);
    for (size_t k = 0; k < full.n; k++)
        idx[k] = k;
    hcmc_rng r;
    hcmc_rng_init(&r, 7, HCMC_RNG_SHARD, 0, 0);
    for (size_t k = 0; k < N; k++) { /* partial Fisher-Yates */
        size_t m = k + (size_t)hcmc_rng_below(&r, full.n - k);
        size_t tmp = idx[k];
        idx[k] = idx[m];
        idx[m] = tmp;
    }
    if (hcmc_points_subset(&full, idx, N, &pts, &err)) {
        fprintf(stderr, "bench_model: %s\n", err.msg);
        return 1;
    }
    free(idx);
    hcmc_target *t;
    if (hcmc_target_new(&spec, &pts, &t, &err)) {
        fprintf(stderr, "bench_model: %s\n", err.msg);
        return 1;
    }
    size_t d = hcmc_target_dim(t);
    double th[16], z[16], g[16], lp;
    memcpy(th, truth, sizeof truth);
    size_t np = hcmc_mode_nphys(mode);
    th[np] = 0.3;
    th[np + 1] = 1.0;
    th[d - 1] = 0.01;
    hcmc_target_unconstrain(t, th, z, &err);
    hcmc_target_ws *ws = hcmc_target_ws_new(t);
    const hcmc__kernel *k = hcmc__kernel_select();
    hcmc__floor_fn floor =
        mode == HCMC_MODE_LAMINAR ? k->floor_laminar : k->floor_static;
    /* floor arguments span the model's: the decay exponent q^2 D0 lag and
     * the sinc argument X/2 = q L gdot lag / 2 at lag = (j - i) dt */
    double fa = spec.model.q * spec.model.q * truth[0] * spec.model.dt;
    double fb = 0.5 * spec.model.q * spec.model.L * truth[3] * spec.model.dt;
    double best_k = INFINITY, best_f = INFINITY, best_v = INFINITY;
    for (int round = 0; round < 7; round++) {
        int reps = 0;
        double t0 = hcmc_seconds(), el;
        do {
            hcmc_target_eval(t, ws, z, &lp, g, NULL);
            reps++;
        } while ((el = hcmc_seconds() - t0) < 0.08);
        best_k = fmin(best_k, el / reps);
        reps = 0;
        t0 = hcmc_seconds();
        do { /* value only: the importance correction's evaluations */
            hcmc_target_eval(t, ws, z, &lp, NULL, NULL);
            reps++;
        } while ((el = hcmc_seconds() - t0) < 0.08);
        best_v = fmin(best_v, el / reps);
        reps = 0;
        t0 = hcmc_seconds();
        do {
            sink = floor(pts.n, pts.i, pts.j, pts.y, fa, fb);
            reps++;
        } while ((el = hcmc_seconds() - t0) < 0.08);
        best_f = fmin(best_f, el / reps);
    }
    const char *mn = mode == HCMC_MODE_LAMINAR ? "laminar" : "static";
    double nk = 1e9 * best_k / (double)N, nf = 1e9 * best_f / (double)N;
    printf("BENCH model.%s.ns_per_point.%zu %.3f ns\n", mn, N, nk);
    printf("BENCH model.%s.value_ns_per_point.%zu %.3f ns\n", mn, N,
           1e9 * best_v / (double)N);
    printf("BENCH model.%s.floor_ns_per_point.%zu %.3f ns\n", mn, N, nf);
    printf("BENCH model.%s.floor_ratio.%zu %.3f ratio\n", mn, N, nk / nf);
    if (N == 1000000)
        printf("BENCH model.%s.floor_ratio %.3f ratio\n", mn, nk / nf);
    fprintf(stderr, "# %s N=%zu n_t=%zu kernel=%s lp=%.6g\n", mn, N, n_t, k->isa, lp);
    hcmc_target_ws_free(ws);
    hcmc_target_free(t);
    hcmc_points_release(&pts);
    hcmc_points_release(&full);
    hcmc_dataset_release(&ds);
    return 0;
}

int main(int argc, char **argv)
{
    size_t sizes[16] = {10000, 100000, 1000000};
    int ns = 3;
    if (argc > 1) {
        ns = 0;
        for (int a = 1; a < argc && ns < 16; a++)
            sizes[ns++] = (size_t)strtoull(argv[a], NULL, 10);
    }
    int rc = 0;
    for (int m = 0; m < 2; m++)
        for (int s = 0; s < ns; s++)
            rc |= run(m ? HCMC_MODE_LAMINAR : HCMC_MODE_STATIC, sizes[s]);
    return rc;
}
