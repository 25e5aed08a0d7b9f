#!/usr/bin/env python3
"""Generate independent DuckDB reference answers for Tarn's TPC-H test.

Usage:
    python generate_answers.py OUTPUT_DIR [--scale-factor 0.01] [--check-datafusion]

The queries are read from engine/tpch/queries/q1.sql .. q22.sql of this
repository (the same files Tarn embeds for its TPC-H suite).  The script

  1. generates TPC-H data with `tpchgen-cli parquet` (tpchgen-cli 4.0.0) into a
     temporary directory (deleted afterwards; nothing large is written to
     OUTPUT_DIR),
  2. runs every query in DuckDB over views on those Parquet files and writes
     OUTPUT_DIR/answers/qN.csv,
  3. writes OUTPUT_DIR/row_counts.csv and OUTPUT_DIR/checksums.csv,
  4. optionally (--check-datafusion) runs every query in the `datafusion`
     Python package over the same files and compares with DuckDB.

It is idempotent: re-running overwrites the outputs with identical content.

CSV format of answers: header row, ',' separator, '\\n' line ends, RFC 4180
quoting (a field is quoted only if it contains ',', '"', CR or LF; '"' doubled),
NULL as an empty field, dates as YYYY-MM-DD, integers as plain digits,
DECIMAL and floating-point values converted to a Python float (IEEE double)
and printed with repr() (shortest string that round-trips), e.g. 3.0, 0.05,
1234567.8901.
"""

import argparse
import csv
import datetime
import decimal
import hashlib
import io
import math
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

TABLES = ["region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem"]
# Primary-key-like ordering used only to make the content checksums canonical.
TABLE_ORDER = {
    "region": "r_regionkey",
    "nation": "n_nationkey",
    "supplier": "s_suppkey",
    "customer": "c_custkey",
    "part": "p_partkey",
    "partsupp": "ps_partkey, ps_suppkey",
    "orders": "o_orderkey",
    "lineitem": "l_orderkey, l_linenumber",
}
EXPECTED_DUCKDB = "2.0.0"
EXPECTED_TPCHGEN = "4.0.0"


def fmt(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (float, decimal.Decimal)):
        f = float(v)
        if math.isnan(f):
            return "NaN"
        return repr(f)
    if isinstance(v, datetime.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, datetime.date):
        return v.isoformat()
    return str(v)


def write_csv(path, columns, rows):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow(columns)
    for r in rows:
        w.writerow([fmt(v) for v in r])
    data = buf.getvalue()
    path.write_text(data, encoding="utf-8", newline="")
    return data


def tpchgen_bin():
    cand = Path(sys.executable).parent / "tpchgen-cli"
    if cand.exists():
        return str(cand)
    found = shutil.which("tpchgen-cli")
    if not found:
        sys.exit("tpchgen-cli not found (pip install tpchgen-cli==4.0.0)")
    return found


def generate_data(datadir, sf):
    exe = tpchgen_bin()
    ver = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    if ver.split()[-1] != EXPECTED_TPCHGEN:
        print(f"WARNING: expected tpchgen-cli {EXPECTED_TPCHGEN}, found {ver}", file=sys.stderr)
    subprocess.run(
        [exe, "parquet", "-s", str(sf), "-o", str(datadir), "--overwrite", "-q"],
        check=True,
    )
    return ver


def connect_duckdb(datadir):
    import duckdb

    if duckdb.__version__ != EXPECTED_DUCKDB:
        print(f"WARNING: expected duckdb {EXPECTED_DUCKDB}, found {duckdb.__version__}", file=sys.stderr)
    con = duckdb.connect(":memory:")
    con.execute("SET threads TO 1")  # not needed for determinism, but cheap at SF 0.01
    for t in TABLES:
        p = str(Path(datadir) / f"{t}.parquet").replace("'", "''")
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{p}')")
    return con


# The 22 queries, shared with Tarn's built-in TPC-H suite (`tarn::tpch`).
QUERIES_DIR = Path(__file__).resolve().parents[3] / "engine" / "tpch" / "queries"


def load_queries(outdir):
    qs = {}
    for n in range(1, 23):
        qs[n] = (QUERIES_DIR / f"q{n}.sql").read_text(encoding="utf-8")
    return qs


def table_stats(con):
    counts, checks = [], []
    for t in TABLES:
        n = con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        counts.append((t, n))
        cols = [d[0] for d in con.execute(f"SELECT * FROM {t} LIMIT 0").description]
        cur = con.execute(f"SELECT * FROM {t} ORDER BY {TABLE_ORDER[t]}")
        h = hashlib.sha256()
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(cols)
        while True:
            batch = cur.fetchmany(10000)
            if not batch:
                break
            for r in batch:
                # Decimals printed exactly here (str), not via float.
                w.writerow(["" if v is None else (v.isoformat() if isinstance(v, datetime.date) else str(v)) for v in r])
            h.update(buf.getvalue().encode("utf-8"))
            buf.seek(0)
            buf.truncate()
        h.update(buf.getvalue().encode("utf-8"))
        checks.append((t, n, h.hexdigest()))
    s_ok, s_ep = con.execute("SELECT sum(l_orderkey), sum(l_extendedprice) FROM lineitem").fetchone()
    return counts, checks, (s_ok, s_ep)


