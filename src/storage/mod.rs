//! Storage engines on the simulated disk (DDIA chapter 3): a log-structured hash index
//! ([`bitcask`], after Bitcask) and an LSM-tree ([`lsm`], after LevelDB/RocksDB), behind one
//! trait, [`Engine`], that any node can use as its durable state.
//!
//! # The contract every engine keeps
//! - Writes ([`Engine::put`], [`Engine::delete`]) are visible to reads at once and get a
//!   sequence number, increasing across crashes for every write that survived. They are durable
//!   once [`Engine::durable_seq`] reaches their number: the engine syncs on its own when it is
//!   asked to ([`Engine::sync`]) and reports progress as its fsyncs complete
//!   ([`Engine::on_fsync`]). A node acknowledges a write only then (group commit).
//! - A crash loses only writes above the durable number; after recovery ([`open`]) the engine
//!   holds every durable write, possibly some later ones, and never a torn record.
//! - Corruption (a flipped bit at rest, a torn record in the middle of a file, bytes a
//!   misdirected write left behind, an unreadable sector) is detected by checksum and reported
//!   as a [`StorageError`], never returned as data. When recovery finds data it cannot read, it
//!   records which sequence numbers may be lost (a [`Damage`]): reads that those writes could
//!   have changed fail rather than answer from older data; every other key is served.
//! - Every byte goes through the node's disk ([`DiskIo`]), so amplification is measured from
//!   what the engine wrote and read ([`EngineStats`]).
//!
//! Engines are sans-IO like nodes: background work (flushes, compactions, merges) advances
//! when the engine's fsyncs complete, never by blocking.

pub mod bitcask;
pub mod crc;
pub mod experiment;
pub mod lsm;

use crate::node::{DiskError, DiskIo, FsyncId};
use std::fmt;
use std::ops::Bound;

/// A write's sequence number: 1 for the first write an engine ever took.
pub type Seq = u64;

/// A key's current version as a read sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub value: Vec<u8>,
    /// The sequence number of the write that stored it.
    pub seq: Seq,
}

/// One row of a scan: key, value, and the sequence number of the write that stored it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    pub seq: Seq,
}

/// A key range for [`Engine::scan`], bytewise.
pub type Range<'a> = (Bound<&'a [u8]>, Bound<&'a [u8]>);

/// Why a read, a recovery or a background job failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StorageError {
    /// A checksum did not match: `what` in `file` at `offset` is not what was written.
    Corruption { file: String, offset: u64, what: &'static str },
    /// The disk cannot read `file` at `offset` (a latent sector error).
    Unreadable { file: String, offset: u64 },
    /// Recovery could not read writes `seq_lo..=seq_hi`; this read could depend on them.
    MaybeLost { seq_lo: Seq, seq_hi: Seq },
    /// The engine cannot open: its metadata (`file`) is unreadable.
    Unrecoverable { file: String, why: String },
}

impl StorageError {
    /// The error a failed disk read of `file` turns into.
    pub fn from_disk(file: &str, error: DiskError) -> Self {
        match error {
            DiskError::Unreadable { offset } => {
                StorageError::Unreadable { file: file.to_string(), offset }
            }
            DiskError::NotFound => StorageError::Unrecoverable {
                file: file.to_string(),
                why: "the file is missing".to_string(),
            },
        }
    }
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StorageError::Corruption { file, offset, what } => {
                write!(f, "corruption: {what} in {file} at offset {offset}")
            }
            StorageError::Unreadable { file, offset } => {
                write!(f, "unreadable sector in {file} at offset {offset}")
            }
            StorageError::MaybeLost { seq_lo, seq_hi } => {
                write!(f, "writes {seq_lo}..={seq_hi} were lost to corruption")
            }
            StorageError::Unrecoverable { file, why } => write!(f, "cannot open: {file}: {why}"),
        }
    }
}

impl std::error::Error for StorageError {}

/// Sequence numbers recovery could not read back: a write in `seq_lo..=seq_hi` may have
/// changed any key, so a read whose answer is older than `seq_hi` (or found nothing) fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Damage {
    pub seq_lo: Seq,
    pub seq_hi: Seq,
}

/// The damage an engine knows of, and the rule for reads it applies.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DamageLog {
    ranges: Vec<Damage>,
}

impl DamageLog {
    /// Records that writes `seq_lo..=seq_hi` may be lost.
    pub fn add(&mut self, seq_lo: Seq, seq_hi: Seq) {
        assert!(seq_lo <= seq_hi, "damage {seq_lo}..={seq_hi} is empty");
        self.ranges.push(Damage { seq_lo, seq_hi });
    }

    /// The ranges, in the order they were found.
    pub fn ranges(&self) -> &[Damage] {
        &self.ranges
    }

