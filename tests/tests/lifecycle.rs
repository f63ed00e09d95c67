//! The whole credential lifecycle through the `cairn` command line, as a site's staff would run
//! it, and every kind of bad input refused with a clear error and nothing stored lost.

use cairn_tests::*;
use serde_json::Value;

/// A site with an admin who also holds the other staff roles, the CSS pathway and one learner.
fn site(dir: &std::path::Path) -> Cairn {
    let c = Cairn::new(dir);
    let init = c.run(&[
        "init",
        "--role",
        "site",
        "--name",
        "Ellsworth Adult Education",
        "--institution",
        "Ellsworth Adult Education",
    ]);
    assert!(init.ok()["id"].as_str().unwrap().len() == 63);
    c.run(&[
        "user", "add", "--name", "ada", "--role", "admin", "--pin", "246800",
    ])
    .ok();
    let c = c.acting_as("ada", "246800");
    c.run(&[
        "user", "add", "--name", "asa", "--role", "assessor", "--pin", "135700",
    ])
    .ok();
    c.run(&[
        "user",
        "add",
        "--name",
        "ivy",
        "--role",
        "issuer",
        "--password",
        "correct horse",
    ])
    .ok();
    c.run(&[
        "user",
        "add",
        "--name",
        "dev",
        "--role",
        "developer",
        "--pin",
        "9999",
    ])
    .ok();
    // A site may author the catalog only when configured to; this site is.
    let cfg = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    std::fs::write(
        dir.join("config.toml"),
        cfg.replace(
            "allow_site_authoring = false",
            "allow_site_authoring = true",
        ),
    )
    .unwrap();
    let dev = [("CAIRN_AS", "dev"), ("CAIRN_SECRET", "9999")];
    for level in 1..=3 {
        let id = format!("css-level-{level}");
        let name = format!("Computer Support Specialist Level {level}");
        c.run_as(
            &dev,
            &[
                "catalog",
                "add",
                "achievement",
                "--id",
                &id,
                "--name",
                &name,
                "--description",
                "Supports computer users",
                "--level",
                &level.to_string(),
                "--criteria",
                "Resolves a help-desk ticket end to end",
                "--skill",
                "Troubleshooting|O*NET|15-1232.00",
            ],
        )
        .ok();
    }
    c.run_as(
        &dev,
        &[
            "catalog",
            "add",
            "pathway",
            "--id",
            "css",
            "--name",
            "Computer Support Specialist",
            "--description",
            "Levels 1-3",
            "--part",
            "css-level-1",
            "--part",
            "css-level-2",
            "--part",
            "css-level-3",
        ],
    )
    .ok();
    c.run_as(
        &dev,
        &[
            "catalog",
            "add",
            "recognition",
            "--id",
            "css-as-cis",
            "--for",
            "css",
            "--recognizer",
            "University of Maine System",
            "--description",
            "9 college credits toward AS Computer Information Systems",
            "--credits",
            "9",
        ],
    )
    .ok();
    c.run(&[
        "learner",
        "add",
        "--number",
        "EAE-0007",
        "--given-name",
        "Rosa",
        "--family-name",
        "Díaz",
        "--pin",
        "4321",
        "--year-of-birth",
        "1991",
        "--gender",
        "female",
        "--race-ethnicity",
        "hispanic-latino",
        "--primary-language",
        "Spanish",
        "--pell-eligible",
        "yes",
        "--enrollment-status",
        "short-term-training",
        "--first-generation",
        "yes",
        "--first-enrollment",
        "2026-09-01",
    ])
    .ok();
    c
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

const LEARNER: [(&str, &str); 2] = [("CAIRN_AS_LEARNER", "EAE-0007"), ("CAIRN_SECRET", "4321")];
const ASSESSOR: [(&str, &str); 2] = [("CAIRN_AS", "asa"), ("CAIRN_SECRET", "135700")];
const ISSUER: [(&str, &str); 2] = [("CAIRN_AS", "ivy"), ("CAIRN_SECRET", "correct horse")];

#[test]
fn a_learner_completes_a_levels_1_to_3_pathway_and_earns_the_micro_credential() {
    let dir = tempfile::tempdir().unwrap();
    let c = site(dir.path());
    let evidence = dir.path().join("ticket-log.txt");
    std::fs::write(
        &evidence,
        "Replaced a failed power supply; documented the ticket.",
    )
    .unwrap();
    let mut awards = Vec::new();
    for level in 1..=3 {
        let achievement = format!("css-level-{level}");
        let e = c
            .run(&[
                "enroll",
                "--learner",
                "EAE-0007",
                "--achievement",
                &achievement,
            ])
            .ok()
            .clone();
        // First try: not yet.
        let v1 = c
            .run_as(
                &LEARNER,
                &[
                    "evidence",
                    "submit",
                    "--enrollment",
                    &id(&e),
                    "--narrative",
                    "First attempt",
                ],
            )
            .ok()
            .clone();
        c.run_as(
            &ASSESSOR,
            &[
                "assess",
                "--evidence",
                &id(&v1),
                "--decision",
                "not-yet",
                "--feedback",
                "Add the ticket log",
            ],
        )
        .ok();
        let refused = c.run_as(&ISSUER, &["award", "--enrollment", &id(&e)]);
        assert_eq!(
            (refused.code, refused.error_kind()),
            (3, "rule"),
            "{}",
            refused.stderr
        );
        // Second try, with a file: proficient, then awarded.
        let v2 = c
            .run_as(
                &LEARNER,
                &[
                    "evidence",
                    "submit",
                    "--enrollment",
                    &id(&e),
                    "--narrative",
                    "With the ticket log",
                    "--file",
                    evidence.to_str().unwrap(),
                ],
            )
            .ok()
            .clone();
        assert_eq!(
            v2["files"][0]["size"],
            std::fs::metadata(&evidence).unwrap().len()
        );
        c.run_as(
            &ASSESSOR,
            &["assess", "--evidence", &id(&v2), "--decision", "proficient"],
        )
        .ok();
        let a = c.run_as(&ISSUER, &["award", "--enrollment", &id(&e)]).ok()["awards"]
            .as_array()
            .unwrap()
            .clone();
        awards.extend(a);
    }
    // Three badges and, with the third, the micro-credential naming its parts and the
    // recognition of it.
    assert_eq!(awards.len(), 5, "{awards:?}");
    let micro = awards
        .iter()
        .find(|a| a["kind"] == "pathway")
        .expect("micro-credential");
    assert_eq!(micro["name"], "Computer Support Specialist");
    let parts: Vec<&str> = micro["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    let badges: Vec<&str> = awards
        .iter()
        .filter(|a| a["kind"] == "achievement")
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(parts, badges);
    // The learner sees it all on their own record, attempts included.
    let record = c
        .run_as(&LEARNER, &["learner", "show", "EAE-0007"])
        .ok()
        .clone();
    assert_eq!(record["awards"].as_object().unwrap().len(), 5);
    for e in record["enrollments"].as_object().unwrap().values() {
        assert_eq!(
            (e["status"].as_str(), e["attempts"].as_i64()),
            (Some("completed"), Some(2))
        );
    }
    assert_eq!(record["profile"]["race_ethnicity"][0], "hispanic-latino");
    assert_eq!(record["profile"]["pell_eligible"], true);
    // The evidence file comes back byte for byte.
    let sha = record["evidence"]
        .as_object()
        .unwrap()
        .values()
        .find_map(|v| v["files"][0]["sha256"].as_str())
        .unwrap()
        .to_string();
    let out = dir.path().join("copy.txt");
    c.run(&["evidence", "file", &sha, "--out", out.to_str().unwrap()])
        .ok();
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(&evidence).unwrap()
    );
    // Every entry records the acting user and the node; the whole log verifies.
    let check = c.run(&["check"]).ok().clone();
    assert!(check["problems"].as_array().unwrap().is_empty());
    assert!(check["entries"].as_u64().unwrap() > 20);
    // Derived state is rebuildable: the same documents come back from the log alone.
    let before = c.snapshot();
    let rebuilt = c.run(&["rebuild"]).ok().clone();
    assert_eq!(rebuilt["entries"], check["entries"]);
    assert_eq!(c.snapshot(), before);
    c.run(&["check"]).ok();
}

#[test]
fn bad_inputs_are_refused_clearly_and_leave_stored_data_intact() {
    let dir = tempfile::tempdir().unwrap();
    let c = site(dir.path());
    let e = c
        .run(&[
            "enroll",
            "--learner",
            "EAE-0007",
            "--achievement",
            "css-level-1",
        ])
        .ok()
        .clone();
    let before = c.snapshot();

    type Env<'a> = Vec<(&'a str, &'a str)>;
    let cases: Vec<(&str, Env, Vec<String>, i32, &str)> = vec![
        (
            "unknown learner",
            vec![],
            vec![
                "enroll".into(),
                "--learner".into(),
                "NOPE-1".into(),
                "--achievement".into(),
                "css-level-1".into(),
            ],
            3,
            "not-found",
        ),
        (
            "unknown achievement",
            vec![],
            vec![
                "enroll".into(),
                "--learner".into(),
                "EAE-0007".into(),
                "--achievement".into(),
                "welding".into(),
            ],
            3,
            "not-found",
        ),
        (
            "unknown evidence",
            vec![ASSESSOR[0], ASSESSOR[1]],
            vec![
                "assess".into(),
                "--evidence".into(),
                "V-AAAAAAAAAAAAA".into(),
                "--decision".into(),
                "proficient".into(),
            ],
            3,
            "not-found",
        ),
        (
            "unknown enrollment",
            vec![ISSUER[0], ISSUER[1]],
            vec![
                "award".into(),
                "--enrollment".into(),
                "E-AAAAAAAAAAAAA".into(),
            ],
            3,
            "not-found",
        ),
        (
            "wrong role: assessor awarding",
            vec![ASSESSOR[0], ASSESSOR[1]],
            vec!["award".into(), "--enrollment".into(), id(&e)],
            3,
            "unauthorized",
        ),
        (
            "wrong role: issuer enrolling",
            vec![ISSUER[0], ISSUER[1]],
            vec![
                "enroll".into(),
                "--learner".into(),
                "EAE-0007".into(),
                "--achievement".into(),
                "css-level-2".into(),
            ],
            3,
            "unauthorized",
        ),
        (
            "wrong PIN",
            vec![("CAIRN_AS", "asa"), ("CAIRN_SECRET", "0000")],
            vec!["learner".into(), "list".into()],
            3,
            "unauthorized",
        ),
        (
            "wrong learner PIN",
            vec![("CAIRN_AS_LEARNER", "EAE-0007"), ("CAIRN_SECRET", "1111")],
            vec!["learner".into(), "show".into(), "EAE-0007".into()],
            3,
            "unauthorized",
        ),
        (
            "award before any assessment",
            vec![ISSUER[0], ISSUER[1]],
            vec!["award".into(), "--enrollment".into(), id(&e)],
            3,
            "rule",
        ),
        (
            "duplicate enrollment",
            vec![],
            vec![
                "enroll".into(),
                "--learner".into(),
                "EAE-0007".into(),
                "--achievement".into(),
                "css-level-1".into(),
            ],
            3,
            "duplicate",
        ),
        (
            "duplicate learner number",
            vec![],
            vec![
                "learner".into(),
                "add".into(),
                "--number".into(),
                "EAE-0007".into(),
                "--given-name".into(),
                "X".into(),
                "--family-name".into(),
                "Y".into(),
            ],
            3,
            "duplicate",
        ),
        (
            "evidence with nothing in it",
            vec![],
            vec![
                "evidence".into(),
                "submit".into(),
                "--enrollment".into(),
                id(&e),
            ],
            3,
            "invalid",
        ),
        (
            "a missing file",
            vec![],
            vec![
                "evidence".into(),
                "submit".into(),
                "--enrollment".into(),
                id(&e),
                "--file".into(),
                "/nonexistent/x.pdf".into(),
            ],
            3,
            "invalid",
        ),
        (
            "an implausible year of birth",
            vec![],
            vec![
                "learner".into(),
                "add".into(),
                "--number".into(),
                "N2".into(),
                "--given-name".into(),
                "X".into(),
                "--family-name".into(),
                "Y".into(),
                "--year-of-birth".into(),
                "1066".into(),
            ],
            3,
            "invalid",
        ),
        (
            "a bad date",
            vec![],
            vec![
                "learner".into(),
                "add".into(),
                "--number".into(),
                "N3".into(),
                "--given-name".into(),
                "X".into(),
                "--family-name".into(),
                "Y".into(),
                "--first-enrollment".into(),
                "last tuesday".into(),
            ],
            3,
            "invalid",
        ),
        (
            "a site without authoring rights... (admin lacks developer)",
            vec![],
            vec![
                "catalog".into(),
                "add".into(),
                "recognition".into(),
                "--id".into(),
                "r2".into(),
                "--for".into(),
                "css".into(),
                "--recognizer".into(),
                "X".into(),
                "--description".into(),
                "Y".into(),
            ],
            3,
            "unauthorized",
        ),
        (
            "a learner viewing the list",
            vec![LEARNER[0], LEARNER[1]],
            vec!["learner".into(), "list".into()],
            3,
            "unauthorized",
        ),
    ];
    for (what, env, args, code, kind) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = if env.is_empty() {
            c.run(&args)
        } else {
            c.run_as(env, &args)
        };
        assert_eq!(
            (r.code, r.error_kind()),
            (*code, *kind),
            "{what}: {}\n{}",
            r.stderr,
            r.stdout
        );
        assert!(
            r.stderr.starts_with("error: ") && r.stderr.len() > 20,
            "{what}: unclear message {:?}",
            r.stderr
        );
        assert!(!r.stderr.contains("panicked"), "{what}");
    }
    // An oversized evidence file (64 MiB + 1 byte, sparse so the test stays cheap).
    let big = dir.path().join("video.mp4");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(64 * 1024 * 1024 + 1)
        .unwrap();
    let r = c.run(&[
        "evidence",
        "submit",
        "--enrollment",
        &id(&e),
        "--file",
        big.to_str().unwrap(),
        "--narrative",
        "x",
    ]);
    assert_eq!((r.code, r.error_kind()), (3, "invalid"), "{}", r.stderr);
    assert!(r.stderr.contains("64 MiB"), "{}", r.stderr);
    // A learner cannot see another learner's record.
    c.run(&[
        "learner",
        "add",
        "--number",
        "EAE-0008",
        "--given-name",
        "Sam",
        "--family-name",
        "Lee",
        "--pin",
        "8888",
    ])
    .ok();
    let before = {
        let (s, mut r) = before;
        r.push(c.run(&["learner", "show", "EAE-0008"]).ok().clone());
        let mut s = s;
        s["entries"] = c.run(&["status"]).ok()["entries"].clone();
        s["learners"] = 2.into();
        s["feeds"] = c.run(&["status"]).ok()["feeds"].clone();
        (s, r)
    };
    let r = c.run_as(&LEARNER, &["learner", "show", "EAE-0008"]);
    assert_eq!((r.code, r.error_kind()), (3, "unauthorized"));
    // Usage errors exit 2.
    let r = c.run(&["assess", "--evidence", "V-X", "--decision", "maybe"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = c.run(&["enroll"]);
    assert_eq!(r.code, 2);
    // Nothing stored changed, and the log still verifies.
    assert_eq!(c.snapshot(), before);
    c.run(&["check"]).ok();
}

#[test]
fn a_damaged_store_or_config_is_reported_without_making_things_worse() {
    let dir = tempfile::tempdir().unwrap();
    let c = site(dir.path());
    // Damage sled's data file: the node refuses to open it (exit 4), says what to do, and leaves
    // the file exactly as it found it.
    let db = dir.path().join("store").join("db");
    let mut bytes = std::fs::read(&db).unwrap();
    // sled preallocates; damage the bytes that hold data, not the zero-filled tail.
    let used: Vec<usize> = (0..bytes.len()).filter(|&i| bytes[i] != 0).collect();
    assert!(used.len() > 1000, "the store should hold data");
    for i in used.iter().step_by(used.len() / 20) {
        bytes[*i] ^= 0xA5;
    }
    std::fs::write(&db, &bytes).unwrap();
    let r = c.run(&["check"]);
    assert_eq!(r.code, 4, "{}\n{}", r.stderr, r.stdout);
    assert_eq!(r.error_kind(), "storage");
    assert!(
        r.stderr.contains("damaged") || r.stderr.contains("corrupt"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("panicked"));
    assert_eq!(
        std::fs::read(&db).unwrap(),
        bytes,
        "a failed open must not modify the store"
    );
    // A mangled config file and a mangled key are reported as storage problems too.
    let other = tempfile::tempdir().unwrap();
    let c2 = Cairn::new(other.path());
    c2.run(&["init", "--role", "site", "--name", "X"]).ok();
    std::fs::write(other.path().join("config.toml"), "role = \"moon\"").unwrap();
    let r = c2.run(&["status"]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    let third = tempfile::tempdir().unwrap();
    let c3 = Cairn::new(third.path());
    c3.run(&["init", "--role", "site", "--name", "X"]).ok();
    std::fs::write(third.path().join("node.key"), "not a key").unwrap();
    assert_eq!(c3.run(&["id"]).code, 4);
    // Not a node at all: a usage error that says how to make one.
    let empty = tempfile::tempdir().unwrap();
    let r = Cairn::new(empty.path()).run(&["status"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("cairn init"), "{}", r.stderr);
}

/// Sync two node folders in-process through the protocol session.
fn sync_folders(a: &std::path::Path, b: &std::path::Path) {
    use cairn_node::store::SyncStore;
    use cairn_sync_protocol::{Everything, Session, SessionConfig};
    let (na, nb) = (
        cairn_node::node::Node::open(a).unwrap(),
        cairn_node::node::Node::open(b).unwrap(),
    );
    let (mut xa, mut xb) = (SyncStore::new(&na.store), SyncStore::new(&nb.store));
    let mut sa = Session::new(SessionConfig::default(), na.id());
    let mut sb = Session::new(SessionConfig::default(), nb.id());
    sa.start(&xa, 0).unwrap();
    sb.start(&xb, 0).unwrap();
    for _ in 0..100 {
        while let Some(f) = sa.poll_transmit(&xa, &Everything).unwrap() {
            sb.receive(&f, &mut xb).unwrap();
        }
        while let Some(f) = sb.poll_transmit(&xb, &Everything).unwrap() {
            sa.receive(&f, &mut xa).unwrap();
        }
        if sa.is_finished() && sb.is_finished() {
            return;
        }
    }
    panic!("sync did not finish");
}

fn set_language(dir: &std::path::Path, value: &str) {
    use automerge::{Prop, ROOT};
    let node = cairn_node::node::Node::open(dir).unwrap();
    let doc = cairn_node::domain::learners::find(&node, "EAE-0007").unwrap();
    node.store
        .change_doc(
            &node.author(Default::default()).unwrap(),
            doc,
            "edit",
            |tx| {
                let profile = cairn_node::records::am::ensure_map(tx, &ROOT, "profile")?;
                cairn_node::records::am::write(
                    tx,
                    &profile,
                    Prop::Map("primary_language".into()),
                    &serde_json::json!(value),
                )
            },
        )
        .unwrap();
}

#[test]
fn concurrent_values_show_as_conflicts_and_nothing_is_dropped() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = site(da.path());
    assert_eq!(
        a.run(&["conflicts"]).ok()["documents"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let hub = Cairn::new(db.path());
    hub.run(&["init", "--role", "hub", "--name", "Hub"]).ok();
    hub.run(&[
        "user", "add", "--name", "op", "--role", "admin", "--pin", "111111",
    ])
    .ok();
    sync_folders(da.path(), db.path());
    // The site and the hub correct the learner's language at the same time, offline.
    set_language(da.path(), "Spanish (Caribbean)");
    set_language(db.path(), "Spanish; English");
    sync_folders(da.path(), db.path());
    // Concurrent values name learners: only an admin sees them.
    let refused = Cairn::new(db.path()).run(&["conflicts"]);
    assert_eq!(refused.error_kind(), "unauthorized");
    for who in [a.clone(), hub.clone().acting_as("op", "111111")] {
        let r = who.run(&["conflicts"]).ok().clone();
        let docs = r["documents"].as_array().unwrap();
        assert_eq!(docs.len(), 1, "{r}");
        let c = &docs[0]["conflicts"][0];
        assert_eq!(
            c["path"],
            serde_json::json!(["profile", "primary_language"])
        );
        let mut values: Vec<&str> = c["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        values.sort();
        assert_eq!(values, ["Spanish (Caribbean)", "Spanish; English"]);
    }
    // Text output names the learner and both values.
    let out = std::process::Command::new(bin())
        .args(["--data", da.path().to_str().unwrap(), "conflicts"])
        .env("CAIRN_AS", &a.acting[0].1)
        .env("CAIRN_SECRET", &a.acting[1].1)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("profile.primary_language")
            && text.contains("Spanish (Caribbean)")
            && text.contains("Spanish; English"),
        "{text}"
    );
}
