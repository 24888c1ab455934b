/* The coordinates of a rate law (see law.h): three intervals in closed
 * form, one after the other, and the map xi <-> theta with its Jacobian.
 *
 * Everything here runs once per log density evaluation and law: a few
 * logarithms, exponentials and normal distribution functions, nothing next
 * to the likelihood of a shard. The ends of each interval carry their
 * derivatives in the coordinates before it (the level's interval is fixed;
 * the interval of u moves with v1, that of b with u), because the position
 * inside an interval moves with its ends, and so does the Jacobian's log
 * of its length. */
#include "hcmc/law.h"

#include <math.h>
#include <string.h>

#include "hcmc/prior.h"

static const double LOG_SQRT_2PI = 0.91893853320467274178;
static const double SQRT_2PI = 2.50662827463100050242;

const char *hcmc_law_kind_name(hcmc_law_kind kind)
{
    switch (kind) {
    case HCMC_LAW_SHAPE:
        return "shape";
    case HCMC_LAW_RATES:
        return "rates";
    case HCMC_LAW_SLOPE:
        return "slope";
    }
    return "?";
}

double hcmc_law_reference_time(double t_min, double t_max)
{
    return sqrt(t_min * t_max);
}

static int check_bounds(const double lo[3], const double hi[3], hcmc_error *err)
{
    static const char *const what[3] = {"prefactor", "exponent", "offset"};
    for (int k = 0; k < 3; k++)
        if (!isfinite(lo[k]) || !isfinite(hi[k]) || !(lo[k] < hi[k]))
            return hcmc_error_set(err, HCMC_EINVAL,
                                  "rate law: bounds [%g, %g] of the %s are impossible",
                                  lo[k], hi[k], what[k]);
    return HCMC_OK;
}

int hcmc_law_init(hcmc_law *m, const double lo[3], const double hi[3], double t_r,
                  double w, hcmc_error *err)
{
    memset(m, 0, sizeof *m);
    int rc = check_bounds(lo, hi, err);
    if (rc)
        return rc;
    m->kind = HCMC_LAW_SHAPE;
    if (!(lo[0] > 0))
        return hcmc_error_set(err, HCMC_EUNSUPPORTED,
                              "rate law: the prefactor's lower bound %g is not above 0",
                              lo[0]);
    if (!(t_r > 0) || !isfinite(t_r) || !(w >= 0) || !isfinite(w))
        return hcmc_error_set(err, HCMC_EINVAL,
                              "rate law: reference time %g, slope scale %g", t_r, w);
    memcpy(m->lo, lo, sizeof m->lo);
    memcpy(m->hi, hi, sizeof m->hi);
    m->t_r = t_r;
    m->L = log(t_r);
    m->w = w;
    /* t_r^b is monotone in b */
    double e1 = exp(lo[1] * m->L), e2 = exp(hi[1] * m->L);
    m->e_lo = fmin(e1, e2);
    m->e_hi = fmax(e1, e2);
    m->v1_lo = lo[0] * m->e_lo + lo[2];
    m->v1_hi = hi[0] * m->e_hi + hi[2];
    if (!isfinite(m->v1_lo) || !isfinite(m->v1_hi) || !(m->e_lo > 0) ||
        !isfinite(m->e_hi))
        return hcmc_error_set(err, HCMC_EINVAL,
                              "rate law: the bounds give levels beyond double range");
    return HCMC_OK;
}

/* ---- the intervals -------------------------------------------------------- */

/* An interval and the derivatives of its ends in the coordinate before. */
typedef struct {
    double lo, hi, dlo, dhi;
} span;

/* What the offset's bounds leave e^u = v1 - c at level v1: (X1, X2), X1
 * possibly <= 0; false where that is nothing (X2 <= 0) or v1 not finite. */
static bool offset_room(const hcmc_law *m, double v1, double *X1, double *X2)
{
    *X1 = v1 - m->hi[2];
    *X2 = v1 - m->lo[2];
    return *X2 > 0 && isfinite(v1);
}

/* The u allowed at level v1: e^u = v1 - c in (v1 - c_hi, v1 - c_lo), and
 * e^u = a t_r^b in (a_lo e_lo, a_hi e_hi) for some b. */
static bool u_span(const hcmc_law *m, double v1, span *s)
{
    double X1, X2, flo = log(m->lo[0] * m->e_lo), fhi = log(m->hi[0] * m->e_hi);
    if (!offset_room(m, v1, &X1, &X2))
        return false;
    *s = (span){flo, fhi, 0, 0};
    if (X1 > 0 && log(X1) > flo)
        *s = (span){log(X1), s->hi, 1 / X1, 0};
    if (log(X2) < fhi) {
        s->hi = log(X2);
        s->dhi = 1 / X2;
    }
    return s->lo < s->hi;
}

/* The b allowed at u: b in (b_lo, b_hi) and a = exp(u - b L) in
 * (a_lo, a_hi), a linear bound on b where L is not 0. */
