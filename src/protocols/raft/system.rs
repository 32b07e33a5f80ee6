//! Raft packaged as a [`System`] for scenarios (`system = "raft"`).

use super::wire::{names, SCHEMA_VERSIONS};
use super::{Control, RaftConfig, RaftNode};
use crate::check::linearizability::KvLinearizability;
use crate::check::replicated_log::ReplicatedLogChecker;
use crate::check::{CheckResult, Checks, FactChecker, Violation};
use crate::node::{Fact, Group, KvApi, Nanos, NodeId, MILLISECOND};
use crate::system::{Cluster, System};

/// The Raft system with the key-value store.
pub struct Raft;

impl System for Raft {
    const NAME: &'static str = "raft";
    const ABOUT: &'static str =
        "Raft (thesis version: PreVote, CheckQuorum, snapshots, membership) with a KV store";
    type Node = RaftNode;
    type Config = RaftConfig;

    fn validate(config: &RaftConfig) -> Result<(), String> {
        if config.timeout_election_min_ns == 0
            || config.timeout_election_min_ns > config.timeout_election_max_ns
        {
            return Err("protocol.timeout_election_min: must be more than 0 and at most \
                        `timeout_election_max`"
                .into());
        }
        if config.interval_heartbeat_ns == 0
            || config.interval_heartbeat_ns >= config.timeout_election_min_ns
        {
            return Err("protocol.interval_heartbeat: must be more than 0 and less than \
                        `timeout_election_min`"
                .into());
        }
        if config.snapshot_entries == 0 || config.inflight_entries_max == 0 {
            return Err("protocol.snapshot_entries: snapshot_entries and inflight_entries_max \
                        must be more than 0"
                .into());
        }
        Ok(())
    }

    fn node(config: &RaftConfig, id: NodeId, cluster: &Cluster) -> RaftNode {
        RaftNode::new(config.clone(), id, cluster.initial_members.clone())
    }

    fn checks(_config: &RaftConfig, cluster: &Cluster) -> Checks<KvApi> {
        Checks::new()
            .fact(ReplicatedLogChecker::with_members(cluster.initial_members.clone()))
            .fact(WireDecodes::default())
            .history(KvLinearizability)
    }

    fn check_control(_: &RaftConfig, cluster: &Cluster, control: &Control) -> Result<(), String> {
        let (Control::AddMember { node }
        | Control::RemoveMember { node }
        | Control::Upgrade { node, .. }) = *control;
        if node >= cluster.nodes {
            return Err(format!("node {node} does not exist (nodes = {})", cluster.nodes));
        }
        if let Control::Upgrade { version, .. } = *control {
            if !SCHEMA_VERSIONS.contains(&version) || version < 2 {
                return Err(format!(
                    "version {version}: this build upgrades to schema versions {:?} \
                     (schemas/raft-v*.toml)",
                    &SCHEMA_VERSIONS[1..]
                ));
            }
        }
        Ok(())
    }
}

/// The `wire_decodes` check: every Raft message a node received decoded with the schema
/// version it runs. Fed by the `decode_failed` facts nodes record; also reports the upgrades
/// done and the ones the registry refused.
#[derive(Default)]
pub struct WireDecodes {
    failure: Option<String>,
    upgrades: Vec<String>,
    refused: Vec<String>,
}

impl FactChecker for WireDecodes {
    fn names(&self) -> Vec<&'static str> {
        vec!["wire_decodes"]
    }

    fn on_fact(&mut self, at: Nanos, node: NodeId, _: Group, fact: &Fact) -> Result<(), Violation> {
        let Fact::Custom { name, values, .. } = fact else { return Ok(()) };
        let ms = at / MILLISECOND;
        match (name.as_str(), values.as_slice()) {
            ("decode_failed", [writer, reader, message, tag]) => {
                let reader_version = u32::try_from(*reader).unwrap_or(0);
                let (message, field) = if SCHEMA_VERSIONS.contains(&reader_version) {
                    names(reader_version, *message, *tag)
                } else {
                    ("?".into(), "?".into())
                };
                let detail = format!(
                    "at {ms}ms node {node} (schema v{reader}) could not decode a message \
                     written with v{writer}: {message}.{field} (tag {tag})"
                );
                self.failure.get_or_insert_with(|| detail.clone());
                Err(Violation { check: "wire_decodes".into(), detail })
            }
            ("schema_upgraded", [version]) => {
                self.upgrades.push(format!("node {node} -> v{version} at {ms}ms"));
                Ok(())
            }
            ("schema_upgrade_refused", [version, running]) => {
                let text = format!("node {node} v{running} -> v{version} at {ms}ms");
                self.refused.push(text);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn results(&self) -> Vec<CheckResult> {
        let mut done = format!("upgrades: {}", list(&self.upgrades));
        if !self.refused.is_empty() {
            done += &format!("; refused by the registry: {}", list(&self.refused));
        }
        vec![match &self.failure {
            Some(detail) => CheckResult::fail("wire_decodes", format!("{detail}; {done}")),
            None => CheckResult::pass("wire_decodes", format!("every message decoded; {done}")),
        }]
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

/// Parses a `[protocol]` table strictly: unknown keys and bad values name the key.
pub fn parse_config(table: &toml::Table) -> Result<RaftConfig, String> {
    Raft::config(table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::MILLISECOND;
    use crate::protocols::raft::ReadMode;

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
