/* The diagnostic plots of a run directory, drawn with PLplot's cairo PNG
 * driver from posterior.nc (combined and per-shard draws), summary.json
 * (shard status) and the run's data file (c2 heatmaps and cuts). */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <netcdf.h>
#include <plplot/plplot.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hcmc/aps.h"
#include "hcmc/config.h"
#include "hcmc/dataset.h"
#include "hcmc/log.h"
#include "hcmc/plot.h"
#include "hcmc/rng.h"
#include "hcmc/run.h"
#include "hcmc/target.h"
#include "../base/files.h"
#include "../store/store.h"

void hcmc_plot_options_defaults(hcmc_plot_options *o)
{
    o->angles = 3;
    o->draws = 200;
    o->cells = 300;
}

/* ---- the draws of a run ---------------------------------------------------- */

typedef struct {
    hcmc_run_result *sum;            /* summary.json: names, summaries, shard status */
    size_t d, C, S, K, G;            /* G = C * S */
    double *post;                    /* [d][G] combined draws, constrained */
    double *shard;                   /* [d][K][G], NaN for a shard without draws */
    size_t phys[HCMC_NPHYS_MAX], np; /* coordinates of the physical parameters */
    char data_file[4096];            /* the posterior.nc attribute */
    int *mode;                       /* [G] each draw's mode, NULL: one mode */
    size_t n_modes;
} run_draws;

static void run_draws_release(run_draws *R)
{
    hcmc_run_result_free(R->sum);
    free(R->post);
    free(R->shard);
    free(R->mode);
    memset(R, 0, sizeof *R);
}

/* The parameter names of a run without a posterior (its summary has no
 * table): the variables of posterior.nc's shards group, in their order,
 * with a table of unknown (NaN) summaries. */
static int names_from_shards(int gs, hcmc_run_result *sum, const char *path,
                             hcmc_error *err)
{
    int n = 0, ids[64];
    if (nc_inq_varids(gs, &n, NULL) != NC_NOERR || n <= 0 || n > 64 ||
        nc_inq_varids(gs, &n, ids) != NC_NOERR)
        return hcmc_error_set(err, HCMC_EFORMAT, "%s: no shard draws", path);
    free(sum->names);
    free(sum->summary);
    sum->dim = 0;
    sum->names = calloc((size_t)n, sizeof *sum->names);
    sum->summary = calloc((size_t)n, sizeof *sum->summary);
    if (!sum->names || !sum->summary)
        return hcmc_error_set(err, HCMC_ENOMEM, "%s: out of memory", path);
    for (int k = 0; k < n; k++) {
        char name[NC_MAX_NAME + 1];
        if (nc_inq_varname(gs, ids[k], name) != NC_NOERR ||
            strlen(name) >= sizeof sum->names[k])
            return hcmc_error_set(err, HCMC_EFORMAT, "%s: shards group", path);
        snprintf(sum->names[k], sizeof sum->names[k], "%s", name);
        double nan = NAN;
        sum->summary[k] = (hcmc_param_summary){.mean = nan,
                                               .sd = nan,
                                               .q05 = nan,
                                               .median = nan,
                                               .q95 = nan,
                                               .mcse_mean = nan,
                                               .mcse_sd = nan,
                                               .ess_bulk = nan,
                                               .ess_tail = nan,
                                               .rhat = nan};
    }
    sum->dim = (size_t)n;
    return 0;
}

