//! Encrypting bundles to a node, with age (X25519 recipients, STREAM payload).
//!
//! A node's age identity is derived from its Ed25519 node key with the standard conversion
//! (RFC 7748's birational map: the X25519 secret is the clamped first half of SHA-512 of the Ed25519
//! seed, the public key the Montgomery form of the Ed25519 key) — what libsodium's
//! `crypto_sign_ed25519_*_to_curve25519` and age's own `ssh-ed25519` recipients do. So the hub can
//! encrypt to a site knowing only its node id, and no second key has to travel.

use cairn_sync_protocol::{NodeId, NodeKey};
use std::io::{BufRead, Read, Write};
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

/// The most bytes the age header of a bundle may take. Cairn writes about 200: the version line,
/// one X25519 stanza (its argument line and one line of wrapped key) and the MAC line. 16 KiB
/// leaves room for what a later age release may add (grease stanzas, a few more recipients) and
/// is parsed in well under a millisecond.
pub const MAX_HEADER: usize = 16 * 1024;

/// The longest line of that header, newline included. age wraps stanza bodies at 64 columns; an
/// X25519 argument line is 53 bytes and the MAC line 47. The caps matter because age's header
/// parser, given a plain reader, reads a line a byte at a time and parses it again from the start
/// after each byte: a 1 MiB line took over 300 s.
pub const MAX_HEADER_LINE: usize = 1024;

/// Read an age header, through its MAC line (`--- `), within [`MAX_HEADER`] and
/// [`MAX_HEADER_LINE`]; anything longer, or a stream that ends first, is not a bundle.
fn read_header<R: BufRead>(input: &mut R) -> Result<Vec<u8>, OpenError> {
    let mut header = Vec::with_capacity(256);
    loop {
        let start = header.len();
        let room = (MAX_HEADER - start).min(MAX_HEADER_LINE);
        input
            .take(room as u64)
            .read_until(b'\n', &mut header)
            .map_err(OpenError::Io)?;
        // Nothing read, or no newline within the room: the header ends early or runs too long.
        if header.len() == start || header.last() != Some(&b'\n') {
            return Err(OpenError::NotABundle);
        }
        // Stanza lines start with "-> " or are base64, so only the MAC line starts like this.
        if header[start..].starts_with(b"--- ") {
            return Ok(header);
        }
    }
}

/// A decrypting reader of a bundle encrypted to this node.
pub fn decrypt<R: BufRead>(key: &NodeKey, mut input: R) -> Result<impl Read + use<R>, OpenError> {
    let id = identity(key).ok_or(OpenError::NotABundle)?;
    let header = read_header(&mut input)?;
    // Let age parse the header alone first (with a stand-in nonce after it). Where a line is not
    // what it expects (a MAC line too short, say) its parser asks for more, and given the whole
    // stream it would read on through the payload, into memory, looking for the next newline.
    // Alone, the header either parses or is refused at once.
    age::Decryptor::new_buffered(header.as_slice().chain(&[0u8; 16][..])).map_err(|e| {
        match classify(e) {
            OpenError::Io(_) => OpenError::NotABundle,
            other => other,
        }
    })?;
    // It parses within those bytes, so here too: age reads the payload from the rest.
    let dec = age::Decryptor::new_buffered(std::io::Cursor::new(header).chain(input))
        .map_err(classify)?;
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
    fn a_header_age_would_read_on_from_is_refused_without_reading_the_payload() {
        // A MAC line too short for its MAC: age's parser asks for more and, given the whole
        // stream, would read on through the payload looking for the next newline.
        let mut file = b"age-encryption.org/v1\n-> X25519 AAAA\nAAAA\n--- abc\n".to_vec();
        let header = file.len();
        file.extend(std::iter::repeat_n(b'A', 8 << 20));
        let mut rest = file.as_slice();
        assert!(matches!(
            decrypt(&key(1), &mut rest).err(),
            Some(OpenError::NotABundle)
        ));
        assert_eq!(file.len() - rest.len(), header, "read beyond the header");
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
