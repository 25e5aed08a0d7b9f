//! Merging the schemas of the files of one table: compatible differences
//! (a column added later, a narrower integer, int next to float) widen into
//! one table schema; anything else is an error that names the file.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use tarn_catalog::FileFormat;

use crate::error::{Error, Result};

/// Merge per-file schemas (`(path, schema)`, in path order) into a table schema.
///
/// Columns are matched by name. For CSV, where columns are read by position,
/// every file's columns must be a prefix of the merged columns (new columns
/// are added at the end). Text formats (CSV, JSON) fall back to `Utf8` when
/// one file has text where another has numbers; Parquet does not.
pub(crate) fn merge_file_schemas(files: &[(String, SchemaRef)], format: FileFormat) -> Result<SchemaRef> {
    let text = format != FileFormat::Parquet;
    // Each merged column, with how many files have it.
    let mut merged: Vec<(Field, usize)> = Vec::new();
    for (path, schema) in files {
        for (i, field) in schema.fields().iter().enumerate() {
            match merged.iter().position(|(m, _)| m.name() == field.name()) {
                Some(j) => {
                    if format == FileFormat::Csv && i != j {
                        return Err(column_order_error(path, field.name(), i, j));
                    }
                    let (existing, seen) = &merged[j];
                    let dt = merge_types(existing.data_type(), field.data_type(), text).ok_or_else(|| {
                        Error::IncompatibleSchema {
                            path: path.clone(),
                            message: format!(
                                "column '{}' is {} here but {} in the table's other files",
                                field.name(),
                                field.data_type(),
                                existing.data_type()
                            ),
                        }
                    })?;
                    let nullable = existing.is_nullable() || field.is_nullable();
                    let updated = existing.clone().with_data_type(dt).with_nullable(nullable);
                    merged[j] = (updated, seen + 1);
                }
                None => {
                    if format == FileFormat::Csv && i != merged.len() {
                        return Err(column_order_error(path, field.name(), i, merged.len()));
                    }
                    merged.push((field.as_ref().clone(), 1));
                }
            }
        }
    }
    // A column some files lack reads as NULL from those files.
    let fields: Vec<Field> =
        merged.into_iter().map(|(f, seen)| if seen < files.len() { f.with_nullable(true) } else { f }).collect();
    Ok(Arc::new(Schema::new(fields)))
}

fn column_order_error(path: &str, name: &str, here: usize, table: usize) -> Error {
    Error::IncompatibleSchema {
        path: path.to_string(),
        message: format!(
            "CSV column '{name}' is at position {} here but {} in the table's other files \
             (CSV files of one table must share their column order; new columns go at the end)",
            here + 1,
            table + 1
        ),
    }
}

/// The narrowest type both values fit in, if there is one.
pub(crate) fn merge_types(a: &DataType, b: &DataType, text: bool) -> Option<DataType> {
    use DataType::*;
    if a == b {
        return Some(a.clone());
    }
    match (a, b) {
        (Null, other) | (other, Null) => Some(other.clone()),
        (Struct(fa), Struct(fb)) => merge_struct(fa, fb, text).map(Struct),
        (List(fa), List(fb)) => {
            merge_types(fa.data_type(), fb.data_type(), text).map(|t| List(Arc::new(Field::new(fa.name(), t, true))))
        }
        (LargeList(fa), LargeList(fb)) => merge_types(fa.data_type(), fb.data_type(), text)
            .map(|t| LargeList(Arc::new(Field::new(fa.name(), t, true)))),
        (Utf8, LargeUtf8) | (LargeUtf8, Utf8) => Some(LargeUtf8),
        (Utf8View, Utf8 | LargeUtf8) | (Utf8 | LargeUtf8, Utf8View) => Some(Utf8View),
        (Date32, Date64) | (Date64, Date32) => Some(Date64),
        (Timestamp(ua, za), Timestamp(ub, zb)) if za == zb => Some(Timestamp(finer(ua, ub), za.clone())),
        (Decimal128(pa, sa), Decimal128(pb, sb)) => {
            let scale = (*sa).max(*sb);
            let int_digits = (*pa as i16 - *sa as i16).max(*pb as i16 - *sb as i16);
            let precision = (int_digits + scale as i16).clamp(1, 38) as u8;
            Some(Decimal128(precision, scale))
        }
        _ if a.is_integer() && b.is_integer() => merge_integers(a, b),
        _ if a.is_numeric() && b.is_numeric() => Some(Float64),
        _ if text && (is_string(a) || is_string(b)) && is_scalar(a) && is_scalar(b) => Some(Utf8),
        _ => None,
    }
}