    /// True if nothing is damaged.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Whether a point read that found a version written at `seq` (or nothing, `None`) can be
    /// trusted: no lost write could be newer than what it found.
    pub fn check_read(&self, seq: Option<Seq>) -> Result<(), StorageError> {
        let newer = self.ranges.iter().find(|d| seq.is_none_or(|s| d.seq_hi > s));
        match newer {
            Some(d) => Err(StorageError::MaybeLost { seq_lo: d.seq_lo, seq_hi: d.seq_hi }),
            None => Ok(()),
        }
    }

    /// Whether a scan can be trusted: a lost write could have added or removed any key, so
    /// none can while anything is damaged.
    pub fn check_scan(&self) -> Result<(), StorageError> {
        match self.ranges.first() {
            Some(d) => Err(StorageError::MaybeLost { seq_lo: d.seq_lo, seq_hi: d.seq_hi }),
            None => Ok(()),
        }
    }
}

/// Bug knobs: each switches off one rule an engine needs, so a scenario can show the checker
/// catching the bug. All off by default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bugs {
    /// `storage.skip_wal_fsync`: the log (Bitcask's active segment, the LSM's WAL) is never
    /// fsynced, yet writes are reported durable.
    pub skip_wal_fsync: bool,
    /// `storage.no_checksum`: records are not verified on read or recovery, so a torn record
    /// is returned as data.
    pub no_checksum: bool,
    /// `storage.compaction_drops_newest`: compaction (Bitcask's merge, the LSM's compaction)
    /// keeps the oldest version of a key instead of the newest.
    pub compaction_drops_newest: bool,
    /// `storage.rename_without_dir_sync`: a new file is installed by rename and the old ones
    /// deleted without syncing the directory first.
    pub rename_without_dir_sync: bool,
    /// `storage.tombstone_dropped_early`: compaction drops tombstones even when older data for
    /// the key may remain elsewhere, so a deleted key comes back.
    pub tombstone_dropped_early: bool,
}

/// The knobs' names, as scenarios write them in `[protocol] bugs`.
pub const BUG_NAMES: [&str; 5] = [
    "storage.skip_wal_fsync",
    "storage.no_checksum",
    "storage.compaction_drops_newest",
    "storage.rename_without_dir_sync",
    "storage.tombstone_dropped_early",
];

impl Bugs {
    /// Switches on the knob `name`; `false` if no knob has that name.
    pub fn enable(&mut self, name: &str) -> bool {
        let knob = match name {
            "storage.skip_wal_fsync" => &mut self.skip_wal_fsync,
            "storage.no_checksum" => &mut self.no_checksum,
            "storage.compaction_drops_newest" => &mut self.compaction_drops_newest,
            "storage.rename_without_dir_sync" => &mut self.rename_without_dir_sync,
            "storage.tombstone_dropped_early" => &mut self.tombstone_dropped_early,
            _ => return false,
        };
        *knob = true;
        true
    }
}

/// What an engine did, for amplification figures. Bytes are counted where the engine hands
/// them to the disk or gets them back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct EngineStats {
    /// Writes taken (puts and deletes).
    pub writes: u64,
    /// Key and value bytes of the writes taken (the user's bytes).
    pub user_bytes_written: u64,
    /// Bytes written to the log (segments, WAL).
    pub log_bytes_written: u64,
    /// Bytes written by flushes and compactions (SSTables, merged segments, hint files).
    pub compaction_bytes_written: u64,
    /// Bytes written to metadata (manifest, current pointer).
    pub meta_bytes_written: u64,
    /// Bytes read back to verify a write landed where it was meant to.
    pub verify_bytes_read: u64,
    /// Point reads and scans served.
    pub reads: u64,
    /// Bytes read from the disk to serve reads.
    pub read_bytes: u64,
    /// Bytes read by compactions and merges.
    pub compaction_bytes_read: u64,
    /// Bytes read by recovery.
    pub recovery_bytes_read: u64,
    /// Flushes (LSM) and merges/compactions completed.
    pub flushes: u64,
    pub compactions: u64,
    /// Fsyncs of files and directories the engine started.
    pub fsyncs: u64,
    /// Bloom filter probes that said "maybe" for a key the table did not hold, and probes.
    pub bloom_false_positives: u64,
    pub bloom_probes: u64,
    /// Corruptions and unreadable sectors detected.
    pub errors_detected: u64,
}

impl EngineStats {
    /// Every byte written to the disk.
    pub fn disk_bytes_written(&self) -> u64 {
        self.log_bytes_written + self.compaction_bytes_written + self.meta_bytes_written
    }
}

/// A key-value storage engine whose state lives on a node's disk.
///
/// Keys and values are bytes; keys order bytewise. Every method that touches the disk takes
/// the node's [`DiskIo`] (its `Context`), for this one call.
pub trait Engine {
    /// The engine's name (`bitcask`, `lsm`).
    fn name(&self) -> &'static str;

    /// The current version of `key`, `None` if it has none (never written, or deleted).
    fn get(&mut self, io: &mut dyn DiskIo, key: &[u8]) -> Result<Option<Found>, StorageError>;

