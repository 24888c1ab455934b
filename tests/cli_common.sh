# Sourced first by the cli_*.sh tests (`. "$(dirname "$0")/cli_common.sh"`
# with the hcmc binary as the script's first argument): stop at the first
# failing command; hcmc (absolute path), here (this folder), py (the
# Python with h5py, xarray and scipy: Debian's), dir (a scratch folder,
# removed on exit: a script that sets its own EXIT trap removes it there)
# and the working directory there.
set -eu
hcmc=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
# finished CMD...: CMD (hcmc run, combine or summary) ended with its results
# written, whatever their verdict: exit 0 (diagnostics passed) or 3 (failed
# them). The short runs of these tests (tens to hundreds of draws) test the
# machinery and cannot reach the verdict's bar (ESS 400). Any other status
# is returned as it was.
finished() { "$@" || { _st=$? && [ $_st -eq 3 ] || return $_st; }; }
