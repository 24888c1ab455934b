/* Internal: the per-angle likelihood kernel and its ISA variants.
 *
 * One call handles the points of one angle, whose constants (contrast,
 * offset, shear projection A) are scalars. The kernel reads per point two
 * frame indices and y, and from the per-evaluation row tables the 4-vectors
 * rowJ[k] = (CJ_k, dCJ_k/dD0, dCJ_k/dalpha, dCJ_k/dD_offset), likewise rowG
 * for the shear rate. The difference of two rows gives a point's integral
 * and its parameter derivatives together. Where it pays, exp, sin and cos
 * are evaluated per frame rather than per point (see ef and use_trig
 * below). static reads the rows per point; laminar_flow reads per point a
 * record of each of its two frames, and collects its gradient's weights
 * by frame, multiplying them into the rows once per angle. It returns sums
 * from which target.c forms the log likelihood and its gradient. Where
 * every angle has the same pairs, laminar_flow's grid kernel (hcmc__grid)
 * does the same for all angles at once, lanes for angles. Kernels never
 * allocate. */
#ifndef HCMC_KERNEL_H
#define HCMC_KERNEL_H

#include <stddef.h>
#include <stdint.h>

/* The most lanes a variant fills at a time (AVX-512: 8 doubles). */
#define HCMC__KERNEL_WMAX 8
/* Doubles in a frame's record, and the pairs of the gradient's weights
 * beside it (laminar_flow, kernel_impl.h): REC + 2 ACC_TABLES = 8 doubles
 * a frame, as the workspace's 2 REC doubles a frame. */
#define HCMC__KERNEL_REC 4
#define HCMC__KERNEL_ACC_TABLES 2

typedef struct hcmc__seg {
    size_t n;
    const uint16_t *i, *j;
    const double *y;
    const double *rowJ; /* [n_t][4], 32-byte aligned */
    const double *rowG; /* [n_t][4] for laminar_flow, else unused */
    double q2;          /* q^2 */
    double A;           /* X = A * (CG_j - CG_i) */
    double kappa;       /* sinc argument v = kappa * X */
    int homodyne;       /* g_S = s(v)^4 instead of s(v)^2 */
    double contrast, offset;
    /* exp(-q^2 (CJ_j - CJ_i)) = ef[2j] * ef[2i+1] with the per-frame table
     * ef[2k] = exp(-q^2 CJ_k), ef[2k+1] = exp(+q^2 CJ_k); NULL: exp per
     * point (used when q^2 CJ would overflow the second factor). */
    const double *ef;
    /* laminar_flow: sin and cos of v by angle addition from sin/cos of
     * kappa A CG_k per frame (n_t sincos per angle); 0: sincos per point
     * (better when the angle has fewer points than frames) */
    int use_trig;
    /* laminar_flow: a caller-sized workspace the kernel fills, 32-byte
     * aligned, 2 HCMC__KERNEL_REC n_t doubles: the frame records, with the
     * gradient's weights by frame beside them (gradient) or their entries
     * by frame after them (value only; kernel_impl.h, fill_records) */
    double *rec;
    size_t n_t;
} hcmc__seg;

typedef struct hcmc__seg_sums {
    double rr, rh, r; /* sums of r^2, r*h, r, with r = y - c2, h = g_D g_S */
    double gJ[4];     /* sum of r*h*dJ (lane 0 unused) */
    double gG[4];     /* sum of r*g_D*dg_S/dX*dG (lane 0 unused) */
    double gX;        /* sum of r*g_D*dg_S/dX*(CG_j - CG_i) */
} hcmc__seg_sums;

typedef void (*hcmc__kernel_fn)(const hcmc__seg *s, hcmc__seg_sums *out);

/* laminar_flow on a pair grid: a points table in which every angle has the
 * same pairs (i_p, j_p) in the same order (a full data set, and every shard
 * the plan deals by pairs). Lanes are angles, W at a time (the variant's
 * width): a point's two frames are one pair for all its lanes, so that the
 * records of a frame are W angles' sin and cos side by side, read by plain
 * vector loads, and the gradient's weights by frame are vectors of W angles
 * too. The kernel runs the pairs once per block of W angles and returns the
 * sums of each angle, as run_laminar gives them for that angle alone. */
typedef struct hcmc__grid {
    size_t n_pairs, n_phi, n_t;
    size_t n_blk;              /* blocks of W angles: ceil(n_phi / W) */
    const uint16_t *i, *j;     /* [n_pairs] */
    const double *y;           /* [n_blk][n_pairs][W], 32-byte aligned */
    const double *rowJ, *rowG; /* as in hcmc__seg */
    const double *ef;          /* as in hcmc__seg; required */
    /* [n_blk W] per angle lane: kappa A, contrast and offset, 0 in the
     * padding lanes of the last block (whose values y are 0 too) */
    const double *kA, *contrast, *offset;
    double kappa;
    int homodyne;
    /* workspace, 32-byte aligned, n_blk n_t 4 W doubles: per block and
     * frame (sin, cos) of kappa A CG_k by lane, then the weights (w, u) */
    double *rec;
    /* workspace, n_pairs 2 doubles: each pair's g_D and CG_j - CG_i */
    double *pairs;
} hcmc__grid;
typedef void (*hcmc__grid_fn)(const hcmc__grid *g, hcmc__seg_sums *out /* [n_phi] */);
/* Floor: the transcendentals the model needs per point and nothing else:
 * exp(-a*y*(j-i)) (static) plus sin and cos of b*y*(j-i) (laminar). */
typedef double (*hcmc__floor_fn)(size_t n, const uint16_t *i, const uint16_t *j,
                                 const double *y, double a, double b);

typedef struct hcmc__kernel {
    const char *isa;
    hcmc__kernel_fn run_static, run_laminar;
    hcmc__floor_fn floor_static, floor_laminar;
    /* value only: rr, rh and r as run_static / run_laminar give them (the
     * same operations), the gradient sums 0; for evaluations that need no
     * gradient (the importance correction) */
    hcmc__kernel_fn run_static_value, run_laminar_value;
    /* sin and cos of x[0..n) as the laminar_flow kernel evaluates them
     * (kernel_impl.h: phase_sincos), for the tests */
    void (*phase_sincos)(size_t n, const double *x, double *s, double *c);
    /* laminar_flow on a pair grid (hcmc__grid), with and without the
     * gradient sums, and the lanes of a block */
    hcmc__grid_fn run_grid, run_grid_value;
    size_t width;
    /* y[k] = exp(x[k]) for k < n with the variant's exp (y may be x) */
    void (*exp_n)(size_t n, const double *x, double *y);
} hcmc__kernel;

/* AVX2 where the CPU runs it, else generic; HCMC_KERNEL=avx512 or generic
 * forces another (for comparisons; kernel.c). */
const hcmc__kernel *hcmc__kernel_select(void);

extern const hcmc__kernel hcmc__kernel_generic;
#if defined(__x86_64__)
extern const hcmc__kernel hcmc__kernel_avx2;
extern const hcmc__kernel hcmc__kernel_avx512;
#endif

#endif
