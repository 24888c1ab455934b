/* Stop requests: signal handlers (SIGINT, SIGTERM) that only set a flag,
 * which long loops (the sampler's progress callback, the backends' waits)
 * poll, so that a run ends cleanly and keeps what it finished. */
#include "hcmc/stop.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t stop_sig = 0, stop_flag = 0;

void hcmc_stop_request(int sig)
{
    if (!stop_flag)
        stop_sig = sig;
    stop_flag = 1;
}

bool hcmc_stop_requested(void)
{
    return stop_flag != 0;
}

int hcmc_stop_signal(void)
{
    return stop_sig;
}

void hcmc_stop_clear(void)
{
    stop_flag = 0;
    stop_sig = 0;
}

static void on_signal(int sig)
{
    if (sig == SIGINT && stop_flag)
        signal(SIGINT, SIG_DFL);
    hcmc_stop_request(sig);
}

int hcmc_stop_install_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* no SA_RESTART: a waiting poll() or read() returns EINTR */
    if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL))
        return -1;
    return 0;
}
