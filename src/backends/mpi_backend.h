/* Internal to the backends and the run layer: the MPI world of the mpi
 * backend. In a build without MPI (mpi_none.c) the world is one rank and
 * nothing asks for it. */
#ifndef HCMC_BACKENDS_MPI_H
#define HCMC_BACKENDS_MPI_H

#include <stdbool.h>
#include <stddef.h>

#include "common.h"

/* Whether backend `name` means MPI here: "mpi", or auto (numpy) in a
 * process started by an MPI launcher with more than one rank. */
bool hcmc__mpi_wanted(const char *name);
/* Whether an MPI launcher started this process with more than one rank. */
bool hcmc__mpi_launched(void);
/* This rank and the world's size, initialising MPI on first use (and
 * finalising it at exit). -1 when MPI cannot start. */
int hcmc__mpi_world(int *rank, int *size);
/* Rank 0: tells the other ranks the run directory holding plan.h5 ("" or
 * NULL: there is none, the run failed; they stop). */
void hcmc__mpi_announce(const char *dir);
/* Other ranks: the run directory rank 0 announced; -1 when it announced
 * none. */
int hcmc__mpi_await(char *dir, size_t cap);
/* Other ranks: run the shards rank 0 deals until it says stop. p NULL:
 * this rank has no problem (the plan could not be read); it takes no work
 * but still waits for the stop. */
int hcmc__mpi_serve(const hcmc_problem *p, const hcmc_shard_plan *plan,
                    const hcmc_nuts_settings *s, const hcmc_backend_options *o);

#endif
