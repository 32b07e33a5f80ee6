//! Registering systems: one [`system`] call per system makes an [`Entry`], and a list of
//! entries (a [`Registry`]) is everything the command line, the shrinker and the report
//! gallery need: validation and dispatch by the scenario's `system`.
//!
//! sim's own list is `crate::systems::BUILTIN`; a user's crate passes its own list to
//! `sim::cli::main_with` and gets `run`, `sweep`, `replay`, `shrink`, `merge` and `check` for
//! its systems.

use crate::api::Api;
use crate::scenario::{Scenario, ScenarioError};
use crate::sim::{RunOptions, RunOutput, Sim};
use crate::system::{controls, ApiOf, System};
use std::path::Path;

/// A registered system: its name and the monomorphised functions that validate and run
/// scenarios of it.
#[derive(Clone, Copy)]
pub struct Entry {
    /// `system = "NAME"`.
    pub name: &'static str,
    /// One sentence.
    pub about: &'static str,
    validate: fn(&Scenario, &Path) -> Result<(), ScenarioError>,
    run: fn(&Scenario, &Path, u64, RunOptions) -> Result<RunOutput, ScenarioError>,
    nodes_min: fn() -> u32,
    describe: fn() -> Description,
}

/// What `sim systems` shows of a system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Description {
    /// The operations `[clients] mix` may name, with default weights.
    pub ops: Vec<(&'static str, u32)>,
}

/// Registers system `S`.
pub const fn system<S: System>() -> Entry {
    Entry {
        name: S::NAME,
        about: S::ABOUT,
        validate: validate::<S>,
        run: run::<S>,
        nodes_min: S::nodes_min,
        describe: describe::<S>,
    }
}

fn describe<S: System>() -> Description {
    Description { ops: ApiOf::<S>::OPS.to_vec() }
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "system `{}`", self.name)
    }
}

impl Entry {
    /// Checks the scenario against the system: `[protocol]`, node count, the mix's
    /// operations, check names, controls.
    pub fn validate(&self, scenario: &Scenario, file: &Path) -> Result<(), ScenarioError> {
        (self.validate)(scenario, file)
    }

    /// Runs `scenario` with `seed`.
    pub fn run(
        &self,
        scenario: &Scenario,
        file: &Path,
        seed: u64,
        options: RunOptions,
    ) -> Result<RunOutput, ScenarioError> {
        (self.run)(scenario, file, seed, options)
    }

    /// The fewest nodes the system runs with.
    pub fn nodes_min(&self) -> u32 {
        (self.nodes_min)()
    }

    /// Its operations.
    pub fn describe(&self) -> Description {
        (self.describe)()
    }
}

/// A list of registered systems: finds the one a scenario names.
#[derive(Clone, Copy, Debug)]
pub struct Registry<'a> {
    /// The systems.
    pub entries: &'a [Entry],
}

impl<'a> Registry<'a> {
    /// A registry of `entries`.
    pub fn new(entries: &'a [Entry]) -> Self {
        Registry { entries }
    }

    /// The system the scenario names, or an error naming the known ones.
    pub fn find(&self, scenario: &Scenario, file: &Path) -> Result<&'a Entry, ScenarioError> {
        self.entries.iter().find(|e| e.name == scenario.system).ok_or_else(|| {
            let known: Vec<&str> = self.entries.iter().map(|e| e.name).collect();
            ScenarioError {
                file: file.to_path_buf(),
                key: Some("system".into()),
                reason: format!(
                    "unknown system `{}` (known: {})",
                    scenario.system,
                    known.join(", ")
                ),
            }
        })
    }

    /// Finds the scenario's system and validates the scenario against it.
    pub fn validate(&self, scenario: &Scenario, file: &Path) -> Result<&'a Entry, ScenarioError> {
        let entry = self.find(scenario, file)?;
        entry.validate(scenario, file)?;
        Ok(entry)
    }

    /// Runs `scenario` on its system with `seed`.
    pub fn run(
        &self,
        scenario: &Scenario,
        file: &Path,
        seed: u64,
        options: RunOptions,
    ) -> Result<RunOutput, ScenarioError> {
        self.find(scenario, file)?.run(scenario, file, seed, options)
    }

    /// The fewest nodes the scenario's system runs with (1 for an unknown system).
    pub fn nodes_min(&self, scenario: &Scenario) -> u32 {
        self.entries.iter().find(|e| e.name == scenario.system).map_or(1, Entry::nodes_min)
    }
}

fn error(file: &Path, key: impl Into<String>, reason: impl Into<String>) -> ScenarioError {
    ScenarioError { file: file.to_path_buf(), key: Some(key.into()), reason: reason.into() }
}

