//! A passing run is never a false alarm, and a run that checked nothing never says PASSED: a
//! fault-free run whose quiet period is no longer than the clients' deadline (so no operation
//! may start in it) does not fail liveness, and a run without clients is NOT JUDGED.

mod common;

use common::*;

#[test]
fn a_fault_free_run_with_a_short_quiet_period_never_exits_1() {
    let dir = scratch("test-false-alarms", "calm");
    let file = dir.join("calm.toml");
    let text = "system = \"register\"\nnodes = 3\nduration = \"4s\"\nquiet = \"1s\"\n";
    std::fs::write(&file, text).unwrap();
    for seed in 0..20 {
        let out = sim(&["run", file.to_str().unwrap(), "--seed", &seed.to_string()]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "seed {seed}: {}", printed(&out));
        let liveness = stdout.lines().find(|l| l.contains(" liveness ")).expect("a liveness row");
        assert!(liveness.contains("not judged") || liveness.contains("ok"), "{liveness}");
    }
}

#[test]
fn a_run_without_clients_is_not_judged_rather_than_passed() {
    let dir = scratch("test-false-alarms", "no-clients");
    let file = dir.join("idle.toml");
    let text = "system = \"register\"\nnodes = 3\nduration = \"4s\"\n[clients]\ncount = 0\n";
    std::fs::write(&file, text).unwrap();
    let out = sim(&["run", file.to_str().unwrap(), "--seed", "1"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", printed(&out));
    assert!(stdout.contains("result    NOT JUDGED"), "{stdout}");
    assert!(!stdout.contains("result    PASSED"), "{stdout}");
}
