//! Site staff's pages: the day's overview, learners (search, register with every codebook field,
//! correct, enroll, reset a PIN, record outcomes, move to another site at the hub), the
//! assessor's queue with learners' names and evidence files served as what they are, awards to
//! make and certificates to print.

use super::i18n::Tr;
use super::layout::{FieldAttrs, Flash, button_form, csrf, empty, field, file_input, select};
use super::session::{Session, Signed};
use super::words::{self, catalog_name};
use super::{Notice, Shared, WebFiles, download, forged};
use crate::app::policy::{Operation, allows};
use crate::app::{Reply, Request};
use crate::domain::catalog::Catalog;
use crate::domain::learners::{LearnerSummary, Profile, ProfileChanges};
use crate::domain::lifecycle::OutcomeReport;
use crate::error::Error;
use crate::records::learner::{
    Decision, EnrollmentState, EnrollmentStatus, Gender, LearnerRecord, OutcomeKind, RaceEthnicity,
};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/staff", get(home))
        .route("/staff/learners", get(learners).post(register))
        .route("/staff/learners/new", get(new_learner))
        .route("/staff/learners/{id}", get(learner))
        .route("/staff/learners/{id}/profile", post(correct))
        .route("/staff/learners/{id}/pin", post(reset_pin))
        .route("/staff/learners/{id}/enroll", post(enroll))
        .route("/staff/learners/{id}/outcome", post(outcome))
        .route("/staff/learners/{id}/transfer", post(transfer))
        .route("/staff/queue", get(queue))
        .route("/staff/assess", post(assess))
        .route("/staff/file/{sha}", get(file))
        .route("/staff/awards", get(awards))
        .route("/staff/award", post(award))
        .route("/staff/certificate/{award}", get(certificate))
}

/// A url-encoded form as pairs (a field may repeat: race/ethnicity checkboxes).
pub(super) struct Pairs(Vec<(String, String)>);

