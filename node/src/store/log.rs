//! Writing to the log: local actions and verified runs from peers.

use super::derive::{History, Writes, derive, load_doc, write_doc};
use super::{Core, Store, Writer, encode_item, encode_tip, keys, queue};
use crate::error::{Error, Result};
use automerge::transaction::{CommitOptions, Transaction};
use automerge::{ActorId, Automerge, ReadDoc};
use cairn_sync_protocol::{
    Body, BodyKind, BodyRef, DocId, FeedItem, Fork, Hash32, Hlc, HybridClock, LogStore, NodeId,
    NodeKey, Origin, PeerItem, StoredEntry, Tip, UserId, VerifiedRun, VersionVector, codec,
};
use std::sync::atomic::Ordering;

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

    /// The signed entry carrying `body` after `prev` in this author's feed, stamped by `clock`.
    fn entry(
        &self,
        prev: Option<(u64, Hash32)>,
        clock: &mut HybridClock,
        body: Body,
    ) -> StoredEntry {
        StoredEntry::author(self.key, self.epoch, prev, clock.tick(self.now_ms), body)
    }
}

/// The body of an entry carrying an automerge change, refused over the entry size limit.
fn change_body(author: &Author<'_>, doc: DocId, change: &[u8]) -> Result<Body> {
    sized_body(author, doc, BodyKind::Change, change, "change")
}

/// The body of an entry, refused (`what` names it) over the entry size limit. Borrowed data is
/// measured before it is copied, so an oversized change is refused without a copy of it.
fn sized_body(
    author: &Author<'_>,
    doc: DocId,
    kind: BodyKind,
    data: impl AsRef<[u8]> + Into<Vec<u8>>,
    what: &str,
) -> Result<Body> {
    let len = data.as_ref().len();
    if len > cairn_sync_protocol::limits::MAX_PAYLOAD {
        return Err(Error::invalid(format!(
            "this {what} is {len} bytes, over the {}-byte limit for one entry",
            cairn_sync_protocol::limits::MAX_PAYLOAD
        )));
    }
    Ok(Body {
        doc,
        user: author.user,
        kind,
        data: data.into(),
    })
}

/// Who puts an authored entry's derived state in the batch.
#[derive(Clone, Copy)]
enum Derived {
    /// The caller wrote the document's new state (a local change made in memory); the entries
    /// are only listed under their documents.
    ByCaller,
    /// The entries are derived here, as a peer's batch is.
    Here,
}

