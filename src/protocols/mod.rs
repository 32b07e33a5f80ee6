//! Protocols: one folder per system. Each sees only [`crate::node`] (and packages itself for
//! scenarios through [`crate::system`] in a separate file).

pub mod raft;
