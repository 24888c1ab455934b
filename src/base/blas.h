/* Internal: the BLAS runs on the calling thread only. */
#ifndef HCMC_BASE_BLAS_H
#define HCMC_BASE_BLAS_H

/* Asks a threaded BLAS (OpenBLAS, MKL) to use one thread, once per
 * process. hcmc's matrices are parameter-sized (tens of rows), where BLAS
 * threads gain nothing; and a threaded BLAS splits its sums by the number
 * of cores it sees, so draws would change with the CPU affinity (mpirun's
 * core binding, taskset, a batch job's cgroup). Called by every entry that
 * reaches LAPACK; harmless with a BLAS that has no threads. */
void hcmc__blas_one_thread(void);

#endif
