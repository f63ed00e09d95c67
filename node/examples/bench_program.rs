//! `cargo run --release -p cairn-node --example bench_program -- LEARNERS OUT.jsonl`
//!
//! The benchmarks' program at one site, written as JSON lines for peers that are not Cairn
//! (`node/benches/pouchdb/`): a hub with the catalog (5 achievements, the 3-level pathway), a
//! site that received it by bundle, and LEARNERS learners there, each enrolled in every
//! achievement with 2-3 evidence narratives, one assessment per enrollment and the awards that
//! follow, each award carrying its signed Open Badges credential (`node/benches/common/program.rs`:
//! the same calls as `populate` in `node/benches/sync.rs`): 28.5 log entries per learner.
//!
//! Output: a first line `{"meta": {...}}` (learners, the site's log entries for them, seconds to
//! generate), then one line per record in each learner's final state, learner by learner:
//! `{"_id", "type", "learner", ...the record as Cairn serializes it}`. A learner record is one
//! line (its profile); enrollments, evidence, assessments and awards are one line each: 29.5
//! lines per learner (the award entry of the third level also carries the pathway's award).

#[path = "../benches/common/program.rs"]
mod program;

use cairn_node::config::NodeRole;
use cairn_node::domain::{learners, people};
use cairn_node::node::Node;
use serde_json::{Value, json};
use std::io::Write;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(n), Some(out)) = (
        args.first().and_then(|s| s.parse::<usize>().ok()),
        args.get(1),
    ) else {
        eprintln!("usage: bench_program LEARNERS OUT.jsonl");
        std::process::exit(2);
    };
    let root = tempfile::tempdir().expect("temporary folder");
    let hub = Node::init(&root.path().join("hub"), NodeRole::Hub, "Hub", None).unwrap();
    let op = signed_in(&hub, &[people::Role::Admin, people::Role::Developer]);
    program::add_catalog(&hub, &op);

    // The site joins and receives the catalog by USB bundle (no network needed here).
    let site = Node::init(&root.path().join("site0"), NodeRole::Site, "Site 0", None).unwrap();
    let (_, file) = cairn_node::sync::provision::enroll_site(&hub, &op, site.id(), "Site 0", None)
        .expect("enroll the site");
    cairn_node::sync::provision::join(&site, &file).expect("join the hub");
    let bundle = root.path().join("catalog.bundle");
    let site_id = site.id().to_string();
    cairn_node::bundle::export(&hub, Some(&site_id), &bundle, false, &mut |_| {}).unwrap();
    let mut reader = std::fs::File::open(&bundle).unwrap();
    cairn_node::bundle::import(&site, &mut reader, "catalog.bundle", &mut |_, _| {}).unwrap();
    let op = signed_in(
        &site,
        &[
            people::Role::Admin,
            people::Role::Assessor,
            people::Role::Issuer,
        ],
    );

    let before = site.store.vector().unwrap().total();
    let started = Instant::now();
    let ids: Vec<String> = (0..n).map(|l| program::learner(&site, &op, 0, l)).collect();
    let generated = started.elapsed().as_secs_f64();
    let entries = site.store.vector().unwrap().total() - before;

    let mut w = std::io::BufWriter::new(std::fs::File::create(out).expect("create the output"));
    let meta = json!({"meta": {"learners": n, "cairn_entries": entries, "generated_s": generated}});
    writeln!(w, "{meta}").unwrap();
    let mut lines = 0usize;
    for lid in &ids {
        let doc = learners::find(&site, lid).unwrap();
        let rec = learners::record(&site, &doc).unwrap();
        let mut put = |id: &str, kind: &str, body: Value| {
            let mut line = json!({"_id": id, "type": kind, "learner": lid});
            if let (Some(o), Value::Object(b)) = (line.as_object_mut(), body) {
                o.extend(b);
            }
            writeln!(w, "{line}").unwrap();
            lines += 1;
        };
        let learner = json!({"home_site": rec.home_site, "profile": rec.profile});
        put(lid, "learner", learner);
        let sections = [
            ("enrollment", value(&rec.enrollments)),
            ("evidence", value(&rec.evidence)),
            ("assessment", value(&rec.assessments)),
            ("award", value(&rec.awards)),
        ];
        for (kind, records) in sections {
            for (id, body) in records.as_object().into_iter().flatten() {
                put(id, kind, body.clone());
            }
        }
    }
    w.flush().unwrap();
    eprintln!(
        "{n} learners: {entries} Cairn log entries generated in {generated:.1} s; {lines} records written to {out}"
    );
}

/// A staff account with `roles`, signed in.
fn signed_in(node: &Node, roles: &[people::Role]) -> people::Actor {
    people::add_user(node, &people::Actor::Operator, "op", roles, "135790").unwrap();
    cairn_node::signin::staff_once(node, "op", "135790").unwrap()
}

fn value(records: &impl serde::Serialize) -> Value {
    serde_json::to_value(records).expect("records serialize")
}
