//! Values in words, in the person's language: roles, codebook categories, decisions, kinds of
//! award, times ("3 hours ago") and sizes ("2.4 MB"), catalog names in the learner's language.

use super::i18n::Tr;
use crate::domain::catalog::Catalog;
use crate::domain::people::Role;
use crate::records::catalog::in_language;
use crate::records::learner::{
    AwardKind, Decision, EnrollmentStatus, Gender, OutcomeKind, RaceEthnicity,
};

/// The kebab-case name serde gives an enum value.
pub fn slug<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// A role's name.
pub fn role(tr: &Tr, r: Role) -> String {
    tr.t(&format!("role-{r}"))
}

/// Roles as "Assessor, Issuer".
pub fn roles(tr: &Tr, rs: &[Role]) -> String {
    rs.iter()
        .map(|r| role(tr, *r))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A gender.
pub fn gender(tr: &Tr, g: Gender) -> String {
    tr.t(&format!("gender-{}", slug(&g)))
}

/// A race/ethnicity category.
pub fn race(tr: &Tr, r: RaceEthnicity) -> String {
    tr.t(&format!("race-{}", slug(&r)))
}

/// An enrollment status of the codebook.
pub fn enrollment_status(tr: &Tr, s: EnrollmentStatus) -> String {
    tr.t(&format!("status-{}", slug(&s)))
}

/// An assessor's decision.
pub fn decision(tr: &Tr, d: Decision) -> String {
    tr.t(&format!("decision-{}", slug(&d)))
}

/// A kind of outcome.
pub fn outcome(tr: &Tr, k: OutcomeKind) -> String {
    tr.t(&format!("outcome-{}", slug(&k)))
}

/// A kind of award.
pub fn award_kind(tr: &Tr, k: &AwardKind) -> String {
    tr.t(match k {
        AwardKind::Achievement { .. } => "award-kind-achievement",
        AwardKind::Pathway { .. } => "award-kind-pathway",
        AwardKind::Recognition { .. } => "award-kind-recognition",
    })
}

/// A catalog item's name in the person's language (achievement, pathway or recognition id).
pub fn catalog_name(tr: &Tr, catalog: &Catalog, id: &str) -> String {
    let lang = tr.lang.code();
    if let Some(a) = catalog.achievements.get(id) {
        return in_language(&a.name, &a.names, lang).to_string();
    }
    if let Some(p) = catalog.pathways.get(id) {
        return in_language(&p.name, &p.names, lang).to_string();
    }
    if let Some(r) = catalog.recognitions.get(id) {
        return in_language(&r.description, &r.descriptions, lang).to_string();
    }
    id.to_string()
}

/// How long ago `ms` was, in words ("3 hours ago", "never").
pub fn ago(tr: &Tr, ms: Option<u64>) -> String {
    let Some(ms) = ms else {
        return tr.t("time-never");
    };
    let secs = crate::clock::now_ms().saturating_sub(ms) / 1000;
    let (id, n) = match secs {
        0..=59 => ("time-just-now", 0),
        60..=3599 => ("time-minutes-ago", secs / 60),
        3600..=86_399 => ("time-hours-ago", secs / 3600),
        _ => ("time-days-ago", secs / 86_400),
    };
    tr.a(id, &[("n", n.to_string())])
}

/// A size in bytes, in decimal units ("2.4 MB").
pub fn size(bytes: u64) -> String {
    bytesize::ByteSize(bytes).display().si().to_string()
}

/// A date from an RFC 3339 time, as YYYY-MM-DD (for file names).
pub fn date(rfc3339: &str) -> &str {
    rfc3339.get(..10).unwrap_or(rfc3339)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    /// Every value an enum can take has a name in both languages.
    #[test]
    fn every_value_has_words_in_both_languages() {
        for lang in Lang::ALL {
            let tr = Tr::new(lang);
            let mut all = Vec::new();
            all.extend(Role::ALL.iter().map(|r| role(&tr, *r)));
            for g in [Gender::Female, Gender::Male, Gender::Other] {
                all.push(gender(&tr, g));
            }
            use RaceEthnicity as R;
            for r in [
                R::AmericanIndianAlaskaNative,
                R::Asian,
                R::BlackAfricanAmerican,
                R::HispanicLatino,
                R::MiddleEasternNorthAfrican,
                R::NativeHawaiianPacificIslander,
                R::White,
            ] {
                all.push(race(&tr, r));
            }
            use EnrollmentStatus as S;
            for s in [
                S::FullTime,
                S::PartTime,
                S::ShortTermTraining,
                S::SelfPaced,
                S::Other,
            ] {
                all.push(enrollment_status(&tr, s));
            }
            all.push(decision(&tr, Decision::Proficient));
            all.push(decision(&tr, Decision::NotYet));
            use OutcomeKind as O;
            for k in [
                O::NonDegreeProgram,
                O::DegreeProgram,
                O::WageIncrease,
                O::Promotion,
                O::EmployerBenefit,
                O::NewEmployment,
            ] {
                all.push(outcome(&tr, k));
            }
            for f in crate::domain::text::Field::ALL {
                all.push(tr.t(&format!("field-{}", f.key())));
            }
            for n in [None, Some(0), Some(crate::clock::now_ms() - 7_200_000)] {
                all.push(ago(&tr, n));
            }
            assert!(
                all.iter().all(|w| !w.contains('⟦')),
                "{lang:?}: {:?}",
                all.iter().filter(|w| w.contains('⟦')).collect::<Vec<_>>()
            );
        }
    }
}
