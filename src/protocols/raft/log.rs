//! The in-memory log: entries after a snapshot base, each with its chained prefix digest.

use super::messages::Entry;
use super::mix;

/// An entry with what the node computed about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// The entry.
    pub entry: Entry,
    /// Digest of the payload alone.
    pub command: u64,
    /// Chained digest of the log prefix ending here.
    pub digest: u64,
}

/// Entries `base_index + 1 ..= last_index()`; everything up to `base_index` is in a snapshot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Log {
    base_index: u64,
    base_term: u64,
    base_digest: u64,
    entries: Vec<LogEntry>,
}

/// Digest of a prefix ending with an entry of `term` and payload digest `command`.
pub fn chain(previous: u64, term: u64, command: u64) -> u64 {
    mix(mix(previous, term), command)
}

impl Log {
    /// Index covered by the snapshot (0 if none).
    pub fn base_index(&self) -> u64 {
        self.base_index
    }

    /// Term of the entry at `base_index`.
    pub fn base_term(&self) -> u64 {
        self.base_term
    }

    /// Digest of the prefix up to `base_index`.
    pub fn base_digest(&self) -> u64 {
        self.base_digest
    }

    /// Index of the last entry (the base if there are none).
    pub fn last_index(&self) -> u64 {
        self.base_index + self.entries.len() as u64
    }

    /// Term of the last entry.
    pub fn last_term(&self) -> u64 {
        self.entries.last().map_or(self.base_term, |e| e.entry.term)
    }

    /// Digest of the whole log.
    pub fn last_digest(&self) -> u64 {
        self.entries.last().map_or(self.base_digest, |e| e.digest)
    }

    /// The entry at `index`, if it is held (not compacted, not beyond the end).
    pub fn get(&self, index: u64) -> Option<&LogEntry> {
        if index <= self.base_index {
            return None;
        }
        self.entries.get((index - self.base_index - 1) as usize)
    }

    /// Term at `index`, including the base; `None` if unknown.
    pub fn term(&self, index: u64) -> Option<u64> {
        if index == self.base_index {
            return Some(self.base_term);
        }
        self.get(index).map(|e| e.entry.term)
    }

    /// Prefix digest at `index`, including the base; `None` if unknown.
    pub fn digest(&self, index: u64) -> Option<u64> {
        if index == self.base_index {
            return Some(self.base_digest);
        }
        self.get(index).map(|e| e.digest)
    }

    /// Appends `entry` and returns its index.
    pub fn append(&mut self, entry: Entry) -> u64 {
        assert!(entry.term >= self.last_term(), "log terms never decrease");
        let command = entry.command_digest();
        let digest = chain(self.last_digest(), entry.term, command);
        self.entries.push(LogEntry { entry, command, digest });
        self.last_index()
    }

    /// Removes the entries at `index` and above.
    pub fn truncate_from(&mut self, index: u64) {
        assert!(index > self.base_index, "cannot truncate into the snapshot");
        self.entries.truncate((index - self.base_index - 1) as usize);
    }

    /// Drops the entries up to `index` (held, at most the last), which a snapshot now covers.
    pub fn compact_to(&mut self, index: u64) {
        if index <= self.base_index {
            return;
        }
        let held = self.get(index).expect("compact to a held index").clone();
        self.entries.drain(..(index - self.base_index) as usize);
        self.base_index = index;
        self.base_term = held.entry.term;
        self.base_digest = held.digest;
    }

    /// Replaces the whole log with a snapshot base.
    pub fn reset(&mut self, index: u64, term: u64, digest: u64) {
        self.entries.clear();
        self.base_index = index;
        self.base_term = term;
        self.base_digest = digest;
    }

    /// Entries from `index` on, at most `count_max` of them and about `bytes_max` bytes (at
    /// least one if any).
    pub fn slice(&self, index: u64, count_max: u64, bytes_max: u64) -> Vec<Entry> {
        let mut out = Vec::new();
        let mut bytes = 0;
        let mut next = index;
        while (out.len() as u64) < count_max {
            let Some(e) = self.get(next) else { break };
            bytes += e.entry.size_bytes();
            if bytes > bytes_max && !out.is_empty() {
                break;
            }
            out.push(e.entry.clone());
            next += 1;
        }
        out
    }

    /// First index of the run of entries of `term` that ends at `index` (a conflict hint).
    pub fn first_index_of_term(&self, term: u64, index: u64) -> u64 {
        let mut first = index;
        while first > self.base_index + 1 && self.term(first - 1) == Some(term) {
            first -= 1;
        }
        first
    }

    /// Last index holding an entry of `term`, if the log holds any.
    pub fn last_index_of_term(&self, term: u64) -> Option<u64> {
        let mut index = self.last_index();
        while index > self.base_index {
            let t = self.term(index).expect("held");
            if t == term {
                return Some(index);
            }
            if t < term {
                return None;
            }
            index -= 1;
        }
        None
    }

    /// Held entries, oldest first, with their indexes.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &LogEntry)> + '_ {
        self.entries.iter().enumerate().map(|(i, e)| (self.base_index + 1 + i as u64, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::raft::messages::Payload;

    fn noop(term: u64) -> Entry {
        Entry { term, payload: Payload::Noop }
    }

    #[test]
    fn digests_chain_and_compaction_keeps_them() {
        let mut a = Log::default();
        let mut b = Log::default();
        for t in [1, 1, 2] {
            a.append(noop(t));
            b.append(noop(t));
        }
        assert_eq!(a.last_digest(), b.last_digest());
        b.truncate_from(3);
        b.append(noop(3));
        assert_ne!(a.last_digest(), b.last_digest());
        assert_eq!(a.digest(2), b.digest(2));
        a.compact_to(2);
        assert_eq!(a.base_index(), 2);
        assert_eq!(a.digest(2), b.digest(2));
        assert_eq!(a.term(3), Some(2));
        assert_eq!(a.get(2), None);
    }

    #[test]
    fn term_hints() {
        let mut log = Log::default();
        for t in [1, 1, 2, 2, 2, 4] {
            log.append(noop(t));
        }
        assert_eq!(log.first_index_of_term(2, 5), 3);
        assert_eq!(log.last_index_of_term(2), Some(5));
        assert_eq!(log.last_index_of_term(3), None);
        assert_eq!(log.slice(2, 2, 1 << 20).len(), 2);
        assert_eq!(log.slice(6, 10, 1).len(), 1);
    }
}
