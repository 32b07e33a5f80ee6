//! Property tests for library users: run a system under many seeds or many fault schedules from
//! `cargo test`, and get a command that replays a failure.
//!
//! - [`check_seeds`] runs a scenario file under a range of seeds and panics at the first failure.
//! - [`fault_schedule`] is a proptest strategy for fault schedules; proptest shrinks a failing
//!   schedule to a small one. [`run_with_faults`] runs a scenario with such a schedule and
//!   [`assert_passed`] turns a failed run into a panic that names the replay command.
//! - [`proptest_config`] makes a property test draw the same cases on every run.
//! - `SIM_SEED=N` in the environment makes [`seeds`] (and so [`check_seeds`]) run only seed `N`.
//!
//! A failing run's scenario is written to `target/sim-failures/NAME-seedN.toml` (under
//! `CARGO_TARGET_DIR` if set), and the panic message says `sim run FILE --seed N`.
//!
//! ```no_run
//! use proptest::prelude::*;
//! use sim::protocols::register::RegisterSystem;
//! use sim::testing::{assert_passed, fault_schedule, load, run_with_faults};
//!
//! proptest! {
//!     #![proptest_config(sim::testing::proptest_config(8))]
//!     #[test]
//!     fn register_survives_faults(faults in fault_schedule(3, 2_000_000_000)) {
//!         let scenario = load("tests/fixtures/register-small.toml");
//!         let output = run_with_faults::<RegisterSystem>(&scenario, 1, faults);
//!         assert_passed(&scenario, &output);
//!     }
//! }
//! ```

use crate::engine::{Nanos, MILLISECOND};
use crate::scenario::Scenario;
use crate::sim::{RunOptions, RunOutput, Sim};
use crate::system::System;
use crate::world::fault::{Degrade, Fault, Messages, NodeRef, ScheduledFault, SignedDuration};
use proptest::prelude::*;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// The environment variable that pins the seeds to one (`SIM_SEED=42 cargo test`).
pub const SEED_ENV: &str = "SIM_SEED";
/// Most faults [`fault_schedule`] draws.
pub const SCHEDULE_FAULTS_MAX: usize = 8;

pub use crate::property::{proptest_config, PROPTEST_SEED};
pub use crate::sim::trace::TraceBuffer;

/// The seeds to run: `range`, or only `SIM_SEED` when that is set.
///
/// # Panics
/// If `SIM_SEED` is set but is not a number.
pub fn seeds(range: Range<u64>) -> Vec<u64> {
    match std::env::var(SEED_ENV) {
        Ok(text) => {
            let seed = text.trim().parse().unwrap_or_else(|_| {
                panic!("{SEED_ENV}={text:?} is not a seed (expected an unsigned integer)")
            });
            vec![seed]
        }
        Err(_) => range.collect(),
    }
}

/// Loads a scenario file, panicking with the reason if it does not load.
pub fn load(path: impl AsRef<Path>) -> Scenario {
    load_with(path, &[])
}

/// Loads a scenario file with `--set`-style overrides (`("network.loss", "0.05")`),
/// panicking with the reason if it does not load.
pub fn load_with(path: impl AsRef<Path>, sets: &[(&str, &str)]) -> Scenario {
    let sets: Vec<String> = sets.iter().map(|(k, v)| format!("{k}={v}")).collect();
    Scenario::load(path.as_ref(), &sets).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `scenario` on system `S` with `seed`.
///
/// # Panics
/// If the scenario's `[protocol]` settings do not parse for `S`.
pub fn run<S: System>(scenario: &Scenario, seed: u64) -> RunOutput {
    let config = S::config(&scenario.protocol_for(seed))
        .unwrap_or_else(|e| panic!("scenario `{}`: [protocol]: {e}", scenario.name));
    Sim::<S>::new(scenario, config, seed, RunOptions::default()).run()
}

/// Runs the scenario file at `path` on system `S` under every seed of `seeds` (see [`seeds`] for
/// `SIM_SEED`), panicking at the first failing seed with the check and the replay command.
pub fn check_seeds<S: System>(path: impl AsRef<Path>, seeds: Range<u64>) {
    let path = path.as_ref();
    let scenario = load(path);
    for seed in self::seeds(seeds) {
        let output = run::<S>(&scenario, seed);
        if let Some(failed) = output.first_failure() {
            panic!(
                "seed {seed}: check `{}` failed: {}\nreplay: {}",
                failed.name,
                failed.detail,
                replay_command(&scenario, path, seed)
            );
        }
    }
}

/// Runs `scenario` with `faults` as its whole fault schedule (its own faults and nemesis are
/// replaced) on system `S` with `seed`.
///
/// # Panics
/// If the schedule names a node the scenario lacks or a time past its end.
pub fn run_with_faults<S: System>(
    scenario: &Scenario,
    seed: u64,
    mut faults: Vec<ScheduledFault>,
) -> RunOutput {
    faults.sort_by_key(|f| f.at);
    let scenario = Scenario { faults, nemesis: None, ..scenario.clone() };
    if let Err((key, reason)) = scenario.validate() {
        panic!("fault schedule does not fit scenario `{}`: `{key}`: {reason}", scenario.name);
    }
    run::<S>(&scenario, seed)
}

/// Panics if `output` (a run of `scenario`) failed a check. The message names the check, its
/// evidence and the command to replay it; the scenario as run is written under `target/` first.
pub fn assert_passed(scenario: &Scenario, output: &RunOutput) {
    let Some(failed) = output.first_failure() else { return };
    let seed = output.report.seed;
    let replay = match write_failure(scenario, seed) {
        Ok(file) => replay_command(scenario, &file, seed),
        Err(e) => format!("(could not write the scenario: {e})"),
    };
    panic!("seed {seed}: check `{}` failed: {}\nreplay: {replay}", failed.name, failed.detail);
}

/// The command that replays `file` at `seed`: `sim run` for sim's own systems; for a user's
/// system, the user's binary (the one whose `main` calls `sim::cli::main_with`).
pub fn replay_command(scenario: &Scenario, file: &Path, seed: u64) -> String {
    let command = format!("run {} --seed {seed}", file.display());
    if crate::systems::BUILTIN.iter().any(|e| e.name == scenario.system) {
        return format!("sim {command}");
    }
    format!(
        "cargo run --release -- {command}  (in the crate whose main calls \
         sim::cli::main_with with system `{}`; for an example, cargo run --release --example NAME -- ...)",
        scenario.system
    )
}

/// Writes `scenario` to `target/sim-failures/NAME-seedN.toml` and returns the path.
pub fn write_failure(scenario: &Scenario, seed: u64) -> std::io::Result<PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or(PathBuf::from("target"), Into::into);
    let dir = target.join("sim-failures");
    std::fs::create_dir_all(&dir)?;
    let file = dir.join(format!("{}-seed{seed}.toml", scenario.name));
    let header = format!("# A failing run found by a property test; replay with seed {seed}.\n");
    std::fs::write(&file, header + &scenario.to_toml())?;
    Ok(file)
}