impl Pairs {
    pub(super) fn parse(body: &Bytes) -> Pairs {
        Pairs(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }
    pub(super) fn get(&self, k: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }
    pub(super) fn all(&self, k: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .collect()
    }
    pub(super) fn token(&self) -> String {
        self.get("csrf").unwrap_or_default()
    }
}

fn learner_list(
    web: &Shared,
    s: &Session,
    search: Option<String>,
) -> Result<Vec<LearnerSummary>, Error> {
    match web.ask(&s.actor, Request::LearnerList { search })? {
        Reply::Learners { learners } => Ok(learners),
        _ => Ok(Vec::new()),
    }
}

fn record(web: &Shared, s: &Session, id: &str) -> Result<LearnerRecord, Error> {
    match web.ask(&s.actor, Request::LearnerShow { learner: id.into() })? {
        Reply::Learner(r) => Ok(*r),
        _ => Err(Error::storage_msg("the record did not come back")),
    }
}

pub(super) fn catalog(web: &Shared, s: &Session) -> Catalog {
    match web.ask(&s.actor, Request::CatalogList) {
        Ok(Reply::Catalog(c)) => c,
        _ => Catalog::default(),
    }
}

/// Every learner record this person may read (those homed here, at a site).
fn records(web: &Shared, s: &Session) -> Result<Vec<LearnerRecord>, Error> {
    let here = web.app.node().id().to_string();
    let hub = web.hub();
    let mut out = Vec::new();
    for l in learner_list(web, s, None)? {
        if hub || l.home_site == here {
            out.push(record(web, s, &l.id)?);
        }
    }
    Ok(out)
}

async fn home(State(web): State<Shared>, Signed(s): Signed, Query(n): Query<Notice>) -> Response {
    let tr = Tr::new(s.lang);
    if matches!(s.actor, crate::domain::people::Actor::Learner { .. }) {
        return Redirect::to("/me").into_response();
    }
    let may = |op| allows(op, &s.actor);
    let (waiting, ready) = if may(Operation::LearnerList) {
        let all = records(&web, &s).unwrap_or_default();
        (
            all.iter()
                .map(|r| r.awaiting_assessment().len())
                .sum::<usize>(),
            all.iter().map(|r| ready_to_award(r).len()).sum::<usize>(),
        )
    } else {
        (0, 0)
    };
    let joined = web.app.node().config().hub.is_some();
    let body = html! {
        @if !web.hub() && !joined && may(Operation::Join) { (super::operate::join_card(&web, &s)) }
        div.badges {
            @if may(Operation::Assess) {
                a.badge href="/staff/queue" { h2 { (tr.t("nav-queue")) } p { (tr.a("queue-count", &[("count", waiting.to_string())])) } }
            }
            @if may(Operation::Award) {
                a.badge href="/staff/awards" { h2 { (tr.t("nav-awards")) } p { (tr.a("ready-count", &[("count", ready.to_string())])) } }
            }
            @if may(Operation::LearnerList) {
                a.badge href="/staff/learners" { h2 { (tr.t("nav-learners")) } p { (tr.t("learners-card")) } }
            }
            @if may(Operation::BundleExport) && !web.hub() {
                a.badge href="/staff/sync" { h2 { (tr.t("nav-sync")) } p { (tr.t("sync-card")) } }
            }
            @if web.hub() && may(Operation::SiteList) {
                a.badge href="/hub/sites" { h2 { (tr.t("nav-sites")) } p { (tr.t("sites-card")) } }
            }
            @if web.hub() && may(Operation::ReconcileList) {
                a.badge href="/hub/reconcile" { h2 { (tr.t("nav-reconcile")) } p { (tr.t("reconcile-card")) } }
            }
            @if web.hub() && may(Operation::ReportOutcomes) {
                a.badge href="/hub/reports" { h2 { (tr.t("nav-reports")) } p { (tr.t("reports-card")) } }
            }
            @if may(Operation::UserList) {
                a.badge href="/staff/users" { h2 { (tr.t("nav-staff")) } p { (tr.t("staff-card")) } }
            }
            a.badge href="/staff/catalog" { h2 { (tr.t("nav-catalog")) } p { (tr.t("catalog-card")) } }
        }
    };
    web.page(&s, tr.t("staff-home-title"), n.flash(&tr), body)
}

#[derive(serde::Deserialize)]
struct SearchQuery {
    q: Option<String>,
    done: Option<String>,
}

async fn learners(
    State(web): State<Shared>,
    Signed(s): Signed,
    Query(q): Query<SearchQuery>,
) -> Response {
    let tr = Tr::new(s.lang);
    let search = q.q.clone().filter(|x| !x.trim().is_empty());
    let list = match learner_list(&web, &s, search.clone()) {
        Ok(l) => l,
        Err(e) => return web.problem(&s, &e),
    };
    let body = html! {
        form method="get" action="/staff/learners" role="search" {
            (field("q", &tr.t("search-label"), search.as_deref().unwrap_or(""), FieldAttrs { help: Some(tr.t("search-help")), ..FieldAttrs::optional(100) }))
            button { (tr.t("search")) }
            @if allows(Operation::LearnerAdd, &s.actor) {
                " " a.button.secondary href="/staff/learners/new" { (tr.t("register-learner")) }
            }
        }
        @if allows(Operation::LearnerImport, &s.actor) {
            details #roster-import {
                summary { (tr.t("roster-title")) }
                p { (tr.t("roster-help")) }
                form method="post" action="/staff/learners/import" enctype="multipart/form-data" {
                    (csrf(&s.csrf))
                    (file_input(&tr, "roster", &tr.t("roster-file-label"), None, false, Some(".csv,text/csv")))
                    button #import-roster { (tr.t("roster-button")) }
                }
            }
        }
        @if list.is_empty() { (empty(&tr.t("no-learners-found"))) }
        @else {
            div.scroll { table {
                thead { tr { th scope="col" { (tr.t("col-name")) } th scope="col" { (tr.t("col-number")) } th scope="col" { (tr.t("col-enrollments")) } th scope="col" { (tr.t("col-awards")) } } }
                tbody { @for l in &list {
                    tr {
                        td { a href=(format!("/staff/learners/{}", l.id)) { (l.name) } }
                        td { (l.number) }
                        td { (l.enrollments) }
                        td { (l.awards) }
                    }
                } }
            } }
        }
    };
    let notice = Notice { done: q.done };
    web.page(&s, tr.t("learners-title"), notice.flash(&tr), body)
}

