//! Node identities: Ed25519 key pairs and a checksummed text form of the public key.
//!
//! The text form follows Syncthing's device ids: base32 of the 32-byte key (52 characters), cut
//! into four groups of 13 with one Luhn mod-32 check character each, shown as eight groups of
//! seven joined by dashes. A single mistyped or swapped character is caught by the check
//! characters, and the common look-alikes 0/1/8 are read as O/I/B.

use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use rand::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// An Ed25519 signature.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub [u8; 64]);

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Signature({}..)",
            data_encoding::HEXLOWER.encode(&self.0[..6])
        )
    }
}

impl Serialize for Signature {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serde_bytes::Bytes::new(&self.0).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bytes = serde_bytes::ByteArray::<64>::deserialize(d)?;
        Ok(Signature(bytes.into_array()))
    }
}

/// A node's public identity: its Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NodeId(pub [u8; 32]);

/// Why a node id or signature was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdentityError {
    /// The text has the wrong number of characters once dashes and spaces are removed.
    #[error("a node id has 56 letters and digits (8 groups of 7); this has {0}")]
    WrongLength(usize),
    /// A character outside A–Z and 2–7.
    #[error("'{0}' cannot appear in a node id (only letters A-Z and digits 2-7)")]
    BadCharacter(char),
    /// A check character did not match: the id was mistyped.
    #[error("the node id has a typo in characters {from}-{to} (check character mismatch)")]
    Checksum {
        /// First character (1-based) of the group that failed.
        from: usize,
        /// Last character (1-based) of the group that failed.
        to: usize,
    },
    /// The 32 bytes are not a valid Ed25519 public key.
    #[error("the node id is not a valid Ed25519 public key")]
    NotAKey,
    /// A signature did not verify.
    #[error("signature does not verify")]
    BadSignature,
}

impl NodeId {
    /// The Ed25519 verifying key, if these bytes are a valid point.
    pub fn verifying_key(&self) -> Result<VerifyingKey, IdentityError> {
        VerifyingKey::from_bytes(&self.0).map_err(|_| IdentityError::NotAKey)
    }

    /// Verify `signature` over `message` by this node.
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), IdentityError> {
        let key = self.verifying_key()?;
        let sig = ed25519_dalek::Signature::from_bytes(&signature.0);
        key.verify(message, &sig)
            .map_err(|_| IdentityError::BadSignature)
    }

    /// A short prefix of the text form, for logs and tables.
    pub fn short(&self) -> String {
        self.to_string()[..7].to_string()
    }
}

fn luhn32(chars: &[u8]) -> u8 {
    // Luhn mod N over base32 code points, as Syncthing computes it.
    let mut factor = 1u32;
    let mut sum = 0u32;
    for &c in chars {
        let code = ALPHABET.iter().position(|&a| a == c).unwrap_or(0) as u32;
        let addend = factor * code;
        factor = if factor == 2 { 1 } else { 2 };
        sum += addend / 32 + addend % 32;
    }
    ALPHABET[((32 - sum % 32) % 32) as usize]
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b32 = data_encoding::BASE32_NOPAD.encode(&self.0);
        let mut with_checks = Vec::with_capacity(56);
        for group in b32.as_bytes().chunks(13) {
            with_checks.extend_from_slice(group);
            with_checks.push(luhn32(group));
        }
        for (i, chunk) in with_checks.chunks(7).enumerate() {
            if i > 0 {
                f.write_str("-")?;
            }
            // The alphabet is ASCII, so every chunk is valid UTF-8.
            f.write_str(std::str::from_utf8(chunk).map_err(|_| fmt::Error)?)?;
        }
        Ok(())
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({})", self.short())
    }
}

/// One character of a node id as a person typed it, read as the id means it: upper case, the
/// look-alike digits 0, 1 and 8 as the letters O, I and B (the alphabet has no such digits), and
/// `None` for the dashes and spaces that group it.
fn typed_char(c: char) -> Option<char> {
    match c.to_ascii_uppercase() {
        '-' | ' ' => None,
        '0' => Some('O'),
        '1' => Some('I'),
        '8' => Some('B'),
        c => Some(c),
    }
}

