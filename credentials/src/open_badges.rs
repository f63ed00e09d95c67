//! Open Badges 3.0 credentials (1EdTech OB 3.0, on the W3C VC Data Model 2.0) and the learner's
//! bundle of them (in the style of CLR 2.0).
//!
//! Everything here builds plain JSON from plain inputs; signing is `data_integrity`'s job and the
//! node decides what goes in. Field names and required members follow the OB 3.0 data model:
//! an `AchievementSubject` names the learner by `id` or by a salted, hashed `IdentityObject`
//! (how a learner with no identifier to publish — say, an incarcerated learner — can still prove
//! the credential is theirs), and every `Achievement` carries `id`, `name`, `description` and
//! `criteria`.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The VC Data Model 2.0 context, always first.
pub const VC_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";
/// The Open Badges 3.0 context this crate writes.
pub const OB_CONTEXT: &str = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json";
/// Any Open Badges 3.0.x context starts with this.
pub const OB_CONTEXT_PREFIX: &str = "https://purl.imsglobal.org/spec/ob/v3p0/context";
/// The CLR 2.0 context, for a learner's bundle.
pub const CLR_CONTEXT: &str = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json";
/// Any CLR 2.0.x context starts with this.
pub const CLR_CONTEXT_PREFIX: &str = "https://purl.imsglobal.org/spec/clr/v2p0/context";

/// The issuer profile: the program people see, and the DID of the key that signs for it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Issuer {
    /// `did:key:…` of the signing node (the program's own key, or a site's key the program
    /// endorsed).
    pub did: String,
    /// The program's name, as shown on the credential.
    pub name: String,
    /// The program's web address, if it has one.
    pub url: Option<String>,
    /// What the program is, in a sentence.
    pub description: Option<String>,
    /// Signed `EndorsementCredential`s in which the program vouches for the signing key (empty
    /// when the program signs itself).
    pub endorsements: Vec<Value>,
}

/// The program's endorsement of a key that signs for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endorsement {
    /// `urn:uuid:…`.
    pub id: String,
    /// The program that endorses (its own did:key signs).
    pub program: Issuer,
    /// The DID of the key endorsed.
    pub key: String,
    /// When it takes effect.
    pub valid_from: String,
}

/// A skill, competency or other target an achievement aligns to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Alignment {
    /// Name of the target.
    pub name: String,
    /// Where it is described; a URN is made up from the name when there is none.
    pub url: Option<String>,
    /// The framework it belongs to.
    pub framework: Option<String>,
    /// Its code in the framework.
    pub code: Option<String>,
    /// OB 3.0 `AlignmentTargetType` (`ceasn:Competency`, `ceterms:Credential`, …).
    pub target_type: Option<String>,
    /// What it means, in words.
    pub description: Option<String>,
}

/// The achievement a credential recognizes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AchievementInfo {
    /// A URI for the achievement (stable across learners).
    pub id: String,
    /// Name.
    pub name: String,
    /// What it is.
    pub description: String,
    /// What a learner must show, in words.
    pub criteria: String,
    /// OB 3.0 `achievementType` (`Badge`, `MicroCredential`, …).
    pub achievement_type: String,
    /// Level 1–3, written as a tag (OB 3.0 has no level member).
    pub level: Option<i64>,
    /// Skill alignments, then recognitions (credit equivalences) as `ceterms:Credential` targets.
    pub alignments: Vec<Alignment>,
}

/// A piece of evidence the credential refers to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EvidenceRef {
    /// A URI for it (Cairn uses the SHA-256 of a file, or the id of a part credential).
    pub id: Option<String>,
    /// A short name.
    pub name: Option<String>,
    /// The narrative, or a description.
    pub narrative: Option<String>,
    /// Kind of evidence (`File`, `Credential`, …).
    pub genre: Option<String>,
}

/// One identity of a learner, kept in a credential only as a salted hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HashedIdentity {
    /// An OB 3.0 `IdentifierTypeEnum` value (`name`, `emailAddress`, `sisSourcedId`, …).
    pub identity_type: String,
    /// The identity exactly as hashed (see [`name_as_printed`]).
    pub value: String,
    /// A random salt.
    pub salt: String,
}

