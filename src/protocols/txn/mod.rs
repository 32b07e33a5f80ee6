//! The txn system (`system = "txn"`): clients run random transactions (Jepsen's list-append
//! and rw-register workloads) against keys spread over shards; each shard runs an MVCC store
//! (`crate::txn`) at the scenario's isolation level, and a coordinator commits across shards
//! with two-phase commit from a durable log.
//!
//! - [`api`]: transactions of micro-operations (`append`, `w`, `r`), written as Jepsen does.
//! - [`coordinator`]: node 0; presumed abort, a new durable epoch per start, commit decisions
//!   logged before any shard hears them, clients answered once every shard applied a commit.
//! - [`shard`]: nodes `1..=shards`; votes yes only once its prepared state is durable, holds
//!   its locks while in doubt, recovers committed and prepared transactions from its log.
//! - [`isolation`]: `txn_isolation` (the history, judged by the Elle-class checker
//!   `crate::check::elle` against the consistency model the scenario declares); [`check`]:
//!   `txn_atomic` (every shard applies what the coordinator decided, and the coordinator
//!   decides commit only once every shard voted yes).
//! - [`config`]: `[protocol]` and the bug knobs `txn.*`.
//!
//! Key `k` of a workload lives on shard `k mod shards` (rw-register keys are offset, so the
//! two workloads never share a row). Durable state goes through a storage engine (an
//! LSM-tree) in directory `log`: its write-ahead log and checksums make every record atomic.

pub mod api;
pub mod check;
pub mod config;
pub mod coordinator;
pub mod isolation;
pub mod messages;
pub mod records;
pub mod shard;
#[cfg(test)]
mod tests;

pub use api::{Mop, ReadValue, TxnApi, TxnKind, TxnOp, TxnRes};
pub use config::{TxnBugs, TxnConfig};

use crate::check::Checks;
use crate::node::{ClientId, Context, Fact, FsyncId, NoControl, Node, NodeId, Reply, Request};
use crate::storage::{self, Engine};
use crate::system::{Cluster, System};
use coordinator::Coordinator;
use messages::Msg;
use shard::Shard;

/// The node that coordinates.
pub const COORDINATOR: NodeId = 0;

/// The facts the txn system records (`Fact::Custom`), which `txn_atomic` judges.
pub mod facts {
    /// Coordinator: `[txn, commit (1) or abort (0), the shards' nodes..]`.
    pub const DECIDE: &str = "txn_decide";
    /// Shard: `[txn, yes (1) or no (0)]`, when it votes (a yes once its prepare is durable).
    pub const VOTE: &str = "txn_vote";
    /// Shard: `[txn, committed (1) or aborted (0)]`, when the outcome takes effect.
    pub const APPLIED: &str = "txn_applied";
    /// Shard: `[txn]`: told to commit a transaction it has no record of.
    pub const MISSING: &str = "txn_commit_missing";
    /// Shard: `[txn]`: told to commit a transaction it had already aborted.
    pub const REFUSED: &str = "txn_commit_refused";
    /// Node: `[]`, text the error: its log could not be opened (the node stays down).
    pub const LOG_DOWN: &str = "txn_log_down";
}

/// What a node of the txn system is.
#[derive(Debug)]
enum Role {
    /// Not up yet, or its log would not open.
    Down,
    Coordinator(Coordinator),
    Shard(Shard),
    /// A node that holds no shard: it sends clients to the coordinator.
    Idle,
}

/// A node of the txn system.
pub struct TxnNode {
    config: TxnConfig,
    shards: u32,
    engine: Option<Box<dyn Engine>>,
    role: Role,
}

impl std::fmt::Debug for TxnNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TxnNode {{ {:?} }}", self.role)
    }
}

/// The periodic timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tick;

impl TxnNode {
    /// A node with empty memory.
    pub fn new(config: TxnConfig, shards: u32) -> Self {
        TxnNode { config, shards, engine: None, role: Role::Down }
    }
}

