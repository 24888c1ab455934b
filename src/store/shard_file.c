/* shards/shard_NNNNN.h5 (HDF5): one shard's draws in its sampling
 * coordinates with their names, bounds and map, its diagnostics and the
 * fingerprint of the problem it belongs to. Written to a temporary beside
 * its final name and renamed; read back for hcmc combine (no data needed:
 * the file has the coordinates' names, bounds and map) and for resuming a
 * run (the fingerprint says which problem the file belongs to). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "../base/files.h"
#include "../data/h5util.h"
#include "hcmc/version.h"
#include "store.h"

#include <errno.h>
#include <unistd.h>

#include "hcmc/log.h"

void hcmc__coords_constrain(const void *ctx, const double *z, double *theta)
{
    hcmc_coords_constrain(ctx, z, theta);
}

/* One dataset into a new buffer of the given memory type; dims out. NULL
 * when absent or of another rank. */
static void *read_ds(hid_t f, const char *name, hid_t mem, size_t elem, hsize_t *dims,
                     int want_rank)
{
    if (H5Lexists(f, name, H5P_DEFAULT) <= 0)
        return NULL;
    hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
    if (ds < 0)
        return NULL;
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

static bool read_attr(hid_t f, const char *name, hid_t mem, void *v)
{
    return hcmc__h5_attr_read(f, name, mem, v) == 0;
}

/* The map of the file's coordinates: its bounds, with the law blocks of
 * its dataset "laws" ([n][4]: first coordinate, kind (law.h), reference
 * time for SHAPE and SLOPE or last frame time for RATES, the scale of
 * SHAPE's log-slope or of SLOPE's curvature) in
 * format 2,
 * logit everywhere in format 1. */
static int read_coords(hid_t f, const char *path, hcmc__shard_file *L, unsigned version,
                       hcmc_error *err)
{
    int rc = hcmc_coords_init(&L->coords, L->d, (const double(*)[2])L->bounds,
                              version < 2, err);
    if (rc || version < 2 || H5Lexists(f, "laws", H5P_DEFAULT) <= 0)
        return rc;
    hsize_t dl[2];
    double *laws = read_ds(f, "laws", H5T_NATIVE_DOUBLE, sizeof(double), dl, 2);
    if (!laws || dl[1] != 4 || dl[0] > 2) {
        free(laws);
        return hcmc_error_set(err, HCMC_EFORMAT, "%s: the dataset laws is malformed",
                              path);
    }
    for (size_t l = 0; !rc && l < dl[0]; l++) {
        const double *w = laws + 4 * l;
        if (!(w[0] >= 0 && w[0] < (double)L->d) ||
            hcmc_coords_add_law(&L->coords, (size_t)w[0], hcmc__law_kind(w[1]), w[2], w[3],
                                err))
            rc = hcmc_error_set(err, HCMC_EFORMAT,
                                "%s: law block %zu of the dataset laws is invalid",
                                path, l);
    }
    free(laws);
    return rc;
}

int hcmc__shard_file_read(const char *path, hcmc__shard_file *L, hcmc_error *err)
{
    memset(L, 0, sizeof *L);
    L->seconds = L->rhat_max = NAN;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return hcmc_error_set(err, HCMC_EFORMAT, "%s: not a readable shard file", path);
    unsigned long long u = 0;
    if (read_attr(f, "points", H5T_NATIVE_ULLONG, &u))
        L->points = (size_t)u;
    u = 0;
    if (read_attr(f, "id", H5T_NATIVE_ULLONG, &u))
        L->id = (size_t)u;
    L->has_fingerprint =
        read_attr(f, "fingerprint", H5T_NATIVE_UINT64, &L->fingerprint);
    read_attr(f, "seconds", H5T_NATIVE_DOUBLE, &L->seconds);
    read_attr(f, "rhat_max", H5T_NATIVE_DOUBLE, &L->rhat_max);
    u = 0;
    if (read_attr(f, "reruns", H5T_NATIVE_ULLONG, &u)) /* optional */
        L->reruns = (size_t)u;
    unsigned version = 1;
    read_attr(f, "format_version", H5T_NATIVE_UINT, &version);
    if (version > HCMC__SHARD_FORMAT) {
        H5Fclose(f);
        return hcmc_error_set(
            err, HCMC_EFORMAT,
            "%s: shard file format %u, this hcmc reads up to %u (a newer "
            "hcmc wrote it)",
            path, version, HCMC__SHARD_FORMAT);
    }
    hsize_t d3[3], d2[2], db[2], dn[1], dt[3];
    bool has_z = H5Lexists(f, "z", H5P_DEFAULT) > 0;
    double *z = read_ds(f, "z", H5T_NATIVE_DOUBLE, sizeof(double), d3, 3);
    if (has_z && !z) {
        H5Fclose(f);
        return hcmc_error_set(err, HCMC_EFORMAT,
                              "%s: the draws cannot be read (damaged file: a checksum "
                              "or the layout is wrong)",
                              path);
    }
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
    if (H5Lexists(f, "angles", H5P_DEFAULT) > 0) { /* optional: older files lack it */
        hsize_t da[1];
        L->angles = read_ds(f, "angles", H5T_NATIVE_DOUBLE, sizeof(double), da, 1);
        L->n_angles = L->angles ? (size_t)da[0] : 0;
    }
    L->D.n = S;
    L->D.z = z;
    L->D.theta = read_ds(f, "theta", H5T_NATIVE_DOUBLE, sizeof(double), dt, 3);
    L->D.lp = read_ds(f, "lp", H5T_NATIVE_DOUBLE, sizeof(double), d2, 2);
    L->D.energy = read_ds(f, "energy", H5T_NATIVE_DOUBLE, sizeof(double), d2, 2);
    L->D.step_size = read_ds(f, "step_size", H5T_NATIVE_DOUBLE, sizeof(double), d2, 2);
    L->D.accept_stat =
        read_ds(f, "acceptance_rate", H5T_NATIVE_DOUBLE, sizeof(double), d2, 2);
    L->D.tree_depth = read_ds(f, "tree_depth", H5T_NATIVE_INT, sizeof(int), d2, 2);
    L->D.n_steps = read_ds(f, "n_steps", H5T_NATIVE_INT, sizeof(int), d2, 2);
    L->D.diverging = read_ds(f, "diverging", H5T_NATIVE_UCHAR, 1, d2, 2);
    L->d = d;
    L->chains = C;
    int rc = L->bounds && db[0] == d ? read_coords(f, path, L, version, err) : 0;
    H5Fclose(f);
    if (rc)
        return rc;
    if (L->D.theta && (dt[0] != C || dt[1] != S || dt[2] != d)) {
        free(L->D.theta);
        L->D.theta = NULL;
    }
    if (!L->bounds || db[0] != d || !L->names || dn[0] != d || !L->D.lp ||
        !L->D.energy || !L->D.step_size || !L->D.accept_stat || !L->D.tree_depth ||
        !L->D.n_steps || !L->D.diverging || d2[0] != C || d2[1] != S)
        return hcmc_error_set(err, HCMC_EFORMAT,
                              "%s: incomplete or damaged shard file (names, bounds or "
                              "sample statistics missing or unreadable)",
                              path);
    if (!L->D.theta) {
        if (!(L->D.theta = malloc(C * S * d * sizeof(double))))
            return hcmc_error_set(err, HCMC_ENOMEM, "%s: out of memory", path);
        for (size_t g = 0; g < C * S; g++)
            hcmc_coords_constrain(&L->coords, z + g * d, L->D.theta + g * d);
    }
    return 0;
}

void hcmc__shard_file_release(hcmc__shard_file *L)
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
    free(L->angles);
    hcmc_coords_release(&L->coords);
    memset(L, 0, sizeof *L);
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

int hcmc__shard_file_write(const char *path, const hcmc_shard_result *r,
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
              h5_attr_u64(f, "reruns", r->reruns) ||
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
        const hcmc_points *pts = hcmc_target_points(t);
        hsize_t da[1] = {pts->n_phi}; /* the angles of its points (symmetries) */
        hid_t st = H5Tcopy(H5T_C_S1);
        H5Tset_size(st, 40);
        bad = bad ||
              hcmc__h5_write_checked(f, "bounds", H5T_IEEE_F64LE, 2, db, lohi,
                                     H5T_NATIVE_DOUBLE) ||
              hcmc__h5_write_checked(f, "names", st, 1, dn, names, st) ||
              (pts->n_phi && hcmc__h5_write_checked(f, "angles", H5T_IEEE_F64LE, 1, da,
                                                    pts->phi, H5T_NATIVE_DOUBLE));
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

void hcmc__shard_path(char *buf, size_t cap, const char *dir, size_t id)
{
    snprintf(buf, cap, "%s/shards/shard_%05zu.h5", dir, id);
}

hcmc_shard_result *hcmc__shard_reuse(const char *dir, size_t id, size_t points,
                                     uint64_t fp, bool *stale, bool *damaged)
{
    char path[HCMC_PATH_MAX + 64];
    hcmc__shard_path(path, sizeof path, dir, id);
    if (access(path, F_OK))
        return NULL;
    hcmc__shard_file L;
    hcmc_error e;
    hcmc_shard_result *r = NULL;
    int rc = hcmc__shard_file_read(path, &L, &e);
    if (rc || !L.has_fingerprint || L.fingerprint != fp || L.id != id ||
        L.points != points) {
        if (rc)
            hcmc_log(HCMC_LOG_WARN, "%s; the shard runs again", e.msg);
        if (rc && damaged)
            *damaged = true;
        *stale = *stale || !rc;
    } else if (!L.failure[0] && (r = calloc(1, sizeof *r)) &&
               (r->nuts = calloc(1, sizeof *r->nuts))) {
        r->id = id;
        r->n_points = points;
        r->seconds = L.seconds;
        r->rhat_max = L.rhat_max;
        r->reruns = L.reruns;
        r->ess_bulk_min = NAN;
        r->nuts->dim = L.d;
        r->nuts->num_chains = L.chains;
        r->nuts->sampling = L.D; /* moved */
        L.D = (hcmc_nuts_draws){0};
    } else {
        free(r);
        r = NULL;
    }
    hcmc__shard_file_release(&L);
    return r;
}
