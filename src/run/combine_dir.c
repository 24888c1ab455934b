/* hcmc_combine_dir: combine the shard files of a finished or partial run
 * again (another method, other gates) without sampling. A shard file holds
 * its draws in the sampling coordinates with the names and bounds of those
 * coordinates, so no data is needed. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>
#include <jansson.h>

#include "hcmc/log.h"
#include "hcmc/timing.h"
#include "hcmc/run.h"
#include "../config/config_internal.h"
#include "run_internal.h"

typedef struct {
    long number;
    char path[HCMC_PATH_MAX + 320];
} shard_file;

static int by_number(const void *a, const void *b)
{
    const shard_file *x = a, *y = b;
    return (x->number > y->number) - (x->number < y->number);
}

/* The shard_NNNNN.h5 files in sdir, by number (at least one). */
static int list_shard_files(const char *sdir, shard_file **out, size_t *n,
                            hcmc_error *err)
{
    DIR *dp = opendir(sdir);
    if (!dp)
        return hcmc_error_set(err, HCMC_EIO,
                              "%s: no shard files (not a run directory?)", sdir);
    shard_file *files = NULL;
    size_t K = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(dp))) {
        long num;
        char tail[8];
        if (sscanf(de->d_name, "shard_%ld.%7s", &num, tail) != 2 || strcmp(tail, "h5"))
            continue;
        if (K == cap) {
            cap = cap ? 2 * cap : 64;
            shard_file *g = realloc(files, cap * sizeof *files);
            if (!g) {
                closedir(dp);
                free(files);
                return hcmc_error_set(err, HCMC_ENOMEM, "out of memory");
            }
            files = g;
        }
        files[K].number = num;
        snprintf(files[K].path, sizeof files[K].path, "%s/%s", sdir, de->d_name);
        K++;
    }
    closedir(dp);
    if (K == 0) {
        free(files);
        return hcmc_error_set(err, HCMC_ENODATA, "%s: no shard_NNNNN.h5 files", sdir);
    }
    qsort(files, K, sizeof *files, by_number);
    *out = files;
    *n = K;
    return HCMC_OK;
}

/* The importance correction needs the likelihood of every point: from the
 * run's plan file (batch runs), else from the data file the configuration
 * names. Without either, or when they no longer give the shard files'
 * problem (fingerprint fp, when the files have one), the combination's
 * draws stay, with a warning. */
