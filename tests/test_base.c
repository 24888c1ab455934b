/* Base layer: status table, error messages, counter-based random streams. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hcmc/rng.h"
#include "hcmc/status.h"

static void test_status_table(void **state)
{
    (void)state;
    assert_string_equal(hcmc_status_name(HCMC_OK), "HCMC_OK");
    assert_string_equal(hcmc_status_name(HCMC_EINVAL), "HCMC_EINVAL");
    assert_string_equal(hcmc_status_name(HCMC_EUNSUPPORTED), "HCMC_EUNSUPPORTED");
    assert_string_equal(hcmc_status_name(-100), "HCMC_E?");
    assert_string_equal(hcmc_status_str(HCMC_ENOMEM), "out of memory");
}

static void test_error_messages(void **state)
{
    (void)state;
    hcmc_error e;
    hcmc_error_clear(&e);
    assert_int_equal(e.code, 0);
    assert_int_equal(hcmc_error_set(&e, HCMC_EINVAL, "dt = %g", -1.0), HCMC_EINVAL);
    assert_string_equal(e.msg, "dt = -1");
    hcmc_error_prefix(&e, "file %s", "a.h5");
    assert_string_equal(e.msg, "file a.h5: dt = -1");
    /* NULL error objects are allowed everywhere */
    assert_int_equal(hcmc_error_set(NULL, HCMC_EIO, "x"), HCMC_EIO);
    hcmc_error_prefix(NULL, "x");
}

/* Known-answer vectors of Philox4x64-10 published with Random123
 * (kat_vectors): all-zero and the digits of pi. */
static void test_philox_known_answers(void **state)
{
    (void)state;
    uint64_t out[4];
    const uint64_t c0[4] = {0, 0, 0, 0}, k0[2] = {0, 0};
    hcmc_rng_philox4x64(c0, k0, out);
    assert_true(out[0] == 0x16554d9eca36314cULL && out[1] == 0xdb20fe9d672d0fdcULL &&
                out[2] == 0xd7e772cee186176bULL && out[3] == 0x7e68b68aec7ba23bULL);
    const uint64_t c1[4] = {0x243f6a8885a308d3ULL, 0x13198a2e03707344ULL,
                            0xa4093822299f31d0ULL, 0x082efa98ec4e6c89ULL};
    const uint64_t k1[2] = {0x452821e638d01377ULL, 0xbe5466cf34e90c6cULL};
    hcmc_rng_philox4x64(c1, k1, out);
    assert_true(out[0] == 0xa528f45403e61d95ULL && out[1] == 0x38c72dbd566e9788ULL &&
                out[2] == 0xa5a1610e72fd18b5ULL && out[3] == 0x57bd43b5e52b7fe6ULL);
}

/* A stream's words are Philox blocks of counter (shard, chain, block, 0)
 * under key (seed, purpose), read in order. */
static void test_stream_layout(void **state)
{
    (void)state;
    hcmc_rng r;
    hcmc_rng_init(&r, 42, HCMC_RNG_NUTS, 7, 3);
    for (uint64_t block = 0; block < 3; block++) {
        uint64_t want[4];
        const uint64_t ctr[4] = {7, 3, block, 0}, key[2] = {42, HCMC_RNG_NUTS};
        hcmc_rng_philox4x64(ctr, key, want);
        for (int w = 0; w < 4; w++)
            assert_true(hcmc_rng_u64(&r) == want[w]);
    }
}

static void test_streams_reproducible_and_distinct(void **state)
{
    (void)state;
    hcmc_rng a, b, c, d;
    hcmc_rng_init(&a, 1, HCMC_RNG_INIT, 0, 0);
    hcmc_rng_init(&b, 1, HCMC_RNG_INIT, 0, 0);
    hcmc_rng_init(&c, 1, HCMC_RNG_INIT, 0, 1);
    hcmc_rng_init(&d, 1, HCMC_RNG_NUTS, 0, 0);
    int same_c = 0, same_d = 0;
    for (int k = 0; k < 1000; k++) {
        double x = hcmc_rng_normal(&a);
        assert_true(x == hcmc_rng_normal(&b));
        same_c += x == hcmc_rng_normal(&c);
        same_d += x == hcmc_rng_normal(&d);
    }
    assert_int_equal(same_c, 0);
    assert_int_equal(same_d, 0);
}

/* Moments of 400 000 draws. The tolerances are 5 standard errors:
 * mean of U(0,1): sd 0.2887/sqrt(n) = 4.6e-4; mean of N(0,1): 1.6e-3;
 * variance of N(0,1): sqrt(2/n) = 2.2e-3; mean of Exp(1): 1.6e-3. */
static void test_distribution_moments(void **state)
{
    (void)state;
    const int n = 400000;
    hcmc_rng r;
    hcmc_rng_init(&r, 2024, HCMC_RNG_TEST, 0, 0);
    double su = 0, sn = 0, sn2 = 0, se = 0, umin = 1, umax = 0;
    for (int k = 0; k < n; k++) {
        double u = hcmc_rng_uniform(&r);
        umin = fmin(umin, u);
        umax = fmax(umax, u);
        su += u;
        double z = hcmc_rng_normal(&r);
        sn += z;
        sn2 += z * z;
        se += hcmc_rng_exponential(&r);
    }
    assert_true(umin > 0.0 && umax < 1.0);
    assert_true(fabs(su / n - 0.5) < 5 * 4.6e-4);
    assert_true(fabs(sn / n) < 5 * 1.6e-3);
    assert_true(fabs(sn2 / n - 1.0) < 5 * 2.2e-3);
    assert_true(fabs(se / n - 1.0) < 5 * 1.6e-3);
}

static void test_below_is_in_range_and_covers(void **state)
{
    (void)state;
    hcmc_rng r;
    hcmc_rng_init(&r, 5, HCMC_RNG_SHARD, 0, 0);
    int seen[7] = {0};
    for (int k = 0; k < 7000; k++) {
        uint64_t v = hcmc_rng_below(&r, 7);
        assert_true(v < 7);
        seen[v]++;
    }
    /* each count is Binomial(7000, 1/7): mean 1000, sd 29; 6 sd bounds */
    for (int k = 0; k < 7; k++)
        assert_true(seen[k] > 1000 - 6 * 29 && seen[k] < 1000 + 6 * 29);
}

/* uniform() is exact arithmetic on the words: (w >> 11) + 0.5 over 2^53. */
static void test_uniform_from_words(void **state)
{
    (void)state;
    hcmc_rng r, w;
    hcmc_rng_init(&r, 9, HCMC_RNG_TEST, 1, 2);
    hcmc_rng_init(&w, 9, HCMC_RNG_TEST, 1, 2);
    for (int k = 0; k < 10; k++) {
        uint64_t x = hcmc_rng_u64(&w);
        assert_true(hcmc_rng_uniform(&r) == ((double)(x >> 11) + 0.5) * 0x1p-53);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_table),
        cmocka_unit_test(test_error_messages),
        cmocka_unit_test(test_philox_known_answers),
        cmocka_unit_test(test_stream_layout),
        cmocka_unit_test(test_streams_reproducible_and_distinct),
        cmocka_unit_test(test_distribution_moments),
        cmocka_unit_test(test_below_is_in_range_and_covers),
        cmocka_unit_test(test_uniform_from_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
