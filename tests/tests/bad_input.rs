//! Bad input never crashes Tarn: each case gives an error naming the file
//! (and line or position where known) and leaves the catalog unchanged.

use std::path::Path;

use tarn::{Engine, Error};

async fn engine_with_catalog(dir: &Path) -> Engine {
    Engine::open(dir.join("catalog.db")).await.unwrap()
}

async fn run(engine: &Engine, sql: &str) -> Result<tarn::Batches, Error> {
    engine.sql(sql).await?.collect().await
}

/// The catalog's tables, to check a failed statement changed nothing.
fn tables(engine: &Engine) -> Vec<String> {
    engine.list_tables().unwrap().into_iter().map(|t| format!("{}.{}", t.def.schema, t.def.name)).collect()
}

fn write(dir: &Path, name: &str, content: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p.display().to_string()
}

/// Create a table over `path` and query it; both the CREATE (which infers the
/// schema) and a query must fail naming `path`, and the catalog must not change.
async fn assert_bad_file(engine: &Engine, path: &str, format: &str, expect: &[&str]) {
    let before = tables(engine);
    let err =
        run(engine, &format!("CREATE EXTERNAL TABLE bad STORED AS {format} LOCATION '{path}'")).await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(path), "error does not name the file: {msg}");
    for e in expect {
        assert!(msg.contains(e), "error lacks '{e}': {msg}");
    }
    assert!(err.is_user_error(), "{err:?}");
    assert_eq!(tables(engine), before, "catalog changed by a failed CREATE");
    let err = run(engine, &format!("SELECT * FROM '{path}'")).await.unwrap_err();
    assert!(err.to_string().contains(path), "query error does not name the file: {err}");
}

#[tokio::test]
async fn ragged_csv_rows() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine_with_catalog(dir.path()).await;
    let p = write(dir.path(), "ragged.csv", b"a,b\n1,2\n3,4,5\n6,7\n");
    assert_bad_file(&e, &p, "CSV", &["line 3"]).await;
}

#[tokio::test]
async fn ragged_row_beyond_inference_sample_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine_with_catalog(dir.path()).await;
    let mut body = String::from("a,b\n");
    for i in 0..5000 {
        body.push_str(&format!("{i},{i}\n"));
    }
    body.push_str("1,2,3\n");
    let p = write(dir.path(), "late.csv", body.as_bytes());
    run(&e, &format!("CREATE EXTERNAL TABLE late STORED AS CSV LOCATION '{p}'")).await.unwrap();
    let err = run(&e, "SELECT count(*) FROM late").await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(&p) && msg.contains("5002"), "{msg}");
}

#[tokio::test]
async fn value_that_does_not_parse_as_its_type() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine_with_catalog(dir.path()).await;
    let p = write(dir.path(), "typed.csv", b"id,amount\n1,10\n2,ten\n");
    run(&e, &format!("CREATE EXTERNAL TABLE typed (id INT, amount INT) STORED AS CSV LOCATION '{p}' OPTIONS ('format.has_header' 'true')"))
        .await
        .unwrap();
    let err = run(&e, "SELECT sum(amount) FROM typed").await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(&p), "{msg}");
    assert!(msg.contains("ten"), "{msg}");
    assert!(matches!(err, Error::Data { line: Some(3), .. }), "{err:?}");
}

#[tokio::test]
async fn invalid_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine_with_catalog(dir.path()).await;
    let p = write(dir.path(), "latin1.csv", b"name,n\nok,1\ncaf\xe9,2\n");
    assert_bad_file(&e, &p, "CSV", &["UTF-8", "line 3"]).await;
}

#[tokio::test]
async fn empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine_with_catalog(dir.path()).await;
    for (name, format) in [("empty.csv", "CSV"), ("empty.json", "JSON"), ("empty.parquet", "PARQUET")] {
        let p = write(dir.path(), name, b"");
        assert_bad_file(&e, &p, format, &["empty"]).await;
    }
}

#[tokio::test]
async fn truncated_and_corrupt_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine_with_catalog(dir.path()).await;
    let good = dir.path().join("good.parquet");
    run(
        &e,
        &format!(
            "COPY (SELECT * FROM (VALUES (1, 'a'), (2, 'b')) AS t(x, y)) TO '{}' STORED AS PARQUET",
            good.display()
        ),
    )
    .await
    .unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let truncated = write(dir.path(), "truncated.parquet", &bytes[..bytes.len() / 2]);
    assert_bad_file(&e, &truncated, "PARQUET", &["Parquet"]).await;
    let corrupt = write(dir.path(), "corrupt.parquet", b"PAR1 this is not parquet at all PAR1");
    assert_bad_file(&e, &corrupt, "PARQUET", &["Parquet"]).await;
}

