//! Derived state: what new log entries mean for documents, indexes, evidence files and trust.
//! A local write derives in the same sled batch as its entry; verified runs from a peer are derived
//! after they are acknowledged, from the derivation queue (`log.rs`, `derive_queued`), in batches
//! that also remove the queue records they cover.

use super::record_index::{self, Change as RecordChange};
use super::{Core, Writer, corrupt, keys, snapshot};
use crate::error::{Error, Result};
use crate::payload::{self, ControlRecord, FileChunk};
use automerge::{Automerge, Change};
use cairn_sync_protocol::{BodyKind, DocId, NodeId, Origin, StoredEntry, codec};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the hub's control entries say about a site.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteRecord {
    /// The site's node id (text form).
    pub node: String,
    /// The operator's identifier for the site.
    pub site_id: String,
    /// Display name.
    pub name: String,
    /// Revocation reason, if revoked.
    pub revoked: Option<String>,
    /// The program's signed endorsement of the site's key (JSON text), once the hub made it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endorsement: Option<String>,
}

/// The byte recorded per document entry in the `X` index.
pub fn kind_byte(kind: BodyKind) -> u8 {
    match kind {
        BodyKind::Change => b'c',
        BodyKind::Control => b'k',
        BodyKind::FileChunk => b'f',
    }
}

/// Derive state for new whole entries, adding writes to `batch`. Returns the documents whose
/// cached copies now run ahead of the store until `batch` is applied (evict them on failure).
pub(super) fn derive(
    store: &Core,
    w: &mut Writer,
    batch: &mut sled::Batch,
    entries: &[&StoredEntry],
) -> Result<Vec<DocId>> {
    let authority: Option<NodeId> = store
        .local::<String>("authority")?
        .and_then(|s| s.parse().ok());
    let mut changes: BTreeMap<DocId, Vec<Unparsed>> = BTreeMap::new();
    let mut controls = Vec::new();
    let mut listed: DocEntries = BTreeMap::new();
    for se in entries {
        let e = &se.entry;
        listed
            .entry((e.body.doc, e.origin))
            .or_default()
            .push((e.seq, kind_byte(e.body.kind)));
        match e.body.kind {
            // Parsed with the rest of the document's work, on the derivation's threads.
            BodyKind::Change => changes.entry(e.body.doc).or_default().push(Unparsed {
                origin: e.origin,
                seq: e.seq,
                bytes: e.body.data.clone(),
            }),
            BodyKind::Control => {
                let rec = payload::decode::<ControlRecord>(&e.body.data, "a control record");
                // A hub's session finds the transfers that concern a site here rather than
                // reading every entry of its feed (`sync::scope`). Listed whoever signed it, as
                // the scope sends a site each transfer record naming it whoever signed it; the
                // scope reads only the hub's feeds' part of the list.
                if let Ok(ControlRecord::LearnerTransferred { from, to, .. }) = &rec {
                    for site in std::iter::once(to).chain(from.as_ref()) {
                        batch.insert(keys::transfer(&site.0, &e.origin, e.seq), Vec::new());
                    }
                }
                if authority != Some(e.origin.node) {
                    tracing::warn!(origin = ?e.origin, seq = e.seq, "control record not from the hub; ignored");
                    continue;
                }
                match rec {
                    Ok(rec) => controls.push((e.body.doc, rec)),
                    Err(err) => tracing::warn!(origin = ?e.origin, seq = e.seq, "{err}"),
                }
            }
            BodyKind::FileChunk => match payload::decode::<FileChunk>(&e.body.data, "a file chunk")
            {
                Ok(chunk) => {
                    let mut pointer = e.origin.to_bytes().to_vec();
                    pointer.extend_from_slice(&e.seq.to_be_bytes());
                    batch.insert(keys::chunk(&chunk.file, chunk.index), pointer);
                }
                Err(err) => tracing::warn!(origin = ?e.origin, seq = e.seq, "{err}"),
            },
        }
    }
    let mut work: BTreeMap<DocId, DocWork> = changes
        .into_iter()
        .map(|(doc, changes)| {
            let snapshots = Vec::new();
            (doc, DocWork { changes, snapshots })
        })
        .collect();
    // Site records as this batch leaves them: several control records about one site often
    // arrive together (admitted, then endorsed), and the store does not hold the batch yet.
    let mut sites: BTreeMap<[u8; 32], SiteRecord> = BTreeMap::new();
    let site_record =
        |sites: &BTreeMap<[u8; 32], SiteRecord>, site: &NodeId| -> Result<SiteRecord> {
            if let Some(r) = sites.get(&site.0) {
                return Ok(r.clone());
            }
            Ok(store.site_record_now(site)?.unwrap_or(SiteRecord {
                node: site.to_string(),
                site_id: String::new(),
                name: String::new(),
                revoked: None,
                endorsement: None,
            }))
        };
    let mut updates: Vec<(NodeId, SiteRecord)> = Vec::new();
    for (_, rec) in controls {
        match rec {
            ControlRecord::SiteAdmitted {
                site,
                site_id,
                name,
            } => {
                let record = SiteRecord {
                    node: site.to_string(),
                    site_id,
                    name,
                    revoked: None,
                    endorsement: site_record(&sites, &site)?.endorsement,
                };
                sites.insert(site.0, record.clone());
                updates.push((site, record));
            }
            ControlRecord::SiteRevoked { site, reason } => {
                let mut record = site_record(&sites, &site)?;
                record.revoked = Some(reason);
                sites.insert(site.0, record.clone());
                updates.push((site, record));
            }
            ControlRecord::SiteEndorsed { site, endorsement } => {
                let mut record = site_record(&sites, &site)?;
                record.endorsement = Some(endorsement);
                sites.insert(site.0, record.clone());
                updates.push((site, record));
            }
            // Merged with the learner's changes of this batch, in the same work item: applying
            // it separately afterwards could reload a document the cache had already let go,
            // from a snapshot this batch is about to replace.
            ControlRecord::LearnerTransferred {
                learner, snapshot, ..
            } => work.entry(learner).or_default().snapshots.push(snapshot),
        }
    }
    for (site, record) in updates {
        batch.insert(keys::site(&site.0), json(&record)?);
    }
    list_doc_entries(store, batch, listed)?;
    let touched: Vec<DocId> = work.keys().copied().collect();
    let mut tallies = Tallies::default();
    apply_in_parallel(store, w, batch, work, &mut tallies)?;
    tallies.write(store, w, batch)?;
    Ok(touched)
}

