//! The disk's tests: file data (fsync, torn writes, corruption, reads), names (create, delete,
//! rename, list, directory fsync) and misdirected writes.

use super::*;

fn disk(torn_ppm: u32, corrupt_ppm: u32) -> Disk {
    let config = DiskConfig {
        torn_write_ppm: torn_ppm,
        read_corruption_ppm: corrupt_ppm,
        ..DiskConfig::default()
    };
    Disk::new(config, SimRng::new(1, 1))
}

#[test]
fn unsynced_writes_are_lost_on_crash() {
    let mut d = disk(0, 0);
    d.append("log", b"one");
    let id = d.begin_fsync("log");
    assert!(d.fsync_done_at(0) >= 500_000);
    d.append("log", b"two"); // after the fsync was issued: not covered by it
    assert!(d.complete_fsync(id));
    assert_eq!(d.read_all("log").unwrap(), b"onetwo");
    d.crash();
    assert_eq!(d.read_all("log").unwrap(), b"one");
    assert_eq!(d.stats().unsynced_writes_lost, 1);
}

#[test]
fn fsync_in_flight_at_crash_is_lost() {
    let mut d = disk(0, 0);
    d.write("meta", 0, b"term=3");
    let id = d.begin_fsync("meta");
    d.crash();
    assert!(!d.complete_fsync(id));
    assert_eq!(d.read_all("meta").unwrap(), b"");
}

#[test]
fn truncation_is_durable_only_after_fsync() {
    let mut d = disk(0, 0);
    d.append("log", b"abcdef");
    let id = d.begin_fsync("log");
    d.complete_fsync(id);
    d.truncate("log", 2);
    assert_eq!(d.read_all("log").unwrap(), b"ab");
    d.crash();
    assert_eq!(d.read_all("log").unwrap(), b"abcdef");
}

#[test]
fn crash_can_tear_the_last_unsynced_write() {
    let mut torn = 0;
    for seed in 0..50 {
        let mut d = Disk::new(
            DiskConfig { torn_write_ppm: 1_000_000, ..DiskConfig::default() },
            SimRng::new(seed, 9),
        );
        d.append("log", b"durable|");
        let id = d.begin_fsync("log");
        d.complete_fsync(id);
        d.append("log", b"0123456789");
        d.crash();
        let data = d.read_all("log").unwrap();
        assert!(data.starts_with(b"durable|"));
        let tail = &data[8..];
        assert!(!tail.is_empty() && tail.len() < 10, "a strict prefix survives");
        assert!(b"0123456789".starts_with(tail));
        torn += 1;
    }
    assert_eq!(torn, 50);
}

#[test]
fn read_corruption_flips_exactly_one_bit() {
    let mut d = disk(0, 1_000_000);
    d.write("f", 0, &[0u8; 64]);
    let data = d.read_all("f").unwrap();
    let ones: u32 = data.iter().map(|b| b.count_ones()).sum();
    assert_eq!(ones, 1);
    assert_eq!(d.stats().corrupted_reads, 1);
}

#[test]
fn corruption_at_rest_survives_crash_and_latent_errors_clear_on_rewrite() {
    let mut d = disk(0, 0);
    d.write("f", 0, &[0u8; 1024]);
    let id = d.begin_fsync("f");
    d.complete_fsync(id);
    let (file, offset) = d.corrupt().unwrap();
    assert_eq!(file, "f");
    d.crash();
    assert_eq!(d.read_all("f").unwrap()[offset as usize].count_ones(), 1);
    let (_, bad) = d.fail_sector().unwrap();
    assert_eq!(d.read_all("f"), Err(DiskError::Unreadable { offset: bad }));
    d.write("f", bad, &[7u8; SECTOR_BYTES as usize]);
    assert!(d.read_all("f").is_ok());
}

