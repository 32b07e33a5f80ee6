//! A system: a protocol packaged so scenarios can run it (`system = "raft"` in a scenario file).
//!
//! A system owns everything that makes it itself: its node, its client API (operations,
//! results, workload), its settings (`[protocol]`, read with serde), its checks, and its
//! operator actions (`[[controls]]`). Registering it is one line: [`crate::system`] in a list
//! (`sim::systems::builtin` for sim's own, or a user's own list given to `sim::cli::main_with`).
//!
//! The simulator is generic over the system, so each system's run is monomorphised: no dynamic
//! dispatch between the scheduler and a node's handlers.

use crate::check::Checks;
use crate::node::{Node, NodeId};
use crate::scenario::Scenario;
use serde::de::DeserializeOwned;

/// The shape of the cluster a system is built into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cluster {
    /// Number of node slots (`0..nodes`); every slot runs a node, member or not.
    pub nodes: u32,
    /// The nodes that form the cluster at the start. The others boot empty and wait to be added
    /// by a membership change.
    pub initial_members: Vec<NodeId>,
}

/// The client API of system `S`.
pub type ApiOf<S> = <<S as System>::Node as Node>::Api;
/// The operator actions of system `S`.
pub type ControlOf<S> = <<S as System>::Node as Node>::Control;

/// A protocol with its settings, its node constructor, its checks and its controls.
pub trait System: 'static {
    /// The name scenarios use: `system = "NAME"`.
    const NAME: &'static str;
    /// One sentence for `sim systems` and reports.
    const ABOUT: &'static str;
    /// The protocol run on each node.
    type Node: Node;
    /// Settings read from the scenario's `[protocol]` table with serde: use
    /// `#[serde(deny_unknown_fields, default)]` and put units in the names.
    type Config: Clone + std::fmt::Debug + DeserializeOwned;

    /// Reads the scenario's `[protocol]` table (empty if the scenario has none) and validates
    /// it. Unknown keys and out-of-range values are errors naming `protocol.KEY` and the
    /// reason. The default reads it with serde, then calls [`System::validate`].
    fn config(table: &toml::Table) -> Result<Self::Config, String> {
        let config = parse_table(table, "protocol")?;
        Self::validate(&config)?;
        Ok(config)
    }

    /// Checks what serde cannot (ranges, relations between keys); the message names the key.
    fn validate(_config: &Self::Config) -> Result<(), String> {
        Ok(())
    }

    /// Checks the settings against the cluster they run in (a shard count no larger than the
    /// nodes, ...); the message names `protocol.KEY` and the reason, as [`System::validate`].
    fn validate_cluster(_config: &Self::Config, _cluster: &Cluster) -> Result<(), String> {
        Ok(())
    }

    /// Builds node `id`: called at first boot and again at every restart (memory is fresh; the
    /// node recovers from its disk in `on_start`).
    fn node(config: &Self::Config, id: NodeId, cluster: &Cluster) -> Self::Node;

    /// The checks this system offers: fact checkers fed during the run and history checkers
    /// of its API. A scenario switches them by name in `[checks]`; `liveness` is added for
    /// every system.
    fn checks(config: &Self::Config, cluster: &Cluster) -> Checks<ApiOf<Self>>;

    /// Checks one scheduled operator action against the cluster (a node that exists, ...).
    fn check_control(
        _config: &Self::Config,
        _cluster: &Cluster,
        _control: &ControlOf<Self>,
    ) -> Result<(), String> {
        Ok(())
    }

    /// The fewest nodes this system can run with (the shrinker never goes below).
    fn nodes_min() -> u32 {
        1
    }
}

/// The cluster a scenario builds.
pub fn cluster(scenario: &Scenario) -> Cluster {
    Cluster { nodes: scenario.nodes, initial_members: scenario.initial_member_ids() }
}

/// An action at a global time.
pub type Scheduled<T> = (crate::engine::Nanos, T);

/// The scenario's `[[controls]]` as system `S`'s control type; the error names the entry.
pub fn controls<S: System>(
    scenario: &Scenario,
    config: &S::Config,
) -> Result<Vec<Scheduled<ControlOf<S>>>, (String, String)> {
    let cluster = cluster(scenario);
    let mut out = Vec::with_capacity(scenario.controls.len());
    for (i, c) in scenario.controls.iter().enumerate() {
        let key = format!("controls[{i}]");
        let control: ControlOf<S> = parse_table(&c.action, &key)
            .map_err(|e| (key.clone(), format!("system `{}`: {e}", S::NAME)))?;
        S::check_control(config, &cluster, &control).map_err(|e| (key.clone(), e))?;
        out.push((c.at, control));
    }
    Ok(out)
}

