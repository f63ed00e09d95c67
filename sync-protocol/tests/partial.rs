//! Property test for partial replication: a hub holds everything; each site receives whole only
//! the catalog and its own learners' documents, everything else elided, and still holds a
//! contiguous, verifiable chain of every feed.

mod common;

use cairn_sync_protocol::*;
use common::*;
use proptest::prelude::*;
use std::collections::BTreeSet;

/// Document 0 is the catalog; document k > 0 is homed at site 1 + (k - 1) % sites.
fn home(doc: u8, sites: usize) -> Option<usize> {
    (doc != 0).then(|| 1 + (doc as usize - 1) % sites)
}

struct SiteScope {
    site: usize,
    sites: usize,
}

impl Scope for SiteScope {
    fn visible(&self, entry: &Entry) -> bool {
        match home(entry.body.doc.0[0], self.sites) {
            None => true,
            Some(h) => h == self.site,
        }
    }
}

#[derive(Clone, Debug)]
enum Op {
    Write {
        node: usize,
        doc: u8,
        len: usize,
    },
    Sync {
        site: usize,
        optimistic: bool,
        faults: Faults,
    },
}

fn scenario() -> impl Strategy<Value = (usize, Vec<Op>)> {
    (1usize..=4).prop_flat_map(|sites| {
        let docs = (2 * sites + 1) as u8;
        let op = prop_oneof![
            4 => (0..=sites, 0..docs, 0usize..200).prop_map(|(node, doc, len)| Op::Write { node, doc, len }),
            2 => (1..=sites, any::<bool>(), (proptest::option::of(0usize..4000), 0u8..15, 0u8..15, 0u8..15, 0u8..8, any::<bool>(), any::<u64>()))
                .prop_map(|(site, optimistic, (cut_after, drop_pct, duplicate_pct, reorder_pct, flip_pct, split, seed))| Op::Sync {
                    site, optimistic,
                    faults: Faults { cut_after, drop_pct, duplicate_pct, reorder_pct, flip_pct, split, seed },
                }),
        ];
        (Just(sites), proptest::collection::vec(op, 1..60))
    })
}

fn sync(
    nodes: &mut [Replica],
    sites: usize,
    site: usize,
    optimistic: bool,
    faults: &Faults,
) -> Outcome {
    let (l, r) = nodes.split_at_mut(site);
    let (hub, s) = (&mut l[0], &mut r[0]);
    let (hub_id, site_id) = (hub.id(), s.id());
    let hub_config = SessionConfig {
        accept_elided: false,
        vouch_key: Some(hub.key.clone()),
        batch_entries: 4,
        window: 2,
        ..config_for(hub, site_id, optimistic)
    };
    let site_config = SessionConfig {
        trusted_relay: Some(hub_id),
        batch_entries: 4,
        ..config_for(s, hub_id, optimistic)
    };
    let (outcome, _, _) = run_session(
        Side {
            replica: s,
            config: site_config,
            scope: Everything,
        },
        Side {
            replica: hub,
            config: hub_config,
            scope: SiteScope { site, sites },
        },
        faults,
        10_000,
    );
    outcome
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn sites_hold_only_their_scope_and_converge((sites, ops) in scenario()) {
        let mut nodes: Vec<Replica> = (0..=sites).map(|i| Replica::new(100 + i as u64)).collect();
        let mut written: Vec<(usize, StoredEntry)> = Vec::new();
        let mut now = 5_000;
        for op in &ops {
            match op {
                Op::Write { node, doc, len } => {
                    now += 1;
                    let e = nodes[*node].write(*doc, vec![*doc; *len], now);
                    written.push((*node, e));
                }
                Op::Sync { site, optimistic, faults } => {
                    sync(&mut nodes, sites, *site, *optimistic, faults);
                }
            }
        }
        for round in 0..2 {
            for site in 1..=sites {
                let outcome = sync(&mut nodes, sites, site, round == 1, &Faults::none());
                prop_assert!(outcome.finished, "clean session with site {} did not finish: {:?}", site, outcome);
            }
        }
        let hub_vector = nodes[0].store.vector().unwrap();
        prop_assert_eq!(nodes[0].store.whole_entries().len(), written.len());
        let hub_id = nodes[0].id();
        for (site, node) in nodes.iter().enumerate().skip(1) {
            let expected: BTreeSet<(Origin, u64, Hash32)> = written
                .iter()
                .filter(|(author, e)| *author == site || home(e.entry.body.doc.0[0], sites).is_none_or(|h| h == site))
                .map(|(_, e)| (e.entry.origin, e.entry.seq, e.hash))
                .collect();
            let held: BTreeSet<_> = node.store.whole_entries().into_iter().collect();
            prop_assert_eq!(&held, &expected, "site {} holds the wrong whole entries", site);
            prop_assert_eq!(node.store.vector().unwrap(), hub_vector.clone());
            prop_assert!(node.store.append_counts().values().all(|&c| c == 1));
            for (origin, items) in node.store.feeds() {
                let mut check = FeedChecker::new(origin, Some(hub_id));
                for item in &items {
                    check.push(item).map_err(|e| TestCaseError::fail(format!("site {site}: {e}")))?;
                }
                check.finish().map_err(|e| TestCaseError::fail(format!("site {site}: {e}")))?;
            }
        }
    }
}
