//! The committed reports/ gallery matches the code: every scenario has its folder, and the
//! quickstart's recorded trace hash is what the code produces now. If this fails, run
//! `cargo xtask reports` and commit reports/.

use sim::report::gallery::{check_one, scenario_files, GALLERY_SEED, PICTURES};
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_scenario_has_a_report_folder() {
    let reports = root().join("reports");
    assert!(reports.join("README.md").exists(), "reports/README.md is missing");
    for path in scenario_files(&root().join("scenarios")).unwrap() {
        let scenario = sim::scenario::Scenario::load(&path, &[]).unwrap();
        let dir = reports.join(&scenario.name);
        assert!(dir.join("summary.json").exists(), "{}: no summary.json", dir.display());
        for picture in PICTURES {
            assert!(
                dir.join(format!("{picture}.png")).exists(),
                "{}: no {picture}.png",
                dir.display()
            );
        }
    }
}

#[test]
fn the_quickstart_report_is_up_to_date() {
    let path = root().join("scenarios/quickstart.toml");
    if let Err(stale) =
        check_one(sim::systems::builtin(), &path, &root().join("reports"), GALLERY_SEED)
    {
        panic!("{stale}");
    }
}
