//! The store: durable local changes, sync between two stores through the protocol session,
//! changes that wait for their dependencies, check and rebuild.

use automerge::{ROOT, ReadDoc, transaction::Transactable};
use cairn_node::store::{Author, Store, SyncStore};
use cairn_sync_protocol::*;
use rand::SeedableRng;

fn open_store(dir: &std::path::Path) -> cairn_node::error::Result<Store> {
    Store::open(dir, std::sync::Arc::new(cairn_node::records::DocumentIndex))
}

/// A store whose queued batches are derived only when something reads derived state, so a test
/// can stop between acknowledging and deriving.
fn open_without_worker(dir: &std::path::Path) -> Store {
    Store::open_without_worker(dir, std::sync::Arc::new(cairn_node::records::DocumentIndex))
        .unwrap()
}

/// A hub's store whose authority is `kh`, without the worker, so a peer's batch stays queued
/// until a read derives it (the scope tests decide on what is queued and what is derived).
fn scope_hub(dir: &std::path::Path, kh: &NodeKey) -> Store {
    let hub = open_without_worker(dir);
    hub.set_local("authority", &kh.id().to_string()).unwrap();
    hub
}

fn key(seed: u64) -> NodeKey {
    NodeKey::generate(&mut rand::rngs::StdRng::seed_from_u64(seed))
}

fn author(key: &NodeKey, now_ms: u64) -> Author<'_> {
    Author {
        key,
        epoch: 0,
        now_ms,
        user: UserId([9; 16]),
    }
}

fn put(
    store: &Store,
    key: &NodeKey,
    doc: DocId,
    field: &str,
    value: &str,
    now: u64,
) -> StoredEntry {
    let (_, entry) = store
        .change_doc(&author(key, now), doc, "test", |tx| {
            tx.put(ROOT, field, value)
                .map_err(|e| cairn_node::error::Error::invalid(e.to_string()))?;
            Ok(())
        })
        .unwrap();
    entry.expect("a change")
}

fn get(store: &Store, doc: DocId, field: &str) -> Option<String> {
    let am = store.doc(&doc).unwrap()?;
    am.get(ROOT, field)
        .unwrap()
        .map(|(v, _)| v.as_str().unwrap_or_default().to_string())
}

/// Sync two stores through the protocol session until both finish.
fn sync(a: &Store, ka: &NodeKey, b: &Store, kb: &NodeKey) {
    let mut sa = Session::new(SessionConfig::default(), ka.id());
    let mut sb = Session::new(SessionConfig::default(), kb.id());
    let (mut xa, mut xb) = (SyncStore::new(a), SyncStore::new(b));
    sa.start(&xa, 1).unwrap();
    sb.start(&xb, 1).unwrap();
    for _ in 0..1000 {
        while let Some(f) = sa.poll_transmit(&xa, &Everything).unwrap() {
            sb.receive(&f, &mut xb).unwrap();
        }
        while let Some(f) = sb.poll_transmit(&xb, &Everything).unwrap() {
            sa.receive(&f, &mut xa).unwrap();
        }
        if sa.is_finished() && sb.is_finished() {
            return;
        }
    }
    panic!("sync did not finish");
}

#[test]
fn a_local_change_is_durable_and_signed() {
    let dir = tempfile::tempdir().unwrap();
    let k = key(1);
    let doc = DocId([1; 16]);
    {
        let store = open_store(dir.path()).unwrap();
        let e = put(&store, &k, doc, "name", "Ada", 1000);
        assert_eq!(e.entry.seq, 1);
        put(&store, &k, doc, "name", "Ada L.", 2000);
    }
    let store = open_store(dir.path()).unwrap();
    assert_eq!(get(&store, doc, "name").as_deref(), Some("Ada L."));
    let origin = Origin {
        node: k.id(),
        epoch: 0,
    };
    assert_eq!(store.tip(&origin).unwrap().unwrap().seq, 2);
    let report = store.check(None).unwrap();
    assert!(report.ok(), "{:?}", report.problems);
    assert_eq!((report.feeds, report.entries, report.documents), (1, 2, 1));
}

/// A store opened without sled's periodic flush (the benchmarks' simulated sites) still has on
/// disk everything a writer waited for: a copy of its files taken while it is open, as a crash
/// would leave them, holds the local change and both entries.
#[test]
fn without_the_periodic_flush_what_was_waited_for_is_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let k = key(3);
    let doc = DocId([3; 16]);
    let store = Store::open_without_periodic_flush(
        dir.path(),
        std::sync::Arc::new(cairn_node::records::DocumentIndex),
    )
    .unwrap();
    put(&store, &k, doc, "name", "Ada", 1000);
    put(&store, &k, doc, "name", "Ada L.", 2000);
    store.set_local("note", &"kept").unwrap();
    let copy = tempfile::tempdir().unwrap();
    cairn_node::node::copy_dir(dir.path(), copy.path()).unwrap();
    let copied = open_store(copy.path()).unwrap();
    assert_eq!(
        copied.local::<String>("note").unwrap().as_deref(),
        Some("kept")
    );
    let origin = Origin {
        node: k.id(),
        epoch: 0,
    };
    assert_eq!(copied.tip(&origin).unwrap().unwrap().seq, 2);
    assert_eq!(get(&copied, doc, "name").as_deref(), Some("Ada L."));
    drop(store);
}

#[test]
fn a_change_that_alters_nothing_writes_no_entry() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).unwrap();
    let k = key(2);
    let (_, entry) = store
        .change_doc(&author(&k, 1), DocId([2; 16]), "noop", |_| Ok(()))
        .unwrap();
    assert!(entry.is_none());
    assert!(store.vector().unwrap().is_empty());
}

/// A change larger than one entry may carry is refused, and nothing of it is stored.
#[test]
fn a_change_over_the_entry_limit_is_refused_and_nothing_is_written() {
    use rand::RngCore;
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).unwrap();
    let k = key(4);
    let doc = DocId([4; 16]);
    put(&store, &k, doc, "status", "enrolled", 1);
    // Random bytes, so that automerge's compression cannot bring the change under the limit.
    let mut big = vec![0u8; cairn_sync_protocol::limits::MAX_PAYLOAD + 1024];
    rand::rngs::StdRng::seed_from_u64(4).fill_bytes(&mut big);
    let refused = store.change_doc(&author(&k, 2), doc, "too big", |tx| {
        tx.put(ROOT, "scan", automerge::ScalarValue::Bytes(big.clone()))
            .map_err(|e| cairn_node::error::Error::invalid(e.to_string()))?;
        tx.put(ROOT, "status", "submitted")
            .map_err(|e| cairn_node::error::Error::invalid(e.to_string()))?;
        Ok(())
    });
    let message = refused
        .expect_err("an oversized change was stored")
        .to_string();
    assert!(
        message.contains("over the") && message.contains("limit for one entry"),
        "{message}"
    );
    assert_eq!(store.vector().unwrap().total(), 1, "an entry was written");
    assert_eq!(get(&store, doc, "status").as_deref(), Some("enrolled"));
}

#[test]
fn a_failed_edit_leaves_the_document_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).unwrap();
    let k = key(3);
    let doc = DocId([3; 16]);
    put(&store, &k, doc, "status", "enrolled", 1);
    let r = store.change_doc(&author(&k, 2), doc, "bad", |tx| {
        tx.put(ROOT, "status", "awarded").unwrap();
        Err::<(), _>(cairn_node::error::Error::rule(
            "no award without a proficient assessment",
        ))
    });
    assert!(r.is_err());
    assert_eq!(get(&store, doc, "status").as_deref(), Some("enrolled"));
    assert_eq!(store.vector().unwrap().total(), 1);
}

#[test]
fn two_stores_sync_and_derive_the_same_documents() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (
        open_store(da.path()).unwrap(),
        open_store(db.path()).unwrap(),
    );
    let (ka, kb) = (key(10), key(11));
    let doc = DocId([7; 16]);
    put(&a, &ka, doc, "name", "Grace", 1);
    sync(&a, &ka, &b, &kb);
    put(&b, &kb, doc, "level", "2", 2);
    put(&a, &ka, doc, "name", "Grace H.", 3);
    sync(&a, &ka, &b, &kb);
    for s in [&a, &b] {
        assert_eq!(get(s, doc, "name").as_deref(), Some("Grace H."));
        assert_eq!(get(s, doc, "level").as_deref(), Some("2"));
    }
    let heads = |s: &Store| s.doc(&doc).unwrap().unwrap().get_heads();
    assert_eq!(heads(&a), heads(&b));
    assert!(b.check(None).unwrap().ok());
}

#[test]
fn concurrent_values_are_all_kept() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (
        open_store(da.path()).unwrap(),
        open_store(db.path()).unwrap(),
    );
    let (ka, kb) = (key(20), key(21));
    let doc = DocId([8; 16]);
    put(&a, &ka, doc, "language", "English", 1);
    sync(&a, &ka, &b, &kb);
    put(&a, &ka, doc, "language", "Spanish", 2);
    put(&b, &kb, doc, "language", "Portuguese", 2);
    sync(&a, &ka, &b, &kb);
    let am = a.doc(&doc).unwrap().unwrap();
    let all: Vec<String> = am
        .get_all(ROOT, "language")
        .unwrap()
        .into_iter()
        .map(|(v, _)| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(all.contains(&"Spanish".into()) && all.contains(&"Portuguese".into()));
    // Both stores list the conflict for operators ...
    for s in [&a, &b] {
        assert_conflict_index_matches(s, doc);
        assert!(
            s.index_get(&cairn_node::records::index::conflict_key(&doc))
                .unwrap()
                .is_some()
        );
    }
    // ... until someone settles it; a later write on one line of history clears it everywhere.
    put(&a, &ka, doc, "language", "Spanish", 3);
    sync(&a, &ka, &b, &kb);
    for s in [&a, &b] {
        assert_conflict_index_matches(s, doc);
        assert!(
            s.index_get(&cairn_node::records::index::conflict_key(&doc))
                .unwrap()
                .is_none()
        );
    }
}

/// The conflict index entry of `doc` is exactly what walking the whole document finds.
fn assert_conflict_index_matches(store: &Store, doc: DocId) {
    let walked = store
        .doc(&doc)
        .unwrap()
        .map(|am| cairn_node::records::am::conflicts(&am))
        .unwrap_or_default();
    let expected = (!walked.is_empty()).then(|| serde_json::to_vec(&walked).unwrap());
    assert_eq!(
        store
            .index_get(&cairn_node::records::index::conflict_key(&doc))
            .unwrap(),
        expected,
        "conflicts of {doc:?}: {walked:?}"
    );
}

