/* summary.json (jansson): the run's table, shards, importance correction
 * and settings, written to a temporary beside its final name and renamed;
 * and read back (hcmc summary, hcmc plot) into an hcmc_run_result. */
#include "store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../base/files.h"
#include "hcmc/version.h"

/* ---- summary.json ------------------------------------------------------ */

static const char *const status_names[] = {"ok",        "failed",     "non-finite",
                                           "divergent", "degenerate", "outlier"};
enum { N_STATUS = sizeof status_names / sizeof *status_names };

const char *hcmc__shard_status_name(int status)
{
    return status_names[status >= 0 && status < N_STATUS ? status : 1];
}

static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static int read_num(json_t *o, const char *key, double *v);

static json_t *items_json(const hcmc_verdict_item *it, size_t n)
{
    json_t *a = json_array();
    for (size_t k = 0; k < n; k++)
        json_array_append_new(a, json_pack("{s:s,s:s,s:s}", "check", it[k].check,
                                           "what", it[k].what, "advice", it[k].advice));
    return a;
}

static json_t *verdict_json(const hcmc_verdict *v)
{
    json_t *o = json_object();
    json_object_set_new(o, "ok", json_boolean(v->ok));
    json_object_set_new(o, "failures", items_json(v->failures, v->n_failures));
    json_object_set_new(o, "warnings", items_json(v->warnings, v->n_warnings));
    json_object_set_new(o, "thresholds",
                        json_pack("{s:o,s:o,s:o}", "r_hat", num(v->max_rhat), "ess",
                                  num(v->min_ess), "divergent_share",
                                  num(v->max_divergence_share)));
    return o;
}

static void items_read(json_t *a, hcmc_verdict_item *it, size_t *n)
{
    size_t k;
    json_t *o;
    *n = 0;
    json_array_foreach(a, k, o)
    {
        if (*n == HCMC_VERDICT_MAX || !json_is_object(o))
            break;
        const char *c = json_string_value(json_object_get(o, "check")),
                   *w = json_string_value(json_object_get(o, "what")),
                   *d = json_string_value(json_object_get(o, "advice"));
        snprintf(it[*n].check, sizeof it[*n].check, "%s", c ? c : "");
        snprintf(it[*n].what, sizeof it[*n].what, "%s", w ? w : "");
        snprintf(it[*n].advice, sizeof it[*n].advice, "%s", d ? d : "");
        ++*n;
    }
}

/* run.verdict; a file without one (an older hcmc) leaves v unknown. */
static int verdict_read(json_t *o, hcmc_verdict *v)
{
    memset(v, 0, sizeof *v);
    if (!o)
        return 0;
    json_t *ok = json_object_get(o, "ok"), *th = json_object_get(o, "thresholds");
    if (!json_is_boolean(ok) || !json_is_array(json_object_get(o, "failures")) ||
        !json_is_array(json_object_get(o, "warnings")))
        return -1;
    v->known = true;
    v->ok = json_is_true(ok);
    items_read(json_object_get(o, "failures"), v->failures, &v->n_failures);
    items_read(json_object_get(o, "warnings"), v->warnings, &v->n_warnings);
    if (json_is_object(th)) {
        read_num(th, "r_hat", &v->max_rhat);
        read_num(th, "ess", &v->min_ess);
        read_num(th, "divergent_share", &v->max_divergence_share);
    }
    return 0;
}

