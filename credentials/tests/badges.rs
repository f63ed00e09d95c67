//! Open Badges 3.0 credentials as Cairn makes them: a proof set of eddsa-rdfc-2022 and
//! eddsa-jcs-2022 that verifies, every proof checked, the program's endorsement of the signing
//! key, and any change to a field, the key or a proof caught with the right message.

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
            url: Some("https://www.maine.edu/".into()),
            description: Some("Micro-credentials of the University of Maine System".into()),
            endorsements: vec![],
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
        subject: SubjectIdentity::Hashed(vec![HashedIdentity {
            identity_type: "name".into(),
            value: name_as_printed("María López"),
            salt: "5f0c".into(),
        }]),
        evidence: vec![EvidenceRef {
            id: Some("ni:///sha-256;AP8".into()),
            name: Some("Evidence 1 (file)".into()),
            narrative: None,
            genre: Some("File".into()),
        }],
    };
    secure(&credential_json(&c), signer)
}

fn options(signer: &SigningKey) -> ProofOptions {
    ProofOptions {
        created: "2026-05-01T15:00:00Z".into(),
        verification_method: did_key::verification_method(&signer.verifying_key()),
        proof_purpose: "assertionMethod".into(),
    }
}

fn secure(doc: &Value, signer: &SigningKey) -> Value {
    data_integrity::secure(doc, signer, &options(signer)).unwrap()
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
    assert_eq!(v.proofs, ["eddsa-rdfc-2022", "eddsa-jcs-2022"]);
    assert_eq!(doc["proof"][0]["cryptosuite"], "eddsa-rdfc-2022");
    assert!(doc["proof"][0].get("@context").is_none());
    assert_eq!(doc["proof"][1]["cryptosuite"], "eddsa-jcs-2022");
    // The learner proves it is theirs with their name exactly as printed (Unicode NFC: an
    // accent typed as a combining mark is the same name; spacing as HTML prints it).
    for same in [
        "María López",
        "Mari\u{301}a Lo\u{301}pez",
        "  María   López ",
    ] {
        let v = verify::verify(&doc, NOW, &NoTrustList, Some(same));
        assert_eq!(v.identity_matches, Some(true), "{same}");
    }
    for other in ["Maria Lopez", "maría lópez", "Mario López"] {
        let v = verify::verify(&doc, NOW, &NoTrustList, Some(other));
        assert_eq!(v.identity_matches, Some(false), "{other}");
    }
}

#[test]
fn every_proof_of_the_set_must_verify_and_each_stands_alone() {
    let doc = badge(&key(1));
    for keep in 0..2 {
        let mut alone = doc.clone();
        let proof = alone["proof"][keep].clone();
        alone["proof"] = Value::Array(vec![proof.clone()]);
        assert!(check(&alone).is_valid(), "proof {keep} alone");
        alone["proof"] = proof;
        assert!(check(&alone).is_valid(), "proof {keep} as an object");
    }
    // A corrupted second (or first) proof makes the credential invalid, whatever the other says.
    for damaged in 0..2 {
        let mut bad = doc.clone();
        let pv = bad["proof"][damaged]["proofValue"]
            .as_str()
            .unwrap()
            .to_string();
        let other = badge(&key(9))["proof"][damaged]["proofValue"].clone();
        assert_ne!(other, Value::String(pv));
        bad["proof"][damaged]["proofValue"] = other;
        let v = check(&bad);
        assert!(!v.is_valid(), "a damaged proof {damaged} went unnoticed");
        assert!(
            v.problems[0].contains("signature does not match"),
            "{:?}",
            v.problems
        );
    }
    // A proof of a kind this verifier cannot check is not skipped.
    let mut unknown = doc.clone();
    unknown["proof"][1]["cryptosuite"] = "ecdsa-rdfc-2019".into();
    assert!(check(&unknown).problems[0].contains("cannot check"));
    // The QR code's copy keeps only the JCS proof, and still verifies.
    let qr = data_integrity::jcs_only(&doc);
    assert_eq!(qr["proof"].as_array().unwrap().len(), 1);
    assert!(check(&qr).is_valid());
}

