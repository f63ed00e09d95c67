//! The credential lifecycle: enroll, submit evidence, assess, award — and, with an award, the
//! pathway micro-credential when its last part is earned and a recognition credential for each
//! recognition of what was earned. Each step is one change to the learner's document, checked
//! against the rules first. Who may take each step is the application layer's decision.

use super::catalog;
use super::files;
use super::ids;
use super::learners;
use super::people::Actor;
use super::text;
use crate::clock::now_rfc3339;
use crate::error::{Error, Result};
use crate::node::Node;
use crate::records::learner::{self, LearnerRecord};
pub use crate::records::learner::{
    Assessment, Award, AwardIssuer, AwardKind, Decision, Enrollment, EnrollmentState, Evidence,
    Outcome, OutcomeKind,
};

/// Most files in one submission.
pub const MAX_FILES: usize = 20;
/// Longest narrative or feedback, in characters.
pub const MAX_TEXT: usize = 20_000;

fn learner_of(node: &Node, record_id: &str) -> Result<(cairn_sync_protocol::DocId, LearnerRecord)> {
    let doc = learners::doc_of(node, record_id)?;
    let rec = learners::record(node, &doc)?;
    learners::require_home(node, &rec)?;
    Ok((doc, rec))
}

/// Enroll a learner in an achievement.
pub fn enroll(
    node: &Node,
    actor: &Actor,
    learner: &str,
    achievement: &str,
    previously_attempted: bool,
) -> Result<Enrollment> {
    let doc = learners::find(node, learner)?;
    let rec = learners::record(node, &doc)?;
    learners::require_home(node, &rec)?;
    let catalog = catalog::read(node)?;
    let a = catalog.achievements.get(achievement).ok_or_else(|| {
        Error::not_found(format!(
            "{} is not an achievement in the catalog",
            text::printable(achievement)
        ))
    })?;
    let id = ids::derived('E', &[&doc.0, achievement.as_bytes()]);
    if let Some(existing) = rec.enrollments.get(&id) {
        return Err(Error::duplicate(match existing.status {
            EnrollmentState::Completed => {
                format!("{} has already earned {} ({id})", rec.id, a.name)
            }
            EnrollmentState::Enrolled => {
                format!("{} is already enrolled in {} ({id})", rec.id, a.name)
            }
        }));
    }
    let enrollment = Enrollment {
        id,
        achievement: achievement.to_string(),
        status: EnrollmentState::Enrolled,
        previously_attempted,
        attempts: 0,
        enrolled_at: now_rfc3339(),
        enrolled_by: actor.record_ref(),
    };
    node.store
        .change_doc(&node.author(actor.user_id())?, doc, "enroll", |tx| {
            learner::put_enrollment(tx, &enrollment)
        })?;
    Ok(enrollment)
}

/// A file a person submitted: its name (last component only) and content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upload {
    /// The file's name.
    pub name: String,
    /// Its bytes.
    pub data: Vec<u8>,
}

/// Check a submission's parts before anything is read or stored: a narrative or a file, at most
/// [`MAX_FILES`] files, each named sensibly and within the size limit.
pub fn check_submission(narrative: Option<&str>, files: &[(String, u64)]) -> Result<()> {
    let narrative = narrative.map(str::trim).filter(|n| !n.is_empty());
    if narrative.is_none() && files.is_empty() {
        return Err(
            Error::invalid("evidence needs a narrative or at least one file")
                .coded("evidence-empty", &[]),
        );
    }
    if let Some(n) = narrative {
        text::check_paragraphs(crate::domain::text::Field::Narrative, n, MAX_TEXT)?;
    }
    if files.len() > MAX_FILES {
        return Err(
            Error::invalid(format!("at most {MAX_FILES} files per submission"))
                .coded("too-many-files", &[("max", MAX_FILES.to_string())]),
        );
    }
    for (name, size) in files {
        files::clean_name(name)?;
        if *size > crate::payload::MAX_FILE {
            return Err(Error::invalid(format!(
                "{} is larger than the {} MiB limit for one evidence file",
                text::printable(name),
                crate::payload::MAX_FILE >> 20
            ))
            .coded(
                "file-too-large",
                &[
                    ("name", name.clone()),
                    ("limit", (crate::payload::MAX_FILE >> 20).to_string()),
                ],
            ));
        }
    }
    Ok(())
}

