/* The choice of the likelihood kernel variant at run time: AVX2 with FMA
 * where the CPU has them and the build made that variant, else the generic
 * one. HCMC_KERNEL=avx512 forces the AVX-512 variant where the CPU runs it
 * (it is slower than AVX2 on this machine, README "Performance", so not
 * the default), HCMC_KERNEL=generic the portable one, HCMC_KERNEL=avx2 the
 * default; the tests run the suite with the generic one too, so that no
 * variant decides a result. */
#include "kernel.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

const hcmc__kernel *hcmc__kernel_select(void)
{
    const char *force = getenv("HCMC_KERNEL");
    if (force && !strcmp(force, "generic"))
        return &hcmc__kernel_generic;
#if defined(__x86_64__) && defined(HCMC_HAVE_AVX2_KERNEL)
    __builtin_cpu_init();
    bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#if defined(HCMC_HAVE_AVX512_KERNEL)
    if (force && !strcmp(force, "avx512") && avx2 && __builtin_cpu_supports("avx512f"))
        return &hcmc__kernel_avx512;
#endif
    if (avx2)
        return &hcmc__kernel_avx2;
#endif
    return &hcmc__kernel_generic;
}