/// What a person typed for a node id — whole or its beginning — in the form ids are compared
/// in: what `parse` reads, without the grouping. The beginning of an id, typed in any of the
/// ways `parse` accepts, folds to a beginning of the id's own folded form.
pub fn fold_typed_id(typed: &str) -> String {
    typed.chars().filter_map(typed_char).collect()
}

impl NodeId {
    /// Read the text form, checking its characters and check characters but not that the 32
    /// bytes are a point on the curve (which costs a square root, about 20 µs). Only for ids
    /// this node recorded itself and never verifies a signature against, such as a peer's
    /// checkpoint (which only says what not to send again): a site's checkpoint names every
    /// origin its hub holds, and checking each point again on every read was a fifth of a
    /// site's processor time in a session. What a person or a peer gives goes through
    /// [`FromStr`].
    pub fn from_recorded_text(s: &str) -> Result<NodeId, IdentityError> {
        let mut chars = Vec::with_capacity(56);
        for c in s.chars().filter_map(typed_char) {
            if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) {
                return Err(IdentityError::BadCharacter(c));
            }
            if chars.len() == 56 {
                return Err(IdentityError::WrongLength(57));
            }
            chars.push(c as u8);
        }
        if chars.len() != 56 {
            return Err(IdentityError::WrongLength(chars.len()));
        }
        let mut b32 = Vec::with_capacity(52);
        for (i, group) in chars.chunks(14).enumerate() {
            if luhn32(&group[..13]) != group[13] {
                return Err(IdentityError::Checksum {
                    from: i * 14 + 1,
                    to: i * 14 + 14,
                });
            }
            b32.extend_from_slice(&group[..13]);
        }
        let bytes = data_encoding::BASE32_NOPAD
            .decode(&b32)
            .map_err(|_| IdentityError::NotAKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| IdentityError::NotAKey)?;
        Ok(NodeId(key))
    }
}

impl FromStr for NodeId {
    type Err = IdentityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let id = NodeId::from_recorded_text(s)?;
        id.verifying_key()?;
        Ok(id)
    }
}

/// A node's private signing key. Never leaves the node.
#[derive(Clone)]
pub struct NodeKey(SigningKey);

impl NodeKey {
    /// A fresh key from a cryptographically secure generator.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> NodeKey {
        NodeKey(SigningKey::generate(rng))
    }

    /// Restore a key from its 32 secret bytes.
    pub fn from_bytes(secret: &[u8; 32]) -> NodeKey {
        NodeKey(SigningKey::from_bytes(secret))
    }

    /// The 32 secret bytes, for storing the key.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// This key's public identity.
    pub fn id(&self) -> NodeId {
        NodeId(self.0.verifying_key().to_bytes())
    }

    /// Sign `message`.
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.0.sign(message).to_bytes())
    }

    /// The underlying ed25519-dalek key, for callers that build certificates or DIDs from it.
    pub fn signing_key(&self) -> &SigningKey {
        &self.0
    }
}

