//! Signed log entries.
//!
//! Each node authors one feed per [`Origin`] (node key, epoch). Entry `seq` (from 1) carries the
//! hash of entry `seq - 1`, so one signature covers everything before it in the feed. Hashes are
//! computed over the explicit byte layouts below — never over the wire codec — so replacing the
//! codec never invalidates a stored signature.

use crate::hash::Hash32;
use crate::hlc::Hlc;
use crate::identity::{NodeId, NodeKey, Signature};
use serde::{Deserialize, Serialize};
use std::fmt;

const ENTRY_DOMAIN: &[u8] = b"cairn.entry.v1\0";
const BODY_DOMAIN: &[u8] = b"cairn.body.v1\0";
const VOUCH_DOMAIN: &[u8] = b"cairn.vouch.v1\0";

/// The author of a feed: a node key and an epoch. A node restored from a backup starts a new
/// epoch, so it never reuses a sequence number (nor an automerge actor id).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Origin {
    /// The authoring node.
    pub node: NodeId,
    /// Incremented whenever the node cannot be sure it knows the end of its previous feed.
    pub epoch: u32,
}

impl Origin {
    /// The 36 bytes used in hashes and as the automerge actor id: key, then epoch (big-endian).
    pub fn to_bytes(&self) -> [u8; 36] {
        let mut out = [0u8; 36];
        out[..32].copy_from_slice(&self.node.0);
        out[32..].copy_from_slice(&self.epoch.to_be_bytes());
        out
    }
}

impl fmt::Debug for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.node.short(), self.epoch)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} epoch {}", self.node, self.epoch)
    }
}

/// Identifies one document (a learner's record, the catalog, a control document).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
pub struct DocId(pub [u8; 16]);

impl fmt::Debug for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DocId({})", data_encoding::HEXLOWER.encode(&self.0))
    }
}

/// The person who acted (staff member, learner, operator), as the authoring node knows them.
/// All-zero means the node itself acted (for example a scheduled sync).
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default, Debug,
)]
pub struct UserId(pub [u8; 16]);

/// What an entry's payload is.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Debug)]
pub enum BodyKind {
    /// One automerge change to the document.
    Change,
    /// A control record (site admitted, site revoked, learner transferred...) for the document.
    Control,
    /// One chunk of an evidence file attached to the document. Files travel as entries so they
    /// share the log's signatures, partial replication and resumable acknowledgement.
    FileChunk,
}

impl BodyKind {
    fn tag(self) -> u8 {
        match self {
            BodyKind::Change => 0,
            BodyKind::Control => 1,
            BodyKind::FileChunk => 2,
        }
    }
}

/// What an entry says: which document, who acted, and the payload.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Body {
    /// The document the payload applies to.
    pub doc: DocId,
    /// The acting person.
    pub user: UserId,
    /// How to read the payload.
    pub kind: BodyKind,
    /// The payload bytes.
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Body")
            .field("doc", &self.doc)
            .field("kind", &self.kind)
            .field("len", &self.data.len())
            .finish()
    }
}

/// A body's fields with its payload borrowed: what deciding about an entry needs (a scope's
/// [`crate::Scope::visible`]) without copying the payload out of where it is stored.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct BodyRef<'a> {
    /// The document the payload applies to.
    pub doc: DocId,
    /// The acting person.
    pub user: UserId,
    /// How to read the payload.
    pub kind: BodyKind,
    /// The payload bytes.
    pub data: &'a [u8],
}

impl Body {
    /// This body with its payload borrowed.
    pub fn as_ref(&self) -> BodyRef<'_> {
        BodyRef {
            doc: self.doc,
            user: self.user,
            kind: self.kind,
            data: &self.data,
        }
    }

    /// The hash an entry commits to for this body.
    pub fn hash(&self) -> Hash32 {
        Hash32::of(&[
            BODY_DOMAIN,
            &self.doc.0,
            &self.user.0,
            &[self.kind.tag()],
            &(self.data.len() as u64).to_be_bytes(),
            &self.data,
        ])
    }
}

