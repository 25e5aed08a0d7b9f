//! Index sidecar files: the per-unit summaries of one index, written once
//! (to a temporary name, then renamed) and never modified; a rebuild writes a
//! new sidecar and the catalog row is pointed at it in the same transaction
//! that records the covered files.
//!
//! The format is an Arrow IPC file (version [`FORMAT_VERSION`] in the schema
//! metadata `tarn.index.format_version`), one row per *unit* (a whole file, a
//! Parquet row group or a byte block of a CSV/NDJSON file):
//!
//! | column            | type          | meaning                                   |
//! |-------------------|---------------|-------------------------------------------|
//! | `path`            | Utf8          | the file, as in the table's manifest      |
//! | `row_group`       | UInt32?       | Parquet row group                         |
//! | `range_start/end` | UInt64?       | byte block: rows whose line starts inside |
//! | `bytes`           | UInt64        | bytes the unit spans (for skip accounting)|
//! | `rows`            | UInt64        | rows in the unit                          |
//! | `c{i}.min/max`    | Binary?       | min/max key of column i ([`super::key`])  |
//! | `c{i}.nulls`      | UInt64        | nulls of column i                         |
//! | `c{i}.bloom`      | Binary?       | bloom kind: the filter's 64-bit words, LE |
//! | `c{i}.hashes`     | UInt32?       | bloom kind: its number of hash functions  |
//! | `c{i}.values`     | `List<Binary>`? | values kind: the distinct keys, or null   |
//!
//! Rows of one file are contiguous and in unit order.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryBuilder, ListBuilder, RecordBatch, StringBuilder, UInt32Builder, UInt64Builder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, UInt32Type, UInt64Type};
use datafusion::arrow::ipc::reader::FileReader;
use datafusion::arrow::ipc::writer::FileWriter;
use fastbloom::BloomFilter;

use super::IndexKind;
use crate::error::{Error, Result};

/// Version of the sidecar format this build writes and reads.
pub(crate) const FORMAT_VERSION: i64 = 1;

/// Seed of every bloom filter's hasher: filters must hash alike in every process.
pub(crate) const BLOOM_SEED: u128 = 0x7461_726e_5f69_6e64_6578_5f62_6c6f_6f6d;

const VERSION_KEY: &str = "tarn.index.format_version";
const KIND_KEY: &str = "tarn.index.kind";
const COLUMNS_KEY: &str = "tarn.index.columns";

/// Summary of one column over one unit.
#[derive(Debug, Clone)]
pub(crate) struct ColumnSummary {
    /// Smallest key, None when the unit has no non-null value.
    pub min: Option<Vec<u8>>,
    /// Largest key.
    pub max: Option<Vec<u8>>,
    /// Number of nulls.
    pub nulls: u64,
    /// Bloom filter of the keys (bloom kind).
    pub bloom: Option<BloomFilter>,
    /// Every distinct key (values kind), None when there were too many.
    pub values: Option<HashSet<Vec<u8>>>,
}

/// One indexed unit of a file.
#[derive(Debug, Clone)]
pub(crate) struct Unit {
    /// Parquet row group number.
    pub row_group: Option<u32>,
    /// Byte block `[start, end)`: the rows whose line starts in it.
    pub range: Option<(u64, u64)>,
    /// Bytes the unit spans.
    pub bytes: u64,
    /// Rows in the unit.
    pub rows: u64,
    /// One summary per indexed column, in index column order.
    pub columns: Vec<ColumnSummary>,
}

/// Sidecar location and naming within an index directory.
pub(crate) fn sidecar_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

fn schema(kind: IndexKind, columns: &[String]) -> SchemaRef {
    let mut fields = vec![
        Field::new("path", DataType::Utf8, false),
        Field::new("row_group", DataType::UInt32, true),
        Field::new("range_start", DataType::UInt64, true),
        Field::new("range_end", DataType::UInt64, true),
        Field::new("bytes", DataType::UInt64, false),
        Field::new("rows", DataType::UInt64, false),
    ];
    for i in 0..columns.len() {
        fields.push(Field::new(format!("c{i}.min"), DataType::Binary, true));
        fields.push(Field::new(format!("c{i}.max"), DataType::Binary, true));
        fields.push(Field::new(format!("c{i}.nulls"), DataType::UInt64, false));
        match kind {
            IndexKind::Bloom => {
                fields.push(Field::new(format!("c{i}.bloom"), DataType::Binary, true));
                fields.push(Field::new(format!("c{i}.hashes"), DataType::UInt32, true));
            }
            IndexKind::Values => {
                let item = Arc::new(Field::new("item", DataType::Binary, true));
                fields.push(Field::new(format!("c{i}.values"), DataType::List(item), true));
            }
            IndexKind::MinMax => {}
        }
    }
    let metadata = HashMap::from([
        (VERSION_KEY.to_string(), FORMAT_VERSION.to_string()),
        (KIND_KEY.to_string(), kind.as_str().to_string()),
        (COLUMNS_KEY.to_string(), serde_json::to_string(columns).unwrap_or_default()),
    ]);
    Arc::new(Schema::new_with_metadata(fields, metadata))
}

