//! The hub operator's reconciliation: what needs a human decision across sites, and the explicit,
//! signed actions that settle it. Nothing is resolved silently: every resolution is an entry in
//! the learner's document, signed by the hub and naming the operator, and it syncs to the sites
//! that hold that learner like any other change.

use super::ids;
use super::learners::{self, LearnerRecord};
use super::people::Actor;
use crate::clock::now_rfc3339;
use crate::error::{Error, Result};
use crate::node::Node;
use crate::records::am::Conflict;
use crate::records::learner::{self, Decision, Profile, Resolution, Settled};
use cairn_sync_protocol::DocId;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};

// Names and ids are compared with case and spacing folded, as credentials fold a learner's name.
use cairn_credentials::verify::normalize_identity as norm;

/// Two records that are likely one person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Duplicate {
    /// The two learners (`L-…`), in order.
    pub learners: [String; 2],
    /// Why: "institution id" or "name and year of birth".
    pub because: String,
    /// Their home sites.
    pub home_sites: [String; 2],
}

/// A field with concurrent values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldConflict {
    /// The learner.
    pub learner: String,
    /// Map keys from the document root.
    pub path: Vec<String>,
    /// Every value kept.
    pub values: Vec<Json>,
}

/// One of several assessments of the same evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssessmentChoice {
    /// `S-…`.
    pub id: String,
    /// Its decision.
    pub decision: Decision,
    /// Who assessed.
    pub assessor: Option<crate::records::ActorRef>,
    /// When.
    pub at: String,
}

/// Evidence assessed more than once with no decision accepted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConcurrentAssessments {
    /// The learner.
    pub learner: String,
    /// The evidence.
    pub evidence: String,
    /// The assessments.
    pub assessments: Vec<AssessmentChoice>,
}