static int run_draws_read(const char *dir, run_draws *R, hcmc_error *err)
{
    memset(R, 0, sizeof *R);
    char path[HCMC_PATH_MAX + 32];
    int rc = hcmc_run_summary_read(dir, &R->sum, NULL, 0, err);
    if (rc)
        return rc;
    snprintf(path, sizeof path, "%s/posterior.nc", dir);
    int nc = -1, gp, gs, id;
    struct stat st;
    if (stat(path, &st)) {
        rc = hcmc_error_set(err, HCMC_EIO,
                            "%s: %s (a run that has not been combined: hcmc status %s)",
                            path, strerror(errno), dir);
        goto out;
    }
    NC_TRY(nc_open(path, NC_NOWRITE, &nc));
    NC_TRY(nc_inq_dimid(nc, "chain", &id));
    NC_TRY(nc_inq_dimlen(nc, id, &R->C));
    NC_TRY(nc_inq_dimid(nc, "draw", &id));
    NC_TRY(nc_inq_dimlen(nc, id, &R->S));
    NC_TRY(nc_inq_dimid(nc, "shard", &id));
    NC_TRY(nc_inq_dimlen(nc, id, &R->K));
    NC_TRY(nc_inq_grp_ncid(nc, "shards", &gs));
    /* no posterior group: the shards were not combined (their draws are
     * plotted alone, the names come from the shards group) */
    bool combined = nc_inq_grp_ncid(nc, "posterior", &gp) == NC_NOERR;
    if (!combined && (rc = names_from_shards(gs, R->sum, path, err)))
        goto out;
    if (hcmc__posterior_data_file(path, R->data_file, sizeof R->data_file))
        R->data_file[0] = 0; /* config.yaml's path is tried instead */
    R->d = R->sum->dim;
    R->G = R->C * R->S;
    if (!R->d || !R->G || R->K != R->sum->n_shards) {
        rc = hcmc_error_set(err, HCMC_EFORMAT,
                            "%s: %zu parameters, %zu x %zu draws, %zu shards do not "
                            "match summary.json (%zu shards): files of two runs?",
                            path, R->d, R->C, R->S, R->K, R->sum->n_shards);
        goto out;
    }
    R->post = combined ? malloc(R->d * R->G * sizeof *R->post) : NULL;
    R->shard = malloc(R->d * R->K * R->G * sizeof *R->shard);
    if ((combined && !R->post) || !R->shard) {
        rc = hcmc_error_set(err, HCMC_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    for (size_t k = 0; k < R->d; k++) {
        const char *name = R->sum->names[k];
        int v;
        if ((combined && (nc_inq_varid(gp, name, &v) != NC_NOERR ||
                          nc_get_var_double(gp, v, R->post + k * R->G) != NC_NOERR)) ||
            nc_inq_varid(gs, name, &v) != NC_NOERR ||
            nc_get_var_double(gs, v, R->shard + k * R->K * R->G) != NC_NOERR) {
            rc = hcmc_error_set(err, HCMC_EFORMAT,
                                "%s: no draws of '%s' (named in summary.json)", path,
                                name);
            goto out;
        }
        int p = hcmc_phys_index(name);
        if (p >= 0 && !strcmp(name, hcmc_phys_name(p)) && R->np < HCMC_NPHYS_MAX)
            R->phys[R->np++] = k;
    }
    /* the modes sampled one by one (modes group): each draw's */
    int gm, vm, dm;
    size_t nm = 0;
    if (combined && nc_inq_grp_ncid(nc, "modes", &gm) == NC_NOERR &&
        nc_inq_varid(gm, "draw_mode", &vm) == NC_NOERR &&
        nc_inq_dimid(gm, "mode", &dm) == NC_NOERR &&
        nc_inq_dimlen(gm, dm, &nm) == NC_NOERR && nm > 1 &&
        (R->mode = malloc(R->G * sizeof *R->mode))) {
        if (nc_get_var_int(gm, vm, R->mode) != NC_NOERR) {
            free(R->mode);
            R->mode = NULL;
        } else
            R->n_modes = nm;
    }
out:
    if (nc >= 0)
        nc_close(nc);
    if (rc)
        run_draws_release(R);
    return rc;
}

/* ---- drawing helpers ------------------------------------------------------- */

enum { COL_BG = 0, COL_FG, COL_GREY, COL_LIGHT, COL_BAND, COL_EXCL, COL_SERIES };
#define N_SERIES 8

/* colour 0 is the background; COL_SERIES.. the series (a colour-blind
 * friendly set) */
static void palette(void)
{
    static const PLINT rgb[][3] = {{255, 255, 255}, {0, 0, 0},       {110, 110, 110},
                                   {200, 200, 200}, {190, 215, 240}, {215, 48, 39},
                                   {0, 114, 178},   {230, 159, 0},   {0, 158, 115},
                                   {204, 121, 167}, {86, 180, 233},  {213, 94, 0},
                                   {120, 94, 240},  {60, 60, 60}};
    size_t n = sizeof rgb / sizeof rgb[0];
    PLINT r[16], g[16], b[16];
    for (size_t i = 0; i < n; i++)
        r[i] = rgb[i][0], g[i] = rgb[i][1], b[i] = rgb[i][2];
    plscmap0n((PLINT)n);
    plscmap0(r, g, b, (PLINT)n);
}

static void colour(int c, double alpha)
{
    PLINT r, g, b;
    PLFLT a;
    plgcol0a(c, &r, &g, &b, &a);
    plscol0a(c, r, g, b, alpha);
    plcol0(c);
}

static int series(size_t i)
{
    return COL_SERIES + (int)(i % N_SERIES);
}

/* A legend in one row above the current viewport, flush right. */
static void legend_row(const char *const *text, const int *cols, size_t n)
{
    PLFLT sx0, sx1, sy0, sy1, vx0, vx1, vy0, vy1, def, ht;
    plgspa(&sx0, &sx1, &sy0, &sy1);
    plgvpd(&vx0, &vx1, &vy0, &vy1);
    plgchr(&def, &ht);
    double width_mm = (vx1 - vx0) * (sx1 - sx0), pos = 1.0;
    for (size_t i = n; i-- > 0;) {
        plcol0(cols[i]);
        plmtex("t", 0.5, pos, 1.0, text[i]);
        size_t chars = 0; /* UTF-8 characters, about 0.6 of the height wide */
        for (const char *c = text[i]; *c; c++)
            chars += ((unsigned char)*c & 0xC0) != 0x80;
        pos -= (0.62 * ht * (double)chars + 2.5 * ht) / width_mm;
    }
    plcol0(COL_FG);
}

/* A tick step that gives about n intervals on [lo, hi]: 1, 2 or 5 times a
 * power of ten. */
static double tick_step(double lo, double hi, double n)
{
    double raw = (hi - lo) / n, p = pow(10, floor(log10(raw))), m = raw / p;
    return !(raw > 0) ? 0 : (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

/* Tick labels as plain numbers (no "x10^n" above the axis, which would
 * run into the panel above). */
static void tick_label(PLINT axis, PLFLT value, char *buf, PLINT cap, PLPointer log)
{
    (void)log;
    PLFLT x0, x1, y0, y1;
    plgvpw(&x0, &x1, &y0, &y1);
    double span = axis == PL_X_AXIS ? fabs(x1 - x0) : fabs(y1 - y0);
    if (fabs(value) < 1e-9 * span) /* a zero tick from rounding */
        value = 0;
    snprintf(buf, (size_t)cap, "%.6g", value);
}

/* The same for a logarithmic x axis, where PLplot hands over log10 of the
 * value. */
static void tick_label_logx(PLINT axis, PLFLT value, char *buf, PLINT cap,
                            PLPointer data)
{
    if (axis == PL_X_AXIS)
        snprintf(buf, (size_t)cap, "%.6g", pow(10, value));
    else
        tick_label(axis, value, buf, cap, data);
}

/* PLplot ends the process on a fatal error by default; hcmc reports it. */
static int pl_exit_handler(const char *msg)
{
    hcmc_log(HCMC_LOG_ERROR, "plot: %s", msg);
    return 0;
}

/* The page being drawn: PLplot writes a temporary beside its final name,
 * which page_end renames into place (no half-drawn PNG under its name). */
static char page_path[HCMC_PATH_MAX], page_tmp[HCMC_PATH_MAX + 32];

/* Starts a PNG of w x h pixels at path. The file is opened here first, so
 * that an unwritable folder is an error message and not PLplot's exit. */
static int page_begin(const char *path, int w, int h, hcmc_error *err)
{
    if (snprintf(page_path, sizeof page_path, "%s", path) >= (int)sizeof page_path ||
        hcmc__tmp_name(page_tmp, sizeof page_tmp, path))
        return hcmc_error_set(err, HCMC_EINVAL, "%s: path too long", path);
    FILE *f = fopen(page_tmp, "wb");
    if (!f)
        return hcmc_error_set(err, HCMC_EIO, "%s: %s", page_tmp, strerror(errno));
    fclose(f);
    char geo[32];
    snprintf(geo, sizeof geo, "%dx%d", w, h);
    plsexit(pl_exit_handler);
    plsdev("pngcairo");
    plsfnam(page_tmp);
    plsetopt("geometry", geo);
    palette();
    plinit();
    pladv(0);
    plschr(0, 0.62);
    plwidth(1.0);
    plslabelfunc(tick_label, NULL);
    return 0;
}

static void page_end(void)
{
    plend();
    hcmc_error e;
    if (hcmc__commit(page_tmp, page_path, &e))
        hcmc_log(HCMC_LOG_WARN, "%s", e.msg);
}

/* Viewport of cell (col, row) of an nx x ny grid, row 0 at the top, inside
 * the page margins (normalised page units). */
typedef struct {
    double left, right, bottom, top, gapx, gapy;
} layout;

static void cell(const layout *L, int col, int row, int nx, int ny)
{
    double w = (1 - L->left - L->right) / nx, h = (1 - L->bottom - L->top) / ny;
    double x0 = L->left + col * w, y1 = 1 - L->top - row * h;
    plvpor(x0, x0 + w - L->gapx, y1 - h + L->gapy, y1);
}

/* A title over the whole grid, flush left; leaves the viewport there for
 * a legend_row flush right. */
static void page_title(const layout *L, const char *title)
{
    plvpor(L->left, 1 - L->right - L->gapx, L->bottom, 1 - L->top);
    plwind(0, 1, 0, 1);
    plcol0(COL_FG);
    plmtex("t", 0.5, 0.0, 0.0, title);
}

/* Finite min and max of v[0..n) (with stride), widened when equal. */
static void range(const double *v, size_t n, size_t stride, double *lo, double *hi)
{
    double a = INFINITY, b = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        double x = v[i * stride];
        if (isfinite(x)) {
            a = x < a ? x : a;
            b = x > b ? x : b;
        }
    }
    if (!(a <= b))
        a = 0, b = 1;
    if (b - a <= 1e-12 * (fabs(a) + fabs(b))) {
        double pad = a != 0 ? 0.01 * fabs(a) : 1;
        a -= pad, b += pad;
    }
    *lo = a, *hi = b;
}

/* Quantile q of the finite values of v[0..n); NaN when there are none. */
static double quantile(const double *v, size_t n, double q, double *work)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i]))
            work[m++] = v[i];
    return m ? hcmc_quantile_inplace(work, m, q) : NAN;
}

