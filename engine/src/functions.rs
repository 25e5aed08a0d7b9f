//! Querying files without registering them: `SELECT … FROM 'data/*.csv'`
//! (resolved by the schema provider through `adhoc_table`) and the table functions `read_csv`,
//! `read_parquet` and `read_json`. Both inspect files the same way catalog
//! tables do (format from the extension, CSV sniffing, schema merging).
//!
//! Options are written `read_csv('f.csv', header => true, delim => ';')` or
//! `read_csv('f.csv', header = true)`; before planning, Tarn rewrites them
//! into the positional form `read_csv('f.csv', 'header', 'true')` that
//! DataFusion's table functions accept (which also works directly).

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::Arc;

use datafusion::catalog::TableFunctionArgs;
use datafusion::catalog::{TableFunctionImpl, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::Expr;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::{
    BinaryOperator, Expr as SqlExpr, FunctionArg, FunctionArgExpr, FunctionArgOperator, TableFactor, Value, VisitMut,
    VisitorMut,
};
use tarn_catalog::FileFormat;

use crate::error::{Error, Result};
use crate::lake::{self, TableSpec};
use crate::provider::{Bridge, LakeTable};
use crate::settings::TarnOptions;

/// The table functions Tarn registers, with the format each reads.
pub const TABLE_FUNCTIONS: [(&str, Option<FileFormat>); 4] = [
    ("read_csv", Some(FileFormat::Csv)),
    ("read_parquet", Some(FileFormat::Parquet)),
    ("read_json", Some(FileFormat::Json)),
    ("read_files", None),
];

/// Build an ad-hoc (unregistered) table over `location`.
pub(crate) async fn adhoc_table(
    bridge: &Bridge,
    location: &str,
    format: Option<FileFormat>,
    options: BTreeMap<String, String>,
) -> Result<Arc<LakeTable>> {
    let state = bridge.session.state()?;
    let mut settings = TarnOptions::from_state(&state);
    // Ad-hoc scans need no manifest statistics.
    settings.collect_statistics = false;
    let spec = TableSpec { format, options, ..TableSpec::detect(location) };
    let (def, _) = lake::inspect(&state, "", location, spec, &settings).await?;
    Ok(Arc::new(LakeTable::new(&state, def, None)?))
}

/// Whether a table name is meant as a path: it has a separator, a URL scheme
/// or a data-file extension. Other unknown names are "table not found".
pub(crate) fn looks_like_path(name: &str) -> bool {
    name.contains('/') || name.contains("://") || lake::detect_format(name).is_some() || name.contains('*')
}

/// `read_csv(path, [name, value]…)` and friends.
#[derive(Debug)]
struct ReadFiles {
    name: &'static str,
    format: Option<FileFormat>,
    bridge: Arc<Bridge>,
}

impl TableFunctionImpl for ReadFiles {
    fn call_with_args(&self, args: TableFunctionArgs) -> DfResult<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        let (location, mut options) = parse_args(self.name, self.format, exprs).map_err(DataFusionError::from)?;
        let format = match options.remove("tarn.format") {
            Some(f) => Some(FileFormat::parse(&f).ok_or_else(|| {
                DataFusionError::from(Error::Plan {
                    message: format!("{}: unknown format '{f}' (csv, parquet or json)", self.name),
                })
            })?),
            None => self.format,
        };
        // Table functions are planned synchronously; inspect the files on a
        // helper thread with its own runtime so no runtime is blocked.
        let bridge = self.bridge.clone();
        let handle = std::thread::spawn(move || -> Result<Arc<LakeTable>> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| Error::internal(format!("cannot start a runtime: {e}")))?;
            runtime.block_on(adhoc_table(&bridge, &location, format, options))
        });
        let table = handle
            .join()
            .map_err(|_| DataFusionError::from(Error::internal("file inspection thread panicked")))?
            .map_err(DataFusionError::from)?;
        Ok(table)
    }
}

fn literal_string(e: &Expr) -> Option<String> {
    match e {
        Expr::Literal(v, _) => match v {
            ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => {
                Some(s.clone())
            }
            ScalarValue::Null => None,
            other => Some(other.to_string()),
        },
        _ => None,
    }
}

/// Map user option names (DuckDB's and DataFusion's) to DataFusion keys.
fn option_key(format: Option<FileFormat>, name: &str) -> Result<String> {
    let lower = name.to_ascii_lowercase();
    let key = match lower.as_str() {
        "header" | "has_header" => "has_header",
        "delim" | "delimiter" | "sep" => "delimiter",
        "quote" => "quote",
        "escape" => "escape",
        "compression" => "compression",
        "comment" => "comment",
        "newlines_in_values" => "newlines_in_values",
        "newline_delimited" => "newline_delimited",
        "format" => return Ok("tarn.format".into()),
        other if other.starts_with("format.") => return Ok(other.to_string()),
        other => {
            return Err(Error::Plan {
                message: format!(
                    "unknown option '{other}' for {}; known: header, delim, quote, escape, compression, comment, newlines_in_values, newline_delimited, format",
                    format.map(|f| f.to_string()).unwrap_or_else(|| "read_files".into())
                ),
            });
        }
    };
    Ok(format!("format.{key}"))
}

