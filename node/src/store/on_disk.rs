//! What sled's flush leaves to the operating system, synced after it ([`super::Core::flush`]):
//! sled's log (`db`) and the blob files (`blobs/LSN`) it writes a node larger than a quarter of
//! a segment to. docs/storage.md, "What a flush survives".

use crate::error::{Error, Result};
use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

pub(super) struct OnDisk {
    log: std::fs::File,
    blobs: PathBuf,
    listed: Mutex<BlobsListed>,
}

/// What [`OnDisk::sync`] knows of the blob files, so that a flush syncs only the files that
/// may not be on the disk yet and never opens or stats the rest, and, while the folder has not
/// changed, does not list it either: a hub of 100,000 entries holds 243 blob files, one of a
/// million 2,415.
#[derive(Default)]
struct BlobsListed {
    /// Listings of the blob folder finished so far.
    listings: u64,
    /// Blob files synced whole (or found when the store opened).
    whole: HashSet<OsString>,
    /// Blob files that may have been half-written when they were synced, with the listing that
    /// first saw each.
    pending: HashMap<OsString, u64>,
    /// The folder's modification time when it was last listed, if it had not changed for
    /// [`SETTLED`] before that listing began, and when the listing began: while the time stays
    /// so (and the clock has not gone back past that start), the listing still holds.
    settled: Option<(SystemTime, SystemTime)>,
    /// The files found when the store opened are still to be synced.
    unsynced_since_open: bool,
}

/// How long the blob folder must not have changed before a listing begins for the listing to
/// stand until the folder's modification time changes. A file made or removed after the
/// listing began gets a time no earlier than the listing's start less a clock tick, rounded
/// down to the file system's granularity (a nanosecond on ext4, 2 s on FAT), so it cannot
/// equal a time this much older. A clock set back since the listing began makes the next
/// flush list the folder again.
const SETTLED: Duration = Duration::from_secs(3);

impl BlobsListed {
    /// `name`, first listed by listing `first_listed`, has just been synced: whole if that
    /// listing finished before the flush began.
    fn record(&mut self, name: OsString, first_listed: u64, listings_before: u64) {
        if first_listed <= listings_before {
            self.pending.remove(&name);
            self.whole.insert(name);
        } else {
            self.pending.insert(name, first_listed);
        }
    }
}

impl OnDisk {
    /// Call once sled has opened the store, before anything is written to it.
    pub(super) fn open(dir: &Path) -> Result<OnDisk> {
        let log = std::fs::File::open(dir.join("db")).map_err(|e| {
            Error::storage(&format!("could not open the log in {}", dir.display()), e)
        })?;
        let blobs = dir.join("blobs");
        // The blob files already there were written whole by the process that wrote them (sled
        // has finished opening), which may not have synced them: the first flush does.
        let mut listed = BlobsListed::default();
        if let Ok(names) = std::fs::read_dir(&blobs) {
            for entry in names.flatten() {
                listed.whole.insert(entry.file_name());
            }
        }
        listed.unsynced_since_open = !listed.whole.is_empty();
        Ok(OnDisk {
            log,
            blobs,
            listed: Mutex::new(listed),
        })
    }

    fn listed(&self) -> MutexGuard<'_, BlobsListed> {
        self.listed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Listings finished so far: read before sled's flush, passed to [`OnDisk::sync`] after it.
    pub(super) fn listings(&self) -> u64 {
        self.listed().listings
    }

