//! Results of statements: a stream of Arrow record batches with its schema,
//! or the tag of a command, and the collected form of either.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::physical_plan::ExecutionPlan;
use futures::{Stream, StreamExt, TryStreamExt};

use crate::error::{Error, Result};

/// A stream of record batches whose errors are [`tarn::Error`](crate::Error)s.
pub type RecordBatchStream = Pin<Box<dyn Stream<Item = Result<RecordBatch>> + Send>>;

/// What a statement produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResultKind {
    /// Rows of a query (possibly none).
    Rows,
    /// A command that changes state, with a tag saying what it did,
    /// e.g. `CREATE TABLE` or `ATTACH 8 TABLES`.
    Command {
        /// Upper-case summary of what was done.
        tag: String,
    },
}

/// The result of one statement, not yet read: call [`QueryResult::collect`]
/// for all rows or [`QueryResult::into_stream`] to read batch by batch.
pub struct QueryResult {
    schema: SchemaRef,
    kind: ResultKind,
    stream: RecordBatchStream,
    plan: Option<Arc<dyn ExecutionPlan>>,
}

impl fmt::Debug for QueryResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueryResult").field("schema", &self.schema).field("kind", &self.kind).finish_non_exhaustive()
    }
}

impl QueryResult {
    pub(crate) fn new(schema: SchemaRef, kind: ResultKind, stream: RecordBatchStream) -> Self {
        Self { schema, kind, stream, plan: None }
    }

    /// The same result, noting the physical plan its stream executes.
    pub(crate) fn with_plan(mut self, plan: Arc<dyn ExecutionPlan>) -> Self {
        self.plan = Some(plan);
        self
    }

    /// The result of a command: no rows.
    pub(crate) fn command(tag: impl Into<String>) -> Self {
        Self {
            schema: Arc::new(Schema::empty()),
            kind: ResultKind::Command { tag: tag.into() },
            stream: Box::pin(futures::stream::empty()),
            plan: None,
        }
    }

    /// Schema of the rows.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// Rows or command.
    pub fn kind(&self) -> &ResultKind {
        &self.kind
    }

    /// The physical plan a query's stream executes (`None` for commands).
    /// Its metrics fill in as the stream is read: keep this handle to watch
    /// progress ([`ScanProgress::of_plan`](crate::ScanProgress::of_plan)) or
    /// to read the metrics once the stream is done.
    pub fn physical_plan(&self) -> Option<Arc<dyn ExecutionPlan>> {
        self.plan.clone()
    }

    /// Read the rows batch by batch. The query runs as the stream is polled;
    /// dropping the stream cancels it.
    pub fn into_stream(self) -> RecordBatchStream {
        self.stream
    }

    /// Read every row.
    pub async fn collect(self) -> Result<Batches> {
        let batches: Vec<RecordBatch> = self.stream.try_collect().await?;
        Ok(Batches { schema: self.schema, batches, kind: self.kind })
    }
}

/// Wrap a DataFusion stream so its errors become Tarn errors.
pub(crate) fn map_stream(stream: datafusion::physical_plan::SendableRecordBatchStream) -> RecordBatchStream {
    Box::pin(stream.map(|r| r.map_err(Error::from)))
}

/// All the rows of a result, with their schema.
#[derive(Debug, Clone)]
pub struct Batches {
    /// Schema of the rows.
    pub schema: SchemaRef,
    /// The rows, as Arrow record batches.
    pub batches: Vec<RecordBatch>,
    /// Rows or command.
    pub kind: ResultKind,
}

impl Batches {
    /// Number of rows.
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    /// The rows as an ASCII table (or the command tag).
    pub fn to_pretty_string(&self) -> Result<String> {
        if let ResultKind::Command { tag } = &self.kind {
            return Ok(tag.clone());
        }
        if self.batches.is_empty() {
            let empty = RecordBatch::new_empty(self.schema.clone());
            return Ok(pretty_format_batches(&[empty])?.to_string());
        }
        Ok(pretty_format_batches(&self.batches)?.to_string())
    }
}
