#!/usr/bin/env bash
# Whole-process benchmarks: `svchop scan` against the parse floor (examples/parse_floor.rs: the
# same evtx crate and serde_json, a `Value` per record, the same threads, result dropped) on the
# scale EVTX set (many small files), one large EVTX, and demo JSON lines at ~254k, 1M and 5M
# records; evtx_dump once per file for reference. Prints medians of paired runs, peak memory and
# the ratio to the floor. Usage: [RUNS=3] [DEMO_SIZES=...] bash bench/run.sh [target-GB]
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

RUNS=${RUNS:-3}
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
# Paired runs: the floor and svchop scan alternately, RUNS times each, on one input; prints the
# medians, svchop's peak memory, and svchop's time as a ratio of the floor's.
paired() { # label, input
  local label=$1 input=$2 f=() s=() kb=0 t
  for _ in $(seq "$RUNS"); do
    read -r t _ < <(measure floor "$FLOOR" --threads "$THREADS" "$input"); f+=("$t")
    read -r t kb < <(measure svchop target/release/svchop scan "$input"); s+=("$t")
  done
  local fm sm
  fm=$(echo "${f[*]}" | median); sm=$(echo "${s[*]}" | median)
  echo "$label: floor ${fm}s, svchop ${sm}s (peak ${kb} KiB), ratio $(echo "scale=2; $sm / $fm" | bc) (medians of $RUNS paired runs)"
}

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
echo "evtx_dump JSON, once per file: ${dump_s}s, peak ${dump_kb} KiB"
paired "EVTX set" "$WORK/evtx"

# 2. One large EVTX file built from the corpus's chunks (bench/large_evtx.py): chunk-parallel.
python3 bench/large_evtx.py "$WORK/large.evtx" "$((GB * 400))" "$CORPUS"
paired "large EVTX ($((GB * 400)) MiB)" "$WORK/large.evtx"
rm -f "$WORK/large.evtx"

# 3. Demo cases (JSON lines with attack chains inside): hosts days noise per spec, ~254k, ~1M
# and ~5M records by default (the 5M case takes ~3 GB of disk); set DEMO_SIZES to choose
# (';'-separated).
IFS=';' read -r -a SPECS <<< "${DEMO_SIZES:-200 10 500;400 10 1000;970 20 1000}"
for spec in "${SPECS[@]}"; do
  set -- $spec
  rm -rf "$WORK/demo"
  target/release/svchop demo --headless --write "$WORK/demo" --hosts "$1" --days "$2" --noise "$3" > "$WORK/demo.txt"
  records=$(awk '{print $2}' "$WORK/demo.txt" | head -1)
  paired "demo $1 hosts x $2 days, $records records" "$WORK/demo"
done
