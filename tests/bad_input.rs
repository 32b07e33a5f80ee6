//! Wrong input is refused with exit 2 and one message naming the file, the key and the reason
//! in words, never a panic and never a run: partition and bridge groups that overlap, repeat a
//! node, are empty or too few; keys a fault does not take; negative durations; node ids that
//! are not node ids; another system's bug knob; protocol settings that contradict each other;
//! client reliability policies that cannot work.

mod common;

use common::*;

const BASE: &str = "system = \"register\"\nnodes = 3\nduration = \"4s\"\nquiet = \"1s\"\n";
const RAFT: &str = "system = \"raft\"\nnodes = 3\nduration = \"4s\"\n";

fn fault(keys: &str) -> String {
    format!("{BASE}\n[[faults]]\nat = \"1s\"\nkind = \"crash\"\nnode = 0\n\n[[faults]]\n{keys}\n")
}

#[test]
fn wrong_scenarios_exit_2_naming_the_file_the_key_and_the_reason() {
    let dir = scratch("test-bad-input", "scenarios");
    let cases: Vec<(String, &str, &str)> = vec![
        (
            fault("at = \"2s\"\nkind = \"partition\"\ngroups = [[0, 1], [1, 2]]"),
            "`faults[1].groups`",
            "node 1 is in group 0 and in group 1: groups must not overlap",
        ),
        (
            fault("at = \"2s\"\nkind = \"partition\"\ngroups = [[0, 0], [1]]"),
            "`faults[1].groups`",
            "node 0 is listed twice in group 0",
        ),
        (
            fault("at = \"2s\"\nkind = \"partition\"\ngroups = [[], [0, 1, 2]]"),
            "`faults[1].groups`",
            "group 0 is empty",
        ),
        (
            fault("at = \"2s\"\nkind = \"partition\"\ngroups = [[0, 1, 2]]"),
            "`faults[1].groups`",
            "a partition needs at least two non-empty groups",
        ),
        (
            fault("at = \"2s\"\nkind = \"bridge\"\ngroups = [[0, 1], [1]]\nbridge = 2"),
            "`faults[1].groups`",
            "groups must not overlap",
        ),
        (
            fault("at = \"2s\"\nkind = \"bridge\"\ngroups = [[0], []]\nbridge = 2"),
            "`faults[1].groups`",
            "group 1 is empty: a bridge needs at least two non-empty groups",
        ),
        (
            fault("at = \"2s\"\nkind = \"bridge\"\ngroups = [[0], [1]]\nbridge = 1"),
            "`faults[1].bridge`",
            "node 1 is in group 1",
        ),
        (
            fault("at = \"2s\"\nkind = \"bridge\"\ngroups = [[0], [1]]"),
            "`faults[1].bridge`",
            "missing",
        ),
        (
            fault("at = \"2s\"\nkind = \"heal\"\nnode = 1"),
            "faults[1]",
            "unknown field `node`: a `heal` fault takes no keys",
        ),
        (
            fault("at = \"2s\"\nkind = \"link-restore\"\na = [0]"),
            "faults[1]",
            "unknown field `a`: a `link-restore` fault takes no keys",
        ),
        (fault("at = \"2s\"\nkind = \"crash\"\nnode = -1"), "faults[1]", "-1 is not a node id"),
        (
            fault("at = \"2s\"\nkind = \"link-degrade\"\nmessages = \"replys\""),
            "faults[1].messages",
            "\"replys\": expected \"all\", \"requests\" or \"replies\"",
        ),
        (
            fault("at = \"2s\"\nkind = \"link-degrade\"\ndirection = \"up\""),
            "faults[1].direction",
            "\"up\": expected \"both\" or \"a-to-b\"",
        ),
        (
            fault("at = \"2s\"\nkind = \"link-degrade\"\njitter_distribution = \"normal\""),
            "faults[1].jitter_distribution",
            "expected \"uniform\" or \"exponential\"",
        ),
        (
            fault("at = \"2s\"\nkind = \"link-degrade\"\nreorder = 1.5"),
            "faults[1].reorder",
            "probability 1.5 is out of range (0 to 1)",
        ),
        (
            fault("at = \"2s\"\nkind = \"link-degrade\"\nduplicate = -0.1"),
            "faults[1].duplicate",
            "out of range",
        ),
        (
            fault(
                "at = \"2s\"\nkind = \"link-degrade\"\nlong_delay_fraction = 0.1\n\
                   long_delay = \"2s..200ms\"",
            ),
            "faults[1].long_delay",
            "the range's start is after its end",
        ),
        (
            fault("at = \"2s\"\nkind = \"link-degrade\"\nlong_delay_fraction = 0.1"),
            "`faults[1].long_delay`",
            "missing: `long_delay_fraction` needs a `long_delay` span",
        ),
        (
            fault("at = \"2s\"\nkind = \"link-degrade\"\nlong_delay = \"1s\""),
            "`faults[1].long_delay_fraction`",
            "missing",
        ),
        (
            fault("at = \"2s\"\nkind = \"link-degrade\"\na = [0]\ndirection = \"a-to-b\""),
            "`faults[1].direction`",
            "give both sets",
        ),
        (
            fault("at = \"2s\"\nkind = \"link-degrade\"\njitter = \"-5ms\""),
            "`faults[1].jitter`",
            "must not be negative",
        ),
        (
            fault("at = \"2s\"\nkind = \"link-degrade\"\nthrough_quiet = \"yes\""),
            "faults[1].through_quiet",
            "",
        ),
        (
            fault("at = \"2s\"\nkind = \"link-degrade\"\nreplies = true"),
            "faults[1]",
            "unknown field `replies`",
        ),
        (BASE.replace("\"4s\"", "\"-5s\""), "`duration`", "`-5s` is negative"),
        (format!("{BASE}[network]\njitter = \"-1ms\"\n"), "`network.jitter`", "is negative"),
        (
            format!("{BASE}[protocol]\nbugs = [\"raft.skip_fsync\"]\n"),
            "`protocol.bugs`",
            "unknown bug knob `raft.skip_fsync` for system `register`",
        ),
        (
            format!("{RAFT}[protocol]\ntimeout_election_min = \"900ms\"\n"),
            "`protocol.timeout_election_min`",
            "at most `timeout_election_max`",
        ),
        (
            format!("{BASE}[clients.retry]\nmax_attempts = 0\n"),
            "`clients.retry.max_attempts`",
            "at least 1",
        ),
        (
            format!("{BASE}[clients.retry]\nbase = \"1s\"\ncap = \"10ms\"\n"),
            "`clients.retry.cap`",
            "is below base",
        ),
        (
            format!("{BASE}[clients.breaker]\nfailure_rate_threshold = 0\n"),
            "`clients.breaker.failure_rate_threshold`",
            "must be above 0",
        ),
        (
            format!("{BASE}[clients.limiter]\nmax_wait = \"1ms\"\n"),
            "`clients.limiter.token_bucket`",
            "exactly one of",
        ),
        (
            format!("{BASE}[clients]\nbugs = [\"reliability.breaker_never_half_opens\"]\n"),
            "`clients.bugs`",
            "needs a breaker",
        ),
    ];
    assert_refused(&dir, &cases);
}

#[test]
fn good_groups_and_repairs_still_run() {
    let dir = scratch("test-bad-input", "good");
    let text = fault(
        "at = \"2s\"\nkind = \"partition\"\ngroups = [[0], [1, 2]]\n\n[[faults]]\nat = \"2.5s\"\n\
         kind = \"heal\"\n\n[[faults]]\nat = \"2.6s\"\nkind = \"bridge\"\n\
         groups = [[0], [1]]\nbridge = 2\n\n[[faults]]\nat = \"2.7s\"\nkind = \"link-restore\"",
    );
    let file = dir.join("good.toml");
    std::fs::write(&file, text).unwrap();
    let out = sim(&["run", file.to_str().unwrap()]);
    assert!(out.status.code().is_some_and(|c| c < 2), "{}", printed(&out));
}

/// A reader that stops early (`sim ... | head`) is not a bug in sim: exit 141 (128 + SIGPIPE,
/// as a shell reports it) and no panic on stderr.
#[test]
fn a_closed_stdout_is_a_quiet_exit_141() {
    let scenario = root().join("scenarios/txn-snapshot-write-skew.toml");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(["run", scenario.to_str().unwrap(), "--seed", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // closed before sim prints its first line
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("internal error"), "{stderr}");
}
