//! The shape every page shares, as maud templates (which escape everything they are given): the
//! header with the places a person may go, the language switch and sign-out, the idle return to
//! the sign-in screen, messages, and small pieces (forms, buttons, fields) used across pages.

use super::i18n::{Lang, Tr};
use super::session::Session;
use crate::app::policy::{Operation, allows};
use crate::domain::people::Actor;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use std::time::Duration;

/// A message shown at the top of a page.
#[derive(Clone, Debug)]
pub enum Flash {
    /// Something was done.
    Done(String),
    /// Something could not be done, and why.
    Problem(String),
}

/// A whole page.
pub struct Page<'a> {
    /// Messages in the page's language.
    pub tr: Tr,
    /// The heading and title.
    pub title: String,
    /// Who is signed in, if anyone.
    pub session: Option<&'a Session>,
    /// Return to the sign-in screen after this long without a request (shared screens).
    pub idle: Option<Duration>,
    /// A message at the top.
    pub flash: Option<Flash>,
    /// Whether the node is the hub (which places exist).
    pub hub: bool,
}

/// The hidden field carrying a form's token.
pub fn csrf(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

/// The places a person may go, by what the permission table allows them.
fn places(tr: &Tr, actor: &Actor, hub: bool) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if matches!(actor, Actor::Learner { .. }) {
        out.push(("/me", tr.t("nav-my-badges")));
        out.push(("/me/sent", tr.t("nav-my-evidence")));
        out.push(("/me/credentials", tr.t("nav-my-credentials")));
        return out;
    }
    let may = |op| allows(op, actor);
    out.push(("/staff", tr.t("nav-home")));
    if may(Operation::LearnerList) {
        out.push(("/staff/learners", tr.t("nav-learners")));
    }
    if may(Operation::Assess) {
        out.push(("/staff/queue", tr.t("nav-queue")));
    }
    if may(Operation::Award) || may(Operation::CredentialCertificate) {
        out.push(("/staff/awards", tr.t("nav-awards")));
    }
    if may(Operation::BundleExport) && !hub {
        out.push(("/staff/sync", tr.t("nav-sync")));
    }
    if hub && may(Operation::SiteEnroll) {
        out.push(("/hub/sites", tr.t("nav-sites")));
    }
    if hub && may(Operation::ReconcileList) {
        out.push(("/hub/reconcile", tr.t("nav-reconcile")));
    }
    if hub && may(Operation::ReportOutcomes) {
        out.push(("/hub/reports", tr.t("nav-reports")));
    }
    if may(Operation::UserList) {
        out.push(("/staff/users", tr.t("nav-staff")));
    }
    if may(Operation::CatalogList) {
        out.push(("/staff/catalog", tr.t("nav-catalog")));
    }
    out
}

/// Render a page.
pub fn page(p: Page<'_>, body: Markup) -> Markup {
    let tr = p.tr;
    html! {
        (DOCTYPE)
        html lang=(tr.lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (p.title) " — " (tr.t("app-name")) }
                link rel="stylesheet" href="/style.css";
            }
            body {
                a.skip href="#main" { (tr.t("skip-to-content")) }
                header {
                    div.brand { (tr.t("app-name")) }
                    @if let Some(s) = p.session {
                        nav aria-label=(tr.t("nav-label")) {
                            ul {
                                @for (href, label) in places(&tr, &s.actor, p.hub) {
                                    li { a href=(href) { (label) } }
                                }
                            }
                        }
                        div.account {
                            span.who { (who(&tr, &s.actor)) }
                            form method="post" action="/lang" {
                                (csrf(&s.csrf))
                                input type="hidden" name="lang" value=(other(tr.lang).code());
                                button.link lang=(other(tr.lang).code()) { (language_name(other(tr.lang))) }
                            }
                            form method="post" action="/signout" {
                                (csrf(&s.csrf))
                                button.secondary #signout { (tr.t("sign-out")) }
                            }
                        }
                    } @else {
                        nav.languages aria-label=(tr.t("language-label")) {
                            a href="/signin?lang=en" lang="en" { "English" }
                            a href="/signin?lang=es" lang="es" { "Español" }
                        }
                    }
                }
                main #main {
                    h1 { (p.title) }
                    @match &p.flash {
                        Some(Flash::Done(m)) => { p.msg.done role="status" { (m) } }
                        Some(Flash::Problem(m)) => { p.msg.problem role="alert" { (m) } }
                        None => {}
                    }
                    (body)
                }
                (idle_return(&tr, p.idle))
            }
        }
    }
}

