//! The wire format, encoded and decoded by walking the schema (no code per message type).
//!
//! A record is a sequence of fields, each `key: varint` (`tag << 3 | wire type`) then a
//! payload. Wire types: 0 varint (`bool`, `uint32`, `uint64`, enums), 1 eight bytes
//! (`fixed64`, `float64`), 2 length-delimited (`bytes`, `string`, nested records, packed
//! lists, map entries), 3 zigzag varint (`int32`, `int64`), 5 four bytes (`fixed32`). Signed
//! numbers have their own wire type so a reader can widen them to `float64` without the
//! writer's schema.
//!
//! Lists of numbers, bools and enums are packed into one length-delimited field; other lists
//! repeat the field once per element (an element that is itself a list or map is wrapped in a
//! record whose field 1 holds it). A map is one entry record per pair: key at tag 1, value at
//! tag 2. Empty lists and maps are not written.

use super::schema::{MessageDef, Schema, Type};
use super::value::{EnumValue, Record, Value};
use super::DEPTH_MAX;
use std::fmt;

pub(crate) const VARINT: u8 = 0;
pub(crate) const FIXED64: u8 = 1;
pub(crate) const LEN: u8 = 2;
pub(crate) const ZIGZAG: u8 = 3;
pub(crate) const FIXED32: u8 = 5;

/// Why a value could not be encoded: the path to the field and the reason. Boxed like
/// [`DecodeError`]; its parts read through `Deref` (`e.path`, `e.reason`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodeError(Box<EncodeErrorParts>);

/// What an [`EncodeError`] holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodeErrorParts {
    /// `Message.field > Nested.field`.
    pub path: String,
    /// What is wrong with the value.
    pub reason: String,
}

impl EncodeError {
    /// An error about the field at `path`.
    pub fn at(path: String, reason: String) -> Self {
        EncodeError(Box::new(EncodeErrorParts { path, reason }))
    }
}

impl std::ops::Deref for EncodeError {
    type Target = EncodeErrorParts;

    fn deref(&self) -> &EncodeErrorParts {
        &self.0
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

impl std::error::Error for EncodeError {}

/// What went wrong decoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeReason {
    /// The input ended inside a field.
    Truncated,
    /// A varint longer than 10 bytes or beyond 64 bits.
    VarintTooLong,
    /// A key with tag 0, a tag beyond 29 bits, or an unknown wire type.
    BadKey(u64),
    /// The field's wire type is not one the reader's type can read.
    WireType {
        /// The wire type found.
        found: u8,
        /// The reader's type.
        expected: String,
    },
    /// A number that does not fit the reader's type, or a bool other than 0 and 1.
    OutOfRange(String),
    /// A string that is not UTF-8.
    InvalidUtf8,
    /// A required field the writer did not write, and the reader has no default for.
    MissingRequired {
        /// Its tag.
        tag: u32,
    },
    /// A map entry or list wrapper without its key or value.
    IncompleteEntry,
    /// Records, lists and maps nested deeper than [`DEPTH_MAX`].
    TooDeep,
    /// The schema has no message of that name.
    UnknownMessage(String),
    /// The typed layer found a field missing or of another kind than its Rust type.
    Typed(String),
}

impl fmt::Display for DecodeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeReason::Truncated => write!(f, "input ends inside the field"),
            DecodeReason::VarintTooLong => write!(f, "varint longer than 64 bits"),
            DecodeReason::BadKey(key) => write!(f, "bad field key {key:#x}"),
            DecodeReason::WireType { found, expected } => {
                write!(f, "wire type {found} cannot be read as {expected}")
            }
            DecodeReason::OutOfRange(what) => write!(f, "out of range: {what}"),
            DecodeReason::InvalidUtf8 => write!(f, "string is not UTF-8"),
            DecodeReason::MissingRequired { tag } => {
                write!(f, "required field (tag {tag}) is missing")
            }
            DecodeReason::IncompleteEntry => write!(f, "map entry or list item without a value"),
            DecodeReason::TooDeep => write!(f, "nested deeper than {DEPTH_MAX}"),
            DecodeReason::UnknownMessage(name) => write!(f, "no message type `{name}`"),
            DecodeReason::Typed(what) => write!(f, "{what}"),
        }
    }
}

