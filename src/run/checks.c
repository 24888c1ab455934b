/* Checks of the data against the bounds, before sampling (prepare.c).
 *
 * The decay rate is read off the data: per angle, the mean c2 at each lag
 * l = j - i and from it the rate k per frame (angle_decay). In the model
 * c2 - offset = contrast g_D g_S with g_D = exp(-q^2 int D dt) (MODEL.md
 * 2), so a stationary D decays at k = q^2 D dt per frame and halves c2 in
 * tau = ln 2 / (q^2 D). Shear only adds decay, so the smallest estimate
 * over the angles is the one compared with the bounds. The fastest
 * stationary decay the bounds allow is that of D0 + D_offset at their upper
 * bounds with alpha = 0: a decay well beyond it (3 times) can be fitted
 * only by an exponent far from 0 over part of the window, which is not a
 * stationary decay. When the warm start also ends at D0's upper bound, the
 * run stops there with a message that names the bound and the figure the
 * data want, instead of a sampler failing later on a flat direction. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcmc/log.h"
#include "hcmc/model.h"
#include "../cmc/cmc_internal.h"
#include "run_internal.h"

#define FAST_FACTOR 3.0 /* data's D above this times the bounds' largest */

typedef struct {
    bool found;    /* an angle's decay was measured */
    size_t flat;   /* angles with no decay measured above the noise */
    double d, tau; /* the smallest D estimate, its half-decay time (s) */
    double frames; /* that time in frames */
    double phi;    /* at that angle */
} decay_estimate;

/* Mean of c2 and its count over the lags [l0, l1) of the sums. */
static double window(const double *sum, const size_t *cnt, size_t l0, size_t l1,
                     size_t *n)
{
    double s = 0;
    *n = 0;
    for (size_t l = l0; l < l1; l++)
        s += sum[l], *n += cnt[l];
    return *n ? s / (double)*n : NAN;
}

/* The decay rate of angle a per frame: 0 and *k, or -1 when it shows none
 * above the noise. Two ways, the first that applies:
 * - three windows of lags equally spaced by D over the window: for
 *   b + A exp(-k l) the differences of their means have the ratio exp(k D)
 *   whatever the baseline b, so a decay that is far from complete in the
 *   window is measured too;
 * - where the decay is complete early (the last two windows equal within
 *   the noise), the lag where c2 has fallen halfway from lag 1 to the
 *   baseline of the last quarter: ln 2 over it. */
static int angle_decay(const hcmc_points *p, size_t a, double noise, double *sum,
                       size_t *cnt, double *k)
{
    size_t L = p->n_t - 1;
    memset(sum, 0, (L + 1) * sizeof *sum);
    memset(cnt, 0, (L + 1) * sizeof *cnt);
    for (size_t n = p->angle_start[a]; n < p->angle_start[a + 1]; n++) {
        size_t l = (size_t)(p->j[n] - p->i[n]);
        sum[l] += p->y[n];
        cnt[l]++;
    }
    if (L < 12)
        return -1;
    size_t w = L / 10 > 1 ? L / 10 : 1, D = (L + 1 - w - 1) / 2, n1, n2, n3;
    double m1 = window(sum, cnt, 1, 1 + w, &n1),
           m2 = window(sum, cnt, 1 + D, 1 + D + w, &n2),
           m3 = window(sum, cnt, 1 + 2 * D, 1 + 2 * D + w, &n3);
    if (!n1 || !n2 || !n3)
        return -1;
    double s12 = 5 * noise * (1 / sqrt((double)n1) + 1 / sqrt((double)n2)),
           s23 = 5 * noise * (1 / sqrt((double)n2) + 1 / sqrt((double)n3));
    if (!(m1 - m2 > s12)) /* no decay seen */
        return -1;
    if (m2 - m3 > s23) {
        *k = log((m1 - m2) / (m2 - m3)) / (double)D;
        return *k > 0 ? 0 : -1;
    }
    size_t bn;
    double base = window(sum, cnt, (3 * L) / 4, L + 1, &bn);
    if (!bn || !cnt[1])
        return -1;
    double top = sum[1] / (double)cnt[1] - base, prev = top;
    for (size_t l = 2; l <= L; l++) {
        if (!cnt[l])
            continue;
        double v = sum[l] / (double)cnt[l] - base;
        if (v <= top / 2) {
            *k = log(2.0) / ((double)(l - 1) + (prev - top / 2) / (prev - v));
            return 0;
        }
        prev = v;
    }
    return -1;
}

static void estimate(const hcmc_points *p, double dt, double q, decay_estimate *e)
{
    memset(e, 0, sizeof *e);
    hcmc_error ignored;
    double noise = 0;
    double *sum = malloc(p->n_t * sizeof *sum);
    size_t *cnt = malloc(p->n_t * sizeof *cnt);
    if (!sum || !cnt || p->n_t < 2 || hcmc_points_noise_scale(p, &noise, &ignored)) {
        free(sum), free(cnt);
        return;
    }
    for (size_t a = 0; a < p->n_phi; a++) {
        double k = 0;
        int rc = angle_decay(p, a, noise, sum, cnt, &k);
        e->flat += rc != 0;
        if (rc || !(k > 0))
            continue;
        double d = k / (q * q * dt);
        if (!e->found || d < e->d) {
            e->found = true;
            e->d = d, e->frames = log(2.0) / k, e->tau = e->frames * dt;
            e->phi = p->phi[a];
        }
    }
    free(sum), free(cnt);
}

