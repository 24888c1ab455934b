/* Reading APS two-time files (see aps.h for the layouts). */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5util.h"
#include "hcmc/aps.h"
#include "hcmc/log.h"

const char *hcmc_aps_layout_name(hcmc_aps_layout l)
{
    switch (l) {
    case HCMC_APS_CURRENT:
        return "current (2025)";
    case HCMC_APS_LEGACY:
        return "legacy";
    case HCMC_APS_2024:
        return "2024 transitional";
    }
    return "?";
}

void hcmc_aps_info_release(hcmc_aps_info *info)
{
    if (!info)
        return;
    free(info->maps);
    free(info->q_bins);
    info->maps = NULL;
    info->q_bins = NULL;
}

typedef struct {
    const char *prefix;
    hcmc_aps_map *maps;
    size_t n, cap;
    int oom;
} map_list;

static herr_t collect(hid_t group, const char *name, const H5L_info_t *info, void *data)
{
    (void)group;
    (void)info;
    map_list *L = data;
    size_t pl = strlen(L->prefix);
    if (strncmp(name, L->prefix, pl) || !name[pl] || strlen(name) >= 64)
        return 0;
    for (const char *p = name + pl; *p; p++)
        if (!isdigit((unsigned char)*p))
            return 0;
    if (L->n == L->cap) {
        size_t cap = L->cap ? 2 * L->cap : 64;
        hcmc_aps_map *m = realloc(L->maps, cap * sizeof *m);
        if (!m) {
            L->oom = 1;
            return -1;
        }
        L->maps = m;
        L->cap = cap;
    }
    hcmc_aps_map *m = &L->maps[L->n++];
    memset(m, 0, sizeof *m);
    strcpy(m->name, name);
    m->number = strtol(name + pl, NULL, 10);
    return 0;
}

static int by_number(const void *a, const void *b)
{
    const hcmc_aps_map *x = a, *y = b;
    return (x->number > y->number) - (x->number < y->number);
}