impl Node for TxnNode {
    type Msg = Msg;
    type Timer = Tick;
    type Api = TxnApi;
    type Control = NoControl;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        let id = ctx.id();
        if id > self.shards {
            self.role = Role::Idle;
            return;
        }
        let mut engine =
            match storage::open(ctx, "log", &self.config.engine_config(), storage::Bugs::default())
            {
                Ok(engine) if engine.damage().is_empty() => engine,
                Ok(engine) => {
                    let text = format!("damage found: {:?}", engine.damage().ranges());
                    ctx.fact(Fact::custom(facts::LOG_DOWN, vec![], text));
                    return;
                }
                Err(e) => {
                    let text = e.to_string();
                    ctx.fact(Fact::custom(facts::LOG_DOWN, vec![], text));
                    return;
                }
            };
        self.role = if id == COORDINATOR {
            Role::Coordinator(Coordinator::recover(ctx, engine.as_mut(), &self.config, self.shards))
        } else {
            Role::Shard(Shard::recover(ctx, engine.as_mut(), &self.config))
        };
        self.engine = Some(engine);
        ctx.set_timer(self.config.retry_interval_ns, Tick);
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        let Some(engine) = self.engine.as_deref_mut() else { return };
        match &mut self.role {
            Role::Coordinator(c) => c.on_message(ctx, engine, from, msg),
            Role::Shard(s) if from == COORDINATOR => s.on_message(ctx, engine, msg),
            _ => {}
        }
    }

    fn on_request(
        &mut self,
        ctx: &mut Context<'_, Self>,
        client: ClientId,
        request: Request<TxnOp>,
    ) {
        match (&mut self.role, self.engine.as_deref_mut()) {
            (Role::Coordinator(c), Some(_)) => c.on_request(ctx, client, request),
            (Role::Down, _) => ctx.reply(client, request.id, Reply::Fail { reason: "down" }),
            _ => ctx.reply(client, request.id, Reply::Redirect { leader: Some(COORDINATOR) }),
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, _: Tick) {
        match &mut self.role {
            Role::Coordinator(c) => c.tick(ctx),
            Role::Shard(s) => s.tick(ctx, self.config.retry_interval_ns),
            Role::Down | Role::Idle => return,
        }
        ctx.set_timer(self.config.retry_interval_ns, Tick);
    }

    fn on_fsync(&mut self, ctx: &mut Context<'_, Self>, fsync: FsyncId) {
        let Some(engine) = self.engine.as_deref_mut() else { return };
        match &mut self.role {
            Role::Coordinator(c) => c.on_fsync(ctx, engine, fsync),
            Role::Shard(s) => s.on_fsync(ctx, engine, fsync),
            Role::Down | Role::Idle => {
                engine.on_fsync(ctx, fsync);
            }
        }
    }
}

/// The txn system packaged for scenarios.
pub struct TxnSystem;

impl System for TxnSystem {
    const NAME: &'static str = "txn";
    const ABOUT: &'static str =
        "MVCC shards (six isolation levels) under two-phase commit; histories judged by Elle";
    type Node = TxnNode;
    type Config = TxnConfig;

    fn validate(config: &TxnConfig) -> Result<(), String> {
        config.validate()
    }

    fn validate_cluster(config: &TxnConfig, cluster: &Cluster) -> Result<(), String> {
        match config.shards {
            Some(s) if s == 0 || s >= cluster.nodes => Err(format!(
                "protocol.shards: {s} shards need {} nodes (node 0 coordinates), the \
                 scenario has {}",
                s + 1,
                cluster.nodes
            )),
            _ => Ok(()),
        }
    }

    fn node(config: &TxnConfig, _: NodeId, cluster: &Cluster) -> TxnNode {
        TxnNode::new(config.clone(), config.shard_count(cluster.nodes))
    }

    fn checks(config: &TxnConfig, _: &Cluster) -> Checks<TxnApi> {
        Checks::new()
            .fact(check::TxnAtomic::default())
            .history(isolation::TxnIsolation::new(config))
    }

    fn nodes_min() -> u32 {
        2
    }
}
