//! The learner's pages at the kiosk: their badges by pathway (earned, in progress, waiting for
//! review, not yet — with the assessor's feedback — or not started), what they have sent, and
//! their credentials to print or to take away at release.

use super::i18n::Tr;
use super::layout::{FieldAttrs, csrf, empty, field, file_input};
use super::session::{Session, Signed};
use super::words::{self, catalog_name};
use super::{Notice, Shared, WebFiles, download, forged, read_multipart, uploads};
use crate::app::{Reply, Request};
use crate::domain::catalog::Catalog;
use crate::domain::people::Actor;
use crate::error::Error;
use crate::records::learner::{Decision, Enrollment, EnrollmentState, LearnerRecord};
use axum::Router;
use axum::extract::{Multipart, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::{Markup, html};

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/me", get(badges))
        .route("/me/sent", get(sent))
        .route("/me/credentials", get(credentials))
        .route("/me/certificate/{award}", get(certificate))
        .route("/me/credential/{award}", get(credential_file))
        .route("/me/takeaway", get(takeaway))
        .route("/me/file/{sha}", get(own_file))
}

/// The signed-in learner's id, or the page to send anyone else to.
fn learner_id(s: &Session) -> Result<String, Box<Response>> {
    match &s.actor {
        Actor::Learner { doc, .. } => Ok(crate::domain::ids::learner_id(doc)),
        _ => Err(Box::new(Redirect::to("/staff").into_response())),
    }
}

fn record_and_catalog(
    web: &Shared,
    s: &Session,
    id: &str,
) -> Result<(LearnerRecord, Catalog), Error> {
    let record = match web.ask(&s.actor, Request::LearnerShow { learner: id.into() })? {
        Reply::Learner(r) => *r,
        _ => return Err(Error::storage_msg("the record did not come back")),
    };
    let catalog = match web.ask(&s.actor, Request::CatalogList)? {
        Reply::Catalog(c) => c,
        _ => Catalog::default(),
    };
    Ok((record, catalog))
}

/// Where one enrollment stands, for the learner.
enum Standing<'a> {
    Earned,
    /// The assessor said "not yet", with feedback, and nothing new was sent since.
    NotYet(Option<&'a str>),
    /// Sent and waiting for an assessor.
    Waiting,
    /// Found proficient; the award is on its way.
    Proficient,
    /// Enrolled; nothing sent yet.
    InProgress,
}

fn standing<'a>(r: &'a LearnerRecord, e: &Enrollment) -> Standing<'a> {
    if e.status == EnrollmentState::Completed || r.has_award_for(&e.achievement) {
        return Standing::Earned;
    }
    let Some(latest) = r.evidence_for(&e.id).last().copied() else {
        return Standing::InProgress;
    };
    match r.assessments_of(&latest.id).first() {
        None => Standing::Waiting,
        Some(a) if a.decision == Decision::NotYet => Standing::NotYet(a.feedback.as_deref()),
        Some(_) => Standing::Proficient,
    }
}

fn badge(tr: &Tr, catalog: &Catalog, r: &LearnerRecord, achievement: &str) -> Markup {
    let name = catalog_name(tr, catalog, achievement);
    let level = catalog.achievements.get(achievement).and_then(|a| a.level);
    let (class, status, feedback) = match r.enrollment_in(achievement).map(|e| standing(r, e)) {
        None => ("badge", tr.t("badge-not-started"), None),
        Some(Standing::Earned) => ("badge earned", tr.t("badge-earned"), None),
        Some(Standing::NotYet(f)) => ("badge not-yet", tr.t("badge-not-yet"), Some(f)),
        Some(Standing::Waiting) => ("badge waiting", tr.t("badge-waiting"), None),
        Some(Standing::Proficient) => ("badge waiting", tr.t("badge-proficient"), None),
        Some(Standing::InProgress) => ("badge", tr.t("badge-in-progress"), None),
    };
    html! {
        div class=(class) {
            h3 {
                @if let Some(l) = level { (tr.a("level-n", &[("n", l.to_string())])) " · " }
                (name)
            }
            p.status { (status) }
            @if let Some(f) = feedback {
                div.feedback {
                    strong { (tr.t("feedback-from-assessor")) } " "
                    @match f { Some(text) => { (text) } None => { (tr.t("feedback-none")) } }
                }
            }
        }
    }
}

