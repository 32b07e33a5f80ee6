//! An Elle-class checker of transactional histories (Kingsbury and Alvaro, "Elle: Inferring
//! Isolation Anomalies from Experimental Observations", VLDB 2020; Adya's thesis for the
//! anomalies).
//!
//! A history is a Jepsen-style list of operations ([`Op`]): invocations and their completions,
//! each carrying a transaction, a list of micro-operations ([`Mop`]) on integer keys. From the
//! values transactions wrote and read, [`check`] infers the dependencies between transactions:
//! write-write (`ww`: T1 wrote a version, T2 the next), write-read (`wr`: T2 read what T1 wrote)
//! and read-write (`rw`: T1 read a version, T2 wrote the next one), plus, when the chosen
//! consistency models need them, process order (`process`) and real-time order (`realtime`).
//! A cycle in that graph is an anomaly, named by its edges as Elle names it: `G0` (only `ww`),
//! `G1c` (`ww` and `wr`), `G-single-item` (exactly one `rw`), `G-nonadjacent-item` (several `rw`,
//! never two in a row), `G2-item` (two `rw` in a row), each with a `-process` or `-realtime`
//! suffix when such an edge is needed to close the cycle. Anomalies that need no cycle are found
//! directly: `G1a` (aborted read), `G1b` (intermediate read), `internal`, `dirty-update`,
//! `duplicate-elements`, `incompatible-order`, `future-read`, `lost-update`, `cyclic-versions`,
//! `garbage-read` (a read of a value nobody wrote) and `empty-transaction-graph` (nothing to
//! judge).
//!
//! Two data models:
//! - [`Model::ListAppend`]: each key holds a list; transactions append unique values and read
//!   whole lists. Every read is a prefix of one order of appends, so the longest read of a key
//!   gives its version order and every dependency is known.
//! - [`Model::RwRegister`]: each key holds a value; transactions write unique values and read
//!   them. The version order is inferred as Elle does: every key starts at nil (before every
//!   value), plus what the options allow one to assume ([`Options`]).
//!
//! The verdict ([`Report::valid`]) is false when an anomaly one of the chosen
//! [`ConsistencyModel`]s forbids was found (default: strict serializability), unknown when only
//! inconclusive ones were (`empty-transaction-graph`, `cycle-search-timeout`), else true;
//! [`Report::not`] names the weakest models the anomalies rule out, as Elle's `:not`.
//!
//! ```
//! use sim::check::elle::{check, Mop, Model, Op, OpType, Options, ReadValue, Validity};
//! let op = |index, process, kind, mops| Op { index, process, kind, mops, time: None };
//! let (x, y) = (0, 1);
//! let t1 = vec![Mop::Append { key: x, value: 1 }, Mop::Append { key: y, value: 1 }];
//! let t2 = vec![Mop::Append { key: x, value: 2 }, Mop::Append { key: y, value: 2 }];
//! // T1 and T2 run concurrently; a later read sees x appended T1 first, y T2 first.
//! let history = vec![
//!     op(0, 0, OpType::Invoke, t1.clone()),
//!     op(1, 1, OpType::Invoke, t2.clone()),
//!     op(2, 0, OpType::Ok, t1),
//!     op(3, 1, OpType::Ok, t2),
//!     op(4, 2, OpType::Invoke, vec![Mop::Read { key: x, value: None }, Mop::Read { key: y, value: None }]),
//!     op(5, 2, OpType::Ok, vec![
//!         Mop::Read { key: x, value: Some(ReadValue::List(vec![1, 2])) },
//!         Mop::Read { key: y, value: Some(ReadValue::List(vec![2, 1])) },
//!     ]),
//! ];
//! let report = check(&history, Model::ListAppend, &Options::default());
//! assert_eq!(report.valid, Validity::False);
//! assert_eq!(report.anomaly_types, vec!["G0".to_string()]);
//! assert_eq!(report.not, vec!["read-uncommitted".to_string()]);
//! assert_eq!(report.anomalies["G0"][0].detail, "T1 -ww(0)-> T2 -ww(1)-> T1");
//! ```

pub mod generate;
mod graph;
mod history;
mod infer;
pub mod models;
pub mod parse;
mod report;

pub use report::{Anomaly, Report, Step, TxnRef, Validity};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A key. EDN keyword keys (`:x`) and JSON string keys are given stable integer ids by the
/// parser ([`parse`]), which keeps their names for output ([`Options::key_names`]).
pub type Key = i64;

