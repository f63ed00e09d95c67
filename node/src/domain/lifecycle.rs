//! The credential lifecycle: enroll, submit evidence, assess, award — and the pathway
//! micro-credential when its last part is earned. Each step is one change to the learner's
//! document, checked against the rules first.

use super::am;
use super::catalog;
use super::files::{self, FileRef};
use super::ids;
use super::learners;
use super::people::{Actor, Role};
use crate::error::{Error, Result};
use crate::node::{Node, now_ms};
use automerge::transaction::Transactable;
use automerge::{Automerge, Prop, ROOT, ScalarValue};
use cairn_sync_protocol::DocId;
use serde_json::{Value as Json, json};
use std::path::PathBuf;

/// An assessor's decision.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    /// Meets the criteria.
    Proficient,
    /// Does not yet meet the criteria; the learner may submit again.
    NotYet,
}

/// Outcomes the codebook tracks after a credential.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum OutcomeKind {
    /// Entered a non-degree program.
    NonDegreeProgram,
    /// Entered a degree program (AS, BS, MS).
    DegreeProgram,
    /// A wage increase.
    WageIncrease,
    /// A promotion.
    Promotion,
    /// Increased employer benefits.
    EmployerBenefit,
    /// New employment obtained.
    NewEmployment,
}

/// RFC 3339 timestamp of this machine's clock.
pub fn now_rfc3339() -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(now_ms() as i128 * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

pub(crate) fn actor_text(actor: &Actor) -> Json {
    match actor {
        Actor::Staff(u) => json!({"id": u.id, "name": u.name}),
        Actor::Learner { number, .. } => json!({"learner": number}),
        Actor::Nobody => Json::Null,
    }
}

fn learner_doc(node: &Node, doc: &DocId) -> Result<Automerge> {
    node.store
        .doc(doc)?
        .ok_or_else(|| Error::not_found(format!("no learner {} here", ids::learner_id(doc))))
}

/// Refuse changes to a learner who lives at another site (the hub may change anyone).
fn require_home(node: &Node, am: &Automerge) -> Result<()> {
    if node.is_hub() {
        return Ok(());
    }
    let home = am::read_path(am, &["home_site"]).and_then(|v| v.as_str().map(str::to_string));
    if home.as_deref() != Some(&node.id().to_string()) {
        return Err(Error::unauthorized(
            "this learner's record now lives at another site; only that site (or the hub) can change it",
        ));
    }
    Ok(())
}

fn record(am: &Automerge, section: &str, id: &str) -> Option<Json> {
    am::read_path(am, &[section, id])
}

fn records(am: &Automerge, section: &str) -> Vec<Json> {
    am::read_path(am, &[section])
        .and_then(|v| v.as_object().map(|m| m.values().cloned().collect()))
        .unwrap_or_default()
}

pub(crate) fn write_record(
    node: &Node,
    actor: &Actor,
    doc: DocId,
    message: &str,
    section: &str,
    id: &str,
    value: &Json,
) -> Result<()> {
    node.store
        .change_doc(&node.author(actor.user_id())?, doc, message, |tx| {
            let map = am::ensure_map(tx, &ROOT, section)?;
            am::write(tx, &map, Prop::Map(id.to_string()), value)
        })?;
    Ok(())
}

/// Enroll a learner in an achievement. Needs an admin.
pub fn enroll(
    node: &Node,
    actor: &Actor,
    learner: &str,
    achievement: &str,
    previously_attempted: bool,
) -> Result<Json> {
    actor.require(&[Role::Admin], "enrolling a learner")?;
    let doc = learners::find(node, learner)?;
    let am = learner_doc(node, &doc)?;
    require_home(node, &am)?;
    let catalog = catalog::read(node)?;
    let a = catalog.achievements.get(achievement).ok_or_else(|| {
        Error::not_found(format!(
            "{achievement} is not an achievement in the catalog"
        ))
    })?;
    let id = ids::derived('E', &[&doc.0, achievement.as_bytes()]);
    if let Some(existing) = record(&am, "enrollments", &id) {
        let status = existing["status"].as_str().unwrap_or("");
        return Err(Error::duplicate(match status {
            "completed" => format!(
                "{} has already earned {} ({id})",
                ids::learner_id(&doc),
                a.name
            ),
            _ => format!(
                "{} is already enrolled in {} ({id})",
                ids::learner_id(&doc),
                a.name
            ),
        }));
    }
    let value = json!({
        "id": id,
        "achievement": achievement,
        "status": "enrolled",
        "previously_attempted": previously_attempted,
        "enrolled_at": now_rfc3339(),
        "enrolled_by": actor_text(actor),
    });
    node.store
        .change_doc(&node.author(actor.user_id())?, doc, "enroll", |tx| {
            let map = am::ensure_map(tx, &ROOT, "enrollments")?;
            am::write(tx, &map, Prop::Map(id.clone()), &value)?;
            let enr = am::ensure_map(tx, &map, &id)?;
            // A counter, so attempts assessed at two places add up instead of conflicting.
            tx.put(&enr, "attempts", ScalarValue::counter(0))
                .map_err(|e| Error::Storage(e.to_string()))
        })?;
    Ok(value)
}

/// Submit evidence for an enrollment: a narrative and/or files. The learner themself, or an
/// admin on their behalf.
pub fn submit_evidence(
    node: &Node,
    actor: &Actor,
    enrollment: &str,
    narrative: Option<&str>,
    paths: &[PathBuf],
) -> Result<Json> {
    let doc = learners::doc_of(node, enrollment)?;
    match actor {
        Actor::Learner { doc: own, .. } if *own == doc => {}
        Actor::Learner { .. } => {
            return Err(Error::unauthorized(
                "a learner can submit evidence only for their own enrollments",
            ));
        }
        _ => actor.require(&[Role::Admin], "submitting evidence on a learner's behalf")?,
    }
    let am = learner_doc(node, &doc)?;
    require_home(node, &am)?;
    let enr = record(&am, "enrollments", enrollment)
        .ok_or_else(|| Error::not_found(format!("no enrollment {enrollment} here")))?;
    match enr["status"].as_str() {
        Some("enrolled") => {}
        Some("completed") => {
            return Err(Error::rule(
                "this achievement is already awarded; no more evidence is needed",
            ));
        }
        other => {
            return Err(Error::rule(format!(
                "enrollment {enrollment} is {}",
                other.unwrap_or("not active")
            )));
        }
    }
    let narrative = narrative.map(str::trim).filter(|n| !n.is_empty());
    if narrative.is_none() && paths.is_empty() {
        return Err(Error::invalid(
            "evidence needs a narrative (--narrative) or at least one file (--file)",
        ));
    }
    if let Some(n) = narrative {
        super::text::check_paragraphs("narrative", n, 20_000)?;
    }
    if paths.len() > 20 {
        return Err(Error::invalid("at most 20 files per submission"));
    }
    // Read (and size-check) every file before storing any.
    let mut contents = Vec::new();
    for p in paths {
        contents.push(files::read_evidence_file(p)?);
    }
    let mut refs: Vec<FileRef> = Vec::new();
    for (name, data) in &contents {
        refs.push(files::store(node, actor.user_id(), doc, name, data)?);
    }
    let id = ids::random('V');
    let value = json!({
        "id": id,
        "enrollment": enrollment,
        "narrative": narrative,
        "files": refs,
        "submitted_by": actor_text(actor),
        "submitted_at": now_rfc3339(),
    });
    write_record(node, actor, doc, "submit evidence", "evidence", &id, &value)?;
    Ok(value)
}

/// Assess a piece of evidence. Needs an assessor.
pub fn assess(
    node: &Node,
    actor: &Actor,
    evidence: &str,
    decision: Decision,
    feedback: Option<&str>,
) -> Result<Json> {
    actor.require(&[Role::Assessor], "assessing evidence")?;
    let doc = learners::doc_of(node, evidence)?;
    let am = learner_doc(node, &doc)?;
    require_home(node, &am)?;
    let ev = record(&am, "evidence", evidence).ok_or_else(|| {
        Error::rule(format!(
            "{evidence} has not been submitted; nothing can be assessed before it is"
        ))
    })?;
    let enrollment = ev["enrollment"].as_str().unwrap_or_default().to_string();
    if let Some(prior) = records(&am, "assessments")
        .into_iter()
        .find(|a| a["evidence"] == evidence)
    {
        return Err(Error::duplicate(format!(
            "{evidence} was already assessed ({}, {}); if that is wrong, the hub can reconcile it",
            prior["decision"].as_str().unwrap_or("?"),
            prior["id"].as_str().unwrap_or("?"),
        )));
    }
    if let Some(enr) = record(&am, "enrollments", &enrollment)
        && enr["status"] == "completed"
    {
        return Err(Error::rule("this achievement is already awarded"));
    }
    if let Some(f) = feedback.filter(|f| !f.trim().is_empty()) {
        super::text::check_paragraphs("feedback", f, 20_000)?;
    }
    let id = ids::random('S');
    let value = json!({
        "id": id,
        "evidence": evidence,
        "enrollment": enrollment,
        "decision": decision,
        "feedback": feedback.map(str::trim),
        "assessor": actor_text(actor),
        "assessed_at": now_rfc3339(),
    });
    node.store
        .change_doc(&node.author(actor.user_id())?, doc, "assess", |tx| {
            let map = am::ensure_map(tx, &ROOT, "assessments")?;
            am::write(tx, &map, Prop::Map(id.clone()), &value)?;
            let enrs = am::ensure_map(tx, &ROOT, "enrollments")?;
            let enr = am::ensure_map(tx, &enrs, &enrollment)?;
            tx.increment(&enr, "attempts", 1)
                .or_else(|_| tx.put(&enr, "attempts", ScalarValue::counter(1)))
                .map_err(|e| Error::Storage(e.to_string()))
        })?;
    Ok(value)
}

/// Award the achievement of an enrollment. Needs an issuer and a proficient assessment; awards
/// the pathway micro-credential too when this was its last part.
pub fn award(node: &Node, actor: &Actor, enrollment: &str) -> Result<Vec<Json>> {
    actor.require(&[Role::Issuer], "awarding a badge")?;
    let doc = learners::doc_of(node, enrollment)?;
    let am = learner_doc(node, &doc)?;
    require_home(node, &am)?;
    let enr = record(&am, "enrollments", enrollment)
        .ok_or_else(|| Error::not_found(format!("no enrollment {enrollment} here")))?;
    let achievement = enr["achievement"].as_str().unwrap_or_default().to_string();
    let award_id = ids::derived('A', &[&doc.0, achievement.as_bytes()]);
    if record(&am, "awards", &award_id).is_some() {
        return Err(Error::duplicate(format!(
            "{achievement} was already awarded ({award_id})"
        )));
    }
    let proficient: Vec<Json> = records(&am, "assessments")
        .into_iter()
        .filter(|a| a["enrollment"] == enrollment && a["decision"] == "proficient")
        .collect();
    let Some(assessment) = proficient.first() else {
        return Err(Error::rule(format!(
            "no award without a proficient assessment: {enrollment} has none yet"
        )));
    };
    let catalog = catalog::read(node)?;
    let a = catalog
        .achievements
        .get(&achievement)
        .ok_or_else(|| Error::not_found(format!("{achievement} is no longer in the catalog")))?;
    let now = now_rfc3339();
    let issuer = json!({
        "user": actor_text(actor),
        "node": node.id().to_string(),
        "organization": node.config.institution.clone().unwrap_or_else(|| node.config.name.clone()),
    });
    let mut awards = vec![json!({
        "id": award_id,
        "kind": "achievement",
        "achievement": achievement,
        "name": a.name,
        "level": a.level,
        "enrollment": enrollment,
        "evidence": proficient.iter().map(|p| p["evidence"].clone()).collect::<Vec<_>>(),
        "assessment": assessment["id"],
        "issuer": issuer,
        "awarded_at": now,
    })];
    // Pathways completed by this award.
    let mut earned: Vec<String> = records(&am, "awards")
        .iter()
        .filter_map(|a| a["achievement"].as_str().map(str::to_string))
        .collect();
    earned.push(achievement.clone());
    for p in catalog.pathways_with(&achievement) {
        let pid = ids::derived('A', &[&doc.0, p.id.as_bytes()]);
        if record(&am, "awards", &pid).is_some()
            || !p.parts.iter().all(|part| earned.contains(part))
        {
            continue;
        }
        let parts: Vec<String> = p
            .parts
            .iter()
            .map(|part| ids::derived('A', &[&doc.0, part.as_bytes()]))
            .collect();
        awards.push(json!({
            "id": pid,
            "kind": "pathway",
            "pathway": p.id,
            "name": p.name,
            "parts": parts,
            "issuer": issuer,
            "awarded_at": now,
        }));
    }
    // Each award carries its Open Badges credential, signed here and now by the awarding node.
    let profile = am::read_path(&am, &["profile"]).unwrap_or(Json::Null);
    let evidence = records(&am, "evidence");
    for a in awards.iter_mut() {
        let credential = super::credentials::issue(node, a, &profile, &evidence, &catalog)?;
        a["credential"] = json!(credential.to_string());
    }
    node.store
        .change_doc(&node.author(actor.user_id())?, doc, "award", |tx| {
            let map = am::ensure_map(tx, &ROOT, "awards")?;
            for a in &awards {
                let id = a["id"].as_str().unwrap_or_default().to_string();
                am::write(tx, &map, Prop::Map(id), a)?;
            }
            let enrs = am::ensure_map(tx, &ROOT, "enrollments")?;
            let e = am::ensure_map(tx, &enrs, enrollment)?;
            am::write(tx, &e, Prop::Map("status".into()), &json!("completed"))
        })?;
    Ok(awards)
}

/// An outcome as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// What happened.
    pub kind: OutcomeKind,
    /// Details in words.
    pub detail: Option<String>,
    /// When, YYYY-MM-DD.
    pub date: Option<String>,
    /// For further study: were credits transferred?
    pub credits_transferred: Option<bool>,
    /// For a degree program: which degree.
    pub degree: Option<String>,
}

