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
use super::people::{Actor, Role};
use super::{learners, lifecycle};
use crate::error::{Error, Result};
use crate::node::Node;
use base64::Engine;
use cairn_credentials::data_integrity::{self, ProofOptions};
use cairn_credentials::open_badges::{
    self, AchievementInfo, Alignment, BadgeCredential, EvidenceRef, Issuer, SubjectIdentity,
};
use cairn_credentials::verify::{IssuerTrust, Standing, normalize_identity};
use cairn_credentials::{certificate, did_key};
use ed25519_dalek::VerifyingKey;
use serde_json::{Value as Json, json};

/// The organization and node that sign.
fn issuer(node: &Node) -> Issuer {
    let name = node
        .config
        .institution
        .clone()
        .unwrap_or_else(|| node.config.name.clone());
    Issuer {
        did: did_key::did_key(&node.key.signing_key().verifying_key()),
        description: (name != node.config.name).then(|| node.config.name.clone()),
        name,
    }
}

fn learner_identity(profile: &Json) -> SubjectIdentity {
    let name = format!(
        "{} {}",
        profile["given_name"].as_str().unwrap_or(""),
        profile["family_name"].as_str().unwrap_or("")
    );
    SubjectIdentity::Hashed {
        identity_type: "name".into(),
        value: normalize_identity(&name),
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

/// Make and sign the credential for one award record (as `lifecycle::award` builds it).
/// `evidence` are the learner's evidence records; `names` maps achievement ids to names.
pub fn issue(
    node: &Node,
    award: &Json,
    profile: &Json,
    evidence: &[Json],
    catalog: &Catalog,
) -> Result<Json> {
    let award_id = award["id"].as_str().unwrap_or_default();
    let awarded_at = award["awarded_at"].as_str().unwrap_or_default();
    let (achievement, refs) = if award["kind"] == "pathway" {
        let pathway_id = award["pathway"].as_str().unwrap_or_default();
        let p = catalog
            .pathways
            .get(pathway_id)
            .ok_or_else(|| Error::not_found(format!("{pathway_id} is no longer in the catalog")))?;
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
        let parts = award["parts"].as_array().cloned().unwrap_or_default();
        let refs = parts
            .iter()
            .zip(&part_names)
            .map(|(part, name)| EvidenceRef {
                id: part.as_str().map(credential_id),
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
    } else {
        let aid = award["achievement"].as_str().unwrap_or_default();
        let a = catalog
            .achievements
            .get(aid)
            .ok_or_else(|| Error::not_found(format!("{aid} is no longer in the catalog")))?;
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
        alignments.extend(recognitions(catalog, aid));
        let used: Vec<&str> = award["evidence"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Json::as_str)
            .collect();
        let mut refs = Vec::new();
        for e in evidence
            .iter()
            .filter(|e| e["id"].as_str().is_some_and(|id| used.contains(&id)))
        {
            let when = e["submitted_at"].as_str().unwrap_or_default();
            if e["narrative"].is_string() {
                refs.push(EvidenceRef {
                    id: e["id"]
                        .as_str()
                        .map(|id| format!("urn:cairn:evidence:{id}")),
                    name: Some(format!(
                        "Written narrative, submitted {}",
                        when.get(..10).unwrap_or(when)
                    )),
                    narrative: None,
                    genre: Some("Narrative".into()),
                });
            }
            for f in e["files"].as_array().into_iter().flatten() {
                refs.push(EvidenceRef {
                    id: f["sha256"].as_str().map(file_uri),
                    name: f["name"].as_str().map(str::to_string),
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
    };
    let unsigned = open_badges::credential_json(&BadgeCredential {
        id: credential_id(award_id),
        issuer: issuer(node),
        valid_from: awarded_at.to_string(),
        valid_until: None,
        achievement,
        subject: learner_identity(profile),
        evidence: refs,
    });
    sign(node, &unsigned, awarded_at)
}

/// Who may take a learner's credentials: the learner, or staff who issue or administer.
fn require_reader(actor: &Actor, doc: &cairn_sync_protocol::DocId) -> Result<()> {
    match actor {
        Actor::Learner { doc: own, .. } if own == doc => Ok(()),
        Actor::Learner { .. } => Err(Error::unauthorized(
            "a learner can take only their own credentials",
        )),
        _ => actor.require(&[Role::Issuer, Role::Admin], "exporting credentials"),
    }
}

fn stored_credential(award: &Json) -> Result<Json> {
    let text = award["credential"].as_str().ok_or_else(|| {
        Error::not_found(format!(
            "award {} has no signed credential (it was made before this node issued credentials)",
            award["id"].as_str().unwrap_or("?")
        ))
    })?;
    serde_json::from_str(text)
        .map_err(|_| Error::Storage("a stored credential is unreadable".into()))
}

/// The signed credential of one award.
pub fn export_award(node: &Node, actor: &Actor, award_id: &str) -> Result<Json> {
    let award_id = award_id.trim();
    let doc = learners::doc_of(node, award_id)?;
    require_reader(actor, &doc)?;
    let record = learners::document(node, &doc)?;
    let award = record["awards"]
        .get(award_id)
        .ok_or_else(|| Error::not_found(format!("{award_id} is not an award")))?;
    stored_credential(award)
}

/// All of a learner's credentials in one `ClrCredential`, signed by this node.
pub fn export_learner(node: &Node, actor: &Actor, learner: &str) -> Result<Json> {
    let doc = learners::find(node, learner)?;
    require_reader(actor, &doc)?;
    let record = learners::document(node, &doc)?;
    let mut credentials = Vec::new();
    for award in record["awards"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(_, a)| a)
    {
        credentials.push(stored_credential(award)?);
    }
    if credentials.is_empty() {
        return Err(Error::not_found("this learner has no awards yet"));
    }
    let now = lifecycle::now_rfc3339();
    let learner_id = record["profile"]["number"].as_str().unwrap_or_default();
    let unsigned = open_badges::learner_bundle_json(
        &open_badges::urn_uuid(format!("cairn bundle {learner_id} {now}").as_bytes()),
        &issuer(node),
        &now,
        &learner_identity(&record["profile"]),
        &format!("Credentials earned with {}", issuer(node).name),
        credentials,
    );
    sign(node, &unsigned, &now)
}

/// A printable certificate for one award, made out to the learner by name.
pub fn certificate(node: &Node, actor: &Actor, award_id: &str) -> Result<String> {
    let credential = export_award(node, actor, award_id)?;
    let doc = learners::doc_of(node, award_id.trim())?;
    let profile = learners::profile(node, &doc)?.unwrap_or(Json::Null);
    let name = format!(
        "{} {}",
        profile["given_name"].as_str().unwrap_or(""),
        profile["family_name"].as_str().unwrap_or("")
    );
    Ok(certificate::html(&credential, name.trim()))
}

/// What this node knows about signing keys: itself, its hub, and the sites the program admitted
/// or revoked.
pub struct ProgramTrust {
    known: Vec<(VerifyingKey, Standing)>,
}

impl ProgramTrust {
    /// Read the trust records this node holds.
    pub fn of(node: &Node) -> Result<ProgramTrust> {
        let mut known = vec![(
            node.key.signing_key().verifying_key(),
            Standing::Admitted {
                name: node.config.name.clone(),
            },
        )];
        if let (Some(hub), Some(link)) = (node.hub_id(), node.config.hub.as_ref())
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
    json!({
        "id": credential["id"],
        "name": credential["name"],
        "issuer": credential["issuer"],
        "validFrom": credential["validFrom"],
    })
}
