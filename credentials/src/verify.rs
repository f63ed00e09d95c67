//! Checking a credential file as a recognizer would: every proof, who signed it, the program's
//! endorsement of the signing key, the dates, the members Open Badges 3.0 requires, and — when
//! the checking node knows the program — whether the signing key belongs to an admitted,
//! unrevoked site. Every problem is a sentence.

use crate::data_integrity::{self, ProofError};
use crate::open_badges::{
    CLR_CONTEXT_PREFIX, OB_CONTEXT_PREFIX, VC_CONTEXT, identity_hash, name_as_printed,
};
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Largest credential file read (a learner bundle of many badges stays far below this).
pub const MAX_FILE: usize = 8 << 20;
/// Deepest nesting of bundles inside bundles.
const MAX_DEPTH: usize = 2;
/// Clock difference tolerated for `validFrom` in the future (sites' clocks drift).
const SKEW: time::Duration = time::Duration::minutes(10);

/// What the checking node knows about a signing key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "standing", rename_all = "snake_case")]
pub enum Standing {
    /// The checker knows no program (no store): only the proof can be checked.
    NotChecked,
    /// A node this program admitted, and has not revoked.
    Admitted {
        /// Its name.
        name: String,
    },
    /// A node this program revoked: nothing it signed is trusted any more, since whoever holds a
    /// revoked key can write any date into what they sign.
    Revoked {
        /// Its name.
        name: String,
        /// Why (and when) it was revoked, as the hub recorded it.
        reason: String,
    },
    /// A key this program never admitted.
    Unknown,
}

/// Who the checking node trusts to sign.
pub trait IssuerTrust {
    /// The standing of a signing key.
    fn standing(&self, key: &VerifyingKey) -> Standing;
    /// The program (its did:key) a credential must come from: signed by that key, or by a key
    /// it endorsed in the credential. `None`: not checked this way.
    fn program(&self) -> Option<String> {
        None
    }
}

/// A checker that knows only a program's identifier (`cairn credential verify --program`), on
/// top of whatever else it knows.
pub struct Program<'a> {
    /// The program's did:key.
    pub did: String,
    /// What else the checker knows.
    pub inner: &'a dyn IssuerTrust,
}

impl IssuerTrust for Program<'_> {
    fn standing(&self, key: &VerifyingKey) -> Standing {
        self.inner.standing(key)
    }
    fn program(&self) -> Option<String> {
        Some(self.did.clone())
    }
}

/// An endorsement of the signing key found in a credential.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndorsedBy {
    /// The endorser's did:key (the program's).
    pub program: String,
    /// The name the endorser gives itself.
    pub name: Option<String>,
}

/// A checker that knows no program.
pub struct NoTrustList;

impl IssuerTrust for NoTrustList {
    fn standing(&self, _: &VerifyingKey) -> Standing {
        Standing::NotChecked
    }
}

/// The outcome for one credential (and, for a learner bundle, for each one inside it).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Verification {
    /// `OpenBadgeCredential`, `ClrCredential`, or what the file says it is.
    pub kind: String,
    /// The credential's id.
    pub id: Option<String>,
    /// Its name (the achievement's, for a badge).
    pub name: Option<String>,
    /// The issuer's name and DID.
    pub issuer_name: Option<String>,
    /// The issuer's id.
    pub issuer: Option<String>,
    /// From when it is valid.
    pub valid_from: Option<String>,
    /// The signing key's standing with this node.
    pub standing: Standing,
    /// Whether the identity given to `--name` matches the subject's hashed identity.
    pub identity_matches: Option<bool>,
    /// The cryptosuites of the proofs that verified (every proof must).
    #[serde(default)]
    pub proofs: Vec<String>,
    /// Valid endorsements of the signing key carried in the credential.
    #[serde(default)]
    pub endorsed_by: Vec<EndorsedBy>,
    /// Everything wrong; empty when valid.
    pub problems: Vec<String>,
    /// Credentials inside a learner bundle.
    pub contains: Vec<Verification>,
}

