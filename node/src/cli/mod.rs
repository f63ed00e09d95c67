//! The `cairn` command line: parse, sign the person in, run the command, print text or JSON, and
//! exit with the status product.md lists.

pub mod args;
mod credential;
mod demo;
mod hub;
mod network;

use crate::domain::am;
use crate::domain::catalog::{self, Achievement, Pathway, Recognition, Skill};
use crate::domain::learners::{self, Profile};
use crate::domain::lifecycle;
use crate::domain::people::{self, Actor};
use crate::domain::text;
use crate::domain::{files, ids};
use crate::error::{Error, Result};
use crate::node::Node;
use args::*;
use clap::Parser;

mod secrets;
use serde_json::{Value as Json, json};
use std::fmt::Write as _;

/// What a command produced: a JSON object and the same in words.
pub struct Output {
    /// For `--json`.
    pub json: Json,
    /// For people.
    pub text: String,
    /// Exit status: 0, or 3 for a check whose answer is "no" (an invalid credential).
    pub code: i32,
}

impl Output {
    fn new(json: Json, text: impl Into<String>) -> Output {
        Output {
            json,
            text: text.into(),
            code: 0,
        }
    }
}

/// Run the command line and return the exit status.
pub fn run() -> i32 {
    // Everything this process creates — the store's files, keys, bundles, reports — is for the
    // service's user alone: the data folder holds PIN hashes and the node's key.
    #[cfg(unix)]
    // SAFETY: umask only sets this process's file-creation mask; it cannot fail.
    unsafe {
        libc::umask(0o077);
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let json = cli.json;
    match execute(cli) {
        Ok(out) => {
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({"ok": out.code == 0, "result": out.json}))
                        .unwrap_or_default()
                );
            } else if !out.text.is_empty() {
                println!("{}", text::terminal_safe(out.text.trim_end()));
            }
            out.code
        }
        Err(e) => {
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &json!({"ok": false, "error": {"kind": e.kind(), "message": e.to_string()}})
                    )
                    .unwrap_or_default()
                );
            }
            eprintln!("error: {}", text::terminal_safe(&e.to_string()));
            e.exit_code()
        }
    }
}

