//! The replicated state machine: a pluggable trait, the key-value store, and client sessions.

use crate::node::{apply_op, ClientId, Op, Reply, RequestId, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What applying or reading an operation produced. Unlike [`Reply`] it can be stored in a
/// session table and a snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// The operation took effect (for a read: the value read).
    Ok(Option<Value>),
    /// The operation's precondition failed (a compare-and-set mismatch); nothing changed.
    Failed,
}

impl Outcome {
    /// The answer a client gets.
    pub fn reply(&self) -> Reply<Option<Value>> {
        match self {
            Outcome::Ok(value) => Reply::Ok { value: value.clone() },
            Outcome::Failed => Reply::Fail { reason: "precondition failed" },
        }
    }
}

/// A deterministic state machine Raft replicates.
pub trait StateMachine: Default + 'static {
    /// Applies a committed write.
    fn apply(&mut self, op: &Op) -> Outcome;
    /// Serves a read without changing anything.
    fn query(&self, op: &Op) -> Outcome;
    /// The whole state, to be restored by [`StateMachine::restore`].
    fn snapshot(&self) -> Vec<u8>;
    /// Replaces the state with a snapshot's.
    fn restore(&mut self, bytes: &[u8]) -> Result<(), String>;
}

/// The key-value store: `get`, `put`, `cas`, `append` with [`apply_op`] semantics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KvStore {
    values: BTreeMap<String, Value>,
}

impl StateMachine for KvStore {
    fn apply(&mut self, op: &Op) -> Outcome {
        let key = op.key().to_string();
        match apply_op(self.values.get(&key), op) {
            Ok((read, next)) => {
                match next {
                    Some(value) => self.values.insert(key, value),
                    None => self.values.remove(&key),
                };
                Outcome::Ok(read)
            }
            Err(()) => Outcome::Failed,
        }
    }

    fn query(&self, op: &Op) -> Outcome {
        match apply_op(self.values.get(op.key()), op) {
            Ok((read, _)) => Outcome::Ok(read),
            Err(()) => Outcome::Failed,
        }
    }

    fn snapshot(&self) -> Vec<u8> {
        serde_json::to_vec(&self.values).expect("map serialises")
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.values = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        Ok(())
    }
}

/// Most client sessions kept; beyond it the least recently used is forgotten (a retry of its
/// last request would then be applied twice, so keep this above the number of clients).
pub const SESSIONS_MAX: usize = 4096;

/// Per client: the last request applied and its outcome, for exactly-once application.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sessions {
    /// client -> (last applied seq, its outcome, log index it was applied at).
    last: BTreeMap<ClientId, (u64, Outcome, u64)>,
}

/// What a session says about a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    /// Never applied: apply it.
    New,
    /// Already applied: this was the outcome.
    Applied(Outcome),
    /// Older than the last applied request of its client: its outcome is forgotten.
    Stale,
}

impl Sessions {
    /// Whether `id` was applied already.
    pub fn seen(&self, id: RequestId) -> Seen {
        match self.last.get(&id.client) {
            Some((seq, outcome, _)) if *seq == id.seq => Seen::Applied(outcome.clone()),
            Some((seq, _, _)) if *seq > id.seq => Seen::Stale,
            _ => Seen::New,
        }
    }

    /// Records that `id` was applied at `index` with `outcome`.
    pub fn record(&mut self, id: RequestId, outcome: Outcome, index: u64) {
        self.last.insert(id.client, (id.seq, outcome, index));
        if self.last.len() > SESSIONS_MAX {
            let oldest = self.last.iter().min_by_key(|(c, v)| (v.2, **c)).map(|(c, _)| *c);
            self.last.remove(&oldest.expect("non-empty"));
        }
    }
}

/// The replicated state: a state machine and the client sessions, snapshotted together.
#[derive(Clone, Debug, Default)]
pub struct Replica<S: StateMachine> {
    /// The state machine.
    pub machine: S,
    /// The session table.
    pub sessions: Sessions,
}

#[derive(Serialize, Deserialize)]
struct ReplicaImage {
    machine: Vec<u8>,
    sessions: Sessions,
}

impl<S: StateMachine> Replica<S> {
    /// Applies a client's write exactly once; returns its outcome (cached for a retry).
    pub fn apply(&mut self, id: RequestId, op: &Op, index: u64) -> Outcome {
        match self.sessions.seen(id) {
            Seen::Applied(outcome) => outcome,
            Seen::Stale => Outcome::Failed,
            Seen::New => {
                let outcome = self.machine.apply(op);
                self.sessions.record(id, outcome.clone(), index);
                outcome
            }
        }
    }

    /// The replicated state as bytes.
    pub fn snapshot(&self) -> Vec<u8> {
        let image =
            ReplicaImage { machine: self.machine.snapshot(), sessions: self.sessions.clone() };
        serde_json::to_vec(&image).expect("image serialises")
    }

    /// Replaces the state with a snapshot's.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), String> {
        let image: ReplicaImage = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        self.machine.restore(&image.machine)?;
        self.sessions = image.sessions;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_apply_once_and_survive_snapshots() {
        let mut r = Replica::<KvStore>::default();
        let id = RequestId { client: 1, seq: 1 };
        let op = Op::Append { key: "k".into(), value: "x".into() };
        assert_eq!(r.apply(id, &op, 1), Outcome::Ok(None));
        assert_eq!(r.apply(id, &op, 2), Outcome::Ok(None));
        let mut copy = Replica::<KvStore>::default();
        copy.restore(&r.snapshot()).unwrap();
        copy.apply(id, &op, 3);
        let get = Op::Get { key: "k".into() };
        assert_eq!(copy.machine.query(&get), Outcome::Ok(Some("x".into())));
        assert_eq!(copy.sessions.seen(RequestId { client: 1, seq: 0 }), Seen::Stale);
        let cas = Op::Cas { key: "k".into(), from: None, to: "y".into() };
        assert_eq!(copy.apply(RequestId { client: 2, seq: 1 }, &cas, 4), Outcome::Failed);
    }
}
