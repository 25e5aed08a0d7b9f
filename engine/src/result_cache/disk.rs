//! The result cache's on-disk tier (`tarn.cache.disk`): entries written as
//! Arrow IPC files to `<catalog file>.cache/`, so a new process over
//! unchanged files is served without reading them.
//!
//! A file is named `<plan hash>-<key hash>.arrow` and holds the entry's full
//! key text (plan, settings, table definitions and every file's path, size,
//! last-modified and etag) in its schema metadata; a load compares that text
//! with the key wanted, so neither a hash collision nor a changed file can
//! serve a wrong answer. A miss deletes the files of the same plan over other
//! files (they can never match again). Files are written to a temporary name
//! and renamed, so a reader never sees half a file; an unreadable or corrupt
//! file is deleted and counts as a miss. After each write the directory is
//! kept within `tarn.cache.disk_limit` bytes by deleting the least recently
//! used files (a load refreshes a file's modification time), and temporary
//! files left by a crashed writer are swept.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::arrow::ipc::reader::FileReader;
use datafusion::arrow::ipc::writer::FileWriter;

use super::EntryKind;

/// Version of the file format this build writes and reads.
const FORMAT_VERSION: &str = "1";
const VERSION_KEY: &str = "tarn.cache.format_version";
const KEY_KEY: &str = "tarn.cache.key";
const KIND_KEY: &str = "tarn.cache.kind";
const PARTITIONS_KEY: &str = "tarn.cache.partitions";
const EXTENSION: &str = "arrow";
const TEMP_PREFIX: &str = ".tmp-";
/// A temporary file older than this was left by a writer that died.
const ORPHAN_AGE: Duration = Duration::from_secs(600);

/// An entry as read back from disk.
#[derive(Debug)]
pub(crate) struct DiskEntry {
    pub kind: EntryKind,
    pub schema: SchemaRef,
    pub partitions: Vec<Vec<RecordBatch>>,
    pub bytes: usize,
}

/// The directory of the on-disk tier (none for an in-memory catalog).
#[derive(Debug, Clone)]
pub(crate) struct DiskTier {
    dir: Option<PathBuf>,
}

fn hash_of(text: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    text.hash(&mut hasher);
    hasher.finish()
}

impl DiskTier {
    /// The tier of a catalog at `catalog` (`None`: in memory, no tier).
    pub(crate) fn new(catalog: Option<&Path>) -> Self {
        let dir = catalog.map(|path| {
            let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
            name.push(".cache");
            path.with_file_name(name)
        });
        Self { dir }
    }

    /// The directory, if this catalog has one.
    #[cfg(test)]
    pub(crate) fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    fn prefix(plan: &str) -> String {
        format!("{:016x}-", hash_of(plan))
    }

