//! A system: a protocol packaged so scenarios can run it (`system = "raft"` in a scenario file).
//!
//! The simulator is generic over the system, so each system's run is monomorphised: no dynamic
//! dispatch between the scheduler and a node's handlers.

use crate::check::FactChecker;
use crate::node::{Node, NodeId};

/// The shape of the cluster a system is built into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cluster {
    /// Number of node slots (`0..nodes`); every slot runs a node, member or not.
    pub nodes: u32,
    /// The nodes that form the cluster at the start. The others boot empty and wait to be added
    /// by a membership change.
    pub initial_members: Vec<NodeId>,
}

/// A protocol with its settings, its node constructor and its checkers.
pub trait System: 'static {
    /// The name scenarios use: `system = "NAME"`.
    const NAME: &'static str;
    /// One sentence for `sim systems` and reports.
    const ABOUT: &'static str;
    /// The protocol run on each node.
    type Node: Node;
    /// Settings parsed from the scenario's `[protocol]` table.
    type Config: Clone + std::fmt::Debug;

    /// Parses the scenario's `[protocol]` table (empty if the scenario has none). Unknown keys
    /// and out-of-range values are errors; the message names the key and the reason.
    fn config(table: &toml::Table) -> Result<Self::Config, String>;

    /// Builds node `id`: called at first boot and again at every restart (memory is fresh; the
    /// node recovers from its disk in `on_start`).
    fn node(config: &Self::Config, id: NodeId, cluster: &Cluster) -> Self::Node;

    /// Checkers fed with the facts nodes record during the run.
    fn fact_checkers(config: &Self::Config, cluster: &Cluster) -> Vec<Box<dyn FactChecker>>;

    /// The fewest nodes this system can run with (the shrinker never goes below).
    fn nodes_min() -> u32 {
        1
    }
}
