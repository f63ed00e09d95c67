//! Short ids, through the binary: wherever a command names a node the hub knows, the whole id,
//! any unambiguous beginning of it (the 7 characters `status` prints, in any case, with or
//! without dashes) or, at the hub, the site's name will do; a beginning that fits several sites
//! is refused with the candidates listed, and changes nothing. Admitting a site, whose node the
//! hub does not know yet, takes the whole id.

use cairn_sync_protocol::NodeKey;
use cairn_tests::*;
use std::collections::HashMap;
use std::process::Command;

/// The short id `status` prints for the peer named `name`.
fn short_id_in_status(status: &str, name: &str) -> String {
    status
        .lines()
        .find_map(|l| {
            let rest = l.strip_prefix("Peer ")?;
            let (id, rest) = rest.split_once(' ')?;
            rest.starts_with(&format!("({name})"))
                .then(|| id.to_string())
        })
        .unwrap_or_else(|| panic!("status names no peer {name}:\n{status}"))
}

/// Two node ids that begin with the same characters: returns them and how many they share (at
/// least 5, so the shared beginning is long enough to be taken as a prefix).
fn twins() -> (String, String, usize) {
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(18);
    let mut seen: HashMap<String, String> = HashMap::new();
    loop {
        let id = NodeKey::generate(&mut rng).id().to_string();
        if let Some(other) = seen.insert(id[..5].to_string(), id.clone()) {
            let shared = id
                .chars()
                .zip(other.chars())
                .take_while(|(a, b)| a == b)
                .count();
            return (other, id, shared);
        }
    }
}

#[test]
fn prefixes_and_names_name_sites_and_ambiguity_lists_the_candidates() {
    let root = tempfile::tempdir().unwrap();
    let hub = new_hub(&root.path().join("hub"));
    let rural = new_site(
        &hub,
        &root.path().join("rural"),
        "Ellsworth Adult Education",
    );
    let facility = new_site(
        &hub,
        &root.path().join("facility"),
        "Southern Maine Women's Reentry Center",
    );
    // The catalog reaches the sites; a learner of the rural site reaches the hub.
    sync_through(&hub, &[&rural, &facility]);
    let f = distinct_file(root.path(), "ticket.pdf", 2_000, 1);
    let learner = learner_with_award(&rural, "EAE-7", "workready", &f);
    sync_through(&hub, &[&rural]);

    // `status` at the hub prints each site's 7-character id; that id is accepted back.
    let status = status_text(&hub);
    let rural_short = short_id_in_status(&status, "Ellsworth Adult Education");
    let facility_short = short_id_in_status(&status, "Southern Maine Women's Reentry Center");
    assert_eq!(rural_short.len(), 7, "{status}");
    assert!(node_id(&rural).starts_with(&rural_short));
    let bundle = root.path().join("for-rural.cairn");
    hub.run(&[
        "bundle",
        "export",
        "--for",
        &rural_short,
        "--out",
        bundle.to_str().unwrap(),
    ])
    .ok();
    // It was made for that site: the site imports it.
    rural
        .run(&["bundle", "import", bundle.to_str().unwrap()])
        .ok();

    // The site's name, in any case, is accepted at the hub.
    let by_name = root.path().join("for-facility.cairn");
    hub.run(&[
        "bundle",
        "export",
        "--for",
        "southern maine women's reentry center",
        "--out",
        by_name.to_str().unwrap(),
    ])
    .ok();
    facility
        .run(&["bundle", "import", by_name.to_str().unwrap()])
        .ok();

    // A beginning typed in lower case, with the dash, moves a learner.
    let facility_id = node_id(&facility);
    assert!(facility_id.starts_with(&facility_short));
    let typed = facility_id[..9].to_ascii_lowercase();
    assert!(typed.contains('-'));
    let moved = hub
        .run(&["learner", "transfer", "--learner", &learner, "--to", &typed])
        .ok()
        .clone();
    assert_eq!(
        hub.run(&["learner", "show", &learner]).ok()["home_site"],
        facility_id.as_str(),
        "{moved}"
    );

    // Two admitted sites whose ids begin alike.
    let (a, b, shared) = twins();
    for (id, name) in [(&a, "Twin Falls A"), (&b, "Twin Falls B")] {
        let out = root.path().join(format!("{name}.json"));
        hub.run(&[
            "site",
            "enroll",
            "--site-id",
            id,
            "--name",
            name,
            "--out",
            out.to_str().unwrap(),
        ])
        .ok();
    }
    let before = hub.run(&["site", "list"]).ok().clone();
    let ambiguous = &a[..shared.min(7)];
    for args in [
        vec!["site", "revoke", ambiguous],
        vec![
            "bundle",
            "export",
            "--for",
            ambiguous,
            "--out",
            root.path().join("never.cairn").to_str().unwrap(),
        ],
        vec![
            "learner",
            "transfer",
            "--learner",
            &learner,
            "--to",
            ambiguous,
        ],
    ] {
        let r = hub.run(&args);
        assert_eq!(r.code, 3, "{args:?}: {}", r.stderr);
        assert_eq!(r.error_kind(), "invalid", "{args:?}");
        for candidate in [&a, &b] {
            assert!(
                r.stderr.contains(candidate.as_str()),
                "{args:?}: the error lists {candidate}: {}",
                r.stderr
            );
        }
        assert!(r.stderr.contains("Twin Falls A") && r.stderr.contains("Twin Falls B"));
    }
    assert!(!root.path().join("never.cairn").exists());
    assert_eq!(hub.run(&["site", "list"]).ok(), &before, "nothing changed");

    // One more character tells them apart.
    let unique = &a[..shared + 1];
    assert_eq!(
        hub.run(&["site", "revoke", unique]).ok()["revoked"],
        a.as_str()
    );
    let sites = hub.run(&["site", "list"]).ok()["sites"].clone();
    let revoked = |id: &str| {
        sites
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["site"]["node"] == id)
            .map(|s| !s["site"]["revoked"].is_null())
            .unwrap()
    };
    assert!(revoked(&a) && !revoked(&b), "{sites}");

    // Too short to be a prefix, and no site of that name: not found, with what to give.
    let r = hub.run(&["site", "revoke", &b[..3]]);
    assert_eq!(r.code, 3);
    assert!(
        r.stderr.contains("at least the first 4 characters"),
        "{}",
        r.stderr
    );

    // Admitting takes the whole id: the hub cannot look up a node it does not know yet.
    let newcomer = NodeKey::generate(&mut rand::rngs::OsRng).id().to_string();
    let r = hub.run(&[
        "site",
        "enroll",
        "--site-id",
        &newcomer[..7],
        "--name",
        "Newcomer",
        "--out",
        root.path().join("newcomer.json").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("all 56 characters"), "{}", r.stderr);
    let help = Command::new(bin())
        .args(["site", "enroll", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    let words = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("all 56 characters"), "{help}");
}
