//! A small engine for testing the storage node and its checker without the real engines: a
//! checksummed write-ahead log replayed into a map at open. It keeps the [`Engine`] contract
//! (group commit, durable sequence numbers, recovery of the valid prefix of the log), and its
//! [`Flaw`]s break it on purpose so tests can show the checker catching each kind of break.
//!
//! Not for scenarios: it holds every key in memory and never compacts.

use crate::node::{DiskIo, FsyncId};
use crate::storage::crc::crc32c;
use crate::storage::{
    path_in, Bugs, DamageLog, Engine, EngineConfig, EngineStats, Found, Range, Row, Seq,
    StorageError,
};
use std::collections::BTreeMap;

/// A deliberate break of the engine contract.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Flaw {
    /// None: the engine keeps its contract.
    #[default]
    None,
    /// Writes are reported durable at once, without an fsync (a crash loses acknowledged
    /// writes).
    NoFsync,
    /// Reads return the value with its last byte flipped (a corruption not caught).
    Garble,
    /// Reads fail with a detected corruption.
    ReadsFail,
    /// Deletes are forgotten at recovery (a tombstone dropped: deleted keys come back).
    DropTombstones,
}

/// Most bytes of one log record's key or value.
pub const RECORD_FIELD_BYTES_MAX: usize = 1 << 16;

/// The test engine. See the module documentation.
pub struct LogEngine {
    log: String,
    flaw: Flaw,
    map: BTreeMap<Vec<u8>, (Option<Vec<u8>>, Seq)>,
    last: Seq,
    durable: Seq,
    /// The log fsync in flight and the last seq it covers.
    in_flight: Option<(FsyncId, Seq)>,
    /// The directory fsync that makes a new log's name durable; writes wait for it.
    dir_fsync: Option<FsyncId>,
    damage: DamageLog,
    stats: EngineStats,
}

/// Opens a [`LogEngine`] keeping its contract: a [`crate::protocols::storage::node::Opener`].
pub fn open(
    io: &mut dyn DiskIo,
    dir: &str,
    _: &EngineConfig,
    _: Bugs,
) -> Result<Box<dyn Engine>, StorageError> {
    Ok(Box::new(LogEngine::open(io, dir, Flaw::None)?))
}

/// Opens a [`LogEngine`] with [`Flaw::NoFsync`].
pub fn open_no_fsync(
    io: &mut dyn DiskIo,
    dir: &str,
    _: &EngineConfig,
    _: Bugs,
) -> Result<Box<dyn Engine>, StorageError> {
    Ok(Box::new(LogEngine::open(io, dir, Flaw::NoFsync)?))
}

/// Opens a [`LogEngine`] with [`Flaw::Garble`].
pub fn open_garbling(
    io: &mut dyn DiskIo,
    dir: &str,
    _: &EngineConfig,
    _: Bugs,
) -> Result<Box<dyn Engine>, StorageError> {
    Ok(Box::new(LogEngine::open(io, dir, Flaw::Garble)?))
}

/// Opens a [`LogEngine`] with [`Flaw::ReadsFail`].
pub fn open_failing_reads(
    io: &mut dyn DiskIo,
    dir: &str,
    _: &EngineConfig,
    _: Bugs,
) -> Result<Box<dyn Engine>, StorageError> {
    Ok(Box::new(LogEngine::open(io, dir, Flaw::ReadsFail)?))
}

/// Opens a [`LogEngine`] with [`Flaw::DropTombstones`].
pub fn open_dropping_tombstones(
    io: &mut dyn DiskIo,
    dir: &str,
    _: &EngineConfig,
    _: Bugs,
) -> Result<Box<dyn Engine>, StorageError> {
    Ok(Box::new(LogEngine::open(io, dir, Flaw::DropTombstones)?))
}

