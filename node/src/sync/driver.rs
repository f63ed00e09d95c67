//! Running one sync session over a byte stream (TLS in production, anything in tests).
//!
//! The protocol crate decides everything; this loop only moves bytes, calls the store, checks
//! the peer's identity, and keeps the checkpoint as acknowledgements arrive and with the history
//! when the session ends — however it ends.
//!
//! The session's store work (reading feeds, verifying and appending what arrives, saving the
//! checkpoint) runs on the async worker itself: none of it waits for the disk, since its writes
//! return unflushed, and a turn of it is short. What would hold the worker long moves off it:
//! frames larger than [`INLINE_RECEIVE`], whose signatures take long to check, and a hub's
//! scope, which may wait for the site's queued batches to be derived. A session awaits its
//! flushes as a task; the store's flusher thread makes them, unless the session runs alone
//! ([`crate::store::Core::durable`]).
//! (The rare events that flush on their own — a new epoch after a restore, a fork of this
//! node's own feed — hold the worker for that one flush.) Each `block_in_place` hands the worker
//! to another thread, and a crowd of sessions calling it for every frame kept a thread each in
//! the hub and paid a thread switch per call: with the work on the workers, 200 sessions at once
//! ran 1.21–1.62× as fast (docs/benchmarks.md, issue 19, round 15).

use super::peer::{self, SyncRecord};
use super::scope::SiteScope;
use crate::error::{Error, RefusalKind, Result};
use crate::node::{Node, now_ms};
use crate::store::{SessionRunning, SyncStore, Unflushed};
use crate::transport::tls;
use cairn_sync_protocol::message::ErrorCode;
use cairn_sync_protocol::{
    Event, Everything, Fork, NodeId, Origin, Scope, Session, SessionConfig, SessionError,
    VersionVector,
};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Which end of a hub–site link this node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The hub, serving `site`.
    Hub {
        /// The site on the other end.
        site: NodeId,
    },
    /// A site, talking to its hub.
    Site,
}

/// Progress of a session, for people watching a long transfer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Whole entries received and stored so far.
    pub received: u64,
    /// Whole entries sent so far.
    pub sent: u64,
    /// Bytes received so far.
    pub bytes_received: u64,
    /// Bytes sent so far.
    pub bytes_sent: u64,
    /// Of the entries sent, their payloads' bytes (automerge changes, file chunks): what the
    /// wire bytes are measured against.
    #[serde(default)]
    pub payload_bytes_sent: u64,
}

impl From<cairn_sync_protocol::Stats> for Progress {
    fn from(s: cairn_sync_protocol::Stats) -> Progress {
        Progress {
            received: s.entries_stored,
            sent: s.entries_sent,
            bytes_received: s.bytes_received,
            bytes_sent: s.bytes_sent,
            payload_bytes_sent: s.payload_bytes_sent,
        }
    }
}

/// What a session did.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SyncReport {
    /// The peer.
    pub peer: String,
    /// Whether both sides finished.
    pub complete: bool,
    /// Final counters.
    pub progress: Progress,
    /// Entries that arrived twice (resent after a lost acknowledgement).
    pub duplicates: u64,
    /// Forks detected during the session.
    pub forks: Vec<String>,
    /// Runs refused (by either side), in words.
    pub refused: Vec<String>,
    /// Messages exchanged.
    pub messages: u64,
    /// Set when this site learned it was behind on its own feed and moved to a new epoch.
    pub new_epoch: Option<u32>,
}

/// Limits on waiting.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// Give up when the peer sends nothing for this long.
    pub idle: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            idle: Duration::from_secs(60),
        }
    }
}

fn session_error(e: SessionError) -> Error {
    match e {
        SessionError::Frame(f) => Error::invalid(format!("the peer sent malformed data: {f}")),
        SessionError::Chain(c) => Error::forged(format!(
            "the peer sent entries that failed verification: {c}"
        )),
        SessionError::Store(s) => Error::storage_msg(format!("storage failed during sync: {s}")),
        SessionError::Peer {
            code: ErrorCode::Unauthorized,
            detail,
        } => Error::unauthorized(format!("the peer refused: {detail}")),
        SessionError::Peer {
            code: ErrorCode::Internal,
            detail,
        } => Error::Unreachable(format!("the peer failed: {detail}")),
        other => Error::refused(RefusalKind::Invalid, other.to_string()),
    }
}

