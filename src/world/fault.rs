//! Faults: what can go wrong, written down as data.
//!
//! A scenario lists faults at fixed times and/or lets the nemesis draw them at random. Faults
//! may name their target loosely (`node = "leader"`, `node = "random"`, a partition without
//! explicit groups); when a fault is applied the simulator resolves it to a concrete fault, and
//! the concrete one is what the run records. Replaying the recorded faults as a fixed schedule
//! reproduces the run's faults exactly: that is how shrinking starts.

use crate::engine::Nanos;
use crate::world::network::{Jitter, LinkConfig, MessageClass, Scope};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A node named by a fault: a fixed index, one chosen when the fault is applied, or one an
/// earlier fault bound.
///
/// Written as a node id (`2`); a pick: `"leader"`, `"random"`, `"follower"` (any node but the
/// leader), `"follower:1"` (the second follower in id order), each optionally per group (a
/// shard or a replica set whose facts carry that group): `"leader@1"`, `"follower:0@2"`; or a
/// binding: `"L1"` (the node the fault with `bind = "L1"` targeted), `"L1+2"` (two ids further
/// on, modulo the cluster). Binding names start with an upper-case letter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeRef {
    /// This node.
    Id(u32),
    /// A symbolic target.
    Pick(Pick),
    /// The node bound to `name`, `offset` ids further on modulo the cluster.
    Bound { name: Name, offset: u32 },
}

/// How a symbolic [`NodeRef`] is resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    /// The node that most recently claimed leadership (of `group`, or of any group) and is up.
    Leader { group: Option<u32> },
    /// A node drawn at random among those the fault applies to (members of `group` only, when
    /// given: nodes that recorded a fact in that group).
    Random { group: Option<u32> },
    /// A node that is not the leader (of `group`): drawn at random, or the `nth` (from 0) in
    /// id order among those the fault applies to.
    Follower { group: Option<u32>, nth: Option<u32> },
}

impl Pick {
    /// The leader of any group.
    pub const LEADER: Pick = Pick::Leader { group: None };
    /// Any node.
    pub const RANDOM: Pick = Pick::Random { group: None };
}

/// A binding's name (`L1`, `Old`): up to 15 ASCII letters, digits or `_`, the first an
/// upper-case letter. Stored inline, so a [`NodeRef`] stays `Copy`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name {
    len: u8,
    bytes: [u8; 15],
}

/// The binding a `when` fault's target may name without any fault binding it: the node whose
/// fact triggered the fault (`when = "vote"`, `node = "RECORDER"`: crash the node that just
/// voted, before its reply arrives).
pub const RECORDER: &str = "RECORDER";

impl Name {
    /// Whether this is [`RECORDER`].
    pub fn is_recorder(&self) -> bool {
        self.bytes[..self.len as usize] == *RECORDER.as_bytes()
    }

    /// The name `text`, or why it is not one.
    pub fn new(text: &str) -> Result<Name, String> {
        let ok = text.len() <= 15
            && text.starts_with(|c: char| c.is_ascii_uppercase())
            && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            return Err(format!(
                "`{text}` is not a binding name: up to 15 letters, digits or `_`, starting with \
                 an upper-case letter (`L1`, `Old`)"
            ));
        }
        let mut bytes = [0; 15];
        bytes[..text.len()].copy_from_slice(text.as_bytes());
        Ok(Name { len: text.len() as u8, bytes })
    }

    /// The name as written.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len as usize]).expect("ASCII")
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_str())
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Name {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Name::new(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl NodeRef {
    /// Parses the written form of a symbolic target or binding (see [`NodeRef`]).
    pub fn parse(text: &str) -> Result<NodeRef, String> {
        const EXPECTED: &str = "a node id (0, 1, ...), \"leader\", \"random\", \"follower\", \
            \"follower:K\" (each may end in \"@G\" for group G), or a binding (\"L1\", \"L1+2\")";
        if text.starts_with(|c: char| c.is_ascii_uppercase()) {
            let (name, offset) = match text.split_once('+') {
                Some((name, k)) => {
                    let k = k.trim().parse::<u32>().map_err(|_| {
                        format!("`{text}`: offset `{k}` is not a number (write `L1+2`)")
                    })?;
                    (name.trim(), k)
                }
                None => (text, 0),
            };
            return Ok(NodeRef::Bound { name: Name::new(name)?, offset });
        }
        let (name, group) = match text.split_once('@') {
            Some((name, g)) => {
                let g = g
                    .parse::<u32>()
                    .map_err(|_| format!("`{text}`: group `{g}` is not a number"))?;
                (name, Some(g))
            }
            None => (text, None),
        };
        match name {
            "leader" => Ok(NodeRef::Pick(Pick::Leader { group })),
            "random" => Ok(NodeRef::Pick(Pick::Random { group })),
            "follower" => Ok(NodeRef::Pick(Pick::Follower { group, nth: None })),
            _ => match name.strip_prefix("follower:") {
                Some(k) => {
                    let nth = k.parse::<u32>().map_err(|_| {
                        format!("`{text}`: `{k}` is not a follower number (write `follower:0`)")
                    })?;
                    Ok(NodeRef::Pick(Pick::Follower { group, nth: Some(nth) }))
                }
                None => Err(format!("`{text}`: expected {EXPECTED}")),
            },
        }
    }
}

impl fmt::Display for NodeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = |g: &Option<u32>| g.map(|g| format!("@{g}")).unwrap_or_default();
        match self {
            NodeRef::Id(n) => write!(f, "n{n}"),
            NodeRef::Pick(Pick::Leader { group }) => write!(f, "leader{}", at(group)),
            NodeRef::Pick(Pick::Random { group }) => write!(f, "random{}", at(group)),
            NodeRef::Pick(Pick::Follower { group, nth: None }) => {
                write!(f, "follower{}", at(group))
            }
            NodeRef::Pick(Pick::Follower { group, nth: Some(k) }) => {
                write!(f, "follower:{k}{}", at(group))
            }
            NodeRef::Bound { name, offset: 0 } => write!(f, "{name}"),
            NodeRef::Bound { name, offset } => write!(f, "{name}+{offset}"),
        }
    }
}

