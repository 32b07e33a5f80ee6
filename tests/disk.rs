//! The disk as protocols and scenarios see it: a directory fsync through `Context`, and the
//! `disk-misdirect` fault in scheduled and nemesis form.

use sim::node::testing::Harness;
use sim::node::{ClientId, Context, Effect, FsyncId, Node, NodeId, Request};
use sim::scenario::Scenario;
use sim::sim::RunOptions;
use std::path::Path;

/// On first start: creates `wal/1.log`, writes it, and fsyncs the file and then its directory.
/// Restarted, it does nothing, so the test sees the disk as the crash left it.
struct Creator {
    first_boot: bool,
}

impl Node for Creator {
    type Msg = ();
    type Timer = ();
    type Api = sim::node::KvApi;
    type Control = sim::node::NoControl;
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
    fn on_request(&mut self, _: &mut Context<'_, Self>, _: ClientId, _: Request<sim::node::Op>) {}
    fn on_timer(&mut self, _: &mut Context<'_, Self>, _: ()) {}
}

/// The two fsyncs `Creator` started: the file's, then the directory's.
fn fsyncs(effects: &[Effect<(), Option<String>>]) -> (FsyncId, FsyncId) {
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

fn register_run(extra: &str, seed: u64) -> sim::sim::RunOutput {
    let text = format!(
        "system = \"register\"\nnodes = 3\nduration = \"2s\"\nquiet = \"500ms\"\n\
         [clients]\ncount = 2\nthink = \"5ms\"\n{extra}"
    );
    let path = Path::new("disk-test.toml");
    let scenario = Scenario::parse(&text, path, &[]).unwrap();
    sim::systems::builtin().run(&scenario, path, seed, RunOptions::default()).unwrap()
}

#[test]
fn a_scheduled_misdirect_fault_arms_the_disk_and_a_write_goes_astray() {
    let faults = "[[faults]]\nat = \"300ms\"\nkind = \"disk-misdirect\"\nnode = 0\n";
    let out = register_run(faults, 3);
    let applied = &out.report.fault_log[0];
    assert_eq!(applied.description, "disk-misdirect n0");
    assert!(applied.detail.contains("lands in the wrong place"), "{}", applied.detail);
    assert_eq!(out.report.disk.misdirected_writes, 1, "the primary writes every operation");
    assert_eq!(register_run(faults, 3).report.trace_hash, out.report.trace_hash);
}

#[test]
fn the_nemesis_draws_misdirects() {
    let nemesis = "[nemesis]\nkinds = { disk-misdirect = 1 }\ninterval = \"100ms\"\n\
                   duration = \"50ms\"\n";
    let out = register_run(nemesis, 5);
    assert!(out.report.fault_log.iter().all(|f| f.kind == "disk-misdirect"));
    assert!(out.report.fault_log.len() > 3, "{}", out.report.fault_log.len());
    assert!(out.report.disk.misdirected_writes > 0);
}

#[test]
fn a_misdirect_naming_a_missing_node_is_rejected() {
    let text = "system = \"register\"\nnodes = 3\nduration = \"1s\"\n\
                [[faults]]\nat = \"1ms\"\nkind = \"disk-misdirect\"\nnode = 7\n";
    let err = Scenario::parse(text, Path::new("t.toml"), &[]).unwrap_err();
    assert!(err.to_string().contains("node 7 does not exist"), "{err}");
}
