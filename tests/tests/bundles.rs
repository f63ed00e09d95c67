//! USB bundles end to end: a facility that never has a link converges with the hub by carrying
//! files; damaged, replayed, misdirected and revoked bundles are refused and change nothing.

use cairn_tests::*;
use std::path::{Path, PathBuf};

fn export(c: &Cairn, out: &Path, for_site: Option<&str>) -> serde_json::Value {
    let mut args = vec!["bundle", "export", "--out", out.to_str().unwrap()];
    if let Some(s) = for_site {
        args.extend(["--for", s]);
    }
    c.run(&args).ok().clone()
}

fn import(c: &Cairn, file: &Path) -> Run {
    c.run(&["bundle", "import", file.to_str().unwrap()])
}

/// `import`, given at most `secs` seconds: panics, naming `what`, if it takes longer.
fn import_within(c: &Cairn, file: &Path, secs: u64, what: &str) -> Run {
    c.run_within(
        &["bundle", "import", file.to_str().unwrap()],
        std::time::Duration::from_secs(secs),
    )
    .unwrap_or_else(|| panic!("{what}: the import took over {secs} s"))
}

/// The import was refused as `kind` (exit 3), saying `words`.
fn assert_refused(r: &Run, kind: &str, words: &str) {
    assert_eq!(
        (r.code, r.error_kind()),
        (3, kind),
        "{}\n{}",
        r.stderr,
        r.stdout
    );
    assert!(
        r.stderr.contains(words),
        "expected '{words}' in: {}",
        r.stderr
    );
}

/// Everything that must not change when an import is refused.
fn fingerprint(c: &Cairn) -> serde_json::Value {
    let s = c.run(&["status"]).ok().clone();
    serde_json::json!({"entries": s["entries"], "feeds": s["feeds"], "learners": s["learners"], "forks": s["forks"]})
}

#[test]
fn a_facility_that_only_exchanges_bundles_converges_and_each_trip_carries_only_what_is_missing() {
    let root = tempfile::tempdir().unwrap();
    let stick = root.path().join("usb");
    std::fs::create_dir_all(&stick).unwrap();
    let hub = new_hub(&root.path().join("hub"));
    let facility = new_site(
        &hub,
        &root.path().join("facility"),
        "Southern Maine Women's Reentry Center",
    );
    let other = new_site(
        &hub,
        &root.path().join("other"),
        "Ellsworth Adult Education",
    );
    let facility_id = node_id(&facility);
    // The other site syncs over the network and has learners of its own.
    sync_through(&hub, &[&other]);
    let f = distinct_file(root.path(), "resume.pdf", 400_000, 3);
    let elsewhere = learner_with_award(&other, "EAE-1", "workready", &f);
    sync_through(&hub, &[&other]);

    // Trip 1: the hub carries the catalog and trust records in.
    let b = stick.join("hub-1.cairn");
    export(&hub, &b, Some(&facility_id));
    import(&facility, &b).ok();
    assert!(facility.run(&["catalog", "list"]).ok()["achievements"]["workready"].is_object());
    // The facility works offline for weeks.
    let mut learners = Vec::new();
    for i in 0..3u8 {
        let ev = distinct_file(root.path(), &format!("lab{i}.bin"), 300_000, i + 10);
        learners.push(learner_with_award(
            &facility,
            &format!("SMW-{i}"),
            if i == 0 { "css-level-1" } else { "workready" },
            &ev,
        ));
    }
    // Trip 2: out to the hub.
    let b = stick.join("facility-1.cairn");
    let out = export(&facility, &b, None);
    assert!(out["entries"].as_u64().unwrap() > 15);
    let r = import(&hub, &b).ok().clone();
    assert_eq!(r["stored"], out["entries"]);
    // Trip 3: back in, with the receipt.
    let b = stick.join("hub-2.cairn");
    let back = export(&hub, &b, Some(&facility_id));
    assert_eq!(back["receipt"], true);
    import(&facility, &b).ok();
    // The facility's next bundle carries only what is new since the hub's receipt.
    let late = learner_with_award(&facility, "SMW-9", "workready", &f);
    let fresh = facility.run(&["learner", "show", &late]).ok().clone();
    let new_entries = 5 + fresh["evidence"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v["files"].as_array().unwrap().len())
        .sum::<usize>() as u64
        * 2;
    let b = stick.join("facility-2.cairn");
    let out2 = export(&facility, &b, None);
    assert!(
        out2["entries"].as_u64().unwrap() <= new_entries,
        "{out2} should carry only the new learner's entries"
    );
    assert!(out2["bytes"].as_u64().unwrap() < out["bytes"].as_u64().unwrap() / 2);
    import(&hub, &b).ok();

    // Converged: the same documents on both sides; the facility holds only its own learners.
    let (at_hub, here) = (learner_heads(&hub.dir), learner_heads(&facility.dir));
    for l in learners.iter().chain([&late]) {
        assert_eq!(at_hub.get(l), here.get(l), "learner {l}");
    }
    assert!(
        !here.contains_key(&elsewhere),
        "the facility received another site's learner"
    );
    assert_eq!(here.len(), 4);
    // Evidence files crossed whole.
    assert_first_evidence_file_is(&hub, &fresh, &f, &root.path().join("copy"));
    hub.run(&["check"]).ok();
    facility.run(&["check"]).ok();
    // Status shows the bundle history.
    let status = facility.run(&["status"]).ok().clone();
    assert!(status["peers"][0]["last_success_ms"].is_number());
}

