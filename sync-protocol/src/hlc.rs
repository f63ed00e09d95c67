//! Hybrid logical clocks.
//!
//! Offline sites' wall clocks drift for months, so nothing is *ordered* by time: feeds are ordered
//! by sequence number and documents by automerge's causal history. The clock only records when,
//! roughly, something happened, and never runs backwards on one node even when its wall clock
//! does. The caller supplies the wall-clock reading; this module never reads a clock itself.

use serde::{Deserialize, Serialize};

/// A hybrid logical timestamp: wall-clock milliseconds and a counter for ties.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Hlc {
    /// Milliseconds since the Unix epoch, as the clock believed.
    pub wall_ms: u64,
    /// Distinguishes events within one millisecond, or while the wall clock stands still or runs
    /// backwards.
    pub counter: u32,
}

/// A node's clock state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HybridClock {
    last: Hlc,
}

impl HybridClock {
    /// A clock that has issued nothing yet, or resumes after `last`.
    pub fn resume(last: Hlc) -> HybridClock {
        HybridClock { last }
    }

    /// The last timestamp issued or observed.
    pub fn last(&self) -> Hlc {
        self.last
    }

    /// A timestamp for a local event, strictly after every earlier one from this clock.
    pub fn tick(&mut self, now_ms: u64) -> Hlc {
        self.last = if now_ms > self.last.wall_ms {
            Hlc {
                wall_ms: now_ms,
                counter: 0,
            }
        } else {
            bump(self.last)
        };
        self.last
    }

    /// Take a remote timestamp into account so later local events sort after it.
    pub fn observe(&mut self, remote: Hlc) {
        if remote > self.last {
            self.last = remote;
        }
    }
}

fn bump(t: Hlc) -> Hlc {
    match t.counter.checked_add(1) {
        Some(counter) => Hlc {
            wall_ms: t.wall_ms,
            counter,
        },
        None => Hlc {
            wall_ms: t.wall_ms.saturating_add(1),
            counter: 0,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn never_runs_backwards(readings in proptest::collection::vec((any::<u64>(), proptest::option::of((any::<u64>(), any::<u32>()))), 1..200)) {
            let mut clock = HybridClock::default();
            let mut previous = None;
            for (now, remote) in readings {
                if let Some((wall_ms, counter)) = remote { clock.observe(Hlc { wall_ms, counter }); }
                let before = clock.last();
                let t = clock.tick(now);
                let saturated = Hlc { wall_ms: u64::MAX, counter: u32::MAX };
                prop_assert!(t > before || before == saturated, "clock went from {:?} to {:?}", before, t);
                if let Some(p) = previous { prop_assert!(t > p || p.wall_ms == u64::MAX, "clock went from {:?} to {:?}", p, t); }
                previous = Some(t);
            }
        }
    }

    #[test]
    fn a_clock_months_behind_still_orders_after_what_it_saw() {
        let mut clock = HybridClock::default();
        let from_hub = Hlc {
            wall_ms: 1_800_000_000_000,
            counter: 4,
        };
        clock.observe(from_hub);
        let local = clock.tick(1_780_000_000_000); // about seven months behind
        assert!(local > from_hub);
        assert_eq!(local.wall_ms, from_hub.wall_ms);
    }
}
