#!/bin/sh
# Mirror modes of phi0 (laminar_flow): the angles 0 and 90 see phi0 only
# through |cos(phi0 - phi)|, so phi0 and -phi0 are equally likely
# (model.h hcmc_angles_mirror_axis). With homodyne's default bounds of phi0,
# [-10, 10], symmetric about 0 and a Uniform prior, the run must hold both
# modes with weight 1/2 each; with bounds on one side it holds one and its
# draws are the sampler's; with bounds that are not symmetric about 0 but
# hold both modes it must hold both, weighed by their mass: made exactly
# from the draws of one where that one's side covers the other's
# (src/run/mirror.c), else sampled by chains of their own and weighed by
# bridge sampling (src/run/modes.c).
. "$(dirname "$0")/cli_common.sh"
"$hcmc" simulate -o m.h5 --mode laminar_flow --frames 150 --angles 0,90 \
    --param phi0=8 --config-out m.yaml 2> /dev/null
bounds() { # bounds IN LO HI OUT: IN with phi0 in [LO, HI], Uniform
    $py - "$1" "$2" "$3" "$4" << 'PY'
import re, sys
s = open(sys.argv[1]).read()
s = re.sub(r"(name: phi0\n\s*min: )\S+(\n\s*max: )\S+(\n\s*type: )\S+",
           r"\g<1>%s\g<2>%s\g<3>Uniform" % (sys.argv[2], sys.argv[3]), s)
open(sys.argv[4], "w").write(s)
PY
}
bounds m.yaml -10 10 sym.yaml
bounds m.yaml 0 15 one.yaml
bounds m.yaml -10 15 asym.yaml
grep -q 'min: -10' sym.yaml

# 1. symmetric bounds: both modes. Each draw is its sampled value or its
# image (|phi0| unchanged, draw for draw); the share above 0 is 1/2 up to
# the coin flips alone: binomial sd sqrt(0.25 / 6000) = 0.0065, allowed 0.03
# (4.6 sd, whatever the machine: it does not depend on the sampler)
finished "$hcmc" run --config sym.yaml -o sym -q --no-plots > sym.txt 2> sym.err
grep -q 'the draws hold both modes, each with weight 1/2' sym/run.log
grep -q 'warn phi0 has two mirror modes of weight 1/2 each' sym.txt
$py - sym << 'PY'
import json, sys
import numpy as np, xarray as xr
d = sys.argv[1]
post = xr.open_dataset(d + "/posterior.nc", group="posterior")["phi0"].values
own = xr.open_dataset(d + "/posterior.nc", group="shards")["phi0"].values[0]
assert np.allclose(np.abs(post), np.abs(own), rtol=1e-9, atol=0), "not the sampled draws or their images"
share = float((post > 0).mean())
assert abs(share - 0.5) < 0.03, share
modes = json.load(open(d + "/summary.json"))["run"]["modes"]
assert [m["weight"] for m in modes] == [0.5, 0.5], modes
# each mode's own mean: images of each other to their Monte Carlo error
# (about 0.75 / sqrt(3000) = 0.014; allowed 0.1)
assert abs(modes[0]["phi0"] + modes[1]["phi0"]) < 0.1 and abs(abs(modes[0]["phi0"]) - 8) < 3
print(f"mirror modes: share above 0 {share:.3f}, modes {modes[0]['phi0']:.3f}, {modes[1]['phi0']:.3f}")
PY

# 2. bounds on one side: one mode, the draws as sampled
finished "$hcmc" run --config one.yaml -o one -q --no-plots > one.txt
! grep -q 'mirror' one.txt
$py - one << 'PY'
import json, sys
import numpy as np, xarray as xr
d = sys.argv[1]
post = xr.open_dataset(d + "/posterior.nc", group="posterior")["phi0"].values
own = xr.open_dataset(d + "/posterior.nc", group="shards")["phi0"].values[0]
assert np.allclose(post, own, rtol=1e-9, atol=0)
assert "modes" not in json.load(open(d + "/summary.json"))["run"]
PY

