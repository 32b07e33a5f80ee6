//! The schema model and its TOML language.
//!
//! A schema file declares enums and messages (`schemas/example.toml` is a worked example):
//!
//! ```toml
//! [[enum]]
//! name = "Color"
//! variants = { red = 0, green = 1 }
//!
//! [[message]]
//! name = "Paint"
//! version = 2
//! [[message.field]]
//! name = "color"
//! tag = 1
//! type = "Color"
//! default = "red"
//! [[message.field]]
//! name = "coats"
//! tag = 2
//! type = "uint32"
//! required = true
//! ```
//!
//! Types: `bool`, `int32`, `int64` (zigzag varints), `uint32`, `uint64` (varints), `fixed32`,
//! `fixed64`, `float64` (little-endian words), `bytes`, `string`, `list<T>`, `map<K, V>`, and
//! the name of a message or enum of the same file. A field is optional unless `required =
//! true`; `default` gives the value a reader uses when the writer left the field out (old
//! data). Lists and maps are never required and default to empty; a missing nested message
//! without a default is absent.

use super::value::{EnumValue, Value};
use super::{FIELDS_MAX, TAG_MAX};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The type of a field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Type {
    /// `bool`: a varint 0 or 1.
    Bool,
    /// `int32`: a zigzag varint that fits 32 bits.
    Int32,
    /// `int64`: a zigzag varint.
    Int64,
    /// `uint32`: a varint that fits 32 bits.
    Uint32,
    /// `uint64`: a varint.
    Uint64,
    /// `fixed32`: 4 little-endian bytes.
    Fixed32,
    /// `fixed64`: 8 little-endian bytes.
    Fixed64,
    /// `float64`: an IEEE 754 double in 8 little-endian bytes.
    Float64,
    /// `bytes`: length-delimited.
    Bytes,
    /// `string`: length-delimited UTF-8.
    String,
    /// A message of this schema, by index into [`Schema::messages`].
    Message(usize),
    /// An enum of this schema, by index into [`Schema::enums`].
    Enum(usize),
    /// `list<T>`: packed when `T` is a number, bool or enum; else one field per element.
    List(Box<Type>),
    /// `map<K, V>`: one entry record (`key` tag 1, `value` tag 2) per pair.
    Map(Box<Type>, Box<Type>),
}

impl Type {
    /// True for types a packed list holds (numbers, bools, enums).
    pub fn is_packable(&self) -> bool {
        !matches!(
            self,
            Type::Bytes | Type::String | Type::Message(_) | Type::List(_) | Type::Map(..)
        )
    }
}

/// One field of a message.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// Its name (shared with the records the decoder builds).
    pub name: Arc<str>,
    /// Its tag on the wire: the field's identity across versions.
    pub tag: u32,
    /// Its type.
    pub ty: Type,
    /// The writer must write it; a reader that finds it missing and has no default fails.
    pub required: bool,
    /// What a reader uses when the writer left the field out.
    pub default: Option<Value>,
}

/// One message type.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageDef {
    /// Its name.
    pub name: Arc<str>,
    /// Its version (1 and up), as the registry orders them.
    pub version: u32,
    /// Its fields, in declaration order.
    pub fields: Vec<Field>,
    /// `(tag, index into fields)`, sorted by tag, for the decoder's lookup.
    by_tag: Vec<(u32, usize)>,
    /// Position + 1 of the field with each tag below its length (0: none), when the tags are
    /// small: a decoder looks a key up with one index.
    dense: Vec<u8>,
    /// [`name_key`] of each field, by position: the typed layer finds fields by name, and
    /// comparing numbers is cheaper than comparing strings.
    name_keys: Vec<u64>,
    /// Positions the typed layer looked up, by the address of the `&'static str` it named.
    memo: NameMemo,
    /// How many of the fields before each position are required (one more entry than
    /// fields): a writer checks it skipped none in one subtraction.
    required_before: Vec<u32>,
}

