//! Opening a store: `CURRENT`, the manifest, the tables it names, then the WALs.
//!
//! Files the manifest does not name (temporaries, obsolete tables and manifests, WALs below
//! its log number) are deleted. WALs at or above the log number are replayed into the
//! memtable: a torn tail is cut off and the cut fsynced before anything new is written to the
//! log, and corruption inside becomes damage, which the new manifest records so it outlives
//! the WAL. Replay ends at the first write missing from the log (a rotation's unwritten
//! records, lost with a flush that did not finish): what follows is cut off the same way, so a
//! later write never survives an earlier one. Every open then installs a new manifest holding a snapshot, which also drops a torn
//! last edit of the old one and rewrites both of its copies, so a fault in one copy lasts only
//! until the next open.
//!
//! The metadata survives any single fault: the manifest's two copies are reconciled record by
//! record ([`manifest::replay`]), and a `CURRENT` that is corrupt or unreadable is replaced by
//! the newest manifest (see `read_manifest` for why that is the live state).

use super::manifest::{self, add_damage, State};
use super::memtable::Memtable;
use super::sstable::ReadCounters;
use super::wal::Replayer;
use super::{table_name, wal_name, CompactionStyle, LogSync, Lsm, LsmConfig, Table, Wal};
use crate::node::DiskIo;
use crate::storage::{fsync_counted, path_in, Bugs, DamageLog, EngineStats, StorageError};
use std::collections::BTreeMap;

fn unrecoverable(file: &str, why: impl Into<String>) -> StorageError {
    StorageError::Unrecoverable { file: file.to_string(), why: why.into() }
}

/// The number in a name `NNNNNN<suffix>`.
fn numbered(name: &str, suffix: &str) -> Option<u64> {
    let digits = name.strip_suffix(suffix)?;
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())?
}

fn file_number(name: &str) -> Option<u64> {
    let base = name.strip_suffix(".tmp").unwrap_or(name);
    numbered(base, ".log")
        .or_else(|| numbered(base, ".sst"))
        .or_else(|| manifest::manifest_number_of(base))
}

/// Opens the store in `dir` (see the module doc).
pub fn open(
    io: &mut dyn DiskIo,
    dir: &str,
    config: LsmConfig,
    bugs: Bugs,
) -> Result<Lsm, StorageError> {
    assert!(config.levels_max >= 2, "an LSM-tree needs at least two levels");
    assert!(config.memtable_bytes_max > 0 && config.block_bytes > 0, "{config:?}");
    let names = io.disk().list(dir);
    let max_number = names.iter().filter_map(|n| file_number(n)).max().unwrap_or(0);
    let mut stats = EngineStats::default();
    let current_path = path_in(dir, "CURRENT");
    let fresh = !names.iter().any(|n| n == "CURRENT");
    let (state, manifest_number) = if fresh {
        if let Some(table) = names.iter().find(|n| numbered(n, ".sst").is_some()) {
            return Err(unrecoverable(
                &current_path,
                format!("CURRENT is missing, yet table {table} exists"),
            ));
        }
        (State::default(), 0)
    } else {
        read_manifest(io, dir, &names, &current_path, &mut stats)?
    };
    let mut lsm = skeleton(dir, config, bugs, state, manifest_number, stats);
    lsm.next_file = lsm.next_file.max(max_number + 1).max(1);
    lsm.current_installed = !fresh;
    lsm.install_tables(io)?;
    lsm.delete_unnamed(io, &names, fresh);
    lsm.replay_wals(io, &names)?;
    if lsm.mem.bytes() >= lsm.config.memtable_bytes_max {
        // Flushed once the install below is done.
        let fresh_mem = Memtable::new(lsm.last_seq + 1);
        lsm.imm = Some(std::mem::replace(&mut lsm.mem, fresh_mem));
    }
    lsm.start_wal(io);
    lsm.start_install(io);
    lsm.update_durable();
    Ok(lsm)
}

fn read_manifest(
    io: &mut dyn DiskIo,
    dir: &str,
    names: &[String],
    current_path: &str,
    stats: &mut EngineStats,
) -> Result<(State, u64), StorageError> {
    let number = match read_current(io, current_path, stats) {
        Ok(number) => number,
        // CURRENT is damaged: open the newest manifest instead. A manifest is renamed into
        // place only once its snapshot is durable in both copies, and CURRENT is switched to it
        // after that, while the install is the only job running (`start_install`): no edit
        // lands in the old manifest once the new snapshot is taken, and the old one is deleted
        // only after CURRENT names the new one durably. So the newest manifest is either the
        // live one or the one about to become live, and holds the same state. An older one is
        // never tried: it may name tables a compaction has since deleted.
        Err(why) => {
            let newest = names.iter().filter_map(|n| manifest::manifest_number_of(n)).max();
            newest.ok_or_else(|| {
                unrecoverable(current_path, format!("{why}, and no manifest exists"))
            })?
        }
    };
    let [first, second] = manifest::copy_names(number).map(|name| path_in(dir, &name));
    if !io.disk().exists(&first) && !io.disk().exists(&second) {
        return Err(unrecoverable(&first, "CURRENT names this manifest, which is missing"));
    }
    let mut last_why = String::new();
    // Twice: a transient flip is per read.
    for _attempt in 0..2 {
        let [mut a, mut b] = [&first, &second].map(|path| {
            let (data, unreadable) = read_sector_map(io, path);
            stats.recovery_bytes_read += data.len() as u64;
            stats.errors_detected += unreadable.len() as u64;
            (data, unreadable)
        });
        // A sector one copy cannot read is taken from the other, so a latent sector error in
        // one copy and damage elsewhere in the same record of the other still leave it whole.
        patch_sectors(&mut a, &b.0);
        patch_sectors(&mut b, &a.0);
        let copies = [a.0, b.0];
        match manifest::replay(number, [&copies[0], &copies[1]]) {
            Ok((state, _end)) => return Ok((state, number)),
            Err(why) => last_why = why,
        }
    }
    Err(unrecoverable(&first, format!("the manifest {last_why}")))
}

