//! A node's simulated disk: named files with a volatile page cache and a durable image.
//!
//! - `write`, `append` and `truncate` change the page cache at once; reads see them at once.
//! - `fsync(file)` takes time; when it completes, every write to that file issued before the
//!   call is durable. Completions of one disk happen in the order they were issued.
//! - A crash throws the page cache away: the files become their durable image. With the
//!   configured probability the last unsynced write of a file is *torn*: a prefix of it reached
//!   the platter. Protocols find torn records with checksums.
//! - Reads can return a flipped bit (transient corruption) and injected faults can corrupt data
//!   at rest or make a sector unreadable (a latent sector error) until it is rewritten.
//!
//! The disk survives crashes and restarts; node memory does not.

use crate::engine::{Nanos, SimRng};
use indexmap::IndexMap;
use std::fmt;

/// Sector size used for latent sector errors.
pub const SECTOR_BYTES: u64 = 512;
/// Largest file a simulated disk accepts; writes beyond it are a protocol bug.
pub const FILE_BYTES_MAX: u64 = 1 << 30;

/// How a disk behaves. Probabilities are in parts per million.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskConfig {
    /// Fastest fsync.
    pub fsync_latency_min: Nanos,
    /// Slowest fsync.
    pub fsync_latency_max: Nanos,
    /// Chance that a crash tears the last unsynced write of a file.
    pub torn_write_ppm: u32,
    /// Chance that one read returns one flipped bit.
    pub read_corruption_ppm: u32,
    /// Fastest asynchronous read ([`crate::node::Context::read`]).
    pub read_latency_min: Nanos,
    /// Slowest asynchronous read.
    pub read_latency_max: Nanos,
}

impl Default for DiskConfig {
    fn default() -> Self {
        DiskConfig {
            fsync_latency_min: 500_000,
            fsync_latency_max: 2_000_000,
            torn_write_ppm: 0,
            read_corruption_ppm: 0,
            read_latency_min: 50_000,
            read_latency_max: 200_000,
        }
    }
}

/// Identifies an asynchronous read in flight; handed back to the node with its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReadId(pub u32);

/// Identifies an fsync in flight; handed back to the node when it completes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FsyncId(pub u32);

/// Why a read failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiskError {
    /// No file of that name.
    NotFound,
    /// A latent sector error: the sector at `offset` cannot be read until it is rewritten.
    Unreadable { offset: u64 },
}

impl fmt::Display for DiskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiskError::NotFound => write!(f, "no such file"),
            DiskError::Unreadable { offset } => write!(f, "unreadable sector at offset {offset}"),
        }
    }
}

#[derive(Clone, Debug)]
enum Change {
    Write { offset: u64, data: Vec<u8> },
    Truncate { len: u64 },
}

#[derive(Clone, Debug, Default)]
struct File {
    cache: Vec<u8>,
    durable: Vec<u8>,
    /// Writes not yet durable, oldest first, each with the disk-wide write sequence number.
    unsynced: Vec<(u64, Change)>,
    /// Sector numbers that cannot be read.
    bad_sectors: Vec<u64>,
}

#[derive(Clone, Debug)]
struct PendingFsync {
    id: FsyncId,
    file: usize,
    upto_seq: u64,
}

/// Counters a report can show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DiskStats {
    pub writes: u64,
    pub bytes_written: u64,
    pub fsyncs: u64,
    pub reads: u64,
    pub torn_writes: u64,
    pub corrupted_reads: u64,
    pub unsynced_writes_lost: u64,
}

/// One node's disk.
#[derive(Clone, Debug)]
pub struct Disk {
    files: IndexMap<String, File>,
    config: DiskConfig,
    rng: SimRng,
    write_seq: u64,
    next_fsync: u32,
    pending: Vec<PendingFsync>,
    last_completion: Nanos,
    next_read: u32,
    reads: Vec<(ReadId, String, u64, u64)>,
    stats: DiskStats,
}

impl Disk {
    /// An empty disk that draws its randomness from `rng`.
    pub fn new(config: DiskConfig, rng: SimRng) -> Self {
        Disk {
            files: IndexMap::new(),
            config,
            rng,
            write_seq: 0,
            next_fsync: 1,
            pending: Vec::new(),
            last_completion: 0,
            next_read: 1,
            reads: Vec::new(),
            stats: DiskStats::default(),
        }
    }

    fn file_mut(&mut self, name: &str) -> (usize, &mut File) {
        let index = match self.files.get_index_of(name) {
            Some(i) => i,
            None => self.files.insert_full(name.to_string(), File::default()).0,
        };
        (index, &mut self.files[index])
    }