    /// `fdatasync` the log (its data, its length, and through the disk's write cache), then
    /// each blob file that may not be synced whole yet, and the folder that names them. Returns
    /// the blob files synced one by one.
    ///
    /// sled creates a blob file while it holds a reservation in its log, after counting that
    /// reservation in what its flush waits for (`max_reserved_lsn`), and has written the file
    /// whole before the reservation ends. So a blob file that a listing finished before
    /// `listings_before` (read before sled's flush began) saw already existed then, and sled's
    /// flush has waited for it: synced now, it is done. A file first listed later may still be
    /// being written; it is synced at every flush until one that began after that listing.
    /// While the folder's modification time says no file was made or removed since a listing
    /// that [`SETTLED`] allows to stand, only those files are synced, without a listing.
    pub(super) fn sync(&self, listings_before: u64) -> Result<Vec<OsString>> {
        let io = |what: &str, e: std::io::Error| Error::storage(what, e);
        self.log
            .sync_data()
            .map_err(|e| io("syncing the log to the disk", e))?;
        let mut listed = self.listed();
        if listed.unsynced_since_open {
            self.sync_found_at_open(&listed)?;
            listed.unsynced_since_open = false;
        }
        let listing = listed.listings + 1;
        let modified = match std::fs::metadata(&self.blobs) {
            Ok(m) => m.modified().ok(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                listed.listings = listing;
                return Ok(Vec::new());
            }
            Err(e) => return Err(io("reading the store's blob folder", e)),
        };
        let mut synced = Vec::new();
        let still = listed
            .settled
            .is_some_and(|(time, began)| modified == Some(time) && SystemTime::now() >= began);
        if still {
            // No file made or removed since the last listing: only those that may have been
            // half-written then need syncing.
            // Copied, not taken: a failed sync returns with every file still pending.
            for (name, first_listed) in listed.pending.clone() {
                if !self.sync_blob(&name)? {
                    listed.pending.remove(&name);
                    continue;
                }
                listed.record(name.clone(), first_listed, listings_before);
                synced.push(name);
            }
            listed.listings = listing;
            return Ok(synced);
        }
        let began = SystemTime::now();
        let names = match std::fs::read_dir(&self.blobs) {
            Ok(names) => names,
            Err(e) => return Err(io("listing the store's blob files", e)),
        };
        let mut present = HashSet::new();
        let mut any_new = false;
        for entry in names {
            let name = entry
                .map_err(|e| io("listing the store's blob files", e))?
                .file_name();
            if listed.whole.contains(&name) {
                present.insert(name);
                continue;
            }
            let first_listed = listed.pending.get(&name).copied().unwrap_or(listing);
            // Removed by sled meanwhile: nothing points at it any more.
            if !self.sync_blob(&name)? {
                continue;
            }
            any_new |= first_listed == listing;
            listed.record(name.clone(), first_listed, listings_before);
            synced.push(name.clone());
            present.insert(name);
        }
        if any_new {
            std::fs::File::open(&self.blobs)
                .and_then(|d| d.sync_all())
                .map_err(|e| io("syncing the store's blob folder", e))?;
        }
        // Files sled has removed are forgotten.
        if present.len() != listed.whole.len() + listed.pending.len() {
            listed.whole.retain(|name| present.contains(name));
            listed.pending.retain(|name, _| present.contains(name));
        }
        listed.settled = std::fs::metadata(&self.blobs)
            .and_then(|m| m.modified())
            .ok()
            .filter(|m| began.duration_since(*m).is_ok_and(|d| d > SETTLED))
            .map(|m| (m, began));
        listed.listings = listing;
        Ok(synced)
    }

