//! Rolling upgrades: a node installs a newer schema version through its registry and restarts
//! running it, once everything it wrote is durable (a graceful restart: the operator stops
//! the process after it drained, then starts the new binary, which recovers from disk as
//! after a crash).

use super::node::RaftNode;
use super::storage::{self, VERSION_FILE};
use super::wire::Versions;
use super::StateMachine;
use crate::node::{Context, Fact, FsyncId};

/// An upgrade under way: the version, and the fsync of the version file it waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Upgrade {
    pub(super) version: u32,
    pub(super) fsync: Option<FsyncId>,
}

impl<S: StateMachine> RaftNode<S> {
    /// The operator asked this node to run schema `version`.
    pub(super) fn begin_upgrade(&mut self, ctx: &mut Context<'_, Self>, version: u32) {
        let mut versions = self.versions.clone();
        if let Err(why) = versions.install(version) {
            // The registry caught it before the restart: the node keeps its version.
            let values = vec![u64::from(version), u64::from(self.versions.running())];
            // The violations, as `sim schema check` prints them for the files.
            let text = why.to_string();
            ctx.fact(Fact::Custom { name: "schema_upgrade_refused".into(), values, text });
            return;
        }
        self.versions = versions;
        let bytes = storage::encode_version(version);
        ctx.disk().write(VERSION_FILE, 0, &bytes);
        ctx.disk().truncate(VERSION_FILE, bytes.len() as u64);
        let fsync = ctx.fsync(VERSION_FILE);
        self.upgrade = Some(Upgrade { version, fsync: Some(fsync) });
    }

    /// An fsync completed: restarts the node if an upgrade waits and nothing is in flight.
    pub(super) fn upgrade_on_fsync(&mut self, ctx: &mut Context<'_, Self>, id: FsyncId) {
        let Some(upgrade) = self.upgrade.as_mut() else { return };
        if upgrade.fsync == Some(id) {
            upgrade.fsync = None;
        }
        let drained = upgrade.fsync.is_none() && self.disk.idle();
        if drained {
            self.restart_upgraded(ctx);
        }
    }

    fn restart_upgraded(&mut self, ctx: &mut Context<'_, Self>) {
        let upgrade = self.upgrade.take().expect("an upgrade is under way");
        assert_eq!(upgrade.version, self.versions.running(), "installed before the restart");
        if self.role == super::Role::Leader {
            ctx.fact(Fact::SteppedDown { term: self.term });
        }
        let mut fresh = RaftNode::new(self.config.clone(), self.id, self.initial_voters.clone());
        // The one election timer still pending belongs to the new process too.
        fresh.election_timer_armed = self.election_timer_armed;
        *self = fresh;
        let values = vec![u64::from(upgrade.version)];
        ctx.fact(Fact::Custom { name: "schema_upgraded".into(), values, text: String::new() });
        crate::node::Node::on_start(self, ctx);
    }

    /// Recovery: the version this node runs, from its version file (1 if there is none),
    /// installed again through the registry.
    pub(super) fn recover_version(&mut self, ctx: &mut Context<'_, Self>) {
        let data = ctx.disk().read_all(VERSION_FILE).unwrap_or_default();
        let running = storage::decode_version(&data).unwrap_or(1);
        let mut versions = Versions::new(self.config.bugs.skip_compat_check);
        for version in 2..=running {
            // Only versions this registry admitted were ever written.
            let _ = versions.install(version);
        }
        self.versions = versions;
    }
}
