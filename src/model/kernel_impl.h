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
_Static_assert(W <= HCMC__KERNEL_WMAX, "HCMC__KERNEL_WMAX is the widest variant");
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

/* Whether any lane of m is set (AVX: one vmovmskpd). */
static inline __attribute__((always_inline)) int vany(vl m)
{
#if defined(__AVX__) && KERNEL_WIDTH == 4
    return __builtin_ia32_movmskpd256((vd)m) != 0;
#else
    long long any = 0;
    for (int l = 0; l < W; l++)
        any |= m[l];
    return any != 0;
#endif
}

/* sin and cos of x, W lanes: where the variant has FMA (VFMA), by a
 * reduction to r = x - n pi/2, |r| <= pi/4 (two FMAs with pi/2 split in
 * two doubles: absolute error about 1e-16 for |x| up to 1e12), Taylor
 * polynomials of r to degree 15 (sin) and 16 (cos) (truncation below
 * 1e-16 at pi/4), and the quadrant n mod 4: more than twice as fast as
 * the 1-ulp vector sincos, whose reduction serves arguments of any size
 * (README "What bounds the kernel"); that one still takes any block with
 * a lane beyond 1e12 or not finite. */
static inline __attribute__((always_inline)) void phase_sincos(vd x, vd *sn, vd *cs)
{
#ifdef VFMA
    if (!vany(~(vabs(x) <= vsplat(1e12)))) {
        const double magic = 6755399441055744.0;                   /* 1.5 * 2^52 */
        vd t = x * vsplat(0.63661977236758134308) + vsplat(magic); /* 2/pi */
        vd n = t - vsplat(magic); /* nearest integer to 2x/pi */
        vl q = (vl)t;             /* n mod 4 in its two lowest bits */
        vd r = VFMA(-n, vsplat(1.57079632679489655800), x);
        r = VFMA(-n, vsplat(6.12323399573676603587e-17), r);
        vd r2 = r * r;
        vd ps = vsplat(-1.0 / 1307674368000.0);
        ps = ps * r2 + vsplat(1.0 / 6227020800.0);
        ps = ps * r2 + vsplat(-1.0 / 39916800.0);
        ps = ps * r2 + vsplat(1.0 / 362880.0);
        ps = ps * r2 + vsplat(-1.0 / 5040.0);
        ps = ps * r2 + vsplat(1.0 / 120.0);
        ps = ps * r2 + vsplat(-1.0 / 6.0);
        vd s = r + (r * r2) * ps;
        vd pc = vsplat(1.0 / 20922789888000.0);
        pc = pc * r2 + vsplat(-1.0 / 87178291200.0);
        pc = pc * r2 + vsplat(1.0 / 479001600.0);
        pc = pc * r2 + vsplat(-1.0 / 3628800.0);
        pc = pc * r2 + vsplat(1.0 / 40320.0);
        pc = pc * r2 + vsplat(-1.0 / 720.0);
        pc = pc * r2 + vsplat(1.0 / 24.0);
        pc = pc * r2 + vsplat(-0.5);
        vd c = vsplat(1.0) + r2 * pc;
        vl odd = (q & 1) != 0; /* sin x = +-cos r, cos x = -+sin r */
        vl sign_s = (q & 2) << 62, sign_c = ((q + 1) & 2) << 62;
        *sn = (vd)((vl)vsel(odd, c, s) ^ sign_s);
        *cs = (vd)((vl)vsel(odd, s, c) ^ sign_c);
        return;
    }
#endif
    VSINCOS(x, *sn, *cs);
}

/* sinc's series to v^8 in v2 = v^2 (truncation below 1e-14 relative for
 * |v| < 0.1). */
static inline __attribute__((always_inline)) vd sinc_series(vd v2)
{
    return 1.0 + v2 * (-1.0 / 6 +
                       v2 * (1.0 / 120 + v2 * (-1.0 / 5040 + v2 * (1.0 / 362880))));
}

