#!/usr/bin/env bash
# Benchmark: `hipsforge serve` against nginx serving the same HiPS directory on loopback, with wrk.
#
# Both servers serve the HiPS at /hips/ (ours on 127.0.0.1:18080, nginx on 127.0.0.1:18081). The
# request mix is every file of the HiPS a client fetches (all Norder*/Dir*/Npix*.png and .fits,
# properties, Moc.fits, Norder3/Allsky.png), shuffled with a fixed seed; wrk cycles through it.
# For each server and each concurrency (CONNS, default "32 256") it prints requests/s, transfer/s,
# p50/p99 latency, socket errors, non-2xx/3xx responses and the server's CPU time per request,
# then a summary table. Raw wrk output is kept in $BENCH_DIR/serve-wrk/.
#
#   benches/serve_wrk.sh                            # synth-20 built at order 9, FITS + PNG
#   HIPS=/path/to/a/hips benches/serve_wrk.sh      # any HiPS directory instead
#   SKIP_CARGO=1 DURATION=5s CONNS="256" benches/serve_wrk.sh
#
# Environment: BENCH_DIR (default <repo>/target/bench), HIPS (serve this HiPS, skip the build),
# SKIP_CARGO=1 (use target/release/hipsforge as it is), DURATION (10s), THREADS (wrk threads, 2),
# CONNS ("32 256"), MIX (all: PNG and FITS tiles; png: PNG tiles only, as Aladin Lite fetches).
#
# Notes: our server runs with RUST_LOG=warn — at the default level (info) it logs a span and a
# line per request, which would dominate the measurement. wrk sends no Accept-Encoding, so our
# on-the-fly gzip/br compression is not exercised (nginx does none either). On a small machine
# wrk shares the cores with the server under test: compare the two servers, not absolute figures.
# Only 127.0.0.1 is contacted.
. "$(dirname "$0")/common.sh"

duration=${DURATION:-10s}
wrk_threads=${THREADS:-2}
conns=${CONNS:-32 256}
our_port=18080
nginx_port=18081
mount=hips

# --- Tools (wrk and nginx from Debian, only when missing) and the binary. ------------------
# The Debian package starts a system nginx on port 80; it is left alone (we use our own config).
bench_tools nginx
bench_binary

# --- The HiPS to serve: given, or synth-20 built at order 9 with FITS and PNG tiles. ---------
if [ -n "${HIPS:-}" ]; then
  hips=$(cd "$HIPS" && pwd)
else
  bench_synth20
  hips=$work/serve-hips
  if [ ! -f "$hips/properties" ]; then
    echo "building $hips ..."
    "$bin" build "$work/synth20" --out "$hips" --id ivo://bench/P/synth20 --order 9 --format fits,png --force -q
  fi
fi
[ -f "$hips/properties" ] || { echo "$hips: no properties file, not a HiPS" >&2; exit 1; }

