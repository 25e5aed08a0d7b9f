//! The 22 TPC-H queries, embedded from `engine/tpch/queries/` (the validation
//! parameters of the specification; see `tests/data/tpch/README.md`).
//!
//! The same files drive the correctness test against DuckDB's answers
//! (`tests/tests/tpch.rs`), the built-in suite of `tarn bench --suite tpch`
//! and the comparison runner in `benches/`. Their tables are those of a lake
//! written by [`crate::demo::generate_tpch_lake`], in the default schema.

/// One TPC-H query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TpchQuery {
    /// Its name: `q1` … `q22`.
    pub name: &'static str,
    /// Its SQL text: one statement ending with `;`, `--` comments at the top.
    pub sql: &'static str,
}

/// The 22 TPC-H queries, in order (`QUERIES[0]` is Q1).
pub const QUERIES: [TpchQuery; 22] = [
    TpchQuery { name: "q1", sql: include_str!("../tpch/queries/q1.sql") },
    TpchQuery { name: "q2", sql: include_str!("../tpch/queries/q2.sql") },
    TpchQuery { name: "q3", sql: include_str!("../tpch/queries/q3.sql") },
    TpchQuery { name: "q4", sql: include_str!("../tpch/queries/q4.sql") },
    TpchQuery { name: "q5", sql: include_str!("../tpch/queries/q5.sql") },
    TpchQuery { name: "q6", sql: include_str!("../tpch/queries/q6.sql") },
    TpchQuery { name: "q7", sql: include_str!("../tpch/queries/q7.sql") },
    TpchQuery { name: "q8", sql: include_str!("../tpch/queries/q8.sql") },
    TpchQuery { name: "q9", sql: include_str!("../tpch/queries/q9.sql") },
    TpchQuery { name: "q10", sql: include_str!("../tpch/queries/q10.sql") },
    TpchQuery { name: "q11", sql: include_str!("../tpch/queries/q11.sql") },
    TpchQuery { name: "q12", sql: include_str!("../tpch/queries/q12.sql") },
    TpchQuery { name: "q13", sql: include_str!("../tpch/queries/q13.sql") },
    TpchQuery { name: "q14", sql: include_str!("../tpch/queries/q14.sql") },
    TpchQuery { name: "q15", sql: include_str!("../tpch/queries/q15.sql") },
    TpchQuery { name: "q16", sql: include_str!("../tpch/queries/q16.sql") },
    TpchQuery { name: "q17", sql: include_str!("../tpch/queries/q17.sql") },
    TpchQuery { name: "q18", sql: include_str!("../tpch/queries/q18.sql") },
    TpchQuery { name: "q19", sql: include_str!("../tpch/queries/q19.sql") },
    TpchQuery { name: "q20", sql: include_str!("../tpch/queries/q20.sql") },
    TpchQuery { name: "q21", sql: include_str!("../tpch/queries/q21.sql") },
    TpchQuery { name: "q22", sql: include_str!("../tpch/queries/q22.sql") },
];

/// The query called `name` (`q1` … `q22`, or `Q1`, `1`), if there is one.
pub fn query(name: &str) -> Option<&'static TpchQuery> {
    let name = name.trim().to_ascii_lowercase();
    let name = name.strip_prefix('q').unwrap_or(&name);
    QUERIES.iter().find(|q| &q.name[1..] == name)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn twenty_two_queries_in_order() {
        for (i, q) in QUERIES.iter().enumerate() {
            assert_eq!(q.name, format!("q{}", i + 1));
            assert!(q.sql.contains("select"), "{}", q.name);
            assert!(q.sql.trim_end().ends_with(';'), "{}", q.name);
        }
        assert_eq!(query("Q15").unwrap().name, "q15");
        assert_eq!(query("7").unwrap().name, "q7");
        assert!(query("q23").is_none());
    }
}