int hcmc__summary_write(const char *path, const hcmc_run_result *r,
                        const hcmc_config *c, const char *failure, hcmc_error *err)
{
    json_t *root = json_object(), *params = json_object(), *shards = json_array(),
           *run = json_object();
    for (size_t k = 0; k < r->dim; k++) {
        const hcmc_param_summary *s = &r->summary[k];
        json_t *p = json_object();
        json_object_set_new(p, "mean", num(s->mean));
        json_object_set_new(p, "sd", num(s->sd));
        json_object_set_new(p, "q05", num(s->q05));
        json_object_set_new(p, "q50", num(s->median));
        json_object_set_new(p, "q95", num(s->q95));
        json_object_set_new(p, "r_hat", num(s->rhat));
        json_object_set_new(p, "ess_bulk", num(s->ess_bulk));
        json_object_set_new(p, "ess_tail", num(s->ess_tail));
        json_object_set_new(p, "mcse_mean", num(s->mcse_mean));
        json_object_set_new(p, "mcse_sd", num(s->mcse_sd));
        json_object_set_new(params, r->names[k], p);
    }
    for (size_t k = 0; k < r->n_shards; k++) {
        const hcmc_run_shard *s = &r->shards[k];
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer((json_int_t)s->id));
        json_object_set_new(o, "points", json_integer((json_int_t)s->points));
        json_object_set_new(o, "status",
                            json_string(hcmc__shard_status_name(s->status)));
        json_object_set_new(o, "divergences", json_integer((json_int_t)s->divergences));
        json_object_set_new(o, "seconds", num(s->seconds));
        json_object_set_new(o, "r_hat_max", num(s->rhat_max));
        json_object_set_new(o, "reruns", json_integer((json_int_t)s->reruns));
        json_object_set_new(o, "transitions", json_integer((json_int_t)s->transitions));
        json_object_set_new(o, "max_tree_depth_hits",
                            json_integer((json_int_t)s->treedepth_hits));
        json_object_set_new(o, "e_bfmi_min", num(s->ebfmi_min));
        json_object_set_new(o, "excluded", json_boolean(s->status != HCMC_SHARD_KEPT));
        json_object_set_new(o, "reason",
                            s->reason[0] ? json_string(s->reason) : json_null());
        json_array_append_new(shards, o);
    }
    json_object_set_new(run, "num_shards", json_integer((json_int_t)r->n_shards));
    json_object_set_new(run, "backend", json_string(r->backend));
    json_object_set_new(run, "workers", json_integer((json_int_t)r->workers));
    json_object_set_new(run, "sampled_shards", json_integer((json_int_t)r->sampled));
    json_object_set_new(run, "reused_shards", json_integer((json_int_t)r->reused));
    json_object_set_new(run, "seconds", num(r->seconds));
    json_object_set_new(run, "sampling_seconds", num(r->sampling_seconds));
    json_object_set_new(run, "warm_start_seconds", num(r->warm_start_seconds));
    json_object_set_new(run, "version", json_string(HCMC_VERSION));
    /* JSON integers are signed 64-bit here: a larger seed goes as text */
    json_object_set_new(run, "seed",
                        c->seed <= (uint64_t)INT64_MAX
                            ? json_integer((json_int_t)c->seed)
                            : json_sprintf("%llu", (unsigned long long)c->seed));
    json_object_set_new(run, "points", json_integer((json_int_t)r->n_points));
    json_object_set_new(run, "combination", json_string(c->combination));
    if (r->importance.n) {
        json_t *im = json_object();
        json_object_set_new(im, "applied", json_boolean(r->importance.applied));
        json_object_set_new(im, "ess", num(r->importance.ess));
        json_object_set_new(im, "tail_index", num(r->importance.khat));
        json_object_set_new(im, "proposals", json_integer((json_int_t)r->importance.n));
        json_object_set_new(im, "rounds", json_integer((json_int_t)r->importance.rounds));
        json_object_set_new(run, "importance", im);
    } else {
        json_object_set_new(run, "importance", json_null());
    }
    if (r->refine.done || r->refine.skipped) {
        json_t *rf = json_object();
        json_object_set_new(rf, "done", json_boolean(r->refine.done));
        json_object_set_new(rf, "why", json_string(r->refine.why));
        json_object_set_new(rf, "estimated_seconds", num(r->refine.estimate));
        json_object_set_new(rf, "points", json_integer((json_int_t)r->refine.points));
        json_object_set_new(rf, "chains", json_integer((json_int_t)r->refine.chains));
        json_object_set_new(rf, "length", json_integer((json_int_t)r->refine.length));
        json_object_set_new(rf, "seconds", num(r->refine.seconds));
        json_object_set_new(rf, "gradients",
                            json_integer((json_int_t)r->refine.gradients));
        json_object_set_new(rf, "transitions",
                            json_integer((json_int_t)r->refine.transitions));
        json_object_set_new(rf, "divergences",
                            json_integer((json_int_t)r->refine.divergences));
        json_object_set_new(run, "refinement", rf);
    } else {
        json_object_set_new(run, "refinement", json_null());
    }
    json_object_set_new(run, "min_success_rate", num(c->min_success_rate));
    /* the coordinates of each rate law in the one run or the refinement
     * (law.h); null where it is no law block or not known */
    json_t *co = json_object();
    static const char *const law_names[2] = {"D(t)", "gamma_dot(t)"};
    for (int l = 0; l < 2; l++)
        json_object_set_new(co, law_names[l],
                            r->law_kind[l] < 0 ? json_null()
                                               : json_string(hcmc_law_kind_name(
                                                     (hcmc_law_kind)r->law_kind[l])));
    json_object_set_new(run, "coordinates", co);
    json_object_set_new(root, "format", json_string(HCMC__SUMMARY_FORMAT_NAME));
    json_object_set_new(root, "format_version", json_integer(HCMC__SUMMARY_FORMAT));
    json_object_set_new(root, "parameters", params);
    json_t *fixed = json_object(); /* held at a value, not sampled */
    for (int k = 0; k < HCMC_NPHYS_MAX; k++)
        if (r->phys_fixed[k])
            json_object_set_new(fixed, hcmc_phys_name(k), num(r->phys_fixed_value[k]));
    json_object_set_new(root, "fixed_parameters", fixed);
    json_object_set_new(root, "shards", shards);
    json_object_set_new(run, "error", failure ? json_string(failure) : json_null());
    json_t *ov = json_array(); /* command-line overrides, as applied */
    for (size_t k = 0; k < c->n_overrides; k++)
        json_array_append_new(ov, json_string(c->overrides[k]));
    json_object_set_new(run, "overrides", ov);
    if (r->verdict.known)
        json_object_set_new(run, "verdict", verdict_json(&r->verdict));
    if (r->n_modes > 1 && r->mode_summary) { /* modes sampled one by one (modes.c) */
        json_t *modes = json_array();
        for (size_t m = 0; m < r->n_modes; m++) {
            const hcmc_run_mode *o = &r->modes[m];
            json_t *ps = json_object();
            for (size_t k = 0; k < r->dim; k++) {
                const hcmc_param_summary *q = &r->mode_summary[m * r->dim + k];
                json_object_set_new(
                    ps, r->names[k],
                    json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "mean", num(q->mean),
                              "sd", num(q->sd), "q05", num(q->q05), "median",
                              num(q->median), "q95", num(q->q95), "r_hat", num(q->rhat),
                              "ess_bulk", num(q->ess_bulk), "ess_tail",
                              num(q->ess_tail)));
            }
            json_t *e = json_pack(
                "{s:o,s:o,s:o,s:I,s:I,s:I,s:b,s:o,s:o}", "weight", num(o->weight),
                "weight_se", num(o->weight_se), "log_mass", num(o->log_mass), "chains",
                (json_int_t)o->chains, "draws", (json_int_t)o->draws, "divergences",
                (json_int_t)o->divergences, "mirror", o->mirror, "search_mode",
                o->found >= 0 ? json_integer(o->found) : json_null(), "parameters", ps);
            for (size_t k = 0; r->mirrored && k < r->dim; k++)
                if (!strcmp(r->names[k], "phi0")) /* where each mirror mode lies */
                    json_object_set_new(e, "phi0",
                                        num(r->mode_summary[m * r->dim + k].mean));
            json_array_append_new(modes, e);
        }
        json_object_set_new(run, "modes", modes);
        json_object_set_new(
            run, "modes_weighed_by",
            json_string(r->mirrored ? "mirror_prior_ratio" : "bridge_sampling"));
        json_object_set_new(run, "modes_seconds", num(r->modes_seconds));
    }
    if (r->n_found) { /* the warm start's search (cmc.h hcmc_problem_modes) */
        json_t *found = json_array();
        for (size_t i = 0; i < r->n_found; i++) {
            json_t *at = json_object();
            for (size_t k = 0; k < r->dim; k++)
                json_object_set_new(at, r->names[k], num(r->found[i].theta[k]));
            json_array_append_new(found,
                                  json_pack("{s:o,s:o,s:o,s:b,s:b}", "at", at,
                                            "weight_laplace", num(r->found[i].weight),
                                            "dloglik", num(r->found[i].dloglik),
                                            "missed", i > 0 && r->found_missed[i],
                                            "sampled", i > 0 && r->found_sampled[i]));
        }
        json_object_set_new(run, "search_modes", found);
    }
    json_object_set_new(root, "run", run);
    char tmp[HCMC_PATH_MAX + 32];
    hcmc__tmp_name(tmp, sizeof tmp, path);
    int bad = json_dump_file(root, tmp, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    json_decref(root);
    if (bad) {
        remove(tmp);
        return hcmc_error_set(err, HCMC_EIO, "%s: cannot write", path);
    }
    return hcmc__commit(tmp, path, err);
}

