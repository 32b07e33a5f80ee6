//! The storage system's settings: the scenario's `[protocol]` table, with `[protocol.bitcask]`
//! and `[protocol.lsm]` mirroring the engines' own settings (sizes in bytes, counts as
//! integers), read strictly: an unknown key or knob is an error that names it.

use crate::storage::bitcask::BitcaskConfig;
use crate::storage::lsm::{CompactionStyle, LsmConfig};
use crate::storage::{Bugs, EngineConfig, BUG_NAMES};
use serde::Deserialize;

/// Most engines one node may run (keys are spread over them by `key % engines`).
pub const ENGINES_MAX: u32 = 64;
/// Largest value the node stores, in bytes.
pub const VALUE_BYTES_MAX: usize = 1 << 16;
/// Most rows one scan returns, whatever it asks for.
pub const SCAN_LIMIT_MAX: u32 = 4096;

/// Which engine the node serves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EngineKind {
    /// The log-structured hash index (`crate::storage::bitcask`).
    Bitcask,
    /// The LSM-tree (`crate::storage::lsm`), the default: it has the most moving parts.
    #[default]
    Lsm,
}

/// `[protocol.bitcask]`: Bitcask's settings (see `BitcaskConfig`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BitcaskSettings {
    /// The active segment is closed once it holds this many bytes.
    pub segment_bytes_max: u64,
    /// A merge starts once this many segments are closed.
    pub merge_trigger_segments: usize,
}

impl Default for BitcaskSettings {
    fn default() -> Self {
        let c = BitcaskConfig::default();
        BitcaskSettings {
            segment_bytes_max: c.segment_bytes_max,
            merge_trigger_segments: c.merge_trigger_segments,
        }
    }
}

/// `compaction = "leveled" | "tiered"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompactionSetting {
    /// Leveled compaction (RocksDB's default).
    Leveled,
    /// Size-tiered compaction.
    Tiered,
}

/// `[protocol.lsm]`: the LSM-tree's settings (see `LsmConfig` for each one's meaning).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LsmSettings {
    /// The memtable is flushed once it holds this many bytes.
    pub memtable_bytes_max: u64,
    /// Target size of an SSTable data block.
    pub block_bytes: u64,
    /// Bloom filter bits per key.
    pub bloom_bits_per_key: u32,
    /// `"leveled"` or `"tiered"`.
    pub compaction: CompactionSetting,
    /// L0 tables that trigger a compaction into L1.
    pub l0_compaction_trigger: usize,
    /// Size of L1 in bytes.
    pub level_base_bytes: u64,
    /// Each level is this many times the one above.
    pub level_size_multiplier: u64,
    /// Most levels.
    pub levels_max: usize,
    /// Compaction output is cut into tables of about this many bytes.
    pub table_bytes_target: u64,
    /// Size-tiered: this many similar runs merge into one.
    pub tiered_min_merge_width: usize,
    /// Size-tiered: runs within this percentage of each other's size are similar.
    pub tiered_size_ratio_percent: u64,
}

impl Default for LsmSettings {
    fn default() -> Self {
        let c = LsmConfig::default();
        LsmSettings {
            memtable_bytes_max: c.memtable_bytes_max,
            block_bytes: c.block_bytes,
            bloom_bits_per_key: c.bloom_bits_per_key,
            compaction: match c.compaction {
                CompactionStyle::Leveled => CompactionSetting::Leveled,
                CompactionStyle::Tiered => CompactionSetting::Tiered,
            },
            l0_compaction_trigger: c.l0_compaction_trigger,
            level_base_bytes: c.level_base_bytes,
            level_size_multiplier: c.level_size_multiplier,
            levels_max: c.levels_max,
            table_bytes_target: c.table_bytes_target,
            tiered_min_merge_width: c.tiered_min_merge_width,
            tiered_size_ratio_percent: c.tiered_size_ratio_percent,
        }
    }
}

