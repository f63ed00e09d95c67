//! The sync session as a state machine without I/O.
//!
//! Both sides run the same machine. Each sends `Hello` with what it holds as soon as the
//! session starts (or one side answers the other's `Hello` with its own, naming only what its
//! scope sends and what the peer holds: [`Session::start_answering`]); from the peer's `Hello`
//! each computes what the peer lacks and streams it in
//! batches, at most `window` unacknowledged at a time. The receiver verifies a batch, stores it
//! durably, then acknowledges; the acknowledged vector is the checkpoint the caller persists, so
//! an interrupted session resumes without resending anything acknowledged. A side that knows
//! from a previous session what the peer holds may send its first batches together with `Hello`
//! (optimistically), so syncing one new entry takes one round trip. A side that may have something
//! the peer lacks ends its sending with `Done`; when both vectors are equal nothing but the two
//! `Hello`s crosses the link: one round trip.
//!
//! The caller feeds received bytes to [`Session::receive`], sends what [`Session::poll_transmit`]
//! returns, handles [`Session::poll_event`], and closes when [`Session::is_finished`]. Storage is
//! passed in on each call; the clock is a number the caller supplies.

use crate::chain::{ChainError, FeedItem, verify_run};
use crate::entry::{Auth, BodyRef, Origin, vouch_message};
use crate::frame::{FrameDecoder, FrameError, encode_frame, encode_frame_with};
use crate::identity::{NodeId, NodeKey};
use crate::limits::Limits;
use crate::message::{
    Ack, Batch, ErrorCode, ErrorMessage, Hello, Item, Message, PROTOCOL_VERSION, Refusal, Run,
    Skip, WireAuth, WireEntry,
};
use crate::store::{Classified, Fork, LogStore, PeerItem, classify};
use crate::vector::VersionVector;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Which entries carry their own signature on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignaturePolicy {
    /// Every entry whose signature the sender holds.
    EveryEntry,
    /// Only where needed: the last entry of each stretch of whole entries. One signature covers
    /// the stretch through the hash chain.
    Amortized,
}

/// How a session behaves.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// Limits on frames and payloads.
    pub limits: Limits,
    /// Target size of one batch, in payload bytes.
    pub batch_bytes: usize,
    /// Most entries in one batch.
    pub batch_entries: usize,
    /// Most unacknowledged batches in flight.
    pub window: usize,
    /// Which entries carry their own signature when sent.
    pub signatures: SignaturePolicy,
    /// The node whose vouches this side accepts (a site's hub), if any.
    pub trusted_relay: Option<NodeId>,
    /// This side's key, if it may vouch for entries it relays without holding their signature.
    pub vouch_key: Option<NodeKey>,
    /// Whether this side stores elided ranges (a partial replica) or needs everything whole.
    pub accept_elided: bool,
    /// What the peer was acknowledged to hold at the end of the last session, if known: this
    /// side then sends what the peer lacks right away instead of waiting for its `Hello`.
    pub known_peer: Option<VersionVector>,
    /// Whether batches go DEFLATE-compressed (see [`crate::frame`]).
    pub compress: bool,
    /// Fewest entries the scope must know hidden ([`Scope::hidden_until`]) for the session to
    /// pass over them unread: a shorter stretch costs a read of its own, where reading on in
    /// the chunk at hand is cheaper.
    pub pass_over_at_least: u64,
}

/// The first batch's size target: 1/16 of the configured size, at least 4 KiB.
fn config_batch_start(config: &SessionConfig) -> usize {
    (config.batch_bytes / 16)
        .max(4096)
        .min(config.batch_bytes.max(1))
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            limits: Limits::default(),
            batch_bytes: 256 * 1024,
            batch_entries: 2048,
            window: 4,
            signatures: SignaturePolicy::Amortized,
            trusted_relay: None,
            vouch_key: None,
            accept_elided: true,
            known_peer: None,
            compress: true,
            pass_over_at_least: 16,
        }
    }
}

/// Decides what a peer may receive (partial replication). The default sends everything.
pub trait Scope {
    /// Whether to send this origin's feed at all.
    fn send_origin(&self, _origin: &Origin) -> bool {
        true
    }
    /// Whether the peer may see entry `seq` of `origin`, with this body, whole; otherwise it is
    /// sent elided. Where the entry is lets a scope answer from what it read when the session
    /// began, for entries that were in the log by then.
    fn visible(&self, _origin: &Origin, _seq: u64, _body: &BodyRef<'_>) -> bool {
        true
    }
    /// How far entries of `origin` from `seq` on are known not visible without reading them:
    /// `n > seq` promises that [`Scope::visible`] says no to every entry `seq..n`, and that
    /// this node holds them whole (its own feed). Once at least
    /// [`SessionConfig::pass_over_at_least`] are known, the session elides them reading only
    /// the last (for its place in the chain, then for its body's hash) instead of reading and
    /// asking about each: a hub's feed holds the program's copies of every site's awards, and a
    /// session with one site would otherwise pass over all the others'. The default, `seq`,
    /// knows nothing; every entry is read and asked about.
    fn hidden_until(&self, _origin: &Origin, seq: u64) -> u64 {
        seq
    }
}

/// A scope that sends everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct Everything;
impl Scope for Everything {}

