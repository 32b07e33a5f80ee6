//! The direct path of the typed layer: a [`Sink`] that writes fields straight to the wire and
//! a [`Source`] that reads them from a borrowed view of the bytes, both driven by the schema's
//! field table (tag, type, required, default), with no [`super::Value`] tree in between.
//!
//! The writer walks the schema's fields in declaration order alongside the type's calls (a
//! merge of two ordered lists: each lookup usually hits the very next field), so it writes
//! the fields in the order the dynamic encoder does and the bytes are the same. The reader
//! finds a field by scanning the message's keys (messages are a handful of fields) and
//! decodes only the payloads the type asks for; [`View::finish`] checks the whole message is
//! well formed, so both paths reject the same damaged input of the fields they read.

use super::schema::{Field, MessageDef, Schema, Type};
use super::typed::{shape, variant_position, Message, Sink, Source};
use super::value::{EnumValue, Value};
use super::wire::{
    begin_delimited, decode_scalar, end_delimited, put_bytes, put_key, put_unsigned, put_varint,
    wire_error, wire_type, DecodeError, DecodeReason, EncodeError, Input, LEN, VARINT,
};
use super::DEPTH_MAX;

/// Writes one message's fields to `out` as the type hands them over.
pub struct WireSink<'a> {
    schema: &'a Schema,
    def: &'a MessageDef,
    out: &'a mut Vec<u8>,
    /// The first schema field not yet passed: the type writes fields in declaration order.
    next: usize,
    depth: usize,
}

impl<'a> WireSink<'a> {
    /// A writer of message number `index` of `schema` onto `out`, `depth` records deep.
    pub fn new(schema: &'a Schema, index: usize, out: &'a mut Vec<u8>, depth: usize) -> Self {
        assert!(index < schema.messages.len(), "message {index} is in the schema");
        WireSink { schema, def: &schema.messages[index], out, next: 0, depth }
    }

    fn fail(&self, field: &str, reason: impl Into<String>) -> EncodeError {
        EncodeError { path: format!("{}.{field}", self.def.name), reason: reason.into() }
    }

    /// The schema's field `name`, if this version declares it; passing over required fields
    /// the type did not write, or writing a field again or out of order, is an error.
    fn slot(&mut self, name: &str) -> Result<Option<&'a Field>, EncodeError> {
        let fields = &self.def.fields;
        let Some(offset) = fields[self.next..].iter().position(|f| &*f.name == name) else {
            if fields[..self.next].iter().any(|f| &*f.name == name) {
                return Err(self.fail(name, "written twice or out of the schema's order"));
            }
            return Ok(None); // not in this version of the schema: left out
        };
        let at = self.next + offset;
        if let Some(skipped) = fields[self.next..at].iter().find(|f| f.required) {
            return Err(self.fail(&skipped.name, "required, not set"));
        }
        self.next = at + 1;
        Ok(Some(&fields[at]))
    }

    /// Checks that no required field was left out.
    pub fn finish(self) -> Result<(), EncodeError> {
        match self.def.fields[self.next..].iter().find(|f| f.required) {
            Some(field) => Err(self.fail(&field.name, "required, not set")),
            None => Ok(()),
        }
    }

    fn mismatch(&self, field: &Field, got: &str) -> EncodeError {
        let want = self.schema.type_name(&field.ty);
        self.fail(&field.name, format!("expected {want}, got {got}"))
    }

    /// Writes a nested message `m` of type `index` with key `tag`.
    fn nested<M: Message>(&mut self, tag: u32, index: usize, m: &M) -> Result<(), EncodeError> {
        if self.depth + 1 >= DEPTH_MAX {
            return Err(self.fail("", format!("nested deeper than {DEPTH_MAX}")));
        }
        put_key(self.out, tag, LEN);
        let start = begin_delimited(self.out);
        let mut inner = WireSink::new(self.schema, index, self.out, self.depth + 1);
        m.write(&mut inner)?;
        inner.finish()?;
        end_delimited(self.out, start);
        Ok(())
    }
}

