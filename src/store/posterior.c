/* posterior.nc: the combined draws and every shard's draws as netCDF-4
 * groups in ArviZ's InferenceData layout (posterior, sample_stats, shards),
 * written to a temporary beside its final name and renamed. */
#include "store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netcdf.h>

#include "../base/files.h"
#include "hcmc/version.h"

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

int hcmc__posterior_write(const char *path, const hcmc_run_result *r,
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
    /* posterior: combined draws in constrained units (none when the shards
     * could not be combined) */
    if (r->theta)
        NC_TRY(nc_def_grp(nc, "posterior", &g));
    for (size_t k = 0; r->theta && k < d; k++) {
        int dims[2] = {dc, dd};
        NC_TRY(nc_def_var(g, r->names[k], NC_DOUBLE, 2, dims, &v));
        for (size_t i = 0; i < G; i++)
            buf[i] = r->theta[i * d + k];
        NC_TRY(nc_put_var_double(g, v, buf));
    }
    /* modes: each draw's mode and the modes' weights, where several were
     * sampled (run.h hcmc_run_result modes) */
    if (r->theta && r->n_modes > 1 && r->mode_of) {
        int dm;
        NC_TRY(nc_def_grp(nc, "modes", &g));
        NC_TRY(nc_def_dim(g, "mode", r->n_modes, &dm));
        int dims[2] = {dc, dd};
        NC_TRY(nc_def_var(g, "draw_mode", NC_INT, 2, dims, &v));
        NC_TRY(nc_put_var_int(g, v, r->mode_of));
        for (size_t m = 0; m < r->n_modes; m++)
            buf[m] = r->modes[m].weight;
        NC_TRY(nc_def_var(g, "weight", NC_DOUBLE, 1, &dm, &v));
        NC_TRY(nc_put_var_double(g, v, buf));
        for (size_t m = 0; m < r->n_modes; m++)
            buf[m] = r->modes[m].weight_se;
        NC_TRY(nc_def_var(g, "weight_se", NC_DOUBLE, 1, &dm, &v));
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