/// Submit evidence for an enrollment: a narrative and/or files.
pub fn submit_evidence(
    node: &Node,
    actor: &Actor,
    enrollment: &str,
    narrative: Option<&str>,
    uploads: &[Upload],
) -> Result<Evidence> {
    let (doc, rec) = learner_of(node, enrollment)?;
    let enr = rec.enrollments.get(enrollment.trim()).ok_or_else(|| {
        Error::not_found(format!(
            "no enrollment {} here",
            text::printable(enrollment)
        ))
    })?;
    if enr.status == EnrollmentState::Completed {
        return Err(
            Error::rule("this achievement is already awarded; no more evidence is needed")
                .coded("already-awarded", &[]),
        );
    }
    let sizes: Vec<(String, u64)> = uploads
        .iter()
        .map(|u| (u.name.clone(), u.data.len() as u64))
        .collect();
    check_submission(narrative, &sizes)?;
    let mut refs = Vec::new();
    for u in uploads {
        let name = files::clean_name(&u.name)?;
        refs.push(files::store(node, actor.user_id(), doc, &name, &u.data)?);
    }
    let evidence = Evidence {
        id: ids::random('V'),
        enrollment: enr.id.clone(),
        narrative: narrative
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string),
        files: refs,
        submitted_by: actor.record_ref(),
        submitted_at: now_rfc3339(),
    };
    node.store.change_doc(
        &node.author(actor.user_id())?,
        doc,
        "submit evidence",
        |tx| learner::put_evidence(tx, &evidence),
    )?;
    Ok(evidence)
}

/// Assess a piece of evidence.
pub fn assess(
    node: &Node,
    actor: &Actor,
    evidence: &str,
    decision: Decision,
    feedback: Option<&str>,
) -> Result<Assessment> {
    let evidence = evidence.trim();
    let (doc, rec) = learner_of(node, evidence)?;
    let ev = rec.evidence.get(evidence).ok_or_else(|| {
        Error::rule(format!(
            "{} has not been submitted; nothing can be assessed before it is",
            text::printable(evidence)
        ))
    })?;
    if let Some(prior) = rec.assessments_of(evidence).first() {
        return Err(Error::duplicate(format!(
            "{evidence} was already assessed ({}, {}); if that is wrong, the hub can reconcile it",
            match prior.decision {
                Decision::Proficient => "proficient",
                Decision::NotYet => "not yet",
            },
            prior.id,
        ))
        .coded("already-assessed", &[]));
    }
    if rec
        .enrollments
        .get(&ev.enrollment)
        .is_some_and(|e| e.status == EnrollmentState::Completed)
    {
        return Err(
            Error::rule("this achievement is already awarded").coded("already-awarded", &[])
        );
    }
    let feedback = feedback.map(str::trim).filter(|f| !f.is_empty());
    if let Some(f) = feedback {
        text::check_paragraphs(crate::domain::text::Field::Feedback, f, MAX_TEXT)?;
    }
    let assessment = Assessment {
        id: ids::random('S'),
        evidence: evidence.to_string(),
        enrollment: ev.enrollment.clone(),
        decision,
        feedback: feedback.map(str::to_string),
        assessor: actor.record_ref(),
        assessed_at: now_rfc3339(),
    };
    node.store
        .change_doc(&node.author(actor.user_id())?, doc, "assess", |tx| {
            learner::put_assessment(tx, &assessment)
        })?;
    Ok(assessment)
}