/// The storage system's `[protocol]` table.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// `"bitcask"` or `"lsm"` (the default).
    pub engine: EngineKind,
    /// Bitcask's settings (used when `engine = "bitcask"`).
    pub bitcask: BitcaskSettings,
    /// The LSM-tree's settings (used when `engine = "lsm"`).
    pub lsm: LsmSettings,
    /// Bytes stored per value: the 8-byte write id and filler (default 64, at least 8).
    pub value_bytes: usize,
    /// Engines per node; key `k` lives in engine `k % engines`, directory `e{i}` (default 1).
    pub engines: u32,
    /// Most rows a scan returns (default 32); a scan asking for more gets at most this many.
    pub scan_limit: u32,
    /// Bug knobs (`storage.*`, see `crate::storage::BUG_NAMES`), validated by name.
    #[serde(deserialize_with = "bugs")]
    pub bugs: Bugs,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            engine: EngineKind::default(),
            bitcask: BitcaskSettings::default(),
            lsm: LsmSettings::default(),
            value_bytes: 64,
            engines: 1,
            scan_limit: 32,
            bugs: Bugs::default(),
        }
    }
}

fn bugs<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Bugs, D::Error> {
    let mut bugs = Bugs::default();
    for name in Vec::<String>::deserialize(d)? {
        if !bugs.enable(&name) {
            return Err(serde::de::Error::custom(format!(
                "unknown bug knob `{name}` for system `storage` (its knobs: {})",
                BUG_NAMES.join(", ")
            )));
        }
    }
    Ok(bugs)
}

impl StorageConfig {
    /// The engine's configuration, as `crate::storage::open` takes it.
    pub fn engine_config(&self) -> EngineConfig {
        match self.engine {
            EngineKind::Bitcask => EngineConfig::Bitcask(BitcaskConfig {
                segment_bytes_max: self.bitcask.segment_bytes_max,
                merge_trigger_segments: self.bitcask.merge_trigger_segments,
            }),
            EngineKind::Lsm => {
                let l = &self.lsm;
                EngineConfig::Lsm(LsmConfig {
                    memtable_bytes_max: l.memtable_bytes_max,
                    block_bytes: l.block_bytes,
                    bloom_bits_per_key: l.bloom_bits_per_key,
                    compaction: match l.compaction {
                        CompactionSetting::Leveled => CompactionStyle::Leveled,
                        CompactionSetting::Tiered => CompactionStyle::Tiered,
                    },
                    l0_compaction_trigger: l.l0_compaction_trigger,
                    level_base_bytes: l.level_base_bytes,
                    level_size_multiplier: l.level_size_multiplier,
                    levels_max: l.levels_max,
                    table_bytes_target: l.table_bytes_target,
                    tiered_min_merge_width: l.tiered_min_merge_width,
                    tiered_size_ratio_percent: l.tiered_size_ratio_percent,
                })
            }
        }
    }

    /// Checks what serde cannot: ranges. The message names the key.
    pub fn validate(&self) -> Result<(), String> {
        let range = |key: &str, value: u64, lo: u64, hi: u64| {
            if (lo..=hi).contains(&value) {
                Ok(())
            } else {
                Err(format!("protocol.{key}: {value} is out of range ({lo} to {hi})"))
            }
        };
        range("value_bytes", self.value_bytes as u64, 8, VALUE_BYTES_MAX as u64)?;
        range("engines", u64::from(self.engines), 1, u64::from(ENGINES_MAX))?;
        range("scan_limit", u64::from(self.scan_limit), 1, u64::from(SCAN_LIMIT_MAX))?;
        let b = &self.bitcask;
        range("bitcask.segment_bytes_max", b.segment_bytes_max, 256, 1 << 30)?;
        range("bitcask.merge_trigger_segments", b.merge_trigger_segments as u64, 2, 1024)?;
        let l = &self.lsm;
        range("lsm.memtable_bytes_max", l.memtable_bytes_max, 256, 1 << 30)?;
        range("lsm.block_bytes", l.block_bytes, 64, 1 << 20)?;
        range("lsm.bloom_bits_per_key", u64::from(l.bloom_bits_per_key), 0, 64)?;
        range("lsm.l0_compaction_trigger", l.l0_compaction_trigger as u64, 1, 1024)?;
        range("lsm.level_base_bytes", l.level_base_bytes, 256, 1 << 40)?;
        range("lsm.level_size_multiplier", l.level_size_multiplier, 2, 100)?;
        range("lsm.levels_max", l.levels_max as u64, 2, 16)?;
        range("lsm.table_bytes_target", l.table_bytes_target, 256, 1 << 30)?;
        range("lsm.tiered_min_merge_width", l.tiered_min_merge_width as u64, 2, 64)?;
        range("lsm.tiered_size_ratio_percent", l.tiered_size_ratio_percent, 0, 10_000)?;
        Ok(())
    }
}