/// Why bytes could not be decoded: where (`Message.field > Nested.field`) and why. Boxed, so
/// that a decoder's `Result`s stay two words and the path that succeeds moves little; its
/// parts read through `Deref` (`e.path`, `e.reason`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError(Box<DecodeErrorParts>);

/// What a [`DecodeError`] holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeErrorParts {
    /// The fields from the outermost record in, `Message.field` each, joined by ` > `.
    pub path: String,
    /// What went wrong.
    pub reason: DecodeReason,
}

impl std::ops::Deref for DecodeError {
    type Target = DecodeErrorParts;

    fn deref(&self) -> &DecodeErrorParts {
        &self.0
    }
}

impl std::ops::DerefMut for DecodeError {
    fn deref_mut(&mut self) -> &mut DecodeErrorParts {
        &mut self.0
    }
}

impl DecodeError {
    pub(crate) fn new(reason: DecodeReason) -> Self {
        DecodeError::at(String::new(), reason)
    }

    /// An error at `path` (`Message.field > Nested.field`).
    pub fn at(path: String, reason: DecodeReason) -> Self {
        DecodeError(Box::new(DecodeErrorParts { path, reason }))
    }

    /// This error with its path replaced.
    pub(crate) fn with_path(mut self, path: String) -> Self {
        self.path = path;
        self
    }

    pub(crate) fn within(mut self, message: &str, field: &str) -> Self {
        self.path = if self.path.is_empty() {
            format!("{message}.{field}")
        } else {
            format!("{message}.{field} > {}", self.path)
        };
        self
    }

    /// The innermost `Message.field` the error is about (empty if none).
    pub fn field(&self) -> &str {
        self.path.rsplit(" > ").next().unwrap_or("")
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.reason)
        } else {
            write!(f, "{}: {}", self.path, self.reason)
        }
    }
}

impl std::error::Error for DecodeError {}

/// The wire type a single value of `ty` is written with.
pub(crate) fn wire_type(ty: &Type) -> u8 {
    match ty {
        Type::Bool | Type::Uint32 | Type::Uint64 | Type::Enum(_) => VARINT,
        Type::Int32 | Type::Int64 => ZIGZAG,
        Type::Fixed64 | Type::Float64 => FIXED64,
        Type::Fixed32 => FIXED32,
        Type::Bytes | Type::String | Type::Message(_) | Type::List(_) | Type::Map(..) => LEN,
    }
}

/// Encodes `record` as message `message` of `schema`.
pub fn encode(schema: &Schema, message: &str, record: &Record) -> Result<Vec<u8>, EncodeError> {
    let index = schema.message_index(message).ok_or_else(|| {
        EncodeError::at(message.to_string(), "no such message type in the schema".into())
    })?;
    let mut out = Vec::with_capacity(64);
    let writer = Writer { schema, strict: true };
    writer.record(&schema.messages[index], record, &mut out, 0)?;
    Ok(out)
}

/// Appends `record` as message number `index` of `schema` to `out`. `strict`: a field the
/// schema does not declare is an error; otherwise it is left out, as a writer on an older
/// version of the schema would not know it (the typed layer writes this way).
pub fn encode_into(
    schema: &Schema,
    index: usize,
    record: &Record,
    out: &mut Vec<u8>,
    strict: bool,
) -> Result<(), EncodeError> {
    Writer { schema, strict }.record(&schema.messages[index], record, out, 0)
}

/// The encoder's settings for one call.
#[derive(Clone, Copy)]
struct Writer<'a> {
    schema: &'a Schema,
    strict: bool,
}

