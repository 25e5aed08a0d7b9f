//! Deciding, from an index unit's summaries alone, that none of its rows can
//! satisfy a predicate. The predicate is a DataFusion physical expression;
//! what is understood: `=`, `<>`, `<`, `<=`, `>`, `>=` between an indexed
//! column and a literal (either side; integer widening and string casts of
//! the column are looked through), `IN (literals)`, `IS [NOT] NULL`, `AND`,
//! `OR` and boolean literals. Anything else "may match", so the answer is
//! always safe: `false` only when no row can match.

use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::logical_expr::Operator;
use datafusion::physical_expr::expressions::{
    BinaryExpr, CastExpr, Column, InListExpr, IsNotNullExpr, IsNullExpr, Literal,
};
use datafusion::physical_expr_common::physical_expr::PhysicalExpr;

use super::key::{compare, scalar_key};
use super::sidecar::{ColumnSummary, Unit};
use std::cmp::Ordering;

/// Resolves a column of the predicate to the position of an indexed column.
pub(crate) trait ColumnResolver {
    /// Position in the index's column list of the column, if it is indexed,
    /// and the column's type in the scan.
    fn resolve(&self, column: &Column) -> Option<(usize, DataType)>;
}

/// Whether the predicate mentions at least one indexed column (only then is
/// an index worth consulting).
pub(crate) fn mentions_indexed(expr: &Arc<dyn PhysicalExpr>, resolver: &dyn ColumnResolver) -> bool {
    if let Some(c) = expr.downcast_ref::<Column>() {
        return resolver.resolve(c).is_some();
    }
    expr.children().iter().any(|c| mentions_indexed(c, resolver))
}

/// Whether some row of `unit` may satisfy `expr`.
pub(crate) fn may_match(expr: &Arc<dyn PhysicalExpr>, unit: &Unit, resolver: &dyn ColumnResolver) -> bool {
    if let Some(lit) = expr.downcast_ref::<Literal>() {
        return !matches!(lit.value(), ScalarValue::Boolean(Some(false)) | ScalarValue::Boolean(None));
    }
    if let Some(bin) = expr.downcast_ref::<BinaryExpr>() {
        return match bin.op() {
            Operator::And => may_match(bin.left(), unit, resolver) && may_match(bin.right(), unit, resolver),
            Operator::Or => may_match(bin.left(), unit, resolver) || may_match(bin.right(), unit, resolver),
            op => comparison(bin.left(), *op, bin.right(), unit, resolver),
        };
    }
    if let Some(in_list) = expr.downcast_ref::<InListExpr>() {
        if in_list.negated() {
            return true;
        }
        let Some(summary) = column_of(in_list.expr(), unit, resolver) else { return true };
        return in_list.list().iter().any(|item| match item.downcast_ref::<Literal>() {
            Some(lit) => match scalar_key(lit.value()) {
                Some(key) => may_equal(summary, &key),
                // NULL matches nothing; an unindexable literal may match anything.
                None => !lit.value().is_null(),
            },
            None => true,
        });
    }
    if let Some(is_null) = expr.downcast_ref::<IsNullExpr>() {
        return column_of(is_null.arg(), unit, resolver).is_none_or(|s| s.nulls > 0);
    }
    if let Some(not_null) = expr.downcast_ref::<IsNotNullExpr>() {
        return column_of(not_null.arg(), unit, resolver).is_none_or(|s| s.nulls < unit.rows);
    }
    true
}

/// The summary of the indexed column `expr` is (looking through casts that
/// keep the order and equality of values), if it is one.
fn column_of<'a>(
    expr: &Arc<dyn PhysicalExpr>,
    unit: &'a Unit,
    resolver: &dyn ColumnResolver,
) -> Option<&'a ColumnSummary> {
    if let Some(c) = expr.downcast_ref::<Column>() {
        return unit.columns.get(resolver.resolve(c)?.0);
    }
    if let Some(cast) = expr.downcast_ref::<CastExpr>() {
        let c = cast.expr().downcast_ref::<Column>()?;
        let (position, from) = resolver.resolve(c)?;
        if lossless_cast(&from, cast.cast_type()) {
            return unit.columns.get(position);
        }
    }
    None
}

fn lossless_cast(from: &DataType, to: &DataType) -> bool {
    let string = |t: &DataType| matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View);
    (from.is_integer() && to.is_integer() && widening(from, to)) || (string(from) && string(to))
}

fn widening(from: &DataType, to: &DataType) -> bool {
    let width = |t: &DataType| t.primitive_width().unwrap_or(0);
    let signed = |t: &DataType| t.is_signed_integer();
    match (signed(from), signed(to)) {
        (true, true) | (false, false) => width(from) <= width(to),
        (false, true) => width(from) < width(to),
        (true, false) => false,
    }
}

fn literal_key(expr: &Arc<dyn PhysicalExpr>) -> Option<Option<Vec<u8>>> {
    let lit = expr.downcast_ref::<Literal>()?;
    Some(scalar_key(lit.value()))
}

