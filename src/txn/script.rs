//! Transaction scripts: sessions taking turns at statements on one [`Store`], as Hermitage's
//! tests are written, run at one isolation level (`sim txn-script FILE --level L`).
//!
//! ```toml
//! table = [[1, 10], [2, 20]]          # the initial rows: [key, value]
//! [[step]]
//! session = 1
//! op = "begin"                        # begin | read | scan | insert | update | delete |
//!                                     # commit | abort
//! [[step]]
//! session = 2
//! op = "update"
//! where = "value % 3 = 0"             # or `key = K`; "true" | "value = N" | "value % N = M"
//! expr = "value + 5"                  # or `value = V`; "value + N" | "value - N" | "value * N"
//! [anomaly]                           # optional: when the script's anomaly happened
//! id = "G2-item"
//! name = "write skew"
//! committed = [1, 2]                  # every condition given must hold
//! returns = [{ step = 3, value = 10 },         # a read returned 10
//!            { step = 4, rows = [[1, 10]] },    # a scan returned these rows
//!            { step = 5, absent = true }]       # a read found no row
//! final = [[1, 11], [2, 21]]
//! ```
//!
//! Steps run strictly in file order. A statement that must wait blocks its session: the
//! session's later steps wait too and run, in file order, right after the blocked statement
//! completes, which happens right after the step that released it. `read` takes `key`;
//! `scan` takes `where`; `insert` takes `key` and `value` (it inserts nothing when the row
//! exists); `update` takes `key` or `where`, and `expr` or `value`; `delete` takes `key` or
//! `where`. A statement with `autocommit = true`, or any statement of a session outside an
//! explicit transaction (as in psql's autocommit mode), is its own one-statement transaction
//! at the script's level. A
//! session's `begin` inside its transaction, `commit`/`abort` outside one, `autocommit = true`
//! inside one, and a transaction the script never ends are errors in the script.
//!
//! After a statement fails (serialization failure or deadlock: the transaction is aborted)
//! the session's later statements are `skipped` up to its `commit` (skipped too: it rolls
//! back) or `abort` (`ok`). The report lists sessions by the fate of their explicit
//! transactions (a session with two is listed under each fate it met).

use super::{Bugs, Expr, Key, Level, Outcome, Pred, Store, Target, TxnError, TxnId};
use serde_json::{json, Value as Json};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::path::{Path, PathBuf};

/// A session's number, as the script writes it.
pub type SessionId = u32;

/// A parsed script.
#[derive(Clone, Debug, PartialEq)]
pub struct Script {
    /// The initial rows.
    pub table: Vec<(Key, i64)>,
    pub steps: Vec<Step>,
    /// When the anomaly the script shows happened, if it says.
    pub anomaly: Option<Anomaly>,
}

/// One step: a session's statement or transaction control.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub session: SessionId,
    pub op: Op,
    /// Whether the statement is its own transaction (also when the session is idle).
    pub autocommit: bool,
}

/// What a step does.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    Begin,
    Read(Key),
    Scan(Pred),
    Insert(Key, i64),
    Update(Target, Expr),
    Delete(Target),
    Commit,
    Abort,
}

impl Op {
    /// The `op` name the script uses.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Begin => "begin",
            Op::Read(_) => "read",
            Op::Scan(_) => "scan",
            Op::Insert(..) => "insert",
            Op::Update(..) => "update",
            Op::Delete(_) => "delete",
            Op::Commit => "commit",
            Op::Abort => "abort",
        }
    }
}

fn target_text(target: &Target) -> String {
    match target {
        Target::Key(k) => format!("key {k}"),
        Target::Where(p) => format!("where {p}"),
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Read(k) => write!(f, "read key {k}"),
            Op::Scan(p) => write!(f, "scan where {p}"),
            Op::Insert(k, v) => write!(f, "insert key {k} value {v}"),
            Op::Update(t, e) => write!(f, "update {} set {e}", target_text(t)),
            Op::Delete(t) => write!(f, "delete {}", target_text(t)),
            other => f.write_str(other.name()),
        }
    }
}

/// A script's statement of its anomaly: it happened when every condition given holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Anomaly {
    /// Its short name (Adya's or Hermitage's: `G0`, `G2-item`, ...).
    pub id: String,
    /// Its name in words.
    pub name: String,
    /// These sessions' explicit transactions committed.
    pub committed: Vec<SessionId>,
    /// These steps completed and returned these values.
    pub returns: Vec<(usize, Returned)>,
    /// The final table.
    pub final_table: Option<Vec<(Key, i64)>>,
}

/// What a completed step returned.
#[derive(Clone, Debug, PartialEq)]
pub enum Returned {
    /// begin, commit, abort.
    Nothing,
    /// A read's value (`None`: no such row).
    Value(Option<i64>),
    /// A scan's rows, sorted by key.
    Rows(Vec<(Key, i64)>),
    /// The keys an insert, update or delete changed, sorted.
    Keys(Vec<Key>),
}

