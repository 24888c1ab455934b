#!/bin/sh
# Fixed physical parameters end to end, on a steady-shear laminar_flow file
# (beta = 0, gamma_dot_t_offset = 0: with both sampled the shear law is a
# ridge the data cannot resolve). With them fixed from the configuration
# (initial_parameters.fixed_parameters):
# - without them, planning the run warns of the flat law and says what to
#   fix;
# - hcmc config --check lists them; summary.json records them under
#   fixed_parameters and has no draws of them; the table and hcmc summary
#   show them;
# - one NUTS run converges (R-hat <= 1.01) and its 90 % intervals are
#   checked against the truth: each sampled physical parameter within 4 sd
#   (a correct posterior misses that by chance with probability 6e-5 per
#   parameter; the seeds are fixed, so the outcome is the same each time);
# - 4 shards meet the accuracy bar of cli_accuracy against that run (0.2 sd,
#   10 %; check_accuracy.py gives the Monte Carlo error);
# - the same with --fix on the command line gives the same numbers, also
#   as a plan whose shards workers ran (hcmc combine applies the plan's
#   overrides), and its report lists the fixed values;
# - another fixed value is another problem: a second run in the directory
#   reuses none of the first run's shards;
# - hcmc combine refuses a configuration that fixes other parameters.
. "$(dirname "$0")/cli_common.sh"
"$hcmc" simulate -o d.h5 --mode laminar_flow --frames 150 --angles -30,0,60 \
    --param beta=0 --param gamma_dot_t_offset=0 --param gamma_dot_t0=3e-4 --seed 7 \
    --config-out free.yaml 2> /dev/null
cp free.yaml fixed.yaml
printf 'initial_parameters:\n  fixed_parameters:\n    beta: 0.0\n    gamma_dot_t_offset: 0\n' \
    >> fixed.yaml
"$hcmc" config --check fixed.yaml > check.txt
grep -q 'beta *fixed at 0 (not sampled)' check.txt
grep -q 'gamma_dot_t_offset *fixed at 0 (not sampled)' check.txt

# sampled as it is, the flat shear law is pointed out with the way out
"$hcmc" plan --config free.yaml -o pw > /dev/null 2> pw.err
grep -q 'gamma_dot(t): beta = .* is within 3 sd .* of 0 on all points' pw.err
grep -q -- '--fix beta=0 --fix gamma_dot_t_offset=0' pw.err
"$hcmc" plan --config fixed.yaml -o pf > /dev/null 2> pf.err
if grep -q 'within 3 sd' pf.err; then echo "warned with the law fixed"; exit 1; fi

cp fixed.yaml one.yaml
printf 'optimization:\n  cmc:\n    enable: false\n' >> one.yaml
"$hcmc" run --config one.yaml -o one -q --no-plots > one.txt
grep -q '^beta  *0  *(fixed)' one.txt
grep -q '^gamma_dot_t_offset  *0  *(fixed)' one.txt
"$hcmc" summary one > summary.txt
grep -v '^results in' one.txt | diff - summary.txt
$py - one/summary.json <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["fixed_parameters"] == {"beta": 0.0, "gamma_dot_t_offset": 0.0}, s["fixed_parameters"]
p = s["parameters"]
assert "beta" not in p and "gamma_dot_t_offset" not in p, list(p)
truth = {"D0": 2e4, "alpha": -0.5, "D_offset": 100.0, "gamma_dot_t0": 3e-4, "phi0": 4.0}
for name, v in truth.items():
    z = (p[name]["mean"] - v) / p[name]["sd"]
    print(f"{name:14s} {p[name]['mean']:12.6g} sd {p[name]['sd']:10.4g} (truth {v:g}, {z:+.2f} sd)")
    assert abs(z) < 4, name
for name, r in p.items():
    assert r["r_hat"] <= 1.01, (name, r["r_hat"])
EOF

cp fixed.yaml cmc.yaml
printf 'optimization:\n  cmc:\n    enable: true\n' >> cmc.yaml
"$hcmc" run --config cmc.yaml -o cmc --num-shards 4 -q --no-plots > cmc.txt
grep -q 'shards: 4 ok' cmc.txt
grep -q 'importance correction: applied' cmc.txt
echo "== steady shear, beta and gamma_dot_t_offset fixed: 4 shards against one run"
$py "$here/check_accuracy.py" one/summary.json cmc/summary.json

# the same problem from the command line: the same draws
cp free.yaml cmcfree.yaml
printf 'optimization:\n  cmc:\n    enable: true\n' >> cmcfree.yaml
"$hcmc" run --config cmcfree.yaml -o cmc2 --num-shards 4 -q --no-plots \
    --fix beta=0 --fix gamma_dot_t_offset=0 > cmc2.txt
grep -q '"initial_parameters.fixed_parameters.beta=0"' cmc2/summary.json
$py "$here/check_accuracy.py" cmc/summary.json cmc2/summary.json --bar 0,0
# the same as a plan run by workers: combine applies the plan's overrides
"$hcmc" plan --config cmcfree.yaml -o pl --num-shards 4 \
    --fix beta=0 --fix gamma_dot_t_offset=0 > /dev/null 2>&1
for i in 0 1 2 3; do "$hcmc" worker pl --shard $i 2> /dev/null; done
"$hcmc" combine pl --no-plots > pl.txt
grep -q '^beta  *0  *(fixed)' pl.txt
$py "$here/check_accuracy.py" cmc2/summary.json pl/summary.json --bar 0,0
# plots and report of such a run: the fixed values in the report's table
"$hcmc" plot cmc2 > plot.txt
grep -q '<td class=l>beta</td><td>0</td><td class=l colspan=8>fixed' cmc2/report.html
test -f cmc2/plots/corner.png

# another fixed value: none of the shards is reused
"$hcmc" run --config cmc.yaml -o cmc --num-shards 4 --no-plots \
    --fix gamma_dot_t_offset=1e-6 > other.txt 2> other.err
grep -q 'files of an earlier run with other data or settings; they are replaced' other.err
grep -q '"reused_shards": 0' cmc/summary.json
grep -q '"gamma_dot_t_offset": 1e-0*6$' cmc/summary.json

# a configuration that samples what the shards had fixed is refused
"$hcmc" run --config cmc.yaml -o cmc3 --num-shards 4 -q --no-plots > /dev/null
cp free.yaml cmc3/config.yaml
if "$hcmc" combine cmc3 --no-plots > c3.txt 2> c3.err; then
    echo "combine with another configuration did not fail"; exit 1
fi
grep -q 'beta is not sampled in the shard files but sampled in the configuration' c3.err
echo "cli_fixed: ok"