/* A number of summary.json: null (written for a non-finite value) is NaN. */
static int read_num(json_t *o, const char *key, double *v)
{
    json_t *x = json_object_get(o, key);
    if (json_is_null(x)) {
        *v = NAN;
        return 0;
    }
    if (!json_is_number(x))
        return -1;
    *v = json_number_value(x);
    return 0;
}

/* run.modes where it has several sampled or made modes (optional: files
 * without them, or with phi0's two modes of an older hcmc, have none):
 * each one's weight, its error and its parameters' table (the names of
 * r's, which must be read first). Anything amiss leaves none. */
static void modes_read(json_t *modes, json_t *by, hcmc_run_result *r)
{
    size_t M = json_array_size(modes), d = r->dim;
    if (M < 2 || M > HCMC_PROBLEM_MAX_MODES || !json_is_string(by) || !d ||
        !(r->mode_summary = calloc(M * d, sizeof *r->mode_summary)))
        return;
    bool ok = true;
    for (size_t m = 0; ok && m < M; m++) {
        json_t *e = json_array_get(modes, m), *ps = json_object_get(e, "parameters");
        hcmc_run_mode *o = &r->modes[m];
        json_t *mi = json_object_get(e, "mirror"), *ch = json_object_get(e, "chains");
        ok = !read_num(e, "weight", &o->weight) &&
             !read_num(e, "weight_se", &o->weight_se) && json_is_object(ps) &&
             json_is_boolean(mi) && json_is_integer(ch);
        if (!ok)
            break;
        o->mirror = json_is_true(mi);
        o->chains = (size_t)json_integer_value(ch);
        o->found = -1;
        for (size_t k = 0; ok && k < d; k++) {
            json_t *p = json_object_get(ps, r->names[k]);
            hcmc_param_summary *q = &r->mode_summary[m * d + k];
            ok = json_is_object(p) && !read_num(p, "mean", &q->mean) &&
                 !read_num(p, "sd", &q->sd) && !read_num(p, "q05", &q->q05) &&
                 !read_num(p, "median", &q->median) && !read_num(p, "q95", &q->q95) &&
                 !read_num(p, "r_hat", &q->rhat) &&
                 !read_num(p, "ess_bulk", &q->ess_bulk) &&
                 !read_num(p, "ess_tail", &q->ess_tail);
        }
    }
    if (!ok) {
        free(r->mode_summary);
        r->mode_summary = NULL;
        return;
    }
    r->n_modes = M;
    r->mirrored = !strcmp(json_string_value(by), "mirror_prior_ratio");
}

