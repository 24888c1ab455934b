/* The points table: the (t1, t2) pairs of every angle that a likelihood
 * sums over, stored by angle for the kernels; its checks, subsets (shards)
 * and the robust noise scale that sets sigma's prior. */
#include "hcmc/points.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

int hcmc_points_init(hcmc_points *p, size_t n, size_t n_phi, size_t n_t,
                     hcmc_error *err)
{
    memset(p, 0, sizeof *p);
    p->n = n;
    p->n_phi = n_phi;
    p->n_t = n_t;
    size_t nn = n ? n : 1;
    p->phi = calloc(n_phi ? n_phi : 1, sizeof *p->phi);
    p->angle_start = calloc(n_phi + 1, sizeof *p->angle_start);
    p->i = malloc(nn * sizeof *p->i);
    p->j = malloc(nn * sizeof *p->j);
    p->y = malloc(nn * sizeof *p->y);
    if (!p->phi || !p->angle_start || !p->i || !p->j || !p->y) {
        hcmc_points_release(p);
        return hcmc_error_set(err, HCMC_ENOMEM,
                              "out of memory for a points table of %zu points", n);
    }
    return HCMC_OK;
}

void hcmc_points_release(hcmc_points *p)
{
    if (!p)
        return;
    free(p->phi);
    free(p->angle_start);
    free(p->i);
    free(p->j);
    free(p->y);
    memset(p, 0, sizeof *p);
}

int hcmc_points_check(const hcmc_points *p, hcmc_error *err)
{
    if (p->n_phi == 0 || p->n == 0)
        return hcmc_error_set(err, HCMC_ENODATA,
                              "points table is empty (%zu points, %zu angles)", p->n,
                              p->n_phi);
    if (p->n_t < 3 || p->n_t > 65535)
        return hcmc_error_set(err, HCMC_EINVAL,
                              "points table has %zu frames: need 3 to 65535", p->n_t);
    if (p->angle_start[0] != 0 || p->angle_start[p->n_phi] != p->n)
        return hcmc_error_set(err, HCMC_EINVAL,
                              "points table angle ranges do not cover its %zu "
                              "points",
                              p->n);
    for (size_t a = 0; a < p->n_phi; a++) {
        if (p->angle_start[a] > p->angle_start[a + 1])
            return hcmc_error_set(err, HCMC_EINVAL,
                                  "points table angle %zu has a negative range", a);
        if (!(p->phi[a] > -180.0 && p->phi[a] <= 180.0))
            return hcmc_error_set(err, HCMC_EINVAL,
                                  "angle %zu: phi = %g is not in (-180, 180]", a,
                                  p->phi[a]);
    }
    for (size_t k = 0; k < p->n; k++) {
        if (!(p->i[k] >= 1 && p->i[k] < p->j[k] && p->j[k] < p->n_t))
            return hcmc_error_set(err, HCMC_EINVAL,
                                  "point %zu has frames (%u, %u): need "
                                  "1 <= i < j < %zu",
                                  k, p->i[k], p->j[k], p->n_t);
        if (!isfinite(p->y[k]))
            return hcmc_error_set(err, HCMC_ENUMERIC,
                                  "point %zu has a non-finite value", k);
    }
    return HCMC_OK;
}

int hcmc_points_subset(const hcmc_points *src, const size_t *idx, size_t m,
                       hcmc_points *dst, hcmc_error *err)
{
    int rc = hcmc_points_init(dst, m, src->n_phi, src->n_t, err);
    if (rc)
        return rc;
    memcpy(dst->phi, src->phi, src->n_phi * sizeof *src->phi);
    /* angle of each source point is found by binary search on angle_start */
    size_t *count = dst->angle_start; /* counts first, then prefix sums */
    size_t *angle_of = malloc((m ? m : 1) * sizeof *angle_of);
    if (!angle_of) {
        hcmc_points_release(dst);
        return hcmc_error_set(err, HCMC_ENOMEM, "out of memory for a subset");
    }
    for (size_t k = 0; k < m; k++) {
        if (idx[k] >= src->n) {
            free(angle_of);
            hcmc_points_release(dst);
            return hcmc_error_set(err, HCMC_EINVAL,
                                  "subset index %zu is beyond the %zu points", idx[k],
                                  src->n);
        }
        size_t lo = 0, hi = src->n_phi; /* angle_start[lo] <= idx < [hi] */
        while (hi - lo > 1) {
            size_t mid = (lo + hi) / 2;
            if (src->angle_start[mid] <= idx[k])
                lo = mid;
            else
                hi = mid;
        }
        angle_of[k] = lo;
        count[lo + 1]++;
    }
    for (size_t a = 0; a < src->n_phi; a++)
        count[a + 1] += count[a];
    size_t *fill = calloc(src->n_phi ? src->n_phi : 1, sizeof *fill);
    if (!fill) {
        free(angle_of);
        hcmc_points_release(dst);
        return hcmc_error_set(err, HCMC_ENOMEM, "out of memory for a subset");
    }
    for (size_t k = 0; k < m; k++) {
        size_t a = angle_of[k], to = dst->angle_start[a] + fill[a]++;
        dst->i[to] = src->i[idx[k]];
        dst->j[to] = src->j[idx[k]];
        dst->y[to] = src->y[idx[k]];
    }
    free(fill);
    free(angle_of);
    return HCMC_OK;
}