/// The manifest number `CURRENT` names, or why it cannot be read.
fn read_current(
    io: &mut dyn DiskIo,
    current_path: &str,
    stats: &mut EngineStats,
) -> Result<u64, String> {
    let mut why = String::new();
    for _attempt in 0..2 {
        match io.disk().read_all(current_path) {
            Ok(data) => {
                stats.recovery_bytes_read += data.len() as u64;
                match manifest::decode_current(&data) {
                    Some(number) => return Ok(number),
                    None => why = "CURRENT is corrupt".to_string(),
                }
            }
            Err(error) => {
                why = format!("CURRENT cannot be read: {error}");
            }
        }
    }
    stats.errors_detected += 1;
    Err(why)
}

/// The whole of `path`, unreadable sectors read as zeros (which no record checks as), and how
/// many sectors were unreadable.
fn read_sectors(io: &mut dyn DiskIo, path: &str) -> (Vec<u8>, u64) {
    let (data, unreadable) = read_sector_map(io, path);
    (data, unreadable.len() as u64)
}

const SECTOR_BYTES: u64 = 512;

/// The whole of `path` (empty if missing), unreadable sectors read as zeros, and the numbers of
/// the unreadable sectors.
fn read_sector_map(io: &mut dyn DiskIo, path: &str) -> (Vec<u8>, Vec<u64>) {
    if let Ok(data) = io.disk().read_all(path) {
        return (data, Vec::new());
    }
    let len = io.disk().len(path);
    let mut data = Vec::with_capacity(len as usize);
    let mut unreadable = Vec::new();
    for sector in 0..len.div_ceil(SECTOR_BYTES) {
        let want = SECTOR_BYTES.min(len - sector * SECTOR_BYTES);
        match io.disk().read(path, sector * SECTOR_BYTES, want) {
            Ok(bytes) if bytes.len() as u64 == want => data.extend_from_slice(&bytes),
            _ => {
                unreadable.push(sector);
                data.resize(data.len() + want as usize, 0);
            }
        }
    }
    (data, unreadable)
}

/// Fills `copy`'s unreadable sectors from `other` where `other` has the bytes.
fn patch_sectors(copy: &mut (Vec<u8>, Vec<u64>), other: &[u8]) {
    let (data, unreadable) = copy;
    for &sector in unreadable.iter() {
        let start = (sector * SECTOR_BYTES) as usize;
        let end = (start + SECTOR_BYTES as usize).min(data.len()).min(other.len());
        if start < end {
            data[start..end].copy_from_slice(&other[start..end]);
        }
    }
}

fn skeleton(
    dir: &str,
    config: LsmConfig,
    bugs: Bugs,
    state: State,
    manifest_number: u64,
    stats: EngineStats,
) -> Lsm {
    let levels = match config.compaction {
        CompactionStyle::Leveled => config.levels_max,
        CompactionStyle::Tiered => 1,
    };
    let mut damage = DamageLog::default();
    state.damage.iter().for_each(|&(lo, hi)| damage.add(lo, hi));
    Lsm {
        dir: dir.to_string(),
        mem: Memtable::new(state.last_seq + 1),
        imm: None,
        wal: Wal {
            number: 0,
            path: String::new(),
            offset: 0,
            buffer: Vec::new(),
            buffer_seq_hi: 0,
        },
        wal_files: Vec::new(),
        log_sync: None,
        sync_wanted: false,
        durable_seq: 0,
        last_seq: state.last_seq,
        current_installed: false,
        tables: BTreeMap::new(),
        levels: vec![Vec::new(); levels],
        manifest_number,
        manifest_offset: 0,
        manifest_scrub_offset: 0,
        manifest_repair_wanted: false,
        next_file: state.next_file,
        state,
        job: None,
        quiet_fsyncs: Vec::new(),
        compact_pointer: vec![Vec::new(); levels],
        damage,
        stats,
        config,
        bugs,
    }
}

