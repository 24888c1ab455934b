/* Result files: summary.json (jansson), posterior.nc (netCDF-4 groups in
 * ArviZ's InferenceData layout), shards/shard_NNNNN.h5 (HDF5). Every file
 * is written to a temporary beside its final name and renamed. */
#include "results.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>
#include <jansson.h>
#include <netcdf.h>

#include "../base/atomic.h"
#include "../data/h5util.h"
#include "hcmc/combine.h"
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

int hcmc__write_summary(const char *path, const hcmc_run_result *r,
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
    json_object_set_new(run, "seed", json_integer((json_int_t)c->seed));
    json_object_set_new(run, "points", json_integer((json_int_t)r->n_points));
    json_object_set_new(run, "combination", json_string(c->combination));
    if (r->importance.n) {
        json_t *im = json_object();
        json_object_set_new(im, "applied", json_boolean(r->importance.applied));
        json_object_set_new(im, "ess", num(r->importance.ess));
        json_object_set_new(im, "tail_index", num(r->importance.khat));
        json_object_set_new(im, "proposals", json_integer((json_int_t)r->importance.n));
        json_object_set_new(run, "importance", im);
    } else {
        json_object_set_new(run, "importance", json_null());
    }
    json_object_set_new(run, "min_success_rate", num(c->min_success_rate));
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
        k++;
    }
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
        r->n_kept += i == HCMC_SHARD_KEPT;
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
        read_num(im, "ess", &r->importance.ess);
        read_num(im, "tail_index", &r->importance.khat);
        r->importance.n = n;
        r->importance.applied = json_is_true(json_object_get(im, "applied"));
    }
    read_count(run, "reused_shards", &r->reused);
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

/* ---- posterior.nc ---------------------------------------------------------- */

int hcmc__posterior_data_file(const char *path, char *buf, size_t cap)
{
    int nc;
    size_t n;
    if (nc_open(path, NC_NOWRITE, &nc) != NC_NOERR)
        return -1;
    int bad = nc_inq_attlen(nc, NC_GLOBAL, "data_file", &n) != NC_NOERR || n >= cap ||
              nc_get_att_text(nc, NC_GLOBAL, "data_file", buf) != NC_NOERR;
    nc_close(nc);
    if (bad)
        return -1;
    buf[n] = 0;
    return 0;
}

