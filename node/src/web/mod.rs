//! The web app `cairn run` (a site) and `cairn serve` (the hub) serve: the whole day's work in a
//! browser, for learners at the kiosk, site staff and hub operators, in English and Spanish.
//!
//! A thin adapter: each handler reads the form, builds an application-layer request, performs it
//! for the signed-in person (the application layer decides who may), and renders the reply with
//! maud templates (which escape everything). Plain server-rendered HTML that works without
//! script (one small script of its own, `app.js`, adds the Print button, the idle warning and
//! the file chooser's words); nothing from outside the node; large targets, keyboard operable,
//! readable at 200 % zoom. See docs/web.md.

pub mod errors;
pub mod guard;
pub use crate::i18n;
pub mod jobs;
pub mod layout;
pub mod session;
pub mod words;

mod charts;
pub mod first_run;
mod hub;
mod learner;
mod operate;
mod staff;

pub use first_run::serve_first_run;

use crate::app::request::FileSpec;
use crate::app::{App, Reply, Request, Transfer};
use crate::audit::Channel;
use crate::domain::people::Actor;
use crate::error::{Error, Result};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use i18n::{Lang, Tr};
use layout::{Flash, Page};
use maud::Markup;
use serde::Deserialize;
use session::{Session, Sessions, Signed};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The session cookie.
pub const COOKIE: &str = "cairn_session";

/// Everything the handlers share.
pub struct Web {
    app: Arc<App>,
    sessions: Sessions,
    bundles: PathBuf,
    jobs: jobs::Jobs,
}

/// The shared state of the router.
pub type Shared = Arc<Web>;

impl Web {
    /// The web app over a node's application layer; sessions end after `idle`; USB bundles are
    /// written to `bundles`.
    pub fn new(app: Arc<App>, idle: Duration, bundles: PathBuf) -> Shared {
        Arc::new(Web {
            app,
            sessions: Sessions::new(idle),
            bundles,
            jobs: jobs::Jobs::default(),
        })
    }

    /// Perform a request for someone, off the async workers.
    fn perform(&self, actor: &Actor, request: Request, files: &mut WebFiles) -> Result<Reply> {
        tokio::task::block_in_place(|| self.app.perform(actor, request, Channel::Web, files))
    }

    /// Perform a request that carries and writes no file.
    fn ask(&self, actor: &Actor, request: Request) -> Result<Reply> {
        self.perform(actor, request, &mut WebFiles::default())
    }

    fn hub(&self) -> bool {
        self.app.node().is_hub()
    }

    /// A page for a signed-in person.
    fn page(&self, s: &Session, title: String, flash: Option<Flash>, body: Markup) -> Response {
        layout::page(
            Page {
                tr: Tr::new(s.lang),
                title,
                session: Some(s),
                idle: Some(self.sessions.idle()),
                flash,
                hub: self.hub(),
            },
            body,
        )
        .into_response()
    }

    /// A page saying what went wrong, in the person's language, with the right status.
    fn problem(&self, s: &Session, e: &Error) -> Response {
        let tr = Tr::new(s.lang);
        let status = match e.exit_code() {
            3 if e.kind() == "unauthorized" => StatusCode::FORBIDDEN,
            3 | 2 => StatusCode::BAD_REQUEST,
            5 => StatusCode::BAD_GATEWAY,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let body = maud::html! {
            p.msg.problem role="alert" { (errors::message(&tr, e)) }
            p { a.button href="/" { (tr.t("back-home")) } }
        };
        (status, self.page(s, tr.t("problem-title"), None, body)).into_response()
    }

    /// A refused form: what went wrong in the person's words, and the way back to `back`.
    fn refused(&self, s: &Session, e: &Error, back: &str) -> Response {
        let status = match e.exit_code() {
            3 if e.kind() == "unauthorized" => StatusCode::FORBIDDEN,
            3 | 2 => StatusCode::BAD_REQUEST,
            5 => StatusCode::BAD_GATEWAY,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        self.refused_because(s, status, errors::message(&Tr::new(s.lang), e), back)
    }

    /// A refused form, with the message already in the person's words.
    fn refused_because(
        &self,
        s: &Session,
        status: StatusCode,
        message: String,
        back: &str,
    ) -> Response {
        let tr = Tr::new(s.lang);
        let body = maud::html! { p { a.button href=(back) { (tr.t("back")) } } };
        let flash = Flash::Problem(message);
        (
            status,
            self.page(s, tr.t("problem-title"), Some(flash), body),
        )
            .into_response()
    }
}

/// A web request's files: uploads received with the form, the download kept for the response.
#[derive(Default)]
pub struct WebFiles {
    uploads: Vec<Vec<u8>>,
    download: Vec<u8>,
}

impl Transfer for WebFiles {
    fn upload(&mut self, index: usize) -> Result<Box<dyn std::io::Read + Send + '_>> {
        self.uploads
            .get(index)
            .map(|b| Box::new(b.as_slice()) as Box<dyn std::io::Read + Send>)
            .ok_or_else(|| Error::Usage("the form did not carry that file".into()))
    }
    fn download(&mut self) -> Result<Box<dyn std::io::Write + Send + '_>> {
        Ok(Box::new(&mut self.download))
    }
    fn reporter(&self) -> crate::app::Reporter {
        Box::new(|_| {})
    }
}

