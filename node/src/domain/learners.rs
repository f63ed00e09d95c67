//! Learners: one document per learner, holding the profile (the Digital Promise student-level
//! codebook fields), enrollments, evidence, assessments, awards and outcomes.

use super::am;
use super::ids;
use super::people::{Actor, Role};
use super::text;
use crate::error::{Error, Result};
use crate::node::Node;
use automerge::{Prop, ROOT};
use cairn_sync_protocol::DocId;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

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
    /// The institution's own identifier, if it chooses to record it (used to spot duplicates).
    #[serde(default)]
    pub institution_id: Option<String>,
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
    /// Check the fields a person typed.
    pub fn validate(&self) -> Result<()> {
        let number = self.number.trim();
        if number.is_empty()
            || number.len() > 32
            || !number
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(Error::invalid(
                "a learner number has 1 to 32 letters, digits, dashes or underscores",
            ));
        }
        text::check_line("given name", &self.given_name, 100)?;
        text::check_line("family name", &self.family_name, 100)?;
        text::check_optional_line("institution", self.institution.as_deref(), 200)?;
        text::check_optional_line("institution's id", self.institution_id.as_deref(), 64)?;
        text::check_optional_line("primary language", self.primary_language.as_deref(), 64)?;
        text::check_optional_line(
            "socioeconomic status determination",
            self.ses_determination.as_deref(),
            200,
        )?;
        if let Some(y) = self.year_of_birth
            && !(1900..=2100).contains(&y)
        {
            return Err(Error::invalid(format!(
                "{y} is not a plausible year of birth"
            )));
        }
        if let Some(d) = &self.first_enrollment {
            parse_date(d)?;
        }
        if let Some(l) = &self.interface_language
            && !matches!(l.as_str(), "en" | "es")
        {
            return Err(Error::invalid("the interface language is en or es"));
        }
        Ok(())
    }

    /// "Given Family".
    pub fn full_name(&self) -> String {
        format!("{} {}", self.given_name, self.family_name)
    }
}

/// Check a YYYY-MM-DD date.
pub fn parse_date(s: &str) -> Result<time::Date> {
    time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|_| Error::invalid(format!("{s} is not a date in the form YYYY-MM-DD")))
}

/// Register a learner homed at this node. Needs an admin.
pub fn add(
    node: &Node,
    actor: &Actor,
    profile: Profile,
    pin: Option<&str>,
) -> Result<(DocId, String)> {
    actor.require(&[Role::Admin], "registering a learner")?;
    profile.validate()?;
    if let Some(pin) = pin {
        super::people::check_learner_pin(pin)?;
    }
    if let Ok(existing) = find(node, &profile.number) {
        return Err(Error::duplicate(format!(
            "learner number {} is already used by {}",
            profile.number,
            ids::learner_id(&existing)
        )));
    }
    let doc = ids::new_doc();
    let id = ids::learner_id(&doc);
    let home = node.id().to_string();
    let value =
        serde_json::to_value(&profile).map_err(|e| Error::storage("encoding a profile", e))?;
    node.store.change_doc(
        &node.author(actor.user_id())?,
        doc,
        "register learner",
        |tx| {
            am::write(tx, &ROOT, Prop::Map("type".into()), &json!("learner"))?;
            am::write(tx, &ROOT, Prop::Map("id".into()), &json!(id))?;
            am::write(tx, &ROOT, Prop::Map("home_site".into()), &json!(home))?;
            am::write(tx, &ROOT, Prop::Map("profile".into()), &value)?;
            for section in [
                "enrollments",
                "evidence",
                "assessments",
                "awards",
                "outcomes",
            ] {
                am::ensure_map(tx, &ROOT, section)?;
            }
            Ok(())
        },
    )?;
    if let Some(pin) = pin {
        node.store
            .set_secret(&doc.0, &super::people::hash_secret(pin)?)?;
    }
    Ok((doc, id))
}

