//! Sorted string tables: `DIR/NNNNNN.sst`, immutable once written.
//!
//! Layout: data blocks, the filter block, the index block, the footer, the trailer.
//! - A data block is entries `key | seq u64 | kind u8 | value` (key and value length-prefixed)
//!   of about `block_bytes`, then a CRC-32C.
//! - The index holds per block its first and last key, offset and length, then a CRC.
//! - The filter block is the table's [`Bloom`] filter, then a CRC.
//! - The footer holds the index and filter offsets and lengths, the entry count, the sequence
//!   range and the smallest and largest key; the trailer (fixed size, last in the file) its
//!   length, a magic number and a CRC over footer and trailer.
//!
//! Every CRC also covers the table's file number and the block's offset, so bytes a misdirected
//! write carried in from another table or another offset never check.

use super::bloom::{key_hash, Bloom};
use super::codec::{put_bytes, put_u32, put_u64, Reader};
use crate::node::DiskIo;
use crate::storage::{crc, Seq, StorageError};

const MAGIC: u64 = 0x6c73_6d2d_7373_7401; // "lsm-sst" + version 1
const TRAILER_BYTES: u64 = 4 + 8 + 4;
const KIND_PUT: u8 = 1;
const KIND_TOMBSTONE: u8 = 2;

/// One version of one key in a table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub key: Vec<u8>,
    pub seq: Seq,
    /// `None`: a tombstone.
    pub value: Option<Vec<u8>>,
}

/// Where one data block is, and the keys it spans.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexEntry {
    pub first_key: Vec<u8>,
    pub last_key: Vec<u8>,
    pub offset: u64,
    /// Length including the block's CRC.
    pub len: u64,
}

/// What the footer says about a table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Footer {
    pub entries: u64,
    pub seq_lo: Seq,
    pub seq_hi: Seq,
    pub smallest: Vec<u8>,
    pub largest: Vec<u8>,
}

/// A table's index and filter, kept in memory while the table is live.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub index: Vec<IndexEntry>,
    /// `None` when the filter block was corrupt: every probe is then a "maybe".
    pub filter: Option<Bloom>,
    pub footer: Footer,
}

/// A table built in memory, ready to be written.
pub struct Built {
    pub bytes: Vec<u8>,
    pub loaded: Loaded,
}

/// Which table a read is of: its path, its file number (in every CRC), and whether the
/// `no_checksum` bug knob skips verification.
#[derive(Clone, Copy, Debug)]
pub struct Source<'a> {
    pub path: &'a str,
    pub number: u64,
    pub no_checksum: bool,
}

/// Read counters a table read adds to.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReadCounters {
    pub bytes: u64,
    pub errors: u64,
}

fn checksum(number: u64, offset: u64, content: &[u8]) -> u32 {
    let mut prefix = Vec::with_capacity(16);
    put_u64(&mut prefix, number);
    put_u64(&mut prefix, offset);
    crc::extend(crc::crc32c(&prefix), content)
}

/// Builds a table from entries given in key order (one version per key).
pub struct Builder {
    number: u64,
    block_bytes: u64,
    bits_per_key: u32,
    out: Vec<u8>,
    block: Vec<u8>,
    block_first: Option<Vec<u8>>,
    last_key: Option<Vec<u8>>,
    smallest: Option<Vec<u8>>,
    index: Vec<IndexEntry>,
    hashes: Vec<u64>,
}

impl Builder {
    /// A builder for table `number`.
    pub fn new(number: u64, block_bytes: u64, bits_per_key: u32) -> Self {
        assert!(block_bytes > 0 && bits_per_key > 0, "block {block_bytes} B, {bits_per_key} b/k");
        Builder {
            number,
            block_bytes,
            bits_per_key,
            out: Vec::new(),
            block: Vec::new(),
            block_first: None,
            last_key: None,
            smallest: None,
            index: Vec::new(),
            hashes: Vec::new(),
        }
    }

    /// Adds the next entry; keys must strictly increase.
    pub fn add(&mut self, entry: &Entry) {
        if let Some(last) = &self.last_key {
            assert!(entry.key > *last, "table {}: keys out of order", self.number);
        }
        put_bytes(&mut self.block, &entry.key);
        put_u64(&mut self.block, entry.seq);
        self.block.push(if entry.value.is_some() { KIND_PUT } else { KIND_TOMBSTONE });
        put_bytes(&mut self.block, entry.value.as_deref().unwrap_or_default());
        self.hashes.push(key_hash(&entry.key));
        if self.block_first.is_none() {
            self.block_first = Some(entry.key.clone());
        }
        if self.smallest.is_none() {
            self.smallest = Some(entry.key.clone());
        }
        self.last_key = Some(entry.key.clone());
        if self.block.len() as u64 >= self.block_bytes {
            self.finish_block();
        }
    }

    /// Bytes the table would take so far (for cutting compaction output).
    pub fn bytes_estimate(&self) -> u64 {
        (self.out.len() + self.block.len()) as u64
    }

    /// True if no entry was added.
    pub fn is_empty(&self) -> bool {
        self.last_key.is_none()
    }

