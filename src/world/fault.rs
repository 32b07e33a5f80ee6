//! Faults: what can go wrong, written down as data.
//!
//! A scenario lists faults at fixed times and/or lets the nemesis draw them at random. Faults
//! may name their target loosely (`node = "leader"`, `node = "random"`, a partition without
//! explicit groups); when a fault is applied the simulator resolves it to a concrete fault, and
//! the concrete one is what the run records. Replaying the recorded faults as a fixed schedule
//! reproduces the run's faults exactly: that is how shrinking starts.

use crate::engine::Nanos;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A node named by a fault: a fixed index, or one chosen when the fault is applied.
///
/// Written as a node id (`2`) or a pick: `"leader"`, `"random"`, or per group (a shard or a
/// replica set whose facts carry that group): `"leader@1"`, `"random@1"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeRef {
    /// This node.
    Id(u32),
    /// A symbolic target.
    Pick(Pick),
}

/// How a symbolic [`NodeRef`] is resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    /// The node that most recently claimed leadership (of `group`, or of any group) and is up
    /// (a random candidate if none).
    Leader { group: Option<u32> },
    /// A node drawn at random among those the fault applies to (members of `group` only, when
    /// given: nodes that recorded a fact in that group).
    Random { group: Option<u32> },
}

impl Pick {
    /// The leader of any group.
    pub const LEADER: Pick = Pick::Leader { group: None };
    /// Any node.
    pub const RANDOM: Pick = Pick::Random { group: None };
}

impl fmt::Display for NodeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = |g: &Option<u32>| g.map(|g| format!("@{g}")).unwrap_or_default();
        match self {
            NodeRef::Id(n) => write!(f, "n{n}"),
            NodeRef::Pick(Pick::Leader { group }) => write!(f, "leader{}", at(group)),
            NodeRef::Pick(Pick::Random { group }) => write!(f, "random{}", at(group)),
        }
    }
}

impl Serialize for NodeRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            NodeRef::Id(n) => s.serialize_u32(*n),
            pick => s.serialize_str(&pick.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for NodeRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        const EXPECTED: &str =
            "a node id (0, 1, ...) or \"leader\", \"random\", \"leader@G\", \"random@G\"";
        match toml::Value::deserialize(d)? {
            toml::Value::Integer(n) => u32::try_from(n).map(NodeRef::Id).map_err(|_| {
                D::Error::custom(format!("node {n} is not a node id: expected {EXPECTED}"))
            }),
            toml::Value::String(text) => {
                let (name, group) = match text.split_once('@') {
                    Some((name, g)) => {
                        let g = g.parse::<u32>().map_err(|_| {
                            D::Error::custom(format!("`{text}`: group `{g}` is not a number"))
                        })?;
                        (name, Some(g))
                    }
                    None => (text.as_str(), None),
                };
                match name {
                    "leader" => Ok(NodeRef::Pick(Pick::Leader { group })),
                    "random" => Ok(NodeRef::Pick(Pick::Random { group })),
                    _ => Err(D::Error::custom(format!("`{text}`: expected {EXPECTED}"))),
                }
            }
            other => Err(D::Error::custom(format!(
                "{} is not a node: expected {EXPECTED}",
                other.type_str()
            ))),
        }
    }
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
    /// split into a majority and a minority.
    Partition {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        groups: Option<Vec<Vec<u32>>>,
    },
    /// Cut one node off from every other node.
    Isolate { node: NodeRef },
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
    /// Make the links between `a` and `b` (both ways; all nodes if absent) slow and lossy.
    LinkDegrade {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        a: Option<Vec<u32>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        b: Option<Vec<u32>>,
        /// Extra one-way latency.
        #[serde(default = "zero_duration")]
        latency: SignedDuration,
        /// Loss probability on the degraded links (0 to 1).
        #[serde(default)]
        loss: Probability,
    },
    /// Return every link to the scenario's network settings.
    LinkRestore,
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

fn zero_duration() -> SignedDuration {
    SignedDuration(0)
}

impl Fault {
    /// The fault's kind as scenario files write it.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Partition { .. } => "partition",
            Fault::Isolate { .. } => "isolate",
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
            Fault::LinkDegrade { .. } => "link-degrade",
            Fault::LinkRestore => "link-restore",
        }
    }

    /// True for faults that repair rather than break (they end a fault window).
    pub fn is_repair(&self) -> bool {
        matches!(self, Fault::Heal | Fault::Restart { .. } | Fault::LinkRestore)
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
        match self {
            Fault::Partition { groups: Some(g) } => format!("partition {}", groups(g)),
            Fault::Bridge { groups: Some(g), bridge: Some(b) } => {
                format!("bridge {} via n{b}", groups(&g.to_vec()))
            }
            Fault::Isolate { node } => format!("isolate {node}"),
            Fault::OneWay { from, to: Some(to) } => format!("one-way {from} -/-> {to:?}"),
            Fault::Crash { node } => format!("crash {node}"),
            Fault::Restart { node } => format!("restart {node}"),
            Fault::ClockJump { node, by } => format!("clock-jump {node} by {by}"),
            Fault::ClockDrift { node, ppm } => format!("clock-drift {node} {ppm}ppm"),
            Fault::DiskCorrupt { node } => format!("disk-corrupt {node}"),
            Fault::DiskSectorError { node } => format!("disk-sector-error {node}"),
            Fault::DiskMisdirect { node } => format!("disk-misdirect {node}"),
            other => other.kind().to_string(),
        }
    }
}

/// A fault at a point in virtual time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduledFault {
    /// When it happens (global time).
    pub at: Nanos,
    /// What happens.
    pub fault: Fault,
}

/// A duration that may be negative, written like `"-1.5s"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SignedDuration(pub i64);

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
            Fault::Partition { groups: Some(vec![vec![0, 1], vec![2, 3, 4]]) },
            Fault::Isolate { node: NodeRef::Pick(Pick::LEADER) },
            Fault::ClockJump { node: NodeRef::Id(2), by: SignedDuration(-1_500_000_000) },
            Fault::DiskMisdirect { node: NodeRef::Pick(Pick::RANDOM) },
            Fault::Heal,
        ];
        for fault in faults {
            let text = toml::to_string(&fault).unwrap();
            let back: Fault = toml::from_str(&text).unwrap();
            assert_eq!(back, fault, "{text}");
        }
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