impl Sink for WireSink<'_> {
    fn uint(&mut self, name: &'static str, n: u64) -> Result<(), EncodeError> {
        let Some(field) = self.slot(name)? else { return Ok(()) };
        if !matches!(field.ty, Type::Uint32 | Type::Uint64 | Type::Fixed32 | Type::Fixed64) {
            return Err(self.mismatch(field, "unsigned integer"));
        }
        put_key(self.out, field.tag, wire_type(&field.ty));
        put_unsigned(&field.ty, n, self.out).map_err(|e| self.fail(name, e.reason))
    }

    fn boolean(&mut self, name: &'static str, b: bool) -> Result<(), EncodeError> {
        let Some(field) = self.slot(name)? else { return Ok(()) };
        if field.ty != Type::Bool {
            return Err(self.mismatch(field, "bool"));
        }
        put_key(self.out, field.tag, VARINT);
        self.out.push(u8::from(b));
        Ok(())
    }

    fn string(&mut self, name: &'static str, s: &str) -> Result<(), EncodeError> {
        let Some(field) = self.slot(name)? else { return Ok(()) };
        if field.ty != Type::String {
            return Err(self.mismatch(field, "string"));
        }
        put_key(self.out, field.tag, LEN);
        put_bytes(s.as_bytes(), self.out);
        Ok(())
    }

    fn bytes(&mut self, name: &'static str, b: &[u8]) -> Result<(), EncodeError> {
        let Some(field) = self.slot(name)? else { return Ok(()) };
        if field.ty != Type::Bytes {
            return Err(self.mismatch(field, "bytes"));
        }
        put_key(self.out, field.tag, LEN);
        put_bytes(b, self.out);
        Ok(())
    }

    fn variant(&mut self, name: &'static str, variant: &'static str) -> Result<(), EncodeError> {
        let Some(field) = self.slot(name)? else { return Ok(()) };
        let Type::Enum(index) = field.ty else { return Err(self.mismatch(field, "enum")) };
        let def = &self.schema.enums[index];
        let Some(number) = def.number(variant) else {
            let reason = format!("`{variant}` is not a variant of `{}`", def.name);
            return Err(self.fail(name, reason));
        };
        put_key(self.out, field.tag, VARINT);
        put_varint(self.out, u64::from(number));
        Ok(())
    }

    fn message<M: Message>(&mut self, name: &'static str, m: &M) -> Result<(), EncodeError> {
        let Some(field) = self.slot(name)? else { return Ok(()) };
        let Type::Message(index) = field.ty else { return Err(self.mismatch(field, "record")) };
        self.nested(field.tag, index, m).map_err(|e| within_encode(self.def, field, e))
    }

    fn uints(
        &mut self,
        name: &'static str,
        mut items: impl Iterator<Item = u64>,
    ) -> Result<(), EncodeError> {
        let Some(field) = self.slot(name)? else { return Ok(()) };
        let Type::List(elem) = &field.ty else { return Err(self.mismatch(field, "list")) };
        if !matches!(**elem, Type::Uint32 | Type::Uint64 | Type::Fixed32 | Type::Fixed64) {
            return Err(self.mismatch(field, "list of unsigned integers"));
        }
        let Some(first) = items.next() else { return Ok(()) }; // empty lists are not written
        put_key(self.out, field.tag, LEN);
        let start = begin_delimited(self.out);
        for n in std::iter::once(first).chain(items) {
            put_unsigned(elem, n, self.out).map_err(|e| self.fail(name, e.reason))?;
        }
        end_delimited(self.out, start);
        Ok(())
    }

    fn messages<M: Message>(&mut self, name: &'static str, items: &[M]) -> Result<(), EncodeError> {
        let Some(field) = self.slot(name)? else { return Ok(()) };
        let Type::List(elem) = &field.ty else { return Err(self.mismatch(field, "list")) };
        let Type::Message(index) = **elem else {
            return Err(self.mismatch(field, "list of records"));
        };
        if self.depth + 1 >= DEPTH_MAX {
            return Err(self.fail(name, format!("nested deeper than {DEPTH_MAX}")));
        }
        for m in items {
            self.nested(field.tag, index, m).map_err(|e| within_encode(self.def, field, e))?;
        }
        Ok(())
    }
}

/// `e`, an error inside field `field` of `def`, with its path completed.
fn within_encode(def: &MessageDef, field: &Field, e: EncodeError) -> EncodeError {
    let prefix = format!("{}.{}", def.name, field.name);
    if e.path.starts_with(&prefix) {
        return e; // raised about this very field
    }
    EncodeError { path: format!("{prefix} > {}", e.path), ..e }
}

/// A borrowed view of one encoded message, read field by field.
pub struct View<'a> {
    schema: &'a Schema,
    def: &'a MessageDef,
    bytes: &'a [u8],
    depth: usize,
}

impl<'a> View<'a> {
    /// A view of `bytes` as message number `index` of `schema`, `depth` records deep.
    pub fn new(
        schema: &'a Schema,
        index: usize,
        bytes: &'a [u8],
        depth: usize,
    ) -> Result<Self, DecodeError> {
        assert!(index < schema.messages.len(), "message {index} is in the schema");
        if depth >= DEPTH_MAX {
            return Err(DecodeError::new(DecodeReason::TooDeep));
        }
        Ok(View { schema, def: &schema.messages[index], bytes, depth })
    }

