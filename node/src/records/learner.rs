//! A learner's document: the profile (the Digital Promise student-level codebook fields) and
//! everything recorded about their learning, each section a map from record id to record.
//!
//! ```text
//! type: "learner", id: "L-…", home_site: NODE ID, merged_into: "L-…"?
//! profile:      Profile
//! enrollments:  { "E-…": Enrollment }   (attempts is an automerge counter)
//! evidence:     { "V-…": Evidence }
//! assessments:  { "S-…": Assessment }
//! awards:       { "A-…": Award }
//! outcomes:     { "O-…": Outcome }
//! resolutions:  { "R-…": Resolution }   (the hub operator's signed decisions)
//! ```

use super::ActorRef;
use super::am;
use crate::error::{Error, Result};
use automerge::transaction::Transactable;
use automerge::{Automerge, ObjId, Prop, ROOT, ReadDoc, ScalarValue};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;

/// Gender as the codebook records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Gender {
    /// Female.
    Female,
    /// Male.
    Male,
    /// Other.
    Other,
}

/// Federal race and ethnicity categories (several may apply).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum RaceEthnicity {
    /// American Indian or Alaska Native.
    AmericanIndianAlaskaNative,
    /// Asian.
    Asian,
    /// Black or African American.
    BlackAfricanAmerican,
    /// Hispanic or Latino.
    HispanicLatino,
    /// Middle Eastern or North African.
    MiddleEasternNorthAfrican,
    /// Native Hawaiian or Other Pacific Islander.
    NativeHawaiianPacificIslander,
    /// White.
    White,
}

impl RaceEthnicity {
    /// Whether this category counts toward the BIPOC rate in outcome reports.
    pub fn is_bipoc(self) -> bool {
        self != RaceEthnicity::White
    }
}

/// Current enrollment status as the codebook records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum EnrollmentStatus {
    /// Full-time.
    FullTime,
    /// Part-time.
    PartTime,
    /// Short-term training.
    ShortTermTraining,
    /// Self-paced.
    SelfPaced,
    /// Other.
    Other,
}

/// A learner's profile: the codebook's student-level fields.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// The number the learner signs in with (unique at their site).
    pub number: String,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// Institution.
    #[serde(default)]
    pub institution: Option<String>,
    /// The institution's own identifier, if it chooses to record it (used to spot duplicates;
    /// a credential carries it hashed, as `sisSourcedId`, when the program chooses).
    #[serde(default)]
    pub institution_id: Option<String>,
    /// An email address, if the learner has one (a credential carries it hashed, as
    /// `emailAddress`, when the program chooses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Year of birth.
    #[serde(default)]
    pub year_of_birth: Option<i64>,
    /// Gender.
    #[serde(default)]
    pub gender: Option<Gender>,
    /// Race/ethnicity categories.
    #[serde(default)]
    pub race_ethnicity: Vec<RaceEthnicity>,
    /// Primary language.
    #[serde(default)]
    pub primary_language: Option<String>,
    /// Pell eligible (yes/no), if known.
    #[serde(default)]
    pub pell_eligible: Option<bool>,
    /// How socioeconomic status was determined, when not by Pell eligibility.
    #[serde(default)]
    pub ses_determination: Option<String>,
    /// Current enrollment status.
    #[serde(default)]
    pub enrollment_status: Option<EnrollmentStatus>,
    /// First-generation college student.
    #[serde(default)]
    pub first_generation: Option<bool>,
    /// Date of first enrollment (YYYY-MM-DD).
    #[serde(default)]
    pub first_enrollment: Option<String>,
    /// Language for the kiosk interface (`en` or `es`).
    #[serde(default)]
    pub interface_language: Option<String>,
}

impl Profile {
    /// "Given Family".
    pub fn full_name(&self) -> String {
        format!("{} {}", self.given_name.trim(), self.family_name.trim())
    }

