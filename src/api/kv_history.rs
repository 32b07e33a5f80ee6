//! The key-value history: every operation a client invoked, when, how it ended and what it
//! read, in the shape the linearizability checker and `sim check`'s files use.
//!
//! Times are global (true) time in nanoseconds, as the simulator observed them, so real-time
//! order between operations is exact.

use super::history::{Outcome, Record, TypedHistory};
use super::kv::{KvApi, Op, Value};
use crate::engine::Nanos;
use serde::{Deserialize, Serialize};

/// One operation of the history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryOp {
    /// Position in the history (order of invocation).
    pub id: u64,
    /// The client (Jepsen's process) that invoked it.
    pub client: u32,
    /// What was asked.
    #[serde(flatten)]
    pub op: Op,
    /// When the client invoked it.
    pub invoke_ns: Nanos,
    /// When it completed (for `info`, when the client gave up; the operation may still take
    /// effect later).
    pub complete_ns: Nanos,
    /// How it ended.
    pub outcome: Outcome,
    /// What a successful `get` read (`None`: no value). Absent for other operations.
    ///
    /// Serialized as `read`: `Op` is flattened into the same object and its `put` and `append`
    /// already own a field named `value`.
    #[serde(rename = "read", default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
}

impl HistoryOp {
    /// Latency as the client saw it.
    pub fn latency_ns(&self) -> Nanos {
        self.complete_ns.saturating_sub(self.invoke_ns)
    }
}

/// A whole history, in invocation order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    /// The operations, ordered by `invoke_ns` (ties by `id`).
    pub ops: Vec<HistoryOp>,
}

impl History {
    /// Number of operations with each outcome: (ok, fail, info).
    pub fn counts(&self) -> (u64, u64, u64) {
        self.ops.iter().fold((0, 0, 0), |(ok, fail, info), op| match op.outcome {
            Outcome::Ok => (ok + 1, fail, info),
            Outcome::Fail => (ok, fail + 1, info),
            Outcome::Info => (ok, fail, info + 1),
        })
    }
}

impl From<&TypedHistory<KvApi>> for History {
    fn from(typed: &TypedHistory<KvApi>) -> Self {
        let ops = typed
            .ops
            .iter()
            .map(|r| HistoryOp {
                id: r.id,
                client: r.client,
                op: r.op.clone(),
                invoke_ns: r.invoke_ns,
                complete_ns: r.complete_ns,
                outcome: r.outcome,
                value: if r.op.is_read() { r.result.clone().flatten() } else { None },
            })
            .collect();
        History { ops }
    }
}

/// The typed form of a key-value history (from a file, say), for checkers of the API: an `ok`
/// operation's result is what it read (`None` for writes).
impl From<&History> for TypedHistory<KvApi> {
    fn from(history: &History) -> Self {
        let ops = history
            .ops
            .iter()
            .map(|o| Record {
                id: o.id,
                client: o.client,
                op: o.op.clone(),
                invoke_ns: o.invoke_ns,
                complete_ns: o.complete_ns,
                outcome: o.outcome,
                result: (o.outcome == Outcome::Ok).then(|| o.value.clone()),
            })
            .collect();
        TypedHistory { ops }
    }
}
