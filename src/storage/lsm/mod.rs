//! An LSM-tree, after LevelDB and RocksDB (O'Neil et al., 1996; DDIA chapter 3).
//!
//! Files in the store's directory (`NNNNNN` is a file number, never reused while named):
//! - `NNNNNN.log`: the write-ahead log behind the memtable ([`wal`]).
//! - `NNNNNN.sst`: sorted string tables ([`sstable`]) with a [`bloom`] filter each.
//! - `MANIFEST-NNNNNN`, its second copy `MANIFEST-NNNNNN.copy`, and `CURRENT`: which tables
//!   are live, at which level ([`manifest`]).
//!
//! Writes go to the memtable at once (visible) and into a write buffer; [`Engine::sync`]
//! writes the buffer as one write at the WAL's tracked offset and fsyncs it, and while that
//! fsync is in flight new writes gather for the next (group commit). A full memtable becomes
//! immutable (still read), a new WAL starts, and a flush writes it to a level-0 table. Flushes,
//! compactions ([`compaction`]) and manifest installs are jobs, one at a time, that advance as
//! their fsyncs complete; every table is written under a temporary name, fsynced, renamed, the
//! directory fsynced, and only then named in the manifest, whose edit is fsynced before any
//! file it obsoletes is deleted. Recovery ([`recovery`]) is the reverse.

pub mod bloom;
mod codec;
pub mod compaction;
pub mod manifest;
pub mod memtable;
mod read;
mod recovery;
pub mod sstable;
#[cfg(test)]
mod tests;
pub mod wal;

use super::{
    fsync_counted, fsync_dir_counted, path_in, write_verified, Bugs, DamageLog, DiskIo, Engine,
    EngineStats, Found, Range, Row, Seq, StorageError,
};
use crate::node::FsyncId;
use compaction::Job;
use manifest::{State, TableMeta};
use memtable::Memtable;
use std::collections::BTreeMap;

/// Largest key a write may carry; a larger one is a caller bug and panics.
pub const KEY_BYTES_MAX: usize = 64 << 10;
/// Largest value a write may carry; a larger one is a caller bug and panics.
pub const VALUE_BYTES_MAX: usize = 1 << 20;

/// How levels are compacted (`compaction = "leveled" | "tiered"` in a scenario).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompactionStyle {
    /// RocksDB's leveled compaction: L0 overlapping, L1.. each sorted and non-overlapping,
    /// each level `level_size_multiplier` times the one above.
    Leveled,
    /// Size-tiered (Cassandra's STCS, RocksDB's universal): runs of similar size merge.
    Tiered,
}

/// The LSM-tree's settings: RocksDB's names, its defaults scaled down for the simulation. A
/// scenario sets them in `[protocol.lsm]` (sizes in bytes); unknown keys are refused.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LsmConfig {
    /// The memtable is flushed to an SSTable once it holds this many bytes (RocksDB's
    /// `write_buffer_size`, 64 MiB; here 16 KiB).
    pub memtable_bytes_max: u64,
    /// Target size of an SSTable data block (RocksDB's `block_size`, 4 KiB; here 1 KiB).
    pub block_bytes: u64,
    /// Bloom filter bits per key (RocksDB's default 10).
    pub bloom_bits_per_key: u32,
    /// The compaction policy.
    pub compaction: CompactionStyle,
    /// L0 files that trigger a compaction into L1 (`level0_file_num_compaction_trigger`, 4).
    pub l0_compaction_trigger: usize,
    /// Size of L1 (`max_bytes_for_level_base`, 256 MiB; here 64 KiB).
    pub level_base_bytes: u64,
    /// Each level is this many times the one above (`max_bytes_for_level_multiplier`, 10).
    pub level_size_multiplier: u64,
    /// Most levels (`num_levels`, 7).
    pub levels_max: usize,
    /// Compaction output is cut into tables of about this size (`target_file_size_base`,
    /// 64 MiB; here 32 KiB).
    pub table_bytes_target: u64,
    /// Size-tiered: this many runs of similar size merge into one (`min_merge_width`, 2; 4 is
    /// Cassandra's `min_threshold`).
    pub tiered_min_merge_width: usize,
    /// Size-tiered: runs are "similar" when within this percentage of each other's size
    /// (universal compaction's `size_ratio`, 1%; here 100%, Cassandra's bucket_high 1.5x
    /// style grouping).
    pub tiered_size_ratio_percent: u64,
    /// Size-tiered: more runs than this force a merge of the smallest adjacent ones even when
    /// none are similar (universal compaction's file-count trigger), so reads stay bounded.
    pub tiered_runs_max: usize,
    /// A manifest past this size is replaced by a new one holding a snapshot
    /// (`max_manifest_file_size`, 1 GiB; here 64 KiB).
    pub manifest_bytes_max: u64,
}

