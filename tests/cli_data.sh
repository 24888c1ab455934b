#!/bin/sh
# End to end through the command: simulate a file with its config, inspect
# it, check the config (which reads the data), and refuse bad input.
set -eu
hcmc=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$hcmc" simulate -o "$dir/d.h5" --frames 40 --angles -30,0,60 --config-out "$dir/c.yaml"
"$hcmc" inspect "$dir/d.h5" | grep -q 'layout       current'
"$hcmc" inspect "$dir/d.h5" | grep -q 'compression lzf'
"$hcmc" config --check "$dir/c.yaml" --seed 9 > "$dir/out.txt"
grep -q '3 angles kept' "$dir/out.txt"
grep -q 'override            optimization.cmc.seed=9' "$dir/out.txt"
"$hcmc" simulate -o "$dir/l.h5" --layout legacy --mode static --frames 30
"$hcmc" inspect "$dir/l.h5" | grep -q 'layout       legacy'
# bad input: each fails with one clear line naming the file
echo 'not hdf5' > "$dir/bad.h5"
if "$hcmc" inspect "$dir/bad.h5" 2> "$dir/err.txt"; then exit 1; fi
grep -q "bad.h5: not an HDF5 file" "$dir/err.txt"
printf 'analysis_mode: [\n' > "$dir/bad.yaml"
if "$hcmc" config --check "$dir/bad.yaml" 2> "$dir/err.txt"; then exit 1; fi
grep -q "bad.yaml:2:1: not valid YAML" "$dir/err.txt" || { cat "$dir/err.txt"; exit 1; }
if "$hcmc" simulate -o "$dir/x.h5" --param gamma=1 2> /dev/null; then exit 1; fi
# a decay faster than the bounds allow: today's detector frame time (dt 2e-5
# s) and D = 1e7, fitted with homodyne's default bounds (D0 <= 1e5, D_offset
# <= 1e5): the run stops before sampling with one line that names D0, its
# bound, and the D the data want (the decay read off the data: 9.8e6 here)
"$hcmc" simulate -o "$dir/fd.h5" --mode static --frames 150 --angles 0,45,90 \
    --dt 2e-5 --param D0=1e7 --param alpha=0 --param D_offset=0 \
    --config-out "$dir/fd.yaml" 2> /dev/null
/usr/bin/python3 - "$dir/fd.yaml" << 'PY'
import re, sys
s = open(sys.argv[1]).read()
for name, lo, hi in (("D0", 100, 1e5), ("alpha", -2, 2), ("D_offset", -1e5, 1e5)):
    s = re.sub(r"(name: %s\n\s*min: )\S+(\n\s*max: )\S+" % name,
               r"\g<1>%r\g<2>%r" % (lo, hi), s)
open(sys.argv[1], "w").write(s.replace("TruncatedNormal", "Uniform"))
PY
grep -q 'max: 100000.0' "$dir/fd.yaml"
if "$hcmc" run --config "$dir/fd.yaml" -o "$dir/fd" -q 2> "$dir/err.txt"; then exit 1; fi
grep -q "error: D0 = .* is at its upper bound 100000: c2 decays with a half-time" \
    "$dir/err.txt" || { cat "$dir/err.txt"; exit 1; }
grep -q "needs D of about .*e+06 A^2/s" "$dir/err.txt"
grep -q "raise the upper bound of D0 (parameter_space.bounds)" "$dir/err.txt"
test ! -e "$dir/fd/summary.json"
echo "cli_data: ok"
