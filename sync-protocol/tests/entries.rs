//! Forged, replayed, out-of-order and forked entries, and the session's round-trip and resume
//! guarantees, each checked deterministically.

mod common;

use common::run_of;

use cairn_sync_protocol::message::{Batch, Hello, Item, Run, WireAuth};
use cairn_sync_protocol::*;
use common::*;

fn verify(run: Run, sender: NodeId) -> Result<VerifiedRun, ChainError> {
    verify_run(run, sender, None, &Limits::default())
}

fn authored(n: usize) -> (Replica, Vec<StoredEntry>) {
    let mut r = Replica::new(11);
    let entries = (0..n)
        .map(|i| r.write(1, format!("change {i}").into_bytes(), 10 + i as u64))
        .collect();
    (r, entries)
}

#[test]
fn a_valid_run_verifies() {
    let (r, entries) = authored(3);
    let v = verify(run_of(&entries), r.id()).unwrap();
    assert_eq!(v.first_seq(), 1);
    assert_eq!(v.last_seq(), 3);
}

#[test]
fn a_changed_payload_is_rejected_as_forged() {
    let (r, entries) = authored(3);
    let mut run = run_of(&entries);
    if let Item::Entry(e) = &mut run.items[1] {
        e.body.data = b"awarded".to_vec();
    }
    assert!(matches!(
        verify(run, r.id()),
        Err(ChainError::BadSignature { seq: 2, .. })
    ));
}

#[test]
fn entries_signed_by_another_key_are_rejected() {
    let (_, entries) = authored(2);
    let impostor =
        NodeKey::generate(&mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(99));
    let mut run = run_of(&entries);
    for item in &mut run.items {
        if let Item::Entry(e) = item {
            let hash = Hash32::ZERO; // any message: the signature is the impostor's, not the origin's
            e.auth = Some(WireAuth::Origin(impostor.sign(&hash.0)));
        }
    }
    assert!(matches!(
        verify(run, impostor.id()),
        Err(ChainError::BadSignature { .. })
    ));
}

#[test]
fn an_unsigned_tail_is_rejected() {
    let (r, entries) = authored(3);
    let mut run = run_of(&entries);
    if let Item::Entry(e) = &mut run.items[2] {
        e.auth = None;
    }
    assert!(matches!(
        verify(run, r.id()),
        Err(ChainError::Unauthenticated { from: 3, to: 3, .. })
    ));
}

#[test]
fn one_signature_covers_the_run_before_it() {
    let (r, entries) = authored(4);
    let mut run = run_of(&entries);
    for item in &mut run.items[..3] {
        if let Item::Entry(e) = item {
            e.auth = None;
        }
    }
    assert!(verify(run.clone(), r.id()).is_ok());
    // ...and still protects every entry it covers.
    if let Item::Entry(e) = &mut run.items[0] {
        e.body.data.push(b'!');
    }
    assert!(matches!(
        verify(run, r.id()),
        Err(ChainError::BadSignature { seq: 4, .. })
    ));
}

#[test]
fn vouches_count_only_from_the_trusted_relay() {
    let (_, entries) = authored(2);
    let hub = Replica::new(12);
    let mut run = run_of(&entries);
    for item in &mut run.items {
        if let Item::Entry(e) = item {
            e.auth = None;
        }
    }
    let last = entries.last().unwrap();
    if let (Item::Entry(e), Auth::Vouch { signature, .. }) =
        (&mut run.items[1], last.vouch(&hub.key))
    {
        e.auth = Some(WireAuth::Vouch(signature));
    }
    let trusted = verify_run(run.clone(), hub.id(), Some(hub.id()), &Limits::default());
    assert!(trusted.is_ok());
    let untrusted = verify_run(run, hub.id(), None, &Limits::default());
    assert!(matches!(untrusted, Err(ChainError::UntrustedVouch { .. })));
}

