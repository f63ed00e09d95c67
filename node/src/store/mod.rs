//! The node's store: the signed log (the source of truth) and everything derived from it, in one
//! sled tree.
//!
//! Every write — a local action or a verified batch from a peer — is one atomic sled batch holding
//! the entries and all the state derived from them, followed by a flush before anyone is told it
//! succeeded. sled calls itself beta, so the log stays verifiable (`check`) and everything else is
//! rebuildable from it (`rebuild`).

mod derive;
mod docs;
mod flusher;
pub mod keys;
mod log;
mod maintenance;
mod on_disk;
mod queue;
mod record_index;
mod snapshot;

pub use docs::DocCache;
pub use log::{Author, SyncStore, Unflushed};
pub use maintenance::{CheckReport, RebuildReport};

use crate::error::{Error, Result};
use cairn_sync_protocol::{
    BodyRef, DocId, FeedItem, Fork, Hash32, HiddenEntry, Origin, PeerItem, StoredEntry, Tip,
    VersionVector, codec,
};
use on_disk::OnDisk;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};

/// Local state: the [`Indexer::version`] the whole derived state was built with (absent: an
/// earlier release's, or unknown).
const INDEX_VERSION: &str = "index_version";
/// Local key: the version of the store's own derived keys (not the document index's) that the
/// whole derived state was built with, as [`INDEX_VERSION`] is for the index.
const DERIVED_FORMAT: &str = "derived_format";
/// What this release's store derives beyond the document index: 1 added the `M` list of
/// transfers by site ([`Core::lists_transfers`]). Raise it whenever what a release lists
/// changes (a control record that decodes differently, a new kind of transfer): a hub's
/// sessions pass over entries unread on the strength of it. Like `index_version`, a version
/// holds everything the versions below it held (a release adds keys; one that changed an
/// earlier version's keys would need a marker of its own): a release that opens a store marked
/// above its own version lowers the mark to it ([`Core::lower_to_known`]), so only a release
/// older than that rule can derive part of a store behind a mark it does not know. 2: the
/// record index's buckets grow with it (`record_index.rs`), which a release before 2 does not
/// read; a mark below 2 on a store whose buckets grew says such a release derived into it.
const DERIVED_FORMAT_VERSION: u32 = 2;
/// The [`DERIVED_FORMAT_VERSION`] from which the record index's buckets grow.
const GROWING_RECORD_INDEX: u32 = 2;

/// How many documents stay loaded in memory.
pub const DOC_CACHE_CAPACITY: usize = 512;

/// How the layer above indexes documents. The store derives index entries inside the same batch
/// as the entries they come from, but what a document means (a learner, a staff directory) is the
/// records layer's business: it hands the store this.
pub trait Indexer: Send + Sync {
    /// The index entries (keys without the store's `I` prefix, and values) a document produces.
    /// `find_conflicts`: walk the document for concurrent values (see `derive::History`).
    fn index(
        &self,
        doc: &DocId,
        am: &automerge::Automerge,
        find_conflicts: bool,
    ) -> Vec<(Vec<u8>, Vec<u8>)>;

    /// The key (without the `I` prefix) under which a document's conflicts are listed.
    fn conflict_key(&self, doc: &DocId) -> Vec<u8>;

    /// Index key prefixes whose keys the store counts as it writes them, so that
    /// [`Store::index_count`] answers without scanning (`status` counts learners this way).
    fn counted(&self) -> &'static [&'static [u8]] {
        &[]
    }

    /// The index key prefix of the record index, if the indexer keeps one: keys under it are a
    /// record id each, and their value is the document that produced them. There is one per
    /// record, so the store keeps them in buckets rather than one sled key each
    /// (`record_index.rs`); [`Core::index_get`] finds them as any other key, and
    /// [`Core::index_scan`] does not list them.
    fn record_prefix(&self) -> Option<&'static [u8]> {
        None
    }

    /// The version of what `index` produces, raised when a release adds keys. The store
    /// records the version its whole derived state was built with ([`Core::indexed_since`]).
    fn version(&self) -> u32 {
        0
    }
}

/// The store of one node: its [`Core`] (every read and write, reached through `Deref`). Dropping
/// it stops the worker that derives documents and indexes from entries acknowledged before they
/// were derived.
pub struct Store {
    core: Arc<Core>,
}

/// The store itself; see [`Store`].
pub struct Core {
    db: sled::Db,
    tree: sled::Tree,
    // What sled's flush leaves to the operating system: see [`Core::flush`].
    on_disk: OnDisk,
    indexer: Arc<dyn Indexer>,
    // Derivation is serialized: it reads the current documents and derived keys, then commits
    // one batch. Taken before `appender` when both are needed.
    writer: Mutex<Writer>,
    // Appending to the log is serialized: each append reads the tips and the clock, then
    // commits one batch.
    appender: Mutex<Appending>,
    // The feeds' tips (`T` keys), read from the tree once (on first use) and from then on
    // updated under `appender` right after each batch that moves them is applied, so a reader
    // never sees a tip before its entries. Every sync session reads them, and any read of the
    // tree waits while sled applies another session's batch (under one process-wide lock):
    // at a hub with a crowd of sites, these reads were a tenth of the async workers' stops
    // (docs/benchmarks.md, round 17; round 18 measures keeping them). `None` until first read;
    // `rebuild` resets it.
    tips: RwLock<Option<BTreeMap<Origin, Tip>>>,
    // Local state (`L` keys) once read through `local*`, by key (`None`: known absent). A
    // hub's session reads the authority twice (admission, upkeep) and the epoch, each a read of
    // the tree that waited for other sessions' batches (round 18); those are written once in a
    // node's life. A write (`set_local*`, `remove_local`) drops the copy after writing the tree
    // and counts itself in `locals_changed`; a read that missed keeps what it read only if no
    // write was counted between its read of the tree and keeping it, so no copy outlives a
    // write. Writers never wait for each other. State written in other ways (the clock, in
    // append batches; the record index's salt) is never read through `local*`.
    locals: RwLock<std::collections::HashMap<Vec<u8>, Option<sled::IVec>>>,
    locals_changed: AtomicU64,
    // Held while local state is read, changed and written back ([`Core::updating_locals`]).
    updating_locals: Mutex<()>,
    // Derivation queue (`D` keys): batches queued so far and batches known derived, so a read
    // with nothing queued does not take the writer's lock.
    queued: AtomicU64,
    derived: AtomicU64,
    // Whose entries the queue holds, so asking costs no read of it.
    queued_authors: queue::QueuedAuthors,
    // Raised when a rebuild starts and again when it ends (odd: one is running), so that what
    // was read of derived state can be known to be from before, during or after one
    // ([`Core::rebuilds`]).
    rebuilds: AtomicU64,
    // The number the next derivation-queue record gets, taken under `appender`, so records
    // keep the order they were appended in. Kept here rather than read from the last `D` key:
    // a reverse scan for it was a sixth of an append's time at a hub under a crowd of 200
    // sites (docs/benchmarks.md, round 17), all of it inside the appender's lock.
    next_queued: AtomicU64,
    // Group commit: writes applied so far (appends, local writes, local state), how many of
    // them a finished flush is known to cover (read without waiting for a flush in progress),
    // and the lock held while flushing.
    applied: AtomicU64,
    durable: AtomicU64,
    flushing: Mutex<()>,
    // Flushes made for writers since the store opened (see [`Core::flushes`]).
    flushes: AtomicU64,
    // The thread that flushes while sync sessions wait ([`Core::durable`]).
    flusher: flusher::Flusher,
    // Sync sessions running, and when a peer's batch was last appended (µs since `opened`):
    // background work waits for a lull in both.
    sessions: std::sync::atomic::AtomicUsize,
    opened: std::time::Instant,
    last_append_us: AtomicU64,
    // The forks recorded (`F` keys), read once at open: every sync session asks which origins
    // are frozen, and an empty scan still reads the leaf beside it (at a site, the hub's feed).
    forks: Mutex<Vec<Fork>>,
    // Wakes the worker.
    wake: Condvar,
    wake_lock: Mutex<bool>,
    stop: AtomicBool,
    // The worker starts with the first batch queued (or at open, if one is left queued): a node
    // that never receives a peer's batch (a kiosk between syncs, a command) runs no extra thread.
    worker: Option<Mutex<Option<std::thread::JoinHandle<()>>>>,
    // Told of each bucket place a doubling of the record index passes after a write (not at
    // open), if set: `cairn debug doubling-stream` prints it for a kill test, and the concurrent
    // benchmark counts it to tell whether a crowd met a doubling.
    doubling_watch: std::sync::OnceLock<DoublingWatch>,
    me: std::sync::Weak<Core>,
}

/// See [`Core::watch_doublings`].
type DoublingWatch = Box<dyn Fn(u8, u32) + Send + Sync>;

struct Writer {
    docs: DocCache,
    // A batch written under this writer left the record index's records outgrowing its
    // buckets: [`Core::grow_record_index`] doubles them once the batch is applied.
    record_index_outgrown: bool,
}

/// What the appender's lock guards besides the order of appends.
#[derive(Default)]
struct Appending {
    // The hybrid logical clock's last value (local `hlc`), once read: only appends (local or a
    // peer's) read or move it, all under the lock, so the copy here is the stored one.
    clock: Option<cairn_sync_protocol::Hlc>,
}

