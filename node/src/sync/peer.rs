//! What this node remembers about each peer: the checkpoint of what the peer holds (so the next
//! session resumes without resending anything acknowledged) and a short sync history.

use crate::error::Result;
use crate::store::Store;
use cairn_sync_protocol::{NodeId, Origin, VersionVector};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// How many past sessions to remember per peer.
pub const HISTORY: usize = 100;

/// One past session (or bundle) with a peer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRecord {
    /// When it started (ms since the Unix epoch, this node's clock).
    pub started_ms: u64,
    /// When it ended.
    pub ended_ms: u64,
    /// `tls` or `bundle`.
    pub via: String,
    /// Whole entries this node sent.
    pub sent: u64,
    /// Whole entries this node received and stored.
    pub received: u64,
    /// Bytes sent, including framing.
    pub bytes_sent: u64,
    /// Bytes received.
    pub bytes_received: u64,
    /// Entries that arrived again after a lost acknowledgement (recognized, not stored).
    #[serde(default)]
    pub duplicates: u64,
    /// `complete`, or what went wrong.
    pub outcome: String,
}

/// Everything remembered about one peer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerState {
    /// The peer's node id (text form).
    pub id: String,
    /// What the peer is known to hold: (node id text, epoch, seq).
    pub known: Vec<(String, u32, u64)>,
    /// Last time the peer was reached.
    pub last_contact_ms: Option<u64>,
    /// Last session that completed.
    pub last_success_ms: Option<u64>,
    /// The peer's clock minus ours, as of the last contact.
    pub clock_offset_ms: Option<i64>,
    /// Recent sessions, newest last.
    pub history: VecDeque<SyncRecord>,
}

impl PeerState {
    /// The checkpoint as a version vector. Its ids are read back without checking their curve
    /// points (see [`NodeId::from_recorded_text`]): they only say what not to send again, and
    /// no signature is ever verified against them.
    pub fn known_vector(&self) -> VersionVector {
        self.known
            .iter()
            .filter_map(|(node, epoch, seq)| {
                Some((
                    Origin {
                        node: NodeId::from_recorded_text(node).ok()?,
                        epoch: *epoch,
                    },
                    *seq,
                ))
            })
            .collect()
    }

    /// Entries of `me`'s own feeds in `held` that this peer is not known to hold.
    pub fn pending_own(&self, held: &VersionVector, me: &cairn_sync_protocol::NodeId) -> u64 {
        let known = self.known_vector();
        held.iter()
            .filter(|(o, _)| o.node == *me)
            .map(|(o, s)| s.saturating_sub(known.get(o)))
            .sum()
    }

    /// Replace the checkpoint.
    pub fn set_known(&mut self, v: &VersionVector) {
        self.known = v
            .iter()
            .map(|(o, s)| (o.node.to_string(), o.epoch, *s))
            .collect();
    }

    /// Add a session to the history, dropping the oldest beyond [`HISTORY`].
    pub fn record(&mut self, r: SyncRecord) {
        self.history.push_back(r);
        while self.history.len() > HISTORY {
            self.history.pop_front();
        }
    }
}

fn key(peer: &NodeId) -> String {
    format!("peer/{peer}")
}

/// Load what is remembered about `peer`.
pub fn load(store: &Store, peer: &NodeId) -> Result<PeerState> {
    Ok(store.local(&key(peer))?.unwrap_or_else(|| PeerState {
        id: peer.to_string(),
        ..Default::default()
    }))
}

/// Save what is remembered about a peer, durably.
pub fn save(store: &Store, state: &PeerState) -> Result<()> {
    store.set_local(&format!("peer/{}", state.id), state)
}

/// Change what is remembered about `peer`, durably, starting from what is stored now: a session
/// saves its checkpoint many times while other sessions or bundles with the same peer may save
/// theirs, and each keeps the others' history records instead of overwriting them with a copy
/// read when it began.
pub fn update(store: &Store, peer: &NodeId, change: impl FnOnce(&mut PeerState)) -> Result<()> {
    let mut state = load(store, peer)?;
    change(&mut state);
    save(store, &state)
}

/// Every peer this node remembers.
pub fn all(store: &Store) -> Result<Vec<PeerState>> {
    store.locals_with_prefix("peer/")
}
