//! The hub's reports: the Digital Promise student-level codebook (one CSV row per learner),
//! stack completion rates by group, program and site, and each site's sync standing.

use super::catalog::{self, Catalog};
use super::ids;
use super::reconcile::all_learners;
use crate::error::{Error, Result};
use crate::node::{Node, now_ms};
use cairn_sync_protocol::DocId;
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;

/// Groups smaller than this are flagged: a rate over a handful of people says little and may
/// identify them.
pub const SMALL_GROUP: usize = 10;

/// One person: a kept record and any duplicates merged into it.
struct Person<'a> {
    id: String,
    main: &'a Json,
    all: Vec<&'a Json>,
}

fn people(learners: &[(DocId, Json)]) -> Vec<Person<'_>> {
    let mut out: Vec<Person> = learners
        .iter()
        .filter(|(_, d)| d["merged_into"].is_null())
        .map(|(doc, d)| Person {
            id: ids::learner_id(doc),
            main: d,
            all: vec![d],
        })
        .collect();
    for (_, d) in learners {
        if let Some(target) = d["merged_into"].as_str()
            && let Some(p) = out.iter_mut().find(|p| p.id == target)
        {
            p.all.push(d);
        }
    }
    out
}

impl Person<'_> {
    fn records(&self, section: &str) -> Vec<&Json> {
        self.all
            .iter()
            .flat_map(|d| d[section].as_object().into_iter().flatten().map(|(_, v)| v))
            .collect()
    }
    fn enrolled_in(&self, achievement: &str) -> Vec<&Json> {
        self.records("enrollments")
            .into_iter()
            .filter(|e| e["achievement"] == achievement)
            .collect()
    }
    fn attempted(&self, c: &Catalog, pathway: &str) -> bool {
        c.pathways
            .get(pathway)
            .is_some_and(|p| p.parts.iter().any(|a| !self.enrolled_in(a).is_empty()))
    }
    fn completed(&self, pathway: &str) -> bool {
        self.records("awards")
            .iter()
            .any(|a| a["pathway"] == pathway)
    }
    fn poverty(&self) -> bool {
        let p = &self.main["profile"];
        p["pell_eligible"] == true
            || p["ses_determination"]
                .as_str()
                .is_some_and(|s| !s.trim().is_empty())
    }
    fn bipoc(&self) -> bool {
        self.main["profile"]["race_ethnicity"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x.as_str().is_some_and(|s| s != "white")))
    }
    fn outcomes(&self, kind: &str) -> Vec<&Json> {
        self.records("outcomes")
            .into_iter()
            .filter(|o| o["kind"] == kind)
            .collect()
    }
}

/// A spreadsheet cannot run what a learner or staff member typed: a cell that starts like a
/// formula gets a leading apostrophe (OWASP's advice for CSV injection).
pub fn safe_cell(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '|') => format!("'{s}"),
        _ => s.to_string(),
    }
}

fn text(v: &Json) -> String {
    match v {
        Json::Null => String::new(),
        Json::Bool(true) => "yes".into(),
        Json::Bool(false) => "no".into(),
        Json::String(s) => s.clone(),
        Json::Array(a) => a.iter().map(text).collect::<Vec<_>>().join(";"),
        other => other.to_string(),
    }
}

