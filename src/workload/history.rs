//! The client history: every operation a client invoked, when, and how it ended.
//!
//! During a run the history is typed by the system's [`Api`] ([`TypedHistory`]): history
//! checkers read it as the system's own operations and results. At the run's boundary it is
//! erased to a [`History`] that reports and exports read without knowing the API: per
//! operation its client, times and outcome, and on demand its JSON fields and Jepsen EDN.
//!
//! Times are global (true) time in nanoseconds, as the simulator observed them, so real-time
//! order between operations is exact.

pub use crate::api::history::{Outcome, Record, TypedHistory};
use crate::api::{Api, EdnOp};
use crate::engine::Nanos;
use serde::Serialize;
use std::sync::Arc;

/// What reports know of one operation without knowing its API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpSummary {
    /// Position in the history.
    pub id: u64,
    /// The client that invoked it.
    pub client: u32,
    /// The operation's name (`get`, `txn`, ...).
    pub f: &'static str,
    /// When the client invoked it.
    pub invoke_ns: Nanos,
    /// When it completed, or the client gave up.
    pub complete_ns: Nanos,
    /// How it ended.
    pub outcome: Outcome,
}

impl OpSummary {
    /// Latency as the client saw it.
    pub fn latency_ns(&self) -> Nanos {
        self.complete_ns.saturating_sub(self.invoke_ns)
    }
}

/// The typed operations behind an erased [`History`], read one at a time.
trait Details: Send + Sync {
    fn as_any(&self) -> &dyn std::any::Any;
    fn describe(&self, i: usize) -> String;
    fn json(&self, i: usize) -> serde_json::Map<String, serde_json::Value>;
    fn edn(&self, i: usize) -> EdnOp;
}

impl<A: Api> Details for TypedHistory<A> {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn describe(&self, i: usize) -> String {
        A::describe(&self.ops[i].op)
    }
    fn json(&self, i: usize) -> serde_json::Map<String, serde_json::Value> {
        let r = &self.ops[i];
        let mut map = A::json(&r.op, r.result.as_ref());
        if !map.contains_key("f") {
            map.insert("f".into(), A::name(&r.op).into());
        }
        map
    }
    fn edn(&self, i: usize) -> EdnOp {
        let r = &self.ops[i];
        A::edn(&r.op, r.result.as_ref())
    }
}

/// A finished run's history, erased: what every report and export reads.
///
/// Cloning is cheap (the typed operations are shared); erasing costs one summary per
/// operation, and the JSON and EDN forms are built only when asked for.
#[derive(Clone)]
pub struct History {
    /// Every operation, in invocation order.
    pub ops: Vec<OpSummary>,
    details: Arc<dyn Details>,
}

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("History").field("ops", &self.ops.len()).finish()
    }
}

/// Equal operations: times, outcomes, and what was asked and returned.
impl PartialEq for History {
    fn eq(&self, other: &Self) -> bool {
        self.ops == other.ops && (0..self.ops.len()).all(|i| self.json(i) == other.json(i))
    }
}

impl Default for History {
    fn default() -> Self {
        History::from_typed(TypedHistory::<crate::api::kv::KvApi>::default())
    }
}

impl History {
    /// Erases a typed history.
    pub fn from_typed<A: Api>(typed: TypedHistory<A>) -> Self {
        let ops = typed
            .ops
            .iter()
            .map(|r| OpSummary {
                id: r.id,
                client: r.client,
                f: A::name(&r.op),
                invoke_ns: r.invoke_ns,
                complete_ns: r.complete_ns,
                outcome: r.outcome,
            })
            .collect();
        History { ops, details: Arc::new(typed) }
    }

    /// Number of operations with each outcome: (ok, fail, info).
    pub fn counts(&self) -> (u64, u64, u64) {
        self.ops.iter().fold((0, 0, 0), |(ok, fail, info), op| match op.outcome {
            Outcome::Ok => (ok + 1, fail, info),
            Outcome::Fail => (ok, fail + 1, info),
            Outcome::Info => (ok, fail, info + 1),
        })
    }

    /// The typed history behind this one, if its API is `A`.
    pub fn typed<A: Api>(&self) -> Option<&TypedHistory<A>> {
        self.details.as_any().downcast_ref()
    }

    /// Operation `i` in one line (`put k1=c0-3`).
    pub fn describe(&self, i: usize) -> String {
        self.details.describe(i)
    }

    /// Operation `i` as JSON fields (what was asked and what came back; `f` included).
    pub fn json(&self, i: usize) -> serde_json::Map<String, serde_json::Value> {
        self.details.json(i)
    }

    /// Operation `i` in Jepsen's EDN terms.
    pub fn edn(&self, i: usize) -> EdnOp {
        self.details.edn(i)
    }

    /// The history as JSON Lines, one operation per line: `id`, `client`, the API's fields,
    /// `invoke_ns`, `complete_ns`, `outcome` (for key-value, the format `sim check` reads).
    pub fn to_json_lines(&self) -> String {
        #[derive(Serialize)]
        struct Line<'a> {
            id: u64,
            client: u32,
            #[serde(flatten)]
            fields: &'a serde_json::Map<String, serde_json::Value>,
            invoke_ns: Nanos,
            complete_ns: Nanos,
            outcome: Outcome,
        }
        let mut out = String::new();
        for (i, op) in self.ops.iter().enumerate() {
            let fields = self.json(i);
            let line = Line {
                id: op.id,
                client: op.client,
                fields: &fields,
                invoke_ns: op.invoke_ns,
                complete_ns: op.complete_ns,
                outcome: op.outcome,
            };
            out.push_str(&serde_json::to_string(&line).expect("a history line serializes"));
            out.push('\n');
        }
        out
    }
}
