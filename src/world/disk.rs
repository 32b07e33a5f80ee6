//! A node's simulated disk: files in directories, each file with a volatile page cache and a
//! durable image, and directories whose names are durable only once the directory is synced.
//!
//! # File data
//! - `write`, `append` and `truncate` change the page cache at once; reads see them at once.
//! - `fsync(file)` takes time; when it completes, every write to that file issued before the
//!   call is durable. Completions of one disk happen in the order they were issued.
//! - A crash throws the page cache away: the files become their durable image. With the
//!   configured probability the last unsynced write of a file is *torn*: a prefix of it reached
//!   the platter. Protocols find torn records with checksums.
//! - Reads can return a flipped bit (transient corruption) and injected faults can corrupt data
//!   at rest or make a sector unreadable (a latent sector error) until it is rewritten.
//!
//! # Names
//! A path is `/`-separated names (`wal/000001.log`, `MANIFEST`); its directory is everything
//! before the last `/` (`""`, the root, if there is none). Directories are implicit: one exists
//! while it holds a file, there is no `mkdir`, and a directory's own existence needs no sync.
//! [`Disk::list`] names the files directly in a directory, not its subdirectories.
//!
//! As on ext4 and XFS, a file's data and its name are made durable separately:
//! - `create`, `delete` (unlink) and `rename` change the *volatile* name table at once: reads,
//!   `exists` and `list` see the change at once. `rename` replaces its target atomically.
//! - A directory fsync ([`crate::node::Context::fsync_dir`]) takes an fsync's latency; when it
//!   completes, every name operation in that directory issued before the call is durable (for a
//!   rename between directories, an fsync of either one). An fsync of a *file* makes no name
//!   durable: a file created and fsynced, but whose directory was not synced, vanishes in a crash
//!   with its data. (ext4's journal often persists it anyway; the portable contract does not.)
//! - A journaling file system commits metadata in order, and so does this disk: the durable name
//!   table is always the volatile one as it was after some earlier operation. A directory fsync
//!   therefore also commits the name operations issued before those it covers, in any directory;
//!   strict POSIX promises less, and a protocol should not rely on it.
//! - At a crash, the name operations no completed directory fsync covered are replayed in order;
//!   each survives with probability `1 - dir_op_lost`, and the first lost one ends the replay.
//!   The default, `dir_op_lost = 1`, loses them all: the worst case the contract allows, every
//!   time, so a missing directory fsync shows at the first crash. Lower values model a journal
//!   that commits on its own every few seconds.
//! - So a crash can undo a create (the file vanishes, even if its data was fsynced), a rename
//!   (the old name is back; the new name shows what it named before, or nothing) or a delete (the
//!   file is back with its durable contents). A file's data never depends on its names.
//! - Writing, truncating or fsyncing a *root* file that does not exist creates it implicitly,
//!   and that name is durable at once (committing the name operations before it, as a journal
//!   would). That is how this disk behaved before it had directories, kept so the protocols that
//!   never `create` behave as they did. Inside a directory a file must be created first: writing
//!   a missing one is a protocol bug and panics.
//!
//! # Misdirected writes
//! An injected fault arms the disk so that one of its next [`MISDIRECT_WITHIN_WRITES`] writes
//! lands in the wrong place (TigerBeetle's fault model): a whole number of sectors away in the
//! same file, or in another file. The bytes land there in the page cache and on the platter
//! alike, as with direct I/O, and become durable with that file's fsync; the intended place
//! keeps its old bytes. A checksum over a record alone accepts both the record where it landed
//! and the stale one left behind; one that also covers the record's file and offset catches the
//! first, a sequence number or hash chain the second.
//!
//! The disk survives crashes and restarts; node memory does not.

mod names;
#[cfg(test)]
mod tests;

use crate::engine::{Nanos, SimRng};
use names::{dir_of, valid_path, Names};
use std::fmt;

/// Sector size used for latent sector errors and misdirected writes.
pub const SECTOR_BYTES: u64 = 512;
/// Largest file a simulated disk accepts; writes beyond it are a protocol bug.
pub const FILE_BYTES_MAX: u64 = 1 << 30;
/// Most files one disk holds at once (named, or unlinked but still needed by a crash); more is a
/// protocol leak.
pub const FILES_MAX: usize = 1 << 20;
/// A misdirect fault hits one of this many writes after it, drawn uniformly.
pub const MISDIRECT_WITHIN_WRITES: u32 = 8;