    fn path(&self, plan: &str, text: &str) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        Some(dir.join(format!("{}{:016x}.{EXTENSION}", Self::prefix(plan), hash_of(text))))
    }

    /// The entry stored under `text` (the full key text of a key whose plan
    /// text is `plan`), if a file holds exactly that key. Files of the same
    /// plan over other files are deleted; a corrupt file is deleted.
    pub(crate) fn load(&self, plan: &str, text: &str) -> Option<DiskEntry> {
        let path = self.path(plan, text)?;
        let entry = read_entry(&path, text).ok();
        if entry.is_none() {
            self.drop_plan(plan);
            return None;
        }
        // Mark it recently used, for the bound's LRU order.
        if let Ok(file) = File::options().append(true).open(&path) {
            let _ = file.set_modified(SystemTime::now());
        }
        entry
    }

    /// Delete every file of `plan` (its files changed, or it is unreadable).
    fn drop_plan(&self, plan: &str) {
        let Some(dir) = &self.dir else { return };
        let prefix = Self::prefix(plan);
        let Ok(listing) = std::fs::read_dir(dir) else { return };
        for entry in listing.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    /// Write an entry (temporary name, then rename), then keep the directory
    /// within `limit` bytes. Failures only mean the entry is not on disk.
    pub(crate) fn write(
        &self,
        plan: &str,
        text: &str,
        kind: EntryKind,
        schema: &SchemaRef,
        partitions: &[Vec<RecordBatch>],
        limit: u64,
    ) {
        let (Some(dir), Some(path)) = (&self.dir, self.path(plan, text)) else { return };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else { return };
        let temp = dir.join(format!("{TEMP_PREFIX}{}-{name}", std::process::id()));
        let written = write_entry(&temp, text, kind, schema, partitions);
        if written.is_err() || std::fs::rename(&temp, &path).is_err() {
            let _ = std::fs::remove_file(&temp);
            return;
        }
        self.sweep(limit);
    }

    /// Delete orphaned temporary files and the least recently used entries
    /// beyond `limit` bytes.
    pub(crate) fn sweep(&self, limit: u64) {
        let Some(dir) = &self.dir else { return };
        let Ok(listing) = std::fs::read_dir(dir) else { return };
        let now = SystemTime::now();
        let mut files = Vec::new();
        for entry in listing.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(meta) = entry.metadata() else { continue };
            let modified = meta.modified().unwrap_or(now);
            if name.starts_with(TEMP_PREFIX) {
                if now.duration_since(modified).unwrap_or_default() > ORPHAN_AGE {
                    let _ = std::fs::remove_file(entry.path());
                }
            } else if name.ends_with(&format!(".{EXTENSION}")) {
                files.push((modified, meta.len(), entry.path()));
            }
        }
        files.sort();
        let mut total: u64 = files.iter().map(|f| f.1).sum();
        for (_, len, path) in files {
            if total <= limit {
                break;
            }
            if std::fs::remove_file(&path).is_ok() {
                total = total.saturating_sub(len);
            }
        }
    }

    /// Bytes and number of entry files on disk.
    pub(crate) fn usage(&self) -> (u64, u64) {
        let Some(dir) = &self.dir else { return (0, 0) };
        let Ok(listing) = std::fs::read_dir(dir) else { return (0, 0) };
        listing
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(&format!(".{EXTENSION}")))
            .filter_map(|e| e.metadata().ok())
            .fold((0, 0), |(bytes, n), m| (bytes + m.len(), n + 1))
    }

    /// Delete every entry file.
    pub(crate) fn clear(&self) {
        let Some(dir) = &self.dir else { return };
        let Ok(listing) = std::fs::read_dir(dir) else { return };
        for entry in listing.flatten() {
            if entry.file_name().to_string_lossy().ends_with(&format!(".{EXTENSION}")) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// The file is gone or is not an entry of this build: treat it as a miss.
struct Missing;

fn read_entry(path: &Path, text: &str) -> Result<DiskEntry, Missing> {
    let file = File::open(path).map_err(|_| Missing)?;
    let reader = FileReader::try_new(BufReader::new(file), None).map_err(|_| Missing)?;
    let schema = reader.schema();
    let meta = schema.metadata();
    if meta.get(VERSION_KEY).map(String::as_str) != Some(FORMAT_VERSION)
        || meta.get(KEY_KEY).map(String::as_str) != Some(text)
    {
        return Err(Missing);
    }
    let kind = match meta.get(KIND_KEY).map(String::as_str) {
        Some("query") => EntryKind::Query,
        Some("subplan") => EntryKind::SubPlan,
        _ => return Err(Missing),
    };
    let counts: Vec<usize> = match meta.get(PARTITIONS_KEY) {
        Some(list) if list.is_empty() => Vec::new(),
        Some(list) => list.split(',').map(|n| n.parse().map_err(|_| Missing)).collect::<Result<_, _>>()?,
        None => return Err(Missing),
    };
    let mut batches = Vec::new();
    for batch in reader {
        batches.push(batch.map_err(|_| Missing)?);
    }
    if counts.iter().sum::<usize>() != batches.len() {
        return Err(Missing);
    }
    let bytes = batches.iter().map(super::batch_bytes).sum();
    let mut batches = batches.into_iter();
    let partitions = counts.iter().map(|n| batches.by_ref().take(*n).collect()).collect();
    // Served under the schema without the file's own metadata.
    let plain = Arc::new(Schema::new(schema.fields().clone()));
    let partitions = rebind(partitions, &plain).map_err(|_| Missing)?;
    Ok(DiskEntry { kind, schema: plain, partitions, bytes })
}

fn rebind(partitions: Vec<Vec<RecordBatch>>, schema: &SchemaRef) -> datafusion::error::Result<Vec<Vec<RecordBatch>>> {
    partitions
        .into_iter()
        .map(|part| {
            part.into_iter()
                .map(|b| RecordBatch::try_new(schema.clone(), b.columns().to_vec()).map_err(Into::into))
                .collect()
        })
        .collect()
}

fn write_entry(
    path: &Path,
    text: &str,
    kind: EntryKind,
    schema: &SchemaRef,
    partitions: &[Vec<RecordBatch>],
) -> datafusion::error::Result<()> {
    let counts: Vec<String> = partitions.iter().map(|p| p.len().to_string()).collect();
    let meta = HashMap::from([
        (VERSION_KEY.to_string(), FORMAT_VERSION.to_string()),
        (KEY_KEY.to_string(), text.to_string()),
        (KIND_KEY.to_string(), kind.name().to_string()),
        (PARTITIONS_KEY.to_string(), counts.join(",")),
    ]);
    let file_schema = Arc::new(Schema::new_with_metadata(schema.fields().clone(), meta));
    let file = File::create(path)?;
    let mut writer = FileWriter::try_new(BufWriter::new(file), &file_schema)?;
    for batch in partitions.iter().flatten() {
        writer.write(&RecordBatch::try_new(file_schema.clone(), batch.columns().to_vec())?)?;
    }
    writer.finish()?;
    let file = writer.into_inner()?.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::{DataType, Field};

    use super::*;

    fn entry() -> (SchemaRef, Vec<Vec<RecordBatch>>) {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        let b = |r: std::ops::Range<i64>| {
            RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from_iter_values(r))]).unwrap()
        };
        (schema.clone(), vec![vec![b(0..3), b(3..5)], vec![], vec![b(5..6)]])
    }

    #[test]
    fn round_trips_partitions_and_refuses_other_keys_and_corrupt_files() {
        let dir = tempfile::tempdir().unwrap();
        let tier = DiskTier::new(Some(&dir.path().join("lake.db")));
        let (schema, parts) = entry();
        tier.write("plan", "plan+files", EntryKind::SubPlan, &schema, &parts, 1 << 20);
        let back = tier.load("plan", "plan+files").unwrap();
        assert_eq!(back.kind, EntryKind::SubPlan);
        assert_eq!(back.partitions.iter().map(Vec::len).collect::<Vec<_>>(), vec![2, 0, 1]);
        assert_eq!(back.partitions, parts);
        // The same plan over other files: a miss that deletes the old file.
        assert!(tier.load("plan", "plan+other files").is_none());
        assert_eq!(tier.usage(), (0, 0));
        // A corrupt file is a miss, and is deleted.
        tier.write("plan", "plan+files", EntryKind::Query, &schema, &parts, 1 << 20);
        let path = tier.path("plan", "plan+files").unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.truncate(bytes.len() / 2);
        std::fs::write(&path, bytes).unwrap();
        assert!(tier.load("plan", "plan+files").is_none());
        assert!(!path.exists());
    }

    #[test]
    fn stays_within_its_bound_and_sweeps_orphans() {
        let dir = tempfile::tempdir().unwrap();
        let tier = DiskTier::new(Some(&dir.path().join("lake.db")));
        let (schema, parts) = entry();
        tier.write("p1", "p1 key", EntryKind::Query, &schema, &parts, 1 << 20);
        let one = tier.usage().0;
        let orphan = tier.dir().unwrap().join(".tmp-1-x.arrow");
        std::fs::write(&orphan, b"half").unwrap();
        File::options().append(true).open(&orphan).unwrap().set_modified(SystemTime::now() - ORPHAN_AGE * 2).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        tier.write("p2", "p2 key", EntryKind::Query, &schema, &parts, one * 2);
        assert_eq!(tier.usage().1, 2);
        assert!(!orphan.exists());
        std::thread::sleep(Duration::from_millis(20));
        // p1 is used again: p2 is now the least recently used.
        assert!(tier.load("p1", "p1 key").is_some());
        std::thread::sleep(Duration::from_millis(20));
        tier.write("p3", "p3 key", EntryKind::Query, &schema, &parts, one * 2);
        assert!(tier.usage().0 <= one * 2);
        assert!(tier.load("p2", "p2 key").is_none());
        assert!(tier.load("p1", "p1 key").is_some() && tier.load("p3", "p3 key").is_some());
        tier.clear();
        assert_eq!(tier.usage(), (0, 0));
    }
}