impl Serialize for NodeRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            NodeRef::Id(n) => s.serialize_u32(*n),
            other => s.serialize_str(&other.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for NodeRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match toml::Value::deserialize(d)? {
            toml::Value::Integer(n) => u32::try_from(n)
                .map(NodeRef::Id)
                .map_err(|_| D::Error::custom(format!("node {n} is not a node id (0, 1, ...)"))),
            toml::Value::String(text) => NodeRef::parse(&text).map_err(D::Error::custom),
            other => Err(D::Error::custom(format!(
                "{} is not a node: expected a node id or a name such as \"leader\"",
                other.type_str()
            ))),
        }
    }
}

/// One side of a partition: some nodes, or every node no other side names (`"rest"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Side {
    /// These nodes (ids, picks or bindings).
    Nodes(Vec<NodeRef>),
    /// Every node the other sides do not name.
    Rest,
}

impl Side {
    /// The side's node ids, if every one is a fixed id.
    pub fn ids(&self) -> Option<Vec<u32>> {
        match self {
            Side::Nodes(nodes) => nodes
                .iter()
                .map(|n| match n {
                    NodeRef::Id(id) => Some(*id),
                    _ => None,
                })
                .collect(),
            Side::Rest => None,
        }
    }
}

impl Serialize for Side {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Side::Nodes(nodes) => nodes.serialize(s),
            Side::Rest => s.serialize_str("rest"),
        }
    }
}

impl<'de> Deserialize<'de> for Side {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match toml::Value::deserialize(d)? {
            toml::Value::String(s) if s == "rest" => Ok(Side::Rest),
            toml::Value::Array(items) => items
                .into_iter()
                .map(|v| NodeRef::deserialize(v).map_err(|e| D::Error::custom(e.message())))
                .collect::<Result<_, _>>()
                .map(Side::Nodes),
            other => Err(D::Error::custom(format!(
                "a partition's side is a list of nodes or \"rest\", not {other}"
            ))),
        }
    }
}

/// Partition sides of fixed ids.
pub fn sides(groups: Vec<Vec<u32>>) -> Vec<Side> {
    groups.into_iter().map(|g| Side::Nodes(g.into_iter().map(NodeRef::Id).collect())).collect()
}