/// How a disk behaves. Probabilities are in parts per million.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskConfig {
    /// Fastest fsync (of a file or a directory).
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
    /// Chance that a crash loses a name operation (create, delete, rename) that no directory
    /// fsync covered, given the operations before it survived.
    pub dir_op_lost_ppm: u32,
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
            dir_op_lost_ppm: 1_000_000,
        }
    }
}

/// Identifies an asynchronous read in flight; handed back to the node with its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReadId(pub u32);

/// Identifies an fsync (of a file or a directory) in flight; handed back to the node when it
/// completes.
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

/// Why a name operation (create, delete, rename) failed. Nothing changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameError {
    /// No file of that name (the source, for a rename).
    NotFound,
    /// `create` of a name that exists.
    AlreadyExists,
    /// Not a path: empty, or with an empty name (`a//b`, `/a`, `a/`).
    InvalidPath,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::NotFound => write!(f, "no such file"),
            NameError::AlreadyExists => write!(f, "file exists"),
            NameError::InvalidPath => write!(f, "invalid path"),
        }
    }
}

#[derive(Clone, Debug)]
enum Change {
    Write { offset: u64, data: Vec<u8> },
    Truncate { len: u64 },
}

/// A file's slot in the disk's file table (an inode): its index, and the generation of the slot
/// so a reference to a freed file never reaches the file that reuses the slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Inode {
    index: u32,
    generation: u32,
}

#[derive(Clone, Debug, Default)]
struct File {
    in_use: bool,
    generation: u32,
    cache: Vec<u8>,
    durable: Vec<u8>,
    /// Writes not yet durable, oldest first, each with the disk-wide write sequence number.
    unsynced: Vec<(u64, Change)>,
    /// Sector numbers that cannot be read.
    bad_sectors: Vec<u64>,
}

#[derive(Clone, Copy, Debug)]
enum Synced {
    /// A file's writes up to this write sequence number.
    File { inode: Inode, upto_seq: u64 },
    /// Name operations up to this name-operation sequence number.
    Dir { upto_op: u64 },
}

#[derive(Clone, Debug)]
struct PendingFsync {
    id: FsyncId,
    synced: Synced,
}

/// Counters a report can show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct DiskStats {
    pub writes: u64,
    pub bytes_written: u64,
    /// File fsyncs started.
    pub fsyncs: u64,
    pub reads: u64,
    /// Bytes reads returned.
    pub bytes_read: u64,
    pub torn_writes: u64,
    pub corrupted_reads: u64,
    pub unsynced_writes_lost: u64,
    /// Explicit creates (implicit creations by a first write are not counted).
    pub creates: u64,
    pub deletes: u64,
    pub renames: u64,
    /// Directory fsyncs started.
    pub dir_fsyncs: u64,
    /// Name operations a crash undid.
    pub dir_ops_lost: u64,
    /// Writes that landed in the wrong place.
    pub misdirected_writes: u64,
}

impl std::ops::AddAssign for DiskStats {
    fn add_assign(&mut self, other: DiskStats) {
        self.writes += other.writes;
        self.bytes_written += other.bytes_written;
        self.fsyncs += other.fsyncs;
        self.reads += other.reads;
        self.bytes_read += other.bytes_read;
        self.torn_writes += other.torn_writes;
        self.corrupted_reads += other.corrupted_reads;
        self.unsynced_writes_lost += other.unsynced_writes_lost;
        self.creates += other.creates;
        self.deletes += other.deletes;
        self.renames += other.renames;
        self.dir_fsyncs += other.dir_fsyncs;
        self.dir_ops_lost += other.dir_ops_lost;
        self.misdirected_writes += other.misdirected_writes;
    }
}

/// One node's disk.
#[derive(Clone, Debug)]
pub struct Disk {
    /// The file table; a freed slot is reused by the next new file.
    files: Vec<File>,
    free_files: Vec<u32>,
    names: Names,
    config: DiskConfig,
    rng: SimRng,
    write_seq: u64,
    next_fsync: u32,
    pending: Vec<PendingFsync>,
    last_completion: Nanos,
    next_read: u32,
    reads: Vec<(ReadId, String, u64, u64)>,
    /// Armed by a misdirect fault: how many writes pass before the one that goes astray.
    misdirect_in: Option<u32>,
    /// Scratch for finding unreferenced files, kept to avoid an allocation each time.
    live: Vec<bool>,
    stats: DiskStats,
}