/// New entries per (document, origin): (seq, kind byte), in order.
pub(super) type DocEntries = BTreeMap<(DocId, cairn_sync_protocol::Origin), Vec<(u64, u8)>>;

/// Bytes of one entry in an `X` list: seq(8) kind(1).
const LISTED_ENTRY: usize = 9;

/// Record new entries in the `X` lists: appended to the last list of their (document, origin)
/// while it has room, else in a new one starting at their first sequence number.
pub(super) fn list_doc_entries(
    store: &Core,
    batch: &mut sled::Batch,
    listed: DocEntries,
) -> Result<()> {
    for ((doc, origin), new) in listed {
        let prefix = keys::doc_origin(&doc, &origin);
        // The list being filled: key, value, and whether this batch changed it.
        let mut open: Option<(Vec<u8>, Vec<u8>, bool)> = None;
        if let Some(kv) = store.tree.scan_prefix(&prefix).next_back() {
            let (k, v) = kv?;
            // A one-byte value is the earlier one-key-per-entry form: never appended to.
            if v.len() >= LISTED_ENTRY
                && v.len().is_multiple_of(LISTED_ENTRY)
                && v.len() / LISTED_ENTRY < keys::DOC_ENTRIES_PER_KEY
            {
                open = Some((k.to_vec(), v.to_vec(), false));
            }
        }
        for (seq, kind) in new {
            let (k, mut v) = match open.take() {
                Some((k, v, _)) if v.len() / LISTED_ENTRY < keys::DOC_ENTRIES_PER_KEY => (k, v),
                Some((k, v, dirty)) => {
                    if dirty {
                        batch.insert(k, v);
                    }
                    (keys::doc_entry(&doc, &origin, seq), Vec::new())
                }
                None => (keys::doc_entry(&doc, &origin, seq), Vec::new()),
            };
            v.extend_from_slice(&seq.to_be_bytes());
            v.push(kind);
            open = Some((k, v, true));
        }
        if let Some((k, v, true)) = open {
            batch.insert(k, v);
        }
    }
    Ok(())
}