/// Sign in whoever the global options name; `Nobody` when none.
fn sign_in(node: &Node, cli: &Cli) -> Result<Actor> {
    // An empty value (say, `CAIRN_AS=` in a script) means "not given".
    let given = |o: &Option<String>| {
        o.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let secret = |who: &str| {
        match given(&cli.secret) {
        Some(s) => Ok(s),
        None => secrets::prompt(&format!("PIN or password for {who}: ")).ok_or_else(|| {
            Error::Usage(
                "signing in needs the PIN or password: set CAIRN_SECRET (or run in a terminal to be asked)"
                    .into(),
            )
        }),
    }
    };
    let gate = crate::signin::Gate::default();
    let from = crate::signin::Source {
        channel: crate::audit::Channel::CommandLine,
        address: None,
    };
    use crate::signin::Claim;
    match (given(&cli.as_user), given(&cli.as_learner)) {
        (Some(_), Some(_)) => Err(Error::Usage(
            "act either as a staff user (--as) or as a learner (--as-learner), not both".into(),
        )),
        (Some(name), None) => gate.sign_in(node, Claim::Staff(&name), &secret(&name)?, from),
        (None, Some(number)) => {
            gate.sign_in(node, Claim::Learner(&number), &secret(&number)?, from)
        }
        (None, None) => Ok(Actor::Nobody),
    }
}

fn execute(cli: Cli) -> Result<Output> {
    if let Command::Init {
        role,
        name,
        institution,
    } = &cli.command
    {
        let node = Node::init(&cli.data, *role, name, institution.clone())?;
        let id = node.id().to_string();
        return Ok(Output::new(
            json!({"id": id, "role": role, "name": node.config.name, "data": cli.data}),
            format!(
                "Created {role} \"{}\" in {}.\nNode id: {id}\n\nNext: add the first admin with\n  cairn --data {} user add --name NAME --role admin --pin PIN",
                node.config.name,
                cli.data.display(),
                cli.data.display()
            ),
        ));
    }
    if let Command::Restore { from } = &cli.command {
        return restore(from, &cli.data);
    }
    if let Command::Demo { keep } = &cli.command {
        return demo::run(keep.clone(), cli.json);
    }
    if let Command::Credential(CredentialCommand::Verify { file, name }) = &cli.command {
        return credential::verify(&cli.data, file, name.as_deref());
    }
    let mut node = Node::open(&cli.data)?;
    // Long-running and network commands take the node by value.
    match cli.command {
        Command::Serve { listen } => return network::serve(node, listen),
        Command::Sync { once, hub } => return network::sync(node, once, hub, cli.json),
        Command::Run {
            hub,
            interval,
            max_backoff,
            web,
            no_web,
            idle,
            bundle_dir,
        } => {
            let web = (!no_web).then(|| network::Web {
                listen: web,
                idle: std::time::Duration::from_secs(idle.max(5)),
                bundles: bundle_dir.unwrap_or_else(|| cli.data.join("bundles")),
            });
            return network::run(node, hub, interval, max_backoff, web);
        }
        Command::Join { ref file } => return network::join(&mut node, file),
        _ => {}
    }
    let actor = sign_in(&node, &cli)?;
    match cli.command {
        Command::Serve { .. }
        | Command::Sync { .. }
        | Command::Run { .. }
        | Command::Join { .. } => {
            unreachable!("handled above")
        }
        Command::Restore { .. } => unreachable!("handled above"),
        Command::Backup { out } => backup(&node, &out),
        Command::Site(cmd) => network::site_cmd(&node, &actor, cmd),
        Command::Bundle(cmd) => bundle_cmd(&node, cmd, cli.json),
        Command::Credential(cmd) => credential::run(&node, &actor, cmd),
        Command::Reconcile { action } => hub::reconcile(&node, &actor, action),
        Command::Report(cmd) => hub::report(&node, &actor, cmd),
        Command::Init { .. } | Command::Demo { .. } => unreachable!("handled above"),
        Command::Id => {
            let id = node.id().to_string();
            Ok(Output::new(json!({"id": id}), id))
        }
        Command::User(cmd) => user(&node, &actor, cmd),
        Command::Catalog(cmd) => catalog_cmd(&node, &actor, cmd),
        Command::Learner(cmd) => learner(&node, &actor, cmd),
        Command::Enroll {
            learner,
            achievement,
            previously_attempted,
        } => {
            let e = lifecycle::enroll(&node, &actor, &learner, &achievement, previously_attempted)?;
            let text = format!(
                "Enrolled {learner} in {achievement}: {}",
                e["id"].as_str().unwrap_or("")
            );
            Ok(Output::new(e, text))
        }
        Command::Evidence(EvidenceCommand::Submit {
            enrollment,
            files,
            narrative,
        }) => {
            let v = lifecycle::submit_evidence(
                &node,
                &actor,
                &enrollment,
                narrative.as_deref(),
                &files,
            )?;
            let n = v["files"].as_array().map_or(0, Vec::len);
            let text = format!(
                "Submitted evidence {} for {enrollment} ({n} file(s)).",
                v["id"].as_str().unwrap_or("")
            );
            Ok(Output::new(v, text))
        }
        Command::Evidence(EvidenceCommand::File { sha256, out }) => {
            // As in the web interface: those who judge evidence, and admins.
            actor.require(
                &[people::Role::Assessor, people::Role::Admin],
                "reading an evidence file",
            )?;
            let data = files::read(&node, &sha256)?;
            crate::config::write_atomically(&out, &data, false)?;
            Ok(Output::new(
                json!({"sha256": sha256, "bytes": data.len(), "out": out}),
                format!("Wrote {} bytes to {}.", data.len(), out.display()),
            ))
        }
        Command::Assess {
            evidence,
            decision,
            feedback,
        } => {
            let s = lifecycle::assess(&node, &actor, &evidence, decision, feedback.as_deref())?;
            let text = format!(
                "Assessed {evidence}: {}. ({})",
                s["decision"].as_str().unwrap_or(""),
                s["id"].as_str().unwrap_or("")
            );
            Ok(Output::new(s, text))
        }
        Command::Award { enrollment } => {
            let awards = lifecycle::award(&node, &actor, &enrollment)?;
            let mut text = String::new();
            for a in &awards {
                let what = if a["kind"] == "pathway" {
                    "Micro-credential"
                } else {
                    "Badge"
                };
                let _ = writeln!(
                    text,
                    "{what} awarded: {} ({})",
                    a["name"].as_str().unwrap_or(""),
                    a["id"].as_str().unwrap_or("")
                );
            }
            if let Some(first) = awards.first().and_then(|a| a["id"].as_str()) {
                let _ = write!(
                    text,
                    "Each award's Open Badges credential is signed. Export one with\n  cairn credential export {first} --out credential.json"
                );
            }
            Ok(Output::new(json!({"awards": awards}), text))
        }
        Command::Outcome(OutcomeCommand::Add {
            learner,
            kind,
            detail,
            date,
            credits_transferred,
            degree,
        }) => {
            let outcome = lifecycle::Outcome {
                kind,
                detail,
                date,
                credits_transferred,
                degree,
            };
            let o = lifecycle::add_outcome(&node, &actor, &learner, &outcome)?;
            let text = format!(
                "Recorded outcome {} for {learner}.",
                o["id"].as_str().unwrap_or("")
            );
            Ok(Output::new(o, text))
        }
        Command::Status => status(&node),
        Command::Audit { limit } => audit(&node, &actor, limit),
        Command::Conflicts => conflicts(&node),
        Command::Check => {
            let report = node.store.check(node.hub_id())?;
            let json = serde_json::to_value(&report).map_err(|e| Error::storage("encoding", e))?;
            if report.ok() {
                Ok(Output::new(
                    json,
                    format!(
                        "The store is sound: {} feed(s), {} entries, {} elided range(s), {} document(s) verified.",
                        report.feeds, report.entries, report.elided_ranges, report.documents
                    ),
                ))
            } else {
                Err(Error::Storage(format!(
                    "the store has {} problem(s):\n  - {}",
                    report.problems.len(),
                    report.problems.join("\n  - ")
                )))
            }
        }
        Command::Rebuild => {
            let r = node.store.rebuild()?;
            let json = serde_json::to_value(&r).map_err(|e| Error::storage("encoding", e))?;
            Ok(Output::new(
                json,
                format!(
                    "Rebuilt {} document(s) from {} entries in {} feed(s).",
                    r.documents, r.entries, r.feeds
                ),
            ))
        }
        Command::Debug(DebugCommand::WriteStream { count, tag }) => {
            write_stream(&node, count, &tag)
        }
        Command::Debug(DebugCommand::TlsIdentity { out_dir }) => {
            let (cert, key) = crate::transport::tls::identity(&node.key)
                .map_err(|e| Error::Storage(e.to_string()))?;
            let pem = |label: &str, der: &[u8]| {
                use base64::Engine;
                let b64 = base64::engine::general_purpose::STANDARD.encode(der);
                let lines: Vec<&str> = b64
                    .as_bytes()
                    .chunks(64)
                    .map(|c| std::str::from_utf8(c).unwrap_or(""))
                    .collect();
                format!(
                    "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
                    lines.join("\n")
                )
            };
            std::fs::create_dir_all(&out_dir)?;
            crate::config::write_atomically(
                &out_dir.join("cert.pem"),
                pem("CERTIFICATE", cert.as_ref()).as_bytes(),
                false,
            )?;
            let _ = key;
            // RFC 8410 PKCS#8 v1 for Ed25519: a fixed prefix, then the 32-byte seed. OpenSSL
            // reads this form; it rejects the v2 form that embeds the public key.
            let mut v1 = vec![
                0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
                0x04, 0x20,
            ];
            v1.extend_from_slice(&node.key.to_bytes());
            crate::config::write_atomically(
                &out_dir.join("key.pem"),
                pem("PRIVATE KEY", &v1).as_bytes(),
                true,
            )?;
            Ok(Output::new(json!({"out_dir": out_dir}), ""))
        }
        Command::Debug(DebugCommand::ReadStream) => {
            let doc = node.store.doc(&DEBUG_DOC)?;
            let keys: Vec<String> = doc
                .map(|d| automerge::ReadDoc::keys(&d, automerge::ROOT).collect())
                .unwrap_or_default();
            Ok(Output::new(json!({"keys": keys}), keys.join("\n")))
        }
    }
}

fn user(node: &Node, actor: &Actor, cmd: UserCommand) -> Result<Output> {
    match cmd {
        UserCommand::Add {
            name,
            role,
            pin,
            password,
        } => {
            let secret = match pin.or(password) {
                Some(s) => s,
                None => secrets::new_secret(&format!("{name}'s PIN or password"))?,
            };
            let u = people::add_user(node, actor, &name, &role, &secret)?;
            let text = format!(
                "Added {} ({}) as {}.",
                u.name,
                u.roles
                    .iter()
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                u.id
            );
            Ok(Output::new(
                serde_json::to_value(&u).unwrap_or_default(),
                text,
            ))
        }
        UserCommand::List => {
            let users = people::staff(node)?;
            let mut text = String::new();
            for u in &users {
                let roles = u
                    .roles
                    .iter()
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                let _ = writeln!(
                    text,
                    "{:<20} {:<32} {}{}",
                    u.name,
                    roles,
                    u.id,
                    if u.active { "" } else { " (deactivated)" }
                );
            }
            if users.is_empty() {
                text = "No users yet. Add the first admin with `cairn user add --name NAME --role admin --pin PIN`.".into();
            }
            Ok(Output::new(json!({"users": users}), text))
        }
    }
}

fn parse_skill(s: &str) -> Skill {
    let mut parts = s
        .split('|')
        .map(|p| p.trim())
        .map(|p| (!p.is_empty()).then(|| p.to_string()));
    Skill {
        name: parts.next().flatten().unwrap_or_default(),
        framework: parts.next().flatten(),
        code: parts.next().flatten(),
        url: parts.next().flatten(),
    }
}

fn catalog_cmd(node: &Node, actor: &Actor, cmd: CatalogCommand) -> Result<Output> {
    let add = match cmd {
        CatalogCommand::Add(add) => *add,
        CatalogCommand::List => return catalog_list(node),
    };
    match add {
        CatalogAdd::Achievement(a) => {
            let skills: Vec<Skill> = a.skills.iter().map(|s| parse_skill(s)).collect();
            if skills.iter().any(|s| s.name.is_empty()) {
                return Err(Error::invalid(
                    "a --skill needs a name: NAME[|FRAMEWORK[|CODE[|URL]]]",
                ));
            }
            let a = catalog::add_achievement(
                node,
                actor,
                Achievement {
                    id: a.id,
                    name: a.name,
                    description: a.description,
                    level: a.level,
                    criteria: a.criteria,
                    evidence_requirements: a.evidence_requirements,
                    achievement_type: a.achievement_type,
                    skills,
                    program: a.program,
                },
            )?;
            let text = format!("Added achievement {} ({}).", a.id, a.name);
            Ok(Output::new(
                serde_json::to_value(&a).unwrap_or_default(),
                text,
            ))
        }
        CatalogAdd::Pathway {
            id,
            name,
            description,
            parts,
            program,
        } => {
            let p = catalog::add_pathway(
                node,
                actor,
                Pathway {
                    id,
                    name,
                    description,
                    parts,
                    program,
                },
            )?;
            let text = format!(
                "Added pathway {} ({}): {}.",
                p.id,
                p.name,
                p.parts.join(" + ")
            );
            Ok(Output::new(
                serde_json::to_value(&p).unwrap_or_default(),
                text,
            ))
        }
        CatalogAdd::Recognition {
            id,
            target,
            recognizer,
            description,
            credits,
        } => {
            let r = catalog::add_recognition(
                node,
                actor,
                Recognition {
                    id,
                    target,
                    recognizer,
                    description,
                    credits,
                },
            )?;
            let text = format!(
                "Added recognition {}: {} by {}.",
                r.id, r.description, r.recognizer
            );
            Ok(Output::new(
                serde_json::to_value(&r).unwrap_or_default(),
                text,
            ))
        }
    }
}

fn catalog_list(node: &Node) -> Result<Output> {
    let c = catalog::read(node)?;
    let mut text = String::new();
    let _ = writeln!(text, "Achievements ({}):", c.achievements.len());
    for a in c.achievements.values() {
        let level = a.level.map(|l| format!("level {l}")).unwrap_or_default();
        let _ = writeln!(text, "  {:<28} {} {}", a.id, a.name, level);
    }
    let _ = writeln!(text, "Pathways ({}):", c.pathways.len());
    for p in c.pathways.values() {
        let _ = writeln!(text, "  {:<28} {} = {}", p.id, p.name, p.parts.join(" + "));
    }
    let _ = writeln!(text, "Recognitions ({}):", c.recognitions.len());
    for r in c.recognitions.values() {
        let _ = writeln!(
            text,
            "  {:<28} {}: {} ({})",
            r.id, r.target, r.description, r.recognizer
        );
    }
    Ok(Output::new(
        serde_json::to_value(&c).unwrap_or_default(),
        text,
    ))
}

fn learner(node: &Node, actor: &Actor, cmd: LearnerCommand) -> Result<Output> {
    match cmd {
        LearnerCommand::Add(a) => {
            let a = *a;
            let profile = Profile {
                number: a.number,
                given_name: a.given_name,
                family_name: a.family_name,
                institution: a.institution.or_else(|| node.config.institution.clone()),
                institution_id: a.institution_id,
                year_of_birth: a.year_of_birth,
                gender: a.gender,
                race_ethnicity: a.race_ethnicity,
                primary_language: a.primary_language,
                pell_eligible: a.pell_eligible,
                ses_determination: a.ses_determination,
                enrollment_status: a.enrollment_status,
                first_generation: a.first_generation,
                first_enrollment: a.first_enrollment,
                interface_language: a.interface_language,
            };
            let name = profile.full_name();
            let number = profile.number.clone();
            let pin = secrets::pin_argument(a.pin, &format!("{number}'s kiosk PIN"))?;
            let (_, id) = learners::add(node, actor, profile, pin.as_deref())?;
            Ok(Output::new(
                json!({"id": id, "number": number}),
                format!("Registered {name} (number {number}) as {id}."),
            ))
        }
        LearnerCommand::Edit {
            id,
            given_name,
            family_name,
            primary_language,
            interface_language,
            pin,
        } => {
            let changes = learners::ProfileChanges {
                given_name,
                family_name,
                primary_language,
                interface_language,
            };
            let pin = secrets::pin_argument(pin, &format!("{id}'s new kiosk PIN"))?;
            let r = learners::edit(node, actor, &id, &changes, pin.as_deref())?;
            Ok(Output::new(r, format!("Updated {id}.")))
        }
        LearnerCommand::Transfer { learner, to } => {
            let r = learners::transfer(node, actor, &learner, &to)?;
            let text = format!(
                "Transferred {} to {}.",
                r["learner"].as_str().unwrap_or(""),
                to
            );
            Ok(Output::new(r, text))
        }
        LearnerCommand::Show { id } => {
            let doc = learners::show(node, actor, &id)?;
            let text = render_learner(&doc);
            Ok(Output::new(doc, text))
        }
        LearnerCommand::List => {
            let list = learners::list(node, actor)?;
            let mut text = String::new();
            for l in &list {
                let _ = writeln!(
                    text,
                    "{:<16} {:<12} {:<28} {} enrollment(s), {} award(s)",
                    l["id"].as_str().unwrap_or(""),
                    l["number"].as_str().unwrap_or(""),
                    l["name"].as_str().unwrap_or(""),
                    l["enrollments"],
                    l["awards"]
                );
            }
            if list.is_empty() {
                text = "No learners here yet.".into();
            }
            Ok(Output::new(json!({"learners": list}), text))
        }
    }
}

fn render_learner(doc: &Json) -> String {
    let p = &doc["profile"];
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{} {} — number {} — {}",
        p["given_name"].as_str().unwrap_or(""),
        p["family_name"].as_str().unwrap_or(""),
        p["number"].as_str().unwrap_or(""),
        doc["id"].as_str().unwrap_or("")
    );
    let section = |t: &mut String, title: &str, key: &str, f: &dyn Fn(&Json) -> String| {
        let items: Vec<&Json> = doc[key]
            .as_object()
            .map(|m| m.values().collect())
            .unwrap_or_default();
        let _ = writeln!(t, "{title} ({}):", items.len());
        for i in items {
            let _ = writeln!(t, "  {}", f(i));
        }
    };
    section(&mut t, "Enrollments", "enrollments", &|e| {
        format!(
            "{} {} — {} (attempts: {})",
            e["id"].as_str().unwrap_or(""),
            e["achievement"].as_str().unwrap_or(""),
            e["status"].as_str().unwrap_or(""),
            e["attempts"]
        )
    });
    section(&mut t, "Evidence", "evidence", &|v| {
        format!(
            "{} for {} — {} file(s)",
            v["id"].as_str().unwrap_or(""),
            v["enrollment"].as_str().unwrap_or(""),
            v["files"].as_array().map_or(0, Vec::len)
        )
    });
    section(&mut t, "Assessments", "assessments", &|s| {
        format!(
            "{} of {}: {}",
            s["id"].as_str().unwrap_or(""),
            s["evidence"].as_str().unwrap_or(""),
            s["decision"].as_str().unwrap_or("")
        )
    });
    section(&mut t, "Awards", "awards", &|a| {
        format!(
            "{} {} ({})",
            a["id"].as_str().unwrap_or(""),
            a["name"].as_str().unwrap_or(""),
            a["kind"].as_str().unwrap_or("")
        )
    });
    section(&mut t, "Outcomes", "outcomes", &|o| {
        format!(
            "{} {} {}",
            o["id"].as_str().unwrap_or(""),
            o["kind"].as_str().unwrap_or(""),
            o["detail"].as_str().unwrap_or("")
        )
    });
    t
}