impl Disk {
    /// An empty disk that draws its randomness from `rng`.
    pub fn new(config: DiskConfig, rng: SimRng) -> Self {
        Disk {
            files: Vec::new(),
            free_files: Vec::new(),
            names: Names::default(),
            config,
            rng,
            write_seq: 0,
            next_fsync: 1,
            pending: Vec::new(),
            last_completion: 0,
            next_read: 1,
            reads: Vec::new(),
            misdirect_in: None,
            live: Vec::new(),
            stats: DiskStats::default(),
        }
    }

    /// The directory of `path`: everything before its last `/` (`""`, the root, if none).
    pub fn dir_of(path: &str) -> &str {
        dir_of(path)
    }

    fn file(&self, path: &str) -> Option<&File> {
        self.names.get(path).map(|inode| &self.files[inode.index as usize])
    }

    /// The file `path` names, created implicitly (durable at once) if it is a missing root file.
    fn file_for_write(&mut self, path: &str) -> Inode {
        if let Some(inode) = self.names.get(path) {
            return inode;
        }
        assert!(
            dir_of(path).is_empty(),
            "{path}: no such file (only root files are created by writing; create it first)"
        );
        assert!(valid_path(path), "{path:?} is not a file name");
        let inode = self.allocate();
        if self.names.create_durable(path, inode) {
            self.free_unreferenced();
        }
        inode
    }

    fn allocate(&mut self) -> Inode {
        let index = match self.free_files.pop() {
            Some(index) => index,
            None => {
                assert!(self.files.len() < FILES_MAX, "more than {FILES_MAX} files on one disk");
                self.files.push(File::default());
                (self.files.len() - 1) as u32
            }
        };
        let file = &mut self.files[index as usize];
        assert!(!file.in_use, "allocated a file in use");
        file.in_use = true;
        Inode { index, generation: file.generation }
    }

    /// Frees every file no name and no pending name operation refers to: no crash can bring
    /// it back.
    fn free_unreferenced(&mut self) {
        self.live.clear();
        self.live.resize(self.files.len(), false);
        self.names.mark_live(&mut self.live);
        for index in 0..self.files.len() {
            if self.files[index].in_use && !self.live[index] {
                let generation = self.files[index].generation.wrapping_add(1);
                self.files[index] = File { generation, ..File::default() };
                self.free_files.push(index as u32);
            }
        }
    }

    /// Writes `data` at `offset` of `file` (a gap reads as zeros). A missing root file is
    /// created; a missing file in a directory is a bug (create it first).
    pub fn write(&mut self, file: &str, offset: u64, data: &[u8]) {
        let end = offset + data.len() as u64;
        assert!(end <= FILE_BYTES_MAX, "write past {FILE_BYTES_MAX} bytes to {file}");
        self.write_seq += 1;
        let seq = self.write_seq;
        self.stats.writes += 1;
        self.stats.bytes_written += data.len() as u64;
        let intended = self.file_for_write(file);
        let (inode, offset) = self.misdirect(intended, offset, data.len() as u64);
        let end = offset + data.len() as u64;
        let f = &mut self.files[inode.index as usize];
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
        let inode = self.file_for_write(file);
        let f = &mut self.files[inode.index as usize];
        f.cache.resize(len as usize, 0);
        f.unsynced.push((seq, Change::Truncate { len }));
    }

    /// Length of `file` as reads see it (0 if it does not exist).
    pub fn len(&self, file: &str) -> u64 {
        self.file(file).map_or(0, |f| f.cache.len() as u64)
    }

    /// True if a file is named `file` now.
    pub fn exists(&self, file: &str) -> bool {
        self.names.get(file).is_some()
    }

