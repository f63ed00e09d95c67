//! USB bundles: a sync session written to a file, for sites that never have a link.
//!
//! A bundle holds the same protocol frames a network session would carry — the sender's `Hello`
//! and batches of everything the recipient is not known to hold — so bundles and network sync
//! share checkpoints and mix freely. The file is:
//!
//! ```text
//! "CAIRN-BUNDLE 1\n"
//! age (X25519 to the recipient's node key, STREAM payload) of:
//!   record(header)           sender, recipient, sequence number, receipt, time
//!   record(frame) ...        protocol frames
//!   record(signature)        Ed25519 by the sender over SHA-256 of every record before it
//! ```
//!
//! Import opens the file once, refuses anything but a regular file of at most
//! [`MAX_BUNDLE_BYTES`], and copies it into a private file in the data folder that nobody can
//! reach by name. On that copy it checks everything in a first pass — that the file decrypts with
//! this node's key, that it was written for this node, the sender's signature over the whole
//! content, that the sender is this site's hub or an admitted, unrevoked site, and that it is not
//! an old bundle replayed — and only then applies the frames in a second pass: the bytes applied
//! are the bytes checked, whatever happens to the file on the stick meanwhile. A bundle's receipt
//! tells its sender what the recipient held after importing the sender's previous bundle, so the
//! next export carries only what is still missing.

pub mod crypt;

use crate::domain::text::printable;
use crate::error::{Error, Result};
use crate::node::{Node, now_ms};
use crate::store::SyncStore;
use crate::sync::peer::{self, SyncRecord};
use crate::sync::scope::SiteScope;
use cairn_sync_protocol::{
    Event, Everything, NodeId, Scope, Session, SessionConfig, SessionError, Signature,
    VersionVector, codec,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufReader, Read, Seek, Write};
use std::path::Path;

const MAGIC: &[u8] = b"CAIRN-BUNDLE 1\n";
const SIGNING_DOMAIN: &[u8] = b"cairn.bundle.v1\0";
const HEADER: u8 = 1;
const FRAME: u8 = 2;
const SIGNATURE: u8 = 3;
const MAX_RECORD: usize = cairn_sync_protocol::limits::MAX_FRAME + 64;

/// The largest bundle file import accepts and export writes, in bytes: 4 GiB.
///
/// Why a limit: import copies the file into the data folder before it reads a byte of it (see
/// [`import`]), so the limit bounds the disk one import can take, and a file that keeps growing
/// while it is copied cannot fill the node's disk. Why this much: bundles travel on USB sticks,
/// and the usual stick is formatted FAT32, which cannot hold a file of 4 GiB or more — so no
/// bundle that fits on such a stick is refused — while a site's whole record, evidence files
/// (at most 64 MiB each) included, is typically tens of megabytes. Change it here; export and
/// import both follow.
pub const MAX_BUNDLE_BYTES: u64 = 4 << 30;

/// A size limit in words ("4 GiB").
fn gib(bytes: u64) -> String {
    format!("{} GiB", bytes as f64 / f64::from(1u32 << 30))
}

/// What a recipient held after importing a bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The bundle imported.
    pub seq: u64,
    /// What the recipient held afterwards.
    pub held: VersionVector,
}

/// The first record of a bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Who wrote it.
    pub from: NodeId,
    /// Who it is for.
    pub to: NodeId,
    /// Increases with every bundle from `from` to `to`.
    pub seq: u64,
    /// When it was written (sender's clock).
    pub created_ms: u64,
    /// The receipt for the last bundle `from` imported from `to`, if any.
    pub receipt: Option<Receipt>,
}

/// What an export wrote.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ExportReport {
    /// The recipient.
    pub to: String,
    /// The bundle's sequence number.
    pub seq: u64,
    /// Whole entries in it.
    pub entries: u64,
    /// Size of the file.
    pub bytes: u64,
    /// Whether it carried a receipt.
    pub receipt: bool,
}

/// What an import did.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ImportReport {
    /// The sender.
    pub from: String,
    /// The bundle's sequence number.
    pub seq: u64,
    /// Whole entries stored.
    pub stored: u64,
    /// Entries already held.
    pub duplicates: u64,
    /// Forks detected.
    pub forks: Vec<String>,
    /// Runs refused, in words (for example a gap after a restore).
    pub refused: Vec<String>,
    /// The new epoch this site moved to, when the bundle showed its store was restored.
    pub new_epoch: Option<u32>,
}