#[test]
fn a_replayed_run_is_a_duplicate_and_stored_once() {
    let (r, entries) = authored(3);
    let mut store = MemoryStore::new();
    let v = verify(run_of(&entries), r.id()).unwrap();
    let Classified::Append(new) = classify(&store, v.clone(), &[]).unwrap() else {
        panic!("expected new entries")
    };
    store.append(&[new]).unwrap();
    assert_eq!(classify(&store, v, &[]).unwrap(), Classified::Duplicate);
    // A replay that overlaps and extends stores only the new part.
    let (_, more) = {
        let mut r2 = r;
        let e = r2.write(1, b"fourth".to_vec(), 99);
        (r2, e)
    };
    let mut all = entries.clone();
    all.push(more);
    let v = verify(run_of(&all), all[0].entry.origin.node).unwrap();
    let Classified::Append(new) = classify(&store, v, &[]).unwrap() else {
        panic!("expected the new entry")
    };
    assert_eq!((new.first_seq(), new.last_seq()), (4, 4));
    store.append(&[new]).unwrap();
    assert!(store.append_counts().values().all(|&c| c == 1));
}

#[test]
fn an_out_of_order_run_is_refused_as_a_gap() {
    let (r, entries) = authored(5);
    let store = MemoryStore::new();
    let v = verify(run_of(&entries[2..]), r.id()).unwrap();
    assert_eq!(
        classify(&store, v, &[]).unwrap(),
        Classified::Gap { held: 0 }
    );
}

#[test]
fn two_signed_versions_of_one_sequence_number_are_a_fork_and_freeze_the_origin() {
    // The same key authors two different entries 2 (a node restored from an old backup).
    let mut original = Replica::new(21);
    let first = original.write(1, b"one".to_vec(), 1);
    let second = original.write(1, b"two".to_vec(), 2);
    let mut restored = Replica::new(21);
    restored.store = MemoryStore::new();
    let same_first = restored.write(1, b"one".to_vec(), 1);
    assert_eq!(first, same_first);
    let forked_second = restored.write(1, b"two, again but different".to_vec(), 3);
    assert_ne!(second.hash, forked_second.hash);
    // Vectors alone cannot tell two equally long versions apart; the fork shows as soon as the
    // restored node's feed is longer than what the hub holds.
    restored.write(1, b"three".to_vec(), 4);

    let mut hub = Replica::new(22);
    let (outcome, _, _) = run_session(
        Side {
            replica: &mut original,
            config: SessionConfig::default(),
            scope: Everything,
        },
        Side {
            replica: &mut hub,
            config: SessionConfig::default(),
            scope: Everything,
        },
        &Faults::none(),
        100,
    );
    assert!(outcome.finished);
    let (outcome, _, hub_events) = run_session(
        Side {
            replica: &mut restored,
            config: SessionConfig::default(),
            scope: Everything,
        },
        Side {
            replica: &mut hub,
            config: SessionConfig::default(),
            scope: Everything,
        },
        &Faults::none(),
        100,
    );
    assert!(
        outcome.finished,
        "a fork is reported, not a session failure: {outcome:?}"
    );
    let fork = hub_events
        .iter()
        .find_map(|e| match e {
            Event::Fork(f) => Some(*f),
            _ => None,
        })
        .expect("fork reported");
    assert_eq!(
        (fork.seq, fork.held, fork.incoming),
        (2, second.hash, forked_second.hash)
    );
    assert_eq!(hub.store.frozen().unwrap(), vec![first.entry.origin]);
    // Nothing of the forked version was stored; what the hub held is intact.
    assert_eq!(
        hub.store.hash_at(&first.entry.origin, 2).unwrap(),
        Some(second.hash)
    );
    // A frozen origin stays frozen: even its genuine continuation is refused, and reported.
    original.write(1, b"three".to_vec(), 4);
    let (_, orig_events, _) = run_session(
        Side {
            replica: &mut original,
            config: SessionConfig::default(),
            scope: Everything,
        },
        Side {
            replica: &mut hub,
            config: SessionConfig::default(),
            scope: Everything,
        },
        &Faults::none(),
        100,
    );
    assert_eq!(hub.store.tip(&first.entry.origin).unwrap().unwrap().seq, 2);
    assert!(
        orig_events
            .iter()
            .all(|e| !matches!(e, Event::PeerHolds { seq: 3, .. }))
    );
}

