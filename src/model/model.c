/* The homodyne model itself (MODEL.md 2): modes, conventions and parameter
 * names, the checks of a model's constants, the cumulative rate integrals
 * on the frame grid, the shear factor and c2 at one point. The reference
 * implementation, point by point: the vector kernels (kernel_*.c) must
 * agree with it, and the tests hold them to it. */
#include "hcmc/model.h"

#include <math.h>
#include <string.h>

static const char *const phys_names[HCMC_NPHYS_MAX] = {
    "D0", "alpha", "D_offset", "gamma_dot_t0", "beta", "gamma_dot_t_offset", "phi0"};

size_t hcmc_mode_nphys(hcmc_mode mode)
{
    return mode == HCMC_MODE_LAMINAR ? 7 : 3;
}

const char *hcmc_mode_name(hcmc_mode mode)
{
    return mode == HCMC_MODE_LAMINAR ? "laminar_flow" : "static";
}

int hcmc_mode_parse(const char *s, hcmc_mode *out, hcmc_error *err)
{
    if (!strcmp(s, "static") || !strcmp(s, "static_isotropic") ||
        !strcmp(s, "static_anisotropic")) {
        *out = HCMC_MODE_STATIC;
        return HCMC_OK;
    }
    if (!strcmp(s, "laminar_flow")) {
        *out = HCMC_MODE_LAMINAR;
        return HCMC_OK;
    }
    return hcmc_error_set(err, HCMC_EINVAL,
                          "analysis mode '%s' is not one of static, "
                          "static_isotropic, static_anisotropic, laminar_flow",
                          s);
}

const char *hcmc_convention_name(hcmc_convention c)
{
    return c == HCMC_CONVENTION_HOMODYNE ? "homodyne" : "physical";
}

int hcmc_convention_parse(const char *s, hcmc_convention *out, hcmc_error *err)
{
    if (!strcmp(s, "physical")) {
        *out = HCMC_CONVENTION_PHYSICAL;
        return HCMC_OK;
    }
    if (!strcmp(s, "homodyne")) {
        *out = HCMC_CONVENTION_HOMODYNE;
        return HCMC_OK;
    }
    return hcmc_error_set(err, HCMC_EINVAL,
                          "model_convention '%s' is not physical or homodyne", s);
}

const char *hcmc_phys_name(int k)
{
    return (k >= 0 && k < HCMC_NPHYS_MAX) ? phys_names[k] : "?";
}

int hcmc_phys_index(const char *name)
{
    for (int k = 0; k < HCMC_NPHYS_MAX; k++)
        if (!strcmp(name, phys_names[k]))
            return k;
    if (!strcmp(name, "gamma_dot_0"))
        return HCMC_P_GAMMA_DOT_T0;
    if (!strcmp(name, "gamma_dot_offset"))
        return HCMC_P_GAMMA_DOT_T_OFFSET;
    if (!strcmp(name, "phi_0"))
        return HCMC_P_PHI0;
    return -1;
}

int hcmc_model_check(const hcmc_model *m, hcmc_error *err)
{
    if (!(m->q > 0) || !isfinite(m->q))
        return hcmc_error_set(err, HCMC_EINVAL,
                              "wavevector q = %g must be a finite value > 0", m->q);
    if (!(m->L > 0) || !isfinite(m->L))
        return hcmc_error_set(err, HCMC_EINVAL,
                              "stator_rotor_gap L = %g must be a finite value > 0",
                              m->L);
    if (!(m->dt > 0) || !isfinite(m->dt))
        return hcmc_error_set(err, HCMC_EINVAL,
                              "frame step dt = %g must be a finite value > 0", m->dt);
    if (m->n_t < 3 || m->n_t > HCMC_MAX_FRAMES)
        return hcmc_error_set(err, HCMC_EINVAL,
                              "%zu frames kept: need 3 to %d (frame 0 is "
                              "excluded and a point needs two frames)",
                              m->n_t, HCMC_MAX_FRAMES);
    if (m->mode != HCMC_MODE_STATIC && m->mode != HCMC_MODE_LAMINAR)
        return hcmc_error_set(err, HCMC_EINVAL, "unknown analysis mode %d",
                              (int)m->mode);
    return HCMC_OK;
}

