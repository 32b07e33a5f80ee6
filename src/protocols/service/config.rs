//! The service system's settings: the scenario's `[protocol]` table.
//!
//! The slowdown windows live here, as `[[protocol.slowdowns]]`, rather than in `[[controls]]`:
//! `goodput_recovery` must know when the last slowdown ended, and a system's checks are built
//! from its `[protocol]` settings and the cluster (`System::checks`), never from the scenario's
//! controls. One table then drives both the nodes and the check, so they cannot disagree.

use crate::node::{format_nanos, Nanos, NodeId, MILLISECOND, SECOND};
use serde::Deserialize;

/// Most workers one node may run.
pub const WORKERS_MAX: u32 = 1024;
/// Largest queue one node may hold.
pub const QUEUE_CAPACITY_MAX: u32 = 1 << 20;
/// Largest slowdown factor.
pub const FACTOR_MAX: u32 = 10_000;

/// A window in which nodes work slower: `[[protocol.slowdowns]]`.
///
/// ```toml
/// [[protocol.slowdowns]]
/// at = "2s"          # from this time of the node's clock
/// duration = "1s"    # for this long
/// factor = 10        # every service started in the window takes 10 times as long
/// nodes = [0]        # optional: the nodes it slows (default: all)
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slowdown {
    /// When the window opens (the node's local clock, which is global time unless `[clock]`
    /// gives offsets or drift).
    #[serde(rename = "at", with = "crate::node::duration_ns")]
    pub at_ns: Nanos,
    /// How long it lasts.
    #[serde(rename = "duration", with = "crate::node::duration_ns")]
    pub duration_ns: Nanos,
    /// Service time is multiplied by this inside the window (at least 1).
    pub factor: u32,
    /// The nodes slowed; empty (the default) slows every node.
    #[serde(default)]
    pub nodes: Vec<NodeId>,
}

impl Slowdown {
    /// When the window closes.
    pub fn end_ns(&self) -> Nanos {
        self.at_ns.saturating_add(self.duration_ns)
    }

    /// Whether the window slows `node` at local time `now`.
    pub fn covers(&self, node: NodeId, now: Nanos) -> bool {
        (self.at_ns..self.end_ns()).contains(&now)
            && (self.nodes.is_empty() || self.nodes.contains(&node))
    }
}

/// The service system's `[protocol]` table.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceConfig {
    /// Requests a node serves at once (default 1).
    pub workers: u32,
    /// Time one unit of work takes a worker (default 2ms).
    #[serde(rename = "service_time", with = "crate::node::duration_ns")]
    pub service_time_ns: Nanos,
    /// Requests a node holds waiting for a worker (default 200); one more is shed at once
    /// (`Fail "overloaded"`).
    pub queue_capacity: u32,
    /// Drop a request whose budget ran out while it waited, when it reaches the head of the
    /// queue (`Fail "expired"`), instead of doing work its client gave up on (default false).
    pub deadline_propagation: bool,
    /// Worker time it takes to drop an expired request (default 0).
    #[serde(rename = "reject_cost", with = "crate::node::duration_ns")]
    pub reject_cost_ns: Nanos,
    /// Windows in which nodes work slower (default none).
    pub slowdowns: Vec<Slowdown>,
    /// `goodput_recovery`: goodput is counted in buckets this long (default 100ms).
    #[serde(rename = "goodput_bucket", with = "crate::node::duration_ns")]
    pub goodput_bucket_ns: Nanos,
    /// `goodput_recovery`: the fraction of the baseline goodput that counts as recovered
    /// (default 0.9).
    pub recovered_fraction: f64,
    /// `goodput_recovery`: consecutive buckets at or above that fraction that count as
    /// recovered (default 3).
    pub recovered_buckets: u32,
    /// `goodput_recovery`: goodput must have recovered within this long of the last
    /// slowdown's end (default 2s).
    #[serde(rename = "recovery_bound", with = "crate::node::duration_ns")]
    pub recovery_bound_ns: Nanos,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            workers: 1,
            service_time_ns: 2 * MILLISECOND,
            queue_capacity: 200,
            deadline_propagation: false,
            reject_cost_ns: 0,
            slowdowns: Vec::new(),
            goodput_bucket_ns: 100 * MILLISECOND,
            recovered_fraction: 0.9,
            recovered_buckets: 3,
            recovery_bound_ns: 2 * SECOND,
        }
    }
}

