//! Index keys: the canonical, order-preserving byte encoding of a column
//! value that every index kind stores and probes with.
//!
//! A key is a *family* prefix (a tag byte, plus the unit of a timestamp or
//! the precision and scale of a decimal) followed by the value in a form whose
//! byte order is the value order (big-endian with the sign bit flipped for
//! integers, the IEEE total order for floats, UTF-8 bytes for strings). So:
//! - min/max (zone maps) compare keys bytewise, and only within one family;
//! - bloom filters and value sets hash or store the same bytes;
//! - all integer types share one family (an `Int32` column probed with an
//!   `Int64` literal finds its values), and all string types another.

use std::cmp::Ordering;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Date64Type, Decimal128Type, Float16Type, Float32Type, Float64Type, Int8Type, Int16Type,
    Int32Type, Int64Type, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use datafusion::common::ScalarValue;

use crate::error::{Error, Result};

const TAG_INT: u8 = 1;
const TAG_STR: u8 = 2;
const TAG_BOOL: u8 = 3;
const TAG_TEMPORAL: u8 = 4;
const TAG_DECIMAL: u8 = 5;
const TAG_FLOAT: u8 = 6;

/// Whether a column of this type can be indexed.
pub(crate) fn supported(data_type: &DataType) -> bool {
    match data_type {
        DataType::Dictionary(_, values) => supported(values),
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::Float16
        | DataType::Float32
        | DataType::Float64
        | DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View
        | DataType::Boolean
        | DataType::Date32
        | DataType::Date64
        | DataType::Timestamp(_, _)
        | DataType::Decimal128(_, _) => true,
        _ => false,
    }
}

/// Length of the family prefix of an encoded key.
fn family_len(key: &[u8]) -> usize {
    match key.first() {
        Some(&TAG_TEMPORAL) => 2,
        Some(&TAG_DECIMAL) => 3,
        Some(_) => 1,
        None => 0,
    }
}

/// Compare two keys: `None` when they are of different families (then
/// nothing can be concluded from them).
pub(crate) fn compare(a: &[u8], b: &[u8]) -> Option<Ordering> {
    let n = family_len(a);
    if n == 0 || n != family_len(b) || a.get(..n) != b.get(..n) {
        return None;
    }
    Some(a.cmp(b))
}

fn int(buf: &mut Vec<u8>, v: i128) {
    buf.clear();
    buf.push(TAG_INT);
    buf.extend_from_slice(&((v as u128) ^ (1u128 << 127)).to_be_bytes());
}

fn string(buf: &mut Vec<u8>, v: &[u8]) {
    buf.clear();
    buf.push(TAG_STR);
    buf.extend_from_slice(v);
}

fn boolean(buf: &mut Vec<u8>, v: bool) {
    buf.clear();
    buf.push(TAG_BOOL);
    buf.push(u8::from(v));
}

fn temporal(buf: &mut Vec<u8>, unit: u8, v: i64) {
    buf.clear();
    buf.push(TAG_TEMPORAL);
    buf.push(unit);
    buf.extend_from_slice(&((v as u64) ^ (1u64 << 63)).to_be_bytes());
}

fn decimal(buf: &mut Vec<u8>, precision: u8, scale: i8, v: i128) {
    buf.clear();
    buf.push(TAG_DECIMAL);
    buf.push(precision);
    buf.push(scale as u8);
    buf.extend_from_slice(&((v as u128) ^ (1u128 << 127)).to_be_bytes());
}

/// IEEE 754 total order as unsigned bytes (the order Arrow compares floats in).
fn float(buf: &mut Vec<u8>, v: f64) {
    let bits = v.to_bits();
    let ordered = if bits >> 63 == 1 { !bits } else { bits | (1u64 << 63) };
    buf.clear();
    buf.push(TAG_FLOAT);
    buf.extend_from_slice(&ordered.to_be_bytes());
}

const UNIT_DATE32: u8 = 10;
const UNIT_DATE64: u8 = 11;

