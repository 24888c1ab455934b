/* Internal: atomic file writes (DESIGN.md: write a temporary in the same
 * directory, fsync, rename, fsync the directory) and directories. */
#ifndef HCMC_BASE_FILES_H
#define HCMC_BASE_FILES_H

#include <stddef.h>

#include "hcmc/status.h"

/* The temporary beside path: "path.tmp.PID". Returns -1 if it does not fit
 * in cap. */
int hcmc__tmp_name(char *buf, size_t cap, const char *path);
/* fsync tmp, rename it to path and fsync path's directory; on failure tmp
 * is removed and err says why. */
int hcmc__commit(const char *tmp, const char *path, hcmc_error *err);
/* Writes text to path atomically (through a temporary and hcmc__commit);
 * mode: the file's permissions, 0 for the default. */
int hcmc__write_text(const char *path, const char *text, int mode, hcmc_error *err);
/* mkdir path (0755); an existing directory is fine. */
int hcmc__make_dir(const char *path, hcmc_error *err);

#endif
