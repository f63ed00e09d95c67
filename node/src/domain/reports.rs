//! The hub's reports: the Digital Promise student-level codebook (one CSV row per learner) and
//! stack completion rates by group, program and site. (Each site's sync standing is reported by
//! the application layer, which knows the sync state.)

use super::catalog::{self, Catalog};
use super::ids;
use super::learners::{self, LearnerRecord};
use crate::error::{Error, Result};
use crate::node::Node;
use crate::records::learner::{AwardKind, Enrollment, Outcome, OutcomeKind};
use cairn_sync_protocol::DocId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Groups smaller than this are flagged: a rate over a handful of people says little and may
/// identify them.
pub const SMALL_GROUP: usize = 10;

/// One person: a kept record and any duplicates merged into it.
struct Person<'a> {
    id: String,
    main: &'a LearnerRecord,
    all: Vec<&'a LearnerRecord>,
}

fn people(learners: &[(DocId, LearnerRecord)]) -> Vec<Person<'_>> {
    let mut out: Vec<Person> = learners
        .iter()
        .filter(|(_, r)| r.merged_into.is_none())
        .map(|(doc, r)| Person {
            id: ids::learner_id(doc),
            main: r,
            all: vec![r],
        })
        .collect();
    for (_, r) in learners {
        if let Some(target) = &r.merged_into
            && let Some(p) = out.iter_mut().find(|p| &p.id == target)
        {
            p.all.push(r);
        }
    }
    out
}

impl Person<'_> {
    fn enrolled_in(&self, achievement: &str) -> Vec<&Enrollment> {
        self.all
            .iter()
            .flat_map(|r| r.enrollments.values())
            .filter(|e| e.achievement == achievement)
            .collect()
    }
    fn attempted(&self, c: &Catalog, pathway: &str) -> bool {
        c.pathways
            .get(pathway)
            .is_some_and(|p| p.parts.iter().any(|a| !self.enrolled_in(a).is_empty()))
    }
    fn completed(&self, pathway: &str) -> bool {
        self.all
            .iter()
            .flat_map(|r| r.awards.values())
            .any(|a| matches!(&a.kind, AwardKind::Pathway { pathway: p, .. } if p == pathway))
    }
    fn outcomes(&self, kind: OutcomeKind) -> Vec<&Outcome> {
        self.all
            .iter()
            .flat_map(|r| r.outcomes.values())
            .filter(|o| o.kind == kind)
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

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.into()
}

fn opt_yes_no(b: Option<bool>) -> String {
    b.map(yes_no).unwrap_or_default()
}

