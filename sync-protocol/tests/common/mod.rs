//! A simulated link between two in-memory nodes, with faults, for driving sessions in tests.
#![allow(dead_code)]

use cairn_sync_protocol::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// One replica: a key and a store, plus the checkpoints it keeps of what each peer holds.
#[derive(Clone)]
pub struct Replica {
    pub key: NodeKey,
    pub store: MemoryStore,
    pub known: std::collections::BTreeMap<NodeId, VersionVector>,
    pub hlc: HybridClock,
}

impl Replica {
    pub fn new(seed: u64) -> Replica {
        Replica {
            key: NodeKey::generate(&mut StdRng::seed_from_u64(seed)),
            store: MemoryStore::new(),
            known: Default::default(),
            hlc: HybridClock::default(),
        }
    }

    pub fn id(&self) -> NodeId {
        self.key.id()
    }

    pub fn write(&mut self, doc: u8, data: Vec<u8>, now: u64) -> StoredEntry {
        let hlc = self.hlc.tick(now);
        let body = Body {
            doc: DocId([doc; 16]),
            user: UserId([7; 16]),
            kind: BodyKind::Change,
            data,
        };
        self.store.author(&self.key, 0, hlc, body)
    }
}

/// Faults applied to frames in flight.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Stop delivering after this many bytes in total (a cut connection).
    pub cut_after: Option<usize>,
    /// Per-frame probabilities, in percent.
    pub drop_pct: u8,
    pub duplicate_pct: u8,
    pub reorder_pct: u8,
    pub flip_pct: u8,
    /// Deliver frames in random-sized pieces.
    pub split: bool,
    pub seed: u64,
}

impl Faults {
    pub fn none() -> Faults {
        Faults::default()
    }
}

/// How a simulated session ended.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub finished: bool,
    pub failed: bool,
    /// Times a side waited for the other side's answer: counts direction changes of the
    /// conversation, starting from the first side's first flight.
    pub flights: u32,
    pub bytes_a_to_b: u64,
    pub bytes_b_to_a: u64,
    pub messages: u64,
    /// The first error either side reported.
    pub error: Option<String>,
}

pub struct Side<'a, F: Scope> {
    pub replica: &'a mut Replica,
    pub config: SessionConfig,
    pub scope: F,
}

/// A side's view after the session: events it saw.
pub type Events = Vec<Event>;

fn deliver(
    frames: Vec<Vec<u8>>,
    faults: &Faults,
    rng: &mut StdRng,
    delivered: &mut usize,
    held_back: &mut Vec<Vec<u8>>,
) -> (Vec<Vec<u8>>, bool) {
    // Returns the byte chunks to hand to the receiver, and whether the link was cut.
    let mut out = Vec::new();
    let mut queue: Vec<Vec<u8>> = std::mem::take(held_back);
    queue.extend(frames);
    for mut f in queue {
        if rng.gen_range(0..100) < faults.drop_pct {
            continue;
        }
        if rng.gen_range(0..100) < faults.reorder_pct {
            held_back.push(f);
            continue;
        }
        if rng.gen_range(0..100) < faults.flip_pct && !f.is_empty() {
            let i = rng.gen_range(0..f.len());
            f[i] ^= 1 << rng.gen_range(0..8);
        }
        let copies = if rng.gen_range(0..100) < faults.duplicate_pct {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let mut rest = f.as_slice();
            while !rest.is_empty() {
                let n = if faults.split {
                    rng.gen_range(1..=rest.len())
                } else {
                    rest.len()
                };
                let (piece, tail) = rest.split_at(n);
                if let Some(limit) = faults.cut_after
                    && *delivered + piece.len() > limit
                {
                    let keep = limit.saturating_sub(*delivered);
                    out.push(piece[..keep].to_vec());
                    *delivered = limit;
                    return (out, true);
                }
                *delivered += piece.len();
                out.push(piece.to_vec());
                rest = tail;
            }
        }
    }
    (out, false)
}

/// Run one session between `a` and `b` over a simulated link, at most `max_steps` exchanges.
/// Checkpoints (what the peer acknowledged) are recorded in each replica's `known` map.
pub fn run_session<FA: Scope, FB: Scope>(
    a: Side<'_, FA>,
    b: Side<'_, FB>,
    faults: &Faults,
    max_steps: usize,
) -> (Outcome, Events, Events) {
    run_session_with(a, b, faults, max_steps, false)
}