async fn badges(State(web): State<Shared>, Signed(s): Signed, Query(n): Query<Notice>) -> Response {
    let tr = Tr::new(s.lang);
    let id = match learner_id(&s) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let (r, catalog) = match record_and_catalog(&web, &s, &id) {
        Ok(x) => x,
        Err(e) => return web.problem(&s, &e),
    };
    let pathways: Vec<_> = catalog
        .pathways
        .values()
        .filter(|p| p.parts.iter().any(|a| r.enrollment_in(a).is_some()))
        .collect();
    let shown: std::collections::BTreeSet<&str> = pathways
        .iter()
        .flat_map(|p| p.parts.iter().map(String::as_str))
        .collect();
    let body = html! {
        p.lead { (tr.a("hello-learner", &[("name", r.profile.full_name())])) }
        @if r.enrollments.is_empty() {
            section { (empty(&tr.t("no-enrollments"))) }
        }
        @for p in &pathways {
            section.pathway {
                h2 {
                    (catalog_name(&tr, &catalog, &p.id))
                    @if r.has_award_for(&p.id) { " — " span.status { (tr.t("micro-earned")) } }
                }
                div.badges {
                    @for a in &p.parts { (badge(&tr, &catalog, &r, a)) }
                }
            }
        }
        @let others: Vec<&str> = r.enrollments.values().map(|e| e.achievement.as_str()).filter(|a| !shown.contains(*a)).collect();
        @if !others.is_empty() {
            section {
                h2 { (tr.t("other-badges")) }
                div.badges { @for a in others { (badge(&tr, &catalog, &r, a)) } }
            }
        }
        @let open: Vec<&Enrollment> = r.enrollments.values().filter(|e| matches!(standing(&r, e), Standing::InProgress | Standing::NotYet(_))).collect();
        @if !open.is_empty() {
            h2 { (tr.t("send-evidence")) }
            @for e in open {
                @let eid = e.id.clone();
                section.card {
                    h3 { (catalog_name(&tr, &catalog, &e.achievement)) }
                    @if let Some(req) = catalog.achievements.get(&e.achievement).map(|a| a.evidence_requirements.as_str()).filter(|t| !t.is_empty()) {
                        p.help { strong { (tr.t("what-to-send")) } " " (req) }
                    }
                    form method="post" action="/me/evidence" enctype="multipart/form-data" {
                        (csrf(&s.csrf))
                        input type="hidden" name="enrollment" value=(eid);
                        (field(&format!("narrative-{eid}"), &tr.t("narrative-label"), "", FieldAttrs { multiline: true, max: Some(20_000), help: Some(tr.t("narrative-help")), ..Default::default() }))
                        (file_input(&tr, &format!("file-{eid}"), &tr.t("file-label"), Some(tr.a("file-help", &[("limit", (crate::payload::MAX_FILE >> 20).to_string())])), true, None))
                        button { (tr.t("send")) }
                    }
                }
            }
        }
    };
    web.page(&s, tr.t("my-badges-title"), n.flash(&tr), body)
}

pub(super) async fn submit(
    State(web): State<Shared>,
    Signed(s): Signed,
    form: Multipart,
) -> Response {
    let tr = Tr::new(s.lang);
    let (fields, files) = match read_multipart(&tr, form).await {
        Ok(x) => x,
        Err((status, message)) => return web.refused_because(&s, status, message, "/me"),
    };
    if let Some(r) = forged(&s, fields.get("csrf").map_or("", String::as_str)) {
        return r;
    }
    let enrollment = fields.get("enrollment").cloned().unwrap_or_default();
    let narrative = fields
        .get(&format!("narrative-{enrollment}"))
        .or_else(|| fields.get("narrative"))
        .cloned()
        .filter(|n| !n.trim().is_empty());
    let (specs, mut bytes) = uploads(files);
    let request = Request::EvidenceSubmit {
        enrollment,
        narrative,
        files: specs,
    };
    match web.perform(&s.actor, request, &mut bytes) {
        Ok(_) => Redirect::to("/me?done=evidence-sent").into_response(),
        Err(e) => web.refused(&s, &e, "/me"),
    }
}