fn sync_pair(a: &mut Replica, b: &mut Replica, optimistic: bool, faults: &Faults) -> Outcome {
    let (ia, ib) = (a.id(), b.id());
    let ca = config_for(a, ib, optimistic);
    let cb = config_for(b, ia, optimistic);
    run_session(
        Side {
            replica: a,
            config: ca,
            scope: Everything,
        },
        Side {
            replica: b,
            config: cb,
            scope: Everything,
        },
        faults,
        1000,
    )
    .0
}

#[test]
fn a_no_op_session_is_one_round_trip() {
    let (mut site, _) = authored(50);
    let mut hub = Replica::new(30);
    assert!(sync_pair(&mut site, &mut hub, false, &Faults::none()).finished);
    let outcome = sync_pair(&mut site, &mut hub, true, &Faults::none());
    assert!(outcome.finished);
    // Hello out, Hello back: nothing else.
    assert_eq!((outcome.flights, outcome.messages), (2, 2), "{outcome:?}");
}

#[test]
fn one_new_entry_takes_one_round_trip_to_be_acknowledged() {
    let (mut site, _) = authored(50);
    let mut hub = Replica::new(31);
    assert!(sync_pair(&mut site, &mut hub, false, &Faults::none()).finished);
    site.write(2, b"new evidence".to_vec(), 500);
    let outcome = sync_pair(&mut site, &mut hub, true, &Faults::none());
    assert!(outcome.finished);
    // Site: Hello + Batch. Hub: Hello + Ack. Site: Done (sent without waiting for anything).
    assert_eq!(outcome.flights, 3, "{outcome:?}");
    assert_eq!(outcome.messages, 5, "{outcome:?}");
    assert_eq!(hub.store.vector().unwrap(), site.store.vector().unwrap());
}

#[test]
fn an_interrupted_session_resumes_without_resending_what_was_acknowledged() {
    let (mut site, _) = authored(300);
    let mut hub = Replica::new(32);
    let (hid, sid) = (hub.id(), site.id());
    let small = |r: &Replica, peer: NodeId| SessionConfig {
        batch_entries: 10,
        window: 1,
        ..config_for(r, peer, true)
    };
    // Cut the link part-way through.
    let (cs, ch) = (small(&site, hid), small(&hub, sid));
    let (cut, _, _) = run_session(
        Side {
            replica: &mut site,
            config: cs,
            scope: Everything,
        },
        Side {
            replica: &mut hub,
            config: ch,
            scope: Everything,
        },
        &Faults {
            cut_after: Some(8_000),
            ..Faults::none()
        },
        1000,
    );
    assert!(!cut.finished);
    let acknowledged = site.known.get(&hid).map_or(0, |v| v.total());
    let held = hub.store.vector().unwrap().total();
    assert!(
        acknowledged > 0 && acknowledged <= held && held < 300,
        "acknowledged {acknowledged}, held {held}"
    );
    // Resume from the checkpoint: the first batch starts right after it.
    let (cs, ch) = (small(&site, hid), small(&hub, sid));
    let (outcome, _, hub_events) = run_session(
        Side {
            replica: &mut site,
            config: cs,
            scope: Everything,
        },
        Side {
            replica: &mut hub,
            config: ch,
            scope: Everything,
        },
        &Faults::none(),
        1000,
    );
    assert!(outcome.finished);
    // Only the unacknowledged tail may arrive twice; nothing at or below the checkpoint does.
    let mut received_from = u64::MAX;
    for e in &hub_events {
        match e {
            Event::Stored { first_seq, .. } | Event::Duplicate { first_seq, .. } => {
                received_from = received_from.min(*first_seq)
            }
            _ => {}
        }
    }
    assert!(
        received_from > acknowledged,
        "resent from {received_from}, acknowledged {acknowledged}"
    );
    assert_eq!(hub.store.vector().unwrap().total(), 300);
    assert!(hub.store.append_counts().values().all(|&c| c == 1));
}

