//! Open Badges 3.0 credentials for awards: made and signed by the node that awards, offline, at
//! the moment of the award, and kept (as signed text) in the learner's document so that any node
//! holding the record — the hub, the learner's next site — can hand the same credential out.
//!
//! Two copies of an award's credential exist (docs/credentials.md):
//! - the **site-signed copy** (`Award::credential`), made where the award was made: the issuer
//!   people see is the program (its name, address and description), `issuer.id` is the signing
//!   site's did:key, and the issuer carries the program's `EndorsementCredential` of that key, so
//!   a verifier who knows only the program's did:key can check the chain;
//! - the **program-signed copy** (`Award::program_credential`), made by the hub when the award
//!   reaches it ([`hub_upkeep`]): issuer = the hub's did:key, no site key anywhere. It travels
//!   back to the site with the next sync or bundle; exports and certificates prefer it.
//!
//! What goes in: the achievement with its criteria, type, level, skills and recognitions; the
//! learner by salted hashes of their name as printed (and the identities the program chose);
//! evidence by neutral names and content hashes only (never a file name or a narrative's text);
//! for a pathway's micro-credential, its part credentials. Nothing names the site.

use super::catalog::Catalog;
use super::learners;
use crate::clock::now_rfc3339;
use crate::config::{DEFAULT_VERIFIER_URL, IdentifierKind, NodeRole};
use crate::error::{Error, Result};
use crate::i18n::{Lang, Tr};
use crate::node::Node;
use crate::payload::{self, ControlRecord};
use crate::records::catalog::ProgramSettings;
use crate::records::learner::{self, Award, AwardKind, LearnerRecord, Profile};
use base64::Engine;
use cairn_credentials::data_integrity::{self, ProofOptions};
use cairn_credentials::open_badges::{
    self, AchievementInfo, Alignment, BadgeCredential, Endorsement, EvidenceRef, HashedIdentity,
    Issuer, SubjectIdentity, name_as_printed,
};
use cairn_credentials::verifier_page::TrustedProgram;
use cairn_credentials::verify::{IssuerTrust, Standing};
use cairn_credentials::{certificate, did_key};
use cairn_sync_protocol::{BodyKind, DocId, NodeId};
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use sha2::Digest;

/// The program's settings as the hub's configuration gives them (what the hub publishes).
pub fn program_settings(node: &Node) -> ProgramSettings {
    let config = node.config();
    ProgramSettings {
        name: config
            .institution
            .clone()
            .unwrap_or_else(|| config.name.clone()),
        url: config.program_url.clone(),
        description: config.program_description.clone(),
        verifier_url: config.verifier_url.clone(),
        identifiers: config
            .credential_identifiers
            .iter()
            .map(|k| match k {
                IdentifierKind::Email => "email".to_string(),
                IdentifierKind::StudentId => "student-id".to_string(),
            })
            .collect(),
    }
}

/// How the program presents itself here: the hub's own configuration; at a site, what the hub
/// published in the catalog, else the hub's name from the provisioning file, else (a site that
/// never joined a program) its institution or its name.
pub fn program(node: &Node, catalog: &Catalog) -> ProgramSettings {
    if node.config().role == NodeRole::Hub {
        return program_settings(node);
    }
    if let Some(p) = &catalog.program {
        return p.clone();
    }
    let config = node.config();
    ProgramSettings {
        name: config
            .hub
            .as_ref()
            .map(|h| h.name.clone())
            .or_else(|| config.institution.clone())
            .unwrap_or_else(|| config.name.clone()),
        ..Default::default()
    }
}

/// Where certificates' QR codes link: this node's `verifier_url`, else the program's, else a
/// placeholder that never resolves.
pub fn verifier_url(node: &Node, catalog: &Catalog) -> String {
    node.config()
        .verifier_url
        .clone()
        .or_else(|| program(node, catalog).verifier_url)
        .unwrap_or_else(|| DEFAULT_VERIFIER_URL.to_string())
}

