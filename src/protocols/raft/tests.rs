//! Unit tests of the Raft node, driven by hand through the [`Harness`].

use super::messages::{Entry, Msg, Payload};
use super::storage::{self, Record};
use super::wire;
use super::Control;
use super::{Bugs, RaftConfig, RaftNode, Role, StateMachine};
use crate::node::testing::Harness;
use crate::node::{Effect, Fact, NodeId, Op, Reply, Request, RequestId, Value};

type Effects = crate::node::testing::Effects<RaftNode>;

fn config(bugs: Bugs) -> RaftConfig {
    RaftConfig { bugs, ..RaftConfig::default() }
}

fn harness(id: NodeId, voters: &[NodeId], config: RaftConfig) -> Harness<RaftNode> {
    let mut h = Harness::new(id, RaftNode::new(config, id, voters.to_vec()));
    h.start();
    h
}

fn fsyncs(effects: &Effects) -> Vec<crate::node::FsyncId> {
    effects
        .iter()
        .filter_map(|e| if let Effect::Fsync { id, .. } = e { Some(*id) } else { None })
        .collect()
}

/// Completes every fsync in `effects` (and in what they cause); returns all effects.
fn settle(h: &mut Harness<RaftNode>, mut effects: Effects) -> Effects {
    let mut done = 0;
    while let Some(&id) = fsyncs(&effects).get(done) {
        done += 1;
        let more = h.complete_fsync(id);
        effects.extend(more);
    }
    effects
}

/// Runs `event` and completes the fsyncs it starts.
fn settle_with(
    h: &mut Harness<RaftNode>,
    event: impl FnOnce(&mut Harness<RaftNode>) -> Effects,
) -> Effects {
    let effects = event(h);
    settle(h, effects)
}

/// The messages sent, decoded (with the schema version each was written with).
fn sends(effects: &Effects) -> Vec<(NodeId, Msg)> {
    effects
        .iter()
        .filter_map(|e| if let Effect::Send { to, msg } = e { Some((*to, msg)) } else { None })
        .map(|(to, frame)| (to, wire::decode(frame.version, frame).expect("decodes").0))
        .collect()
}

/// Delivering a typed message: encoded with version 1, as a version-1 peer sends it.
trait DeliverMsg {
    fn msg(&mut self, from: NodeId, msg: Msg) -> Effects;
}

impl DeliverMsg for Harness<RaftNode> {
    fn msg(&mut self, from: NodeId, msg: Msg) -> Effects {
        self.message(from, wire::encode(1, &msg))
    }
}

fn facts(effects: &Effects) -> Vec<Fact> {
    effects
        .iter()
        .filter_map(|e| if let Effect::Fact { fact, .. } = e { Some(fact.clone()) } else { None })
        .collect()
}

fn replies(effects: &Effects) -> Vec<(RequestId, Reply<Option<Value>>)> {
    effects
        .iter()
        .filter_map(|e| {
            if let Effect::Reply { request, reply, .. } = e {
                Some((*request, reply.clone()))
            } else {
                None
            }
        })
        .collect()
}

fn vote_reply(term: u64, pre: bool) -> Msg {
    Msg::VoteReply { pre, term, granted: true }
}

/// Makes node `h` (voters 0..n) leader of the next term with node 1's votes; returns effects.
fn elect(h: &mut Harness<RaftNode>) -> Effects {
    let mut all = h.fire_next_timer().expect("election timer");
    let term = h.node.term() + 1;
    if h.node.voters().len() > 1 {
        all.extend(h.msg(1, vote_reply(term, true)));
        all.extend(h.msg(1, vote_reply(term, false)));
    }
    let all = settle(h, all);
    assert_eq!(h.node.role(), Role::Leader);
    all
}

fn append(term: u64, prev: (u64, u64), entries: &[u64], commit: u64) -> Msg {
    let entries = entries.iter().map(|t| Entry { term: *t, payload: Payload::Noop }).collect();
    Msg::Append { term, prev_index: prev.0, prev_term: prev.1, entries, commit, read_round: 0 }
}

fn put(client: u32, seq: u64, key: &str, value: &str) -> Request<Op> {
    Request {
        id: RequestId { client, seq },
        op: Op::Append { key: key.into(), value: value.into() },
    }
}

