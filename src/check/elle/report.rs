//! What the checker found: anomalies with their evidence, the verdict, and how they print.

use super::graph::Edge;
use super::history::{Outcome, Txn};
use super::{Key, Mop, OpType, ReadValue, Rel};
use serde::{Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// What the inference and the reports need to name things: the transactions and key names.
pub(crate) struct Ctx<'a> {
    pub txns: &'a [Txn<'a>],
    pub keys: &'a BTreeMap<Key, String>,
}

impl Ctx<'_> {
    pub fn key_name(&self, key: Key) -> String {
        self.keys.get(&key).cloned().unwrap_or_else(|| key.to_string())
    }

    pub fn txn_ref(&self, id: u32) -> TxnRef {
        let txn = &self.txns[id as usize];
        TxnRef {
            index: txn.index,
            process: txn.process,
            kind: match txn.outcome {
                Outcome::Ok => OpType::Ok,
                Outcome::Fail => OpType::Fail,
                Outcome::Info => OpType::Info,
            },
            value: self.mops_text(txn.mops),
        }
    }

    /// A transaction as EDN: `[[:append :x 1] [:r :y [1 2]]]`.
    pub fn mops_text(&self, mops: &[Mop]) -> String {
        let items: Vec<String> = mops.iter().map(|m| self.mop_text(m)).collect();
        format!("[{}]", items.join(" "))
    }

    pub fn mop_text(&self, mop: &Mop) -> String {
        match mop {
            Mop::Append { key, value } => format!("[:append {} {value}]", self.key_name(*key)),
            Mop::Write { key, value } => format!("[:w {} {value}]", self.key_name(*key)),
            Mop::Read { key, value } => {
                let value = match value {
                    None | Some(ReadValue::Register(None)) => "nil".to_string(),
                    Some(ReadValue::Register(Some(v))) => v.to_string(),
                    Some(ReadValue::List(list)) => list_text(list),
                };
                format!("[:r {} {value}]", self.key_name(*key))
            }
        }
    }
}

/// `[1 2 3]`.
pub(crate) fn list_text(list: &[i64]) -> String {
    let items: Vec<String> = list.iter().map(|v| v.to_string()).collect();
    format!("[{}]", items.join(" "))
}

/// A transaction named in evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TxnRef {
    /// The index of its completion record (of its invocation if it never completed).
    pub index: u64,
    pub process: u64,
    /// How it ended: `ok`, `fail` or `info`.
    #[serde(rename = "type")]
    pub kind: OpType,
    /// Its micro-operations, as EDN.
    pub value: String,
}

/// One edge of a cycle: `txns[from]` must precede `txns[to]` because of `rel` (on `key`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Step {
    pub from: usize,
    pub to: usize,
    pub rel: Rel,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// One anomaly and its evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Anomaly {
    /// Elle's name: `G0`, `G1c-realtime`, `lost-update`, ...
    pub name: String,
    /// The transactions involved: for a cycle, in cycle order (`T1`, `T2`, ... in `detail`).
    pub txns: Vec<TxnRef>,
    /// For a cycle, its edges (the last closes back to the first transaction); else empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cycle: Vec<Step>,
    /// The key concerned, for anomalies of one key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// One line for people: the cycle (`T1 -ww(x)-> T2 -rw(y)-> T1`) or what is wrong.
    pub detail: String,
}

impl Anomaly {
    /// An anomaly about the analysis itself, with no transactions.
    pub(crate) fn note(name: &str, detail: &str) -> Anomaly {
        Anomaly {
            name: name.to_string(),
            txns: Vec::new(),
            cycle: Vec::new(),
            key: None,
            detail: detail.to_string(),
        }
    }

    /// An anomaly about transactions `ids` (and `key`).
    pub(crate) fn about(
        name: &str,
        ctx: &Ctx<'_>,
        ids: &[u32],
        key: Option<Key>,
        detail: String,
    ) -> Anomaly {
        Anomaly {
            name: name.to_string(),
            txns: ids.iter().map(|&id| ctx.txn_ref(id)).collect(),
            cycle: Vec::new(),
            key: key.map(|k| ctx.key_name(k)),
            detail,
        }
    }

    /// A cycle anomaly: `edges` in order, each starting where the previous ended.
    pub(crate) fn cycle(name: String, edges: &[Edge], ctx: &Ctx<'_>) -> Anomaly {
        let ids: Vec<u32> = edges.iter().map(|e| e.from).collect();
        let mut detail = String::new();
        let mut cycle = Vec::new();
        for (i, e) in edges.iter().enumerate() {
            let to = (i + 1) % edges.len();
            let key = e.key.map(|k| ctx.key_name(k));
            let label = match &key {
                Some(k) => format!("{}({k})", e.rel.name()),
                None => e.rel.name().to_string(),
            };
            let _ = write!(detail, "T{} -{label}-> ", i + 1);
            cycle.push(Step { from: i, to, rel: e.rel, key });
        }
        let _ = write!(detail, "T1");
        Anomaly {
            name,
            txns: ids.iter().map(|&id| ctx.txn_ref(id)).collect(),
            cycle,
            key: None,
            detail,
        }
    }
}