#[test]
fn damaged_replayed_misdirected_and_revoked_bundles_are_refused_and_change_nothing() {
    let root = tempfile::tempdir().unwrap();
    let hub = new_hub(&root.path().join("hub"));
    let a = new_site(&hub, &root.path().join("a"), "A");
    let b_site = new_site(&hub, &root.path().join("b"), "B");
    let (a_id, b_id) = (node_id(&a), node_id(&b_site));
    let to_a = root.path().join("to-a.cairn");
    export(&hub, &to_a, Some(&a_id));
    let f = distinct_file(root.path(), "x.bin", 50_000, 7);
    import(&a, &to_a).ok();
    learner_with_award(&a, "A-1", "workready", &f);
    let from_a = root.path().join("from-a.cairn");
    export(&a, &from_a, None);
    let before = fingerprint(&hub);
    let bytes = std::fs::read(&from_a).unwrap();

    let refuse = |c: &Cairn, file: &Path, kind: &str, words: &str| {
        assert_refused(&import(c, file), kind, words);
    };
    // Bit flips anywhere in the encrypted payload.
    for at in [bytes.len() / 3, bytes.len() / 2, bytes.len() - 20] {
        let mut bad = bytes.clone();
        bad[at] ^= 0x10;
        let p = root.path().join(format!("flipped-{at}.cairn"));
        std::fs::write(&p, bad).unwrap();
        refuse(&hub, &p, "invalid", "damaged");
    }
    // Truncated.
    let p = root.path().join("truncated.cairn");
    std::fs::write(&p, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let r = import(&hub, &p);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("damaged") || r.stderr.contains("incomplete"),
        "{}",
        r.stderr
    );
    // Not a bundle at all.
    let p = root.path().join("notes.txt");
    std::fs::write(&p, "shopping list").unwrap();
    refuse(&hub, &p, "invalid", "not a Cairn bundle");
    // For another recipient: the hub's bundle for site A, carried to site B.
    refuse(&b_site, &to_a, "invalid", "another node");
    // A bundle re-encrypted by someone who knows the hub's public key but not A's private key:
    // the age layer is fine, the signature is not.
    let forged = forge(&a.dir, &hub.dir, &from_a, root.path());
    refuse(&hub, &forged, "forged", "signature");
    assert_eq!(fingerprint(&hub), before, "nothing was applied");
    // The genuine bundle imports once; replaying it is refused and changes nothing.
    import(&hub, &from_a).ok();
    let after = fingerprint(&hub);
    assert_ne!(after, before);
    refuse(&hub, &from_a, "duplicate", "already imported");
    assert_eq!(fingerprint(&hub), after);
    // A revoked site's bundle is refused.
    let b_in = root.path().join("to-b.cairn");
    export(&hub, &b_in, Some(&b_id));
    import(&b_site, &b_in).ok();
    learner_with_award(&b_site, "B-1", "workready", &f);
    let from_b = root.path().join("from-b.cairn");
    export(&b_site, &from_b, None);
    hub.run(&["site", "revoke", &b_id]).ok();
    let before = fingerprint(&hub);
    refuse(&hub, &from_b, "unauthorized", "revoked");
    assert_eq!(fingerprint(&hub), before);
    // And the hub will not write bundles for it any more.
    let r = hub.run(&[
        "bundle",
        "export",
        "--out",
        root.path().join("x").to_str().unwrap(),
        "--for",
        &b_id,
    ]);
    assert_eq!((r.code, r.error_kind()), (3, "unauthorized"));
    hub.run(&["check"]).ok();
}

