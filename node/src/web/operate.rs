//! Running the node from the browser: sync with the hub (state in words and units, sync now), USB
//! bundles (made as a background job with its progress on the page, applied by upload), joining a
//! hub (the node's id as text and QR code, the provisioning file taken by upload), staff users,
//! and the catalog (browse; add, for the developer role).

use super::i18n::Tr;
use super::jobs::{self, Output, State as JobState};
use super::layout::{FieldAttrs, button_form, csrf, empty, field, file_input, raw, select};
use super::session::{Session, Signed};
use super::staff::Pairs;
use super::words::{self, catalog_name};
use super::{Notice, Shared, download, forged, read_multipart, uploads};
use crate::app::policy::{Operation, allows};
use crate::app::{Progress, Reply, Request, Transfer};
use crate::audit::Channel;
use crate::domain::people::{Actor, Role, UserChanges};
use crate::error::{Error, Result};
use crate::records::catalog::{Achievement, Pathway, Recognition, in_language};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use std::sync::{Arc, Mutex};

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/staff/sync", get(sync_page).post(sync_now))
        .route("/staff/bundle", post(start_bundle))
        .route("/staff/bundle/{job}", get(bundle_job))
        .route("/staff/download/{job}", get(job_download))
        .route("/staff/users", get(users).post(add_user))
        .route("/staff/users/edit", post(edit_user))
        .route("/staff/catalog", get(catalog_page))
        .route("/staff/catalog/achievement", post(add_achievement))
        .route("/staff/catalog/pathway", post(add_pathway))
        .route("/staff/catalog/recognition", post(add_recognition))
}

/// Who a background job belongs to.
pub(super) fn owner(actor: &Actor) -> String {
    match actor {
        Actor::Staff(u) => u.id.clone(),
        Actor::Learner { number, .. } => format!("learner:{number}"),
        Actor::Operator => "operator".into(),
    }
}

/// The node's id in groups of four, easier to read aloud and compare.
fn grouped(id: &str) -> String {
    let plain: Vec<char> = id.chars().filter(|c| *c != '-').collect();
    plain
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The node's id as a QR code (SVG), for the hub operator's phone or scanner.
fn qr(id: &str) -> Markup {
    match qrcode::QrCode::new(id.as_bytes()) {
        Ok(code) => raw(code
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(220, 220)
            .quiet_zone(true)
            .build()),
        Err(_) => html! {},
    }
}

/// The steps to join a hub, on a site that has not: this node's id to give the hub operator (as
/// text and QR code) and the provisioning file they send back.
pub(super) fn join_card(web: &Shared, s: &Session) -> Markup {
    let tr = Tr::new(s.lang);
    let id = web.app.node().id().to_string();
    html! {
        section.card #join {
            h2 { (tr.t("join-title")) }
            ol {
                li { (tr.t("join-step-id")) }
            }
            div.actions {
                div.qr role="img" aria-label=(tr.t("join-qr-label")) { (qr(&id)) }
                p.mono #node-id { (grouped(&id)) }
            }
            ol start="2" {
                li { (tr.t("join-step-wait")) }
                li { (tr.t("join-step-file")) }
            }
            form method="post" action="/staff/join" enctype="multipart/form-data" {
                (csrf(&s.csrf))
                (file_input(&tr, "provisioning", &tr.t("join-file-label"), None, false, Some(".json,application/json")))
                button #join-hub { (tr.t("join-button")) }
            }
        }
    }
}

/// `POST /staff/join`: the provisioning file, uploaded.
pub(super) async fn join(
    State(web): State<Shared>,
    Signed(s): Signed,
    form: Multipart,
) -> Response {
    let tr = Tr::new(s.lang);
    let (fields, files) = match read_multipart(&tr, form).await {
        Ok(x) => x,
        Err((status, message)) => return web.refused_because(&s, status, message, "/staff"),
    };
    if let Some(r) = forged(&s, fields.get("csrf").map_or("", String::as_str)) {
        return r;
    }
    if files.len() != 1 {
        return web.refused_because(
            &s,
            StatusCode::BAD_REQUEST,
            tr.t("join-file-missing"),
            "/staff",
        );
    }
    let (mut specs, mut bytes) = uploads(files);
    let file = specs.remove(0);
    match web.perform(&s.actor, Request::Join { file }, &mut bytes) {
        Ok(_) => Redirect::to("/staff/sync?done=joined").into_response(),
        Err(e) => web.refused(&s, &e, "/staff"),
    }
}

