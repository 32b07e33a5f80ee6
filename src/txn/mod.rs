//! An MVCC store of integer keys with versioned rows, at six isolation levels, for one node:
//! the state machine of a shard and the participant of distributed transactions.
//!
//! Every row keeps its versions, each made by one transaction and stamped with that
//! transaction's commit timestamp once it commits. A writer holds a row's write lock from its
//! first write of the row to its end (no level allows dirty writes, G0). What differs is how
//! reads see rows and what a commit must prove:
//!
//! - `read_uncommitted`: reads see the newest version, committed or not (dirty reads).
//! - `read_committed`: each statement reads from a snapshot of its own (PostgreSQL's rule); a
//!   writer that meets another's write lock waits, then applies its change to the version
//!   committed meanwhile (a single-statement read-modify-write loses no update).
//! - `repeatable_read`: lock-based, as Adya's PL-2.99 defines it: long read and write locks on
//!   items, no predicate locks. Lock-based because PL-2.99 is a locking level: it prevents
//!   lost update, read skew and item write skew, which an MVCC snapshot level would not all
//!   prevent without becoming snapshot isolation (a different level, below).
//! - `snapshot_isolation`: PostgreSQL's "repeatable read": the snapshot is taken at the first
//!   statement; first-updater-wins (a write to a row another transaction updated since the
//!   snapshot fails with a serialization failure; one still in flight is waited for).
//! - `serializable`: SSI (Cahill, Röhm and Fekete; Ports and Grittner): snapshot isolation plus
//!   SIREAD marks of what each transaction read, turning every write over another's read
//!   into a read-write anti-dependency; a transaction with both an incoming and an outgoing
//!   one (a pivot) cannot commit: the pivot aborts if it can, else the transaction that made
//!   the structure. Conservative (it aborts some serializable schedules), never unsound.
//! - `serializable_2pl`: strict two-phase locking: long read and write locks (reads wait for
//!   writers and writers for readers), reads of the latest committed version.
//!
//! Waits: a statement that must wait returns [`Outcome::Blocked`] and is parked; when a
//! transaction it waits for ends, [`Store::woken`] names it and the caller issues the same
//! statement again. A wait that would close a cycle of waits fails with
//! [`TxnError::Deadlock`]. [`Store::prepare`] runs every commit-time validation, after which
//! [`Store::commit`] cannot fail (two-phase commit's vote).
//!
//! Invariant: this module knows nothing else of sim; it is a plain data structure.

mod store;
#[cfg(test)]
mod tests;

pub use store::Store;

use std::fmt;

/// A key.
pub type Key = i64;
/// A transaction of one store.
pub type TxnId = u64;

/// What a row may hold.
pub trait Value: Clone + PartialEq + fmt::Debug {}
impl<T: Clone + PartialEq + fmt::Debug> Value for T {}

/// An isolation level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    ReadUncommitted,
    ReadCommitted,
    RepeatableRead,
    SnapshotIsolation,
    Serializable,
    Serializable2pl,
}

impl Level {
    /// Every level, weakest first.
    pub const ALL: [Level; 6] = [
        Level::ReadUncommitted,
        Level::ReadCommitted,
        Level::RepeatableRead,
        Level::SnapshotIsolation,
        Level::Serializable,
        Level::Serializable2pl,
    ];

    /// The level's name: `read_uncommitted`, ..., `serializable_2pl`.
    pub fn name(self) -> &'static str {
        match self {
            Level::ReadUncommitted => "read_uncommitted",
            Level::ReadCommitted => "read_committed",
            Level::RepeatableRead => "repeatable_read",
            Level::SnapshotIsolation => "snapshot_isolation",
            Level::Serializable => "serializable",
            Level::Serializable2pl => "serializable_2pl",
        }
    }

    /// Reads through a snapshot (rather than locks or the newest version).
    fn snapshot(self) -> bool {
        matches!(self, Level::ReadCommitted | Level::SnapshotIsolation | Level::Serializable)
    }

    /// Takes long read locks.
    fn read_locks(self) -> bool {
        matches!(self, Level::RepeatableRead | Level::Serializable2pl)
    }

    /// One snapshot for the whole transaction, with first-updater-wins.
    fn transaction_snapshot(self) -> bool {
        matches!(self, Level::SnapshotIsolation | Level::Serializable)
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Level::ALL.into_iter().find(|l| l.name() == s).ok_or_else(|| {
            let names: Vec<&str> = Level::ALL.iter().map(|l| l.name()).collect();
            format!("unknown isolation level `{s}` (levels: {})", names.join(", "))
        })
    }
}

/// Why a transaction was aborted by the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxnError {
    /// It could not be serialized (first-updater-wins, or an SSI dangerous structure).
    SerializationFailure,
    /// Its wait would have closed a cycle of waits: it is the victim.
    Deadlock,
}

impl fmt::Display for TxnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TxnError::SerializationFailure => "serialization_failure",
            TxnError::Deadlock => "deadlock",
        })
    }
}

/// What a statement did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome<T> {
    /// It ran.
    Done(T),
    /// It must wait for another transaction to end: issue it again once [`Store::woken`]
    /// names this transaction.
    Blocked,
    /// It failed, and its transaction is now aborted.
    Failed(TxnError),
}

/// Bug knobs of the store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bugs {
    /// Snapshot isolation (and SSI) without first-updater-wins: a write over a version
    /// committed after the snapshot goes ahead and overwrites it (lost update).
    pub no_first_committer_wins: bool,
    /// `serializable` without read-write anti-dependency tracking: plain snapshot isolation.
    pub no_rw_tracking: bool,
}