/// A record's 5-byte head: its kind and its length.
fn record_head(kind: u8, len: usize) -> [u8; 5] {
    let mut head = [0u8; 5];
    head[0] = kind;
    head[1..].copy_from_slice(&(len as u32).to_be_bytes());
    head
}

fn record(
    out: &mut impl Write,
    hasher: Option<&mut Sha256>,
    kind: u8,
    bytes: &[u8],
) -> std::io::Result<()> {
    let head = record_head(kind, bytes.len());
    if let Some(h) = hasher {
        h.update(head);
        h.update(bytes);
    }
    out.write_all(&head)?;
    out.write_all(bytes)
}

/// Read the next record; `None` at a clean end. Lengths are checked before allocating.
fn read_record(
    input: &mut impl Read,
) -> std::result::Result<Option<(u8, Vec<u8>)>, crypt::OpenError> {
    let mut head = [0u8; 5];
    let mut got = 0;
    while got < 5 {
        match input.read(&mut head[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(crypt::OpenError::Damaged),
            Ok(n) => got += n,
            Err(e) => return Err(crypt::classify_read(e)),
        }
    }
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    if len > MAX_RECORD || !matches!(head[0], HEADER | FRAME | SIGNATURE) {
        return Err(crypt::OpenError::Damaged);
    }
    let mut bytes = vec![0u8; len];
    input.read_exact(&mut bytes).map_err(crypt::classify_read)?;
    Ok(Some((head[0], bytes)))
}

fn open_error(e: crypt::OpenError) -> Error {
    match e {
        crypt::OpenError::Io(io) => Error::storage_msg(format!("cannot read the bundle: {io}")),
        other => Error::invalid(other.to_string()),
    }
}

/// The peer a node exchanges bundles with, and the session settings for that side.
fn side(node: &Node, peer: Option<&str>) -> Result<NodeId> {
    if node.is_hub() {
        let text = peer.ok_or_else(|| {
            Error::Usage("on the hub, say which site the bundle is for: --for SITE_ID".into())
        })?;
        let site: NodeId = text
            .parse()
            .map_err(|e| Error::invalid(format!("`{text}` is not a node id: {e}")))?;
        match node.store.site_record(&site)? {
            Some(r) if r.revoked.is_none() => Ok(site),
            Some(_) => Err(Error::unauthorized("that site is revoked")),
            None => Err(Error::not_found("that site was never admitted")),
        }
    } else {
        let hub = node.hub_id().ok_or_else(|| {
            Error::Usage("this site has not joined a hub yet: run `cairn join FILE`".into())
        })?;
        if let Some(p) = peer
            && p.parse::<NodeId>().ok() != Some(hub)
        {
            return Err(Error::invalid("a site exchanges bundles only with its hub"));
        }
        Ok(hub)
    }
}

fn config(node: &Node, peer: NodeId, known: Option<VersionVector>) -> SessionConfig {
    if node.is_hub() {
        SessionConfig {
            accept_elided: false,
            vouch_key: Some(node.key.clone()),
            known_peer: known,
            window: usize::MAX,
            ..SessionConfig::default()
        }
    } else {
        SessionConfig {
            trusted_relay: Some(peer),
            known_peer: known,
            window: usize::MAX,
            ..SessionConfig::default()
        }
    }
}

/// Write a bundle for `peer` (required on the hub) with everything it is not known to hold
/// (everything at all with `full`).
pub fn export(
    node: &Node,
    peer: Option<&str>,
    out: &Path,
    full: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<ExportReport> {
    let to = side(node, peer)?;
    let _turn = node.bundle_turn();
    let state = peer::load(&node.store, &to)?;
    let known = if full {
        VersionVector::new()
    } else {
        state.known_vector()
    };
    let started = now_ms();
    let seq = node
        .store
        .local::<u64>(&format!("bundle_out/{to}"))?
        .unwrap_or(0)
        + 1;
    let receipt: Option<Receipt> = node.store.local_bin(&format!("receipt_for/{to}"))?;
    let header = Header {
        from: node.id(),
        to,
        seq,
        created_ms: started,
        receipt: receipt.clone(),
    };

    let tmp = out.with_extension("partial");
    let file = std::fs::File::create(&tmp)
        .map_err(|e| Error::storage(&format!("cannot write {}", tmp.display()), e))?;
    let mut file = std::io::BufWriter::new(file);
    let io = |e: std::io::Error| Error::storage("writing the bundle", e);
    file.write_all(MAGIC).map_err(io)?;
    let mut w = crypt::encrypt_to(&to, file).map_err(io)?;
    let mut hasher = Sha256::new();
    let header_bytes = codec::encode(&header).map_err(|e| Error::storage("encoding", e))?;
    record(&mut w, Some(&mut hasher), HEADER, &header_bytes).map_err(io)?;

    let scope: Box<dyn Scope> = if node.is_hub() {
        Box::new(SiteScope::new(&node.store, node.id(), to, &known)?)
    } else {
        Box::new(Everything)
    };
    let store = SyncStore::new(&node.store);
    let mut session = Session::new(config(node, to, Some(known.clone())), node.id());
    session
        .start(&store, started)
        .map_err(|e| Error::storage_msg(e.to_string()))?;
    while let Some(frame) = session
        .poll_transmit(&store, scope.as_ref())
        .map_err(|e| Error::storage_msg(e.to_string()))?
    {
        record(&mut w, Some(&mut hasher), FRAME, &frame).map_err(io)?;
        progress(session.stats().entries_sent);
    }
    // What the peer will hold once it imports this bundle: the next network session starts its
    // optimistic sending from there instead of resending the bundle's entries. If the bundle is
    // lost, the peer's Hello shows the gap and the session resends from what it really holds.
    let mut promised = known.clone();
    for (o, s) in node.store.vector()?.iter() {
        if scope.send_origin(o) {
            promised.raise(*o, *s);
        }
    }
    node.store
        .set_local_bin(&format!("bundle_promised/{to}"), &promised)?;
    let digest = hasher.finalize();
    let signature = node.key.sign(&[SIGNING_DOMAIN, digest.as_slice()].concat());
    record(&mut w, None, SIGNATURE, &signature.0).map_err(io)?;
    let file = w.finish().map_err(io)?;
    let file = file.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    let written = file.metadata().map_err(io)?.len();
    drop(file);
    // The recipient would refuse it: say so here, not after the trip.
    if written > MAX_BUNDLE_BYTES {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::storage_msg(format!(
            "this bundle would be {:.1} GB, more than the {} a bundle may hold: nothing was written; sync over the network instead",
            written as f64 / 1e9,
            gib(MAX_BUNDLE_BYTES)
        )));
    }
    std::fs::rename(&tmp, out).map_err(io)?;
    let bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);

    node.store.set_local(&format!("bundle_out/{to}"), &seq)?;
    // From what is stored now, not the copy read before writing the bundle: a session with the
    // same peer may have saved a newer checkpoint and its own history record meanwhile.
    let sent = session.stats().entries_sent;
    peer::update(&node.store, &to, |state| {
        state.record(SyncRecord {
            started_ms: started,
            ended_ms: now_ms(),
            via: "bundle-out".into(),
            sent,
            bytes_sent: bytes,
            outcome: format!("wrote bundle #{seq}"),
            ..Default::default()
        })
    })?;
    Ok(ExportReport {
        to: to.to_string(),
        seq,
        entries: session.stats().entries_sent,
        bytes,
        receipt: receipt.is_some(),
    })
}