#[test]
fn a_peer_speaking_another_version_is_refused_with_a_clear_error() {
    let (site, _) = authored(1);
    let mut store = MemoryStore::new();
    let mut s = Session::new(SessionConfig::default(), Replica::new(40).id());
    s.start(&store, 0).unwrap();
    let hello = Message::Hello(Hello {
        protocol: 99,
        node: site.id(),
        clock_ms: 0,
        vector: VersionVector::new(),
        frozen: vec![],
        tips: vec![],
    });
    let err = s
        .receive(&encode_frame(&hello).unwrap(), &mut store)
        .unwrap_err();
    assert!(
        matches!(err, SessionError::IncompatibleVersion { theirs: 99, .. }),
        "{err}"
    );
    assert!(s.is_failed());
}

#[test]
fn a_batch_before_hello_is_a_protocol_error() {
    let (site, entries) = authored(1);
    let mut store = MemoryStore::new();
    let mut s = Session::new(SessionConfig::default(), Replica::new(41).id());
    s.start(&store, 0).unwrap();
    let batch = Message::Batch(Batch {
        id: 1,
        runs: vec![run_of(&entries)],
    });
    let err = s
        .receive(&encode_frame(&batch).unwrap(), &mut store)
        .unwrap_err();
    assert!(matches!(err, SessionError::Protocol(_)), "{err}");
    assert!(store.vector().unwrap().is_empty());
    let _ = site;
}

#[test]
fn a_forged_batch_ends_the_session_and_stores_nothing() {
    let (site, entries) = authored(3);
    let mut store = MemoryStore::new();
    let mut s = Session::new(SessionConfig::default(), Replica::new(42).id());
    s.start(&store, 0).unwrap();
    let hello = Message::Hello(Hello {
        protocol: PROTOCOL_VERSION,
        node: site.id(),
        clock_ms: 0,
        vector: site.store.vector().unwrap(),
        frozen: vec![],
        tips: vec![],
    });
    s.receive(&encode_frame(&hello).unwrap(), &mut store)
        .unwrap();
    let good = run_of(&entries[..1]);
    let mut forged = run_of(&entries[1..]);
    forged.origin = good.origin;
    if let Item::Entry(e) = &mut forged.items[0] {
        e.body.data = b"forged award".to_vec();
    }
    let mut other = Replica::new(43);
    other.write(1, b"x".to_vec(), 1);
    let batch = Message::Batch(Batch {
        id: 1,
        runs: vec![
            run_of(
                &other
                    .store
                    .feeds()
                    .into_values()
                    .next()
                    .unwrap()
                    .into_iter()
                    .map(|i| match i {
                        FeedItem::Entry(e) => e,
                        _ => unreachable!(),
                    })
                    .collect::<Vec<_>>(),
            ),
            forged,
        ],
    });
    let err = s
        .receive(&encode_frame(&batch).unwrap(), &mut store)
        .unwrap_err();
    assert!(
        matches!(err, SessionError::Chain(ChainError::BadSignature { .. })),
        "{err}"
    );
    // The valid run in the same batch was not stored either: verification precedes storage.
    assert!(store.vector().unwrap().is_empty());
    // The peer is told why: the last thing the failed session sends is an Error.
    let mut tail = Vec::new();
    while let Some(f) = s.poll_transmit(&store, &Everything).unwrap() {
        tail = f;
    }
    let mut d = FrameDecoder::new(Limits::default());
    d.push(&tail);
    assert!(
        matches!(d.next_message().unwrap(), Some(Message::Error(e)) if e.code == message::ErrorCode::Forged)
    );
}

