//! What other storage layouts would give for a node's open time (issue 19).
//!
//! sled 0.34 rebuilds its page table in memory at every open, so a node's open time and memory
//! grow with its store. This tool copies a real Cairn store (the hub's store a `--bench open`
//! run kept) into the alternatives the issue names, so each is opened from the same keys:
//!
//! - `sled034`: the node's layout as it is, written afresh (the baseline for the others);
//! - `bulk-log`: sled 0.34 keeps everything but the log's entries; each origin's entries go to
//!   an append-only file of their own, and sled keeps one key per 64 entries saying where they
//!   are (a second store for bulk data: the log is append-only per origin, so it needs no
//!   B-tree);
//! - `bulk-log-snapshots`: as `bulk-log`, and the documents' automerge snapshots go to an
//!   append-only file too, sled keeping where each is;
//! - `bulk-no-ids`: as `bulk-log-snapshots`, without the `id/` index (one key per record,
//!   naming the document that holds it): the fewest keys any layout could leave in sled 0.34,
//!   were record ids to name their document instead;
//! - `sled1`: every key as it is, in sled 1.0.0-alpha.124 (the upgrade path: its on-disk format
//!   and API differ from 0.34's).
//!
//! `--copies N` writes the store's keys N times over (the origin or document byte after each
//! key's prefix changed), to measure a store N times the size with the same shape.
//!
//!   cairn-storage-alternatives census SRC
//!   cairn-storage-alternatives copy LAYOUT SRC DST [--copies N]
//!   cairn-storage-alternatives open LAYOUT DST
//!
//! `open` does what `cairn status` does to the store: opens it and reads the kept counts, the
//! feed tips and the node's local state (and, for the bulk layouts, opens every bulk file and
//! reads its length). `run.sh` times it.

use std::collections::BTreeMap;
use std::error::Error;
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// Cairn's key prefixes this tool treats apart (node/src/store/keys.rs has the full table).
const ENTRY: u8 = b'E';
const SNAPSHOT: u8 = b'S';
const TIP: u8 = b'T';
const COUNT: u8 = b'N';
const LOCAL: u8 = b'L';
/// The index from a record's id to the document holding it.
const ID_INDEX: &[u8] = b"Iid/";
/// A node's own state, held once however many copies are written.
const SINGLETONS: &[u8] = b"LNPA";
/// Entries listed under one sled key in the bulk layouts, as `X` keys group a document's entries.
const ENTRIES_PER_KEY: usize = 64;
/// Keys written per sled batch while copying.
const BATCH: usize = 10_000;

#[derive(Clone, Copy, PartialEq)]
enum Layout {
    Sled034,
    BulkLog,
    BulkLogAndSnapshots,
    BulkNoIds,
    Sled1,
}

impl Layout {
    fn parse(s: &str) -> Result<Layout> {
        Ok(match s {
            "sled034" => Layout::Sled034,
            "bulk-log" => Layout::BulkLog,
            "bulk-log-snapshots" => Layout::BulkLogAndSnapshots,
            "bulk-no-ids" => Layout::BulkNoIds,
            "sled1" => Layout::Sled1,
            other => {
                return Err(format!(
                    "unknown layout {other:?}: sled034, bulk-log, bulk-log-snapshots, bulk-no-ids or sled1"
                )
                .into());
            }
        })
    }
    fn bulk_log(self) -> bool {
        matches!(
            self,
            Layout::BulkLog | Layout::BulkLogAndSnapshots | Layout::BulkNoIds
        )
    }
    fn bulk_snapshots(self) -> bool {
        matches!(self, Layout::BulkLogAndSnapshots | Layout::BulkNoIds)
    }
}

