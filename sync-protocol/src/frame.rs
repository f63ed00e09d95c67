//! Framing: a 4-byte big-endian length, a flags byte, then the encoded message.
//!
//! The length is checked against the frame limit as soon as its four bytes arrive, before any
//! buffer is sized from it, so a hostile length costs nothing.
//!
//! Flag [`FLAG_DEFLATE`] marks a payload compressed with DEFLATE (RFC 1951). Batches are mostly
//! automerge changes and signed credentials (JSON), which compress well; on a slow link the bytes
//! are the time. Decompression stops at the frame limit, so a small frame cannot expand into an
//! unbounded allocation.

use crate::codec::{self, CodecError};
use crate::limits::Limits;
use crate::message::Message;

/// Bytes before each frame's payload: length (4) and flags (1).
pub const FRAME_HEADER: usize = 5;

/// Flags: the payload is DEFLATE-compressed.
pub const FLAG_DEFLATE: u8 = 0x01;

/// Payloads shorter than this are sent as they are: compressing them saves too little.
pub const COMPRESS_MIN: usize = 512;

/// Why bytes could not be read as a frame.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    /// The declared frame length exceeds the limit.
    #[error("frame of {len} bytes exceeds the {limit}-byte limit")]
    TooLarge {
        /// Declared length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A frame too short to hold its flags byte.
    #[error("empty frame")]
    Empty,
    /// Flags this version does not understand.
    #[error("frame uses unknown flags {0:#04x}")]
    UnknownFlags(u8),
    /// A compressed payload that does not inflate, or inflates beyond the frame limit.
    #[error("compressed frame is damaged or expands beyond the {limit}-byte limit")]
    BadCompression {
        /// The limit on the inflated payload.
        limit: usize,
    },
    /// The payload is not a valid message.
    #[error("{0}")]
    Codec(#[from] CodecError),
}

/// Encode `msg` as one frame, uncompressed.
pub fn encode_frame(msg: &Message) -> Result<Vec<u8>, FrameError> {
    encode_frame_with(msg, false)
}

/// Encode `msg` as one frame; with `compress`, a payload of at least [`COMPRESS_MIN`] bytes is
/// sent DEFLATE-compressed when that makes it smaller.
pub fn encode_frame_with(msg: &Message, compress: bool) -> Result<Vec<u8>, FrameError> {
    let payload = codec::encode(msg)?;
    let limit = Limits::default().max_frame;
    // The inflated payload must fit the receiver's limit too.
    if payload.len() + 1 > limit {
        return Err(FrameError::TooLarge {
            len: payload.len() + 1,
            limit,
        });
    }
    let (flags, body) = match compress.then(|| deflate(&payload)).flatten() {
        Some(smaller) if smaller.len() < payload.len() => (FLAG_DEFLATE, smaller),
        _ => (0, payload),
    };
    let len = body.len() + 1;
    let mut out = Vec::with_capacity(FRAME_HEADER + body.len());
    out.extend_from_slice(&(len as u32).to_be_bytes());
    out.push(flags);
    out.extend_from_slice(&body);
    Ok(out)
}

fn deflate(payload: &[u8]) -> Option<Vec<u8>> {
    if payload.len() < COMPRESS_MIN {
        return None;
    }
    DEFLATE.with(|state| {
        let mut state = state.try_borrow_mut().ok()?;
        state.reset();
        // Room for the worst case (zlib's bound for stored blocks, with margin), so one call
        // finishes the stream. zlib-rs 0.6's fast level can panic when it runs out of room part-way
        // (`send_bits_overflow`, seen with incompressible payloads of a few hundred kilobytes):
        // it is never asked to.
        let mut out = Vec::with_capacity(payload.len() + payload.len() / 8 + 1024);
        let status = state
            .compress_vec(payload, &mut out, flate2::FlushCompress::Finish)
            .ok()?;
        // Anything short of the whole stream is sent as it is (the next frame resets the state).
        (status == flate2::Status::StreamEnd).then_some(out)
    })
}

thread_local! {
    /// One DEFLATE state a thread, reset for each frame. Making one allocates and zeroes about
    /// 300 KB, which cost more than compressing a frame of a few kilobytes: a crowd of 200 site
    /// sessions spent most of the sites' processor time faulting those pages in. Fast level:
    /// most of the gain, a small part of the time of the best level.
    static DEFLATE: std::cell::RefCell<flate2::Compress> =
        std::cell::RefCell::new(flate2::Compress::new(flate2::Compression::fast(), false));
}

/// Inflate at most `limit` bytes; more than that is an error, found without allocating it.
fn inflate(body: &[u8], limit: usize) -> Result<Vec<u8>, FrameError> {
    use std::io::Read;
    let bad = || FrameError::BadCompression { limit };
    let mut decoder = flate2::read::DeflateDecoder::new(body);
    let mut out: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = decoder.read(&mut chunk).map_err(|_| bad())?;
        if n == 0 {
            return Ok(out);
        }
        if out.len() + n > limit {
            return Err(bad());
        }
        if out.capacity() - out.len() < n {
            // Grow by doubling, but never reserve past the limit.
            let want = (out.capacity() * 2).max(out.len() + n).min(limit);
            out.reserve_exact(want - out.len());
        }
        out.extend_from_slice(&chunk[..n]);
    }
}

/// Decode one message from a frame's bytes after the length (flags byte first).
pub fn decode_frame_body(body: &[u8], limits: &Limits) -> Result<Message, FrameError> {
    let (&flags, payload) = body.split_first().ok_or(FrameError::Empty)?;
    match flags {
        0 => Ok(codec::decode(payload, limits.max_frame)?),
        FLAG_DEFLATE => {
            let inflated = inflate(payload, limits.max_frame)?;
            Ok(codec::decode(&inflated, limits.max_frame)?)
        }
        other => Err(FrameError::UnknownFlags(other)),
    }
}

/// Reassembles frames from a byte stream delivered in arbitrary pieces.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    // Bytes before `start` were already returned; compacted lazily so many small frames in one
    // read cost linear time.
    start: usize,
    limits: Limits,
}

impl FrameDecoder {
    /// A decoder enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        FrameDecoder {
            buf: Vec::new(),
            start: 0,
            limits,
        }
    }

    /// Append bytes received from the peer.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes buffered but not yet returned as a message.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// The next complete message, `Ok(None)` if more bytes are needed.
    pub fn next_message(&mut self) -> Result<Option<Message>, FrameError> {
        let pending = &self.buf[self.start..];
        let Some(header) = pending.first_chunk::<4>() else {
            return Ok(None);
        };
        let len = u32::from_be_bytes(*header) as usize;
        if len > self.limits.max_frame {
            return Err(FrameError::TooLarge {
                len,
                limit: self.limits.max_frame,
            });
        }
        if len == 0 {
            return Err(FrameError::Empty);
        }
        if pending.len() < 4 + len {
            return Ok(None);
        }
        let msg = decode_frame_body(&pending[4..4 + len], &self.limits);
        self.start += 4 + len;
        msg.map(Some)
    }
}