int hcmc__write_posterior(const char *path, const hcmc_run_result *r,
                          const hcmc_results_extra *x, hcmc_error *err)
{
    char tmp[HCMC_PATH_MAX + 32];
    hcmc__tmp_name(tmp, sizeof tmp, path);
    int nc = -1, rc = 0;
    size_t C = r->chains, S = r->draws, d = r->dim, K = r->n_shards, G = C * S;
    double *buf = malloc((K * G > G ? K * G : G) * sizeof(double));
    if (!buf)
        return hcmc_error_set(err, HCMC_ENOMEM, "%s: out of memory", path);
    NC_TRY(nc_create(tmp, NC_NETCDF4 | NC_CLOBBER, &nc));
    NC_TRY(nc_put_att_text(nc, NC_GLOBAL, "hcmc_version", strlen(HCMC_VERSION),
                           HCMC_VERSION));
    NC_TRY(
        nc_put_att_text(nc, NC_GLOBAL, "created_at", strlen(x->created), x->created));
    NC_TRY(nc_put_att_text(nc, NC_GLOBAL, "data_file", strlen(x->data_file),
                           x->data_file));
    NC_TRY(nc_put_att_text(nc, NC_GLOBAL, "data_checksum_fnv1a64", strlen(x->checksum),
                           x->checksum));
    NC_TRY(nc_put_att_text(nc, NC_GLOBAL, "config", strlen(x->config_text),
                           x->config_text));
    unsigned long long seed = x->seed;
    NC_TRY(nc_put_att_ulonglong(nc, NC_GLOBAL, "seed", NC_UINT64, 1, &seed));
    NC_TRY(nc_put_att_text(nc, NC_GLOBAL, "inference_library", 4, "hcmc"));

    /* dimensions at the root, shared by the groups below it */
    int g, dc, dd, ds, v;
    NC_TRY(nc_def_dim(nc, "chain", C, &dc));
    NC_TRY(nc_def_dim(nc, "draw", S, &dd));
    NC_TRY(nc_def_dim(nc, "shard", K, &ds));
    /* posterior: combined draws in constrained units */
    NC_TRY(nc_def_grp(nc, "posterior", &g));
    for (size_t k = 0; k < d; k++) {
        int dims[2] = {dc, dd};
        NC_TRY(nc_def_var(g, r->names[k], NC_DOUBLE, 2, dims, &v));
        for (size_t i = 0; i < G; i++)
            buf[i] = r->theta[i * d + k];
        NC_TRY(nc_put_var_double(g, v, buf));
    }
    /* sample_stats: per shard, chain, draw */
    NC_TRY(nc_def_grp(nc, "sample_stats", &g));
    int dims3[3] = {ds, dc, dd};
    for (int stat = 0; stat < 7; stat++) {
        static const char *const names[7] = {"lp",        "energy",  "tree_depth",
                                             "step_size", "n_steps", "acceptance_rate",
                                             "diverging"};
        for (size_t k = 0; k < K; k++) {
            const hcmc_nuts_draws *D = x->shard_draws[k];
            for (size_t i = 0; i < G; i++) {
                double val = NAN;
                if (D && D->n == S)
                    val = stat == 0   ? D->lp[i]
                          : stat == 1 ? D->energy[i]
                          : stat == 2 ? D->tree_depth[i]
                          : stat == 3 ? D->step_size[i]
                          : stat == 4 ? D->n_steps[i]
                          : stat == 5 ? D->accept_stat[i]
                                      : D->diverging[i];
                buf[k * G + i] = val;
            }
        }
        if (stat == 6) {
            signed char *b8 = malloc(K * G);
            if (!b8) {
                rc = hcmc_error_set(err, HCMC_ENOMEM, "%s: out of memory", path);
                goto out;
            }
            for (size_t i = 0; i < K * G; i++)
                b8[i] = buf[i] == 1.0;
            NC_TRY(nc_def_var(g, names[stat], NC_BYTE, 3, dims3, &v));
            NC_TRY(nc_put_att_text(g, v, "dtype", 4, "bool"));
            int prc = nc_put_var_schar(g, v, b8);
            free(b8);
            NC_TRY(prc);
        } else if (stat == 2 || stat == 4) {
            NC_TRY(nc_def_var(g, names[stat], NC_INT64, 3, dims3, &v));
            long long *b64 = malloc(K * G * sizeof *b64);
            if (!b64) {
                rc = hcmc_error_set(err, HCMC_ENOMEM, "%s: out of memory", path);
                goto out;
            }
            for (size_t i = 0; i < K * G; i++)
                b64[i] = isfinite(buf[i]) ? (long long)buf[i] : -1;
            int prc = nc_put_var_longlong(g, v, b64);
            free(b64);
            NC_TRY(prc);
        } else {
            NC_TRY(nc_def_var(g, names[stat], NC_DOUBLE, 3, dims3, &v));
            NC_TRY(nc_put_var_double(g, v, buf));
        }
    }
    /* shards: each shard's own draws, constrained */
    NC_TRY(nc_def_grp(nc, "shards", &g));
    for (size_t p = 0; p < d; p++) {
        NC_TRY(nc_def_var(g, r->names[p], NC_DOUBLE, 3, dims3, &v));
        for (size_t k = 0; k < K; k++) {
            const hcmc_nuts_draws *D = x->shard_draws[k];
            for (size_t i = 0; i < G; i++)
                buf[k * G + i] = D && D->n == S && D->theta ? D->theta[i * d + p] : NAN;
        }
        NC_TRY(nc_put_var_double(g, v, buf));
    }
    NC_TRY(nc_close(nc));
    nc = -1;
    rc = hcmc__commit(tmp, path, err);
out:
    if (nc >= 0) {
        nc_close(nc);
        remove(tmp);
    }
    free(buf);
    return rc;
}

/* ---- shards/shard_NNNNN.h5 ------------------------------------------------ */

static int h5_attr_u64(hid_t loc, const char *name, unsigned long long v)
{
    return hcmc__h5_attr_write(loc, name, H5T_STD_U64LE, H5T_NATIVE_ULLONG, &v);
}

static int h5_attr_f64(hid_t loc, const char *name, double v)
{
    return hcmc__h5_attr_write(loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &v);
}