/// A memo of [`MessageDef::position_static`]: the typed layer names fields with string
/// literals, the same few per type, so a lookup by the literal's address and length replaces
/// a search by its bytes. Each slot is one atomic word (address in the low 48 bits, length in
/// the next 8, position + 1 in the top 8, 255 for "not in this schema"), so threads running
/// seeds side by side share it without a lock and can only ever read a whole entry; a slot two
/// names share just holds the later one. It changes how fast a lookup is, never its answer
/// (two literals with the same address and length have the same bytes).
#[derive(Default)]
struct NameMemo([AtomicU64; MEMO_SLOTS]);

const MEMO_SLOTS: usize = 32;
const MEMO_ABSENT: u64 = 255;

impl NameMemo {
    /// The slot for `name` and the entry that would say `position` for it, if it fits one.
    fn entry(name: &'static str, position: Option<usize>) -> Option<(usize, u64)> {
        let address = name.as_ptr() as usize as u64;
        let len = u64::try_from(name.len()).ok().filter(|n| *n < 256)?;
        let code = match position {
            Some(p) => u64::try_from(p + 1).ok().filter(|p| *p < MEMO_ABSENT)?,
            None => MEMO_ABSENT,
        };
        if address >> 48 != 0 {
            return None;
        }
        let slot = (address.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 59) as usize % MEMO_SLOTS;
        Some((slot, address | len << 48 | code << 56))
    }

    /// `Some(answer)` if the memo holds `name`.
    fn get(&self, name: &'static str) -> Option<Option<usize>> {
        let (slot, probe) = NameMemo::entry(name, None)?;
        let held = self.0[slot].load(Ordering::Relaxed);
        if held & ((1 << 56) - 1) != probe & ((1 << 56) - 1) {
            return None;
        }
        match held >> 56 {
            MEMO_ABSENT => Some(None),
            code => Some(Some(code as usize - 1)),
        }
    }

    fn put(&self, name: &'static str, position: Option<usize>) {
        if let Some((slot, entry)) = NameMemo::entry(name, position) {
            self.0[slot].store(entry, Ordering::Relaxed);
        }
    }
}

impl Clone for NameMemo {
    fn clone(&self) -> Self {
        NameMemo::default() // a memo of this definition's own lookups; the clone learns anew
    }
}

impl PartialEq for NameMemo {
    fn eq(&self, _: &Self) -> bool {
        true // not part of the definition
    }
}

impl std::fmt::Debug for NameMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NameMemo")
    }
}

impl MessageDef {
    /// The field with tag `tag`.
    pub fn field_by_tag(&self, tag: u32) -> Option<&Field> {
        self.position_by_tag(tag).map(|at| &self.fields[at])
    }

    /// The position in [`Self::fields`] of the field with tag `tag`.
    pub fn position_by_tag(&self, tag: u32) -> Option<usize> {
        if let Some(&slot) = self.dense.get(tag as usize) {
            return usize::from(slot).checked_sub(1);
        }
        if !self.dense.is_empty() {
            return None; // dense covers every tag there is
        }
        let at = self.by_tag.binary_search_by_key(&tag, |(t, _)| *t).ok()?;
        Some(self.by_tag[at].1)
    }

    /// The field named `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.position(name, 0).map(|at| &self.fields[at])
    }

    /// True if a field in positions `from..to` (`from <= to <= fields.len()`) is required.
    pub fn requires_any(&self, from: usize, to: usize) -> bool {
        self.required_before[to] > self.required_before[from]
    }

    /// [`MessageDef::position`] for a name the program spells as a literal, remembered.
    pub fn position_static(&self, name: &'static str, from: usize) -> Option<usize> {
        if let Some(answer) = self.memo.get(name) {
            return answer;
        }
        let answer = self.position(name, from);
        self.memo.put(name, answer);
        answer
    }

    /// The position of the field named `name`, looking from position `from` on first, then
    /// from the start (a reader or writer that goes through the fields in order finds each one
    /// at once).
    pub fn position(&self, name: &str, from: usize) -> Option<usize> {
        let key = name_key(name);
        let from = from.min(self.name_keys.len());
        let is = |at: &usize| {
            self.name_keys[*at] == key && (name.len() < 8 || *self.fields[*at].name == *name)
        };
        (from..self.name_keys.len()).find(is).or_else(|| (0..from).find(is))
    }
}

