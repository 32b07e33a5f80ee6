//! The systems sim ships, one folder (or file) per system. Each is a sans-IO [`crate::node::Node`]
//! packaged as a [`crate::system::System`].
//!
//! Invariant: a protocol imports `crate::node` (what a protocol sees) and, in its `System`
//! glue, `crate::system` and `crate::check`; never the engine, world or simulator.

pub mod codec;
pub mod raft;
pub mod register;
pub mod service;
pub mod storage;
pub mod txn;