    fn finish_block(&mut self) {
        let Some(first_key) = self.block_first.take() else { return };
        let offset = self.out.len() as u64;
        let sum = checksum(self.number, offset, &self.block);
        self.out.append(&mut self.block);
        put_u32(&mut self.out, sum);
        let len = self.out.len() as u64 - offset;
        let last_key = self.last_key.clone().expect("a block has a last key");
        self.index.push(IndexEntry { first_key, last_key, offset, len });
    }

    /// The finished table, covering writes `seq_lo..=seq_hi`.
    pub fn finish(mut self, seq_lo: Seq, seq_hi: Seq) -> Built {
        assert!(!self.is_empty(), "table {}: an empty table is never written", self.number);
        assert!(seq_lo <= seq_hi, "table {}: seq range {seq_lo}..={seq_hi}", self.number);
        self.finish_block();
        let filter = Bloom::build(&self.hashes, self.bits_per_key);
        let filter_offset = self.out.len() as u64;
        let filter_content = filter.encode();
        let sum = checksum(self.number, filter_offset, &filter_content);
        self.out.extend_from_slice(&filter_content);
        put_u32(&mut self.out, sum);
        let filter_len = self.out.len() as u64 - filter_offset;

        let index_offset = self.out.len() as u64;
        let mut index_content = Vec::new();
        put_u32(&mut index_content, self.index.len() as u32);
        for e in &self.index {
            put_bytes(&mut index_content, &e.first_key);
            put_bytes(&mut index_content, &e.last_key);
            put_u64(&mut index_content, e.offset);
            put_u64(&mut index_content, e.len);
        }
        let sum = checksum(self.number, index_offset, &index_content);
        self.out.extend_from_slice(&index_content);
        put_u32(&mut self.out, sum);
        let index_len = self.out.len() as u64 - index_offset;

        let footer = Footer {
            entries: self.hashes.len() as u64,
            seq_lo,
            seq_hi,
            smallest: self.smallest.take().expect("non-empty"),
            largest: self.last_key.take().expect("non-empty"),
        };
        let mut body = Vec::new();
        put_u64(&mut body, index_offset);
        put_u64(&mut body, index_len);
        put_u64(&mut body, filter_offset);
        put_u64(&mut body, filter_len);
        put_u64(&mut body, footer.entries);
        put_u64(&mut body, seq_lo);
        put_u64(&mut body, seq_hi);
        put_bytes(&mut body, &footer.smallest);
        put_bytes(&mut body, &footer.largest);
        let body_len = body.len() as u32;
        put_u32(&mut body, body_len);
        put_u64(&mut body, MAGIC);
        let sum = checksum(self.number, u64::MAX, &body);
        self.out.extend_from_slice(&body);
        put_u32(&mut self.out, sum);
        Built {
            bytes: self.out,
            loaded: Loaded { index: self.index, filter: Some(filter), footer },
        }
    }
}

/// Reads `len` bytes at `offset` of `path` whose last 4 are a CRC over the rest; re-reads once
/// on a mismatch (a transient flip is per read). Returns the content without the CRC.
pub fn read_checked(
    io: &mut dyn DiskIo,
    source: Source<'_>,
    (offset, len): (u64, u64),
    what: &'static str,
    counters: &mut ReadCounters,
) -> Result<Vec<u8>, StorageError> {
    let Source { path, number, no_checksum } = source;
    for _attempt in 0..2 {
        let mut data = io.disk().read(path, offset, len).map_err(|e| {
            counters.errors += 1;
            StorageError::from_disk(path, e)
        })?;
        counters.bytes += data.len() as u64;
        if data.len() as u64 == len && len >= 4 {
            let content_len = data.len() - 4;
            let stored = u32::from_le_bytes(data[content_len..].try_into().expect("4 bytes"));
            if no_checksum || checksum(number, offset, &data[..content_len]) == stored {
                data.truncate(content_len);
                return Ok(data);
            }
        }
    }
    counters.errors += 1;
    Err(StorageError::Corruption { file: path.to_string(), offset, what })
}

fn corrupt(path: &str, offset: u64, what: &'static str) -> StorageError {
    StorageError::Corruption { file: path.to_string(), offset, what }
}

