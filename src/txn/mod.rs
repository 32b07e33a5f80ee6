//! Transactions (DDIA chapter 7): an in-memory multi-version store of integer keys whose
//! transactions run at six isolation levels, from read uncommitted to serializable.
//!
//! [`Store`] is a pure data structure, sans-IO like everything else in sim: a caller (a
//! script, a node of a distributed transaction system) begins a transaction, issues
//! statements, and gets each statement's [`Outcome`] at once: `Done`, `Blocked` (the statement
//! must wait for another transaction; it is parked, and when [`Store::woken`] names the
//! transaction the caller issues the same call again) or `Failed` (the transaction is now
//! aborted, with the reason: a serialization failure or a deadlock). Nothing waits inside the
//! store; nothing here knows the rest of sim.
//!
//! ```
//! use sim::txn::{Bugs, Level, Outcome, Store, Target, TxnError};
//!
//! let mut store: Store<i64> = Store::new(Bugs::default());
//! store.load([(1, 10), (2, 20)]);
//! let a = store.begin(Level::SnapshotIsolation);
//! let b = store.begin(Level::SnapshotIsolation);
//! assert_eq!(store.update(a, &Target::Key(1), &|v| v + 1), Outcome::Done(vec![1]));
//! // b's first statement takes its snapshot, then waits for a's lock on row 1.
//! assert_eq!(store.update(b, &Target::Key(1), &|v| v + 1), Outcome::Blocked);
//! assert_eq!(store.commit(a), Outcome::Done(()));
//! assert_eq!(store.woken(), vec![b]);
//! // Issued again, it meets a version newer than its snapshot: first updater wins.
//! let again = store.update(b, &Target::Key(1), &|v| v + 1);
//! assert_eq!(again, Outcome::Failed(TxnError::SerializationFailure));
//! assert!(!store.is_active(b));
//! assert_eq!(store.rows(), vec![(1, 11), (2, 20)]);
//! ```
//!
//! The store is generic over its [`Value`]: `i64` for scripts and read-write registers,
//! `Vec<i64>` for a list-append workload. Predicates ([`Pred`]) look at [`Value::as_int`].
//!
//! # Rows, versions and locks
//! Every key has a chain of versions, oldest first; a version is a value or a tombstone (the
//! row was deleted), written by one transaction, and committed at a logical timestamp or not
//! yet. A transaction's own uncommitted version is always the newest of its key: every write,
//! at every level, takes a long exclusive lock on the row (held until commit or abort), so two
//! transactions never have uncommitted versions of one row at once (no dirty writes, G0).
//! Lock-based levels add shared item locks and predicate locks to the same table; multi-version
//! levels read snapshots and take no read locks. A statement that meets a conflicting lock
//! waits for its holder (the wait-for graph); a wait that would close a cycle fails the waiting
//! statement with [`TxnError::Deadlock`], and its transaction is the victim.
//!
//! Statements are atomic: a statement checks every row it must lock before it changes any, so
//! a blocked statement has changed nothing, and running it again is running it for the first
//! time, except that read committed keeps the statement's snapshot across the wait (below) and
//! serializable 2PL keeps a predicate lock the statement took before it waited (it would
//! hold it to the end anyway). A caller must not issue another statement in a transaction
//! whose statement is parked; committing or aborting it abandons the parked statement.
//!
//! Calling a statement, `prepare` or `commit` for a transaction that is not running (it
//! committed, aborted, or failed) is a bug in the caller and panics: check
//! [`Store::is_active`] first where a late request may arrive. Finished transactions are
//! remembered until [`Store::gc`] forgets them, which also keeps SSI's bookkeeping small: call
//! it now and then.
//!
//! # The levels
//! - [`Level::ReadUncommitted`]: reads see the newest version of each row, committed or not
//!   (dirty reads, G1a and G1b, are possible) and take no locks; writes take long write locks,
//!   so dirty writes (G0) are not.
//! - [`Level::ReadCommitted`], as PostgreSQL's: each statement reads a fresh snapshot of what
//!   has committed. A write to a row another transaction has locked waits; once the holder
//!   ends, the statement keeps its snapshot and looks at the row's newest committed version
//!   (PostgreSQL's EvalPlanQual): a row changed since the snapshot is re-checked against the
//!   statement's predicate and skipped if it no longer matches, else the change is applied to
//!   the new version. So concurrent increments are not lost, but a read-modify-write spread
//!   over two statements is (P4), and so are read skew and write skew.
//! - [`Level::RepeatableRead`]: Adya's PL-2.99, lock-based as in the textbook (Gray et al.'s
//!   degrees of consistency): long shared locks on every item read (a key read, every row a
//!   scan returns, a key an update found absent), long exclusive locks on every write, and
//!   predicate locks only for the length of the statement (a scan waits for in-flight writes
//!   that match its predicate, then forgets it). Lock-based, not multi-version, because that is
//!   the definition: items are protected (no lost update, read skew or item write skew: those
//!   block or deadlock) but predicates are not, so phantoms and predicate write skew (G2)
//!   remain. A multi-version "repeatable read" is snapshot isolation, which is the next level.
//! - [`Level::SnapshotIsolation`], as PostgreSQL's "repeatable read": the transaction's
//!   snapshot is taken at its first statement (not at begin) and every read sees it plus the
//!   transaction's own writes. First updater wins: a write to a row another transaction has
//!   locked waits; if that transaction commits (or any transaction committed a version newer
//!   than the snapshot) the write fails with [`TxnError::SerializationFailure`]; if it aborts,
//!   the write proceeds. Write skew (G2-item, G2) remains.
//! - [`Level::Serializable`]: serializable snapshot isolation (Cahill, Röhm and Fekete;
//!   Ports and Grittner's PostgreSQL implementation). Snapshot isolation plus SIREAD marks:
//!   every key a serializable transaction read, every row its scans matched and every
//!   predicate it scanned with, kept after it commits for as long as a concurrent transaction
//!   is alive. A read that skips a newer version (committed after its snapshot, or in flight)
//!   and a write to something a concurrent transaction read each record a rw-antidependency
//!   `reader -rw-> writer`. A transaction that would complete a dangerous structure
//!   `T_in -rw-> pivot -rw-> T_out` in which `T_out` commits first fails with
//!   serialization_failure when it prepares: the pivot if it is the one preparing (also when
//!   `T_in` is still running), otherwise the one preparing, since a prepared transaction can
//!   no longer be aborted. Read-only optimisation: when `T_in` wrote nothing, the structure is
//!   dangerous only if `T_out` committed before `T_in`'s snapshot; this still catches the
//!   read-only transaction anomaly (Fekete, O'Neil and O'Neil 2004).
//! - [`Level::Serializable2pl`]: strict two-phase locking. Long shared locks on every item
//!   read, long exclusive locks on every write, and long predicate locks for every scan and
//!   every `update`/`delete ... where`: a predicate lock conflicts with a write by another
//!   transaction whose old or new value matches the predicate (inserts included), and a
//!   predicate read waits for in-flight writes that match it. Deadlocks are found in the
//!   wait-for graph and the waiter that closes the cycle is the victim.
//!
//! Levels can be mixed in one store; the multi-version levels take no read locks, and only
//! serializable transactions take part in SSI's tracking (as in PostgreSQL).
//!
//! # Two-phase commit and recovery
//! [`Store::prepare`] runs every commit-time check (SSI's dangerous structures; first updater
//! wins was checked at each write); after it returns `Done`, [`Store::commit`] cannot fail and
//! the transaction keeps its locks until it commits or aborts. [`Store::write_set`] is what a
//! participant logs at prepare. To recover a prepared transaction after a crash, begin a new
//! one, [`Store::write`] each logged key and prepare it: that takes the same locks again.
//!
//! # Garbage collection
//! [`Store::gc`] drops every version no snapshot can see any more (older than the newest
//! version committed at or before the oldest snapshot in use) and forgets finished
//! transactions no running transaction is concurrent with; [`Store::versions_alive`] counts
//! the versions kept.
//!
//! # Bug knobs
//! [`Bugs`] switches off one rule each, to show what it prevents: `no_first_committer_wins`
//! lets snapshot isolation (and serializable) overwrite a row a concurrent transaction updated,
//! computing the new value from its own snapshot (a lost update); `no_rw_tracking` makes
//! serializable record no rw-antidependencies, so it behaves as snapshot isolation (write skew
//! commits).

