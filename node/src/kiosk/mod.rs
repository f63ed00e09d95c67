//! The kiosk and staff web interface that `cairn run` serves on the site's LAN (axum). Plain
//! server-rendered HTML forms: no script, no CDN, nothing from the internet; large targets,
//! keyboard operable. Learners sign in with their number and PIN and see only their own record;
//! staff sign in by name for their role's work; sessions end after inactivity.

pub mod guard;
pub mod i18n;
pub mod session;

use crate::app::request::FileSpec;
use crate::app::{App, Reply, Request, Transfer};
use crate::audit::Channel;
use crate::domain::catalog::Catalog;
use crate::domain::people::{Actor, Role};
use crate::error::Result;
use crate::node::now_ms;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use i18n::{Lang, t};
use serde::Deserialize;
use serde_json::Value as Json;
use session::Sessions;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

const COOKIE: &str = "cairn_session";

/// Everything the handlers share.
pub struct Kiosk {
    app: Arc<App>,
    sessions: Sessions,
    bundles: PathBuf,
}

/// A web request's files: uploads received in the form, the download kept for the response.
#[derive(Default)]
struct WebFiles {
    uploads: Vec<Vec<u8>>,
    download: Vec<u8>,
}

impl Transfer for WebFiles {
    fn upload(&mut self, index: usize) -> Result<Box<dyn std::io::Read + Send + '_>> {
        self.uploads
            .get(index)
            .map(|b| Box::new(b.as_slice()) as Box<dyn std::io::Read + Send>)
            .ok_or_else(|| crate::error::Error::Usage("the form did not carry that file".into()))
    }
    fn download(&mut self) -> Result<Box<dyn std::io::Write + Send + '_>> {
        Ok(Box::new(&mut self.download))
    }
    fn reporter(&self) -> crate::app::Reporter {
        Box::new(|_| {})
    }
}

impl Kiosk {
    /// Perform a request for the signed-in person.
    fn perform(&self, actor: &Actor, request: Request, files: &mut WebFiles) -> Result<Reply> {
        blocking(|| self.app.perform(actor, request, Channel::Web, files))
    }

    /// A learner's record as JSON.
    fn record(&self, actor: &Actor, learner: &str) -> Result<Json> {
        match self.perform(
            actor,
            Request::LearnerShow {
                learner: learner.to_string(),
            },
            &mut WebFiles::default(),
        )? {
            Reply::Learner(r) => serde_json::to_value(&*r)
                .map_err(|e| crate::error::Error::storage("encoding a record", e)),
            _ => Ok(Json::Null),
        }
    }

    fn catalog(&self, actor: &Actor) -> Result<Catalog> {
        match self.perform(actor, Request::CatalogList, &mut WebFiles::default())? {
            Reply::Catalog(c) => Ok(c),
            _ => Ok(Catalog::default()),
        }
    }
}

type Shared = Arc<Kiosk>;

impl Kiosk {
    /// A kiosk over a node's application layer; sessions end after `idle`; USB bundles are
    /// written to `bundles`.
    pub fn new(app: Arc<App>, idle: Duration, bundles: PathBuf) -> Shared {
        Arc::new(Kiosk {
            app,
            sessions: Sessions::new(idle),
            bundles,
        })
    }
}

/// Largest request body anywhere but the evidence upload: forms are small, and nothing
/// unauthenticated may make the service hold megabytes.
const FORM_LIMIT: usize = 64 * 1024;

/// The router.
pub fn router(kiosk: Shared) -> Router {
    // Only a signed-in learner's evidence upload may be large (up to the 64 MiB file limit).
    let upload = Router::new()
        .route("/me/evidence", post(me_evidence))
        .layer(DefaultBodyLimit::max(
            crate::payload::MAX_FILE as usize + (1 << 20),
        ));
    Router::new()
        .route("/", get(home))
        .route("/style.css", get(stylesheet))
        .route("/signin", get(signin_page))
        .route("/signin/learner", post(signin_learner))
        .route("/signin/staff", post(signin_staff))
        .route("/signout", post(signout))
        .route("/me", get(me))
        .route("/staff", get(staff))
        .route("/staff/assess", post(staff_assess))
        .route("/staff/award", post(staff_award))
        .route("/staff/certificate/{award}", get(staff_certificate))
        .route("/staff/file/{sha}", get(staff_file))
        .route("/staff/bundle", post(staff_bundle))
        .route("/staff/bundle/{name}", get(staff_bundle_file))
        .layer(DefaultBodyLimit::max(FORM_LIMIT))
        .merge(upload)
        .layer(axum::middleware::from_fn(guard::same_origin_posts))
        .layer(axum::middleware::from_fn(guard::headers))
        .with_state(kiosk)
}