/// The key of a literal; `None` for NULL or a type that is not indexed.
pub(crate) fn scalar_key(value: &ScalarValue) -> Option<Vec<u8>> {
    let mut buf = Vec::with_capacity(17);
    match value {
        ScalarValue::Int8(Some(v)) => int(&mut buf, i128::from(*v)),
        ScalarValue::Int16(Some(v)) => int(&mut buf, i128::from(*v)),
        ScalarValue::Int32(Some(v)) => int(&mut buf, i128::from(*v)),
        ScalarValue::Int64(Some(v)) => int(&mut buf, i128::from(*v)),
        ScalarValue::UInt8(Some(v)) => int(&mut buf, i128::from(*v)),
        ScalarValue::UInt16(Some(v)) => int(&mut buf, i128::from(*v)),
        ScalarValue::UInt32(Some(v)) => int(&mut buf, i128::from(*v)),
        ScalarValue::UInt64(Some(v)) => int(&mut buf, i128::from(*v)),
        ScalarValue::Float16(Some(v)) => float(&mut buf, f64::from(*v)),
        ScalarValue::Float32(Some(v)) => float(&mut buf, f64::from(*v)),
        ScalarValue::Float64(Some(v)) => float(&mut buf, *v),
        ScalarValue::Utf8(Some(v)) | ScalarValue::LargeUtf8(Some(v)) | ScalarValue::Utf8View(Some(v)) => {
            string(&mut buf, v.as_bytes())
        }
        ScalarValue::Boolean(Some(v)) => boolean(&mut buf, *v),
        ScalarValue::Date32(Some(v)) => temporal(&mut buf, UNIT_DATE32, i64::from(*v)),
        ScalarValue::Date64(Some(v)) => temporal(&mut buf, UNIT_DATE64, *v),
        ScalarValue::TimestampSecond(Some(v), _) => temporal(&mut buf, 0, *v),
        ScalarValue::TimestampMillisecond(Some(v), _) => temporal(&mut buf, 1, *v),
        ScalarValue::TimestampMicrosecond(Some(v), _) => temporal(&mut buf, 2, *v),
        ScalarValue::TimestampNanosecond(Some(v), _) => temporal(&mut buf, 3, *v),
        ScalarValue::Decimal128(Some(v), p, s) => decimal(&mut buf, *p, *s, *v),
        ScalarValue::Dictionary(_, inner) => return scalar_key(inner),
        _ => return None,
    }
    Some(buf)
}

