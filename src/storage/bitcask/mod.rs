//! A log-structured hash index, after Bitcask (Sheehy and Smith, 2010).
//!
//! # Shape
//! - The data lives in segment files `DIR/NNNNNNNN.seg`, each a sequence of checksummed
//!   records ([`record`]). Writes go to the *active* segment only; once it holds
//!   [`BitcaskConfig::segment_bytes_max`] bytes a new one is started and the old one is
//!   *closed*, never written again.
//! - The key directory (the keydir) holds, for every key, where its newest record lies
//!   (segment, offset, length) and its sequence number, tombstones included. A read is one
//!   disk read of one record, verified by its checksum. A `BTreeMap`, so scans are ordered.
//! - Group commit: writes gather in an in-memory buffer, visible at once. [`Engine::sync`]
//!   writes the buffer as one write at the engine's own offset and fsyncs it; writes arriving
//!   meanwhile wait for the next batch, which [`Engine::on_fsync`] starts. A batch writes to
//!   one segment only, so at most one segment has an unsynced write and a crash can tear only
//!   the tail of the newest one.
//! - A merge ([`merge`]) rewrites the live records of closed segments into new ones, with a
//!   hint file ([`hint`]) each, and deletes its inputs; it advances as its fsyncs complete.
//! - Recovery ([`recovery`]) rebuilds the keydir from hint files and segment scans.
//!
//! # Limits
//! A key is at most 64 KiB and a value at most 1 MiB ([`record::KEY_BYTES_MAX`],
//! [`record::VALUE_BYTES_MAX`]); more panics, as a caller's bug. Segment numbers have eight
//! digits: past 99 999 999 segments the engine panics. The keydir holds every key (the
//! design's known cost: memory grows with the key count). Merges keep the segment count to
//! about `2 × live bytes / segment_bytes_max + merge_trigger_segments`, plus segments found
//! damaged (never merged again, so their data is not lost).
//! The write buffer holds what was written since the last commit started; only
//! [`Engine::sync`] and commit completions start commits, so a caller that never syncs grows
//! it without bound (every node syncs after its writes).

mod hint;
mod merge;
mod record;
mod recovery;
#[cfg(test)]
mod tests;

use super::{
    fsync_counted, fsync_dir_counted, path_in, write_verified, Bugs, DamageLog, DiskIo, Engine,
    EngineStats, Found, Range, Row, Seq, StorageError,
};
use crate::node::FsyncId;
use std::collections::BTreeMap;

pub use record::{KEY_BYTES_MAX, VALUE_BYTES_MAX};

/// Bitcask's settings; a scenario sets them in `[protocol.bitcask]` (sizes in bytes), unknown
/// keys are refused.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BitcaskConfig {
    /// The active segment is closed and a new one started once it holds this many bytes.
    pub segment_bytes_max: u64,
    /// A merge of the closed segments starts once there are this many.
    pub merge_trigger_segments: usize,
    /// A closed segment is merged once at least this percentage of its bytes is dead
    /// (overwritten or deleted), or once its live bytes are under half a segment (so small
    /// merge outputs get combined).
    pub merge_dead_percent_min: u64,
    /// Most segments one merge takes, to bound the memory it holds.
    pub merge_inputs_max: usize,
}

impl Default for BitcaskConfig {
    fn default() -> Self {
        BitcaskConfig {
            segment_bytes_max: 64 << 10,
            merge_trigger_segments: 4,
            merge_dead_percent_min: 50,
            merge_inputs_max: 8,
        }
    }
}

/// Most segment numbers: they are written with eight digits.
const SEGMENT_NUMBER_MAX: u32 = 99_999_999;

/// Where a key's newest record lies, and what it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    segment: u32,
    offset: u64,
    length: u32,
    seq: Seq,
    tombstone: bool,
}

/// What the engine knows of one segment file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Segment {
    /// Its length including records still in the write buffer.
    bytes: u64,
    /// Bytes the keydir points to (the newest record of a key, tombstones included).
    live_bytes: u64,
    /// The sequence numbers of its records (0, 0 while empty).
    seq_min: Seq,
    seq_max: Seq,
    /// Written by a merge, with a hint file.
    merged: bool,
    /// A merge found a record it cannot read: never merged again.
    damaged: bool,
    /// A directory fsync covering its name was started (a commit waits for it).
    name_synced: bool,
}

