/* Internal: FNV-1a, 64 bits, for checksums that identify inputs (data
 * files, problems), not for security. Chain calls: h = hcmc__fnv1a(h, ...). */
#ifndef HCMC_BASE_HASH_H
#define HCMC_BASE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HCMC__FNV_INIT 1469598103934665603ULL

static inline uint64_t hcmc__fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

#endif