    /// Impacted by poverty: Pell eligible, or another determination recorded.
    pub fn poverty(&self) -> bool {
        self.pell_eligible == Some(true)
            || self
                .ses_determination
                .as_deref()
                .is_some_and(|s| !s.trim().is_empty())
    }

    /// Identifies as BIPOC (any category but White).
    pub fn bipoc(&self) -> bool {
        self.race_ethnicity.iter().any(|r| r.is_bipoc())
    }
}

/// Where an enrollment stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EnrollmentState {
    /// Working toward the achievement.
    #[default]
    Enrolled,
    /// Awarded.
    Completed,
}

/// A learner enrolled in one achievement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrollment {
    /// `E-…`, derived from the learner and the achievement (two sites enrolling converge).
    pub id: String,
    /// The achievement's catalog id.
    pub achievement: String,
    /// Enrolled or completed.
    #[serde(default)]
    pub status: EnrollmentState,
    /// Attempted before (codebook: previously attempted).
    #[serde(default)]
    pub previously_attempted: bool,
    /// Assessments so far (a counter: attempts assessed at two places add up).
    #[serde(default)]
    pub attempts: i64,
    /// When.
    #[serde(default)]
    pub enrolled_at: String,
    /// By whom.
    #[serde(default)]
    pub enrolled_by: Option<ActorRef>,
}

/// A file of evidence, by content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRef {
    /// SHA-256 of the content, hex.
    pub sha256: String,
    /// The file's name as submitted (no folders).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Media type.
    pub media_type: String,
}

/// One submission of evidence for an enrollment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// `V-…`.
    pub id: String,
    /// The enrollment it is for.
    pub enrollment: String,
    /// What the learner did, in their words.
    #[serde(default)]
    pub narrative: Option<String>,
    /// Files.
    #[serde(default)]
    pub files: Vec<FileRef>,
    /// By whom (the learner, or an admin on their behalf).
    #[serde(default)]
    pub submitted_by: Option<ActorRef>,
    /// When.
    #[serde(default)]
    pub submitted_at: String,
}

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

/// An assessment of one piece of evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    /// `S-…`.
    pub id: String,
    /// The evidence assessed.
    pub evidence: String,
    /// Its enrollment.
    pub enrollment: String,
    /// Proficient or not yet.
    pub decision: Decision,
    /// For the learner.
    #[serde(default)]
    pub feedback: Option<String>,
    /// By whom.
    #[serde(default)]
    pub assessor: Option<ActorRef>,
    /// When.
    #[serde(default)]
    pub assessed_at: String,
}

/// The node and person that awarded.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwardIssuer {
    /// The person.
    #[serde(default)]
    pub user: Option<ActorRef>,
    /// The awarding node's id.
    #[serde(default)]
    pub node: String,
    /// The organization named at the time.
    #[serde(default)]
    pub organization: String,
}

/// What an award is for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum AwardKind {
    /// One badge.
    Achievement {
        /// Its catalog id.
        achievement: String,
        /// Its level, if it has one.
        #[serde(default)]
        level: Option<i64>,
        /// The enrollment completed.
        #[serde(default)]
        enrollment: String,
        /// The evidence found proficient.
        #[serde(default)]
        evidence: Vec<String>,
        /// The assessment relied on.
        #[serde(default)]
        assessment: Option<String>,
    },
    /// A pathway's micro-credential, earned with its last part.
    Pathway {
        /// Its catalog id.
        pathway: String,
        /// The awards of its parts (`A-…`), in the pathway's order.
        #[serde(default)]
        parts: Vec<String>,
    },
    /// A recognition (what an earned achievement or pathway counts for elsewhere).
    Recognition {
        /// Its catalog id.
        recognition: String,
        /// The award it recognizes (`A-…`).
        #[serde(default)]
        recognizes: String,
    },
}