impl Segment {
    fn note_seq(&mut self, seq: Seq) {
        self.seq_min = if self.seq_min == 0 { seq } else { self.seq_min.min(seq) };
        self.seq_max = self.seq_max.max(seq);
    }
}

/// Records encoded and not yet written: `bytes` go at `offset` of `segment`.
#[derive(Clone, Debug)]
struct Buffer {
    segment: u32,
    offset: u64,
    bytes: Vec<u8>,
    seq_last: Seq,
}

/// A group commit in flight: durable up to `seq_upto` once every fsync in `fsyncs` is done.
#[derive(Clone, Debug)]
struct Commit {
    fsyncs: Vec<FsyncId>,
    seq_upto: Seq,
}

/// A Bitcask store in one directory.
pub struct Bitcask {
    dir: String,
    config: BitcaskConfig,
    bugs: Bugs,
    keydir: BTreeMap<Vec<u8>, Entry>,
    segments: BTreeMap<u32, Segment>,
    active: u32,
    next_segment: u32,
    /// Oldest first; the last one may be the active segment's, which puts extend.
    buffers: Vec<Buffer>,
    commit: Option<Commit>,
    merge: Option<merge::Merge>,
    /// Fsyncs started by recovery (of a truncated tail, of the directory): nothing waits.
    recovery_fsyncs: Vec<FsyncId>,
    last_seq: Seq,
    durable_seq: Seq,
    damage: DamageLog,
    stats: EngineStats,
}

/// File names of segment `number`.
fn segment_name(number: u32) -> String {
    assert!(number <= SEGMENT_NUMBER_MAX, "segment number {number} past eight digits");
    format!("{number:08}.seg")
}

fn hint_name(number: u32) -> String {
    format!("{number:08}.hint")
}

impl Bitcask {
    /// Opens (recovers) the store in `dir`: see [`recovery`].
    pub fn open(
        io: &mut dyn DiskIo,
        dir: &str,
        config: BitcaskConfig,
        bugs: Bugs,
    ) -> Result<Self, StorageError> {
        assert!(config.segment_bytes_max > 0 && config.merge_inputs_max > 0, "{config:?}");
        assert!(config.merge_dead_percent_min <= 100, "{config:?}");
        let mut engine = Bitcask {
            dir: dir.to_string(),
            config,
            bugs,
            keydir: BTreeMap::new(),
            segments: BTreeMap::new(),
            active: 0,
            next_segment: 1,
            buffers: Vec::new(),
            commit: None,
            merge: None,
            recovery_fsyncs: Vec::new(),
            last_seq: 0,
            durable_seq: 0,
            damage: DamageLog::default(),
            stats: EngineStats::default(),
        };
        engine.recover(io)?;
        engine.start_segment(io);
        Ok(engine)
    }

    fn path(&self, name: &str) -> String {
        path_in(&self.dir, name)
    }

    /// Creates the next segment file and makes it the active one. Its name becomes durable
    /// with the directory fsync the first commit into it starts.
    fn start_segment(&mut self, io: &mut dyn DiskIo) {
        let number = self.next_segment;
        self.next_segment += 1;
        let path = self.path(&segment_name(number));
        io.disk().create(&path).unwrap_or_else(|e| panic!("create {path}: {e}"));
        self.segments.insert(number, Segment::default());
        self.active = number;
    }

