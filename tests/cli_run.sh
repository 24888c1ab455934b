#!/bin/sh
# hcmc run end to end on simulated files in both layouts: CMC (2 shards,
# static, legacy layout) and a single NUTS run (laminar_flow, current
# layout); the result files open with xarray; the same seed gives the same
# numbers; hcmc summary prints a run's table again; a run that fails its
# diagnostics exits with 3 and says why.
. "$(dirname "$0")/cli_common.sh"
"$hcmc" simulate -o s.h5 --layout legacy --mode static --frames 80 --angles 0,45,90 \
    --noise 0.02 --config-out s.yaml 2> /dev/null
printf 'optimization:\n  cmc:\n    enable: true\n' >> s.yaml
finished "$hcmc" run --config s.yaml --num-shards 2 --num-warmup 150 --num-samples 150 -o a -q > a.txt
finished "$hcmc" run --config s.yaml --num-shards 2 --num-warmup 150 --num-samples 150 -o b -q > b.txt
grep -q 'shards: 2 ok' a.txt
grep -q '"optimization.cmc.sharding.num_shards=2"' a/summary.json
test -f a/shards/shard_00000.h5 && test -f a/shards/shard_00001.h5 && test -f a/config.yaml
# identical numbers apart from timings (and the output directory)
grep -v -e seconds -e output.directory a/summary.json > a.json
grep -v -e seconds -e output.directory b/summary.json > b.json
cmp a.json b.json
$py "$here/check_posterior.py" a/posterior.nc b/posterior.nc
# combining again from the shard files, with another rule
finished "$hcmc" combine a --method gaussian > g.txt
grep -q 'combined with gaussian' g.txt
grep -q 'shards: 2 ok' g.txt
$py "$here/check_posterior.py" a/posterior.nc
"$hcmc" simulate -o l.h5 --frames 50 --angles -30,0,60 --config-out l.yaml 2> /dev/null
finished "$hcmc" run --config l.yaml --num-warmup 150 --num-samples 150 -o c -q > c.txt
grep -q 'shards: 1 ok' c.txt
$py "$here/check_posterior.py" c/posterior.nc
# each rate law's coordinates (both laws are law blocks in this run)
$py - c/summary.json << 'PY'
import json, sys
c = json.load(open(sys.argv[1]))["run"]["coordinates"]
assert set(c) == {"D(t)", "gamma_dot(t)"}, c
assert all(v in ("slope", "rates", "shape") for v in c.values()), c
PY
# --num-shards 2 on fewer points than min_points_for_cmc: sharded as asked,
# with a notice (the run's outcome is not what is tested here)
"$hcmc" run --config l.yaml --num-shards 2 --num-warmup 60 --num-samples 30 -o n \
    --no-plots > /dev/null 2> n.err || true
grep -q 'consensus Monte Carlo, 2 shards' n.err
grep -q '2 shards as asked for, although the data have [0-9]* points, fewer than min_points_for_cmc' n.err
# hcmc summary prints the run's table and verdict again from summary.json
finished "$hcmc" summary c > cs.txt
grep -v '^results in' c.txt | diff - cs.txt
# the verdict: 4 chains of 25 draws cannot have an ESS of 400 (ESS is at
# most N log10(N) = 200 of N = 100 draws), so the run finished but failed
# its diagnostics: exit 3 from run, combine and summary, the failure named
# in the table's verdict block, summary.json and report.html
st=0
"$hcmc" run --config s.yaml --num-shards 2 --num-warmup 150 --num-samples 25 -o v \
    > v.txt 2> v.err || st=$?
[ $st -eq 3 ]
grep -q '^verdict: FAILED diagnostics' v.txt
grep -q '^  FAIL ESS (bulk / tail) below 400: D0' v.txt
$py - v/summary.json << 'PY'
import json, sys
v = json.load(open(sys.argv[1]))["run"]["verdict"]
assert v["ok"] is False and v["thresholds"]["ess"] == 400, v
assert any(f["check"] == "ess" and f["advice"] for f in v["failures"]), v
PY
grep -q 'class="verdict bad"' v/report.html
st=0; "$hcmc" summary v > vs.txt || st=$?; [ $st -eq 3 ]
st=0; "$hcmc" combine v --no-plots > vc.txt || st=$?; [ $st -eq 3 ]
# (the verdict's rules: test_verdict; runs that pass it: cli_accuracy)
# a run whose combination fails keeps its shards and says why in summary.json
cp s.yaml f.yaml
printf '    validation:\n      max_parameter_cv: 1e-9\n' >> f.yaml
if "$hcmc" run --config f.yaml --num-shards 2 --num-warmup 150 --num-samples 150 -o f -q \
    2> f.err; then exit 1; fi
grep -q 'the shards disagree' f.err
grep -q '"error": "the shards disagree' f/summary.json
test -f f/shards/shard_00000.h5 && test -f f/config.yaml
# ... and what exists is written: the shards' draws in posterior.nc (no
# posterior group), their trace, marginals and forest, the report with the
# error and the verdict on top (the outlier statuses are the combination's)
$py - f/posterior.nc << 'PY'
import sys, netCDF4
with netCDF4.Dataset(sys.argv[1]) as f:
    assert "posterior" not in f.groups and "shards" in f.groups, list(f.groups)
    assert f["shards"]["D0"].shape[0] == 2
PY
test -f f/plots/trace.png && test -f f/plots/marginals.png && test -f f/plots/forest.png
test ! -e f/plots/corner.png && test ! -e f/plots/c2_cuts.png
grep -q 'class="verdict bad"><p><b>Verdict: failed: the shards could not be combined' \
    f/report.html
if "$hcmc" summary f > fs.txt 2> fs.err; then exit 1; fi
head -n 1 fs.err | grep -q 'the run ended with: the shards disagree'
grep -q '^parameter' fs.txt
# a damaged summary.json: one line naming the file, exit 1
head -c 200 c/summary.json > c/s.tmp && mv c/s.tmp c/summary.json
if "$hcmc" summary c > /dev/null 2> cd.err; then exit 1; fi
grep -q 'c/summary.json: line' cd.err
# a failing run says why, keeps nothing half-written
if "$hcmc" run --config s.yaml --set optimization.cmc.backend_config.name=mpy -o d -q \
    2> err.txt; then exit 1; fi
grep -q "backend_config.name: expected one of auto,serial" err.txt
test ! -e d
echo "cli_run: ok"
