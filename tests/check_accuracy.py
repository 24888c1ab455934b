"""The accuracy bar of CMC: python3 check_accuracy.py ONE.json CMC.json
[--report-only] [--bar MEAN,SD]. ONE is the summary.json of one
NUTS run on all points, CMC that of a CMC run on the same file. Every
parameter's CMC mean must lie within 0.2 of ONE's sd of ONE's mean, and its
sd within 10 % of ONE's.

--bar sets other limits (as fractions: 0.1,0.08), for comparisons whose
Monte Carlo error allows a tighter bar. --mcse allows a parameter 3 Monte
Carlo standard errors of the difference (from both files' mcse_mean and
mcse_sd) where that is wider than the bar: the rule of validate.py, for a
parameter with a heavy tail, whose sd a few draws decide.

Monte Carlo error of these comparisons at the default 4 x 1500 draws, with
both runs sampling in reference-rate coordinates (bulk ESS 4 000-10 000 for
every parameter; the importance correction keeps an ESS of 3 400-3 700 of
6 000): a difference of means has an sd of about 0.02-0.03 sd, a
ratio of sds about 0.025 (measured over seeds). The bar is many times that; both runs use fixed
seeds, so the outcome is the same every time."""
import json
import sys

one = json.load(open(sys.argv[1]))["parameters"]
cmc = json.load(open(sys.argv[2]))["parameters"]
report_only = "--report-only" in sys.argv
mcse = "--mcse" in sys.argv
bar_m, bar_s = 0.2, 0.10
if "--bar" in sys.argv:
    bar_m, bar_s = map(float, sys.argv[sys.argv.index("--bar") + 1].split(","))
bad = []
print(f"{'parameter':20s} {'dmean/sd':>9s} {'sd ratio':>9s}")
for name, r in one.items():
    c = cmc[name]
    dm = (c["mean"] - r["mean"]) / r["sd"]
    sr = c["sd"] / r["sd"]
    lim_m, lim_s = bar_m, bar_s
    if mcse:
        lim_m = max(bar_m, 3 * (r["mcse_mean"] ** 2 + c["mcse_mean"] ** 2) ** 0.5 / r["sd"])
        lim_s = max(bar_s, 3 * sr * ((r["mcse_sd"] / r["sd"]) ** 2 +
                                     (c["mcse_sd"] / c["sd"]) ** 2) ** 0.5)
    mean_ok, sd_ok = abs(dm) <= lim_m, abs(sr - 1) <= lim_s
    note = ""
    if not (mean_ok and sd_ok):
        note = "   outside the bar"
        bad.append(name)
    print(f"{name:20s} {dm:9.3f} {sr:9.3f}{note}")
if bad and not report_only:
    sys.exit(f"outside the bar ({bar_m} sd, {100 * bar_s:g} %): {', '.join(bad)}")
print("accuracy: " + ("outside the bar: " + ", ".join(bad) if bad else "within the bar"))
