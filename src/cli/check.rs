//! `sim check FILE --model M`: linearizability of a history from a file (ours or Jepsen's).

use super::{bad_input, Failure, EXIT_CHECK_FAILED, EXIT_PASS};
use crate::check::history_file::check_file;
use crate::check::linearizability::ModelKind;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct CheckArgs {
    /// The history: sim's JSON Lines (one operation per line, as `sim run --out` writes
    /// history.jsonl) or a Jepsen/Knossos EDN history (`{:process 0, :type :invoke, :f :cas,
    /// :value [1 2]}` per line, or one vector or list of such maps).
    file: PathBuf,
    /// The model: `register` (read/write), `cas-register` (read/write/cas) or `kv` (get, put,
    /// cas, append on string keys, checked key by key).
    #[arg(long, default_value = "kv")]
    model: String,
    /// The initial value of every key (default: nil, no value).
    #[arg(long)]
    initial: Option<String>,
    /// Print the verdict as JSON: {name, passed, detail}.
    #[arg(long)]
    json: bool,
}

/// Runs `sim check`: exit 0 linearizable, 1 not (or inconclusive), 2 unreadable input.
pub fn check(args: CheckArgs) -> Result<u8, Failure> {
    let model: ModelKind = args.model.parse().map_err(|e| bad_input(format!("--model: {e}")))?;
    let report =
        check_file(&args.file, model, args.initial).map_err(|e| bad_input(e.to_string()))?;
    let result = report.check_result();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&result).expect("verdict serialises"));
    } else {
        let verdict = if result.passed { "linearizable" } else { "NOT linearizable" };
        println!("{}: {verdict} (model {})", args.file.display(), model.name());
        println!("{}", result.detail);
    }
    Ok(if result.passed { EXIT_PASS } else { EXIT_CHECK_FAILED })
}
