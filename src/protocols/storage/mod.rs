//! The storage system (`system = "storage"`): one node serving a storage engine
//! (`crate::storage`: Bitcask or an LSM-tree) under crashes and disk faults, and a checker
//! that compares every read with a model of the writes clients had acknowledged.
//!
//! - [`api`]: get, put, delete and scan on `u32` keys; every put writes a unique id, so every
//!   read names the write it saw, and bytes that do not decode are reported as garbled.
//! - [`node`]: applies writes at once, acknowledges them only once durable (group commit),
//!   deduplicates retries while up, fails reads whose data the engine found damaged.
//! - [`check`]: `storage_durability` (reads against acknowledged writes: never-written values,
//!   stale reads and lost writes, resurrected deletes, sequence order, scan completeness) and
//!   `storage_recovers` (an engine never fails to open for a file its metadata names).
//! - [`config`]: `[protocol]`, `[protocol.bitcask]`, `[protocol.lsm]`, and the bug knobs.
//!
//! The engine defaults to `lsm`; `engine = "bitcask"` picks the other. Node 0 serves; in a
//! scenario with more nodes the others redirect clients to it (they hold no data).

pub mod api;
pub mod check;
pub mod config;
pub mod node;
pub mod testing;
#[cfg(test)]
mod tests;

pub use api::{StorageApi, StorageOp, StorageResult, Stored, Version};
pub use config::StorageConfig;
pub use node::StorageNode;

use crate::check::Checks;
use crate::node::NodeId;
use crate::system::{Cluster, System};

/// The storage system packaged for scenarios.
pub struct StorageSystem;

impl System for StorageSystem {
    const NAME: &'static str = "storage";
    const ABOUT: &'static str =
        "a storage engine (bitcask or lsm) on one node's disk; reads judged against acked writes";
    type Node = StorageNode;
    type Config = StorageConfig;

    fn validate(config: &StorageConfig) -> Result<(), String> {
        config.validate()
    }

    fn node(config: &StorageConfig, _: NodeId, _: &Cluster) -> StorageNode {
        StorageNode::new(config.clone())
    }

    fn checks(config: &StorageConfig, _: &Cluster) -> Checks<StorageApi> {
        let durability =
            check::StorageDurability { engines: config.engines, scan_limit: config.scan_limit };
        Checks::new().fact(check::StorageRecovers::new()).history(durability)
    }
}
