//! Project automation: `cargo xtask bench`, `reports`, `storage`, `encoding`.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // xtask times things with the wall clock

mod bench;
mod encoding;
mod reports;
mod storage;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  bench      run the benchmarks; prints one line per benchmark: `bench NAME VALUE UNIT`
  reports    regenerate reports/ (every scenario at seed 1); `reports --check` verifies it
  storage    regenerate reports/storage/ (engine figures); `storage --check` verifies it
  encoding   regenerate reports/encoding/ (sizes against JSON and postcard); `--check` verifies";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("bench") => bench::run(&args[1..]),
        Some("reports") => reports::run(&args[1..]),
        Some("storage") => storage::run(&args[1..]),
        Some("encoding") => encoding::run(&args[1..]),
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
