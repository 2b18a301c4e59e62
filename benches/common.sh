# Shared set-up of the bench scripts (sourced first, not run): $root (the repository, also the
# working directory), $work (the scratch directory: $BENCH_DIR, else target/bench), then the
# release binary, the synth-20 input set, its order-9 HiPS, random positions inside it, and
# Debian's wrk/nginx on request.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
work=${BENCH_DIR:-$root/target/bench}
mkdir -p "$work"
work=$(cd "$work" && pwd)

# The release binary in $bin (built unless SKIP_CARGO=1).
bench_binary() {
  [ "${SKIP_CARGO:-0}" = 1 ] || (cd "$root" && cargo build --release --quiet)
  bin=$root/target/release/hipsforge
  [ -x "$bin" ] || { echo "no $bin (build it, or unset SKIP_CARGO)" >&2; exit 1; }
}

# The synth-20 set (20 × 1024² float32 TAN images) in $work/synth20, made once; the generator
# needs numpy and astropy: a private venv, made once too.
bench_synth20() {
  if [ ! -f "$work/synth20/img_20.fits" ]; then
    if [ ! -x "$work/venv/bin/python" ]; then
      python3 -m venv "$work/venv"
      "$work/venv/bin/pip" install --quiet numpy astropy
    fi
    "$work/venv/bin/python" "$root/../shared/bench/make_synth.py" "$work/synth20"
  fi
}

# The synth-20 HiPS at order 9 (FITS tiles) in $hips, built once.
bench_synth20_hips() {
  bench_synth20
  hips=$work/cutout-hips
  [ -f "$hips/properties" ] || "$bin" build "$work/synth20" --out "$hips" --id ivo://bench/P/synth20 --order 9 --force -q
}

# N random positions inside the synth-20 mosaic (RA 149.45..150.55, Dec 1.55..2.45), fixed
# seed, as $work/positions-N.csv in $pos.
bench_positions() {
  pos=$work/positions-$1.csv
  awk -v n="$1" 'BEGIN { srand(7); print "id,ra,dec";
    for (i = 0; i < n; i++) printf "obj%d,%.6f,%.6f\n", i, 149.45 + rand() * 1.1, 1.55 + rand() * 0.9 }' > "$pos"
}

# The binary, the synth-20 HiPS and POSITIONS (default 100,000) random positions in $pos:
# the scene of the cutout benches.
bench_cutout_scene() {
  bench_binary
  bench_synth20_hips
  bench_positions "${POSITIONS:-100000}"
}

# `hipsforge cutout ARGS...` of the positions as 28×28 stamps, from scratch; its report lines,
# each after LABEL.
bench_cutout() {
  local label=$1; shift
  "$bin" cutout "$@" --positions "$pos" --size 28 --restart -q 2>&1 | grep -v '^$' | sed "s/^/$label: /"
}

# Debian's wrk (and nginx with `bench_tools nginx`), only when missing; nginx's binary in
# $nginx_bin (it lives in /usr/sbin, which may not be on a user's PATH).
bench_tools() {
  local want="wrk"
  if [ "${1:-}" = nginx ] && ! [ -x /usr/sbin/nginx ] && ! command -v nginx >/dev/null; then
    want="wrk nginx"
  elif command -v wrk >/dev/null; then
    want=""
  fi
  if [ -n "$want" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $want >/dev/null 2>&1
  fi
  nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
}