impl Writer<'_> {
    fn record(
        self,
        def: &MessageDef,
        record: &Record,
        out: &mut Vec<u8>,
        depth: usize,
    ) -> Result<(), EncodeError> {
        let fail =
            |field: &str, reason: String| EncodeError::at(format!("{}.{field}", def.name), reason);
        if depth >= DEPTH_MAX {
            return Err(fail("", format!("nested deeper than {DEPTH_MAX}")));
        }
        for (name, _) in record.iter() {
            if self.strict && def.field(name).is_none() {
                return Err(fail(name, "no such field in the schema".into()));
            }
        }
        for field in &def.fields {
            match record.get(&field.name) {
                None if field.required => {
                    return Err(fail(&field.name, "required, not set".into()))
                }
                None => {}
                Some(value) => {
                    self.field(field.tag, &field.ty, value, out, depth).map_err(|e| {
                        let path = if e.path.is_empty() {
                            format!("{}.{}", def.name, field.name)
                        } else {
                            format!("{}.{} > {}", def.name, field.name, e.path)
                        };
                        EncodeError::at(path, e.reason.clone())
                    })?
                }
            }
        }
        Ok(())
    }
}

pub(crate) fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

pub(crate) fn put_key(out: &mut Vec<u8>, tag: u32, wire: u8) {
    put_varint(out, (u64::from(tag) << 3) | u64::from(wire));
}

/// Writes what `body` appends, prefixed by its length.
pub(crate) fn put_delimited<E>(
    out: &mut Vec<u8>,
    body: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
) -> Result<(), E> {
    let start = begin_delimited(out);
    body(out)?;
    end_delimited(out, start);
    Ok(())
}

/// Reserves one byte for a length prefix; returns where the body starts.
pub(crate) fn begin_delimited(out: &mut Vec<u8>) -> usize {
    out.push(0);
    out.len()
}

/// Writes the length of the body that began at `start` (from [`begin_delimited`]) into its
/// prefix, moving the body right when the length needs more than one byte (no allocation:
/// the common short body costs nothing).
pub(crate) fn end_delimited(out: &mut Vec<u8>, start: usize) {
    assert!(start >= 1 && start <= out.len(), "a delimited body starts after its prefix byte");
    let len = out.len() - start;
    if len < 0x80 {
        out[start - 1] = len as u8;
        return;
    }
    let mut prefix = [0u8; 10];
    let mut n = len as u64;
    let mut width = 0;
    while n >= 0x80 {
        prefix[width] = (n as u8) | 0x80;
        n >>= 7;
        width += 1;
    }
    prefix[width] = n as u8;
    width += 1;
    let extra = width - 1;
    out.resize(out.len() + extra, 0);
    out.copy_within(start..start + len, start + extra);
    out[start - 1..start - 1 + width].copy_from_slice(&prefix[..width]);
}

fn mismatch(ty: &str, value: &Value) -> EncodeError {
    EncodeError::at(String::new(), format!("expected {ty}, got {}", value.kind()))
}