/* sinc(v) = sin(v)/v from sin v and inv = 1/v (any value in small lanes);
 * below |v| = 0.1 (lanes in small) its series avoids the cancellation of
 * the quotient. The series is evaluated only for a block that has such a
 * lane. */
static inline __attribute__((always_inline)) vd sinc_of(vd v, vd sn, vl small, vd inv)
{
    vd q = sn * inv;
    if (!vany(small))
        return q;
    return vsel(small, sinc_series(v * v), q);
}

/* sinc(v) and its derivative (v cos v - sin v)/v^2 from sin and cos of v,
 * the derivative below |v| = 0.1 by its series to v^7. */
static inline __attribute__((always_inline)) void
sinc_pair(vd v, vd sn, vd cs, vl small, vd inv, vd *sc, vd *dsc)
{
    vd q = sn * inv, dq = (cs - q) * inv;
    if (!vany(small)) {
        *sc = q;
        *dsc = dq;
        return;
    }
    vd v2 = v * v;
    vd ds = v * (-1.0 / 3 + v2 * (1.0 / 30 + v2 * (-1.0 / 840 + v2 * (1.0 / 45360))));
    *sc = vsel(small, sinc_series(v2), q);
    *dsc = vsel(small, ds, dq);
}

/* The shear factor g_S from sinc: its square, or (homodyne) its fourth
 * power. */
static inline __attribute__((always_inline)) vd shear_factor(const int homodyne, vd sc)
{
    vd s2 = sc * sc;
    return homodyne ? s2 * s2 : s2;
}

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

/* laminar_flow: each frame's record, HCMC__KERNEL_REC = 4 doubles:
 *   (E_k, sin_k, cos_k, P_k)
 * with E_k = exp(-q^2 CJ_k) (CJ_k without ef), the phase P_k = kappa A CG_k
 * and its sin/cos (0 without use_trig). A point reads the records of its two
 * frames, one aligned 32-byte load each, transposed into lanes; 1/E_i
 * comes from the division that gives 1/v.
 *
 * With the gradient (layout ENTRIES), a frame's record is the first half
 * of its 64-byte entry, whose second half holds the gradient's weights by
 * frame (acc_rows): one address per frame serves both, and a frame's
 * entry is one cache line:
 *   rec[8 k .. 8 k + 7] = (E_k, sin_k, cos_k, P_k, w_k^0, u_k^0, w_k^1, u_k^1)
 * the weights cleared here. Value only (layout RECORDS_SOA), records of 4
 * doubles, and the same entries by frame after them, for the dense runs
 * (dense_block):
 *   rec[4 k .. 4 k + 3] = the record, rec[4 n_t + e n_t + k] = its entry e */
enum { ENTRIES = 0, RECORDS_SOA = 1 };
#define ENTRY (HCMC__KERNEL_REC + 2 * HCMC__KERNEL_ACC_TABLES)
_Static_assert(ENTRY == 8, "a frame's entry is one 64-byte line");

static void fill_records(const hcmc__seg *s, const int layout)
{
    const size_t stride = layout == ENTRIES ? ENTRY : HCMC__KERNEL_REC;
    double *S = s->rec + HCMC__KERNEL_REC * s->n_t;
    const double f = s->kappa * s->A;
    for (size_t k = 0; k < s->n_t; k += W) {
        vd ph, sn = {0}, cs = {0};
        if (s->use_trig) {
            for (int l = 0; l < W; l++) {
                size_t kk = k + (size_t)l < s->n_t ? k + (size_t)l : s->n_t - 1;
                ph[l] = f * s->rowG[4 * kk];
            }
            phase_sincos(ph, &sn, &cs);
        }
        for (int l = 0; l < W && k + (size_t)l < s->n_t; l++) {
            size_t kk = k + (size_t)l;
            double *r = s->rec + stride * kk;
            r[0] = s->ef ? s->ef[2 * kk] : s->rowJ[4 * kk];
            r[1] = sn[l];
            r[2] = cs[l];
            r[3] = f * s->rowG[4 * kk];
            if (layout == ENTRIES)
                for (int e = HCMC__KERNEL_REC; e < ENTRY; e++)
                    r[e] = 0.0;
            else
                for (int e = 0; e < HCMC__KERNEL_REC; e++)
                    S[(size_t)e * s->n_t + kk] = r[e];
        }
    }
}

