//! The simulated world the nodes live in: network links and partitions, clocks, disks, and the
//! faults that break them.
//!
//! Invariant: this module knows no protocol. It models hardware; the simulator ([`crate::sim`])
//! connects it to nodes.

pub mod clock;
pub mod disk;
pub mod fault;
pub mod nemesis;
pub mod network;