/// A script that cannot be run: the file, the step (1-based) and the field, when known.
#[derive(Clone, Debug, PartialEq)]
pub struct ScriptError {
    pub file: PathBuf,
    pub step: Option<usize>,
    pub field: Option<String>,
    pub reason: String,
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.file.display())?;
        if let Some(step) = self.step {
            write!(f, "step {step}: ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.reason)
    }
}

impl std::error::Error for ScriptError {}

/// Builds errors naming one file.
struct Errors<'a> {
    file: &'a Path,
}

impl Errors<'_> {
    fn at(&self, step: Option<usize>, field: &str, reason: impl Into<String>) -> ScriptError {
        ScriptError {
            file: self.file.to_path_buf(),
            step,
            field: (!field.is_empty()).then(|| field.to_string()),
            reason: reason.into(),
        }
    }
}

const STEP_KEYS: &[&str] = &["session", "op", "key", "where", "expr", "value", "autocommit"];

impl Script {
    /// Reads and parses a script file.
    pub fn load(path: &Path) -> Result<Script, ScriptError> {
        let text = std::fs::read_to_string(path).map_err(|e| ScriptError {
            file: path.to_path_buf(),
            step: None,
            field: None,
            reason: format!("cannot read: {e}"),
        })?;
        Script::parse(&text, path)
    }

    /// Parses a script; `file` names it in errors.
    pub fn parse(text: &str, file: &Path) -> Result<Script, ScriptError> {
        let err = Errors { file };
        let doc: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            err.at(None, "", format!("not valid TOML: {}", e.message().trim()))
        })?;
        for key in doc.keys() {
            if !["table", "step", "anomaly"].contains(&key.as_str()) {
                return Err(err.at(None, key, "unknown key (expected table, step, anomaly)"));
            }
        }
        let table = match doc.get("table") {
            None => Vec::new(),
            Some(v) => pairs(v).map_err(|r| err.at(None, "table", r))?,
        };
        let mut keys = BTreeSet::new();
        for (k, _) in &table {
            if !keys.insert(*k) {
                return Err(err.at(None, "table", format!("key {k} appears twice")));
            }
        }
        let raw_steps = match doc.get("step") {
            None => return Err(err.at(None, "step", "no steps: add [[step]] tables")),
            Some(toml::Value::Array(steps)) => steps,
            Some(_) => return Err(err.at(None, "step", "expected [[step]] tables")),
        };
        let mut steps = Vec::new();
        for (i, raw) in raw_steps.iter().enumerate() {
            let toml::Value::Table(t) = raw else {
                return Err(err.at(Some(i + 1), "", "expected a table"));
            };
            steps.push(parse_step(t, &|field: &str, reason: String| {
                err.at(Some(i + 1), field, reason)
            })?);
        }
        check_sessions(&steps, &err)?;
        let anomaly = match doc.get("anomaly") {
            None => None,
            Some(toml::Value::Table(t)) => Some(parse_anomaly(t, &steps, &err)?),
            Some(_) => return Err(err.at(None, "anomaly", "expected a table")),
        };
        Ok(Script { table, steps, anomaly })
    }
}

fn int(v: &toml::Value) -> Result<i64, String> {
    v.as_integer().ok_or_else(|| format!("expected an integer, found {}", v.type_str()))
}

/// `[[k, v], ...]`.
fn pairs(v: &toml::Value) -> Result<Vec<(Key, i64)>, String> {
    let shape = "expected an array of [key, value] pairs of integers";
    let rows = v.as_array().ok_or(shape)?;
    rows.iter()
        .map(|row| match row.as_array().map(Vec::as_slice) {
            Some([k, v]) => Ok((k.as_integer().ok_or(shape)?, v.as_integer().ok_or(shape)?)),
            _ => Err(shape.to_string()),
        })
        .collect()
}