/// The warning before a shared screen returns to the sign-in page, and the script that does
/// it (see `app.js`).
pub fn idle_return(tr: &Tr, idle: Option<Duration>) -> Markup {
    html! {
        @if let Some(idle) = idle {
            div #idle-warning .idle-warning .no-print role="alertdialog" aria-labelledby="idle-text" hidden {
                p #idle-text { (tr.t("idle-warning")) }
                button #stay type="button" { (tr.t("idle-stay")) }
            }
            script src="/app.js" data-idle=(idle.as_secs()) {}
        } @else {
            script src="/app.js" {}
        }
    }
}

fn other(lang: Lang) -> Lang {
    match lang {
        Lang::En => Lang::Es,
        Lang::Es => Lang::En,
    }
}

fn language_name(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "English",
        Lang::Es => "Español",
    }
}

fn who(tr: &Tr, actor: &Actor) -> String {
    match actor {
        Actor::Staff(u) => format!("{} · {}", u.name, super::words::roles(tr, &u.roles)),
        Actor::Learner { number, .. } => number.clone(),
        Actor::Operator => String::new(),
    }
}

/// A labelled text field.
pub fn field(id: &str, label: &str, value: &str, attrs: FieldAttrs) -> Markup {
    html! {
        div.field {
            label for=(id) { (label) @if attrs.required { " " span.required aria-hidden="true" { "*" } } }
            @if let Some(help) = &attrs.help { p.help id=(format!("{id}-help")) { (help) } }
            @if attrs.multiline {
                textarea id=(id) name=(id) rows="4" maxlength=[attrs.max] required[attrs.required]
                    aria-describedby=[attrs.help.as_ref().map(|_| format!("{id}-help"))] { (value) }
            } @else {
                input id=(id) name=(id) type=(attrs.kind) value=(value) maxlength=[attrs.max]
                    required[attrs.required] inputmode=[attrs.inputmode] autocomplete="off"
                    aria-describedby=[attrs.help.as_ref().map(|_| format!("{id}-help"))];
            }
        }
    }
}

/// A file chooser in the page's language: the browser's own button speaks the browser's
/// language, so it is hidden (still focusable, and announced by its label) behind a label that
/// looks like a button; `app.js` writes the chosen names beside it.
pub fn file_input(
    tr: &Tr,
    id: &str,
    label: &str,
    help: Option<String>,
    multiple: bool,
    accept: Option<&str>,
) -> Markup {
    let described = if help.is_some() {
        format!("{id}-help {id}-chosen")
    } else {
        format!("{id}-chosen")
    };
    html! {
        div.field.file {
            label for=(id) { (label) }
            @if let Some(help) = &help { p.help id=(format!("{id}-help")) { (help) } }
            input id=(id) name="file" type="file" multiple[multiple] accept=[accept] aria-describedby=(described);
            label.button.secondary.choose for=(id) aria-hidden="true" { (tr.t(if multiple { "choose-files" } else { "choose-file" })) }
            span.chosen id=(format!("{id}-chosen")) data-none=(tr.t("no-file-chosen")) { (tr.t("no-file-chosen")) }
        }
    }
}

/// How a field behaves.
#[derive(Clone, Debug)]
pub struct FieldAttrs {
    /// `text`, `password`, `number`, `date`…
    pub kind: &'static str,
    /// Longest value.
    pub max: Option<usize>,
    /// Must be filled.
    pub required: bool,
    /// Several lines.
    pub multiline: bool,
    /// A keyboard hint (`numeric`).
    pub inputmode: Option<&'static str>,
    /// A line of help under the label.
    pub help: Option<String>,
}

impl Default for FieldAttrs {
    fn default() -> Self {
        FieldAttrs {
            kind: "text",
            max: None,
            required: false,
            multiline: false,
            inputmode: None,
            help: None,
        }
    }
}

impl FieldAttrs {
    /// A required field of at most `max` characters.
    pub fn required(max: usize) -> Self {
        FieldAttrs {
            max: Some(max),
            required: true,
            ..Default::default()
        }
    }

    /// An optional field of at most `max` characters.
    pub fn optional(max: usize) -> Self {
        FieldAttrs {
            max: Some(max),
            ..Default::default()
        }
    }
}

/// A select box of (value, label) options.
pub fn select(id: &str, label: &str, options: &[(String, String)], chosen: &str) -> Markup {
    html! {
        div.field {
            label for=(id) { (label) }
            select id=(id) name=(id) {
                @for (value, text) in options {
                    option value=(value) selected[value == chosen] { (text) }
                }
            }
        }
    }
}

/// A one-button form posting `fields` to `action`.
pub fn button_form(
    action: &str,
    token: &str,
    fields: &[(&str, &str)],
    label: &str,
    class: &str,
) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            (csrf(token))
            @for (k, v) in fields { input type="hidden" name=(k) value=(v); }
            button class=(class) { (label) }
        }
    }
}

/// Text shown when a list is empty.
pub fn empty(text: &str) -> Markup {
    html! { p.empty { (text) } }
}