async fn stylesheet() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE).into_response()
}

/// Serve until `stop` resolves.
pub async fn serve(
    kiosk: Shared,
    listener: tokio::net::TcpListener,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(kiosk).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stop)
    .await
}

use cairn_credentials::certificate::escape_html as esc;

fn s(v: &Json) -> String {
    esc(v.as_str().unwrap_or(""))
}

const STYLE: &str = "body{font:20px/1.5 system-ui,sans-serif;margin:0;background:#f6f5f0;color:#111}\
header{background:#234;color:#fff;padding:12px 24px;display:flex;justify-content:space-between;align-items:center}\
main{max-width:1000px;margin:auto;padding:16px 24px}h1{font-size:28px}h2{font-size:24px;margin-top:28px}\
section,.card{background:#fff;border:2px solid #ccc;border-radius:10px;padding:16px;margin:12px 0}\
label{display:block;margin-top:10px;font-weight:600}input,textarea,select{font-size:20px;padding:10px;width:100%;box-sizing:border-box}\
button,.button{font-size:22px;padding:12px 24px;margin-top:12px;border-radius:8px;border:0;background:#1a5;color:#fff;cursor:pointer;min-height:52px}\
button.secondary{background:#555}button:focus,a:focus,input:focus,textarea:focus{outline:4px solid #fa0}\
.earned{color:#150;font-weight:700}.msg{background:#ffd;border:2px solid #cc0;padding:10px;border-radius:8px}\
.badge{display:inline-block;border:3px solid #1a5;border-radius:12px;padding:8px 14px;margin:6px}.pending{border-color:#999;color:#555}\
nav a{color:#fff;margin-left:16px;font-size:20px}";

/// A whole page. `signed_in` carries the session's form token when someone is signed in.
fn page(
    lang: Lang,
    idle: Option<Duration>,
    signed_in: Option<&str>,
    title: &str,
    body: &str,
) -> Html<String> {
    // A shared kiosk clears itself: after the idle limit the page goes back to sign-in.
    let refresh = idle
        .map(|d| {
            format!(
                "<meta http-equiv=\"refresh\" content=\"{};url=/signin?expired=1\">",
                d.as_secs() + 1
            )
        })
        .unwrap_or_default();
    let signout = if let Some(csrf) = signed_in {
        format!(
            "<form method=\"post\" action=\"/signout\">{}<button class=\"secondary\">{}</button></form>",
            csrf_input(csrf),
            t(lang, "signout")
        )
    } else {
        "<nav><a href=\"/signin?lang=en\" lang=\"en\">English</a><a href=\"/signin?lang=es\" lang=\"es\">Español</a></nav>".into()
    };
    Html(format!(
        "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">{refresh}<title>{} — {}</title><link rel=\"stylesheet\" href=\"/style.css\"></head><body><header><strong>{}</strong>{signout}</header><main><h1>{}</h1>{body}</main></body></html>",
        lang.code(),
        esc(title),
        t(lang, "title"),
        t(lang, "title"),
        esc(title)
    ))
}

fn token(headers: &HeaderMap) -> Option<String> {
    guard::cookie(headers, COOKIE)
}

/// The hidden field carrying a form's token.
fn csrf_input(token: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(token)
    )
}

/// The refusal of a form whose token is not the session's, if it is not.
fn forged_form(sess: &session::Session, given: &str) -> Option<Response> {
    (!guard::tokens_match(&sess.csrf, given)).then(|| {
        (
            StatusCode::FORBIDDEN,
            "This form has expired or was not sent from this page; go back and try again.",
        )
            .into_response()
    })
}

/// The signed-in session, or the response to send instead (back to sign-in).
fn session(k: &Kiosk, headers: &HeaderMap) -> Result<session::Session, Redirect> {
    match token(headers).map(|t| k.sessions.get(&t)) {
        Some(Ok(s)) => Ok(s),
        Some(Err(true)) => Err(Redirect::to("/signin?expired=1")),
        _ => Err(Redirect::to("/signin")),
    }
}

fn forbidden(sess: &session::Session) -> Response {
    let lang = sess.lang;
    (
        StatusCode::FORBIDDEN,
        page(
            lang,
            None,
            Some(&sess.csrf),
            t(lang, "not_allowed"),
            &format!(
                "<p><a class=\"button\" href=\"/\">{}</a></p>",
                t(lang, "back")
            ),
        ),
    )
        .into_response()
}

