//! Batch slow start: on a link that is cut before one full-size batch could cross, a session
//! still gets something acknowledged and kept, so repeated sessions make progress. (Found by the
//! slow-link benchmark: 256 KiB batches on a 64 kbit/s link cut every 30 s never completed.)

mod common;

use cairn_sync_protocol::*;
use common::*;

#[test]
fn a_link_cut_before_one_full_batch_still_moves_entries_and_sessions_converge() {
    let mut a = Replica::new(1);
    let mut b = Replica::new(2);
    for i in 0..200u32 {
        a.write((i % 7) as u8, vec![(i % 251) as u8; 4096], 10 + i as u64);
    }
    let (a_id, b_id) = (a.id(), b.id());
    // Less than one full 256 KiB batch gets through per connection.
    let cut = Faults {
        cut_after: Some(200_000),
        ..Faults::none()
    };
    let mut sessions = 0;
    let mut held = Vec::new();
    loop {
        sessions += 1;
        let (ca, cb) = (config_for(&a, b_id, true), config_for(&b, a_id, true));
        let (outcome, ..) = run_session(
            Side {
                replica: &mut a,
                config: ca,
                scope: Everything,
            },
            Side {
                replica: &mut b,
                config: cb,
                scope: Everything,
            },
            &cut,
            10_000,
        );
        held.push(b.store.vector().unwrap().total());
        if outcome.finished {
            break;
        }
        assert!(sessions < 20, "no progress: {held:?}");
    }
    // The first cut session already kept entries, and every session added some.
    assert!(held[0] > 0, "{held:?}");
    assert!(held.windows(2).all(|w| w[1] > w[0]), "{held:?}");
    assert_eq!(b.store.vector().unwrap().total(), 200);
    assert_eq!(SessionConfig::default().batch_bytes, 256 * 1024);
}

/// `buffered_input` is what a driver reads to decide where to run `receive` (on the async worker
/// for small input, off it for a large frame): the bytes of a frame still arriving, none once it
/// has been handled.
#[test]
fn buffered_input_counts_the_bytes_of_a_frame_still_arriving() {
    let mut a = Replica::new(1);
    let mut b = Replica::new(2);
    for i in 0..20u32 {
        a.write(1, vec![(i % 251) as u8; 1000], 10 + i as u64);
    }
    let (a_id, b_id) = (a.id(), b.id());
    let mut sa = Session::new(config_for(&a, b_id, true), a_id);
    let mut sb = Session::new(config_for(&b, a_id, true), b_id);
    sa.start(&a.store, 0).unwrap();
    sb.start(&b.store, 0).unwrap();
    for f in sent(&mut sb, &b.store) {
        sa.receive(&f, &mut a.store).unwrap();
    }
    let hello_and_batches = sent(&mut sa, &a.store);
    assert!(hello_and_batches.len() >= 2, "a Hello and a batch");
    for f in &hello_and_batches {
        let half = f.len() / 2;
        assert_eq!(sb.buffered_input(), 0);
        sb.receive(&f[..half], &mut b.store).unwrap();
        assert_eq!(sb.buffered_input(), half);
        sb.receive(&f[half..], &mut b.store).unwrap();
        assert_eq!(sb.buffered_input(), 0);
    }
    assert_eq!(b.store.vector().unwrap().total(), 20);
}
