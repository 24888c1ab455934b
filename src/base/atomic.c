#include "atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int hcmc__tmp_name(char *buf, size_t cap, const char *path)
{
    int n = snprintf(buf, cap, "%s.tmp.%ld", path, (long)getpid());
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int hcmc__commit(const char *tmp, const char *path, hcmc_error *err)
{
    int fd = open(tmp, O_RDONLY); /* durable before it becomes visible */
    int bad = fd < 0 || fsync(fd) != 0;
    if (fd >= 0)
        close(fd);
    if (bad || rename(tmp, path)) {
        int e = errno;
        remove(tmp);
        return hcmc_error_set(err, HCMC_EIO, "%s: cannot write (%s)", path,
                              strerror(e));
    }
    return HCMC_OK;
}