/// A name packed into a number: its length and its first seven bytes. Names with different
/// keys differ; names shorter than eight bytes with equal keys are equal.
fn name_key(name: &str) -> u64 {
    let bytes = name.as_bytes();
    let mut key = (bytes.len().min(255) as u64) << 56;
    for (i, b) in bytes.iter().take(7).enumerate() {
        key |= u64::from(*b) << (8 * i);
    }
    key
}

/// Messages whose tags are all below this get a direct tag-to-field table.
const DENSE_TAGS: usize = 256;

/// One enum type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnumDef {
    /// Its name.
    pub name: Arc<str>,
    /// Its variants: `(name, number)`, in declaration order.
    pub variants: Vec<(String, u32)>,
}

impl EnumDef {
    /// The number of variant `name`.
    pub fn number(&self, name: &str) -> Option<u32> {
        self.variants.iter().find(|(n, _)| n == name).map(|(_, number)| *number)
    }

    /// The variant numbered `number`, or [`EnumValue::Unknown`].
    pub fn value(&self, number: u32) -> EnumValue {
        match self.variants.iter().find(|(_, n)| *n == number) {
            Some((name, _)) => EnumValue::Named(name.clone()),
            None => EnumValue::Unknown(number),
        }
    }
}

/// A set of message and enum types: one version of a schema file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Schema {
    /// The message types, in declaration order.
    pub messages: Vec<MessageDef>,
    /// The enum types, in declaration order.
    pub enums: Vec<EnumDef>,
}

/// A schema that cannot be read: the file (when known), the key and the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaError {
    /// The file, when the schema came from one.
    pub file: Option<String>,
    /// The key at fault, e.g. `message[0].field[2].type`.
    pub key: String,
    /// Why it is wrong.
    pub reason: String,
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(file) => write!(f, "{file}: {}: {}", self.key, self.reason),
            None => write!(f, "{}: {}", self.key, self.reason),
        }
    }
}

impl std::error::Error for SchemaError {}

fn error(key: impl Into<String>, reason: impl Into<String>) -> SchemaError {
    SchemaError { file: None, key: key.into(), reason: reason.into() }
}

const SCALARS: [(&str, Type); 10] = [
    ("bool", Type::Bool),
    ("int32", Type::Int32),
    ("int64", Type::Int64),
    ("uint32", Type::Uint32),
    ("uint64", Type::Uint64),
    ("fixed32", Type::Fixed32),
    ("fixed64", Type::Fixed64),
    ("float64", Type::Float64),
    ("bytes", Type::Bytes),
    ("string", Type::String),
];