/// Parse one `X` key and value into (origin, seq, kind) items (both the merged form and the
/// earlier one key per entry).
pub(super) fn parse_doc_entries(
    prefix_len: usize,
    k: &[u8],
    v: &[u8],
) -> Option<Vec<(cairn_sync_protocol::Origin, u64, u8)>> {
    let rest = k.get(prefix_len..)?;
    let origin = keys::parse_origin(rest)?;
    if v.len() == 1 {
        return Some(vec![(origin, keys::parse_u64(rest.get(36..)?)?, v[0])]);
    }
    if v.is_empty() || !v.len().is_multiple_of(LISTED_ENTRY) {
        return None;
    }
    v.chunks(LISTED_ENTRY)
        .map(|c| Some((origin, keys::parse_u64(c)?, c[8])))
        .collect()
}

/// Changes to the maintained counts of index keys, by counted prefix.
type Counts = BTreeMap<Vec<u8>, i64>;

/// What a batch's documents change in state kept across documents — the maintained counts and
/// the record index's buckets — gathered document by document and written once the batch is
/// complete ([`Tallies::write`]), so that documents sharing a counter or a bucket add up.
#[derive(Default)]
pub(super) struct Tallies {
    counts: Counts,
    records: Vec<RecordChange>,
}

impl Tallies {
    /// Add the counters and buckets as these changes leave them to `batch` (noting in `w` when
    /// the record index's buckets are to double once it is applied).
    pub(super) fn write(
        self,
        store: &Core,
        w: &mut super::Writer,
        batch: &mut sled::Batch,
    ) -> Result<()> {
        write_counts(store, batch, self.counts)?;
        let marked = store.derived_since(super::GROWING_RECORD_INDEX)?;
        if record_index::write(&store.tree, batch, self.records, marked)? {
            w.record_index_outgrown = true;
        }
        Ok(())
    }
}

/// The maintained count of index keys under `prefix`, if the store keeps one.
pub(super) fn read_count(store: &Core, prefix: &[u8]) -> Result<Option<u64>> {
    Ok(store
        .tree
        .get(keys::count(prefix))?
        .and_then(|v| keys::parse_u64(&v)))
}

/// Add counted changes to the counters, in `batch`.
fn write_counts(store: &Core, batch: &mut sled::Batch, counts: Counts) -> Result<()> {
    for (prefix, delta) in counts {
        if delta == 0 {
            continue;
        }
        let now = read_count(store, &prefix)?.unwrap_or(0) as i64;
        let next = (now + delta).max(0) as u64;
        batch.insert(keys::count(&prefix), next.to_be_bytes().to_vec());
    }
    Ok(())
}

/// What one batch brings to one document: automerge changes, and learner snapshots transferred
/// by the hub.
#[derive(Default)]
struct DocWork {
    changes: Vec<Unparsed>,
    snapshots: Vec<Vec<u8>>,
}

/// An entry's automerge change as it came, parsed in [`apply_changes`]: parsing checks every
/// operation, a tenth of a first sync's derivation, and there it runs on the derivation's
/// threads instead of before them.
struct Unparsed {
    origin: Origin,
    seq: u64,
    bytes: Vec<u8>,
}

impl Unparsed {
    /// The change, or `None` (and a warning) for one automerge cannot read.
    fn parse(self) -> Option<Change> {
        Change::from_bytes(self.bytes)
            .inspect_err(|err| {
                tracing::warn!(
                    origin = ?self.origin, seq = self.seq,
                    "entry carries an unreadable automerge change; kept in the log, not applied: {err}"
                )
            })
            .ok()
    }
}

fn json<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| Error::storage("encoding derived state", e))
}

/// Load a document: from the cache, else its snapshot plus the changes still waiting for their
/// dependencies, else (snapshot unreadable) from the log itself.
pub(super) fn load_doc(store: &Core, w: &mut Writer, doc: DocId) -> Result<Automerge> {
    if let Some(d) = w.docs.take(&doc) {
        return Ok(d);
    }
    let mut am = match store.tree.get(keys::doc_key(keys::SNAPSHOT, &doc))? {
        None => Automerge::new(),
        Some(bytes) => match snapshot::decode(&bytes) {
            Ok(am) => am,
            Err(e) => {
                tracing::warn!(
                    ?doc,
                    "document snapshot unreadable ({e}); rebuilding it from the log"
                );
                return doc_from_log(store, doc);
            }
        },
    };
    let pending = read_pending(store, &doc)?;
    if !pending.is_empty() {
        let _ = am.apply_changes(pending);
    }
    Ok(am)
}

