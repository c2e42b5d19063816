#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 600), seeded from the corpus beside the
# checkout (read in place, never copied) and the repository's fixtures. New inputs go to
# target/fuzz-work/<target>/; a crash stops the run with libFuzzer's artifact path.
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(json_ingest evtx_ingest scan case_file allowlist adversary)
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
corpus=$(cd ../shared/corpus/dev && pwd)
root=$PWD
for t in "${targets[@]}"; do
  work=$root/target/fuzz-work/$t
  mkdir -p "$work"
  case $t in
    evtx_ingest) seeds=("$corpus"); extra=(-max_len=500000) ;;
    json_ingest | scan) seeds=("$corpus/json" "$root/tests/fixtures"); extra=(-max_len=65536) ;;
    adversary) seeds=(); extra=(-max_len=64) ;;
    *) seeds=(); extra=(-max_len=4096) ;;
  esac
  echo "== $t: ${secs}s"
  log=$work.log
  if (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run -O --sanitizer none "$t" "$work" "${seeds[@]}" -- \
    -max_total_time="$secs" -rss_limit_mb=4096 -timeout=30 "${extra[@]}") >"$log" 2>&1; then
    grep -E '^(#[0-9]+ +DONE|Done [0-9]+ runs)' "$log" | tail -2
  else
    tail -30 "$log"
    echo "fuzz target $t failed (log: $log)"
    exit 1
  fi
done
