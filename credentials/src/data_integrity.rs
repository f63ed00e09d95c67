//! Data Integrity proofs with the `eddsa-jcs-2022` cryptosuite (W3C VC Data Integrity EdDSA
//! Cryptosuites v1.0, §3.3).
//!
//! Signing: the proof configuration (the proof without `proofValue`, carrying the document's
//! `@context`) and the document without its proof are each put in JCS canonical form (RFC 8785)
//! and hashed with SHA-256; the Ed25519 signature covers the proof configuration's hash followed
//! by the document's hash; `proofValue` is `z` + base58btc(signature). No JSON-LD processing is
//! involved, which is what lets a recognizer check a credential fully offline.

use crate::did_key::{self, KeyError};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The cryptosuite this module implements.
pub const CRYPTOSUITE: &str = "eddsa-jcs-2022";
/// The proof type it uses.
pub const PROOF_TYPE: &str = "DataIntegrityProof";

/// What the signer chooses about a proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofOptions {
    /// When the proof was made (an XML Schema dateTime, e.g. `2023-02-24T23:36:38Z`).
    pub created: String,
    /// The key that signs, as a DID URL (`did:key:z6Mk…#z6Mk…`).
    pub verification_method: String,
    /// Why it signs; credentials use `assertionMethod`.
    pub proof_purpose: String,
}

/// Every intermediate value of a signature, for checking against the W3C test vectors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transcript {
    /// JCS form of the document without its proof.
    pub canonical_document: String,
    /// JCS form of the proof configuration.
    pub canonical_proof_config: String,
    /// SHA-256 of the canonical proof configuration.
    pub proof_config_hash: [u8; 32],
    /// SHA-256 of the canonical document.
    pub document_hash: [u8; 32],
    /// The 64 bytes signed: proof configuration hash, then document hash.
    pub hash_data: [u8; 64],
    /// The Ed25519 signature.
    pub signature: [u8; 64],
    /// `z` + base58btc(signature).
    pub proof_value: String,
}

/// What a valid proof says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedProof {
    /// The signer's DID (`did:key:…`).
    pub signer: String,
    /// The signer's key.
    pub key: VerifyingKey,
    /// When it was signed, as written in the proof.
    pub created: Option<String>,
    /// The proof's purpose.
    pub proof_purpose: String,
}

/// Why a proof could not be made or is not valid, in words a recognizer can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The document is not a JSON object.
    #[error("the file is not a credential: it is not a JSON object")]
    NotAnObject,
    /// No `proof` at all.
    #[error("the credential carries no proof: it was never signed, or its signature was removed")]
    NoProof,
    /// A proof exists, but none of the kind this verifier checks.
    #[error(
        "the credential's proof is not an eddsa-jcs-2022 Data Integrity proof (found type `{0}`, cryptosuite `{1}`)"
    )]
    UnsupportedProof(String, String),
    /// A required member of the proof is missing or not a string.
    #[error("the proof has no `{0}`")]
    MissingProofField(&'static str),
    /// `proofValue` is not a base58btc-encoded 64-byte signature.
    #[error(
        "the proof's signature value is malformed (expected `z` and a base58btc Ed25519 signature)"
    )]
    MalformedProofValue,
    /// The proof names a key this verifier cannot use.
    #[error("the proof's signing key is unusable: {0}")]
    Key(#[from] KeyError),
    /// The proof's `@context` is not the start of the document's.
    #[error("the proof's @context does not match the credential's @context")]
    ContextMismatch,
    /// The document cannot be canonicalized (for example a number JSON cannot represent exactly).
    #[error("the credential cannot be put in canonical form: {0}")]
    Canonicalization(String),
    /// The signature does not verify.
    #[error(
        "the signature does not match: the credential was changed after it was signed, or it was not signed with the key it names"
    )]
    SignatureMismatch,
}

fn canonical(value: &Value) -> Result<String, ProofError> {
    serde_json_canonicalizer::to_string(value)
        .map_err(|e| ProofError::Canonicalization(e.to_string()))
}

