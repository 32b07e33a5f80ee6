//! sim: a deterministic discrete-event cluster simulator.
#![forbid(unsafe_code)]

pub mod check;
pub mod engine;
pub mod node;
pub mod protocols;
pub mod scenario;
pub mod sim;
pub mod system;
pub mod systems;
pub mod workload;
pub mod world;
