"""Writes diag_draws.csv: a fixed set of draws (4 chains x 251 draws, three
quantities) on which hcmc's diagnostics are compared with R's `posterior`.
251 draws per chain exercise the dropped middle draw of split chains;
`skewed` has a shifted chain; `discrete` has many ties."""
import math
import random

rng = random.Random(20261124)
rows = []
for chain in range(4):
    x = 0.0
    for draw in range(251):
        x = 0.6 * x + rng.gauss(0.0, 1.0)
        skewed = math.exp(0.5 * x) + (0.3 if chain == 2 else 0.0)
        discrete = math.floor(3.0 * rng.random()) + (1 if chain == 0 and draw % 7 == 0 else 0)
        rows.append((chain + 1, draw + 1, x, skewed, discrete))
with open("diag_draws.csv", "w") as f:
    f.write("chain,draw,ar1,skewed,discrete\n")
    for r in rows:
        f.write("%d,%d,%r,%r,%d\n" % r)
