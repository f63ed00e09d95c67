//! Whose turn it is to run the hub's upkeep. One run at a time (two runs would sign the same
//! award twice), and a run in the background gives way to a run someone is waiting for: a
//! site's session waiting for its site's own run (at 1.96 million entries a new site's first
//! session waited 18 s for a background run signing another crowd's copies: docs/benchmarks.md,
//! round 45), or a person admitting a site, whose key is endorsed there and then. Those runs
//! are counted while they wait, so the background can be told to give way and takes no turn
//! while one waits.

use std::sync::{Condvar, Mutex, MutexGuard};

/// The turns of the hub's upkeep runs.
///
/// A mutex alone did not keep the order: a background run that gave way asks for its next
/// turn at once (`upkeep_until_done`), and the thread letting go of a mutex takes it back
/// before the thread it woke is scheduled, so the run waiting ahead waited for the background
/// to finish all its work. An admission at a hub of 337,000 entries waited 63 s behind the
/// copies of four new sites' awards (docs/benchmarks.md, round 47). Here the background asks
/// for a turn only when no run waits ahead of it.
#[derive(Debug, Default)]
pub(crate) struct UpkeepTurns {
    state: Mutex<State>,
    // Told whenever a turn ends.
    ended: Condvar,
}

#[derive(Debug, Default)]
struct State {
    // A run holds the turn.
    held: bool,
    // Runs waiting for a turn ahead of the background's.
    waiting_ahead: usize,
}

/// A turn: the run holding it is the only one until it is dropped.
pub(crate) struct Turn<'a> {
    turns: &'a UpkeepTurns,
}

impl UpkeepTurns {
    /// A turn after the run under way and every run waiting ahead of the background: for the
    /// background, and for the runs that must do all they can (a bundle carries the copies the
    /// hub could sign), which the runs someone waits for may pass too.
    pub(crate) fn take(&self) -> Turn<'_> {
        let mut state = self.state();
        while state.held || state.waiting_ahead > 0 {
            state = self.wait(state);
        }
        state.held = true;
        Turn { turns: self }
    }

    /// A turn ahead of the background, for a run someone waits for (the run before a site's
    /// session, a site's admission): counted as waiting until it has the turn, so a background
    /// run under way gives way to it ([`Turn::asked_to_give_way`]) and no background run
    /// starts before it.
    pub(crate) fn take_ahead(&self) -> Turn<'_> {
        let mut state = self.state();
        state.waiting_ahead += 1;
        while state.held {
            state = self.wait(state);
        }
        state.waiting_ahead -= 1;
        state.held = true;
        Turn { turns: self }
    }

    // Held only to read or change the state, never while a run works, and nothing in it
    // panics: a poisoned lock still holds a state that is whole.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait<'a>(&self, state: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        self.ended.wait(state).unwrap_or_else(|e| e.into_inner())
    }
}

impl Turn<'_> {
    /// Whether a run taken ahead waits for this turn to end: what a background run asks
    /// between two documents, and gives way to.
    pub(crate) fn asked_to_give_way(&self) -> bool {
        self.turns.state().waiting_ahead > 0
    }
}

/// A run that panicked signed nothing half-way (each document is one write), so the turn
/// passes on however the run ends.
impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.turns.state().held = false;
        // Every waiter: the runs ahead and the background wait on the same condition, and the
        // one that may go next is not known here.
        self.turns.ended.notify_all();
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

    /// A background run that gave way does not take the turn straight back, however quickly
    /// it asks again (`upkeep_until_done` asks at once): the run waiting ahead has it first.
    /// With a mutex alone the background took it back, and the run ahead waited for all its
    /// work.
    #[test]
    fn a_background_run_that_gave_way_does_not_take_the_turn_back_first() {
        let turns = UpkeepTurns::default();
        let ahead_ran = AtomicBool::new(false);
        let background = turns.take();
        std::thread::scope(|scope| {
            let ahead = scope.spawn(|| {
                let _turn = turns.take_ahead();
                ahead_ran.store(true, Ordering::SeqCst);
            });
            until_asked_to_give_way(&background);
            drop(background);
            let next = turns.take();
            assert!(
                ahead_ran.load(Ordering::SeqCst),
                "the background took its next turn ahead of the run waiting for one"
            );
            drop(next);
            ahead.join().unwrap();
        });
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
