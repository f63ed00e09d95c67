//! The record index: which document holds each record id (`A-…` → the learner's document).
//!
//! It has one entry per record, so it grows with the entries, and sled 0.34's open time and
//! memory follow its number of keys (docs/benchmarks.md, rounds 6–7). Its entries are therefore
//! kept in a fixed number of buckets (`G` keys, at most 65,536: 16 bits of a hash), each a sorted list of
//! (record id, document), instead of one key each: at 3M entries that is 65,536 keys where one
//! per record would be about 3M. A write reads and rewrites the buckets it touches (about 1.4 KB
//! each at 3M records); a document that is derived again touches only the buckets of the
//! records it gained or lost.
//!
//! Which bucket an id falls in is a keyed hash: SHA-256 of the store's own random key (a local
//! key made with the first bucket) and the id. Record ids come from peers' documents, so a
//! known hash would let a site craft thousands of ids that share one bucket and make every
//! write to it slow; without the key it cannot aim.
//!
//! Stores written before buckets hold one `I` key per record (`I` + the index's prefix + the
//! id). Lookups read the bucket, then that key; a record a document loses is removed from
//! both; `rebuild` writes buckets only.

use super::{Core, keys};
use crate::error::{Error, Result};
use cairn_sync_protocol::{DocId, codec};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The local key (under `L`) holding the store's bucket key.
const SALT: &str = "record-index-key";

/// Largest bucket value read: far above what 65,536 buckets hold at any realistic size
/// (about 1.4 KB at 3M records), so only a corrupt value is refused.
const BUCKET_LIMIT: usize = 64 << 20;

/// What a batch does to the record index, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The document holds this record.
    Put(Vec<u8>, DocId),
    /// The document no longer holds this record: removed if the index names that document.
    Drop(Vec<u8>, DocId),
}

impl Change {
    fn id(&self) -> &[u8] {
        match self {
            Change::Put(id, _) | Change::Drop(id, _) => id,
        }
    }
}

/// One bucket's entries: record id → document.
pub type Bucket = BTreeMap<Vec<u8>, [u8; 16]>;

/// Apply changes, in order, to one bucket's entries.
pub fn apply(bucket: &mut Bucket, changes: &[&Change]) {
    for c in changes {
        match c {
            Change::Put(id, doc) => {
                bucket.insert(id.clone(), doc.0);
            }
            Change::Drop(id, doc) => {
                if bucket.get(id) == Some(&doc.0) {
                    bucket.remove(id);
                }
            }
        }
    }
}

/// A bucket's stored form: its entries in id order.
pub fn encode(bucket: &Bucket) -> Result<Vec<u8>> {
    let list: Vec<(serde_bytes::ByteBuf, [u8; 16])> = bucket
        .iter()
        .map(|(id, doc)| (serde_bytes::ByteBuf::from(id.clone()), *doc))
        .collect();
    codec::encode(&list).map_err(|e| Error::storage("encoding a record index bucket", e))
}

/// Read a bucket's stored form.
pub fn decode(v: &[u8]) -> Result<Bucket> {
    let list: Vec<(serde_bytes::ByteBuf, [u8; 16])> =
        codec::decode(v, BUCKET_LIMIT).map_err(|_| super::corrupt("a record index bucket"))?;
    Ok(list
        .into_iter()
        .map(|(id, doc)| (id.into_vec(), doc))
        .collect())
}

/// The bucket of `id` under the store's key `salt`.
pub fn bucket_of(salt: &[u8; 16], id: &[u8]) -> u16 {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(id);
    let d = h.finalize();
    u16::from_be_bytes([d[0], d[1]])
}

/// The store's bucket key, if it has made one (a store without it has no buckets).
fn salt(store: &Core) -> Result<Option<[u8; 16]>> {
    match store.tree.get(keys::local(SALT))? {
        None => Ok(None),
        Some(v) => <[u8; 16]>::try_from(v.as_ref())
            .map(Some)
            .map_err(|_| super::corrupt("the record index's key")),
    }
}

/// The document holding record `id`: its bucket, else the key a store written before buckets
/// kept for it (`legacy`: the full `I` key).
pub(super) fn find(store: &Core, id: &[u8], legacy: &[u8]) -> Result<Option<DocId>> {
    if let Some(salt) = salt(store)?
        && let Some(v) = store.tree.get(keys::record_bucket(bucket_of(&salt, id)))?
        && let Some(doc) = decode(&v)?.get(id)
    {
        return Ok(Some(DocId(*doc)));
    }
    Ok(store
        .tree
        .get(legacy)?
        .and_then(|v| <[u8; 16]>::try_from(v.as_ref()).ok())
        .map(DocId))
}

