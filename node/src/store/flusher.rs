//! The flusher: one thread that flushes the store while sync sessions wait, as tasks, for their
//! writes to be durable ([`Core::durable`]).
//!
//! Before it, one of the waiting sessions took a turn to flush. Handing the turn from one
//! session to the next left the disk idle while the next waited for an async worker, behind
//! every task queued before it (up to 190 ms under a crowd of 200 sites), and a session that
//! kept the turn to flush for the others replied only when it let the turn go
//! (docs/benchmarks.md, rounds 32 and 33). A thread of its own flushes while writes are waited
//! for, and a session is answered by the first flush that covers its writes. A session running
//! alone, with nobody to share a flush with, flushes on its own thread (rounds 34 and 35).

use super::{Core, Unflushed};
use crate::error::{Error, Result};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Least time from the start of one flush to the start of the next, when writes were waited for
/// all along and some sync session is still at work, so that under a crowd each flush covers a
/// few sessions' writes: a flush costs the hub's processor about as much as a session's other
/// work (one flush after every write made a 50-site crowd 0.77x as fast; docs/benchmarks.md,
/// round 32). A flush for a write asked for after the last flush left nobody waiting starts at
/// once, as does one once every session running waits: no more writes are coming to share it.
pub(super) const FLUSH_SPACING: Duration = Duration::from_millis(15);

/// How long the flusher sleeps when nobody wakes it (a bound, not a schedule).
const FLUSHER_NAP: Duration = Duration::from_secs(1);

/// The flusher's state, kept in [`Core`].
#[derive(Default)]
pub(super) struct Flusher {
    // Started by the first write waited for: a node that never runs a sync session (a command)
    // runs no extra thread.
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    // The highest write a waiter waits for, and how many wait now.
    wanted: AtomicU64,
    waiting: AtomicUsize,
    // Flushes that waited for the spacing to pass (tests look).
    spaced: AtomicU64,
    // Wakes the thread.
    woken: Mutex<bool>,
    wake: Condvar,
    // Tells the waiters that a flush ended (or failed).
    ended: tokio::sync::Notify,
    // The last flush that failed: the writes it was to cover, and why.
    failed: Mutex<Option<Failed>>,
    // Tests make flushes fail, and space them wider.
    #[cfg(test)]
    fail: std::sync::atomic::AtomicBool,
    #[cfg(test)]
    spacing_ms: AtomicU64,
    // Tests refuse the thread, and make a flush panic.
    #[cfg(test)]
    refuse_thread: std::sync::atomic::AtomicBool,
    #[cfg(test)]
    panic_in_flush: std::sync::atomic::AtomicBool,
}

/// A waiter, counted while it waits (a future dropped while waiting included).
struct Waiting<'a>(&'a Flusher);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The flusher's thread, should it die of a panic (sled's flush, say), records a failure that
/// covers every write and tells the waiters: none is left asleep, and every later one is
/// refused, since no thread flushes for them any more (`Core::written`, and a session running
/// alone on a multi-threaded runtime, still flush on their own threads).
struct TellIfItDies<'a>(&'a Core);

impl Drop for TellIfItDies<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            *self
                .0
                .flusher
                .failed
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(Failed {
                upto: u64::MAX,
                message: "the store's flusher stopped after an internal error; restart the node"
                    .into(),
            });
            self.0.flusher.ended.notify_waiters();
        }
    }
}

/// A flush that failed (see [`Flusher::failed`]).
struct Failed {
    upto: u64,
    message: String,
}

impl Flusher {
    /// [`FLUSH_SPACING`], or in tests what the test set.
    fn spacing(&self) -> Duration {
        #[cfg(test)]
        match self.spacing_ms.load(Ordering::SeqCst) {
            0 => {}
            ms => return Duration::from_millis(ms),
        }
        FLUSH_SPACING
    }

    /// Writes up to this number are covered by a flush that failed: waiting for them is an
    /// error, and the thread does not try again for them alone.
    fn failed_upto(&self) -> u64 {
        self.failed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map_or(0, |f| f.upto)
    }
}

