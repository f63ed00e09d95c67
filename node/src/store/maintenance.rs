//! `cairn check` (verify the whole log) and `cairn rebuild` (recompute derived state from it).

use super::derive::derive;
use super::{Core, decode_item, decode_tip, encode_tip, keys};
use crate::error::Result;
use cairn_sync_protocol::{FeedChecker, FeedItem, NodeId, Origin, StoredEntry, Tip};
use serde::{Deserialize, Serialize};

/// What `check` found.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct CheckReport {
    /// Feeds checked.
    pub feeds: u64,
    /// Whole entries checked.
    pub entries: u64,
    /// Elided ranges checked.
    pub elided_ranges: u64,
    /// Documents whose snapshot loaded.
    pub documents: u64,
    /// Every problem found, in plain words. Empty means the store is sound.
    pub problems: Vec<String>,
}

impl CheckReport {
    /// True when nothing is wrong.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// What `rebuild` did.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct RebuildReport {
    /// Feeds replayed.
    pub feeds: u64,
    /// Whole entries replayed.
    pub entries: u64,
    /// Documents rebuilt.
    pub documents: u64,
}

/// Progress through one feed during `check`.
struct FeedWalk {
    origin: Origin,
    checker: FeedChecker,
    last: Option<(u64, cairn_sync_protocol::Hash32)>,
    // After the first problem in a feed, later links cannot be judged; report once.
    broken: bool,
}

/// Walk the `E` keys feed by feed, calling `each` for every item of every feed in order.
fn for_each_feed(
    store: &Core,
    mut each: impl FnMut(Origin, Option<FeedItem>) -> Result<()>,
) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    for kv in store.tree.scan_prefix([keys::ENTRY]) {
        let (k, v) = kv?;
        let Some(origin) = keys::parse_origin(&k[1..]) else {
            problems.push("a log key is malformed".into());
            continue;
        };
        match decode_item(&v) {
            Ok(stored) => {
                for item in stored.into_items() {
                    each(origin, Some(item))?;
                }
            }
            Err(_) => {
                problems.push(format!(
                    "entry {} of {origin} cannot be read",
                    keys::parse_u64(&k[37..]).unwrap_or(0)
                ));
                each(origin, None)?;
            }
        }
    }
    Ok(problems)
}

impl Core {
    /// Verify every feed (positions, hashes, chain links, signatures or trusted vouches) and that
    /// every document snapshot loads. `relay` is the node whose vouches count (a site's hub).
    pub fn check(&self, relay: Option<NodeId>) -> Result<CheckReport> {
        self.settle()?;
        let mut report = CheckReport::default();
        let mut problems = Vec::new();
        let mut current: Option<FeedWalk> = None;
        let finish = |walk: Option<FeedWalk>,
                      report: &mut CheckReport,
                      problems: &mut Vec<String>|
         -> Result<()> {
            let Some(walk) = walk else { return Ok(()) };
            report.feeds += 1;
            if !walk.broken
                && let Err(e) = walk.checker.finish()
            {
                problems.push(e.to_string());
            }
            if self.stored_tip(&walk.origin)?.map(|t| (t.seq, t.hash)) != walk.last {
                problems.push(format!(
                    "the recorded tip of {} does not match its last entry (run `cairn rebuild`)",
                    walk.origin
                ));
            }
            Ok(())
        };
        let read_problems = for_each_feed(self, |origin, item| {
            if current.as_ref().is_none_or(|c| c.origin != origin) {
                finish(current.take(), &mut report, &mut problems)?;
                current = Some(FeedWalk {
                    origin,
                    checker: FeedChecker::new(origin, relay),
                    last: None,
                    broken: false,
                });
            }
            let Some(walk) = current.as_mut() else {
                return Ok(());
            };
            let Some(item) = item else {
                walk.broken = true;
                return Ok(());
            };
            match &item {
                FeedItem::Entry(_) => report.entries += 1,
                FeedItem::Elided(_) => report.elided_ranges += 1,
            }
            walk.last = Some((item.last_seq(), item.last_hash()));
            if !walk.broken
                && let Err(e) = walk.checker.push(&item)
            {
                problems.push(e.to_string());
                walk.broken = true;
            }
            Ok(())
        })?;
        finish(current.take(), &mut report, &mut problems)?;
        problems.extend(read_problems);
        for kv in self.tree.scan_prefix([keys::TIP]) {
            let (k, v) = kv?;
            if decode_tip(&v).is_err() {
                problems.push("a recorded tip is unreadable (run `cairn rebuild`)".into());
            }
            if let Some(origin) = keys::parse_origin(&k[1..])
                && self.item_covering(&origin, 1)?.is_none()
            {
                problems.push(format!(
                    "{origin} has a recorded tip but no entries (run `cairn rebuild`)"
                ));
            }
        }
        for kv in self.tree.scan_prefix([keys::SNAPSHOT]) {
            let (k, v) = kv?;
            match super::snapshot::decode(&v) {
                Ok(_) => report.documents += 1,
                Err(e) => problems.push(format!(
                    "the snapshot of document {} does not load ({e}); run `cairn rebuild`",
                    data_encoding::HEXLOWER.encode(&k[1..])
                )),
            }
        }
        // Under the writer: a batch derived during the scan would change the count, and a
        // doubling move records, between the shape's read and the buckets'.
        problems.extend({
            let _w = self.writer();
            super::record_index::problems(&self.tree)?
        });
        report.problems = problems;
        Ok(report)
    }