static int read_count(json_t *o, const char *key, size_t *v)
{
    json_t *x = json_object_get(o, key);
    if (!json_is_integer(x) || json_integer_value(x) < 0)
        return -1;
    *v = (size_t)json_integer_value(x);
    return 0;
}

int hcmc_run_summary_read(const char *dir, hcmc_run_result **out, char *failure,
                          size_t cap, hcmc_error *err)
{
    *out = NULL;
    char path[HCMC_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/summary.json", dir);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root && je.line > 0)
        return hcmc_error_set(err, HCMC_EINVAL, "%s: line %d: %s", path, je.line,
                              je.text);
    if (!root)
        return hcmc_error_set(err, HCMC_EIO, "%s: %s", path, je.text);
    /* a file without a format is from before formats were named: version 1 */
    json_t *fmt = json_object_get(root, "format"),
           *fver = json_object_get(root, "format_version");
    if ((fmt && (!json_is_string(fmt) ||
                 strcmp(json_string_value(fmt), HCMC__SUMMARY_FORMAT_NAME))) ||
        (fver && !json_is_integer(fver))) {
        int rc =
            hcmc_error_set(err, HCMC_EFORMAT, "%s: not an hcmc summary (format %s)",
                           path, json_is_string(fmt) ? json_string_value(fmt) : "?");
        json_decref(root); /* after the message: it holds fmt's text */
        return rc;
    }
    if (fver && json_integer_value(fver) > HCMC__SUMMARY_FORMAT) {
        json_int_t v = json_integer_value(fver);
        json_decref(root);
        return hcmc_error_set(
            err, HCMC_EFORMAT,
            "%s: summary format %lld, this hcmc reads up to %d (a newer "
            "hcmc wrote it: read it with that version)",
            path, (long long)v, HCMC__SUMMARY_FORMAT);
    }
    hcmc_run_result *r = calloc(1, sizeof *r);
    const char *bad = NULL;
    json_t *params = json_object_get(root, "parameters"),
           *shards = json_object_get(root, "shards"),
           *run = json_object_get(root, "run");
    if (!r) {
        json_decref(root);
        return hcmc_error_set(err, HCMC_ENOMEM, "%s: out of memory", path);
    }
    if (!json_is_object(params))
        bad = "parameters";
    else if (!json_is_array(shards))
        bad = "shards";
    else if (!json_is_object(run))
        bad = "run";
    if (bad)
        goto fail;
    r->dim = json_object_size(params);
    r->n_shards = json_array_size(shards);
    r->names = calloc(r->dim ? r->dim : 1, sizeof *r->names);
    r->summary = calloc(r->dim ? r->dim : 1, sizeof *r->summary);
    r->shards = calloc(r->n_shards ? r->n_shards : 1, sizeof *r->shards);
    if (!r->names || !r->summary || !r->shards) {
        json_decref(root);
        hcmc_run_result_free(r);
        return hcmc_error_set(err, HCMC_ENOMEM, "%s: out of memory", path);
    }
    size_t k = 0;
    const char *name;
    json_t *p;
    json_object_foreach(params, name, p)
    {
        hcmc_param_summary *ps = &r->summary[k];
        snprintf(r->names[k], sizeof r->names[k], "%s", name);
        if (!json_is_object(p) || read_num(p, "mean", &ps->mean) ||
            read_num(p, "sd", &ps->sd) || read_num(p, "q05", &ps->q05) ||
            read_num(p, "q50", &ps->median) || read_num(p, "q95", &ps->q95) ||
            read_num(p, "r_hat", &ps->rhat) || read_num(p, "ess_bulk", &ps->ess_bulk) ||
            read_num(p, "ess_tail", &ps->ess_tail) ||
            read_num(p, "mcse_mean", &ps->mcse_mean)) {
            bad = "parameters";
            goto fail;
        }
        ps->mcse_sd = NAN;
        read_num(p, "mcse_sd", &ps->mcse_sd); /* optional: not in older files */
        k++;
    }
    modes_read(json_object_get(run, "modes"), json_object_get(run, "modes_weighed_by"),
               r);
    json_t *fixed = json_object_get(root, "fixed_parameters"); /* optional */
    json_object_foreach(fixed, name, p)
    {
        int ph = hcmc_phys_index(name);
        if (ph < 0 || read_num(fixed, name, &r->phys_fixed_value[ph])) {
            bad = "fixed_parameters";
            goto fail;
        }
        r->phys_fixed[ph] = true;
    }
    json_t *o;
    json_array_foreach(shards, k, o)
    {
        hcmc_run_shard *sh = &r->shards[k];
        const char *st = json_string_value(json_object_get(o, "status"));
        const char *why = json_string_value(json_object_get(o, "reason"));
        size_t i = 0;
        while (st && i < N_STATUS && strcmp(st, status_names[i]))
            i++;
        if (!st || i == N_STATUS || read_count(o, "id", &sh->id) ||
            read_count(o, "points", &sh->points) ||
            read_count(o, "divergences", &sh->divergences) ||
            read_num(o, "seconds", &sh->seconds) ||
            read_num(o, "r_hat_max", &sh->rhat_max)) {
            bad = "shards";
            goto fail;
        }
        sh->status = (int)i;
        read_count(o, "reruns", &sh->reruns); /* optional */
        r->n_kept += i == HCMC_SHARD_KEPT;
        read_count(o, "transitions", &sh->transitions); /* optional (older files) */
        read_count(o, "max_tree_depth_hits", &sh->treedepth_hits);
        if (read_num(o, "e_bfmi_min", &sh->ebfmi_min))
            sh->ebfmi_min = NAN;
        snprintf(sh->reason, sizeof sh->reason, "%s", why ? why : "");
    }
    const char *backend = json_string_value(json_object_get(run, "backend"));
    const char *error = json_string_value(json_object_get(run, "error"));
    if (!backend || read_count(run, "workers", &r->workers) ||
        read_count(run, "points", &r->n_points) ||
        read_num(run, "seconds", &r->seconds) ||
        read_num(run, "sampling_seconds", &r->sampling_seconds)) {
        bad = "run";
        goto fail;
    }
    read_count(run, "sampled_shards", &r->sampled); /* optional */
    json_t *im = json_object_get(run, "importance");
    if (json_is_object(im)) {
        size_t n = 0;
        read_count(im, "proposals", &n);
        read_count(im, "rounds", &r->importance.rounds); /* optional */
        read_num(im, "ess", &r->importance.ess);
        read_num(im, "tail_index", &r->importance.khat);
        r->importance.n = n;
        r->importance.applied = json_is_true(json_object_get(im, "applied"));
    }
    json_t *rf = json_object_get(run, "refinement"); /* optional */
    if (json_is_object(rf)) {
        json_t *why = json_object_get(rf, "why");
        r->refine.done = !json_is_false(json_object_get(rf, "done"));
        r->refine.skipped = !r->refine.done;
        read_num(rf, "estimated_seconds", &r->refine.estimate);
        snprintf(r->refine.why, sizeof r->refine.why, "%s",
                 json_is_string(why) ? json_string_value(why) : "");
        read_count(rf, "points", &r->refine.points);
        read_count(rf, "chains", &r->refine.chains);
        read_count(rf, "length", &r->refine.length);
        read_num(rf, "seconds", &r->refine.seconds);
        read_count(rf, "transitions", &r->refine.transitions);
        read_count(rf, "divergences", &r->refine.divergences);
    }
    read_count(run, "reused_shards", &r->reused);
    if (verdict_read(json_object_get(run, "verdict"), &r->verdict)) {
        bad = "run.verdict";
        goto fail;
    }
    json_t *seed = json_object_get(run, "seed");
    if (json_is_integer(seed) && json_integer_value(seed) >= 0)
        r->seed = (uint64_t)json_integer_value(seed);
    else if (json_is_string(seed))
        r->seed = strtoull(json_string_value(seed), NULL, 10);
    if (read_num(run, "warm_start_seconds", &r->warm_start_seconds))
        r->warm_start_seconds = NAN;
    snprintf(r->backend, sizeof r->backend, "%s", backend);
    if (failure && cap)
        snprintf(failure, cap, "%s", error ? error : "");
    json_decref(root);
    *out = r;
    return HCMC_OK;
fail:
    json_decref(root);
    hcmc_run_result_free(r);
    return hcmc_error_set(err, HCMC_EINVAL,
                          "%s: \"%s\" is missing or not as hcmc writes it (is this a "
                          "summary.json of hcmc %s?)",
                          path, bad, HCMC_VERSION);
}