fn status(web: &Shared, s: &Session) -> Result<crate::app::reply::StatusReport> {
    match web.ask(&s.actor, Request::Status)? {
        Reply::Status(r) => Ok(*r),
        _ => Err(Error::storage_msg("no status came back")),
    }
}

/// `GET /staff/sync`: where this node stands with the hub, sync now, and USB bundles.
async fn sync_page(
    State(web): State<Shared>,
    Signed(s): Signed,
    Query(n): Query<Notice>,
) -> Response {
    let tr = Tr::new(s.lang);
    let report = match status(&web, &s) {
        Ok(r) => r,
        Err(e) => return web.problem(&s, &e),
    };
    let hub_peer = report
        .hub
        .as_ref()
        .and_then(|h| report.peers.iter().find(|p| p.id == h.id));
    let may = |op| allows(op, &s.actor);
    let body = html! {
        @if web.hub() {
            p { (tr.t("sync-at-hub")) " " a href="/hub/sites" { (tr.t("nav-sites")) } }
        } @else if let Some(h) = &report.hub {
            section #hub-link {
                h2 { (tr.a("sync-hub-title", &[("hub", h.name.clone())])) }
                dl {
                    dt { (tr.t("sync-last-contact")) } dd #last-contact { (words::ago(&tr, hub_peer.and_then(|p| p.last_contact_ms))) }
                    dt { (tr.t("sync-last-success")) } dd { (words::ago(&tr, hub_peer.and_then(|p| p.last_success_ms))) }
                    dt { (tr.t("sync-waiting")) } dd { (tr.a("entries-count", &[("count", hub_peer.map_or(0, |p| p.pending_own_entries).to_string())])) }
                }
                @if may(Operation::SyncNow) {
                    (button_form("/staff/sync", &s.csrf, &[], &tr.t("sync-now"), ""))
                }
            }
        } @else {
            (join_card(&web, &s))
        }
        @if may(Operation::BundleExport) && !web.hub() {
            section #usb {
                h2 { (tr.t("usb-title")) }
                p { (tr.t("usb-help")) }
                form method="post" action="/staff/bundle" {
                    (csrf(&s.csrf))
                    label { input type="checkbox" name="full" value="yes"; " " (tr.t("usb-full")) }
                    button #make-bundle { (tr.t("usb-make")) }
                }
            }
        }
        @if may(Operation::BundleImport) {
            (import_form(&tr, &s))
        }
        section {
            h2 { (tr.t("node-title")) }
            dl {
                dt { (tr.t("node-name")) } dd { (report.name) }
                dt { (tr.t("node-id")) } dd.mono { (grouped(&report.id)) }
                dt { (tr.t("node-entries")) } dd { (tr.a("entries-count", &[("count", report.entries.to_string())])) }
                dt { (tr.t("node-learners")) } dd { (report.learners) }
                dt { (tr.t("node-size")) } dd { (words::size(report.store_bytes)) }
            }
        }
    };
    web.page(&s, tr.t("sync-title"), n.flash(&tr), body)
}

/// The form that applies a bundle brought on a USB stick.
pub(super) fn import_form(tr: &Tr, s: &Session) -> Markup {
    html! {
        section #usb-import {
            h2 { (tr.t("import-title")) }
            p { (tr.t("import-help")) }
            form method="post" action="/staff/bundle/import" enctype="multipart/form-data" {
                (csrf(&s.csrf))
                (file_input(tr, "bundle", &tr.t("import-file-label"), None, false, Some(".cairn")))
                button #apply-bundle { (tr.t("import-button")) }
            }
        }
    }
}

