//! Attach a whole lake directory in one statement and query across formats:
//! the TPC-H demo lake mixes Parquet (one table Hive-partitioned), CSV, gzip
//! CSV and JSON. Also shows streaming a result batch by batch.
//!
//! Run: `cargo run -p tarn --example attach_lake`

use futures::StreamExt;
use tarn::{Engine, Error, Result};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let dir = tempfile::tempdir().map_err(|e| Error::Io { path: "temp dir".into(), source: e })?;
    let lake = tarn::demo::generate_lake(dir.path(), 0.001)?;
    println!("generated {} tables under {}", lake.tables.len(), lake.root.display());

    let engine = Engine::in_memory().await?;
    engine.sql(&format!("ATTACH '{}' AS tpch", lake.root.display())).await?;

    let formats = engine
        .sql("SELECT table_name, format, partition_columns FROM tarn.tables ORDER BY table_name")
        .await?
        .collect()
        .await?;
    println!("{}", formats.to_pretty_string()?);
    assert_eq!(formats.num_rows(), 8);

    // A join across a Hive-partitioned Parquet table, a CSV and two JSON files.
    let sql = "SELECT r.r_name, count(*) AS orders
               FROM tpch.orders o
               JOIN tpch.customer c ON o.o_custkey = c.c_custkey
               JOIN tpch.nation n ON c.c_nationkey = n.n_nationkey
               JOIN tpch.region r ON n.n_regionkey = r.r_regionkey
               WHERE o.o_orderstatus = 'F'
               GROUP BY r.r_name ORDER BY r.r_name";
    let mut stream = engine.sql(sql).await?.into_stream();
    let mut regions = 0;
    while let Some(batch) = stream.next().await {
        regions += batch?.num_rows();
    }
    println!("{regions} regions have finished orders");
    assert_eq!(regions, 5);
    Ok(())
}
