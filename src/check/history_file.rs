//! History files, for `sim check FILE --model M [--initial V]`: sim's own JSON Lines, and the
//! EDN histories Jepsen and Knossos write. The format is detected from the first significant
//! character.
//!
//! # JSON Lines (sim's own format)
//!
//! One operation per line, exactly the serde form of [`HistoryOp`] (the last two examples are
//! wrapped here; in a file each operation is on one line):
//!
//! ```text
//! {"id":0,"client":1,"f":"put","key":"k","value":"v","invoke_ns":1,"complete_ns":5,"outcome":"ok"}
//! {"id":1,"client":2,"f":"get","key":"k","invoke_ns":2,"complete_ns":6,"outcome":"ok","read":"v"}
//! {"id":2,"client":3,"f":"cas","key":"k","from":"v","to":"w","invoke_ns":40,"complete_ns":50,
//!  "outcome":"info"}
//! {"id":3,"client":1,"f":"append","key":"k","value":"x","invoke_ns":41,"complete_ns":42,
//!  "outcome":"fail"}
//! ```
//!
//! `f` is `get`, `put`, `cas` or `append`; `put` and `append` carry `value`, `cas` carries
//! `from` (absent or `null`: "no value") and `to`; a completed `get` carries what it read in
//! `read` (absent or `null`: no value). Times are integer nanoseconds; `outcome` is `ok`,
//! `fail` (did not take effect) or `info` (unknown: may take effect at any time after
//! `invoke_ns`, or never). `id`s are unique; lines may come in any order. Blank lines and lines
//! starting with `#` or `//` are ignored.
//!
//! # EDN (Jepsen, Knossos)
//!
//! One map per line, or one vector `[...]` or list `(...)` of maps; `;` starts a comment:
//!
//! ```text
//! {:process 0, :type :invoke, :f :write, :value 1}
//! {:process 1, :type :invoke, :f :read, :value nil}
//! {:process 0, :type :ok,     :f :write, :value 1}
//! {:process 1, :type :ok,     :f :read,  :value 1}
//! {:process 2, :type :invoke, :f :cas,   :value [1 2]}
//! {:process 2, :type :info,   :f :cas,   :value [1 2]}
//! ```
//!
//! A completion (`:ok`, `:fail`, `:info`) pairs with the pending `:invoke` of the same
//! `:process`; an invocation never completed is `:info`. `:f` is `:read`/`:get`,
//! `:write`/`:put`, `:cas` (`:value [from to]`) or `:append`; a read's value is in its `:ok`
//! completion. Values print as text: `1`, `"s"` as `s`, `:kw` as `:kw`. `:time` (nanoseconds)
//! orders operations if every operation has it, else the position in the file does (then times
//! in reports are event positions, `@n`). Records of non-numeric processes (`:nemesis`) and
//! unknown fields (`:index`) are ignored.
//!
//! **Keys.** `:key` (any scalar) names an operation's key. Without it, a history is read in
//! `jepsen.independent`'s form, `:value [key value]` (a cas `[key [from to]]`), when *every*
//! invocation without `:key` has such a tuple: a 2-vector of a scalar key and a scalar or nil
//! (for a cas, a 2-vector); a read's `:ok` completion then carries `[key value-read]` for the
//! same key. Otherwise no value is a tuple, and operations without `:key` act on one key named
//! `register` (so `:cas [1 2]` is from 1 to 2, never a write to key 1). sim's own `history.edn`
//! is in the tuple form.
//!
//! **Reads of nil.** Knossos's models treat a read whose value is `nil` as a read of unknown
//! value (it matches any state), so by default an `:ok` read of `nil` constrains nothing and is
//! left out of the check, as Knossos does. Where `nil` means "the key held no value" (as in
//! sim's exports, whose first line declares `; nil-reads: absent`), the strict reading applies:
//! the read must see no value. A leading comment `; nil-reads: absent` or `; nil-reads:
//! unknown` chooses for a file; [`NilReads`] given to [`parse_history_with`] (`sim check
//! --nil-reads`) overrides it. Elsewhere (`:cas [nil 2]`) `nil` is no value, as in Knossos.

