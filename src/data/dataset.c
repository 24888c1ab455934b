/* The in-memory data set (c2 matrices per angle, frame times, q) and its
 * conversion into a points table: the frame window, the upper triangle
 * without the diagonal, NaN and non-finite values dropped and counted so
 * that the caller can report them. */
#include "hcmc/dataset.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcmc/log.h"

int hcmc_dataset_init(hcmc_dataset *ds, size_t n_phi, size_t n_frames, hcmc_error *err)
{
    memset(ds, 0, sizeof *ds);
    if (n_phi == 0 || n_frames == 0)
        return hcmc_error_set(err, HCMC_ENODATA,
                              "a data set needs angles and frames (got %zu angles, "
                              "%zu frames)",
                              n_phi, n_frames);
    size_t cells = n_phi * n_frames * n_frames;
    if (cells / n_phi / n_frames != n_frames)
        return hcmc_error_set(err, HCMC_EINVAL, "data set size overflows");
    ds->phi = calloc(n_phi, sizeof *ds->phi);
    ds->c2 = malloc(cells * sizeof *ds->c2);
    if (!ds->phi || !ds->c2) {
        hcmc_dataset_release(ds);
        return hcmc_error_set(err, HCMC_ENOMEM,
                              "out of memory for %zu angles of %zu x %zu frames", n_phi,
                              n_frames, n_frames);
    }
    for (size_t k = 0; k < cells; k++)
        ds->c2[k] = NAN;
    ds->n_phi = n_phi;
    ds->n_frames = n_frames;
    return HCMC_OK;
}

void hcmc_dataset_release(hcmc_dataset *ds)
{
    if (!ds)
        return;
    free(ds->phi);
    free(ds->c2);
    memset(ds, 0, sizeof *ds);
}

int hcmc_dataset_to_points(const hcmc_dataset *ds, long start_frame, long end_frame,
                           hcmc_points *out, hcmc_points_report *rep, hcmc_error *err)
{
    memset(out, 0, sizeof *out);
    const char *src = ds->source[0] ? ds->source : "data set";
    long nf = (long)ds->n_frames;
    long end = end_frame == -1 ? nf : end_frame;
    if (start_frame < 1 || start_frame > nf)
        return hcmc_error_set(err, HCMC_EINVAL,
                              "%s: start_frame = %ld is outside the recorded "
                              "frames 1..%ld",
                              src, start_frame, nf);
    if (end < 1 || end > nf)
        return hcmc_error_set(err, HCMC_EINVAL,
                              "%s: end_frame = %ld is outside the recorded frames "
                              "1..%ld (or -1 for the last)",
                              src, end_frame, nf);
    if (start_frame > end)
        return hcmc_error_set(err, HCMC_EINVAL,
                              "%s: start_frame = %ld is after end_frame = %ld", src,
                              start_frame, end);
    size_t f0 = (size_t)(start_frame - 1), n_t = (size_t)(end - start_frame + 1);
    if (n_t < 3)
        return hcmc_error_set(err, HCMC_ENODATA,
                              "%s: frames %ld..%ld keep %zu frames; at least 3 are "
                              "needed (frame 0 of the selection is excluded)",
                              src, start_frame, end, n_t);
    if (n_t > HCMC_MAX_FRAMES)
        return hcmc_error_set(err, HCMC_EINVAL,
                              "%s: %zu frames selected; at most %d are supported", src,
                              n_t, HCMC_MAX_FRAMES);
    if (!(ds->dt > 0))
        return hcmc_error_set(err, HCMC_EINVAL, "%s: dt = %g must be > 0", src, ds->dt);

    /* count first so the table is allocated once */
    size_t *per_angle = calloc(ds->n_phi, sizeof *per_angle);
    if (!per_angle)
        return hcmc_error_set(err, HCMC_ENOMEM, "out of memory");
    size_t total = 0, nonfinite = 0, kept_angles = 0;
    for (size_t a = 0; a < ds->n_phi; a++) {
        const double *M = hcmc_dataset_matrix(ds, a);
        for (size_t i = 1; i < n_t; i++)
            for (size_t j = i + 1; j < n_t; j++) {
                if (isfinite(M[(f0 + i) * ds->n_frames + f0 + j]))
                    per_angle[a]++;
                else
                    nonfinite++;
            }
        total += per_angle[a];
        if (per_angle[a])
            kept_angles++;
        else
            hcmc_log(HCMC_LOG_WARN,
                     "%s: angle %zu (phi = %g deg) has no finite value in frames "
                     "%ld..%ld; it is dropped",
                     src, a, ds->phi[a], start_frame, end);
    }
    if (total == 0) {
        free(per_angle);
        return hcmc_error_set(err, HCMC_ENODATA,
                              "%s: no finite c2 value in frames %ld..%ld of any of "
                              "the %zu angles",
                              src, start_frame, end, ds->n_phi);
    }
    int rc = hcmc_points_init(out, total, kept_angles, n_t, err);
    if (rc) {
        free(per_angle);
        return rc;
    }
    size_t p = 0, b = 0;
    for (size_t a = 0; a < ds->n_phi; a++) {
        if (!per_angle[a])
            continue;
        const double *M = hcmc_dataset_matrix(ds, a);
        out->phi[b] = hcmc_angle_normalize(ds->phi[a]);
        out->angle_start[b] = p;
        for (size_t i = 1; i < n_t; i++)
            for (size_t j = i + 1; j < n_t; j++) {
                double v = M[(f0 + i) * ds->n_frames + f0 + j];
                if (!isfinite(v))
                    continue;
                out->i[p] = (uint16_t)i;
                out->j[p] = (uint16_t)j;
                out->y[p] = v;
                p++;
            }
        b++;
    }
    out->angle_start[b] = p;
    free(per_angle);
    if (rep) {
        rep->n_frames_kept = n_t;
        rep->n_nonfinite = nonfinite;
        rep->n_angles_dropped = ds->n_phi - kept_angles;
    }
    return HCMC_OK;
}
