//! The permission table of docs/permissions.md, tested: every operation, as every kind of person,
//! through every door that offers it — the command line opening a stopped node's store, the
//! command line carried out by the running node over its control socket, and (in
//! `web_app.rs`) the browser — must be allowed or refused exactly as the table says.
//!
//! The expected answers are read from the document itself, so the page people read, the code
//! and every adapter cannot drift apart.

use cairn_tests::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The table: operation → the columns with a tick.
pub fn table() -> (Vec<String>, BTreeMap<String, Vec<bool>>) {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/permissions.md"
    ))
    .unwrap();
    let mut rows = doc.lines().filter(|l| l.starts_with('|'));
    let header: Vec<String> = rows
        .next()
        .unwrap()
        .split('|')
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .skip(1)
        .collect();
    let mut out = BTreeMap::new();
    for row in rows.skip(1) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let op = cells[1].trim_matches('`').to_string();
        let ticks = cells[2..2 + header.len()]
            .iter()
            .map(|c| *c == "✓")
            .collect();
        out.insert(op, ticks);
    }
    (header, out)
}

/// Who acts, as the command line signs them in.
#[derive(Clone, Debug)]
struct Who {
    column: String,
    env: Vec<(&'static str, String)>,
}

/// The nodes and records every operation can act on.
struct Fixture {
    root: PathBuf,
    hub: Cairn,
    site: Cairn,
    learner: String,
    award: String,
    open_enrollment: String,
    open_evidence: String,
    sha: String,
    credential: PathBuf,
    provisioning: PathBuf,
    spare_sites: (String, String),
    garbage: PathBuf,
    counter: std::cell::Cell<u32>,
}

const STAFF: [(&str, &str, &str); 5] = [
    ("earner", "earner", "4444"),
    ("assessor", "assessor", "333333"),
    ("issuer", "issuer", "444444"),
    ("developer", "developer", "5555"),
    ("admin", "admin", "666666"),
];

impl Fixture {
    fn new(root: &Path) -> Fixture {
        let hub = new_hub(&root.join("hub"));
        let site = new_site(&hub, &root.join("site"), "Site");
        for node in [&hub, &site] {
            for (name, role, pin) in STAFF {
                node.run(&["user", "add", "--name", name, "--role", role, "--pin", pin])
                    .ok();
            }
        }
        sync_through(&hub, &[&site]);
        let f = distinct_file(root, "work.pdf", 1000, 9);
        let learner = learner_with_award(&site, "K-1", "workready", &f);
        let open_enrollment = site
            .run(&["enroll", "--learner", "K-1", "--achievement", "css-level-1"])
            .ok()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let open_evidence = site
            .run(&[
                "evidence",
                "submit",
                "--enrollment",
                &open_enrollment,
                "--narrative",
                "first try",
            ])
            .ok()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let record = site.run(&["learner", "show", "K-1"]).ok().clone();
        let award = record["awards"]
            .as_object()
            .unwrap()
            .keys()
            .next()
            .unwrap()
            .clone();
        let credential = root.join("credential.json");
        site.run(&[
            "credential",
            "export",
            &award,
            "--out",
            credential.to_str().unwrap(),
        ])
        .ok();
        let spare = |name: &str| {
            let c = Cairn::new(&root.join(name));
            c.run(&["init", "--role", "site", "--name", name]).ok();
            node_id(&c)
        };
        let garbage = root.join("garbage.cairn");
        std::fs::write(&garbage, b"not a bundle at all").unwrap();
        Fixture {
            root: root.to_path_buf(),
            sha: first_evidence_sha(&record),
            provisioning: root.join("site.provisioning.json"),
            spare_sites: (spare("spare-enroll"), spare("spare-revoke")),
            hub,
            site,
            learner,
            award,
            open_enrollment,
            open_evidence,
            credential,
            garbage,
            counter: std::cell::Cell::new(0),
        }
    }

