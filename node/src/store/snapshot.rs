//! A document's snapshot as the store keeps it (`S` keys): automerge's save without its own
//! compression, compressed whole with zstd at level 1 (saves under 256 bytes stay plain).
//!
//! Why not automerge's `save()`: it deflates each column on its own, a sixth of the processor
//! time a hub spent deriving a first sync. On a hub's learner documents (about 40 KB saved
//! plain) it took about 310 µs a document; the plain save and zstd at level 1 take about 90 µs
//! together, and come out about 5 % smaller (docs/benchmarks.md, round 38). A snapshot is
//! rewritten every time its document changes, on a local write as on a sync, so the save is on
//! every write's path.
//!
//! Snapshots written before (automerge's own format, with its own magic number) still load:
//! [`decode`] tells the two apart by zstd's magic number, which no automerge document starts
//! with. A release before this one reads a zstd snapshot as unreadable: it rebuilds that
//! document from the log in memory at every load, its `check` lists the snapshot, and its
//! derived digest fails, until `cairn rebuild` under it (docs/storage.md). What a transfer
//! record carries to another node stays automerge's own save (`domain::learners`): this is the
//! store's business only.

use automerge::Automerge;
use std::cell::RefCell;

/// zstd's level: the fastest of its normal levels; higher ones cost more time than they save
/// bytes on these documents (level 3: 1.5× the time for 1 % fewer bytes).
const LEVEL: i32 = 1;

/// zstd's frame magic number (little-endian 0xFD2FB528); automerge's starts 0x85 0x6f 0x4a 0x83.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// The largest snapshot [`decode`] will expand, checked against the size the frame declares
/// before anything is allocated, so a corrupt header cannot ask for more. A document's plain
/// save is far below this (a learner's is tens of kilobytes; a transfer carries at most about
/// 1 MiB); one above it loads from the log instead, like any unreadable snapshot.
const MAX_PLAIN: u64 = 256 * 1024 * 1024;