/* A legend at the top right inside the current viewport and window: one
 * line per entry, in its colour. */
static void legend(const char *const *text, const int *cols, size_t n)
{
    PLFLT x0, x1, y0, y1, def, ht, sx0, sx1, sy0, sy1, vx0, vx1, vy0, vy1;
    plgvpw(&x0, &x1, &y0, &y1);
    plgchr(&def, &ht);
    plgspa(&sx0, &sx1, &sy0, &sy1);
    plgvpd(&vx0, &vx1, &vy0, &vy1);
    double line = 1.7 * ht / ((vy1 - vy0) * (sy1 - sy0)) * (y1 - y0);
    double pad = 0.8 * ht / ((vx1 - vx0) * (sx1 - sx0)) * (x1 - x0);
    for (size_t i = 0; i < n; i++) {
        plcol0(cols[i]);
        plptex(x1 - pad, y1 - line * ((double)i + 1), 1, 0, 1.0, text[i]);
    }
    plcol0(COL_FG);
}

/* Axis label of a parameter with its unit. */
static void param_label(const char *name, char *buf, size_t cap)
{
    static const char *const units[HCMC_NPHYS_MAX] = {
        "Å#u2#d/s#u1+α#d", "", "Å#u2#d/s", "1/s#u1+β#d", "", "1/s", "deg"};
    int p = hcmc_phys_index(name);
    if (p >= 0 && units[p][0])
        snprintf(buf, cap, "%s [%s]", name, units[p]);
    else
        snprintf(buf, cap, "%s", name);
}

/* Histogram of v[0..n) over [lo, hi) in nb bins as a density. */
static void density(const double *v, size_t n, double lo, double hi, size_t nb,
                    double *h)
{
    memset(h, 0, nb * sizeof *h);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i]))
            continue;
        m++;
        if (v[i] < lo || v[i] >= hi)
            continue;
        h[(size_t)((v[i] - lo) / (hi - lo) * (double)nb)] += 1;
    }
    double norm = m ? (double)m * (hi - lo) / (double)nb : 1;
    for (size_t b = 0; b < nb; b++)
        h[b] /= norm;
}

/* The histogram as a step line. */
static void steps(const double *h, size_t nb, double lo, double hi)
{
    PLFLT x[2 * 128 + 2], y[2 * 128 + 2];
    size_t m = 0;
    double w = (hi - lo) / (double)nb;
    x[m] = lo, y[m++] = 0;
    for (size_t b = 0; b < nb && b < 128; b++) {
        x[m] = lo + (double)b * w, y[m++] = h[b];
        x[m] = lo + (double)(b + 1) * w, y[m++] = h[b];
    }
    x[m] = hi, y[m++] = 0;
    plline((PLINT)m, x, y);
}

/* ---- plots of the draws ---------------------------------------------------- */

/* Combined draws of coordinate k. */
static const double *post_of(const run_draws *R, size_t k)
{
    return R->post + k * R->G;
}

/* Draws of shard s for coordinate k (NaN when it has none). */
static const double *shard_of(const run_draws *R, size_t k, size_t s)
{
    return R->shard + (k * R->K + s) * R->G;
}

static bool shard_kept(const run_draws *R, size_t s)
{
    return R->sum->shards[s].status == HCMC_SHARD_KEPT;
}

static bool shard_has_draws(const run_draws *R, size_t s)
{
    return R->np && isfinite(shard_of(R, R->phys[0], s)[0]);
}

static int plot_trace(const run_draws *R, const char *path, hcmc_error *err)
{
    size_t np = R->np;
    int rc = page_begin(path, 1400, (int)(190 * np + 140), err);
    if (rc)
        return rc;
    layout L = {0.09, 0.02, 0.45 / (double)(np + 1), 0.45 / (double)(np + 1), 0, 0.045};
    PLFLT *x = malloc(R->S * sizeof *x);
    if (!x) {
        page_end();
        return hcmc_error_set(err, HCMC_ENOMEM, "%s: out of memory", path);
    }
    /* without a combination, each shard's chains side by side: shard s
     * takes draws s S .. (s + 1) S - 1 of the axis */
    size_t blocks = R->post ? 1 : R->K, span = blocks * R->S;
    for (size_t p = 0; p < np; p++) {
        size_t k = R->phys[p];
        double lo = INFINITY, hi = -INFINITY;
        for (size_t b = 0; b < blocks; b++) {
            const double *v = R->post ? post_of(R, k) : shard_of(R, k, b);
            double l, h;
            range(v, R->G, 1, &l, &h);
            lo = l < lo ? l : lo;
            hi = h > hi ? h : hi;
        }
        if (!(lo <= hi))
            lo = 0, hi = 1;
        double pad = 0.05 * (hi - lo);
        cell(&L, 0, (int)p, 1, (int)np);
        plwind(0, (double)(span - 1 ? span - 1 : 1), lo - pad, hi + pad);
        plcol0(COL_FG);
        plbox(p + 1 == np ? "bcnsto" : "bcst", 0, 0, "bcnstvo", tick_step(lo, hi, 4),
              0);
        for (size_t b = 0; b < blocks; b++) {
            const double *v = R->post ? post_of(R, k) : shard_of(R, k, b);
            for (size_t i = 0; i < R->S; i++)
                x[i] = (double)(b * R->S + i);
            for (size_t c = 0; c < R->C; c++) {
                colour(series(c), 0.85);
                plline((PLINT)R->S, x, v + c * R->S);
            }
        }
        char lab[96];
        param_label(R->sum->names[k], lab, sizeof lab);
        plcol0(COL_FG);
        plmtex("t", 0.5, 0.0, 0.0, lab);
        if (p == 0) {
            char t[160];
            if (R->post)
                snprintf(t, sizeof t,
                         "Trace of the combined draws (%zu chains x %zu draws)", R->C,
                         R->S);
            else
                snprintf(t, sizeof t,
                         "Not combined: each shard's draws, shards 0 to %zu side by "
                         "side (%zu chains x %zu draws each)",
                         R->K - 1, R->C, R->S);
            plmtex("t", 2.2, 0.5, 0.5, t);
        }
    }
    plmtex("b", 3.2, 0.5, 0.5, "draw");
    /* the chains' colours */
    char names[N_SERIES][16];
    const char *text[N_SERIES];
    int cols[N_SERIES];
    size_t nc = R->C < N_SERIES ? R->C : N_SERIES;
    for (size_t c = 0; c < nc; c++) {
        snprintf(names[c], sizeof names[c], "chain %zu", c);
        text[c] = names[c];
        cols[c] = series(c);
    }
    cell(&L, 0, 0, 1, (int)np);
    plwind(0, 1, 0, 1);
    legend_row(text, cols, nc);
    free(x);
    page_end();
    return 0;
}