fn sha256(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// The proof configuration for `document`: the options, typed, with the document's `@context`.
pub fn proof_config(document: &Value, options: &ProofOptions) -> Result<Value, ProofError> {
    let doc = document.as_object().ok_or(ProofError::NotAnObject)?;
    let mut config = Map::new();
    config.insert("type".into(), PROOF_TYPE.into());
    config.insert("cryptosuite".into(), CRYPTOSUITE.into());
    config.insert("created".into(), options.created.clone().into());
    config.insert(
        "verificationMethod".into(),
        options.verification_method.clone().into(),
    );
    config.insert("proofPurpose".into(), options.proof_purpose.clone().into());
    if let Some(context) = doc.get("@context") {
        config.insert("@context".into(), context.clone());
    }
    Ok(Value::Object(config))
}

/// The canonical forms and hashes of a document and its proof configuration.
struct Hashed {
    canonical_document: String,
    canonical_proof_config: String,
    proof_config_hash: [u8; 32],
    document_hash: [u8; 32],
    data: [u8; 64],
}

fn hash_data(document: &Value, config: &Value) -> Result<Hashed, ProofError> {
    let canonical_document = canonical(document)?;
    let canonical_proof_config = canonical(config)?;
    let proof_config_hash = sha256(&canonical_proof_config);
    let document_hash = sha256(&canonical_document);
    let mut data = [0u8; 64];
    data[..32].copy_from_slice(&proof_config_hash);
    data[32..].copy_from_slice(&document_hash);
    Ok(Hashed {
        canonical_document,
        canonical_proof_config,
        proof_config_hash,
        document_hash,
        data,
    })
}

/// Sign `document` (any `proof` it already has is replaced). Returns the secured document and
/// the intermediate values.
pub fn sign(
    document: &Value,
    key: &SigningKey,
    options: &ProofOptions,
) -> Result<(Value, Transcript), ProofError> {
    let mut unsecured = document.as_object().ok_or(ProofError::NotAnObject)?.clone();
    unsecured.remove("proof");
    let unsecured = Value::Object(unsecured);
    let config = proof_config(&unsecured, options)?;
    let Hashed {
        canonical_document,
        canonical_proof_config,
        proof_config_hash,
        document_hash,
        data,
    } = hash_data(&unsecured, &config)?;
    let signature = key.sign(&data).to_bytes();
    let proof_value = format!("z{}", bs58::encode(signature).into_string());
    let mut proof = config;
    if let Some(p) = proof.as_object_mut() {
        p.insert("proofValue".into(), proof_value.clone().into());
    }
    let mut secured = unsecured;
    if let Some(d) = secured.as_object_mut() {
        d.insert("proof".into(), proof);
    }
    Ok((
        secured,
        Transcript {
            canonical_document,
            canonical_proof_config,
            proof_config_hash,
            document_hash,
            hash_data: data,
            signature,
            proof_value,
        },
    ))
}

fn text<'a>(proof: &'a Map<String, Value>, field: &'static str) -> Result<&'a str, ProofError> {
    proof
        .get(field)
        .and_then(Value::as_str)
        .ok_or(ProofError::MissingProofField(field))
}

/// The eddsa-jcs-2022 proof of a document (one proof, or the first such in a proof set).
fn find_proof(doc: &Map<String, Value>) -> Result<&Map<String, Value>, ProofError> {
    let proofs: Vec<&Map<String, Value>> = match doc.get("proof") {
        None | Some(Value::Null) => return Err(ProofError::NoProof),
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_object).collect(),
        Some(Value::Object(p)) => vec![p],
        Some(_) => return Err(ProofError::MissingProofField("type")),
    };
    let suite = |p: &Map<String, Value>| {
        (
            p.get("type")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            p.get("cryptosuite")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        )
    };
    proofs
        .iter()
        .find(|p| suite(p) == (PROOF_TYPE.to_string(), CRYPTOSUITE.to_string()))
        .copied()
        .ok_or_else(|| match proofs.first() {
            Some(p) => {
                let (t, c) = suite(p);
                ProofError::UnsupportedProof(t, c)
            }
            None => ProofError::NoProof,
        })
}

/// Verify the eddsa-jcs-2022 proof of a secured document.
pub fn verify(secured: &Value) -> Result<VerifiedProof, ProofError> {
    let doc = secured.as_object().ok_or(ProofError::NotAnObject)?;
    let proof = find_proof(doc)?;
    let proof_value = text(proof, "proofValue")?;
    let method = text(proof, "verificationMethod")?;
    let purpose = text(proof, "proofPurpose")?.to_string();
    let signature: [u8; 64] = proof_value
        .strip_prefix('z')
        .filter(|b| b.len() <= 100)
        .and_then(|b| bs58::decode(b).into_vec().ok())
        .and_then(|v| v.try_into().ok())
        .ok_or(ProofError::MalformedProofValue)?;
    let (signer, key) = did_key::resolve(method)?;

    let mut unsecured = doc.clone();
    unsecured.remove("proof");
    let mut config = proof.clone();
    config.remove("proofValue");
    if let Some(context) = config.get("@context") {
        // The document's @context must begin with the proof's, in order (spec §3.3.2).
        let (Some(doc_ctx), Some(proof_ctx)) =
            (as_list(unsecured.get("@context")), as_list(Some(context)))
        else {
            return Err(ProofError::ContextMismatch);
        };
        if doc_ctx.len() < proof_ctx.len() || doc_ctx[..proof_ctx.len()] != proof_ctx[..] {
            return Err(ProofError::ContextMismatch);
        }
        unsecured.insert("@context".into(), context.clone());
    }
    let data = hash_data(&Value::Object(unsecured), &Value::Object(config.clone()))?.data;
    key.verify(&data, &Signature::from_bytes(&signature))
        .map_err(|_| ProofError::SignatureMismatch)?;
    Ok(VerifiedProof {
        signer,
        key,
        created: config
            .get("created")
            .and_then(Value::as_str)
            .map(str::to_string),
        proof_purpose: purpose,
    })
}

fn as_list(v: Option<&Value>) -> Option<Vec<Value>> {
    match v? {
        Value::Array(a) => Some(a.clone()),
        other => Some(vec![other.clone()]),
    }
}