# --- Scratch space and clean-up: both servers stop whenever the script ends. ----------------
tmp=$(mktemp -d /tmp/serve_wrk.XXXXXX)
results=$work/serve-wrk
mkdir -p "$results"
our_pid=""
nginx_pid=""
cleanup() {
  [ -n "$our_pid" ] && kill "$our_pid" 2>/dev/null && wait "$our_pid" 2>/dev/null
  [ -n "$nginx_pid" ] && kill -QUIT "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
  rm -rf "$tmp"
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for port in $our_port $nginx_port; do
  if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/"; then
    echo "something already listens on 127.0.0.1:$port" >&2; exit 1
  fi
done
ulimit -n 65536 2>/dev/null || true

# --- The request mix. ------------------------------------------------------------------------
# Paths relative to the HiPS, sorted then shuffled by a fixed random source (deterministic).
(
  cd "$hips"
  # MIX=png: only what Aladin Lite fetches (PNG tiles); default: PNG and FITS tiles.
  if [ "${MIX:-all}" = png ]; then
    find . -path './Norder*/Dir*/Npix*' -name '*.png' -type f
  else
    find . -path './Norder*/Dir*/Npix*' \( -name '*.png' -o -name '*.fits' \) -type f
  fi
  for f in properties Moc.fits Norder3/Allsky.png; do [ -f "$f" ] && echo "./$f"; done
) | sed 's|^\./||' | LC_ALL=C sort |
  shuf --random-source=<(yes 42) >"$tmp/paths.txt"
n_paths=$(wc -l <"$tmp/paths.txt")
[ "$n_paths" -gt 0 ] || { echo "no tiles in $hips" >&2; exit 1; }

# wrk's Lua: each thread walks the list from its own offset, round and round.
{
  echo "local prefix = \"/$mount/\""
  echo "local paths = {"
  sed 's/.*/  "&",/' "$tmp/paths.txt"
  echo "}"
  cat <<'EOF'
local i = 0
local n = #paths
local thread_id = 0
local counter = 0
function setup(thread)
  thread:set("thread_id", counter)
  counter = counter + 1
end
function init(args)
  i = (thread_id * 7919) % n
end
request = function()
  i = i % n + 1
  return wrk.format("GET", prefix .. paths[i])
end
EOF
} >"$tmp/mix.lua"

# --- Start both servers. ---------------------------------------------------------------------
RUST_LOG=warn "$bin" serve "$mount=$hips" --addr "127.0.0.1:$our_port" >"$results/hipsforge.log" 2>&1 &
our_pid=$!

# A minimal nginx: everything (pid, logs, temp dirs) in the scratch dir, no access log.
mkdir -p "$tmp/nginx"
{
  # As root, workers would drop to nobody and might not read the HiPS: keep the invoking user.
  [ "$(id -u)" = 0 ] && echo "user root;"
  cat <<EOF
worker_processes auto;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 4096; }
http {
  include /etc/nginx/mime.types;
  types { application/fits fits; }
  default_type text/plain;
  access_log off;
  sendfile on;
  tcp_nopush on;
  # nginx closes a keep-alive connection after 1000 requests by default; hyper never does.
  keepalive_requests 1000000;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  server {
    listen 127.0.0.1:$nginx_port;
    location /$mount/ {
      alias $hips/;
      add_header Access-Control-Allow-Origin *;
    }
  }
}
EOF
} >"$tmp/nginx/nginx.conf"
"$nginx_bin" -e "$tmp/nginx/error.log" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" &
nginx_pid=$!

wait_up() { # PORT NAME
  for _ in $(seq 100); do
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/$mount/properties" && return 0
    sleep 0.1
  done
  echo "$2 did not start on port $1" >&2
  exit 1
}
wait_up $our_port hipsforge
wait_up $nginx_port nginx

# --- Same URLs, same bytes. -----------------------------------------------------------------
# One PNG and one FITS tile must be 200 with identical bodies from both servers...
for ext in png fits; do
  tile=$(grep -m1 "Npix.*\.$ext\$" "$tmp/paths.txt" || true)
  [ -n "$tile" ] || continue
  for port in $our_port $nginx_port; do
    code=$(curl -s -o "$tmp/tile.$port" -w '%{http_code}' "http://127.0.0.1:$port/$mount/$tile")
    [ "$code" = 200 ] || { echo "check: $tile from port $port → HTTP $code" >&2; exit 1; }
  done
  cmp -s "$tmp/tile.$our_port" "$tmp/tile.$nginx_port" || { echo "check: $tile differs between servers" >&2; exit 1; }
  echo "check: /$mount/$tile → 200 from both, identical $(stat -c %s "$tmp/tile.$our_port") bytes"
done
# ...and every path of the mix must answer 200 from both (one curl per server, keep-alive).
for port in $our_port $nginx_port; do
  sed "s|.*|url = \"http://127.0.0.1:$port/$mount/&\"\noutput = /dev/null|" "$tmp/paths.txt" >"$tmp/curl.cfg"
  bad=$(curl -s -K "$tmp/curl.cfg" -w '%{http_code} %{url_effective}\n' | grep -vc '^200 ' || true)
  [ "$bad" = 0 ] || echo "check: WARNING: $bad of $n_paths mix paths are not 200 on port $port" >&2
done
total_bytes=$(cd "$hips" && tr '\n' '\0' <"$tmp/paths.txt" | du -cb --files0-from=- | tail -1 | cut -f1)
echo "mix: $n_paths paths, $((total_bytes / 1024)) KiB in all (mean $((total_bytes / n_paths)) B)"
echo "hipsforge serve runs with RUST_LOG=warn (per-request info logging would dominate)"
echo