/* The largest stationary D the bounds (or fixed values) allow. */
static double d_largest(const hcmc_target_spec *s)
{
    const int D0 = HCMC_P_D0, OFF = HCMC_P_D_OFFSET;
    double d0 = s->phys_fixed[D0] ? s->phys_fixed_value[D0] : s->phys[D0].hi;
    double off = s->phys_fixed[OFF] ? s->phys_fixed_value[OFF] : s->phys[OFF].hi;
    return d0 + (off > 0 ? off : 0);
}

/* Writes into buf what the data want, when it is beyond the bounds. */
static bool too_fast(const hcmc_target_spec *s, const decay_estimate *e, char *buf,
                     size_t cap)
{
    double hi = d_largest(s);
    if (!e->found || !(e->d > FAST_FACTOR * hi))
        return false;
    snprintf(
        buf, cap,
        "c2 decays with a half-time tau of %.3g s (%.1f frames of dt = %g s, at phi "
        "= %.1f deg), which needs D of about ln 2 / (q^2 tau) = %.3g A^2/s with q = "
        "%g 1/A; the bounds allow at most %.3g (D0 + D_offset at alpha = 0): "
        "raise the upper bound of D0 (parameter_space.bounds) to about %.2g, or "
        "check dt (analyzer_parameters.dt) and q (wavevector_q)",
        e->tau, e->frames, s->model.dt, e->phi, e->d, s->model.q, hi, 3 * e->d);
    return true;
}

/* The warm start's value of physical parameter phys and its bounds; NaN
 * when it is not sampled (or memory runs out). */
static double warm_value(const hcmc_problem *prob, int phys, double *lo, double *hi)
{
    const hcmc_target *t = hcmc_problem_target(prob);
    int k = hcmc_target_phys_slot(t, phys);
    double *theta = k >= 0 ? malloc(hcmc_target_dim(t) * sizeof *theta) : NULL;
    *lo = *hi = NAN;
    if (!theta)
        return NAN;
    const double *cov0;
    hcmc_target_constrain(t, hcmc__problem_start(prob, &cov0), theta);
    hcmc_target_bounds(t, (size_t)k, lo, hi);
    double v = theta[k];
    free(theta);
    return v;
}

int hcmc__check_decay(const hcmc_target_spec *s, const hcmc_points *pts,
                      const hcmc_problem *prob, int rc, hcmc_error *err)
{
    decay_estimate e;
    estimate(pts, s->model.dt, s->model.q, &e);
    char want[600];
    bool fast = too_fast(s, &e, want, sizeof want);
    if (e.found)
        hcmc_log(HCMC_LOG_DEBUG,
                 "decay of c2: half-time %.3g s at phi = %.1f deg, D about %.3g A^2/s "
                 "(the bounds allow %.3g at alpha = 0); %zu of %zu angles without a "
                 "measured decay",
                 e.tau, e.phi, e.d, d_largest(s), e.flat, pts->n_phi);
    if (e.flat == pts->n_phi)
        hcmc_log(HCMC_LOG_WARN,
                 "no angle shows a decay of c2 above the noise between lag dt = %g s "
                 "and the end of the window: the data decay within the first frame "
                 "(a D far above the bounds, or dt far too long) or are not "
                 "correlated",
                 s->model.dt);
    if (rc) { /* the warm start failed: the decay may say why */
        if (fast) {
            char msg[HCMC_ERROR_MSG_MAX];
            snprintf(msg, sizeof msg, "%s", err->msg);
            hcmc_error_set(err, rc, "%s; %s", msg, want);
        }
        return rc;
    }
    if (!fast)
        return 0;
    /* where the warm start ended: at D0's upper bound confirms it */
    if (s->phys_fixed[HCMC_P_D0])
        return hcmc_error_set(
            err, HCMC_EINVAL,
            "D0 is fixed at %.6g (initial_parameters.fixed_parameters), "
            "but %s",
            s->phys_fixed_value[HCMC_P_D0], want);
    double lo, hi, d0 = warm_value(prob, HCMC_P_D0, &lo, &hi);
    if (hi - d0 < 1e-3 * (hi - lo))
        return hcmc_error_set(err, HCMC_EINVAL,
                              "D0 = %.6g is at its upper bound %.6g: %s", d0, hi, want);
    hcmc_log(HCMC_LOG_WARN, "D0 = %.6g from the fit, but %s", d0, want);
    return 0;
}

void hcmc__check_mirror(const hcmc_points *pts, const hcmc_problem *prob)
{
    double s, lo, hi;
    if (!hcmc_angles_mirror_axis(pts->phi, pts->n_phi, &s))
        return;
    double phi0 = warm_value(prob, HCMC_P_PHI0, &lo, &hi);
    double m = hcmc_phi0_mirror(phi0, s, lo, hi);
    if (isnan(m) || fabs(m - phi0) < 1e-3 * (hi - lo))
        return;
    hcmc_log(HCMC_LOG_WARN,
             "phi0 = %.4g from the fit, but these angles cannot tell it from its "
             "mirror image %.4g (the model sees |cos(phi0 - phi)| only, and every "
             "angle lies on %g or %g deg): the posterior has two modes of the same "
             "likelihood and the chains start in one; add an angle that is not a "
             "multiple of 90 deg away from the others, or bound phi0 to one side of %g",
             phi0, m, s, s + 90, s);
}
