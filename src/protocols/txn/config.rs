//! The txn system's settings: the scenario's `[protocol]` table.

use crate::node::{Nanos, MILLISECOND};
use crate::txn::Level;
use serde::Deserialize;

/// The bug knobs of the txn system, by name.
pub const BUG_NAMES: [&str; 4] = [
    "txn.si_no_first_committer_wins",
    "txn.ssi_no_rw_tracking",
    "txn.2pc_commit_before_all_prepared",
    "txn.2pc_forget_prepared_on_restart",
];

/// Bugs to switch on, to see the checks catch them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TxnBugs {
    /// Snapshot isolation without first-updater-wins: two concurrent transactions may both
    /// update one row, and the later commit silently overwrites the earlier (lost update).
    pub si_no_first_committer_wins: bool,
    /// `serializable` without rw-antidependency tracking: plain snapshot isolation, so write
    /// skew commits.
    pub ssi_no_rw_tracking: bool,
    /// The coordinator decides commit as soon as the first participant votes yes, without
    /// waiting for the others.
    pub commit_before_all_prepared: bool,
    /// A participant that restarts recovers its committed data but not its prepared
    /// transactions: it forgets it voted yes.
    pub forget_prepared_on_restart: bool,
}

impl TxnBugs {
    /// Switches on the knob `name`; false if there is no such knob.
    pub fn enable(&mut self, name: &str) -> bool {
        let flag = match name {
            "txn.si_no_first_committer_wins" => &mut self.si_no_first_committer_wins,
            "txn.ssi_no_rw_tracking" => &mut self.ssi_no_rw_tracking,
            "txn.2pc_commit_before_all_prepared" => &mut self.commit_before_all_prepared,
            "txn.2pc_forget_prepared_on_restart" => &mut self.forget_prepared_on_restart,
            _ => return false,
        };
        *flag = true;
        true
    }
}

/// The txn system's `[protocol]` table.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TxnConfig {
    /// The isolation level every shard runs its transactions at: `read_uncommitted`,
    /// `read_committed`, `repeatable_read`, `snapshot_isolation`, `serializable` (SSI) or
    /// `serializable_2pl` (the default: strict two-phase locking, which composes across
    /// shards under two-phase commit; the MVCC levels hold on each shard, not across shards,
    /// which take their snapshots and serial orders apart: `txn-ssi-across-shards.toml`).
    #[serde(deserialize_with = "level")]
    pub level: Level,
    /// The consistency model `txn_isolation` judges the history against, in Elle's names
    /// (`strict-serializable`, `serializable`, `snapshot-isolation`, `repeatable-read`,
    /// `read-committed`, `read-uncommitted`, ...). Default: what `level` promises.
    pub consistency_model: Option<String>,
    /// The storage engine under every node's log: `bitcask` (the default) or `lsm`.
    pub engine: crate::protocols::storage::config::EngineKind,
    /// Number of shards, on nodes `1..=shards` (node 0 coordinates); default: every node but
    /// node 0.
    pub shards: Option<u32>,
    /// How long the coordinator waits for every vote before it aborts the transaction (this
    /// also breaks deadlocks that span shards).
    #[serde(rename = "vote_timeout", with = "crate::node::duration_ns")]
    pub vote_timeout_ns: Nanos,
    /// How often unanswered messages are sent again (prepares, decisions) and participants
    /// in doubt ask the coordinator.
    #[serde(rename = "retry_interval", with = "crate::node::duration_ns")]
    pub retry_interval_ns: Nanos,
    /// For rw-register histories: assume each key is linearizable when inferring version
    /// orders (Elle's `:linearizable-keys?`); true by default, as one shard holds a key.
    pub linearizable_keys: bool,
    /// Bug knobs (`txn.*`).
    #[serde(deserialize_with = "bugs")]
    pub bugs: TxnBugs,
}

