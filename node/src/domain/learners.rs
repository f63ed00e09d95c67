//! Learners: finding them, registering them, correcting their records, moving them between
//! sites. One document per learner ([`crate::records::learner`]).

use super::ids;
use super::people::{self, Actor};
use super::text;
use crate::error::{Error, Result};
use crate::node::Node;
pub use crate::records::index::LearnerSummary;
use crate::records::learner;
pub use crate::records::learner::{
    EnrollmentStatus, Gender, LearnerRecord, Profile, RaceEthnicity,
};
use cairn_sync_protocol::DocId;
use serde::{Deserialize, Serialize};

/// Check a profile's fields as a person typed them.
pub fn validate(profile: &Profile) -> Result<()> {
    let number = profile.number.trim();
    if number.is_empty()
        || number.len() > 32
        || !number
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Error::invalid(
            "a learner number has 1 to 32 letters, digits, dashes or underscores",
        )
        .coded("learner-number", &[]));
    }
    text::check_line(
        crate::domain::text::Field::GivenName,
        &profile.given_name,
        100,
    )?;
    text::check_line(
        crate::domain::text::Field::FamilyName,
        &profile.family_name,
        100,
    )?;
    text::check_optional_line(
        crate::domain::text::Field::Institution,
        profile.institution.as_deref(),
        200,
    )?;
    text::check_optional_line(
        crate::domain::text::Field::InstitutionId,
        profile.institution_id.as_deref(),
        64,
    )?;
    text::check_optional_line(
        crate::domain::text::Field::Email,
        profile.email.as_deref(),
        254,
    )?;
    if let Some(e) = profile.email.as_deref().filter(|e| !e.trim().is_empty())
        && (!e.contains('@') || e.contains(char::is_whitespace))
    {
        return Err(
            Error::invalid(format!("`{}` is not an email address", text::printable(e)))
                .coded("email", &[]),
        );
    }
    text::check_optional_line(
        crate::domain::text::Field::PrimaryLanguage,
        profile.primary_language.as_deref(),
        64,
    )?;
    text::check_optional_line(
        crate::domain::text::Field::SesDetermination,
        profile.ses_determination.as_deref(),
        200,
    )?;
    if let Some(y) = profile.year_of_birth
        && !(1900..=2100).contains(&y)
    {
        return Err(
            Error::invalid(format!("{y} is not a plausible year of birth"))
                .coded("year-of-birth", &[]),
        );
    }
    if let Some(d) = &profile.first_enrollment {
        parse_date(d)?;
    }
    if let Some(l) = &profile.interface_language
        && crate::i18n::Lang::known(l).is_none()
    {
        return Err(Error::invalid("the interface language is en or es").coded("language", &[]));
    }
    Ok(())
}

/// Check a YYYY-MM-DD date.
pub fn parse_date(s: &str) -> Result<time::Date> {
    time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).map_err(|_| {
        Error::invalid(format!("{s} is not a date in the form YYYY-MM-DD"))
            .coded("date-format", &[])
    })
}

/// Register a learner homed at this node.
pub fn add(
    node: &Node,
    actor: &Actor,
    mut profile: Profile,
    pin: Option<&str>,
) -> Result<LearnerSummary> {
    profile.number = profile.number.trim().to_string();
    if profile.institution.is_none() {
        profile.institution = node.config().institution.clone();
    }
    validate(&profile)?;
    if let Some(pin) = pin {
        people::check_learner_pin(pin)?;
    }
    if let Ok(existing) = find(node, &profile.number) {
        return Err(Error::duplicate(format!(
            "learner number {} is already used by {}",
            profile.number,
            ids::learner_id(&existing)
        ))
        .coded("number-taken", &[("number", profile.number.clone())]));
    }
    let doc = ids::new_doc();
    let id = ids::learner_id(&doc);
    let home = node.id().to_string();
    node.store.change_doc(
        &node.author(actor.user_id())?,
        doc,
        "register learner",
        |tx| learner::create(tx, &id, &home, &profile),
    )?;
    if let Some(pin) = pin {
        node.store.set_secret(&doc.0, &people::hash_secret(pin)?)?;
    }
    Ok(LearnerSummary {
        id,
        number: profile.number.clone(),
        name: profile.full_name(),
        home_site: home,
        enrollments: 0,
        awards: 0,
    })
}

