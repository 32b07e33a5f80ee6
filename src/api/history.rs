//! A history as a system's API types it: every operation a client invoked, when, how it
//! ended and what it returned. History checkers read it; the workload writes it; reports read
//! its erased form (`crate::workload::History`).
//!
//! Times are global (true) time in nanoseconds, as the simulator observed them, so real-time
//! order between operations is exact.

use super::Api;
use crate::engine::Nanos;
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

/// One operation of a typed history.
#[derive(Clone, Debug)]
pub struct Record<A: Api> {
    /// Position in the history (order of invocation).
    pub id: u64,
    /// The client (Jepsen's process) that invoked it.
    pub client: u32,
    /// What was asked.
    pub op: A::Op,
    /// When the client invoked it.
    pub invoke_ns: Nanos,
    /// When it completed (for `info`, when the client gave up; the operation may still take
    /// effect later).
    pub complete_ns: Nanos,
    /// How it ended.
    pub outcome: Outcome,
    /// What it returned: `Some` exactly when the outcome is `ok`.
    pub result: Option<A::Res>,
}

/// A history as the system's API types it, in invocation order.
#[derive(Clone, Debug)]
pub struct TypedHistory<A: Api> {
    /// The operations, ordered by `invoke_ns` (ties by `id`).
    pub ops: Vec<Record<A>>,
}

impl<A: Api> Default for TypedHistory<A> {
    fn default() -> Self {
        TypedHistory { ops: Vec::new() }
    }
}
