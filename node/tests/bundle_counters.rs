//! A node's bundle counters under commands that overlap: a running node serves its control
//! socket and its web interface at once, so two staff members can export or import bundles for
//! the same peer at the same moment. Each bundle must still get a number of its own, or the
//! peer refuses the second as a replay of the first.

use cairn_node::bundle;
use cairn_node::config::NodeRole;
use cairn_node::domain::people;
use cairn_node::node::Node;
use cairn_node::sync::provision;
use std::path::Path;
use std::sync::{Arc, Barrier};

/// A hub in `root`/hub and a site it enrolled in `root`/site, joined.
fn hub_and_site(root: &Path) -> (Node, Node) {
    let hub = Node::init(&root.join("hub"), NodeRole::Hub, "Hub", None).unwrap();
    people::add_user(
        &hub,
        &people::Actor::Operator,
        "op",
        &[people::Role::Admin],
        "135790",
    )
    .unwrap();
    let op = cairn_node::signin::staff_once(&hub, "op", "135790").unwrap();
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