/// What a roster import did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Imported {
    /// Learners registered.
    pub registered: usize,
    /// Of them, with a kiosk PIN set.
    pub with_pin: usize,
    /// The learners, in the roster's order.
    pub learners: Vec<LearnerSummary>,
}

/// Register every learner of a roster in one durable write (all or none). Each row is checked
/// as `add` checks one learner — and the numbers against each other — before anything is
/// written; the first problems are named by their line. PINs are hashed on every core (argon2
/// makes each take about a tenth of a second, so a roster without PINs is much faster; staff
/// can set them later).
pub fn import(node: &Node, actor: &Actor, rows: Vec<super::roster::RosterRow>) -> Result<Imported> {
    let institution = node.config().institution.clone();
    let mut seen = std::collections::HashMap::new();
    let mut problems = Vec::new();
    let mut rows = rows;
    for r in &mut rows {
        r.profile.number = r.profile.number.trim().to_string();
        if r.profile.institution.is_none() {
            r.profile.institution = institution.clone();
        }
        let checked = validate(&r.profile).and_then(|()| match &r.pin {
            Some(pin) => people::check_learner_pin(pin),
            None => Ok(()),
        });
        let why = match checked {
            Err(e) => Some(e.to_string()),
            Ok(()) => match seen.insert(r.profile.number.clone(), r.line) {
                Some(first) => Some(format!(
                    "learner number {} is also on line {first}",
                    r.profile.number
                )),
                None => find(node, &r.profile.number).ok().map(|existing| {
                    format!(
                        "learner number {} is already used by {}",
                        r.profile.number,
                        ids::learner_id(&existing)
                    )
                }),
            },
        };
        if let Some(why) = why {
            problems.push((r.line, String::new(), why));
        }
    }
    if !problems.is_empty() {
        return Err(super::roster::refused(&problems));
    }
    let docs: Vec<DocId> = rows.iter().map(|_| ids::new_doc()).collect();
    let secrets = hash_pins(&docs, &rows)?;
    let home = node.id().to_string();
    node.store.create_docs(
        &node.author(actor.user_id())?,
        "register learner",
        &docs,
        &secrets,
        |i, tx| learner::create(tx, &ids::learner_id(&docs[i]), &home, &rows[i].profile),
    )?;
    let learners: Vec<LearnerSummary> = rows
        .iter()
        .zip(&docs)
        .map(|(r, doc)| LearnerSummary {
            id: ids::learner_id(doc),
            number: r.profile.number.clone(),
            name: r.profile.full_name(),
            home_site: home.clone(),
            enrollments: 0,
            awards: 0,
        })
        .collect();
    Ok(Imported {
        registered: learners.len(),
        with_pin: secrets.len(),
        learners,
    })
}

/// The PIN hashes of the rows that give one, computed on every core.
fn hash_pins(docs: &[DocId], rows: &[super::roster::RosterRow]) -> Result<Vec<(DocId, String)>> {
    let wanted: Vec<(DocId, &str)> = docs
        .iter()
        .zip(rows)
        .filter_map(|(d, r)| r.pin.as_deref().map(|p| (*d, p)))
        .collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let per = wanted.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = wanted
            .chunks(per)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|(d, pin)| people::hash_secret(pin).map(|h| (*d, h)))
                        .collect::<Result<Vec<_>>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(wanted.len());
        for w in workers {
            out.extend(
                w.join()
                    .map_err(|_| Error::storage_msg("a PIN hashing thread failed"))??,
            );
        }
        Ok(out)
    })
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
            text::printable(record.trim())
        ))),
    }
}

