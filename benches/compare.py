#!/usr/bin/env python3
"""Driver of the comparison runner (`tarn-compare`) for the Python engines:
DuckDB, Polars and vanilla DataFusion (its Python bindings).

tarn-compare runs it in the virtualenv it sets up (benches/requirements.txt).
Subcommands, each printing one JSON document on standard output:

  run --engine E --data-dir D --format parquet|csv --queries DIR --threads N
      --runs R --warmup W
      Register the 8 TPC-H tables of the lake D (written by Tarn's
      generate_tpch_lake: D/<table>/*.parquet or D/<table>.csv), then run each
      DIR/qN.sql W times untimed and R times timed, in this one process
      (warm: files, metadata and the OS cache stay warm).
      -> {"engine", "version", "queries": [{"name", "seconds": [...], "rows"}]}
      With --runs 1 --warmup 0 in a fresh process, this is the cold mode.

  measure -- COMMAND...
      Run COMMAND, time it (wall clock) and read its peak resident set from
      wait4's rusage. -> {"seconds", "max_rss_bytes", "status", "stderr"}

Threads: DuckDB `SET threads`, Polars POLARS_MAX_THREADS (set before the
import), DataFusion target_partitions (its Tokio runtime has one worker per
core).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

TABLES = ["lineitem", "orders", "partsupp", "part", "customer", "supplier", "nation", "region"]


def load_queries(directory):
    names = sorted(
        (f[:-4] for f in os.listdir(directory) if f.endswith(".sql")),
        key=lambda n: int(n[1:]) if n[1:].isdigit() else 10**9,
    )
    return [(n, open(os.path.join(directory, n + ".sql"), encoding="utf-8").read()) for n in names]


def table_source(data_dir, fmt, table):
    if fmt == "parquet":
        return os.path.join(data_dir, table)
    return os.path.join(data_dir, table + ".csv")


def duckdb_engine(data_dir, fmt, threads):
    import duckdb

    con = duckdb.connect(":memory:")
    con.execute(f"SET threads TO {threads}")
    for t in TABLES:
        path = table_source(data_dir, fmt, t).replace("'", "''")
        if fmt == "parquet":
            con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{path}/*.parquet')")
        else:
            con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_csv('{path}', header = true)")

    def run(sql):
        return len(con.execute(sql).fetchall())

    return duckdb.__version__, run


def polars_engine(data_dir, fmt, threads):
    os.environ["POLARS_MAX_THREADS"] = str(threads)
    import polars as pl

    ctx = pl.SQLContext()
    for t in TABLES:
        path = table_source(data_dir, fmt, t)
        if fmt == "parquet":
            ctx.register(t, pl.scan_parquet(os.path.join(path, "*.parquet")))
        else:
            ctx.register(t, pl.scan_csv(path, try_parse_dates=True))

    def run(sql):
        return ctx.execute(sql.strip().rstrip(";")).collect().height

    return pl.__version__, run


def datafusion_engine(data_dir, fmt, threads):
    import datafusion
    from datafusion import SessionConfig, SessionContext

    ctx = SessionContext(SessionConfig().with_target_partitions(threads))
    for t in TABLES:
        path = table_source(data_dir, fmt, t)
        if fmt == "parquet":
            ctx.register_parquet(t, path + "/")
        else:
            ctx.register_csv(t, path, has_header=True)

    def run(sql):
        return sum(batch.num_rows for batch in ctx.sql(sql).collect())

    return datafusion.__version__, run


ENGINES = {"duckdb": duckdb_engine, "polars": polars_engine, "datafusion": datafusion_engine}


def cmd_run(args):
    version, run = ENGINES[args.engine](args.data_dir, args.format, args.threads)
    results = []
    for name, sql in load_queries(args.queries):
        if args.only and name not in args.only.split(","):
            continue
        entry = {"name": name, "seconds": [], "rows": None, "error": None}
        try:
            for _ in range(args.warmup):
                run(sql)
            for _ in range(args.runs):
                started = time.perf_counter()
                rows = run(sql)
                entry["seconds"].append(time.perf_counter() - started)
                entry["rows"] = rows
        except Exception as e:  # a query an engine rejects is reported, not fatal
            entry["error"] = str(e).splitlines()[0] if str(e) else type(e).__name__
        results.append(entry)
    json.dump({"engine": args.engine, "version": version, "queries": results}, sys.stdout)
    sys.stdout.write("\n")


def cmd_measure(args):
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        out.seek(0)
        result = {
            "seconds": seconds,
            # ru_maxrss is in KiB on Linux.
            "max_rss_bytes": usage.ru_maxrss * 1024,
            "status": process.returncode,
            "stderr": err.read().decode("utf-8", "replace")[-4000:],
            "stdout": out.read().decode("utf-8", "replace")[-100000:],
        }
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run")
    run.add_argument("--engine", choices=sorted(ENGINES), required=True)
    run.add_argument("--data-dir", required=True)
    run.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    run.add_argument("--queries", required=True)
    run.add_argument("--threads", type=int, default=2)
    run.add_argument("--runs", type=int, default=1)
    run.add_argument("--warmup", type=int, default=0)
    run.add_argument("--only", default="")
    measure = sub.add_parser("measure")
    measure.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    {"run": cmd_run, "measure": cmd_measure}[args.cmd](args)


if __name__ == "__main__":
    main()
