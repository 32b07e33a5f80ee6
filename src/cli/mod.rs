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
mod schema;
mod shrink;
mod sweep;
mod txn_script;

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
    /// Re-run a recorded run (a run.json or a failures.jsonl line) from the scenario the record
    /// holds, and verify its trace hash and failed check: exit 0 or 1 as recorded when both
    /// match, 1 when they differ (a different run), 3 when the same build gave another trace.
    Replay(ReplayArgs),
    /// Run many seeds of a scenario in parallel; write failures.jsonl, seeds.jsonl, summary.json.
    Sweep(sweep::SweepArgs),
    /// Combine the result folders of sharded sweeps into one.
    Merge(sweep::MergeArgs),
    /// Shrink a failing seed's scenario to a small one that fails the same check.
    Shrink(shrink::ShrinkArgs),
    /// Check a history file (sim's JSON Lines or Jepsen EDN): linearizability, or a transaction
    /// history's isolation anomalies (`--model list-append|rw-register`, as Elle).
    Check(check::CheckArgs),
    /// Check schema files of the binary encoding: `sim schema check OLD NEW`.
    #[command(subcommand)]
    Schema(schema::SchemaCommand),
    /// Run a transaction script (scenarios/txn/) at one isolation level: each step's result.
    TxnScript(txn_script::TxnScriptArgs),
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
    /// interactive), history.edn and results.edn (Jepsen), and of the trace only what the
    /// sequence diagram shows: trace-window.jsonl and chrome-trace.json (Perfetto) hold the
    /// messages of its window (plus every fault and client operation). Add --trace for the
    /// whole trace.
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
    // Output piped into `head` and cut short is not a bug in sim: no backtrace for it.
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !panic_text(info.payload()).is_some_and(is_broken_pipe) {
            report(info);
        }
    }));
    let result = std::panic::catch_unwind(|| match cli.command {
        Command::Run(args) => run(reg, args),
        Command::Replay(args) => replay(reg, args),
        Command::Sweep(args) => sweep::sweep(reg, args),
        Command::Merge(args) => sweep::merge(args),
        Command::Shrink(args) => shrink::shrink(reg, args),
        Command::Check(args) => check::check(args),
        Command::Schema(command) => schema::schema(command),
        Command::TxnScript(args) => txn_script::txn_script(args),
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
        // 141 = 128 + SIGPIPE, what a shell reports for a program its reader stopped.
        Err(payload) if panic_text(&*payload).is_some_and(is_broken_pipe) => ExitCode::from(141),
        Err(_) => {
            eprintln!(
                "sim: internal error: sim itself failed (a bug in sim, not in the protocol under \
                 test); please report it with the command line above"
            );
            ExitCode::from(EXIT_INTERNAL)
        }
    }
}

/// Whether a panic message is `print!`'s on a closed pipe (the reader, such as `head`, quit).
fn is_broken_pipe(text: &str) -> bool {
    text.starts_with("failed printing to stdout") && text.contains("Broken pipe")
}

/// A panic payload's message, when it has one.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
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
    run_seed_with(reg, scenario, path, seed, trace, false)
}

/// [`run_seed`], showing how far the run got on stderr when `progress` is set and stderr is
/// a terminal (a long run says how long it will take instead of going silent).
pub fn run_seed_with(
    reg: Registry<'_>,
    scenario: &Scenario,
    path: &Path,
    seed: u64,
    trace: Option<&Path>,
    progress: bool,
) -> Result<RunOutput, Failure> {
    let mut options = match trace {
        None => RunOptions::default(),
        Some(file) => {
            let f = std::fs::File::create(file)
                .map_err(|e| bad_input(format!("{}: cannot create: {e}", file.display())))?;
            RunOptions::with_trace(TraceWriter::new(Box::new(std::io::BufWriter::new(f))))
        }
    };
    let show = progress && std::io::IsTerminal::is_terminal(&std::io::stderr());
    if show {
        options.progress = Some(progress_line(seed));
    }
    let (output, wall_ms) = wall_clock_ms(|| reg.run(scenario, path, seed, options));
    if show {
        eprint!("\r\x1b[K"); // clear the progress line, if one was drawn
    }
    let mut output = output?;
    output.report.wall_ms = wall_ms;
    Ok(output)
}