/* Range of the marginal panels: the combined draws' 0.5-99.5 % and the
 * shards' 1-99 %, so that both are seen. */
static void marginal_range(const run_draws *R, size_t k, double *work, double *lo,
                           double *hi)
{
    double a = R->post ? quantile(post_of(R, k), R->G, 0.005, work) : INFINITY;
    double b = R->post ? quantile(post_of(R, k), R->G, 0.995, work) : -INFINITY;
    for (size_t s = 0; s < R->K; s++) {
        if (!shard_has_draws(R, s))
            continue;
        double qa = quantile(shard_of(R, k, s), R->G, 0.01, work);
        double qb = quantile(shard_of(R, k, s), R->G, 0.99, work);
        a = qa < a ? qa : a;
        b = qb > b ? qb : b;
    }
    if (!(a < b) && R->post)
        range(post_of(R, k), R->G, 1, &a, &b);
    if (!(a < b)) { /* one value, or none */
        double m = isfinite(a) ? a : 0, w = m != 0 ? 0.01 * fabs(m) : 1;
        a = m - w, b = m + w;
    }
    *lo = a, *hi = b;
}

static int grid_cols(size_t n)
{
    return n <= 3 ? (int)n : n == 4 ? 2 : 3;
}

static int plot_marginals(const run_draws *R, const char *path, hcmc_error *err)
{
    size_t np = R->np, nb = R->G / 25 < 15 ? 15 : R->G / 25 > 60 ? 60 : R->G / 25;
    int nx = grid_cols(np), ny = (int)((np + (size_t)nx - 1) / (size_t)nx);
    double *work = malloc(R->G * sizeof *work), h[60], hs[60];
    if (!work)
        return hcmc_error_set(err, HCMC_ENOMEM, "%s: out of memory", path);
    int rc = page_begin(path, 560 * nx, 430 * ny + 90, err);
    if (rc) {
        free(work);
        return rc;
    }
    layout L = {0.04, 0.02, 0.13 / ny, 0.07 / ny, 0.04, 0.17 / ny};
    for (size_t p = 0; p < np; p++) {
        size_t k = R->phys[p];
        double lo, hi;
        marginal_range(R, k, work, &lo, &hi);
        double top = 0;
        if (R->post)
            density(post_of(R, k), R->G, lo, hi, nb, h);
        for (size_t b = 0; R->post && b < nb; b++)
            top = h[b] > top ? h[b] : top;
        for (size_t s = 0; !R->post && s < R->K; s++) { /* the shards set the scale */
            if (!shard_has_draws(R, s))
                continue;
            density(shard_of(R, k, s), R->G, lo, hi, nb, hs);
            for (size_t b = 0; b < nb; b++)
                top = hs[b] > top ? hs[b] : top;
        }
        cell(&L, (int)(p % (size_t)nx), (int)(p / (size_t)nx), nx, ny);
        plwind(lo, hi, 0, 1.08 * (top > 0 ? top : 1));
        plcol0(COL_FG);
        plbox("bcnsto", tick_step(lo, hi, 3), 0, "bc", 0, 0);
        plwidth(1.0);
        for (size_t s = 0; s < R->K; s++) {
            if (!shard_has_draws(R, s))
                continue;
            density(shard_of(R, k, s), R->G, lo, hi, nb, hs);
            colour(shard_kept(R, s) ? COL_GREY : COL_EXCL, 0.35);
            steps(hs, nb, lo, hi);
        }
        plwidth(2.5);
        colour(COL_SERIES, 1.0);
        if (R->post)
            steps(h, nb, lo, hi);
        /* over it, each mode's share of the combined density, in its own colour */
        for (size_t m = 0; R->post && R->mode && m < R->n_modes && m + 1 < N_SERIES;
             m++) {
            size_t n = 0;
            for (size_t g = 0; g < R->G; g++)
                if (R->mode[g] == (int)m)
                    work[n++] = post_of(R, k)[g];
            density(work, n, lo, hi, nb, hs);
            for (size_t b = 0; b < nb; b++)
                hs[b] *= (double)n / (double)R->G;
            plwidth(1.8);
            colour(series(m + 1), 1.0);
            steps(hs, nb, lo, hi);
        }
        plwidth(1.0);
        char lab[96];
        param_label(R->sum->names[k], lab, sizeof lab);
        plcol0(COL_FG);
        plmtex("b", 3.6, 0.5, 0.5, lab);
    }
    page_title(&L, R->post ? "Marginal posteriors: combined and each shard's"
                           : "Not combined: each shard's marginal posterior");
    const char *text[3 + N_SERIES] = {"combined", "shards", "excluded shards"};
    int cols[3 + N_SERIES] = {COL_SERIES, COL_GREY, COL_EXCL};
    char mname[N_SERIES][24];
    size_t nt = 3;
    for (size_t m = 0; R->post && R->mode && m < R->n_modes && m + 1 < N_SERIES; m++) {
        snprintf(mname[m], sizeof mname[m], "mode %zu", m + 1);
        text[nt] = mname[m];
        cols[nt++] = series(m + 1);
    }
    legend_row(text + !R->post, cols + !R->post, nt - !R->post);
    page_end();
    free(work);
    return 0;
}

static int plot_forest(const run_draws *R, const char *path, hcmc_error *err)
{
    size_t np = R->np, K = R->K;
    int nx = grid_cols(np), ny = (int)((np + (size_t)nx - 1) / (size_t)nx);
    double *work = malloc(R->G * sizeof *work);
    if (!work)
        return hcmc_error_set(err, HCMC_ENOMEM, "%s: out of memory", path);
    int h = (int)(K * 14 + 160);
    h = h < 380 ? 380 : h > 1200 ? 1200 : h;
    int rc = page_begin(path, 560 * nx, h * ny + 90, err);
    if (rc) {
        free(work);
        return rc;
    }
    layout L = {0.07, 0.02, 0.10 / ny, 0.09 / ny, 0.05, 0.12 / ny};
    for (size_t p = 0; p < np; p++) {
        size_t k = R->phys[p];
        const hcmc_param_summary *cs = &R->sum->summary[k];
        double lo, hi;
        marginal_range(R, k, work, &lo, &hi);
        cell(&L, (int)(p % (size_t)nx), (int)(p / (size_t)nx), nx, ny);
        plwind(lo, hi, -0.8, (double)K - 0.2);
        /* the combined 90 % interval as a band, its mean as a line */
        if (isfinite(cs->q05) && isfinite(cs->q95)) {
            PLFLT bx[4] = {cs->q05, cs->q95, cs->q95, cs->q05};
            PLFLT by[4] = {-0.8, -0.8, (double)K - 0.2, (double)K - 0.2};
            colour(COL_BAND, 1.0);
            plfill(4, bx, by);
            PLFLT mx[2] = {cs->mean, cs->mean}, my[2] = {-0.8, (double)K - 0.2};
            colour(COL_SERIES, 1.0);
            plline(2, mx, my);
        }
        plcol0(COL_FG);
        plbox("bcnsto", tick_step(lo, hi, 3), 0, "bcnstvo", 0, 0);
        for (size_t s = 0; s < K; s++) {
            if (!shard_has_draws(R, s))
                continue;
            const double *v = shard_of(R, k, s);
            double m = 0;
            size_t n = 0;
            for (size_t i = 0; i < R->G; i++)
                if (isfinite(v[i]))
                    m += v[i], n++;
            m /= n ? (double)n : 1;
            PLFLT ix[2] = {quantile(v, R->G, 0.05, work),
                           quantile(v, R->G, 0.95, work)};
            PLFLT iy[2] = {(double)s, (double)s}, px[1] = {m}, py[1] = {(double)s};
            bool kept = shard_kept(R, s);
            plcol0(kept ? COL_FG : COL_EXCL);
            plwidth(1.5);
            plline(2, ix, iy);
            plwidth(1.0);
            plssym(0, K > 40 ? 0.6 : 1.0);
            plpoin(1, px, py, kept ? 17 : 5);
        }
        plssym(0, 1.0);
        char lab[96];
        param_label(R->sum->names[k], lab, sizeof lab);
        plcol0(COL_FG);
        plmtex("b", 3.6, 0.5, 0.5, lab);
        if (p % (size_t)nx == 0)
            plmtex("l", 3.5, 0.5, 0.5, "shard");
    }
    plvpor(0, 1, 0, 1);
    plwind(0, 1, 0, 1);
    plcol0(COL_FG);
    plmtex("t", -1.5, 0.5, 0.5,
           "Each shard's mean and 90 % interval; band: combined 90 % interval; "
           "red x: excluded shard");
    page_end();
    free(work);
    return 0;
}

