//! The direct path of the typed layer: a [`Sink`] that writes fields straight to the wire and
//! a [`Source`] that reads them from a borrowed view of the bytes, both driven by the schema's
//! field table (tag, type, required, default), with no [`super::Value`] tree in between.
//!
//! The writer walks the schema's fields in declaration order alongside the type's calls (a
//! merge of two ordered lists: each lookup usually hits the very next field), so it writes
//! the fields in the order the dynamic encoder does and the bytes are the same. The reader
//! walks the message's keys once, checking each key and length and noting where each field
//! lies, then decodes only the payloads the type asks for; [`View::finish`] checks required
//! fields, so both paths reject the same damaged input of the fields they read.

use super::schema::{Field, MessageDef, Schema, Type};
use super::typed::{shape, variant_position, Message, Sink, Source};
use super::value::{EnumValue, Value};
use super::wire::{
    begin_delimited, decode_scalar, end_delimited, put_bytes, put_key, put_unsigned, put_varint,
    wire_error, wire_type, DecodeError, DecodeReason, EncodeError, Input, FIXED32, FIXED64, LEN,
    VARINT,
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
        EncodeError::at(format!("{}.{field}", self.def.name), reason.into())
    }

    /// The schema's field `name`, if this version declares it; passing over required fields
    /// the type did not write, or writing a field again or out of order, is an error.
    fn slot(&mut self, name: &'static str) -> Result<Option<&'a Field>, EncodeError> {
        let fields = &self.def.fields;
        let Some(at) = self.def.position_static(name, self.next) else {
            return Ok(None); // not in this version of the schema: left out
        };
        if at < self.next {
            return Err(self.fail(name, "written twice or out of the schema's order"));
        }
        if self.def.requires_any(self.next, at) {
            let skipped = fields[self.next..at].iter().find(|f| f.required).expect("one is");
            return Err(self.fail(&skipped.name, "required, not set"));
        }
        self.next = at + 1;
        Ok(Some(&fields[at]))
    }

    /// Checks that no required field was left out.
    pub fn finish(self) -> Result<(), EncodeError> {
        if !self.def.requires_any(self.next, self.def.fields.len()) {
            return Ok(());
        }
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
        put_unsigned(&field.ty, n, self.out).map_err(|e| self.fail(name, e.reason.clone()))
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
            put_unsigned(elem, n, self.out).map_err(|e| self.fail(name, e.reason.clone()))?;
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
    EncodeError::at(format!("{prefix} > {}", e.path), e.reason.clone())
}

/// How many of a message's fields (in declaration order) [`View`] indexes; a field past them
/// is found by scanning the message, as a field that occurs more than once is.
const INDEXED: usize = 32;

/// Where a field's last occurrence lies in the message, and whether it occurs more than once,
/// in one word: the payload's offset (just after the key) times 16, plus 8 if it repeats
/// (a list written one element per key, or a scalar written twice), plus the wire type; 0 if
/// absent (no payload starts at offset 0).
#[derive(Clone, Copy, Default)]
struct Seen(u32);

/// What [`Seen`] says of a field.
enum Occurs {
    Never,
    Once {
        at: usize,
        wire: u8,
    },
    /// More than once, or at an offset too large to note: scan for it.
    Often,
}

impl Seen {
    const OFTEN: u32 = 8;

    fn noted(self, at: usize, wire: u8) -> Seen {
        match u32::try_from(at) {
            Ok(at) if self.0 == 0 && at < 1 << 28 => Seen(at << 4 | u32::from(wire)),
            _ => Seen(Seen::OFTEN),
        }
    }

    fn occurs(self) -> Occurs {
        match self.0 {
            0 => Occurs::Never,
            n if n & Seen::OFTEN != 0 => Occurs::Often,
            n => Occurs::Once { at: (n >> 4) as usize, wire: (n & 7) as u8 },
        }
    }
}

/// A borrowed view of one encoded message, read field by field. [`View::new`] walks the
/// message once, checking every key and payload length and noting where each field lies, so a
/// read of a field is a lookup, not a scan.
pub struct View<'a> {
    schema: &'a Schema,
    def: &'a MessageDef,
    bytes: &'a [u8],
    depth: usize,
    seen: [Seen; INDEXED],
    /// The field after the last one read: a type reads fields in about the schema's order, so
    /// the next name asked for is most often this one.
    next: usize,
}