/// Pairs of records that are likely one person: the same institution id, or the same name and
/// year of birth. Records already merged are left out.
pub fn duplicates(learners: &[(DocId, LearnerRecord)]) -> Vec<Duplicate> {
    let mut by_key: BTreeMap<(String, String), Vec<&(DocId, LearnerRecord)>> = BTreeMap::new();
    for l in learners.iter().filter(|(_, r)| r.merged_into.is_none()) {
        let p = &l.1.profile;
        if let Some(iid) = p.institution_id.as_deref().filter(|s| !s.trim().is_empty()) {
            let inst = norm(p.institution.as_deref().unwrap_or(""));
            by_key
                .entry(("institution id".into(), format!("{inst}/{}", norm(iid))))
                .or_default()
                .push(l);
        }
        if let Some(y) = p.year_of_birth {
            by_key
                .entry((
                    "name and year of birth".into(),
                    format!("{}/{y}", norm(&p.full_name())),
                ))
                .or_default()
                .push(l);
        }
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for ((why, _), group) in by_key {
        for (i, a) in group.iter().enumerate() {
            for b in &group[i + 1..] {
                let (x, y) = (ids::learner_id(&a.0), ids::learner_id(&b.0));
                let (pair, homes) = if x < y {
                    ((x, y), [a.1.home_site.clone(), b.1.home_site.clone()])
                } else {
                    ((y, x), [b.1.home_site.clone(), a.1.home_site.clone()])
                };
                if seen.insert((pair.clone(), why.clone())) {
                    out.push(Duplicate {
                        learners: [pair.0, pair.1],
                        because: why.clone(),
                        home_sites: homes,
                    });
                }
            }
        }
    }
    out
}

/// Evidence with more than one assessment decision and no accepted one.
pub fn concurrent_assessments(learners: &[(DocId, LearnerRecord)]) -> Vec<ConcurrentAssessments> {
    let mut out = Vec::new();
    for (doc, r) in learners {
        let accepted: BTreeSet<&str> = r
            .resolutions
            .values()
            .filter_map(|res| match &res.settled {
                Settled::AcceptAssessment { evidence, .. } => Some(evidence.as_str()),
                _ => None,
            })
            .collect();
        let mut by_evidence: BTreeMap<&str, Vec<AssessmentChoice>> = BTreeMap::new();
        for a in r.assessments.values() {
            by_evidence
                .entry(a.evidence.as_str())
                .or_default()
                .push(AssessmentChoice {
                    id: a.id.clone(),
                    decision: a.decision,
                    assessor: a.assessor.clone(),
                    at: a.assessed_at.clone(),
                });
        }
        for (evidence, list) in by_evidence {
            if list.len() > 1 && !accepted.contains(evidence) {
                out.push(ConcurrentAssessments {
                    learner: ids::learner_id(doc),
                    evidence: evidence.to_string(),
                    assessments: list,
                });
            }
        }
    }
    out
}

/// Every field with concurrent values, from the conflict index.
pub fn conflicts(node: &Node) -> Result<Vec<FieldConflict>> {
    let mut out = Vec::new();
    for (doc, v) in node.store.index_scan(b"conflict/")? {
        let Ok(bytes) = <[u8; 16]>::try_from(doc.as_slice()) else {
            continue;
        };
        let list: Vec<Conflict> = serde_json::from_slice(&v).unwrap_or_default();
        for c in list {
            out.push(FieldConflict {
                learner: ids::learner_id(&DocId(bytes)),
                path: c.path,
                values: c.values,
            });
        }
    }
    Ok(out)
}

fn resolution(actor: &Actor, settled: Settled) -> Resolution {
    Resolution {
        id: ids::random('R'),
        settled,
        by: actor.record_ref(),
        at: now_rfc3339(),
    }
}

fn require_hub(node: &Node) -> Result<()> {
    if !node.is_hub() {
        return Err(Error::rule("reconciling is the hub operator's job"));
    }
    Ok(())
}

/// Merge a duplicate record into the one kept: the duplicate is marked as merged (reports count
/// the person once, with both records' enrollments and awards), and both records say so.
pub fn merge(node: &Node, actor: &Actor, keep: &str, duplicate: &str) -> Result<Resolution> {
    require_hub(node)?;
    let (k, d) = (
        learners::find(node, keep)?,
        learners::find(node, duplicate)?,
    );
    if k == d {
        return Err(Error::invalid("a record cannot be merged into itself"));
    }
    let (kid, did) = (ids::learner_id(&k), ids::learner_id(&d));
    let kept = learners::record(node, &k)?;
    if let Some(target) = &kept.merged_into {
        return Err(Error::rule(format!(
            "{kid} was itself merged into {target}; keep that one"
        )));
    }
    let r = resolution(
        actor,
        Settled::Merge {
            kept: kid.clone(),
            duplicate: did,
        },
    );
    let author = node.author(actor.user_id())?;
    node.store.change_doc(&author, d, "merge duplicate", |tx| {
        learner::set_merged_into(tx, &kid)?;
        learner::put_resolution(tx, &r)
    })?;
    node.store.change_doc(&author, k, "merge duplicate", |tx| {
        learner::put_resolution(tx, &r)
    })?;
    Ok(r)
}

/// Pick one of a profile field's concurrent values (or a new one). Writing it supersedes every
/// concurrent version, so the conflict is gone at every node once this syncs. The value is
/// checked against the field's type first.
pub fn pick(
    node: &Node,
    actor: &Actor,
    learner: &str,
    path: &str,
    value: &str,
) -> Result<Resolution> {
    require_hub(node)?;
    let doc = learners::find(node, learner)?;
    let parts: Vec<&str> = path.split('.').filter(|p| !p.is_empty()).collect();
    if parts.len() != 2 || parts[0] != "profile" {
        return Err(Error::invalid(
            "only profile fields are picked this way (e.g. profile.primary_language); assessments are accepted with `reconcile accept`",
        ));
    }
    let value: Json = serde_json::from_str(value).unwrap_or_else(|_| Json::String(value.into()));
    let current = learners::record(node, &doc)?;
    let mut as_json = serde_json::to_value(&current.profile)
        .map_err(|e| Error::storage("encoding a profile", e))?;
    if as_json.get(parts[1]).is_none() {
        return Err(Error::invalid(format!(
            "the profile has no field {}",
            super::text::printable(parts[1])
        )));
    }
    as_json[parts[1]] = value.clone();
    let checked: Profile = serde_json::from_value(as_json)
        .map_err(|e| Error::invalid(format!("that value does not fit {path}: {e}")))?;
    learners::validate(&checked)?;
    let r = resolution(
        actor,
        Settled::PickValue {
            path: path.to_string(),
            value: value.clone(),
        },
    );
    node.store
        .change_doc(&node.author(actor.user_id())?, doc, "pick value", |tx| {
            learner::put_at_path(tx, &parts, &value)?;
            learner::put_resolution(tx, &r)
        })?;
    Ok(r)
}

/// Accept one of the concurrent assessments of a piece of evidence.
pub fn accept(node: &Node, actor: &Actor, assessment: &str) -> Result<Resolution> {
    require_hub(node)?;
    let assessment = assessment.trim();
    let doc = learners::doc_of(node, assessment)?;
    let rec = learners::record(node, &doc)?;
    let a = rec
        .assessments
        .get(assessment)
        .ok_or_else(|| Error::not_found(format!("{assessment} is not an assessment")))?;
    let r = resolution(
        actor,
        Settled::AcceptAssessment {
            evidence: a.evidence.clone(),
            assessment: a.id.clone(),
            decision: a.decision,
        },
    );
    node.store.change_doc(
        &node.author(actor.user_id())?,
        doc,
        "accept assessment",
        |tx| learner::put_resolution(tx, &r),
    )?;
    Ok(r)
}
