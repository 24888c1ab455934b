/* Model kernel benchmark: one log density + gradient per point, for every
 * kernel variant the CPU runs, against two floors measured in the same run:
 *   - transcendentals: a loop that reads the same per-point arrays and
 *     evaluates only the transcendentals the model needs per point (exp;
 *     exp, sin and cos) with the variant's vector functions;
 *   - bandwidth: a loop that only streams the same per-point arrays (two
 *     frame indices and the value, 12 bytes a point) and adds them up.
 * Data: 23 angles, N / 23 pairs (t1, t2) drawn at random from the full
 * upper triangle of the largest N (1 M by default), each with all its
 * angles, kept in the file's order: a CMC shard of that data set, as the
 * random plan deals it (a pair grid; HCMC_LAYOUT=angles times the kernel by
 * angle on the same points). Kernel and floors are timed alternately and
 * the best of several rounds is kept, so the ratios are measured under the
 * same machine conditions.
 *
 * usage: bench_model [N ...]   (default 10000 100000 1000000)
 * prints, for the variant chosen at run time:
 *         BENCH model.<mode>.ns_per_point.<N> <x> ns
 *         BENCH model.<mode>.value_ns_per_point.<N> <x> ns  (no gradient)
 *         BENCH model.<mode>.floor_ns_per_point.<N> <x> ns
 *         BENCH model.<mode>.floor_ratio[.<N>] <x> ratio  (unsuffixed: 1 M)
 *         BENCH model.<mode>.stream_ns_per_point.<N> <x> ns
 *         BENCH model.<mode>.bandwidth_ratio[.<N>] <x> ratio
 * and for every variant V (generic, avx2, avx512):
 *         BENCH model.<mode>.V.ns_per_point.<N>, .V.value_ns_per_point.<N>,
 *         .V.bandwidth_ratio.<N> */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hcmc/hcmc.h"
#include "kernel.h"
#include "hcmc/timing.h"

static volatile double sink;

/* The bandwidth floor: the per-point arrays read once and summed, four
 * points at a time (independent sums, so that only the loads limit it). */
static double stream(size_t n, const uint16_t *i, const uint16_t *j, const double *y)
{
    double s[4] = {0, 0, 0, 0};
    unsigned long t[4] = {0, 0, 0, 0};
    size_t k = 0;
    for (; k + 4 <= n; k += 4)
        for (int l = 0; l < 4; l++) {
            s[l] += y[k + l];
            t[l] += (unsigned long)i[k + l] + j[k + l];
        }
    for (; k < n; k++)
        s[0] += y[k] + i[k] + j[k];
    return (s[0] + s[1]) + (s[2] + s[3]) + (double)(t[0] + t[1] + t[2] + t[3]);
}

/* One of the timed calls: 0 density and gradient, 1 density only (the
 * importance correction's evaluations), 2 the transcendental floor, 3 the
 * stream floor. */
typedef struct {
    hcmc_target *t;
    hcmc_target_ws *ws;
    const double *z;
    double *g;
    hcmc__floor_fn floor;
    const hcmc_points *pts;
    double fa, fb;
    int what;
    double lp;
} timed_job;

static void call(timed_job *j)
{
    const hcmc_points *p = j->pts;
    switch (j->what) {
    case 0:
        hcmc_target_eval(j->t, j->ws, j->z, &j->lp, j->g, NULL);
        break;
    case 1:
        hcmc_target_eval(j->t, j->ws, j->z, &j->lp, NULL, NULL);
        break;
    case 2:
        sink = j->floor(p->n, p->i, p->j, p->y, j->fa, j->fb);
        break;
    default:
        sink = stream(p->n, p->i, p->j, p->y);
    }
}

/* Seconds per call, over as many calls as fill 0.08 s. */
static double seconds_per_call(timed_job *j)
{
    int reps = 0;
    double t0 = hcmc_seconds(), el;
    do {
        call(j);
        reps++;
    } while ((el = hcmc_seconds() - t0) < 0.08);
    return el / reps;
}

/* The variants to time: every one this CPU runs, chosen as hcmc_target_new
 * chooses them (HCMC_KERNEL). */
static const char *const variants[] = {"generic", "avx2", "avx512"};

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