/// `POST /staff/sync`: one session with the hub, now.
async fn sync_now(State(web): State<Shared>, Signed(s): Signed, body: Bytes) -> Response {
    let f = Pairs::parse(&body);
    if let Some(r) = forged(&s, &f.token()) {
        return r;
    }
    match web.ask(&s.actor, Request::SyncNow { hub: None }) {
        Ok(Reply::Synced(r)) if r.complete => {
            Redirect::to("/staff/sync?done=synced").into_response()
        }
        Ok(_) => Redirect::to("/staff/sync?done=sync-partial").into_response(),
        Err(e) => web.refused(&s, &e, "/staff/sync"),
    }
}

/// Where a background bundle job writes, and how it tells its page how far it has come.
struct JobFiles {
    out: std::fs::File,
    job: Arc<Mutex<jobs::Job>>,
}

impl Transfer for JobFiles {
    fn upload(&mut self, _: usize) -> Result<Box<dyn std::io::Read + Send + '_>> {
        Err(Error::Usage("making a bundle reads no file".into()))
    }
    fn download(&mut self) -> Result<Box<dyn std::io::Write + Send + '_>> {
        Ok(Box::new(&mut self.out))
    }
    fn reporter(&self) -> crate::app::Reporter {
        let job = self.job.clone();
        Box::new(move |p: Progress| jobs::set(&job, JobState::Running(p)))
    }
}

/// A file name from a node's name and the time: `ellsworth-lab-2026-12-01-143005.cairn`.
fn bundle_name(node_name: &str) -> String {
    let mut stem = String::new();
    for c in node_name.chars() {
        if c.is_ascii_alphanumeric() {
            stem.push(c.to_ascii_lowercase());
        } else if !stem.is_empty() && !stem.ends_with('-') {
            stem.push('-');
        }
    }
    let stem: String = stem.trim_end_matches('-').chars().take(40).collect();
    // 2026-12-01T14:30:05Z → 2026-12-01-143005 (seconds: two bundles a minute apart differ).
    let digits: String = crate::clock::now_rfc3339()
        .chars()
        .filter(char::is_ascii_digit)
        .take(14)
        .collect();
    let when = match digits.len() {
        14 => format!(
            "{}-{}-{}-{}",
            &digits[..4],
            &digits[4..6],
            &digits[6..8],
            &digits[8..]
        ),
        _ => digits,
    };
    format!(
        "{}-{when}.cairn",
        if stem.is_empty() { "cairn" } else { &stem }
    )
}

#[derive(serde::Deserialize)]
struct BundleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    full: Option<String>,
    /// At the hub: the site it is for.
    #[serde(default)]
    site: Option<String>,
}

/// `POST /staff/bundle`: start making a bundle in the background and go to its progress page.
async fn start_bundle(
    State(web): State<Shared>,
    Signed(s): Signed,
    axum::Form(f): axum::Form<BundleForm>,
) -> Response {
    if let Some(r) = forged(&s, &f.csrf) {
        return r;
    }
    let back = if web.hub() {
        "/hub/sites"
    } else {
        "/staff/sync"
    };
    // Refused before any work: the same check the application layer makes.
    if let Err(e) = crate::app::policy::check(Operation::BundleExport, &s.actor) {
        return web.refused(&s, &e, back);
    }
    let name = match (&f.site, web.hub()) {
        (Some(site), true) => bundle_name(&format!("for {site}")),
        _ => bundle_name(&web.app.node().config().name),
    };
    if let Err(e) = std::fs::create_dir_all(&web.bundles) {
        return web.refused(&s, &Error::storage("making the USB folder", e), back);
    }
    let path = web.bundles.join(&name);
    let partial = web.bundles.join(format!(".{name}.partial"));
    let out = match std::fs::File::create(&partial) {
        Ok(f) => f,
        Err(e) => return web.refused(&s, &Error::storage("writing to the USB folder", e), back),
    };
    let (id, job) = web.jobs.start(&owner(&s.actor));
    let request = Request::BundleExport {
        for_site: f.site.clone().filter(|x| !x.is_empty()),
        full: f.full.is_some(),
    };
    let actor = s.actor.clone();
    let lang = s.lang;
    let app = web.app.clone();
    tokio::task::spawn_blocking(move || {
        let mut files = JobFiles {
            out,
            job: job.clone(),
        };
        let made = app
            .perform(&actor, request, Channel::Web, &mut files)
            .and_then(|reply| {
                files
                    .out
                    .sync_all()
                    .map_err(|e| Error::storage("saving the bundle", e))?;
                std::fs::rename(&partial, &path)
                    .map_err(|e| Error::storage("saving the bundle", e))?;
                Ok(reply)
            });
        let state = match made {
            Ok(Reply::BundleExported(r)) => JobState::Done {
                output: Output::Saved(path),
                name,
                bytes: r.bytes,
                entries: Some(r.entries),
            },
            Ok(_) => JobState::Failed(super::errors::message(
                &Tr::new(lang),
                &Error::storage_msg("no bundle came back"),
            )),
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                JobState::Failed(super::errors::message(&Tr::new(lang), &e))
            }
        };
        jobs::set(&job, state);
    });
    Redirect::to(&format!("/staff/bundle/{id}")).into_response()
}