/// Something the caller should know about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The peer introduced itself. The caller must check `node` against the transport identity.
    PeerHello {
        /// The peer's node id.
        node: NodeId,
        /// What the peer holds.
        vector: VersionVector,
        /// The peer's wall clock when it started.
        clock_ms: u64,
        /// Origins the peer froze after forks.
        frozen: Vec<Origin>,
    },
    /// Entries from the peer were verified and stored.
    Stored {
        /// The feed.
        origin: Origin,
        /// First stored sequence number.
        first_seq: u64,
        /// Last stored sequence number.
        last_seq: u64,
        /// Whole entries among them (the rest were elided).
        entries: u64,
    },
    /// Entries from the peer were already held (resent after a lost acknowledgement).
    Duplicate {
        /// The feed.
        origin: Origin,
        /// First resent sequence number.
        first_seq: u64,
        /// Last resent sequence number.
        last_seq: u64,
    },
    /// This side refused a run from the peer (not an error).
    Refused {
        /// The feed.
        origin: Origin,
        /// Why.
        refusal: Refusal,
    },
    /// A fork: the origin is now frozen here.
    Fork(Fork),
    /// The peer acknowledged holding `seq` of `origin`: persist as the checkpoint.
    PeerHolds {
        /// The feed.
        origin: Origin,
        /// Highest sequence the peer holds.
        seq: u64,
    },
    /// The peer refused a run this side sent; this side stops sending that origin.
    PeerRefused {
        /// The feed.
        origin: Origin,
        /// Why.
        refusal: Refusal,
    },
    /// This side cannot send part of a feed (it holds it elided, or lacks signatures for it).
    CannotSend {
        /// The feed.
        origin: Origin,
        /// The first entry that could not be sent.
        seq: u64,
    },
    /// Both sides are done.
    Finished,
}

/// Why a session ended early.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// Bytes from the peer were not a valid frame or message.
    #[error("the peer sent malformed data: {0}")]
    Frame(#[from] FrameError),
    /// Entries from the peer failed verification.
    #[error("the peer sent entries that failed verification: {0}")]
    Chain(#[from] ChainError),
    /// The peer broke the protocol's rules.
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// The peer speaks another version.
    #[error("the peer speaks protocol version {theirs}; this node speaks {ours}")]
    IncompatibleVersion {
        /// Ours.
        ours: u16,
        /// Theirs.
        theirs: u16,
    },
    /// The peer ended the session.
    #[error("the peer ended the session ({code:?}): {detail}")]
    Peer {
        /// The peer's reason.
        code: ErrorCode,
        /// The peer's explanation.
        detail: String,
    },
    /// Local storage failed; nothing from the failed step was acknowledged.
    #[error("storage failed: {0}")]
    Store(Box<dyn std::error::Error + Send + Sync>),
    /// The session already failed.
    #[error("the session already ended with an error")]
    Closed,
}

impl SessionError {
    fn code(&self) -> ErrorCode {
        match self {
            SessionError::Frame(_) => ErrorCode::Malformed,
            SessionError::Chain(_) => ErrorCode::Forged,
            SessionError::Protocol(_) | SessionError::Closed | SessionError::Peer { .. } => {
                ErrorCode::Protocol
            }
            SessionError::IncompatibleVersion { .. } => ErrorCode::IncompatibleVersion,
            SessionError::Store(_) => ErrorCode::Internal,
        }
    }
}

/// The first 8 bytes of a hash, as sent in `Hello`.
pub fn fingerprint(hash: &crate::hash::Hash32) -> [u8; 8] {
    let mut f = [0u8; 8];
    f.copy_from_slice(&hash.0[..8]);
    f
}

fn store_err<E: std::error::Error + Send + Sync + 'static>(e: E) -> SessionError {
    SessionError::Store(Box::new(e))
}

/// Counters for reporting and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Bytes handed to `receive`.
    pub bytes_received: u64,
    /// Bytes returned by `poll_transmit`.
    pub bytes_sent: u64,
    /// Messages sent.
    pub messages_sent: u64,
    /// Messages received.
    pub messages_received: u64,
    /// Whole entries sent.
    pub entries_sent: u64,
    /// Whole entries received and stored.
    pub entries_stored: u64,
    /// Entries received that were already held.
    pub entries_duplicate: u64,
    /// Entry payload bytes sent.
    pub payload_bytes_sent: u64,
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum State {
    New,
    Running,
    Finished,
    Failed,
}

#[derive(Debug)]
struct Peer {
    node: NodeId,
    /// The peer expects `Done` from us: it may lack something we hold.
    expects_done: bool,
    /// We expect `Done` from the peer: it may hold something we lack.
    owes_done: bool,
}

#[derive(Debug)]
struct InFlight {
    id: u64,
    /// Each run's origin and last sequence number.
    runs: Vec<(Origin, u64)>,
    /// Whether finishing waits for its acknowledgement. Not for a batch sent optimistically
    /// whose entries the peer's `Hello` then showed it holds: the peer owes nothing and may
    /// finish, and close the connection, without reading it.
    awaited: bool,
}

/// One sync session with one peer.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    /// Current batch size target: starts small and doubles with every acknowledgement up to
    /// `config.batch_bytes` (slow start). On a slow link that is cut often, a session then has
    /// something acknowledged — and kept — within seconds, instead of losing a whole large
    /// batch to every cut.
    batch_now: usize,
    me: NodeId,
    state: State,
    decoder: FrameDecoder,
    outbox: VecDeque<Vec<u8>>,
    events: VecDeque<Event>,
    peer: Option<Peer>,
    /// What this side holds at the start: it sends up to here.
    target: VersionVector,
    /// Fingerprints of this side's tips, in `target` order.
    tips: Vec<[u8; 8]>,
    frozen: Vec<Origin>,
    /// Next sequence to send per origin.
    next: BTreeMap<Origin, u64>,
    /// Acks for batches up to this id predate a resend decision and must not trigger another.
    resend_barrier: BTreeMap<Origin, u64>,
    /// First sequence sent per origin in this session.
    sent_from: BTreeMap<Origin, u64>,
    stopped: BTreeSet<Origin>,
    inflight: VecDeque<InFlight>,
    next_batch: u64,
    last_received_batch: Option<u64>,
    done_sent: bool,
    peer_done: bool,
    peer_holds: VersionVector,
    stats: Stats,
    /// The wall clock given at the start, for `Hello`.
    clock_ms: u64,
    /// Set while this side waits to answer the peer's `Hello` (see
    /// [`Session::start_answering`]).
    answer: Option<Answer>,
}