/// The program's did:key: the hub's (none for a site that never joined one).
pub fn program_did(node: &Node) -> Option<String> {
    let hub = node.hub_id()?;
    hub.verifying_key().ok().map(|k| did_key::did_key(&k))
}

/// The programs a verifier page made here trusts: this node's program.
pub fn trusted_programs(node: &Node) -> Result<Vec<TrustedProgram>> {
    let catalog = super::catalog::read(node)?;
    Ok(program_did(node)
        .map(|id| TrustedProgram {
            id,
            name: program(node, &catalog).name,
        })
        .into_iter()
        .collect())
}

fn profile_of(did: String, p: &ProgramSettings, endorsements: Vec<Json>) -> Issuer {
    Issuer {
        did,
        name: p.name.clone(),
        url: p.url.clone(),
        description: p.description.clone(),
        endorsements,
    }
}

/// The program's endorsement of this node's key, as the hub recorded it (sites only).
fn own_endorsement(node: &Node) -> Result<Option<Json>> {
    if node.config().role == NodeRole::Hub {
        return Ok(None);
    }
    let Some(record) = node.store.site_record(&node.id())? else {
        return Ok(None);
    };
    let own = did_key::did_key(&node.key.signing_key().verifying_key());
    Ok(record
        .endorsement
        .and_then(|text| serde_json::from_str::<Json>(&text).ok())
        .filter(|e| e.pointer("/credentialSubject/id").and_then(Json::as_str) == Some(&own))
        // Only its JCS proof travels inside credentials: that keeps every proof in a QR code
        // checkable on a phone (the full endorsement, both proofs, is in the trust records).
        .map(|e| data_integrity::jcs_only(&e)))
}

/// The issuer of what this node signs: the program, with this node's did:key and, at a site,
/// the program's endorsement of it.
fn signing_issuer(node: &Node, catalog: &Catalog) -> Result<Issuer> {
    Ok(profile_of(
        did_key::did_key(&node.key.signing_key().verifying_key()),
        &program(node, catalog),
        own_endorsement(node)?.into_iter().collect(),
    ))
}

fn salt() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// The learner as a credential names them: the name exactly as certificates print it, and the
/// identities the program chose, each hashed with its own salt.
fn learner_identity(program: &ProgramSettings, profile: &Profile) -> SubjectIdentity {
    let mut ids = vec![HashedIdentity {
        identity_type: "name".into(),
        value: name_as_printed(&profile.full_name()),
        salt: salt(),
    }];
    for kind in &program.identifiers {
        let (identity_type, value) = match kind.as_str() {
            "email" => (
                "emailAddress",
                profile.email.as_deref().map(|e| e.trim().to_lowercase()),
            ),
            "student-id" => (
                "sisSourcedId",
                profile.institution_id.as_deref().map(name_as_printed),
            ),
            _ => continue,
        };
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            ids.push(HashedIdentity {
                identity_type: identity_type.into(),
                value,
                salt: salt(),
            });
        }
    }
    SubjectIdentity::Hashed(ids)
}

fn sign(node: &Node, unsigned: &Json, created: &str) -> Result<Json> {
    let key = node.key.signing_key();
    let options = ProofOptions {
        created: created.to_string(),
        verification_method: did_key::verification_method(&key.verifying_key()),
        proof_purpose: "assertionMethod".into(),
    };
    data_integrity::secure(unsigned, key, &options)
        .map_err(|e| Error::invalid(format!("cannot sign the credential: {e}")))
}

/// The credential id of an award.
pub fn credential_id(award_id: &str) -> String {
    open_badges::urn_uuid(format!("cairn award {award_id}").as_bytes())
}

