//! `cairn reconcile` and `cairn report`: the hub operator's commands.

use super::Output;
use super::args::{ReconcileCommand, ReportCommand};
use crate::domain::people::{Actor, Role};
use crate::domain::{reconcile, reports};
use crate::error::{Error, Result};
use crate::node::Node;
use serde_json::{Value as Json, json};
use std::fmt::Write as _;

/// `cairn reconcile [merge|pick|accept]`.
pub fn reconcile(node: &Node, actor: &Actor, action: Option<ReconcileCommand>) -> Result<Output> {
    let done = |r: Json, what: String| {
        Ok(Output::new(
            r,
            format!(
                "{what}\nRecorded as a signed resolution; it reaches the sites concerned with their next sync or bundle."
            ),
        ))
    };
    match action {
        None => {
            actor.require(&[Role::Admin], "reviewing records to reconcile")?;
            let open = reconcile::list(node)?;
            let mut t = String::new();
            let count = |k: &str| open[k].as_array().map_or(0, Vec::len);
            for d in open["duplicates"].as_array().into_iter().flatten() {
                let _ = writeln!(
                    t,
                    "DUPLICATE? {} and {} (same {}) -> cairn reconcile merge --keep {} --duplicate {}",
                    d["learners"][0].as_str().unwrap_or(""),
                    d["learners"][1].as_str().unwrap_or(""),
                    d["because"].as_str().unwrap_or(""),
                    d["learners"][0].as_str().unwrap_or(""),
                    d["learners"][1].as_str().unwrap_or("")
                );
            }
            for c in open["conflicts"].as_array().into_iter().flatten() {
                let path: Vec<&str> = c["path"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Json::as_str)
                    .collect();
                let _ = writeln!(
                    t,
                    "CONFLICT {} {}: {} -> cairn reconcile pick --learner {} --field {} --value VALUE",
                    c["learner"].as_str().unwrap_or(""),
                    path.join("."),
                    c["values"],
                    c["learner"].as_str().unwrap_or(""),
                    path.join(".")
                );
            }
            for a in open["concurrent_assessments"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let choices: Vec<String> = a["assessments"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|x| {
                        format!(
                            "{} {}",
                            x["id"].as_str().unwrap_or(""),
                            x["decision"].as_str().unwrap_or("")
                        )
                    })
                    .collect();
                let _ = writeln!(
                    t,
                    "CONCURRENT ASSESSMENTS of {} ({}): {} -> cairn reconcile accept S-…",
                    a["evidence"].as_str().unwrap_or(""),
                    a["learner"].as_str().unwrap_or(""),
                    choices.join(", ")
                );
            }
            for f in open["forks"].as_array().into_iter().flatten() {
                let _ = writeln!(
                    t,
                    "FROZEN FEED {} epoch {} forked at {}: entries after the fork stay at that site",
                    f["origin"].as_str().unwrap_or(""),
                    f["epoch"],
                    f["seq"]
                );
            }
            for s in open["revoked_sites"].as_array().into_iter().flatten() {
                let _ = writeln!(
                    t,
                    "REVOKED SITE {} ({}): {} learner(s) still homed there; {}",
                    s["name"].as_str().unwrap_or(""),
                    s["reason"].as_str().unwrap_or(""),
                    s["learners_homed"],
                    s["note"].as_str().unwrap_or("")
                );
            }
            let total: usize = [
                "duplicates",
                "conflicts",
                "concurrent_assessments",
                "forks",
                "revoked_sites",
            ]
            .iter()
            .map(|k| count(k))
            .sum();
            if total == 0 {
                t = "Nothing to reconcile.".into();
            }
            Ok(Output::new(open, t))
        }
        Some(ReconcileCommand::Merge { keep, duplicate }) => {
            let r = reconcile::merge(node, actor, &keep, &duplicate)?;
            done(r, format!("Merged {duplicate} into {keep}."))
        }
        Some(ReconcileCommand::Pick {
            learner,
            field,
            value,
        }) => {
            let r = reconcile::pick(node, actor, &learner, &field, &value)?;
            done(r, format!("{learner} {field} is now {value}."))
        }
        Some(ReconcileCommand::Accept { assessment }) => {
            let r = reconcile::accept(node, actor, &assessment)?;
            done(
                r.clone(),
                format!(
                    "Accepted {assessment} ({}).",
                    r["decision"].as_str().unwrap_or("")
                ),
            )
        }
    }
}

/// `cairn report codebook|outcomes|sites`.
pub fn report(node: &Node, actor: &Actor, cmd: ReportCommand) -> Result<Output> {
    actor.require(&[Role::Admin], "reports")?;
    match cmd {
        ReportCommand::Codebook { out } => {
            let tmp = out.with_extension("partial");
            let file = std::fs::File::create(&tmp)
                .map_err(|e| Error::storage(&format!("cannot write {}", out.display()), e))?;
            let mut w = std::io::BufWriter::new(file);
            let rows = reports::codebook(node, &mut w)?;
            drop(w);
            std::fs::rename(&tmp, &out)
                .map_err(|e| Error::storage(&format!("cannot write {}", out.display()), e))?;
            Ok(Output::new(
                json!({"out": out, "rows": rows}),
                format!("Wrote {rows} learner row(s) to {}.", out.display()),
            ))
        }
        ReportCommand::Outcomes => {
            let r = reports::outcomes(node)?;
            let mut t = format!(
                "{:<28} {:<24} {:<20} {:>9} {:>9} {:>7}\n",
                "pathway", "scope", "group", "attempted", "completed", "rate"
            );
            for row in r["rows"].as_array().into_iter().flatten() {
                let scope = match row["site"].as_str() {
                    Some(s) => format!("site: {s}"),
                    None => format!("program: {}", row["program"].as_str().unwrap_or("")),
                };
                let _ = writeln!(
                    t,
                    "{:<28} {:<24} {:<20} {:>9} {:>9} {:>7}{}",
                    row["pathway_name"].as_str().unwrap_or(""),
                    scope.chars().take(24).collect::<String>(),
                    row["group"].as_str().unwrap_or(""),
                    row["attempted"],
                    row["completed"],
                    row["rate"]
                        .as_f64()
                        .map_or("-".into(), |x| format!("{:.0}%", x * 100.0)),
                    if row["small_group"] == true {
                        "  (small group)"
                    } else {
                        ""
                    }
                );
            }
            let _ = write!(
                t,
                "Rates are completed / attempted. Groups under {} learners are flagged: read them with care.",
                reports::SMALL_GROUP
            );
            Ok(Output::new(r, t))
        }
        ReportCommand::Sites => {
            let r = reports::sites(node)?;
            let mut t = String::new();
            for s in r["sites"].as_array().into_iter().flatten() {
                let _ = writeln!(
                    t,
                    "{}{}: last contact {}, {} entries behind, {} evidence file(s) pending, {} session(s) on record",
                    s["name"].as_str().unwrap_or(""),
                    if s["revoked"].is_null() {
                        ""
                    } else {
                        " (REVOKED)"
                    },
                    s["days_since_contact"]
                        .as_f64()
                        .map_or("never".into(), |d| format!("{d} day(s) ago")),
                    s["entries_behind"],
                    s["pending_evidence_files"],
                    s["history"].as_array().map_or(0, Vec::len),
                );
            }
            if t.is_empty() {
                t = "No sites admitted yet.".into();
            }
            Ok(Output::new(r, t))
        }
    }
}