impl<'a> View<'a> {
    /// A view of `bytes` as message number `index` of `schema`, `depth` records deep; an error
    /// if a key is malformed or a payload runs past the end.
    pub fn new(
        schema: &'a Schema,
        index: usize,
        bytes: &'a [u8],
        depth: usize,
    ) -> Result<Self, DecodeError> {
        let mut view = View::unwalked(schema, index, bytes, depth)?;
        view.walk()?;
        Ok(view)
    }

    /// Reads an `M` from `bytes` as message number `index` of `schema`, `depth` records deep,
    /// and checks its required fields: [`View::new`], [`Message::read`] and
    /// [`View::finish`] with the view kept in place (it is a few hundred bytes).
    pub fn read<M: Message>(
        schema: &'a Schema,
        index: usize,
        bytes: &'a [u8],
        depth: usize,
    ) -> Result<M, DecodeError> {
        let mut view = View::unwalked(schema, index, bytes, depth)?;
        view.walk()?;
        let value = M::read(&mut view)?;
        view.finish()?;
        Ok(value)
    }

    fn unwalked(
        schema: &'a Schema,
        index: usize,
        bytes: &'a [u8],
        depth: usize,
    ) -> Result<Self, DecodeError> {
        assert!(index < schema.messages.len(), "message {index} is in the schema");
        if depth >= DEPTH_MAX {
            return Err(DecodeError::new(DecodeReason::TooDeep));
        }
        let def = &schema.messages[index];
        Ok(View { schema, def, bytes, depth, seen: [Seen::default(); INDEXED], next: 0 })
    }

    /// Walks the message once: checks every key and length, notes where each field lies.
    fn walk(&mut self) -> Result<(), DecodeError> {
        let (def, bytes) = (self.def, self.bytes);
        let mut input = Input { data: bytes };
        while !input.data.is_empty() {
            let (tag, wire) = input.key().map_err(|e| e.within(&def.name, "?"))?;
            let position = def.position_by_tag(tag);
            let at = bytes.len() - input.data.len();
            input.skip(wire).map_err(|e| match position {
                Some(p) => e.within(&def.name, &def.fields[p].name),
                None => e.within(&def.name, "?"),
            })?;
            if let Some(seen) = position.and_then(|p| self.seen.get_mut(p)) {
                *seen = seen.noted(at, wire);
            }
        }
        Ok(())
    }

    fn error(&self, field: &Field, e: DecodeError) -> DecodeError {
        e.within(&self.def.name, &field.name)
    }

    /// Checks that every required field is present (or defaulted); the keys and lengths were
    /// checked by [`View::new`].
    pub fn finish(&self) -> Result<(), DecodeError> {
        if !self.def.requires_any(0, self.def.fields.len()) {
            return Ok(());
        }
        let required = self.def.fields.iter().enumerate().filter(|(_, f)| f.required);
        for (position, field) in required.filter(|(_, f)| f.default.is_none()) {
            if !self.present(position, field)? {
                let reason = DecodeReason::MissingRequired { tag: field.tag };
                return Err(self.error(field, DecodeError::new(reason)));
            }
        }
        Ok(())
    }

    fn present(&self, position: usize, field: &Field) -> Result<bool, DecodeError> {
        if let Some(seen) = self.seen.get(position) {
            return Ok(!matches!(seen.occurs(), Occurs::Never));
        }
        let mut found = false;
        self.each(position, field, |_, _| {
            found = true;
            Ok(())
        })?;
        Ok(found)
    }