impl Writer<'_> {
    fn field(
        self,
        tag: u32,
        ty: &Type,
        value: &Value,
        out: &mut Vec<u8>,
        depth: usize,
    ) -> Result<(), EncodeError> {
        match (ty, value) {
            (Type::List(elem), Value::List(items)) => {
                if items.is_empty() {
                    return Ok(());
                }
                if elem.is_packable() {
                    put_key(out, tag, LEN);
                    return put_delimited(out, |out| {
                        items.iter().try_for_each(|item| put_scalar(self.schema, elem, item, out))
                    });
                }
                for item in items {
                    self.item(tag, elem, item, out, depth + 1)?;
                }
                Ok(())
            }
            (Type::Map(key_type, value_type), Value::Map(pairs)) => {
                for (key, value) in pairs {
                    put_key(out, tag, LEN);
                    put_delimited(out, |out| {
                        self.item(1, key_type, key, out, depth + 1)?;
                        self.item(2, value_type, value, out, depth + 1)
                    })?;
                }
                Ok(())
            }
            (Type::List(_), other) => Err(mismatch("a list", other)),
            (Type::Map(..), other) => Err(mismatch("a map", other)),
            _ => self.item(tag, ty, value, out, depth),
        }
    }

    /// One value with its key: a list or map inside a list or map is wrapped in a record.
    fn item(
        self,
        tag: u32,
        ty: &Type,
        value: &Value,
        out: &mut Vec<u8>,
        depth: usize,
    ) -> Result<(), EncodeError> {
        if depth >= DEPTH_MAX {
            return Err(EncodeError::at(String::new(), format!("nested deeper than {DEPTH_MAX}")));
        }
        match (ty, value) {
            (Type::List(_) | Type::Map(..), _) => {
                put_key(out, tag, LEN);
                put_delimited(out, |out| self.field(1, ty, value, out, depth + 1))
            }
            (Type::Message(index), Value::Record(record)) => {
                put_key(out, tag, LEN);
                let def = &self.schema.messages[*index];
                put_delimited(out, |out| self.record(def, record, out, depth + 1))
            }
            (Type::Message(_), other) => Err(mismatch("a record", other)),
            _ => {
                put_key(out, tag, wire_type(ty));
                put_scalar(self.schema, ty, value, out)
            }
        }
    }
}

/// The payload of a number, bool, enum, string or bytes (no key).
fn put_scalar(
    schema: &Schema,
    ty: &Type,
    value: &Value,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let range = |what: String| EncodeError::at(String::new(), what);
    match (ty, value) {
        (Type::Bool, Value::Bool(b)) => out.push(u8::from(*b)),
        (Type::Int32, Value::Int(n)) => {
            i32::try_from(*n).map_err(|_| range(format!("{n} does not fit int32")))?;
            put_varint(out, zigzag(*n));
        }
        (Type::Int64, Value::Int(n)) => put_varint(out, zigzag(*n)),
        (Type::Uint32 | Type::Uint64 | Type::Fixed32 | Type::Fixed64, Value::Uint(n)) => {
            put_unsigned(ty, *n, out)?
        }
        (Type::Float64, Value::Float(x)) => out.extend_from_slice(&x.to_bits().to_le_bytes()),
        (Type::Bytes, Value::Bytes(b)) => put_bytes(b, out),
        (Type::String, Value::String(s)) => put_bytes(s.as_bytes(), out),
        (Type::Enum(index), Value::Enum(e)) => {
            let def = &schema.enums[*index];
            let number = match e {
                EnumValue::Named(name) => def
                    .number(name)
                    .ok_or_else(|| range(format!("`{name}` is not a variant of `{}`", def.name)))?,
                EnumValue::Unknown(n) => *n,
            };
            put_varint(out, u64::from(number));
        }
        (ty, value) => return Err(mismatch(&schema.type_name(ty), value)),
    }
    Ok(())
}

/// The payload of an unsigned number as `ty` (`uint32`, `uint64`, `fixed32`, `fixed64`).
pub(crate) fn put_unsigned(ty: &Type, n: u64, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let range = |what: String| EncodeError::at(String::new(), what);
    match ty {
        Type::Uint32 => {
            u32::try_from(n).map_err(|_| range(format!("{n} does not fit uint32")))?;
            put_varint(out, n);
        }
        Type::Uint64 => put_varint(out, n),
        Type::Fixed32 => {
            let n = u32::try_from(n).map_err(|_| range(format!("{n} does not fit fixed32")))?;
            out.extend_from_slice(&n.to_le_bytes());
        }
        Type::Fixed64 => out.extend_from_slice(&n.to_le_bytes()),
        _ => unreachable!("put_unsigned is called for unsigned types only"),
    }
    Ok(())
}