/// One fault. Serialised with a `kind` tag, as scenario files write it; every key is checked
/// (an unknown one is an error), for `heal` and `link-restore` too, which take none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
// `remote = "Self"`: the derived code becomes the inherent `Fault::serialize`/`deserialize`,
// wrapped by the trait impls below, since `deny_unknown_fields` does not reach unit variants.
// Deserialize through the trait (`<Fault as Deserialize>::deserialize`, `toml::from_str`).
#[serde(remote = "Self", tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Fault {
    /// Split the nodes into groups that cannot talk to each other. Without `groups`, a random
    /// split into a majority and a minority. A side lists nodes (ids, picks, bindings) or is
    /// `"rest"`: `groups = [["L1"], "rest"]`.
    Partition {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        groups: Option<Vec<Side>>,
    },
    /// Cut one node off from every other node (`disconnect` is the same fault); `connect`
    /// rejoins it.
    #[serde(alias = "disconnect")]
    Isolate { node: NodeRef },
    /// Rejoin one node: undo every cut in force that separates it from another node, leaving
    /// the cuts between the others as they are (a heal restores every link).
    Connect { node: NodeRef },
    /// Two halves that cannot talk, and one node (`bridge`) that talks to both. Without
    /// `groups`, random halves.
    Bridge {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        groups: Option<[Vec<u32>; 2]>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bridge: Option<u32>,
    },
    /// Cut the links from `from` to the nodes `to` in one direction only (replies still flow
    /// the other way). Without `to`, every other node.
    OneWay {
        from: NodeRef,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<Vec<u32>>,
    },
    /// Restore every cut link.
    Heal,
    /// Crash a node: it loses its memory, its pending timers and its unsynced writes.
    Crash { node: NodeRef },
    /// Restart a crashed node; it recovers from its disk. A node that is up is left alone.
    Restart { node: NodeRef },
    /// Step a node's clock by `by` (`"2s"`, `"-500ms"`).
    ClockJump { node: NodeRef, by: SignedDuration },
    /// Change a node's clock drift to `ppm` parts per million.
    ClockDrift { node: NodeRef, ppm: i64 },
    /// Flip one bit of data at rest on a node's disk.
    DiskCorrupt { node: NodeRef },
    /// Make one sector of a node's disk unreadable until rewritten.
    DiskSectorError { node: NodeRef },
    /// Make one of a node's next few disk writes land at the wrong offset or in the wrong file.
    DiskMisdirect { node: NodeRef },
    /// Make the links between `a` and `b` slow, lossy, jittery, reordering, duplicating (see
    /// [`Degrade`]).
    LinkDegrade(Degrade),
    /// Return every link to the scenario's network settings.
    LinkRestore,
}

/// A `link-degrade`: the links between `a` and `b` (both ways, or `a` to `b` only; every host,
/// clients included, where a set is absent) behave worse than the scenario's `[network]`, for
/// every message or only requests or replies, until a `link-restore`. Every key but the sets
/// defaults to "as the scenario's network"; the newest degrade covering a message decides it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Degrade {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub a: Option<Vec<u32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub b: Option<Vec<u32>>,
    /// Extra one-way latency, added to the network's.
    #[serde(default)]
    pub latency: SignedDuration,
    /// Loss probability on the degraded links (0 to 1; the network's if higher).
    #[serde(default)]
    pub loss: Probability,
    /// Extra random latency per message, on top of the network's jitter and drawn after FIFO
    /// order: messages on the degraded links overtake each other.
    #[serde(default, skip_serializing_if = "SignedDuration::is_zero")]
    pub jitter: SignedDuration,
    /// The shape of the degraded links' jitter (the network's and `jitter`); the network's
    /// if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter_distribution: Option<Jitter>,
    /// Probability a message leaves FIFO order: held back up to three times the link's
    /// latency plus jitter, so later messages overtake it (the network's if higher).
    #[serde(default, skip_serializing_if = "Probability::is_zero")]
    pub reorder: Probability,
    /// Probability a message is delivered twice (the network's if higher).
    #[serde(default, skip_serializing_if = "Probability::is_zero")]
    pub duplicate: Probability,
    /// `"both"` (default) or `"a-to-b"`: only the links from `a` to `b`.
    #[serde(default, skip_serializing_if = "Direction::is_both")]
    pub direction: Direction,
    /// `"all"` (default), `"requests"` or `"replies"` (as `Node::is_reply` tells).
    #[serde(default, skip_serializing_if = "Messages::is_all")]
    pub messages: Messages,
    /// Probability a message is held back by a `long_delay` as well (long reordering).
    #[serde(default, skip_serializing_if = "Probability::is_zero")]
    pub long_delay_fraction: Probability,
    /// The long delay, drawn uniformly per message from the span (`"200ms..2s"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub long_delay: Option<Span>,
    /// The degrade stands through the quiet period instead of being undone when it starts.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub through_quiet: bool,
}

/// Which links of a degrade between `a` and `b`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Direction {
    /// Both ways.
    #[default]
    Both,
    /// From `a` to `b` only.
    AToB,
}

impl Direction {
    fn is_both(&self) -> bool {
        *self == Direction::Both
    }
}

/// Which messages a degrade covers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Messages {
    /// Every message.
    #[default]
    All,
    /// Messages that are not replies (client requests, and peer messages `Node::is_reply`
    /// does not call replies).
    Requests,
    /// Replies (to clients, and peer messages `Node::is_reply` calls replies).
    Replies,
}

impl Messages {
    fn is_all(&self) -> bool {
        *self == Messages::All
    }
}

/// The written names of an enum's values, for parsing and writing back.
trait Named: Copy + PartialEq + 'static {
    const NAMES: &'static [(&'static str, Self)];
}

