//! Running the index statements against the catalog and the sidecar
//! directory: `CREATE INDEX`, `DROP INDEX`, `REINDEX`, and the incremental
//! maintenance `REFRESH TABLE` does. (`SHOW INDEXES` is a query of the
//! `tarn.indexes` system table, in `engine.rs`.)
//!
//! Every change writes a new sidecar first and then, in one catalog
//! transaction, points the index at it with the files it covers; the old
//! sidecar is deleted after the commit. A failed build leaves the catalog as
//! it was (and a failed `CREATE INDEX` leaves no index behind).

use std::collections::HashMap;

use datafusion::execution::context::SessionState;
use tarn_catalog::{IndexDefinition, IndexEntry};

use super::build::{BuildOptions, Previous, build};
use super::{IndexKind, key, sidecar};
use crate::error::{Error, Result};
use crate::provider::Bridge;
use crate::settings::TarnOptions;

fn options(state: &SessionState, kind: IndexKind) -> BuildOptions {
    let settings = TarnOptions::from_state(state).index;
    BuildOptions {
        kind,
        block_size: settings.block_size.max(4096),
        bloom_false_positive_rate: settings.bloom_false_positive_rate,
        values_limit: settings.values_limit,
        concurrency: settings.build_concurrency.max(1),
    }
}

/// What `CREATE INDEX` asks for, names resolved.
pub(crate) struct CreateIndex<'a> {
    pub schema: &'a str,
    pub table: &'a str,
    pub name: &'a str,
    pub columns: &'a [String],
    pub kind: Option<&'a str>,
    pub if_not_exists: bool,
}

/// `CREATE INDEX`: record the index, build it, point it at its sidecar.
/// Returns the number of files indexed (None when it existed and `if_not_exists`).
pub(crate) async fn create_index(
    state: &SessionState,
    bridge: &Bridge,
    request: CreateIndex<'_>,
) -> Result<Option<usize>> {
    let CreateIndex { schema, table, name, columns, kind, if_not_exists } = request;
    let kind = match kind {
        None => IndexKind::Bloom,
        Some(k) => IndexKind::parse(k)
            .ok_or_else(|| Error::Plan { message: format!("unknown index kind '{k}': use minmax, bloom or values") })?,
    };
    if columns.is_empty() {
        return Err(Error::Plan { message: "an index needs at least one column".into() });
    }
    let lake = bridge
        .lake_table(state, schema, table)?
        .ok_or_else(|| Error::NotFound { kind: "table", name: format!("{schema}.{table}") })?;
    let def = lake.definition();
    for (i, column) in columns.iter().enumerate() {
        if columns[..i].contains(column) {
            return Err(Error::Plan { message: format!("column '{column}' is listed twice") });
        }
        let field = def
            .schema_def
            .field_with_name(column)
            .map_err(|_| Error::NotFound { kind: "column", name: format!("{schema}.{table}.{column}") })?;
        if def.partition_columns.contains(column) {
            return Err(Error::Plan {
                message: format!(
                    "'{column}' is a partition column: its values are in the folder names and already prune files"
                ),
            });
        }
        if !key::supported(field.data_type()) {
            return Err(Error::Unsupported(format!(
                "indexes on column '{column}' of type {}: index integers, floats, strings, booleans, dates, timestamps or decimals",
                field.data_type()
            )));
        }
    }
    let index_def = IndexDefinition {
        schema: schema.to_string(),
        table: table.to_string(),
        name: name.to_string(),
        columns: columns.to_vec(),
        kind: kind.as_str().to_string(),
        format_version: sidecar::FORMAT_VERSION,
    };
    let Some(id) = bridge.catalog.write(|tx| tx.create_index(&index_def, if_not_exists))? else {
        return Ok(None);
    };
    let built = build(state, &lake, id, columns, bridge.indexes.dir(), &options(state, kind), None).await;
    let built = match built {
        Ok(b) => b,
        Err(e) => {
            // Leave no half-made index behind.
            if let Err(drop_err) = bridge.catalog.write(|tx| tx.drop_index(schema, name, true)) {
                log::warn!("cannot remove index '{schema}.{name}' after its build failed: {drop_err}");
            }
            return Err(e);
        }
    };
    let count = built.files.len();
    commit(bridge, id, None, built)?;
    let _ = bridge.indexes.sweep_orphans();
    Ok(Some(count))
}

/// Point index `id` at a newly built sidecar; delete the one it replaces.
fn commit(bridge: &Bridge, id: i64, old: Option<&str>, built: super::build::Built) -> Result<()> {
    let result = bridge.catalog.write(|tx| tx.set_index_data(id, &built.sidecar, built.sidecar_bytes, &built.files));
    match result {
        Ok(()) => {
            if let Some(old) = old {
                bridge.indexes.remove_sidecar(old);
            }
            Ok(())
        }
        Err(e) => {
            bridge.indexes.remove_sidecar(&built.sidecar);
            Err(e.into())
        }
    }
}

/// `DROP INDEX`: returns whether it existed.
pub(crate) fn drop_index(bridge: &Bridge, schema: &str, name: &str, if_exists: bool) -> Result<bool> {
    let dropped = bridge.catalog.write(|tx| tx.drop_index(schema, name, if_exists))?;
    if let Some(sidecar) = dropped.as_ref().and_then(|d| d.sidecar.as_deref()) {
        bridge.indexes.remove_sidecar(sidecar);
    }
    Ok(dropped.is_some())
}

/// Rebuild `entry`: from scratch, or (`incremental`) scanning only files that
/// are new or changed since it was built and dropping removed files.
/// Returns the number of files scanned.
pub(crate) async fn rebuild(
    state: &SessionState,
    bridge: &Bridge,
    entry: &IndexEntry,
    incremental: bool,
) -> Result<usize> {
    let kind = IndexKind::parse(&entry.def.kind)
        .ok_or_else(|| Error::internal(format!("index '{}' has unknown kind '{}'", entry.def.name, entry.def.kind)))?;
    let lake = bridge
        .lake_table(state, &entry.def.schema, &entry.def.table)?
        .ok_or_else(|| Error::NotFound { kind: "table", name: format!("{}.{}", entry.def.schema, entry.def.table) })?;
    let old_units = match (&entry.sidecar, incremental && entry.def.format_version == sidecar::FORMAT_VERSION) {
        (Some(name), true) => match bridge.indexes.load_sidecar(name, entry.def.columns.len()) {
            Ok(units) => Some(units),
            Err(e) => {
                log::warn!("rebuilding index '{}' from scratch: {e}", entry.def.name);
                None
            }
        },
        _ => None,
    };
    let previous = match &old_units {
        Some(units) => Some(Previous {
            files: bridge
                .catalog
                .index_files(entry.id)?
                .into_iter()
                .map(|f| (f.path.clone(), f))
                .collect::<HashMap<_, _>>(),
            units,
        }),
        None => None,
    };
    let built =
        build(state, &lake, entry.id, &entry.def.columns, bridge.indexes.dir(), &options(state, kind), previous)
            .await?;
    let scanned = built.scanned;
    commit(bridge, entry.id, entry.sidecar.as_deref(), built)?;
    Ok(scanned)
}
