/* libFuzzer target: the configuration reader on arbitrary bytes must return
 * 0 or an error, never crash, leak or read out of bounds. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "hcmc/config.h"
#include "hcmc/log.h"

static void quiet(hcmc_log_level level, const char *line, void *user)
{
    (void)level;
    (void)line;
    (void)user;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static hcmc_config c; /* large: keep it off the stack */
    hcmc_error err;
    hcmc_log_set_sink(quiet, NULL);
    hcmc_config_parse((const char *)data, size, "fuzz.yaml", &c, &err);
    hcmc_config_release(&c);
    return 0;
}