static bool b_span(const hcmc_law *m, double u, span *s)
{
    *s = (span){m->lo[1], m->hi[1], 0, 0};
    double L = m->L;
    if (L != 0) {
        double from_hi = (u - log(m->hi[0])) / L, from_lo = (u - log(m->lo[0])) / L;
        double blo = L > 0 ? from_hi : from_lo, bhi = L > 0 ? from_lo : from_hi;
        if (blo > s->lo)
            s->lo = blo, s->dlo = 1 / L;
        if (bhi < s->hi)
            s->hi = bhi, s->dhi = 1 / L;
    }
    return s->lo < s->hi;
}

/* The exponent's coordinate at u (law.h): q = k r2 + c0 with its centre c0
 * (at b = 0 where 0 lies in the middle 80 % of the span, else bent towards
 * 5 % from its nearer end) and scale k, and their derivatives in u. */
static void exponent_frame(const hcmc_law *m, double u, const span *B, double *c0,
                           double *dc0, double *k, double *dk)
{
    double dB = B->hi - B->lo, ddB = B->dhi - B->dlo;
    double f = -B->lo / dB, df = (-B->dlo * dB + B->lo * ddB) / (dB * dB);
    /* f kept within (0.05, 0.95): itself inside (0.1, 0.9), beyond that
     * approaching the limit exponentially with slope 1 where it joins, so
     * that c0 and its derivative stay continuous where 0 leaves the span
     * (a bound of the prefactor cutting a posterior peaked away from 0):
     * a hard limit there is a crease in the density (test_law:
     * test_centre_smooth) */
    if (f < 0.1) {
        double e = exp((f - 0.1) / 0.05);
        f = 0.05 + 0.05 * e;
        df *= e;
    } else if (f > 0.9) {
        double e = exp((0.9 - f) / 0.05);
        f = 0.95 - 0.05 * e;
        df *= e;
    }
    *c0 = hcmc_normal_quantile(f);
    *dc0 = df / exp(-0.5 * *c0 * *c0 - LOG_SQRT_2PI);
    if (!(m->w > 0)) {
        *k = 1;
        *dk = 0;
        return;
    }
    double g = exp(u) * dB / (SQRT_2PI * m->w), dg = g * (1 + ddB / dB);
    *k = 1 / (1 + g);
    *dk = -*k * *k * dg;
}

/* lo + (hi - lo) Phi(r), from the nearer end so that its digits are kept;
 * *F = Phi(r), *d = d/dr. */
static double along(double lo, double hi, double r, double *F, double *d)
{
    double w = hi - lo;
    *d = w * exp(-0.5 * r * r - LOG_SQRT_2PI);
    if (r <= 0) {
        *F = hcmc_normal_cdf(r);
        return fmin(lo + w * *F, hi);
    }
    double G = hcmc_normal_cdf(-r);
    *F = 1 - G;
    return fmax(hi - w * G, lo);
}

/* The inverse of along for v in (lo, hi). */
static double along_inverse(double lo, double hi, double v)
{
    double w = hi - lo, below = v - lo, above = hi - v;
    return below <= above ? hcmc_normal_quantile(below / w)
                          : -hcmc_normal_quantile(above / w);
}

/* ---- the u map of SLOPE ---------------------------------------------------- */

/* u's map in SLOPE coordinates (law.h): s -> u onto (lo, hi) carries the
 * standard normal to the reference density p(u) = exp(-min(y(u), Y_CAP)),
 * y(u) = exp(-2 (u - ue)) / 2 = (kappa / kscale)^2 / 2 where ue = log(v2^2
 * / kscale): flat where the law's curvature kappa = v2^2 e^-u is below its
 * scale, falling off as the likelihood of a law whose log-slope the data
 * fix falls off as kappa grows, so that this fall is a normal tail in s
 * instead of a cliff. Below y = Y_CAP (kappa 7.7 scales) the density is
 * flat again, so that every u of the interval stays within reach of s
 * (about |s| < 8) even where the scale is off: the map changes how u is
 * measured, never which u are allowed.
 *
 * With T the integral of p over (lo, hi) and c = min(max(uc, lo), hi),
 * uc where y = Y_CAP, the floor (lo, c) has mass A = e^-Y_CAP (c - lo) and
 * the rest B = (E1(y(hi)) - E1(y(c))) / 2 (E1 the exponential integral: p
 * du = -e^-y dy / (2 y)). du/ds = T phi(s) / p(u); moving an end moves u by
 * Phi(s) p(hi) / p(u) (upper) or Phi(-s) p(lo) / p(u) (lower), and log T
 * by p(hi) / T or -p(lo) / T. ue = -inf: the uniform map (along). */
static const double Y_CAP = 30;

/* log E1(x) for x > 0, and *cf = e^x E1(x) (what Newton's step on log E1
 * in log x needs: d log E1 / d log x = -e^-x / E1): its series up to 1,
 * Lentz's continued fraction beyond. */
