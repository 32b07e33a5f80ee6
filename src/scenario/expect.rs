//! `[[expectations]]`: what must hold while faults stand, judged at its time, as named checks.
//!
//! Each expectation has a window: it opens at `at` (default 0) or when the fault named by
//! `after` applies, and closes `within` later, when the fault named by `until` applies, or at
//! the end of the run. What it judges in the window is its `kind`:
//!
//! | kind | judges | check kind |
//! |---|---|---|
//! | `leader` | some node leads and reaches a majority (both ways, up) at some point | liveness |
//! | `no-leader` | no node becomes leader | safety |
//! | `no-minority-leader` | no node becomes leader while it reaches fewer than a majority | safety |
//! | `no-commit` | no node learns a commit above the highest index committed at the start | safety |
//! | `applied` | the first entry a leader appends in the window (or the one at `index`) is applied on `count` nodes, all with one command | liveness |
//! | `converged` | at the window's end every node up has committed the same prefix | liveness |
//! | `messages` | at most `max` sends of the `messages` named, `per` election or span, `per_node` | budget |
//! | `bytes-per-commit` | peer bytes on the wire per entry committed is at most `max` | budget |
//! | `persisted-bytes` | no node's durable disk bytes exceed `max` | budget |

use super::{Duration, Scenario};
use crate::engine::Nanos;
use crate::world::fault::{Name, NodeRef};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One expectation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// The check's name in results and `[expect] fails` (default: `kind` with `-` as `_`, and
    /// `_2`, `_3` ... for repeats).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// What is judged (see the module's table).
    pub kind: ExpectKind,
    /// The window opens at this time...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Duration>,
    /// ... or when the fault of this name applies (never judged if it never does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// The window lasts this long (the bound of a liveness expectation)...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<Duration>,
    /// ... or until the fault of this name applies (or the run ends).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// Only this group's facts (a shard, a replica set); default any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<u32>,
    /// Only these nodes' facts (ids or bindings, resolved when the window opens); default all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeRef>,
    /// `applied`: on how many nodes (a number, `"majority"` (the default) or `"all"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<Count>,
    /// `applied`: the log index judged (default: the first entry a leader appends in the
    /// window); every node that applies it must apply the same command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    /// `messages`: the message kinds counted (`["Vote", "VoteReply"]`, as the trace names them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<String>,
    /// Budgets: the most allowed (messages, bytes per commit, bytes on disk).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
    /// `messages`: count `"election"` (reset at each new leader) or per span (`"1s"`); default
    /// the whole window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per: Option<Per>,
    /// `messages`: count each sending node apart.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub per_node: bool,
}

/// What an expectation judges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExpectKind {
    Leader,
    NoLeader,
    NoMinorityLeader,
    NoCommit,
    Applied,
    Converged,
    Messages,
    BytesPerCommit,
    PersistedBytes,
}

impl ExpectKind {
    /// As scenario files write it.
    pub fn written(self) -> &'static str {
        match self {
            ExpectKind::Leader => "leader",
            ExpectKind::NoLeader => "no-leader",
            ExpectKind::NoMinorityLeader => "no-minority-leader",
            ExpectKind::NoCommit => "no-commit",
            ExpectKind::Applied => "applied",
            ExpectKind::Converged => "converged",
            ExpectKind::Messages => "messages",
            ExpectKind::BytesPerCommit => "bytes-per-commit",
            ExpectKind::PersistedBytes => "persisted-bytes",
        }
    }

    /// Judged at the window's end on progress (a bound), not on every event.
    pub fn is_liveness(self) -> bool {
        matches!(self, ExpectKind::Leader | ExpectKind::Applied | ExpectKind::Converged)
    }

    /// A cost bound rather than a correctness property.
    pub fn is_budget(self) -> bool {
        matches!(
            self,
            ExpectKind::Messages | ExpectKind::BytesPerCommit | ExpectKind::PersistedBytes
        )
    }
}

/// On how many nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Count {
    Nodes(u32),
    Majority,
    All,
}

impl Count {
    /// The number of nodes of a cluster of `nodes`.
    pub fn of(self, nodes: u32) -> u32 {
        match self {
            Count::Nodes(n) => n,
            Count::Majority => nodes / 2 + 1,
            Count::All => nodes,
        }
    }
}

impl Serialize for Count {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Count::Nodes(n) => s.serialize_u32(*n),
            Count::Majority => s.serialize_str("majority"),
            Count::All => s.serialize_str("all"),
        }
    }
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match toml::Value::deserialize(d)? {
            toml::Value::Integer(n) if n > 0 && n <= i64::from(u32::MAX) => {
                Ok(Count::Nodes(n as u32))
            }
            toml::Value::String(s) if s == "majority" => Ok(Count::Majority),
            toml::Value::String(s) if s == "all" => Ok(Count::All),
            other => Err(D::Error::custom(format!(
                "{other} is not a count: a number above 0, \"majority\" or \"all\""
            ))),
        }
    }
}