/// The codebook's fields, filled from `p` (empty for a new learner).
fn profile_fields(tr: &Tr, p: &Profile, new: bool) -> Markup {
    let yes_no = |id: &str, label: String, v: Option<bool>| {
        let options = vec![
            (String::new(), tr.t("unknown")),
            ("yes".to_string(), tr.t("yes")),
            ("no".to_string(), tr.t("no")),
        ];
        let chosen = match v {
            Some(true) => "yes",
            Some(false) => "no",
            None => "",
        };
        select(id, &label, &options, chosen)
    };
    let genders: Vec<(String, String)> = std::iter::once((String::new(), tr.t("unknown")))
        .chain(
            [Gender::Female, Gender::Male, Gender::Other]
                .map(|g| (words::slug(&g), words::gender(tr, g))),
        )
        .collect();
    let statuses: Vec<(String, String)> = std::iter::once((String::new(), tr.t("unknown")))
        .chain(
            [
                EnrollmentStatus::FullTime,
                EnrollmentStatus::PartTime,
                EnrollmentStatus::ShortTermTraining,
                EnrollmentStatus::SelfPaced,
                EnrollmentStatus::Other,
            ]
            .map(|x| (words::slug(&x), words::enrollment_status(tr, x))),
        )
        .collect();
    use RaceEthnicity as R;
    let races = [
        R::AmericanIndianAlaskaNative,
        R::Asian,
        R::BlackAfricanAmerican,
        R::HispanicLatino,
        R::MiddleEasternNorthAfrican,
        R::NativeHawaiianPacificIslander,
        R::White,
    ];
    let languages = vec![
        ("en".to_string(), "English".to_string()),
        ("es".to_string(), "Español".to_string()),
    ];
    html! {
        @if new {
            (field("number", &tr.t("field-number"), &p.number, FieldAttrs { help: Some(tr.t("number-help")), ..FieldAttrs::required(32) }))
        }
        (field("given_name", &tr.t("field-given-name"), &p.given_name, FieldAttrs::required(100)))
        (field("family_name", &tr.t("field-family-name"), &p.family_name, FieldAttrs::required(100)))
        (field("institution", &tr.t("field-institution"), p.institution.as_deref().unwrap_or(""), FieldAttrs::optional(200)))
        (field("institution_id", &tr.t("field-institution-id"), p.institution_id.as_deref().unwrap_or(""), FieldAttrs { help: Some(tr.t("institution-id-help")), ..FieldAttrs::optional(64) }))
        (field("email", &tr.t("field-email"), p.email.as_deref().unwrap_or(""), FieldAttrs { kind: "email", help: Some(tr.t("email-help")), ..FieldAttrs::optional(254) }))
        (field("year_of_birth", &tr.t("field-year-of-birth"), &p.year_of_birth.map(|y| y.to_string()).unwrap_or_default(), FieldAttrs { kind: "number", inputmode: Some("numeric"), ..FieldAttrs::optional(4) }))
        (select("gender", &tr.t("field-gender"), &genders, &p.gender.map(|g| words::slug(&g)).unwrap_or_default()))
        fieldset {
            legend { (tr.t("field-race-ethnicity")) }
            p.help { (tr.t("race-help")) }
            @for r in races {
                label { input type="checkbox" name="race_ethnicity" value=(words::slug(&r)) checked[p.race_ethnicity.contains(&r)]; (words::race(tr, r)) }
            }
        }
        (field("primary_language", &tr.t("field-primary-language"), p.primary_language.as_deref().unwrap_or(""), FieldAttrs::optional(64)))
        (yes_no("pell_eligible", tr.t("field-pell-eligible"), p.pell_eligible))
        (field("ses_determination", &tr.t("field-ses-determination"), p.ses_determination.as_deref().unwrap_or(""), FieldAttrs { help: Some(tr.t("ses-help")), ..FieldAttrs::optional(200) }))
        (select("enrollment_status", &tr.t("field-enrollment-status"), &statuses, &p.enrollment_status.map(|x| words::slug(&x)).unwrap_or_default()))
        (yes_no("first_generation", tr.t("field-first-generation"), p.first_generation))
        (field("first_enrollment", &tr.t("field-first-enrollment"), p.first_enrollment.as_deref().unwrap_or(""), FieldAttrs { kind: "date", ..FieldAttrs::optional(10) }))
        (select("interface_language", &tr.t("field-interface-language"), &languages, p.interface_language.as_deref().unwrap_or("en")))
    }
}

