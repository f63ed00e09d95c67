//! Network sync end to end: real `cairn serve` and `cairn sync` processes over TLS on loopback.

use cairn_tests::*;
use std::path::Path;

fn evidence_file(dir: &Path, name: &str, size: usize) -> std::path::PathBuf {
    let p = dir.join(name);
    let data: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
    std::fs::write(&p, data).unwrap();
    p
}

#[test]
fn a_hub_and_three_sites_work_offline_then_converge_and_no_site_holds_another_sites_learners() {
    let root = tempfile::tempdir().unwrap();
    let hub = new_hub(&root.path().join("hub"));
    let names = [
        "Southern Maine Women's Reentry Center",
        "Ellsworth Adult Education",
        "Kiosk",
    ];
    let sites: Vec<Cairn> = names
        .iter()
        .enumerate()
        .map(|(i, n)| new_site(&hub, &root.path().join(format!("site{i}")), n))
        .collect();

    // First contact: every site receives the catalog.
    let h = start_hub(&hub.dir);
    for s in &sites {
        let r = sync(s, &h.addr);
        assert!(r.ok()["complete"].as_bool().unwrap(), "{}", r.stdout);
    }
    h.stop();

    // Offline: each site registers learners and takes them to awards; the hub edits the catalog.
    let file = evidence_file(root.path(), "portfolio.bin", 600_000);
    let mut homes: Vec<Vec<String>> = Vec::new();
    for (i, s) in sites.iter().enumerate() {
        let mut ids = Vec::new();
        for j in 0..3 {
            ids.push(learner_with_award(
                s,
                &format!("S{i}-{j}"),
                if j % 2 == 0 {
                    "css-level-1"
                } else {
                    "workready"
                },
                &file,
            ));
        }
        homes.push(ids);
    }
    hub.run(&[
        "catalog",
        "add",
        "achievement",
        "--id",
        "ic3-living-online",
        "--name",
        "IC3 Living Online",
        "--description",
        "d",
        "--criteria",
        "c",
    ])
    .ok();

    // The link comes up: two rounds so everything reaches everyone it should.
    let h = start_hub(&hub.dir);
    for _ in 0..2 {
        for s in &sites {
            assert_eq!(sync(s, &h.addr).code, 0);
        }
    }
    h.stop();
    settle(&hub, &sites.iter().collect::<Vec<_>>());

    let at_hub = learner_heads(&hub.dir);
    assert_eq!(at_hub.len(), 9, "the hub holds every learner");
    for (i, s) in sites.iter().enumerate() {
        let here = learner_heads(&s.dir);
        let own: std::collections::BTreeSet<&String> = homes[i].iter().collect();
        assert_eq!(
            here.keys().collect::<std::collections::BTreeSet<_>>(),
            own,
            "site {i} holds exactly its own learners"
        );
        for (id, heads) in &here {
            assert_eq!(
                Some(heads),
                at_hub.get(id),
                "learner {id}: same document at the hub and at its home site"
            );
        }
        // Nothing of another site's learners, not even a document stub.
        let node = cairn_node::node::Node::open(&s.dir).unwrap();
        for (j, others) in homes.iter().enumerate().filter(|(j, _)| *j != i) {
            for other in others {
                assert!(
                    cairn_node::domain::learners::find(&node, other).is_err(),
                    "site {i} knows learner {other} of site {j}"
                );
            }
        }
        drop(node);
        // The catalog change made offline at the hub arrived.
        let catalog = s.run(&["catalog", "list"]).ok().clone();
        assert!(catalog["achievements"]["ic3-living-online"].is_object());
        // Every store verifies, elided ranges and hub vouches included.
        s.run(&["check"]).ok();
    }
    // Evidence files arrived whole at the hub.
    let record = hub.run(&["learner", "show", &homes[1][0]]).ok().clone();
    assert_first_evidence_file_is(&hub, &record, &file, &root.path().join("copy.bin"));
    hub.run(&["check"]).ok();
    // Status names the peers and when they last synced.
    let status = sites[0].run(&["status"]).ok().clone();
    assert_eq!(status["peers"].as_array().unwrap().len(), 1);
    assert_eq!(status["peers"][0]["pending_own_entries"], 0);
}