/// Call `f` with the key of every non-null value of `array`, in order.
pub(crate) fn for_each_key(array: &ArrayRef, mut f: impl FnMut(&[u8])) -> Result<()> {
    let mut buf = Vec::with_capacity(32);
    macro_rules! ints {
        ($t:ty) => {
            for v in array.as_primitive::<$t>().iter().flatten() {
                int(&mut buf, i128::from(v));
                f(&buf);
            }
        };
    }
    macro_rules! temporals {
        ($t:ty, $unit:expr) => {
            for v in array.as_primitive::<$t>().iter().flatten() {
                temporal(&mut buf, $unit, i64::from(v));
                f(&buf);
            }
        };
    }
    match array.data_type() {
        DataType::Int8 => ints!(Int8Type),
        DataType::Int16 => ints!(Int16Type),
        DataType::Int32 => ints!(Int32Type),
        DataType::Int64 => ints!(Int64Type),
        DataType::UInt8 => ints!(UInt8Type),
        DataType::UInt16 => ints!(UInt16Type),
        DataType::UInt32 => ints!(UInt32Type),
        DataType::UInt64 => ints!(UInt64Type),
        DataType::Float16 => {
            for v in array.as_primitive::<Float16Type>().iter().flatten() {
                float(&mut buf, f64::from(v));
                f(&buf);
            }
        }
        DataType::Float32 => {
            for v in array.as_primitive::<Float32Type>().iter().flatten() {
                float(&mut buf, f64::from(v));
                f(&buf);
            }
        }
        DataType::Float64 => {
            for v in array.as_primitive::<Float64Type>().iter().flatten() {
                float(&mut buf, v);
                f(&buf);
            }
        }
        DataType::Utf8 => {
            for v in array.as_string::<i32>().iter().flatten() {
                string(&mut buf, v.as_bytes());
                f(&buf);
            }
        }
        DataType::LargeUtf8 => {
            for v in array.as_string::<i64>().iter().flatten() {
                string(&mut buf, v.as_bytes());
                f(&buf);
            }
        }
        DataType::Utf8View => {
            for v in array.as_string_view().iter().flatten() {
                string(&mut buf, v.as_bytes());
                f(&buf);
            }
        }
        DataType::Boolean => {
            for v in array.as_boolean().iter().flatten() {
                boolean(&mut buf, v);
                f(&buf);
            }
        }
        DataType::Date32 => temporals!(Date32Type, UNIT_DATE32),
        DataType::Date64 => temporals!(Date64Type, UNIT_DATE64),
        DataType::Timestamp(TimeUnit::Second, _) => temporals!(TimestampSecondType, 0),
        DataType::Timestamp(TimeUnit::Millisecond, _) => temporals!(TimestampMillisecondType, 1),
        DataType::Timestamp(TimeUnit::Microsecond, _) => temporals!(TimestampMicrosecondType, 2),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => temporals!(TimestampNanosecondType, 3),
        DataType::Decimal128(p, s) => {
            for v in array.as_primitive::<Decimal128Type>().iter().flatten() {
                decimal(&mut buf, *p, *s, v);
                f(&buf);
            }
        }
        DataType::Dictionary(_, values) => {
            let plain = datafusion::arrow::compute::cast(array, values)?;
            return for_each_key(&plain, f);
        }
        other => return Err(Error::Unsupported(format!("indexes on columns of type {other}"))),
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Float64Array, Int32Array, Int64Array, StringArray};

    use super::*;

    fn keys(array: ArrayRef) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for_each_key(&array, |k| out.push(k.to_vec())).unwrap();
        out
    }

    #[test]
    fn order_is_preserved_within_a_family() {
        let ints = keys(Arc::new(Int64Array::from(vec![i64::MIN, -5, -1, 0, 1, 7, i64::MAX])));
        assert!(ints.windows(2).all(|w| compare(&w[0], &w[1]) == Some(Ordering::Less)));
        let floats = keys(Arc::new(Float64Array::from(vec![f64::NEG_INFINITY, -2.5, -0.0, 0.0, 1e-9, 3.0, f64::NAN])));
        assert!(floats.windows(2).all(|w| compare(&w[0], &w[1]) == Some(Ordering::Less)));
        let strings = keys(Arc::new(StringArray::from(vec!["", "a", "ab", "b", "é"])));
        assert!(strings.windows(2).all(|w| compare(&w[0], &w[1]) == Some(Ordering::Less)));
    }

    #[test]
    fn integer_widths_share_keys_and_families_do_not_mix() {
        let narrow = keys(Arc::new(Int32Array::from(vec![42])));
        assert_eq!(Some(narrow[0].clone()), scalar_key(&ScalarValue::Int64(Some(42))));
        assert_eq!(Some(narrow[0].clone()), scalar_key(&ScalarValue::UInt8(Some(42))));
        let s = scalar_key(&ScalarValue::Utf8View(Some("42".into()))).unwrap();
        assert_eq!(compare(&narrow[0], &s), None);
        assert_eq!(scalar_key(&ScalarValue::Int64(None)), None);
        let ts_ms = scalar_key(&ScalarValue::TimestampMillisecond(Some(5), None)).unwrap();
        let ts_us = scalar_key(&ScalarValue::TimestampMicrosecond(Some(5), None)).unwrap();
        assert_eq!(compare(&ts_ms, &ts_us), None);
    }
}
