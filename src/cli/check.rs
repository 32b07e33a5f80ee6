//! `sim check FILE --model M`: linearizability of a history from a file (ours or Jepsen's).

use super::{bad_input, Failure, EXIT_CHECK_FAILED, EXIT_PASS};
use crate::check::history_file::{check_file_with, NilReads, ReadOptions};
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
    /// How an EDN `:ok` read of `nil` is read: `unknown` (Knossos's reading: it matches any
    /// state) or `absent` (the key held no value). Default: as the file declares in a leading
    /// `; nil-reads: NAME` comment (sim's history.edn says `absent`), else `unknown`.
    #[arg(long, value_name = "unknown|absent")]
    nil_reads: Option<String>,
    /// Print the verdict as JSON: {name, passed, detail}.
    #[arg(long)]
    json: bool,
}

/// Runs `sim check`: exit 0 linearizable, 1 not (or inconclusive), 2 unreadable input.
pub fn check(args: CheckArgs) -> Result<u8, Failure> {
    let model: ModelKind = args.model.parse().map_err(|e| bad_input(format!("--model: {e}")))?;
    let nil_reads = match args.nil_reads.as_deref() {
        None => None,
        Some("unknown") => Some(NilReads::Unknown),
        Some("absent") => Some(NilReads::Absent),
        Some(other) => {
            return Err(bad_input(format!("--nil-reads `{other}`: expected unknown or absent")))
        }
    };
    let options = ReadOptions { nil_reads };
    let (report, parsed) = check_file_with(&args.file, model, args.initial, options)
        .map_err(|e| bad_input(e.to_string()))?;
    let result = report.check_result();
    let note = (parsed.unknown_reads > 0).then(|| {
        format!(
            "note: {} :ok read(s) of nil taken as reads of unknown value and left out, as \
             Knossos does (--nil-reads absent: nil means the key held no value)",
            parsed.unknown_reads
        )
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&result).expect("verdict serialises"));
        if let Some(note) = note {
            eprintln!("{note}");
        }
    } else {
        let verdict = if result.passed { "linearizable" } else { "NOT linearizable" };
        println!("{}: {verdict} (model {})", args.file.display(), model.name());
        println!("{}", result.detail);
        if let Some(note) = note {
            println!("{note}");
        }
    }
    Ok(if result.passed { EXIT_PASS } else { EXIT_CHECK_FAILED })
}
