#!/usr/bin/env bash
# Whole-process benchmarks: svchop against the evtx crate's own evtx_dump (the parse-only floor)
# on the same EVTX set with the same threads, and svchop on demo cases of growing size.
# Prints wall time, throughput and peak memory. Usage: bash bench/run.sh [target-GB]
set -euo pipefail
cd "$(dirname "$0")/.."
GB=${1:-1}
THREADS=$(nproc)
CORPUS=../shared/corpus/dev
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

cargo build --release -q
cargo build --release -q --example parse_floor
FLOOR=target/release/examples/parse_floor
if ! command -v evtx_dump >/dev/null 2>&1; then
  cargo install -q evtx --version 0.15.1 --features evtx_dump
fi

measure() { # label, command...
  local label=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$WORK/rss" "$@" > /dev/null 2> "$WORK/err" || { echo "$label: failed"; cat "$WORK/err"; return 1; }
  t1=$(date +%s.%N)
  echo "$(echo "$t1 - $t0" | bc) $(cat "$WORK/rss")"
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB"

# 1. The scale EVTX set: the corpus's EVTX files replicated to >= GB gigabytes.
mkdir -p "$WORK/evtx"
n=0
while [ "$(du -sb "$WORK/evtx" | cut -f1)" -lt $((GB * 1024 * 1024 * 1024)) ]; do
  find "$CORPUS" -name '*.evtx' -print0 | while IFS= read -r -d '' f; do
    cp "$f" "$WORK/evtx/$n-$(basename "$f" | tr ' %' '__')"
  done
  n=$((n + 1))
done
size=$(du -sb "$WORK/evtx" | cut -f1)
files=$(find "$WORK/evtx" -name '*.evtx' | wc -l)
echo "scale set: $files EVTX files, $((size / 1024 / 1024)) MiB"

read -r dump_s dump_kb < <(measure evtx_dump bash -c "for f in \"$WORK\"/evtx/*.evtx; do evtx_dump -t $THREADS -o json \"\$f\"; done")
read -r floor_s floor_kb < <(measure floor "$FLOOR" --threads "$THREADS" "$WORK/evtx")
read -r scan_s scan_kb < <(measure svchop target/release/svchop scan "$WORK/evtx")
mbs() { echo "scale=1; $size / 1048576 / $1" | bc; }
echo "evtx_dump JSON : ${dump_s}s  $(mbs "$dump_s") MB/s  peak ${dump_kb} KiB"
echo "parse floor    : ${floor_s}s  $(mbs "$floor_s") MB/s  peak ${floor_kb} KiB (examples/parse_floor.rs)"
echo "svchop scan    : ${scan_s}s  $(mbs "$scan_s") MB/s  peak ${scan_kb} KiB"
echo "ratio svchop/evtx_dump: $(echo "scale=2; $scan_s / $dump_s" | bc)"
echo "ratio svchop/floor: $(echo "scale=2; $scan_s / $floor_s" | bc)"

# 2. One large EVTX file built from the corpus's chunks (bench/large_evtx.py): chunk-parallel.
python3 bench/large_evtx.py "$WORK/large.evtx" "$((GB * 400))" "$CORPUS"
read -r lf_s _ < <(measure floor "$FLOOR" --threads "$THREADS" "$WORK/large.evtx")
read -r ls_s ls_kb < <(measure svchop target/release/svchop scan "$WORK/large.evtx")
echo "large EVTX: floor ${lf_s}s, svchop ${ls_s}s (peak ${ls_kb} KiB), ratio $(echo "scale=2; $ls_s / $lf_s" | bc)"
rm -f "$WORK/large.evtx"

# 3. Demo cases of growing size (JSON lines with attack chains inside): hosts days noise per
# spec, ~63k, ~254k, ~1M, ~4M and ~10M records by default (the 10M case takes ~6 GB of disk
# and ~10 GB of memory to generate); set DEMO_SIZES to choose (';'-separated).
IFS=';' read -r -a SPECS <<< "${DEMO_SIZES:-100 10 250;200 10 500;400 10 1000;800 20 1000;2000 20 1000}"
for spec in "${SPECS[@]}"; do
  set -- $spec
  rm -rf "$WORK/demo"
  target/release/svchop demo --headless --write "$WORK/demo" --hosts "$1" --days "$2" --noise "$3" > "$WORK/demo.txt"
  records=$(awk '{print $2}' "$WORK/demo.txt" | head -1)
  read -r f _ < <(measure floor "$FLOOR" --threads "$THREADS" "$WORK/demo")
  read -r s kb < <(measure demo target/release/svchop scan "$WORK/demo")
  echo "demo $1 hosts x $2 days: $records records, scan ${s}s ($(echo "scale=0; $records / $s" | bc) records/s), peak ${kb} KiB ($(echo "scale=0; $kb * 1024 / $records" | bc) B/record); floor ${f}s, ratio $(echo "scale=2; $s / $f" | bc)"
done
