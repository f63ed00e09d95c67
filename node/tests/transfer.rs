//! Moving a learner between sites (`learners::transfer`, at the hub): the transfer record must
//! carry the learner's whole document, because the new site holds the hub's earlier entries
//! about the learner elided and is never sent them again.

mod common;

use cairn_node::config::NodeRole;
use cairn_node::domain::{catalog, learners, lifecycle, people};
use cairn_node::node::Node;
use cairn_node::sync::provision;
use std::path::Path;

fn site_admitted_by(hub: &Node, op: &people::Actor, dir: &Path, name: &str) -> String {
    let site = Node::init(dir, NodeRole::Site, name, None).unwrap();
    provision::enroll_site(hub, op, site.id(), name, None).unwrap();
    site.id().to_string()
}

fn home(hub: &Node, learner: &str) -> String {
    let doc = learners::find(hub, learner).unwrap();
    learners::record(hub, &doc).unwrap().home_site
}

/// Text that compresses about as little as a person's writing does: words of pseudo-random
/// letters, in paragraphs.
fn narrative(seed: u64, chars: usize) -> String {
    let mut x = seed;
    let mut out = String::with_capacity(chars);
    for _ in 0..chars {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let r = x >> 33;
        out.push(match r % 7 {
            0 if r.is_multiple_of(300) => '\n',
            0 => ' ',
            _ => (b'a' + (r % 26) as u8) as char,
        });
    }
    format!("w{}w", out.trim())
}

#[test]
fn a_record_too_large_for_one_transfer_is_refused_and_the_learner_stays_where_they_are() {
    let root = tempfile::tempdir().unwrap();
    let (hub, op) = common::hub_with_staff(&root.path().join("hub"), &people::Role::ALL);
    catalog::add_achievement(
        &hub,
        &op,
        catalog::Achievement {
            id: "css-level-1".into(),
            name: "Computer Support Specialist, Level 1".into(),
            description: "Supports users of a small office's computers.".into(),
            criteria: "Resolves a help-desk ticket end to end and documents it".into(),
            ..Default::default()
        },
    )
    .unwrap();
    let to = site_admitted_by(
        &hub,
        &op,
        &root.path().join("site"),
        "Ellsworth Adult Education",
    );

    let small = learners::add(
        &hub,
        &op,
        learners::Profile {
            number: "R-1".into(),
            given_name: "Ada".into(),
            family_name: "Small".into(),
            ..Default::default()
        },
        None,
    )
    .unwrap()
    .id;
    let large = learners::add(
        &hub,
        &op,
        learners::Profile {
            number: "R-2".into(),
            given_name: "Bo".into(),
            family_name: "Large".into(),
            ..Default::default()
        },
        None,
    )
    .unwrap()
    .id;
    let enrollment = lifecycle::enroll(&hub, &op, &large, "css-level-1", false)
        .unwrap()
        .id;
    // Years of written evidence: more than one entry's payload once saved.
    for i in 0..130 {
        lifecycle::submit_evidence(
            &hub,
            &op,
            &enrollment,
            Some(&narrative(i, lifecycle::MAX_TEXT - 100)),
            &[],
        )
        .unwrap();
    }
    let doc = learners::find(&hub, &large).unwrap();
    let saved = hub.store.doc(&doc).unwrap().unwrap().save().len();
    assert!(
        saved > cairn_sync_protocol::limits::MAX_PAYLOAD,
        "the record saves to {saved} bytes"
    );
    let entries_before = hub.store.vector().unwrap().total();
    let home_before = home(&hub, &large);

    let to_id: cairn_sync_protocol::NodeId = to.parse().unwrap();
    let refused = learners::transfer(&hub, &op, &large, to_id).unwrap_err();
    assert_eq!(
        refused.code().map(|c| c.key),
        Some("transfer-too-large"),
        "{refused}"
    );
    assert!(refused.to_string().contains("stays"), "{refused}");
    // Nothing was written: not the new home, not a record without the history.
    assert_eq!(hub.store.vector().unwrap().total(), entries_before);
    assert_eq!(home(&hub, &large), home_before);

    // A record that fits moves: the new home and the record that carries the document are
    // two consecutive entries of the hub's feed, written together.
    let moved = learners::transfer(&hub, &op, &small, to_id).unwrap();
    assert_eq!(moved.to, to);
    assert_eq!(home(&hub, &small), to);
    assert_eq!(hub.store.vector().unwrap().total(), entries_before + 2);
    let small_doc = learners::find(&hub, &small).unwrap();
    let listed = hub.store.doc_entries(&small_doc).unwrap();
    let last_two: Vec<u8> = listed[listed.len() - 2..].iter().map(|e| e.2).collect();
    assert_eq!(
        last_two,
        [b'c', b'k'], // a change, then a control record (`Store::doc_entries`)
        "{listed:?}"
    );
    assert_eq!(listed[listed.len() - 1].1, listed[listed.len() - 2].1 + 1);
    // What the hub derived from the two is what a rebuild from its log derives.
    let derived = learners::record(&hub, &small_doc).unwrap();
    hub.store.rebuild().unwrap();
    assert_eq!(learners::record(&hub, &small_doc).unwrap(), derived);
    assert_eq!(home(&hub, &large), home_before);
}

