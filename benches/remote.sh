#!/usr/bin/env bash
# Benchmark: 28×28 stamps of 100,000 random positions from the synth-20 HiPS (order 9) read
# (a) from the directory, (b) through `hipsforge serve` on loopback as a remote HiPS with a
# cold disk cache, (c) the same with the cache warm; and (d) the Python API against the CLI
# on the directory, when the package's venv exists (scripts/install-python-package.sh); then
# (e) a cold run, CLI and Python, against a server LATENCY_MS (default 50) ms away: the server
# runs in a network namespace behind a veth pair with netem delay (needs root and iproute2).
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
have_python() { [ -x "$py" ] && "$py" -c "import hipsforge" 2>/dev/null; }
if have_python; then
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

# (e) A far server: 10.77.0.2 in namespace hfbench, every packet towards it delayed.
latency=${LATENCY_MS:-50}
ns=hfbench
far_down() {
  [ -n "${far_server:-}" ] && kill "$far_server" 2>/dev/null
  ip netns del $ns 2>/dev/null || true
  ip link del hfv0 2>/dev/null || true
}
far_up() {
  far_down
  ip netns add $ns && ip link add hfv0 type veth peer name hfv1 && ip link set hfv1 netns $ns &&
    ip addr add 10.77.0.1/24 dev hfv0 && ip link set hfv0 up &&
    ip netns exec $ns ip addr add 10.77.0.2/24 dev hfv1 && ip netns exec $ns ip link set hfv1 up &&
    ip netns exec $ns ip link set lo up && tc qdisc add dev hfv0 root netem delay "${latency}ms"
}
if far_up 2>"$work/far.log"; then
  trap 'kill $server 2>/dev/null || true; far_down' EXIT
  RUST_LOG=warn ip netns exec $ns "$bin" serve synth="$hips" --addr 10.77.0.2:$port 2>>"$work/far.log" &
  far_server=$!
  for _ in $(seq 50); do curl -sf "http://10.77.0.2:$port/hipslist" >/dev/null && break; sleep 0.2; done
  echo "far server: $(ping -c 3 -q 10.77.0.2 | tail -1)"
  rm -rf "$cache"
  run "remote ${latency} ms, cold" --hips "http://10.77.0.2:$port/synth/" --cache-dir "$cache" --out "$work/r-far.npy"
  cmp -s "$work/r-local.npy" "$work/r-far.npy" && echo "far stamps identical to local: yes" || echo "far stamps identical to local: NO"
  if have_python; then
    rm -rf "$cache"
    "$py" - "http://10.77.0.2:$port/synth/" "$pos" "$cache" "$work/r-local.npy" <<'PY'
import sys, time, numpy as np, hipsforge
url, pos, cache, reference = sys.argv[1:]
table = np.genfromtxt(pos, delimiter=",", names=True, dtype=None, encoding=None)
band = hipsforge.Survey(url, cache_dir=cache)
start = time.perf_counter()
x = hipsforge.cutouts(table["ra"], table["dec"], 28, bands=[band])
seconds = time.perf_counter() - start
files, size = band.fetched
same = np.array_equal(np.load(reference), x, equal_nan=True)
print(f"python remote, cold: {len(x)} stamps in {seconds:.2f} s ({len(x) / seconds:.0f} objects/s), "
      f"{files} files ({size / 1e6:.1f} MB) fetched; equal to the CLI: {same}")
PY
  fi
else
  echo "far server: not measured (network namespace: $(tail -1 "$work/far.log"))"
fi
