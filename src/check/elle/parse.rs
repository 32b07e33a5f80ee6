//! Transactional history files for [`check`](super::check): Jepsen EDN and sim's JSON Lines,
//! detected from the first significant character as for `sim check`'s other models.
//!
//! # EDN (Jepsen, Elle)
//!
//! One operation map per line, or one vector or list of them; `;` comments:
//!
//! ```text
//! {:type :invoke, :f :txn, :process 3, :value [[:append :a 5] [:r :b nil]]}
//! {:type :ok, :f :txn, :process 3, :value [[:append :a 5] [:r :b [1 2]]]}
//! ```
//!
//! `:type` is `:invoke`, `:ok`, `:fail` or `:info`; `:process` an integer (records of other
//! processes, `:nemesis`, are skipped); `:f` is optional and not looked at; `:index` and `:time`
//! are optional integers (without `:index`, records are numbered in file order). `:value` is a
//! vector of micro-operations, `[:append k v]`, `[:w k v]`, `[:r k v]` or `[:r k]`, with
//! integer, keyword or string keys; it may be empty or missing (then a completion keeps its
//! invocation's). A read's value counts only in an `:ok` record: a list (list-append; `nil` is
//! the empty list, as in Elle) or an integer or `nil` (rw-register).
//!
//! # JSON Lines (sim's `txn` system)
//!
//! One transaction per line, its invocation and completion together:
//!
//! ```text
//! {"id":0,"client":3,"f":"txn","value":[["append",1,5],["r",2,[1,2]]],"invoke_ns":1307518,
//!  "complete_ns":14860867,"outcome":"ok"}
//! ```
//!
//! `outcome` is `ok`, `fail` or `info`; an `info` transaction never completes in real time (its
//! `complete_ns` is ignored). Micro-operations are `["append",k,v]`, `["w",k,v]` and
//! `["r",k,v]`, keys integers or strings, and a read's value a list or `null` (list-append) or
//! an integer or `null` (rw-register); reads of transactions that did not commit are `null`.
//! Each line becomes an invocation at `invoke_ns` and a completion at `complete_ns`, both
//! with index `id` (so `--transaction-order` names transactions by `id`); records are ordered
//! by time, an invocation before a completion at the same nanosecond.

use super::{Key, Model, Mop, Op, OpType, ReadValue};
use crate::check::edn::{self, Edn, EdnKind};
use crate::check::history_file::{self, HistoryFileError, HistoryFormat, HISTORY_OPS_MAX};
use std::collections::BTreeMap;
use std::path::Path;

/// A parsed transactional history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedHistory {
    /// The records, in history order.
    pub ops: Vec<Op>,
    /// The name of each key as written (`:x`, `5`, `"k"`), for [`super::Options::key_names`].
    pub key_names: BTreeMap<Key, String>,
    /// The format read.
    pub format: HistoryFormat,
}

/// Reads the history file at `path`.
pub fn read_file(path: &Path, model: Model) -> Result<ParsedHistory, HistoryFileError> {
    let (file, text) = history_file::read_text(path)?;
    parse(&text, &file, model)
}

/// Parses a history in either format; `file` names it in errors.
pub fn parse(text: &str, file: &str, model: Model) -> Result<ParsedHistory, HistoryFileError> {
    let mut reader = Reader { file, model, keys: BTreeMap::new() };
    let (ops, format) = match history_file::detect(text) {
        Some(HistoryFormat::Edn) => (reader.edn(text)?, HistoryFormat::Edn),
        Some(HistoryFormat::JsonLines) => (reader.json_lines(text)?, HistoryFormat::JsonLines),
        None if text.lines().all(|l| history_file::is_comment_or_blank(l.trim())) => {
            (Vec::new(), HistoryFormat::Edn)
        }
        None => {
            let line = text.lines().position(|l| !history_file::is_comment_or_blank(l.trim()));
            return Err(HistoryFileError {
                file: file.to_string(),
                line: line.map(|l| l + 1),
                reason: "not a history: expected EDN ({:type :invoke, ...}) or JSON Lines \
                         ({\"id\":0,...})"
                    .to_string(),
            });
        }
    };
    let key_names = reader.keys.into_iter().map(|(name, id)| (id, name)).collect();
    Ok(ParsedHistory { ops, key_names, format })
}

struct Reader<'f> {
    file: &'f str,
    model: Model,
    /// Key names as written -> ids, in order of first appearance.
    keys: BTreeMap<String, Key>,
}