impl Appending {
    /// The clock's last value: kept, or read from the store the first time.
    fn clock(&mut self, core: &Core) -> Result<cairn_sync_protocol::Hlc> {
        if let Some(last) = self.clock {
            return Ok(last);
        }
        // Read from the tree, not through `local`: the clock moves in append batches, which
        // the copies of local state do not follow.
        let last = match core.tree.get(keys::local("hlc"))? {
            None => Default::default(),
            Some(v) => serde_json::from_slice(&v)
                .map_err(|e| Error::storage("local state `hlc` is unreadable", e))?,
        };
        self.clock = Some(last);
        Ok(last)
    }
}

impl std::ops::Deref for Store {
    type Target = Core;

    fn deref(&self) -> &Core {
        &self.core
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.core.stop.store(true, Ordering::SeqCst);
        self.core.kick();
        let running = self
            .core
            .worker
            .as_ref()
            .and_then(|w| w.lock().unwrap_or_else(|p| p.into_inner()).take());
        if let Some(worker) = running {
            // It finishes the batch in hand; what is still queued is derived at the next open.
            let _ = worker.join();
        }
        // Nobody waits for a flush any more (a waiter holds the store); sled flushes at close.
        self.core.stop_flusher();
    }
}

/// The derivation worker yields the processor to acknowledging: on a busy hub, sites' sessions
/// (verify, append, flush, answer) run first and derivation takes what is left, so a crowd of
/// sites is answered before its batches are derived rather than together with them. Reads that
/// need derived state derive on their own thread when the worker is not holding the writer lock.
#[cfg(target_os = "linux")]
pub(crate) fn background_priority() {
    // SAFETY: plain system calls with no pointers; on Linux, PRIO_PROCESS with a thread id sets
    // that thread's nice value only.
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 10) };
    if rc != 0 {
        tracing::debug!(
            "a background thread keeps its priority: {}",
            std::io::Error::last_os_error()
        );
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn background_priority() {}

/// How long the worker sleeps when nobody wakes it (a bound, not a schedule).
const WORKER_NAP: std::time::Duration = std::time::Duration::from_secs(1);

/// Background work waits until no sync session is running and no peer's batch (a bundle's)
/// has been appended for this long ...
const LULL: std::time::Duration = std::time::Duration::from_millis(50);

/// ... or until it has waited this long: under a steady stream of sessions it still runs, in
/// larger batches. Nothing that needs derived state waits for the worker (it derives on its
/// own thread, [`Core::settle`]), so this only decides when the work nobody is waiting for
/// is done.
const LULL_AT_MOST: std::time::Duration = std::time::Duration::from_secs(3);

impl Store {
    /// Open (or create) the store in `dir`; `indexer` indexes its documents. A worker thread
    /// derives what was acknowledged but not yet derived (also what a previous run left queued).
    pub fn open(dir: &Path, indexer: Arc<dyn Indexer>) -> Result<Store> {
        Self::open_with(dir, indexer, Opening::default())
    }

    /// Open without the derivation worker: queued batches are derived only when something reads
    /// derived state. For tests that stop a node between acknowledging and deriving.
    pub fn open_without_worker(dir: &Path, indexer: Arc<dyn Indexer>) -> Result<Store> {
        let opening = Opening {
            worker: false,
            ..Opening::default()
        };
        Self::open_with(dir, indexer, opening)
    }

    /// Open without sled's periodic flush (every 500 ms), which also cleans the log's segments
    /// as it goes. Nothing a caller waits for depends on it ([`Core::durable`] flushes), but
    /// writes nobody waited for reach the disk only with the next flush that is waited for, or
    /// at close. For benchmarks that simulate hundreds of sites in one process, where each
    /// store's flusher thread would wake twice a second and clean segments on processors the
    /// hub needs, which each site's own machine does in a deployment.
    pub fn open_without_periodic_flush(dir: &Path, indexer: Arc<dyn Indexer>) -> Result<Store> {
        let opening = Opening {
            periodic_flush: false,
            ..Opening::default()
        };
        Self::open_with(dir, indexer, opening)
    }

    fn open_with(dir: &Path, indexer: Arc<dyn Indexer>, opening: Opening) -> Result<Store> {
        let worker = opening.worker;
        let (db, tree) = open_tree(dir, opening.periodic_flush)?;
        let on_disk = OnDisk::open(dir)?;
        let forks = Mutex::new(read_forks(&tree)?);
        let core = Arc::new_cyclic(|me| Core {
            db,
            tree,
            on_disk,
            indexer,
            writer: Mutex::new(Writer {
                docs: DocCache::new(DOC_CACHE_CAPACITY),
                record_index_outgrown: false,
            }),
            appender: Mutex::new(Appending::default()),
            tips: RwLock::new(None),
            locals: RwLock::new(Default::default()),
            locals_changed: AtomicU64::new(0),
            updating_locals: Mutex::new(()),
            queued: AtomicU64::new(0),
            derived: AtomicU64::new(0),
            queued_authors: queue::QueuedAuthors::default(),
            rebuilds: AtomicU64::new(0),
            next_queued: AtomicU64::new(0),
            applied: AtomicU64::new(0),
            durable: AtomicU64::new(0),
            flushing: Mutex::new(()),
            flushes: AtomicU64::new(0),
            flusher: flusher::Flusher::default(),
            sessions: std::sync::atomic::AtomicUsize::new(0),
            opened: std::time::Instant::now(),
            last_append_us: AtomicU64::new(0),
            forks,
            wake: Condvar::new(),
            wake_lock: Mutex::new(false),
            stop: AtomicBool::new(false),
            worker: worker.then(|| Mutex::new(None)),
            doubling_watch: std::sync::OnceLock::new(),
            me: me.clone(),
        });
        let store = Store { core };
        // Opened again by an earlier release than the one that last derived it (a downgrade):
        // what this release derives from now on holds only what its own versions add, so a
        // marker above them comes down to them before anything is derived. A newer release
        // that opens the store after this one then reads it as derived in part by an earlier
        // release, and relies on none of the keys this one did not write, until `cairn rebuild`.
        store.lower_to_known(INDEX_VERSION, store.indexer.version())?;
        store.lower_to_known(DERIVED_FORMAT, DERIVED_FORMAT_VERSION)?;
        // A mark below 2 on a store with a shape was lowered by an earlier release (this one
        // makes a shape only under mark 2, and a rebuild cut short leaves no mark): that release
        // filed what it derived at 2^16 buckets, where it reads them, and did not count it. File
        // every record there so that both kinds are found.
        if store
            .local::<u32>(DERIVED_FORMAT)?
            .is_some_and(|v| v < GROWING_RECORD_INDEX)
            && record_index::settle_layout(&store.tree)?
        {
            tracing::warn!(
                "an earlier release of Cairn derived into this store; its record index was \
                 filed again as that release reads it (`cairn rebuild` brings it up to date)"
            );
        }
        // A doubling of the record index that the last run did not finish (or start, after the
        // batch that called for it) is made now. If it cannot be, the index stays readable as it
        // is and the next write tries again: the store must still open for `check` and `rebuild`.
        if let Err(e) = record_index::grow(&store.tree, record_index::GROWTH) {
            tracing::warn!("the record index could not double its buckets: {e}");
        }
        // What a previous run acknowledged and did not derive is derived first.
        let mut left_queued = false;
        for kv in store.tree.scan_prefix([keys::DERIVE_QUEUE]) {
            let (k, v) = kv?;
            left_queued = true;
            if let Some(n) = keys::parse_u64(&k[1..]) {
                store.next_queued.fetch_max(n + 1, Ordering::SeqCst);
            }
            match keys::parse_queued_runs(&v) {
                Some(runs) => store.queued_authors.add(&queue::authors_of(&runs)),
                None => store.queued_authors.add_unreadable(),
            }
        }
        if left_queued {
            store.queued.store(1, Ordering::SeqCst);
            store.kick();
        }
        store.start_counts()?;
        // With no entries, nothing is derived: the derived state is complete at any version.
        if store.tree.scan_prefix([keys::ENTRY]).next().is_none() {
            if store.local::<u32>(INDEX_VERSION)? != Some(store.indexer.version()) {
                store.set_local(INDEX_VERSION, &store.indexer.version())?;
            }
            if store.local::<u32>(DERIVED_FORMAT)? != Some(DERIVED_FORMAT_VERSION) {
                store.set_local(DERIVED_FORMAT, &DERIVED_FORMAT_VERSION)?;
            }
        }
        Ok(store)
    }
}

/// The forks recorded in `tree` (`F` keys).
fn read_forks(tree: &sled::Tree) -> Result<Vec<Fork>> {
    let mut out = Vec::new();
    for kv in tree.scan_prefix([keys::FORK]) {
        let (_, v) = kv?;
        out.push(codec::decode(&v, 4096).map_err(|_| corrupt("a fork record"))?);
    }
    Ok(out)
}

/// How a store is opened; see [`Store::open`] and the `open_*` variants.
struct Opening {
    /// A thread that derives what was acknowledged.
    worker: bool,
    /// sled's own flush every 500 ms (and the segment cleaning it does).
    periodic_flush: bool,
}

impl Default for Opening {
    fn default() -> Self {
        Opening {
            worker: true,
            periodic_flush: true,
        }
    }
}

/// Open sled's database and Cairn's tree in it, with errors a person can act on.
fn open_tree(dir: &Path, periodic_flush: bool) -> Result<(sled::Db, sled::Tree)> {
    let locked = |e: &sled::Error| {
        matches!(e, sled::Error::Io(io)
            if io.kind() == std::io::ErrorKind::WouldBlock
                || io.to_string().contains("could not acquire lock"))
    };
    let open = || {
        sled::Config::new()
            .path(dir)
            .mode(sled::Mode::HighThroughput)
            .flush_every_ms(periodic_flush.then_some(500))
            .open()
    };
    // A store this process (or one that just ended) closed a moment ago can still be locked
    // while sled's I/O threads finish its last write: ask again for up to a second before
    // saying another process holds it.
    let started = std::time::Instant::now();
    let mut opened = open();
    while opened.as_ref().is_err_and(locked)
        && started.elapsed() < std::time::Duration::from_secs(1)
    {
        std::thread::sleep(std::time::Duration::from_millis(25));
        opened = open();
    }
    let db = opened
            .map_err(|e| match e {
                ref e if locked(e) => {
                    Error::storage_msg(format!(
                        "the store at {} is in use by another cairn process (is `cairn run` or `cairn serve` running?)",
                        dir.display()
                    ))
                }
                sled::Error::Corruption { .. } => Error::storage_msg(format!(
                    "the store at {} is damaged and cannot be opened ({e}). Nothing was changed. Restore the \
                     folder from a backup (docs/runbook.md); what this node already sent to the hub is safe there",
                    dir.display()
                )),
                other => Error::storage(&format!("could not open the store at {}", dir.display()), other),
            })?;
    let tree = db.open_tree("cairn")?;
    Ok((db, tree))
}

impl Core {
    /// The worker: derive whatever is queued, then wait to be woken (or for a nap's length).
    fn work(&self) {
        background_priority();
        while !self.stop.load(Ordering::SeqCst) {
            self.wait_for_lull();
            if let Err(e) = self.settle() {
                tracing::error!("deriving acknowledged entries failed (kept queued): {e}");
            }
            let Ok(mut woken) = self.wake_lock.lock() else {
                return;
            };
            if !*woken && !self.stop.load(Ordering::SeqCst) {
                woken = match self.wake.wait_timeout(woken, WORKER_NAP) {
                    Ok((g, _)) => g,
                    Err(_) => return,
                };
            }
            *woken = false;
        }
    }

    /// Wait until no sync session is running and peers' batches stop arriving for a moment
    /// ([`LULL`]; at most [`LULL_AT_MOST`] in all), or the store is closing: for work nobody is
    /// waiting for (deriving in the worker, the hub's background upkeep). A crowd of sites
    /// arriving together is then answered first, and what it brought is derived after it in a
    /// few large batches, which costs less processor time than many small ones beside the
    /// sessions.
    pub fn wait_for_lull(&self) {
        let started = std::time::Instant::now();
        while !self.stop.load(Ordering::SeqCst) {
            let now = self.opened.elapsed();
            let last = std::time::Duration::from_micros(self.last_append_us.load(Ordering::SeqCst));
            let quiet = if self.sessions.load(Ordering::SeqCst) > 0 {
                std::time::Duration::ZERO
            } else {
                now.saturating_sub(last)
            };
            let waited = started.elapsed();
            if quiet >= LULL || waited >= LULL_AT_MOST {
                return;
            }
            std::thread::sleep((LULL - quiet).min(LULL_AT_MOST - waited));
        }
    }

    /// Count a sync session as running until the guard is dropped, one guard a session (see
    /// [`Core::wait_for_lull`], and [`Core::durable`]: the flusher stops spacing its flushes
    /// once every session counted waits for one).
    pub fn session_running(&self) -> SessionRunning<'_> {
        self.sessions.fetch_add(1, Ordering::SeqCst);
        SessionRunning { core: self }
    }

    /// How many sync sessions count as running now (background work waits for none).
    pub fn sessions_running(&self) -> usize {
        self.sessions.load(Ordering::SeqCst)
    }

    /// Note that a peer's batch was just appended (see [`Core::wait_for_lull`]).
    fn appended_now(&self) {
        let us = u64::try_from(self.opened.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.last_append_us.fetch_max(us, Ordering::SeqCst);
    }

    /// Wake the worker, starting it first if this store has one and it is not running yet.
    fn kick(&self) {
        if let Some(worker) = &self.worker
            && !self.stop.load(Ordering::SeqCst)
        {
            let mut running = worker.lock().unwrap_or_else(|p| p.into_inner());
            if running.is_none()
                && let Some(core) = self.me.upgrade()
            {
                match std::thread::Builder::new()
                    .name("cairn-derive".into())
                    .spawn(move || core.work())
                {
                    Ok(handle) => *running = Some(handle),
                    // Reads still derive what they need themselves (`settle`).
                    Err(e) => tracing::error!("cannot start the derivation worker: {e}"),
                }
            }
        }
        if let Ok(mut woken) = self.wake_lock.lock() {
            *woken = true;
            self.wake.notify_one();
        }
    }

    /// Wait until everything acknowledged so far is derived (deriving it here if the worker has
    /// not): what every read of documents and indexes calls first.
    pub fn settle(&self) -> Result<()> {
        let target = self.queued.load(Ordering::SeqCst);
        if self.derived.load(Ordering::SeqCst) >= target {
            return Ok(());
        }
        let mut w = self.writer();
        self.settle_locked(&mut w)
    }

    /// A store written before counts were kept (or a new one) counts once, here. Not flushed:
    /// if it is lost, the next open counts again.
    fn start_counts(&self) -> Result<()> {
        for prefix in self.indexer.counted() {
            if derive::read_count(self, prefix)?.is_none() {
                let mut full = vec![keys::INDEX];
                full.extend_from_slice(prefix);
                let n = self.tree.scan_prefix(&full).count() as u64;
                self.tree
                    .insert(keys::count(prefix), n.to_be_bytes().to_vec())?;
            }
        }
        Ok(())
    }

    /// How many index keys start with `prefix`: a maintained count when the indexer asked for
    /// one (see [`Indexer::counted`]), else a scan.
    pub fn index_count(&self, prefix: &[u8]) -> Result<u64> {
        self.settle()?;
        if self.indexer.counted().contains(&prefix)
            && let Some(n) = derive::read_count(self, prefix)?
        {
            return Ok(n);
        }
        let mut full = vec![keys::INDEX];
        full.extend_from_slice(prefix);
        Ok(self.tree.scan_prefix(&full).count() as u64)
    }

    fn appender(&self) -> MutexGuard<'_, Appending> {
        self.appender
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn writer(&self) -> MutexGuard<'_, Writer> {
        // A panic while holding the lock leaves only the cache suspect; clear it and go on.
        self.writer.lock().unwrap_or_else(|poisoned| {
            let mut w = poisoned.into_inner();
            w.docs.clear();
            w
        })
    }

    /// Write everything to disk. Called before any success is reported.
    ///
    /// sled's flush writes its log and waits for the disk with `sync_file_range`, which commits
    /// neither the file's metadata (its length, as the log grows) nor the disk's write cache, and
    /// it never syncs the blob files it keeps large nodes in; its own `fsync` runs every 500 ms
    /// on its flusher thread. That survives the process being killed (the kernel still holds
    /// the pages), not a power cut in the half second after. So the log and any new blob files
    /// are synced here too ([`OnDisk::sync`]).
    pub fn flush(&self) -> Result<()> {
        let listings_before = self.on_disk.listings();
        self.db.flush()?;
        self.on_disk.sync(listings_before)?;
        Ok(())
    }

    /// Double the record index's buckets if a batch written under `w` left its records
    /// outgrowing them ([`record_index::grow`]). Call it once that batch is applied.
    fn grow_record_index(&self, w: &mut Writer) -> Result<()> {
        let watch = |to: u8, i: u32| {
            if let Some(watch) = self.doubling_watch.get() {
                watch(to, i);
            }
        };
        if std::mem::take(&mut w.record_index_outgrown)
            && let Err(e) = record_index::grow_watched(&self.tree, record_index::GROWTH, &watch)
        {
            w.record_index_outgrown = true;
            return Err(e);
        }
        Ok(())
    }

    /// [`Core::grow_record_index`] after a batch that is applied (a local write, a pass of the
    /// derivation worker): a doubling that fails leaves the index readable as it was, and the
    /// next write tries again, so what was written is not reported as failed for it.
    fn grow_record_index_or_warn(&self, w: &mut Writer) {
        if let Err(e) = self.grow_record_index(w) {
            tracing::warn!("the record index could not double its buckets: {e}");
        }
    }

    /// Have `watch` told of each bucket place that a doubling of the record index passes after
    /// a write, with the bits it doubles to and the place ([`record_index::Watch`]). It runs
    /// with the writer held, so whatever it waits for, writes wait for too. For `cairn debug
    /// doubling-stream`, whose kill test stops the process inside a doubling, and for the
    /// concurrent benchmark, which counts the places passed during a crowd. Returns false, and
    /// changes nothing, if a watch was set already.
    pub fn watch_doublings(&self, watch: impl Fn(u8, u32) + Send + Sync + 'static) -> bool {
        self.doubling_watch.set(Box::new(watch)).is_ok()
    }

    /// Bytes the store occupies on disk.
    pub fn size_on_disk(&self) -> Result<u64> {
        Ok(self.db.size_on_disk()?)
    }

    /// The record index's buckets and the records they hold, or `None` for an index without a
    /// shape (65,536 buckets, as written before buckets grew, or no index yet). The benchmark of
    /// a doubling reads it to tell which write crossed the line.
    pub fn record_buckets(&self) -> Result<Option<(u32, u64)>> {
        Ok(record_index::shape(&self.tree)?.map(|s| (1u32 << s.bits, s.records)))
    }

    /// The last entry held for `origin`.
    pub fn tip(&self, origin: &Origin) -> Result<Option<Tip>> {
        if let Some(tips) = self.tips_read().as_ref() {
            return Ok(tips.get(origin).copied());
        }
        Ok(self.load_tips()?.get(origin).copied())
    }

    /// The tip of `origin` as the tree records it, not the copy kept in memory: `check` compares
    /// what is on disk with the log.
    pub(super) fn stored_tip(&self, origin: &Origin) -> Result<Option<Tip>> {
        match self.tree.get(keys::origin_key(keys::TIP, origin))? {
            None => Ok(None),
            Some(v) => decode_tip(&v).map(Some),
        }
    }

    /// What this store holds, per origin.
    pub fn vector(&self) -> Result<VersionVector> {
        let mut v = VersionVector::new();
        for (origin, tip) in self.tips()? {
            v.set(origin, tip.seq);
        }
        Ok(v)
    }

    /// Every origin held and its last entry, in the order of their keys.
    pub fn tips(&self) -> Result<Vec<(Origin, Tip)>> {
        if let Some(tips) = self.tips_read().as_ref() {
            return Ok(tips.iter().map(|(o, t)| (*o, *t)).collect());
        }
        Ok(self.load_tips()?.into_iter().collect())
    }

    /// The feeds of `node` held and their last entries: [`Core::tips`] of one node, which a
    /// hub's session with a site reads without copying every site's feed.
    pub fn tips_of(&self, node: &cairn_sync_protocol::NodeId) -> Result<Vec<(Origin, Tip)>> {
        let feeds = Origin {
            node: *node,
            epoch: 0,
        }..=Origin {
            node: *node,
            epoch: u32::MAX,
        };
        if let Some(tips) = self.tips_read().as_ref() {
            return Ok(tips.range(feeds).map(|(o, t)| (*o, *t)).collect());
        }
        Ok(self
            .load_tips()?
            .range(feeds)
            .map(|(o, t)| (*o, *t))
            .collect())
    }

    fn tips_read(&self) -> std::sync::RwLockReadGuard<'_, Option<BTreeMap<Origin, Tip>>> {
        // The map is replaced or extended whole under the lock; a panic elsewhere leaves it whole.
        self.tips.read().unwrap_or_else(|p| p.into_inner())
    }

    fn tips_write(&self) -> std::sync::RwLockWriteGuard<'_, Option<BTreeMap<Origin, Tip>>> {
        self.tips.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Read every tip from the tree into memory (under the appender's lock, so no append moves
    /// one between the scan and the copy kept), and return them. An unreadable tip is an error
    /// here, as it was to every read before, and nothing is kept: `check` reports it and
    /// `rebuild` rewrites it.
    fn load_tips(&self) -> Result<BTreeMap<Origin, Tip>> {
        let append = self.appender();
        self.load_tips_appending(&append)
    }

    /// [`Core::load_tips`] for a caller that holds the appender's lock.
    fn load_tips_appending(&self, _append: &Appending) -> Result<BTreeMap<Origin, Tip>> {
        if let Some(tips) = self.tips_read().as_ref() {
            return Ok(tips.clone());
        }
        let mut tips = BTreeMap::new();
        for kv in self.tree.scan_prefix([keys::TIP]) {
            let (k, val) = kv?;
            let origin = keys::parse_origin(&k[1..]).ok_or_else(|| corrupt("a tip key"))?;
            tips.insert(origin, decode_tip(&val)?);
        }
        *self.tips_write() = Some(tips.clone());
        Ok(tips)
    }

    /// [`Core::tip`] for a caller that holds the appender's lock.
    fn tip_appending(&self, append: &Appending, origin: &Origin) -> Result<Option<Tip>> {
        if let Some(tips) = self.tips_read().as_ref() {
            return Ok(tips.get(origin).copied());
        }
        Ok(self.load_tips_appending(append)?.get(origin).copied())
    }

    /// Record tips just applied to the tree. Call with the appender's lock held, after
    /// `apply_batch` succeeded. If the tips were never read, the tree has them for the first read.
    fn tips_moved(&self, moved: impl IntoIterator<Item = (Origin, Tip)>) {
        if let Some(tips) = self.tips_write().as_mut() {
            tips.extend(moved);
        }
    }

    /// Forget the tips kept in memory; the next read takes them from the tree.
    fn tips_forget(&self) {
        *self.tips_write() = None;
    }

    /// After a batch failed: whether any of it reached the tree is unknown, so the tips and the
    /// clock are read from the tree again rather than assumed unmoved.
    fn copies_unknown(&self, append: &mut Appending) {
        self.tips_forget();
        append.clock = None;
    }

    /// How many `E` keys hold the log (whole entries from peers share keys in blocks).
    pub fn log_keys(&self) -> Result<u64> {
        let mut n = 0;
        for kv in self.tree.scan_prefix([keys::ENTRY]).keys() {
            kv?;
            n += 1;
        }
        Ok(n)
    }

    /// The feed item covering `seq` of `origin` (of a block, the one entry).
    pub fn item_covering(&self, origin: &Origin, seq: u64) -> Result<Option<FeedItem>> {
        // Values sit under the last sequence number they cover, so the first key at or after
        // `seq` is the one value that can cover it.
        let start = keys::entry(origin, seq);
        let end = keys::entry(origin, u64::MAX);
        match self.tree.range(start..=end).next() {
            None => Ok(None),
            Some(kv) => Ok(decode_item(&kv?.1)?.covering(seq)),
        }
    }

    /// Up to `max` items of `origin` from `from_seq` on (an elided range is trimmed to start there;
    /// a block gives its entries one by one).
    pub fn read_items(&self, origin: &Origin, from_seq: u64, max: usize) -> Result<Vec<FeedItem>> {
        self.read_in_place(origin, from_seq, max, |item| item.into_feed_item())
    }

    /// [`Core::read_items`] for a peer: an entry's payload is copied out only if `visible`
    /// says the peer may see it ([`cairn_sync_protocol::LogStore::read_for`]).
    pub fn read_items_for(
        &self,
        origin: &Origin,
        from_seq: u64,
        max: usize,
        visible: &dyn Fn(u64, &BodyRef<'_>) -> bool,
    ) -> Result<Vec<PeerItem>> {
        self.read_in_place(origin, from_seq, max, |item| match item {
            ItemView::Elided(r) => PeerItem::Elided(r),
            ItemView::Entry(e) if visible(e.entry.seq, &e.entry.body) => {
                PeerItem::Visible(e.to_stored())
            }
            ItemView::Entry(e) => PeerItem::Hidden(e.hidden()),
        })
    }

    /// Up to `max` items of `origin` from `from_seq` on, each read in place from its stored
    /// value and handed to `each` (an elided range that starts earlier is trimmed to start at
    /// `from_seq`).
    fn read_in_place<T>(
        &self,
        origin: &Origin,
        from_seq: u64,
        max: usize,
        mut each: impl FnMut(ItemView<'_>) -> T,
    ) -> Result<Vec<T>> {
        let start = keys::entry(origin, from_seq);
        let end = keys::entry(origin, u64::MAX);
        let mut out = Vec::new();
        if max == 0 {
            return Ok(out);
        }
        for kv in self.tree.range(start..=end) {
            let (_, v) = kv?;
            for mut item in decode_view(&v)? {
                if item.last_seq() < from_seq {
                    continue;
                }
                if let ItemView::Elided(r) = &mut item
                    && r.first_seq < from_seq
                {
                    r.first_seq = from_seq;
                }
                out.push(each(item));
                if out.len() == max {
                    return Ok(out);
                }
            }
        }
        Ok(out)
    }

    /// Every origin this store holds something of.
    pub fn origins(&self) -> Result<Vec<Origin>> {
        Ok(self.vector()?.iter().map(|(o, _)| *o).collect())
    }

    /// Forks recorded (their origins are frozen).
    pub fn forks(&self) -> Result<Vec<Fork>> {
        Ok(self.forks.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }

    /// Record a fork; the origin is frozen from now on.
    pub fn freeze(&self, fork: &Fork) -> Result<()> {
        let _w = self.writer();
        let key = keys::origin_key(keys::FORK, &fork.origin);
        if self.tree.get(&key)?.is_none() {
            let v = codec::encode(fork).map_err(|e| Error::storage("encoding a fork", e))?;
            self.tree.insert(key, v)?;
            self.written()?;
            // Known frozen once durable (the writer's lock keeps two freezes of one origin
            // from both getting here).
            self.forks
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(*fork);
        }
        Ok(())
    }

    /// The stored bytes of a piece of local state: the copy kept, or read from the tree.
    fn local_bytes(&self, name: &str) -> Result<Option<sled::IVec>> {
        let key = keys::local(name);
        if let Some(held) = self
            .locals
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return Ok(held.clone());
        }
        let seen = self.locals_changed.load(Ordering::SeqCst);
        let stored = self.tree.get(&key)?;
        let mut locals = self.locals.write().unwrap_or_else(|p| p.into_inner());
        // A write counted since the read above may have changed this key: keep nothing.
        if self.locals_changed.load(Ordering::SeqCst) == seen {
            locals.insert(key, stored.clone());
        }
        Ok(stored)
    }

    /// Write local state with `write`, then drop the copies of `names` (also if it failed:
    /// whether a failed write reached the tree is unknown).
    fn write_locals(&self, names: &[&str], write: impl FnOnce() -> Result<()>) -> Result<()> {
        let written = write();
        let mut locals = self.locals.write().unwrap_or_else(|p| p.into_inner());
        self.locals_changed.fetch_add(1, Ordering::SeqCst);
        for name in names {
            locals.remove(&keys::local(name));
        }
        written
    }

    /// Write one piece of local state to the tree.
    fn put_local(&self, name: &str, value: Vec<u8>) -> Result<()> {
        self.write_locals(&[name], || {
            self.tree.insert(keys::local(name), value)?;
            Ok(())
        })
    }

    /// Read a piece of local state.
    pub fn local<T: serde::de::DeserializeOwned>(&self, name: &str) -> Result<Option<T>> {
        match self.local_bytes(name)? {
            None => Ok(None),
            Some(v) => serde_json::from_slice(&v)
                .map(Some)
                .map_err(|e| Error::storage(&format!("local state `{name}` is unreadable"), e)),
        }
    }

    /// Hold while reading local state, changing it and writing it back, so that two writers
    /// changing the same record (two sessions with one peer: a site that reconnects while the
    /// hub's session of the cut connection is still ending) each keep the other's change. The
    /// writes themselves never wait for the disk under it.
    pub fn updating_locals(&self) -> MutexGuard<'_, ()> {
        self.updating_locals
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Write a piece of local state durably.
    pub fn set_local<T: serde::Serialize>(&self, name: &str, value: &T) -> Result<()> {
        let written = self.set_local_unflushed(name, value)?;
        self.durable_now(written)
    }

    /// [`Core::set_local`] left for [`Core::durable`] to flush.
    pub fn set_local_unflushed<T: serde::Serialize>(
        &self,
        name: &str,
        value: &T,
    ) -> Result<Unflushed> {
        self.put_local(name, local_json(value)?)?;
        Ok(self.unflushed())
    }

    /// Read a piece of local state stored in the binary codec (for values JSON cannot key, such
    /// as version vectors).
    pub fn local_bin<T: serde::de::DeserializeOwned>(&self, name: &str) -> Result<Option<T>> {
        match self.local_bytes(name)? {
            None => Ok(None),
            Some(v) => codec::decode(&v, cairn_sync_protocol::limits::MAX_FRAME)
                .map(Some)
                .map_err(|e| Error::storage(&format!("local state `{name}` is unreadable"), e)),
        }
    }

    /// Write a piece of local state in the binary codec, durably.
    pub fn set_local_bin<T: serde::Serialize>(&self, name: &str, value: &T) -> Result<()> {
        let written = self.set_local_bin_unflushed(name, value)?;
        self.durable_now(written)
    }

    /// [`Core::set_local_bin`] left for [`Core::durable`] to flush.
    pub fn set_local_bin_unflushed<T: serde::Serialize>(
        &self,
        name: &str,
        value: &T,
    ) -> Result<Unflushed> {
        self.put_local(name, local_bin(value)?)?;
        Ok(self.unflushed())
    }

    /// Write a piece of local state as JSON and another in the binary codec together: one
    /// atomic batch and one flush.
    pub fn set_local_and_bin<T: serde::Serialize, U: serde::Serialize>(
        &self,
        name: &str,
        value: &T,
        bin_name: &str,
        bin_value: &U,
    ) -> Result<()> {
        let written = self.set_local_and_bin_unflushed(name, value, bin_name, bin_value)?;
        self.durable_now(written)
    }

    /// [`Core::set_local_and_bin`] left for [`Core::durable`] to flush.
    pub fn set_local_and_bin_unflushed<T: serde::Serialize, U: serde::Serialize>(
        &self,
        name: &str,
        value: &T,
        bin_name: &str,
        bin_value: &U,
    ) -> Result<Unflushed> {
        let mut batch = sled::Batch::default();
        batch.insert(keys::local(name), local_json(value)?);
        batch.insert(keys::local(bin_name), local_bin(bin_value)?);
        self.write_locals(&[name, bin_name], || Ok(self.tree.apply_batch(batch)?))?;
        Ok(self.unflushed())
    }

    /// Forget a piece of local state, durably.
    pub fn remove_local(&self, name: &str) -> Result<()> {
        self.write_locals(&[name], || {
            self.tree.remove(keys::local(name))?;
            Ok(())
        })?;
        self.written()
    }

    /// Every piece of local state whose name starts with `prefix`.
    pub fn locals_with_prefix<T: serde::de::DeserializeOwned>(
        &self,
        prefix: &str,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        for kv in self.tree.scan_prefix(keys::local(prefix)) {
            let (_, v) = kv?;
            out.push(
                serde_json::from_slice(&v)
                    .map_err(|e| Error::storage("local state is unreadable", e))?,
            );
        }
        Ok(out)
    }

    /// The secret hash stored for a principal (user or learner).
    pub fn secret(&self, principal: &[u8; 16]) -> Result<Option<String>> {
        Ok(self
            .tree
            .get(keys::secret(principal))?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// Store a secret hash for a principal, durably.
    pub fn set_secret(&self, principal: &[u8; 16], hash: &str) -> Result<()> {
        self.tree.insert(keys::secret(principal), hash.as_bytes())?;
        self.written()
    }

    /// Append an audit event (not flushed: the trail is for people, and sled flushes on its own
    /// within half a second; nothing is acknowledged on the strength of it).
    pub fn audit_append(&self, at_ms: u64, event: &[u8]) -> Result<()> {
        let mut k = Vec::with_capacity(17);
        k.push(keys::AUDIT);
        k.extend_from_slice(&at_ms.to_be_bytes());
        k.extend_from_slice(&rand::random::<[u8; 8]>());
        self.tree.insert(k, event)?;
        Ok(())
    }

    /// The newest `limit` audit events, newest first.
    pub fn audit_recent(&self, limit: usize) -> Result<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        for kv in self.tree.scan_prefix([keys::AUDIT]).rev().take(limit) {
            out.push(kv?.1.to_vec());
        }
        Ok(out)
    }

    /// Drop the oldest audit events beyond `keep`.
    pub fn audit_prune(&self, keep: usize) -> Result<usize> {
        let total = self.tree.scan_prefix([keys::AUDIT]).count();
        let mut batch = sled::Batch::default();
        let drop = total.saturating_sub(keep);
        for k in self.tree.scan_prefix([keys::AUDIT]).keys().take(drop) {
            batch.remove(k?);
        }
        self.tree.apply_batch(batch)?;
        Ok(drop)
    }

    /// Index lookups: all (key suffix, value) pairs under an index name and key prefix.
    pub fn index_scan(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.settle()?;
        self.index_scan_now(prefix)
    }

    fn index_scan_now(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut full = vec![keys::INDEX];
        full.extend_from_slice(prefix);
        let mut out = Vec::new();
        for kv in self.tree.scan_prefix(&full) {
            let (k, v) = kv?;
            out.push((k[full.len()..].to_vec(), v.to_vec()));
        }
        Ok(out)
    }

    /// One index value.
    pub fn index_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.settle()?;
        self.index_get_now(key)
    }

    fn index_get_now(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let mut full = vec![keys::INDEX];
        full.extend_from_slice(key);
        if let Some(prefix) = self.indexer.record_prefix()
            && let Some(id) = key.strip_prefix(prefix)
        {
            return Ok(record_index::find(&self.tree, id, &full)?.map(|doc| doc.0.to_vec()));
        }
        Ok(self.tree.get(full)?.map(|v| v.to_vec()))
    }

    /// The entries recorded for a document, as (origin, seq, kind byte).
    pub fn doc_entries(&self, doc: &DocId) -> Result<Vec<(Origin, u64, u8)>> {
        self.settle()?;
        self.doc_entries_now(doc)
    }

    /// [`Core::doc_entries`] as derived so far (for derivation itself).
    fn doc_entries_now(&self, doc: &DocId) -> Result<Vec<(Origin, u64, u8)>> {
        let prefix = keys::doc_key(keys::DOC_ENTRY, doc);
        let mut out = Vec::new();
        for kv in self.tree.scan_prefix(&prefix) {
            let (k, v) = kv?;
            out.extend(
                derive::parse_doc_entries(prefix.len(), &k, &v)
                    .ok_or_else(|| corrupt("a document's entry list"))?,
            );
        }
        Ok(out)
    }

    /// Where chunk `index` of a file is in the log, if held.
    pub fn index_chunk(&self, file: &[u8; 32], index: u32) -> Result<Option<(Origin, u64)>> {
        self.settle()?;
        Ok(self
            .tree
            .get(keys::chunk(file, index))?
            .and_then(|v| derive::parse_pointer(&v)))
    }

    /// Every site record derived from the hub's control entries.
    pub fn site_records(&self) -> Result<Vec<derive::SiteRecord>> {
        self.settle()?;
        self.site_records_as_derived()
    }

    /// [`Core::site_records`] as derived so far, without waiting (for decisions that a lagging
    /// answer only delays).
    pub fn site_records_as_derived(&self) -> Result<Vec<derive::SiteRecord>> {
        let mut out = Vec::new();
        for kv in self.tree.scan_prefix([keys::SITE]) {
            let (_, v) = kv?;
            out.push(serde_json::from_slice(&v).map_err(|_| corrupt("a site record"))?);
        }
        Ok(out)
    }

    /// The site record for a node, if the hub admitted it. Site records come only from the
    /// authority's control entries (`derive.rs` ignores anyone else's), so this waits only when
    /// entries of the authority are queued: a hub's handshakes do not queue behind the sites'
    /// batches.
    pub fn site_record(
        &self,
        node: &cairn_sync_protocol::NodeId,
    ) -> Result<Option<derive::SiteRecord>> {
        match self
            .local::<String>("authority")?
            .and_then(|a| a.parse::<cairn_sync_protocol::NodeId>().ok())
        {
            Some(authority) => self.settle_for(|n| *n == authority)?,
            None => self.settle()?,
        }
        self.site_record_now(node)
    }

    /// Whether every document's index holds what [`Indexer::version`] `version` added: true for
    /// a store that was empty when this release first opened it, or rebuilt since. A store
    /// derived in part by an earlier release answers false until `cairn rebuild`, and readers
    /// use what every version holds.
    pub fn indexed_since(&self, version: u32) -> Result<bool> {
        Ok(self.local::<u32>(INDEX_VERSION)?.unwrap_or(0) >= version)
    }

    /// Whether part of the derived state was built by a release before this one's
    /// [`Indexer::version`] or [`DERIVED_FORMAT_VERSION`] (a store that held entries when this
    /// release first opened it, a rebuild cut short, a downgrade): readers then use what every
    /// version holds, and `cairn rebuild` derives what this release adds.
    pub fn derived_by_earlier_release(&self) -> Result<bool> {
        Ok(!self.indexed_since(self.indexer.version())?
            || !self.derived_since(DERIVED_FORMAT_VERSION)?)
    }

    /// Bring the version marker `name` (`index_version`, `derived_format`) down to `known`, this
    /// release's, when a newer release left it higher, durably, before this release derives
    /// anything: from here on the derived state holds only what `known` adds.
    fn lower_to_known(&self, name: &str, known: u32) -> Result<()> {
        if self.local::<u32>(name)?.is_some_and(|v| v > known) {
            tracing::info!(
                "`{name}` was left by a newer release; lowered to this release's {known} \
                 (`cairn rebuild` under the newer release derives its own again)"
            );
            self.set_local(name, &known)?;
        }
        Ok(())
    }

    /// Whether every transfer record is in the `M` list of the sites it names (true for a
    /// store that was empty when this release first opened it, or rebuilt since, as
    /// [`Core::indexed_since`]).
    pub fn lists_transfers(&self) -> Result<bool> {
        self.derived_since(1)
    }

    /// Whether the store's own derived keys hold what [`DERIVED_FORMAT_VERSION`] `version`
    /// added, as [`Core::indexed_since`] answers for the index.
    fn derived_since(&self, version: u32) -> Result<bool> {
        Ok(self.local::<u32>(DERIVED_FORMAT)?.unwrap_or(0) >= version)
    }

    /// How many acknowledged entries wait in the derivation queue: a read of every queue
    /// record (one a batch, removed as it is derived), so for reports, not for every session.
    /// An unreadable record counts none (the next pass drops it).
    pub fn queued_entries(&self) -> Result<u64> {
        let mut n = 0u64;
        for kv in self.tree.scan_prefix([keys::DERIVE_QUEUE]) {
            let (_, v) = kv?;
            for (_, first, last) in keys::parse_queued_runs(&v).unwrap_or_default() {
                n = n.saturating_add(last.saturating_sub(first).saturating_add(1));
            }
        }
        Ok(n)
    }

    /// Whether acknowledged entries are still waiting to be derived.
    pub fn behind(&self) -> bool {
        self.derived.load(Ordering::SeqCst) < self.queued.load(Ordering::SeqCst)
    }

    /// Whether entries authored by a node `of` picks are queued and not yet derived (or may
    /// be: see `queue.rs`).
    pub fn queued_from(&self, of: impl Fn(&cairn_sync_protocol::NodeId) -> bool) -> Result<bool> {
        Ok(self.behind() && self.queued_authors.any(of))
    }

    /// Whether entries authored by a node `of` picks may be appended and not yet derived. Unlike
    /// [`Core::queued_from`] it does not first ask whether the derivation is behind: a batch is
    /// counted here before it is applied, and its place in the queue only after its entries
    /// are in the log, so this also answers for a batch appended a moment ago.
    pub fn may_be_queued_from(&self, of: impl Fn(&cairn_sync_protocol::NodeId) -> bool) -> bool {
        self.queued_authors.any(of)
    }

    /// How many times a rebuild has started or ended since the store opened: odd while one runs.
    /// A rebuild throws derived state away and derives it again, so derived state read while the
    /// count was odd, or read on either side of a change of it, may be partial.
    pub fn rebuilds(&self) -> u64 {
        self.rebuilds.load(Ordering::SeqCst)
    }

    /// [`Core::settle`], but only when entries authored by a node `of` picks are queued: for
    /// reads of derived state that only those nodes' entries can change.
    pub fn settle_for(&self, of: impl Fn(&cairn_sync_protocol::NodeId) -> bool) -> Result<()> {
        if self.queued_from(of)? {
            self.settle()?;
        }
        Ok(())
    }

    /// Derived state as it stands, without waiting for what is queued: only for decisions the
    /// caller has shown are safe on state that may lag the log (see `sync::scope`).
    pub fn as_derived(&self) -> AsDerived<'_> {
        AsDerived { core: self }
    }

    /// [`Core::site_record`] as derived so far (for derivation itself).
    fn site_record_now(
        &self,
        node: &cairn_sync_protocol::NodeId,
    ) -> Result<Option<derive::SiteRecord>> {
        match self.tree.get(keys::site(&node.0))? {
            None => Ok(None),
            Some(v) => serde_json::from_slice(&v)
                .map(Some)
                .map_err(|_| corrupt("a site record")),
        }
    }
}

pub use derive::{SiteRecord, kind_byte};

/// A sync session counted as running ([`Core::session_running`]).
pub struct SessionRunning<'a> {
    core: &'a Core,
}