/// What an answering side keeps until the peer's `Hello` arrives.
#[derive(Debug)]
struct Answer {
    /// Everything this side holds: a feed the peer names is added to what `Hello` names.
    held: BTreeMap<Origin, crate::store::Tip>,
}

impl Session {
    /// A new session for node `me`.
    pub fn new(config: SessionConfig, me: NodeId) -> Self {
        let batch_now = config_batch_start(&config);
        Session {
            decoder: FrameDecoder::new(config.limits),
            config,
            me,
            state: State::New,
            outbox: VecDeque::new(),
            events: VecDeque::new(),
            peer: None,
            target: VersionVector::new(),
            tips: Vec::new(),
            frozen: Vec::new(),
            next: BTreeMap::new(),
            resend_barrier: BTreeMap::new(),
            sent_from: BTreeMap::new(),
            stopped: BTreeSet::new(),
            inflight: VecDeque::new(),
            next_batch: 1,
            last_received_batch: None,
            done_sent: false,
            peer_done: false,
            peer_holds: VersionVector::new(),
            stats: Stats::default(),
            batch_now,
            clock_ms: 0,
            answer: None,
        }
    }

    /// Begin: queue `Hello` (and, with `known_peer`, the first batches). `now_ms` is the wall
    /// clock, sent for drift reporting only.
    pub fn start<S: LogStore + ?Sized>(
        &mut self,
        store: &S,
        now_ms: u64,
    ) -> Result<(), SessionError> {
        let held = self.begin(store, now_ms)?;
        self.advertise(&held, |_| true);
        if let Some(known) = &self.config.known_peer {
            for (origin, &seq) in self.target.iter() {
                let have = known.get(origin);
                if have < seq {
                    self.next.insert(*origin, have + 1);
                }
            }
        }
        self.queue_hello()
    }

    /// Begin as the side that answers: its `Hello` waits for the peer's and names only the feeds
    /// `scope` sends the peer plus those the peer's `Hello` names, so what it carries (and what
    /// the peer decodes, compares and keeps as its checkpoint) grows with what the peer may
    /// receive, not with everything this side holds. A hub answers its sites: what a site's
    /// session carries and keeps no longer grows with the program's sites (the hub still reads
    /// every feed's tip once, to choose).
    ///
    /// The peer learns nothing false: every feed it holds is named with this side's position in
    /// it (or left out because this side holds none of it), and the feeds left out are ones
    /// `scope` would not send it anyway. The answer costs no round trip where the peer's `Hello`
    /// arrives with its first flight, as a site's does right after the TLS handshake. Only one
    /// side of a session may answer; `known_peer` is not used (the peer's `Hello` comes first).
    pub fn start_answering<S: LogStore + ?Sized, F: Scope + ?Sized>(
        &mut self,
        store: &S,
        scope: &F,
        now_ms: u64,
    ) -> Result<(), SessionError> {
        let held = self.begin(store, now_ms)?;
        self.advertise(&held, |origin| scope.send_origin(origin));
        self.answer = Some(Answer { held });
        Ok(())
    }

    /// What both ways of starting share: this side's feeds and frozen origins, read once.
    fn begin<S: LogStore + ?Sized>(
        &mut self,
        store: &S,
        now_ms: u64,
    ) -> Result<BTreeMap<Origin, crate::store::Tip>, SessionError> {
        if self.state != State::New {
            return Err(SessionError::Protocol("session started twice".into()));
        }
        let held = store.tips().map_err(store_err)?.into_iter().collect();
        self.frozen = store.frozen().map_err(store_err)?;
        self.clock_ms = now_ms;
        self.state = State::Running;
        Ok(held)
    }

    /// Name in `Hello`, and send up to, the feeds of `held` that `include` selects.
    fn advertise(
        &mut self,
        held: &BTreeMap<Origin, crate::store::Tip>,
        include: impl Fn(&Origin) -> bool,
    ) {
        self.target = held
            .iter()
            .filter(|(origin, _)| include(origin))
            .map(|(origin, tip)| (*origin, tip.seq))
            .collect();
        // In the vector's order, which the peer pairs them with.
        self.tips = self
            .target
            .iter()
            .map(|(origin, _)| fingerprint(&held.get(origin).map(|t| t.hash).unwrap_or_default()))
            .collect();
    }

    fn queue_hello(&mut self) -> Result<(), SessionError> {
        self.queue(&Message::Hello(Hello {
            protocol: PROTOCOL_VERSION,
            node: self.me,
            clock_ms: self.clock_ms,
            vector: self.target.clone(),
            frozen: self.frozen.clone(),
            tips: self.tips.clone(),
        }))
    }

    /// The peer's node id, once its `Hello` arrived.
    pub fn peer(&self) -> Option<NodeId> {
        self.peer.as_ref().map(|p| p.node)
    }

    /// What the peer is known to hold: its `Hello` vector, raised by its acknowledgements. This
    /// is the checkpoint to persist and pass as `known_peer` next time.
    pub fn peer_holds(&self) -> &VersionVector {
        &self.peer_holds
    }

    /// Counters so far.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// True when both sides are done and everything queued was handed out.
    pub fn is_finished(&self) -> bool {
        self.state == State::Finished && self.outbox.is_empty()
    }

