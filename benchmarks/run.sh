#!/usr/bin/env bash
# Run the bench at the sizes recorded in RESULTS.md and keep each run's JSON beside it.
#   benchmarks/run.sh 100000 1000000          (SQLite, fresh files under benchmarks/runs/)
#   ONERULER_BENCH_DB=postgresql://... benchmarks/run.sh 100000   (an empty PostgreSQL schema)
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p runs
for households in "${@:-100000}"; do
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  dir="runs/$households-$stamp"
  args=(--households "$households" --dir "$dir" --json)
  if [ -n "${ONERULER_BENCH_DB:-}" ]; then args+=(--db "$ONERULER_BENCH_DB"); fi
  oneruler bench "${args[@]}" > "runs/$households-$stamp.json"
  rm -f "$dir/bench.db" "$dir/bench.db-wal" "$dir/bench.db-shm" "$dir/programme.jsonl"
  echo "runs/$households-$stamp.json"
done
