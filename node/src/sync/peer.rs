//! What this node remembers about each peer: the checkpoint of what the peer holds (so the next
//! session resumes without resending anything acknowledged) and a short sync history.
//!
//! The two are kept under two keys. The history and contact times are JSON (`peer/ID`), which
//! later releases can add fields to. The checkpoint is a version vector in the binary codec
//! (`checkpoint/ID`): a checkpoint names every origin the peer's `Hello` named — at a site, before
//! the hub answered with only the site's share (`Session::start_answering`), every site of the
//! program — and turning 200 ids into text and back, several times a session, was a sixth of a
//! site's processor time in a crowd of 200 (docs/benchmarks.md, round 9).

use crate::error::Result;
use crate::store::{Store, Unflushed};
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
    /// What the peer is known to hold, as releases before the binary checkpoint saved it
    /// (node id text, epoch, seq): [`load`] moves it into `checkpoint` when no `checkpoint/ID`
    /// is stored, so it is written empty from then on. Written, not skipped: those releases
    /// require the field, and read an empty one as a checkpoint that knows nothing (they
    /// resend once).
    #[serde(default)]
    known: Vec<(String, u32, u64)>,
    /// What the peer is known to hold, from `checkpoint/ID`.
    #[serde(skip)]
    checkpoint: Option<VersionVector>,
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
    /// The checkpoint as a version vector.
    pub fn known_vector(&self) -> VersionVector {
        self.checkpoint.clone().unwrap_or_default()
    }

    /// Entries of `me`'s own feeds in `held` that this peer is not known to hold.
    pub fn pending_own(&self, held: &VersionVector, me: &cairn_sync_protocol::NodeId) -> u64 {
        let known = |o| self.checkpoint.as_ref().map_or(0, |k| k.get(o));
        held.iter()
            .filter(|(o, _)| o.node == *me)
            .map(|(o, s)| s.saturating_sub(known(o)))
            .sum()
    }

    /// Replace the checkpoint.
    pub fn set_known(&mut self, v: &VersionVector) {
        self.checkpoint = Some(v.clone());
    }

    /// Add a session to the history, dropping the oldest beyond [`HISTORY`].
    pub fn record(&mut self, r: SyncRecord) {
        self.history.push_back(r);
        while self.history.len() > HISTORY {
            self.history.pop_front();
        }
    }
}

fn key(peer: &str) -> String {
    format!("peer/{peer}")
}

fn checkpoint_key(peer: &str) -> String {
    format!("checkpoint/{peer}")
}

/// Load what is remembered about `peer`.
pub fn load(store: &Store, peer: &NodeId) -> Result<PeerState> {
    let state = store
        .local(&key(&peer.to_string()))?
        .unwrap_or_else(|| PeerState {
            id: peer.to_string(),
            ..Default::default()
        });
    with_checkpoint(store, state)
}

fn with_checkpoint(store: &Store, mut state: PeerState) -> Result<PeerState> {
    let text = std::mem::take(&mut state.known);
    state.checkpoint = match store.local_bin(&checkpoint_key(&state.id))? {
        Some(v) => Some(v),
        None if !text.is_empty() => Some(from_text(&text)),
        None => None,
    };
    Ok(state)
}

