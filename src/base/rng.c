/* Counter-based random numbers: Philox4x64-10 keyed by (seed, purpose,
 * shard, chain), so that every stream is fixed by what it is for and not
 * by the order in which threads or processes draw; uniforms, bounded
 * integers, normals and exponentials from it. */
#include "hcmc/rng.h"

#include <math.h>

#include <Random123/philox.h>

void hcmc_rng_philox4x64(const uint64_t ctr[4], const uint64_t key[2], uint64_t out[4])
{
    philox4x64_ctr_t c = {{ctr[0], ctr[1], ctr[2], ctr[3]}};
    philox4x64_key_t k = {{key[0], key[1]}};
    philox4x64_ctr_t r = philox4x64(c, k);
    for (int i = 0; i < 4; i++)
        out[i] = r.v[i];
}

void hcmc_rng_init(hcmc_rng *rng, uint64_t seed, uint32_t purpose, uint32_t shard,
                   uint32_t chain)
{
    rng->key[0] = seed;
    rng->key[1] = purpose;
    rng->ctr[0] = shard;
    rng->ctr[1] = chain;
    rng->ctr[2] = 0;
    rng->ctr[3] = 0;
    rng->left = 0;
    rng->has_spare = 0;
    rng->spare = 0.0;
}

uint64_t hcmc_rng_u64(hcmc_rng *rng)
{
    if (rng->left == 0) {
        hcmc_rng_philox4x64(rng->ctr, rng->key, rng->buf);
        rng->ctr[2]++;
        rng->left = 4;
    }
    return rng->buf[4 - rng->left--];
}

double hcmc_rng_uniform(hcmc_rng *rng)
{
    /* (k + 0.5) / 2^53 for k in [0, 2^53): never 0, never 1. */
    return ((double)(hcmc_rng_u64(rng) >> 11) + 0.5) * 0x1p-53;
}

uint64_t hcmc_rng_below(hcmc_rng *rng, uint64_t n)
{
    /* Rejection keeps every value equally likely. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = hcmc_rng_u64(rng);
    while (x >= limit);
    return x % n;
}

double hcmc_rng_normal(hcmc_rng *rng)
{
    if (rng->has_spare) {
        rng->has_spare = 0;
        return rng->spare;
    }
    double u1 = hcmc_rng_uniform(rng);
    double u2 = hcmc_rng_uniform(rng);
    double r = sqrt(-2.0 * log(u1));
    double a = 2.0 * M_PI * u2;
    rng->spare = r * sin(a);
    rng->has_spare = 1;
    return r * cos(a);
}

double hcmc_rng_exponential(hcmc_rng *rng)
{
    return -log(hcmc_rng_uniform(rng));
}
