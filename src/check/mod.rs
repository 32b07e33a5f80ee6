//! Checkers: they judge a run from its history and the facts nodes recorded, never from a
//! protocol's state.
//!
//! Invariant: nothing here imports a protocol.

use serde::{Deserialize, Serialize};

/// The verdict of one named check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The check's name, e.g. `linearizability`, `election_safety`, `liveness`.
    pub name: String,
    /// True if the run satisfied it.
    pub passed: bool,
    /// What was found: a short summary when passed, the evidence when not.
    pub detail: String,
}

impl CheckResult {
    /// A passing verdict.
    pub fn pass(name: impl Into<String>, detail: impl Into<String>) -> Self {
        CheckResult { name: name.into(), passed: true, detail: detail.into() }
    }

    /// A failing verdict with its evidence.
    pub fn fail(name: impl Into<String>, detail: impl Into<String>) -> Self {
        CheckResult { name: name.into(), passed: false, detail: detail.into() }
    }
}
