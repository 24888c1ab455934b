/* Kernel template, included by one file per ISA after it defines
 * KERNEL_NAME, VEXP(v) and VSINCOS(v, s, c) for W-lane double vectors
 * (KERNEL_WIDTH, 4 unless defined: 8 for AVX-512). Points go W at a time;
 * the per-frame rows (kernel.h) stay 4-vectors whatever W is. See kernel.h
 * for what the kernel computes. */
#include <string.h>

#include "kernel.h"

#ifndef KERNEL_WIDTH
#define KERNEL_WIDTH 4
#endif
#define W KERNEL_WIDTH
_Static_assert(W <= HCMC__KERNEL_WMAX, "the trig workspace is sized for HCMC__KERNEL_WMAX lanes");
typedef double vd __attribute__((vector_size(8 * W)));
typedef long long vl __attribute__((vector_size(8 * W)));
typedef double row4 __attribute__((vector_size(32))); /* a frame's row */

static inline vd vsplat(double x)
{
    vd v;
    for (int l = 0; l < W; l++)
        v[l] = x;
    return v;
}
static inline row4 rsplat(double x)
{
    return (row4){x, x, x, x};
}
static inline vd vsel(vl m, vd a, vd b)
{
    return (vd)((m & (vl)a) | (~m & (vl)b));
}
/* pairwise: (v0 + v1) + (v2 + v3), then the halves of 8 lanes */
static inline double vsum(vd v)
{
    double s = (v[0] + v[1]) + (v[2] + v[3]);
#if KERNEL_WIDTH == 8
    s += (v[4] + v[5]) + (v[6] + v[7]);
#endif
    return s;
}
static inline vd vabs(vd v)
{
    vl m;
    for (int l = 0; l < W; l++)
        m[l] = 0x7fffffffffffffffLL;
    return (vd)((vl)v & m);
}

/* sinc(v) = sin(v)/v from sin v; below |v| = 0.1 (lanes in small) its
 * series to v^8 (truncation below 1e-14 relative) avoids the cancellation
 * of the quotient. */
static inline __attribute__((always_inline)) vd sinc_of(vd v, vd sn, vl small)
{
    vd inv = vsplat(1.0) / vsel(small, vsplat(1.0), v);
    vd v2 = v * v;
    vd ss = 1.0 + v2 * (-1.0 / 6 +
                        v2 * (1.0 / 120 + v2 * (-1.0 / 5040 + v2 * (1.0 / 362880))));
    return vsel(small, ss, sn * inv);
}

/* sinc(v) and its derivative (v cos v - sin v)/v^2 from sin and cos of v,
 * the derivative below |v| = 0.1 by its series to v^7. */
static inline __attribute__((always_inline)) void sinc_pair(vd v, vd sn, vd cs,
                                                            vl small, vd *sc, vd *dsc)
{
    vd inv = vsplat(1.0) / vsel(small, vsplat(1.0), v);
    vd dq = (cs - sn * inv) * inv;
    vd v2 = v * v;
    vd ds = v * (-1.0 / 3 + v2 * (1.0 / 30 + v2 * (-1.0 / 840 + v2 * (1.0 / 45360))));
    *sc = sinc_of(v, sn, small);
    *dsc = vsel(small, ds, dq);
}

/* The shear factor g_S from sinc: its square, or (homodyne) its fourth
 * power. */
static inline __attribute__((always_inline)) vd shear_factor(const hcmc__seg *s, vd sc)
{
    vd s2 = sc * sc;
    return s->homodyne ? s2 * s2 : s2;
}

/* Runs LOOP(ef, trig) with the per-frame tables in use as compile-time
 * constants (kernel.h: ef and trig). */
#define BY_TABLES(LOOP)                                                                \
    do {                                                                               \
        if (s->ef && s->trig)                                                          \
            LOOP(1, 1);                                                                \
        else if (s->ef)                                                                \
            LOOP(1, 0);                                                                \
        else if (s->trig)                                                              \
            LOOP(0, 1);                                                                \
        else                                                                           \
            LOOP(0, 0);                                                                \
    } while (0)

