//! The one place that knows the wire encoding.
//!
//! bincode 2.0.1 is frozen upstream, so every use of it stays behind this module's functions and
//! its field-by-field reader ([`InPlace`]); swapping the codec changes this file (and the one
//! reader that follows a stored value's layout with `InPlace`, the node's store, which a property
//! test holds to [`decode`]) and nothing else. Hashes and signatures never depend on it: they are
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
type Config = bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Varint,
    bincode::config::Limit<{ crate::limits::MAX_FRAME }>,
>;

fn config() -> Config {
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

/// Decode a value that may borrow from `bytes` (a `&[u8]` field), on the terms of [`decode`]:
/// exactly `bytes`, at most `limit` of them.
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

/// Reads a value of this codec's layout field by field, in place: for a reader that needs a
/// few fields of many values and must not pay for decoding the rest into owned types (a hub's
/// session passes over thousands of stored entries to send a few; fixed-size byte arrays, read
/// through serde, cost a call per byte). Each method reads the field as `decode` would read
/// the same field of a serde type, and a caller checks its parse against `decode`'s (the
/// node's store does, in a property test).
pub struct InPlace<'a> {
    decoder: bincode::de::DecoderImpl<Remaining<'a>, Config, ()>,
}

impl<'a> InPlace<'a> {
    /// Start reading `bytes`, refusing more than `limit` of them.
    pub fn new(bytes: &'a [u8], limit: usize) -> Result<InPlace<'a>, CodecError> {
        if bytes.len() > limit {
            return Err(CodecError::TooLarge {
                len: bytes.len(),
                limit,
            });
        }
        Ok(InPlace {
            decoder: bincode::de::DecoderImpl::new(Remaining(bytes), config(), ()),
        })
    }

    fn read<T: bincode::BorrowDecode<'a, ()>>(&mut self) -> Result<T, CodecError> {
        T::borrow_decode(&mut self.decoder).map_err(|e| CodecError::Malformed(e.to_string()))
    }

    /// An unsigned integer (`u64`, `usize`, a sequence's length).
    pub fn u64(&mut self) -> Result<u64, CodecError> {
        self.read()
    }

    /// A `u32`.
    pub fn u32(&mut self) -> Result<u32, CodecError> {
        self.read()
    }

    /// Which variant of an enum follows.
    pub fn variant(&mut self) -> Result<u32, CodecError> {
        self.read()
    }

    /// Whether an `Option` holds a value (which follows if so).
    pub fn is_some(&mut self) -> Result<bool, CodecError> {
        match self.read::<u8>()? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(CodecError::Malformed(format!("option tag {other}"))),
        }
    }

    /// A fixed-size byte array (`[u8; N]`, or a newtype around one).
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], CodecError> {
        self.read()
    }

    /// Bytes written with `serde_bytes` (a length, then the bytes), borrowed.
    pub fn bytes(&mut self) -> Result<&'a [u8], CodecError> {
        self.read()
    }

    /// End the read: every byte must have been read.
    pub fn finish(mut self) -> Result<(), CodecError> {
        use bincode::de::Decoder;
        match self.decoder.reader().0.len() {
            0 => Ok(()),
            left => Err(CodecError::TrailingBytes(left)),
        }
    }
}

/// The bytes not read yet ([`bincode::de::read::SliceReader`], which does not say how many
/// are left).
struct Remaining<'a>(&'a [u8]);

impl bincode::de::read::Reader for Remaining<'_> {
    fn read(&mut self, bytes: &mut [u8]) -> Result<(), bincode::error::DecodeError> {
        let taken = bincode::de::read::BorrowReader::take_bytes(self, bytes.len())?;
        bytes.copy_from_slice(taken);
        Ok(())
    }

    fn peek_read(&mut self, n: usize) -> Option<&[u8]> {
        self.0.get(..n)
    }

    fn consume(&mut self, n: usize) {
        self.0 = self.0.get(n..).unwrap_or_default();
    }
}

impl<'a> bincode::de::read::BorrowReader<'a> for Remaining<'a> {
    fn take_bytes(&mut self, length: usize) -> Result<&'a [u8], bincode::error::DecodeError> {
        if length > self.0.len() {
            return Err(bincode::error::DecodeError::UnexpectedEnd {
                additional: length - self.0.len(),
            });
        }
        let (taken, rest) = self.0.split_at(length);
        self.0 = rest;
        Ok(taken)
    }
}