/* Entries i0..i3 of the 8 of a then b (gcc 12 and clang have
 * __builtin_shufflevector; older gcc only __builtin_shuffle). */
#if defined(__clang__) || __GNUC__ >= 12
#define SHUFFLE4(a, b, i0, i1, i2, i3) __builtin_shufflevector(a, b, i0, i1, i2, i3)
#define HAVE_SHUFFLEVECTOR 1
#else
typedef long long rowl4 __attribute__((vector_size(32)));
#define SHUFFLE4(a, b, i0, i1, i2, i3) __builtin_shuffle(a, b, (rowl4){i0, i1, i2, i3})
#endif

/* The records at r[0 .. W-1] (32-byte aligned), transposed: lane l of v0
 * is entry 0 of record r[l], and so on. */
static inline __attribute__((always_inline)) void
transpose_records(double *const *rp, vd *v0, vd *v1, vd *v2, vd *v3)
{
#ifdef KERNEL_GATHER_BY_LANE /* no vector shuffles: entry by entry */
    for (int l = 0; l < W; l++) {
        const double *r = rp[l];
        (*v0)[l] = r[0];
        (*v1)[l] = r[1];
        (*v2)[l] = r[2];
        (*v3)[l] = r[3];
    }
#else
    for (int h = 0; h < W; h += 4) {
        row4 r0 = *(const row4 *)rp[h], r1 = *(const row4 *)rp[h + 1];
        row4 r2 = *(const row4 *)rp[h + 2], r3 = *(const row4 *)rp[h + 3];
        row4 t0 = SHUFFLE4(r0, r1, 0, 4, 2, 6);
        row4 t1 = SHUFFLE4(r0, r1, 1, 5, 3, 7);
        row4 t2 = SHUFFLE4(r2, r3, 0, 4, 2, 6);
        row4 t3 = SHUFFLE4(r2, r3, 1, 5, 3, 7);
#if KERNEL_WIDTH == 4
        *v0 = SHUFFLE4(t0, t2, 0, 1, 4, 5);
        *v1 = SHUFFLE4(t1, t3, 0, 1, 4, 5);
        *v2 = SHUFFLE4(t0, t2, 2, 3, 6, 7);
        *v3 = SHUFFLE4(t1, t3, 2, 3, 6, 7);
#else
        row4 a = SHUFFLE4(t0, t2, 0, 1, 4, 5);
        row4 b = SHUFFLE4(t1, t3, 0, 1, 4, 5);
        row4 c = SHUFFLE4(t0, t2, 2, 3, 6, 7);
        row4 d = SHUFFLE4(t1, t3, 2, 3, 6, 7);
        for (int q = 0; q < 4; q++) {
            (*v0)[h + q] = a[q];
            (*v1)[h + q] = b[q];
            (*v2)[h + q] = c[q];
            (*v3)[h + q] = d[q];
        }
#endif
    }
#endif
}

/* The gradient's sums by frame. A point adds its weights (of the integrals
 * J and G) to its later frame's entry and subtracts them from its earlier
 * frame's, so that sum_p w_p (R[j_p] - R[i_p]) = sum_k R[k] acc[k], which
 * acc_rows forms once per angle. The rows themselves are not read per
 * point: the entries stay within the first-level cache. Lanes alternate
 * between the HCMC__KERNEL_ACC_TABLES pairs of weights of an entry, so
 * that the updates of a block's points, which mostly share their earlier
 * frame, do not all wait on each other. */
typedef double pair2 __attribute__((vector_size(16)));
#define ACC_TABLES HCMC__KERNEL_ACC_TABLES

