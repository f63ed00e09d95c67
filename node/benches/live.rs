//! `cargo bench -p cairn-node --bench live`
//!
//! How long a command takes against a running node, beside the same command opening a stopped
//! node's store: `CAIRN_BENCH_COMMANDS` (default 200) runs of `cairn learner add` with a staff
//! sign-in (argon2 included), each a new `cairn` process, first with no service running (the
//! command opens the store, signs in, writes, flushes), then with `cairn run` holding the folder
//! (the command hands the request to it over the control socket). Prints a Markdown table for
//! docs/benchmarks.md.
//!
//! `cargo bench -p cairn-node --bench live -- import`: a roster of `CAIRN_BENCH_ROSTER` (default
//! 10,000) learners imported with one `cairn learner import` into a new site, against the same
//! learners' share of `learner add` runs measured the same way (one process and flush each).

use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn cairn(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cairn"));
    c.env_remove("CAIRN_AS")
        .env_remove("CAIRN_SECRET")
        .env_remove("CAIRN_DATA")
        .arg("--data")
        .arg(dir);
    c
}

fn ok(c: &mut Command) {
    let out = c.output().expect("run cairn");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn timed(dir: &Path, label: &str, n: usize) -> Vec<Duration> {
    (0..n)
        .map(|i| {
            let number = format!("{label}-{i}");
            let started = Instant::now();
            ok(cairn(dir)
                .env("CAIRN_AS", "ada")
                .env("CAIRN_SECRET", "246810")
                .args(["learner", "add", "--number", &number])
                .args(["--given-name", "Bench", "--family-name", &number]));
            started.elapsed()
        })
        .collect()
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// A new site with an admin, `ada`.
fn new_site(dir: &Path) {
    ok(cairn(dir).args(["init", "--role", "site", "--name", "Bench"]));
    ok(cairn(dir).args([
        "user", "add", "--name", "ada", "--role", "admin", "--pin", "246810",
    ]));
}

fn roster_import() {
    let n: usize = std::env::var("CAIRN_BENCH_ROSTER")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let root = tempfile::tempdir().unwrap();
    let file = root.path().join("roster.csv");
    let mut csv = String::from(
        "number,given_name,family_name,year_of_birth,gender,race_ethnicity,pell_eligible\n",
    );
    for i in 0..n {
        csv.push_str(&format!(
            "R-{i},Learner {i},Family {i},{},female,hispanic-latino;white,yes\n",
            1960 + i % 40
        ));
    }
    std::fs::write(&file, csv).unwrap();
    let dir = root.path().join("site");
    new_site(&dir);
    let started = Instant::now();
    ok(cairn(&dir)
        .env("CAIRN_AS", "ada")
        .env("CAIRN_SECRET", "246810")
        .args(["learner", "import", file.to_str().unwrap()]));
    let import = started.elapsed();
    let one_by_one = root.path().join("one-by-one");
    new_site(&one_by_one);
    let mut adds = timed(&one_by_one, "add", 50);
    adds.sort();
    let add = quantile(&adds, 0.5);
    let bytes = std::fs::metadata(&file).unwrap().len();
    println!("| roster of {n} learners ({bytes} bytes of CSV) | time | learners/s |");
    println!("|---|---|---|");
    println!(
        "| `cairn learner import` (one process, one durable batch) | {:.2} s | {:.0} |",
        import.as_secs_f64(),
        n as f64 / import.as_secs_f64()
    );
    println!(
        "| `cairn learner add` per learner (median of 50, times {n}) | {:.1} s | {:.0} |",
        add.as_secs_f64() * n as f64,
        1.0 / add.as_secs_f64()
    );
    println!(
        "| ratio | {:.0}× faster | |",
        add.as_secs_f64() * n as f64 / import.as_secs_f64()
    );
}

fn main() {
    if std::env::args().any(|a| a == "import") {
        return roster_import();
    }
    let n: usize = std::env::var("CAIRN_BENCH_COMMANDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("site");
    new_site(&dir);
    let mut stopped = timed(&dir, "stopped", n);
    let mut service = cairn(&dir)
        .args(["run", "--web", "127.0.0.1:0", "--hub", "127.0.0.1:9"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(service.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let mut running = timed(&dir, "running", n);
    let _ = Command::new("kill")
        .args(["-TERM", &service.id().to_string()])
        .status();
    let _ = service.wait();
    stopped.sort();
    running.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("| `learner add` with sign-in, {n} runs | median | p99 |");
    println!("|---|---|---|");
    for (label, v) in [
        ("stopped node (opens the store)", &stopped),
        ("running node (control socket)", &running),
    ] {
        println!(
            "| {label} | {:.1} ms | {:.1} ms |",
            ms(quantile(v, 0.5)),
            ms(quantile(v, 0.99))
        );
    }
    println!(
        "| running / stopped | {:.2}× | {:.2}× |",
        ms(quantile(&running, 0.5)) / ms(quantile(&stopped, 0.5)),
        ms(quantile(&running, 0.99)) / ms(quantile(&stopped, 0.99))
    );
}