/// The verdict: `true`, `false`, or `"unknown"` in JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validity {
    /// No anomaly the chosen models forbid.
    True,
    /// At least one forbidden anomaly.
    False,
    /// Only anomalies that say the analysis could not judge (`empty-transaction-graph`, ...).
    Unknown,
}

impl Serialize for Validity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Validity::True => s.serialize_bool(true),
            Validity::False => s.serialize_bool(false),
            Validity::Unknown => s.serialize_str("unknown"),
        }
    }
}

/// Anomalies of one kind kept as evidence, at most (the count is always whole).
pub const EVIDENCE_PER_TYPE_MAX: usize = 32;

/// The checker's findings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    /// False if an anomaly the models forbid was found; unknown if only inconclusive ones.
    pub valid: Validity,
    /// The kinds found among those the models forbid or that are inconclusive, sorted.
    pub anomaly_types: Vec<String>,
    /// The weakest consistency models the anomalies found rule out (Elle's `:not`).
    pub not: Vec<String>,
    /// The stronger models they rule out too (Elle's `:also-not`).
    pub also_not: Vec<String>,
    /// Evidence by kind (at most [`EVIDENCE_PER_TYPE_MAX`] each; `counts` has the totals).
    pub anomalies: BTreeMap<String, Vec<Anomaly>>,
    /// How many anomalies of each kind were found.
    pub counts: BTreeMap<String, usize>,
    /// Transactions in the history (ok, fail and info).
    pub txns: usize,
    /// Dependency edges inferred (order edges included).
    pub edges: usize,
}

impl Report {
    pub(crate) fn new(
        found: Vec<Anomaly>,
        prohibited: &BTreeSet<String>,
        reportable: &BTreeSet<String>,
        txns: usize,
        edges: usize,
    ) -> Report {
        let all_types: BTreeSet<String> = found.iter().map(|a| a.name.clone()).collect();
        let (not, also_not) =
            super::models::boundary(&all_types.iter().cloned().collect::<Vec<_>>());
        let mut anomalies: BTreeMap<String, Vec<Anomaly>> = BTreeMap::new();
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for anomaly in found {
            if !reportable.contains(&anomaly.name) {
                continue;
            }
            *counts.entry(anomaly.name.clone()).or_default() += 1;
            let kept = anomalies.entry(anomaly.name.clone()).or_default();
            if kept.len() < EVIDENCE_PER_TYPE_MAX {
                kept.push(anomaly);
            }
        }
        let anomaly_types: Vec<String> = anomalies.keys().cloned().collect();
        let valid = if anomaly_types.iter().any(|t| prohibited.contains(t)) {
            Validity::False
        } else if anomaly_types.is_empty() {
            Validity::True
        } else {
            Validity::Unknown
        };
        let (not, also_not) =
            if anomaly_types.is_empty() { (Vec::new(), Vec::new()) } else { (not, also_not) };
        Report { valid, anomaly_types, not, also_not, anomalies, counts, txns, edges }
    }

    /// The verdict and every anomaly with its evidence, for people.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let verdict = match self.valid {
            Validity::True => "valid",
            Validity::False => "INVALID",
            Validity::Unknown => "unknown",
        };
        let _ = writeln!(out, "{verdict}: {} transactions, {} dependencies", self.txns, self.edges);
        if !self.anomaly_types.is_empty() {
            let _ = writeln!(out, "anomalies: {}", self.anomaly_types.join(", "));
        }
        if !self.not.is_empty() {
            let _ = writeln!(out, "not: {}", self.not.join(", "));
        }
        if !self.also_not.is_empty() {
            let _ = writeln!(out, "also not: {}", self.also_not.join(", "));
        }
        for (name, list) in &self.anomalies {
            let count = self.counts.get(name).copied().unwrap_or(list.len());
            let shown = if count > list.len() {
                format!(" (first {} shown)", list.len())
            } else {
                String::new()
            };
            let _ = writeln!(out, "\n{name}: {count} found{shown}");
            for anomaly in list {
                let _ = writeln!(out, "  {}", anomaly.detail);
                for (i, txn) in anomaly.txns.iter().enumerate() {
                    let label = if anomaly.cycle.is_empty() {
                        "op".to_string()
                    } else {
                        format!("T{}", i + 1)
                    };
                    let _ = writeln!(
                        out,
                        "    {label} = index {} (process {}, {}): {}",
                        txn.index,
                        txn.process,
                        txn.kind.name(),
                        txn.value
                    );
                }
            }
        }
        out
    }
}