impl Core {
    /// Author entries, chained in the given order, and their derived state as one durable
    /// write: after a crash every one of them is stored or none is.
    fn commit_local(
        &self,
        w: &mut Writer,
        author: &Author<'_>,
        bodies: Vec<Body>,
        derived: Derived,
        mut batch: sled::Batch,
        touched: &mut Vec<DocId>,
    ) -> Result<Vec<StoredEntry>> {
        let origin = author.origin();
        // The feed's tip and the clock are read and written while appends wait.
        let mut append = self.appender();
        let mut prev = self
            .tip_appending(&append, &origin)?
            .map(|t| (t.seq, t.hash));
        let mut clock = HybridClock::resume(append.clock(self)?);
        let mut entries = Vec::with_capacity(bodies.len());
        for body in bodies {
            let entry = author.entry(prev, &mut clock, body);
            prev = Some((entry.entry.seq, entry.hash));
            batch.insert(
                keys::entry(&origin, entry.entry.seq),
                super::encode_entries(&[&entry])?,
            );
            entries.push(entry);
        }
        let Some((seq, hash)) = prev.filter(|_| !entries.is_empty()) else {
            return Err(Error::storage_msg("nothing to write"));
        };
        let tip = Tip { seq, hash };
        batch.insert(keys::origin_key(keys::TIP, &origin), encode_tip(&tip));
        let hlc = clock.last();
        batch.insert(
            keys::local("hlc"),
            serde_json::to_vec(&hlc).map_err(|e| Error::storage("encoding the clock", e))?,
        );
        match derived {
            Derived::Here => {
                let all: Vec<&StoredEntry> = entries.iter().collect();
                touched.extend(derive(self, w, &mut batch, &all)?);
            }
            Derived::ByCaller => {
                let mut listed = super::derive::DocEntries::new();
                for entry in &entries {
                    listed
                        .entry((entry.entry.body.doc, origin))
                        .or_default()
                        .push((
                            entry.entry.seq,
                            super::derive::kind_byte(entry.entry.body.kind),
                        ));
                }
                super::derive::list_doc_entries(self, &mut batch, listed)?;
            }
        }
        // Applied, not yet flushed: the caller flushes once it has let go of the locks, so
        // that peers' batches append (and share the flush) meanwhile.
        if let Err(e) = self.tree.apply_batch(batch) {
            self.copies_unknown(&mut append);
            return Err(e.into());
        }
        append.clock = Some(hlc);
        self.tips_moved([(origin, tip)]);
        Ok(entries)
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
        // A local write builds on everything acknowledged before it.
        self.settle_locked(&mut w)?;
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
        let mut tallies = super::derive::Tallies::default();
        writes.into_batch(&mut batch, &mut tallies);
        tallies.write(self, &mut w, &mut batch)?;
        let mut touched = vec![];
        match self.commit_local(
            &mut w,
            author,
            vec![body],
            Derived::ByCaller,
            batch,
            &mut touched,
        ) {
            Ok(mut entries) => {
                w.docs.put(doc, am);
                self.grow_record_index_or_warn(&mut w);
                drop(w);
                self.written()?;
                Ok((value, entries.pop()))
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
        let mut w = self.writer();
        // New documents build on everything acknowledged before them; the tips and the clock
        // are read and written while appends wait.
        self.settle_locked(&mut w)?;
        let mut append = self.appender();
        let origin = author.origin();
        let mut prev = self
            .tip_appending(&append, &origin)?
            .map(|t| (t.seq, t.hash));
        let mut clock = HybridClock::resume(append.clock(self)?);
        let actor = ActorId::from(&author.origin().to_bytes()[..]);
        let secs = (author.now_ms / 1000) as i64;
        let mut batch = sled::Batch::default();
        let mut writes = Writes::default();
        let mut listed = super::derive::DocEntries::new();
        let mut values = Vec::with_capacity(docs.len());
        let mut authored = Vec::with_capacity(docs.len());
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
            let entry = author.entry(prev, &mut clock, body);
            listed.insert(
                (*doc, origin),
                vec![(entry.entry.seq, super::derive::kind_byte(BodyKind::Change))],
            );
            prev = Some((entry.entry.seq, entry.hash));
            authored.push(entry);
        }
        // A roster's entries are consecutive: stored in blocks, as a peer's are.
        let mut block = Block::default();
        for entry in &authored {
            block.push(&mut batch, &origin, entry)?;
        }
        block.write(&mut batch, &origin)?;
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
        super::derive::list_doc_entries(self, &mut batch, listed)?;
        // One `Writes` for every document: the learner count moves by their sum, and each
        // bucket of the record index is rewritten once.
        let mut tallies = super::derive::Tallies::default();
        writes.into_batch(&mut batch, &mut tallies);
        tallies.write(self, &mut w, &mut batch)?;
        if let Err(e) = self.tree.apply_batch(batch) {
            self.copies_unknown(&mut append);
            return Err(e.into());
        }
        append.clock = Some(clock.last());
        if let Some((seq, hash)) = prev {
            self.tips_moved([(origin, Tip { seq, hash })]);
        }
        // Flushed once the locks are let go, so peers' batches append meanwhile (also while
        // the record index doubles, if these records outgrew it).
        drop(append);
        self.grow_record_index_or_warn(&mut w);
        drop(w);
        self.written()?;
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
        self.settle_locked(&mut w)?;
        let body = Body {
            doc,
            user: author.user,
            kind,
            data,
        };
        self.author_derived(w, author, vec![body])
            .and_then(|mut entries| {
                entries
                    .pop()
                    .ok_or_else(|| Error::storage_msg("nothing written"))
            })
    }

    /// Change a document as `author`, then author one more entry made from the changed
    /// document — a learner's transfer record, which carries the document's snapshot. Both are
    /// chained and derived in one sled batch with one flush, so a crash leaves both or neither
    /// (a home moved without the record that carries the learner's history would strand it).
    /// `then` sees the document as changed and may refuse; nothing is written if `edit`
    /// changes nothing, or either refuses.
    pub fn change_doc_with_entry(
        &self,
        author: &Author<'_>,
        doc: DocId,
        message: &str,
        edit: impl FnOnce(&mut Transaction<'_>) -> Result<()>,
        then: impl FnOnce(&Automerge) -> Result<(BodyKind, Vec<u8>)>,
    ) -> Result<Vec<StoredEntry>> {
        let mut w = self.writer();
        self.settle_locked(&mut w)?;
        let am = load_doc(self, &mut w, doc)?;
        // Changed on a copy: the cached document stays as stored until the write is, and is
        // then derived from the two entries as a peer's batch would be.
        let mut changed = am.clone();
        w.docs.put(doc, am);
        changed.set_actor(ActorId::from(&author.origin().to_bytes()[..]));
        let secs = (author.now_ms / 1000) as i64;
        let done = changed
            .transact_with(
                |_| {
                    CommitOptions::default()
                        .with_message(message)
                        .with_time(secs)
                },
                edit,
            )
            .map_err(|failure| failure.error)?;
        let Some(change) = done.hash.and_then(|h| changed.get_change_by_hash(&h)) else {
            return Err(Error::storage_msg("the edit changed nothing"));
        };
        let first = change_body(author, doc, change.raw_bytes())?;
        let (kind, data) = then(&changed)?;
        let second = sized_body(author, doc, kind, data, "record")?;
        self.author_derived(w, author, vec![first, second])
    }

    /// Author `bodies` as one durable write, derived here; flushed before this returns.
    fn author_derived(
        &self,
        mut w: std::sync::MutexGuard<'_, Writer>,
        author: &Author<'_>,
        bodies: Vec<Body>,
    ) -> Result<Vec<StoredEntry>> {
        let mut touched = vec![];
        match self.commit_local(
            &mut w,
            author,
            bodies,
            Derived::Here,
            sled::Batch::default(),
            &mut touched,
        ) {
            Ok(entries) => {
                self.grow_record_index_or_warn(&mut w);
                drop(w);
                self.written()?;
                Ok(entries)
            }
            Err(e) => {
                for d in touched {
                    w.docs.evict(&d);
                }
                Err(e)
            }
        }
    }

    /// A copy of a document as it stands, or `None` if nothing of it is held.
    pub fn doc(&self, doc: &DocId) -> Result<Option<Automerge>> {
        let mut w = self.writer();
        self.settle_locked(&mut w)?;
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

    /// Append verified runs from a peer: entries, tips and a derivation-queue record in one
    /// batch, durable when this returns (the peer may then be told). Documents and indexes are
    /// derived after, by the worker or by the next read that needs them ([`Core::settle`]).
    /// Each run must start right after the stored tip of its origin.
    pub fn append_runs(&self, runs: &[VerifiedRun]) -> Result<()> {
        let written = self.append_runs_unflushed(runs)?;
        self.durable_now(written)
    }

    /// [`Core::append_runs`] without the flush: nobody may be told of these entries until
    /// [`Core::durable`] has returned for what this returns.
    pub fn append_runs_unflushed(&self, runs: &[VerifiedRun]) -> Result<Unflushed> {
        let ticket = {
            let mut append = self.appender();
            let mut batch = sled::Batch::default();
            let mut moved: Vec<(Origin, Tip)> = Vec::with_capacity(runs.len());
            let mut queued: Vec<u8> = Vec::new();
            let mut queued_nodes: Vec<NodeId> = Vec::new();
            let mut newest: Option<Hlc> = None;
            for run in runs {
                let tip = self.tip_appending(&append, &run.origin)?;
                let (held, hash) = tip.map_or((0, Hash32::ZERO), |t| (t.seq, t.hash));
                if run.first_seq() != held + 1 || run.prev.is_some_and(|p| p != hash) {
                    return Err(Error::storage_msg(format!(
                        "a run for {:?} does not follow the stored tip (internal error; nothing stored)",
                        run.origin
                    )));
                }
                let mut whole = None::<(u64, u64)>;
                let mut block = Block::default();
                for item in &run.items {
                    match item {
                        FeedItem::Entry(se) => {
                            block.push(&mut batch, &run.origin, se)?;
                            let seq = se.entry.seq;
                            whole = Some(whole.map_or((seq, seq), |(first, _)| (first, seq)));
                            newest = newest.max(Some(se.entry.hlc));
                        }
                        FeedItem::Elided(_) => {
                            block.write(&mut batch, &run.origin)?;
                            batch.insert(
                                keys::entry(&run.origin, item.last_seq()),
                                encode_item(item)?,
                            );
                        }
                    }
                }
                block.write(&mut batch, &run.origin)?;
                if let Some(last) = run.items.last() {
                    let tip = Tip {
                        seq: last.last_seq(),
                        hash: last.last_hash(),
                    };
                    batch.insert(keys::origin_key(keys::TIP, &run.origin), encode_tip(&tip));
                    moved.push((run.origin, tip));
                }
                if let Some((first, last)) = whole {
                    queued.extend_from_slice(&keys::queued_run(&run.origin, first, last));
                    queued_nodes.push(run.origin.node);
                }
            }
            // Keep the clock ahead of everything seen, so local entries sort after received ones.
            let mut clock = None;
            if let Some(max) = newest {
                let mut observed = HybridClock::resume(append.clock(self)?);
                observed.observe(max);
                batch.insert(
                    keys::local("hlc"),
                    serde_json::to_vec(&observed.last())
                        .map_err(|e| Error::storage("encoding the clock", e))?,
                );
                clock = Some(observed.last());
            }
            let authors = queue::authors(queued_nodes);
            if !queued.is_empty() {
                let next = self.next_queued.fetch_add(1, Ordering::SeqCst);
                batch.insert(keys::derive_queue(next), queued);
            }
            // Counted before the record exists, so nobody is told these are derived too soon.
            self.queued_authors.add(&authors);
            if let Err(e) = self.tree.apply_batch(batch) {
                self.queued_authors.remove(&authors);
                self.copies_unknown(&mut append);
                return Err(e.into());
            }
            if clock.is_some() {
                append.clock = clock;
            }
            self.tips_moved(moved);
            self.queued.fetch_add(1, Ordering::SeqCst);
            self.applied.fetch_add(1, Ordering::SeqCst) + 1
        };
        self.appended_now();
        self.kick();
        Ok(Unflushed(ticket))
    }

    /// Make a write just applied to the tree durable, sharing the flush with concurrent writers
    /// (see [`Core::flush_for`]). Call it after the write, never before.
    pub(super) fn written(&self) -> Result<()> {
        let written = self.unflushed();
        self.durable_now(written)
    }

    /// Count a write just applied to the tree, leaving it to [`Core::durable`] to flush.
    pub(super) fn unflushed(&self) -> Unflushed {
        Unflushed(self.applied.fetch_add(1, Ordering::SeqCst) + 1)
    }

    /// Group commit: make append number `ticket` durable. Appends applied while another flush
    /// ran share the next one; a flush covers everything applied before it started.
    pub(super) fn flush_for(&self, ticket: u64) -> Result<()> {
        let _flushing = self.flushing.lock().unwrap_or_else(|p| p.into_inner());
        if self.durable.load(Ordering::SeqCst) >= ticket {
            return Ok(());
        }
        let upto = self.applied.load(Ordering::SeqCst);
        self.flush()?;
        self.durable.fetch_max(upto, Ordering::SeqCst);
        self.flushes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// How many group-commit flushes writers waited for since the store opened (not counted:
    /// `Core::flush` called directly, as a hub does when it stops, and sled's own periodic
    /// flush): each is a write to the disk and a wait for it, so work that needs none can be
    /// shown to cost none.
    pub fn flushes(&self) -> u64 {
        self.flushes.load(Ordering::Relaxed)
    }

    /// Make `written` durable on this thread (sharing a flush in progress, as
    /// [`Core::written`] does).
    pub fn durable_now(&self, written: Unflushed) -> Result<()> {
        self.flush_for(written.0)
    }

    /// Whether a flush has covered `written`.
    pub fn is_durable(&self, written: Unflushed) -> bool {
        self.durable.load(Ordering::SeqCst) >= written.0
    }

    /// [`Core::settle`] with the writer already held.
    pub(super) fn settle_locked(&self, w: &mut Writer) -> Result<()> {
        let target = self.queued.load(Ordering::SeqCst);
        if self.derived.load(Ordering::SeqCst) >= target {
            return Ok(());
        }
        self.derive_queued(w, target)
    }

    /// Derive every queued batch: documents, indexes and lists, in sled batches that also
    /// remove the queue records they cover (so a crash at any point leaves either both or
    /// neither). Not flushed: what is lost in a crash is still queued, and derived at the next
    /// open. Consecutive queued batches are derived together, so a document touched by many
    /// of them is loaded, saved and indexed once.
    pub(super) fn derive_queued(&self, w: &mut Writer, target: u64) -> Result<()> {
        let queue: Vec<(sled::IVec, sled::IVec)> = self
            .tree
            .scan_prefix([keys::DERIVE_QUEUE])
            .collect::<std::result::Result<_, _>>()?;
        let mut at = 0;
        while at < queue.len() {
            let mut batch = sled::Batch::default();
            let mut entries: Vec<StoredEntry> = Vec::new();
            let mut derived_authors: Vec<Vec<NodeId>> = Vec::new();
            while at < queue.len() && entries.len() < DERIVE_AT_ONCE {
                let (k, v) = &queue[at];
                at += 1;
                batch.remove(k.clone());
                let Some(runs) = keys::parse_queued_runs(v) else {
                    tracing::warn!(
                        "an unreadable derivation-queue record was dropped (`cairn rebuild` recomputes everything)"
                    );
                    continue;
                };
                derived_authors.push(queue::authors_of(&runs));
                for (origin, first, last) in runs {
                    let span =
                        usize::try_from(last.saturating_sub(first) + 1).unwrap_or(usize::MAX);
                    for item in self.read_items(&origin, first, span)? {
                        if let FeedItem::Entry(se) = item
                            && se.entry.seq <= last
                        {
                            entries.push(se);
                        }
                    }
                }
            }
            let refs: Vec<&StoredEntry> = entries.iter().collect();
            let result = derive(self, w, &mut batch, &refs)
                .and_then(|_| Ok(self.tree.apply_batch(batch)?));
            if let Err(e) = result {
                // The cache may hold documents ahead of the store.
                w.docs.clear();
                return Err(e);
            }
            self.grow_record_index_or_warn(w);
            for authors in &derived_authors {
                self.queued_authors.remove(authors);
            }
        }
        // Every record this pass found is gone, the unreadable ones too.
        self.queued_authors.unreadable_dropped();
        self.derived.fetch_max(target, Ordering::SeqCst);
        Ok(())
    }
}

/// Most entries derived in one sled batch, working through the queue or rebuilding.
pub(super) const DERIVE_AT_ONCE: usize = 5_000;

/// A write applied to the store but not yet known to be on disk: its number in the order of
/// writes, for [`Core::durable`]. Later writes carry larger numbers, so the larger of two covers
/// both.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
#[must_use = "nobody may be told of a write before it is durable"]
pub struct Unflushed(pub(super) u64);

/// The store as a sync session sees it.
pub struct SyncStore<'a> {
    store: &'a Store,
    /// `None`: every append is durable before it returns. `Some`: appends are left to the
    /// caller to make durable, and this is the latest of them.
    unflushed: Option<Unflushed>,
}

impl<'a> SyncStore<'a> {
    /// Wrap a store for a session whose appends are durable as they return (a bundle's, or one
    /// run on a thread of its own).
    pub fn new(store: &'a Store) -> Self {
        SyncStore {
            store,
            unflushed: None,
        }
    }

    /// Wrap a store for a session that makes its appends durable itself, asynchronously: after
    /// each call that may append, and before anything more goes to the peer, it takes
    /// [`SyncStore::take_unflushed`] and waits for [`Core::durable`].
    pub fn deferring(store: &'a Store) -> Self {
        SyncStore {
            store,
            unflushed: Some(Unflushed::default()),
        }
    }

    /// The latest write not yet made durable, if any, and none after this.
    pub fn take_unflushed(&mut self) -> Option<Unflushed> {
        let latest = self.unflushed.as_mut()?;
        let taken = std::mem::take(latest);
        (taken != Unflushed::default()).then_some(taken)
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

    fn tips(&self) -> Result<Vec<(Origin, Tip)>> {
        self.store.tips()
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

    fn read_for(
        &self,
        origin: &Origin,
        from_seq: u64,
        max_items: usize,
        visible: &dyn Fn(u64, &BodyRef<'_>) -> bool,
    ) -> Result<Vec<PeerItem>> {
        self.store
            .read_items_for(origin, from_seq, max_items, visible)
    }

    fn append(&mut self, runs: &[VerifiedRun]) -> Result<()> {
        match &mut self.unflushed {
            None => self.store.append_runs(runs),
            Some(latest) => {
                *latest = self.store.append_runs_unflushed(runs)?;
                Ok(())
            }
        }
    }

    fn freeze(&mut self, fork: &Fork) -> Result<()> {
        // Rare, and flushed at once either way.
        self.store.freeze(fork)
    }
}

/// Consecutive whole entries of one feed on their way into one `E` value (see
/// [`super::StoredItem`]): at most [`super::BLOCK_ENTRIES`] of them and, unless one entry is
/// larger alone, [`super::BLOCK_BYTES`].
#[derive(Default)]
struct Block<'a> {
    entries: Vec<&'a StoredEntry>,
    bytes: usize,
}

impl<'a> Block<'a> {
    /// Add the entry that follows the gathered ones, writing them first if it would not fit.
    fn push(
        &mut self,
        batch: &mut sled::Batch,
        origin: &Origin,
        entry: &'a StoredEntry,
    ) -> Result<()> {
        let bytes =
            codec::encoded_len(entry).map_err(|e| Error::storage("measuring a log entry", e))?;
        if self.entries.len() == super::BLOCK_ENTRIES || self.bytes + bytes > super::BLOCK_BYTES {
            self.write(batch, origin)?;
        }
        self.entries.push(entry);
        self.bytes += bytes;
        Ok(())
    }

    /// Put the gathered entries in `batch` under the last one's key, and start again.
    fn write(&mut self, batch: &mut sled::Batch, origin: &Origin) -> Result<()> {
        if let Some(last) = self.entries.last() {
            batch.insert(
                keys::entry(origin, last.entry.seq),
                super::encode_entries(&self.entries)?,
            );
        }
        self.entries.clear();
        self.bytes = 0;
        Ok(())
    }
}
