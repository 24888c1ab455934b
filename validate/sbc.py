#!/usr/bin/python3
"""Simulation-based calibration (Talts et al. 2018) of one NUTS run on the
static model, or (--shards K) of consensus Monte Carlo with K shards and
its importance correction. Usage: sbc.py HCMC WORKDIR [REPLICATIONS [SEED]]
[--shards K].

Each replication draws D0, alpha and D_offset from their priors (Uniform on
the bounds below), simulates a small APS file with them (1 angle x 60
frames, 1 770 points, noise 0.02), runs `hcmc run` with hcmc's default
settings and the same priors, and records the rank of each true value among
L = 99 posterior draws taken evenly from the pooled chains (every 60th of
the 6 000 draws: well above the autocorrelation time on such a file, so the
draws are close to independent). If the sampler draws from the posterior,
each rank is uniform on 0..L. The ranks go into 10 bins of 10; the test is
Pearson's chi-square against 10 equal bins (9 degrees of freedom), and
calibration holds when p > 0.01 for every parameter.

The bounds are narrower than homodyne's defaults so that every draw gives
a decaying correlation inside the window and a diffusion coefficient above
0 over it; they still put alpha = 0 inside and leave D_offset to the prior
(its posterior is as wide as its bounds on such a file). contrast, offset
and the noise are fixed in the simulation (0.3, 1.0, 0.02): the data fix
them to a small fraction of their prior width, so their prior does not
enter the ranks of the physical parameters to any measurable degree.

A replication whose run fails (exit status not 0: its diagnostics failed)
still yields its draws and is counted; the table says how many. With
--shards K the file has 120 frames (7 140 points, about 1 800 a shard)
and the draws are the combined (and, where applied, importance corrected)
ones of posterior.nc, taken the same way: a combination that is too narrow
or shifted shows as a U-shaped or tilted rank histogram. A replication
whose shards could not be combined at all (too many failed shards) has no
draws: it is left out and counted. Prints `BENCH sbc.*` lines; exit status 1 when a p-value is at
most 0.01.

--paired (with --shards K) also runs one NUTS run on all points of every
replication's file and prints its SBC beside CMC's, the histograms of the
runs whose importance correction was applied and refused, and per
parameter the rank difference CMC - one run (mean, sd) and the rank
correlation. The two SBCs then share truths and noise, so an unlucky set
of truths shows in both; the paired differences are CMC's own error (their
sd is about 5.5 of 99 where both draw from the posterior: the Monte Carlo
noise of two samplers' 99 draws). The pass criterion stays CMC's SBC."""
import glob
import json
import math
import os
import random
import concurrent.futures
import subprocess
import sys

import h5py
import numpy as np

BOUNDS = {"D0": (1000.0, 50000.0), "alpha": (-1.5, 0.5), "D_offset": (0.0, 1000.0)}
L = 99
BINS = 10


def chi2_sf(x, k):
    """P(X > x) for X chi-square with k degrees of freedom: the regularised
    upper incomplete gamma Q(k/2, x/2), by its series below a + 1 and its
    continued fraction above."""
    a, z = k / 2.0, x / 2.0
    if z <= 0:
        return 1.0
    lg = a * math.log(z) - z - math.lgamma(a)
    if z < a + 1:
        s, term, n = 1.0 / a, 1.0 / a, a
        while abs(term) > 1e-15 * abs(s):
            n += 1
            term *= z / n
            s += term
        return 1.0 - s * math.exp(lg)
    b, c, d = z + 1 - a, 1e300, 1.0 / (z + 1 - a)
    h = d
    for i in range(1, 500):
        an = -i * (i - a)
        b += 2
        d = 1.0 / (an * d + b)
        c = b + an / c
        h *= c * d
        if abs(c * d - 1) < 1e-15:
            break
    return math.exp(lg) * h


