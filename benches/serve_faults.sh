#!/usr/bin/env bash
# Load with faults: 30 s of wrk at 256 connections against `hipsforge serve` on loopback, on a
# mix of tiles (PNG and FITS), 404s (missing tiles, unknown mounts, traversal attempts,
# repeated slashes that do resolve), properties, and hips2fits cutouts (FITS and PNG, some with
# bad parameters that must be 400). Reports requests/s, answers by status class (there must be
# no 5xx), wrk's socket errors, and the server's peak RSS (VmHWM from /proc).
#
#   benches/serve_faults.sh                         # HiPS of examples/data's SDSS frame
#   HIPS=/path/to/a/hips benches/serve_faults.sh   # any HiPS with PNG and FITS tiles
#   SKIP_CARGO=1 DURATION=10s CONNS=64 benches/serve_faults.sh
#
# Environment: BENCH_DIR (default <repo>/target/bench), HIPS, SKIP_CARGO=1 (use
# target/release/hipsforge as it is), DURATION (30s), CONNS (256), THREADS (wrk threads, 2),
# PORT (18090). Exit status 1 when any answer was a 5xx. Only 127.0.0.1 is contacted.
. "$(dirname "$0")/common.sh"

duration=${DURATION:-30s}
conns=${CONNS:-256}
wrk_threads=${THREADS:-2}
port=${PORT:-18090}
mount=hips

bench_tools
bench_binary

if [ -n "${HIPS:-}" ]; then
  hips=$(cd "$HIPS" && pwd)
else
  hips=$work/faults-hips
  if [ ! -f "$hips/properties" ]; then
    echo "building $hips ..."
    "$bin" build "$root/examples/data/frame-r-002583-2-0136.fits.bz2" --out "$hips" \
      --id ivo://bench/P/sdss-r --preset sdss-r --format fits,png --tile-width 256 --force -q
  fi
fi
[ -f "$hips/properties" ] || { echo "$hips: no properties file, not a HiPS" >&2; exit 1; }
prop() { sed -n "s/^$1 *= *//p" "$hips/properties" | head -1; }
ra=$(prop hips_initial_ra)
dec=$(prop hips_initial_dec)
fov=$(prop hips_initial_fov)

