//! Any bytes a local client could send the control socket: split into frames with their length
//! checks, every message decoded as a client message — an error or a value, never a panic, a
//! hang or an allocation beyond the frame limits.
#![no_main]

use cairn_node::control::protocol::{ClientMessage, Frame, decode_message, split_frames};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((frames, _)) = split_frames(data) {
        for f in frames {
            if let Frame::Message(m) = f {
                if let Ok(message) = decode_message::<ClientMessage>(&m) {
                    // Whatever decodes re-encodes.
                    let _ = cairn_node::control::protocol::encode_message(&message);
                }
            }
        }
    }
    // The message decoder on its own, on the raw bytes.
    let _ = decode_message::<ClientMessage>(data);
});
