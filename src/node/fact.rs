//! Facts: what a node records about itself for checkers to judge.
//!
//! A node states facts ("I became leader of term 4", "I applied entry 17 with digest d") and the
//! checkers, which never see the node's state, decide whether the facts are consistent. The
//! vocabulary covers replicated logs (Raft, leader-follower replication) and leaves room for
//! systems with their own facts (`Custom`).

use serde::{Deserialize, Serialize};

/// One fact recorded by a node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fact", rename_all = "snake_case")]
pub enum Fact {
    /// This node became leader (or primary) of `term`.
    Leader { term: u64 },
    /// This node stopped being leader of `term`.
    SteppedDown { term: u64 },
    /// The node's log now holds at `index` an entry of `term`; `digest` summarises the whole log
    /// prefix up to and including it (a chained hash), so equal digests mean equal prefixes.
    LogAppend { index: u64, term: u64, digest: u64 },
    /// The node removed every log entry at `index` and above.
    LogTruncate { index: u64 },
    /// The node's log was replaced by a snapshot covering everything up to `index`.
    LogCompact { index: u64, term: u64, digest: u64 },
    /// The node learned that the entry at `index` (of `term`, prefix `digest`) is committed.
    Commit { index: u64, term: u64, digest: u64 },
    /// The node applied the command at `index` to its state machine; `command` digests it, and
    /// `state` digests the whole replicated state right after (the machine and its client
    /// session table: equal states, equal digests). `state` is 0 for a system that does not
    /// digest its state.
    Apply {
        index: u64,
        command: u64,
        #[serde(default, skip_serializing_if = "is_zero")]
        state: u64,
    },
    /// This node granted its vote in `term` to `candidate` (itself, when it campaigns), as
    /// the grant left the node: a node grants at most one candidate per term, crashes or not.
    Vote { term: u64, candidate: u32 },
    /// This node received a message of `term`, newer than its own, that obliges it to follow
    /// that term (an append, a snapshot or a reply; never a vote request, which a node may
    /// ignore while its leader is alive). A leader must not act in its old term after this.
    TermSeen { term: u64 },
    /// The node's cluster membership changed to `members`.
    Membership { members: Vec<u32> },
    /// A system-specific fact, for checkers written alongside that system: numbers, and a
    /// short text for what numbers cannot say (a file name, an error), empty if none.
    Custom {
        name: String,
        values: Vec<u64>,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        text: String,
    },
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Fact {
    /// A system-specific fact ([`Fact::Custom`]); `text` is empty when the numbers say it all.
    pub fn custom(name: &str, values: Vec<u64>, text: impl Into<String>) -> Fact {
        Fact::Custom { name: name.to_string(), values, text: text.into() }
    }

    /// Short name of the fact, for traces and reports.
    pub fn name(&self) -> &str {
        match self {
            Fact::Leader { .. } => "leader",
            Fact::SteppedDown { .. } => "stepped_down",
            Fact::LogAppend { .. } => "log_append",
            Fact::LogTruncate { .. } => "log_truncate",
            Fact::LogCompact { .. } => "log_compact",
            Fact::Commit { .. } => "commit",
            Fact::Apply { .. } => "apply",
            Fact::Vote { .. } => "vote",
            Fact::TermSeen { .. } => "term_seen",
            Fact::Membership { .. } => "membership",
            Fact::Custom { name, .. } => name,
        }
    }
}
