#!/usr/bin/env bash
# Benchmark: 28×28 stamps of 100,000 random positions from the synth-20 HiPS (order 9) read
# (a) from the directory, (b) through `hipsforge serve` on loopback as a remote HiPS with a
# cold disk cache, (c) the same with the cache warm; and (d) the Python API against the CLI
# on the directory, when the package's venv exists (scripts/install-python-package.sh); then
# (e) a cold run, CLI and Python, against a server LATENCY_MS (default 50) ms away (through a
# delaying proxy).
#
#   benches/remote.sh                      # builds what it needs under target/bench
#   SKIP_CARGO=1 BENCH_DIR=/tmp/b benches/remote.sh
. "$(dirname "$0")/common.sh"
bench_cutout_scene
bench_cutout "local          " --hips "$hips" --out "$work/r-local.npy"

port=18091
RUST_LOG=warn "$bin" serve synth="$hips" --addr 127.0.0.1:$port 2>"$work/remote-serve.log" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/hipslist" >/dev/null && break; sleep 0.1; done
cache=$work/remote-cache
rm -rf "$cache"
bench_cutout "remote, cold   " --hips "http://127.0.0.1:$port/synth/" --cache-dir "$cache" --out "$work/r-remote.npy"
bench_cutout "remote, warm   " --hips "http://127.0.0.1:$port/synth/" --cache-dir "$cache" --out "$work/r-remote.npy"
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

# (e) A far server: every chunk either way through a local proxy waits LATENCY_MS/2, so each
# request/response pays about LATENCY_MS (netem would be closer to a real link, but it is not in
# every kernel; this proxy needs only python3).
latency=${LATENCY_MS:-50}
far_port=18092
python3 - "$port" "$far_port" "$latency" <<'PY' &
import asyncio, sys
upstream, listen, latency = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 2000

async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            await asyncio.sleep(latency)
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()

async def handle(client_r, client_w):
    server_r, server_w = await asyncio.open_connection("127.0.0.1", upstream)
    await asyncio.gather(pipe(client_r, server_w), pipe(server_r, client_w))

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", listen)
    async with server:
        await server.serve_forever()

asyncio.run(main())
PY
proxy=$!
trap 'kill $server $proxy 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$far_port/hipslist" >/dev/null && break; sleep 0.1; done
start=$(date +%s.%N); curl -sf "http://127.0.0.1:$far_port/synth/properties" >/dev/null; end=$(date +%s.%N)
echo "far server: one small request takes $(awk "BEGIN{printf \"%.0f\", ($end - $start) * 1000}") ms"
far="http://127.0.0.1:$far_port/synth/"
for connections in 8 32; do
  rm -rf "$cache"
  bench_cutout "remote ${latency} ms, cold, $connections conn" --hips "$far" --cache-dir "$cache" --connections "$connections" --out "$work/r-far.npy"
done
cmp -s "$work/r-local.npy" "$work/r-far.npy" && echo "far stamps identical to local: yes" || echo "far stamps identical to local: NO"
if have_python; then
  rm -rf "$cache"
  "$py" - "$far" "$pos" "$cache" "$work/r-local.npy" <<'PY'
import sys, time, numpy as np, hipsforge
url, pos, cache, reference = sys.argv[1:]
table = np.genfromtxt(pos, delimiter=",", names=True, dtype=None, encoding=None)
band = hipsforge.Survey(url, cache_dir=cache)
start = time.perf_counter()
x = hipsforge.cutouts(table["ra"], table["dec"], 28, bands=[band])
seconds = time.perf_counter() - start
files, size = band.fetched
same = np.array_equal(np.load(reference), x, equal_nan=True)
print(f"python remote, cold, 8 conn: {len(x)} stamps in {seconds:.2f} s ({len(x) / seconds:.0f} objects/s), "
      f"{files} files ({size / 1e6:.1f} MB) fetched; equal to the CLI: {same}")
PY
fi
