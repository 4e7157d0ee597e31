#!/usr/bin/env bash
# Profile one phase of the bench with py-spy (pip install -e '.[profile]') and print
# where its time went, by function.
#   benchmarks/profile.sh ingest 20000        (generates the programme first if needed)
#   benchmarks/profile.sh rebuild 20000       (after an ingest of the same size)
set -euo pipefail
phase=${1:?phase: ingest, rebuild, verify or latency}
households=${2:-20000}
dir=${ONERULER_PROFILE_DIR:-/tmp/oneruler-profile-$households}
mkdir -p "$dir"
[ -f "$dir/programme.jsonl" ] || python -m simulation.bench generate "$dir" "$households" "$dir/bench.db" > /dev/null
if [ "$phase" = ingest ]; then rm -f "$dir/bench.db" "$dir/bench.db-wal" "$dir/bench.db-shm"; fi
py-spy record --rate 200 --format raw --output "$dir/$phase.txt" -- \
  python -m simulation.bench "$phase" "$dir" "$households" "$dir/bench.db"
python "$(dirname "$0")/profile_summary.py" "$dir/$phase.txt" 40
