#!/bin/sh
# Writes the varying half of the dashboard workload (benches/RESULTS.md,
# "Result cache") to DIR: d08, d09 and d10 with four filter values each, named
# so that `tarn bench DIR --warmup 0 --runs 1` runs them in the order a
# dashboard user would change the value (v01–v03 first values, then v04–v06, …).
# Usage: benches/dashboard/varying.sh DIR
set -eu
dir=${1:?usage: varying.sh DIR}
here=$(dirname "$0")
mkdir -p "$dir"
n=0
for i in 1 2 3 4; do
    nation=$(echo "GERMANY FRANCE JAPAN BRAZIL" | cut -d' ' -f"$i")
    segment=$(echo "BUILDING MACHINERY AUTOMOBILE HOUSEHOLD" | cut -d' ' -f"$i")
    threshold=$(echo "500000 400000 300000 200000" | cut -d' ' -f"$i")
    for q in d08:"$nation" d09:"$segment" d10:"$threshold"; do
        n=$((n + 1))
        name=$(printf 'v%02d_%s_%s' "$n" "${q%%:*}" "${q#*:}")
        sed -e "s/'GERMANY'/'$nation'/; s/'BUILDING'/'$segment'/; s/> 500000/> $threshold/" \
            "$here/${q%%:*}"_*.sql > "$dir/$name.sql"
    done
done