#[test]
fn async_reads_see_the_data_at_completion_and_die_with_a_crash() {
    let mut d = disk(0, 0);
    d.write("f", 0, b"old");
    let (id, latency) = d.begin_read("f", 0, 3);
    assert!((50_000..=200_000).contains(&latency));
    d.write("f", 0, b"new");
    assert_eq!(d.complete_read(id), Some(Ok(b"new".to_vec())));
    assert_eq!(d.complete_read(id), None, "completes once");
    let (id, _) = d.begin_read("f", 0, 3);
    d.crash();
    assert_eq!(d.complete_read(id), None);
    let (id, _) = d.begin_read("missing", 0, 3);
    assert_eq!(d.complete_read(id), Some(Err(DiskError::NotFound)));
}

#[test]
fn fsyncs_complete_in_issue_order() {
    let mut d = disk(0, 0);
    let mut last = 0;
    for i in 0..100 {
        d.append("log", b"x");
        d.begin_fsync("log");
        let done = d.fsync_done_at(i * 10);
        assert!(done >= last);
        last = done;
    }
}

/// Fsyncs `file` and completes the fsync at once.
fn sync(d: &mut Disk, file: &str) {
    let id = d.begin_fsync(file);
    assert!(d.complete_fsync(id));
}

/// Fsyncs directory `dir` and completes the fsync at once.
fn sync_dir(d: &mut Disk, dir: &str) {
    let id = d.begin_fsync_dir(dir);
    assert!(d.complete_fsync(id));
}

/// Creates `path` holding `data`, fsyncs it, and fsyncs its directory: durable in every way.
fn durable_file(d: &mut Disk, path: &str, data: &[u8]) {
    d.create(path).unwrap();
    d.write(path, 0, data);
    sync(d, path);
    sync_dir(d, Disk::dir_of(path));
}

#[test]
fn paths_have_a_directory() {
    assert_eq!(Disk::dir_of("MANIFEST"), "");
    assert_eq!(Disk::dir_of("sst/12.sst"), "sst");
    assert_eq!(Disk::dir_of("a/b/c"), "a/b");
}

#[test]
fn a_create_without_a_directory_fsync_is_undone_by_a_crash() {
    let mut d = disk(0, 0);
    d.create("sst/1.sst").unwrap();
    assert!(d.exists("sst/1.sst"));
    assert_eq!(d.read_all("sst/1.sst").unwrap(), b"");
    d.crash();
    assert!(!d.exists("sst/1.sst"));
    assert_eq!(d.read_all("sst/1.sst"), Err(DiskError::NotFound));
    assert!(d.list("sst").is_empty());
    assert_eq!(d.stats().creates, 1);
    assert_eq!(d.stats().dir_ops_lost, 1);
}

#[test]
fn a_create_survives_once_its_directory_is_synced_with_the_data_fsynced() {
    let mut d = disk(0, 0);
    d.create("wal/1.log").unwrap();
    d.create("wal/2.log").unwrap();
    sync_dir(&mut d, "wal");
    d.append("wal/2.log", b"fsynced");
    sync(&mut d, "wal/2.log");
    d.append("wal/2.log", b"|lost");
    d.crash();
    assert_eq!(d.list("wal"), ["1.log", "2.log"]);
    assert_eq!(d.read_all("wal/1.log").unwrap(), b"");
    assert_eq!(d.read_all("wal/2.log").unwrap(), b"fsynced");
    assert_eq!(d.stats().dir_ops_lost, 0);
}

#[test]
fn fsynced_data_vanishes_with_a_create_whose_directory_was_not_synced() {
    let mut d = disk(0, 0);
    d.create("MANIFEST-2").unwrap(); // explicit: the strict rule, even in the root
    d.write("MANIFEST-2", 0, b"edits");
    sync(&mut d, "MANIFEST-2");
    sync_dir(&mut d, "sst"); // another directory, with nothing pending: covers nothing
    d.crash();
    assert!(!d.exists("MANIFEST-2"));
    assert!(d.list("").is_empty());
}

