//! Operation generator: draws the next operation from the scenario's mix and key space.

use crate::engine::SimRng;
use crate::node::Op;
use crate::scenario::OpMix;

/// Draws operations. Values are unique per client (`c{client}-{n}`), so a read's value names
/// the write it saw: checkers and people can tell writes apart.
#[derive(Clone, Debug)]
pub struct Generator {
    weights: [u32; 4],
    keys: u32,
}

impl Generator {
    /// A generator over keys `k0..k{keys-1}` with the given mix.
    pub fn new(mix: &OpMix, keys: u32) -> Self {
        assert!(keys > 0, "at least one key");
        Generator { weights: [mix.get, mix.put, mix.cas, mix.append], keys }
    }

    /// The next operation for `client`, its `n`-th.
    pub fn next(&self, rng: &mut SimRng, client: u32, n: u64) -> Op {
        let key = format!("k{}", rng.below(u64::from(self.keys)));
        let value = format!("c{client}-{n}");
        match rng.weighted(&self.weights).expect("validated: some weight is positive") {
            0 => Op::Get { key },
            1 => Op::Put { key, value },
            2 => {
                // Expect a value this client wrote recently, or none: some succeed, some fail.
                let from = match rng.below(3) {
                    0 => None,
                    _ if n > 1 => Some(format!("c{client}-{}", n - 1 - rng.below(n.min(3) - 1))),
                    _ => None,
                };
                Op::Cas { key, from, to: value }
            }
            _ => Op::Append { key, value: format!("{value};") },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_mix() {
        let g = Generator::new(&OpMix { get: 1, put: 0, cas: 0, append: 1 }, 2);
        let mut rng = SimRng::new(1, 1);
        let mut gets = 0;
        for n in 1..=1000 {
            match g.next(&mut rng, 0, n) {
                Op::Get { key } => {
                    gets += 1;
                    assert!(key == "k0" || key == "k1");
                }
                Op::Append { .. } => {}
                other => panic!("not in the mix: {other:?}"),
            }
        }
        assert!((400..600).contains(&gets), "{gets}");
    }
}