pub mod matrix;
pub mod script;
mod store;
#[cfg(test)]
mod tests;

pub use store::{Store, TxnState};

use std::fmt;
use std::str::FromStr;

/// A row's key.
pub type Key = i64;

/// A transaction's id: 1 for the first transaction a store begins, increasing.
pub type TxnId = u64;

/// What a store holds in a row. Predicates evaluate on [`Value::as_int`].
pub trait Value: Clone + PartialEq + fmt::Debug {
    /// The number predicates (`value = N`, `value % N = M`) look at.
    fn as_int(&self) -> i64;
}

impl Value for i64 {
    fn as_int(&self) -> i64 {
        *self
    }
}

/// A list (for list-append workloads): predicates see its length.
impl Value for Vec<i64> {
    fn as_int(&self) -> i64 {
        self.len() as i64
    }
}

/// An isolation level. Each one's mechanism is described in the module documentation.
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

    /// The level's snake_case name, as scripts and reports spell it.
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

    /// Whether reads take shared locks (repeatable read, serializable 2PL).
    fn lock_based(self) -> bool {
        matches!(self, Level::RepeatableRead | Level::Serializable2pl)
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Level::ALL.into_iter().find(|l| l.name() == s).ok_or_else(|| {
            let names: Vec<&str> = Level::ALL.iter().map(|l| l.name()).collect();
            format!("unknown level `{s}`: expected one of {}", names.join(", "))
        })
    }
}