fn parse_step(
    t: &toml::Table,
    err: &dyn Fn(&str, String) -> ScriptError,
) -> Result<Step, ScriptError> {
    for key in t.keys() {
        if !STEP_KEYS.contains(&key.as_str()) {
            return Err(err(
                key,
                format!("unknown key (expected one of {})", STEP_KEYS.join(", ")),
            ));
        }
    }
    let session = match t.get("session") {
        None => return Err(err("session", "missing".into())),
        Some(v) => match int(v).map_err(|r| err("session", r))? {
            n @ 1..=1_000_000 => n as SessionId,
            n => return Err(err("session", format!("{n}: expected a number from 1"))),
        },
    };
    let name = match t.get("op") {
        None => return Err(err("op", "missing".into())),
        Some(toml::Value::String(s)) => s.as_str(),
        Some(v) => return Err(err("op", format!("expected a string, found {}", v.type_str()))),
    };
    let get_int = |field: &str| -> Result<Option<i64>, ScriptError> {
        t.get(field).map(|v| int(v).map_err(|r| err(field, r))).transpose()
    };
    let get_str = |field: &str| -> Result<Option<&str>, ScriptError> {
        t.get(field)
            .map(|v| {
                v.as_str()
                    .ok_or_else(|| err(field, format!("expected a string, found {}", v.type_str())))
            })
            .transpose()
    };
    let key = get_int("key")?;
    let pred = match get_str("where")? {
        None => None,
        Some(s) => Some(s.parse::<Pred>().map_err(|r| err("where", r))?),
    };
    let expr = match get_str("expr")? {
        None => None,
        Some(s) => Some(s.parse::<Expr>().map_err(|r| err("expr", r))?),
    };
    let value = get_int("value")?;
    let autocommit = match t.get("autocommit") {
        None => false,
        Some(toml::Value::Boolean(b)) => *b,
        Some(v) => {
            return Err(err(
                "autocommit",
                format!("expected true or false, found {}", v.type_str()),
            ))
        }
    };
    // Which fields each op takes; anything else given is an error naming it.
    let allowed: &[&str] = match name {
        "begin" | "commit" | "abort" => &[],
        "read" => &["key"],
        "scan" => &["where"],
        "insert" => &["key", "value"],
        "update" => &["key", "where", "expr", "value"],
        "delete" => &["key", "where"],
        other => {
            return Err(err(
                "op",
                format!(
                    "unknown op `{other}` (expected begin, read, scan, insert, update, delete, \
                     commit or abort)"
                ),
            ))
        }
    };
    for field in ["key", "where", "expr", "value"] {
        if t.contains_key(field) && !allowed.contains(&field) {
            return Err(err(field, format!("`{name}` takes no `{field}`")));
        }
    }
    if t.contains_key("autocommit") && allowed.is_empty() {
        return Err(err("autocommit", format!("only a statement can autocommit, not `{name}`")));
    }
    let missing = |field: &str| err(field, format!("missing: `{name}` needs it"));
    let target = || -> Result<Target, ScriptError> {
        match (key, &pred) {
            (Some(k), None) => Ok(Target::Key(k)),
            (None, Some(p)) => Ok(Target::Where(p.clone())),
            (Some(_), Some(_)) => Err(err("where", "give `key` or `where`, not both".into())),
            (None, None) => Err(err("key", format!("missing: `{name}` needs `key` or `where`"))),
        }
    };
    let op = match name {
        "begin" => Op::Begin,
        "commit" => Op::Commit,
        "abort" => Op::Abort,
        "read" => Op::Read(key.ok_or_else(|| missing("key"))?),
        "scan" => Op::Scan(pred.clone().ok_or_else(|| missing("where"))?),
        "insert" => {
            Op::Insert(key.ok_or_else(|| missing("key"))?, value.ok_or_else(|| missing("value"))?)
        }
        "update" => {
            let expr = match (expr, value) {
                (Some(e), None) => e,
                (None, Some(v)) => Expr::Set(v),
                (Some(_), Some(_)) => {
                    return Err(err("value", "give `expr` or `value`, not both".into()))
                }
                (None, None) => {
                    return Err(err("expr", "missing: `update` needs `expr` or `value`".into()))
                }
            };
            Op::Update(target()?, expr)
        }
        "delete" => Op::Delete(target()?),
        _ => unreachable!("checked above"),
    };
    Ok(Step { session, op, autocommit })
}

/// Each session's transactions must nest: begin, statements, commit or abort.
fn check_sessions(steps: &[Step], err: &Errors<'_>) -> Result<(), ScriptError> {
    let mut open: BTreeMap<SessionId, usize> = BTreeMap::new();
    for (i, step) in steps.iter().enumerate() {
        let n = i + 1;
        let s = step.session;
        match (&step.op, open.get(&s)) {
            (Op::Begin, Some(at)) => {
                return Err(err.at(
                    Some(n),
                    "op",
                    format!("session {s} is already in a transaction (begun at step {at})"),
                ))
            }
            (Op::Begin, None) => {
                open.insert(s, n);
            }
            (Op::Commit | Op::Abort, None) => {
                return Err(err.at(
                    Some(n),
                    "op",
                    format!("session {s} has no transaction to {}", step.op.name()),
                ))
            }
            (Op::Commit | Op::Abort, Some(_)) => {
                open.remove(&s);
            }
            (_, Some(at)) if step.autocommit => {
                return Err(err.at(
                    Some(n),
                    "autocommit",
                    format!("session {s} is in a transaction (begun at step {at})"),
                ))
            }
            _ => {}
        }
    }
    match open.iter().next() {
        Some((s, at)) => Err(err.at(
            Some(*at),
            "op",
            format!("session {s}'s transaction never ends: add its commit or abort"),
        )),
        None => Ok(()),
    }
}

