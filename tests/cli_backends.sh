#!/bin/sh
# The local backends (issue: parallel backends): serial, threads,
# multiprocessing and pool with 1, 2 and 3 workers give byte-identical
# draws, also on one core; a worker killed mid-shard is replaced and its shard retried to the
# same result; a driver killed with SIGKILL is resumed by a second run that
# samples only the missing shard; a shard that always crashes is retried,
# then reported failed, and min_success_rate decides; a per-shard timeout
# fires and is reported; after a normal end, an error and SIGTERM no
# shared-memory segment, temporary file or worker process is left.
#
# Faults come from HCMC_TEST_FAULT=KIND:SHARD[:ATTEMPTS] (src/backends/
# process.c). "hang" on one shard holds a run open at a known point, so the
# signal tests do not depend on timing.
. "$(dirname "$0")/cli_common.sh"
cleanup() {
    pkill -KILL -f "hcmc.* run .*-o $dir/" 2> /dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT
fail() {
    echo "cli_backends: FAILED: $*"
    exit 1
}
# Low noise: the data pin D0, alpha and D_offset down, so the short test
# warmup converges on every shard and the pipeline's gates pass; what is
# tested here is the execution, not the sampler on a degenerate ridge.
"$hcmc" simulate -o s.h5 --mode static --frames 80 --angles 0,45,90 --noise 0.005 \
    --config-out s.yaml 2> /dev/null
printf 'optimization:\n  cmc:\n    enable: true\n' >> s.yaml
run() { # run NAME [OPTIONS]: one run into $dir/NAME
    name=$1
    shift
    finished "$hcmc" run --config s.yaml --num-shards 6 --num-warmup 100 \
        --num-samples 100 -o "$dir/$name" "$@" > "$name.out" 2> "$name.err"
}
same() { # same A B: byte-identical draws, combined and per shard
    $py "$here/check_posterior.py" "$1/posterior.nc" "$2/posterior.nc" > /dev/null ||
        fail "$2 differs from $1"
}
no_leftovers() { # no_leftovers NAME
    ! ls /dev/shm 2> /dev/null | grep -q '^hcmc-' || fail "$1: shared memory left"
    ! find "$1" -name '*.tmp.*' | grep -q . || fail "$1: temporary file left"
    ! pgrep -f "hcmc.* run .*-o $dir/$1" > /dev/null || fail "$1: a process is left"
}
summary_count() { # summary_count NAME KEY
    sed -n "s/.*\"$2\": \([0-9]*\).*/\1/p" "$1/summary.json"
}
wait_files() { # wait_files NAME N: until N shard files exist (60 s at most)
    i=0
    while [ "$(ls "$1/shards" 2> /dev/null | grep -c 'h5$')" -lt "$2" ]; do
        i=$((i + 1))
        [ $i -lt 600 ] || fail "$1: no $2 shard files after 60 s"
        sleep 0.1
    done
}

# 1. every backend and worker count: the same bytes
run ref --backend serial || fail "serial run"
grep -q 'shards: 6 ok' ref.out || fail "serial: not 6 shards ok"
no_leftovers ref
for b in threads multiprocessing pool; do
    for w in 1 2 3; do
        run "$b$w" --backend "$b" --workers "$w" || fail "$b with $w workers"
        grep -q "backend $b" "$b$w.out" || fail "$b$w: other backend"
        grep -q "\"workers\": $w" "$b$w/summary.json" || fail "$b$w: worker count"
        same ref "$b$w"
        no_leftovers "$b$w"
    done
done
run auto --backend auto || fail "auto"
same ref auto
# one core (as under mpirun's core binding or a batch job's cgroup): a
# threaded BLAS would split its sums differently; the bytes must not change
if command -v taskset > /dev/null; then
    finished taskset -c 0 "$hcmc" run --config s.yaml --num-shards 6 --num-warmup 100 \
        --num-samples 100 -o "$dir/onecore" --backend serial > onecore.out 2> onecore.err ||
        fail "serial on one core"
    same ref onecore
fi

# 2. a worker killed with SIGKILL in the middle of shard 2 (first attempt)
HCMC_TEST_FAULT=kill:2:1 run killed --backend multiprocessing --workers 2 ||
    fail "run with a killed worker"
grep -q 'shard 2: worker [0-9]* killed by signal 9' killed.err || fail "no retry reported"
grep -q 'shards: 6 ok' killed.out || fail "killed: not 6 shards ok"
same ref killed

# 3. the driver killed with SIGKILL; a second run samples only what is missing
HCMC_TEST_FAULT=hang:3 run resumed --backend multiprocessing --workers 2 &
wait_files resumed 5
pkill -o -KILL -f "hcmc.* run .*-o $dir/resumed" || fail "no driver to kill"
wait || true
sleep 0.3
! pgrep -f "hcmc.* run .*-o $dir/resumed" > /dev/null || fail "workers outlived the driver"
run resumed --backend multiprocessing --workers 2 || fail "resume"
grep -q 'resuming: 5 of 6 shards done before, 1 to sample' resumed.err ||
    fail "resume did not reuse 5 shards"
[ "$(summary_count resumed sampled_shards)" = 1 ] || fail "resume sampled more than 1"
[ "$(summary_count resumed reused_shards)" = 5 ] || fail "resume reused not 5"
same ref resumed
no_leftovers resumed
# another seed is another problem: nothing is reused, nothing mixed in
run resumed --backend serial --seed 7 || fail "rerun with another seed"
grep -q 'other data or settings' resumed.err || fail "stale files not reported"
[ "$(summary_count resumed reused_shards)" = 0 ] || fail "stale shards reused"
run resumed --backend serial --fresh || fail "--fresh"
[ "$(summary_count resumed sampled_shards)" = 6 ] || fail "--fresh reused shards"
same ref resumed

# 4. a shard that always crashes: retried, then failed; min_success_rate decides
if HCMC_TEST_FAULT=crash:1 run crash --backend multiprocessing --max-retries 1; then
    fail "a run with a failed shard passed min_success_rate 0.9"
fi
[ "$(grep -c 'shard 1: worker [0-9]* killed by signal 6' crash.err)" = 1 ] ||
    fail "crash: not one retry"
grep -q 'shard 1 failed: worker [0-9]* killed by signal 6 (Aborted), chain 0 (2 attempts)' crash.err ||
    fail "crash: failure not reported"
grep -q 'only 5 of 6 shards can be combined' crash.err || fail "crash: gate message"
grep -q '"reason": "failed: worker [0-9]* killed by signal 6' crash/summary.json ||
    fail "crash: no reason in summary.json"
no_leftovers crash
cp s.yaml lenient.yaml
printf '    combination:\n      min_success_rate: 0.5\n' >> lenient.yaml
HCMC_TEST_FAULT=crash:1 finished "$hcmc" run --config lenient.yaml --num-shards 6 --num-warmup 100 \
    --num-samples 100 --max-retries 0 --backend pool -o "$dir/lenient" > lenient.out \
    2> lenient.err || fail "lenient run with one failed shard"
grep -q 'shards: 5 ok, 0 excluded, 1 failed' lenient.out || fail "lenient: shard count"
# the importance correction weighs with the points of the 5 shards combined
# only; hcmc combine finds the same points (the run's --num-shards 6 from
# summary.json) and gives the same draws
grep -q 'importance correction: applied' lenient.out || fail "lenient: no correction"
cp -r "$dir/lenient" "$dir/lenient2"
finished "$hcmc" combine "$dir/lenient2" --no-plots > lenient2.out 2>&1 || fail "lenient: combine"
grep -q 'importance correction: applied' lenient2.out || fail "lenient: combine corrects"
$py "$here/check_posterior.py" "$dir/lenient/posterior.nc" \
    "$dir/lenient2/posterior.nc" > /dev/null || fail "lenient: combine gives other draws"
# and the same shard figures, which the verdict holds (each shard's R-hat)
$py - "$dir/lenient/summary.json" "$dir/lenient2/summary.json" <<'PY' || fail "lenient: combine lost the shards' R-hat"
import json, sys
a, b = (json.load(open(p))["shards"] for p in sys.argv[1:])
ra = [s["r_hat_max"] for s in a if s["status"] == "ok"]
rb = [s["r_hat_max"] for s in b if s["status"] == "ok"]
assert len(ra) == 5 and all(x > 0.9 for x in ra), ra
assert ra == rb, (ra, rb)
PY

# more than half of the first 10 finished shards failed: the run stops early
if HCMC_TEST_FAULT='crash:*' "$hcmc" run --config s.yaml --num-shards 12 --num-warmup 100 \
    --num-samples 100 --max-retries 0 --workers 1 --backend multiprocessing \
    -o "$dir/early" > early.out 2> early.err; then
    fail "a run of crashing shards passed"
fi
grep -q '6 of the first 6 finished shards failed; run stopped early' early.err ||
    fail "no early abort"
[ "$(grep -c 'shard [0-9]* failed: worker' early.err)" = 6 ] ||
    fail "early abort: not after 6 shards"
no_leftovers early

# 5. a per-shard timeout
if HCMC_TEST_FAULT=hang:0 run timeout --backend multiprocessing --per-shard-timeout 1 \
    --max-retries 0; then
    fail "a timed-out shard passed"
fi
grep -q 'shard 0 failed: timed out: over per_shard_timeout = 1 s' timeout.err ||
    fail "timeout not reported"
no_leftovers timeout

# 6. SIGTERM: stops, keeps finished shards, says how to resume, exits 143
HCMC_TEST_FAULT=hang:3 run term --backend multiprocessing --workers 2 &
wait_files term 5
pkill -o -TERM -f "hcmc.* run .*-o $dir/term" || fail "no driver to stop"
rc=0
wait $! || rc=$?
[ "$rc" = 143 ] || fail "SIGTERM: exit status $rc, not 143"
grep -q 'run the same command again to resume' term.err || fail "SIGTERM: no resume hint"
[ "$(ls term/shards | grep -c 'h5$')" = 5 ] || fail "SIGTERM: shard files lost"
no_leftovers term

# 7. bad values are refused before anything runs
if run bad --backend nonesuch; then fail "unknown backend accepted"; fi
grep -q "nonesuch" bad.err || fail "unknown backend: message"
if run bad --workers -2; then fail "negative worker count accepted"; fi
echo "cli_backends: ok"
