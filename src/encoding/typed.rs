//! The typed layer: our own Rust types as messages of a schema.
//!
//! A type implements [`Message`]: it writes its fields to a [`Sink`] and reads them from a
//! [`Source`], by name. The schema alone decides the bytes (tags, wire types, which fields a
//! version has, defaults); the type only says which Rust value goes in which named field.
//! Two paths use the same two methods:
//!
//! - the direct path ([`encode_message`], [`decode_message`]): [`super::direct`] writes each
//!   field straight to the wire as the type hands it over, and reads fields out of a borrowed
//!   view of the bytes, so no [`Value`] tree is built and no field name is copied;
//! - the dynamic path ([`encode_message_dynamic`], [`decode_message_dynamic`]): through a
//!   [`Record`] and the data-driven encoder of [`super::wire`], as `sim schema check`, the
//!   fuzzer and the property tests use it. Both give the same bytes (a property test holds
//!   them to it).

use super::direct::{View, WireSink};
use super::schema::Schema;
use super::value::{EnumValue, Record, Value};
use super::wire::{decode_index, encode_into, DecodeError, DecodeReason, EncodeError};

/// A Rust type encoded as one message type of a schema.
pub trait Message: Sized {
    /// The message type's name in the schema.
    const NAME: &'static str;

    /// Hands each field to `sink`, in the order the schema declares them. A field the sink's
    /// schema version does not declare is left out: code running an old schema writes only
    /// what that schema knows.
    fn write<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError>;

    /// Reads the value back from `source`; an error names the field that does not fit.
    fn read<S: Source>(source: &mut S) -> Result<Self, DecodeError>;

    /// The value as a dynamic record (the dynamic path).
    fn to_record(&self) -> Record {
        let mut sink = RecordSink { record: Record::new() };
        self.write(&mut sink).expect("a record sink accepts every field");
        sink.record
    }

    /// The value read from a dynamic record (the dynamic path).
    fn from_record(mut record: Record) -> Result<Self, DecodeError> {
        Self::read(&mut record)
    }
}

