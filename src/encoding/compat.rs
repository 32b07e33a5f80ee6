//! Compatibility between two versions of a schema, after the rules Protocol Buffers and Avro
//! document.
//!
//! - *Backward*: a reader with the new schema reads data written with the old one. A field the
//!   new schema adds must not be required without a default.
//! - *Forward*: a reader with the old schema reads data written with the new one. It skips
//!   fields it does not know; a field the new schema drops must not have been required
//!   (without a default) in the old one.
//! - *Full*: both.
//!
//! In every mode a tag keeps its name and its type, except for the widenings a reader can
//! decode without the writer's schema: `int32 -> int64`, `uint32 -> uint64`, `uint32 ->
//! int64`, `fixed32 -> fixed64`, any integer `-> float64` (Avro's int -> long -> double),
//! and `string <-> bytes` (a reader of `string` rejects bytes that are not UTF-8). Inside a
//! packed list only the widenings that keep the wire type hold (`int32 -> int64`, `uint32 ->
//! uint64`). Enum numbers keep their names; a number the reader lacks is read as
//! `Unknown(n)`, which the rules allow.

use super::schema::{Schema, Type};
use std::collections::BTreeSet;
use std::fmt;

/// Which readers must understand which writers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    /// New readers read old data.
    Backward,
    /// Old readers read new data.
    Forward,
    /// Both.
    Full,
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Mode, String> {
        match s {
            "backward" => Ok(Mode::Backward),
            "forward" => Ok(Mode::Forward),
            "full" => Ok(Mode::Full),
            _ => Err(format!("`{s}`: expected backward, forward or full")),
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Backward => "backward",
            Mode::Forward => "forward",
            Mode::Full => "full",
        })
    }
}

/// A compatibility rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rule {
    /// A tag names a different field in the two versions.
    TagReused,
    /// A tag's type changed in a way a reader cannot decode.
    UnsafeTypeChange,
    /// The new version adds a required field without a default (old data lacks it).
    RequiredFieldAdded,
    /// The new version drops a field the old one required without a default.
    RequiredFieldRemoved,
    /// A field the writer may leave out is required, without a default, by the reader.
    BecameRequired,
    /// An enum number names a different variant in the two versions.
    EnumNumberRenamed,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rule::TagReused => "tag reused with a different name",
            Rule::UnsafeTypeChange => "unsafe type change",
            Rule::RequiredFieldAdded => "required field added without a default",
            Rule::RequiredFieldRemoved => "required field removed",
            Rule::BecameRequired => "optional field became required without a default",
            Rule::EnumNumberRenamed => "enum number renamed",
        })
    }
}

/// One broken rule: which message (or enum), field (or variant), tag (or number), and why.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Violation {
    /// The direction it breaks (backward or forward).
    pub mode: Mode,
    /// The message type (or enum) it is in.
    pub message: String,
    /// The field (or enum variant).
    pub field: String,
    /// The field's tag (or the variant's number).
    pub tag: u32,
    /// The rule.
    pub rule: Rule,
    /// The old and new forms.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{} (tag {}): {} ({}): {}",
            self.message, self.field, self.tag, self.rule, self.mode, self.detail
        )
    }
}

/// Every rule `new` breaks against `old` in `mode`, sorted; empty when compatible. Message
/// types are matched by name; one that only one version has is not compared.
pub fn check(old: &Schema, new: &Schema, mode: Mode) -> Vec<Violation> {
    let mut found = BTreeSet::new();
    for old_message in &old.messages {
        let Some(new_index) = new.message_index(&old_message.name) else { continue };
        let old_index = old.message_index(&old_message.name).expect("listed");
        if mode != Mode::Forward {
            let mut pair =
                Pair { reader: new, writer: old, mode: Mode::Backward, seen: Default::default() };
            pair.messages(new_index, old_index, &mut found);
        }
        if mode != Mode::Backward {
            let mut pair =
                Pair { reader: old, writer: new, mode: Mode::Forward, seen: Default::default() };
            pair.messages(old_index, new_index, &mut found);
        }
    }
    // A change seen from both directions (a reused tag) is reported once, as backward.
    let mut out: Vec<Violation> = Vec::new();
    for v in found {
        let twin = out.iter().any(|o| {
            (&o.message, &o.field, o.tag, o.rule) == (&v.message, &v.field, v.tag, v.rule)
        });
        if !twin {
            out.push(v);
        }
    }
    out
}

/// A reader schema and a writer schema compared in one direction.
struct Pair<'a> {
    reader: &'a Schema,
    writer: &'a Schema,
    mode: Mode,
    /// Message pairs already compared (recursive types end here).
    seen: BTreeSet<(usize, usize)>,
}