fn get(client: u32, seq: u64, key: &str) -> Request<Op> {
    Request { id: RequestId { client, seq }, op: Op::Get { key: key.into() } }
}

fn log_terms(h: &Harness<RaftNode>) -> Vec<u64> {
    h.node.log().iter().map(|(_, e)| e.entry.term).collect()
}

#[test]
fn election_needs_votes_and_a_durable_self_vote() {
    let mut h = harness(0, &[0, 1, 2], RaftConfig::default());
    let effects = h.fire_next_timer().unwrap();
    let pre: Vec<_> = sends(&effects);
    assert_eq!(pre.len(), 2);
    assert!(pre.iter().all(|(_, m)| matches!(m, Msg::Vote { pre: true, term: 1, .. })));
    assert_eq!(h.node.term(), 0, "a PreVote changes no term");
    let effects = h.msg(1, vote_reply(1, true));
    assert_eq!(h.node.role(), Role::Candidate);
    assert_eq!(h.node.term(), 1);
    let campaign_fsync = fsyncs(&effects);
    assert_eq!(campaign_fsync.len(), 1, "term and vote are written");
    h.msg(1, vote_reply(1, false));
    assert_eq!(h.node.role(), Role::Candidate, "own vote counts only once durable");
    let effects = h.complete_fsync(campaign_fsync[0]);
    assert_eq!(h.node.role(), Role::Leader);
    assert!(facts(&effects).contains(&Fact::Leader { term: 1 }));
    assert!(sends(&effects).iter().any(|(_, m)| matches!(m, Msg::Append { term: 1, .. })));
}

#[test]
fn vote_is_durable_before_it_is_granted() {
    let mut h = harness(1, &[0, 1, 2], RaftConfig::default());
    let vote = Msg::Vote { pre: false, term: 1, last_index: 0, last_term: 0 };
    let effects = h.msg(0, vote.clone());
    assert!(sends(&effects).is_empty(), "no reply before the fsync");
    let effects = settle(&mut h, effects);
    assert_eq!(sends(&effects), vec![(0, vote_reply(1, false))]);
    // The vote survives a crash: another candidate of term 1 is refused.
    h.crash_and_restart(RaftNode::new(RaftConfig::default(), 1, vec![0, 1, 2]));
    assert_eq!(h.node.term(), 1);
    let effects = h.msg(2, Msg::Vote { pre: false, term: 1, last_index: 9, last_term: 1 });
    let refused = Msg::VoteReply { pre: false, term: 1, granted: false };
    assert_eq!(sends(&effects), vec![(2, refused)]);
}

#[test]
fn a_vote_lost_in_a_crash_was_never_granted() {
    let mut h = harness(1, &[0, 1, 2], RaftConfig::default());
    let effects = h.msg(0, Msg::Vote { pre: false, term: 1, last_index: 0, last_term: 0 });
    assert!(sends(&effects).is_empty());
    h.crash_and_restart(RaftNode::new(RaftConfig::default(), 1, vec![0, 1, 2]));
    assert_eq!(h.node.term(), 0, "the unsynced term was lost, and no grant was sent");
}

#[test]
fn skip_fsync_bug_grants_before_durability() {
    let bugs = Bugs { skip_fsync: true, ..Bugs::default() };
    let mut h = harness(1, &[0, 1, 2], config(bugs));
    let effects = h.msg(0, Msg::Vote { pre: false, term: 1, last_index: 0, last_term: 0 });
    assert_eq!(sends(&effects), vec![(0, vote_reply(1, false))]);
}

