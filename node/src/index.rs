//! Secondary indexes derived from documents, rebuilt with them.
//!
//! | key | value |
//! | --- | --- |
//! | `id/<record id>` | the document holding it (`L-`, `E-`, `V-`, `S-`, `A-`, `O-`) |
//! | `num/<learner number>\0<doc>` | the learner document |
//! | `learner/<doc>` | a JSON summary for lists |
//! | `home/<doc>` | the learner's home site (node id text) |
//! | `conflict/<doc>` | JSON list of concurrent values automerge kept |
//! | `user/<U- id>` | JSON of a staff user (from every staff document held) |

use crate::domain::am;
use automerge::{Automerge, ObjType, ROOT, ReadDoc};
use cairn_sync_protocol::DocId;
use serde_json::{Value as Json, json};

fn key(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// Whether indexing must look for conflicts (concurrent values) in a document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conflicts {
    /// Walk the document for them.
    Find,
    /// The caller knows there are none (see `store::derive::History`).
    None,
}

/// The index key (without the store's `I` prefix) listing a document's conflicts.
pub fn conflict_key(doc: &DocId) -> Vec<u8> {
    key(&[b"conflict/", &doc.0])
}

/// The index entries (keys without the store's `I` prefix, and values) a document produces.
pub fn index_document(
    doc: &DocId,
    am: &Automerge,
    conflicts: Conflicts,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    if conflicts == Conflicts::Find {
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
    let count = |s: &str| counts.get(s).copied().unwrap_or(0);
    let summary = json!({
        "id": id,
        "number": profile["number"],
        "name": format!("{} {}", profile["given_name"].as_str().unwrap_or(""), profile["family_name"].as_str().unwrap_or("")),
        "home_site": home,
        "enrollments": count("enrollments"),
        "awards": count("awards"),
    });
    out.push((
        key(&[b"learner/", &doc.0]),
        serde_json::to_vec(&summary).unwrap_or_default(),
    ));
}