/// A `[protocol]` setting's range check, for `System::validate`: the error names the key
/// (`protocol.KEY: V is out of range (LO to HI)`).
pub fn check_range(key: &str, value: u64, lo: u64, hi: u64) -> Result<(), String> {
    if (lo..=hi).contains(&value) {
        Ok(())
    } else {
        Err(format!("protocol.{key}: {value} is out of range ({lo} to {hi})"))
    }
}

/// Reads a TOML table into `T` with serde; an error names `SECTION.KEY` and the reason.
pub fn parse_table<T: DeserializeOwned>(table: &toml::Table, section: &str) -> Result<T, String> {
    // A type without settings (`()`) reads from nothing: an empty table, or no keys at all.
    let unit = T::deserialize(serde::de::value::UnitDeserializer::<serde::de::value::Error>::new());
    if let Ok(unit) = unit {
        return match table.keys().next() {
            None => Ok(unit),
            Some(key) => Err(format!("{section}.{key}: unknown key (this system has no settings)")),
        };
    }
    // Through text, so the error carries the span of the offending key.
    let text = toml::to_string(table).map_err(|e| format!("{section}: {e}"))?;
    toml::from_str(&text).map_err(|e: toml::de::Error| {
        let key = e.span().and_then(|span| key_at(&text, span.start));
        let message = e.message().trim_end_matches('.').to_string();
        match key {
            Some(key) if !message.contains(&format!("`{key}`")) || message.contains("unknown") => {
                format!("{section}.{key}: {message}")
            }
            _ => format!("{section}: {message}"),
        }
    })
}

/// The key on the line of byte `offset` of `text` (`key = value`), dotted with the table it is
/// in (`lsm.memtable_bytes` under `[lsm]`).
fn key_at(text: &str, offset: usize) -> Option<String> {
    let start = text[..offset.min(text.len())].rfind('\n').map_or(0, |i| i + 1);
    let line = text[start..].lines().next()?;
    let (key, _) = line.split_once('=')?;
    let key = key.trim().trim_matches('"');
    let table = text[..start].lines().rev().find_map(|l| {
        let l = l.trim();
        l.starts_with('[').then(|| l.trim_matches(|c| c == '[' || c == ']').trim().to_string())
    });
    Some(match table {
        Some(table) if !table.is_empty() => format!("{table}.{key}"),
        _ => key.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, default)]
    struct Settings {
        retries_max: u32,
        prevote: bool,
    }

    impl Default for Settings {
        fn default() -> Self {
            Settings { retries_max: 3, prevote: true }
        }
    }

    fn parse(text: &str) -> Result<Settings, String> {
        parse_table(&text.parse::<toml::Table>().unwrap(), "protocol")
    }

    #[test]
    fn errors_name_the_key_and_the_reason() {
        assert_eq!(parse("").unwrap(), Settings::default());
        assert_eq!(parse("retries_max = 5").unwrap().retries_max, 5);
        let e = parse("prevote = 3").unwrap_err();
        assert!(e.starts_with("protocol.prevote: ") && e.contains("bool"), "{e}");
        let e = parse("heartbeat = \"1ms\"").unwrap_err();
        assert!(e.contains("protocol.heartbeat") && e.contains("unknown field"), "{e}");
        let e = parse("retries_max = -1").unwrap_err();
        assert!(e.starts_with("protocol.retries_max: "), "{e}");
    }

    #[derive(Debug, Default, serde::Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct Outer {
        name: String,
        inner: Settings,
    }

    #[test]
    fn errors_in_a_nested_table_name_its_path() {
        let table = "name = \"x\"\n[inner]\nprevote = true\nretries = 1\n".parse().unwrap();
        let e = parse_table::<Outer>(&table, "protocol").unwrap_err();
        assert!(e.starts_with("protocol.inner.retries: ") && e.contains("unknown field"), "{e}");
        let table = "name = 3\n".parse().unwrap();
        let e = parse_table::<Outer>(&table, "protocol").unwrap_err();
        assert!(e.starts_with("protocol.name: "), "{e}");
    }
}