    /// Encodes one write into the active segment's buffer and points the keydir at it.
    fn write(&mut self, io: &mut dyn DiskIo, key: &[u8], value: &[u8], tombstone: bool) -> Seq {
        let length = record::record_bytes(key.len(), value.len());
        let active_bytes = self.segments[&self.active].bytes;
        if active_bytes > 0 && active_bytes + length > self.config.segment_bytes_max {
            self.start_segment(io);
        }
        self.last_seq += 1;
        let seq = self.last_seq;
        let segment = self.segments.get_mut(&self.active).expect("the active segment");
        let offset = segment.bytes;
        segment.bytes += length;
        segment.live_bytes += length;
        segment.note_seq(seq);
        if self.buffers.last().is_none_or(|b| b.segment != self.active) {
            let buffer = Buffer { segment: self.active, offset, bytes: Vec::new(), seq_last: 0 };
            self.buffers.push(buffer);
        }
        let buffer = self.buffers.last_mut().expect("just ensured");
        assert_eq!(buffer.offset + buffer.bytes.len() as u64, offset, "buffer out of place");
        record::encode(&mut buffer.bytes, self.active, offset, seq, tombstone, false, key, value);
        buffer.seq_last = seq;
        let entry = Entry { segment: self.active, offset, length: length as u32, seq, tombstone };
        if let Some(old) = self.keydir.insert(key.to_vec(), entry) {
            self.forget(old);
        }
        self.stats.writes += 1;
        self.stats.user_bytes_written += (key.len() + value.len()) as u64;
        seq
    }

    /// A record the keydir no longer points to: its bytes are dead.
    fn forget(&mut self, old: Entry) {
        let segment = self.segments.get_mut(&old.segment).expect("keydir names a segment");
        assert!(segment.live_bytes >= u64::from(old.length), "live bytes underflow");
        segment.live_bytes -= u64::from(old.length);
    }

    /// Writes the oldest buffer as one write at its own offset and starts its fsyncs: first
    /// the directory's if the segment's name is not yet covered, then the segment's. The disk
    /// completes fsyncs in the order they were issued, so a segment's name is durable before
    /// any of its writes is reported durable (the commit also waits for both, to be sure).
    fn start_commit(&mut self, io: &mut dyn DiskIo) {
        assert!(self.commit.is_none(), "one commit at a time");
        if self.buffers.is_empty() {
            return;
        }
        let buffer = self.buffers.remove(0);
        let path = self.path(&segment_name(buffer.segment));
        self.stats.verify_bytes_read += write_verified(io, &path, buffer.offset, &buffer.bytes);
        self.stats.log_bytes_written += buffer.bytes.len() as u64;
        let mut fsyncs = Vec::with_capacity(2);
        let segment = self.segments.get_mut(&buffer.segment).expect("a buffered segment");
        if !segment.name_synced {
            segment.name_synced = true;
            fsyncs.push(fsync_dir_counted(io, &mut self.stats, &self.dir));
        }
        if !self.bugs.skip_wal_fsync {
            fsyncs.push(fsync_counted(io, &mut self.stats, &path));
        }
        if fsyncs.is_empty() {
            self.durable_seq = self.durable_seq.max(buffer.seq_last); // the bug: no fsync
            return self.start_commit(io);
        }
        self.commit = Some(Commit { fsyncs, seq_upto: buffer.seq_last });
    }

    /// Reads and verifies the record `entry` names: its value, or why it cannot be read.
    fn read_value(
        &mut self,
        io: &mut dyn DiskIo,
        key: &[u8],
        entry: Entry,
    ) -> Result<Vec<u8>, StorageError> {
        assert!(!entry.tombstone, "a tombstone has no value to read");
        if let Some(buffer) =
            self.buffers.iter().find(|b| b.segment == entry.segment && b.offset <= entry.offset)
        {
            let at = (entry.offset - buffer.offset) as usize;
            let parsed = record::decode(&buffer.bytes, at, entry.segment, entry.offset, true)
                .expect("a buffered record is whole");
            return Ok(record::value_of(&buffer.bytes, &parsed));
        }
        let path = self.path(&segment_name(entry.segment));
        for _ in 0..2 {
            // Twice: a read can come back with a bit flipped, and the next one not.
            let data = match io.disk().read(&path, entry.offset, u64::from(entry.length)) {
                Ok(data) => data,
                Err(error) => {
                    self.stats.errors_detected += 1;
                    return Err(StorageError::from_disk(&path, error));
                }
            };
            self.stats.read_bytes += data.len() as u64;
            let verify = !self.bugs.no_checksum;
            if let Some(parsed) = record::decode(&data, 0, entry.segment, entry.offset, verify) {
                if verify && (parsed.seq != entry.seq || &data[parsed.key.clone()] != key) {
                    continue; // a valid record, but not the one the keydir expects
                }
                return Ok(record::value_of(&data, &parsed));
            }
        }
        self.stats.errors_detected += 1;
        Err(StorageError::Corruption { file: path, offset: entry.offset, what: "record" })
    }

