//! The `sim` command line: thin, it parses arguments and calls the library.
//!
//! [`main`] runs it for sim's own systems; [`main_with`] for a user's own list, so a crate
//! that registers its systems gets every command, replays and shrinks included:
//!
//! ```no_run
//! # use sim::protocols::raft::Raft as MySystem;
//! fn main() -> std::process::ExitCode {
//!     sim::cli::main_with(&[sim::system::<MySystem>()])
//! }
//! ```
//!
//! Exit codes: 0 every check passed; 1 a check failed (the simulator found a bug; the seed and the
//! check are printed); 2 bad usage or bad input; 3 sim itself failed (a bug in sim, not in the
//! protocol under test).

mod check;
mod output;
mod record;
mod shrink;
mod sweep;

use crate::engine::TraceWriter;
use crate::registry::{Entry, Registry};
use crate::scenario::{Scenario, ScenarioError};
use crate::sim::{RunOptions, RunOutput};
use clap::{Parser, Subcommand};
use output::{print_human, write_run_dir};
use record::RunRecord;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit code: every check passed.
pub const EXIT_PASS: u8 = 0;
/// Exit code: a check failed.
pub const EXIT_CHECK_FAILED: u8 = 1;
/// Exit code: bad usage or bad input.
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit code: sim itself failed.
pub const EXIT_INTERNAL: u8 = 3;

#[derive(Parser)]
#[command(
    name = "sim",
    version,
    about = "A deterministic discrete-event cluster simulator",
    long_about = "A deterministic discrete-event cluster simulator. One process, one seed, one \
        virtual clock: nodes, clocks, disks and links are state machines driven by a seeded \
        scheduler, so a failing run replays exactly.\n\n\
        Exit codes: 0 every check passed; 1 a check failed (the simulator found a bug: the seed \
        and the failed check are printed); 2 bad usage or bad input; 3 sim itself failed."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one seed of a scenario and judge it.
    Run(RunArgs),
    /// Re-run a recorded run (a run.json or a failures.jsonl line) and verify its trace hash.
    Replay(ReplayArgs),
    /// Run many seeds of a scenario in parallel; write failures.jsonl, seeds.jsonl, summary.json.
    Sweep(sweep::SweepArgs),
    /// Combine the result folders of sharded sweeps into one.
    Merge(sweep::MergeArgs),
    /// Shrink a failing seed's scenario to a small one that fails the same check.
    Shrink(shrink::ShrinkArgs),
    /// Check a history file (sim's JSON Lines or Jepsen EDN) for linearizability.
    Check(check::CheckArgs),
    /// List the systems a scenario can run.
    Systems,
}

#[derive(clap::Args)]
struct RunArgs {
    /// The scenario file (TOML).
    scenario: PathBuf,
    /// The seed: the same scenario and seed give the same run, bit for bit. Default: the
    /// scenario's `[expect] seed`, else 1.
    #[arg(long)]
    seed: Option<u64>,
    /// Write the run's files here: summary.json, history.jsonl, run.json, plots (latency,
    /// throughput, quantiles, message sequence; SVG and PNG), timeline.html (the history,
    /// interactive), history.edn (Jepsen), and of the trace only what the sequence diagram
    /// shows: trace-window.jsonl and chrome-trace.json (Perfetto) hold the messages of its
    /// window (plus every fault and client operation). Add --trace for the whole trace.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write the full trace: OUT/trace.jsonl and a chrome-trace.json of all of it with --out
    /// (tens of MB for a minute of virtual time), or ./trace.jsonl without --out.
    #[arg(long)]
    trace: bool,
    /// Print the summary as one JSON object on stdout instead of text.
    #[arg(long)]
    json: bool,
    /// Override one scenario key, e.g. --set network.loss=0.05 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
}

