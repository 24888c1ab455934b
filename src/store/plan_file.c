/* RUN_DIR/plan.h5: a prepared problem on disk for batch workers.
 *
 * The file holds what cannot be rebuilt cheaply or without the data file:
 * the points table, the shard plan, the warm start (z0, cov0), the fixed
 * scaling values and the noise scale; and what says how the rest is
 * rebuilt: the configuration's text and the command-line overrides. Every
 * array is stored with checksums. A reader recomputes the problem's
 * fingerprint and refuses the plan unless it equals the stored one, so a
 * worker never samples a problem other than the driver's (another hcmc
 * version, a damaged or edited file). */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "../base/files.h"
#include "../cmc/cmc_internal.h"
#include "../data/h5util.h"
#include "hcmc/version.h"
#include "../config/config_internal.h"
#include "store.h"

#define PLAN_FORMAT "hcmc plan 2"

_Static_assert(sizeof(size_t) == sizeof(uint64_t), "size_t is stored as uint64");

/* A string attribute into a new buffer; NULL when missing. */
static char *read_attr_str(hid_t loc, const char *name)
{
    if (H5Aexists(loc, name) <= 0)
        return NULL;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    hid_t t = a >= 0 ? H5Aget_type(a) : -1;
    char *s = NULL;
    if (t >= 0 && H5Tget_class(t) == H5T_STRING && !H5Tis_variable_str(t)) {
        size_t n = H5Tget_size(t);
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, n + 1);
        if ((s = calloc(n + 2, 1)) && H5Aread(a, mt, s) < 0) {
            free(s);
            s = NULL;
        }
        H5Tclose(mt);
    }
    if (t >= 0)
        H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    return s;
}

static int put(hid_t f, const char *name, hid_t file_t, hid_t mem_t, size_t n,
               const void *data)
{
    hsize_t d[1] = {n};
    return hcmc__h5_write_checked(f, name, file_t, 1, d, data, mem_t);
}

/* Reads dataset name of exactly n elements into buf. */
static int get(hid_t f, const char *name, hid_t mem_t, size_t n, void *buf)
{
    if (hcmc__h5_size(f, name) != (long long)n)
        return -1;
    if (n == 0)
        return 0;
    hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
    int rc =
        ds >= 0 && H5Dread(ds, mem_t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0 ? 0 : -1;
    if (ds >= 0)
        H5Dclose(ds);
    return rc;
}

int hcmc__plan_write(const char *path, const hcmc_config *c, const hcmc__prepared *P,
                     hcmc_error *err)
{
    if (!c->text)
        return hcmc_error_set(err, HCMC_EINVAL,
                              "%s: a plan needs the configuration's text (a "
                              "configuration read from a file or a string)",
                              path);
    hcmc__h5_init();
    const hcmc_points *pts = &P->pts;
    const hcmc_shard_plan *plan = P->plan;
    const hcmc_target_spec *spec = hcmc__problem_spec(P->prob);
    const double *cov0, *z0 = hcmc__problem_start(P->prob, &cov0);
    size_t A = pts->n_phi, n = pts->n, K = plan->n_shards,
           d = hcmc_problem_dim(P->prob);
    char *ov = calloc(c->n_overrides + 1, sizeof c->overrides[0] + 1);
    if (!ov)
        return hcmc_error_set(err, HCMC_ENOMEM, "%s: out of memory", path);
    for (size_t k = 0; k < c->n_overrides; k++) {
        strcat(ov, c->overrides[k]);
        strcat(ov, "\n");
    }
    char tmp[HCMC_PATH_MAX + 32];
    if (hcmc__tmp_name(tmp, sizeof tmp, path)) {
        free(ov);
        return hcmc_error_set(err, HCMC_EINVAL, "%s: path too long", path);
    }
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) {
        free(ov);
        return hcmc_error_set(err, HCMC_EIO, "%s: cannot create", tmp);
    }
    uint64_t fp = P->fingerprint, nt = pts->n_t, cmc = P->cmc;
    int law_kind[2] = {(int)spec->law_kind[0], (int)spec->law_kind[1]};
    int bad =
        hcmc__h5_attr_string(f, "format", PLAN_FORMAT) ||
        hcmc__h5_attr_string(f, "hcmc_version", HCMC_VERSION) ||
        hcmc__h5_attr_string(f, "config", c->text) ||
        hcmc__h5_attr_string(f, "config_source", c->source) ||
        hcmc__h5_attr_string(f, "overrides", ov) ||
        hcmc__h5_attr_string(f, "data_file", c->data_file) ||
        hcmc__h5_attr_write(f, "fingerprint", H5T_STD_U64LE, H5T_NATIVE_UINT64, &fp) ||
        hcmc__h5_attr_write(f, "n_t", H5T_STD_U64LE, H5T_NATIVE_UINT64, &nt) ||
        hcmc__h5_attr_write(f, "cmc", H5T_STD_U64LE, H5T_NATIVE_UINT64, &cmc) ||
        hcmc__h5_attr_write(f, "sigma_scale", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                            &spec->sigma_scale);
    free(ov);
    bad = bad || put(f, "phi", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, A, pts->phi) ||
          put(f, "angle_start", H5T_STD_U64LE, H5T_NATIVE_UINT64, A + 1,
              pts->angle_start) ||
          put(f, "y", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, n, pts->y) ||
          put(f, "i", H5T_STD_U16LE, H5T_NATIVE_UINT16, n, pts->i) ||
          put(f, "j", H5T_STD_U16LE, H5T_NATIVE_UINT16, n, pts->j) ||
          put(f, "shard_start", H5T_STD_U64LE, H5T_NATIVE_UINT64, K + 1, plan->start) ||
          put(f, "shard_idx", H5T_STD_U64LE, H5T_NATIVE_UINT64, n, plan->idx) ||
          put(f, "shard_cost", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, K, plan->cost) ||
          put(f, "shard_order", H5T_STD_U64LE, H5T_NATIVE_UINT64, K, plan->order) ||
          put(f, "z0", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, d, z0) ||
          put(f, "cov0", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, d * d, cov0) ||
          put(f, "law_slope_scale", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2,
              spec->law_slope_scale) ||
          put(f, "law_kind", H5T_STD_I32LE, H5T_NATIVE_INT, 2, law_kind);
    int one_kind[2];
    double one_scale[2];
    if (!bad && hcmc__problem_one_laws(P->prob, one_kind, one_scale))
        bad = put(f, "refine_law_kind", H5T_STD_I32LE, H5T_NATIVE_INT, 2, one_kind) ||
              put(f, "refine_law_slope_scale", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2,
                  one_scale);
    if (!bad && spec->fixed_contrast && spec->fixed_offset)
        bad = put(f, "fixed_contrast", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, A,
                  spec->fixed_contrast) ||
              put(f, "fixed_offset", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, A,
                  spec->fixed_offset);
    if (H5Fclose(f) < 0)
        bad = 1;
    if (bad) {
        remove(tmp);
        return hcmc_error_set(err, HCMC_EIO, "%s: cannot write the plan (disk full?)",
                              tmp);
    }
    return hcmc__commit(tmp, path, err);
}