#[test]
fn a_storage_failure_is_never_acknowledged() {
    let (mut site, _) = authored(5);
    let mut hub = Replica::new(44);
    hub.store.fail_next_append = true;
    let outcome = sync_pair(&mut site, &mut hub, false, &Faults::none());
    assert!(outcome.failed);
    assert!(site.known.get(&hub.id()).is_none_or(|v| v.is_empty()));
    assert!(hub.store.vector().unwrap().is_empty());
    assert!(sync_pair(&mut site, &mut hub, true, &Faults::none()).finished);
    assert_eq!(hub.store.vector().unwrap().total(), 5);
}

#[test]
fn a_relay_without_signatures_or_a_vouch_key_sends_only_what_it_can_authenticate() {
    // The hub receives the site's feed with amortized signatures (only run ends signed)...
    let (mut site, _) = authored(20);
    let mut hub = Replica::new(45);
    let (sid, hid) = (site.id(), hub.id());
    let small = SessionConfig {
        batch_entries: 7,
        ..SessionConfig::default()
    };
    run_session(
        Side {
            replica: &mut site,
            config: small.clone(),
            scope: Everything,
        },
        Side {
            replica: &mut hub,
            config: small,
            scope: Everything,
        },
        &Faults::none(),
        100,
    );
    let signed: Vec<u64> = hub.store.feeds()[&site.store.feeds().keys().next().copied().unwrap()]
        .iter()
        .filter(|i| i.auth().is_some())
        .map(|i| i.last_seq())
        .collect();
    assert!(
        signed.len() < 20 && signed.contains(&20),
        "signed: {signed:?}"
    );
    // ...then relays to another node with tiny batches and no vouch key: every run it sends must
    // end on an entry whose signature it holds, and the receiver verifies everything.
    let mut other = Replica::new(46);
    let tiny = SessionConfig {
        batch_entries: 2,
        ..SessionConfig::default()
    };
    let (outcome, _, _) = run_session(
        Side {
            replica: &mut hub,
            config: tiny.clone(),
            scope: Everything,
        },
        Side {
            replica: &mut other,
            config: tiny,
            scope: Everything,
        },
        &Faults::none(),
        200,
    );
    assert!(outcome.finished, "{outcome:?}");
    assert_eq!(other.store.vector().unwrap(), hub.store.vector().unwrap());
    let _ = (sid, hid);
}

/// A hub holding a node's two-entry feed, and a copy of that node restored from before its
/// second entry that then wrote a different second entry: two equally long versions of one feed.
/// Returns the hub, the restored copy, and the entry the copy lost.
fn equally_long_versions(seed: u64) -> (Replica, Replica, StoredEntry) {
    let mut original = Replica::new(seed);
    original.write(1, b"one".to_vec(), 1);
    let lost = original.write(1, b"two".to_vec(), 2);
    let mut restored = Replica::new(seed);
    restored.write(1, b"one".to_vec(), 1);
    let rewritten = restored.write(1, b"two, written again".to_vec(), 3);
    assert_eq!(lost.entry.seq, rewritten.entry.seq);
    let mut hub = Replica::new(seed + 1);
    assert!(sync_pair(&mut original, &mut hub, false, &Faults::none()).finished);
    (hub, restored, lost)
}

#[test]
fn two_equally_long_versions_of_a_feed_are_detected_as_a_fork() {
    // A node restored from a backup writes exactly as many entries as it lost: the vectors are
    // equal, but the last entries differ. The tip fingerprints in Hello expose it.
    let (mut hub, mut restored, lost) = equally_long_versions(60);
    let none = SessionConfig::default;
    let (outcome, restored_events, hub_events) = run_session(
        Side {
            replica: &mut restored,
            config: none(),
            scope: Everything,
        },
        Side {
            replica: &mut hub,
            config: none(),
            scope: Everything,
        },
        &Faults::none(),
        100,
    );
    assert!(outcome.finished, "{outcome:?}");
    let found = |events: &[Event]| {
        events
            .iter()
            .any(|e| matches!(e, Event::Fork(f) if f.seq == 2))
    };
    assert!(found(&hub_events), "the hub did not see the fork");
    assert!(
        found(&restored_events),
        "the restored node did not see the fork"
    );
    assert_eq!(
        hub.store.hash_at(&lost.entry.origin, 2).unwrap(),
        Some(lost.hash),
        "the hub kept what it had"
    );
}

