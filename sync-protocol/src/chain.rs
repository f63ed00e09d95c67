//! Verifying hash chains and their authentication.
//!
//! A run (or a stored feed) is a sequence of entries and elided ranges. Walking it recomputes
//! every entry hash from the previous one. An entry is authenticated by its own signature or by
//! a later one in the same stretch of whole entries, because that later hash commits to it. An
//! elided range breaks the stretch — its contents cannot be recomputed — so every whole entry
//! before a range must already be authenticated when the range begins.

use crate::entry::{Auth, Entry, Origin, StoredEntry, entry_hash};
use crate::hash::Hash32;
use crate::hlc::Hlc;
use crate::identity::NodeId;
use crate::limits::Limits;
use crate::message::{Item, Run, WireAuth};
use serde::{Deserialize, Serialize};

/// Why a run or a stored feed failed verification.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum ChainError {
    /// A signature or vouch does not match the entry: forged or corrupted.
    #[error("entry {seq} of {origin:?} has a signature that does not verify (forged or corrupted)")]
    BadSignature {
        /// The feed.
        origin: Origin,
        /// The entry.
        seq: u64,
    },
    /// Entries that no signature covers.
    #[error("entries {from}..={to} of {origin:?} are not covered by any signature")]
    Unauthenticated {
        /// The feed.
        origin: Origin,
        /// First uncovered entry.
        from: u64,
        /// Last uncovered entry.
        to: u64,
    },
    /// A vouch from a node that is not a trusted relay.
    #[error("entry {seq} of {origin:?} is vouched for by a node that is not a trusted relay")]
    UntrustedVouch {
        /// The feed.
        origin: Origin,
        /// The entry.
        seq: u64,
    },
    /// An entry's `prev` is not the hash of the entry before it.
    #[error("entry {seq} of {origin:?} does not follow the entry before it (broken chain)")]
    BrokenChain {
        /// The feed.
        origin: Origin,
        /// The entry.
        seq: u64,
    },
    /// A stored entry's cached hash or position is inconsistent with its content.
    #[error("entry {seq} of {origin:?} is stored inconsistently (wrong hash, origin or position)")]
    Inconsistent {
        /// The feed.
        origin: Origin,
        /// The entry.
        seq: u64,
    },
    /// Sequence numbers start at 1 and cannot overflow.
    #[error("run of {origin:?} has an impossible sequence number")]
    BadSequence {
        /// The feed.
        origin: Origin,
    },
    /// An elided range of zero entries.
    #[error("run of {origin:?} has an empty elided range")]
    EmptySkip {
        /// The feed.
        origin: Origin,
    },
    /// A payload larger than the limit.
    #[error("entry {seq} of {origin:?} has a payload of {len} bytes, over the {limit}-byte limit")]
    PayloadTooLarge {
        /// The feed.
        origin: Origin,
        /// The entry.
        seq: u64,
        /// Payload size.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The origin's node id is not a valid key.
    #[error("{origin:?} is not a valid Ed25519 key")]
    BadOrigin {
        /// The feed.
        origin: Origin,
    },
    /// A run with no items.
    #[error("run of {origin:?} is empty")]
    EmptyRun {
        /// The feed.
        origin: Origin,
    },
}

/// A range of entries whose content this node does not hold, with the header of the last one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElidedRange {
    /// First elided sequence number.
    pub first_seq: u64,
    /// Last elided sequence number.
    pub last_seq: u64,
    /// The `prev` of the last elided entry.
    pub last_prev: Hash32,
    /// The timestamp of the last elided entry.
    pub last_hlc: Hlc,
    /// The body hash of the last elided entry.
    pub last_body_hash: Hash32,
    /// Hash of the last elided entry (cached; recomputable from the fields above).
    pub last_hash: Hash32,
    /// Authentication of the last elided entry, if held.
    pub auth: Option<Auth>,
}

impl ElidedRange {
    /// Recompute the hash of the last elided entry from its header.
    pub fn compute_last_hash(&self, origin: &Origin) -> Hash32 {
        entry_hash(
            origin,
            self.last_seq,
            &self.last_prev,
            &self.last_hlc,
            &self.last_body_hash,
        )
    }
}

/// One verified item of a feed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FeedItem {
    /// A whole entry.
    Entry(StoredEntry),
    /// Elided entries.
    Elided(ElidedRange),
}

impl FeedItem {
    /// First sequence number covered.
    pub fn first_seq(&self) -> u64 {
        match self {
            FeedItem::Entry(e) => e.entry.seq,
            FeedItem::Elided(r) => r.first_seq,
        }
    }

    /// Last sequence number covered.
    pub fn last_seq(&self) -> u64 {
        match self {
            FeedItem::Entry(e) => e.entry.seq,
            FeedItem::Elided(r) => r.last_seq,
        }
    }

    /// Hash of the last entry covered.
    pub fn last_hash(&self) -> Hash32 {
        match self {
            FeedItem::Entry(e) => e.hash,
            FeedItem::Elided(r) => r.last_hash,
        }
    }