/* The configuration of the plan: its text, then its overrides. */
static int plan_config(hid_t f, const char *path, hcmc_config *c, hcmc_error *err)
{
    char *text = read_attr_str(f, "config"), *ov = read_attr_str(f, "overrides");
    char *src = read_attr_str(f, "config_source");
    int rc = HCMC_OK;
    if (!text || !ov) {
        rc =
            hcmc_error_set(err, HCMC_EFORMAT, "%s: no configuration in the plan", path);
        goto done;
    }
    char name[HCMC_PATH_MAX + 64];
    snprintf(name, sizeof name, "%s (%s)", src ? src : "configuration", path);
    if ((rc = hcmc_config_parse(text, strlen(text), name, c, err)))
        goto done;
    rc = hcmc__overrides_apply(c, ov, false, err);
done:
    free(text);
    free(ov);
    free(src);
    return rc;
}

/* The plan's format name: another format, or another version of this
 * one, is refused with a message that says which. */
static int check_format(hid_t f, const char *path, hcmc_error *err)
{
    char *format = read_attr_str(f, "format");
    int rc = HCMC_OK;
    if (format && !strncmp(format, "hcmc plan ", 10) && strcmp(format, PLAN_FORMAT))
        rc =
            hcmc_error_set(err, HCMC_EFORMAT,
                           "%s: plan file format '%s', this hcmc reads '%s' (another "
                           "hcmc version wrote it: make the plan again with hcmc plan)",
                           path, format, PLAN_FORMAT);
    else if (!format || strcmp(format, PLAN_FORMAT))
        rc = hcmc_error_set(err, HCMC_EFORMAT, "%s: not an hcmc plan file", path);
    free(format);
    return rc;
}