/// An award, with the signed credentials of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Award {
    /// `A-…`, derived from the learner and what is awarded (one award wherever issued).
    pub id: String,
    /// What it is for.
    #[serde(flatten)]
    pub kind: AwardKind,
    /// Its name at the time.
    pub name: String,
    /// Who awarded.
    #[serde(default)]
    pub issuer: AwardIssuer,
    /// When.
    #[serde(default)]
    pub awarded_at: String,
    /// The Open Badges credential as signed text, signed by the node that awarded (a site's
    /// key, endorsed by the program, or the hub's own).
    #[serde(default)]
    pub credential: Option<String>,
    /// The program-signed copy: the same award signed by the hub as the program (issuer = the
    /// hub's did:key), made when the award reached the hub. It names no site, not even by key;
    /// exports and certificates prefer it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program_credential: Option<String>,
}

impl Award {
    /// The copy to hand out: the program-signed one when the hub has made it, else the one
    /// signed where it was awarded.
    pub fn preferred_credential(&self) -> Option<&str> {
        self.program_credential
            .as_deref()
            .or(self.credential.as_deref())
    }

    /// The catalog id of what was awarded (an achievement, pathway or recognition).
    pub fn catalog_id(&self) -> &str {
        match &self.kind {
            AwardKind::Achievement { achievement, .. } => achievement,
            AwardKind::Pathway { pathway, .. } => pathway,
            AwardKind::Recognition { recognition, .. } => recognition,
        }
    }
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

/// Something that happened after a credential.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// `O-…`.
    pub id: String,
    /// What.
    pub kind: OutcomeKind,
    /// Details in words.
    #[serde(default)]
    pub detail: Option<String>,
    /// When, YYYY-MM-DD.
    #[serde(default)]
    pub date: Option<String>,
    /// For further study: were credits transferred?
    #[serde(default)]
    pub credits_transferred: Option<bool>,
    /// For a degree program: which degree.
    #[serde(default)]
    pub degree: Option<String>,
    /// By whom.
    #[serde(default)]
    pub recorded_by: Option<ActorRef>,
    /// When recorded.
    #[serde(default)]
    pub recorded_at: String,
}

/// What a hub operator's resolution settled.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Settled {
    /// Two records are one person.
    Merge {
        /// The record kept.
        kept: String,
        /// The duplicate merged into it.
        duplicate: String,
    },
    /// One of a field's concurrent values (or a new one) was chosen.
    PickValue {
        /// The field, as a dotted path (`profile.primary_language`).
        path: String,
        /// The value kept.
        value: Json,
    },
    /// One of several concurrent assessments of a piece of evidence was accepted.
    AcceptAssessment {
        /// The evidence.
        evidence: String,
        /// The assessment accepted.
        assessment: String,
        /// Its decision.
        decision: Decision,
    },
}

/// A signed decision of the hub operator, kept in the learner's record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Resolution {
    /// `R-…`.
    pub id: String,
    /// What it settled.
    #[serde(flatten)]
    pub settled: Settled,
    /// By whom.
    #[serde(default)]
    pub by: Option<ActorRef>,
    /// When.
    #[serde(default)]
    pub at: String,
}

/// A learner's whole record.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LearnerRecord {
    /// `L-…`.
    pub id: String,
    /// The site the record lives at (node id text).
    pub home_site: String,
    /// The record this one was merged into as a duplicate, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<String>,
    /// Who the learner is.
    pub profile: Profile,
    /// By `E-` id.
    pub enrollments: BTreeMap<String, Enrollment>,
    /// By `V-` id.
    pub evidence: BTreeMap<String, Evidence>,
    /// By `S-` id.
    pub assessments: BTreeMap<String, Assessment>,
    /// By `A-` id.
    pub awards: BTreeMap<String, Award>,
    /// By `O-` id.
    pub outcomes: BTreeMap<String, Outcome>,
    /// By `R-` id.
    pub resolutions: BTreeMap<String, Resolution>,
    /// Records that could not be read (`section/id: why`): written by a peer in a shape this
    /// version does not understand. Kept in the document; listed by `cairn check`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<String>,
}

/// The sections of a learner document, in order.
pub const SECTIONS: [&str; 6] = [
    "enrollments",
    "evidence",
    "assessments",
    "awards",
    "outcomes",
    "resolutions",
];

