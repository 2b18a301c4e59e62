#!/usr/bin/env bash
# Benchmark: 28×28 cutouts from the synth-20 HiPS (order 9) for 100,000 random positions inside
# its footprint — single band, and five bands (the same HiPS mounted as u, g, r, i, z, each with
# its own tiles in the cache) — plus the rate of single hips2fits requests over HTTP with wrk.
#
#   benches/cutouts.sh                    # builds what it needs under target/bench
#   SKIP_CARGO=1 BENCH_DIR=/tmp/b benches/cutouts.sh
. "$(dirname "$0")/common.sh"
bench_cutout_scene
bench_cutout "1 band " --hips "$hips" --out "$work/c1.npy"
bench_cutout "5 bands" --hips u="$hips" --hips g="$hips" --hips r="$hips" --hips i="$hips" --hips z="$hips" --out "$work/c5.npy"

# HTTP: one hips2fits request per random position (28×28 FITS), wrk on loopback.
bench_tools
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