/// Reads a table's footer, index and filter (`size` bytes long, as the manifest says).
pub fn load(
    io: &mut dyn DiskIo,
    source: Source<'_>,
    size: u64,
    counters: &mut ReadCounters,
) -> Result<Loaded, StorageError> {
    let path = source.path;
    if size < TRAILER_BYTES || io.disk().len(path) < size {
        return Err(corrupt(path, 0, "table shorter than the manifest says"));
    }
    let tail = read_tail(io, source, size, counters)?;
    let mut r = Reader::new(&tail);
    let bad = || corrupt(path, size - TRAILER_BYTES, "table footer");
    let (index_offset, index_len) = (r.u64().ok_or_else(bad)?, r.u64().ok_or_else(bad)?);
    let (filter_offset, filter_len) = (r.u64().ok_or_else(bad)?, r.u64().ok_or_else(bad)?);
    let entries = r.u64().ok_or_else(bad)?;
    let (seq_lo, seq_hi) = (r.u64().ok_or_else(bad)?, r.u64().ok_or_else(bad)?);
    let smallest = r.bytes().ok_or_else(bad)?.to_vec();
    let largest = r.bytes().ok_or_else(bad)?.to_vec();
    let footer = Footer { entries, seq_lo, seq_hi, smallest, largest };
    let what = "table index";
    let content = read_checked(io, source, (index_offset, index_len), what, counters)?;
    let index = decode_index(&content).ok_or_else(|| corrupt(path, index_offset, what))?;
    let what = "table filter";
    let filter = match read_checked(io, source, (filter_offset, filter_len), what, counters) {
        Ok(content) => Bloom::decode(&content),
        Err(_) => None, // a filter is only an optimisation: without it, every probe is "maybe"
    };
    Ok(Loaded { index, filter, footer })
}

/// The footer body and trailer, checked.
fn read_tail(
    io: &mut dyn DiskIo,
    source: Source<'_>,
    size: u64,
    counters: &mut ReadCounters,
) -> Result<Vec<u8>, StorageError> {
    let Source { path, number, no_checksum } = source;
    let offset = size - TRAILER_BYTES;
    for _attempt in 0..2 {
        let trailer = io.disk().read(path, offset, TRAILER_BYTES).map_err(|e| {
            counters.errors += 1;
            StorageError::from_disk(path, e)
        })?;
        counters.bytes += trailer.len() as u64;
        let mut r = Reader::new(&trailer);
        let (Some(body_len), Some(magic)) = (r.u32(), r.u64()) else { continue };
        let body_len = u64::from(body_len);
        if (magic != MAGIC && !no_checksum) || body_len > offset {
            continue;
        }
        let body = io.disk().read(path, offset - body_len, body_len).map_err(|e| {
            counters.errors += 1;
            StorageError::from_disk(path, e)
        })?;
        counters.bytes += body.len() as u64;
        let mut whole = body.clone();
        whole.extend_from_slice(&trailer[..12]);
        let stored = u32::from_le_bytes(trailer[12..16].try_into().expect("4 bytes"));
        if no_checksum || checksum(number, u64::MAX, &whole) == stored {
            return Ok(body);
        }
    }
    counters.errors += 1;
    Err(corrupt(path, offset, "table footer"))
}

fn decode_index(content: &[u8]) -> Option<Vec<IndexEntry>> {
    let mut r = Reader::new(content);
    let count = r.u32()? as usize;
    let mut index = Vec::with_capacity(count.min(content.len()));
    for _ in 0..count {
        let first_key = r.bytes()?.to_vec();
        let last_key = r.bytes()?.to_vec();
        let (offset, len) = (r.u64()?, r.u64()?);
        index.push(IndexEntry { first_key, last_key, offset, len });
    }
    r.is_done().then_some(index)
}

/// The entries of a data block's content (its CRC already checked and removed).
pub fn decode_block(content: &[u8]) -> Option<Vec<Entry>> {
    let mut r = Reader::new(content);
    let mut entries = Vec::new();
    while !r.is_done() {
        let key = r.bytes()?.to_vec();
        let seq = r.u64()?;
        let kind = r.u8()?;
        let value = r.bytes()?;
        let value = match kind {
            KIND_PUT => Some(value.to_vec()),
            KIND_TOMBSTONE => None,
            _ => return None,
        };
        entries.push(Entry { key, seq, value });
    }
    Some(entries)
}

/// Reads and decodes the data block `block` of a table.
pub fn read_block(
    io: &mut dyn DiskIo,
    source: Source<'_>,
    block: &IndexEntry,
    counters: &mut ReadCounters,
) -> Result<Vec<Entry>, StorageError> {
    let what = "table data block";
    let content = read_checked(io, source, (block.offset, block.len), what, counters)?;
    let path = source.path;
    decode_block(&content).ok_or_else(|| {
        counters.errors += 1;
        corrupt(path, block.offset, what)
    })
}

/// The index of the block that may hold `key`, if any.
pub fn block_for(index: &[IndexEntry], key: &[u8]) -> Option<usize> {
    let i = index.partition_point(|b| b.last_key.as_slice() < key);
    (i < index.len() && index[i].first_key.as_slice() <= key).then_some(i)
}

/// Every entry of a table, block by block, for a compaction.
pub fn read_all(
    io: &mut dyn DiskIo,
    source: Source<'_>,
    loaded: &Loaded,
    counters: &mut ReadCounters,
) -> Result<Vec<Entry>, StorageError> {
    let mut entries = Vec::with_capacity(loaded.footer.entries as usize);
    for block in &loaded.index {
        entries.extend(read_block(io, source, block, counters)?);
    }
    let path = source.path;
    if !source.no_checksum && entries.len() as u64 != loaded.footer.entries {
        counters.errors += 1;
        return Err(corrupt(path, 0, "table entry count"));
    }
    Ok(entries)
}
