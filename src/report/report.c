/* RUN_DIR/report.html: one self-contained page (images embedded as data
 * URIs) with the run's settings, tables, diagnostics and plots. */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/files.h"
#include "../store/store.h"
#include "hcmc/plot.h"
#include "hcmc/run.h"
#include "hcmc/version.h"

/* Thresholds of the diagnostics table where the summary has no verdict
 * (an older hcmc): Vehtari et al. 2021, "Rank-normalization, folding, and
 * localization: an improved R-hat": R-hat at most 1.01, bulk and tail ESS
 * at least 400 (100 per chain for 4 chains). */
#define REPORT_RHAT_MAX 1.01
#define REPORT_ESS_MIN 400.0

static void html_text(FILE *f, const char *s);

static void verdict_items(FILE *f, const char *tag, const hcmc_verdict_item *it,
                          size_t n)
{
    for (size_t k = 0; k < n; k++) {
        fprintf(f, "<li><b>%s</b> ", tag);
        html_text(f, it[k].what);
        if (it[k].advice[0] && strcmp(it[k].advice, "see r_hat")) {
            fputs("<br>&rarr; ", f);
            html_text(f, it[k].advice);
        }
        fputs("</li>\n", f);
    }
}

/* The banner on top: what the verdict says and what to do. */
static void verdict_banner(FILE *f, const hcmc_verdict *v)
{
    if (!v->known)
        return;
    bool none = v->n_failures && !strcmp(v->failures[0].check, "combination");
    fprintf(f, "<div class=\"verdict %s\"><p><b>Verdict: %s</b></p>\n",
            v->ok ? (v->n_warnings ? "warn" : "ok") : "bad",
            v->ok  ? (v->n_warnings ? "ok, with warnings" : "ok")
            : none ? "failed: the shards could not be combined, there is no posterior"
                   : "failed its diagnostics: do not use these draws as they are");
    if (v->n_failures || v->n_warnings) {
        fputs("<ul>\n", f);
        verdict_items(f, "fail", v->failures, v->n_failures);
        verdict_items(f, "warning", v->warnings, v->n_warnings);
        fputs("</ul>\n", f);
    }
    fputs("</div>\n", f);
}

static void html_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

/* The file at path base64-encoded into f; 0, or -1 when it cannot be read. */
static int base64_file(FILE *f, const char *path)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    FILE *in = fopen(path, "rb");
    if (!in)
        return -1;
    unsigned char b[3];
    size_t n;
    while ((n = fread(b, 1, 3, in)) > 0) {
        unsigned v = (unsigned)b[0] << 16 | (n > 1 ? (unsigned)b[1] << 8 : 0) |
                     (n > 2 ? b[2] : 0);
        char o[4] = {tab[v >> 18 & 63], tab[v >> 12 & 63],
                     n > 1 ? tab[v >> 6 & 63] : '=', n > 2 ? tab[v & 63] : '='};
        fwrite(o, 1, 4, f);
    }
    int bad = ferror(in);
    fclose(in);
    return bad ? -1 : 0;
}

/* Order of the plots on the page: the draws first, then the data. */
static int plot_rank(const char *name)
{
    static const char *const order[] = {"trace",  "marginals", "forest",
                                        "corner", "c2_angle",  "c2_cuts"};
    for (int k = 0; k < 6; k++)
        if (!strncmp(name, order[k], strlen(order[k])))
            return k;
    return 6;
}

static int by_rank(const struct dirent **a, const struct dirent **b)
{
    int ra = plot_rank((*a)->d_name), rb = plot_rank((*b)->d_name);
    return ra != rb ? ra - rb : strcmp((*a)->d_name, (*b)->d_name);
}

static int is_png(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return n > 4 && !strcmp(e->d_name + n - 4, ".png") && e->d_name[0] != '.';
}

static const char *pass(bool ok)
{
    return ok ? "<td class=pass>pass</td>" : "<td class=fail>fail</td>";
}

static void num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "<td>%.6g</td>", v);
    else
        fputs("<td>–</td>", f);
}