#[test]
fn a_rename_without_a_directory_fsync_is_undone_by_a_crash() {
    let mut d = disk(0, 0);
    durable_file(&mut d, "tmp", b"new");
    d.rename("tmp", "CURRENT").unwrap();
    assert_eq!(d.read_all("CURRENT").unwrap(), b"new");
    assert!(!d.exists("tmp"));
    d.crash();
    assert_eq!(d.read_all("tmp").unwrap(), b"new", "the old name is back");
    assert!(!d.exists("CURRENT"));
    assert_eq!(d.stats().renames, 1);
}

#[test]
fn a_rename_survives_once_its_directory_is_synced() {
    let mut d = disk(0, 0);
    durable_file(&mut d, "tmp", b"new");
    d.rename("tmp", "CURRENT").unwrap();
    sync_dir(&mut d, "");
    d.crash();
    assert_eq!(d.read_all("CURRENT").unwrap(), b"new");
    assert_eq!(d.list(""), ["CURRENT"]);
}

#[test]
fn a_rename_over_an_existing_file_replaces_it_atomically() {
    let mut d = disk(0, 0);
    durable_file(&mut d, "CURRENT", b"MANIFEST-1");
    durable_file(&mut d, "CURRENT.tmp", b"MANIFEST-2");
    d.rename("CURRENT.tmp", "CURRENT").unwrap();
    assert_eq!(d.read_all("CURRENT").unwrap(), b"MANIFEST-2");
    assert_eq!(d.list(""), ["CURRENT"]);

    let mut undone = d.clone();
    undone.crash();
    assert_eq!(undone.read_all("CURRENT").unwrap(), b"MANIFEST-1", "the old target is back");
    assert_eq!(undone.read_all("CURRENT.tmp").unwrap(), b"MANIFEST-2");

    sync_dir(&mut d, "");
    d.crash();
    assert_eq!(d.read_all("CURRENT").unwrap(), b"MANIFEST-2");
    assert_eq!(d.list(""), ["CURRENT"]);
    assert_eq!(d.free_files.len(), 1, "the replaced file is gone for good");
}

#[test]
fn a_rename_between_directories_is_durable_with_either_directory_synced() {
    for synced in ["tmp", "sst"] {
        let mut d = disk(0, 0);
        durable_file(&mut d, "tmp/5.sst", b"table");
        d.rename("tmp/5.sst", "sst/5.sst").unwrap();
        assert_eq!((d.list("tmp").len(), d.list("sst").len()), (0, 1));
        sync_dir(&mut d, synced);
        d.crash();
        assert_eq!(d.list("sst"), ["5.sst"], "{synced}");
        assert!(d.list("tmp").is_empty());
        assert_eq!(d.read_all("sst/5.sst").unwrap(), b"table");
    }
}

#[test]
fn a_delete_without_a_directory_fsync_is_undone_with_the_durable_contents() {
    let mut d = disk(0, 0);
    durable_file(&mut d, "wal/1.log", b"durable");
    d.append("wal/1.log", b"|unsynced");
    d.delete("wal/1.log").unwrap();
    assert!(!d.exists("wal/1.log"));
    assert_eq!(d.read_all("wal/1.log"), Err(DiskError::NotFound));
    assert!(d.list("wal").is_empty());
    d.crash();
    assert_eq!(d.read_all("wal/1.log").unwrap(), b"durable");
    assert_eq!(d.stats().deletes, 1);
}

#[test]
fn a_delete_survives_once_its_directory_is_synced() {
    let mut d = disk(0, 0);
    durable_file(&mut d, "wal/1.log", b"durable");
    d.delete("wal/1.log").unwrap();
    sync_dir(&mut d, "wal");
    assert_eq!(d.free_files.len(), 1, "nothing can bring the file back: its slot is free");
    d.crash();
    assert!(!d.exists("wal/1.log"));
    d.create("wal/2.log").unwrap();
    assert!(d.free_files.is_empty(), "the slot is reused");
}

