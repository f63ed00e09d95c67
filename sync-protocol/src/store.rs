//! What the session needs from storage, and an in-memory store for tests.

use crate::chain::ElidedRange;
use crate::chain::{FeedItem, VerifiedRun};
use crate::entry::{Auth, Body, BodyRef, Origin, StoredEntry};
use crate::hash::Hash32;
use crate::hlc::Hlc;
use crate::identity::NodeKey;
use crate::vector::VersionVector;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The last entry a store holds for an origin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tip {
    /// Its sequence number.
    pub seq: u64,
    /// Its hash.
    pub hash: Hash32,
}

/// Proof that an origin signed two different entries at one sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fork {
    /// The feed that forked.
    pub origin: Origin,
    /// The first sequence number where the two versions differ (or where it was detected).
    pub seq: u64,
    /// The hash this store holds at `seq`.
    pub held: Hash32,
    /// The validly authenticated hash that arrived for `seq`.
    pub incoming: Hash32,
}

/// An item of a feed as read for a peer ([`LogStore::read_for`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerItem {
    /// A range this store holds elided.
    Elided(ElidedRange),
    /// An entry the peer may see, whole.
    Visible(StoredEntry),
    /// An entry the peer may not see: only what eliding it needs.
    Hidden(HiddenEntry),
}

impl PeerItem {
    /// First sequence number covered.
    pub fn first_seq(&self) -> u64 {
        match self {
            PeerItem::Elided(r) => r.first_seq,
            PeerItem::Visible(se) => se.entry.seq,
            PeerItem::Hidden(h) => h.seq,
        }
    }
}

/// What eliding an entry needs from it: its place in the chain and its authentication, not
/// its body (the body of the last entry of an elided range is hashed, and that one is read
/// again whole: a hub's feed holds every site's program-signed credentials, and copying each
/// one a session passes over made the hub's work per session grow with the number of sites).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HiddenEntry {
    /// Position in the feed.
    pub seq: u64,
    /// Hash of the entry before it.
    pub prev: Hash32,
    /// Its timestamp.
    pub hlc: Hlc,
    /// Its hash.
    pub hash: Hash32,
    /// Its own authentication, if held.
    pub auth: Option<Auth>,
}

impl HiddenEntry {
    /// The parts of `stored` eliding it needs.
    pub fn of(stored: &StoredEntry) -> HiddenEntry {
        HiddenEntry {
            seq: stored.entry.seq,
            prev: stored.entry.prev,
            hlc: stored.entry.hlc,
            hash: stored.hash,
            auth: stored.auth,
        }
    }
}

/// Storage as the sync session uses it. Implementations must make [`LogStore::append`] atomic
/// and durable (together with any derived state) before returning: the session acknowledges
/// what `append` returned from, and a peer never resends what was acknowledged.
pub trait LogStore {
    /// Storage failure.
    type Error: std::error::Error + Send + Sync + 'static;