fn section<T: DeserializeOwned>(
    doc: &Json,
    name: &str,
    unreadable: &mut Vec<String>,
) -> BTreeMap<String, T> {
    let mut out = BTreeMap::new();
    for (id, v) in doc[name].as_object().into_iter().flatten() {
        match serde_json::from_value(v.clone()) {
            Ok(x) => {
                out.insert(id.clone(), x);
            }
            Err(e) => unreadable.push(format!("{name}/{id}: {e}")),
        }
    }
    out
}

impl LearnerRecord {
    /// Read a learner document (tolerantly: see the module documentation). `None` when the
    /// document is not a learner's.
    pub fn read(am: &Automerge) -> Option<LearnerRecord> {
        let doc = am::read(am, &ROOT);
        if doc["type"] != "learner" {
            return None;
        }
        let mut unreadable = Vec::new();
        let profile = match serde_json::from_value(doc["profile"].clone()) {
            Ok(p) => p,
            Err(e) => {
                unreadable.push(format!("profile: {e}"));
                Profile::default()
            }
        };
        let text = |k: &str| doc[k].as_str().unwrap_or_default().to_string();
        Some(LearnerRecord {
            id: text("id"),
            home_site: text("home_site"),
            merged_into: doc["merged_into"].as_str().map(str::to_string),
            profile,
            enrollments: section(&doc, "enrollments", &mut unreadable),
            evidence: section(&doc, "evidence", &mut unreadable),
            assessments: section(&doc, "assessments", &mut unreadable),
            awards: section(&doc, "awards", &mut unreadable),
            outcomes: section(&doc, "outcomes", &mut unreadable),
            resolutions: section(&doc, "resolutions", &mut unreadable),
            unreadable,
        })
    }

    /// The enrollment in an achievement, if any.
    pub fn enrollment_in(&self, achievement: &str) -> Option<&Enrollment> {
        self.enrollments
            .values()
            .find(|e| e.achievement == achievement)
    }

    /// Evidence submitted for an enrollment, oldest first.
    pub fn evidence_for(&self, enrollment: &str) -> Vec<&Evidence> {
        let mut v: Vec<&Evidence> = self
            .evidence
            .values()
            .filter(|e| e.enrollment == enrollment)
            .collect();
        v.sort_by(|a, b| a.submitted_at.cmp(&b.submitted_at));
        v
    }

    /// Assessments of a piece of evidence.
    pub fn assessments_of(&self, evidence: &str) -> Vec<&Assessment> {
        self.assessments
            .values()
            .filter(|a| a.evidence == evidence)
            .collect()
    }

    /// The latest assessment of an enrollment's evidence, if any (by time recorded).
    pub fn latest_assessment(&self, enrollment: &str) -> Option<&Assessment> {
        self.assessments
            .values()
            .filter(|a| a.enrollment == enrollment)
            .max_by(|a, b| a.assessed_at.cmp(&b.assessed_at))
    }

    /// Whether an achievement, pathway or recognition was awarded.
    pub fn has_award_for(&self, catalog_id: &str) -> bool {
        self.awards.values().any(|a| a.catalog_id() == catalog_id)
    }

    /// Evidence of this learner's enrollments that has no assessment yet and whose enrollment is
    /// still open: the assessor's queue.
    pub fn awaiting_assessment(&self) -> Vec<&Evidence> {
        self.evidence
            .values()
            .filter(|v| self.assessments_of(&v.id).is_empty())
            .filter(|v| {
                self.enrollments
                    .get(&v.enrollment)
                    .is_some_and(|e| e.status == EnrollmentState::Enrolled)
            })
            .collect()
    }
}

fn encode<T: Serialize>(value: &T) -> Result<Json> {
    serde_json::to_value(value).map_err(|e| Error::storage("encoding a record", e))
}

