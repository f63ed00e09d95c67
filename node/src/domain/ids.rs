//! Identifiers people type: a letter for the kind, a dash, and 13 base32 characters.
//!
//! | prefix | what |
//! | --- | --- |
//! | `L-` | learner (names the learner's document) |
//! | `E-` | enrollment (derived from learner and achievement, so two sites enrolling converge) |
//! | `V-` | evidence submission |
//! | `S-` | assessment |
//! | `A-` | award (derived from learner and achievement or pathway: one award, wherever issued) |
//! | `O-` | outcome |
//! | `U-` | staff user |

use cairn_sync_protocol::{DocId, NodeId};
use rand::RngCore;
use sha2::{Digest, Sha256};

fn encode(bytes: &[u8]) -> String {
    data_encoding::BASE32_NOPAD.encode(bytes)
}

/// A random identifier with `prefix`.
pub fn random(prefix: char) -> String {
    let mut b = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut b);
    format!("{prefix}-{}", encode(&b))
}

/// An identifier derived from `parts`, the same wherever it is computed.
pub fn derived(prefix: char, parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    h.update([prefix as u8]);
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    format!("{prefix}-{}", encode(&h.finalize()[..8]))
}

/// A new learner document id.
pub fn new_doc() -> DocId {
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    DocId(b)
}

/// The text id of a learner document (`L-` and its first 8 bytes).
pub fn learner_id(doc: &DocId) -> String {
    format!("L-{}", encode(&doc.0[..8]))
}

fn fixed(name: &str) -> DocId {
    let h = Sha256::digest(name.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    DocId(b)
}

/// The program's catalog document.
pub fn catalog_doc() -> DocId {
    fixed("cairn.catalog")
}

/// The document control records about trust are filed under.
pub fn trust_doc() -> DocId {
    fixed("cairn.trust")
}

/// A node's staff directory document.
pub fn staff_doc(node: &NodeId) -> DocId {
    let mut h = Sha256::new();
    h.update(b"cairn.staff");
    h.update(node.0);
    let mut b = [0u8; 16];
    b.copy_from_slice(&h.finalize()[..16]);
    DocId(b)
}

/// Parse `user` ids (`U-...`) back into the 16 bytes entries record.
pub fn user_bytes(id: &str) -> Option<[u8; 16]> {
    let rest = id.strip_prefix("U-")?;
    let b = data_encoding::BASE32_NOPAD.decode(rest.as_bytes()).ok()?;
    b.try_into().ok()
}

/// A new staff user id and its 16 bytes.
pub fn new_user() -> (String, [u8; 16]) {
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    (format!("U-{}", encode(&b)), b)
}

/// The text form of a user id.
pub fn user_text(b: &[u8; 16]) -> String {
    format!("U-{}", encode(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_and_distinct() {
        let a = derived('E', &[b"learner", b"css-1"]);
        assert_eq!(a, derived('E', &[b"learner", b"css-1"]));
        assert_ne!(a, derived('E', &[b"learne", b"rcss-1"]));
        assert_eq!(a.len(), 15);
    }

    #[test]
    fn user_ids_round_trip() {
        let (text, bytes) = new_user();
        assert_eq!(user_bytes(&text), Some(bytes));
        assert_eq!(user_text(&bytes), text);
    }
}
