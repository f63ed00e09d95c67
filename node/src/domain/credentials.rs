//! Open Badges 3.0 credentials for awards: made and signed by the node that awards, offline, at
//! the moment of the award, and kept (as signed text) in the learner's document so that any node
//! holding the record — the hub, the learner's next site — can hand the same credential out.
//!
//! What goes in: the issuing organization and the awarding node's `did:key`; the achievement
//! with its criteria, type, level, skills and recognitions; the learner by a salted hash of their
//! name (nothing published that identifies a learner to someone who does not already know them);
//! references to the evidence (file fingerprints and record ids — never the narrative's text); for
//! a pathway's micro-credential, its part credentials.

use super::catalog::Catalog;
use super::learners;
use crate::clock::now_rfc3339;
use crate::error::{Error, Result};
use crate::node::Node;
use crate::records::learner::{Award, AwardKind, LearnerRecord, Profile};
use base64::Engine;
use cairn_credentials::data_integrity::{self, ProofOptions};
use cairn_credentials::open_badges::{
    self, AchievementInfo, Alignment, BadgeCredential, EvidenceRef, Issuer, SubjectIdentity,
};
use cairn_credentials::verify::{IssuerTrust, Standing, normalize_identity};
use cairn_credentials::{certificate, did_key};
use ed25519_dalek::VerifyingKey;
use serde_json::Value as Json;

/// The organization and node that sign.
fn issuer(node: &Node) -> Issuer {
    let config = node.config();
    let name = config
        .institution
        .clone()
        .unwrap_or_else(|| config.name.clone());
    Issuer {
        did: did_key::did_key(&node.key.signing_key().verifying_key()),
        description: (name != config.name).then(|| config.name.clone()),
        name,
    }
}

fn learner_identity(profile: &Profile) -> SubjectIdentity {
    SubjectIdentity::Hashed {
        identity_type: "name".into(),
        value: normalize_identity(&profile.full_name()),
        salt: hex::encode(rand::random::<[u8; 16]>()),
    }
}

fn sign(node: &Node, unsigned: &Json, created: &str) -> Result<Json> {
    let key = node.key.signing_key();
    let options = ProofOptions {
        created: created.to_string(),
        verification_method: did_key::verification_method(&key.verifying_key()),
        proof_purpose: "assertionMethod".into(),
    };
    data_integrity::sign(unsigned, key, &options)
        .map(|(signed, _)| signed)
        .map_err(|e| Error::invalid(format!("cannot sign the credential: {e}")))
}

/// The credential id of an award.
pub fn credential_id(award_id: &str) -> String {
    open_badges::urn_uuid(format!("cairn award {award_id}").as_bytes())
}

/// A named-information URI (RFC 6920) for a file's SHA-256, given in hex.
fn file_uri(sha256_hex: &str) -> String {
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

/// Make and sign the credential for one award.
pub fn issue(
    node: &Node,
    award: &Award,
    learner: &LearnerRecord,
    catalog: &Catalog,
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
            let mut refs = Vec::new();
            for e in learner
                .evidence
                .values()
                .filter(|e| evidence.contains(&e.id))
            {
                let when = e.submitted_at.get(..10).unwrap_or(&e.submitted_at);
                if e.narrative.is_some() {
                    refs.push(EvidenceRef {
                        id: Some(format!("urn:cairn:evidence:{}", e.id)),
                        name: Some(format!("Written narrative, submitted {when}")),
                        narrative: None,
                        genre: Some("Narrative".into()),
                    });
                }
                for f in &e.files {
                    refs.push(EvidenceRef {
                        id: Some(file_uri(&f.sha256)),
                        name: Some(f.name.clone()),
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
    let unsigned = open_badges::credential_json(&BadgeCredential {
        id: credential_id(&award.id),
        issuer: issuer(node),
        valid_from: award.awarded_at.clone(),
        valid_until: None,
        achievement,
        subject: learner_identity(&learner.profile),
        evidence: refs,
    });
    sign(node, &unsigned, &award.awarded_at)
}

fn stored_credential(award: &Award) -> Result<Json> {
    let text = award.credential.as_deref().ok_or_else(|| {
        Error::not_found(format!(
            "award {} has no signed credential (it was made before this node issued credentials)",
            award.id
        ))
    })?;
    serde_json::from_str(text).map_err(|e| Error::storage("a stored credential is unreadable", e))
}

/// The signed credential of one award, and the learner it belongs to.
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

/// All of a learner's credentials in one `ClrCredential`, signed by this node.
pub fn export_learner(node: &Node, record: &LearnerRecord) -> Result<Json> {
    let credentials = record
        .awards
        .values()
        .map(stored_credential)
        .collect::<Result<Vec<_>>>()?;
    if credentials.is_empty() {
        return Err(Error::not_found("this learner has no awards yet"));
    }
    let now = now_rfc3339();
    let unsigned = open_badges::learner_bundle_json(
        &open_badges::urn_uuid(format!("cairn bundle {} {now}", record.profile.number).as_bytes()),
        &issuer(node),
        &now,
        &learner_identity(&record.profile),
        &format!("Credentials earned with {}", issuer(node).name),
        credentials,
    );
    sign(node, &unsigned, &now)
}

/// A printable certificate for one award, made out to the learner by name.
pub fn certificate(node: &Node, award_id: &str) -> Result<String> {
    let (credential, record) = export_award(node, award_id)?;
    Ok(certificate::html(&credential, &record.profile.full_name()))
}

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
