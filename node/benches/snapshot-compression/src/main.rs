//! How to store a document's snapshot (issue 19, round 38): automerge's own save (each column
//! deflated on its own) against its plain save compressed whole by zstd, deflate and lz4, on the
//! snapshots of a real store, and on a new learner's small record. See `run.sh`.

use automerge::Automerge;
use automerge::transaction::Transactable;
use std::io::Write;
use std::time::Instant;

/// Microseconds per item of `f` over `items`, and the bytes it returned in all.
fn each(items: &[Vec<u8>], mut f: impl FnMut(&[u8]) -> Vec<u8>) -> (f64, usize) {
    let started = Instant::now();
    let bytes = items.iter().map(|i| f(i).len()).sum();
    (
        started.elapsed().as_secs_f64() * 1e6 / items.len() as f64,
        bytes,
    )
}

/// A stored snapshot (`S` value, node/src/store/keys.rs) loaded in either format: a zstd frame
/// expanded to the size its header declares, then loaded, as the node's `store::snapshot::decode`
/// does (private to the node, so repeated here), or automerge's own save loaded as it is.
fn load_stored(stored: &[u8]) -> Option<Automerge> {
    if stored.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        let size = zstd::zstd_safe::get_frame_content_size(stored)
            .ok()
            .flatten()?;
        let plain = zstd::bulk::decompress(stored, usize::try_from(size).ok()?).ok()?;
        Automerge::load(&plain).ok()
    } else {
        Automerge::load(stored).ok()
    }
}

fn deflate(level: u32) -> impl FnMut(&[u8]) -> Vec<u8> {
    move |plain| {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(level));
        e.write_all(plain).expect("deflate in memory");
        e.finish().expect("deflate in memory")
    }
}

/// One table: each way of storing `docs` (their plain saves in `plain`).
fn table(title: &str, docs: &[Automerge], plain: &[Vec<u8>]) {
    let raw: usize = plain.iter().map(Vec::len).sum();
    println!(
        "\n### {title}: {} documents, {raw} bytes saved plain\n",
        docs.len()
    );
    println!("| stored as | bytes | / automerge's save | µs a document (save included) |");
    println!("|---|---|---|---|");
    let started = Instant::now();
    let own: usize = docs.iter().map(|d| d.save().len()).sum();
    let own_us = started.elapsed().as_secs_f64() * 1e6 / docs.len() as f64;
    let started = Instant::now();
    for d in docs {
        std::hint::black_box(d.save_nocompress());
    }
    let save_us = started.elapsed().as_secs_f64() * 1e6 / docs.len() as f64;
    let row = |name: &str, (us, bytes): (f64, usize), with_save: bool| {
        let us = if with_save { us + save_us } else { us };
        println!(
            "| {name} | {bytes} | {:.3} | {us:.1} |",
            bytes as f64 / own as f64
        );
    };
    row(
        "automerge's `save()` (each column deflated)",
        (own_us, own),
        false,
    );
    row("automerge's `save_nocompress()`", (save_us, raw), false);
    row(
        "zstd 1, a context each",
        each(plain, |p| zstd::bulk::compress(p, 1).unwrap()),
        true,
    );
    let mut kept = zstd::bulk::Compressor::new(1).unwrap();
    row(
        "zstd 1, one context kept",
        each(plain, |p| kept.compress(p).unwrap()),
        true,
    );
    row(
        "zstd 3, a context each",
        each(plain, |p| zstd::bulk::compress(p, 3).unwrap()),
        true,
    );
    row("deflate 1", each(plain, deflate(1)), true);
    row("deflate 6", each(plain, deflate(6)), true);
    row("lz4", each(plain, lz4_flex::compress_prepend_size), true);
    let zstd1: Vec<Vec<u8>> = plain
        .iter()
        .map(|p| zstd::bulk::compress(p, 1).unwrap())
        .collect();
    let owns: Vec<Vec<u8>> = docs.iter().map(Automerge::save).collect();
    let load = |items: &[Vec<u8>], f: &dyn Fn(&[u8]) -> Automerge| {
        let started = Instant::now();
        for i in items {
            std::hint::black_box(f(i));
        }
        started.elapsed().as_secs_f64() * 1e6 / items.len() as f64
    };
    println!(
        "\nLoading, µs a document: automerge's save {:.1}, plain {:.1}, zstd 1 (decompressed, then loaded plain) {:.1}",
        load(&owns, &|b| Automerge::load(b).unwrap()),
        load(plain, &|b| Automerge::load(b).unwrap()),
        load(&zstd1, &|b| load_stored(b).unwrap()),
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let store = args.next().expect("usage: STORE [DOCUMENTS]");
    let most: usize = args
        .next()
        .map_or(3000, |n| n.parse().expect("DOCUMENTS is a number"));
    let db = sled::open(&store).expect("open the store with sled");
    let tree = db.open_tree("cairn").expect("the node's tree");
    let mut docs = Vec::new();
    // `S`: the snapshots (node/src/store/keys.rs).
    for kv in tree.scan_prefix([b'S']) {
        let (_, v) = kv.expect("read the store");
        docs.extend(load_stored(&v));
        if docs.len() >= most {
            break;
        }
    }
    assert!(!docs.is_empty(), "no document snapshots in {store}");
    let plain: Vec<Vec<u8>> = docs.iter().map(Automerge::save_nocompress).collect();
    table("The store's documents", &docs, &plain);

    // A new learner's record, as `cairn learner import` writes thousands of.
    let mut small = Automerge::new();
    let mut tx = small.transaction();
    for (k, v) in [
        ("number", "S0-1"),
        ("given_name", "Learner"),
        ("family_name", "Number 1"),
    ] {
        tx.put(automerge::ROOT, k, v).unwrap();
    }
    tx.commit();
    let smalls = vec![small; 10_000];
    let plain: Vec<Vec<u8>> = smalls.iter().map(Automerge::save_nocompress).collect();
    table("A new learner's record, 10,000 times", &smalls, &plain);
}