impl Drop for SessionRunning<'_> {
    fn drop(&mut self) {
        self.core.sessions.fetch_sub(1, Ordering::SeqCst);
        // A flush waiting for the spacing need not, once the sessions left all wait for it.
        if self.core.every_session_waits() {
            self.core.wake_flusher();
        }
    }
}

/// Reads of derived state as it stands ([`Core::as_derived`]): each sees the state between
/// two derivation batches (each batch is applied atomically), possibly behind the log.
#[derive(Clone, Copy)]
pub struct AsDerived<'a> {
    core: &'a Core,
}

impl AsDerived<'_> {
    /// [`Core::index_scan`] without waiting.
    pub fn index_scan(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.core.index_scan_now(prefix)
    }

    /// [`Core::index_get`] without waiting.
    pub fn index_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.core.index_get_now(key)
    }

    /// [`Core::doc_entries`] without waiting.
    pub fn doc_entries(&self, doc: &DocId) -> Result<Vec<(Origin, u64, u8)>> {
        self.core.doc_entries_now(doc)
    }

    /// The entries of `origin`'s feed after `after` in a document's list, as (seq, kind byte),
    /// as derived so far: [`AsDerived::doc_entries`] of one feed, reading only the list that
    /// holds `after + 1` and those past it, however long the document's history.
    pub fn doc_entries_after(
        &self,
        doc: &DocId,
        origin: &Origin,
        after: u64,
    ) -> Result<Vec<(u64, u8)>> {
        let prefix = keys::doc_origin(doc, origin);
        let Some(next) = after.checked_add(1) else {
            return Ok(Vec::new());
        };
        // Each key holds a list starting at its own sequence number, and one feed's lists for a
        // document never overlap and rise from key to key (`derive::list_doc_entries` appends
        // only to the last, in the feed's order): the one holding `next` is the last key not
        // past it (or, if none, the first after it).
        let from = match self
            .core
            .tree
            .range(prefix.clone()..=keys::doc_entry(doc, origin, next))
            .next_back()
        {
            Some(kv) => kv?.0.to_vec(),
            None => prefix.clone(),
        };
        let doc_prefix = keys::doc_key(keys::DOC_ENTRY, doc).len();
        let mut out = Vec::new();
        for kv in self.core.tree.range(from..) {
            let (k, v) = kv?;
            if !k.starts_with(&prefix) {
                break;
            }
            let listed = derive::parse_doc_entries(doc_prefix, &k, &v)
                .ok_or_else(|| corrupt("a document's entry list"))?;
            out.extend(
                listed
                    .into_iter()
                    .filter(|(_, seq, _)| *seq > after)
                    .map(|(_, seq, kind)| (seq, kind)),
            );
        }
        Ok(out)
    }

    /// The entries of `origin`'s feed after `after` recording a learner's transfer to or from
    /// `site`, as derived so far (every one only if [`Core::lists_transfers`]).
    pub fn transfers_of(
        &self,
        site: &cairn_sync_protocol::NodeId,
        origin: &Origin,
        after: u64,
    ) -> Result<Vec<u64>> {
        let mut prefix = vec![keys::TRANSFER];
        prefix.extend_from_slice(&site.0);
        prefix.extend_from_slice(&origin.to_bytes());
        let Some(next) = after.checked_add(1) else {
            return Ok(Vec::new());
        };
        let mut from = prefix.clone();
        from.extend_from_slice(&next.to_be_bytes());
        let mut out = Vec::new();
        for k in self.core.tree.range(from..).keys() {
            let k = k?;
            if !k.starts_with(&prefix) {
                break;
            }
            let seq = k
                .get(prefix.len()..)
                .filter(|rest| rest.len() == 8)
                .and_then(keys::parse_u64)
                .ok_or_else(|| corrupt("a transfer's key"))?;
            out.push(seq);
        }
        Ok(out)
    }
}

