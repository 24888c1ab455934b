#!/bin/sh
# End-to-end `hcmc run` on a simulated laminar_flow data set of about
# POINTS points (23 angles, default settings, serial backend: one shard
# after another, each shard's chains on threads; bench_backends.sh measures
# the parallel backends):
#   BENCH cmc.laminar.wall_s          whole run, wall clock
#   BENCH cmc.laminar.core_s_per_mpt  CPU seconds (all threads) per million points
#   BENCH cmc.laminar.sampling_share  fraction of the run spent sampling
# usage: bench_cmc.sh HCMC [POINTS]   (default 1 000 000)
set -eu
hcmc=$1
points=${2:-1000000}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# 23 (F-1)(F-2)/2 points for F frames
frames=$(awk -v n="$points" 'BEGIN { print int(1.5 + sqrt(2 * n / 23) + 0.5) }')
angles=$(awk 'BEGIN { for (a = 0; a < 23; a++) printf "%s%.4f", a ? "," : "", -90 + 180 * (a + 1) / 23 }')
"$hcmc" simulate -o "$dir/d.h5" --mode laminar_flow --frames "$frames" --angles "$angles" \
    --config-out "$dir/c.yaml" 2> /dev/null
python3 - "$hcmc" "$dir" <<'PY'
import json, resource, subprocess, sys, time
hcmc, d = sys.argv[1], sys.argv[2]
t0 = time.monotonic()
subprocess.run([hcmc, "run", "--config", f"{d}/c.yaml", "-o", f"{d}/out", "-q",
                "--backend", "serial"], check=True)
wall = time.monotonic() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
core = ru.ru_utime + ru.ru_stime  # chains run on threads: count every core
s = json.load(open(f"{d}/out/summary.json"))
run = s["run"]
sampling = sum(sh["seconds"] for sh in s["shards"])
mpts = run["points"] / 1e6
print(f"{run['points']} points, {run['num_shards']} shards, backend {run['backend']}, "
      f"{core:.0f} core-s in {wall:.0f} s")
print(f"BENCH cmc.laminar.wall_s {wall:.1f} s")
print(f"BENCH cmc.laminar.core_s_per_mpt {core / mpts:.1f} s")
print(f"BENCH cmc.laminar.sampling_share {sampling / wall:.3f} 1")
PY