    /// Writes `data` at `offset` of `file` (creating it; a gap reads as zeros).
    pub fn write(&mut self, file: &str, offset: u64, data: &[u8]) {
        let end = offset + data.len() as u64;
        assert!(end <= FILE_BYTES_MAX, "write past {FILE_BYTES_MAX} bytes to {file}");
        self.write_seq += 1;
        let seq = self.write_seq;
        self.stats.writes += 1;
        self.stats.bytes_written += data.len() as u64;
        let (_, f) = self.file_mut(file);
        apply_write(&mut f.cache, offset, data);
        let first = offset / SECTOR_BYTES;
        let last = end.div_ceil(SECTOR_BYTES);
        f.bad_sectors.retain(|s| *s < first || *s >= last); // rewriting remaps a bad sector
        f.unsynced.push((seq, Change::Write { offset, data: data.to_vec() }));
    }

    /// Appends `data` to `file` and returns the offset it was written at.
    pub fn append(&mut self, file: &str, data: &[u8]) -> u64 {
        let offset = self.len(file);
        self.write(file, offset, data);
        offset
    }

    /// Cuts `file` to `len` bytes (or extends it with zeros).
    pub fn truncate(&mut self, file: &str, len: u64) {
        assert!(len <= FILE_BYTES_MAX, "truncate past {FILE_BYTES_MAX} bytes of {file}");
        self.write_seq += 1;
        let seq = self.write_seq;
        let (_, f) = self.file_mut(file);
        f.cache.resize(len as usize, 0);
        f.unsynced.push((seq, Change::Truncate { len }));
    }

    /// Length of `file` as reads see it (0 if it does not exist).
    pub fn len(&self, file: &str) -> u64 {
        self.files.get(file).map_or(0, |f| f.cache.len() as u64)
    }

    /// True if `file` was ever written and survives.
    pub fn exists(&self, file: &str) -> bool {
        self.files.contains_key(file)
    }

    /// Reads up to `len` bytes at `offset` of `file` (fewer at the end of the file).
    pub fn read(&mut self, file: &str, offset: u64, len: u64) -> Result<Vec<u8>, DiskError> {
        self.stats.reads += 1;
        let f = self.files.get(file).ok_or(DiskError::NotFound)?;
        let start = (offset as usize).min(f.cache.len());
        let end = (offset.saturating_add(len) as usize).min(f.cache.len());
        let (first, last) = (start as u64 / SECTOR_BYTES, (end as u64).div_ceil(SECTOR_BYTES));
        if let Some(bad) = f.bad_sectors.iter().find(|s| **s >= first && **s < last) {
            return Err(DiskError::Unreadable { offset: bad * SECTOR_BYTES });
        }
        let mut data = f.cache[start..end].to_vec();
        if !data.is_empty() && self.rng.chance_ppm(self.config.read_corruption_ppm) {
            let bit = self.rng.below(data.len() as u64 * 8);
            data[(bit / 8) as usize] ^= 1 << (bit % 8);
            self.stats.corrupted_reads += 1;
        }
        Ok(data)
    }

    /// Reads the whole of `file`.
    pub fn read_all(&mut self, file: &str) -> Result<Vec<u8>, DiskError> {
        let len = self.len(file);
        self.read(file, 0, len)
    }

    /// Starts an fsync of `file`: it covers every write issued so far.
    pub(crate) fn begin_fsync(&mut self, file: &str) -> FsyncId {
        let (index, _) = self.file_mut(file);
        let id = FsyncId(self.next_fsync);
        // A limit: 4 billion fsyncs of one disk in one run (hours of virtual time at full load).
        self.next_fsync = self.next_fsync.checked_add(1).expect("fsync ids exhausted");
        self.stats.fsyncs += 1;
        self.pending.push(PendingFsync { id, file: index, upto_seq: self.write_seq });
        id
    }

    /// When an fsync started at global time `now` completes: after a random latency, and never
    /// before an earlier fsync of this disk.
    pub(crate) fn fsync_done_at(&mut self, now: Nanos) -> Nanos {
        let latency =
            self.rng.between(self.config.fsync_latency_min, self.config.fsync_latency_max);
        let done = (now + latency).max(self.last_completion);
        self.last_completion = done;
        done
    }

    /// Starts an asynchronous read of `len` bytes at `offset` of `file`; the data is taken when it
    /// completes (so it sees writes issued meanwhile, as a real read served later would). Returns
    /// its id and its latency.
    pub(crate) fn begin_read(&mut self, file: &str, offset: u64, len: u64) -> (ReadId, Nanos) {
        let id = ReadId(self.next_read);
        self.next_read = self.next_read.checked_add(1).expect("read ids exhausted");
        self.reads.push((id, file.to_string(), offset, len));
        let latency = self.rng.between(self.config.read_latency_min, self.config.read_latency_max);
        (id, latency)
    }

