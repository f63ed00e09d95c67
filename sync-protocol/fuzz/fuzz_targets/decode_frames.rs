//! Any bytes fed to the frame decoder: an error or messages, never a panic or a hang.
#![no_main]

use cairn_sync_protocol::{FrameDecoder, Limits, encode_frame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut d = FrameDecoder::new(Limits::default());
    // Deliver in two pieces to exercise reassembly.
    let split = data.first().map_or(0, |&b| b as usize % (data.len() + 1));
    d.push(&data[..split]);
    let _ = d.next_message();
    d.push(&data[split..]);
    for _ in 0..=data.len() {
        match d.next_message() {
            Ok(Some(m)) => {
                // Whatever decodes re-encodes.
                encode_frame(&m).expect("a decoded message re-encodes");
            }
            Ok(None) | Err(_) => break,
        }
    }
});