fn endorsement(program: &SigningKey, endorsed: &SigningKey) -> Value {
    let unsigned = endorsement_json(&Endorsement {
        id: urn_uuid(b"endorsement"),
        program: Issuer {
            did: did_key::did_key(&program.verifying_key()),
            name: "University of Maine System".into(),
            ..Default::default()
        },
        key: did_key::did_key(&endorsed.verifying_key()),
        valid_from: "2026-04-01T00:00:00Z".into(),
    });
    secure(&unsigned, program)
}

fn endorsed_badge(site: &SigningKey, endorsement: Value) -> Value {
    let mut unsigned = badge(site);
    unsigned.as_object_mut().unwrap().remove("proof");
    unsigned["issuer"]["endorsement"] = Value::Array(vec![endorsement]);
    secure(&unsigned, site)
}

#[test]
fn the_program_endorsement_chains_a_site_key_to_the_program() {
    let (hub, site) = (key(7), key(1));
    let hub_did = did_key::did_key(&hub.verifying_key());
    let doc = endorsed_badge(&site, data_integrity::jcs_only(&endorsement(&hub, &site)));
    let v = check(&doc);
    assert!(v.is_valid(), "{:?}", v.problems);
    assert_eq!(v.endorsed_by[0].program, hub_did);
    // A verifier who knows only the program's identifier.
    let program = verify::Program {
        did: hub_did.clone(),
        inner: &NoTrustList,
    };
    assert!(verify::verify(&doc, NOW, &program, None).is_valid());
    // ...and the program itself signing needs no endorsement.
    assert!(verify::verify(&badge(&hub), NOW, &program, None).is_valid());
    // Another program's identifier, no endorsement, an endorsement of another key, or one the
    // program did not sign: not from the program.
    let other = verify::Program {
        did: did_key::did_key(&key(8).verifying_key()),
        inner: &NoTrustList,
    };
    assert!(verify::verify(&doc, NOW, &other, None).problems[0].contains("neither signed by"));
    assert!(!verify::verify(&badge(&site), NOW, &program, None).is_valid());
    let wrong_key = endorsed_badge(&site, endorsement(&hub, &key(3)));
    assert!(check(&wrong_key).problems[0].contains("about another key"));
    let mut forged = endorsement(&hub, &site);
    forged["issuer"]["name"] = "Anyone".into();
    let forged = endorsed_badge(&site, forged);
    assert!(check(&forged).problems[0].contains("endorsement of the signing key is not valid"));
    assert!(!verify::verify(&forged, NOW, &program, None).is_valid());
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
        if !path.starts_with("/proof/") {
            // The RDFC proof is checked first: a changed value either no longer matches its
            // signature or (a context, a term) no longer expands with the shipped contexts.
            prop_assert!(
                v.problems.iter().any(|p| p.starts_with("the signature does not match")
                    || p.contains("RDF canonical form")),
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
    // A member the contexts do not define is refused, not dropped from what is signed.
    let mut undefined = doc.clone();
    undefined["credentialSubject"]["achievement"]["level"] = 2.into();
    let v = check(&undefined);
    assert!(!v.is_valid());
}

#[test]
fn the_key_and_the_proof_are_checked() {
    let doc = badge(&key(1));
    // Signed with another key that claims to be the issuer's.
    let mut other = doc.clone();
    other["proof"][1]["verificationMethod"] =
        did_key::verification_method(&key(2).verifying_key()).into();
    assert!(check(&other).problems[0].starts_with("the signature does not match"));
    // Re-signed by another key: the signature is good but it is not the issuer's.
    let forged = badge_resigned(&doc, &key(2));
    let v = check(&forged);
    assert!(
        v.problems.iter().any(|p| p.contains("proof was signed by")),
        "{:?}",
        v.problems
    );
    // A damaged or missing proof.
    let mut bad = doc.clone();
    bad["proof"][1]["proofValue"] = "z111".into();
    assert!(check(&bad).problems[0].contains("signature value is malformed"));
    let mut bad = doc.clone();
    let pv = bad["proof"][1]["proofValue"].as_str().unwrap().to_string();
    let mut flipped: Vec<char> = pv.chars().collect();
    flipped[10] = if flipped[10] == 'A' { 'B' } else { 'A' };
    bad["proof"][1]["proofValue"] = flipped.into_iter().collect::<String>().into();
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
    suite["proof"][1]["cryptosuite"] = "eddsa-rdfc-2022".into();
    assert!(!check(&suite).is_valid());
    let mut purpose = doc.clone();
    purpose["proof"][0]["proofPurpose"] = "authentication".into();
    assert!(!check(&purpose).is_valid());
}

fn badge_resigned(doc: &Value, by: &SigningKey) -> Value {
    secure(doc, by)
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
    // Without the OB context its terms are undefined, so only a JCS proof can be made at all.
    let mut d = badge(&signer);
    d["@context"] = serde_json::json!([VC_CONTEXT]);
    let jcs_only = data_integrity::sign(&d, &signer, &options(&signer))
        .unwrap()
        .0;
    assert_eq!(
        check(&jcs_only).problems,
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

/// An unsigned learner bundle of `credentials` for [`maria`].
fn bundle_of(issuer: &Issuer, credentials: Vec<Value>) -> Value {
    learner_bundle_json(
        &urn_uuid(b"bundle"),
        issuer,
        "2026-06-01T00:00:00Z",
        &maria(),
        "Credentials of a learner",
        credentials,
    )
}

/// The learner of the bundles here, by a salted hash of her name.
fn maria() -> SubjectIdentity {
    SubjectIdentity::Hashed(vec![HashedIdentity {
        identity_type: "name".into(),
        value: "María López".into(),
        salt: "5f0c".into(),
    }])
}

#[test]
fn a_learner_bundle_verifies_each_credential_inside() {
    let signer = key(1);
    let issuer = Issuer {
        did: did_key::did_key(&signer.verifying_key()),
        name: "University of Maine System".into(),
        ..Default::default()
    };
    let mut damaged = badge(&signer);
    damaged["name"] = "Something else".into();
    let unsigned = bundle_of(&issuer, vec![badge(&signer), damaged]);
    let bundle = badge_resigned(&unsigned, &signer);
    let v = check(&bundle);
    assert_eq!(v.kind, "ClrCredential");
    assert!(v.problems.is_empty(), "{:?}", v.problems);
    assert_eq!(v.contains.len(), 2);
    assert!(v.contains[0].is_valid());
    assert!(!v.contains[1].is_valid());
    assert!(!v.is_valid());
}

/// A learner bundle exported at a site holds many credentials that each carry the program's
/// endorsement of the site's key, with the very same proof. Canonicalizing such a document
/// costs `rdf-canon` 721 blank-node hashing rounds per copy when the proof's node sorts before
/// its graph's (which of the two sorts first depends on the keys and dates): a bundle of a
/// dozen awards once passed a flat limit of 4096 rounds, and could be neither signed nor checked.
#[test]
fn a_bundle_of_many_site_signed_credentials_signs_and_verifies() {
    // With program key 20 the proof's node sorts first (12 copies and the bundle's own, about
    // 13 x 721 rounds); with 22 its graph's (a few dozen).
    for program in [20, 22] {
        let (hub, site) = (key(program), key(1));
        let endorsement = data_integrity::jcs_only(&endorsement(&hub, &site));
        let credentials: Vec<Value> = (0..12u8)
            .map(|i| {
                let mut c = endorsed_badge(&site, endorsement.clone());
                c.as_object_mut().unwrap().remove("proof");
                c["id"] = urn_uuid(&[i]).into();
                secure(&c, &site)
            })
            .collect();
        let issuer = Issuer {
            did: did_key::did_key(&site.verifying_key()),
            name: "University of Maine System".into(),
            endorsements: vec![endorsement],
            ..Default::default()
        };
        let unsigned = bundle_of(&issuer, credentials);
        let bundle = badge_resigned(&unsigned, &site);
        let v = check(&bundle);
        assert!(v.is_valid(), "program key {program}: {:?}", v.problems);
        assert_eq!(v.contains.len(), 12);
    }
}