#[test]
fn follower_rejects_with_conflict_hints_and_truncates() {
    let mut h = harness(0, &[0, 1, 2], RaftConfig::default());
    settle_with(&mut h, |h| h.msg(1, append(1, (0, 0), &[1, 1], 0)));
    settle_with(&mut h, |h| h.msg(2, append(2, (2, 1), &[2, 2, 2], 0)));
    assert_eq!(log_terms(&h), vec![1, 1, 2, 2, 2]);
    let effects = settle_with(&mut h, |h| h.msg(1, append(3, (5, 3), &[3], 0)));
    let reject = sends(&effects);
    assert!(matches!(
        reject[..],
        [(1, Msg::AppendReply { success: false, conflict_index: 3, conflict_term: Some(2), .. })]
    ));
    let effects = h.msg(1, append(3, (2, 1), &[3, 3, 3], 0));
    assert!(facts(&effects).contains(&Fact::LogTruncate { index: 3 }));
    assert_eq!(log_terms(&h), vec![1, 1, 3, 3, 3]);
    assert!(sends(&effects).is_empty(), "ack waits for the fsync");
    let effects = settle(&mut h, effects);
    assert!(matches!(
        sends(&effects)[..],
        [(1, Msg::AppendReply { success: true, match_index: 5, .. })]
    ));
    // Too short a log: the hint is its length + 1.
    let effects = h.msg(1, append(3, (9, 3), &[], 0));
    assert!(matches!(
        sends(&effects)[..],
        [(1, Msg::AppendReply { success: false, conflict_index: 6, conflict_term: None, .. })]
    ));
}

#[test]
fn leader_skips_a_conflicting_term_with_the_hints() {
    let mut h = harness(0, &[0, 1, 2], RaftConfig::default());
    elect(&mut h);
    for seq in 1..=4 {
        settle_with(&mut h, |h| h.request(0, put(0, seq, "k", "v")));
    }
    assert_eq!(h.node.log().last_index(), 5);
    // Follower 2 holds entries of term 7 the leader never had: back up to its hint index.
    let reject = Msg::AppendReply {
        term: 1,
        success: false,
        match_index: 0,
        conflict_index: 2,
        conflict_term: Some(7),
        read_round: 0,
    };
    let effects = h.msg(2, reject);
    assert!(matches!(sends(&effects)[..], [(2, Msg::Append { prev_index: 1, .. })]), "{effects:?}");
    // A conflict in a term the leader holds: resume after its last entry of that term.
    let reject = Msg::AppendReply {
        term: 1,
        success: false,
        match_index: 0,
        conflict_index: 1,
        conflict_term: Some(1),
        read_round: 0,
    };
    h.fire_next_timer(); // a tick lets the probe go out again
    let effects = h.msg(2, reject);
    let to_2: Vec<_> = sends(&effects).into_iter().filter(|(to, _)| *to == 2).collect();
    assert!(matches!(to_2[..], [(2, Msg::Append { prev_index: 5, .. })]), "{to_2:?}");
}

/// Node 0 holds an entry of term 1 at index 1 (from leader 1), then leads term 2.
fn figure8_leader(bugs: Bugs) -> (Harness<RaftNode>, Effects) {
    let mut h = harness(0, &[0, 1, 2], config(bugs));
    settle_with(&mut h, |h| h.msg(1, append(1, (0, 0), &[1], 0)));
    let mut effects = elect(&mut h);
    assert_eq!(log_terms(&h), vec![1, 2]);
    // Node 1 holds index 1 (term 1) but not yet the leader's no-op.
    let ack = Msg::AppendReply {
        term: 2,
        success: true,
        match_index: 1,
        conflict_index: 0,
        conflict_term: None,
        read_round: 0,
    };
    effects.extend(h.msg(1, ack));
    (h, effects)
}

#[test]
fn figure8_rule_never_commits_a_previous_term_by_counting() {
    let (h, effects) = figure8_leader(Bugs::default());
    assert_eq!(h.node.commit_index(), 0);
    assert!(!facts(&effects).iter().any(|f| matches!(f, Fact::Commit { .. })));
}

#[test]
fn figure8_bug_commits_a_previous_term_entry() {
    let bugs = Bugs { commit_previous_term: true, ..Bugs::default() };
    let (h, effects) = figure8_leader(bugs);
    assert_eq!(h.node.commit_index(), 1);
    assert!(facts(&effects).iter().any(|f| matches!(f, Fact::Commit { index: 1, term: 1, .. })));
}

fn durable_follower_with_three_entries() -> Harness<RaftNode> {
    let mut h = harness(0, &[0, 1, 2], RaftConfig::default());
    settle_with(&mut h, |h| h.msg(1, append(1, (0, 0), &[1, 1, 1], 0)));
    h
}

