//! Clients, the operations they generate, and the history they record.

pub mod client;
pub mod history;

pub use client::{ClientOut, Workload};
pub use history::{History, OpSummary, Outcome, Record, TypedHistory};
