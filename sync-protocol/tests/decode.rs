//! Hostile bytes: any input decodes to a clear error or a valid message — never a panic, a hang,
//! or an allocation beyond the frame limit. A global allocator records the largest single
//! allocation made while decoding.

mod common;

use cairn_sync_protocol::message::{
    Ack, Batch, ErrorCode, ErrorMessage, Hello, Item, Refusal, Run, Skip, WireAuth, WireEntry,
};
use cairn_sync_protocol::*;
use proptest::prelude::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

struct Tracking;
static TRACK: AtomicBool = AtomicBool::new(false);
static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if TRACK.load(Ordering::Relaxed) {
            LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if TRACK.load(Ordering::Relaxed) {
            LARGEST.fetch_max(new_size, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Tracking = Tracking;

// Tests in this file run one at a time (the allocator statistics are global).
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Decode `bytes` as a stream of frames; return the largest allocation made while doing so.
fn decode_all(bytes: &[u8]) -> (Vec<Result<Message, FrameError>>, usize) {
    let mut d = FrameDecoder::new(Limits::default());
    d.push(bytes);
    LARGEST.store(0, Ordering::Relaxed);
    TRACK.store(true, Ordering::Relaxed);
    let mut out = Vec::new();
    // Each successful message consumes at least one byte, so this terminates; bound it anyway.
    for _ in 0..=bytes.len() {
        match d.next_message() {
            Ok(Some(m)) => out.push(Ok(m)),
            Ok(None) => break,
            Err(e) => {
                out.push(Err(e));
                break;
            }
        }
    }
    TRACK.store(false, Ordering::Relaxed);
    (out, LARGEST.load(Ordering::Relaxed))
}

/// The allocation bound for decoding `input_len` bytes: proportional to the input (serde may
/// preallocate a little per claimed element, capped by the codec's limit), never the claims.
fn bound(input_len: usize) -> usize {
    (input_len * 64)
        .max(1024 * 1024)
        .min(Limits::default().max_frame)
}

fn sample_messages() -> Vec<Message> {
    let mut r = common::Replica::new(5);
    let entries: Vec<StoredEntry> = (0..3)
        .map(|i| r.write(i, vec![i; 40], 100 + i as u64))
        .collect();
    let run = Run {
        origin: entries[0].entry.origin,
        first_seq: 1,
        prev: Hash32::ZERO,
        items: vec![
            Item::Entry(WireEntry {
                hlc: entries[0].entry.hlc,
                body: entries[0].entry.body.clone(),
                auth: None,
            }),
            Item::Skip(Skip {
                count: 1,
                last_prev: entries[0].hash,
                last_hlc: entries[1].entry.hlc,
                last_body_hash: entries[1].entry.body.hash(),
                auth: None,
            }),
            Item::Entry(WireEntry {
                hlc: entries[2].entry.hlc,
                body: entries[2].entry.body.clone(),
                auth: match entries[2].auth {
                    Some(Auth::Origin(s)) => Some(WireAuth::Origin(s)),
                    _ => None,
                },
            }),
        ],
    };
    vec![
        Message::Hello(Hello {
            protocol: PROTOCOL_VERSION,
            node: r.id(),
            clock_ms: 42,
            vector: r.store.vector().unwrap(),
            frozen: vec![run.origin],
            tips: vec![[7; 8]],
        }),
        Message::Batch(Batch {
            id: 7,
            runs: vec![run.clone()],
        }),
        Message::Ack(Ack {
            batch: 7,
            held: vec![(run.origin, 3)],
            refused: vec![(run.origin, Refusal::Gap)],
        }),
        Message::Done,
        Message::Error(ErrorMessage {
            code: ErrorCode::Forged,
            detail: "bad signature".into(),
        }),
    ]
}

#[test]
fn valid_frames_round_trip_in_any_chunking() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let msgs = sample_messages();
    let stream: Vec<u8> = msgs.iter().flat_map(|m| encode_frame(m).unwrap()).collect();
    for chunk in [1, 2, 3, 7, 64, stream.len()] {
        let mut d = FrameDecoder::new(Limits::default());
        let mut got = Vec::new();
        for piece in stream.chunks(chunk) {
            d.push(piece);
            while let Some(m) = d.next_message().unwrap() {
                got.push(m);
            }
        }
        assert_eq!(got, msgs);
    }
}

/// A batch of entries whose payloads compress well, as automerge changes and credentials do.
fn compressible_batch() -> Message {
    let mut r = common::Replica::new(6);
    let text = b"Submission: a paragraph describing the work done for the achievement. ".repeat(20);
    let entries: Vec<StoredEntry> = (0..4)
        .map(|i| r.write(i, text.clone(), 100 + i as u64))
        .collect();
    Message::Batch(Batch {
        id: 1,
        runs: vec![common::run_of(&entries)],
    })
}

#[test]
fn compressed_frames_are_smaller_and_round_trip_in_any_chunking() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let batch = compressible_batch();
    let plain = encode_frame(&batch).unwrap();
    let packed = encode_frame_with(&batch, true).unwrap();
    assert_eq!(packed[4], cairn_sync_protocol::frame::FLAG_DEFLATE);
    assert!(
        packed.len() * 3 < plain.len(),
        "{} compressed vs {} plain",
        packed.len(),
        plain.len()
    );
    // Small messages are left as they are even when compression is asked for.
    let done = encode_frame_with(&Message::Done, true).unwrap();
    assert_eq!(done, encode_frame(&Message::Done).unwrap());
    let mut msgs = sample_messages();
    msgs.insert(2, batch);
    let stream: Vec<u8> = msgs
        .iter()
        .flat_map(|m| encode_frame_with(m, true).unwrap())
        .collect();
    for chunk in [1, 5, 64, stream.len()] {
        let mut d = FrameDecoder::new(Limits::default());
        let mut got = Vec::new();
        for piece in stream.chunks(chunk) {
            d.push(piece);
            while let Some(m) = d.next_message().unwrap() {
                got.push(m);
            }
        }
        assert_eq!(got, msgs);
    }
}

/// A frame flagged compressed whose body is `body`.
fn deflate_frame(body: &[u8]) -> Vec<u8> {
    let mut frame = ((body.len() + 1) as u32).to_be_bytes().to_vec();
    frame.push(cairn_sync_protocol::frame::FLAG_DEFLATE);
    frame.extend(body);
    frame
}

#[test]
fn a_compressed_frame_that_would_expand_past_the_limit_is_refused_within_it() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    use std::io::Write;
    let limit = Limits::default().max_frame;
    // A few kilobytes that inflate to more than the frame limit: a decompression bomb.
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(&vec![0u8; limit + 1024 * 1024]).unwrap();
    let bomb = enc.finish().unwrap();
    assert!(bomb.len() < limit / 100);
    let (out, largest) = decode_all(&deflate_frame(&bomb));
    assert!(
        matches!(out.as_slice(), [Err(FrameError::BadCompression { .. })]),
        "{out:?}"
    );
    assert!(largest <= limit, "allocated {largest} bytes, limit {limit}");
}

