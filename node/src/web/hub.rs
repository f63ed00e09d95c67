//! The hub operator's pages: sites (admit one and download its provisioning file, revoke one,
//! last contact and what is waiting, USB bundles for sites with no link), the reconcile queue
//! (merge two records of one person, pick a field's value, accept one of two assessments), and
//! reports (the codebook CSV to download; completion rates as charts).

use super::charts::{Bar, chart};
use super::i18n::{self, Tr};
use super::layout::{FieldAttrs, button_form, csrf, empty, field};
use super::session::{Session, Signed};
use super::staff::Pairs;
use super::words;
use super::{Notice, Shared, WebFiles, download, forged};
use crate::app::policy::{Operation, allows};
use crate::app::reply::{ReconcileList, SiteStanding};
use crate::app::request::Settle;
use crate::app::{Reply, Request};
use crate::domain::reports::OutcomesReport;
use crate::error::Error;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::{Markup, html};
use std::collections::BTreeMap;

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/hub/sites", get(sites).post(admit))
        .route("/hub/sites/revoke", axum::routing::post(revoke))
        .route("/hub/reconcile", get(reconcile).post(settle))
        .route("/hub/reports", get(reports))
        .route("/hub/reports/codebook.csv", get(codebook))
}

fn standing(web: &Shared, s: &Session) -> Result<Vec<SiteStanding>, Error> {
    match web.ask(&s.actor, Request::ReportSites)? {
        Reply::SiteStanding { sites } => Ok(sites),
        _ => Ok(Vec::new()),
    }
}

/// `GET /hub/sites`.
async fn sites(State(web): State<Shared>, Signed(s): Signed, Query(n): Query<Notice>) -> Response {
    let tr = Tr::new(s.lang);
    let list = match standing(&web, &s) {
        Ok(l) => l,
        Err(e) => return web.problem(&s, &e),
    };
    let may = |op| allows(op, &s.actor);
    let address = web.app.node().config().listen.clone().unwrap_or_default();
    let body = html! {
        @if list.is_empty() { section { (empty(&tr.t("no-sites"))) } }
        @for site in &list {
            section.card.site {
                h2 { (site.name) @if site.revoked.is_some() { " · " (tr.t("site-revoked")) } }
                p.mono { (site.site) }
                dl {
                    dt { (tr.t("sync-last-contact")) } dd { (words::ago(&tr, site.last_contact_ms)) }
                    dt { (tr.t("site-behind")) } dd { (tr.a("entries-count", &[("count", site.entries_behind.to_string())])) }
                    dt { (tr.t("site-received")) } dd { (tr.a("entries-count", &[("count", site.entries_from_site.to_string())])) }
                    dt { (tr.t("site-files-pending")) } dd { (site.pending_evidence_files) }
                    @if let Some(why) = &site.revoked { dt { (tr.t("site-revoked-because")) } dd { (why) } }
                }
                @if site.revoked.is_none() {
                    div.actions {
                        @if may(Operation::BundleExport) {
                            (button_form("/staff/bundle", &s.csrf, &[("site", &site.site)], &tr.t("usb-make-for-site"), "secondary"))
                        }
                    }
                    @if may(Operation::SiteRevoke) {
                        details {
                            summary { (tr.a("site-revoke-title", &[("name", site.name.clone())])) }
                            p { (tr.t("site-revoke-help")) }
                            form method="post" action="/hub/sites/revoke" {
                                (csrf(&s.csrf))
                                input type="hidden" name="site" value=(site.site);
                                (field(&format!("reason-{}", site.site), &tr.t("field-reason"), "", FieldAttrs::required(500)))
                                button.danger { (tr.t("site-revoke")) }
                            }
                        }
                    }
                }
            }
        }
        @if may(Operation::SiteEnroll) {
            section #admit {
                h2 { (tr.t("site-admit-title")) }
                p { (tr.t("site-admit-help")) }
                form method="post" action="/hub/sites" {
                    (csrf(&s.csrf))
                    (field("site", &tr.t("field-site-id"), "", FieldAttrs { help: Some(tr.t("site-id-help")), ..FieldAttrs::required(80) }))
                    (field("name", &tr.t("field-site-name"), "", FieldAttrs::required(200)))
                    (field("address", &tr.t("field-hub-address"), &address, FieldAttrs { help: Some(tr.t("hub-address-help")), ..FieldAttrs::optional(253) }))
                    button #admit-site { (tr.t("site-admit")) }
                }
            }
        }
        @if may(Operation::BundleImport) { (super::operate::import_form(&tr, &s)) }
    };
    web.page(&s, tr.t("sites-title"), n.flash(&tr), body)
}