    /// True when the session ended with an error.
    pub fn is_failed(&self) -> bool {
        self.state == State::Failed
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Bytes received and not yet handled: the start of a frame still arriving. With the bytes
    /// about to be passed to [`Session::receive`], a bound on the frames that call can complete,
    /// for a caller deciding where to run it.
    pub fn buffered_input(&self) -> usize {
        self.decoder.buffered()
    }

    /// Handle bytes received from the peer. On error the session fails and queues an `Error`
    /// message for the peer (send what `poll_transmit` returns, then close).
    pub fn receive<S: LogStore + ?Sized>(
        &mut self,
        bytes: &[u8],
        store: &mut S,
    ) -> Result<(), SessionError> {
        if self.state == State::Failed {
            return Err(SessionError::Closed);
        }
        self.stats.bytes_received += bytes.len() as u64;
        self.decoder.push(bytes);
        loop {
            let msg = match self.decoder.next_message() {
                Ok(Some(m)) => m,
                Ok(None) => break,
                Err(e) => return self.fail(e.into()),
            };
            self.stats.messages_received += 1;
            if let Err(e) = self.handle(msg, store) {
                return self.fail(e);
            }
        }
        self.check_finished();
        Ok(())
    }

    /// The next bytes to send to the peer, if any. Builds batches lazily from `store` within
    /// the window, filtered by `scope`.
    pub fn poll_transmit<S: LogStore + ?Sized, F: Scope + ?Sized>(
        &mut self,
        store: &S,
        scope: &F,
    ) -> Result<Option<Vec<u8>>, SessionError> {
        if let Some(frame) = self.outbox.pop_front() {
            self.stats.bytes_sent += frame.len() as u64;
            return Ok(Some(frame));
        }
        if self.state != State::Running {
            return Ok(None);
        }
        // An answering side sends nothing before its `Hello`, which answers the peer's.
        let may_send =
            self.peer.is_some() || (self.config.known_peer.is_some() && self.answer.is_none());
        if may_send && self.inflight.len() < self.config.window.max(1) {
            match self.build_batch(store, scope) {
                Ok(Some(batch)) => {
                    let runs = batch
                        .runs
                        .iter()
                        .map(|r| (r.origin, self.next.get(&r.origin).map_or(0, |n| n - 1)))
                        .collect();
                    self.inflight.push_back(InFlight {
                        id: batch.id,
                        runs,
                        awaited: true,
                    });
                    if let Err(e) = self.queue(&Message::Batch(batch)) {
                        return self.fail(e).map(|_| None);
                    }
                }
                Ok(None) => {}
                Err(e) => return self.fail(e).map(|_| None),
            }
        }
        if let Some(peer) = &self.peer
            && !self.done_sent
            && !self.awaiting_acks()
            && !self.has_more(scope)
        {
            if peer.expects_done
                && let Err(e) = self.queue(&Message::Done)
            {
                return self.fail(e).map(|_| None);
            }
            self.done_sent = true;
        }
        self.check_finished();
        match self.outbox.pop_front() {
            Some(frame) => {
                self.stats.bytes_sent += frame.len() as u64;
                Ok(Some(frame))
            }
            None => Ok(None),
        }
    }

    fn queue(&mut self, msg: &Message) -> Result<(), SessionError> {
        // Only batches are worth compressing; the other messages are a few hundred bytes.
        let compress = self.config.compress && matches!(msg, Message::Batch(_));
        let frame = encode_frame_with(msg, compress)?;
        self.stats.messages_sent += 1;
        self.outbox.push_back(frame);
        Ok(())
    }

    fn fail(&mut self, e: SessionError) -> Result<(), SessionError> {
        if self.state != State::Failed {
            self.state = State::Failed;
            if !matches!(e, SessionError::Peer { .. }) {
                // Best effort: tell the peer why. Encoding an error message cannot fail.
                self.outbox.clear();
                if let Ok(frame) = encode_frame(&Message::Error(ErrorMessage {
                    code: e.code(),
                    detail: e.to_string(),
                })) {
                    self.outbox.push_back(frame);
                }
            }
        }
        Err(e)
    }

    /// Whether a batch in flight must be acknowledged before this side is done sending.
    fn awaiting_acks(&self) -> bool {
        self.inflight.iter().any(|b| b.awaited)
    }

    fn check_finished(&mut self) {
        if self.state != State::Running {
            return;
        }
        let Some(peer) = &self.peer else { return };
        let sending_done = self.done_sent && !self.awaiting_acks();
        let receiving_done = self.peer_done || !peer.owes_done;
        if sending_done && receiving_done {
            self.state = State::Finished;
            self.events.push_back(Event::Finished);
        }
    }

    fn handle<S: LogStore + ?Sized>(
        &mut self,
        msg: Message,
        store: &mut S,
    ) -> Result<(), SessionError> {
        if self.state == State::New {
            return Err(SessionError::Protocol(
                "message before the session started".into(),
            ));
        }
        match msg {
            Message::Hello(h) => self.on_hello(h),
            Message::Batch(b) => self.on_batch(b, store),
            Message::Ack(a) => self.on_ack(a),
            Message::Done => {
                if self.peer.is_none() || self.peer_done {
                    return Err(SessionError::Protocol("unexpected Done".into()));
                }
                self.peer_done = true;
                Ok(())
            }
            Message::Error(e) => Err(SessionError::Peer {
                code: e.code,
                detail: e.detail,
            }),
        }
    }

    fn on_hello(&mut self, h: Hello) -> Result<(), SessionError> {
        if self.peer.is_some() {
            return Err(SessionError::Protocol("second Hello".into()));
        }
        if h.protocol != PROTOCOL_VERSION {
            return Err(SessionError::IncompatibleVersion {
                ours: PROTOCOL_VERSION,
                theirs: h.protocol,
            });
        }
        if h.node == self.me {
            return Err(SessionError::Protocol(
                "the peer claims this node's own id".into(),
            ));
        }
        if let Some(answer) = self.answer.take() {
            // Name every feed the peer holds that this side holds too, then answer. `advertise`
            // replaces the target, so the scope's choice is moved out rather than copied.
            let named = std::mem::take(&mut self.target);
            self.advertise(&answer.held, |origin| {
                named.get(origin) > 0 || h.vector.get(origin) > 0
            });
            self.queue_hello()?;
        }
        // The peer's Hello was sent before it saw anything from us, so it does not reflect
        // batches we sent optimistically. Those continue where they started at or before the
        // first entry the peer lacks; where they started beyond it they will be refused as a
        // gap, so resend from what the peer holds and ignore the refusals they cause.
        let last_sent = self.next_batch - 1;
        for (origin, _) in self.target.iter() {
            let have = h.vector.get(origin);
            let next = match self.sent_from.get(origin) {
                Some(&first) if first <= have + 1 => {
                    self.next.get(origin).map_or(have + 1, |&n| n.max(have + 1))
                }
                Some(_) => {
                    self.resend_barrier.insert(*origin, last_sent);
                    have + 1
                }
                None => have + 1,
            };
            self.next.insert(*origin, next);
        }
        // Equal length, different last entry: resend our last entry so the peer sees the fork
        // (it arrives authenticated, and differs from what the peer holds at that position).
        // The peer sees the same from our `Hello` and resends its own.
        let mut tips_differ = false;
        if h.tips.len() == h.vector.len() {
            let theirs: BTreeMap<&Origin, &[u8; 8]> =
                h.vector.iter().map(|(o, _)| o).zip(h.tips.iter()).collect();
            for ((origin, &seq), ours) in self.target.iter().zip(self.tips.iter()) {
                if seq > 0
                    && h.vector.get(origin) == seq
                    && theirs.get(origin).is_some_and(|t| *t != ours)
                {
                    self.next.insert(*origin, seq);
                    tips_differ = true;
                }
            }
        }
        // Batches sent optimistically that turn out to hold only what the peer holds already (a
        // checkpoint that lagged): the peer may finish without reading them, so do not wait for
        // their acknowledgements. Where tips differ the peer waits for our `Done` anyway.
        if !tips_differ {
            for batch in &mut self.inflight {
                if batch.runs.iter().all(|(o, last)| h.vector.get(o) >= *last) {
                    batch.awaited = false;
                }
            }
        }
        for origin in &h.frozen {
            self.stopped.insert(*origin);
        }
        self.peer_holds = h.vector.clone();
        // Each side then holds something the other lacks — its version of the last entry — though
        // neither vector shows it: both end with `Done` and wait for the other's, so neither
        // closes the connection while the other's resent entry is still on its way.
        self.peer = Some(Peer {
            node: h.node,
            expects_done: tips_differ || !h.vector.dominates(&self.target),
            owes_done: tips_differ || !self.target.dominates(&h.vector),
        });
        self.events.push_back(Event::PeerHello {
            node: h.node,
            vector: h.vector,
            clock_ms: h.clock_ms,
            frozen: h.frozen,
        });
        Ok(())
    }

    fn on_batch<S: LogStore + ?Sized>(
        &mut self,
        batch: Batch,
        store: &mut S,
    ) -> Result<(), SessionError> {
        let Some(peer) = &self.peer else {
            return Err(SessionError::Protocol("Batch before Hello".into()));
        };
        let sender = peer.node;
        if self.peer_done {
            return Err(SessionError::Protocol("Batch after Done".into()));
        }
        if self
            .last_received_batch
            .is_some_and(|last| batch.id <= last)
        {
            return Err(SessionError::Protocol("batch ids must increase".into()));
        }
        self.last_received_batch = Some(batch.id);
        let mut seen = BTreeSet::new();
        if !batch.runs.iter().all(|r| seen.insert(r.origin)) {
            return Err(SessionError::Protocol(
                "two runs for one origin in a batch".into(),
            ));
        }
        // Verify everything before storing anything: a forged run rejects the whole batch.
        let mut verified = Vec::with_capacity(batch.runs.len());
        for run in batch.runs {
            let has_skip = run.items.iter().any(|i| matches!(i, Item::Skip(_)));
            let origin = run.origin;
            let v = verify_run(run, sender, self.config.trusted_relay, &self.config.limits)?;
            verified.push((origin, has_skip, v));
        }
        let mut appends = Vec::new();
        let mut refused = Vec::new();
        let mut forks = Vec::new();
        let mut origins = Vec::new();
        for (origin, has_skip, run) in verified {
            origins.push(origin);
            if has_skip && !self.config.accept_elided {
                refused.push((origin, Refusal::ElidedNotAccepted));
                continue;
            }
            let (first_seq, last_seq) = (run.first_seq(), run.last_seq());
            match classify(store, run, &self.frozen).map_err(store_err)? {
                Classified::Append(run) => {
                    if run.first_seq() > first_seq {
                        self.events.push_back(Event::Duplicate {
                            origin,
                            first_seq,
                            last_seq: run.first_seq() - 1,
                        });
                    }
                    appends.push(run);
                }
                Classified::Duplicate => {
                    self.events.push_back(Event::Duplicate {
                        origin,
                        first_seq,
                        last_seq,
                    });
                }
                Classified::Gap { .. } => refused.push((origin, Refusal::Gap)),
                Classified::Frozen => refused.push((origin, Refusal::Frozen)),
                Classified::Fork(f) => {
                    refused.push((origin, Refusal::Fork));
                    forks.push(f);
                }
            }
        }
        if !appends.is_empty() {
            store.append(&appends).map_err(store_err)?;
        }
        for f in forks {
            store.freeze(&f).map_err(store_err)?;
            self.frozen.push(f.origin);
            self.events.push_back(Event::Fork(f));
        }
        for run in &appends {
            let entries = run
                .items
                .iter()
                .filter(|i| matches!(i, FeedItem::Entry(_)))
                .count() as u64;
            self.stats.entries_stored += entries;
            self.events.push_back(Event::Stored {
                origin: run.origin,
                first_seq: run.first_seq(),
                last_seq: run.last_seq(),
                entries,
            });
        }
        for (origin, refusal) in &refused {
            self.events.push_back(Event::Refused {
                origin: *origin,
                refusal: *refusal,
            });
        }
        let mut held = Vec::with_capacity(origins.len());
        for origin in origins {
            let seq = store.tip(&origin).map_err(store_err)?.map_or(0, |t| t.seq);
            held.push((origin, seq));
        }
        self.queue(&Message::Ack(Ack {
            batch: batch.id,
            held,
            refused,
        }))
    }

    fn on_ack(&mut self, ack: Ack) -> Result<(), SessionError> {
        let Some(front) = self.inflight.front() else {
            return Err(SessionError::Protocol("Ack for nothing in flight".into()));
        };
        if front.id != ack.batch {
            return Err(SessionError::Protocol("Ack out of order".into()));
        }
        self.inflight.pop_front();
        self.batch_now = (self.batch_now * 2).min(self.config.batch_bytes.max(1));
        for (origin, seq) in &ack.held {
            self.peer_holds.raise(*origin, *seq);
            self.events.push_back(Event::PeerHolds {
                origin: *origin,
                seq: *seq,
            });
        }
        for (origin, refusal) in ack.refused {
            self.events
                .push_back(Event::PeerRefused { origin, refusal });
            match refusal {
                Refusal::Gap => {
                    let barrier = self.resend_barrier.get(&origin).copied().unwrap_or(0);
                    if ack.batch > barrier {
                        let held = ack
                            .held
                            .iter()
                            .find(|(o, _)| *o == origin)
                            .map_or(0, |h| h.1);
                        self.next.insert(origin, held + 1);
                        self.resend_barrier.insert(origin, self.next_batch - 1);
                    }
                }
                Refusal::Frozen | Refusal::Fork | Refusal::ElidedNotAccepted => {
                    self.stopped.insert(origin);
                }
            }
        }
        Ok(())
    }

    fn has_more<F: Scope + ?Sized>(&self, scope: &F) -> bool {
        self.target.iter().any(|(origin, &seq)| {
            !self.stopped.contains(origin)
                && scope.send_origin(origin)
                && self.next.get(origin).is_some_and(|&n| n <= seq)
        })
    }

    fn build_batch<S: LogStore + ?Sized, F: Scope + ?Sized>(
        &mut self,
        store: &S,
        scope: &F,
    ) -> Result<Option<Batch>, SessionError> {
        let mut runs = Vec::new();
        let mut bytes = 0usize;
        let mut entries = 0usize;
        let origins: Vec<(Origin, u64)> = self.target.iter().map(|(o, s)| (*o, *s)).collect();
        for (origin, target) in origins {
            if bytes >= self.batch_now || entries >= self.config.batch_entries {
                break;
            }
            if self.stopped.contains(&origin) || !scope.send_origin(&origin) {
                continue;
            }
            let Some(&from) = self.next.get(&origin) else {
                continue;
            };
            if from > target {
                continue;
            }
            let budget = Budget {
                bytes: self.batch_now - bytes,
                entries: self.config.batch_entries - entries,
                hard_bytes: self.config.limits.max_frame / 2,
            };
            match self.build_run(store, scope, origin, from, target, budget)? {
                Some(built) => {
                    self.sent_from.entry(origin).or_insert(from);
                    self.next.insert(origin, built.last_seq + 1);
                    bytes += built.bytes;
                    entries += built.entries;
                    self.stats.entries_sent += built.entries as u64;
                    self.stats.payload_bytes_sent += built.payload_bytes as u64;
                    runs.push(built.run);
                }
                None => {
                    self.stopped.insert(origin);
                    self.events
                        .push_back(Event::CannotSend { origin, seq: from });
                }
            }
        }
        if runs.is_empty() {
            return Ok(None);
        }
        let id = self.next_batch;
        self.next_batch += 1;
        Ok(Some(Batch { id, runs }))
    }

    fn can_authenticate(&self, auth: Option<&Auth>) -> bool {
        match auth {
            Some(Auth::Origin(_)) => true,
            _ => self.config.vouch_key.is_some(),
        }
    }

    fn wire_auth(&self, cand: &Candidate) -> Option<WireAuth> {
        match (&cand.auth, &self.config.vouch_key) {
            (Some(Auth::Origin(sig)), _) => Some(WireAuth::Origin(*sig)),
            (_, Some(key)) => Some(WireAuth::Vouch(key.sign(&vouch_message(&cand.hash)))),
            _ => None,
        }
    }

    fn build_run<S: LogStore + ?Sized, F: Scope + ?Sized>(
        &self,
        store: &S,
        scope: &F,
        origin: Origin,
        from: u64,
        target: u64,
        budget: Budget,
    ) -> Result<Option<BuiltRun>, SessionError> {
        let prev = if from == 1 {
            Some(crate::hash::Hash32::ZERO)
        } else {
            store.hash_at(&origin, from - 1).map_err(store_err)?
        };
        let Some(prev) = prev else {
            // The entry before `from` is inside a range this node holds elided.
            return Ok(None);
        };
        let mut cands: Vec<Candidate> = Vec::new();
        let mut bytes = 0usize;
        let mut entries = 0usize;
        let mut seq = from;
        let visible = |seq: u64, body: &BodyRef<'_>| scope.visible(&origin, seq, body);
        let at_least = self.config.pass_over_at_least.max(1);
        'read: while seq <= target {
            // Entries the scope knows hidden become (part of) one elided range, from the last
            // alone; the rest are read and asked about below. A run full of whole entries
            // stops as it would have, reading them one by one: the jump never makes it full.
            let full = bytes >= budget.bytes || entries >= budget.entries;
            let known = scope
                .hidden_until(&origin, seq)
                .min(target.saturating_add(1));
            if known.saturating_sub(seq) >= at_least && !full {
                let extends = cands.last().is_some_and(|c| c.skip.is_some());
                // A new elided range counts 48 bytes, each further entry 8 (`elide`).
                let room = budget.bytes.min(budget.hard_bytes).saturating_sub(bytes);
                let fits = if extends {
                    room.saturating_sub(1) / 8
                } else if room > 48 {
                    1 + (room - 49) / 8
                } else {
                    0
                };
                let count = (known - seq).min(u64::try_from(fits).unwrap_or(u64::MAX));
                if count > 0
                    && let Some(PeerItem::Hidden(h)) = store
                        .read_for(&origin, seq + count - 1, 1, &|_, _| false)
                        .map_err(store_err)?
                        .into_iter()
                        .next()
                    && h.seq == seq + count - 1
                {
                    bytes += elide(&mut cands, &h, count);
                    seq += count;
                    continue;
                }
            }
            // No further than `target`: the scope is asked about every entry read. Nor past
            // where the scope next knows entries hidden: those are passed over unread (a site's
            // copies sit one or two at a time among the other sites' on a hub's feed).
            let mut want = usize::try_from(target - seq + 1).map_or(256, |n| n.min(256));
            if let Some(k) = (1..want).find(|&k| {
                let at = seq + k as u64;
                scope.hidden_until(&origin, at).saturating_sub(at) >= at_least
            }) {
                want = k;
            }
            let chunk = store
                .read_for(&origin, seq, want, &visible)
                .map_err(store_err)?;
            if chunk.is_empty() {
                break;
            }
            for item in chunk {
                if item.first_seq() != seq || seq > target {
                    break 'read;
                }
                match item {
                    // Held elided: cannot be sent whole or re-elided with a valid hash chain
                    // start; stop here.
                    PeerItem::Elided(_) => break 'read,
                    PeerItem::Visible(se) => {
                        bytes += se.entry.body.data.len() + 64;
                        entries += 1;
                        cands.push(Candidate {
                            hash: se.hash,
                            auth: se.auth,
                            last_seq: se.entry.seq,
                            entry: Some(WireEntry {
                                hlc: se.entry.hlc,
                                body: se.entry.body,
                                auth: None,
                            }),
                            skip: None,
                        });
                    }
                    PeerItem::Hidden(h) => bytes += elide(&mut cands, &h, 1),
                }
                seq += 1;
                let full = bytes >= budget.bytes || entries >= budget.entries;
                let ends_well = cands
                    .last()
                    .is_some_and(|c| self.can_authenticate(c.auth.as_ref()));
                if (full && ends_well) || bytes >= budget.hard_bytes {
                    break 'read;
                }
            }
        }
        // Cut at the last position the run can end authenticated; a whole entry right before
        // an elided range must itself be authenticated, or the run cannot extend past it.
        let mut end = None;
        for i in 0..cands.len() {
            if cands[i].skip.is_some() && i > 0 {
                let before = &cands[i - 1];
                if before.entry.is_some() && !self.can_authenticate(before.auth.as_ref()) {
                    break;
                }
            }
            if self.can_authenticate(cands[i].auth.as_ref()) {
                end = Some(i);
            }
        }
        let Some(end) = end else { return Ok(None) };
        cands.truncate(end + 1);
        let mut items = Vec::with_capacity(cands.len());
        let mut built_entries = 0;
        let mut payload_bytes = 0;
        let mut size = 0;
        for i in 0..cands.len() {
            let needs = i == end
                || (cands[i].entry.is_some() && cands.get(i + 1).is_some_and(|c| c.skip.is_some()));
            let auth = if needs {
                self.wire_auth(&cands[i])
            } else if self.config.signatures == SignaturePolicy::EveryEntry {
                match cands[i].auth {
                    Some(Auth::Origin(sig)) => Some(WireAuth::Origin(sig)),
                    _ => None,
                }
            } else {
                None
            };
            let c = &mut cands[i];
            if let Some(mut e) = c.entry.take() {
                e.auth = auth;
                built_entries += 1;
                payload_bytes += e.body.data.len();
                size += e.body.data.len() + 64;
                items.push(Item::Entry(e));
            } else if let Some(mut s) = c.skip.take() {
                s.auth = auth;
                s.last_body_hash = last_body_hash(store, &origin, c.last_seq, &c.hash)?;
                size += 48;
                items.push(Item::Skip(s));
            }
        }
        let last_seq = cands[end].last_seq;
        Ok(Some(BuiltRun {
            run: Run {
                origin,
                first_seq: from,
                prev,
                items,
            },
            last_seq,
            bytes: size,
            entries: built_entries,
            payload_bytes,
        }))
    }
}

