//! Raft as in Ongaro's thesis, with a replicated key-value store.
//!
//! - Leader election with randomized timeouts, PreVote and CheckQuorum (§9.6, §6.2).
//! - Log replication with fast conflict backtracking (term/index hints), pipelined appends
//!   bounded per follower, one heartbeat per follower per interval, and the Figure 8 rule
//!   (a leader commits only entries of its own term by counting replicas).
//! - Durability on the simulated disk (see [`storage`]): term, vote and log are fsynced before
//!   any reply that depends on them; recovery checks every record's checksum.
//! - Log compaction with snapshots and InstallSnapshot (whole snapshot in one message).
//! - Single-server membership changes (thesis ch. 4), new servers catch up as learners first.
//! - Client sessions for exactly-once writes; linearizable reads through ReadIndex, or leases
//!   on the local clock (`read_mode = "lease"`, unsafe under clock drift by design).
//!
//! Bug knobs (`bugs = [...]`) each switch off one safety rule, so scenarios can show that the
//! checkers catch the resulting violation; see [`Bugs`].
//!
//! Invariant: the protocol files import only `crate::node` (and `serde`); `system.rs` alone
//! packages it for the simulator.

mod client;
mod election;
pub mod kv;
pub mod log;
mod membership;
pub mod messages;
mod node;
mod persist;
mod replication;
pub mod storage;
pub mod system;
mod upgrade;
pub mod wire;

#[cfg(test)]
mod tests;

pub use kv::{KvStore, Outcome, StateMachine};
pub use messages::{Entry, Msg, Payload};
pub use node::{RaftNode, Role, Timer};
pub use system::Raft;

use crate::node::{Nanos, NodeId, MILLISECOND};

/// An operator action on a Raft cluster (`[[controls]]` in a scenario): a single-server
/// membership change, or a rolling-upgrade step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Control {
    /// Add `node` to the voters (it catches up as a learner first).
    AddMember { node: NodeId },
    /// Remove `node` from the voters.
    RemoveMember { node: NodeId },
    /// Restart `node` running schema version `version` (of `schemas/raft-v*.toml`, embedded):
    /// it installs the version through its registry (refused if incompatible: the node keeps
    /// running its version and records `schema_upgrade_refused`), waits until everything it
    /// wrote is durable, and restarts from disk as after a crash.
    Upgrade { node: NodeId, version: u32 },
}

/// How a leader serves reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadMode {
    /// Confirm leadership with a heartbeat round, then read at the commit index (thesis §6.4).
    ReadIndex,
    /// Serve from the local state while a lease based on the local clock holds (§6.4.1).
    Lease,
}

/// Safety rules that can be switched off to show that the checkers notice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bugs {
    /// `raft.commit_previous_term`: a leader commits entries of earlier terms by counting
    /// replicas (the Figure 8 rule is off).
    pub commit_previous_term: bool,
    /// `raft.vote_without_log_check`: votes are granted without the up-to-date-log check.
    pub vote_without_log_check: bool,
    /// `raft.skip_fsync`: replies and self-counting never wait for fsync to complete.
    pub skip_fsync: bool,
    /// `raft.no_read_index`: a node that believes it is leader reads its state at once.
    pub no_read_index: bool,
    /// `raft.lease_reads`: lease reads with no clock-drift margin.
    pub lease_reads: bool,
    /// `encoding.skip_compat_check`: the schema registry installs a version without checking
    /// it against the installed ones (an incompatible version goes in).
    pub skip_compat_check: bool,
}

impl Bugs {
    /// Every knob's name, as written in a scenario.
    pub const NAMES: [&'static str; 6] = [
        "raft.commit_previous_term",
        "raft.vote_without_log_check",
        "raft.skip_fsync",
        "raft.no_read_index",
        "raft.lease_reads",
        "encoding.skip_compat_check",
    ];

