//! Helpers shared by the tests that drive the `sim` binary.
#![allow(dead_code)] // each test crate uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A scenario whose liveness bound (5 ms) is too tight: some seeds fail, some pass.
pub const FLAKY: &str = "tests/fixtures/register-liveness-flaky.toml";
/// A short register scenario that passes.
pub const SMALL: &str = "tests/fixtures/register-small.toml";

/// Runs the `sim` binary from the project root.
pub fn sim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("sim runs")
}

/// Runs the `sim` binary in `dir`.
pub fn sim_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sim")).args(args).current_dir(dir).output().expect("sim runs")
}

/// What a command printed: stdout, then stderr.
pub fn printed(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr)
}

/// The project root (absolute).
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh folder under target/ for one test of `suite`.
pub fn scratch(suite: &str, name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(suite).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes each `(text, key, reason)` scenario to `dir` and asserts `sim run` refuses it: exit 2,
/// nothing run, and one message naming the file, the key and the reason.
pub fn assert_refused(dir: &Path, cases: &[(String, &str, &str)]) {
    for (i, (text, key, reason)) in cases.iter().enumerate() {
        let file = dir.join(format!("case{i}.toml"));
        std::fs::write(&file, text).unwrap();
        let out = sim(&["run", file.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "case {i}: {text}\n{}", printed(&out));
        assert!(out.stdout.is_empty(), "case {i} ran: {}", printed(&out));
        let shown = file.display().to_string();
        assert!(stderr.contains(&format!("sim: {shown}")), "case {i}: file: {stderr}");
        assert!(stderr.contains(key), "case {i}: key {key}: {stderr}");
        assert!(stderr.contains(reason), "case {i}: reason {reason}: {stderr}");
        assert!(!stderr.contains("`protocol`: protocol."), "case {i}: key twice: {stderr}");
    }
}