fn restart(h: &mut Harness<RaftNode>) -> Effects {
    h.crash_and_restart(RaftNode::new(RaftConfig::default(), 0, vec![0, 1, 2]))
}

fn make_durable(h: &mut Harness<RaftNode>, file: &str) {
    let id = h.disk().begin_fsync(file);
    assert!(h.disk().complete_fsync(id));
}

#[test]
fn recovery_cuts_a_torn_last_record() {
    let mut h = durable_follower_with_three_entries();
    let record = Record { index: 4, digest: 1, entry: Entry { term: 1, payload: Payload::Noop } };
    let bytes = storage::encode_record(&record);
    h.disk().append("log.0", &bytes[..bytes.len() - 3]);
    make_durable(&mut h, "log.0");
    let effects = restart(&mut h);
    assert_eq!(log_terms(&h), vec![1, 1, 1]);
    assert!(!h.node.untrusted(), "a torn tail is an interrupted write, not corruption");
    let announced = facts(&effects);
    assert_eq!(announced[0], Fact::LogTruncate { index: 1 });
    let appends = announced.iter().filter(|f| matches!(f, Fact::LogAppend { .. })).count();
    assert_eq!(appends, 3);
    // The torn bytes are gone: new records follow the last good one.
    settle_with(&mut h, |h| h.msg(1, append(1, (3, 1), &[1], 0)));
    restart(&mut h);
    assert_eq!(log_terms(&h), vec![1, 1, 1, 1]);
}

#[test]
fn corruption_in_the_middle_cuts_the_log_and_withholds_votes() {
    let mut h = durable_follower_with_three_entries();
    let first = storage::encode_record(&Record {
        index: 1,
        digest: h.node.log().digest(1).unwrap(),
        entry: Entry { term: 1, payload: Payload::Noop },
    });
    let middle = first.len() as u64 + 20;
    let byte = h.disk().read("log.0", middle, 1).unwrap()[0];
    h.disk().write("log.0", middle, &[byte ^ 0x10]);
    make_durable(&mut h, "log.0");
    restart(&mut h);
    assert_eq!(log_terms(&h), vec![1]);
    assert!(h.node.untrusted());
    let effects = h.msg(2, Msg::Vote { pre: false, term: 5, last_index: 9, last_term: 4 });
    assert!(sends(&effects)
        .iter()
        .all(|(_, m)| matches!(m, Msg::VoteReply { granted: false, .. })));
    // Catching up with a leader restores trust.
    settle_with(&mut h, |h| h.msg(1, append(5, (1, 1), &[1, 1], 3)));
    assert!(!h.node.untrusted());
}

fn single_leader(config: RaftConfig) -> Harness<RaftNode> {
    let mut h = harness(0, &[0], config);
    elect(&mut h);
    h
}

#[test]
fn snapshot_compacts_and_installs_on_a_lagging_follower() {
    let config = RaftConfig { snapshot_entries: 5, ..RaftConfig::default() };
    let mut h = single_leader(config.clone());
    let mut effects = Vec::new();
    for seq in 1..=6 {
        effects.extend(settle_with(&mut h, |h| h.request(0, put(0, seq, "k", "x"))));
    }
    let compacted = facts(&effects).iter().any(|f| matches!(f, Fact::LogCompact { .. }));
    assert!(compacted, "{:?}", facts(&effects));
    assert!(h.node.log().base_index() >= 5);
    let snapshot = h.node.snapshot.clone().unwrap();
    // A lagging follower installs it; its ack waits for the snapshot to be durable.
    let mut f = harness(1, &[0], config.clone());
    let msg = Msg::Snapshot { term: 1, snapshot: Box::new(snapshot.clone()), read_round: 0 };
    let effects = f.msg(0, msg);
    assert!(sends(&effects).is_empty());
    let effects = settle(&mut f, effects);
    let acked = Msg::SnapshotReply { term: 1, index: snapshot.index, read_round: 0 };
    assert_eq!(sends(&effects), vec![(0, acked)]);
    let read = f.node.machine().query(&Op::Get { key: "k".into() });
    assert_eq!(read, super::Outcome::Ok(Some("x".repeat(snapshot.index as usize - 1))));
    // And recovers from it after a crash.
    f.crash_and_restart(RaftNode::new(config, 1, vec![0]));
    assert_eq!(f.node.log().base_index(), snapshot.index);
    assert_eq!(f.node.machine().query(&Op::Get { key: "k".into() }), read);
}

