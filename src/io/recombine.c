/* hcmc_combine_dir: combine the shard files of a finished or partial run
 * again (another method, other gates) without sampling. A shard file holds
 * its draws in the sampling coordinates with the names and bounds of those
 * coordinates, so no data is needed. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "hcmc/log.h"
#include "hcmc/run.h"
#include "results.h"

typedef struct {
    long number;
    char path[HCMC_PATH_MAX + 320];
} shard_file;

static int by_number(const void *a, const void *b)
{
    const shard_file *x = a, *y = b;
    return (x->number > y->number) - (x->number < y->number);
}

typedef struct {
    size_t d;
    const double *bounds; /* [d][2] */
} box;

/* The target's constrain: scaled logit on the bounds, exp for sigma. */
static void constrain_box(const void *ctx, const double *z, double *theta)
{
    const box *b = ctx;
    for (size_t k = 0; k + 1 < b->d; k++)
        theta[k] = hcmc_bounded_from_real(b->bounds[2 * k], b->bounds[2 * k + 1], z[k],
                                          NULL, NULL, NULL);
    theta[b->d - 1] = exp(z[b->d - 1]);
}

/* One dataset into a new buffer of the given memory type; dims out. */
static void *read_ds(hid_t f, const char *name, hid_t mem, size_t elem, hsize_t *dims,
                     int want_rank)
{
    if (H5Lexists(f, name, H5P_DEFAULT) <= 0)
        return NULL;
    hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
    hid_t sp = H5Dget_space(ds);
    void *buf = NULL;
    if (sp >= 0 && H5Sget_simple_extent_ndims(sp) == want_rank &&
        H5Sget_simple_extent_dims(sp, dims, NULL) == want_rank) {
        size_t n = 1;
        for (int k = 0; k < want_rank; k++)
            n *= dims[k];
        buf = malloc(n * elem + 1);
        if (buf && H5Dread(ds, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
            free(buf);
            buf = NULL;
        }
    }
    if (sp >= 0)
        H5Sclose(sp);
    H5Dclose(ds);
    return buf;
}

typedef struct {
    hcmc_nuts_draws D;
    double *bounds;
    char *names;
    size_t points, d;
    char failure[200];
} loaded;

static unsigned long long attr_u64(hid_t f, const char *name)
{
    unsigned long long v = 0;
    if (H5Aexists(f, name) > 0) {
        hid_t a = H5Aopen(f, name, H5P_DEFAULT);
        H5Aread(a, H5T_NATIVE_ULLONG, &v);
        H5Aclose(a);
    }
    return v;
}

static int load(const char *path, loaded *L, size_t *chains, hcmc_error *err)
{
    memset(L, 0, sizeof *L);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return hcmc_error_set(err, HCMC_EFORMAT, "%s: not a readable shard file", path);
    L->points = attr_u64(f, "points");
    hsize_t d3[3], d2[2], db[2], dn[1];
    double *z = read_ds(f, "z", H5T_NATIVE_DOUBLE, sizeof(double), d3, 3);
    if (!z) {
        snprintf(L->failure, sizeof L->failure, "no draws in %s (the shard failed)",
                 path);
        H5Fclose(f);
        return 0;
    }
    size_t C = d3[0], S = d3[1], d = d3[2];
    hid_t st = H5Tcopy(H5T_C_S1);
    H5Tset_size(st, 40);
    L->bounds = read_ds(f, "bounds", H5T_NATIVE_DOUBLE, sizeof(double), db, 2);
    L->names = read_ds(f, "names", st, 40, dn, 1);
    H5Tclose(st);
    L->D.n = S;
    L->D.z = z;
    L->D.lp = read_ds(f, "lp", H5T_NATIVE_DOUBLE, sizeof(double), d2, 2);
    L->D.energy = read_ds(f, "energy", H5T_NATIVE_DOUBLE, sizeof(double), d2, 2);
    L->D.step_size = read_ds(f, "step_size", H5T_NATIVE_DOUBLE, sizeof(double), d2, 2);
    L->D.accept_stat =
        read_ds(f, "acceptance_rate", H5T_NATIVE_DOUBLE, sizeof(double), d2, 2);
    L->D.tree_depth = read_ds(f, "tree_depth", H5T_NATIVE_INT, sizeof(int), d2, 2);
    L->D.n_steps = read_ds(f, "n_steps", H5T_NATIVE_INT, sizeof(int), d2, 2);
    L->D.diverging = read_ds(f, "diverging", H5T_NATIVE_UCHAR, 1, d2, 2);
    H5Fclose(f);
    L->d = d;
    *chains = C;
    if (!L->bounds || db[0] != d || !L->names || dn[0] != d || !L->D.lp ||
        !L->D.energy || !L->D.step_size || !L->D.accept_stat || !L->D.tree_depth ||
        !L->D.n_steps || !L->D.diverging)
        return hcmc_error_set(err, HCMC_EFORMAT,
                              "%s: incomplete shard file (missing names, bounds or "
                              "sample statistics)",
                              path);
    L->D.theta = malloc(C * S * d * sizeof(double));
    if (!L->D.theta)
        return hcmc_error_set(err, HCMC_ENOMEM, "%s: out of memory", path);
    box b = {d, L->bounds};
    for (size_t g = 0; g < C * S; g++)
        constrain_box(&b, z + g * d, L->D.theta + g * d);
    return 0;
}

static void unload(loaded *L)
{
    free(L->D.z);
    free(L->D.theta);
    free(L->D.lp);
    free(L->D.energy);
    free(L->D.step_size);
    free(L->D.accept_stat);
    free(L->D.tree_depth);
    free(L->D.n_steps);
    free(L->D.diverging);
    free(L->bounds);
    free(L->names);
}

int hcmc_combine_dir(const hcmc_config *c, const char *dir, hcmc_run_result **out,
                     hcmc_error *err)
{
    *out = NULL;
    char sdir[HCMC_PATH_MAX + 16];
    snprintf(sdir, sizeof sdir, "%s/shards", dir);
    DIR *dp = opendir(sdir);
    if (!dp)
        return hcmc_error_set(err, HCMC_EIO,
                              "%s: no shard files (not a run directory?)", sdir);
    shard_file *files = NULL;
    size_t K = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(dp))) {
        long num;
        char tail[8];
        if (sscanf(de->d_name, "shard_%ld.%7s", &num, tail) != 2 || strcmp(tail, "h5"))
            continue;
        if (K == cap) {
            cap = cap ? 2 * cap : 64;
            shard_file *g = realloc(files, cap * sizeof *files);
            if (!g) {
                closedir(dp);
                free(files);
                return hcmc_error_set(err, HCMC_ENOMEM, "out of memory");
            }
            files = g;
        }
        files[K].number = num;
        snprintf(files[K].path, sizeof files[K].path, "%s/%s", sdir, de->d_name);
        K++;
    }
    closedir(dp);
    if (K == 0) {
        free(files);
        return hcmc_error_set(err, HCMC_ENODATA, "%s: no shard_NNNNN.h5 files", sdir);
    }
    qsort(files, K, sizeof *files, by_number);
    loaded *L = calloc(K, sizeof *L);
    hcmc_shard_draws *sd = calloc(K, sizeof *sd);
    const hcmc_nuts_draws **nd = calloc(K, sizeof *nd);
    hcmc_run_result *r = calloc(1, sizeof *r);
    hcmc_combine_result *comb = NULL;
    int rc =
        !L || !sd || !nd || !r ? hcmc_error_set(err, HCMC_ENOMEM, "out of memory") : 0;
    size_t C = 0, ref = K;
    for (size_t k = 0; !rc && k < K; k++) {
        size_t ck = 0;
        rc = load(files[k].path, &L[k], &ck, err);
        if (rc)
            break;
        if (L[k].failure[0]) {
            sd[k].failure = L[k].failure;
            continue;
        }
        if (ref == K) {
            ref = k;
            C = ck;
        }
        size_t div = 0;
        for (size_t g = 0; g < ck * L[k].D.n; g++)
            div += L[k].D.diverging[g];
        sd[k] = (hcmc_shard_draws){.chains = ck,
                                   .draws = L[k].D.n,
                                   .dim = L[k].d,
                                   .z = L[k].D.z,
                                   .divergences = div};
        nd[k] = &L[k].D;
    }
    if (!rc && ref == K)
        rc = hcmc_error_set(err, HCMC_ENODATA, "%s: every shard failed", sdir);
    size_t d = !rc ? L[ref].d : 0, np = hcmc_mode_nphys(c->mode);
    box b = {d, !rc ? L[ref].bounds : NULL};
    double(*pb)[2] = !rc ? calloc(np, sizeof *pb) : NULL;
    if (!rc) {
        for (size_t k = 0; k < np && k < d; k++) {
            pb[k][0] = L[ref].bounds[2 * k];
            pb[k][1] = L[ref].bounds[2 * k + 1];
        }
        hcmc_combine_settings cs;
        hcmc_combine_settings_defaults(&cs);
        rc = hcmc_combine_method_parse(c->combination, &cs.method, err);
        cs.max_divergence_rate = c->max_divergence_rate;
        cs.max_parameter_cv = c->max_parameter_cv;
        cs.heterogeneity_abort = c->heterogeneity_abort;
        cs.min_success_rate = c->min_success_rate;
        cs.nphys = np < d ? np : 0;
        cs.constrain = constrain_box;
        cs.ctx = &b;
        cs.bounds = (const double(*)[2])pb;
        cs.seed = c->seed;
        if (!rc)
            rc = hcmc_combine(sd, K, &cs, &comb, err);
    }
    if (!rc) {
        size_t S = comb->draws, G = C * S;
        r->n_shards = K;
        r->n_kept = comb->n_kept;
        r->dim = d;
        r->chains = C;
        r->draws = S;
        snprintf(r->backend, sizeof r->backend, "combine");
        r->names = calloc(d, sizeof *r->names);
        r->theta = malloc(G * d * sizeof(double));
        r->summary = calloc(d, sizeof *r->summary);
        r->shards = calloc(K, sizeof *r->shards);
        if (!r->names || !r->theta || !r->summary || !r->shards)
            rc = hcmc_error_set(err, HCMC_ENOMEM, "out of memory");
        for (size_t k = 0; !rc && k < d; k++)
            snprintf(r->names[k], sizeof r->names[k], "%s", L[ref].names + 40 * k);
        for (size_t g = 0; !rc && g < G; g++)
            constrain_box(&b, comb->z + g * d, r->theta + g * d);
        for (size_t k = 0; !rc && k < d; k++)
            hcmc_param_summarise(r->theta + k, C, S, d, &r->summary[k]);
        for (size_t k = 0; !rc && k < K; k++) {
            r->shards[k].id = (size_t)files[k].number;
            r->shards[k].points = L[k].points;
            r->shards[k].divergences = sd[k].divergences;
            r->shards[k].status = comb->status[k];
            snprintf(r->shards[k].reason, sizeof r->shards[k].reason, "%s",
                     comb->reason[k]);
            r->n_points += L[k].points;
        }
    }
    if (!rc) {
        char path[HCMC_PATH_MAX + 32], sum[17] = "", created[32] = "";
        hcmc_results_extra x = {created,
                                c->data_file,
                                sum,
                                c->text ? c->text : "",
                                (unsigned long long)c->seed,
                                nd};
        snprintf(path, sizeof path, "%s/summary.json", dir);
        rc = hcmc__write_summary(path, r, c, NULL, err);
        snprintf(path, sizeof path, "%s/posterior.nc", dir);
        if (!rc)
            rc = hcmc__write_posterior(path, r, &x, err);
    }
    for (size_t k = 0; L && k < K; k++)
        unload(&L[k]);
    free(pb);
    free(L);
    free(sd);
    free(nd);
    free(files);
    hcmc_combine_result_free(comb);
    if (rc) {
        hcmc_run_result_free(r);
        return rc;
    }
    *out = r;
    return HCMC_OK;
}