/// A progress reporter for one seed: virtual time reached, events and events per second, and
/// the wall time left at this pace, on one rewritten stderr line.
#[allow(clippy::disallowed_methods, clippy::disallowed_types)] // the wall clock, outside the run
fn progress_line(seed: u64) -> Box<dyn FnMut(crate::sim::RunProgress)> {
    let start = std::time::Instant::now();
    Box::new(move |p| {
        let wall_s = start.elapsed().as_secs_f64().max(1e-3);
        let done = p.virtual_ns as f64 / p.end_ns.max(1) as f64;
        let left_s = if done > 0.0 { wall_s * (1.0 - done) / done } else { 0.0 };
        eprint!(
            "\rseed {seed}: {} of {} virtual, {:.1}M events, {:.2}M events/s, about {:.0}s left   ",
            crate::engine::format_nanos(p.virtual_ns),
            crate::engine::format_nanos(p.end_ns),
            p.events as f64 / 1e6,
            p.events as f64 / 1e6 / wall_s,
            left_s
        );
    })
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
    // Before the run, so a run that hangs or is killed still names its seed.
    eprintln!("seed {seed}: running {}", args.scenario.display());
    let output = run_seed_with(reg, &scenario, &args.scenario, seed, trace_file.as_deref(), true)?;
    let record = RunRecord::new(&args.scenario, &scenario, &args.overrides, &output);
    if let Some(out) = &args.out {
        write_run_dir(out, &scenario, &output, &record)?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&output.report).expect("report serialises"));
    } else {
        let rerun = output::rerun_command(&args.scenario, seed, &args.overrides);
        print_human(&scenario, &output, &format!("{rerun} --out replay-{seed}"));
    }
    Ok(exit_code(&output))
}

/// Runs `sim replay`: re-runs the scenario embedded in the record and compares. The exit code
/// is the run's own (0 passed, 1 a check failed) when the trace hash and the failed check both
/// match the record; 1 when they do not (the recorded outcome did not recur: a different run);
/// 3 when the same scenario on the same build (version and clean commit) gave another trace:
/// a determinism bug in sim.
fn replay(reg: Registry<'_>, args: ReplayArgs) -> Result<u8, Failure> {
    let record = RunRecord::read(&args.file, args.index)?;
    let path = record.scenario_path(&args.file);
    let (scenario, notes) = replayed_scenario(reg, &record, &args, &path)?;
    let out = args.out.clone().unwrap_or_else(|| {
        let dir = args.file.parent().unwrap_or(Path::new("."));
        dir.join(format!("replay-{}-seed{}", scenario.name, record.seed))
    });
    create_dir(&out)?;
    let shown = format!("{} --index {}", args.file.display(), args.index);
    eprintln!("seed {}: replaying {shown} (scenario {})", record.seed, scenario.name);
    let output = run_seed(reg, &scenario, &path, record.seed, Some(&out.join("trace.jsonl")))?;
    let fresh = RunRecord::new(&record.scenario, &scenario, &record.overrides, &output);
    write_run_dir(&out, &scenario, &output, &fresh)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&output.report).expect("report serialises"));
    } else {
        let file = output::shell_word(&args.file.display().to_string());
        print_human(&scenario, &output, &format!("sim replay {file} --index {}", args.index));
    }
    let say = if args.json { |l: &str| eprintln!("{l}") } else { |l: &str| println!("{l}") };
    for note in &notes {
        say(&format!("replay: {note}"));
    }
    let code = verdict(&record, &scenario, &output, say);
    say(&format!("replay: trace, history and summary written to {}", out.display()));
    Ok(code)
}