/// Classify a connection failure. In TLS 1.3 the server checks the client's certificate after
/// the client's handshake completes, so a hub refusing a site shows up on the site's first read
/// as a TLS alert — that is a refusal (exit 3), not an unreachable peer (exit 5).
pub fn io_error(e: std::io::Error) -> Error {
    let refused = tls::alert_received(&e)
        || e.get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .is_some_and(|r| matches!(r, rustls::Error::InvalidCertificate(_)));
    if refused {
        Error::unauthorized(format!(
            "the peer refused the connection ({e}); this site may not be admitted, or it was revoked"
        ))
    } else {
        Error::Unreachable(format!("the connection failed: {e}"))
    }
}

/// How long a failed write waits for the alert that may explain it.
const ALERT_WAIT: Duration = Duration::from_secs(2);

/// Classify a failed write. A site sends its first flight right after its side of the TLS 1.3
/// handshake, before the hub has checked its certificate; if the hub refused it, the refusal is
/// an alert waiting to be read, and the write may fail first (the hub closed, or reset a
/// connection with data it never read). So read once, briefly, before calling the peer
/// unreachable.
async fn write_error<S: AsyncRead + Unpin>(stream: &mut S, e: std::io::Error) -> Error {
    let mut buf = [0u8; 4096];
    match tokio::time::timeout(ALERT_WAIT, stream.read(&mut buf)).await {
        Ok(Err(read)) if tls::alert_received(&read) => io_error(read),
        _ => io_error(e),
    }
}

