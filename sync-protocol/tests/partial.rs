//! Property test for partial replication: a hub holds everything; each site receives only the
//! hub's feed, its own and the feeds that wrote to its learners (a feed can stop being shared, as
//! when a learner is transferred away), whole only the catalog and its own learners' documents,
//! everything else elided, and still holds a contiguous, verifiable chain of every feed. The hub
//! either sends its `Hello` at once or answers the site's (`Session::start_answering`); both
//! must end in the same place, and the answering hub's `Hello` names only what the site may
//! receive or already holds.

mod common;

use cairn_sync_protocol::*;
use common::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// Document 0 is the catalog; document k > 0 is homed at site 1 + (k - 1) % sites.
fn home(doc: u8, sites: usize) -> Option<usize> {
    (doc != 0).then(|| 1 + (doc as usize - 1) % sites)
}

/// What a scope tells the session of entries it knows hidden ([`Scope::hidden_until`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hints {
    /// Nothing: every entry is read and asked about.
    None,
    /// Up to the next visible entry.
    Exact,
    /// Somewhere from here up to the next visible entry (a scope that knows part of a feed).
    Partial(u64),
}

struct SiteScope {
    site: usize,
    sites: usize,
    /// The feeds the site is sent: the hub's, its own and those shared with it.
    sent: BTreeSet<NodeId>,
    hints: Hints,
    /// Where each feed's entries the site may see are (for the hints).
    visible_at: BTreeMap<Origin, BTreeSet<u64>>,
}

impl Scope for SiteScope {
    fn send_origin(&self, origin: &Origin) -> bool {
        self.sent.contains(&origin.node)
    }

    fn visible(&self, _origin: &Origin, _seq: u64, body: &BodyRef<'_>) -> bool {
        match home(body.doc.0[0], self.sites) {
            None => true,
            Some(h) => h == self.site,
        }
    }

