/* Internal: atomic file writes (DESIGN.md: write a temporary in the same
 * directory, fsync, rename). */
#ifndef HCMC_BASE_ATOMIC_H
#define HCMC_BASE_ATOMIC_H

#include <stddef.h>

#include "hcmc/status.h"

/* The temporary beside path: "path.tmp.PID". Returns -1 if it does not fit
 * in cap. */
int hcmc__tmp_name(char *buf, size_t cap, const char *path);
/* fsync tmp and rename it to path; on failure tmp is removed and err says
 * why. */
int hcmc__commit(const char *tmp, const char *path, hcmc_error *err);

#endif