#[derive(clap::Args)]
struct ReplayArgs {
    /// A run record: OUT/run.json of `sim run`, or a sweep's failures.jsonl.
    file: PathBuf,
    /// Which record of a JSON Lines file to replay (0-based).
    #[arg(long, default_value_t = 0)]
    index: usize,
    /// Where to write the trace, history and summary (default: next to FILE).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

/// A failure of the command itself, with the exit code it maps to.
pub struct Failure {
    code: u8,
    message: String,
}

impl From<ScenarioError> for Failure {
    fn from(e: ScenarioError) -> Self {
        Failure { code: EXIT_BAD_INPUT, message: e.to_string() }
    }
}

fn bad_input(message: impl Into<String>) -> Failure {
    Failure { code: EXIT_BAD_INPUT, message: message.into() }
}

/// The `sim` binary: the command line for sim's own systems.
pub fn main() -> ExitCode {
    main_with(crate::systems::BUILTIN)
}

/// The whole command line (`run`, `sweep`, `replay`, `shrink`, `merge`, `check`, `systems`)
/// for the systems `systems` (each made with [`crate::system`]).
pub fn main_with(systems: &[Entry]) -> ExitCode {
    let reg = Registry::new(systems);
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_BAD_INPUT } else { EXIT_PASS });
        }
    };
    let result = std::panic::catch_unwind(|| match cli.command {
        Command::Run(args) => run(reg, args),
        Command::Replay(args) => replay(reg, args),
        Command::Sweep(args) => sweep::sweep(reg, args),
        Command::Merge(args) => sweep::merge(args),
        Command::Shrink(args) => shrink::shrink(reg, args),
        Command::Check(args) => check::check(args),
        Command::Systems => {
            for entry in reg.entries {
                println!("{:<12} {}", entry.name, entry.about);
                let ops: Vec<String> =
                    entry.describe().ops.iter().map(|(op, w)| format!("{op} ({w})")).collect();
                println!("{:<12} operations (default mix): {}", "", ops.join(", "));
            }
            Ok(EXIT_PASS)
        }
    });
    match result {
        Ok(Ok(code)) => ExitCode::from(code),
        Ok(Err(failure)) => {
            eprintln!("sim: {}", failure.message);
            ExitCode::from(failure.code)
        }
        Err(_) => {
            eprintln!(
                "sim: internal error: sim itself failed (a bug in sim, not in the protocol under \
                 test); please report it with the command line above"
            );
            ExitCode::from(EXIT_INTERNAL)
        }
    }
}

/// Loads a scenario and checks its system settings: every input error surfaces here, as exit 2.
pub fn load_scenario(
    reg: Registry<'_>,
    path: &Path,
    overrides: &[String],
) -> Result<Scenario, Failure> {
    let scenario = Scenario::load(path, overrides)?;
    reg.validate(&scenario, path)?;
    Ok(scenario)
}

/// Runs one seed, timing it with the wall clock (the only place sim reads it).
pub fn run_seed(
    reg: Registry<'_>,
    scenario: &Scenario,
    path: &Path,
    seed: u64,
    trace: Option<&Path>,
) -> Result<RunOutput, Failure> {
    let options = match trace {
        None => RunOptions::default(),
        Some(file) => {
            let f = std::fs::File::create(file)
                .map_err(|e| bad_input(format!("{}: cannot create: {e}", file.display())))?;
            RunOptions { trace: Some(TraceWriter::new(Box::new(std::io::BufWriter::new(f)))) }
        }
    };
    let (output, wall_ms) = wall_clock_ms(|| reg.run(scenario, path, seed, options));
    let mut output = output?;
    output.report.wall_ms = wall_ms;
    Ok(output)
}

#[allow(clippy::disallowed_methods, clippy::disallowed_types)] // timing the run, outside it
fn wall_clock_ms<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let start = std::time::Instant::now();
    let value = f();
    (value, start.elapsed().as_millis() as u64)
}

/// Creates `dir` and its parents; an error names the folder.
pub fn create_dir(dir: &Path) -> Result<(), Failure> {
    std::fs::create_dir_all(dir)
        .map_err(|e| bad_input(format!("{}: cannot create: {e}", dir.display())))
}