size_t hcmc_points_pairs(const hcmc_points *p)
{
    if (p->n_phi == 0 || p->n == 0)
        return 0;
    size_t n = p->angle_start[1] - p->angle_start[0];
    if (p->angle_start[0] != 0 || p->n != n * p->n_phi)
        return 0;
    for (size_t a = 1; a < p->n_phi; a++) {
        size_t a0 = p->angle_start[a];
        if (p->angle_start[a + 1] - a0 != n ||
            memcmp(p->i, p->i + a0, n * sizeof *p->i) ||
            memcmp(p->j, p->j + a0, n * sizeof *p->j))
            return 0;
    }
    return n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The k-th smallest of v[0..n) moved to v[k], smaller ones before it and
 * larger ones after (Hoare partitions about a median of three; expected
 * O(n)). After 64 partitions that have not found it (pivots chosen badly
 * again and again) the rest is sorted, so that no input costs more than
 * O(n log n). NaNs stop both scans, so it ends whatever the data, as a
 * sort with an inconsistent comparison would. */
static void select_kth(double *v, size_t n, size_t k)
{
    ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1, kk = (ptrdiff_t)k;
    for (int rounds = 0; lo < hi; rounds++) {
        if (rounds == 64) {
            qsort(v + lo, (size_t)(hi - lo + 1), sizeof *v, cmp_double);
            return;
        }
        ptrdiff_t mid = lo + (hi - lo) / 2;
        double t;
#define SWAP_(a, b) (t = v[a], v[a] = v[b], v[b] = t)
        if (v[mid] < v[lo])
            SWAP_(mid, lo);
        if (v[hi] < v[lo])
            SWAP_(hi, lo);
        if (v[hi] < v[mid])
            SWAP_(hi, mid);
        double pivot = v[mid];
        ptrdiff_t i = lo, j = hi;
        while (i <= j) {
            while (i <= hi && v[i] < pivot)
                i++;
            while (j >= lo && pivot < v[j])
                j--;
            if (i <= j) {
                SWAP_(i, j);
                i++;
                j--;
            }
        }
#undef SWAP_
        if (kk <= j)
            hi = j;
        else if (kk >= i)
            lo = i;
        else
            return; /* j < k < i: v[k] equals the pivot */
    }
}

double hcmc_quantile_inplace(double *v, size_t n, double q)
{
    double pos = q * (double)(n - 1);
    size_t k = (size_t)floor(pos);
    if (k >= n - 1)
        k = n - 1;
    select_kth(v, n, k);
    if (k + 1 >= n)
        return v[k];
    double next = v[k + 1]; /* the smallest of those after k */
    for (size_t m = k + 2; m < n; m++)
        if (v[m] < next)
            next = v[m];
    double f = pos - (double)k;
    return v[k] + f * (next - v[k]);
}

int hcmc_points_noise_scale(const hcmc_points *p, double *s_y, hcmc_error *err)
{
    if (p->n == 0)
        return hcmc_error_set(err, HCMC_ENODATA,
                              "cannot estimate the noise scale of no points");
    double *v = malloc(p->n * sizeof *v);
    if (!v)
        return hcmc_error_set(err, HCMC_ENOMEM, "out of memory for the noise scale");
    memcpy(v, p->y, p->n * sizeof *v);
    double med = hcmc_quantile_inplace(v, p->n, 0.5);
    for (size_t k = 0; k < p->n; k++)
        v[k] = fabs(p->y[k] - med);
    double mad = hcmc_quantile_inplace(v, p->n, 0.5);
    free(v);
    *s_y = fmax(1.4826 * mad, 1e-3);
    return HCMC_OK;
}