#[test]
fn name_operations_report_their_errors_and_change_nothing() {
    let mut d = disk(0, 0);
    d.create("a").unwrap();
    assert_eq!(d.create("a"), Err(NameError::AlreadyExists));
    for bad in ["", "/a", "a/", "a//b"] {
        assert_eq!(d.create(bad), Err(NameError::InvalidPath), "{bad:?}");
        assert_eq!(d.rename("a", bad), Err(NameError::InvalidPath), "{bad:?}");
    }
    assert_eq!(d.delete("b"), Err(NameError::NotFound));
    assert_eq!(d.rename("b", "c"), Err(NameError::NotFound));
    assert_eq!(d.rename("a", "a"), Ok(()));
    assert_eq!(d.list(""), ["a"]);
    assert_eq!(d.names.pending(), 1, "only the create is logged");
}

#[test]
#[should_panic(expected = "create it first")]
fn writing_a_missing_file_in_a_directory_is_a_bug() {
    disk(0, 0).write("sst/1.sst", 0, b"x");
}

#[test]
fn root_files_written_without_create_keep_their_name_through_a_crash() {
    let mut d = disk(0, 0);
    d.write("meta", 0, b"never synced");
    d.truncate("log", 0);
    d.crash();
    assert_eq!(d.list(""), ["log", "meta"]);
    assert_eq!(d.read_all("meta").unwrap(), b"");
    assert_eq!((d.stats().creates, d.stats().dir_ops_lost), (0, 0));
}

#[test]
fn an_implicit_creation_commits_the_name_operations_before_it() {
    let mut d = disk(0, 0);
    d.create("a").unwrap();
    d.write("b", 0, b"x"); // implicit: durable at once, and the journal commits in order
    d.create("c").unwrap();
    d.crash();
    assert_eq!(d.list(""), ["a", "b"]);
}

#[test]
fn list_names_the_files_directly_in_a_directory_sorted() {
    let mut d = disk(0, 0);
    for path in ["sst/2.sst", "sst/10.sst", "sst/old/1.sst", "sstable", "MANIFEST"] {
        d.create(path).unwrap();
    }
    d.write("log", 0, b"x");
    assert_eq!(d.list("sst"), ["10.sst", "2.sst"], "bytewise order, no subdirectories");
    assert_eq!(d.list(""), ["MANIFEST", "log", "sstable"]);
    assert_eq!(d.list("sst/old"), ["1.sst"]);
    assert!(d.list("ss").is_empty());
    d.rename("sst/10.sst", "sst/old/10.sst").unwrap();
    d.delete("sst/2.sst").unwrap();
    assert!(d.list("sst").is_empty(), "the volatile view");
    assert_eq!(d.list("sst/old"), ["1.sst", "10.sst"]);
}

#[test]
fn a_directory_fsync_takes_an_fsync_latency_in_issue_order() {
    let config = DiskConfig {
        fsync_latency_min: 3_000_000,
        fsync_latency_max: 5_000_000,
        ..DiskConfig::default()
    };
    let mut d = Disk::new(config, SimRng::new(1, 1));
    d.write("log", 0, b"x");
    d.begin_fsync("log");
    let file_done = d.fsync_done_at(1_000_000);
    d.create("a").unwrap();
    d.begin_fsync_dir("");
    let dir_done = d.fsync_done_at(1_000_000);
    assert!((4_000_000..=6_000_000).contains(&dir_done), "{dir_done}");
    assert!(dir_done >= file_done, "completions keep their issue order");
    assert_eq!((d.stats().fsyncs, d.stats().dir_fsyncs), (1, 1));
}

