//! RDF Dataset Canonicalization (RDFC-1.0) of a JSON-LD document, for the `eddsa-rdfc-2022`
//! cryptosuite: the document is expanded and turned into RDF by the `json-ld` crate with the
//! contexts shipped in this crate (nothing is fetched), then canonicalized by `rdf-canon`.
//!
//! Expansion is strict, like jsonld.js in safe mode: a member the contexts do not define is an
//! error, not silently dropped. A dropped member would be outside what the signature covers while
//! still being shown to people.

use iref::IriBuf;
use json_ld::RemoteDocument;
use json_ld::syntax::Parse;
use rdf_types::{Id, LiteralType, Term};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// The VC 2.0, Open Badges 3.0.3 and CLR 2.0.1 contexts, as the URLs credentials name them and
/// the bytes this crate ships (see `contexts/SOURCES.md`).
pub const SHIPPED: &[(&str, &str)] = &[
    (
        crate::open_badges::VC_CONTEXT,
        include_str!("../contexts/credentials-v2.jsonld"),
    ),
    (
        crate::open_badges::OB_CONTEXT,
        include_str!("../contexts/ob-v3p0-context-3.0.3.json"),
    ),
    (
        crate::open_badges::CLR_CONTEXT,
        include_str!("../contexts/clr-v2p0-context-2.0.1.json"),
    ),
];

/// Blank-node hashing rounds (Hash N-Degree Quads calls) RDFC-1.0 may spend on one document: a
/// floor, and more for each blank node, up to a cap. A crafted document of many
/// indistinguishable blank nodes would otherwise take exponential time (the spec's "poison
/// dataset"); the cap keeps any document to a few seconds.
///
/// Why per blank node: `rdf-canon` tries every permutation of a list of related blank nodes even
/// when its entries are one node repeated (jsonld.js skips the repeats; the result is the same).
/// A proof relates its node to its graph once per quad, six times, so a proof graph that occurs
/// several times in one document costs 6! + 1 = 721 rounds a copy when its proof node sorts
/// first. That happens in every learner bundle exported at a site: each site-signed credential
/// carries the program's endorsement of the site's key, with the same proof.
const HNDQ_FLOOR: usize = 4096;
/// See [`HNDQ_FLOOR`]: rounds allowed per blank node of the document (a repeated proof graph has
/// two: the proof and its graph).
const HNDQ_PER_BLANK_NODE: usize = 1024;
/// See [`HNDQ_FLOOR`]: most rounds for any document (a round takes tens of microseconds).
const HNDQ_CAP: usize = 250_000;

/// Why a document could not be canonicalized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RdfcError {
    /// A context the document names is not one this crate ships (nothing is fetched).
    #[error("it names a JSON-LD context this verifier does not hold: {0}")]
    Context(String),
    /// JSON-LD expansion refused it (an undefined term, a malformed value…).
    #[error("it is not valid JSON-LD with its contexts: {0}")]
    Expansion(String),
    /// RDFC-1.0 gave up (too many indistinguishable blank nodes).
    #[error("RDF canonicalization gave up: {0}")]
    Canonicalization(String),
}

/// A set of JSON-LD contexts to expand documents with: the shipped ones, and in tests others.
pub struct Contexts {
    documents: HashMap<IriBuf, RemoteDocument>,
    // The active context a document's top-level `@context` list sets up, processed once per
    // list. Processing the VC and Open Badges contexts took about 2 ms of the 3-4 ms a
    // credential took to canonicalize, and every credential names the same list; what the
    // expansion algorithm does with the rest of the document is unchanged.
    processed: Mutex<HashMap<Vec<String>, ActiveContext>>,
}

type ActiveContext = json_ld::Context<IriBuf, rdf_types::BlankIdBuf>;

/// Distinct top-level `@context` lists kept processed: the shipped credentials use one or two;
/// a document naming another list is still expanded, its list just is not kept.
const PROCESSED_LISTS: usize = 16;