impl Named for Direction {
    const NAMES: &'static [(&'static str, Self)] =
        &[("both", Direction::Both), ("a-to-b", Direction::AToB)];
}

impl Named for Messages {
    const NAMES: &'static [(&'static str, Self)] =
        &[("all", Messages::All), ("requests", Messages::Requests), ("replies", Messages::Replies)];
}

impl Named for Jitter {
    const NAMES: &'static [(&'static str, Self)] =
        &[("uniform", Jitter::Uniform), ("exponential", Jitter::Exponential)];
}

fn name_of<T: Named>(value: T) -> &'static str {
    T::NAMES.iter().find(|(_, v)| *v == value).map(|(name, _)| *name).expect("every value named")
}

/// `text` as a `T`, or `"text": expected "a", "b" or "c"`.
fn named<T: Named>(text: &str) -> Result<T, String> {
    if let Some((_, value)) = T::NAMES.iter().find(|(name, _)| *name == text) {
        return Ok(*value);
    }
    let names: Vec<String> = T::NAMES.iter().map(|(name, _)| format!("\"{name}\"")).collect();
    let (last, rest) = names.split_last().expect("names");
    let expected =
        if rest.is_empty() { last.clone() } else { format!("{} or {last}", rest.join(", ")) };
    Err(format!("\"{text}\": expected {expected}"))
}

macro_rules! serde_by_name {
    ($($t:ty),*) => {$(
        impl Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(name_of(*self))
            }
        }

        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                named(&String::deserialize(d)?).map_err(serde::de::Error::custom)
            }
        }
    )*};
}

serde_by_name!(Direction, Messages, Jitter);

/// A span of time `min..=max`, written `"200ms..2s"` (or one duration, `"1s"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub min: Nanos,
    pub max: Nanos,
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::engine::time::format_span((self.min, self.max)))
    }
}

impl Serialize for Span {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (min, max) = crate::engine::time::parse_span(&String::deserialize(d)?)
            .map_err(serde::de::Error::custom)?;
        Ok(Span { min, max })
    }
}

impl Degrade {
    /// The written keys of a degrade, each checked alone by [`Degrade::check_keys`].
    const KEYS: [&'static str; 13] = [
        "a",
        "b",
        "latency",
        "loss",
        "jitter",
        "jitter_distribution",
        "reorder",
        "duplicate",
        "direction",
        "messages",
        "long_delay_fraction",
        "long_delay",
        "through_quiet",
    ];

    /// Reads each key of a degrade's table alone, so that a bad value is reported with its
    /// key (`messages: "replys": expected ...`); the whole table is read afterwards.
    pub fn check_keys(table: &toml::Table) -> Result<(), (&'static str, String)> {
        fn read<T: for<'de> Deserialize<'de>>(value: &toml::Value) -> Result<(), String> {
            T::deserialize(value.clone()).map(|_| ()).map_err(|e| e.message().to_string())
        }
        for key in Self::KEYS {
            let Some(value) = table.get(key) else { continue };
            let read = match key {
                "a" | "b" => read::<Vec<u32>>,
                "latency" | "jitter" => read::<SignedDuration>,
                "loss" | "reorder" | "duplicate" | "long_delay_fraction" => read::<Probability>,
                "jitter_distribution" => read::<Jitter>,
                "direction" => read::<Direction>,
                "messages" => read::<Messages>,
                "long_delay" => read::<Span>,
                _ => read::<bool>,
            };
            read(value).map_err(|e| (key, e))?;
        }
        Ok(())
    }

    /// How a link of the network's `base` behaves under this degrade.
    pub fn link(&self, base: LinkConfig) -> LinkConfig {
        let nanos = |d: SignedDuration| d.0.max(0) as Nanos;
        let (long_delay_ppm, long_delay_min, long_delay_max) = match self.long_delay {
            Some(span) if self.long_delay_fraction.ppm() > 0 => {
                (self.long_delay_fraction.ppm(), span.min, span.max)
            }
            _ => (base.long_delay_ppm, base.long_delay_min, base.long_delay_max),
        };
        LinkConfig {
            latency: base.latency + nanos(self.latency),
            jitter: base.jitter,
            jitter_shape: self.jitter_distribution.unwrap_or(base.jitter_shape),
            loss_ppm: base.loss_ppm.max(self.loss.ppm()),
            duplicate_ppm: base.duplicate_ppm.max(self.duplicate.ppm()),
            reorder_ppm: base.reorder_ppm.max(self.reorder.ppm()),
            jitter_unordered: base.jitter_unordered + nanos(self.jitter),
            long_delay_ppm,
            long_delay_min,
            long_delay_max,
        }
    }