/// Add `changes` to `batch`: each bucket they touch read once, changed in order, and written
/// back (removed when empty). Makes the store's bucket key in the same batch if it has none.
/// The caller holds the writer, so no other batch changes these buckets meanwhile.
pub(super) fn write(store: &Core, batch: &mut sled::Batch, changes: Vec<Change>) -> Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let salt = match salt(store)? {
        Some(s) => s,
        None => {
            let mut s = [0u8; 16];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut s);
            batch.insert(keys::local(SALT), s.to_vec());
            s
        }
    };
    let mut by_bucket: BTreeMap<u16, Vec<&Change>> = BTreeMap::new();
    for c in &changes {
        by_bucket
            .entry(bucket_of(&salt, c.id()))
            .or_default()
            .push(c);
    }
    for (b, changes) in by_bucket {
        let key = keys::record_bucket(b);
        let mut bucket = match store.tree.get(&key)? {
            Some(v) => decode(&v)?,
            None => Bucket::new(),
        };
        apply(&mut bucket, &changes);
        if bucket.is_empty() {
            batch.remove(key);
        } else {
            batch.insert(key, encode(&bucket)?);
        }
    }
    Ok(())
}

/// Every (record id, document) the index holds, buckets and keys written before them alike,
/// in id order (a digest of derived state must not depend on the layout).
pub(super) fn all(store: &Core, legacy_prefix: &[u8]) -> Result<BTreeMap<Vec<u8>, [u8; 16]>> {
    let mut out = BTreeMap::new();
    for kv in store.tree.scan_prefix(legacy_prefix) {
        let (k, v) = kv?;
        if let Ok(doc) = <[u8; 16]>::try_from(v.as_ref()) {
            out.insert(k[legacy_prefix.len()..].to_vec(), doc);
        }
    }
    for kv in store.tree.scan_prefix([keys::RECORD_BUCKET]) {
        let (_, v) = kv?;
        out.extend(decode(&v)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn doc(n: u8) -> DocId {
        DocId([n; 16])
    }

    #[test]
    fn a_record_dropped_by_another_document_stays() {
        let mut b = Bucket::new();
        let put = Change::Put(b"A-1".to_vec(), doc(1));
        let drop_other = Change::Drop(b"A-1".to_vec(), doc(2));
        apply(&mut b, &[&put, &drop_other]);
        assert_eq!(b.get(&b"A-1"[..]), Some(&doc(1).0));
        let drop_own = Change::Drop(b"A-1".to_vec(), doc(1));
        apply(&mut b, &[&drop_own]);
        assert!(b.is_empty());
    }

    #[test]
    fn the_bucket_depends_on_the_stores_key() {
        // 32 ids landing in the same bucket under two random keys would be a 2^-512 chance.
        let ids: Vec<Vec<u8>> = (0..32).map(|i| format!("A-{i}").into_bytes()).collect();
        let under = |salt: [u8; 16]| {
            ids.iter()
                .map(|id| bucket_of(&salt, id))
                .collect::<Vec<_>>()
        };
        assert_ne!(under([1; 16]), under([2; 16]));
        assert_eq!(under([1; 16]), under([1; 16]));
    }

    #[test]
    fn a_corrupt_bucket_is_an_error_not_a_panic() {
        assert!(decode(&[0xff, 0xff, 0xff]).is_err());
        assert!(decode(&[]).is_err());
    }

    /// A learner document holding `records` under `enrollments`, written by `store`'s node.
    fn write_learner(
        store: &super::super::Store,
        key: &cairn_sync_protocol::NodeKey,
        d: DocId,
        records: &[&str],
        now: u64,
    ) {
        use automerge::{ObjType, ROOT, transaction::Transactable};
        let author = super::super::Author {
            key,
            epoch: 0,
            now_ms: now,
            user: cairn_sync_protocol::UserId([9; 16]),
        };
        store
            .change_doc(&author, d, "t", |tx| {
                let err = |e: automerge::AutomergeError| Error::invalid(e.to_string());
                tx.put(ROOT, "type", "learner").map_err(err)?;
                tx.put(ROOT, "id", "L-TEST").map_err(err)?;
                let obj = tx
                    .put_object(ROOT, "enrollments", ObjType::Map)
                    .map_err(err)?;
                for r in records {
                    tx.put_object(&obj, *r, ObjType::Map).map_err(err)?;
                }
                Ok(())
            })
            .unwrap();
    }

    fn lookup(store: &super::super::Store, id: &str) -> Option<DocId> {
        store
            .index_get(format!("id/{id}").as_bytes())
            .unwrap()
            .map(|v| DocId(v.try_into().unwrap()))
    }

    #[test]
    fn a_store_written_before_buckets_is_read_changed_and_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let store = super::super::Store::open(
            dir.path(),
            std::sync::Arc::new(crate::records::DocumentIndex),
        )
        .unwrap();
        let key = cairn_sync_protocol::NodeKey::from_bytes(&[3; 32]);
        write_learner(&store, &key, doc(1), &["E-KEEP", "E-LOSE"], 1);
        let (digest, _, _) = store.derived_digest().unwrap();
        // Turn the store into what a release before buckets wrote: one `I id/…` key per record,
        // no buckets, no bucket key.
        let legacy = [&[keys::INDEX][..], b"id/"].concat();
        let held = all(&store, &legacy).unwrap();
        assert_eq!(held.len(), 3, "the learner and its two records");
        for (id, d) in &held {
            store
                .tree
                .insert([&legacy[..], id].concat(), d.to_vec())
                .unwrap();
        }
        for k in store.tree.scan_prefix([keys::RECORD_BUCKET]).keys() {
            store.tree.remove(k.unwrap()).unwrap();
        }
        store.tree.remove(keys::local(SALT)).unwrap();
        assert_eq!(lookup(&store, "E-KEEP"), Some(doc(1)));
        assert_eq!(
            store.derived_digest().unwrap().0,
            digest,
            "the same index, laid out before buckets"
        );
        // The learner loses one record and gains one: the lost one's old key goes, the new one
        // goes to a bucket, the kept one is still found by its old key.
        write_learner(&store, &key, doc(1), &["E-KEEP", "E-NEW"], 2);
        assert_eq!(lookup(&store, "E-LOSE"), None);
        assert!(
            store
                .tree
                .get([&legacy[..], b"E-LOSE"].concat())
                .unwrap()
                .is_none()
        );
        assert_eq!(lookup(&store, "E-NEW"), Some(doc(1)));
        assert_eq!(lookup(&store, "E-KEEP"), Some(doc(1)));
        let (digest, _, _) = store.derived_digest().unwrap();
        // A rebuild writes buckets only, and derives the same index.
        store.rebuild().unwrap();
        assert_eq!(store.tree.scan_prefix(&legacy).count(), 0);
        assert_eq!(store.derived_digest().unwrap().0, digest);
        for (id, want) in [
            ("E-KEEP", Some(doc(1))),
            ("E-NEW", Some(doc(1))),
            ("E-LOSE", None),
            ("L-TEST", Some(doc(1))),
        ] {
            assert_eq!(lookup(&store, id), want, "{id}");
        }
    }

    proptest! {
        /// Whatever puts and drops a batch holds, in whatever order the buckets are written,
        /// a bucket holds what applying them one by one to a plain map gives, and its stored
        /// form reads back the same.
        #[test]
        fn buckets_hold_what_the_changes_say(
            ops in proptest::collection::vec((any::<bool>(), 0..12u8, 0..3u8), 0..60)
        ) {
            let changes: Vec<Change> = ops
                .iter()
                .map(|&(put, id, d)| {
                    let id = format!("E-{id}").into_bytes();
                    if put { Change::Put(id, doc(d)) } else { Change::Drop(id, doc(d)) }
                })
                .collect();
            let mut model: BTreeMap<Vec<u8>, [u8; 16]> = BTreeMap::new();
            for c in &changes {
                match c {
                    Change::Put(id, d) => { model.insert(id.clone(), d.0); }
                    Change::Drop(id, d) => {
                        if model.get(id) == Some(&d.0) { model.remove(id); }
                    }
                }
            }
            // Two buckets, split by the id's last byte: each gets its own changes, in order.
            let mut got = BTreeMap::new();
            for half in 0..2u8 {
                let mine: Vec<&Change> =
                    changes.iter().filter(|c| c.id().last().copied().unwrap_or(0) % 2 == half).collect();
                let mut b = Bucket::new();
                apply(&mut b, &mine);
                let stored = decode(&encode(&b).unwrap()).unwrap();
                prop_assert_eq!(&stored, &b);
                got.extend(stored);
            }
            prop_assert_eq!(got, model);
        }
    }
}
