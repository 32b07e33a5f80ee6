//! Property tests of the encoding: round trips over random schemas and values, old and new
//! readers across compatible evolutions, and a fuzzer of truncated and corrupted input.

use super::compat::{check, Mode, Rule};
use super::schema::{Schema, Type};
use super::value::{EnumValue, Record, Value};
use super::wire::{decode, encode, DecodeError, DecodeReason, EncodeError};
use proptest::prelude::*;
use std::fmt::Write as _;

/// A generated schema, kept as plain data so it can be evolved and rendered to TOML.
#[derive(Clone, Debug)]
struct Model {
    /// Variant numbers of each enum `E{i}`.
    enums: Vec<Vec<u32>>,
    /// Messages `M{i}`; a message refers only to later ones, so values are finite.
    messages: Vec<Vec<ModelField>>,
}

#[derive(Clone, Debug)]
struct ModelField {
    tag: u32,
    ty: String,
    required: bool,
    default: Option<String>,
}

impl Model {
    fn toml(&self) -> String {
        let mut out = String::new();
        for (i, numbers) in self.enums.iter().enumerate() {
            let variants: Vec<String> = numbers.iter().map(|n| format!("v{n} = {n}")).collect();
            let _ = writeln!(
                out,
                "[[enum]]\nname = \"E{i}\"\nvariants = {{ {} }}",
                variants.join(", ")
            );
        }
        for (i, fields) in self.messages.iter().enumerate() {
            let _ = writeln!(out, "[[message]]\nname = \"M{i}\"");
            for f in fields {
                let _ = writeln!(
                    out,
                    "[[message.field]]\nname = \"f{}\"\ntag = {}\ntype = \"{}\"\nrequired = {}",
                    f.tag, f.tag, f.ty, f.required
                );
                if let Some(default) = &f.default {
                    let _ = writeln!(out, "default = {default}");
                }
            }
        }
        out
    }

    fn schema(&self) -> Schema {
        Schema::parse(&self.toml()).unwrap_or_else(|e| panic!("{e}\n{}", self.toml()))
    }
}

fn scalar_type() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("bool"),
        Just("int32"),
        Just("int64"),
        Just("uint32"),
        Just("uint64"),
        Just("fixed32"),
        Just("fixed64"),
        Just("float64"),
        Just("bytes"),
        Just("string"),
    ]
    .prop_map(String::from)
}

/// A field type for message `at` of `messages` with `enums` enums.
fn field_type(at: usize, messages: usize, enums: usize) -> BoxedStrategy<String> {
    let mut leaf = vec![scalar_type().boxed()];
    if enums > 0 {
        leaf.push((0..enums).prop_map(|i| format!("E{i}")).boxed());
    }
    if at + 1 < messages {
        leaf.push((at + 1..messages).prop_map(|i| format!("M{i}")).boxed());
    }
    let leaf = proptest::strategy::Union::new(leaf).boxed();
    let key = prop_oneof![Just("string"), Just("uint64"), Just("int32"), Just("bool")];
    prop_oneof![
        4 => leaf.clone(),
        1 => leaf.clone().prop_map(|t| format!("list<{t}>")),
        1 => (key, leaf.clone()).prop_map(|(k, v)| format!("map<{k}, {v}>")),
        1 => leaf.prop_map(|t| format!("list<list<{t}>>")),
    ]
    .boxed()
}

fn default_for(ty: &str) -> Option<String> {
    Some(
        match ty {
            "bool" => "true",
            "int32" | "int64" => "-3",
            "uint32" | "uint64" | "fixed32" | "fixed64" => "7",
            "float64" => "1.5",
            "bytes" | "string" => "\"d\"",
            _ => return None,
        }
        .into(),
    )
}