    /// A path nobody used yet.
    fn fresh(&self, name: &str) -> String {
        self.counter.set(self.counter.get() + 1);
        self.root
            .join(format!("out-{}-{name}", self.counter.get()))
            .to_string_lossy()
            .into_owned()
    }

    fn columns(&self) -> Vec<Who> {
        let mut out = vec![
            Who {
                column: "operator".into(),
                env: vec![],
            },
            Who {
                column: "learner (own record)".into(),
                env: vec![
                    ("CAIRN_AS_LEARNER", "K-1".into()),
                    ("CAIRN_SECRET", "4321".into()),
                ],
            },
        ];
        for (name, _, pin) in STAFF {
            out.push(Who {
                column: name.into(),
                env: vec![("CAIRN_AS", name.into()), ("CAIRN_SECRET", pin.into())],
            });
        }
        out
    }

    /// Where an operation runs (`true`: the hub) and its arguments.
    fn invocation(&self, op: &str) -> (bool, Vec<String>) {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let n = self.counter.get();
        match op {
            "id" => (false, s(&["id"])),
            "status" => (false, s(&["status"])),
            "check" => (false, s(&["check"])),
            "rebuild" => (false, s(&["rebuild"])),
            "backup" => (false, s(&["backup", "--out", &self.fresh("backup")])),
            "audit" => (false, s(&["audit"])),
            "conflicts" => (false, s(&["conflicts"])),
            "user add" => (
                false,
                s(&[
                    "user",
                    "add",
                    "--name",
                    &format!("new{n}"),
                    "--role",
                    "earner",
                    "--pin",
                    "4321",
                ]),
            ),
            "user list" => (false, s(&["user", "list"])),
            "user edit" => (false, s(&["user", "edit", "earner", "--role", "earner"])),
            "catalog list" => (false, s(&["catalog", "list"])),
            "catalog add" => (
                true,
                s(&[
                    "catalog",
                    "add",
                    "achievement",
                    "--id",
                    &format!("new-{n}"),
                    "--name",
                    "New",
                    "--description",
                    "d",
                    "--criteria",
                    "c",
                ]),
            ),
            "learner add" => (
                false,
                s(&[
                    "learner",
                    "add",
                    "--number",
                    &format!("N-{n}"),
                    "--given-name",
                    "N",
                    "--family-name",
                    "N",
                ]),
            ),
            "learner import" => {
                let roster = self.fresh("roster.csv");
                std::fs::write(
                    &roster,
                    format!("number,given_name,family_name\nI-{n},I,N\n"),
                )
                .unwrap();
                (false, s(&["learner", "import", &roster]))
            }
            "learner show" => (false, s(&["learner", "show", "K-1"])),
            "learner list" => (false, s(&["learner", "list"])),
            "learner edit" => (
                false,
                s(&["learner", "edit", "K-1", "--primary-language", "English"]),
            ),
            "learner transfer" => (
                true,
                s(&[
                    "learner",
                    "transfer",
                    "--learner",
                    &self.learner,
                    "--to",
                    &node_id(&self.site),
                ]),
            ),
            "enroll" => (
                false,
                s(&["enroll", "--learner", "K-1", "--achievement", "workready"]),
            ),
            "evidence submit" => (
                false,
                s(&[
                    "evidence",
                    "submit",
                    "--enrollment",
                    &self.open_enrollment,
                    "--narrative",
                    "again",
                ]),
            ),
            "evidence file" => (
                false,
                s(&["evidence", "file", &self.sha, "--out", &self.fresh("file")]),
            ),
            "assess" => (
                false,
                s(&[
                    "assess",
                    "--evidence",
                    &self.open_evidence,
                    "--decision",
                    "not-yet",
                ]),
            ),
            "award" => (false, s(&["award", "--enrollment", &self.open_enrollment])),
            "outcome add" => (
                false,
                s(&["outcome", "add", "--learner", "K-1", "--kind", "promotion"]),
            ),
            "credential export" => (
                false,
                s(&[
                    "credential",
                    "export",
                    &self.award,
                    "--out",
                    &self.fresh("cred.json"),
                ]),
            ),
            "credential certificate" => (
                false,
                s(&[
                    "credential",
                    "certificate",
                    &self.award,
                    "--out",
                    &self.fresh("cert.html"),
                ]),
            ),
            "credential verify" => (
                false,
                s(&["credential", "verify", self.credential.to_str().unwrap()]),
            ),
            "site enroll" => (
                true,
                s(&[
                    "site",
                    "enroll",
                    "--site-id",
                    &self.spare_sites.0,
                    "--name",
                    "Spare",
                    "--out",
                    &self.fresh("prov.json"),
                ]),
            ),
            "site revoke" => (true, s(&["site", "revoke", &self.spare_sites.1])),
            "site list" => (true, s(&["site", "list"])),
            "join" => (false, s(&["join", self.provisioning.to_str().unwrap()])),
            "bundle export" => (
                false,
                s(&["bundle", "export", "--out", &self.fresh("b.cairn")]),
            ),
            "bundle import" => (
                false,
                s(&["bundle", "import", self.garbage.to_str().unwrap()]),
            ),
            "sync" => (false, s(&["sync", "--once", "--hub", "127.0.0.1:9"])),
            "reconcile" => (true, s(&["reconcile"])),
            "reconcile merge/pick/accept" => (true, s(&["reconcile", "accept", "S-NOSUCHONE"])),
            "report codebook" => (
                true,
                s(&["report", "codebook", "--out", &self.fresh("cb.csv")]),
            ),
            "report outcomes" => (true, s(&["report", "outcomes"])),
            "report sites" => (true, s(&["report", "sites"])),
            other => panic!("the table names an operation this test does not know: {other}"),
        }
    }