/// The payload of `bytes` or a `string`: its length, then the bytes.
pub(crate) fn put_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

fn unzigzag(n: u64) -> i64 {
    ((n >> 1) as i64) ^ -((n & 1) as i64)
}

/// Bytes being decoded; every read is checked against what remains.
pub(crate) struct Input<'a> {
    pub(crate) data: &'a [u8],
}

impl<'a> Input<'a> {
    pub(crate) fn varint(&mut self) -> Result<u64, DecodeError> {
        if let Some((&byte, rest)) = self.data.split_first() {
            if byte < 0x80 {
                self.data = rest; // the common case: a key, a small number, a short length
                return Ok(u64::from(byte));
            }
        }
        let mut n = 0u64;
        for (i, byte) in self.data.iter().enumerate().take(10) {
            if i == 9 && *byte > 1 {
                return Err(DecodeError::new(DecodeReason::VarintTooLong));
            }
            n |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                self.data = &self.data[i + 1..];
                return Ok(n);
            }
        }
        let reason = if self.data.len() >= 10 {
            DecodeReason::VarintTooLong
        } else {
            DecodeReason::Truncated
        };
        Err(DecodeError::new(reason))
    }

    pub(crate) fn bytes(&mut self, n: u64) -> Result<&'a [u8], DecodeError> {
        if n > self.data.len() as u64 {
            return Err(DecodeError::new(DecodeReason::Truncated));
        }
        let (head, tail) = self.data.split_at(n as usize);
        self.data = tail;
        Ok(head)
    }

    pub(crate) fn delimited(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.varint()?;
        self.bytes(len)
    }

    pub(crate) fn key(&mut self) -> Result<(u32, u8), DecodeError> {
        let key = self.varint()?;
        let tag = key >> 3;
        let wire = (key & 7) as u8;
        // Wire types 0, 1, 2, 3 and 5, as a bit set.
        if tag == 0 || tag > u64::from(super::TAG_MAX) || 0b10_1111 & (1 << wire) == 0 {
            return Err(DecodeError::new(DecodeReason::BadKey(key)));
        }
        Ok((tag as u32, wire))
    }

    pub(crate) fn skip(&mut self, wire: u8) -> Result<(), DecodeError> {
        match wire {
            VARINT | ZIGZAG => self.varint().map(|_| ()),
            FIXED64 => self.bytes(8).map(|_| ()),
            FIXED32 => self.bytes(4).map(|_| ()),
            _ => self.delimited().map(|_| ()),
        }
    }
}

/// Decodes `bytes` as message `message` of `schema`.
pub fn decode(schema: &Schema, message: &str, bytes: &[u8]) -> Result<Record, DecodeError> {
    let index = schema
        .message_index(message)
        .ok_or_else(|| DecodeError::new(DecodeReason::UnknownMessage(message.to_string())))?;
    decode_index(schema, index, bytes)
}

/// Decodes `bytes` as message number `index` of `schema`.
pub fn decode_index(schema: &Schema, index: usize, bytes: &[u8]) -> Result<Record, DecodeError> {
    decode_record(schema, &schema.messages[index], bytes, 0)
}