fn parse_args(name: &str, format: Option<FileFormat>, exprs: &[Expr]) -> Result<(String, BTreeMap<String, String>)> {
    let usage = || Error::Plan { message: format!("{name}(path [, option => value]…) needs a path string first") };
    let (first, rest) = exprs.split_first().ok_or_else(usage)?;
    let location = literal_string(first).ok_or_else(usage)?;
    if rest.len() % 2 != 0 {
        return Err(Error::Plan { message: format!("{name}: options come as name => value pairs") });
    }
    let mut options = BTreeMap::new();
    for pair in rest.chunks(2) {
        let key = literal_string(&pair[0])
            .ok_or_else(|| Error::Plan { message: format!("{name}: option names must be identifiers") })?;
        let value = literal_string(&pair[1]).unwrap_or_default();
        let key = option_key(format, &key)?;
        let value = match key.as_str() {
            "format.compression" => value.to_ascii_uppercase(),
            _ => value,
        };
        options.insert(key, value);
    }
    Ok((location, options))
}

pub(crate) fn register_table_functions(ctx: &SessionContext, bridge: Arc<Bridge>) {
    for (name, format) in TABLE_FUNCTIONS {
        ctx.register_udtf(name, Arc::new(ReadFiles { name, format, bridge: bridge.clone() }));
    }
}

/// Rewrite `read_csv('f', header => true)` / `read_csv('f', header = true)`
/// into `read_csv('f', 'header', 'true')`.
pub(crate) fn rewrite_table_function_options(statement: &mut datafusion::sql::parser::Statement) {
    struct Rewriter;
    impl VisitorMut for Rewriter {
        type Break = ();
        fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
            let TableFactor::Table { name, args: Some(args), .. } = factor else {
                return ControlFlow::Continue(());
            };
            let is_ours = name
                .0
                .last()
                .and_then(|p| p.as_ident())
                .is_some_and(|i| TABLE_FUNCTIONS.iter().any(|(n, _)| i.value.eq_ignore_ascii_case(n)));
            if !is_ours {
                return ControlFlow::Continue(());
            }
            let mut out = Vec::with_capacity(args.args.len() * 2);
            for arg in std::mem::take(&mut args.args) {
                match arg {
                    FunctionArg::Named {
                        name,
                        arg: FunctionArgExpr::Expr(value),
                        operator:
                            FunctionArgOperator::RightArrow | FunctionArgOperator::Equals | FunctionArgOperator::Assignment,
                    } => {
                        out.push(string_arg(&name.value));
                        out.push(value_arg(value));
                    }
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(SqlExpr::BinaryOp {
                        left,
                        op: BinaryOperator::Eq,
                        right,
                    })) => match *left {
                        SqlExpr::Identifier(ident) => {
                            out.push(string_arg(&ident.value));
                            out.push(value_arg(*right));
                        }
                        left => out.push(FunctionArg::Unnamed(FunctionArgExpr::Expr(SqlExpr::BinaryOp {
                            left: Box::new(left),
                            op: BinaryOperator::Eq,
                            right,
                        }))),
                    },
                    other => out.push(other),
                }
            }
            args.args = out;
            ControlFlow::Continue(())
        }
    }
    match statement {
        datafusion::sql::parser::Statement::Statement(s) => {
            let _ = s.visit(&mut Rewriter);
        }
        datafusion::sql::parser::Statement::Explain(e) => rewrite_table_function_options(&mut e.statement),
        _ => {}
    }
}

fn string_arg(s: &str) -> FunctionArg {
    FunctionArg::Unnamed(FunctionArgExpr::Expr(SqlExpr::value(Value::SingleQuotedString(s.to_string()))))
}

/// Values become strings: identifiers and booleans by their text.
fn value_arg(e: SqlExpr) -> FunctionArg {
    let text = match &e {
        SqlExpr::Identifier(i) => i.value.clone(),
        SqlExpr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => s.clone(),
            other => other.to_string(),
        },
        other => other.to_string(),
    };
    string_arg(&text)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use datafusion::sql::parser::DFParser;

    #[test]
    fn named_options_become_pairs() {
        let mut s = DFParser::parse_sql("select * from read_csv('a.csv', header => false, delim = ';')")
            .unwrap()
            .pop_front()
            .unwrap();
        rewrite_table_function_options(&mut s);
        assert_eq!(s.to_string(), "SELECT * FROM read_csv('a.csv', 'header', 'false', 'delim', ';')");
    }

    #[test]
    fn option_names() {
        assert_eq!(option_key(Some(FileFormat::Csv), "HEADER").unwrap(), "format.has_header");
        assert!(option_key(Some(FileFormat::Csv), "bogus").is_err());
    }
}
