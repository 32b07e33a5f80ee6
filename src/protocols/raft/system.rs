//! Raft packaged as a [`System`] for scenarios (`system = "raft"`).

use super::{Bugs, RaftConfig, RaftNode, ReadMode};
use crate::check::replicated_log::ReplicatedLogChecker;
use crate::check::FactChecker;
use crate::node::parse_duration;
use crate::node::NodeId;
use crate::system::{Cluster, System};

/// The Raft system with the key-value store.
pub struct Raft;

/// Keys the `[protocol]` table may hold.
pub const CONFIG_KEYS: [&str; 10] = [
    "timeout_election_min",
    "timeout_election_max",
    "interval_heartbeat",
    "snapshot_entries",
    "read_mode",
    "prevote",
    "check_quorum",
    "lease_margin",
    "inflight_entries_max",
    "bugs",
];

impl System for Raft {
    const NAME: &'static str = "raft";
    const ABOUT: &'static str =
        "Raft (thesis version: PreVote, CheckQuorum, snapshots, membership) with a KV store";
    type Node = RaftNode;
    type Config = RaftConfig;

    fn config(table: &toml::Table) -> Result<RaftConfig, String> {
        parse_config(table)
    }

    fn node(config: &RaftConfig, id: NodeId, cluster: &Cluster) -> RaftNode {
        RaftNode::new(config.clone(), id, cluster.initial_members.clone())
    }

    fn fact_checkers(_config: &RaftConfig, _cluster: &Cluster) -> Vec<Box<dyn FactChecker>> {
        vec![Box::new(ReplicatedLogChecker::new())]
    }
}

fn duration(table: &toml::Table, key: &str, default: u64) -> Result<u64, String> {
    match table.get(key) {
        None => Ok(default),
        Some(toml::Value::String(s)) => {
            parse_duration(s).map_err(|e| format!("protocol.{key}: {e}"))
        }
        Some(_) => Err(format!("protocol.{key}: expected a duration string like \"150ms\"")),
    }
}

fn count(table: &toml::Table, key: &str, default: u64) -> Result<u64, String> {
    match table.get(key) {
        None => Ok(default),
        Some(toml::Value::Integer(n)) if *n > 0 => Ok(*n as u64),
        Some(_) => Err(format!("protocol.{key}: expected a positive integer")),
    }
}

fn flag(table: &toml::Table, key: &str, default: bool) -> Result<bool, String> {
    match table.get(key) {
        None => Ok(default),
        Some(toml::Value::Boolean(b)) => Ok(*b),
        Some(_) => Err(format!("protocol.{key}: expected true or false")),
    }
}

/// Parses a `[protocol]` table strictly: unknown keys and bad values name the key.
pub fn parse_config(table: &toml::Table) -> Result<RaftConfig, String> {
    if let Some(key) = table.keys().find(|k| !CONFIG_KEYS.contains(&k.as_str())) {
        return Err(format!("protocol.{key}: unknown key (known: {})", CONFIG_KEYS.join(", ")));
    }
    let d = RaftConfig::default();
    let config = RaftConfig {
        timeout_election_min_ns: duration(
            table,
            "timeout_election_min",
            d.timeout_election_min_ns,
        )?,
        timeout_election_max_ns: duration(
            table,
            "timeout_election_max",
            d.timeout_election_max_ns,
        )?,
        interval_heartbeat_ns: duration(table, "interval_heartbeat", d.interval_heartbeat_ns)?,
        snapshot_entries: count(table, "snapshot_entries", d.snapshot_entries)?,
        read_mode: match table.get("read_mode") {
            None => d.read_mode,
            Some(toml::Value::String(s)) if s == "read_index" => ReadMode::ReadIndex,
            Some(toml::Value::String(s)) if s == "lease" => ReadMode::Lease,
            Some(_) => {
                return Err("protocol.read_mode: expected \"read_index\" or \"lease\"".into())
            }
        },
        prevote: flag(table, "prevote", d.prevote)?,
        check_quorum: flag(table, "check_quorum", d.check_quorum)?,
        lease_margin_ns: duration(table, "lease_margin", d.lease_margin_ns)?,
        inflight_entries_max: count(table, "inflight_entries_max", d.inflight_entries_max)?,
        bugs: parse_bugs(table)?,
    };
    if config.timeout_election_min_ns == 0
        || config.timeout_election_min_ns > config.timeout_election_max_ns
    {
        return Err("protocol.timeout_election_min: must be > 0 and <= timeout_election_max".into());
    }
    if config.interval_heartbeat_ns == 0
        || config.interval_heartbeat_ns >= config.timeout_election_min_ns
    {
        return Err("protocol.interval_heartbeat: must be > 0 and < timeout_election_min".into());
    }
    Ok(config)
}

fn parse_bugs(table: &toml::Table) -> Result<Bugs, String> {
    let mut bugs = Bugs::default();
    let Some(value) = table.get("bugs") else { return Ok(bugs) };
    let toml::Value::Array(names) = value else {
        return Err("protocol.bugs: expected a list of bug names".into());
    };
    for name in names {
        let toml::Value::String(name) = name else {
            return Err("protocol.bugs: expected strings".into());
        };
        bugs.enable(name).map_err(|e| format!("protocol.bugs: {e}"))?;
    }
    Ok(bugs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::MILLISECOND;

    fn parse(text: &str) -> Result<RaftConfig, String> {
        parse_config(&text.parse::<toml::Table>().unwrap())
    }

    #[test]
    fn defaults_and_overrides() {
        assert_eq!(parse(""), Ok(RaftConfig::default()));
        let c = parse(
            "timeout_election_min = \"200ms\"\ntimeout_election_max = \"400ms\"\n\
                       read_mode = \"lease\"\nbugs = [\"raft.skip_fsync\"]",
        )
        .unwrap();
        assert_eq!(c.timeout_election_min_ns, 200 * MILLISECOND);
        assert_eq!(c.read_mode, ReadMode::Lease);
        assert!(c.bugs.skip_fsync && !c.bugs.lease_reads);
    }

    #[test]
    fn errors_name_the_key() {
        assert!(parse("heartbeat = \"1ms\"").unwrap_err().contains("protocol.heartbeat"));
        assert!(parse("bugs = [\"raft.nope\"]").unwrap_err().contains("raft.nope"));
        assert!(parse("prevote = 3").unwrap_err().contains("protocol.prevote"));
        assert!(parse("read_mode = \"fast\"").unwrap_err().contains("read_mode"));
    }
}
