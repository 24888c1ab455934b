#!/usr/bin/env python3
"""Independent reference values of c2 for tests/test_model.c.

Implements MODEL.md section 2 directly in Python's float arithmetic (no
shared code with hcmc): rates on the grid with t_0 = dt/2, cumulative
trapezoid, g_D, and the shear factor of each convention. Run it to
regenerate the table printed into the test.
"""
import math

def rate(t, a, e, off):
    return max(a * t ** e + off, 1e-10)

def cumtrapz(dt, n, a, e, off):
    ts = [dt / 2] + [k * dt for k in range(1, n)]
    f = [rate(t, a, e, off) for t in ts]
    c = [0.0]
    for k in range(1, n):
        c.append(c[-1] + dt * (f[k - 1] + f[k]) / 2)
    return c

def sinc(u):
    return 1 - u * u / 6 + u ** 4 / 120 if abs(u) < 1e-4 else math.sin(u) / u

def c2(case, i, j):
    q, L, dt, n, phys, phi, contrast, offset, conv = case
    D0, alpha, Doff = phys[:3]
    cj = cumtrapz(dt, n, D0, alpha, Doff)
    g = math.exp(-q * q * (cj[j] - cj[i]))
    if len(phys) == 7:
        g0, beta, goff, phi0 = phys[3:]
        cg = cumtrapz(dt, n, g0, beta, goff)
        X = q * L * math.cos(math.radians(phi0 - phi)) * (cg[j] - cg[i])
        if conv == "homodyne":
            g *= sinc(X / (2 * math.pi)) ** 4
        else:
            g *= sinc(X / 2) ** 2
    return offset + contrast * g

CASES = [
    # q, L, dt, n_t, phys, phi, contrast, offset, convention
    (0.0054, 2e6, 0.1, 50, (1000.0, -0.5, 10.0), 0.0, 0.3, 1.0, "physical"),
    (0.01, 2e6, 0.5, 40, (250.0, 0.8, -50.0), 30.0, 0.6, 0.95, "physical"),
    (0.0054, 2e6, 0.1, 50, (1000.0, -0.5, 10.0, 0.002, -0.3, 1e-4, 4.0), 30.0, 0.3, 1.0, "physical"),
    (0.0054, 2e6, 0.1, 50, (1000.0, -0.5, 10.0, 0.002, -0.3, 1e-4, 4.0), 30.0, 0.3, 1.0, "homodyne"),
    (0.003, 1e6, 0.05, 60, (5000.0, 1.2, 0.0, 0.01, 0.5, -0.001, -5.0), -120.0, 0.2, 1.1, "physical"),
    (0.003, 1e6, 0.05, 60, (5000.0, 1.2, 0.0, 0.01, 0.5, -0.001, -5.0), -120.0, 0.2, 1.1, "homodyne"),
]
PAIRS = [(1, 2), (1, 49), (3, 17), (10, 30), (20, 39)]

if __name__ == "__main__":
    for ci, case in enumerate(CASES):
        for i, j in PAIRS:
            if j < case[3]:
                print("    {%d, %d, %d, %.17g}," % (ci, i, j, c2(case, i, j)))