    /// `fdatasync` one blob file; `false` if sled has removed it.
    fn sync_blob(&self, name: &OsString) -> Result<bool> {
        match std::fs::File::open(self.blobs.join(name)) {
            Ok(f) => f
                .sync_data()
                .map(|()| true)
                .map_err(|e| Error::storage("syncing a blob file", e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::storage("opening a blob file", e)),
        }
    }

    /// On Linux one `syncfs` of the blob folder's file system, so that the first write after
    /// opening a large store does not wait for an `fdatasync` of each of its blob files.
    #[cfg(target_os = "linux")]
    fn sync_found_at_open(&self, _: &BlobsListed) -> Result<()> {
        use std::os::fd::AsRawFd;
        let folder = std::fs::File::open(&self.blobs)
            .map_err(|e| Error::storage("opening the store's blob folder", e))?;
        // SAFETY: a plain system call on a descriptor this function holds open.
        if unsafe { libc::syncfs(folder.as_raw_fd()) } != 0 {
            return Err(Error::storage(
                "syncing the store's blob files",
                std::io::Error::last_os_error(),
            ));
        }
        Ok(())
    }

    #[cfg(not(target_os = "linux"))]
    fn sync_found_at_open(&self, listed: &BlobsListed) -> Result<()> {
        for name in &listed.whole {
            self.sync_blob(name)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What happens to the blob folder and the flushes, in the order it happens.
    #[derive(Debug, Clone)]
    enum Step {
        /// sled reserves a new blob and starts writing it (a blob already made stays as it is).
        Start(usize),
        /// sled finishes writing a blob it started.
        Finish(usize),
        /// sled removes a finished blob no page points at any more.
        Remove(usize),
        /// A flush begins: it reads the listings, then sled's flush takes its target.
        Begin,
        /// The oldest flush begun and not ended ends: sled's flush has returned (every blob
        /// started before it began is whole), then `OnDisk::sync`.
        End,
        /// Time passes: the folder was last changed well over [`SETTLED`] ago, so the next
        /// listing stands until a file is made or removed.
        Settle,
    }

    fn steps() -> impl Strategy<Value = Vec<Step>> {
        prop::collection::vec(
            prop_oneof![
                3 => (0usize..8).prop_map(Step::Start),
                3 => (0usize..8).prop_map(Step::Finish),
                1 => (0usize..8).prop_map(Step::Remove),
                2 => Just(Step::Begin),
                2 => Just(Step::End),
                1 => Just(Step::Settle),
            ],
            0..60,
        )
    }

    #[derive(Default, Clone, Copy, PartialEq, Debug)]
    enum Blob {
        #[default]
        NotMade,
        Writing,
        Whole,
        Removed,
    }

    struct Model {
        dir: tempfile::TempDir,
        on_disk: OnDisk,
        blobs: Vec<Blob>,
        /// When (step number) each blob was written whole, and last synced one by one.
        finished_at: Vec<Option<usize>>,
        synced_at: Vec<Option<usize>>,
        /// Flushes begun and not ended: the listings read, and the blobs started before.
        open_flushes: std::collections::VecDeque<(u64, Vec<usize>)>,
        /// Blobs in the store when it was opened (synced by the first flush as a whole).
        found_at_open: Vec<usize>,
    }

    impl Model {
        fn path(&self, i: usize) -> PathBuf {
            self.dir.path().join("blobs").join(format!("{}", 1000 + i))
        }

        /// A file was made or removed: the folder's time as a file system keeping times to
        /// 2 s (FAT) sets it, the coarsest case [`SETTLED`] allows for.
        fn changed(&self) {
            let now = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            self.set_folder_time(SystemTime::UNIX_EPOCH + Duration::from_secs(now - now % 2));
        }

        fn set_folder_time(&self, t: SystemTime) {
            std::fs::File::open(self.dir.path().join("blobs"))
                .and_then(|d| d.set_modified(t))
                .unwrap();
        }

        fn finish(&mut self, i: usize, at: usize) {
            std::fs::write(self.path(i), b"whole").unwrap();
            self.blobs[i] = Blob::Whole;
            self.finished_at[i] = Some(at);
        }
    }

    /// Every blob sled started before a flush began is synced, after it was written whole, by
    /// the time that flush ends, however flushes, listings and sled's writing and removing of
    /// blob files interleave; found at open, none is synced one by one.
    fn check(found: usize, steps: Vec<Step>) -> std::result::Result<(), TestCaseError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("db"), b"log").unwrap();
        std::fs::create_dir(dir.path().join("blobs")).unwrap();
        let mut blobs = vec![Blob::NotMade; 8 + found];
        let mut finished_at = vec![None; 8 + found];
        for i in 8..8 + found {
            std::fs::write(
                dir.path().join("blobs").join(format!("{}", 1000 + i)),
                b"old",
            )
            .unwrap();
            blobs[i] = Blob::Whole;
            finished_at[i] = Some(0);
        }
        let on_disk = OnDisk::open(dir.path()).unwrap();
        let mut m = Model {
            on_disk,
            blobs,
            synced_at: vec![None; finished_at.len()],
            finished_at,
            open_flushes: Default::default(),
            found_at_open: (8..8 + found).collect(),
            dir,
        };
        for (at, step) in steps.into_iter().enumerate() {
            let at = at + 1;
            match step {
                Step::Start(i) if m.blobs[i] == Blob::NotMade => {
                    std::fs::write(m.path(i), b"half").unwrap();
                    m.changed();
                    m.blobs[i] = Blob::Writing;
                }
                Step::Finish(i) if m.blobs[i] == Blob::Writing => m.finish(i, at),
                Step::Remove(i) if m.blobs[i] == Blob::Whole => {
                    std::fs::remove_file(m.path(i)).unwrap();
                    m.changed();
                    m.blobs[i] = Blob::Removed;
                }
                Step::Settle => m.set_folder_time(SystemTime::now() - 4 * SETTLED),
                Step::Begin if m.open_flushes.len() < 3 => {
                    let started: Vec<usize> = (0..m.blobs.len())
                        .filter(|&i| m.blobs[i] != Blob::NotMade)
                        .collect();
                    m.open_flushes.push_back((m.on_disk.listings(), started));
                }
                Step::End => {
                    let Some((before, started)) = m.open_flushes.pop_front() else {
                        continue;
                    };
                    // sled's flush has waited for every blob reserved before it began.
                    for &i in &started {
                        if m.blobs[i] == Blob::Writing {
                            m.finish(i, at);
                        }
                    }
                    let synced = m.on_disk.sync(before).unwrap();
                    prop_assert!(!m.on_disk.listed().unsynced_since_open);
                    for name in &synced {
                        let i: usize = name.to_str().unwrap().parse::<usize>().unwrap() - 1000;
                        prop_assert!(
                            !m.found_at_open.contains(&i),
                            "blob {i}, found at open, was synced one by one"
                        );
                        m.synced_at[i] = Some(at);
                    }
                    for &i in &started {
                        if m.blobs[i] == Blob::Removed {
                            continue;
                        }
                        if m.found_at_open.contains(&i) {
                            continue;
                        }
                        let (Some(finished), synced) = (m.finished_at[i], m.synced_at[i]) else {
                            unreachable!("started before the flush, so whole now");
                        };
                        prop_assert!(
                            synced.is_some_and(|s| s >= finished),
                            "blob {i}, whole at step {finished}, was last synced at {synced:?} \
                             when the flush that covers it ended at step {at}"
                        );
                    }
                }
                _ => {}
            }
        }
        // Once sled has finished writing, three flushes one after another: the third finds
        // nothing left to sync one by one (a flush does not sync every blob every time).
        for i in 0..m.blobs.len() {
            if m.blobs[i] == Blob::Writing {
                m.finish(i, usize::MAX);
            }
        }
        let mut last = Vec::new();
        for _ in 0..3 {
            let before = m.on_disk.listings();
            last = m.on_disk.sync(before).unwrap();
        }
        prop_assert!(last.is_empty(), "synced again: {last:?}");
        Ok(())
    }

    proptest! {
        #[test]
        fn every_blob_a_flush_covers_is_synced_after_it_was_whole(
            found in 0usize..3,
            steps in steps(),
        ) {
            check(found, steps)?;
        }
    }

    /// A pending blob file that cannot be synced fails the flush and stays pending, with the
    /// others: the next flush, the folder unchanged since its listing, syncs it.
    #[test]
    fn a_pending_blob_that_failed_to_sync_is_synced_by_the_next_flush() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("db"), b"log").unwrap();
        let blobs = dir.path().join("blobs");
        std::fs::create_dir(&blobs).unwrap();
        let on_disk = OnDisk::open(dir.path()).unwrap();
        let blob = blobs.join("1000");
        let settled_long_ago = SystemTime::now() - Duration::from_secs(60);
        let set_folder_time = || {
            std::fs::File::open(&blobs)
                .and_then(|d| d.set_modified(settled_long_ago))
                .unwrap();
        };
        let flush = || on_disk.sync(on_disk.listings());

        // Listed first by this flush, the file stays pending; the listing stands.
        std::fs::write(&blob, b"whole").unwrap();
        set_folder_time();
        assert_eq!(flush().unwrap(), vec![OsString::from("1000")]);
        // The file cannot be opened (a link to itself: refused even to root), the folder's
        // time as the listing saw it.
        std::fs::remove_file(&blob).unwrap();
        std::os::unix::fs::symlink("1000", &blob).unwrap();
        set_folder_time();
        assert!(
            flush().is_err(),
            "a blob file that cannot be synced was passed over"
        );
        std::fs::remove_file(&blob).unwrap();
        std::fs::write(&blob, b"whole").unwrap();
        set_folder_time();
        assert_eq!(
            flush().unwrap(),
            vec![OsString::from("1000")],
            "the blob whose sync failed was forgotten"
        );
    }
}
