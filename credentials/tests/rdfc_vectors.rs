//! The W3C `eddsa-rdfc-2022` test vector (w3c/vc-di-eddsa TestVectors/eddsa-rdfc-2022/, kept in
//! tests/data/vectors/eddsa-rdfc-2022 with the examples context it needs), reproduced: the
//! canonical proof configuration, both hashes, and the published proofValue, byte for byte.

use cairn_credentials::data_integrity::{self, ProofOptions};
use cairn_credentials::{did_key, rdfc};
use ed25519_dalek::Signer;
use serde_json::Value;

fn file(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/data/vectors/eddsa-rdfc-2022/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn contexts() -> rdfc::Contexts {
    rdfc::Contexts::with(&[(
        "https://www.w3.org/ns/credentials/examples/v2",
        &file("credentials-examples-v2.jsonld"),
    )])
    .unwrap()
}

#[test]
fn the_published_proof_is_reproduced_byte_for_byte() {
    let contexts = contexts();
    let unsigned: Value = serde_json::from_str(&file("unsigned.json")).unwrap();
    let signed: Value = serde_json::from_str(&file("signedDataInt.json")).unwrap();
    let keys: Value = serde_json::from_str(&file("keyPair.json")).unwrap();
    let secret =
        did_key::parse_private_key_multibase(keys["privateKeyMultibase"].as_str().unwrap())
            .unwrap();
    let proof = &signed["proof"];
    let options = ProofOptions {
        created: proof["created"].as_str().unwrap().into(),
        verification_method: proof["verificationMethod"].as_str().unwrap().into(),
        proof_purpose: "assertionMethod".into(),
    };
    let mut config = data_integrity::proof_config(&unsigned, &options).unwrap();
    config["cryptosuite"] = "eddsa-rdfc-2022".into();
    assert_eq!(
        rdfc::canonical_nquads(&config, &contexts).unwrap(),
        file("proofCanonDataInt.txt")
    );
    let data = data_integrity::rdfc_hash_data(&unsigned, &config, &contexts).unwrap();
    assert_eq!(hex::encode(data), file("combinedHashDataInt.txt").trim());
    let signature = secret.sign(&data).to_bytes();
    assert_eq!(
        format!("z{}", bs58::encode(signature).into_string()),
        proof["proofValue"].as_str().unwrap()
    );
}
