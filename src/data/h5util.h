/* Internal HDF5 helpers of the data layer. All return 0 or -1 and leave
 * messages to the caller, which knows the file and dataset names. */
#ifndef HCMC_H5UTIL_H
#define HCMC_H5UTIL_H

#include <stddef.h>

#include <hdf5.h>

/* Silences HDF5's own error printing and registers the LZF filter, once. */
int hcmc__h5_init(void);
int hcmc__lzf_register(void);
int hcmc__lzf_filter_id(void);

/* Whether path (absolute, may be nested) names an existing link. */
int hcmc__h5_exists(hid_t file, const char *path);
/* A numeric dataset read as doubles: shape (n), (1, n) or (n, 1), or a
 * scalar () / (1) / (1, 1) when *n is 1 on return. *out is malloc'ed. */
int hcmc__h5_read_vector(hid_t file, const char *path, double **out, size_t *n);
/* A scalar as (), (1) or (1, 1); -1 if missing or larger. */
int hcmc__h5_read_scalar(hid_t file, const char *path, double *out);

/* Writes a new dataset path (rank, dims) of file type `type` from memory
 * of type `mem`, or a scalar when rank is 0. */
int hcmc__h5_write(hid_t loc, const char *path, hid_t type, int rank,
                   const hsize_t *dims, const void *data, hid_t mem);
/* The same, stored in chunks with a Fletcher-32 checksum each: a read of
 * damaged bytes fails instead of returning them. */
int hcmc__h5_write_checked(hid_t loc, const char *path, hid_t type, int rank,
                           const hsize_t *dims, const void *data, hid_t mem);
/* A scalar attribute of file type `type` from *v of memory type `mem`. */
int hcmc__h5_attr_write(hid_t loc, const char *name, hid_t type, hid_t mem, const void *v);
/* A scalar attribute read into *v as memory type mem; -1 when it is
 * missing or cannot be read so. */
int hcmc__h5_attr_read(hid_t loc, const char *name, hid_t mem, void *v);
/* The number of elements of dataset path; -1 when there is none. */
long long hcmc__h5_size(hid_t loc, const char *path);
/* A scalar attribute holding the string s. */
int hcmc__h5_attr_string(hid_t loc, const char *name, const char *s);

#endif