/// `GET /staff/bundle/{job}`: how far the bundle has come (the page refreshes itself), then the
/// file to download.
async fn bundle_job(State(web): State<Shared>, Signed(s): Signed, Path(id): Path<u64>) -> Response {
    let tr = Tr::new(s.lang);
    let Some(state) = web.jobs.get(id, &owner(&s.actor)) else {
        return web.problem(&s, &Error::not_found("no such job"));
    };
    let back = if web.hub() {
        "/hub/sites"
    } else {
        "/staff/sync"
    };
    let body = match &state {
        JobState::Running(p) => html! {
            p role="status" aria-live="polite" #progress {
                (tr.t("bundle-working")) " "
                (tr.a("entries-count", &[("count", p.done.to_string())]))
            }
            @if let Some(total) = p.total {
                progress max=(total) value=(p.done) aria-label=(tr.t("bundle-working")) {}
            } @else {
                progress aria-label=(tr.t("bundle-working")) {}
            }
            p { (tr.t("bundle-wait-help")) }
        },
        JobState::Done {
            name,
            bytes,
            entries,
            ..
        } => html! {
            p.msg.done role="status" #bundle-done {
                (tr.a("bundle-done", &[
                    ("name", name.clone()),
                    ("size", words::size(*bytes)),
                    ("count", entries.unwrap_or(0).to_string()),
                ]))
            }
            p { (tr.t("bundle-saved-help")) }
            div.actions {
                a.button #download-bundle href=(format!("/staff/download/{id}")) download { (tr.t("download")) }
                a.button.secondary href=(back) { (tr.t("back")) }
            }
        },
        JobState::Failed(m) => html! {
            p.msg.problem role="alert" { (m) }
            p { a.button href=(back) { (tr.t("back")) } }
        },
    };
    let page = web.page(&s, tr.t("bundle-title"), None, body);
    if matches!(state, JobState::Running(_)) {
        // Plain HTML keeps the page up to date: the browser asks again every two seconds.
        let mut page = page;
        page.headers_mut().insert(
            axum::http::header::REFRESH,
            axum::http::HeaderValue::from_static("2"),
        );
        return page;
    }
    page
}

/// `GET /staff/download/{job}`: what a finished job made.
async fn job_download(
    State(web): State<Shared>,
    Signed(s): Signed,
    Path(id): Path<u64>,
) -> Response {
    match web.jobs.get(id, &owner(&s.actor)) {
        Some(JobState::Done { output, name, .. }) => {
            let bytes = match output {
                Output::Held(b) => b.as_ref().clone(),
                Output::Saved(path) => match tokio::task::block_in_place(|| std::fs::read(&path)) {
                    Ok(b) => b,
                    Err(e) => return web.problem(&s, &Error::storage("reading the saved file", e)),
                },
            };
            let media = mime_guess::from_path(&name).first_or_octet_stream();
            download(&name, media.essence_str(), bytes)
        }
        _ => web.problem(&s, &Error::not_found("no such file")),
    }
}