/// A learner's whole record.
pub fn record(node: &Node, doc: &DocId) -> Result<LearnerRecord> {
    let am = node
        .store
        .doc(doc)?
        .ok_or_else(|| Error::not_found(format!("no learner {} here", ids::learner_id(doc))))?;
    LearnerRecord::read(&am)
        .ok_or_else(|| Error::not_found(format!("{} is not a learner", ids::learner_id(doc))))
}

/// Summaries of every learner this node holds, by number.
pub fn list(node: &Node) -> Result<Vec<LearnerSummary>> {
    let mut out: Vec<LearnerSummary> = node
        .store
        .index_scan(b"learner/")?
        .into_iter()
        .filter_map(|(_, v)| serde_json::from_slice(&v).ok())
        .collect();
    out.sort_by(|a, b| a.number.cmp(&b.number));
    Ok(out)
}

/// Every learner document this node holds, with its record.
pub fn all(node: &Node) -> Result<Vec<(DocId, LearnerRecord)>> {
    let mut out = Vec::new();
    for (doc, _) in node.store.index_scan(b"learner/")? {
        let Ok(bytes) = <[u8; 16]>::try_from(doc.as_slice()) else {
            continue;
        };
        let doc = DocId(bytes);
        out.push((doc, record(node, &doc)?));
    }
    Ok(out)
}

/// Refuse changes to a learner who lives at another site (the hub may change anyone).
pub fn require_home(node: &Node, record: &LearnerRecord) -> Result<()> {
    if node.is_hub() || record.home_site == node.id().to_string() {
        return Ok(());
    }
    Err(Error::refused(
        crate::error::RefusalKind::Rule,
        "this learner's record lives at another site; only that site (or the hub) can change it",
    )
    .coded("lives-elsewhere", &[]))
}

/// The result of a transfer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    /// The learner.
    pub learner: String,
    /// The site it lived at.
    pub from: Option<String>,
    /// The site it lives at now.
    pub to: String,
}

/// The largest document snapshot a transfer record carries: the entry's payload limit less
/// room for the record's other fields and their encoding.
pub const TRANSFER_SNAPSHOT_MAX: usize = cairn_sync_protocol::limits::MAX_PAYLOAD - 8192;

/// Move a learner's record to another site (hub). The hub records the new home in the document
/// and files a transfer record carrying the document, so the new site gets the whole history in
/// one signed entry and the old site stops receiving the learner.
pub fn transfer(
    node: &Node,
    actor: &Actor,
    learner: &str,
    to: cairn_sync_protocol::NodeId,
) -> Result<Transfer> {
    if !node.is_hub() {
        return Err(Error::rule("only the hub transfers learners between sites"));
    }
    let doc = find(node, learner)?;
    match node.store.site_record(&to)? {
        Some(r) if r.revoked.is_none() => {}
        Some(_) => return Err(Error::rule("that site is revoked")),
        None => return Err(Error::not_found("that site was never admitted")),
    }
    let before = record(node, &doc)?;
    if before.home_site == to.to_string() {
        return Err(Error::duplicate("the learner already lives at that site"));
    }
    let from = before.home_site.parse().ok();
    let author = node.author(actor.user_id())?;
    let to_text = to.to_string();
    // The transfer record must carry the whole document. The new site already holds the hub's
    // feed with the learner's earlier entries elided (they were another site's business), and
    // an elided entry is never sent again (docs/sync.md): the snapshot is the only way those
    // reach it. So a move the record cannot carry is refused, and the new home and the record
    // are written together or not at all: a home moved without its record would leave the
    // learner with neither site.
    node.store.change_doc_with_entry(
        &author,
        doc,
        "transfer learner",
        |tx| learner::set_home_site(tx, &to_text),
        |changed| {
            let snapshot = changed.save();
            if snapshot.len() > TRANSFER_SNAPSHOT_MAX {
                return Err(Error::rule(format!(
                    "this learner's record is {} and a transfer carries at most {}: the learner stays at their site",
                    bytesize::ByteSize(snapshot.len() as u64).display().si(),
                    bytesize::ByteSize(TRANSFER_SNAPSHOT_MAX as u64).display().si(),
                ))
                .coded("transfer-too-large", &[]));
            }
            let control = crate::payload::ControlRecord::LearnerTransferred {
                learner: doc,
                from,
                to,
                snapshot,
            };
            Ok((
                cairn_sync_protocol::BodyKind::Control,
                crate::payload::encode(&control)?,
            ))
        },
    )?;
    Ok(Transfer {
        learner: ids::learner_id(&doc),
        from: Some(before.home_site).filter(|h| !h.is_empty()),
        to: to_text,
    })
}

