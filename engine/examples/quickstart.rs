//! Quickstart: register a CSV file as a table of a persistent catalog,
//! query it, and see the table again from a second engine on the same file.
//!
//! Run: `cargo run -p tarn --example quickstart`

use tarn::{Engine, Error, Result};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let dir = tempfile::tempdir().map_err(|e| Error::Io { path: "temp dir".into(), source: e })?;
    let csv = dir.path().join("cities.csv");
    std::fs::write(&csv, "city,country,population\nParis,France,2102650\nLyon,France,522250\nRome,Italy,2746984\n")
        .map_err(|e| Error::Io { path: csv.display().to_string(), source: e })?;
    let catalog = dir.path().join("catalog.db");

    // Create a table: the header, delimiter and column types are detected.
    let engine = Engine::open(&catalog).await?;
    engine.sql(&format!("CREATE EXTERNAL TABLE cities STORED AS CSV LOCATION '{}'", csv.display())).await?;

    // Query it.
    let result = engine
        .sql("SELECT country, sum(population) AS people FROM cities GROUP BY country ORDER BY people DESC")
        .await?
        .collect()
        .await?;
    let table = result.to_pretty_string()?;
    println!("{table}");
    assert!(table.contains("| Italy   | 2746984 |"), "{table}");
    assert!(table.contains("| France  | 2624900 |"), "{table}");

    // The catalog is a file: another engine (or process) sees the table.
    drop(engine);
    let again = Engine::open(&catalog).await?;
    let tables = again.list_tables()?;
    assert_eq!(tables.len(), 1);
    println!(
        "{} is a {} table of {} file(s), {} bytes",
        tables[0].def.name, tables[0].def.format, tables[0].file_count, tables[0].total_bytes
    );
    Ok(())
}