    /// Throw away every derived key and recompute it from the log.
    pub fn rebuild(&self) -> Result<RebuildReport> {
        let mut w = self.writer();
        // Appends wait too: the derivation queue is dropped with the rest of the derived state.
        let _append = self.appender();
        let queued = self.queued.load(std::sync::atomic::Ordering::SeqCst);
        // Odd from here until this returns, whether it succeeds or not.
        self.rebuilds
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        struct Ended<'a>(&'a std::sync::atomic::AtomicU64);
        impl Drop for Ended<'_> {
            fn drop(&mut self) {
                self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
        let _ended = Ended(&self.rebuilds);
        w.docs.clear();
        // Not known complete until the end (sled recovers its log as a prefix: if any derived
        // key below is gone after a crash, so is this).
        self.remove_local(super::INDEX_VERSION)?;
        self.remove_local(super::DERIVED_FORMAT)?;
        // The tips are rewritten below; readers wait for this rebuild (it holds the appender's
        // lock, which loading them takes), also if it fails half-way.
        self.tips_forget();
        for prefix in keys::DERIVED {
            let mut batch = sled::Batch::default();
            let mut n = 0;
            for k in self.tree.scan_prefix([*prefix]).keys() {
                batch.remove(k?);
                n += 1;
                if n % 10_000 == 0 {
                    self.tree.apply_batch(std::mem::take(&mut batch))?;
                }
            }
            if *prefix == keys::RECORD_BUCKET {
                // The record index starts again with few buckets, in the batch that removes
                // the last of the old ones (the store's bucket key stays, and without a shape
                // its buckets would be read as 2^16).
                super::record_index::begin(&mut batch, super::record_index::GROWTH)?;
            }
            self.tree.apply_batch(batch)?;
        }
        let mut report = RebuildReport::default();
        let mut pending: Vec<StoredEntry> = Vec::new();
        let mut tip: Option<(Origin, Tip)> = None;
        let flush_entries =
            |store: &Core, w: &mut super::Writer, entries: &mut Vec<StoredEntry>| -> Result<()> {
                let mut batch = sled::Batch::default();
                let refs: Vec<&StoredEntry> = entries.iter().collect();
                derive(store, w, &mut batch, &refs)?;
                store.tree.apply_batch(batch)?;
                store.grow_record_index(w)?;
                entries.clear();
                Ok(())
            };
        let mut tips = Vec::new();
        let _ = for_each_feed(self, |origin, item| {
            let Some(item) = item else { return Ok(()) };
            if tip.as_ref().is_none_or(|t| t.0 != origin) {
                if let Some(t) = tip.take() {
                    tips.push(t);
                }
                report.feeds += 1;
            }
            tip = Some((
                origin,
                Tip {
                    seq: item.last_seq(),
                    hash: item.last_hash(),
                },
            ));
            if let FeedItem::Entry(se) = item {
                report.entries += 1;
                pending.push(se);
                if pending.len() >= super::log::DERIVE_AT_ONCE {
                    flush_entries(self, &mut w, &mut pending)?;
                }
            }
            Ok(())
        })?;
        if let Some(t) = tip.take() {
            tips.push(t);
        }
        flush_entries(self, &mut w, &mut pending)?;
        let mut batch = sled::Batch::default();
        for (origin, t) in tips {
            batch.insert(keys::origin_key(keys::TIP, &origin), encode_tip(&t));
        }
        self.tree.apply_batch(batch)?;
        report.documents = self.tree.scan_prefix([keys::SNAPSHOT]).count() as u64;
        // The queue went with the rest of the derived state (appends wait for this).
        self.queued_authors.clear();
        // Made durable by the flush that follows, with everything rebuilt.
        let _ = self.set_local_unflushed(super::INDEX_VERSION, &self.indexer.version())?;
        let _ = self.set_local_unflushed(super::DERIVED_FORMAT, &super::DERIVED_FORMAT_VERSION)?;
        self.flush()?;
        self.derived
            .fetch_max(queued, std::sync::atomic::Ordering::SeqCst);
        Ok(report)
    }
}