fn decode_tip(v: &[u8]) -> Result<Tip> {
    if v.len() != 40 {
        return Err(corrupt("a tip"));
    }
    let seq = keys::parse_u64(v).ok_or_else(|| corrupt("a tip"))?;
    let hash: [u8; 32] = v[8..40].try_into().map_err(|_| corrupt("a tip"))?;
    Ok(Tip {
        seq,
        hash: Hash32(hash),
    })
}

fn encode_tip(t: &Tip) -> Vec<u8> {
    let mut v = Vec::with_capacity(40);
    v.extend_from_slice(&t.seq.to_be_bytes());
    v.extend_from_slice(&t.hash.0);
    v
}

/// An `E` value as stored. The first two variants are [`FeedItem`]'s, in its order and with its
/// contents, so every value written as a `FeedItem` (all of them, before blocks) reads as one of
/// them. `Entries` holds consecutive whole entries of one feed under the key of the last: a batch
/// from a peer costs sled one key per block instead of one per entry (see [`BLOCK_BYTES`]).
#[derive(serde::Deserialize)]
enum StoredItem {
    Entry(StoredEntry),
    Elided(cairn_sync_protocol::ElidedRange),
    Entries(Vec<StoredEntry>),
}

/// [`StoredEntry`]'s fields, its body's payload borrowed.
struct StoredEntryView<'a> {
    entry: EntryView<'a>,
    hash: Hash32,
    auth: Option<cairn_sync_protocol::Auth>,
}

