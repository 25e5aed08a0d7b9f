//! `tarn::Error`: every failure the engine reports, classified so callers can
//! tell a user's mistake (bad SQL, a missing file, bad data) from a bug.

use std::fmt;

use datafusion::arrow::error::ArrowError;
use datafusion::error::DataFusionError;
use tarn_catalog::CatalogError;

/// Result type of the Tarn engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every error Tarn reports.
///
/// Use [`Error::is_user_error`] to tell errors the user can fix (SQL, paths,
/// data) from internal ones.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The SQL text does not parse.
    #[error("syntax error{}: {message}", position(*line, *column))]
    Syntax {
        /// What the parser expected and found.
        message: String,
        /// 1-based line in the script, when known.
        line: Option<u64>,
        /// 1-based column in that line, when known.
        column: Option<u64>,
    },
    /// The SQL parses but cannot be planned (unknown column, wrong types, ...).
    #[error("{message}")]
    Plan {
        /// DataFusion's explanation.
        message: String,
    },
    /// A named object does not exist.
    #[error("{kind} '{name}' does not exist")]
    NotFound {
        /// What kind of object: "table", "schema", "column", "file".
        kind: &'static str,
        /// Its name as written.
        name: String,
    },
    /// A named object already exists.
    #[error("{kind} '{name}' already exists")]
    AlreadyExists {
        /// What kind of object.
        kind: &'static str,
        /// Its name.
        name: String,
    },
    /// A file or directory could not be read.
    #[error("cannot read '{path}': {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// What the operating system or object store said.
        #[source]
        source: std::io::Error,
    },
    /// A file's content is not what its format or the table's schema requires.
    #[error("{}{}: {message}", path.as_deref().unwrap_or("bad data"), line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Data {
        /// The offending file, when known.
        path: Option<String>,
        /// 1-based line (CSV, JSON) where known.
        line: Option<u64>,
        /// What is wrong.
        message: String,
    },
    /// Files of one table have schemas that cannot be merged.
    #[error("{path}: {message}")]
    IncompatibleSchema {
        /// The file whose schema conflicts with the others.
        path: String,
        /// Which column and which types.
        message: String,
    },
    /// A setting or option has a wrong name or value.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Valid SQL that Tarn does not support.
    #[error("not supported: {0}")]
    Unsupported(String),
    /// The query failed while running (division by zero, a failed cast, ...).
    #[error("{0}")]
    Execution(String),
    /// Memory or disk limits were reached.
    #[error("resources exhausted: {0}")]
    ResourcesExhausted(String),
    /// The query was cancelled.
    #[error("query cancelled")]
    Cancelled,
    /// The catalog database failed.
    #[error("catalog: {0}")]
    Catalog(CatalogError),
    /// A bug in Tarn.
    #[error("internal error (a bug in Tarn, please report it): {0}")]
    Internal(String),
}

fn position(line: Option<u64>, column: Option<u64>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(" at line {l}, column {c}"),
        (Some(l), None) => format!(" at line {l}"),
        _ => String::new(),
    }
}

impl Error {
    /// True for errors the user can fix: SQL, names, paths, data, settings.
    /// False for internal errors, which are bugs in Tarn.
    pub fn is_user_error(&self) -> bool {
        match self {
            Error::Internal(_) => false,
            Error::Catalog(e) => !matches!(e, CatalogError::Internal(_) | CatalogError::Corrupt(_)),
            _ => true,
        }
    }

    /// Attach a file path to a data error that lacks one.
    pub(crate) fn with_path(self, file: &str) -> Error {
        match self {
            Error::Data { path: None, line, message } => Error::Data { path: Some(file.to_string()), line, message },
            Error::Io { path, source } if path.is_empty() => Error::Io { path: file.to_string(), source },
            other => other,
        }
    }

    /// A copy of this error (I/O sources are copied by kind and message).
    fn duplicate(&self) -> Error {
        match self {
            Error::Syntax { message, line, column } => {
                Error::Syntax { message: message.clone(), line: *line, column: *column }
            }
            Error::Plan { message } => Error::Plan { message: message.clone() },
            Error::NotFound { kind, name } => Error::NotFound { kind, name: name.clone() },
            Error::AlreadyExists { kind, name } => Error::AlreadyExists { kind, name: name.clone() },
            Error::Io { path, source } => {
                Error::Io { path: path.clone(), source: std::io::Error::new(source.kind(), source.to_string()) }
            }
            Error::Data { path, line, message } => {
                Error::Data { path: path.clone(), line: *line, message: message.clone() }
            }
            Error::IncompatibleSchema { path, message } => {
                Error::IncompatibleSchema { path: path.clone(), message: message.clone() }
            }
            Error::Config(m) => Error::Config(m.clone()),
            Error::Unsupported(m) => Error::Unsupported(m.clone()),
            Error::Execution(m) => Error::Execution(m.clone()),
            Error::ResourcesExhausted(m) => Error::ResourcesExhausted(m.clone()),
            Error::Cancelled => Error::Cancelled,
            Error::Catalog(e) => Error::Execution(e.to_string()),
            Error::Internal(m) => Error::Internal(m.clone()),
        }
    }