static void acc_rows(const hcmc__seg *s, row4 *gj, row4 *gg)
{
    const row4 *RJ = (const row4 *)s->rowJ, *RG = (const row4 *)s->rowG;
    row4 aj = {0}, ag = {0};
    for (size_t k = 0; k < s->n_t; k++) {
        const pair2 *acc = (const pair2 *)(s->rec + ENTRY * k + HCMC__KERNEL_REC);
        pair2 wu = acc[0];
        for (int q = 1; q < ACC_TABLES; q++)
            wu += acc[q];
        aj += rsplat(wu[0]) * RJ[k];
        ag += rsplat(wu[1]) * RG[k];
    }
    *gj = aj;
    *gg = ag;
}

/* Whether the W points from position p are (a, b), (a, b + 1), ...,
 * (a, b + W - 1): a dense run, as the full data's points are (every later
 * frame of an earlier one, in order), and so every evaluation of the
 * importance correction. Two 64-bit compares per 4 points. */
static inline __attribute__((always_inline)) int
dense_block(const hcmc__seg *s, size_t p, unsigned a, unsigned b)
{
    uint64_t iw[W / 4], jw[W / 4];
    memcpy(iw, s->i + p, sizeof iw);
    memcpy(jw, s->j + p, sizeof jw);
    const uint64_t ones = 0x0001000100010001ULL, steps = 0x0003000200010000ULL;
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    return 0; /* the compares below read frame p's number in the low bits */
#endif
    int dense = b + (unsigned)W <= s->n_t; /* and no carry between lanes below */
    for (int h = 0; h < W / 4; h++)
        dense &= (iw[h] == a * ones) & (jw[h] == (b + 4 * (unsigned)h) * ones + steps);
    return dense;
}

/* W points at positions pos[] with values y, lanes scaled by mask (0 for
 * padding); full: pos[] = p, p + 1, ... use_ef, use_trig and grad are
 * compile-time constants at every call; without grad only rr, rh and r
 * are summed, by the same operations, and dense runs read the records
 * without transposes (the same values, so the same sums). */