use crate::api::kv::Op;
use crate::api::kv::{History, HistoryOp};
use crate::check::edn::{self, Edn, EdnKind};
use crate::check::linearizability::{
    check_history_with, CheckOptions, LinearizabilityReport, ModelKind, TimeDisplay,
};
use crate::engine::Nanos;
use crate::workload::Outcome;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// Largest history file read, in bytes.
pub const HISTORY_FILE_BYTES_MAX: u64 = 1 << 30;
/// Most operations a history file may hold.
pub const HISTORY_OPS_MAX: usize = 10_000_000;
/// The key of operations in an EDN history without `:key`.
pub const EDN_DEFAULT_KEY: &str = "register";

/// A history file that cannot be read: which file, which line, why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryFileError {
    /// The file as named by the user.
    pub file: String,
    /// The line (1-based) at fault, if one is.
    pub line: Option<usize>,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for HistoryFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file, self.reason),
            None => write!(f, "{}: {}", self.file, self.reason),
        }
    }
}

impl std::error::Error for HistoryFileError {}

/// The formats a history file may be in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HistoryFormat {
    /// sim's own: one [`HistoryOp`] as JSON per line.
    JsonLines,
    /// Jepsen's and Knossos's EDN operation maps.
    Edn,
}

/// How an EDN `:ok` read of `nil` is read (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NilReads {
    /// A read of unknown value, as Knossos reads it: it matches any state, so it is left out.
    Unknown,
    /// A read of no value: the key must hold none.
    Absent,
}

impl NilReads {
    /// The name used in `; nil-reads: NAME` and `--nil-reads NAME`.
    pub fn name(self) -> &'static str {
        match self {
            NilReads::Unknown => "unknown",
            NilReads::Absent => "absent",
        }
    }
}

/// The comment that starts a file's `nil-reads` declaration (`; nil-reads: absent`).
pub const NIL_READS_COMMENT: &str = "; nil-reads:";

/// How to read a history file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// How EDN reads of `nil` are read; `None`: as the file declares, else [`NilReads::Unknown`].
    pub nil_reads: Option<NilReads>,
}

/// A history read from a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedHistory {
    /// The operations, ordered by invocation.
    pub history: History,
    /// The format it was in.
    pub format: HistoryFormat,
    /// Whether times are nanoseconds or positions in the file.
    pub times: TimeDisplay,
    /// For each operation of `history.ops`, the line it was invoked on.
    pub lines: Vec<usize>,
    /// How EDN reads of `nil` were read (JSON Lines: [`NilReads::Absent`]).
    pub nil_reads: NilReads,
    /// `:ok` reads of `nil` left out as reads of unknown value.
    pub unknown_reads: usize,
}

/// Reads the history in `path` and checks it against `model`, every key starting at `initial`.
pub fn check_file(
    path: &Path,
    model: ModelKind,
    initial: Option<String>,
) -> Result<LinearizabilityReport, HistoryFileError> {
    check_file_with(path, model, initial, ReadOptions::default()).map(|(report, _)| report)
}

/// [`check_file`] read with `options`; also returns the history as read.
pub fn check_file_with(
    path: &Path,
    model: ModelKind,
    initial: Option<String>,
    options: ReadOptions,
) -> Result<(LinearizabilityReport, ParsedHistory), HistoryFileError> {
    let parsed = read_history_file_with(path, options)?;
    let file = path.display().to_string();
    for (op, &line) in parsed.history.ops.iter().zip(&parsed.lines) {
        if !model.supports(&op.op) {
            let reason =
                format!("`{}` is not an operation of model {model} (try --model kv)", op.op.name());
            return Err(HistoryFileError { file, line: Some(line), reason });
        }
    }
    let options = CheckOptions { times: parsed.times, ..CheckOptions::default() };
    Ok((check_history_with(&parsed.history, model, initial, &options), parsed))
}

/// Reads and parses the history in `path`.
pub fn read_history_file(path: &Path) -> Result<ParsedHistory, HistoryFileError> {
    read_history_file_with(path, ReadOptions::default())
}

/// [`read_history_file`] with `options`.
pub fn read_history_file_with(
    path: &Path,
    options: ReadOptions,
) -> Result<ParsedHistory, HistoryFileError> {
    let (file, text) = read_text(path)?;
    parse_history_with(&text, &file, options)
}