/// A leader with a three-node cluster whose log is compacted past index 5, and node 2 just
/// sent a snapshot (it answered that its log is empty). Returns the leader and the local time
/// the snapshot left.
fn leader_sending_a_snapshot_to_node_2() -> (Harness<RaftNode>, crate::node::Nanos) {
    // No CheckQuorum: node 1 stops answering, and the leader must stay one for the test.
    let config = RaftConfig { snapshot_entries: 5, check_quorum: false, ..RaftConfig::default() };
    let mut h = harness(0, &[0, 1, 2], config);
    elect(&mut h);
    for seq in 1..=6 {
        settle_with(&mut h, |h| h.request(0, put(0, seq, "k", "x")));
        let matched = h.node.log().last_index();
        let ack = Msg::AppendReply {
            term: 1,
            success: true,
            match_index: matched,
            conflict_index: 0,
            conflict_term: None,
            read_round: 0,
        };
        settle_with(&mut h, |h| h.msg(1, ack));
    }
    assert!(h.node.log().base_index() >= 5, "compacted");
    let behind = Msg::AppendReply {
        term: 1,
        success: false,
        match_index: 0,
        conflict_index: 1,
        conflict_term: None,
        read_round: 0,
    };
    let effects = h.msg(2, behind);
    let snapshot = sends(&effects).into_iter().any(|(to, m)| to == 2 && m.kind() == 4);
    assert!(snapshot, "node 2 needs a snapshot: {:?}", sends(&effects));
    let sent_at = h.now();
    (h, sent_at)
}

#[test]
fn a_follower_waiting_for_a_snapshot_keeps_getting_heartbeats() {
    let (mut h, sent_at) = leader_sending_a_snapshot_to_node_2();
    let interval = RaftConfig::default().interval_heartbeat_ns;
    let mut heartbeats = 0;
    let resent_at = loop {
        let effects = h.fire_next_timer().expect("the leader ticks");
        assert!(h.now() - sent_at <= 5 * interval, "no resend within 5 heartbeat intervals");
        let to_2: Vec<Msg> =
            sends(&effects).into_iter().filter(|(to, _)| *to == 2).map(|(_, m)| m).collect();
        if to_2.iter().any(|m| matches!(m, Msg::Snapshot { .. })) {
            break h.now();
        }
        for m in to_2 {
            let Msg::Append { prev_index, entries, .. } = m else { panic!("{m:?}") };
            assert!(entries.is_empty() && prev_index == h.node.log().base_index());
            heartbeats += 1;
        }
    };
    // Before the fix the leader sent node 2 nothing until `timeout_election_max` (300 ms).
    assert!(heartbeats >= 3, "{heartbeats} heartbeats while the snapshot was in flight");
    assert!(resent_at - sent_at < RaftConfig::default().timeout_election_max_ns);
}

#[test]
fn a_follower_that_answers_heartbeats_gets_a_lost_snapshot_again_without_backoff() {
    let (mut h, _) = leader_sending_a_snapshot_to_node_2();
    let interval = RaftConfig::default().interval_heartbeat_ns;
    let mut resends = Vec::new();
    while resends.len() < 3 {
        let effects = h.fire_next_timer().expect("the leader ticks");
        for (to, m) in sends(&effects) {
            match m {
                Msg::Snapshot { .. } if to == 2 => resends.push(h.now()),
                Msg::Append { read_round, .. } if to == 2 => {
                    // Node 2 is up: it rejects each heartbeat (its log is empty).
                    let reject = Msg::AppendReply {
                        term: 1,
                        success: false,
                        match_index: 0,
                        conflict_index: 1,
                        conflict_term: None,
                        read_round,
                    };
                    h.msg(2, reject);
                }
                _ => {}
            }
        }
    }
    for pair in resends.windows(2) {
        assert!(pair[1] - pair[0] <= 4 * interval, "backed off: {resends:?}");
    }
}

