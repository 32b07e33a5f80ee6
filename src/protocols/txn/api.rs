//! The transaction API: a transaction is a list of micro-operations on integer keys, as
//! Jepsen's transactional workloads write them, so Elle-class checkers can judge the history.
//!
//! - **list-append** (`mix = { list_append = 1 }`, the default): `[:append k v]` appends `v`
//!   to the list at `k`, `[:r k nil]` reads the whole list. Every appended value is unique in
//!   the run, so each read names the writes it saw and their order: the version order of every
//!   key is known, and every dependency between transactions can be inferred.
//! - **rw-register** (`mix = { rw_register = 1 }`): `[:w k v]` writes a unique value, `[:r k
//!   nil]` reads the register. Version orders must be inferred (Elle's rw-register rules).
//!
//! A transaction draws 1 to [`MOPS_MAX`] micro-operations over keys uniform in
//! `0..clients.keys`. The two kinds keep disjoint key spaces inside the store, so a mix of
//! both is judged kind by kind.

use crate::api::{Api, Draw, EdnOp};
use serde::Serialize;

/// A key of the transaction API.
pub type TxnKey = i64;

/// Most micro-operations one transaction draws.
pub const MOPS_MAX: u64 = 4;
/// Appended and written values are `(client << CLIENT_SHIFT) | (n << 4) | i`: unique per run.
pub const CLIENT_SHIFT: u32 = 40;

/// Which workload a transaction belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TxnKind {
    /// Appends to lists and reads of whole lists.
    ListAppend,
    /// Writes and reads of registers.
    RwRegister,
}

/// One micro-operation as the client asks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mop {
    /// Append `value` to the list at `key` (list-append).
    Append { key: TxnKey, value: i64 },
    /// Write `value` to the register at `key` (rw-register).
    Write { key: TxnKey, value: i64 },
    /// Read `key`: the list, or the register's value.
    Read { key: TxnKey },
}

impl Mop {
    /// The key the micro-operation touches.
    pub fn key(&self) -> TxnKey {
        match *self {
            Mop::Append { key, .. } | Mop::Write { key, .. } | Mop::Read { key } => key,
        }
    }
}

/// One transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxnOp {
    /// Its workload.
    pub kind: TxnKind,
    /// Its micro-operations, in order.
    pub mops: Vec<Mop>,
}

/// What a read returned.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ReadValue {
    /// A list-append read: the list (empty if the key was never appended to).
    List(Vec<i64>),
    /// An rw-register read: the value, `None` if the key was never written.
    Register(Option<i64>),
}

/// The result of a committed transaction: what each read micro-operation returned, by its
/// position in [`TxnOp::mops`] (`None` at the positions of writes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxnRes {
    /// One entry per micro-operation.
    pub reads: Vec<Option<ReadValue>>,
}

/// The transaction API. See the module documentation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TxnApi;

impl Api for TxnApi {
    type Op = TxnOp;
    type Res = TxnRes;

    const OPS: &'static [(&'static str, u32)] = &[("list_append", 1), ("rw_register", 0)];

    fn name(op: &TxnOp) -> &'static str {
        match op.kind {
            TxnKind::ListAppend => "list_append",
            TxnKind::RwRegister => "rw_register",
        }
    }

    /// 1 to [`MOPS_MAX`] micro-operations, each a read or a write (append) with even odds,
    /// on keys uniform in `0..keys`; written values are unique in the run.
    fn generate(weights: &[u32], d: &mut Draw<'_>) -> TxnOp {
        assert!(u64::from(d.client) < 1 << (63 - CLIENT_SHIFT), "client id too large");
        assert!(d.n < 1 << (CLIENT_SHIFT - 4), "client {} ran out of values", d.client);
        let kind = match d.rng.weighted(weights).expect("validated: some weight is positive") {
            0 => TxnKind::ListAppend,
            _ => TxnKind::RwRegister,
        };
        let keys = u64::from(d.keys.max(1));
        let count = d.rng.between(1, MOPS_MAX);
        let mops = (0..count)
            .map(|i| {
                let key = d.rng.below(keys) as TxnKey;
                let value = (i64::from(d.client) << CLIENT_SHIFT) | (d.n as i64) << 4 | i as i64;
                match (d.rng.below(2), kind) {
                    (0, _) => Mop::Read { key },
                    (_, TxnKind::ListAppend) => Mop::Append { key, value },
                    (_, TxnKind::RwRegister) => Mop::Write { key, value },
                }
            })
            .collect();
        TxnOp { kind, mops }
    }

    fn describe(op: &TxnOp) -> String {
        let mops: Vec<String> = op.mops.iter().map(describe_mop).collect();
        format!("txn [{}]", mops.join(" "))
    }

    /// `"f": "txn"`, `"workload"`, and `"value"`: the micro-operations as Jepsen writes them,
    /// `["append", k, v]`, `["w", k, v]`, `["r", k, read]`, where `read` is the list or the
    /// value read (null for a register never written), and null unless the transaction
    /// committed.
    fn json(op: &TxnOp, result: Option<&TxnRes>) -> serde_json::Map<String, serde_json::Value> {
        use serde_json::{json, Value};
        let value: Vec<Value> = op
            .mops
            .iter()
            .enumerate()
            .map(|(i, m)| match *m {
                Mop::Append { key, value } => json!(["append", key, value]),
                Mop::Write { key, value } => json!(["w", key, value]),
                Mop::Read { key } => {
                    let read = match result.and_then(|r| r.reads.get(i)).and_then(Option::as_ref) {
                        Some(ReadValue::List(list)) => json!(list),
                        Some(ReadValue::Register(v)) => json!(v),
                        None => Value::Null,
                    };
                    json!(["r", key, read])
                }
            })
            .collect();
        let mut map = serde_json::Map::new();
        map.insert("f".into(), "txn".into());
        map.insert("workload".into(), serde_json::to_value(op.kind).expect("a kind serializes"));
        map.insert("value".into(), Value::Array(value));
        map
    }

    /// Jepsen's shape: `:f :txn`, `:value [[:append 3 17] [:r 4 [1 2]]]` (reads `nil` on the
    /// invocation and unless the transaction committed).
    fn edn(op: &TxnOp, result: Option<&TxnRes>) -> EdnOp {
        let mops = |with_reads: bool| {
            let items: Vec<String> = op
                .mops
                .iter()
                .enumerate()
                .map(|(i, m)| match *m {
                    Mop::Append { key, value } => format!("[:append {key} {value}]"),
                    Mop::Write { key, value } => format!("[:w {key} {value}]"),
                    Mop::Read { key } => {
                        let read = result
                            .filter(|_| with_reads)
                            .and_then(|r| r.reads.get(i))
                            .and_then(Option::as_ref);
                        format!("[:r {key} {}]", edn_read(read))
                    }
                })
                .collect();
            format!("[{}]", items.join(" "))
        };
        EdnOp { f: "txn".into(), invoke: mops(false), complete: mops(true), key: None }
    }
}