/// `POST /staff/bundle/import`: a bundle from a USB stick, uploaded and applied.
pub(super) async fn import_bundle(
    State(web): State<Shared>,
    Signed(s): Signed,
    form: Multipart,
) -> Response {
    let tr = Tr::new(s.lang);
    let back = if web.hub() {
        "/hub/sites"
    } else {
        "/staff/sync"
    };
    let (fields, files) = match read_multipart(&tr, form).await {
        Ok(x) => x,
        Err((status, message)) => return web.refused_because(&s, status, message, back),
    };
    if let Some(r) = forged(&s, fields.get("csrf").map_or("", String::as_str)) {
        return r;
    }
    if files.len() != 1 {
        return web.refused_because(
            &s,
            StatusCode::BAD_REQUEST,
            tr.t("import-file-missing"),
            back,
        );
    }
    let (mut specs, mut bytes) = uploads(files);
    let file = specs.remove(0);
    match web.perform(&s.actor, Request::BundleImport { file }, &mut bytes) {
        Ok(Reply::BundleImported(r)) => {
            let body = html! {
                p.msg.done role="status" #import-done {
                    (tr.a("import-done", &[("count", r.stored.to_string()), ("duplicates", r.duplicates.to_string())]))
                }
                @if !r.refused.is_empty() || !r.forks.is_empty() {
                    p.msg.problem role="alert" { (tr.a("import-refused", &[("count", (r.refused.len() + r.forks.len()).to_string())])) }
                }
                p { a.button href=(back) { (tr.t("back")) } }
            };
            web.page(&s, tr.t("import-title"), None, body)
        }
        Ok(_) => Redirect::to(back).into_response(),
        Err(e) => web.refused(&s, &e, back),
    }
}

fn role_boxes(tr: &Tr, chosen: &[Role], id_prefix: &str) -> Markup {
    html! {
        fieldset {
            legend { (tr.t("field-roles")) }
            @for r in Role::ALL {
                label for=(format!("{id_prefix}-{r}")) {
                    input type="checkbox" id=(format!("{id_prefix}-{r}")) name="role" value=(r.to_string()) checked[chosen.contains(&r)];
                    (words::role(tr, r))
                }
            }
        }
    }
}

fn roles_from(f: &Pairs) -> Vec<Role> {
    f.all("role")
        .into_iter()
        .filter_map(|r| serde_json::from_value(serde_json::Value::String(r)).ok())
        .collect()
}

/// `GET /staff/users`: staff and their roles; add and change them.
async fn users(State(web): State<Shared>, Signed(s): Signed, Query(n): Query<Notice>) -> Response {
    let tr = Tr::new(s.lang);
    let list = match web.ask(&s.actor, Request::UserList) {
        Ok(Reply::Users { users }) => users,
        Ok(_) => Vec::new(),
        Err(e) => return web.problem(&s, &e),
    };
    let body = html! {
        section {
            h2 { (tr.t("users-list-title")) }
            @if list.is_empty() { (empty(&tr.t("no-users"))) }
            @for (i, u) in list.iter().enumerate() {
                div.card {
                    h3 { (u.name) @if !u.active { " · " (tr.t("user-inactive")) } }
                    p { (words::roles(&tr, &u.roles)) }
                    details {
                        summary { (tr.a("user-change", &[("name", u.name.clone())])) }
                        form method="post" action="/staff/users/edit" {
                            (csrf(&s.csrf))
                            input type="hidden" name="name" value=(u.name);
                            (role_boxes(&tr, &u.roles, &format!("u{i}")))
                            label for=(format!("u{i}-active")) {
                                input type="checkbox" id=(format!("u{i}-active")) name="active" value="yes" checked[u.active];
                                " " (tr.t("user-active"))
                            }
                            (field(&format!("secret-{i}"), &tr.t("field-new-secret"), "", FieldAttrs { kind: "password", help: Some(tr.t("secret-help")), ..FieldAttrs::optional(128) }))
                            input type="hidden" name="index" value=(i);
                            button { (tr.t("save")) }
                        }
                    }
                }
            }
        }
        section {
            h2 { (tr.t("user-add-title")) }
            form method="post" action="/staff/users" {
                (csrf(&s.csrf))
                (field("name", &tr.t("field-staff-name"), "", FieldAttrs::required(64)))
                (role_boxes(&tr, &[], "new"))
                (field("secret", &tr.t("field-secret"), "", FieldAttrs { kind: "password", help: Some(tr.t("secret-help")), ..FieldAttrs::required(128) }))
                button #add-user { (tr.t("user-add")) }
            }
        }
    };
    web.page(&s, tr.t("users-title"), n.flash(&tr), body)
}

