/* APS 8-ID two-time result files (HDF5), in the three layouts found in the
 * wild, detected automatically:
 *
 *   current (2025-): maps /xpcs/twotime/correlation_map/c2_NNNNN; map k (in
 *     numeric order) has the 1-based ROI label /xpcs/twotime/processed_bins[k];
 *     natural bin = /xpcs/qmap/dynamic_index_mapping[label - 1] (label - 1
 *     without a mapping); q = dynamic_v_list_dim0[natural / n_phi],
 *     phi = dynamic_v_list_dim1[natural % n_phi]; frame time
 *     /entry/instrument/detector_1/frame_time where present.
 *   legacy: maps /exchange/C2T_all/g2_NNNNN (or /xpcs/output_data/...),
 *     q and phi of map k in /xpcs/dqlist[k] and /xpcs/dphilist[k].
 *   2024 transitional: legacy maps with metadata under
 *     /entry/instrument/bluesky/metadata (frame_time read from there).
 *
 * Maps are ordered by the number in their name, never by string order.
 * Scalars may be (), (1) or (1, 1); vectors (n) or (1, n); float32 or
 * float64. A map's full matrix is its upper triangle (diagonal included)
 * mirrored. LZF-compressed maps (filter 32000) are read through a filter
 * hcmc registers itself. Every error names the file and the dataset. */
#ifndef HCMC_APS_H
#define HCMC_APS_H

#include <stdbool.h>
#include <stddef.h>

#include "hcmc/dataset.h"
#include "hcmc/export.h"
#include "hcmc/model.h"
#include "hcmc/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hcmc_aps_layout {
    HCMC_APS_CURRENT = 0,
    HCMC_APS_LEGACY,
    HCMC_APS_2024
} hcmc_aps_layout;

HCMC_API const char *hcmc_aps_layout_name(hcmc_aps_layout l);

/* hcmc_aps_map, hcmc_aps_info, hcmc_aps_select and hcmc_aps_write_spec are
 * mirrored by python/hcmc (ctypes): change both together. */
typedef struct hcmc_aps_map {
    char name[64]; /* dataset name inside the map group */
    long number;   /* NNNNN */
    double q, phi; /* phi as recorded, degrees */
} hcmc_aps_map;

typedef struct hcmc_aps_info {
    hcmc_aps_layout layout;
    char group[64]; /* where the maps are */
    size_t n_maps;
    hcmc_aps_map *maps; /* numeric order */
    size_t n_frames;
    double frame_time;    /* NaN when the file has none */
    char compression[32]; /* filter of the first map: lzf, deflate, none, ... */
    size_t n_q_bins;      /* current layout: size of the q grid; else distinct q */
    double *q_bins;       /* [n_q_bins] */
} hcmc_aps_info;

HCMC_API int hcmc_aps_inspect(const char *path, hcmc_aps_info *out, hcmc_error *err);
HCMC_API void hcmc_aps_info_release(hcmc_aps_info *info);

typedef struct hcmc_aps_select {
    double q;                    /* the q bin nearest this is used */
    size_t n_ranges;             /* phi ranges; 0: every angle */
    const double (*ranges)[2];   /* {min, max} degrees, may wrap through 180 */
    bool fallback_all;           /* no angle in the ranges: use all (warn) */
    long start_frame, end_frame; /* 1-based, inclusive; -1: the last */
    double dt;                   /* the config's frame step, checked */
} hcmc_aps_select;

typedef struct hcmc_aps_report {
    hcmc_aps_layout layout;
    double q_used;
    size_t n_maps_at_q, n_angles;
    double frame_time; /* NaN when absent */
    bool dt_mismatch;  /* frame_time differs from dt by more than 1 % */
} hcmc_aps_report;

/* Reads the selected maps into out: n_phi angles (normalised into
 * (-180, 180]) and only frames start..end, so pass 1..-1 on to
 * hcmc_dataset_to_points. dt and q come from the selection and the file.
 * rep may be NULL. */
HCMC_API int hcmc_aps_read(const char *path, const hcmc_aps_select *sel,
                           hcmc_dataset *out, hcmc_aps_report *rep, hcmc_error *err);

/* The same selection applied to a data set in memory (e.g. arrays given
 * through the Python binding) instead of a file: the angles in sel's phi
 * ranges (normalised into (-180, 180]; all of them, with a warning, when
 * none is and fallback_all), frames start_frame..end_frame; q, L and dt
 * are in's. out is initialised here; release it. Every value of in is
 * checked: a non-finite angle, q or dt <= 0, L < 0 (0: not known), fewer than 3 frames,
 * are refused naming in->source. */
HCMC_API int hcmc_dataset_select(const hcmc_dataset *in, const hcmc_aps_select *sel,
                                 hcmc_dataset *out, hcmc_error *err);
/* Those checks alone. */
HCMC_API int hcmc_dataset_check(const hcmc_dataset *in, hcmc_error *err);

/* Writing synthetic files in a real layout (not 2024). */
typedef struct hcmc_aps_write_spec {
    hcmc_aps_layout layout;
    const hcmc_dataset *ds; /* full matrices; upper triangles are stored */
    double frame_time;      /* written as detector frame_time (current) */
    /* attributes of the root group: the truth (NaN entries skipped) */
    hcmc_mode mode;
    const double *phys;              /* [nphys] */
    const double *contrast, *offset; /* [n_phi] */
    double noise;
    unsigned long long seed;
    bool compress; /* LZF */
} hcmc_aps_write_spec;

/* Writes atomically (a temporary beside path, then rename). */
HCMC_API int hcmc_aps_write(const char *path, const hcmc_aps_write_spec *w,
                            hcmc_error *err);

#ifdef __cplusplus
}
#endif
#endif
