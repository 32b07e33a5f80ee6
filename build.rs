//! Records the git commit sim is built from as `SIM_GIT_COMMIT`, so run records can tell a
//! determinism bug (same scenario, same code, different trace) from a code change. A build with
//! uncommitted changes to the code gets `-dirty` appended; a build without git (a crate
//! tarball, no `git` on the path) sets nothing and records no commit.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
}

fn main() {
    // What the binary is built from: a change here must re-run this script.
    for path in ["build.rs", "Cargo.toml", "Cargo.lock", "src"] {
        println!("cargo:rerun-if-changed={path}");
    }
    let Some(commit) = git(&["rev-parse", "HEAD"]) else { return };
    // A new commit moves HEAD or the branch it names (in a worktree these live apart).
    let mut watched = vec![git(&["rev-parse", "--git-path", "HEAD"])];
    watched.push(git(&["rev-parse", "--git-path", "packed-refs"]));
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(git(&["rev-parse", "--git-path", &branch]));
    }
    for path in watched.into_iter().flatten().filter(|p| Path::new(p).exists()) {
        println!("cargo:rerun-if-changed={path}");
    }
    let code = ["status", "--porcelain", "--", "src", "build.rs", "Cargo.toml", "Cargo.lock"];
    let dirty = git(&code).is_some();
    let suffix = if dirty { "-dirty" } else { "" };
    println!("cargo:rustc-env=SIM_GIT_COMMIT={commit}{suffix}");
}
