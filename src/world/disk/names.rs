//! A disk's name tables: which file each path names now (the volatile table, what the page
//! cache of the directories holds) and what a crash would leave (the durable table).
//!
//! Name operations (create, delete, rename) change the volatile table at once and wait in an
//! ordered log until a directory fsync commits them. Commits always take a prefix of the log, as
//! a journaling file system commits metadata in order, so the durable table is always the
//! volatile table as it was after some earlier operation: a crash can never reach a state no
//! sequence of operations made (a file under two names, say).

use super::Inode;
use crate::engine::SimRng;
use std::collections::BTreeMap;
use std::ops::Bound;

/// One name operation, with the file it concerns.
#[derive(Clone, Debug)]
enum Op {
    Create {
        path: String,
        inode: Inode,
    },
    Delete {
        path: String,
        inode: Inode,
    },
    /// Moves `inode` from `from` to `to`, unlinking what `to` named before.
    Rename {
        from: String,
        to: String,
        inode: Inode,
    },
}

impl Op {
    fn inode(&self) -> Inode {
        match self {
            Op::Create { inode, .. } | Op::Delete { inode, .. } | Op::Rename { inode, .. } => {
                *inode
            }
        }
    }

    /// True if the operation changes directory `dir` (a rename changes both of its own).
    fn touches(&self, dir: &str) -> bool {
        match self {
            Op::Create { path, .. } | Op::Delete { path, .. } => dir_of(path) == dir,
            Op::Rename { from, to, .. } => dir_of(from) == dir || dir_of(to) == dir,
        }
    }

    /// Applies the operation to the durable table. The durable table is the volatile one as it
    /// was just before this operation (commits take prefixes), so the operation applies exactly.
    fn apply(self, table: &mut BTreeMap<String, Inode>) {
        match self {
            Op::Create { path, inode } => {
                let before = table.insert(path, inode);
                assert!(before.is_none(), "durable create over an existing name");
            }
            Op::Delete { path, inode } => {
                let before = table.remove(&path);
                assert_eq!(before, Some(inode), "durable delete of {path}: another file");
            }
            Op::Rename { from, to, inode } => {
                let before = table.remove(&from);
                assert_eq!(before, Some(inode), "durable rename of {from}: another file");
                table.insert(to, inode);
            }
        }
    }
}

