//! The W3C `eddsa-jcs-2022` test vectors (w3c/vc-di-eddsa, TestVectors/), reproduced byte for
//! byte: every intermediate value and the final proofValue.

use cairn_credentials::data_integrity::{self, ProofOptions};
use cairn_credentials::did_key;
use serde_json::Value;

fn vector(name: &str) -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/vectors/eddsa-jcs-2022/"
    );
    std::fs::read_to_string(format!("{path}{name}"))
        .unwrap_or_else(|e| panic!("{name}: {e} (is ../shared beside the project?)"))
        .trim_end()
        .to_string()
}

fn json(name: &str) -> Value {
    serde_json::from_str(&vector(name)).unwrap()
}

fn options() -> ProofOptions {
    let c = json("proofConfigJCS.json");
    ProofOptions {
        created: c["created"].as_str().unwrap().into(),
        verification_method: c["verificationMethod"].as_str().unwrap().into(),
        proof_purpose: c["proofPurpose"].as_str().unwrap().into(),
    }
}

#[test]
fn the_key_pair_is_read_from_multibase_and_gives_the_published_public_key() {
    let keys = json("keyPair.json");
    let secret =
        did_key::parse_private_key_multibase(keys["privateKeyMultibase"].as_str().unwrap())
            .unwrap();
    assert_eq!(
        did_key::public_key_multibase(&secret.verifying_key()),
        keys["publicKeyMultibase"].as_str().unwrap()
    );
    assert_eq!(
        did_key::verification_method(&secret.verifying_key()),
        options().verification_method
    );
}

#[test]
fn every_intermediate_value_and_the_proof_value_match_byte_for_byte() {
    let keys = json("keyPair.json");
    let secret =
        did_key::parse_private_key_multibase(keys["privateKeyMultibase"].as_str().unwrap())
            .unwrap();
    let unsigned = json("unsigned.json");
    assert_eq!(
        data_integrity::proof_config(&unsigned, &options()).unwrap(),
        json("proofConfigJCS.json")
    );
    let (signed, t) = data_integrity::sign(&unsigned, &secret, &options()).unwrap();
    assert_eq!(t.canonical_document, vector("canonDocJCS.txt"));
    assert_eq!(t.canonical_proof_config, vector("proofCanonJCS.txt"));
    assert_eq!(hex::encode(t.document_hash), vector("docHashJCS.txt"));
    assert_eq!(hex::encode(t.proof_config_hash), vector("proofHashJCS.txt"));
    assert_eq!(hex::encode(t.hash_data), vector("combinedHashJCS.txt"));
    assert_eq!(hex::encode(t.signature), vector("sigHexJCS.txt"));
    assert_eq!(t.proof_value, vector("sigBTC58JCS.txt"));
    assert_eq!(signed, json("signedJCS.json"));
}

#[test]
fn the_published_signed_credential_verifies_and_a_changed_one_does_not() {
    let signed = json("signedJCS.json");
    let proofs = data_integrity::verify(&signed).unwrap();
    let proof = &proofs[0];
    assert_eq!(
        proof.signer,
        "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
    );
    let mut changed = signed.clone();
    changed["credentialSubject"]["alumniOf"] = "The School of Forgeries".into();
    assert_eq!(
        data_integrity::verify(&changed).unwrap_err(),
        data_integrity::ProofError::SignatureMismatch
    );
}
