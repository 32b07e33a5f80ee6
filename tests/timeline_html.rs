//! `timeline.html` renders in a real browser: headless Chromium loads the page of a run whose
//! linearizability check fails, and the DOM its script builds has one lane per client, one bar
//! per operation, and the operations the checker names highlighted. Skipped, saying so, where
//! no Chromium is installed (`.ci/run` installs Debian's `chromium`; `SIM_CHROMIUM=PATH` picks
//! a binary).
#![cfg(feature = "plots")]

mod common;

use common::scratch;
use sim::sim::RunOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Longest a browser may take to load and dump one page.
const BROWSER_WAIT: Duration = Duration::from_secs(90);

fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SIM_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let names = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];
    let dirs: Vec<PathBuf> = std::env::split_paths(&std::env::var_os("PATH")?).collect();
    names.iter().flat_map(|n| dirs.iter().map(move |d| d.join(n))).find(|p| p.is_file())
}

/// Runs the browser headless on `page` with `args`; returns what it printed. (Its output goes
/// to a file: a page's DOM overflows a pipe nobody reads while we wait.)
fn browse(browser: &Path, profile: &Path, args: &[String], page: &Path) -> String {
    let url = format!("file://{}", page.display());
    let printed = profile.with_extension("out");
    let mut child = Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(&url)
        .stdout(std::fs::File::create(&printed).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", browser.display()));
    let mut waited = Duration::ZERO;
    while child.try_wait().unwrap().is_none() {
        if waited > BROWSER_WAIT {
            let _ = child.kill();
            panic!("{} did not finish in {BROWSER_WAIT:?}", browser.display());
        }
        std::thread::sleep(Duration::from_millis(100));
        waited += Duration::from_millis(100);
    }
    std::fs::read_to_string(&printed).unwrap()
}

#[test]
fn the_timeline_page_draws_every_client_and_operation_and_the_failure() {
    let Some(browser) = chromium() else {
        // Written to stderr itself: the test harness would swallow a `println!`.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED the_timeline_page_draws_every_client_and_operation_and_the_failure: no \
             chromium binary on PATH (apt-get install chromium, or set SIM_CHROMIUM)"
        );
        return;
    };
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/register-recovery-reads.toml");
    let scenario = sim::scenario::Scenario::load(&path, &[]).unwrap();
    let output = sim::systems::builtin().run(&scenario, &path, 0, RunOptions::default()).unwrap();
    let check = output.report.checks.iter().find(|c| c.name == "linearizability").unwrap();
    assert!(!check.passed, "seed 0 shows the bug");
    let dir = scratch("test-timeline-html", "register-recovery-reads");
    sim::report::write_run(&dir, &scenario, &output, None).unwrap();
    let page = dir.join("timeline.html");
    let profile = dir.join("profile");
    let dom = browse(&browser, &profile, &["--dump-dom".to_string()], &page);
    let count = |needle: &str| dom.matches(needle).count();
    assert_eq!(count("class=\"lane\""), scenario.clients.count as usize, "one lane per client");
    assert_eq!(count("class=\"op "), output.history.ops.len(), "one bar per operation");
    // The slice (#133, #1053), the partial linearization (#1, #0) and the stuck op (#1053).
    let named = sim::report::focus::named_ops(&check.detail);
    assert!(!named.slice.is_empty() && named.stuck.is_some(), "{named:?}");
    let role_of = |id: u64| {
        let bar = dom.split(&format!("data-id=\"{id}\"")).nth(1).expect("the op's bar");
        let bar = bar.split('>').next().unwrap();
        bar.split("data-role=\"").nth(1).map(|r| r.split('"').next().unwrap().to_string())
    };
    for id in &named.slice {
        assert!(role_of(*id).unwrap_or_default().contains("slice"), "#{id}");
    }
    for id in &named.partial {
        assert!(role_of(*id).unwrap_or_default().contains("partial"), "#{id}");
    }
    assert!(role_of(named.stuck.unwrap()).unwrap_or_default().contains("stuck"));
    let roles = dom.matches("data-role=\"").count();
    let ids: std::collections::BTreeSet<u64> =
        named.slice.iter().chain(&named.partial).copied().collect();
    assert_eq!(roles, ids.len(), "only the ops the check names are highlighted");
    assert!(dom.contains("failed safety check: linearizability"));
    // A picture to look at (target/tmp/test-timeline-html/...), zoomed on the failure.
    let shot = dir.join("timeline.png");
    let args = [format!("--screenshot={}", shot.display()), "--window-size=1400,700".into()];
    browse(&browser, &profile, &args, &dir.join("timeline.html#failure"));
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "{} bytes", png.len());
}