/// [`run_session`], with `b` answering `a`'s `Hello` (`Session::start_answering`) when
/// `b_answers`, as a hub answers a site.
pub fn run_session_with<FA: Scope, FB: Scope>(
    a: Side<'_, FA>,
    b: Side<'_, FB>,
    faults: &Faults,
    max_steps: usize,
    b_answers: bool,
) -> (Outcome, Events, Events) {
    let mut rng = StdRng::seed_from_u64(faults.seed);
    let (a_id, b_id) = (a.replica.id(), b.replica.id());
    let mut sa = Session::new(a.config, a_id);
    let mut sb = Session::new(b.config, b_id);
    let mut outcome = Outcome::default();
    let (mut ev_a, mut ev_b) = (Vec::new(), Vec::new());
    let b_started = if b_answers {
        sb.start_answering(&b.replica.store, &b.scope, 1)
    } else {
        sb.start(&b.replica.store, 1)
    };
    if sa.start(&a.replica.store, 1).is_err() || b_started.is_err() {
        outcome.failed = true;
        return (outcome, ev_a, ev_b);
    }
    let mut delivered = 0usize;
    let (mut held_ab, mut held_ba) = (Vec::new(), Vec::new());
    let mut last_direction = None;
    let mut cut = false;
    // A side that is finished once it has sent everything closes the connection, as the node's
    // driver does: it reads nothing more, so the other side must finish with what it has.
    let (mut a_closed, mut b_closed) = (false, false);
    for _ in 0..max_steps {
        let mut progressed = false;
        // a → b
        let mut frames = Vec::new();
        loop {
            match sa.poll_transmit(&a.replica.store, &a.scope) {
                Ok(Some(f)) => frames.push(f),
                Ok(None) => break,
                Err(e) => {
                    outcome.failed = true;
                    outcome.error.get_or_insert(format!("a sending: {e}"));
                    break;
                }
            }
        }
        if !frames.is_empty() {
            if last_direction != Some(true) {
                outcome.flights += 1;
                last_direction = Some(true);
            }
            progressed = true;
            outcome.messages += frames.len() as u64;
            outcome.bytes_a_to_b += frames.iter().map(|f| f.len() as u64).sum::<u64>();
        }
        a_closed |= sa.is_finished();
        let (chunks, was_cut) = deliver(frames, faults, &mut rng, &mut delivered, &mut held_ab);
        for c in chunks.into_iter().filter(|_| !b_closed) {
            if let Err(e) = sb.receive(&c, &mut b.replica.store) {
                outcome.failed = true;
                outcome.error.get_or_insert(format!("b: {e}"));
            }
        }
        cut |= was_cut;
        while let Some(e) = sa.poll_event() {
            ev_a.push(e);
        }
        while let Some(e) = sb.poll_event() {
            ev_b.push(e);
        }
        if cut || outcome.failed {
            break;
        }
        // b → a
        let mut frames = Vec::new();
        loop {
            match sb.poll_transmit(&b.replica.store, &b.scope) {
                Ok(Some(f)) => frames.push(f),
                Ok(None) => break,
                Err(e) => {
                    outcome.failed = true;
                    outcome.error.get_or_insert(format!("b sending: {e}"));
                    break;
                }
            }
        }
        if !frames.is_empty() {
            if last_direction != Some(false) {
                outcome.flights += 1;
                last_direction = Some(false);
            }
            progressed = true;
            outcome.messages += frames.len() as u64;
            outcome.bytes_b_to_a += frames.iter().map(|f| f.len() as u64).sum::<u64>();
        }
        b_closed |= sb.is_finished();
        let (chunks, was_cut) = deliver(frames, faults, &mut rng, &mut delivered, &mut held_ba);
        for c in chunks.into_iter().filter(|_| !a_closed) {
            if let Err(e) = sa.receive(&c, &mut a.replica.store) {
                outcome.failed = true;
                outcome.error.get_or_insert(format!("a: {e}"));
            }
        }
        cut |= was_cut;
        while let Some(e) = sa.poll_event() {
            ev_a.push(e);
        }
        while let Some(e) = sb.poll_event() {
            ev_b.push(e);
        }
        if sa.is_finished() && sb.is_finished() {
            outcome.finished = true;
            break;
        }
        if cut || outcome.failed || (!progressed && held_ab.is_empty() && held_ba.is_empty()) {
            break;
        }
    }
    record_checkpoints(a.replica, b_id, &ev_a);
    record_checkpoints(b.replica, a_id, &ev_b);
    (outcome, ev_a, ev_b)
}

fn record_checkpoints(r: &mut Replica, peer: NodeId, events: &[Event]) {
    // The same rule as `Session::peer_holds`: the peer's Hello, raised by its acknowledgements.
    let known = r.known.entry(peer).or_default();
    for e in events {
        match e {
            Event::PeerHello { vector, .. } => *known = vector.clone(),
            Event::PeerHolds { origin, seq } => known.raise(*origin, *seq),
            _ => {}
        }
    }
}

/// Session config for a full replica that uses its checkpoint of the peer, if any.
pub fn config_for(r: &Replica, peer: NodeId, optimistic: bool) -> SessionConfig {
    SessionConfig {
        known_peer: if optimistic {
            r.known.get(&peer).cloned()
        } else {
            None
        },
        ..SessionConfig::default()
    }
}

/// Everything `session` has to send now.
pub fn sent(session: &mut Session, store: &MemoryStore) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| session.poll_transmit(store, &Everything).unwrap()).collect()
}

/// A run of `entries` as the origin would send it, each signed.
pub fn run_of(entries: &[StoredEntry]) -> message::Run {
    use message::{Item, Run, WireAuth, WireEntry};
    Run {
        origin: entries[0].entry.origin,
        first_seq: entries[0].entry.seq,
        prev: entries[0].entry.prev,
        items: entries
            .iter()
            .map(|e| {
                Item::Entry(WireEntry {
                    hlc: e.entry.hlc,
                    body: e.entry.body.clone(),
                    auth: match e.auth {
                        Some(Auth::Origin(s)) => Some(WireAuth::Origin(s)),
                        _ => None,
                    },
                })
            })
            .collect(),
    }
}
