//! A log-structured hash index, after Bitcask (Sheehy and Smith, 2010). TO BE WRITTEN.

use super::{Bugs, DiskIo, Engine, StorageError};

/// Bitcask's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BitcaskConfig {
    /// The active segment is closed and a new one started once it holds this many bytes.
    pub segment_bytes_max: u64,
    /// A merge of the closed segments starts once there are this many.
    pub merge_trigger_segments: usize,
}

impl Default for BitcaskConfig {
    fn default() -> Self {
        BitcaskConfig { segment_bytes_max: 64 << 10, merge_trigger_segments: 4 }
    }
}

/// A Bitcask store in one directory.
pub struct Bitcask {}

impl Bitcask {
    /// Opens (recovers) the store in `dir`.
    pub fn open(
        _io: &mut dyn DiskIo,
        _dir: &str,
        _config: BitcaskConfig,
        _bugs: Bugs,
    ) -> Result<Self, StorageError> {
        unimplemented!("bitcask")
    }
}

impl Engine for Bitcask {
    fn name(&self) -> &'static str {
        "bitcask"
    }
    fn get(&mut self, _: &mut dyn DiskIo, _: &[u8]) -> Result<Option<super::Found>, StorageError> {
        unimplemented!()
    }
    fn put(&mut self, _: &mut dyn DiskIo, _: &[u8], _: &[u8]) -> super::Seq {
        unimplemented!()
    }
    fn delete(&mut self, _: &mut dyn DiskIo, _: &[u8]) -> super::Seq {
        unimplemented!()
    }
    fn scan(
        &mut self,
        _: &mut dyn DiskIo,
        _: super::Range<'_>,
        _: usize,
    ) -> Result<Vec<super::Row>, StorageError> {
        unimplemented!()
    }
    fn sync(&mut self, _: &mut dyn DiskIo) {
        unimplemented!()
    }
    fn on_fsync(&mut self, _: &mut dyn DiskIo, _: crate::node::FsyncId) -> bool {
        unimplemented!()
    }
    fn durable_seq(&self) -> super::Seq {
        unimplemented!()
    }
    fn last_seq(&self) -> super::Seq {
        unimplemented!()
    }
    fn stats(&self) -> super::EngineStats {
        unimplemented!()
    }
    fn damage(&self) -> &super::DamageLog {
        unimplemented!()
    }
    fn describe(&self) -> String {
        unimplemented!()
    }
}