/// Copy a bundle's bytes, once, into an anonymous file in the data folder, which nobody can
/// open by name. Both passes of the import read that copy, so what is applied is exactly what was
/// checked, whatever happens to the file on the stick afterwards. The caller opened the file once
/// and made sure it is a regular file (a pipe could serve one content, then another). Returns the
/// copy and its size.
fn private_copy(node: &Node, source: &mut dyn Read, name: &str) -> Result<(File, u64)> {
    let too_big = |size: u64| {
        Error::invalid(format!(
            "{name} is {size} bytes or more, more than the {} a bundle may hold: it is not a Cairn bundle",
            gib(MAX_BUNDLE_BYTES)
        ))
    };
    let mut copy = tempfile::tempfile_in(&node.dir).map_err(|e| {
        Error::storage(
            "cannot make a private copy of the bundle in the data folder",
            e,
        )
    })?;
    // Copy at most one byte more than the limit.
    let copied = std::io::copy(&mut source.take(MAX_BUNDLE_BYTES + 1), &mut copy)
        .map_err(|e| Error::storage(&format!("cannot copy {name} into the data folder"), e))?;
    if copied > MAX_BUNDLE_BYTES {
        return Err(too_big(copied));
    }
    Ok((copy, copied))
}

/// The decrypted records of the private copy, from its start.
fn open<'a>(node: &Node, copy: &'a File, name: &str) -> Result<impl Read + use<'a>> {
    let mut input = BufReader::new(copy);
    input
        .rewind()
        .map_err(|e| Error::storage("cannot read the private copy of the bundle", e))?;
    let mut magic = [0u8; MAGIC.len()];
    if input.read_exact(&mut magic).is_err() || magic != MAGIC {
        return Err(Error::invalid(format!("{name} is not a Cairn bundle")));
    }
    crypt::decrypt(&node.key, input).map_err(open_error)
}