fn put<T: Transactable + ReadDoc, R: Serialize>(
    tx: &mut T,
    section: &str,
    id: &str,
    record: &R,
) -> Result<ObjId> {
    let map = am::ensure_map(tx, &ROOT, section)?;
    am::write(tx, &map, Prop::Map(id.to_string()), &encode(record)?)?;
    am::ensure_map(tx, &map, id)
}

/// Start a learner's document.
pub fn create<T: Transactable + ReadDoc>(
    tx: &mut T,
    id: &str,
    home_site: &str,
    profile: &Profile,
) -> Result<()> {
    am::write(tx, &ROOT, Prop::Map("type".into()), &json!("learner"))?;
    am::write(tx, &ROOT, Prop::Map("id".into()), &json!(id))?;
    am::write(tx, &ROOT, Prop::Map("home_site".into()), &json!(home_site))?;
    am::write(tx, &ROOT, Prop::Map("profile".into()), &encode(profile)?)?;
    for section in SECTIONS {
        am::ensure_map(tx, &ROOT, section)?;
    }
    Ok(())
}

/// Write some profile fields (each on its own, so concurrent corrections of different fields
/// merge). `fields` is a JSON object of the fields to set, as [`Profile`] names them.
pub fn put_profile_fields<T: Transactable + ReadDoc>(tx: &mut T, fields: &Json) -> Result<()> {
    am::write(tx, &ROOT, Prop::Map("profile".into()), fields)
}

/// Record where the learner now lives.
pub fn set_home_site<T: Transactable + ReadDoc>(tx: &mut T, home: &str) -> Result<()> {
    am::write(tx, &ROOT, Prop::Map("home_site".into()), &json!(home))
}

/// Mark the record as a duplicate merged into `kept`.
pub fn set_merged_into<T: Transactable + ReadDoc>(tx: &mut T, kept: &str) -> Result<()> {
    am::write(tx, &ROOT, Prop::Map("merged_into".into()), &json!(kept))
}

fn am_err(e: automerge::AutomergeError) -> Error {
    Error::storage("document update failed", e)
}

/// Add an enrollment; its attempts start as a counter at zero.
pub fn put_enrollment<T: Transactable + ReadDoc>(tx: &mut T, e: &Enrollment) -> Result<()> {
    let mut fields = encode(e)?;
    if let Some(m) = fields.as_object_mut() {
        m.remove("attempts");
    }
    let map = am::ensure_map(tx, &ROOT, "enrollments")?;
    am::write(tx, &map, Prop::Map(e.id.clone()), &fields)?;
    let enr = am::ensure_map(tx, &map, &e.id)?;
    // A counter, so attempts assessed at two places add up instead of conflicting.
    tx.put(&enr, "attempts", ScalarValue::counter(e.attempts))
        .map_err(am_err)
}

/// Mark an enrollment completed.
pub fn complete_enrollment<T: Transactable + ReadDoc>(tx: &mut T, enrollment: &str) -> Result<()> {
    let enrs = am::ensure_map(tx, &ROOT, "enrollments")?;
    let e = am::ensure_map(tx, &enrs, enrollment)?;
    am::write(
        tx,
        &e,
        Prop::Map("status".into()),
        &encode(&EnrollmentState::Completed)?,
    )
}

/// Add a submission of evidence.
pub fn put_evidence<T: Transactable + ReadDoc>(tx: &mut T, v: &Evidence) -> Result<()> {
    put(tx, "evidence", &v.id, v).map(|_| ())
}

/// Add an assessment and count the attempt on its enrollment.
pub fn put_assessment<T: Transactable + ReadDoc>(tx: &mut T, a: &Assessment) -> Result<()> {
    put(tx, "assessments", &a.id, a)?;
    let enrs = am::ensure_map(tx, &ROOT, "enrollments")?;
    let enr = am::ensure_map(tx, &enrs, &a.enrollment)?;
    tx.increment(&enr, "attempts", 1)
        .or_else(|_| tx.put(&enr, "attempts", ScalarValue::counter(1)))
        .map_err(am_err)
}

