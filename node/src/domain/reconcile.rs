//! The hub operator's reconciliation: what needs a human decision across sites, and the explicit,
//! signed actions that settle it. Nothing is resolved silently: every resolution is an entry in
//! the learner's document, signed by the hub and naming the operator, and it syncs to the sites
//! that hold that learner like any other change.

use super::am;
use super::ids;
use super::learners;
use super::lifecycle::{self, actor_text, now_rfc3339};
use super::people::{Actor, Role};
use crate::error::{Error, Result};
use crate::node::Node;
use automerge::{Prop, ROOT};
use cairn_sync_protocol::DocId;
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;

/// Every learner document this node holds: (learner id, document).
pub fn all_learners(node: &Node) -> Result<Vec<(DocId, Json)>> {
    let mut out = Vec::new();
    for (doc, _) in node.store.index_scan(b"learner/")? {
        let Ok(bytes) = <[u8; 16]>::try_from(doc.as_slice()) else {
            continue;
        };
        let doc = DocId(bytes);
        out.push((doc, learners::document(node, &doc)?));
    }
    Ok(out)
}

// Names and ids are compared with case and spacing folded, as credentials fold a learner's name.
use cairn_credentials::verify::normalize_identity as norm;

/// Pairs of records that are likely one person: the same institution id, or the same name and
/// year of birth. Records already merged are left out.
pub fn duplicates(learners: &[(DocId, Json)]) -> Vec<Json> {
    let live: Vec<&(DocId, Json)> = learners
        .iter()
        .filter(|(_, d)| d["merged_into"].is_null())
        .collect();
    let mut by_key: BTreeMap<(String, String), Vec<&(DocId, Json)>> = BTreeMap::new();
    for l in &live {
        let p = &l.1["profile"];
        if let Some(iid) = p["institution_id"]
            .as_str()
            .filter(|s| !s.trim().is_empty())
        {
            let inst = norm(p["institution"].as_str().unwrap_or(""));
            by_key
                .entry(("institution id".into(), format!("{inst}/{}", norm(iid))))
                .or_default()
                .push(l);
        }
        if let Some(y) = p["year_of_birth"].as_i64() {
            let name = norm(&format!(
                "{} {}",
                p["given_name"].as_str().unwrap_or(""),
                p["family_name"].as_str().unwrap_or("")
            ));
            by_key
                .entry(("name and year of birth".into(), format!("{name}/{y}")))
                .or_default()
                .push(l);
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for ((why, _), group) in by_key {
        for (i, a) in group.iter().enumerate() {
            for b in &group[i + 1..] {
                let (x, y) = (ids::learner_id(&a.0), ids::learner_id(&b.0));
                let pair = if x < y { (x, y) } else { (y, x) };
                if seen.insert((pair.clone(), why.clone())) {
                    out.push(json!({
                        "learners": [pair.0, pair.1],
                        "because": why,
                        "home_sites": [a.1["home_site"], b.1["home_site"]],
                    }));
                }
            }
        }
    }
    out
}

/// Evidence with more than one assessment decision and no accepted one.
pub fn concurrent_assessments(learners: &[(DocId, Json)]) -> Vec<Json> {
    let mut out = Vec::new();
    for (doc, d) in learners {
        let accepted: Vec<&str> = d["resolutions"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, r)| r["kind"] == "accept-assessment")
            .filter_map(|(_, r)| r["evidence"].as_str())
            .collect();
        let mut by_evidence: BTreeMap<&str, Vec<&Json>> = BTreeMap::new();
        for a in d["assessments"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(_, a)| a)
        {
            if let Some(e) = a["evidence"].as_str() {
                by_evidence.entry(e).or_default().push(a);
            }
        }
        for (evidence, list) in by_evidence {
            if list.len() > 1 && !accepted.contains(&evidence) {
                out.push(json!({
                    "learner": ids::learner_id(doc),
                    "evidence": evidence,
                    "assessments": list.iter().map(|a| json!({
                        "id": a["id"], "decision": a["decision"], "assessor": a["assessor"], "at": a["assessed_at"],
                    })).collect::<Vec<_>>(),
                }));
            }
        }
    }
    out
}

/// Everything that needs the operator: duplicates, concurrent values, concurrent assessments,
/// frozen (forked) origins, and revoked sites that may hold data the hub never received.
pub fn list(node: &Node) -> Result<Json> {
    let learners = all_learners(node)?;
    let mut conflicts = Vec::new();
    for (doc, v) in node.store.index_scan(b"conflict/")? {
        let Ok(bytes) = <[u8; 16]>::try_from(doc.as_slice()) else {
            continue;
        };
        let list: Vec<Json> = serde_json::from_slice(&v).unwrap_or_default();
        for c in list {
            conflicts.push(json!({
                "learner": ids::learner_id(&DocId(bytes)),
                "path": c["path"],
                "values": c["values"],
            }));
        }
    }
    let forks: Vec<Json> = node
        .store
        .forks()?
        .iter()
        .map(
            |f| json!({"origin": f.origin.node.to_string(), "epoch": f.origin.epoch, "seq": f.seq}),
        )
        .collect();
    let mut revoked = Vec::new();
    for site in node.store.site_records()? {
        let Some(reason) = site.revoked else { continue };
        let homed = learners
            .iter()
            .filter(|(_, d)| d["home_site"] == site.node)
            .count();
        let last_contact = site
            .node
            .parse()
            .ok()
            .and_then(|id| crate::sync::peer::load(&node.store, &id).ok())
            .and_then(|p| p.last_contact_ms);
        revoked.push(json!({
            "site": site.node,
            "name": site.name,
            "reason": reason,
            "learners_homed": homed,
            "last_contact_ms": last_contact,
            "note": "anything it recorded after its last contact never reached the hub; transfer its learners to another site",
        }));
    }
    Ok(json!({
        "duplicates": duplicates(&learners),
        "conflicts": conflicts,
        "concurrent_assessments": concurrent_assessments(&learners),
        "forks": forks,
        "revoked_sites": revoked,
    }))
}

fn require_operator(node: &Node, actor: &Actor) -> Result<()> {
    if !node.is_hub() {
        return Err(Error::rule("reconciling is the hub operator's job"));
    }
    actor.require(&[Role::Admin], "reconciling records")
}

fn resolution(actor: &Actor, kind: &str, detail: Json) -> (String, Json) {
    let id = ids::random('R');
    let mut v = json!({
        "id": id,
        "kind": kind,
        "by": actor_text(actor),
        "at": now_rfc3339(),
    });
    if let (Some(m), Some(d)) = (v.as_object_mut(), detail.as_object()) {
        m.extend(d.clone());
    }
    (id, v)
}

/// Merge a duplicate record into the one kept: the duplicate is marked as merged (reports count
/// the person once, with both records' enrollments and awards), and both records say so.
pub fn merge(node: &Node, actor: &Actor, keep: &str, duplicate: &str) -> Result<Json> {
    require_operator(node, actor)?;
    let (k, d) = (
        learners::find(node, keep)?,
        learners::find(node, duplicate)?,
    );
    if k == d {
        return Err(Error::invalid("a record cannot be merged into itself"));
    }
    let (kid, did) = (ids::learner_id(&k), ids::learner_id(&d));
    let kept = learners::document(node, &k)?;
    if !kept["merged_into"].is_null() {
        return Err(Error::rule(format!(
            "{kid} was itself merged into {}; keep that one",
            kept["merged_into"]
        )));
    }
    let (rid, r) = resolution(actor, "merge", json!({"kept": kid, "duplicate": did}));
    let author = node.author(actor.user_id())?;
    node.store.change_doc(&author, d, "merge duplicate", |tx| {
        am::write(tx, &ROOT, Prop::Map("merged_into".into()), &json!(kid))?;
        let map = am::ensure_map(tx, &ROOT, "resolutions")?;
        am::write(tx, &map, Prop::Map(rid.clone()), &r)
    })?;
    lifecycle::write_record(node, actor, k, "merge duplicate", "resolutions", &rid, &r)?;
    Ok(r)
}

/// Pick one of a field's concurrent values (or a new one). Writing it supersedes every
/// concurrent version, so the conflict is gone at every node once this syncs.
pub fn pick(node: &Node, actor: &Actor, learner: &str, path: &str, value: &str) -> Result<Json> {
    require_operator(node, actor)?;
    let doc = learners::find(node, learner)?;
    let parts: Vec<&str> = path.split('.').filter(|p| !p.is_empty()).collect();
    let Some((field, parents)) = parts.split_last() else {
        return Err(Error::invalid(
            "name the field as a dotted path, e.g. profile.primary_language",
        ));
    };
    if parts.len() > 4 || parts[0] != "profile" {
        return Err(Error::invalid(
            "only profile fields are picked this way (e.g. profile.primary_language); assessments are accepted with `reconcile accept`",
        ));
    }
    let value: Json = serde_json::from_str(value).unwrap_or_else(|_| json!(value));
    let (rid, r) = resolution(actor, "pick-value", json!({"path": path, "value": value}));
    node.store
        .change_doc(&node.author(actor.user_id())?, doc, "pick value", |tx| {
            let mut obj = ROOT;
            for p in parents {
                obj = am::ensure_map(tx, &obj, p)?;
            }
            am::write(tx, &obj, Prop::Map(field.to_string()), &value)?;
            let map = am::ensure_map(tx, &ROOT, "resolutions")?;
            am::write(tx, &map, Prop::Map(rid.clone()), &r)
        })?;
    Ok(r)
}

/// Accept one of the concurrent assessments of a piece of evidence.
pub fn accept(node: &Node, actor: &Actor, assessment: &str) -> Result<Json> {
    require_operator(node, actor)?;
    let doc = learners::doc_of(node, assessment)?;
    let d = learners::document(node, &doc)?;
    let a = d["assessments"]
        .get(assessment.trim())
        .ok_or_else(|| Error::not_found(format!("{assessment} is not an assessment")))?;
    let (rid, r) = resolution(
        actor,
        "accept-assessment",
        json!({"evidence": a["evidence"], "assessment": a["id"], "decision": a["decision"]}),
    );
    lifecycle::write_record(
        node,
        actor,
        doc,
        "accept assessment",
        "resolutions",
        &rid,
        &r,
    )?;
    Ok(r)
}
