//! The disk as protocols see it: a directory fsync through `Context`.

use sim::node::testing::Harness;
use sim::node::{ClientId, Context, Effect, FsyncId, Node, NodeId, Request};

/// On first start: creates `wal/1.log`, writes it, and fsyncs the file and then its directory.
/// Restarted, it does nothing, so the test sees the disk as the crash left it.
struct Creator {
    first_boot: bool,
}

impl Node for Creator {
    type Msg = ();
    type Timer = ();
    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        if !self.first_boot {
            return;
        }
        ctx.disk().create("wal/1.log").unwrap();
        ctx.disk().append("wal/1.log", b"record");
        ctx.fsync("wal/1.log");
        ctx.fsync_dir("wal");
    }
    fn on_message(&mut self, _: &mut Context<'_, Self>, _: NodeId, _: ()) {}
    fn on_request(&mut self, _: &mut Context<'_, Self>, _: ClientId, _: Request) {}
    fn on_timer(&mut self, _: &mut Context<'_, Self>, _: ()) {}
}

/// The two fsyncs `Creator` started: the file's, then the directory's.
fn fsyncs(effects: &[Effect<()>]) -> (FsyncId, FsyncId) {
    let ids: Vec<FsyncId> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Fsync { id } => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 2, "{effects:?}");
    (ids[0], ids[1])
}

#[test]
fn fsync_dir_is_an_fsync_effect_and_makes_the_name_durable() {
    let mut h = Harness::new(0, Creator { first_boot: true });
    let (file, dir) = fsyncs(&h.start());
    h.complete_fsync(file);
    h.complete_fsync(dir);
    h.crash_and_restart(Creator { first_boot: false });
    assert_eq!(h.disk().list("wal"), ["1.log"]);
    assert_eq!(h.disk().read_all("wal/1.log").unwrap(), b"record");
}

#[test]
fn without_the_directory_fsync_a_crash_loses_the_file_and_its_fsynced_data() {
    let mut h = Harness::new(0, Creator { first_boot: true });
    let (file, _dir) = fsyncs(&h.start());
    h.complete_fsync(file);
    h.crash_and_restart(Creator { first_boot: false });
    assert!(h.disk().list("wal").is_empty());
}
