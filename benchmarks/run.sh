#!/usr/bin/env bash
# Run the bench at the sizes recorded in RESULTS.md and keep each run's JSON, named
# households-store-commit.json, under benchmarks/runs/ (its ledger is removed after).
#   benchmarks/run.sh 100000 1000000          (SQLite, a fresh file for each)
#   ONERULER_BENCH_DB=postgresql://... benchmarks/run.sh 100000   (an empty PostgreSQL schema)
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p runs
commit=$(git rev-parse --short HEAD)
store=sqlite
if [ -n "${ONERULER_BENCH_DB:-}" ]; then store=postgresql; fi
for households in "${@:-100000}"; do
  dir="runs/$households-$store-$commit"
  args=(--households "$households" --dir "$dir" --json)
  if [ -n "${ONERULER_BENCH_DB:-}" ]; then args+=(--db "$ONERULER_BENCH_DB"); fi
  oneruler bench "${args[@]}" > "$dir.json"
  rm -rf "$dir"
  echo "$dir.json"
done
