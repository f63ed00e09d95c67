//! A node's bundle counters under commands that overlap: a running node serves its control
//! socket and its web interface at once, so two staff members can export or import bundles for
//! the same peer at the same moment. Each bundle must still get a number of its own, or the
//! peer refuses the second as a replay of the first.

mod common;

use cairn_node::bundle;
use cairn_node::config::NodeRole;
use cairn_node::domain::people;
use cairn_node::node::Node;
use cairn_node::sync::provision;
use std::path::Path;
use std::sync::{Arc, Barrier};

/// A hub in `root`/hub and a site it enrolled in `root`/site, joined.
fn hub_and_site(root: &Path) -> (Node, Node) {
    let (hub, op) = common::hub_with_staff(&root.join("hub"), &[people::Role::Admin]);
    let site = Node::init(&root.join("site"), NodeRole::Site, "Site", None).unwrap();
    let (_, file) = provision::enroll_site(&hub, &op, site.id(), "Site", None).unwrap();
    provision::join(&site, &file).unwrap();
    (hub, site)
}

#[test]
fn bundles_exported_at_the_same_moment_get_numbers_of_their_own_and_all_import() {
    let root = tempfile::tempdir().unwrap();
    let (hub, site) = hub_and_site(root.path());
    let site = Arc::new(site);
    const THREADS: usize = 4;
    const EACH: usize = 3;
    let start = Arc::new(Barrier::new(THREADS));
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (site, start, dir) = (site.clone(), start.clone(), root.path().to_path_buf());
            std::thread::spawn(move || {
                start.wait();
                (0..EACH)
                    .map(|i| {
                        let out = dir.join(format!("bundle-{t}-{i}.cairn"));
                        let report = bundle::export(&site, None, &out, false, &mut |_| {})
                            .expect("an export");
                        (report.seq, out)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut made: Vec<(u64, std::path::PathBuf)> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    made.sort();
    let numbers: Vec<u64> = made.iter().map(|(seq, _)| *seq).collect();
    let expected: Vec<u64> = (1..=(THREADS * EACH) as u64).collect();
    assert_eq!(numbers, expected, "each bundle numbered once, none skipped");
    // The hub takes them in order: none is refused as a replay.
    for (seq, path) in &made {
        let mut file = std::fs::File::open(path).unwrap();
        let report = bundle::import(&hub, &mut file, &path.display().to_string(), &mut |_, _| {})
            .unwrap_or_else(|e| panic!("bundle #{seq} refused: {e}"));
        assert_eq!(report.seq, *seq);
    }
}

#[test]
fn two_bundles_imported_at_the_same_moment_leave_the_newer_one_a_replay() {
    // Each import checks the sender's counter before it applies anything and raises it at the
    // end. Two that overlapped both passed the check, and the one that finished last set the
    // counter: when that was the older bundle, the newer could be imported a second time.
    let root = tempfile::tempdir().unwrap();
    let (hub, site) = hub_and_site(root.path());
    let hub = Arc::new(hub);
    for round in 0..8 {
        let older = root.path().join(format!("older-{round}.cairn"));
        let newer = root.path().join(format!("newer-{round}.cairn"));
        bundle::export(&site, None, &older, false, &mut |_| {}).unwrap();
        let newest = bundle::export(&site, None, &newer, false, &mut |_| {})
            .unwrap()
            .seq;
        let start = Arc::new(Barrier::new(2));
        let imports: Vec<_> = [older, newer.clone()]
            .into_iter()
            .map(|path| {
                let (hub, start) = (hub.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    let mut file = std::fs::File::open(&path).unwrap();
                    // The older one may be refused if the newer went first: that is a replay.
                    let _ = bundle::import(&hub, &mut file, "bundle", &mut |_, _| {});
                })
            })
            .collect();
        for i in imports {
            i.join().unwrap();
        }
        let mut again = std::fs::File::open(&newer).unwrap();
        let replayed = bundle::import(&hub, &mut again, "bundle", &mut |_, _| {});
        match replayed {
            Ok(_) => panic!("round {round}: bundle #{newest} was imported a second time"),
            Err(e) => assert!(
                e.to_string().contains("already imported"),
                "round {round}: refused, but not as a replay: {e}"
            ),
        }
    }
}
