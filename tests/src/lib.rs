//! Helpers for the end-to-end tests: running the real `cairn` binary against node folders, as a
//! person would, and starting hubs, sites and links between them.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary under test: `CAIRN_BIN` when set (to test an installed package), else the
/// `cairn-under-test` binary this crate builds from `node/src/main.rs` — the same source as the
/// shipped `cairn`, built beside the test executables.
pub fn bin() -> String {
    if let Ok(path) = std::env::var("CAIRN_BIN") {
        return path;
    }
    let exe = std::env::current_exe().expect("the test executable's path");
    // target/<profile>/deps/<test>-<hash> → target/<profile>/cairn-under-test
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("tests run from target/<profile>/deps");
    let bin = dir.join(format!("cairn-under-test{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: run the tests with cargo test (it builds it)",
        bin.display()
    );
    bin.to_string_lossy().into_owned()
}

/// What one invocation did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub json: Value,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Run {
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        Run {
            code: out.status.code().unwrap_or(-1),
            json: serde_json::from_str(&stdout).unwrap_or(Value::Null),
            stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The `result` of a successful `--json` run; panics with the error otherwise.
    pub fn ok(&self) -> &Value {
        assert_eq!(
            self.code, 0,
            "command failed: {}\n{}",
            self.stderr, self.stdout
        );
        &self.json["result"]
    }

    /// The error kind of a failed `--json` run.
    pub fn error_kind(&self) -> &str {
        self.json["error"]["kind"].as_str().unwrap_or("")
    }
}

/// A node folder and who acts in it.
#[derive(Clone, Debug)]
pub struct Cairn {
    pub dir: PathBuf,
    pub acting: Vec<(String, String)>,
}

impl Cairn {
    pub fn new(dir: &Path) -> Cairn {
        Cairn {
            dir: dir.to_path_buf(),
            acting: Vec::new(),
        }
    }

    /// Act as a staff user from now on.
    pub fn acting_as(mut self, name: &str, secret: &str) -> Cairn {
        self.acting = vec![
            ("CAIRN_AS".into(), name.into()),
            ("CAIRN_SECRET".into(), secret.into()),
        ];
        self
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new(bin());
        c.env_remove("CAIRN_AS")
            .env_remove("CAIRN_AS_LEARNER")
            .env_remove("CAIRN_SECRET")
            .env_remove("CAIRN_DATA");
        c.arg("--data").arg(&self.dir).arg("--json");
        for (k, v) in &self.acting {
            c.env(k, v);
        }
        c
    }

    /// Run with `--json` and the acting person.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command().args(args).output().expect("run cairn"))
    }

    /// Run with `--json` like [`Cairn::run`], calling `during` with the running process (to act
    /// on the node or its files while the command works). Output beyond a pipe's buffer (64 KiB
    /// on Linux) waits until `during` returns.
    pub fn run_while(&self, args: &[&str], during: impl FnOnce(&mut std::process::Child)) -> Run {
        use std::process::Stdio;
        let mut child = self
            .command()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run cairn");
        during(&mut child);
        Run::from(child.wait_with_output().expect("cairn's output"))
    }

    /// Run with `--json`, but give up after `limit`: `None` when the command had not ended by
    /// then (it is killed). For commands that could hang or take too long.
    pub fn run_within(&self, args: &[&str], limit: std::time::Duration) -> Option<Run> {
        let mut ended = true;
        let run = self.run_while(args, |child| {
            let deadline = std::time::Instant::now() + limit;
            while child.try_wait().expect("wait for cairn").is_none() {
                if std::time::Instant::now() > deadline {
                    let _ = child.kill();
                    ended = false;
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        });
        ended.then_some(run)
    }

    /// Run as somebody else for one command.
    pub fn run_as(&self, env: &[(&str, &str)], args: &[&str]) -> Run {
        let mut c = self.command();
        c.env_remove("CAIRN_AS").env_remove("CAIRN_SECRET");
        for (k, v) in env {
            c.env(k, v);
        }
        Run::from(c.args(args).output().expect("run cairn"))
    }

    /// Everything that must not change when a command is refused: the status and the whole
    /// record of every learner.
    pub fn snapshot(&self) -> (Value, Vec<Value>) {
        let status = self.run(&["status"]).ok().clone();
        let learners = self.run(&["learner", "list"]).ok()["learners"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let records = learners
            .iter()
            .map(|l| {
                self.run(&["learner", "show", l["id"].as_str().unwrap()])
                    .ok()
                    .clone()
            })
            .collect();
        let mut status = status;
        status["store_bytes"] = Value::Null;
        (status, records)
    }
}

/// A running `cairn serve`, killed when dropped.
pub struct Hub {
    pub child: std::process::Child,
    /// `HOST:PORT` sites sync with.
    pub addr: String,
    /// `127.0.0.1:PORT` of the hub operators' web app.
    pub web: String,
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Hub {
    /// Stop the hub (SIGKILL) and wait for it.
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stop the hub as systemd does (SIGTERM; SIGKILL after 10 s) and wait for it: sessions
    /// under way end, and what the hub recorded of them is flushed (its records of the sites
    /// are not waited for as each session ends, so a SIGKILL can take the last of them).
    pub fn shut_down(mut self) {
        terminate(&mut self.child);
    }
}

/// Start `cairn serve` for the hub in `dir` on an ephemeral loopback port.
pub fn start_hub(dir: &Path) -> Hub {
    start_hub_on(dir, "127.0.0.1:0")
}

/// Start `cairn serve` on a given address, its web app on an ephemeral loopback port.
pub fn start_hub_on(dir: &Path, listen: &str) -> Hub {
    use std::io::BufRead;
    let mut child = Command::new(bin())
        .env_remove("CAIRN_AS")
        .env_remove("CAIRN_SECRET")
        .env("CAIRN_LOG", "warn")
        .args(["--data", dir.to_str().unwrap(), "serve", "--listen", listen])
        .args(["--web", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the hub");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = std::io::BufReader::new(stdout).lines();
        for line in lines.by_ref().take(2).map_while(Result::ok) {
            let _ = tx.send(line);
        }
        for _ in lines {}
    });
    let wait = std::time::Duration::from_secs(30);
    let line = rx
        .recv_timeout(wait)
        .expect("the hub did not start listening");
    let addr = line
        .strip_prefix("listening ")
        .expect("listening line")
        .to_string();
    let line = rx
        .recv_timeout(wait)
        .expect("the hub did not start its web app");
    let web = line
        .strip_prefix("web http://")
        .expect("web line")
        .trim_end_matches('/')
        .to_string();
    Hub { child, addr, web }
}

/// `cairn status` as people read it (text, not JSON).
pub fn status_text(c: &Cairn) -> String {
    let out = Command::new(bin())
        .env_remove("CAIRN_DATA")
        .args(["--data", c.dir.to_str().unwrap(), "status"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Node ids of a folder.
pub fn node_id(c: &Cairn) -> String {
    c.run(&["id"]).ok()["id"].as_str().unwrap().to_string()
}

/// A hub with an operator `op` (admin, developer) and a small catalog.
pub fn new_hub(dir: &Path) -> Cairn {
    let c = Cairn::new(dir);
    c.run(&[
        "init",
        "--role",
        "hub",
        "--name",
        "University of Maine System",
        "--institution",
        "University of Maine System",
    ])
    .ok();
    c.run(&[
        "user",
        "add",
        "--name",
        "op",
        "--role",
        "admin,developer,assessor,issuer",
        "--pin",
        "111111",
    ])
    .ok();
    let c = c.acting_as("op", "111111");
    for (id, name) in [
        ("css-level-1", "Computer Support Specialist Level 1"),
        ("workready", "WorkReady"),
    ] {
        c.run(&[
            "catalog",
            "add",
            "achievement",
            "--id",
            id,
            "--name",
            name,
            "--description",
            "d",
            "--criteria",
            "c",
            "--level",
            "1",
        ])
        .ok();
    }
    c
}

/// A new site with a staff user `ada` (admin, assessor, issuer; PIN 222222) that has joined no hub.
/// Returns it not yet acting as anybody.
pub fn new_unjoined_site(dir: &Path, name: &str) -> Cairn {
    let c = Cairn::new(dir);
    c.run(&[
        "init",
        "--role",
        "site",
        "--name",
        name,
        "--institution",
        name,
    ])
    .ok();
    c.run(&[
        "user",
        "add",
        "--name",
        "ada",
        "--role",
        "admin,assessor,issuer",
        "--pin",
        "222222",
    ])
    .ok();
    c
}

/// A site admitted by `hub` (which must not be serving) and joined to it.
pub fn new_site(hub: &Cairn, dir: &Path, name: &str) -> Cairn {
    let c = new_unjoined_site(dir, name);
    let id = node_id(&c);
    let prov = dir.with_extension("provisioning.json");
    hub.run(&[
        "site",
        "enroll",
        "--site-id",
        &id,
        "--name",
        name,
        "--out",
        prov.to_str().unwrap(),
    ])
    .ok();
    c.run(&["join", prov.to_str().unwrap()]).ok();
    c.acting_as("ada", "222222")
}

/// `cairn sync --once` against `addr`.
pub fn sync(site: &Cairn, addr: &str) -> Run {
    site.run(&["sync", "--once", "--hub", addr])
}

/// Enroll `learner` in `achievement`; returns the enrollment's id.
pub fn enroll(site: &Cairn, learner: &str, achievement: &str) -> String {
    site.run(&["enroll", "--learner", learner, "--achievement", achievement])
        .ok()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Register a learner and walk one achievement to an award, with an evidence file.
pub fn learner_with_award(site: &Cairn, number: &str, achievement: &str, file: &Path) -> String {
    let l = add_learner(site, number, "G", number, &["--pin", "4321"]);
    earn(site, &l, achievement, "did it", file);
    l
}

/// Add a learner with `extra` arguments to `learner add` (`--pin`, …); returns its id.
pub fn add_learner(
    site: &Cairn,
    number: &str,
    given: &str,
    family: &str,
    extra: &[&str],
) -> String {
    let mut args = vec![
        "learner",
        "add",
        "--number",
        number,
        "--given-name",
        given,
        "--family-name",
        family,
    ];
    args.extend_from_slice(extra);
    site.run(&args).ok()["id"].as_str().unwrap().to_string()
}

/// The learners a folder holds (id → heads of the document), read through the library.
pub fn learner_heads(dir: &Path) -> std::collections::BTreeMap<String, Vec<String>> {
    let node = cairn_node::node::Node::open(dir).unwrap();
    let mut out = std::collections::BTreeMap::new();
    for (doc, _) in node.store.index_scan(b"learner/").unwrap() {
        let doc = cairn_sync_protocol::DocId(doc.as_slice().try_into().unwrap());
        let heads = node.store.doc(&doc).unwrap().unwrap().get_heads();
        out.insert(
            cairn_node::domain::ids::learner_id(&doc),
            heads.iter().map(|h| h.to_string()).collect(),
        );
    }
    out
}

/// A TCP proxy between a site and the hub that throttles bandwidth and cuts each connection
/// after a chosen number of bytes (counted in both directions).
pub struct Proxy {
    pub addr: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    pub connections: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    pub cuts: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// Bytes forwarded from the site to the hub, over all connections.
    pub forwarded_up: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Unblock the accept loop.
        let _ = std::net::TcpStream::connect(&self.addr);
    }
}

/// Start a proxy to `upstream`. `cut_at(n)` gives the byte budget of the n-th connection
/// (`None`: never cut). `bytes_per_sec` throttles each direction.
pub fn start_proxy(
    upstream: &str,
    bytes_per_sec: usize,
    cut_at: impl Fn(usize) -> Option<usize> + Send + 'static,
) -> Proxy {
    use std::io::{Read, Write};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let stop = Arc::new(AtomicBool::new(false));
    let connections = Arc::new(AtomicUsize::new(0));
    let cuts = Arc::new(AtomicUsize::new(0));
    let forwarded_up = Arc::new(AtomicUsize::new(0));
    let upstream = upstream.to_string();
    let (stop2, conns2, cuts2, up2) = (
        stop.clone(),
        connections.clone(),
        cuts.clone(),
        forwarded_up.clone(),
    );
    std::thread::spawn(move || {
        for client in listener.incoming() {
            if stop2.load(Ordering::SeqCst) {
                return;
            }
            let Ok(client) = client else { continue };
            let n = conns2.fetch_add(1, Ordering::SeqCst);
            let Ok(server) = std::net::TcpStream::connect(&upstream) else {
                continue;
            };
            let budget = Arc::new(AtomicUsize::new(cut_at(n).unwrap_or(usize::MAX)));
            let cut = Arc::new(AtomicBool::new(false));
            for (mut from, mut to, counted) in [
                (
                    client.try_clone().unwrap(),
                    server.try_clone().unwrap(),
                    Some(up2.clone()),
                ),
                (
                    server.try_clone().unwrap(),
                    client.try_clone().unwrap(),
                    None,
                ),
            ] {
                let (budget, cut, cuts, stop) =
                    (budget.clone(), cut.clone(), cuts2.clone(), stop2.clone());
                std::thread::spawn(move || {
                    let _ = from.set_read_timeout(Some(std::time::Duration::from_secs(30)));
                    let mut buf = [0u8; 4096];
                    loop {
                        if stop.load(Ordering::SeqCst) || cut.load(Ordering::SeqCst) {
                            break;
                        }
                        let Ok(k) = from.read(&mut buf) else { break };
                        if k == 0 {
                            break;
                        }
                        let left = budget
                            .fetch_sub(k.min(budget.load(Ordering::SeqCst)), Ordering::SeqCst);
                        let send = k.min(left);
                        if send > 0 && to.write_all(&buf[..send]).is_err() {
                            break;
                        }
                        if let Some(counted) = &counted {
                            counted.fetch_add(send, Ordering::SeqCst);
                        }
                        if send < k {
                            if !cut.swap(true, Ordering::SeqCst) {
                                cuts.fetch_add(1, Ordering::SeqCst);
                            }
                            break;
                        }
                        std::thread::sleep(std::time::Duration::from_secs_f64(
                            k as f64 / bytes_per_sec as f64,
                        ));
                    }
                    let _ = from.shutdown(std::net::Shutdown::Both);
                    let _ = to.shutdown(std::net::Shutdown::Both);
                });
            }
        }
    });
    Proxy {
        addr,
        stop,
        connections,
        cuts,
        forwarded_up,
    }
}

/// Copy a node's folder, as an operator backing it up by hand would.
pub fn copy_dir(from: &Path, to: &Path) {
    cairn_node::node::copy_dir(from, to).unwrap();
}

/// Start the hub, run `cairn sync --once` for each site in turn (each must succeed), stop the
/// hub. Returns the sites' sync reports, in order.
pub fn sync_through(hub: &Cairn, sites: &[&Cairn]) -> Vec<Value> {
    let h = start_hub(&hub.dir);
    let reports = sites
        .iter()
        .map(|s| sync(s, &h.addr).ok().clone())
        .collect();
    // As systemd stops it: a hub flushes its records of the sites (checkpoints, history) as it
    // stops, not as each session ends, and tests read them (`report sites`).
    h.shut_down();
    reports
}

/// One more round, with the hub started afresh, before comparing documents at the hub and at
/// its sites. The hub signs the program's copy of an award in the background once the session
/// that brought it is over (`App::upkeep_before_session`), so the copy is in the hub's document
/// at once but reaches the award's home site only in its next session, which signs whatever is
/// still missing before it starts. After this round, a difference is a real one.
pub fn settle(hub: &Cairn, sites: &[&Cairn]) {
    sync_through(hub, sites);
}

/// The SHA-256 of the first file of the first evidence in a learner record that has a file
/// (evidence ids are random, so a narrative-only evidence may sort first).
pub fn first_evidence_sha(record: &Value) -> String {
    record["evidence"]
        .as_object()
        .and_then(|e| e.values().find_map(|v| v["files"][0]["sha256"].as_str()))
        .expect("the record has evidence with a file")
        .to_string()
}

/// Fetch the first evidence file of a learner record from `node` and check it is `original`,
/// byte for byte.
pub fn assert_first_evidence_file_is(
    node: &Cairn,
    record: &Value,
    original: &Path,
    scratch: &Path,
) {
    let sha = first_evidence_sha(record);
    node.run(&["evidence", "file", &sha, "--out", scratch.to_str().unwrap()])
        .ok();
    assert_eq!(
        std::fs::read(scratch).unwrap(),
        std::fs::read(original).unwrap()
    );
}

/// A file of `size` bytes whose content depends on `seed`, so files made with different seeds
/// differ (and are stored as different evidence).
pub fn distinct_file(dir: &Path, name: &str, size: usize, seed: u8) -> std::path::PathBuf {
    let p = dir.join(name);
    // Seeded random bytes: incompressible, like the photos and scans learners submit, so batch
    // compression does not shrink what the transfer tests put on the wire.
    use rand::{RngCore, SeedableRng};
    let mut data = vec![0u8; size];
    rand::rngs::StdRng::seed_from_u64(u64::from(seed)).fill_bytes(&mut data);
    std::fs::write(&p, data).unwrap();
    p
}

pub mod http;

/// A running `cairn run` (site service with its web interface), stopped with SIGTERM when dropped.
pub struct RunningSite {
    pub child: std::process::Child,
    /// `127.0.0.1:PORT` of the web interface.
    pub web: String,
}

impl RunningSite {
    /// The process id, for reading its memory from /proc.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A field of /proc/PID/status in kB (`VmRSS`, `VmHWM`).
    pub fn memory_kb(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("the site process is running");
        status
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {field} in /proc/PID/status"))
    }

    /// Stop with SIGTERM and wait (bounded), as systemd would.
    pub fn stop(mut self) -> std::process::ExitStatus {
        terminate(&mut self.child)
    }
}

impl Drop for RunningSite {
    fn drop(&mut self) {
        let _ = terminate(&mut self.child);
    }
}

fn terminate(child: &mut std::process::Child) -> std::process::ExitStatus {
    if let Ok(Some(s)) = child.try_wait() {
        return s;
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .stderr(std::process::Stdio::null())
        .status();
    for _ in 0..200 {
        if let Ok(Some(s)) = child.try_wait() {
            return s;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    child.wait().expect("wait for the site process")
}

/// Start `cairn run` for the site in `dir` with its web interface on an ephemeral loopback port
/// (no hub reachable: sync retries in the background), plus `extra` arguments.
pub fn start_site(dir: &Path, extra: &[&str]) -> RunningSite {
    run_site(dir, "127.0.0.1:9", extra)
}

/// Start `cairn run` for the site in `dir`, syncing with the hub at `hub`, its web interface on
/// an ephemeral loopback port, plus `extra` arguments.
pub fn run_site(dir: &Path, hub: &str, extra: &[&str]) -> RunningSite {
    run_site_on(dir, hub, "127.0.0.1:0", extra)
}

/// Start `cairn run` for the site in `dir`, syncing with the hub at `hub`, its web interface on
/// `web` (an address a test chose), plus `extra` arguments.
pub fn run_site_on(dir: &Path, hub: &str, web: &str, extra: &[&str]) -> RunningSite {
    use std::io::BufRead;
    let mut child = Command::new(bin())
        .env_remove("CAIRN_AS")
        .env_remove("CAIRN_SECRET")
        .env_remove("CAIRN_DATA")
        .env("CAIRN_LOG", "warn")
        .args(["--data", dir.to_str().unwrap(), "run", "--web", web])
        .args(["--hub", hub])
        .args(extra)
        .stdout(std::process::Stdio::piped())
        // What the service says goes beside its folder, for a failing test to show.
        .stderr(
            std::fs::File::create(dir.with_extension("log"))
                .map(std::process::Stdio::from)
                .unwrap_or_else(|_| std::process::Stdio::null()),
        )
        .spawn()
        .expect("start cairn run");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = std::io::BufReader::new(stdout).lines();
        for line in lines.by_ref().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("web http://") {
                let _ = tx.send(url.trim_end_matches('/').to_string());
                break;
            }
        }
        for _ in lines {}
    });
    let web = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("cairn run did not start its web interface");
    RunningSite { child, web }
}

/// At the hub: Computer Support Specialist Levels 2 and 3 (Level 1 is in [`new_hub`]'s catalog),
/// the pathway of the three, and its recognition (9 credits).
pub fn add_css_pathway(hub: &Cairn) {
    for level in 2..=3 {
        hub.run(&[
            "catalog",
            "add",
            "achievement",
            "--id",
            &format!("css-level-{level}"),
            "--name",
            &format!("Computer Support Specialist Level {level}"),
            "--description",
            "Supports computer users",
            "--criteria",
            "Resolves a help-desk ticket end to end",
            "--level",
            &level.to_string(),
            "--skill",
            "Troubleshooting|O*NET|15-1232.00",
        ])
        .ok();
    }
    hub.run(&[
        "catalog",
        "add",
        "pathway",
        "--id",
        "css",
        "--name",
        "Computer Support Specialist",
        "--description",
        "Levels 1-3",
        "--part",
        "css-level-1",
        "--part",
        "css-level-2",
        "--part",
        "css-level-3",
    ])
    .ok();
    hub.run(&[
        "catalog",
        "add",
        "recognition",
        "--id",
        "css-as-cis",
        "--for",
        "css",
        "--recognizer",
        "University of Maine System",
        "--description",
        "9 college credits toward AS Computer Information Systems",
        "--credits",
        "9",
    ])
    .ok();
}

/// Enroll a learner, submit `file` and `narrative` (unless empty) as evidence, assess it
/// proficient and award.
pub fn earn(site: &Cairn, learner: &str, achievement: &str, narrative: &str, file: &Path) {
    let e = site
        .run(&["enroll", "--learner", learner, "--achievement", achievement])
        .ok()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut submit = vec!["evidence", "submit", "--enrollment", &e];
    if !narrative.is_empty() {
        submit.extend(["--narrative", narrative]);
    }
    submit.extend(["--file", file.to_str().unwrap()]);
    let v = site.run(&submit).ok()["id"].as_str().unwrap().to_string();
    site.run(&["assess", "--evidence", &v, "--decision", "proficient"])
        .ok();
    site.run(&["award", "--enrollment", &e]).ok();
}

/// Put settings at the top of a node's config.toml (before any table).
pub fn configure(node: &Cairn, lines: &str) {
    let path = node.dir.join("config.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{lines}\n{text}")).unwrap();
}

/// Poll `check` until it holds; panic after 60 s.
pub fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Install the pinned npm packages of `dir` (its package-lock.json), as `npm ci` does.
pub fn npm_ci(dir: &str) {
    let npm = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(dir)
        .status()
        .expect("npm (.ci/run installs node and npm)");
    assert!(npm.success(), "npm ci in {dir} failed");
}

/// Export `award`'s credential from `c` into `out` (`cairn credential export`) and read it back.
pub fn export_credential(c: &Cairn, award: &str, out: &Path) -> Value {
    c.run(&[
        "credential",
        "export",
        award,
        "--out",
        out.to_str().unwrap(),
    ])
    .ok();
    serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap()
}

/// Unpack into `root` the three nodes (`hub`, `facility`, `rural`) that `cairn demo --keep` left
/// behind at commit 9a2a1de, before records were typed; returns their folder.
pub fn legacy_demo(root: &Path) -> PathBuf {
    unpack(root, "legacy-demo-9a2a1de", "legacy-demo")
}

/// Unpack into `root` a demo's hub and rural site made by the release whose record index grows
/// (round 40), each then given a learner by round 39's release (`e950267`), which files records
/// in 65,536 buckets and lowers the derived format's mark; returns their folder
/// (tests/data/README.md).
pub fn downgraded_demo(root: &Path) -> PathBuf {
    unpack(root, "downgraded-demo-e950267", "downgraded-demo-e950267")
}

/// Unpack `tests/data/NAME.tar.gz` into `root`; returns the folder `folder` it holds.
fn unpack(root: &Path, name: &str, folder: &str) -> PathBuf {
    let archive = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("data/{name}.tar.gz"));
    let status = std::process::Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("-C")
        .arg(root)
        .status()
        .expect("tar");
    assert!(status.success(), "unpacking {}", archive.display());
    root.join(folder)
}
