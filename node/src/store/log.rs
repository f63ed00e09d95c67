//! Writing to the log: local actions and verified runs from peers.

use super::derive::{History, Writes, derive, load_doc, write_doc};
use super::{Store, Writer, encode_item, encode_tip, keys};
use crate::error::{Error, Result};
use automerge::transaction::{CommitOptions, Transaction};
use automerge::{ActorId, Automerge, ReadDoc};
use cairn_sync_protocol::{
    Body, BodyKind, DocId, FeedItem, Fork, Hash32, Hlc, HybridClock, LogStore, NodeKey, Origin,
    StoredEntry, Tip, UserId, VerifiedRun, VersionVector,
};

/// Who is writing: the node's key and epoch, the wall clock, and the acting person.
pub struct Author<'a> {
    /// The node's signing key.
    pub key: &'a NodeKey,
    /// The node's current epoch.
    pub epoch: u32,
    /// Wall clock, milliseconds since the Unix epoch.
    pub now_ms: u64,
    /// The acting person.
    pub user: UserId,
}

impl Author<'_> {
    /// This author's origin.
    pub fn origin(&self) -> Origin {
        Origin {
            node: self.key.id(),
            epoch: self.epoch,
        }
    }
}

/// The body of an entry carrying an automerge change, refused over the entry size limit.
fn change_body(author: &Author<'_>, doc: DocId, change: &[u8]) -> Result<Body> {
    if change.len() > cairn_sync_protocol::limits::MAX_PAYLOAD {
        return Err(Error::invalid(format!(
            "this change is {} bytes, over the {}-byte limit for one entry",
            change.len(),
            cairn_sync_protocol::limits::MAX_PAYLOAD
        )));
    }
    Ok(Body {
        doc,
        user: author.user,
        kind: BodyKind::Change,
        data: change.to_vec(),
    })
}

impl Store {
    fn next_hlc(&self, now_ms: u64) -> Result<Hlc> {
        let last: Hlc = self.local("hlc")?.unwrap_or_default();
        Ok(HybridClock::resume(last).tick(now_ms))
    }

    /// Author one entry (and its derived state) as one durable write.
    fn commit_local(
        &self,
        w: &mut Writer,
        author: &Author<'_>,
        body: Body,
        mut batch: sled::Batch,
        touched: &mut Vec<DocId>,
    ) -> Result<StoredEntry> {
        let origin = author.origin();
        let prev = self.tip(&origin)?.map(|t| (t.seq, t.hash));
        let hlc = self.next_hlc(author.now_ms)?;
        let entry = StoredEntry::author(author.key, author.epoch, prev, hlc, body);
        batch.insert(
            keys::entry(&origin, entry.entry.seq),
            encode_item(&FeedItem::Entry(entry.clone()))?,
        );
        batch.insert(
            keys::origin_key(keys::TIP, &origin),
            encode_tip(&Tip {
                seq: entry.entry.seq,
                hash: entry.hash,
            }),
        );
        batch.insert(
            keys::local("hlc"),
            serde_json::to_vec(&hlc).map_err(|e| Error::storage("encoding the clock", e))?,
        );
        if entry.entry.body.kind != BodyKind::Change {
            touched.extend(derive(self, w, &mut batch, &[&entry])?);
        } else {
            batch.insert(
                keys::doc_entry(&entry.entry.body.doc, &origin, entry.entry.seq),
                &[super::derive::kind_byte(BodyKind::Change)],
            );
        }
        self.apply(batch)?;
        Ok(entry)
    }

    fn apply(&self, batch: sled::Batch) -> Result<()> {
        self.tree.apply_batch(batch)?;
        self.flush()
    }