/// A record: `[len u32][crc u32]` then the payload `[seq u64][tombstone u8][key_len u32][key]
/// [value]`, little-endian.
fn record(seq: Seq, key: &[u8], value: Option<&[u8]>) -> Vec<u8> {
    assert!(key.len() <= RECORD_FIELD_BYTES_MAX, "key too long");
    assert!(value.is_none_or(|v| v.len() <= RECORD_FIELD_BYTES_MAX), "value too long");
    let mut payload = Vec::with_capacity(17 + key.len() + value.map_or(0, <[u8]>::len));
    payload.extend_from_slice(&seq.to_le_bytes());
    payload.push(u8::from(value.is_none()));
    payload.extend_from_slice(&(key.len() as u32).to_le_bytes());
    payload.extend_from_slice(key);
    payload.extend_from_slice(value.unwrap_or_default());
    let mut out = Vec::with_capacity(payload.len() + 8);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32c(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    out
}

type Entry = (Seq, Vec<u8>, Option<Vec<u8>>);

/// The records of the valid prefix of `data`, and its length.
fn replay(data: &[u8]) -> (Vec<Entry>, usize) {
    let mut entries = Vec::new();
    let mut at = 0;
    while data.len() - at >= 8 {
        let len = u32::from_le_bytes(data[at..at + 4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(data[at + 4..at + 8].try_into().expect("4 bytes"));
        let Some(payload) = data.get(at + 8..at + 8 + len) else { break };
        if len < 13 || crc32c(payload) != crc {
            break;
        }
        let seq = u64::from_le_bytes(payload[..8].try_into().expect("8 bytes"));
        let tombstone = payload[8] == 1;
        let key_len = u32::from_le_bytes(payload[9..13].try_into().expect("4 bytes")) as usize;
        let Some(key) = payload.get(13..13 + key_len) else { break };
        let value = (!tombstone).then(|| payload[13 + key_len..].to_vec());
        entries.push((seq, key.to_vec(), value));
        at += 8 + len;
    }
    (entries, at)
}

impl LogEngine {
    /// Opens (recovers) the log in `dir`.
    pub fn open(io: &mut dyn DiskIo, dir: &str, flaw: Flaw) -> Result<Self, StorageError> {
        let log = path_in(dir, "log");
        let mut engine = LogEngine {
            log: log.clone(),
            flaw,
            map: BTreeMap::new(),
            last: 0,
            durable: 0,
            in_flight: None,
            dir_fsync: None,
            damage: DamageLog::default(),
            stats: EngineStats::default(),
        };
        if !io.disk().exists(&log) {
            io.disk().create(&log).expect("a valid, new path");
            engine.dir_fsync = Some(io.fsync_dir(dir));
            engine.stats.fsyncs += 1;
            return Ok(engine);
        }
        let data = io.disk().read_all(&log).map_err(|e| StorageError::from_disk(&log, e))?;
        engine.stats.recovery_bytes_read += data.len() as u64;
        let (entries, valid) = replay(&data);
        for (seq, key, value) in entries {
            assert!(seq > engine.last, "log sequence numbers increase");
            engine.last = seq;
            if value.is_none() && flaw == Flaw::DropTombstones {
                continue;
            }
            engine.map.insert(key, (value, seq));
        }
        if valid < data.len() {
            io.disk().truncate(&log, valid as u64); // the torn tail: later records follow
        }
        engine.durable = engine.last;
        Ok(engine)
    }

    fn write(&mut self, io: &mut dyn DiskIo, key: &[u8], value: Option<&[u8]>) -> Seq {
        self.last += 1;
        let bytes = record(self.last, key, value);
        io.disk().append(&self.log, &bytes);
        self.stats.writes += 1;
        self.stats.user_bytes_written += (key.len() + value.map_or(0, <[u8]>::len)) as u64;
        self.stats.log_bytes_written += bytes.len() as u64;
        self.map.insert(key.to_vec(), (value.map(<[u8]>::to_vec), self.last));
        if self.flaw == Flaw::NoFsync {
            self.durable = self.last;
        }
        self.last
    }

    fn read_flaw(&self, value: Vec<u8>) -> Result<Vec<u8>, StorageError> {
        match self.flaw {
            Flaw::Garble => {
                let mut value = value;
                if let Some(byte) = value.last_mut() {
                    *byte ^= 1;
                }
                Ok(value)
            }
            Flaw::ReadsFail => {
                Err(StorageError::Corruption { file: self.log.clone(), offset: 0, what: "record" })
            }
            _ => Ok(value),
        }
    }
}

impl Engine for LogEngine {
    fn name(&self) -> &'static str {
        "log"
    }

    fn get(&mut self, _: &mut dyn DiskIo, key: &[u8]) -> Result<Option<Found>, StorageError> {
        self.stats.reads += 1;
        match self.map.get(key) {
            Some((Some(value), seq)) => {
                let seq = *seq;
                Ok(Some(Found { value: self.read_flaw(value.clone())?, seq }))
            }
            _ => Ok(None),
        }
    }

    fn put(&mut self, io: &mut dyn DiskIo, key: &[u8], value: &[u8]) -> Seq {
        self.write(io, key, Some(value))
    }

    fn delete(&mut self, io: &mut dyn DiskIo, key: &[u8]) -> Seq {
        self.write(io, key, None)
    }

    fn scan(
        &mut self,
        _: &mut dyn DiskIo,
        range: Range<'_>,
        limit: usize,
    ) -> Result<Vec<Row>, StorageError> {
        self.stats.reads += 1;
        let mut rows = Vec::new();
        for (key, (value, seq)) in self.map.range::<[u8], _>(range) {
            if rows.len() == limit {
                break;
            }
            if let Some(value) = value {
                let value = self.read_flaw(value.clone())?;
                rows.push(Row { key: key.clone(), value, seq: *seq });
            }
        }
        Ok(rows)
    }

    fn sync(&mut self, io: &mut dyn DiskIo) {
        if self.in_flight.is_some() || self.dir_fsync.is_some() || self.last == self.durable {
            return; // the fsync in flight, when it completes, starts the next
        }
        self.in_flight = Some((io.fsync(&self.log), self.last));
        self.stats.fsyncs += 1;
    }

    fn on_fsync(&mut self, io: &mut dyn DiskIo, id: FsyncId) -> bool {
        if self.dir_fsync == Some(id) {
            self.dir_fsync = None;
        } else if let Some((_, upto)) = self.in_flight.filter(|(f, _)| *f == id) {
            self.in_flight = None;
            self.durable = self.durable.max(upto);
            self.stats.flushes += 1; // a group commit: counted so the node's facts show some
        } else {
            return false;
        }
        self.sync(io);
        true
    }

    fn durable_seq(&self) -> Seq {
        self.durable
    }

    fn last_seq(&self) -> Seq {
        self.last
    }

    fn stats(&self) -> EngineStats {
        self.stats
    }

    fn damage(&self) -> &DamageLog {
        &self.damage
    }

    fn describe(&self) -> String {
        format!("log: {} keys, seq {} (durable {})", self.map.len(), self.last, self.durable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testing::DiskHarness;
    use crate::node::DiskIo;

    #[test]
    fn recovers_what_was_synced_and_drops_a_torn_tail() {
        let mut h = DiskHarness::new(1);
        let mut e = LogEngine::open(&mut h, "d", Flaw::None).unwrap();
        e.put(&mut h, b"a", b"1");
        e.sync(&mut h);
        assert_eq!(e.durable_seq(), 0, "the directory is not synced yet");
        for id in h.complete_fsyncs() {
            assert!(e.on_fsync(&mut h, id));
        }
        for id in h.complete_fsyncs() {
            assert!(e.on_fsync(&mut h, id));
        }
        assert_eq!(e.durable_seq(), 1);
        e.delete(&mut h, b"a"); // never synced
        h.disk().append("d/log", &[9, 9, 9]);
        h.crash();
        let mut e = LogEngine::open(&mut h, "d", Flaw::None).unwrap();
        assert_eq!(e.last_seq(), 1);
        assert_eq!(e.get(&mut h, b"a").unwrap().unwrap().value, b"1");
    }
}