/// Why a stored snapshot did not load.
#[derive(Debug, thiserror::Error)]
pub(super) enum Unreadable {
    #[error("its zstd frame does not say how large it is")]
    NoSize,
    #[error("it would expand to {0} bytes, more than a snapshot may ({MAX_PLAIN})")]
    TooLarge(u64),
    #[error("it does not decompress: {0}")]
    Zstd(std::io::Error),
    #[error(transparent)]
    Automerge(#[from] automerge::AutomergeError),
}

/// Plain saves shorter than this are stored as they are: compressing a new learner's record
/// (172 bytes) made it 5 % longer and took 5 µs more than the save's 2.3 (automerge's own save
/// leaves columns this short uncompressed for the same reason).
const COMPRESS_FROM: usize = 256;

thread_local! {
    /// Each thread's zstd context, kept: making one for every snapshot took a fifth of the
    /// compression's time on learner documents, and two thirds on small ones. A thread of the
    /// parallel derivation lives for one share of a batch, so it makes one for its share.
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
}

/// The bytes to store for `am`.
pub(super) fn encode(am: &Automerge) -> Vec<u8> {
    let plain = am.save_nocompress();
    // Above `MAX_PLAIN`, a frame would be refused by `decode`; the plain save has no such cap.
    if plain.len() < COMPRESS_FROM || plain.len() as u64 > MAX_PLAIN {
        return plain;
    }
    // Compressing a buffer in memory fails only when zstd cannot allocate its context; keep the
    // plain save then, which `decode` reads as well.
    COMPRESSOR
        .with_borrow_mut(|kept| {
            if kept.is_none() {
                *kept = zstd::bulk::Compressor::new(LEVEL).ok();
            }
            kept.as_mut()?.compress(&plain).ok()
        })
        .unwrap_or(plain)
}

/// Load a stored snapshot, in either format.
pub(super) fn decode(bytes: &[u8]) -> Result<Automerge, Unreadable> {
    if !bytes.starts_with(&ZSTD_MAGIC) {
        return Ok(Automerge::load(bytes)?);
    }
    let size = match zstd::zstd_safe::get_frame_content_size(bytes) {
        Ok(Some(size)) => size,
        Ok(None) | Err(_) => return Err(Unreadable::NoSize),
    };
    if size > MAX_PLAIN {
        return Err(Unreadable::TooLarge(size));
    }
    let plain = zstd::bulk::decompress(bytes, size as usize).map_err(Unreadable::Zstd)?;
    Ok(Automerge::load(&plain)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::ROOT;
    use automerge::transaction::Transactable;
    use proptest::prelude::*;

    fn doc(texts: &[String]) -> Automerge {
        let mut am = Automerge::new();
        let mut tx = am.transaction();
        for (i, t) in texts.iter().enumerate() {
            tx.put(ROOT, format!("k{i}"), t.as_str()).unwrap();
        }
        tx.commit();
        am
    }

    proptest! {
        /// Whatever a document holds, its stored snapshot loads back to the same document, and
        /// so does the snapshot automerge's own `save` wrote before.
        #[test]
        fn snapshots_load_back(texts in proptest::collection::vec(".{0,400}", 0..20)) {
            let am = doc(&texts);
            for stored in [encode(&am), am.save()] {
                let back = decode(&stored).unwrap();
                prop_assert_eq!(back.get_heads(), am.get_heads());
                prop_assert_eq!(back.save(), am.save());
            }
        }

        /// Damaged bytes are refused or load as some document: never a panic.
        #[test]
        fn damaged_snapshots_do_not_panic(
            texts in proptest::collection::vec(".{0,200}", 1..5),
            at in any::<prop::sample::Index>(),
            byte in any::<u8>(),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut stored = encode(&doc(&texts));
            let i = at.index(stored.len());
            stored[i] = byte;
            let _ = decode(&stored);
            let _ = decode(&stored[..cut.index(stored.len())]);
        }
    }

    #[test]
    fn large_snapshots_are_zstd_frames_and_small_ones_plain() {
        let am = doc(&["a paragraph describing the work done".repeat(50)]);
        let stored = encode(&am);
        assert!(stored.starts_with(&ZSTD_MAGIC));
        assert!(stored.len() < am.save_nocompress().len());
        assert!(!am.save().starts_with(&ZSTD_MAGIC));
        let small = doc(&["Learner".to_string()]);
        assert!(small.save_nocompress().len() < COMPRESS_FROM);
        assert_eq!(encode(&small), small.save_nocompress());
    }

    /// Through the store: a snapshot is stored as a zstd frame and reads back after a reopen;
    /// one in automerge's own format (a store written before) reads back; a damaged one is
    /// named by `cairn check` and the document is rebuilt from the log.
    #[test]
    fn the_store_reads_both_formats_and_rebuilds_a_damaged_snapshot() {
        use super::super::{Author, Store, keys};
        use automerge::ReadDoc;
        use cairn_sync_protocol::{DocId, NodeKey, UserId};
        let dir = tempfile::tempdir().unwrap();
        let open = || {
            Store::open(
                dir.path(),
                std::sync::Arc::new(crate::records::DocumentIndex),
            )
            .unwrap()
        };
        let key = NodeKey::from_bytes(&[3; 32]);
        let d = DocId([5; 16]);
        let narrative = "a paragraph describing the work done, ".repeat(40);
        let snapshot_key = keys::doc_key(keys::SNAPSHOT, &d);
        let heads = {
            let store = open();
            let author = Author {
                key: &key,
                epoch: 0,
                now_ms: 1,
                user: UserId([9; 16]),
            };
            store
                .change_doc(&author, d, "t", |tx| {
                    tx.put(ROOT, "narrative", narrative.as_str())
                        .map_err(|e| crate::error::Error::invalid(e.to_string()))
                })
                .unwrap();
            let stored = store.tree.get(&snapshot_key).unwrap().unwrap();
            assert!(stored.starts_with(&ZSTD_MAGIC));
            store.doc(&d).unwrap().unwrap().get_heads()
        };
        // Read with the document's entry lists (`X`) set aside, so that a snapshot that does
        // not load cannot be hidden by the rebuild from the log (which would find nothing).
        let from_snapshot = |store: &Store| {
            let lists: Vec<_> = store
                .tree
                .scan_prefix([&[keys::DOC_ENTRY][..], &d.0].concat())
                .collect::<std::result::Result<_, _>>()
                .unwrap();
            assert!(!lists.is_empty());
            for (k, _) in &lists {
                store.tree.remove(k).unwrap();
            }
            let am = store.doc(&d).unwrap().unwrap();
            for (k, v) in lists {
                store.tree.insert(k, v).unwrap();
            }
            am
        };
        let reads_back = |am: Automerge| {
            assert_eq!(am.get_heads(), heads);
            let (value, _) = am.get(ROOT, "narrative").unwrap().unwrap();
            assert_eq!(value.as_str(), Some(narrative.as_str()));
            am
        };
        {
            let store = open();
            let am = reads_back(from_snapshot(&store));
            assert!(store.check(None).unwrap().problems.is_empty());
            store.tree.insert(&snapshot_key, am.save()).unwrap();
        }
        let damaged = {
            let store = open();
            let am = reads_back(from_snapshot(&store));
            assert!(store.check(None).unwrap().problems.is_empty());
            let mut bad = encode(&am);
            let middle = bad.len() / 2;
            bad[middle] ^= 0xff;
            assert!(decode(&bad).is_err());
            store.tree.insert(&snapshot_key, bad.clone()).unwrap();
            bad
        };
        let store = open();
        assert_eq!(store.tree.get(&snapshot_key).unwrap().unwrap(), damaged);
        assert_eq!(store.check(None).unwrap().problems.len(), 1);
        reads_back(store.doc(&d).unwrap().unwrap());
    }

    #[test]
    fn a_frame_declaring_more_than_the_limit_is_refused_before_allocating() {
        // A frame header declaring 2^40 bytes (single-segment flag off, 8-byte size field),
        // followed by nothing: refused on the declared size alone.
        let mut frame = ZSTD_MAGIC.to_vec();
        frame.push(0b1100_0000); // frame header descriptor: 8-byte content size, window follows
        frame.push(0); // window descriptor
        frame.extend_from_slice(&(1u64 << 40).to_le_bytes());
        match decode(&frame) {
            Err(Unreadable::TooLarge(n)) => assert_eq!(n, 1 << 40),
            other => panic!("expected TooLarge, got {other:?}"),
        }
    }
}
