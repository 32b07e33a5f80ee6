//! Client APIs: what a system's clients ask and what they get back.
//!
//! Every system names its own operations and results through an [`Api`]: key-value
//! get/put/cas/append ([`kv::KvApi`], served by Raft and the register) is one API among others;
//! transactions, counters, sets or queries are others, written beside the system that serves
//! them. The client logic (retries, timeouts, deadlines), the workload generator and the
//! history are generic over the API; the history is erased to structured values (JSON fields
//! and Jepsen EDN) at its boundary, so reports and exports need no edit for a new API.
//!
//! Invariant: this module knows the engine's random streams and nothing else of sim.

pub mod history;
pub mod kv;
mod kv_history;

use crate::engine::SimRng;
use serde::{Deserialize, Serialize};
use std::fmt::Debug;

/// The operations clients of a system issue and the results they get back.
///
/// Porcupine's and Jepsen's shape: an operation is plain data with a name (`:f`), and a
/// result is what an `ok` completion returns.
pub trait Api: 'static {
    /// One client operation.
    type Op: Clone + Debug + Send + Sync + 'static;
    /// What an operation that took effect returns.
    type Res: Clone + Debug + Send + Sync + 'static;

    /// The operations a scenario's `[clients] mix` may name, with their default weights
    /// (used when a scenario gives no mix). Order matters: [`Api::generate`] gets the weights
    /// in this order.
    const OPS: &'static [(&'static str, u32)];

    /// True if [`Api::generate`] pads written values to `draw.value_size` (`clients.value_size`);
    /// a scenario that sets it for an API that does not is refused rather than ignored.
    const PADS_VALUES: bool = false;

    /// The operation's name, one of [`Api::OPS`].
    fn name(op: &Self::Op) -> &'static str;

    /// Draws the next operation. `weights` are the scenario's mix in the order of
    /// [`Api::OPS`] (at least one is positive); draw everything from `draw.rng`.
    fn generate(weights: &[u32], draw: &mut Draw<'_>) -> Self::Op;

    /// One line for traces and reports (`put k3=c1-4`).
    fn describe(op: &Self::Op) -> String {
        format!("{op:?}")
    }

    /// The operation and its result as JSON fields, for `history.jsonl` (`"f"` is added by
    /// the caller when absent). `result` is `None` unless the operation completed `ok`.
    fn json(
        op: &Self::Op,
        result: Option<&Self::Res>,
    ) -> serde_json::Map<String, serde_json::Value>;

    /// The operation as Jepsen writes it: `:f`, the invocation's `:value` and the completion's
    /// `:value` (`result` is `None` unless it completed `ok`). The default writes the JSON
    /// fields as an EDN map.
    fn edn(op: &Self::Op, result: Option<&Self::Res>) -> EdnOp {
        let value = edn::from_json(&serde_json::Value::Object(Self::json(op, result)));
        EdnOp { f: Self::name(op).to_string(), invoke: value.clone(), complete: value, key: None }
    }
}

/// Identifies one client request across retries: the client and its request number.
///
/// Retries of one operation reuse its id, so a server that remembers the last id it applied
/// per client (a client session) can apply a retried command exactly once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RequestId {
    /// The client that issued the request.
    pub client: u32,
    /// Sequence number of the request within that client, starting at 1.
    pub seq: u64,
}

/// A client request as a node receives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request<O> {
    /// Stable across retries of the same operation.
    pub id: RequestId,
    /// What to do.
    pub op: O,
}

/// A node's answer to a client request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply<R> {
    /// The operation took effect; `value` is its result (for key-value, what a `get` read).
    Ok { value: R },
    /// The operation definitely did not take effect (for example a compare-and-set mismatch).
    Fail { reason: &'static str },
    /// This node cannot serve the request; try `leader` if it is known. The operation did not
    /// take effect here.
    Redirect { leader: Option<u32> },
    /// The node accepted the request but cannot say whether it took effect (for example it lost
    /// leadership after proposing it). The client may retry with the same request id.
    Unknown,
}

/// What a generator may use to draw one operation.
pub struct Draw<'a> {
    /// The client's own random stream.
    pub rng: &'a mut SimRng,
    /// The client drawing.
    pub client: u32,
    /// The operation's number within the client, from 1: with `client`, it makes values
    /// unique, so a read names the write it saw.
    pub n: u64,
    /// The scenario's key space, `clients.keys`.
    pub keys: u32,
    /// Written values are padded to at least this many bytes (`clients.value_size`; 0: none).
    pub value_size: u32,
    /// The client's per-attempt timeout (`clients.timeout`), in nanoseconds: the budget an
    /// operation may grant the server it is sent to (deadline propagation).
    pub timeout: crate::engine::Nanos,
}

impl Draw<'_> {
    /// `value`, padded with `.` to at least `value_size` bytes (the unique part stays first,
    /// so a read still names the write it saw).
    pub fn padded(&self, mut value: String) -> String {
        let want = self.value_size as usize;
        if value.len() < want {
            value.extend(std::iter::repeat_n('.', want - value.len()));
        }
        value
    }
}

/// An operation in Jepsen's EDN terms: texts, already written as EDN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EdnOp {
    /// `:f` without the colon (`write`, `txn`).
    pub f: String,
    /// The invocation's `:value`.
    pub invoke: String,
    /// The completion's `:value`.
    pub complete: String,
    /// An extra `:key`, for readers that key operations apart (the value then stays bare).
    pub key: Option<String>,
}

/// Writing EDN text.
pub mod edn {
    /// An EDN string literal.
    pub fn string(s: &str) -> String {
        let mut out = String::with_capacity(s.len() + 2);
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    /// `nil` or the string.
    pub fn option(v: Option<&str>) -> String {
        v.map_or_else(|| "nil".to_string(), string)
    }

    /// A JSON value as EDN: objects become maps with keyword keys, arrays vectors, `null`
    /// `nil`.
    pub fn from_json(v: &serde_json::Value) -> String {
        use serde_json::Value;
        match v {
            Value::Null => "nil".into(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            Value::String(s) => string(s),
            Value::Array(items) => {
                format!("[{}]", items.iter().map(from_json).collect::<Vec<_>>().join(" "))
            }
            Value::Object(map) => {
                let entries: Vec<String> =
                    map.iter().map(|(k, v)| format!(":{k} {}", from_json(v))).collect();
                format!("{{{}}}", entries.join(", "))
            }
        }
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn json_becomes_edn() {
            let v = serde_json::json!({"k": [1, "a\"b", null], "ok": true});
            assert_eq!(super::from_json(&v), "{:k [1 \"a\\\"b\" nil], :ok true}");
        }
    }
}