static double log_e1(double x, double *cf)
{
    if (!(x < INFINITY)) {
        *cf = 0;
        return -INFINITY;
    }
    if (x <= 1) {
        double sum = 0, term = 1;
        for (int k = 1; k < 60; k++) {
            term *= -x / k; /* (-x)^k / k! */
            double add = -term / k;
            sum += add;
            if (fabs(add) <= 1e-17 * fabs(sum))
                break;
        }
        double v = -0.57721566490153286061 - log(x) + sum;
        *cf = exp(x) * v;
        return log(v);
    }
    double b = x + 1, c = 1e300, d = 1 / b, h = d;
    for (int i = 1; i < 300; i++) {
        double an = -(double)i * i;
        b += 2;
        d = 1 / (an * d + b);
        c = b + an / c;
        double del = c * d;
        h *= del;
        if (fabs(del - 1) <= 1e-16)
            break;
    }
    *cf = h;
    return log(h) - x;
}

/* log E1 at x = e^lx, also where x would round to 0 (far from the edge,
 * v2 near 0): there E1(x) = -gamma - lx + x + O(x^2). */
static double log_e1_at(double lx, double *cf)
{
    if (lx > -30)
        return log_e1(exp(lx), cf);
    double v = -0.57721566490153286061 - lx + exp(lx);
    *cf = v;
    return log(v);
}

static double log_y(double ue, double u)
{
    return -2 * (u - ue) - M_LN2;
}

static double logaddexp(double a, double b)
{
    double m = fmax(a, b);
    return m == -INFINITY ? m : m + log(exp(a - m) + exp(b - m));
}

/* log(e^a - e^b), a >= b */
static double logsubexp(double a, double b)
{
    return b == -INFINITY ? a : a + log1p(-exp(b - a));
}

/* The pieces of the reference density over (lo, hi). */
typedef struct {
    double lo, hi, ue, c; /* c: the floor's upper end */
    double lA, lB, lT;    /* log masses: floor, the rest, all */
    double lEc, lEhi;     /* log E1 of y at c and at hi */
    double ylo, yhi;      /* min(y, Y_CAP) at the ends */
} edge;

static void edge_init(edge *e, double lo, double hi, double ue)
{
    double cf, uc = ue - 0.5 * log(2 * Y_CAP);
    e->lo = lo;
    e->hi = hi;
    e->ue = ue;
    e->c = fmin(fmax(uc, lo), hi);
    e->lA = e->c > lo ? -Y_CAP + log(e->c - lo) : -INFINITY;
    e->lEc = log_e1_at(log_y(ue, e->c), &cf);
    e->lEhi = log_e1_at(log_y(ue, hi), &cf);
    e->lB = e->c < hi ? logsubexp(e->lEhi, e->lEc) - M_LN2 : -INFINITY;
    e->lT = logaddexp(e->lA, e->lB);
    e->ylo = fmin(exp(log_y(ue, lo)), Y_CAP);
    e->yhi = fmin(exp(log_y(ue, hi)), Y_CAP);
}

/* u and what the map's Jacobian needs. */
typedef struct {
    double u, du_ds, du_dlo, du_dhi; /* u and its derivatives */
    double logj;                     /* log du/ds */
    double dlogT_dlo, dlogT_dhi;     /* of log T */
    double y;                        /* d log p / du = -2 y (0 on the floor) */
} u_map;

/* The u above the floor where log E1(y(u)) = lE: Newton's method on log y
 * within (log y(hi), log y(c)), bisecting where it leaves the bracket. */
static double e1_root(const edge *e, double lE)
{
    double la = log_y(e->ue, e->hi), lb = log_y(e->ue, e->c), l = 0.5 * (la + lb), cf;
    for (int it = 0; it < 200; it++) {
        double h = log_e1_at(l, &cf) - lE;
        if (h > 0)
            la = l;
        else
            lb = l;
        double next = l + h * cf;
        if (!(next > la && next < lb))
            next = 0.5 * (la + lb);
        double step = fabs(next - l);
        l = next;
        if (step <= 1e-15 * (1 + fabs(l)) || lb - la <= 1e-15 * (1 + fabs(l)))
            break;
    }
    return e->ue - 0.5 * (l + M_LN2);
}

static int u_along(double lo, double hi, double ue, double s, u_map *o)
{
    double lp = -0.5 * s * s - LOG_SQRT_2PI;
    if (ue == -INFINITY) {
        double F;
        o->u = along(lo, hi, s, &F, &o->du_ds);
        o->du_dhi = F;
        o->du_dlo = 1 - F;
        o->logj = log(hi - lo) + lp;
        o->dlogT_dlo = -1 / (hi - lo);
        o->dlogT_dhi = 1 / (hi - lo);
        o->y = 0;
        return 0;
    }
    edge e;
    edge_init(&e, lo, hi, ue);
    double lPs = log(hcmc_normal_cdf(s)), lPms = log(hcmc_normal_cdf(-s)), u;
    if (s <= 0) { /* from below: mass T Phi(s) */
        double lR = e.lT + lPs;
        u = lR <= e.lA ? lo + exp(lR + Y_CAP)
                       : e1_root(&e, logaddexp(e.lEc, M_LN2 + logsubexp(lR, e.lA)));
    } else { /* from above: mass T Phi(-s) */
        double lR = e.lT + lPms;
        u = lR >= e.lB ? e.c - exp(logsubexp(lR, e.lB) + Y_CAP)
                       : e1_root(&e, logsubexp(e.lEhi, M_LN2 + lR));
    }
    if (!isfinite(u))
        return -1;
    o->u = fmin(fmax(u, lo), hi);
    double y = exp(log_y(ue, o->u)), yt = fmin(y, Y_CAP);
    o->y = y < Y_CAP ? y : 0;
    o->logj = e.lT + lp + yt;
    o->du_ds = exp(o->logj);
    o->du_dhi = exp(lPs - e.yhi + yt);
    o->du_dlo = exp(lPms - e.ylo + yt);
    o->dlogT_dhi = exp(-e.yhi - e.lT);
    o->dlogT_dlo = -exp(-e.ylo - e.lT);
    return isfinite(o->logj) ? 0 : -1;
}

