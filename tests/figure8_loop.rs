//! The loop users live in, end to end on the Figure 8 bug knob: a sweep finds a failing seed,
//! shrinking cuts it to a handful of faults, and the shrunk scenario fails on its own,
//! deterministically.

use sim::scenario::Scenario;
use sim::sim::RunOptions;
use std::path::Path;

#[test]
fn sweep_finds_figure8_shrink_cuts_it_to_a_handful_and_it_replays() {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/raft-figure8.toml"));
    let scenario = Scenario::load(path, &[]).unwrap();

    // Sweep: the lowest failing seed below 1,000.
    let seed = (0..1000)
        .find(|&seed| {
            !sim::systems::builtin()
                .run(&scenario, path, seed, RunOptions::default())
                .unwrap()
                .report
                .passed
        })
        .expect("a sweep of 1,000 seeds finds the Figure 8 bug");

    // Shrink it.
    let shrunk =
        sim::shrink::shrink(sim::systems::builtin(), &scenario, path, seed, 500, &mut |_| {})
            .unwrap();
    assert!(shrunk.verified, "the shrunk scenario fails on its own");
    assert!(shrunk.after.faults <= 5, "a handful of faults: {}", shrunk.after.faults);
    assert!(shrunk.after.faults < shrunk.before.faults || shrunk.before.faults <= 5);
    assert!(shrunk.after.virtual_ns <= shrunk.before.virtual_ns);
    assert!(shrunk.scenario.nemesis.is_none(), "faults are explicit");

    // The written scenario, read back, fails the same check with the same trace every time.
    let text = shrunk.scenario.to_toml();
    let reread = Scenario::parse(&text, Path::new("shrunk.toml"), &[]).unwrap();
    let runs: Vec<_> = (0..2)
        .map(|_| sim::systems::builtin().run(&reread, path, seed, RunOptions::default()).unwrap())
        .collect();
    for run in &runs {
        let failed = run.first_failure().expect("the shrunk scenario fails");
        assert_eq!(failed.name, shrunk.check);
    }
    assert_eq!(runs[0].report.trace_hash, runs[1].report.trace_hash);
}