/// First pass: decrypt, check the header and the sender's signature over everything, without
/// applying anything. Returns the header and the number of frames.
fn verify(node: &Node, copy: &File, name: &str) -> Result<(Header, u64)> {
    let mut r = open(node, copy, name)?;
    let mut hasher = Sha256::new();
    let mut header: Option<Header> = None;
    let mut frames = 0u64;
    loop {
        let Some((kind, bytes)) = read_record(&mut r).map_err(open_error)? else {
            return Err(Error::invalid(
                "the bundle is incomplete: it ends before its signature (truncated?)",
            ));
        };
        match (kind, &header) {
            (HEADER, None) => {
                let h: Header = codec::decode(&bytes, MAX_RECORD)
                    .map_err(|_| Error::invalid("the bundle's header is malformed"))?;
                if h.to != node.id() {
                    return Err(Error::invalid(format!(
                        "this bundle was made for {}, not for this node",
                        h.to
                    )));
                }
                header = Some(h);
            }
            (FRAME, Some(_)) => frames += 1,
            (SIGNATURE, Some(h)) => {
                let sig: [u8; 64] = bytes
                    .try_into()
                    .map_err(|_| Error::forged("the bundle's signature is malformed"))?;
                let digest = hasher.finalize();
                h.from
                    .verify(&[SIGNING_DOMAIN, digest.as_slice()].concat(), &Signature(sig))
                    .map_err(|_| Error::forged(format!("the bundle's signature does not match: it was not written by {} or was altered", h.from)))?;
                if read_record(&mut r).map_err(open_error)?.is_some() {
                    return Err(Error::forged("the bundle continues after its signature"));
                }
                return Ok((h.clone(), frames));
            }
            _ => return Err(Error::invalid("the bundle's records are out of order")),
        }
        hasher.update(record_head(kind, bytes.len()));
        hasher.update(&bytes);
    }
}

fn authorize(node: &Node, from: &NodeId) -> Result<()> {
    if node.is_hub() {
        match node.store.site_record(from)? {
            Some(r) if r.revoked.is_none() => Ok(()),
            Some(r) => Err(Error::unauthorized(format!(
                "this bundle comes from {} ({}), which is revoked: nothing was imported",
                r.name, r.node
            ))),
            None => Err(Error::unauthorized(format!(
                "this bundle comes from {from}, which is not an admitted site"
            ))),
        }
    } else if node.hub_id() == Some(*from) {
        Ok(())
    } else {
        Err(Error::unauthorized(format!(
            "this bundle comes from {from}, which is not this site's hub"
        )))
    }
}

