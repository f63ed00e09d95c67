//! Data Integrity proofs (W3C VC Data Integrity EdDSA Cryptosuites v1.0) with two
//! cryptosuites, and proof sets of both.
//!
//! - `eddsa-jcs-2022` (§3.3): the proof configuration (the proof without `proofValue`, carrying
//!   the document's `@context`) and the document without its proof are each put in JCS canonical
//!   form (RFC 8785) and hashed with SHA-256; the Ed25519 signature covers the proof
//!   configuration's hash followed by the document's hash. No JSON-LD processing, which is what
//!   lets a phone (the verifier page) check it.
//! - `eddsa-rdfc-2022` (§3.2): the same, with RDFC-1.0 canonical N-Quads ([`crate::rdfc`])
//!   instead of JCS; the embedded proof carries no `@context`. 1EdTech's validator checks the
//!   first proof of a credential this way.
//!
//! Cairn secures a document with a proof set, `[eddsa-rdfc-2022, eddsa-jcs-2022]`, both by the
//! same key. A verifier must check **every** proof it is given: a proof set whose second proof is
//! damaged is not valid, whatever the first says.

use crate::did_key::{self, KeyError};
use crate::rdfc;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The JCS cryptosuite.
pub const CRYPTOSUITE: &str = "eddsa-jcs-2022";
/// The RDFC cryptosuite.
pub const RDFC_CRYPTOSUITE: &str = "eddsa-rdfc-2022";
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
    /// Its cryptosuite.
    pub cryptosuite: String,
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
    /// A proof of a kind this verifier does not check (every proof must be checked).
    #[error(
        "the credential carries a proof this verifier cannot check (type `{0}`, cryptosuite `{1}`; it checks DataIntegrityProof with eddsa-rdfc-2022 or eddsa-jcs-2022)"
    )]
    UnsupportedProof(String, String),
    /// The `proof` member is not a proof or a list of them.
    #[error("the credential's `proof` is not a proof or a list of proofs")]
    MalformedProofSet,
    /// The document cannot be put in RDF canonical form.
    #[error("the credential cannot be put in RDF canonical form: {0}")]
    Rdfc(String),
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

/// The hash an `eddsa-rdfc-2022` signature covers: SHA-256 of the canonical N-Quads of the
/// proof configuration (with the document's `@context`), then of the document without its proof.
pub fn rdfc_hash_data(
    unsecured: &Value,
    config: &Value,
    contexts: &rdfc::Contexts,
) -> Result<[u8; 64], ProofError> {
    let nquads = |v: &Value| {
        rdfc::canonical_nquads(v, contexts).map_err(|e| ProofError::Rdfc(e.to_string()))
    };
    let proof_hash = sha256(&nquads(config)?);
    let document_hash = sha256(&nquads(unsecured)?);
    let mut data = [0u8; 64];
    data[..32].copy_from_slice(&proof_hash);
    data[32..].copy_from_slice(&document_hash);
    Ok(data)
}

/// An `eddsa-rdfc-2022` proof of `document` (its own `proof`, if any, is left out of what is
/// signed, as for every proof of a proof set).
pub fn rdfc_proof(
    document: &Value,
    key: &SigningKey,
    options: &ProofOptions,
) -> Result<Value, ProofError> {
    let mut unsecured = document.as_object().ok_or(ProofError::NotAnObject)?.clone();
    unsecured.remove("proof");
    let unsecured = Value::Object(unsecured);
    let mut config = proof_config(&unsecured, options)?;
    config["cryptosuite"] = RDFC_CRYPTOSUITE.into();
    let data = rdfc_hash_data(&unsecured, &config, rdfc::Contexts::shipped())?;
    let signature = key.sign(&data).to_bytes();
    let mut proof = config;
    if let Some(p) = proof.as_object_mut() {
        // The embedded proof carries no @context: it is the document's (as Digital Bazaar's
        // signer and the W3C test vector write it).
        p.remove("@context");
        p.insert(
            "proofValue".into(),
            format!("z{}", bs58::encode(signature).into_string()).into(),
        );
    }
    Ok(proof)
}

