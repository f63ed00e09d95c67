//! The control socket's protocol: length-prefixed frames, versioned, bounded.
//!
//! ```text
//! frame   := kind:u8  length:u32 (big-endian)  payload
//! kind 1  message: JSON of a ClientMessage or ServerMessage, at most MAX_MESSAGE bytes
//! kind 2  data: a chunk of a file, at most MAX_CHUNK bytes
//! kind 3  end: the file being sent is complete (length 0)
//! ```
//!
//! A conversation: the client sends `Hello`; the server answers `Welcome`, or `Refused` (another
//! protocol version, or a user who may not use the socket) and closes. The client sends one
//! `Request`, then the bytes of each file the request declares (data frames, then an end frame,
//! per file, in order). The server sends any number of `Progress` messages and, for a request
//! that writes a file, its bytes (data frames then an end frame), and finally `Done` or
//! `Failed`. Then both close. Every length is checked before anything is allocated; a malformed
//! frame ends that one conversation and nothing else (`fuzz/` and the property test below).

use crate::app::{Progress, Reply, Request};
use serde::{Deserialize, Serialize};

/// The version of this protocol. Raise it whenever [`ClientMessage`], [`ServerMessage`],
/// `Request` or `Reply` change in a way an older peer would misread.
pub const PROTOCOL: u32 = 1;
/// Largest message.
pub const MAX_MESSAGE: usize = 16 << 20;
/// Largest data chunk.
pub const MAX_CHUNK: usize = 256 << 10;

/// Frame kinds.
pub const MESSAGE: u8 = 1;
/// A chunk of a file.
pub const DATA: u8 = 2;
/// The end of a file.
pub const END: u8 = 3;

/// Who signs in for a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "as", rename_all = "kebab-case")]
pub enum SignIn {
    /// A staff member, by name.
    Staff {
        /// Name.
        name: String,
        /// PIN or password.
        secret: String,
    },
    /// A learner, by number.
    Learner {
        /// Number or `L-` id.
        number: String,
        /// PIN.
        secret: String,
    },
}

/// What a client says.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ClientMessage {
    /// The first message.
    Hello {
        /// [`PROTOCOL`] of the client.
        protocol: u32,
        /// The client's `cairn` version, for messages.
        version: String,
    },
    /// The one request of this conversation.
    Request {
        /// Who acts; none for the node's operator.
        sign_in: Option<SignIn>,
        /// What to do.
        request: Box<Request>,
    },
}

/// What the server says.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ServerMessage {
    /// The protocol matches; go on.
    Welcome {
        /// The server's `cairn` version.
        version: String,
    },
    /// Not served, and why.
    Refused {
        /// In words.
        message: String,
    },
    /// How far the request has come.
    Progress(Progress),
    /// Done.
    Done(Reply),
    /// Failed.
    Failed {
        /// The error's kind (`unauthorized`, `storage`…).
        kind: String,
        /// In words.
        message: String,
    },
}

/// A frame as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A message's JSON.
    Message(Vec<u8>),
    /// A chunk of a file.
    Data(Vec<u8>),
    /// The end of a file.
    End,
}

/// Why a frame or message cannot be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProtocolError {
    /// An unknown frame kind.
    #[error("an unknown frame kind {0}")]
    Kind(u8),
    /// A length over the limit for its kind.
    #[error("a frame of {0} bytes is over the limit")]
    TooLong(usize),
    /// An end frame that carries bytes.
    #[error("an end frame carries bytes")]
    EndWithBytes,
    /// A message that is not valid JSON of what was expected.
    #[error("a message could not be read: {0}")]
    Message(String),
}

/// Check a frame header: its kind and whether its length is allowed. Returns the length.
pub fn check_header(head: [u8; 5]) -> Result<usize, ProtocolError> {
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    let max = match head[0] {
        MESSAGE => MAX_MESSAGE,
        DATA => MAX_CHUNK,
        END => 0,
        other => return Err(ProtocolError::Kind(other)),
    };
    if len > max {
        return Err(if head[0] == END {
            ProtocolError::EndWithBytes
        } else {
            ProtocolError::TooLong(len)
        });
    }
    Ok(len)
}