impl Contexts {
    /// The contexts this crate ships (parsed once).
    pub fn shipped() -> &'static Contexts {
        static SHIPPED_CONTEXTS: OnceLock<Contexts> = OnceLock::new();
        SHIPPED_CONTEXTS.get_or_init(|| {
            Contexts::with(&[]).expect("the shipped contexts are valid JSON-LD (tested)")
        })
    }

    /// The shipped contexts and `extra` ones (URL, text).
    pub fn with(extra: &[(&str, &str)]) -> Result<Contexts, RdfcError> {
        let mut documents = HashMap::new();
        for (url, text) in SHIPPED.iter().chain(extra) {
            let iri = IriBuf::new(url.to_string())
                .map_err(|_| RdfcError::Context(format!("{url} is not an IRI")))?;
            let (value, _) = json_ld::syntax::Value::parse_str(text)
                .map_err(|e| RdfcError::Context(format!("{url}: {e}")))?;
            let media = "application/ld+json".parse().ok();
            documents.insert(iri.clone(), RemoteDocument::new(Some(iri), media, value));
        }
        Ok(Contexts {
            documents,
            processed: Mutex::new(HashMap::new()),
        })
    }

    /// The active context after processing `urls` (the top-level `@context`, all held here)
    /// from an empty one, as the expansion algorithm does on meeting a top-level `@context`:
    /// same local context, same base URL (none), same options.
    fn active_after(
        &self,
        urls: &[String],
        options: json_ld::expansion::Options,
    ) -> Result<ActiveContext, RdfcError> {
        if let Some(c) = self
            .processed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(urls)
        {
            return Ok(c.clone());
        }
        use json_ld::context_processing::Process;
        use json_ld::syntax::TryFromJson;
        let list = json_ld::syntax::Value::Array(
            urls.iter()
                .map(|u| json_ld::syntax::Value::String(u.as_str().into()))
                .collect(),
        );
        let local = json_ld::syntax::context::Context::try_from_json(list)
            .map_err(|e| RdfcError::Expansion(e.to_string()))?;
        let processed = futures::executor::block_on(local.process_with(
            &mut (),
            &ActiveContext::new(None),
            &self.documents,
            None,
            options.into(),
        ))
        .map_err(|e| RdfcError::Expansion(e.to_string()))?
        .into_processed();
        let mut kept = self.processed.lock().unwrap_or_else(|e| e.into_inner());
        if kept.len() < PROCESSED_LISTS {
            kept.insert(urls.to_vec(), processed.clone());
        }
        Ok(processed)
    }
}