# 3. bounds that hold both modes but are not symmetric, [-10, 15]: the
# chains start in one, the other is sampled by chains of its own and the
# two weighed by bridge sampling (src/run/modes.c); a warning names the
# cause, exit 0. The weights have an exact reference: the likelihood is
# even in phi0 and the prior uniform, so the mass of phi0 < 0 is that of
# 0 < phi0 < 10, and w- / w+ = P+(phi0 < 10), read off the + mode's draws.
# Allowed: 4 times the combined error (the weights' own, by their chains'
# scatter, and the binomial error of that share at the mode's ESS); and
# each weight's error must be below 0.02, or the check says nothing.
finished "$hcmc" run --config asym.yaml -o asym -q > asym.txt
# (the chains sit on the narrower side, -8: its image is sampled; were
# they on the wider, mirror.c would make it)
grep -q 'warn phi0 has .*mirror modes' asym.txt
grep -q "^modes: 2, each sampled by chains of its own\|^modes: phi0's mirror images" asym.txt
! grep -q 'FAIL' asym.txt
test -s asym/plots/marginals.png
grep -q '<h2>Modes</h2>' asym/report.html
"$hcmc" summary asym > asym_sum.txt || true
grep -q "^modes: 2, each sampled by chains of its own\|^modes: phi0's mirror images" asym_sum.txt
grep -q '^  2: weight 0.[45]' asym_sum.txt
weights() { # DIR BOUND: the modes' weights against P+(phi0 < BOUND)
    $py - "$1" "$2" << 'PY'
import json, math, sys
import numpy as np, xarray as xr
d, bound = sys.argv[1], float(sys.argv[2])
run = json.load(open(d + "/summary.json"))["run"]
modes = run["modes"]
assert len(modes) == 2, modes
assert run["modes_weighed_by"] in ("bridge_sampling", "mirror_prior_ratio"), run
assert abs(sum(m["weight"] for m in modes) - 1) < 1e-12
assert all(0 < m["weight_se"] < 0.02 for m in modes), modes
sm = run["search_modes"]
assert len(sm) == 2 and sm[1]["sampled"] and not sm[1]["missed"], sm
post = xr.open_dataset(d + "/posterior.nc", group="posterior")["phi0"].values.ravel()
g = xr.open_dataset(d + "/posterior.nc", group="modes")
lab = g["draw_mode"].values.ravel()
assert np.allclose(g["weight"].values, [m["weight"] for m in modes])
# each mode's share of the draws is its weight: to the rounding of counts
# where the modes were sampled one by one, to the binomial error of the
# coin flips (4 sd) where the mirror image was made from one
for i, m in enumerate(modes):
    w = m["weight"]
    tol = (1.0 / lab.size if run["modes_weighed_by"] == "bridge_sampling"
           else 4 * math.sqrt(w * (1 - w) / lab.size))
    assert abs((lab == i).mean() - w) <= tol, (i, w, (lab == i).mean())
    assert m["chains"] >= 2
# each mode's draws lie on one side of 0, the two on different sides
signs = [np.sign(post[lab == i]) for i in range(2)]
assert all(abs(s.mean()) == 1 for s in signs) and signs[0][0] != signs[1][0]
ip = 0 if signs[0][0] > 0 else 1
x = post[lab == ip]
F = float((x < bound).mean())
ess = modes[ip]["parameters"]["phi0"]["ess_bulk"] * x.size / (modes[ip]["chains"] * modes[ip]["draws"])
wp, wm = modes[ip]["weight"], modes[1 - ip]["weight"]
ratio = wm / wp
se_ratio = modes[ip]["weight_se"] / wp ** 2
se = math.sqrt(se_ratio ** 2 + F * (1 - F) / ess + 1e-12)
print(f"{d}: weights + {wp:.4f}, - {wm:.4f} (se {modes[ip]['weight_se']:.4f}); "
      f"w-/w+ {ratio:.4f} against P+(phi0 < {bound:g}) {F:.4f} +- {se:.4f}")
assert abs(ratio - F) <= 4 * se, (ratio, F, se)
PY
}
weights asym 10
# 4. a mirror mode cut by a bound: phi0 = 6 (100 frames, seed 2) with
# bounds [-10, 15]. The draws sit near 10.7, whose image -10.7 lies
# beyond the bound, so the mirror check has nothing to compare; the mode
# is there all the same (the posterior cut at -10, its mode at -9.1), and
# the warm start's search finds it (Laplace weight 0.36): sampled by chains
# of its own, its weight is P+(phi0 < 10) / (1 + that), about 0.2. Where
# the first chains reach both modes themselves, R-hat fails instead;
# never exit 0 with one mode.
"$hcmc" simulate -o c.h5 --mode laminar_flow --frames 100 --angles 0,90 \
    --param phi0=6 --seed 2 --config-out c.yaml 2> /dev/null