static void write_body(FILE *f, const char *dir, const hcmc_run_result *r,
                       const char *failure, json_t *run)
{
    fputs(
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>\n"
        "<title>hcmc report</title>\n<style>\n"
        "body{font-family:sans-serif;max-width:1400px;margin:2em auto;padding:0 1em}\n"
        "table{border-collapse:collapse;margin:1em 0}\n"
        "td,th{border:1px solid #bbb;padding:3px 8px;text-align:right}\n"
        "th{background:#eee} td.l{text-align:left}\n"
        ".pass{color:#060;font-weight:bold}.fail{color:#b00;font-weight:bold}\n"
        "img{max-width:100%;border:1px solid #ddd;margin:0.5em 0}\n"
        "pre{background:#f6f6f6;padding:1em;overflow:auto}\n"
        ".verdict{padding:0.2em 1em;margin:1em 0;border:2px solid}\n"
        ".verdict.ok{border-color:#060;background:#efe}\n"
        ".verdict.warn{border-color:#a60;background:#ffe}\n"
        ".verdict.bad{border-color:#b00;background:#fee}\n"
        "</style></head><body>\n",
        f);
    fputs("<h1>hcmc run: ", f);
    html_text(f, dir);
    fputs("</h1>\n", f);
    if (failure[0]) {
        fputs("<p class=fail>The run failed: ", f);
        html_text(f, failure);
        fputs("</p>\n", f);
    }
    verdict_banner(f, &r->verdict);
    /* settings */
    fputs("<h2>Run</h2>\n<table>\n", f);
    const char *key;
    json_t *v;
    json_object_foreach(run, key, v)
    {
        if (!strcmp(key, "verdict")) /* the banner on top */
            continue;
        fputs("<tr><th>", f);
        html_text(f, key);
        fputs("</th><td class=l>", f);
        char *s = json_is_string(v) ? NULL : json_dumps(v, JSON_ENCODE_ANY);
        html_text(f, s ? s : json_string_value(v));
        free(s);
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
    /* parameters */
    fputs("<h2>Posterior</h2>\n<table>\n<tr><th>parameter</th><th>mean</th><th>sd</th>"
          "<th>5 %</th><th>50 %</th><th>95 %</th><th>R-hat</th><th>bulk ESS</th>"
          "<th>tail ESS</th><th>MCSE of mean</th></tr>\n",
          f);
    for (size_t k = 0; k < r->dim; k++) {
        const hcmc_param_summary *s = &r->summary[k];
        fputs("<tr><td class=l>", f);
        html_text(f, r->names[k]);
        fputs("</td>", f);
        num(f, s->mean), num(f, s->sd), num(f, s->q05), num(f, s->median);
        num(f, s->q95), num(f, s->rhat), num(f, s->ess_bulk), num(f, s->ess_tail);
        num(f, s->mcse_mean);
        fputs("</tr>\n", f);
    }
    for (int k = 0; k < HCMC_NPHYS_MAX; k++) { /* held, not sampled */
        if (!r->phys_fixed[k])
            continue;
        fputs("<tr><td class=l>", f);
        html_text(f, hcmc_phys_name(k));
        fputs("</td>", f);
        num(f, r->phys_fixed_value[k]);
        fputs("<td class=l colspan=8>fixed (initial_parameters.fixed_parameters)</td>"
              "</tr>\n",
              f);
    }
    fputs("</table>\n", f);
    /* modes (run.modes): each one's weight and the parameters' mean and sd */
    if (r->n_modes > 1 && r->mode_summary) {
        fprintf(f,
                "<h2>Modes</h2>\n<p>%s; the table above describes their mixture "
                "(README \"Several modes\").</p>\n<table>\n<tr><th>mode</th><th>weight"
                "</th><th>error</th><th>chains</th>",
                r->mirrored ? "phi0's mirror images, both made from the draws of one"
                            : "each sampled by chains of its own, weighed by bridge "
                              "sampling");
        for (size_t k = 0; k < r->dim; k++) {
            fputs("<th>", f);
            html_text(f, r->names[k]);
            fputs("</th>", f);
        }
        fputs("</tr>\n", f);
        for (size_t m = 0; m < r->n_modes; m++) {
            fprintf(f, "<tr><td>%zu</td>", m + 1);
            num(f, r->modes[m].weight), num(f, r->modes[m].weight_se);
            fprintf(f, "<td>%zu</td>", r->modes[m].chains);
            for (size_t k = 0; k < r->dim; k++) {
                const hcmc_param_summary *q = &r->mode_summary[m * r->dim + k];
                fprintf(f, "<td>%.5g &plusmn; %.3g</td>", q->mean, q->sd);
            }
            fputs("</tr>\n", f);
        }
        fputs("</table>\n", f);
    }
    /* diagnostics */
    double rhat = 0, ess = INFINITY;
    double rhat_max = r->verdict.known ? r->verdict.max_rhat : REPORT_RHAT_MAX,
           ess_min = r->verdict.known ? r->verdict.min_ess : REPORT_ESS_MIN;
    size_t bad_rhat = 0, bad_ess = 0, div = 0;
    for (size_t k = 0; k < r->dim; k++) {
        const hcmc_param_summary *s = &r->summary[k];
        rhat = isfinite(s->rhat) && s->rhat > rhat ? s->rhat : rhat;
        double e = fmin(s->ess_bulk, s->ess_tail);
        ess = isfinite(e) && e < ess ? e : ess;
        bad_rhat += !(s->rhat <= rhat_max);
        bad_ess += !(e >= ess_min);
    }
    for (size_t s = 0; s < r->n_shards; s++)
        div += r->shards[s].divergences;
    json_t *msr = json_object_get(run, "min_success_rate");
    double min_rate = json_is_number(msr) ? json_number_value(msr) : 0.9;
    fputs("<h2>Diagnostics</h2>\n<table>\n<tr><th>check</th><th>value</th>"
          "<th>threshold</th><th></th></tr>\n",
          f);
    fprintf(f,
            "<tr><td class=l>largest R-hat of the combined draws</td><td>%.4f</td>"
            "<td>&le; %.2f</td>%s</tr>\n",
            rhat, rhat_max, pass(!bad_rhat));
    fprintf(f,
            "<tr><td class=l>smallest bulk/tail ESS</td><td>%.0f</td>"
            "<td>&ge; %.0f</td>%s</tr>\n",
            isfinite(ess) ? ess : 0.0, ess_min, pass(!bad_ess));
    fprintf(f,
            "<tr><td class=l>shards combined</td><td>%zu of %zu</td>"
            "<td>&ge; %.0f %%</td>%s</tr>\n",
            r->n_kept, r->n_shards, 100 * min_rate,
            pass(r->n_shards && (double)r->n_kept >= min_rate * (double)r->n_shards));
    fprintf(f,
            "<tr><td class=l>divergent transitions, all shards</td><td>%zu</td>"
            "<td>0</td>%s</tr>\n",
            div, pass(div == 0));
    json_t *im = json_object_get(run, "importance");
    if (json_is_object(im)) {
        json_t *k = json_object_get(im, "tail_index"), *e = json_object_get(im, "ess"),
               *n = json_object_get(im, "proposals");
        double kh = json_is_number(k) ? json_number_value(k) : NAN;
        fprintf(f,
                "<tr><td class=l>importance correction: tail index of the weights "
                "(ESS %.0f of %.0f)</td><td>%.2f</td><td>&le; %.2f</td>%s</tr>\n",
                json_is_number(e) ? json_number_value(e) : 0.0,
                json_is_number(n) ? json_number_value(n) : 0.0, kh,
                HCMC_IMPORTANCE_MAX_KHAT, pass(kh <= HCMC_IMPORTANCE_MAX_KHAT));
    }
    json_t *rf = json_object_get(run, "refinement");
    if (json_is_object(rf) && !json_is_false(json_object_get(rf, "done"))) {
        json_t *dv = json_object_get(rf, "divergences"),
               *tr = json_object_get(rf, "transitions");
        double nd = json_is_number(dv) ? json_number_value(dv) : 0,
               nt = json_is_number(tr) ? json_number_value(tr) : 0;
        fprintf(f,
                "<tr><td class=l>refinement (NUTS on the points combined): divergent "
                "transitions of %.0f</td><td>%.0f</td><td>&le; %.0f</td>%s</tr>\n",
                nt, nd, 0.01 * nt, pass(nd <= 0.01 * nt));
    }
    fputs("</table>\n<p>R-hat and ESS as in Vehtari et al. (2021); a shard whose "
          "divergence rate exceeds max_divergence_rate is excluded before the "
          "combination (see the shards below). The importance correction reweights "
          "the combined draws by the full posterior; above a tail index of 0.7 it is "
          "not applied and the combination's draws stand. Where the combination was "
          "not close, a refinement (NUTS on the points combined, started from the "
          "corrected draws) replaces them.</p>\n",
          f);
    /* shards */
    fputs("<h2>Shards</h2>\n<table>\n<tr><th>shard</th><th>points</th><th>status</th>"
          "<th>divergences</th><th>largest R-hat</th><th>seconds</th>"
          "<th>reason</th></tr>\n",
          f);
    for (size_t s = 0; s < r->n_shards; s++) {
        const hcmc_run_shard *sh = &r->shards[s];
        fprintf(f, "<tr><td>%zu</td><td>%zu</td><td class=%s>%s</td><td>%zu</td>",
                sh->id, sh->points, sh->status == HCMC_SHARD_KEPT ? "pass" : "fail",
                hcmc__shard_status_name(sh->status), sh->divergences);
        num(f, sh->rhat_max);
        num(f, sh->seconds);
        fputs("<td class=l>", f);
        html_text(f, sh->reason);
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

int hcmc_report_write(const char *dir, hcmc_error *err)
{
    char path[HCMC_PATH_MAX + 32], tmp[HCMC_PATH_MAX + 64], failure[512];
    hcmc_run_result *r = NULL;
    int rc = hcmc_run_summary_read(dir, &r, failure, sizeof failure, err);
    if (rc)
        return rc;
    snprintf(path, sizeof path, "%s/summary.json", dir);
    json_t *root = json_load_file(path, 0, NULL);
    json_t *run = root ? json_object_get(root, "run") : NULL;
    /* the configuration as the run saw it */
    char *config = NULL;
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    FILE *cf = fopen(path, "rb");
    if (cf) {
        size_t cap = 1 << 20;
        config = calloc(cap + 1, 1);
        if (config)
            config[fread(config, 1, cap, cf)] = 0;
        fclose(cf);
    }
    snprintf(path, sizeof path, "%s/report.html", dir);
    hcmc__tmp_name(tmp, sizeof tmp, path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        rc = hcmc_error_set(err, HCMC_EIO, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    write_body(f, dir, r, failure, run);
    /* plots */
    char pdir[HCMC_PATH_MAX + 16];
    snprintf(pdir, sizeof pdir, "%s/plots", dir);
    struct dirent **list = NULL;
    int n = scandir(pdir, &list, is_png, by_rank);
    fputs("<h2>Plots</h2>\n", f);
    if (n <= 0)
        fputs("<p>No plots (hcmc plot RUN_DIR draws them).</p>\n", f);
    for (int k = 0; k < n; k++) {
        char ip[HCMC_PATH_MAX + 300];
        snprintf(ip, sizeof ip, "%s/%s", pdir, list[k]->d_name);
        fputs("<figure><img alt=\"", f);
        html_text(f, list[k]->d_name);
        fputs("\" src=\"data:image/png;base64,", f);
        if (base64_file(f, ip))
            rc = hcmc_error_set(err, HCMC_EIO, "%s: cannot be read", ip);
        fputs("\"><figcaption>", f);
        html_text(f, list[k]->d_name);
        fputs("</figcaption></figure>\n", f);
    }
    for (int k = 0; k < n; k++)
        free(list[k]);
    free(list);
    fputs("<h2>Configuration</h2>\n<pre>", f);
    html_text(f, config ? config : "(config.yaml not found)");
    fprintf(f, "</pre>\n<p>hcmc %s</p>\n</body></html>\n", HCMC_VERSION);
    if (fclose(f) && !rc)
        rc = hcmc_error_set(err, HCMC_EIO, "%s: cannot write", tmp);
    if (rc)
        remove(tmp);
    else
        rc = hcmc__commit(tmp, path, err);
out:
    free(config);
    json_decref(root);
    hcmc_run_result_free(r);
    return rc;
}