/// The text of a history file (at most [`HISTORY_FILE_BYTES_MAX`] bytes of UTF-8), and the
/// file's name for errors.
pub fn read_text(path: &Path) -> Result<(String, String), HistoryFileError> {
    let file = path.display().to_string();
    let error = |reason: String| HistoryFileError { file: file.clone(), line: None, reason };
    let metadata = std::fs::metadata(path).map_err(|e| error(format!("cannot read: {e}")))?;
    if metadata.len() > HISTORY_FILE_BYTES_MAX {
        let reason = format!("larger than {HISTORY_FILE_BYTES_MAX} bytes");
        return Err(error(reason));
    }
    let bytes = std::fs::read(path).map_err(|e| error(format!("cannot read: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        error(format!("not UTF-8 text (invalid byte at offset {})", e.utf8_error().valid_up_to()))
    })?;
    Ok((file, text))
}

/// Parses a history in either format; `file` names it in errors.
pub fn parse_history(text: &str, file: &str) -> Result<ParsedHistory, HistoryFileError> {
    parse_history_with(text, file, ReadOptions::default())
}

/// [`parse_history`] with `options`.
pub fn parse_history_with(
    text: &str,
    file: &str,
    options: ReadOptions,
) -> Result<ParsedHistory, HistoryFileError> {
    match detect(text) {
        Some(HistoryFormat::Edn) => {
            let nil_reads = match options.nil_reads {
                Some(chosen) => chosen,
                None => declared_nil_reads(text, file)?.unwrap_or(NilReads::Unknown),
            };
            EdnHistory::parse(text, file, nil_reads)
        }
        Some(HistoryFormat::JsonLines) => parse_json_lines(text, file),
        None if text.lines().all(|line| is_comment_or_blank(line.trim())) => Ok(ParsedHistory {
            history: History::default(),
            format: HistoryFormat::JsonLines,
            times: TimeDisplay::Nanos,
            lines: Vec::new(),
            nil_reads: NilReads::Absent,
            unknown_reads: 0,
        }),
        None => {
            let line = text.lines().position(|line| !is_comment_or_blank(line.trim()));
            Err(HistoryFileError {
                file: file.to_string(),
                line: line.map(|l| l + 1),
                reason: "not a history: expected JSON Lines ({\"id\":0,...}) or EDN \
                         ({:process 0, ...})"
                    .to_string(),
            })
        }
    }
}

/// Serializes a history as JSON Lines, the format [`parse_history`] reads back.
pub fn to_json_lines(history: &History) -> String {
    let mut out = String::new();
    for op in &history.ops {
        out.push_str(&serde_json::to_string(op).expect("a history op serializes"));
        out.push('\n');
    }
    out
}

/// The `; nil-reads: NAME` declaration among the comments before the first record, if any.
fn declared_nil_reads(text: &str, file: &str) -> Result<Option<NilReads>, HistoryFileError> {
    let leading = text.lines().enumerate().take_while(|(_, l)| is_comment_or_blank(l.trim()));
    for (index, line) in leading {
        let Some(rest) = line.trim().strip_prefix(NIL_READS_COMMENT) else { continue };
        let name = rest.split_whitespace().next().unwrap_or("");
        return match name {
            "unknown" => Ok(Some(NilReads::Unknown)),
            "absent" => Ok(Some(NilReads::Absent)),
            other => Err(HistoryFileError {
                file: file.to_string(),
                line: Some(index + 1),
                reason: format!("`{NIL_READS_COMMENT} {other}`: expected `absent` or `unknown`"),
            }),
        };
    }
    Ok(None)
}

pub(crate) fn is_comment_or_blank(line: &str) -> bool {
    line.is_empty()
        || line.starts_with(';')
        || line.starts_with("//")
        || line == "#"
        || line.starts_with("# ")
        || line.starts_with("#\t")
}

/// The format of `text`, from its first significant line: `{"` is JSON, `{:`, `[`, `(` or `#`
/// (a tagged record) is EDN.
pub(crate) fn detect(text: &str) -> Option<HistoryFormat> {
    let line = text.lines().map(str::trim).find(|line| !is_comment_or_blank(line))?;
    let mut chars = line.chars();
    match chars.next()? {
        '{' => match chars.find(|c| !c.is_whitespace() && *c != ',') {
            Some('"') | Some('}') => Some(HistoryFormat::JsonLines),
            _ => Some(HistoryFormat::Edn),
        },
        '[' | '(' | '#' => Some(HistoryFormat::Edn),
        _ => None,
    }
}

fn parse_json_lines(text: &str, file: &str) -> Result<ParsedHistory, HistoryFileError> {
    let error = |line: usize, reason: String| HistoryFileError {
        file: file.to_string(),
        line: Some(line),
        reason,
    };
    let mut ops: Vec<(HistoryOp, usize)> = Vec::new();
    let mut ids: BTreeMap<u64, usize> = BTreeMap::new();
    for (index, raw) in text.lines().enumerate() {
        let (line, trimmed) = (index + 1, raw.trim());
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("//") {
            continue;
        }
        if ops.len() >= HISTORY_OPS_MAX {
            return Err(error(line, format!("more than {HISTORY_OPS_MAX} operations")));
        }
        let value: serde_json::Value =
            serde_json::from_str(trimmed).map_err(|e| error(line, format!("not JSON: {e}")))?;
        let Some(object) = value.as_object() else {
            return Err(error(line, "expected a JSON object (one operation)".to_string()));
        };
        let is_get = object.get("f").and_then(|f| f.as_str()) == Some("get");
        if is_get && object.contains_key("value") && !object.contains_key("read") {
            let reason = "a get's result goes in \"read\", not \"value\"".to_string();
            return Err(error(line, reason));
        }
        let op: HistoryOp = serde_json::from_value(value)
            .map_err(|e| error(line, format!("not a history operation: {e}")))?;
        if op.complete_ns < op.invoke_ns {
            return Err(error(line, "complete_ns is before invoke_ns".to_string()));
        }
        if let Some(first) = ids.insert(op.id, line) {
            return Err(error(line, format!("duplicate id {} (first on line {first})", op.id)));
        }
        ops.push((op, line));
    }
    ops.sort_by_key(|(op, _)| (op.invoke_ns, op.id));
    let (ops, lines) = ops.into_iter().unzip();
    Ok(ParsedHistory {
        history: History { ops },
        format: HistoryFormat::JsonLines,
        times: TimeDisplay::Nanos,
        lines,
        nil_reads: NilReads::Absent,
        unknown_reads: 0,
    })
}

/// The kind of an operation in an EDN record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EdnFunction {
    Read,
    Write,
    Cas,
    Append,
}

