/* What a finished run looks like: diagnostic plots (PNG, drawn with
 * PLplot's cairo driver) and a self-contained HTML report, both made from
 * the files of a run directory (posterior.nc, summary.json, config.yaml
 * and the data file the run read). */
#ifndef HCMC_PLOT_H
#define HCMC_PLOT_H

#include <stddef.h>

#include "hcmc/export.h"
#include "hcmc/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hcmc_plot_options {
    size_t angles; /* angles shown as c2 heatmaps and cuts; default 3 */
    size_t draws;  /* posterior draws for the predictive band; default 200 */
    size_t cells;  /* heatmap cells per side at most (frames binned); 300 */
} hcmc_plot_options;

HCMC_API void hcmc_plot_options_defaults(hcmc_plot_options *o);

/* Draws the plots of the run in dir into dir/plots/:
 *   trace.png      trace of every physical parameter, one colour per chain
 *   marginals.png  combined marginals, every shard's marginal faintly
 *   forest.png     each shard's mean and 90 % interval per parameter, the
 *                  combined interval as a band, excluded shards marked
 *   corner.png     pairs of the physical parameters
 *   c2_angle_NN.png  data, model at the posterior mean and residuals of
 *                  angle NN (data and model on one colour scale)
 *   c2_cuts.png    c2 against lag at a few t1 with the posterior
 *                  predictive 90 % band
 * The data plots need the run's data file; when it cannot be read they
 * are left out with a warning and the others are still drawn. o may be
 * NULL (defaults). *n_written (may be NULL) gets the number of files. */
HCMC_API int hcmc_plot_dir(const char *dir, const hcmc_plot_options *o,
                           size_t *n_written, hcmc_error *err);

/* Writes dir/report.html: the run's settings, summary table, shard status,
 * diagnostics with pass/fail against their thresholds, and every PNG in
 * dir/plots embedded, in one file with no outside references. */
HCMC_API int hcmc_report_write(const char *dir, hcmc_error *err);

#ifdef __cplusplus
}
#endif
#endif