/// [`cairn_sync_protocol::Entry`]'s fields, its body's payload borrowed.
struct EntryView<'a> {
    origin: Origin,
    seq: u64,
    prev: Hash32,
    hlc: cairn_sync_protocol::Hlc,
    body: BodyRef<'a>,
}

impl StoredEntryView<'_> {
    fn to_stored(&self) -> StoredEntry {
        let e = &self.entry;
        StoredEntry {
            entry: cairn_sync_protocol::Entry {
                origin: e.origin,
                seq: e.seq,
                prev: e.prev,
                hlc: e.hlc,
                body: cairn_sync_protocol::Body {
                    doc: e.body.doc,
                    user: e.body.user,
                    kind: e.body.kind,
                    data: e.body.data.to_vec(),
                },
            },
            hash: self.hash,
            auth: self.auth,
        }
    }

    fn hidden(&self) -> HiddenEntry {
        HiddenEntry {
            seq: self.entry.seq,
            prev: self.entry.prev,
            hlc: self.entry.hlc,
            hash: self.hash,
            auth: self.auth,
        }
    }
}

/// One feed item of an `E` value read in place: [`FeedItem`]'s forms, with an entry's body's
/// payload borrowed from the stored value. A hub's session passes over far more entries than
/// it sends whole (every other site's program-signed credentials), and only those it sends are
/// copied out. The layout is read field by field ([`codec::InPlace`], [`decode_view`]): through
/// serde, each byte of the fixed-size ids and hashes costs a call, and those were the largest
/// share of a hub's work per session that grew with the number of sites (docs/benchmarks.md,
/// round 24).
enum ItemView<'a> {
    Entry(StoredEntryView<'a>),
    Elided(cairn_sync_protocol::ElidedRange),
}

