/* The choice of the likelihood kernel variant at run time: AVX2 with FMA
 * where the CPU has them and the build made that variant, else the
 * generic one; HCMC_KERNEL=generic forces the generic one (the tests run
 * the suite both ways so that no variant decides a result). */
#include "kernel.h"

#include <stdlib.h>
#include <string.h>

const hcmc__kernel *hcmc__kernel_select(void)
{
    const char *force = getenv("HCMC_KERNEL");
    if (force && !strcmp(force, "generic"))
        return &hcmc__kernel_generic;
#if defined(__x86_64__) && defined(HCMC_HAVE_AVX2_KERNEL)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return &hcmc__kernel_avx2;
#endif
    return &hcmc__kernel_generic;
}
