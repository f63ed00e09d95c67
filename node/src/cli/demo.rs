//! `cairn demo`: the whole story on one machine, told step by step. Every step runs the real
//! `cairn` command a person would type (this same binary, in a child process), so the demo shows
//! the tool exactly as it is and leaves nodes a user can explore with the other commands.

use super::Output;
use crate::error::{Error, Result};
use serde_json::{Value as Json, json};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

const STEPS: usize = 9;
const HUB: &str = "University of Maine System";
const FACILITY: &str = "Southern Maine Women's Reentry Center";
const RURAL: &str = "Ellsworth Adult Education";

struct Demo {
    exe: PathBuf,
    root: PathBuf,
    quiet: bool,
    step: usize,
    started: Instant,
}

/// A staff member signed in for a command.
type As<'a> = Option<(&'a str, &'a str)>;
const OP: As = Some(("op", "111111"));
const ADA: As = Some(("ada", "222222"));

impl Demo {
    fn say(&self, text: &str) {
        if !self.quiet {
            println!("{text}");
        }
    }

    fn step(&mut self, title: &str) {
        self.step += 1;
        self.say(&format!(
            "\n[{}/{STEPS}] {title}  ({:.1} s)",
            self.step,
            self.started.elapsed().as_secs_f64()
        ));
    }

    fn dir(&self, node: &str) -> PathBuf {
        self.root.join(node)
    }

    fn cmd(&self, node: &str, who: As) -> Command {
        let mut c = Command::new(&self.exe);
        c.env_remove("CAIRN_AS")
            .env_remove("CAIRN_AS_LEARNER")
            .env_remove("CAIRN_SECRET")
            .env_remove("CAIRN_DATA")
            .env("CAIRN_LOG", "error")
            .arg("--data")
            .arg(self.dir(node))
            .arg("--json");
        if let Some((name, secret)) = who {
            c.env("CAIRN_AS", name).env("CAIRN_SECRET", secret);
        }
        c
    }

    /// Run one `cairn` command at a node; its `result`, or an error naming the command.
    fn run(&self, node: &str, who: As, args: &[&str]) -> Result<Json> {
        let out = self
            .cmd(node, who)
            .args(args)
            .output()
            .map_err(|e| Error::storage("running a demo step", e))?;
        let v: Json = serde_json::from_slice(&out.stdout).unwrap_or(Json::Null);
        if out.status.success() {
            Ok(v["result"].clone())
        } else {
            Err(Error::storage_msg(format!(
                "the demo step `cairn {}` at {node} failed: {}",
                args.join(" "),
                v["error"]["message"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| String::from_utf8_lossy(&out.stderr).into_owned())
            )))
        }
    }