/// Rebuild one document from its entries in the log.
pub(super) fn doc_from_log(store: &Core, doc: DocId) -> Result<Automerge> {
    let mut am = Automerge::new();
    let mut changes = Vec::new();
    let mut snapshots = Vec::new();
    for (origin, seq, kind) in store.doc_entries_now(&doc)? {
        let Some(cairn_sync_protocol::FeedItem::Entry(se)) = store.item_covering(&origin, seq)?
        else {
            continue;
        };
        if kind == b'c' {
            if let Ok(c) = Change::from_bytes(se.entry.body.data) {
                changes.push(c);
            }
        } else if kind == b'k'
            && let Ok(ControlRecord::LearnerTransferred { snapshot, .. }) =
                payload::decode::<ControlRecord>(&se.entry.body.data, "a control record")
        {
            snapshots.push(snapshot);
        }
    }
    for s in snapshots {
        let _ = am.load_incremental(&s);
    }
    apply_tolerantly(&mut am, changes);
    Ok(am)
}

fn read_pending(store: &Core, doc: &DocId) -> Result<Vec<Change>> {
    let Some(v) = store.tree.get(keys::doc_key(keys::PENDING, doc))? else {
        return Ok(Vec::new());
    };
    let raw: Vec<serde_bytes::ByteBuf> = codec::decode(&v, cairn_sync_protocol::limits::MAX_FRAME)
        .map_err(|_| corrupt("a pending-change list"))?;
    Ok(raw
        .into_iter()
        .filter_map(|b| Change::from_bytes(b.into_vec()).ok())
        .collect())
}

/// Apply all changes in one call; if automerge refuses the group (one bad change), apply them
/// one at a time and skip the ones it refuses, so one bad change cannot block a document.
fn apply_tolerantly(am: &mut Automerge, changes: Vec<Change>) {
    if changes.is_empty() || am.apply_changes(changes.clone()).is_ok() {
        return;
    }
    for c in changes {
        if let Err(e) = am.apply_changes([c.clone()]) {
            tracing::warn!(change = %c.hash(), "automerge refused a change: {e}");
        }
    }
}

/// Writes to the store gathered outside a `sled::Batch`, so that documents can be derived on
/// several threads and their writes added to the one batch afterwards, in order.
/// Changes to counted index keys and to the record index travel with them.
#[derive(Default)]
pub(super) struct Writes {
    writes: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    counts: Counts,
    records: Vec<RecordChange>,
}

impl Writes {
    fn insert(&mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.writes.push((key.into(), Some(value.into())));
    }

    fn remove(&mut self, key: impl Into<Vec<u8>>) {
        self.writes.push((key.into(), None));
    }

    /// Add these writes to `batch`, later writes to a key replacing earlier ones, and their
    /// changes to counts and records to `tallies` (written once the batch is complete).
    pub(super) fn into_batch(self, batch: &mut sled::Batch, tallies: &mut Tallies) {
        for (k, v) in self.writes {
            match v {
                Some(v) => batch.insert(k, v),
                None => batch.remove(k),
            }
        }
        for (prefix, delta) in self.counts {
            *tallies.counts.entry(prefix).or_default() += delta;
        }
        tallies.records.extend(self.records);
    }
}

/// Below this many changes in a batch, threads cost more than they save.
const PARALLEL_MIN_CHANGES: usize = 64;

/// Most documents held out of the cache at once while a batch is derived: a batch may touch
/// thousands of documents, and memory must not grow with it.
const DOCS_AT_ONCE: usize = 128;

/// Apply each document's new changes, save and index it. Documents are independent, so the
/// work (automerge application, snapshot, index: most of the time of receiving a sync) is shared
/// among the machine's cores; loading from the cache and writing into `batch` stay in order here.
fn apply_in_parallel(
    store: &Core,
    w: &mut Writer,
    batch: &mut sled::Batch,
    work: BTreeMap<DocId, DocWork>,
    tallies: &mut Tallies,
) -> Result<()> {
    let mut rest: Vec<(DocId, DocWork)> = work.into_iter().collect();
    while !rest.is_empty() {
        let later = rest.split_off(rest.len().min(DOCS_AT_ONCE));
        apply_group(
            store,
            w,
            batch,
            std::mem::replace(&mut rest, later),
            tallies,
        )?;
    }
    Ok(())
}

