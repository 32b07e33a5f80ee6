//! A link degrade that stands through the quiet period (`through_quiet`): liveness is judged
//! over the degraded links, and says so; it is not excused.

use sim::scenario::Scenario;
use sim::sim::RunOptions;

#[test]
fn liveness_is_judged_over_links_that_stay_degraded() {
    let liveness = |degrade: &str| {
        let text = format!(
            "system = \"register\"\nnodes = 3\nduration = \"4s\"\nquiet = \"2s\"\n\
             [[faults]]\nat = \"1s\"\nkind = \"link-degrade\"\nthrough_quiet = true\n{degrade}"
        );
        let scenario = Scenario::parse(&text, "l.toml".as_ref(), &[]).unwrap();
        let out = sim::systems::builtin()
            .run(&scenario, "l.toml".as_ref(), 1, RunOptions::default())
            .unwrap();
        out.report.checks.into_iter().find(|c| c.name == "liveness").unwrap()
    };
    let slow = liveness("latency = \"5ms\"\nloss = 0.05\n");
    assert!(slow.passed && slow.judged, "{slow:?}");
    assert!(slow.detail.contains("links still degraded (`through_quiet`)"), "{}", slow.detail);
    // Liveness is not excused: links that lose every message fail it.
    let dead = liveness("loss = 1.0\n");
    assert!(!dead.passed, "{dead:?}");
    assert!(dead.detail.contains("links still degraded"), "{}", dead.detail);
}
