//! sim: a deterministic discrete-event cluster simulator.
//!
//! One process, one seed, one virtual clock: nodes, clocks, disks and network links are state
//! machines driven by a seeded scheduler, so a run under partitions, crashes, clock skew and
//! message loss is reproducible bit for bit.
//!
//! A protocol is a [`node::Node`]: a sans-IO state machine that reacts to events through a
//! [`node::Context`]. Package it as a [`system::System`] and run it under a
//! [`scenario::Scenario`]:
//!
//! ```
//! use sim::check::{linearizability::KvLinearizability, Checks};
//! use sim::node::{ClientId, Context, KvApi, Node, NodeId, NoControl, Op, Reply, Request};
//! use sim::scenario::Scenario;
//! use sim::sim::{RunOptions, Sim};
//! use sim::system::{Cluster, System};
//!
//! /// A single-node key-value store that keeps everything in memory.
//! #[derive(Default)]
//! struct Memory(std::collections::BTreeMap<String, String>);
//!
//! impl Node for Memory {
//!     type Msg = ();
//!     type Timer = ();
//!     type Api = KvApi; // get, put, cas, append
//!     type Control = NoControl; // no operator actions
//!     fn on_start(&mut self, _: &mut Context<'_, Self>) {}
//!     fn on_message(&mut self, _: &mut Context<'_, Self>, _: NodeId, _: ()) {}
//!     fn on_timer(&mut self, _: &mut Context<'_, Self>, _: ()) {}
//!     fn on_request(&mut self, ctx: &mut Context<'_, Self>, client: ClientId, req: Request<Op>) {
//!         let key = req.op.key().to_string();
//!         let reply = match sim::node::apply_op(self.0.get(&key), &req.op) {
//!             Ok((read, new)) => {
//!                 if let Some(v) = new { self.0.insert(key, v); }
//!                 Reply::Ok { value: read }
//!             }
//!             Err(()) => Reply::Fail { reason: "cas mismatch" },
//!         };
//!         ctx.reply(client, req.id, reply);
//!     }
//! }
//!
//! struct MemorySystem;
//! impl System for MemorySystem {
//!     const NAME: &'static str = "memory";
//!     const ABOUT: &'static str = "one node, no disk";
//!     type Node = Memory;
//!     type Config = (); // no [protocol] settings
//!     fn node(_: &(), _: NodeId, _: &Cluster) -> Memory { Memory::default() }
//!     fn checks(_: &(), _: &Cluster) -> Checks<KvApi> {
//!         Checks::new().history(KvLinearizability)
//!     }
//! }
//!
//! let text = r#"
//!     system = "memory"
//!     nodes = 1
//!     duration = "2s"
//!     [clients]
//!     count = 2
//! "#;
//! let scenario = Scenario::parse(text, "memory.toml".as_ref(), &[]).unwrap();
//! let run = Sim::<MemorySystem>::new(&scenario, (), 42, RunOptions::default()).run();
//! assert!(run.report.passed);
//! assert!(run.report.ops.ok > 100);
//! ```
//!
//! Start with `ARCHITECTURE.md` for the map of modules, and `sim --help` for the command line.
#![forbid(unsafe_code)]

pub mod api;
pub mod check;
#[cfg(feature = "cli")]
pub mod cli;
pub mod encoding;
pub mod engine;
pub mod node;
pub mod property;
pub mod protocols;
pub mod registry;
/// Client reliability policies: backoff with jitter, retry budgets, circuit breakers, rate
/// limiters and hedging, as pure state machines over virtual time.
pub mod reliability;
pub mod report;
pub mod scenario;
pub mod shrink;
pub mod sim;
pub mod storage;
pub mod system;
pub mod systems;
pub mod testing;
pub mod txn;
pub mod workload;
pub mod world;

pub use registry::system;
/// The TOML crate sim reads scenarios with, for `System::config` and controls.
pub use toml;