impl Core {
    /// Wait until `written` is on disk, as a task rather than a thread: the flusher's thread
    /// flushes while anyone waits, each flush covering every write applied before it started
    /// and, while some sync session is still at work, at least [`FLUSH_SPACING`] after the last
    /// began; the waiters are woken as each flush ends. A crowd of sessions waits for shared
    /// flushes without a thread each, and no session waits for flushes past the one that
    /// covers its writes. The same group commit as [`Core::written`], which writers that hold a
    /// thread anyway call.
    ///
    /// A session that runs alone and finds nobody waiting flushes on its own thread instead
    /// ([`Core::flushes_alone`]): it has nobody to share the flush with, and handing it to the
    /// flusher costs two thread wake-ups a flush (a first sync 0.89x as fast; docs/benchmarks.md,
    /// rounds 34 and 35).
    pub async fn durable(&self, written: Unflushed) -> Result<()> {
        if !self.is_durable(written) && self.flushes_alone() {
            return tokio::task::block_in_place(|| self.durable_now(written));
        }
        let mut waiting = None;
        loop {
            // Enabled before the checks, so a flush that ends between them and the wait still
            // wakes this one.
            let ended = self.flusher.ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            if self.is_durable(written) {
                return Ok(());
            }
            if let Some(e) = self.flush_failed_for(written) {
                return Err(e);
            }
            if waiting.is_none() {
                self.flusher.waiting.fetch_add(1, Ordering::SeqCst);
                waiting = Some(Waiting(&self.flusher));
                self.want_flushed(written)?;
                if self.every_session_waits() {
                    // The flusher may be letting the spacing pass: it need not.
                    self.wake_flusher();
                }
            }
            ended.await;
        }
    }

    /// Whether a waiter may flush on its own thread: it is the only sync session running (or
    /// no session runs: a writer outside any), nobody waits for the flusher, and it runs on a
    /// runtime whose worker it can hand to another thread while it flushes
    /// (`block_in_place`, which a single-threaded runtime cannot do). A session that begins
    /// to wait meanwhile shares this flush or the flusher's (`flush_for` takes one at a time).
    fn flushes_alone(&self) -> bool {
        self.sessions_running() <= 1
            && self.flusher.waiting.load(Ordering::SeqCst) == 0
            && tokio::runtime::Handle::try_current().is_ok_and(|runtime| {
                runtime.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread
            })
    }

    /// Whether every sync session running waits for a flush (or, with none running, anyone
    /// does): nothing more is coming for the next flush to cover.
    pub(super) fn every_session_waits(&self) -> bool {
        let waiting = self.flusher.waiting.load(Ordering::SeqCst);
        waiting > 0 && waiting >= self.sessions_running()
    }

    /// The error of a flush that was to cover `written` and failed, if one did.
    fn flush_failed_for(&self, written: Unflushed) -> Option<Error> {
        let failed = self
            .flusher
            .failed
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let f = failed.as_ref().filter(|f| f.upto >= written.0)?;
        Some(Error::storage_msg(format!(
            "could not make the store's writes durable: {}",
            f.message
        )))
    }

    /// Ask the flusher for a flush that covers `written`, starting its thread first if it is not
    /// running yet.
    fn want_flushed(&self, written: Unflushed) -> Result<()> {
        // Started before the mark is raised: a waiter that finds its write under the mark counts
        // on a thread that reads it, and one whose start failed would leave it asleep.
        self.start_flusher()?;
        // Whoever raised the mark to where it is woke the thread after raising it, and the
        // thread reads the mark after it wakes: a write under the mark needs no wake of its own.
        if self.flusher.wanted.fetch_max(written.0, Ordering::SeqCst) >= written.0 {
            return Ok(());
        }
        self.wake_flusher();
        Ok(())
    }

    /// Start the flusher's thread, unless it was started already.
    fn start_flusher(&self) -> Result<()> {
        let mut thread = self
            .flusher
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if thread.is_some() {
            return Ok(());
        }
        #[cfg(test)]
        if self.flusher.refuse_thread.load(Ordering::SeqCst) {
            return Err(Error::storage_msg("a test refused the flusher's thread"));
        }
        let core = self
            .me
            .upgrade()
            .ok_or_else(|| Error::storage_msg("the store is closing; nothing more is flushed"))?;
        let started = std::thread::Builder::new()
            .name("cairn-flush".into())
            .spawn(move || {
                let _told = TellIfItDies(&core);
                core.flush_while_waited_for();
            })
            .map_err(|e| Error::storage("could not start the store's flusher", e))?;
        *thread = Some(started);
        Ok(())
    }