    /// Authentication of the last entry covered, if held.
    pub fn auth(&self) -> Option<Auth> {
        match self {
            FeedItem::Entry(e) => e.auth,
            FeedItem::Elided(r) => r.auth,
        }
    }
}

/// A run whose chain and signatures checked out, ready to compare with the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedRun {
    /// The feed.
    pub origin: Origin,
    /// Hash of the entry before the first item; `None` when an elided range hides it.
    pub prev: Option<Hash32>,
    /// Items in order, contiguous.
    pub items: Vec<FeedItem>,
}

impl VerifiedRun {
    /// First sequence number in the run.
    pub fn first_seq(&self) -> u64 {
        self.items.first().map_or(0, FeedItem::first_seq)
    }

    /// Last sequence number in the run.
    pub fn last_seq(&self) -> u64 {
        self.items.last().map_or(0, FeedItem::last_seq)
    }

    /// Hash of the entry at `seq`, if the run holds it (whole, or as the end of an elided range),
    /// or `prev` for the entry just before the run.
    pub fn hash_at(&self, seq: u64) -> Option<Hash32> {
        if seq + 1 == self.first_seq() {
            return self.prev;
        }
        let first = self.first_seq();
        if seq < first || seq > self.last_seq() {
            return None;
        }
        // Items are contiguous; elided ranges make positions irregular, so search.
        let idx = self.items.partition_point(|i| i.last_seq() < seq);
        let item = self.items.get(idx)?;
        (item.last_seq() == seq).then(|| item.last_hash())
    }

    /// Keep only the items after `seq` (those the receiver does not hold yet). Returns `None` when
    /// nothing is left.
    pub fn after(mut self, seq: u64) -> Option<VerifiedRun> {
        if self.last_seq() <= seq {
            return None;
        }
        let prev = self.hash_at(seq);
        let idx = self.items.partition_point(|i| i.last_seq() <= seq);
        let mut items = self.items.split_off(idx);
        if let Some(FeedItem::Elided(r)) = items.first_mut() {
            r.first_seq = r.first_seq.max(seq + 1);
        }
        Some(VerifiedRun {
            origin: self.origin,
            // An elided range straddling `seq` hides the hash at `seq`.
            prev,
            items,
        })
    }
}

/// Tracks which items still wait for a signature while walking a chain.
struct Coverage {
    origin: Origin,
    pending_from: Option<u64>,
}

impl Coverage {
    fn authenticated(&mut self) {
        self.pending_from = None;
    }

    fn pending(&mut self, seq: u64) {
        self.pending_from.get_or_insert(seq);
    }

    fn require_none(&self, upto: u64) -> Result<(), ChainError> {
        match self.pending_from {
            Some(from) => Err(ChainError::Unauthenticated {
                origin: self.origin,
                from,
                to: upto,
            }),
            None => Ok(()),
        }
    }
}

fn check_auth(
    auth: &Auth,
    origin: &Origin,
    seq: u64,
    hash: &Hash32,
    relay: Option<NodeId>,
) -> Result<(), ChainError> {
    if let Auth::Vouch { by, .. } = auth
        && Some(*by) != relay
    {
        return Err(ChainError::UntrustedVouch {
            origin: *origin,
            seq,
        });
    }
    auth.verify(origin, hash)
        .map_err(|_| ChainError::BadSignature {
            origin: *origin,
            seq,
        })
}

