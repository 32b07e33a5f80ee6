//! The trace: a running hash of every event (the determinism fingerprint) and, on request, a
//! full structured record of the run as JSON Lines.

use std::fmt;
use std::io::Write;

/// A running 64-bit hash over the words that describe each event.
///
/// Two runs with the same scenario and seed must produce the same hash; a different hash means
/// something in the run differed. It is a fingerprint, not a cryptographic digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceHash(u64);

impl Default for TraceHash {
    fn default() -> Self {
        TraceHash(0xcbf2_9ce4_8422_2325)
    }
}

impl TraceHash {
    /// Folds one word into the hash.
    #[inline]
    pub fn add(&mut self, word: u64) {
        // FxHash's step followed by a final avalanche in `value`: fast and order-sensitive.
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    /// Folds the bytes of `text` into the hash.
    pub fn add_bytes(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        self.add(bytes.len() as u64);
    }

    /// The current value, mixed so that nearby inputs give distant outputs.
    pub fn value(&self) -> u64 {
        let mut x = self.0;
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        x ^ (x >> 33)
    }
}

impl fmt::Display for TraceHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.value())
    }
}

/// Writes the full trace, one JSON object per line. Absent unless the user asked for a trace, so
/// the hot path pays only an `Option` check.
pub struct TraceWriter {
    out: Box<dyn Write>,
    error: Option<std::io::Error>,
}

impl TraceWriter {
    /// A writer into `out` (buffer it: one line is written per event).
    pub fn new(out: Box<dyn Write>) -> Self {
        TraceWriter { out, error: None }
    }

    /// Writes one record. I/O errors are kept and reported by [`TraceWriter::finish`].
    pub fn record<T: serde::Serialize>(&mut self, line: &T) {
        if self.error.is_some() {
            return;
        }
        let result = serde_json::to_writer(&mut self.out, line)
            .map_err(std::io::Error::from)
            .and_then(|()| self.out.write_all(b"\n"));
        if let Err(e) = result {
            self.error = Some(e);
        }
    }

    /// Flushes the trace and reports the first write error, if any.
    pub fn finish(mut self) -> std::io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_depends_on_order_and_content() {
        let mut a = TraceHash::default();
        let mut b = TraceHash::default();
        a.add(1);
        a.add(2);
        b.add(2);
        b.add(1);
        assert_ne!(a, b);
        let mut c = TraceHash::default();
        c.add(1);
        c.add(2);
        assert_eq!(a, c);
        assert_eq!(a.to_string().len(), 16);
    }
}