#[derive(Clone, Debug)]
enum Step {
    /// Node `node` writes `value` into `field` of `doc`, at the root or in a nested map.
    Put {
        node: usize,
        doc: u8,
        field: u8,
        value: u8,
        nested: bool,
    },
    /// Two nodes sync.
    Sync(usize, usize),
}

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    use proptest::prelude::*;
    prop_oneof![
        3 => (0..3usize, 0..3u8, 0..3u8, 0..4u8, any::<bool>()).prop_map(
            |(node, doc, field, value, nested)| Step::Put { node, doc, field, value, nested }
        ),
        1 => (0..3usize, 0..3usize)
            .prop_filter("two different nodes", |(a, b)| a != b)
            .prop_map(|(a, b)| Step::Sync(a, b)),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, ..Default::default() })]
    /// Whatever the interleaving of edits and syncs, the conflict index (which skips the walk
    /// when a document's history stayed one line) equals a walk of every document, before and
    /// after a rebuild from the log.
    #[test]
    fn the_conflict_index_matches_a_full_walk_after_any_history(
        steps in proptest::collection::vec(step(), 1..28)
    ) {
        let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
        let stores: Vec<Store> = dirs.iter().map(|d| open_store(d.path()).unwrap()).collect();
        let keys: Vec<NodeKey> = (0..3).map(|i| key(60 + i)).collect();
        let docs: Vec<DocId> = (0..3u8).map(|i| DocId([i + 50; 16])).collect();
        for (t, s) in steps.iter().enumerate() {
            match *s {
                Step::Put { node, doc, field, value, nested } => {
                    let (store, k) = (&stores[node], &keys[node]);
                    let field = format!("f{field}");
                    let value = format!("v{value}");
                    store
                        .change_doc(&author(k, t as u64), docs[doc as usize], "test", |tx| {
                            let err = |e: automerge::AutomergeError| {
                                cairn_node::error::Error::invalid(e.to_string())
                            };
                            let obj = if nested {
                                match tx.get(ROOT, "profile").map_err(err)? {
                                    Some((automerge::Value::Object(automerge::ObjType::Map), id)) => id,
                                    _ => tx.put_object(ROOT, "profile", automerge::ObjType::Map).map_err(err)?,
                                }
                            } else {
                                ROOT
                            };
                            tx.put(&obj, field.as_str(), value.as_str()).map_err(err)?;
                            Ok(())
                        })
                        .unwrap();
                }
                Step::Sync(a, b) => sync(&stores[a], &keys[a], &stores[b], &keys[b]),
            }
        }
        for store in &stores {
            for doc in &docs {
                assert_conflict_index_matches(store, *doc);
            }
        }
        stores[0].rebuild().unwrap();
        for doc in &docs {
            assert_conflict_index_matches(&stores[0], *doc);
        }
    }
}

#[test]
fn a_change_whose_dependency_has_not_arrived_waits_across_a_restart() {
    // Node A writes twice; C receives only A's second change (via a forged-free path: we hand the
    // derived layer the runs out of order by syncing B first with A's first change only).
    let (da, dc) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = open_store(da.path()).unwrap();
    let ka = key(30);
    let doc = DocId([9; 16]);
    put(&a, &ka, doc, "step", "one", 1);
    // B edits the same document after seeing A's first change.
    let db = tempfile::tempdir().unwrap();
    let b = open_store(db.path()).unwrap();
    let kb = key(31);
    sync(&a, &ka, &b, &kb);
    put(&b, &kb, doc, "step", "two", 2);
    // C gets B's feed only (B's change depends on A's, which C lacks).
    let kc = key(32);
    {
        let c = open_store(dc.path()).unwrap();
        struct OnlyOrigin(Origin);
        impl Scope for OnlyOrigin {
            fn send_origin(&self, o: &Origin) -> bool {
                *o == self.0
            }
        }
        let only_b = OnlyOrigin(Origin {
            node: kb.id(),
            epoch: 0,
        });
        let mut sb = Session::new(SessionConfig::default(), kb.id());
        let mut sc = Session::new(SessionConfig::default(), kc.id());
        let (mut xb, mut xc) = (SyncStore::new(&b), SyncStore::new(&c));
        sb.start(&xb, 1).unwrap();
        sc.start(&xc, 1).unwrap();
        for _ in 0..100 {
            while let Some(f) = sb.poll_transmit(&xb, &only_b).unwrap() {
                sc.receive(&f, &mut xc).unwrap();
            }
            while let Some(f) = sc.poll_transmit(&xc, &Everything).unwrap() {
                sb.receive(&f, &mut xb).unwrap();
            }
            if sb.is_finished() && sc.is_finished() {
                break;
            }
        }
        assert_eq!(c.vector().unwrap().total(), 1);
        // The change is held but cannot apply yet.
        assert!(get(&c, doc, "step").is_none());
    }
    // Restart C, then give it A's change: B's waiting change applies too.
    let c = open_store(dc.path()).unwrap();
    sync(&a, &ka, &c, &kc);
    assert_eq!(get(&c, doc, "step").as_deref(), Some("two"));
}

#[test]
fn rebuild_recomputes_the_same_documents() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).unwrap();
    let k = key(40);
    let docs: Vec<DocId> = (0..5u8).map(|i| DocId([i + 100; 16])).collect();
    for (i, d) in docs.iter().enumerate() {
        for j in 0..4 {
            put(
                &store,
                &k,
                *d,
                &format!("f{j}"),
                &format!("v{i}{j}"),
                (i * 10 + j) as u64,
            );
        }
    }
    let before: Vec<_> = docs
        .iter()
        .map(|d| store.doc(d).unwrap().unwrap().get_heads())
        .collect();
    let report = store.rebuild().unwrap();
    assert_eq!((report.feeds, report.entries, report.documents), (1, 20, 5));
    drop(store);
    let store = open_store(dir.path()).unwrap();
    let after: Vec<_> = docs
        .iter()
        .map(|d| store.doc(d).unwrap().unwrap().get_heads())
        .collect();
    assert_eq!(before, after);
    assert!(store.check(None).unwrap().ok());
}

#[test]
fn a_batch_touching_hundreds_of_documents_derives_each_of_them() {
    // 300 documents in one session: derived in groups, on several threads (store/derive.rs).
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (
        open_store(da.path()).unwrap(),
        open_store(db.path()).unwrap(),
    );
    let (ka, kb) = (key(70), key(71));
    let docs: Vec<DocId> = (0..300u16)
        .map(|i| {
            let mut d = [3u8; 16];
            d[..2].copy_from_slice(&i.to_be_bytes());
            DocId(d)
        })
        .collect();
    for (i, d) in docs.iter().enumerate() {
        // Learner-shaped, so each document produces index entries.
        a.change_doc(&author(&ka, i as u64), *d, "test", |tx| {
            let err =
                |e: automerge::AutomergeError| cairn_node::error::Error::invalid(e.to_string());
            tx.put(ROOT, "type", "learner").map_err(err)?;
            tx.put(ROOT, "id", format!("L-{i}")).map_err(err)?;
            tx.put(ROOT, "name", format!("learner {i}")).map_err(err)?;
            Ok(())
        })
        .unwrap();
    }
    sync(&a, &ka, &b, &kb);
    for (i, d) in docs.iter().enumerate() {
        assert_eq!(get(&b, *d, "name"), Some(format!("learner {i}")), "{d:?}");
    }
    // What the batch derived is what a rebuild from the log derives.
    let derived = b.index_scan(b"").unwrap();
    assert!(
        derived.len() >= 2 * docs.len(),
        "{} index entries",
        derived.len()
    );
    // Every learner is found by its id (the record index, kept in buckets, is not scanned).
    let found = |store: &Store| {
        docs.iter()
            .enumerate()
            .filter(|(i, d)| {
                store.index_get(format!("id/L-{i}").as_bytes()).unwrap() == Some(d.0.to_vec())
            })
            .count()
    };
    assert_eq!(found(&b), docs.len());
    let heads: Vec<_> = docs
        .iter()
        .map(|d| b.doc(d).unwrap().unwrap().get_heads())
        .collect();
    b.rebuild().unwrap();
    assert_eq!(b.index_scan(b"").unwrap(), derived);
    assert_eq!(found(&b), docs.len());
    let rebuilt: Vec<_> = docs
        .iter()
        .map(|d| b.doc(d).unwrap().unwrap().get_heads())
        .collect();
    assert_eq!(rebuilt, heads);
}

/// Every whole entry of the log (elided ranges left out), feed by feed.
fn whole_entries(store: &Store) -> Vec<StoredEntry> {
    let mut out = Vec::new();
    for (origin, held) in store.vector().unwrap().iter() {
        for item in store.read_items(origin, 1, *held as usize + 1).unwrap() {
            if let FeedItem::Entry(se) = item {
                out.push(se);
            }
        }
    }
    out
}

/// Every whole entry of the log, per document, as (origin, seq, kind byte), sorted.
fn log_entries_by_doc(store: &Store) -> std::collections::BTreeMap<DocId, Vec<(Origin, u64, u8)>> {
    let mut out: std::collections::BTreeMap<DocId, Vec<(Origin, u64, u8)>> = Default::default();
    for se in whole_entries(store) {
        out.entry(se.entry.body.doc).or_default().push((
            se.entry.origin,
            se.entry.seq,
            cairn_node::store::kind_byte(se.entry.body.kind),
        ));
    }
    for v in out.values_mut() {
        v.sort();
    }
    out
}

/// The `X` lists and the learner count agree with the log and the index they summarize.
fn assert_entry_lists_and_counts(store: &Store) {
    for (doc, mut expected) in log_entries_by_doc(store) {
        let mut listed = store.doc_entries(&doc).unwrap();
        listed.sort();
        expected.dedup();
        assert_eq!(listed, expected, "entries of {doc:?}");
    }
    assert_eq!(
        store.index_count(b"learner/").unwrap(),
        store.index_scan(b"learner/").unwrap().len() as u64
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 24, ..Default::default() })]
    /// Whatever the interleaving of edits (documents becoming learners and ceasing to be) and
    /// syncs, each document's merged entry lists hold exactly its entries in the log and the
    /// maintained learner count equals a scan — before and after a rebuild, and across a reopen.
    #[test]
    fn entry_lists_and_the_learner_count_match_the_log_after_any_history(
        steps in proptest::collection::vec(
            (0..3usize, 0..4u8, proptest::prelude::any::<bool>(), 0..3usize, 0..5u8),
            1..40
        )
    ) {
        let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
        let mut stores: Vec<Store> = dirs.iter().map(|d| open_store(d.path()).unwrap()).collect();
        let keys: Vec<NodeKey> = (0..3).map(|i| key(80 + i)).collect();
        for (t, (node, doc, learner, other, burst)) in steps.iter().copied().enumerate() {
            if other != node && burst == 0 {
                sync(&stores[node], &keys[node], &stores[other], &keys[other]);
                continue;
            }
            // A burst of changes, so lists fill past one key now and then.
            for b in 0..(burst as usize * 9 + 1) {
                stores[node]
                    .change_doc(&author(&keys[node], (t * 100 + b) as u64), DocId([doc + 1; 16]), "t", |tx| {
                        let err = |e: automerge::AutomergeError| cairn_node::error::Error::invalid(e.to_string());
                        tx.put(ROOT, "type", if learner { "learner" } else { "other" }).map_err(err)?;
                        tx.put(ROOT, "n", (t * 100 + b) as i64).map_err(err)?;
                        Ok(())
                    })
                    .unwrap();
            }
        }
        for store in &stores {
            assert_entry_lists_and_counts(store);
        }
        let count = stores[1].index_count(b"learner/").unwrap();
        stores[1].rebuild().unwrap();
        assert_entry_lists_and_counts(&stores[1]);
        assert_eq!(stores[1].index_count(b"learner/").unwrap(), count);
        drop(stores.remove(1));
        let reopened = open_store(dirs[1].path()).unwrap();
        assert_entry_lists_and_counts(&reopened);
    }
}