/* The inverse of u_along for u in (lo, hi). */
static double u_along_inverse(double lo, double hi, double ue, double u)
{
    if (ue == -INFINITY)
        return along_inverse(lo, hi, u);
    edge e;
    edge_init(&e, lo, hi, ue);
    double below, above, cf; /* log masses below and above u */
    if (u <= e.c) {
        below = -Y_CAP + log(u - lo);
        above = logaddexp(e.lB, -Y_CAP + log(e.c - u));
    } else {
        double lEu = log_e1_at(log_y(ue, u), &cf);
        below = logaddexp(e.lA, logsubexp(lEu, e.lEc) - M_LN2);
        above = logsubexp(e.lEhi, lEu) - M_LN2;
    }
    below -= e.lT;
    above -= e.lT;
    return below <= above ? hcmc_normal_quantile(exp(below))
                          : -hcmc_normal_quantile(exp(above));
}

/* ---- the map ---------------------------------------------------------------- */

static int shape_to_theta(const hcmc_law *m, const double xi[3], double theta[3],
                          double M[9], double *logdet, double dlogdet[3])
{
    double r1 = xi[0], r2 = xi[1], s = xi[2];
    if (!isfinite(r1) || !isfinite(r2) || !isfinite(s))
        return -1;
    double F1, Fs, Fq, dv1, dus, dbq, c0, dc0, k, dk;
    span U, B;
    double v1 = along(m->v1_lo, m->v1_hi, r1, &F1, &dv1);
    if (!u_span(m, v1, &U))
        return -1;
    double u = along(U.lo, U.hi, s, &Fs, &dus);
    if (!b_span(m, u, &B))
        return -1;
    exponent_frame(m, u, &B, &c0, &dc0, &k, &dk);
    double q = k * r2 + c0;
    double b = along(B.lo, B.hi, q, &Fq, &dbq);
    double eu = exp(u), a = exp(u - b * m->L), c = v1 - eu;
    /* rounding may put a value a few ulps outside its bounds */
    theta[0] = fmin(fmax(a, m->lo[0]), m->hi[0]);
    theta[1] = fmin(fmax(b, m->lo[1]), m->hi[1]);
    theta[2] = fmin(fmax(c, m->lo[2]), m->hi[2]);
    if (!M)
        return 0;
    const double L = m->L;
    /* D = d(v1, u, b) / d(r1, r2, s): u moves with v1 (its ends), b with u
     * (its ends, centre and scale) */
    double u1 = U.dlo + Fs * (U.dhi - U.dlo);                       /* du/dv1 */
    double bu = B.dlo + Fq * (B.dhi - B.dlo) + dbq * (dk * r2 + dc0); /* db/du */
    double D[9] = {dv1, 0, 0, u1 * dv1, 0, dus, bu * u1 * dv1, dbq * k, bu * dus};
    /* P = d(a, b, c) / d(v1, u, b); M = P D */
    double P[9] = {0, a, -L * a, 0, 0, 1, 1, -eu, 0};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            M[3 * i + j] =
                P[3 * i] * D[j] + P[3 * i + 1] * D[3 + j] + P[3 * i + 2] * D[6 + j];
    /* log |det| = log V1 + log U(v1) + log dB(u) + log k(u) + (u - b L)
     *             - (r1^2 + s^2 + q^2) / 2 - 3 log sqrt(2 pi) */
    double dB = B.hi - B.lo;
    *logdet = log(m->v1_hi - m->v1_lo) + log(U.hi - U.lo) + log(dB) + log(k) + u - b * L -
              0.5 * (r1 * r1 + s * s + q * q) - 3 * LOG_SQRT_2PI;
    double gv1 = (U.dhi - U.dlo) / (U.hi - U.lo);                        /* in v1 */
    double gu = (B.dhi - B.dlo) / dB + dk / k + 1 - q * (dk * r2 + dc0); /* in u */
    for (int j = 0; j < 3; j++)
        dlogdet[j] = gv1 * D[j] + gu * D[3 + j] - L * D[6 + j];
    dlogdet[0] -= r1;
    dlogdet[1] -= q * k;
    dlogdet[2] -= s;
    return 0;
}