fn parse_anomaly(
    t: &toml::Table,
    steps: &[Step],
    err: &Errors<'_>,
) -> Result<Anomaly, ScriptError> {
    const KEYS: &[&str] = &["id", "name", "committed", "returns", "final"];
    for key in t.keys() {
        if !KEYS.contains(&key.as_str()) {
            return Err(err.at(
                None,
                &format!("anomaly.{key}"),
                format!("unknown key (expected one of {})", KEYS.join(", ")),
            ));
        }
    }
    let text = |field: &str| -> Result<String, ScriptError> {
        match t.get(field) {
            Some(toml::Value::String(s)) => Ok(s.clone()),
            Some(v) => Err(err.at(
                None,
                &format!("anomaly.{field}"),
                format!("expected a string, found {}", v.type_str()),
            )),
            None => Err(err.at(None, &format!("anomaly.{field}"), "missing")),
        }
    };
    let (id, name) = (text("id")?, text("name")?);
    let sessions: BTreeSet<SessionId> = steps.iter().map(|s| s.session).collect();
    let committed = match t.get("committed") {
        None => Vec::new(),
        Some(v) => {
            let field = "anomaly.committed";
            let list =
                v.as_array().ok_or_else(|| err.at(None, field, "expected an array of sessions"))?;
            let mut out = Vec::new();
            for s in list {
                let s = int(s).map_err(|r| err.at(None, field, r))?;
                if !u32::try_from(s).is_ok_and(|s| sessions.contains(&s)) {
                    return Err(err.at(None, field, format!("no session {s} in the script")));
                }
                out.push(s as SessionId);
            }
            out
        }
    };
    let mut returns = Vec::new();
    if let Some(v) = t.get("returns") {
        let list = v
            .as_array()
            .ok_or_else(|| err.at(None, "anomaly.returns", "expected an array of tables"))?;
        for (i, item) in list.iter().enumerate() {
            let field = format!("anomaly.returns[{i}]");
            returns.push(parse_expected(item, steps, &field, err)?);
        }
    }
    let final_table = match t.get("final") {
        None => None,
        Some(v) => Some(pairs(v).map_err(|r| err.at(None, "anomaly.final", r))?),
    };
    if committed.is_empty() && returns.is_empty() && final_table.is_none() {
        return Err(err.at(None, "anomaly", "no condition: give committed, returns or final"));
    }
    Ok(Anomaly { id, name, committed, returns, final_table })
}

fn parse_expected(
    item: &toml::Value,
    steps: &[Step],
    field: &str,
    err: &Errors<'_>,
) -> Result<(usize, Returned), ScriptError> {
    let shape = "expected { step = N, value = V } (a read), { step = N, absent = true } (a read \
                 of no row) or { step = N, rows = [[k, v], ...] } (a scan)";
    let t = item.as_table().ok_or_else(|| err.at(None, field, shape))?;
    let step = t
        .get("step")
        .and_then(toml::Value::as_integer)
        .ok_or_else(|| err.at(None, field, shape))?;
    let op = usize::try_from(step)
        .ok()
        .filter(|&s| s >= 1)
        .and_then(|s| steps.get(s - 1))
        .map(|s| &s.op)
        .ok_or_else(|| err.at(None, field, format!("no step {step} in the script")))?;
    let expected = match (t.len(), t.get("value"), t.get("absent"), t.get("rows")) {
        (2, Some(v), None, None) if matches!(op, Op::Read(_)) => {
            Returned::Value(Some(int(v).map_err(|r| err.at(None, field, r))?))
        }
        (2, None, Some(toml::Value::Boolean(true)), None) if matches!(op, Op::Read(_)) => {
            Returned::Value(None)
        }
        (2, None, None, Some(rows)) if matches!(op, Op::Scan(_)) => {
            Returned::Rows(pairs(rows).map_err(|r| err.at(None, field, r))?)
        }
        _ => return Err(err.at(None, field, format!("{shape}; step {step} is a {}", op.name()))),
    };
    Ok((step as usize, expected))
}

/// What became of one step.
#[derive(Clone, Debug, PartialEq)]
pub enum StepResult {
    /// It ran.
    Ok(Returned),
    /// It failed; its transaction is aborted.
    Error(TxnError),
    /// Its session's transaction had already failed (a commit there rolls back).
    Skipped,
    /// It waited, and completed right after step `resumed_after` (`None`: never).
    Blocked { resumed_after: Option<usize>, then: Option<Box<StepResult>> },
    /// Its session was blocked; it ran right after step `ran_after` (`None`: never).
    Deferred { ran_after: Option<usize>, then: Option<Box<StepResult>> },
}

impl StepResult {
    /// How the step ended, past waits and deferrals (`None`: it never completed).
    pub fn outcome(&self) -> Option<&StepResult> {
        match self {
            StepResult::Blocked { then, .. } | StepResult::Deferred { then, .. } => {
                then.as_deref()?.outcome()
            }
            done => Some(done),
        }
    }

    /// Whether the step waited at some point.
    pub fn waited(&self) -> bool {
        match self {
            StepResult::Blocked { .. } => true,
            StepResult::Deferred { then, .. } => then.as_deref().is_some_and(StepResult::waited),
            _ => false,
        }
    }

    /// Fills in the innermost pending wait or deferral.
    fn complete(&mut self, after: usize, outcome: StepResult) {
        match self {
            StepResult::Blocked { resumed_after, then }
            | StepResult::Deferred { ran_after: resumed_after, then } => match then {
                Some(inner) => inner.complete(after, outcome),
                None => {
                    *resumed_after = Some(after);
                    *then = Some(Box::new(outcome));
                }
            },
            done => panic!("complete: the step already ended as {done:?}"),
        }
    }