/// Profile fields staff may correct after registration (every codebook field but the number).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileChanges {
    /// Given name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// Family name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// Institution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub institution: Option<String>,
    /// The institution's own id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub institution_id: Option<String>,
    /// Email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Year of birth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub year_of_birth: Option<i64>,
    /// Gender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<Gender>,
    /// Race/ethnicity (replaces the list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub race_ethnicity: Option<Vec<RaceEthnicity>>,
    /// Primary language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_language: Option<String>,
    /// Pell eligible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pell_eligible: Option<bool>,
    /// How socioeconomic status was determined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ses_determination: Option<String>,
    /// Current enrollment status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrollment_status: Option<EnrollmentStatus>,
    /// First-generation college student.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_generation: Option<bool>,
    /// Date of first enrollment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_enrollment: Option<String>,
    /// Kiosk language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface_language: Option<String>,
}

impl ProfileChanges {
    /// Apply to a profile.
    pub fn apply(&self, p: &mut Profile) {
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = &self.$f { p.$f = v.clone(); } )* };
        }
        macro_rules! set_opt {
            ($($f:ident),*) => { $( if let Some(v) = &self.$f { p.$f = Some(v.clone()); } )* };
        }
        set!(given_name, family_name);
        set_opt!(
            institution,
            institution_id,
            email,
            year_of_birth,
            gender,
            primary_language,
            pell_eligible,
            ses_determination,
            enrollment_status,
            first_generation,
            first_enrollment,
            interface_language
        );
        if let Some(r) = &self.race_ethnicity {
            p.race_ethnicity = r.clone();
        }
    }

    /// True when nothing is changed.
    pub fn is_empty(&self) -> bool {
        self == &ProfileChanges::default()
    }
}

/// What an edit did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edited {
    /// The learner.
    pub id: String,
    /// The fields changed.
    pub changed: ProfileChanges,
    /// Whether the PIN was reset.
    pub pin_reset: bool,
}

/// Correct profile fields (each written on its own, so concurrent corrections of different
/// fields merge) and optionally reset the learner's PIN. At a site, only for learners homed there.
pub fn edit(
    node: &Node,
    actor: &Actor,
    id_or_number: &str,
    changes: &ProfileChanges,
    pin: Option<&str>,
) -> Result<Edited> {
    let doc = find(node, id_or_number)?;
    let before = record(node, &doc)?;
    require_home(node, &before)?;
    let mut profile = before.profile.clone();
    changes.apply(&mut profile);
    validate(&profile)?;
    if let Some(pin) = pin {
        people::check_learner_pin(pin)?;
    }
    if !changes.is_empty() {
        let fields = serde_json::to_value(changes)
            .map_err(|e| Error::storage("encoding profile changes", e))?;
        node.store
            .change_doc(&node.author(actor.user_id())?, doc, "edit profile", |tx| {
                learner::put_profile_fields(tx, &fields)
            })?;
    }
    if let Some(pin) = pin {
        node.store.set_secret(&doc.0, &people::hash_secret(pin)?)?;
    }
    Ok(Edited {
        id: ids::learner_id(&doc),
        changed: changes.clone(),
        pin_reset: pin.is_some(),
    })
}