impl fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeKey(id: {})", self.id().short())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;

    fn key(seed: u64) -> NodeKey {
        NodeKey::generate(&mut rand::rngs::StdRng::seed_from_u64(seed))
    }

    #[test]
    fn text_form_is_eight_groups_of_seven() {
        let s = key(1).id().to_string();
        let groups: Vec<&str> = s.split('-').collect();
        assert_eq!(groups.len(), 8);
        assert!(groups.iter().all(|g| g.len() == 7));
    }

    #[test]
    fn lowercase_and_lookalikes_parse() {
        let id = key(2).id();
        let s = id.to_string().to_lowercase().replace('-', " ");
        assert_eq!(s.parse::<NodeId>(), Ok(id));
    }

    #[test]
    fn wrong_length_and_characters_are_named() {
        assert_eq!("ABC".parse::<NodeId>(), Err(IdentityError::WrongLength(3)));
        let mut s = key(3).id().to_string();
        s.replace_range(0..1, "!");
        assert_eq!(s.parse::<NodeId>(), Err(IdentityError::BadCharacter('!')));
    }

    #[test]
    fn only_the_recorded_form_skips_the_curve_check() {
        // 32 bytes that pass the text form's checks but are no Ed25519 point: a person or a
        // peer giving them is refused, a checkpoint this node wrote is read back as written.
        let not_a_point = (0u8..=255)
            .map(|b| NodeId([b; 32]))
            .find(|id| id.verifying_key().is_err())
            .expect("some repeated byte is not a point");
        let text = not_a_point.to_string();
        assert_eq!(text.parse::<NodeId>(), Err(IdentityError::NotAKey));
        assert_eq!(NodeId::from_recorded_text(&text), Ok(not_a_point));
        // Every other check still applies to the recorded form.
        assert_eq!(
            NodeId::from_recorded_text("ABC"),
            Err(IdentityError::WrongLength(3))
        );
        let mut typo = key(4).id().to_string();
        let c = if typo.starts_with('A') { "B" } else { "A" };
        typo.replace_range(0..1, c);
        assert!(matches!(
            NodeId::from_recorded_text(&typo),
            Err(IdentityError::Checksum { .. })
        ));
    }

    #[test]
    fn the_documented_blind_spot_is_real() {
        // Swapping 'A' and '7' leaves the check character unchanged; documented in protocol.md.
        assert_eq!(luhn32(b"A7BCDEFGHIJKL"), luhn32(b"7ABCDEFGHIJKL"));
        assert_ne!(luhn32(b"ABBCDEFGHIJKL"), luhn32(b"BABCDEFGHIJKL"));
    }

    proptest! {
        #[test]
        fn round_trips(seed in any::<u64>()) {
            let id = key(seed).id();
            prop_assert_eq!(id.to_string().parse::<NodeId>(), Ok(id));
            prop_assert_eq!(NodeId::from_recorded_text(&id.to_string()), Ok(id));
        }

        #[test]
        fn any_single_substitution_is_caught(seed in any::<u64>(), pos in 0usize..56, sub in 0usize..32) {
            let id = key(seed).id();
            let mut chars: Vec<u8> = id.to_string().bytes().filter(|&c| c != b'-').collect();
            let replacement = ALPHABET[sub];
            prop_assume!(chars[pos] != replacement);
            chars[pos] = replacement;
            let typo = String::from_utf8(chars).unwrap();
            prop_assert!(typo.parse::<NodeId>().is_err());
        }

        #[test]
        fn adjacent_swaps_within_a_group_are_caught(seed in any::<u64>(), group in 0usize..4, at in 0usize..12) {
            let id = key(seed).id();
            let mut chars: Vec<u8> = id.to_string().bytes().filter(|&c| c != b'-').collect();
            let i = group * 14 + at;
            prop_assume!(chars[i] != chars[i + 1]);
            // Luhn mod 32's one blind spot: swapping code points 0 and 31 ('A' and '7').
            prop_assume!(!matches!((chars[i], chars[i + 1]), (b'A', b'7') | (b'7', b'A')));
            chars.swap(i, i + 1);
            let typo = String::from_utf8(chars).unwrap();
            prop_assert!(typo.parse::<NodeId>().is_err());
        }

        #[test]
        fn any_typed_beginning_folds_to_a_beginning_of_the_id(
            seed in any::<u64>(),
            len in 1usize..=63,
            lower in any::<u64>(),
            lookalike in any::<u64>(),
            spaces in any::<bool>(),
        ) {
            let id = key(seed).id();
            let whole = fold_typed_id(&id.to_string());
            // The beginning as a person might type it: some letters lower case, O, I and B as
            // 0, 1 and 8, the dashes as spaces.
            let typed: String = id.to_string()[..len]
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    let c = match (c, (lookalike >> (i % 64)) & 1 == 1) {
                        ('O', true) => '0',
                        ('I', true) => '1',
                        ('B', true) => '8',
                        (c, _) => c,
                    };
                    match c {
                        '-' if spaces => ' ',
                        c if (lower >> (i % 64)) & 1 == 1 => c.to_ascii_lowercase(),
                        c => c,
                    }
                })
                .collect();
            let folded = fold_typed_id(&typed);
            prop_assert!(whole.starts_with(&folded), "{typed} -> {folded}, not a beginning of {whole}");
            prop_assert_eq!(folded.len(), len - len / 8);
            if len == 63 {
                prop_assert_eq!(typed.parse::<NodeId>(), Ok(id));
            }
        }

        #[test]
        fn any_text_parses_or_errors(s in ".{0,80}") {
            let _ = s.parse::<NodeId>();
        }
    }
}