async fn sent(State(web): State<Shared>, Signed(s): Signed) -> Response {
    let tr = Tr::new(s.lang);
    let id = match learner_id(&s) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let (r, catalog) = match record_and_catalog(&web, &s, &id) {
        Ok(x) => x,
        Err(e) => return web.problem(&s, &e),
    };
    let mut evidence: Vec<_> = r.evidence.values().collect();
    evidence.sort_by(|a, b| b.submitted_at.cmp(&a.submitted_at));
    let body = html! {
        @if evidence.is_empty() { section { (empty(&tr.t("nothing-sent"))) } }
        @for v in evidence {
            @let achievement = r.enrollments.get(&v.enrollment).map(|e| e.achievement.clone()).unwrap_or_default();
            section.card {
                h2 { (catalog_name(&tr, &catalog, &achievement)) }
                p { (tr.a("sent-on", &[("date", tr.date_in_words(&v.submitted_at))])) }
                @if let Some(n) = &v.narrative { blockquote { (n) } }
                @if !v.files.is_empty() {
                    ul { @for f in &v.files { li { a href=(format!("/me/file/{}", f.sha256)) { (f.name) } " (" (words::size(f.size)) ")" } } }
                }
                @match r.assessments_of(&v.id).first() {
                    None => { p.status { (tr.t("badge-waiting")) } }
                    Some(a) => {
                        p.status { (words::decision(&tr, a.decision)) " · " (tr.date_in_words(&a.assessed_at)) }
                        @if let Some(f) = &a.feedback { div.feedback { strong { (tr.t("feedback-from-assessor")) } " " (f) } }
                    }
                }
            }
        }
    };
    web.page(&s, tr.t("my-evidence-title"), None, body)
}

async fn credentials(State(web): State<Shared>, Signed(s): Signed) -> Response {
    let tr = Tr::new(s.lang);
    let id = match learner_id(&s) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let (r, catalog) = match record_and_catalog(&web, &s, &id) {
        Ok(x) => x,
        Err(e) => return web.problem(&s, &e),
    };
    let mut awards: Vec<_> = r.awards.values().collect();
    awards.sort_by(|a, b| a.awarded_at.cmp(&b.awarded_at));
    let body = html! {
        @if awards.is_empty() { section { (empty(&tr.t("no-credentials"))) } }
        @else {
            section {
                h2 { (tr.t("take-away-title")) }
                p { (tr.t("take-away-help")) }
                a.button #takeaway href="/me/takeaway" download { (tr.t("take-away-button")) }
            }
        }
        @for a in awards {
            section.card {
                h3 { (catalog_name(&tr, &catalog, a.catalog_id())) }
                p { (words::award_kind(&tr, &a.kind)) " · " (tr.a("awarded-on", &[("date", tr.date_in_words(&a.awarded_at))])) }
                div.actions {
                    a.button href=(format!("/me/certificate/{}", a.id)) { (tr.t("print-certificate")) }
                    a.button.secondary href=(format!("/me/credential/{}", a.id)) download { (tr.t("download-badge")) }
                }
            }
        }
    };
    web.page(&s, tr.t("my-credentials-title"), None, body)
}

/// The certificate page, made to be printed and left: a bar (hidden when printing) to go back,
/// print or sign out, and the same idle return to the sign-in screen as every page.
pub(super) fn certificate_page(
    web: &Shared,
    s: &Session,
    html_doc: String,
    back_to: &str,
) -> Response {
    let tr = Tr::new(s.lang);
    let bar = html! {
        div.cairn-bar.no-print style="font:20px system-ui,sans-serif;background:#1f3349;color:#fff;padding:10px;display:flex;flex-wrap:wrap;gap:10px;align-items:center" {
            a href=(back_to) style="color:#fff;font-size:20px;padding:10px" { (tr.t("back")) }
            button #print type="button" style="font-size:20px;padding:10px 20px;min-height:48px" { (tr.t("print")) }
            form method="post" action="/signout" style="margin:0" {
                (csrf(&s.csrf))
                button type="submit" style="font-size:20px;padding:10px 20px;min-height:48px" { (tr.t("sign-out")) }
            }
        }
        style { "@media print{.cairn-bar{display:none!important}}" }
    };
    let doc = html_doc
        .replacen("<body>", &format!("<body>{}", bar.into_string()), 1)
        .replacen(
            "</body>",
            &format!(
                "{}</body>",
                super::layout::idle_return(&tr, Some(web.sessions.idle())).into_string()
            ),
            1,
        );
    (
        [(
            axum::http::header::CONTENT_SECURITY_POLICY,
            super::guard::CERTIFICATE_POLICY,
        )],
        axum::response::Html(doc),
    )
        .into_response()
}