impl Verification {
    /// Valid: a good proof, good dates and fields, a trusted or unchecked key, and every
    /// credential inside valid too.
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty() && self.contains.iter().all(Verification::is_valid)
    }
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str()
}

fn types(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => vec![],
    }
}

fn parse_date(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// Parse and check a credential file.
pub fn verify_bytes(
    bytes: &[u8],
    now: OffsetDateTime,
    trust: &dyn IssuerTrust,
    identity: Option<&str>,
) -> Result<Verification, String> {
    if bytes.len() > MAX_FILE {
        return Err(format!(
            "the file is {} bytes; a credential file is at most {MAX_FILE}",
            bytes.len()
        ));
    }
    // A QR code's content (the verifier link, or its digits) carries a credential too.
    let text = std::str::from_utf8(bytes).unwrap_or("").trim();
    let doc: Value = if crate::qr::looks_like_payload(text) {
        crate::qr::decode(text).map_err(|e| format!("the QR code's content is unreadable: {e}"))?
    } else {
        serde_json::from_slice(bytes).map_err(|e| {
            format!("the file is not valid JSON ({e}), so it cannot be a credential")
        })?
    };
    Ok(verify(&doc, now, trust, identity))
}

/// Check a credential (an `OpenBadgeCredential`, or a `ClrCredential` learner bundle).
pub fn verify(
    doc: &Value,
    now: OffsetDateTime,
    trust: &dyn IssuerTrust,
    identity: Option<&str>,
) -> Verification {
    verify_at(doc, now, trust, identity, 0)
}

fn verify_at(
    doc: &Value,
    now: OffsetDateTime,
    trust: &dyn IssuerTrust,
    identity: Option<&str>,
    depth: usize,
) -> Verification {
    let kinds = types(doc.get("type"));
    let kind = [
        "OpenBadgeCredential",
        "AchievementCredential",
        "ClrCredential",
    ]
    .into_iter()
    .find(|k| kinds.iter().any(|t| t == k))
    .map(str::to_string)
    .unwrap_or_else(|| kinds.last().cloned().unwrap_or_else(|| "unknown".into()));
    let issuer = match doc.get("issuer") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(v) => v.get("id").and_then(Value::as_str).map(str::to_string),
        None => None,
    };
    let mut v = Verification {
        kind: kind.clone(),
        id: str_at(doc, &["id"]).map(str::to_string),
        name: str_at(doc, &["name"])
            .or_else(|| str_at(doc, &["credentialSubject", "achievement", "name"]))
            .map(str::to_string),
        issuer_name: str_at(doc, &["issuer", "name"]).map(str::to_string),
        issuer: issuer.clone(),
        valid_from: str_at(doc, &["validFrom"]).map(str::to_string),
        standing: Standing::NotChecked,
        identity_matches: None,
        proofs: Vec::new(),
        endorsed_by: Vec::new(),
        problems: Vec::new(),
        contains: Vec::new(),
    };
    if !doc.is_object() {
        v.problems.push(ProofError::NotAnObject.to_string());
        return v;
    }

    // Every proof, and that each signer is the issuer.
    let mut signer_key = None;
    match data_integrity::verify(doc) {
        Ok(proofs) => {
            for proof in &proofs {
                if issuer.as_deref() != Some(proof.signer.as_str()) {
                    v.problems.push(format!(
                        "the credential says it was issued by {}, but its {} proof was signed by {}",
                        issuer.as_deref().unwrap_or("nobody"),
                        proof.cryptosuite,
                        proof.signer
                    ));
                }
                if proof.proof_purpose != "assertionMethod" {
                    v.problems.push(format!(
                        "the proof's purpose is `{}`, not `assertionMethod`: it does not assert the credential",
                        proof.proof_purpose
                    ));
                }
                match proof.created.as_deref().map(|c| (c, parse_date(c))) {
                    Some((c, None)) => v.problems.push(format!(
                        "the proof's creation date `{c}` is not a valid date"
                    )),
                    Some((c, Some(t))) if t > now + SKEW => v.problems.push(format!(
                        "the proof claims to have been made on {c}, which is in the future"
                    )),
                    _ => {}
                }
                v.proofs.push(proof.cryptosuite.clone());
            }
            if let Some(proof) = proofs.first() {
                signer_key = Some((proof.signer.clone(), proof.key));
            }
        }
        Err(e) => v.problems.push(e.to_string()),
    }
    if let Some((signer, key)) = &signer_key {
        v.standing = trust.standing(key);
        match &v.standing {
            Standing::Revoked { name, reason } => v.problems.push(format!(
                "it was signed by {name}, a site this program revoked ({reason}); what that key signs is no longer trusted"
            )),
            Standing::Unknown => v.problems.push(
                "it was signed by a key this program never admitted (not its hub or one of its sites)"
                    .into(),
            ),
            _ => {}
        }
        check_endorsements(doc, signer, now, &mut v);
        if let Some(program) = trust.program()
            && *signer != program
            && !v.endorsed_by.iter().any(|e| e.program == program)
        {
            v.problems.push(format!(
                "it was neither signed by the program {program} nor by a key that program endorsed"
            ));
        }
    }

    // The data model.
    let contexts = match doc.get("@context") {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect::<Vec<_>>(),
        Some(Value::String(s)) => vec![s.as_str()],
        _ => vec![],
    };
    if contexts.first() != Some(&VC_CONTEXT) {
        v.problems.push(format!(
            "its first @context is not {VC_CONTEXT}: it is not a Verifiable Credential 2.0"
        ));
    }
    if !kinds.iter().any(|t| t == "VerifiableCredential") {
        v.problems
            .push("its type does not include VerifiableCredential".into());
    }
    if v.id.is_none() {
        v.problems.push("it has no id".into());
    }
    if issuer.is_none() {
        v.problems.push("it names no issuer".into());
    }
    match v.valid_from.as_deref().map(|d| (d, parse_date(d))) {
        None => v.problems.push("it has no validFrom date".into()),
        Some((d, None)) => v
            .problems
            .push(format!("its validFrom `{d}` is not a valid date")),
        Some((d, Some(t))) if t > now + SKEW => v
            .problems
            .push(format!("it is not valid yet: it takes effect on {d}")),
        _ => {}
    }
    if let Some(until) = str_at(doc, &["validUntil"]) {
        match parse_date(until) {
            None => v
                .problems
                .push(format!("its validUntil `{until}` is not a valid date")),
            Some(t) if t < now => v.problems.push(format!("it expired on {until}")),
            _ => {}
        }
    }
    let subject = doc.get("credentialSubject");
    if subject.is_none_or(|s| !s.is_object()) {
        v.problems.push("it has no credentialSubject".into());
    }
    let subject = subject.cloned().unwrap_or(Value::Null);
    if subject.get("id").is_none() && subject.get("identifier").is_none() {
        v.problems
            .push("its subject names no learner (neither an id nor an identifier)".into());
    }
    if let Some(name) = identity {
        v.identity_matches = Some(identity_matches(&subject, name));
    }
    match kind.as_str() {
        "OpenBadgeCredential" | "AchievementCredential" => {
            if !contexts.iter().any(|c| c.starts_with(OB_CONTEXT_PREFIX)) {
                v.problems
                    .push("it does not use the Open Badges 3.0 @context".into());
            }
            check_achievement(subject.get("achievement"), &mut v.problems);
        }
        "ClrCredential" => {
            if !contexts.iter().any(|c| c.starts_with(CLR_CONTEXT_PREFIX)) {
                v.problems.push("it does not use the CLR 2.0 @context".into());
            }
            match subject.get("verifiableCredential").and_then(Value::as_array) {
                Some(list) if !list.is_empty() && depth < MAX_DEPTH => {
                    for c in list {
                        v.contains
                            .push(verify_at(c, now, trust, identity, depth + 1));
                    }
                }
                Some(_) if depth >= MAX_DEPTH => v
                    .problems
                    .push("its credentials are nested too deeply".into()),
                _ => v.problems.push("it holds no credentials".into()),
            }
        }
        other => v.problems.push(format!(
            "it is a `{other}`, not an Open Badges credential (OpenBadgeCredential) or a learner bundle (ClrCredential)"
        )),
    }
    v
}

