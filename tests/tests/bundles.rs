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
        let r = import(c, file);
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