/// Record an outcome for a learner. Needs an admin.
pub fn add_outcome(node: &Node, actor: &Actor, learner: &str, outcome: &Outcome) -> Result<Json> {
    actor.require(&[Role::Admin], "recording an outcome")?;
    let doc = learners::find(node, learner)?;
    let am = learner_doc(node, &doc)?;
    require_home(node, &am)?;
    if let Some(d) = &outcome.date {
        learners::parse_date(d)?;
    }
    super::text::check_optional_line("detail", outcome.detail.as_deref(), 500)?;
    if let Some(d) = &outcome.degree
        && !matches!(
            d.as_str(),
            "AS" | "AA" | "AAS" | "BS" | "BA" | "MS" | "MA" | "other"
        )
    {
        return Err(Error::invalid(
            "the degree is one of AS, AA, AAS, BS, BA, MS, MA, other",
        ));
    }
    let id = ids::random('O');
    let value = json!({
        "id": id,
        "kind": outcome.kind,
        "detail": outcome.detail,
        "date": outcome.date,
        "credits_transferred": outcome.credits_transferred,
        "degree": outcome.degree,
        "recorded_by": actor_text(actor),
        "recorded_at": now_rfc3339(),
    });
    write_record(node, actor, doc, "record outcome", "outcomes", &id, &value)?;
    Ok(value)
}
