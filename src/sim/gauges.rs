//! Gauges: levels a node reports over time (locks held, transactions in doubt, replication
//! lag, members it believes alive), kept as step series per name and node for the report's
//! plots. A node reports a gauge when its level changes ([`crate::node::Context::gauge`]);
//! the simulator keeps only changes, and a crash drops every gauge of that node to 0 (a node
//! that is down holds nothing in memory; after its restart it reports what it recovered).
//!
//! Gauges are observations: they never enter the trace hash, so adding one to a protocol does
//! not change its runs.

use crate::engine::Nanos;
use crate::node::NodeId;

/// The pseudo-node the clients' gauges are reported under (their breaker's state): plots
/// label it `clients`.
pub const CLIENTS: NodeId = NodeId::MAX;

/// Most points one series keeps; later changes are counted in [`GaugeSeries::dropped`].
pub const GAUGE_POINTS_MAX: usize = 200_000;

/// One gauge of one node: `(time, level)` at each change, in time order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GaugeSeries {
    /// The node reporting.
    pub node: NodeId,
    /// The level from each time on, until the next point.
    pub points: Vec<(Nanos, i64)>,
    /// Changes past [`GAUGE_POINTS_MAX`] that were not kept.
    pub dropped: u64,
}

impl GaugeSeries {
    /// The highest level, and when it was first reached.
    pub fn peak(&self) -> Option<(Nanos, i64)> {
        self.points.iter().copied().fold(None, |best, (t, v)| match best {
            Some((_, b)) if b >= v => best,
            _ => Some((t, v)),
        })
    }
}

/// Every gauge of a run, by name (in the order names were first reported), then by node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Gauges {
    names: Vec<(&'static str, Vec<GaugeSeries>)>,
}

impl Gauges {
    /// Node `node` reports level `value` of gauge `name` at `now`.
    pub fn record(&mut self, now: Nanos, node: NodeId, name: &'static str, value: i64) {
        let at = match self.names.iter().position(|(n, _)| *n == name) {
            Some(at) => at,
            None => {
                self.names.push((name, Vec::new()));
                self.names.len() - 1
            }
        };
        let series = &mut self.names[at].1;
        let s = match series.iter().position(|s| s.node == node) {
            Some(s) => s,
            None => {
                let s = series.partition_point(|s| s.node < node);
                series.insert(s, GaugeSeries { node, points: Vec::new(), dropped: 0 });
                s
            }
        };
        Self::push(&mut series[s], now, value);
    }

    fn push(s: &mut GaugeSeries, now: Nanos, value: i64) {
        let full = s.points.len() >= GAUGE_POINTS_MAX;
        match s.points.last_mut() {
            Some((_, last)) if *last == value => {}
            // Two changes at one instant: the later one is the level from then on.
            Some((t, last)) if *t == now => *last = value,
            _ if full => s.dropped += 1,
            _ => s.points.push((now, value)),
        }
    }

    /// Node `node` crashed at `now`: every gauge it reported drops to 0.
    pub fn crashed(&mut self, now: Nanos, node: NodeId) {
        for (_, series) in &mut self.names {
            if let Some(s) = series.iter_mut().find(|s| s.node == node) {
                Self::push(s, now, 0);
            }
        }
    }

    /// True if no node reported any gauge.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The gauges: each name with its series, one per node that reported it, by node id.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &[GaugeSeries])> {
        self.names.iter().map(|(n, s)| (*n, s.as_slice()))
    }

    /// The series of gauge `name`, by node id (empty if no node reported it).
    pub fn get(&self, name: &str) -> &[GaugeSeries] {
        self.names.iter().find(|(n, _)| *n == name).map_or(&[], |(_, s)| s.as_slice())
    }

    /// The highest level gauge `name` reached on any node: `(node, time, level)`.
    pub fn peak(&self, name: &str) -> Option<(NodeId, Nanos, i64)> {
        self.get(name).iter().filter_map(|s| s.peak().map(|(t, v)| (s.node, t, v))).fold(
            None,
            |best, p| match best {
                Some(b) if b.2 >= p.2 => Some(b),
                _ => Some(p),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_changes_only_and_a_crash_drops_a_node_to_zero() {
        let mut g = Gauges::default();
        g.record(10, 2, "locks", 3);
        g.record(20, 2, "locks", 3);
        g.record(30, 1, "locks", 1);
        g.record(30, 2, "locks", 5);
        g.record(30, 2, "locks", 4);
        g.crashed(40, 2);
        g.crashed(40, 7);
        let locks = g.get("locks");
        assert_eq!(locks.iter().map(|s| s.node).collect::<Vec<_>>(), [1, 2], "by node id");
        assert_eq!(locks[1].points, [(10, 3), (30, 4), (40, 0)]);
        assert_eq!(g.peak("locks"), Some((2, 30, 4)));
        assert_eq!(locks[1].peak(), Some((30, 4)));
        assert!(g.get("other").is_empty() && g.peak("other").is_none());
        assert_eq!(g.iter().map(|(n, _)| n).collect::<Vec<_>>(), ["locks"]);
    }
}
