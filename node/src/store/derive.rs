//! Derived state: what new log entries mean for documents, indexes, evidence files and trust.
//! Everything here runs inside the same sled batch as the entries it derives from.

use super::{Store, Writer, corrupt, keys};
use crate::error::{Error, Result};
use crate::payload::{self, ControlRecord, FileChunk};
use automerge::{Automerge, Change, ReadDoc};
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
    store: &Store,
    w: &mut Writer,
    batch: &mut sled::Batch,
    entries: &[&StoredEntry],
) -> Result<Vec<DocId>> {
    let authority: Option<NodeId> = store
        .local::<String>("authority")?
        .and_then(|s| s.parse().ok());
    let mut changes: BTreeMap<DocId, Vec<Change>> = BTreeMap::new();
    let mut controls = Vec::new();
    for se in entries {
        let e = &se.entry;
        batch.insert(
            keys::doc_entry(&e.body.doc, &e.origin, e.seq),
            &[kind_byte(e.body.kind)],
        );
        match e.body.kind {
            BodyKind::Change => match Change::from_bytes(e.body.data.clone()) {
                Ok(c) => changes.entry(e.body.doc).or_default().push(c),
                Err(err) => tracing::warn!(
                    origin = ?e.origin, seq = e.seq,
                    "entry carries an unreadable automerge change; kept in the log, not applied: {err}"
                ),
            },
            BodyKind::Control => {
                if authority != Some(e.origin.node) {
                    tracing::warn!(origin = ?e.origin, seq = e.seq, "control record not from the hub; ignored");
                    continue;
                }
                match payload::decode::<ControlRecord>(&e.body.data, "a control record") {
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
    let mut touched = Vec::new();
    for (doc, chs) in changes {
        apply_changes(store, w, batch, doc, chs, None)?;
        touched.push(doc);
    }
    for (doc, rec) in controls {
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
                };
                batch.insert(keys::site(&site.0), json(&record)?);
            }
            ControlRecord::SiteRevoked { site, reason } => {
                let mut record = store.site_record(&site)?.unwrap_or(SiteRecord {
                    node: site.to_string(),
                    site_id: String::new(),
                    name: String::new(),
                    revoked: None,
                });
                record.revoked = Some(reason);
                batch.insert(keys::site(&site.0), json(&record)?);
            }
            ControlRecord::LearnerTransferred {
                learner, snapshot, ..
            } => {
                apply_changes(store, w, batch, learner, Vec::new(), Some(&snapshot))?;
                touched.push(learner);
                let _ = doc;
            }
        }
    }
    Ok(touched)
}

fn json<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| Error::storage("encoding derived state", e))
}

/// Load a document: from the cache, else its snapshot plus the changes still waiting for their
/// dependencies, else (snapshot unreadable) from the log itself.
pub(super) fn load_doc(store: &Store, w: &mut Writer, doc: DocId) -> Result<Automerge> {
    if let Some(d) = w.docs.take(&doc) {
        return Ok(d);
    }
    let mut am = match store.tree.get(keys::doc_key(keys::SNAPSHOT, &doc))? {
        None => Automerge::new(),
        Some(bytes) => match Automerge::load(&bytes) {
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
pub(super) fn doc_from_log(store: &Store, doc: DocId) -> Result<Automerge> {
    let mut am = Automerge::new();
    let mut changes = Vec::new();
    let mut snapshots = Vec::new();
    for (origin, seq, kind) in store.doc_entries(&doc)? {
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

fn read_pending(store: &Store, doc: &DocId) -> Result<Vec<Change>> {
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

/// Apply new changes (and optionally a transferred snapshot) to a document and write its
/// snapshot, pending list and index entries into `batch`. The document goes back into the cache.
pub(super) fn apply_changes(
    store: &Store,
    w: &mut Writer,
    batch: &mut sled::Batch,
    doc: DocId,
    changes: Vec<Change>,
    snapshot: Option<&[u8]>,
) -> Result<()> {
    let mut am = load_doc(store, w, doc)?;
    if let Some(s) = snapshot
        && let Err(e) = am.load_incremental(s)
    {
        tracing::warn!(?doc, "a transferred learner snapshot is unreadable: {e}");
    }
    let mut all = read_pending(store, &doc)?;
    all.extend(changes);
    apply_tolerantly(&mut am, all.clone());
    let still_pending: Vec<serde_bytes::ByteBuf> = all
        .iter()
        .filter(|c| am.get_change_by_hash(&c.hash()).is_none())
        .map(|c| serde_bytes::ByteBuf::from(c.raw_bytes().to_vec()))
        .collect();
    write_doc(store, batch, doc, &am, &still_pending)?;
    w.docs.put(doc, am);
    Ok(())
}

/// Write a document's snapshot, pending changes and index entries into `batch`.
pub(super) fn write_doc(
    store: &Store,
    batch: &mut sled::Batch,
    doc: DocId,
    am: &Automerge,
    pending: &[serde_bytes::ByteBuf],
) -> Result<()> {
    batch.insert(keys::doc_key(keys::SNAPSHOT, &doc), am.save());
    let pending_key = keys::doc_key(keys::PENDING, &doc);
    if pending.is_empty() {
        batch.remove(pending_key);
    } else {
        let v =
            codec::encode(&pending).map_err(|e| Error::storage("encoding pending changes", e))?;
        batch.insert(pending_key, v);
    }
    reindex(store, batch, doc, am)
}

fn reindex(store: &Store, batch: &mut sled::Batch, doc: DocId, am: &Automerge) -> Result<()> {
    let new: Vec<(Vec<u8>, Vec<u8>)> = crate::index::index_document(&doc, am);
    let jkey = keys::doc_key(keys::DOC_INDEX_KEYS, &doc);
    let old: Vec<serde_bytes::ByteBuf> = match store.tree.get(&jkey)? {
        None => Vec::new(),
        Some(v) => codec::decode(&v, cairn_sync_protocol::limits::MAX_FRAME)
            .map_err(|_| corrupt("an index key list"))?,
    };
    for k in &old {
        if !new.iter().any(|(nk, _)| nk.as_slice() == k.as_slice()) {
            let mut full = vec![keys::INDEX];
            full.extend_from_slice(k);
            batch.remove(full);
        }
    }
    for (k, v) in &new {
        let mut full = vec![keys::INDEX];
        full.extend_from_slice(k);
        batch.insert(full, v.as_slice());
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
