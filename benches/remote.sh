#!/usr/bin/env bash
# Benchmark: 28×28 stamps of 100,000 random positions from the synth-20 HiPS (order 9) read
# (a) from the directory, (b) through `hipsforge serve` on loopback as a remote HiPS with a
# cold disk cache, (c) the same with the cache warm; and (d) the Python API against the CLI
# on the directory, when the package's venv exists (scripts/install-python-package.sh).
#
#   benches/remote.sh                      # builds what it needs under target/bench
#   SKIP_CARGO=1 BENCH_DIR=/tmp/b benches/remote.sh
. "$(dirname "$0")/common.sh"
n=${POSITIONS:-100000}
bench_binary
bench_synth20_hips
bench_positions "$n"

run() {
  local label=$1; shift
  "$bin" cutout "$@" --positions "$pos" --size 28 --restart -q 2>&1 | grep -v '^$' | sed "s/^/$label: /"
}
run "local          " --hips "$hips" --out "$work/r-local.npy"

port=18091
RUST_LOG=warn "$bin" serve synth="$hips" --addr 127.0.0.1:$port 2>"$work/remote-serve.log" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/hipslist" >/dev/null && break; sleep 0.1; done
cache=$work/remote-cache
rm -rf "$cache"
run "remote, cold   " --hips "http://127.0.0.1:$port/synth/" --cache-dir "$cache" --out "$work/r-remote.npy"
run "remote, warm   " --hips "http://127.0.0.1:$port/synth/" --cache-dir "$cache" --out "$work/r-remote.npy"
cmp -s "$work/r-local.npy" "$work/r-remote.npy" && echo "remote stamps identical to local: yes" || echo "remote stamps identical to local: NO"

py=$root/target/test-deps/pyvenv/bin/python
if [ -x "$py" ] && "$py" -c "import hipsforge" 2>/dev/null; then
  "$py" - "$hips" "$pos" "$work/r-local.npy" <<'PY'
import sys, time, numpy as np, hipsforge
hips, pos, reference = sys.argv[1:]
table = np.genfromtxt(pos, delimiter=",", names=True, dtype=None, encoding=None)
band = hipsforge.Survey(hips)
hipsforge.cutouts(table["ra"][:1000], table["dec"][:1000], 28, bands=[band])  # warm the tiles
start = time.perf_counter()
x = hipsforge.cutouts(table["ra"], table["dec"], 28, bands=[band])
seconds = time.perf_counter() - start
same = np.array_equal(np.load(reference), x, equal_nan=True)
print(f"python cutouts(): {len(x)} stamps in {seconds:.2f} s ({len(x) / seconds:.0f} objects/s); equal to the CLI: {same}")
PY
else
  echo "python: the package's venv is missing (bash scripts/install-python-package.sh)"
fi
