#!/usr/bin/env bash
# Behaviour-keeping proof: writes every output a change must keep (findings of all six profiles,
# events, timeline, coverage, sources, normalize, export, the built-in demo) for one svchop
# binary into a folder, so two binaries' folders can be compared byte for byte.
#
#   bash scripts/golden.sh BIN OUT [DEMO_DIR...]     write BIN's outputs into OUT
#   bash scripts/golden.sh --compare OLD_BIN [DEMO_DIR...]
#        builds this checkout (release), writes both binaries' outputs and diffs them
#
# DEMO_DIRs are demo cases written by `svchop demo --headless --write DIR --hosts H --days D
# --noise N` (e.g. 200 10 500 for ~254k records, 400 10 1000 for ~1M); their findings are
# compared for all six profiles. The dev corpus is read from ../shared/corpus/dev.
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=$(cd ../shared/corpus/dev && pwd)

if [ "${1:-}" = "--compare" ]; then
  old=$(realpath "$2"); shift 2
  cargo build --release -q
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cp target/release/svchop "$work/new-bin"
  bash "$0" "$old" "$work/old" "$@"
  bash "$0" "$work/new-bin" "$work/new" "$@"
  if diff -r "$work/old" "$work/new" > "$work/diff"; then
    echo "identical: $(find "$work/old" -type f | wc -l) outputs"
  else
    head -c 20000 "$work/diff"
    echo "DIFFERENT (full diff: $(wc -l < "$work/diff") lines)"
    exit 1
  fi
  exit 0
fi

bin=$(realpath "$1"); out=$2; shift 2
rm -rf "$out"; mkdir -p "$out"
out=$(realpath "$out")
run() { # name, args...: stdout and exit code into OUT/name (stderr too, paths made relative)
  local name=$1; shift
  local rc=0
  (cd "$CORPUS" && "$bin" "$@") > "$out/$name" 2> "$out/$name.err" || rc=$?
  echo "exit $rc" >> "$out/$name.err"
}
for p in default sentinel elastic otrf sigma hunt; do
  run "scan-$p.json" scan --format json --show-suppressed --profile "$p" .
  run "scan-$p.table" scan --profile "$p" .
done
for f in jsonl csv md; do run "scan-default.$f" scan --format "$f" .; done
run scan-fail-on.table scan --fail-on high --min-severity medium .
# The fleet phases over the same evidence: facts, merge, host scans, rank.
fleet=$(mktemp -d)
run fleet-facts.out fleet facts --to "$fleet/facts.json" .
run fleet-merge.out fleet merge --to "$fleet/merged.json" "$fleet/facts.json"
run fleet-scan.jsonl fleet scan --facts "$fleet/merged.json" .
cp "$out/fleet-scan.jsonl" "$fleet/found.jsonl"
for f in table json jsonl csv md; do run "fleet-rank.$f" fleet rank --format "$f" "$fleet/found.jsonl"; done
sed -i "s#$fleet#FLEET#g" "$out"/fleet-*
rm -rf "$fleet"
run events.jsonl events --format jsonl .
run events.table events .
for f in timesketch csv jsonl; do run "timeline.$f" timeline --format "$f" .; done
run timeline-findings.csv timeline --format csv --findings-only .
run coverage.json coverage --format json .
run coverage.table coverage .
run sources.json sources --format json .
norm=$(mktemp -d)
run normalize.out normalize --to "$norm/t" .
sed -i "s#$norm#NORM#g" "$out/normalize.out.err"
(cd "$norm/t" && find . -type f | sort | xargs sha256sum) > "$out/normalize.files"
rm -rf "$norm"
case_file=$(mktemp --suffix=.svchop-case.json)
printf '{"svchop_case":1,"name":"golden","sources":{"paths":["%s"],"profile":"default"},"updated":"2026-01-01T00:00:00Z"}' "$CORPUS" > "$case_file"
for f in md json attack-layer; do run "export.$f" export --format "$f" "$case_file"; done
rm -f "$case_file"
# The report's own time is the one thing that differs between runs.
sed -i -E 's/^(Report written|"generated"|  "generated").*$/\1 (masked)/' "$out"/export.*
run demo.table demo --headless
i=0
for d in "$@"; do
  d=$(realpath "$d"); i=$((i + 1))
  for p in default sentinel elastic otrf sigma hunt; do
    run "demo$i-$p.json" scan --format json --show-suppressed --profile "$p" "$d"
  done
done
echo "wrote $(find "$out" -type f | wc -l) outputs to $out"