    fn error(&self, field: &Field, e: DecodeError) -> DecodeError {
        e.within(&self.def.name, &field.name)
    }

    /// Checks the whole message is well formed: every key valid, every payload within the
    /// bytes; required fields present (or defaulted).
    pub fn finish(&self) -> Result<(), DecodeError> {
        let mut input = Input { data: self.bytes };
        while !input.data.is_empty() {
            let (_, wire) = input.key().map_err(|e| e.within(&self.def.name, "?"))?;
            input.skip(wire).map_err(|e| e.within(&self.def.name, "?"))?;
        }
        for field in self.def.fields.iter().filter(|f| f.required && f.default.is_none()) {
            if !self.present(field)? {
                let reason = DecodeReason::MissingRequired { tag: field.tag };
                return Err(self.error(field, DecodeError::new(reason)));
            }
        }
        Ok(())
    }

    fn present(&self, field: &Field) -> Result<bool, DecodeError> {
        let mut found = false;
        self.each(field, |_, _| {
            found = true;
            Ok(())
        })?;
        Ok(found)
    }

    /// Calls `each` with the wire type and the payload of every occurrence of `field`.
    fn each(
        &self,
        field: &Field,
        mut each: impl FnMut(u8, &mut Input<'a>) -> Result<(), DecodeError>,
    ) -> Result<(), DecodeError> {
        let mut input = Input { data: self.bytes };
        while !input.data.is_empty() {
            let (tag, wire) = input.key().map_err(|e| e.within(&self.def.name, "?"))?;
            if tag == field.tag {
                let mut payload = Input { data: input.data };
                each(wire, &mut payload).map_err(|e| self.error(field, e))?;
            }
            input.skip(wire).map_err(|e| self.error(field, e))?;
        }
        Ok(())
    }

    /// The schema's field `name` (`None`: this version does not declare it).
    fn field(&self, name: &str) -> Option<&'a Field> {
        self.def.fields.iter().find(|f| &*f.name == name)
    }

    /// The last occurrence of scalar field `name`, decoded, or its default; `None` if absent
    /// and without a default (a required one is an error).
    fn scalar(&self, name: &str) -> Result<Option<(&'a Field, Value)>, DecodeError> {
        let Some(field) = self.field(name) else { return Ok(None) };
        let mut last = None;
        self.each(field, |wire, payload| {
            last = Some(decode_scalar(self.schema, &field.ty, wire, payload)?);
            Ok(())
        })?;
        self.or_default(field, last)
    }

    fn or_default(
        &self,
        field: &'a Field,
        found: Option<Value>,
    ) -> Result<Option<(&'a Field, Value)>, DecodeError> {
        match (found, &field.default) {
            (Some(value), _) => Ok(Some((field, value))),
            (None, Some(default)) => Ok(Some((field, default.clone()))),
            (None, None) if field.required => {
                let reason = DecodeReason::MissingRequired { tag: field.tag };
                Err(self.error(field, DecodeError::new(reason)))
            }
            (None, None) => Ok(None),
        }
    }

    fn wrong(&self, field: &Field, value: &Value, want: &str) -> DecodeError {
        self.typed(field, format!("holds a {}, want {want}", value.kind()))
    }

    /// A typed-layer error about `field` of this message.
    fn typed(&self, field: &Field, reason: String) -> DecodeError {
        DecodeError {
            path: format!("{}.{}", self.def.name, field.name),
            reason: DecodeReason::Typed(reason),
        }
    }

    /// Calls `each` with every element of list field `name` (packed or one per field).
    fn list(
        &self,
        name: &str,
        mut each: impl FnMut(&Type, u8, &mut Input<'a>) -> Result<(), DecodeError>,
    ) -> Result<(), DecodeError> {
        let Some(field) = self.field(name) else { return Ok(()) };
        let Type::List(elem) = &field.ty else {
            let kind = self.schema.type_name(&field.ty);
            return Err(self.typed(field, format!("is a {kind}, want a list")));
        };
        self.each(field, |wire, payload| {
            if wire == LEN && elem.is_packable() {
                let mut packed = Input { data: payload.delimited()? };
                while !packed.data.is_empty() {
                    each(elem, wire_type(elem), &mut packed)?;
                }
                return Ok(());
            }
            each(elem, wire, payload)
        })
    }

    fn nested<M: Message>(
        &self,
        ty: &Type,
        wire: u8,
        payload: &mut Input<'a>,
    ) -> Result<M, DecodeError> {
        let Type::Message(index) = *ty else {
            return Err(shape("", format!("is a {}, want a record", self.schema.type_name(ty))));
        };
        if wire != LEN {
            return Err(wire_error(self.schema, ty, wire));
        }
        let mut view = View::new(self.schema, index, payload.delimited()?, self.depth + 1)?;
        let value = M::read(&mut view)?;
        view.finish()?;
        Ok(value)
    }
}

impl Source for View<'_> {
    fn get_uint(&mut self, name: &'static str) -> Result<Option<u64>, DecodeError> {
        match self.scalar(name)? {
            None => Ok(None),
            Some((_, Value::Uint(n))) => Ok(Some(n)),
            Some((field, other)) => Err(self.wrong(field, &other, "unsigned integer")),
        }
    }