/// A yes/no/unknown choice from a form.
fn yes_no(v: Option<String>) -> Option<bool> {
    match v.as_deref() {
        Some("yes") => Some(true),
        Some("no") => Some(false),
        _ => None,
    }
}

fn parse_enum<T: serde::de::DeserializeOwned>(v: Option<String>) -> Option<T> {
    v.and_then(|x| serde_json::from_value(serde_json::Value::String(x)).ok())
}

/// The profile a registration or correction form describes. A year that is not a number is
/// passed on as one the domain refuses, so the person hears why.
fn profile_from(f: &Pairs) -> Profile {
    Profile {
        number: f.get("number").unwrap_or_default(),
        given_name: f.get("given_name").unwrap_or_default(),
        family_name: f.get("family_name").unwrap_or_default(),
        institution: f.get("institution"),
        institution_id: f.get("institution_id"),
        email: f.get("email"),
        year_of_birth: f.get("year_of_birth").map(|y| y.parse().unwrap_or(0)),
        gender: parse_enum(f.get("gender")),
        race_ethnicity: f
            .all("race_ethnicity")
            .into_iter()
            .filter_map(|r| parse_enum(Some(r)))
            .collect(),
        primary_language: f.get("primary_language"),
        pell_eligible: yes_no(f.get("pell_eligible")),
        ses_determination: f.get("ses_determination"),
        enrollment_status: parse_enum(f.get("enrollment_status")),
        first_generation: yes_no(f.get("first_generation")),
        first_enrollment: f.get("first_enrollment"),
        interface_language: f.get("interface_language"),
    }
}

fn registration_form(tr: &Tr, s: &Session, p: &Profile) -> Markup {
    html! {
        form method="post" action="/staff/learners" {
            (csrf(&s.csrf))
            (profile_fields(tr, p, true))
            (field("pin", &tr.t("field-pin"), "", FieldAttrs { kind: "password", inputmode: Some("numeric"), help: Some(tr.t("pin-help")), ..FieldAttrs::optional(12) }))
            button #register { (tr.t("register")) }
        }
    }
}

async fn new_learner(State(web): State<Shared>, Signed(s): Signed) -> Response {
    let tr = Tr::new(s.lang);
    let p = Profile {
        institution: web.app.node().config().institution.clone(),
        ..Default::default()
    };
    web.page(
        &s,
        tr.t("register-title"),
        None,
        registration_form(&tr, &s, &p),
    )
}

async fn register(State(web): State<Shared>, Signed(s): Signed, body: Bytes) -> Response {
    let tr = Tr::new(s.lang);
    let f = Pairs::parse(&body);
    if let Some(r) = forged(&s, &f.token()) {
        return r;
    }
    let profile = profile_from(&f);
    match web.ask(
        &s.actor,
        Request::LearnerAdd {
            profile: profile.clone(),
            pin: f.get("pin"),
        },
    ) {
        Ok(Reply::LearnerAdded(l)) => {
            Redirect::to(&format!("/staff/learners/{}?done=registered", l.id)).into_response()
        }
        Ok(_) => Redirect::to("/staff/learners").into_response(),
        // The form again, as typed, with what to fix.
        Err(e) => web.page(
            &s,
            tr.t("register-title"),
            Some(Flash::Problem(super::errors::message(&tr, &e))),
            registration_form(&tr, &s, &profile),
        ),
    }
}