impl Default for LsmConfig {
    fn default() -> Self {
        LsmConfig {
            memtable_bytes_max: 16 << 10,
            block_bytes: 1 << 10,
            bloom_bits_per_key: 10,
            compaction: CompactionStyle::Leveled,
            l0_compaction_trigger: 4,
            level_base_bytes: 64 << 10,
            level_size_multiplier: 10,
            levels_max: 7,
            table_bytes_target: 32 << 10,
            tiered_min_merge_width: 4,
            tiered_size_ratio_percent: 100,
            tiered_runs_max: 12,
            manifest_bytes_max: 64 << 10,
        }
    }
}

/// A live table: what the manifest says of it, its index and filter once read, and whether a
/// compaction found it damaged (it is then never picked again; its data stays readable where
/// it can be read).
#[derive(Clone, Debug)]
struct Table {
    meta: TableMeta,
    loaded: Option<sstable::Loaded>,
    damaged: bool,
}

/// The WAL being written: its file, the tracked end of what was written, and the buffer of
/// records not yet written (encoded for the offsets they will land at).
#[derive(Clone, Debug)]
struct Wal {
    number: u64,
    path: String,
    offset: u64,
    buffer: Vec<u8>,
    buffer_seq_hi: Seq,
}

/// The fsync of the log in flight: which WAL, and the newest write it makes durable
/// (`wal_number` 0: the fsync of a WAL truncated at recovery, which makes no write durable).
#[derive(Clone, Copy, Debug)]
struct LogSync {
    id: FsyncId,
    wal_number: u64,
    seq_hi: Seq,
}

/// Tables and bytes in one level (one sorted run for level 0 of a size-tiered store).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct LevelSummary {
    pub level: usize,
    pub tables: usize,
    pub bytes: u64,
}

/// An LSM-tree store in one directory.
pub struct Lsm {
    dir: String,
    config: LsmConfig,
    bugs: Bugs,
    mem: Memtable,
    imm: Option<Memtable>,
    wal: Wal,
    /// WAL files on disk, by number (the live one last).
    wal_files: Vec<u64>,
    log_sync: Option<LogSync>,
    sync_wanted: bool,
    durable_seq: Seq,
    last_seq: Seq,
    /// False until the first `CURRENT` of a new store is installed: until then a crash leaves
    /// an empty store, so no write may be reported durable.
    current_installed: bool,
    tables: BTreeMap<u64, Table>,
    /// Table numbers per level. Leveled: level 0 newest first, the others by smallest key.
    /// Tiered: every run in level 0, newest first.
    levels: Vec<Vec<u64>>,
    /// The manifest being appended to, and the state it holds once its edits are durable.
    manifest_number: u64,
    manifest_offset: u64,
    /// Where the next scrub of the manifest's copies starts ([`Lsm::scrub_manifest`]).
    manifest_scrub_offset: u64,
    /// A scrub found the copies disagreeing or unreadable: the next job rewrites both.
    manifest_repair_wanted: bool,
    state: State,
    next_file: u64,
    job: Option<Job>,
    /// Fsyncs of ours no step waits on (earlier fsyncs of a step; directory fsyncs of a new
    /// WAL, which complete before any later fsync of the WAL).
    quiet_fsyncs: Vec<FsyncId>,
    /// Per level, the largest key of the table compacted last (LevelDB's compact pointer).
    compact_pointer: Vec<Vec<u8>>,
    damage: DamageLog,
    stats: EngineStats,
}

fn wal_name(number: u64) -> String {
    format!("{number:06}.log")
}

fn table_name(number: u64) -> String {
    format!("{number:06}.sst")
}

impl Lsm {
    /// Opens (recovers) the store in `dir`.
    pub fn open(
        io: &mut dyn DiskIo,
        dir: &str,
        config: LsmConfig,
        bugs: Bugs,
    ) -> Result<Self, StorageError> {
        recovery::open(io, dir, config, bugs)
    }

    /// Tables and bytes per level, for amplification figures.
    pub fn level_summary(&self) -> Vec<LevelSummary> {
        let summary = self.levels.iter().enumerate().map(|(level, numbers)| LevelSummary {
            level,
            tables: numbers.len(),
            bytes: numbers.iter().map(|n| self.tables[n].meta.size).sum(),
        });
        summary.collect()
    }