fn status(node: &Node) -> Result<Output> {
    let vector = node.store.vector()?;
    let forks = node.store.forks()?;
    let own = cairn_sync_protocol::Origin {
        node: node.id(),
        epoch: node.epoch()?,
    };
    let feeds: Vec<Json> = vector
        .iter()
        .map(|(o, s)| json!({"origin": o.node.to_string(), "epoch": o.epoch, "held": s, "own": *o == own}))
        .collect();
    let learners = node.store.index_scan(b"learner/")?.len();
    let peers: Vec<Json> = crate::sync::peer::all(&node.store)?
        .into_iter()
        .map(|p| {
            let known = p.known_vector();
            // What this node holds that the peer is not known to hold (own feeds only matter to
            // a site; the hub owes each site only part of the rest).
            let pending = p.pending_own(&vector, &node.id());
            json!({
                "id": p.id,
                "last_contact_ms": p.last_contact_ms,
                "last_success_ms": p.last_success_ms,
                "known_entries": known.total(),
                "pending_own_entries": pending,
                "last_outcome": p.history.back().map(|h| h.outcome.clone()),
            })
        })
        .collect();
    let json = json!({
        "id": node.id().to_string(),
        "role": node.config.role,
        "name": node.config.name,
        "epoch": own.epoch,
        "hub": node.config.hub,
        "entries": vector.total(),
        "feeds": feeds,
        "learners": learners,
        "forks": forks.iter().map(|f| json!({"origin": f.origin.node.to_string(), "epoch": f.origin.epoch, "seq": f.seq})).collect::<Vec<_>>(),
        "store_bytes": node.store.size_on_disk()?,
        "peers": peers,
        "own_forked_epochs": node.store.local::<Vec<u32>>("own_forks")?.unwrap_or_default(),
    });
    let mut t = String::new();
    let _ = writeln!(t, "{} \"{}\"", node.config.role, node.config.name);
    let _ = writeln!(t, "Node id: {} (epoch {})", node.id(), own.epoch);
    if let Some(h) = &node.config.hub {
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
    let _ = writeln!(t, "Learners: {learners}");
    let _ = writeln!(
        t,
        "Entries held: {} in {} feed(s)",
        vector.total(),
        vector.len()
    );
    for p in &peers {
        let _ = writeln!(
            t,
            "Peer {}: last sync {}, known to hold {} entries, {} of ours pending{}",
            p["id"].as_str().unwrap_or("").get(..7).unwrap_or(""),
            network::describe_time(p["last_success_ms"].as_u64()),
            p["known_entries"],
            p["pending_own_entries"],
            match p["last_outcome"].as_str() {
                Some("complete") | None => String::new(),
                Some(o) => format!(" (last attempt: {o})"),
            }
        );
    }
    let own_forks: Vec<u32> = node.store.local("own_forks")?.unwrap_or_default();
    for e in &own_forks {
        let _ = writeln!(
            t,
            "WARNING: this node's feed of epoch {e} forked (it was restored and wrote again); entries it wrote there after the fork are kept here but the hub refused them; see the runbook"
        );
    }
    for f in &forks {
        let _ = writeln!(
            t,
            "FORK: {} epoch {} signed two different entries at {}; frozen",
            f.origin.node, f.origin.epoch, f.seq
        );
    }
    Ok(Output::new(json, t))
}

fn audit(node: &Node, actor: &Actor, limit: usize) -> Result<Output> {
    actor.require(&[people::Role::Admin], "reading the audit trail")?;
    let events = crate::audit::recent(&node.store, limit.clamp(1, crate::audit::KEEP))?;
    let mut t = String::new();
    for e in events.iter().rev() {
        let when = time::OffsetDateTime::from_unix_timestamp_nanos(e.at_ms as i128 * 1_000_000)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default();
        let _ = writeln!(
            t,
            "{when}  {:<16} {:<12} {:<20} {:<16} {}",
            serde_json::to_value(e.event)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            serde_json::to_value(e.channel)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            text::printable(e.account.as_deref().unwrap_or("-")),
            e.address.as_deref().unwrap_or("-"),
            text::printable(e.detail.as_deref().unwrap_or("")),
        );
    }
    if events.is_empty() {
        t = "The audit trail is empty.".into();
    }
    Ok(Output::new(json!({"events": events}), t))
}

fn conflicts(node: &Node) -> Result<Output> {
    let mut all = Vec::new();
    let mut t = String::new();
    for (doc, v) in node.store.index_scan(b"conflict/")? {
        let list: Vec<Json> = serde_json::from_slice(&v).unwrap_or_default();
        let doc_id: [u8; 16] = doc.as_slice().try_into().unwrap_or_default();
        let label = ids::learner_id(&cairn_sync_protocol::DocId(doc_id));
        for c in &list {
            let path = c["path"]
                .as_array()
                .map(|p| {
                    p.iter()
                        .filter_map(Json::as_str)
                        .collect::<Vec<_>>()
                        .join(".")
                })
                .unwrap_or_default();
            let values = c["values"]
                .as_array()
                .map(|v| {
                    v.iter()
                        .map(|x| x.to_string())
                        .collect::<Vec<_>>()
                        .join(" | ")
                })
                .unwrap_or_default();
            let _ = writeln!(t, "{label} {path}: {values}");
        }
        all.push(json!({"document": label, "conflicts": list}));
    }
    if all.is_empty() {
        t = "No conflicts: every value has a single version.".into();
    }
    Ok(Output::new(json!({"documents": all}), t))
}

fn bundle_cmd(node: &Node, cmd: BundleCommand, json: bool) -> Result<Output> {
    use std::io::IsTerminal;
    let tty = std::io::stderr().is_terminal() && !json;
    match cmd {
        BundleCommand::Export {
            out,
            for_site,
            full,
        } => {
            let r = crate::bundle::export(node, for_site.as_deref(), &out, full, &mut |n| {
                if tty && n % 100 == 0 {
                    eprint!("\rwriting: {n} entries   ");
                }
            })?;
            if tty {
                eprintln!();
            }
            let text = format!(
                "Wrote bundle #{} for {} to {}: {} entries, {:.1} MB{}.\nCarry it to the other side and run `cairn bundle import FILE` there.",
                r.seq,
                r.to,
                out.display(),
                r.entries,
                r.bytes as f64 / 1e6,
                if r.receipt {
                    ", with a receipt for the last bundle received"
                } else {
                    ""
                }
            );
            Ok(Output::new(
                serde_json::to_value(&r).unwrap_or_default(),
                text,
            ))
        }
        BundleCommand::Import { file } => {
            let r = crate::bundle::import(node, &file, &mut |done, total| {
                if tty {
                    eprint!("\rapplying: {done}/{total} parts   ");
                }
            })?;
            if tty {
                eprintln!();
            }
            let mut text = format!(
                "Imported bundle #{} from {}: {} new entries ({} already held).\nA receipt goes back with this node's next bundle.",
                r.seq, r.from, r.stored, r.duplicates
            );
            if let Some(epoch) = r.new_epoch {
                text.push_str(&format!("\nThe hub holds more of this node's own records than its store did (restored from an older copy?): it now writes under epoch {epoch}, and its next bundle asks the hub for what was lost."));
            }
            for f in &r.forks {
                text.push_str(&format!("\nWARNING: {f}"));
            }
            for x in &r.refused {
                text.push_str(&format!("\nNot applied: {x} (if this node was restored from a backup, ask for a bundle made with --full)"));
            }
            Ok(Output::new(
                serde_json::to_value(&r).unwrap_or_default(),
                text,
            ))
        }
    }
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) -> Result<u64> {
    std::fs::create_dir_all(to)?;
    let mut bytes = 0;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            bytes += copy_dir(&entry.path(), &target)?;
        } else {
            bytes += std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(bytes)
}

fn backup(node: &Node, out: &std::path::Path) -> Result<Output> {
    if out.exists() && std::fs::read_dir(out)?.next().is_some() {
        return Err(Error::Usage(format!(
            "{} already exists and is not empty",
            out.display()
        )));
    }
    // This process holds the store's lock and writes nothing while copying.
    node.store.flush()?;
    let bytes = copy_dir(&node.dir, out)?;
    crate::config::write_atomically(
        &out.join(crate::node::RESTORE_MARKER),
        format!(
            "backup of {} made {}\n",
            node.id(),
            lifecycle::now_rfc3339()
        )
        .as_bytes(),
        false,
    )?;
    Ok(Output::new(
        json!({"out": out, "bytes": bytes}),
        format!(
            "Backed up {} ({:.1} MB) to {}. Keep it somewhere safe: it holds the node's key.",
            node.config.name,
            bytes as f64 / 1e6,
            out.display()
        ),
    ))
}

fn restore(from: &std::path::Path, data: &std::path::Path) -> Result<Output> {
    if !from.join(crate::node::RESTORE_MARKER).exists() {
        return Err(Error::invalid(format!(
            "{} is not a backup made by `cairn backup`",
            from.display()
        )));
    }
    if data.join("config.toml").exists() {
        return Err(Error::Usage(format!(
            "{} already holds a node; restore into an empty folder (move the old one aside first)",
            data.display()
        )));
    }
    copy_dir(from, data)?;
    // Opening sees the backup marker and moves the node to a new epoch before anything else.
    let node = Node::open(data)?;
    let epoch = node.epoch()?;
    Ok(Output::new(
        json!({"id": node.id().to_string(), "epoch": epoch}),
        format!(
            "Restored {} into {} under a new epoch ({epoch}). Sync with the hub (or import a bundle) to bring back what was written after the backup.",
            node.config.name,
            data.display()
        ),
    ))
}

const DEBUG_DOC: cairn_sync_protocol::DocId = cairn_sync_protocol::DocId([0xEE; 16]);

fn write_stream(node: &Node, count: u64, tag: &str) -> Result<Output> {
    use std::io::Write;
    let doc = DEBUG_DOC;
    let mut stdout = std::io::stdout();
    for i in 0..count {
        node.store.change_doc(
            &node.author(cairn_sync_protocol::UserId::default())?,
            doc,
            "debug",
            |tx| {
                am::write(
                    tx,
                    &automerge::ROOT,
                    automerge::Prop::Map(format!("{tag}-{i}")),
                    &json!(i),
                )
            },
        )?;
        // Printed only after the write is durable: the kill test relies on it.
        let _ = writeln!(stdout, "done {i}");
        let _ = stdout.flush();
    }
    Ok(Output::new(json!({"written": count}), ""))
}