impl Default for TxnConfig {
    fn default() -> Self {
        TxnConfig {
            level: Level::Serializable2pl,
            consistency_model: None,
            engine: crate::protocols::storage::config::EngineKind::Bitcask,
            shards: None,
            vote_timeout_ns: 200 * MILLISECOND,
            retry_interval_ns: 20 * MILLISECOND,
            linearizable_keys: true,
            bugs: TxnBugs::default(),
        }
    }
}

fn level<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Level, D::Error> {
    let name = String::deserialize(d)?;
    name.parse().map_err(|_| {
        let names: Vec<String> = Level::ALL.iter().map(|l| l.to_string()).collect();
        serde::de::Error::custom(format!(
            "unknown isolation level `{name}` (levels: {})",
            names.join(", ")
        ))
    })
}

fn bugs<'de, D: serde::Deserializer<'de>>(d: D) -> Result<TxnBugs, D::Error> {
    let mut bugs = TxnBugs::default();
    for name in Vec::<String>::deserialize(d)? {
        if !bugs.enable(&name) {
            return Err(serde::de::Error::custom(format!(
                "unknown bug knob `{name}` for system `txn` (its knobs: {})",
                BUG_NAMES.join(", ")
            )));
        }
    }
    Ok(bugs)
}

impl TxnConfig {
    /// The consistency model judged when the scenario names none: what the level promises.
    /// Two-phase commit answers a client only once every shard applied the commit, so a
    /// serializable level is held to real-time order too.
    pub fn default_model(level: Level) -> &'static str {
        match level {
            Level::ReadUncommitted => "read-uncommitted",
            Level::ReadCommitted => "read-committed",
            Level::RepeatableRead => "repeatable-read",
            Level::SnapshotIsolation => "snapshot-isolation",
            Level::Serializable | Level::Serializable2pl => "strict-serializable",
        }
    }

    /// The model `txn_isolation` judges against.
    pub fn model(&self) -> &str {
        self.consistency_model.as_deref().unwrap_or(Self::default_model(self.level))
    }

    /// The shard count for a cluster of `nodes`.
    pub fn shard_count(&self, nodes: u32) -> u32 {
        self.shards.unwrap_or(nodes.saturating_sub(1)).max(1)
    }

    /// The node holding `shard` (shards are numbered from 0; node 0 is the coordinator).
    pub fn shard_node(shard: u32) -> u32 {
        shard + 1
    }

    /// The storage engine's configuration.
    pub fn engine_config(&self) -> crate::storage::EngineConfig {
        use crate::protocols::storage::config::EngineKind;
        match self.engine {
            EngineKind::Bitcask => crate::storage::EngineConfig::Bitcask(
                crate::storage::bitcask::BitcaskConfig::default(),
            ),
            EngineKind::Lsm => {
                crate::storage::EngineConfig::Lsm(crate::storage::lsm::LsmConfig::default())
            }
        }
    }

    /// The engine's bug knobs.
    pub fn engine_bugs(&self) -> crate::txn::Bugs {
        crate::txn::Bugs {
            no_first_committer_wins: self.bugs.si_no_first_committer_wins,
            no_rw_tracking: self.bugs.ssi_no_rw_tracking,
        }
    }
}

impl TxnConfig {
    /// The consistency models `txn_isolation` judges against (comma-separated names).
    pub fn models(&self) -> Result<Vec<crate::check::elle::ConsistencyModel>, String> {
        self.model()
            .split(',')
            .map(|m| crate::check::elle::ConsistencyModel::named(m.trim()))
            .collect()
    }

    /// Checks what serde cannot; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        self.models().map_err(|e| format!("protocol.consistency_model: {e}"))?;
        if self.retry_interval_ns == 0 {
            return Err("protocol.retry_interval: must be more than 0".into());
        }
        if self.vote_timeout_ns <= self.retry_interval_ns {
            return Err("protocol.vote_timeout: must be more than `retry_interval`".into());
        }
        Ok(())
    }
}
