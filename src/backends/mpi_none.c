/* The MPI world of a build without MPI: one rank, never asked for (the
 * backend table refuses "mpi" with a message). */
#include "mpi_backend.h"

bool hcmc__mpi_wanted(const char *name)
{
    (void)name;
    return false;
}

bool hcmc__mpi_launched(void)
{
    return false;
}

int hcmc__mpi_world(int *rank, int *size)
{
    *rank = 0;
    *size = 1;
    return 0;
}

void hcmc__mpi_announce(const char *dir)
{
    (void)dir;
}

int hcmc__mpi_await(char *dir, size_t cap)
{
    (void)dir;
    (void)cap;
    return -1;
}

int hcmc__mpi_serve(const hcmc_problem *p, const hcmc_shard_plan *plan,
                    const hcmc_nuts_settings *s, const hcmc_backend_options *o)
{
    (void)p, (void)plan, (void)s, (void)o;
    return -1;
}