/// How a message budget counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Per {
    /// From one new leader to the next.
    Election,
    /// In consecutive spans of this length from the window's start.
    Span(Nanos),
}

impl Serialize for Per {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Per::Election => s.serialize_str("election"),
            Per::Span(ns) => s.serialize_str(&crate::engine::format_nanos_exact(*ns)),
        }
    }
}

impl<'de> Deserialize<'de> for Per {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let text = String::deserialize(d)?;
        if text == "election" {
            return Ok(Per::Election);
        }
        match crate::engine::parse_duration(&text) {
            Ok(0) => Err(D::Error::custom("a span of 0 counts nothing")),
            Ok(ns) => Ok(Per::Span(ns)),
            Err(e) => Err(D::Error::custom(format!("expected \"election\" or a span: {e}"))),
        }
    }
}

impl Expectation {
    /// Keys given that `kind` does not read.
    fn stray_keys(&self) -> Vec<&'static str> {
        let k = self.kind;
        let mut stray = Vec::new();
        if self.count.is_some() && k != ExpectKind::Applied {
            stray.push("count");
        }
        if self.index.is_some() && k != ExpectKind::Applied {
            stray.push("index");
        }
        if !self.messages.is_empty() && k != ExpectKind::Messages {
            stray.push("messages");
        }
        if (self.per.is_some() || self.per_node) && k != ExpectKind::Messages {
            stray.push(if self.per.is_some() { "per" } else { "per_node" });
        }
        if self.max.is_some() && !k.is_budget() {
            stray.push("max");
        }
        stray
    }
}

/// The names expectations are reported under, in order (defaults filled in).
pub fn names(expectations: &[Expectation]) -> Vec<String> {
    let mut seen: BTreeMap<String, u32> = BTreeMap::new();
    expectations
        .iter()
        .map(|e| {
            if !e.name.is_empty() {
                return e.name.clone();
            }
            let base = e.kind.written().replace('-', "_");
            let n = seen.entry(base.clone()).or_insert(0);
            *n += 1;
            if *n == 1 {
                base
            } else {
                format!("{base}_{n}")
            }
        })
        .collect()
}

impl Scenario {
    pub(super) fn validate_expectations(
        &self,
        faults: &BTreeMap<&str, usize>,
        binds: &BTreeSet<Name>,
    ) -> Result<(), (String, String)> {
        let names = names(&self.expectations);
        for (i, e) in self.expectations.iter().enumerate() {
            let key = |k: &str| format!("expectations[{i}].{k}");
            let kind = e.kind.written();
            if let Some(j) = names[..i].iter().position(|n| *n == names[i]) {
                let why = format!("`{}` already names expectations[{j}]", names[i]);
                return Err((key("name"), why));
            }
            if !names[i].chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err((key("name"), "use letters, digits and `_`".into()));
            }
            for (k, r) in [("after", &e.after), ("until", &e.until)] {
                if let Some(name) = r {
                    if !faults.contains_key(name.as_str()) {
                        let why = format!("no fault is named `{name}` (give a fault `name`)");
                        return Err((key(k), why));
                    }
                }
            }
            if e.at.is_some() && e.after.is_some() {
                return Err((key("at"), "give `at` or `after`, not both".into()));
            }
            if e.within.is_some() && e.until.is_some() {
                return Err((key("within"), "give `within` or `until`, not both".into()));
            }
            if let Some(at) = e.at {
                if at.0 > self.duration.0 {
                    return Err((key("at"), "is after the end of the run".into()));
                }
            }
            if e.kind.is_liveness() && e.within.is_none() && e.until.is_none() {
                let why = format!("a `{kind}` expectation needs a bound: `within` (or `until`)");
                return Err((key("within"), why));
            }
            if e.kind.is_budget() && e.max.is_none() {
                return Err((key("max"), format!("a `{kind}` budget needs `max`")));
            }
            if e.kind == ExpectKind::Messages && e.messages.is_empty() {
                let why = "name the message kinds counted: messages = [\"Vote\", \"VoteReply\"]";
                return Err((key("messages"), why.into()));
            }
            if let Some(stray) = e.stray_keys().first() {
                return Err((key(stray), format!("does not apply to a `{kind}` expectation")));
            }
            if let Some(Count::Nodes(n)) = e.count {
                if n > self.nodes {
                    return Err((
                        key("count"),
                        format!("{n} is more than the {} nodes", self.nodes),
                    ));
                }
            }
            for r in &e.nodes {
                match r {
                    NodeRef::Id(n) if *n >= self.nodes => {
                        let why = format!("node {n} does not exist (nodes = {})", self.nodes);
                        return Err((key("nodes"), why));
                    }
                    NodeRef::Bound { name, .. } if !binds.contains(name) => {
                        return Err((key("nodes"), format!("no fault binds `{name}`")));
                    }
                    NodeRef::Pick(_) => {
                        let why = "name fixed ids or bindings (`L1`): a pick would change as \
                                   the run goes";
                        return Err((key("nodes"), why.into()));
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }
}
