/* A run directory: made with its plan and configuration (hcmc_plan_create
 * and the batch and mpi runs), and the overrides a run recorded in it read
 * back (hcmc combine). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "../base/files.h"
#include "../config/config_internal.h"
#include "run_internal.h"

int hcmc__run_dir_init(const hcmc_config *c, const char *dir, const hcmc__prepared *P,
                       hcmc_error *err)
{
    char path[HCMC_PATH_MAX + 32];
    int rc;
    snprintf(path, sizeof path, "%s/shards", dir);
    if ((rc = hcmc__make_dir(dir, err)) || (rc = hcmc__make_dir(path, err)))
        return rc;
    snprintf(path, sizeof path, "%s/plan.h5", dir);
    if ((rc = hcmc__plan_write(path, c, P, err)))
        return rc;
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    return hcmc__write_text(path, c->text, 0, err);
}

int hcmc_plan_create(const hcmc_config *c, const char *dir, size_t *n_shards,
                     hcmc_error *err)
{
    hcmc__prepared P;
    int rc = hcmc__prepare(c, &P, err);
    if (!rc)
        rc = hcmc__run_dir_init(c, dir, &P, err);
    if (!rc && n_shards)
        *n_shards = P.plan->n_shards;
    hcmc__prepared_release(&P);
    return rc;
}

int hcmc_run_dir_apply_overrides(hcmc_config *c, const char *dir, hcmc_error *err)
{
    char path[HCMC_PATH_MAX + 32];
    int rc = HCMC_OK;
    snprintf(path, sizeof path, "%s/summary.json", dir);
    if (access(path, F_OK) != 0) {
        /* not combined yet: a plan's workers ran (hcmc plan, hcmc worker) */
        snprintf(path, sizeof path, "%s/plan.h5", dir);
        if (access(path, F_OK) != 0)
            return HCMC_OK;
        char *ov = hcmc__plan_overrides(path, err);
        if (!ov)
            return err ? err->code : HCMC_EFORMAT;
        rc = hcmc__overrides_apply(c, ov, true, err);
        free(ov);
        return rc;
    }
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root)
        return hcmc_error_set(err, HCMC_EFORMAT, "%s: line %d: %s", path, je.line,
                              je.text);
    json_t *ov = json_object_get(json_object_get(root, "run"), "overrides");
    size_t i;
    json_t *v;
    json_array_foreach(ov, i, v)
    {
        if ((rc = hcmc__override_apply(c, json_string_value(v), true, err)))
            break;
    }
    json_decref(root);
    return rc;
}