fn apply_group(
    store: &Core,
    w: &mut Writer,
    batch: &mut sled::Batch,
    group: Vec<(DocId, DocWork)>,
    tallies: &mut Tallies,
) -> Result<()> {
    let total: usize = group.iter().map(|(_, dw)| dw.changes.len()).sum();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(group.len());
    let mut work = Vec::with_capacity(group.len());
    for (doc, dw) in group {
        work.push((doc, load_doc(store, w, doc)?, dw));
    }
    // One document's work, the same on this thread or another (`store` is shared, so it copies).
    let derive_one = |(doc, am, dw): (DocId, Automerge, DocWork)| {
        apply_changes(store, doc, am, dw).map(|(am, wr)| (doc, am, wr))
    };
    let done: Vec<(DocId, Automerge, Writes)> = if threads <= 1 || total < PARALLEL_MIN_CHANGES {
        work.into_iter().map(derive_one).collect::<Result<_>>()?
    } else {
        // Deal the documents out largest first, each to the least loaded share.
        work.sort_by_key(|(_, _, dw)| std::cmp::Reverse(dw.changes.len()));
        let mut shares: Vec<(usize, Vec<_>)> = (0..threads).map(|_| (0, Vec::new())).collect();
        for item in work {
            if let Some(share) = shares.iter_mut().min_by_key(|(load, _)| *load) {
                share.0 += item.2.changes.len();
                share.1.push(item);
            }
        }
        let results: Vec<Result<Vec<(DocId, Automerge, Writes)>>> = std::thread::scope(|s| {
            let handles: Vec<_> = shares
                .into_iter()
                .map(|(_, share)| {
                    s.spawn(move || {
                        share
                            .into_iter()
                            .map(derive_one)
                            .collect::<Result<Vec<_>>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(Error::storage_msg(
                            "deriving a document failed unexpectedly; nothing was stored",
                        ))
                    })
                })
                .collect()
        });
        let mut done = Vec::new();
        for r in results {
            done.extend(r?);
        }
        // Same order as the sequential path, so the batch does not depend on thread timing.
        done.sort_by_key(|(doc, _, _)| *doc);
        done
    };
    for (doc, am, writes) in done {
        writes.into_batch(batch, tallies);
        w.docs.put(doc, am);
    }
    Ok(())
}

/// Apply a batch's changes (and transferred snapshots) to a loaded document; returns it with
/// the writes of its snapshot, pending list and index entries.
fn apply_changes(
    store: &Core,
    doc: DocId,
    mut am: Automerge,
    work: DocWork,
) -> Result<(Automerge, Writes)> {
    let parsed: Vec<Change> = work
        .changes
        .into_iter()
        .filter_map(Unparsed::parse)
        .collect();
    if parsed.is_empty() && work.snapshots.is_empty() {
        // Nothing readable came for it: the document stays as it was, unwritten.
        return Ok((am, Writes::default()));
    }
    let heads_before = am.get_heads();
    for s in &work.snapshots {
        if let Err(e) = am.load_incremental(s) {
            tracing::warn!(?doc, "a transferred learner snapshot is unreadable: {e}");
        }
    }
    let mut all = read_pending(store, &doc)?;
    all.extend(parsed);
    apply_tolerantly(&mut am, all.clone());
    let still_pending: Vec<serde_bytes::ByteBuf> = all
        .iter()
        // The metadata lookup answers "is it applied?" without rebuilding the change.
        .filter(|c| am.get_change_meta_by_hash(&c.hash()).is_none())
        .map(|c| serde_bytes::ByteBuf::from(c.raw_bytes().to_vec()))
        .collect();
    let history = if work.snapshots.is_empty()
        && still_pending.is_empty()
        && extends_linearly(&heads_before, &all)
    {
        History::Linear
    } else {
        History::MayHaveBranched
    };
    let mut writes = Writes::default();
    write_doc(store, &mut writes, doc, &am, &still_pending, history)?;
    Ok((am, writes))
}

/// How a document's latest write relates to what it held before: what decides whether looking
/// for conflicts (walking every map of the document) can be skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum History {
    /// Every new change builds on the one before, starting from the document's only head: each
    /// new operation follows every earlier one, so no new concurrent values can have appeared.
    Linear,
    /// Anything else (concurrent changes, a merged snapshot, changes still waiting).
    MayHaveBranched,
}

