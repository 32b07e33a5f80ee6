//! The dynamic value tree the encoder reads and the decoder builds.

use std::collections::BTreeMap;
use std::sync::Arc;

/// One value of a schema type. Signed integers (`int32`, `int64`) are [`Value::Int`];
/// unsigned and fixed-width ones (`uint32`, `uint64`, `fixed32`, `fixed64`) are
/// [`Value::Uint`].
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `bool`.
    Bool(bool),
    /// `int32`, `int64`.
    Int(i64),
    /// `uint32`, `uint64`, `fixed32`, `fixed64`.
    Uint(u64),
    /// `float64`.
    Float(f64),
    /// `bytes`.
    Bytes(Vec<u8>),
    /// `string`.
    String(String),
    /// An enum variant.
    Enum(EnumValue),
    /// `list<T>`.
    List(Vec<Value>),
    /// `map<K, V>`, in the order written (a reader may get duplicate keys from a hostile
    /// writer; it keeps them, in order).
    Map(Vec<(Value, Value)>),
    /// A nested message.
    Record(Record),
}

/// An enum value: a variant the reader's schema names, or a number it does not know (written
/// by a newer schema), kept so it can be reported or passed on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnumValue {
    /// A variant by name.
    Named(String),
    /// A number the reader's schema has no variant for.
    Unknown(u32),
}

/// The fields of one message, by name. A field the writer left out and the reader has no
/// default for is absent.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Record {
    fields: BTreeMap<Arc<str>, Value>,
}

impl Record {
    /// An empty record.
    pub fn new() -> Self {
        Record::default()
    }

    /// Sets field `name` (replacing any value it had); returns the record for chaining.
    pub fn with(mut self, name: &str, value: Value) -> Self {
        self.set(name, value);
        self
    }

    /// Sets field `name`.
    pub fn set(&mut self, name: &str, value: Value) {
        self.fields.insert(Arc::from(name), value);
    }

    /// Sets field `name` with a name shared with the schema (no allocation for the name).
    pub(crate) fn set_shared(&mut self, name: &Arc<str>, value: Value) {
        self.fields.insert(Arc::clone(name), value);
    }

    /// The value of field `name`, if present.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.get(name)
    }

    /// Takes field `name` out of the record.
    pub fn take(&mut self, name: &str) -> Option<Value> {
        self.fields.remove(name)
    }

    /// The fields present, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.fields.iter().map(|(k, v)| (&**k, v))
    }

    /// Number of fields present.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True if no field is present.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

impl Value {
    /// What kind of value this is, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Bool(_) => "bool",
            Value::Int(_) => "signed integer",
            Value::Uint(_) => "unsigned integer",
            Value::Float(_) => "float",
            Value::Bytes(_) => "bytes",
            Value::String(_) => "string",
            Value::Enum(_) => "enum",
            Value::List(_) => "list",
            Value::Map(_) => "map",
            Value::Record(_) => "record",
        }
    }
}
