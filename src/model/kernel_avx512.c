/* AVX-512 variant: the template 8 lanes wide, SLEEF's 8-wide vector exp and
 * sincos (1.0 ulp), and the template's own sincos of the frames' phases
 * (VFMA). Compiled with -mavx512f -mfma; chosen at run time only on CPUs
 * that have AVX-512F (kernel.c). */
#include <immintrin.h>
#include <sleef.h>

#define KERNEL_WIDTH 8
#define KERNEL_NAME(x) avx512_##x
#define VEXP(v) ((vd)Sleef_expd8_u10avx512f((__m512d)(v)))
#define VSINCOS(v, s, c)                                                               \
    do {                                                                               \
        Sleef___m512d_2 sc_ = Sleef_sincosd8_u10avx512f((__m512d)(v));                 \
        (s) = (vd)sc_.x;                                                               \
        (c) = (vd)sc_.y;                                                               \
    } while (0)

#define VFMA(a, b, c) ((vd)_mm512_fmadd_pd((__m512d)(a), (__m512d)(b), (__m512d)(c)))

#include "kernel_impl.h"

const hcmc__kernel hcmc__kernel_avx512 = {"avx512",
                                          avx512_run_static,
                                          avx512_run_laminar,
                                          avx512_floor_static,
                                          avx512_floor_laminar,
                                          avx512_run_static_value,
                                          avx512_run_laminar_value,
                                          avx512_phase_sincos_n,
                                          avx512_run_grid,
                                          avx512_run_grid_value,
                                          KERNEL_WIDTH,
                                          avx512_exp_n};
