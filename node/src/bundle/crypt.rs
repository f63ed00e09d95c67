//! Encrypting bundles to a node, with age (X25519 recipients, STREAM payload).
//!
//! A node's age identity is derived from its Ed25519 node key with the standard conversion
//! (RFC 7748's birational map: the X25519 secret is the clamped first half of SHA-512 of the Ed25519
//! seed, the public key the Montgomery form of the Ed25519 key) — what libsodium's
//! `crypto_sign_ed25519_*_to_curve25519` and age's own `ssh-ed25519` recipients do. So the hub can
//! encrypt to a site knowing only its node id, and no second key has to travel.

use cairn_sync_protocol::{NodeId, NodeKey};
use std::io::{Read, Write};
use std::str::FromStr;

/// Why a bundle could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Encrypted to some other node.
    #[error("this bundle was made for another node (it cannot be decrypted with this node's key)")]
    NotForUs,
    /// Not an age file at all, or damaged in its header.
    #[error("this is not a Cairn bundle, or its beginning is damaged")]
    NotABundle,
    /// The encrypted payload was altered or cut short.
    #[error("the bundle is damaged: it was truncated or altered after it was written")]
    Damaged,
    /// Reading failed.
    #[error("cannot read the bundle: {0}")]
    Io(std::io::Error),
}

fn bech(hrp: &str, bytes: &[u8]) -> String {
    // The HRPs are constants; encoding 32 bytes cannot fail.
    let hrp = bech32::Hrp::parse_unchecked(hrp);
    bech32::encode::<bech32::Bech32>(hrp, bytes).unwrap_or_default()
}

/// The age recipient of a node.
pub fn recipient(node: &NodeId) -> Option<age::x25519::Recipient> {
    let montgomery = node.verifying_key().ok()?.to_montgomery();
    age::x25519::Recipient::from_str(&bech("age", montgomery.as_bytes())).ok()
}

/// This node's age identity.
pub fn identity(key: &NodeKey) -> Option<age::x25519::Identity> {
    let scalar = key.signing_key().to_scalar_bytes();
    age::x25519::Identity::from_str(&bech("AGE-SECRET-KEY-", &scalar).to_uppercase()).ok()
}

/// An encrypting writer to `to`; call `finish` on the result when done.
pub fn encrypt_to<W: Write>(to: &NodeId, out: W) -> std::io::Result<age::stream::StreamWriter<W>> {
    let r = recipient(to)
        .ok_or_else(|| std::io::Error::other("the recipient's node id is not a valid key"))?;
    let enc = age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient))
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    enc.wrap_output(out)
}

/// A decrypting reader of a bundle encrypted to this node.
pub fn decrypt<R: Read>(key: &NodeKey, input: R) -> Result<impl Read + use<R>, OpenError> {
    let id = identity(key).ok_or(OpenError::NotABundle)?;
    let dec = age::Decryptor::new(input).map_err(classify)?;
    dec.decrypt(std::iter::once(&id as &dyn age::Identity))
        .map_err(classify)
}

fn classify(e: age::DecryptError) -> OpenError {
    match e {
        age::DecryptError::NoMatchingKeys => OpenError::NotForUs,
        age::DecryptError::InvalidHeader | age::DecryptError::UnknownFormat => {
            OpenError::NotABundle
        }
        age::DecryptError::Io(io) => OpenError::Io(io),
        _ => OpenError::Damaged,
    }
}

/// An error while reading the decrypted stream: age reports tampering and truncation as I/O
/// errors of kind `InvalidData` / `UnexpectedEof`.
pub fn classify_read(e: std::io::Error) -> OpenError {
    match e.kind() {
        std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof => OpenError::Damaged,
        _ => OpenError::Io(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn key(seed: u64) -> NodeKey {
        NodeKey::generate(&mut rand::rngs::StdRng::seed_from_u64(seed))
    }

    #[test]
    fn the_recipient_from_a_node_id_matches_the_identity_from_its_key() {
        for seed in 0..20 {
            let k = key(seed);
            assert_eq!(
                recipient(&k.id()).unwrap().to_string(),
                identity(&k).unwrap().to_public().to_string()
            );
        }
    }

    #[test]
    fn only_the_recipient_can_decrypt() {
        let (a, b) = (key(1), key(2));
        let mut out = Vec::new();
        let mut w = encrypt_to(&a.id(), &mut out).unwrap();
        w.write_all(b"catalog and learners").unwrap();
        w.finish().unwrap();
        let mut plain = Vec::new();
        decrypt(&a, out.as_slice())
            .unwrap()
            .read_to_end(&mut plain)
            .unwrap();
        assert_eq!(plain, b"catalog and learners");
        assert!(matches!(
            decrypt(&b, out.as_slice()).err(),
            Some(OpenError::NotForUs)
        ));
        // Flip a byte of the payload: decryption notices.
        let mut bad = out.clone();
        let n = bad.len();
        bad[n - 5] ^= 1;
        let mut r = decrypt(&a, bad.as_slice()).unwrap();
        let e = r.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(matches!(classify_read(e), OpenError::Damaged));
    }
}
