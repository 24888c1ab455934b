/* The worker pool a library user keeps across runs: two different problems
 * run on the same worker processes (none is started again) and give the
 * same bytes as the serial backend; a worker lost between runs is replaced
 * at the next one; nothing is left in /dev/shm. */
#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "hcmc/backend.h"
#include "synth_problem.h"

typedef struct {
    hcmc_shard_result **r; /* [K] */
    size_t got;
} collect;

static int keep(void *user, hcmc_shard_result *r)
{
    collect *c = user;
    c->r[r->id] = r;
    c->got++;
    return 0;
}

typedef struct {
    synth_problem sp;
    hcmc_shard_plan *plan;
    hcmc_problem *prob;
    hcmc_nuts_settings s;
} problem;

static void make(problem *p, hcmc_mode mode, uint64_t seed)
{
    hcmc_error e;
    assert_int_equal(synth_problem_make(&p->sp, mode, 3, 30, HCMC_SCALING_INDIVIDUAL,
                                        0.02, seed, NULL, synth_bounds),
                     0);
    assert_int_equal(hcmc_shard_plan_make(&p->sp.pts, HCMC_STRATEGY_RANDOM, 3, 0, 1,
                                          mode, seed, &p->plan, &e),
                     0);
    assert_int_equal(hcmc_problem_new(&p->sp.spec, &p->sp.pts, 3, NULL, &p->prob, &e),
                     0);
    hcmc_nuts_settings_defaults(&p->s);
    p->s.num_chains = 2;
    p->s.num_warmup = 60;
    p->s.num_samples = 40;
    p->s.seed = seed;
}

static void unmake(problem *p)
{
    hcmc_problem_free(p->prob);
    hcmc_shard_plan_free(p->plan);
    synth_problem_free(&p->sp);
}

/* Runs p on the pool (or the serial backend when pool is NULL). */
static hcmc_shard_result **run(problem *p, hcmc_pool *pool)
{
    size_t K = p->plan->n_shards;
    collect c = {calloc(K, sizeof *c.r), 0};
    hcmc_backend_options o;
    hcmc_backend_options_defaults(&o);
    o.sink = keep;
    o.user = &c;
    hcmc_error e;
    int rc =
        pool ? hcmc_pool_run(pool, p->prob, p->plan, p->plan->order, K, &p->s, &o, &e)
             : hcmc_backend_find("serial", K, 1, &e)
                   ->run(p->prob, p->plan, p->plan->order, K, &p->s, &o, &e);
    if (rc)
        fail_msg("%s", e.msg);
    assert_int_equal(c.got, K);
    return c.r;
}

static void assert_same(hcmc_shard_result **a, hcmc_shard_result **b, size_t K)
{
    for (size_t k = 0; k < K; k++) {
        assert_int_equal(a[k]->status, 0);
        assert_int_equal(b[k]->status, 0);
        const hcmc_nuts_result *x = a[k]->nuts, *y = b[k]->nuts;
        size_t m = x->num_chains * x->sampling.n * x->dim;
        assert_int_equal(m, y->num_chains * y->sampling.n * y->dim);
        assert_memory_equal(x->sampling.z, y->sampling.z, m * sizeof(double));
    }
}

static void release(hcmc_shard_result **r, size_t K)
{
    for (size_t k = 0; k < K; k++)
        hcmc_shard_result_free(r[k]);
    free(r);
}

static int shm_entries(void)
{
    int n = 0;
    DIR *d = opendir("/dev/shm");
    struct dirent *de;
    while (d && (de = readdir(d)))
        n += !strncmp(de->d_name, "hcmc-", 5);
    if (d)
        closedir(d);
    return n;
}

static void test_pool_across_runs(void **state)
{
    (void)state;
    problem a, b;
    make(&a, HCMC_MODE_STATIC, 3);
    make(&b, HCMC_MODE_LAMINAR, 4);
    hcmc_pool *pool;
    hcmc_error e;
    assert_int_equal(hcmc_pool_new(2, &pool, &e), 0);
    assert_int_equal(hcmc_pool_size(pool), 2);
    hcmc_shard_result **sa = run(&a, NULL), **pa = run(&a, pool);
    assert_same(sa, pa, 3);
    hcmc_shard_result **sb = run(&b, NULL), **pb = run(&b, pool);
    assert_same(sb, pb, 3);
    assert_int_equal(hcmc_pool_started(pool), 2); /* the same two workers */
    /* the first problem again, after the second: nothing of it is left over */
    hcmc_shard_result **pa2 = run(&a, pool);
    assert_same(sa, pa2, 3);
    assert_int_equal(shm_entries(), 0);
    /* a worker lost between runs is replaced at the next run */
    pid_t kids[8];
    size_t nk = 0;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", getpid(), getpid());
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    while (nk < 8 && fscanf(f, "%d", &kids[nk]) == 1)
        nk++;
    fclose(f);
    assert_int_equal(nk, 2);
    kill(kids[0], SIGKILL);
    hcmc_shard_result **pa3 = run(&a, pool);
    assert_same(sa, pa3, 3);
    assert_int_equal(hcmc_pool_started(pool), 3);
    hcmc_pool_free(pool);
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1); /* every worker reaped */
    release(sa, 3);
    release(pa, 3);
    release(sb, 3);
    release(pb, 3);
    release(pa2, 3);
    release(pa3, 3);
    unmake(&a);
    unmake(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_across_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
