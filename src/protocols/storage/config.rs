//! The storage system's settings: the scenario's `[protocol]` table, with `[protocol.bitcask]`
//! and `[protocol.lsm]` read straight into the engines' own settings (sizes in bytes, counts
//! as integers), strictly: an unknown key or knob is an error that names it.

use crate::storage::bitcask::BitcaskConfig;
use crate::storage::lsm::LsmConfig;
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

/// The storage system's `[protocol]` table.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// `"bitcask"` or `"lsm"` (the default).
    pub engine: EngineKind,
    /// Bitcask's settings (used when `engine = "bitcask"`).
    pub bitcask: BitcaskConfig,
    /// The LSM-tree's settings (used when `engine = "lsm"`).
    pub lsm: LsmConfig,
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
            bitcask: BitcaskConfig::default(),
            lsm: LsmConfig::default(),
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
            EngineKind::Bitcask => EngineConfig::Bitcask(self.bitcask.clone()),
            EngineKind::Lsm => EngineConfig::Lsm(self.lsm.clone()),
        }
    }

    /// Checks what serde cannot: ranges. The message names the key.
    pub fn validate(&self) -> Result<(), String> {
        let range = crate::system::check_range;
        range("value_bytes", self.value_bytes as u64, 8, VALUE_BYTES_MAX as u64)?;
        range("engines", u64::from(self.engines), 1, u64::from(ENGINES_MAX))?;
        range("scan_limit", u64::from(self.scan_limit), 1, u64::from(SCAN_LIMIT_MAX))?;
        let b = &self.bitcask;
        range("bitcask.segment_bytes_max", b.segment_bytes_max, 256, 1 << 30)?;
        range("bitcask.merge_trigger_segments", b.merge_trigger_segments as u64, 2, 1024)?;
        range("bitcask.merge_dead_percent_min", b.merge_dead_percent_min, 1, 100)?;
        range("bitcask.merge_inputs_max", b.merge_inputs_max as u64, 2, 64)?;
        let l = &self.lsm;
        range("lsm.memtable_bytes_max", l.memtable_bytes_max, 256, 1 << 30)?;
        range("lsm.block_bytes", l.block_bytes, 64, 1 << 20)?;
        range("lsm.bloom_bits_per_key", u64::from(l.bloom_bits_per_key), 1, 64)?;
        range("lsm.l0_compaction_trigger", l.l0_compaction_trigger as u64, 1, 1024)?;
        range("lsm.level_base_bytes", l.level_base_bytes, 256, 1 << 40)?;
        range("lsm.level_size_multiplier", l.level_size_multiplier, 2, 100)?;
        range("lsm.levels_max", l.levels_max as u64, 2, 16)?;
        range("lsm.table_bytes_target", l.table_bytes_target, 256, 1 << 30)?;
        range("lsm.tiered_min_merge_width", l.tiered_min_merge_width as u64, 2, 64)?;
        range("lsm.tiered_size_ratio_percent", l.tiered_size_ratio_percent, 0, 10_000)?;
        range("lsm.tiered_runs_max", l.tiered_runs_max as u64, 2, 1024)?;
        range("lsm.manifest_bytes_max", l.manifest_bytes_max, 4096, 1 << 30)?;
        Ok(())
    }
}