    /// Perform `op` as `who`; true when it was allowed (anything but a refusal of who acts).
    fn allowed(&self, op: &str, who: &Who) -> bool {
        let (at_hub, args) = self.invocation(op);
        // Learners sign in at their site; staff where the operation lives.
        let node = if at_hub && who.column != "learner (own record)" {
            &self.hub
        } else {
            &self.site
        };
        let env: Vec<(&str, &str)> = who.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = node.run_as(&env, &args);
        let refused = r.code == 3 && r.error_kind() == "unauthorized";
        if refused {
            // A refusal must be about who acts, not a failed sign-in.
            let message = r.json["error"]["message"].as_str().unwrap_or("");
            assert!(
                !message.contains("do not match"),
                "{} could not sign in for {op}: {message}",
                who.column
            );
        }
        !refused
    }
}

fn check_every_cell(f: &Fixture, door: &str) {
    let (header, table) = table();
    let columns = f.columns();
    assert_eq!(
        header,
        columns.iter().map(|c| c.column.clone()).collect::<Vec<_>>()
    );
    let mut wrong = Vec::new();
    for (op, expected) in &table {
        for (who, allow) in columns.iter().zip(expected) {
            if f.allowed(op, who) != *allow {
                wrong.push(format!(
                    "{op} as {}: expected {}",
                    who.column,
                    if *allow { "allowed" } else { "refused" }
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "through {door}:\n{}", wrong.join("\n"));
}

#[test]
fn every_operation_role_and_door_agrees_with_the_table() {
    let root = tempfile::tempdir().unwrap();
    let f = Fixture::new(root.path());
    // The command line, opening the stores itself.
    check_every_cell(&f, "the command line on stopped nodes");
    // The command line, carried out by the running nodes over their control sockets.
    let serving = start_hub(&f.hub.dir);
    let running = start_site(&f.site.dir, &[]);
    assert_eq!(f.site.run(&["status"]).ok()["running"], true);
    assert_eq!(f.hub.run(&["status"]).ok()["running"], true);
    check_every_cell(&f, "the control sockets of running nodes");
    assert!(running.stop().success());
    serving.stop();
}