    /// What the store holds.
    fn vector(&self) -> Result<VersionVector, Self::Error>;
    /// Origins frozen after a fork.
    fn frozen(&self) -> Result<Vec<Origin>, Self::Error>;
    /// The last entry held for `origin`.
    fn tip(&self, origin: &Origin) -> Result<Option<Tip>, Self::Error>;
    /// Every origin held with its last entry: what a session's `Hello` tells the peer. By
    /// default [`LogStore::vector`], then [`LogStore::tip`] for each origin; a store that keeps
    /// both together answers in one read (a hub's `Hello` names every site).
    fn tips(&self) -> Result<Vec<(Origin, Tip)>, Self::Error> {
        let vector = self.vector()?;
        let mut tips = Vec::with_capacity(vector.len());
        for (origin, _) in vector.iter() {
            if let Some(tip) = self.tip(origin)? {
                tips.push((*origin, tip));
            }
        }
        Ok(tips)
    }
    /// The hash of entry `seq` of `origin`, if held whole or as the end of an elided range.
    fn hash_at(&self, origin: &Origin, seq: u64) -> Result<Option<Hash32>, Self::Error>;
    /// Up to `max_items` items of `origin` covering `from_seq` onwards, in order. An elided range
    /// that starts before `from_seq` is returned trimmed to start at `from_seq`.
    fn read(
        &self,
        origin: &Origin,
        from_seq: u64,
        max_items: usize,
    ) -> Result<Vec<FeedItem>, Self::Error>;
    /// [`LogStore::read`] for a peer: the same items, each whole entry [`PeerItem::Visible`] if
    /// `visible` (given the entry's seq and body) says the peer may see it, else
    /// [`PeerItem::Hidden`]. A store that can
    /// decide without copying bodies out (the node's, reading a block of entries in place)
    /// overrides this, and must give exactly what `read` gives (a session reads an elided
    /// range's last entry again through it, with everything visible, to hash its body); the
    /// default reads whole entries.
    fn read_for(
        &self,
        origin: &Origin,
        from_seq: u64,
        max_items: usize,
        visible: &dyn Fn(u64, &BodyRef<'_>) -> bool,
    ) -> Result<Vec<PeerItem>, Self::Error> {
        Ok(self
            .read(origin, from_seq, max_items)?
            .into_iter()
            .map(|item| match item {
                FeedItem::Elided(r) => PeerItem::Elided(r),
                FeedItem::Entry(se) if visible(se.entry.seq, &se.entry.body.as_ref()) => {
                    PeerItem::Visible(se)
                }
                FeedItem::Entry(se) => PeerItem::Hidden(HiddenEntry::of(&se)),
            })
            .collect())
    }
    /// Append runs that each start right after the store's tip for their origin. Atomic and
    /// durable: all runs or none.
    fn append(&mut self, runs: &[VerifiedRun]) -> Result<(), Self::Error>;
    /// Record a fork and stop accepting entries for its origin.
    fn freeze(&mut self, fork: &Fork) -> Result<(), Self::Error>;
}

/// What a receiver should do with a verified run.
#[derive(Debug, PartialEq, Eq)]
pub enum Classified {
    /// New entries that follow the store's tip.
    Append(VerifiedRun),
    /// Everything in the run is already held.
    Duplicate,
    /// The run starts after the store's tip; nothing can be stored.
    Gap {
        /// What the store holds for the origin.
        held: u64,
    },
    /// The origin is frozen.
    Frozen,
    /// The run contradicts what the store holds.
    Fork(Fork),
}

/// Compare a verified run with what `store` holds for its origin.
pub fn classify<S: LogStore + ?Sized>(
    store: &S,
    run: VerifiedRun,
    frozen: &[Origin],
) -> Result<Classified, S::Error> {
    let origin = run.origin;
    if frozen.contains(&origin) {
        return Ok(Classified::Frozen);
    }
    let tip = store.tip(&origin)?;
    let held = tip.map_or(0, |t| t.seq);
    let first = run.first_seq();
    if first > held + 1 {
        return Ok(Classified::Gap { held });
    }
    // Every position both sides know within the overlap (and the link just before the run)
    // must agree; the incoming run is already authenticated, so a difference is a fork.
    let overlap_end = held.min(run.last_seq());
    for seq in first.saturating_sub(1).max(1)..=overlap_end {
        let Some(incoming) = run.hash_at(seq) else {
            continue;
        };
        // The tip carries its hash: the usual case, a run that starts just after what is held,
        // checks its link without reading the stored entry (a block of up to 64 of them).
        let held_hash = match tip {
            Some(t) if t.seq == seq => Some(t.hash),
            _ => store.hash_at(&origin, seq)?,
        };
        let Some(held_hash) = held_hash else {
            continue;
        };
        if incoming != held_hash {
            return Ok(Classified::Fork(Fork {
                origin,
                seq,
                held: held_hash,
                incoming,
            }));
        }
    }
    Ok(match run.after(held) {
        Some(new) => Classified::Append(new),
        None => Classified::Duplicate,
    })
}

/// Why the in-memory store refused an operation.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MemoryStoreError {
    /// An append that does not follow the tip.
    #[error("run for {0:?} does not follow the stored tip")]
    NotContiguous(Origin),
}

#[derive(Clone, Debug, Default)]
struct MemoryFeed {
    // Keyed by the last sequence number each item covers.
    items: BTreeMap<u64, FeedItem>,
}

impl MemoryFeed {
    fn tip(&self) -> Option<Tip> {
        self.items.last_key_value().map(|(&seq, item)| Tip {
            seq,
            hash: item.last_hash(),
        })
    }
}

/// A store in memory, for tests and examples. Counts how often each entry was appended.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    feeds: BTreeMap<Origin, MemoryFeed>,
    forks: BTreeMap<Origin, Fork>,
    appended: BTreeMap<(Origin, u64), u32>,
    /// When set, the next append fails (to test that nothing is acknowledged).
    pub fail_next_append: bool,
}

