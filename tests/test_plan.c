/* Shard plans: every point in exactly one shard for every strategy, random
 * plans balanced across angles and reproducible from the seed, stratified
 * plans one angle per shard, auto sizing within MODEL.md's limits, dispatch
 * longest first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hcmc/cmc.h"
#include "hcmc/rng.h"

/* n_phi angles with sizes 1000, 2000, ... points */
static void make_points(hcmc_points *p, size_t n_phi, size_t scale)
{
    size_t n = 0;
    for (size_t a = 0; a < n_phi; a++)
        n += scale * (a + 1);
    hcmc_error e;
    assert_int_equal(hcmc_points_init(p, n, n_phi, 100, &e), 0);
    hcmc_rng r;
    hcmc_rng_init(&r, 1, HCMC_RNG_TEST, 0, 0);
    size_t k = 0;
    for (size_t a = 0; a < n_phi; a++) {
        p->phi[a] = 10.0 * (double)a;
        p->angle_start[a] = k;
        for (size_t m = 0; m < scale * (a + 1); m++, k++) {
            p->i[k] = 1;
            p->j[k] = (uint16_t)(2 + m % 90);
            p->y[k] = 1.0 + 0.01 * hcmc_rng_normal(&r);
        }
    }
    p->angle_start[n_phi] = k;
}

static void check_partition(const hcmc_shard_plan *p, size_t N)
{
    char *seen = calloc(N, 1);
    assert_int_equal(p->start[0], 0);
    assert_int_equal(p->start[p->n_shards], N);
    for (size_t k = 0; k < p->n_shards; k++) {
        assert_true(p->start[k + 1] > p->start[k]); /* no empty shard */
        for (size_t i = p->start[k]; i < p->start[k + 1]; i++) {
            assert_true(p->idx[i] < N);
            assert_int_equal(seen[p->idx[i]], 0);
            seen[p->idx[i]] = 1;
            if (i > p->start[k])
                assert_true(p->idx[i] > p->idx[i - 1]);
        }
    }
    for (size_t i = 0; i < N; i++)
        assert_int_equal(seen[i], 1);
    char *used = calloc(p->n_shards, 1);
    for (size_t k = 0; k < p->n_shards; k++) {
        assert_true(p->order[k] < p->n_shards);
        used[p->order[k]] = 1;
        if (k)
            assert_true(p->cost[p->order[k - 1]] >= p->cost[p->order[k]]);
    }
    for (size_t k = 0; k < p->n_shards; k++)
        assert_int_equal(used[k], 1);
    free(used);
    free(seen);
}

static void test_partitions(void **state)
{
    (void)state;
    hcmc_points pts;
    make_points(&pts, 5, 1000); /* 15000 points */
    hcmc_error e;
    for (int st = 0; st < 3; st++)
        for (size_t K = 1; K <= 13; K += 4) {
            hcmc_shard_plan *p;
            assert_int_equal(hcmc_shard_plan_make(&pts, (hcmc_shard_strategy)st, K, 0,
                                                  1, HCMC_MODE_STATIC, 7, &p, &e),
                             0);
            check_partition(p, pts.n);
            if (st != HCMC_STRATEGY_STRATIFIED)
                assert_int_equal(p->n_shards, K);
            hcmc_shard_plan_free(p);
        }
    hcmc_points_release(&pts);
}

static void test_random_balanced_and_seeded(void **state)
{
    (void)state;
    hcmc_points pts;
    make_points(&pts, 4, 1000);
    hcmc_error e;
    hcmc_shard_plan *p, *q, *o;
    assert_int_equal(hcmc_shard_plan_make(&pts, HCMC_STRATEGY_RANDOM, 8, 0, 1,
                                          HCMC_MODE_STATIC, 3, &p, &e),
                     0);
    assert_int_equal(hcmc_shard_plan_make(&pts, HCMC_STRATEGY_RANDOM, 8, 0, 1,
                                          HCMC_MODE_STATIC, 3, &q, &e),
                     0);
    assert_int_equal(hcmc_shard_plan_make(&pts, HCMC_STRATEGY_RANDOM, 8, 0, 1,
                                          HCMC_MODE_STATIC, 4, &o, &e),
                     0);
    assert_memory_equal(p->idx, q->idx, pts.n * sizeof(size_t));
    assert_memory_not_equal(p->idx, o->idx, pts.n * sizeof(size_t));
    /* each shard holds an equal share (within one point) of every angle */
    for (size_t k = 0; k < 8; k++)
        for (size_t a = 0; a < 4; a++) {
            size_t n = 0, na = pts.angle_start[a + 1] - pts.angle_start[a];
            for (size_t i = p->start[k]; i < p->start[k + 1]; i++)
                n += p->idx[i] >= pts.angle_start[a] &&
                     p->idx[i] < pts.angle_start[a + 1];
            assert_true(n + 1 >= na / 8 && n <= na / 8 + 1);
        }
    hcmc_shard_plan_free(p);
    hcmc_shard_plan_free(q);
    hcmc_shard_plan_free(o);
    hcmc_points_release(&pts);
}

