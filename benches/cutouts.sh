#!/usr/bin/env bash
# Benchmark: 28×28 cutouts from the synth-20 HiPS (order 9) for 100,000 random positions inside
# its footprint — single band, and five bands (the same HiPS mounted as u, g, r, i, z, each with
# its own tiles in the cache) — plus the rate of single hips2fits requests over HTTP with wrk.
#
#   benches/cutouts.sh                    # builds what it needs under target/bench
#   SKIP_CARGO=1 BENCH_DIR=/tmp/b benches/cutouts.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=${BENCH_DIR:-$root/target/bench}
n=${POSITIONS:-100000}
mkdir -p "$work"
work=$(cd "$work" && pwd)
[ "${SKIP_CARGO:-0}" = 1 ] || cargo build --release --quiet
bin=$root/target/release/hipsforge

if [ ! -f "$work/synth20/img_20.fits" ]; then
  if [ ! -x "$work/venv/bin/python" ]; then
    python3 -m venv "$work/venv"
    "$work/venv/bin/pip" install --quiet numpy astropy
  fi
  "$work/venv/bin/python" "$root/../shared/bench/make_synth.py" "$work/synth20"
fi
hips=$work/cutout-hips
[ -f "$hips/properties" ] || "$bin" build "$work/synth20" --out "$hips" --id ivo://bench/P/synth20 --order 9 --force -q

# Random positions inside the mosaic (RA 149.45..150.55, Dec 1.55..2.45), fixed seed.
pos=$work/positions-$n.csv
awk -v n="$n" 'BEGIN { srand(7); print "id,ra,dec";
  for (i = 0; i < n; i++) printf "obj%d,%.6f,%.6f\n", i, 149.45 + rand() * 1.1, 1.55 + rand() * 0.9 }' > "$pos"

run() {
  local label=$1; shift
  "$bin" cutout "$@" --positions "$pos" --size 28 --restart -q 2>&1 | tail -1 | sed "s/^/$label: /"
}
run "1 band " --hips "$hips" --out "$work/c1.npy"
run "5 bands" --hips u="$hips" --hips g="$hips" --hips r="$hips" --hips i="$hips" --hips z="$hips" --out "$work/c5.npy"

# HTTP: one hips2fits request per random position (28×28 FITS), wrk on loopback.
if ! command -v wrk >/dev/null; then
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
port=18090
RUST_LOG=warn "$bin" serve synth="$hips" --addr 127.0.0.1:$port 2>"$work/cutout-serve.log" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/hipslist" >/dev/null && break; sleep 0.1; done
lua=$work/hips2fits.lua
cat > "$lua" <<'LUA'
math.randomseed(11)
request = function()
  local ra = 149.45 + math.random() * 1.1
  local dec = 1.55 + math.random() * 0.9
  return wrk.format("GET", string.format(
    "/hips-image-services/hips2fits?hips=synth&width=28&height=28&projection=TAN&fov=0.00622&ra=%.6f&dec=%.6f&format=fits", ra, dec))
end
LUA
wrk -t2 -c32 -d10s -s "$lua" "http://127.0.0.1:$port" | grep -E "Requests/sec|Latency|Non-2xx|Socket errors" | sed 's/^/hips2fits over HTTP: /'