fn failure(lang: Lang, e: crate::error::Error) -> Response {
    // A refusal is about what the person sent and is told; anything else is the node's own
    // trouble: it goes to the log, and the page says so without the server's details.
    let (code, message) = match &e {
        crate::error::Error::Refused(r) => (StatusCode::BAD_REQUEST, r.message.clone()),
        other => {
            tracing::error!("a web request failed: {other}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                t(lang, "node_trouble").to_string(),
            )
        }
    };
    (
        code,
        page(
            lang,
            None,
            None,
            t(lang, "error"),
            &format!(
                "<p class=\"msg\">{}</p><p><a class=\"button\" href=\"/\">{}</a></p>",
                esc(&message),
                t(lang, "back")
            ),
        ),
    )
        .into_response()
}

fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

async fn home(State(k): State<Shared>, headers: HeaderMap) -> Response {
    match session(&k, &headers) {
        Ok(s) if matches!(s.actor, Actor::Learner { .. }) => Redirect::to("/me").into_response(),
        Ok(_) => Redirect::to("/staff").into_response(),
        Err(r) => r.into_response(),
    }
}

#[derive(Deserialize)]
struct SigninQuery {
    lang: Option<String>,
    expired: Option<String>,
    error: Option<String>,
}

async fn signin_page(Query(q): Query<SigninQuery>) -> Response {
    let lang = Lang::from_code(q.lang.as_deref().unwrap_or("en"));
    // The sign-in forms carry a token also set as a cookie: a page elsewhere cannot read the
    // cookie, so it cannot sign this browser into an account of its choosing.
    let form_token = guard::new_token();
    let token_field = csrf_input(&form_token);
    let mut msg = String::new();
    if q.expired.is_some() {
        msg = format!("<p class=\"msg\">{}</p>", t(lang, "expired"));
    }
    match q.error.as_deref() {
        Some("locked") => {
            msg = format!("<p class=\"msg\" role=\"alert\">{}</p>", t(lang, "locked"))
        }
        Some("busy") => msg = format!("<p class=\"msg\" role=\"alert\">{}</p>", t(lang, "busy")),
        Some(_) => msg = format!("<p class=\"msg\" role=\"alert\">{}</p>", t(lang, "wrong")),
        None => {}
    }
    let l = lang.code();
    let body = format!(
        "{msg}<section><h2>{}</h2><form method=\"post\" action=\"/signin/learner\"><input type=\"hidden\" name=\"lang\" value=\"{l}\">{token_field}\
<label for=\"number\">{}</label><input id=\"number\" name=\"number\" autocomplete=\"off\" required autofocus>\
<label for=\"pin\">{}</label><input id=\"pin\" name=\"pin\" type=\"password\" inputmode=\"numeric\" autocomplete=\"off\" required>\
<button id=\"learner-signin\">{}</button></form></section>\
<section><h2>{}</h2><form method=\"post\" action=\"/signin/staff\"><input type=\"hidden\" name=\"lang\" value=\"{l}\">{token_field}\
<label for=\"name\">{}</label><input id=\"name\" name=\"name\" autocomplete=\"off\" required>\
<label for=\"secret\">{}</label><input id=\"secret\" name=\"secret\" type=\"password\" autocomplete=\"off\" required>\
<button id=\"staff-signin\">{}</button></form></section>",
        t(lang, "learner_signin"),
        t(lang, "number"),
        t(lang, "pin"),
        t(lang, "signin"),
        t(lang, "staff_signin"),
        t(lang, "name"),
        t(lang, "secret"),
        t(lang, "signin"),
    );
    (
        [(
            header::SET_COOKIE,
            format!(
                "{}={form_token}; HttpOnly; SameSite=Strict; Path=/signin; Max-Age=3600",
                guard::PRE_SESSION_COOKIE
            ),
        )],
        page(lang, None, None, t(lang, "signin"), &body),
    )
        .into_response()
}

fn with_cookie(token: &str, to: &str) -> Response {
    (
        [(
            header::SET_COOKIE,
            format!("{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/"),
        )],
        Redirect::to(to),
    )
        .into_response()
}

#[derive(Deserialize)]
struct SigninForm {
    // A learner's form has `number` and `pin`; staff's has `name` and `secret`.
    #[serde(default)]
    number: String,
    #[serde(default)]
    pin: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    lang: String,
    #[serde(default)]
    csrf: String,
}

async fn signin_learner(
    State(k): State<Shared>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<SigninForm>,
) -> Response {
    sign_in(k, addr, &headers, f, true).await
}

async fn signin_staff(
    State(k): State<Shared>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<SigninForm>,
) -> Response {
    sign_in(k, addr, &headers, f, false).await
}