/// A predicate over a row's value (its [`Value::as_int`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pred {
    /// Every row.
    True,
    /// `value = N`.
    Eq(i64),
    /// `value % n = m`, with SQL's remainder (its sign is the dividend's); `n` is never 0.
    Mod { n: i64, m: i64 },
}

impl Pred {
    /// Whether a value matches.
    pub fn matches<V: Value>(&self, value: &V) -> bool {
        self.matches_int(value.as_int())
    }

    /// Whether a number matches.
    pub fn matches_int(&self, v: i64) -> bool {
        match *self {
            Pred::True => true,
            Pred::Eq(n) => v == n,
            // checked_rem: i64::MIN % -1 overflows; its remainder is 0.
            Pred::Mod { n, m } => v.checked_rem(n).unwrap_or(0) == m,
        }
    }

    /// Whether a row's value, or its absence (`None`: absent rows match nothing), matches.
    pub fn matches_opt<V: Value>(&self, value: Option<&V>) -> bool {
        value.is_some_and(|v| self.matches(v))
    }
}

const PRED_FORMS: &str = r#"expected "true", "value = N" or "value % N = M""#;

impl FromStr for Pred {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let words: Vec<&str> = s.split_whitespace().collect();
        let int = |w: &str| w.parse::<i64>().map_err(|_| PRED_FORMS.to_string());
        match words.as_slice() {
            ["true"] => Ok(Pred::True),
            ["value", "=", n] => Ok(Pred::Eq(int(n)?)),
            ["value", "%", n, "=", m] => {
                let n = int(n)?;
                if n == 0 {
                    return Err(format!("{PRED_FORMS}, with N not 0"));
                }
                Ok(Pred::Mod { n, m: int(m)? })
            }
            _ => Err(PRED_FORMS.to_string()),
        }
    }
}

