//! `cargo xtask reports [--check]`: regenerate (or verify) the committed `reports/` gallery,
//! one run of every scenario in `scenarios/` at seed 1 (see `sim::report::gallery`).

use sim::report::gallery::{check, generate, GALLERY_SEED};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The repository root: the parent of the xtask crate.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the repo").to_path_buf()
}

/// Runs the command: `--check` verifies, no argument regenerates.
pub fn run(args: &[String]) -> ExitCode {
    let root = root();
    let (scenarios, reports) = (root.join("scenarios"), root.join("reports"));
    match args.first().map(String::as_str) {
        Some("--check") => {
            let problems = check(sim::systems::builtin(), &scenarios, &reports, GALLERY_SEED);
            if problems.is_empty() {
                println!("reports: up to date");
                return ExitCode::SUCCESS;
            }
            for p in &problems {
                eprintln!("reports: {p}");
            }
            ExitCode::FAILURE
        }
        None => match generate(sim::systems::builtin(), &scenarios, &reports, GALLERY_SEED) {
            Ok(entries) => {
                for e in &entries {
                    let left_out = if e.left_out.is_empty() {
                        String::new()
                    } else {
                        format!(" (left out for size: {})", e.left_out.join(", "))
                    };
                    println!(
                        "reports/{}: trace {}{left_out}",
                        e.report.scenario, e.report.trace_hash
                    );
                }
                println!("reports/README.md: {} scenarios", entries.len());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("reports: {e}");
                ExitCode::FAILURE
            }
        },
        Some(other) => {
            eprintln!("xtask reports: unknown argument `{other}` (expected nothing or --check)");
            ExitCode::from(2)
        }
    }
}
