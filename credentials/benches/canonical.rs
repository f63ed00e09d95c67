//! RDFC-1.0 canonicalization of credentials, the costly step of every `eddsa-rdfc-2022` proof
//! made or checked: [`rdfc::canonical_nquads`] (which keeps each top-level context list
//! processed) against [`rdfc::canonical_nquads_by_the_library`] (the `json-ld` crate's own
//! path, processing every context each time), measured side by side, alternately, in one run.
//!
//! Run: `cargo bench -p cairn-credentials --bench canonical` (`CAIRN_BENCH_ROUNDS`, default
//! 200). Prints a Markdown table of medians for docs/benchmarks.md.

use cairn_credentials::data_integrity::{self, ProofOptions};
use cairn_credentials::open_badges::{self as ob, BadgeCredential};
use cairn_credentials::{did_key, rdfc};
use ed25519_dalek::SigningKey;
use serde_json::Value;
use std::time::Instant;

/// An award as a site signs it: the program's achievement with two alignments, the learner as
/// a salted name hash, two pieces of evidence.
fn award(n: usize) -> Value {
    ob::credential_json(&BadgeCredential {
        id: ob::urn_uuid(format!("A-bench-{n}").as_bytes()),
        issuer: ob::Issuer {
            did: did_key::did_key(&key().verifying_key()),
            name: "Maine Adult Education Micro-credentials".into(),
            url: Some("https://example.org/program".into()),
            description: Some("Micro-credentials earned in adult education and reentry".into()),
            endorsements: vec![],
        },
        valid_from: "2026-05-01T15:00:00Z".into(),
        valid_until: None,
        achievement: ob::AchievementInfo {
            id: "urn:cairn:achievement:css-level-1".into(),
            name: "Computer Support Specialist Level 1".into(),
            description: "Foundations of computer support.".into(),
            criteria: "Install and configure an operating system; document the steps.".into(),
            achievement_type: "Badge".into(),
            level: Some(1),
            alignments: vec![
                ob::Alignment {
                    name: "Operating systems".into(),
                    framework: Some("CompTIA A+".into()),
                    code: Some("1.1".into()),
                    target_type: Some("ceasn:Competency".into()),
                    ..Default::default()
                },
                ob::Alignment {
                    name: "AS Computer Information Systems".into(),
                    target_type: Some("ceterms:Credential".into()),
                    description: Some("3 credits".into()),
                    ..Default::default()
                },
            ],
        },
        subject: ob::SubjectIdentity::Hashed(vec![ob::HashedIdentity {
            identity_type: "name".into(),
            value: ob::name_as_printed("María López"),
            salt: "7ec724c07341423ae90b29318652e7ee".into(),
        }]),
        evidence: (0..2)
            .map(|i| ob::EvidenceRef {
                id: Some(format!("urn:uuid:{i:08}-0000-4000-8000-000000000000")),
                name: Some(format!("Ticket log {i}")),
                narrative: Some("Installed and configured the operating system.".into()),
                genre: Some("File".into()),
            })
            .collect(),
    })
}

fn key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

fn options() -> ProofOptions {
    let did = did_key::did_key(&key().verifying_key());
    ProofOptions {
        created: "2026-05-01T15:00:00Z".into(),
        verification_method: format!("{did}#{}", did.trim_start_matches("did:key:")),
        proof_purpose: "assertionMethod".into(),
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let rounds: usize = std::env::var("CAIRN_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let contexts = rdfc::Contexts::shipped();
    let mut config = data_integrity::proof_config(&award(0), &options()).unwrap();
    config["cryptosuite"] = "eddsa-rdfc-2022".into();
    let signed: Vec<Value> = (0..4)
        .map(|n| data_integrity::secure(&award(n), &key(), &options()).unwrap())
        .collect();
    let bundle = ob::learner_bundle_json(
        "urn:uuid:00000000-0000-4000-8000-000000000001",
        &ob::Issuer {
            did: did_key::did_key(&key().verifying_key()),
            name: "Maine Adult Education Micro-credentials".into(),
            ..Default::default()
        },
        "2026-05-01T15:00:00Z",
        &ob::SubjectIdentity::Id("did:example:learner".into()),
        "María López",
        signed,
    );
    let documents = [
        ("an award credential", award(0)),
        ("its proof configuration", config),
        ("a learner bundle of 4 signed awards", bundle),
    ];
    println!(
        "\n## RDFC-1.0 canonicalization, median of {rounds} alternating runs each, ms\n\n| document | json-ld's own path | contexts kept processed | ratio |\n|---|---|---|---|"
    );
    for (name, doc) in &documents {
        // Same result both ways (the unit tests check this on generated documents too).
        let kept = rdfc::canonical_nquads(doc, contexts).unwrap();
        assert_eq!(
            kept,
            rdfc::canonical_nquads_by_the_library(doc, contexts).unwrap()
        );
        let (mut library, mut processed) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            let t = Instant::now();
            std::hint::black_box(rdfc::canonical_nquads_by_the_library(doc, contexts).unwrap());
            library.push(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            std::hint::black_box(rdfc::canonical_nquads(doc, contexts).unwrap());
            processed.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let (l, p) = (median(&mut library), median(&mut processed));
        println!("| {name} | {l:.2} | {p:.2} | {:.1}× |", l / p);
    }
}