    /// True while a flush, compaction or manifest install is under way.
    pub fn busy(&self) -> bool {
        self.job.is_some() || self.imm.is_some()
    }

    fn path(&self, name: &str) -> String {
        path_in(&self.dir, name)
    }

    fn allocate_file(&mut self) -> u64 {
        let number = self.next_file;
        assert!(number < 1_000_000_000, "file numbers exhausted");
        self.next_file += 1;
        number
    }

    /// Takes write `seq` into the memtable and the write buffer.
    fn take_write(&mut self, io: &mut dyn DiskIo, key: &[u8], value: Option<&[u8]>) -> Seq {
        assert!(key.len() <= KEY_BYTES_MAX, "a key of {} bytes (max {KEY_BYTES_MAX})", key.len());
        let value_len = value.map_or(0, <[u8]>::len);
        assert!(value_len <= VALUE_BYTES_MAX, "a value of {value_len} bytes (max 1 MiB)");
        self.last_seq += 1;
        let seq = self.last_seq;
        self.mem.insert(key, seq, value);
        let offset = self.wal.offset + self.wal.buffer.len() as u64;
        wal::encode(&mut self.wal.buffer, self.wal.number, offset, seq, key, value);
        self.wal.buffer_seq_hi = seq;
        self.stats.writes += 1;
        self.stats.user_bytes_written += (key.len() + value_len) as u64;
        if self.mem.bytes() >= self.config.memtable_bytes_max && self.imm.is_none() {
            self.rotate(io);
        }
        seq
    }

    /// Makes the memtable immutable and starts a new WAL. The buffered records of the old
    /// one are never written: the flush makes those writes durable. Until it is done, a crash
    /// loses them, and recovery then ends the log before them, cutting off the new WAL's
    /// records too (see [`wal`]): `durable_seq` never passed them (see `update_durable`).
    fn rotate(&mut self, io: &mut dyn DiskIo) {
        assert!(self.imm.is_none(), "one immutable memtable at a time");
        let fresh = Memtable::new(self.last_seq + 1);
        self.imm = Some(std::mem::replace(&mut self.mem, fresh));
        self.start_wal(io);
        self.schedule(io);
    }

    /// Creates the next WAL and fsyncs the directory; the WAL's own fsyncs come later, and
    /// a disk completes fsyncs in issue order, so its name is durable before any write in it
    /// is reported durable.
    fn start_wal(&mut self, io: &mut dyn DiskIo) {
        let number = self.allocate_file();
        let path = self.path(&wal_name(number));
        io.disk().create(&path).expect("a fresh file number names no file");
        let id = fsync_dir_counted(io, &mut self.stats, &self.dir);
        self.quiet_fsyncs.push(id);
        self.wal = Wal { number, path, offset: 0, buffer: Vec::new(), buffer_seq_hi: 0 };
        self.wal_files.push(number);
    }

    /// Writes the buffer as one write and fsyncs it, unless an fsync of the log is in flight.
    fn start_batch(&mut self, io: &mut dyn DiskIo) {
        if self.log_sync.is_some() || self.wal.buffer.is_empty() {
            return;
        }
        let buffer = std::mem::take(&mut self.wal.buffer);
        let read_back = write_verified(io, &self.wal.path, self.wal.offset, &buffer);
        self.count_write(&buffer, read_back, |s| &mut s.log_bytes_written);
        self.wal.offset += buffer.len() as u64;
        let seq_hi = self.wal.buffer_seq_hi;
        self.sync_wanted = false;
        if self.bugs.skip_wal_fsync {
            self.mem.seq_synced = seq_hi; // the bug: reported durable without an fsync
            self.update_durable();
            return;
        }
        let id = fsync_counted(io, &mut self.stats, &self.wal.path);
        self.log_sync = Some(LogSync { id, wal_number: self.wal.number, seq_hi });
    }

    /// Counts a write `write_verified` made (once per try it needed) and its read-back.
    fn count_write(
        &mut self,
        data: &[u8],
        read_back: u64,
        bytes: fn(&mut EngineStats) -> &mut u64,
    ) {
        let tries = if data.is_empty() { 1 } else { (read_back / data.len() as u64).max(1) };
        *bytes(&mut self.stats) += data.len() as u64 * tries;
        self.stats.verify_bytes_read += read_back;
    }

    fn on_log_synced(&mut self, io: &mut dyn DiskIo, sync: LogSync) {
        if sync.wal_number == self.wal.number {
            self.mem.seq_synced = self.mem.seq_synced.max(sync.seq_hi);
        } else if let Some(imm) = &mut self.imm {
            imm.seq_synced = imm.seq_synced.max(sync.seq_hi.min(imm.seq_last));
        }
        self.update_durable();
        if self.sync_wanted {
            self.start_batch(io);
        }
    }

