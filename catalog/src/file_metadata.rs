//! Owns the persisted file-metadata cache (the `file_metadata` table of migration 3): encoded
//! per-file metadata (the engine stores Parquet footers with their page indexes) keyed by the
//! file's path, with the size, modification time and etag the bytes were read at.
//!
//! This is a cache, not catalog content: its writes are short `IMMEDIATE` transactions of their
//! own that do **not** bump the catalog generation (nothing a session plans from changes), and
//! losing a row only costs a re-read of the file. The catalog never interprets the bytes; the
//! engine validates a row against the file before using it and replaces or removes rows it finds
//! stale or undecodable. The table is kept within a byte bound by evicting the rows used longest
//! ago ([`FileMetadataWrite::byte_limit`]).

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use crate::error::Result;
use crate::store::{Catalog, now_ms, to_i64, to_u64};

/// One persisted metadata entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFileMetadata {
    /// The file's path in its object store (the key).
    pub path: String,
    /// The file's size in bytes when the metadata was read.
    pub size: u64,
    /// The file's modification time when the metadata was read, in nanoseconds since the Unix
    /// epoch (at the precision the store reports).
    pub last_modified_ns: Option<i64>,
    /// The file's etag when the metadata was read, if the store reports one.
    pub etag: Option<String>,
    /// What the bytes are (the engine writes `"parquet"`).
    pub kind: String,
    /// Version of the encoding of `data`, chosen by the writer; readers skip versions they do not
    /// know.
    pub format_version: i64,
    /// The encoded metadata.
    pub data: Vec<u8>,
}

/// One batch of changes to the persisted metadata, applied in one short transaction by
/// [`Catalog::write_file_metadata`].
#[derive(Debug, Clone, Copy, Default)]
pub struct FileMetadataWrite<'a> {
    /// Entries to insert, replacing any row of the same path.
    pub put: &'a [StoredFileMetadata],
    /// Paths whose rows were used (their `used_at` moves to now, so they are evicted last).
    pub touch: &'a [String],
    /// Paths whose rows are to be deleted (stale or undecodable).
    pub remove: &'a [String],
    /// After the changes, rows used longest ago are evicted until the data of all rows takes at
    /// most this many bytes. Entries larger than the bound are not written at all.
    pub byte_limit: u64,
}

/// What [`Catalog::write_file_metadata`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileMetadataWriteOutcome {
    /// Rows inserted or replaced.
    pub written: u64,
    /// Rows deleted because they were asked to be removed.
    pub removed: u64,
    /// Rows evicted to stay within the byte bound (entries too large to keep included).
    pub evicted: u64,
}

/// How much persisted metadata the catalog holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileMetadataUsage {
    /// Rows.
    pub entries: u64,
    /// Bytes of encoded metadata in them.
    pub bytes: u64,
}