/// Secure `document` with Cairn's proof set: an `eddsa-rdfc-2022` proof first, an
/// `eddsa-jcs-2022` proof second, both by `key` with the same options. Any proof the document
/// had is replaced.
pub fn secure(
    document: &Value,
    key: &SigningKey,
    options: &ProofOptions,
) -> Result<Value, ProofError> {
    let rdfc = rdfc_proof(document, key, options)?;
    let (mut secured, _) = sign(document, key, options)?;
    let jcs = secured["proof"].take();
    secured["proof"] = Value::Array(vec![rdfc, jcs]);
    Ok(secured)
}

/// The same document with only its `eddsa-jcs-2022` proofs (what a QR code carries: each proof
/// of a set stands alone, and the jcs one can be checked without JSON-LD).
pub fn jcs_only(secured: &Value) -> Value {
    let mut out = secured.clone();
    if let Some(Value::Array(proofs)) = out.get_mut("proof") {
        proofs.retain(|p| p.get("cryptosuite").and_then(Value::as_str) == Some(CRYPTOSUITE));
    }
    out
}

/// The proofs of a document: one proof, or every proof of a proof set.
fn proofs(doc: &Map<String, Value>) -> Result<Vec<&Map<String, Value>>, ProofError> {
    match doc.get("proof") {
        None | Some(Value::Null) => Err(ProofError::NoProof),
        Some(Value::Array(items)) if items.is_empty() => Err(ProofError::NoProof),
        Some(Value::Array(items)) => items
            .iter()
            .map(|p| p.as_object().ok_or(ProofError::MalformedProofSet))
            .collect(),
        Some(Value::Object(p)) => Ok(vec![p]),
        Some(_) => Err(ProofError::MalformedProofSet),
    }
}

/// Most proofs checked on one document (a proof set of two is what Cairn makes).
const MAX_PROOFS: usize = 8;

/// Verify **every** proof of a secured document (one proof or a proof set). Fails on the first
/// proof that does not verify, naming its cryptosuite.
pub fn verify(secured: &Value) -> Result<Vec<VerifiedProof>, ProofError> {
    let doc = secured.as_object().ok_or(ProofError::NotAnObject)?;
    let list = proofs(doc)?;
    if list.len() > MAX_PROOFS {
        return Err(ProofError::MalformedProofSet);
    }
    list.into_iter().map(|p| verify_one(doc, p)).collect()
}

fn verify_one(
    doc: &Map<String, Value>,
    proof: &Map<String, Value>,
) -> Result<VerifiedProof, ProofError> {
    let kind = proof.get("type").and_then(Value::as_str).unwrap_or("");
    let suite = proof
        .get("cryptosuite")
        .and_then(Value::as_str)
        .unwrap_or("");
    if kind != PROOF_TYPE || (suite != CRYPTOSUITE && suite != RDFC_CRYPTOSUITE) {
        return Err(ProofError::UnsupportedProof(kind.into(), suite.into()));
    }
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
    }
    let data = if suite == CRYPTOSUITE {
        if let Some(context) = config.get("@context") {
            unsecured.insert("@context".into(), context.clone());
        }
        hash_data(&Value::Object(unsecured), &Value::Object(config.clone()))?.data
    } else {
        // The RDFC proof configuration is canonicalized with the document's @context (§3.2.5).
        match unsecured.get("@context") {
            Some(context) => config.insert("@context".into(), context.clone()),
            None => config.remove("@context"),
        };
        rdfc_hash_data(
            &Value::Object(unsecured),
            &Value::Object(config.clone()),
            rdfc::Contexts::shipped(),
        )?
    };
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
        cryptosuite: suite.to_string(),
    })
}

fn as_list(v: Option<&Value>) -> Option<Vec<Value>> {
    match v? {
        Value::Array(a) => Some(a.clone()),
        other => Some(vec![other.clone()]),
    }
}
