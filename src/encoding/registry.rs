//! A registry of schema versions: every version of every message type, checked for
//! compatibility with all earlier ones when it is registered (transitively, so a tag dropped
//! in version 2 cannot come back with another type in version 3).

use super::compat::{check, Mode, Violation};
use super::schema::{MessageDef, Schema};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// Most versions kept per message type; registering one more is refused.
pub const VERSIONS_MAX: usize = 1024;

/// Why a schema was not registered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegisterError {
    /// It breaks compatibility with a registered version: every violation found.
    Incompatible(Vec<Violation>),
    /// A message type changed without a higher version number.
    VersionNotNewer {
        /// The message type.
        message: String,
        /// Its version in the new schema.
        version: u32,
        /// The latest registered version.
        latest: u32,
    },
    /// [`VERSIONS_MAX`] versions of the message are registered already.
    TooManyVersions(String),
}

impl fmt::Display for RegisterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegisterError::Incompatible(violations) => {
                write!(f, "incompatible with a registered version:")?;
                for v in violations {
                    write!(f, "\n  {v}")?;
                }
                Ok(())
            }
            RegisterError::VersionNotNewer { message, version, latest } => write!(
                f,
                "message `{message}` changed but its version {version} is not above the \
                 registered {latest}"
            ),
            RegisterError::TooManyVersions(message) => {
                write!(f, "message `{message}` has {VERSIONS_MAX} versions already")
            }
        }
    }
}

/// One registered version of a message type: its definition lives in `schema`.
#[derive(Clone, Debug)]
pub struct Registered {
    /// The message's version.
    pub version: u32,
    /// The schema it was registered in (nested types resolve there).
    pub schema: Arc<Schema>,
}

impl Registered {
    /// The message's definition.
    pub fn def(&self, name: &str) -> &MessageDef {
        self.schema.message(name).expect("registered with this message")
    }
}

/// Every registered version of every message type.
#[derive(Clone, Debug)]
pub struct SchemaRegistry {
    mode: Mode,
    skip_checks: bool,
    schemas: Vec<Arc<Schema>>,
    versions: BTreeMap<String, Vec<Registered>>,
}

impl SchemaRegistry {
    /// An empty registry that admits versions compatible in `mode` with all earlier ones.
    pub fn new(mode: Mode) -> Self {
        SchemaRegistry { mode, skip_checks: false, schemas: Vec::new(), versions: BTreeMap::new() }
    }

    /// The same registry without the compatibility check (bug knob
    /// `encoding.skip_compat_check`: an incompatible version goes in).
    pub fn without_checks(mut self) -> Self {
        self.skip_checks = true;
        self
    }

    /// Registers every message of `schema` as a new version (an unchanged message is not a
    /// new version). Refused, and nothing changes, when a message breaks a rule against any
    /// registered version or changed without a higher version number.
    pub fn register(&mut self, schema: Arc<Schema>) -> Result<(), RegisterError> {
        let mut added = Vec::new();
        for def in &schema.messages {
            let Some(latest) = self.latest(&def.name) else {
                added.push(def.name.to_string());
                continue;
            };
            if fields_equal(latest.def(&def.name), def, &latest.schema, &schema) {
                continue;
            }
            if def.version <= latest.version {
                return Err(RegisterError::VersionNotNewer {
                    message: def.name.to_string(),
                    version: def.version,
                    latest: latest.version,
                });
            }
            if self.versions[&*def.name].len() >= VERSIONS_MAX {
                return Err(RegisterError::TooManyVersions(def.name.to_string()));
            }
            added.push(def.name.to_string());
        }
        if !self.skip_checks {
            let mut violations: Vec<Violation> =
                self.schemas.iter().flat_map(|old| check(old, &schema, self.mode)).collect();
            violations.sort();
            violations.dedup();
            if !violations.is_empty() {
                return Err(RegisterError::Incompatible(violations));
            }
        }
        for name in added {
            let version = schema.message(&name).expect("in the schema").version;
            let entry = Registered { version, schema: Arc::clone(&schema) };
            self.versions.entry(name).or_default().push(entry);
        }
        self.schemas.push(schema);
        Ok(())
    }

    /// The latest version of message `name`.
    pub fn latest(&self, name: &str) -> Option<&Registered> {
        self.versions.get(name)?.last()
    }

    /// Version `version` of message `name`.
    pub fn get(&self, name: &str, version: u32) -> Option<&Registered> {
        self.versions.get(name)?.iter().find(|r| r.version == version)
    }

    /// The registered versions of message `name`, oldest first.
    pub fn versions(&self, name: &str) -> &[Registered] {
        self.versions.get(name).map_or(&[], Vec::as_slice)
    }
}

/// True if two definitions have the same fields (types compared by name, across schemas).
fn fields_equal(a: &MessageDef, b: &MessageDef, schema_a: &Schema, schema_b: &Schema) -> bool {
    a.fields.len() == b.fields.len()
        && a.fields.iter().zip(&b.fields).all(|(x, y)| {
            x.name == y.name
                && x.tag == y.tag
                && x.required == y.required
                && x.default == y.default
                && schema_a.type_name(&x.ty) == schema_b.type_name(&y.ty)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::Rule;

    fn schema(version: u32, field: &str) -> Arc<Schema> {
        let text = format!("[[message]]\nname = \"M\"\nversion = {version}\n{field}");
        Arc::new(Schema::parse(&text).unwrap())
    }

    const A: &str = "[[message.field]]\nname = \"a\"\ntag = 1\ntype = \"uint64\"\n";

    #[test]
    fn versions_are_checked_against_every_earlier_one() {
        let mut registry = SchemaRegistry::new(Mode::Backward);
        registry.register(schema(1, A)).unwrap();
        registry.register(schema(1, A)).unwrap(); // unchanged: not a new version
        assert_eq!(registry.versions("M").len(), 1);
        // Version 2 drops the optional field `a`.
        registry.register(schema(2, "")).unwrap();
        // Tag 1 back with another type: version 2 alone would not notice, version 1 does.
        let back = "[[message.field]]\nname = \"a\"\ntag = 1\ntype = \"string\"\n";
        let Err(RegisterError::Incompatible(found)) = registry.register(schema(3, back)) else {
            panic!("tag 1 reused with another type must be refused");
        };
        assert_eq!((found[0].rule, found[0].tag), (Rule::UnsafeTypeChange, 1));
        assert_eq!(registry.latest("M").unwrap().version, 2, "a refused version is not added");
        let stale = registry.register(schema(2, A)).unwrap_err();
        assert!(matches!(stale, RegisterError::VersionNotNewer { latest: 2, .. }), "{stale}");
        let mut unchecked = SchemaRegistry::new(Mode::Backward).without_checks();
        unchecked.register(schema(1, A)).unwrap();
        unchecked.register(schema(2, back)).unwrap();
        assert_eq!(
            unchecked.get("M", 2).unwrap().def("M").fields[0].ty,
            crate::encoding::Type::String
        );
    }
}