fn main() {
    if let Err(e) = run(std::env::args().skip(1).collect()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(args: Vec<String>) -> Result<()> {
    let usage = "usage: census SRC | copy LAYOUT SRC DST [--copies N] | open LAYOUT DST";
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["census", src] => census(Path::new(src)),
        ["copy", layout, src, dst] => {
            copy(Layout::parse(layout)?, Path::new(src), Path::new(dst), 1)
        }
        ["copy", layout, src, dst, "--copies", n] => {
            let n: u8 = n
                .parse()
                .map_err(|_| format!("--copies takes 1 to 4, not {n:?}"))?;
            if !(1..=4).contains(&n) {
                return Err(format!("--copies takes 1 to 4, not {n}").into());
            }
            copy(Layout::parse(layout)?, Path::new(src), Path::new(dst), n)
        }
        ["open", layout, dst] => open(Layout::parse(layout)?, Path::new(dst)),
        _ => Err(usage.into()),
    }
}

/// The source store's tree, opened as the node opens it.
fn open_source(src: &Path) -> Result<sled::Tree> {
    if !src.join("conf").exists() {
        return Err(format!("{} is not a sled store (no conf file)", src.display()).into());
    }
    let db = sled034_config(src).open()?;
    Ok(db.open_tree("cairn")?)
}

fn sled034_config(dir: &Path) -> sled::Config {
    sled::Config::new()
        .path(dir)
        .mode(sled::Mode::HighThroughput)
}

/// How many keys of each prefix the store holds, and their sizes.
fn census(src: &Path) -> Result<()> {
    let tree = open_source(src)?;
    let mut by_prefix: BTreeMap<u8, (u64, u64, u64)> = BTreeMap::new();
    for kv in tree.iter() {
        let (k, v) = kv?;
        let e = by_prefix
            .entry(k.first().copied().unwrap_or(0))
            .or_default();
        e.0 += 1;
        e.1 += k.len() as u64;
        e.2 += v.len() as u64;
    }
    println!("| prefix | keys | key bytes | value bytes | mean value |");
    println!("|---|---|---|---|---|");
    let mut total = (0, 0, 0);
    for (p, (n, kb, vb)) in &by_prefix {
        println!(
            "| `{}` | {n} | {kb} | {vb} | {} |",
            *p as char,
            vb / n.max(&1)
        );
        total = (total.0 + n, total.1 + kb, total.2 + vb);
    }
    println!("| all | {} | {} | {} | |", total.0, total.1, total.2);
    Ok(())
}

/// Key `k` as copy number `copy` writes it: copy 0 is the key itself; later copies change the
/// byte after the prefix (an origin's, a document's or an index name's first byte), which keeps
/// keys of one prefix together and the key set's shape.
fn key_of_copy(k: &[u8], copy: u8) -> Option<Vec<u8>> {
    let mut k = k.to_vec();
    if copy > 0 {
        if k.len() < 2 || SINGLETONS.contains(&k[0]) {
            return None;
        }
        k[1] ^= copy << 6;
    }
    Some(k)
}

/// Where the destination's keys go.
enum Sink {
    Sled034(sled::Db, sled::Tree, sled::Batch),
    // sled 1.0's database and tree are large (36 KB); boxed so the enum is not.
    Sled1(Box<(sled1::Db, sled1::Tree, sled1::Batch)>),
}

/// Keys given to sled so far, and how many are waiting in the current batch.
#[derive(Default)]
struct Written {
    keys: u64,
    pending: usize,
}

impl Sink {
    fn create(layout: Layout, dst: &Path) -> Result<Sink> {
        Ok(match layout {
            Layout::Sled1 => {
                let db: sled1::Db = sled1::Config::new().path(dst).open()?;
                let tree = db.open_tree("cairn")?;
                Sink::Sled1(Box::new((db, tree, sled1::Batch::default())))
            }
            _ => {
                let db = sled034_config(dst).open()?;
                let tree = db.open_tree("cairn")?;
                Sink::Sled034(db, tree, sled::Batch::default())
            }
        })
    }
    fn insert(&mut self, written: &mut Written, k: Vec<u8>, v: &[u8]) -> Result<()> {
        match self {
            Sink::Sled034(_, _, b) => b.insert(k, v),
            Sink::Sled1(s) => s.2.insert(k.as_slice(), v),
        }
        written.keys += 1;
        written.pending += 1;
        if written.pending >= BATCH {
            self.apply()?;
            written.pending = 0;
        }
        Ok(())
    }
    fn apply(&mut self) -> Result<()> {
        match self {
            Sink::Sled034(_, t, b) => t.apply_batch(std::mem::take(b))?,
            Sink::Sled1(s) => s.1.apply_batch(std::mem::take(&mut s.2))?,
        }
        Ok(())
    }
    fn finish(mut self) -> Result<()> {
        self.apply()?;
        match self {
            Sink::Sled034(db, ..) => {
                db.flush()?;
            }
            Sink::Sled1(s) => {
                s.0.flush()?;
            }
        }
        Ok(())
    }
}

/// An append-only file of records, and where the next one goes.
struct Appender {
    out: BufWriter<File>,
    at: u64,
}

impl Appender {
    fn create(path: &Path) -> Result<Appender> {
        let f = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(path)?;
        Ok(Appender {
            out: BufWriter::with_capacity(1 << 20, f),
            at: 0,
        })
    }
    /// Append one record (length, then bytes); returns where it starts and how long it is.
    fn append(&mut self, v: &[u8]) -> Result<(u64, u32)> {
        let len = u32::try_from(v.len())?;
        self.out.write_all(&len.to_be_bytes())?;
        self.out.write_all(v)?;
        let start = self.at + 4;
        self.at += 4 + u64::from(len);
        Ok((start, len))
    }
    fn finish(self) -> Result<()> {
        let f = self.out.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        Ok(())
    }
}

/// One origin's entries in the bulk layouts: its file, and the group of entries not yet listed
/// under a sled key.
struct Feed {
    origin: Vec<u8>,
    file: Appender,
    group: Vec<(u64, u64, u32)>,
}

impl Feed {
    /// List the group under one sled key: `E origin first-seq` → (seq, offset, length) each.
    fn list(&mut self, sink: &mut Sink, written: &mut Written) -> Result<()> {
        let Some(&(first, ..)) = self.group.first() else {
            return Ok(());
        };
        let mut k = vec![ENTRY];
        k.extend_from_slice(&self.origin);
        k.extend_from_slice(&first.to_be_bytes());
        let mut v = Vec::with_capacity(self.group.len() * 20);
        for (seq, at, len) in self.group.drain(..) {
            v.extend_from_slice(&seq.to_be_bytes());
            v.extend_from_slice(&at.to_be_bytes());
            v.extend_from_slice(&len.to_be_bytes());
        }
        sink.insert(written, k, &v)
    }
}

fn copy(layout: Layout, src: &Path, dst: &Path, copies: u8) -> Result<()> {
    if dst.exists() {
        return Err(format!("{} exists; copy writes a new store", dst.display()).into());
    }
    let started = Instant::now();
    let tree = open_source(src)?;
    let mut sink = Sink::create(layout, dst)?;
    let bulk = dst.join("bulk");
    let bulk_log = layout.bulk_log();
    let no_ids = layout == Layout::BulkNoIds;
    if bulk_log {
        fs::create_dir(&bulk)?;
    }
    let mut snapshots = if layout.bulk_snapshots() {
        Some(Appender::create(&bulk.join("snapshots"))?)
    } else {
        None
    };
    let (mut written, mut keys, mut entries) = (Written::default(), 0u64, 0u64);
    for copy in 0..copies {
        let mut feed: Option<Feed> = None;
        for kv in tree.iter() {
            let (k, v) = kv?;
            if no_ids && k.starts_with(ID_INDEX) {
                continue;
            }
            let Some(k) = key_of_copy(&k, copy) else {
                continue;
            };
            keys += 1;
            if k[0] == ENTRY {
                entries += 1;
            }
            if bulk_log && k[0] == ENTRY && k.len() == 45 {
                let (origin, seq) = (&k[1..37], u64::from_be_bytes(k[37..45].try_into()?));
                if feed.as_ref().is_none_or(|f| f.origin != origin) {
                    if let Some(mut done) = feed.take() {
                        done.list(&mut sink, &mut written)?;
                        done.file.finish()?;
                    }
                    let name: String = origin.iter().map(|b| format!("{b:02x}")).collect();
                    feed = Some(Feed {
                        origin: origin.to_vec(),
                        file: Appender::create(&bulk.join(name))?,
                        group: Vec::new(),
                    });
                }
                let f = feed.as_mut().ok_or("no feed")?;
                let (at, len) = f.file.append(&v)?;
                f.group.push((seq, at, len));
                if f.group.len() == ENTRIES_PER_KEY {
                    f.list(&mut sink, &mut written)?;
                }
                continue;
            }
            if let (Some(s), SNAPSHOT) = (snapshots.as_mut(), k[0]) {
                let (at, len) = s.append(&v)?;
                let mut pointer = at.to_be_bytes().to_vec();
                pointer.extend_from_slice(&len.to_be_bytes());
                sink.insert(&mut written, k, &pointer)?;
                continue;
            }
            sink.insert(&mut written, k, &v)?;
        }
        if let Some(mut done) = feed.take() {
            done.list(&mut sink, &mut written)?;
            done.file.finish()?;
        }
    }
    if let Some(s) = snapshots {
        s.finish()?;
    }
    sink.finish()?;
    println!(
        "copied {keys} keys ({entries} entries) into {}, {} of them as sled keys, in {:.1} s",
        dst.display(),
        written.keys,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Open the store and read what `cairn status` reads from it.
fn open(layout: Layout, dst: &Path) -> Result<()> {
    if !dst.exists() {
        return Err(format!("no store at {}", dst.display()).into());
    }
    let mut read = 0usize;
    match layout {
        Layout::Sled1 => {
            let db: sled1::Db = sled1::Config::new().path(dst).open()?;
            let tree = db.open_tree("cairn")?;
            for p in [COUNT, TIP, LOCAL] {
                for kv in tree.scan_prefix([p]) {
                    read += kv?.1.len();
                }
            }
        }
        _ => {
            let db = sled034_config(dst).open()?;
            let tree = db.open_tree("cairn")?;
            for p in [COUNT, TIP, LOCAL] {
                for kv in tree.scan_prefix([p]) {
                    read += kv?.1.len();
                }
            }
            let bulk: PathBuf = dst.join("bulk");
            if bulk.exists() {
                for f in fs::read_dir(&bulk)? {
                    read += File::open(f?.path())?.metadata()?.len() as usize;
                }
            }
        }
    }
    println!("read {read} bytes");
    Ok(())
}
