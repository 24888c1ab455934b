/* The LZF filter of HDF5 (filter id 32000, as h5py registers it), backed by
 * liblzf and registered inside hcmc so that APS files open without a
 * plugin path. Chunks are plain LZF streams; cd_values[2], when set, is the
 * chunk's uncompressed size. A chunk that does not shrink is stored as it
 * is (the filter is optional). Decompression grows its buffer up to a cap,
 * so a corrupt chunk fails with an error instead of exhausting memory. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include <hdf5.h>
#include <liblzf/lzf.h>

#include "h5util.h"

#define LZF_FILTER_ID 32000
#define LZF_MAX_CHUNK ((size_t)1 << 30)

static size_t lzf_filter(unsigned flags, size_t cd_nelmts, const unsigned cd_values[],
                         size_t nbytes, size_t *buf_size, void **buf)
{
    void *out = NULL;
    size_t out_size, status = 0;
    if (!(flags & H5Z_FLAG_REVERSE)) {
        out_size = nbytes;
        if (!(out = malloc(out_size)))
            return 0;
        status = lzf_compress(*buf, (unsigned)nbytes, out, (unsigned)out_size);
    } else {
        out_size = cd_nelmts >= 3 && cd_values[2] ? cd_values[2] : *buf_size;
        if (out_size == 0)
            out_size = nbytes;
        while (!status && out_size <= LZF_MAX_CHUNK) {
            free(out);
            if (!(out = malloc(out_size)))
                return 0;
            errno = 0;
            status = lzf_decompress(*buf, (unsigned)nbytes, out, (unsigned)out_size);
            if (!status && errno != E2BIG)
                break; /* corrupt stream */
            if (!status)
                out_size *= 2;
        }
    }
    if (!status) {
        free(out);
        return 0;
    }
    free(*buf);
    *buf = out;
    *buf_size = out_size;
    return status;
}

static herr_t lzf_set_local(hid_t dcpl, hid_t type, hid_t space)
{
    unsigned flags;
    size_t n = 3;
    unsigned cd[3] = {0, 0, 0};
    if (H5Pget_filter_by_id2(dcpl, LZF_FILTER_ID, &flags, &n, cd, 0, NULL, NULL) < 0)
        return -1;
    hsize_t chunk[32];
    int ndims = H5Pget_chunk(dcpl, 32, chunk);
    if (ndims < 0)
        return -1;
    size_t bytes = H5Tget_size(type);
    for (int k = 0; k < ndims; k++)
        bytes *= chunk[k];
    (void)space;
    cd[0] = 4;      /* filter revision, as h5py writes it */
    cd[1] = 0x0105; /* LZF API version */
    cd[2] = (unsigned)bytes;
    return H5Pmodify_filter(dcpl, LZF_FILTER_ID, flags, 3, cd);
}

static herr_t status_of_registration;

static void register_once(void)
{
    static const H5Z_class2_t cls = {
        H5Z_CLASS_T_VERS, (H5Z_filter_t)LZF_FILTER_ID, 1, 1, "lzf", NULL,
        lzf_set_local,    (H5Z_func_t)lzf_filter};
    status_of_registration = H5Zregister(&cls);
}

int hcmc__lzf_register(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_once);
    return status_of_registration < 0 ? -1 : 0;
}

int hcmc__lzf_filter_id(void)
{
    return LZF_FILTER_ID;
}