/* A pair grid (every angle the same pairs in the same order, as a full
 * data set): the random plan deals whole pairs, so every shard is a pair
 * grid itself (hcmc_points_pairs of its subset is its share of the pairs)
 * with all angles equally, the pairs' shares within one of each other;
 * reproducible from the seed. One pair fewer at the last angle: not a
 * grid, so points are dealt one by one and the shards are not grids. */
static void test_random_pairs(void **state)
{
    (void)state;
    const size_t A = 5, P = 437, K = 6;
    hcmc_points pts;
    hcmc_error e;
    assert_int_equal(hcmc_points_init(&pts, A * P, A, 100, &e), 0);
    hcmc_rng r;
    hcmc_rng_init(&r, 2, HCMC_RNG_TEST, 0, 0);
    for (size_t a = 0; a < A; a++) {
        pts.phi[a] = 20.0 * (double)a;
        pts.angle_start[a] = a * P;
        for (size_t k = 0; k < P; k++) {
            pts.i[a * P + k] = (uint16_t)(1 + k / 90);
            pts.j[a * P + k] = (uint16_t)(7 + k % 90);
            pts.y[a * P + k] = 1.0 + 0.01 * hcmc_rng_normal(&r);
        }
    }
    pts.angle_start[A] = A * P;
    assert_int_equal(hcmc_points_pairs(&pts), P);
    for (int grid = 1; grid >= 0; grid--) {
        hcmc_shard_plan *p, *q;
        assert_int_equal(hcmc_shard_plan_make(&pts, HCMC_STRATEGY_RANDOM, K, 0, 1,
                                              HCMC_MODE_LAMINAR, 5, &p, &e),
                         0);
        assert_int_equal(hcmc_shard_plan_make(&pts, HCMC_STRATEGY_RANDOM, K, 0, 1,
                                              HCMC_MODE_LAMINAR, 5, &q, &e),
                         0);
        check_partition(p, pts.n);
        assert_memory_equal(p->idx, q->idx, pts.n * sizeof(size_t));
        for (size_t k = 0; k < K; k++) {
            size_t m = p->start[k + 1] - p->start[k];
            hcmc_points sub;
            assert_int_equal(
                hcmc_points_subset(&pts, p->idx + p->start[k], m, &sub, &e), 0);
            if (grid) {
                assert_int_equal(m % A, 0);
                assert_true(m / A + 1 >= P / K && m / A <= P / K + 1);
                assert_int_equal(hcmc_points_pairs(&sub), m / A);
            } else {
                assert_int_equal(hcmc_points_pairs(&sub), 0);
            }
            hcmc_points_release(&sub);
        }
        hcmc_shard_plan_free(p);
        hcmc_shard_plan_free(q);
        /* the last angle without its last pair: no grid */
        pts.n--;
        pts.angle_start[A]--;
        assert_int_equal(hcmc_points_pairs(&pts), 0);
    }
    hcmc_points_release(&pts);
}

static void test_stratified_and_auto(void **state)
{
    (void)state;
    hcmc_points pts;
    make_points(&pts, 3, 50000); /* angles of 50k, 100k, 150k points */
    hcmc_error e;
    hcmc_shard_plan *p;
    assert_int_equal(hcmc_shard_plan_make(&pts, HCMC_STRATEGY_STRATIFIED, 0, 60000, 1,
                                          HCMC_MODE_STATIC, 1, &p, &e),
                     0);
    assert_int_equal(p->n_shards, 1 + 2 + 3);
    for (size_t k = 0; k < p->n_shards; k++) { /* one angle per shard */
        size_t first = p->idx[p->start[k]], last = p->idx[p->start[k + 1] - 1];
        size_t a = 0;
        while (pts.angle_start[a + 1] <= first)
            a++;
        assert_true(last < pts.angle_start[a + 1]);
        assert_true(p->start[k + 1] - p->start[k] <= 60000);
    }
    hcmc_shard_plan_free(p);
    /* auto: 300k points, 4 workers: at least 8 shards, each <= 100k and
     * >= 10k (static) */
    assert_int_equal(hcmc_shard_plan_make(&pts, HCMC_STRATEGY_RANDOM, 0, 0, 4,
                                          HCMC_MODE_STATIC, 1, &p, &e),
                     0);
    assert_int_equal(p->n_shards, 8);
    hcmc_shard_plan_free(p);
    /* too many shards for the points */
    assert_int_equal(hcmc_shard_plan_make(&pts, HCMC_STRATEGY_RANDOM, 400000, 0, 1,
                                          HCMC_MODE_STATIC, 1, &p, &e),
                     HCMC_EINVAL);
    hcmc_points_release(&pts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_partitions),
        cmocka_unit_test(test_random_balanced_and_seeded),
        cmocka_unit_test(test_random_pairs),
        cmocka_unit_test(test_stratified_and_auto),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
