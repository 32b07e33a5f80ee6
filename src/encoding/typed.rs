//! The typed layer: our own Rust types as records of a schema.
//!
//! A type implements [`Message`] (its message name, and how it maps to and from a
//! [`Record`]); [`encode_message`] and [`decode_message`] then go through the data-driven
//! encoder, so the schema alone decides the bytes. The record accessors
//! ([`Record::field`], [`Record::optional`]) turn a missing or mistyped field into a
//! [`DecodeError`] naming it.

use super::schema::Schema;
use super::value::{EnumValue, Record, Value};
use super::wire::{decode_index, encode_into, DecodeError, DecodeReason, EncodeError};

/// A Rust type encoded as one message type of a schema.
pub trait Message: Sized {
    /// The message type's name in the schema.
    const NAME: &'static str;
    /// The record to encode.
    fn to_record(&self) -> Record;
    /// The value read back; an error names the field that does not fit.
    fn from_record(record: Record) -> Result<Self, DecodeError>;
}

/// Encodes `value` with `schema` (whose message `T::NAME` must exist) onto `out`. Fields of
/// the Rust type that this version of the schema does not declare are left out: code running
/// an old schema writes only what that schema knows.
pub fn encode_message<T: Message>(
    schema: &Schema,
    value: &T,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let index = schema.message_index(T::NAME).ok_or_else(|| EncodeError {
        path: T::NAME.to_string(),
        reason: "no such message type in the schema".into(),
    })?;
    encode_into(schema, index, &value.to_record(), out, false)
}

/// Decodes a `T` written with any compatible version of `schema`.
pub fn decode_message<T: Message>(schema: &Schema, bytes: &[u8]) -> Result<T, DecodeError> {
    let index = schema.message_index(T::NAME).ok_or_else(|| DecodeError {
        path: String::new(),
        reason: DecodeReason::UnknownMessage(T::NAME.to_string()),
    })?;
    T::from_record(decode_index(schema, index, bytes)?).map_err(|e| {
        // A field the typed layer rejects is named within its message.
        if e.path.contains('.') {
            e
        } else {
            DecodeError { path: format!("{}.{}", T::NAME, e.path), ..e }
        }
    })
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

fn shape(field: &str, reason: String) -> DecodeError {
    DecodeError { path: field.to_string(), reason: DecodeReason::Typed(reason) }
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

    /// Takes enum field `name`; an unknown number (a newer writer's variant) is an error
    /// naming the field and the number, for types that cannot represent it.
    pub fn variant(&mut self, name: &str) -> Result<String, DecodeError> {
        match self.field::<EnumValue>(name)? {
            EnumValue::Named(variant) => Ok(variant),
            EnumValue::Unknown(n) => Err(shape(name, format!("unknown variant number {n}"))),
        }
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