/// Both sign-in forms: the form token, then the sign-in gate (throttling, audit), then a session.
async fn sign_in(
    k: Shared,
    addr: SocketAddr,
    headers: &HeaderMap,
    f: SigninForm,
    learner: bool,
) -> Response {
    let lang = Lang::from_code(&f.lang).code();
    let expected = guard::cookie(headers, guard::PRE_SESSION_COOKIE).unwrap_or_default();
    if !guard::tokens_match(&expected, &f.csrf) {
        return (
            StatusCode::FORBIDDEN,
            "This sign-in form has expired or was not sent from this kiosk; go back and try again.",
        )
            .into_response();
    }
    let node = k.app.node().clone();
    let from = crate::signin::Source {
        channel: crate::audit::Channel::Web,
        address: Some(addr.ip()),
    };
    let outcome = blocking(|| {
        let claim = if learner {
            crate::signin::Claim::Learner(&f.number)
        } else {
            crate::signin::Claim::Staff(&f.name)
        };
        let secret = if learner { &f.pin } else { &f.secret };
        k.app.gate().sign_in(&node, claim, secret, from)
    });
    match outcome {
        Ok(actor) => {
            let chosen = match &actor {
                Actor::Learner { doc, .. } => {
                    blocking(|| crate::domain::learners::record(&node, doc).ok())
                        .and_then(|r| r.profile.interface_language.as_deref().map(Lang::from_code))
                }
                _ => None,
            }
            .unwrap_or_else(|| Lang::from_code(lang));
            let to = if learner { "/me" } else { "/staff" };
            with_cookie(&k.sessions.start(actor, chosen), to)
        }
        Err(e) => {
            let why = match e.kind() {
                "too-many-tries" if e.to_string().contains("busy") => "busy",
                "too-many-tries" => "locked",
                "unauthorized" | "invalid" | "not-found" => "wrong",
                _ => return failure(Lang::from_code(lang), e),
            };
            Redirect::to(&format!("/signin?lang={lang}&error={why}")).into_response()
        }
    }
}

#[derive(Deserialize)]
struct SignoutForm {
    #[serde(default)]
    csrf: String,
}

async fn signout(
    State(k): State<Shared>,
    headers: HeaderMap,
    Form(f): Form<SignoutForm>,
) -> Response {
    let mut lang = Lang::En;
    if let Some(t) = token(&headers)
        && let Ok(sess) = k.sessions.get(&t)
    {
        if let Some(r) = forged_form(&sess, &f.csrf) {
            return r;
        }
        lang = sess.lang;
        k.sessions.end(&t);
    }
    (
        [(
            header::SET_COOKIE,
            format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
        )],
        Redirect::to(&format!("/signin?lang={}", lang.code())),
    )
        .into_response()
}

