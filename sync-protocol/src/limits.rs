//! Size limits checked before any allocation driven by peer input.

use serde::{Deserialize, Serialize};

/// Largest frame accepted from a peer or a file, in bytes (16 MiB).
pub const MAX_FRAME: usize = 16 * 1024 * 1024;
/// Largest entry payload (one automerge change or control record), in bytes (1 MiB).
pub const MAX_PAYLOAD: usize = 1024 * 1024;

/// The limits a codec, frame decoder or session enforces. Defaults follow `design.md`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Largest frame, header included.
    pub max_frame: usize,
    /// Largest payload of one entry.
    pub max_payload: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame: MAX_FRAME,
            max_payload: MAX_PAYLOAD,
        }
    }
}