static inline __attribute__((always_inline)) void
block_laminar(const hcmc__seg *s, const size_t *pos, vd y, vd mask, const int full,
              const int homodyne, const int use_ef, const int use_trig, const int grad,
              vd *rr, vd *rh, vd *r1, vd *gx)
{
    unsigned ia[W], jb[W];
    for (int l = 0; l < W; l++) {
        ia[l] = s->i[pos[l]];
        jb[l] = s->j[pos[l]];
    }
    /* the records' layout (fill_records): entries with grad */
    const size_t stride = grad ? ENTRY : HCMC__KERNEL_REC;
    double *pa[W], *pb[W];
    vd Eb, Sb, Cb, Phb, Ea, Sa, Ca, Pha, sn, cs;
    if (!grad && full && dense_block(s, pos[0], ia[0], jb[0])) {
        /* one earlier frame, W consecutive later ones: its record in
         * every lane, theirs by plain loads of the entries by frame */
        const double *S = s->rec + HCMC__KERNEL_REC * s->n_t + jb[0];
        const double *ra = s->rec + HCMC__KERNEL_REC * ia[0];
        memcpy(&Eb, S, sizeof Eb);
        memcpy(&Sb, S + s->n_t, sizeof Sb);
        memcpy(&Cb, S + 2 * s->n_t, sizeof Cb);
        memcpy(&Phb, S + 3 * s->n_t, sizeof Phb);
        Ea = vsplat(ra[0]);
        Sa = vsplat(ra[1]);
        Ca = vsplat(ra[2]);
        Pha = vsplat(ra[3]);
    } else {
        for (int l = 0; l < W; l++) {
            pa[l] = s->rec + stride * ia[l];
            pb[l] = s->rec + stride * jb[l];
        }
        transpose_records(pb, &Eb, &Sb, &Cb, &Phb);
        transpose_records(pa, &Ea, &Sa, &Ca, &Pha);
    }
    vd v = Phb - Pha; /* the phases' difference kappa A (CG_j - CG_i) */
    vl small = vabs(v) < vsplat(0.1);
    vd vv = vsel(small, vsplat(1.0), v), inv, gd;
    if (use_ef) { /* 1/v and 1/E_i from one division */
        vd q = vsplat(1.0) / (vv * Ea);
        inv = q * Ea;
        gd = Eb * (q * vv);
    } else {
        inv = vsplat(1.0) / vv;
        gd = VEXP(vsplat(-s->q2) * (Eb - Ea));
    }
    if (use_trig) { /* angle addition: v = phase_j - phase_i */
        sn = Sb * Ca - Cb * Sa;
        cs = Cb * Ca + Sb * Sa;
    } else {
        phase_sincos(vv, &sn, &cs);
    }
    vd sc, dsc;
    if (grad)
        sinc_pair(v, sn, cs, small, inv, &sc, &dsc);
    else
        sc = sinc_of(v, sn, small, inv);
    vd h = gd * shear_factor(homodyne, sc);
    vd r = (y - (vsplat(s->offset) + vsplat(s->contrast) * h)) * mask;
    *rr += r * r;
    *rh += r * h;
    *r1 += r;
    if (grad) { /* dg_S/dX, then the weights by frame */
        vd dgs = homodyne ? vsplat(4.0 * s->kappa) * (sc * sc) * sc * dsc
                          : vsplat(2.0 * s->kappa) * sc * dsc;
        vd w = r * h, u = r * gd * dgs;
        *gx += u * v;
#if KERNEL_WIDTH == 4 && !defined(KERNEL_GATHER_BY_LANE) && defined(HAVE_SHUFFLEVECTOR)
        /* the pairs (w_l, u_l): two unpacks and their halves */
        row4 lo = SHUFFLE4(w, u, 0, 4, 2, 6), hi = SHUFFLE4(w, u, 1, 5, 3, 7);
        pair2 wu[4] = {__builtin_shufflevector(lo, lo, 0, 1),
                       __builtin_shufflevector(hi, hi, 0, 1),
                       __builtin_shufflevector(lo, lo, 2, 3),
                       __builtin_shufflevector(hi, hi, 2, 3)};
        for (int l = 0; l < W; l++) {
            const size_t at = HCMC__KERNEL_REC + 2 * (size_t)(l % ACC_TABLES);
            *(pair2 *)(pb[l] + at) += wu[l];
            *(pair2 *)(pa[l] + at) -= wu[l];
        }
#else /* addresses from the frame numbers: 2 W pointers kept would spill */
        for (int l = 0; l < W; l++) {
            pair2 wu = {w[l], u[l]};
            const size_t at = HCMC__KERNEL_REC + 2 * (size_t)(l % ACC_TABLES);
            *(pair2 *)(s->rec + stride * jb[l] + at) += wu;
            *(pair2 *)(s->rec + stride * ia[l] + at) -= wu;
        }
#endif
    }
}

/* Runs block_laminar over full blocks (their values one vector load), then
 * once over the padded tail. This loop is FOR_BLOCKS but for that load.
 * FOR_BLOCKS itself, with the values read lane by lane, gives a wrong
 * value-only likelihood in the homodyne convention from gcc 12 at -O3 in
 * the 8-lane variant (right at -O2, with -fno-tree-slp-vectorize, and from
 * clang 14); test_kernel_variants_agree catches it. */