/// What a read returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReadValue {
    /// A list-append read: the whole list, oldest append first.
    List(Vec<i64>),
    /// An rw-register read: the value, or `None` for nil (the key was never written).
    Register(Option<i64>),
}

/// One micro-operation of a transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mop {
    /// Append `value` to the list at `key` (list-append).
    Append { key: Key, value: i64 },
    /// Set `key` to `value` (rw-register).
    Write { key: Key, value: i64 },
    /// Read `key`; `value` is `None` when it is not known (an invocation, or a read that did not
    /// complete).
    Read { key: Key, value: Option<ReadValue> },
}

impl Mop {
    /// The key it acts on.
    pub fn key(&self) -> Key {
        match self {
            Mop::Append { key, .. } | Mop::Write { key, .. } | Mop::Read { key, .. } => *key,
        }
    }
}

/// The type of a history record, as Jepsen's `:type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpType {
    /// The transaction began.
    Invoke,
    /// It committed; reads carry their values.
    Ok,
    /// It certainly did not take effect.
    Fail,
    /// Unknown: it may have taken effect (at any time after its invocation) or not.
    Info,
}

impl OpType {
    /// `invoke`, `ok`, `fail` or `info`.
    pub fn name(self) -> &'static str {
        match self {
            OpType::Invoke => "invoke",
            OpType::Ok => "ok",
            OpType::Fail => "fail",
            OpType::Info => "info",
        }
    }
}

/// One record of a history: an invocation or a completion. A completion pairs with the earliest
/// pending invocation of the same process; a completion with none stands alone (it began when
/// it completed) and an invocation never completed is indeterminate (`info`). The order of the
/// slice given to [`check`] is the history's (real-time) order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Op {
    /// The record's index (Jepsen's `:index`; any increasing numbers, or line numbers). Reports
    /// name transactions by the index of their completion.
    pub index: u64,
    /// The client process (a single-threaded sequence of transactions).
    pub process: u64,
    /// Invocation or completion.
    pub kind: OpType,
    /// The transaction.
    pub mops: Vec<Mop>,
    /// When it happened (nanoseconds), if known; reports only (the order of the slice is what
    /// counts).
    pub time: Option<u64>,
}

/// The data model of the keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    /// Lists of unique appended values, read whole.
    ListAppend,
    /// Registers of unique written values.
    RwRegister,
}

impl Model {
    /// `list-append` or `rw-register`.
    pub fn name(self) -> &'static str {
        match self {
            Model::ListAppend => "list-append",
            Model::RwRegister => "rw-register",
        }
    }
}

impl std::str::FromStr for Model {
    type Err = String;
    fn from_str(name: &str) -> Result<Self, String> {
        match name {
            "list-append" => Ok(Model::ListAppend),
            "rw-register" => Ok(Model::RwRegister),
            other => Err(format!("unknown model `{other}` (expected list-append or rw-register)")),
        }
    }
}

/// A consistency model, by one of Elle's names (friendly, `serializable`, or canonical,
/// `PL-3`): see [`models::all_models`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConsistencyModel(&'static str);

impl ConsistencyModel {
    /// Strict serializability (alias `strong-serializable`): the default.
    pub const STRICT_SERIALIZABLE: ConsistencyModel = ConsistencyModel("strict-serializable");
    /// Conflict serializability (Adya's PL-3).
    pub const SERIALIZABLE: ConsistencyModel = ConsistencyModel("serializable");
    /// Snapshot isolation (Adya's PL-SI, generalized SI).
    pub const SNAPSHOT_ISOLATION: ConsistencyModel = ConsistencyModel("snapshot-isolation");
    /// Repeatable read (Adya's PL-2.99).
    pub const REPEATABLE_READ: ConsistencyModel = ConsistencyModel("repeatable-read");
    /// Read committed (Adya's PL-2).
    pub const READ_COMMITTED: ConsistencyModel = ConsistencyModel("read-committed");
    /// Read uncommitted (Adya's PL-1).
    pub const READ_UNCOMMITTED: ConsistencyModel = ConsistencyModel("read-uncommitted");

    /// The model of that name, or why not.
    pub fn named(name: &str) -> Result<ConsistencyModel, String> {
        match models::all_models().into_iter().find(|m| *m == name) {
            Some(known) => Ok(ConsistencyModel(known)),
            None => Err(format!(
                "unknown consistency model `{name}` (known: {})",
                models::all_models().into_iter().collect::<Vec<_>>().join(", ")
            )),
        }
    }