/// Decrypt `bundle` with the hub's key, change one byte inside a frame, and re-encrypt it to the
/// hub: the kind of file anyone holding only the hub's public key could make.
fn forge(_site: &Path, hub: &Path, bundle: &Path, dir: &Path) -> PathBuf {
    use std::io::{Read, Write};
    let node = cairn_node::node::Node::open(hub).unwrap();
    let bytes = std::fs::read(bundle).unwrap();
    let magic = b"CAIRN-BUNDLE 1\n";
    let mut plain = Vec::new();
    cairn_node::bundle::crypt::decrypt(&node.key, &bytes[magic.len()..])
        .map_err(|e| e.to_string())
        .unwrap()
        .read_to_end(&mut plain)
        .unwrap();
    let n = plain.len();
    plain[n / 2] ^= 0x01;
    let mut out = magic.to_vec();
    let mut w = cairn_node::bundle::crypt::encrypt_to(&node.id(), &mut out).unwrap();
    w.write_all(&plain).unwrap();
    w.finish().unwrap();
    let p = dir.join("forged.cairn");
    std::fs::write(&p, out).unwrap();
    p
}

#[test]
fn bundles_and_network_sync_mix_without_duplicating_or_losing_entries() {
    let root = tempfile::tempdir().unwrap();
    let hub = new_hub(&root.path().join("hub"));
    let site = new_site(&hub, &root.path().join("site"), "Ellsworth Adult Education");
    let site_id = node_id(&site);
    let f = distinct_file(root.path(), "e.bin", 200_000, 5);
    // Months of bundles.
    let b = root.path().join("in.cairn");
    export(&hub, &b, Some(&site_id));
    import(&site, &b).ok();
    let l1 = learner_with_award(&site, "M-1", "workready", &f);
    let out = root.path().join("out1.cairn");
    export(&site, &out, None);
    import(&hub, &out).ok();
    let l2 = learner_with_award(&site, "M-2", "workready", &f);
    // Then the link comes up: the network sync sends only what the bundles did not.
    let own_before = site.run(&["status"]).ok()["entries"].as_u64().unwrap();
    let r = sync_through(&hub, &[&site]).remove(0);
    assert!(
        r["progress"]["sent"].as_u64().unwrap() < own_before / 2,
        "{r}: the network resent what the bundle carried"
    );
    assert_eq!(r["duplicates"], 0);
    // And a bundle after the network carries nothing old.
    let l3 = learner_with_award(&site, "M-3", "workready", &f);
    let out = root.path().join("out2.cairn");
    let e = export(&site, &out, None);
    assert!(e["entries"].as_u64().unwrap() <= 6, "{e}");
    let imported = import(&hub, &out).ok().clone();
    assert_eq!(imported["duplicates"], 0);
    settle(&hub, &[&site]);
    let (at_hub, here) = (learner_heads(&hub.dir), learner_heads(&site.dir));
    for l in [&l1, &l2, &l3] {
        assert_eq!(at_hub.get(l), here.get(l));
    }
    hub.run(&["check"]).ok();
}

#[test]
fn a_lost_bundle_costs_nothing_the_next_network_sync_delivers_everything() {
    let root = tempfile::tempdir().unwrap();
    let hub = new_hub(&root.path().join("hub"));
    let site = new_site(&hub, &root.path().join("site"), "Kiosk");
    sync_through(&hub, &[&site]);
    let f = distinct_file(root.path(), "lost.bin", 100_000, 9);
    let l = learner_with_award(&site, "L-1", "workready", &f);
    // The stick is lost on the way.
    export(&site, &root.path().join("lost.cairn"), None);
    let r = sync_through(&hub, &[&site]).remove(0);
    // The session believed the bundle would arrive, but the hub's Hello said otherwise: it sent
    // the learner's entries anyway, once each.
    assert_eq!(r["progress"]["sent"], 6, "{r}");
    settle(&hub, &[&site]);
    assert_eq!(
        learner_heads(&hub.dir).get(&l),
        learner_heads(&site.dir).get(&l)
    );
    let sha = site.run(&["learner", "show", &l]).ok()["evidence"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()["files"][0]["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    hub.run(&[
        "evidence",
        "file",
        &sha,
        "--out",
        root.path().join("c").to_str().unwrap(),
    ])
    .ok();
}