fn decode_record(
    schema: &Schema,
    def: &MessageDef,
    bytes: &[u8],
    depth: usize,
) -> Result<Record, DecodeError> {
    if depth >= DEPTH_MAX {
        return Err(DecodeError::new(DecodeReason::TooDeep));
    }
    let mut input = Input { data: bytes };
    let mut record = Record::with_capacity(def.fields.len());
    while !input.data.is_empty() {
        let (tag, wire) = input.key().map_err(|e| e.within(&def.name, "?"))?;
        let Some(field) = def.field_by_tag(tag) else {
            input.skip(wire).map_err(|e| e.within(&def.name, &format!("(unknown tag {tag})")))?;
            continue; // a newer writer's field: skipped (forward compatibility)
        };
        let mut slot = record.take(&field.name);
        decode_field(schema, &field.ty, wire, &mut input, &mut slot, depth)
            .map_err(|e| e.within(&def.name, &field.name))?;
        if let Some(value) = slot {
            record.push_absent(&field.name, value);
        }
    }
    if record.len() < def.fields.len() {
        for field in &def.fields {
            if record.get(&field.name).is_some() {
                continue;
            }
            let value = match (&field.ty, &field.default) {
                (Type::List(_), _) => Value::List(Vec::new()),
                (Type::Map(..), _) => Value::Map(Vec::new()),
                (_, Some(default)) => default.clone(),
                (_, None) if field.required => {
                    let reason = DecodeReason::MissingRequired { tag: field.tag };
                    return Err(DecodeError::new(reason).within(&def.name, &field.name));
                }
                (_, None) => continue,
            };
            record.push_absent(&field.name, value);
        }
    }
    Ok(record)
}

pub(crate) fn wire_error(schema: &Schema, ty: &Type, found: u8) -> DecodeError {
    DecodeError::new(DecodeReason::WireType { found, expected: schema.type_name(ty) })
}

/// Decodes one occurrence of a field of type `ty` into `slot` (a list grows; a single value
/// is replaced: the last occurrence wins).
fn decode_field(
    schema: &Schema,
    ty: &Type,
    wire: u8,
    input: &mut Input<'_>,
    slot: &mut Option<Value>,
    depth: usize,
) -> Result<(), DecodeError> {
    match ty {
        Type::List(elem) => {
            let items = match slot.get_or_insert_with(|| Value::List(Vec::new())) {
                Value::List(items) => items,
                _ => unreachable!("a list field's slot holds a list"),
            };
            if wire == LEN && elem.is_packable() {
                let mut packed = Input { data: input.delimited()? };
                while !packed.data.is_empty() {
                    items.push(decode_scalar(schema, elem, wire_type(elem), &mut packed)?);
                }
                return Ok(());
            }
            items.push(decode_item(schema, elem, wire, input, depth + 1)?);
        }
        Type::Map(key_type, value_type) => {
            if wire != LEN {
                return Err(wire_error(schema, ty, wire));
            }
            let mut entry = Input { data: input.delimited()? };
            let (mut key, mut value) = (None, None);
            while !entry.data.is_empty() {
                match entry.key()? {
                    (1, wire) => {
                        key = Some(decode_item(schema, key_type, wire, &mut entry, depth)?)
                    }
                    (2, wire) => {
                        value = Some(decode_item(schema, value_type, wire, &mut entry, depth)?)
                    }
                    (_, wire) => entry.skip(wire)?,
                }
            }
            let key = key.ok_or_else(|| DecodeError::new(DecodeReason::IncompleteEntry))?;
            let value = value
                .or_else(|| empty_collection(value_type))
                .ok_or_else(|| DecodeError::new(DecodeReason::IncompleteEntry))?;
            match slot.get_or_insert_with(|| Value::Map(Vec::new())) {
                Value::Map(pairs) => pairs.push((key, value)),
                _ => unreachable!("a map field's slot holds a map"),
            }
        }
        _ => *slot = Some(decode_item(schema, ty, wire, input, depth)?),
    }
    Ok(())
}

fn empty_collection(ty: &Type) -> Option<Value> {
    match ty {
        Type::List(_) => Some(Value::List(Vec::new())),
        Type::Map(..) => Some(Value::Map(Vec::new())),
        _ => None,
    }
}