#[test]
fn a_silent_follower_gets_snapshots_with_backoff() {
    let (mut h, sent_at) = leader_sending_a_snapshot_to_node_2();
    let mut resends = vec![sent_at];
    while resends.len() < 5 {
        let effects = h.fire_next_timer().expect("the leader ticks");
        if sends(&effects).iter().any(|(to, m)| *to == 2 && matches!(m, Msg::Snapshot { .. })) {
            resends.push(h.now());
        }
    }
    let gaps: Vec<_> = resends.windows(2).map(|p| p[1] - p[0]).collect();
    assert!(gaps.windows(2).all(|g| g[1] >= g[0]) && gaps[3] > gaps[0], "{gaps:?}");
}

#[test]
fn a_retried_write_is_applied_once() {
    let mut h = single_leader(RaftConfig::default());
    let effects = h.request(3, put(3, 1, "k", "a"));
    assert!(replies(&effects).is_empty(), "waits for its commit");
    let again = h.request(3, put(3, 1, "k", "a"));
    assert!(
        facts(&again).iter().all(|f| !matches!(f, Fact::LogAppend { .. })),
        "not proposed twice"
    );
    let effects = settle(&mut h, effects);
    assert_eq!(
        replies(&effects),
        vec![(RequestId { client: 3, seq: 1 }, Reply::Ok { value: None })]
    );
    let retry = h.request(3, put(3, 1, "k", "a"));
    assert_eq!(replies(&retry), vec![(RequestId { client: 3, seq: 1 }, Reply::Ok { value: None })]);
    assert!(facts(&retry).is_empty());
    let read = h.node.machine().query(&Op::Get { key: "k".into() });
    assert_eq!(read, super::Outcome::Ok(Some("a".into())));
}

#[test]
fn read_index_waits_for_a_confirmed_round() {
    let mut h = harness(0, &[0, 1, 2], RaftConfig::default());
    elect(&mut h);
    let ack = |round| Msg::AppendReply {
        term: 1,
        success: true,
        match_index: 1,
        conflict_index: 0,
        conflict_term: None,
        read_round: round,
    };
    settle_with(&mut h, |h| h.msg(1, ack(0)));
    assert_eq!(h.node.commit_index(), 1, "the no-op committed");
    let effects = h.request(7, get(7, 1, "k"));
    assert!(replies(&effects).is_empty());
    let effects = h.msg(1, ack(0));
    assert!(replies(&effects).is_empty(), "an ack of an older round confirms nothing");
    let tick = h.fire_next_timer().unwrap();
    let round = sends(&tick)
        .iter()
        .find_map(
            |(_, m)| if let Msg::Append { read_round, .. } = m { Some(*read_round) } else { None },
        )
        .unwrap();
    let effects = h.msg(2, ack(round));
    assert_eq!(
        replies(&effects),
        vec![(RequestId { client: 7, seq: 1 }, Reply::Ok { value: None })]
    );
}

#[test]
fn no_read_index_bug_reads_at_once() {
    let bugs = Bugs { no_read_index: true, ..Bugs::default() };
    let mut h = harness(0, &[0, 1, 2], config(bugs));
    elect(&mut h);
    let effects = h.request(7, get(7, 1, "k"));
    assert_eq!(replies(&effects).len(), 1);
}

#[test]
fn followers_redirect_clients() {
    let mut h = harness(0, &[0, 1, 2], RaftConfig::default());
    settle_with(&mut h, |h| h.msg(2, append(1, (0, 0), &[1], 0)));
    let effects = h.request(1, put(1, 1, "k", "v"));
    assert_eq!(
        replies(&effects),
        vec![(RequestId { client: 1, seq: 1 }, Reply::Redirect { leader: Some(2) })]
    );
}

#[test]
fn a_member_is_added_after_catching_up() {
    let mut h = single_leader(RaftConfig::default());
    let effects = h.control(Control::AddMember { node: 1 });
    let catchup = sends(&effects);
    assert!(matches!(catchup[..], [(1, Msg::Append { .. })]), "learner gets the log: {catchup:?}");
    assert_eq!(h.node.voters(), &[0]);
    let last = h.node.log().last_index();
    let ack = Msg::AppendReply {
        term: 1,
        success: true,
        match_index: last,
        conflict_index: 0,
        conflict_term: None,
        read_round: 0,
    };
    let effects = settle_with(&mut h, |h| h.msg(1, ack));
    assert!(facts(&effects).contains(&Fact::Membership { members: vec![0, 1] }));
    assert_eq!(h.node.voters(), &[0, 1]);
    assert_eq!(h.node.commit_index(), last, "the config entry needs node 1 now");
}

