#!/bin/sh
# The cluster backends against multiprocessing on this machine, one
# simulated laminar_flow data set of about POINTS points (23 angles), in
# one run of this script so that the ratios share the machine's state:
#   BENCH cmc.multiprocessing.wall_s    hcmc run, multiprocessing, all cores
#   BENCH cmc.slurm.wall_s              hcmc run --backend slurm on a
#                                       single-node SLURM cluster started here
#   BENCH cmc.mpi.wall_s                mpirun -np (cores + 1): rank 0 deals
#   BENCH cmc.slurm.overhead            slurm wall / multiprocessing wall - 1
#   BENCH cmc.mpi.overhead              the same for mpi
# Every run gives the same draws (checked). A SLURM element gets
# CPUS_PER_TASK cores (default: all of them: one shard at a time, its
# chains on threads; 1: one shard per core).
# usage: bench_cluster.sh HCMC [POINTS [CPUS_PER_TASK [WARMUP SAMPLES]]]
#   defaults: 1 000 000 points, all cores, 200 + 300 iterations per chain
set -eu
hcmc=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
points=${2:-1000000}
cores=$(nproc)
cpt=${3:-$cores}
warmup=${4:-200}
samples=${5:-300}
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
. "$here/../tests/slurm_cluster.sh"
trap 'scancel --user="$(id -un)" 2> /dev/null || true; slurm_stop "$dir/slurm"; rm -rf "$dir"' EXIT
slurm_start "$dir/slurm" > /dev/null
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
frames=$(awk -v n="$points" 'BEGIN { print int(1.5 + sqrt(2 * n / 23) + 0.5) }')
angles=$(awk 'BEGIN { for (a = 0; a < 23; a++) printf "%s%.4f", a ? "," : "", -90 + 180 * (a + 1) / 23 }')
"$hcmc" simulate -o "$dir/d.h5" --mode laminar_flow --frames "$frames" --angles "$angles" \
    --config-out "$dir/c.yaml" 2> /dev/null
printf 'optimization:\n  cmc:\n    enable: true\n' >> "$dir/c.yaml"
common="--config $dir/c.yaml --num-warmup $warmup --num-samples $samples --fresh -q"
t() { # t NAME COMMAND...: wall seconds of the command
    name=$1
    shift
    s=$(date +%s.%N)
    "$@" > "$dir/$name.out" 2> "$dir/$name.err" || {
        echo "bench_cluster: $name failed:" >&2
        tail "$dir/$name.err" >&2
        exit 1
    }
    awk -v a="$(date +%s.%N)" -v b="$s" 'BEGIN { printf "%.1f", a - b }'
}
mp=$(t mp "$hcmc" run $common -o "$dir/mp" --backend multiprocessing)
sl=$(t slurm "$hcmc" run $common -o "$dir/slurm_run" --backend slurm \
    --set optimization.cmc.backend_config.slurm.cpus_per_task="$cpt" \
    --set optimization.cmc.backend_config.slurm.poll_interval_max=2)
mpi=$(t mpi mpirun --oversubscribe -np $((cores + 1)) "$hcmc" run $common -o "$dir/mpi" \
    --backend mpi)
for r in slurm_run mpi; do
    /usr/bin/python3 "$here/../tests/check_posterior.py" "$dir/mp/posterior.nc" \
        "$dir/$r/posterior.nc" > /dev/null || { echo "bench_cluster: $r draws differ" >&2; exit 1; }
done
shards=$(grep -o '"num_shards": [0-9]*' "$dir/mp/summary.json" | grep -o '[0-9]*$')
echo "$points points requested, $shards shards, $cores cores, SLURM cpus_per_task $cpt; same draws"
echo "BENCH cmc.multiprocessing.wall_s $mp s"
echo "BENCH cmc.slurm.wall_s $sl s"
echo "BENCH cmc.mpi.wall_s $mpi s"
awk -v s="$sl" -v m="$mpi" -v p="$mp" 'BEGIN {
    printf "BENCH cmc.slurm.overhead %.3f ratio\n", s / p - 1
    printf "BENCH cmc.mpi.overhead %.3f ratio\n", m / p - 1 }'