impl Pair<'_> {
    /// `(old, new)` forms of something that is `(reader, writer)`.
    fn old_new<T>(&self, reader: T, writer: T) -> (T, T) {
        if self.mode == Mode::Backward {
            (writer, reader)
        } else {
            (reader, writer)
        }
    }

    fn messages(&mut self, reader: usize, writer: usize, out: &mut BTreeSet<Violation>) {
        if !self.seen.insert((reader, writer)) {
            return;
        }
        let (r, w) = (&self.reader.messages[reader], &self.writer.messages[writer]);
        let violation = |field: &str, tag: u32, rule: Rule, detail: String| Violation {
            mode: self.mode,
            message: r.name.to_string(),
            field: field.to_string(),
            tag,
            rule,
            detail,
        };
        let mut nested = Vec::new();
        for wf in &w.fields {
            let Some(rf) = r.field_by_tag(wf.tag) else { continue };
            if rf.name != wf.name {
                let (old, new) = self.old_new(&rf.name, &wf.name);
                let detail = format!("`{old}` in the old version, `{new}` in the new");
                out.insert(violation(&rf.name, rf.tag, Rule::TagReused, detail));
            }
            if let Err(why) = self.types(&rf.ty, &wf.ty, false, &mut nested) {
                let (old, new) =
                    self.old_new(self.reader.type_name(&rf.ty), self.writer.type_name(&wf.ty));
                let detail = format!("{old} -> {new}{why}");
                out.insert(violation(&rf.name, rf.tag, Rule::UnsafeTypeChange, detail));
            }
            if rf.required && rf.default.is_none() && !wf.required {
                let detail = "the writer may leave it out and the reader has no default".into();
                out.insert(violation(&rf.name, rf.tag, Rule::BecameRequired, detail));
            }
        }
        for rf in &r.fields {
            if w.field_by_tag(rf.tag).is_some() || !rf.required || rf.default.is_some() {
                continue;
            }
            let (rule, detail) = match self.mode {
                Mode::Backward => (Rule::RequiredFieldAdded, "old data lacks it"),
                _ => (Rule::RequiredFieldRemoved, "old readers require it"),
            };
            out.insert(violation(&rf.name, rf.tag, rule, detail.into()));
        }
        for (reader_type, writer_type) in nested {
            match (reader_type, writer_type) {
                (Type::Message(r), Type::Message(w)) => self.messages(r, w, out),
                (Type::Enum(r), Type::Enum(w)) => self.enums(r, w, out),
                _ => unreachable!("only messages and enums are compared later"),
            }
        }
    }

    fn enums(&self, reader: usize, writer: usize, out: &mut BTreeSet<Violation>) {
        let (r, w) = (&self.reader.enums[reader], &self.writer.enums[writer]);
        for (name, number) in &w.variants {
            let Some((reader_name, _)) = r.variants.iter().find(|(_, n)| n == number) else {
                continue; // read as Unknown(number): allowed
            };
            if reader_name != name {
                let (old, new) = self.old_new(reader_name, name);
                out.insert(Violation {
                    mode: self.mode,
                    message: r.name.to_string(),
                    field: old.clone(),
                    tag: *number,
                    rule: Rule::EnumNumberRenamed,
                    detail: format!("`{old}` in the old version, `{new}` in the new"),
                });
            }
        }
    }

    /// Whether a reader of `reader` decodes what a writer of `writer` wrote; nested messages
    /// and enums are queued in `nested` and compared after. `packed`: inside a packed list.
    fn types(
        &self,
        reader: &Type,
        writer: &Type,
        packed: bool,
        nested: &mut Vec<(Type, Type)>,
    ) -> Result<(), String> {
        match (reader, writer) {
            (Type::Message(_), Type::Message(_)) | (Type::Enum(_), Type::Enum(_)) => {
                nested.push((reader.clone(), writer.clone()));
                Ok(())
            }
            (Type::List(r), Type::List(w)) => {
                let packed = r.is_packable() && w.is_packable();
                self.types(r, w, packed, nested).map_err(|_| " (list elements)".to_string())
            }
            (Type::Map(rk, rv), Type::Map(wk, wv)) => {
                self.types(rk, wk, false, nested).map_err(|_| " (map keys)".to_string())?;
                self.types(rv, wv, false, nested).map_err(|_| " (map values)".to_string())
            }
            (r, w) if r == w => Ok(()),
            (r, w) if widens(w, r, packed) => Ok(()),
            _ => Err(String::new()),
        }
    }
}

/// True if a value written as `from` reads safely as `to`.
fn widens(from: &Type, to: &Type, packed: bool) -> bool {
    use Type::*;
    if packed {
        return matches!((from, to), (Int32, Int64) | (Uint32, Uint64));
    }
    matches!(
        (from, to),
        (Int32, Int64)
            | (Uint32, Uint64 | Int64)
            | (Fixed32, Fixed64)
            | (Int32 | Int64 | Uint32 | Uint64, Float64)
            | (String, Bytes)
            | (Bytes, String)
    )
}