impl ItemView<'_> {
    /// The item, its payload copied out.
    fn into_feed_item(self) -> FeedItem {
        match self {
            ItemView::Entry(e) => FeedItem::Entry(e.to_stored()),
            ItemView::Elided(r) => FeedItem::Elided(r),
        }
    }

    fn last_seq(&self) -> u64 {
        match self {
            ItemView::Entry(e) => e.entry.seq,
            ItemView::Elided(r) => r.last_seq,
        }
    }
}

/// Read an `E` value in place, as the feed items it holds in order: the fields of
/// [`StoredItem`] in its serde layout (enum variants, then each struct's fields in order; the
/// property test `a_value_read_in_place_is_the_value_decoded` holds this to `decode_item`).
fn decode_view(v: &[u8]) -> Result<Vec<ItemView<'_>>> {
    use codec::{CodecError, InPlace};
    type Read<T> = std::result::Result<T, CodecError>;
    fn unknown<T>(what: &str, variant: u32) -> Read<T> {
        Err(CodecError::Malformed(format!("{what} variant {variant}")))
    }
    fn hash(r: &mut InPlace<'_>) -> Read<Hash32> {
        r.array().map(Hash32)
    }
    fn hlc(r: &mut InPlace<'_>) -> Read<cairn_sync_protocol::Hlc> {
        Ok(cairn_sync_protocol::Hlc {
            wall_ms: r.u64()?,
            counter: r.u32()?,
        })
    }
    fn signature(r: &mut InPlace<'_>) -> Read<cairn_sync_protocol::Signature> {
        let bytes = r.bytes()?;
        <[u8; 64]>::try_from(bytes)
            .map(cairn_sync_protocol::Signature)
            .map_err(|_| CodecError::Malformed(format!("a signature of {} bytes", bytes.len())))
    }
    fn auth(r: &mut InPlace<'_>) -> Read<Option<cairn_sync_protocol::Auth>> {
        use cairn_sync_protocol::{Auth, NodeId};
        if !r.is_some()? {
            return Ok(None);
        }
        Ok(Some(match r.variant()? {
            0 => Auth::Origin(signature(r)?),
            1 => Auth::Vouch {
                by: NodeId(r.array()?),
                signature: signature(r)?,
            },
            other => return unknown("an authentication", other),
        }))
    }
    fn entry<'a>(r: &mut InPlace<'a>) -> Read<StoredEntryView<'a>> {
        use cairn_sync_protocol::{BodyKind, NodeId, UserId};
        let origin = Origin {
            node: NodeId(r.array()?),
            epoch: r.u32()?,
        };
        let seq = r.u64()?;
        let prev = hash(r)?;
        let hlc = hlc(r)?;
        let doc = DocId(r.array()?);
        let user = UserId(r.array()?);
        let kind = match r.variant()? {
            0 => BodyKind::Change,
            1 => BodyKind::Control,
            2 => BodyKind::FileChunk,
            other => return unknown("a body kind", other),
        };
        let data = r.bytes()?;
        Ok(StoredEntryView {
            entry: EntryView {
                origin,
                seq,
                prev,
                hlc,
                body: BodyRef {
                    doc,
                    user,
                    kind,
                    data,
                },
            },
            hash: hash(r)?,
            auth: auth(r)?,
        })
    }
    let read = || -> Read<Vec<ItemView<'_>>> {
        let mut r = InPlace::new(v, cairn_sync_protocol::limits::MAX_FRAME)?;
        let items = match r.variant()? {
            0 => vec![ItemView::Entry(entry(&mut r)?)],
            1 => vec![ItemView::Elided(cairn_sync_protocol::ElidedRange {
                first_seq: r.u64()?,
                last_seq: r.u64()?,
                last_prev: hash(&mut r)?,
                last_hlc: hlc(&mut r)?,
                last_body_hash: hash(&mut r)?,
                last_hash: hash(&mut r)?,
                auth: auth(&mut r)?,
            })],
            2 => {
                // Each entry takes bytes, so a damaged count ends with the input.
                let count = r.u64()?;
                let mut entries = Vec::new();
                for _ in 0..count {
                    entries.push(ItemView::Entry(entry(&mut r)?));
                }
                entries
            }
            other => return unknown("a stored item", other),
        };
        r.finish()?;
        Ok(items)
    };
    match read() {
        // An empty block, as `decode_item` refuses it.
        Ok(items) if items.is_empty() => Err(corrupt("a log entry")),
        Ok(items) => Ok(items),
        Err(_) => Err(corrupt("a log entry")),
    }
}