    /// A data error found in a byte range of a file that starts after its
    /// first line: the reader's line numbers count from the range, not the file.
    pub(crate) fn in_range_from(self, offset: u64) -> Error {
        match self {
            Error::Data { path, line: Some(_), message } if offset > 0 => Error::Data {
                path,
                line: None,
                message: format!("{message} (line counted from byte offset {offset} of the file)"),
            },
            other => other,
        }
    }

    pub(crate) fn internal(msg: impl fmt::Display) -> Error {
        Error::Internal(msg.to_string())
    }
}

impl From<CatalogError> for Error {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::SchemaExists { name } => Error::AlreadyExists { kind: "schema", name },
            CatalogError::SchemaNotFound { name } => Error::NotFound { kind: "schema", name },
            CatalogError::TableExists { schema, name } => {
                Error::AlreadyExists { kind: "table", name: format!("{schema}.{name}") }
            }
            CatalogError::TableNotFound { schema, name } => {
                Error::NotFound { kind: "table", name: format!("{schema}.{name}") }
            }
            CatalogError::ColumnNotFound { schema, table, column } => {
                Error::NotFound { kind: "column", name: format!("{schema}.{table}.{column}") }
            }
            CatalogError::IndexExists { schema, name } => {
                Error::AlreadyExists { kind: "index", name: format!("{schema}.{name}") }
            }
            CatalogError::IndexNotFound { schema, name } => {
                Error::NotFound { kind: "index", name: format!("{schema}.{name}") }
            }
            other => Error::Catalog(other),
        }
    }
}

/// Tarn errors raised inside DataFusion callbacks (providers, table
/// functions) travel as `External` and are recovered by `classify`.
impl From<Error> for DataFusionError {
    fn from(e: Error) -> Self {
        DataFusionError::External(Box::new(e))
    }
}

impl From<object_store::Error> for Error {
    fn from(e: object_store::Error) -> Self {
        object_store(e)
    }
}

impl From<ArrowError> for Error {
    fn from(e: ArrowError) -> Self {
        Error::from(DataFusionError::ArrowError(Box::new(e), None))
    }
}

impl From<DataFusionError> for Error {
    fn from(e: DataFusionError) -> Self {
        classify(e)
    }
}

/// Turn DataFusion's error into Tarn's, looking through contexts and wrappers.
fn classify(e: DataFusionError) -> Error {
    match e {
        DataFusionError::SQL(pe, _) => syntax(pe.to_string()),
        DataFusionError::Plan(m) => plan(m),
        DataFusionError::SchemaError(se, _) => plan(se.to_string()),
        DataFusionError::Configuration(m) => Error::Config(m),
        DataFusionError::NotImplemented(m) => Error::Unsupported(m),
        DataFusionError::Execution(m) => execution(m),
        DataFusionError::ExecutionJoin(je) => Error::Internal(je.to_string()),
        DataFusionError::ResourcesExhausted(m) => Error::ResourcesExhausted(m),
        DataFusionError::Internal(m) => Error::Internal(m),
        DataFusionError::IoError(io) => Error::Io { path: String::new(), source: io },
        DataFusionError::ObjectStore(os) => object_store(*os),
        DataFusionError::ArrowError(ae, _) => arrow(*ae),
        DataFusionError::ParquetError(pe) => {
            Error::Data { path: None, line: None, message: format!("invalid Parquet: {pe}") }
        }
        DataFusionError::Context(ctx, inner) => match classify(*inner) {
            Error::Internal(m) => Error::Internal(format!("{ctx}: {m}")),
            Error::Execution(m) => Error::Execution(format!("{ctx}: {m}")),
            other => other,
        },
        DataFusionError::Diagnostic(_, inner) => classify(*inner),
        DataFusionError::Collection(mut errs) => match errs.is_empty() {
            true => Error::Internal("empty error collection".into()),
            false => classify(errs.swap_remove(0)),
        },
        DataFusionError::Shared(shared) => match std::sync::Arc::try_unwrap(shared) {
            Ok(inner) => classify(inner),
            Err(shared) => shared_error(&shared),
        },
        DataFusionError::External(ext) => external(ext),
        other => Error::Execution(other.to_string()),
    }
}

/// Classify an error we only hold a reference to (shared between partitions).
fn shared_error(e: &DataFusionError) -> Error {
    match e {
        DataFusionError::ResourcesExhausted(m) => Error::ResourcesExhausted(m.clone()),
        DataFusionError::Internal(m) => Error::Internal(m.clone()),
        DataFusionError::Shared(inner) => shared_error(inner),
        DataFusionError::Context(_, inner) => shared_error(inner),
        DataFusionError::External(ext) => match ext.downcast_ref::<Error>() {
            Some(tarn) => tarn.duplicate(),
            None => Error::Execution(ext.to_string()),
        },
        other => Error::Execution(other.to_string()),
    }
}

