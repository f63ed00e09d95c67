//! The messages two nodes exchange in a sync session.

use crate::entry::{Body, Origin};
use crate::hash::Hash32;
use crate::hlc::Hlc;
use crate::identity::{NodeId, Signature};
use crate::vector::VersionVector;
use serde::{Deserialize, Serialize};

/// The protocol version this crate speaks. Version 2 added compressed frames
/// ([`crate::frame::FLAG_DEFLATE`]); a version 1 peer is refused at `Hello` with a clear error
/// rather than failing on a frame it cannot read.
pub const PROTOCOL_VERSION: u16 = 2;

/// One protocol message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    /// First message from each side: who I am and what I hold.
    Hello(Hello),
    /// Entries the receiver is believed to lack.
    Batch(Batch),
    /// The receiver verified and durably stored a batch.
    Ack(Ack),
    /// The sender has nothing more to send in this session.
    Done,
    /// The sender is ending the session because of a problem.
    Error(ErrorMessage),
}

/// Opens a session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// Protocol version the sender speaks.
    pub protocol: u16,
    /// The sender's node id (must match its transport identity).
    pub node: NodeId,
    /// The sender's wall clock, for reporting drift only.
    pub clock_ms: u64,
    /// What the sender holds.
    pub vector: VersionVector,
    /// Origins the sender has frozen because it saw a fork.
    pub frozen: Vec<Origin>,
    /// The first 8 bytes of the hash of the last entry held for each origin in `vector`, in the
    /// same order. Two feeds of equal length but different content (a node restored from a
    /// backup that wrote again) show up here, where the vector alone cannot tell them apart.
    pub tips: Vec<[u8; 8]>,
}

/// A batch of runs; acknowledged as a whole.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    /// Sender-chosen id, increasing within a session.
    pub id: u64,
    /// One or more runs.
    pub runs: Vec<Run>,
}

/// Contiguous entries of one origin's feed, starting at `first_seq`.
///
/// Sequence numbers, `prev` hashes and entry hashes are implicit: the receiver recomputes the
/// chain from `prev`. Each entry is authenticated by its own [`WireAuth`] or by the next one after
/// it in the run (the hash chain links them), so a run needs as few as one signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    /// The feed.
    pub origin: Origin,
    /// Sequence number of the first item.
    pub first_seq: u64,
    /// Hash of entry `first_seq - 1` (zero when `first_seq` is 1).
    pub prev: Hash32,
    /// The entries, in order.
    pub items: Vec<Item>,
}

/// One item of a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Item {
    /// A whole entry.
    Entry(WireEntry),
    /// Entries the receiver may not see (another site's learners), summarized by count and hash.
    Skip(Skip),
}

/// An entry on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireEntry {
    /// The entry's timestamp.
    pub hlc: Hlc,
    /// The entry's body.
    pub body: Body,
    /// Its own authentication, if sent.
    pub auth: Option<WireAuth>,
}

/// Elided entries: `count` entries, summarized by the header of the last one (everything but its
/// body). The receiver recomputes that entry's hash, which commits to its position and to the
/// hash before it, so the range's end is authenticated like any entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skip {
    /// How many entries are elided (at least 1).
    pub count: u64,
    /// The `prev` of the last elided entry.
    pub last_prev: Hash32,
    /// The timestamp of the last elided entry.
    pub last_hlc: Hlc,
    /// The body hash of the last elided entry.
    pub last_body_hash: Hash32,
    /// Authentication of the last elided entry, if sent.
    pub auth: Option<WireAuth>,
}

/// Authentication as sent: the origin's signature, or the sending relay's vouch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireAuth {
    /// The origin's signature over the entry hash.
    Origin(Signature),
    /// The sender's signature over [`crate::entry::vouch_message`] of the entry hash.
    Vouch(Signature),
}

/// Acknowledges a batch after it was verified and durably stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    /// The batch acknowledged.
    pub batch: u64,
    /// For every origin in the batch, the highest sequence the receiver now holds.
    pub held: Vec<(Origin, u64)>,
    /// Runs the receiver did not store, and why.
    pub refused: Vec<(Origin, Refusal)>,
}

/// Why a receiver did not store a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Refusal {
    /// The run starts after the receiver's tip; resend from `held + 1`.
    Gap,
    /// The receiver has frozen this origin after a fork.
    Frozen,
    /// The run disagrees with entries the receiver holds: a fork (now frozen).
    Fork,
    /// The receiver keeps a full replica and does not accept elided entries.
    ElidedNotAccepted,
}

/// Ends a session with a reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorMessage {
    /// What kind of problem.
    pub code: ErrorCode,
    /// Human-readable detail.
    pub detail: String,
}

/// Kinds of session-ending problems.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorCode {
    /// The peers speak different protocol versions.
    IncompatibleVersion,
    /// A frame or message could not be decoded.
    Malformed,
    /// An entry's signature or vouch did not verify.
    Forged,
    /// Messages arrived in an order the protocol does not allow.
    Protocol,
    /// The peer is not allowed to sync with this node.
    Unauthorized,
    /// The sender failed internally (for example, its disk).
    Internal,
}