static int run(hcmc_mode mode, size_t N, size_t N_full)
{
    const size_t n_phi = 23;
    size_t n_t = 3;
    while ((n_t - 1) * (n_t - 2) / 2 * n_phi < N_full)
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
    /* N / n_phi pairs at random, every angle of each, as the shard plan
     * deals the points of a full data set */
    size_t n_pairs = full.n / n_phi, m_pairs = (N + n_phi - 1) / n_phi;
    size_t *idx = malloc(full.n * sizeof *idx);
    for (size_t k = 0; k < n_pairs; k++)
        idx[k] = k;
    hcmc_rng r;
    hcmc_rng_init(&r, 7, HCMC_RNG_SHARD, 0, 0);
    for (size_t k = 0; k < m_pairs; k++) { /* partial Fisher-Yates */
        size_t m = k + (size_t)hcmc_rng_below(&r, n_pairs - k);
        size_t tmp = idx[k];
        idx[k] = idx[m];
        idx[m] = tmp;
    }
    qsort(idx, m_pairs, sizeof *idx, cmp_size); /* a shard keeps the file's order */
    for (size_t a = n_phi; a-- > 0;)
        for (size_t k = 0; k < m_pairs; k++)
            idx[a * m_pairs + k] = a * n_pairs + idx[k];
    const size_t label = N; /* the size asked for; N: the points it has */
    N = m_pairs * n_phi;
    if (hcmc_points_subset(&full, idx, N, &pts, &err)) {
        fprintf(stderr, "bench_model: %s\n", err.msg);
        return 1;
    }
    free(idx);
    const char *mn = mode == HCMC_MODE_LAMINAR ? "laminar" : "static";
    const hcmc__kernel *chosen = hcmc__kernel_select();
    const char *env = getenv("HCMC_KERNEL");
    char *saved = env ? strdup(env) : NULL;
    for (size_t v = 0; v < sizeof variants / sizeof *variants; v++) {
        setenv("HCMC_KERNEL", variants[v], 1);
        const hcmc__kernel *k = hcmc__kernel_select();
        if (strcmp(k->isa, variants[v]))
            continue; /* not run by this CPU or not built */
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
        hcmc__floor_fn floor =
            mode == HCMC_MODE_LAMINAR ? k->floor_laminar : k->floor_static;
        /* floor arguments span the model's: the decay exponent q^2 D0 lag and
         * the sinc argument X/2 = q L gdot lag / 2 at lag = (j - i) dt */
        double fa = spec.model.q * spec.model.q * truth[0] * spec.model.dt;
        double fb = 0.5 * spec.model.q * spec.model.L * truth[3] * spec.model.dt;
        timed_job job = {t, ws, z, g, floor, &pts, fa, fb, 0, 0.0};
        double best[4] = {INFINITY, INFINITY, INFINITY, INFINITY};
        for (int round = 0; round < 7; round++)
            for (int w = 0; w < 4; w++) { /* in turn, so that all share the state */
                job.what = w;
                best[w] = fmin(best[w], seconds_per_call(&job));
            }
        double best_k = best[0], best_v = best[1], best_f = best[2], best_s = best[3];
        lp = job.lp;
        double nk = 1e9 * best_k / (double)N, nf = 1e9 * best_f / (double)N;
        double nv = 1e9 * best_v / (double)N, ns = 1e9 * best_s / (double)N;
        printf("BENCH model.%s.%s.ns_per_point.%zu %.3f ns\n", mn, k->isa, label, nk);
        printf("BENCH model.%s.%s.value_ns_per_point.%zu %.3f ns\n", mn, k->isa, label,
               nv);
        printf("BENCH model.%s.%s.bandwidth_ratio.%zu %.2f ratio\n", mn, k->isa, label,
               nk / ns);
        if (k == chosen) {
            printf("BENCH model.%s.ns_per_point.%zu %.3f ns\n", mn, label, nk);
            printf("BENCH model.%s.value_ns_per_point.%zu %.3f ns\n", mn, label, nv);
            printf("BENCH model.%s.floor_ns_per_point.%zu %.3f ns\n", mn, label, nf);
            printf("BENCH model.%s.floor_ratio.%zu %.3f ratio\n", mn, label, nk / nf);
            printf("BENCH model.%s.stream_ns_per_point.%zu %.3f ns\n", mn, label, ns);
            printf("BENCH model.%s.bandwidth_ratio.%zu %.2f ratio\n", mn, label,
                   nk / ns);
            if (label == 1000000) {
                printf("BENCH model.%s.floor_ratio %.3f ratio\n", mn, nk / nf);
                printf("BENCH model.%s.bandwidth_ratio %.2f ratio\n", mn, nk / ns);
            }
        }
        fprintf(stderr, "# %s N=%zu n_t=%zu kernel=%s lp=%.6g\n", mn, N, n_t, k->isa, lp);
        fflush(stdout);
        hcmc_target_ws_free(ws);
        hcmc_target_free(t);
    }
    if (saved) {
        setenv("HCMC_KERNEL", saved, 1);
        free(saved);
    } else {
        unsetenv("HCMC_KERNEL");
    }
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
    size_t full = 0; /* every size is a shard of the largest data set */
    for (int s = 0; s < ns; s++)
        full = sizes[s] > full ? sizes[s] : full;
    int rc = 0;
    for (int m = 0; m < 2; m++)
        for (int s = 0; s < ns; s++)
            rc |= run(m ? HCMC_MODE_LAMINAR : HCMC_MODE_STATIC, sizes[s], full);
    return rc;
}
