//! Evidence files: stored content-addressed by SHA-256 as chunk entries in the log, so they sync,
//! verify and resume like everything else.

use crate::error::{Error, Result};
use crate::node::Node;
use crate::payload::{self, CHUNK_SIZE, FileChunk, MAX_FILE};
pub use crate::records::learner::FileRef;
use cairn_sync_protocol::{BodyKind, DocId, FeedItem, UserId};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

/// The media type a file's name suggests (the file is served as this, with its own name).
pub fn media_type(name: &str) -> String {
    mime_guess::from_path(name)
        .first_raw()
        .unwrap_or("application/octet-stream")
        .to_string()
}

/// A file name as a person gave it, reduced to its last component and checked: 1 to 255 bytes,
/// no control characters.
pub fn clean_name(name: &str) -> Result<String> {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("").trim();
    if last.is_empty() || last.len() > 255 || last == "." || last == ".." {
        return Err(Error::invalid(format!(
            "`{}` is not a usable file name",
            super::text::printable(name)
        )));
    }
    super::text::check_line(crate::domain::text::Field::FileName, last, 255)?;
    Ok(last.to_string())
}

/// Read a file a person named, refusing anything over the limit before reading it all.
pub fn read_evidence_file(path: &Path) -> Result<(String, Vec<u8>)> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| !n.is_empty() && n.len() <= 255)
        .ok_or_else(|| Error::invalid(format!("{} is not a usable file name", path.display())))?
        .to_string();
    let file = std::fs::File::open(path)
        .map_err(|e| Error::invalid(format!("cannot read {}: {e}", path.display())))?;
    let meta = file
        .metadata()
        .map_err(|e| Error::invalid(format!("cannot read {}: {e}", path.display())))?;
    if !meta.is_file() {
        return Err(Error::invalid(format!("{} is not a file", path.display())));
    }
    let too_big = || {
        Error::invalid(format!(
            "{} is larger than the {} MiB limit for one evidence file",
            path.display(),
            MAX_FILE / (1024 * 1024)
        ))
    };
    if meta.len() > MAX_FILE {
        return Err(too_big());
    }
    let mut data = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_FILE + 1)
        .read_to_end(&mut data)
        .map_err(|e| Error::invalid(format!("cannot read {}: {e}", path.display())))?;
    if data.len() as u64 > MAX_FILE {
        return Err(too_big());
    }
    Ok((name, data))
}

/// Store a file's content as chunk entries filed under `doc` (skipped if already held).
pub fn store(node: &Node, user: UserId, doc: DocId, name: &str, data: &[u8]) -> Result<FileRef> {
    let hash: [u8; 32] = Sha256::digest(data).into();
    let total = data.len().div_ceil(CHUNK_SIZE).max(1) as u32;
    for index in 0..total {
        if node.store.index_chunk(&hash, index)?.is_some() {
            continue;
        }
        let start = index as usize * CHUNK_SIZE;
        let end = (start + CHUNK_SIZE).min(data.len());
        let chunk = FileChunk {
            file: hash,
            index,
            total,
            size: data.len() as u64,
            data: data[start..end].to_vec(),
        };
        node.store.author_entry(
            &node.author(user)?,
            doc,
            BodyKind::FileChunk,
            payload::encode(&chunk)?,
        )?;
    }
    Ok(FileRef {
        sha256: data_encoding::HEXLOWER.encode(&hash),
        name: name.to_string(),
        size: data.len() as u64,
        media_type: media_type(name),
    })
}

/// How much of a file this node holds: (chunks held, chunks in the file).
pub fn completeness(node: &Node, sha256_hex: &str) -> Result<(u32, u32)> {
    let hash = parse_hash(sha256_hex)?;
    let Some(first) = read_chunk(node, &hash, 0)? else {
        return Ok((0, 0));
    };
    let mut held = 1;
    for i in 1..first.total {
        if node.store.index_chunk(&hash, i)?.is_some() {
            held += 1;
        }
    }
    Ok((held, first.total))
}

fn parse_hash(hex: &str) -> Result<[u8; 32]> {
    data_encoding::HEXLOWER
        .decode(hex.as_bytes())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| Error::invalid(format!("{hex} is not a SHA-256 hash")))
}

fn read_chunk(node: &Node, hash: &[u8; 32], index: u32) -> Result<Option<FileChunk>> {
    let Some((origin, seq)) = node.store.index_chunk(hash, index)? else {
        return Ok(None);
    };
    match node.store.item_covering(&origin, seq)? {
        Some(FeedItem::Entry(se)) => payload::decode(&se.entry.body.data, "a file chunk").map(Some),
        _ => Ok(None),
    }
}

/// Reassemble a file and check its hash. Errors if any chunk is missing.
pub fn read(node: &Node, sha256_hex: &str) -> Result<Vec<u8>> {
    let hash = parse_hash(sha256_hex)?;
    let first = read_chunk(node, &hash, 0)?
        .ok_or_else(|| Error::not_found(format!("file {sha256_hex} is not held here (yet)")))?;
    if first.size > MAX_FILE {
        return Err(Error::forged("a file claims to be larger than the limit"));
    }
    let mut data = Vec::with_capacity(first.size as usize);
    data.extend_from_slice(&first.data);
    for i in 1..first.total {
        let c = read_chunk(node, &hash, i)?.ok_or_else(|| {
            Error::not_found(format!(
                "file {sha256_hex} is incomplete here: chunk {i} of {} missing",
                first.total
            ))
        })?;
        data.extend_from_slice(&c.data);
    }
    let actual: [u8; 32] = Sha256::digest(&data).into();
    if actual != hash || data.len() as u64 != first.size {
        return Err(Error::forged(format!(
            "file {sha256_hex} does not match its hash"
        )));
    }
    Ok(data)
}
