//! Payloads of entries that are not automerge changes: control records and evidence file chunks.
//! Encoded with the protocol's codec (the one module that knows bincode).

use crate::error::{Error, Result};
use cairn_sync_protocol::{DocId, NodeId, codec};
use serde::{Deserialize, Serialize};

/// Largest evidence file (design.md).
pub const MAX_FILE: u64 = 64 * 1024 * 1024;
/// Evidence files travel in chunks of this size.
pub const CHUNK_SIZE: usize = 256 * 1024;

/// A record only the hub authors, about trust and where learners live.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ControlRecord {
    /// The hub admitted a site.
    SiteAdmitted {
        /// The site's node key.
        site: NodeId,
        /// The operator's identifier for the site (e.g. `smwrc`).
        site_id: String,
        /// Display name.
        name: String,
    },
    /// The hub revoked a site: its sessions are refused and its later entries not accepted.
    SiteRevoked {
        /// The site's node key.
        site: NodeId,
        /// Why, in the operator's words.
        reason: String,
    },
    /// A learner's record now lives at another site. Carries the document as it stood, so the
    /// new site receives the learner's whole history in one signed entry.
    LearnerTransferred {
        /// The learner document.
        learner: DocId,
        /// The site it lived at.
        from: Option<NodeId>,
        /// The site it lives at now.
        to: NodeId,
        /// automerge `save()` of the document at the time of the transfer.
        #[serde(with = "serde_bytes")]
        snapshot: Vec<u8>,
    },
    /// The hub, as the program, endorsed a site's key: a signed Open Badges
    /// `EndorsementCredential` the site embeds in the credentials it signs, so a verifier who
    /// knows only the program's did:key can check the chain offline. Added after the first
    /// release: a node that does not know it ignores it (it decodes as an unknown record).
    SiteEndorsed {
        /// The site's node key.
        site: NodeId,
        /// The signed endorsement, as JSON text.
        endorsement: String,
    },
}

/// One chunk of an evidence file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileChunk {
    /// SHA-256 of the whole file.
    pub file: [u8; 32],
    /// This chunk's position, from 0.
    pub index: u32,
    /// How many chunks the file has.
    pub total: u32,
    /// The whole file's size in bytes.
    pub size: u64,
    /// The chunk's bytes.
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
}

/// Encode a payload.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    codec::encode(value).map_err(|e| Error::storage("could not encode a record", e))
}

/// Decode a payload received from a peer or read from the store.
pub fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T> {
    codec::decode(bytes, cairn_sync_protocol::limits::MAX_PAYLOAD)
        .map_err(|e| Error::invalid(format!("{what} is malformed: {e}")))
}
