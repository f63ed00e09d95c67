//! What a hostile or unlucky network can do to the sync port: a revoked site that keeps trying
//! with entries to send, and floods of connections that never start a handshake.

use cairn_tests::*;
use std::io::Read;
use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// A site with entries waiting to go, whose admission the hub then revoked. The hub has already
/// given the site a checkpoint, so the site sends its entries in the same flight as its `Hello`,
/// right after its side of the handshake — before the hub has checked its certificate.
fn revoked_site_with_entries_to_send(root: &std::path::Path) -> (Cairn, Cairn) {
    let hub = new_hub(&root.join("hub"));
    let site = new_site(&hub, &root.join("site"), "Closed facility");
    sync_through(&hub, &[&site]);
    for i in 0..3u8 {
        let f = distinct_file(root, &format!("r{i}.bin"), 200_000, 60 + i);
        learner_with_award(&site, &format!("R-{i}"), "workready", &f);
    }
    hub.run(&[
        "site",
        "revoke",
        &node_id(&site),
        "--reason",
        "facility closed",
    ])
    .ok();
    (hub, site)
}

/// In TLS 1.3 the hub refuses a client certificate after the client's handshake is complete.
/// If the hub then dropped the connection with the site's first flight unread, the kernel would
/// answer with a reset and the site would see "connection reset" or "broken pipe" — exit 5,
/// "unreachable" — instead of the refusal. Every attempt must be reported as refused.
#[test]
fn a_revoked_site_with_entries_to_send_is_told_it_was_refused_every_time() {
    let root = tempfile::tempdir().unwrap();
    let (hub, site) = revoked_site_with_entries_to_send(root.path());
    let h = start_hub(&hub.dir);
    let outcomes: Vec<(i32, String)> = (0..20)
        .map(|_| {
            let r = sync(&site, &h.addr);
            (r.code, r.stderr)
        })
        .collect();
    h.stop();
    let refused = outcomes
        .iter()
        .filter(|(code, text)| *code == 3 && text.contains("refused"))
        .count();
    let other = outcomes.iter().find(|(code, _)| *code != 3);
    assert_eq!(
        refused, 20,
        "attempts reported as refused, of 20; for example: {other:?}"
    );
}

/// `cairn run` at a refused site waits the longest backoff before trying again, and says why:
/// a refusal does not go away by retrying every second.
#[test]
fn cairn_run_at_a_refused_site_does_not_hammer_the_hub() {
    let root = tempfile::tempdir().unwrap();
    let (hub, site) = revoked_site_with_entries_to_send(root.path());
    let h = start_hub(&hub.dir);
    let proxy = start_proxy(&h.addr, 100_000_000, |_| None);
    let mut run = site
        .command()
        .env("CAIRN_LOG", "warn")
        .args(["run", "--no-web", "--hub", &proxy.addr])
        .args(["--interval", "1", "--max-backoff", "3"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Backing off as for an unreachable hub, the site would try again after about 1 s and
    // again after about 2 s more; after a refusal the next attempt comes after 3 s at the
    // earliest.
    std::thread::sleep(Duration::from_millis(2600));
    let attempts = proxy.connections.load(Ordering::SeqCst);
    run.kill().unwrap();
    run.wait().unwrap();
    let mut log = String::new();
    run.stderr.take().unwrap().read_to_string(&mut log).unwrap();
    h.stop();
    assert_eq!(attempts, 1, "attempts in 2.6 s; the log:\n{log}");
    assert!(log.contains("the hub refused this site"), "{log}");
}
