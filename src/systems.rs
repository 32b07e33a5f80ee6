//! The registry of systems a scenario can name, and the entry point that runs a scenario.

use crate::protocols::raft::Raft;
use crate::protocols::register::RegisterSystem;
use crate::scenario::{Scenario, ScenarioError};
use crate::sim::{RunOptions, RunOutput, Sim};
use crate::system::System;
use std::path::Path;

/// Name and one-line description of every system, for `sim systems` and error messages.
pub fn list() -> Vec<(&'static str, &'static str)> {
    vec![(RegisterSystem::NAME, RegisterSystem::ABOUT), (Raft::NAME, Raft::ABOUT)]
}

/// Calls `$body` with `$S` bound to the system type named `$name`, or evaluates `$unknown`.
macro_rules! with_system {
    ($name:expr, $S:ident => $body:expr, _ => $unknown:expr) => {
        match $name {
            n if n == RegisterSystem::NAME => {
                type $S = RegisterSystem;
                $body
            }
            n if n == Raft::NAME => {
                type $S = Raft;
                $body
            }
            _ => $unknown,
        }
    };
}

fn unknown_system(scenario: &Scenario, file: &Path) -> ScenarioError {
    let known: Vec<&str> = list().iter().map(|(n, _)| *n).collect();
    ScenarioError {
        file: file.to_path_buf(),
        key: Some("system".into()),
        reason: format!("unknown system `{}` (known: {})", scenario.system, known.join(", ")),
    }
}

fn config_error(file: &Path, reason: String) -> ScenarioError {
    ScenarioError { file: file.to_path_buf(), key: Some("protocol".into()), reason }
}

/// Checks that the scenario names a known system and that its `[protocol]` settings parse;
/// `file` names the scenario in errors.
pub fn validate(scenario: &Scenario, file: &Path) -> Result<(), ScenarioError> {
    with_system!(scenario.system.as_str(), S => {
        S::config(&scenario.protocol).map(|_| ()).map_err(|e| config_error(file, e))?;
        if scenario.nodes < S::nodes_min() {
            return Err(ScenarioError {
                file: file.to_path_buf(),
                key: Some("nodes".into()),
                reason: format!("system `{}` needs at least {} nodes", S::NAME, S::nodes_min()),
            });
        }
        Ok(())
    }, _ => Err(unknown_system(scenario, file)))
}

/// The fewest nodes the scenario's system runs with (1 for an unknown system).
pub fn nodes_min(scenario: &Scenario) -> u32 {
    with_system!(scenario.system.as_str(), S => S::nodes_min(), _ => 1)
}

/// Runs `scenario` with `seed`. `file` names the scenario in errors.
pub fn run(
    scenario: &Scenario,
    file: &Path,
    seed: u64,
    options: RunOptions,
) -> Result<RunOutput, ScenarioError> {
    with_system!(scenario.system.as_str(), S => {
        let config = S::config(&scenario.protocol).map_err(|e| config_error(file, e))?;
        Ok(Sim::<S>::new(scenario, config, seed, options).run())
    }, _ => Err(unknown_system(scenario, file)))
}