#define LAMINAR_LOOP(HOM, EF, TRIG, GRAD)                                              \
    do {                                                                               \
        size_t p_ = 0;                                                                 \
        for (; p_ + W <= s->n; p_ += W) {                                              \
            size_t pos[W];                                                             \
            vd y;                                                                      \
            for (int l_ = 0; l_ < W; l_++)                                             \
                pos[l_] = p_ + (size_t)l_;                                             \
            memcpy(&y, s->y + p_, sizeof y);                                           \
            block_laminar(s, pos, y, vsplat(1.0), 1, HOM, EF, TRIG, GRAD, &rr, &rh,    \
                          &r1, &gx);                                                   \
        }                                                                              \
        if (p_ < s->n) {                                                               \
            size_t pos[W];                                                             \
            vd y, mask;                                                                \
            for (int l_ = 0; l_ < W; l_++) {                                           \
                int in_ = p_ + (size_t)l_ < s->n;                                      \
                pos[l_] = in_ ? p_ + (size_t)l_ : p_;                                  \
                y[l_] = s->y[pos[l_]];                                                 \
                mask[l_] = in_ ? 1.0 : 0.0;                                            \
            }                                                                          \
            block_laminar(s, pos, y, mask, 0, HOM, EF, TRIG, GRAD, &rr, &rh, &r1,      \
                          &gx);                                                        \
        }                                                                              \
    } while (0)

#define LAMINAR_BY_TABLES_HOM(HOM, GRAD)                                               \
    do {                                                                               \
        if (s->ef && s->use_trig)                                                      \
            LAMINAR_LOOP(HOM, 1, 1, GRAD);                                             \
        else if (s->ef)                                                                \
            LAMINAR_LOOP(HOM, 1, 0, GRAD);                                             \
        else if (s->use_trig)                                                          \
            LAMINAR_LOOP(HOM, 0, 1, GRAD);                                             \
        else                                                                           \
            LAMINAR_LOOP(HOM, 0, 0, GRAD);                                             \
    } while (0)

#define LAMINAR_BY_TABLES(GRAD)                                                        \
    do {                                                                               \
        if (s->homodyne)                                                               \
            LAMINAR_BY_TABLES_HOM(1, GRAD);                                            \
        else                                                                           \
            LAMINAR_BY_TABLES_HOM(0, GRAD);                                            \
    } while (0)

/* The segment is read through a local copy, which the stores into the
 * tables cannot alias: its scalars and pointers stay in registers. */
static void KERNEL_NAME(run_laminar)(const hcmc__seg *seg, hcmc__seg_sums *o)
{
    const hcmc__seg copy = *seg, *s = &copy;
    vd rr = {0}, rh = {0}, r1 = {0}, gx = {0};
    row4 gj, gg;
    fill_records(s, ENTRIES);
    LAMINAR_BY_TABLES(1);
    acc_rows(s, &gj, &gg);
    memset(o, 0, sizeof *o);
    for (int k = 0; k < 4; k++) {
        o->gJ[k] = gj[k];
        o->gG[k] = gg[k];
    }
    o->rr = vsum(rr);
    o->rh = vsum(rh);
    o->r = vsum(r1);
    /* sum of u (CG_j - CG_i) from that of u v; with A = 0 every v and u
     * is 0 */
    const double f = s->kappa * s->A;
    o->gX = f != 0.0 ? vsum(gx) / f : 0.0;
}

/* Value only: run_laminar's rr, rh and r by the same operations, without
 * the sinc's derivative and the gradient sums. */
static void KERNEL_NAME(run_laminar_value)(const hcmc__seg *s, hcmc__seg_sums *o)
{
    vd rr = {0}, rh = {0}, r1 = {0}, gx = {0};
    fill_records(s, RECORDS_SOA);
    LAMINAR_BY_TABLES(0);
    (void)gx;
    memset(o, 0, sizeof *o);
    o->rr = vsum(rr);
    o->rh = vsum(rh);
    o->r = vsum(r1);
}

/* ---- laminar_flow on a pair grid (kernel.h: hcmc__grid) ------------ */

/* Each pair's g_D = E_j / E_i and CG_j - CG_i, for all its lanes; a
 * block's entry of frame k: (sin, cos) of its lanes' phases kappa A CG_k,
 * then with the gradient the weights (w, u) by lane, cleared here. */