/// Largest request body anywhere but the uploads: forms are small, and nothing unauthenticated
/// may make the service hold megabytes.
const FORM_LIMIT: usize = 64 * 1024;

/// The router.
pub fn router(web: Shared) -> Router {
    // Only signed-in uploads may be large: evidence (the 64 MiB file limit), a bundle, a
    // provisioning file.
    let uploads = Router::new()
        .route("/me/evidence", post(learner::submit))
        .route("/staff/bundle/import", post(operate::import_bundle))
        .route("/staff/learners/import", post(staff::import_roster))
        .route("/staff/join", post(operate::join))
        .layer(DefaultBodyLimit::max(
            crate::payload::MAX_FILE as usize + (1 << 20),
        ));
    Router::new()
        .route("/", get(home))
        .route("/style.css", get(stylesheet))
        .route("/app.js", get(script))
        .route("/alive", get(alive))
        .route("/signin", get(signin_page))
        .route("/signin/learner", post(signin_learner))
        .route("/signin/staff", post(signin_staff))
        .route("/signout", post(signout))
        .route("/lang", post(switch_language))
        .merge(learner::routes())
        .merge(staff::routes())
        .merge(operate::routes())
        .merge(hub::routes())
        .layer(DefaultBodyLimit::max(FORM_LIMIT))
        .merge(uploads)
        .layer(axum::middleware::from_fn(guard::same_origin_posts))
        .layer(axum::middleware::from_fn(guard::headers))
        .with_state(web)
}

/// Serve until `stop` resolves.
pub async fn serve(
    web: Shared,
    listener: tokio::net::TcpListener,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(web).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stop)
    .await
}

async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        layout::STYLE,
    )
        .into_response()
}

/// The script of `app.js`.
pub const SCRIPT: &str = include_str!("app.js");

async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        SCRIPT,
    )
        .into_response()
}

/// `GET /alive`: the page is in use (someone is typing); the session was touched by signing in.
async fn alive(Signed(_): Signed) -> StatusCode {
    StatusCode::NO_CONTENT
}

async fn home(State(web): State<Shared>, headers: HeaderMap) -> Response {
    match guard::cookie(&headers, COOKIE).map(|t| web.sessions.get(&t)) {
        Some(Ok(s)) if matches!(s.actor, Actor::Learner { .. }) => {
            Redirect::to("/me").into_response()
        }
        Some(Ok(_)) => Redirect::to("/staff").into_response(),
        Some(Err(true)) => Redirect::to("/signin?expired=1").into_response(),
        _ => Redirect::to("/signin").into_response(),
    }
}

#[derive(Deserialize)]
struct SigninQuery {
    lang: Option<String>,
    expired: Option<String>,
    error: Option<String>,
}

