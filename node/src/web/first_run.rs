//! First run without the command line: `cairn run` on an empty data folder serves one page that
//! makes the site — its name, its institution, and the first staff member (site admin, assessor
//! and issuer) — and then the service starts as usual, where the staff home shows the steps to
//! join the hub (the node's id as text and QR code; the provisioning file by upload).
//!
//! Whoever reaches the page first would own the node, so it answers a browser on the machine
//! itself (loopback) and, from anywhere else, only with the setup code the service printed in
//! its log; after ten wrong codes it stops taking setup from other machines at all.

use super::guard;
use super::i18n::{Lang, Tr};
use super::layout::{self, FieldAttrs, Flash, Page, field};
use crate::app::{App, NoFiles, Request};
use crate::audit::Channel;
use crate::config::NodeRole;
use crate::domain::people::{Actor, Role};
use crate::error::{Error, Result};
use crate::node::Node;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use tokio::sync::watch;

/// Wrong setup codes accepted from other machines before setup is taken only from this one.
const WRONG_CODES: u32 = 10;

/// Whether `dir` is a folder `cairn run` may make a node in: missing, or empty.
pub fn is_empty_folder(dir: &Path) -> bool {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}

struct Setup {
    dir: PathBuf,
    code: String,
    wrong: AtomicU32,
    made: watch::Sender<bool>,
}

type Shared = Arc<Setup>;

/// Serve the setup page until the node is made (returns the address it served on, for the
/// service to take over) or `stop` resolves (`None`). Prints `web http://ADDRESS/` to standard
/// output like the service; the setup code for other machines goes to standard error (the
/// service's log).
pub async fn serve_first_run(
    dir: PathBuf,
    listener: tokio::net::TcpListener,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<Option<SocketAddr>> {
    let code = guard::new_token()[..12].to_uppercase();
    let (made, mut made_rx) = watch::channel(false);
    let setup = Arc::new(Setup {
        dir,
        code: code.clone(),
        wrong: AtomicU32::new(0),
        made,
    });
    let bound = listener
        .local_addr()
        .map_err(|e| Error::storage("reading the bound address", e))?;
    {
        use std::io::Write;
        let mut out = std::io::stdout();
        let _ = writeln!(out, "web http://{bound}/").and_then(|_| out.flush());
    }
    eprintln!(
        "This data folder is empty: open http://{bound}/ in a browser on this machine to set up the site. \
         From another machine, the page asks for this setup code: {}-{}-{}",
        &code[..4],
        &code[4..8],
        &code[8..]
    );
    let app = Router::new()
        .route("/", get(|| async { Redirect::to("/setup") }))
        .route("/signin", get(|| async { Redirect::to("/setup") }))
        .route("/setup", get(form).post(make))
        .route("/style.css", get(super::stylesheet))
        .layer(DefaultBodyLimit::max(16 * 1024))
        .layer(axum::middleware::from_fn(guard::same_origin_posts))
        .layer(axum::middleware::from_fn(guard::headers))
        .with_state(setup.clone());
    let mut done = made_rx.clone();
    let shutdown = async move {
        tokio::select! {
            _ = stop => {}
            _ = async { let _ = done.wait_for(|m| *m).await.is_ok(); } => {
                // Let the page that says "set up" reach the browser first.
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            }
        }
    };
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .map_err(|e| Error::storage("serving the setup page", e))?;
    let made = *made_rx.borrow_and_update();
    Ok(made.then_some(bound))
}

#[derive(Deserialize, Default)]
struct FormQuery {
    lang: Option<String>,
}

fn from_here(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}

fn setup_page(
    tr: Tr,
    token: &str,
    local: bool,
    flash: Option<Flash>,
    typed: &SetupForm,
) -> Response {
    let body = maud::html! {
        p { (tr.t("setup-intro")) }
        form method="post" action="/setup" {
            (layout::csrf(token))
            input type="hidden" name="lang" value=(tr.lang.code());
            @if !local {
                (field("code", &tr.t("setup-code"), "", FieldAttrs { help: Some(tr.t("setup-code-help")), ..FieldAttrs::required(20) }))
            }
            h2 { (tr.t("setup-site")) }
            (field("site", &tr.t("field-site-name"), &typed.site, FieldAttrs { help: Some(tr.t("setup-site-help")), ..FieldAttrs::required(200) }))
            (field("institution", &tr.t("field-institution"), &typed.institution, FieldAttrs { help: Some(tr.t("setup-institution-help")), ..FieldAttrs::optional(200) }))
            h2 { (tr.t("setup-you")) }
            p { (tr.t("setup-you-help")) }
            (field("name", &tr.t("field-staff-name"), &typed.name, FieldAttrs::required(64)))
            (field("pin", &tr.t("field-pin"), "", FieldAttrs { kind: "password", inputmode: Some("numeric"), help: Some(tr.t("setup-pin-help")), ..FieldAttrs::required(128) }))
            (field("pin2", &tr.t("setup-pin-again"), "", FieldAttrs { kind: "password", inputmode: Some("numeric"), ..FieldAttrs::required(128) }))
            button #setup { (tr.t("setup-button")) }
        }
    };
    let page = layout::page(
        Page {
            tr,
            title: tr.t("setup-title"),
            session: None,
            idle: None,
            flash,
            hub: false,
        },
        body,
    );
    (
        [(
            header::SET_COOKIE,
            format!(
                "{}={token}; HttpOnly; SameSite=Strict; Path=/setup; Max-Age=3600",
                guard::PRE_SESSION_COOKIE
            ),
        )],
        page,
    )
        .into_response()
}

async fn form(ConnectInfo(addr): ConnectInfo<SocketAddr>, Query(q): Query<FormQuery>) -> Response {
    let tr = Tr::new(Lang::from_code(q.lang.as_deref().unwrap_or("en")));
    setup_page(
        tr,
        &guard::new_token(),
        from_here(&addr),
        None,
        &SetupForm::default(),
    )
}

#[derive(Deserialize, Default)]
struct SetupForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    lang: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    site: String,
    #[serde(default)]
    institution: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    pin: String,
    #[serde(default)]
    pin2: String,
}