async fn learner(
    State(web): State<Shared>,
    Signed(s): Signed,
    Path(id): Path<String>,
    Query(n): Query<Notice>,
) -> Response {
    let tr = Tr::new(s.lang);
    let r = match record(&web, &s, &id) {
        Ok(r) => r,
        Err(e) => return web.problem(&s, &e),
    };
    let catalog = catalog(&web, &s);
    let may = |op| allows(op, &s.actor);
    let base = format!("/staff/learners/{}", r.id);
    let not_enrolled: Vec<(String, String)> = catalog
        .achievements
        .keys()
        .filter(|a| r.enrollment_in(a).is_none())
        .map(|a| (a.clone(), catalog_name(&tr, &catalog, a)))
        .collect();
    let sites: Vec<(String, String)> = if web.hub() {
        match web.ask(&s.actor, Request::SiteList) {
            Ok(Reply::Sites { sites }) => sites
                .into_iter()
                .filter(|x| x.site.revoked.is_none() && x.site.node != r.home_site)
                .map(|x| (x.site.node.clone(), x.site.name.clone()))
                .collect(),
            _ => Vec::new(),
        }
    } else {
        Vec::new()
    };
    let outcomes = [
        OutcomeKind::NonDegreeProgram,
        OutcomeKind::DegreeProgram,
        OutcomeKind::WageIncrease,
        OutcomeKind::Promotion,
        OutcomeKind::EmployerBenefit,
        OutcomeKind::NewEmployment,
    ]
    .map(|k| (words::slug(&k), words::outcome(&tr, k)));
    let body = html! {
        p { (tr.t("col-number")) ": " strong { (r.profile.number) } " · " span.mono { (r.id) } }
        section {
            h2 { (tr.t("enrollments-title")) }
            @if r.enrollments.is_empty() { (empty(&tr.t("no-enrollments-staff"))) }
            ul { @for e in r.enrollments.values() {
                li {
                    (catalog_name(&tr, &catalog, &e.achievement)) " — "
                    (match e.status { EnrollmentState::Completed => tr.t("badge-earned"), EnrollmentState::Enrolled => tr.t("badge-in-progress") })
                    " · " (tr.a("attempts-n", &[("n", e.attempts.to_string())]))
                }
            } }
            @if may(Operation::Enroll) && !not_enrolled.is_empty() {
                form method="post" action=(format!("{base}/enroll")) {
                    (csrf(&s.csrf))
                    (select("achievement", &tr.t("enroll-in"), &not_enrolled, ""))
                    label { input type="checkbox" name="previously_attempted" value="yes"; " " (tr.t("previously-attempted")) }
                    button #enroll { (tr.t("enroll")) }
                }
            }
        }
        section {
            h2 { (tr.t("evidence-title")) }
            @if r.evidence.is_empty() { (empty(&tr.t("nothing-sent-staff"))) }
            @for v in r.evidence.values() {
                div.card {
                    p { (catalog_name(&tr, &catalog, &r.enrollments.get(&v.enrollment).map(|e| e.achievement.clone()).unwrap_or_default())) " · " (tr.date_in_words(&v.submitted_at)) }
                    @if let Some(t) = &v.narrative { blockquote { (t) } }
                    @if may(Operation::EvidenceFile) { ul { @for f in &v.files { li { a href=(format!("/staff/file/{}", f.sha256)) { (f.name) } " (" (words::size(f.size)) ")" } } } }
                    @for a in r.assessments_of(&v.id) { p.status { (words::decision(&tr, a.decision)) @if let Some(fb) = &a.feedback { ": " (fb) } } }
                }
            }
        }
        section {
            h2 { (tr.t("awards-title")) }
            @if r.awards.is_empty() { (empty(&tr.t("no-awards-yet"))) }
            ul { @for a in r.awards.values() {
                li { (catalog_name(&tr, &catalog, a.catalog_id())) " · " (words::award_kind(&tr, &a.kind)) " · " (tr.date_in_words(&a.awarded_at))
                    @if may(Operation::CredentialCertificate) { " · " a href=(format!("/staff/certificate/{}", a.id)) { (tr.t("print-certificate")) } }
                }
            } }
        }
        @if may(Operation::LearnerEdit) {
            section {
                h2 { (tr.t("correct-title")) }
                form method="post" action=(format!("{base}/profile")) {
                    (csrf(&s.csrf))
                    (profile_fields(&tr, &r.profile, false))
                    button #save-profile { (tr.t("save")) }
                }
            }
            section {
                h2 { (tr.t("pin-title")) }
                form method="post" action=(format!("{base}/pin")) {
                    (csrf(&s.csrf))
                    (field("pin", &tr.t("field-new-pin"), "", FieldAttrs { kind: "password", inputmode: Some("numeric"), help: Some(tr.t("pin-help")), ..FieldAttrs::required(12) }))
                    button #reset-pin { (tr.t("reset-pin")) }
                }
            }
        }
        @if may(Operation::OutcomeAdd) {
            section {
                h2 { (tr.t("outcomes-title")) }
                ul { @for o in r.outcomes.values() { li { (words::outcome(&tr, o.kind)) @if let Some(d) = &o.detail { ": " (d) } } } }
                form method="post" action=(format!("{base}/outcome")) {
                    (csrf(&s.csrf))
                    (select("kind", &tr.t("field-outcome"), &outcomes, ""))
                    (field("detail", &tr.t("field-detail"), "", FieldAttrs::optional(500)))
                    (field("date", &tr.t("field-date"), "", FieldAttrs { kind: "date", ..FieldAttrs::optional(10) }))
                    button { (tr.t("record-outcome")) }
                }
            }
        }
        @if web.hub() && may(Operation::LearnerTransfer) && !sites.is_empty() {
            section {
                h2 { (tr.t("transfer-title")) }
                form method="post" action=(format!("{base}/transfer")) {
                    (csrf(&s.csrf))
                    (select("to", &tr.t("transfer-to"), &sites, ""))
                    button { (tr.t("transfer")) }
                }
            }
        }
    };
    web.page(&s, r.profile.full_name(), n.flash(&tr), body)
}