/// Writes one sidecar, file by file (memory holds one file's units at a time).
pub(crate) struct SidecarWriter {
    kind: IndexKind,
    columns: usize,
    schema: SchemaRef,
    writer: Option<FileWriter<BufWriter<File>>>,
    temp: PathBuf,
    dir: PathBuf,
    name: String,
}

impl SidecarWriter {
    /// Start a new sidecar for index `index_id` in `dir`.
    pub(crate) fn create(dir: &Path, index_id: i64, kind: IndexKind, columns: &[String]) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let name = format!("{index_id}-{nanos:x}-{}.tidx", std::process::id());
        let temp = dir.join(format!(".tmp-{name}"));
        let file = File::create(&temp).map_err(|e| io_err(&temp, e))?;
        let schema = schema(kind, columns);
        let writer = FileWriter::try_new(BufWriter::new(file), &schema)?;
        Ok(Self { kind, columns: columns.len(), schema, writer: Some(writer), temp, dir: dir.to_path_buf(), name })
    }

    /// Append the units of one file.
    pub(crate) fn write_file(&mut self, path: &str, units: &[Unit]) -> Result<()> {
        if units.is_empty() {
            return Ok(());
        }
        let mut paths = StringBuilder::new();
        let mut row_groups = UInt32Builder::new();
        let mut starts = UInt64Builder::new();
        let mut ends = UInt64Builder::new();
        let mut bytes = UInt64Builder::new();
        let mut rows = UInt64Builder::new();
        for u in units {
            paths.append_value(path);
            row_groups.append_option(u.row_group);
            starts.append_option(u.range.map(|r| r.0));
            ends.append_option(u.range.map(|r| r.1));
            bytes.append_value(u.bytes);
            rows.append_value(u.rows);
        }
        let mut arrays: Vec<ArrayRef> = vec![
            Arc::new(paths.finish()),
            Arc::new(row_groups.finish()),
            Arc::new(starts.finish()),
            Arc::new(ends.finish()),
            Arc::new(bytes.finish()),
            Arc::new(rows.finish()),
        ];
        for c in 0..self.columns {
            let mut mins = BinaryBuilder::new();
            let mut maxs = BinaryBuilder::new();
            let mut nulls = UInt64Builder::new();
            let mut blooms = BinaryBuilder::new();
            let mut hashes = UInt32Builder::new();
            let mut values = ListBuilder::new(BinaryBuilder::new());
            for u in units {
                let s = u.columns.get(c).ok_or_else(|| Error::internal("index unit lacks a column summary"))?;
                mins.append_option(s.min.as_deref());
                maxs.append_option(s.max.as_deref());
                nulls.append_value(s.nulls);
                match &s.bloom {
                    Some(b) => {
                        let words: Vec<u8> = b.as_slice().iter().flat_map(|w| w.to_le_bytes()).collect();
                        blooms.append_value(words);
                        hashes.append_value(b.num_hashes());
                    }
                    None => {
                        blooms.append_null();
                        hashes.append_null();
                    }
                }
                match &s.values {
                    Some(set) => {
                        let mut sorted: Vec<&Vec<u8>> = set.iter().collect();
                        sorted.sort();
                        for v in sorted {
                            values.values().append_value(v);
                        }
                        values.append(true);
                    }
                    None => values.append(false),
                }
            }
            arrays.push(Arc::new(mins.finish()));
            arrays.push(Arc::new(maxs.finish()));
            arrays.push(Arc::new(nulls.finish()));
            match self.kind {
                IndexKind::Bloom => {
                    arrays.push(Arc::new(blooms.finish()));
                    arrays.push(Arc::new(hashes.finish()));
                }
                IndexKind::Values => arrays.push(Arc::new(values.finish())),
                IndexKind::MinMax => {}
            }
        }
        let batch = RecordBatch::try_new(self.schema.clone(), arrays)?;
        self.writer.as_mut().ok_or_else(|| Error::internal("sidecar already finished"))?.write(&batch)?;
        Ok(())
    }

    /// Finish the file, sync it and give it its final name; returns (name, size in bytes).
    pub(crate) fn finish(mut self) -> Result<(String, u64)> {
        let mut writer = self.writer.take().ok_or_else(|| Error::internal("sidecar already finished"))?;
        writer.finish()?;
        let file = writer.into_inner()?.into_inner().map_err(|e| io_err(&self.temp, e.into_error()))?;
        file.sync_all().map_err(|e| io_err(&self.temp, e))?;
        let size = file.metadata().map_err(|e| io_err(&self.temp, e))?.len();
        let target = self.dir.join(&self.name);
        std::fs::rename(&self.temp, &target).map_err(|e| io_err(&target, e))?;
        Ok((self.name.clone(), size))
    }
}