fn openssl_available() -> bool {
    std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn openssl_connects(addr: &str, args: &[&str]) -> (bool, String) {
    use std::io::Write;
    let mut child = std::process::Command::new("openssl")
        .args(["s_client", "-connect", addr, "-servername", "cairn.invalid"])
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("openssl");
    // Send a byte after the handshake so a refused client certificate shows as a failure.
    let _ = child.stdin.take().unwrap().write_all(b"x");
    // With `-ign_eof` s_client keeps reading until the server closes, so a TLS 1.3 refusal
    // (sent only after the client's Finished) is seen instead of racing the client's exit.
    // Bounded: a connection still open after the deadline counts as admitted.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut kept_open = false;
    while child.try_wait().ok().flatten().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            kept_open = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // A completed TLS 1.3 session that the server then keeps talking on prints the server's
    // first bytes; a refused one prints an alert or "no peer certificate available".
    let refused = !kept_open
        && (!out.status.success()
            || text.contains("alert")
            || text.contains("no protocols available")
            || text.contains("wrong version")
            || text.contains("handshake failure")
            || text.contains("errno"));
    (!refused, text)
}

#[test]
fn unknown_revoked_tls12_and_certificateless_peers_are_refused_during_the_handshake() {
    assert!(
        openssl_available(),
        "openssl is needed for the TLS 1.2 check (.ci/run installs it)"
    );
    let root = tempfile::tempdir().unwrap();
    let hub = new_hub(&root.path().join("hub"));
    let admitted = new_site(&hub, &root.path().join("admitted"), "Admitted");
    let revoked = new_site(&hub, &root.path().join("revoked"), "To be revoked");
    // A site that joined with a provisioning file but whose admission the hub never recorded
    // (a file made for another hub's key is simulated by a hub that forgot it: a fresh hub).
    let stranger_hub = new_hub(&root.path().join("other-hub"));
    let stranger = new_site(&stranger_hub, &root.path().join("stranger"), "Stranger");

    let h = start_hub(&hub.dir);
    assert_eq!(sync(&admitted, &h.addr).code, 0);
    assert_eq!(sync(&revoked, &h.addr).code, 0);
    // Unknown key: the stranger's provisioning names another hub, so the client refuses this
    // server; and the server refuses the stranger's key. Either way: refused, exit 3.
    let r = sync(&stranger, &h.addr);
    assert_eq!(r.code, 3, "{}", r.stderr);
    // A TLS 1.2 client is refused.
    let (ok, text) = openssl_connects(&h.addr, &["-tls1_2"]);
    assert!(!ok, "a TLS 1.2 client connected:\n{text}");
    // A TLS 1.3 client without a certificate is refused.
    let (ok, text) = openssl_connects(&h.addr, &["-tls1_3", "-ign_eof"]);
    assert!(!ok, "a client without a certificate was admitted:\n{text}");
    // ...while the same tool presenting the admitted site's certificate is let in, so the checks
    // above can tell a refusal from a success.
    let pem = root.path().join("admitted-pem");
    admitted
        .run(&["debug", "tls-identity", "--out-dir", pem.to_str().unwrap()])
        .ok();
    let (ok, text) = openssl_connects(
        &h.addr,
        &[
            "-tls1_3",
            "-cert",
            pem.join("cert.pem").to_str().unwrap(),
            "-key",
            pem.join("key.pem").to_str().unwrap(),
        ],
    );
    assert!(
        ok,
        "openssl with the admitted site's certificate was refused:\n{text}"
    );
    // With TLS 1.2 forced, even the admitted site's certificate does not get in.
    let (ok, _) = openssl_connects(
        &h.addr,
        &[
            "-tls1_2",
            "-cert",
            pem.join("cert.pem").to_str().unwrap(),
            "-key",
            pem.join("key.pem").to_str().unwrap(),
        ],
    );
    assert!(!ok, "TLS 1.2 with a valid certificate connected");
    h.stop();

    hub.run(&[
        "site",
        "revoke",
        &node_id(&revoked),
        "--reason",
        "facility closed",
    ])
    .ok();
    let h = start_hub(&hub.dir);
    let r = sync(&revoked, &h.addr);
    assert_eq!(
        (r.code, r.error_kind()),
        (3, "unauthorized"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("refused"), "{}", r.stderr);
    // The admitted site is unaffected.
    assert_eq!(sync(&admitted, &h.addr).code, 0);
    h.stop();
    let sites = hub.run(&["site", "list"]).ok().clone();
    let revoked_row = sites["sites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["site"]["name"] == "To be revoked")
        .unwrap()
        .clone();
    assert_eq!(revoked_row["site"]["revoked"], "facility closed");
    // A site that was never reached is reported unreachable (exit 5), not refused.
    let r = sync(&admitted, "127.0.0.1:9");
    assert_eq!(r.code, 5, "{}", r.stderr);
}

#[test]
fn a_transferred_learner_moves_with_their_record_and_the_old_site_stops_receiving_it() {
    let root = tempfile::tempdir().unwrap();
    let hub = new_hub(&root.path().join("hub"));
    let a = new_site(
        &hub,
        &root.path().join("a"),
        "Southern Maine Women's Reentry Center",
    );
    let b = new_site(&hub, &root.path().join("b"), "Ellsworth Adult Education");
    let file = evidence_file(root.path(), "work-sample.pdf", 300_000);
    sync_through(&hub, &[&a]);
    let learner = learner_with_award(&a, "R-1", "css-level-1", &file);
    let h = start_hub(&hub.dir);
    sync(&a, &h.addr).ok();
    sync(&b, &h.addr).ok();
    h.stop();
    hub.run(&[
        "learner",
        "transfer",
        "--learner",
        &learner,
        "--to",
        &node_id(&b),
    ])
    .ok();
    // The hub records an outcome afterwards: only the new home should receive it.
    hub.run(&[
        "outcome",
        "add",
        "--learner",
        &learner,
        "--kind",
        "new-employment",
        "--detail",
        "help desk",
    ])
    .ok();
    let h = start_hub(&hub.dir);
    sync(&a, &h.addr).ok();
    sync(&b, &h.addr).ok();
    h.stop();
    // B holds the whole record, evidence file included, and can work on it.
    let at_b = b.run(&["learner", "show", &learner]).ok().clone();
    assert_eq!(at_b["home_site"], node_id(&b));
    assert_eq!(at_b["awards"].as_object().unwrap().len(), 1);
    assert_eq!(at_b["outcomes"].as_object().unwrap().len(), 1);
    let sha = at_b["evidence"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()["files"][0]["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    let out = root.path().join("copy.pdf");
    b.run(&["evidence", "file", &sha, "--out", out.to_str().unwrap()])
        .ok();
    assert_eq!(std::fs::read(out).unwrap(), std::fs::read(&file).unwrap());
    b.run(&[
        "enroll",
        "--learner",
        &learner,
        "--achievement",
        "workready",
    ])
    .ok();
    // A learned of the move, did not receive what came after, and can no longer change the record.
    let at_a = a.run(&["learner", "show", &learner]).ok().clone();
    assert_eq!(at_a["home_site"], node_id(&b));
    assert_eq!(
        at_a["outcomes"].as_object().unwrap().len(),
        0,
        "A received an entry made after the transfer"
    );
    let r = a.run(&[
        "enroll",
        "--learner",
        &learner,
        "--achievement",
        "workready",
    ]);
    // Refused by the rule that a record changes only where it lives (exit 3).
    assert_eq!((r.code, r.error_kind()), (3, "rule"), "{}", r.stderr);
    a.run(&["check"]).ok();
    b.run(&["check"]).ok();
}