/// [`StoredItem`] to encode, borrowing what it holds (serde encodes `&T` as `T`).
#[derive(serde::Serialize)]
enum StoredItemRef<'a> {
    Entry(&'a StoredEntry),
    #[allow(dead_code)] // Written through `FeedItem` itself; kept so the variants line up.
    Elided(&'a cairn_sync_protocol::ElidedRange),
    Entries(&'a [&'a StoredEntry]),
}

/// Most bytes of entries gathered into one `Entries` value (an entry larger than this is stored
/// alone). Reading one entry of a block decodes the block, so blocks stay small.
pub const BLOCK_BYTES: usize = 64 * 1024;
/// Most entries gathered into one `Entries` value.
pub const BLOCK_ENTRIES: usize = 64;

impl StoredItem {
    /// The feed items this value holds, in order.
    fn into_items(self) -> Vec<FeedItem> {
        match self {
            StoredItem::Entry(e) => vec![FeedItem::Entry(e)],
            StoredItem::Elided(r) => vec![FeedItem::Elided(r)],
            StoredItem::Entries(es) => es.into_iter().map(FeedItem::Entry).collect(),
        }
    }

    /// The item covering `seq`, if this value holds one.
    fn covering(self, seq: u64) -> Option<FeedItem> {
        let item = match self {
            StoredItem::Entries(es) => {
                return es
                    .into_iter()
                    .find(|e| e.entry.seq == seq)
                    .map(FeedItem::Entry);
            }
            StoredItem::Entry(e) => FeedItem::Entry(e),
            StoredItem::Elided(r) => FeedItem::Elided(r),
        };
        (item.first_seq() <= seq && seq <= item.last_seq()).then_some(item)
    }
}