static int shape_from_theta(const hcmc_law *m, const double theta[3], double xi[3])
{
    double a = theta[0], b = theta[1], c = theta[2];
    double u = log(a) + b * m->L, v1 = exp(u) + c, c0, dc0, k, dk;
    span U, B;
    if (!(v1 > m->v1_lo && v1 < m->v1_hi) || !u_span(m, v1, &U) || !(u > U.lo && u < U.hi) ||
        !b_span(m, u, &B) || !(b > B.lo && b < B.hi))
        return -1;
    exponent_frame(m, u, &B, &c0, &dc0, &k, &dk);
    xi[0] = along_inverse(m->v1_lo, m->v1_hi, v1);
    xi[1] = (along_inverse(B.lo, B.hi, b) - c0) / k;
    xi[2] = along_inverse(U.lo, U.hi, u);
    return isfinite(xi[0]) && isfinite(xi[1]) && isfinite(xi[2]) ? 0 : -1;
}

double hcmc_law_slope(double t_r, const double theta[3], double grad[3])
{
    double L = log(t_r), e = exp(theta[1] * L), ap = theta[0] * e;
    if (grad) {
        grad[0] = theta[1] * e;
        grad[1] = ap * (1 + theta[1] * L);
        grad[2] = 0;
    }
    return theta[1] * ap;
}

/* ---- level, log-slope, shape (SLOPE) ---------------------------------------- */

/* The least 1 + L b over the exponents a SLOPE law allows. */
static const double SLOPE_MARGIN = 0.1;

double hcmc_law_slope_time(double b_lo, double b_hi, double t_min, double t_max)
{
    if (!(t_min > 0) || !(t_max >= t_min) || !isfinite(t_max))
        return 0;
    /* 1 + L b >= margin at both ends of the exponents: L in [Lmin, Lmax] */
    double k = 1 - SLOPE_MARGIN;
    double Lmin = b_hi > 0 ? -k / b_hi : -INFINITY, Lmax = b_lo < 0 ? k / -b_lo : INFINITY;
    Lmin = fmax(Lmin, log(t_min));
    Lmax = fmin(Lmax, log(t_max));
    if (!(Lmin <= Lmax))
        return 0;
    double L = fmin(fmax(0.5 * (log(t_min) + log(t_max)), Lmin), Lmax);
    return exp(L);
}

int hcmc_law_init_slope(hcmc_law *m, const double lo[3], const double hi[3], double t_r,
                        double kscale, hcmc_error *err)
{
    int rc = hcmc_law_init(m, lo, hi, t_r, kscale, err); /* w: the curvature's */
    if (rc)
        return rc;
    m->kind = HCMC_LAW_SLOPE;
    /* the guard rounds t_r as hcmc_law_slope_time computed it */
    if (!(1 + m->L * lo[1] >= SLOPE_MARGIN * (1 - 1e-12)) ||
        !(1 + m->L * hi[1] >= SLOPE_MARGIN * (1 - 1e-12)))
        return hcmc_error_set(err, HCMC_EUNSUPPORTED,
                              "rate law: at reference time %g the exponents [%g, %g] "
                              "leave the level and log-slope more than one law",
                              t_r, lo[1], hi[1]);
    return HCMC_OK;
}

/* Lambert's W on its principal branch, x >= -1/e (Halley's iteration). */
static double lambert_w0(double x)
{
    const double em1 = 0.36787944117144232160;
    if (!(x >= -em1))
        return NAN;
    if (x == 0)
        return 0;
    double w;
    if (x < -0.25) { /* near the branch point: its series */
        double p = sqrt(2 * (x / em1 + 1));
        w = -1 + p - p * p / 3 + 11.0 / 72 * p * p * p;
    } else if (x < 3) {
        w = log1p(x) * (1 - 0.3 * log1p(x) / (1 + log1p(x)));
    } else {
        double l1 = log(x), l2 = log(l1);
        w = l1 - l2 + l2 / l1;
    }
    for (int it = 0; it < 40; it++) {
        double e = exp(w), f = w * e - x, wp = w + 1;
        if (wp == 0)
            break;
        double dw = f / (e * wp - (w + 2) * f / (2 * wp));
        w -= dw;
        if (fabs(dw) <= 4e-16 * (1 + fabs(w)))
            break;
    }
    return w;
}

/* A line alpha u + beta b = gamma(v1) of the polygon the bounds cut in
 * (u, b) at level v1, with d gamma / d v1. */
typedef struct {
    double al, be, ga, dga;
} line;

/* The log-slopes b e^u allowed at v1 (their extremes over the polygon lie
 * at its vertices: along an edge of constant u or b the log-slope is
 * monotone, and along an edge of constant a, b e^(A + b L), it turns only
 * at 1 + b L = 0, outside the exponents a SLOPE law allows). */
