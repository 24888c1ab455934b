/* Small HDF5 helpers shared by the APS reader and writer and by the run
 * directory's files: library set-up without HDF5's own error printing,
 * existence checks that do not raise, vectors, scalars, attributes, and
 * datasets written with a checksum (Fletcher32) so that a damaged file is
 * found on read. */
#include "h5util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static int init_status;

static void init_once(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    init_status = hcmc__lzf_register();
}

int hcmc__h5_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_once);
    /* every thread has its own error stack: silence this one too */
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    return init_status;
}

int hcmc__h5_exists(hid_t file, const char *path)
{
    /* check each component: H5Lexists fails on a missing parent */
    char buf[512];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf)
        return 0;
    memcpy(buf, path, n + 1);
    for (size_t k = 1; k <= n; k++) {
        if (buf[k] != '/' && buf[k] != 0)
            continue;
        char save = buf[k];
        buf[k] = 0;
        htri_t e = H5Lexists(file, buf, H5P_DEFAULT);
        buf[k] = save;
        if (e <= 0)
            return 0;
    }
    return 1;
}

int hcmc__h5_read_vector(hid_t file, const char *path, double **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!hcmc__h5_exists(file, path))
        return -1;
    hid_t ds = H5Dopen2(file, path, H5P_DEFAULT);
    if (ds < 0)
        return -1;
    hid_t sp = H5Dget_space(ds);
    int rank = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    hsize_t dims[2] = {1, 1};
    int rc = -1;
    if (rank >= 0 && rank <= 2 && H5Sget_simple_extent_dims(sp, dims, NULL) >= 0) {
        size_t count = rank == 0 ? 1 : rank == 1 ? dims[0] : dims[0] * dims[1];
        int vector_like = rank < 2 || dims[0] == 1 || dims[1] == 1;
        hid_t t = H5Dget_type(ds);
        int numeric =
            t >= 0 && (H5Tget_class(t) == H5T_FLOAT || H5Tget_class(t) == H5T_INTEGER);
        if (t >= 0)
            H5Tclose(t);
        if (vector_like && numeric && count > 0 && count < ((size_t)1 << 31)) {
            double *v = malloc(count * sizeof(double));
            if (v &&
                H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0) {
                *out = v;
                *n = count;
                rc = 0;
            } else {
                free(v);
            }
        }
    }
    if (sp >= 0)
        H5Sclose(sp);
    H5Dclose(ds);
    return rc;
}

int hcmc__h5_read_scalar(hid_t file, const char *path, double *out)
{
    double *v;
    size_t n;
    if (hcmc__h5_read_vector(file, path, &v, &n))
        return -1;
    int rc = n == 1 ? 0 : -1;
    if (!rc)
        *out = v[0];
    free(v);
    return rc;
}

int hcmc__h5_write(hid_t loc, const char *path, hid_t type, int rank,
                   const hsize_t *dims, const void *data, hid_t mem)
{
    hid_t sp = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t ds = H5Dcreate2(loc, path, type, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int rc =
        ds >= 0 && H5Dwrite(ds, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0 ? 0 : -1;
    if (ds >= 0)
        H5Dclose(ds);
    H5Sclose(sp);
    return rc;
}

int hcmc__h5_write_checked(hid_t loc, const char *path, hid_t type, int rank,
                           const hsize_t *dims, const void *data, hid_t mem)
{
    /* chunks of about a million elements: small enough to checksum each
     * (Fletcher-32 chunks are limited to 4 GiB), large enough to be cheap */
    hsize_t chunk[8], rest = 1;
    if (rank < 1 || rank > 8)
        return hcmc__h5_write(loc, path, type, rank, dims, data, mem);
    for (int k = 0; k < rank; k++) {
        if (!dims[k]) /* nothing to check; chunks cannot be empty */
            return hcmc__h5_write(loc, path, type, rank, dims, data, mem);
        chunk[k] = dims[k];
        rest *= k ? dims[k] : 1;
    }
    hsize_t rows = ((hsize_t)1 << 20) / rest;
    chunk[0] = rows < 1 ? 1 : rows < dims[0] ? rows : dims[0];
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    int rc = -1;
    if (sp >= 0 && dcpl >= 0 && H5Pset_chunk(dcpl, rank, chunk) >= 0 &&
        H5Pset_fletcher32(dcpl) >= 0) {
        hid_t ds = H5Dcreate2(loc, path, type, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        if (ds >= 0) {
            rc = H5Dwrite(ds, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0 ? 0 : -1;
            H5Dclose(ds);
        }
    }
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (sp >= 0)
        H5Sclose(sp);
    return rc;
}

int hcmc__h5_attr_write(hid_t loc, const char *name, hid_t type, hid_t mem, const void *v)
{
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(loc, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
    int rc = a >= 0 && H5Awrite(a, mem, v) >= 0 ? 0 : -1;
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sp);
    return rc;
}

int hcmc__h5_attr_read(hid_t loc, const char *name, hid_t mem, void *v)
{
    if (H5Aexists(loc, name) <= 0)
        return -1;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    int rc = a >= 0 && H5Aread(a, mem, v) >= 0 ? 0 : -1;
    if (a >= 0)
        H5Aclose(a);
    return rc;
}

long long hcmc__h5_size(hid_t loc, const char *path)
{
    if (H5Lexists(loc, path, H5P_DEFAULT) <= 0)
        return -1;
    hid_t ds = H5Dopen2(loc, path, H5P_DEFAULT);
    hid_t sp = ds >= 0 ? H5Dget_space(ds) : -1;
    hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    if (sp >= 0)
        H5Sclose(sp);
    if (ds >= 0)
        H5Dclose(ds);
    return (long long)n;
}

int hcmc__h5_attr_string(hid_t loc, const char *name, const char *s)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, strlen(s) + 1);
    int rc = hcmc__h5_attr_write(loc, name, t, t, s);
    H5Tclose(t);
    return rc;
}
