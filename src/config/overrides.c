/* Overrides a run recorded ("key=value", from the command line's --set and
 * friends) applied to a configuration again: by hcmc worker and hcmc
 * combine, which rebuild a run's configuration from its files. */
#include <stdio.h>
#include <string.h>

#include "config_internal.h"

int hcmc__override_apply(hcmc_config *c, const char *s, bool problem_only,
                         hcmc_error *err)
{
    const char *eq = s ? strchr(s, '=') : NULL;
    if (!eq || (problem_only && (!strncmp(s, "output.", 7) ||
                                 !strncmp(s, "optimization.cmc.combination.", 29))))
        return HCMC_OK;
    char key[200];
    snprintf(key, sizeof key, "%.*s", (int)(eq - s), s);
    return hcmc_config_set(c, key, eq + 1, err);
}

int hcmc__overrides_apply(hcmc_config *c, char *lines, bool problem_only,
                          hcmc_error *err)
{
    int rc = HCMC_OK;
    for (char *line = lines, *next; *line && !rc; line = next) {
        next = strchr(line, '\n');
        next = next ? (*next = 0, next + 1) : line + strlen(line);
        rc = hcmc__override_apply(c, line, problem_only, err);
    }
    return rc;
}
