//! Schema-versioned binary encoding (DDIA chapter 4): messages described by a schema, encoded
//! with numbered field tags so old and new code can read each other's data.
//!
//! - [`schema`]: the schema model (messages with tagged, typed fields; enums) and its TOML
//!   language (see `schemas/example.toml`).
//! - [`wire`]: the data-driven encoder and decoder over a dynamic [`Value`] tree. A field is
//!   `key = tag << 3 | wire type` then its payload: varints, zigzag varints for signed
//!   numbers, fixed 32/64-bit words, length-delimited bytes, strings, nested records and packed
//!   lists. Readers skip unknown tags (forward compatibility), fill in defaults for missing
//!   optional fields (backward compatibility), keep unknown enum numbers as
//!   [`EnumValue::Unknown`], and reject a missing required field by name.
//! - [`compat`]: the compatibility rules (backward, forward, full) between two versions of a
//!   schema, after Protocol Buffers' and Avro's; [`registry`] keeps the versions of each
//!   message type and refuses an incompatible one at registration.
//! - [`typed`]: the [`Message`] trait that maps our own Rust types onto records, so protocols
//!   encode `Entry`s and not `Value`s.
//!
//! Limits (a decoder never panics and never allocates more than a small multiple of its input):
//! nesting is at most [`DEPTH_MAX`] records, lists and maps deep; every length is checked
//! against the bytes that remain before anything is allocated; varints are at most 10 bytes.
//!
//! Invariant: this module knows nothing else of sim (it is used by `protocols` and `cli`).

pub mod compat;
pub mod direct;
pub mod registry;
pub mod schema;
pub mod typed;
pub mod value;
pub mod wire;

#[cfg(test)]
mod tests;

pub use compat::{check, Mode, Rule, Violation};
pub use registry::{Registered, SchemaRegistry};
pub use schema::{EnumDef, Field, MessageDef, Schema, SchemaError, Type};
pub use typed::Message;
pub use value::{EnumValue, FieldName, Record, Value};
pub use wire::{decode, encode, DecodeError, EncodeError};

/// Deepest nesting of records, lists and maps a decoder (and encoder) accepts; deeper input is
/// a [`DecodeError`] (an encoder returns an [`EncodeError`]), never a stack overflow.
pub const DEPTH_MAX: usize = 32;
/// Largest field tag (as in Protocol Buffers: 29 bits).
pub const TAG_MAX: u32 = (1 << 29) - 1;
/// Most fields in one message, and most variants in one enum, a schema may declare.
pub const FIELDS_MAX: usize = 4096;
