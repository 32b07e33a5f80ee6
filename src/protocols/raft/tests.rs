//! Unit tests of the Raft node, driven by hand through the Harness.