/* The pairs (vx, vy) in [xlo, xhi) x [ylo, yhi) as a PAIR_BINS^2 image,
 * white (none) to the series colour (the fullest cell) by the square root
 * of the count, so that the tails stay visible; cnt is PAIR_BINS^2
 * workspace. An image rather than a symbol per draw: a scatter of
 * thousands of translucent symbols per panel cost about a second a page. */
#define PAIR_BINS 40
static void pair_density(const double *vx, const double *vy, size_t n, double xlo,
                         double xhi, double ylo, double yhi, PLFLT *cnt)
{
    PLFLT *col[PAIR_BINS], top = 0;
    memset(cnt, 0, PAIR_BINS * PAIR_BINS * sizeof *cnt);
    for (size_t i = 0; i < n; i++) {
        double fx = (vx[i] - xlo) / (xhi - xlo), fy = (vy[i] - ylo) / (yhi - ylo);
        if (!(fx >= 0 && fx < 1 && fy >= 0 && fy < 1)) /* NaN too */
            continue;
        cnt[(size_t)(fx * PAIR_BINS) * PAIR_BINS + (size_t)(fy * PAIR_BINS)] += 1;
    }
    for (size_t b = 0; b < PAIR_BINS * PAIR_BINS; b++) {
        cnt[b] = sqrt(cnt[b]);
        top = cnt[b] > top ? cnt[b] : top;
    }
    for (size_t b = 0; b < PAIR_BINS; b++)
        col[b] = cnt + b * PAIR_BINS;
    top = top > 0 ? top : 1;
    plimagefr((const PLFLT *const *)col, PAIR_BINS, PAIR_BINS, xlo, xhi, ylo, yhi, 0,
              top, 0, top, NULL, NULL);
}

/* colour map 1 from white to the series colour */
static void cmap_pairs(void)
{
    PLINT r, g, b;
    PLFLT a;
    plgcol0a(COL_SERIES, &r, &g, &b, &a);
    PLFLT pos[2] = {0, 1}, cr[2] = {1, r / 255.0}, cg[2] = {1, g / 255.0},
          cb[2] = {1, b / 255.0};
    plscmap1n(256);
    plscmap1l(1, 2, pos, cr, cg, cb, NULL);
}

static int plot_corner(const run_draws *R, const char *path, hcmc_error *err)
{
    size_t np = R->np, nb = R->G / 25 < 15 ? 15 : R->G / 25 > 40 ? 40 : R->G / 25;
    double *work = malloc(R->G * sizeof *work), lo[HCMC_NPHYS_MAX], hi[HCMC_NPHYS_MAX];
    PLFLT *cnt = malloc(PAIR_BINS * PAIR_BINS * sizeof *cnt);
    if (!work || !cnt) {
        free(work), free(cnt);
        return hcmc_error_set(err, HCMC_ENOMEM, "%s: out of memory", path);
    }
    int side = np <= 3 ? 330 : 260, size = side * (int)np + 220;
    int rc = page_begin(path, size, size, err);
    if (rc) {
        free(work), free(cnt);
        return rc;
    }
    cmap_pairs();
    /* PLplot's text scales with the page: keep it at the other plots' size */
    plschr(0, 0.62 * 1450.0 / size);
    for (size_t p = 0; p < np; p++) {
        const double *v = post_of(R, R->phys[p]);
        lo[p] = quantile(v, R->G, 0.002, work);
        hi[p] = quantile(v, R->G, 0.998, work);
        if (!(lo[p] < hi[p]))
            range(v, R->G, 1, &lo[p], &hi[p]);
    }
    double margin = 230.0 / size;
    layout L = {margin, 0.015, margin, 0.015, 0.008, 0.008};
    for (size_t r = 0; r < np; r++) {
        for (size_t c = 0; c <= r; c++) {
            cell(&L, (int)c, (int)r, (int)np, (int)np);
            const double *vx = post_of(R, R->phys[c]), *vy = post_of(R, R->phys[r]);
            char lab[96];
            if (r == c) {
                double h[40], top = 0;
                density(vx, R->G, lo[c], hi[c], nb, h);
                for (size_t b = 0; b < nb; b++)
                    top = h[b] > top ? h[b] : top;
                plwind(lo[c], hi[c], 0, 1.1 * (top > 0 ? top : 1));
                plcol0(COL_FG);
                plbox(r + 1 == np ? "bcnsto" : "bcst", tick_step(lo[c], hi[c], 1.6), 0,
                      "bc", 0, 0);
                plwidth(2.0);
                colour(COL_SERIES, 1.0);
                steps(h, nb, lo[c], hi[c]);
                plwidth(1.0);
            } else {
                plwind(lo[c], hi[c], lo[r], hi[r]);
                pair_density(vx, vy, R->G, lo[c], hi[c], lo[r], hi[r], cnt);
                plcol0(COL_FG);
                plbox(r + 1 == np ? "bcnsto" : "bcst", tick_step(lo[c], hi[c], 1.6), 0,
                      c == 0 ? "bcnstvo" : "bcst", tick_step(lo[r], hi[r], 1.6), 0);
            }
            plcol0(COL_FG);
            if (r + 1 == np) {
                param_label(R->sum->names[R->phys[c]], lab, sizeof lab);
                plmtex("b", 3.2, 0.5, 0.5, lab);
            }
            if (c == 0 && r > 0) {
                param_label(R->sum->names[R->phys[r]], lab, sizeof lab);
                plmtex("l", 6.0, 0.5, 0.5, lab);
            }
        }
    }
    plvpor(0, 1, 0, 1);
    plwind(0, 1, 0, 1);
    plcol0(COL_FG);
    plmtex("t", -2.0, 0.97, 1.0, "Pairs of the combined draws");
    page_end();
    free(work), free(cnt);
    return 0;
}