impl Catalog {
    /// The persisted metadata of the file at `path`, if any (one indexed read).
    pub fn file_metadata(&self, path: &str) -> Result<Option<StoredFileMetadata>> {
        let conn = self.lock();
        let row = conn
            .prepare_cached(
                "SELECT size, last_modified_ns, etag, kind, format_version, data FROM file_metadata WHERE path = ?1",
            )?
            .query_row([path], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Option<i64>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, Vec<u8>>(5)?,
                ))
            })
            .optional()?;
        row.map(|(size, last_modified_ns, etag, kind, format_version, data)| {
            Ok(StoredFileMetadata {
                path: path.to_string(),
                size: to_u64(size, "file size")?,
                last_modified_ns,
                etag,
                kind,
                format_version,
                data,
            })
        })
        .transpose()
    }

    /// The persisted metadata of the files whose paths start with `prefix` (e.g. a table's folder),
    /// ordered by path, in one range read: as many as fit in `byte_budget` bytes of data. The flag
    /// is true when that was all of them.
    pub fn file_metadata_under(&self, prefix: &str, byte_budget: u64) -> Result<(Vec<StoredFileMetadata>, bool)> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT path, size, last_modified_ns, etag, kind, format_version, data FROM file_metadata
             WHERE path >= ?1 AND substr(path, 1, length(?1)) = ?1 ORDER BY path",
        )?;
        let mut rows = stmt.query([prefix])?;
        let mut out = Vec::new();
        let mut bytes = 0u64;
        while let Some(r) = rows.next()? {
            let data: Vec<u8> = r.get(6)?;
            bytes = bytes.saturating_add(data.len() as u64);
            if bytes > byte_budget {
                return Ok((out, false));
            }
            out.push(StoredFileMetadata {
                path: r.get(0)?,
                size: to_u64(r.get(1)?, "file size")?,
                last_modified_ns: r.get(2)?,
                etag: r.get(3)?,
                kind: r.get(4)?,
                format_version: r.get(5)?,
                data,
            });
        }
        Ok((out, true))
    }

    /// Apply one batch of puts, touches and removals, then evict down to the byte bound, in one
    /// `IMMEDIATE` transaction (all or nothing; the generation is not bumped).
    pub fn write_file_metadata(&self, write: FileMetadataWrite<'_>) -> Result<FileMetadataWriteOutcome> {
        let limit = to_i64(write.byte_limit, "byte limit")?;
        let now = now_ms();
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut outcome = FileMetadataWriteOutcome::default();
        {
            let mut remove = tx.prepare_cached("DELETE FROM file_metadata WHERE path = ?1")?;
            for path in write.remove {
                outcome.removed += remove.execute([path])? as u64;
            }
            let mut insert = tx.prepare_cached(
                "INSERT OR REPLACE INTO file_metadata
                 (path, size, last_modified_ns, etag, kind, format_version, data, bytes, stored_at_ms, used_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
            )?;
            for entry in write.put {
                let bytes = to_i64(entry.data.len() as u64, "metadata size")?;
                if bytes > limit {
                    // Too large to keep: an older row of the path would be stale, so drop it.
                    outcome.evicted += remove.execute([&entry.path])? as u64;
                    continue;
                }
                insert.execute(params![
                    entry.path,
                    to_i64(entry.size, "file size")?,
                    entry.last_modified_ns,
                    entry.etag,
                    entry.kind,
                    entry.format_version,
                    entry.data,
                    bytes,
                    now,
                ])?;
                outcome.written += 1;
            }
            let mut touch = tx.prepare_cached("UPDATE file_metadata SET used_at_ms = ?2 WHERE path = ?1")?;
            for path in write.touch {
                touch.execute(params![path, now])?;
            }
        }
        let mut total: i64 = tx.query_row("SELECT COALESCE(SUM(bytes), 0) FROM file_metadata", [], |r| r.get(0))?;
        if total > limit {
            let victims: Vec<(String, i64)> = {
                let mut stmt =
                    tx.prepare_cached("SELECT path, bytes FROM file_metadata ORDER BY used_at_ms, stored_at_ms, path")?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                let mut victims = Vec::new();
                for row in rows {
                    let (path, bytes): (String, i64) = row?;
                    if total <= limit {
                        break;
                    }
                    total -= bytes;
                    victims.push((path, bytes));
                }
                victims
            };
            let mut delete = tx.prepare_cached("DELETE FROM file_metadata WHERE path = ?1")?;
            for (path, _) in &victims {
                outcome.evicted += delete.execute([path])? as u64;
            }
        }
        tx.commit()?;
        Ok(outcome)
    }

    /// Rows and bytes of persisted metadata.
    pub fn file_metadata_usage(&self) -> Result<FileMetadataUsage> {
        let conn = self.lock();
        let (entries, bytes): (i64, i64) = conn
            .prepare_cached("SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM file_metadata")?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(FileMetadataUsage { entries: to_u64(entries, "row count")?, bytes: to_u64(bytes, "byte count")? })
    }

    /// Delete the persisted metadata of files under `prefix` (a path prefix, e.g. a table's
    /// folder) that are not in `keep`; returns how many rows were deleted. `REFRESH TABLE` uses it
    /// to forget files that were removed.
    pub fn remove_file_metadata_under(&self, prefix: &str, keep: &[String]) -> Result<u64> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let paths: Vec<String> = {
            // Range scan on the primary key: every path that starts with `prefix`.
            let mut stmt = tx.prepare_cached(
                "SELECT path FROM file_metadata WHERE path >= ?1 AND substr(path, 1, length(?1)) = ?1",
            )?;
            let rows = stmt.query_map([prefix], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let keep: std::collections::HashSet<&str> = keep.iter().map(String::as_str).collect();
        let mut removed = 0;
        {
            let mut delete = tx.prepare_cached("DELETE FROM file_metadata WHERE path = ?1")?;
            for path in paths.iter().filter(|p| !keep.contains(p.as_str())) {
                removed += delete.execute([path])? as u64;
            }
        }
        tx.commit()?;
        Ok(removed)
    }

    /// Delete every persisted metadata row; returns how many there were.
    pub fn clear_file_metadata(&self) -> Result<u64> {
        let conn = self.lock();
        Ok(conn.prepare_cached("DELETE FROM file_metadata")?.execute([])? as u64)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn entry(path: &str, bytes: usize) -> StoredFileMetadata {
        StoredFileMetadata {
            path: path.to_string(),
            size: 100,
            last_modified_ns: Some(1_700_000_000_123_456_789),
            etag: Some("e1".into()),
            kind: "parquet".into(),
            format_version: 1,
            data: vec![7; bytes],
        }
    }

    fn put(catalog: &Catalog, entries: &[StoredFileMetadata], limit: u64) -> FileMetadataWriteOutcome {
        catalog
            .write_file_metadata(FileMetadataWrite { put: entries, byte_limit: limit, ..Default::default() })
            .unwrap()
    }

    #[test]
    fn round_trip_replace_and_generation_untouched() {
        let catalog = Catalog::open_in_memory().unwrap();
        let generation = catalog.generation().unwrap();
        assert_eq!(catalog.file_metadata("/a.parquet").unwrap(), None);
        let a = entry("/a.parquet", 10);
        put(&catalog, std::slice::from_ref(&a), 1000);
        assert_eq!(catalog.file_metadata("/a.parquet").unwrap(), Some(a.clone()));
        let changed = StoredFileMetadata { size: 200, etag: None, data: vec![1, 2, 3], ..a };
        put(&catalog, std::slice::from_ref(&changed), 1000);
        assert_eq!(catalog.file_metadata("/a.parquet").unwrap(), Some(changed));
        assert_eq!(catalog.file_metadata_usage().unwrap(), FileMetadataUsage { entries: 1, bytes: 3 });
        assert_eq!(catalog.generation().unwrap(), generation, "a cache write is not a catalog change");
    }

    #[test]
    fn evicts_least_recently_used_beyond_the_bound() {
        let catalog = Catalog::open_in_memory().unwrap();
        put(&catalog, &[entry("/a", 40), entry("/b", 40)], 100);
        // Make /a the more recently used one.
        std::thread::sleep(std::time::Duration::from_millis(5));
        let touch = ["/a".to_string()];
        catalog
            .write_file_metadata(FileMetadataWrite { touch: &touch, byte_limit: 100, ..Default::default() })
            .unwrap();
        let outcome = put(&catalog, &[entry("/c", 40)], 100);
        assert_eq!((outcome.written, outcome.evicted), (1, 1));
        assert!(catalog.file_metadata("/b").unwrap().is_none());
        assert!(catalog.file_metadata("/a").unwrap().is_some());
        assert!(catalog.file_metadata("/c").unwrap().is_some());
        // An entry larger than the bound is not kept, and removes a stale row of its path.
        let outcome = put(&catalog, &[entry("/a", 101)], 100);
        assert_eq!((outcome.written, outcome.evicted), (0, 1));
        assert!(catalog.file_metadata("/a").unwrap().is_none());
    }

    #[test]
    fn remove_under_prefix_keeps_listed_files() {
        let catalog = Catalog::open_in_memory().unwrap();
        put(&catalog, &[entry("t/a", 1), entry("t/b", 1), entry("t2/c", 1), entry("u/d", 1)], 100);
        let (under, complete) = catalog.file_metadata_under("t/", 100).unwrap();
        assert!(complete);
        assert_eq!(under.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(), ["t/a", "t/b"]);
        let (under, complete) = catalog.file_metadata_under("t", 2).unwrap();
        assert!(!complete, "t/a, t/b and t2/c take 3 bytes");
        assert_eq!(under.len(), 2);
        let removed = catalog.remove_file_metadata_under("t/", &["t/a".to_string()]).unwrap();
        assert_eq!(removed, 1);
        assert!(catalog.file_metadata("t/a").unwrap().is_some());
        assert!(catalog.file_metadata("t/b").unwrap().is_none());
        assert!(catalog.file_metadata("t2/c").unwrap().is_some());
        let removals = ["u/d".to_string()];
        let outcome = catalog
            .write_file_metadata(FileMetadataWrite { remove: &removals, byte_limit: 100, ..Default::default() })
            .unwrap();
        assert_eq!(outcome.removed, 1);
        assert_eq!(catalog.clear_file_metadata().unwrap(), 2);
    }
}