/// A named-information URI (RFC 6920) for a SHA-256, given in hex.
fn ni_uri(sha256_hex: &str) -> String {
    let bytes = hex::decode(sha256_hex).unwrap_or_default();
    format!(
        "ni:///sha-256;{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

fn recognitions(catalog: &Catalog, target: &str) -> Vec<Alignment> {
    catalog
        .recognitions_of(target)
        .into_iter()
        .map(|r| Alignment {
            name: r.description.clone(),
            target_type: Some("ceterms:Credential".into()),
            description: Some(match r.credits {
                Some(c) => format!("{c} credits, recognized by {}", r.recognizer),
                None => format!("recognized by {}", r.recognizer),
            }),
            framework: Some(r.recognizer.clone()),
            ..Default::default()
        })
        .collect()
}

/// Make and sign the credential for one award, as this node (a site: the program's name with
/// the site's endorsed key; the hub: the program itself).
pub fn issue(
    node: &Node,
    award: &Award,
    learner: &LearnerRecord,
    catalog: &Catalog,
) -> Result<Json> {
    let issuer = signing_issuer(node, catalog)?;
    let unsigned = unsigned_credential(award, learner, catalog, issuer, &program(node, catalog))?;
    sign(node, &unsigned, &award.awarded_at)
}

/// The program-signed copy of an award's credential (the hub): the same content, issued and
/// signed by the program's own key, carrying no site key. Signed now; valid from the award.
pub fn issue_program_copy(
    node: &Node,
    award: &Award,
    learner: &LearnerRecord,
    catalog: &Catalog,
) -> Result<Json> {
    if node.config().role != NodeRole::Hub {
        return Err(Error::rule("only the hub signs as the program"));
    }
    let settings = program_settings(node);
    let issuer = profile_of(
        did_key::did_key(&node.key.signing_key().verifying_key()),
        &settings,
        Vec::new(),
    );
    let unsigned = unsigned_credential(award, learner, catalog, issuer, &settings)?;
    sign(node, &unsigned, &now_rfc3339())
}

fn unsigned_credential(
    award: &Award,
    learner: &LearnerRecord,
    catalog: &Catalog,
    issuer: Issuer,
    program: &ProgramSettings,
) -> Result<Json> {
    let missing = |what: &str| Error::not_found(format!("{what} is no longer in the catalog"));
    let (achievement, refs) = match &award.kind {
        AwardKind::Pathway { pathway, parts } => {
            let p = catalog
                .pathways
                .get(pathway)
                .ok_or_else(|| missing(pathway))?;
            let part_names: Vec<String> = p
                .parts
                .iter()
                .map(|a| {
                    catalog
                        .achievements
                        .get(a)
                        .map_or_else(|| a.clone(), |x| x.name.clone())
                })
                .collect();
            let refs = parts
                .iter()
                .zip(&part_names)
                .map(|(part, name)| EvidenceRef {
                    id: Some(credential_id(part)),
                    name: Some(name.clone()),
                    narrative: None,
                    genre: Some("Credential".into()),
                })
                .collect();
            (
                AchievementInfo {
                    id: format!("urn:cairn:pathway:{}", p.id),
                    name: p.name.clone(),
                    description: p.description.clone(),
                    criteria: format!("Earn every part of the pathway: {}.", part_names.join("; ")),
                    achievement_type: "MicroCredential".into(),
                    level: None,
                    alignments: recognitions(catalog, &p.id),
                },
                refs,
            )
        }
        AwardKind::Recognition {
            recognition,
            recognizes,
        } => {
            let r = catalog
                .recognitions
                .get(recognition)
                .ok_or_else(|| missing(recognition))?;
            let target = catalog
                .achievements
                .get(&r.target)
                .map(|a| a.name.clone())
                .or_else(|| catalog.pathways.get(&r.target).map(|p| p.name.clone()))
                .unwrap_or_else(|| r.target.clone());
            (
                AchievementInfo {
                    id: format!("urn:cairn:recognition:{}", r.id),
                    name: r.description.clone(),
                    description: match r.credits {
                        Some(c) => format!("{c} credits, recognized by {}", r.recognizer),
                        None => format!("Recognized by {}", r.recognizer),
                    },
                    criteria: format!("Earn {target}."),
                    achievement_type: "ext:Recognition".into(),
                    level: None,
                    alignments: recognitions(catalog, &r.target)
                        .into_iter()
                        .filter(|a| a.name == r.description)
                        .collect(),
                },
                vec![EvidenceRef {
                    id: Some(credential_id(recognizes)),
                    name: Some(target),
                    narrative: None,
                    genre: Some("Credential".into()),
                }],
            )
        }
        AwardKind::Achievement {
            achievement,
            evidence,
            ..
        } => {
            let a = catalog
                .achievements
                .get(achievement)
                .ok_or_else(|| missing(achievement))?;
            let mut alignments: Vec<Alignment> = a
                .skills
                .iter()
                .map(|s| Alignment {
                    name: s.name.clone(),
                    url: s.url.clone(),
                    framework: s.framework.clone(),
                    code: s.code.clone(),
                    target_type: Some("ceasn:Competency".into()),
                    description: None,
                })
                .collect();
            alignments.extend(recognitions(catalog, achievement));
            // Evidence by content hash and a neutral name only: a file's name or a narrative's
            // words can say where it was earned ("DOC48213_resume.txt").
            let mut refs = Vec::new();
            let mut submissions: Vec<_> = learner
                .evidence
                .values()
                .filter(|e| evidence.contains(&e.id))
                .collect();
            submissions.sort_by(|a, b| (&a.submitted_at, &a.id).cmp(&(&b.submitted_at, &b.id)));
            for e in submissions {
                if let Some(text) = &e.narrative {
                    refs.push(EvidenceRef {
                        id: Some(ni_uri(&hex::encode(sha2::Sha256::digest(text.as_bytes())))),
                        name: Some(format!("Evidence {} (written narrative)", refs.len() + 1)),
                        narrative: None,
                        genre: Some("Narrative".into()),
                    });
                }
                for f in &e.files {
                    refs.push(EvidenceRef {
                        id: Some(ni_uri(&f.sha256)),
                        name: Some(format!("Evidence {} (file)", refs.len() + 1)),
                        narrative: None,
                        genre: Some("File".into()),
                    });
                }
            }
            (
                AchievementInfo {
                    id: format!("urn:cairn:achievement:{}", a.id),
                    name: a.name.clone(),
                    description: a.description.clone(),
                    criteria: a.criteria.clone(),
                    achievement_type: a.achievement_type.clone(),
                    level: a.level,
                    alignments,
                },
                refs,
            )
        }
    };
    Ok(open_badges::credential_json(&BadgeCredential {
        id: credential_id(&award.id),
        issuer,
        valid_from: award.awarded_at.clone(),
        valid_until: None,
        achievement,
        subject: learner_identity(program, &learner.profile),
        evidence: refs,
    }))
}

fn stored_credential(award: &Award) -> Result<Json> {
    let text = award.preferred_credential().ok_or_else(|| {
        Error::not_found(format!(
            "award {} has no signed credential (it was made before this node issued credentials)",
            award.id
        ))
    })?;
    serde_json::from_str(text).map_err(|e| Error::storage("a stored credential is unreadable", e))
}

/// The signed credential of one award (the program-signed copy when there is one), and the
/// learner it belongs to.
pub fn export_award(node: &Node, award_id: &str) -> Result<(Json, LearnerRecord)> {
    let award_id = award_id.trim();
    let doc = learners::doc_of(node, award_id)?;
    let record = learners::record(node, &doc)?;
    let award = record
        .awards
        .get(award_id)
        .ok_or_else(|| Error::not_found(format!("{award_id} is not an award")))?;
    Ok((stored_credential(award)?, record))
}

/// All of a learner's credentials (program-signed copies when there are) in one
/// `ClrCredential`, signed by this node.
pub fn export_learner(node: &Node, record: &LearnerRecord) -> Result<Json> {
    let credentials = record
        .awards
        .values()
        .map(stored_credential)
        .collect::<Result<Vec<_>>>()?;
    if credentials.is_empty() {
        return Err(Error::not_found("this learner has no awards yet"));
    }
    let catalog = super::catalog::read(node)?;
    let settings = program(node, &catalog);
    let issuer = signing_issuer(node, &catalog)?;
    let now = now_rfc3339();
    let unsigned = open_badges::learner_bundle_json(
        &open_badges::urn_uuid(format!("cairn bundle {} {now}", record.profile.number).as_bytes()),
        &issuer,
        &now,
        &learner_identity(&settings, &record.profile),
        &format!("Credentials earned with {}", settings.name),
        credentials,
    );
    sign(node, &unsigned, &now)
}

/// A printable certificate for one award, made out to the learner by name as the credential
/// hashed it, its QR code linking to the program's verifier page, in `lang` (`en` or `es`) or,
/// when none is asked for, in the learner's own interface language.
pub fn certificate(node: &Node, award_id: &str, lang: Option<&str>) -> Result<String> {
    let asked = match lang {
        Some(code) => Some(Lang::known(code).ok_or_else(|| {
            Error::invalid("the certificate's language is en or es").coded("language", &[])
        })?),
        None => None,
    };
    let (credential, record) = export_award(node, award_id)?;
    let lang = asked
        .or_else(|| {
            record
                .profile
                .interface_language
                .as_deref()
                .map(Lang::from_code)
        })
        .unwrap_or_default();
    let catalog = super::catalog::read(node)?;
    Ok(certificate::html(
        &credential,
        &name_as_printed(&record.profile.full_name()),
        &verifier_url(node, &catalog),
        &Tr::new(lang),
    ))
}

/// The program's endorsement of a site's key (the hub): an `EndorsementCredential` signed with
/// both proofs, naming the program and the key, nothing about the site.
pub fn endorse(node: &Node, site: &NodeId) -> Result<String> {
    let key = site
        .verifying_key()
        .map_err(|e| Error::invalid(format!("{site} is not a usable key: {e}")))?;
    let subject = did_key::did_key(&key);
    let settings = program_settings(node);
    let now = now_rfc3339();
    let unsigned = open_badges::endorsement_json(&Endorsement {
        id: open_badges::urn_uuid(format!("cairn endorsement {subject} {now}").as_bytes()),
        program: profile_of(
            did_key::did_key(&node.key.signing_key().verifying_key()),
            &settings,
            Vec::new(),
        ),
        key: subject,
        valid_from: now.clone(),
    });
    Ok(sign(node, &unsigned, &now)?.to_string())
}

/// A program named on the command line (`--program did:key:…`), to check credentials against.
pub fn program_check<'a>(
    program: Option<&str>,
    trust: &'a dyn IssuerTrust,
) -> Result<Option<cairn_credentials::verify::Program<'a>>> {
    let Some(did) = program.map(str::trim) else {
        return Ok(None);
    };
    Ok(Some(cairn_credentials::verify::Program {
        did: checked_did(did)?,
        inner: trust,
    }))
}