/// The hash of the body of entry `seq`, read again whole: only the last entry of an elided
/// range has its body hashed (and copied out), when the run is built. The entry read must be
/// the one the range ends with (`hash`), or the range would be sent with a wrong body hash.
fn last_body_hash<S: LogStore + ?Sized>(
    store: &S,
    origin: &Origin,
    seq: u64,
    hash: &crate::hash::Hash32,
) -> Result<crate::hash::Hash32, SessionError> {
    match store
        .read_for(origin, seq, 1, &|_, _| true)
        .map_err(store_err)?
        .into_iter()
        .next()
    {
        Some(PeerItem::Visible(se)) if se.entry.seq == seq && se.hash == *hash => {
            Ok(se.entry.body.hash())
        }
        _ => Err(store_err(std::io::Error::other(format!(
            "entry {seq} of {origin:?}, read a moment ago, is no longer held as it was"
        )))),
    }
}

struct Budget {
    bytes: usize,
    entries: usize,
    hard_bytes: usize,
}

struct Candidate {
    entry: Option<WireEntry>,
    skip: Option<Skip>,
    hash: crate::hash::Hash32,
    auth: Option<Auth>,
    last_seq: u64,
}

/// Elide `count` entries ending with `last` after the run's candidates so far: they extend the
/// elided range the run ends with, or start one. Returns the bytes they count towards the
/// batch: 48 for a new range, 8 for each further entry.
fn elide(cands: &mut Vec<Candidate>, last: &crate::store::HiddenEntry, count: u64) -> usize {
    let further = usize::try_from(count).unwrap_or(usize::MAX);
    if let Some(c) = cands.last_mut()
        && let Some(skip) = c.skip.as_mut()
    {
        skip.count += count;
        skip.last_prev = last.prev;
        skip.last_hlc = last.hlc;
        c.hash = last.hash;
        c.auth = last.auth;
        c.last_seq = last.seq;
        return 8 * further;
    }
    cands.push(Candidate {
        entry: None,
        skip: Some(Skip {
            count,
            last_prev: last.prev,
            last_hlc: last.hlc,
            // Hashed once the run is built.
            last_body_hash: crate::hash::Hash32::ZERO,
            auth: None,
        }),
        hash: last.hash,
        auth: last.auth,
        last_seq: last.seq,
    });
    48 + 8 * (further - 1)
}