async fn make(
    State(setup): State<Shared>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<SetupForm>,
) -> Response {
    let tr = Tr::new(Lang::from_code(&f.lang));
    let local = from_here(&addr);
    let expected = guard::cookie(&headers, guard::PRE_SESSION_COOKIE).unwrap_or_default();
    if !guard::tokens_match(&expected, &f.csrf) {
        return (StatusCode::FORBIDDEN, tr.t("form-expired")).into_response();
    }
    let again = |status: StatusCode, message: String| {
        (
            status,
            setup_page(
                tr,
                &guard::new_token(),
                local,
                Some(Flash::Problem(message)),
                &f,
            ),
        )
            .into_response()
    };
    if *setup.made.borrow() {
        return Redirect::to("/signin").into_response();
    }
    if !local {
        if setup.wrong.load(Ordering::Relaxed) >= WRONG_CODES {
            return again(StatusCode::FORBIDDEN, tr.t("setup-code-locked"));
        }
        let typed: String = f
            .code
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        if !guard::tokens_match(&setup.code, &typed.to_uppercase()) {
            setup.wrong.fetch_add(1, Ordering::Relaxed);
            return again(StatusCode::FORBIDDEN, tr.t("setup-code-wrong"));
        }
    }
    if f.pin != f.pin2 {
        return again(StatusCode::BAD_REQUEST, tr.t("setup-pins-differ"));
    }
    let dir = setup.dir.clone();
    let made = tokio::task::block_in_place(|| make_site(&dir, &f));
    match made {
        Ok(()) => {
            let _ = setup.made.send(true);
            tracing::info!("the site was set up from the browser");
            let body = maud::html! {
                p.msg.done role="status" #set-up { (tr.a("setup-done", &[("name", f.site.trim().to_string())])) }
                p { a.button href=(format!("/signin?lang={}", tr.lang.code())) { (tr.t("sign-in")) } }
            };
            let mut page = layout::page(
                Page {
                    tr,
                    title: tr.t("setup-title"),
                    session: None,
                    idle: None,
                    flash: None,
                    hub: false,
                },
                body,
            )
            .into_response();
            // The service restarts on the same address; the browser goes to sign in.
            page.headers_mut().insert(
                header::REFRESH,
                axum::http::HeaderValue::from_str(&format!(
                    "3;url=/signin?lang={}",
                    tr.lang.code()
                ))
                .unwrap_or(axum::http::HeaderValue::from_static("3")),
            );
            page
        }
        Err(e) => again(StatusCode::BAD_REQUEST, super::errors::message(&tr, &e)),
    }
}

/// Make the node and its first staff member; on any refusal, leave the folder as it was.
fn make_site(dir: &Path, f: &SetupForm) -> Result<()> {
    let institution = Some(f.institution.trim().to_string()).filter(|i| !i.is_empty());
    // Check what will be stored before anything is written.
    let roles = [Role::Admin, Role::Assessor, Role::Issuer];
    crate::domain::people::check_secret(&f.pin, &roles)?;
    crate::domain::text::check_line(crate::domain::text::Field::UserName, f.name.trim(), 64)?;
    let made = (|| {
        let node = Node::init(dir, NodeRole::Site, &f.site, institution)?;
        let app = App::new(Arc::new(node), None);
        app.perform(
            &Actor::Operator,
            Request::UserAdd {
                name: f.name.trim().to_string(),
                roles: roles.to_vec(),
                secret: f.pin.clone(),
            },
            Channel::Web,
            &mut NoFiles,
        )?;
        app.node().store.flush()?;
        Ok(())
    })();
    if made.is_err() {
        // The folder was empty: leave it so for the next try, not half a node.
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let p = e.path();
                let _ = if p.is_dir() {
                    std::fs::remove_dir_all(&p)
                } else {
                    std::fs::remove_file(&p)
                };
            }
        }
    }
    made
}
