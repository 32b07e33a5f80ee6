//! `sim txn-script FILE --level L [--json]`: run a transaction script (scenarios/txn/) at one
//! isolation level and print what each step did.

use super::{bad_input, Failure, EXIT_CHECK_FAILED, EXIT_PASS};
use crate::txn::script::{run, Script};
use crate::txn::{Bugs, Level};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct TxnScriptArgs {
    /// The script (TOML): the initial table, then [[step]]s of sessions taking turns.
    file: PathBuf,
    /// The isolation level every transaction runs at: read_uncommitted, read_committed,
    /// repeatable_read, snapshot_isolation, serializable or serializable_2pl.
    #[arg(long)]
    level: String,
    /// Switch one of the store's rules off (repeatable): no_first_committer_wins,
    /// no_rw_tracking.
    #[arg(long = "bug", value_name = "NAME")]
    bugs: Vec<String>,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

/// Runs `sim txn-script`: exit 0 when every step ran (whatever aborted), 1 when sessions
/// are left blocked forever, 2 for a bad script or argument.
pub fn txn_script(args: TxnScriptArgs) -> Result<u8, Failure> {
    let level: Level = args.level.parse().map_err(|e| bad_input(format!("--level: {e}")))?;
    let mut bugs = Bugs::default();
    for bug in &args.bugs {
        match bug.as_str() {
            "no_first_committer_wins" => bugs.no_first_committer_wins = true,
            "no_rw_tracking" => bugs.no_rw_tracking = true,
            other => {
                return Err(bad_input(format!(
                    "--bug `{other}`: expected no_first_committer_wins or no_rw_tracking"
                )))
            }
        }
    }
    let script = Script::load(&args.file).map_err(|e| bad_input(e.to_string()))?;
    let report = run(&script, level, bugs);
    if args.json {
        let json = report.to_json(&script);
        println!("{}", serde_json::to_string_pretty(&json).expect("report serialises"));
    } else {
        print!("{}", report.to_text(&script));
        if let Some(anomaly) = &script.anomaly {
            println!("{} ({}): {}", anomaly.id, anomaly.name, anomaly.verdict(&report));
        }
    }
    if report.stuck.is_empty() {
        Ok(EXIT_PASS)
    } else {
        eprintln!(
            "sim: {}: sessions {:?} are blocked and nothing is left to release them",
            args.file.display(),
            report.stuck
        );
        Ok(EXIT_CHECK_FAILED)
    }
}