/// The learner's own page: badges by pathway and level, and evidence forms.
async fn me(State(k): State<Shared>, headers: HeaderMap, Query(q): Query<SigninQuery>) -> Response {
    let sess = match session(&k, &headers) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let lang = sess.lang;
    let Actor::Learner { doc, number } = &sess.actor else {
        return Redirect::to("/staff").into_response();
    };
    let id = crate::domain::ids::learner_id(doc);
    let (record, catalog) = match k
        .record(&sess.actor, &id)
        .and_then(|r| Ok((r, k.catalog(&sess.actor)?)))
    {
        Ok(x) => x,
        Err(e) => return failure(lang, e),
    };
    let name = format!(
        "{} {}",
        s(&record["profile"]["given_name"]),
        s(&record["profile"]["family_name"])
    );
    let awarded = |a: &str| {
        record["awards"]
            .as_object()
            .into_iter()
            .flatten()
            .any(|(_, w)| w["achievement"] == a || w["pathway"] == a)
    };
    let enrollment = |a: &str| {
        record["enrollments"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(_, e)| e)
            .find(|e| e["achievement"] == a)
            .cloned()
    };
    let badge = |a: &str| {
        let Some(info) = catalog.achievements.get(a) else {
            return String::new();
        };
        let (class, status) = if awarded(a) {
            ("badge earned", t(lang, "earned"))
        } else if enrollment(a).is_some() {
            ("badge pending", t(lang, "in_progress"))
        } else {
            ("badge pending", t(lang, "not_started"))
        };
        let level = info
            .level
            .map(|l| format!("{} {l} · ", t(lang, "level")))
            .unwrap_or_default();
        format!(
            "<span class=\"{class}\">{level}{} — {status}</span>",
            esc(&info.name)
        )
    };
    let mut body = String::new();
    if q.error.as_deref() == Some("sent") {
        body.push_str(&format!(
            "<p class=\"msg\" role=\"status\">{}</p>",
            t(lang, "sent")
        ));
    }
    body.push_str(&format!("<p>{name} · {}</p>", esc(number)));
    let mut shown = std::collections::BTreeSet::new();
    for p in catalog.pathways.values() {
        if !p.parts.iter().any(|a| enrollment(a).is_some()) {
            continue;
        }
        let micro = if awarded(&p.id) {
            format!(
                " <span class=\"earned\">✓ {} — {}</span>",
                t(lang, "micro"),
                t(lang, "earned")
            )
        } else {
            String::new()
        };
        body.push_str(&format!(
            "<section class=\"pathway\"><h3>{}{micro}</h3>",
            esc(&p.name)
        ));
        for a in &p.parts {
            shown.insert(a.clone());
            body.push_str(&badge(a));
        }
        body.push_str("</section>");
    }
    let others: Vec<String> = record["enrollments"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(_, e)| e["achievement"].as_str())
        .filter(|a| !shown.contains(*a))
        .map(badge)
        .collect();
    if !others.is_empty() {
        body.push_str(&format!(
            "<section><h3>{}</h3>{}</section>",
            t(lang, "other_badges"),
            others.join("")
        ));
    }
    // Evidence forms for what is still open.
    let open: Vec<&Json> = record["enrollments"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(_, e)| e)
        .filter(|e| e["status"] == "enrolled")
        .collect();
    if !open.is_empty() {
        body.push_str(&format!("<h2>{}</h2>", t(lang, "submit_evidence")));
    }
    for e in open {
        let a = e["achievement"].as_str().unwrap_or("");
        let name = catalog
            .achievements
            .get(a)
            .map(|x| x.name.clone())
            .unwrap_or_else(|| a.to_string());
        let eid = s(&e["id"]);
        let waiting = record["evidence"]
            .as_object()
            .into_iter()
            .flatten()
            .any(|(_, v)| {
                v["enrollment"] == e["id"]
                    && !record["assessments"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .any(|(_, x)| x["evidence"] == v["id"])
            });
        let note = if waiting {
            format!("<p class=\"msg\">{}</p>", t(lang, "waiting"))
        } else {
            String::new()
        };
        body.push_str(&format!(
            "<section class=\"card\"><h3>{}</h3>{note}<form method=\"post\" action=\"/me/evidence\" enctype=\"multipart/form-data\">{}<input type=\"hidden\" name=\"enrollment\" value=\"{eid}\">\
<label for=\"n-{eid}\">{}</label><textarea id=\"n-{eid}\" name=\"narrative\" rows=\"4\"></textarea>\
<label for=\"f-{eid}\">{}</label><input id=\"f-{eid}\" name=\"file\" type=\"file\"><button>{}</button></form></section>",
            esc(&name), csrf_input(&sess.csrf), t(lang, "narrative"), t(lang, "file"), t(lang, "send")
        ));
    }
    page(
        lang,
        Some(k.sessions.idle()),
        Some(&sess.csrf),
        t(lang, "my_badges"),
        &body,
    )
    .into_response()
}

async fn me_evidence(State(k): State<Shared>, headers: HeaderMap, mut form: Multipart) -> Response {
    let sess = match session(&k, &headers) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let lang = sess.lang;
    if !matches!(sess.actor, Actor::Learner { .. }) {
        return forbidden(&sess);
    }
    let (mut enrollment, mut narrative, mut csrf) = (String::new(), String::new(), String::new());
    let mut files = WebFiles::default();
    let mut specs = Vec::new();
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                return failure(
                    lang,
                    crate::error::Error::invalid(format!("the upload was cut short: {e}")),
                );
            }
        };
        match field.name().unwrap_or("") {
            "csrf" => csrf = field.text().await.unwrap_or_default(),
            "enrollment" => enrollment = field.text().await.unwrap_or_default(),
            "narrative" => narrative = field.text().await.unwrap_or_default(),
            "file" => {
                // Keep only the last path component of the browser's file name.
                let name = field
                    .file_name()
                    .map(|n| n.rsplit(['/', '\\']).next().unwrap_or("").to_string())
                    .unwrap_or_default();
                let data = match field.bytes().await {
                    Ok(b) => b,
                    Err(e) => {
                        return failure(
                            lang,
                            crate::error::Error::invalid(format!(
                                "the file did not arrive whole: {e}"
                            )),
                        );
                    }
                };
                if !name.is_empty() && !data.is_empty() {
                    specs.push(FileSpec {
                        name,
                        size: data.len() as u64,
                    });
                    files.uploads.push(data.to_vec());
                }
            }
            _ => {}
        }
    }
    if let Some(r) = forged_form(&sess, &csrf) {
        return r;
    }
    let request = Request::EvidenceSubmit {
        enrollment,
        narrative: Some(narrative).filter(|n| !n.trim().is_empty()),
        files: specs,
    };
    match k.perform(&sess.actor, request, &mut files) {
        Ok(_) => Redirect::to("/me?error=sent").into_response(),
        Err(e) => failure(lang, e),
    }
}