    /// Change a document as `author`: `edit` runs in an automerge transaction; its change, the
    /// signed entry, the document snapshot and indexes are written atomically and flushed before
    /// this returns. Returns `None` as the entry when `edit` changed nothing.
    pub fn change_doc<T>(
        &self,
        author: &Author<'_>,
        doc: DocId,
        message: &str,
        edit: impl FnOnce(&mut Transaction<'_>) -> Result<T>,
    ) -> Result<(T, Option<StoredEntry>)> {
        let mut w = self.writer();
        let mut am = load_doc(self, &mut w, doc)?;
        am.set_actor(ActorId::from(&author.origin().to_bytes()[..]));
        // A local change builds on every head; from a single head the history stays one line.
        let history = if am.get_heads().len() <= 1 {
            History::Linear
        } else {
            History::MayHaveBranched
        };
        let secs = (author.now_ms / 1000) as i64;
        let outcome = am.transact_with(
            |_| {
                CommitOptions::default()
                    .with_message(message)
                    .with_time(secs)
            },
            edit,
        );
        let (value, hash) = match outcome {
            Ok(success) => (success.result, success.hash),
            Err(failure) => {
                w.docs.put(doc, am);
                return Err(failure.error);
            }
        };
        let Some(hash) = hash else {
            w.docs.put(doc, am);
            return Ok((value, None));
        };
        let Some(change) = am.get_change_by_hash(&hash) else {
            return Err(Error::storage_msg("automerge lost the change it just made"));
        };
        let body = change_body(author, doc, change.raw_bytes())?;
        let mut writes = Writes::default();
        write_doc(self, &mut writes, doc, &am, &[], history)?;
        let mut batch = sled::Batch::default();
        writes.into_batch(&mut batch);
        let mut touched = vec![];
        match self.commit_local(&mut w, author, body, batch, &mut touched) {
            Ok(entry) => {
                w.docs.put(doc, am);
                Ok((value, Some(entry)))
            }
            Err(e) => {
                for d in touched {
                    w.docs.evict(&d);
                }
                Err(e)
            }
        }
    }

    /// Make new documents as `author`, many at once (a roster import): `edit(i, tx)` fills
    /// document `docs[i]`. Every document gets its own signed entry, chained in order, and all of
    /// them — entries, snapshots, indexes and the `secrets` (kiosk PIN hashes) — land in one sled
    /// batch with one flush: all or nothing, durable before this returns. Nothing is written if
    /// any edit fails, a document already exists, or a change is over the entry size limit.
    pub fn create_docs<T>(
        &self,
        author: &Author<'_>,
        message: &str,
        docs: &[DocId],
        secrets: &[(DocId, String)],
        mut edit: impl FnMut(usize, &mut Transaction<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        let _w = self.writer();
        let origin = author.origin();
        let mut prev = self.tip(&origin)?.map(|t| (t.seq, t.hash));
        let mut clock = HybridClock::resume(self.local("hlc")?.unwrap_or_default());
        let actor = ActorId::from(&author.origin().to_bytes()[..]);
        let secs = (author.now_ms / 1000) as i64;
        let mut batch = sled::Batch::default();
        let mut writes = Writes::default();
        let mut values = Vec::with_capacity(docs.len());
        for (i, doc) in docs.iter().enumerate() {
            if self.tree.contains_key(keys::doc_key(keys::SNAPSHOT, doc))? {
                return Err(Error::duplicate("a document with this id already exists"));
            }
            let mut am = Automerge::new();
            am.set_actor(actor.clone());
            let done = am
                .transact_with(
                    |_| {
                        CommitOptions::default()
                            .with_message(message)
                            .with_time(secs)
                    },
                    |tx| edit(i, tx),
                )
                .map_err(|f| f.error)?;
            values.push(done.result);
            let Some(change) = done.hash.and_then(|h| am.get_change_by_hash(&h)) else {
                continue;
            };
            let body = change_body(author, *doc, change.raw_bytes())?;
            write_doc(self, &mut writes, *doc, &am, &[], History::Linear)?;
            let entry = StoredEntry::author(
                author.key,
                author.epoch,
                prev,
                clock.tick(author.now_ms),
                body,
            );
            batch.insert(
                keys::entry(&origin, entry.entry.seq),
                encode_item(&FeedItem::Entry(entry.clone()))?,
            );
            batch.insert(
                keys::doc_entry(doc, &origin, entry.entry.seq),
                &[super::derive::kind_byte(BodyKind::Change)],
            );
            prev = Some((entry.entry.seq, entry.hash));
        }
        if let Some((seq, hash)) = prev {
            batch.insert(
                keys::origin_key(keys::TIP, &origin),
                encode_tip(&Tip { seq, hash }),
            );
        }
        batch.insert(
            keys::local("hlc"),
            serde_json::to_vec(&clock.last())
                .map_err(|e| Error::storage("encoding the clock", e))?,
        );
        for (doc, hash) in secrets {
            batch.insert(keys::secret(&doc.0), hash.as_bytes());
        }
        writes.into_batch(&mut batch);
        self.apply(batch)?;
        Ok(values)
    }

    /// Author a control record or a file chunk (an entry that is not an automerge change).
    pub fn author_entry(
        &self,
        author: &Author<'_>,
        doc: DocId,
        kind: BodyKind,
        data: Vec<u8>,
    ) -> Result<StoredEntry> {
        let mut w = self.writer();
        let body = Body {
            doc,
            user: author.user,
            kind,
            data,
        };
        let mut touched = vec![];
        let out = self.commit_local(&mut w, author, body, sled::Batch::default(), &mut touched);
        if out.is_err() {
            for d in touched {
                w.docs.evict(&d);
            }
        }
        out
    }

    /// A copy of a document as it stands, or `None` if nothing of it is held.
    pub fn doc(&self, doc: &DocId) -> Result<Option<Automerge>> {
        let mut w = self.writer();
        if let Some(d) = w.docs.get_clone(doc) {
            return Ok(Some(d));
        }
        if self.tree.get(keys::doc_key(keys::SNAPSHOT, doc))?.is_none() {
            return Ok(None);
        }
        let am = load_doc(self, &mut w, *doc)?;
        let copy = am.clone();
        w.docs.put(*doc, am);
        Ok(Some(copy))
    }

    /// Append verified runs from a peer: entries, tips and derived state in one durable write.
    /// Each run must start right after the stored tip of its origin.
    pub fn append_runs(&self, runs: &[VerifiedRun]) -> Result<()> {
        let mut w = self.writer();
        let mut batch = sled::Batch::default();
        let mut whole: Vec<&StoredEntry> = Vec::new();
        for run in runs {
            let tip = self.tip(&run.origin)?;
            let (held, hash) = tip.map_or((0, Hash32::ZERO), |t| (t.seq, t.hash));
            if run.first_seq() != held + 1 || run.prev.is_some_and(|p| p != hash) {
                return Err(Error::storage_msg(format!(
                    "a run for {:?} does not follow the stored tip (internal error; nothing stored)",
                    run.origin
                )));
            }
            for item in &run.items {
                batch.insert(
                    keys::entry(&run.origin, item.last_seq()),
                    encode_item(item)?,
                );
                if let FeedItem::Entry(se) = item {
                    whole.push(se);
                }
            }
            if let Some(last) = run.items.last() {
                batch.insert(
                    keys::origin_key(keys::TIP, &run.origin),
                    encode_tip(&Tip {
                        seq: last.last_seq(),
                        hash: last.last_hash(),
                    }),
                );
            }
        }
        // Keep the clock ahead of everything seen, so local entries sort after received ones.
        if let Some(max) = whole.iter().map(|e| e.entry.hlc).max() {
            let mut clock = HybridClock::resume(self.local("hlc")?.unwrap_or_default());
            clock.observe(max);
            batch.insert(
                keys::local("hlc"),
                serde_json::to_vec(&clock.last())
                    .map_err(|e| Error::storage("encoding the clock", e))?,
            );
        }
        let touched = derive(self, &mut w, &mut batch, &whole);
        let result = touched.and_then(|touched| match self.apply(batch) {
            Ok(()) => Ok(()),
            Err(e) => {
                for d in touched {
                    w.docs.evict(&d);
                }
                Err(e)
            }
        });
        if result.is_err() {
            w.docs.clear();
        }
        result
    }
}

/// The store as a sync session sees it.
pub struct SyncStore<'a> {
    store: &'a Store,
}

impl<'a> SyncStore<'a> {
    /// Wrap a store for a session.
    pub fn new(store: &'a Store) -> Self {
        SyncStore { store }
    }
}

impl LogStore for SyncStore<'_> {
    type Error = Error;

    fn vector(&self) -> Result<VersionVector> {
        self.store.vector()
    }

    fn frozen(&self) -> Result<Vec<Origin>> {
        Ok(self.store.forks()?.into_iter().map(|f| f.origin).collect())
    }

    fn tip(&self, origin: &Origin) -> Result<Option<Tip>> {
        self.store.tip(origin)
    }

    fn hash_at(&self, origin: &Origin, seq: u64) -> Result<Option<Hash32>> {
        Ok(self
            .store
            .item_covering(origin, seq)?
            .filter(|i| i.last_seq() == seq)
            .map(|i| i.last_hash()))
    }

    fn read(&self, origin: &Origin, from_seq: u64, max_items: usize) -> Result<Vec<FeedItem>> {
        self.store.read_items(origin, from_seq, max_items)
    }

    fn append(&mut self, runs: &[VerifiedRun]) -> Result<()> {
        self.store.append_runs(runs)
    }

    fn freeze(&mut self, fork: &Fork) -> Result<()> {
        self.store.freeze(fork)
    }
}
