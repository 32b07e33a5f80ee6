//! The configuration every property test of the crate uses, and users may too (it is
//! re-exported as [`crate::testing::proptest_config`]): a leaf any module's tests may name.

use proptest::test_runner::{Config, RngSeed};

/// A proptest configuration that makes a property test deterministic: `cases` cases drawn from
/// a fixed seed, so every `cargo test` (and CI) runs the same ones and a red run stays red.
/// `PROPTEST_RNG_SEED=N` draws other cases and `PROPTEST_CASES=N` draws more: a search for new
/// failures is an explicit act (`PROPTEST_RNG_SEED=$RANDOM PROPTEST_CASES=20000 cargo test`).
/// Failures found are still persisted (`proptest-regressions/`) and replayed first.
pub fn proptest_config(cases: u32) -> Config {
    let mut config = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = RngSeed::Fixed(PROPTEST_SEED);
    }
    config
}

/// The seed [`proptest_config`] draws cases from unless `PROPTEST_RNG_SEED` is set.
pub const PROPTEST_SEED: u64 = 0x5EED_D0D0;