    /// Reads up to `len` bytes at `offset` of `file` (fewer at the end of the file).
    pub fn read(&mut self, file: &str, offset: u64, len: u64) -> Result<Vec<u8>, DiskError> {
        self.stats.reads += 1;
        let f = self.file(file).ok_or(DiskError::NotFound)?;
        let start = (offset as usize).min(f.cache.len());
        let end = (offset.saturating_add(len) as usize).min(f.cache.len());
        let (first, last) = (start as u64 / SECTOR_BYTES, (end as u64).div_ceil(SECTOR_BYTES));
        if let Some(bad) = f.bad_sectors.iter().find(|s| **s >= first && **s < last) {
            return Err(DiskError::Unreadable { offset: bad * SECTOR_BYTES });
        }
        let mut data = f.cache[start..end].to_vec();
        self.stats.bytes_read += data.len() as u64;
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

    /// Creates an empty file named `path`. The name is durable once an fsync of its directory
    /// started after this call completes; a crash before that undoes the create.
    pub fn create(&mut self, path: &str) -> Result<(), NameError> {
        if !valid_path(path) {
            return Err(NameError::InvalidPath);
        }
        if self.names.get(path).is_some() {
            return Err(NameError::AlreadyExists);
        }
        let inode = self.allocate();
        self.names.create(path, inode);
        self.stats.creates += 1;
        Ok(())
    }

    /// Unlinks `path`. Its data goes with it once an fsync of its directory makes the delete
    /// durable; a crash before that brings the file back with its durable contents.
    pub fn delete(&mut self, path: &str) -> Result<(), NameError> {
        self.names.delete(path).ok_or(NameError::NotFound)?;
        self.stats.deletes += 1;
        Ok(())
    }

    /// Renames `from` to `to` atomically, replacing the file `to` named, if any. Durable once an
    /// fsync of either directory, started after this call, completes; a crash before that
    /// restores both names as they were. Renaming a file to its own name does nothing.
    pub fn rename(&mut self, from: &str, to: &str) -> Result<(), NameError> {
        if !valid_path(to) {
            return Err(NameError::InvalidPath);
        }
        if self.names.get(from).is_none() {
            return Err(NameError::NotFound);
        }
        if from != to {
            self.names.rename(from, to).expect("checked above");
        }
        self.stats.renames += 1;
        Ok(())
    }

    /// The names of the files directly in directory `dir` (`""` is the root) as reads see them
    /// now, sorted bytewise. Subdirectories are not listed.
    pub fn list(&self, dir: &str) -> Vec<String> {
        self.names.list(dir)
    }

    fn next_fsync_id(&mut self) -> FsyncId {
        let id = FsyncId(self.next_fsync);
        // A limit: 4 billion fsyncs of one disk in one run (hours of virtual time at full load).
        self.next_fsync = self.next_fsync.checked_add(1).expect("fsync ids exhausted");
        id
    }

    /// Starts an fsync of `file`: it covers every write issued so far.
    pub(crate) fn begin_fsync(&mut self, file: &str) -> FsyncId {
        let inode = self.file_for_write(file);
        let id = self.next_fsync_id();
        self.stats.fsyncs += 1;
        let synced = Synced::File { inode, upto_seq: self.write_seq };
        self.pending.push(PendingFsync { id, synced });
        id
    }

    /// Starts an fsync of directory `dir` (`""` is the root): it covers every name operation in
    /// `dir` issued so far, and with them every name operation issued before them.
    pub(crate) fn begin_fsync_dir(&mut self, dir: &str) -> FsyncId {
        assert!(dir.is_empty() || valid_path(dir), "{dir:?} is not a directory name");
        let id = self.next_fsync_id();
        self.stats.dir_fsyncs += 1;
        let synced = Synced::Dir { upto_op: self.names.last_op_in(dir) };
        self.pending.push(PendingFsync { id, synced });
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
        match self.pending.remove(position).synced {
            Synced::File { inode, upto_seq } => {
                let file = &mut self.files[inode.index as usize];
                if file.generation != inode.generation {
                    return true; // the file was freed meanwhile: nothing left to make durable
                }
                let synced = file.unsynced.iter().take_while(|(seq, _)| *seq <= upto_seq).count();
                for (_, change) in file.unsynced.drain(..synced) {
                    apply_change(&mut file.durable, &change);
                }
            }
            Synced::Dir { upto_op } => {
                if self.names.commit(upto_op) {
                    self.free_unreferenced();
                }
            }
        }
        true
    }

    /// A crash: the page cache is lost, pending fsyncs never complete, the last unsynced write
    /// of each file may be torn, and name operations no directory fsync covered may be undone.
    pub(crate) fn crash(&mut self) {
        self.pending.clear();
        self.reads.clear();
        for file in self.files.iter_mut().filter(|f| f.in_use) {
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
        if self.names.pending() > 0 {
            self.stats.dir_ops_lost += self.names.crash(&mut self.rng, self.config.dir_op_lost_ppm);
            self.free_unreferenced();
        }
    }

    /// Silent corruption at rest: flips one bit of durable data in a random non-empty file.
    /// Returns the file and byte offset hit, or `None` if the disk holds no data.
    pub(crate) fn corrupt(&mut self) -> Option<(String, u64)> {
        let index = self.pick_file(|f| !f.durable.is_empty())?;
        let file = &mut self.files[index];
        let bit = self.rng.below(file.durable.len() as u64 * 8);
        let byte = (bit / 8) as usize;
        file.durable[byte] ^= 1 << (bit % 8);
        if byte < file.cache.len() {
            file.cache[byte] ^= 1 << (bit % 8);
        }
        Some((self.name_of(index), byte as u64))
    }

    /// A latent sector error in a random sector holding data. Returns the file and offset.
    pub(crate) fn fail_sector(&mut self) -> Option<(String, u64)> {
        let index = self.pick_file(|f| !f.cache.is_empty())?;
        let sectors = (self.files[index].cache.len() as u64).div_ceil(SECTOR_BYTES);
        let sector = self.rng.below(sectors);
        let file = &mut self.files[index];
        if !file.bad_sectors.contains(&sector) {
            file.bad_sectors.push(sector);
        }
        Some((self.name_of(index), sector * SECTOR_BYTES))
    }

    /// Arms a misdirected write: one of the next [`MISDIRECT_WITHIN_WRITES`] writes lands in the
    /// wrong place. Returns which one (1 is the next). A disk armed twice keeps the earlier one.
    pub(crate) fn arm_misdirect(&mut self) -> u32 {
        let skip = self.rng.below(u64::from(MISDIRECT_WITHIN_WRITES)) as u32;
        let skip = self.misdirect_in.map_or(skip, |armed| armed.min(skip));
        self.misdirect_in = Some(skip);
        skip + 1
    }

    /// Where a write meant for `offset` of `intended` lands: there, unless this is the write a
    /// misdirect fault armed. Then a random file (possibly the same one), in a random sector at
    /// most one past that file's end (never the intended one), at the same position within the
    /// sector as intended.
    fn misdirect(&mut self, intended: Inode, offset: u64, len: u64) -> (Inode, u64) {
        match self.misdirect_in {
            None => return (intended, offset),
            Some(0) => self.misdirect_in = None,
            Some(n) => {
                self.misdirect_in = Some(n - 1);
                return (intended, offset);
            }
        }
        let index = self.pick_file(|_| true).expect("the intended file is in use");
        let target = Inode { index: index as u32, generation: self.files[index].generation };
        let within = offset % SECTOR_BYTES;
        let intended_sector = offset / SECTOR_BYTES;
        let mut sectors = (self.files[index].cache.len() as u64).div_ceil(SECTOR_BYTES) + 1;
        let same = target == intended;
        if same {
            sectors = sectors.max(intended_sector + 1) + 1; // one choice is skipped below
        }
        let fit = (FILE_BYTES_MAX - len - within) / SECTOR_BYTES + 1; // sectors the write fits at
        let choices = sectors.min(fit);
        if same && choices < 2 {
            return (intended, offset); // a file near the size limit with nowhere else to go
        }
        let mut sector = self.rng.below(if same { choices - 1 } else { choices });
        if same && sector >= intended_sector {
            sector += 1;
        }
        self.stats.misdirected_writes += 1;
        (target, sector * SECTOR_BYTES + within)
    }

    /// A name of file `index` for fault messages.
    fn name_of(&self, index: usize) -> String {
        let inode = Inode { index: index as u32, generation: self.files[index].generation };
        self.names.name_of(inode).unwrap_or("(unlinked)").to_string()
    }

    /// A random file in use among those `eligible` accepts, by index.
    fn pick_file(&mut self, eligible: impl Fn(&File) -> bool) -> Option<usize> {
        let candidates: Vec<usize> = (0..self.files.len())
            .filter(|&i| self.files[i].in_use && eligible(&self.files[i]))
            .collect();
        self.rng.pick(&candidates).copied()
    }

    /// Counters since the disk was made.
    pub fn stats(&self) -> DiskStats {
        self.stats
    }

    /// Bytes of file data that would survive a crash now, over the files in use.
    pub fn durable_bytes(&self) -> u64 {
        self.files.iter().filter(|f| f.in_use).map(|f| f.durable.len() as u64).sum()
    }

    /// Number of bytes written but not yet durable, over all files.
    pub fn unsynced_bytes(&self) -> u64 {
        self.files
            .iter()
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