/* Static: W points at positions pos[], lanes scaled by mask (0 for
 * padding). use_ef is a compile-time constant at every call. */
static inline __attribute__((always_inline)) void
block_static(const hcmc__seg *s, const row4 *RJ, const size_t *pos, vd mask,
             const int use_ef, vd *rr, vd *rh, vd *r1, row4 *gj)
{
    row4 d[W];
    vd ij, y, h;
    for (int l = 0; l < W; l++) {
        size_t p = pos[l];
        unsigned a = s->i[p], b = s->j[p];
        d[l] = RJ[b] - RJ[a];
        if (use_ef)
            h[l] = s->ef[2 * b] * s->ef[2 * a + 1];
        else
            ij[l] = d[l][0];
        y[l] = s->y[p];
    }
    if (!use_ef)
        h = VEXP(vsplat(-s->q2) * ij);
    vd r = (y - (vsplat(s->offset) + vsplat(s->contrast) * h)) * mask;
    *rr += r * r;
    *rh += r * h;
    *r1 += r;
    vd w = r * h;
    for (int l = 0; l < W; l++)
        *gj += rsplat(w[l]) * d[l];
}

/* Runs body(pos, mask) over full blocks, then once over the padded tail. */
#define FOR_BLOCKS(n, BODY)                                                            \
    do {                                                                               \
        size_t p_ = 0;                                                                 \
        for (; p_ + W <= (n); p_ += W) {                                               \
            size_t pos[W];                                                             \
            for (int l_ = 0; l_ < W; l_++)                                             \
                pos[l_] = p_ + (size_t)l_;                                             \
            vd mask = vsplat(1.0);                                                     \
            BODY;                                                                      \
        }                                                                              \
        if (p_ < (n)) {                                                                \
            size_t pos[W];                                                             \
            vd mask;                                                                   \
            for (int l_ = 0; l_ < W; l_++) {                                           \
                int in_ = p_ + (size_t)l_ < (n);                                       \
                pos[l_] = in_ ? p_ + (size_t)l_ : p_;                                  \
                mask[l_] = in_ ? 1.0 : 0.0;                                            \
            }                                                                          \
            BODY;                                                                      \
        }                                                                              \
    } while (0)

static void KERNEL_NAME(run_static)(const hcmc__seg *s, hcmc__seg_sums *o)
{
    const row4 *RJ = (const row4 *)s->rowJ;
    vd rr = {0}, rh = {0}, r1 = {0};
    row4 gj = {0};
    if (s->ef)
        FOR_BLOCKS(s->n, block_static(s, RJ, pos, mask, 1, &rr, &rh, &r1, &gj));
    else
        FOR_BLOCKS(s->n, block_static(s, RJ, pos, mask, 0, &rr, &rh, &r1, &gj));
    memset(o, 0, sizeof *o);
    o->rr = vsum(rr);
    o->rh = vsum(rh);
    o->r = vsum(r1);
    for (int k = 0; k < 4; k++)
        o->gJ[k] = gj[k];
}

/* Value only (no gradient sums): the same operations on the same values
 * as block_static for rr, rh and r, without the row differences the
 * gradient needs (one lane of each row, or none with ef). */
static inline __attribute__((always_inline)) void
block_static_value(const hcmc__seg *s, const size_t *pos, vd mask, const int use_ef,
                   vd *rr, vd *rh, vd *r1)
{
    vd ij, y, h;
    for (int l = 0; l < W; l++) {
        size_t p = pos[l];
        unsigned a = s->i[p], b = s->j[p];
        if (use_ef)
            h[l] = s->ef[2 * b] * s->ef[2 * a + 1];
        else
            ij[l] = s->rowJ[4 * b] - s->rowJ[4 * a];
        y[l] = s->y[p];
    }
    if (!use_ef)
        h = VEXP(vsplat(-s->q2) * ij);
    vd r = (y - (vsplat(s->offset) + vsplat(s->contrast) * h)) * mask;
    *rr += r * r;
    *rh += r * h;
    *r1 += r;
}

