//! A shard's recovery by hand, and the `txn_atomic` rules both ways. The system under whole
//! scenarios (passing runs, write skew, every knob caught) is `tests/txn_system.rs`.

use super::api::{Mop, TxnKind};
use super::check::TxnAtomic;
use super::config::TxnConfig;
use super::messages::Msg;
use super::{facts, TxnNode};
use crate::check::FactChecker;
use crate::node::testing::Harness;
use crate::node::{Effect, Fact};

fn facts_named(effects: &[Effect<Msg, super::TxnRes>], name: &str) -> usize {
    effects
        .iter()
        .filter(
            |e| matches!(e, Effect::Fact { fact: Fact::Custom { name: n, .. }, .. } if n == name),
        )
        .count()
}

fn fsync_all(h: &mut Harness<TxnNode>, effects: &mut Vec<Effect<Msg, super::TxnRes>>) {
    loop {
        let ids: Vec<_> = effects
            .iter()
            .filter_map(|e| if let Effect::Fsync { id } = e { Some(*id) } else { None })
            .collect();
        if ids.is_empty() {
            return;
        }
        effects.clear();
        for id in ids {
            effects.extend(h.complete_fsync(id));
        }
    }
}

/// A shard votes yes once its prepare is durable, keeps the transaction across a crash (and
/// asks the coordinator about it), and applies the commit it is then told; with the knob
/// `txn.2pc_forget_prepared_on_restart` it has no record of it.
#[test]
fn a_shard_recovers_what_it_voted_yes_for() {
    for forget in [false, true] {
        let mut config = TxnConfig::default();
        config.bugs.forget_prepared_on_restart = forget;
        let mut h = Harness::new(1, TxnNode::new(config.clone(), 1));
        let mut out = h.start();
        fsync_all(&mut h, &mut out);
        let txn = (1 << 32) | 7;
        let mops = vec![(0, Mop::Append { key: 2, value: 40 }), (1, Mop::Read { key: 2 })];
        let mut out = h.message(0, Msg::Prepare { txn, kind: TxnKind::ListAppend, mops });
        assert_eq!(facts_named(&out, facts::VOTE), 0, "no vote before the prepare is durable");
        fsync_all(&mut h, &mut out);
        let votes: Vec<_> = out
            .iter()
            .filter_map(|e| match e {
                Effect::Send { msg: Msg::Vote { yes, .. }, .. } => Some(*yes),
                _ => None,
            })
            .collect();
        assert_eq!(votes, [true]);
        let mut out = h.crash_and_restart(TxnNode::new(config.clone(), 1));
        fsync_all(&mut h, &mut out);
        let out = h.message(0, Msg::Decide { txn, commit: true });
        let missing = facts_named(&out, facts::MISSING);
        assert_eq!(missing, usize::from(forget), "forget = {forget}");
        if !forget {
            let mut out = out;
            fsync_all(&mut h, &mut out);
            assert_eq!(facts_named(&out, facts::APPLIED), 1, "the commit applied after recovery");
        }
    }
}

fn votes(effects: &[Effect<Msg, super::TxnRes>]) -> Vec<bool> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { msg: Msg::Vote { yes, .. }, .. } => Some(*yes),
            _ => None,
        })
        .collect()
}