def write_config(data, path, shards):
    lines = ["analysis_mode: static", "experimental_data:", f"  file_path: {data}",
             "analyzer_parameters:", "  dt: 0.1", "  start_frame: 1", "  end_frame: -1",
             "  scattering:", "    wavevector_q: 0.0054",
             "parameter_space:", "  bounds:"]
    for p, (lo, hi) in BOUNDS.items():
        lines.append(f"    - {{name: {p}, min: {lo!r}, max: {hi!r}, type: Uniform}}")
    if shards > 1:
        lines += ["optimization:", "  cmc:", "    enable: true", "    sharding:",
                  f"      num_shards: {shards}"]
    open(path, "w").write("\n".join(lines) + "\n")


def one_run_draws(out, what, log):
    """The pooled draws of each parameter of BOUNDS from the shard file of
    a one-shard run in out (a run whose diagnostics failed has one too)."""
    shard = glob.glob(os.path.join(out, "shards", "*.h5"))
    if not shard:
        sys.exit(f"sbc: {what}: no shard file (see {log})")
    with h5py.File(shard[0], "r") as f:
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in f["names"][:]]
        th = f["theta"][:]
    th = th.reshape(-1, th.shape[-1])
    return {p: th[:, names.index(p)] for p in BOUNDS}


def rank_of(x, truth):
    """The rank of truth among L draws taken evenly from x."""
    pick = np.linspace(0, x.shape[0] - 1, L).round().astype(int)
    return int(np.sum(x[pick] < truth))