#[test]
fn a_huge_declared_length_is_refused_before_buffering() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (out, largest) = decode_all(&[0xff, 0xff, 0xff, 0xff, 0]);
    assert!(matches!(out.as_slice(), [Err(FrameError::TooLarge { .. })]));
    assert!(
        largest < 4096,
        "allocated {largest} bytes for a 5-byte input"
    );
}

#[test]
fn a_length_prefix_claiming_gigabytes_inside_a_frame_allocates_nothing_large() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // A Batch whose first run claims 2^40 items (bincode varint: 0xfd + u64).
    let mut payload = vec![1u8]; // Message::Batch
    payload.push(7); // batch id
    payload.extend([0xfd, 0, 0, 0, 0, 1, 0, 0, 0]); // runs: 2^32 claimed
    let mut frame = ((payload.len() + 1) as u32).to_be_bytes().to_vec();
    frame.push(0);
    frame.extend(&payload);
    let (out, largest) = decode_all(&frame);
    assert!(
        matches!(out.as_slice(), [Err(FrameError::Codec(_))]),
        "{out:?}"
    );
    assert!(
        largest <= bound(frame.len()),
        "allocated {largest} bytes for {} input bytes",
        frame.len()
    );
}

#[derive(Debug, Clone)]
enum Damage {
    Flip { at: usize, bit: u8 },
    Truncate { to: usize },
    Extend { bytes: Vec<u8> },
    Overwrite { at: usize, bytes: Vec<u8> },
}

