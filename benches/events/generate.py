#!/usr/bin/env python3
"""Generate the events lake of the index benchmark (issue 5).

1,000 files x 50,000 rows = 50 M rows, written three times: CSV, NDJSON and
Parquet (row groups of 10,000 rows), under OUT (default
/root/.cache/tarn/events/{csv,ndjson,parquet}/). Columns:

  user_id  BIGINT     unsorted, high cardinality (hash of the row number, 10 M distinct)
  ts       TIMESTAMP  increasing with the row number
  event    VARCHAR    one of 8 event types
  country  VARCHAR    one of 30 country codes
  url      VARCHAR    a product page with a referrer
  session  VARCHAR    16 hex characters (incompressible)

Also writes OUT/keys.json: user ids that exist (for point lookups) and one
that does not. Run with the DuckDB venv:

  /root/.cache/tarn/venv/bin/python benches/events/generate.py [OUT]
"""

import json
import os
import sys
import time

import duckdb

FILES = int(os.environ.get("EVENTS_FILES", "1000"))
ROWS_PER_FILE = 50_000
OUT = sys.argv[1] if len(sys.argv) > 1 else "/root/.cache/tarn/events"

ROWS = f"""
SELECT
    (hash(i * 2654435761) % 10000000)::BIGINT AS user_id,
    TIMESTAMP '2026-01-01 00:00:00' + to_seconds(i // 20) AS ts,
    ['view', 'click', 'cart', 'buy', 'search', 'login', 'logout', 'share'][1 + (hash(i) % 8)::INT] AS event,
    ['US','DE','FR','GB','JP','BR','IN','CN','IT','ES','CA','AU','NL','SE','PL','MX','KR','CH','AT','BE',
     'NO','DK','FI','IE','PT','CZ','GR','HU','RO','TR'][1 + (hash(i + 7) % 30)::INT] AS country,
    '/product/' || (hash(i + 11) % 100000)::VARCHAR || '?ref=' || ['home','mail','ad','social'][1 + (hash(i + 13) % 4)::INT] AS url,
    substr(md5(i::VARCHAR), 1, 16) AS session
FROM range({{start}}, {{end}}) t(i)
"""


def main() -> None:
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    formats = {
        "csv": "(FORMAT csv, HEADER true)",
        "ndjson": "(FORMAT json)",
        "parquet": "(FORMAT parquet, ROW_GROUP_SIZE 10000)",
    }
    for name, options in formats.items():
        folder = os.path.join(OUT, name)
        os.makedirs(folder, exist_ok=True)
        started = time.time()
        for f in range(FILES):
            path = os.path.join(folder, f"part-{f:04d}.{name}")
            if os.path.exists(path):
                continue
            rows = ROWS.format(start=f * ROWS_PER_FILE, end=(f + 1) * ROWS_PER_FILE)
            con.execute(f"COPY ({rows}) TO '{path}.tmp' {options}")
            os.rename(path + ".tmp", path)
        size = sum(os.path.getsize(os.path.join(folder, p)) for p in os.listdir(folder))
        print(f"{name}: {FILES} files, {size / 1e9:.2f} GB, {time.time() - started:.0f} s", flush=True)
    # Keys: rows spread over the lake, and an id no row has (ids are < 10 M).
    picks = [123, 7_654_321, 19_999_999, 33_333_333, 49_999_000]
    keys = [
        con.execute(ROWS.format(start=p, end=p + 1).replace("SELECT\n", "SELECT user_id FROM (SELECT\n", 1) + ")").fetchone()[0]
        for p in picks
    ]
    with open(os.path.join(OUT, "keys.json"), "w") as fh:
        json.dump({"rows": picks, "user_ids": keys, "missing": 10_000_001}, fh)
    print("keys:", keys)


if __name__ == "__main__":
    main()