    fn to_json(&self, out: &mut serde_json::Map<String, Json>) {
        match self {
            StepResult::Ok(returned) => {
                out.insert("result".into(), json!("ok"));
                match returned {
                    Returned::Nothing => {}
                    Returned::Value(v) => {
                        out.insert("returns".into(), json!(v));
                    }
                    Returned::Rows(rows) => {
                        out.insert("returns".into(), rows_json(rows));
                    }
                    Returned::Keys(keys) => {
                        out.insert("affected_keys".into(), json!(keys));
                    }
                }
            }
            StepResult::Error(e) => {
                out.insert("result".into(), json!("error"));
                out.insert("error".into(), json!(e.name()));
            }
            StepResult::Skipped => {
                out.insert("result".into(), json!("skipped"));
            }
            StepResult::Blocked { resumed_after, then } => {
                out.insert("result".into(), json!("blocked"));
                out.insert("resumed_after_step".into(), json!(resumed_after));
                out.insert("then".into(), then_json(then));
            }
            StepResult::Deferred { ran_after, then } => {
                out.insert("result".into(), json!("deferred"));
                out.insert("ran_after_step".into(), json!(ran_after));
                out.insert("then".into(), then_json(then));
            }
        }
    }

    fn describe(&self) -> String {
        match self {
            StepResult::Ok(Returned::Nothing) => "ok".into(),
            StepResult::Ok(Returned::Value(Some(v))) => format!("ok: {v}"),
            StepResult::Ok(Returned::Value(None)) => "ok: no row".into(),
            StepResult::Ok(Returned::Rows(rows)) => format!("ok: {}", rows_json(rows)),
            StepResult::Ok(Returned::Keys(keys)) => format!("ok: changed {keys:?}"),
            StepResult::Error(e) => format!("error: {e} (aborted)"),
            StepResult::Skipped => "skipped (the transaction had failed)".into(),
            StepResult::Blocked { resumed_after: Some(n), then } => {
                format!("blocked; resumed after step {n}: {}", then_text(then))
            }
            StepResult::Deferred { ran_after: Some(n), then } => {
                format!("deferred; ran after step {n}: {}", then_text(then))
            }
            StepResult::Blocked { resumed_after: None, .. } => "blocked; never resumed".into(),
            StepResult::Deferred { ran_after: None, .. } => "deferred; never ran".into(),
        }
    }
}

fn then_json(then: &Option<Box<StepResult>>) -> Json {
    match then {
        None => Json::Null,
        Some(r) => {
            let mut map = serde_json::Map::new();
            r.to_json(&mut map);
            Json::Object(map)
        }
    }
}

fn then_text(then: &Option<Box<StepResult>>) -> String {
    then.as_deref().map(StepResult::describe).unwrap_or_else(|| "never".into())
}

fn rows_json(rows: &[(Key, i64)]) -> Json {
    Json::Array(rows.iter().map(|(k, v)| json!([k, v])).collect())
}

/// The run of a script at one level.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    pub level: Level,
    /// One per step, in file order.
    pub steps: Vec<StepResult>,
    /// Sessions by the fate of their explicit transactions, sorted.
    pub committed: Vec<SessionId>,
    pub aborted: Vec<SessionId>,
    /// The committed table after every step.
    pub final_table: Vec<(Key, i64)>,
    /// Sessions still blocked when the script ran out: it can never finish. (The deadlock
    /// detector and the rule that every transaction ends should make this impossible; the
    /// runner still reports it rather than pretend.)
    pub stuck: Vec<SessionId>,
}

impl Report {
    /// The report as the JSON `sim txn-script --json` prints.
    pub fn to_json(&self, script: &Script) -> Json {
        let steps: Vec<Json> = self
            .steps
            .iter()
            .zip(&script.steps)
            .enumerate()
            .map(|(i, (result, step))| {
                let mut map = serde_json::Map::new();
                map.insert("step".into(), json!(i + 1));
                map.insert("session".into(), json!(step.session));
                map.insert("op".into(), json!(step.op.name()));
                result.to_json(&mut map);
                Json::Object(map)
            })
            .collect();
        let mut out = json!({
            "level": self.level.name(),
            "steps": steps,
            "committed": self.committed,
            "aborted": self.aborted,
            "final": rows_json(&self.final_table),
        });
        if !self.stuck.is_empty() {
            out["stuck"] = json!(self.stuck);
        }
        out
    }

    /// The report as a table for people.
    pub fn to_text(&self, script: &Script) -> String {
        let mut out = format!("level: {}\n", self.level);
        out += &format!("{:>4}  {:>7}  {:<32}  result\n", "step", "session", "op");
        for (i, (result, step)) in self.steps.iter().zip(&script.steps).enumerate() {
            let auto = if step.autocommit { " (autocommit)" } else { "" };
            let op = format!("{}{auto}", step.op);
            out +=
                &format!("{:>4}  {:>7}  {:<32}  {}\n", i + 1, step.session, op, result.describe());
        }
        out += &format!("committed: {:?}\naborted: {:?}\n", self.committed, self.aborted);
        out += &format!("final: {}\n", rows_json(&self.final_table));
        if !self.stuck.is_empty() {
            out += &format!("stuck: sessions {:?} wait forever\n", self.stuck);
        }
        out
    }
}