async fn add_user(State(web): State<Shared>, Signed(s): Signed, body: Bytes) -> Response {
    let f = Pairs::parse(&body);
    if let Some(r) = forged(&s, &f.token()) {
        return r;
    }
    let request = Request::UserAdd {
        name: f.get("name").unwrap_or_default(),
        roles: roles_from(&f),
        secret: f.get("secret").unwrap_or_default(),
    };
    match web.ask(&s.actor, request) {
        Ok(_) => Redirect::to("/staff/users?done=user-added").into_response(),
        Err(e) => web.refused(&s, &e, "/staff/users"),
    }
}

async fn edit_user(State(web): State<Shared>, Signed(s): Signed, body: Bytes) -> Response {
    let f = Pairs::parse(&body);
    if let Some(r) = forged(&s, &f.token()) {
        return r;
    }
    let index = f.get("index").unwrap_or_default();
    let request = Request::UserEdit {
        name: f.get("name").unwrap_or_default(),
        changes: UserChanges {
            roles: Some(roles_from(&f)),
            active: Some(f.get("active").is_some()),
            secret: f.get(&format!("secret-{index}")),
        },
    };
    match web.ask(&s.actor, request) {
        Ok(_) => Redirect::to("/staff/users?done=user-changed").into_response(),
        Err(e) => web.refused(&s, &e, "/staff/users"),
    }
}