/* ---- plots of the data ----------------------------------------------------- */

typedef struct {
    hcmc_points pts;
    hcmc_target *t;
    hcmc_target_ws *ws;
    double dt;
    double *zmean; /* [d] the posterior mean in sampling coordinates */
} data_view;

static void data_view_release(data_view *V)
{
    hcmc_target_ws_free(V->ws);
    hcmc_target_free(V->t);
    hcmc_points_release(&V->pts);
    free(V->zmean);
    memset(V, 0, sizeof *V);
}

/* The run's points and target, from dir/config.yaml and the data file
 * named in posterior.nc. */
static int data_view_open(const char *dir, const run_draws *R, data_view *V,
                          hcmc_error *err)
{
    memset(V, 0, sizeof *V);
    char path[HCMC_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    hcmc_config *c = calloc(1, sizeof *c);
    hcmc_dataset ds = {0};
    double *theta = NULL;
    int rc;
    if (!c)
        return hcmc_error_set(err, HCMC_ENOMEM, "out of memory");
    if ((rc = hcmc_config_load(path, c, err)))
        goto out;
    bool in_memory = !strncmp(R->data_file, HCMC_IN_MEMORY, strlen(HCMC_IN_MEMORY));
    if (R->data_file[0] && !in_memory)
        snprintf(c->data_file, sizeof c->data_file, "%s", R->data_file);
    else if (in_memory || !c->data_file[0]) {
        rc = hcmc_error_set(err, HCMC_ENODATA,
                            "the run's data were given in memory, not as a file");
        goto out;
    }
    hcmc_aps_select sel;
    hcmc_config_selection(c, &sel);
    if ((rc = hcmc_aps_read(c->data_file, &sel, &ds, NULL, err)) ||
        (rc = hcmc_dataset_to_points(&ds, 1, -1, &V->pts, NULL, err)))
        goto out;
    hcmc_dataset_release(&ds);
    hcmc_target_spec spec;
    hcmc_config_target_spec(c, &spec);
    spec.model.n_t = V->pts.n_t;
    V->dt = c->dt;
    if ((rc = hcmc_target_new(&spec, &V->pts, &V->t, err)))
        goto out;
    size_t d = hcmc_target_dim(V->t);
    for (size_t k = 0; k < d && d == R->d; k++) {
        const char *run_name = R->sum->names[k];
        if (strcmp(hcmc_target_param_name(V->t, k), run_name))
            d = 0;
    }
    if (d != R->d) {
        rc = hcmc_error_set(err, HCMC_EFORMAT,
                            "%s: its parameters no longer match the run's (%zu, run "
                            "%zu): data file or configuration changed since",
                            c->data_file, hcmc_target_dim(V->t), R->d);
        goto out;
    }
    V->ws = hcmc_target_ws_new(V->t);
    V->zmean = malloc(d * sizeof *V->zmean);
    theta = malloc(d * sizeof *theta);
    if (!V->ws || !V->zmean || !theta) {
        rc = hcmc_error_set(err, HCMC_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t k = 0; k < d; k++)
        theta[k] = R->sum->summary[k].mean;
    rc = hcmc_target_unconstrain(V->t, theta, V->zmean, err);
out:
    hcmc_dataset_release(&ds);
    hcmc_config_release(c);
    free(c);
    free(theta);
    if (rc)
        data_view_release(V);
    return rc;
}

/* Colour map 1: viridis-like for c2, blue-white-red for residuals. */
static void cmap_sequential(void)
{
    PLFLT pos[5] = {0, 0.25, 0.5, 0.75, 1};
    PLFLT r[5] = {0.267, 0.231, 0.129, 0.369, 0.992};
    PLFLT g[5] = {0.004, 0.322, 0.569, 0.788, 0.906};
    PLFLT b[5] = {0.329, 0.545, 0.549, 0.384, 0.145};
    plscmap1n(256);
    plscmap1l(1, 5, pos, r, g, b, NULL);
}

static void cmap_diverging(void)
{
    PLFLT pos[3] = {0, 0.5, 1};
    PLFLT r[3] = {0.129, 0.969, 0.698}, g[3] = {0.4, 0.969, 0.094},
          b[3] = {0.675, 0.969, 0.169};
    plscmap1n(256);
    plscmap1l(1, 3, pos, r, g, b, NULL);
}

/* A B x B image (column-major rows idata[x][y]) in [0, T]^2 with its
 * colour bar to the right; NaN cells are left blank. */
static void heat_panel(double x0, double x1, double y0, double y1, PLFLT **img,
                       size_t B, double T, double zlo, double zhi, const char *title,
                       const char *bar_label)
{
    for (size_t a = 0; a < B; a++)
        for (size_t b = 0; b < B; b++) {
            double v = img[a][b];
            img[a][b] = !isfinite(v) ? zlo - (zhi - zlo) - 1
                        : v < zlo    ? zlo
                        : v > zhi    ? zhi
                                     : v;
        }
    plvpor(x0, x1, y0, y1);
    plwind(0, T, 0, T);
    /* plimagefr: the colours span [zlo, zhi] whatever the hidden cells hold */
    plimagefr((const PLFLT *const *)img, (PLINT)B, (PLINT)B, 0, T, 0, T, zlo, zhi, zlo,
              zhi, NULL, NULL);
    plcol0(COL_FG);
    plbox("bcnsto", 0, 0, "bcnstvo", 0, 0);
    plmtex("b", 3.0, 0.5, 0.5, "t#d1#u [s]");
    plmtex("l", 3.5, 0.5, 0.5, "t#d2#u [s]");
    plmtex("t", 1.0, 0.5, 0.5, title);
    /* colour bar */
    PLFLT col[2][64], *cp[2] = {col[0], col[1]};
    for (int i = 0; i < 64; i++)
        col[0][i] = col[1][i] = zlo + (zhi - zlo) * (i + 0.5) / 64;
    double w = x1 - x0;
    plvpor(x1 + 0.03 * w, x1 + 0.09 * w, y0, y1);
    plwind(0, 1, zlo, zhi);
    plimagefr((const PLFLT *const *)cp, 2, 64, 0, 1, zlo, zhi, zlo, zhi, zlo, zhi, NULL,
              NULL);
    plcol0(COL_FG);
    plbox("bc", 0, 0, "bcmstvo", 0, 0);
    plmtex("t", 1.0, 0.5, 0.5, bar_label);
}

/* Heatmaps of data, model at the posterior mean and residuals of angle a. */
static int plot_angle(const data_view *V, size_t a, size_t cells, const char *path,
                      hcmc_error *err)
{
    const hcmc_points *P = &V->pts;
    size_t lo = P->angle_start[a], n = P->angle_start[a + 1] - lo, nt = P->n_t;
    size_t B = nt < cells ? nt : cells;
    hcmc_points sub = {0};
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    double *r = malloc((n ? n : 1) * sizeof *r);
    double *acc = calloc(3 * B * B, sizeof *acc);
    PLFLT **img = malloc(3 * B * sizeof *img);
    int rc = 0;
    if (!idx || !r || !acc || !img) {
        rc = hcmc_error_set(err, HCMC_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    for (size_t p = 0; p < n; p++)
        idx[p] = lo + p;
    if ((rc = hcmc_points_subset(P, idx, n, &sub, err)))
        goto out;
    if ((rc = hcmc_target_residuals(V->t, V->ws, &sub, V->zmean, r, NULL, 0))) {
        rc = hcmc_error_set(err, rc,
                            "%s: the model cannot be evaluated at the "
                            "posterior mean",
                            path);
        goto out;
    }
    /* binned data and model, both triangles; acc: sum y, sum model, count */
    double *sy = acc, *sm = acc + B * B, *cnt = acc + 2 * B * B;
    for (size_t p = 0; p < n; p++) {
        size_t bi = sub.i[p] * B / nt, bj = sub.j[p] * B / nt;
        double y = sub.y[p], m = y + r[p];
        size_t c1 = bi * B + bj, c2 = bj * B + bi;
        sy[c1] += y, sm[c1] += m, cnt[c1] += 1;
        if (c2 != c1)
            sy[c2] += y, sm[c2] += m, cnt[c2] += 1;
    }
    for (size_t k = 0; k < 3; k++)
        for (size_t b = 0; b < B; b++)
            img[k * B + b] = acc + k * B * B + b * B;
    double *vals = malloc(2 * B * B * sizeof *vals), *work = vals + B * B;
    if (!vals) {
        rc = hcmc_error_set(err, HCMC_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    size_t m = 0, mr = 0;
    for (size_t c = 0; c < B * B; c++) {
        if (cnt[c] > 0) {
            sy[c] /= cnt[c], sm[c] /= cnt[c];
            cnt[c] = sm[c] - sy[c]; /* the residual, model - data */
            vals[m++] = sy[c];
            work[mr++] = fabs(cnt[c]);
        } else {
            sy[c] = sm[c] = cnt[c] = NAN;
        }
    }
    double zlo = m ? hcmc_quantile_inplace(vals, m, 0.005) : 0;
    double zhi = m ? hcmc_quantile_inplace(vals, m, 0.995) : 1;
    double rmax = mr ? hcmc_quantile_inplace(work, mr, 0.99) : 1;
    free(vals);
    if (!(zhi > zlo))
        zhi = zlo + 1e-3;
    if (!(rmax > 0))
        rmax = 1e-6;
    double T = (double)nt * V->dt;
    if ((rc = page_begin(path, 1650, 560, err)))
        goto out;
    char title[160];
    cmap_sequential();
    heat_panel(0.055, 0.275, 0.13, 0.86, img, B, T, zlo, zhi, "data", "c#d2#u");
    heat_panel(0.385, 0.605, 0.13, 0.86, img + B, B, T, zlo, zhi,
               "model at the posterior mean", "c#d2#u");
    cmap_diverging();
    heat_panel(0.715, 0.935, 0.13, 0.86, img + 2 * B, B, T, -rmax, rmax,
               "residual (model - data)", "Δc#d2#u");
    plvpor(0, 1, 0, 1);
    plwind(0, 1, 0, 1);
    plcol0(COL_FG);
    snprintf(title, sizeof title,
             "Angle φ = %.2f°  (%zu points, %zu frames%s; the diagonal is not fitted)",
             P->phi[a], n, nt, B < nt ? ", binned" : "");
    plmtex("t", -1.4, 0.5, 0.5, title);
    page_end();
out:
    hcmc_points_release(&sub);
    free(idx), free(r), free(acc), free(img);
    return rc;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* The frames t1 of the cuts of an angle: early, a fifth and two fifths in. */
static size_t cut_rows(size_t nt, size_t *rows)
{
    size_t cand[3] = {1, nt / 5, 2 * nt / 5}, n = 0;
    for (size_t k = 0; k < 3; k++)
        if (cand[k] >= 1 && cand[k] + 2 < nt && (n == 0 || cand[k] > rows[n - 1]))
            rows[n++] = cand[k];
    return n;
}

/* c2 against lag at a few t1 of each angle, with the posterior predictive
 * 90 % band (model draws plus their noise). */
static int plot_cuts(const run_draws *R, const data_view *V, const size_t *angles,
                     size_t na, size_t n_draws, const char *path, hcmc_error *err)
{
    const hcmc_points *P = &V->pts;
    size_t nt = P->n_t, d = R->d, rows[3], nr = cut_rows(nt, rows);
    size_t cap = 3 * nt + 1, M = n_draws < R->G ? n_draws : R->G;
    M = M ? M : 1;
    size_t *idx = malloc(cap * sizeof *idx), *key = malloc(cap * sizeof *key);
    double *r = malloc(cap * sizeof *r), *pred = malloc(M * cap * sizeof *pred);
    double *z = malloc(d * sizeof *z), *theta = malloc(d * sizeof *theta);
    double *work = malloc(M * sizeof *work);
    PLFLT *bx = malloc(2 * cap * sizeof *bx), *by = malloc(2 * cap * sizeof *by);
    hcmc_points sub = {0};
    int rc = 0;
    bool page = false;
    if (!idx || !key || !r || !pred || !z || !theta || !work || !bx || !by) {
        rc = hcmc_error_set(err, HCMC_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    if ((rc = page_begin(path, 560 * (int)na, 520, err)))
        goto out;
    page = true;
    layout L = {0.09 / (double)na + 0.02, 0.02, 0.13, 0.12, 0.07 / (double)na, 0};
    hcmc_rng rng;
    hcmc_rng_init(&rng, R->sum->seed, HCMC_RNG_PLOT, 0, 0); /* the run's seed */
    for (size_t q = 0; q < na; q++) {
        size_t a = angles[q], lo = P->angle_start[a], hi = P->angle_start[a + 1];
        /* the cut points, ordered by row then lag (key = row * nt + j) */
        size_t n = 0;
        for (size_t p = lo; p < hi && n < cap; p++)
            for (size_t k = 0; k < nr; k++)
                if (P->i[p] == rows[k]) {
                    key[n] = (k * nt + P->j[p]) * (hi - lo + 1) + (p - lo);
                    n++;
                }
        qsort(key, n, sizeof *key, cmp_size);
        for (size_t p = 0; p < n; p++)
            idx[p] = lo + key[p] % (hi - lo + 1);
        hcmc_points_release(&sub);
        if (n == 0 || (rc = hcmc_points_subset(P, idx, n, &sub, err)))
            goto next;
        /* predictive draws */
        size_t ok = 0;
        for (size_t m = 0; m < M; m++) {
            size_t g = m * R->G / M;
            for (size_t k = 0; k < d; k++)
                theta[k] = R->post[k * R->G + g];
            hcmc_error e2;
            if (hcmc_target_unconstrain(V->t, theta, z, &e2) ||
                hcmc_target_residuals(V->t, V->ws, &sub, z, r, NULL, 0))
                continue;
            double sigma = theta[d - 1];
            for (size_t p = 0; p < n; p++)
                pred[ok * n + p] = sub.y[p] + r[p] + sigma * hcmc_rng_normal(&rng);
            ok++;
        }
        if (hcmc_target_residuals(V->t, V->ws, &sub, V->zmean, r, NULL, 0))
            goto next;
        double ylo = INFINITY, yhi = -INFINITY;
        for (size_t p = 0; p < n; p++) {
            ylo = fmin(ylo, fmin(sub.y[p], sub.y[p] + r[p]));
            yhi = fmax(yhi, fmax(sub.y[p], sub.y[p] + r[p]));
        }
        double pad = 0.06 * (yhi - ylo);
        cell(&L, (int)q, 0, (int)na, 1);
        plwind(log10(V->dt) - 0.1, log10((double)(nt - 1) * V->dt) + 0.1, ylo - pad,
               yhi + 4 * pad);
        plcol0(COL_FG);
        plslabelfunc(tick_label_logx, NULL);
        plbox("bclnsto", 0, 0, "bcnstvo", 0, 0);
        plslabelfunc(tick_label, NULL);
        /* one series per row; the subset keeps the order given */
        size_t s0 = 0;
        for (size_t k = 0; k < nr; k++) {
            size_t s1 = s0;
            while (s1 < n && sub.i[s1] == rows[k])
                s1++;
            size_t m = s1 - s0;
            if (m < 2) {
                s0 = s1;
                continue;
            }
            for (size_t p = 0; p < m; p++) {
                double lag = log10((double)(sub.j[s0 + p] - rows[k]) * V->dt);
                for (size_t u = 0; u < ok; u++)
                    work[u] = pred[u * n + s0 + p];
                bx[p] = bx[2 * m - 1 - p] = lag;
                by[p] = ok ? hcmc_quantile_inplace(work, ok, 0.05) : NAN;
                by[2 * m - 1 - p] = ok ? hcmc_quantile_inplace(work, ok, 0.95) : NAN;
            }
            if (ok) {
                colour(series(k), 0.25);
                plfill((PLINT)(2 * m), bx, by);
            }
            colour(series(k), 1.0);
            for (size_t p = 0; p < m; p++)
                by[p] = sub.y[s0 + p];
            plssym(0, 0.45);
            plpoin((PLINT)m, bx, by, 17);
            plssym(0, 1.0);
            for (size_t p = 0; p < m; p++)
                by[p] = sub.y[s0 + p] + r[s0 + p];
            plwidth(2.0);
            plline((PLINT)m, bx, by);
            plwidth(1.0);
            s0 = s1;
        }
        char names[3][48], title[96];
        const char *text[3];
        int cols[3];
        for (size_t k = 0; k < nr; k++) {
            snprintf(names[k], sizeof names[k], "t#d1#u = %.3g s",
                     (double)rows[k] * V->dt);
            text[k] = names[k];
            cols[k] = series(k);
        }
        legend(text, cols, nr);
        plcol0(COL_FG);
        snprintf(title, sizeof title, "φ = %.2f°", P->phi[a]);
        plmtex("t", 1.0, 0.5, 0.5, title);
        plmtex("b", 3.0, 0.5, 0.5, "lag t#d2#u - t#d1#u [s]");
        if (q == 0)
            plmtex("l", 4.0, 0.5, 0.5, "c#d2#u");
    next:
        if (rc)
            goto out;
    }
    plvpor(0, 1, 0, 1);
    plwind(0, 1, 0, 1);
    plcol0(COL_FG);
    plmtex("t", -1.3, 0.5, 0.5,
           "Data (dots), model at the posterior mean (line), posterior predictive "
           "90 % band");
out:
    if (page)
        page_end();
    hcmc_points_release(&sub);
    free(idx), free(key), free(r), free(pred), free(z), free(theta), free(work);
    free(bx), free(by);
    return rc;
}

/* ---- all of them ------------------------------------------------------------ */

int hcmc_plot_dir(const char *dir, const hcmc_plot_options *o, size_t *n_written,
                  hcmc_error *err)
{
    hcmc_plot_options def;
    if (!o) {
        hcmc_plot_options_defaults(&def);
        o = &def;
    }
    if (n_written)
        *n_written = 0;
    run_draws R;
    int rc = run_draws_read(dir, &R, err);
    if (rc)
        return rc;
    char pdir[HCMC_PATH_MAX + 16], path[HCMC_PATH_MAX + 64];
    snprintf(pdir, sizeof pdir, "%s/plots", dir);
    if (mkdir(pdir, 0777) && errno != EEXIST) {
        rc = hcmc_error_set(err, HCMC_EIO, "%s: %s", pdir, strerror(errno));
        run_draws_release(&R);
        return rc;
    }
    size_t written = 0;
    static const char *const names[4] = {"trace", "marginals", "forest", "corner"};
    int (*const fns[4])(const run_draws *, const char *, hcmc_error *) = {
        plot_trace, plot_marginals, plot_forest, plot_corner};
    for (int k = 0; k < 4 && !rc && R.np; k++) {
        snprintf(path, sizeof path, "%s/%s.png", pdir, names[k]);
        if (!R.post && k == 3) { /* pairs of combined draws: none */
            remove(path);
            continue;
        }
        if (!(rc = fns[k](&R, path, err)))
            written++;
    }
    data_view V;
    hcmc_error derr;
    if (!rc && !R.post) {
        /* no posterior mean to show the model at; an earlier run's data plots
         * would be taken for this one's */
        struct dirent **list = NULL;
        int n = scandir(pdir, &list, NULL, NULL);
        for (int k = 0; k < n; k++) {
            char stale[sizeof pdir + 256];
            if (!strncmp(list[k]->d_name, "c2_", 3)) {
                snprintf(stale, sizeof stale, "%s/%s", pdir, list[k]->d_name);
                remove(stale);
            }
            free(list[k]);
        }
        free(list);
        hcmc_log(HCMC_LOG_WARN, "the shards were not combined: only the trace, "
                                "marginals and forest of the shards are drawn");
    } else if (!rc && data_view_open(dir, &R, &V, &derr)) {
        hcmc_log(HCMC_LOG_WARN, "plots of the data left out: %s", derr.msg);
    } else if (!rc) {
        size_t na = o->angles < V.pts.n_phi ? o->angles : V.pts.n_phi, angles[16];
        na = na > 16 ? 16 : na;
        for (size_t q = 0; q < na; q++)
            angles[q] = na > 1 ? q * (V.pts.n_phi - 1) / (na - 1) : 0;
        for (size_t q = 0; q < na && !rc; q++) {
            snprintf(path, sizeof path, "%s/c2_angle_%02zu.png", pdir, angles[q]);
            if (!(rc = plot_angle(&V, angles[q], o->cells ? o->cells : 300, path, err)))
                written++;
        }
        snprintf(path, sizeof path, "%s/c2_cuts.png", pdir);
        if (!rc && na && !(rc = plot_cuts(&R, &V, angles, na, o->draws, path, err)))
            written++;
        data_view_release(&V);
    }
    run_draws_release(&R);
    if (n_written)
        *n_written = written;
    return rc;
}