    /// The messages of the links between `a` and `b` this degrade covers.
    pub fn scope(&self) -> Scope {
        Scope {
            one_way: self.direction == Direction::AToB,
            class: match self.messages {
                Messages::All => None,
                Messages::Requests => Some(MessageClass::Request),
                Messages::Replies => Some(MessageClass::Reply),
            },
        }
    }

    /// `a <-> b: +latency, loss 0.1, ...`: every key in use, for traces and fault logs.
    fn describe(&self, group: impl Fn(&Vec<u32>) -> String) -> String {
        let set = |s: &Option<Vec<u32>>| s.as_ref().map_or("all".to_string(), &group);
        let mut out = String::from("link-degrade");
        if self.a.is_some() || self.b.is_some() {
            let arrow = if self.direction == Direction::AToB { "->" } else { "<->" };
            out += &format!(" {} {arrow} {}", set(&self.a), set(&self.b));
        }
        let p = |p: Probability| f64::from(p.ppm()) / 1e6;
        let mut keys = Vec::new();
        if self.latency.0 != 0 {
            keys.push(format!("latency +{}", self.latency));
        }
        if self.loss.ppm() > 0 {
            keys.push(format!("loss {}", p(self.loss)));
        }
        if self.jitter.0 != 0 {
            keys.push(format!("jitter +{}", self.jitter));
        }
        if let Some(shape) = self.jitter_distribution {
            keys.push(format!("jitter {}", name_of(shape)));
        }
        if self.reorder.ppm() > 0 {
            keys.push(format!("reorder {}", p(self.reorder)));
        }
        if self.duplicate.ppm() > 0 {
            keys.push(format!("duplicate {}", p(self.duplicate)));
        }
        if let (f, Some(span)) = (self.long_delay_fraction, self.long_delay) {
            keys.push(format!("long delay {span} for {}", p(f)));
        }
        if self.messages != Messages::All {
            keys.push(format!("{} only", name_of(self.messages)));
        }
        if self.through_quiet {
            keys.push("through quiet".to_string());
        }
        if !keys.is_empty() {
            out += &format!(": {}", keys.join(", "));
        }
        out
    }
}

impl Serialize for Fault {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Fault::serialize(self, s)
    }
}

impl<'de> Deserialize<'de> for Fault {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = toml::Value::deserialize(d)?;
        if let Some(table) = value.as_table() {
            if let Some(kind @ ("heal" | "link-restore")) =
                table.get("kind").and_then(|k| k.as_str())
            {
                if let Some(extra) = table.keys().find(|key| *key != "kind") {
                    return Err(D::Error::custom(format!(
                        "unknown field `{extra}`: a `{kind}` fault takes no keys besides `at` \
                         and `kind` (it applies to every node and link)"
                    )));
                }
            }
        }
        Fault::deserialize(value).map_err(|e| D::Error::custom(e.message()))
    }
}

impl Fault {
    /// The fault's kind as scenario files write it.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Partition { .. } => "partition",
            Fault::Isolate { .. } => "isolate",
            Fault::Connect { .. } => "connect",
            Fault::Bridge { .. } => "bridge",
            Fault::OneWay { .. } => "one-way",
            Fault::Heal => "heal",
            Fault::Crash { .. } => "crash",
            Fault::Restart { .. } => "restart",
            Fault::ClockJump { .. } => "clock-jump",
            Fault::ClockDrift { .. } => "clock-drift",
            Fault::DiskCorrupt { .. } => "disk-corrupt",
            Fault::DiskSectorError { .. } => "disk-sector-error",
            Fault::DiskMisdirect { .. } => "disk-misdirect",
            Fault::LinkDegrade(_) => "link-degrade",
            Fault::LinkRestore => "link-restore",
        }
    }

    /// True for faults that repair rather than break (they end a fault window).
    pub fn is_repair(&self) -> bool {
        matches!(
            self,
            Fault::Heal | Fault::Restart { .. } | Fault::Connect { .. } | Fault::LinkRestore
        )
    }

    /// A one-line description for summaries and traces.
    pub fn describe(&self) -> String {
        // Large groups are shortened: a 1,000-node partition stays one readable line.
        let group = |x: &Vec<u32>| {
            let names: Vec<String> = x.iter().take(8).map(|n| format!("n{n}")).collect();
            match x.len() {
                0..=8 => names.join(","),
                len => format!("{},... ({len} nodes)", names.join(",")),
            }
        };
        let groups = |g: &Vec<Vec<u32>>| g.iter().map(&group).collect::<Vec<_>>().join(" | ");
        let side = |s: &Side| match (s, s.ids()) {
            (_, Some(ids)) => group(&ids),
            (Side::Rest, _) => "rest".to_string(),
            (Side::Nodes(n), None) => n.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(","),
        };
        match self {
            Fault::Partition { groups: Some(g) } => {
                format!("partition {}", g.iter().map(side).collect::<Vec<_>>().join(" | "))
            }
            Fault::Bridge { groups: Some(g), bridge: Some(b) } => {
                format!("bridge {} via n{b}", groups(&g.to_vec()))
            }
            Fault::Isolate { node } => format!("isolate {node}"),
            Fault::Connect { node } => format!("connect {node}"),
            Fault::OneWay { from, to: Some(to) } => format!("one-way {from} -/-> {to:?}"),
            Fault::Crash { node } => format!("crash {node}"),
            Fault::Restart { node } => format!("restart {node}"),
            Fault::ClockJump { node, by } => format!("clock-jump {node} by {by}"),
            Fault::ClockDrift { node, ppm } => format!("clock-drift {node} {ppm}ppm"),
            Fault::DiskCorrupt { node } => format!("disk-corrupt {node}"),
            Fault::DiskSectorError { node } => format!("disk-sector-error {node}"),
            Fault::DiskMisdirect { node } => format!("disk-misdirect {node}"),
            Fault::LinkDegrade(d) => d.describe(group),
            other => other.kind().to_string(),
        }
    }
}