async fn certificate(
    State(web): State<Shared>,
    Signed(s): Signed,
    Path(award): Path<String>,
) -> Response {
    let lang = Some(s.lang.code().to_string());
    match web.ask(&s.actor, Request::CredentialCertificate { award, lang }) {
        Ok(Reply::Certificate { html }) => certificate_page(&web, &s, html, "/me/credentials"),
        Ok(_) => web.problem(&s, &Error::storage_msg("no certificate came back")),
        Err(e) => web.problem(&s, &e),
    }
}

fn credential_json(
    web: &Shared,
    s: &Session,
    request: Request,
) -> Result<serde_json::Value, Error> {
    match web.ask(&s.actor, request)? {
        Reply::Credential { credential, .. } => Ok(credential),
        _ => Err(Error::storage_msg("no credential came back")),
    }
}

async fn credential_file(
    State(web): State<Shared>,
    Signed(s): Signed,
    Path(award): Path<String>,
) -> Response {
    match credential_json(
        &web,
        &s,
        Request::CredentialExport {
            award: award.clone(),
        },
    ) {
        Ok(c) => download(
            &format!("{award}.json"),
            "application/vc+ld+json",
            serde_json::to_vec_pretty(&c).unwrap_or_default(),
        ),
        Err(e) => web.problem(&s, &e),
    }
}

/// Everything a learner takes with them at release, in one folder: each credential, the signed
/// bundle of all of them, each printable certificate, the program's offline verifier page, and a
/// note on what they are.
async fn takeaway(State(web): State<Shared>, Signed(s): Signed) -> Response {
    let tr = Tr::new(s.lang);
    let id = match learner_id(&s) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let made = (|| -> Result<Vec<u8>, Error> {
        let (r, catalog) = record_and_catalog(&web, &s, &id)?;
        let folder = format!("credentials-{}", r.profile.number);
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        let io = |e: zip::result::ZipError| Error::storage_msg(format!("making the folder: {e}"));
        let mut put = |name: String, bytes: &[u8]| -> Result<(), Error> {
            zip.start_file(format!("{folder}/{name}"), options)
                .map_err(io)?;
            std::io::Write::write_all(&mut zip, bytes)
                .map_err(|e| Error::storage("making the folder", e))
        };
        put(
            "README.txt".into(),
            tr.a("take-away-readme", &[("name", r.profile.full_name())])
                .as_bytes(),
        )?;
        for (i, a) in r.awards.values().enumerate() {
            let stem = format!(
                "{:02}-{}",
                i + 1,
                slug(&catalog_name(&tr, &catalog, a.catalog_id()))
            );
            let c = credential_json(
                &web,
                &s,
                Request::CredentialExport {
                    award: a.id.clone(),
                },
            )?;
            put(
                format!("{stem}.json"),
                &serde_json::to_vec_pretty(&c).unwrap_or_default(),
            )?;
            if let Reply::Certificate { html } = web.ask(
                &s.actor,
                Request::CredentialCertificate {
                    award: a.id.clone(),
                    lang: Some(s.lang.code().to_string()),
                },
            )? {
                put(format!("{stem}-certificate.html"), html.as_bytes())?;
            }
        }
        let all = credential_json(
            &web,
            &s,
            Request::CredentialBundle {
                learner: id.clone(),
            },
        )?;
        put(
            "all-credentials.json".into(),
            &serde_json::to_vec_pretty(&all).unwrap_or_default(),
        )?;
        // The program's offline verifier page, for whoever is shown a certificate.
        if let Reply::VerifierPage { html, .. } = web.ask(
            &s.actor,
            Request::CredentialVerifierPage {
                programs: Vec::new(),
            },
        )? {
            put("verify.html".into(), html.as_bytes())?;
        }
        let cursor = zip.finish().map_err(io)?;
        Ok(cursor.into_inner())
    })();
    match made {
        Ok(bytes) => download("credentials.zip", "application/zip", bytes),
        Err(e) => web.problem(&s, &e),
    }
}

/// A file name from a title: letters and digits, dashes between words.
fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').chars().take(60).collect()
}

async fn own_file(
    State(web): State<Shared>,
    Signed(s): Signed,
    Path(sha): Path<String>,
) -> Response {
    let mut files = WebFiles::default();
    match web.perform(&s.actor, Request::EvidenceFile { sha256: sha }, &mut files) {
        Ok(Reply::EvidenceFile(f)) => download(&f.name, &f.media_type, files.download),
        Ok(_) => web.problem(&s, &Error::storage_msg("no file came back")),
        Err(e) => web.problem(&s, &e),
    }
}
