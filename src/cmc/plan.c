/* Shard plans (MODEL.md 5). */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cmc_internal.h"
#include "hcmc/cmc.h"
#include "hcmc/rng.h"

int hcmc_shard_strategy_parse(const char *s, hcmc_shard_strategy *out, hcmc_error *err)
{
    static const char *const names[3] = {"random", "stratified", "contiguous"};
    for (int k = 0; k < 3; k++)
        if (!strcmp(s, names[k])) {
            *out = (hcmc_shard_strategy)k;
            return 0;
        }
    return hcmc_error_set(
        err, HCMC_EINVAL,
        "unknown sharding strategy '%s' (random, stratified, contiguous)", s);
}

void hcmc_shard_plan_free(hcmc_shard_plan *p)
{
    if (!p)
        return;
    free(p->start);
    free(p->idx);
    free(p->cost);
    free(p->order);
    free(p);
}

/* MODEL.md 5: the fewest shards that give each worker two, of at most
 * max points and at least min points each. */
static size_t auto_shards(size_t N, size_t max_points, size_t workers, hcmc_mode mode)
{
    size_t minp = mode == HCMC_MODE_LAMINAR ? 5000 : 10000;
    size_t maxp = max_points ? max_points : 100000;
    size_t K = (N + maxp - 1) / maxp;
    size_t busy = 2 * (workers ? workers : 1);
    if (K < busy)
        K = busy;
    if (!max_points && K > N / minp)
        K = N / minp; /* no shard below the minimum, unless the size is forced */
    if (K < (N + maxp - 1) / maxp)
        K = (N + maxp - 1) / maxp;
    return K ? K : 1;
}

/* perm[0..n) = a random permutation of first .. first + n - 1 (Fisher-
 * Yates from the top). */
static void shuffled_range(hcmc_rng *rng, size_t *perm, size_t first, size_t n)
{
    for (size_t i = 0; i < n; i++)
        perm[i] = first + i;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)hcmc_rng_below(rng, i);
        size_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}

