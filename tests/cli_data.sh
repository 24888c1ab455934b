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
echo "cli_data: ok"