    /// Switches on the knob called `name`; an unknown name is an error naming it.
    pub fn enable(&mut self, name: &str) -> Result<(), String> {
        match name {
            "raft.commit_previous_term" => self.commit_previous_term = true,
            "raft.vote_without_log_check" => self.vote_without_log_check = true,
            "raft.skip_fsync" => self.skip_fsync = true,
            "raft.no_read_index" => self.no_read_index = true,
            "raft.lease_reads" => self.lease_reads = true,
            "encoding.skip_compat_check" => self.skip_compat_check = true,
            _ => return Err(format!("unknown bug `{name}` (known: {})", Bugs::NAMES.join(", "))),
        }
        Ok(())
    }
}

impl<'de> serde::Deserialize<'de> for Bugs {
    /// A list of knob names: `bugs = ["raft.skip_fsync"]`.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let names = Vec::<String>::deserialize(d)?;
        let mut bugs = Bugs::default();
        for name in names {
            bugs.enable(&name).map_err(serde::de::Error::custom)?;
        }
        Ok(bugs)
    }
}

/// Settings of a Raft cluster (the scenario's `[protocol]` table; durations as `"150ms"`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RaftConfig {
    /// Shortest election timeout (`timeout_election_min`, default 150ms).
    #[serde(rename = "timeout_election_min", with = "crate::node::duration_ns")]
    pub timeout_election_min_ns: Nanos,
    /// Longest election timeout (`timeout_election_max`, default 300ms).
    #[serde(rename = "timeout_election_max", with = "crate::node::duration_ns")]
    pub timeout_election_max_ns: Nanos,
    /// Interval between heartbeats (`interval_heartbeat`, default 50ms).
    #[serde(rename = "interval_heartbeat", with = "crate::node::duration_ns")]
    pub interval_heartbeat_ns: Nanos,
    /// Applied entries beyond the last snapshot that trigger a new one (`snapshot_entries`,
    /// default 1000).
    pub snapshot_entries: u64,
    /// How reads are served (`read_mode`, default `read_index`).
    pub read_mode: ReadMode,
    /// PreVote before campaigning (`prevote`, default true).
    pub prevote: bool,
    /// Leaders step down without a quorum; followers ignore votes while they hear from a
    /// leader (`check_quorum`, default true).
    pub check_quorum: bool,
    /// Lease reads end this long before the election timeout would (`lease_margin`, default
    /// 30ms): the allowance for clock drift.
    #[serde(rename = "lease_margin", with = "crate::node::duration_ns")]
    pub lease_margin_ns: Nanos,
    /// Most entries in flight to one follower (`inflight_entries_max`, default 256).
    pub inflight_entries_max: u64,
    /// Safety rules switched off (`bugs`, default none).
    pub bugs: Bugs,
}

impl Default for RaftConfig {
    fn default() -> Self {
        RaftConfig {
            timeout_election_min_ns: 150 * MILLISECOND,
            timeout_election_max_ns: 300 * MILLISECOND,
            interval_heartbeat_ns: 50 * MILLISECOND,
            snapshot_entries: 1000,
            read_mode: ReadMode::ReadIndex,
            prevote: true,
            check_quorum: true,
            lease_margin_ns: 30 * MILLISECOND,
            inflight_entries_max: 256,
            bugs: Bugs::default(),
        }
    }
}

impl RaftConfig {
    /// True if reads may be served under a lease.
    pub fn lease_reads(&self) -> bool {
        self.read_mode == ReadMode::Lease || self.bugs.lease_reads
    }

    /// How long a confirmed heartbeat round keeps the lease: the shortest election timeout
    /// less the drift margin (no margin with the `lease_reads` bug).
    pub fn lease_duration_ns(&self) -> Nanos {
        let margin = if self.bugs.lease_reads { 0 } else { self.lease_margin_ns };
        self.timeout_election_min_ns.saturating_sub(margin)
    }

    /// Followers ignore candidates while they hear from a leader (needed by leases too).
    pub fn leader_stickiness(&self) -> bool {
        self.check_quorum || self.lease_reads()
    }
}

/// A 64-bit mix of two words (splitmix64 finaliser): stable across platforms and runs.
pub fn mix(a: u64, b: u64) -> u64 {
    let mut z = a ^ b.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(31);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A 64-bit checksum of `bytes` (FNV-1a, then mixed): catches torn and flipped data.
pub fn checksum(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(hash, bytes.len() as u64)
}
