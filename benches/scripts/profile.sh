#!/usr/bin/env bash
# One line per operator of a query's EXPLAIN ANALYZE: rows, compute time, hash
# join build/probe time, Parquet decode time, and the start of its description.
#
#   benches/scripts/profile.sh TARN CATALOG SCHEMA QUERY.sql [tarn options …]
#
# Used for the profiles in benches/RESULTS.md ("Issue 4: settings and profiles").
set -euo pipefail
tarn=$1; catalog=$2; schema=$3; query=$4; shift 4
"$tarn" "$catalog" --threads 2 --set "datafusion.catalog.default_schema=$schema" "$@" --format csv \
    -c "EXPLAIN ANALYZE $(grep -v '^--' "$query")" |
  sed -n '/Plan with Metrics/,$p' | sed -E 's/^[^A-Za-z]*//' |
  perl -ne 'next unless /^(\w+Exec)(.*?)metrics=\[(.*)\]/;
    my ($n, $rest, $m) = ($1, $2, $3);
    my %v = map { /^\s*(\w+)=(.*)$/ ? ($1, $2) : () } split /, (?=\w+=)/, $m;
    $rest =~ s/file_groups=\{.*?\]\]\}, //; $rest =~ s/pruning_predicate=.*//;
    my @f = ("rows=$v{output_rows}", "compute=$v{elapsed_compute}");
    push @f, "build=$v{build_time}", "probe=$v{join_time}" if $v{build_time};
    push @f, "decode=$v{time_elapsed_processing}" if $v{time_elapsed_processing};
    print join(" ", $n, @f), " |", substr($rest, 0, 140), "\n"'
