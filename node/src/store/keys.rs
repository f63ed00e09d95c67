//! Key layout of the single sled tree. One tree keeps every write a single atomic batch.
//!
//! | prefix | key | value | kind |
//! | --- | --- | --- | --- |
//! | `E` | origin(36) seq(8) | feed item ending at seq: an entry, an elided range, or a block of up to 64 consecutive entries (`StoredItem`) | log |
//! | `T` | origin(36) | tip: seq(8) hash(32) | derived |
//! | `F` | origin(36) | fork evidence (origin frozen) | local |
//! | `X` | doc(16) origin(36) first seq(8) | up to 64 × (seq(8) body kind(1)) of the document's entries from that origin | derived |
//! | `S` | doc(16) | automerge snapshot | derived |
//! | `Q` | doc(16) | changes waiting for their dependencies | derived |
//! | `C` | file(32) index(4) | origin(36) seq(8) of the chunk entry | derived |
//! | `I` | index name, key | value | derived (see `index.rs`) |
//! | `J` | doc(16) | the `I` keys this document produced | derived |
//! | `G` | bucket(2) | the record index: (record id, doc(16)) pairs whose id hashes to the bucket (`record_index.rs`) | derived |
//! | `G` | (none) | the record index's shape: how many buckets, how many records | derived |
//! | `G` | `ff` | a doubling of the record index's buckets under way: the bits it doubles to (one byte) | derived |
//! | `R` | node(32) | site record from control entries | derived |
//! | `M` | site node(32) origin(36) seq(8) | (empty) a learner transfer to or from the site, by the entry that records it | derived |
//! | `D` | batch number(8) | runs acknowledged but not yet derived: origin(36) first seq(8) last seq(8) each | derived queue |
//! | `N` | index key prefix | how many `I` keys start with it (u64), for counts without scans | derived |
//! | `L` | name | local state (clock, epoch, peer checkpoints and histories) | local |
//! | `P` | principal(16) | argon2 hash of a PIN or password | local |
//! | `A` | time ms(8) random(8) | audit event (sign-ins, refusals), JSON | local |
//!
//! Stores written before `X` keys were merged hold one `X` key per entry (`doc origin seq` with a
//! one-byte value); both forms are read, `rebuild` writes the merged one.
//!
//! "derived" keys are rebuilt from `E` by `cairn rebuild`; "local" keys are this node's own state.

use cairn_sync_protocol::{DocId, Origin};

pub const ENTRY: u8 = b'E';
pub const TIP: u8 = b'T';
pub const FORK: u8 = b'F';
pub const DOC_ENTRY: u8 = b'X';
pub const SNAPSHOT: u8 = b'S';
pub const PENDING: u8 = b'Q';
pub const CHUNK: u8 = b'C';
pub const INDEX: u8 = b'I';
pub const DOC_INDEX_KEYS: u8 = b'J';
pub const RECORD_BUCKET: u8 = b'G';
pub const SITE: u8 = b'R';
pub const TRANSFER: u8 = b'M';
pub const COUNT: u8 = b'N';
pub const DERIVE_QUEUE: u8 = b'D';
pub const LOCAL: u8 = b'L';
pub const SECRET: u8 = b'P';
pub const AUDIT: u8 = b'A';

/// Prefixes of everything `rebuild` recomputes.
pub const DERIVED: &[u8] = &[
    TIP,
    DOC_ENTRY,
    SNAPSHOT,
    PENDING,
    CHUNK,
    INDEX,
    DOC_INDEX_KEYS,
    RECORD_BUCKET,
    SITE,
    TRANSFER,
    COUNT,
    DERIVE_QUEUE,
];

/// Most entries listed under one `X` key: a document's entries from one origin are grouped, so
/// the store holds one key per 64 of them instead of one per entry, and a write rewrites at most
/// one small value.
pub const DOC_ENTRIES_PER_KEY: usize = 64;