/// A learner document homed at `home`, written by `key`.
fn learner(store: &Store, key: &NodeKey, doc: DocId, home: &NodeId, now: u64) -> StoredEntry {
    let (_, entry) = store
        .change_doc(&author(key, now), doc, "test", |tx| {
            let err =
                |e: automerge::AutomergeError| cairn_node::error::Error::invalid(e.to_string());
            tx.put(ROOT, "type", "learner").map_err(err)?;
            tx.put(ROOT, "id", format!("L-{}", doc.0[0])).map_err(err)?;
            tx.put(ROOT, "home_site", home.to_string()).map_err(err)?;
            tx.put(ROOT, "written", now).map_err(err)?;
            Ok(())
        })
        .unwrap();
    entry.expect("a change")
}

/// The hub decides what a site may see on derived state that may lag the log
/// (`sync::scope`): a session with one site does not wait for another site's queued batch, and
/// does wait for the site's own and the hub's; the admission check waits only for the hub's.
#[test]
fn a_sites_session_waits_only_for_queued_entries_that_could_change_its_scope() {
    use cairn_node::sync::scope::SiteScope;
    let dir = tempfile::tempdir().unwrap();
    let (kh, kb, kx) = (key(1), key(2), key(3));
    let hub = scope_hub(&dir.path().join("hub"), &kh);
    let site_b = open_store(&dir.path().join("b")).unwrap();
    let site_x = open_store(&dir.path().join("x")).unwrap();
    let (doc_b, doc_x) = (DocId([0xb; 16]), DocId([0xc; 16]));
    let on_b = learner(&site_b, &kb, doc_b, &kb.id(), 10);
    let on_x = learner(&site_x, &kx, doc_x, &kx.id(), 10);

    // B's learner reaches the hub and is derived; X's arrives and stays queued.
    sync(&site_b, &kb, &hub, &kh);
    hub.settle().unwrap();
    sync(&site_x, &kx, &hub, &kh);
    assert!(hub.behind(), "X's batch is queued (no worker)");

    // B's session starts without deriving X's batch, and decides as before.
    let for_b = SiteScope::new(&hub, kh.id(), kb.id(), &VersionVector::new()).unwrap();
    assert!(hub.behind(), "B's session waited for X's batch");
    assert!(sees(&for_b, &on_b));
    assert!(!sees(&for_b, &on_x));
    assert!(for_b.send_origin(&on_b.entry.origin));
    assert!(!for_b.send_origin(&on_x.entry.origin));
    // Nor does the admission check: site records come only from the hub's entries.
    assert_eq!(hub.site_record(&kx.id()).unwrap(), None);
    assert!(hub.behind(), "the admission check waited for X's batch");

    // The hub's upkeep before B's session runs in the background; before X's, it waits.
    use cairn_node::app::{UpkeepWhen, upkeep_when};
    assert_eq!(upkeep_when(&hub, &kb.id()), UpkeepWhen::Background);
    assert_eq!(upkeep_when(&hub, &kx.id()), UpkeepWhen::Here);
    assert!(hub.behind());

    // X's own session waits for X's batch: its learner is homed there once derived.
    let for_x = SiteScope::new(&hub, kh.id(), kx.id(), &VersionVector::new()).unwrap();
    assert!(!hub.behind(), "X's session did not settle X's own batch");
    assert_eq!(upkeep_when(&hub, &kb.id()), UpkeepWhen::Background);
    assert!(sees(&for_x, &on_x));
    assert!(!sees(&for_x, &on_b));

    // Entries of the hub itself (a restored hub receiving its feed back) are waited for by
    // every session and by the admission check.
    let old_hub = open_store(&dir.path().join("old-hub")).unwrap();
    learner(&old_hub, &kh, DocId([0xd; 16]), &kb.id(), 20);
    sync(&old_hub, &kh, &hub, &kb);
    assert!(hub.behind());
    hub.site_record(&kx.id()).unwrap();
    assert!(
        !hub.behind(),
        "the admission check did not wait for the hub's own entries"
    );
    learner(&old_hub, &kh, DocId([0xe; 16]), &kb.id(), 30);
    sync(&old_hub, &kh, &hub, &kb);
    assert!(hub.behind());
    let for_b = SiteScope::new(&hub, kh.id(), kb.id(), &VersionVector::new()).unwrap();
    assert!(
        !hub.behind(),
        "B's session did not wait for the hub's own entries"
    );
    assert!(sees(
        &for_b,
        &learner(&hub, &kh, DocId([0xe; 16]), &kb.id(), 40)
    ));
}

/// The hub's upkeep before a site's session waits for every queued batch to be derived (its
/// reads and writes settle the whole store), so it runs there only when no other node's batches
/// are queued: otherwise the site would wait for other sites' work before its session began
/// (docs/benchmarks.md, round 44, where such waits kept a new site silent past its 60 s limit).
#[test]
fn the_upkeep_before_a_session_never_waits_for_another_sites_queued_batch() {
    use cairn_node::app::{UpkeepWhen, upkeep_when};
    use cairn_node::domain::ids;
    use cairn_node::payload::{ControlRecord, encode};
    let dir = tempfile::tempdir().unwrap();
    let (kh, kn, kx) = (key(1), key(2), key(3));
    let hub = scope_hub(&dir.path().join("hub"), &kh);
    // N is admitted and its key not yet endorsed: the upkeep has work for N.
    let admitted = ControlRecord::SiteAdmitted {
        site: kn.id(),
        site_id: "n".into(),
        name: "N".into(),
    };
    hub.author_entry(
        &author(&kh, 5),
        ids::trust_doc(),
        BodyKind::Control,
        encode(&admitted).unwrap(),
    )
    .unwrap();
    assert!(
        hub.site_record(&kn.id())
            .unwrap()
            .is_some_and(|r| r.endorsement.is_none())
    );
    assert_eq!(upkeep_when(&hub, &kn.id()), UpkeepWhen::Here);

    // X's learner arrives and stays queued (no worker): N's session does not wait for it.
    let site_x = open_store(&dir.path().join("x")).unwrap();
    learner(&site_x, &kx, DocId([0xc; 16]), &kx.id(), 10);
    sync(&site_x, &kx, &hub, &kh);
    assert!(hub.behind());
    assert_eq!(upkeep_when(&hub, &kn.id()), UpkeepWhen::Background);
    assert!(hub.behind(), "deciding waited for X's batch");
    // X's own work still runs before X's session: only X's batch is queued.
    assert_eq!(upkeep_when(&hub, &kx.id()), UpkeepWhen::Here);

    // Once nothing is queued, N's endorsement is signed before its session again.
    hub.settle().unwrap();
    assert_eq!(upkeep_when(&hub, &kn.id()), UpkeepWhen::Here);
}

/// Whether `scope` lets its site see `entry` whole.
fn sees(scope: &cairn_node::sync::scope::SiteScope<'_>, entry: &StoredEntry) -> bool {
    scope.visible(
        &entry.entry.origin,
        entry.entry.seq,
        &entry.entry.body.as_ref(),
    )
}

/// While a sync session runs, the worker leaves peers' batches queued (a crowd of sites is
/// answered first); a read still sees them at once (it derives them itself), and once the
/// sessions end the worker derives what is left without anyone asking.
#[test]
fn the_worker_derives_after_the_sessions_and_reads_never_wait_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let (ka, kb) = (key(1), key(2));
    let a = open_store(&dir.path().join("a")).unwrap();
    let b = open_store(&dir.path().join("b")).unwrap();
    let (first, second) = (DocId([1; 16]), DocId([2; 16]));
    put(&a, &ka, first, "name", "first", 10);
    put(&a, &ka, second, "name", "second", 11);

    let running = b.session_running();
    sync(&a, &ka, &b, &kb);
    // Bounded: 400 ms is 8 lulls' worth; the worker must not have derived in it.
    std::thread::sleep(std::time::Duration::from_millis(400));
    assert!(b.behind(), "the worker derived while a session was running");
    // A read does not wait for the worker: it derives on its own thread.
    assert_eq!(get(&b, first, "name").as_deref(), Some("first"));
    assert!(!b.behind());

    // A second batch arrives; once the session ends the worker derives it (within 10 s, far
    // above the 3 s longest wait).
    put(&a, &ka, second, "name", "changed", 12);
    sync(&a, &ka, &b, &kb);
    assert!(b.behind());
    drop(running);
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while b.behind() && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        !b.behind(),
        "the worker did not derive after the session ended"
    );
    assert_eq!(get(&b, second, "name").as_deref(), Some("changed"));
}

/// Whose entries wait in the derivation queue is kept in memory (a hub asks before every
/// session): it survives a restart with the queue, ends with derivation and with a rebuild, and
/// never says "not queued" of a node whose entries are.
#[test]
fn whose_entries_are_queued_is_known_across_a_restart_and_a_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let (kh, kb, kx) = (key(1), key(2), key(3));
    let open_hub = || open_without_worker(&dir.path().join("hub"));
    let site_b = open_store(&dir.path().join("b")).unwrap();
    let site_x = open_store(&dir.path().join("x")).unwrap();
    learner(&site_b, &kb, DocId([0xb; 16]), &kb.id(), 10);
    learner(&site_x, &kx, DocId([0xc; 16]), &kx.id(), 10);
    learner(&site_x, &kx, DocId([0xd; 16]), &kx.id(), 11);
    let is = |store: &Store, who: &NodeKey| store.queued_from(|n| *n == who.id()).unwrap();
    {
        let hub = open_hub();
        sync(&site_b, &kb, &hub, &kh);
        hub.settle().unwrap();
        sync(&site_x, &kx, &hub, &kh);
        assert!(is(&hub, &kx) && !is(&hub, &kb));
    }
    let hub = open_hub();
    assert!(
        is(&hub, &kx),
        "X's batch, left queued, is known after a restart"
    );
    assert!(!is(&hub, &kb));
    // One pass, one node's entries in two queue records: both derived, nothing left counted.
    learner(&site_x, &kx, DocId([0xe; 16]), &kx.id(), 12);
    sync(&site_x, &kx, &hub, &kh);
    hub.settle().unwrap();
    assert!(!is(&hub, &kx) && !hub.behind());
    for doc in [0xc, 0xd, 0xe] {
        assert!(
            hub.doc(&DocId([doc; 16])).unwrap().is_some(),
            "document {doc:x} was not derived"
        );
    }
    learner(&site_b, &kb, DocId([0xf; 16]), &kb.id(), 13);
    sync(&site_b, &kb, &hub, &kh);
    assert!(is(&hub, &kb));
    hub.rebuild().unwrap();
    assert!(!is(&hub, &kb), "a rebuild derives what was queued");

    // The tips in one pass are the vector and each origin's tip.
    let tips = hub.tips().unwrap();
    let vector = hub.vector().unwrap();
    assert_eq!(tips.len(), vector.len());
    assert_eq!(tips.len(), 2, "B and X");
    for (origin, tip) in tips {
        assert_eq!(vector.get(&origin), tip.seq);
        assert_eq!(hub.tip(&origin).unwrap(), Some(tip));
    }
}