impl Schema {
    /// Reads a schema file; the error names the file, the key and the reason.
    pub fn load(path: &Path) -> Result<Schema, SchemaError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| SchemaError {
            file: Some(file.clone()),
            key: "(file)".into(),
            reason: format!("cannot read: {e}"),
        })?;
        Schema::parse(&text).map_err(|e| SchemaError { file: Some(file), ..e })
    }

    /// Reads a schema from TOML text.
    pub fn parse(text: &str) -> Result<Schema, SchemaError> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            error("(toml)", e.message().trim_end_matches('.').to_string())
        })?;
        for key in table.keys() {
            if key != "message" && key != "enum" {
                return Err(error(key, "unknown key (expected [[message]] and [[enum]])"));
            }
        }
        let enums = array(&table, "enum")?;
        let messages = array(&table, "message")?;
        let mut schema = Schema::default();
        let mut names = BTreeMap::new();
        for (i, e) in enums.iter().enumerate() {
            let key = format!("enum[{i}]");
            let name = type_name(e, &key, &mut names, i)?;
            schema.enums.push(EnumDef { name, variants: Vec::new() });
        }
        for (i, m) in messages.iter().enumerate() {
            let key = format!("message[{i}]");
            let name = type_name(m, &key, &mut names, i + enums.len())?;
            schema.messages.push(MessageDef {
                name,
                version: 1,
                fields: Vec::new(),
                by_tag: Vec::new(),
                dense: Vec::new(),
                name_keys: Vec::new(),
                memo: NameMemo::default(),
                required_before: Vec::new(),
            });
        }
        for (i, e) in enums.iter().enumerate() {
            schema.enums[i].variants = parse_variants(e, &format!("enum[{i}]"))?;
        }
        let resolve = |name: &str| -> Option<Type> {
            let at = *names.get(name)?;
            Some(if at < enums.len() { Type::Enum(at) } else { Type::Message(at - enums.len()) })
        };
        for (i, m) in messages.iter().enumerate() {
            let key = format!("message[{i}]");
            let (version, fields) = parse_message(m, &key, &resolve, &schema.enums)?;
            let def = &mut schema.messages[i];
            def.version = version;
            def.by_tag = fields.iter().enumerate().map(|(at, f)| (f.tag, at)).collect();
            def.by_tag.sort_unstable();
            let tag_max = def.by_tag.last().map_or(0, |(t, _)| *t as usize);
            if tag_max < DENSE_TAGS && fields.len() < usize::from(u8::MAX) {
                def.dense = vec![0; tag_max + 1];
                for (at, f) in fields.iter().enumerate() {
                    def.dense[f.tag as usize] = at as u8 + 1;
                }
            }
            def.name_keys = fields.iter().map(|f| name_key(&f.name)).collect();
            def.required_before = std::iter::once(0)
                .chain(fields.iter().scan(0, |n, f| {
                    *n += u32::from(f.required);
                    Some(*n)
                }))
                .collect();
            def.fields = fields;
        }
        Ok(schema)
    }

    /// The message type named `name`.
    pub fn message(&self, name: &str) -> Option<&MessageDef> {
        self.messages.iter().find(|m| &*m.name == name)
    }

    /// The index of message type `name`.
    pub fn message_index(&self, name: &str) -> Option<usize> {
        self.messages.iter().position(|m| &*m.name == name)
    }

    /// How `ty` is written in a schema file (`list<uint64>`, `Entry`).
    pub fn type_name(&self, ty: &Type) -> String {
        match ty {
            Type::Message(i) => self.messages[*i].name.to_string(),
            Type::Enum(i) => self.enums[*i].name.to_string(),
            Type::List(t) => format!("list<{}>", self.type_name(t)),
            Type::Map(k, v) => format!("map<{}, {}>", self.type_name(k), self.type_name(v)),
            scalar => {
                SCALARS.iter().find(|(_, t)| t == scalar).map(|(n, _)| *n).expect("a scalar").into()
            }
        }
    }
}

fn array<'a>(table: &'a toml::Table, key: &str) -> Result<Vec<&'a toml::Table>, SchemaError> {
    let Some(value) = table.get(key) else { return Ok(Vec::new()) };
    let items = value.as_array().ok_or_else(|| error(key, "expected an array of tables"))?;
    if items.len() > FIELDS_MAX {
        return Err(error(key, format!("more than {FIELDS_MAX} entries")));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, v)| v.as_table().ok_or_else(|| error(format!("{key}[{i}]"), "expected a table")))
        .collect()
}