impl fmt::Display for Pred {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pred::True => f.write_str("true"),
            Pred::Eq(n) => write!(f, "value = {n}"),
            Pred::Mod { n, m } => write!(f, "value % {n} = {m}"),
        }
    }
}

/// A new value computed from a row's old one, for integer rows. Arithmetic wraps at the ends
/// of `i64` rather than failing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expr {
    /// `value = N`.
    Set(i64),
    /// `value + N`.
    Add(i64),
    /// `value - N`.
    Sub(i64),
    /// `value * N`.
    Mul(i64),
}

impl Expr {
    /// The new value.
    pub fn apply(self, old: i64) -> i64 {
        match self {
            Expr::Set(n) => n,
            Expr::Add(n) => old.wrapping_add(n),
            Expr::Sub(n) => old.wrapping_sub(n),
            Expr::Mul(n) => old.wrapping_mul(n),
        }
    }
}

const EXPR_FORMS: &str = r#"expected "value + N", "value - N" or "value * N""#;

impl FromStr for Expr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let words: Vec<&str> = s.split_whitespace().collect();
        let (op, n) = match words.as_slice() {
            ["value", op, n] => (*op, n.parse::<i64>().map_err(|_| EXPR_FORMS.to_string())?),
            _ => return Err(EXPR_FORMS.to_string()),
        };
        match op {
            "+" => Ok(Expr::Add(n)),
            "-" => Ok(Expr::Sub(n)),
            "*" => Ok(Expr::Mul(n)),
            _ => Err(EXPR_FORMS.to_string()),
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Set(n) => write!(f, "value = {n}"),
            Expr::Add(n) => write!(f, "value + {n}"),
            Expr::Sub(n) => write!(f, "value - {n}"),
            Expr::Mul(n) => write!(f, "value * {n}"),
        }
    }
}

/// Which rows an `update` or `delete` touches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// The row with this key, if there is one.
    Key(Key),
    /// Every row whose value matches.
    Where(Pred),
}

/// Why a statement failed; its transaction is aborted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TxnError {
    /// The transaction could not be serialized with concurrent ones (a concurrent update
    /// under first updater wins, or an SSI dangerous structure).
    SerializationFailure,
    /// Waiting would have closed a cycle of waiting transactions; this one is the victim.
    Deadlock,
}

impl TxnError {
    /// The snake_case name scripts and reports print.
    pub fn name(self) -> &'static str {
        match self {
            TxnError::SerializationFailure => "serialization_failure",
            TxnError::Deadlock => "deadlock",
        }
    }
}

impl fmt::Display for TxnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What became of a statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome<T> {
    /// It ran, with this result.
    Done(T),
    /// It must wait for another transaction. It changed nothing; it is parked, and once
    /// [`Store::woken`] names its transaction the caller issues the same call again.
    Blocked,
    /// It failed and its transaction is now aborted.
    Failed(TxnError),
}

impl<T> Outcome<T> {
    /// The result of a statement that ran.
    pub fn done(self) -> Option<T> {
        match self {
            Outcome::Done(v) => Some(v),
            _ => None,
        }
    }

    /// Whether the statement is parked.
    pub fn is_blocked(&self) -> bool {
        matches!(self, Outcome::Blocked)
    }

    /// The same outcome with the result transformed.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Outcome<U> {
        match self {
            Outcome::Done(v) => Outcome::Done(f(v)),
            Outcome::Blocked => Outcome::Blocked,
            Outcome::Failed(e) => Outcome::Failed(e),
        }
    }
}

/// Bug knobs: each switches off one rule, to show the anomaly it prevents.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bugs {
    /// Snapshot isolation (and serializable) without first updater wins: a write to a row a
    /// concurrent transaction updated proceeds, from the writer's snapshot (lost update, P4).
    pub no_first_committer_wins: bool,
    /// Serializable without rw-antidependency tracking: plain snapshot isolation (write skew).
    pub no_rw_tracking: bool,
}