/// Perform a change for a learner and go back to their page, saying it was done (or why not).
fn change(
    web: &Shared,
    s: &Session,
    id: &str,
    body: &Bytes,
    build: impl FnOnce(&Pairs) -> Request,
    done: &str,
) -> Response {
    let f = Pairs::parse(body);
    if let Some(r) = forged(s, &f.token()) {
        return r;
    }
    match web.ask(&s.actor, build(&f)) {
        Ok(_) => Redirect::to(&format!("/staff/learners/{id}?done={done}")).into_response(),
        Err(e) => web.refused(s, &e, &format!("/staff/learners/{id}")),
    }
}

async fn correct(
    State(web): State<Shared>,
    Signed(s): Signed,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let learner = id.clone();
    change(
        &web,
        &s,
        &id,
        &body,
        |f| {
            let p = profile_from(f);
            Request::LearnerEdit {
                learner,
                changes: ProfileChanges {
                    given_name: Some(p.given_name),
                    family_name: Some(p.family_name),
                    institution: p.institution,
                    institution_id: p.institution_id,
                    email: p.email,
                    year_of_birth: p.year_of_birth,
                    gender: p.gender,
                    race_ethnicity: Some(p.race_ethnicity),
                    primary_language: p.primary_language,
                    pell_eligible: p.pell_eligible,
                    ses_determination: p.ses_determination,
                    enrollment_status: p.enrollment_status,
                    first_generation: p.first_generation,
                    first_enrollment: p.first_enrollment,
                    interface_language: p.interface_language,
                },
                pin: None,
            }
        },
        "profile-saved",
    )
}

async fn reset_pin(
    State(web): State<Shared>,
    Signed(s): Signed,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let learner = id.clone();
    change(
        &web,
        &s,
        &id,
        &body,
        |f| Request::LearnerEdit {
            learner,
            changes: ProfileChanges::default(),
            pin: Some(f.get("pin").unwrap_or_default()),
        },
        "pin-reset",
    )
}

async fn enroll(
    State(web): State<Shared>,
    Signed(s): Signed,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let learner = id.clone();
    change(
        &web,
        &s,
        &id,
        &body,
        |f| Request::Enroll {
            learner,
            achievement: f.get("achievement").unwrap_or_default(),
            previously_attempted: f.get("previously_attempted").is_some(),
        },
        "enrolled",
    )
}

async fn outcome(
    State(web): State<Shared>,
    Signed(s): Signed,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let learner = id.clone();
    change(
        &web,
        &s,
        &id,
        &body,
        |f| Request::OutcomeAdd {
            learner,
            outcome: OutcomeReport {
                kind: parse_enum(f.get("kind")).unwrap_or(OutcomeKind::NewEmployment),
                detail: f.get("detail"),
                date: f.get("date"),
                credits_transferred: None,
                degree: None,
            },
        },
        "outcome-recorded",
    )
}