def histogram(rk):
    """The ranks' counts in BINS bins, their chi-square and its p-value."""
    counts = np.bincount(np.array(rk, dtype=int) * BINS // (L + 1), minlength=BINS)
    e = max(len(rk), 1) / BINS
    x2 = float(np.sum((counts - e) ** 2 / e))
    return counts, x2, chi2_sf(x2, BINS - 1)


def report_paired(ranks, one_ranks, applied, tag):
    """--paired: the one run's SBC on the same files, CMC's by whether its
    correction was applied, and the paired rank differences."""
    a = np.array(applied, dtype=bool)
    print(f"\nsbc: paired with one run on the same files ({int(a.sum())} corrections "
          f"applied, {int((~a).sum())} refused)")
    for p in ranks:
        c, o = np.array(ranks[p]), np.array(one_ranks[p])
        for what, rk in (("one run", o), ("CMC", c), ("CMC applied", c[a]),
                         ("CMC refused", c[~a])):
            if len(rk):
                counts, x2, pv = histogram(rk)
                print(f"  {p:10s} {what:12s} bins {' '.join(f'{k:3d}' for k in counts)}  "
                      f"chi2 {x2:6.2f}  p {pv:.3f}")
        for what, sel in (("applied", a), ("refused", ~a)):
            if sel.sum() > 1:
                dd = c[sel] - o[sel]
                print(f"  {p:10s} rank CMC - one run, {what}: mean {dd.mean():6.2f} "
                      f"sd {dd.std():6.2f}")
                print(f"BENCH {tag}.{p}.paired_{what}_mean {dd.mean():.2f} ranks")
                print(f"BENCH {tag}.{p}.paired_{what}_sd {dd.std():.2f} ranks")
        print(f"  {p:10s} rank correlation CMC / one run {np.corrcoef(c, o)[0, 1]:.3f}")


def main():
    args = sys.argv[1:]
    shards = 1
    paired = "--paired" in args
    if paired:
        args.remove("--paired")
    if "--shards" in args:
        i = args.index("--shards")
        shards = int(args[i + 1])
        del args[i:i + 2]
    hcmc, work = os.path.abspath(args[0]), os.path.abspath(args[1])
    reps = int(args[2]) if len(args) > 2 else 400
    seed = int(args[3]) if len(args) > 3 else 2026
    tag = "sbc" if shards == 1 else f"sbc_cmc{shards}"
    os.makedirs(work, exist_ok=True)
    rng = random.Random(seed)
    ranks = {p: [] for p in BOUNDS}
    paired = paired and shards > 1
    one_ranks = {p: [] for p in BOUNDS}  # --paired: the one run's, per replication
    applied = []  # --paired: whether CMC's importance correction was applied
    failed = uncombined = 0
    # the truths in order, then the replications two at a time (each run's
    # draws depend only on its files and seed, not on what runs beside it)
    truths = [{p: rng.uniform(lo, hi) for p, (lo, hi) in BOUNDS.items()}
              for _ in range(reps)]

    def replicate(r):
        """(exit status, draws or None, importance applied, the one run's draws)"""
        truth = truths[r]
        d = os.path.join(work, f"rep{r:03d}")
        os.makedirs(d, exist_ok=True)
        data, cfg = os.path.join(d, "data.h5"), os.path.join(d, "config.yaml")
        sim = [hcmc, "simulate", "-o", data, "--mode", "static",
               "--frames", "60" if shards == 1 else "120",
               "--angles", "0", "--noise", "0.02", "--seed", str(seed + r)]
        for p, v in truth.items():
            sim += ["--param", f"{p}={v!r}"]
        subprocess.run(sim, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        write_config(data, cfg, shards)
        out = os.path.join(d, "run")
        with open(os.path.join(d, "run.log"), "w") as log:
            rc = subprocess.run([hcmc, "run", "--config", cfg, "-o", out, "--no-plots",
                                 "--fresh", "--seed", str(seed + r)], stdout=log,
                                stderr=subprocess.STDOUT).returncode
        if shards == 1:
            draws = one_run_draws(out, f"replication {r}", f"{d}/run.log")
        else:
            post = os.path.join(out, "posterior.nc")
            if rc not in (0, 3) or not os.path.exists(post):
                return rc, None, False, None
            with h5py.File(post, "r") as f:
                draws = {p: f["posterior"][p][:].reshape(-1) for p in BOUNDS}
        imp, one = False, None
        if paired:
            with open(os.path.join(out, "summary.json")) as f:
                imp = bool(json.load(f).get("run", {}).get("importance", {}).get("applied"))
            one_cfg, one_out = os.path.join(d, "one.yaml"), os.path.join(d, "one")
            write_config(data, one_cfg, 1)
            with open(os.path.join(d, "one.log"), "w") as log:
                subprocess.run([hcmc, "run", "--config", one_cfg, "-o", one_out,
                                "--no-plots", "--fresh", "--seed", str(seed + r)],
                               stdout=log, stderr=subprocess.STDOUT)
            one = one_run_draws(one_out, f"replication {r}, the one run",
                                f"{d}/one.log")
        return rc, draws, imp, one

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        for r, (rc, draws, imp, one) in enumerate(pool.map(replicate, range(reps))):
            failed += rc != 0
            if draws is None:
                uncombined += 1
            else:
                for p in BOUNDS:
                    ranks[p].append(rank_of(draws[p], truths[r][p]))
                if paired:
                    applied.append(imp)
                    for p in BOUNDS:
                        one_ranks[p].append(rank_of(one[p], truths[r][p]))
            if (r + 1) % 20 == 0:
                print(f"sbc: {r + 1} of {reps} replications", flush=True)
    ok = True
    if paired:
        report_paired(ranks, one_ranks, applied, tag)
    what = "one run" if shards == 1 else f"CMC with {shards} shards"
    print(f"\nsbc: {reps} replications of the static model ({what}), ranks among {L} "
          f"draws in {BINS} bins ({failed} runs with failed diagnostics)")
    if uncombined:
        print(f"  {uncombined} replications not combined (no draws) are left out")
    for p, rk in ranks.items():
        counts, x2, pv = histogram(rk)
        ok = ok and pv > 0.01
        print(f"  {p:10s} bins {' '.join(f'{c:3d}' for c in counts)}  "
              f"chi2 {x2:6.2f}  p {pv:.3f}")
        print(f"BENCH {tag}.{p}.p_value {pv:.4f} probability")
    print(f"BENCH {tag}.failed_runs {failed} runs")
    if shards > 1:
        print(f"BENCH {tag}.uncombined_runs {uncombined} runs")
    print("sbc: calibrated" if ok else "sbc: NOT calibrated (a p-value at most 0.01)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
