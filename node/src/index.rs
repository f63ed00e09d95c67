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
use automerge::{Automerge, ROOT};
use cairn_sync_protocol::DocId;
use serde_json::{Value as Json, json};

fn key(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// The index entries (keys without the store's `I` prefix, and values) a document produces.
pub fn index_document(doc: &DocId, am: &Automerge) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    let conflicts = am::conflicts(am);
    if !conflicts.is_empty() {
        out.push((
            key(&[b"conflict/", &doc.0]),
            serde_json::to_vec(&conflicts).unwrap_or_default(),
        ));
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

fn index_learner(doc: &DocId, am: &Automerge, out: &mut Vec<(Vec<u8>, Vec<u8>)>) {
    let root = am::read(am, &ROOT);
    let id = root["id"].as_str().unwrap_or_default();
    out.push((key(&[b"id/", id.as_bytes()]), doc.0.to_vec()));
    let profile = &root["profile"];
    if let Some(number) = profile["number"].as_str() {
        out.push((
            key(&[b"num/", number.as_bytes(), b"\0", &doc.0]),
            doc.0.to_vec(),
        ));
    }
    let home = root["home_site"].as_str().unwrap_or_default();
    out.push((key(&[b"home/", &doc.0]), home.as_bytes().to_vec()));
    for section in [
        "enrollments",
        "evidence",
        "assessments",
        "awards",
        "outcomes",
    ] {
        if let Some(m) = root[section].as_object() {
            for rid in m.keys() {
                out.push((key(&[b"id/", rid.as_bytes()]), doc.0.to_vec()));
            }
        }
    }
    let count = |s: &str| root[s].as_object().map_or(0, |m| m.len());
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