static void importance_from_data(const hcmc_config *c, const char *dir,
                                 const size_t *ids, hcmc_combine_result *comb,
                                 const uint64_t *fp, hcmc_run_result *r)
{
    char path[HCMC_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/plan.h5", dir);
    hcmc__prepared P = {0};
    hcmc_config *pc = calloc(1, sizeof *pc);
    hcmc_error e;
    int rc;
    if (!pc)
        rc = hcmc_error_set(&e, HCMC_ENOMEM, "out of memory");
    else if (access(path, R_OK) == 0)
        rc = hcmc__plan_read(path, pc, &P, &e);
    else
        rc = hcmc__prepare(c, &P, &e);
    if (!rc && hcmc_problem_dim(P.prob) != comb->dim)
        rc = hcmc_error_set(&e, HCMC_EFORMAT,
                            "the data give %zu coordinates, the shard files %zu",
                            hcmc_problem_dim(P.prob), comb->dim);
    else if (!rc && fp && P.fingerprint != *fp)
        rc = hcmc_error_set(&e, HCMC_EFORMAT,
                            "the data or configuration no longer give the problem "
                            "the shards sampled (fingerprint differs)");
    if (rc)
        hcmc_log(HCMC_LOG_WARN,
                 "importance correction not made: %s; the draws are the combination's",
                 e.msg);
    else
        hcmc__importance(P.prob, P.plan, ids, comb, &P.ns, c, r);
    hcmc__prepared_release(&P);
    if (pc)
        hcmc_config_release(pc);
    free(pc);
}

/* The correction of hcmc_combine_dir (finish.c). */
typedef struct {
    const hcmc_config *c;
    const char *dir;
    const size_t *ids;
    const uint64_t *fp;
} data_correction;

static void correct_cb(void *user, hcmc_combine_result *comb, hcmc_run_result *r)
{
    const data_correction *u = user;
    importance_from_data(u->c, u->dir, u->ids, comb, u->fp, r);
}

/* The angles of the run's data: those of every shard file, each once
 * (files of an older hcmc do not record them: r->phi stays NULL). */
static void union_angles(const hcmc__shard_file *L, size_t K, hcmc_run_result *r)
{
    size_t n = 0;
    for (size_t k = 0; k < K; k++)
        n += L[k].n_angles;
    if (!n || !(r->phi = malloc(n * sizeof *r->phi)))
        return;
    for (size_t k = 0; k < K; k++)
        for (size_t a = 0; a < L[k].n_angles; a++) {
            size_t i = 0;
            while (i < r->n_phi && fabs(r->phi[i] - L[k].angles[a]) > 1e-9)
                i++;
            if (i == r->n_phi)
                r->phi[r->n_phi++] = L[k].angles[a];
        }
}

int hcmc_combine_dir(const hcmc_config *c, const char *dir, hcmc_run_result **out,
                     hcmc_error *err)
{
    *out = NULL;
    double t0 = hcmc_seconds();
    char sdir[HCMC_PATH_MAX + 16];
    snprintf(sdir, sizeof sdir, "%s/shards", dir);
    shard_file *files = NULL;
    size_t K = 0;
    int rc = list_shard_files(sdir, &files, &K, err);
    if (rc)
        return rc;
    hcmc__shard_file *L = calloc(K, sizeof *L);
    hcmc_shard_draws *sd = calloc(K, sizeof *sd);
    const hcmc_nuts_draws **nd = calloc(K, sizeof *nd);
    hcmc_run_result *r = calloc(1, sizeof *r);
    rc = !L || !sd || !nd || !r ? hcmc_error_set(err, HCMC_ENOMEM, "out of memory") : 0;
    if (!rc) {
        memcpy(r->phys_fixed, c->phys_fixed, sizeof r->phys_fixed);
        memcpy(r->phys_fixed_value, c->phys_fixed_value, sizeof r->phys_fixed_value);
    }
    size_t ref = K;
    for (size_t k = 0; !rc && k < K; k++) {
        size_t ck = 0;
        rc = hcmc__shard_file_read(files[k].path, &L[k], err);
        ck = L[k].chains;
        if (rc)
            break;
        if (L[k].failure[0]) {
            sd[k].failure = L[k].failure;
            continue;
        }
        if (ref == K)
            ref = k;
        size_t div = 0;
        for (size_t g = 0; g < ck * L[k].D.n; g++)
            div += L[k].D.diverging[g];
        sd[k] = (hcmc_shard_draws){.chains = ck,
                                   .draws = L[k].D.n,
                                   .dim = L[k].d,
                                   .z = L[k].D.z,
                                   .divergences = div};
        nd[k] = &L[k].D;
    }
    /* one run's files only: a later run replaces or removes the others */
    for (size_t k = 1; !rc && k < K; k++)
        if (L[k].has_fingerprint && L[0].has_fingerprint &&
            L[k].fingerprint != L[0].fingerprint)
            rc = hcmc_error_set(err, HCMC_EFORMAT,
                                "%s and %s belong to different runs (other data or "
                                "settings); run hcmc run again to replace them",
                                files[0].path, files[k].path);
    if (!rc && ref == K)
        rc = hcmc_error_set(err, HCMC_ENODATA, "%s: every shard failed", sdir);
    size_t d = !rc ? L[ref].d : 0, np = 0;
    /* the physical parameters sampled lead, by name (fixed ones are absent) */
    int slot[HCMC_NPHYS_MAX];
    for (int k = 0; k < HCMC_NPHYS_MAX; k++)
        slot[k] = -1;
    for (; np < d; np++) {
        const char *name = L[ref].names + 40 * np;
        int p = hcmc_phys_index(name);
        if (p < 0 || strcmp(name, hcmc_phys_name(p)))
            break;
        slot[p] = (int)np;
    }
    for (int k = 0; !rc && (size_t)k < hcmc_mode_nphys(c->mode); k++)
        if ((slot[k] >= 0) == c->phys_fixed[k])
            rc = hcmc_error_set(err, HCMC_EINVAL,
                                "%s: %s is %s in the shard files but %s in the "
                                "configuration (initial_parameters.fixed_parameters); "
                                "combine with the run's configuration",
                                sdir, hcmc_phys_name(k),
                                slot[k] >= 0 ? "sampled" : "not sampled",
                                c->phys_fixed[k] ? "fixed" : "sampled");
    if (rc)
        d = np = 0;
    double(*pb)[2] = !rc ? calloc(np ? np : 1, sizeof *pb) : NULL;
    if (!rc) {
        r->dim = d;
        r->names = calloc(d, sizeof *r->names);
        r->shards = calloc(K, sizeof *r->shards);
        if (!pb || !r->names || !r->shards)
            rc = hcmc_error_set(err, HCMC_ENOMEM, "out of memory");
    }
    if (!rc) {
        for (size_t k = 0; k < np && k < d; k++) {
            pb[k][0] = L[ref].bounds[2 * k];
            pb[k][1] = L[ref].bounds[2 * k + 1];
        }
        snprintf(r->backend, sizeof r->backend, "combine");
        for (size_t k = 0; k < d; k++)
            snprintf(r->names[k], sizeof r->names[k], "%s", L[ref].names + 40 * k);
        union_angles(L, K, r);
        for (size_t k = 0; k < K; k++) {
            r->shards[k].id = (size_t)files[k].number;
            r->shards[k].points = L[k].points;
            r->shards[k].divergences = sd[k].divergences;
            /* the shard's own figures, as the run that sampled it had them
             * (the verdict holds its R-hat; NaN where the file does not say) */
            r->shards[k].rhat_max = L[k].rhat_max;
            r->shards[k].seconds = L[k].seconds;
            r->shards[k].reruns = L[k].reruns;
            r->n_points += L[k].points;
        }
        /* the data file as the run recorded it (an absolute path), not as
         * config.yaml resolves from the run directory */
        char path[HCMC_PATH_MAX + 32], data_file[HCMC_PATH_MAX];
        snprintf(path, sizeof path, "%s/posterior.nc", dir);
        if (hcmc__posterior_data_file(path, data_file, sizeof data_file))
            snprintf(data_file, sizeof data_file, "%s", c->data_file);
        size_t *ids = malloc(K * sizeof(size_t));
        for (size_t k = 0; ids && k < K; k++)
            ids[k] = (size_t)files[k].number;
        data_correction dc = {c, dir, ids,
                              L[ref].has_fingerprint ? &L[ref].fingerprint : NULL};
        hcmc__finish_input fin = {.draws = sd,
                                  .shard_draws = nd,
                                  .K = K,
                                  .coords = &L[ref].coords,
                                  .nphys = np < d ? np : 0,
                                  .bounds = (const double(*)[2])pb,
                                  .constrain = hcmc__coords_constrain,
                                  .ctx = &L[ref].coords,
                                  .correct = ids ? correct_cb : NULL,
                                  .user = &dc,
                                  .dir = dir,
                                  .created = "",
                                  .data_file = data_file,
                                  .checksum = "",
                                  .summary_on_failure = false,
                                  .t0 = t0};
        rc = hcmc__finish(c, &fin, r, err);
        free(ids);
    }
    for (size_t k = 0; L && k < K; k++)
        hcmc__shard_file_release(&L[k]);
    free(pb);
    free(L);
    free(sd);
    free(nd);
    free(files);
    if (rc) {
        hcmc_run_result_free(r);
        return rc;
    }
    *out = r;
    return HCMC_OK;
}