fn is_string(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

fn is_scalar(t: &DataType) -> bool {
    !t.is_nested()
}

fn finer(
    a: &datafusion::arrow::datatypes::TimeUnit,
    b: &datafusion::arrow::datatypes::TimeUnit,
) -> datafusion::arrow::datatypes::TimeUnit {
    use datafusion::arrow::datatypes::TimeUnit::*;
    let rank = |u: &datafusion::arrow::datatypes::TimeUnit| match u {
        Second => 0,
        Millisecond => 1,
        Microsecond => 2,
        Nanosecond => 3,
    };
    if rank(a) >= rank(b) { *a } else { *b }
}

fn merge_integers(a: &DataType, b: &DataType) -> Option<DataType> {
    use DataType::*;
    let signed = |t: &DataType| matches!(t, Int8 | Int16 | Int32 | Int64);
    let width = |t: &DataType| match t {
        Int8 | UInt8 => 8,
        Int16 | UInt16 => 16,
        Int32 | UInt32 => 32,
        _ => 64,
    };
    let (sa, sb, wa, wb) = (signed(a), signed(b), width(a), width(b));
    let bits = match (sa, sb) {
        (true, true) | (false, false) => wa.max(wb),
        // Mixed signedness: the signed type must hold the unsigned one's range.
        (true, false) => wa.max(wb * 2),
        (false, true) => wb.max(wa * 2),
    };
    let signed = sa || sb;
    Some(match (signed, bits) {
        (true, 8) => Int8,
        (true, 16) => Int16,
        (true, 32) => Int32,
        (true, 64) => Int64,
        (false, 8) => UInt8,
        (false, 16) => UInt16,
        (false, 32) => UInt32,
        (false, 64) => UInt64,
        // A u64 next to a signed integer fits no integer type.
        _ => Float64,
    })
}

fn merge_struct(a: &Fields, b: &Fields, text: bool) -> Option<Fields> {
    let mut out: Vec<Field> = a.iter().map(|f| f.as_ref().clone()).collect();
    for fb in b.iter() {
        match out.iter().position(|f| f.name() == fb.name()) {
            Some(i) => {
                let t = merge_types(out[i].data_type(), fb.data_type(), text)?;
                out[i] = Field::new(fb.name(), t, true);
            }
            None => out.push(Field::new(fb.name(), fb.data_type().clone(), true)),
        }
    }
    Some(out.into())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use DataType::*;

    fn schema(cols: &[(&str, DataType)]) -> SchemaRef {
        Arc::new(Schema::new(cols.iter().map(|(n, t)| Field::new(*n, t.clone(), true)).collect::<Vec<_>>()))
    }

    #[test]
    fn widens_and_adds_columns() {
        let files = vec![
            ("a.parquet".to_string(), schema(&[("id", Int32), ("x", Float32)])),
            ("b.parquet".to_string(), schema(&[("id", Int64), ("x", Float64), ("added", Utf8)])),
        ];
        let m = merge_file_schemas(&files, FileFormat::Parquet).unwrap();
        assert_eq!(m.field(0).data_type(), &Int64);
        assert!(m.field(2).is_nullable(), "a column missing from a file is nullable");
        assert_eq!(m.field(1).data_type(), &Float64);
        assert_eq!(m.field(2).name(), "added");
    }

    #[test]
    fn keeps_non_nullable_columns() {
        let required = |t: DataType| Arc::new(Schema::new(vec![Field::new("id", t, false)]));
        let files = vec![("a.parquet".to_string(), required(Int32)), ("b.parquet".to_string(), required(Int64))];
        let m = merge_file_schemas(&files, FileFormat::Parquet).unwrap();
        assert_eq!((m.field(0).data_type(), m.field(0).is_nullable()), (&Int64, false));
    }

    #[test]
    fn incompatible_file_is_named() {
        let files = vec![
            ("a.parquet".to_string(), schema(&[("id", Int32)])),
            ("b.parquet".to_string(), schema(&[("id", Utf8)])),
        ];
        let e = merge_file_schemas(&files, FileFormat::Parquet).unwrap_err();
        assert!(e.to_string().starts_with("b.parquet: column 'id'"), "{e}");
        // Text formats widen to strings instead.
        assert_eq!(merge_file_schemas(&files, FileFormat::Json).unwrap().field(0).data_type(), &Utf8);
    }

    #[test]
    fn csv_requires_column_order() {
        let files = vec![
            ("a.csv".to_string(), schema(&[("a", Int64), ("b", Int64)])),
            ("b.csv".to_string(), schema(&[("b", Int64), ("a", Int64)])),
        ];
        assert!(merge_file_schemas(&files, FileFormat::Csv).unwrap_err().to_string().starts_with("b.csv"));
    }

    #[test]
    fn integer_rules() {
        assert_eq!(merge_types(&Int8, &UInt8, false), Some(Int16));
        assert_eq!(merge_types(&UInt64, &Int64, false), Some(Float64));
        assert_eq!(merge_types(&Int64, &Float64, false), Some(Float64));
        assert_eq!(merge_types(&Date32, &Utf8, false), None);
    }
}