#[test]
fn a_removed_leader_steps_down_once_the_removal_commits() {
    let mut h = harness(0, &[0, 1, 2], RaftConfig::default());
    elect(&mut h);
    let ack = |index| Msg::AppendReply {
        term: 1,
        success: true,
        match_index: index,
        conflict_index: 0,
        conflict_term: None,
        read_round: 0,
    };
    settle_with(&mut h, |h| h.msg(1, ack(1)));
    let effects = settle_with(&mut h, |h| h.control(Control::RemoveMember { node: 0 }));
    assert!(facts(&effects).contains(&Fact::Membership { members: vec![1, 2] }));
    assert_eq!(h.node.role(), Role::Leader);
    let effects = h.msg(1, ack(2));
    assert!(facts(&effects).is_empty(), "the new config needs both 1 and 2");
    let effects = h.msg(2, ack(2));
    assert!(facts(&effects).contains(&Fact::SteppedDown { term: 1 }));
    assert_eq!(h.node.role(), Role::Follower);
}

#[test]
fn state_machine_is_pluggable() {
    fn uses<S: StateMachine>(_: &RaftNode<S>) {}
    uses(&RaftNode::<super::KvStore>::new(RaftConfig::default(), 0, vec![0]));
}

#[test]
fn upgrade_restarts_on_the_new_version_and_the_registry_refuses_an_incompatible_one() {
    let mut h = harness(0, &[0, 1, 2], config(Bugs::default()));
    let effects = settle_with(&mut h, |h| h.control(Control::Upgrade { node: 0, version: 2 }));
    assert_eq!(h.node.schema_version(), 2);
    let upgraded = facts(&effects);
    assert!(upgraded.iter().any(|f| f.name() == "schema_upgraded"), "{upgraded:?}");
    // It sends with version 2 now: `sender_version` is on the wire.
    let effects = elect(&mut h);
    let Some(Effect::Send { msg, .. }) = effects.iter().find(|e| matches!(e, Effect::Send { .. }))
    else {
        panic!("a vote request")
    };
    assert_eq!(msg.version, 2);
    assert_eq!(wire::decode(2, msg).unwrap().1, 2);
    // Version 3 is incompatible: refused, the node keeps running version 2.
    let refused = facts(&h.control(Control::Upgrade { node: 0, version: 3 }));
    assert!(refused.iter().any(|f| f.name() == "schema_upgrade_refused"), "{refused:?}");
    assert_eq!(h.node.schema_version(), 2);
    // A controls for another node changes nothing here.
    assert!(facts(&h.control(Control::Upgrade { node: 1, version: 2 })).is_empty());
}

#[test]
fn with_the_knob_an_incompatible_version_goes_in_and_its_messages_do_not_decode() {
    let bugs = Bugs { skip_compat_check: true, ..Bugs::default() };
    let mut h = harness(1, &[0, 1, 2], config(bugs));
    settle_with(&mut h, |h| h.control(Control::Upgrade { node: 1, version: 2 }));
    settle_with(&mut h, |h| h.control(Control::Upgrade { node: 1, version: 3 }));
    assert_eq!(h.node.schema_version(), 3);
    // A heartbeat from a version-2 leader: `commit` has another wire type in version 3.
    let heartbeat = append(1, (0, 0), &[], 0);
    let effects = h.message(0, wire::encode(2, &heartbeat));
    let failed: Vec<Fact> =
        facts(&effects).into_iter().filter(|f| f.name() == "decode_failed").collect();
    let [Fact::Custom { values, .. }] = &failed[..] else { panic!("{effects:?}") };
    let (message, field) = wire::names(3, values[2], values[3]);
    assert_eq!((message.as_str(), field.as_str(), values[3]), ("RaftMessage", "commit", 10));
    assert!(sends(&effects).is_empty(), "an undecodable message is dropped");
}