int hcmc__write_shard(const char *path, const hcmc_shard_result *r,
                      const hcmc_target *t, uint64_t fingerprint, hcmc_error *err)
{
    char tmp[HCMC_PATH_MAX + 32];
    hcmc__tmp_name(tmp, sizeof tmp, path);
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0)
        return hcmc_error_set(err, HCMC_EIO, "%s: cannot create", tmp);
    int bad = h5_attr_u64(f, "id", r->id) || h5_attr_u64(f, "points", r->n_points) ||
              hcmc__h5_attr_string(f, "status", r->status ? "failed" : "ok") ||
              hcmc__h5_attr_string(f, "message", r->message) ||
              hcmc__h5_attr_string(f, "hcmc_version", HCMC_VERSION) ||
              h5_attr_u64(f, "fingerprint", fingerprint) ||
              h5_attr_f64(f, "seconds", r->seconds) ||
              h5_attr_f64(f, "rhat_max", r->rhat_max) ||
              hcmc__h5_attr_string(f, "format", "hcmc-shard") ||
              h5_attr_u64(f, "format_version", HCMC__SHARD_FORMAT);
    if (!bad && t) { /* coordinate names, bounds and the law blocks of the map */
        const hcmc_coords *co = hcmc_target_coords(t);
        double laws[8];
        for (size_t l = 0; l < co->nlaw; l++) {
            const hcmc_law *w = &co->law[l];
            laws[4 * l] = (double)co->law_at[l];
            laws[4 * l + 1] = (double)w->kind;
            laws[4 * l + 2] = w->kind == HCMC_LAW_RATES ? w->t[2] : w->t_r;
            laws[4 * l + 3] = w->w;
        }
        hsize_t dl[2] = {co->nlaw, 4};
        bad = co->nlaw && hcmc__h5_write_checked(f, "laws", H5T_IEEE_F64LE, 2, dl, laws,
                                                 H5T_NATIVE_DOUBLE);
        size_t d = hcmc_target_dim(t);
        double *lohi = malloc(2 * d * sizeof(double));
        char *names = calloc(d, 40);
        if (!lohi || !names)
            bad = 1;
        for (size_t k = 0; !bad && k < d; k++) {
            hcmc_target_bounds(t, k, &lohi[2 * k], &lohi[2 * k + 1]);
            snprintf(names + 40 * k, 40, "%s", hcmc_target_param_name(t, k));
        }
        hsize_t db[2] = {d, 2}, dn[1] = {d};
        hid_t st = H5Tcopy(H5T_C_S1);
        H5Tset_size(st, 40);
        bad = bad ||
              hcmc__h5_write_checked(f, "bounds", H5T_IEEE_F64LE, 2, db, lohi,
                                     H5T_NATIVE_DOUBLE) ||
              hcmc__h5_write_checked(f, "names", st, 1, dn, names, st);
        H5Tclose(st);
        free(lohi);
        free(names);
    }
    if (!bad && r->nuts) {
        const hcmc_nuts_result *n = r->nuts;
        const hcmc_nuts_draws *D = &n->sampling;
        hsize_t d3[3] = {n->num_chains, D->n, n->dim}, d2[2] = {n->num_chains, D->n};
        bad = hcmc__h5_write_checked(f, "z", H5T_IEEE_F64LE, 3, d3, D->z,
                                     H5T_NATIVE_DOUBLE) ||
              (D->theta && hcmc__h5_write_checked(f, "theta", H5T_IEEE_F64LE, 3, d3,
                                                  D->theta, H5T_NATIVE_DOUBLE)) ||
              hcmc__h5_write_checked(f, "lp", H5T_IEEE_F64LE, 2, d2, D->lp,
                                     H5T_NATIVE_DOUBLE) ||
              hcmc__h5_write_checked(f, "energy", H5T_IEEE_F64LE, 2, d2, D->energy,
                                     H5T_NATIVE_DOUBLE) ||
              hcmc__h5_write_checked(f, "step_size", H5T_IEEE_F64LE, 2, d2,
                                     D->step_size, H5T_NATIVE_DOUBLE) ||
              hcmc__h5_write_checked(f, "acceptance_rate", H5T_IEEE_F64LE, 2, d2,
                                     D->accept_stat, H5T_NATIVE_DOUBLE) ||
              hcmc__h5_write_checked(f, "tree_depth", H5T_STD_I32LE, 2, d2,
                                     D->tree_depth, H5T_NATIVE_INT) ||
              hcmc__h5_write_checked(f, "n_steps", H5T_STD_I32LE, 2, d2, D->n_steps,
                                     H5T_NATIVE_INT) ||
              hcmc__h5_write_checked(f, "diverging", H5T_STD_U8LE, 2, d2, D->diverging,
                                     H5T_NATIVE_UCHAR);
    }
    if (H5Fclose(f) < 0)
        bad = 1;
    if (bad) {
        remove(tmp);
        return hcmc_error_set(err, HCMC_EIO, "%s: HDF5 write failed", path);
    }
    return hcmc__commit(tmp, path, err);
}