/// A fault at a point in virtual time, or on a trigger its plan names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduledFault {
    /// When it happens (global time); with `plan.at_max`, the earliest time; with a `when`
    /// trigger, when it starts watching for its fact.
    pub at: Nanos,
    /// What happens.
    pub fault: Fault,
    /// Triggers, conditions, coin flips and bindings; [`Plan::default`] for a plain fault.
    pub plan: Plan,
}

impl ScheduledFault {
    /// `fault` at time `at`, unconditionally.
    pub fn at(at: Nanos, fault: Fault) -> ScheduledFault {
        ScheduledFault { at, fault, plan: Plan::default() }
    }
}

/// When and whether a scheduled fault applies, beyond its time. Every part is optional; a
/// plain fault (`Plan::default()`) applies at its time, and its target must resolve.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// `at = "1s..2s"`: the time is drawn once per seed, uniformly in `at..=at_max`.
    pub at_max: Option<Nanos>,
    /// A name later faults (`after`) and expectations refer to.
    pub name: Option<String>,
    /// Apply `delay` after the fault of this name applied (skipped if it was skipped).
    pub after: Option<String>,
    /// With `after` or `when`: how long after the trigger, drawn per seed in `min..=max`.
    pub delay: Option<(Nanos, Nanos)>,
    /// Wait for the first fact of this name (`leader`, `commit`, `log_compact`, a custom
    /// fact) recorded once the fault is due, then apply it (`delay` later).
    pub when: Option<String>,
    /// Apply only if this holds when the fault is due (skipped otherwise).
    pub condition: Option<Condition>,
    /// Apply with this probability, drawn once per seed.
    pub probability: Option<Probability>,
    /// Remember the node the fault targeted under this name.
    pub bind: Option<Name>,
    /// A target that cannot be resolved when the fault is due (no leader now): wait until it
    /// can, instead of skipping the fault.
    pub wait: bool,
}

impl Plan {
    /// True when the plan adds nothing to the fault's time.
    pub fn is_plain(&self) -> bool {
        *self == Plan::default()
    }
}

/// A condition on the cluster when a fault is due: `"up < 3"`, `"down >= 2"`,
/// `"up < majority"`, `"leader"`, `"no leader"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition {
    /// The number of nodes up (or down) compared with a threshold.
    Count { down: bool, cmp: Cmp, value: Threshold },
    /// Some node leads (or, `false`, none does).
    Leader(bool),
}

/// A comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

/// The right-hand side of a count condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threshold {
    /// A number of nodes.
    Nodes(u32),
    /// A majority of the cluster's nodes.
    Majority,
}