    /// Handles a completed fsync of the group commit; `false` if it is not one.
    fn commit_fsync_done(&mut self, io: &mut dyn DiskIo, id: FsyncId) -> bool {
        let Some(commit) = self.commit.as_mut() else { return false };
        let Some(position) = commit.fsyncs.iter().position(|f| *f == id) else { return false };
        commit.fsyncs.remove(position);
        if commit.fsyncs.is_empty() {
            let seq_upto = commit.seq_upto;
            assert!(seq_upto >= self.durable_seq && seq_upto <= self.last_seq, "commit order");
            self.durable_seq = seq_upto;
            self.commit = None;
            self.start_commit(io);
            self.maybe_start_merge(io);
        }
        true
    }

    /// Bytes of all segments, for [`Engine::describe`].
    fn total_bytes(&self) -> u64 {
        self.segments.values().map(|s| s.bytes).sum()
    }
}

impl Engine for Bitcask {
    fn name(&self) -> &'static str {
        "bitcask"
    }

    fn get(&mut self, io: &mut dyn DiskIo, key: &[u8]) -> Result<Option<Found>, StorageError> {
        self.stats.reads += 1;
        let entry = self.keydir.get(key).copied();
        self.damage.check_read(entry.map(|e| e.seq))?;
        match entry {
            None => Ok(None),
            Some(entry) if entry.tombstone => Ok(None),
            Some(entry) => {
                let value = self.read_value(io, key, entry)?;
                Ok(Some(Found { value, seq: entry.seq }))
            }
        }
    }

    fn put(&mut self, io: &mut dyn DiskIo, key: &[u8], value: &[u8]) -> Seq {
        self.write(io, key, value, false)
    }

    fn delete(&mut self, io: &mut dyn DiskIo, key: &[u8]) -> Seq {
        self.write(io, key, &[], true)
    }

    fn scan(
        &mut self,
        io: &mut dyn DiskIo,
        range: Range<'_>,
        limit: usize,
    ) -> Result<Vec<Row>, StorageError> {
        self.stats.reads += 1;
        self.damage.check_scan()?;
        let mut rows = Vec::new();
        let mut next = range.0.map(|k| k.to_vec());
        while rows.len() < limit {
            // One key at a time: reading a record needs `self` mutably, the keydir borrowed.
            let bounds = (next.as_ref().map(|k| k.as_slice()), range.1);
            let Some((key, entry)) =
                self.keydir.range::<[u8], _>(bounds).next().map(|(k, e)| (k.clone(), *e))
            else {
                break;
            };
            if !entry.tombstone {
                let value = self.read_value(io, &key, entry)?;
                rows.push(Row { key: key.clone(), value, seq: entry.seq });
            }
            next = std::ops::Bound::Excluded(key);
        }
        assert!(rows.windows(2).all(|w| w[0].key < w[1].key), "scan out of order");
        Ok(rows)
    }

    fn sync(&mut self, io: &mut dyn DiskIo) {
        if self.commit.is_none() {
            self.start_commit(io);
        }
    }

    fn on_fsync(&mut self, io: &mut dyn DiskIo, id: FsyncId) -> bool {
        if self.commit_fsync_done(io, id) {
            return true;
        }
        if let Some(position) = self.recovery_fsyncs.iter().position(|f| *f == id) {
            self.recovery_fsyncs.remove(position);
            return true;
        }
        self.merge_fsync_done(io, id)
    }

    fn durable_seq(&self) -> Seq {
        self.durable_seq
    }

    fn last_seq(&self) -> Seq {
        self.last_seq
    }

    fn stats(&self) -> EngineStats {
        self.stats
    }

    fn damage(&self) -> &DamageLog {
        &self.damage
    }

    fn describe(&self) -> String {
        let hints = self.segments.values().filter(|s| s.merged).count();
        let keys = self.keydir.values().filter(|e| !e.tombstone).count();
        format!(
            "bitcask: {} segments ({hints} hint), {keys} keys, {} KiB",
            self.segments.len(),
            self.total_bytes().div_ceil(1024)
        )
    }
}