struct BuiltRun {
    run: Run,
    last_seq: u64,
    bytes: usize,
    entries: usize,
    payload_bytes: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{Body, BodyKind, DocId, UserId};
    use crate::hlc::Hlc;
    use crate::store::MemoryStore;

    /// The body hash an elided range ends with comes from the entry the range ends with, and a
    /// store that gives back anything else is an error, not a range sent with a wrong hash.
    #[test]
    fn an_elided_ranges_body_hash_is_of_the_entry_it_ends_with() {
        let key = NodeKey::from_bytes(&[5; 32]);
        let mut store = MemoryStore::new();
        let entries: Vec<_> = (0..3u8)
            .map(|i| {
                let body = Body {
                    doc: DocId([i; 16]),
                    user: UserId::default(),
                    kind: BodyKind::Change,
                    data: vec![i; 40],
                };
                store.author(&key, 0, Hlc::default(), body)
            })
            .collect();
        let origin = entries[0].entry.origin;
        for e in &entries {
            assert_eq!(
                last_body_hash(&store, &origin, e.entry.seq, &e.hash).unwrap(),
                e.entry.body.hash()
            );
        }
        assert!(last_body_hash(&store, &origin, 2, &entries[0].hash).is_err());
        assert!(last_body_hash(&store, &origin, 4, &entries[2].hash).is_err());
    }

