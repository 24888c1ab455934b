/* The backends by name. */
#include <string.h>

#include "mpi_backend.h"
#include "hcmc/log.h"

extern const hcmc_backend hcmc__backend_serial, hcmc__backend_threads,
    hcmc__backend_multiprocessing, hcmc__backend_pool, hcmc__backend_slurm,
    hcmc__backend_pbs;
#ifdef HCMC_HAVE_MPI
extern const hcmc_backend hcmc__backend_mpi;
#endif

/* quiet: no log lines, no error (err may be NULL) */
static const hcmc_backend *find(const char *name, size_t n_shards, size_t workers,
                                bool quiet, hcmc_error *err)
{
    static const struct {
        const char *name;
        const hcmc_backend *backend;
        const char *notice; /* for homodyne's names */
    } table[] = {
        {"serial", &hcmc__backend_serial, NULL},
        {"threads", &hcmc__backend_threads, NULL},
        {"multiprocessing", &hcmc__backend_multiprocessing, NULL},
        {"pool", &hcmc__backend_pool, NULL},
        {"slurm", &hcmc__backend_slurm, NULL},
        {"pbs", &hcmc__backend_pbs, NULL},
#ifdef HCMC_HAVE_MPI
        {"mpi", &hcmc__backend_mpi, NULL},
#endif
        {"jax", &hcmc__backend_multiprocessing,
         "backend 'jax' (homodyne) runs as hcmc's multiprocessing backend"},
        {"pjit", &hcmc__backend_threads,
         "backend 'pjit' (homodyne) runs as hcmc's threads backend"},
    };
    if (!quiet && !strcmp(name, "numpy")) /* homodyne's array library, not a backend */
        hcmc_log(HCMC_LOG_INFO, "backend 'numpy' (homodyne) runs as hcmc's auto");
#ifdef HCMC_HAVE_MPI
    if (hcmc__mpi_wanted(name)) /* auto under an MPI launcher */
        return &hcmc__backend_mpi;
#endif
    if (!strcmp(name, "auto") || !strcmp(name, "numpy")) {
        size_t w = workers ? workers : hcmc_usable_cores();
        return w > 1 && n_shards > 1 ? &hcmc__backend_multiprocessing
                                     : &hcmc__backend_serial;
    }
    for (size_t k = 0; k < sizeof table / sizeof *table; k++)
        if (!strcmp(name, table[k].name)) {
            if (table[k].notice && !quiet)
                hcmc_log(HCMC_LOG_INFO, "%s", table[k].notice);
            return table[k].backend;
        }
    if (quiet)
        return NULL;
    static const char *const later[] = {"mpi"};
    for (size_t k = 0; k < sizeof later / sizeof *later; k++)
        if (!strcmp(name, later[k])) {
            hcmc_error_set(
                err, HCMC_EUNSUPPORTED,
                "backend '%s': this hcmc was built without MPI (install "
                "libopenmpi-dev and build again); use auto, serial, threads, "
                "multiprocessing, pool, slurm or pbs",
                name);
            return NULL;
        }
    hcmc_error_set(err, HCMC_EINVAL,
                   "unknown backend '%s' (auto, serial, threads, multiprocessing, "
                   "pool, slurm, pbs)",
                   name);
    return NULL;
}

const hcmc_backend *hcmc_backend_find(const char *name, size_t n_shards, size_t workers,
                                      hcmc_error *err)
{
    return find(name, n_shards, workers, false, err);
}

const hcmc_backend *hcmc_backend_lookup(const char *name, size_t n_shards,
                                        size_t workers)
{
    return find(name, n_shards, workers, true, NULL);
}
