/* hcmc_run: configuration -> data -> plan -> problem -> backend -> combine
 * -> files. Nothing here samples or combines by itself; it wires the layers
 * below together and writes what they produce. */
#define _GNU_SOURCE /* realpath */
#include "hcmc/run.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "hcmc/aps.h"
#include "hcmc/backend.h"
#include "hcmc/cmc.h"
#include "hcmc/log.h"
#include "../backends/mpi_backend.h"
#include "../base/hash.h"
#include "../base/files.h"
#include "../cmc/cmc_internal.h"
#include "../config/config_internal.h"
#include "run_internal.h"
#include "hcmc/timing.h"

/* FNV-1a 64 of the file's bytes: identifies the data a run used. */
static void checksum(const char *path, char out[17])
{
    uint64_t h = HCMC__FNV_INIT;
    FILE *f = fopen(path, "rb");
    unsigned char buf[65536];
    size_t n;
    while (f && (n = fread(buf, 1, sizeof buf, f)) > 0)
        h = hcmc__fnv1a(h, buf, n);
    if (f)
        fclose(f);
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

typedef struct {
    hcmc_shard_result **results; /* [K] */
    const hcmc_target *full;
    const hcmc_shard_plan *plan;
    const char *dir;
    uint64_t fingerprint;
    size_t K, done, failed, running, reused;
    size_t early, early_failed; /* the first 10 shards finished in this run */
    char early_causes[4][200];
    bool on_disk; /* batch: results come from the workers' shard files */
    double t0, cost_todo, cost_done;
    const hcmc_run_options *o;
    hcmc_error *err;
} sink_state;

static void report(sink_state *S)
{
    if (!S->o || !S->o->progress)
        return;
    double el = hcmc_seconds() - S->t0;
    hcmc_run_progress p = {S->K, S->done, S->failed, S->running, S->reused, el, NAN};
    if (S->cost_done > 0)
        p.eta = el * fmax(S->cost_todo - S->cost_done, 0) / S->cost_done;
    S->o->progress(S->o->user, &p);
}

static void on_event(void *user, hcmc_backend_event ev, size_t shard,
                     const char *detail)
{
    sink_state *S = user;
    if (ev == HCMC_EVENT_STARTED) {
        S->running++;
        hcmc_log(HCMC_LOG_DEBUG, "shard %zu started on %s", shard, detail);
    } else if (ev == HCMC_EVENT_RETRY) {
        S->running -= S->running > 0;
        hcmc_log(HCMC_LOG_WARN, "shard %zu: %s", shard, detail);
    }
    report(S);
}

/* Takes a finished shard: its file, the progress, the early-abort rule
 * (more than half of the first 10 shards finished in this run failed). */
static int sink(void *user, hcmc_shard_result *r)
{
    sink_state *S = user;
    char path[HCMC_PATH_MAX + 64];
    hcmc__shard_path(path, sizeof path, S->dir, r->id);
    hcmc_error e;
    if (!S->on_disk && hcmc__shard_file_write(path, r, S->full, S->fingerprint, &e))
        hcmc_log(HCMC_LOG_WARN, "%s", e.msg);
    if (S->on_disk) /* the shard's size is the plan's */
        r->n_points = S->plan->start[r->id + 1] - S->plan->start[r->id];
    S->results[r->id] = r;
    S->done++;
    S->running -= S->running > 0;
    S->cost_done += S->plan->cost[r->id];
    if (r->status) {
        S->failed++;
        hcmc_log(HCMC_LOG_WARN, "shard %zu failed: %s", r->id, r->message);
    } else {
        hcmc_log(HCMC_LOG_INFO,
                 "shard %zu done (%zu/%zu): %zu points, %.1f s, R-hat max %.3f", r->id,
                 S->done, S->K, r->n_points, r->seconds, r->rhat_max);
    }
    if (S->early < 10) {
        S->early++;
        if (r->status && S->early_failed < 4)
            snprintf(S->early_causes[S->early_failed], sizeof S->early_causes[0],
                     "shard %zu: %.160s", r->id, r->message);
        S->early_failed += r->status != 0;
        if (S->early_failed > 5) {
            report(S);
            return hcmc_error_set(
                S->err, HCMC_ENODATA,
                "%zu of the first %zu finished shards failed; run stopped early. "
                "Causes: %s; %s; %s; %s",
                S->early_failed, S->early, S->early_causes[0], S->early_causes[1],
                S->early_causes[2], S->early_causes[3]);
        }
    }
    report(S);
    return 0;
}

/* Shard files that no shard of this run will replace: ids past K, and
 * (with fresh, or from another problem) everything. They go, so that a
 * later hcmc combine never mixes runs. */
static void remove_stale(const char *dir, size_t K, bool all)
{
    char sdir[HCMC_PATH_MAX + 16];
    snprintf(sdir, sizeof sdir, "%s/shards", dir);
    DIR *dp = opendir(sdir);
    if (!dp)
        return;
    size_t removed = 0;
    struct dirent *de;
    while ((de = readdir(dp))) {
        unsigned long num;
        char tail[8];
        if (sscanf(de->d_name, "shard_%lu.%7s", &num, tail) != 2 || strcmp(tail, "h5"))
            continue;
        if (all || num >= K) {
            char path[HCMC_PATH_MAX + 320];
            snprintf(path, sizeof path, "%s/%s", sdir, de->d_name);
            removed += remove(path) == 0;
        }
    }
    closedir(dp);
    if (removed)
        hcmc_log(HCMC_LOG_WARN, "%s: removed %zu shard file%s of an earlier run", sdir,
                 removed, removed == 1 ? "" : "s");
}

/* Batch backends: the result a worker left in the run directory. */
static hcmc_shard_result *fetch(void *user, size_t id)
{
    sink_state *S = user;
    bool stale = false;
    return hcmc__shard_reuse(S->dir, id, S->plan->start[id + 1] - S->plan->start[id],
                             S->fingerprint, &stale, NULL);
}

static void constrain_cb(const void *ctx, const double *z, double *theta)
{
    hcmc_target_constrain(ctx, z, theta);
}

/* The importance correction with the problem's points (finish.c). */
typedef struct {
    const hcmc_problem *prob;
    const hcmc_shard_plan *plan;
    const hcmc_nuts_settings *ns;
    const hcmc_config *c;
    const double (*bounds)[2];
} run_correction;

static void correct_cb(void *user, hcmc_combine_result *comb, hcmc_run_result *r)
{
    const run_correction *u = user;
    hcmc__importance(u->prob, u->plan, NULL, comb, u->ns, u->c, r);
}

/* The modes the draws miss, on the points of every shard (not after a
 * shard was left out: its data must not come back this way). */
static void modes_cb(void *user, hcmc_combine_result *comb, hcmc_run_result *r,
                     const hcmc__mirror *mirror)
{
    const run_correction *u = user;
    if (comb->n_kept < comb->n_shards)
        return;
    const hcmc_target *full = hcmc_problem_target(u->prob);
    hcmc__modes(u->prob, hcmc_target_points(full), u->ns, u->c, mirror, u->bounds,
                hcmc_target_nphys(full), comb, r);
}

/* mpi backend, ranks other than 0: read the plan rank 0 wrote, sample
 * the shards it deals. */
static int mpi_rank_run(const hcmc_config *c, int rank, hcmc_run_result *r,
                        hcmc_error *err)
{
    char dir[HCMC_PATH_MAX], path[HCMC_PATH_MAX + 16];
    r->rank = rank;
    if (hcmc__mpi_await(dir, sizeof dir))
        return HCMC_OK; /* rank 0 failed before the plan; it says why */
    snprintf(path, sizeof path, "%s/plan.h5", dir);
    hcmc_config *pc = calloc(1, sizeof *pc);
    hcmc__prepared P = {0};
    int rc = pc ? hcmc__plan_read(path, pc, &P, err)
                : hcmc_error_set(err, HCMC_ENOMEM, "out of memory");
    if (rc)
        hcmc_log(HCMC_LOG_ERROR, "rank %d: %s", rank, err->msg);
    hcmc_backend_options bo;
    hcmc_backend_options_defaults(&bo);
    bo.per_shard_timeout = c->per_shard_timeout;
    hcmc__mpi_serve(rc ? NULL : P.prob, P.plan, &P.ns, &bo);
    hcmc__prepared_release(&P);
    if (pc)
        hcmc_config_release(pc);
    free(pc);
    return HCMC_OK; /* rank 0 reports the run's outcome */
}

/* The output directory and what goes there before sampling: for batch and
 * mpi runs the plan the workers read, at an absolute path (absdir), and
 * the configuration, so that a run stopped later can still be combined
 * from its shard files (hcmc combine). */
static int open_run_dir(const hcmc_config *c, bool with_plan, const hcmc__prepared *P,
                        char absdir[HCMC_PATH_MAX], hcmc_error *err)
{
    char dir[HCMC_PATH_MAX + 16];
    int rc;
    snprintf(dir, sizeof dir, "%s/shards", c->output_dir);
    if ((rc = hcmc__make_dir(c->output_dir, err)) || (rc = hcmc__make_dir(dir, err)))
        return rc;
    if (with_plan) {
        if (!realpath(c->output_dir, absdir))
            return hcmc_error_set(err, HCMC_EIO, "%s: %s", c->output_dir,
                                  strerror(errno));
        if ((rc = hcmc__run_dir_init(c, absdir, P, err)))
            return rc;
    }
    if (c->text) {
        char cpath[HCMC_PATH_MAX + 32];
        snprintf(cpath, sizeof cpath, "%s/config.yaml", c->output_dir);
        return hcmc__write_text(cpath, c->text, 0, err);
    }
    return HCMC_OK;
}

/* Resume: finished shards of the same problem are kept (results), the
 * others go into todo in the plan's order; returns their number. */
static size_t shards_to_sample(const hcmc_config *c, const hcmc_run_options *o,
                               const hcmc__prepared *P, hcmc_shard_result **results,
                               size_t *todo, size_t *reused, double *cost_todo)
{
    const hcmc_shard_plan *plan = P->plan;
    size_t K = plan->n_shards, n_todo = 0;
    bool fresh = o && o->fresh, stale = false;
    remove_stale(c->output_dir, K, fresh);
    *reused = 0;
    *cost_todo = 0;
    for (size_t i = 0; i < K; i++) {
        size_t k = plan->order[i], np = plan->start[k + 1] - plan->start[k];
        if (!fresh && (results[k] = hcmc__shard_reuse(c->output_dir, k, np,
                                                      P->fingerprint, &stale, NULL))) {
            (*reused)++;
            continue;
        }
        todo[n_todo++] = k;
        *cost_todo += plan->cost[k];
    }
    if (stale)
        hcmc_log(HCMC_LOG_WARN,
                 "%s/shards: files of an earlier run with other data or settings; "
                 "they are replaced",
                 c->output_dir);
    if (*reused)
        hcmc_log(HCMC_LOG_INFO,
                 "resuming: %zu of %zu shards done before, %zu to sample", *reused, K,
                 n_todo);
    return n_todo;
}

/* Sampling: the shards of todo on the backend, each finished one through
 * the sink into results (and its file). *submitted: the jobs were only
 * submitted (submit_only), the run goes on without this process. */
static int sample_shards(const hcmc_config *c, const hcmc_run_options *o,
                         const hcmc_backend *be, const hcmc__prepared *P,
                         const char *absdir, hcmc_shard_result **results,
                         const size_t *todo, size_t n_todo, size_t reused,
                         double cost_todo, hcmc_run_result *r, bool *submitted,
                         hcmc_error *err)
{
    hcmc_backend_options bo;
    hcmc_backend_options_defaults(&bo);
    bo.workers = c->num_workers;
    bo.max_retries = c->max_retries;
    bo.per_shard_timeout = c->per_shard_timeout;
    bo.heartbeat_timeout = c->heartbeat_timeout;
    sink_state S = {.results = results,
                    .full = hcmc_problem_target(P->prob),
                    .plan = P->plan,
                    .dir = c->output_dir,
                    .fingerprint = P->fingerprint,
                    .K = P->plan->n_shards,
                    .done = reused,
                    .reused = reused,
                    .t0 = hcmc_seconds(),
                    .cost_todo = cost_todo,
                    .o = o,
                    .err = err};
    bo.sink = sink;
    bo.event = on_event;
    bo.user = &S;
    if (be->batch) {
        S.on_disk = true;
        bo.run_dir = absdir;
        bo.batch = be->scheduler == HCMC_SCHEDULER_SLURM ? &c->slurm : &c->pbs;
        bo.fetch = fetch;
        bo.submit_only = o && o->submit_only;
    }
    if (be->pooled && o)
        bo.pool = o->pool;
    r->workers = be->workers(n_todo, &bo);
    report(&S);
    int rc;
    if (n_todo && (rc = be->run(P->prob, P->plan, todo, n_todo, &P->ns, &bo, err)))
        return rc;
    r->sampling_seconds = hcmc_seconds() - S.t0;
    *submitted = bo.submit_only && n_todo;
    if (*submitted)
        snprintf(r->submitted, sizeof r->submitted, "%s", bo.submitted);
    return HCMC_OK;
}

/* Combination, correction, files: the shards' draws and what is known of
 * each handed to the finish stage. */
static int finish_run(const hcmc_config *c, const hcmc_dataset *ds,
                      const hcmc__prepared *P, hcmc_shard_result **results, double t0,
                      hcmc_run_result *r, hcmc_error *err)
{
    const hcmc_problem *prob = P->prob;
    const hcmc_shard_plan *plan = P->plan;
    const hcmc_target *full = hcmc_problem_target(prob);
    size_t d = hcmc_problem_dim(prob), K = plan->n_shards;
    hcmc_shard_draws *draws = calloc(K, sizeof *draws);
    const hcmc_nuts_draws **sd = calloc(K, sizeof *sd);
    double(*bounds)[2] = calloc(d, sizeof *bounds); /* of every coordinate */
    r->shards = calloc(K, sizeof *r->shards);
    r->names = calloc(d, sizeof *r->names);
    int rc = HCMC_OK;
    if (!draws || !sd || !bounds || !r->shards || !r->names) {
        rc = hcmc_error_set(err, HCMC_ENOMEM, "run: out of memory");
        goto done;
    }
    r->dim = d;
    if ((r->phi = malloc(P->pts.n_phi * sizeof *r->phi))) {
        memcpy(r->phi, P->pts.phi, P->pts.n_phi * sizeof *r->phi);
        r->n_phi = P->pts.n_phi;
    }
    const hcmc_problem_mode *modes;
    r->n_found = hcmc_problem_modes(prob, &modes);
    memcpy(r->found, modes, r->n_found * sizeof *modes);
    for (size_t k = 0; k < d; k++) {
        hcmc_target_bounds(full, k, &bounds[k][0], &bounds[k][1]);
        snprintf(r->names[k], sizeof r->names[k], "%s",
                 hcmc_problem_param_name(prob, k));
    }
    for (size_t k = 0; k < K; k++) {
        hcmc_shard_result *sr = results[k];
        hcmc_run_shard *o = &r->shards[k];
        o->id = k;
        o->points = plan->start[k + 1] - plan->start[k];
        if (sr) {
            o->seconds = sr->seconds;
            o->rhat_max = sr->rhat_max;
            o->reruns = sr->reruns;
            o->divergences = sr->nuts ? hcmc_nuts_divergences(sr->nuts) : 0;
        }
        if (!sr || sr->status || !sr->nuts) {
            draws[k].failure = sr ? sr->message : "no result";
            continue;
        }
        draws[k] = (hcmc_shard_draws){.chains = sr->nuts->num_chains,
                                      .draws = sr->nuts->sampling.n,
                                      .dim = d,
                                      .z = sr->nuts->sampling.z,
                                      .divergences = o->divergences};
        sd[k] = &sr->nuts->sampling;
    }
    char created[32], sum[17];
    time_t now = time(NULL);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    char data_abs[PATH_MAX]; /* what hcmc plot reads again, from any folder */
    if (ds) { /* data in memory: no file to read again; its values' digest */
        uint64_t h =
            hcmc__fnv1a(HCMC__FNV_INIT, ds->c2,
                        ds->n_phi * ds->n_frames * ds->n_frames * sizeof(double));
        snprintf(sum, sizeof sum, "%016llx", (unsigned long long)h);
        snprintf(data_abs, sizeof data_abs, "%s%s)", HCMC_IN_MEMORY,
                 ds->source[0] ? ds->source : "arrays");
    } else {
        checksum(c->data_file, sum);
        if (!realpath(c->data_file, data_abs))
            snprintf(data_abs, sizeof data_abs, "%s", c->data_file);
    }
    run_correction rc_user = {prob, plan, &P->ns, c, (const double(*)[2])bounds};
    hcmc__finish_input fin = {.draws = draws,
                              .shard_draws = sd,
                              .K = K,
                              .coords = hcmc_target_coords(full),
                              .nphys = hcmc_target_nphys(full),
                              .bounds = (const double(*)[2])bounds,
                              .constrain = constrain_cb,
                              .ctx = full,
                              .correct = correct_cb,
                              .modes = modes_cb,
                              .user = &rc_user,
                              .dir = c->output_dir,
                              .created = created,
                              .data_file = data_abs,
                              .checksum = sum,
                              .summary_on_failure = true,
                              .t0 = t0};
    rc = hcmc__finish(c, &fin, r, err);
done:
    free(draws);
    free(sd);
    free(bounds);
    return rc;
}

/* The backend c names, checked for this run. */
static const hcmc_backend *run_backend(const hcmc_config *c, size_t K, hcmc_error *err)
{
    const hcmc_backend *be = hcmc_backend_find(c->backend, K, c->num_workers, err);
    if (be && be->batch && !be->available()) {
        hcmc_error_set(err, HCMC_EUNSUPPORTED,
                       "backend %s: the scheduler's commands (%s) are not on PATH "
                       "here; run on the cluster's login node, or choose another "
                       "backend",
                       be->name, be->commands);
        return NULL;
    }
    return be;
}

static int run_impl(const hcmc_config *c, const hcmc_dataset *ds,
                    const hcmc_run_options *o, hcmc_run_result **out, hcmc_error *err);

int hcmc_run(const hcmc_config *c, const hcmc_run_options *o, hcmc_run_result **out,
             hcmc_error *err)
{
    return run_impl(c, NULL, o, out, err);
}

int hcmc_run_dataset(const hcmc_config *c, const hcmc_dataset *ds,
                     const hcmc_run_options *o, hcmc_run_result **out, hcmc_error *err)
{
    *out = NULL;
    if (!ds)
        return hcmc_error_set(err, HCMC_EINVAL, "run: no data set");
    int rc = hcmc_dataset_check(ds, err);
    if (rc)
        return rc;
    if (hcmc__mpi_wanted(c->backend))
        return hcmc_error_set(err, HCMC_EUNSUPPORTED,
                              "backend mpi: the other ranks read the data file "
                              "themselves; a run on data in memory needs another "
                              "backend");
    /* the data set's geometry is the run's, as overrides: summary.json and
     * plan.h5 record them, so that combine and a resume rebuild the same
     * model (the copy shares only c's text, which it never frees) */
    hcmc_config cc = *c;
    const char *keys[3] = {"analyzer_parameters.dt",
                           "analyzer_parameters.scattering.wavevector_q",
                           "analyzer_parameters.geometry.stator_rotor_gap"};
    const double vals[3] = {ds->dt, ds->q, ds->L};
    for (int k = 0; k < 3; k++) {
        char v[40];
        snprintf(v, sizeof v, "%.17g", vals[k]);
        if ((k < 2 || vals[k] > 0) && hcmc_config_set(&cc, keys[k], v, err)) {
            hcmc_error_prefix(err,
                              "%s: ", ds->source[0] ? ds->source : "data in memory");
            return err->code;
        }
    }
    return run_impl(&cc, ds, o, out, err);
}

static int run_impl(const hcmc_config *c, const hcmc_dataset *ds,
                    const hcmc_run_options *o, hcmc_run_result **out, hcmc_error *err)
{
    *out = NULL;
    double t0 = hcmc_seconds();
    int rc;
    hcmc__prepared P = {0};
    hcmc_shard_result **results = NULL;
    hcmc_run_result *r = calloc(1, sizeof *r);
    size_t *todo = NULL;
    if (!r)
        return hcmc_error_set(err, HCMC_ENOMEM, "run: out of memory");
    memcpy(r->phys_fixed, c->phys_fixed, sizeof r->phys_fixed);
    memcpy(r->phys_fixed_value, c->phys_fixed_value, sizeof r->phys_fixed_value);
    /* mpi: every rank runs this; rank 0 drives, the others serve */
    bool mpi_root = false, announced = false;
    if (hcmc__mpi_wanted(c->backend)) {
        int rank, size;
        if (hcmc__mpi_world(&rank, &size)) {
            rc = hcmc_error_set(err, HCMC_EIO, "backend mpi: MPI cannot start");
            goto done;
        }
        if (rank > 0) {
            if ((rc = mpi_rank_run(c, rank, r, err)))
                goto done;
            *out = r;
            return HCMC_OK;
        }
        mpi_root = size > 1;
    }
    if ((rc = hcmc__prepare_from(c, ds, &P, err)))
        goto done;
    size_t K = P.plan->n_shards;
    r->n_points = P.pts.n;
    r->warm_start_seconds = P.warm_start_seconds;
    const hcmc_backend *be = run_backend(c, K, err);
    if (!be) {
        rc = err ? err->code : HCMC_EINVAL;
        goto done;
    }
    snprintf(r->backend, sizeof r->backend, "%s", be->name);
    char absdir[HCMC_PATH_MAX];
    /* plan.h5 also for data in memory: hcmc combine and a resume need no file */
    if ((rc = open_run_dir(c, be->batch || mpi_root || ds, &P, absdir, err)))
        goto done;
    if (mpi_root) {
        hcmc__mpi_announce(absdir);
        announced = true;
    }
    results = calloc(K, sizeof *results);
    todo = malloc(K * sizeof *todo);
    if (!results || !todo) {
        rc = hcmc_error_set(err, HCMC_ENOMEM, "run: out of memory");
        goto done;
    }
    size_t reused;
    double cost_todo;
    size_t n_todo = shards_to_sample(c, o, &P, results, todo, &reused, &cost_todo);
    r->reused = reused;
    r->sampled = n_todo;
    bool submitted = false;
    if ((rc = sample_shards(c, o, be, &P, absdir, results, todo, n_todo, reused,
                            cost_todo, r, &submitted, err)))
        goto done;
    if (submitted) { /* the jobs do the rest */
        r->n_shards = K;
        goto done;
    }
    rc = finish_run(c, ds, &P, results, t0, r, err);
done:
    if (mpi_root && !announced) /* the other ranks wait for word */
        hcmc__mpi_announce(NULL);
    if (results)
        for (size_t k = 0; P.plan && k < P.plan->n_shards; k++)
            hcmc_shard_result_free(results[k]);
    free(results);
    free(todo);
    hcmc__prepared_release(&P);
    if (rc) {
        hcmc_run_result_free(r);
        return rc;
    }
    *out = r;
    return HCMC_OK;
}

/* The modes of the warm start's search, where it found more than one:
 * each with the parameters in which some mode lies more than 1 sd of the
 * draws from the first (at most 4). */
static void print_search(FILE *f, const hcmc_run_result *r)
{
    if (r->n_found < 2 || !r->summary)
        return;
    bool show[65] = {false};
    size_t n = 0;
    for (size_t k = 0; k < r->dim && k < 65; k++)
        for (size_t i = 1; i < r->n_found && n < 4 && !show[k]; i++)
            if (fabs(r->found[i].theta[k] - r->found[0].theta[k]) > r->summary[k].sd)
                show[k] = true, n++;
    fprintf(f,
            "modes found by the warm start's search: %zu; the chains started in the "
            "first\n",
            r->n_found);
    for (size_t i = 0; i < r->n_found; i++) {
        fprintf(f, "  %zu:", i + 1);
        const char *sep = " ";
        for (size_t k = 0; k < r->dim && k < 65; k++)
            if (show[k]) {
                fprintf(f, "%s%s = %.5g", sep, r->names[k], r->found[i].theta[k]);
                sep = ", ";
            }
        if (i == 0)
            fputs(", weight 1 (Laplace)\n", f);
        else
            fprintf(f, ", weight %.3g, %.3g below in log likelihood%s\n",
                    r->found[i].weight, r->found[i].dloglik,
                    r->found_missed[i]    ? ": the draws miss it"
                    : r->found_sampled[i] ? ": sampled by chains of its own"
                                          : "");
    }
}

/* The modes sampled one by one (modes.c): each one's weight and the
 * parameters in which their means differ by more than the first's sd
 * (at most 4). */
static void print_modes(FILE *f, const hcmc_run_result *r)
{
    size_t M = r->n_modes, d = r->dim;
    if (M < 2 || !r->mode_summary)
        return;
    bool show[65] = {false};
    size_t n = 0;
    for (size_t k = 0; k < d && k < 65; k++)
        for (size_t m = 1; m < M && n < 4 && !show[k]; m++)
            if (fabs(r->mode_summary[m * d + k].mean - r->mode_summary[k].mean) >
                r->mode_summary[k].sd)
                show[k] = true, n++;
    if (r->mirrored)
        fprintf(f, "modes: phi0's mirror images, both made from the draws of one (the "
                   "table: both)\n");
    else
        fprintf(f,
                "modes: %zu, each sampled by chains of its own, weighed by bridge "
                "sampling (the table: their mixture, R-hat the largest and ESS the "
                "smallest within a mode)\n",
                M);
    for (size_t m = 0; m < M; m++) {
        const hcmc_run_mode *o = &r->modes[m];
        fprintf(f, "  %zu: weight %.3f +- %.3f (%zu chains):", m + 1, o->weight,
                o->weight_se, o->chains);
        const char *sep = " ";
        for (size_t k = 0; k < d && k < 65; k++)
            if (show[k]) {
                const hcmc_param_summary *q = &r->mode_summary[m * d + k];
                fprintf(f, "%s%s = %.5g +- %.3g", sep, r->names[k], q->mean, q->sd);
                sep = ", ";
            }
        fputc('\n', f);
    }
}

void hcmc_run_print_table(FILE *f, const hcmc_run_result *r)
{
    fprintf(f, "%-20s %12s %11s %25s %7s %7s\n", "parameter", "mean", "sd",
            "90% interval", "R-hat", "ESS");
    for (size_t k = 0; k < r->dim; k++) {
        const hcmc_param_summary *s = &r->summary[k];
        char iv[40];
        snprintf(iv, sizeof iv, "[%.5g, %.5g]", s->q05, s->q95);
        fprintf(f, "%-20s %12.6g %11.4g %25s %7.3f %7.0f\n", r->names[k], s->mean,
                s->sd, iv, s->rhat, s->ess_bulk);
    }
    for (int k = 0; k < HCMC_NPHYS_MAX; k++)
        if (r->phys_fixed[k])
            fprintf(f, "%-20s %12.6g %11s\n", hcmc_phys_name(k), r->phys_fixed_value[k],
                    "(fixed)");
    size_t failed = 0, excluded = 0;
    for (size_t k = 0; k < r->n_shards; k++) {
        failed += r->shards[k].status == HCMC_SHARD_FAILED;
        excluded += r->shards[k].status != HCMC_SHARD_KEPT &&
                    r->shards[k].status != HCMC_SHARD_FAILED;
    }
    fprintf(f,
            "shards: %zu ok, %zu excluded, %zu failed (of %zu); %zu points; %.1f s "
            "(sampling %.1f s, backend %s)\n",
            r->n_kept, excluded, failed, r->n_shards, r->n_points, r->seconds,
            r->sampling_seconds, r->backend);
    print_search(f, r);
    print_modes(f, r);
    if (!r->importance.n)
        return;
    fprintf(f, "importance correction: %s (ESS %.0f of %zu proposals, tail index %.2f",
            r->importance.applied ? "applied" : "NOT applied", r->importance.ess,
            r->importance.n, r->importance.khat);
    if (r->importance.rounds > 1)
        fprintf(f, ", %zu rounds", r->importance.rounds);
    if (!r->importance.applied && !r->refine.done)
        fprintf(f, " above %g: the draws are the combination's",
                HCMC_IMPORTANCE_MAX_KHAT);
    fputs(")\n", f);
    if (r->refine.done) {
        fprintf(f,
                "refinement: %zu chains of NUTS on the %zu points combined, started "
                "from the corrected draws, ",
                r->refine.chains, r->refine.points);
        if (r->refine.length > 1)
            fprintf(f, "%zu times as long (one draw in %zu kept), ", r->refine.length,
                    r->refine.length);
        fprintf(f, "%.1f s (%s)\n", r->refine.seconds, r->refine.why);
    }
    else if (r->refine.skipped)
        fprintf(f, "refinement: not made (%s): it would take about %.0f s\n",
                r->refine.why, r->refine.estimate);
}