    /// A store that counts the entries it reads out for a peer.
    struct Counting {
        store: MemoryStore,
        read: std::cell::Cell<usize>,
    }

    impl LogStore for Counting {
        type Error = crate::store::MemoryError;
        fn vector(&self) -> Result<VersionVector, Self::Error> {
            self.store.vector()
        }
        fn frozen(&self) -> Result<Vec<Origin>, Self::Error> {
            self.store.frozen()
        }
        fn tip(&self, origin: &Origin) -> Result<Option<crate::store::Tip>, Self::Error> {
            self.store.tip(origin)
        }
        fn hash_at(
            &self,
            origin: &Origin,
            seq: u64,
        ) -> Result<Option<crate::hash::Hash32>, Self::Error> {
            self.store.hash_at(origin, seq)
        }
        fn read(
            &self,
            origin: &Origin,
            from_seq: u64,
            max_items: usize,
        ) -> Result<Vec<crate::chain::FeedItem>, Self::Error> {
            let items = self.store.read(origin, from_seq, max_items)?;
            self.read.set(self.read.get() + items.len());
            Ok(items)
        }
        fn append(&mut self, runs: &[crate::chain::VerifiedRun]) -> Result<(), Self::Error> {
            self.store.append(runs)
        }
        fn freeze(&mut self, fork: &crate::store::Fork) -> Result<(), Self::Error> {
            self.store.freeze(fork)
        }
    }