fn checked_did(did: &str) -> Result<String> {
    match did_key::resolve(did) {
        Ok((d, _)) if d == did => Ok(d),
        Ok(_) => Err(Error::invalid(format!(
            "`{}` is a verification method; give the program's did:key alone",
            crate::domain::text::printable(did)
        ))),
        Err(e) => Err(Error::invalid(format!(
            "`{}` is not a program's identifier: {e}",
            crate::domain::text::printable(did)
        ))),
    }
}

/// Programs named on the command line for a verifier page to trust.
pub fn named_programs(programs: &[String]) -> Result<Vec<TrustedProgram>> {
    programs
        .iter()
        .map(|p| {
            Ok(TrustedProgram {
                id: checked_did(p.trim())?,
                name: String::new(),
            })
        })
        .collect()
}

/// What one run of the hub's upkeep did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upkeep {
    /// Whether the program's settings were (re)published in the catalog.
    pub published: bool,
    /// Sites whose keys were endorsed.
    pub endorsed: usize,
    /// Program-signed copies made.
    pub copies: usize,
    /// Learner documents still holding awards without a copy (another run will do them).
    pub remaining: usize,
    /// Whether the run ended early, between two documents, because `give_way` asked it to (a
    /// site's session was waiting for the upkeep): what it left is for a later run.
    #[serde(default)]
    pub gave_way: bool,
}