/// The endorsements in `issuer.endorsement`: each must be an `EndorsementCredential` whose every
/// proof verifies and is by its own issuer, about the key that signed the credential.
fn check_endorsements(doc: &Value, signer: &str, now: OffsetDateTime, v: &mut Verification) {
    let Some(list) = doc.pointer("/issuer/endorsement") else {
        return;
    };
    let Some(list) = list.as_array().filter(|l| l.len() <= 8) else {
        v.problems
            .push("its issuer's `endorsement` is not a short list of credentials".into());
        return;
    };
    for e in list {
        let endorser = e
            .get("issuer")
            .and_then(|i| i.get("id").or(Some(i)))
            .and_then(Value::as_str)
            .unwrap_or("");
        let problem = if !types(e.get("type"))
            .iter()
            .any(|t| t == "EndorsementCredential")
        {
            Some("it is not an EndorsementCredential".to_string())
        } else if e.pointer("/credentialSubject/id").and_then(Value::as_str) != Some(signer) {
            Some("it is about another key than the one that signed".to_string())
        } else {
            match data_integrity::verify(e) {
                Err(err) => Some(err.to_string()),
                Ok(proofs) if proofs.iter().any(|p| p.signer != endorser) => {
                    Some("it was not signed by the issuer it names".to_string())
                }
                Ok(_) => match e
                    .get("validFrom")
                    .and_then(Value::as_str)
                    .and_then(parse_date)
                {
                    None => Some("it has no valid validFrom date".to_string()),
                    Some(t) if t > now + SKEW => Some("it is not valid yet".to_string()),
                    _ => None,
                },
            }
        };
        match problem {
            Some(p) => v.problems.push(format!(
                "an endorsement of the signing key is not valid: {p}"
            )),
            None => v.endorsed_by.push(EndorsedBy {
                program: endorser.to_string(),
                name: e
                    .pointer("/issuer/name")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            }),
        }
    }
}

