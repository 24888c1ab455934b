#!/bin/sh
# The mpi backend under a real mpirun (Open MPI, as root: the ALLOW_RUN_AS_ROOT
# variables; more ranks than cores: --oversubscribe): 3 ranks give the bytes
# of a serial run; auto picks mpi under the launcher; one rank falls back
# to sampling itself; a run stopped with SIGKILL on a rank is resumed by a
# second mpirun that samples only the missing shards; a failure on rank 0
# before the plan ends every rank (no hang).
. "$(dirname "$0")/cli_common.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fail() {
    echo "cli_mpi: FAILED: $*"
    for f in "$dir"/*.err; do
        [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }
    done
    exit 1
}
command -v mpirun > /dev/null || fail "mpirun not installed (openmpi-bin; make deps)"
# Low noise: the data pin D0, alpha and D_offset down, so the short test
# warmup converges on every shard and the pipeline's gates pass; what is
# tested here is the execution, not the sampler on a degenerate ridge.
"$hcmc" simulate -o s.h5 --mode static --frames 60 --angles 0,45,90 --noise 0.005 \
    --config-out s.yaml 2> /dev/null
printf 'optimization:\n  cmc:\n    enable: true\n' >> s.yaml
mrun() { # mrun NAME RANKS [OPTIONS]
    name=$1
    np=$2
    shift 2
    finished timeout 300 mpirun --oversubscribe -np "$np" "$hcmc" run --config s.yaml --num-shards 5 \
        --num-warmup 80 --num-samples 80 -o "$dir/$name" "$@" > "$name.out" 2> "$name.err"
}
same() {
    $py "$here/check_posterior.py" "$1/posterior.nc" "$2/posterior.nc" > /dev/null ||
        fail "$2 differs from $1"
}
finished "$hcmc" run --config s.yaml --num-shards 5 --num-warmup 80 --num-samples 80 -o ref \
    --backend serial > ref.out 2> ref.err || fail "serial run"

mrun mpi3 3 --backend mpi || fail "mpirun -np 3"
same ref mpi3
grep -q "mpi: 2 ranks sample" mpi3.err || fail "mpi3: not 2 sampling ranks"
[ "$(grep -c '^parameter' mpi3.out)" -eq 1 ] || fail "mpi3: more than one rank reported"
echo "mpirun -np 3: same draws as serial"

mrun auto3 3 || fail "mpirun -np 3, backend auto"
grep -q '"backend": "mpi"' auto3/summary.json || fail "auto did not pick mpi"
same ref auto3
mrun one 1 --backend mpi || fail "mpirun -np 1"
same ref one
echo "auto under mpirun is mpi; one rank samples alone: same draws"

# a rank killed mid-run: the job ends, finished shards stay, a second run
# samples only the rest (long warmups: a shard takes seconds, so the other
# rank is still busy when the first shard file appears)
(mrun killed 3 --backend mpi --num-warmup 15000 --num-samples 3000 || true) &
i=0
until [ -f killed/shards/shard_00000.h5 ] || [ -f killed/shards/shard_00001.h5 ] ||
    [ -f killed/shards/shard_00002.h5 ] || [ -f killed/shards/shard_00003.h5 ] ||
    [ -f killed/shards/shard_00004.h5 ]; do
    i=$((i + 1))
    [ $i -lt 1200 ] || fail "killed: no shard finished in 120 s"
    sleep 0.1
done
# rank 2 (a serving rank: its environment says which it is)
victim=
for p in $(pgrep -f "hcmc run --config s.yaml --num-shards 5 .*killed"); do
    tr '\0' '\n' < /proc/$p/environ 2> /dev/null | grep -qx OMPI_COMM_WORLD_RANK=2 && victim=$p
done
[ -n "$victim" ] || fail "no rank 2 to kill"
kill -KILL "$victim"
wait
[ ! -f killed/posterior.nc ] || fail "killed: the run finished anyway"
grep -q "unfinished: shard" killed.err || fail "killed: unfinished shards not reported"
kept=$(ls killed/shards | grep -c 'h5$')
mrun killed 3 --backend mpi --num-warmup 15000 --num-samples 3000 || fail "resume"
grep -q "resuming: $kept of 5 shards done before, $((5 - kept)) to sample" killed.err ||
    fail "resume: $(grep resuming killed.err)"
echo "rank killed: $kept shards kept; the second mpirun sampled $((5 - kept))"

# rank 0 fails before the plan: every rank ends
sed 's/s\.h5/missing.h5/' s.yaml > bad.yaml
st=0
timeout 120 mpirun --oversubscribe -np 3 "$hcmc" run --config bad.yaml --backend mpi \
    -o bad > bad.out 2> bad.err || st=$?
[ $st -ne 0 ] || fail "a run without data succeeded"
[ $st -ne 124 ] || fail "ranks hung after rank 0 failed"
grep -q "missing.h5" bad.err || fail "bad: no message naming the file"
echo "rank 0 failure: every rank ended"
echo "cli_mpi: ok"
