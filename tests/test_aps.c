/* APS files: round trips through the writer, files built here by hand in
 * each layout (compressed labels, maps out of string order, (1,1)
 * scalars, missing optional metadata), and bad input with clear errors. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <hdf5.h>

#include "hcmc/aps.h"
#include "hcmc/dataset.h"
#include "hcmc/log.h"

static char dir[] = "/tmp/hcmc_aps_XXXXXX";

static const char *tmp(const char *name)
{
    static char buf[8][256];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void quiet(hcmc_log_level l, const char *line, void *u)
{
    (void)l;
    (void)line;
    (void)u;
}

static hcmc_aps_select all_frames(double q, double dt)
{
    hcmc_aps_select s = {
        .q = q, .start_frame = 1, .end_frame = -1, .dt = dt, .fallback_all = true};
    return s;
}

static void synth(hcmc_dataset *ds, size_t n_phi, size_t n_t, double noise)
{
    hcmc_model m = {
        .mode = HCMC_MODE_LAMINAR, .q = 0.0054, .L = 2e6, .dt = 0.1, .n_t = n_t};
    double phi[4] = {-60, 0, 45, 135}, con[4] = {0.3, 0.3, 0.3, 0.3},
           off[4] = {1, 1, 1, 1};
    hcmc_synth_spec ss = {.model = m,
                          .n_phi = n_phi,
                          .phi = phi,
                          .contrast = con,
                          .offset = off,
                          .noise = noise,
                          .seed = 5};
    const double truth[7] = {2e4, -0.5, 100, 2e-4, -0.3, 1e-5, 4};
    memcpy(ss.phys, truth, sizeof truth);
    hcmc_error e;
    if (hcmc_synth_dataset(&ss, ds, &e))
        fail_msg("%s", e.msg);
}

static void test_round_trip(void **state)
{
    (void)state;
    for (int layout = 0; layout < 2; layout++)
        for (int compress = 0; compress < 2; compress++) {
            hcmc_dataset ds, back;
            synth(&ds, 4, 40, layout ? 0.01 : 0.0);
            hcmc_aps_write_spec w = {.layout = (hcmc_aps_layout)layout,
                                     .ds = &ds,
                                     .frame_time = 0.1,
                                     .mode = HCMC_MODE_LAMINAR,
                                     .compress = compress};
            hcmc_error e;
            const char *path = tmp("rt.h5");
            if (hcmc_aps_write(path, &w, &e))
                fail_msg("%s", e.msg);
            hcmc_aps_select s = all_frames(0.0055, 0.1);
            hcmc_aps_report rep;
            if (hcmc_aps_read(path, &s, &back, &rep, &e))
                fail_msg("%s", e.msg);
            assert_int_equal(rep.layout, layout);
            assert_true(back.q == 0.0054);
            assert_int_equal(back.n_phi, 4);
            assert_int_equal(back.n_frames, 40);
            assert_false(rep.dt_mismatch);
            for (size_t a = 0; a < 4; a++) {
                assert_true(back.phi[a] == ds.phi[a]);
                const double *x = hcmc_dataset_matrix(&ds, a),
                             *y = hcmc_dataset_matrix(&back, a);
                for (size_t i = 0; i < 40; i++)
                    for (size_t j = 0; j < 40; j++) {
                        /* stored: the upper triangle, as float32 */
                        double want = (float)x[(i < j ? i : j) * 40 + (i < j ? j : i)];
                        if (y[i * 40 + j] != want)
                            fail_msg("layout %d angle %zu (%zu,%zu): %.9g vs %.9g",
                                     layout, a, i, j, y[i * 40 + j], want);
                    }
            }
            if (layout == 0) { /* noise 0: the model's c2 exactly, to float32 */
                hcmc_model m = {.mode = HCMC_MODE_LAMINAR,
                                .q = 0.0054,
                                .L = 2e6,
                                .dt = 0.1,
                                .n_t = 40};
                const double truth[7] = {2e4, -0.5, 100, 2e-4, -0.3, 1e-5, 4};
                double CJ[40], CG[40];
                hcmc_model_integrals(&m, truth, CJ, CG);
                for (size_t a = 0; a < 4; a++)
                    for (size_t i = 0; i < 40; i++)
                        for (size_t j = i; j < 40; j++) {
                            double c2 = hcmc_model_c2(&m, truth, CJ, CG, ds.phi[a], i,
                                                      j, 0.3, 1.0);
                            assert_true(hcmc_dataset_matrix(&back, a)[i * 40 + j] ==
                                        (double)(float)c2);
                        }
            }
            /* frames 3..20 are the block [2, 19] */
            hcmc_dataset sub;
            s.start_frame = 3;
            s.end_frame = 20;
            assert_int_equal(hcmc_aps_read(path, &s, &sub, NULL, &e), 0);
            assert_int_equal(sub.n_frames, 18);
            assert_true(hcmc_dataset_matrix(&sub, 1)[0 * 18 + 5] ==
                        hcmc_dataset_matrix(&back, 1)[2 * 40 + 7]);
            /* a config dt 5 % off the file's frame time is flagged */
            hcmc_dataset_release(&sub);
            if (layout == 0) {
                hcmc_log_set_sink(quiet, NULL);
                s.dt = 0.105;
                assert_int_equal(hcmc_aps_read(path, &s, &sub, &rep, &e), 0);
                assert_true(rep.dt_mismatch);
                hcmc_dataset_release(&sub);
                hcmc_log_set_sink(NULL, NULL);
            }
            hcmc_dataset_release(&back);
            hcmc_dataset_release(&ds);
            remove(path);
        }
}