impl Lsm {
    /// Puts every table the manifest names in place, reading its index and filter.
    fn install_tables(&mut self, io: &mut dyn DiskIo) -> Result<(), StorageError> {
        let metas: Vec<_> = self.state.tables.values().cloned().collect();
        let mut counters = ReadCounters::default();
        for mut meta in metas {
            let path = self.path(&table_name(meta.number));
            if !io.disk().exists(&path) {
                return Err(unrecoverable(
                    &path,
                    "the manifest names this table, but it is missing",
                ));
            }
            if self.config.compaction == CompactionStyle::Tiered {
                meta.level = 0;
            }
            if meta.level as usize >= self.levels.len() {
                return Err(unrecoverable(&path, format!("table at level {}", meta.level)));
            }
            self.last_seq = self.last_seq.max(meta.seq_hi);
            let number = meta.number;
            self.levels[meta.level as usize].push(number);
            self.tables.insert(number, Table { meta, loaded: None, damaged: false });
            let _ = self.ensure_loaded(io, number, &mut counters); // an error shows at use
        }
        for level in 0..self.levels.len() {
            self.sort_level(level);
        }
        self.stats.recovery_bytes_read += counters.bytes;
        self.stats.errors_detected += counters.errors;
        Ok(())
    }

    /// Deletes what the manifest does not name. A fresh store keeps nothing.
    fn delete_unnamed(&mut self, io: &mut dyn DiskIo, names: &[String], fresh: bool) {
        let live_manifest = manifest::copy_names(self.manifest_number);
        for name in names {
            let keep = if name.ends_with(".tmp") {
                false
            } else if let Some(n) = numbered(name, ".sst") {
                self.tables.contains_key(&n)
            } else if let Some(n) = numbered(name, ".log") {
                !fresh && n >= self.state.log_number
            } else if name.starts_with("MANIFEST-") {
                !fresh && live_manifest.contains(name)
            } else {
                true // CURRENT, and files that are not the engine's
            };
            if !keep {
                let _ = io.disk().delete(&self.path(name));
            }
        }
    }

    /// Replays the WALs at or above the log number into the memtable.
    fn replay_wals(&mut self, io: &mut dyn DiskIo, names: &[String]) -> Result<(), StorageError> {
        let mut numbers: Vec<u64> = names.iter().filter_map(|n| numbered(n, ".log")).collect();
        numbers.retain(|n| self.current_installed && *n >= self.state.log_number);
        numbers.sort_unstable();
        let mut replayer =
            Replayer::after(self.state.last_seq).with_known_damage(&self.state.damage);
        let mut cuts = Vec::new();
        for &number in &numbers {
            let path = self.path(&wal_name(number));
            if replayer.ended {
                // Past the end of the log (a write before these was never durable, so neither
                // were they): cut, so they never come back behind the writes that reuse their
                // numbers.
                if io.disk().len(&path) > 0 {
                    cuts.push((path, 0));
                }
                continue;
            }
            let (data, unreadable) = read_sectors(io, &path);
            self.stats.recovery_bytes_read += data.len() as u64;
            self.stats.errors_detected += unreadable;
            let file = replayer.replay_file(number, &data, self.bugs.no_checksum);
            let tail = data.len() as u64 - file.valid_end;
            if file.gap {
                // The log ends at a missing write (see `wal`): the rest is cut off.
                cuts.push((path, file.valid_end));
            } else if unreadable > 0 {
                // Not cut: the sectors may hold durable writes; their damage is recorded and
                // found again at every open until a flush retires the WAL.
                replayer.unreadable_tail(tail);
            } else if tail > 0 && !file.tail_damaged {
                cuts.push((path, file.valid_end));
            }
        }
        self.stats.errors_detected += replayer.bad_records;
        let flushed = self.state.last_seq;
        for record in replayer.records.iter().filter(|r| r.seq > flushed) {
            self.mem.insert(&record.key, record.seq, record.value.as_deref());
        }
        self.last_seq = self.last_seq.max(self.mem.seq_last);
        self.mem.seq_synced = self.mem.seq_last;
        for &(lo, hi) in &replayer.damage {
            add_damage(&mut self.state.damage, lo, hi);
        }
        self.damage = DamageLog::default();
        self.state.damage.iter().for_each(|&(lo, hi)| self.damage.add(lo, hi));
        // A lost write's number is never given to a new write: a read that found it before
        // the crash named that write, and a new one under the same number would make the two
        // indistinguishable (and sequence numbers go back against acknowledged ones).
        let damaged_hi = self.state.damage.iter().map(|&(_, hi)| hi).max().unwrap_or(0);
        self.last_seq = self.last_seq.max(damaged_hi);
        self.wal_files = numbers;
        // Cut torn tails; the new WAL's first write waits on the last cut's fsync, so a crash
        // never finds a torn tail followed by valid records in a later WAL.
        for (path, end) in cuts {
            io.disk().truncate(&path, end);
            let id = fsync_counted(io, &mut self.stats, &path);
            if let Some(previous) = self.log_sync.replace(LogSync { id, wal_number: 0, seq_hi: 0 })
            {
                self.quiet_fsyncs.push(previous.id);
            }
        }
        self.durable_seq = if self.current_installed { self.last_seq } else { 0 };
        Ok(())
    }
}
