//! The key-value API: get, put, compare-and-set and append on string keys (Raft's KV store
//! and the register serve it), its reference semantics ([`apply_op`]), its workload and its
//! history as the linearizability checker and history files read it ([`History`]).

use serde::{Deserialize, Serialize};

pub use super::kv_history::{History, HistoryOp};

/// A key-value request.
pub type KvRequest = super::Request<Op>;
/// A key-value reply: a successful get carries what it read.
pub type KvReply = super::Reply<Option<Value>>;
use std::fmt;

/// A key in the store.
pub type Key = String;
/// A value in the store. `None` where a value is read means "no value" (Jepsen's `nil`).
pub type Value = String;

/// One client operation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "f", rename_all = "snake_case")]
pub enum Op {
    /// Read the value of `key`.
    Get { key: Key },
    /// Overwrite the value of `key`.
    Put { key: Key, value: Value },
    /// Set `key` to `to` if its current value is `from` (`None`: the key has no value).
    Cas { key: Key, from: Option<Value>, to: Value },
    /// Append `value` to the string stored at `key` (an absent key counts as the empty string).
    Append { key: Key, value: Value },
}

impl Op {
    /// The key this operation touches.
    pub fn key(&self) -> &str {
        match self {
            Op::Get { key }
            | Op::Put { key, .. }
            | Op::Cas { key, .. }
            | Op::Append { key, .. } => key,
        }
    }

    /// Short name of the operation's function: `get`, `put`, `cas`, `append`.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Get { .. } => "get",
            Op::Put { .. } => "put",
            Op::Cas { .. } => "cas",
            Op::Append { .. } => "append",
        }
    }

    /// True for operations that never change state; a system may serve them without a log entry.
    pub fn is_read(&self) -> bool {
        matches!(self, Op::Get { .. })
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Get { key } => write!(f, "get {key}"),
            Op::Put { key, value } => write!(f, "put {key}={value}"),
            Op::Cas { key, from, to } => {
                write!(f, "cas {key} {}->{to}", from.as_deref().unwrap_or("nil"))
            }
            Op::Append { key, value } => write!(f, "append {key}+={value}"),
        }
    }
}

/// Applies `op` to a value: the reference semantics every system and checker agree on.
///
/// Returns the operation's result and the new value, or `Err(())` for a compare-and-set whose
/// expected value did not match (the operation fails and changes nothing).
#[allow(clippy::result_unit_err)] // the only error is "cas did not match"
pub fn apply_op(current: Option<&Value>, op: &Op) -> Result<(Option<Value>, Option<Value>), ()> {
    match op {
        Op::Get { .. } => Ok((current.cloned(), current.cloned())),
        Op::Put { value, .. } => Ok((None, Some(value.clone()))),
        Op::Cas { from, to, .. } => {
            if current == from.as_ref() {
                Ok((None, Some(to.clone())))
            } else {
                Err(())
            }
        }
        Op::Append { value, .. } => {
            let mut next = current.cloned().unwrap_or_default();
            next.push_str(value);
            Ok((None, Some(next)))
        }
    }
}

/// The key-value API: get, put, compare-and-set, append on string keys and values. A
/// successful `get` returns what it read (`None`: no value); other operations return `None`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KvApi;

impl super::Api for KvApi {
    type Op = Op;
    type Res = Option<Value>;

    const OPS: &'static [(&'static str, u32)] =
        &[("get", 50), ("put", 30), ("cas", 10), ("append", 10)];

    fn name(op: &Op) -> &'static str {
        op.name()
    }

    const PADS_VALUES: bool = true;

    /// Values are unique per client (`c{client}-{n}`, padded to `clients.value_size`), so a
    /// read's value names the write it saw.
    fn generate(weights: &[u32], d: &mut super::Draw<'_>) -> Op {
        let (client, n) = (d.client, d.n);
        let key = format!("k{}", d.rng.below(u64::from(d.keys)));
        let value = d.padded(format!("c{client}-{n}"));
        match d.rng.weighted(weights).expect("validated: some weight is positive") {
            0 => Op::Get { key },
            1 => Op::Put { key, value },
            2 => {
                // Expect a value this client wrote recently, or none: some succeed, some fail.
                let from = match d.rng.below(3) {
                    0 => None,
                    _ if n > 1 => {
                        let back = n - 1 - d.rng.below(n.min(3) - 1);
                        Some(d.padded(format!("c{client}-{back}")))
                    }
                    _ => None,
                };
                Op::Cas { key, from, to: value }
            }
            _ => Op::Append { key, value: format!("{value};") },
        }
    }

    fn describe(op: &Op) -> String {
        op.to_string()
    }

    fn json(op: &Op, result: Option<&Option<Value>>) -> serde_json::Map<String, serde_json::Value> {
        let mut map = match serde_json::to_value(op) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => unreachable!("an op serializes to an object"),
        };
        if let (Op::Get { .. }, Some(Some(read))) = (op, result) {
            map.insert("read".into(), serde_json::Value::String(read.clone()));
        }
        map
    }

    /// Jepsen's register vocabulary (`:read`, `:write`, `:cas [from to]`, `:append`), with
    /// independent keys as `[k v]` tuples, as `jepsen.independent` writes them.
    fn edn(op: &Op, result: Option<&Option<Value>>) -> super::EdnOp {
        use super::edn::{option, string};
        let (f, value) = match op {
            Op::Get { .. } => ("read", "nil".to_string()),
            Op::Put { value, .. } => ("write", string(value)),
            Op::Cas { from, to, .. } => {
                ("cas", format!("[{} {}]", option(from.as_deref()), string(to)))
            }
            Op::Append { value, .. } => ("append", string(value)),
        };
        let done = match (op, result) {
            (Op::Get { .. }, Some(read)) => option(read.as_deref()),
            _ => value.clone(),
        };
        let key = string(op.key());
        super::EdnOp {
            f: f.to_string(),
            invoke: format!("[{key} {value}]"),
            complete: format!("[{key} {done}]"),
            key: None,
        }
    }
}