/// A peer's batch is stored as blocks of entries (`store::BLOCK_ENTRIES`, `BLOCK_BYTES`), and
/// every read gives back what the sender holds, entry by entry: one entry, a range from any
/// position, check, rebuild, and after a restart.
fn blocks_read_back_as_the_senders_entries(sizes: &[usize], reads: &[(u64, usize)]) {
    let dir = tempfile::tempdir().unwrap();
    let (ka, kb) = (key(70), key(71));
    let a = open_store(&dir.path().join("a")).unwrap();
    let b = open_store(&dir.path().join("b")).unwrap();
    for (i, size) in sizes.iter().enumerate() {
        let doc = DocId([(i % 7) as u8 + 1; 16]);
        put(
            &a,
            &ka,
            doc,
            "text",
            &format!("{i}{}", "x".repeat(*size)),
            i as u64 + 1,
        );
    }
    sync(&a, &ka, &b, &kb);
    let origin = Origin {
        node: ka.id(),
        epoch: 0,
    };
    let n = sizes.len() as u64;
    assert_eq!(
        a.log_keys().unwrap(),
        n,
        "local writes keep one key an entry"
    );
    let kept = b.log_keys().unwrap();
    // At most 64 entries a key; entries over the byte budget may each take a key of their own.
    let large = sizes.iter().filter(|s| **s > 16 * 1024).count() as u64;
    assert!(
        kept <= n.div_ceil(64) + 2 * large + 8,
        "{kept} keys for {n} entries"
    );
    if n > 1 && large == 0 {
        assert!(kept < n, "a batch from a peer took one key an entry");
    }
    // The receiver keeps the signatures the protocol keeps (not every entry's); the rest must be
    // the sender's.
    let unsigned = |item: FeedItem| match item {
        FeedItem::Entry(mut se) => {
            se.auth = None;
            FeedItem::Entry(se)
        }
        elided => elided,
    };
    let same = |b: &Store| {
        for seq in 0..=n + 1 {
            assert_eq!(
                b.item_covering(&origin, seq).unwrap().map(unsigned),
                a.item_covering(&origin, seq).unwrap().map(unsigned),
                "seq {seq}"
            );
        }
        for (from, max) in reads {
            let from = from % (n + 2);
            let items = |s: &Store| -> Vec<FeedItem> {
                let read = s.read_items(&origin, from, *max).unwrap();
                read.into_iter().map(unsigned).collect()
            };
            assert_eq!(items(b), items(&a), "from {from}, at most {max}");
        }
        let report = b.check(None).unwrap();
        assert!(report.ok(), "{:?}", report.problems);
    };
    same(&b);
    let heads = |s: &Store| {
        (0..7u8)
            .filter_map(|i| s.doc(&DocId([i + 1; 16])).unwrap())
            .map(|d| d.get_heads())
            .collect::<Vec<_>>()
    };
    assert_eq!(heads(&b), heads(&a));
    let report = b.rebuild().unwrap();
    assert_eq!(report.entries, n);
    drop(b);
    let b = open_store(&dir.path().join("b")).unwrap();
    same(&b);
    assert_eq!(heads(&b), heads(&a));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 16, ..Default::default() })]

    #[test]
    fn a_peers_entries_are_stored_in_blocks_and_read_back_one_by_one(
        sizes in proptest::collection::vec(
            proptest::prop_oneof![8 => 1..400usize, 1 => 20_000..70_000usize],
            1..160,
        ),
        reads in proptest::collection::vec((0..200u64, 0..80usize), 1..6),
    ) {
        blocks_read_back_as_the_senders_entries(&sizes, &reads);
    }
}

/// A roster import's entries are stored in blocks too: each reads back as the document it made,
/// and `check`, `rebuild` and a peer that syncs them agree.
/// The documents of a roster of `n`: each its number in the first bytes, `tag` in the last.
fn roster_docs(n: u16, tag: u8) -> Vec<DocId> {
    (0..n)
        .map(|i| {
            let mut d = [0u8; 16];
            d[..2].copy_from_slice(&i.to_be_bytes());
            d[15] = tag;
            DocId(d)
        })
        .collect()
}

#[test]
fn a_roster_import_stores_its_entries_in_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let (ka, kb) = (key(73), key(74));
    let a = open_store(&dir.path().join("a")).unwrap();
    let docs = roster_docs(150, 9);
    a.create_docs(&author(&ka, 5), "import", &docs, &[], |i, tx| {
        tx.put(ROOT, "name", format!("learner {i}"))
            .map_err(|e| cairn_node::error::Error::invalid(e.to_string()))
    })
    .unwrap();
    assert!(a.log_keys().unwrap() <= 3, "{} keys", a.log_keys().unwrap());
    let origin = Origin {
        node: ka.id(),
        epoch: 0,
    };
    for (i, doc) in docs.iter().enumerate() {
        let Some(FeedItem::Entry(se)) = a.item_covering(&origin, i as u64 + 1).unwrap() else {
            panic!("entry {} missing", i + 1);
        };
        assert_eq!(se.entry.body.doc, *doc);
    }
    assert!(a.check(None).unwrap().ok());
    assert_eq!(a.rebuild().unwrap().entries, 150);
    let b = open_store(&dir.path().join("b")).unwrap();
    sync(&a, &ka, &b, &kb);
    for (i, doc) in docs.iter().enumerate() {
        assert_eq!(get(&b, *doc, "name"), Some(format!("learner {i}")));
    }
}

/// What the documents themselves say the record index should hold: every learner's id and the
/// ids in its sections, each naming its document (read as the indexer reads them).
fn records_in_documents(
    store: &Store,
    docs: &[DocId],
) -> std::collections::BTreeMap<String, DocId> {
    use automerge::{ObjType, Value};
    let mut out = std::collections::BTreeMap::new();
    for doc in docs {
        let Some(am) = store.doc(doc).unwrap() else {
            continue;
        };
        let is_learner =
            matches!(am.get(ROOT, "type").unwrap(), Some((v, _)) if v.as_str() == Some("learner"));
        if !is_learner {
            continue;
        }
        if let Some((v, _)) = am.get(ROOT, "id").unwrap()
            && let Some(id) = v.as_str()
        {
            out.insert(id.to_string(), *doc);
        }
        for section in ["enrollments", "evidence", "awards"] {
            if let Some((Value::Object(ObjType::Map), obj)) = am.get(ROOT, section).unwrap() {
                for id in am.keys(&obj) {
                    out.insert(id, *doc);
                }
            }
        }
    }
    out
}

/// Every id ever written is found in the document that holds it now, and no other is found.
fn assert_record_lookups(store: &Store, docs: &[DocId], ever: &std::collections::BTreeSet<String>) {
    let expected = records_in_documents(store, docs);
    for id in ever {
        let found = store
            .index_get(format!("id/{id}").as_bytes())
            .unwrap()
            .map(|v| DocId(v.try_into().unwrap()));
        assert_eq!(found, expected.get(id).copied(), "record {id}");
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 24, ..Default::default() })]
    /// Whatever records learners gain and lose on three nodes, and however they sync, looking a
    /// record up by id finds the document holding it, and only then (the index keeps records in
    /// buckets, store/record_index.rs) — after a rebuild too, which derives the same state, and
    /// across a reopen.
    #[test]
    fn a_record_is_found_in_the_document_holding_it_after_any_history(
        steps in proptest::collection::vec(
            (0..3usize, 0..4u8, 0..3usize, 0..6u8, proptest::prelude::any::<bool>(), 0..4usize),
            1..40
        )
    ) {
        use automerge::ObjType;
        let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
        let mut stores: Vec<Store> = dirs.iter().map(|d| open_store(d.path()).unwrap()).collect();
        let keys: Vec<NodeKey> = (0..3).map(|i| key(120 + i)).collect();
        let docs: Vec<DocId> = (0..4u8).map(|i| DocId([i + 70; 16])).collect();
        let mut ever = std::collections::BTreeSet::new();
        for (t, (node, doc, section, record, add, other)) in steps.iter().copied().enumerate() {
            if other != node && other < 3 && record == 0 {
                sync(&stores[node], &keys[node], &stores[other], &keys[other]);
                continue;
            }
            let section = ["enrollments", "evidence", "awards"][section];
            // Ids name their document, so no two documents claim one.
            let id = format!("{}-{doc}-{record}", &section[..1].to_uppercase());
            let learner_id = format!("L-{doc}");
            ever.insert(id.clone());
            ever.insert(learner_id.clone());
            stores[node]
                .change_doc(&author(&keys[node], t as u64), docs[doc as usize], "t", |tx| {
                    let err = |e: automerge::AutomergeError| cairn_node::error::Error::invalid(e.to_string());
                    tx.put(ROOT, "type", "learner").map_err(err)?;
                    tx.put(ROOT, "id", learner_id.as_str()).map_err(err)?;
                    let obj = match tx.get(ROOT, section).map_err(err)? {
                        Some((automerge::Value::Object(ObjType::Map), obj)) => obj,
                        _ => tx.put_object(ROOT, section, ObjType::Map).map_err(err)?,
                    };
                    if add {
                        tx.put_object(&obj, id.as_str(), ObjType::Map).map_err(err)?;
                    } else if tx.get(&obj, id.as_str()).map_err(err)?.is_some() {
                        tx.delete(&obj, id.as_str()).map_err(err)?;
                    }
                    Ok(())
                })
                .unwrap();
        }
        for store in &stores {
            assert_record_lookups(store, &docs, &ever);
        }
        let (digest, _, _) = stores[1].derived_digest().unwrap();
        stores[1].rebuild().unwrap();
        assert_record_lookups(&stores[1], &docs, &ever);
        proptest::prop_assert_eq!(stores[1].derived_digest().unwrap().0, digest);
        drop(stores.remove(1));
        let reopened = open_store(dirs[1].path()).unwrap();
        assert_record_lookups(&reopened, &docs, &ever);
    }
}