#[tokio::test]
async fn json_file_that_is_not_json() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine_with_catalog(dir.path()).await;
    let p = write(dir.path(), "prose.json", b"this is prose, not JSON\n");
    assert_bad_file(&e, &p, "JSON", &["line 1"]).await;
    let p = write(dir.path(), "broken.json", b"{\"a\": 1}\n{\"a\": \n");
    assert_bad_file(&e, &p, "JSON", &[]).await;
}

#[tokio::test]
async fn missing_path() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine_with_catalog(dir.path()).await;
    let p = dir.path().join("nowhere/data.csv").display().to_string();
    let err = run(&e, &format!("CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '{p}'")).await.unwrap_err();
    assert!(err.to_string().contains(&p) && err.to_string().contains("No such file"), "{err}");
    let err = run(&e, &format!("SELECT * FROM '{p}'")).await.unwrap_err();
    assert!(err.to_string().contains(&p), "{err}");
    let err = run(&e, &format!("ATTACH '{}' AS lake", dir.path().join("nowhere").display())).await.unwrap_err();
    assert!(err.to_string().contains("nowhere"), "{err}");
    assert!(tables(&e).is_empty());
}

#[cfg(unix)]
#[tokio::test]
async fn file_without_read_permission() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let e = engine_with_catalog(dir.path()).await;
    let p = write(dir.path(), "secret.csv", b"a\n1\n");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&p).is_err() {
        // An ordinary user: the engine in this process cannot read it.
        let err = run(&e, &format!("CREATE EXTERNAL TABLE s STORED AS CSV LOCATION '{p}'")).await.unwrap_err();
        assert!(err.to_string().contains(&p) && err.to_string().contains("ermission denied"), "{err}");
        assert!(tables(&e).is_empty());
        return;
    }
    // Root reads everything; cli/tests/cli.rs runs the binary as `nobody` to cover this case.
    eprintln!("running as root: see cli/tests/cli.rs::unreadable_file_as_an_unprivileged_user");
}

#[tokio::test]
async fn sql_syntax_error_has_position() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine_with_catalog(dir.path()).await;
    let err = e.execute_script("SELECT 1;\nSELECT * FROM t WHERE (a = 1;").await.unwrap_err();
    match &err {
        Error::Syntax { line, column, .. } => {
            assert_eq!(*line, Some(2));
            assert!(column.is_some());
        }
        other => panic!("expected a syntax error, got {other:?}"),
    }
    assert!(err.to_string().contains("line 2, column"), "{err}");
    let err = e.sql("SELEC 1").await.unwrap_err();
    assert!(matches!(err, Error::Syntax { line: Some(1), column: Some(1), .. }), "{err:?}");
}

#[tokio::test]
async fn create_existing_and_drop_missing() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine_with_catalog(dir.path()).await;
    let p = write(dir.path(), "t.csv", b"a\n1\n");
    run(&e, &format!("CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '{p}'")).await.unwrap();
    let before = tables(&e);
    let err = run(&e, &format!("CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '{p}'")).await.unwrap_err();
    assert!(matches!(&err, Error::AlreadyExists { kind: "table", name } if name == "public.t"), "{err:?}");
    run(&e, &format!("CREATE EXTERNAL TABLE IF NOT EXISTS t STORED AS CSV LOCATION '{p}'")).await.unwrap();
    let err = run(&e, "DROP TABLE missing").await.unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
    run(&e, "DROP TABLE IF EXISTS missing").await.unwrap();
    assert_eq!(tables(&e), before);
    let err = run(&e, "DROP SCHEMA nope").await.unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
}

#[tokio::test]
async fn incompatible_file_in_a_table_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine_with_catalog(dir.path()).await;
    let folder = dir.path().join("events");
    std::fs::create_dir(&folder).unwrap();
    run(
        &e,
        &format!("COPY (SELECT 1 AS id, 'x' AS name) TO '{}' STORED AS PARQUET", folder.join("a.parquet").display()),
    )
    .await
    .unwrap();
    run(&e, &format!("COPY (SELECT 'one' AS id) TO '{}' STORED AS PARQUET", folder.join("b.parquet").display()))
        .await
        .unwrap();
    let err = run(&e, &format!("CREATE EXTERNAL TABLE ev STORED AS PARQUET LOCATION '{}/'", folder.display()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("b.parquet") && err.to_string().contains("'id'"), "{err}");
    assert!(tables(&e).is_empty());
}