async fn transfer(
    State(web): State<Shared>,
    Signed(s): Signed,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let learner = id.clone();
    change(
        &web,
        &s,
        &id,
        &body,
        |f| Request::LearnerTransfer {
            learner,
            to: f.get("to").unwrap_or_default(),
        },
        "transferred",
    )
}

async fn queue(State(web): State<Shared>, Signed(s): Signed, Query(n): Query<Notice>) -> Response {
    let tr = Tr::new(s.lang);
    let all = match records(&web, &s) {
        Ok(x) => x,
        Err(e) => return web.problem(&s, &e),
    };
    let catalog = catalog(&web, &s);
    let waiting: Vec<(&LearnerRecord, &crate::records::learner::Evidence)> = all
        .iter()
        .flat_map(|r| r.awaiting_assessment().into_iter().map(move |v| (r, v)))
        .collect();
    let body = html! {
        @if waiting.is_empty() { section { (empty(&tr.t("queue-empty"))) } }
        @for (r, v) in waiting {
            @let achievement = r.enrollments.get(&v.enrollment).map(|e| e.achievement.clone()).unwrap_or_default();
            section.card.evidence {
                h2 { (r.profile.full_name()) " — " (catalog_name(&tr, &catalog, &achievement)) }
                p { (tr.t("col-number")) " " (r.profile.number) " · " (tr.a("sent-on", &[("date", tr.date_in_words(&v.submitted_at))])) }
                @if let Some(c) = catalog.achievements.get(&achievement) { details { summary { (tr.t("criteria")) } p { (c.criteria) } } }
                @if let Some(t) = &v.narrative { blockquote { (t) } }
                @if !v.files.is_empty() {
                    ul { @for f in &v.files { li { a href=(format!("/staff/file/{}", f.sha256)) { (f.name) } " (" (words::size(f.size)) ")" } } }
                }
                form method="post" action="/staff/assess" {
                    (csrf(&s.csrf))
                    input type="hidden" name="evidence" value=(v.id);
                    (field(&format!("feedback-{}", v.id), &tr.t("feedback-label"), "", FieldAttrs { multiline: true, max: Some(20_000), help: Some(tr.t("feedback-help")), ..Default::default() }))
                    button name="decision" value="proficient" { (tr.t("decision-proficient")) }
                    " "
                    button.secondary name="decision" value="not-yet" { (tr.t("decision-not-yet")) }
                }
            }
        }
    };
    web.page(&s, tr.t("queue-title"), n.flash(&tr), body)
}

async fn assess(State(web): State<Shared>, Signed(s): Signed, body: Bytes) -> Response {
    let f = Pairs::parse(&body);
    if let Some(r) = forged(&s, &f.token()) {
        return r;
    }
    let evidence = f.get("evidence").unwrap_or_default();
    let decision = if f.get("decision").as_deref() == Some("proficient") {
        Decision::Proficient
    } else {
        Decision::NotYet
    };
    let request = Request::Assess {
        feedback: f
            .get(&format!("feedback-{evidence}"))
            .or_else(|| f.get("feedback")),
        evidence,
        decision,
    };
    match web.ask(&s.actor, request) {
        Ok(_) => Redirect::to("/staff/queue?done=assessed").into_response(),
        Err(e) => web.refused(&s, &e, "/staff/queue"),
    }
}

async fn file(State(web): State<Shared>, Signed(s): Signed, Path(sha): Path<String>) -> Response {
    let mut files = WebFiles::default();
    match web.perform(&s.actor, Request::EvidenceFile { sha256: sha }, &mut files) {
        Ok(Reply::EvidenceFile(f)) => download(&f.name, &f.media_type, files.download),
        Ok(_) => web.problem(&s, &Error::storage_msg("no file came back")),
        Err(e) => web.problem(&s, &e),
    }
}

/// Enrollments with a proficient assessment and no award yet.
fn ready_to_award(r: &LearnerRecord) -> Vec<&crate::records::learner::Enrollment> {
    r.enrollments
        .values()
        .filter(|e| e.status == EnrollmentState::Enrolled)
        .filter(|e| {
            r.assessments
                .values()
                .any(|a| a.enrollment == e.id && a.decision == Decision::Proficient)
        })
        .collect()
}