/// A checkpoint an older release saved as text. Its ids are read back without checking their
/// curve points (see [`NodeId::from_recorded_text`]), as binary ones are: they only say what
/// not to send again, and no signature is ever verified against them.
fn from_text(known: &[(String, u32, u64)]) -> VersionVector {
    known
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

/// Save what is remembered about a peer, left for the caller to make durable: the checkpoint,
/// then the history. Two writes, not one batch: sled applies a batch under a lock that stops
/// every reader and writer of the process, and a hub wrote this twice a session (at 50 sites at
/// once, its processor time a session fell from 2.6 to 2.0 ms without it: docs/benchmarks.md,
/// round 20). sled recovers writes in order, so a crash between them can leave only the history
/// older than the checkpoint: a line of `report sites`. Only under [`crate::store::Core::updating_locals`],
/// with `state` read under the same hold ([`update_unflushed`]).
fn save_unflushed(store: &Store, state: &PeerState) -> Result<Unflushed> {
    let name = key(&state.id);
    if let Some(v) = &state.checkpoint {
        // The history's write comes after, so a flush that covers it covers this one too.
        let _covered = store.set_local_bin_unflushed(&checkpoint_key(&state.id), v)?;
    }
    store.set_local_unflushed(&name, state)
}

/// Save only the checkpoint of `peer`: what a session does each time it learns more of what the
/// peer holds, without reading and rewriting the history. The session makes it durable
/// ([`crate::store::Core::durable`]) without holding a thread for the flush.
pub fn save_checkpoint(store: &Store, peer: &NodeId, holds: &VersionVector) -> Result<Unflushed> {
    // Not between another writer's reading of the checkpoint and its writing it back (it
    // would put back the older one).
    let _alone = store.updating_locals();
    store.set_local_bin_unflushed(&checkpoint_key(&peer.to_string()), holds)
}

/// Change what is remembered about `peer`, durably, starting from what is stored now: a session
/// saves its checkpoint many times while other sessions or bundles with the same peer may save
/// theirs, and each keeps the others' history records instead of overwriting them with a copy
/// read when it began.
pub fn update(store: &Store, peer: &NodeId, change: impl FnOnce(&mut PeerState)) -> Result<()> {
    let written = update_unflushed(store, peer, change)?;
    store.durable_now(written)
}

/// [`update`], left for the caller to make durable: a sync session waits for the flush as a
/// task ([`crate::store::Core::durable`]) rather than holding a thread.
pub fn update_unflushed(
    store: &Store,
    peer: &NodeId,
    change: impl FnOnce(&mut PeerState),
) -> Result<Unflushed> {
    let _alone = store.updating_locals();
    let mut state = load(store, peer)?;
    change(&mut state);
    save_unflushed(store, &state)
}

/// Every peer this node remembers.
pub fn all(store: &Store) -> Result<Vec<PeerState>> {
    store
        .locals_with_prefix("peer/")?
        .into_iter()
        .map(|state| with_checkpoint(store, state))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_sync_protocol::NodeKey;

    fn store(dir: &std::path::Path) -> Store {
        Store::open_without_worker(dir, std::sync::Arc::new(crate::records::DocumentIndex)).unwrap()
    }

    fn id(n: u8) -> NodeId {
        NodeKey::from_bytes(&[n; 32]).id()
    }

    fn vector(origins: u8) -> VersionVector {
        (1..=origins)
            .map(|n| {
                (
                    Origin {
                        node: id(n),
                        epoch: u32::from(n % 3),
                    },
                    u64::from(n) * 7,
                )
            })
            .collect()
    }

    /// A checkpoint an older release saved as text in the JSON record is still read; the next
    /// save moves it to `checkpoint/ID` and drops the text, and both read back the same.
    #[test]
    fn a_checkpoint_saved_as_text_is_read_and_moved_to_the_binary_key() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let peer = id(99);
        let v = vector(5);
        let old = serde_json::json!({
            "id": peer.to_string(),
            "known": v.iter().map(|(o, s)| (o.node.to_string(), o.epoch, *s)).collect::<Vec<_>>(),
            "last_contact_ms": 5,
            "history": [],
        });
        store.set_local(&format!("peer/{peer}"), &old).unwrap();
        let state = load(&store, &peer).unwrap();
        assert_eq!(state.known_vector(), v);
        assert_eq!(state.last_contact_ms, Some(5));

        // Any update rewrites the record.
        update(&store, &peer, |_| {}).unwrap();
        let json: serde_json::Value = store.local(&format!("peer/{peer}")).unwrap().unwrap();
        assert_eq!(
            json.get("known"),
            Some(&serde_json::json!([])),
            "the text checkpoint is still written, or the field older releases need is gone: {json}"
        );
        let bin: Option<VersionVector> = store.local_bin(&format!("checkpoint/{peer}")).unwrap();
        assert_eq!(bin.as_ref(), Some(&v));
        assert_eq!(load(&store, &peer).unwrap().known_vector(), v);
        assert_eq!(all(&store).unwrap()[0].known_vector(), v);
    }

    /// A session's checkpoint saves change only the checkpoint; the history and contact time
    /// written before stay, and a later update keeps the newest checkpoint.
    #[test]
    fn saving_a_checkpoint_keeps_the_history() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let peer = id(42);
        update(&store, &peer, |s| {
            s.set_known(&vector(2));
            s.last_contact_ms = Some(10);
            s.record(SyncRecord {
                outcome: "complete".into(),
                ..Default::default()
            });
        })
        .unwrap();
        let _written = save_checkpoint(&store, &peer, &vector(200)).unwrap();
        let state = load(&store, &peer).unwrap();
        assert_eq!(state.known_vector(), vector(200));
        assert_eq!(state.last_contact_ms, Some(10));
        assert_eq!(state.history.len(), 1);

        update(&store, &peer, |s| s.last_success_ms = Some(11)).unwrap();
        let state = load(&store, &peer).unwrap();
        assert_eq!(state.known_vector(), vector(200));
        assert_eq!(state.last_success_ms, Some(11));
        assert_eq!(state.history.len(), 1);
        // A peer never saved: nothing known.
        assert!(load(&store, &id(7)).unwrap().known_vector().is_empty());
    }

    /// Sessions with the same peer overlap (a site reconnects while the hub's session of the cut
    /// connection is still ending): updates from many threads at once each keep the others'
    /// history records. Without one lock over read, change and write, a reader that read before
    /// another's write overwrites that record with its stale copy.
    #[test]
    fn concurrent_updates_of_one_peer_keep_every_history_record() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let peer = id(5);
        let (threads, each) = (8, 10);
        std::thread::scope(|s| {
            for t in 0..threads {
                let store = &store;
                s.spawn(move || {
                    for i in 0..each {
                        let _written = update_unflushed(store, &peer, |state| {
                            // Widen the window between reading and writing, as a busy machine
                            // preempting the thread would.
                            std::thread::sleep(std::time::Duration::from_millis(1));
                            state.record(SyncRecord {
                                started_ms: t * 1000 + i,
                                ..Default::default()
                            });
                        })
                        .unwrap();
                    }
                });
            }
        });
        let state = load(&store, &peer).unwrap();
        let mut seen: Vec<u64> = state.history.iter().map(|r| r.started_ms).collect();
        seen.sort_unstable();
        let all: Vec<u64> = (0..threads)
            .flat_map(|t| (0..each).map(move |i| t * 1000 + i))
            .collect();
        assert_eq!(seen, all, "history records lost to a concurrent update");
    }
}
