//! Secondary indexes derived from documents, rebuilt with them.
//!
//! | key | value |
//! | --- | --- |
//! | `id/<record id>` | the document holding it (`L-`, `E-`, `V-`, `S-`, `A-`, `O-`); the record index, kept by the store in buckets (`store/record_index.rs`) |
//! | `num/<learner number>\0<doc>` | the learner document |
//! | `learner/<doc>` | a JSON summary for lists |
//! | `home/<doc>` | the learner's home site (node id text) |
//! | `homed/<site>\0<doc>` | empty: the learners homed at a site, so a hub's session with it lists only them (since index version 1) |
//! | `conflict/<doc>` | JSON list of concurrent values automerge kept |
//! | `user/<U- id>` | JSON of a staff user (from every staff document held) |
//! | `copy/<doc>` | award ids (JSON list) lacking the program-signed copy (the hub makes them) |

use super::am;
use automerge::{Automerge, ObjType, ROOT, ReadDoc};
use cairn_sync_protocol::DocId;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// A learner in lists: what the index keeps per learner, so lists need not open documents.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LearnerSummary {
    /// `L-…`.
    pub id: String,
    /// Learner number.
    #[serde(default)]
    pub number: String,
    /// "Given Family".
    #[serde(default)]
    pub name: String,
    /// Home site (node id text).
    #[serde(default)]
    pub home_site: String,
    /// Enrollments held.
    #[serde(default)]
    pub enrollments: usize,
    /// Awards held.
    #[serde(default)]
    pub awards: usize,
}

fn key(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// The index of learner and staff documents the store maintains for this node.
#[derive(Clone, Copy, Debug, Default)]
pub struct DocumentIndex;

impl crate::store::Indexer for DocumentIndex {
    fn index(&self, doc: &DocId, am: &Automerge, find_conflicts: bool) -> Vec<(Vec<u8>, Vec<u8>)> {
        index_document(doc, am, find_conflicts)
    }

    fn conflict_key(&self, doc: &DocId) -> Vec<u8> {
        conflict_key(doc)
    }

    fn counted(&self) -> &'static [&'static [u8]] {
        &[b"learner/"]
    }

    fn record_prefix(&self) -> Option<&'static [u8]> {
        Some(b"id/")
    }

    fn version(&self) -> u32 {
        INDEX_VERSION
    }
}

/// What this release's index holds: 1 added `homed/`. A store derived in full by an earlier
/// release lacks the keys added since, until `cairn rebuild` (see [`crate::store::Core::indexed_since`]).
/// Raise it only to add keys: a version holds everything the versions below it held, since a
/// release that opens a store marked higher lowers the mark to its own version and keeps using
/// the keys it knows.
pub const INDEX_VERSION: u32 = 1;

/// The index version that added `homed/`.
pub const HOMED_SINCE: u32 = 1;

/// The index key prefix (without the store's `I` prefix) listing the learners homed at `site`
/// (node id text): each key under it ends with a learner document's id.
pub fn homed_prefix(site: &str) -> Vec<u8> {
    key(&[b"homed/", site.as_bytes(), b"\0"])
}

/// The learner documents homed at `site` (node id text), as derived so far: the site's own list,
/// or, in a store derived in part before that list existed, found among every learner's home.
/// Read as it stands, without waiting for queued batches: a caller that needs them derived
/// settles first.
pub fn homed_learners(store: &crate::store::Core, site: &str) -> crate::error::Result<Vec<DocId>> {
    let derived = store.as_derived();
    let docs: Vec<Vec<u8>> = if store.indexed_since(HOMED_SINCE)? {
        let listed = derived.index_scan(&homed_prefix(site))?;
        listed.into_iter().map(|(doc, _)| doc).collect()
    } else {
        let every = derived.index_scan(b"home/")?;
        every
            .into_iter()
            .filter(|(_, home)| home == site.as_bytes())
            .map(|(doc, _)| doc)
            .collect()
    };
    Ok(docs
        .into_iter()
        .filter_map(|doc| <[u8; 16]>::try_from(doc.as_slice()).ok().map(DocId))
        .collect())
}

/// The learner documents homed at `site` holding awards the hub has not yet signed as the
/// program (`copy/`), as derived so far. Read from the site's own list, so the cost follows the
/// site's learners, not how many of the whole program's wait for the hub's upkeep.
pub fn homed_awaiting_copy(
    store: &crate::store::Core,
    site: &str,
) -> crate::error::Result<Vec<DocId>> {
    let derived = store.as_derived();
    let mut waiting = Vec::new();
    for doc in homed_learners(store, site)? {
        if derived.index_get(&key(&[b"copy/", &doc.0]))?.is_some() {
            waiting.push(doc);
        }
    }
    Ok(waiting)
}