/// A prepared transaction rebuilt after a crash still holds its reads: under 2PL a writer of
/// a key it read waits (no vote until the decision releases the lock); under SSI the writer's
/// rw-antidependency with it is assumed dangerous and the writer votes no. Without this, a
/// transaction slipped a write under a read its coordinator then committed (a G-single cycle
/// `txn-serializable` found at seed 6). The recovered record counts as a yes vote.
#[test]
fn a_recovered_prepared_transaction_keeps_its_reads() {
    use crate::txn::Level;
    for level in [Level::Serializable2pl, Level::Serializable] {
        let config = TxnConfig { level, ..TxnConfig::default() };
        let mut h = Harness::new(1, TxnNode::new(config.clone(), 1));
        let mut out = h.start();
        fsync_all(&mut h, &mut out);
        let reader = (1 << 32) | 1;
        let mops = vec![(0, Mop::Read { key: 5 }), (1, Mop::Append { key: 6, value: 1 })];
        let mut out = h.message(0, Msg::Prepare { txn: reader, kind: TxnKind::ListAppend, mops });
        fsync_all(&mut h, &mut out);
        assert_eq!(votes(&out), [true]);
        let mut out = h.crash_and_restart(TxnNode::new(config.clone(), 1));
        assert_eq!(facts_named(&out, facts::VOTE), 1, "{level:?}: the recovered yes vote");
        fsync_all(&mut h, &mut out);
        let writer = (2 << 32) | 1;
        let mops = vec![(0, Mop::Append { key: 5, value: 2 })];
        let mut out = h.message(0, Msg::Prepare { txn: writer, kind: TxnKind::ListAppend, mops });
        fsync_all(&mut h, &mut out);
        let expected: &[bool] = if level == Level::Serializable { &[false] } else { &[] };
        assert_eq!(votes(&out), expected, "{level:?}: the writer under the recovered read");
        if level == Level::Serializable2pl {
            let mut out = h.message(0, Msg::Decide { txn: reader, commit: true });
            fsync_all(&mut h, &mut out);
            assert_eq!(votes(&out), [true], "the writer runs once the reader committed");
        }
    }
}

fn fact(name: &str, values: Vec<u64>) -> Fact {
    Fact::Custom { name: name.into(), values, text: String::new() }
}

#[test]
fn txn_atomic_holds_decisions_to_every_vote_and_shards_to_decisions() {
    let t = 9;
    let mut ok = TxnAtomic::default();
    assert!(ok.on_fact(1, 1, 0, &fact(facts::VOTE, vec![t, 1])).is_ok());
    assert!(ok.on_fact(2, 2, 0, &fact(facts::VOTE, vec![t, 1])).is_ok());
    assert!(ok.on_fact(3, 0, 0, &fact(facts::DECIDE, vec![t, 1, 1, 2])).is_ok());
    assert!(ok.on_fact(4, 1, 0, &fact(facts::APPLIED, vec![t, 1])).is_ok());
    assert!(ok.results()[0].passed && ok.results()[0].judged);

    let mut early = TxnAtomic::default();
    early.on_fact(1, 1, 0, &fact(facts::VOTE, vec![t, 1])).unwrap();
    let v = early.on_fact(2, 0, 0, &fact(facts::DECIDE, vec![t, 1, 1, 2])).unwrap_err();
    assert!(v.detail.contains("before shard n2 voted"), "{}", v.detail);

    let mut flip = TxnAtomic::default();
    flip.on_fact(1, 0, 0, &fact(facts::DECIDE, vec![t, 0, 1])).unwrap();
    assert!(flip.on_fact(2, 1, 0, &fact(facts::APPLIED, vec![t, 1])).is_err());

    // A no vote nobody heard dies with its shard in a crash; the rerun's yes counts.
    for crash in [false, true] {
        let mut rerun = TxnAtomic::default();
        rerun.on_fact(1, 1, 0, &fact(facts::VOTE, vec![t, 0])).unwrap();
        rerun.on_fact(1, 1, 0, &fact(facts::APPLIED, vec![t, 0])).unwrap();
        if crash {
            rerun.on_crash(2, 1);
        }
        rerun.on_fact(3, 1, 0, &fact(facts::VOTE, vec![t, 1])).unwrap();
        let decided = rerun.on_fact(4, 0, 0, &fact(facts::DECIDE, vec![t, 1, 1]));
        assert_eq!(decided.is_ok(), crash, "crash = {crash}");
    }

    let mut lost = TxnAtomic::default();
    assert!(lost.on_fact(1, 1, 0, &fact(facts::MISSING, vec![t])).is_err());
    assert!(!TxnAtomic::default().results()[0].judged, "nothing decided: not judged");
}