static void KERNEL_NAME(run_static_value)(const hcmc__seg *s, hcmc__seg_sums *o)
{
    vd rr = {0}, rh = {0}, r1 = {0};
    if (s->ef)
        FOR_BLOCKS(s->n, block_static_value(s, pos, mask, 1, &rr, &rh, &r1));
    else
        FOR_BLOCKS(s->n, block_static_value(s, pos, mask, 0, &rr, &rh, &r1));
    memset(o, 0, sizeof *o);
    o->rr = vsum(rr);
    o->rh = vsum(rh);
    o->r = vsum(r1);
}

/* sin and cos of kappa A CG_k for every frame of the grid, interleaved. */
static void trig_table(const hcmc__seg *s)
{
    const double f = s->kappa * s->A;
    for (size_t k = 0; k < s->n_t; k += W) {
        vd ph, sn, cs;
        for (int l = 0; l < W; l++) {
            size_t kk = k + (size_t)l < s->n_t ? k + (size_t)l : s->n_t - 1;
            ph[l] = f * s->rowG[4 * kk];
        }
        VSINCOS(ph, sn, cs);
        for (int l = 0; l < W; l++) {
            s->trig[2 * (k + (size_t)l)] = sn[l];
            s->trig[2 * (k + (size_t)l) + 1] = cs[l];
        }
    }
}

static inline __attribute__((always_inline)) void
block_laminar(const hcmc__seg *s, const row4 *RJ, const row4 *RG, const size_t *pos,
              vd mask, const int use_ef, const int use_trig, vd *rr, vd *rh, vd *r1,
              row4 *gj, row4 *gg, vd *gx)
{
    row4 dj[W], dg[W];
    vd ij, ig, y, gd, sn, cs;
    for (int l = 0; l < W; l++) {
        size_t p = pos[l];
        unsigned a = s->i[p], b = s->j[p];
        dj[l] = RJ[b] - RJ[a];
        dg[l] = RG[b] - RG[a];
        ij[l] = dj[l][0];
        ig[l] = dg[l][0];
        y[l] = s->y[p];
        if (use_ef)
            gd[l] = s->ef[2 * b] * s->ef[2 * a + 1];
        if (use_trig) { /* angle addition: v = phase_j - phase_i */
            const double *tb = s->trig + 2 * b, *ta = s->trig + 2 * a;
            sn[l] = tb[0] * ta[1] - tb[1] * ta[0];
            cs[l] = tb[1] * ta[1] + tb[0] * ta[0];
        }
    }
    if (!use_ef)
        gd = VEXP(vsplat(-s->q2) * ij);
    vd v = vsplat(s->kappa * s->A) * ig;
    vl small = vabs(v) < vsplat(0.1);
    if (!use_trig)
        VSINCOS(vsel(small, vsplat(1.0), v), sn, cs);
    vd sc, dsc;
    sinc_pair(v, sn, cs, small, &sc, &dsc);
    vd gs = shear_factor(s, sc); /* g_S, and dg_S/dX: */
    vd dgs = s->homodyne ? vsplat(4.0 * s->kappa) * (sc * sc) * sc * dsc
                         : vsplat(2.0 * s->kappa) * sc * dsc;
    vd h = gd * gs;
    vd r = (y - (vsplat(s->offset) + vsplat(s->contrast) * h)) * mask;
    *rr += r * r;
    *rh += r * h;
    *r1 += r;
    vd w = r * h, u = r * gd * dgs;
    *gx += u * ig;
    for (int l = 0; l < W; l++) {
        *gj += rsplat(w[l]) * dj[l];
        *gg += rsplat(u[l]) * dg[l];
    }
}

#define LAMINAR_LOOP(EF, TRIG)                                                         \
    FOR_BLOCKS(s->n, block_laminar(s, RJ, RG, pos, mask, EF, TRIG, &rr, &rh, &r1, &gj, \
                                   &gg, &gx))

