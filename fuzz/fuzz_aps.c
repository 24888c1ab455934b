/* libFuzzer target for the APS file reader, structure-aware: the input
 * bytes choose the layout, the map names, shapes and values, the label,
 * mapping, q and phi tables (lengths and contents, NaN and out-of-range
 * values included), the frame-time shape and the selection; the harness
 * writes that as a well-formed HDF5 file and reads it with hcmc. What is
 * exercised is hcmc's own logic on every combination a file can present.
 * Raw corrupt bytes are not fed to libhdf5 here: its format parser is
 * libhdf5's to harden, and a crash inside it would say nothing about hcmc
 * (hcmc's handling of files HDF5 refuses is covered by test_aps). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

#include "hcmc/aps.h"
#include "hcmc/log.h"

typedef struct {
    const uint8_t *p;
    size_t n;
} bytes;

static unsigned take(bytes *b, unsigned mod)
{
    unsigned v = 0;
    if (b->n) {
        v = b->p[0];
        b->p++;
        b->n--;
    }
    return mod ? v % mod : v;
}

static double take_value(bytes *b)
{
    unsigned k = take(b, 0);
    switch (k % 16) {
    case 0:
        return NAN;
    case 1:
        return INFINITY;
    case 2:
        return -1e300;
    case 3:
        return 0.0;
    default:
        return ((double)k - 128.0) / 16.0;
    }
}

static void quiet(hcmc_log_level l, const char *line, void *u)
{
    (void)l;
    (void)line;
    (void)u;
}

static void put_vec(hid_t f, const char *path, bytes *b, size_t n, int twod)
{
    if (n == 0)
        return;
    double *v = malloc(n * sizeof(double));
    for (size_t k = 0; k < n; k++)
        v[k] = take_value(b);
    hsize_t dims[2] = {1, n};
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t sp =
        twod ? H5Screate_simple(2, dims, NULL) : H5Screate_simple(1, dims + 1, NULL);
    hid_t ds = H5Dcreate2(f, path, H5T_IEEE_F64LE, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    if (ds >= 0) {
        H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
        H5Dclose(ds);
    }
    H5Sclose(sp);
    H5Pclose(lcpl);
    free(v);
}

static void put_map(hid_t f, const char *path, bytes *b, size_t r, size_t c)
{
    float *m = malloc(r * c * sizeof(float));
    for (size_t k = 0; k < r * c; k++)
        m[k] = (float)take_value(b);
    hsize_t dims[2] = {r, c};
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t sp = H5Screate_simple(2, dims, NULL);
    hid_t ds = H5Dcreate2(f, path, H5T_IEEE_F32LE, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    if (ds >= 0) {
        H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, m);
        H5Dclose(ds);
    }
    H5Sclose(sp);
    H5Pclose(lcpl);
    free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (!path[0])
        snprintf(path, sizeof path, "/tmp/hcmc_fuzz_aps_%ld.h5", (long)getpid());
    hcmc_log_set_sink(quiet, NULL);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    bytes b = {data, size};
    unsigned layout = take(&b, 3);
    size_t n_maps = 1 + take(&b, 5), n = 1 + take(&b, 9);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0)
        return 0;
    const char *grp =
        layout == 0 ? "/xpcs/twotime/correlation_map" : "/exchange/C2T_all";
    for (size_t k = 0; k < n_maps; k++) {
        char name[128];
        unsigned style = take(&b, 8);
        snprintf(name, sizeof name, "%s/%s%u%s", grp, layout == 0 ? "c2_" : "g2_",
                 take(&b, 0) * 7u, style == 7 ? "x" : "");
        size_t cols = style == 6 ? n + 1 : n;
        put_map(f, name, &b, n, cols);
    }
    size_t len = n_maps + take(&b, 3) - 1;
    if (layout == 0) {
        size_t nq = 1 + take(&b, 3), np = 1 + take(&b, 4);
        put_vec(f, "/xpcs/twotime/processed_bins", &b, len, 0);
        put_vec(f, "/xpcs/qmap/dynamic_v_list_dim0", &b, nq, take(&b, 2));
        put_vec(f, "/xpcs/qmap/dynamic_v_list_dim1", &b, np, 0);
        if (take(&b, 2))
            put_vec(f, "/xpcs/qmap/dynamic_index_mapping", &b,
                    nq * np + take(&b, 3) - 1, 0);
        if (take(&b, 2))
            put_vec(f, "/entry/instrument/detector_1/frame_time", &b, 1 + take(&b, 2),
                    1);
    } else {
        put_vec(f, "/xpcs/dqlist", &b, len, take(&b, 2));
        put_vec(f, "/xpcs/dphilist", &b, n_maps, 0);
        if (layout == 2)
            put_vec(f, "/entry/instrument/bluesky/metadata/frame_time", &b, 1, 1);
    }
    H5Fclose(f);

    double ranges[2][2] = {{take_value(&b) * 40, take_value(&b) * 40},
                           {take_value(&b) * 40, take_value(&b) * 40}};
    hcmc_aps_select s = {.q = take_value(&b),
                         .n_ranges = take(&b, 3),
                         .ranges = (const double(*)[2])ranges,
                         .fallback_all = take(&b, 2),
                         .start_frame = (long)take(&b, 12) - 1,
                         .end_frame = (long)take(&b, 12) - 1,
                         .dt = 0.1};
    hcmc_aps_info info;
    hcmc_error err;
    if (hcmc_aps_inspect(path, &info, &err) == 0)
        hcmc_aps_info_release(&info);
    hcmc_dataset ds;
    if (hcmc_aps_read(path, &s, &ds, NULL, &err) == 0) {
        hcmc_points pts;
        if (hcmc_dataset_to_points(&ds, 1, -1, &pts, NULL, &err) == 0)
            hcmc_points_release(&pts);
        hcmc_dataset_release(&ds);
    }
    remove(path);
    return 0;
}