/// With two equally long versions of a feed, each side resends its last entry so that the
/// other sees the fork, and each must wait for the other's before finishing. The site answers
/// the hub's first flight with its acknowledgement and then its resent entry; a hub that read the
/// acknowledgement alone used to finish on it, close the connection with the entry unread, and
/// leave the site waiting for its acknowledgement ("the peer closed the connection before the
/// sync finished").
#[test]
fn an_equal_length_fork_is_seen_by_both_sides_whatever_each_read_holds() {
    let (mut hub, mut restored, _) = equally_long_versions(62);
    let none = SessionConfig::default;
    // Something of the hub's own the site lacks: the hub has a batch of its own in flight.
    hub.write(2, b"catalog".to_vec(), 4);

    let mut site = Session::new(none(), restored.id());
    let mut at_hub = Session::new(none(), hub.id());
    site.start(&restored.store, 5).unwrap();
    at_hub.start(&hub.store, 5).unwrap();
    let site_hello = sent(&mut site, &restored.store);
    for f in &site_hello {
        at_hub.receive(f, &mut hub.store).unwrap();
    }
    // The hub's Hello and batches reach the site in one read.
    let to_site: Vec<u8> = sent(&mut at_hub, &hub.store).concat();
    site.receive(&to_site, &mut restored.store).unwrap();
    // The site answers: acknowledgements, then its resent last entry. The hub reads one frame at
    // a time, sends what it has after each, and once finished closes: it reads nothing more.
    let mut to_hub: std::collections::VecDeque<Vec<u8>> = sent(&mut site, &restored.store).into();
    for _ in 0..20 {
        let mut progressed = false;
        if !at_hub.is_finished()
            && let Some(f) = to_hub.pop_front()
        {
            at_hub.receive(&f, &mut hub.store).unwrap();
            progressed = true;
        }
        let back = sent(&mut at_hub, &hub.store);
        for f in &back {
            site.receive(f, &mut restored.store).unwrap();
        }
        let more = sent(&mut site, &restored.store);
        progressed |= !back.is_empty() || !more.is_empty();
        to_hub.extend(more);
        if !progressed {
            break;
        }
    }
    assert!(at_hub.is_finished(), "the hub did not finish");
    assert!(
        site.is_finished(),
        "the hub finished while the site still waited for an acknowledgement"
    );
    let forks = |session: &mut Session| {
        std::iter::from_fn(|| session.poll_event())
            .any(|e| matches!(e, Event::Fork(f) if f.seq == 2))
    };
    assert!(forks(&mut at_hub), "the hub did not see the fork");
    assert!(forks(&mut site), "the site did not see the fork");
}

/// A site whose checkpoint of the hub lags (it was killed before it saved the last
/// acknowledgements) sends those entries again with its `Hello`. The hub holds them and has
/// nothing for the site: it finishes on the site's `Hello` and closes, possibly before the
/// resent batch arrives. The site must then finish too, not wait for acknowledgements of
/// entries the hub's `Hello` shows it holds.
#[test]
fn a_site_resending_what_the_hub_holds_finishes_when_the_hub_closes_early() {
    let (mut site, _) = authored(20);
    let mut hub = Replica::new(64);
    let (sid, hid) = (site.id(), hub.id());
    assert!(sync_pair(&mut site, &mut hub, false, &Faults::none()).finished);
    // The checkpoint lost its last acknowledgements.
    let mut lagging = site.known[&hid].clone();
    let own = Origin {
        node: sid,
        epoch: 0,
    };
    lagging = lagging
        .iter()
        .map(|(o, s)| (*o, if *o == own { s - 5 } else { *s }))
        .collect();
    let mut at_site = Session::new(
        SessionConfig {
            known_peer: Some(lagging),
            ..SessionConfig::default()
        },
        sid,
    );
    let mut at_hub = Session::new(config_for(&hub, sid, true), hid);
    at_site.start(&site.store, 5).unwrap();
    at_hub.start(&hub.store, 5).unwrap();
    let from_site = sent(&mut at_site, &site.store);
    assert!(from_site.len() > 1, "the site resends with its Hello");
    // The hub reads the Hello alone, answers, and is finished: it closes.
    at_hub.receive(&from_site[0], &mut hub.store).unwrap();
    let back = sent(&mut at_hub, &hub.store);
    assert!(at_hub.is_finished());
    for f in &back {
        at_site.receive(f, &mut site.store).unwrap();
    }
    let _ = sent(&mut at_site, &site.store);
    assert!(
        at_site.is_finished(),
        "the site waits for acknowledgements that cannot come"
    );
}