/// The frame of a header and its payload.
pub fn frame(kind: u8, payload: Vec<u8>) -> Frame {
    match kind {
        MESSAGE => Frame::Message(payload),
        DATA => Frame::Data(payload),
        _ => Frame::End,
    }
}

/// Encode a frame.
pub fn encode(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + payload.len());
    out.push(kind);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// Encode a message frame.
pub fn encode_message<T: Serialize>(message: &T) -> Vec<u8> {
    // Serializing these types to JSON cannot fail (no maps with non-string keys).
    encode(MESSAGE, &serde_json::to_vec(message).unwrap_or_default())
}

/// Decode a message's JSON.
pub fn decode_message<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ProtocolError> {
    serde_json::from_slice(bytes).map_err(|e| ProtocolError::Message(e.to_string()))
}

/// Split bytes into the frames they hold (the last may be incomplete: its bytes are left).
/// Used by the fuzzer and tests; the socket reads frame by frame with the same checks.
pub fn split_frames(mut bytes: &[u8]) -> Result<(Vec<Frame>, usize), ProtocolError> {
    let mut frames = Vec::new();
    loop {
        let Some(head) = bytes.get(..5) else {
            return Ok((frames, bytes.len()));
        };
        let len = check_header([head[0], head[1], head[2], head[3], head[4]])?;
        let Some(payload) = bytes.get(5..5 + len) else {
            return Ok((frames, bytes.len()));
        };
        frames.push(frame(head[0], payload.to_vec()));
        bytes = &bytes[5 + len..];
    }
}

/// Read one frame from a blocking reader.
pub fn read_frame(r: &mut impl std::io::Read) -> std::io::Result<Frame> {
    let mut head = [0u8; 5];
    r.read_exact(&mut head)?;
    let len = check_header(head).map_err(std::io::Error::other)?;
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload)?;
    Ok(frame(head[0], payload))
}

/// Read one frame from an async reader.
pub async fn read_frame_async(
    r: &mut (impl tokio::io::AsyncRead + Unpin),
) -> std::io::Result<Frame> {
    use tokio::io::AsyncReadExt;
    let mut head = [0u8; 5];
    r.read_exact(&mut head).await?;
    let len = check_header(head).map_err(std::io::Error::other)?;
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload).await?;
    Ok(frame(head[0], payload))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever bytes arrive, reading them as frames and messages never panics, never
        /// allocates beyond the limits, and either yields frames or a clear error.
        #[test]
        fn any_bytes_are_read_or_refused(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            if let Ok((frames, rest)) = split_frames(&bytes) {
                prop_assert!(rest <= bytes.len());
                for f in frames {
                    if let Frame::Message(m) = f {
                        let _ = decode_message::<ClientMessage>(&m);
                    }
                }
            }
        }

        /// Frames written are read back as written.
        #[test]
        fn frames_round_trip(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..8)) {
            let mut wire = Vec::new();
            for c in &chunks {
                wire.extend(encode(DATA, c));
            }
            wire.extend(encode(END, &[]));
            let (frames, rest) = split_frames(&wire).unwrap();
            prop_assert_eq!(rest, 0);
            prop_assert_eq!(frames.len(), chunks.len() + 1);
            for (f, c) in frames.iter().zip(&chunks) {
                prop_assert_eq!(f, &Frame::Data(c.clone()));
            }
        }
    }

    #[test]
    fn lengths_are_checked_before_allocation() {
        assert_eq!(
            check_header([DATA, 0xff, 0xff, 0xff, 0xff]),
            Err(ProtocolError::TooLong(u32::MAX as usize))
        );
        assert_eq!(check_header([9, 0, 0, 0, 0]), Err(ProtocolError::Kind(9)));
        assert_eq!(
            check_header([END, 0, 0, 0, 1]),
            Err(ProtocolError::EndWithBytes)
        );
        let hello = encode_message(&ClientMessage::Hello {
            protocol: PROTOCOL,
            version: "x".into(),
        });
        let (frames, _) = split_frames(&hello).unwrap();
        let Frame::Message(m) = &frames[0] else {
            panic!()
        };
        assert!(matches!(
            decode_message::<ClientMessage>(m),
            Ok(ClientMessage::Hello {
                protocol: PROTOCOL,
                ..
            })
        ));
    }
}
