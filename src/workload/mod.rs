//! Clients, the operations they generate, and the history they record.

pub mod history;

pub use history::{History, HistoryOp, Outcome};