fn type_name(
    table: &toml::Table,
    key: &str,
    names: &mut BTreeMap<String, usize>,
    at: usize,
) -> Result<Arc<str>, SchemaError> {
    let name = table
        .get("name")
        .and_then(|v| v.as_str())
        .ok_or_else(|| error(format!("{key}.name"), "missing or not a string"))?;
    identifier(name, &format!("{key}.name"))?;
    if SCALARS.iter().any(|(n, _)| *n == name) || name == "list" || name == "map" {
        return Err(error(format!("{key}.name"), format!("`{name}` is a built-in type")));
    }
    if names.insert(name.to_string(), at).is_some() {
        return Err(error(format!("{key}.name"), format!("type `{name}` declared twice")));
    }
    Ok(Arc::from(name))
}

fn identifier(name: &str, key: &str) -> Result<(), SchemaError> {
    let ok = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(error(key, format!("`{name}` is not a name (letters, digits, `_`)")))
    }
}

fn no_unknown_keys(table: &toml::Table, key: &str, known: &[&str]) -> Result<(), SchemaError> {
    match table.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(error(format!("{key}.{k}"), format!("unknown key (known: {known:?})"))),
        None => Ok(()),
    }
}

fn parse_variants(table: &toml::Table, key: &str) -> Result<Vec<(String, u32)>, SchemaError> {
    no_unknown_keys(table, key, &["name", "variants"])?;
    let key = format!("{key}.variants");
    let variants = table
        .get("variants")
        .and_then(|v| v.as_table())
        .ok_or_else(|| error(&key, "missing or not a table of `name = number`"))?;
    if variants.is_empty() || variants.len() > FIELDS_MAX {
        return Err(error(&key, format!("an enum has 1 to {FIELDS_MAX} variants")));
    }
    let mut out: Vec<(String, u32)> = Vec::with_capacity(variants.len());
    for (name, number) in variants {
        let at = format!("{key}.{name}");
        identifier(name, &at)?;
        let number = number
            .as_integer()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n <= i32::MAX as u32)
            .ok_or_else(|| error(&at, "expected a number from 0 to 2147483647"))?;
        if let Some((other, _)) = out.iter().find(|(_, n)| *n == number) {
            return Err(error(&at, format!("number {number} is already `{other}`")));
        }
        out.push((name.clone(), number));
    }
    Ok(out)
}

type Resolver<'a> = dyn Fn(&str) -> Option<Type> + 'a;

fn parse_message(
    table: &toml::Table,
    key: &str,
    resolve: &Resolver<'_>,
    enums: &[EnumDef],
) -> Result<(u32, Vec<Field>), SchemaError> {
    no_unknown_keys(table, key, &["name", "version", "field"])?;
    let version = match table.get("version") {
        None => 1,
        Some(v) => v
            .as_integer()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n >= 1)
            .ok_or_else(|| error(format!("{key}.version"), "expected a whole number >= 1"))?,
    };
    let mut fields: Vec<Field> = Vec::new();
    for (i, f) in array(table, "field")
        .map_err(|e| error(format!("{key}.{}", e.key), e.reason))?
        .iter()
        .enumerate()
    {
        let at = format!("{key}.field[{i}]");
        let field = parse_field(f, &at, resolve, enums)?;
        if let Some(other) = fields.iter().find(|o| o.tag == field.tag) {
            let reason = format!("tag {} is already field `{}`", field.tag, other.name);
            return Err(error(format!("{at}.tag"), reason));
        }
        if fields.iter().any(|o| o.name == field.name) {
            return Err(error(format!("{at}.name"), format!("field `{}` twice", field.name)));
        }
        fields.push(field);
    }
    Ok((version, fields))
}