/// Where a [`Message`] writes its fields. Names are the schema's field names; lists and maps
/// left empty are not written.
pub trait Sink {
    /// An unsigned number (`uint32`, `uint64`, `fixed32`, `fixed64`).
    fn uint(&mut self, name: &'static str, n: u64) -> Result<(), EncodeError>;
    /// A `bool`.
    fn boolean(&mut self, name: &'static str, b: bool) -> Result<(), EncodeError>;
    /// A `string`.
    fn string(&mut self, name: &'static str, s: &str) -> Result<(), EncodeError>;
    /// `bytes`.
    fn bytes(&mut self, name: &'static str, b: &[u8]) -> Result<(), EncodeError>;
    /// An enum variant, by name.
    fn variant(&mut self, name: &'static str, variant: &'static str) -> Result<(), EncodeError>;
    /// A nested message.
    fn message<M: Message>(&mut self, name: &'static str, m: &M) -> Result<(), EncodeError>;
    /// A `list<uint32>` or `list<uint64>`.
    fn uints(
        &mut self,
        name: &'static str,
        items: impl Iterator<Item = u64>,
    ) -> Result<(), EncodeError>;
    /// A list of nested messages.
    fn messages<M: Message>(&mut self, name: &'static str, items: &[M]) -> Result<(), EncodeError>;
}

/// Where a [`Message`] reads its fields from. The `get_` methods give `None` for a field that
/// is absent (and has no default in the schema); the others make that an error naming it.
pub trait Source {
    /// An unsigned number.
    fn get_uint(&mut self, name: &'static str) -> Result<Option<u64>, DecodeError>;
    /// A `bool`.
    fn get_bool(&mut self, name: &'static str) -> Result<Option<bool>, DecodeError>;
    /// A `string`.
    fn get_string(&mut self, name: &'static str) -> Result<Option<String>, DecodeError>;
    /// `bytes`.
    fn get_bytes(&mut self, name: &'static str) -> Result<Option<Vec<u8>>, DecodeError>;
    /// An enum variant, as its position in `variants` (the ones the Rust type knows); a
    /// variant not among them (a newer writer's) is an error naming the field.
    fn get_variant(
        &mut self,
        name: &'static str,
        variants: &[&str],
    ) -> Result<Option<usize>, DecodeError>;
    /// A nested message.
    fn get_message<M: Message>(&mut self, name: &'static str) -> Result<Option<M>, DecodeError>;
    /// A `list<uint32>` or `list<uint64>` (empty when absent).
    fn uints(&mut self, name: &'static str) -> Result<Vec<u64>, DecodeError>;
    /// A list of nested messages (empty when absent).
    fn messages<M: Message>(&mut self, name: &'static str) -> Result<Vec<M>, DecodeError>;
    /// Makes "field `name` is missing" an error of this source (its path names the message).
    fn missing(&self, name: &'static str, want: &str) -> DecodeError;

    /// An unsigned number that must be present.
    fn uint(&mut self, name: &'static str) -> Result<u64, DecodeError> {
        self.get_uint(name)?.ok_or_else(|| self.missing(name, "unsigned integer"))
    }
    /// An unsigned number that must be present and fit 32 bits.
    fn uint32(&mut self, name: &'static str) -> Result<u32, DecodeError> {
        let n = self.uint(name)?;
        u32::try_from(n).map_err(|_| self.missing(name, &format!("a u32, not {n}")))
    }
    /// A `bool` that must be present.
    fn boolean(&mut self, name: &'static str) -> Result<bool, DecodeError> {
        self.get_bool(name)?.ok_or_else(|| self.missing(name, "bool"))
    }
    /// A `string` that must be present.
    fn string(&mut self, name: &'static str) -> Result<String, DecodeError> {
        self.get_string(name)?.ok_or_else(|| self.missing(name, "string"))
    }
    /// An enum variant that must be present.
    fn variant(&mut self, name: &'static str, variants: &[&str]) -> Result<usize, DecodeError> {
        self.get_variant(name, variants)?.ok_or_else(|| self.missing(name, "enum"))
    }
    /// A nested message that must be present.
    fn message<M: Message>(&mut self, name: &'static str) -> Result<M, DecodeError> {
        self.get_message(name)?.ok_or_else(|| self.missing(name, "record"))
    }
}

/// Encodes `value` with `schema` (whose message `T::NAME` must exist) onto `out`, straight
/// to the wire (no [`Value`] tree).
pub fn encode_message<T: Message>(
    schema: &Schema,
    value: &T,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let index = message_index::<T>(schema)?;
    let mut sink = WireSink::new(schema, index, out, 0);
    value.write(&mut sink)?;
    sink.finish()
}

/// Decodes a `T` written with any compatible version of `schema`, from a borrowed view of
/// `bytes` (no [`Value`] tree).
pub fn decode_message<T: Message>(schema: &Schema, bytes: &[u8]) -> Result<T, DecodeError> {
    let index = schema
        .message_index(T::NAME)
        .ok_or_else(|| DecodeError::new(DecodeReason::UnknownMessage(T::NAME.to_string())))?;
    View::read(schema, index, bytes, 0)
}

/// [`encode_message`] through a [`Record`] and the dynamic encoder: the same bytes, slower.
pub fn encode_message_dynamic<T: Message>(
    schema: &Schema,
    value: &T,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let index = message_index::<T>(schema)?;
    encode_into(schema, index, &value.to_record(), out, false)
}

/// [`decode_message`] through the dynamic decoder and a [`Record`].
pub fn decode_message_dynamic<T: Message>(schema: &Schema, bytes: &[u8]) -> Result<T, DecodeError> {
    let index = schema
        .message_index(T::NAME)
        .ok_or_else(|| DecodeError::new(DecodeReason::UnknownMessage(T::NAME.to_string())))?;
    T::from_record(decode_index(schema, index, bytes)?).map_err(|e| {
        // A field the typed layer rejects is named within its message.
        if e.path.contains('.') {
            e
        } else {
            let path = format!("{}.{}", T::NAME, e.path);
            e.with_path(path)
        }
    })
}

fn message_index<T: Message>(schema: &Schema) -> Result<usize, EncodeError> {
    schema.message_index(T::NAME).ok_or_else(|| {
        EncodeError::at(T::NAME.to_string(), "no such message type in the schema".into())
    })
}

/// A [`Sink`] that builds a [`Record`] (names are static: no string is allocated for them).
struct RecordSink {
    record: Record,
}

impl Sink for RecordSink {
    fn uint(&mut self, name: &'static str, n: u64) -> Result<(), EncodeError> {
        self.record.set(name, Value::Uint(n));
        Ok(())
    }
    fn boolean(&mut self, name: &'static str, b: bool) -> Result<(), EncodeError> {
        self.record.set(name, Value::Bool(b));
        Ok(())
    }
    fn string(&mut self, name: &'static str, s: &str) -> Result<(), EncodeError> {
        self.record.set(name, Value::String(s.to_string()));
        Ok(())
    }
    fn bytes(&mut self, name: &'static str, b: &[u8]) -> Result<(), EncodeError> {
        self.record.set(name, Value::Bytes(b.to_vec()));
        Ok(())
    }
    fn variant(&mut self, name: &'static str, variant: &'static str) -> Result<(), EncodeError> {
        self.record.set(name, Value::variant(variant));
        Ok(())
    }
    fn message<M: Message>(&mut self, name: &'static str, m: &M) -> Result<(), EncodeError> {
        self.record.set(name, Value::Record(m.to_record()));
        Ok(())
    }
    fn uints(
        &mut self,
        name: &'static str,
        items: impl Iterator<Item = u64>,
    ) -> Result<(), EncodeError> {
        self.record.set(name, Value::List(items.map(Value::Uint).collect()));
        Ok(())
    }
    fn messages<M: Message>(&mut self, name: &'static str, items: &[M]) -> Result<(), EncodeError> {
        let records = items.iter().map(|m| Value::Record(m.to_record())).collect();
        self.record.set(name, Value::List(records));
        Ok(())
    }
}

/// A record is a [`Source`] (the dynamic path): fields are taken out as they are read.
impl Source for Record {
    fn get_uint(&mut self, name: &'static str) -> Result<Option<u64>, DecodeError> {
        self.optional(name)
    }
    fn get_bool(&mut self, name: &'static str) -> Result<Option<bool>, DecodeError> {
        self.optional(name)
    }
    fn get_string(&mut self, name: &'static str) -> Result<Option<String>, DecodeError> {
        self.optional(name)
    }
    fn get_bytes(&mut self, name: &'static str) -> Result<Option<Vec<u8>>, DecodeError> {
        self.optional(name)
    }
    fn get_variant(
        &mut self,
        name: &'static str,
        variants: &[&str],
    ) -> Result<Option<usize>, DecodeError> {
        match self.optional::<EnumValue>(name)? {
            None => Ok(None),
            Some(EnumValue::Named(variant)) => variant_position(name, &variant, variants),
            Some(EnumValue::Unknown(n)) => Err(shape(name, format!("unknown variant number {n}"))),
        }
    }
    fn get_message<M: Message>(&mut self, name: &'static str) -> Result<Option<M>, DecodeError> {
        self.optional::<Record>(name)?.map(M::from_record).transpose()
    }
    fn uints(&mut self, name: &'static str) -> Result<Vec<u64>, DecodeError> {
        self.list(name)
    }
    fn messages<M: Message>(&mut self, name: &'static str) -> Result<Vec<M>, DecodeError> {
        self.list::<Record>(name)?.into_iter().map(M::from_record).collect()
    }
    fn missing(&self, name: &'static str, want: &str) -> DecodeError {
        shape(name, format!("missing (want {want})"))
    }
}

/// The position of `variant` in `variants`, or an error naming field `field`.
pub(crate) fn variant_position(
    field: &str,
    variant: &str,
    variants: &[&str],
) -> Result<Option<usize>, DecodeError> {
    match variants.iter().position(|v| *v == variant) {
        Some(at) => Ok(Some(at)),
        None => Err(shape(field, format!("variant `{variant}` unknown to this build"))),
    }
}

/// A Rust value a field's [`Value`] converts into.
pub trait FromValue: Sized {
    /// What the field should hold, for errors.
    const KIND: &'static str;
    /// The value, if `value` is of the right kind and range.
    fn from_value(value: Value) -> Option<Self>;
}

macro_rules! from_value {
    ($ty:ty, $kind:literal, $pattern:pat => $out:expr) => {
        impl FromValue for $ty {
            const KIND: &'static str = $kind;
            fn from_value(value: Value) -> Option<Self> {
                match value {
                    $pattern => $out,
                    _ => None,
                }
            }
        }
    };
}

from_value!(bool, "bool", Value::Bool(b) => Some(b));
from_value!(u64, "unsigned integer", Value::Uint(n) => Some(n));
from_value!(u32, "unsigned integer", Value::Uint(n) => u32::try_from(n).ok());
from_value!(i64, "signed integer", Value::Int(n) => Some(n));
from_value!(f64, "float", Value::Float(x) => Some(x));
from_value!(String, "string", Value::String(s) => Some(s));
from_value!(Vec<u8>, "bytes", Value::Bytes(b) => Some(b));
from_value!(Record, "record", Value::Record(r) => Some(r));
from_value!(Vec<Value>, "list", Value::List(items) => Some(items));
from_value!(EnumValue, "enum", Value::Enum(e) => Some(e));

/// A typed-layer error about field `field` (a path the caller completes).
pub(crate) fn shape(field: &str, reason: String) -> DecodeError {
    DecodeError::at(field.to_string(), DecodeReason::Typed(reason))
}

impl Record {
    /// Takes field `name` as a `T`: an error if it is absent or of another kind.
    pub fn field<T: FromValue>(&mut self, name: &str) -> Result<T, DecodeError> {
        self.optional(name)?.ok_or_else(|| shape(name, format!("missing (want {})", T::KIND)))
    }

    /// Takes field `name` as a `T` if present: an error if it is of another kind.
    pub fn optional<T: FromValue>(&mut self, name: &str) -> Result<Option<T>, DecodeError> {
        match self.take(name) {
            None => Ok(None),
            Some(value) => {
                let kind = value.kind();
                let wrong = || shape(name, format!("holds a {kind}, want {}", T::KIND));
                T::from_value(value).map(Some).ok_or_else(wrong)
            }
        }
    }

    /// Takes list field `name` with every element a `T`.
    pub fn list<T: FromValue>(&mut self, name: &str) -> Result<Vec<T>, DecodeError> {
        let items: Vec<Value> = self.optional(name)?.unwrap_or_default();
        items
            .into_iter()
            .map(|item| T::from_value(item).ok_or_else(|| shape(name, format!("a {}", T::KIND))))
            .collect()
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<u64> for Value {
    fn from(n: u64) -> Value {
        Value::Uint(n)
    }
}

impl From<u32> for Value {
    fn from(n: u32) -> Value {
        Value::Uint(u64::from(n))
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Value {
        Value::Int(n)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}

impl From<Record> for Value {
    fn from(r: Record) -> Value {
        Value::Record(r)
    }
}

impl Value {
    /// An enum value by variant name.
    pub fn variant(name: &str) -> Value {
        Value::Enum(EnumValue::Named(name.to_string()))
    }
}
