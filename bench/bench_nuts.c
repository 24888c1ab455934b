/* The per-shard engine on a 10 000-point laminar_flow shard (23 angles, 31
 * frames, tests/synth_problem.h), default sampler settings (500 warmup,
 * 1500 draws, 4 chains, dense metric, target acceptance 0.9 as MODEL.md
 * asks for laminar_flow).
 *
 *   BENCH nuts.laminar.grad_per_s    log density + gradient evaluations per s, one
 * thread BENCH nuts.laminar.ess_per_s     min bulk ESS over parameters / sampling time
 *   BENCH nuts.laminar.shard_s       warm start + warmup + sampling, wall clock
 *   BENCH nuts.laminar.rates.*       the same shard as hcmc run samples it, in
 *                                    reference-rate coordinates (hcmc_shard_run),
 *                                    and its ESS/s over the above's
 *
 * Chains run one after another (chain_method sequential: the same draws as
 * parallel) and sampling time is summed over them, as Stan reports it: one
 * core's worth, free of the contention of chains sharing the machine, so
 * that run_stan.R (which also runs its chains one at a time) compares like
 * with like.
 * `--export DIR` also writes the shard, the chains' starting points and
 * hcmc's posterior summary for bench/stan/run_stan.R. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hcmc/cmc.h"
#include "hcmc/diagnostics.h"
#include "hcmc/nuts.h"
#include "hcmc/warmstart.h"
#include "synth_problem.h"
#include "hcmc/timing.h"

static void rdump_vec(FILE *f, const char *name, const double *v, size_t n)
{
    fprintf(f, "%s <- c(", name);
    for (size_t k = 0; k < n; k++)
        fprintf(f, "%s%.17g", k ? "," : "", v[k]);
    fprintf(f, ")\n");
}

static int export_shard(const char *dir, const synth_problem *p,
                        const hcmc_nuts_result *r, const hcmc_param_summary *sum,
                        double ess_per_s)
{
    char path[1024];
    const hcmc_points *pts = &p->pts;
    snprintf(path, sizeof path, "%s/shard.R", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "N <- %zu\nn_t <- %zu\nn_phi <- %zu\n", pts->n, pts->n_t, pts->n_phi);
    fprintf(f, "q <- %.17g\nL <- %.17g\ndt <- %.17g\n", p->spec.model.q,
            p->spec.model.L, p->spec.model.dt);
    int *ia = malloc(3 * pts->n * sizeof(int));
    double *tmp = malloc(pts->n * sizeof(double));
    const char *names[3] = {"ii", "jj", "aa"};
    for (size_t a = 0; a < pts->n_phi; a++)
        for (size_t k = pts->angle_start[a]; k < pts->angle_start[a + 1]; k++) {
            ia[k] = pts->i[k] + 1; /* 1-based frame rows of the tables */
            ia[pts->n + k] = pts->j[k] + 1;
            ia[2 * pts->n + k] = (int)a + 1;
        }
    for (int v = 0; v < 3; v++) {
        fprintf(f, "%s <- c(", names[v]);
        for (size_t k = 0; k < pts->n; k++)
            fprintf(f, "%s%d", k ? "," : "", ia[v * pts->n + k]);
        fprintf(f, ")\n");
    }
    rdump_vec(f, "y", pts->y, pts->n);
    rdump_vec(f, "phi", pts->phi, pts->n_phi);
    size_t dim = hcmc_target_dim(p->t);
    double lo[16], hi[16];
    for (size_t k = 0; k + 1 < dim; k++)
        hcmc_target_bounds(p->t, k, &lo[k], &hi[k]);
    rdump_vec(f, "lo", lo, dim - 1);
    rdump_vec(f, "hi", hi, dim - 1);
    double s_y;
    hcmc_points_noise_scale(pts, &s_y, NULL);
    fprintf(f, "sigma_scale <- %.17g\n", 1.5 * s_y);
    fclose(f);
    free(ia);
    free(tmp);

    /* the chains' starting points, constrained */
    snprintf(path, sizeof path, "%s/init.csv", dir);
    if (!(f = fopen(path, "w")))
        return -1;
    for (size_t k = 0; k < dim; k++)
        fprintf(f, "%s%s", k ? "," : "", hcmc_target_param_name(p->t, k));
    fprintf(f, "\n");
    for (size_t c = 0; c < r->num_chains; c++) {
        double th[16];
        hcmc_target_constrain(p->t, r->init + c * dim, th);
        for (size_t k = 0; k < dim; k++)
            fprintf(f, "%s%.17g", k ? "," : "", th[k]);
        fprintf(f, "\n");
    }
    fclose(f);

    snprintf(path, sizeof path, "%s/hcmc_summary.csv", dir);
    if (!(f = fopen(path, "w")))
        return -1;
    fprintf(f, "param,mean,sd,ess_bulk,rhat,ess_per_s\n");
    for (size_t k = 0; k < dim; k++)
        fprintf(f, "%s,%.10g,%.10g,%.1f,%.5f,%.6g\n", hcmc_target_param_name(p->t, k),
                sum[k].mean, sum[k].sd, sum[k].ess_bulk, sum[k].rhat, ess_per_s);
    fclose(f);
    return 0;
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
    size_t dim = hcmc_target_dim(p.t);
    hcmc_error err;

    /* gradient evaluations per second, one thread */
    double *z = calloc((3 + dim) * dim, sizeof(double)), *g = z + dim,
           *cov = z + 2 * dim;
    hcmc_target_ws *ws = hcmc_target_ws_new(p.t);
    double th[16];
    for (size_t k = 0; k < dim; k++)
        th[k] = synth_problem_true(&p, k);
    hcmc_target_unconstrain(p.t, th, z, &err);
    double lp, t0 = hcmc_seconds(), el;
    long reps = 0;
    do {
        hcmc_target_eval(p.t, ws, z, &lp, g, NULL);
        reps++;
    } while ((el = hcmc_seconds() - t0) < 1.0);
    hcmc_target_ws_free(ws);

    hcmc_warm_start_info wi;
    double t_shard = hcmc_seconds();
    if (hcmc_warm_start(p.t, NULL, 0, z, cov, &wi, &err)) {
        fprintf(stderr, "warm start: %s\n", err.msg);
        return 1;
    }
    hcmc_density d = hcmc_density_from_target(p.t);
    hcmc_nuts_settings s;
    hcmc_nuts_settings_defaults(&s);
    s.target_accept = 0.9;
    s.parallel = false;
    hcmc_nuts_result *r;
    if (hcmc_nuts_run(&d, &s, z, cov, &r, &err)) {
        fprintf(stderr, "sampler: %s\n", err.msg);
        return 1;
    }
    t_shard = hcmc_seconds() - t_shard;

    size_t C = r->num_chains, D = r->sampling.n, S = C * D;
    hcmc_param_summary sum[16];
    double min_ess = INFINITY, depth = 0;
    for (size_t k = 0; k < dim; k++) {
        hcmc_param_summarise(r->sampling.theta + k, C, D, dim, &sum[k]);
        min_ess = fmin(min_ess, sum[k].ess_bulk);
    }
    for (size_t i = 0; i < S; i++)
        depth += r->sampling.tree_depth[i];
    double ess_per_s = min_ess / r->sampling_seconds;

    printf("laminar_flow shard: %zu points, %zu angles, %zu parameters, kernel %s\n",
           p.pts.n, p.pts.n_phi, dim, hcmc_target_kernel_name(p.t));
    printf(
        "warm start %.2f s (%d LM runs); warmup %.1f s, sampling %.1f s (summed over "
        "%zu chains); mean tree depth %.2f, step %.3g, %zu divergences\n",
        wi.seconds, wi.starts, r->warmup_seconds, r->sampling_seconds, C,
        depth / (double)S, r->step_size[0], hcmc_nuts_divergences(r));
    printf("%-20s %12s %10s %9s %8s\n", "parameter", "mean", "sd", "ess_bulk", "rhat");
    for (size_t k = 0; k < dim; k++)
        printf("%-20s %12.6g %10.4g %9.0f %8.4f\n", hcmc_target_param_name(p.t, k),
               sum[k].mean, sum[k].sd, sum[k].ess_bulk, sum[k].rhat);
    printf("BENCH nuts.laminar.grad_per_s %.0f 1/s\n", (double)reps / el);
    printf("BENCH nuts.laminar.ess_per_s %.2f 1/s\n", ess_per_s);
    printf("BENCH nuts.laminar.shard_s %.2f s\n", t_shard);
    printf("BENCH nuts.laminar.grads_per_draw %.1f 1\n",
           (double)r->n_gradients / (double)(C * (s.num_warmup + s.num_samples)));

    /* the same shard as hcmc run samples it: in reference rates */
    hcmc_shard_plan *plan = NULL;
    hcmc_problem *prob = NULL;
    hcmc_shard_result *res = NULL;
    if (hcmc_shard_plan_make(&p.pts, HCMC_STRATEGY_RANDOM, 1, 0, 1, HCMC_MODE_LAMINAR, 3,
                             &plan, &err) ||
        hcmc_problem_new(&p.spec, &p.pts, 1, NULL, &prob, &err) ||
        hcmc_shard_run(prob, plan, 0, &s, &res, &err) || res->status) {
        fprintf(stderr, "shard in reference rates: %s\n", res ? res->message : err.msg);
        return 1;
    }
    double min_ess_w = INFINITY, depth_w = 0;
    for (size_t k = 0; k < dim; k++) {
        hcmc_param_summary sw;
        hcmc_param_summarise(res->nuts->sampling.theta + k, C, D, dim, &sw);
        min_ess_w = fmin(min_ess_w, sw.ess_bulk);
    }
    for (size_t i = 0; i < S; i++)
        depth_w += res->nuts->sampling.tree_depth[i];
    double ess_per_s_w = min_ess_w / res->nuts->sampling_seconds;
    printf("in reference rates: warmup %.1f s, sampling %.1f s, mean tree depth %.2f, "
           "%zu divergences, R-hat max %.4f, min bulk ESS %.0f\n",
           res->nuts->warmup_seconds, res->nuts->sampling_seconds, depth_w / (double)S,
           hcmc_nuts_divergences(res->nuts), res->rhat_max, min_ess_w);
    printf("BENCH nuts.laminar.rates.ess_per_s %.2f 1/s\n", ess_per_s_w);
    printf("BENCH nuts.laminar.rates.shard_s %.2f s\n", res->seconds);
    printf("BENCH nuts.laminar.rates.ess_per_s_ratio %.2f ratio\n", ess_per_s_w / ess_per_s);
    hcmc_shard_result_free(res);
    hcmc_problem_free(prob);
    hcmc_shard_plan_free(plan);

    int rc = 0;
    if (export_dir && export_shard(export_dir, &p, r, sum, ess_per_s)) {
        fprintf(stderr, "bench_nuts: cannot write to %s\n", export_dir);
        rc = 1;
    }
    hcmc_nuts_result_free(r);
    free(z);
    synth_problem_free(&p);
    return rc;
}