/// A session that makes its appends durable itself (as the TLS driver does) is told what it left
/// unflushed, once; and many writers waiting for durability as tasks, on two threads, are each
/// answered only once a flush has covered their write.
#[test]
fn appends_left_unflushed_are_made_durable_by_waiting_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let (ka, kb) = (key(1), key(2));
    let a = open_store(&dir.path().join("a")).unwrap();
    let b = std::sync::Arc::new(open_store(&dir.path().join("b")).unwrap());
    put(&a, &ka, DocId([1; 16]), "name", "first", 10);

    let mut sa = Session::new(SessionConfig::default(), ka.id());
    let mut sb = Session::new(SessionConfig::default(), kb.id());
    let (mut xa, mut xb) = (SyncStore::new(&a), SyncStore::deferring(&b));
    sa.start(&xa, 1).unwrap();
    sb.start(&xb, 1).unwrap();
    assert_eq!(xb.take_unflushed(), None, "nothing was written yet");
    let mut left = None;
    for _ in 0..1000 {
        while let Some(f) = sa.poll_transmit(&xa, &Everything).unwrap() {
            sb.receive(&f, &mut xb).unwrap();
            left = left.max(xb.take_unflushed());
        }
        if sa.is_finished() && sb.is_finished() {
            break;
        }
        while let Some(f) = sb.poll_transmit(&xb, &Everything).unwrap() {
            sa.receive(&f, &mut xa).unwrap();
        }
    }
    let left = left.expect("the append was left for the session to flush");
    assert_eq!(xb.take_unflushed(), None, "told twice");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut waiting = vec![];
        for n in 0..200u32 {
            let b = b.clone();
            waiting.push(tokio::spawn(async move {
                let written = b.set_local_bin_unflushed(&format!("t/{n}"), &n).unwrap();
                b.durable(written).await.unwrap();
                b.is_durable(written)
            }));
        }
        let left_done = b.durable(left).await.map(|()| b.is_durable(left));
        assert!(
            left_done.unwrap(),
            "answered before the session's append was flushed"
        );
        for w in waiting {
            let done = tokio::time::timeout(std::time::Duration::from_secs(60), w)
                .await
                .expect("a writer waited a minute for a flush")
                .unwrap();
            assert!(done, "a writer was answered before its write was flushed");
        }
    });
}

#[test]
fn a_recorded_fork_freezes_its_origin_at_once_and_after_a_reopen() {
    // Forks are kept in memory from the open on; a freeze must show at once, be recorded once,
    // and come back from the disk when the store opens again.
    let dir = tempfile::tempdir().unwrap();
    let fork = |n: u8| Fork {
        origin: Origin {
            node: key(40 + n as u64).id(),
            epoch: 0,
        },
        seq: 2,
        held: Hash32([n; 32]),
        incoming: Hash32([n + 1; 32]),
    };
    {
        let store = open_store(dir.path()).unwrap();
        assert!(store.forks().unwrap().is_empty());
        store.freeze(&fork(1)).unwrap();
        assert_eq!(store.forks().unwrap(), vec![fork(1)]);
        // The first evidence is kept; a second freeze of the same origin changes nothing.
        store.freeze(&Fork { seq: 3, ..fork(1) }).unwrap();
        store.freeze(&fork(2)).unwrap();
        let mut held = store.forks().unwrap();
        held.sort_by_key(|f| f.held.0);
        assert_eq!(held, vec![fork(1), fork(2)]);
    }
    let store = open_store(dir.path()).unwrap();
    let mut held = store.forks().unwrap();
    held.sort_by_key(|f| f.held.0);
    assert_eq!(held, vec![fork(1), fork(2)]);
}

/// The derivation queue's next record number is kept in memory: after a restart it continues
/// past the records left queued, so a batch appended then does not replace one of them.
#[test]
fn a_batch_appended_after_a_restart_is_queued_beside_the_ones_left() {
    let dir = tempfile::tempdir().unwrap();
    let (kh, kx) = (key(1), key(3));
    let open_hub = || open_without_worker(&dir.path().join("hub"));
    let site_x = open_store(&dir.path().join("x")).unwrap();
    learner(&site_x, &kx, DocId([0xc; 16]), &kx.id(), 10);
    {
        let hub = open_hub();
        sync(&site_x, &kx, &hub, &kh);
    }
    let hub = open_hub();
    learner(&site_x, &kx, DocId([0xd; 16]), &kx.id(), 11);
    sync(&site_x, &kx, &hub, &kh);
    hub.settle().unwrap();
    for doc in [0xc, 0xd] {
        assert!(
            hub.doc(&DocId([doc; 16])).unwrap().is_some(),
            "document {doc:x} was not derived"
        );
    }
    assert!(hub.check(None).unwrap().ok());
}

/// What the store reports as its tips (kept in memory once read) against its log: every tip
/// names the last item of its feed, and there is one per feed `check` walks (which also compares
/// the tips recorded on disk with the log).
fn assert_tips_match_the_log(store: &Store) {
    let report = store.check(None).unwrap();
    assert!(report.ok(), "{:?}", report.problems);
    let tips = store.tips().unwrap();
    assert_eq!(tips.len() as u64, report.feeds, "one tip per feed");
    for (origin, tip) in &tips {
        let last = store.item_covering(origin, tip.seq).unwrap();
        assert_eq!(
            last.map(|i| (i.last_seq(), i.last_hash())),
            Some((tip.seq, tip.hash)),
            "the tip of {origin} names its last item"
        );
        assert!(
            store.item_covering(origin, tip.seq + 1).unwrap().is_none(),
            "{origin} holds entries past its tip"
        );
        assert_eq!(store.tip(origin).unwrap(), Some(*tip));
    }
    assert_eq!(store.vector().unwrap().iter().count(), tips.len());
}

/// The latest clock value among the whole entries a store holds.
fn newest_hlc(store: &Store) -> Hlc {
    whole_entries(store)
        .iter()
        .map(|se| se.entry.hlc)
        .max()
        .unwrap_or_default()
}

#[derive(Debug, Clone)]
enum TipStep {
    /// A local change (at a wall clock far behind or ahead of the others').
    Put { node: usize, late: bool },
    /// A roster import of a few new documents.
    Import { node: usize, count: u8 },
    /// A control record (an entry that is not an automerge change).
    Control { node: usize },
    /// Two stores sync.
    Sync(usize, usize),
    /// A store rebuilds its derived state (tips included).
    Rebuild(usize),
    /// A store is closed and opened again.
    Reopen(usize),
}

fn tip_step() -> impl proptest::strategy::Strategy<Value = TipStep> {
    use proptest::prelude::*;
    prop_oneof![
        3 => (0..3usize, any::<bool>()).prop_map(|(node, late)| TipStep::Put { node, late }),
        1 => (0..3usize, 1..4u8).prop_map(|(node, count)| TipStep::Import { node, count }),
        1 => (0..3usize).prop_map(|node| TipStep::Control { node }),
        2 => (0..3usize, 0..3usize)
            .prop_filter("two different nodes", |(a, b)| a != b)
            .prop_map(|(a, b)| TipStep::Sync(a, b)),
        1 => (0..3usize).prop_map(TipStep::Rebuild),
        1 => (0..3usize).prop_map(TipStep::Reopen),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 48, ..Default::default() })]
    /// The tips and the clock are kept in memory once read, moved by every kind of write: after
    /// any mix of local changes, roster imports, control records, syncs, rebuilds and restarts,
    /// the tips a store reports are its log's (and what a reopened store reads from disk), and
    /// a new local entry's clock is ahead of every entry the store holds.
    #[test]
    fn tips_and_clock_kept_in_memory_follow_every_write(
        steps in proptest::collection::vec(tip_step(), 1..24)
    ) {
        let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
        let mut stores: Vec<Option<Store>> =
            dirs.iter().map(|d| Some(open_store(d.path()).unwrap())).collect();
        let keys: Vec<NodeKey> = (0..3).map(|i| key(80 + i)).collect();
        let mut next_doc = 0u16;
        for (t, s) in steps.iter().enumerate() {
            let now = 1_000 + t as u64;
            match *s {
                TipStep::Put { node, late } => {
                    let store = stores[node].as_ref().unwrap();
                    let before = newest_hlc(store);
                    // A wall clock behind every entry held still authors after them.
                    let now = if late { now + 1_000_000 * (node as u64 + 1) } else { 5 };
                    let doc = DocId([node as u8 + 1; 16]);
                    let entry = put(store, &keys[node], doc, "f", &format!("v{t}"), now);
                    assert!(entry.entry.hlc > before, "{:?} is not after {before:?}", entry.entry.hlc);
                }
                TipStep::Import { node, count } => {
                    let store = stores[node].as_ref().unwrap();
                    let docs: Vec<DocId> = (0..count)
                        .map(|_| {
                            next_doc += 1;
                            let mut d = [0x70; 16];
                            d[..2].copy_from_slice(&next_doc.to_be_bytes());
                            DocId(d)
                        })
                        .collect();
                    store
                        .create_docs(&author(&keys[node], now), "import", &docs, &[], |i, tx| {
                            tx.put(ROOT, "name", format!("learner {i}"))
                                .map_err(|e| cairn_node::error::Error::invalid(e.to_string()))
                        })
                        .unwrap();
                }
                TipStep::Control { node } => {
                    let store = stores[node].as_ref().unwrap();
                    let before = newest_hlc(store);
                    let entry = store
                        .author_entry(
                            &author(&keys[node], 5),
                            DocId([0x7f; 16]),
                            BodyKind::FileChunk,
                            vec![t as u8; 8],
                        )
                        .unwrap();
                    assert!(entry.entry.hlc > before);
                }
                TipStep::Sync(a, b) => {
                    let (sa, sb) = (stores[a].as_ref().unwrap(), stores[b].as_ref().unwrap());
                    sync(sa, &keys[a], sb, &keys[b]);
                    proptest::prop_assert_eq!(sa.vector().unwrap(), sb.vector().unwrap());
                }
                TipStep::Rebuild(node) => {
                    stores[node].as_ref().unwrap().rebuild().unwrap();
                }
                TipStep::Reopen(node) => {
                    let held = stores[node].take().unwrap().tips().unwrap();
                    let reopened = open_store(dirs[node].path()).unwrap();
                    proptest::prop_assert_eq!(reopened.tips().unwrap(), held);
                    stores[node] = Some(reopened);
                }
            }
            for store in stores.iter().flatten() {
                assert_tips_match_the_log(store);
            }
        }
    }
}

