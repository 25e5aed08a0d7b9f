//! [`BlockingEngine`]: the engine for callers without an async runtime.

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::result::Batches;

/// A synchronous front to an [`Engine`], owning a small tokio runtime.
///
/// ```
/// let engine = tarn::BlockingEngine::in_memory()?;
/// let rows = engine.sql("SELECT 40 + 2 AS answer")?;
/// assert!(rows.to_pretty_string()?.contains("42"));
/// # Ok::<(), tarn::Error>(())
/// ```
#[derive(Debug)]
pub struct BlockingEngine {
    engine: Engine,
    runtime: tokio::runtime::Runtime,
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start a tokio runtime: {e}")))
}

impl BlockingEngine {
    /// Open (or create) the catalog at `path`.
    pub fn open(path: impl AsRef<std::path::Path>) -> Result<Self> {
        let runtime = runtime()?;
        let engine = runtime.block_on(Engine::open(path))?;
        Ok(Self { engine, runtime })
    }

    /// An engine with an in-memory catalog.
    pub fn in_memory() -> Result<Self> {
        let runtime = runtime()?;
        let engine = runtime.block_on(Engine::in_memory())?;
        Ok(Self { engine, runtime })
    }

    /// Wrap an existing engine (with a runtime of its own for blocking calls).
    pub fn from_engine(engine: Engine) -> Result<Self> {
        Ok(Self { engine, runtime: runtime()? })
    }

    /// Run one statement and collect its rows.
    pub fn sql(&self, sql: &str) -> Result<Batches> {
        self.runtime.block_on(async { self.engine.sql(sql).await?.collect().await })
    }

    /// Run a script of statements, collecting each result.
    pub fn execute_script(&self, sql: &str) -> Result<Vec<Batches>> {
        self.runtime.block_on(self.engine.execute_script(sql))
    }

    /// Block until automatic index maintenance has nothing queued or running
    /// (see [`Engine::wait_for_index_maintenance`]).
    pub fn wait_for_index_maintenance(&self) {
        self.runtime.block_on(self.engine.wait_for_index_maintenance())
    }

    /// The async engine behind this one.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

impl Engine {
    /// A blocking front to this engine (for callers without a runtime; do
    /// not call it from inside an async context).
    pub fn blocking(&self) -> Result<BlockingEngine> {
        BlockingEngine::from_engine(self.clone())
    }
}
