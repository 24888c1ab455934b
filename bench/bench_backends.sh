#!/bin/sh
# The local backends on one simulated laminar_flow data set of about POINTS
# points (23 angles, auto shard count): the serial backend and the
# multiprocessing backend with WORKERS workers, in one run of this script so
# that the ratios share the machine's state.
#   BENCH cmc.serial.wall_s                   hcmc run, serial
#   BENCH cmc.multiprocessing.<W>.wall_s      hcmc run, W workers
#   BENCH cmc.parallel_efficiency.<W>         serial wall / (W x parallel wall), end to end:
#                                             the serial run on one core, the parallel one
#                                             on W (their CPU affinity), so that the
#                                             phases on threads (warm start, importance
#                                             correction) count as the sampling does
#   BENCH cmc.sampling_efficiency.<W>         the same for the sampling phase alone
#   BENCH cmc.chain_cpu_ratio.<W>             CPU seconds of the chains, parallel / serial
#   BENCH cmc.busy_share.<W>                  parallel run's CPU seconds / (W x its wall)
#   BENCH cmc.serial.cpu_s, .multiprocessing.<W>.cpu_s  CPU seconds of each run
#   BENCH cmc.serial.steal_s, ...                      CPU time the hypervisor gave
#                                                      others meanwhile (/proc/stat)
#   BENCH cmc.peak_pss_mb.<w>                 peak of the summed PSS of the driver and its
#                                             workers, for w = 1, 2, 4 (shared pages
#                                             counted once; RSS sums count them per process)
#   BENCH cmc.peak_rss_sum_mb.<w>             peak of the summed RSS, for comparison
#   BENCH cmc.data_mb                         the points table (12 bytes a point)
#   BENCH backend.worker_ready_ms             fork to a worker's first message
# The serial reference runs on one core (its affinity: chains one after
# another, every threaded phase on one thread); the parallel run on the
# first W cores the script may use. The workers run their chains one after
# another too once there are as many as cores. The draws of the serial and
# parallel runs are checked to be identical.
# usage: bench_backends.sh HCMC [POINTS [WORKERS [WARMUP SAMPLES]]]
#   BENCH_MEMORY_ONLY=1 in the environment: the memory figures alone (short
#   runs, minutes at 1 M points)
#   defaults: 1 000 000 points, 2 workers, 200 warmup and 300 draws per chain
#   (4 chains): a shorter chain than the default 500 + 1500 changes the work
#   per shard, not how it is shared among workers.
set -eu
hcmc=$1
points=${2:-1000000}
workers=${3:-2}
warmup=${4:-200}
samples=${5:-300}
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
frames=$(awk -v n="$points" 'BEGIN { print int(1.5 + sqrt(2 * n / 23) + 0.5) }')
angles=$(awk 'BEGIN { for (a = 0; a < 23; a++) printf "%s%.4f", a ? "," : "", -90 + 180 * (a + 1) / 23 }')
"$hcmc" simulate -o "$dir/d.h5" --mode laminar_flow --frames "$frames" --angles "$angles" \
    --config-out "$dir/c.yaml" 2> /dev/null
printf 'optimization:\n  cmc:\n    enable: true\n' >> "$dir/c.yaml"
# the serial reference uses one core: its chains one after another
cp "$dir/c.yaml" "$dir/c1.yaml"
printf '    per_shard_mcmc:\n      chain_method: sequential\n' >> "$dir/c1.yaml"
/usr/bin/python3 - "$hcmc" "$dir" "$workers" "$warmup" "$samples" "$here/../tests/check_posterior.py" <<'PY'
import json, os, re, resource, subprocess, sys, time
hcmc, d, W, warmup, samples, check = sys.argv[1:7]
W = int(W)

