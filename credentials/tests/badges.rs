//! Open Badges 3.0 credentials as Cairn makes them: they verify, and any change to a field, the
//! key or the proof is caught with the right message.

use cairn_credentials::data_integrity::{self, ProofOptions};
use cairn_credentials::did_key;
use cairn_credentials::open_badges::*;
use cairn_credentials::verify::{self, IssuerTrust, NoTrustList, Standing};
use ed25519_dalek::{SigningKey, VerifyingKey};
use proptest::prelude::*;
use serde_json::Value;
use time::macros::datetime;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn badge(signer: &SigningKey) -> Value {
    let did = did_key::did_key(&signer.verifying_key());
    let c = BadgeCredential {
        id: urn_uuid(b"A-test"),
        issuer: Issuer {
            did: did.clone(),
            name: "University of Maine System".into(),
            description: Some("Southern Maine Women's Reentry Center".into()),
        },
        valid_from: "2026-05-01T15:00:00Z".into(),
        valid_until: None,
        achievement: AchievementInfo {
            id: "urn:cairn:achievement:css-level-1".into(),
            name: "Computer Support Specialist — Level 1".into(),
            description: "Foundations of computer support.".into(),
            criteria: "Install and configure an operating system; document the steps.".into(),
            achievement_type: "Badge".into(),
            level: Some(1),
            alignments: vec![
                Alignment {
                    name: "Operating systems".into(),
                    framework: Some("CompTIA A+".into()),
                    code: Some("1.1".into()),
                    target_type: Some("ceasn:Competency".into()),
                    ..Default::default()
                },
                Alignment {
                    name: "AS Computer Information Systems".into(),
                    target_type: Some("ceterms:Credential".into()),
                    description: Some("3 college credits (University of Maine at Augusta)".into()),
                    ..Default::default()
                },
            ],
        },
        subject: SubjectIdentity::Hashed {
            identity_type: "name".into(),
            value: "maria lopez".into(),
            salt: "5f0c".into(),
        },
        evidence: vec![EvidenceRef {
            id: Some("urn:sha256:00ff".into()),
            name: Some("install-log.pdf".into()),
            narrative: Some("I installed Debian on a lab machine.".into()),
            genre: Some("File".into()),
        }],
    };
    let options = ProofOptions {
        created: "2026-05-01T15:00:00Z".into(),
        verification_method: did_key::verification_method(&signer.verifying_key()),
        proof_purpose: "assertionMethod".into(),
    };
    data_integrity::sign(&credential_json(&c), signer, &options)
        .unwrap()
        .0
}

const NOW: time::OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

fn check(doc: &Value) -> verify::Verification {
    verify::verify(doc, NOW, &NoTrustList, None)
}

#[test]
fn a_credential_made_here_verifies_and_names_its_issuer_and_achievement() {
    let doc = badge(&key(1));
    let v = check(&doc);
    assert!(v.is_valid(), "{:?}", v.problems);
    assert_eq!(v.kind, "OpenBadgeCredential");
    assert_eq!(v.issuer_name.as_deref(), Some("University of Maine System"));
    assert_eq!(v.issuer, Some(did_key::did_key(&key(1).verifying_key())));
    assert_eq!(doc["@context"][1], OB_CONTEXT);
    // The learner proves it is theirs with their name, however they type its spacing and case.
    let v = verify::verify(&doc, NOW, &NoTrustList, Some("  Maria   LOPEZ "));
    assert_eq!(v.identity_matches, Some(true));
    let v = verify::verify(&doc, NOW, &NoTrustList, Some("Mario Lopez"));
    assert_eq!(v.identity_matches, Some(false));
}

