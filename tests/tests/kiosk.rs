//! The kiosk end to end in Debian's headless Chromium (driven by playwright-core; `.ci/run`
//! installs `chromium`): a learner submits evidence with a file, an assessor accepts it, an
//! issuer awards the badge and prints the certificate, the learner sees it; Spanish renders; a
//! second learner cannot reach the first one's pages; idle sign-out; PIN rate limiting; an admin
//! makes a USB bundle. Screenshots of every page are kept in `test-artifacts/kiosk/`.

use cairn_tests::*;
use std::io::BufRead;
use std::process::{Command, Stdio};

#[test]
fn learners_assessors_and_issuers_do_their_work_in_the_browser() {
    let here = concat!(env!("CARGO_MANIFEST_DIR"), "/kiosk");
    let artifacts = concat!(env!("CARGO_MANIFEST_DIR"), "/../test-artifacts/kiosk");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "Debian's chromium is needed at {chromium} (.ci/run installs it)"
    );
    let npm = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(here)
        .status()
        .expect("npm (.ci/run installs node and npm)");
    assert!(npm.success());

    let root = tempfile::tempdir().unwrap();
    let hub = new_hub(&root.path().join("hub"));
    let site = new_site(
        &hub,
        &root.path().join("site"),
        "Southern Maine Women's Reentry Center",
    );
    sync_through(&hub, &[&site]);
    for (name, role, pin) in [("asa", "assessor", "333333"), ("ivy", "issuer", "444444")] {
        site.run(&["user", "add", "--name", name, "--role", role, "--pin", pin])
            .ok();
    }
    let mut enrollments = Vec::new();
    for (number, pin, lang) in [("K-1", "1111", "en"), ("K-2", "2222", "es")] {
        let l = site
            .run(&[
                "learner",
                "add",
                "--number",
                number,
                "--given-name",
                "Kiosk",
                "--family-name",
                number,
                "--pin",
                pin,
                "--interface-language",
                lang,
            ])
            .ok()["id"]
            .as_str()
            .unwrap()
            .to_string();
        enrollments.push(
            site.run(&["enroll", "--learner", &l, "--achievement", "workready"])
                .ok()["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let evidence = root.path().join("team-log.txt");
    std::fs::write(&evidence, "Monday: led the check-in.\n").unwrap();
    let bundles = root.path().join("bundles");

    // The site runs: kiosk on an ephemeral port, sync retrying against a hub that is not there.
    let mut run = Command::new(bin())
        .env_remove("CAIRN_AS")
        .env_remove("CAIRN_SECRET")
        .env("CAIRN_LOG", "warn")
        .args([
            "--data",
            site.dir.to_str().unwrap(),
            "run",
            "--web",
            "127.0.0.1:0",
            "--idle",
            "5",
        ])
        .args([
            "--hub",
            "127.0.0.1:9",
            "--bundle-dir",
            bundles.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut stdout = std::io::BufReader::new(run.stdout.take().unwrap());
    stdout.read_line(&mut line).unwrap();
    // Keep reading so the node's last words ("Stopped.") have somewhere to go.
    let drain = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let url = line
        .trim()
        .strip_prefix("kiosk ")
        .expect("kiosk line")
        .trim_end_matches('/')
        .to_string();

    let out = Command::new("node")
        .arg(format!("{here}/kiosk.mjs"))
        .args([
            &url,
            artifacts,
            evidence.to_str().unwrap(),
            &enrollments[0],
            "5",
        ])
        .env("CHROMIUM", &chromium)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let _ = Command::new("kill")
        .args(["-TERM", &run.id().to_string()])
        .status();
    let stopped = run.wait().unwrap();
    let last = drain.join().unwrap();
    assert!(out.status.success() && text.contains("ALL OK"), "{text}");
    assert!(
        stopped.success(),
        "cairn run did not stop cleanly on SIGTERM: {stopped:?} {last}"
    );

    // What the browser did is in the store.
    let k1 = site.run(&["learner", "show", "K-1"]).ok().clone();
    assert_eq!(k1["awards"].as_object().unwrap().len(), 1);
    let ev: Vec<&serde_json::Value> = k1["evidence"].as_object().unwrap().values().collect();
    assert_eq!(ev[0]["files"][0]["name"], "team-log.txt");
    let k2 = site.run(&["learner", "show", "K-2"]).ok().clone();
    assert!(
        k2["evidence"].as_object().is_none_or(|e| e.is_empty()),
        "nothing landed on K-2"
    );
    let made: Vec<_> = std::fs::read_dir(&bundles).unwrap().collect();
    assert_eq!(made.len(), 1);
    site.run(&["check"]).ok();
    for name in [
        "01-signin-en",
        "04-learner-es",
        "06-assessor-queue",
        "08-certificate",
        "09-learner-earned",
        "12-admin-bundle",
    ] {
        let png = std::fs::read(format!("{artifacts}/{name}.png")).unwrap();
        assert!(png.starts_with(b"\x89PNG") && png.len() > 1000, "{name}");
    }
}
