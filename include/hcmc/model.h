/* The homodyne model on the frame grid (MODEL.md section 2).
 *
 * Rates J_k = max(D0 t_k^alpha + D_offset, 1e-10) and G_k (same with the
 * shear parameters) are integrated by the cumulative trapezoid; a point
 * (i < j) sees the integrals CJ_j - CJ_i and CG_j - CG_i. t_0 is replaced by
 * dt/2 in the rates so that negative exponents stay finite.
 *
 * The scalar functions here are the reference implementation, used for
 * synthetic data and by the tests; the log-density target (target.h) runs a
 * vectorised kernel that must agree with them. */
#ifndef HCMC_MODEL_H
#define HCMC_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#include "hcmc/export.h"
#include "hcmc/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hcmc_mode { HCMC_MODE_STATIC = 0, HCMC_MODE_LAMINAR = 1 } hcmc_mode;

/* physical: g_S = sinc^2(X/2), one point per independent measurement.
 * homodyne: g_S = sinc^4(X/(2 pi)) with the unnormalised sinc and both
 * triangles of the symmetric matrix counted (likelihood weight 2), which
 * reproduces homodyne v2.23 for comparison. */
typedef enum hcmc_convention {
    HCMC_CONVENTION_PHYSICAL = 0,
    HCMC_CONVENTION_HOMODYNE = 1
} hcmc_convention;

/* Physical parameters, in sampling order. Static uses the first three. */
enum {
    HCMC_P_D0 = 0,
    HCMC_P_ALPHA,
    HCMC_P_D_OFFSET,
    HCMC_P_GAMMA_DOT_T0,
    HCMC_P_BETA,
    HCMC_P_GAMMA_DOT_T_OFFSET,
    HCMC_P_PHI0,
    HCMC_NPHYS_MAX
};

/* Smallest rate kept, so that integrals stay positive. */
#define HCMC_RATE_FLOOR 1e-10
/* Largest frame count: frame indices are stored as uint16. */
#define HCMC_MAX_FRAMES 65535

/* Geometry and settings of one experiment. Caller-owned value type. */
/* Mirrored by python/hcmc (ctypes): change both together. */
typedef struct hcmc_model {
    hcmc_mode mode;
    hcmc_convention convention;
    double q;   /* wavevector, 1/Angstrom, > 0 */
    double L;   /* stator-rotor gap, Angstrom, > 0 */
    double dt;  /* frame step, s, > 0 */
    size_t n_t; /* kept frames, 2 .. HCMC_MAX_FRAMES */
} hcmc_model;

HCMC_API size_t hcmc_mode_nphys(hcmc_mode mode);
HCMC_API const char *hcmc_mode_name(hcmc_mode mode);
/* Accepts static, static_isotropic, static_anisotropic, laminar_flow. */
HCMC_API int hcmc_mode_parse(const char *s, hcmc_mode *out, hcmc_error *err);
HCMC_API const char *hcmc_convention_name(hcmc_convention c);
HCMC_API int hcmc_convention_parse(const char *s, hcmc_convention *out,
                                   hcmc_error *err);

/* Canonical name of physical parameter k ("D0", ..., "phi0"). */
HCMC_API const char *hcmc_phys_name(int k);
/* Index of a name or alias (gamma_dot_0, gamma_dot_offset, phi_0), or -1. */
HCMC_API int hcmc_phys_index(const char *name);

/* Checks q, L, dt and n_t; the message names the value at fault. */
HCMC_API int hcmc_model_check(const hcmc_model *m, hcmc_error *err);

/* Cumulative integrals CJ[k] (and CG[k] for laminar_flow; CG may be NULL
 * for static) on the grid, for physical parameters phys[nphys]. CJ and CG
 * are caller-sized to m->n_t. */
HCMC_API void hcmc_model_integrals(const hcmc_model *m, const double *phys, double *CJ,
                                   double *CG);

/* Shear factor g_S(X) of the convention (1 for static). */
HCMC_API double hcmc_model_shear_factor(hcmc_convention c, double X);

/* c2 for angle phi_deg at frames (i, j), from integrals made by
 * hcmc_model_integrals with the same phys. i == j gives offset+contrast. */
HCMC_API double hcmc_model_c2(const hcmc_model *m, const double *phys, const double *CJ,
                              const double *CG, double phi_deg, size_t i, size_t j,
                              double contrast, double offset);

/* Angle normalised into (-180, 180]. */
HCMC_API double hcmc_angle_normalize(double deg);

/* The mirror symmetry of phi0 an angle set leaves. The model sees phi0 only
 * through |cos(phi0 - phi_a)| (g_S is even in X), which phi0 -> 2 s - phi0
 * keeps for angle phi_a when s = phi_a (mod 90). So when every angle lies on
 * s or s + 90 (mod 180; within 1e-6 degrees), the likelihood is exactly
 * unchanged by phi0 -> 2 s - phi0 + 180 k for any integer k, and a
 * posterior away from s has a mirror mode. Returns true and s in [0, 90);
 * false for other angle sets (and n = 0). */
HCMC_API bool hcmc_angles_mirror_axis(const double *phi, size_t n, double *s);

/* The image 2 s - phi0 + 180 k of phi0 within [lo, hi] nearest to phi0, or
 * NaN when there is none (other than phi0 itself). */
HCMC_API double hcmc_phi0_mirror(double phi0, double s, double lo, double hi);

#ifdef __cplusplus
}
#endif
#endif
