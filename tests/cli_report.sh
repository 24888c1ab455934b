#!/bin/sh
# What a scientist sees: plots and report.html of a small run (valid PNG and
# HTML, the expected number of images, every image embedded), run.log,
# -v/-q, --no-plots; the help of every command lists its options; the
# manual page; the example configurations and the library example.
. "$(dirname "$0")/cli_common.sh"
example=$2
examples=$3

# ---- a small laminar_flow CMC run with plots: 4 draw plots, 3 angle
# heatmaps, 1 cuts figure
"$hcmc" simulate -o l.h5 --frames 60 --angles -30,0,30,60 --noise 0.005 \
    --config-out l.yaml 2> /dev/null
printf 'optimization:\n  cmc:\n    enable: true\n' >> l.yaml
finished "$hcmc" run --config l.yaml --num-shards 3 --num-warmup 150 --num-samples 100 -o a \
    2> a.err > a.txt
grep -q 'shards: 3 ok' a.txt
grep -q 'plots in a/plots, report a/report.html' a.err
$py "$here/check_report.py" a 8 trace marginals forest corner c2_angle_00 \
    c2_angle_01 c2_angle_03 c2_cuts
# run.log: the run's messages with times, also under -q
grep -q '^20[0-9-]* [0-9:]* hcmc .* run --config l.yaml' a/run.log
grep -q 'points from' a/run.log
grep -q 'plots in a/plots' a/run.log
# -v: debug lines on the terminal; -q: none but errors; --no-plots: none
finished "$hcmc" run --config l.yaml --num-shards 3 --num-warmup 150 --num-samples 100 -o b \
    -q --no-plots 2> b.err > b.txt
test ! -s b.err
test ! -e b/plots && test ! -e b/report.html
grep -q 'points from' b/run.log
"$hcmc" plot b --angles 1 --draws 50 > p.txt
grep -q '^6 plots in b/plots' p.txt
$py "$here/check_report.py" b 6 trace marginals forest corner c2_angle_00 c2_cuts
finished "$hcmc" run --config l.yaml --num-shards 3 --num-warmup 150 --num-samples 100 -o b \
    -v --fresh --no-plots 2> v.err > /dev/null
grep -q '^hcmc: debug: ' v.err
# hcmc combine redraws them
finished "$hcmc" combine b --method gaussian > /dev/null 2> c.err
grep -q 'plots in b/plots' c.err
# the data file gone: the draw plots still, a warning naming the file
mv l.h5 gone.h5
"$hcmc" plot a > q.txt 2> q.err
grep -q '^4 plots' q.txt
grep -q 'plots of the data left out: .*l.h5' q.err
mv gone.h5 l.h5
# errors: one line naming what is wrong, non-zero exit
if "$hcmc" plot nowhere > /dev/null 2> e1.err; then exit 1; fi
head -n 1 e1.err | grep -q '^hcmc: error: nowhere/summary.json'
if "$hcmc" plot a --angles x 2> e2.err; then exit 1; fi
grep -q -- '--angles expects a positive integer' e2.err
rm a/posterior.nc
if "$hcmc" plot a 2> e3.err; then exit 1; fi
grep -q 'a/posterior.nc: .*hcmc status a' e3.err

# ---- help: every command, every option it must list, exit 0 on stdout
"$hcmc" --help > h.txt
for c in run plot summary combine simulate inspect config plan worker status demo man; do
    grep -q "^  $c " h.txt
    "$hcmc" $c --help > h_$c.txt
    grep -q "^usage: hcmc $c" h_$c.txt
done
for o in --config --fresh --submit-only --no-plots --quiet --verbose --num-shards \
    --backend --seed --num-samples --num-warmup --num-chains --workers --max-retries \
    --per-shard-timeout --output-dir --set --help; do
    grep -q -- "$o" h_run.txt
done
for o in --angles --draws --cells; do grep -q -- "$o" h_plot.txt; done
grep -q -- '--method M' h_combine.txt
for o in --mode --layout --frames --angles --q --dt --gap --param --contrast \
    --offset --noise --seed --no-compress --config-out; do
    grep -q -- "$o" h_simulate.txt
done
grep -q -- '--check' h_config.txt && grep -q -- '--num-shards' h_config.txt
grep -q -- '--shard N' h_worker.txt && grep -q -- '--list FILE' h_worker.txt
grep -q '(default 0.02' h_simulate.txt
# defaults are stated where an option has one
grep -q 'frames per map (default 200)' h_simulate.txt
"$hcmc" --version | grep -q '^hcmc [0-9]'
if "$hcmc" run --config l.yaml --bogus 2> u.err; then exit 1; fi
head -n 1 u.err | grep -q "^hcmc: error: run: unknown option '--bogus'"
# the manual page from the same table: every command and option in it
"$hcmc" man > hcmc.1
head -n 1 hcmc.1 | grep -q '^\.TH HCMC 1'
for c in run plot summary combine simulate config worker; do
    grep -q "^\.SS $c" hcmc.1
done
grep -q '^\.B \\-\\-no\\-plots' hcmc.1
if command -v man > /dev/null; then
    MANWIDTH=80 man -l hcmc.1 > man.txt 2> /dev/null && grep -q 'no-plots' man.txt
fi

# ---- the example configurations run on files made by hcmc simulate
mkdir ex
cp "$examples/static.yaml" "$examples/laminar_flow.yaml" ex/
"$hcmc" simulate -o ex/static.h5 --mode static --frames 60 2> /dev/null
"$hcmc" simulate -o ex/laminar_flow.h5 --mode laminar_flow --frames 60 2> /dev/null
finished "$hcmc" run --config ex/static.yaml --num-warmup 150 --num-samples 100 -q \
    --no-plots > s.txt
grep -q 'shards: 4 ok' s.txt
test -f static_results/summary.json
# the data file (relative in the configuration) is found from another folder
(cd ex && "$hcmc" plot ../static_results > ../sp.txt 2> ../sp.err)
grep -q '^8 plots' sp.txt
test ! -s sp.err
"$hcmc" config --check ex/laminar_flow.yaml > lc.txt
grep -q 'laminar_flow' lc.txt && grep -q 'ex/laminar_flow.h5' lc.txt

# ---- the library example: the same combined draws from every backend
for b in serial threads multiprocessing; do
    "$example" ex/static.yaml $b 3 > ex_$b.txt 2> ex_$b.err
    grep -q "backend $b" ex_$b.err
    grep -q 'shard 0 started' ex_$b.err
done
grep -q 'combined with robust_consensus_mc: 3 of 3 shards' ex_serial.txt
grep -q '^D0 ' ex_serial.txt
grep -q 'importance correction applied: ESS' ex_serial.txt
cmp ex_serial.txt ex_threads.txt
cmp ex_serial.txt ex_multiprocessing.txt
echo "cli_report: ok"