/// Award the achievement of an enrollment. Needs a proficient assessment; awards the pathway
/// micro-credential too when this was its last part, and a recognition credential for each
/// recognition of what was awarded. Every award carries its credential, signed here and now.
pub fn award(node: &Node, actor: &Actor, enrollment: &str) -> Result<Vec<Award>> {
    let enrollment = enrollment.trim();
    let (doc, rec) = learner_of(node, enrollment)?;
    let enr = rec.enrollments.get(enrollment).ok_or_else(|| {
        Error::not_found(format!(
            "no enrollment {} here",
            text::printable(enrollment)
        ))
    })?;
    let achievement = enr.achievement.clone();
    let award_id = ids::derived('A', &[&doc.0, achievement.as_bytes()]);
    if rec.awards.contains_key(&award_id) {
        return Err(
            Error::duplicate(format!("{achievement} was already awarded ({award_id})"))
                .coded("already-awarded", &[]),
        );
    }
    let mut proficient: Vec<&Assessment> = rec
        .assessments
        .values()
        .filter(|a| a.enrollment == enrollment && a.decision == Decision::Proficient)
        .collect();
    proficient.sort_by(|a, b| a.assessed_at.cmp(&b.assessed_at));
    let Some(assessment) = proficient.first() else {
        return Err(Error::rule(format!(
            "no award without a proficient assessment: {enrollment} has none yet"
        ))
        .coded("award-needs-proficient", &[]));
    };
    let catalog = catalog::read(node)?;
    let a = catalog
        .achievements
        .get(&achievement)
        .ok_or_else(|| Error::not_found(format!("{achievement} is no longer in the catalog")))?;
    let now = now_rfc3339();
    let config = node.config().clone();
    let issuer = AwardIssuer {
        user: actor.record_ref(),
        node: node.id().to_string(),
        organization: config
            .institution
            .clone()
            .unwrap_or_else(|| config.name.clone()),
    };
    let made = |id: String, kind: AwardKind, name: String| Award {
        id,
        kind,
        name,
        issuer: issuer.clone(),
        awarded_at: now.clone(),
        credential: None,
    };
    let mut awards = vec![made(
        award_id.clone(),
        AwardKind::Achievement {
            achievement: achievement.clone(),
            level: a.level,
            enrollment: enrollment.to_string(),
            evidence: proficient.iter().map(|p| p.evidence.clone()).collect(),
            assessment: Some(assessment.id.clone()),
        },
        a.name.clone(),
    )];
    // Pathways completed by this award.
    for p in catalog.pathways_with(&achievement) {
        let pid = ids::derived('A', &[&doc.0, p.id.as_bytes()]);
        let earned = |part: &String| part == &achievement || rec.has_award_for(part);
        if rec.awards.contains_key(&pid) || !p.parts.iter().all(earned) {
            continue;
        }
        let parts = p
            .parts
            .iter()
            .map(|part| ids::derived('A', &[&doc.0, part.as_bytes()]))
            .collect();
        awards.push(made(
            pid,
            AwardKind::Pathway {
                pathway: p.id.clone(),
                parts,
            },
            p.name.clone(),
        ));
    }
    // What the awards so far count for elsewhere.
    let recognized: Vec<(String, String)> = awards
        .iter()
        .map(|w| (w.id.clone(), w.catalog_id().to_string()))
        .collect();
    for (recognized_award, target) in recognized {
        for r in catalog.recognitions_of(&target) {
            let rid = ids::derived('A', &[&doc.0, r.id.as_bytes()]);
            if rec.awards.contains_key(&rid) {
                continue;
            }
            awards.push(made(
                rid,
                AwardKind::Recognition {
                    recognition: r.id.clone(),
                    recognizes: recognized_award.clone(),
                },
                r.description.clone(),
            ));
        }
    }
    for w in awards.iter_mut() {
        let credential = super::credentials::issue(node, w, &rec, &catalog)?;
        w.credential = Some(credential.to_string());
    }
    node.store
        .change_doc(&node.author(actor.user_id())?, doc, "award", |tx| {
            for w in &awards {
                learner::put_award(tx, w)?;
            }
            learner::complete_enrollment(tx, enrollment)
        })?;
    Ok(awards)
}

/// An outcome as a person reports it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OutcomeReport {
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

/// Record an outcome for a learner.
pub fn add_outcome(
    node: &Node,
    actor: &Actor,
    learner: &str,
    report: &OutcomeReport,
) -> Result<Outcome> {
    let doc = learners::find(node, learner)?;
    let rec = learners::record(node, &doc)?;
    learners::require_home(node, &rec)?;
    if let Some(d) = &report.date {
        learners::parse_date(d)?;
    }
    text::check_optional_line(
        crate::domain::text::Field::Detail,
        report.detail.as_deref(),
        500,
    )?;
    if let Some(d) = &report.degree
        && !matches!(
            d.as_str(),
            "AS" | "AA" | "AAS" | "BS" | "BA" | "MS" | "MA" | "other"
        )
    {
        return Err(Error::invalid(
            "the degree is one of AS, AA, AAS, BS, BA, MS, MA, other",
        ));
    }
    let outcome = Outcome {
        id: ids::random('O'),
        kind: report.kind,
        detail: report.detail.clone(),
        date: report.date.clone(),
        credits_transferred: report.credits_transferred,
        degree: report.degree.clone(),
        recorded_by: actor.record_ref(),
        recorded_at: now_rfc3339(),
    };
    node.store.change_doc(
        &node.author(actor.user_id())?,
        doc,
        "record outcome",
        |tx| learner::put_outcome(tx, &outcome),
    )?;
    Ok(outcome)
}