/// Import a bundle written for this node, read once from `source` (the bytes of the file
/// `name`, which the caller opened as a regular file).
pub fn import(
    node: &Node,
    source: &mut dyn Read,
    name: &str,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<ImportReport> {
    let started = now_ms();
    let name = crate::domain::text::printable(name).into_owned();
    let (copy, size) = private_copy(node, source, &name)?;
    let (header, frames) = verify(node, &copy, &name)?;
    let from = header.from;
    authorize(node, &from)?;
    // From the replay check to the receipt written at the end (copying and checking the file,
    // which may come from a slow stick, need no turn).
    let _turn = node.bundle_turn();
    let last: u64 = node.store.local(&format!("bundle_in/{from}"))?.unwrap_or(0);
    if header.seq <= last {
        return Err(Error::duplicate(format!(
            "bundle #{} from {} was already imported (the latest imported is #{last}); nothing changed",
            header.seq, from
        )));
    }

    // Second pass, on the same private copy: apply, exactly as if the frames had arrived over
    // the network.
    let mut r = open(node, &copy, &name)?;
    let own_tip_at_start = node.own_tip()?;
    let mut store = SyncStore::new(&node.store);
    let mut session = Session::new(config(node, from, None), node.id());
    session
        .start(&store, started)
        .map_err(|e| Error::storage_msg(e.to_string()))?;
    let mut report = ImportReport {
        from: from.to_string(),
        seq: header.seq,
        ..Default::default()
    };
    let mut done = 0u64;
    while let Some((kind, bytes)) = read_record(&mut r).map_err(open_error)? {
        if kind != FRAME {
            continue;
        }
        session.receive(&bytes, &mut store).map_err(|e| match e {
            SessionError::Store(e) => Error::storage_boxed("storing the bundle's entries", e),
            // The error may quote the sender's own words (an error frame's detail).
            e => Error::forged(format!(
                "the bundle holds entries that failed verification: {}",
                printable(&e.to_string())
            )),
        })?;
        done += 1;
        progress(done, frames);
        while let Some(event) = session.poll_event() {
            match event {
                Event::Duplicate {
                    first_seq,
                    last_seq,
                    ..
                } => report.duplicates += last_seq - first_seq + 1,
                Event::Fork(f) => report
                    .forks
                    .push(format!("{} forked at {}; frozen", f.origin, f.seq)),
                Event::Refused { origin, refusal } => {
                    report.refused.push(format!("{refusal:?} for {origin}"))
                }
                // A site restored from an old copy learns here that the hub holds more of its
                // own feed: it moves to a new epoch before it authors anything (as over TLS).
                Event::PeerHello { vector, frozen, .. } if !node.is_hub() => {
                    if let Some(epoch) = crate::sync::driver::restore_safety(
                        node,
                        &vector,
                        &frozen,
                        own_tip_at_start,
                    )? {
                        report.new_epoch = Some(epoch);
                    }
                }
                _ => {}
            }
        }
    }
    report.stored = session.stats().entries_stored;

    // Remember: this bundle is imported; what the sender holds (its Hello, and its receipt for
    // our last bundle); and a receipt for the sender, carried by our next bundle to it.
    node.store
        .set_local(&format!("bundle_in/{from}"), &header.seq)?;
    if let Some(receipt) = &header.receipt {
        // A node restored from an old copy has an old bundle counter: continue after the last
        // bundle the sender confirms, or our next bundle would look like a replay to it.
        let out_key = format!("bundle_out/{from}");
        if node.store.local::<u64>(&out_key)?.unwrap_or(0) < receipt.seq {
            node.store.set_local(&out_key, &receipt.seq)?;
        }
    }
    let sender_held = session
        .peer()
        .is_some()
        .then(|| session.peer_holds().clone());
    // Read, changed and written as one (a network session with the sender may end meanwhile).
    peer::update(&node.store, &from, |state| {
        // What the sender held when it wrote the bundle replaces what we believed: bundles
        // arrive in order, and a sender restored from an old copy must get back what it lost.
        // Believing too little costs only a resend; believing too much would withhold entries
        // for good.
        let mut known = sender_held.unwrap_or_else(|| state.known_vector());
        if let Some(receipt) = &header.receipt {
            for (o, s) in receipt.held.iter() {
                known.raise(*o, *s);
            }
        }
        state.set_known(&known);
        state.last_contact_ms = Some(now_ms());
        state.last_success_ms = Some(now_ms());
        state.record(SyncRecord {
            started_ms: started,
            ended_ms: now_ms(),
            via: "bundle-in".into(),
            received: report.stored,
            duplicates: report.duplicates,
            bytes_received: size,
            outcome: format!("imported bundle #{}", header.seq),
            ..Default::default()
        });
    })?;
    node.store.set_local_bin(
        &format!("receipt_for/{from}"),
        &Receipt {
            seq: header.seq,
            held: node.store.vector()?,
        },
    )?;
    Ok(report)
}