tmp=$(mktemp -d /tmp/serve_faults.XXXXXX)
results=$work/serve-faults
mkdir -p "$results"
our_pid=""
cleanup() {
  [ -n "$our_pid" ] && kill "$our_pid" 2>/dev/null && wait "$our_pid" 2>/dev/null
  rm -rf "$tmp"
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/"; then
  echo "something already listens on 127.0.0.1:$port" >&2; exit 1
fi
ulimit -n 65536 2>/dev/null || true

# --- The mix (one target per line; weights by repetition), shuffled with a fixed seed. -------
h2f="/hips-image-services/hips2fits?hips=$mount"
(
  cd "$hips"
  # 40 %: tiles that exist (PNG and FITS).
  find . -path './Norder*/Dir*/Npix*' \( -name '*.png' -o -name '*.fits' \) -type f |
    sed "s|^\./|/$mount/|" | LC_ALL=C sort | head -400
) >"$tmp/tiles.txt"
[ -s "$tmp/tiles.txt" ] || { echo "no tiles in $hips" >&2; exit 1; }
{
  cat "$tmp/tiles.txt"
  for i in $(seq 100); do
    # 25 %: 404s — missing tiles (inside and outside the MOC), unknown mounts, traversal.
    echo "/$mount/Norder3/Dir0/Npix$((i * 7)).png"
    echo "/nope$i/properties"
    echo "/$mount/../../etc/passwd"
    echo "/$mount//..//..//etc/passwd"
    # 15 %: properties, also asked with repeated slashes (Aladin Desktop's //properties).
    echo "/$mount/properties"
    echo "/$mount//properties"
    if [ $((i % 2)) = 0 ]; then echo "/hipslist"; fi
    # 20 %: hips2fits — small FITS and PNG cutouts, and bad parameters (400).
    echo "$h2f&width=64&height=64&fov=$fov&ra=$ra&dec=$dec"
    echo "$h2f&width=48&height=32&fov=$fov&ra=$ra&dec=$dec&format=png&stretch=asinh"
    if [ $((i % 2)) = 0 ]; then
      echo "$h2f&width=4294967296&height=4294967296&fov=1&ra=0&dec=0"
    else
      echo "$h2f&width=64&height=64&fov=720&ra=inf&dec=95"
    fi
  done
} | shuf --random-source=<(yes 42) >"$tmp/targets.txt"
n_targets=$(wc -l <"$tmp/targets.txt")

{
  echo "local paths = {"
  sed 's/\\/\\\\/g; s/"/\\"/g; s/.*/  "&",/' "$tmp/targets.txt"
  echo "}"
  cat <<'EOF'
local n = #paths
local threads = {}
local counter = 0
function setup(thread)
  thread:set("thread_id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  i = (thread_id * 7919) % n
  c2, c3, c404, c4, c5 = 0, 0, 0, 0, 0
end
request = function()
  i = i % n + 1
  return wrk.format("GET", paths[i])
end
response = function(status, headers, body)
  if status >= 500 then c5 = c5 + 1
  elseif status == 404 then c404 = c404 + 1
  elseif status >= 400 then c4 = c4 + 1
  elseif status >= 300 then c3 = c3 + 1
  else c2 = c2 + 1 end
end
done = function(summary, latency, requests)
  local t = {0, 0, 0, 0, 0}
  for _, th in ipairs(threads) do
    t[1] = t[1] + th:get("c2"); t[2] = t[2] + th:get("c3"); t[3] = t[3] + th:get("c404")
    t[4] = t[4] + th:get("c4"); t[5] = t[5] + th:get("c5")
  end
  io.write(string.format("STATUS 2xx=%d 3xx=%d 404=%d other4xx=%d 5xx=%d\n", t[1], t[2], t[3], t[4], t[5]))
  local e = summary.errors
  io.write(string.format("SOCKET connect=%d read=%d write=%d timeout=%d\n",
    e.connect, e.read, e.write, e.timeout))
  io.write(string.format("LATENCY p50=%.2fms p99=%.2fms max=%.2fms\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
EOF
} >"$tmp/faults.lua"

RUST_LOG=warn "$bin" serve "$mount=$hips" --addr "127.0.0.1:$port" >"$results/hipsforge.log" 2>&1 &
our_pid=$!
for _ in $(seq 100); do
  curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/$mount/properties" && break
  sleep 0.1
done
# Every kind of target answers as it should before the load starts.
check() { # TARGET EXPECTED
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' --path-as-is "http://127.0.0.1:$port$1")
  [ "$code" = "$2" ] || { echo "check: $1 → HTTP $code, expected $2" >&2; exit 1; }
}
check "$(head -1 "$tmp/tiles.txt")" 200
check "/$mount//properties" 200
check "/$mount//..//..//etc/passwd" 404
check "$h2f&width=64&height=64&fov=$fov&ra=$ra&dec=$dec" 200
check "$h2f&width=4294967296&height=4294967296&fov=1&ra=0&dec=0" 413
check "$h2f&width=64&height=64&fov=720&ra=inf&dec=95" 400

echo "wrk: $duration, $conns connections, $wrk_threads threads, $n_targets targets (tiles, 404s, properties, hips2fits)"
wrk -t"$wrk_threads" -c"$conns" -d"$duration" --timeout 10s -s "$tmp/faults.lua" \
  "http://127.0.0.1:$port" | tee "$results/wrk.txt"
rss_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$our_pid/status")
alive=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/$mount/properties")

rps=$(sed -n 's/^Requests\/sec: *//p' "$results/wrk.txt")
status=$(grep '^STATUS' "$results/wrk.txt" | cut -d' ' -f2-)
sockets=$(grep '^SOCKET' "$results/wrk.txt" | cut -d' ' -f2-)
five=$(sed -n 's/.*5xx=\([0-9]*\).*/\1/p' "$results/wrk.txt")
panics=$(grep -c 'panicked' "$results/hipsforge.log" || true)
echo
echo "== serve_faults: $rps req/s; $status; socket errors: $sockets"
echo "== server peak RSS $((rss_kb / 1024)) MB; panics in the log: $panics; properties after the run: HTTP $alive"
[ "${five:-1}" = 0 ] && [ "$panics" = 0 ] && [ "$alive" = 200 ]