fn check_achievement(achievement: Option<&Value>, problems: &mut Vec<String>) {
    let Some(a) = achievement.filter(|a| a.is_object()) else {
        problems.push("its subject names no achievement".into());
        return;
    };
    if !types(a.get("type")).iter().any(|t| t == "Achievement") {
        problems.push("its achievement is not typed Achievement".into());
    }
    for field in ["id", "name", "description"] {
        if a.get(field)
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            problems.push(format!("its achievement has no {field}"));
        }
    }
    let criteria = a.get("criteria");
    if criteria.is_none_or(|c| c.get("narrative").is_none() && c.get("id").is_none()) {
        problems.push("its achievement has no criteria".into());
    }
}

/// Whether `name` is an identity the subject's hashed identifiers were made from: as printed
/// ([`name_as_printed`]: Unicode NFC, single spaces, case kept) — or, for credentials Cairn made
/// before it hashed names as printed, folded to lower case the way it then did.
pub fn identity_matches(subject: &Value, name: &str) -> bool {
    let Some(ids) = subject.get("identifier").and_then(Value::as_array) else {
        return false;
    };
    let candidates = [name_as_printed(name), legacy_fold(name)];
    ids.iter().any(|id| {
        let (Some(hash), salt) = (
            id.get("identityHash").and_then(Value::as_str),
            id.get("salt").and_then(Value::as_str).unwrap_or(""),
        ) else {
            return false;
        };
        candidates.iter().any(|n| identity_hash(n, salt) == hash)
    })
}

/// How Cairn folded a name before hashing it until credentials hashed names as printed: words
/// separated by one space, lower case.
fn legacy_fold(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Fold text for searching and for spotting duplicate people: NFC, single spaces, lower case.
pub fn normalize_identity(name: &str) -> String {
    name_as_printed(name).to_lowercase()
}
