/* Kernel template, included by one file per ISA after it defines
 * KERNEL_NAME, VEXP(v) and VSINCOS(v, s, c) for 4-lane double vectors.
 * See kernel.h for what the kernel computes. */
#include <string.h>

#include "kernel.h"

typedef double vd __attribute__((vector_size(32)));
typedef long long vl __attribute__((vector_size(32)));
#define W 4

static inline vd vsplat(double x) { return (vd){x, x, x, x}; }
static inline vd vsel(vl m, vd a, vd b)
{
    return (vd)((m & (vl)a) | (~m & (vl)b));
}
static inline double vsum(vd v) { return (v[0] + v[1]) + (v[2] + v[3]); }
static inline vd vabs(vd v)
{
    const long long m = 0x7fffffffffffffffLL;
    return (vd)((vl)v & (vl){m, m, m, m});
}

/* Static: W points at positions pos[], lanes scaled by mask (0 for padding). */
static inline __attribute__((always_inline)) void
block_static(const hcmc__seg *s, const vd *RJ, const size_t *pos, vd mask,
             vd *rr, vd *rh, vd *r1, vd *gj)
{
    vd d[W], ij, y;
    for (int l = 0; l < W; l++) {
        size_t p = pos[l];
        d[l] = RJ[s->j[p]] - RJ[s->i[p]];
        ij[l] = d[l][0];
        y[l] = s->y[p];
    }
    vd h = VEXP(vsplat(-s->q2) * ij);
    vd r = (y - (vsplat(s->offset) + vsplat(s->contrast) * h)) * mask;
    *rr += r * r;
    *rh += r * h;
    *r1 += r;
    vd w = r * h;
    for (int l = 0; l < W; l++)
        *gj += vsplat(w[l]) * d[l];
}

static void KERNEL_NAME(run_static)(const hcmc__seg *s, hcmc__seg_sums *o)
{
    const vd *RJ = (const vd *)s->rowJ;
    vd rr = {0}, rh = {0}, r1 = {0}, gj = {0};
    size_t n = s->n, p = 0;
    for (; p + W <= n; p += W) {
        size_t pos[W] = {p, p + 1, p + 2, p + 3};
        block_static(s, RJ, pos, vsplat(1.0), &rr, &rh, &r1, &gj);
    }
    if (p < n) {
        size_t pos[W];
        vd mask;
        for (int l = 0; l < W; l++) {
            pos[l] = p + (size_t)l < n ? p + (size_t)l : p;
            mask[l] = p + (size_t)l < n ? 1.0 : 0.0;
        }
        block_static(s, RJ, pos, mask, &rr, &rh, &r1, &gj);
    }
    memset(o, 0, sizeof *o);
    o->rr = vsum(rr);
    o->rh = vsum(rh);
    o->r = vsum(r1);
    for (int k = 0; k < 4; k++)
        o->gJ[k] = gj[k];
}

static inline __attribute__((always_inline)) void
block_laminar(const hcmc__seg *s, const vd *RJ, const vd *RG, const size_t *pos,
              vd mask, vd *rr, vd *rh, vd *r1, vd *gj, vd *gg, vd *gx)
{
    vd dj[W], dg[W], ij, ig, y;
    for (int l = 0; l < W; l++) {
        size_t p = pos[l];
        unsigned a = s->i[p], b = s->j[p];
        dj[l] = RJ[b] - RJ[a];
        dg[l] = RG[b] - RG[a];
        ij[l] = dj[l][0];
        ig[l] = dg[l][0];
        y[l] = s->y[p];
    }
    vd gd = VEXP(vsplat(-s->q2) * ij);
    vd v = vsplat(s->kappa * s->A) * ig;
    /* sinc(v) = sin(v)/v and its derivative (v cos v - sin v)/v^2; below
     * |v| = 1e-2 their series (to v^8, error < 1e-20) avoid the
     * cancellation of the quotient. */
    vl small = vabs(v) < vsplat(1e-2);
    vd vs = vsel(small, vsplat(1.0), v), sn, cs;
    VSINCOS(vs, sn, cs);
    vd inv = vsplat(1.0) / vs;
    vd sq = sn * inv, dq = (cs - sq) * inv;
    vd v2 = v * v;
    vd ss = 1.0 + v2 * (-1.0 / 6 + v2 * (1.0 / 120 + v2 * (-1.0 / 5040 +
                                                           v2 * (1.0 / 362880))));
    vd ds = v * (-1.0 / 3 + v2 * (1.0 / 30 + v2 * (-1.0 / 840 +
                                                  v2 * (1.0 / 45360))));
    vd sc = vsel(small, ss, sq), dsc = vsel(small, ds, dq);
    vd gs, dgs; /* g_S and dg_S/dX */
    if (s->homodyne) {
        vd s2 = sc * sc;
        gs = s2 * s2;
        dgs = vsplat(4.0 * s->kappa) * s2 * sc * dsc;
    } else {
        gs = sc * sc;
        dgs = vsplat(2.0 * s->kappa) * sc * dsc;
    }
    vd h = gd * gs;
    vd r = (y - (vsplat(s->offset) + vsplat(s->contrast) * h)) * mask;
    *rr += r * r;
    *rh += r * h;
    *r1 += r;
    vd w = r * h, u = r * gd * dgs;
    *gx += u * ig;
    for (int l = 0; l < W; l++) {
        *gj += vsplat(w[l]) * dj[l];
        *gg += vsplat(u[l]) * dg[l];
    }
}

static void KERNEL_NAME(run_laminar)(const hcmc__seg *s, hcmc__seg_sums *o)
{
    const vd *RJ = (const vd *)s->rowJ, *RG = (const vd *)s->rowG;
    vd rr = {0}, rh = {0}, r1 = {0}, gj = {0}, gg = {0}, gx = {0};
    size_t n = s->n, p = 0;
    for (; p + W <= n; p += W) {
        size_t pos[W] = {p, p + 1, p + 2, p + 3};
        block_laminar(s, RJ, RG, pos, vsplat(1.0), &rr, &rh, &r1, &gj, &gg, &gx);
    }
    if (p < n) {
        size_t pos[W];
        vd mask;
        for (int l = 0; l < W; l++) {
            pos[l] = p + (size_t)l < n ? p + (size_t)l : p;
            mask[l] = p + (size_t)l < n ? 1.0 : 0.0;
        }
        block_laminar(s, RJ, RG, pos, mask, &rr, &rh, &r1, &gj, &gg, &gx);
    }
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

static inline vd floor_arg(size_t p, const uint16_t *i, const uint16_t *j,
                           const double *y, double scale)
{
    vd x;
    for (int l = 0; l < W; l++)
        x[l] = scale * y[p + l] * (double)(j[p + l] - i[p + l]);
    return x;
}

static double KERNEL_NAME(floor_static)(size_t n, const uint16_t *i,
                                        const uint16_t *j, const double *y,
                                        double a, double b)
{
    (void)b;
    vd acc = {0};
    for (size_t p = 0; p + W <= n; p += W)
        acc += VEXP(floor_arg(p, i, j, y, -a));
    return vsum(acc);
}

static double KERNEL_NAME(floor_laminar)(size_t n, const uint16_t *i,
                                         const uint16_t *j, const double *y,
                                         double a, double b)
{
    vd acc = {0};
    for (size_t p = 0; p + W <= n; p += W) {
        vd sn, cs;
        VSINCOS(floor_arg(p, i, j, y, b), sn, cs);
        acc += VEXP(floor_arg(p, i, j, y, -a)) + sn + cs;
    }
    return vsum(acc);
}
