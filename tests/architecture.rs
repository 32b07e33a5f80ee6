//! The walls of ARCHITECTURE.md, held by a test: each folder of `src/` may name only the
//! modules its rule allows (`crate::X` in `use` lines and paths). A new import that breaks a
//! rule fails here with the file, the line and the rule, so the map stays true.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Which top-level modules each module may use (besides itself and [`EVERYWHERE`]). `*`: any.
const RULES: &[(&str, &[&str])] = &[
    ("property", &[]),
    ("engine", &[]),
    ("encoding", &[]),
    ("world", &["engine"]),
    ("api", &["engine"]),
    ("reliability", &["engine"]),
    ("node", &["engine", "world", "api"]),
    ("scenario", &["engine", "world", "reliability"]),
    ("workload", &["engine", "api", "node", "scenario", "reliability"]),
    ("check", &["engine", "api", "node", "workload", "scenario"]),
    ("system", &["engine", "api", "node", "check", "scenario"]),
    ("storage", &["node"]),
    ("txn", &[]),
    ("protocols", &["node", "api", "system", "check", "storage", "encoding", "txn"]),
    ("sim", &["engine", "world", "api", "node", "workload", "check", "scenario", "system"]),
    ("registry", &["engine", "api", "scenario", "sim", "system"]),
    ("systems", &["protocols", "registry"]),
    ("shrink", &["engine", "world", "check", "scenario", "sim", "registry"]),
    ("testing", &["engine", "world", "scenario", "sim", "system", "systems", "shrink"]),
    ("report", &["engine", "world", "api", "workload", "check", "scenario", "sim", "registry"]),
    ("cli", &["*"]),
];

/// Leaves any module may use: `property` (the property tests' configuration).
const EVERYWHERE: &[&str] = &["property"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`None` for the crate root and `main.rs`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next()?.as_os_str().to_string_lossy().into_owned();
    match first.strip_suffix(".rs") {
        Some("lib" | "main") => None,
        Some(stem) => Some(stem.to_string()),
        None => Some(first),
    }
}

/// The top-level modules a line of code names through `crate::`, comments and strings aside.
fn named_modules(line: &str) -> Vec<String> {
    let code = line.split("//").next().unwrap_or("");
    let mut names = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = group.split('}').next().unwrap_or("");
            for part in inner.split(',') {
                let name: String =
                    part.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    names.push(name);
                }
            }
        } else {
            let name: String =
                rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                names.push(name);
            }
        }
    }
    names
}

#[test]
fn imports_follow_the_architecture() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let rules: BTreeMap<&str, &[&str]> = RULES.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut broken = Vec::new();
    let mut seen = 0;
    for file in &files {
        let Some(module) = module_of(&src, file) else { continue };
        let allowed = rules.get(module.as_str()).unwrap_or_else(|| {
            panic!("{}: module `{module}` has no rule in RULES", file.display())
        });
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue; // comments and doc examples (user code, written `sim::`)
            }
            for name in named_modules(line) {
                seen += 1;
                if name == module || EVERYWHERE.contains(&name.as_str()) {
                    continue;
                }
                // Nothing depends on the command line; the rules say who may use what.
                if name == "cli" || !(allowed.contains(&"*") || allowed.contains(&name.as_str())) {
                    broken.push(format!(
                        "{}:{}: `{module}` may not use `crate::{name}` (allowed: {:?})\n    {}",
                        file.strip_prefix(&src).unwrap().display(),
                        n + 1,
                        allowed,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(seen > 100, "the scan found only {seen} crate:: paths: is it reading the files?");
    assert!(broken.is_empty(), "imports that break ARCHITECTURE.md:\n{}", broken.join("\n"));
}

#[test]
fn the_scanner_reads_groups_and_paths() {
    assert_eq!(named_modules("use crate::{api::Api, check::{Checks}};"), ["api", "check"]);
    assert_eq!(
        named_modules("    let x = crate::engine::format_nanos(1); // crate::cli"),
        ["engine"]
    );
    assert!(named_modules("// use crate::sim;").is_empty());
}