/// The directory of `path`: everything before its last `/` (`""`, the root, if none).
pub(super) fn dir_of(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

/// A path is one or more non-empty names separated by single `/`s.
pub(super) fn valid_path(path: &str) -> bool {
    !path.is_empty() && path.split('/').all(|name| !name.is_empty())
}

/// The volatile and durable name tables and the log of operations between them.
#[derive(Clone, Debug, Default)]
pub(super) struct Names {
    volatile: BTreeMap<String, Inode>,
    durable: BTreeMap<String, Inode>,
    /// Operations not yet durable, oldest first, each with its sequence number.
    log: Vec<(u64, Op)>,
    /// Sequence number of the last operation logged; numbers start at 1.
    seq: u64,
}

impl Names {
    /// The file `path` names now.
    pub fn get(&self, path: &str) -> Option<Inode> {
        self.volatile.get(path).copied()
    }

    /// Logs a new name; the caller checked the path is free.
    pub fn create(&mut self, path: &str, inode: Inode) {
        let before = self.volatile.insert(path.to_string(), inode);
        assert!(before.is_none(), "create over {path}");
        self.log(Op::Create { path: path.to_string(), inode });
    }

    /// A name that is durable at once (an implicit creation). Commits the log first, so the
    /// durable table stays a prefix of the history.
    pub fn create_durable(&mut self, path: &str, inode: Inode) -> bool {
        let committed = self.commit(self.seq);
        let before = self.volatile.insert(path.to_string(), inode);
        assert!(before.is_none(), "create over {path}");
        self.durable.insert(path.to_string(), inode);
        committed
    }

    /// Unlinks `path`; returns the file it named.
    pub fn delete(&mut self, path: &str) -> Option<Inode> {
        let inode = self.volatile.remove(path)?;
        self.log(Op::Delete { path: path.to_string(), inode });
        Some(inode)
    }

    /// Moves the file named `from` to `to`, replacing what `to` named; `None` if `from` names
    /// nothing. The caller handles `from == to`.
    pub fn rename(&mut self, from: &str, to: &str) -> Option<Inode> {
        debug_assert_ne!(from, to);
        let inode = self.volatile.remove(from)?;
        self.volatile.insert(to.to_string(), inode);
        self.log(Op::Rename { from: from.to_string(), to: to.to_string(), inode });
        Some(inode)
    }

    fn log(&mut self, op: Op) {
        self.seq += 1;
        self.log.push((self.seq, op));
    }

    /// Sequence number of the last pending operation that changes `dir` (0 if none): what an
    /// fsync of `dir` started now covers.
    pub fn last_op_in(&self, dir: &str) -> u64 {
        self.log.iter().rev().find(|(_, op)| op.touches(dir)).map_or(0, |(seq, _)| *seq)
    }

    /// Makes the operations up to sequence number `upto` durable. Returns true if any were.
    pub fn commit(&mut self, upto: u64) -> bool {
        let count = self.log.iter().take_while(|(seq, _)| *seq <= upto).count();
        self.commit_first(count);
        count > 0
    }

    fn commit_first(&mut self, count: usize) {
        for (_, op) in self.log.drain(..count) {
            op.apply(&mut self.durable);
        }
    }

    /// A crash: the pending operations are replayed in order, each surviving with probability
    /// `1 - lost_ppm`, until the first that is lost; the rest are lost with it. The volatile table
    /// becomes the durable one. Returns how many operations were lost.
    pub fn crash(&mut self, rng: &mut SimRng, lost_ppm: u32) -> u64 {
        let survive_ppm = 1_000_000 - lost_ppm.min(1_000_000);
        // chance_ppm draws nothing at 0 or 1: the default (all lost) consumes no randomness.
        let kept = self.log.iter().take_while(|_| rng.chance_ppm(survive_ppm)).count();
        let lost = (self.log.len() - kept) as u64;
        self.commit_first(kept);
        self.log.clear();
        self.volatile.clone_from(&self.durable);
        lost
    }

    /// The names of the files directly in `dir`, sorted (bytewise).
    pub fn list(&self, dir: &str) -> Vec<String> {
        if dir.is_empty() {
            return self.volatile.keys().filter(|p| !p.contains('/')).cloned().collect();
        }
        let prefix = format!("{dir}/");
        self.volatile
            .range::<str, _>((Bound::Included(prefix.as_str()), Bound::Unbounded))
            .map(|(path, _)| path)
            .take_while(|path| path.starts_with(&prefix))
            .map(|path| &path[prefix.len()..])
            .filter(|name| !name.contains('/'))
            .map(str::to_string)
            .collect()
    }

    /// Sets `live[i]` for every file a table or a pending operation refers to.
    pub fn mark_live(&self, live: &mut [bool]) {
        let logged = self.log.iter().map(|(_, op)| op.inode());
        for inode in self.volatile.values().chain(self.durable.values()).copied().chain(logged) {
            live[inode.index as usize] = true;
        }
    }

    /// A name of file `inode` for messages: its current name, else its durable one.
    pub fn name_of(&self, inode: Inode) -> Option<&str> {
        fn find(table: &BTreeMap<String, Inode>, inode: Inode) -> Option<&str> {
            table.iter().find(|(_, i)| **i == inode).map(|(path, _)| path.as_str())
        }
        find(&self.volatile, inode).or_else(|| find(&self.durable, inode))
    }

    /// Number of name operations not yet durable.
    pub fn pending(&self) -> usize {
        self.log.len()
    }
}