fn parse_field(
    table: &toml::Table,
    key: &str,
    resolve: &Resolver<'_>,
    enums: &[EnumDef],
) -> Result<Field, SchemaError> {
    no_unknown_keys(table, key, &["name", "tag", "type", "required", "default"])?;
    let name = table
        .get("name")
        .and_then(|v| v.as_str())
        .ok_or_else(|| error(format!("{key}.name"), "missing or not a string"))?;
    identifier(name, &format!("{key}.name"))?;
    let tag = table
        .get("tag")
        .and_then(|v| v.as_integer())
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| (1..=TAG_MAX).contains(n))
        .ok_or_else(|| error(format!("{key}.tag"), format!("expected a number 1..={TAG_MAX}")))?;
    let type_text = table
        .get("type")
        .and_then(|v| v.as_str())
        .ok_or_else(|| error(format!("{key}.type"), "missing or not a string"))?;
    let ty =
        parse_type(type_text, resolve).map_err(|reason| error(format!("{key}.type"), reason))?;
    let required = match table.get("required") {
        None => false,
        Some(v) => v.as_bool().ok_or_else(|| error(format!("{key}.required"), "not a bool"))?,
    };
    let collection = matches!(ty, Type::List(_) | Type::Map(..));
    if required && collection {
        let reason = "a list or map cannot be required (an empty one is not written)";
        return Err(error(format!("{key}.required"), reason));
    }
    let default = match table.get("default") {
        None => None,
        Some(v) => {
            Some(default_value(v, &ty, enums).map_err(|r| error(format!("{key}.default"), r))?)
        }
    };
    Ok(Field { name: Arc::from(name), tag, ty, required, default })
}

/// Parses a type expression: a scalar, `list<T>`, `map<K, V>`, or a declared name.
fn parse_type(text: &str, resolve: &Resolver<'_>) -> Result<Type, String> {
    parse_type_at(text.trim(), resolve, 0)
}

fn parse_type_at(text: &str, resolve: &Resolver<'_>, depth: usize) -> Result<Type, String> {
    if depth > super::DEPTH_MAX {
        return Err(format!("type nested deeper than {}", super::DEPTH_MAX));
    }
    if let Some((_, ty)) = SCALARS.iter().find(|(n, _)| *n == text) {
        return Ok(ty.clone());
    }
    if let Some(inner) = text.strip_prefix("list<").and_then(|t| t.strip_suffix('>')) {
        return Ok(Type::List(Box::new(parse_type_at(inner.trim(), resolve, depth + 1)?)));
    }
    if let Some(inner) = text.strip_prefix("map<").and_then(|t| t.strip_suffix('>')) {
        let comma =
            top_level_comma(inner).ok_or_else(|| format!("`{text}`: expected map<K, V>"))?;
        let key = parse_type_at(inner[..comma].trim(), resolve, depth + 1)?;
        let value = parse_type_at(inner[comma + 1..].trim(), resolve, depth + 1)?;
        if matches!(key, Type::Float64 | Type::Message(_) | Type::List(_) | Type::Map(..)) {
            return Err(format!("`{text}`: a map key is a bool, integer, string, bytes or enum"));
        }
        return Ok(Type::Map(Box::new(key), Box::new(value)));
    }
    resolve(text).ok_or_else(|| format!("unknown type `{text}`"))
}

fn top_level_comma(text: &str) -> Option<usize> {
    let mut depth = 0i32;
    for (i, c) in text.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => depth -= 1,
            ',' if depth == 0 => return Some(i),
            _ => {}
        }
    }
    None
}

