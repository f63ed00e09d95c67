//! Stores written by an earlier release keep working: the hub, facility and rural site that
//! `cairn demo --keep` left behind at commit 9a2a1de (before records were typed) open, pass
//! `check`, read as typed records with nothing unreadable, and sync with nodes of this version;
//! `status` advises `cairn rebuild` for them until it has run.

use cairn_tests::*;

#[test]
fn stores_written_by_the_earlier_release_open_check_read_and_sync() {
    let root = tempfile::tempdir().unwrap();
    let demo = legacy_demo(root.path());
    // The earlier release's staff PINs (4 digits) still sign in: only new secrets are held to
    // the longer rule.
    let hub = Cairn::new(&demo.join("hub")).acting_as("op", "1111");
    let facility = Cairn::new(&demo.join("facility")).acting_as("ada", "2222");
    let rural = Cairn::new(&demo.join("rural")).acting_as("ada", "2222");
    for node in [&hub, &facility, &rural] {
        node.run(&["check"]).ok();
        let learners = node.run(&["learner", "list"]).ok()["learners"]
            .as_array()
            .unwrap()
            .clone();
        assert!(!learners.is_empty());
        for l in learners {
            let record = node
                .run(&["learner", "show", l["id"].as_str().unwrap()])
                .ok()
                .clone();
            assert!(
                record.get("unreadable").is_none(),
                "a record written by the earlier release is unreadable: {record}"
            );
            assert_eq!(record["profile"]["number"], l["number"]);
        }
    }
    // The earlier release derived these stores, without what this one's versions add: the
    // hub's `status` says so, and what to run (checked again after the rebuild at the end); the
    // sites' do not, since nothing a site does relies on those keys.
    assert_eq!(hub.run(&["status"]).ok()["rebuild_advised"], true);
    for site in [&facility, &rural] {
        assert_eq!(site.run(&["status"]).ok()["rebuild_advised"], false);
    }
    assert!(
        status_text(&hub).contains("`cairn rebuild` brings it up to this one"),
        "{}",
        status_text(&hub)
    );
    // Maria's micro-credential, its parts, and what the catalog recognizes read as typed awards.
    let maria = hub.run(&["learner", "show", "SMWRC-0001"]).ok().clone();
    let kinds: Vec<&str> = maria["awards"]
        .as_object()
        .unwrap()
        .values()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"pathway") && kinds.contains(&"achievement"),
        "{kinds:?}"
    );
    assert_eq!(hub.run(&["report", "outcomes"]).ok()["learners"], 4);
    // The credential the earlier release exported still verifies.
    let credential = demo.join("maria-computer-support-specialist.json");
    let r = Cairn::new(&root.path().join("nowhere")).run(&[
        "credential",
        "verify",
        credential.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stdout);

    // The old hub, run by this version, syncs with the old rural site and with a site made by
    // this version (admitted while the hub runs).
    let running = start_hub(&hub.dir);
    let before = rural.run(&["status"]).ok()["entries"].as_u64().unwrap();
    rural.run(&["sync", "--once", "--hub", &running.addr]).ok();
    let site =
        new_unjoined_site(&root.path().join("new-site"), "New Site").acting_as("ada", "222222");
    let prov = root.path().join("new-site.json");
    hub.run(&[
        "site",
        "enroll",
        "--site-id",
        &node_id(&site),
        "--name",
        "New Site",
        "--out",
        prov.to_str().unwrap(),
    ])
    .ok();
    site.run(&["join", prov.to_str().unwrap()]).ok();
    site.run(&["sync", "--once", "--hub", &running.addr]).ok();
    let catalog = site.run(&["catalog", "list"]).ok().clone();
    assert!(
        catalog["pathways"].as_object().unwrap().contains_key("css"),
        "the new site received the old hub's catalog: {catalog}"
    );
    // A learner made at the new site reaches the old hub, and the old rural site's new work too.
    site.run(&[
        "learner",
        "add",
        "--number",
        "NEW-1",
        "--given-name",
        "Nia",
        "--family-name",
        "New",
    ])
    .ok();
    site.run(&[
        "enroll",
        "--learner",
        "NEW-1",
        "--achievement",
        "css-level-1",
    ])
    .ok();
    site.run(&["sync", "--once", "--hub", &running.addr]).ok();
    rural
        .run(&[
            "learner",
            "add",
            "--number",
            "EAE-0099",
            "--given-name",
            "Old",
            "--family-name",
            "Site",
        ])
        .ok();
    rural.run(&["sync", "--once", "--hub", &running.addr]).ok();
    assert!(rural.run(&["status"]).ok()["entries"].as_u64().unwrap() >= before);
    running.stop();
    let numbers: Vec<String> = hub.run(&["learner", "list"]).ok()["learners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["number"].as_str().unwrap().to_string())
        .collect();
    assert!(numbers.contains(&"NEW-1".to_string()), "{numbers:?}");
    assert!(numbers.contains(&"EAE-0099".to_string()), "{numbers:?}");
    for node in [&hub, &rural, &site] {
        node.run(&["check"]).ok();
    }
    // A site made by this release is not advised one; the old hub is until it has one.
    assert_eq!(site.run(&["status"]).ok()["rebuild_advised"], false);
    hub.run(&["rebuild"]).ok();
    assert_eq!(hub.run(&["status"]).ok()["rebuild_advised"], false);
    assert!(!status_text(&hub).contains("cairn rebuild"));
}

/// A store the release before growing buckets wrote into (a downgrade, then an upgrade again):
/// that release filed its learner's records in its 65,536 buckets and lowered the derived
/// format's mark, and could not find the demo's learners in the grown buckets. This release,
/// opening it, files every record where both look (`record_index::settle_layout`): every
/// learner and award is found by id, `check` passes, and a rebuild derives the same state.
#[test]
fn a_store_the_release_before_growing_buckets_wrote_into_loses_nothing() {
    let root = tempfile::tempdir().unwrap();
    let demo = downgraded_demo(root.path());
    let hub = Cairn::new(&demo.join("hub")).acting_as("op", "111111");
    let rural = Cairn::new(&demo.join("rural")).acting_as("ada", "222222");
    // Every learner by its L- id and every award by its A- id, both read through the record
    // index; the learners the earlier release added are among them.
    let every_record_is_found = |node: &Cairn, added_there: &str| {
        let learners = node.run(&["learner", "list"]).ok()["learners"]
            .as_array()
            .unwrap()
            .clone();
        let numbers: Vec<&str> = learners
            .iter()
            .map(|l| l["number"].as_str().unwrap())
            .collect();
        assert!(numbers.contains(&added_there), "{numbers:?}");
        assert!(numbers.len() > 1, "the demo's learners too: {numbers:?}");
        let mut awards = 0;
        for l in &learners {
            let record = node
                .run(&["learner", "show", l["id"].as_str().unwrap()])
                .ok()
                .clone();
            assert_eq!(record["profile"]["number"], l["number"]);
            for award in record["awards"].as_object().unwrap().keys() {
                let out = root.path().join(format!("{award}.json"));
                let credential = export_credential(node, award, &out);
                assert!(
                    credential["proof"]
                        .as_array()
                        .is_some_and(|p| !p.is_empty()),
                    "{credential}"
                );
                awards += 1;
            }
        }
        awards
    };
    // The hub's status advises the rebuild (an earlier release derived into its store).
    assert_eq!(hub.run(&["status"]).ok()["rebuild_advised"], true);
    for (node, added_there) in [(&hub, "DG-HUB-1"), (&rural, "DG-RURAL-1")] {
        node.run(&["check"]).ok();
        let awards = every_record_is_found(node, added_there);
        if node.dir == hub.dir {
            assert!(awards > 0, "the hub holds the demo's awards");
        }
        let derived = node.run(&["debug", "derived-digest"]).ok()["digest"].clone();
        node.run(&["rebuild"]).ok();
        assert_eq!(
            node.run(&["debug", "derived-digest"]).ok()["digest"],
            derived,
            "a rebuild derives what the open left"
        );
        node.run(&["check"]).ok();
        assert_eq!(every_record_is_found(node, added_there), awards);
        assert_eq!(node.run(&["status"]).ok()["rebuild_advised"], false);
    }
}