impl Condition {
    /// Parses the written form (see [`Condition`]).
    pub fn parse(text: &str) -> Result<Condition, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let bad = || {
            format!(
                "`{text}` is not a condition: write `up < 3`, `down >= 2`, `up < majority` \
                 (comparisons < <= > >= == !=), `leader` or `no leader`"
            )
        };
        match words.as_slice() {
            ["leader"] => Ok(Condition::Leader(true)),
            ["no", "leader"] => Ok(Condition::Leader(false)),
            [what @ ("up" | "down"), cmp, value] => {
                let cmp = match *cmp {
                    "<" => Cmp::Lt,
                    "<=" => Cmp::Le,
                    ">" => Cmp::Gt,
                    ">=" => Cmp::Ge,
                    "==" => Cmp::Eq,
                    "!=" => Cmp::Ne,
                    _ => return Err(bad()),
                };
                let value = match *value {
                    "majority" => Threshold::Majority,
                    n => Threshold::Nodes(n.parse().map_err(|_| bad())?),
                };
                Ok(Condition::Count { down: *what == "down", cmp, value })
            }
            _ => Err(bad()),
        }
    }

    /// Whether the condition holds with `up` of `nodes` nodes up and a leader or not.
    pub fn holds(&self, up: u32, nodes: u32, leader: bool) -> bool {
        match *self {
            Condition::Leader(want) => leader == want,
            Condition::Count { down, cmp, value } => {
                let n = if down { nodes - up } else { up };
                let v = match value {
                    Threshold::Nodes(v) => v,
                    Threshold::Majority => nodes / 2 + 1,
                };
                match cmp {
                    Cmp::Lt => n < v,
                    Cmp::Le => n <= v,
                    Cmp::Gt => n > v,
                    Cmp::Ge => n >= v,
                    Cmp::Eq => n == v,
                    Cmp::Ne => n != v,
                }
            }
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::Leader(true) => f.write_str("leader"),
            Condition::Leader(false) => f.write_str("no leader"),
            Condition::Count { down, cmp, value } => {
                let what = if *down { "down" } else { "up" };
                let cmp = match cmp {
                    Cmp::Lt => "<",
                    Cmp::Le => "<=",
                    Cmp::Gt => ">",
                    Cmp::Ge => ">=",
                    Cmp::Eq => "==",
                    Cmp::Ne => "!=",
                };
                match value {
                    Threshold::Nodes(n) => write!(f, "{what} {cmp} {n}"),
                    Threshold::Majority => write!(f, "{what} {cmp} majority"),
                }
            }
        }
    }
}

/// A duration that may be negative, written like `"-1.5s"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct SignedDuration(pub i64);

impl SignedDuration {
    fn is_zero(&self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for SignedDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        write!(f, "{sign}{}", crate::engine::format_nanos(self.0.unsigned_abs()))
    }
}

impl Serialize for SignedDuration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Exact, unlike `Display`: a shrunk scenario must replay the same clock jumps.
        let sign = if self.0 < 0 { "-" } else { "" };
        let magnitude = crate::engine::format_nanos_exact(self.0.unsigned_abs());
        s.serialize_str(&format!("{sign}{magnitude}"))
    }
}

impl<'de> Deserialize<'de> for SignedDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let (negative, rest) = match text.trim().strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.trim()),
        };
        let ns = crate::engine::parse_duration(rest).map_err(serde::de::Error::custom)?;
        let ns = i64::try_from(ns).map_err(|_| serde::de::Error::custom("duration too long"))?;
        Ok(SignedDuration(if negative { -ns } else { ns }))
    }
}

/// A probability, written as a number from 0 to 1 and kept as parts per million so that every
/// draw is integer arithmetic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Probability(pub u32);

impl Probability {
    /// Parts per million.
    pub fn ppm(self) -> u32 {
        self.0
    }

    fn is_zero(&self) -> bool {
        self.0 == 0
    }
}

impl Serialize for Probability {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(f64::from(self.0) / 1e6)
    }
}

