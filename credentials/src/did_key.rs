//! `did:key` identifiers for Ed25519 keys (W3C did:key method, multicodec `ed25519-pub`).
//!
//! A node's credential-signing identity is its Ed25519 node key written as
//! `did:key:z6Mk…`: `z` (multibase base58btc) + base58btc(0xed 0x01 ‖ 32-byte key). Its only
//! verification method is the same string with `#` and the multibase part as the fragment.

use ed25519_dalek::{SigningKey, VerifyingKey};

/// Multicodec varint prefix of an Ed25519 public key (0xed).
const ED25519_PUB: [u8; 2] = [0xed, 0x01];
/// Multicodec varint prefix of an Ed25519 private key (0x1300).
const ED25519_PRIV: [u8; 2] = [0x80, 0x26];

/// Why a key or identifier could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not `did:key:z…`.
    #[error("`{0}` is not a did:key identifier")]
    NotDidKey(String),
    /// The verification method's fragment names another key than its DID.
    #[error("the verification method `{0}` names a different key in its fragment than in its DID")]
    FragmentMismatch(String),
    /// Not base58btc multibase (`z…`).
    #[error("the key is not written in base58btc multibase (a `z` followed by base58)")]
    NotMultibase,
    /// A multibase value of the wrong kind or length.
    #[error("the key is not a {0}")]
    WrongKind(&'static str),
}

fn decode_multibase(text: &str, prefix: [u8; 2], kind: &'static str) -> Result<[u8; 32], KeyError> {
    let body = text.strip_prefix('z').ok_or(KeyError::NotMultibase)?;
    if body.len() > 64 {
        return Err(KeyError::WrongKind(kind));
    }
    let bytes = bs58::decode(body)
        .into_vec()
        .map_err(|_| KeyError::NotMultibase)?;
    match bytes.split_first_chunk::<2>() {
        Some((p, key)) if *p == prefix && key.len() == 32 => {
            let mut out = [0u8; 32];
            out.copy_from_slice(key);
            Ok(out)
        }
        _ => Err(KeyError::WrongKind(kind)),
    }
}

/// The multibase form of a public key (`z6Mk…`), as used in `publicKeyMultibase`.
pub fn public_key_multibase(key: &VerifyingKey) -> String {
    let mut bytes = ED25519_PUB.to_vec();
    bytes.extend_from_slice(key.as_bytes());
    format!("z{}", bs58::encode(bytes).into_string())
}

/// Read a `publicKeyMultibase` value.
pub fn parse_public_key_multibase(text: &str) -> Result<VerifyingKey, KeyError> {
    let bytes = decode_multibase(text, ED25519_PUB, "Ed25519 public key")?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::WrongKind("valid Ed25519 public key"))
}

/// Read a `secretKeyMultibase`/`privateKeyMultibase` value (multicodec `ed25519-priv`).
pub fn parse_private_key_multibase(text: &str) -> Result<SigningKey, KeyError> {
    decode_multibase(text, ED25519_PRIV, "Ed25519 private key").map(|s| SigningKey::from_bytes(&s))
}

/// The `did:key` of a public key.
pub fn did_key(key: &VerifyingKey) -> String {
    format!("did:key:{}", public_key_multibase(key))
}

/// The verification method of a `did:key`: the DID with its key as the fragment.
pub fn verification_method(key: &VerifyingKey) -> String {
    let mb = public_key_multibase(key);
    format!("did:key:{mb}#{mb}")
}

/// The key a `did:key` (or one of its verification methods) stands for, and the DID itself.
pub fn resolve(did_or_method: &str) -> Result<(String, VerifyingKey), KeyError> {
    let (did, fragment) = match did_or_method.split_once('#') {
        Some((d, f)) => (d, Some(f)),
        None => (did_or_method, None),
    };
    let mb = did
        .strip_prefix("did:key:")
        .ok_or_else(|| KeyError::NotDidKey(did_or_method.to_string()))?;
    if let Some(f) = fragment
        && f != mb
    {
        return Err(KeyError::FragmentMismatch(did_or_method.to_string()));
    }
    Ok((did.to_string(), parse_public_key_multibase(mb)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_round_trips_through_its_did() {
        let key = SigningKey::from_bytes(&[7u8; 32]).verifying_key();
        let did = did_key(&key);
        assert!(did.starts_with("did:key:z6Mk"), "{did}");
        assert_eq!(resolve(&did).unwrap().1, key);
        assert_eq!(resolve(&verification_method(&key)).unwrap(), (did, key));
    }

    #[test]
    fn malformed_identifiers_are_refused() {
        let key = SigningKey::from_bytes(&[7u8; 32]).verifying_key();
        let did = did_key(&key);
        let other = did_key(&SigningKey::from_bytes(&[8u8; 32]).verifying_key());
        let other_mb = other.strip_prefix("did:key:").unwrap();
        assert!(matches!(
            resolve(&format!("{did}#{other_mb}")),
            Err(KeyError::FragmentMismatch(_))
        ));
        assert!(matches!(
            resolve("did:web:example.com"),
            Err(KeyError::NotDidKey(_))
        ));
        assert_eq!(resolve("did:key:6Mk").unwrap_err(), KeyError::NotMultibase);
        assert!(matches!(
            resolve("did:key:z0OIl"),
            Err(KeyError::NotMultibase)
        ));
        assert!(matches!(
            resolve("did:key:z2222"),
            Err(KeyError::WrongKind(_))
        ));
    }
}
