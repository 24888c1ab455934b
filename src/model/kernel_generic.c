/* Portable variant: the same code with the C library's exp, sin and cos
 * lane by lane; used where no vector variant applies. */
#include <math.h>

typedef double vd_ __attribute__((vector_size(32)));

static inline vd_ lane_exp(vd_ v)
{
    return (vd_){exp(v[0]), exp(v[1]), exp(v[2]), exp(v[3])};
}

#define KERNEL_NAME(x) generic_##x
#define KERNEL_GATHER_BY_LANE /* portable: SSE2 has no 4-wide shuffles */
#define VEXP(v) lane_exp(v)
#define VSINCOS(v, s, c)                                                               \
    do {                                                                               \
        vd v_ = (v);                                                                   \
        for (int l_ = 0; l_ < 4; l_++) {                                               \
            (s)[l_] = sin(v_[l_]);                                                     \
            (c)[l_] = cos(v_[l_]);                                                     \
        }                                                                              \
    } while (0)

#include "kernel_impl.h"

const hcmc__kernel hcmc__kernel_generic = {"generic",
                                           generic_run_static,
                                           generic_run_laminar,
                                           generic_floor_static,
                                           generic_floor_laminar,
                                           generic_run_static_value,
                                           generic_run_laminar_value,
                                           generic_phase_sincos_n,
                                           generic_run_grid,
                                           generic_run_grid_value,
                                           KERNEL_WIDTH,
                                           generic_exp_n};
