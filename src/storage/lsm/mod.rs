//! An LSM-tree, after LevelDB and RocksDB. TO BE WRITTEN.

use super::{Bugs, DiskIo, Engine, StorageError};

/// How levels are compacted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompactionStyle {
    /// RocksDB's leveled compaction: L0 overlapping, L1.. each sorted and non-overlapping,
    /// each level `level_size_multiplier` times the one above.
    Leveled,
    /// Size-tiered (Cassandra's STCS, RocksDB's universal): runs of similar size merge.
    Tiered,
}

/// The LSM-tree's settings: RocksDB's names, its defaults scaled down for the simulation.
#[derive(Clone, Debug, PartialEq, Eq)]
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
        }
    }
}

/// A Lsm store in one directory.
pub struct Lsm {}

impl Lsm {
    /// Opens (recovers) the store in `dir`.
    pub fn open(
        _io: &mut dyn DiskIo,
        _dir: &str,
        _config: LsmConfig,
        _bugs: Bugs,
    ) -> Result<Self, StorageError> {
        unimplemented!("lsm")
    }
}

impl Engine for Lsm {
    fn name(&self) -> &'static str {
        "lsm"
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
