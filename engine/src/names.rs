//! [`CatalogNames`]: every schema, table, column and function name a
//! statement can use, in one snapshot — what the shell completes from, and
//! what an editor or notebook embedding Tarn would offer.
//!
//! Catalog tables are read from the catalog database in one query (their
//! stored Arrow schemas, no file access), so a snapshot of a catalog with
//! thousands of tables takes milliseconds; only session tables (views,
//! `CREATE TABLE AS`) are asked for their schema, and system tables are
//! looked up over an empty catalog (they are built from the whole catalog
//! when looked up for real).

use std::collections::HashMap;

use std::sync::{Arc, OnceLock};

use datafusion::catalog::SchemaProvider;
use tarn_catalog::Catalog;

use crate::engine::{CATALOG_NAME, Engine};
use crate::error::{Error, Result};
use crate::provider::{Bridge, SYSTEM_SCHEMA};
use crate::result_cache::ResultCache;
use crate::system_tables::SystemSchema;

/// The names a statement can use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatalogNames {
    /// Schema names, sorted.
    pub schemas: Vec<String>,
    /// Every table (catalog, session and system tables), sorted by schema
    /// and name.
    pub tables: Vec<TableNames>,
    /// Scalar, aggregate, window and table function names, sorted.
    pub functions: Vec<String>,
}

/// A table's names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableNames {
    /// Schema the table is in.
    pub schema: String,
    /// The table's name.
    pub name: String,
    /// Its columns, in table order.
    pub columns: Vec<String>,
}

impl Engine {
    /// A snapshot of every schema, table, column and function name.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> tarn::Result<()> {
    /// let engine = tarn::Engine::in_memory().await?;
    /// engine.sql("CREATE TABLE t AS SELECT 1 AS id, 'x' AS label").await?;
    /// let names = engine.names().await?;
    /// let t = names.tables.iter().find(|t| t.schema == "public" && t.name == "t").unwrap();
    /// assert_eq!(t.columns, ["id", "label"]);
    /// assert!(names.functions.iter().any(|f| f == "read_csv"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn names(&self) -> Result<CatalogNames> {
        let catalog = self.catalog().clone();
        let stored = tokio::task::spawn_blocking(move || catalog.list_tables(None))
            .await
            .map_err(|e| crate::Error::internal(format!("catalog read task failed: {e}")))??;
        let mut stored: HashMap<(String, String), Vec<String>> = stored
            .into_iter()
            .map(|t| {
                let columns = t.def.schema_def.fields().iter().map(|f| f.name().clone()).collect();
                ((t.def.schema, t.def.name), columns)
            })
            .collect();

        let mut names = CatalogNames::default();
        let ctx = self.session_context();
        if let Some(catalog) = ctx.catalog(CATALOG_NAME) {
            let mut schemas = catalog.schema_names();
            schemas.sort();
            for schema_name in &schemas {
                let Some(schema) = catalog.schema(schema_name) else { continue };
                let mut tables = schema.table_names();
                tables.sort();
                for table in tables {
                    // System tables are built from the whole catalog when
                    // looked up; their columns are read from an empty one.
                    let provider = match schema_name == SYSTEM_SCHEMA {
                        true => system_tables_shape()?.clone(),
                        false => schema.clone(),
                    };
                    let columns = match stored.remove(&(schema_name.clone(), table.clone())) {
                        Some(columns) => columns,
                        None => match provider.table(&table).await {
                            Ok(Some(provider)) => provider.schema().fields().iter().map(|f| f.name().clone()).collect(),
                            // A table that cannot be opened still completes by name.
                            Ok(None) | Err(_) => Vec::new(),
                        },
                    };
                    names.tables.push(TableNames { schema: schema_name.clone(), name: table, columns });
                }
            }
            names.schemas = schemas;
        }

        let state = ctx.state();
        let mut functions: Vec<String> = state
            .scalar_functions()
            .keys()
            .chain(state.aggregate_functions().keys())
            .chain(state.window_functions().keys())
            .chain(state.table_functions().keys())
            .cloned()
            .collect();
        functions.sort();
        functions.dedup();
        names.functions = functions;
        Ok(names)
    }
}

/// The system schema over an empty catalog: its tables have their real
/// columns and no rows, so looking them up costs nothing.
fn system_tables_shape() -> Result<&'static Arc<dyn SchemaProvider>> {
    static SHAPE: OnceLock<Arc<dyn SchemaProvider>> = OnceLock::new();
    if let Some(shape) = SHAPE.get() {
        return Ok(shape);
    }
    let empty = Catalog::open_in_memory().map_err(Error::from)?;
    let bridge = Bridge::new(Arc::new(empty), Arc::new(ResultCache::new(0, None)))?;
    let schema: Arc<dyn SchemaProvider> = Arc::new(SystemSchema::new(Arc::new(bridge)));
    Ok(SHAPE.get_or_init(|| schema))
}