impl Drop for SidecarWriter {
    fn drop(&mut self) {
        // An abandoned build leaves no temporary file behind (after `finish` it is gone already).
        let _ = std::fs::remove_file(&self.temp);
    }
}

fn io_err(path: &Path, source: std::io::Error) -> Error {
    Error::Io { path: path.display().to_string(), source }
}

fn corrupt(path: &Path, what: &str) -> Error {
    Error::Data {
        path: Some(path.display().to_string()),
        line: None,
        message: format!("index sidecar is unreadable ({what}); run REINDEX"),
    }
}

/// Read a whole sidecar: units by file path, in unit order.
pub(crate) fn read_sidecar(path: &Path, columns: usize) -> Result<HashMap<String, Vec<Unit>>> {
    let file = File::open(path).map_err(|e| io_err(path, e))?;
    let reader = FileReader::try_new(BufReader::new(file), None).map_err(|_| corrupt(path, "not an Arrow IPC file"))?;
    let schema = reader.schema();
    let version = schema.metadata().get(VERSION_KEY).and_then(|v| v.parse::<i64>().ok());
    if version != Some(FORMAT_VERSION) {
        return Err(corrupt(path, &format!("format version {version:?}, this Tarn reads {FORMAT_VERSION}")));
    }
    let kind = schema
        .metadata()
        .get(KIND_KEY)
        .and_then(|k| IndexKind::parse(k))
        .ok_or_else(|| corrupt(path, "unknown kind"))?;
    let mut out: HashMap<String, Vec<Unit>> = HashMap::new();
    for batch in reader {
        let batch = batch.map_err(|_| corrupt(path, "truncated"))?;
        let col = |name: &str| batch.column_by_name(name).cloned().ok_or_else(|| corrupt(path, "missing column"));
        let paths = col("path")?;
        let paths = paths.as_string_opt::<i32>().ok_or_else(|| corrupt(path, "path column"))?;
        let row_groups = col("row_group")?;
        let row_groups = row_groups.as_primitive_opt::<UInt32Type>().ok_or_else(|| corrupt(path, "row_group"))?;
        let starts = col("range_start")?;
        let starts = starts.as_primitive_opt::<UInt64Type>().ok_or_else(|| corrupt(path, "range_start"))?;
        let ends = col("range_end")?;
        let ends = ends.as_primitive_opt::<UInt64Type>().ok_or_else(|| corrupt(path, "range_end"))?;
        let bytes = col("bytes")?;
        let bytes = bytes.as_primitive_opt::<UInt64Type>().ok_or_else(|| corrupt(path, "bytes"))?;
        let rows = col("rows")?;
        let rows = rows.as_primitive_opt::<UInt64Type>().ok_or_else(|| corrupt(path, "rows"))?;
        let mut per_column = Vec::with_capacity(columns);
        for c in 0..columns {
            per_column.push((
                col(&format!("c{c}.min"))?,
                col(&format!("c{c}.max"))?,
                col(&format!("c{c}.nulls"))?,
                match kind {
                    IndexKind::Bloom => Some((col(&format!("c{c}.bloom"))?, col(&format!("c{c}.hashes"))?)),
                    _ => None,
                },
                match kind {
                    IndexKind::Values => Some(col(&format!("c{c}.values"))?),
                    _ => None,
                },
            ));
        }
        for row in 0..batch.num_rows() {
            let mut summaries = Vec::with_capacity(columns);
            for (mins, maxs, nulls, bloom, values) in &per_column {
                let binary = |a: &ArrayRef| -> Result<Option<Vec<u8>>> {
                    let a = a.as_binary_opt::<i32>().ok_or_else(|| corrupt(path, "min/max"))?;
                    Ok(a.is_valid(row).then(|| a.value(row).to_vec()))
                };
                let nulls = nulls.as_primitive_opt::<UInt64Type>().ok_or_else(|| corrupt(path, "nulls"))?;
                let bloom = match bloom {
                    Some((words, hashes)) => {
                        let words = words.as_binary_opt::<i32>().ok_or_else(|| corrupt(path, "bloom"))?;
                        let hashes = hashes.as_primitive_opt::<UInt32Type>().ok_or_else(|| corrupt(path, "hashes"))?;
                        if words.is_valid(row) && hashes.is_valid(row) {
                            let raw = words.value(row);
                            let k = hashes.value(row);
                            if raw.is_empty() || raw.len() % 8 != 0 || k == 0 {
                                return Err(corrupt(path, "bloom filter size"));
                            }
                            let bits: Vec<u64> = raw
                                .chunks_exact(8)
                                .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                                .collect();
                            Some(BloomFilter::from_vec(bits).seed(&BLOOM_SEED).hashes(k))
                        } else {
                            None
                        }
                    }
                    None => None,
                };
                let values = match values {
                    Some(list) => {
                        let list = list.as_list_opt::<i32>().ok_or_else(|| corrupt(path, "values"))?;
                        if list.is_valid(row) {
                            let items = list.value(row);
                            let items = items.as_binary_opt::<i32>().ok_or_else(|| corrupt(path, "values"))?;
                            Some(items.iter().flatten().map(|v| v.to_vec()).collect())
                        } else {
                            None
                        }
                    }
                    None => None,
                };
                summaries.push(ColumnSummary {
                    min: binary(mins)?,
                    max: binary(maxs)?,
                    nulls: nulls.value(row),
                    bloom,
                    values,
                });
            }
            out.entry(paths.value(row).to_string()).or_default().push(Unit {
                row_group: row_groups.is_valid(row).then(|| row_groups.value(row)),
                range: (starts.is_valid(row) && ends.is_valid(row)).then(|| (starts.value(row), ends.value(row))),
                bytes: bytes.value(row),
                rows: rows.value(row),
                columns: summaries,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn summary(min: i64, max: i64, kind: IndexKind) -> ColumnSummary {
        let key = |v: i64| crate::index::key::scalar_key(&datafusion::common::ScalarValue::Int64(Some(v))).unwrap();
        let mut bloom = None;
        let mut values = None;
        match kind {
            IndexKind::Bloom => {
                let mut b = BloomFilter::with_false_pos(0.01).seed(&BLOOM_SEED).expected_items(2);
                b.insert(key(min).as_slice());
                b.insert(key(max).as_slice());
                bloom = Some(b);
            }
            IndexKind::Values => values = Some([key(min), key(max)].into_iter().collect()),
            IndexKind::MinMax => {}
        }
        ColumnSummary { min: Some(key(min)), max: Some(key(max)), nulls: 1, bloom, values }
    }

    #[test]
    fn round_trip_every_kind() {
        let dir = tempfile::tempdir().unwrap();
        for kind in [IndexKind::MinMax, IndexKind::Bloom, IndexKind::Values] {
            let columns = vec!["a".to_string(), "b".to_string()];
            let mut writer = SidecarWriter::create(dir.path(), 7, kind, &columns).unwrap();
            let units = vec![
                Unit {
                    row_group: None,
                    range: Some((0, 100)),
                    bytes: 100,
                    rows: 10,
                    columns: vec![summary(1, 5, kind), summary(-3, 3, kind)],
                },
                Unit {
                    row_group: None,
                    range: Some((100, 150)),
                    bytes: 50,
                    rows: 4,
                    columns: vec![
                        ColumnSummary { min: None, max: None, nulls: 4, bloom: None, values: None },
                        summary(9, 9, kind),
                    ],
                },
            ];
            writer.write_file("/lake/a.csv", &units).unwrap();
            writer.write_file("/lake/b.csv", &units[..1]).unwrap();
            let (name, size) = writer.finish().unwrap();
            assert!(size > 0);
            assert!(!dir.path().join(format!(".tmp-{name}")).exists());
            let read = read_sidecar(&dir.path().join(&name), 2).unwrap();
            assert_eq!(read.len(), 2);
            let a = &read["/lake/a.csv"];
            assert_eq!(a.len(), 2);
            assert_eq!((a[1].range, a[1].bytes, a[1].rows), (Some((100, 150)), 50, 4));
            assert_eq!(a[0].columns[1].min, units[0].columns[1].min);
            assert_eq!(a[1].columns[0].min, None);
            assert_eq!(a[1].columns[0].nulls, 4);
            let probe = crate::index::key::scalar_key(&datafusion::common::ScalarValue::Int64(Some(5))).unwrap();
            match kind {
                IndexKind::Bloom => assert!(a[0].columns[0].bloom.as_ref().unwrap().contains(probe.as_slice())),
                IndexKind::Values => assert!(a[0].columns[0].values.as_ref().unwrap().contains(&probe)),
                IndexKind::MinMax => assert!(a[0].columns[0].bloom.is_none() && a[0].columns[0].values.is_none()),
            }
        }
    }

    #[test]
    fn unreadable_sidecars_are_reported_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.tidx");
        std::fs::write(&path, b"not arrow").unwrap();
        let err = read_sidecar(&path, 1).unwrap_err();
        assert!(err.to_string().contains("REINDEX"), "{err}");
    }
}