/// A session as the runner tracks it.
#[derive(Default)]
struct Session {
    /// Its explicit transaction, if one is open.
    txn: Option<TxnId>,
    /// That transaction failed: statements are skipped until its commit or abort.
    failed: bool,
    /// The one-statement transaction of a parked autocommit statement.
    auto: Option<TxnId>,
    /// The step whose statement is parked.
    blocked: Option<usize>,
    /// Later steps waiting for it, in file order.
    deferred: VecDeque<usize>,
}

/// Runs a script at `level` with the store's bug knobs.
pub fn run(script: &Script, level: Level, bugs: Bugs) -> Report {
    let mut runner = Runner {
        script,
        level,
        store: Store::new(bugs),
        sessions: BTreeMap::new(),
        results: vec![None; script.steps.len()],
        committed: BTreeSet::new(),
        aborted: BTreeSet::new(),
    };
    runner.store.load(script.table.iter().copied());
    for i in 0..script.steps.len() {
        let session = runner.session(i);
        if session.blocked.is_some() {
            session.deferred.push_back(i);
            runner.results[i] = Some(StepResult::Deferred { ran_after: None, then: None });
            continue;
        }
        let result = match runner.exec(i) {
            Some(done) => done,
            None => StepResult::Blocked { resumed_after: None, then: None },
        };
        runner.results[i] = Some(result);
        runner.wake(i + 1);
    }
    let stuck = runner.sessions.iter().filter(|(_, s)| s.blocked.is_some()).map(|(&id, _)| id);
    Report {
        level,
        stuck: stuck.collect(),
        steps: runner.results.into_iter().map(|r| r.expect("every step has a result")).collect(),
        committed: runner.committed.into_iter().collect(),
        aborted: runner.aborted.into_iter().collect(),
        final_table: runner.store.rows(),
    }
}

struct Runner<'a> {
    script: &'a Script,
    level: Level,
    store: Store<i64>,
    sessions: BTreeMap<SessionId, Session>,
    results: Vec<Option<StepResult>>,
    committed: BTreeSet<SessionId>,
    aborted: BTreeSet<SessionId>,
}

impl Runner<'_> {
    fn session(&mut self, i: usize) -> &mut Session {
        self.sessions.entry(self.script.steps[i].session).or_default()
    }

    /// Runs step `i`: its result, or `None` when its statement is parked (the session is
    /// then blocked on it).
    fn exec(&mut self, i: usize) -> Option<StepResult> {
        let step = &self.script.steps[i];
        let (id, level) = (step.session, self.level);
        let session = self.sessions.entry(id).or_default();
        match &step.op {
            Op::Begin => {
                session.txn = Some(self.store.begin(level));
                session.failed = false;
                Some(StepResult::Ok(Returned::Nothing))
            }
            Op::Commit => {
                let txn = session.txn.take().expect("checked: commit inside a transaction");
                if std::mem::take(&mut session.failed) {
                    return Some(StepResult::Skipped);
                }
                Some(match self.store.commit(txn) {
                    Outcome::Done(()) => {
                        self.committed.insert(id);
                        StepResult::Ok(Returned::Nothing)
                    }
                    Outcome::Failed(e) => {
                        self.aborted.insert(id);
                        StepResult::Error(e)
                    }
                    Outcome::Blocked => unreachable!("commit never waits"),
                })
            }
            Op::Abort => {
                let txn = session.txn.take().expect("checked: abort inside a transaction");
                session.failed = false;
                self.store.abort(txn);
                self.aborted.insert(id);
                Some(StepResult::Ok(Returned::Nothing))
            }
            op => {
                if session.failed {
                    return Some(StepResult::Skipped);
                }
                let explicit = session.txn;
                let txn = match explicit {
                    Some(t) => t,
                    None => *session.auto.get_or_insert_with(|| self.store.begin(level)),
                };
                let outcome = statement(&mut self.store, txn, op);
                let session = self.sessions.get_mut(&id).expect("exists");
                let result = match outcome {
                    Outcome::Blocked => {
                        session.blocked = Some(i);
                        return None;
                    }
                    Outcome::Failed(e) => {
                        match explicit {
                            Some(_) => {
                                session.failed = true;
                                self.aborted.insert(id);
                            }
                            None => session.auto = None,
                        }
                        StepResult::Error(e)
                    }
                    Outcome::Done(returned) => match explicit {
                        Some(_) => StepResult::Ok(returned),
                        None => {
                            session.auto = None;
                            match self.store.commit(txn) {
                                Outcome::Done(()) => StepResult::Ok(returned),
                                Outcome::Failed(e) => StepResult::Error(e),
                                Outcome::Blocked => unreachable!("commit never waits"),
                            }
                        }
                    },
                };
                Some(result)
            }
        }
    }

    /// Resumes every session the store released, and their deferred steps, right after
    /// step `after` (1-based); repeats while resuming releases more.
    fn wake(&mut self, after: usize) {
        loop {
            let woken = self.store.woken();
            if woken.is_empty() {
                return;
            }
            for txn in woken {
                let Some((&id, _)) = self.sessions.iter().find(|(_, s)| {
                    s.blocked.is_some() && (s.txn == Some(txn) || s.auto == Some(txn))
                }) else {
                    continue;
                };
                self.resume(id, after);
            }
        }
    }

    fn resume(&mut self, id: SessionId, after: usize) {
        let session = self.sessions.get_mut(&id).expect("exists");
        let parked = session.blocked.take().expect("blocked");
        let Some(done) = self.exec(parked) else { return }; // parked again
        self.complete(parked, after, done);
        loop {
            let session = self.sessions.get_mut(&id).expect("exists");
            let Some(next) = session.deferred.pop_front() else { return };
            match self.exec(next) {
                Some(done) => self.complete(next, after, done),
                None => {
                    let slot = self.results[next].as_mut().expect("deferred has a result");
                    slot.complete(after, StepResult::Blocked { resumed_after: None, then: None });
                    return;
                }
            }
        }
    }

    fn complete(&mut self, i: usize, after: usize, done: StepResult) {
        self.results[i].as_mut().expect("a pending step has a result").complete(after, done);
    }
}