fn comparison(
    left: &Arc<dyn PhysicalExpr>,
    op: Operator,
    right: &Arc<dyn PhysicalExpr>,
    unit: &Unit,
    resolver: &dyn ColumnResolver,
) -> bool {
    let (summary, key, op) = match (column_of(left, unit, resolver), literal_key(right)) {
        (Some(s), Some(k)) => (s, k, op),
        _ => match (literal_key(left), column_of(right, unit, resolver)) {
            (Some(k), Some(s)) => match op.swap() {
                Some(swapped) => (s, k, swapped),
                None => return true,
            },
            _ => return true,
        },
    };
    let Some(key) = key else {
        // Comparing with NULL (or an unindexable literal): NULL comparisons are never true,
        // but a literal of a type keys do not cover may be anything.
        return true;
    };
    let (Some(min), Some(max)) = (summary.min.as_deref(), summary.max.as_deref()) else {
        // No non-null value in the unit: no comparison can be true.
        return !matches!(
            op,
            Operator::Eq | Operator::NotEq | Operator::Lt | Operator::LtEq | Operator::Gt | Operator::GtEq
        );
    };
    let cmp = |a: &[u8], b: &[u8]| compare(a, b);
    match op {
        Operator::Eq => may_equal(summary, &key),
        Operator::NotEq => !(cmp(min, &key) == Some(Ordering::Equal) && cmp(max, &key) == Some(Ordering::Equal)),
        Operator::Lt => cmp(min, &key).is_none_or(|o| o == Ordering::Less),
        Operator::LtEq => cmp(min, &key).is_none_or(|o| o != Ordering::Greater),
        Operator::Gt => cmp(max, &key).is_none_or(|o| o == Ordering::Greater),
        Operator::GtEq => cmp(max, &key).is_none_or(|o| o != Ordering::Less),
        _ => true,
    }
}

/// Whether some value of the unit may equal `key`.
fn may_equal(summary: &ColumnSummary, key: &[u8]) -> bool {
    let (Some(min), Some(max)) = (summary.min.as_deref(), summary.max.as_deref()) else { return false };
    match (compare(key, min), compare(key, max)) {
        (Some(Ordering::Less), _) | (_, Some(Ordering::Greater)) => return false,
        (None, _) | (_, None) => return true,
        _ => {}
    }
    if let Some(values) = &summary.values {
        return values.contains(key);
    }
    if let Some(bloom) = &summary.bloom {
        return bloom.contains(key);
    }
    true
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use datafusion::arrow::datatypes::{Field, Schema};
    use datafusion::physical_expr::expressions::{col, in_list, is_null, lit};

    use super::*;
    use crate::index::key::scalar_key;

    struct One;

    impl ColumnResolver for One {
        fn resolve(&self, column: &Column) -> Option<(usize, DataType)> {
            (column.name() == "a").then_some((0, DataType::Int64))
        }
    }

    fn key(v: i64) -> Vec<u8> {
        scalar_key(&ScalarValue::Int64(Some(v))).unwrap()
    }

    /// A unit whose column `a` holds exactly 10, 20 and 30 (and 2 nulls of 5 rows).
    fn unit() -> Unit {
        Unit {
            row_group: None,
            range: None,
            bytes: 1,
            rows: 5,
            columns: vec![ColumnSummary {
                min: Some(key(10)),
                max: Some(key(30)),
                nulls: 2,
                bloom: None,
                values: Some([key(10), key(20), key(30)].into_iter().collect()),
            }],
        }
    }

    fn schema() -> Schema {
        Schema::new(vec![Field::new("a", DataType::Int64, true), Field::new("b", DataType::Int64, true)])
    }

    fn matches(expr: Arc<dyn PhysicalExpr>) -> bool {
        may_match(&expr, &unit(), &One)
    }

    fn cmp(column: &str, op: Operator, v: i64) -> Arc<dyn PhysicalExpr> {
        Arc::new(BinaryExpr::new(col(column, &schema()).unwrap(), op, lit(v)))
    }

    #[test]
    fn comparisons_against_zone_maps_and_values() {
        assert!(matches(cmp("a", Operator::Eq, 20)));
        assert!(!matches(cmp("a", Operator::Eq, 25)), "not among the values");
        assert!(!matches(cmp("a", Operator::Eq, 31)));
        assert!(matches(cmp("a", Operator::Lt, 11)));
        assert!(!matches(cmp("a", Operator::Lt, 10)));
        assert!(matches(cmp("a", Operator::LtEq, 10)));
        assert!(!matches(cmp("a", Operator::Gt, 30)));
        assert!(matches(cmp("a", Operator::GtEq, 30)));
        assert!(matches(cmp("a", Operator::NotEq, 10)));
        // Literal on the left.
        let flipped = Arc::new(BinaryExpr::new(lit(5i64), Operator::Gt, col("a", &schema()).unwrap()));
        assert!(!matches(flipped));
        // Unindexed columns may match anything.
        assert!(matches(cmp("b", Operator::Eq, 25)));
    }

    #[test]
    fn boolean_structure_in_lists_and_nulls() {
        let and = Arc::new(BinaryExpr::new(cmp("a", Operator::Eq, 20), Operator::And, cmp("b", Operator::Eq, 1)));
        assert!(matches(and));
        let and = Arc::new(BinaryExpr::new(cmp("a", Operator::Eq, 25), Operator::And, cmp("b", Operator::Eq, 1)));
        assert!(!matches(and));
        let or = Arc::new(BinaryExpr::new(cmp("a", Operator::Eq, 25), Operator::Or, cmp("b", Operator::Eq, 1)));
        assert!(matches(or), "the unindexed side may match");
        let list = |vs: &[i64], negated| {
            in_list(col("a", &schema()).unwrap(), vs.iter().map(|v| lit(*v)).collect(), &negated, &schema()).unwrap()
        };
        assert!(matches(list(&[1, 30], false)));
        assert!(!matches(list(&[1, 25], false)));
        assert!(matches(list(&[10, 20, 30], true)), "NOT IN is not evaluated");
        assert!(matches(is_null(col("a", &schema()).unwrap()).unwrap()));
        assert!(!matches(lit(false)));
    }
}
