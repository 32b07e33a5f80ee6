use super::*;

const MINIMAL: &str = r#"
system = "register"
nodes = 3
duration = "10s"
"#;

fn parse(text: &str) -> Result<Scenario, ScenarioError> {
    Scenario::parse(text, Path::new("test.toml"), &[])
}

#[test]
fn minimal_scenario_gets_defaults() {
    let s = parse(MINIMAL).unwrap();
    assert_eq!(s.name, "test");
    assert_eq!(s.duration.0, 10 * SECOND);
    assert_eq!(s.clients.count, 3);
    assert_eq!(s.initial_member_ids(), vec![0, 1, 2]);
}

#[test]
fn errors_name_file_key_and_reason() {
    let e = parse(&format!("{MINIMAL}\nbogus_key = 1\n")).unwrap_err();
    assert!(e.to_string().contains("test.toml") && e.to_string().contains("bogus_key"), "{e}");
    let e = parse(&MINIMAL.replace("nodes = 3", "nodes = 0")).unwrap_err();
    assert_eq!(e.key.as_deref(), Some("nodes"));
    let e = parse(&MINIMAL.replace("nodes = 3", "nodes = -3")).unwrap_err();
    assert!(e.to_string().contains("nodes"), "{e}");
    let e = parse(&format!("{MINIMAL}\n[network]\nloss = 1.5\n")).unwrap_err();
    assert!(e.to_string().contains("out of range"), "{e}");
    let e = parse(&format!("{MINIMAL}\n[[faults]]\nat = \"1s\"\nkind = \"crash\"\nnode = 9\n"))
        .unwrap_err();
    assert!(e.to_string().contains("node 9 does not exist"), "{e}");
    let e = parse(&MINIMAL.replace("10s", "10 parsecs")).unwrap_err();
    assert!(e.to_string().contains("parsecs"), "{e}");
    assert!(parse("").unwrap_err().to_string().contains("empty"));
}

#[test]
fn overrides_set_single_keys() {
    let s = Scenario::parse(
        MINIMAL,
        Path::new("t.toml"),
        &["network.loss=0.05".into(), "network.latency=2ms".into(), "nodes=5".into()],
    )
    .unwrap();
    assert_eq!(s.network.loss.ppm(), 50_000);
    assert_eq!(s.network.latency.0, 2_000_000);
    assert_eq!(s.nodes, 5);
    let e = Scenario::parse(MINIMAL, Path::new("t.toml"), &["nodes".into()]).unwrap_err();
    assert!(e.to_string().contains("key.path=value"), "{e}");
}

#[test]
fn scenario_round_trips_through_toml() {
    let text = format!(
        "{MINIMAL}\nquiet = \"2s\"\n[[faults]]\nat = \"1s\"\nkind = \"partition\"\n\
         groups = [[0], [1, 2]]\n[[faults]]\nat = \"2s\"\nkind = \"heal\"\n\
         [nemesis]\nkinds = {{ crash = 1 }}\ninterval = \"1s\"\nduration = \"500ms\"\n"
    );
    let s = parse(&text).unwrap();
    let back = parse(&s.to_toml()).unwrap();
    assert_eq!(back, s);
    assert_eq!(back.hash(), s.hash());
}

#[test]
fn faults_are_sorted_by_time() {
    let text = format!(
        "{MINIMAL}\n[[faults]]\nat = \"3s\"\nkind = \"heal\"\n\
         [[faults]]\nat = \"1s\"\nkind = \"heal\"\n"
    );
    let s = parse(&text).unwrap();
    assert!(s.faults[0].at < s.faults[1].at);
}