int hcmc__plan_read(const char *path, hcmc_config *c, hcmc__prepared *P,
                    hcmc_error *err)
{
    memset(P, 0, sizeof *P);
    memset(c, 0, sizeof *c);
    hcmc__h5_init();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return hcmc_error_set(err, HCMC_EIO,
                              "%s: cannot open the plan (missing, truncated or not "
                              "HDF5; make it with hcmc plan)",
                              path);
    int rc = HCMC_OK;
    double *fixed = NULL, *z0 = NULL, *cov0 = NULL;
    char *version = read_attr_str(f, "hcmc_version");
    if ((rc = check_format(f, path, err)))
        goto done;
    if (!version || strcmp(version, HCMC_VERSION)) {
        rc = hcmc_error_set(err, HCMC_EFORMAT,
                            "%s: made by hcmc %s, this is hcmc %s: make the plan again "
                            "(hcmc plan) or use the same version",
                            path, version ? version : "?", HCMC_VERSION);
        goto done;
    }
    if ((rc = plan_config(f, path, c, err)))
        goto done;
    uint64_t fp = 0, nt = 0, cmc = 0;
    double sigma_scale = 0;
    hsize_t n = 0, A = 0, K = 0;
    /* sizes from the datasets themselves */
    const char *const sized[] = {"y", "phi", "shard_cost"};
    hsize_t *sizes[] = {&n, &A, &K};
    for (int k = 0; k < 3; k++) {
        long long np = hcmc__h5_size(f, sized[k]);
        if (np < 0) {
            rc = hcmc_error_set(err, HCMC_EFORMAT, "%s: dataset '%s' missing", path,
                                sized[k]);
            goto done;
        }
        *sizes[k] = (hsize_t)np;
    }
    if (hcmc__h5_attr_read(f, "fingerprint", H5T_NATIVE_UINT64, &fp) ||
        hcmc__h5_attr_read(f, "n_t", H5T_NATIVE_UINT64, &nt) ||
        hcmc__h5_attr_read(f, "cmc", H5T_NATIVE_UINT64, &cmc) ||
        hcmc__h5_attr_read(f, "sigma_scale", H5T_NATIVE_DOUBLE, &sigma_scale) || !K ||
        !A) {
        rc =
            hcmc_error_set(err, HCMC_EFORMAT, "%s: incomplete plan (attributes)", path);
        goto done;
    }
    if ((rc = hcmc_points_init(&P->pts, n, A, nt, err)))
        goto done;
    P->plan = calloc(1, sizeof *P->plan);
    if (P->plan) {
        P->plan->n_shards = K;
        P->plan->start = malloc((K + 1) * sizeof(size_t));
        P->plan->idx = malloc((n ? n : 1) * sizeof(size_t));
        P->plan->cost = malloc(K * sizeof(double));
        P->plan->order = malloc(K * sizeof(size_t));
    }
    hcmc_target_spec spec;
    hcmc_config_target_spec(c, &spec);
    int law_kind[2] = {0, 0};
    bool has_fixed = H5Lexists(f, "fixed_contrast", H5P_DEFAULT) > 0;
    long long nd = hcmc__h5_size(f, "z0");
    size_t d = nd > 0 ? (size_t)nd : 0;
    z0 = malloc((d ? d : 1) * sizeof(double));
    cov0 = malloc((d ? d * d : 1) * sizeof(double));
    fixed = malloc(2 * A * sizeof(double));
    if (!P->plan || !P->plan->start || !P->plan->idx || !P->plan->cost ||
        !P->plan->order || !z0 || !cov0 || !fixed) {
        rc = hcmc_error_set(err, HCMC_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    const struct {
        const char *name;
        hid_t t;
        size_t n;
        void *buf;
    } parts[] = {
        {"phi", H5T_NATIVE_DOUBLE, A, P->pts.phi},
        {"angle_start", H5T_NATIVE_UINT64, A + 1, P->pts.angle_start},
        {"y", H5T_NATIVE_DOUBLE, n, P->pts.y},
        {"i", H5T_NATIVE_UINT16, n, P->pts.i},
        {"j", H5T_NATIVE_UINT16, n, P->pts.j},
        {"shard_start", H5T_NATIVE_UINT64, K + 1, P->plan->start},
        {"shard_idx", H5T_NATIVE_UINT64, n, P->plan->idx},
        {"shard_cost", H5T_NATIVE_DOUBLE, K, P->plan->cost},
        {"shard_order", H5T_NATIVE_UINT64, K, P->plan->order},
        {"z0", H5T_NATIVE_DOUBLE, d, z0},
        {"cov0", H5T_NATIVE_DOUBLE, d * d, cov0},
        {"law_slope_scale", H5T_NATIVE_DOUBLE, 2, spec.law_slope_scale},
        {"law_kind", H5T_NATIVE_INT, 2, law_kind},
        {"fixed_contrast", H5T_NATIVE_DOUBLE, has_fixed ? A : 0, fixed},
        {"fixed_offset", H5T_NATIVE_DOUBLE, has_fixed ? A : 0, fixed + A},
    };
    for (size_t k = 0; k < sizeof parts / sizeof *parts; k++) {
        if (!parts[k].n && k >= 13)
            continue;
        if (!d || get(f, parts[k].name, parts[k].t, parts[k].n, parts[k].buf)) {
            rc =
                hcmc_error_set(err, HCMC_EFORMAT,
                               "%s: dataset '%s' missing, of the wrong size or damaged "
                               "(checksum)",
                               path, parts[k].name);
            goto done;
        }
    }
    if (P->plan->start[0] != 0 || P->plan->start[K] != n) {
        rc = hcmc_error_set(err, HCMC_EFORMAT,
                            "%s: shard_start does not cover the points", path);
        goto done;
    }
    for (int l = 0; l < 2; l++)
        spec.law_kind[l] = hcmc__law_kind(law_kind[l]);
    spec.model.n_t = nt;
    spec.num_shards = K;
    spec.sigma_scale = sigma_scale;
    spec.fixed_contrast = has_fixed ? fixed : NULL;
    spec.fixed_offset = has_fixed ? fixed + A : NULL;
    if ((rc = hcmc__problem_from_parts(&spec, &P->pts, d, z0, cov0, true, &P->prob,
                                       err)))
        goto done;
    /* optional (earlier plans have none): the refinement's coordinates */
    int one_kind[2];
    double one_scale[2];
    if (H5Lexists(f, "refine_law_kind", H5P_DEFAULT) > 0) {
        if (get(f, "refine_law_kind", H5T_NATIVE_INT, 2, one_kind) ||
            get(f, "refine_law_slope_scale", H5T_NATIVE_DOUBLE, 2, one_scale)) {
            rc = hcmc_error_set(err, HCMC_EFORMAT,
                                "%s: dataset 'refine_law_kind' or "
                                "'refine_law_slope_scale' of the wrong size or damaged",
                                path);
            goto done;
        }
        hcmc__problem_set_one_laws(P->prob, one_kind, one_scale);
    }
    P->cmc = cmc != 0;
    hcmc__config_nuts_settings(c, &P->ns);
    P->fingerprint = hcmc_problem_fingerprint(P->prob, P->plan, &P->ns);
    if (P->fingerprint != fp)
        rc = hcmc_error_set(
            err, HCMC_EFORMAT,
            "%s: the plan does not rebuild the problem it was made from "
            "(fingerprint %016llx, stored %016llx): make it again with "
            "hcmc plan",
            path, (unsigned long long)P->fingerprint, (unsigned long long)fp);
    /* a plan that rebuilds its problem holds the invariants */
    assert(rc || (hcmc__plan_ok(P->plan, P->pts.n) && hcmc__problem_ok(P->prob)));
done:
    free(version);
    free(fixed);
    free(z0);
    free(cov0);
    H5Fclose(f);
    if (rc)
        hcmc__prepared_release(P);
    return rc;
}

int hcmc__plan_shards(const char *path, size_t *K, hcmc_error *err)
{
    hcmc__h5_init();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return hcmc_error_set(err, HCMC_EIO, "%s: cannot open the plan", path);
    int rc = check_format(f, path, err);
    if (rc) {
        H5Fclose(f);
        return rc;
    }
    long long n = hcmc__h5_size(f, "shard_cost");
    H5Fclose(f);
    if (n <= 0)
        return hcmc_error_set(err, HCMC_EFORMAT, "%s: not an hcmc plan file", path);
    *K = (size_t)n;
    return HCMC_OK;
}

char *hcmc__plan_overrides(const char *path, hcmc_error *err)
{
    hcmc__h5_init();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        hcmc_error_set(err, HCMC_EIO, "%s: cannot open the plan", path);
        return NULL;
    }
    if (check_format(f, path, err)) {
        H5Fclose(f);
        return NULL;
    }
    char *ov = read_attr_str(f, "overrides");
    H5Fclose(f);
    if (!ov)
        hcmc_error_set(err, HCMC_EFORMAT,
                       "%s: no overrides attribute: not an hcmc plan", path);
    return ov;
}

void hcmc__prepared_release(hcmc__prepared *P)
{
    hcmc_problem_free(P->prob);
    hcmc_shard_plan_free(P->plan);
    hcmc_points_release(&P->pts);
    hcmc_dataset_release(&P->ds);
    memset(P, 0, sizeof *P);
}