/// A [`MemoryStore`] that counts the stored entries read for their hash.
struct HashReads {
    inner: MemoryStore,
    reads: std::cell::Cell<usize>,
}

impl LogStore for HashReads {
    type Error = <MemoryStore as LogStore>::Error;
    fn vector(&self) -> Result<VersionVector, Self::Error> {
        self.inner.vector()
    }
    fn frozen(&self) -> Result<Vec<Origin>, Self::Error> {
        self.inner.frozen()
    }
    fn tip(&self, origin: &Origin) -> Result<Option<Tip>, Self::Error> {
        self.inner.tip(origin)
    }
    fn hash_at(&self, origin: &Origin, seq: u64) -> Result<Option<Hash32>, Self::Error> {
        self.reads.set(self.reads.get() + 1);
        self.inner.hash_at(origin, seq)
    }
    fn read(&self, origin: &Origin, from: u64, max: usize) -> Result<Vec<FeedItem>, Self::Error> {
        self.inner.read(origin, from, max)
    }
    fn append(&mut self, runs: &[VerifiedRun]) -> Result<(), Self::Error> {
        self.inner.append(runs)
    }
    fn freeze(&mut self, fork: &Fork) -> Result<(), Self::Error> {
        self.inner.freeze(fork)
    }
}

#[test]
fn a_run_that_follows_the_tip_is_checked_against_the_tip_without_reading_entries() {
    // A site's next batch starts just after what the hub holds: its link to the held chain is
    // the tip's own hash, so classifying it reads no stored entry (a block of up to 64).
    let mut original = Replica::new(23);
    let first = original.write(1, b"one".to_vec(), 1);
    let second = original.write(1, b"two".to_vec(), 2);
    let third = original.write(1, b"three".to_vec(), 3);
    let mut store = HashReads {
        inner: MemoryStore::new(),
        reads: std::cell::Cell::new(0),
    };
    let origin = first.entry.origin.node;
    let v = verify(run_of(&[first.clone(), second.clone()]), origin).unwrap();
    let Classified::Append(new) = classify(&store, v, &[]).unwrap() else {
        panic!("expected new entries")
    };
    store.append(&[new]).unwrap();
    store.reads.set(0);
    let next = verify(run_of(std::slice::from_ref(&third)), origin).unwrap();
    assert!(matches!(
        classify(&store, next, &[]).unwrap(),
        Classified::Append(_)
    ));
    assert_eq!(
        store.reads.get(),
        0,
        "the link was checked by reading an entry"
    );
    // A run that follows a different entry 2 (the same key, restored from a backup taken after
    // entry 1) still contradicts the tip, and is a fork at 2.
    let mut restored = Replica::new(23);
    restored.write(1, b"one".to_vec(), 1);
    let forked_second = restored.write(1, b"two, again but different".to_vec(), 3);
    let forked_third = restored.write(1, b"three".to_vec(), 4);
    let v = verify(run_of(&[forked_third]), origin).unwrap();
    assert_eq!(
        classify(&store, v, &[]).unwrap(),
        Classified::Fork(Fork {
            origin: first.entry.origin,
            seq: 2,
            held: second.hash,
            incoming: forked_second.hash,
        })
    );
    assert_eq!(store.reads.get(), 0);
}
