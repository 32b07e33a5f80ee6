//! A property test written with `sim::testing`: the register stays live (and, once the checker
//! lands, linearizable) under any short fault schedule. Proptest shrinks a failing schedule; the
//! panic names the `sim run` command that replays it. `SIM_SEED=N` pins the seed.

use proptest::prelude::*;
use sim::engine::SECOND;
use sim::protocols::raft::system::Raft;
use sim::protocols::register::RegisterSystem;
use sim::testing::{assert_passed, check_seeds, fault_schedule, load, run_with_faults, seeds};
use sim::world::fault::{Fault, NodeRef, ScheduledFault};

const SMALL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/register-small.toml");

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None,
        ..sim::testing::proptest_config(6) })]
    #[test]
    fn register_passes_under_any_fault_schedule(faults in fault_schedule(3, 2 * SECOND)) {
        let scenario = load(SMALL);
        for seed in seeds(1..2) {
            let output = run_with_faults::<RegisterSystem>(&scenario, seed, faults.clone());
            assert_passed(&scenario, &output);
        }
    }
}

const RAFT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/raft-small.toml");

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None,
        ..sim::testing::proptest_config(32) })]
    /// Raft's invariants (election safety, log matching, leader completeness, state machine
    /// safety), linearizability and liveness hold under any schedule of crashes, restarts,
    /// isolations, partitions, clock jumps and degraded links.
    #[test]
    fn raft_stays_safe_and_live_under_any_fault_schedule(faults in fault_schedule(5, 4 * SECOND)) {
        let scenario = load(RAFT);
        for seed in seeds(0..2) {
            let output = run_with_faults::<Raft>(&scenario, seed, faults.clone());
            assert_passed(&scenario, &output);
        }
    }
}

#[test]
fn register_passes_its_small_scenario() {
    check_seeds::<RegisterSystem>(SMALL, 0..3);
}

#[test]
#[should_panic(expected = "replay: sim run")]
fn a_failure_names_the_replay_command() {
    let scenario =
        load(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/register-liveness-flaky.toml"));
    // The primary crashes just before the quiet period; its recovery outlasts the 5 ms bound.
    let crash = ScheduledFault::at(1_450_000_000, Fault::Crash { node: NodeRef::Id(0) });
    let output = run_with_faults::<RegisterSystem>(&scenario, 0, vec![crash]);
    assert_passed(&scenario, &output);
}
