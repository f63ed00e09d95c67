//! What a hostile or unlucky network can do to the sync port: a revoked site that keeps trying
//! with entries to send, and floods of connections that never start a handshake.

use cairn_tests::*;
use std::io::Read;
use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

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

/// Connections that connect and never send a byte, kept at `count` open: whenever the hub drops
/// one, another takes its place. Stops when dropped (and after two minutes in any case).
struct HalfOpenFlood {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    open: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    opened: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HalfOpenFlood {
    fn start(addr: &str, count: usize) -> HalfOpenFlood {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, AtomicUsize};
        let addr: std::net::SocketAddr = addr.parse().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let open = Arc::new(AtomicUsize::new(0));
        let opened = Arc::new(AtomicUsize::new(0));
        let (stop2, open2, opened2) = (stop.clone(), open.clone(), opened.clone());
        let thread = std::thread::spawn(move || {
            let until = Instant::now() + Duration::from_secs(120);
            let mut conns: Vec<std::net::TcpStream> = Vec::new();
            let mut probe = [0u8; 1];
            while !stop2.load(Ordering::SeqCst) && Instant::now() < until {
                // Keep the ones the hub has not closed (a peek that would block: still open).
                conns.retain(|c| {
                    matches!(c.peek(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
                });
                while conns.len() < count && !stop2.load(Ordering::SeqCst) {
                    let Ok(c) = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1))
                    else {
                        break;
                    };
                    c.set_nonblocking(true).unwrap();
                    conns.push(c);
                    opened2.fetch_add(1, Ordering::SeqCst);
                }
                open2.store(conns.len(), Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        HalfOpenFlood {
            stop,
            open,
            opened,
            thread: Some(thread),
        }
    }
}

impl Drop for HalfOpenFlood {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A flood of connections that never start a handshake must not keep sites out: the hub holds
/// no session slot for a connection before its handshake completes, gives a silent connection a
/// few seconds to begin, and bounds the handshakes under way without letting the flood crowd
/// out a site that does begin at once.
#[test]
fn sites_sync_promptly_through_a_flood_of_half_open_connections() {
    const FLOOD: usize = 600;
    let root = tempfile::tempdir().unwrap();
    let hub = new_hub(&root.path().join("hub"));
    let sites: Vec<Cairn> = (0..8)
        .map(|i| {
            new_site(
                &hub,
                &root.path().join(format!("site{i}")),
                &format!("Site {i}"),
            )
        })
        .collect();
    let h = start_hub(&hub.dir);
    let flood = HalfOpenFlood::start(&h.addr, FLOOD);
    let until = Instant::now() + Duration::from_secs(20);
    while flood.open.load(Ordering::SeqCst) < FLOOD && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(flood.open.load(Ordering::SeqCst), FLOOD, "the flood is up");
    // One site every half second, for longer than the hub lets a connection stay silent: the
    // flood is renewed meanwhile.
    let mut took = Vec::new();
    for site in &sites {
        std::thread::sleep(Duration::from_millis(500));
        let started = Instant::now();
        let r = sync(site, &h.addr);
        took.push(started.elapsed());
        assert_eq!(r.code, 0, "a sync failed after {took:?}: {}", r.stderr);
        assert!(
            took.iter().all(|t| *t < Duration::from_secs(10)),
            "syncs took {took:?}"
        );
    }
    let opened = flood.opened.load(Ordering::SeqCst);
    drop(flood);
    h.stop();
    eprintln!("{opened} half-open connections in all; syncs took {took:?}");
    assert!(
        opened > FLOOD,
        "the hub dropped silent connections, and they came back"
    );
}