# CPU seconds used so far by a process and its children processes (nginx workers).
cpu_ticks() { # PID
  local t=0 p
  for p in "$1" $(ps -o pid= --ppid "$1" 2>/dev/null); do
    [ -r "/proc/$p/stat" ] || continue
    t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$t"
}
hz=$(getconf CLK_TCK)

# Latency from wrk ("1.23ms", "850.00us", "1.02s") to milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.3f", v * 60000 }
    else { sub(/s$/, "", v); printf "%.3f", v * 1000 } }'
}

# --- The runs. -------------------------------------------------------------------------------
summary=$tmp/summary.txt
: >"$summary"
run() { # NAME PORT PID CONNS
  local name=$1 port=$2 pid=$3 c=$4 out=$results/$1-c$4.txt
  local before after reqs rps tps p50 p99 sock non2xx cpu_us
  before=$(cpu_ticks "$pid")
  wrk -t"$wrk_threads" -c"$c" -d"$duration" --latency -s "$tmp/mix.lua" "http://127.0.0.1:$port" >"$out" 2>&1
  after=$(cpu_ticks "$pid")
  echo "== $name, $c connections =="
  cat "$out"
  reqs=$(awk '/requests in/ {print $1}' "$out")
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  tps=$(awk '/^Transfer\/sec:/ {print $2}' "$out")
  p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
  # wrk prints these lines only when they are not zero.
  sock=$(awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$out")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")
  cpu_us=$(awk -v d="$((after - before))" -v hz="$hz" -v n="${reqs:-0}" 'BEGIN { printf "%.0f", n ? d / hz * 1e6 / n : 0 }')
  echo "server CPU: $(awk -v d="$((after - before))" -v hz="$hz" 'BEGIN {printf "%.1f", d / hz}') s, ${cpu_us} µs per request"
  echo
  printf '%-10s %6s %12s %12s %10s %10s %8s %8s %10s\n' "$name" "$c" "$rps" "$tps" "$p50" "$p99" \
    "${sock:-0}" "${non2xx:-0}" "$cpu_us" >>"$summary"
}

# Warm-up: page cache and both servers' first connections.
wrk -t1 -c8 -d2s -s "$tmp/mix.lua" "http://127.0.0.1:$our_port" >/dev/null 2>&1
wrk -t1 -c8 -d2s -s "$tmp/mix.lua" "http://127.0.0.1:$nginx_port" >/dev/null 2>&1

for c in $conns; do
  run hipsforge $our_port "$our_pid" "$c"
  run nginx $nginx_port "$nginx_pid" "$c"
done

# --- Summary. --------------------------------------------------------------------------------
echo "== summary: $n_paths-path mix, wrk -t$wrk_threads -d$duration, $(nproc) cores shared by client and server =="
printf '%-10s %6s %12s %12s %10s %10s %8s %8s %10s\n' server conns 'req/s' 'transfer/s' 'p50 ms' 'p99 ms' \
  'sock err' 'non-2xx' 'CPU µs/req'
cat "$summary"
# Our throughput relative to nginx, per concurrency.
awk '{ rps[$1 " " $2] = $3; cs[$2] = 1 }
  END { for (c in cs) if (rps["nginx " c] > 0)
    printf "hipsforge/nginx req/s at %s connections: %.2f\n", c, rps["hipsforge " c] / rps["nginx " c] }' "$summary" | sort -t' ' -k4n

# --- Sanity: our server must answer everything without errors at the highest concurrency. ----
status=0
max_c=$(tr ' ' '\n' <<<"$conns" | sort -n | tail -1)
sock=? non2xx=?
read -r _ _ _ _ _ _ sock non2xx _ < <(awk -v c="$max_c" '$1 == "hipsforge" && $2 == c' "$summary") || true
if [ "$sock" = 0 ] && [ "$non2xx" = 0 ]; then
  echo "sanity: hipsforge at $max_c connections: 0 socket errors, 0 non-2xx/3xx — OK"
else
  echo "sanity: hipsforge at $max_c connections: $sock socket errors, $non2xx non-2xx/3xx — FAILED" >&2
  status=1
fi
[ -s "$results/hipsforge.log" ] && { echo "hipsforge log (warnings):"; tail -5 "$results/hipsforge.log"; }
exit $status