    /// Every hundredth entry visible, and a scope that says where the next one is, or not.
    struct EveryHundredth {
        hints: bool,
    }

    impl Scope for EveryHundredth {
        fn visible(&self, _origin: &Origin, seq: u64, _body: &BodyRef<'_>) -> bool {
            seq.is_multiple_of(100)
        }
        fn hidden_until(&self, _origin: &Origin, seq: u64) -> u64 {
            if self.hints {
                seq.next_multiple_of(100)
            } else {
                seq
            }
        }
    }

    /// With hints, a run over 1,000 entries of which 10 are visible reads those and the last
    /// entry of each range between (twice: for its place in the chain, then for its body's
    /// hash), not every entry; and it is the same run. Stretches shorter than the session's
    /// `pass_over_at_least` are read on.
    #[test]
    fn a_scope_that_knows_entries_hidden_spares_reading_them() {
        let key = NodeKey::from_bytes(&[6; 32]);
        let mut store = MemoryStore::new();
        for i in 1..=1000u64 {
            let body = Body {
                doc: DocId([(i % 251) as u8; 16]),
                user: UserId::default(),
                kind: BodyKind::Change,
                data: vec![1; 30],
            };
            store.author(&key, 0, Hlc::default(), body);
        }
        let origin = Origin {
            node: key.id(),
            epoch: 0,
        };
        let store = Counting {
            store,
            read: Default::default(),
        };
        let budget = || Budget {
            bytes: 1 << 20,
            entries: 4096,
            hard_bytes: 1 << 20,
        };
        let mut runs = Vec::new();
        let mut reads = Vec::new();
        // Stretches of 99 hidden entries: passed over unless the session wants 100 or more.
        for (hints, at_least) in [(false, 16), (true, 16), (true, 100)] {
            let session = Session::new(
                SessionConfig {
                    vouch_key: Some(key.clone()),
                    pass_over_at_least: at_least,
                    ..SessionConfig::default()
                },
                key.id(),
            );
            store.read.set(0);
            let built = session
                .build_run(&store, &EveryHundredth { hints }, origin, 1, 1000, budget())
                .unwrap()
                .expect("a run");
            assert_eq!(built.last_seq, 1000);
            assert_eq!(built.entries, 10);
            runs.push(built.run);
            reads.push(store.read.get());
        }
        assert_eq!(runs[0], runs[1]);
        assert_eq!(runs[0], runs[2]);
        assert!(reads[0] >= 1000 && reads[2] >= 1000, "{reads:?}");
        assert!(reads[1] <= 10 + 2 * 10, "{reads:?}");
    }
}
