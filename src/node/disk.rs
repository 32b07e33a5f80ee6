//! The node's view of its disk: files it can write, read, create, rename, delete and list.
//!
//! This is all a protocol may do to its disk. The device behind it (fsync queues, crashes,
//! corruption, misdirected writes) belongs to the simulator, which alone can reach it; fsyncs
//! and timed reads go through [`super::Context::fsync`], [`super::Context::fsync_dir`] and
//! [`super::Context::read`] so that their completions are events. See [`crate::world::disk`]
//! for what is durable when.

use super::{DiskError, NameError};
use crate::world::disk::Disk as Device;

/// A handle on the node's disk, for one handler call.
pub struct Disk<'a> {
    device: &'a mut Device,
}

impl<'a> Disk<'a> {
    /// The protocol's view of `device`.
    pub(crate) fn new(device: &'a mut Device) -> Self {
        Disk { device }
    }

    /// Writes `data` at `offset` of `file` (a gap reads as zeros); it lands in the page cache
    /// and is durable after an fsync of the file. A missing root file is created; a missing
    /// file in a directory is a bug (create it first).
    pub fn write(&mut self, file: &str, offset: u64, data: &[u8]) {
        self.device.write(file, offset, data)
    }

    /// Appends `data` to `file`; returns the offset it was written at.
    pub fn append(&mut self, file: &str, data: &[u8]) -> u64 {
        self.device.append(file, data)
    }

    /// Cuts `file` to `len` bytes (or extends it with zeros).
    pub fn truncate(&mut self, file: &str, len: u64) {
        self.device.truncate(file, len)
    }

    /// Length of `file` as reads see it (0 if it does not exist).
    pub fn len(&self, file: &str) -> u64 {
        self.device.len(file)
    }

    /// True if `file` is empty or missing.
    pub fn is_empty(&self, file: &str) -> bool {
        self.len(file) == 0
    }

    /// True if a file is named `file` now.
    pub fn exists(&self, file: &str) -> bool {
        self.device.exists(file)
    }

    /// Reads up to `len` bytes at `offset` of `file` at once, as from the page cache (fewer at
    /// the end of the file). A read may come back corrupted or fail on a bad sector.
    pub fn read(&mut self, file: &str, offset: u64, len: u64) -> Result<Vec<u8>, DiskError> {
        self.device.read(file, offset, len)
    }

    /// Reads the whole of `file`.
    pub fn read_all(&mut self, file: &str) -> Result<Vec<u8>, DiskError> {
        self.device.read_all(file)
    }

    /// Creates an empty file `path`; its name is durable after an fsync of its directory.
    pub fn create(&mut self, path: &str) -> Result<(), NameError> {
        self.device.create(path)
    }

    /// Unlinks `path`; durable after an fsync of its directory.
    pub fn delete(&mut self, path: &str) -> Result<(), NameError> {
        self.device.delete(path)
    }

    /// Renames `from` to `to` atomically (replacing `to`); durable after an fsync of either
    /// directory.
    pub fn rename(&mut self, from: &str, to: &str) -> Result<(), NameError> {
        self.device.rename(from, to)
    }

    /// The names of the files directly in directory `dir` (`""`: the root), sorted.
    pub fn list(&self, dir: &str) -> Vec<String> {
        self.device.list(dir)
    }
}

/// What a storage engine needs of its node: the disk, and fsyncs whose completions come back
/// as [`super::Node::on_fsync`] calls. [`super::Context`] implements it for every node, and
/// [`super::testing::DiskHarness`] implements it for an engine driven by hand in a test, so an
/// engine (`crate::storage`) is written once against this trait and tested alone.
pub trait DiskIo {
    /// The disk: reads and writes act on it at once (the page cache).
    fn disk(&mut self) -> Disk<'_>;
    /// Starts an fsync of `file` (see [`super::Context::fsync`]).
    fn fsync(&mut self, file: &str) -> super::FsyncId;
    /// Starts an fsync of directory `dir` (see [`super::Context::fsync_dir`]).
    fn fsync_dir(&mut self, dir: &str) -> super::FsyncId;
}

impl<N: super::Node> DiskIo for super::Context<'_, N> {
    fn disk(&mut self) -> Disk<'_> {
        super::Context::disk(self)
    }
    fn fsync(&mut self, file: &str) -> super::FsyncId {
        super::Context::fsync(self, file)
    }
    fn fsync_dir(&mut self, dir: &str) -> super::FsyncId {
        super::Context::fsync_dir(self, dir)
    }
}
