//! The service system (`system = "service"`): a server of bounded capacity, the stage for
//! metastable failures (Bronson et al., HotOS'21; Huang et al., OSDI'22): a trigger (a
//! slowdown) pushes the server past its capacity, clients time out and retry at once, and the
//! retries keep it overloaded long after the trigger is gone, doing work nobody waits for.
//!
//! - [`api`]: one operation, `call`, with its cost (`work`) and the client's budget.
//! - [`node`]: `workers` virtual servers, a FIFO queue of `queue_capacity` that sheds when
//!   full, optional deadline propagation, and the slowdown windows.
//! - [`check`]: `goodput_recovery` (liveness): goodput back near its baseline within a bound
//!   of the last slowdown's end.
//! - [`config`]: `[protocol]`, with `[[protocol.slowdowns]]`.
//!
//! Every node serves on its own; clients spread calls over them and retry on another node.

pub mod api;
pub mod check;
pub mod config;
pub mod node;
#[cfg(test)]
mod tests;

pub use api::{Served, ServiceApi, ServiceOp};
pub use config::{ServiceConfig, Slowdown};
pub use node::ServiceNode;

use crate::check::Checks;
use crate::node::NodeId;
use crate::system::{Cluster, System};

/// The service system packaged for scenarios.
pub struct ServiceSystem;

impl System for ServiceSystem {
    const NAME: &'static str = "service";
    const ABOUT: &'static str =
        "a bounded-capacity service (queue, workers, slowdowns); goodput must recover after overload";
    type Node = ServiceNode;
    type Config = ServiceConfig;

    fn validate(config: &ServiceConfig) -> Result<(), String> {
        config.validate()
    }

    fn validate_cluster(config: &ServiceConfig, cluster: &Cluster) -> Result<(), String> {
        config.validate_nodes(cluster.nodes)
    }

    fn node(config: &ServiceConfig, id: NodeId, _: &Cluster) -> ServiceNode {
        ServiceNode::new(config.clone(), id)
    }

    fn checks(config: &ServiceConfig, _: &Cluster) -> Checks<ServiceApi> {
        Checks::new().history(check::GoodputRecovery {
            slowdown: config.slowdown_span(),
            bucket_ns: config.goodput_bucket_ns,
            fraction: config.recovered_fraction,
            sustain: config.recovered_buckets,
            bound_ns: config.recovery_bound_ns,
        })
    }
}
