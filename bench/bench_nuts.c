/* The per-shard engine on a 10 000-point laminar_flow shard (23 angles, 31
 * frames, tests/synth_problem.h, TruncatedNormal priors on bounds that
 * bracket the truth), sampled as `hcmc run` samples a shard
 * (hcmc_problem_new, hcmc_shard_run: warm start, law coordinates, default
 * settings: 500 warmup, 1500 draws, 4 chains, dense metric, target
 * acceptance 0.9 as MODEL.md asks for laminar_flow), over three sampler
 * seeds (42, 43, 44) of the same data.
 *
 *   BENCH nuts.laminar.grad_per_s     log density + gradient evaluations per
 *                                     s, one thread
 *   BENCH nuts.laminar.ess_per_s      min bulk ESS over parameters / sampling
 *                                     time, the median over the seeds
 *   BENCH nuts.laminar.ess_per_s_min  the least of them
 *   BENCH nuts.laminar.rhat_max       the largest R-hat over parameters, seeds
 *   BENCH nuts.laminar.shard_s        warmup + sampling, median over seeds
 *   BENCH nuts.laminar.warmup_grad_share the share of the gradients spent in
 *                                     warmup (all but the sampling
 *                                     iterations' gradients), median
 *   BENCH nuts.laminar.grads_per_draw gradients per iteration (warmup
 *                                     included), median over seeds
 *   BENCH nuts.laminar.values_per_draw evaluations without a gradient (slice
 *                                     steps) per iteration, median
 *
 * Chains run one after another (chain_method sequential: the same draws as
 * parallel) and sampling time is summed over them, as Stan reports it: one
 * core's worth, free of the contention of chains sharing the machine, so
 * that run_stan.R compares like with like.
 * `--export DIR` also writes the shard (shard.R), the law coordinates hcmc
 * chose (laws.R), and per seed S the chains' starting points (init_S.csv in
 * parameters, initz_S.csv in hcmc's coordinates with hcmc's log density
 * and its gradient there), 40 of its draws likewise (checkz_S.csv) and
 * hcmc's posterior
 * summary (hcmc_S.csv), for bench/stan/run_stan.R. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcmc/cmc.h"
#include "hcmc/diagnostics.h"
#include "hcmc/nuts.h"
#include "hcmc/timing.h"
#include "synth_problem.h"

enum { NSEED = 3, SEED0 = 42 };

static void rdump_vec(FILE *f, const char *name, const double *v, size_t n)
{
    fprintf(f, "%s <- c(", name);
    for (size_t k = 0; k < n; k++)
        fprintf(f, "%s%.17g", k ? "," : "", v[k]);
    fprintf(f, ")\n");
}

static FILE *open_in(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return fopen(path, "w");
}

/* The shard and the law coordinates of the problem. */
static int export_shard(const char *dir, const synth_problem *p, const hcmc_target *t)
{
    const hcmc_points *pts = &p->pts;
    FILE *f = open_in(dir, "shard.R");
    if (!f)
        return -1;
    fprintf(f, "N <- %zu\nn_t <- %zu\nn_phi <- %zu\n", pts->n, pts->n_t, pts->n_phi);
    fprintf(f, "q <- %.17g\nL <- %.17g\ndt <- %.17g\n", p->spec.model.q,
            p->spec.model.L, p->spec.model.dt);
    const char *names[3] = {"ii", "jj", "aa"};
    for (int v = 0; v < 3; v++) {
        fprintf(f, "%s <- c(", names[v]);
        for (size_t a = 0; a < pts->n_phi; a++)
            for (size_t k = pts->angle_start[a]; k < pts->angle_start[a + 1]; k++) {
                /* 1-based frame rows of the tables and angle numbers */
                long x = v == 0 ? (long)pts->i[k] + 1 : v == 1 ? (long)pts->j[k] + 1
                                                               : (long)a + 1;
                fprintf(f, "%s%ld", k ? "," : "", x);
            }
        fprintf(f, ")\n");
    }
    rdump_vec(f, "y", pts->y, pts->n);
    rdump_vec(f, "phi", pts->phi, pts->n_phi);
    size_t dim = hcmc_target_dim(t);
    double lo[16], hi[16];
    for (size_t k = 0; k + 1 < dim; k++)
        hcmc_target_bounds(t, k, &lo[k], &hi[k]);
    rdump_vec(f, "lo", lo, dim - 1);
    rdump_vec(f, "hi", hi, dim - 1);
    double s_y;
    hcmc_points_noise_scale(pts, &s_y, NULL);
    fprintf(f, "sigma_scale <- %.17g\n", 1.5 * s_y);
    if (fclose(f))
        return -1;

    /* laminar_laws.stan codes both laws at coordinates 0 and 3 */
    const hcmc_coords *c = hcmc_target_coords(t);
    if (c->nlaw != 2 || c->law_at[0] != 0 || c->law_at[1] != 3) {
        fprintf(stderr, "bench_nuts: the shard's laws are not both in law coordinates\n");
        return -1;
    }
    if (!(f = open_in(dir, "laws.R")))
        return -1;
    int kind[2];
    for (size_t l = 0; l < 2; l++) /* laminar_laws.stan: 1 shape, 2 rates, 3 slope */
        kind[l] = c->law[l].kind == HCMC_LAW_RATES   ? 2
                  : c->law[l].kind == HCMC_LAW_SLOPE ? 3
                                                     : 1;
    fprintf(f, "law_kind <- c(%d, %d)\n", kind[0], kind[1]);
    double t_max = (double)(p->spec.model.n_t - 1) * p->spec.model.dt;
    double w[2] = {c->law[0].w, c->law[1].w}, tk[3] = {t_max / 16, t_max / 4, t_max};
    double t_r[2] = {c->law[0].t_r, c->law[1].t_r};
    rdump_vec(f, "law_t_r", t_r, 2);
    rdump_vec(f, "law_w", w, 2);
    rdump_vec(f, "t_rates", tk, 3);
    return fclose(f) ? -1 : 0;
}