fn kebab<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The codebook CSV: header and one row per person. Returns the number of rows.
pub fn codebook(node: &Node, out: &mut impl std::io::Write) -> Result<usize> {
    let catalog = catalog::read(node)?;
    let learners = learners::all(node)?;
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
        let p = &person.main.profile;
        let mut row: Vec<String> = vec![
            person.id.clone(),
            p.institution.clone().unwrap_or_default(),
            person.main.home_site.clone(),
            p.year_of_birth.map(|y| y.to_string()).unwrap_or_default(),
            p.gender.as_ref().map(kebab).unwrap_or_default(),
            p.race_ethnicity
                .iter()
                .map(kebab)
                .collect::<Vec<_>>()
                .join(";"),
            p.primary_language.clone().unwrap_or_default(),
            opt_yes_no(p.pell_eligible),
            p.ses_determination.clone().unwrap_or_default(),
            p.enrollment_status.as_ref().map(kebab).unwrap_or_default(),
            opt_yes_no(p.first_generation),
            p.first_enrollment.clone().unwrap_or_default(),
        ];
        for (pid, pathway) in &catalog.pathways {
            let enrollments: Vec<&Enrollment> = pathway
                .parts
                .iter()
                .flat_map(|a| person.enrolled_in(a))
                .collect();
            let attempts: i64 = enrollments.iter().map(|e| e.attempts).sum();
            row.push(yes_no(person.attempted(&catalog, pid)));
            row.push(attempts.to_string());
            row.push(yes_no(enrollments.iter().any(|e| e.previously_attempted)));
            row.push(yes_no(person.completed(pid)));
        }
        let non_degree = person.outcomes(OutcomeKind::NonDegreeProgram);
        let degree = person.outcomes(OutcomeKind::DegreeProgram);
        row.push(yes_no(!non_degree.is_empty()));
        row.push(yes_no(
            non_degree
                .iter()
                .any(|o| o.credits_transferred == Some(true)),
        ));
        row.push(yes_no(!degree.is_empty()));
        row.push(
            degree
                .iter()
                .filter_map(|o| o.degree.as_deref())
                .collect::<Vec<_>>()
                .join(";"),
        );
        for kind in [
            OutcomeKind::WageIncrease,
            OutcomeKind::Promotion,
            OutcomeKind::EmployerBenefit,
            OutcomeKind::NewEmployment,
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

/// Completion among one group of learners, in one scope, for one pathway.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rate {
    /// The pathway's catalog id.
    pub pathway: String,
    /// Its name.
    pub pathway_name: String,
    /// Its program.
    pub program: String,
    /// `program` (everyone) or `site`.
    pub scope: String,
    /// The site's name, for a site row.
    pub site: Option<String>,
    /// `all learners`, `impacted by poverty` or `BIPOC`.
    pub group: String,
    /// Learners who attempted the pathway.
    pub attempted: usize,
    /// Of those, learners who completed it.
    pub completed: usize,
    /// completed / attempted, to three decimals; none when nobody attempted.
    pub rate: Option<f64>,
    /// Fewer than [`SMALL_GROUP`] attempted.
    pub small_group: bool,
}

/// Stack completion rates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutcomesReport {
    /// People counted (duplicates merged count once).
    pub learners: usize,
    /// The size below which a group is flagged.
    pub small_group_below: usize,
    /// One row per pathway × scope × group.
    pub rows: Vec<Rate>,
}

/// Stack completion rates: for every pathway, over all learners who attempted it, those impacted
/// by poverty and those who identify as BIPOC — for the whole program, per program and per site.
pub fn outcomes(node: &Node) -> Result<OutcomesReport> {
    let catalog = catalog::read(node)?;
    let learners = learners::all(node)?;
    let people = people(&learners);
    let sites: BTreeMap<String, String> = node
        .store
        .site_records()?
        .into_iter()
        .map(|s| (s.node, s.name))
        .collect();
    type Filter<'a> = Box<dyn Fn(&Person) -> bool + 'a>;
    let groups: Vec<(&str, Filter)> = vec![
        ("all learners", Box::new(|_| true)),
        (
            "impacted by poverty",
            Box::new(|p: &Person| p.main.profile.poverty()),
        ),
        ("BIPOC", Box::new(|p: &Person| p.main.profile.bipoc())),
    ];
    let mut scopes: Vec<(&str, Option<String>, Filter)> =
        vec![("program", None, Box::new(|_| true))];
    for (id, name) in &sites {
        let id = id.clone();
        scopes.push((
            "site",
            Some(name.clone()),
            Box::new(move |p: &Person| p.main.home_site == id),
        ));
    }
    let mut rows = Vec::new();
    for (pid, pathway) in &catalog.pathways {
        let program = pathway
            .program
            .clone()
            .unwrap_or_else(|| "(no program)".into());
        for (scope, site, in_scope) in &scopes {
            for (group, in_group) in &groups {
                let attempted: Vec<&Person> = people
                    .iter()
                    .filter(|p| in_scope(p) && in_group(p) && p.attempted(&catalog, pid))
                    .collect();
                let completed = attempted.iter().filter(|p| p.completed(pid)).count();
                rows.push(Rate {
                    pathway: pid.clone(),
                    pathway_name: pathway.name.clone(),
                    program: program.clone(),
                    scope: scope.to_string(),
                    site: site.clone(),
                    group: group.to_string(),
                    attempted: attempted.len(),
                    completed,
                    rate: (!attempted.is_empty()).then(|| {
                        (completed as f64 / attempted.len() as f64 * 1000.0).round() / 1000.0
                    }),
                    small_group: attempted.len() < SMALL_GROUP,
                });
            }
        }
    }
    Ok(OutcomesReport {
        learners: people.len(),
        small_group_below: SMALL_GROUP,
        rows,
    })
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