/// Add an award.
pub fn put_award<T: Transactable + ReadDoc>(tx: &mut T, a: &Award) -> Result<()> {
    put(tx, "awards", &a.id, a).map(|_| ())
}

/// Keep the program-signed copy of an award's credential (the hub, once per award).
pub fn put_program_credential<T: Transactable + ReadDoc>(
    tx: &mut T,
    award: &str,
    credential: &str,
) -> Result<()> {
    let awards = am::ensure_map(tx, &ROOT, "awards")?;
    let a = am::ensure_map(tx, &awards, award)?;
    am::write(
        tx,
        &a,
        Prop::Map("program_credential".into()),
        &json!(credential),
    )
}

/// Add an outcome.
pub fn put_outcome<T: Transactable + ReadDoc>(tx: &mut T, o: &Outcome) -> Result<()> {
    put(tx, "outcomes", &o.id, o).map(|_| ())
}

/// Add a resolution.
pub fn put_resolution<T: Transactable + ReadDoc>(tx: &mut T, r: &Resolution) -> Result<()> {
    put(tx, "resolutions", &r.id, r).map(|_| ())
}

/// Write `value` at a dotted path of profile fields (a hub operator picking a value).
pub fn put_at_path<T: Transactable + ReadDoc>(
    tx: &mut T,
    path: &[&str],
    value: &Json,
) -> Result<()> {
    let Some((field, parents)) = path.split_last() else {
        return Err(Error::invalid("an empty field path"));
    };
    let mut obj = ROOT;
    for p in parents {
        obj = am::ensure_map(tx, &obj, p)?;
    }
    am::write(tx, &obj, Prop::Map(field.to_string()), value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the release before typed records wrote, field for field (from a `cairn demo` store).
    fn legacy_document() -> Json {
        json!({
            "type": "learner", "id": "L-PDLZC57FEQCRM", "home_site": "OMYDHE5",
            "profile": {"number": "SMWRC-0001", "given_name": "Maria", "family_name": "Lopez",
                "institution": null, "race_ethnicity": ["hispanic-latino"], "pell_eligible": true,
                "year_of_birth": 1990, "gender": "female", "interface_language": "es"},
            "enrollments": {"E-1": {"id": "E-1", "achievement": "css-level-1", "status": "completed",
                "previously_attempted": false, "attempts": 1, "enrolled_at": "2026-12-01T09:43:20Z",
                "enrolled_by": {"id": "U-5", "name": "ada"}}},
            "evidence": {"V-1": {"id": "V-1", "enrollment": "E-1", "narrative": "Work sample",
                "files": [{"sha256": "3c61", "name": "ticket-log.txt", "size": 87, "media_type": "text/plain"}],
                "submitted_at": "2026-12-01T09:43:20Z", "submitted_by": {"learner": "SMWRC-0001"}}},
            "assessments": {"S-1": {"id": "S-1", "evidence": "V-1", "enrollment": "E-1",
                "decision": "proficient", "feedback": null, "assessor": {"id": "U-5", "name": "ada"},
                "assessed_at": "2026-12-01T09:43:20Z"}},
            "awards": {
                "A-1": {"id": "A-1", "kind": "achievement", "achievement": "css-level-1", "level": 1,
                    "enrollment": "E-1", "evidence": ["V-1"], "assessment": "S-1",
                    "name": "Computer Support Specialist Level 1",
                    "issuer": {"node": "OMYDHE5", "organization": "UMS", "user": {"id": "U-5", "name": "ada"}},
                    "awarded_at": "2026-12-01T09:43:20Z", "credential": "{}"},
                "A-2": {"id": "A-2", "kind": "pathway", "pathway": "css", "parts": ["A-1"],
                    "name": "Computer Support Specialist", "issuer": {"node": "OMYDHE5",
                    "organization": "UMS", "user": null}, "awarded_at": "2026-12-01T09:43:20Z"}},
            "outcomes": {"O-1": {"id": "O-1", "kind": "new-employment", "detail": "Help desk",
                "date": null, "credits_transferred": null, "degree": null,
                "recorded_by": {"id": "U-5", "name": "ada"}, "recorded_at": "2026-12-01T09:43:21Z"}},
            "resolutions": {"R-1": {"id": "R-1", "kind": "merge", "kept": "L-A", "duplicate": "L-B",
                "by": {"id": "U-1", "name": "op"}, "at": "2026-12-01T09:43:21Z"},
                "R-2": {"id": "R-2", "kind": "pick-value", "path": "profile.primary_language",
                "value": "Spanish", "by": null, "at": "x"}},
        })
    }

    fn doc_of(value: &Json) -> Automerge {
        let mut doc = Automerge::new();
        doc.transact(|tx| {
            for (k, v) in value.as_object().unwrap() {
                am::write(tx, &ROOT, Prop::Map(k.clone()), v)?;
            }
            Ok::<_, Error>(())
        })
        .unwrap();
        doc
    }

    #[test]
    fn documents_written_before_typed_records_read_completely() {
        let r = LearnerRecord::read(&doc_of(&legacy_document())).unwrap();
        assert!(r.unreadable.is_empty(), "{:?}", r.unreadable);
        assert_eq!(r.profile.full_name(), "Maria Lopez");
        assert!(r.profile.poverty() && r.profile.bipoc());
        assert_eq!(r.enrollments["E-1"].status, EnrollmentState::Completed);
        assert_eq!(r.evidence["V-1"].files[0].size, 87);
        assert_eq!(r.assessments["S-1"].decision, Decision::Proficient);
        assert!(
            matches!(r.awards["A-2"].kind, AwardKind::Pathway { ref parts, .. } if parts == &["A-1"])
        );
        assert_eq!(r.awards["A-1"].catalog_id(), "css-level-1");
        assert!(matches!(
            r.resolutions["R-1"].settled,
            Settled::Merge { .. }
        ));
        // Serialized back, the record keeps the shape older releases wrote.
        let again = serde_json::to_value(&r).unwrap();
        assert_eq!(again["awards"]["A-1"]["kind"], "achievement");
        assert_eq!(again["awards"]["A-2"]["parts"], json!(["A-1"]));
        assert_eq!(again["resolutions"]["R-2"]["kind"], "pick-value");
    }

    #[test]
    fn a_record_this_version_cannot_read_is_listed_not_dropped() {
        let mut d = legacy_document();
        d["awards"]["A-3"] = json!({"id": "A-3", "kind": "hologram", "name": "?"});
        let r = LearnerRecord::read(&doc_of(&d)).unwrap();
        assert_eq!(r.awards.len(), 2);
        assert_eq!(r.unreadable.len(), 1);
        assert!(r.unreadable[0].starts_with("awards/A-3"));
    }

    #[test]
    fn typed_writes_read_back() {
        let mut doc = Automerge::new();
        let e = Enrollment {
            id: "E-9".into(),
            achievement: "workready".into(),
            status: EnrollmentState::Enrolled,
            previously_attempted: true,
            attempts: 0,
            enrolled_at: "t".into(),
            enrolled_by: Some(ActorRef::staff("U-1", "ada")),
        };
        let a = Assessment {
            id: "S-9".into(),
            evidence: "V-9".into(),
            enrollment: "E-9".into(),
            decision: Decision::NotYet,
            feedback: Some("more detail".into()),
            assessor: None,
            assessed_at: "t".into(),
        };
        doc.transact(|tx| {
            create(tx, "L-9", "SITE", &Profile::default())?;
            put_enrollment(tx, &e)?;
            put_assessment(tx, &a)?;
            put_assessment(tx, &a)?;
            complete_enrollment(tx, "E-9")
        })
        .unwrap();
        let r = LearnerRecord::read(&doc).unwrap();
        assert_eq!(r.enrollments["E-9"].attempts, 2);
        assert_eq!(r.enrollments["E-9"].status, EnrollmentState::Completed);
        assert_eq!(r.assessments["S-9"], a);
    }
}