async fn signin_page(State(web): State<Shared>, Query(q): Query<SigninQuery>) -> Response {
    let lang = Lang::from_code(q.lang.as_deref().unwrap_or("en"));
    let tr = Tr::new(lang);
    // The sign-in forms carry a token also set as a cookie: a page elsewhere cannot read the
    // cookie, so it cannot sign this browser into an account of its choosing.
    let token = guard::new_token();
    let flash = match (q.error.as_deref(), q.expired.is_some()) {
        (Some("locked"), _) => Some(Flash::Problem(tr.t("signin-held"))),
        (Some("busy"), _) => Some(Flash::Problem(tr.t("signin-busy"))),
        (Some(_), _) => Some(Flash::Problem(tr.t("signin-wrong"))),
        (None, true) => Some(Flash::Done(tr.t("signin-expired"))),
        _ => None,
    };
    use layout::{FieldAttrs, field};
    let body = maud::html! {
        section {
            h2 { (tr.t("signin-learners")) }
            form method="post" action="/signin/learner" {
                input type="hidden" name="lang" value=(lang.code());
                (layout::csrf(&token))
                (field("number", &tr.t("signin-number"), "", FieldAttrs::required(32)))
                (field("pin", &tr.t("signin-pin"), "", FieldAttrs { kind: "password", inputmode: Some("numeric"), ..FieldAttrs::required(12) }))
                button #learner-signin { (tr.t("sign-in")) }
            }
        }
        section {
            h2 { (tr.t("signin-staff")) }
            form method="post" action="/signin/staff" {
                input type="hidden" name="lang" value=(lang.code());
                (layout::csrf(&token))
                (field("name", &tr.t("signin-name"), "", FieldAttrs::required(64)))
                (field("secret", &tr.t("signin-secret"), "", FieldAttrs { kind: "password", ..FieldAttrs::required(128) }))
                button #staff-signin { (tr.t("sign-in")) }
            }
        }
    };
    let page = layout::page(
        Page {
            tr,
            title: tr.t("signin-title"),
            session: None,
            idle: None,
            flash,
            hub: web.hub(),
        },
        body,
    );
    (
        [(
            header::SET_COOKIE,
            format!(
                "{}={token}; HttpOnly; SameSite=Strict; Path=/signin; Max-Age=3600",
                guard::PRE_SESSION_COOKIE
            ),
        )],
        page,
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
    State(web): State<Shared>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<SigninForm>,
) -> Response {
    sign_in(web, addr, &headers, f, true)
}

async fn signin_staff(
    State(web): State<Shared>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<SigninForm>,
) -> Response {
    sign_in(web, addr, &headers, f, false)
}

/// Both sign-in forms: the form token, then the sign-in gate (throttling, audit), then a session.
fn sign_in(
    web: Shared,
    addr: SocketAddr,
    headers: &HeaderMap,
    f: SigninForm,
    learner: bool,
) -> Response {
    let lang = Lang::from_code(&f.lang);
    let expected = guard::cookie(headers, guard::PRE_SESSION_COOKIE).unwrap_or_default();
    if !guard::tokens_match(&expected, &f.csrf) {
        return (StatusCode::FORBIDDEN, Tr::new(lang).t("form-expired")).into_response();
    }
    let node = web.app.node().clone();
    let from = crate::signin::Source {
        channel: Channel::Web,
        address: Some(addr.ip()),
    };
    let outcome = tokio::task::block_in_place(|| {
        let claim = if learner {
            crate::signin::Claim::Learner(&f.number)
        } else {
            crate::signin::Claim::Staff(&f.name)
        };
        let secret = if learner { &f.pin } else { &f.secret };
        web.app.gate().sign_in(&node, claim, secret, from)
    });
    match outcome {
        Ok(actor) => {
            // A learner's own language, when their record names one.
            let chosen = match &actor {
                Actor::Learner { doc, .. } => {
                    tokio::task::block_in_place(|| crate::domain::learners::record(&node, doc).ok())
                        .and_then(|r| r.profile.interface_language.as_deref().map(Lang::from_code))
                }
                _ => None,
            }
            .unwrap_or(lang);
            let to = if learner { "/me" } else { "/staff" };
            with_cookie(&web.sessions.start(actor, chosen), to)
        }
        Err(e) => {
            let why = match e.kind() {
                "too-many-tries" if e.to_string().contains("busy") => "busy",
                "too-many-tries" => "locked",
                _ => "wrong",
            };
            Redirect::to(&format!("/signin?lang={}&error={why}", lang.code())).into_response()
        }
    }
}

/// A form that only carries its token.
#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    csrf: String,
}

/// The refusal of a form whose token is not the session's, if it is not.
pub fn forged(s: &Session, given: &str) -> Option<Response> {
    (!guard::tokens_match(&s.csrf, given))
        .then(|| (StatusCode::FORBIDDEN, Tr::new(s.lang).t("form-expired")).into_response())
}