static int fail(hcmc_error *err, int code, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(hcmc_error *err, int code, const char *path, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return hcmc_error_set(err, code, "%s: %s", path, msg);
}

/* Shape of the dataset group/name as rows x cols; -1 unless 2-D. */
static int map_shape(hid_t file, const char *full, hsize_t dims[2])
{
    hid_t ds = H5Dopen2(file, full, H5P_DEFAULT);
    if (ds < 0)
        return -1;
    hid_t sp = H5Dget_space(ds);
    int rank = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    int rc = rank == 2 && H5Sget_simple_extent_dims(sp, dims, NULL) == 2 ? 0 : -1;
    if (sp >= 0)
        H5Sclose(sp);
    H5Dclose(ds);
    return rc;
}

static void compression_of(hid_t file, const char *full, char *out, size_t cap)
{
    snprintf(out, cap, "none");
    hid_t ds = H5Dopen2(file, full, H5P_DEFAULT);
    if (ds < 0)
        return;
    hid_t dcpl = H5Dget_create_plist(ds);
    if (dcpl >= 0 && H5Pget_nfilters(dcpl) > 0) {
        unsigned flags;
        size_t nc = 0;
        char name[64] = "";
        H5Z_filter_t id =
            H5Pget_filter2(dcpl, 0, &flags, &nc, NULL, sizeof name, name, NULL);
        if (id == H5Z_FILTER_DEFLATE)
            snprintf(out, cap, "deflate");
        else if (id == (H5Z_filter_t)hcmc__lzf_filter_id())
            snprintf(out, cap, "lzf");
        else
            snprintf(out, cap, "filter %d%s%s", (int)id, name[0] ? " " : "", name);
    }
    if (dcpl >= 0)
        H5Pclose(dcpl);
    H5Dclose(ds);
}

static int add_q_bin(hcmc_aps_info *info, double q)
{
    for (size_t k = 0; k < info->n_q_bins; k++)
        if (info->q_bins[k] == q)
            return 0;
    double *g = realloc(info->q_bins, (info->n_q_bins + 1) * sizeof(double));
    if (!g)
        return -1;
    info->q_bins = g;
    info->q_bins[info->n_q_bins++] = q;
    return 0;
}

/* q and phi of every map, current layout. */
static int label_current(hid_t f, const char *path, hcmc_aps_info *info,
                         hcmc_error *err)
{
    static const char *const bins_p = "/xpcs/twotime/processed_bins",
                             *qg_p = "/xpcs/qmap/dynamic_v_list_dim0",
                             *pg_p = "/xpcs/qmap/dynamic_v_list_dim1",
                             *map_p = "/xpcs/qmap/dynamic_index_mapping";
    double *bins = NULL, *qg = NULL, *pg = NULL, *mp = NULL;
    size_t nb, nq, np, nm = 0;
    int rc = 0;
    if (hcmc__h5_read_vector(f, bins_p, &bins, &nb))
        rc = fail(err, HCMC_EFORMAT, path, "%s: missing or not a numeric vector",
                  bins_p);
    else if (hcmc__h5_read_vector(f, qg_p, &qg, &nq))
        rc = fail(err, HCMC_EFORMAT, path, "%s: missing or not a numeric vector", qg_p);
    else if (hcmc__h5_read_vector(f, pg_p, &pg, &np))
        rc = fail(err, HCMC_EFORMAT, path, "%s: missing or not a numeric vector", pg_p);
    else if (hcmc__h5_exists(f, map_p) && hcmc__h5_read_vector(f, map_p, &mp, &nm))
        rc = fail(err, HCMC_EFORMAT, path, "%s: not a numeric vector", map_p);
    else if (nb != info->n_maps)
        rc = fail(err, HCMC_EFORMAT, path, "%s has %zu entries for %zu maps in %s",
                  bins_p, nb, info->n_maps, info->group);
    for (size_t k = 0; !rc && k < nb; k++) {
        double label = bins[k];
        if (!(label >= 1) || label != floor(label) || (mp && label > (double)nm)) {
            rc = fail(err, HCMC_EFORMAT, path,
                      "%s[%zu] = %g is not a valid 1-based label", bins_p, k, label);
            break;
        }
        double nat = mp ? mp[(size_t)label - 1] : label - 1;
        if (!(nat >= 0) || nat != floor(nat) || nat >= (double)(nq * np)) {
            rc = fail(err, HCMC_EFORMAT, path,
                      "%s: label %g maps to bin %g, outside the %zu x %zu q-phi grid",
                      mp ? map_p : bins_p, label, nat, nq, np);
            break;
        }
        size_t n = (size_t)nat;
        info->maps[k].q = qg[n / np];
        info->maps[k].phi = pg[n % np];
    }
    for (size_t k = 0; !rc && k < nq; k++)
        if (add_q_bin(info, qg[k]))
            rc = hcmc_error_set(err, HCMC_ENOMEM, "%s: out of memory", path);
    free(bins);
    free(qg);
    free(pg);
    free(mp);
    return rc;
}

static int label_legacy(hid_t f, const char *path, hcmc_aps_info *info, hcmc_error *err)
{
    static const char *const dq_p = "/xpcs/dqlist", *dp_p = "/xpcs/dphilist";
    double *dq = NULL, *dp = NULL;
    size_t nq, np;
    int rc = 0;
    if (hcmc__h5_read_vector(f, dq_p, &dq, &nq))
        rc = fail(err, HCMC_EFORMAT, path, "%s: missing or not a numeric vector", dq_p);
    else if (hcmc__h5_read_vector(f, dp_p, &dp, &np))
        rc = fail(err, HCMC_EFORMAT, path, "%s: missing or not a numeric vector", dp_p);
    else if (nq != info->n_maps || np != info->n_maps)
        rc = fail(err, HCMC_EFORMAT, path,
                  "%s and %s have %zu and %zu entries for %zu maps", dq_p, dp_p, nq, np,
                  info->n_maps);
    for (size_t k = 0; !rc && k < info->n_maps; k++) {
        info->maps[k].q = dq[k];
        info->maps[k].phi = dp[k];
        if (add_q_bin(info, dq[k]))
            rc = hcmc_error_set(err, HCMC_ENOMEM, "%s: out of memory", path);
    }
    free(dq);
    free(dp);
    return rc;
}

static int inspect_open(hid_t f, const char *path, hcmc_aps_info *info, hcmc_error *err)
{
    const char *prefix;
    if (hcmc__h5_exists(f, "/xpcs/twotime/correlation_map")) {
        info->layout = HCMC_APS_CURRENT;
        strcpy(info->group, "/xpcs/twotime/correlation_map");
        prefix = "c2_";
    } else if (hcmc__h5_exists(f, "/exchange/C2T_all") ||
               hcmc__h5_exists(f, "/xpcs/output_data")) {
        info->layout = hcmc__h5_exists(f, "/entry/instrument/bluesky/metadata")
                           ? HCMC_APS_2024
                           : HCMC_APS_LEGACY;
        strcpy(info->group, hcmc__h5_exists(f, "/exchange/C2T_all")
                                ? "/exchange/C2T_all"
                                : "/xpcs/output_data");
        prefix = "g2_";
    } else {
        return fail(err, HCMC_EFORMAT, path,
                    "no two-time maps: expected /xpcs/twotime/correlation_map (current "
                    "layout) or /exchange/C2T_all (legacy layout)");
    }
    hid_t g = H5Gopen2(f, info->group, H5P_DEFAULT);
    if (g < 0)
        return fail(err, HCMC_EFORMAT, path, "%s is not a group", info->group);
    map_list L = {.prefix = prefix};
    herr_t it = H5Literate(g, H5_INDEX_NAME, H5_ITER_NATIVE, NULL, collect, &L);
    H5Gclose(g);
    if (L.oom || it < 0) {
        free(L.maps);
        return L.oom ? hcmc_error_set(err, HCMC_ENOMEM, "%s: out of memory", path)
                     : fail(err, HCMC_EFORMAT, path, "%s: cannot list its members",
                            info->group);
    }
    if (L.n == 0) {
        free(L.maps);
        return fail(err, HCMC_EFORMAT, path, "%s holds no %sNNNNN maps", info->group,
                    prefix);
    }
    qsort(L.maps, L.n, sizeof *L.maps, by_number);
    info->maps = L.maps;
    info->n_maps = L.n;
    /* every map square and of one size */
    char full[160];
    for (size_t k = 0; k < L.n; k++) {
        hsize_t dims[2];
        snprintf(full, sizeof full, "%s/%s", info->group, L.maps[k].name);
        if (map_shape(f, full, dims))
            return fail(err, HCMC_EFORMAT, path, "%s: not a readable 2-D dataset",
                        full);
        if (dims[0] != dims[1] || dims[0] < 3 || (k > 0 && dims[0] != info->n_frames))
            return fail(err, HCMC_EFORMAT, path,
                        "%s has shape %llu x %llu; expected a square map%s%zu frames",
                        full, (unsigned long long)dims[0], (unsigned long long)dims[1],
                        k ? " of " : " of at least 3 frames", k ? info->n_frames : 0);
        if (k == 0)
            info->n_frames = (size_t)dims[0];
    }
    snprintf(full, sizeof full, "%s/%s", info->group, L.maps[0].name);
    compression_of(f, full, info->compression, sizeof info->compression);
    info->frame_time = NAN;
    double ft;
    const char *ft_path = info->layout == HCMC_APS_CURRENT
                              ? "/entry/instrument/detector_1/frame_time"
                              : "/entry/instrument/bluesky/metadata/frame_time";
    if (hcmc__h5_exists(f, ft_path) && hcmc__h5_read_scalar(f, ft_path, &ft) == 0)
        info->frame_time = ft;
    return info->layout == HCMC_APS_CURRENT ? label_current(f, path, info, err)
                                            : label_legacy(f, path, info, err);
}

/* H5Fopen on something that is not HDF5 fails; say so plainly. */
static hid_t open_file(const char *path, hcmc_error *err)
{
    if (hcmc__h5_init())
        return hcmc_error_set(err, HCMC_EUNSUPPORTED,
                              "%s: cannot register the LZF filter with HDF5", path);
    FILE *probe = fopen(path, "rb");
    if (!probe)
        return hcmc_error_set(err, HCMC_EIO, "%s: cannot open", path);
    fclose(probe);
    htri_t is = H5Fis_hdf5(path);
    if (is <= 0)
        return hcmc_error_set(err, HCMC_EFORMAT, "%s: not an HDF5 file", path);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return hcmc_error_set(err, HCMC_EFORMAT,
                              "%s: HDF5 cannot open it (truncated or damaged?)", path);
    return f;
}

int hcmc_aps_inspect(const char *path, hcmc_aps_info *out, hcmc_error *err)
{
    memset(out, 0, sizeof *out);
    hid_t f = open_file(path, err);
    if (f < 0)
        return (int)f;
    int rc = inspect_open(f, path, out, err);
    H5Fclose(f);
    if (rc)
        hcmc_aps_info_release(out);
    return rc;
}

static bool in_ranges(double phi, const hcmc_aps_select *s)
{
    for (size_t k = 0; k < s->n_ranges; k++) {
        double lo = hcmc_angle_normalize(s->ranges[k][0]);
        double hi = hcmc_angle_normalize(s->ranges[k][1]);
        /* a full circle written as e.g. [-180, 180] */
        if (s->ranges[k][1] - s->ranges[k][0] >= 360.0)
            return true;
        if (lo <= hi ? (phi >= lo && phi <= hi) : (phi >= lo || phi <= hi))
            return true;
    }
    return false;
}

int hcmc_dataset_check(const hcmc_dataset *in, hcmc_error *err)
{
    const char *src = in->source[0] ? in->source : "data in memory";
    if (!in->n_phi || !in->phi || !in->c2)
        return hcmc_error_set(err, HCMC_EINVAL, "%s: no angles", src);
    if (in->n_frames < 3)
        return hcmc_error_set(err, HCMC_EINVAL, "%s: %zu frames, at least 3 needed",
                              src, in->n_frames);
    if (!(in->q > 0) || !isfinite(in->q) || !(in->dt > 0) || !isfinite(in->dt) ||
        !(in->L >= 0) || !isfinite(in->L))
        return hcmc_error_set(
            err, HCMC_EINVAL,
            "%s: q = %g, dt = %g, L = %g: q and dt must be finite and "
            "> 0, L finite and >= 0 (0: not known)",
            src, in->q, in->dt, in->L);
    for (size_t a = 0; a < in->n_phi; a++)
        if (!isfinite(in->phi[a]))
            return hcmc_error_set(err, HCMC_EINVAL, "%s: angle %zu is %g", src, a,
                                  in->phi[a]);
    return HCMC_OK;
}

int hcmc_dataset_select(const hcmc_dataset *in, const hcmc_aps_select *sel,
                        hcmc_dataset *out, hcmc_error *err)
{
    memset(out, 0, sizeof *out);
    const char *src = in->source[0] ? in->source : "data in memory";
    int rc = hcmc_dataset_check(in, err);
    if (rc)
        return rc;
    size_t *pick = malloc(in->n_phi * sizeof *pick), n = 0;
    if (!pick)
        return hcmc_error_set(err, HCMC_ENOMEM, "%s: out of memory", src);
    for (size_t a = 0; a < in->n_phi; a++)
        if (sel->n_ranges == 0 || in_ranges(hcmc_angle_normalize(in->phi[a]), sel))
            pick[n++] = a;
    if (n == 0 && !sel->fallback_all) {
        free(pick);
        return hcmc_error_set(err, HCMC_ENODATA,
                              "%s: no angle lies in the phi_filtering ranges (and "
                              "fallback_to_all_angles is off)",
                              src);
    }
    if (n == 0) {
        hcmc_log(HCMC_LOG_WARN,
                 "%s: no angle lies in the phi_filtering ranges; using all %zu", src,
                 in->n_phi);
        for (size_t a = 0; a < in->n_phi; a++)
            pick[n++] = a;
    }
    long s = sel->start_frame,
         e = sel->end_frame == -1 ? (long)in->n_frames : sel->end_frame;
    if (s < 1 || e < s || (size_t)e > in->n_frames) {
        free(pick);
        return hcmc_error_set(err, HCMC_EINVAL,
                              "%s: frames start_frame = %ld .. end_frame = %ld: need 1 "
                              "<= start_frame <= end_frame <= %zu",
                              src, sel->start_frame, sel->end_frame, in->n_frames);
    }
    size_t m = (size_t)(e - s + 1), N = in->n_frames;
    rc = hcmc_dataset_init(out, n, m, err);
    for (size_t a = 0; !rc && a < n; a++) {
        const double *A = hcmc_dataset_matrix(in, pick[a]);
        double *B = hcmc_dataset_matrix(out, a);
        out->phi[a] = hcmc_angle_normalize(in->phi[pick[a]]);
        for (size_t i = 0; i < m; i++)
            memcpy(B + i * m, A + ((size_t)s - 1 + i) * N + (size_t)s - 1,
                   m * sizeof(double));
    }
    free(pick);
    if (rc)
        return rc;
    out->q = in->q, out->L = in->L, out->dt = in->dt;
    snprintf(out->source, sizeof out->source, "%s", src);
    return HCMC_OK;
}

/* One map's frames s..e (0-based, inclusive) as a full symmetric matrix
 * from its upper triangle. */
static int read_block(hid_t f, const char *full, size_t s, size_t e, float *buf,
                      double *out)
{
    size_t m = e - s + 1;
    hid_t ds = H5Dopen2(f, full, H5P_DEFAULT);
    if (ds < 0)
        return -1;
    hid_t fs = H5Dget_space(ds);
    hsize_t start[2] = {s, s}, count[2] = {m, m};
    hid_t ms = H5Screate_simple(2, count, NULL);
    int rc = -1;
    if (fs >= 0 && ms >= 0 &&
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 &&
        H5Dread(ds, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, buf) >= 0) {
        for (size_t i = 0; i < m; i++)
            for (size_t j = i; j < m; j++) {
                double v = buf[i * m + j];
                out[i * m + j] = v;
                out[j * m + i] = v;
            }
        rc = 0;
    }
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    H5Dclose(ds);
    return rc;
}

int hcmc_aps_read(const char *path, const hcmc_aps_select *sel, hcmc_dataset *out,
                  hcmc_aps_report *rep, hcmc_error *err)
{
    memset(out, 0, sizeof *out);
    hid_t f = open_file(path, err);
    if (f < 0)
        return (int)f;
    hcmc_aps_info info;
    memset(&info, 0, sizeof info);
    size_t *pick = NULL;
    float *buf = NULL;
    int rc = inspect_open(f, path, &info, err);
    if (rc)
        goto out;

    /* the q bin nearest the requested q */
    double q_used = info.q_bins[0];
    for (size_t k = 1; k < info.n_q_bins; k++)
        if (fabs(info.q_bins[k] - sel->q) < fabs(q_used - sel->q))
            q_used = info.q_bins[k];
    pick = malloc(info.n_maps * sizeof *pick);
    if (!pick) {
        rc = hcmc_error_set(err, HCMC_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    size_t n_at_q = 0, n = 0;
    for (size_t k = 0; k < info.n_maps; k++)
        if (info.maps[k].q == q_used)
            n_at_q++;
    if (n_at_q == 0) {
        rc = fail(err, HCMC_ENODATA, path,
                  "the q bin %g nearest wavevector_q = %g has no two-time maps in %s",
                  q_used, sel->q, info.group);
        goto out;
    }
    for (size_t k = 0; k < info.n_maps; k++)
        if (info.maps[k].q == q_used &&
            (sel->n_ranges == 0 ||
             in_ranges(hcmc_angle_normalize(info.maps[k].phi), sel)))
            pick[n++] = k;
    if (n == 0) {
        if (!sel->fallback_all) {
            rc = fail(err, HCMC_ENODATA, path,
                      "no angle of q bin %g lies in the phi_filtering ranges (and "
                      "fallback_to_all_angles is off)",
                      q_used);
            goto out;
        }
        hcmc_log(
            HCMC_LOG_WARN,
            "%s: no angle of q bin %g lies in the phi_filtering ranges; using all %zu "
            "angles",
            path, q_used, n_at_q);
        for (size_t k = 0; k < info.n_maps; k++)
            if (info.maps[k].q == q_used)
                pick[n++] = k;
    }
    /* frames */
    long s = sel->start_frame,
         e = sel->end_frame == -1 ? (long)info.n_frames : sel->end_frame;
    if (s < 1 || e < 1 || s > e) {
        rc = fail(
            err, HCMC_EINVAL, path,
            "frames start_frame = %ld .. end_frame = %ld: need 1 <= start_frame <= "
            "end_frame",
            sel->start_frame, sel->end_frame);
        goto out;
    }
    if ((size_t)e > info.n_frames) {
        rc = fail(err, HCMC_EINVAL, path,
                  "end_frame = %ld is beyond the %zu frames of %s", e, info.n_frames,
                  info.group);
        goto out;
    }
    size_t m = (size_t)(e - s + 1);
    if ((rc = hcmc_dataset_init(out, n, m, err)))
        goto out;
    if (!(buf = malloc(m * m * sizeof(float)))) {
        rc = hcmc_error_set(err, HCMC_ENOMEM, "%s: out of memory for %zu x %zu frames",
                            path, m, m);
        goto out;
    }
    for (size_t a = 0; a < n; a++) {
        const hcmc_aps_map *mp = &info.maps[pick[a]];
        char full[160];
        snprintf(full, sizeof full, "%s/%s", info.group, mp->name);
        out->phi[a] = hcmc_angle_normalize(mp->phi);
        if (read_block(f, full, (size_t)s - 1, (size_t)e - 1, buf,
                       hcmc_dataset_matrix(out, a))) {
            rc = fail(err, HCMC_EFORMAT, path,
                      "%s: cannot read frames %ld..%ld (damaged data or a filter HDF5 "
                      "cannot apply)",
                      full, s, e);
            goto out;
        }
    }
    out->q = q_used;
    out->dt = sel->dt;
    snprintf(out->source, sizeof out->source, "%s", path);
    bool mismatch = isfinite(info.frame_time) && sel->dt > 0 &&
                    fabs(info.frame_time - sel->dt) > 0.01 * sel->dt;
    if (mismatch)
        hcmc_log(
            HCMC_LOG_WARN,
            "%s: the file's frame_time %g s differs from the configured dt %g s by "
            "more than 1 %%; using dt = %g s from the configuration",
            path, info.frame_time, sel->dt, sel->dt);
    if (rep) {
        rep->layout = info.layout;
        rep->q_used = q_used;
        rep->n_maps_at_q = n_at_q;
        rep->n_angles = n;
        rep->frame_time = info.frame_time;
        rep->dt_mismatch = mismatch;
    }
out:
    if (rc)
        hcmc_dataset_release(out);
    free(buf);
    free(pick);
    hcmc_aps_info_release(&info);
    H5Fclose(f);
    return rc;
}