fn external(ext: Box<dyn std::error::Error + Send + Sync>) -> Error {
    let ext = match ext.downcast::<Error>() {
        Ok(tarn) => return *tarn,
        Err(ext) => ext,
    };
    let ext = match ext.downcast::<DataFusionError>() {
        Ok(df) => return classify(*df),
        Err(ext) => ext,
    };
    let ext = match ext.downcast::<ArrowError>() {
        Ok(ae) => return arrow(*ae),
        Err(ext) => ext,
    };
    let ext = match ext.downcast::<object_store::Error>() {
        Ok(os) => return object_store(*os),
        Err(ext) => ext,
    };
    match ext.downcast::<std::io::Error>() {
        Ok(io) => Error::Io { path: String::new(), source: *io },
        Err(ext) => Error::Execution(ext.to_string()),
    }
}

fn object_store(e: object_store::Error) -> Error {
    match e {
        object_store::Error::NotFound { path, source } => {
            Error::Io { path, source: std::io::Error::new(std::io::ErrorKind::NotFound, source.to_string()) }
        }
        other => {
            let msg = other.to_string();
            // The local store reports permission problems as generic errors that name the path.
            let kind = if msg.contains("Permission denied") {
                std::io::ErrorKind::PermissionDenied
            } else {
                std::io::ErrorKind::Other
            };
            Error::Io { path: String::new(), source: std::io::Error::new(kind, msg) }
        }
    }
}

fn arrow(e: ArrowError) -> Error {
    match e {
        ArrowError::ExternalError(ext) => external(ext),
        ArrowError::IoError(msg, io) => Error::Io { path: String::new(), source: std::io::Error::new(io.kind(), msg) },
        ArrowError::ParseError(m) if m.starts_with("Error while parsing value") => {
            // Arrow counts these lines from 0 (the header is line 0); users count from 1.
            let line = line_of(&m).map(|l| l + 1);
            let message = match (line_of(&m), line) {
                (Some(old), Some(new)) => m.replacen(&format!("at line {old}"), &format!("at line {new}"), 1),
                _ => m,
            };
            Error::Data { path: None, line, message }
        }
        ArrowError::ParseError(m) | ArrowError::CsvError(m) | ArrowError::JsonError(m) | ArrowError::CastError(m) => {
            Error::Data { path: None, line: line_of(&m), message: m }
        }
        ArrowError::ParquetError(m) => Error::Data { path: None, line: None, message: format!("invalid Parquet: {m}") },
        ArrowError::ComputeError(m) | ArrowError::InvalidArgumentError(m) => Error::Execution(m),
        ArrowError::DivideByZero => Error::Execution("division by zero".into()),
        ArrowError::ArithmeticOverflow(m) => Error::Execution(format!("arithmetic overflow: {m}")),
        ArrowError::MemoryError(m) => Error::ResourcesExhausted(m),
        other => Error::Execution(other.to_string()),
    }
}

fn plan(m: String) -> Error {
    Error::Plan { message: m }
}

fn execution(m: String) -> Error {
    Error::Execution(m)
}

/// DataFusion and sqlparser write positions as "... at Line: 2, Column: 8".
fn syntax(m: String) -> Error {
    let message = m.strip_prefix("sql parser error: ").unwrap_or(&m).to_string();
    let (line, column) = match message.rfind("Line: ") {
        Some(i) => {
            let rest = &message[i + 6..];
            let line = leading_number(rest);
            let column = rest.find("Column: ").and_then(|j| leading_number(&rest[j + 8..]));
            (line, column)
        }
        None => (None, None),
    };
    let message = match message.rfind(" at Line: ") {
        Some(i) => message[..i].to_string(),
        None => message,
    };
    Error::Syntax { message, line, column }
}

fn leading_number(s: &str) -> Option<u64> {
    let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Arrow's CSV and JSON readers say "... line 12 ..." or "at line 12".
fn line_of(m: &str) -> Option<u64> {
    let lower = m.to_ascii_lowercase();
    let i = lower.find("line ")?;
    leading_number(&lower[i + 5..])
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn syntax_position_is_extracted() {
        let e = syntax("sql parser error: Expected: an expression, found: from at Line: 2, Column: 8".into());
        match e {
            Error::Syntax { message, line, column } => {
                assert_eq!(message, "Expected: an expression, found: from");
                assert_eq!((line, column), (Some(2), Some(8)));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn internal_is_not_a_user_error() {
        assert!(!Error::Internal("x".into()).is_user_error());
        assert!(Error::from(DataFusionError::Plan("no such column".into())).is_user_error());
    }
}
