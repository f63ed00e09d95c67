//! A node killed with SIGKILL at random moments during a stream of writes never loses a write it
//! reported as done, and always reopens with `cairn check` passing.

use cairn_tests::*;
use rand::{Rng, SeedableRng};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[test]
fn sigkill_during_writes_never_loses_an_acknowledged_write() {
    let cycles: usize = std::env::var("CAIRN_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let dir = tempfile::tempdir().unwrap();
    let c = Cairn::new(dir.path());
    c.run(&["init", "--role", "site", "--name", "Crash test"])
        .ok();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0xC0FFEE);
    let mut acknowledged: BTreeSet<String> = BTreeSet::new();
    let started = Instant::now();
    let mut killed_mid_stream = 0;
    for cycle in 0..cycles {
        assert!(
            started.elapsed() < Duration::from_secs(900),
            "the crash test took too long"
        );
        let tag = format!("c{cycle}");
        let mut child = std::process::Command::new(bin())
            .args([
                "--data",
                dir.path().to_str().unwrap(),
                "debug",
                "write-stream",
                "--count",
                "100000",
                "--tag",
                &tag,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Kill at a random moment: sometimes while opening, usually part-way through writes.
        let wait_lines = rng.gen_range(0..40);
        let deadline = Instant::now() + Duration::from_millis(rng.gen_range(1..400));
        let mut seen = 0;
        while seen < wait_lines && Instant::now() < deadline {
            match rx.recv_timeout(Duration::from_millis(5)) {
                Ok(_) => seen += 1,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        if rng.gen_bool(0.5) {
            std::thread::sleep(Duration::from_micros(rng.gen_range(0..3000)));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();
        // Everything printed as done before the kill counts as acknowledged.
        let mut last = None;
        for line in std::iter::from_fn(|| rx.try_recv().ok()).chain(std::iter::empty()) {
            if let Some(n) = line.strip_prefix("done ") {
                last = n.parse::<u64>().ok().max(last);
            }
        }
        // Lines consumed while waiting were also "done" lines, in order, before these.
        let last = last.or(if seen > 0 {
            Some(seen as u64 - 1)
        } else {
            None
        });
        if let Some(last) = last {
            killed_mid_stream += 1;
            for i in 0..=last {
                acknowledged.insert(format!("{tag}-{i}"));
            }
        }
        // Reopen: the whole log verifies and every acknowledged write is there.
        let check = c.run(&["check"]);
        assert_eq!(
            check.code, 0,
            "cycle {cycle}: check failed after SIGKILL: {}\n{}",
            check.stderr, check.stdout
        );
        let keys: BTreeSet<String> = c.run(&["debug", "read-stream"]).ok()["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap().to_string())
            .collect();
        let lost: Vec<&String> = acknowledged.difference(&keys).collect();
        assert!(
            lost.is_empty(),
            "cycle {cycle}: writes reported done were lost: {lost:?}"
        );
    }
    assert!(
        killed_mid_stream > cycles / 2,
        "most kills should land mid-stream ({killed_mid_stream} of {cycles})"
    );
}

#[test]
fn sigkill_between_acknowledging_and_deriving_loses_nothing_and_restart_derives_as_a_rebuild() {
    // A node receives a hub's feeds batch by batch with its derivation worker off, so every
    // batch is acknowledged (durable) and left queued; it is killed mid-stream or once all is
    // acknowledged. After restart, nothing acknowledged is missing, the queue is derived, and
    // the derived state equals what `cairn rebuild` makes from the log.
    let root = tempfile::tempdir().unwrap();
    let source = legacy_demo(root.path()).join("hub");
    let mut rng = rand::rngs::StdRng::seed_from_u64(0xDE1A7);
    let started = Instant::now();
    for cycle in 0..6 {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "the test took too long"
        );
        let dir = root.path().join(format!("receiver{cycle}"));
        let c = Cairn::new(&dir);
        c.run(&["init", "--role", "hub", "--name", "Receiver"]).ok();
        let mut child = std::process::Command::new(bin())
            .args([
                "--data",
                dir.to_str().unwrap(),
                "debug",
                "receive-stream",
                "--from",
                source.to_str().unwrap(),
                "--batch-entries",
                "7",
                "--hold-secs",
                "120",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // Every other cycle waits for everything to be acknowledged; the rest stop part-way.
        let stop_after = if cycle % 2 == 0 {
            usize::MAX
        } else {
            rng.gen_range(1..12)
        };
        let (mut acked, mut held, mut seen) = (0u64, false, 0usize);
        for line in lines {
            let line = line.unwrap();
            if let Some(n) = line.strip_prefix("acked ") {
                acked = n.parse().unwrap();
                seen += 1;
            }
            if line == "held" {
                held = true;
                break;
            }
            if seen >= stop_after {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(600));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        assert!(acked > 0, "cycle {cycle}: nothing was acknowledged");
        // Restart: what was acknowledged is there, and the queue is derived.
        let derived = c.run(&["debug", "derived-digest"]).ok().clone();
        assert!(
            derived["entries"].as_u64().unwrap() >= acked,
            "cycle {cycle}: acknowledged {acked} entries, {derived} after restart"
        );
        assert!(derived["documents"].as_u64().unwrap() > 0);
        let check = c.run(&["check"]);
        assert_eq!(check.code, 0, "cycle {cycle}: {}", check.stdout);
        c.run(&["rebuild"]).ok();
        let rebuilt = c.run(&["debug", "derived-digest"]).ok().clone();
        // How many buckets the record index has follows the store's history (they double as
        // batches outgrow them and never shrink), not only what it holds.
        let state = |digest: &serde_json::Value| {
            let mut state = digest.clone();
            if let Some(buckets) = state["record_buckets"].get_mut(0) {
                *buckets = serde_json::Value::Null;
            }
            state
        };
        assert_eq!(
            state(&derived),
            state(&rebuilt),
            "cycle {cycle} (held: {held}): derived state after restart differs from a rebuild"
        );
        if held {
            assert!(derived["learners"].as_u64().unwrap() > 0);
        }
    }
}

/// Kills the child when dropped, so a failed assertion does not leave it writing.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn sigkill_inside_a_record_index_doubling_loses_nothing_acknowledged_and_reopens_doubled() {
    // A write whose records outgrow the record index's buckets doubles them in steps once its
    // batch is applied, a bucket at a time (node/src/store/record_index.rs). A node that was
    // acknowledged a roster is killed while a second roster's write is inside such a doubling,
    // after a random number of buckets: sled recovers whatever prefix of its log reached the
    // file, from none of the second roster to all of it with the doubling part-done. Reopened,
    // the first roster is whole, the second is all there or not at all, `cairn check` passes,
    // the buckets have finished doubling, and the derived state equals `cairn rebuild`'s.
    let root = tempfile::tempdir().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0xB0C4E7);
    let started = Instant::now();
    let limit = Duration::from_secs(120);
    let (first, second) = (1_000u64, 3_500u64);
    // A new index's 256 buckets hold up to 2,048 records (8 a bucket on average) before they
    // double (`record_index::GROWTH`); the second roster takes the index past 4,096 too, so it
    // doubles twice: 256 bucket places passed, then 512.
    let splits = 256 + 512;
    let mut second_kept = 0;
    for cycle in 0..5 {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "the test took too long"
        );
        let c = Cairn::new(&root.path().join(format!("site{cycle}")));
        c.run(&["init", "--role", "site", "--name", "Doubling"])
            .ok();
        let mut child = KillOnDrop(
            c.command()
                .args(["debug", "doubling-stream", "--pause-ms", "2"])
                .args(["--first", &first.to_string()])
                .args(["--learners", &second.to_string()])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let stdout = child.0.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Killed well before the last bucket place, so that the write is still inside.
        let kill_after = rng.gen_range(1..=splits - 20);
        let deadline = Instant::now() + limit;
        let (mut acknowledged, mut seen, mut imported) = (false, 0, false);
        while seen < kill_after && !imported {
            let line = rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|e| panic!("cycle {cycle}: {e} after {seen} splits"));
            if line == format!("imported {first}") && seen == 0 && !acknowledged {
                acknowledged = true;
            } else if line.starts_with("split") {
                assert!(
                    acknowledged,
                    "cycle {cycle}: a split before the first roster"
                );
                seen += 1;
            } else if line.starts_with("imported") {
                imported = true;
            }
        }
        drop(child); // SIGKILL
        assert!(
            !imported && seen == kill_after,
            "cycle {cycle}: killed after {seen} of {splits} splits (imported: {imported})"
        );
        let run = |args: &[&str]| {
            c.run_within(args, limit)
                .unwrap_or_else(|| panic!("cycle {cycle}: {args:?} did not end"))
        };
        let check = run(&["check"]);
        assert_eq!(check.code, 0, "cycle {cycle}: {}", check.stdout);
        let derived = run(&["debug", "derived-digest"]).ok().clone();
        let learners = derived["learners"].as_u64().unwrap();
        let buckets = derived["record_buckets"][0].as_u64().unwrap();
        match learners {
            n if n == first => assert_eq!(buckets, 256, "cycle {cycle}"),
            n if n == first + second => {
                second_kept += 1;
                assert_eq!(
                    buckets, 1_024,
                    "cycle {cycle}: the doubling was not finished"
                );
            }
            n => panic!(
                "cycle {cycle}: {n} learners, neither {first} nor {}",
                first + second
            ),
        }
        run(&["rebuild"]).ok();
        let rebuilt = run(&["debug", "derived-digest"]).ok().clone();
        // The records only grew, so the rebuild's buckets double as far as the store's did.
        assert_eq!(
            derived, rebuilt,
            "cycle {cycle} (killed after {kill_after} splits): derived state differs from a rebuild"
        );
    }
    // A kill that only ever took the second roster with it would not test a doubling cut short.
    assert!(
        second_kept > 0,
        "no cycle kept the second roster through the kill"
    );
}