fn exit_code(output: &RunOutput) -> u8 {
    if output.report.passed {
        EXIT_PASS
    } else {
        EXIT_CHECK_FAILED
    }
}

fn run(reg: Registry<'_>, args: RunArgs) -> Result<u8, Failure> {
    let scenario = load_scenario(reg, &args.scenario, &args.overrides)?;
    if let Some(out) = &args.out {
        create_dir(out)?;
    }
    // With --out the trace is always recorded (the sequence diagram reads it), but kept whole
    // only with --trace; see `output::trace_file`.
    let trace_file = match (&args.out, args.trace) {
        (Some(out), full) => Some(output::trace_file(out, full)),
        (None, true) => Some(PathBuf::from("trace.jsonl")),
        (None, false) => None,
    };
    let seed = args.seed.or(scenario.expect.seed).unwrap_or(1);
    let output = run_seed(reg, &scenario, &args.scenario, seed, trace_file.as_deref())?;
    let record = RunRecord::new(&args.scenario, &scenario, &args.overrides, &output);
    if let Some(out) = &args.out {
        write_run_dir(out, &scenario, &output, &record)?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&output.report).expect("report serialises"));
    } else {
        print_human(&args.scenario, &scenario, &output, &args.overrides);
    }
    Ok(exit_code(&output))
}

fn replay(reg: Registry<'_>, args: ReplayArgs) -> Result<u8, Failure> {
    let record = RunRecord::read(&args.file, args.index)?;
    let path = record.scenario_path(&args.file);
    let scenario = load_scenario(reg, &path, &record.overrides)?;
    if scenario.hash() != record.scenario_hash {
        eprintln!(
            "sim: warning: the scenario changed since the run was recorded (hash {} now, {} \
             then): the replay may differ",
            scenario.hash(),
            record.scenario_hash
        );
    }
    let out = args.out.unwrap_or_else(|| {
        let dir = args.file.parent().unwrap_or(Path::new("."));
        dir.join(format!("replay-{}-seed{}", scenario.name, record.seed))
    });
    create_dir(&out)?;
    let output = run_seed(reg, &scenario, &path, record.seed, Some(&out.join("trace.jsonl")))?;
    let fresh = RunRecord::new(&path, &scenario, &record.overrides, &output);
    write_run_dir(&out, &scenario, &output, &fresh)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&output.report).expect("report serialises"));
    } else {
        print_human(&path, &scenario, &output, &record.overrides);
    }
    verdict(&record, &output, args.json);
    let say = if args.json { |l: &str| eprintln!("{l}") } else { |l: &str| println!("{l}") };
    say(&format!("replay: trace, history and summary written to {}", out.display()));
    Ok(exit_code(&output))
}

/// Compares a replay with its record: the trace hash and the failed check must be the same.
/// Printed on stderr with `--json` so stdout stays one JSON object.
fn verdict(record: &RunRecord, output: &RunOutput, json: bool) {
    let say = if json { |l: &str| eprintln!("{l}") } else { |l: &str| println!("{l}") };
    let replayed = &output.report.trace_hash;
    if *replayed == record.trace_hash {
        say(&format!("replay: trace hash {replayed} matches the recorded run"));
    } else {
        say(&format!(
            "replay: !!! TRACE HASH MISMATCH !!! recorded {}, replayed {replayed}: the code or \
             the scenario changed since the run was recorded, so this is a different run",
            record.trace_hash
        ));
    }
    let check = output.first_failure().map_or("", |c| c.name.as_str());
    if check != record.check {
        let name = |c: &str| if c.is_empty() { "none".to_string() } else { format!("`{c}`") };
        say(&format!(
            "replay: !!! CHECK MISMATCH !!! the recorded run failed {}, the replay failed {}",
            name(&record.check),
            name(check)
        ));
    } else if let Some(failed) = output.first_failure() {
        say(&format!("replay: check `{}` failed again: {}", failed.name, failed.detail));
    }
}