/// The `:type` of an EDN record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EdnType {
    Invoke,
    Complete(Outcome),
}

/// One client record of an EDN history.
struct Record<'e> {
    line: usize,
    process: u32,
    kind: EdnType,
    function: EdnFunction,
    key: Option<String>,
    value: Option<&'e Edn>,
    time_ns: Option<Nanos>,
}

/// An invocation waiting for its completion, and when it happened.
struct Pending<'e> {
    record: Record<'e>,
    at_ns: Nanos,
}

/// Reads an EDN history: records, then operations from pairs of records.
struct EdnHistory<'f> {
    file: &'f str,
    nil_reads: NilReads,
    /// Whether keyless values are `jepsen.independent` tuples `[key value]` (module docs).
    tuples: bool,
}

impl EdnHistory<'_> {
    fn parse(
        text: &str,
        file: &str,
        nil_reads: NilReads,
    ) -> Result<ParsedHistory, HistoryFileError> {
        let mut reader = EdnHistory { file, nil_reads, tuples: false };
        let values = edn::read_all(text).map_err(|e| reader.error(e.line, e.reason))?;
        let records: &[Edn] = match values.as_slice() {
            [single] if single.items().is_some() => single.items().unwrap_or_default(),
            all => all,
        };
        let mut parsed = Vec::with_capacity(records.len());
        for record in records {
            if let Some(record) = reader.record(record)? {
                parsed.push(record);
            }
        }
        let mut keyless = parsed.iter().filter(|r| r.kind == EdnType::Invoke && r.key.is_none());
        reader.tuples = keyless.clone().next().is_some() && keyless.all(is_tuple);
        reader.pair(parsed)
    }

    fn error(&self, line: usize, reason: impl Into<String>) -> HistoryFileError {
        HistoryFileError { file: self.file.to_string(), line: Some(line), reason: reason.into() }
    }

    /// A client record; `None` for records of other processes (the nemesis).
    fn record<'e>(&self, value: &'e Edn) -> Result<Option<Record<'e>>, HistoryFileError> {
        let line = value.line;
        let map = match &value.kind {
            EdnKind::Tagged(_, inner) => inner.as_ref(),
            _ => value,
        };
        if !matches!(map.kind, EdnKind::Map(_)) {
            let found = map.kind_name();
            return Err(self.error(line, format!("expected an operation map, found {found}")));
        }
        let process = match map.get("process").map(|p| &p.kind) {
            Some(EdnKind::Integer(text)) => text
                .parse::<u32>()
                .map_err(|_| self.error(line, format!(":process {text} is out of range")))?,
            Some(EdnKind::Keyword(_) | EdnKind::Symbol(_) | EdnKind::Str(_)) => return Ok(None),
            Some(_) => return Err(self.error(line, ":process must be an integer")),
            None => return Err(self.error(line, "missing :process")),
        };
        let kind = match map.get("type").and_then(Edn::scalar_text).as_deref() {
            Some(":invoke") => EdnType::Invoke,
            Some(":ok") => EdnType::Complete(Outcome::Ok),
            Some(":fail") => EdnType::Complete(Outcome::Fail),
            Some(":info") => EdnType::Complete(Outcome::Info),
            Some(other) => return Err(self.error(line, format!("unknown :type {other}"))),
            None => return Err(self.error(line, "missing :type")),
        };
        let function = match map.get("f").and_then(Edn::scalar_text).as_deref() {
            Some(":read" | ":get" | ":r") => EdnFunction::Read,
            Some(":write" | ":put" | ":w") => EdnFunction::Write,
            Some(":cas" | ":compare-and-set") => EdnFunction::Cas,
            Some(":append") => EdnFunction::Append,
            Some(other) => {
                let reason =
                    format!("unsupported :f {other} (expected :read, :write, :cas or :append)");
                return Err(self.error(line, reason));
            }
            None => return Err(self.error(line, "missing :f")),
        };
        let key = match map.get("key") {
            None => None,
            Some(key) => {
                Some(key.scalar_text().ok_or_else(|| self.error(line, ":key must be a scalar"))?)
            }
        };
        let time_ns = match map.get("time").map(|t| &t.kind) {
            None => None,
            Some(EdnKind::Integer(text)) => Some(
                text.parse::<Nanos>()
                    .map_err(|_| self.error(line, format!(":time {text} is out of range")))?,
            ),
            Some(_) => return Err(self.error(line, ":time must be an integer (nanoseconds)")),
        };
        let value = map.get("value");
        Ok(Some(Record { line, process, kind, function, key, value, time_ns }))
    }

    /// Pairs invocations with completions into operations.
    fn pair(&self, records: Vec<Record<'_>>) -> Result<ParsedHistory, HistoryFileError> {
        let timed = records.iter().filter(|r| r.time_ns.is_some()).count();
        let use_time = timed > 0;
        if let Some(untimed) = records.iter().find(|r| use_time && r.time_ns.is_none()) {
            return Err(self.error(untimed.line, "missing :time (other operations have one)"));
        }
        let mut pending: BTreeMap<u32, Pending<'_>> = BTreeMap::new();
        // (invocation position, operation, line)
        let mut ops: Vec<(usize, HistoryOp, usize)> = Vec::new();
        let mut unknown_reads = 0;
        let mut last_ns: Nanos = 0;
        for (position, record) in records.into_iter().enumerate() {
            let at_ns = record.time_ns.unwrap_or(position as Nanos);
            last_ns = last_ns.max(at_ns);
            match record.kind {
                EdnType::Invoke => {
                    if let Some(open) = pending.get(&record.process) {
                        let reason = format!(
                            "process {} invoked again while its operation from line {} is \
                             pending",
                            record.process, open.record.line
                        );
                        return Err(self.error(record.line, reason));
                    }
                    if pending.len() + ops.len() >= HISTORY_OPS_MAX {
                        let reason = format!("more than {HISTORY_OPS_MAX} operations");
                        return Err(self.error(record.line, reason));
                    }
                    pending.insert(record.process, Pending { record, at_ns });
                }
                EdnType::Complete(outcome) => {
                    let Some(invoke) = pending.remove(&record.process) else {
                        let reason = format!(
                            "completion for process {} with no pending invocation",
                            record.process
                        );
                        return Err(self.error(record.line, reason));
                    };
                    let op = self.operation(&invoke, Some(&record), outcome, at_ns)?;
                    let read_nil =
                        op.outcome == Outcome::Ok && op.op.is_read() && op.value.is_none();
                    if read_nil && self.nil_reads == NilReads::Unknown {
                        // Knossos: a read of nil matches any state, so it constrains nothing.
                        unknown_reads += 1;
                        continue;
                    }
                    ops.push((invoke.record.line, op, invoke.record.line));
                }
            }
        }
        for invoke in pending.into_values() {
            let op = self.operation(&invoke, None, Outcome::Info, last_ns)?;
            ops.push((invoke.record.line, op, invoke.record.line));
        }
        ops.sort_by_key(|(position, op, _)| (op.invoke_ns, *position));
        let mut lines = Vec::with_capacity(ops.len());
        let mut history = History { ops: Vec::with_capacity(ops.len()) };
        for (id, (_, mut op, line)) in ops.into_iter().enumerate() {
            op.id = id as u64;
            history.ops.push(op);
            lines.push(line);
        }
        let times = if use_time { TimeDisplay::Nanos } else { TimeDisplay::Ordinal };
        Ok(ParsedHistory {
            history,
            format: HistoryFormat::Edn,
            times,
            lines,
            nil_reads: self.nil_reads,
            unknown_reads,
        })
    }

    /// The operation of an invocation and its completion (`None`: never completed).
    fn operation(
        &self,
        invoke: &Pending<'_>,
        completion: Option<&Record<'_>>,
        outcome: Outcome,
        complete_ns: Nanos,
    ) -> Result<HistoryOp, HistoryFileError> {
        let call = &invoke.record;
        let line = completion.map_or(call.line, |c| c.line);
        if let Some(done) = completion.filter(|done| done.function != call.function) {
            let reason = format!("completion :f differs from its invocation on line {}", call.line);
            return Err(self.error(done.line, reason));
        }
        if complete_ns < invoke.at_ns {
            return Err(self.error(line, "completed before it was invoked (:time)"));
        }
        let (tuple_key, invoke_value) = self.split(call);
        let key = call.key.clone().or(tuple_key).unwrap_or_else(|| EDN_DEFAULT_KEY.to_string());
        let scalar = |value: Option<&Edn>, line: usize, what: &str| match value {
            None => Ok(None),
            Some(v) if v.kind == EdnKind::Nil => Ok(None),
            Some(v) => v.scalar_text().map(Some).ok_or_else(|| {
                self.error(line, format!("{what} must be a scalar or nil, found {}", v.kind_name()))
            }),
        };
        let required = |value: Option<String>, what: &str| {
            value.ok_or_else(|| self.error(call.line, format!("{what} of nil is not supported")))
        };
        let mut read = None;
        let op = match call.function {
            EdnFunction::Read => {
                if let (Some(done), Outcome::Ok) = (completion, outcome) {
                    let value = match self.split(done) {
                        (Some(done_key), value) if done_key == key => value,
                        (Some(done_key), _) => {
                            let reason = format!(
                                "the read's completion is for key {done_key}, its invocation \
                                 on line {} for key {key}",
                                call.line
                            );
                            return Err(self.error(done.line, reason));
                        }
                        (None, _) if self.tuples && call.key.is_none() => {
                            let reason = "the read's completion needs :value [key value], as \
                                          every invocation has (jepsen.independent tuples)";
                            return Err(self.error(done.line, reason));
                        }
                        (None, value) => value,
                    };
                    read = scalar(value, done.line, "a read's value")?;
                }
                Op::Get { key }
            }
            EdnFunction::Write => {
                let value = required(scalar(invoke_value, call.line, "a write")?, "a write")?;
                Op::Put { key, value }
            }
            EdnFunction::Append => {
                let value = required(scalar(invoke_value, call.line, "an append")?, "an append")?;
                Op::Append { key, value }
            }
            EdnFunction::Cas => {
                let pair = invoke_value.and_then(Edn::items).filter(|items| items.len() == 2);
                let Some([from, to]) = pair else {
                    return Err(self.error(call.line, ":cas needs :value [from to]"));
                };
                let from = scalar(Some(from), call.line, "a cas's from")?;
                let to = required(scalar(Some(to), call.line, "a cas's to")?, "a cas to")?;
                Op::Cas { key, from, to }
            }
        };
        Ok(HistoryOp {
            id: 0,
            client: call.process,
            op,
            invoke_ns: invoke.at_ns,
            complete_ns,
            outcome,
            value: read,
        })
    }
}