/// The codebook CSV: header and one row per person. Returns the number of rows.
pub fn codebook(node: &Node, out: &mut impl std::io::Write) -> Result<usize> {
    let catalog = catalog::read(node)?;
    let learners = all_learners(node)?;
    let people = people(&learners);
    let mut header: Vec<String> = [
        "learner_id",
        "institution",
        "home_site",
        "year_of_birth",
        "gender",
        "race_ethnicity",
        "primary_language",
        "pell_eligible",
        "ses_determination",
        "enrollment_status",
        "first_generation",
        "first_enrollment",
    ]
    .map(str::to_string)
    .to_vec();
    for p in catalog.pathways.keys() {
        for col in ["attempted", "attempts", "previously_attempted", "completed"] {
            header.push(format!("{p}:{col}"));
        }
    }
    header.extend(
        [
            "entered_non_degree_program",
            "credits_transferred",
            "entered_degree_program",
            "degree",
            "wage_increases",
            "promotions",
            "employer_benefits",
            "new_employment",
        ]
        .map(str::to_string),
    );
    let mut w = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Always)
        .from_writer(out);
    let csv_err = |e: csv::Error| Error::storage("writing the report", e);
    w.write_record(&header).map_err(csv_err)?;
    for person in &people {
        let p = &person.main["profile"];
        let mut row: Vec<String> = vec![person.id.clone()];
        row.push(text(&p["institution"]));
        row.push(text(&person.main["home_site"]));
        for f in [
            "year_of_birth",
            "gender",
            "race_ethnicity",
            "primary_language",
            "pell_eligible",
            "ses_determination",
            "enrollment_status",
            "first_generation",
            "first_enrollment",
        ] {
            row.push(text(&p[f]));
        }
        for (pid, pathway) in &catalog.pathways {
            let enrollments: Vec<&Json> = pathway
                .parts
                .iter()
                .flat_map(|a| person.enrolled_in(a))
                .collect();
            let attempts: i64 = enrollments
                .iter()
                .filter_map(|e| e["attempts"].as_i64())
                .sum();
            row.push(text(&json!(person.attempted(&catalog, pid))));
            row.push(attempts.to_string());
            row.push(text(&json!(
                enrollments
                    .iter()
                    .any(|e| e["previously_attempted"] == true)
            )));
            row.push(text(&json!(person.completed(pid))));
        }
        let non_degree = person.outcomes("non-degree-program");
        let degree = person.outcomes("degree-program");
        row.push(text(&json!(!non_degree.is_empty())));
        row.push(text(&json!(
            non_degree.iter().any(|o| o["credits_transferred"] == true)
        )));
        row.push(text(&json!(!degree.is_empty())));
        row.push(
            degree
                .iter()
                .filter_map(|o| o["degree"].as_str())
                .collect::<Vec<_>>()
                .join(";"),
        );
        for kind in [
            "wage-increase",
            "promotion",
            "employer-benefit",
            "new-employment",
        ] {
            row.push(person.outcomes(kind).len().to_string());
        }
        let row: Vec<String> = row.iter().map(|c| safe_cell(c)).collect();
        w.write_record(&row).map_err(csv_err)?;
    }
    w.flush()
        .map_err(|e| Error::storage("writing the report", e))?;
    Ok(people.len())
}

fn rate(attempted: usize, completed: usize) -> Json {
    json!({
        "attempted": attempted,
        "completed": completed,
        "rate": if attempted == 0 { Json::Null } else { json!((completed as f64 / attempted as f64 * 1000.0).round() / 1000.0) },
        "small_group": attempted < SMALL_GROUP,
    })
}

/// Stack completion rates: for every pathway, over all learners who attempted it, those impacted
/// by poverty and those who identify as BIPOC — for the whole program, per program and per site.
pub fn outcomes(node: &Node) -> Result<Json> {
    let catalog = catalog::read(node)?;
    let learners = all_learners(node)?;
    let people = people(&learners);
    let sites: BTreeMap<String, String> = node
        .store
        .site_records()?
        .into_iter()
        .map(|s| (s.node, s.name))
        .collect();
    let mut rows = Vec::new();
    type Filter<'a> = Box<dyn Fn(&Person) -> bool + 'a>;
    let groups: Vec<(&str, Filter)> = vec![
        ("all learners", Box::new(|_| true)),
        ("impacted by poverty", Box::new(|p: &Person| p.poverty())),
        ("BIPOC", Box::new(|p: &Person| p.bipoc())),
    ];
    let mut scopes: Vec<(String, String, Filter)> =
        vec![("program".into(), "all".into(), Box::new(|_| true))];
    for (id, name) in &sites {
        let id = id.clone();
        scopes.push((
            "site".into(),
            name.clone(),
            Box::new(move |p: &Person| p.main["home_site"] == id.as_str()),
        ));
    }
    for (pid, pathway) in &catalog.pathways {
        let program = pathway
            .program
            .clone()
            .unwrap_or_else(|| "(no program)".into());
        for (scope_kind, scope_name, in_scope) in &scopes {
            for (group, in_group) in &groups {
                let attempted: Vec<&Person> = people
                    .iter()
                    .filter(|p| in_scope(p) && in_group(p) && p.attempted(&catalog, pid))
                    .collect();
                let completed = attempted.iter().filter(|p| p.completed(pid)).count();
                let mut r = rate(attempted.len(), completed);
                r["pathway"] = json!(pid);
                r["pathway_name"] = json!(pathway.name);
                r["program"] = json!(program);
                r["scope"] = json!(scope_kind);
                r["site"] = json!(if scope_kind == "site" {
                    Json::from(scope_name.clone())
                } else {
                    Json::Null
                });
                r["group"] = json!(group);
                rows.push(r);
            }
        }
    }
    Ok(json!({"learners": people.len(), "small_group_below": SMALL_GROUP, "rows": rows}))
}