/* ---- files built by hand ------------------------------------------------ */

static void put(hid_t f, const char *path, hid_t type, int rank, const hsize_t *dims,
                const void *data, hid_t memtype)
{
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t sp = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t ds = H5Dcreate2(f, path, type, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(ds >= 0);
    assert_true(H5Dwrite(ds, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
    H5Dclose(ds);
    H5Sclose(sp);
    H5Pclose(lcpl);
}

/* An n x n float32 map, value v + 0.001 * (i + j) on the upper triangle. */
static void put_map(hid_t f, const char *path, size_t n, float v, int nan)
{
    float *m = calloc(n * n, sizeof(float));
    for (size_t i = 0; i < n; i++)
        for (size_t j = i; j < n; j++)
            m[i * n + j] = nan ? NAN : v + 0.001f * (float)(i + j);
    hsize_t d[2] = {n, n};
    put(f, path, H5T_IEEE_F32LE, 2, d, m, H5T_NATIVE_FLOAT);
    free(m);
}

static void test_hand_built_current(void **state)
{
    (void)state;
    const char *path = tmp("current.h5");
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    /* q grid of 2, phi grid of 3: natural bins 0..5; labels 1..6 map to
     * natural = mapping[label - 1] */
    double qg[2] = {0.003, 0.006}, pg[3] = {10, 20, 30};
    double mapping[6] = {5, 4, 3, 2, 1, 0};
    hsize_t d2 = 2, d3 = 3, d6 = 6, d11[2] = {1, 1};
    put(f, "/xpcs/qmap/dynamic_v_list_dim0", H5T_IEEE_F64LE, 1, &d2, qg,
        H5T_NATIVE_DOUBLE);
    put(f, "/xpcs/qmap/dynamic_v_list_dim1", H5T_IEEE_F32LE, 1, &d3, pg,
        H5T_NATIVE_DOUBLE);
    put(f, "/xpcs/qmap/dynamic_index_mapping", H5T_STD_I64LE, 1, &d6, mapping,
        H5T_NATIVE_DOUBLE);
    /* maps c2_1, c2_2, c2_10 (string order 1, 10, 2); map k has label
     * bins[k]: labels 1, 2, 3 -> natural 5, 4, 3 -> q index 1, phi 30, 20, 10 */
    double bins[3] = {1, 2, 3};
    put(f, "/xpcs/twotime/processed_bins", H5T_STD_I32LE, 1, &d3, bins,
        H5T_NATIVE_DOUBLE);
    put_map(f, "/xpcs/twotime/correlation_map/c2_1", 12, 1.0f, 0);
    put_map(f, "/xpcs/twotime/correlation_map/c2_2", 12, 2.0f, 0);
    put_map(f, "/xpcs/twotime/correlation_map/c2_10", 12, 3.0f, 0);
    float ft = 0.05f;
    put(f, "/entry/instrument/detector_1/frame_time", H5T_IEEE_F32LE, 2, d11, &ft,
        H5T_NATIVE_FLOAT);
    H5Fclose(f);

    hcmc_aps_info info;
    hcmc_error e;
    if (hcmc_aps_inspect(path, &info, &e))
        fail_msg("%s", e.msg);
    assert_int_equal(info.layout, HCMC_APS_CURRENT);
    assert_int_equal(info.n_maps, 3);
    assert_string_equal(info.maps[2].name, "c2_10");
    assert_true(fabs(info.frame_time - 0.05) < 1e-7);
    assert_string_equal(info.compression, "none");
    hcmc_aps_info_release(&info);

    hcmc_dataset ds;
    hcmc_aps_select s = all_frames(0.0059, 0.05);
    assert_int_equal(hcmc_aps_read(path, &s, &ds, NULL, &e), 0);
    assert_int_equal(ds.n_phi, 3);
    assert_true(ds.q == 0.006);
    const double want_phi[3] = {30, 20, 10}, want_v[3] = {1, 2, 3};
    for (size_t a = 0; a < 3; a++) {
        assert_true(ds.phi[a] == want_phi[a]);
        /* lower triangle mirrored from the upper */
        assert_true(
            fabs(hcmc_dataset_matrix(&ds, a)[5 * 12 + 2] - (want_v[a] + 0.007)) < 1e-6);
    }
    hcmc_dataset_release(&ds);

    /* q 0.003 is a bin of the grid without maps */
    s.q = 0.0031;
    assert_int_equal(hcmc_aps_read(path, &s, &ds, NULL, &e), HCMC_ENODATA);
    assert_non_null(strstr(e.msg, "current.h5"));
    assert_non_null(strstr(e.msg, "has no two-time maps"));
    /* phi filtering: [15, 25] keeps phi 20 only; [100, 120] none (error
     * without fallback) */
    double r1[1][2] = {{15, 25}}, r2[1][2] = {{100, 120}};
    s = all_frames(0.006, 0.05);
    s.n_ranges = 1;
    s.ranges = (const double(*)[2])r1;
    assert_int_equal(hcmc_aps_read(path, &s, &ds, NULL, &e), 0);
    assert_int_equal(ds.n_phi, 1);
    assert_true(ds.phi[0] == 20);
    hcmc_dataset_release(&ds);
    s.ranges = (const double(*)[2])r2;
    s.fallback_all = false;
    assert_int_equal(hcmc_aps_read(path, &s, &ds, NULL, &e), HCMC_ENODATA);
    assert_non_null(strstr(e.msg, "phi_filtering"));
    /* start_frame > end_frame */
    s = all_frames(0.006, 0.05);
    s.start_frame = 9;
    s.end_frame = 4;
    assert_int_equal(hcmc_aps_read(path, &s, &ds, NULL, &e), HCMC_EINVAL);
    assert_non_null(strstr(e.msg, "start_frame = 9"));
    s.start_frame = 1;
    s.end_frame = 13;
    assert_int_equal(hcmc_aps_read(path, &s, &ds, NULL, &e), HCMC_EINVAL);
    assert_non_null(strstr(e.msg, "beyond the 12 frames"));
    remove(path);
}

static void test_hand_built_legacy_and_2024(void **state)
{
    (void)state;
    for (int variant = 0; variant < 2; variant++) {
        const char *path = tmp(variant ? "y2024.h5" : "legacy.h5");
        hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
        double dq[3] = {0.004, 0.005, 0.005}, dp[3] = {-170, 190, 95};
        hsize_t d13[2] = {1, 3}, d3 = 3, d11[2] = {1, 1};
        put(f, "/xpcs/dqlist", H5T_IEEE_F64LE, 2, d13, dq, H5T_NATIVE_DOUBLE);
        put(f, "/xpcs/dphilist", H5T_IEEE_F32LE, 1, &d3, dp, H5T_NATIVE_DOUBLE);
        const char *grp = variant ? "/exchange/C2T_all" : "/xpcs/output_data";
        char name[64];
        for (int k = 0; k < 3; k++) {
            snprintf(name, sizeof name, "%s/g2_%d", grp,
                     k == 0   ? 2
                     : k == 1 ? 11
                              : 100);
            put_map(f, name, 8, (float)(k + 1), 0);
        }
        if (variant) {
            double ft = 0.2;
            put(f, "/entry/instrument/bluesky/metadata/frame_time", H5T_IEEE_F64LE, 2,
                d11, &ft, H5T_NATIVE_DOUBLE);
        }
        H5Fclose(f);
        hcmc_aps_info info;
        hcmc_error e;
        if (hcmc_aps_inspect(path, &info, &e))
            fail_msg("%s", e.msg);
        assert_int_equal(info.layout, variant ? HCMC_APS_2024 : HCMC_APS_LEGACY);
        assert_int_equal(info.n_q_bins, 2);
        assert_true(variant ? info.frame_time == 0.2 : isnan(info.frame_time));
        hcmc_aps_info_release(&info);
        hcmc_dataset ds;
        hcmc_aps_select s = all_frames(0.0049, 0.2);
        assert_int_equal(hcmc_aps_read(path, &s, &ds, NULL, &e), 0);
        assert_int_equal(ds.n_phi, 2);  /* maps g2_11 and g2_100 */
        assert_true(ds.phi[0] == -170); /* 190 normalised */
        assert_true(ds.phi[1] == 95);
        assert_true(fabs(hcmc_dataset_matrix(&ds, 1)[0] - 3.0) < 1e-6);
        /* a range wrapping through 180 */
        double r[1][2] = {{170, -160}};
        s.n_ranges = 1;
        s.ranges = (const double(*)[2])r;
        hcmc_dataset_release(&ds);
        assert_int_equal(hcmc_aps_read(path, &s, &ds, NULL, &e), 0);
        assert_int_equal(ds.n_phi, 1);
        assert_true(ds.phi[0] == -170);
        hcmc_dataset_release(&ds);
        remove(path);
    }
}

/* Current layout without the optional label mapping and frame time: labels
 * are natural bins + 1. */
static void test_current_without_optional_metadata(void **state)
{
    (void)state;
    const char *path = tmp("bare.h5");
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    double qg[1] = {0.005}, pg[2] = {-90, 90}, bins[2] = {2, 1};
    hsize_t d1 = 1, d2 = 2;
    put(f, "/xpcs/qmap/dynamic_v_list_dim0", H5T_IEEE_F64LE, 1, &d1, qg,
        H5T_NATIVE_DOUBLE);
    put(f, "/xpcs/qmap/dynamic_v_list_dim1", H5T_IEEE_F64LE, 1, &d2, pg,
        H5T_NATIVE_DOUBLE);
    put(f, "/xpcs/twotime/processed_bins", H5T_IEEE_F64LE, 1, &d2, bins,
        H5T_NATIVE_DOUBLE);
    put_map(f, "/xpcs/twotime/correlation_map/c2_00001", 5, 1.0f, 0);
    put_map(f, "/xpcs/twotime/correlation_map/c2_00002", 5, 2.0f, 0);
    H5Fclose(f);
    hcmc_aps_info info;
    hcmc_error e;
    assert_int_equal(hcmc_aps_inspect(path, &info, &e), 0);
    assert_true(isnan(info.frame_time));
    assert_true(info.maps[0].phi == 90 && info.maps[1].phi == -90);
    hcmc_aps_info_release(&info);
    hcmc_dataset ds;
    hcmc_aps_select s = all_frames(0.005, 0.1);
    hcmc_aps_report rep;
    assert_int_equal(hcmc_aps_read(path, &s, &ds, &rep, &e), 0);
    assert_false(rep.dt_mismatch);
    assert_true(ds.phi[0] == 90 && hcmc_dataset_matrix(&ds, 0)[0] == 1.0);
    hcmc_dataset_release(&ds);
    remove(path);
}

/* A file written by h5py with its own LZF filter (tests/ref/h5py_lzf.h5,
 * made by tests/ref/make_h5py_lzf.py): hcmc's filter must decode it. */
static void test_h5py_lzf_file(void **state)
{
    (void)state;
    const char *path = HCMC_TEST_REF_DIR "/h5py_lzf.h5";
    hcmc_dataset ds;
    hcmc_error e;
    hcmc_aps_select s = all_frames(0.006, 0.05);
    if (hcmc_aps_read(path, &s, &ds, NULL, &e))
        fail_msg("%s", e.msg);
    assert_int_equal(ds.n_phi, 3);
    assert_int_equal(ds.n_frames, 24);
    for (size_t a = 0; a < 3; a++) {
        assert_true(ds.phi[a] == 30.0 - 10.0 * (double)a);
        for (size_t i = 0; i < 24; i++)
            for (size_t j = 0; j < 24; j++) {
                float want = (float)(a + 1) + 0.001f * (float)(i + j);
                assert_true(hcmc_dataset_matrix(&ds, a)[i * 24 + j] == (double)want);
            }
    }
    hcmc_dataset_release(&ds);
}

static void expect_error(const char *path, int code, const char *what)
{
    hcmc_dataset ds;
    hcmc_error e;
    hcmc_aps_select s = all_frames(0.005, 0.1);
    int rc = hcmc_aps_read(path, &s, &ds, NULL, &e);
    if (rc != code || !strstr(e.msg, what) || !strstr(e.msg, path))
        fail_msg("%s: rc %d, '%s'; expected %d and '%s'", path, rc, e.msg, code, what);
}

static void test_bad_files(void **state)
{
    (void)state;
    /* not HDF5 */
    const char *txt = tmp("text.h5");
    FILE *t = fopen(txt, "w");
    fputs("this is not HDF5\n", t);
    fclose(t);
    expect_error(txt, HCMC_EFORMAT, "not an HDF5 file");
    expect_error(tmp("missing.h5"), HCMC_EIO, "cannot open");
    /* no map group */
    const char *empty = tmp("empty.h5");
    hid_t f = H5Fcreate(empty, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t d1 = 1;
    double one = 1;
    put(f, "/xpcs/dqlist", H5T_IEEE_F64LE, 1, &d1, &one, H5T_NATIVE_DOUBLE);
    H5Fclose(f);
    expect_error(empty, HCMC_EFORMAT, "no two-time maps");
    /* a map of the wrong shape */
    const char *shape = tmp("shape.h5");
    f = H5Fcreate(shape, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    double dq[2] = {0.005, 0.005}, dp[2] = {0, 90};
    hsize_t d2 = 2, d45[2] = {4, 5};
    put(f, "/xpcs/dqlist", H5T_IEEE_F64LE, 1, &d2, dq, H5T_NATIVE_DOUBLE);
    put(f, "/xpcs/dphilist", H5T_IEEE_F64LE, 1, &d2, dp, H5T_NATIVE_DOUBLE);
    put_map(f, "/exchange/C2T_all/g2_00001", 6, 1.0f, 0);
    float z[20] = {0};
    put(f, "/exchange/C2T_all/g2_00002", H5T_IEEE_F32LE, 2, d45, z, H5T_NATIVE_FLOAT);
    H5Fclose(f);
    expect_error(shape, HCMC_EFORMAT, "/exchange/C2T_all/g2_00002 has shape 4 x 5");
    /* q and phi lists shorter than the maps */
    const char *count = tmp("count.h5");
    f = H5Fcreate(count, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    put(f, "/xpcs/dqlist", H5T_IEEE_F64LE, 1, &d1, dq, H5T_NATIVE_DOUBLE);
    put(f, "/xpcs/dphilist", H5T_IEEE_F64LE, 1, &d1, dp, H5T_NATIVE_DOUBLE);
    put_map(f, "/exchange/C2T_all/g2_00001", 6, 1.0f, 0);
    put_map(f, "/exchange/C2T_all/g2_00002", 6, 1.0f, 0);
    H5Fclose(f);
    expect_error(count, HCMC_EFORMAT,
                 "/xpcs/dqlist and /xpcs/dphilist have 1 and 1 entries");
    /* truncated: the first half of a real file */
    hcmc_dataset ds;
    synth(&ds, 2, 60, 0.01);
    hcmc_aps_write_spec w = {
        .layout = HCMC_APS_CURRENT, .ds = &ds, .frame_time = 0.1, .compress = 1};
    hcmc_error e;
    const char *full = tmp("full.h5"), *cut = tmp("cut.h5");
    assert_int_equal(hcmc_aps_write(full, &w, &e), 0);
    hcmc_dataset_release(&ds);
    FILE *in = fopen(full, "rb"), *out = fopen(cut, "wb");
    fseek(in, 0, SEEK_END);
    long size = ftell(in);
    fseek(in, 0, SEEK_SET);
    char *bytes = malloc((size_t)size);
    assert_int_equal(fread(bytes, 1, (size_t)size, in), (size_t)size);
    fwrite(bytes, 1, (size_t)size / 2, out);
    fclose(in);
    fclose(out);
    free(bytes);
    hcmc_dataset got;
    hcmc_aps_select s = all_frames(0.005, 0.1);
    int rc = hcmc_aps_read(cut, &s, &got, NULL, &e);
    assert_true(rc == HCMC_EFORMAT);
    assert_non_null(strstr(e.msg, cut));
    /* a NaN-only angle reads, and points drop it with a count */
    const char *nan = tmp("nan.h5");
    f = H5Fcreate(nan, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    put(f, "/xpcs/dqlist", H5T_IEEE_F64LE, 1, &d2, dq, H5T_NATIVE_DOUBLE);
    put(f, "/xpcs/dphilist", H5T_IEEE_F64LE, 1, &d2, dp, H5T_NATIVE_DOUBLE);
    put_map(f, "/exchange/C2T_all/g2_00001", 6, 1.0f, 1);
    put_map(f, "/exchange/C2T_all/g2_00002", 6, 1.0f, 0);
    H5Fclose(f);
    assert_int_equal(hcmc_aps_read(nan, &s, &got, NULL, &e), 0);
    hcmc_points pts;
    hcmc_points_report rep;
    hcmc_log_set_sink(quiet, NULL);
    assert_int_equal(hcmc_dataset_to_points(&got, 1, -1, &pts, &rep, &e), 0);
    hcmc_log_set_sink(NULL, NULL);
    assert_int_equal(rep.n_angles_dropped, 1);
    assert_int_equal(pts.n_phi, 1);
    hcmc_points_release(&pts);
    hcmc_dataset_release(&got);
    const char *files[] = {txt, empty, shape, count, full, cut, nan};
    for (size_t k = 0; k < sizeof files / sizeof *files; k++)
        remove(files[k]);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_hand_built_current),
        cmocka_unit_test(test_hand_built_legacy_and_2024),
        cmocka_unit_test(test_current_without_optional_metadata),
        cmocka_unit_test(test_h5py_lzf_file),
        cmocka_unit_test(test_bad_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