static void KERNEL_NAME(run_laminar)(const hcmc__seg *s, hcmc__seg_sums *o)
{
    const row4 *RJ = (const row4 *)s->rowJ, *RG = (const row4 *)s->rowG;
    vd rr = {0}, rh = {0}, r1 = {0}, gx = {0};
    row4 gj = {0}, gg = {0};
    if (s->trig)
        trig_table(s);
    BY_TABLES(LAMINAR_LOOP);
    memset(o, 0, sizeof *o);
    o->rr = vsum(rr);
    o->rh = vsum(rh);
    o->r = vsum(r1);
    o->gX = vsum(gx);
    for (int k = 0; k < 4; k++) {
        o->gJ[k] = gj[k];
        o->gG[k] = gg[k];
    }
}

/* Value only: block_laminar's rr, rh and r by the same operations, without
 * the sinc's derivative and the gradient sums. */
static inline __attribute__((always_inline)) void
block_laminar_value(const hcmc__seg *s, const size_t *pos, vd mask, const int use_ef,
                    const int use_trig, vd *rr, vd *rh, vd *r1)
{
    vd ij, ig, y, gd, sn, cs;
    for (int l = 0; l < W; l++) {
        size_t p = pos[l];
        unsigned a = s->i[p], b = s->j[p];
        ij[l] = s->rowJ[4 * b] - s->rowJ[4 * a];
        ig[l] = s->rowG[4 * b] - s->rowG[4 * a];
        y[l] = s->y[p];
        if (use_ef)
            gd[l] = s->ef[2 * b] * s->ef[2 * a + 1];
        if (use_trig) {
            const double *tb = s->trig + 2 * b, *ta = s->trig + 2 * a;
            sn[l] = tb[0] * ta[1] - tb[1] * ta[0];
            cs[l] = tb[1] * ta[1] + tb[0] * ta[0];
        }
    }
    if (!use_ef)
        gd = VEXP(vsplat(-s->q2) * ij);
    vd v = vsplat(s->kappa * s->A) * ig;
    vl small = vabs(v) < vsplat(0.1);
    if (!use_trig)
        VSINCOS(vsel(small, vsplat(1.0), v), sn, cs);
    (void)cs;
    vd h = gd * shear_factor(s, sinc_of(v, sn, small));
    vd r = (y - (vsplat(s->offset) + vsplat(s->contrast) * h)) * mask;
    *rr += r * r;
    *rh += r * h;
    *r1 += r;
}

#define LAMINAR_VALUE_LOOP(EF, TRIG)                                                   \
    FOR_BLOCKS(s->n, block_laminar_value(s, pos, mask, EF, TRIG, &rr, &rh, &r1))

static void KERNEL_NAME(run_laminar_value)(const hcmc__seg *s, hcmc__seg_sums *o)
{
    vd rr = {0}, rh = {0}, r1 = {0};
    if (s->trig)
        trig_table(s);
    BY_TABLES(LAMINAR_VALUE_LOOP);
    memset(o, 0, sizeof *o);
    o->rr = vsum(rr);
    o->rh = vsum(rh);
    o->r = vsum(r1);
}

/* y * (j - i) for W points: what the floor reads, formed once per block. */
static inline vd floor_arg(size_t p, const uint16_t *i, const uint16_t *j,
                           const double *y)
{
    vd x;
    for (int l = 0; l < W; l++)
        x[l] = y[p + l] * (double)(j[p + l] - i[p + l]);
    return x;
}

static double KERNEL_NAME(floor_static)(size_t n, const uint16_t *i, const uint16_t *j,
                                        const double *y, double a, double b)
{
    (void)b;
    vd acc = {0};
    for (size_t p = 0; p + W <= n; p += W)
        acc += VEXP(vsplat(-a) * floor_arg(p, i, j, y));
    return vsum(acc);
}

static double KERNEL_NAME(floor_laminar)(size_t n, const uint16_t *i, const uint16_t *j,
                                         const double *y, double a, double b)
{
    vd acc = {0};
    for (size_t p = 0; p + W <= n; p += W) {
        vd x = floor_arg(p, i, j, y), sn, cs;
        VSINCOS(vsplat(b) * x, sn, cs);
        acc += VEXP(vsplat(-a) * x) + sn + cs;
    }
    return vsum(acc);
}