/// Runs one statement on the store.
fn statement(store: &mut Store<i64>, t: TxnId, op: &Op) -> Outcome<Returned> {
    match op {
        Op::Read(k) => store.read(t, *k).map(Returned::Value),
        Op::Scan(p) => store.scan(t, p).map(Returned::Rows),
        Op::Insert(k, v) => store.insert(t, *k, *v).map(Returned::Keys),
        Op::Update(target, e) => {
            let e = *e;
            store.update(t, target, &move |v| e.apply(*v)).map(Returned::Keys)
        }
        Op::Delete(target) => store.delete(t, target).map(Returned::Keys),
        Op::Begin | Op::Commit | Op::Abort => unreachable!("not a statement"),
    }
}

/// Whether a script's anomaly happened in a run, and what stopped it if not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every condition of the anomaly held.
    Possible,
    /// Not every condition held; `how` is what the run did instead: a statement failed with
    /// `serialization_failure` or `deadlock`, or one `blocks` (waited), or neither.
    Prevented { how: Option<&'static str> },
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Possible => f.write_str("possible"),
            Verdict::Prevented { how: Some(how) } => write!(f, "prevented ({how})"),
            Verdict::Prevented { how: None } => f.write_str("prevented"),
        }
    }
}

impl Anomaly {
    /// Whether every condition holds in `report`.
    pub fn happened(&self, report: &Report) -> bool {
        let committed = self.committed.iter().all(|s| report.committed.contains(s));
        let returns = self.returns.iter().all(|(step, expected)| {
            report.steps[step - 1].outcome() == Some(&StepResult::Ok(expected.clone()))
        });
        let final_table = self.final_table.as_ref().is_none_or(|t| *t == report.final_table);
        committed && returns && final_table
    }

