//! Replies in words (and as the `result` of `--json`). The same rendering whether the command
//! opened the store itself or a running node performed it.

use super::Output;
use super::plan::{Download, Plan};
use crate::app::Reply;
use crate::app::request::CatalogItem;
use crate::domain::lifecycle::AwardKind;
use crate::domain::reports::SMALL_GROUP;
use crate::domain::text::printable;
use crate::records::learner::{Decision, LearnerRecord, Settled};
use serde_json::{Value as Json, json};
use std::fmt::Write as _;

fn value(reply: &Reply) -> Json {
    serde_json::to_value(reply)
        .ok()
        .and_then(|mut v| v.get_mut("value").map(Json::take))
        .unwrap_or(Json::Null)
}

fn decision(d: Decision) -> &'static str {
    match d {
        Decision::Proficient => "proficient",
        Decision::NotYet => "not-yet",
    }
}

/// "3 minutes ago", "never".
pub fn describe_time(ms: Option<u64>) -> String {
    let Some(ms) = ms else { return "never".into() };
    let ago = crate::clock::now_ms().saturating_sub(ms) / 1000;
    match ago {
        0..=59 => format!("{ago} s ago"),
        60..=3599 => format!("{} min ago", ago / 60),
        3600..=172_799 => format!("{} h ago", ago / 3600),
        _ => format!("{} days ago", ago / 86_400),
    }
}

fn out_path(plan: &Plan) -> String {
    match (&plan.out, &plan.download) {
        (Some(p), _) | (None, Some(Download::File(p))) | (None, Some(Download::Folder(p))) => {
            p.display().to_string()
        }
        (None, None) => String::new(),
    }
}

