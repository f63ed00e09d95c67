//! The program the benchmarks measure, for any harness that needs it (included with
//! `#[path = ".../benches/common/program.rs"] mod program;`): the catalog a hub holds, and one
//! learner's work at a site. `node/examples/bench_program.rs` uses it; `node/benches/sync.rs` still
//! has its own copy of the same calls (its `new_hub` and `populate`), to be switched to this file.

use cairn_node::domain::lifecycle::{self, Decision};
use cairn_node::domain::{catalog, learners, people};
use cairn_node::node::Node;

/// The catalog's achievements; the first three are the levels of the pathway.
pub const ACHIEVEMENTS: [&str; 5] = [
    "css-level-1",
    "css-level-2",
    "css-level-3",
    "workready",
    "opportunity-ready",
];

/// Put the program's catalog on `hub`: the five achievements and the 3-level pathway.
pub fn add_catalog(hub: &Node, op: &people::Actor) {
    for (i, id) in ACHIEVEMENTS.iter().enumerate() {
        let achievement = catalog::Achievement {
            id: id.to_string(),
            name: format!("Achievement {id}"),
            description: "A realistic description of what this badge stands for.".into(),
            criteria: "Resolves a help-desk ticket end to end and documents it".into(),
            level: Some((i % 3) as i64 + 1),
            ..Default::default()
        };
        catalog::add_achievement(hub, op, achievement).unwrap();
    }
    let pathway = catalog::Pathway {
        id: "css".into(),
        name: "Computer Support Specialist".into(),
        description: "Levels 1-3".into(),
        parts: ACHIEVEMENTS[..3].iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    catalog::add_pathway(hub, op, pathway).unwrap();
}

/// Learner `l` of site `site`: registered, enrolled in every achievement, 2-3 evidence
/// narratives and one assessment per enrollment, and the awards that follow (the third level's
/// award also earns the pathway). 28.5 log entries on average. Returns the learner's `L-` id.
pub fn learner(node: &Node, op: &people::Actor, site: usize, l: usize) -> String {
    let profile = learners::Profile {
        number: format!("S{site}-{l}"),
        given_name: "Learner".into(),
        family_name: format!("Number {l}"),
        year_of_birth: Some(1970 + (l % 40) as i64),
        pell_eligible: Some(l.is_multiple_of(2)),
        ..Default::default()
    };
    let lid = learners::add(node, op, profile, None).unwrap().id;
    for (k, a) in ACHIEVEMENTS.iter().enumerate() {
        let e = lifecycle::enroll(node, op, &lid, a, false).unwrap().id;
        let mut last = String::new();
        for s in 0..2 + (l + k) % 2 {
            let text = format!(
                "Submission {s}: a paragraph describing the work done for {a}, the ticket handled and what was learned from it."
            );
            last = lifecycle::submit_evidence(node, op, &e, Some(&text), &[])
                .unwrap()
                .id;
        }
        let feedback = Some("Meets the criteria.");
        lifecycle::assess(node, op, &last, Decision::Proficient, feedback).unwrap();
        lifecycle::award(node, op, &e).unwrap();
    }
    lid
}
