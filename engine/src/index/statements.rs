//! Running the index statements against the catalog and the sidecar
//! directory: `CREATE INDEX`, `DROP INDEX`, `REINDEX`, and the incremental
//! maintenance `REFRESH TABLE` does. (`SHOW INDEXES` is a query of the
//! `tarn.indexes` system table, in `engine.rs`.)
//!
//! Every change writes a new sidecar first and then, in one catalog
//! transaction, points the index at it with the files it covers; the sidecar
//! it replaced is deleted after the commit. A failed build leaves the catalog
//! as it was (and a failed `CREATE INDEX` leaves no index behind). Automatic
//! maintenance (`maintenance.rs`) uses the same incremental rebuild, but
//! commits only if nobody replaced the sidecar it started from.

use std::collections::HashMap;

use datafusion::execution::context::SessionState;
use tarn_catalog::{IndexDefinition, IndexEntry};

use super::build::{BuildOptions, BuildTarget, Built, Previous, build};
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
        bloom_max_size_ratio: settings.bloom_max_size_ratio,
        values_limit: settings.values_limit,
        concurrency: settings.build_concurrency.max(1),
        background: false,
        known_failures: HashMap::new(),
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
    // Until the first build is committed, a failure or a cancelled statement
    // (this future dropped) removes the index again.
    let mut unfinished = Unfinished { bridge, schema, name, id, armed: true };
    let tracker = bridge.indexes.builds().start(schema, table, name, false);
    let target = BuildTarget { table: &lake, index_id: id, columns, dir: bridge.indexes.dir() };
    let built = build(state, target, &options(state, kind), None, &tracker)
        .await?
        .ok_or_else(|| Error::internal("a first index build wrote nothing"))?;
    let count = built.files.len();
    commit(bridge, id, (schema, name), None, &built)?;
    unfinished.armed = false;
    let _ = bridge.indexes.sweep_orphans();
    Ok(Some(count))
}

/// A just-created index whose first build has not been committed: dropped
/// with it unless disarmed, so a failed or cancelled `CREATE INDEX` leaves
/// no half-made index behind.
struct Unfinished<'a> {
    bridge: &'a Bridge,
    schema: &'a str,
    name: &'a str,
    id: i64,
    armed: bool,
}

impl Drop for Unfinished<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let Unfinished { bridge, schema, name, id, .. } = *self;
        let dropped = bridge.catalog.write(|tx| match tx.get_index(schema, name)? {
            Some(entry) if entry.id == id && entry.sidecar.is_none() => tx.drop_index(schema, name, true).map(|_| ()),
            _ => Ok(()),
        });
        if let Err(e) = dropped {
            log::warn!("cannot remove index '{schema}.{name}' after its build failed: {e}");
        }
    }
}

/// Point index `id` (`schema.name`) at a newly built sidecar, in one
/// transaction with the files it covers, and delete the sidecar it replaces.
/// With `only_if` (automatic maintenance), commit only if the index still
/// points at that sidecar — a statement or another process that rebuilt it
/// meanwhile wins — and return whether it committed.
fn commit(
    bridge: &Bridge,
    id: i64,
    (schema, name): (&str, &str),
    only_if: Option<&Option<String>>,
    built: &Built,
) -> Result<bool> {
    let result = bridge.catalog.write(|tx| {
        let current = tx.get_index(schema, name)?.filter(|e| e.id == id);
        if let Some(expected) = only_if
            && current.as_ref().is_none_or(|c| &c.sidecar != expected)
        {
            return Ok(None);
        }
        tx.set_index_data(id, &built.sidecar, built.sidecar_bytes, &built.files)?;
        Ok(Some(current.and_then(|c| c.sidecar)))
    });
    match result {
        Ok(Some(replaced)) => {
            if let Some(old) = replaced.filter(|old| old != &built.sidecar) {
                bridge.indexes.remove_sidecar(&old);
            }
            Ok(true)
        }
        Ok(None) => {
            bridge.indexes.remove_sidecar(&built.sidecar);
            Ok(false)
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
    let options = options(state, parse_kind(entry)?);
    let built = rebuild_with(state, bridge, entry, incremental, &options).await?;
    let Some(built) = built else { return Ok(0) };
    commit(bridge, entry.id, (&entry.def.schema, &entry.def.name), None, &built)?;
    Ok(built.scanned)
}

/// What automatic maintenance did to one index.
#[derive(Debug, Default)]
pub(crate) struct Maintained {
    /// Files scanned and committed.
    pub scanned: usize,
    /// Files that could not be indexed, with the error.
    pub failed: Vec<(tarn_catalog::IndexedFile, String)>,
    /// Whether a statement or another process rebuilt the index meanwhile
    /// (this build was thrown away).
    pub superseded: bool,
}

/// Automatic maintenance of `entry`: index new and changed files, drop
/// removed ones, skip files that failed before and are unchanged; commit
/// only if the index was not rebuilt meanwhile.
pub(crate) async fn maintain(
    state: &SessionState,
    bridge: &Bridge,
    entry: &IndexEntry,
    known_failures: HashMap<String, (u64, i64)>,
) -> Result<Maintained> {
    let settings = TarnOptions::from_state(state).index;
    let options = BuildOptions {
        concurrency: settings.maintenance_concurrency.max(1),
        background: true,
        known_failures,
        ..options(state, parse_kind(entry)?)
    };
    let Some(built) = rebuild_with(state, bridge, entry, true, &options).await? else {
        return Ok(Maintained::default());
    };
    let committed = commit(bridge, entry.id, (&entry.def.schema, &entry.def.name), Some(&entry.sidecar), &built)?;
    Ok(Maintained { scanned: built.scanned, failed: built.failed, superseded: !committed })
}

fn parse_kind(entry: &IndexEntry) -> Result<IndexKind> {
    IndexKind::parse(&entry.def.kind)
        .ok_or_else(|| Error::internal(format!("index '{}' has unknown kind '{}'", entry.def.name, entry.def.kind)))
}

async fn rebuild_with(
    state: &SessionState,
    bridge: &Bridge,
    entry: &IndexEntry,
    incremental: bool,
    options: &BuildOptions,
) -> Result<Option<Built>> {
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
    let tracker =
        bridge.indexes.builds().start(&entry.def.schema, &entry.def.table, &entry.def.name, options.background);
    let target =
        BuildTarget { table: &lake, index_id: entry.id, columns: &entry.def.columns, dir: bridge.indexes.dir() };
    build(state, target, options, previous, &tracker).await
}