    /// Its name as given.
    pub fn name(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for ConsistencyModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// What to check for, and what one may assume to infer more of an rw-register's version order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// The models the history should satisfy (together); their forbidden anomalies fail it.
    /// Default: strict serializability.
    pub consistency_models: Vec<ConsistencyModel>,
    /// More anomalies to forbid, by name (and every anomaly implying one of them).
    pub anomalies: Option<Vec<String>>,
    /// rw-register: each key alone is linearizable, so a write that completed before another
    /// began is the older version (Elle's `:linearizable-keys?`).
    pub linearizable_keys: bool,
    /// rw-register: each key alone is sequentially consistent, so a process sees a key's
    /// versions in order (Elle's `:sequential-keys?`).
    pub sequential_keys: bool,
    /// rw-register: within a transaction, writes follow reads, so a transaction that read
    /// version v of a key and wrote v' put v' after v (Elle's `:wfr-keys?`).
    pub wfr_keys: bool,
    /// rw-register: a total order of committed transactions known from the database itself,
    /// as Elle's `:transaction-order`: the index of a transaction's completion record -> its
    /// position. The writes of each key are ordered by their transactions' positions;
    /// transactions not in the map add nothing.
    pub transaction_order: Option<BTreeMap<u64, i64>>,
    /// Names of keys for reports (`:x`); a key without a name prints as its number.
    pub key_names: BTreeMap<Key, String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            consistency_models: vec![ConsistencyModel::STRICT_SERIALIZABLE],
            anomalies: None,
            linearizable_keys: false,
            sequential_keys: false,
            wfr_keys: false,
            transaction_order: None,
            key_names: BTreeMap::new(),
        }
    }
}

impl Options {
    /// The anomalies that fail the check.
    pub fn prohibited(&self) -> std::collections::BTreeSet<String> {
        let models: Vec<&str> = self.consistency_models.iter().map(|m| m.name()).collect();
        models::prohibited_anomalies(&models, self.anomalies.as_deref().unwrap_or_default())
    }
}

/// A dependency between two transactions: the kind of an edge of the graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rel {
    /// T1 wrote a version of a key, T2 the next one.
    Ww,
    /// T2 read the version T1 wrote.
    Wr,
    /// T1 read a version, T2 wrote the next one (an anti-dependency).
    Rw,
    /// T1 and T2 ran one after the other on the same process.
    Process,
    /// T1 completed before T2 began.
    Realtime,
}

impl Rel {
    /// `ww`, `wr`, `rw`, `process` or `realtime`.
    pub fn name(self) -> &'static str {
        match self {
            Rel::Ww => "ww",
            Rel::Wr => "wr",
            Rel::Rw => "rw",
            Rel::Process => "process",
            Rel::Realtime => "realtime",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// Checks a transactional history (see the module docs): never panics on any history.
pub fn check(history: &[Op], model: Model, options: &Options) -> Report {
    let txns = history::pair(history);
    let ctx = report::Ctx { txns: &txns, keys: &options.key_names };
    let mut inferred = match model {
        Model::ListAppend => infer::list_append(&ctx),
        Model::RwRegister => infer::rw_register(&ctx, options),
    };
    let prohibited = options.prohibited();
    let mut reportable = prohibited.clone();
    reportable.extend(models::UNKNOWN_ANOMALIES.iter().map(|s| s.to_string()));
    let order = if reportable.iter().any(|a| a.ends_with("-realtime")) {
        Some(Rel::Realtime)
    } else if reportable.iter().any(|a| a.ends_with("-process")) {
        Some(Rel::Process)
    } else {
        None
    };
    match order {
        Some(Rel::Realtime) => history::realtime_edges(&txns, &mut inferred.edges),
        Some(_) => history::process_edges(&txns, &mut inferred.edges),
        None => {}
    }
    let graph = graph::Graph::new(txns.len(), &mut inferred.edges);
    let mut anomalies = inferred.anomalies;
    if graph.edge_count() == 0 {
        anomalies.push(Anomaly::note(
            "empty-transaction-graph",
            "no dependency between any two transactions was inferred: nothing to judge",
        ));
    }
    anomalies.extend(graph::cycles(&graph, &ctx, &reportable, order));
    report::Report::new(anomalies, &prohibited, &reportable, txns.len(), graph.edge_count())
}

#[cfg(test)]
mod tests;