    fn id_of(&self, node: &str, who: As, args: &[&str]) -> Result<String> {
        Ok(self.run(node, who, args)?["id"]
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    fn path(&self, name: &str) -> String {
        self.root.join(name).to_string_lossy().into_owned()
    }
}

/// `cairn serve` for the hub, stopped when dropped.
struct Serving(Child, String);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(d: &Demo) -> Result<Serving> {
    let mut child = d
        .cmd("hub", None)
        .args(["serve", "--listen", "127.0.0.1:0", "--no-web"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| Error::storage("starting the hub", e))?;
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = std::io::BufReader::new(out).read_line(&mut line);
    }
    match line.trim().strip_prefix("listening ") {
        Some(addr) => Ok(Serving(child, addr.to_string())),
        None => {
            let _ = child.kill();
            Err(Error::storage_msg("the demo hub did not start listening"))
        }
    }
}

fn learner(
    d: &Demo,
    node: &str,
    number: &str,
    name: (&str, &str),
    extra: &[&str],
) -> Result<String> {
    let mut args = vec![
        "learner",
        "add",
        "--number",
        number,
        "--given-name",
        name.0,
        "--family-name",
        name.1,
        "--pin",
        "1234",
    ];
    args.extend_from_slice(extra);
    d.id_of(node, ADA, &args)
}

/// Enroll, submit evidence (with a file), assess, and award when proficient. Returns the awards.
fn earn(
    d: &Demo,
    node: &str,
    learner: &str,
    achievement: &str,
    file: &str,
    proficient: bool,
) -> Result<Vec<Json>> {
    let e = d.id_of(
        node,
        ADA,
        &["enroll", "--learner", learner, "--achievement", achievement],
    )?;
    let v = d.id_of(
        node,
        ADA,
        &[
            "evidence",
            "submit",
            "--enrollment",
            &e,
            "--narrative",
            "Work sample and reflection",
            "--file",
            file,
        ],
    )?;
    let decision = if proficient { "proficient" } else { "not-yet" };
    d.run(
        node,
        ADA,
        &[
            "assess",
            "--evidence",
            &v,
            "--decision",
            decision,
            "--feedback",
            "Reviewed against the criteria",
        ],
    )?;
    if !proficient {
        return Ok(vec![]);
    }
    Ok(d.run(node, ADA, &["award", "--enrollment", &e])?["awards"]
        .as_array()
        .cloned()
        .unwrap_or_default())
}

fn catalog(d: &Demo) -> Result<()> {
    let levels = [
        (
            "1",
            "Foundations: hardware, operating systems and help-desk etiquette.",
        ),
        (
            "2",
            "Competency assessment with skills practice: troubleshooting real tickets.",
        ),
        (
            "3",
            "Application through work-based learning at a partner employer.",
        ),
    ];
    for (level, what) in levels {
        d.run(
            "hub",
            OP,
            &[
                "catalog",
                "add",
                "achievement",
                "--id",
                &format!("css-level-{level}"),
                "--name",
                &format!("Computer Support Specialist Level {level}"),
                "--description",
                what,
                "--level",
                level,
                "--criteria",
                "Resolves help-desk tickets end to end, documented in a log",
                "--evidence-requirements",
                "A ticket log and a short reflection",
                "--skill",
                "Troubleshooting|O*NET|15-1232.00",
                "--skill",
                "Customer service|O*NET|4.A.4.a.8",
                "--program",
                HUB,
            ],
        )?;
    }
    d.run(
        "hub",
        OP,
        &[
            "catalog",
            "add",
            "pathway",
            "--id",
            "css",
            "--name",
            "Computer Support Specialist",
            "--description",
            "Levels 1-3 of the Computer Support Specialist stack",
            "--part",
            "css-level-1",
            "--part",
            "css-level-2",
            "--part",
            "css-level-3",
            "--program",
            HUB,
        ],
    )?;
    d.run(
        "hub",
        OP,
        &[
            "catalog",
            "add",
            "recognition",
            "--id",
            "css-as-cis",
            "--for",
            "css",
            "--recognizer",
            HUB,
            "--description",
            "Credit toward AS/BS Computer Information Systems and BS Information Technology",
            "--credits",
            "9",
        ],
    )?;
    for (id, name, what) in [
        (
            "workready",
            "WorkReady",
            "Workplace skills: communication, teamwork, reliability.",
        ),
        (
            "opportunity-ready",
            "Opportunity Ready",
            "Success skills; counts for a 100-level College Experience course.",
        ),
    ] {
        d.run(
            "hub",
            OP,
            &[
                "catalog",
                "add",
                "achievement",
                "--id",
                id,
                "--name",
                name,
                "--description",
                what,
                "--level",
                "1",
                "--criteria",
                "Demonstrates the skills in a supervised activity",
                "--program",
                "Eastern Maine Community College",
            ],
        )?;
    }
    d.run(
        "hub",
        OP,
        &[
            "catalog",
            "add",
            "pathway",
            "--id",
            "emcc-ready",
            "--name",
            "EMCC Ready",
            "--description",
            "Opportunity Ready and WorkReady",
            "--part",
            "opportunity-ready",
            "--part",
            "workready",
            "--program",
            "Eastern Maine Community College",
        ],
    )?;
    Ok(())
}

/// Run the demo. `keep`: a folder to build it in and leave behind.
pub fn run(keep: Option<PathBuf>, json_output: bool) -> Result<Output> {
    let root = match keep {
        Some(dir) => {
            if dir.exists()
                && std::fs::read_dir(&dir)
                    .map(|mut r| r.next().is_some())
                    .unwrap_or(true)
            {
                return Err(Error::invalid(format!(
                    "{} is not empty; give --keep a new or empty folder",
                    dir.display()
                )));
            }
            std::fs::create_dir_all(&dir)
                .map_err(|e| Error::storage("creating the demo folder", e))?;
            dir
        }
        None => {
            let t = tempfile::Builder::new()
                .prefix("cairn-demo-")
                .tempdir()
                .map_err(|e| Error::storage("creating a temporary folder", e))?;
            t.keep()
        }
    };
    let root = root.canonicalize().unwrap_or(root);
    let mut d = Demo {
        exe: std::env::current_exe().map_err(|e| Error::storage("finding the cairn binary", e))?,
        root: root.clone(),
        quiet: json_output,
        step: 0,
        started: Instant::now(),
    };
    d.say(&format!(
        "Cairn demo: a micro-credential program with a hub and two sites, on this machine, in\n{}",
        root.display()
    ));

    d.step("The hub and its catalog");
    d.run(
        "hub",
        None,
        &["init", "--role", "hub", "--name", HUB, "--institution", HUB],
    )?;
    d.run(
        "hub",
        None,
        &[
            "user",
            "add",
            "--name",
            "op",
            "--role",
            "admin,developer,assessor,issuer",
            "--pin",
            "111111",
        ],
    )?;
    catalog(&d)?;
    d.say(&format!("  {HUB} runs the hub. Its catalog: Computer Support Specialist Levels 1-3 (a pathway\n  earning a micro-credential worth 9 college credits), WorkReady and Opportunity Ready."));

    d.step("Two sites are admitted");
    let mut site_ids = Vec::new();
    for (node, name) in [("facility", FACILITY), ("rural", RURAL)] {
        d.run(
            node,
            None,
            &[
                "init",
                "--role",
                "site",
                "--name",
                name,
                "--institution",
                HUB,
            ],
        )?;
        d.run(
            node,
            None,
            &[
                "user",
                "add",
                "--name",
                "ada",
                "--role",
                "admin,assessor,issuer",
                "--pin",
                "222222",
            ],
        )?;
        let id = d.id_of(node, None, &["id"])?;
        let prov = d.path(&format!("{node}-provisioning.json"));
        d.run(
            "hub",
            OP,
            &[
                "site",
                "enroll",
                "--site-id",
                &id,
                "--name",
                name,
                "--out",
                &prov,
            ],
        )?;
        d.run(node, None, &["join", &prov])?;
        site_ids.push(id);
    }
    d.say(&format!("  {FACILITY}: a correctional facility's lab with no internet at all.\n  {RURAL}: a rural classroom whose link comes and goes.\n  Each got a provisioning file naming the hub's key; the hub pinned theirs."));

    d.step("The catalog reaches both sites: over TLS, and on a USB stick");
    {
        let hub = serve(&d)?;
        let r = d.run("rural", None, &["sync", "--once", "--hub", &hub.1])?;
        d.say(&format!(
            "  {RURAL} synced over mutually authenticated TLS 1.3: received {} entries.",
            r["progress"]["received"]
        ));
    }
    let stick = d.path("usb-hub-to-facility-1.cairn");
    let r = d.run(
        "hub",
        None,
        &["bundle", "export", "--out", &stick, "--for", &site_ids[0]],
    )?;
    d.run("facility", None, &["bundle", "import", &stick])?;
    d.say(&format!("  The facility got a bundle ({} entries, {} bytes, encrypted to its key and signed by the hub).", r["entries"], r["bytes"]));

    d.step("Offline: learners enroll, submit evidence, get assessed and awarded");
    let file = d.path("ticket-log.txt");
    std::fs::write(
        &file,
        "Ticket 1042: replaced a failed drive, restored the user's files, documented the steps.\n",
    )
    .map_err(|e| Error::storage("writing a sample evidence file", e))?;
    let maria = learner(
        &d,
        "facility",
        "SMWRC-0001",
        ("Maria", "Lopez"),
        &[
            "--year-of-birth",
            "1988",
            "--race-ethnicity",
            "hispanic-latino",
            "--pell-eligible",
            "yes",
            "--primary-language",
            "Spanish",
            "--enrollment-status",
            "short-term-training",
        ],
    )?;
    let mut micro = None;
    for level in 1..=3 {
        for a in earn(
            &d,
            "facility",
            &maria,
            &format!("css-level-{level}"),
            &file,
            true,
        )? {
            if a["kind"] == "pathway" {
                micro = a["id"].as_str().map(str::to_string);
            }
        }
    }
    let micro = micro.ok_or_else(|| Error::storage_msg("the demo's pathway was not awarded"))?;
    let jo = learner(
        &d,
        "facility",
        "SMWRC-0002",
        ("Jo", "Smith"),
        &[
            "--year-of-birth",
            "1995",
            "--race-ethnicity",
            "white",
            "--pell-eligible",
            "yes",
        ],
    )?;
    earn(&d, "facility", &jo, "css-level-1", &file, true)?;
    earn(&d, "facility", &jo, "css-level-2", &file, false)?;
    let dee = learner(
        &d,
        "rural",
        "EAE-0001",
        ("Dee", "Tran"),
        &[
            "--year-of-birth",
            "1979",
            "--race-ethnicity",
            "asian",
            "--first-generation",
            "yes",
        ],
    )?;
    earn(&d, "rural", &dee, "opportunity-ready", &file, true)?;
    earn(&d, "rural", &dee, "workready", &file, true)?;
    d.run(
        "rural",
        ADA,
        &[
            "outcome",
            "add",
            "--learner",
            &dee,
            "--kind",
            "new-employment",
            "--detail",
            "Help-desk technician",
        ],
    )?;
    let sam = learner(
        &d,
        "rural",
        "EAE-0002",
        ("Sam", "Reed"),
        &[
            "--year-of-birth",
            "2001",
            "--race-ethnicity",
            "white",
            "--pell-eligible",
            "no",
        ],
    )?;
    earn(&d, "rural", &sam, "workready", &file, false)?;
    d.say("  Facility: Maria earns Levels 1, 2 and 3 -> the Computer Support Specialist micro-credential;\n  Jo earns Level 1 and is told \"not yet\" on Level 2.\n  Ellsworth: Dee earns Opportunity Ready and WorkReady (EMCC Ready) and a new job; Sam is \"not yet\".\n  No network was needed for any of it; every change is a signed entry in the site's log.");

    d.step("Ellsworth's link comes up: it syncs with the hub");
    {
        let hub = serve(&d)?;
        let r = d.run("rural", None, &["sync", "--once", "--hub", &hub.1])?;
        d.say(&format!(
            "  Sent {} entries in {} messages; the hub verified every signature and chain.",
            r["progress"]["sent"], r["messages"]
        ));
    }

    d.step("The facility's records travel to the hub and back on a USB stick");
    let out = d.path("usb-facility-to-hub.cairn");
    let r = d.run("facility", None, &["bundle", "export", "--out", &out])?;
    d.say(&format!("  Staff write a bundle: {} entries including evidence files, {} bytes, readable only by the hub.", r["entries"], r["bytes"]));
    let r = d.run("hub", None, &["bundle", "import", &out])?;
    d.say(&format!(
        "  At the hub: {} new entries imported.",
        r["stored"]
    ));
    let back = d.path("usb-hub-to-facility-2.cairn");
    d.run(
        "hub",
        None,
        &["bundle", "export", "--out", &back, "--for", &site_ids[0]],
    )?;
    d.run("facility", None, &["bundle", "import", &back])?;
    d.say(
        "  The return trip carries the hub's receipt, so the next bundle holds only what is new.",
    );

    d.step("Maria's micro-credential, as an Open Badges 3.0 credential");
    let cred = d.path("maria-computer-support-specialist.json");
    d.run(
        "facility",
        ADA,
        &["credential", "export", &micro, "--out", &cred],
    )?;
    let cert = d.path("maria-certificate.html");
    d.run(
        "facility",
        ADA,
        &["credential", "certificate", &micro, "--out", &cert],
    )?;
    let nowhere = d.path("no-node-here");
    let v = d.run("no-node-here", None, &["credential", "verify", &cred])?;
    let _ = std::fs::remove_dir_all(nowhere);
    let at_hub = d.run(
        "hub",
        None,
        &["credential", "verify", &cred, "--name", "Maria Lopez"],
    )?;
    d.say(&format!(
        "  Signed at the facility, offline, with eddsa-jcs-2022 by {}.\n  An employer with no link to anyone checks it: {}.\n  The hub also confirms the signer is an admitted site and that it was made out to Maria Lopez.\n  A printable certificate with a QR code: {}",
        v["issuer"].as_str().unwrap_or(""),
        if v["problems"].as_array().is_some_and(Vec::is_empty) { "VALID" } else { "NOT VALID" },
        cert
    ));

    d.step("The hub's outcomes report");
    let report = d.run("hub", OP, &["report", "outcomes"])?;
    let program_rows: Vec<&Json> = report["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["scope"] == "program")
        .collect();
    for r in &program_rows {
        d.say(&format!(
            "  {:<28} {:<20} {} of {} completed{}",
            r["pathway_name"].as_str().unwrap_or(""),
            r["group"].as_str().unwrap_or(""),
            r["completed"],
            r["attempted"],
            if r["small_group"] == true {
                " (small group)"
            } else {
                ""
            }
        ));
    }

    d.step("Done");
    let hub_learners = d.run("hub", OP, &["learner", "list"])?;
    let count = hub_learners["learners"].as_array().map_or(0, Vec::len);
    d.say(&format!(
        "  The hub holds all {count} learners; each site holds only its own.\n\nEverything is in {root}:\n  hub/, facility/, rural/   the three nodes (staff: op/111111 at the hub, ada/222222 at the sites)\n  {cred}\n  {cert}\n\nTry next:\n  cairn --data {root}/hub status\n  CAIRN_AS=op CAIRN_SECRET=111111 cairn --data {root}/hub reconcile\n  CAIRN_AS=op CAIRN_SECRET=111111 cairn --data {root}/hub report codebook --out codebook.csv\n  cairn credential verify {cred}\n  CAIRN_AS=ada CAIRN_SECRET=222222 cairn --data {root}/facility learner show SMWRC-0001",
        root = root.display()
    ));
    if !json_output && std::io::stdout().is_terminal() {
        let _ = std::io::stdout().flush();
    }
    Ok(Output::new(
        json!({
            "folder": root,
            "hub": d.dir("hub"),
            "sites": {"facility": d.dir("facility"), "rural": d.dir("rural")},
            "credential": cred,
            "certificate": cert,
            "micro_credential_award": micro,
            "verification": v,
            "verification_at_hub": at_hub,
            "hub_learners": count,
            "outcomes": program_rows,
            "seconds": d.started.elapsed().as_secs_f64(),
        }),
        String::new(),
    ))
}
