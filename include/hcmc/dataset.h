/* In-memory XPCS data set and the points table made from it (MODEL.md 1),
 * and synthetic data from the model.
 *
 * A data set holds, per angle, the full two-time matrix over all recorded
 * frames. Points are the upper triangle (i < j) of the selected frames,
 * without frame 0 of the selection; non-finite values are dropped and
 * counted, an angle with nothing finite is dropped with a warning. */
#ifndef HCMC_DATASET_H
#define HCMC_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "hcmc/export.h"
#include "hcmc/model.h"
#include "hcmc/points.h"
#include "hcmc/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Mirrored by python/hcmc (ctypes): change both together. */
typedef struct hcmc_dataset {
    size_t n_phi, n_frames;
    double *phi; /* [n_phi] degrees, as recorded */
    double *c2;  /* [n_phi][n_frames][n_frames], row-major */
    double q, L, dt;
    char source[256]; /* file name or "synthetic", for messages */
} hcmc_dataset;

/* Allocates the arrays (c2 filled with NaN); release with
 * hcmc_dataset_release. */
HCMC_API int hcmc_dataset_init(hcmc_dataset *ds, size_t n_phi, size_t n_frames,
                               hcmc_error *err);
HCMC_API void hcmc_dataset_release(hcmc_dataset *ds);

/* Matrix of angle a. */
static inline double *hcmc_dataset_matrix(const hcmc_dataset *ds, size_t a)
{
    return ds->c2 + a * ds->n_frames * ds->n_frames;
}

typedef struct hcmc_points_report {
    size_t n_frames_kept;
    size_t n_nonfinite;      /* points dropped for a NaN/Inf value */
    size_t n_angles_dropped; /* angles with no finite point */
} hcmc_points_report;

/* Frames start_frame..end_frame (1-based, inclusive; end_frame -1 = last)
 * are kept. out is initialised here; release it. rep may be NULL. */
HCMC_API int hcmc_dataset_to_points(const hcmc_dataset *ds, long start_frame,
                                    long end_frame, hcmc_points *out,
                                    hcmc_points_report *rep, hcmc_error *err);

/* Synthetic data: c2 of the model for every angle and frame pair (both
 * triangles and the diagonal), plus Normal(0, noise) on the upper triangle
 * mirrored to the lower one, from the stream (seed, HCMC_RNG_SYNTH, angle). */
/* Mirrored by python/hcmc (ctypes): change both together. */
typedef struct hcmc_synth_spec {
    hcmc_model model; /* n_t = frames to make */
    size_t n_phi;
    const double *phi; /* [n_phi] degrees */
    double phys[HCMC_NPHYS_MAX];
    const double *contrast, *offset; /* [n_phi] */
    double noise;                    /* >= 0 */
    uint64_t seed;
} hcmc_synth_spec;

HCMC_API int hcmc_synth_dataset(const hcmc_synth_spec *spec, hcmc_dataset *out,
                                hcmc_error *err);

#ifdef __cplusplus
}
#endif
#endif