#[test]
fn a_directory_fsync_covers_only_what_was_issued_before_it() {
    let mut d = disk(0, 0);
    d.create("a").unwrap();
    let id = d.begin_fsync_dir("");
    d.create("b").unwrap();
    assert!(d.complete_fsync(id));
    d.crash();
    assert_eq!(d.list(""), ["a"]);
}

#[test]
fn a_directory_fsync_in_flight_at_a_crash_is_lost() {
    let mut d = disk(0, 0);
    d.create("a").unwrap();
    let id = d.begin_fsync_dir("");
    d.crash();
    assert!(!d.complete_fsync(id));
    assert!(!d.exists("a"));
}

#[test]
fn a_directory_fsync_commits_earlier_operations_in_other_directories() {
    let mut d = disk(0, 0);
    d.create("wal/1.log").unwrap();
    d.create("sst/1.sst").unwrap();
    d.create("wal/2.log").unwrap();
    sync_dir(&mut d, "sst");
    d.crash();
    assert_eq!(d.list("wal"), ["1.log"], "before the sst create: committed with it");
    assert_eq!(d.list("sst"), ["1.sst"]);
}

#[test]
fn a_crash_keeps_a_prefix_of_the_unsynced_name_operations() {
    let mut kept_counts = std::collections::BTreeSet::new();
    for seed in 0..64 {
        let config = DiskConfig { dir_op_lost_ppm: 300_000, ..DiskConfig::default() };
        let mut d = Disk::new(config, SimRng::new(seed, 5));
        d.create("a").unwrap();
        d.rename("a", "b").unwrap();
        d.rename("b", "c").unwrap();
        d.delete("c").unwrap();
        d.crash();
        let names = d.list("");
        let expected: &[&[&str]] = &[&[], &["a"], &["b"], &["c"], &[]];
        let kept = 4 - d.stats().dir_ops_lost as usize;
        assert_eq!(names, expected[kept], "seed {seed}: one name at most, never two");
        kept_counts.insert(kept);
    }
    assert_eq!(kept_counts.len(), 5, "every prefix happens: {kept_counts:?}");
}

#[test]
fn dir_op_lost_zero_keeps_every_name_operation() {
    let config = DiskConfig { dir_op_lost_ppm: 0, ..DiskConfig::default() };
    let mut d = Disk::new(config, SimRng::new(1, 1));
    d.create("a").unwrap();
    d.create("b").unwrap();
    d.crash();
    assert_eq!(d.list(""), ["a", "b"]);
}

#[test]
fn an_fsync_of_a_freed_file_does_not_reach_the_file_reusing_its_slot() {
    let mut d = disk(0, 0);
    durable_file(&mut d, "old", b"");
    d.write("old", 0, b"old data");
    let id = d.begin_fsync("old");
    d.delete("old").unwrap();
    sync_dir(&mut d, "");
    d.create("new").unwrap();
    sync_dir(&mut d, "");
    d.write("new", 0, b"unsynced");
    assert!(d.complete_fsync(id), "completes, with nothing left to make durable");
    d.crash();
    assert_eq!(d.read_all("new").unwrap(), b"");
}

#[test]
fn a_misdirected_write_lands_elsewhere_and_the_intended_place_keeps_its_old_bytes() {
    let (mut same_file, mut other_file) = (0, 0);
    for seed in 0..40 {
        let mut d = Disk::new(DiskConfig::default(), SimRng::new(seed, 3));
        d.write("a", 0, &[1u8; 1024]);
        d.write("b", 0, &[2u8; 1024]);
        let nth = d.arm_misdirect();
        assert!((1..=MISDIRECT_WITHIN_WRITES).contains(&nth));
        for _ in 1..nth {
            d.write("a", 0, &[1u8; 512]); // lands where meant
        }
        assert_eq!(d.stats().misdirected_writes, 0);
        d.write("a", 512, &[9u8; 512]);
        assert_eq!(d.stats().misdirected_writes, 1);
        let a = d.read_all("a").unwrap();
        let b = d.read_all("b").unwrap();
        assert_eq!(&a[512..1024], &[1u8; 512], "seed {seed}: the intended place is unchanged");
        let nines = a.iter().chain(&b).filter(|x| **x == 9).count();
        assert_eq!(nines, 512, "seed {seed}: the write landed whole, somewhere else");
        if b.contains(&9) {
            other_file += 1;
        } else {
            same_file += 1;
        }
        d.write("a", 512, &[9u8; 512]);
        assert_eq!(&d.read_all("a").unwrap()[512..1024], &[9u8; 512], "disarmed after one");
        sync(&mut d, "b");
        d.crash();
        assert_eq!(d.read_all("b").unwrap().contains(&9), b.contains(&9), "durable with b");
    }
    assert!(same_file > 0 && other_file > 0, "{same_file} {other_file}");
}