/// Raw, already-escaped markup (the SVG charts, which are built from escaped parts).
pub fn raw(s: String) -> Markup {
    PreEscaped(s)
}

/// The stylesheet: large targets, visible focus, readable at 200 % zoom (everything wraps; no
/// fixed widths), print-friendly.
pub const STYLE: &str = r#"
*{box-sizing:border-box}
body{font:20px/1.5 system-ui,"DejaVu Sans",sans-serif;margin:0;background:#f6f5f0;color:#111}
a{color:#0b4f9e}
.skip{position:absolute;left:-999px;top:0;background:#fff;padding:8px}
.skip:focus{left:8px;z-index:9}
header{background:#1f3349;color:#fff;padding:10px 20px;display:flex;flex-wrap:wrap;gap:10px 24px;align-items:center;justify-content:space-between}
header a{color:#fff}
.brand{font-weight:700;font-size:22px}
header nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:6px 18px}
header nav a{display:inline-block;padding:8px 4px;font-size:19px}
.languages a{margin-left:14px}
.account{display:flex;flex-wrap:wrap;gap:10px;align-items:center}
.account form{margin:0}
main{max-width:62rem;margin:auto;padding:12px 20px 60px}
h1{font-size:30px;margin:16px 0}
h2{font-size:25px;margin-top:30px}
h3{font-size:21px;margin:6px 0}
section,.card{background:#fff;border:2px solid #c8c8c8;border-radius:10px;padding:16px;margin:14px 0}
.field{margin:12px 0}
label{display:block;font-weight:600;margin-bottom:4px}
.help{margin:0 0 4px;color:#333;font-size:18px}
.required{color:#a00}
input,textarea,select{font:inherit;padding:10px;width:100%;max-width:40rem;border:2px solid #767676;border-radius:6px;background:#fff;color:#111}
input[type=checkbox],input[type=radio]{width:28px;height:28px;vertical-align:middle}
fieldset{border:2px solid #c8c8c8;border-radius:8px;margin:12px 0;padding:10px}
fieldset label{display:inline-flex;gap:8px;align-items:center;font-weight:400;margin:4px 18px 4px 0}
button,.button{font:inherit;font-size:21px;padding:12px 22px;margin:8px 8px 0 0;border-radius:8px;border:0;background:#17663a;color:#fff;cursor:pointer;min-height:52px;display:inline-block;text-decoration:none}
button.secondary,.button.secondary{background:#4a4a4a}
button.danger{background:#9b1c1c}
button.link{background:none;color:#fff;text-decoration:underline;padding:8px;min-height:44px;margin:0}
:focus-visible{outline:4px solid #f5a623;outline-offset:2px}
.msg{border:2px solid;border-radius:8px;padding:12px}
.msg.done{background:#e8f5e9;border-color:#2e7d32}
.msg.problem{background:#fff4e5;border-color:#b35c00}
.empty{color:#333;font-style:italic}
.badges{display:flex;flex-wrap:wrap;gap:12px}
.badge{border:3px solid #999;border-radius:12px;padding:10px 14px;background:#fff;min-width:14rem;flex:1 1 14rem}
.badge.earned{border-color:#17663a}
.badge.not-yet{border-color:#b35c00}
.badge.waiting{border-color:#0b4f9e}
.status{font-weight:700}
.feedback{background:#fff4e5;border-left:6px solid #b35c00;padding:8px 12px;margin-top:8px}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid #c8c8c8;padding:8px;text-align:left;vertical-align:top}
.scroll{overflow-x:auto}
form.inline{display:inline}
.actions{display:flex;flex-wrap:wrap;gap:8px;align-items:center}
progress{width:100%;max-width:40rem;height:28px}
.chart svg{max-width:100%;height:auto}
.qr svg{width:220px;height:220px}
dl{display:grid;grid-template-columns:minmax(8rem,max-content) 1fr;gap:4px 18px}
dt{font-weight:600}
dd{margin:0}
@media (max-width:40rem){dl{grid-template-columns:1fr}dd{margin-left:12px}}
section>h2:first-child,.card>h2:first-child{margin-top:0}
.file input[type=file]{position:absolute;width:1px;height:1px;opacity:0;overflow:hidden}
.file input[type=file]:focus-visible+label.choose{outline:4px solid #f5a623;outline-offset:2px}
.chosen{margin-left:8px}
.idle-warning{position:fixed;left:0;right:0;bottom:0;background:#fff4e5;border-top:4px solid #b35c00;padding:12px 20px;z-index:10}
.idle-warning p{margin:0 0 4px}
.mono{font-family:"DejaVu Sans Mono",monospace;word-break:break-all}
@media print{header,.no-print,nav{display:none}}
"#;