    /// Stores `value` under `key`; returns the write's sequence number. Visible at once,
    /// durable once [`Engine::durable_seq`] reaches it.
    fn put(&mut self, io: &mut dyn DiskIo, key: &[u8], value: &[u8]) -> Seq;

    /// Deletes `key` (writes a tombstone); returns the write's sequence number.
    fn delete(&mut self, io: &mut dyn DiskIo, key: &[u8]) -> Seq;

    /// The current rows with keys in `range`, sorted by key, at most `limit` of them.
    fn scan(
        &mut self,
        io: &mut dyn DiskIo,
        range: Range<'_>,
        limit: usize,
    ) -> Result<Vec<Row>, StorageError>;

    /// Asks the engine to make every write so far durable. Cheap to call after every write:
    /// while an fsync is in flight, writes gather for the next one (group commit).
    fn sync(&mut self, io: &mut dyn DiskIo);

    /// The fsync `id` completed. Returns `false` if it was not the engine's. The engine may
    /// start more work (the next group commit, a step of a flush or compaction).
    fn on_fsync(&mut self, io: &mut dyn DiskIo, id: FsyncId) -> bool;

    /// Every write with a sequence number up to this one is durable.
    fn durable_seq(&self) -> Seq;

    /// The sequence number the next write will get, minus one.
    fn last_seq(&self) -> Seq;

    /// What the engine did so far (since it was opened).
    fn stats(&self) -> EngineStats;

    /// Damage recovery found, if any.
    fn damage(&self) -> &DamageLog;

    /// A one-line description of the engine's shape now (files, levels), for traces.
    fn describe(&self) -> String;
}

/// Which engine, and its settings.
#[derive(Clone, Debug, PartialEq)]
pub enum EngineConfig {
    Bitcask(bitcask::BitcaskConfig),
    Lsm(lsm::LsmConfig),
}

/// Opens (recovers) the engine `config` names in directory `dir` of the disk: an empty
/// directory gives an empty engine.
pub fn open(
    io: &mut dyn DiskIo,
    dir: &str,
    config: &EngineConfig,
    bugs: Bugs,
) -> Result<Box<dyn Engine>, StorageError> {
    Ok(match config {
        EngineConfig::Bitcask(c) => Box::new(bitcask::Bitcask::open(io, dir, c.clone(), bugs)?),
        EngineConfig::Lsm(c) => Box::new(lsm::Lsm::open(io, dir, c.clone(), bugs)?),
    })
}

/// Writes `data` at `offset` of `file` and reads it back from the page cache, rewriting it if
/// it did not land there (a misdirected write). Returns the bytes read back, for the stats.
///
/// A misdirected write leaves the intended place as it was; an engine that fsyncs and
/// acknowledges without looking would lose data no checksum can bring back. A mismatch that
/// persists after a few tries (a read that keeps coming back corrupted) is left to the
/// checksums of later reads.
pub fn write_verified(io: &mut dyn DiskIo, file: &str, offset: u64, data: &[u8]) -> u64 {
    const TRIES: usize = 4;
    let mut read_back = 0;
    for _ in 0..TRIES {
        io.disk().write(file, offset, data);
        match io.disk().read(file, offset, data.len() as u64) {
            Ok(back) => {
                read_back += back.len() as u64;
                if back == data {
                    break;
                }
            }
            Err(_) => break, // an unreadable sector: rewriting it is what repairs it, done
        }
    }
    read_back
}

/// Starts an fsync of `file` and counts it.
pub fn fsync_counted(io: &mut dyn DiskIo, stats: &mut EngineStats, file: &str) -> FsyncId {
    stats.fsyncs += 1;
    io.fsync(file)
}

/// Starts an fsync of directory `dir` and counts it.
pub fn fsync_dir_counted(io: &mut dyn DiskIo, stats: &mut EngineStats, dir: &str) -> FsyncId {
    stats.fsyncs += 1;
    io.fsync_dir(dir)
}

/// `dir/name`, or `name` in the root.
pub fn path_in(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damage_fails_reads_a_lost_write_could_have_changed() {
        let mut damage = DamageLog::default();
        assert!(damage.check_read(None).is_ok() && damage.check_scan().is_ok());
        damage.add(10, 20);
        assert!(damage.check_read(Some(25)).is_ok(), "newer than anything lost");
        assert!(damage.check_read(Some(20)).is_ok(), "the newest lost write is not newer");
        assert!(damage.check_read(Some(15)).is_err());
        assert!(damage.check_read(None).is_err(), "a lost write could have inserted it");
        assert!(damage.check_scan().is_err());
    }

    #[test]
    fn bug_names_are_the_knobs() {
        for name in BUG_NAMES {
            assert!(Bugs::default().enable(name), "{name}");
        }
        assert!(!Bugs::default().enable("storage.nope"));
    }
}