    /// Completes the read `id`: its data, or `None` if it was lost in a crash.
    pub(crate) fn complete_read(&mut self, id: ReadId) -> Option<Result<Vec<u8>, DiskError>> {
        let position = self.reads.iter().position(|r| r.0 == id)?;
        let (_, file, offset, len) = self.reads.remove(position);
        Some(self.read(&file, offset, len))
    }

    /// Completes the fsync `id`; returns false if it was lost in a crash.
    pub(crate) fn complete_fsync(&mut self, id: FsyncId) -> bool {
        let Some(position) = self.pending.iter().position(|p| p.id == id) else {
            return false;
        };
        let fsync = self.pending.remove(position);
        let file = &mut self.files[fsync.file];
        let synced = file.unsynced.iter().take_while(|(seq, _)| *seq <= fsync.upto_seq).count();
        for (_, change) in file.unsynced.drain(..synced) {
            apply_change(&mut file.durable, &change);
        }
        true
    }

    /// A crash: the page cache is lost, pending fsyncs never complete, and the last unsynced
    /// write of each file may be torn.
    pub(crate) fn crash(&mut self) {
        self.pending.clear();
        self.reads.clear();
        for file in self.files.values_mut() {
            self.stats.unsynced_writes_lost += file.unsynced.len() as u64;
            if let Some((_, Change::Write { offset, data })) = file.unsynced.last() {
                if data.len() > 1 && self.rng.chance_ppm(self.config.torn_write_ppm) {
                    let keep = 1 + self.rng.below(data.len() as u64 - 1) as usize;
                    apply_write(&mut file.durable, *offset, &data[..keep]);
                    self.stats.torn_writes += 1;
                }
            }
            file.unsynced.clear();
            file.cache.clone_from(&file.durable);
        }
    }

    /// Silent corruption at rest: flips one bit of durable data in a random non-empty file.
    /// Returns the file and byte offset hit, or `None` if the disk holds no data.
    pub(crate) fn corrupt(&mut self) -> Option<(String, u64)> {
        let index = self.pick_file(|f| !f.durable.is_empty())?;
        let bit = self.rng.below(self.files[index].durable.len() as u64 * 8);
        let (name, file) = self.files.get_index_mut(index).expect("index from candidates");
        let byte = (bit / 8) as usize;
        file.durable[byte] ^= 1 << (bit % 8);
        if byte < file.cache.len() {
            file.cache[byte] ^= 1 << (bit % 8);
        }
        Some((name.clone(), byte as u64))
    }

    /// A latent sector error in a random sector holding data. Returns the file and offset.
    pub(crate) fn fail_sector(&mut self) -> Option<(String, u64)> {
        let index = self.pick_file(|f| !f.cache.is_empty())?;
        let sectors = (self.files[index].cache.len() as u64).div_ceil(SECTOR_BYTES);
        let sector = self.rng.below(sectors);
        let (name, file) = self.files.get_index_mut(index).expect("index from candidates");
        if !file.bad_sectors.contains(&sector) {
            file.bad_sectors.push(sector);
        }
        Some((name.clone(), sector * SECTOR_BYTES))
    }

    /// A random file among those `eligible` accepts, by index.
    fn pick_file(&mut self, eligible: impl Fn(&File) -> bool) -> Option<usize> {
        let candidates: Vec<usize> =
            (0..self.files.len()).filter(|&i| eligible(&self.files[i])).collect();
        self.rng.pick(&candidates).copied()
    }

    /// Counters since the disk was made.
    pub fn stats(&self) -> DiskStats {
        self.stats
    }

    /// Number of bytes written but not yet durable, over all files.
    pub fn unsynced_bytes(&self) -> u64 {
        self.files
            .values()
            .flat_map(|f| f.unsynced.iter())
            .map(|(_, c)| match c {
                Change::Write { data, .. } => data.len() as u64,
                Change::Truncate { .. } => 0,
            })
            .sum()
    }
}

fn apply_write(buffer: &mut Vec<u8>, offset: u64, data: &[u8]) {
    let (start, end) = (offset as usize, offset as usize + data.len());
    if buffer.len() < end {
        buffer.resize(end, 0);
    }
    buffer[start..end].copy_from_slice(data);
}