fn model() -> impl Strategy<Value = Model> {
    let enums = prop::collection::vec(prop::collection::btree_set(0u32..20, 1..4), 0..3);
    (enums, 1usize..4).prop_flat_map(|(enums, count)| {
        let enums: Vec<Vec<u32>> = enums.into_iter().map(|s| s.into_iter().collect()).collect();
        let enum_count = enums.len();
        let messages: Vec<_> = (0..count)
            .map(|at| {
                let field = (field_type(at, count, enum_count), any::<bool>(), any::<bool>());
                prop::collection::btree_map(1u32..40, field, 0..6).prop_map(|fields| {
                    fields
                        .into_iter()
                        .map(|(tag, (ty, required, with_default))| {
                            let collection = ty.starts_with("list") || ty.starts_with("map");
                            let default = if with_default { default_for(&ty) } else { None };
                            ModelField { tag, required: required && !collection, ty, default }
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        (Just(enums), messages).prop_map(|(enums, messages)| Model { enums, messages })
    })
}

/// A value of `ty` in `schema`.
fn value(schema: &Schema, ty: &Type, depth: usize) -> BoxedStrategy<Value> {
    let small = 0..3usize;
    match ty {
        Type::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Type::Int32 => any::<i32>().prop_map(|n| Value::Int(n.into())).boxed(),
        Type::Int64 => any::<i64>().prop_map(Value::Int).boxed(),
        Type::Uint32 | Type::Fixed32 => any::<u32>().prop_map(|n| Value::Uint(n.into())).boxed(),
        Type::Uint64 | Type::Fixed64 => any::<u64>().prop_map(Value::Uint).boxed(),
        Type::Float64 => (-1e12f64..1e12).prop_map(Value::Float).boxed(),
        Type::Bytes => prop::collection::vec(any::<u8>(), 0..5).prop_map(Value::Bytes).boxed(),
        Type::String => "[a-zé]{0,4}".prop_map(Value::String).boxed(),
        Type::Enum(i) => {
            let numbers: Vec<u32> = schema.enums[*i].variants.iter().map(|v| v.1).collect();
            let def = schema.enums[*i].clone();
            prop::sample::select(numbers).prop_map(move |n| Value::Enum(def.value(n))).boxed()
        }
        Type::List(elem) => prop::collection::vec(value(schema, elem, depth + 1), small)
            .prop_map(Value::List)
            .boxed(),
        Type::Map(k, v) => {
            let pair = (value(schema, k, depth + 1), value(schema, v, depth + 1));
            prop::collection::vec(pair, small).prop_map(Value::Map).boxed()
        }
        Type::Message(i) => record(schema, *i, depth + 1).prop_map(Value::Record).boxed(),
    }
}

/// A record of message `index`: required fields always, optional ones sometimes.
fn record(schema: &Schema, index: usize, depth: usize) -> BoxedStrategy<Record> {
    let fields: Vec<_> = schema.messages[index]
        .fields
        .iter()
        .map(|f| {
            let name = f.name.to_string();
            let present = if f.required { Just(true).boxed() } else { any::<bool>().boxed() };
            (Just(name), present, value(schema, &f.ty, depth))
        })
        .collect();
    fields
        .prop_map(|fields| {
            let mut record = Record::new();
            for (name, present, value) in fields {
                if present {
                    record.set(&name, value);
                }
            }
            record
        })
        .boxed()
}

/// What a reader of the same schema returns for `record`: absent fields filled in.
fn filled(schema: &Schema, index: usize, record: &Record) -> Record {
    let mut out = Record::new();
    for f in &schema.messages[index].fields {
        let value = match (record.get(&f.name), &f.ty, &f.default) {
            (Some(v), ty, _) => fill_value(schema, ty, v),
            (None, Type::List(_), _) => Value::List(Vec::new()),
            (None, Type::Map(..), _) => Value::Map(Vec::new()),
            (None, _, Some(default)) => default.clone(),
            (None, _, None) => continue,
        };
        out.set(&f.name, value);
    }
    out
}

fn fill_value(schema: &Schema, ty: &Type, value: &Value) -> Value {
    match (ty, value) {
        (Type::Message(i), Value::Record(r)) => Value::Record(filled(schema, *i, r)),
        (Type::List(elem), Value::List(items)) => {
            Value::List(items.iter().map(|v| fill_value(schema, elem, v)).collect())
        }
        (Type::Map(k, v), Value::Map(pairs)) => Value::Map(
            pairs
                .iter()
                .map(|(a, b)| (fill_value(schema, k, a), fill_value(schema, v, b)))
                .collect(),
        ),
        _ => value.clone(),
    }
}

fn with_record() -> impl Strategy<Value = (Model, Record)> {
    model().prop_flat_map(|m| {
        let schema = m.schema();
        (Just(m), record(&schema, 0, 0))
    })
}

/// Values in a record tree (a bound on what decoding may build).
fn nodes(value: &Value) -> usize {
    1 + match value {
        Value::List(items) => items.iter().map(nodes).sum(),
        Value::Map(pairs) => pairs.iter().map(|(k, v)| nodes(k) + nodes(v)).sum(),
        Value::Record(r) => r.iter().map(|(_, v)| nodes(v)).sum(),
        _ => 0,
    }
}

/// A compatible evolution of message 0: optional fields dropped, one optional field added,
/// `int32`/`uint32` fields widened.
fn evolve(old: &Model, drop: &[bool], added_type: &str) -> Model {
    let mut new = old.clone();
    let mut fields = Vec::new();
    for (i, f) in old.messages[0].iter().enumerate() {
        if drop.get(i).copied().unwrap_or(false) && !f.required {
            continue;
        }
        let mut f = f.clone();
        f.ty = match f.ty.as_str() {
            "int32" => "int64".into(),
            "uint32" => "uint64".into(),
            other => other.to_string(),
        };
        fields.push(f);
    }
    fields.push(ModelField { tag: 40, ty: added_type.into(), required: false, default: None });
    new.messages[0] = fields;
    new
}

proptest! {
    #![proptest_config(crate::property::proptest_config(256))]

    #[test]
    fn random_values_of_random_schemas_round_trip((model, record) in with_record()) {
        let schema = model.schema();
        let bytes = encode(&schema, "M0", &record).unwrap();
        let back = decode(&schema, "M0", &bytes).unwrap();
        prop_assert_eq!(back, filled(&schema, 0, &record));
    }

    #[test]
    fn old_and_new_readers_keep_what_the_rules_promise(
        (model, record) in with_record(),
        drop in prop::collection::vec(any::<bool>(), 6),
        added in scalar_type(),
    ) {
        let old = model.schema();
        let evolved = evolve(&model, &drop, &added);
        let new = evolved.schema();
        prop_assert_eq!(check(&old, &new, Mode::Backward), vec![]);
        // Widening is backward only: an old reader of a wider number may find it too big.
        for v in check(&old, &new, Mode::Forward) {
            prop_assert!(v.rule == Rule::UnsafeTypeChange && v.detail.ends_with("32 -> uint64")
                || v.detail.ends_with("int32 -> int64"), "{}", v);
        }
        // New reader, old data: every field both know keeps its value (widened).
        let old_bytes = encode(&old, "M0", &record).unwrap();
        let read_new = decode(&new, "M0", &old_bytes).unwrap();
        let full_old = filled(&old, 0, &record);
        for f in &new.messages[0].fields {
            if let Some(v) = full_old.get(&f.name) {
                prop_assert_eq!(read_new.get(&f.name), Some(&widened(v, &f.ty)));
            } else {
                let absent = filled(&new, 0, &Record::new());
                prop_assert_eq!(read_new.get(&f.name), absent.get(&f.name));
            }
        }
        // Old reader, new data: fields the new writer dropped come back as defaults.
        let mut new_record = Record::new();
        for f in &new.messages[0].fields {
            if let Some(v) = read_new.get(&f.name) {
                new_record.set(&f.name, v.clone());
            }
        }
        let new_bytes = encode(&new, "M0", &new_record).unwrap();
        let read_old = decode(&old, "M0", &new_bytes).unwrap();
        for f in &old.messages[0].fields {
            match new.messages[0].field(&f.name) {
                Some(_) => prop_assert_eq!(read_old.get(&f.name), full_old.get(&f.name)),
                None => {
                    let absent = filled(&old, 0, &Record::new());
                    prop_assert_eq!(read_old.get(&f.name), absent.get(&f.name));
                }
            }
        }
    }

    #[test]
    fn truncated_and_corrupted_bytes_give_errors_not_panics(
        (model, record) in with_record(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), 0u8..8), 1..4),
    ) {
        let schema = model.schema();
        let bytes = encode(&schema, "M0", &record).unwrap();
        let fields_max = schema.messages.iter().map(|m| m.fields.len()).max().unwrap_or(0);
        let bound = |len: usize| (len + 1) * (fields_max + 2);
        for cut in 0..bytes.len() {
            if let Ok(r) = decode(&schema, "M0", &bytes[..cut]) {
                prop_assert!(nodes(&Value::Record(r)) <= bound(cut));
            }
        }
        if !bytes.is_empty() {
            let mut bad = bytes.clone();
            for (at, bit) in &flips {
                bad[at.index(bytes.len())] ^= 1 << bit;
            }
            if let Ok(r) = decode(&schema, "M0", &bad) {
                prop_assert!(nodes(&Value::Record(r)) <= bound(bad.len()));
            }
        }
    }

    #[test]
    fn random_bytes_never_panic(
        model in model(),
        bytes in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let schema = model.schema();
        for message in &schema.messages {
            let _ = decode(&schema, &message.name, &bytes);
        }
    }
}

/// `value` as a reader of `ty` sees it after the widenings `evolve` makes.
fn widened(value: &Value, _ty: &Type) -> Value {
    value.clone() // int32 -> int64 and uint32 -> uint64 keep the same Value
}

fn one_field(ty: &str, extra: &str) -> Schema {
    Schema::parse(&format!(
        "[[message]]\nname = \"M\"\n[[message.field]]\nname = \"a\"\ntag = 1\n\
         type = \"{ty}\"\n{extra}"
    ))
    .unwrap()
}

#[test]
fn hostile_lengths_and_depths_are_errors() {
    let schema = one_field("bytes", "");
    // Field 1, length-delimited, length 2^60: refused before any allocation.
    let mut bytes = vec![0x0a];
    bytes.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10]);
    assert_eq!(decode(&schema, "M", &bytes).unwrap_err().reason, DecodeReason::Truncated);
    let e = decode(&schema, "M", &[0x0a; 11]).unwrap_err();
    assert!(matches!(e.reason, DecodeReason::Truncated | DecodeReason::WireType { .. }), "{e}");
    assert_eq!(decode(&schema, "M", &[0xff; 12]).unwrap_err().reason, DecodeReason::VarintTooLong);
    let nested = Schema::parse(
        "[[message]]\nname = \"N\"\n[[message.field]]\nname = \"n\"\ntag = 1\ntype = \"N\"",
    )
    .unwrap();
    let mut value = Record::new();
    for _ in 0..40 {
        value = Record::new().with("n", Value::Record(value));
    }
    assert!(encode(&nested, "N", &value).is_err(), "deeper than DEPTH_MAX refused");
    let mut bytes = Vec::new();
    for _ in 0..40 {
        let mut outer = vec![0x0a];
        let mut len = Vec::new();
        let mut n = bytes.len() as u64;
        while n >= 0x80 {
            len.push((n as u8) | 0x80);
            n >>= 7;
        }
        len.push(n as u8);
        outer.extend(len);
        outer.extend_from_slice(&bytes);
        bytes = outer;
    }
    assert_eq!(decode(&nested, "N", &bytes).unwrap_err().reason, DecodeReason::TooDeep);
}

#[test]
fn missing_required_fields_and_unknown_enums_and_fields() {
    let schema = one_field("uint64", "required = true");
    let e = decode(&schema, "M", &[]).unwrap_err();
    assert_eq!(e.to_string(), "M.a: required field (tag 1) is missing");
    // An unknown field (tag 9, varint) is skipped.
    assert_eq!(decode(&schema, "M", &[0x48, 5, 0x08, 3]).unwrap().get("a"), Some(&Value::Uint(3)));
    let colors = Schema::parse(
        "[[enum]]\nname = \"C\"\nvariants = { red = 0 }\n[[message]]\nname = \"M\"\n\
         [[message.field]]\nname = \"c\"\ntag = 1\ntype = \"C\"\ndefault = \"red\"",
    )
    .unwrap();
    let read = decode(&colors, "M", &[0x08, 9]).unwrap();
    assert_eq!(read.get("c"), Some(&Value::Enum(EnumValue::Unknown(9))));
    assert_eq!(decode(&colors, "M", &[]).unwrap().get("c"), Some(&Value::variant("red")));
    // A wrong wire type for a known field names it.
    let e = decode(&schema, "M", &[0x0a, 0]).unwrap_err();
    assert_eq!(e.field(), "M.a");
    assert!(e.to_string().contains("cannot be read as uint64"), "{e}");
}

#[test]
fn widenings_decode_and_narrowings_are_violations() {
    for (old, new, value, read) in [
        ("int32", "int64", Value::Int(-5), Value::Int(-5)),
        ("uint32", "int64", Value::Uint(5), Value::Int(5)),
        ("int64", "float64", Value::Int(-2), Value::Float(-2.0)),
        ("fixed32", "fixed64", Value::Uint(9), Value::Uint(9)),
        ("string", "bytes", Value::String("x".into()), Value::Bytes(b"x".to_vec())),
    ] {
        let (old_schema, new_schema) = (one_field(old, ""), one_field(new, ""));
        assert_eq!(check(&old_schema, &new_schema, Mode::Backward), vec![], "{old} -> {new}");
        let bytes = encode(&old_schema, "M", &Record::new().with("a", value)).unwrap();
        assert_eq!(decode(&new_schema, "M", &bytes).unwrap().get("a"), Some(&read));
        let back = check(&new_schema, &old_schema, Mode::Backward);
        if old != "string" {
            assert_eq!(back[0].rule, Rule::UnsafeTypeChange, "{new} -> {old} narrows");
        }
    }
    let v = check(&one_field("list<int32>", ""), &one_field("list<float64>", ""), Mode::Backward);
    assert_eq!(v[0].rule, Rule::UnsafeTypeChange, "packed lists keep their wire type");
}

#[test]
fn each_rule_is_named_with_message_field_and_tag() {
    let base = one_field("uint64", "required = true");
    let rules = |new: &Schema, mode| -> Vec<(Rule, String)> {
        check(&base, new, mode).into_iter().map(|v| (v.rule, v.to_string())).collect()
    };
    let renamed = Schema::parse(
        "[[message]]\nname = \"M\"\n[[message.field]]\nname = \"b\"\ntag = 1\ntype = \"uint64\"\n\
         required = true",
    )
    .unwrap();
    assert_eq!(rules(&renamed, Mode::Full)[0].0, Rule::TagReused);
    let retyped = one_field("string", "required = true");
    let found = rules(&retyped, Mode::Backward);
    assert_eq!(found[0].0, Rule::UnsafeTypeChange);
    assert!(found[0].1.starts_with("M.a (tag 1): unsafe type change (backward): uint64 -> string"));
    let dropped = Schema::parse("[[message]]\nname = \"M\"").unwrap();
    assert_eq!(rules(&dropped, Mode::Forward)[0].0, Rule::RequiredFieldRemoved);
    assert_eq!(rules(&dropped, Mode::Backward), vec![], "new readers need nothing of it");
    let added = check(&dropped, &base, Mode::Backward);
    assert_eq!(added[0].rule, Rule::RequiredFieldAdded);
    let with_default = one_field("uint64", "required = true\ndefault = 0");
    assert_eq!(check(&dropped, &with_default, Mode::Full), vec![]);
    let optional = one_field("uint64", "");
    assert_eq!(check(&optional, &base, Mode::Backward)[0].rule, Rule::BecameRequired);
}

/// A type for the direct path that writes field `b` of `R` only if it has one.
#[derive(Debug, PartialEq)]
struct Pair {
    a: u64,
    b: Option<u64>,
}

impl crate::encoding::Message for Pair {
    const NAME: &'static str = "R";

    fn write<S: crate::encoding::typed::Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        sink.uint("a", self.a)?;
        match self.b {
            Some(b) => sink.uint("b", b),
            None => Ok(()),
        }
    }

    fn read<S: crate::encoding::typed::Source>(source: &mut S) -> Result<Self, DecodeError> {
        Ok(Pair { a: source.uint("a")?, b: source.get_uint("b")? })
    }
}

#[test]
fn the_direct_path_holds_required_fields_on_both_sides() {
    use crate::encoding::typed::{decode_message, encode_message};
    let schema = |b: &str| {
        Schema::parse(&format!(
            "[[message]]\nname = \"R\"\n[[message.field]]\nname = \"a\"\ntag = 1\n\
             type = \"uint64\"\n[[message.field]]\nname = \"b\"\ntag = 2\ntype = \"uint64\"\n{b}"
        ))
        .unwrap()
    };
    let (optional, required, defaulted) =
        (schema(""), schema("required = true"), schema("required = true\ndefault = 7"));
    let mut bytes = Vec::new();
    encode_message(&optional, &Pair { a: 1, b: None }, &mut bytes).unwrap();
    assert_eq!(decode_message::<Pair>(&optional, &bytes).unwrap(), Pair { a: 1, b: None });
    // A writer that leaves out a required field is refused, naming it.
    let e = encode_message(&required, &Pair { a: 1, b: None }, &mut Vec::new()).unwrap_err();
    assert_eq!(e.to_string(), "R.b: required, not set");
    // A reader that requires what the writer left out fails, unless it has a default.
    let e = decode_message::<Pair>(&required, &bytes).unwrap_err();
    assert_eq!(e.to_string(), "R.b: required field (tag 2) is missing");
    assert_eq!(decode_message::<Pair>(&defaulted, &bytes).unwrap(), Pair { a: 1, b: Some(7) });
    let mut full = Vec::new();
    encode_message(&required, &Pair { a: 1, b: Some(2) }, &mut full).unwrap();
    assert_eq!(decode_message::<Pair>(&required, &full).unwrap(), Pair { a: 1, b: Some(2) });
    // A field written twice: the last occurrence wins, as in the dynamic decoder.
    let twice = [0x08, 1, 0x10, 2, 0x10, 5];
    assert_eq!(decode_message::<Pair>(&optional, &twice).unwrap(), Pair { a: 1, b: Some(5) });
    assert_eq!(decode(&optional, "R", &twice).unwrap().get("b"), Some(&Value::Uint(5)));
}

#[test]
fn the_name_memo_answers_as_the_search_does() {
    // 60 fields, more names than the memo has slots, so slots are shared and overwritten.
    let mut toml = String::from("[[message]]\nname = \"M\"\n");
    for tag in 1..=60 {
        let _ = write!(
            toml,
            "[[message.field]]\nname = \"field_{tag}\"\ntag = {tag}\ntype = \"bool\"\n"
        );
    }
    let schema = Schema::parse(&toml).unwrap();
    let def = &schema.messages[0];
    let names: Vec<&'static str> =
        (0..=70).map(|i| &*Box::leak(format!("field_{i}").into_boxed_str())).collect();
    for round in 0..3 {
        for (i, name) in names.iter().enumerate() {
            let want = (1..=60).contains(&i).then(|| i - 1);
            assert_eq!(def.position_static(name, round * 7), want, "{name}, round {round}");
            assert_eq!(def.position(name, 0), want);
        }
    }
    // Names sharing a prefix of eight bytes or more are told apart.
    let long = Schema::parse(
        "[[message]]\nname = \"L\"\n[[message.field]]\nname = \"conflict_index\"\ntag = 1\n\
         type = \"bool\"\n[[message.field]]\nname = \"conflict_term\"\ntag = 2\ntype = \"bool\"",
    )
    .unwrap();
    assert_eq!(long.messages[0].position_static("conflict_term", 0), Some(1));
    assert_eq!(long.messages[0].position_static("conflict_tern", 0), None);
}