static bool v2_span(const hcmc_law *m, double v1, span *S)
{
    double X1, X2;
    if (!offset_room(m, v1, &X1, &X2))
        return false;
    double A = log(m->lo[0]), B = log(m->hi[0]), L = m->L;
    line ln[6];
    int n = 0;
    if (X1 > 0)
        ln[n++] = (line){1, 0, log(X1), 1 / X1};
    ln[n++] = (line){1, 0, log(X2), 1 / X2};
    ln[n++] = (line){0, 1, m->lo[1], 0};
    ln[n++] = (line){0, 1, m->hi[1], 0};
    ln[n++] = (line){1, -L, A, 0};
    ln[n++] = (line){1, -L, B, 0};
    double ulo = X1 > 0 ? log(X1) : -INFINITY, uhi = log(X2);
    double tb = 1e-9 * (m->hi[1] - m->lo[1]), tu = 1e-9 * (1 + fabs(uhi));
    bool any = false;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            double det = ln[i].al * ln[j].be - ln[j].al * ln[i].be;
            if (fabs(det) < 1e-300)
                continue;
            double u = (ln[i].ga * ln[j].be - ln[j].ga * ln[i].be) / det;
            double b = (ln[i].al * ln[j].ga - ln[j].al * ln[i].ga) / det;
            double r = u - b * L;
            if (!(u >= ulo - tu && u <= uhi + tu && b >= m->lo[1] - tb &&
                  b <= m->hi[1] + tb && r >= A - tu && r <= B + tu))
                continue;
            double du = (ln[i].dga * ln[j].be - ln[j].dga * ln[i].be) / det;
            double db = (ln[i].al * ln[j].dga - ln[j].al * ln[i].dga) / det;
            double eu = exp(u), v = b * eu, dv = (db + b * du) * eu;
            if (!any || v < S->lo)
                S->lo = v, S->dlo = dv;
            if (!any || v > S->hi)
                S->hi = v, S->dhi = dv;
            any = true;
        }
    return any && S->lo < S->hi;
}

/* An interval of u with the derivatives of its ends in v1 and v2. */
typedef struct {
    double lo, hi, lo1, lo2, hi1, hi2;
} uspan;

static void raise_lo(uspan *U, double v, double d1, double d2)
{
    if (v > U->lo)
        U->lo = v, U->lo1 = d1, U->lo2 = d2;
}

static void lower_hi(uspan *U, double v, double d1, double d2)
{
    if (v < U->hi)
        U->hi = v, U->hi1 = d1, U->hi2 = d2;
}

/* The root of g(u) = u - L v2 e^-u = K on the branch where g increases
 * (1 + L b >= 0 there), and its derivative in v2; false where g > K for
 * every u. */
static bool a_root(double L, double v2, double K, double *u, double *du)
{
    double y = lambert_w0(L * v2 * exp(-K));
    if (!isfinite(y))
        return false;
    *u = K + y;
    *du = 1 + y > 0 ? L * exp(-*u) / (1 + y) : 0;
    return true;
}

/* The u allowed at (v1, v2): e^u in (v1 - c_hi, v1 - c_lo) from the offset,
 * b = v2 e^-u in the exponent's bounds, and a = exp(g(u)) in the
 * prefactor's (one interval: g increases wherever b is allowed). */
static bool u_span_slope(const hcmc_law *m, double v1, double v2, uspan *U)
{
    double X1, X2, bl = m->lo[1], bh = m->hi[1];
    if (!offset_room(m, v1, &X1, &X2) || !isfinite(v2))
        return false;
    *U = (uspan){-INFINITY, log(X2), 0, 0, 1 / X2, 0};
    if (X1 > 0)
        raise_lo(U, log(X1), 1 / X1, 0);
    if (v2 > 0) {
        if (!(bh > 0))
            return false;
        raise_lo(U, log(v2 / bh), 0, 1 / v2);
        if (bl > 0)
            lower_hi(U, log(v2 / bl), 0, 1 / v2);
    } else if (v2 < 0) {
        if (!(bl < 0))
            return false;
        raise_lo(U, log(v2 / bl), 0, 1 / v2);
        if (bh < 0)
            lower_hi(U, log(v2 / bh), 0, 1 / v2);
    } else if (!(bl < 0 && bh > 0)) {
        return false;
    }
    double r, dr;
    if (a_root(m->L, v2, log(m->lo[0]), &r, &dr))
        raise_lo(U, r, 0, dr);
    if (!a_root(m->L, v2, log(m->hi[0]), &r, &dr))
        return false;
    lower_hi(U, r, 0, dr);
    return U->lo < U->hi;
}

/* Where the curvature kappa = v2^2 e^-u reaches its scale: ue = log(v2^2 /
 * kscale); -inf (no edge) without a scale or at v2 = 0. */
static double slope_edge(const hcmc_law *m, double v2)
{
    if (!(m->w > 0) || v2 == 0)
        return -INFINITY;
    return 2 * log(fabs(v2)) - log(m->w);
}