pub fn entry(origin: &Origin, seq: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(45);
    k.push(ENTRY);
    k.extend_from_slice(&origin.to_bytes());
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

pub fn record_bucket(bucket: u16) -> Vec<u8> {
    let mut k = Vec::with_capacity(3);
    k.push(RECORD_BUCKET);
    k.extend_from_slice(&bucket.to_be_bytes());
    k
}

pub fn origin_key(prefix: u8, origin: &Origin) -> Vec<u8> {
    let mut k = Vec::with_capacity(37);
    k.push(prefix);
    k.extend_from_slice(&origin.to_bytes());
    k
}

pub fn doc_entry(doc: &DocId, origin: &Origin, seq: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(61);
    k.push(DOC_ENTRY);
    k.extend_from_slice(&doc.0);
    k.extend_from_slice(&origin.to_bytes());
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// The prefix of a document's `X` keys for one origin.
pub fn doc_origin(doc: &DocId, origin: &Origin) -> Vec<u8> {
    let mut k = Vec::with_capacity(61);
    k.push(DOC_ENTRY);
    k.extend_from_slice(&doc.0);
    k.extend_from_slice(&origin.to_bytes());
    k
}

/// A batch waiting in the derivation queue.
pub fn derive_queue(n: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(9);
    k.push(DERIVE_QUEUE);
    k.extend_from_slice(&n.to_be_bytes());
    k
}

/// Bytes of one run in a derivation-queue record: origin(36) first seq(8) last seq(8).
pub const QUEUED_RUN: usize = 52;

/// One run of a derivation-queue record: the entries `first..=last` of `origin`.
pub fn queued_run(origin: &Origin, first: u64, last: u64) -> [u8; QUEUED_RUN] {
    let mut run = [0u8; QUEUED_RUN];
    run[..36].copy_from_slice(&origin.to_bytes());
    run[36..44].copy_from_slice(&first.to_be_bytes());
    run[44..].copy_from_slice(&last.to_be_bytes());
    run
}

/// The runs of a derivation-queue record, or `None` if it is not whole runs.
pub fn parse_queued_runs(v: &[u8]) -> Option<Vec<(Origin, u64, u64)>> {
    if !v.len().is_multiple_of(QUEUED_RUN) {
        return None;
    }
    v.chunks(QUEUED_RUN)
        .map(|run| {
            Some((
                parse_origin(run)?,
                parse_u64(&run[36..])?,
                parse_u64(&run[44..])?,
            ))
        })
        .collect()
}

/// The counter of `I` keys starting with `prefix`.
pub fn count(prefix: &[u8]) -> Vec<u8> {
    let mut k = vec![COUNT];
    k.extend_from_slice(prefix);
    k
}

pub fn doc_key(prefix: u8, doc: &DocId) -> Vec<u8> {
    let mut k = Vec::with_capacity(17);
    k.push(prefix);
    k.extend_from_slice(&doc.0);
    k
}

pub fn chunk(file: &[u8; 32], index: u32) -> Vec<u8> {
    let mut k = Vec::with_capacity(37);
    k.push(CHUNK);
    k.extend_from_slice(file);
    k.extend_from_slice(&index.to_be_bytes());
    k
}

pub fn local(name: &str) -> Vec<u8> {
    let mut k = vec![LOCAL];
    k.extend_from_slice(name.as_bytes());
    k
}

pub fn secret(principal: &[u8; 16]) -> Vec<u8> {
    let mut k = vec![SECRET];
    k.extend_from_slice(principal);
    k
}

pub fn site(node: &[u8; 32]) -> Vec<u8> {
    let mut k = vec![SITE];
    k.extend_from_slice(node);
    k
}

/// The transfer to or from `site` recorded by entry `seq` of `origin`.
pub fn transfer(site: &[u8; 32], origin: &Origin, seq: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(77);
    k.push(TRANSFER);
    k.extend_from_slice(site);
    k.extend_from_slice(&origin.to_bytes());
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// Parse origin(36) from bytes.
pub fn parse_origin(b: &[u8]) -> Option<Origin> {
    let node: [u8; 32] = b.get(..32)?.try_into().ok()?;
    let epoch = u32::from_be_bytes(b.get(32..36)?.try_into().ok()?);
    Some(Origin {
        node: cairn_sync_protocol::NodeId(node),
        epoch,
    })
}

/// Parse a big-endian u64 from 8 bytes.
pub fn parse_u64(b: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(..8)?.try_into().ok()?))
}