fn apply_change(buffer: &mut Vec<u8>, change: &Change) {
    match change {
        Change::Write { offset, data } => apply_write(buffer, *offset, data),
        Change::Truncate { len } => buffer.resize(*len as usize, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disk(torn_ppm: u32, corrupt_ppm: u32) -> Disk {
        let config = DiskConfig {
            torn_write_ppm: torn_ppm,
            read_corruption_ppm: corrupt_ppm,
            ..DiskConfig::default()
        };
        Disk::new(config, SimRng::new(1, 1))
    }

    #[test]
    fn unsynced_writes_are_lost_on_crash() {
        let mut d = disk(0, 0);
        d.append("log", b"one");
        let id = d.begin_fsync("log");
        assert!(d.fsync_done_at(0) >= 500_000);
        d.append("log", b"two"); // after the fsync was issued: not covered by it
        assert!(d.complete_fsync(id));
        assert_eq!(d.read_all("log").unwrap(), b"onetwo");
        d.crash();
        assert_eq!(d.read_all("log").unwrap(), b"one");
        assert_eq!(d.stats().unsynced_writes_lost, 1);
    }

    #[test]
    fn fsync_in_flight_at_crash_is_lost() {
        let mut d = disk(0, 0);
        d.write("meta", 0, b"term=3");
        let id = d.begin_fsync("meta");
        d.crash();
        assert!(!d.complete_fsync(id));
        assert_eq!(d.read_all("meta").unwrap(), b"");
    }

    #[test]
    fn truncation_is_durable_only_after_fsync() {
        let mut d = disk(0, 0);
        d.append("log", b"abcdef");
        let id = d.begin_fsync("log");
        d.complete_fsync(id);
        d.truncate("log", 2);
        assert_eq!(d.read_all("log").unwrap(), b"ab");
        d.crash();
        assert_eq!(d.read_all("log").unwrap(), b"abcdef");
    }

    #[test]
    fn crash_can_tear_the_last_unsynced_write() {
        let mut torn = 0;
        for seed in 0..50 {
            let mut d = Disk::new(
                DiskConfig { torn_write_ppm: 1_000_000, ..DiskConfig::default() },
                SimRng::new(seed, 9),
            );
            d.append("log", b"durable|");
            let id = d.begin_fsync("log");
            d.complete_fsync(id);
            d.append("log", b"0123456789");
            d.crash();
            let data = d.read_all("log").unwrap();
            assert!(data.starts_with(b"durable|"));
            let tail = &data[8..];
            assert!(!tail.is_empty() && tail.len() < 10, "a strict prefix survives");
            assert!(b"0123456789".starts_with(tail));
            torn += 1;
        }
        assert_eq!(torn, 50);
    }

    #[test]
    fn read_corruption_flips_exactly_one_bit() {
        let mut d = disk(0, 1_000_000);
        d.write("f", 0, &[0u8; 64]);
        let data = d.read_all("f").unwrap();
        let ones: u32 = data.iter().map(|b| b.count_ones()).sum();
        assert_eq!(ones, 1);
        assert_eq!(d.stats().corrupted_reads, 1);
    }

    #[test]
    fn corruption_at_rest_survives_crash_and_latent_errors_clear_on_rewrite() {
        let mut d = disk(0, 0);
        d.write("f", 0, &[0u8; 1024]);
        let id = d.begin_fsync("f");
        d.complete_fsync(id);
        let (file, offset) = d.corrupt().unwrap();
        assert_eq!(file, "f");
        d.crash();
        assert_eq!(d.read_all("f").unwrap()[offset as usize].count_ones(), 1);
        let (_, bad) = d.fail_sector().unwrap();
        assert_eq!(d.read_all("f"), Err(DiskError::Unreadable { offset: bad }));
        d.write("f", bad, &[7u8; SECTOR_BYTES as usize]);
        assert!(d.read_all("f").is_ok());
    }

    #[test]
    fn async_reads_see_the_data_at_completion_and_die_with_a_crash() {
        let mut d = disk(0, 0);
        d.write("f", 0, b"old");
        let (id, latency) = d.begin_read("f", 0, 3);
        assert!((50_000..=200_000).contains(&latency));
        d.write("f", 0, b"new");
        assert_eq!(d.complete_read(id), Some(Ok(b"new".to_vec())));
        assert_eq!(d.complete_read(id), None, "completes once");
        let (id, _) = d.begin_read("f", 0, 3);
        d.crash();
        assert_eq!(d.complete_read(id), None);
        let (id, _) = d.begin_read("missing", 0, 3);
        assert_eq!(d.complete_read(id), Some(Err(DiskError::NotFound)));
    }

    #[test]
    fn fsyncs_complete_in_issue_order() {
        let mut d = disk(0, 0);
        let mut last = 0;
        for i in 0..100 {
            d.append("log", b"x");
            d.begin_fsync("log");
            let done = d.fsync_done_at(i * 10);
            assert!(done >= last);
            last = done;
        }
    }
}
