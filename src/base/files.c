/* Files of a run directory: every write goes to a temporary beside its
 * final name, is flushed to disk, renamed, and the directory flushed too,
 * so that a reader sees the old file or the whole new one, also after a
 * crash; and the directories themselves. */
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
    /* the rename itself durable: the directory's entry */
    char *copy = strdup(path);
    int dfd = copy ? open(dirname(copy), O_RDONLY | O_DIRECTORY) : -1;
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    free(copy);
    return HCMC_OK;
}

int hcmc__write_text(const char *path, const char *text, int mode, hcmc_error *err)
{
    char tmp[HCMC_PATH_MAX + 32];
    if (hcmc__tmp_name(tmp, sizeof tmp, path))
        return hcmc_error_set(err, HCMC_EINVAL, "%s: path too long", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return hcmc_error_set(err, HCMC_EIO, "%s: cannot write (%s)", tmp,
                              strerror(errno));
    int bad = fputs(text, f) < 0;
    bad = fclose(f) != 0 || bad; /* closed once, whatever happened */
    if (bad || (mode && chmod(tmp, (mode_t)mode))) {
        remove(tmp);
        return hcmc_error_set(err, HCMC_EIO, "%s: cannot write (disk full?)", tmp);
    }
    return hcmc__commit(tmp, path, err);
}

int hcmc__make_dir(const char *path, hcmc_error *err)
{
    if (mkdir(path, 0755) && errno != EEXIST)
        return hcmc_error_set(err, HCMC_EIO, "%s: cannot create the directory: %s",
                              path, strerror(errno));
    return HCMC_OK;
}