def rows_close(a, b, rel=1e-9, abs_tol=1e-12):
    """Compare two CSV-formatted rows, numerically where both parse as numbers."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if x == y:
            continue
        try:
            fx, fy = float(x), float(y)
        except ValueError:
            return False
        if not math.isclose(fx, fy, rel_tol=rel, abs_tol=abs_tol):
            return False
    return True


def compare(got, exp):
    """Classify DataFusion's CSV lines `got` against DuckDB's `exp`."""
    if got == exp:
        return "match (exact text)"
    if len(got) != len(exp) or got[0] != exp[0]:
        return "MISMATCH"
    if all(rows_close(g, e) for g, e in zip(got[1:], exp[1:])):
        return "match (within 1e-9 relative)"
    # DataFusion types AVG(DECIMAL(p,s)) as DECIMAL(p+4, s+4) and truncates the
    # quotient to that scale (6 digits here); DuckDB returns a DOUBLE.
    if all(rows_close(g, e, abs_tol=1e-6) for g, e in zip(got[1:], exp[1:])):
        return "match (within 1e-6 absolute: DataFusion AVG(decimal) has scale 6)"
    return "MISMATCH"


def check_datafusion(datadir, queries, outdir):
    import datafusion

    ctx = datafusion.SessionContext()
    for t in TABLES:
        ctx.register_parquet(t, str(Path(datadir) / f"{t}.parquet"))
    problems = []
    for n, sql in queries.items():
        try:
            tbl = ctx.sql(sql).to_arrow_table()
        except Exception as e:  # noqa: BLE001
            problems.append(f"q{n}: DataFusion rejected/failed: {e}")
            print(f"q{n}: DataFusion ERROR: {e}")
            continue
        cols = tbl.column_names
        rows = [tuple(r[c] for c in cols) for r in tbl.to_pylist()]
        got = [cols] + [[fmt(v) for v in r] for r in rows]
        with open(outdir / "answers" / f"q{n}.csv", newline="", encoding="utf-8") as f:
            exp = list(csv.reader(f))
        status = compare(got, exp)
        ok = status != "MISMATCH"
        print(f"q{n}: DataFusion {datafusion.__version__}: {len(rows)} rows, {status}")
        if not ok:
            problems.append(f"q{n}: mismatch")
            for i, (g, e) in enumerate(zip(got, exp)):
                if not (g == e or (i > 0 and rows_close(g, e, abs_tol=1e-6))):
                    print(f"   first diff at line {i}: datafusion={g} duckdb={e}")
                    break
            if len(got) != len(exp):
                print(f"   line counts differ: datafusion={len(got)} duckdb={len(exp)}")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--scale-factor", "-s", default="0.01")
    ap.add_argument("--check-datafusion", action="store_true")
    ap.add_argument("--keep-data", type=Path, default=None,
                    help="copy the generated parquet files to this directory (must be outside the repo)")
    args = ap.parse_args()
    outdir = args.outdir.resolve()
    queries = load_queries(outdir)
    (outdir / "answers").mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="tpch-sf") as tmp:
        datadir = Path(tmp)
        ver = generate_data(datadir, args.scale_factor)
        print(f"generated SF {args.scale_factor} with {ver} into {datadir}")
        con = connect_duckdb(datadir)

        counts, checks, (s_ok, s_ep) = table_stats(con)
        write_csv(outdir / "row_counts.csv", ["table", "rows"], counts)
        cbuf = [(t, n, h) for t, n, h in checks]
        cbuf.append(("lineitem.sum(l_orderkey)", s_ok, ""))
        cbuf.append(("lineitem.sum(l_extendedprice)", str(s_ep), ""))
        # checksum rows: exact decimal printed as text
        with open(outdir / "checksums.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["item", "value", "sha256_of_sorted_csv"])
            for r in cbuf:
                w.writerow([str(x) for x in r])
        for t, n, h in checks:
            print(f"  {t:9s} {n:8d} rows  sha256 {h}")
        print(f"  sum(l_orderkey)={s_ok} sum(l_extendedprice)={s_ep}")

        for n, sql in queries.items():
            cur = con.execute(sql)
            cols = [d[0] for d in cur.description]
            rows = cur.fetchall()
            write_csv(outdir / "answers" / f"q{n}.csv", cols, rows)
            print(f"q{n}: DuckDB: {len(rows)} rows")

        problems = []
        if args.check_datafusion:
            problems = check_datafusion(datadir, queries, outdir)

        if args.keep_data:
            args.keep_data.mkdir(parents=True, exist_ok=True)
            for t in TABLES:
                shutil.copy2(datadir / f"{t}.parquet", args.keep_data / f"{t}.parquet")

    if problems:
        print("DataFusion problems:\n  " + "\n  ".join(problems))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