/// `GET /staff/catalog`: what can be earned, in the person's language; forms to add to it for
/// the developer role.
async fn catalog_page(
    State(web): State<Shared>,
    Signed(s): Signed,
    Query(n): Query<Notice>,
) -> Response {
    let tr = Tr::new(s.lang);
    let catalog = match web.ask(&s.actor, Request::CatalogList) {
        Ok(Reply::Catalog(c)) => c,
        Ok(_) => Default::default(),
        Err(e) => return web.problem(&s, &e),
    };
    let lang = tr.lang.code();
    let may_add = allows(Operation::CatalogAdd, &s.actor);
    let achievements: Vec<(String, String)> = catalog
        .achievements
        .keys()
        .map(|id| (id.clone(), catalog_name(&tr, &catalog, id)))
        .collect();
    let targets: Vec<(String, String)> = achievements
        .iter()
        .cloned()
        .chain(
            catalog
                .pathways
                .keys()
                .map(|id| (id.clone(), catalog_name(&tr, &catalog, id))),
        )
        .collect();
    let body = html! {
        @if catalog.achievements.is_empty() { section { (empty(&tr.t("catalog-empty"))) } }
        @if !catalog.pathways.is_empty() {
            h2 { (tr.t("pathways-title")) }
            @for p in catalog.pathways.values() {
                section.card {
                    h3 { (in_language(&p.name, &p.names, lang)) }
                    p { (in_language(&p.description, &p.descriptions, lang)) }
                    @if let Some(program) = &p.program { p { (tr.t("field-program")) ": " (program) } }
                    ol { @for part in &p.parts { li { (catalog_name(&tr, &catalog, part)) } } }
                    @for r in catalog.recognitions_of(&p.id) { p.status { (r.recognizer) ": " (in_language(&r.description, &r.descriptions, lang)) } }
                    p.mono { (p.id) }
                }
            }
        }
        @if !catalog.achievements.is_empty() {
            h2 { (tr.t("achievements-title")) }
            @for a in catalog.achievements.values() {
                section.card {
                    h3 { (in_language(&a.name, &a.names, lang)) }
                    p { (in_language(&a.description, &a.descriptions, lang)) }
                    details {
                        summary { (tr.t("criteria")) }
                        p { (a.criteria) }
                        @if !a.evidence_requirements.is_empty() { p { strong { (tr.t("field-evidence-requirements")) ": " } (a.evidence_requirements) } }
                        @if !a.skills.is_empty() { ul { @for k in &a.skills { li { (k.name) @if let Some(c) = &k.code { " (" (c) ")" } } } } }
                    }
                    @for r in catalog.recognitions_of(&a.id) { p.status { (r.recognizer) ": " (in_language(&r.description, &r.descriptions, lang)) } }
                    p.mono { (a.id) }
                }
            }
        }
        @if may_add {
            section #add-achievement {
                h2 { (tr.t("achievement-add-title")) }
                form method="post" action="/staff/catalog/achievement" {
                    (csrf(&s.csrf))
                    (field("a-id", &tr.t("field-catalog-id"), "", FieldAttrs { help: Some(tr.t("catalog-id-help")), ..FieldAttrs::required(64) }))
                    (field("a-name", &tr.t("field-name"), "", FieldAttrs::required(200)))
                    (field("a-name-es", &tr.t("field-name-es"), "", FieldAttrs::optional(200)))
                    (field("a-description", &tr.t("field-description"), "", FieldAttrs { multiline: true, ..FieldAttrs::required(4000) }))
                    (field("a-description-es", &tr.t("field-description-es"), "", FieldAttrs { multiline: true, ..FieldAttrs::optional(4000) }))
                    (field("a-criteria", &tr.t("field-criteria"), "", FieldAttrs { multiline: true, ..FieldAttrs::required(8000) }))
                    (field("a-evidence", &tr.t("field-evidence-requirements"), "", FieldAttrs { multiline: true, ..FieldAttrs::optional(4000) }))
                    (select("a-level", &tr.t("field-level"), &[
                        (String::new(), tr.t("unknown")),
                        ("1".into(), tr.t("level-1")),
                        ("2".into(), tr.t("level-2")),
                        ("3".into(), tr.t("level-3")),
                    ], ""))
                    (field("a-program", &tr.t("field-program"), "", FieldAttrs::optional(200)))
                    button #add-achievement-button { (tr.t("catalog-add")) }
                }
            }
            @if !achievements.is_empty() {
                section #add-pathway {
                    h2 { (tr.t("pathway-add-title")) }
                    form method="post" action="/staff/catalog/pathway" {
                        (csrf(&s.csrf))
                        (field("p-id", &tr.t("field-catalog-id"), "", FieldAttrs { help: Some(tr.t("catalog-id-help")), ..FieldAttrs::required(64) }))
                        (field("p-name", &tr.t("field-name"), "", FieldAttrs::required(200)))
                        (field("p-name-es", &tr.t("field-name-es"), "", FieldAttrs::optional(200)))
                        (field("p-description", &tr.t("field-description"), "", FieldAttrs { multiline: true, ..FieldAttrs::required(4000) }))
                        fieldset {
                            legend { (tr.t("field-parts")) }
                            @for (i, (id, name)) in achievements.iter().enumerate() {
                                label for=(format!("part-{i}")) { input type="checkbox" id=(format!("part-{i}")) name="part" value=(id); (name) }
                            }
                        }
                        (field("p-program", &tr.t("field-program"), "", FieldAttrs::optional(200)))
                        button { (tr.t("catalog-add")) }
                    }
                }
                section #add-recognition {
                    h2 { (tr.t("recognition-add-title")) }
                    form method="post" action="/staff/catalog/recognition" {
                        (csrf(&s.csrf))
                        (field("r-id", &tr.t("field-catalog-id"), "", FieldAttrs { help: Some(tr.t("catalog-id-help")), ..FieldAttrs::required(64) }))
                        (select("r-target", &tr.t("field-recognition-target"), &targets, ""))
                        (field("r-recognizer", &tr.t("field-recognizer"), "", FieldAttrs::required(200)))
                        (field("r-description", &tr.t("field-description"), "", FieldAttrs { multiline: true, ..FieldAttrs::required(2000) }))
                        (field("r-credits", &tr.t("field-credits"), "", FieldAttrs { inputmode: Some("decimal"), ..FieldAttrs::optional(8) }))
                        button { (tr.t("catalog-add")) }
                    }
                }
            }
        }
    };
    web.page(&s, tr.t("catalog-title"), n.flash(&tr), body)
}