#[test]
fn a_facility_restored_from_an_old_copy_recovers_its_lost_entries_by_bundle_and_never_forks() {
    let root = tempfile::tempdir().unwrap();
    let hub = new_hub(&root.path().join("hub"));
    let site = new_site(
        &hub,
        &root.path().join("site"),
        "Southern Maine Women's Reentry Center",
    );
    let site_id = node_id(&site);
    let f = distinct_file(root.path(), "e.bin", 50_000, 7);
    let trip = |from: &Cairn, to: &Cairn, name: &str, for_site: Option<&str>| {
        let b = root.path().join(name);
        export(from, &b, for_site);
        import(to, &b).ok().clone()
    };
    trip(&hub, &site, "h1.cairn", Some(&site_id));
    let kept = learner_with_award(&site, "R-1", "workready", &f);
    trip(&site, &hub, "s1.cairn", None);
    // The operator copies the folder; work goes on and reaches the hub; then the disk dies and
    // the old copy goes back.
    let backup = root.path().join("backup");
    copy_dir(&site.dir, &backup);
    let lost = learner_with_award(&site, "R-2", "workready", &f);
    trip(&site, &hub, "s2.cairn", None);
    std::fs::remove_dir_all(&site.dir).unwrap();
    copy_dir(&backup, &site.dir);
    assert_eq!(site.run(&["learner", "show", &lost]).code, 3);

    // The hub's next bundle shows the site that the hub holds more of its feed: it moves to a new
    // epoch before writing anything.
    let r = trip(&hub, &site, "h2.cairn", Some(&site_id));
    assert!(r["new_epoch"].as_u64().is_some_and(|e| e > 0), "{r}");
    let after = learner_with_award(&site, "R-3", "workready", &f);
    // Its next bundle is not mistaken for a replay, and tells the hub what it really holds...
    trip(&site, &hub, "s3.cairn", None);
    // ...so the hub's reply brings the lost learner back.
    trip(&hub, &site, "h3.cairn", Some(&site_id));
    assert_eq!(site.run(&["learner", "show", &lost]).code, 0);
    let hub_status = hub.run(&["status"]).ok().clone();
    assert_eq!(
        hub_status["forks"].as_array().unwrap().len(),
        0,
        "{hub_status}"
    );
    let (at_hub, here) = (learner_heads(&hub.dir), learner_heads(&site.dir));
    for l in [&kept, &lost, &after] {
        assert!(here.contains_key(l));
        assert_eq!(at_hub.get(l), here.get(l));
    }
    site.run(&["check"]).ok();
    hub.run(&["check"]).ok();
}

/// A hub in a temporary folder.
fn hub_alone() -> (tempfile::TempDir, Cairn) {
    let root = tempfile::tempdir().unwrap();
    let hub = new_hub(&root.path().join("hub"));
    (root, hub)
}

/// A hub and a site it admitted, in a temporary folder.
fn hub_and_facility() -> (tempfile::TempDir, Cairn, Cairn) {
    let (root, hub) = hub_alone();
    let facility = new_site(&hub, &root.path().join("facility"), "Facility");
    (root, hub, facility)
}

/// A node the hub never admitted, writing a bundle for it anyway: a fresh site whose own
/// configuration names the hub (all it takes is the hub's public id), with a learner of its own.
/// The bundle is well formed, encrypted to the hub and signed by its sender. Returns the bundle
/// and the intruder's learner.
fn intruder_bundle(hub: &Cairn, dir: &Path) -> (PathBuf, String) {
    let intruder = new_unjoined_site(dir, "Intruder").acting_as("ada", "222222");
    let node = cairn_node::node::Node::open(dir).unwrap();
    node.update_config(|config| {
        config.hub = Some(cairn_node::config::HubLink {
            id: node_id(hub),
            name: "University of Maine System".into(),
            address: None,
            site_id: "intruder".into(),
        });
        Ok(())
    })
    .unwrap();
    drop(node);
    let learner = intruder
        .run(&[
            "learner",
            "add",
            "--number",
            "INTRUDER-1",
            "--given-name",
            "Eve",
            "--family-name",
            "Intruder",
        ])
        .ok()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let bundle = dir.with_extension("cairn");
    export(&intruder, &bundle, None);
    // On its own it is refused: only a file that changes under the import could get it in.
    assert_refused(
        &import(hub, &bundle),
        "unauthorized",
        "not an admitted site",
    );
    (bundle, learner)
}