/// True when `changes`, in order, form a chain starting at the document's only head (or at the
/// start of an empty document).
fn extends_linearly(heads_before: &[automerge::ChangeHash], changes: &[Change]) -> bool {
    if heads_before.len() > 1 {
        return false;
    }
    let mut head = heads_before.first().copied();
    for c in changes {
        let follows = match head {
            None => c.deps().is_empty(),
            Some(h) => c.deps() == [h],
        };
        if !follows {
            return false;
        }
        head = Some(c.hash());
    }
    true
}

/// Write a document's snapshot, pending changes and index entries into `batch`.
pub(super) fn write_doc(
    store: &Core,
    batch: &mut Writes,
    doc: DocId,
    am: &Automerge,
    pending: &[serde_bytes::ByteBuf],
    history: History,
) -> Result<()> {
    batch.insert(keys::doc_key(keys::SNAPSHOT, &doc), snapshot::encode(am));
    let pending_key = keys::doc_key(keys::PENDING, &doc);
    if pending.is_empty() {
        batch.remove(pending_key);
    } else {
        let v =
            codec::encode(&pending).map_err(|e| Error::storage("encoding pending changes", e))?;
        batch.insert(pending_key, v);
    }
    reindex(store, batch, doc, am, history)
}

fn reindex(
    store: &Core,
    batch: &mut Writes,
    doc: DocId,
    am: &Automerge,
    history: History,
) -> Result<()> {
    let jkey = keys::doc_key(keys::DOC_INDEX_KEYS, &doc);
    let old: Vec<serde_bytes::ByteBuf> = match store.tree.get(&jkey)? {
        None => Vec::new(),
        Some(v) => codec::decode(&v, cairn_sync_protocol::limits::MAX_FRAME)
            .map_err(|_| corrupt("an index key list"))?,
    };
    // A document without conflicts that only moved forward along one line cannot have gained
    // any; only otherwise is every map walked for them.
    let conflict_key = store.indexer.conflict_key(&doc);
    let had_conflicts = old.iter().any(|k| k.as_slice() == conflict_key.as_slice());
    let find_conflicts = history != History::Linear || had_conflicts;
    let new: Vec<(Vec<u8>, Vec<u8>)> = store.indexer.index(&doc, am, find_conflicts);
    for prefix in store.indexer.counted() {
        let under = |ks: &mut dyn Iterator<Item = &[u8]>| {
            ks.filter(|k| k.starts_with(prefix)).count() as i64
        };
        let delta = under(&mut new.iter().map(|(k, _)| k.as_slice()))
            - under(&mut old.iter().map(|k| k.as_slice()));
        if delta != 0 {
            *batch.counts.entry(prefix.to_vec()).or_default() += delta;
        }
    }
    let full = |k: &[u8]| [&[keys::INDEX][..], k].concat();
    // The record index's keys go to its buckets, and only when the document gains or loses a
    // record: unchanged ones are not rewritten (their value is the document itself).
    let record_id = |k: &[u8]| {
        store
            .indexer
            .record_prefix()
            .and_then(|p| k.strip_prefix(p))
            .map(<[u8]>::to_vec)
    };
    let old_keys: std::collections::HashSet<&[u8]> = old.iter().map(|k| k.as_slice()).collect();
    let new_keys: std::collections::HashSet<&[u8]> =
        new.iter().map(|(k, _)| k.as_slice()).collect();
    for k in &old {
        if !new_keys.contains(k.as_slice()) {
            // For a record, the key a store written before buckets may still hold.
            batch.remove(full(k));
            if let Some(id) = record_id(k) {
                batch.records.push(RecordChange::Drop(id, doc));
            }
        }
    }
    for (k, v) in &new {
        match record_id(k) {
            Some(id) if !old_keys.contains(k.as_slice()) => {
                batch.records.push(RecordChange::Put(id, doc));
            }
            Some(_) => {}
            None => batch.insert(full(k), v.as_slice()),
        }
    }
    let list: Vec<serde_bytes::ByteBuf> = new
        .into_iter()
        .map(|(k, _)| serde_bytes::ByteBuf::from(k))
        .collect();
    batch.insert(
        jkey,
        codec::encode(&list).map_err(|e| Error::storage("encoding index keys", e))?,
    );
    Ok(())
}

/// Parse an `origin(36) seq(8)` pointer.
pub fn parse_pointer(v: &[u8]) -> Option<(Origin, u64)> {
    Some((keys::parse_origin(v)?, keys::parse_u64(v.get(36..)?)?))
}
