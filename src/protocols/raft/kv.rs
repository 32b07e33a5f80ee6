//! The replicated state machine: a pluggable trait, the key-value store, and client sessions.

use super::{checksum, mix};
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
    /// A digest of the whole state (equal states, equal digests), kept up to date as writes
    /// apply, so checkers can compare replicas' states after each entry and not only the
    /// commands they applied. 0 (the default) means the machine does not digest itself.
    fn digest(&self) -> u64 {
        0
    }
}

/// A digest of a set, kept incrementally: the wrapping sum of its members' hashes, so adding
/// and removing a member is O(1) and the order members arrived in does not matter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct SetDigest(u64);

impl SetDigest {
    fn add(&mut self, member: u64) {
        self.0 = self.0.wrapping_add(member);
    }

    fn remove(&mut self, member: u64) {
        self.0 = self.0.wrapping_sub(member);
    }
}

/// The hash of one key-value pair of the store.
fn pair_hash(key: &str, value: &str) -> u64 {
    mix(checksum(key.as_bytes()), checksum(value.as_bytes()))
}

/// The key-value store: `get`, `put`, `cas`, `append` with [`apply_op`] semantics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KvStore {
    values: BTreeMap<String, Value>,
    /// Of every (key, value) pair held.
    digest: SetDigest,
}

impl StateMachine for KvStore {
    fn apply(&mut self, op: &Op) -> Outcome {
        let key = op.key().to_string();
        match apply_op(self.values.get(&key), op) {
            Ok((read, next)) => {
                let old = match next {
                    Some(value) => {
                        self.digest.add(pair_hash(&key, &value));
                        self.values.insert(key.clone(), value)
                    }
                    None => self.values.remove(&key),
                };
                if let Some(old) = old {
                    self.digest.remove(pair_hash(&key, &old));
                }
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
        self.digest = SetDigest::default();
        for (key, value) in &self.values {
            self.digest.add(pair_hash(key, value));
        }
        Ok(())
    }

    fn digest(&self) -> u64 {
        mix(self.digest.0, self.values.len() as u64)
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
    /// Of every session entry: not stored, rebuilt by [`Sessions::rebuild_digest`].
    #[serde(skip)]
    digest: SetDigest,
}

/// The hash of one session entry.
fn session_hash(client: ClientId, (seq, outcome, index): &(u64, Outcome, u64)) -> u64 {
    let outcome = match outcome {
        Outcome::Ok(None) => 1,
        Outcome::Ok(Some(value)) => mix(2, checksum(value.as_bytes())),
        Outcome::Failed => 3,
    };
    mix(mix(u64::from(client), *seq), mix(outcome, *index))
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
        let entry = (id.seq, outcome, index);
        self.digest.add(session_hash(id.client, &entry));
        if let Some(old) = self.last.insert(id.client, entry) {
            self.digest.remove(session_hash(id.client, &old));
        }
        if self.last.len() > SESSIONS_MAX {
            let oldest = self.last.iter().min_by_key(|(c, v)| (v.2, **c)).map(|(c, _)| *c);
            let oldest = oldest.expect("non-empty");
            let entry = self.last.remove(&oldest).expect("the oldest is held");
            self.digest.remove(session_hash(oldest, &entry));
        }
    }

    /// A digest of the whole table (equal tables, equal digests).
    pub fn digest(&self) -> u64 {
        mix(self.digest.0, self.last.len() as u64)
    }

    /// Recomputes the digest from the table (after it was read from a snapshot).
    fn rebuild_digest(&mut self) {
        self.digest = SetDigest::default();
        for (client, entry) in &self.last {
            self.digest.add(session_hash(*client, entry));
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
        self.sessions.rebuild_digest();
        Ok(())
    }

    /// A digest of the whole replicated state, the session table included (a replica that
    /// applied a retried write twice, or lost its sessions across a snapshot, differs); 0 when
    /// the state machine does not digest itself.
    pub fn digest(&self) -> u64 {
        match self.machine.digest() {
            0 => 0,
            machine => mix(machine, self.sessions.digest()).max(1),
        }
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

    /// Applies `ops` (client 1, seq from 1, index from 1) to a fresh replica.
    fn replica_after(ops: &[Op]) -> Replica<KvStore> {
        let mut r = Replica::<KvStore>::default();
        for (i, op) in ops.iter().enumerate() {
            r.apply(RequestId { client: 1, seq: i as u64 + 1 }, op, i as u64 + 1);
        }
        r
    }

    #[test]
    fn digests_follow_the_state_not_the_path() {
        let put = |k: &str, v: &str| Op::Put { key: k.into(), value: v.into() };
        let append = |k: &str, v: &str| Op::Append { key: k.into(), value: v.into() };
        let a = replica_after(&[put("a", "1"), put("b", "2"), append("a", "x")]);
        assert_ne!(a.digest(), 0);
        // Same store, reached otherwise: the machines agree, the session tables do not.
        let b = replica_after(&[put("b", "2"), put("a", "1x")]);
        assert_eq!(a.machine.digest(), b.machine.digest());
        assert_ne!(a.sessions.digest(), b.sessions.digest());
        // A write applied twice (its session forgotten) changes the state.
        let mut twice = replica_after(&[append("a", "x")]);
        twice.sessions = Sessions::default();
        twice.apply(RequestId { client: 1, seq: 1 }, &append("a", "x"), 1);
        assert_ne!(twice.digest(), replica_after(&[append("a", "x")]).digest());
        // A snapshot restores the digest exactly, sessions included.
        let mut copy = Replica::<KvStore>::default();
        copy.restore(&a.snapshot()).unwrap();
        assert_eq!(copy.digest(), a.digest());
        // Losing the session table across a restore shows in the digest.
        let mut lost = copy.clone();
        lost.sessions = Sessions::default();
        assert_ne!(lost.digest(), a.digest());
        // Overwriting and deleting keep it incremental and exact.
        let mut c = replica_after(&[put("a", "1"), put("a", "2")]);
        let fresh = replica_after(&[put("a", "2")]);
        assert_eq!(c.machine.digest(), fresh.machine.digest());
        let cas = Op::Cas { key: "a".into(), from: Some("2".into()), to: "3".into() };
        c.apply(RequestId { client: 2, seq: 1 }, &cas, 3);
        assert_eq!(c.machine.digest(), replica_after(&[put("a", "3")]).machine.digest());
    }
}