/* Points z (rows of dim) with hcmc's log density and its gradient there,
 * under a header R skips, for run_stan.R to check laminar_laws.stan. */
static int write_z(const char *dir, const char *name, const hcmc_target *t,
                   const double *z, size_t rows)
{
    size_t dim = hcmc_target_dim(t);
    FILE *f = open_in(dir, name);
    hcmc_target_ws *ws = hcmc_target_ws_new(t);
    if (!f || !ws || dim > 16) {
        if (f)
            fclose(f);
        hcmc_target_ws_free(ws);
        return -1;
    }
    fprintf(f, "z...,lp,grad...\n");
    for (size_t i = 0; i < rows; i++) {
        double lp, g[16];
        const double *zi = z + i * dim;
        if (hcmc_target_eval(t, ws, zi, &lp, g, NULL)) {
            lp = NAN;
            for (size_t k = 0; k < dim; k++)
                g[k] = NAN;
        }
        for (size_t k = 0; k < dim; k++)
            fprintf(f, "%.17g,", zi[k]);
        fprintf(f, "%.17g", lp);
        for (size_t k = 0; k < dim; k++)
            fprintf(f, ",%.17g", g[k]);
        fprintf(f, "\n");
    }
    hcmc_target_ws_free(ws);
    return fclose(f) ? -1 : 0;
}