def tree(pid):
    """pid and its descendants (workers)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return out

def mem(pids):
    pss = rss = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    k, v = line.split()[:2]
                    if k == "Pss:":
                        pss += int(v)
                    elif k == "Rss:":
                        rss += int(v)
        except OSError:
            pass
    return pss / 1024, rss / 1024

def steal():
    """seconds the hypervisor ran others on this machine's CPUs (/proc/stat)"""
    try:
        with open("/proc/stat") as f:
            return int(f.readline().split()[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0

cpus = sorted(os.sched_getaffinity(0))
if len(cpus) < W:
    sys.exit(f"{W} workers need {W} cores; this process may use {len(cpus)}")

def run(name, backend, workers, warm=warmup, samp=samples, config="c.yaml", gates=True,
        cores=None):
    args = [hcmc, "run", "--config", f"{d}/{config}", "-o", f"{d}/{name}", "--backend",
            backend, "--workers", str(workers), "--num-warmup", str(warm),
            "--num-samples", str(samp), "--fresh"]
    t0 = time.monotonic()
    pin = (lambda: os.sched_setaffinity(0, cpus[:cores])) if cores else None
    ru0, st0 = resource.getrusage(resource.RUSAGE_CHILDREN), steal()
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                         preexec_fn=pin)
    peak_pss = peak_rss = 0
    while p.poll() is None:
        pss, rss = mem(tree(p.pid))
        peak_pss, peak_rss = max(peak_pss, pss), max(peak_rss, rss)
        time.sleep(0.1)
    wall = time.monotonic() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)  # hcmc waits for its workers
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    stolen = steal() - st0
    err = p.stderr.read()
    # exit status 3: the run finished and its verdict failed (these short
    # chains can leave a shard's R-hat above 1.01): what is timed ran. The
    # short memory runs may also fail the quality gates; their shards ran
    if p.returncode not in (0, 3) and (gates or "shards can be combined" not in err):
        sys.exit(f"{name}: hcmc run failed:\n{err}")
    s = json.load(open(f"{d}/{name}/summary.json"))["run"]
    ready = re.search(r"ready ([0-9.]+) ms after fork", err)
    shard_s = sum(x["seconds"] for x in json.load(open(f"{d}/{name}/summary.json"))["shards"])
    return dict(wall=wall, cpu=cpu, steal=stolen, sampling=s["sampling_seconds"], pss=peak_pss, rss=peak_rss,
                shard_s=shard_s,
                shards=s["num_shards"], points=s["points"],
                ready=float(ready.group(1)) if ready else None)

if os.environ.get("BENCH_MEMORY_ONLY") == "1":  # the memory figures alone
    serial = run("serial", "serial", 1, 20, 20, config="c1.yaml", gates=False)
    par = None
    print(f"{serial['points']} points, {serial['shards']} shards; memory only")
else:
    serial = run("serial", "serial", 1, config="c1.yaml", cores=1)
    par = run("par", "multiprocessing", W, cores=W)
    subprocess.run(["/usr/bin/python3", check, f"{d}/serial/posterior.nc",
                    f"{d}/par/posterior.nc"], check=True, stdout=subprocess.DEVNULL)
    print(f"{serial['points']} points, {serial['shards']} shards, {warmup} + {samples} "
          f"iterations per chain; serial and {W} workers give identical draws")
    print(f"BENCH cmc.serial.wall_s {serial['wall']:.1f} s")
    print(f"BENCH cmc.multiprocessing.{W}.wall_s {par['wall']:.1f} s")
    print(f"BENCH cmc.parallel_efficiency.{W} {serial['wall'] / (W * par['wall']):.3f} ratio")
    print(f"BENCH cmc.sampling_efficiency.{W} "
          f"{serial['sampling'] / (W * par['sampling']):.3f} ratio")
    # CPU seconds of the shards' chains, parallel over serial: what running W
    # at once costs each (shared caches, memory, the host), which no schedule
    # can win back
    print(f"BENCH cmc.chain_cpu_ratio.{W} {par['shard_s'] / serial['shard_s']:.3f} ratio")
    # the parallel run's CPU seconds over W x its wall: the share of the W
    # cores kept busy, whatever the chains' speed on a shared host
    print(f"BENCH cmc.busy_share.{W} {par['cpu'] / (W * par['wall']):.3f} ratio")
    print(f"BENCH cmc.serial.cpu_s {serial['cpu']:.1f} s")
    print(f"BENCH cmc.multiprocessing.{W}.cpu_s {par['cpu']:.1f} s")
    # time the hypervisor gave other guests, all CPUs of the machine
    print(f"BENCH cmc.serial.steal_s {serial['steal']:.1f} s")
    print(f"BENCH cmc.multiprocessing.{W}.steal_s {par['steal']:.1f} s")
print(f"BENCH cmc.data_mb {12 * serial['points'] / 2**20:.1f} MB")
print(f"BENCH cmc.peak_pss_mb.serial {serial['pss']:.0f} MB")
for w in (1, 2, 4):
    m = par if par and w == W else run(f"mem{w}", "multiprocessing", w, 20, 20, gates=False)
    print(f"BENCH cmc.peak_pss_mb.{w} {m['pss']:.0f} MB")
    print(f"BENCH cmc.peak_rss_sum_mb.{w} {m['rss']:.0f} MB")
    if m["ready"] is not None:
        print(f"BENCH backend.worker_ready_ms.{w} {m['ready']:.1f} ms")
PY