/// `POST /hub/sites`: admit a site; the page offers its provisioning file.
async fn admit(State(web): State<Shared>, Signed(s): Signed, body: Bytes) -> Response {
    let tr = Tr::new(s.lang);
    let f = Pairs::parse(&body);
    if let Some(r) = forged(&s, &f.token()) {
        return r;
    }
    let request = Request::SiteEnroll {
        site: f.get("site").unwrap_or_default(),
        name: f.get("name").unwrap_or_default(),
        address: f.get("address"),
    };
    match web.ask(&s.actor, request) {
        Ok(Reply::SiteEnrolled { provisioning, file }) => {
            let name = format!("{}.cairn-join.json", slug(&provisioning.site.name));
            let job = web
                .jobs
                .hold(&super::operate::owner(&s.actor), name, file.into_bytes());
            let body = html! {
                p.msg.done role="status" #admitted { (tr.a("site-admitted", &[("name", provisioning.site.name.clone())])) }
                p { (tr.t("site-admitted-help")) }
                div.actions {
                    a.button #download-provisioning href=(format!("/staff/download/{job}")) download { (tr.t("download-provisioning")) }
                    a.button.secondary href="/hub/sites" { (tr.t("back")) }
                }
            };
            web.page(&s, tr.t("site-admit-title"), None, body)
        }
        Ok(_) => Redirect::to("/hub/sites").into_response(),
        Err(e) => web.refused(&s, &e, "/hub/sites"),
    }
}

/// A file name from a site's name.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out: String = out.trim_end_matches('-').chars().take(40).collect();
    if out.is_empty() { "site".into() } else { out }
}

async fn revoke(State(web): State<Shared>, Signed(s): Signed, body: Bytes) -> Response {
    let f = Pairs::parse(&body);
    if let Some(r) = forged(&s, &f.token()) {
        return r;
    }
    let site = f.get("site").unwrap_or_default();
    let reason = f
        .get(&format!("reason-{site}"))
        .or_else(|| f.get("reason"))
        .unwrap_or_default();
    match web.ask(&s.actor, Request::SiteRevoke { site, reason }) {
        Ok(_) => Redirect::to("/hub/sites?done=site-revoked").into_response(),
        Err(e) => web.refused(&s, &e, "/hub/sites"),
    }
}

/// A learner's name and number, for the reconcile queue.
fn who(web: &Shared, s: &Session, id: &str) -> String {
    match web.ask(&s.actor, Request::LearnerShow { learner: id.into() }) {
        Ok(Reply::Learner(r)) => format!("{} ({})", r.profile.full_name(), r.profile.number),
        _ => id.to_string(),
    }
}

/// A field's path in words: the codebook field's name when it is one.
fn field_words(tr: &Tr, path: &[String]) -> String {
    let last = path.last().map(|p| p.replace('_', "-")).unwrap_or_default();
    let key = format!("field-{last}");
    if i18n::has(&key) {
        tr.t(&key)
    } else {
        path.join(".")
    }
}