    fn hidden_until(&self, origin: &Origin, seq: u64) -> u64 {
        let next = self
            .visible_at
            .get(origin)
            .and_then(|at| at.range(seq..).next().copied())
            .unwrap_or(u64::MAX);
        match self.hints {
            Hints::None => seq,
            Hints::Exact => next,
            Hints::Partial(seed) => {
                let span = (next - seq).min(40) + 1;
                seq + (seed ^ seq.wrapping_mul(0x9e37_79b9_7f4a_7c15)) % span
            }
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
    /// Stop (or start again) sending `site` the feed of `node`, though it wrote to a learner
    /// homed there: the learner moved away.
    Unshare {
        site: usize,
        node: usize,
    },
}

fn scenario() -> impl Strategy<Value = (usize, bool, (Hints, usize, u64), Vec<Op>)> {
    let hints = prop_oneof![
        Just(Hints::None),
        Just(Hints::Exact),
        any::<u64>().prop_map(Hints::Partial)
    ];
    // The hub's batches: the usual size, or small enough that elided ranges fill them.
    let batch = prop_oneof![Just(SessionConfig::default().batch_bytes), 40usize..400];
    // Stretches as short as one entry passed over, or only the usual longer ones.
    let at_least = prop_oneof![Just(1u64), 1u64..20];
    (1usize..=4, any::<bool>(), (hints, batch, at_least)).prop_flat_map(|(sites, answer, hints)| {
        let docs = (2 * sites + 1) as u8;
        let op = prop_oneof![
            4 => (0..=sites, 0..docs, 0usize..200).prop_map(|(node, doc, len)| Op::Write { node, doc, len }),
            2 => (1..=sites, any::<bool>(), (proptest::option::of(0usize..4000), 0u8..15, 0u8..15, 0u8..15, 0u8..8, any::<bool>(), any::<u64>()))
                .prop_map(|(site, optimistic, (cut_after, drop_pct, duplicate_pct, reorder_pct, flip_pct, split, seed))| Op::Sync {
                    site, optimistic,
                    faults: Faults { cut_after, drop_pct, duplicate_pct, reorder_pct, flip_pct, split, seed },
                }),
            1 => (1..=sites, 1..=sites).prop_map(|(site, node)| Op::Unshare { site, node }),
        ];
        (Just(sites), Just(answer), Just(hints), proptest::collection::vec(op, 1..60))
    })
}

/// The program as the test drives it: who wrote what, and which feeds each site is not sent.
#[derive(Clone)]
struct Program {
    sites: usize,
    answer: bool,
    hints: Hints,
    /// The hub's `batch_bytes`.
    batch_bytes: usize,
    /// The hub's `pass_over_at_least`.
    at_least: u64,
    nodes: Vec<Replica>,
    written: Vec<(usize, StoredEntry)>,
    unshared: BTreeSet<(usize, usize)>,
}

impl Program {
    /// The nodes whose feeds `site` is sent now.
    fn sent_to(&self, site: usize) -> BTreeSet<NodeId> {
        let mut sent: BTreeSet<NodeId> = [0, site].iter().map(|&n| self.nodes[n].id()).collect();
        for (author, e) in &self.written {
            if home(e.entry.body.doc.0[0], self.sites) == Some(site)
                && !self.unshared.contains(&(site, *author))
            {
                sent.insert(self.nodes[*author].id());
            }
        }
        sent
    }

    fn sync(
        &mut self,
        site: usize,
        optimistic: bool,
        faults: &Faults,
    ) -> (Outcome, Events, Events) {
        let mut visible_at: BTreeMap<Origin, BTreeSet<u64>> = BTreeMap::new();
        for (_, e) in &self.written {
            if home(e.entry.body.doc.0[0], self.sites).is_none_or(|h| h == site) {
                visible_at
                    .entry(e.entry.origin)
                    .or_default()
                    .insert(e.entry.seq);
            }
        }
        let scope = SiteScope {
            site,
            sites: self.sites,
            sent: self.sent_to(site),
            hints: self.hints,
            visible_at,
        };
        let (l, r) = self.nodes.split_at_mut(site);
        let (hub, s) = (&mut l[0], &mut r[0]);
        let (hub_id, site_id) = (hub.id(), s.id());
        let hub_config = SessionConfig {
            accept_elided: false,
            vouch_key: Some(hub.key.clone()),
            batch_entries: 4,
            batch_bytes: self.batch_bytes,
            pass_over_at_least: self.at_least,
            window: 2,
            ..config_for(hub, site_id, optimistic)
        };
        let site_config = SessionConfig {
            trusted_relay: Some(hub_id),
            batch_entries: 4,
            ..config_for(s, hub_id, optimistic)
        };
        run_session_with(
            Side {
                replica: s,
                config: site_config,
                scope: Everything,
            },
            Side {
                replica: hub,
                config: hub_config,
                scope,
            },
            faults,
            10_000,
            self.answer,
        )
    }
}

fn is_trouble(e: &Event) -> bool {
    matches!(
        e,
        Event::Duplicate { .. }
            | Event::CannotSend { .. }
            | Event::Refused { .. }
            | Event::PeerRefused { .. }
            | Event::Fork(_)
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn sites_hold_only_their_scope_and_converge((sites, answer, (hints, batch_bytes, at_least), ops) in scenario()) {
        let mut p = Program {
            sites,
            answer,
            hints,
            batch_bytes,
            at_least,
            nodes: (0..=sites).map(|i| Replica::new(100 + i as u64)).collect(),
            written: Vec::new(),
            unshared: BTreeSet::new(),
        };
        let mut now = 5_000;
        for op in &ops {
            match op {
                Op::Write { node, doc, len } => {
                    now += 1;
                    let e = p.nodes[*node].write(*doc, vec![*doc; *len], now);
                    p.written.push((*node, e));
                }
                Op::Sync { site, optimistic, faults } => {
                    p.sync(*site, *optimistic, faults);
                }
                Op::Unshare { site, node } => {
                    if !p.unshared.remove(&(*site, *node)) {
                        p.unshared.insert((*site, *node));
                    }
                }
            }
        }
        // The hub has everything after the first round, every site after the second; the third
        // has nothing to carry.
        for round in 0..3 {
            for site in 1..=sites {
                let before = p.nodes[site].store.vector().unwrap();
                // What a scope knows hidden changes nothing the site receives: the same
                // session without hints sends the same bytes and leaves the same feeds.
                let mut unhinted = (hints != Hints::None).then(|| Program { hints: Hints::None, ..p.clone() });
                let (outcome, site_events, hub_events) = p.sync(site, round > 0, &Faults::none());
                if let Some(u) = unhinted.as_mut() {
                    let (plain, _, _) = u.sync(site, round > 0, &Faults::none());
                    prop_assert_eq!((plain.bytes_a_to_b, plain.bytes_b_to_a, plain.messages),
                        (outcome.bytes_a_to_b, outcome.bytes_b_to_a, outcome.messages), "site {}", site);
                    prop_assert_eq!(u.nodes[site].store.feeds(), p.nodes[site].store.feeds(), "site {}", site);
                }
                prop_assert!(outcome.finished, "clean session with site {} did not finish: {:?}", site, outcome);
                // A clean session resends nothing and stops at nothing, in either mode.
                prop_assert!(!site_events.iter().chain(&hub_events).any(is_trouble),
                    "site {}: {:?} / {:?}", site, site_events, hub_events);
                if round == 2 {
                    prop_assert!(!site_events.iter().chain(&hub_events).any(|e| matches!(e, Event::Stored { .. })),
                        "site {}: a third clean round stored something", site);
                }
                if answer {
                    // The answering hub names only what the site may receive or holds.
                    let sent = p.sent_to(site);
                    let named: Vec<Origin> = site_events.iter().find_map(|e| match e {
                        Event::PeerHello { vector, .. } => Some(vector.iter().map(|(o, _)| *o).collect()),
                        _ => None,
                    }).unwrap_or_default();
                    for o in named {
                        prop_assert!(sent.contains(&o.node) || before.get(&o) > 0,
                            "site {}: the hub's Hello named {} it neither sends nor the site holds", site, o);
                    }
                }
            }
        }
        let hub_vector = p.nodes[0].store.vector().unwrap();
        prop_assert_eq!(p.nodes[0].store.whole_entries().len(), p.written.len());
        let hub_id = p.nodes[0].id();
        for site in 1..=sites {
            let node = &p.nodes[site];
            let vector = node.store.vector().unwrap();
            let sent = p.sent_to(site);
            for (origin, &seq) in hub_vector.iter() {
                if sent.contains(&origin.node) {
                    prop_assert_eq!(vector.get(origin), seq, "site {} lacks part of {}", site, origin);
                } else {
                    prop_assert!(vector.get(origin) <= seq);
                }
            }
            prop_assert!(hub_vector.dominates(&vector));
            let expected: BTreeSet<(Origin, u64, Hash32)> = p.written
                .iter()
                .filter(|(author, e)| *author == site || home(e.entry.body.doc.0[0], sites).is_none_or(|h| h == site))
                .filter(|(_, e)| e.entry.seq <= vector.get(&e.entry.origin))
                .map(|(_, e)| (e.entry.origin, e.entry.seq, e.hash))
                .collect();
            let held: BTreeSet<_> = node.store.whole_entries().into_iter().collect();
            prop_assert_eq!(&held, &expected, "site {} holds the wrong whole entries", site);
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

/// A hub of five sites answers site 1 with a `Hello` that names the hub's feed, the site's own
/// and the feed the site holds from before, not the other sites'; and a sync with nothing to
/// carry is still one round trip.
#[test]
fn an_answering_hub_names_only_what_the_site_receives_or_holds() {
    let sites = 5;
    let mut p = Program {
        sites,
        answer: true,
        hints: Hints::None,
        batch_bytes: SessionConfig::default().batch_bytes,
        at_least: 1,
        nodes: (0..=sites).map(|i| Replica::new(300 + i as u64)).collect(),
        written: Vec::new(),
        unshared: BTreeSet::new(),
    };
    let mut now = 1_000;
    let mut write = |p: &mut Program, node: usize, doc: u8| {
        now += 1;
        let e = p.nodes[node].write(doc, vec![doc; 8], now);
        p.written.push((node, e));
    };
    // Every site writes to a learner of its own; site 2 also to one homed at site 1.
    for node in 0..=sites {
        write(&mut p, node, node as u8);
    }
    write(&mut p, 2, 1);
    for site in (1..=sites).rev() {
        assert!(p.sync(site, false, &Faults::none()).0.finished);
    }
    assert!(p.sync(1, false, &Faults::none()).0.finished);
    let ids: Vec<NodeId> = p.nodes.iter().map(|n| n.id()).collect();
    let named = |events: &Events| -> BTreeSet<NodeId> {
        events
            .iter()
            .find_map(|e| match e {
                Event::PeerHello { vector, .. } => {
                    Some(vector.iter().map(|(o, _)| o.node).collect())
                }
                _ => None,
            })
            .expect("the hub's Hello")
    };
    // The learner moves away: site 2's feed is no longer sent, but site 1 holds it.
    p.unshared.insert((1, 2));
    write(&mut p, 2, 1);
    let (outcome, site_events, hub_events) = p.sync(1, true, &Faults::none());
    assert!(outcome.finished, "{outcome:?}");
    assert_eq!(
        named(&site_events),
        BTreeSet::from([ids[0], ids[1], ids[2]])
    );
    assert!(!site_events.iter().chain(&hub_events).any(is_trouble));
    assert!(
        !site_events
            .iter()
            .any(|e| matches!(e, Event::Stored { .. }))
    );
    assert_eq!(
        outcome.flights, 2,
        "a sync with nothing to carry: {outcome:?}"
    );
    // Without the answer, the hub names every site.
    p.answer = false;
    let (outcome, site_events, _) = p.sync(1, true, &Faults::none());
    assert!(outcome.finished);
    assert_eq!(named(&site_events), ids.iter().copied().collect());
}