/// Every learner's record a staff member may see (none when they may not list learners).
fn staff_records(k: &Kiosk, actor: &Actor) -> Result<Vec<Json>> {
    let list = match k.perform(
        actor,
        Request::LearnerList { search: None },
        &mut WebFiles::default(),
    ) {
        Ok(Reply::Learners { learners }) => learners,
        Ok(_) => Vec::new(),
        Err(e) if e.kind() == "unauthorized" => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    list.iter().map(|l| k.record(actor, &l.id)).collect()
}

/// Staff: the assessor's queue, the issuer's awards, the admin's sync and bundles.
async fn staff(
    State(k): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<SigninQuery>,
) -> Response {
    let sess = match session(&k, &headers) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let lang = sess.lang;
    let Actor::Staff(user) = &sess.actor else {
        return forbidden(&sess);
    };
    let node = k.app.node().clone();
    let all = match staff_records(&k, &sess.actor) {
        Ok(x) => x,
        Err(e) => return failure(lang, e),
    };
    let catalog = k.catalog(&sess.actor).unwrap_or_default();
    let here = node.id().to_string();
    let mine: Vec<&Json> = all
        .iter()
        .filter(|d| node.is_hub() || d["home_site"] == here.as_str())
        .collect();
    let aname = |a: &Json| {
        let id = a.as_str().unwrap_or("");
        esc(&catalog
            .achievements
            .get(id)
            .map(|x| x.name.clone())
            .unwrap_or_else(|| id.to_string()))
    };
    let csrf = csrf_input(&sess.csrf);
    let mut body = format!(
        "<p>{} · {}</p>",
        esc(&user.name),
        esc(&sess.actor.describe())
    );
    if let Some(m) = q.error.as_deref() {
        body.push_str(&format!("<p class=\"msg\" role=\"status\">{}</p>", esc(m)));
    }
    if sess.actor.has(Role::Assessor) {
        body.push_str(&format!("<h2>{}</h2>", t(lang, "queue")));
        let mut any = false;
        for d in &mine {
            for (_, v) in d["evidence"].as_object().into_iter().flatten() {
                if d["assessments"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .any(|(_, x)| x["evidence"] == v["id"])
                {
                    continue;
                }
                let enr = &d["enrollments"][v["enrollment"].as_str().unwrap_or("")];
                if enr["status"] != "enrolled" {
                    continue;
                }
                any = true;
                let files: String = v["files"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|f| {
                        format!(
                            "<li><a href=\"/staff/file/{}\">{}</a></li>",
                            s(&f["sha256"]),
                            s(&f["name"])
                        )
                    })
                    .collect();
                let vid = s(&v["id"]);
                body.push_str(&format!(
                    "<section class=\"card evidence\"><h3>{} — {}</h3><p>{}</p><ul>{files}</ul>\
<form method=\"post\" action=\"/staff/assess\">{csrf}<input type=\"hidden\" name=\"evidence\" value=\"{vid}\"><label for=\"fb-{vid}\">{}</label><textarea id=\"fb-{vid}\" name=\"feedback\" rows=\"2\"></textarea>\
<button name=\"decision\" value=\"proficient\">{}</button> <button class=\"secondary\" name=\"decision\" value=\"not-yet\">{}</button></form></section>",
                    s(&d["profile"]["number"]), aname(&enr["achievement"]), s(&v["narrative"]), t(lang, "feedback"), t(lang, "proficient"), t(lang, "not_yet")
                ));
            }
        }
        if !any {
            body.push_str(&format!("<p>{}</p>", t(lang, "nothing")));
        }
    }
    if sess.actor.has(Role::Issuer) {
        body.push_str(&format!("<h2>{}</h2>", t(lang, "to_award")));
        let mut any = false;
        for d in &mine {
            for (eid, e) in d["enrollments"].as_object().into_iter().flatten() {
                let proficient = d["assessments"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .any(|(_, x)| x["enrollment"] == eid.as_str() && x["decision"] == "proficient");
                if e["status"] == "enrolled" && proficient {
                    any = true;
                    body.push_str(&format!(
                        "<section class=\"card\"><h3>{} — {}</h3><form method=\"post\" action=\"/staff/award\">{csrf}<input type=\"hidden\" name=\"enrollment\" value=\"{}\"><button>{}</button></form></section>",
                        s(&d["profile"]["number"]), aname(&e["achievement"]), esc(eid), t(lang, "award")
                    ));
                }
            }
        }
        if !any {
            body.push_str(&format!("<p>{}</p>", t(lang, "nothing")));
        }
        body.push_str(&format!("<h2>{}</h2><ul>", t(lang, "awards")));
        for d in &mine {
            for (aid, a) in d["awards"].as_object().into_iter().flatten() {
                body.push_str(&format!(
                    "<li>{} — {} · <a href=\"/staff/certificate/{}\">{}</a></li>",
                    s(&d["profile"]["number"]),
                    s(&a["name"]),
                    esc(aid),
                    t(lang, "print")
                ));
            }
        }
        body.push_str("</ul>");
    }
    if sess.actor.has(Role::Admin) {
        let peers = blocking(|| crate::sync::peer::all(&node.store)).unwrap_or_default();
        let hub = node.hub_id().map(|h| h.to_string());
        let state = peers.iter().find(|p| Some(&p.id) == hub.as_ref());
        let last = state
            .and_then(|p| p.last_contact_ms)
            .map(|ms| format!("{:.1} h", (now_ms().saturating_sub(ms)) as f64 / 3.6e6))
            .unwrap_or_else(|| t(lang, "never").into());
        let pending = blocking(|| -> crate::error::Result<u64> {
            let held = node.store.vector()?;
            Ok(state
                .cloned()
                .unwrap_or_default()
                .pending_own(&held, &node.id()))
        })
        .unwrap_or(0);
        body.push_str(&format!(
            "<h2>{}</h2><section><p>{}: <strong id=\"last-contact\">{last}</strong></p><p>{}: <strong id=\"pending\">{pending}</strong></p>\
<form method=\"post\" action=\"/staff/bundle\">{csrf}<button id=\"make-bundle\">{}</button></form></section>",
            t(lang, "sync"), t(lang, "last_contact"), t(lang, "pending"), t(lang, "make_bundle")
        ));
    }
    page(
        lang,
        Some(k.sessions.idle()),
        Some(&sess.csrf),
        t(lang, "staff"),
        &body,
    )
    .into_response()
}

#[derive(Deserialize)]
struct AssessForm {
    evidence: String,
    decision: String,
    feedback: Option<String>,
    #[serde(default)]
    csrf: String,
}

async fn staff_assess(
    State(k): State<Shared>,
    headers: HeaderMap,
    Form(f): Form<AssessForm>,
) -> Response {
    let sess = match session(&k, &headers) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    if let Some(r) = forged_form(&sess, &f.csrf) {
        return r;
    }
    let decision = if f.decision == "proficient" {
        crate::domain::lifecycle::Decision::Proficient
    } else {
        crate::domain::lifecycle::Decision::NotYet
    };
    let request = Request::Assess {
        evidence: f.evidence.clone(),
        decision,
        feedback: f.feedback.clone().filter(|x| !x.trim().is_empty()),
    };
    match k.perform(&sess.actor, request, &mut WebFiles::default()) {
        Ok(_) => Redirect::to("/staff").into_response(),
        Err(e) if e.kind() == "unauthorized" => forbidden(&sess),
        Err(e) => failure(sess.lang, e),
    }
}

#[derive(Deserialize)]
struct AwardForm {
    enrollment: String,
    #[serde(default)]
    csrf: String,
}

async fn staff_award(
    State(k): State<Shared>,
    headers: HeaderMap,
    Form(f): Form<AwardForm>,
) -> Response {
    let sess = match session(&k, &headers) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    if let Some(r) = forged_form(&sess, &f.csrf) {
        return r;
    }
    let request = Request::Award {
        enrollment: f.enrollment.clone(),
    };
    match k.perform(&sess.actor, request, &mut WebFiles::default()) {
        Ok(reply) => {
            let names: Vec<String> = match reply {
                Reply::Awarded { awards } => awards.into_iter().map(|a| a.name).collect(),
                _ => Vec::new(),
            };
            Redirect::to(&format!(
                "/staff?error={}",
                urlencode(&format!("✓ {}", names.join(", ")))
            ))
            .into_response()
        }
        Err(e) if e.kind() == "unauthorized" => forbidden(&sess),
        Err(e) => failure(sess.lang, e),
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn staff_certificate(
    State(k): State<Shared>,
    headers: HeaderMap,
    Path(award): Path<String>,
) -> Response {
    let sess = match session(&k, &headers) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    if !sess.actor.has(Role::Issuer) && !sess.actor.has(Role::Admin) {
        return forbidden(&sess);
    }
    let request = Request::CredentialCertificate { award };
    match k.perform(&sess.actor, request, &mut WebFiles::default()) {
        Ok(Reply::Certificate { html }) => (
            [(header::CONTENT_SECURITY_POLICY, guard::CERTIFICATE_POLICY)],
            Html(html),
        )
            .into_response(),
        Ok(_) => failure(
            sess.lang,
            crate::error::Error::storage_msg("no certificate came back"),
        ),
        Err(e) => failure(sess.lang, e),
    }
}

async fn staff_file(
    State(k): State<Shared>,
    headers: HeaderMap,
    Path(sha): Path<String>,
) -> Response {
    let sess = match session(&k, &headers) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    if !sess.actor.has(Role::Assessor) && !sess.actor.has(Role::Admin) {
        return forbidden(&sess);
    }
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return forbidden(&sess);
    }
    let mut files = WebFiles::default();
    match k.perform(
        &sess.actor,
        Request::EvidenceFile {
            sha256: sha.clone(),
        },
        &mut files,
    ) {
        Ok(_) => (
            [
                (header::CONTENT_TYPE, "application/octet-stream".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{sha}\""),
                ),
            ],
            files.download,
        )
            .into_response(),
        Err(e) => failure(sess.lang, e),
    }
}

async fn staff_bundle(
    State(k): State<Shared>,
    headers: HeaderMap,
    Form(f): Form<SignoutForm>,
) -> Response {
    let sess = match session(&k, &headers) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    if let Some(r) = forged_form(&sess, &f.csrf) {
        return r;
    }
    if !sess.actor.has(Role::Admin) {
        return forbidden(&sess);
    }
    let name = format!(
        "to-hub-{}.cairn",
        crate::clock::now_rfc3339().replace(':', "-")
    );
    let out = k.bundles.join(&name);
    /// The bundle goes straight into its file in the bundle folder.
    struct ToFile(std::path::PathBuf);
    impl Transfer for ToFile {
        fn upload(&mut self, _: usize) -> Result<Box<dyn std::io::Read + Send + '_>> {
            Err(crate::error::Error::Usage("no upload".into()))
        }
        fn download(&mut self) -> Result<Box<dyn std::io::Write + Send + '_>> {
            let f = std::fs::File::create(&self.0)
                .map_err(|e| crate::error::Error::storage("writing the bundle", e))?;
            Ok(Box::new(f))
        }
        fn reporter(&self) -> crate::app::Reporter {
            Box::new(|_| {})
        }
    }
    let r = blocking(|| {
        std::fs::create_dir_all(&k.bundles)
            .map_err(|e| crate::error::Error::storage("creating the bundle folder", e))?;
        k.app.perform(
            &sess.actor,
            Request::BundleExport {
                for_site: None,
                full: false,
            },
            Channel::Web,
            &mut ToFile(out.clone()),
        )
    });
    let r = match r {
        Ok(Reply::BundleExported(r)) => Ok(r),
        Ok(_) => Err(crate::error::Error::storage_msg("no bundle came back")),
        Err(e) => {
            let _ = std::fs::remove_file(&out);
            Err(e)
        }
    };
    match r {
        Ok(r) => {
            let body = format!(
                "<p class=\"msg\" role=\"status\">{}: {} ({} entries, {} bytes)</p><p><a class=\"button\" id=\"download-bundle\" href=\"/staff/bundle/{}\">{}</a> <a class=\"button\" href=\"/staff\">{}</a></p>",
                t(sess.lang, "bundle_made"),
                esc(&name),
                r.entries,
                r.bytes,
                urlencode(&name),
                t(sess.lang, "download"),
                t(sess.lang, "back")
            );
            page(
                sess.lang,
                Some(k.sessions.idle()),
                Some(&sess.csrf),
                t(sess.lang, "sync"),
                &body,
            )
            .into_response()
        }
        Err(e) => failure(sess.lang, e),
    }
}

async fn staff_bundle_file(
    State(k): State<Shared>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let sess = match session(&k, &headers) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    if !sess.actor.has(Role::Admin)
        || name.contains(['/', '\\'])
        || name.starts_with('.')
        || !name.ends_with(".cairn")
    {
        return forbidden(&sess);
    }
    match std::fs::read(k.bundles.join(&name)) {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "application/octet-stream".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}\""),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(_) => failure(
            sess.lang,
            crate::error::Error::not_found("there is no such bundle (it may have been moved)"),
        ),
    }
}