/// An injected storage failure.
#[derive(Debug, thiserror::Error)]
pub enum MemoryError {
    /// Refused append.
    #[error(transparent)]
    Store(#[from] MemoryStoreError),
    /// Injected failure.
    #[error("injected storage failure")]
    Injected,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Author and store a new entry in `key`'s feed for `epoch`.
    pub fn author(&mut self, key: &NodeKey, epoch: u32, hlc: Hlc, body: Body) -> StoredEntry {
        let origin = Origin {
            node: key.id(),
            epoch,
        };
        let feed = self.feeds.entry(origin).or_default();
        let prev = feed.tip().map(|t| (t.seq, t.hash));
        let e = StoredEntry::author(key, epoch, prev, hlc, body);
        feed.items.insert(e.entry.seq, FeedItem::Entry(e.clone()));
        *self.appended.entry((origin, e.entry.seq)).or_default() += 1;
        e
    }

    /// Every item held, by origin.
    pub fn feeds(&self) -> BTreeMap<Origin, Vec<FeedItem>> {
        self.feeds
            .iter()
            .map(|(o, f)| (*o, f.items.values().cloned().collect()))
            .collect()
    }

    /// (origin, seq, hash) of every whole entry held.
    pub fn whole_entries(&self) -> Vec<(Origin, u64, Hash32)> {
        let mut out = Vec::new();
        for (o, f) in &self.feeds {
            for item in f.items.values() {
                if let FeedItem::Entry(e) = item {
                    out.push((*o, e.entry.seq, e.hash));
                }
            }
        }
        out
    }

    /// How many times each entry was appended (authored or received). Never more than once.
    pub fn append_counts(&self) -> &BTreeMap<(Origin, u64), u32> {
        &self.appended
    }

    /// Forks recorded.
    pub fn forks(&self) -> Vec<Fork> {
        self.forks.values().copied().collect()
    }
}

impl LogStore for MemoryStore {
    type Error = MemoryError;

    fn vector(&self) -> Result<VersionVector, MemoryError> {
        Ok(self
            .feeds
            .iter()
            .filter_map(|(o, f)| f.tip().map(|t| (*o, t.seq)))
            .collect())
    }

    fn frozen(&self) -> Result<Vec<Origin>, MemoryError> {
        Ok(self.forks.keys().copied().collect())
    }

    fn tip(&self, origin: &Origin) -> Result<Option<Tip>, MemoryError> {
        Ok(self.feeds.get(origin).and_then(MemoryFeed::tip))
    }

    fn hash_at(&self, origin: &Origin, seq: u64) -> Result<Option<Hash32>, MemoryError> {
        Ok(self
            .feeds
            .get(origin)
            .and_then(|f| f.items.get(&seq))
            .map(FeedItem::last_hash))
    }

    fn read(
        &self,
        origin: &Origin,
        from_seq: u64,
        max_items: usize,
    ) -> Result<Vec<FeedItem>, MemoryError> {
        let Some(feed) = self.feeds.get(origin) else {
            return Ok(Vec::new());
        };
        Ok(feed
            .items
            .range(from_seq..)
            .take(max_items)
            .map(|(_, item)| match item {
                FeedItem::Elided(r) if r.first_seq < from_seq => {
                    let mut r = *r;
                    r.first_seq = from_seq;
                    FeedItem::Elided(r)
                }
                other => other.clone(),
            })
            .collect())
    }

    fn append(&mut self, runs: &[VerifiedRun]) -> Result<(), MemoryError> {
        if std::mem::take(&mut self.fail_next_append) {
            return Err(MemoryError::Injected);
        }
        // Check every run first so the append is all-or-nothing.
        for run in runs {
            let tip = self.tip(&run.origin)?;
            let (held, hash) = tip.map_or((0, Hash32::ZERO), |t| (t.seq, t.hash));
            let linked = run.prev.is_none_or(|p| p == hash);
            if run.first_seq() != held + 1 || !linked {
                return Err(MemoryStoreError::NotContiguous(run.origin).into());
            }
        }
        for run in runs {
            let feed = self.feeds.entry(run.origin).or_default();
            for item in &run.items {
                if let FeedItem::Entry(e) = item {
                    *self.appended.entry((run.origin, e.entry.seq)).or_default() += 1;
                }
                feed.items.insert(item.last_seq(), item.clone());
            }
        }
        Ok(())
    }

    fn freeze(&mut self, fork: &Fork) -> Result<(), MemoryError> {
        self.forks.entry(fork.origin).or_insert(*fork);
        Ok(())
    }
}
