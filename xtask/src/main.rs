//! Project automation: `cargo xtask bench`, `reports`, `storage`, `encoding`, `txn`, `storm`,
//! `mutants`.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // xtask times things with the wall clock

mod bench;
mod encoding;
mod mutants;
mod reports;
mod storage;
mod storm;
mod txn;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  bench      run the benchmarks; prints one line per benchmark: `bench NAME VALUE UNIT`
  reports    regenerate reports/ (every scenario at seed 1); `reports --check` verifies it
  storage    regenerate reports/storage/ (engine figures); `storage --check` verifies it
  encoding   regenerate reports/encoding/ (sizes against JSON and postcard); `--check` verifies
  txn        regenerate reports/txn/ (anomalies x isolation levels); `txn --check` verifies it
  storm      regenerate reports/storm/ (retry policies x load x slowdown: where the service
             becomes metastable); `storm --check` verifies it
  mutants    apply each Raft mutation of tests/mutants/, sweep the shipped scenarios, print
             `NAME killed SCENARIO SEED CHECK` or `NAME survived` and the kill rate, write
             reports/mutants/ [--seeds N] [--only NAME[,NAME]] [--scenarios A.toml,B.toml]
             [--no-shrink]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("bench") => bench::run(&args[1..]),
        Some("reports") => reports::run(&args[1..]),
        Some("storage") => storage::run(&args[1..]),
        Some("encoding") => encoding::run(&args[1..]),
        Some("txn") => txn::run(&args[1..]),
        Some("storm") => storm::run(&args[1..]),
        Some("mutants") => mutants::run(&args[1..]),
        Some("-h" | "--help" | "help") | None => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("xtask: unknown command `{other}`\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// Whether a figures command (`storage`, `encoding`, `txn`, `storm`) was given `--check`; exit 2 for anything
/// else.
fn check_flag(command: &str, args: &[String]) -> Result<bool, ExitCode> {
    match args.first().map(String::as_str) {
        None => Ok(false),
        Some("--check") if args.len() == 1 => Ok(true),
        Some(other) => {
            eprintln!("xtask {command}: unknown argument `{other}` (expected nothing or --check)");
            Err(ExitCode::from(2))
        }
    }
}

/// `--check` of a figures command: `reports/FOLDER/figures.json` must hold `json` exactly.
fn check_figures(command: &str, dir: &std::path::Path, json: &str) -> ExitCode {
    let folder = format!("reports/{command}");
    let figures = dir.join("figures.json");
    match std::fs::read_to_string(&figures) {
        Ok(old) if old == json => {
            println!("{folder}: up to date");
            ExitCode::SUCCESS
        }
        Ok(_) => {
            eprintln!("{folder}: figures.json differs: run `cargo xtask {command}`");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("{folder}: {}: {e}", figures.display());
            ExitCode::FAILURE
        }
    }
}