    /// Judges a run: possible, or prevented and how.
    pub fn verdict(&self, report: &Report) -> Verdict {
        if self.happened(report) {
            return Verdict::Possible;
        }
        let failed =
            |e: TxnError| report.steps.iter().any(|s| s.outcome() == Some(&StepResult::Error(e)));
        let how = if failed(TxnError::SerializationFailure) {
            Some("serialization_failure")
        } else if failed(TxnError::Deadlock) {
            Some("deadlock")
        } else if report.steps.iter().any(StepResult::waited) {
            Some("blocks")
        } else {
            None
        };
        Verdict::Prevented { how }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Script, String> {
        Script::parse(text, Path::new("t.toml")).map_err(|e| e.to_string())
    }

    const SKEW: &str = r#"
        table = [[1, 10], [2, 20]]
        [[step]]
        session = 1
        op = "begin"
        [[step]]
        session = 2
        op = "begin"
        [[step]]
        session = 1
        op = "read"
        key = 1
        [[step]]
        session = 2
        op = "update"
        key = 1
        value = 12
        [[step]]
        session = 1
        op = "update"
        key = 1
        expr = "value + 1"
        [[step]]
        session = 2
        op = "commit"
        [[step]]
        session = 1
        op = "commit"
        [[step]]
        session = 3
        op = "scan"
        where = "true"
        autocommit = true
        [anomaly]
        id = "P4"
        name = "lost update"
        committed = [1, 2]
    "#;

    #[test]
    fn a_blocked_session_resumes_after_the_step_that_released_it() {
        let script = parse(SKEW).unwrap();
        let si = run(&script, Level::SnapshotIsolation, Bugs::default());
        assert_eq!(
            si.steps[4],
            StepResult::Blocked {
                resumed_after: Some(6),
                then: Some(Box::new(StepResult::Error(TxnError::SerializationFailure)))
            }
        );
        assert_eq!(si.steps[6], StepResult::Skipped);
        assert_eq!((si.committed.clone(), si.aborted.clone()), (vec![2], vec![1]));
        assert_eq!(si.steps[7], StepResult::Ok(Returned::Rows(vec![(1, 12), (2, 20)])));
        assert_eq!(si.final_table, vec![(1, 12), (2, 20)]);
        let anomaly = script.anomaly.as_ref().unwrap();
        assert_eq!(anomaly.verdict(&si).to_string(), "prevented (serialization_failure)");
        let rc = run(&script, Level::ReadCommitted, Bugs::default());
        assert_eq!(rc.final_table, vec![(1, 13), (2, 20)], "re-read the committed 12");
        assert_eq!(anomaly.verdict(&rc), Verdict::Possible);
        let json = si.to_json(&script);
        assert_eq!(json["steps"][4]["then"]["error"], "serialization_failure");
        assert_eq!(json["steps"][4]["resumed_after_step"], 6);
        assert_eq!(json["steps"][6]["result"], "skipped");
        assert_eq!(json["final"], json!([[1, 12], [2, 20]]));
        assert!(si.to_text(&script).contains("blocked; resumed after step 6"));
    }

    #[test]
    fn deferred_steps_run_in_file_order_after_the_wait() {
        let script = parse(
            r#"
            table = [[1, 10]]
            [[step]]
            session = 1
            op = "begin"
            [[step]]
            session = 1
            op = "update"
            key = 1
            value = 11
            [[step]]
            session = 2
            op = "update"
            key = 1
            expr = "value * 2"
            [[step]]
            session = 2
            op = "read"
            key = 1
            [[step]]
            session = 1
            op = "commit"
            "#,
        )
        .unwrap();
        let r = run(&script, Level::ReadCommitted, Bugs::default());
        let ok = |v: Returned| Some(Box::new(StepResult::Ok(v)));
        assert_eq!(
            r.steps[2],
            StepResult::Blocked { resumed_after: Some(5), then: ok(Returned::Keys(vec![1])) }
        );
        assert_eq!(
            r.steps[3],
            StepResult::Deferred { ran_after: Some(5), then: ok(Returned::Value(Some(22))) }
        );
        assert_eq!(
            r.final_table,
            vec![(1, 22)],
            "autocommitted, as an idle session's statements are"
        );
        assert!(r.stuck.is_empty());
    }

    #[test]
    fn bad_scripts_name_the_step_and_the_field() {
        let step = |body: &str| format!("[[step]]\nsession = 1\n{body}\n");
        for (text, message) in [
            (
                step("op = \"scan\"\nwhere = \"value > 3\""),
                r#"t.toml: step 1: where: expected "true", "value = N" or "value % N = M""#,
            ),
            (step("op = \"read\""), "t.toml: step 1: key: missing: `read` needs it"),
            (step("op = \"read\"\nkey = 1\ncolour = 3"), "t.toml: step 1: colour: unknown key"),
            (step("op = \"fly\""), "t.toml: step 1: op: unknown op `fly`"),
            (
                step("op = \"read\"\nkey = \"a\""),
                "t.toml: step 1: key: expected an integer, found string",
            ),
            (step("op = \"update\"\nkey = 1"), "t.toml: step 1: expr: missing"),
            (
                step("op = \"update\"\nkey = 1\nexpr = \"value / 2\""),
                "t.toml: step 1: expr: expected",
            ),
            (step("op = \"commit\""), "t.toml: step 1: op: session 1 has no transaction to commit"),
            (step("op = \"begin\""), "t.toml: step 1: op: session 1's transaction never ends"),
            (
                step("op = \"begin\"\nautocommit = true"),
                "t.toml: step 1: autocommit: only a statement",
            ),
            (
                step("op = \"read\"\nkey = 1\nwhere = \"true\""),
                "t.toml: step 1: where: `read` takes no `where`",
            ),
            ("[[step]]\nop = \"begin\"\n".into(), "t.toml: step 1: session: missing"),
            ("tabel = []\n".into(), "t.toml: tabel: unknown key"),
            ("table = [[1]]\n".into(), "t.toml: table: expected an array of [key, value] pairs"),
            ("table = [[1, 2]]\n".into(), "t.toml: step: no steps"),
            (
                step("op = \"read\"\nkey = 1") + "[anomaly]\nid = \"x\"\nname = \"y\"\n",
                "t.toml: anomaly: no condition",
            ),
            (
                step("op = \"read\"\nkey = 1")
                    + "[anomaly]\nid = \"x\"\nname = \"y\"\nreturns = [{ step = 1, rows = [] }]\n",
                "t.toml: anomaly.returns[0]: expected",
            ),
            (
                step("op = \"read\"\nkey = 1")
                    + "[anomaly]\nid = \"x\"\nname = \"y\"\ncommitted = [4]\n",
                "t.toml: anomaly.committed: no session 4",
            ),
            ("table = [\n".into(), "t.toml: not valid TOML"),
        ] {
            let got = parse(&text).unwrap_err();
            assert!(got.starts_with(message), "{text}\ngot: {got}\nwant: {message}");
        }
        let two = step("op = \"begin\"")
            + &step("op = \"read\"\nkey = 1\nautocommit = true")
            + &step("op = \"abort\"");
        assert_eq!(
            parse(&two).unwrap_err(),
            "t.toml: step 2: autocommit: session 1 is in a transaction (begun at step 1)"
        );
    }
}