/// A value as a person reads it: text as itself, anything else as JSON.
fn value_words(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `GET /hub/reconcile`.
async fn reconcile(
    State(web): State<Shared>,
    Signed(s): Signed,
    Query(n): Query<Notice>,
) -> Response {
    let tr = Tr::new(s.lang);
    let list: ReconcileList = match web.ask(&s.actor, Request::ReconcileList) {
        Ok(Reply::Reconcile(l)) => l,
        Ok(_) => return web.problem(&s, &Error::storage_msg("no list came back")),
        Err(e) => return web.problem(&s, &e),
    };
    let sites: BTreeMap<String, String> = match web.ask(&s.actor, Request::SiteList) {
        Ok(Reply::Sites { sites }) => sites
            .into_iter()
            .map(|x| (x.site.node, x.site.name))
            .collect(),
        _ => BTreeMap::new(),
    };
    let site_name = |id: &str| sites.get(id).cloned().unwrap_or_else(|| id.to_string());
    let body = html! {
        @if list.open() == 0 { section { (empty(&tr.t("reconcile-empty"))) } }
        @if !list.duplicates.is_empty() {
            h2 { (tr.t("duplicates-title")) }
            p { (tr.t("duplicates-help")) }
            @for d in &list.duplicates {
                @let (a, b) = (&d.learners[0], &d.learners[1]);
                section.card.duplicate {
                    ul {
                        li { (who(&web, &s, a)) " · " (site_name(&d.home_sites[0])) }
                        li { (who(&web, &s, b)) " · " (site_name(&d.home_sites[1])) }
                    }
                    div.actions {
                        (button_form("/hub/reconcile", &s.csrf, &[("action", "merge"), ("keep", a), ("duplicate", b)], &tr.a("merge-keep", &[("name", who(&web, &s, a))]), ""))
                        (button_form("/hub/reconcile", &s.csrf, &[("action", "merge"), ("keep", b), ("duplicate", a)], &tr.a("merge-keep", &[("name", who(&web, &s, b))]), "secondary"))
                    }
                }
            }
        }
        @if !list.conflicts.is_empty() {
            h2 { (tr.t("conflicts-title")) }
            p { (tr.t("conflicts-help")) }
            @for (i, c) in list.conflicts.iter().enumerate() {
                section.card.conflict {
                    h3 { (who(&web, &s, &c.learner)) " — " (field_words(&tr, &c.path)) }
                    form method="post" action="/hub/reconcile" {
                        (csrf(&s.csrf))
                        input type="hidden" name="action" value="pick";
                        input type="hidden" name="learner" value=(c.learner);
                        input type="hidden" name="field" value=(c.path.join("."));
                        fieldset {
                            legend { (tr.t("pick-value")) }
                            @for (j, v) in c.values.iter().enumerate() {
                                label for=(format!("c{i}-{j}")) {
                                    input type="radio" id=(format!("c{i}-{j}")) name="value" value=(v.to_string()) required checked[j == 0];
                                    (value_words(v))
                                }
                            }
                        }
                        button { (tr.t("pick")) }
                    }
                }
            }
        }
        @if !list.concurrent_assessments.is_empty() {
            h2 { (tr.t("assessments-title")) }
            p { (tr.t("assessments-help")) }
            @for c in &list.concurrent_assessments {
                section.card {
                    h3 { (who(&web, &s, &c.learner)) }
                    ul { @for a in &c.assessments {
                        li {
                            (words::decision(&tr, a.decision)) " · "
                            (a.assessor.as_ref().and_then(|x| x.name.clone()).unwrap_or_default()) " · "
                            (tr.date_in_words(&a.at)) " "
                            (button_form("/hub/reconcile", &s.csrf, &[("action", "accept"), ("assessment", &a.id)], &tr.t("accept"), "secondary"))
                        }
                    } }
                }
            }
        }
        @if !list.forks.is_empty() {
            h2 { (tr.t("forks-title")) }
            p { (tr.t("forks-help")) }
            ul { @for f in &list.forks { li { (site_name(&f.origin)) " · " (tr.a("fork-at", &[("epoch", f.epoch.to_string()), ("seq", f.seq.to_string())])) } } }
        }
        @if !list.revoked_sites.is_empty() {
            h2 { (tr.t("revoked-title")) }
            @for r in &list.revoked_sites {
                section.card {
                    h3 { (r.name) }
                    p { (tr.a("revoked-learners", &[("count", r.learners_homed.to_string()), ("reason", r.reason.clone())])) }
                    p { a href="/staff/learners" { (tr.t("revoked-transfer")) } }
                }
            }
        }
    };
    web.page(&s, tr.t("reconcile-title"), n.flash(&tr), body)
}

/// `POST /hub/reconcile`: settle one item.
async fn settle(State(web): State<Shared>, Signed(s): Signed, body: Bytes) -> Response {
    let f = Pairs::parse(&body);
    if let Some(r) = forged(&s, &f.token()) {
        return r;
    }
    let g = |k: &str| f.get(k).unwrap_or_default();
    let settle = match f.get("action").as_deref() {
        Some("merge") => Settle::Merge {
            keep: g("keep"),
            duplicate: g("duplicate"),
        },
        Some("pick") => Settle::Pick {
            learner: g("learner"),
            field: g("field"),
            value: g("value"),
        },
        Some("accept") => Settle::Accept {
            assessment: g("assessment"),
        },
        _ => return web.refused(&s, &Error::invalid("nothing to settle"), "/hub/reconcile"),
    };
    match web.ask(&s.actor, Request::Reconcile { settle }) {
        Ok(_) => Redirect::to("/hub/reconcile?done=settled").into_response(),
        Err(e) => web.refused(&s, &e, "/hub/reconcile"),
    }
}

/// The charts the reports page shows, from the outcomes report.
fn charts(tr: &Tr, report: &OutcomesReport, names: &dyn Fn(&str, &str) -> String) -> Markup {
    let all = |r: &&crate::domain::reports::Rate| r.group == "all learners";
    // Completion by program: each program's pathways.
    let mut programs: BTreeMap<&str, Vec<Bar>> = BTreeMap::new();
    for r in report
        .rows
        .iter()
        .filter(|r| r.scope == "program")
        .filter(all)
    {
        programs
            .entry(&r.program)
            .or_default()
            .push(Bar::of(names(&r.pathway, &r.pathway_name), r));
    }
    // Completion by site: each pathway's sites.
    let mut by_site: BTreeMap<String, Vec<Bar>> = BTreeMap::new();
    for r in report.rows.iter().filter(|r| r.scope == "site").filter(all) {
        by_site
            .entry(names(&r.pathway, &r.pathway_name))
            .or_default()
            .push(Bar::of(r.site.clone().unwrap_or_default(), r));
    }
    // Equity: each pathway, everyone beside learners impacted by poverty and BIPOC learners.
    let mut equity: BTreeMap<String, Vec<Bar>> = BTreeMap::new();
    for r in report.rows.iter().filter(|r| r.scope == "program") {
        let group = match r.group.as_str() {
            "all learners" => tr.t("group-all"),
            "impacted by poverty" => tr.t("group-poverty"),
            "BIPOC" => tr.t("group-bipoc"),
            other => other.to_string(),
        };
        equity
            .entry(names(&r.pathway, &r.pathway_name))
            .or_default()
            .push(Bar::of(group, r));
    }
    let small = report.small_group_below;
    html! {
        h2 { (tr.t("chart-by-program")) }
        @for (i, (program, bars)) in programs.iter().enumerate() {
            (chart(tr, &format!("program-{i}"), program, bars, small))
        }
        h2 { (tr.t("chart-by-site")) }
        @for (i, (pathway, bars)) in by_site.iter().enumerate() {
            (chart(tr, &format!("site-{i}"), pathway, bars, small))
        }
        h2 { (tr.t("chart-by-group")) }
        p { (tr.t("chart-by-group-help")) }
        @for (i, (pathway, bars)) in equity.iter().enumerate() {
            (chart(tr, &format!("group-{i}"), pathway, bars, small))
        }
    }
}

/// `GET /hub/reports`.
async fn reports(State(web): State<Shared>, Signed(s): Signed) -> Response {
    let tr = Tr::new(s.lang);
    let report = match web.ask(&s.actor, Request::ReportOutcomes) {
        Ok(Reply::Outcomes(r)) => r,
        Ok(_) => return web.problem(&s, &Error::storage_msg("no report came back")),
        Err(e) => return web.problem(&s, &e),
    };
    let catalog = super::staff::catalog(&web, &s);
    let names = |id: &str, fallback: &str| {
        if catalog.pathways.contains_key(id) {
            words::catalog_name(&tr, &catalog, id)
        } else {
            fallback.to_string()
        }
    };
    let body = html! {
        section {
            h2 { (tr.t("codebook-title")) }
            p { (tr.a("codebook-help", &[("count", report.learners.to_string())])) }
            @if allows(Operation::ReportCodebook, &s.actor) {
                a.button #codebook href="/hub/reports/codebook.csv" download { (tr.t("codebook-download")) }
            }
        }
        @if report.rows.is_empty() { section { (empty(&tr.t("reports-empty"))) } }
        @else { (charts(&tr, &report, &names)) }
    };
    web.page(&s, tr.t("reports-title"), None, body)
}

/// `GET /hub/reports/codebook.csv`.
async fn codebook(State(web): State<Shared>, Signed(s): Signed) -> Response {
    let mut files = WebFiles::default();
    match web.perform(&s.actor, Request::ReportCodebook, &mut files) {
        Ok(_) => {
            let name = format!("codebook-{}.csv", words::date(&crate::clock::now_rfc3339()));
            download(&name, "text/csv; charset=utf-8", files.download)
        }
        Err(e) => web.problem(&s, &e),
    }
}