/// Each site's standing: last contact, how far behind, pending evidence files, sync history.
pub fn sites(node: &Node) -> Result<Json> {
    let vector = node.store.vector()?;
    let learners = all_learners(node)?;
    let now = now_ms();
    let mut out = Vec::new();
    for site in node.store.site_records()? {
        let Ok(id) = site.node.parse::<cairn_sync_protocol::NodeId>() else {
            continue;
        };
        let state = crate::sync::peer::load(&node.store, &id)?;
        let known = state.known_vector();
        let scope = crate::sync::scope::SiteScope::new(&node.store, node.id(), id)?;
        use cairn_sync_protocol::Scope;
        let behind: u64 = vector
            .iter()
            .filter(|(o, _)| scope.send_origin(o))
            .map(|(o, s)| s.saturating_sub(known.get(o)))
            .sum();
        let mut pending_files = 0;
        for (_, d) in learners.iter().filter(|(_, d)| d["home_site"] == site.node) {
            for e in d["evidence"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(_, e)| e)
            {
                for f in e["files"].as_array().into_iter().flatten() {
                    if let Some(h) = f["sha256"].as_str() {
                        let (have, total) = super::files::completeness(node, h)?;
                        if have < total {
                            pending_files += 1;
                        }
                    }
                }
            }
        }
        let days = state
            .last_contact_ms
            .map(|t| (now.saturating_sub(t)) as f64 / 86_400_000.0);
        out.push(json!({
            "site": site.node,
            "name": site.name,
            "revoked": site.revoked,
            "last_contact_ms": state.last_contact_ms,
            "days_since_contact": days.map(|d| (d * 10.0).round() / 10.0),
            "entries_behind": behind,
            "entries_from_site": vector.iter().filter(|(o, _)| o.node == id).map(|(_, s)| *s).sum::<u64>(),
            "pending_evidence_files": pending_files,
            "history": state.history.iter().rev().take(10).collect::<Vec<_>>(),
        }));
    }
    Ok(json!({"sites": out}))
}

#[cfg(test)]
mod tests {
    use super::safe_cell;
    use proptest::prelude::*;

    proptest! {
        /// Whatever was typed, the cell a spreadsheet reads back never starts like a formula,
        /// and a standard CSV reader gets the text back (behind the apostrophe, if one was added).
        #[test]
        fn cells_are_never_formulas_and_survive_a_csv_round_trip(s in "\\PC{0,40}|[=+@\\-|][\\PC]{0,20}") {
            let cell = safe_cell(&s);
            prop_assert!(!matches!(cell.chars().next(), Some('=' | '+' | '-' | '@' | '\t' | '\r' | '|')));
            let mut w = csv::WriterBuilder::new().quote_style(csv::QuoteStyle::Always).from_writer(vec![]);
            w.write_record([cell.as_str(), "x"]).unwrap();
            let bytes = w.into_inner().unwrap();
            let mut r = csv::ReaderBuilder::new().has_headers(false).from_reader(bytes.as_slice());
            let rec = r.records().next().unwrap().unwrap();
            prop_assert_eq!(&rec[0], cell.as_str());
            let prefixed = format!("'{}", s);
            prop_assert!(cell == s || cell == prefixed);
        }
    }
}