async fn signout(
    State(web): State<Shared>,
    headers: HeaderMap,
    Form(f): Form<TokenForm>,
) -> Response {
    let mut lang = Lang::En;
    if let Some(t) = guard::cookie(&headers, COOKIE)
        && let Ok(s) = web.sessions.get(&t)
    {
        if let Some(r) = forged(&s, &f.csrf) {
            return r;
        }
        lang = s.lang;
        web.sessions.end(&t);
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

#[derive(Deserialize)]
struct LangForm {
    #[serde(default)]
    csrf: String,
    lang: String,
}

async fn switch_language(
    State(web): State<Shared>,
    Signed(s): Signed,
    headers: HeaderMap,
    Form(f): Form<LangForm>,
) -> Response {
    if let Some(r) = forged(&s, &f.csrf) {
        return r;
    }
    web.sessions.set_lang(&s.token, Lang::from_code(&f.lang));
    // Back where the person was.
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| {
            r.find("://")
                .and_then(|i| r[i + 3..].find('/').map(|j| r[i + 3 + j..].to_string()))
        })
        .filter(|p| p.starts_with('/') && !p.starts_with("//"))
        .unwrap_or_else(|| "/".into());
    Redirect::to(&back).into_response()
}

/// A download: bytes with a name and a type.
pub fn download(name: &str, media_type: &str, bytes: Vec<u8>) -> Response {
    // The name is the file's own (escaped for the header; non-ASCII kept in filename*).
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b".-_".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    (
        [
            (header::CONTENT_TYPE, media_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// Read a multipart form into text fields and files (name, bytes), with the upload limit in
/// words when it is passed.
async fn read_multipart(
    tr: &Tr,
    mut form: axum::extract::Multipart,
) -> std::result::Result<
    (
        std::collections::BTreeMap<String, String>,
        Vec<(String, Vec<u8>)>,
    ),
    (StatusCode, String),
> {
    let mut fields = std::collections::BTreeMap::new();
    let mut files = Vec::new();
    let too_big = || {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            tr.a(
                "upload-too-large",
                &[("limit", (crate::payload::MAX_FILE >> 20).to_string())],
            ),
        )
    };
    let cut_short = || (StatusCode::BAD_REQUEST, tr.t("upload-cut-short"));
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_big()),
            Err(_) => return Err(cut_short()),
        };
        let name = field.name().unwrap_or("").to_string();
        match field.file_name().map(str::to_string) {
            Some(file_name) => {
                let data = match field.bytes().await {
                    Ok(b) => b,
                    Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_big()),
                    Err(_) => return Err(cut_short()),
                };
                // Browsers send an empty part for an empty file chooser.
                if !file_name.is_empty() && !data.is_empty() {
                    let last = file_name
                        .rsplit(['/', '\\'])
                        .next()
                        .unwrap_or("")
                        .to_string();
                    files.push((last, data.to_vec()));
                }
            }
            None => {
                let text = field.text().await.map_err(|_| cut_short())?;
                fields.insert(name, text);
            }
        }
    }
    Ok((fields, files))
}

/// The specs and bytes of uploaded files, for a request.
fn uploads(files: Vec<(String, Vec<u8>)>) -> (Vec<FileSpec>, WebFiles) {
    let specs = files
        .iter()
        .map(|(name, data)| FileSpec {
            name: name.clone(),
            size: data.len() as u64,
        })
        .collect();
    (
        specs,
        WebFiles {
            uploads: files.into_iter().map(|(_, d)| d).collect(),
            download: Vec::new(),
        },
    )
}

#[derive(Deserialize, Default)]
pub(crate) struct Notice {
    /// A message key to show as done (`done=KEY`).
    done: Option<String>,
}

impl Notice {
    /// The flash for a `done=KEY` query.
    fn flash(&self, tr: &Tr) -> Option<Flash> {
        self.done
            .as_deref()
            .map(|k| format!("done-{k}"))
            // Only messages the catalog holds: a link cannot put words of its choosing, or a
            // missing-message marker, on the page.
            .filter(|id| i18n::has(id))
            .map(|id| Flash::Done(tr.t(&id)))
    }
}