/// Find a learner by `L-` id or learner number.
pub fn find(node: &Node, id_or_number: &str) -> Result<DocId> {
    let key = id_or_number.trim();
    // An `L-` id first; a learner number may look like one (`L-12`), so fall back to numbers.
    if key.starts_with("L-")
        && let Some(v) = node.store.index_get(format!("id/{key}").as_bytes())?
        && let Ok(doc) = <[u8; 16]>::try_from(v.as_slice())
    {
        return Ok(DocId(doc));
    }
    let matches = node.store.index_scan(format!("num/{key}\0").as_bytes())?;
    let docs: Vec<DocId> = matches
        .into_iter()
        .filter_map(|(_, v)| <[u8; 16]>::try_from(v.as_slice()).ok().map(DocId))
        .collect();
    match docs.as_slice() {
        [one] => Ok(*one),
        [] => Err(Error::not_found(format!(
            "no learner with number {key} here"
        ))),
        many => Err(Error::invalid(format!(
            "learner number {key} is used by {} learners ({}); use the L- id",
            many.len(),
            many.iter()
                .map(ids::learner_id)
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The document holding a record id (`E-`, `V-`, `S-`, `A-`, `O-`, `L-`).
pub fn doc_of(node: &Node, record: &str) -> Result<DocId> {
    match node
        .store
        .index_get(format!("id/{}", record.trim()).as_bytes())?
    {
        Some(v) if v.len() == 16 => Ok(DocId(v.try_into().unwrap_or_default())),
        _ => Err(Error::not_found(format!(
            "no record {} here",
            record.trim()
        ))),
    }
}

/// The whole learner document as JSON.
pub fn document(node: &Node, doc: &DocId) -> Result<Json> {
    let am = node
        .store
        .doc(doc)?
        .ok_or_else(|| Error::not_found(format!("no learner {} here", ids::learner_id(doc))))?;
    Ok(am::read(&am, &ROOT))
}

/// The learner's profile as JSON, if the document exists.
pub fn profile(node: &Node, doc: &DocId) -> Result<Option<Json>> {
    Ok(node
        .store
        .doc(doc)?
        .and_then(|am| am::read_path(&am, &["profile"])))
}

/// Show a learner's record. A learner may see only their own; staff see learners at their node.
pub fn show(node: &Node, actor: &Actor, id_or_number: &str) -> Result<Json> {
    let doc = find(node, id_or_number)?;
    match actor {
        Actor::Learner { doc: own, .. } if *own != doc => {
            return Err(Error::unauthorized(
                "a learner can see only their own record",
            ));
        }
        Actor::Learner { .. } => {}
        Actor::Staff(_) => actor.require(
            &[Role::Admin, Role::Assessor, Role::Issuer, Role::Developer],
            "viewing a learner",
        )?,
        Actor::Nobody => actor.require(
            &[Role::Admin, Role::Assessor, Role::Issuer],
            "viewing a learner",
        )?,
    }
    document(node, &doc)
}

/// Summaries of every learner this node holds (staff only).
pub fn list(node: &Node, actor: &Actor) -> Result<Vec<Json>> {
    actor.require(
        &[Role::Admin, Role::Assessor, Role::Issuer, Role::Developer],
        "listing learners",
    )?;
    let mut out: Vec<Json> = node
        .store
        .index_scan(b"learner/")?
        .into_iter()
        .filter_map(|(_, v)| serde_json::from_slice(&v).ok())
        .collect();
    out.sort_by(|a, b| a["number"].as_str().cmp(&b["number"].as_str()));
    Ok(out)
}

/// Move a learner's record to another site (hub, admin). The hub records the new home in the
/// document and files a transfer record carrying the document, so the new site gets the whole
/// history in one signed entry and the old site stops receiving the learner.
pub fn transfer(node: &Node, actor: &Actor, learner: &str, to_site: &str) -> Result<Json> {
    if !node.is_hub() {
        return Err(Error::Usage(
            "only the hub transfers learners between sites".into(),
        ));
    }
    actor.require(&[Role::Admin], "transferring a learner")?;
    let doc = find(node, learner)?;
    let to: cairn_sync_protocol::NodeId = to_site
        .parse()
        .map_err(|e| Error::invalid(format!("`{to_site}` is not a node id: {e}")))?;
    match node.store.site_record(&to)? {
        Some(r) if r.revoked.is_none() => {}
        Some(_) => return Err(Error::rule("that site is revoked")),
        None => return Err(Error::not_found("that site was never admitted")),
    }
    let am = node
        .store
        .doc(&doc)?
        .ok_or_else(|| Error::not_found("no such learner"))?;
    let from_text = am::read_path(&am, &["home_site"]).and_then(|v| v.as_str().map(str::to_string));
    if from_text.as_deref() == Some(to_site.trim()) || from_text.as_deref() == Some(&to.to_string())
    {
        return Err(Error::duplicate("the learner already lives at that site"));
    }
    let from = from_text.as_deref().and_then(|t| t.parse().ok());
    let author = node.author(actor.user_id())?;
    node.store
        .change_doc(&author, doc, "transfer learner", |tx| {
            am::write(
                tx,
                &ROOT,
                Prop::Map("home_site".into()),
                &json!(to.to_string()),
            )
        })?;
    let mut snapshot = node.store.doc(&doc)?.map(|d| d.save()).unwrap_or_default();
    if snapshot.len() > cairn_sync_protocol::limits::MAX_PAYLOAD - 4096 {
        // The new site still receives every entry of the learner's document; the snapshot is
        // only a shortcut.
        snapshot.clear();
    }
    let record = crate::payload::ControlRecord::LearnerTransferred {
        learner: doc,
        from,
        to,
        snapshot,
    };
    node.store.author_entry(
        &author,
        doc,
        cairn_sync_protocol::BodyKind::Control,
        crate::payload::encode(&record)?,
    )?;
    Ok(json!({"learner": ids::learner_id(&doc), "from": from_text, "to": to.to_string()}))
}

/// Profile fields staff may correct after registration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ProfileChanges {
    /// Given name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// Family name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// Primary language.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_language: Option<String>,
    /// Kiosk language.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface_language: Option<String>,
}

/// Correct profile fields (each written on its own, so concurrent corrections of different
/// fields merge) and optionally reset the learner's PIN. Needs an admin; at a site, only for
/// learners homed there.
pub fn edit(
    node: &Node,
    actor: &Actor,
    id_or_number: &str,
    changes: &ProfileChanges,
    pin: Option<&str>,
) -> Result<Json> {
    actor.require(&[Role::Admin], "correcting a learner's record")?;
    let doc = find(node, id_or_number)?;
    let am = node
        .store
        .doc(&doc)?
        .ok_or_else(|| Error::not_found("no such learner"))?;
    if !node.is_hub()
        && am::read_path(&am, &["home_site"]).and_then(|v| v.as_str().map(str::to_string))
            != Some(node.id().to_string())
    {
        return Err(Error::unauthorized(
            "this learner's record lives at another site",
        ));
    }
    let mut profile: Profile = am::read_path(&am, &["profile"])
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    if let Some(v) = &changes.given_name {
        profile.given_name = v.clone();
    }
    if let Some(v) = &changes.family_name {
        profile.family_name = v.clone();
    }
    if let Some(v) = &changes.primary_language {
        profile.primary_language = Some(v.clone());
    }
    if let Some(v) = &changes.interface_language {
        profile.interface_language = Some(v.clone());
    }
    profile.validate()?;
    if let Some(pin) = pin {
        super::people::check_learner_pin(pin)?;
    }
    let fields = serde_json::to_value(changes).map_err(|e| Error::storage("encoding", e))?;
    if fields.as_object().is_some_and(|m| !m.is_empty()) {
        node.store
            .change_doc(&node.author(actor.user_id())?, doc, "edit profile", |tx| {
                am::write(tx, &ROOT, Prop::Map("profile".into()), &fields)
            })?;
    }
    if let Some(pin) = pin {
        node.store
            .set_secret(&doc.0, &super::people::hash_secret(pin)?)?;
    }
    Ok(json!({"id": ids::learner_id(&doc), "changed": fields, "pin_reset": pin.is_some()}))
}
