#!/usr/bin/env bash
# CPU time per query, for comparing settings on a busy machine.
#
#   benches/scripts/cpu-per-query.sh TARN CATALOG SCHEMA QUERY_DIR NAME "KEY=VALUE …" [QUERY …]
#
# Runs each query (QUERY_DIR/QUERY.sql, default every .sql file there) three
# times, each in a fresh `TARN CATALOG` process on 2 threads with the given
# settings, and prints "NAME QUERY SECONDS": the median of the process's user +
# system CPU time. Wall time is meaningless when other jobs share the cores;
# CPU time is not (start-up and footer reads are included, alike for every
# configuration). Used for benches/RESULTS.md, "Issue 4: settings and profiles".
set -euo pipefail
tarn=$1; catalog=$2; schema=$3; dir=$4; name=$5; sets=$6; shift 6
args=(--threads 2 --set "datafusion.catalog.default_schema=$schema")
for s in $sets; do args+=(--set "$s"); done
if [ $# -eq 0 ]; then
  set -- $(ls "$dir" | sed -n 's/\.sql$//p' | sort -V)
fi
t=$(mktemp)
trap 'rm -f "$t"' EXIT
for q in "$@"; do
  runs=()
  for _ in 1 2 3; do
    /usr/bin/time -o "$t" -f "%U %S" "$tarn" "$catalog" "${args[@]}" -f "$dir/$q.sql" >/dev/null
    runs+=("$(awk '{printf "%.2f", $1 + $2}' "$t")")
  done
  echo "$name $q $(printf '%s\n' "${runs[@]}" | sort -n | sed -n 2p)"
done