/// A document's top-level `@context` when it is a URL or a list of URLs, and the document
/// without it; `None` for anything else (an embedded context object, a top-level array),
/// which the expansion algorithm then processes as it meets it.
fn top_level_context(document: &Value) -> Option<(Vec<String>, Value)> {
    let mut rest = document.as_object()?.clone();
    let urls = match rest.remove("@context")? {
        Value::String(s) => vec![s],
        Value::Array(a) => a
            .into_iter()
            .map(|c| match c {
                Value::String(s) => Some(s),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()?,
        _ => return None,
    };
    Some((urls, Value::Object(rest)))
}

/// The expansion options: strict, like jsonld.js in safe mode (see the module's header).
fn options() -> json_ld::Options<IriBuf> {
    json_ld::Options {
        expansion_policy: json_ld::expansion::Policy {
            invalid: json_ld::context_processing::algorithm::Action::Reject,
            vocab: json_ld::context_processing::algorithm::Action::Keep,
            allow_undefined: false,
        },
        ..Default::default()
    }
}

fn subject(id: &Id<IriBuf, rdf_types::BlankIdBuf>) -> oxrdf::Subject {
    match id {
        Id::Iri(i) => oxrdf::NamedNode::new_unchecked(i.as_str()).into(),
        // json-ld writes blank nodes as `_:b0`; oxrdf wants the label alone.
        Id::Blank(b) => oxrdf::BlankNode::new_unchecked(&b.as_str()[2..]).into(),
    }
}

/// The canonical N-Quads (RDFC-1.0, SHA-256) of a JSON-LD document.
pub fn canonical_nquads(document: &Value, contexts: &Contexts) -> Result<String, RdfcError> {
    // Every context must be one we hold: the loader would fail anyway, but this says which.
    for url in context_urls(document) {
        if !contexts
            .documents
            .keys()
            .any(|k| k.as_str() == url.as_str())
        {
            return Err(RdfcError::Context(url));
        }
    }
    let options = options();
    let expansion = options.clone().unordered().expansion_options();
    // The same steps as `JsonLdProcessor::to_rdf_using` (expand unordered from an empty context
    // and no base URL, relabel blank nodes, emit quads), except that a top-level list of context
    // URLs is processed once per list rather than once per document.
    let (active, text) = match top_level_context(document) {
        Some((urls, rest)) => (contexts.active_after(&urls, expansion)?, rest.to_string()),
        None => (ActiveContext::new(None), document.to_string()),
    };
    let (value, _) = json_ld::syntax::Value::parse_str(&text)
        .map_err(|e| RdfcError::Expansion(e.to_string()))?;
    // The loader is a map in memory: every future is ready at once, no runtime is needed.
    let mut expanded = futures::executor::block_on(json_ld::Expand::expand_full(
        &value,
        &mut (),
        active,
        None,
        &contexts.documents,
        expansion,
        (),
    ))
    .map_err(|e| RdfcError::Expansion(e.to_string()))?;
    let (mut vocabulary, mut generator) = ((), rdf_types::generator::Blank::new());
    expanded.relabel_and_canonicalize_with(&mut vocabulary, &mut generator);
    let quads = json_ld::rdf::RdfQuads::rdf_quads_full(
        &expanded,
        &mut vocabulary,
        &mut generator,
        options.rdf_direction,
        options.produce_generalized_rdf,
    )
    .cloned();
    canonical_of(quads)
}

/// [`canonical_nquads`] through the `json-ld` crate's own `to_rdf_using`, which processes every
/// context a document names each time. This is what [`canonical_nquads`] did before it kept
/// processed context lists; it stays to check (unit tests) and measure (`benches/canonical.rs`)
/// that it gives the same.
pub fn canonical_nquads_by_the_library(
    document: &Value,
    contexts: &Contexts,
) -> Result<String, RdfcError> {
    use json_ld::JsonLdProcessor;
    let (value, _) = json_ld::syntax::Value::parse_str(&document.to_string())
        .map_err(|e| RdfcError::Expansion(e.to_string()))?;
    let input = RemoteDocument::new(None, None, value);
    let mut generator = rdf_types::generator::Blank::new();
    let mut rdf = futures::executor::block_on(input.to_rdf_using(
        &mut generator,
        &contexts.documents,
        options(),
    ))
    .map_err(|e| RdfcError::Expansion(e.to_string()))?;
    canonical_of(rdf.cloned_quads())
}

/// RDFC-1.0 (SHA-256) of the quads JSON-LD produced, as N-Quads.
fn canonical_of(
    quads: impl Iterator<Item = json_ld::rdf::Quad<IriBuf, rdf_types::BlankIdBuf, rdf_types::Literal>>,
) -> Result<String, RdfcError> {
    let mut dataset = oxrdf::Dataset::new();
    let mut blank_nodes = std::collections::HashSet::new();
    for rdf_types::Quad(s, p, o, g) in quads {
        for id in [Some(&s), o.as_id(), g.as_ref()].into_iter().flatten() {
            if let Id::Blank(b) = id {
                blank_nodes.insert(b.clone());
            }
        }
        let s = subject(&s);
        let p = match p {
            Id::Iri(i) => oxrdf::NamedNode::new_unchecked(i.as_str()),
            // Generalized RDF (a blank predicate) is not produced without the option for it.
            Id::Blank(_) => {
                return Err(RdfcError::Expansion(
                    "a property is a blank node (generalized RDF)".into(),
                ));
            }
        };
        let o: oxrdf::Term = match o {
            Term::Id(id) => match subject(&id) {
                oxrdf::Subject::NamedNode(n) => n.into(),
                oxrdf::Subject::BlankNode(b) => b.into(),
                #[allow(unreachable_patterns)]
                _ => return Err(RdfcError::Expansion("an unexpected object".into())),
            },
            Term::Literal(l) => match l.type_ {
                LiteralType::Any(t) => oxrdf::Literal::new_typed_literal(
                    l.value,
                    oxrdf::NamedNode::new_unchecked(t.as_str()),
                )
                .into(),
                LiteralType::LangString(tag) => {
                    oxrdf::Literal::new_language_tagged_literal_unchecked(
                        l.value,
                        tag.as_str().to_ascii_lowercase(),
                    )
                    .into()
                }
            },
        };
        let g = match g {
            None => oxrdf::GraphName::DefaultGraph,
            Some(Id::Iri(i)) => oxrdf::NamedNode::new_unchecked(i.as_str()).into(),
            Some(Id::Blank(b)) => oxrdf::BlankNode::new_unchecked(&b.as_str()[2..]).into(),
        };
        dataset.insert(&oxrdf::Quad::new(s, p, o, g));
    }
    let options = rdf_canon::CanonicalizationOptions {
        hndq_call_limit: Some(
            blank_nodes
                .len()
                .saturating_mul(HNDQ_PER_BLANK_NODE)
                .saturating_add(HNDQ_FLOOR)
                .min(HNDQ_CAP),
        ),
    };
    rdf_canon::canonicalize_with::<sha2::Sha256>(&dataset, &options)
        .map_err(|e| RdfcError::Canonicalization(e.to_string()))
}

/// Every context URL a document names, anywhere in it (embedded credentials name theirs).
fn context_urls(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(v: &Value, out: &mut Vec<String>, depth: usize) {
        if depth > 64 {
            return;
        }
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    if k == "@context" {
                        let list = match x {
                            Value::Array(a) => a.iter().collect(),
                            other => vec![other],
                        };
                        for c in list {
                            if let Value::String(s) = c
                                && !out.contains(s)
                            {
                                out.push(s.clone());
                            }
                        }
                    } else {
                        walk(x, out, depth + 1);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out, depth + 1)),
            _ => {}
        }
    }
    walk(v, &mut out, 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::open_badges as ob;
    use proptest::prelude::*;
    use serde_json::json;

    fn same_as_the_library(document: &Value, contexts: &Contexts) {
        let kept = canonical_nquads(document, contexts);
        // Twice: the second call uses the context list the first one processed.
        assert_eq!(kept, canonical_nquads(document, contexts));
        match (kept, canonical_nquads_by_the_library(document, contexts)) {
            (Ok(kept), Ok(library)) => assert_eq!(kept, library, "{document}"),
            // The library's own path wraps the same error in "Expansion failed: " twice.
            (Err(RdfcError::Expansion(kept)), Err(RdfcError::Expansion(library))) => {
                assert!(library.ends_with(&kept), "{kept} / {library}")
            }
            (kept, library) => panic!("{document}: {kept:?} / {library:?}"),
        }
    }

    fn credential(
        name: String,
        words: String,
        level: Option<i64>,
        alignments: usize,
        evidence: usize,
        hashed: bool,
    ) -> Value {
        ob::credential_json(&ob::BadgeCredential {
            id: ob::urn_uuid(name.as_bytes()),
            issuer: ob::Issuer {
                did: "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK".into(),
                name: words.clone(),
                url: level.map(|_| "https://www.maine.edu/".into()),
                description: Some(words.clone()),
                endorsements: vec![],
            },
            valid_from: "2026-05-01T15:00:00Z".into(),
            valid_until: level.map(|_| "2030-05-01T15:00:00Z".into()),
            achievement: ob::AchievementInfo {
                id: "urn:cairn:achievement:css-level-1".into(),
                name: name.clone(),
                description: words.clone(),
                criteria: words.clone(),
                achievement_type: "Badge".into(),
                level,
                alignments: (0..alignments)
                    .map(|i| ob::Alignment {
                        name: format!("{words} {i}"),
                        framework: Some(name.clone()),
                        target_type: Some("ceasn:Competency".into()),
                        ..Default::default()
                    })
                    .collect(),
            },
            subject: if hashed {
                ob::SubjectIdentity::Hashed(vec![ob::HashedIdentity {
                    identity_type: "name".into(),
                    value: ob::name_as_printed(&name),
                    salt: "5f0c".into(),
                }])
            } else {
                ob::SubjectIdentity::Id("did:example:learner".into())
            },
            evidence: (0..evidence)
                .map(|i| ob::EvidenceRef {
                    id: Some(format!("urn:uuid:{i:08}-0000-4000-8000-000000000000")),
                    name: Some(words.clone()),
                    narrative: Some(name.clone()),
                    genre: Some("File".into()),
                })
                .collect(),
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]
        /// Credentials, learner bundles (whose embedded credentials name their own contexts) and
        /// documents the contexts refuse: the kept context lists change nothing, not even which
        /// documents are refused.
        #[test]
        fn keeping_processed_context_lists_gives_what_the_library_gives(
            name in "\\PC{1,24}",
            words in "[a-zA-Z0-9 .,'éñü-]{0,40}",
            level in proptest::option::of(1i64..4),
            alignments in 0usize..3,
            evidence in 0usize..3,
            hashed in any::<bool>(),
            change in 0usize..5,
        ) {
            let contexts = Contexts::shipped();
            let mut doc = credential(name.clone(), words.clone(), level, alignments, evidence, hashed);
            match change {
                // As it is.
                0 => {}
                // Wrapped in a learner bundle, with the CLR context on top.
                1 => {
                    doc = ob::learner_bundle_json(
                        "urn:uuid:00000000-0000-4000-8000-000000000001",
                        &ob::Issuer { did: "did:example:program".into(), name: words.clone(), ..Default::default() },
                        "2026-05-01T15:00:00Z",
                        &ob::SubjectIdentity::Id("did:example:learner".into()),
                        &name,
                        vec![doc.clone(), doc],
                    );
                }
                // A member the contexts do not define: refused either way.
                2 => { doc["credentialSubject"]["favouriteColour"] = json!(words); }
                // One context URL alone, or the list in the other order.
                3 => { doc["@context"] = json!(ob::VC_CONTEXT); }
                _ => { doc["@context"] = json!([ob::OB_CONTEXT, ob::VC_CONTEXT]); }
            }
            same_as_the_library(&doc, contexts);
        }
    }

    #[test]
    fn an_embedded_context_object_is_expanded_as_before() {
        let mut doc = credential("Ana".into(), "w".into(), Some(2), 1, 1, true);
        doc["@context"] =
            json!([ob::VC_CONTEXT, ob::OB_CONTEXT, {"colour": "https://example.com/colour"}]);
        doc["colour"] = json!("blue");
        same_as_the_library(&doc, Contexts::shipped());
        let doc = json!([doc, doc]);
        same_as_the_library(&doc, Contexts::shipped());
    }

    #[test]
    fn the_shipped_contexts_parse() {
        let _ = Contexts::shipped();
    }

    #[test]
    fn the_shipped_contexts_are_these_bytes() {
        use sha2::Digest;
        let sources = include_str!("../contexts/SOURCES.md");
        for (url, text) in SHIPPED {
            let digest = hex::encode(sha2::Sha256::digest(text.as_bytes()));
            let row = sources
                .lines()
                .find(|l| l.contains(&format!("| {url} |")))
                .unwrap_or_else(|| panic!("{url} is not in contexts/SOURCES.md"));
            assert!(
                row.contains(&digest),
                "{url} has sha256 {digest}, not the one in SOURCES.md"
            );
        }
        // The VC 2.0 context is the W3C's, byte for byte (the digest VC 2.0 §B.1 gives).
        assert_eq!(
            hex::encode(sha2::Sha256::digest(SHIPPED[0].1.as_bytes())),
            "59955ced6697d61e03f2b2556febe5308ab16842846f5b586d7f1f7adec92734"
        );
    }

    #[test]
    fn an_undefined_term_is_refused_not_dropped() {
        let doc = json!({
            "@context": [crate::open_badges::VC_CONTEXT, crate::open_badges::OB_CONTEXT],
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "issuer": {"id": "did:example:1", "type": ["Profile"], "name": "P"},
            "credentialSubject": {"type": ["AchievementSubject"],
              "achievement": {"id": "urn:x", "type": ["Achievement"], "level": 2}},
        });
        assert!(matches!(
            canonical_nquads(&doc, Contexts::shipped()),
            Err(RdfcError::Expansion(_))
        ));
    }

    #[test]
    fn a_context_not_shipped_is_named() {
        let doc = json!({"@context": ["https://example.com/ctx"], "name": "x"});
        assert_eq!(
            canonical_nquads(&doc, Contexts::shipped()),
            Err(RdfcError::Context("https://example.com/ctx".into()))
        );
    }
}