/// Local state is kept in memory once read: every way of writing it (JSON, binary,
/// both in one batch, removal) is read back at once, by threads writing one name together, and
/// after a restart reads from disk what the copies said.
#[test]
fn local_state_kept_in_memory_reads_as_stored() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).unwrap();
    assert_eq!(
        store.local::<u32>("n").unwrap(),
        None,
        "absent, and known absent"
    );
    store.set_local("n", &1u32).unwrap();
    assert_eq!(store.local::<u32>("n").unwrap(), Some(1));
    store.set_local_bin("v", &7u64).unwrap();
    assert_eq!(store.local_bin::<u64>("v").unwrap(), Some(7));
    store.set_local_and_bin("n", &2u32, "v", &8u64).unwrap();
    assert_eq!(store.local::<u32>("n").unwrap(), Some(2));
    assert_eq!(store.local_bin::<u64>("v").unwrap(), Some(8));
    store.remove_local("n").unwrap();
    assert_eq!(store.local::<u32>("n").unwrap(), None);
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let store = &store;
            s.spawn(move || {
                for i in 0..100u64 {
                    let mine = t * 1_000 + i;
                    match i % 3 {
                        0 => store.set_local("shared", &mine).unwrap(),
                        1 => store.set_local_bin("shared-bin", &mine).unwrap(),
                        _ => store
                            .set_local_and_bin("shared", &mine, "shared-bin", &mine)
                            .unwrap(),
                    }
                    assert!(store.local::<u64>("shared").unwrap().is_some());
                }
            });
        }
    });
    let held: (Option<u64>, Option<u64>, Option<u64>, Option<u32>) = (
        store.local("shared").unwrap(),
        store.local_bin("shared-bin").unwrap(),
        store.local_bin("v").unwrap(),
        store.local("n").unwrap(),
    );
    drop(store);
    let reopened = open_store(dir.path()).unwrap();
    let stored = (
        reopened.local("shared").unwrap(),
        reopened.local_bin("shared-bin").unwrap(),
        reopened.local_bin("v").unwrap(),
        reopened.local("n").unwrap(),
    );
    assert_eq!(held, stored);
    assert_eq!(stored.2, Some(8));
}

#[derive(Debug, Clone)]
struct HomeStep {
    writer: usize,
    doc: u8,
    home: usize,
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 32, ..Default::default() })]
    /// A hub's scope for a site sends the feeds that wrote to learners homed there, found in the
    /// per-site list of homes (`homed/`) — after any sequence of writes that create learners and
    /// move them between sites, it decides as a model of the homes does, and as the scan of
    /// every learner's home that a store derived in part by an earlier release falls back to.
    #[test]
    fn a_sites_scope_lists_the_learners_homed_there(
        steps in proptest::collection::vec(
            proptest::strategy::Strategy::prop_map(
                (0..4usize, 0..5u8, 0..3usize),
                |(writer, doc, home)| HomeStep { writer, doc, home },
            ),
            1..16,
        )
    ) {
        use cairn_node::sync::scope::SiteScope;
        use proptest::prelude::*;
        let dir = tempfile::tempdir().unwrap();
        let hub = open_store(dir.path()).unwrap();
        prop_assert!(hub.indexed_since(1).unwrap(), "a new store's index is complete");
        let kh = key(90);
        let sites: Vec<NodeKey> = (0..3).map(|i| key(91 + i)).collect();
        let writers: Vec<NodeKey> = (0..4).map(|i| key(95 + i)).collect();
        let mut homes = std::collections::BTreeMap::new();
        let mut wrote: std::collections::BTreeMap<u8, std::collections::BTreeSet<Origin>> =
            Default::default();
        for (t, s) in steps.iter().enumerate() {
            let doc = DocId([s.doc + 1; 16]);
            let entry = learner(&hub, &writers[s.writer], doc, &sites[s.home].id(), t as u64);
            homes.insert(s.doc, s.home);
            wrote.entry(s.doc).or_default().insert(entry.entry.origin);
        }
        let every: Vec<Origin> = wrote.values().flatten().copied().collect();
        let decide = |hub: &Store| -> Vec<Vec<bool>> {
            sites
                .iter()
                .map(|site| {
                    let scope = SiteScope::new(hub, kh.id(), site.id(), &VersionVector::new()).unwrap();
                    every.iter().map(|o| scope.send_origin(o)).collect()
                })
                .collect()
        };
        let model: Vec<Vec<bool>> = (0..3)
            .map(|site| {
                every
                    .iter()
                    .map(|o| {
                        homes.iter().any(|(doc, home)| *home == site && wrote[doc].contains(o))
                    })
                    .collect()
            })
            .collect();
        prop_assert_eq!(&decide(&hub), &model);
        // As a store derived before `homed/` existed decides (the keys are there, unused).
        hub.remove_local("index_version").unwrap();
        prop_assert!(!hub.indexed_since(1).unwrap());
        prop_assert_eq!(&decide(&hub), &model);
        // A rebuild derives everything with this release's index, and says so.
        hub.rebuild().unwrap();
        prop_assert!(hub.indexed_since(1).unwrap());
        prop_assert_eq!(&decide(&hub), &model);
    }
}

/// One write of the hub's in [`a_sites_scope_passes_over_only_the_hubs_entries_it_may_not_see`].
#[derive(Debug, Clone)]
enum HubWrite {
    /// Learner `doc` is registered, homed at site `home`.
    Learner { doc: u8, home: usize },
    /// The hub writes to learner `doc` (the program's copy of an award).
    Copy { doc: u8 },
    /// The hub moves learner `doc` to site `to` (a change and a transfer record).
    Transfer { doc: u8, to: usize },
    /// The hub writes the catalog (0), the trust records (1) or site `site`'s staff (2).
    Shared { which: u8, site: usize },
    /// A control record on learner `doc` that is not a transfer, or that does not decode.
    OddControl { doc: u8, decodes: bool },
}

fn hub_write() -> impl proptest::strategy::Strategy<Value = HubWrite> {
    use proptest::prelude::*;
    prop_oneof![
        3 => (0..6u8, 0..3usize).prop_map(|(doc, home)| HubWrite::Learner { doc, home }),
        6 => (0..6u8).prop_map(|doc| HubWrite::Copy { doc }),
        2 => (0..6u8, 0..3usize).prop_map(|(doc, to)| HubWrite::Transfer { doc, to }),
        1 => (0..3u8, 0..3usize).prop_map(|(which, site)| HubWrite::Shared { which, site }),
        1 => (0..6u8, any::<bool>()).prop_map(|(doc, decodes)| HubWrite::OddControl { doc, decodes }),
    ]
}

/// The hub's transfer of learner `doc` to `to`, as `domain::learners::transfer` writes it.
fn transfer(hub: &Store, kh: &NodeKey, doc: DocId, from: Option<NodeId>, to: NodeId, now: u64) {
    use cairn_node::payload::{ControlRecord, encode};
    hub.change_doc_with_entry(
        &author(kh, now),
        doc,
        "transfer learner",
        |tx| {
            tx.put(ROOT, "home_site", to.to_string())
                .map_err(|e| cairn_node::error::Error::invalid(e.to_string()))
        },
        |changed| {
            let record = ControlRecord::LearnerTransferred {
                learner: doc,
                from,
                to,
                snapshot: changed.save(),
            };
            Ok((BodyKind::Control, encode(&record)?))
        },
    )
    .unwrap();
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 48, ..Default::default() })]
    /// A hub's session passes over the hub's own earlier entries a site may not see without
    /// reading them (`Scope::hidden_until`): whatever the hub wrote (learners at three sites,
    /// copies, transfers, shared documents, odd control records), no entry it passes over is
    /// one the site may see whole. A store derived before transfers were listed passes over
    /// nothing, and a rebuild lists them again as they were. A scope told what the site holds
    /// knows nothing below it (a site restored from a backup holds less, and reads each entry)
    /// and, past it, knows what a scope told nothing knows.
    #[test]
    fn a_sites_scope_passes_over_only_the_hubs_entries_it_may_not_see(
        writes in proptest::collection::vec(hub_write(), 1..40),
        held in 0u64..48,
    ) {
        use cairn_node::domain::ids;
        use cairn_node::sync::scope::SiteScope;
        use proptest::prelude::*;
        let dir = tempfile::tempdir().unwrap();
        let kh = key(70);
        let hub = scope_hub(dir.path(), &kh);
        let sites: Vec<NodeId> = (0..3).map(|i| key(71 + i).id()).collect();
        let mut homes: std::collections::BTreeMap<u8, usize> = Default::default();
        for (t, w) in writes.iter().enumerate() {
            let now = 100 + t as u64;
            match *w {
                HubWrite::Learner { doc, home } => {
                    learner(&hub, &kh, DocId([doc + 1; 16]), &sites[home], now);
                    homes.insert(doc, home);
                }
                HubWrite::Copy { doc } => {
                    put(&hub, &kh, DocId([doc + 1; 16]), "award", &format!("copy {t}"), now);
                }
                HubWrite::Transfer { doc, to } => {
                    if homes.get(&doc) == Some(&to) {
                        continue; // no move: nothing to record
                    }
                    let from = homes.get(&doc).map(|h| sites[*h]);
                    transfer(&hub, &kh, DocId([doc + 1; 16]), from, sites[to], now);
                    homes.insert(doc, to);
                }
                HubWrite::Shared { which, site } => {
                    let doc = match which {
                        0 => ids::catalog_doc(),
                        1 => ids::trust_doc(),
                        _ => ids::staff_doc(&sites[site]),
                    };
                    put(&hub, &kh, doc, "note", &format!("shared {t}"), now);
                }
                HubWrite::OddControl { doc, decodes } => {
                    let data = if decodes {
                        cairn_node::payload::encode(&cairn_node::payload::ControlRecord::SiteRevoked {
                            site: sites[0],
                            reason: "test".into(),
                        })
                        .unwrap()
                    } else {
                        vec![0xff; 5]
                    };
                    hub.author_entry(&author(&kh, now), DocId([doc + 1; 16]), BodyKind::Control, data)
                        .unwrap();
                }
            }
        }
        let log = whole_entries(&hub);
        let origin = log[0].entry.origin;
        prop_assert!(log.iter().all(|e| e.entry.origin == origin));
        let tip = log.len() as u64;
        // For each site: how many entries the scope passed over, after checking each.
        let passed_over = |hub: &Store| -> Result<Vec<u64>, TestCaseError> {
            let hinted = hub.lists_transfers().unwrap();
            let mut passed = Vec::new();
            for (i, site) in sites.iter().enumerate() {
                let scope = SiteScope::new(hub, kh.id(), *site, &VersionVector::new()).unwrap();
                let mut holds = VersionVector::new();
                holds.set(origin, held);
                let bounded = SiteScope::new(hub, kh.id(), *site, &holds).unwrap();
                let mut n = 0;
                for seq in 1..=tip {
                    let until = scope.hidden_until(&origin, seq);
                    prop_assert!(until >= seq && until <= tip + 1, "{} from {}", until, seq);
                    let expected = if seq <= held { seq } else { until };
                    prop_assert_eq!(
                        bounded.hidden_until(&origin, seq), expected, "from {} holding {}", seq, held
                    );
                    for e in &log[(seq - 1) as usize..(until - 1) as usize] {
                        prop_assert!(!sees(&scope, e), "passed over entry {} the site may see", e.entry.seq);
                    }
                    // A change to a learner homed at another site is passed over: the scope
                    // knows it without reading it.
                    let e = &log[(seq - 1) as usize];
                    let elsewhere = homes.get(&(e.entry.body.doc.0[0].wrapping_sub(1)))
                        .is_some_and(|h| *h != i)
                        && e.entry.body.doc.0.iter().all(|b| *b == e.entry.body.doc.0[0]);
                    if hinted && elsewhere && e.entry.body.kind == BodyKind::Change {
                        prop_assert!(until > seq, "site {} read entry {} of another site's learner", i, seq);
                    }
                    n += until - seq;
                }
                passed.push(n);
            }
            Ok(passed)
        };
        let listed = passed_over(&hub)?;
        let transfers: Vec<_> = sites.iter().map(|s| hub.as_derived().transfers_of(s, &origin, 0).unwrap()).collect();
        // Each transfer record is listed under the site it names as the new home and, if the
        // learner had one, the old; under no other.
        let mut expected: Vec<Vec<u64>> = vec![Vec::new(); 3];
        for e in &log {
            if let Ok(cairn_node::payload::ControlRecord::LearnerTransferred { from, to, .. }) =
                cairn_node::payload::decode(&e.entry.body.data, "a control record")
            {
                for (i, site) in sites.iter().enumerate() {
                    if *site == to || from == Some(*site) {
                        expected[i].push(e.entry.seq);
                    }
                }
            }
        }
        prop_assert_eq!(&transfers, &expected);
        for (i, site) in sites.iter().enumerate() {
            let past: Vec<u64> = expected[i].iter().copied().filter(|seq| *seq > held).collect();
            prop_assert_eq!(hub.as_derived().transfers_of(site, &origin, held).unwrap(), past);
        }
        // As a store derived before transfers were listed: nothing is passed over.
        hub.remove_local("derived_format").unwrap();
        prop_assert_eq!(passed_over(&hub)?, vec![0; 3]);
        hub.rebuild().unwrap();
        prop_assert!(hub.lists_transfers().unwrap());
        prop_assert_eq!(passed_over(&hub)?, listed);
        let again: Vec<_> = sites.iter().map(|s| hub.as_derived().transfers_of(s, &origin, 0).unwrap()).collect();
        prop_assert_eq!(again, transfers);
    }
}

