#!/usr/bin/env python3
"""DuckDB on the same events lake and the same lookups as engine/examples/index_bench.rs:
`WHERE user_id = ?` and `IN (5 keys)` over the CSV, NDJSON and Parquet files, in
process (no startup cost), median of RUNS runs after one warm-up run.

  /root/.cache/tarn/venv/bin/python benches/events/duckdb_lookups.py [DIR] [RUNS] [FORMATS]

FORMATS: a comma-separated subset of csv,ndjson,parquet (default: all three).
DuckDB runs on all cores (2 on the benchmark machine).
"""

import json
import statistics
import sys
import time

import duckdb

DIR = sys.argv[1] if len(sys.argv) > 1 else "/root/.cache/tarn/events"
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
FORMATS = sys.argv[3].split(",") if len(sys.argv) > 3 else ["csv", "ndjson", "parquet"]

SOURCES = {
    "csv": f"read_csv('{DIR}/csv/*.csv')",
    "ndjson": f"read_json('{DIR}/ndjson/*.ndjson', format = 'newline_delimited')",
    "parquet": f"read_parquet('{DIR}/parquet/*.parquet')",
}


def main() -> None:
    keys = json.load(open(f"{DIR}/keys.json"))["user_ids"]
    con = duckdb.connect()
    print(f"duckdb {duckdb.__version__}, {RUNS} runs after a warm-up")
    print("| format | lookup | rows | DuckDB |")
    print("|---|---|---|---|")
    for name, source in SOURCES.items():
        if name not in FORMATS:
            continue
        for label, predicate in [("= ?", f"user_id = {keys[0]}"), ("IN (5 keys)", f"user_id IN ({', '.join(map(str, keys))})")]:
            sql = f"SELECT * FROM {source} WHERE {predicate}"
            rows = len(con.execute(sql).fetchall())
            times = []
            for _ in range(RUNS):
                started = time.perf_counter()
                con.execute(sql).fetchall()
                times.append(time.perf_counter() - started)
            print(f"| {name} | `{label}` | {rows} | {statistics.median(times) * 1000:.1f} ms |", flush=True)


if __name__ == "__main__":
    main()
