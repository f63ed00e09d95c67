//! Any bytes fed to a running session after a valid Hello: errors are fine, panics are not, and
//! the store never holds an entry whose feed does not verify.
#![no_main]

use cairn_sync_protocol::message::Hello;
use cairn_sync_protocol::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let me = NodeKey::from_bytes(&[1; 32]);
    let peer = NodeKey::from_bytes(&[2; 32]);
    let mut store = MemoryStore::new();
    let mut s = Session::new(SessionConfig::default(), me.id());
    if s.start(&store, 0).is_err() {
        return;
    }
    let hello = Message::Hello(Hello {
        protocol: PROTOCOL_VERSION,
        node: peer.id(),
        clock_ms: 0,
        vector: VersionVector::new(),
        frozen: vec![],
        tips: vec![],
    });
    let _ = s.receive(&encode_frame(&hello).expect("hello encodes"), &mut store);
    let _ = s.receive(data, &mut store);
    while let Ok(Some(_)) = s.poll_transmit(&store, &Everything) {}
    for (origin, items) in store.feeds() {
        let mut check = FeedChecker::new(origin, None);
        for item in &items {
            check.push(item).expect("stored feeds verify");
        }
        check.finish().expect("stored feeds are covered by signatures");
    }
});