/// One entry of a feed, without its authentication.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Entry {
    /// The feed.
    pub origin: Origin,
    /// Position in the feed, from 1, without gaps.
    pub seq: u64,
    /// Hash of entry `seq - 1`, or [`Hash32::ZERO`] for the first.
    pub prev: Hash32,
    /// When the author believed it was.
    pub hlc: Hlc,
    /// What the entry says.
    pub body: Body,
}

/// The hash of an entry, from its header fields and its body's hash.
pub fn entry_hash(
    origin: &Origin,
    seq: u64,
    prev: &Hash32,
    hlc: &Hlc,
    body_hash: &Hash32,
) -> Hash32 {
    Hash32::of(&[
        ENTRY_DOMAIN,
        &origin.to_bytes(),
        &seq.to_be_bytes(),
        &prev.0,
        &hlc.wall_ms.to_be_bytes(),
        &hlc.counter.to_be_bytes(),
        &body_hash.0,
    ])
}

impl Entry {
    /// This entry's hash.
    pub fn hash(&self) -> Hash32 {
        entry_hash(
            &self.origin,
            self.seq,
            &self.prev,
            &self.hlc,
            &self.body.hash(),
        )
    }
}

/// How an entry (and, through the hash chain, everything before it in its feed) is authenticated.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum Auth {
    /// The origin's own signature over the entry hash.
    Origin(Signature),
    /// A trusted relay (the hub) vouches for the entry hash: used when the relay passes on part of
    /// another node's feed without holding that node's signature for the exact entry.
    Vouch {
        /// The relay that vouched.
        by: NodeId,
        /// The relay's signature over the vouch message for the entry hash.
        signature: Signature,
    },
}

/// The message a relay signs to vouch for an entry hash.
pub fn vouch_message(hash: &Hash32) -> [u8; 47] {
    let mut m = [0u8; 47];
    m[..15].copy_from_slice(VOUCH_DOMAIN);
    m[15..].copy_from_slice(&hash.0);
    m
}

impl Auth {
    /// Check this authentication for `hash` of an entry from `origin`.
    pub fn verify(&self, origin: &Origin, hash: &Hash32) -> Result<(), crate::IdentityError> {
        match self {
            Auth::Origin(sig) => origin.node.verify(&hash.0, sig),
            Auth::Vouch { by, signature } => by.verify(&vouch_message(hash), signature),
        }
    }
}

/// An entry as a store holds it: the entry, its hash, and its own authentication if the store
/// has it (entries inside a run may be covered by a later entry's signature instead).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct StoredEntry {
    /// The entry.
    pub entry: Entry,
    /// Its hash (cached; always equal to `entry.hash()`).
    pub hash: Hash32,
    /// Its own authentication, if held.
    pub auth: Option<Auth>,
}

impl StoredEntry {
    /// Author a new signed entry that follows `prev` (`None` for the first entry of a feed).
    pub fn author(
        key: &NodeKey,
        epoch: u32,
        prev: Option<(u64, Hash32)>,
        hlc: Hlc,
        body: Body,
    ) -> StoredEntry {
        let origin = Origin {
            node: key.id(),
            epoch,
        };
        let (seq, prev) = match prev {
            Some((seq, hash)) => (seq + 1, hash),
            None => (1, Hash32::ZERO),
        };
        let entry = Entry {
            origin,
            seq,
            prev,
            hlc,
            body,
        };
        let hash = entry.hash();
        let auth = Some(Auth::Origin(key.sign(&hash.0)));
        StoredEntry { entry, hash, auth }
    }

    /// A relay's vouch for this entry.
    pub fn vouch(&self, relay: &NodeKey) -> Auth {
        Auth::Vouch {
            by: relay.id(),
            signature: relay.sign(&vouch_message(&self.hash)),
        }
    }
}