static void cumulative_rate(double dt, size_t n_t, double a, double e, double off,
                            double *C)
{
    double prev = 0.0;
    C[0] = 0.0;
    for (size_t k = 0; k < n_t; k++) {
        double t = k == 0 ? 0.5 * dt : (double)k * dt;
        double f = fmax(a * pow(t, e) + off, HCMC_RATE_FLOOR);
        if (k > 0)
            C[k] = C[k - 1] + dt * 0.5 * (prev + f);
        prev = f;
    }
}

void hcmc_model_integrals(const hcmc_model *m, const double *phys, double *CJ,
                          double *CG)
{
    cumulative_rate(m->dt, m->n_t, phys[HCMC_P_D0], phys[HCMC_P_ALPHA],
                    phys[HCMC_P_D_OFFSET], CJ);
    if (m->mode == HCMC_MODE_LAMINAR && CG)
        cumulative_rate(m->dt, m->n_t, phys[HCMC_P_GAMMA_DOT_T0], phys[HCMC_P_BETA],
                        phys[HCMC_P_GAMMA_DOT_T_OFFSET], CG);
}

/* sin(v)/v, by its series where the quotient loses accuracy. */
static double sinc_unnormalised(double v)
{
    if (fabs(v) < 1e-4) {
        double v2 = v * v;
        return 1.0 - v2 / 6.0 + v2 * v2 / 120.0;
    }
    return sin(v) / v;
}

double hcmc_model_shear_factor(hcmc_convention c, double X)
{
    if (c == HCMC_CONVENTION_HOMODYNE) {
        double s = sinc_unnormalised(X / (2.0 * M_PI));
        double s2 = s * s;
        return s2 * s2;
    }
    double s = sinc_unnormalised(0.5 * X);
    return s * s;
}

double hcmc_model_c2(const hcmc_model *m, const double *phys, const double *CJ,
                     const double *CG, double phi_deg, size_t i, size_t j,
                     double contrast, double offset)
{
    size_t lo = i < j ? i : j, hi = i < j ? j : i;
    double q = m->q;
    double g = exp(-q * q * (CJ[hi] - CJ[lo]));
    if (m->mode == HCMC_MODE_LAMINAR) {
        double ang = (phys[HCMC_P_PHI0] - phi_deg) * (M_PI / 180.0);
        double X = q * m->L * cos(ang) * (CG[hi] - CG[lo]);
        g *= hcmc_model_shear_factor(m->convention, X);
    }
    return offset + contrast * g;
}

double hcmc_angle_normalize(double deg)
{
    double a = fmod(deg, 360.0);
    if (a > 180.0)
        a -= 360.0;
    else if (a <= -180.0)
        a += 360.0;
    return a;
}

bool hcmc_angles_mirror_axis(const double *phi, size_t n, double *s)
{
    if (!n)
        return false;
    double s0 = fmod(phi[0], 90.0);
    s0 = s0 < 0 ? s0 + 90.0 : s0;
    for (size_t a = 0; a < n; a++) {
        double r = fmod(phi[a] - s0, 90.0);
        r = r < 0 ? r + 90.0 : r;
        if (r > 1e-6 && r < 90.0 - 1e-6)
            return false;
    }
    *s = s0 >= 90.0 - 1e-6 ? 0.0 : s0;
    return true;
}

double hcmc_phi0_mirror(double phi0, double s, double lo, double hi)
{
    double best = NAN, base = 2 * s - phi0;
    /* k so that the image is near phi0, then the neighbours */
    double k0 = floor((phi0 - base) / 180.0 + 0.5);
    for (int dk = -2; dk <= 2; dk++) {
        double m = base + 180.0 * (k0 + dk);
        if (m < lo || m > hi || fabs(m - phi0) < 1e-12)
            continue;
        if (isnan(best) || fabs(m - phi0) < fabs(best - phi0))
            best = m;
    }
    return best;
}
