//! Whose turn it is to run the hub's upkeep. One run at a time (two runs would sign the same
//! award twice), and a run in the background gives way to a run someone is waiting for: a
//! site's session waiting for its site's own run (at 1.96 million entries a new site's first
//! session waited 18 s for a background run signing another crowd's copies: docs/benchmarks.md,
//! round 45), or a person admitting a site, whose key is endorsed there and then. Those runs
//! are counted while they wait, because a mutex cannot say who waits for it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

/// The turns of the hub's upkeep runs.
#[derive(Debug, Default)]
pub(crate) struct UpkeepTurns {
    one_at_a_time: Mutex<()>,
    // Runs waiting for a turn ahead of the background's.
    waiting_ahead: AtomicUsize,
}

/// A turn: the run holding it is the only one until it is dropped.
pub(crate) struct Turn<'a> {
    _held: MutexGuard<'a, ()>,
    turns: &'a UpkeepTurns,
}

impl UpkeepTurns {
    /// A turn after the run under way, whatever it is: for the background, and for the runs
    /// that must do all they can (a bundle carries the copies the hub could sign).
    pub(crate) fn take(&self) -> Turn<'_> {
        Turn {
            _held: self.lock(),
            turns: self,
        }
    }

    /// A turn ahead of the background, for a run someone waits for (the run before a site's
    /// session, a site's admission): counted as waiting until it has the turn, so a background
    /// run under way gives way to it ([`Turn::asked_to_give_way`]).
    pub(crate) fn take_ahead(&self) -> Turn<'_> {
        self.waiting_ahead.fetch_add(1, Ordering::SeqCst);
        let held = self.lock();
        self.waiting_ahead.fetch_sub(1, Ordering::SeqCst);
        Turn {
            _held: held,
            turns: self,
        }
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        // A run that panicked signed nothing half-way (each document is one write), so the turn
        // passes on.
        self.one_at_a_time.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Turn<'_> {
    /// Whether a run taken ahead waits for this turn to end: what a background run asks
    /// between two documents, and gives way to.
    pub(crate) fn asked_to_give_way(&self) -> bool {
        self.turns.waiting_ahead.load(Ordering::SeqCst) > 0
    }
}

#[cfg(test)]
mod tests {
    use super::{Turn, UpkeepTurns};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    /// Wait, up to 30 s, until the run holding `turn` is asked to give way.
    fn until_asked_to_give_way(turn: &Turn<'_>) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !turn.asked_to_give_way() {
            assert!(
                Instant::now() < deadline,
                "the run waiting ahead was never seen by the run holding the turn"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// A run holding the turn learns that a run taken ahead (a session's) waits for it, and
    /// only while it does: the waiting run is counted until it has the turn, not after.
    #[test]
    fn a_run_learns_that_a_session_waits_for_its_turn() {
        let turns = UpkeepTurns::default();
        let background = turns.take();
        assert!(!background.asked_to_give_way(), "nobody waits yet");
        std::thread::scope(|scope| {
            let session = scope.spawn(|| turns.take_ahead().asked_to_give_way());
            until_asked_to_give_way(&background);
            drop(background);
            assert!(
                !session.join().unwrap(),
                "the session still counted as waiting once it had the turn"
            );
        });
        // Turns taken and given back leave nobody counted.
        assert!(!turns.take().asked_to_give_way());
    }

    /// The turn is one at a time, for every kind of run: a run taken ahead never overlaps a
    /// background run.
    #[test]
    fn a_session_gets_the_turn_only_after_the_run_holding_it() {
        let turns = UpkeepTurns::default();
        let background_running = AtomicBool::new(true);
        let background = turns.take();
        std::thread::scope(|scope| {
            let session = scope.spawn(|| {
                let _turn = turns.take_ahead();
                background_running.load(Ordering::SeqCst)
            });
            until_asked_to_give_way(&background);
            background_running.store(false, Ordering::SeqCst);
            drop(background);
            assert!(
                !session.join().unwrap(),
                "the session's run began while the background run held the turn"
            );
        });
    }
}