fn leaves(v: &Value, path: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => m
            .iter()
            .for_each(|(k, x)| leaves(x, format!("{path}/{k}"), out)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| leaves(x, format!("{path}/{i}"), out)),
        _ => out.push(path),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]
    /// Change any one value anywhere outside the proof value: the signature no longer matches
    /// (or, for the proof's own members, the proof is refused for the changed member).
    #[test]
    fn changing_any_field_breaks_verification(pick in any::<prop::sample::Index>(), junk in "[a-z0-9 ]{1,12}") {
        let doc = badge(&key(1));
        let mut paths = Vec::new();
        leaves(&doc, String::new(), &mut paths);
        let path = pick.get(&paths).clone();
        let mut changed = doc.clone();
        let slot = changed.pointer_mut(&path).unwrap();
        *slot = match slot {
            Value::String(s) => Value::String(format!("{s}{junk}")),
            Value::Bool(b) => Value::Bool(!*b),
            Value::Number(n) => Value::from(n.as_i64().unwrap_or(0) + 1),
            _ => Value::String(junk.clone()),
        };
        let v = check(&changed);
        prop_assert!(!v.is_valid(), "changing {} went unnoticed", path);
                let expected = if path.starts_with("/@context/") {
            "the proof's @context does not match"
        } else {
            "the signature does not match"
        };
        if !path.starts_with("/proof/") {
            prop_assert!(
                v.problems.iter().any(|p| p.starts_with(expected)),
                "{}: {:?}", path, v.problems
            );
        }
    }

    /// Arbitrary JSON is reported on, never a panic.
    #[test]
    fn any_json_gives_a_verdict(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = verify::verify_bytes(&bytes, NOW, &NoTrustList, None);
    }
}

#[test]
fn adding_or_removing_a_field_is_caught() {
    let doc = badge(&key(1));
    let mut added = doc.clone();
    added["credentialSubject"]["achievement"]["creditsAvailable"] = 9.into();
    assert!(check(&added).problems[0].starts_with("the signature does not match"));
    let mut removed = doc.clone();
    removed.as_object_mut().unwrap().remove("evidence");
    assert!(check(&removed).problems[0].starts_with("the signature does not match"));
}

#[test]
fn the_key_and_the_proof_are_checked() {
    let doc = badge(&key(1));
    // Signed with another key that claims to be the issuer's.
    let mut other = doc.clone();
    other["proof"]["verificationMethod"] =
        did_key::verification_method(&key(2).verifying_key()).into();
    assert!(check(&other).problems[0].starts_with("the signature does not match"));
    // Re-signed by another key: the signature is good but it is not the issuer's.
    let forged = badge_resigned(&doc, &key(2));
    let v = check(&forged);
    assert!(
        v.problems
            .iter()
            .any(|p| p.contains("but it was signed by")),
        "{:?}",
        v.problems
    );
    // A damaged or missing proof.
    let mut bad = doc.clone();
    bad["proof"]["proofValue"] = "z111".into();
    assert!(check(&bad).problems[0].contains("signature value is malformed"));
    let mut bad = doc.clone();
    let pv = bad["proof"]["proofValue"].as_str().unwrap().to_string();
    let mut flipped: Vec<char> = pv.chars().collect();
    flipped[10] = if flipped[10] == 'A' { 'B' } else { 'A' };
    bad["proof"]["proofValue"] = flipped.into_iter().collect::<String>().into();
    let v = check(&bad);
    assert!(
        v.problems[0].starts_with("the signature does not match")
            || v.problems[0].contains("malformed"),
        "{:?}",
        v.problems
    );
    let mut none = doc.clone();
    none.as_object_mut().unwrap().remove("proof");
    assert!(check(&none).problems[0].contains("carries no proof"));
    let mut suite = doc.clone();
    suite["proof"]["cryptosuite"] = "eddsa-rdfc-2022".into();
    assert!(check(&suite).problems[0].contains("not an eddsa-jcs-2022"));
    let mut purpose = doc.clone();
    purpose["proof"]["proofPurpose"] = "authentication".into();
    assert!(!check(&purpose).is_valid());
}

fn badge_resigned(doc: &Value, by: &SigningKey) -> Value {
    let options = ProofOptions {
        created: "2026-05-01T15:00:00Z".into(),
        verification_method: did_key::verification_method(&by.verifying_key()),
        proof_purpose: "assertionMethod".into(),
    };
    data_integrity::sign(doc, by, &options).unwrap().0
}

