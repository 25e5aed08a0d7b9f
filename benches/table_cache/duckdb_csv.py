"""DuckDB reading the CSV the table-cache benchmark caches in Tarn.

Runs each query of benches/table_cache/queries over a view
`lineitem AS SELECT * FROM read_csv('<csv>')`, so every run parses the CSV
as DuckDB reads it: one warm-up run, then RUNS timed runs; prints the
minimum, median and maximum in milliseconds per query, and the row count.

    python benches/table_cache/duckdb_csv.py ~/.cache/tarn/tpch/sf1-csv/lineitem.csv [RUNS] [THREADS]
"""

import pathlib
import statistics
import sys
import time

import duckdb


def main() -> None:
    csv = pathlib.Path(sys.argv[1]).expanduser()
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    con.execute(f"CREATE VIEW lineitem AS SELECT * FROM read_csv('{csv}')")
    queries = sorted((pathlib.Path(__file__).parent / "queries").glob("*.sql"))
    print(f"duckdb {duckdb.__version__}, threads={threads}, runs={runs}")
    for path in queries:
        sql = path.read_text()
        rows = len(con.execute(sql).fetchall())
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            con.execute(sql).fetchall()
            times.append((time.perf_counter() - start) * 1000)
        print(
            f"{path.stem:24} min {min(times):9.1f} ms  median {statistics.median(times):9.1f} ms"
            f"  max {max(times):9.1f} ms  rows {rows}"
        )


if __name__ == "__main__":
    main()