fn edn_read(read: Option<&ReadValue>) -> String {
    match read {
        None | Some(ReadValue::Register(None)) => "nil".into(),
        Some(ReadValue::Register(Some(v))) => v.to_string(),
        Some(ReadValue::List(list)) => {
            let items: Vec<String> = list.iter().map(i64::to_string).collect();
            format!("[{}]", items.join(" "))
        }
    }
}

fn describe_mop(m: &Mop) -> String {
    match *m {
        Mop::Append { key, value } => format!("append({key},{})", value_name(value)),
        Mop::Write { key, value } => format!("w({key},{})", value_name(value)),
        Mop::Read { key } => format!("r({key})"),
    }
}

/// A written value for people: `c{client}-{n}.{i}`.
pub fn value_name(value: i64) -> String {
    let client = value >> CLIENT_SHIFT;
    let rest = value & ((1 << CLIENT_SHIFT) - 1);
    format!("c{client}-{}.{}", rest >> 4, rest & 15)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::SimRng;

    #[test]
    fn generated_transactions_are_in_bounds_with_unique_values() {
        let mut rng = SimRng::new(3, 1);
        let mut values = std::collections::BTreeSet::new();
        let (mut reads, mut writes) = (0, 0);
        for (client, weights) in [(1, [1, 0]), (2, [0, 1])] {
            for n in 1..=500 {
                let mut d = Draw { rng: &mut rng, client, n, keys: 5, value_size: 0, timeout: 0 };
                let op = TxnApi::generate(&weights, &mut d);
                let want = if client == 1 { TxnKind::ListAppend } else { TxnKind::RwRegister };
                assert_eq!(op.kind, want);
                assert!((1..=MOPS_MAX as usize).contains(&op.mops.len()));
                for m in &op.mops {
                    assert!((0..5).contains(&m.key()));
                    match *m {
                        Mop::Append { value, .. } | Mop::Write { value, .. } => {
                            assert!(values.insert(value), "value {value} drawn twice");
                            assert_eq!(value >> CLIENT_SHIFT, i64::from(client));
                            writes += 1;
                        }
                        Mop::Read { .. } => reads += 1,
                    }
                    let is_append = matches!(m, Mop::Append { .. });
                    assert!(!is_append || op.kind == TxnKind::ListAppend);
                }
            }
        }
        assert!(reads > 300 && writes > 300, "{reads} reads, {writes} writes");
    }

    #[test]
    fn json_and_edn_write_jepsen_shapes() {
        let op = TxnOp {
            kind: TxnKind::ListAppend,
            mops: vec![Mop::Append { key: 1, value: 5 }, Mop::Read { key: 2 }],
        };
        let res = TxnRes { reads: vec![None, Some(ReadValue::List(vec![3, 4]))] };
        let map = TxnApi::json(&op, Some(&res));
        assert_eq!(map["value"], serde_json::json!([["append", 1, 5], ["r", 2, [3, 4]]]));
        assert_eq!(map["f"], "txn");
        assert_eq!(map["workload"], "list-append");
        assert_eq!(TxnApi::json(&op, None)["value"][1][2], serde_json::Value::Null);
        let edn = TxnApi::edn(&op, Some(&res));
        assert_eq!(edn.f, "txn");
        assert_eq!(edn.invoke, "[[:append 1 5] [:r 2 nil]]");
        assert_eq!(edn.complete, "[[:append 1 5] [:r 2 [3 4]]]");
        let rw = TxnOp { kind: TxnKind::RwRegister, mops: vec![Mop::Read { key: 0 }] };
        let none = TxnRes { reads: vec![Some(ReadValue::Register(None))] };
        assert_eq!(TxnApi::edn(&rw, Some(&none)).complete, "[[:r 0 nil]]");
        assert_eq!(value_name((3 << CLIENT_SHIFT) | (7 << 4) | 2), "c3-7.2");
    }
}