    /// Calls `each` with the wire type and the payload of every occurrence of `field` (at
    /// `position` in the schema), oldest first.
    fn each(
        &self,
        position: usize,
        field: &Field,
        mut each: impl FnMut(u8, &mut Input<'a>) -> Result<(), DecodeError>,
    ) -> Result<(), DecodeError> {
        match self.seen.get(position).map(|s| s.occurs()) {
            Some(Occurs::Never) => return Ok(()),
            Some(Occurs::Once { at, wire }) => {
                let mut payload = Input { data: &self.bytes[at..] };
                return each(wire, &mut payload).map_err(|e| self.error(field, e));
            }
            _ => {}
        }
        // Keys and lengths are known good: `new` walked them.
        let mut input = Input { data: self.bytes };
        while !input.data.is_empty() {
            let (tag, wire) = input.key().map_err(|e| self.error(field, e))?;
            if tag == field.tag {
                let mut payload = Input { data: input.data };
                each(wire, &mut payload).map_err(|e| self.error(field, e))?;
            }
            input.skip(wire).map_err(|e| self.error(field, e))?;
        }
        Ok(())
    }

    /// The schema's field `name` and its position (`None`: this version does not declare it).
    fn field(&mut self, name: &'static str) -> Option<(usize, &'a Field)> {
        // A type that reads fields in the schema's order finds each at or after the cursor.
        let position = self.def.position_static(name, self.next)?;
        self.next = position + 1;
        Some((position, &self.def.fields[position]))
    }

    /// The last occurrence of scalar field `name`, decoded, or its default; `None` if absent
    /// and without a default (a required one is an error).
    fn scalar(&mut self, name: &'static str) -> Result<Option<(&'a Field, Value)>, DecodeError> {
        let Some((position, field)) = self.field(name) else { return Ok(None) };
        let mut last = None;
        self.each(position, field, |wire, payload| {
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
        DecodeError::at(format!("{}.{}", self.def.name, field.name), DecodeReason::Typed(reason))
    }

    /// Calls `each` with every element of list field `found` (packed or one per field).
    fn list(
        &self,
        found: Option<(usize, &'a Field)>,
        mut each: impl FnMut(&Type, u8, &mut Input<'a>) -> Result<(), DecodeError>,
    ) -> Result<(), DecodeError> {
        let Some((position, field)) = found else { return Ok(()) };
        let Type::List(elem) = &field.ty else {
            let kind = self.schema.type_name(&field.ty);
            return Err(self.typed(field, format!("is a {kind}, want a list")));
        };
        self.each(position, field, |wire, payload| {
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
        View::read(self.schema, index, payload.delimited()?, self.depth + 1)
    }
}

/// What [`View::quick`] found.
enum Quick<T> {
    /// The field's value (`None`: absent, optional, no default).
    Done(Option<T>),
    /// Not the common case: the general path decodes it (and words any error).
    Slow,
}

impl<'a> View<'a> {
    /// The common case of a scalar read, with no [`Value`] in between: field `name` occurs at
    /// most once and `read` takes its type and wire type (or `from_default` its default).
    fn quick<T>(
        &mut self,
        name: &'static str,
        read: impl FnOnce(&Type, u8, &mut Input<'a>) -> Option<T>,
        from_default: impl FnOnce(&Value) -> Option<T>,
    ) -> Quick<T> {
        let Some((position, field)) = self.field(name) else { return Quick::Done(None) };
        let found = match self.seen.get(position).map(|s| s.occurs()) {
            Some(Occurs::Once { at, wire }) => {
                read(&field.ty, wire, &mut Input { data: &self.bytes[at..] })
            }
            Some(Occurs::Never) => match &field.default {
                None if !field.required => return Quick::Done(None),
                Some(default) => from_default(default),
                None => None,
            },
            _ => None,
        };
        found.map_or(Quick::Slow, |value| Quick::Done(Some(value)))
    }
}

/// An unsigned number of type `ty` written with `wire`, if that is a pair that needs no check
/// beyond its range.
fn quick_unsigned(ty: &Type, wire: u8, input: &mut Input<'_>) -> Option<u64> {
    match (ty, wire) {
        (Type::Uint64, VARINT) => input.varint().ok(),
        (Type::Uint32, VARINT) => input.varint().ok().filter(|n| *n <= u64::from(u32::MAX)),
        (Type::Fixed32 | Type::Fixed64, FIXED32) => {
            Some(u64::from(u32::from_le_bytes(input.bytes(4).ok()?.try_into().ok()?)))
        }
        (Type::Fixed64, FIXED64) => Some(u64::from_le_bytes(input.bytes(8).ok()?.try_into().ok()?)),
        _ => None,
    }
}

impl Source for View<'_> {
    fn get_uint(&mut self, name: &'static str) -> Result<Option<u64>, DecodeError> {
        let uint = |v: &Value| if let Value::Uint(n) = v { Some(*n) } else { None };
        if let Quick::Done(found) = self.quick(name, quick_unsigned, uint) {
            return Ok(found);
        }
        match self.scalar(name)? {
            None => Ok(None),
            Some((_, Value::Uint(n))) => Ok(Some(n)),
            Some((field, other)) => Err(self.wrong(field, &other, "unsigned integer")),
        }
    }

    fn get_bool(&mut self, name: &'static str) -> Result<Option<bool>, DecodeError> {
        let read = |ty: &Type, wire, input: &mut Input<'_>| match (ty, wire) {
            (Type::Bool, VARINT) => input.varint().ok().filter(|n| *n <= 1).map(|n| n == 1),
            _ => None,
        };
        let flag = |v: &Value| if let Value::Bool(b) = v { Some(*b) } else { None };
        if let Quick::Done(found) = self.quick(name, read, flag) {
            return Ok(found);
        }
        match self.scalar(name)? {
            None => Ok(None),
            Some((_, Value::Bool(b))) => Ok(Some(b)),
            Some((field, other)) => Err(self.wrong(field, &other, "bool")),
        }
    }

    fn get_string(&mut self, name: &'static str) -> Result<Option<String>, DecodeError> {
        let read = |ty: &Type, wire, input: &mut Input<'_>| match (ty, wire) {
            (Type::String, LEN) => {
                std::str::from_utf8(input.delimited().ok()?).ok().map(str::to_string)
            }
            _ => None,
        };
        let text = |v: &Value| if let Value::String(s) = v { Some(s.clone()) } else { None };
        if let Quick::Done(found) = self.quick(name, read, text) {
            return Ok(found);
        }
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
        let Some((position, field)) = self.field(name) else { return Ok(None) };
        let Type::Enum(index) = field.ty else {
            let kind = self.schema.type_name(&field.ty);
            return Err(self.typed(field, format!("is a {kind}, want an enum")));
        };
        let def = &self.schema.enums[index];
        let mut number = None;
        self.each(position, field, |wire, payload| {
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
        variant_position(name, variant, variants).map_err(|e| {
            let path = format!("{}.{}", self.def.name, e.path);
            e.with_path(path)
        })
    }

    fn get_message<M: Message>(&mut self, name: &'static str) -> Result<Option<M>, DecodeError> {
        let Some((position, field)) = self.field(name) else { return Ok(None) };
        let mut last = None;
        self.each(position, field, |wire, payload| {
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
        let found = self.field(name);
        self.list(found, |elem, wire, payload| {
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
        let found = self.field(name);
        self.list(found, |elem, wire, payload| {
            out.push(self.nested(elem, wire, payload)?);
            Ok(())
        })?;
        Ok(out)
    }

    fn missing(&self, name: &'static str, want: &str) -> DecodeError {
        let e = shape(name, format!("missing (want {want})"));
        let path = format!("{}.{}", self.def.name, e.path);
        e.with_path(path)
    }
}
