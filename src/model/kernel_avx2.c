/* AVX2 + FMA variant: SLEEF's vector exp and sincos (1.0 ulp), and the
 * template's own sincos of the frames' phases (VFMA). Compiled with -mavx2
 * -mfma; chosen at run time only on CPUs that have both. */
#include <immintrin.h>
#include <sleef.h>

#define KERNEL_NAME(x) avx2_##x
#define VEXP(v) ((vd)Sleef_expd4_u10avx2((__m256d)(v)))
#define VSINCOS(v, s, c)                                                               \
    do {                                                                               \
        Sleef___m256d_2 sc_ = Sleef_sincosd4_u10avx2((__m256d)(v));                    \
        (s) = (vd)sc_.x;                                                               \
        (c) = (vd)sc_.y;                                                               \
    } while (0)

#define VFMA(a, b, c) ((vd)_mm256_fmadd_pd((__m256d)(a), (__m256d)(b), (__m256d)(c)))

#include "kernel_impl.h"

const hcmc__kernel hcmc__kernel_avx2 = {"avx2",
                                        avx2_run_static,
                                        avx2_run_laminar,
                                        avx2_floor_static,
                                        avx2_floor_laminar,
                                        avx2_run_static_value,
                                        avx2_run_laminar_value,
                                        avx2_phase_sincos_n,
                                        avx2_run_grid,
                                        avx2_run_grid_value,
                                        KERNEL_WIDTH,
                                        avx2_exp_n};