#[test]
fn arming_an_armed_disk_keeps_the_earlier_write() {
    let mut d = disk(0, 0);
    let first = d.arm_misdirect();
    let second = d.arm_misdirect();
    assert_eq!(d.misdirect_in, Some(first.min(second) - 1));
}

#[test]
fn faults_name_a_file_by_its_current_name() {
    let mut d = disk(0, 0);
    durable_file(&mut d, "tmp", b"data");
    d.rename("tmp", "CURRENT").unwrap();
    assert_eq!(d.corrupt().unwrap().0, "CURRENT");
    assert_eq!(d.fail_sector().unwrap().0, "CURRENT");
}

/// Each path with what reading it returns.
type Image = Vec<(String, Result<Vec<u8>, DiskError>)>;

/// Everything a crash-and-recover would see: each directory's names and each file's bytes.
fn image(d: &mut Disk) -> Image {
    let mut out = Vec::new();
    for dir in ["", "wal", "sst"] {
        for name in d.list(dir) {
            let path = if dir.is_empty() { name } else { format!("{dir}/{name}") };
            let data = d.read_all(&path);
            out.push((path, data));
        }
    }
    out
}

/// A workload touching every draw the disk makes: torn writes, read corruption, name losses,
/// misdirects, corruption at rest, latent errors, fsync and read latencies.
fn run_everything(seed: u64) -> (Image, DiskStats, u64) {
    let config = DiskConfig {
        torn_write_ppm: 500_000,
        read_corruption_ppm: 100_000,
        dir_op_lost_ppm: 500_000,
        ..DiskConfig::default()
    };
    let mut d = Disk::new(config, SimRng::new(seed, 7));
    let mut latencies = 0;
    for round in 0..20u64 {
        let wal = format!("wal/{round}.log");
        d.create(&wal).unwrap();
        d.append(&wal, &round.to_le_bytes().repeat(100));
        d.begin_fsync(&wal);
        latencies += d.fsync_done_at(round);
        if round % 3 == 0 {
            d.begin_fsync_dir("wal");
            latencies += d.fsync_done_at(round);
        }
        if round % 4 == 1 {
            d.arm_misdirect();
            d.create(&format!("sst/{round}.sst")).unwrap();
            d.rename(&wal, &format!("sst/{round}.sst")).unwrap();
        }
        if round % 5 == 2 {
            d.corrupt();
            d.fail_sector();
            latencies += d.begin_read("MANIFEST", 0, 8).1;
        }
        d.write("MANIFEST", 0, &round.to_le_bytes());
        if round % 7 == 6 {
            let last = d.list("wal").pop();
            if let Some(name) = last {
                d.delete(&format!("wal/{name}")).unwrap();
            }
            d.crash();
        }
    }
    d.crash();
    (image(&mut d), d.stats(), latencies)
}

#[test]
fn every_draw_is_deterministic() {
    for seed in 0..8 {
        assert_eq!(run_everything(seed), run_everything(seed), "seed {seed}");
    }
    assert_ne!(run_everything(1), run_everything(2), "the seed matters");
}