/// A field's `default` as a value of its type.
fn default_value(v: &toml::Value, ty: &Type, enums: &[EnumDef]) -> Result<Value, String> {
    let int = || v.as_integer().ok_or_else(|| "expected an integer".to_string());
    let unsigned = |max: u64| -> Result<Value, String> {
        let n = match v {
            toml::Value::Integer(n) => u64::try_from(*n).map_err(|_| "negative".to_string())?,
            toml::Value::String(s) => s.parse::<u64>().map_err(|_| format!("`{s}`: not a u64"))?,
            _ => return Err("expected a whole number".into()),
        };
        if n > max {
            return Err(format!("{n} is out of range (max {max})"));
        }
        Ok(Value::Uint(n))
    };
    Ok(match ty {
        Type::Bool => Value::Bool(v.as_bool().ok_or("expected a bool")?),
        Type::Int32 => {
            let n = int()?;
            i32::try_from(n).map_err(|_| format!("{n} does not fit int32"))?;
            Value::Int(n)
        }
        Type::Int64 => Value::Int(int()?),
        Type::Uint32 | Type::Fixed32 => unsigned(u64::from(u32::MAX))?,
        Type::Uint64 | Type::Fixed64 => unsigned(u64::MAX)?,
        Type::Float64 => match v {
            toml::Value::Float(x) => Value::Float(*x),
            toml::Value::Integer(n) => Value::Float(*n as f64),
            _ => return Err("expected a number".into()),
        },
        Type::String => Value::String(v.as_str().ok_or("expected a string")?.to_string()),
        Type::Bytes => Value::Bytes(v.as_str().ok_or("expected a string")?.as_bytes().to_vec()),
        Type::Enum(i) => {
            let name = v.as_str().ok_or("expected a variant name")?;
            enums[*i]
                .number(name)
                .ok_or_else(|| format!("`{name}` is not a variant of `{}`", enums[*i].name))?;
            Value::Enum(EnumValue::Named(name.to_string()))
        }
        Type::Message(_) | Type::List(_) | Type::Map(..) => {
            return Err("no default for messages, lists and maps (lists and maps default to \
                        empty; a missing message is absent)"
                .into())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_types_defaults_and_enums() {
        let s = Schema::parse(
            "[[enum]]\nname = \"Color\"\nvariants = { red = 0, blue = 7 }\n\
             [[message]]\nname = \"M\"\nversion = 3\n\
             [[message.field]]\nname = \"a\"\ntag = 1\ntype = \"map<string, list<Color>>\"\n\
             [[message.field]]\nname = \"c\"\ntag = 2\ntype = \"Color\"\ndefault = \"blue\"\n\
             [[message.field]]\nname = \"n\"\ntag = 9\ntype = \"M\"\n",
        )
        .unwrap();
        let m = s.message("M").unwrap();
        assert_eq!(m.version, 3);
        assert_eq!(s.type_name(&m.fields[0].ty), "map<string, list<Color>>");
        assert_eq!(m.field_by_tag(9).unwrap().ty, Type::Message(0));
        assert_eq!(m.fields[1].default, Some(Value::Enum(EnumValue::Named("blue".into()))));
        assert_eq!(s.enums[0].value(3), EnumValue::Unknown(3));
    }

    #[test]
    fn errors_name_the_key_and_the_reason() {
        let bad = |text: &str| Schema::parse(text).unwrap_err();
        let field = "[[message]]\nname = \"M\"\n[[message.field]]\nname = \"a\"\ntag = 1\n";
        let e = bad(&format!("{field}type = \"Nope\""));
        assert_eq!(
            (e.key.as_str(), e.reason.as_str()),
            ("message[0].field[0].type", "unknown type `Nope`")
        );
        let e = bad(&format!("{field}type = \"int32\"\ndefault = 5000000000"));
        assert_eq!(e.key, "message[0].field[0].default");
        let e = bad(&format!("{field}type = \"list<int32>\"\nrequired = true"));
        assert_eq!(e.key, "message[0].field[0].required");
        let twice = format!(
            "{field}type = \"bool\"\n[[message.field]]\nname = \"b\"\ntag = 1\n\
                             type = \"bool\""
        );
        assert!(bad(&twice).reason.contains("tag 1 is already field `a`"));
        assert_eq!(bad("[[message]]\nname = \"int32\"").key, "message[0].name");
        assert_eq!(bad("[[message]]\nname = \"M\"\ncolour = 1").key, "message[0].colour");
        assert_eq!(bad("nonsense = ").key, "(toml)");
    }
}