/// The hub holds nothing of the intruder's learner.
fn assert_not_held(hub: &Cairn, learner: &str) {
    assert_eq!(
        hub.run(&["learner", "show", learner]).code,
        3,
        "the hub stored the intruder's learner"
    );
    assert!(!learner_heads(&hub.dir).contains_key(learner));
}

/// Serves files one after another through a named pipe, each to the next reader that opens it,
/// from a thread; dropping it stops the thread however far it got.
struct PipeServer {
    path: PathBuf,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl PipeServer {
    fn start(path: &Path, files: Vec<Vec<u8>>) -> PipeServer {
        use std::io::Write;
        use std::sync::atomic::Ordering;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (p, s) = (path.to_path_buf(), stop.clone());
        let thread = std::thread::spawn(move || {
            for bytes in files {
                // Opening for writing waits for a reader.
                let Ok(mut pipe) = std::fs::OpenOptions::new().write(true).open(&p) else {
                    return;
                };
                if s.load(Ordering::SeqCst) || pipe.write_all(&bytes).is_err() {
                    return;
                }
                drop(pipe);
                // Let the reader finish with this file and close it, so the next file goes to
                // the next open rather than to the same reader.
                std::thread::sleep(std::time::Duration::from_millis(300));
            }
        });
        PipeServer {
            path: path.to_path_buf(),
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for PipeServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let Some(thread) = self.thread.take() else {
            return;
        };
        // A writer waiting in open() for a reader is let through by opening the pipe read-write
        // (which never waits, on Linux); closing it at once leaves the writer without a reader,
        // so its write fails and it stops. Bounded: 500 tries, 10 ms apart.
        for _ in 0..500 {
            if thread.is_finished() {
                let _ = thread.join();
                return;
            }
            let _ = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&self.path);
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("the pipe's writer did not stop");
    }
}

fn mkfifo(path: &Path) {
    let ok = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "mkfifo {}", path.display());
}

#[test]
fn a_named_pipe_is_refused_so_it_cannot_show_the_check_one_bundle_and_the_import_another() {
    let (root, hub, facility) = hub_and_facility();
    let genuine = root.path().join("facility-1.cairn");
    export(&facility, &genuine, None);
    let (forged, intruder) = intruder_bundle(&hub, &root.path().join("intruder"));
    let before = hub.snapshot();

    // The pipe gives the genuine bundle to the first open, the intruder's to the second.
    let pipe = root.path().join("stick.cairn");
    mkfifo(&pipe);
    let server = PipeServer::start(
        &pipe,
        vec![
            std::fs::read(&genuine).unwrap(),
            std::fs::read(&forged).unwrap(),
        ],
    );
    let r = import_within(&hub, &pipe, 60, "a named pipe serving two bundles");
    drop(server);
    assert_refused(&r, "invalid", "not a regular file");
    assert_not_held(&hub, &intruder);
    assert_eq!(hub.snapshot(), before, "nothing was applied");

    // A pipe nobody writes to is refused at once instead of waiting for a writer.
    let idle = root.path().join("idle.cairn");
    mkfifo(&idle);
    let r = import_within(&hub, &idle, 10, "a named pipe nobody writes to");
    assert_refused(&r, "invalid", "not a regular file");
    // The genuine bundle, from a regular file, is still new to the hub.
    import(&hub, &genuine).ok();
    hub.run(&["check"]).ok();
}

/// Wait until the running `import` holds `stick` open, then rename `decoy` over it, as someone
/// with access to the stick could between the import's check of the file and its use of it.
/// Reads the process's open files in /proc (Linux). False when the import ended first.
fn swap_while_open(import: &mut std::process::Child, stick: &Path, decoy: &Path) -> bool {
    let fds = PathBuf::from(format!("/proc/{}/fd", import.id()));
    let stick = stick.canonicalize().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while std::time::Instant::now() < deadline && import.try_wait().unwrap().is_none() {
        let open = std::fs::read_dir(&fds)
            .into_iter()
            .flatten()
            .flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == stick));
        if open {
            std::fs::rename(decoy, &stick).unwrap();
            return true;
        }
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
    false
}

