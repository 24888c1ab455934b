/* The hcmc_run_result that hcmc_run and hcmc_combine_dir return and that
 * summary.json is read back into. */
#include <stdlib.h>

#include "store.h"

void hcmc_run_result_free(hcmc_run_result *r)
{
    if (!r)
        return;
    free(r->names);
    free(r->theta);
    free(r->summary);
    free(r->shards);
    free(r->phi);
    free(r->mode_summary);
    free(r->mode_of);
    free(r);
}
