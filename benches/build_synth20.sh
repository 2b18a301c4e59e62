#!/usr/bin/env bash
# Benchmark: build the synth-20 set (20 × 1024² float32 TAN images, ../shared/bench/make_synth.py)
# into FITS tiles at order 9 (and 11 with ORDERS="9 11"), best of RUNS runs, printing wall time,
# tiles/s and input Mpix/s. With HIPSGEN=1 it also times CDS Hipsgen (Debian package aladin)
# on the same input right after, so the ratio is measured on this machine.
#
#   benches/build_synth20.sh                 # ours only
#   HIPSGEN=1 ORDERS="9 11" benches/build_synth20.sh
. "$(dirname "$0")/common.sh"
runs=${RUNS:-3}
orders=${ORDERS:-9}

bench_synth20
bench_binary
for order in $orders; do
  best=""
  for _ in $(seq "$runs"); do
    line=$("$bin" build "$work/synth20" --out "$work/out-$order" --id ivo://bench/P/synth20 \
      --order "$order" --force 2>&1 | grep '^built')
    total=$(sed -E 's/.*total ([0-9.]+) s.*/\1/' <<<"$line")
    if [ -z "$best" ] || awk "BEGIN{exit !($total < $best)}"; then best=$total; best_line=$line; fi
  done
  echo "hipsforge synth-20 order $order (best of $runs): $best_line"
  # The PNG previews step on the tiles just built.
  "$bin" previews "$work/out-$order" --format png 2>&1 | grep '^previews' | sed "s/^/hipsforge synth-20 order $order PNG step: /"
  if [ "${HIPSGEN:-0}" = 1 ]; then
    if ! [ -f /usr/share/java/aladin.jar ]; then
      apt-get update -qq && apt-get install -y -qq aladin >/dev/null
    fi
    rm -rf "$work/hipsgen-$order"
    start=$(date +%s.%N)
    java -cp /usr/share/java/aladin.jar cds.allsky.HipsGen in="$work/synth20" out="$work/hipsgen-$order" \
      creator_did=ivo://bench/P/hipsgen order="$order" INDEX TILES >"$work/hipsgen-$order.log" 2>&1
    end=$(date +%s.%N)
    hg=$(awk "BEGIN{printf \"%.2f\", $end - $start}")
    echo "Hipsgen  synth-20 order $order (INDEX TILES): ${hg} s wall → ratio $(awk "BEGIN{printf \"%.1f\", $hg / $best}")×"
    start=$(date +%s.%N)
    java -cp /usr/share/java/aladin.jar cds.allsky.HipsGen in="$work/synth20" out="$work/hipsgen-$order" \
      creator_did=ivo://bench/P/hipsgen order="$order" PNG >>"$work/hipsgen-$order.log" 2>&1
    end=$(date +%s.%N)
    echo "Hipsgen  synth-20 order $order (PNG): $(awk "BEGIN{printf \"%.2f\", $end - $start}") s wall"
  fi
done
