//! A Bloom filter per SSTable (Bloom, 1970; LevelDB's `FilterPolicy`): `bits_per_key` bits per
//! key, `k = round(bits_per_key * ln 2)` probes by double hashing (Kirsch and Mitzenmacher), so
//! a lookup of a key the table does not hold says "maybe" with probability about
//! `(1 - e^(-k n / m))^k`, and a key it holds always says "maybe".

/// Most probes per key: beyond 30 the filter only gets slower (LevelDB caps it the same way).
const PROBES_MAX: u32 = 30;
/// Smallest filter, so a table of one key still has a useful false positive rate.
const BITS_MIN: u64 = 64;

/// A built filter: its bit array and probe count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bloom {
    probes: u32,
    bits: Vec<u8>,
}

/// The 64-bit hash of a key the filter probes with (an FNV-1a pass finished by SplitMix64's
/// mixer, which spreads FNV's weak high bits).
pub fn key_hash(key: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in key {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(h)
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Probes per key for `bits_per_key`: round(bits * ln 2), at least 1.
pub fn probes_for(bits_per_key: u32) -> u32 {
    let k = (f64::from(bits_per_key) * std::f64::consts::LN_2).round() as u32;
    k.clamp(1, PROBES_MAX)
}

impl Bloom {
    /// A filter over the keys whose hashes are `hashes`.
    pub fn build(hashes: &[u64], bits_per_key: u32) -> Self {
        assert!(bits_per_key > 0, "a Bloom filter needs at least one bit per key");
        let bits = (hashes.len() as u64 * u64::from(bits_per_key)).max(BITS_MIN);
        let bytes = bits.div_ceil(8) as usize;
        let mut filter = Bloom { probes: probes_for(bits_per_key), bits: vec![0; bytes] };
        for &h in hashes {
            for bit in filter.positions(h) {
                filter.bits[(bit / 8) as usize] |= 1 << (bit % 8);
            }
        }
        filter
    }

    fn positions(&self, hash: u64) -> impl Iterator<Item = u64> {
        let m = self.bits.len() as u64 * 8;
        let h1 = hash;
        let h2 = mix(hash) | 1; // odd, so the probes cycle through every bit
        (0..u64::from(self.probes)).map(move |i| h1.wrapping_add(i.wrapping_mul(h2)) % m)
    }

    /// False if the table certainly does not hold the key with hash `hash`; true for "maybe".
    pub fn may_contain(&self, hash: u64) -> bool {
        self.positions(hash).all(|bit| self.bits[(bit / 8) as usize] & (1 << (bit % 8)) != 0)
    }

    /// The filter's encoding (probe count, then the bit array); the table adds the checksum.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.bits.len() + 1);
        out.push(self.probes as u8);
        out.extend_from_slice(&self.bits);
        out
    }

    /// The filter `encode` wrote, or `None` if it is malformed.
    pub fn decode(data: &[u8]) -> Option<Self> {
        let (&probes, bits) = data.split_first()?;
        let probes = u32::from(probes);
        if probes == 0 || probes > PROBES_MAX || bits.is_empty() {
            return None;
        }
        Some(Bloom { probes, bits: bits.to_vec() })
    }

    /// The theoretical false positive rate of `bits_per_key` with its probe count.
    pub fn expected_false_positive_rate(bits_per_key: u32) -> f64 {
        let k = f64::from(probes_for(bits_per_key));
        (1.0 - (-k / f64::from(bits_per_key)).exp()).powf(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured_rate(bits_per_key: u32, keys: u64, probes: u64) -> f64 {
        let hashes: Vec<u64> = (0..keys).map(|i| key_hash(format!("key{i}").as_bytes())).collect();
        let filter = Bloom::build(&hashes, bits_per_key);
        for &h in &hashes {
            assert!(filter.may_contain(h), "no false negatives");
        }
        let hits = (0..probes)
            .filter(|i| filter.may_contain(key_hash(format!("absent{i}").as_bytes())))
            .count();
        hits as f64 / probes as f64
    }

    #[test]
    fn false_positive_rate_is_close_to_the_formula_at_10_bits_per_key() {
        let expected = Bloom::expected_false_positive_rate(10);
        assert!((0.007..0.010).contains(&expected), "formula: {expected}");
        let measured = measured_rate(10, 10_000, 200_000);
        // 200k probes at p ~ 0.8%: the standard deviation is ~0.02 points; allow 25% relative.
        assert!(
            (measured - expected).abs() < expected * 0.25,
            "measured {measured:.5}, expected {expected:.5}"
        );
    }

    #[test]
    fn false_positive_rate_falls_with_bits_per_key() {
        let mut previous = 1.0;
        for bits in [4, 8, 12, 16] {
            let measured = measured_rate(bits, 4_000, 50_000);
            let expected = Bloom::expected_false_positive_rate(bits);
            assert!(measured < previous, "{bits} bits: {measured} not below {previous}");
            assert!(measured < expected * 1.6 + 0.0005, "{bits}: {measured} vs {expected}");
            previous = measured;
        }
    }

    #[test]
    fn encoding_round_trips_and_rejects_garbage() {
        let filter = Bloom::build(&[1, 2, 3], 10);
        assert_eq!(Bloom::decode(&filter.encode()), Some(filter));
        assert_eq!(Bloom::decode(&[]), None);
        assert_eq!(Bloom::decode(&[0, 1, 2]), None);
    }
}