fn damage() -> impl Strategy<Value = Vec<Damage>> {
    proptest::collection::vec(
        prop_oneof![
            (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Damage::Flip { at, bit }),
            any::<usize>().prop_map(|to| Damage::Truncate { to }),
            proptest::collection::vec(any::<u8>(), 1..64)
                .prop_map(|bytes| Damage::Extend { bytes }),
            (
                any::<usize>(),
                proptest::collection::vec(any::<u8>(), 1..12)
            )
                .prop_map(|(at, bytes)| Damage::Overwrite { at, bytes }),
        ],
        1..6,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_decode_to_an_error_or_a_message(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let (_, largest) = decode_all(&bytes);
        prop_assert!(largest <= bound(bytes.len()), "allocated {} for {} bytes", largest, bytes.len());
        // And with a plausible frame header in front, so the payload decoder is reached.
        let mut framed = ((bytes.len() + 1) as u32).to_be_bytes().to_vec();
        framed.push(0);
        framed.extend(&bytes);
                let (_, largest) = decode_all(&framed);
        prop_assert!(largest <= bound(framed.len()), "allocated {} for {} bytes", largest, framed.len());
        // And flagged compressed: the inflater meets arbitrary bytes. It may legitimately
        // produce up to the frame limit, never more.
        let (_, largest) = decode_all(&deflate_frame(&bytes));
        prop_assert!(largest <= Limits::default().max_frame, "allocated {} for {} bytes", largest, bytes.len());
    }

    #[test]
    fn damaged_compressed_frames_decode_to_an_error_or_a_message(damage in damage()) {
        let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let mut frame = encode_frame_with(&compressible_batch(), true).unwrap();
        for d in &damage {
            match d {
                Damage::Flip { at, bit } => { let i = 5 + at % (frame.len() - 5); frame[i] ^= 1 << bit; }
                Damage::Truncate { to } => { let n = 5 + to % (frame.len() - 4); frame.truncate(n); }
                Damage::Extend { bytes } => frame.extend(bytes),
                Damage::Overwrite { at, bytes } => {
                    let start = 5 + at % (frame.len() - 5).max(1);
                    for (i, b) in bytes.iter().enumerate() {
                        if let Some(x) = frame.get_mut(start + i) { *x = *b; }
                    }
                }
            }
            if frame.len() <= 5 { break; }
        }
        let len = (frame.len() - 4) as u32;
        frame[..4].copy_from_slice(&len.to_be_bytes());
        let (out, largest) = decode_all(&frame);
        prop_assert!(largest <= Limits::default().max_frame, "allocated {} for {} bytes", largest, frame.len());
        for m in out.into_iter().flatten() {
            prop_assert!(encode_frame(&m).is_ok());
        }
    }

    #[test]
    fn damaged_valid_frames_decode_to_an_error_or_a_message(which in 0usize..5, damage in damage(), reframe in any::<bool>()) {
        let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let msg = &sample_messages()[which];
        let mut frame = encode_frame(msg).unwrap();
        for d in &damage {
            match d {
                Damage::Flip { at, bit } => { if !frame.is_empty() { let i = at % frame.len(); frame[i] ^= 1 << bit; } }
                Damage::Truncate { to } => { let n = to % (frame.len() + 1); frame.truncate(n); }
                Damage::Extend { bytes } => frame.extend(bytes),
                Damage::Overwrite { at, bytes } => {
                    if !frame.is_empty() {
                        let start = at % frame.len();
                        for (i, b) in bytes.iter().enumerate() {
                            if let Some(x) = frame.get_mut(start + i) { *x = *b; }
                        }
                    }
                }
            }
        }
        if reframe && frame.len() >= 4 {
            // Fix up the length so the damage reaches the payload decoder.
            let len = (frame.len() - 4) as u32;
            frame[..4].copy_from_slice(&len.to_be_bytes());
        }
        let (out, largest) = decode_all(&frame);
        prop_assert!(largest <= bound(frame.len()), "allocated {} for {} bytes", largest, frame.len());
        // Whatever decoded is a well-formed message that re-encodes to a valid frame.
        for m in out.into_iter().flatten() {
            prop_assert!(encode_frame(&m).is_ok());
        }
    }
}

#[test]
fn a_payload_over_the_limit_is_refused_by_verification() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = common::Replica::new(9);
    let e = r.write(1, vec![0; Limits::default().max_payload + 1], 1);
    let run = Run {
        origin: e.entry.origin,
        first_seq: 1,
        prev: Hash32::ZERO,
        items: vec![Item::Entry(WireEntry {
            hlc: e.entry.hlc,
            body: e.entry.body.clone(),
            auth: match e.auth {
                Some(Auth::Origin(s)) => Some(WireAuth::Origin(s)),
                _ => None,
            },
        })],
    };
    let err = verify_run(run, r.id(), None, &Limits::default()).unwrap_err();
    assert!(matches!(err, ChainError::PayloadTooLarge { .. }), "{err}");
}