    /// Wake the flusher's thread (to flush, or to see that the store is closing).
    pub(super) fn wake_flusher(&self) {
        let mut woken = self
            .flusher
            .woken
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *woken = true;
        self.flusher.wake.notify_one();
    }

    /// Stop the flusher's thread and wait for it (the store is closing; nobody waits any more).
    pub(super) fn stop_flusher(&self) {
        self.wake_flusher();
        let running = self
            .flusher
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(thread) = running {
            let _ = thread.join();
        }
    }

    /// The flusher's thread: flush while a write is waited for that no flush has covered (nor
    /// failed to), a flush that follows another with waiters standing at least
    /// [`FLUSH_SPACING`] after the last began; otherwise sleep until woken.
    fn flush_while_waited_for(&self) {
        let mut last: Option<Instant> = None;
        while !self.stop.load(Ordering::SeqCst) {
            let wanted = self.flusher.wanted.load(Ordering::SeqCst);
            if wanted <= self.durable.load(Ordering::SeqCst) || wanted <= self.flusher.failed_upto()
            {
                // A waiter whose write a flush on another thread covered (`Core::written`) may
                // have asked before that flush ended and is told here.
                self.flusher.ended.notify_waiters();
                // Nobody waited once the last flush ended: the next starts at once.
                last = None;
                self.sleep_until_woken(FLUSHER_NAP);
                continue;
            }
            if let Some(at) = last {
                self.let_spacing_pass(at);
            }
            last = Some(Instant::now());
            // Read before the flush reads it: every write waited for now is at most this.
            let upto = self.applied.load(Ordering::SeqCst);
            if let Err(e) = self.flush_for_waiters() {
                tracing::error!("flushing the store for sync sessions failed: {e}");
                *self
                    .flusher
                    .failed
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(Failed {
                    upto,
                    message: e.to_string(),
                });
            }
            self.flusher.ended.notify_waiters();
        }
    }

    /// Wait until [`FLUSH_SPACING`] has passed since the last flush began at `at`, unless every
    /// session running waits for a flush (or comes to) or the store closes. Writes applied
    /// meanwhile are covered by the next flush too.
    fn let_spacing_pass(&self, at: Instant) {
        let mut counted = false;
        loop {
            let left = self.flusher.spacing().saturating_sub(at.elapsed());
            if left.is_zero() || self.every_session_waits() || self.stop.load(Ordering::SeqCst) {
                return;
            }
            if !counted {
                self.flusher.spaced.fetch_add(1, Ordering::Relaxed);
                counted = true;
            }
            // A wake taken here is not lost: the flush that follows reads what is wanted anew.
            self.sleep_until_woken(left);
        }
    }