/// Run one session with `peer` over `stream`. The checkpoint is saved as the session learns it
/// (see [`Checkpoint`]) and with a history record when it ends, however it ends.
///
/// `_running` is the caller's proof that it counts the session as running
/// ([`crate::store::Core::session_running`]) for at least as long as this call: background
/// derivation and upkeep wait while sessions run (`Core::wait_for_lull`), and the flusher stops
/// waiting for more writes once every session running waits for one (`Core::durable`). The
/// caller decides from when: a hub's session from before its hook (`hub::serve_one`), a site's
/// from its connection (`site::sync_once`).
pub async fn run<S: AsyncRead + AsyncWrite + Unpin>(
    node: &Node,
    _running: &SessionRunning<'_>,
    stream: &mut S,
    peer: NodeId,
    side: Side,
    timing: Timing,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<SyncReport> {
    let started = now_ms();
    let state = peer::load(&node.store, &peer)?;
    // Entries carried by a bundle not yet confirmed: assume they arrive (see bundle::export).
    let promised: Option<cairn_sync_protocol::VersionVector> =
        node.store.local_bin(&format!("bundle_promised/{peer}"))?;
    let known = state.known_vector();
    let mut basis = known.clone();
    if let Some(p) = &promised {
        for (o, s) in p.iter() {
            basis.raise(*o, *s);
        }
    }
    let mut scope: Box<dyn Scope + Send> = match side {
        // It may wait for the site's own queued batches to be derived. What it notes is bounded
        // by where the site is known to stand.
        Side::Hub { site } => Box::new(tokio::task::block_in_place(|| {
            SiteScope::new(&node.store, node.id(), site, &basis)
        })?),
        Side::Site => Box::new(Everything),
    };
    let basis = Some(basis).filter(|v| !v.is_empty());
    let config = match side {
        Side::Hub { .. } => SessionConfig {
            accept_elided: false,
            vouch_key: Some(node.key.clone()),
            known_peer: basis,
            ..SessionConfig::default()
        },
        Side::Site => SessionConfig {
            accept_elided: true,
            trusted_relay: Some(peer),
            known_peer: basis,
            ..SessionConfig::default()
        },
    };
    let mut session = Session::new(config, node.id());
    let mut watch = Watch {
        peer,
        side,
        own_tip_at_start: node.own_tip()?,
        report: SyncReport {
            peer: peer.to_string(),
            ..Default::default()
        },
        checkpoint: Checkpoint::new(peer, known),
    };
    let result = exchange(
        node,
        stream,
        timing,
        &mut session,
        scope.as_mut(),
        &mut watch,
        progress,
    )
    .await;
    let mut report = watch.report;

    // Keep what was acknowledged, whatever happened.
    let stats = session.stats();
    report.progress = Progress::from(stats);
    report.messages = stats.messages_sent + stats.messages_received;
    report.complete = result.is_ok() && session.is_finished();
    if report.complete && promised.is_some() {
        // The peer's own Hello and acknowledgements are now the authority. (Until a session
        // completes, the promise stays: saved checkpoints come only from the peer's Hello and
        // acknowledgements, and the next session raises them by the promise again.)
        node.store
            .remove_local(&format!("bundle_promised/{peer}"))?;
    }
    let record = SyncRecord {
        started_ms: started,
        ended_ms: now_ms(),
        via: "tls".into(),
        sent: stats.entries_sent,
        received: stats.entries_stored,
        bytes_sent: stats.bytes_sent,
        bytes_received: stats.bytes_received,
        duplicates: report.duplicates,
        outcome: match &result {
            Ok(()) => "complete".into(),
            Err(e) => e.to_string(),
        },
    };
    let holds = session.peer().is_some().then(|| session.peer_holds());
    let complete = report.complete;
    let written = peer::update_unflushed(&node.store, &peer, |state| {
        if let Some(holds) = holds {
            state.set_known(holds);
            state.last_contact_ms = Some(now_ms());
        }
        if complete {
            state.last_success_ms = Some(now_ms());
        }
        state.record(record);
    })?;
    // A site waits, so that what `cairn sync` reports is what its store shows after a crash
    // (this also covers a checkpoint it saved and did not wait for: it ended first). A hub does
    // not: its record of the site is for `status` and bundles, never for choosing what to send
    // (an answering session uses the site's `Hello`), so losing the last of it in a crash costs
    // nothing the site is owed, and a crowd's sessions need not each wait for a flush as they
    // end. It reaches the disk with the next flush, sled's own within half a second, or the
    // store's close.
    if matches!(side, Side::Site) {
        node.store.durable(written).await?;
    }
    result.map(|()| report)
}

/// Most bytes a session handles on the async worker in one call of `receive` (what was buffered
/// and what was just read): a crowd's small batches, a few hundred signatures to check at most
/// (each entry carries 96 bytes no compression removes). Larger input moves off the worker.
const INLINE_RECEIVE: usize = 64 * 1024;

/// Most often a session saves the checkpoint while acknowledgements arrive. Each save is one
/// small write and a flush of the store; a session sending over a fast link is acknowledged
/// hundreds of times a second, so saving on each would cost more than the sending. Killed at any
/// moment, a session loses at most this long of acknowledgements (those entries are sent again).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

/// What the peer is known to hold, kept durably as the session learns it — at once when the
/// last save is [`CHECKPOINT_EVERY`] ago (so the peer's `Hello`, when it tells something new, is
/// saved at once), else that long after it — so a session that is cut, or a process that is
/// killed, does not make the next session resend what was acknowledged.
struct Checkpoint {
    peer: NodeId,
    /// What was last saved (or loaded).
    saved: VersionVector,
    /// When it was last saved.
    saved_at: Option<Instant>,
    /// The session knows more than was saved.
    unsaved: bool,
    /// The last save, if it is not yet known to be durable.
    unflushed: Option<Unflushed>,
}

impl Checkpoint {
    fn new(peer: NodeId, saved: VersionVector) -> Checkpoint {
        Checkpoint {
            peer,
            saved,
            saved_at: None,
            unsaved: false,
            unflushed: None,
        }
    }

    /// The session may have learned more of what the peer holds: save it if it did and the
    /// last save is long enough ago, else leave it for [`Checkpoint::due`]. Nothing is written
    /// while nothing changes (a peer whose `Hello` matches the checkpoint, as after a clean end).
    fn learned(&mut self, node: &Node, session: &Session) -> Result<()> {
        if *session.peer_holds() == self.saved {
            return Ok(());
        }
        self.unsaved = true;
        if self.due().is_some_and(|at| at <= Instant::now()) {
            self.save(node, session)?;
        }
        Ok(())
    }

    /// When the unsaved part is due to be saved, if there is one.
    fn due(&self) -> Option<Instant> {
        self.unsaved.then(|| {
            self.saved_at
                .map_or_else(Instant::now, |at| at + CHECKPOINT_EVERY)
        })
    }

    /// A store write that does not wait for the disk: left in `unflushed`, for a site's session
    /// to make durable as a task before it sends anything more (a hub's never waits for it; see
    /// [`made_durable`]).
    fn save(&mut self, node: &Node, session: &Session) -> Result<()> {
        let holds = session.peer_holds();
        if self.saved_at.is_none() {
            // The session's first save (the peer's Hello): the contact time too, so a session
            // killed before its end still leaves a record of the peer.
            self.unflushed = Some(peer::update_unflushed(&node.store, &self.peer, |state| {
                state.set_known(holds);
                state.last_contact_ms = Some(now_ms());
            })?);
        } else {
            // Later saves write the checkpoint alone; the history record is written once, as
            // the session ends.
            self.unflushed = Some(peer::save_checkpoint(&node.store, &self.peer, holds)?);
        }
        self.saved = holds.clone();
        self.saved_at = Some(Instant::now());
        self.unsaved = false;
        Ok(())
    }
}

/// What the driver keeps beside the session while it runs.
struct Watch {
    /// Who the transport authenticated: the peer's `Hello` must name the same node.
    peer: NodeId,
    side: Side,
    /// How far this node's own feed reached before the session: the hub's entries of it,
    /// arriving in the same read as the hub's Hello, must not hide that the store was restored.
    own_tip_at_start: u64,
    report: SyncReport,
    checkpoint: Checkpoint,
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    node: &Node,
    stream: &mut S,
    timing: Timing,
    session: &mut Session,
    // `&mut` so the future stays `Send`: scopes are `Send` but not `Sync`.
    scope: &mut (dyn Scope + Send),
    watch: &mut Watch,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<()> {
    let mut store = SyncStore::deferring(&node.store);
    // A hub answers the site's `Hello` with one naming only the feeds the site may receive or
    // holds: what a session carries, and what the site compares and keeps, then does not grow
    // with the program's sites (the hub still reads every feed's tip, to choose).
    match watch.side {
        Side::Hub { .. } => session.start_answering(&store, &*scope, now_ms()),
        Side::Site => session.start(&store, now_ms()),
    }
    .map_err(session_error)?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut last_progress = std::time::Instant::now();
    loop {
        // What the last turn wrote reaches the disk before the peer is told of it.
        made_durable(node, &mut store, watch).await?;
        // Send everything the session has for the peer now.
        let mut wrote = false;
        loop {
            let frame = session.poll_transmit(&store, &*scope);
            match frame {
                Ok(Some(f)) => {
                    if let Err(e) = stream.write_all(&f).await {
                        return Err(write_error(stream, e).await);
                    }
                    wrote = true;
                }
                Ok(None) => break,
                Err(e) => {
                    // Tell the peer why before giving up.
                    while let Ok(Some(f)) = session.poll_transmit(&store, &*scope) {
                        let _ = stream.write_all(&f).await;
                    }
                    let _ = stream.flush().await;
                    return Err(session_error(e));
                }
            }
        }
        if wrote && let Err(e) = stream.flush().await {
            return Err(write_error(stream, e).await);
        }
        watch.handle_events(node, session)?;
        if session.is_finished() {
            let _ = stream.shutdown().await;
            return Ok(());
        }
        let read = loop {
            let read = tokio::time::timeout(timing.idle, stream.read(&mut buf));
            // Acknowledgements that arrived just after a save are saved soon after, even if
            // nothing more arrives. (Reading is cancel-safe: nothing read is lost.)
            let Some(due) = watch.checkpoint.due() else {
                break read.await;
            };
            tokio::select! {
                r = read => break r,
                _ = tokio::time::sleep_until(due.into()) => {
                    watch.checkpoint.save(node, session)?;
                    made_durable(node, &mut store, watch).await?;
                }
            }
        };
        let n = match read {
            Err(_) => {
                return Err(Error::Unreachable(format!(
                    "the peer sent nothing for {} s",
                    timing.idle.as_secs()
                )));
            }
            Ok(Err(e)) => return Err(io_error(e)),
            Ok(Ok(0)) => {
                return Err(Error::Unreachable(
                    "the peer closed the connection before the sync finished".into(),
                ));
            }
            Ok(Ok(n)) => n,
        };
        // A large frame (an initial sync's batches, up to 16 MiB from a hostile peer) can hold
        // thousands of signatures to check: that work moves off the worker, so it cannot hold
        // back the other sessions on it.
        let received = if session.buffered_input() + n <= INLINE_RECEIVE {
            session.receive(&buf[..n], &mut store)
        } else {
            tokio::task::block_in_place(|| session.receive(&buf[..n], &mut store))
        };
        if let Err(e) = received {
            // Entries stored before the bad frame may be acknowledged in what is sent now.
            made_durable(node, &mut store, watch).await?;
            while let Ok(Some(f)) = session.poll_transmit(&store, &*scope) {
                let _ = stream.write_all(&f).await;
            }
            let _ = stream.flush().await;
            watch.handle_events(node, session)?;
            return Err(session_error(e));
        }
        // At once, not after the next writes: on a slow link they can take seconds.
        watch.handle_events(node, session)?;
        if last_progress.elapsed() > Duration::from_millis(200) {
            progress(Progress::from(session.stats()));
            last_progress = std::time::Instant::now();
        }
    }
}

/// Wait, as a task, until what the session wrote since it last asked is durable: the entries it
/// appended (which its next frames may acknowledge) and, at a site, its checkpoint of the hub
/// (which a site's next session starts from). A hub's checkpoint of a site is not waited for:
/// an answering hub never uses it to choose what to send (see [`run`]). Many sessions share
/// one flush, made by the store's flusher thread; a lone session makes its own
/// ([`crate::store::Core::durable`]).
async fn made_durable(node: &Node, store: &mut SyncStore<'_>, watch: &mut Watch) -> Result<()> {
    let checkpoint = watch.checkpoint.unflushed.take();
    let latest = match watch.side {
        Side::Site => store.take_unflushed().max(checkpoint),
        Side::Hub { .. } => store.take_unflushed(),
    };
    match latest {
        Some(written) => node.store.durable(written).await,
        None => Ok(()),
    }
}

impl Watch {
    fn handle_events(&mut self, node: &Node, session: &mut Session) -> Result<()> {
        while let Some(event) = session.poll_event() {
            match event {
                Event::PeerHello {
                    node: claimed,
                    vector,
                    frozen,
                    ..
                } => {
                    if claimed != self.peer {
                        return Err(Error::forged(format!(
                            "the peer authenticated as {} but introduced itself as {claimed}",
                            self.peer
                        )));
                    }
                    if self.side == Side::Site
                        && let Some(epoch) =
                            restore_safety(node, &vector, &frozen, self.own_tip_at_start)?
                    {
                        self.report.new_epoch = Some(epoch);
                    }
                    self.checkpoint.learned(node, session)?;
                }
                Event::PeerHolds { .. } => self.checkpoint.learned(node, session)?,
                Event::Duplicate {
                    first_seq,
                    last_seq,
                    ..
                } => self.report.duplicates += last_seq - first_seq + 1,
                Event::Fork(f) => {
                    self.report.forks.push(describe_fork(&f));
                    tracing::error!("{}", describe_fork(&f));
                    if f.origin.node == node.id() {
                        note_own_fork(node, &f.origin)?;
                        if f.origin.epoch == node.epoch()? {
                            self.report.new_epoch = Some(node.start_new_epoch(&[])?);
                        }
                    }
                }
                Event::Refused { origin, refusal } => self
                    .report
                    .refused
                    .push(format!("refused {refusal:?} for {origin}")),
                Event::PeerRefused { origin, refusal } => self
                    .report
                    .refused
                    .push(format!("peer refused {refusal:?} for {origin}")),
                Event::CannotSend { origin, seq } => {
                    self.report
                        .refused
                        .push(format!("could not send {origin} from {seq}"));
                }
                Event::Stored { .. } | Event::Finished => {}
            }
        }
        Ok(())
    }
}

fn describe_fork(f: &Fork) -> String {
    format!(
        "fork: {} signed two different entries at position {}; that feed is frozen",
        f.origin, f.seq
    )
}

/// A site whose own feed the hub holds further than its disk does was restored from an older
/// copy (or its store was replaced). Writing more under the same origin would fork it, so move to
/// a new epoch at once; the session brings the missing tail of the old feed back.
///
/// `local` is how far the own feed reached before this exchange began (entries of it received
/// from the hub since then do not count). Returns the new epoch, if one was started.
pub(crate) fn restore_safety(
    node: &Node,
    hub_vector: &cairn_sync_protocol::VersionVector,
    frozen: &[Origin],
    local: u64,
) -> Result<Option<u32>> {
    let me = node.id();
    let epoch = node.epoch()?;
    let own = Origin { node: me, epoch };
    let hub_epochs: Vec<u32> = hub_vector
        .iter()
        .filter(|(o, _)| o.node == me)
        .map(|(o, _)| o.epoch)
        .collect();
    let behind = hub_vector.get(&own) > local;
    let later_epoch = hub_epochs.iter().any(|e| *e > epoch);
    for origin in frozen.iter().filter(|o| o.node == me) {
        note_own_fork(node, origin)?;
    }
    if behind || later_epoch || frozen.contains(&own) {
        tracing::warn!(
            "the hub holds more of this node's feed than its store does (restored from a backup?)"
        );
        return Ok(Some(node.start_new_epoch(&hub_epochs)?));
    }
    Ok(None)
}

/// Remember that one of this node's own feeds forked, for `cairn status`: entries this node
/// wrote in that feed after the fork point are held here but were refused by the hub.
fn note_own_fork(node: &Node, origin: &Origin) -> Result<()> {
    let mut forks: Vec<u32> = node.store.local("own_forks")?.unwrap_or_default();
    if !forks.contains(&origin.epoch) {
        forks.push(origin.epoch);
        node.store.set_local("own_forks", &forks)?;
    }
    Ok(())
}