    /// Advances `durable_seq` to the newest write below which every write is durable: in a
    /// table, or in a synced WAL.
    fn update_durable(&mut self) {
        if !self.current_installed {
            return;
        }
        let durable = match &self.imm {
            Some(imm) if imm.seq_synced < imm.seq_last => imm.seq_synced,
            Some(imm) => self.mem.seq_synced.max(imm.seq_last),
            None => self.mem.seq_synced.max(self.mem.seq_first - 1),
        };
        self.durable_seq = self.durable_seq.max(durable);
        assert!(self.durable_seq <= self.last_seq, "durable past the last write");
    }

    /// Adds a table to the in-memory shape.
    fn add_table(&mut self, meta: TableMeta, loaded: Option<sstable::Loaded>) {
        let level = meta.level as usize;
        assert!(level < self.levels.len(), "table {} at level {level}", meta.number);
        self.levels[level].push(meta.number);
        self.tables.insert(meta.number, Table { meta, loaded, damaged: false });
        self.sort_level(level);
    }

    fn remove_table(&mut self, number: u64) {
        let table = self.tables.remove(&number).expect("removing a live table");
        self.levels[table.meta.level as usize].retain(|n| *n != number);
    }

    fn sort_level(&mut self, level: usize) {
        let tables = &self.tables;
        if level == 0 {
            self.levels[0].sort_by_key(|n| std::cmp::Reverse((tables[n].meta.seq_hi, *n)));
        } else {
            self.levels[level]
                .sort_by(|a, b| tables[a].meta.smallest.cmp(&tables[b].meta.smallest));
        }
    }
}

impl Engine for Lsm {
    fn name(&self) -> &'static str {
        "lsm"
    }

    fn get(&mut self, io: &mut dyn DiskIo, key: &[u8]) -> Result<Option<Found>, StorageError> {
        self.stats.reads += 1;
        let found = self.lookup(io, key)?;
        self.damage.check_read(found.as_ref().map(|(seq, _)| *seq))?;
        Ok(found.and_then(|(seq, value)| value.map(|value| Found { value, seq })))
    }

    fn put(&mut self, io: &mut dyn DiskIo, key: &[u8], value: &[u8]) -> Seq {
        self.take_write(io, key, Some(value))
    }

    fn delete(&mut self, io: &mut dyn DiskIo, key: &[u8]) -> Seq {
        self.take_write(io, key, None)
    }

    fn scan(
        &mut self,
        io: &mut dyn DiskIo,
        range: Range<'_>,
        limit: usize,
    ) -> Result<Vec<Row>, StorageError> {
        self.stats.reads += 1;
        self.damage.check_scan()?;
        self.scan_merged(io, range, limit)
    }

    fn sync(&mut self, io: &mut dyn DiskIo) {
        self.sync_wanted = true;
        self.start_batch(io);
    }

    fn on_fsync(&mut self, io: &mut dyn DiskIo, id: FsyncId) -> bool {
        if let Some(sync) = self.log_sync.filter(|s| s.id == id) {
            self.log_sync = None;
            self.on_log_synced(io, sync);
            // A patrol read of the manifest's copies with every group commit, so a fault in
            // one copy is repaired within a few commits, before a second can hit the other.
            self.scrub_manifest(io);
            if self.manifest_repair_wanted {
                self.schedule(io);
            }
            return true;
        }
        if let Some(position) = self.quiet_fsyncs.iter().position(|q| *q == id) {
            self.quiet_fsyncs.remove(position);
            return true;
        }
        if self.job.as_ref().is_some_and(|job| job.waiting == id) {
            self.advance_job(io);
            return true;
        }
        false
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
        let mem_kib = (self.mem.bytes() + self.imm.as_ref().map_or(0, Memtable::bytes)) >> 10;
        let summary = self.level_summary();
        let total_kib = summary.iter().map(|l| l.bytes).sum::<u64>() >> 10;
        let shape = match self.config.compaction {
            CompactionStyle::Tiered => format!("{} runs", summary[0].tables),
            CompactionStyle::Leveled => {
                let levels: Vec<String> = summary
                    .iter()
                    .filter(|l| l.tables > 0 || l.level == 0)
                    .map(|l| format!("L{} {}", l.level, l.tables))
                    .collect();
                format!("{} tables", levels.join(", "))
            }
        };
        format!("lsm: mem {mem_kib} KiB, {shape}, {total_kib} KiB")
    }
}