fn decode_item(v: &[u8]) -> Result<StoredItem> {
    match codec::decode(v, cairn_sync_protocol::limits::MAX_FRAME) {
        Ok(StoredItem::Entries(es)) if es.is_empty() => Err(corrupt("a log entry")),
        Ok(item) => Ok(item),
        Err(_) => Err(corrupt("a log entry")),
    }
}

/// A piece of local state as JSON ([`Core::set_local`]).
fn local_json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| Error::storage("encoding local state", e))
}

/// A piece of local state in the binary codec ([`Core::set_local_bin`]).
fn local_bin<T: serde::Serialize>(value: &T) -> Result<Vec<u8>> {
    codec::encode(value).map_err(|e| Error::storage("encoding local state", e))
}

fn encode_item(item: &FeedItem) -> Result<Vec<u8>> {
    codec::encode(item).map_err(|e| Error::storage("encoding a log entry", e))
}

/// One `E` value for consecutive whole entries of a feed: a single entry as [`encode_item`]
/// writes it, more as a block.
fn encode_entries(entries: &[&StoredEntry]) -> Result<Vec<u8>> {
    let value = match entries {
        [one] => StoredItemRef::Entry(one),
        many => StoredItemRef::Entries(many),
    };
    codec::encode(&value).map_err(|e| Error::storage("encoding log entries", e))
}

fn corrupt(what: &str) -> Error {
    Error::storage_msg(format!(
        "{what} in the store is corrupt; run `cairn check` to see what is affected and `cairn rebuild` to recompute derived state"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_sync_protocol::{Body, BodyKind, ElidedRange, Hlc, NodeKey, UserId};

    fn entry(seq_prev: Option<(u64, Hash32)>) -> StoredEntry {
        let key = NodeKey::from_bytes(&[7; 32]);
        let body = Body {
            doc: DocId([1; 16]),
            user: UserId([2; 16]),
            kind: BodyKind::Change,
            data: b"change".to_vec(),
        };
        StoredEntry::author(&key, 0, seq_prev, Hlc::default(), body)
    }

    /// Values written as a `FeedItem` (every value before blocks) read as the same item, and a
    /// block reads back as its entries.
    #[test]
    fn every_stored_form_reads_back() {
        let first = entry(None);
        let second = entry(Some((1, first.hash)));
        let one = FeedItem::Entry(first.clone());
        let elided = FeedItem::Elided(ElidedRange {
            first_seq: 1,
            last_seq: 2,
            last_prev: first.hash,
            last_hlc: second.entry.hlc,
            last_body_hash: Hash32::ZERO,
            last_hash: second.hash,
            auth: None,
        });
        for item in [one.clone(), elided.clone()] {
            let stored = decode_item(&encode_item(&item).unwrap()).unwrap();
            assert_eq!(stored.into_items(), vec![item]);
        }
        assert_eq!(
            encode_entries(&[&first]).unwrap(),
            encode_item(&one).unwrap()
        );
        let block = decode_item(&encode_entries(&[&first, &second]).unwrap()).unwrap();
        assert_eq!(
            block.into_items(),
            vec![
                FeedItem::Entry(first.clone()),
                FeedItem::Entry(second.clone())
            ]
        );
        let block = || decode_item(&encode_entries(&[&first, &second]).unwrap()).unwrap();
        assert_eq!(block().covering(2), Some(FeedItem::Entry(second.clone())));
        assert_eq!(block().covering(1), Some(FeedItem::Entry(first.clone())));
        assert_eq!(block().covering(3), None);
        let elided_stored = || decode_item(&encode_item(&elided).unwrap()).unwrap();
        assert_eq!(elided_stored().covering(1), Some(elided.clone()));
        assert_eq!(elided_stored().covering(3), None);
    }

    /// The owned items a value read in place gives.
    fn viewed(v: &[u8]) -> Result<Vec<FeedItem>> {
        Ok(decode_view(v)?
            .into_iter()
            .map(|item| item.into_feed_item())
            .collect())
    }

    fn arbitrary_entry() -> impl proptest::strategy::Strategy<Value = StoredEntry> {
        use proptest::prelude::*;
        (
            any::<[u8; 16]>(),
            0u8..3,
            prop::collection::vec(any::<u8>(), 0..300),
            any::<u64>(),
            0u8..3,
            any::<[u8; 32]>(),
        )
            .prop_map(|(doc, kind, data, wall_ms, auth, prev)| {
                let key = NodeKey::from_bytes(&[7; 32]);
                let kind =
                    [BodyKind::Change, BodyKind::Control, BodyKind::FileChunk][usize::from(kind)];
                let body = Body {
                    doc: DocId(doc),
                    user: UserId([2; 16]),
                    kind,
                    data,
                };
                let hlc = Hlc {
                    wall_ms,
                    counter: 3,
                };
                let mut e =
                    StoredEntry::author(&key, 1, Some((wall_ms % 1000, Hash32(prev))), hlc, body);
                e.auth = match auth {
                    0 => None,
                    1 => e.auth,
                    _ => Some(e.vouch(&NodeKey::from_bytes(&[9; 32]))),
                };
                e
            })
    }

    proptest::proptest! {
        /// Reading in place gives exactly what decoding the owned value gives, for every form
        /// a value is stored in, and refuses exactly the bytes that decoding refuses.
        #[test]
        fn a_value_read_in_place_is_the_value_decoded(
            entries in proptest::collection::vec(arbitrary_entry(), 1..6),
            cut in 0usize..2000,
            flip in 0usize..2000,
            huge in 0usize..2000,
        ) {
            let refs: Vec<&StoredEntry> = entries.iter().collect();
            let elided = FeedItem::Elided(ElidedRange {
                first_seq: 1,
                last_seq: 9,
                last_prev: entries[0].entry.prev,
                last_hlc: entries[0].entry.hlc,
                last_body_hash: entries[0].entry.body.hash(),
                last_hash: entries[0].hash,
                auth: entries[0].auth,
            });
            for bytes in [
                encode_entries(&refs).unwrap(),
                encode_item(&FeedItem::Entry(entries[0].clone())).unwrap(),
                encode_item(&elided).unwrap(),
            ] {
                let owned = decode_item(&bytes).unwrap().into_items();
                proptest::prop_assert_eq!(viewed(&bytes).unwrap(), owned);
                let mut cut_and_flipped = bytes.clone();
                cut_and_flipped.truncate(cut.min(bytes.len()));
                if let Some(b) = cut_and_flipped.get_mut(flip) {
                    *b ^= 0x41;
                }
                // A varint claiming an enormous count or length where one was, or anywhere.
                let mut claiming = bytes.clone();
                let at = huge.min(bytes.len());
                claiming.splice(at..(at + 1).min(bytes.len()), [253, 255, 255, 255, 255, 255, 255, 255, 127]);
                for bad in [cut_and_flipped, claiming] {
                    match decode_item(&bad) {
                        Ok(item) => proptest::prop_assert_eq!(viewed(&bad).unwrap(), item.into_items()),
                        Err(_) => proptest::prop_assert!(viewed(&bad).is_err()),
                    }
                }
            }
        }
    }

    /// An empty block is refused as corrupt rather than read as a gap.
    #[test]
    fn an_empty_block_is_corrupt() {
        let empty: [&StoredEntry; 0] = [];
        let bytes = codec::encode(&StoredItemRef::Entries(&empty)).unwrap();
        assert!(decode_item(&bytes).is_err());
    }
}