impl Core {
    /// Copy every key into a new store at `dir`, consistently: the writer is held, so no entry,
    /// tip or document changes while the copy is made (local notes such as the audit trail may
    /// move on; a backup is restored under a new epoch anyway). Used by `cairn backup`, also while
    /// the node runs. Returns how many keys were copied.
    pub fn copy_to(&self, dir: &std::path::Path) -> Result<u64> {
        self.settle()?;
        let _w = self.writer();
        let _append = self.appender();
        self.flush()?;
        let copy = sled::Config::new().path(dir).open()?;
        let tree = copy.open_tree("cairn")?;
        let mut batch = sled::Batch::default();
        let mut n = 0u64;
        for kv in self.tree.iter() {
            let (k, v) = kv?;
            batch.insert(k, v);
            n += 1;
            if n.is_multiple_of(10_000) {
                tree.apply_batch(std::mem::take(&mut batch))?;
            }
        }
        tree.apply_batch(batch)?;
        copy.flush()?;
        Ok(n)
    }
}

impl Core {
    /// A digest of the derived state once everything queued is derived: index keys (the record
    /// index as pairs, whatever its layout), their per-document lists, site records, the
    /// transfer lists, chunk pointers, tips, counts, every document's heads and every document's entry list (as
    /// entries, whatever their grouping). Two stores with the same digest derived the same
    /// state; tests compare it with a rebuild's. Returns the digest (hex), the number of
    /// documents and the learner count.
    pub fn derived_digest(&self) -> Result<(String, u64, u64)> {
        use sha2::{Digest, Sha256};
        self.settle()?;
        let _w = self.writer();
        let mut h = Sha256::new();
        fn put(h: &mut Sha256, b: &[u8]) {
            h.update((b.len() as u64).to_be_bytes());
            h.update(b);
        }
        // The record index as (id, document) pairs, whether in buckets or in the keys of a
        // store written before them; its `I` keys are left out of the scan below.
        let records = self
            .indexer
            .record_prefix()
            .map(|p| [&[keys::INDEX][..], p].concat());
        if let Some(legacy) = &records {
            for (id, doc) in super::record_index::all(&self.tree, legacy)? {
                put(&mut h, &id);
                put(&mut h, &doc);
            }
        }
        for prefix in [
            keys::INDEX,
            keys::DOC_INDEX_KEYS,
            keys::SITE,
            keys::TRANSFER,
            keys::CHUNK,
            keys::TIP,
        ] {
            for kv in self.tree.scan_prefix([prefix]) {
                let (k, v) = kv?;
                if records.as_ref().is_some_and(|r| k.starts_with(r)) {
                    continue;
                }
                put(&mut h, &k);
                put(&mut h, &v);
            }
        }
        let mut listed = Vec::new();
        for kv in self.tree.scan_prefix([keys::DOC_ENTRY]) {
            let (k, v) = kv?;
            let doc = k.get(1..17).unwrap_or_default().to_vec();
            for (origin, seq, kind) in super::derive::parse_doc_entries(17, &k, &v)
                .ok_or_else(|| super::corrupt("a document's entry list"))?
            {
                listed.push((doc.clone(), origin.to_bytes(), seq, kind));
            }
        }
        listed.sort();
        for (doc, origin, seq, kind) in listed {
            put(&mut h, &doc);
            put(&mut h, &origin);
            put(&mut h, &seq.to_be_bytes());
            put(&mut h, &[kind]);
        }
        let mut documents = 0;
        for kv in self.tree.scan_prefix([keys::SNAPSHOT]) {
            let (k, v) = kv?;
            let mut heads = super::snapshot::decode(&v)
                .map_err(|e| crate::error::Error::storage("a snapshot does not load", e))?
                .get_heads();
            heads.sort();
            put(&mut h, &k);
            for head in heads {
                put(&mut h, &head.0);
            }
            documents += 1;
        }
        let mut learners = 0;
        for prefix in self.indexer.counted() {
            let n = super::derive::read_count(self, prefix)?.unwrap_or(0);
            put(&mut h, prefix);
            put(&mut h, &n.to_be_bytes());
            if *prefix == b"learner/" {
                learners = n;
            }
        }
        Ok((
            data_encoding::HEXLOWER.encode(&h.finalize()),
            documents,
            learners,
        ))
    }
}