/// The hub's upkeep of what the program signs, bounded to `limit` awards a run: publish the
/// program's settings when they changed, endorse admitted sites' keys not yet endorsed, and sign
/// the program's copy of awards that lack one. Nothing to do on a site.
///
/// With `only`, the run does that site's work alone: its key's endorsement and the awards of
/// learners homed there. The upkeep before a site's session runs so: signing other sites'
/// awards there (each document's copies a flushed write) kept a new site's first session on a
/// hub of 2.2 million entries silent past its 60 s limit (docs/benchmarks.md, round 44); the
/// background run does the rest.
///
/// `give_way` is asked before each document after the first: true ends the run there. The
/// background run is told to give way when a site's session waits for the upkeep (one run at
/// a time): a run signs up to 200 documents, each a flushed write, and a new site's first
/// session on a hub of 1.5 million entries waited 5 s for one to finish (docs/benchmarks.md,
/// round 45). Every run still examines at least one document, so the background moves on.
pub fn hub_upkeep(
    node: &Node,
    limit: usize,
    only: Option<&NodeId>,
    give_way: &dyn Fn() -> bool,
) -> Result<Upkeep> {
    let mut done = Upkeep::default();
    if node.config().role != NodeRole::Hub {
        return Ok(done);
    }
    let author = node.author(Default::default())?;
    let mut catalog = super::catalog::read(node)?;
    let settings = program_settings(node);
    if catalog.program.as_ref() != Some(&settings) {
        node.store.change_doc(
            &author,
            super::ids::catalog_doc(),
            "program settings",
            |tx| crate::records::catalog::put_program(tx, &settings),
        )?;
        catalog.program = Some(settings);
        done.published = true;
    }
    let sites = node.store.site_records()?;
    let only_text = only.map(|site| site.to_string());
    let for_this_run = |node_text: &str| only_text.as_deref().is_none_or(|o| o == node_text);
    for site in sites
        .iter()
        .filter(|s| s.revoked.is_none() && s.endorsement.is_none() && for_this_run(&s.node))
    {
        let Ok(id) = site.node.parse::<NodeId>() else {
            continue;
        };
        let record = ControlRecord::SiteEndorsed {
            site: id,
            endorsement: endorse(node, &id)?,
        };
        node.store.author_entry(
            &author,
            super::ids::trust_doc(),
            BodyKind::Control,
            payload::encode(&record)?,
        )?;
        done.endorsed += 1;
    }
    // An award from a revoked site is not vouched for: its key may be in the wrong hands.
    let revoked: Vec<&str> = sites
        .iter()
        .filter(|s| s.revoked.is_some())
        .map(|s| s.node.as_str())
        .collect();
    // Documents whose awards cannot be copied (a revoked site's, an item gone from the catalog)
    // stay in the index: each run starts after the last document the previous one examined, so
    // they never hold up the rest, and examines at most `limit` documents.
    // A run for one site reads the site's own learners, not every document waiting in the
    // program (8,000 of them after one crowd of round 44's generation).
    let docs: Vec<DocId> = match &only_text {
        Some(site) => {
            node.store.settle()?;
            crate::records::index::homed_awaiting_copy(&node.store, site)?
        }
        None => node
            .store
            .index_scan(b"copy/")?
            .into_iter()
            .filter_map(|(doc, _)| <[u8; 16]>::try_from(doc.as_slice()).ok().map(DocId))
            .collect(),
    };
    // A run for one site starts at the first of its documents and leaves the cursor, which
    // is the whole index's, where it was.
    let cursor: Option<String> = match only {
        Some(_) => None,
        None => node.store.local(COPY_CURSOR)?,
    };
    let start = cursor
        .and_then(|c| docs.iter().position(|d| hex::encode(d.0) > c))
        .unwrap_or(0);
    let (mut budget, mut examined, mut last) = (limit, 0, None);
    for doc in docs[start..].iter().chain(&docs[..start]).copied() {
        if !done.gave_way && examined > 0 && budget > 0 && examined < limit && give_way() {
            done.gave_way = true;
        }
        if budget == 0 || examined == limit || done.gave_way {
            done.remaining += 1;
            continue;
        }
        examined += 1;
        last = Some(doc);
        let record = learners::record(node, &doc)?;
        let mut copies = Vec::new();
        for award in record
            .awards
            .values()
            .filter(|a| a.program_credential.is_none())
            .filter(|a| !revoked.contains(&a.issuer.node.as_str()))
            .take(budget)
        {
            match issue_program_copy(node, award, &record, &catalog) {
                Ok(c) => copies.push((award.id.clone(), c.to_string())),
                // A part no longer in the catalog: leave the site's copy as it is.
                Err(e) => tracing::warn!("no program copy of {}: {e}", award.id),
            }
        }
        if copies.is_empty() {
            continue;
        }
        budget = budget.saturating_sub(copies.len());
        done.copies += copies.len();
        node.store
            .change_doc(&author, doc, "program-signed credentials", |tx| {
                for (award, text) in &copies {
                    learner::put_program_credential(tx, award, text)?;
                }
                Ok(())
            })?;
    }
    if let (Some(doc), None) = (last, only) {
        node.store.set_local(COPY_CURSOR, &hex::encode(doc.0))?;
    }
    Ok(done)
}