/// A key or value as read, before interning.
enum Scalar {
    Int(i64),
    Name(String),
}

impl Reader<'_> {
    fn error(&self, line: usize, reason: impl Into<String>) -> HistoryFileError {
        HistoryFileError { file: self.file.to_string(), line: Some(line), reason: reason.into() }
    }

    fn key(&mut self, name: String) -> Key {
        let next = self.keys.len() as Key;
        *self.keys.entry(name).or_insert(next)
    }

    fn edn(&mut self, text: &str) -> Result<Vec<Op>, HistoryFileError> {
        let values = edn::read_all(text).map_err(|e| self.error(e.line, e.reason))?;
        let records: &[Edn] = match values.as_slice() {
            [single] if single.items().is_some() => single.items().unwrap_or_default(),
            all => all,
        };
        if records.len() > HISTORY_OPS_MAX {
            return Err(self.error(1, format!("more than {HISTORY_OPS_MAX} records")));
        }
        let mut ops = Vec::with_capacity(records.len());
        for (position, record) in records.iter().enumerate() {
            if let Some(op) = self.edn_record(record, position as u64)? {
                ops.push(op);
            }
        }
        Ok(ops)
    }

    fn edn_integer(&self, value: &Edn, what: &str) -> Result<i64, HistoryFileError> {
        match &value.kind {
            EdnKind::Integer(text) => text
                .parse::<i64>()
                .map_err(|_| self.error(value.line, format!("{what} {text} is out of range"))),
            _ => Err(self.error(
                value.line,
                format!("{what} must be an integer, found {}", value.kind_name()),
            )),
        }
    }

    fn edn_record(&mut self, record: &Edn, position: u64) -> Result<Option<Op>, HistoryFileError> {
        let line = record.line;
        let map = match &record.kind {
            EdnKind::Tagged(_, inner) => inner.as_ref(),
            _ => record,
        };
        if !matches!(map.kind, EdnKind::Map(_)) {
            let found = map.kind_name();
            return Err(self.error(line, format!("expected an operation map, found {found}")));
        }
        let process = match map.get("process") {
            Some(p) if matches!(p.kind, EdnKind::Integer(_)) => {
                let process = self.edn_integer(p, ":process")?;
                u64::try_from(process)
                    .map_err(|_| self.error(line, format!(":process {process} is negative")))?
            }
            Some(p)
                if matches!(p.kind, EdnKind::Keyword(_) | EdnKind::Symbol(_) | EdnKind::Str(_)) =>
            {
                return Ok(None)
            }
            Some(_) => return Err(self.error(line, ":process must be an integer")),
            None => return Err(self.error(line, "missing :process")),
        };
        let kind = match map.get("type").and_then(Edn::scalar_text).as_deref() {
            Some(":invoke") => OpType::Invoke,
            Some(":ok") => OpType::Ok,
            Some(":fail") => OpType::Fail,
            Some(":info") => OpType::Info,
            Some(other) => return Err(self.error(line, format!("unknown :type {other}"))),
            None => return Err(self.error(line, "missing :type")),
        };
        let index = match map.get("index") {
            None => position,
            Some(i) => {
                let index = self.edn_integer(i, ":index")?;
                u64::try_from(index).map_err(|_| self.error(line, ":index is negative"))?
            }
        };
        let time = match map.get("time") {
            None => None,
            Some(t) => Some(
                u64::try_from(self.edn_integer(t, ":time")?)
                    .map_err(|_| self.error(line, ":time is negative"))?,
            ),
        };
        let mops = match map.get("value") {
            None => Vec::new(),
            Some(v) if v.kind == EdnKind::Nil => Vec::new(),
            Some(v) => {
                let Some(items) = v.items() else {
                    let found = v.kind_name();
                    return Err(self.error(
                        v.line,
                        format!(":value must be a vector of micro-operations, found {found}"),
                    ));
                };
                let mut mops = Vec::with_capacity(items.len());
                for item in items {
                    mops.push(self.edn_mop(item, kind)?);
                }
                mops
            }
        };
        Ok(Some(Op { index, process, kind, mops, time }))
    }

    fn edn_scalar(&self, value: &Edn, what: &str) -> Result<Scalar, HistoryFileError> {
        match &value.kind {
            EdnKind::Integer(_) => Ok(Scalar::Int(self.edn_integer(value, what)?)),
            EdnKind::Keyword(name) => Ok(Scalar::Name(format!(":{name}"))),
            EdnKind::Str(text) => Ok(Scalar::Name(format!("{text:?}"))),
            EdnKind::Symbol(name) => Ok(Scalar::Name(name.clone())),
            _ => Err(self.error(
                value.line,
                format!(
                    "{what} must be an integer, keyword or string, found {}",
                    value.kind_name()
                ),
            )),
        }
    }

    fn edn_mop(&mut self, mop: &Edn, kind: OpType) -> Result<Mop, HistoryFileError> {
        let line = mop.line;
        let Some(items) = mop.items() else {
            return Err(self.error(
                line,
                format!("expected a micro-operation like [:r :x nil], found {}", mop.kind_name()),
            ));
        };
        let (f, key) = match items {
            [f, key] | [f, key, _] => (f.scalar_text(), key),
            _ => {
                return Err(self.error(
                    line,
                    format!("a micro-operation has 2 or 3 elements, found {}", items.len()),
                ))
            }
        };
        let key = match self.edn_scalar(key, "a key")? {
            Scalar::Int(k) => self.key(k.to_string()),
            Scalar::Name(name) => self.key(name),
        };
        let value = items.get(2);
        let f = f.unwrap_or_default();
        let f = f.trim_start_matches(':');
        self.mop(f, key, kind, line, |reader, what| match value {
            None => Ok(Value::Nil),
            Some(v) => match &v.kind {
                EdnKind::Nil => Ok(Value::Nil),
                EdnKind::Integer(_) => Ok(Value::Int(reader.edn_integer(v, what)?)),
                EdnKind::Vector(items) | EdnKind::List(items) => items
                    .iter()
                    .map(|i| reader.edn_integer(i, "a list element"))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Value::List),
                _ => Err(reader.error(
                    v.line,
                    format!("{what} must be an integer, a list or nil, found {}", v.kind_name()),
                )),
            },
        })
    }

    /// A micro-operation `f` on `key` whose value `value` reads on demand.
    fn mop(
        &mut self,
        f: &str,
        key: Key,
        kind: OpType,
        line: usize,
        value: impl Fn(&Self, &str) -> Result<Value, HistoryFileError>,
    ) -> Result<Mop, HistoryFileError> {
        let model = self.model;
        let written = |reader: &Self| match value(reader, "a written value")? {
            Value::Int(v) => Ok(v),
            _ => Err(reader.error(line, format!("`{f}` needs an integer value"))),
        };
        match (f, model) {
            ("append", Model::ListAppend) => Ok(Mop::Append { key, value: written(self)? }),
            ("w", Model::RwRegister) => Ok(Mop::Write { key, value: written(self)? }),
            ("r", _) => {
                let read = value(self, "a read value")?;
                if kind != OpType::Ok {
                    return Ok(Mop::Read { key, value: None });
                }
                let read = match (read, model) {
                    (Value::Nil, Model::ListAppend) => ReadValue::List(Vec::new()),
                    (Value::List(list), Model::ListAppend) => ReadValue::List(list),
                    (Value::Nil, Model::RwRegister) => ReadValue::Register(None),
                    (Value::Int(v), Model::RwRegister) => ReadValue::Register(Some(v)),
                    (_, Model::ListAppend) => {
                        return Err(self.error(line, "a list-append read must be a list or nil"))
                    }
                    (_, Model::RwRegister) => {
                        return Err(
                            self.error(line, "an rw-register read must be an integer or nil")
                        )
                    }
                };
                Ok(Mop::Read { key, value: Some(read) })
            }
            ("append" | "w", _) => Err(self.error(
                line,
                format!(
                    "`{f}` is not an operation of model {} (use --model {})",
                    model.name(),
                    if f == "w" { "rw-register" } else { "list-append" }
                ),
            )),
            (other, _) => Err(self.error(
                line,
                format!("unknown micro-operation `{other}` (expected append, w or r)"),
            )),
        }
    }

    fn json_lines(&mut self, text: &str) -> Result<Vec<Op>, HistoryFileError> {
        // (time, completion?, id, op)
        let mut records: Vec<(u64, bool, u64, Op)> = Vec::new();
        let mut info: Vec<Op> = Vec::new();
        let mut ids: BTreeMap<u64, usize> = BTreeMap::new();
        for (index, raw) in text.lines().enumerate() {
            let (line, trimmed) = (index + 1, raw.trim());
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("//") {
                continue;
            }
            if records.len() + info.len() >= HISTORY_OPS_MAX {
                return Err(self.error(line, format!("more than {HISTORY_OPS_MAX} records")));
            }
            let row: serde_json::Value = serde_json::from_str(trimmed)
                .map_err(|e| self.error(line, format!("not JSON: {e}")))?;
            let Some(row) = row.as_object() else {
                return Err(self.error(line, "expected a JSON object (one transaction)"));
            };
            let number = |name: &str| -> Result<u64, HistoryFileError> {
                row.get(name).and_then(serde_json::Value::as_u64).ok_or_else(|| {
                    self.error(line, format!("\"{name}\" must be a non-negative integer"))
                })
            };
            let id = number("id")?;
            if let Some(first) = ids.insert(id, line) {
                return Err(self.error(line, format!("duplicate id {id} (first on line {first})")));
            }
            let process = number("client")?;
            let invoke_ns = number("invoke_ns")?;
            let kind = match row.get("outcome").and_then(|o| o.as_str()) {
                Some("ok") => OpType::Ok,
                Some("fail") => OpType::Fail,
                Some("info") => OpType::Info,
                _ => {
                    return Err(self.error(line, "\"outcome\" must be \"ok\", \"fail\" or \"info\""))
                }
            };
            let complete_ns = match kind {
                OpType::Info => None,
                _ => {
                    let at = number("complete_ns")?;
                    if at < invoke_ns {
                        return Err(self.error(line, "complete_ns is before invoke_ns"));
                    }
                    Some(at)
                }
            };
            let Some(value) = row.get("value").and_then(|v| v.as_array()) else {
                return Err(self.error(
                    line,
                    "\"value\" must be an array of micro-operations like [\"r\",1,null]",
                ));
            };
            let mut invoked = Vec::with_capacity(value.len());
            let mut completed = Vec::with_capacity(value.len());
            for mop in value {
                invoked.push(self.json_mop(mop, OpType::Invoke, line)?);
                completed.push(self.json_mop(mop, kind, line)?);
            }
            let invoke = Op {
                index: id,
                process,
                kind: OpType::Invoke,
                mops: invoked,
                time: Some(invoke_ns),
            };
            records.push((invoke_ns, false, id, invoke));
            let completion = Op { index: id, process, kind, mops: completed, time: complete_ns };
            match complete_ns {
                Some(at) => records.push((at, true, id, completion)),
                None => info.push(completion),
            }
        }
        records.sort_by_key(|(at, completion, id, _)| (*at, *completion, *id));
        let mut ops: Vec<Op> = records.into_iter().map(|(_, _, _, op)| op).collect();
        ops.extend(info);
        Ok(ops)
    }

    fn json_mop(
        &mut self,
        mop: &serde_json::Value,
        kind: OpType,
        line: usize,
    ) -> Result<Mop, HistoryFileError> {
        use serde_json::Value as J;
        let Some(items) = mop.as_array().filter(|a| a.len() == 2 || a.len() == 3) else {
            return Err(
                self.error(line, format!("a micro-operation is [f, key, value], found {mop}"))
            );
        };
        let Some(f) = items[0].as_str() else {
            return Err(self.error(
                line,
                format!(
                    "a micro-operation's first element is \"append\", \"w\" or \"r\", found {}",
                    items[0]
                ),
            ));
        };
        let key = match &items[1] {
            J::Number(n) if n.as_i64().is_some() => self.key(n.to_string()),
            J::String(s) => self.key(format!("{s:?}")),
            other => {
                return Err(self
                    .error(line, format!("a key must be an integer or a string, found {other}")))
            }
        };
        let value = items.get(2).cloned().unwrap_or(J::Null);
        self.mop(f, key, kind, line, |reader, what| match &value {
            J::Null => Ok(Value::Nil),
            J::Number(n) => n
                .as_i64()
                .map(Value::Int)
                .ok_or_else(|| reader.error(line, format!("{what} {n} is not a 64-bit integer"))),
            J::Array(items) => items
                .iter()
                .map(|i| {
                    i.as_i64().ok_or_else(|| {
                        reader.error(line, format!("a list element must be an integer, found {i}"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Value::List),
            other => Err(reader
                .error(line, format!("{what} must be an integer, a list or null, found {other}"))),
        })
    }
}

/// A micro-operation's value as read.
enum Value {
    Nil,
    Int(i64),
    List(Vec<i64>),
}