int hcmc_shard_plan_make(const hcmc_points *pts, hcmc_shard_strategy strategy,
                         size_t num_shards, size_t max_points, size_t workers,
                         hcmc_mode mode, uint64_t seed, hcmc_shard_plan **out,
                         hcmc_error *err)
{
    *out = NULL;
    size_t N = pts->n, A = pts->n_phi, pairs = hcmc_points_pairs(pts);
    if (N == 0)
        return hcmc_error_set(err, HCMC_ENODATA, "shard plan: no points");
    size_t K;
    if (strategy == HCMC_STRATEGY_STRATIFIED) {
        /* one shard per angle, each split into pieces of at most max */
        size_t maxp = max_points ? max_points : 100000;
        K = 0;
        for (size_t a = 0; a < A; a++) {
            size_t n = pts->angle_start[a + 1] - pts->angle_start[a];
            K += n ? (n + maxp - 1) / maxp : 0;
        }
    } else {
        K = num_shards ? num_shards
                       : (max_points ? (N + max_points - 1) / max_points
                                     : auto_shards(N, 0, workers, mode));
    }
    if (K > N)
        return hcmc_error_set(err, HCMC_EINVAL, "%zu shards for %zu points: too many",
                              K, N);
    hcmc_shard_plan *p = calloc(1, sizeof *p);
    if (!p)
        return hcmc_error_set(err, HCMC_ENOMEM, "shard plan: out of memory");
    p->n_shards = K;
    p->start = calloc(K + 1, sizeof(size_t));
    p->idx = malloc(N * sizeof(size_t));
    p->cost = calloc(K, sizeof(double));
    p->order = malloc(K * sizeof(size_t));
    size_t *shard_of = malloc(N * sizeof(size_t)), *perm = malloc(N * sizeof(size_t));
    if (!p->start || !p->idx || !p->cost || !p->order || !shard_of || !perm) {
        free(shard_of);
        free(perm);
        hcmc_shard_plan_free(p);
        return hcmc_error_set(err, HCMC_ENOMEM,
                              "shard plan: out of memory for %zu points", N);
    }
    if (strategy == HCMC_STRATEGY_CONTIGUOUS) {
        for (size_t i = 0; i < N; i++)
            shard_of[i] = i * K / N;
    } else if (strategy == HCMC_STRATEGY_STRATIFIED) {
        size_t maxp = max_points ? max_points : 100000, k = 0;
        for (size_t a = 0; a < A; a++) {
            size_t a0 = pts->angle_start[a], n = pts->angle_start[a + 1] - a0;
            if (!n)
                continue;
            size_t pieces = (n + maxp - 1) / maxp;
            for (size_t i = 0; i < n; i++)
                shard_of[a0 + i] = k + i * pieces / n;
            k += pieces;
        }
    } else if (pairs >= K) {
        /* random by pairs, where every angle has the same pairs: shuffle
         * the pairs and deal them round robin, each with all its angles, so
         * that every shard is a pair grid too (kernel.h) and holds every
         * angle equally */
        hcmc_rng rng;
        hcmc_rng_init(&rng, seed, HCMC_RNG_SHARD, 0, 0);
        shuffled_range(&rng, perm, 0, pairs);
        for (size_t i = 0; i < pairs; i++)
            for (size_t a = 0; a < A; a++)
                shard_of[a * pairs + perm[i]] = i % K;
    } else {
        /* random, angle-balanced: shuffle each angle's points and deal them
         * round robin, continuing the deal across angles */
        hcmc_rng rng;
        hcmc_rng_init(&rng, seed, HCMC_RNG_SHARD, 0, 0);
        size_t deal = 0;
        for (size_t a = 0; a < A; a++) {
            size_t a0 = pts->angle_start[a], n = pts->angle_start[a + 1] - a0;
            shuffled_range(&rng, perm, a0, n);
            for (size_t i = 0; i < n; i++)
                shard_of[perm[i]] = deal++ % K;
        }
    }
    /* counting sort by shard; indices ascend within a shard */
    for (size_t i = 0; i < N; i++)
        p->start[shard_of[i] + 1]++;
    for (size_t k = 0; k < K; k++)
        p->start[k + 1] += p->start[k];
    memcpy(perm, p->start, K * sizeof(size_t));
    for (size_t i = 0; i < N; i++)
        p->idx[perm[shard_of[i]]++] = i;
    /* cost N_k (1 + s_k / mean s), s_k the shard's noise scale */
    double mean_s = 0;
    for (size_t k = 0; k < K; k++) {
        size_t n = p->start[k + 1] - p->start[k];
        double s = 1.0;
        if (n > 0) {
            double *y = malloc(n * sizeof(double));
            if (y) {
                for (size_t i = 0; i < n; i++)
                    y[i] = pts->y[p->idx[p->start[k] + i]];
                double med = hcmc_quantile_inplace(y, n, 0.5);
                for (size_t i = 0; i < n; i++)
                    y[i] = fabs(y[i] - med);
                s = fmax(1.4826 * hcmc_quantile_inplace(y, n, 0.5), 1e-3);
                free(y);
            }
        }
        p->cost[k] = s;
        mean_s += s / (double)K;
    }
    for (size_t k = 0; k < K; k++) {
        double n = (double)(p->start[k + 1] - p->start[k]);
        p->cost[k] = n * (1.0 + p->cost[k] / mean_s);
    }
    /* longest first; ties by id */
    for (size_t k = 0; k < K; k++)
        p->order[k] = k;
    for (size_t a = 1; a < K; a++) { /* insertion sort: K is small */
        size_t v = p->order[a], b = a;
        while (b > 0 && p->cost[p->order[b - 1]] < p->cost[v]) {
            p->order[b] = p->order[b - 1];
            b--;
        }
        p->order[b] = v;
    }
    free(shard_of);
    free(perm);
    assert(hcmc__plan_ok(p, pts->n));
    *out = p;
    return HCMC_OK;
}

bool hcmc__plan_ok(const hcmc_shard_plan *p, size_t n_points)
{
    size_t K = p ? p->n_shards : 0;
    if (!K || p->start[0] != 0 || p->start[K] != n_points)
        return false;
    unsigned char *seen = calloc(n_points + K + 1, 1), *in_order = seen + n_points;
    bool ok = seen != NULL;
    for (size_t k = 0; ok && k < K; k++) {
        ok = p->start[k] <= p->start[k + 1] && isfinite(p->cost[k]) &&
             p->cost[k] >= 0 && p->order[k] < K && !in_order[p->order[k]];
        if (ok)
            in_order[p->order[k]] = 1;
        for (size_t i = p->start[k]; ok && i < p->start[k + 1]; i++) {
            ok = p->idx[i] < n_points && !seen[p->idx[i]] &&
                 (i == p->start[k] || p->idx[i - 1] < p->idx[i]);
            if (ok)
                seen[p->idx[i]] = 1;
        }
    }
    free(seen);
    return ok;
}