bounds c.yaml -10 15 cut.yaml
st=0
"$hcmc" run --config cut.yaml -o cut -q --no-plots > cut.txt || st=$?
if [ $st -eq 0 ]; then
    grep -q "^modes: phi0's mirror images\|^modes: 2, each sampled by chains" cut.txt
    grep -q 'warn phi0 has .*mirror modes' cut.txt
    weights cut 10
else
    [ $st -eq 3 ]
    grep -q 'FAIL R-hat' cut.txt
fi
# 5. the same file in 4 shards: every shard's draws are taken on the side
# of the axis most draws are on before combining (a shard whose chains
# visit both modes would otherwise combine as neither), and the mirror
# mode is made from the combination's draws: the same reference holds
if [ $st -eq 0 ]; then
    finished "$hcmc" run --config cut.yaml -o cutc -q --no-plots \
        --set optimization.cmc.sharding.num_shards=4 > cutc.txt
    grep -q 'the shards are combined on the .* side of the mirror axis 0' cutc/run.log
    ! grep -q 'FAIL' cutc.txt
    weights cutc 10
fi
# 6. bounds [-100, 100]: the axes -90, 0 and 90 lie inside, so the mirror
# image is no longer made from the draws of one mode (mirror.c needs one
# axis) but sampled by chains of its own and weighed by bridge sampling.
# Likelihood and prior are symmetric about 0 and the images about +-90
# leave the bounds, so the weights are 1/2 exactly: allowed 4 times their
# error (which must be below 0.02). In 4 shards, every shard's draws are
# taken in the first mode's cell before combining (modes.c).
half() { # DIR: two modes of weight 1/2 within 4 errors
    $py - "$1" << 'PY'
import json, sys
run = json.load(open(sys.argv[1] + "/summary.json"))["run"]
m = run["modes"]
assert len(m) == 2 and run["modes_weighed_by"] == "bridge_sampling", run
assert m[0]["parameters"]["phi0"]["mean"] * m[1]["parameters"]["phi0"]["mean"] < 0
for x in m:
    assert 0 < x["weight_se"] < 0.02 and abs(x["weight"] - 0.5) <= 4 * x["weight_se"], m
print(f"{sys.argv[1]}: weights {m[0]['weight']:.4f}, {m[1]['weight']:.4f} +- {m[0]['weight_se']:.4f}")
PY
}
bounds m.yaml -100 100 wide.yaml
finished "$hcmc" run --config wide.yaml -o wide -q --no-plots > wide.txt
grep -q 'modes: 2, each sampled by chains of its own' wide.txt
half wide
bounds c.yaml -100 100 cwide.yaml
finished "$hcmc" run --config cwide.yaml -o cwide -q --no-plots \
    --set optimization.cmc.sharding.num_shards=4 > cwide.txt
grep -q "the shards are combined within the first mode's cell" cwide/run.log
half cwide
echo "cli_modes: ok"
