//! What a local user, a staff member at the command line, or a forged file can reach (issue 14):
//! file modes of the data folder, secrets kept out of `ps`, terminal escapes in printed text,
//! limits and control characters in what people type, who may read evidence files, the printed
//! certificate's embedded credential, and the audit trail of sign-in failures.

use cairn_tests::http;
use cairn_tests::*;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Every file and folder under `dir` (and `dir` itself) that others than the owner may read.
fn readable_by_others(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        if mode(&p) & 0o077 != 0 {
            out.push(format!("{} {:o}", p.display(), mode(&p)));
        }
        if p.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                stack.push(e.unwrap().path());
            }
        }
    }
    out
}

#[test]
fn the_data_folder_and_everything_in_it_is_private_to_the_service_user() {
    let root = tempfile::tempdir().unwrap();
    let hub = new_hub(&root.path().join("hub"));
    let site = new_site(&hub, &root.path().join("site"), "Lab");
    sync_through(&hub, &[&site]);
    let f = distinct_file(root.path(), "log.txt", 1000, 1);
    learner_with_award(&site, "M-1", "workready", &f);
    let backup = root.path().join("backup");
    site.run(&["backup", "--out", backup.to_str().unwrap()])
        .ok();
    for dir in [&hub.dir, &site.dir, &backup] {
        assert_eq!(mode(dir), 0o700, "{}", dir.display());
        let open = readable_by_others(dir);
        assert!(open.is_empty(), "readable by other users: {open:#?}");
    }
    // A folder made by an older release (world-readable) is closed the next time it is opened.
    std::fs::set_permissions(&site.dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    site.run(&["status"]).ok();
    assert_eq!(mode(&site.dir), 0o700);
}

#[test]
fn a_new_secret_can_be_given_without_it_showing_in_ps() {
    let root = tempfile::tempdir().unwrap();
    let hub = new_hub(&root.path().join("hub"));
    // From standard input (a script or a pipe)...
    let mut child = hub
        .command()
        .args(["user", "add", "--name", "ivy", "--role", "issuer"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"482916\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // ...or from the environment.
    let r = hub.run_as(
        &[
            ("CAIRN_AS", "op"),
            ("CAIRN_SECRET", &hub.acting[1].1),
            ("CAIRN_NEW_SECRET", "a long pass phrase"),
        ],
        &["user", "add", "--name", "ann", "--role", "assessor"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    for (who, secret) in [("ivy", "482916"), ("ann", "a long pass phrase")] {
        let r = hub.run_as(
            &[("CAIRN_AS", who), ("CAIRN_SECRET", secret)],
            &["catalog", "list"],
        );
        assert_eq!(r.code, 0, "{who}: {}", r.stderr);
    }
}

#[test]
fn staff_who_can_award_need_more_than_four_digits() {
    let root = tempfile::tempdir().unwrap();
    let hub = new_hub(&root.path().join("hub"));
    for role in ["admin", "issuer", "assessor"] {
        let r = hub.run(&[
            "user", "add", "--name", role, "--role", role, "--pin", "1234",
        ]);
        assert_eq!(r.code, 3, "{role} with a 4-digit PIN: {}", r.stdout);
        assert!(
            r.stderr.contains("6"),
            "the message names the rule: {}",
            r.stderr
        );
    }
    hub.run(&[
        "user",
        "add",
        "--name",
        "dev",
        "--role",
        "developer",
        "--pin",
        "123456",
    ])
    .ok();
}

#[test]
fn text_with_terminal_escapes_or_without_limits_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let hub = new_hub(&root.path().join("hub"));
    let esc = "Forklift \u{1b}[2J\u{1b}[31mSafety";
    let r = hub.run(&[
        "catalog",
        "add",
        "achievement",
        "--id",
        "fork",
        "--name",
        esc,
        "--description",
        "d",
        "--criteria",
        "c",
    ]);
    assert_eq!(r.code, 3, "{}", r.stdout);
    let site = Cairn::new(&root.path().join("site"));
    site.run(&["init", "--role", "site", "--name", "Lab"]).ok();
    site.run(&[
        "user", "add", "--name", "ada", "--role", "admin", "--pin", "246810",
    ])
    .ok();
    let site = site.acting_as("ada", "246810");
    let id = node_id(&site);
    let r = hub.run(&[
        "site",
        "enroll",
        "--site-id",
        &id,
        "--name",
        "Lab\u{1b}]0;owned\u{7}",
        "--out",
        root.path().join("p.json").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 3, "a site name with an escape: {}", r.stdout);
    let long = "x".repeat(5000);
    for (flag, value) in [
        ("--institution", esc),
        ("--institution-id", esc),
        ("--primary-language", esc),
        ("--ses-determination", esc),
        ("--institution", long.as_str()),
        ("--institution-id", long.as_str()),
        ("--primary-language", long.as_str()),
        ("--ses-determination", long.as_str()),
    ] {
        let r = site.run(&[
            "learner",
            "add",
            "--number",
            "E-1",
            "--given-name",
            "E",
            "--family-name",
            "E",
            flag,
            value,
        ]);
        assert_eq!(
            r.code,
            3,
            "{flag} {:?}: {}",
            &value[..10.min(value.len())],
            r.stdout
        );
    }
    assert!(
        site.run(&["learner", "list"]).ok()["learners"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_forged_credential_cannot_paint_on_the_terminal() {
    let root = tempfile::tempdir().unwrap();
    let forged = root.path().join("forged.json");
    let paint = "\u{1b}[2K\r\u{1b}[32mVALID: Certified Welder (OpenBadgeCredential)\n  issued by";
    std::fs::write(
        &forged,
        serde_json::json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "id": "urn:uuid:1",
            "name": paint,
            "issuer": {"id": "did:key:z6Mkx", "type": ["Profile"], "name": paint},
            "validFrom": "2026-01-01T00:00:00Z",
            "credentialSubject": {"type": ["AchievementSubject"], "achievement": {"name": paint}},
        })
        .to_string(),
    )
    .unwrap();
    let out = std::process::Command::new(bin())
        .args(["credential", "verify", forged.to_str().unwrap()])
        .env_remove("CAIRN_DATA")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        !text.contains('\u{1b}') && !text.contains('\r'),
        "escape characters reached the terminal: {text:?}"
    );
    assert!(
        !text.lines().any(|l| l.trim_start().starts_with("VALID")),
        "a line reads VALID: {text}"
    );
}

#[test]
fn only_assessors_and_admins_read_evidence_files_and_certificates_survive_odd_file_names() {
    let root = tempfile::tempdir().unwrap();
    let hub = new_hub(&root.path().join("hub"));
    let site = new_site(&hub, &root.path().join("site"), "Lab");
    sync_through(&hub, &[&site]);
    let odd = root.path().join("<!--<script>");
    std::fs::write(&odd, "evidence").unwrap();
    let learner = learner_with_award(&site, "M-1", "workready", &odd);
    let record = site.run(&["learner", "show", &learner]).ok().clone();
    let sha = first_evidence_sha(&record);
    site.run(&[
        "user",
        "add",
        "--name",
        "dev",
        "--role",
        "developer",
        "--pin",
        "135790",
    ])
    .ok();
    let out = root.path().join("copy");
    let r = site.run_as(
        &[("CAIRN_AS", "dev"), ("CAIRN_SECRET", "135790")],
        &["evidence", "file", &sha, "--out", out.to_str().unwrap()],
    );
    assert_eq!(r.code, 3, "a developer read an evidence file: {}", r.stdout);
    assert!(!out.exists());
    // The printed certificate embeds the credential; a file name cannot end that element early.
    let award = record["awards"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    let cert = root.path().join("cert.html");
    site.run(&[
        "credential",
        "certificate",
        &award,
        "--out",
        cert.to_str().unwrap(),
    ])
    .ok();
    let html = std::fs::read_to_string(&cert).unwrap();
    let open = "<script type=\"application/vc+ld+json\"";
    let start = html.find(open).expect("the embedded credential") + open.len();
    let start = start + html[start..].find('>').unwrap() + 1;
    let end = start + html[start..].find("</script>").unwrap();
    let embedded = &html[start..end];
    assert!(
        !embedded.contains('<'),
        "raw markup inside the script element"
    );
    let parsed: serde_json::Value = serde_json::from_str(embedded).unwrap();
    assert_eq!(parsed["type"][1], "OpenBadgeCredential");
}

#[test]
fn sign_in_failures_are_kept_for_the_operator() {
    let root = tempfile::tempdir().unwrap();
    let hub = new_hub(&root.path().join("hub"));
    let site = new_site(&hub, &root.path().join("site"), "Lab");
    let r = site.run_as(
        &[("CAIRN_AS", "ada"), ("CAIRN_SECRET", "999999")],
        &["learner", "list"],
    );
    assert_eq!(r.code, 3);
    let running = start_site(&site.dir, &[]);
    let from = std::net::Ipv4Addr::new(127, 0, 0, 42);
    let r = http::sign_in(&running.web, from, "learner", "NOBODY", "1111");
    assert!(r.location().contains("error=wrong"), "{r:?}");
    running.stop();
    let audit = site.run(&["audit"]).ok().clone();
    let events = audit["events"].as_array().unwrap();
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "sign-in-failed" && e["account"] == "ada"),
        "{audit}"
    );
    assert!(
        events.iter().any(|e| e["address"] == "127.0.0.42"),
        "{audit}"
    );
    // Only those who look after the node read it: a learner may not.
    let f = distinct_file(root.path(), "log.txt", 100, 3);
    sync_through(&hub, &[&site]);
    learner_with_award(&site, "M-1", "workready", &f);
    let r = site.run_as(
        &[("CAIRN_AS_LEARNER", "M-1"), ("CAIRN_SECRET", "4321")],
        &["audit"],
    );
    assert_eq!(r.code, 3, "{}", r.stdout);
    assert_eq!(r.error_kind(), "unauthorized");
}