/// The index key (without the store's `I` prefix) listing a document's conflicts.
pub fn conflict_key(doc: &DocId) -> Vec<u8> {
    key(&[b"conflict/", &doc.0])
}

/// The index entries (keys without the store's `I` prefix, and values) a document produces.
pub fn index_document(
    doc: &DocId,
    am: &Automerge,
    find_conflicts: bool,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    if find_conflicts {
        let found = am::conflicts(am);
        if !found.is_empty() {
            out.push((
                conflict_key(doc),
                serde_json::to_vec(&found).unwrap_or_default(),
            ));
        }
    }
    let kind = am::read_path(am, &["type"]);
    match kind.as_ref().and_then(Json::as_str) {
        Some("learner") => index_learner(doc, am, &mut out),
        Some("staff") => {
            if let Some(users) = am::read_path(am, &["users"]).and_then(|u| u.as_object().cloned())
            {
                for (id, u) in users {
                    out.push((
                        key(&[b"user/", id.as_bytes()]),
                        serde_json::to_vec(&u).unwrap_or_default(),
                    ));
                }
            }
        }
        _ => {}
    }
    out
}

/// The keys of the map at `section` under the root (none if it is missing or not a map).
fn section_keys(am: &Automerge, section: &str) -> Vec<String> {
    match am.get(ROOT, section) {
        Ok(Some((automerge::Value::Object(ObjType::Map), id))) => am.keys(id).collect(),
        _ => Vec::new(),
    }
}

fn index_learner(doc: &DocId, am: &Automerge, out: &mut Vec<(Vec<u8>, Vec<u8>)>) {
    // Read only what the index needs: the record ids are map keys, so the records themselves
    // (evidence, credentials) are never turned into JSON here.
    let scalar = |name: &str| am::read_path(am, &[name]).unwrap_or(Json::Null);
    let id_value = scalar("id");
    let id = id_value.as_str().unwrap_or_default();
    out.push((key(&[b"id/", id.as_bytes()]), doc.0.to_vec()));
    let profile = &scalar("profile");
    if let Some(number) = profile["number"].as_str() {
        out.push((
            key(&[b"num/", number.as_bytes(), b"\0", &doc.0]),
            doc.0.to_vec(),
        ));
    }
    let home_value = scalar("home_site");
    let home = home_value.as_str().unwrap_or_default();
    out.push((key(&[b"home/", &doc.0]), home.as_bytes().to_vec()));
    out.push(([homed_prefix(home), doc.0.to_vec()].concat(), Vec::new()));
    let mut counts = std::collections::BTreeMap::new();
    for section in [
        "enrollments",
        "evidence",
        "assessments",
        "awards",
        "outcomes",
    ] {
        let ids = section_keys(am, section);
        counts.insert(section, ids.len());
        for rid in ids {
            out.push((key(&[b"id/", rid.as_bytes()]), doc.0.to_vec()));
        }
    }
    // Awards the hub has not yet signed as the program: its upkeep finds them here without
    // opening every document.
    if let Ok(Some((automerge::Value::Object(ObjType::Map), awards))) = am.get(ROOT, "awards") {
        let lacking: Vec<String> = am
            .keys(&awards)
            .filter(|id| match am.get(&awards, id.as_str()) {
                Ok(Some((automerge::Value::Object(ObjType::Map), award))) => am
                    .get(&award, "program_credential")
                    .ok()
                    .flatten()
                    .is_none(),
                _ => false,
            })
            .collect();
        if !lacking.is_empty() {
            out.push((
                key(&[b"copy/", &doc.0]),
                serde_json::to_vec(&lacking).unwrap_or_default(),
            ));
        }
    }
    let count = |s: &str| counts.get(s).copied().unwrap_or(0);
    let text = |v: &Json| v.as_str().unwrap_or("").to_string();
    let summary = LearnerSummary {
        id: id.to_string(),
        number: text(&profile["number"]),
        name: format!(
            "{} {}",
            text(&profile["given_name"]),
            text(&profile["family_name"])
        ),
        home_site: home.to_string(),
        enrollments: count("enrollments"),
        awards: count("awards"),
    };
    out.push((
        key(&[b"learner/", &doc.0]),
        serde_json::to_vec(&summary).unwrap_or_default(),
    ));
}