    /// The flusher's thread sleeps for `at_most`, or until woken (a wake that came since the
    /// last sleep ends this one at once), or not at all when the store is closing.
    fn sleep_until_woken(&self, at_most: Duration) {
        let mut woken = self
            .flusher
            .woken
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !*woken && !self.stop.load(Ordering::SeqCst) {
            woken = self
                .flusher
                .wake
                .wait_timeout(woken, at_most)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        *woken = false;
    }

    /// One flush for the waiters (see [`Core::flush_for`]).
    fn flush_for_waiters(&self) -> Result<()> {
        #[cfg(test)]
        if self.flusher.fail.load(Ordering::SeqCst) {
            return Err(Error::storage_msg("a test made the flush fail"));
        }
        #[cfg(test)]
        if self.flusher.panic_in_flush.load(Ordering::SeqCst) {
            panic!("a test made the flush panic");
        }
        self.flush_for(self.flusher.wanted.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use std::sync::Arc;

    /// The store in `dir`, without a derivation worker (these tests derive nothing).
    fn open(dir: &std::path::Path) -> Store {
        Store::open_without_worker(dir, Arc::new(crate::records::DocumentIndex)).unwrap()
    }

    fn store() -> (tempfile::TempDir, Arc<Store>) {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        (dir, Arc::new(store))
    }

    const FIVE: Duration = Duration::from_secs(5);
    const A_MINUTE: Duration = Duration::from_secs(60);

    /// A runtime with one thread: the waiters need none of their own.
    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// A session waiting for its write is answered by the first flush that covers it, however
    /// many writers keep arriving after it (before the flusher, a session that had the turn to
    /// flush went on flushing for them, four flushes past its own).
    #[test]
    fn a_waiter_is_answered_by_the_first_flush_that_covers_its_write() {
        let (_dir, store) = store();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        // Writers that never stop arriving, each asking for a flush.
        let crowd = {
            let (store, stop) = (store.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = 0u32;
                while !stop.load(Ordering::SeqCst) && n < 100_000 {
                    let w = store.set_local_bin_unflushed("t/crowd", &n).unwrap();
                    // Asked, not awaited: the crowd's writes keep the flusher busy.
                    store.want_flushed(w).unwrap();
                    n += 1;
                    if n.is_multiple_of(16) {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                }
            })
        };
        let rt = runtime();
        for n in 0..5u32 {
            let before = store.flushes();
            let own = store.set_local_bin_unflushed("t/own", &n).unwrap();
            rt.block_on(answer(&store, own, A_MINUTE, "a waiter waited a minute"))
                .unwrap();
            assert!(store.is_durable(own));
            // The flush in progress when it wrote, then the one that covers it.
            assert!(
                store.flushes() - before <= 2,
                "answered {} flushes after its write",
                store.flushes() - before
            );
        }
        stop.store(true, Ordering::SeqCst);
        crowd.join().unwrap();
    }

    /// Writes waited for that never stop arriving: a mark no flush reaches. The flusher, woken,
    /// flushes at once and then goes on flushing, spaced; this returns once it lets the spacing
    /// pass.
    fn waiters_never_stop(store: &Store) {
        let w = store.set_local_bin_unflushed("t/start", &0u32).unwrap();
        // Starts the thread.
        store.want_flushed(w).unwrap();
        store.flusher.wanted.store(u64::MAX, Ordering::SeqCst);
        store.wake_flusher();
        let started = Instant::now();
        while store.flusher.spaced.load(Ordering::SeqCst) == 0 {
            assert!(
                started.elapsed() < FIVE,
                "the flusher never let the spacing pass"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// While writes are waited for all along and a session is still at work, flushes start at
    /// least [`FLUSH_SPACING`] apart.
    #[test]
    fn flushes_for_waiters_that_keep_coming_are_spaced() {
        let (_dir, store) = store();
        let _at_work = store.session_running();
        let before = store.flushes();
        let started = Instant::now();
        waiters_never_stop(&store);
        std::thread::sleep(Duration::from_millis(300));
        let flushes = store.flushes() - before;
        let spaced = started.elapsed().as_micros() / FLUSH_SPACING.as_micros() + 1;
        assert!(
            u128::from(flushes) <= spaced,
            "{flushes} flushes in {:?}: closer than {FLUSH_SPACING:?} apart",
            started.elapsed()
        );
        assert!(
            flushes >= 2,
            "it did not flush again for the waiters: {flushes}"
        );
        assert!(store.flusher.spaced.load(Ordering::SeqCst) >= 1);
    }

    /// Every waiter of a crowd is answered once its write is durable, sharing flushes.
    #[test]
    fn every_waiter_of_a_crowd_is_answered() {
        let (_dir, store) = store();
        let before = store.flushes();
        runtime().block_on(async {
            let mut waiting = Vec::new();
            for task in 0..50u32 {
                let store = store.clone();
                waiting.push(tokio::spawn(async move {
                    let _running = store.session_running();
                    for n in 0..10u32 {
                        let key = format!("t/{task}");
                        let w = store.set_local_bin_unflushed(&key, &n).unwrap();
                        store.durable(w).await.unwrap();
                        assert!(store.is_durable(w), "answered before its write was durable");
                    }
                }));
            }
            for w in waiting {
                tokio::time::timeout(A_MINUTE, w)
                    .await
                    .expect("a waiter waited a minute")
                    .unwrap();
            }
        });
        let flushes = store.flushes() - before;
        assert!(
            flushes < 500,
            "{flushes} flushes for 500 writes: none was shared"
        );
    }

    /// Ten seconds between flushes, so a flush that waits for the spacing shows as a waiter
    /// that waited five.
    fn widely_spaced() -> (tempfile::TempDir, Arc<Store>) {
        let (dir, store) = store();
        store.flusher.spacing_ms.store(10_000, Ordering::SeqCst);
        (dir, store)
    }

    /// What a waiter for `written` is answered, failing the test with `why` if that takes
    /// longer than `time`.
    async fn answer(store: &Store, written: Unflushed, time: Duration, why: &str) -> Result<()> {
        tokio::time::timeout(time, store.durable(written))
            .await
            .unwrap_or_else(|_| panic!("{why}"))
    }

    async fn within_five_seconds(store: &Store, written: Unflushed) {
        answer(store, written, FIVE, "the flush waited for the spacing")
            .await
            .unwrap();
    }

    /// A lone session (a site syncing, or a hub with one site) waits for a flush after each
    /// batch: each starts at once, not a spacing after the last.
    #[test]
    fn a_lone_sessions_flushes_start_at_once() {
        let (_dir, store) = widely_spaced();
        let _running = store.session_running();
        runtime().block_on(async {
            for n in 0..5u32 {
                let w = store.set_local_bin_unflushed("t/a", &n).unwrap();
                within_five_seconds(&store, w).await;
            }
        });
        assert_eq!(store.flusher.spaced.load(Ordering::SeqCst), 0);
    }

    /// Whether the flusher's thread was started.
    fn flusher_started(store: &Store) -> bool {
        store
            .flusher
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// A lone session on the node's runtime (several worker threads) flushes on its own
    /// thread, one flush a wait, and never wakes the flusher's; once a second session runs,
    /// its waits go to the flusher, which shares flushes among them.
    #[test]
    fn a_lone_session_flushes_on_its_own_thread() {
        let (_dir, store) = store();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let waits = |key: &'static str| {
            let store = store.clone();
            rt.block_on(rt.spawn(async move {
                for n in 0..5u32 {
                    let w = store.set_local_bin_unflushed(key, &n).unwrap();
                    answer(&store, w, A_MINUTE, "a waiter waited a minute")
                        .await
                        .unwrap();
                    assert!(store.is_durable(w), "answered before its write was durable");
                }
            }))
            .unwrap();
        };
        let _first = store.session_running();
        let before = store.flushes();
        waits("t/a");
        assert_eq!(store.flushes() - before, 5, "one flush for each wait");
        assert!(
            !flusher_started(&store),
            "a lone session handed its flushes to the flusher's thread"
        );
        let _second = store.session_running();
        waits("t/b");
        assert!(
            flusher_started(&store),
            "with two sessions running, a session flushed on its own thread"
        );
    }

    /// Fails the test if `answered` is answered within `time`, while the spacing should hold its
    /// flush back.
    async fn still_waiting_after<F: std::future::Future>(
        answered: std::pin::Pin<&mut F>,
        time: Duration,
    ) {
        tokio::select! {
            _ = answered => panic!("flushed inside the spacing while a session worked"),
            () = tokio::time::sleep(time) => {}
        }
    }

    /// A flusher whose thread could not be started leaves no waiter asleep: a waiter whose
    /// write is under the mark another raised before its start failed is refused too, not left
    /// waiting for a thread nobody starts; once a thread can start, both are answered.
    #[test]
    fn a_flusher_that_cannot_start_leaves_no_waiter_asleep() {
        let (_dir, store) = store();
        store.flusher.refuse_thread.store(true, Ordering::SeqCst);
        let first = store.set_local_bin_unflushed("t/a", &1u32).unwrap();
        let second = store.set_local_bin_unflushed("t/b", &2u32).unwrap();
        runtime().block_on(async {
            // The later write asks first, and its thread is refused.
            answer(
                &store,
                second,
                FIVE,
                "a refused thread left its waiter asleep",
            )
            .await
            .unwrap_err();
            answer(
                &store,
                first,
                FIVE,
                "a waiter under the mark slept, though no flusher ran",
            )
            .await
            .unwrap_err();
            store.flusher.refuse_thread.store(false, Ordering::SeqCst);
            for w in [first, second] {
                within_five_seconds(&store, w).await;
            }
        });
    }

    /// A flusher that panics leaves no waiter asleep: the one waiting and every later one are
    /// told that writes can no longer be made durable here.
    #[test]
    fn a_flusher_that_panics_leaves_no_waiter_asleep() {
        let (_dir, store) = store();
        store.flusher.panic_in_flush.store(true, Ordering::SeqCst);
        runtime().block_on(async {
            for key in ["t/a", "t/b"] {
                let w = store.set_local_bin_unflushed(key, &1u32).unwrap();
                let e = answer(&store, w, FIVE, "a waiter slept after the flusher died")
                    .await
                    .unwrap_err();
                assert!(e.to_string().contains("restart"), "{e}");
            }
        });
    }

    /// A flush letting the spacing pass while a session works starts once every session
    /// waits: when the one at work comes to wait too, and when it ends (a crowd's last
    /// sessions).
    #[test]
    fn the_flush_starts_once_every_session_waits() {
        let (_dir, store) = widely_spaced();
        let (one, other) = (store.session_running(), store.session_running());
        waiters_never_stop(&store);
        let rt = runtime();
        let not_yet = Duration::from_millis(200);
        rt.block_on(async {
            // The flusher lets the spacing pass: `other` is at work.
            let first = store.set_local_bin_unflushed("t/a", &1u32).unwrap();
            let answered = store.durable(first);
            tokio::pin!(answered);
            still_waiting_after(answered.as_mut(), not_yet).await;
            // `other` comes to wait too.
            let second = store.set_local_bin_unflushed("t/b", &1u32).unwrap();
            let (a, ()) = tokio::join!(
                tokio::time::timeout(FIVE, answered),
                within_five_seconds(&store, second)
            );
            a.expect("the flush waited for the spacing after every session waited")
                .unwrap();

            // Spacing again; this time `other` ends.
            let third = store.set_local_bin_unflushed("t/a", &3u32).unwrap();
            let answered = store.durable(third);
            tokio::pin!(answered);
            still_waiting_after(answered.as_mut(), not_yet).await;
            drop(other);
            tokio::time::timeout(FIVE, answered)
                .await
                .expect("the flush waited for the spacing after the last other session ended")
                .unwrap();
        });
        drop(one);
    }

    /// A flush that fails is reported to the waiters it was to cover, and the next write waited
    /// for is flushed again (covering the earlier ones too).
    #[test]
    fn a_failed_flush_reaches_its_waiters_and_the_next_one_is_tried() {
        let (_dir, store) = store();
        let rt = runtime();
        let within = |w| answer(&store, w, A_MINUTE, "a waiter waited a minute");
        store.flusher.fail.store(true, Ordering::SeqCst);
        let first = store.set_local_bin_unflushed("t/a", &1u32).unwrap();
        let err = rt.block_on(within(first)).unwrap_err();
        assert!(matches!(err, Error::Storage(_)), "{err}");
        assert!(!store.is_durable(first));
        // Asked again, the same write meets the same failure rather than waiting forever.
        assert!(rt.block_on(within(first)).is_err());

        store.flusher.fail.store(false, Ordering::SeqCst);
        let second = store.set_local_bin_unflushed("t/a", &2u32).unwrap();
        rt.block_on(within(second)).unwrap();
        assert!(store.is_durable(second) && store.is_durable(first));
    }

    /// A waiter whose write is covered by a flush a writer makes on its own thread
    /// ([`Core::written`]) is answered, however the two interleave with the flusher's look.
    #[test]
    fn a_waiter_covered_by_another_threads_flush_is_answered() {
        let (_dir, store) = store();
        let rt = runtime();
        for n in 0..300u32 {
            let own = store.set_local_bin_unflushed("t/own", &n).unwrap();
            let other = {
                let store = store.clone();
                // Its write comes after `own`, so its flush covers both.
                std::thread::spawn(move || store.set_local_bin("t/other", &n).unwrap())
            };
            let why = "a waiter covered by another thread's flush was never told";
            rt.block_on(answer(&store, own, Duration::from_secs(10), why))
                .unwrap();
            other.join().unwrap();
        }
    }

    /// Closing a store stops its flusher, which holds the store open while it runs.
    #[test]
    fn closing_stops_the_flusher() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let w = store.set_local_bin_unflushed("t/a", &1u32).unwrap();
        runtime().block_on(store.durable(w)).unwrap();
        assert!(
            store.flusher.thread.lock().unwrap().is_some(),
            "the flusher started"
        );
        let core = Arc::downgrade(&store.core);
        drop(store);
        assert!(
            core.upgrade().is_none(),
            "the flusher's thread outlived the store"
        );
        let store = open(dir.path());
        assert_eq!(store.local_bin::<u32>("t/a").unwrap(), Some(1));
    }
}