async fn awards(State(web): State<Shared>, Signed(s): Signed, Query(n): Query<Notice>) -> Response {
    let tr = Tr::new(s.lang);
    let all = match records(&web, &s) {
        Ok(x) => x,
        Err(e) => return web.problem(&s, &e),
    };
    let catalog = catalog(&web, &s);
    let may_award = allows(Operation::Award, &s.actor);
    let body = html! {
        @if may_award {
            h2 { (tr.t("ready-title")) }
            @let ready: Vec<_> = all.iter().flat_map(|r| ready_to_award(r).into_iter().map(move |e| (r, e))).collect();
            @if ready.is_empty() { (empty(&tr.t("ready-empty"))) }
            @for (r, e) in ready {
                section.card {
                    h3 { (r.profile.full_name()) " — " (catalog_name(&tr, &catalog, &e.achievement)) }
                    (button_form("/staff/award", &s.csrf, &[("enrollment", &e.id)], &tr.t("award-button"), ""))
                }
            }
        }
        h2 { (tr.t("awarded-title")) }
        @let made: Vec<_> = all.iter().flat_map(|r| r.awards.values().map(move |a| (r, a))).collect();
        @if made.is_empty() { (empty(&tr.t("no-awards-yet"))) }
        ul { @for (r, a) in made {
            li { (r.profile.full_name()) " — " (catalog_name(&tr, &catalog, a.catalog_id())) " (" (words::award_kind(&tr, &a.kind)) ") · "
                a href=(format!("/staff/certificate/{}", a.id)) { (tr.t("print-certificate")) } }
        } }
    };
    web.page(&s, tr.t("awards-page-title"), n.flash(&tr), body)
}

async fn award(State(web): State<Shared>, Signed(s): Signed, body: Bytes) -> Response {
    let f = Pairs::parse(&body);
    if let Some(r) = forged(&s, &f.token()) {
        return r;
    }
    match web.ask(
        &s.actor,
        Request::Award {
            enrollment: f.get("enrollment").unwrap_or_default(),
        },
    ) {
        Ok(_) => Redirect::to("/staff/awards?done=awarded").into_response(),
        Err(e) => web.refused(&s, &e, "/staff/awards"),
    }
}

async fn certificate(
    State(web): State<Shared>,
    Signed(s): Signed,
    Path(award): Path<String>,
) -> Response {
    let lang = Some(s.lang.code().to_string());
    match web.ask(&s.actor, Request::CredentialCertificate { award, lang }) {
        Ok(Reply::Certificate { html }) => {
            super::learner::certificate_page(&web, &s, html, "/staff/awards")
        }
        Ok(_) => web.problem(&s, &Error::storage_msg("no certificate came back")),
        Err(e) => web.problem(&s, &e),
    }
}

/// `POST /staff/learners/import`: a roster (CSV) registers many learners at once.
pub(super) async fn import_roster(
    State(web): State<Shared>,
    Signed(s): Signed,
    form: axum::extract::Multipart,
) -> Response {
    let tr = Tr::new(s.lang);
    let back = "/staff/learners";
    let (fields, files) = match super::read_multipart(&tr, form).await {
        Ok(x) => x,
        Err((status, message)) => return web.refused_because(&s, status, message, back),
    };
    if let Some(r) = forged(&s, fields.get("csrf").map_or("", String::as_str)) {
        return r;
    }
    if files.len() != 1 {
        return web.refused_because(&s, StatusCode::BAD_REQUEST, tr.t("roster-missing"), back);
    }
    let (mut specs, mut bytes) = super::uploads(files);
    let file = specs.remove(0);
    match web.perform(&s.actor, Request::LearnerImport { file }, &mut bytes) {
        Ok(Reply::LearnersImported(i)) => {
            let body = html! {
                p.msg.done role="status" #roster-done {
                    (tr.a("roster-done", &[("count", i.registered.to_string()), ("pins", i.with_pin.to_string())]))
                }
                p { a.button href=(back) { (tr.t("back")) } }
            };
            web.page(&s, tr.t("roster-title"), None, body)
        }
        Ok(_) => Redirect::to(back).into_response(),
        Err(e) => web.refused(&s, &e, back),
    }
}