static int slope_to_theta(const hcmc_law *m, const double xi[3], double theta[3],
                          double M[9], double *logdet, double dlogdet[3])
{
    double r1 = xi[0], r2 = xi[1], s = xi[2];
    if (!isfinite(r1) || !isfinite(r2) || !isfinite(s))
        return -1;
    double F1, F2, dv1, dv2;
    span P;
    uspan U;
    u_map um;
    double v1 = along(m->v1_lo, m->v1_hi, r1, &F1, &dv1);
    if (!v2_span(m, v1, &P))
        return -1;
    double v2 = along(P.lo, P.hi, r2, &F2, &dv2);
    if (!u_span_slope(m, v1, v2, &U))
        return -1;
    double ue = slope_edge(m, v2);
    if (u_along(U.lo, U.hi, ue, s, &um))
        return -1;
    double u = um.u, dus = um.du_ds;
    const double L = m->L;
    double eu = exp(u), emu = exp(-u), b = v2 * emu, a = exp(u - b * L), c = v1 - eu;
    theta[0] = fmin(fmax(a, m->lo[0]), m->hi[0]);
    theta[1] = fmin(fmax(b, m->lo[1]), m->hi[1]);
    theta[2] = fmin(fmax(c, m->lo[2]), m->hi[2]);
    if (!M)
        return 0;
    /* the edge moves with v2: u depends on (lo - ue, hi - ue, s) only */
    double due = ue == -INFINITY ? 0 : 2 / v2;
    double du_due = 1 - um.du_dlo - um.du_dhi;
    /* D = d(v1, v2, u) / d(r1, r2, s), lower triangular */
    double p1 = P.dlo + F2 * (P.dhi - P.dlo);          /* dv2/dv1 at fixed r2 */
    double q1 = um.du_dlo * U.lo1 + um.du_dhi * U.hi1; /* du/dv1 at fixed v2, s */
    double q2 = um.du_dlo * U.lo2 + um.du_dhi * U.hi2 + du_due * due; /* du/dv2 */
    double D[9] = {dv1, 0, 0, p1 * dv1, dv2, 0, (q1 + q2 * p1) * dv1, q2 * dv2, dus};
    /* Pm = d(a, b, c) / d(v1, v2, u) */
    double Pm[9] = {0, -a * L * emu, a * (1 + L * b), 0, emu, -b, 1, 0, -eu};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            M[3 * i + j] =
                Pm[3 * i] * D[j] + Pm[3 * i + 1] * D[3 + j] + Pm[3 * i + 2] * D[6 + j];
    double Pw = P.hi - P.lo;
    *logdet = -b * L + log(m->v1_hi - m->v1_lo) + log(Pw) + um.logj -
              0.5 * (r1 * r1 + r2 * r2) - 2 * LOG_SQRT_2PI;
    /* its gradient in (v1, v2, u), then through D; log T moves with the
     * ends and the edge, y(u) = exp(-2 (u - ue)) / 2 with u and the edge */
    double dT_due = -(um.dlogT_dlo + um.dlogT_dhi);
    double g1 = (P.dhi - P.dlo) / Pw + um.dlogT_dlo * U.lo1 + um.dlogT_dhi * U.hi1;
    double g2 = -L * emu + um.dlogT_dlo * U.lo2 + um.dlogT_dhi * U.hi2 +
                (dT_due + 2 * um.y) * due;
    double gu = L * b - 2 * um.y;
    for (int j = 0; j < 3; j++)
        dlogdet[j] = g1 * D[j] + g2 * D[3 + j] + gu * D[6 + j];
    dlogdet[0] -= r1;
    dlogdet[1] -= r2;
    dlogdet[2] -= s;
    return 0;
}

static int slope_from_theta(const hcmc_law *m, const double theta[3], double xi[3])
{
    double a = theta[0], b = theta[1], c = theta[2];
    double u = log(a) + b * m->L, eu = exp(u), v1 = eu + c, v2 = b * eu;
    span P;
    uspan U;
    if (!(v1 > m->v1_lo && v1 < m->v1_hi) || !v2_span(m, v1, &P) ||
        !(v2 > P.lo && v2 < P.hi) || !u_span_slope(m, v1, v2, &U) ||
        !(u > U.lo && u < U.hi))
        return -1;
    xi[0] = along_inverse(m->v1_lo, m->v1_hi, v1);
    xi[1] = along_inverse(P.lo, P.hi, v2);
    xi[2] = u_along_inverse(U.lo, U.hi, slope_edge(m, v2), u);
    return isfinite(xi[0]) && isfinite(xi[1]) && isfinite(xi[2]) ? 0 : -1;
}

/* ---- reference rates -------------------------------------------------------- */

int hcmc_law_init_rates(hcmc_law *m, const double lo[3], const double hi[3],
                        double t_max, hcmc_error *err)
{
    memset(m, 0, sizeof *m);
    int rc = check_bounds(lo, hi, err);
    if (rc)
        return rc;
    if (!(t_max > 0) || !isfinite(t_max))
        return hcmc_error_set(err, HCMC_EINVAL, "rate law: last frame time %g", t_max);
    memcpy(m->lo, lo, sizeof m->lo);
    memcpy(m->hi, hi, sizeof m->hi);
    m->kind = HCMC_LAW_RATES;
    m->t[0] = t_max / 16;
    m->t[1] = t_max / 4;
    m->t[2] = t_max;
    return HCMC_OK;
}

/* 3 x 3 inverse by cofactors; non-zero when singular. */
static int inv3(const double *A, double *B)
{
    double c00 = A[4] * A[8] - A[5] * A[7], c01 = A[5] * A[6] - A[3] * A[8],
           c02 = A[3] * A[7] - A[4] * A[6];
    double det = A[0] * c00 + A[1] * c01 + A[2] * c02;
    if (!(fabs(det) > 0) || !isfinite(det))
        return -1;
    B[0] = c00 / det;
    B[1] = (A[2] * A[7] - A[1] * A[8]) / det;
    B[2] = (A[1] * A[5] - A[2] * A[4]) / det;
    B[3] = c01 / det;
    B[4] = (A[0] * A[8] - A[2] * A[6]) / det;
    B[5] = (A[2] * A[3] - A[0] * A[5]) / det;
    B[6] = c02 / det;
    B[7] = (A[1] * A[6] - A[0] * A[7]) / det;
    B[8] = (A[0] * A[4] - A[1] * A[3]) / det;
    return 0;
}