static void grid_fill(const hcmc__grid *g, const int grad)
{
    const size_t st = grad ? 4 * W : 2 * W;
    for (size_t p = 0; p < g->n_pairs; p++) {
        unsigned ia = g->i[p], jb = g->j[p];
        g->pairs[2 * p] = g->ef[2 * jb] * g->ef[2 * ia + 1];
        g->pairs[2 * p + 1] = g->rowG[4 * jb] - g->rowG[4 * ia];
    }
    for (size_t b = 0; b < g->n_blk; b++) {
        vd kA;
        memcpy(&kA, g->kA + W * b, sizeof kA);
        double *e = g->rec + b * g->n_t * st;
        for (size_t k = 0; k < g->n_t; k++, e += st) {
            vd sn, cs;
            phase_sincos(kA * vsplat(g->rowG[4 * k]), &sn, &cs);
            memcpy(e, &sn, sizeof sn);
            memcpy(e + W, &cs, sizeof cs);
            if (grad)
                memset(e + 2 * W, 0, 2 * W * sizeof(double));
        }
    }
}

/* Adds w and u to the weights of the entry e. */
static inline __attribute__((always_inline)) void grid_add(double *e, vd w, vd u)
{
    vd t;
    memcpy(&t, e + 2 * W, sizeof t);
    t += w;
    memcpy(e + 2 * W, &t, sizeof t);
    memcpy(&t, e + 3 * W, sizeof t);
    t += u;
    memcpy(e + 3 * W, &t, sizeof t);
}

/* The pairs over block b's W angles: block_laminar's operations with lanes
 * for angles, the pair's decay g_D and frame difference of CG shared by
 * the lanes. The sums of each lane go to out[W b + lane]; acc_rows' sums
 * over frames are formed here for all lanes at once. */
static inline __attribute__((always_inline)) void
grid_block(const hcmc__grid *g, size_t b, const int homodyne, const int grad,
           hcmc__seg_sums *out)
{
    const size_t st = grad ? 4 * W : 2 * W;
    double *E = g->rec + b * g->n_t * st;
    const double *yb = g->y + b * g->n_pairs * W;
    const double *G = g->rowG, *PR = g->pairs;
    vd kA, con, off;
    memcpy(&kA, g->kA + W * b, sizeof kA);
    memcpy(&con, g->contrast + W * b, sizeof con);
    memcpy(&off, g->offset + W * b, sizeof off);
    vd rr = {0}, rh = {0}, r1 = {0}, gx = {0};
    /* the earlier frame's weights are summed in registers over its run of
     * pairs (the pairs come by earlier frame) and added at its end */
    vd wa = {0}, ua = {0};
    unsigned run = g->n_pairs ? g->i[0] : 0;
    for (size_t p = 0; p < g->n_pairs; p++) {
        unsigned ia = g->i[p], jb = g->j[p];
        double *ea = E + st * ia, *eb = E + st * jb;
        if (grad && ia != run) {
            grid_add(E + st * run, wa, ua);
            wa = ua = vsplat(0.0);
            run = ia;
        }
        vd y, Sa, Ca, Sb, Cb, sc, dsc;
        memcpy(&y, yb + W * p, sizeof y);
        memcpy(&Sa, ea, sizeof Sa);
        memcpy(&Ca, ea + W, sizeof Ca);
        memcpy(&Sb, eb, sizeof Sb);
        memcpy(&Cb, eb + W, sizeof Cb);
        vd gd = vsplat(PR[2 * p]);
        vd v = kA * vsplat(PR[2 * p + 1]);
        vl small = vabs(v) < vsplat(0.1);
        vd inv = vsplat(1.0) / vsel(small, vsplat(1.0), v);
        vd sn = Sb * Ca - Cb * Sa;
        if (grad) {
            vd cs = Cb * Ca + Sb * Sa;
            sinc_pair(v, sn, cs, small, inv, &sc, &dsc);
        } else {
            sc = sinc_of(v, sn, small, inv);
        }
        vd s2 = sc * sc, h = gd * (homodyne ? s2 * s2 : s2);
        /* padding lanes: y, contrast and offset 0, so r = 0 */
        vd r = y - (off + con * h);
        rr += r * r;
        r1 += r;
        if (!grad) {
            rh += r * h;
        } else { /* u without dg_S/dX's factor 2 kappa (4 kappa), applied
                  * to its sums below */
            vd w = r * h, u = r * gd * (homodyne ? s2 * sc : sc) * dsc;
            rh += w;
            gx += u * v;
            grid_add(eb, w, u);
            wa -= w;
            ua -= u;
        }
    }
    if (grad && g->n_pairs)
        grid_add(E + st * run, wa, ua);
    /* acc_rows by lane: aj[c] lane l = sum_k w_k,l RJ[k][c] */
    vd aj[4] = {{0}}, ag[4] = {{0}};
    if (grad)
        for (size_t k = 0; k < g->n_t; k++) {
            const double *e = E + st * k, *RJ = g->rowJ + 4 * k, *RG = G + 4 * k;
            vd w, u;
            memcpy(&w, e + 2 * W, sizeof w);
            memcpy(&u, e + 3 * W, sizeof u);
            for (int c = 1; c < 4; c++) {
                aj[c] += vsplat(RJ[c]) * w;
                ag[c] += vsplat(RG[c]) * u;
            }
        }
    const double du = (homodyne ? 4.0 : 2.0) * g->kappa; /* dg_S/dX's factor */
    for (int l = 0; l < W && W * b + (size_t)l < g->n_phi; l++) {
        hcmc__seg_sums *o = out + W * b + (size_t)l;
        memset(o, 0, sizeof *o);
        o->rr = rr[l];
        o->rh = rh[l];
        o->r = r1[l];
        if (!grad)
            continue;
        for (int c = 1; c < 4; c++) {
            o->gJ[c] = aj[c][l];
            o->gG[c] = du * ag[c][l];
        }
        const double f = g->kA[W * b + (size_t)l];
        o->gX = f != 0.0 ? du * gx[l] / f : 0.0;
    }
}