/// How the credential names its learner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubjectIdentity {
    /// A published identifier (a DID or URL).
    Id(String),
    /// Salted SHA-256 hashes of identities. The learner proves the credential is theirs by
    /// showing one of them.
    Hashed(Vec<HashedIdentity>),
}

/// A name as a certificate prints it, which is what its identity hash covers: Unicode NFC (so
/// "María" typed with a combining accent is the same name), words separated by one space (as
/// HTML prints any run of white space), case kept.
pub fn name_as_printed(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    name.nfc()
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Everything that goes in one credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadgeCredential {
    /// `urn:uuid:…`, derived from the award so it is stable.
    pub id: String,
    /// Who issues it.
    pub issuer: Issuer,
    /// When it takes effect (RFC 3339).
    pub valid_from: String,
    /// When it ends, if ever.
    pub valid_until: Option<String>,
    /// The achievement.
    pub achievement: AchievementInfo,
    /// The learner.
    pub subject: SubjectIdentity,
    /// Evidence (and, for a micro-credential, its part credentials).
    pub evidence: Vec<EvidenceRef>,
}

/// The `identityHash` of an identity: `sha256$` + hex(SHA-256(identity ‖ salt)), as OB 3.0 says.
pub fn identity_hash(value: &str, salt: &str) -> String {
    let digest = Sha256::digest(format!("{value}{salt}").as_bytes());
    format!("sha256${}", hex::encode(digest))
}

/// A stable `urn:uuid:` from any bytes (SHA-256, formatted as a version 8 UUID).
pub fn urn_uuid(seed: &[u8]) -> String {
    let mut b: [u8; 16] = Sha256::digest(seed)[..16].try_into().unwrap_or([0; 16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn alignment_json(a: &Alignment) -> Value {
    let mut v = json!({
        "type": ["Alignment"],
        "targetName": a.name,
        "targetUrl": a.url.clone().unwrap_or_else(|| format!("urn:cairn:alignment:{}", slug(&a.name))),
    });
    for (k, val) in [
        ("targetFramework", &a.framework),
        ("targetCode", &a.code),
        ("targetType", &a.target_type),
        ("targetDescription", &a.description),
    ] {
        if let Some(val) = val {
            v[k] = json!(val);
        }
    }
    v
}

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// The `Profile` of an issuer.
pub fn profile_json(issuer: &Issuer) -> Value {
    let mut v = json!({"id": issuer.did, "type": ["Profile"], "name": issuer.name});
    if let Some(url) = &issuer.url {
        v["url"] = json!(url);
    }
    if let Some(d) = &issuer.description {
        v["description"] = json!(d);
    }
    if !issuer.endorsements.is_empty() {
        v["endorsement"] = json!(issuer.endorsements);
    }
    v
}

/// The unsigned `EndorsementCredential` by which a program vouches for a key that signs its
/// credentials. It names the program and the key, nothing about the place the key is kept.
pub fn endorsement_json(e: &Endorsement) -> Value {
    json!({
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": e.id,
        "type": ["VerifiableCredential", "EndorsementCredential"],
        "name": format!("{}: an authorized signing key", e.program.name),
        "issuer": profile_json(&e.program),
        "validFrom": e.valid_from,
        "credentialSubject": {
            "id": e.key,
            "type": ["EndorsementSubject"],
            "endorsementComment": format!(
                "This key signs credentials on behalf of {}.", e.program.name
            ),
        },
    })
}

/// The `Achievement` object.
pub fn achievement_json(a: &AchievementInfo) -> Value {
    let mut v = json!({
        "id": a.id,
        "type": ["Achievement"],
        "name": a.name,
        "description": a.description,
        "criteria": {"narrative": a.criteria},
        "achievementType": a.achievement_type,
    });
    if let Some(level) = a.level {
        v["tag"] = json!([format!("Level {level}")]);
    }
    if !a.alignments.is_empty() {
        v["alignment"] = a.alignments.iter().map(alignment_json).collect();
    }
    v
}

fn identity_json(subject: &SubjectIdentity) -> (Option<String>, Option<Value>) {
    match subject {
        SubjectIdentity::Id(id) => (Some(id.clone()), None),
        SubjectIdentity::Hashed(identities) => (
            None,
            Some(
                identities
                    .iter()
                    .map(|i| {
                        json!({
                            "type": "IdentityObject",
                            "hashed": true,
                            "identityHash": identity_hash(&i.value, &i.salt),
                            "identityType": i.identity_type,
                            "salt": i.salt,
                        })
                    })
                    .collect(),
            ),
        ),
    }
}

/// The unsigned `OpenBadgeCredential`.
pub fn credential_json(c: &BadgeCredential) -> Value {
    let issuer = profile_json(&c.issuer);
    let mut subject = json!({
        "type": ["AchievementSubject"],
        "achievement": achievement_json(&c.achievement),
    });
    match identity_json(&c.subject) {
        (Some(id), _) => subject["id"] = json!(id),
        (_, Some(identifier)) => subject["identifier"] = identifier,
        _ => {}
    }
    let mut v = json!({
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": c.id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": c.achievement.name,
        "issuer": issuer,
        "validFrom": c.valid_from,
        "credentialSubject": subject,
    });
    if let Some(until) = &c.valid_until {
        v["validUntil"] = json!(until);
    }
    if !c.evidence.is_empty() {
        v["evidence"] = c
            .evidence
            .iter()
            .map(|e| {
                let mut ev = json!({"type": ["Evidence"]});
                for (k, val) in [
                    ("id", &e.id),
                    ("name", &e.name),
                    ("narrative", &e.narrative),
                    ("genre", &e.genre),
                ] {
                    if let Some(val) = val {
                        ev[k] = json!(val);
                    }
                }
                ev
            })
            .collect();
    }
    v
}

/// The unsigned learner bundle: a `ClrCredential` holding signed credentials.
pub fn learner_bundle_json(
    id: &str,
    issuer: &Issuer,
    valid_from: &str,
    subject: &SubjectIdentity,
    name: &str,
    credentials: Vec<Value>,
) -> Value {
    let mut subject_json = json!({
        "type": ["ClrSubject"],
        "verifiableCredential": credentials,
    });
    match identity_json(subject) {
        (Some(sid), _) => subject_json["id"] = json!(sid),
        (_, Some(identifier)) => subject_json["identifier"] = identifier,
        _ => {}
    }
    json!({
        "@context": [VC_CONTEXT, CLR_CONTEXT, OB_CONTEXT],
        "id": id,
        "type": ["VerifiableCredential", "ClrCredential"],
        "name": name,
        "issuer": profile_json(issuer),
        "validFrom": valid_from,
        "credentialSubject": subject_json,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_hashes_follow_the_ob3_form() {
        // sha256("Jane Doe" + "abc") computed independently with `printf 'Jane Doeabc' | sha256sum`.
        assert_eq!(
            identity_hash("Jane Doe", "abc"),
            "sha256$d24116dfc77f517d49b243446319b04bb4bbfe1a93fce2a971aa41a513b62561"
        );
        assert_ne!(
            identity_hash("Jane Doe", "abc"),
            identity_hash("Jane Doe", "abd")
        );
    }

    #[test]
    fn names_are_hashed_as_printed() {
        // "María" with a combining acute accent (NFD) is the same printed name as with é (NFC).
        assert_eq!(
            name_as_printed("Mari\u{301}a  Lo\u{301}pez "),
            "María López"
        );
        assert_eq!(name_as_printed("María López"), "María López");
        assert_ne!(name_as_printed("maría lópez"), "María López");
    }

    #[test]
    fn urn_uuids_are_stable_and_well_formed() {
        let a = urn_uuid(b"A-1");
        assert_eq!(a, urn_uuid(b"A-1"));
        assert_ne!(a, urn_uuid(b"A-2"));
        let u = a.strip_prefix("urn:uuid:").unwrap();
        let parts: Vec<&str> = u.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('8'));
    }
}