#[test]
fn dates_and_required_fields_are_checked_in_plain_words() {
    let signer = key(1);
    let resign = |f: &dyn Fn(&mut Value)| {
        let mut d = badge(&signer);
        f(&mut d);
        check(&badge_resigned(&d, &signer)).problems
    };
    assert_eq!(
        resign(&|d| d["validFrom"] = "2027-01-01T00:00:00Z".into()),
        ["it is not valid yet: it takes effect on 2027-01-01T00:00:00Z"]
    );
    assert_eq!(
        resign(&|d| d["validUntil"] = "2026-06-01T00:00:00Z".into()),
        ["it expired on 2026-06-01T00:00:00Z"]
    );
    assert_eq!(
        resign(&|d| d["validFrom"] = "last spring".into()),
        ["its validFrom `last spring` is not a valid date"]
    );
    assert_eq!(
        resign(&|d| {
            d["credentialSubject"]["achievement"]
                .as_object_mut()
                .unwrap()
                .remove("criteria");
        }),
        ["its achievement has no criteria"]
    );
    assert_eq!(
        resign(&|d| {
            d["credentialSubject"]["achievement"]
                .as_object_mut()
                .unwrap()
                .remove("name");
        }),
        ["its achievement has no name"]
    );
    assert_eq!(
        resign(&|d| {
            d["credentialSubject"]
                .as_object_mut()
                .unwrap()
                .remove("identifier");
        }),
        ["its subject names no learner (neither an id nor an identifier)"]
    );
    assert_eq!(
        resign(&|d| d["@context"] = serde_json::json!([VC_CONTEXT])),
        ["it does not use the Open Badges 3.0 @context"]
    );
}

struct Program {
    admitted: VerifyingKey,
    revoked: VerifyingKey,
}

impl IssuerTrust for Program {
    fn standing(&self, key: &VerifyingKey) -> Standing {
        if *key == self.admitted {
            Standing::Admitted {
                name: "Ellsworth".into(),
            }
        } else if *key == self.revoked {
            Standing::Revoked {
                name: "Lost kiosk".into(),
                reason: "stolen on 2026-09-01".into(),
            }
        } else {
            Standing::Unknown
        }
    }
}

#[test]
fn a_node_that_knows_the_program_checks_the_signing_site() {
    let program = Program {
        admitted: key(1).verifying_key(),
        revoked: key(2).verifying_key(),
    };
    let v = verify::verify(&badge(&key(1)), NOW, &program, None);
    assert!(v.is_valid());
    assert_eq!(
        v.standing,
        Standing::Admitted {
            name: "Ellsworth".into()
        }
    );
    let v = verify::verify(&badge(&key(2)), NOW, &program, None);
    assert!(
        v.problems[0].contains("revoked (stolen on 2026-09-01)"),
        "{:?}",
        v.problems
    );
    let v = verify::verify(&badge(&key(3)), NOW, &program, None);
    assert!(v.problems[0].contains("never admitted"), "{:?}", v.problems);
}

#[test]
fn a_learner_bundle_verifies_each_credential_inside() {
    let signer = key(1);
    let issuer = Issuer {
        did: did_key::did_key(&signer.verifying_key()),
        name: "University of Maine System".into(),
        description: None,
    };
    let subject = SubjectIdentity::Hashed {
        identity_type: "name".into(),
        value: "maria lopez".into(),
        salt: "5f0c".into(),
    };
    let mut damaged = badge(&signer);
    damaged["name"] = "Something else".into();
    let unsigned = learner_bundle_json(
        &urn_uuid(b"bundle"),
        &issuer,
        "2026-06-01T00:00:00Z",
        &subject,
        "Credentials of a learner",
        vec![badge(&signer), damaged],
    );
    let bundle = badge_resigned(&unsigned, &signer);
    let v = check(&bundle);
    assert_eq!(v.kind, "ClrCredential");
    assert!(v.problems.is_empty(), "{:?}", v.problems);
    assert_eq!(v.contains.len(), 2);
    assert!(v.contains[0].is_valid());
    assert!(!v.contains[1].is_valid());
    assert!(!v.is_valid());
}