/// Where the hub's next upkeep run starts in the `copy/` index (hex of a document id).
const COPY_CURSOR: &str = "program_copy_cursor";

/// What this node knows about signing keys: itself, its hub, and the sites the program admitted
/// or revoked.
pub struct ProgramTrust {
    known: Vec<(VerifyingKey, Standing)>,
}

impl ProgramTrust {
    /// Read the trust records this node holds.
    pub fn of(node: &Node) -> Result<ProgramTrust> {
        let config = node.config().clone();
        let mut known = vec![(
            node.key.signing_key().verifying_key(),
            Standing::Admitted {
                name: config.name.clone(),
            },
        )];
        if let (Some(hub), Some(link)) = (node.hub_id(), config.hub.as_ref())
            && let Ok(k) = hub.verifying_key()
        {
            known.push((
                k,
                Standing::Admitted {
                    name: link.name.clone(),
                },
            ));
        }
        for site in node.store.site_records()? {
            let Ok(id) = site.node.parse::<cairn_sync_protocol::NodeId>() else {
                continue;
            };
            let Ok(k) = id.verifying_key() else { continue };
            let standing = match site.revoked {
                Some(reason) => Standing::Revoked {
                    name: site.name,
                    reason,
                },
                None => Standing::Admitted { name: site.name },
            };
            known.push((k, standing));
        }
        Ok(ProgramTrust { known })
    }
}

impl IssuerTrust for ProgramTrust {
    fn standing(&self, key: &VerifyingKey) -> Standing {
        // A revocation outranks an admission of the same key.
        let mut found = Standing::Unknown;
        for (k, s) in &self.known {
            if k == key {
                if matches!(s, Standing::Revoked { .. }) {
                    return s.clone();
                }
                found = s.clone();
            }
        }
        found
    }
}

/// A JSON summary for output.
pub fn summary(credential: &Json) -> Json {
    serde_json::json!({
        "id": credential["id"],
        "name": credential["name"],
        "issuer": credential["issuer"],
        "validFrom": credential["validFrom"],
    })
}

/// Check a credential file's bytes against its proof, its fields and `trust` (a node's trust
/// records, or none), and optionally that it was made out to `name`.
pub fn verify(
    bytes: &[u8],
    trust: &dyn IssuerTrust,
    name: Option<&str>,
) -> Result<cairn_credentials::verify::Verification> {
    cairn_credentials::verify::verify_bytes(bytes, time::OffsetDateTime::now_utc(), trust, name)
        .map_err(|problem| {
            Error::invalid(format!(
                "this is not a credential Cairn can check: {problem}"
            ))
        })
}