    fn get_bool(&mut self, name: &'static str) -> Result<Option<bool>, DecodeError> {
        match self.scalar(name)? {
            None => Ok(None),
            Some((_, Value::Bool(b))) => Ok(Some(b)),
            Some((field, other)) => Err(self.wrong(field, &other, "bool")),
        }
    }

    fn get_string(&mut self, name: &'static str) -> Result<Option<String>, DecodeError> {
        match self.scalar(name)? {
            None => Ok(None),
            Some((_, Value::String(s))) => Ok(Some(s)),
            Some((field, other)) => Err(self.wrong(field, &other, "string")),
        }
    }

    fn get_bytes(&mut self, name: &'static str) -> Result<Option<Vec<u8>>, DecodeError> {
        match self.scalar(name)? {
            None => Ok(None),
            Some((_, Value::Bytes(b))) => Ok(Some(b)),
            Some((field, other)) => Err(self.wrong(field, &other, "bytes")),
        }
    }

    fn get_variant(
        &mut self,
        name: &'static str,
        variants: &[&str],
    ) -> Result<Option<usize>, DecodeError> {
        let Some(field) = self.field(name) else { return Ok(None) };
        let Type::Enum(index) = field.ty else {
            let kind = self.schema.type_name(&field.ty);
            return Err(self.typed(field, format!("is a {kind}, want an enum")));
        };
        let def = &self.schema.enums[index];
        let mut number = None;
        self.each(field, |wire, payload| {
            if wire != VARINT {
                return Err(wire_error(self.schema, &field.ty, wire));
            }
            let n = payload.varint()?;
            let n = u32::try_from(n).map_err(|_| {
                DecodeError::new(DecodeReason::OutOfRange(format!("enum number {n}")))
            })?;
            number = Some(n);
            Ok(())
        })?;
        let variant = match (number, &field.default) {
            (Some(n), _) => match def.variants.iter().find(|(_, v)| *v == n) {
                Some((variant, _)) => variant.as_str(),
                None => return Err(self.typed(field, format!("unknown variant number {n}"))),
            },
            (None, Some(Value::Enum(EnumValue::Named(variant)))) => variant.as_str(),
            (None, _) => return self.or_default(field, None).map(|_| None),
        };
        variant_position(name, variant, variants)
            .map_err(|e| DecodeError { path: format!("{}.{}", self.def.name, e.path), ..e })
    }

    fn get_message<M: Message>(&mut self, name: &'static str) -> Result<Option<M>, DecodeError> {
        let Some(field) = self.field(name) else { return Ok(None) };
        let mut last = None;
        self.each(field, |wire, payload| {
            last = Some((wire, payload.data));
            Ok(())
        })?;
        let Some((wire, data)) = last else { return self.or_default(field, None).map(|_| None) };
        self.nested(&field.ty, wire, &mut Input { data })
            .map(Some)
            .map_err(|e| self.error(field, e))
    }

    fn uints(&mut self, name: &'static str) -> Result<Vec<u64>, DecodeError> {
        let mut out = Vec::new();
        self.list(name, |elem, wire, payload| {
            match decode_scalar(self.schema, elem, wire, payload)? {
                Value::Uint(n) => out.push(n),
                other => return Err(shape("", format!("holds a {}", other.kind()))),
            }
            Ok(())
        })?;
        Ok(out)
    }

    fn messages<M: Message>(&mut self, name: &'static str) -> Result<Vec<M>, DecodeError> {
        let mut out = Vec::new();
        self.list(name, |elem, wire, payload| {
            out.push(self.nested(elem, wire, payload)?);
            Ok(())
        })?;
        Ok(out)
    }

    fn missing(&self, name: &'static str, want: &str) -> DecodeError {
        let e = shape(name, format!("missing (want {want})"));
        DecodeError { path: format!("{}.{}", self.def.name, e.path), ..e }
    }
}
