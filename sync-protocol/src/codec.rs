//! The one place that knows the wire encoding.
//!
//! bincode 2.0.1 is frozen upstream, so every use of it stays behind these two functions; swapping
//! the codec changes this file and nothing else. Hashes and signatures never depend on it: they are
//! computed over the explicit byte layouts in [`crate::entry`].

use serde::{Serialize, de::DeserializeOwned};

/// Why bytes could not be decoded into a value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CodecError {
    /// The input is larger than the limit for this kind of value.
    #[error("input of {len} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Input length.
        len: usize,
        /// The limit it exceeded.
        limit: usize,
    },
    /// The bytes are not a valid encoding (truncated, corrupt, or claiming more than they hold).
    #[error("malformed input: {0}")]
    Malformed(String),
    /// A valid value was followed by bytes that belong to nothing.
    #[error("{0} unexpected trailing bytes after a complete value")]
    TrailingBytes(usize),
    /// The value could not be encoded (never expected for Cairn's own types).
    #[error("could not encode: {0}")]
    Encode(String),
}

// Variable-length integers keep small numbers (sequence numbers, lengths) small on the wire. The
// limit makes bincode refuse, before allocating, any length prefix larger than the input itself.
fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<{ crate::limits::MAX_FRAME }>()
}

/// Encode a value.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    bincode::serde::encode_to_vec(value, config()).map_err(|e| CodecError::Encode(e.to_string()))
}

/// How many bytes [`encode`] would give for `value`, without allocating them: a writer that
/// gathers values up to a byte budget can check before it encodes.
pub fn encoded_len<T: Serialize>(value: &T) -> Result<usize, CodecError> {
    let mut size = bincode::enc::write::SizeWriter::default();
    bincode::serde::encode_into_writer(value, &mut size, config())
        .map_err(|e| CodecError::Encode(e.to_string()))?;
    Ok(size.bytes_written)
}

/// Decode a value from exactly `bytes`, refusing inputs longer than `limit` and trailing bytes.
pub fn decode<T: DeserializeOwned>(bytes: &[u8], limit: usize) -> Result<T, CodecError> {
    decode_borrowed(bytes, limit)
}

/// Decode a value that borrows from `bytes` (a payload read in place), on the terms of
/// [`decode`]: exactly `bytes`, at most `limit` of them.
pub fn decode_borrowed<'a, T: serde::Deserialize<'a>>(
    bytes: &'a [u8],
    limit: usize,
) -> Result<T, CodecError> {
    if bytes.len() > limit {
        return Err(CodecError::TooLarge {
            len: bytes.len(),
            limit,
        });
    }
    let (value, used) = bincode::serde::borrow_decode_from_slice(bytes, config())
        .map_err(|e| CodecError::Malformed(e.to_string()))?;
    if used != bytes.len() {
        return Err(CodecError::TrailingBytes(bytes.len() - used));
    }
    Ok(value)
}