/// A store that holds entries when this release first opens it was derived by an earlier one:
/// its index is not known to be complete until a rebuild, across restarts.
#[test]
fn a_store_with_entries_is_indexed_in_full_only_after_a_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).unwrap();
    let k = key(99);
    learner(&store, &k, DocId([1; 16]), &k.id(), 1);
    store.remove_local("index_version").unwrap();
    drop(store);
    let store = open_store(dir.path()).unwrap();
    assert!(!store.indexed_since(1).unwrap());
    store.rebuild().unwrap();
    drop(store);
    let store = open_store(dir.path()).unwrap();
    assert!(store.indexed_since(1).unwrap());
}

/// A store opened by an earlier release than the one that last derived it (a downgrade, made
/// here by writing a newer release's marks): the marks come down to this release's versions
/// before it derives anything, across restarts, so the newer release, opened again, relies on no
/// key this one did not write. Marks at or below this release's stay as they are.
#[test]
fn a_mark_left_by_a_newer_release_comes_down_to_this_releases() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).unwrap();
    let k = key(98);
    learner(&store, &k, DocId([2; 16]), &k.id(), 1);
    let index = store.local::<u32>("index_version").unwrap().unwrap();
    let format = store.local::<u32>("derived_format").unwrap().unwrap();
    store.set_local("index_version", &(index + 3)).unwrap();
    store.set_local("derived_format", &(format + 1)).unwrap();
    assert!(store.indexed_since(index + 3).unwrap());
    drop(store);
    let store = open_store(dir.path()).unwrap();
    assert_eq!(store.local::<u32>("index_version").unwrap(), Some(index));
    assert_eq!(store.local::<u32>("derived_format").unwrap(), Some(format));
    assert!(store.indexed_since(index).unwrap());
    assert!(!store.indexed_since(index + 1).unwrap());
    assert!(store.lists_transfers().unwrap());
    learner(&store, &k, DocId([3; 16]), &k.id(), 1);
    drop(store);
    let store = open_store(dir.path()).unwrap();
    assert_eq!(store.local::<u32>("index_version").unwrap(), Some(index));
    assert_eq!(store.local::<u32>("derived_format").unwrap(), Some(format));
    // A store derived in part by an earlier release (no mark) gets none back by opening.
    store.remove_local("derived_format").unwrap();
    drop(store);
    let store = open_store(dir.path()).unwrap();
    assert_eq!(store.local::<u32>("derived_format").unwrap(), None);
    assert!(!store.lists_transfers().unwrap());
}

/// A site's scope answers for the hub's entries that were in the log when the session began
/// from the homes as they stood then (no store read per entry: at 200 sites most of the hub's
/// feed is other sites' award copies), and for the hub's later entries from the homes as
/// derived when asked, remembering nothing: a learner moved away during the session is not
/// sent what the hub writes about them after the move, even if the session had already sent
/// the site that learner's earlier entries (until this change a remembered "homed here" did).
/// After a rebuild (which derives the homes again) nothing is answered from memory.
#[test]
fn a_sites_scope_decides_the_hubs_earlier_entries_as_at_its_start_and_later_ones_as_now() {
    use cairn_node::sync::scope::SiteScope;
    let dir = tempfile::tempdir().unwrap();
    let (kh, kb, kx) = (key(1), key(2), key(3));
    let hub = scope_hub(&dir.path().join("hub"), &kh);
    let site_b = open_store(&dir.path().join("b")).unwrap();
    let site_x = open_store(&dir.path().join("x")).unwrap();
    let (doc_b, doc_x) = (DocId([0xb; 16]), DocId([0xc; 16]));
    learner(&site_b, &kb, doc_b, &kb.id(), 10);
    learner(&site_x, &kx, doc_x, &kx.id(), 10);
    sync(&site_b, &kb, &hub, &kh);
    sync(&site_x, &kx, &hub, &kh);
    hub.settle().unwrap();
    // The hub's copies of each learner's award, before B's session begins.
    let award_b = put(&hub, &kh, doc_b, "award", "copy", 20);
    let award_x = put(&hub, &kh, doc_x, "award", "copy", 21);

    let for_b = SiteScope::new(&hub, kh.id(), kb.id(), &VersionVector::new()).unwrap();
    assert!(sees(&for_b, &award_b));
    assert!(!sees(&for_b, &award_x));

    // During the session the hub moves B's learner to X and X's to B.
    let moved_away = learner(&hub, &kh, doc_b, &kx.id(), 30);
    let moved_here = learner(&hub, &kh, doc_x, &kb.id(), 31);
    // What was in the log at the start is decided as at the start.
    assert!(sees(&for_b, &award_b), "as at the start: homed at B then");
    assert!(!sees(&for_b, &award_x), "as at the start: homed at X then");
    // What the hub wrote after the start is decided on the homes as derived now.
    assert!(
        !sees(&for_b, &moved_away),
        "B was sent a change made after its learner left"
    );
    assert!(sees(&for_b, &moved_here));
    let outcome_away = put(&hub, &kh, doc_b, "outcome", "employed", 40);
    let outcome_here = put(&hub, &kh, doc_x, "outcome", "employed", 41);
    assert!(
        !sees(&for_b, &outcome_away),
        "B was sent the hub's entry about a learner moved away during its session"
    );
    assert!(sees(&for_b, &outcome_here));

    // The next session starts from the homes as they are now.
    let next = SiteScope::new(&hub, kh.id(), kb.id(), &VersionVector::new()).unwrap();
    assert!(!sees(&next, &award_b) && !sees(&next, &outcome_away));
    assert!(sees(&next, &award_x) && sees(&next, &outcome_here));

    // A rebuild derives the homes again: a session that began before it no longer answers
    // from what it read then, but from the homes as derived now.
    hub.rebuild().unwrap();
    assert!(
        !sees(&for_b, &award_b),
        "answered from memory after a rebuild"
    );
    assert!(
        sees(&for_b, &award_x),
        "answered from memory after a rebuild"
    );

    // The store asks about each entry with that entry's own seq (the scope answers by it).
    let asked = std::cell::RefCell::new(Vec::new());
    let written = [
        &award_b,
        &award_x,
        &moved_away,
        &moved_here,
        &outcome_away,
        &outcome_here,
    ];
    let hub_feed = award_b.entry.origin;
    let items = SyncStore::new(&hub)
        .read_for(&hub_feed, 1, 64, &|seq, body| {
            asked.borrow_mut().push((seq, body.doc));
            true
        })
        .unwrap();
    let asked = asked.into_inner();
    assert_eq!(asked.len(), items.len());
    for e in written {
        assert!(
            asked.contains(&(e.entry.seq, e.entry.body.doc)),
            "entry {} was not asked about with its seq",
            e.entry.seq
        );
    }
}

/// The hub's entries that arrive between a session's wait for queued entries and its reading
/// of the tips (a restored hub receiving its own feed back) are under those tips but not yet in
/// the homes the session reads next. The session must not answer for the hub's entries from
/// what it read then: here the arrivals move B's learner away and then add to the record, and
/// once they are derived B must be sent neither, nor the hub's earlier copy of an award. A
/// session that started with nothing queued still answers for that earlier copy as at its
/// start.
#[test]
fn a_sites_scope_does_not_answer_from_memory_for_hub_entries_queued_as_it_starts() {
    use cairn_node::sync::scope::SiteScope;
    let dir = tempfile::tempdir().unwrap();
    let (kh, kb, kx) = (key(1), key(2), key(3));
    let hub = scope_hub(&dir.path().join("hub"), &kh);
    let site_b = open_store(&dir.path().join("b")).unwrap();
    let doc_b = DocId([0xb; 16]);
    learner(&site_b, &kb, doc_b, &kb.id(), 10);
    sync(&site_b, &kb, &hub, &kh);
    hub.settle().unwrap();
    let award = put(&hub, &kh, doc_b, "award", "copy", 20);
    // A session that starts with nothing of the hub's queued.
    let calm = SiteScope::new(&hub, kh.id(), kb.id(), &VersionVector::new()).unwrap();
    // A copy of the hub's store, which moves B's learner to X and then adds to the record.
    let old_hub = open_store(&dir.path().join("old-hub")).unwrap();
    sync(&old_hub, &kh, &hub, &kb);
    let moved_away = learner(&old_hub, &kh, doc_b, &kx.id(), 30);
    let outcome = put(&old_hub, &kh, doc_b, "outcome", "employed", 40);

    let (mut queued, mut under_tips) = (false, false);
    let for_b = SiteScope::new_pausing(&hub, kh.id(), kb.id(), &VersionVector::new(), || {
        sync(&old_hub, &kh, &hub, &kb);
        queued = hub.may_be_queued_from(|n| *n == kh.id());
        under_tips =
            hub.tips().unwrap().iter().any(|(origin, tip)| {
                *origin == outcome.entry.origin && tip.seq >= outcome.entry.seq
            });
    })
    .unwrap();
    assert!(
        queued && under_tips,
        "the hub's entries were not in the log, queued, when the session read the tips"
    );
    hub.settle().unwrap();
    assert!(
        !sees(&for_b, &moved_away),
        "B was sent the hub's move of its learner to another site"
    );
    assert!(
        !sees(&for_b, &outcome),
        "B was sent the hub's entry about a learner moved away, decided on homes read before the move was derived"
    );
    assert!(
        !sees(&for_b, &award),
        "B was sent the hub's copy of an award of a learner moved away, decided on homes read before the move was derived"
    );
    assert!(
        sees(&calm, &award),
        "a session that began with nothing queued did not answer as at its start"
    );
    // Nor does it pass over any of the hub's entries unread.
    for seq in 1..=outcome.entry.seq {
        assert_eq!(for_b.hidden_until(&outcome.entry.origin, seq), seq);
    }
}

