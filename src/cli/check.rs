//! `sim check FILE --model M`: linearizability of a history from a file (ours or Jepsen's), or,
//! with `--model list-append|rw-register`, Elle's transactional anomalies.

use super::{bad_input, Failure, EXIT_CHECK_FAILED, EXIT_PASS};
use crate::check::elle;
use crate::check::history_file::{check_file_with, NilReads, ReadOptions};
use crate::check::linearizability::ModelKind;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct CheckArgs {
    /// The history: sim's JSON Lines (one operation per line, as `sim run --out` writes
    /// history.jsonl) or a Jepsen/Knossos EDN history (`{:process 0, :type :invoke, :f :cas,
    /// :value [1 2]}` per line, or one vector or list of such maps).
    file: PathBuf,
    /// The model: `register` (read/write), `cas-register` (read/write/cas) or `kv` (get, put,
    /// cas, append on string keys, checked key by key) for linearizability; `list-append` or
    /// `rw-register` for transactions (Elle's checker).
    #[arg(long, default_value = "kv")]
    model: String,
    /// Transactions: the consistency models the history should satisfy, comma-separated
    /// (Elle's names: strict-serializable (default), serializable, snapshot-isolation,
    /// repeatable-read, read-committed, read-uncommitted, strong-session-serializable, ...).
    #[arg(long, value_name = "M[,M...]")]
    consistency_model: Vec<String>,
    /// Transactions: more anomalies to forbid, comma-separated (G0, G1c, G-single-item, ...).
    /// Given without --consistency-model, only these are looked for.
    #[arg(long, value_name = "A[,A...]")]
    anomalies: Vec<String>,
    /// rw-register: assume each key is linearizable (real-time order orders its versions).
    #[arg(long)]
    linearizable_keys: bool,
    /// rw-register: assume each key is sequentially consistent (process order orders its
    /// versions).
    #[arg(long)]
    sequential_keys: bool,
    /// rw-register: assume writes follow reads within a transaction.
    #[arg(long)]
    wfr_keys: bool,
    /// rw-register: the database's own commit order, as Elle's :transaction-order: the index of
    /// each transaction's completion record (its `id` in JSON Lines) and its position,
    /// `IDX:ORD,...`; each key's writes are ordered by their transactions' positions.
    #[arg(long, value_name = "IDX:ORD[,...]")]
    transaction_order: Vec<String>,
    /// The initial value of every key (default: nil, no value).
    #[arg(long)]
    initial: Option<String>,
    /// How an EDN `:ok` read of `nil` is read: `unknown` (Knossos's reading: it matches any
    /// state) or `absent` (the key held no value). Default: as the file declares in a leading
    /// `; nil-reads: NAME` comment (sim's history.edn says `absent`), else `unknown`.
    #[arg(long, value_name = "unknown|absent")]
    nil_reads: Option<String>,
    /// Print the verdict as JSON: {name, passed, detail}; for transactions {valid,
    /// anomaly_types, not, also_not, anomalies, counts, txns, edges}.
    #[arg(long)]
    json: bool,
}

/// Runs `sim check`: exit 0 linearizable, 1 not (or inconclusive), 2 unreadable input.
pub fn check(args: CheckArgs) -> Result<u8, Failure> {
    if let Ok(model) = args.model.parse::<elle::Model>() {
        return check_transactions(args, model);
    }
    let elle_only = !args.consistency_model.is_empty()
        || !args.anomalies.is_empty()
        || !args.transaction_order.is_empty()
        || args.linearizable_keys
        || args.sequential_keys
        || args.wfr_keys;
    if elle_only {
        return Err(bad_input(
            "--consistency-model, --anomalies, --linearizable-keys, --sequential-keys, --wfr-keys \
             and --transaction-order apply to --model list-append or rw-register",
        ));
    }
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

/// Comma-separated values of a repeatable option, empty items dropped.
fn list(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(String::from)
        .collect()
}

/// The options of a transactional check, from the command line.
fn elle_options(args: &CheckArgs, model: elle::Model) -> Result<elle::Options, Failure> {
    let mut options = elle::Options::default();
    let models = list(&args.consistency_model);
    let anomalies = list(&args.anomalies);
    if !models.is_empty() || !anomalies.is_empty() {
        options.consistency_models = models
            .iter()
            .map(|m| {
                elle::ConsistencyModel::named(m)
                    .map_err(|e| bad_input(format!("--consistency-model: {e}")))
            })
            .collect::<Result<_, _>>()?;
    }
    if !anomalies.is_empty() {
        let known = elle::models::all_anomalies();
        if let Some(unknown) = anomalies.iter().find(|a| !known.contains(a.as_str())) {
            let known: Vec<&str> = known.into_iter().collect();
            return Err(bad_input(format!(
                "--anomalies: unknown anomaly `{unknown}` (known: {})",
                known.join(", ")
            )));
        }
        options.anomalies = Some(anomalies);
    }
    let register_only = args.linearizable_keys
        || args.sequential_keys
        || args.wfr_keys
        || !args.transaction_order.is_empty();
    if register_only && model != elle::Model::RwRegister {
        return Err(bad_input(
            "--linearizable-keys, --sequential-keys, --wfr-keys and --transaction-order infer an \
             rw-register's version order: they need --model rw-register",
        ));
    }
    options.linearizable_keys = args.linearizable_keys;
    options.sequential_keys = args.sequential_keys;
    options.wfr_keys = args.wfr_keys;
    let pairs = list(&args.transaction_order);
    if !pairs.is_empty() {
        let mut order = BTreeMap::new();
        for pair in pairs {
            let parsed = pair
                .split_once(':')
                .and_then(|(i, o)| Some((i.parse::<u64>().ok()?, o.parse::<i64>().ok()?)));
            let Some((index, position)) = parsed else {
                return Err(bad_input(format!(
                    "--transaction-order `{pair}`: expected IDX:ORD (two integers)"
                )));
            };
            if order.insert(index, position).is_some() {
                return Err(bad_input(format!("--transaction-order: index {index} given twice")));
            }
        }
        options.transaction_order = Some(order);
    }
    Ok(options)
}

/// `sim check FILE --model list-append|rw-register`: exit 0 valid or unknown, 1 anomalies.
fn check_transactions(args: CheckArgs, model: elle::Model) -> Result<u8, Failure> {
    if args.initial.is_some() || args.nil_reads.is_some() {
        return Err(bad_input("--initial and --nil-reads apply to the linearizability models"));
    }
    let mut options = elle_options(&args, model)?;
    let parsed = elle::parse::read_file(&args.file, model).map_err(|e| bad_input(e.to_string()))?;
    options.key_names = parsed.key_names;
    let report = elle::check(&parsed.ops, model, &options);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report).expect("report serialises"));
    } else {
        let models: Vec<&str> = options.consistency_models.iter().map(|m| m.name()).collect();
        let mut against = models.join(", ");
        if let Some(extra) = &options.anomalies {
            against = if against.is_empty() {
                extra.join(", ")
            } else {
                format!("{against}; {}", extra.join(", "))
            };
        }
        println!("{}: model {}, checked against {against}", args.file.display(), model.name());
        print!("{}", report.render());
    }
    Ok(if report.valid == elle::Validity::False { EXIT_CHECK_FAILED } else { EXIT_PASS })
}