#[test]
fn a_no_op_override_keeps_the_file_order_of_nemesis_kinds() {
    // The order of `kinds` decides what the nemesis draws: an override must not re-sort it.
    let text = format!(
        "{MINIMAL}\n[nemesis]\nkinds = {{ partition = 1, crash = 2, clock-jump = 3 }}\n\
         interval = \"1s\"\nduration = \"1s\"\n"
    );
    let plain = parse(&text).unwrap();
    let overridden = Scenario::parse(&text, Path::new("test.toml"), &["nodes=3".into()]).unwrap();
    let order =
        |s: &Scenario| s.nemesis.as_ref().unwrap().kinds.keys().cloned().collect::<Vec<_>>();
    assert_eq!(order(&plain), vec!["partition", "crash", "clock-jump"]);
    assert_eq!(order(&overridden), order(&plain));
    assert_eq!(plain.hash(), overridden.hash());
}

#[test]
fn clusters_of_two_thousand_nodes_are_accepted() {
    let s = parse(&MINIMAL.replace("nodes = 3", "nodes = 2048")).unwrap();
    assert_eq!(s.nodes, NODES_MAX);
    let e = parse(&MINIMAL.replace("nodes = 3", "nodes = 2049")).unwrap_err();
    assert!(e.to_string().contains("out of range (1 to 2048)"), "{e}");
    let clients = format!("{MINIMAL}\n[clients]\ncount = {}\n", CLIENTS_MAX + 1);
    assert!(parse(&clients).unwrap_err().to_string().contains("at most 4096 clients"));
}

#[test]
fn shortening_the_run_drops_the_faults_after_its_new_end() {
    let text = format!(
        "{MINIMAL}\n[[faults]]\nat = \"1s\"\nkind = \"heal\"\n\
         [[faults]]\nat = \"3s\"\nkind = \"crash\"\nnode = 1\n"
    );
    let s = Scenario::parse(&text, Path::new("t.toml"), &["duration = 2s".into()]).unwrap();
    assert_eq!(s.faults.len(), 1);
    assert_eq!(s.faults[0].fault, Fault::Heal);
    // In the file itself, a fault after the end is still a mistake worth an error.
    let e = parse(&text.replace("10s", "2s")).unwrap_err();
    assert!(e.to_string().contains("after the end of the run"), "{e}");
}

#[test]
fn fault_errors_name_the_files_own_index_and_the_key() {
    // The second fault in the file is the first in time: errors still say `faults[1]`.
    let text = format!(
        "{MINIMAL}\n[[faults]]\nat = \"3s\"\nkind = \"heal\"\n\
         [[faults]]\nat = \"1s\"\nkind = \"partition\"\ngroups = [[0, 1], [1, 2]]\n"
    );
    let e = parse(&text).unwrap_err();
    assert_eq!(e.key.as_deref(), Some("faults[1].groups"), "{e}");
    assert!(e.reason.contains("must not overlap"), "{e}");
    let e = parse(&MINIMAL.replace("10s", "-10s")).unwrap_err();
    assert_eq!(e.key.as_deref(), Some("duration"), "{e}");
    assert!(e.reason.contains("negative") && e.reason.contains("line 4"), "{e}");
}

#[test]
fn bandwidth_reads_units_and_names_a_bad_one() {
    for (text, want) in [
        ("unlimited", 0),
        ("10MB/s", 10_000_000),
        ("1.5KB/s", 1_500),
        ("2KiB/s", 2_048),
        ("1Gbit/s", 125_000_000),
        ("800 kbit/s", 100_000),
    ] {
        assert_eq!(Bandwidth::parse(text), Ok(Bandwidth(want)), "{text}");
    }
    for bad in ["10", "10MB", "fast", "0B/s", "-1MB/s"] {
        assert!(Bandwidth::parse(bad).is_err(), "{bad}");
    }
    let e = parse(&format!("{MINIMAL}\n[network]\nbandwidth = \"9 parsecs\"\n")).unwrap_err();
    assert_eq!(e.key.as_deref(), Some("network.bandwidth"), "{e}");
    assert!(e.reason.contains("unknown bandwidth unit"), "{e}");
    let s = parse(&format!("{MINIMAL}\n[network]\nbandwidth = \"1MB/s\"\n")).unwrap();
    assert_eq!(s.network.bandwidth, Bandwidth(1_000_000));
}
