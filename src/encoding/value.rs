//! The dynamic value tree the encoder reads and the decoder builds.

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

/// A field's name in a [`Record`]: a literal of the typed layer or a name shared with the
/// schema, so building and decoding records allocates no strings for names.
#[derive(Clone, Debug)]
pub enum FieldName {
    /// A name written in the code.
    Static(&'static str),
    /// A name from a schema (or built at run time).
    Shared(Arc<str>),
}

impl std::ops::Deref for FieldName {
    type Target = str;
    fn deref(&self) -> &str {
        match self {
            FieldName::Static(s) => s,
            FieldName::Shared(s) => s,
        }
    }
}

impl PartialEq for FieldName {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl From<&'static str> for FieldName {
    fn from(name: &'static str) -> Self {
        FieldName::Static(name)
    }
}

impl From<&String> for FieldName {
    fn from(name: &String) -> Self {
        FieldName::Shared(Arc::from(name.as_str()))
    }
}

impl From<&Arc<str>> for FieldName {
    fn from(name: &Arc<str>) -> Self {
        FieldName::Shared(Arc::clone(name))
    }
}

/// The fields of one message, by name (at most one value per name). A field the writer left
/// out and the reader has no default for is absent. Records are small, so the fields are a
/// vector searched in order.
#[derive(Clone, Debug, Default)]
pub struct Record {
    fields: Vec<(FieldName, Value)>,
}

impl PartialEq for Record {
    /// Equal when the same names hold equal values, in any order.
    fn eq(&self, other: &Self) -> bool {
        self.fields.len() == other.fields.len()
            && self.fields.iter().all(|(name, value)| other.get(name) == Some(value))
    }
}

impl Record {
    /// An empty record.
    pub fn new() -> Self {
        Record::default()
    }

    /// An empty record with room for `fields` fields.
    pub(crate) fn with_capacity(fields: usize) -> Self {
        Record { fields: Vec::with_capacity(fields) }
    }

    /// Adds field `name`, which must not be set yet; returns the record for chaining (the
    /// typed layer's path: no search).
    pub fn with(mut self, name: impl Into<FieldName>, value: Value) -> Self {
        let name = name.into();
        assert!(self.get(&name).is_none() || !cfg!(debug_assertions), "`{}` set twice", &*name);
        self.fields.push((name, value));
        self
    }

    /// Adds field `name`, known to be absent (the decoder's path: no search).
    pub(crate) fn push_absent(&mut self, name: &Arc<str>, value: Value) {
        debug_assert!(self.get(name).is_none(), "field `{name}` set twice");
        self.fields.push((FieldName::Shared(Arc::clone(name)), value));
    }

    /// Sets field `name`.
    pub fn set(&mut self, name: impl Into<FieldName>, value: Value) {
        let name = name.into();
        match self.fields.iter_mut().find(|(n, _)| **n == *name) {
            Some(slot) => slot.1 = value,
            None => self.fields.push((name, value)),
        }
    }

    /// The value of field `name`, if present.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.iter().find(|(n, _)| &**n == name).map(|(_, v)| v)
    }

    /// Takes field `name` out of the record.
    pub fn take(&mut self, name: &str) -> Option<Value> {
        let at = self.fields.iter().position(|(n, _)| &**n == name)?;
        Some(self.fields.swap_remove(at).1)
    }

    /// The fields present, in the order set.
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
