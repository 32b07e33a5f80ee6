//! What the coordinator and the shards say to each other (two-phase commit, presumed abort).
//!
//! A transaction id is `(coordinator epoch << 32) | n`: the coordinator makes its epoch
//! durable before it starts any transaction, so ids never repeat across its restarts, and a
//! transaction of an earlier epoch with no commit record in its log is aborted for good.

use super::api::{Mop, ReadValue, TxnKind};

/// A distributed transaction's id.
pub type TxnId = u64;

/// A message of the txn system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Msg {
    /// Coordinator to shard: run your part of `txn` (the micro-operations at `positions` of
    /// the transaction) and vote. Sent again until the shard votes.
    Prepare { txn: TxnId, kind: TxnKind, mops: Vec<(u16, Mop)> },
    /// Shard to coordinator: the vote, with what the reads returned (a yes comes only once
    /// the prepared state is durable).
    Vote { txn: TxnId, yes: bool, reads: Vec<(u16, ReadValue)> },
    /// Coordinator to shard: the outcome. Sent again until the shard acknowledges.
    Decide { txn: TxnId, commit: bool },
    /// Shard to coordinator: the outcome is applied (a commit durably).
    Ack { txn: TxnId },
    /// Shard to coordinator: I voted yes for `txn` and have heard no outcome.
    Inquire { txn: TxnId },
}

/// Splits a transaction's id into the coordinator epoch and the number within it.
pub fn epoch_of(txn: TxnId) -> u64 {
    txn >> 32
}
