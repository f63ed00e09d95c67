//! Framing: a 4-byte big-endian length, a flags byte, then the encoded message.
//!
//! The length is checked against the frame limit as soon as its four bytes arrive, before any
//! buffer is sized from it, so a hostile length costs nothing.

use crate::codec::{self, CodecError};
use crate::limits::Limits;
use crate::message::Message;

/// Bytes before each frame's payload: length (4) and flags (1).
pub const FRAME_HEADER: usize = 5;

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
    /// The payload is not a valid message.
    #[error("{0}")]
    Codec(#[from] CodecError),
}

/// Encode `msg` as one frame.
pub fn encode_frame(msg: &Message) -> Result<Vec<u8>, FrameError> {
    let payload = codec::encode(msg)?;
    let len = payload.len() + 1;
    let limit = Limits::default().max_frame;
    if len > limit {
        return Err(FrameError::TooLarge { len, limit });
    }
    let mut out = Vec::with_capacity(FRAME_HEADER + payload.len());
    out.extend_from_slice(&(len as u32).to_be_bytes());
    out.push(0);
    out.extend_from_slice(&payload);
    Ok(out)
}

/// Decode one message from a frame's bytes after the length (flags byte first).
pub fn decode_frame_body(body: &[u8], limits: &Limits) -> Result<Message, FrameError> {
    let (&flags, payload) = body.split_first().ok_or(FrameError::Empty)?;
    if flags != 0 {
        return Err(FrameError::UnknownFlags(flags));
    }
    Ok(codec::decode(payload, limits.max_frame)?)
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