impl ServiceConfig {
    /// Checks what serde cannot: ranges. The message names the key.
    pub fn validate(&self) -> Result<(), String> {
        let range = crate::system::check_range;
        range("workers", u64::from(self.workers), 1, u64::from(WORKERS_MAX))?;
        range("queue_capacity", u64::from(self.queue_capacity), 0, u64::from(QUEUE_CAPACITY_MAX))?;
        if self.service_time_ns == 0 || self.service_time_ns > 60 * SECOND {
            return Err(format!(
                "protocol.service_time: {} is out of range (1ns to 60s)",
                format_nanos(self.service_time_ns)
            ));
        }
        if self.reject_cost_ns > self.service_time_ns {
            return Err(format!(
                "protocol.reject_cost: {} is more than the service_time ({}): dropping a \
                 request must not cost more than doing it",
                format_nanos(self.reject_cost_ns),
                format_nanos(self.service_time_ns)
            ));
        }
        if self.goodput_bucket_ns < MILLISECOND {
            return Err("protocol.goodput_bucket: must be at least 1ms".into());
        }
        if !(self.recovered_fraction > 0.0 && self.recovered_fraction <= 1.0) {
            return Err(format!(
                "protocol.recovered_fraction: {} is out of range (more than 0, at most 1)",
                self.recovered_fraction
            ));
        }
        range("recovered_buckets", u64::from(self.recovered_buckets), 1, 1000)?;
        if self.recovery_bound_ns == 0 {
            return Err("protocol.recovery_bound: must be more than 0".into());
        }
        for (i, s) in self.slowdowns.iter().enumerate() {
            let key = format!("slowdowns[{i}]");
            range(&format!("{key}.factor"), u64::from(s.factor), 1, u64::from(FACTOR_MAX))?;
            if s.duration_ns == 0 {
                return Err(format!("protocol.{key}.duration: must be more than 0"));
            }
        }
        Ok(())
    }

    /// Checks the slowdowns' nodes against the cluster's `nodes` slots.
    pub fn validate_nodes(&self, nodes: u32) -> Result<(), String> {
        for (i, s) in self.slowdowns.iter().enumerate() {
            if let Some(n) = s.nodes.iter().find(|&&n| n >= nodes) {
                return Err(format!(
                    "protocol.slowdowns[{i}].nodes: node {n} does not exist (nodes are 0..{nodes})"
                ));
            }
        }
        Ok(())
    }

    /// The service-time multiplier on `node` at local time `now`: the largest factor of the
    /// windows covering it, 1 outside every window.
    pub fn factor(&self, node: NodeId, now: Nanos) -> u32 {
        self.slowdowns.iter().filter(|s| s.covers(node, now)).map(|s| s.factor).max().unwrap_or(1)
    }

    /// The first slowdown's start and the last one's end, if there is any slowdown.
    pub fn slowdown_span(&self) -> Option<(Nanos, Nanos)> {
        let start = self.slowdowns.iter().map(|s| s.at_ns).min()?;
        let end = self.slowdowns.iter().map(Slowdown::end_ns).max()?;
        Some((start, end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ServiceConfig, String> {
        let table: toml::Table = text.parse().unwrap();
        let config: ServiceConfig = crate::system::parse_table(&table, "protocol")?;
        config.validate()?;
        Ok(config)
    }

    #[test]
    fn slowdowns_read_and_validate() {
        let c = parse(
            "service_time = \"1ms\"\n[[slowdowns]]\nat = \"2s\"\nduration = \"1s\"\nfactor = 10\n",
        )
        .unwrap();
        assert_eq!(c.service_time_ns, MILLISECOND);
        assert_eq!(c.slowdown_span(), Some((2 * SECOND, 3 * SECOND)));
        assert_eq!(c.factor(0, 2 * SECOND), 10);
        assert_eq!(c.factor(5, 3 * SECOND - 1), 10);
        assert_eq!(c.factor(0, 3 * SECOND), 1);
        let e = parse("[[slowdowns]]\nat = \"2s\"\nduration = \"1s\"\nfactor = 0\n").unwrap_err();
        assert!(e.starts_with("protocol.slowdowns[0].factor: "), "{e}");
        let e = parse("[[slowdowns]]\nat = \"2s\"\nfactor = 2\n").unwrap_err();
        assert!(e.contains("duration"), "{e}");
        let e = parse("workers = 0").unwrap_err();
        assert!(e.starts_with("protocol.workers: "), "{e}");
        let e = parse("recovered_fraction = 1.5").unwrap_err();
        assert!(e.starts_with("protocol.recovered_fraction: "), "{e}");
        let e = parse("queue = 3").unwrap_err();
        assert!(e.contains("protocol.queue") && e.contains("unknown"), "{e}");
        let c = parse("[[slowdowns]]\nat = \"1s\"\nduration = \"1s\"\nfactor = 3\nnodes = [1]\n")
            .unwrap();
        assert_eq!((c.factor(0, SECOND), c.factor(1, SECOND)), (1, 3));
        let e = c.validate_nodes(1).unwrap_err();
        assert!(e.starts_with("protocol.slowdowns[0].nodes: node 1"), "{e}");
    }
}
