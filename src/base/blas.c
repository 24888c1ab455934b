/* The BLAS held to one thread, once per process: the library calls LAPACK
 * on parameter-sized matrices only, where threads cost more than they
 * give, and chains and workers already use the cores. A threaded BLAS's
 * switch is found through a weak symbol, so no BLAS is required. */
#include "blas.h"

#include <pthread.h>

/* The switches of the threaded BLAS implementations; null when the BLAS in
 * use is another one. */
extern void openblas_set_num_threads(int) __attribute__((weak));
extern void MKL_Set_Num_Threads(int) __attribute__((weak));

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void one_thread(void)
{
    if (openblas_set_num_threads)
        openblas_set_num_threads(1);
    if (MKL_Set_Num_Threads)
        MKL_Set_Num_Threads(1);
}

void hcmc__blas_one_thread(void)
{
    pthread_once(&once, one_thread);
}