/// The output of a reply to `plan` (a store found unsound is an error: exit status 4).
pub fn render(plan: &Plan, reply: &Reply) -> crate::error::Result<Output> {
    let out = out_path(plan);
    let mut json = value(reply);
    let mut code = 0;
    let text = match reply {
        Reply::Identity(i) => i.id.clone(),
        Reply::Status(s) => {
            let mut t = String::new();
            let _ = writeln!(t, "{} \"{}\"", s.role, s.name);
            let _ = writeln!(t, "Node id: {} (epoch {})", s.id, s.epoch);
            if let Some(h) = &s.hub {
                let _ = writeln!(
                    t,
                    "Hub: {} ({}) at {}",
                    h.name,
                    h.id,
                    h.address
                        .as_deref()
                        .unwrap_or("no address: USB bundles only")
                );
            }
            let _ = writeln!(
                t,
                "Service: {}",
                if s.running {
                    "running (this answer came from it)"
                } else {
                    "not running"
                }
            );
            let _ = writeln!(t, "Learners: {}", s.learners);
            let _ = writeln!(
                t,
                "Entries held: {} in {} feed(s)",
                s.entries,
                s.feeds.len()
            );
            for p in &s.peers {
                let _ = writeln!(
                    t,
                    "Peer {}{}: last sync {}, known to hold {} entries, {} of ours pending{}",
                    p.id.get(..7).unwrap_or(&p.id),
                    p.name
                        .as_deref()
                        .map(|n| format!(" ({n})"))
                        .unwrap_or_default(),
                    describe_time(p.last_success_ms),
                    p.known_entries,
                    p.pending_own_entries,
                    match p.last_outcome.as_deref() {
                        Some("complete") | None => String::new(),
                        Some(o) => format!(" (last attempt: {o})"),
                    }
                );
            }
            if s.rebuild_advised {
                let _ = writeln!(
                    t,
                    "Derived state: built in part by an earlier release; `cairn rebuild` brings it up to this one (syncs with sites then read less)"
                );
            }
            for e in &s.own_forked_epochs {
                let _ = writeln!(
                    t,
                    "WARNING: this node's feed of epoch {e} forked (it was restored and wrote again); entries it wrote there after the fork are kept here but the hub refused them; see the runbook"
                );
            }
            for f in &s.forks {
                let _ = writeln!(
                    t,
                    "FORK: {} epoch {} signed two different entries at {}; frozen",
                    f.origin, f.epoch, f.seq
                );
            }
            t
        }
        Reply::Checked(report) => {
            if report.ok() {
                format!(
                    "The store is sound: {} feed(s), {} entries, {} elided range(s), {} document(s) verified.",
                    report.feeds, report.entries, report.elided_ranges, report.documents
                )
            } else {
                return Err(crate::error::Error::storage_msg(format!(
                    "the store has {} problem(s):\n  - {}",
                    report.problems.len(),
                    report.problems.join("\n  - ")
                )));
            }
        }
        Reply::Rebuilt(r) => format!(
            "Rebuilt {} document(s) from {} entries in {} feed(s).",
            r.documents, r.entries, r.feeds
        ),
        Reply::BackedUp { bytes, .. } => {
            json = json!({"out": out, "bytes": bytes});
            format!(
                "Backed up the node ({:.1} MB) to {out}. Keep it somewhere safe: it holds the node's key.",
                *bytes as f64 / 1e6
            )
        }
        Reply::Audit { events } => {
            let mut t = String::new();
            for e in events.iter().rev() {
                let kind = |v: Json| v.as_str().map(str::to_string).unwrap_or_default();
                let _ = writeln!(
                    t,
                    "{}  {:<16} {:<12} {:<20} {:<16} {}",
                    crate::clock::rfc3339(e.at_ms),
                    kind(serde_json::to_value(e.event).unwrap_or_default()),
                    kind(serde_json::to_value(e.channel).unwrap_or_default()),
                    printable(e.account.as_deref().unwrap_or("-")),
                    e.address.as_deref().unwrap_or("-"),
                    printable(e.detail.as_deref().unwrap_or("")),
                );
            }
            if events.is_empty() {
                t = "The audit trail is empty.".into();
            }
            t
        }
        Reply::Conflicts { documents } => {
            let mut t = String::new();
            for d in documents {
                for c in &d.conflicts {
                    let values: Vec<String> = c.values.iter().map(|v| v.to_string()).collect();
                    let _ = writeln!(
                        t,
                        "{} {}: {}",
                        d.document,
                        c.path.join("."),
                        values.join(" | ")
                    );
                }
            }
            if t.is_empty() {
                t = "No conflicts: every value has a single version.".into();
            }
            t
        }
        Reply::User(u) => format!(
            "{} ({}) is {}{}.",
            u.name,
            u.roles_text(),
            u.id,
            if u.active { "" } else { ", deactivated" }
        ),
        Reply::Users { users } => {
            let mut t = String::new();
            for u in users {
                let _ = writeln!(
                    t,
                    "{:<20} {:<32} {}{}",
                    u.name,
                    u.roles_text(),
                    u.id,
                    if u.active { "" } else { " (deactivated)" }
                );
            }
            if users.is_empty() {
                t = "No users yet. Add the first admin with `cairn user add --name NAME --role admin`.".into();
            }
            t
        }
        Reply::Catalog(c) => {
            let mut t = String::new();
            let _ = writeln!(t, "Achievements ({}):", c.achievements.len());
            for a in c.achievements.values() {
                let level = a.level.map(|l| format!("level {l}")).unwrap_or_default();
                let _ = writeln!(t, "  {:<28} {} {}", a.id, a.name, level);
            }
            let _ = writeln!(t, "Pathways ({}):", c.pathways.len());
            for p in c.pathways.values() {
                let _ = writeln!(t, "  {:<28} {} = {}", p.id, p.name, p.parts.join(" + "));
            }
            let _ = writeln!(t, "Recognitions ({}):", c.recognitions.len());
            for r in c.recognitions.values() {
                let _ = writeln!(
                    t,
                    "  {:<28} {}: {} ({})",
                    r.id, r.target, r.description, r.recognizer
                );
            }
            t
        }
        Reply::CatalogItem(item) => {
            json = match item {
                CatalogItem::Achievement(a) => serde_json::to_value(a),
                CatalogItem::Pathway(p) => serde_json::to_value(p),
                CatalogItem::Recognition(r) => serde_json::to_value(r),
            }
            .unwrap_or_default();
            match item {
                CatalogItem::Achievement(a) => format!("Added achievement {} ({}).", a.id, a.name),
                CatalogItem::Pathway(p) => {
                    format!(
                        "Added pathway {} ({}): {}.",
                        p.id,
                        p.name,
                        p.parts.join(" + ")
                    )
                }
                CatalogItem::Recognition(r) => format!(
                    "Added recognition {}: {} by {}.",
                    r.id, r.description, r.recognizer
                ),
            }
        }
        Reply::LearnerAdded(l) => {
            format!("Registered {} (number {}) as {}.", l.name, l.number, l.id)
        }
        Reply::LearnersImported(i) => format!(
            "Registered {} learners ({} with a kiosk PIN), {} to {}.",
            i.registered,
            i.with_pin,
            i.learners.first().map_or("", |l| l.id.as_str()),
            i.learners.last().map_or("", |l| l.id.as_str()),
        ),
        Reply::Learner(r) => learner_text(r),
        Reply::Learners { learners } => {
            let mut t = String::new();
            for l in learners {
                let _ = writeln!(
                    t,
                    "{:<16} {:<12} {:<28} {} enrollment(s), {} award(s)",
                    l.id, l.number, l.name, l.enrollments, l.awards
                );
            }
            if learners.is_empty() {
                t = "No learners here yet.".into();
            }
            t
        }
        Reply::LearnerEdited(e) => format!(
            "Updated {}{}.",
            e.id,
            if e.pin_reset { " (new PIN)" } else { "" }
        ),
        Reply::Transferred(t) => format!("Transferred {} to {}.", t.learner, t.to),
        Reply::Enrolled(e) => format!("Enrolled in {}: {}", e.achievement, e.id),
        Reply::EvidenceSubmitted(v) => format!(
            "Submitted evidence {} for {} ({} file(s)).",
            v.id,
            v.enrollment,
            v.files.len()
        ),
        Reply::EvidenceFile(f) => {
            json = json!({"sha256": f.sha256, "bytes": f.size, "name": f.name, "media_type": f.media_type, "out": out});
            format!("Wrote {} ({} bytes) to {out}.", f.name, f.size)
        }
        Reply::Assessed(s) => format!(
            "Assessed {}: {}. ({})",
            s.evidence,
            decision(s.decision),
            s.id
        ),
        Reply::Awarded { awards } => {
            let mut t = String::new();
            for a in awards {
                let what = match a.kind {
                    AwardKind::Pathway { .. } => "Micro-credential",
                    AwardKind::Recognition { .. } => "Recognition",
                    AwardKind::Achievement { .. } => "Badge",
                };
                let _ = writeln!(t, "{what} awarded: {} ({})", a.name, a.id);
            }
            if let Some(first) = awards.first() {
                let _ = write!(
                    t,
                    "Each award's Open Badges credential is signed. Export one with\n  cairn credential export {} --out credential.json",
                    first.id
                );
            }
            t
        }
        Reply::OutcomeRecorded(o) => format!("Recorded outcome {}.", o.id),
        Reply::Credential { what, credential } => {
            json =
                json!({"out": out, "credential": crate::domain::credentials::summary(credential)});
            format!(
                "Wrote {what} to {out}.\nAnyone can check it offline: cairn credential verify {out}"
            )
        }
        Reply::Verification(v) => {
            let mut t = String::new();
            super::credential::describe(v, 0, &mut t);
            if !v.is_valid() || v.identity_matches == Some(false) {
                code = 3;
            }
            t
        }
        Reply::VerifierPage { programs, .. } => {
            json = json!({"out": out, "programs": programs});
            let trusts = if programs.is_empty() {
                "It trusts no program: it checks signatures only (name one with --program)."
                    .to_string()
            } else {
                format!(
                    "It trusts {}.",
                    programs
                        .iter()
                        .map(|p| format!("{} ({})", crate::domain::text::printable(&p.name), p.id))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            format!(
                "Wrote the offline verifier page to {out}. Host it at the program's verifier_url, or hand it out: it needs no network.\n{trusts}"
            )
        }
        Reply::Certificate { .. } => {
            json = json!({"out": out});
            format!(
                "Wrote the certificate to {out}. Open it in a browser and print it; it carries the signed credential inside."
            )
        }
        Reply::SiteEnrolled {
            provisioning: p, ..
        } => {
            json = json!({"provisioning": p, "out": out});
            let file = plan
                .out
                .as_ref()
                .and_then(|o| o.file_name())
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            format!(
                "Admitted {} ({}).\nProvisioning file: {out}\nAt the site, run: cairn join {file}\n{}",
                p.site.name,
                p.site.id,
                match &p.hub.address {
                    Some(a) => format!("The site will reach this hub at {a}."),
                    None => "No hub address recorded: the site will sync by USB bundle (or pass --address).".into(),
                }
            )
        }
        Reply::SiteRevoked { revoked, .. } => {
            format!("Revoked {revoked}: its next connection or bundle will be refused.")
        }
        Reply::Sites { sites } => {
            let mut t = String::new();
            for s in sites {
                let _ = writeln!(
                    t,
                    "{:<32} {:<9} last sync: {}  {}",
                    s.site.name,
                    if s.site.revoked.is_some() {
                        "revoked"
                    } else {
                        "admitted"
                    },
                    describe_time(s.last_success_ms),
                    s.site.node
                );
            }
            if sites.is_empty() {
                t = "No sites admitted yet: `cairn site enroll --site-id ID --name NAME --out FILE`.".into();
            }
            t
        }
        Reply::Joined { hub } => format!(
            "This site now trusts hub \"{}\".\nHub id: {}\nCheck that id with the hub operator before syncing.\n{}",
            hub.name,
            hub.id,
            match &hub.address {
                Some(a) =>
                    format!("Sync with `cairn sync --once` (hub at {a}) or keep `cairn run` going."),
                None =>
                    "The hub has no network address: exchange USB bundles (`cairn bundle export`)."
                        .into(),
            }
        ),
        Reply::BundleExported(r) => format!(
            "Wrote bundle #{} for {} to {out}: {} entries, {:.1} MB{}.\nCarry it to the other side and run `cairn bundle import FILE` there.",
            r.seq,
            r.to,
            r.entries,
            r.bytes as f64 / 1e6,
            if r.receipt {
                ", with a receipt for the last bundle received"
            } else {
                ""
            }
        ),
        Reply::BundleImported(r) => {
            let mut t = format!(
                "Imported bundle #{} from {}: {} new entries ({} already held).\nA receipt goes back with this node's next bundle.",
                r.seq, r.from, r.stored, r.duplicates
            );
            if let Some(epoch) = r.new_epoch {
                let _ = write!(
                    t,
                    "\nThe hub holds more of this node's own records than its store did (restored from an older copy?): it now writes under epoch {epoch}, and its next bundle asks the hub for what was lost."
                );
            }
            for f in &r.forks {
                let _ = write!(t, "\nWARNING: {f}");
            }
            for x in &r.refused {
                let _ = write!(
                    t,
                    "\nNot applied: {x} (if this node was restored from a backup, ask for a bundle made with --full)"
                );
            }
            t
        }
        Reply::Synced(r) => {
            let mut t = format!(
                "Synced with the hub: received {} entries, sent {} ({} messages, {:.1} KB).",
                r.progress.received,
                r.progress.sent,
                r.messages,
                (r.progress.bytes_received + r.progress.bytes_sent) as f64 / 1000.0
            );
            if let Some(e) = r.new_epoch {
                let _ = write!(
                    t,
                    "\nThe hub held more of this node's feed than its store: this node was restored from an older copy. It now writes under epoch {e}; nothing was lost."
                );
            }
            for f in &r.forks {
                let _ = write!(t, "\nWARNING: {f}");
            }
            t
        }
        Reply::Reconcile(open) => reconcile_text(open),
        Reply::Resolution(r) => {
            let what = match &r.settled {
                Settled::Merge { kept, duplicate } => format!("Merged {duplicate} into {kept}."),
                Settled::PickValue { path, value } => format!("{path} is now {value}."),
                Settled::AcceptAssessment {
                    assessment,
                    decision: d,
                    ..
                } => {
                    format!("Accepted {assessment} ({}).", decision(*d))
                }
            };
            format!(
                "{what}\nRecorded as a signed resolution; it reaches the sites concerned with their next sync or bundle."
            )
        }
        Reply::Codebook { rows } => {
            json = json!({"out": out, "rows": rows});
            format!("Wrote {rows} learner row(s) to {out}.")
        }
        Reply::Outcomes(r) => {
            let mut t = format!(
                "{:<28} {:<24} {:<20} {:>9} {:>9} {:>7}\n",
                "pathway", "scope", "group", "attempted", "completed", "rate"
            );
            for row in &r.rows {
                let scope = match &row.site {
                    Some(s) => format!("site: {s}"),
                    None => format!("program: {}", row.program),
                };
                let _ = writeln!(
                    t,
                    "{:<28} {:<24} {:<20} {:>9} {:>9} {:>7}{}",
                    row.pathway_name,
                    scope.chars().take(24).collect::<String>(),
                    row.group,
                    row.attempted,
                    row.completed,
                    row.rate
                        .map_or("-".into(), |x| format!("{:.0}%", x * 100.0)),
                    if row.small_group {
                        "  (small group)"
                    } else {
                        ""
                    }
                );
            }
            let _ = write!(
                t,
                "Rates are completed / attempted. Groups under {SMALL_GROUP} learners are flagged: read them with care."
            );
            t
        }
        Reply::SiteStanding { sites } => {
            let mut t = String::new();
            for s in sites {
                let _ = writeln!(
                    t,
                    "{}{}: last contact {}, {} entries behind, {} evidence file(s) pending, {} session(s) on record",
                    s.name,
                    if s.revoked.is_some() {
                        " (REVOKED)"
                    } else {
                        ""
                    },
                    s.days_since_contact
                        .map_or("never".into(), |d| format!("{d} day(s) ago")),
                    s.entries_behind,
                    s.pending_evidence_files,
                    s.history.len(),
                );
            }
            if t.is_empty() {
                t = "No sites admitted yet.".into();
            }
            t
        }
    };
    Ok(Output { json, text, code })
}

fn reconcile_text(open: &crate::app::reply::ReconcileList) -> String {
    let mut t = String::new();
    for d in &open.duplicates {
        let _ = writeln!(
            t,
            "DUPLICATE? {} and {} (same {}) -> cairn reconcile merge --keep {} --duplicate {}",
            d.learners[0], d.learners[1], d.because, d.learners[0], d.learners[1]
        );
    }
    for c in &open.conflicts {
        let path = c.path.join(".");
        let values: Vec<String> = c.values.iter().map(|v| v.to_string()).collect();
        let _ = writeln!(
            t,
            "CONFLICT {} {path}: [{}] -> cairn reconcile pick --learner {} --field {path} --value VALUE",
            c.learner,
            values.join(","),
            c.learner
        );
    }
    for a in &open.concurrent_assessments {
        let choices: Vec<String> = a
            .assessments
            .iter()
            .map(|x| format!("{} {}", x.id, decision(x.decision)))
            .collect();
        let _ = writeln!(
            t,
            "CONCURRENT ASSESSMENTS of {} ({}): {} -> cairn reconcile accept S-…",
            a.evidence,
            a.learner,
            choices.join(", ")
        );
    }
    for f in &open.forks {
        let _ = writeln!(
            t,
            "FROZEN FEED {} epoch {} forked at {}: entries after the fork stay at that site",
            f.origin, f.epoch, f.seq
        );
    }
    for s in &open.revoked_sites {
        let _ = writeln!(
            t,
            "REVOKED SITE {} ({}): {} learner(s) still homed there; {}",
            s.name, s.reason, s.learners_homed, s.note
        );
    }
    if open.open() == 0 {
        t = "Nothing to reconcile.".into();
    }
    t
}

fn learner_text(r: &LearnerRecord) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{} — number {} — {}",
        r.profile.full_name(),
        r.profile.number,
        r.id
    );
    let _ = writeln!(t, "Enrollments ({}):", r.enrollments.len());
    for e in r.enrollments.values() {
        let _ = writeln!(
            t,
            "  {} {} — {} (attempts: {})",
            e.id,
            e.achievement,
            match e.status {
                crate::records::learner::EnrollmentState::Enrolled => "enrolled",
                crate::records::learner::EnrollmentState::Completed => "completed",
            },
            e.attempts
        );
    }
    let _ = writeln!(t, "Evidence ({}):", r.evidence.len());
    for v in r.evidence.values() {
        let _ = writeln!(
            t,
            "  {} for {} — {} file(s)",
            v.id,
            v.enrollment,
            v.files.len()
        );
    }
    let _ = writeln!(t, "Assessments ({}):", r.assessments.len());
    for s in r.assessments.values() {
        let _ = writeln!(t, "  {} of {}: {}", s.id, s.evidence, decision(s.decision));
    }
    let _ = writeln!(t, "Awards ({}):", r.awards.len());
    for a in r.awards.values() {
        let kind = match a.kind {
            AwardKind::Achievement { .. } => "achievement",
            AwardKind::Pathway { .. } => "pathway",
            AwardKind::Recognition { .. } => "recognition",
        };
        let _ = writeln!(t, "  {} {} ({kind})", a.id, a.name);
    }
    let _ = writeln!(t, "Outcomes ({}):", r.outcomes.len());
    for o in r.outcomes.values() {
        let kind = serde_json::to_value(o.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let _ = writeln!(t, "  {} {kind} {}", o.id, o.detail.as_deref().unwrap_or(""));
    }
    for u in &r.unreadable {
        let _ = writeln!(t, "Unreadable here (kept as written): {u}");
    }
    t
}