/// An error of a system's `[protocol]` settings: a message `protocol.KEY: reason` (what
/// `System::config` gives) names `protocol.KEY`, `protocol: reason` names `protocol`, and any
/// other message is the reason of an error at `protocol`.
fn protocol_error(file: &Path, message: String) -> ScenarioError {
    let named = message.split_once(": ").filter(|(key, _)| {
        (*key == "protocol" || key.starts_with("protocol.")) && !key.contains(char::is_whitespace)
    });
    match named {
        Some((key, reason)) => error(file, key, reason),
        None => error(file, "protocol", message),
    }
}

/// The most configurations of a `[vary]` table validation tries in full (beyond it, each
/// value once).
const VARY_COMBINATIONS_MAX: usize = 256;

fn validate<S: System>(scenario: &Scenario, file: &Path) -> Result<(), ScenarioError> {
    let config = S::config(&scenario.protocol).map_err(|e| protocol_error(file, e))?;
    for drawn in crate::scenario::vary::combinations(&scenario.vary, VARY_COMBINATIONS_MAX) {
        let protocol = crate::scenario::vary::apply(&scenario.protocol, &drawn);
        if let Err(e) = S::config(&protocol) {
            let with: Vec<String> = drawn.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            let e = protocol_error(file, e);
            let reason = format!("{} (drawn by [vary]: {})", e.reason, with.join(", "));
            let key = e.key.map(|k| format!("vary.{k}")).unwrap_or_else(|| "vary".into());
            return Err(error(file, key, reason));
        }
    }
    if scenario.nodes < S::nodes_min() {
        let reason = format!("system `{}` needs at least {} nodes", S::NAME, S::nodes_min());
        return Err(error(file, "nodes", reason));
    }
    S::validate_cluster(&config, &crate::system::cluster(scenario))
        .map_err(|e| protocol_error(file, e))?;
    let ops = ApiOf::<S>::OPS;
    for name in scenario.clients.mix.keys() {
        if !ops.iter().any(|(op, _)| op == name) {
            let known: Vec<&str> = ops.iter().map(|(op, _)| *op).collect();
            let reason = format!(
                "system `{}` has no operation `{name}` (its operations: {})",
                S::NAME,
                known.join(", ")
            );
            return Err(error(file, format!("clients.mix.{name}"), reason));
        }
    }
    if scenario.clients.value_size > 0 && !ApiOf::<S>::PADS_VALUES {
        let reason = format!("system `{}` has no string values to pad", S::NAME);
        return Err(error(file, "clients.value_size", reason));
    }
    if scenario.clients.mix.is_empty() && ops.iter().all(|(_, w)| *w == 0) {
        return Err(error(file, "clients.mix", "the system's operations all weigh 0: give a mix"));
    }
    let mut names = S::checks(&config, &crate::system::cluster(scenario)).names();
    let expectations = crate::scenario::expect::names(&scenario.expectations);
    for (i, name) in expectations.iter().enumerate() {
        if names.contains(&name.as_str()) {
            let reason = format!("`{name}` is one of the system's checks: name it apart");
            return Err(error(file, format!("expectations[{i}].name"), &reason));
        }
    }
    names.extend(expectations.iter().map(String::as_str));
    let unknown = |key: String, name: &str| {
        let reason = format!(
            "system `{}` has no check `{name}` (its checks: {})",
            S::NAME,
            names.join(", ")
        );
        error(file, key, reason)
    };
    for name in scenario.checks.switches.keys() {
        if !names.contains(&name.as_str()) {
            return Err(unknown(format!("checks.{name}"), name));
        }
    }
    for name in &scenario.expect.fails {
        if !names.contains(&name.as_str()) {
            return Err(unknown("expect.fails".into(), name));
        }
    }
    controls::<S>(scenario, &config).map_err(|(key, reason)| error(file, key, reason))?;
    Ok(())
}

fn run<S: System>(
    scenario: &Scenario,
    file: &Path,
    seed: u64,
    options: RunOptions,
) -> Result<RunOutput, ScenarioError> {
    let config = S::config(&scenario.protocol_for(seed)).map_err(|e| protocol_error(file, e))?;
    controls::<S>(scenario, &config).map_err(|(key, reason)| error(file, key, reason))?;
    Ok(Sim::<S>::new(scenario, config, seed, options).run())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_protocol_error_names_its_key_once() {
        let file = Path::new("s.toml");
        let e = protocol_error(file, "protocol.timeout_election_min: must be less".into());
        assert_eq!(e.to_string(), "s.toml: `protocol.timeout_election_min`: must be less");
        let e = protocol_error(file, "protocol: bad table: x".into());
        assert_eq!(e.to_string(), "s.toml: `protocol`: bad table: x");
        let e = protocol_error(file, "something else: entirely".into());
        assert_eq!(e.key.as_deref(), Some("protocol"));
    }
}