/* The grid's tables, then every block (grad a compile-time constant). */
static inline __attribute__((always_inline)) void
grid_run(const hcmc__grid *grid, hcmc__seg_sums *out, const int grad)
{
    const hcmc__grid copy = *grid, *g = &copy;
    grid_fill(g, grad);
    if (g->homodyne)
        for (size_t b = 0; b < g->n_blk; b++)
            grid_block(g, b, 1, grad, out);
    else
        for (size_t b = 0; b < g->n_blk; b++)
            grid_block(g, b, 0, grad, out);
}

static void KERNEL_NAME(run_grid)(const hcmc__grid *grid, hcmc__seg_sums *out)
{
    grid_run(grid, out, 1);
}

static void KERNEL_NAME(run_grid_value)(const hcmc__grid *grid, hcmc__seg_sums *out)
{
    grid_run(grid, out, 0);
}

static void KERNEL_NAME(phase_sincos_n)(size_t n, const double *x, double *s, double *c)
{
    for (size_t k = 0; k < n; k += W) {
        vd v = {0}, sn, cs;
        for (int l = 0; l < W && k + (size_t)l < n; l++)
            v[l] = x[k + (size_t)l];
        phase_sincos(v, &sn, &cs);
        for (int l = 0; l < W && k + (size_t)l < n; l++) {
            s[k + (size_t)l] = sn[l];
            c[k + (size_t)l] = cs[l];
        }
    }
}

/* y[k] = exp(x[k]), k < n, W at a time (y may be x). */
static void KERNEL_NAME(exp_n)(size_t n, const double *x, double *y)
{
    for (size_t k = 0; k < n; k += W) {
        vd v = {0};
        size_t m = n - k < W ? n - k : W;
        memcpy(&v, x + k, m * sizeof(double));
        v = VEXP(v);
        memcpy(y + k, &v, m * sizeof(double));
    }
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
