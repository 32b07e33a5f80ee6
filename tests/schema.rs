//! `sim schema check OLD NEW`: exit 0 for a compatible version, 1 printing each violation
//! (message, field, tag, rule), 2 naming the file, key and reason for an unreadable schema.

mod common;

use common::*;

#[test]
fn schema_check_exits_by_verdict_and_names_each_violation() {
    let (old, new) = ("schemas/example.toml", "schemas/example-v2.toml");
    let out = sim(&["schema", "check", old, new]);
    assert_eq!(out.status.code(), Some(0), "{}", printed(&out));
    assert!(printed(&out).contains("compatible (backward; 2 message type(s) compared)"));
    let out = sim(&["schema", "check", old, new, "--mode", "full"]);
    assert_eq!(out.status.code(), Some(1), "{}", printed(&out));
    assert!(printed(&out)
        .contains("AppendEntries.leader (tag 2): unsafe type change (forward): uint32 -> uint64"));
    let dir = scratch("test-schema", "files");
    let broken = dir.join("broken.toml");
    std::fs::write(
        &broken,
        "[[message]]\nname = \"M\"\n[[message.field]]\nname = \"a\"\n\
                             tag = 1\ntype = \"list<Nope>\"\n",
    )
    .unwrap();
    let out = sim(&["schema", "check", broken.to_str().unwrap(), new]);
    assert_eq!(out.status.code(), Some(2), "{}", printed(&out));
    assert!(printed(&out).contains("broken.toml: message[0].field[0].type: unknown type `Nope`"));
    let out = sim(&["schema", "check", old, new, "--mode", "sideways"]);
    assert_eq!(out.status.code(), Some(2));
}