/// A proptest strategy for fault schedules on `nodes` nodes, with faults in `0..duration_ns`:
/// up to [`SCHEDULE_FAULTS_MAX`] crashes, restarts, isolations, partitions, heals, clock jumps
/// and link degradations, sorted by time. Proptest shrinks a failing schedule by dropping faults
/// and simplifying the rest.
pub fn fault_schedule(
    nodes: u32,
    duration_ns: Nanos,
) -> impl Strategy<Value = Vec<ScheduledFault>> {
    assert!(nodes > 0 && duration_ns > 0, "a schedule needs nodes and time");
    let one = (0..duration_ns, fault(nodes)).prop_map(|(at, fault)| ScheduledFault::at(at, fault));
    prop::collection::vec(one, 0..=SCHEDULE_FAULTS_MAX).prop_map(|mut faults| {
        faults.sort_by_key(|f| f.at);
        faults
    })
}

/// A proptest strategy for one concrete fault on `nodes` nodes.
pub fn fault(nodes: u32) -> impl Strategy<Value = Fault> {
    let node = (0..nodes).prop_map(NodeRef::Id);
    let jump_ns = 500 * MILLISECOND as i64;
    prop_oneof![
        node.clone().prop_map(|node| Fault::Crash { node }),
        node.clone().prop_map(|node| Fault::Restart { node }),
        node.clone().prop_map(|node| Fault::Isolate { node }),
        Just(Fault::Heal),
        (0..nodes, 1..nodes.max(2)).prop_map(move |(first, size)| partition(nodes, first, size)),
        (node, -jump_ns..jump_ns)
            .prop_map(|(node, by)| Fault::ClockJump { node, by: SignedDuration(by) }),
        (0..50u32, 0..20u32, any::<bool>(), 0..3u8).prop_map(
            |(latency_ms, jitter_ms, reorder, m)| {
                let ms = |ms: u32| SignedDuration(i64::from(ms) * MILLISECOND as i64);
                let p = crate::world::fault::Probability;
                Fault::LinkDegrade(Degrade {
                    latency: ms(latency_ms),
                    loss: p(100_000),
                    jitter: ms(jitter_ms),
                    reorder: p(if reorder { 100_000 } else { 0 }),
                    messages: [Messages::All, Messages::Requests, Messages::Replies][m as usize],
                    ..Degrade::default()
                })
            }
        ),
        Just(Fault::LinkRestore),
    ]
}

/// Nodes `first, first+1, ...` (`size` of them, wrapping) against the rest; a heal when the
/// rest is empty.
fn partition(nodes: u32, first: u32, size: u32) -> Fault {
    let a: Vec<u32> = (0..size).map(|i| (first + i) % nodes).collect();
    let b: Vec<u32> = (0..nodes).filter(|n| !a.contains(n)).collect();
    if b.is_empty() {
        return Fault::Heal;
    }
    Fault::Partition { groups: Some(crate::world::fault::sides(vec![a, b])) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    #[test]
    fn schedules_are_sorted_and_within_bounds() {
        let mut runner = TestRunner::deterministic();
        let strategy = fault_schedule(3, 1_000_000_000);
        for _ in 0..50 {
            let faults = strategy.new_tree(&mut runner).unwrap().current();
            assert!(faults.len() <= SCHEDULE_FAULTS_MAX);
            assert!(faults.windows(2).all(|w| w[0].at <= w[1].at));
            for f in &faults {
                assert!(f.at < 1_000_000_000);
                assert!(crate::shrink::fault_nodes(&f.fault).iter().all(|n| *n < 3));
            }
        }
    }
}