#[derive(Clone, Debug)]
struct ScopeStep {
    // 0 is the hub; 1 another writer (a site whose feed the hub relays).
    writer: usize,
    doc: u8,
    // Some: the write (re)registers the learner at that site; None: it only adds to the record.
    home: Option<usize>,
    // Which steps happen once the session has begun.
    after_start: bool,
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 32, ..Default::default() })]
    /// Whatever the hub and another writer write before and during a session — learners
    /// registered, moved between sites, records added to — a site's scope lets it see an entry
    /// exactly when the learner was homed there: as at the session's start for the hub's entries
    /// that were in the log then, as the homes stand when asked for every other entry (asked
    /// again after every write, so nothing remembered from an earlier answer can decide).
    #[test]
    fn a_sites_scope_sees_as_the_homes_stood_at_its_start_or_stand_now(
        steps in proptest::collection::vec(
            proptest::strategy::Strategy::prop_map(
                (0..2usize, 0..4u8, proptest::option::of(0..3usize), proptest::bool::ANY),
                |(writer, doc, home, after_start)| ScopeStep { writer, doc, home, after_start },
            ),
            1..14,
        )
    ) {
        use cairn_node::sync::scope::SiteScope;
        use proptest::prelude::*;
        let dir = tempfile::tempdir().unwrap();
        let hub = open_store(dir.path()).unwrap();
        let writers = [key(80), key(81)];
        let sites: Vec<NodeKey> = (0..3).map(|i| key(82 + i)).collect();
        let mut homes: std::collections::BTreeMap<u8, usize> = Default::default();
        let mut entries: Vec<(StoredEntry, u8, bool)> = Vec::new();
        let write = |s: &ScopeStep, t: u64| -> StoredEntry {
            let doc = DocId([s.doc + 1; 16]);
            match s.home {
                Some(h) => learner(&hub, &writers[s.writer], doc, &sites[h].id(), t),
                None => put(&hub, &writers[s.writer], doc, "award", &format!("copy {t}"), t),
            }
        };
        let (before, after): (Vec<&ScopeStep>, Vec<&ScopeStep>) =
            steps.iter().partition(|s| !s.after_start);
        for (t, s) in before.iter().enumerate() {
            entries.push((write(s, t as u64), s.doc, true));
            if let Some(h) = s.home {
                homes.insert(s.doc, h);
            }
        }
        let at_start = homes.clone();
        let scope = SiteScope::new(&hub, writers[0].id(), sites[0].id(), &VersionVector::new()).unwrap();
        let check = |entries: &[(StoredEntry, u8, bool)],
                     homes: &std::collections::BTreeMap<u8, usize>|
         -> Result<(), TestCaseError> {
            for (e, doc, in_log_at_start) in entries {
                let by_hub = e.entry.origin.node == writers[0].id();
                let decided_on = if by_hub && *in_log_at_start { &at_start } else { homes };
                let want = decided_on.get(doc) == Some(&0);
                prop_assert_eq!(
                    sees(&scope, e),
                    want,
                    "entry {} of writer {} (doc {}, in the log at the start: {})",
                    e.entry.seq,
                    usize::from(!by_hub),
                    doc,
                    in_log_at_start
                );
                // What the session passes over without reading is never what it may see,
                // before or after a write moves a learner.
                if by_hub {
                    let until = scope.hidden_until(&e.entry.origin, e.entry.seq);
                    for (other, _, _) in entries {
                        if other.entry.origin == e.entry.origin
                            && (e.entry.seq..until).contains(&other.entry.seq)
                        {
                            prop_assert!(!sees(&scope, other), "passed over entry {}", other.entry.seq);
                        }
                    }
                }
            }
            Ok(())
        };
        check(&entries, &homes)?;
        for (t, s) in after.iter().enumerate() {
            entries.push((write(s, 100 + t as u64), s.doc, false));
            if let Some(h) = s.home {
                homes.insert(s.doc, h);
            }
            check(&entries, &homes)?;
        }
    }
}

/// A document's entries of one feed past a point, read from the list that holds the next one
/// on (a hub's session reads the trust records past what its site holds this way), are the
/// same as every entry's past it, wherever the point falls among lists of up to 64; and one
/// node's tips are its feeds' alone.
#[test]
fn a_documents_entries_past_a_point_are_its_entries_past_it() {
    let dir = tempfile::tempdir().unwrap();
    let (ka, kb) = (key(80), key(81));
    let store = open_store(dir.path()).unwrap();
    let (doc, other) = (DocId([0x31; 16]), DocId([0x32; 16]));
    for i in 0..150u64 {
        put(&store, &ka, doc, "n", &i.to_string(), 10 + i);
        if i % 3 == 0 {
            put(&store, &kb, doc, "m", &i.to_string(), 10 + i);
            put(&store, &ka, other, "n", &i.to_string(), 10 + i);
        }
    }
    let every = store.doc_entries(&doc).unwrap();
    for k in [&ka, &kb] {
        let origin = Origin {
            node: k.id(),
            epoch: 0,
        };
        let tip = store.tip(&origin).unwrap().unwrap().seq;
        for after in 0..=tip + 1 {
            let expected: Vec<(u64, u8)> = every
                .iter()
                .filter(|(o, seq, _)| *o == origin && *seq > after)
                .map(|(_, seq, kind)| (*seq, *kind))
                .collect();
            let read = store
                .as_derived()
                .doc_entries_after(&doc, &origin, after)
                .unwrap();
            assert_eq!(read, expected, "past {after}");
        }
        let none = store
            .as_derived()
            .doc_entries_after(&doc, &origin, u64::MAX);
        assert!(none.unwrap().is_empty());
        // A node's tips, as a hub's scope reads its own: that node's feeds, no other's.
        let own: Vec<_> = store
            .tips()
            .unwrap()
            .into_iter()
            .filter(|(o, _)| o.node == k.id())
            .collect();
        assert_eq!(own.len(), 1);
        assert_eq!(store.tips_of(&k.id()).unwrap(), own);
    }
}

/// The record index doubles its buckets after every kind of batch that can take it past eight
/// records a bucket: a roster import, a peer's batch derived by the worker's pass, and a
/// rebuild's batches.
#[test]
fn the_record_index_doubles_after_an_import_a_peers_batch_and_a_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let (ka, kb) = (key(81), key(82));
    let a = open_store(&dir.path().join("a")).unwrap();
    // 2,100 learners, one record each: past 8 a bucket of the first 256.
    let docs = roster_docs(2_100, 0x81);
    a.create_docs(&author(&ka, 5), "import", &docs, &[], |i, tx| {
        let err = |e: automerge::AutomergeError| cairn_node::error::Error::invalid(e.to_string());
        tx.put(ROOT, "type", "learner").map_err(err)?;
        tx.put(ROOT, "id", format!("L-{i}")).map_err(err)
    })
    .unwrap();
    assert_eq!(
        a.record_buckets().unwrap(),
        Some((512, 2_100)),
        "the import"
    );
    let b = open_without_worker(&dir.path().join("b"));
    sync(&a, &ka, &b, &kb);
    // A read of derived state derives the queued batch, as the worker's pass would.
    let found = |s: &Store, i: usize| {
        s.index_get(format!("id/L-{i}").as_bytes())
            .unwrap()
            .map(|v| DocId(v.try_into().unwrap()))
    };
    assert_eq!(found(&b, 2_099), Some(docs[2_099]));
    assert_eq!(
        b.record_buckets().unwrap(),
        Some((512, 2_100)),
        "a peer's batch"
    );
    a.rebuild().unwrap();
    assert_eq!(a.record_buckets().unwrap(), Some((512, 2_100)), "a rebuild");
    for s in [&a, &b] {
        assert!(s.check(None).unwrap().ok());
        for i in (0..2_100).step_by(97) {
            assert_eq!(found(s, i), Some(docs[i]), "L-{i}");
        }
    }
}

/// `queued_entries` counts the entries peers' batches left waiting to be derived, every batch
/// of every peer, and none once they are derived.
#[test]
fn queued_entries_counts_what_waits_to_be_derived() {
    let dir = tempfile::tempdir().unwrap();
    let (kh, kb, kx) = (key(1), key(2), key(3));
    let hub = scope_hub(&dir.path().join("hub"), &kh);
    assert_eq!(hub.queued_entries().unwrap(), 0);
    let site_b = open_store(&dir.path().join("b")).unwrap();
    let site_x = open_store(&dir.path().join("x")).unwrap();
    for n in 0..5u8 {
        learner(&site_b, &kb, DocId([n; 16]), &kb.id(), 10 + u64::from(n));
    }
    for n in 0..3u8 {
        learner(
            &site_x,
            &kx,
            DocId([0x80 + n; 16]),
            &kx.id(),
            10 + u64::from(n),
        );
    }
    let before = hub.vector().unwrap().total();
    sync(&site_b, &kb, &hub, &kh);
    let from_b = hub.vector().unwrap().total() - before;
    assert_eq!(from_b, 5, "B's five learners reached the hub");
    assert_eq!(hub.queued_entries().unwrap(), from_b);
    sync(&site_x, &kx, &hub, &kh);
    let received = hub.vector().unwrap().total() - before;
    assert_eq!(received, 8);
    assert!(hub.behind());
    assert_eq!(hub.queued_entries().unwrap(), received);
    hub.settle().unwrap();
    assert_eq!(hub.queued_entries().unwrap(), 0);
}