/* One seed's starting points, 40 of its draws and hcmc's summary. */
static int export_seed(const char *dir, int seed, const hcmc_target *t,
                       const hcmc_nuts_result *r, const hcmc_param_summary *sum,
                       double ess_per_s)
{
    size_t dim = hcmc_target_dim(t), G = r->num_chains * r->sampling.n;
    char name[64];
    snprintf(name, sizeof name, "init_%d.csv", seed);
    FILE *f = open_in(dir, name);
    if (!f)
        return -1;
    for (size_t k = 0; k < dim; k++)
        fprintf(f, "%s%s", k ? "," : "", hcmc_target_param_name(t, k));
    fprintf(f, "\n");
    for (size_t ch = 0; ch < r->num_chains; ch++) {
        double th[16];
        hcmc_target_constrain(t, r->init + ch * dim, th);
        for (size_t k = 0; k < dim; k++)
            fprintf(f, "%s%.17g", k ? "," : "", th[k]);
        fprintf(f, "\n");
    }
    if (fclose(f))
        return -1;
    snprintf(name, sizeof name, "initz_%d.csv", seed);
    if (write_z(dir, name, t, r->init, r->num_chains))
        return -1;
    enum { NCHECK = 40 };
    double *draws = malloc(NCHECK * dim * sizeof(double));
    for (size_t i = 0; draws && i < NCHECK; i++)
        memcpy(draws + i * dim, r->sampling.z + (i * G / NCHECK) * dim, dim * sizeof(double));
    snprintf(name, sizeof name, "checkz_%d.csv", seed);
    int bad = !draws || write_z(dir, name, t, draws, NCHECK);
    free(draws);
    if (bad)
        return -1;
    snprintf(name, sizeof name, "hcmc_%d.csv", seed);
    if (!(f = open_in(dir, name)))
        return -1;
    fprintf(f, "param,mean,sd,ess_bulk,ess_tail,rhat,ess_per_s\n");
    for (size_t k = 0; k < dim; k++)
        fprintf(f, "%s,%.10g,%.10g,%.1f,%.1f,%.5f,%.6g\n", hcmc_target_param_name(t, k),
                sum[k].mean, sum[k].sd, sum[k].ess_bulk, sum[k].ess_tail, sum[k].rhat,
                ess_per_s);
    return fclose(f) ? -1 : 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median3(const double v[NSEED])
{
    double s[NSEED];
    memcpy(s, v, sizeof s);
    qsort(s, NSEED, sizeof s[0], cmp_double);
    return s[NSEED / 2];
}

int main(int argc, char **argv)
{
    const char *export_dir = argc == 3 && !strcmp(argv[1], "--export") ? argv[2] : NULL;
    if (argc > 1 && !export_dir) {
        fprintf(stderr, "usage: bench_nuts [--export DIR]\n");
        return 2;
    }
    synth_problem p;
    if (synth_problem_make(&p, HCMC_MODE_LAMINAR, 23, 31, HCMC_SCALING_AUTO, 0.02, 42,
                           NULL, synth_bounds))
        return 1;
    hcmc_error err;
    hcmc_shard_plan *plan = NULL;
    hcmc_problem *prob = NULL;
    if (hcmc_shard_plan_make(&p.pts, HCMC_STRATEGY_RANDOM, 1, 0, 1, HCMC_MODE_LAMINAR, 3,
                             &plan, &err) ||
        hcmc_problem_new(&p.spec, &p.pts, 1, NULL, &prob, &err)) {
        fprintf(stderr, "bench_nuts: %s\n", err.msg);
        return 1;
    }
    const hcmc_target *t = hcmc_problem_target(prob);
    size_t dim = hcmc_target_dim(t);

    /* gradient evaluations per second, one thread, at the truth */
    double z[16], g[16], th[16], lp, el;
    hcmc_target_ws *ws = hcmc_target_ws_new(t);
    for (size_t k = 0; k < dim; k++)
        th[k] = synth_problem_true(&p, k);
    if (!ws || hcmc_target_unconstrain(t, th, z, &err)) {
        fprintf(stderr, "bench_nuts: the truth has no coordinates\n");
        return 1;
    }
    long reps = 0;
    double t0 = hcmc_seconds();
    do {
        hcmc_target_eval(t, ws, z, &lp, g, NULL);
        reps++;
    } while ((el = hcmc_seconds() - t0) < 1.0);
    hcmc_target_ws_free(ws);
    printf("laminar_flow shard: %zu points, %zu angles, %zu parameters, kernel %s\n",
           p.pts.n, p.pts.n_phi, dim, hcmc_target_kernel_name(t));

    int rc = 0;
    if (export_dir && export_shard(export_dir, &p, t)) {
        fprintf(stderr, "bench_nuts: cannot write the shard to %s\n", export_dir);
        rc = 1;
    }
    double ess_s[NSEED], shard_s[NSEED], gpd[NSEED], vpd[NSEED], warm_share[NSEED],
        rhat_max = 0;
    for (int i = 0; i < NSEED; i++) {
        hcmc_nuts_settings s;
        hcmc_nuts_settings_defaults(&s);
        s.target_accept = 0.9;
        s.parallel = false;
        s.seed = SEED0 + (uint64_t)i;
        hcmc_shard_result *res = NULL;
        if (hcmc_shard_run(prob, plan, 0, &s, &res, &err) || res->status) {
            fprintf(stderr, "bench_nuts: seed %d: %s\n", SEED0 + i,
                    res ? res->message : err.msg);
            return 1;
        }
        const hcmc_nuts_result *r = res->nuts;
        size_t C = r->num_chains, D = r->sampling.n, S = C * D;
        hcmc_param_summary sum[16];
        double min_ess = INFINITY, depth = 0;
        for (size_t k = 0; k < dim; k++) {
            hcmc_param_summarise(r->sampling.theta + k, C, D, dim, &sum[k]);
            min_ess = fmin(min_ess, sum[k].ess_bulk);
            rhat_max = fmax(rhat_max, sum[k].rhat);
        }
        for (size_t j = 0; j < S; j++)
            depth += r->sampling.tree_depth[j];
        ess_s[i] = min_ess / r->sampling_seconds;
        shard_s[i] = r->warmup_seconds + r->sampling_seconds;
        gpd[i] = (double)r->n_gradients / (double)(C * (s.num_warmup + s.num_samples));
        warm_share[i] = 1 - (double)r->n_gradients_sampling / (double)r->n_gradients;
        vpd[i] = (double)r->n_values / (double)(C * (s.num_warmup + s.num_samples));
        printf("seed %d: warmup %.1f s, sampling %.1f s (summed over %zu chains), mean "
               "tree depth %.2f, step %.3g, %zu divergences, R-hat max %.4f, min bulk "
               "ESS %.0f, %.1f ESS/s\n",
               SEED0 + i, r->warmup_seconds, r->sampling_seconds, C, depth / (double)S,
               r->step_size[0], hcmc_nuts_divergences(r), res->rhat_max, min_ess, ess_s[i]);
        if (i == 0) {
            printf("%-20s %12s %10s %9s %9s %8s\n", "parameter", "mean", "sd", "ess_bulk",
                   "ess_tail", "rhat");
            for (size_t k = 0; k < dim; k++)
                printf("%-20s %12.6g %10.4g %9.0f %9.0f %8.4f\n",
                       hcmc_target_param_name(t, k), sum[k].mean, sum[k].sd,
                       sum[k].ess_bulk, sum[k].ess_tail, sum[k].rhat);
        }
        if (export_dir && export_seed(export_dir, SEED0 + i, t, r, sum, ess_s[i])) {
            fprintf(stderr, "bench_nuts: cannot write seed %d to %s\n", SEED0 + i,
                    export_dir);
            rc = 1;
        }
        hcmc_shard_result_free(res);
    }
    double ess_min = ess_s[0];
    for (int i = 1; i < NSEED; i++)
        ess_min = fmin(ess_min, ess_s[i]);
    printf("BENCH nuts.laminar.grad_per_s %.0f 1/s\n", (double)reps / el);
    printf("BENCH nuts.laminar.ess_per_s %.2f 1/s\n", median3(ess_s));
    printf("BENCH nuts.laminar.ess_per_s_min %.2f 1/s\n", ess_min);
    printf("BENCH nuts.laminar.rhat_max %.4f 1\n", rhat_max);
    printf("BENCH nuts.laminar.shard_s %.2f s\n", median3(shard_s));
    printf("BENCH nuts.laminar.grads_per_draw %.1f 1\n", median3(gpd));
    printf("BENCH nuts.laminar.values_per_draw %.1f 1\n", median3(vpd));
    printf("BENCH nuts.laminar.warmup_grad_share %.3f 1\n", median3(warm_share));
    hcmc_problem_free(prob);
    hcmc_shard_plan_free(plan);
    synth_problem_free(&p);
    return rc;
}
