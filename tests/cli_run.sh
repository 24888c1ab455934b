#!/bin/sh
# hcmc run end to end on simulated files in both layouts: CMC (2 shards,
# static, legacy layout) and a single NUTS run (laminar_flow, current
# layout); the result files open with xarray; the same seed gives the same
# numbers; hcmc summary prints a run's table again.
. "$(dirname "$0")/cli_common.sh"
"$hcmc" simulate -o s.h5 --layout legacy --mode static --frames 80 --angles 0,45,90 \
    --noise 0.02 --config-out s.yaml 2> /dev/null
printf 'optimization:\n  cmc:\n    enable: true\n' >> s.yaml
"$hcmc" run --config s.yaml --num-shards 2 --num-warmup 150 --num-samples 150 -o a -q > a.txt
"$hcmc" run --config s.yaml --num-shards 2 --num-warmup 150 --num-samples 150 -o b -q > b.txt
grep -q 'shards: 2 ok' a.txt
grep -q '"optimization.cmc.sharding.num_shards=2"' a/summary.json
test -f a/shards/shard_00000.h5 && test -f a/shards/shard_00001.h5 && test -f a/config.yaml
# identical numbers apart from timings (and the output directory)
grep -v -e seconds -e output.directory a/summary.json > a.json
grep -v -e seconds -e output.directory b/summary.json > b.json
cmp a.json b.json
$py "$here/check_posterior.py" a/posterior.nc b/posterior.nc
# combining again from the shard files, with another rule
"$hcmc" combine a --method gaussian > g.txt
grep -q 'combined with gaussian' g.txt
grep -q 'shards: 2 ok' g.txt
$py "$here/check_posterior.py" a/posterior.nc
"$hcmc" simulate -o l.h5 --frames 50 --angles -30,0,60 --config-out l.yaml 2> /dev/null
"$hcmc" run --config l.yaml --num-warmup 150 --num-samples 150 -o c -q > c.txt
grep -q 'shards: 1 ok' c.txt
$py "$here/check_posterior.py" c/posterior.nc
# hcmc summary prints the run's table again from summary.json
"$hcmc" summary c > cs.txt
grep -v '^results in' c.txt | diff - cs.txt
# a run whose combination fails keeps its shards and says why in summary.json
cp s.yaml f.yaml
printf '    validation:\n      max_parameter_cv: 1e-9\n' >> f.yaml
if "$hcmc" run --config f.yaml --num-shards 2 --num-warmup 150 --num-samples 150 -o f -q \
    2> f.err; then exit 1; fi
grep -q 'the shards disagree' f.err
grep -q '"error": "the shards disagree' f/summary.json
test -f f/shards/shard_00000.h5 && test -f f/config.yaml
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