#[test]
fn a_bundle_replaced_on_the_stick_while_it_is_being_checked_is_never_applied() {
    const TRIES: u64 = 5;
    let (root, hub, facility) = hub_and_facility();
    let to_facility = root.path().join("hub-1.cairn");
    export(&hub, &to_facility, Some(&node_id(&facility)));
    import(&facility, &to_facility).ok();
    // A large bundle keeps the import's check busy long enough to be caught with the file open.
    let scan = distinct_file(root.path(), "scan.bin", 16_000_000, 1);
    learner_with_award(&facility, "SMW-1", "workready", &scan);
    // Bundles numbered 1, 2, ...: each is new to the hub, so every try has something to import.
    let genuine: Vec<(PathBuf, u64)> = (1..=TRIES)
        .map(|i| {
            let p = root.path().join(format!("facility-{i}.cairn"));
            let out = export(&facility, &p, None);
            (p, out["entries"].as_u64().unwrap())
        })
        .collect();
    let (forged, intruder) = intruder_bundle(&hub, &root.path().join("intruder"));

    let stick = root.path().join("stick.cairn");
    let decoy = root.path().join("decoy.cairn");
    let mut swapped = 0;
    for (i, (bundle, entries)) in genuine.iter().enumerate() {
        std::fs::copy(bundle, &stick).unwrap();
        std::fs::copy(&forged, &decoy).unwrap();
        let r = hub.run_while(&["bundle", "import", stick.to_str().unwrap()], |child| {
            swapped += u32::from(swap_while_open(child, &stick, &decoy));
        });
        // The bytes checked are the bytes applied: the genuine bundle, whole.
        let report = r.ok();
        assert_eq!(report["seq"], i as u64 + 1, "{report}");
        assert_eq!(
            report["stored"].as_u64().unwrap() + report["duplicates"].as_u64().unwrap(),
            *entries,
            "{report}"
        );
        assert_not_held(&hub, &intruder);
    }
    eprintln!("{swapped} of {TRIES} swaps landed while the import held the file open");
    assert!(
        swapped > 0,
        "no swap landed while the import held the file open: the test showed nothing"
    );
    hub.run(&["check"]).ok();
}

#[test]
fn an_oversized_bundle_is_refused_before_it_is_read() {
    let (root, hub, facility) = hub_and_facility();
    let big = root.path().join("big.cairn");
    export(&facility, &big, None);
    // A genuine bundle's beginning, then holes up to one byte over the limit: sparse, so the
    // test uses no disk, and a file that would import if only its size were not checked first.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&big)
        .unwrap()
        .set_len(cairn_node::bundle::MAX_BUNDLE_BYTES + 1)
        .unwrap();
    let before = hub.snapshot();
    let r = import_within(&hub, &big, 10, "an oversized file");
    assert_refused(&r, "invalid", "a bundle may hold");
    assert_eq!(hub.snapshot(), before);
}

#[test]
fn an_overlong_age_header_is_refused_at_once() {
    let (root, hub) = hub_alone();
    let before = hub.snapshot();
    // One 1 MiB line, and 1 MiB of well-formed 64-column stanza lines.
    let mut one_line = b"CAIRN-BUNDLE 1\nage-encryption.org/v1\n-> X25519 ".to_vec();
    one_line.extend(std::iter::repeat_n(b'A', 1 << 20));
    one_line.push(b'\n');
    let mut many_lines = b"CAIRN-BUNDLE 1\nage-encryption.org/v1\n-> X25519 AAAA\n".to_vec();
    for _ in 0..(1 << 14) {
        many_lines.extend([b'A'; 64]);
        many_lines.push(b'\n');
    }
    for (name, bytes) in [("one-line", one_line), ("many-lines", many_lines)] {
        let p = root.path().join(format!("{name}.cairn"));
        std::fs::write(&p, bytes).unwrap();
        let r = import_within(&hub, &p, 10, name);
        assert_refused(&r, "invalid", "not a Cairn bundle");
    }
    assert_eq!(hub.snapshot(), before);
}

#[test]
fn a_file_name_from_the_stick_cannot_repaint_the_terminal_or_fake_a_line() {
    let (root, hub) = hub_alone();
    // A name that clears the screen, then prints what looks like a successful import.
    let p = root
        .path()
        .join("stick\u{1b}[2J\nImported bundle #7 from the hub\u{7}.cairn");
    std::fs::write(&p, "shopping list").unwrap();
    let r = import(&hub, &p);
    assert_refused(&r, "invalid", "not a Cairn bundle");
    assert_eq!(r.stderr.trim_end().lines().count(), 1, "{:?}", r.stderr);
    assert!(
        !r.stderr.trim_end().chars().any(|c| c.is_control()),
        "{:?}",
        r.stderr
    );
}