/// A payload that compresses well (repeated text), or barely (random bytes, up to a few
/// hundred kilobytes, as a bundle's frames carry), of any size: its length and a seed, made
/// into bytes inside the test, under [`SERIAL`], so the tracking allocator of the other tests
/// never sees it.
fn payload() -> impl Strategy<Value = (bool, usize, u64)> {
    prop_oneof![
        (1usize..200).prop_map(|n| (true, n, 0)),
        (0usize..6000, any::<u64>()).prop_map(|(n, seed)| (false, n, seed)),
        (1usize..400_000, any::<u64>()).prop_map(|(n, seed)| (false, n, seed)),
    ]
}

fn payload_bytes((text, n, seed): (bool, usize, u64)) -> Vec<u8> {
    use rand::{RngCore, SeedableRng};
    if text {
        return b"work done for the achievement; ".repeat(n);
    }
    let mut bytes = vec![0u8; n];
    rand::rngs::StdRng::seed_from_u64(seed).fill_bytes(&mut bytes);
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// The compressor is kept per thread and reset between frames: frames made one after
    /// another, compressible or not, each decode to their own message, none carrying anything
    /// of the one before.
    #[test]
    fn frames_compressed_one_after_another_decode_to_their_own_messages(
        payloads in proptest::collection::vec(payload(), 1..8),
    ) {
        let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let mut r = common::Replica::new(7);
        let msgs: Vec<Message> = payloads
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let e = r.write(i as u8, payload_bytes(p), 100 + i as u64);
                Message::Batch(Batch { id: i as u64, runs: vec![common::run_of(&[e])] })
            })
            .collect();
        let stream: Vec<u8> = msgs
            .iter()
            .flat_map(|m| encode_frame_with(m, true).unwrap())
            .collect();
        let mut d = FrameDecoder::new(Limits::default());
        d.push(&stream);
        let mut got = Vec::new();
        while let Some(m) = d.next_message().unwrap() {
            got.push(m);
        }
        prop_assert_eq!(got, msgs);
        // And the state left behind still compresses the next frame that compresses well.
        let next = encode_frame_with(&compressible_batch(), true).unwrap();
        prop_assert_eq!(next[4], cairn_sync_protocol::frame::FLAG_DEFLATE);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// `codec::encoded_len` (how a writer measures a value against a byte budget before it
    /// encodes) is the length `codec::encode` gives, for entries of any size and for lists.
    #[test]
    fn the_encoded_length_is_the_length_of_the_encoding(
        sizes in proptest::collection::vec(0..70_000usize, 1..6),
    ) {
        let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let mut r = common::Replica::new(9);
        let entries: Vec<StoredEntry> = sizes
            .iter()
            .enumerate()
            .map(|(i, n)| r.write(i as u8, vec![i as u8; *n], 100 + i as u64))
            .collect();
        for e in &entries {
            prop_assert_eq!(codec::encoded_len(e).unwrap(), codec::encode(e).unwrap().len());
        }
        prop_assert_eq!(
            codec::encoded_len(&entries).unwrap(),
            codec::encode(&entries).unwrap().len()
        );
    }
}