impl EdnHistory<'_> {
    /// The key of an independent tuple and the value inside, in a history of tuples; else no
    /// key and the value as is.
    fn split<'e>(&self, record: &Record<'e>) -> (Option<String>, Option<&'e Edn>) {
        if !self.tuples || record.key.is_some() || !is_tuple(record) {
            return (None, record.value);
        }
        match record.value.and_then(Edn::items) {
            Some([key, value]) => (key.scalar_text(), Some(value)),
            _ => (None, record.value),
        }
    }
}

/// True if a record carries Jepsen's independent tuple `[key value]`: a pair of a scalar key
/// and a value that is a scalar or nil (for a compare-and-set, itself a pair).
fn is_tuple(record: &Record<'_>) -> bool {
    let Some([key, value]) = record.value.and_then(Edn::items) else { return false };
    let key_ok = key.kind != EdnKind::Nil && key.scalar_text().is_some();
    key_ok
        && match record.function {
            EdnFunction::Cas => value.items().is_some_and(|items| items.len() == 2),
            _ => value.items().is_none(),
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_formats() {
        assert_eq!(detect("# c\n\n{\"id\":0}"), Some(HistoryFormat::JsonLines));
        assert_eq!(detect("; c\n{:process 0}"), Some(HistoryFormat::Edn));
        assert_eq!(detect("[{:process 0}]"), Some(HistoryFormat::Edn));
        assert_eq!(detect("#jepsen.history.Op{:process 0}"), Some(HistoryFormat::Edn));
        assert_eq!(detect("hello"), None);
        assert_eq!(detect("// nothing\n"), None);
    }

    #[test]
    fn a_json_get_with_value_instead_of_read_is_rejected() {
        let text = concat!(
            r#"{"id":0,"client":0,"f":"get","key":"k","value":"v","#,
            r#""invoke_ns":0,"complete_ns":1,"outcome":"ok"}"#
        );
        let error = parse_history(text, "h.jsonl").expect_err("value on a get");
        assert_eq!(error.line, Some(1));
        assert!(error.reason.contains("\"read\""), "{error}");
    }

    #[test]
    fn edn_tuples_and_keys() {
        let text = "{:process 0 :type :invoke :f :write :value [:x 1]}\n\
                    {:process 0 :type :ok :f :write :value [:x 1]}\n\
                    {:process 1 :type :invoke :f :cas :value [:y [nil 2]]}\n\
                    {:process 1 :type :ok :f :cas :value [:y [nil 2]]}\n\
                    {:process 2 :type :invoke :f :read :value [:x nil]}\n\
                    {:process 2 :type :ok :f :read :value [:x 1]}\n";
        let parsed = parse_history(text, "t.edn").expect("valid");
        let ops: Vec<String> = parsed.history.ops.iter().map(|op| op.op.to_string()).collect();
        assert_eq!(ops, ["put :x=1", "cas :y nil->2", "get :x"]);
        assert_eq!(parsed.history.ops[2].value.as_deref(), Some("1"));
        assert_eq!(parsed.times, TimeDisplay::Ordinal);
    }
}