impl<'de> Deserialize<'de> for Probability {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let p = f64::deserialize(d)?;
        if !(0.0..=1.0).contains(&p) {
            return Err(serde::de::Error::custom(format!(
                "probability {p} is out of range (0 to 1)"
            )));
        }
        Ok(Probability((p * 1e6).round() as u32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_round_trip_through_toml() {
        let faults = vec![
            Fault::Partition { groups: Some(sides(vec![vec![0, 1], vec![2, 3, 4]])) },
            Fault::Partition {
                groups: Some(vec![
                    Side::Nodes(vec![NodeRef::parse("L1+2").unwrap(), NodeRef::Id(0)]),
                    Side::Rest,
                ]),
            },
            Fault::Connect { node: NodeRef::parse("follower:1@2").unwrap() },
            Fault::Isolate { node: NodeRef::Pick(Pick::LEADER) },
            Fault::ClockJump { node: NodeRef::Id(2), by: SignedDuration(-1_500_000_000) },
            Fault::DiskMisdirect { node: NodeRef::Pick(Pick::RANDOM) },
            Fault::Heal,
            Fault::LinkDegrade(Degrade::default()),
            Fault::LinkDegrade(every_key()),
        ];
        for fault in faults {
            let text = toml::to_string(&fault).unwrap();
            let back: Fault = toml::from_str(&text).unwrap();
            assert_eq!(back, fault, "{text}");
        }
    }

    /// A degrade with every key set.
    fn every_key() -> Degrade {
        Degrade {
            a: Some(vec![0, 1]),
            b: Some(vec![2]),
            latency: SignedDuration(20_000_000),
            loss: Probability(50_000),
            jitter: SignedDuration(5_000_000),
            jitter_distribution: Some(Jitter::Exponential),
            reorder: Probability(100_000),
            duplicate: Probability(10_000),
            direction: Direction::AToB,
            messages: Messages::Replies,
            long_delay_fraction: Probability(20_000),
            long_delay: Some(Span { min: 200_000_000, max: 2_000_000_000 }),
            through_quiet: true,
        }
    }

    #[test]
    fn a_degrade_writes_only_the_keys_it_uses_and_describes_them() {
        let plain = Fault::LinkDegrade(Degrade::default());
        let text = toml::to_string(&plain).unwrap();
        assert_eq!(text, "kind = \"link-degrade\"\nlatency = \"0ns\"\nloss = 0.0\n");
        assert_eq!(plain.describe(), "link-degrade");
        let text = serde_json::to_string(&Fault::LinkDegrade(every_key())).unwrap();
        assert!(text.contains(r#""direction":"a-to-b","messages":"replies""#), "{text}");
        assert!(text.contains(r#""long_delay":"200ms..2s","through_quiet":true"#), "{text}");
        assert_eq!(
            Fault::LinkDegrade(every_key()).describe(),
            "link-degrade n0,n1 -> n2: latency +20ms, loss 0.05, jitter +5ms, jitter \
             exponential, reorder 0.1, duplicate 0.01, long delay 200ms..2s for 0.02, replies \
             only, through quiet"
        );
    }

    #[test]
    fn a_degrade_of_latency_and_loss_makes_the_link_it_always_made() {
        // What a degrade did before it had more keys: existing runs must not change.
        let base = LinkConfig { loss_ppm: 1_000, reorder_ppm: 5, ..LinkConfig::default() };
        let d = Degrade {
            latency: SignedDuration(7_000_000),
            loss: Probability(200_000),
            ..Degrade::default()
        };
        let before = LinkConfig { latency: base.latency + 7_000_000, loss_ppm: 200_000, ..base };
        assert_eq!(d.link(base), before);
        assert_eq!(d.scope(), Scope::default());
        let d = every_key();
        let link = d.link(base);
        assert_eq!((link.jitter, link.jitter_unordered), (base.jitter, 5_000_000));
        assert_eq!((link.long_delay_ppm, link.long_delay_max), (20_000, 2_000_000_000));
        assert_eq!(d.scope(), Scope { one_way: true, class: Some(MessageClass::Reply) });
    }

    #[test]
    fn a_degrades_bad_values_name_their_key() {
        let table = |text: &str| toml::from_str::<toml::Table>(text).unwrap();
        let cases = [
            (
                "messages = \"replys\"",
                "messages",
                r#""replys": expected "all", "requests" or "replies""#,
            ),
            ("direction = \"back\"", "direction", r#"expected "both" or "a-to-b""#),
            ("jitter_distribution = \"normal\"", "jitter_distribution", "\"uniform\" or"),
            ("reorder = 1.5", "reorder", "out of range"),
            ("long_delay = \"2s..1s\"", "long_delay", "start is after its end"),
            ("through_quiet = \"yes\"", "through_quiet", ""),
        ];
        for (text, key, reason) in cases {
            let (k, e) = Degrade::check_keys(&table(text)).unwrap_err();
            assert_eq!(k, key, "{text}");
            assert!(e.contains(reason), "{text}: {e}");
        }
        assert!(Degrade::check_keys(&table("latency = \"1ms\"\nmessages = \"all\"")).is_ok());
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let err = toml::from_str::<Fault>("kind = \"crash\"\nnode = 1\nbogus = 2\n").unwrap_err();
        assert!(err.to_string().contains("bogus"), "{err}");
        for kind in ["heal", "link-restore"] {
            let text = format!("kind = \"{kind}\"\nnode = 1\n");
            let err = toml::from_str::<Fault>(&text).unwrap_err().to_string();
            assert!(err.contains("unknown field `node`") && err.contains(kind), "{err}");
        }
        assert_eq!(toml::from_str::<Fault>("kind = \"heal\"\n").unwrap(), Fault::Heal);
    }

    #[test]
    fn faults_round_trip_through_json() {
        let fault = Fault::OneWay { from: NodeRef::Id(1), to: Some(vec![0, 2]) };
        let text = serde_json::to_string(&fault).unwrap();
        assert_eq!(text, r#"{"kind":"one-way","from":1,"to":[0,2]}"#);
        assert_eq!(serde_json::from_str::<Fault>(&text).unwrap(), fault);
        assert_eq!(serde_json::from_str::<Fault>(r#"{"kind":"heal"}"#).unwrap(), Fault::Heal);
    }
}
