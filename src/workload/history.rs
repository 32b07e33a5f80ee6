//! The client history: every operation a client invoked, when, and how it ended.
//!
//! Checkers read the history and nothing else of a run. Times are global (true) time in
//! nanoseconds, as the simulator observed them, so real-time order between operations is exact.

use crate::engine::Nanos;
use crate::node::{Op, Value};
use serde::{Deserialize, Serialize};

/// How an operation ended, as a client saw it (Jepsen's `:ok`, `:fail`, `:info`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It took effect, and the result is known.
    Ok,
    /// It definitely did not take effect.
    Fail,
    /// Indeterminate: the client gave up waiting. It may or may not have taken effect, at any
    /// time after it was invoked, even after the client gave up.
    Info,
}

impl Outcome {
    /// `ok`, `fail` or `info`.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Fail => "fail",
            Outcome::Info => "info",
        }
    }
}

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