/// Spanish text given beside the English, as the item's translations.
fn spanish(f: &Pairs, key: &str) -> std::collections::BTreeMap<String, String> {
    f.get(key)
        .map(|t| [("es".to_string(), t)].into())
        .unwrap_or_default()
}

fn add_to_catalog(
    web: &Shared,
    s: &Session,
    body: &Bytes,
    item: impl FnOnce(&Pairs) -> Result<crate::app::request::CatalogItem>,
) -> Response {
    let f = Pairs::parse(body);
    if let Some(r) = forged(s, &f.token()) {
        return r;
    }
    let made = item(&f).and_then(|item| web.ask(&s.actor, Request::CatalogAdd { item }));
    match made {
        Ok(_) => Redirect::to("/staff/catalog?done=catalog-added").into_response(),
        Err(e) => web.refused(s, &e, "/staff/catalog"),
    }
}

/// A number typed in a form, or the refusal naming its field.
fn number<T: std::str::FromStr>(f: &Pairs, key: &str, code: &'static str) -> Result<Option<T>> {
    match f.get(key) {
        None => Ok(None),
        Some(v) => v
            .replace(',', ".")
            .parse()
            .map(Some)
            .map_err(|_| Error::invalid(format!("{key} is not a number")).coded(code, &[])),
    }
}

async fn add_achievement(State(web): State<Shared>, Signed(s): Signed, body: Bytes) -> Response {
    add_to_catalog(&web, &s, &body, |f| {
        let g = |k: &str| f.get(k).unwrap_or_default();
        Ok(crate::app::request::CatalogItem::Achievement(Achievement {
            id: g("a-id"),
            name: g("a-name"),
            names: spanish(f, "a-name-es"),
            description: g("a-description"),
            descriptions: spanish(f, "a-description-es"),
            criteria: g("a-criteria"),
            evidence_requirements: g("a-evidence"),
            level: number(f, "a-level", "level")?,
            program: f.get("a-program"),
            ..Default::default()
        }))
    })
}

async fn add_pathway(State(web): State<Shared>, Signed(s): Signed, body: Bytes) -> Response {
    add_to_catalog(&web, &s, &body, |f| {
        let g = |k: &str| f.get(k).unwrap_or_default();
        Ok(crate::app::request::CatalogItem::Pathway(Pathway {
            id: g("p-id"),
            name: g("p-name"),
            names: spanish(f, "p-name-es"),
            description: g("p-description"),
            parts: f.all("part"),
            program: f.get("p-program"),
            ..Default::default()
        }))
    })
}

async fn add_recognition(State(web): State<Shared>, Signed(s): Signed, body: Bytes) -> Response {
    add_to_catalog(&web, &s, &body, |f| {
        let g = |k: &str| f.get(k).unwrap_or_default();
        Ok(crate::app::request::CatalogItem::Recognition(Recognition {
            id: g("r-id"),
            target: g("r-target"),
            recognizer: g("r-recognizer"),
            description: g("r-description"),
            credits: number(f, "r-credits", "credits")?,
            ..Default::default()
        }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_names_are_plain_file_names() {
        let n = bundle_name("Ellsworth Lab / ../<x>");
        assert!(n.ends_with(".cairn"), "{n}");
        assert!(n.starts_with("ellsworth-lab-x-"), "{n}");
        assert!(
            n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'),
            "{n}"
        );
        assert!(!bundle_name("").starts_with('-'));
    }

    #[test]
    fn ids_read_in_groups_of_four() {
        assert_eq!(grouped("ABCD-EFGH-IJ"), "ABCD EFGH IJ");
    }
}
