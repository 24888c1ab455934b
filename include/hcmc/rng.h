/* Counter-based random streams (Philox4x64-10, Random123).
 *
 * A stream is keyed by (seed, purpose, shard, chain): the key holds the seed
 * and the purpose, the first two counter words hold shard and chain, the
 * third counts blocks. Two streams with any differing key field never share
 * a block, and a stream's sequence depends on nothing but its key, so
 * results do not depend on which thread or process draws them, nor when.
 *
 * The raw 64-bit words are the same on every platform. uniform() and
 * exponential() map them with exact integer arithmetic and log(); normal()
 * uses Box-Muller (log, sqrt, sin, cos), so its last bit follows the C
 * library's log/sin/cos (correctly rounded in practice on glibc). */
#ifndef HCMC_RNG_H
#define HCMC_RNG_H

#include <stdint.h>

#include "hcmc/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Purposes: one per independent use of randomness in a run. */
enum {
    HCMC_RNG_SYNTH = 1,      /* noise of synthetic data */
    HCMC_RNG_SHARD = 2,      /* assignment of points to shards */
    HCMC_RNG_INIT = 3,       /* jitter of initial points */
    HCMC_RNG_NUTS = 4,       /* momenta and trajectory choices */
    HCMC_RNG_COMBINE = 5,    /* draws of combination rules that sample */
    HCMC_RNG_PLOT = 6,       /* noise of posterior predictive bands */
    HCMC_RNG_IMPORTANCE = 7, /* proposals and resampling of the importance correction */
    HCMC_RNG_MIRROR = 8,     /* which draws take their mirror image (finish.c) */
    HCMC_RNG_NUTS_RERUN = 9, /* momenta of a chain run again (nuts.h rerun_divergent) */
    HCMC_RNG_WARM = 10,      /* the warm start's design of starts (warmstart.c) */
    HCMC_RNG_MODES = 11,     /* the modes' weighing and mixture (src/run/modes.c) */
    HCMC_RNG_TEST = 99
};

/* Caller-owned; plain value type, may be copied to fork a stream's state. */
typedef struct hcmc_rng {
    uint64_t key[2];
    uint64_t ctr[4];
    uint64_t buf[4];
    int left;      /* unread words in buf */
    int has_spare; /* Box-Muller yields pairs */
    double spare;
} hcmc_rng;

HCMC_API void hcmc_rng_init(hcmc_rng *rng, uint64_t seed, uint32_t purpose,
                            uint32_t shard, uint32_t chain);
HCMC_API uint64_t hcmc_rng_u64(hcmc_rng *rng);
/* Uniform on the open interval (0, 1), 53 random bits. */
HCMC_API double hcmc_rng_uniform(hcmc_rng *rng);
/* Integer uniform on [0, n), unbiased; n > 0. */
HCMC_API uint64_t hcmc_rng_below(hcmc_rng *rng, uint64_t n);
HCMC_API double hcmc_rng_normal(hcmc_rng *rng);
HCMC_API double hcmc_rng_exponential(hcmc_rng *rng);

/* One Philox4x64-10 block: out = philox(ctr, key); for known-answer tests. */
HCMC_API void hcmc_rng_philox4x64(const uint64_t ctr[4], const uint64_t key[2],
                                  uint64_t out[4]);

#ifdef __cplusplus
}
#endif
#endif