/// One value (not a list occurrence): a record, a wrapped list or map, or a scalar.
fn decode_item(
    schema: &Schema,
    ty: &Type,
    wire: u8,
    input: &mut Input<'_>,
    depth: usize,
) -> Result<Value, DecodeError> {
    if depth >= DEPTH_MAX {
        return Err(DecodeError::new(DecodeReason::TooDeep));
    }
    match ty {
        Type::Message(index) => {
            if wire != LEN {
                return Err(wire_error(schema, ty, wire));
            }
            let body = input.delimited()?;
            Ok(Value::Record(decode_record(schema, &schema.messages[*index], body, depth + 1)?))
        }
        Type::List(_) | Type::Map(..) => {
            if wire != LEN {
                return Err(wire_error(schema, ty, wire));
            }
            let mut wrapper = Input { data: input.delimited()? };
            let mut slot = None;
            while !wrapper.data.is_empty() {
                match wrapper.key()? {
                    (1, wire) => {
                        decode_field(schema, ty, wire, &mut wrapper, &mut slot, depth + 1)?
                    }
                    (_, wire) => wrapper.skip(wire)?,
                }
            }
            slot.or_else(|| empty_collection(ty))
                .ok_or_else(|| DecodeError::new(DecodeReason::IncompleteEntry))
        }
        _ => decode_scalar(schema, ty, wire, input),
    }
}

fn out_of_range(what: String) -> DecodeError {
    DecodeError::new(DecodeReason::OutOfRange(what))
}

/// A number, bool, enum, string or bytes written with wire type `wire`; the reader's type
/// accepts the wire types of the types that safely widen to it.
pub(crate) fn decode_scalar(
    schema: &Schema,
    ty: &Type,
    wire: u8,
    input: &mut Input<'_>,
) -> Result<Value, DecodeError> {
    Ok(match (ty, wire) {
        (Type::Bool, VARINT) => match input.varint()? {
            0 => Value::Bool(false),
            1 => Value::Bool(true),
            n => return Err(out_of_range(format!("{n} is not a bool"))),
        },
        (Type::Int32, ZIGZAG) => {
            let n = unzigzag(input.varint()?);
            i32::try_from(n).map_err(|_| out_of_range(format!("{n} does not fit int32")))?;
            Value::Int(n)
        }
        (Type::Int64, ZIGZAG) => Value::Int(unzigzag(input.varint()?)),
        (Type::Int64, VARINT) => {
            let n = input.varint()?;
            Value::Int(i64::try_from(n).map_err(|_| out_of_range(format!("{n} > int64")))?)
        }
        (Type::Uint32, VARINT) => {
            let n = input.varint()?;
            u32::try_from(n).map_err(|_| out_of_range(format!("{n} does not fit uint32")))?;
            Value::Uint(n)
        }
        (Type::Uint64, VARINT) => Value::Uint(input.varint()?),
        (Type::Fixed32 | Type::Fixed64, FIXED32) => {
            Value::Uint(u64::from(u32::from_le_bytes(input.bytes(4)?.try_into().expect("4"))))
        }
        (Type::Fixed64, FIXED64) => {
            Value::Uint(u64::from_le_bytes(input.bytes(8)?.try_into().expect("8")))
        }
        (Type::Float64, FIXED64) => {
            Value::Float(f64::from_bits(u64::from_le_bytes(input.bytes(8)?.try_into().expect("8"))))
        }
        (Type::Float64, ZIGZAG) => Value::Float(unzigzag(input.varint()?) as f64),
        (Type::Float64, VARINT) => Value::Float(input.varint()? as f64),
        (Type::Bytes, LEN) => Value::Bytes(input.delimited()?.to_vec()),
        (Type::String, LEN) => {
            let bytes = input.delimited()?;
            let text = std::str::from_utf8(bytes)
                .map_err(|_| DecodeError::new(DecodeReason::InvalidUtf8))?;
            Value::String(text.to_string())
        }
        (Type::Enum(index), VARINT) => {
            let n = input.varint()?;
            let n = u32::try_from(n).map_err(|_| out_of_range(format!("enum number {n}")))?;
            Value::Enum(schema.enums[*index].value(n))
        }
        (ty, wire) => return Err(wire_error(schema, ty, wire)),
    })
}
