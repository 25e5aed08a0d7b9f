//! Tables over an object store: an S3 API served on loopback by moto (a
//! Python S3 emulator the test installs into a virtualenv when missing),
//! used through the real `tarn` binary with the standard `AWS_*` settings.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use object_store::aws::AmazonS3Builder;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

/// The `tarn` binary Cargo built for these tests.
fn tarn_bin() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_BIN_EXE_tarn"))
}

const MOTO: &str = "moto[server]==5.2.5";
const BUCKET: &str = "tarn-test";

/// A virtualenv with moto, under the user's cache (created on first use).
fn moto_server() -> PathBuf {
    let home = std::env::var("HOME").unwrap_or_else(|_| "/tmp".into());
    let venv = PathBuf::from(home).join(".cache/tarn/venv-moto");
    let bin = venv.join("bin/moto_server");
    if !bin.exists() {
        let ok = Command::new("python3").args(["-m", "venv"]).arg(&venv).status().map(|s| s.success());
        assert!(matches!(ok, Ok(true)), "cannot create a virtualenv at {} (python3 -m venv)", venv.display());
        let ok = Command::new(venv.join("bin/pip")).args(["install", "--quiet", MOTO]).status().map(|s| s.success());
        assert!(matches!(ok, Ok(true)), "cannot install {MOTO} into {}", venv.display());
    }
    bin
}

struct Server {
    child: Child,
    endpoint: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_moto() -> Server {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(moto_server())
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("cannot start moto_server");
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(60), "moto_server did not start on port {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
    Server { child, endpoint: format!("http://127.0.0.1:{port}") }
}

/// moto accepts unsigned requests: create the bucket with a bare PUT.
fn create_bucket(endpoint: &str) {
    let addr = endpoint.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(stream, "PUT /{BUCKET} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "bucket creation failed: {response}");
}

fn aws_env(cmd: &mut Command, endpoint: &str) {
    cmd.env("AWS_ENDPOINT", endpoint)
        .env("AWS_ALLOW_HTTP", "true")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1");
}

fn tarn(catalog: &Path, endpoint: &str, sql: &str) -> String {
    let mut cmd = Command::new(tarn_bin());
    cmd.arg(catalog).args(["--format", "csv", "-c", sql]);
    aws_env(&mut cmd, endpoint);
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_over_s3_persist_and_attach() {
    let server = start_moto();
    create_bucket(&server.endpoint);
    let store: Arc<dyn ObjectStore> = Arc::new(
        AmazonS3Builder::new()
            .with_bucket_name(BUCKET)
            .with_endpoint(&server.endpoint)
            .with_allow_http(true)
            .with_access_key_id("test")
            .with_secret_access_key("test")
            .with_region("us-east-1")
            .build()
            .unwrap(),
    );
    // A Parquet file written by Tarn locally, two CSV files.
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("part-0.parquet");
    let catalog = dir.path().join("catalog.db");
    tarn(
        Path::new(":memory:"),
        &server.endpoint,
        &format!(
            "COPY (SELECT i AS id, i * 10 AS amount FROM generate_series(1, 100) AS t(i)) TO '{}' STORED AS PARQUET",
            local.display()
        ),
    );
    let parquet = std::fs::read(&local).unwrap();
    store.put(&StorePath::from("lake/sales/part-0.parquet"), PutPayload::from(parquet)).await.unwrap();
    store
        .put(&StorePath::from("lake/cities.csv"), PutPayload::from("city,pop\nParis,2102650\nRome,2746984\n"))
        .await
        .unwrap();

    tarn(
        &catalog,
        &server.endpoint,
        &format!("CREATE EXTERNAL TABLE sales STORED AS PARQUET LOCATION 's3://{BUCKET}/lake/sales/'"),
    );
    // A new process reads the table (the store is set up again from the catalog).
    assert_eq!(
        tarn(&catalog, &server.endpoint, "SELECT count(*) AS n, sum(amount) AS s FROM sales"),
        "n,s\n100,50500\n"
    );
    let files = tarn(&catalog, &server.endpoint, "SELECT path, row_count, etag IS NOT NULL AS etag FROM tarn.files");
    assert_eq!(files, format!("path,row_count,etag\ns3://{BUCKET}/lake/sales/part-0.parquet,100,true\n"));

    tarn(&catalog, &server.endpoint, &format!("ATTACH 's3://{BUCKET}/lake/' AS cloud"));
    let tables = tarn(
        &catalog,
        &server.endpoint,
        "SELECT table_name, format FROM tarn.tables WHERE schema_name = 'cloud' ORDER BY 1",
    );
    assert_eq!(tables, "table_name,format\ncities,CSV\nsales,PARQUET\n");
    assert_eq!(tarn(&catalog, &server.endpoint, "SELECT max(pop) AS m FROM cloud.cities"), "m\n2746984\n");
    assert_eq!(
        tarn(
            Path::new(":memory:"),
            &server.endpoint,
            &format!("SELECT city FROM 's3://{BUCKET}/lake/cities.csv' ORDER BY pop LIMIT 1")
        ),
        "city\nParis\n"
    );

    // A file added to the bucket is read by the next query.
    store
        .put(&StorePath::from("lake/sales/part-1.parquet"), PutPayload::from(std::fs::read(&local).unwrap()))
        .await
        .unwrap();
    assert_eq!(tarn(&catalog, &server.endpoint, "SELECT count(*) AS n FROM sales"), "n\n200\n");
}