/// The child side of the next test: move learner `L` back and forth between the two sites until
/// killed, saying `ready` once the hub is open.
fn move_until_killed(dir: &Path) {
    let hub = Node::open(dir).unwrap();
    let op = cairn_node::signin::staff_once(&hub, "op", "135790").unwrap();
    let learner = std::env::var("CAIRN_TEST_LEARNER").unwrap();
    let sites: Vec<cairn_sync_protocol::NodeId> = std::env::var("CAIRN_TEST_SITES")
        .unwrap()
        .split(',')
        .map(|s| s.parse().unwrap())
        .collect();
    println!("ready");
    for i in 0..100_000 {
        learners::transfer(&hub, &op, &learner, sites[i % 2]).unwrap();
    }
}

/// The learner's home, and the destination of the newest transfer record the hub wrote about
/// them (`None` if it wrote none).
fn home_and_last_record(hub: &Node, learner: &str) -> (String, Option<String>) {
    let doc = learners::find(hub, learner).unwrap();
    let mut last = None;
    for (origin, seq, kind) in hub.store.doc_entries(&doc).unwrap() {
        if kind != b'k' || origin.node != hub.id() {
            continue;
        }
        let Some(cairn_sync_protocol::FeedItem::Entry(e)) =
            hub.store.item_covering(&origin, seq).unwrap()
        else {
            panic!("the hub's own record {seq} is not whole");
        };
        if let Ok(cairn_node::payload::ControlRecord::LearnerTransferred { to, .. }) =
            cairn_node::payload::decode(&e.entry.body.data, "a control record")
        {
            last = Some((seq, to.to_string()));
        }
    }
    (home(hub, learner), last.map(|(_, to)| to))
}

/// A hub killed at any moment of a transfer keeps the learner's home and the record that
/// carries their history together: the home is always where the newest record sent them.
/// (With the two written one after the other, a kill between them left the home moved with no
/// record, and the new site with no history.)
#[test]
fn a_hub_killed_while_moving_a_learner_never_moves_the_home_without_the_record() {
    if let Ok(dir) = std::env::var("CAIRN_TEST_HUB") {
        move_until_killed(Path::new(&dir));
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("hub");
    let (learner, sites) = {
        let (hub, op) = common::hub_with_staff(&dir, &[people::Role::Admin]);
        let a = site_admitted_by(&hub, &op, &root.path().join("a"), "Site A");
        let b = site_admitted_by(&hub, &op, &root.path().join("b"), "Site B");
        let profile = learners::Profile {
            number: "R-1".into(),
            given_name: "Ada".into(),
            family_name: "Moved".into(),
            ..Default::default()
        };
        let learner = learners::add(&hub, &op, profile, None).unwrap().id;
        (learner, format!("{a},{b}"))
    };
    let started = std::time::Instant::now();
    let mut moved_between_kills = 0;
    for cycle in 0..40u64 {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "a_hub_killed_while_moving_a_learner_never_moves_the_home_without_the_record",
                "--nocapture",
            ])
            .env("CAIRN_TEST_HUB", &dir)
            .env("CAIRN_TEST_LEARNER", &learner)
            .env("CAIRN_TEST_SITES", &sites)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while !line.contains("ready") {
            line.clear();
            let n = std::io::BufRead::read_line(&mut out, &mut line).unwrap();
            assert!(n > 0, "cycle {cycle}: the hub did not open");
        }
        // A few transfers in, at a moment that differs every cycle.
        std::thread::sleep(std::time::Duration::from_micros(
            5_000 + (cycle * 7919) % 25_000,
        ));
        child.kill().unwrap();
        child.wait().unwrap();
        let hub = Node::open(&dir).unwrap();
        let (home, record) = home_and_last_record(&hub, &learner);
        if record.is_some() {
            moved_between_kills += 1;
        }
        assert_eq!(
            Some(&home),
            record.as_ref().or(Some(&hub.id().to_string())),
            "cycle {cycle}: the learner's home moved without the record that carries them"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(300));
    }
    assert!(moved_between_kills > 0, "no transfer was ever made");
}
