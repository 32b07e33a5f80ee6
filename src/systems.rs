//! sim's own systems: one line each. A new system in `src/protocols/NAME/` is registered by
//! adding `system::<ItsSystem>()` here.

use crate::protocols::raft::Raft;
use crate::protocols::register::RegisterSystem;
use crate::protocols::service::ServiceSystem;
use crate::protocols::storage::StorageSystem;
use crate::protocols::txn::TxnSystem;
use crate::registry::{system, Entry, Registry};

/// sim's own systems.
pub const BUILTIN: &[Entry] = &[
    system::<RegisterSystem>(),
    system::<Raft>(),
    system::<StorageSystem>(),
    system::<TxnSystem>(),
    system::<ServiceSystem>(),
];

/// A registry of sim's own systems.
pub fn builtin() -> Registry<'static> {
    Registry::new(BUILTIN)
}