/// Verify a run received from `sender`. Vouches are accepted only when `sender` is `relay`.
pub fn verify_run(
    run: Run,
    sender: NodeId,
    relay: Option<NodeId>,
    limits: &Limits,
) -> Result<VerifiedRun, ChainError> {
    let origin = run.origin;
    if origin.node.verifying_key().is_err() {
        return Err(ChainError::BadOrigin { origin });
    }
    if run.items.is_empty() {
        return Err(ChainError::EmptyRun { origin });
    }
    if run.first_seq == 0 || (run.first_seq == 1 && run.prev != Hash32::ZERO) {
        return Err(ChainError::BadSequence { origin });
    }
    let relay = relay.filter(|r| *r == sender);
    let mut coverage = Coverage {
        origin,
        pending_from: None,
    };
    let mut items = Vec::with_capacity(run.items.len());
    let mut prev = run.prev;
    let mut next_seq = run.first_seq;
    let to_auth = |a: WireAuth| match a {
        WireAuth::Origin(s) => Auth::Origin(s),
        WireAuth::Vouch(signature) => Auth::Vouch {
            by: sender,
            signature,
        },
    };
    for item in run.items {
        match item {
            Item::Entry(w) => {
                let seq = next_seq;
                if w.body.data.len() > limits.max_payload {
                    return Err(ChainError::PayloadTooLarge {
                        origin,
                        seq,
                        len: w.body.data.len(),
                        limit: limits.max_payload,
                    });
                }
                let hash = entry_hash(&origin, seq, &prev, &w.hlc, &w.body.hash());
                let auth = w.auth.map(to_auth);
                match &auth {
                    Some(a) => {
                        check_auth(a, &origin, seq, &hash, relay)?;
                        coverage.authenticated();
                    }
                    None => coverage.pending(seq),
                }
                items.push(FeedItem::Entry(StoredEntry {
                    entry: Entry {
                        origin,
                        seq,
                        prev,
                        hlc: w.hlc,
                        body: w.body,
                    },
                    hash,
                    auth,
                }));
                prev = hash;
                next_seq = seq
                    .checked_add(1)
                    .ok_or(ChainError::BadSequence { origin })?;
            }
            Item::Skip(s) => {
                if s.count == 0 {
                    return Err(ChainError::EmptySkip { origin });
                }
                coverage.require_none(next_seq - 1)?;
                let last_seq = next_seq
                    .checked_add(s.count - 1)
                    .ok_or(ChainError::BadSequence { origin })?;
                // A one-entry range links to the chain like an entry; a longer one hides the
                // link, so nothing before it can be checked against it.
                if s.count == 1 && s.last_prev != prev {
                    return Err(ChainError::BrokenChain {
                        origin,
                        seq: last_seq,
                    });
                }
                let last_hash = entry_hash(
                    &origin,
                    last_seq,
                    &s.last_prev,
                    &s.last_hlc,
                    &s.last_body_hash,
                );
                let auth = s.auth.map(to_auth);
                match &auth {
                    Some(a) => {
                        check_auth(a, &origin, last_seq, &last_hash, relay)?;
                        coverage.authenticated();
                    }
                    None => coverage.pending(next_seq),
                }
                items.push(FeedItem::Elided(ElidedRange {
                    first_seq: next_seq,
                    last_seq,
                    last_prev: s.last_prev,
                    last_hlc: s.last_hlc,
                    last_body_hash: s.last_body_hash,
                    last_hash,
                    auth,
                }));
                prev = last_hash;
                next_seq = last_seq
                    .checked_add(1)
                    .ok_or(ChainError::BadSequence { origin })?;
            }
        }
    }
    coverage.require_none(next_seq - 1)?;
    // `prev` is known only when an authenticated hash commits to it: the first entry's, or a
    // one-entry elided range's.
    let prev_known = match items.first() {
        Some(FeedItem::Entry(_)) => true,
        Some(FeedItem::Elided(r)) => r.first_seq == r.last_seq,
        None => false,
    };
    Ok(VerifiedRun {
        origin,
        prev: prev_known.then_some(run.prev),
        items,
    })
}

/// Verifies a stored feed item by item, as `cairn check` does: positions, hashes, chain links and
/// signature coverage. Feed the items in order, then call [`FeedChecker::finish`].
pub struct FeedChecker {
    origin: Origin,
    next_seq: u64,
    prev: Hash32,
    // After an elided range the chain cannot be recomputed; the next whole entry's `prev` must
    // equal the range's recorded last hash.
    coverage: Coverage,
    relay: Option<NodeId>,
    checked: u64,
}

impl FeedChecker {
    /// Start checking a feed from its first entry. `relay` is the node whose vouches count.
    pub fn new(origin: Origin, relay: Option<NodeId>) -> Self {
        FeedChecker {
            origin,
            next_seq: 1,
            prev: Hash32::ZERO,
            coverage: Coverage {
                origin,
                pending_from: None,
            },
            relay,
            checked: 0,
        }
    }

    /// Check the next item.
    pub fn push(&mut self, item: &FeedItem) -> Result<(), ChainError> {
        let origin = self.origin;
        match item {
            FeedItem::Entry(e) => {
                let seq = self.next_seq;
                if e.entry.origin != origin || e.entry.seq != seq {
                    return Err(ChainError::Inconsistent { origin, seq });
                }
                if e.entry.prev != self.prev {
                    return Err(ChainError::BrokenChain { origin, seq });
                }
                if e.entry.hash() != e.hash {
                    return Err(ChainError::Inconsistent { origin, seq });
                }
                match &e.auth {
                    Some(a) => {
                        check_auth(a, &origin, seq, &e.hash, self.relay)?;
                        self.coverage.authenticated();
                    }
                    None => self.coverage.pending(seq),
                }
                self.prev = e.hash;
                self.next_seq += 1;
                self.checked += 1;
            }
            FeedItem::Elided(r) => {
                if r.first_seq != self.next_seq
                    || r.last_seq < r.first_seq
                    || r.compute_last_hash(&origin) != r.last_hash
                {
                    return Err(ChainError::Inconsistent {
                        origin,
                        seq: self.next_seq,
                    });
                }
                if r.first_seq == r.last_seq && r.last_prev != self.prev {
                    return Err(ChainError::BrokenChain {
                        origin,
                        seq: r.last_seq,
                    });
                }
                self.coverage.require_none(self.next_seq - 1)?;
                match &r.auth {
                    Some(a) => {
                        check_auth(a, &origin, r.last_seq, &r.last_hash, self.relay)?;
                        self.coverage.authenticated();
                    }
                    None => self.coverage.pending(r.first_seq),
                }
                self.prev = r.last_hash;
                self.next_seq = r.last_seq + 1;
            }
        }
        Ok(())
    }

    /// Finish: every item must be covered by a signature. Returns the number of whole entries.
    pub fn finish(self) -> Result<u64, ChainError> {
        self.coverage.require_none(self.next_seq - 1)?;
        Ok(self.checked)
    }
}