static double det3(const double *A)
{
    return A[0] * (A[4] * A[8] - A[5] * A[7]) - A[1] * (A[3] * A[8] - A[5] * A[6]) +
           A[2] * (A[3] * A[7] - A[4] * A[6]);
}

/* xi = log f at the three reference times, geometric with ratio 4: the
 * exponent from the ratio of the rates' differences, 4^b, then a and c
 * linearly. With J_k = a u_k + c, u_k = t_k^b, L_k = ln t_k:
 *   A = d xi / d theta, rows (u_k, a u_k L_k, 1) / J_k,
 *   log |det A| = log |a| + log |D(b)| - sum log J_k, D(b) = det(u_k, u_k L_k,
 *   1) and D'(b) = det(u_k, u_k L_k^2, 1);
 * M = A^-1, log |det M| = -log |det A|, and its gradient in xi is A^-T
 * times its gradient in theta. */
static int rates_to_theta(const hcmc_law *m, const double xi[3], double theta[3],
                          double M[9], double *logdet, double dlogdet[3])
{
    if (!isfinite(xi[0]) || !isfinite(xi[1]) || !isfinite(xi[2]))
        return -1;
    double v1 = exp(xi[0]), v2 = exp(xi[1]), v3 = exp(xi[2]);
    double d1 = v2 - v1, d2 = v3 - v2;
    /* a constant law (ratio 1) has no exponent */
    if (!(d1 != 0 && d2 / d1 > 0 && d2 != d1))
        return -1;
    double b = log(d2 / d1) / log(4.0), u1 = pow(m->t[0], b);
    double a = d1 * d1 / (u1 * (d2 - d1)); /* d1 / (u1 (4^b - 1)) */
    double c = v1 - a * u1;
    double th[3] = {a, b, c};
    for (int k = 0; k < 3; k++)
        if (!(th[k] > m->lo[k] && th[k] < m->hi[k]))
            return -1;
    memcpy(theta, th, sizeof th);
    if (!M)
        return 0;
    double A[9], D1[9], D2[9], g[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++) {
        double u = pow(m->t[k], b), L = log(m->t[k]), J = a * u + c;
        A[3 * k] = u / J;
        A[3 * k + 1] = a * u * L / J;
        A[3 * k + 2] = 1 / J;
        D1[3 * k] = D2[3 * k] = u;
        D1[3 * k + 1] = u * L;
        D2[3 * k + 1] = u * L * L;
        D1[3 * k + 2] = D2[3 * k + 2] = 1;
        g[0] += u / J; /* d sum log J_k / d theta */
        g[1] += a * u * L / J;
        g[2] += 1 / J;
    }
    double D = det3(D1);
    if (!(fabs(D) > 0) || inv3(A, M))
        return -1;
    *logdet = -log(fabs(a)) - log(fabs(D));
    for (int k = 0; k < 3; k++)
        *logdet += xi[k]; /* + sum log J_k */
    double gt[3] = {-1 / a + g[0], -det3(D2) / D + g[1], g[2]};
    for (int j = 0; j < 3; j++)
        dlogdet[j] = M[j] * gt[0] + M[3 + j] * gt[1] + M[6 + j] * gt[2];
    return 0;
}

static int rates_from_theta(const hcmc_law *m, const double theta[3], double xi[3])
{
    for (int k = 0; k < 3; k++) {
        double v = theta[0] * pow(m->t[k], theta[1]) + theta[2];
        if (!(v > 0) || !isfinite(v))
            return -1;
        xi[k] = log(v);
    }
    return 0;
}

/* ---- either kind ------------------------------------------------------------ */

int hcmc_law_to_theta(const hcmc_law *m, const double xi[3], double theta[3],
                      double M[9], double *logdet, double dlogdet[3])
{
    switch (m->kind) {
    case HCMC_LAW_RATES:
        return rates_to_theta(m, xi, theta, M, logdet, dlogdet);
    case HCMC_LAW_SLOPE:
        return slope_to_theta(m, xi, theta, M, logdet, dlogdet);
    default:
        return shape_to_theta(m, xi, theta, M, logdet, dlogdet);
    }
}

int hcmc_law_from_theta(const hcmc_law *m, const double theta[3], double xi[3])
{
    for (int k = 0; k < 3; k++)
        if (!(theta[k] > m->lo[k] && theta[k] < m->hi[k]))
            return -1;
    switch (m->kind) {
    case HCMC_LAW_RATES:
        return rates_from_theta(m, theta, xi);
    case HCMC_LAW_SLOPE:
        return slope_from_theta(m, theta, xi);
    default:
        return shape_from_theta(m, theta, xi);
    }
}
