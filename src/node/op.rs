//! Client operations: what a client asks of a system, and what it gets back.
//!
//! Every system in sim serves the same small key-value vocabulary (get, put, compare-and-set,
//! append), so the workload generator, the history recorder and the checkers are shared by all
//! of them.

use serde::{Deserialize, Serialize};
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
pub struct Request {
    /// Stable across retries of the same operation.
    pub id: RequestId,
    /// What to do.
    pub op: Op,
}

/// A node's answer to a client request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// The operation took effect; `value` is what a `get` read (`None` for other operations).
    Ok { value: Option<Value> },
    /// The operation definitely did not take effect (for example a compare-and-set mismatch).
    Fail { reason: &'static str },
    /// This node cannot serve the request; try `leader` if it is known. The operation did not
    /// take effect here.
    Redirect { leader: Option<u32> },
    /// The node accepted the request but cannot say whether it took effect (for example it lost
    /// leadership after proposing it). The client may retry with the same request id.
    Unknown,
}