/// The scenario a replay runs: the one embedded in the record; for a record from before
/// scenarios were embedded, the scenario file. Also notes on the file as it is now.
fn replayed_scenario(
    reg: Registry<'_>,
    record: &RunRecord,
    args: &ReplayArgs,
    path: &Path,
) -> Result<(Scenario, Vec<String>), Failure> {
    let mut notes = Vec::new();
    if record.scenario_text.is_empty() {
        let scenario = load_scenario(reg, path, &record.overrides)?;
        if scenario.hash() != record.scenario_hash {
            notes.push(format!(
                "{} changed since the run was recorded (scenario hash {} now, {} then) and this \
                 record (from sim {}) does not hold the scenario it ran: this is a different run",
                path.display(),
                scenario.hash(),
                record.scenario_hash,
                record.version
            ));
        }
        return Ok((scenario, notes));
    }
    let origin = PathBuf::from(format!(
        "{} (record {}, its scenario_text)",
        args.file.display(),
        args.index
    ));
    let scenario = Scenario::parse(&record.scenario_text, &origin, &[])?;
    reg.validate(&scenario, &origin)?;
    if scenario.hash() != record.scenario_hash {
        notes.push(format!(
            "the record's scenario_text hashes to {}, but the record says {}: the record was \
             edited",
            scenario.hash(),
            record.scenario_hash
        ));
    }
    let rerun = output::rerun_command(path, record.seed, &record.overrides);
    match Scenario::load(path, &record.overrides) {
        Ok(now) if now.hash() == record.scenario_hash => {}
        Ok(now) => notes.push(format!(
            "{} changed since the run was recorded (scenario hash {} now, {} then); replaying \
             the scenario as recorded (embedded in the record); `{rerun}` runs the file as it \
             is now",
            path.display(),
            now.hash(),
            record.scenario_hash
        )),
        Err(_) if !path.exists() => notes.push(format!(
            "{} is gone; replaying the scenario as recorded (embedded in the record)",
            path.display()
        )),
        Err(e) => notes.push(format!(
            "{} no longer loads ({e}); replaying the scenario as recorded (embedded in the \
             record)",
            path.display()
        )),
    }
    Ok((scenario, notes))
}

/// Compares a replay with its record (the trace hash and the failed check must both match),
/// says how, and returns the exit code (see [`replay`]).
fn verdict(record: &RunRecord, scenario: &Scenario, output: &RunOutput, say: fn(&str)) -> u8 {
    let replayed = &output.report.trace_hash;
    let check = output.first_failure().map_or("", |c| c.name.as_str());
    let name = |c: &str| if c.is_empty() { "passed".to_string() } else { format!("failed `{c}`") };
    if *replayed == record.trace_hash && check == record.check {
        say(&format!("replay: reproduced: trace hash {replayed} matches the recorded run"));
        match output.first_failure() {
            Some(failed) => {
                say(&format!("replay: check `{}` failed again: {}", failed.name, failed.detail))
            }
            None => say("replay: the run passed, as recorded"),
        }
        return exit_code(output);
    }
    let mut differences = Vec::new();
    if *replayed != record.trace_hash {
        differences.push(format!("trace hash {} recorded, {replayed} replayed", record.trace_hash));
    }
    if check != record.check {
        differences.push(format!(
            "the recorded run {}, the replay {}",
            name(&record.check),
            name(check)
        ));
    }
    let differences = differences.join("; ");
    let now = record::describe_build(record::VERSION, record::COMMIT);
    if record.same_build() && scenario.hash() == record.scenario_hash {
        say(&format!(
            "replay: !!! DETERMINISM BROKEN !!! the same scenario on the same build of sim \
             ({now}) gave a different run: {differences}. This is a bug in sim, not in the \
             protocol: please report it with the record"
        ));
        return EXIT_INTERNAL;
    }
    let why = if scenario.hash() != record.scenario_hash {
        "the scenario is not the recorded one".to_string()
    } else if record.version != record::VERSION || record.commit.as_deref() != record::COMMIT {
        format!("sim changed since the run was recorded ({} then, {now} now)", record.build())
    } else {
        format!("this build of sim ({now}) has no known clean commit, so its code may differ")
    };
    say(&format!("replay: !!! NOT REPRODUCED !!! {differences}: {why}; this is a different run"));
    EXIT_CHECK_FAILED
}
