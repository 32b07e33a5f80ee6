//! `cargo xtask txn [--check]`: every script of `scenarios/txn/` at every isolation level,
//! the anomaly matrix written to `reports/txn/` (`README.md` and `figures.json`, both from
//! `sim::txn::matrix`). Runs are deterministic, so `--check` verifies both files.

use sim::txn::matrix::{figures_json, matrix, readme};
use std::path::Path;
use std::process::ExitCode;

pub fn run(args: &[String]) -> ExitCode {
    let check = match crate::check_flag("txn", args) {
        Ok(check) => check,
        Err(code) => return code,
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let rows = match matrix(&root.join("scenarios/txn")) {
        Ok(rows) => rows,
        Err(e) => {
            eprintln!("xtask txn: {e}");
            return ExitCode::from(2);
        }
    };
    let (json, text) = (figures_json(&rows), readme(&rows));
    let dir = root.join("reports/txn");
    if check {
        let current = std::fs::read_to_string(dir.join("README.md")).is_ok_and(|old| old == text);
        if !current {
            eprintln!("reports/txn: README.md differs: run `cargo xtask txn`");
            return ExitCode::FAILURE;
        }
        return crate::check_figures("txn", &dir, &json);
    }
    let written = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(dir.join("figures.json"), &json))
        .and_then(|()| std::fs::write(dir.join("README.md"), &text));
    match written {
        Ok(()) => {
            println!("reports/txn: figures.json, README.md ({} anomalies)", rows.len());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("reports/txn: {e}");
            ExitCode::FAILURE
        }
    }
}
