//! Property tests: replicas converge to exactly the same entries, each stored once, whatever the
//! network did to earlier sessions.

mod common;

use cairn_sync_protocol::*;
use common::*;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Write {
        replica: usize,
        doc: u8,
        len: usize,
    },
    Sync {
        a: usize,
        b: usize,
        optimistic: bool,
        faults: Faults,
    },
}

fn faults() -> impl Strategy<Value = Faults> {
    (
        proptest::option::of(0usize..6000),
        0u8..20,
        0u8..20,
        0u8..20,
        0u8..10,
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(
            |(cut_after, drop_pct, duplicate_pct, reorder_pct, flip_pct, split, seed)| Faults {
                cut_after,
                drop_pct,
                duplicate_pct,
                reorder_pct,
                flip_pct,
                split,
                seed,
            },
        )
}

fn op(n: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..n, 0u8..4, 0usize..300).prop_map(|(replica, doc, len)| Op::Write { replica, doc, len }),
        2 => (0..n, 0..n, any::<bool>(), faults()).prop_map(|(a, b, optimistic, faults)| Op::Sync { a, b, optimistic, faults }),
    ]
}

fn scenario() -> impl Strategy<Value = (usize, Vec<Op>)> {
    (2usize..=6).prop_flat_map(|n| (Just(n), proptest::collection::vec(op(n), 1..60)))
}

fn pair(replicas: &mut [Replica], a: usize, b: usize) -> (&mut Replica, &mut Replica) {
    assert_ne!(a, b);
    if a < b {
        let (l, r) = replicas.split_at_mut(b);
        (&mut l[a], &mut r[0])
    } else {
        let (l, r) = replicas.split_at_mut(a);
        (&mut r[0], &mut l[b])
    }
}

fn sync(
    replicas: &mut [Replica],
    a: usize,
    b: usize,
    optimistic: bool,
    faults: &Faults,
    small_batches: bool,
) -> Outcome {
    let (ra, rb) = pair(replicas, a, b);
    let (ia, ib) = (ra.id(), rb.id());
    let mut ca = config_for(ra, ib, optimistic);
    let mut cb = config_for(rb, ia, optimistic);
    if small_batches {
        // Many small batches and a small window exercise acknowledgements and resumption.
        for c in [&mut ca, &mut cb] {
            c.batch_entries = 3;
            c.window = 2;
        }
    }
    let (outcome, _, _) = run_session(
        Side {
            replica: ra,
            config: ca,
            scope: Everything,
        },
        Side {
            replica: rb,
            config: cb,
            scope: Everything,
        },
        faults,
        10_000,
    );
    outcome
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn replicas_converge_exactly_once((n, ops) in scenario(), small_batches in any::<bool>()) {
        let mut replicas: Vec<Replica> = (0..n).map(|i| Replica::new(i as u64 + 1)).collect();
        let mut now = 1_000u64;
        let mut written = 0usize;
        for op in &ops {
            match op {
                Op::Write { replica, doc, len } => {
                    now += 1;
                    replicas[*replica].write(*doc, vec![*doc; *len], now);
                    written += 1;
                }
                Op::Sync { a, b, optimistic, faults } if a != b => {
                    sync(&mut replicas, *a, *b, *optimistic, faults, small_batches);
                }
                Op::Sync { .. } => {}
            }
            // Whatever happened on the network, nothing is ever stored twice.
            for r in &replicas {
                prop_assert!(r.store.append_counts().values().all(|&c| c == 1));
            }
        }
        // Final round of complete sessions on a clean link: everyone to replica 0, then back.
        for round in 0..2 {
            for i in 1..n {
                let optimistic = round == 1;
                let outcome = sync(&mut replicas, 0, i, optimistic, &Faults::none(), small_batches);
                prop_assert!(outcome.finished, "clean session 0<->{} did not finish: {:?}", i, outcome);
            }
        }
        let expected = replicas[0].store.whole_entries();
        prop_assert_eq!(expected.len(), written);
        for r in &replicas {
            prop_assert_eq!(&r.store.whole_entries(), &expected);
            prop_assert_eq!(r.store.append_counts().len(), written);
            prop_assert!(r.store.append_counts().values().all(|&c| c == 1));
            prop_assert!(r.store.forks().is_empty());
            for (origin, items) in r.store.feeds() {
                let mut check = FeedChecker::new(origin, None);
                for item in &items {
                    check.push(item).map_err(|e| TestCaseError::fail(e.to_string()))?;
                }
                check.finish().map_err(|e| TestCaseError::fail(e.to_string()))?;
            }
        }
    }
}
