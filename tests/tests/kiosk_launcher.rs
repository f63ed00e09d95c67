//! The kiosk launcher (deploy/kiosk/cairn-kiosk.sh, installed as /usr/bin/cairn-kiosk) against
//! a running `cairn run`: its wait for the node returns as soon as the node answers the very
//! address Chromium will open — with or without a trailing slash — and gives up, bounded, on an
//! address that answers an error or nothing. (It used to probe `URL/signin`, which for the
//! default `http://127.0.0.1:8080/` is `//signin`, a 404: every boot waited two minutes.)

use cairn_tests::*;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn launcher() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/kiosk/cairn-kiosk.sh")
}

/// Run `script` in bash with the launcher's functions loaded (sourcing starts nothing).
fn with_launcher(script: &str, env: &[(&str, &str)]) -> (Output, Duration) {
    let started = Instant::now();
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(". \"$LAUNCHER\"; {script}"))
        .env("LAUNCHER", launcher())
        .env_remove("CAIRN_KIOSK_URL")
        .envs(env.iter().copied())
        .output()
        .expect("run bash");
    (out, started.elapsed())
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A loopback port nothing listens on (just now).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn the_wait_returns_as_soon_as_the_running_node_answers() {
    let root = tempfile::tempdir().unwrap();
    new_unjoined_site(&root.path().join("site"), "Ellsworth Adult Education");
    let site = start_site(&root.path().join("site"), &[]);
    for url in [
        format!("http://{}/", site.web),
        format!("http://{}", site.web),
    ] {
        let (out, took) = with_launcher(
            "kiosk_wait_for_node \"$URL\"",
            &[("URL", url.as_str()), ("CAIRN_KIOSK_WAIT_DELAY", "2")],
        );
        assert!(out.status.success(), "{url}: {}", text(&out));
        assert!(
            took < Duration::from_secs(2),
            "{url}: the first probe should answer; it took {took:?}"
        );
    }
    // `cairn-kiosk --check` with the address from the environment says so, and starts nothing.
    let out = Command::new("bash")
        .arg(launcher())
        .arg("--check")
        .env("CAIRN_KIOSK_URL", format!("http://{}/", site.web))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("answers"), "{}", text(&out));
}

#[test]
fn the_wait_follows_a_node_that_starts_later() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("site");
    new_unjoined_site(&dir, "Ellsworth Adult Education");
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/");
    // The kiosk boots first and waits; the node comes up a moment later.
    let waiting = {
        let url = url.clone();
        std::thread::spawn(move || {
            with_launcher(
                "kiosk_wait_for_node \"$URL\"",
                &[
                    ("URL", url.as_str()),
                    ("CAIRN_KIOSK_WAIT_TRIES", "150"),
                    ("CAIRN_KIOSK_WAIT_DELAY", "0.2"),
                ],
            )
        })
    };
    std::thread::sleep(Duration::from_millis(1500));
    let up = Instant::now();
    let node = run_site_on(&dir, "127.0.0.1:9", &format!("127.0.0.1:{port}"), &[]);
    let (out, _) = waiting.join().unwrap();
    let after = up.elapsed();
    node.stop();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        after < Duration::from_secs(10),
        "the kiosk noticed the node {after:?} after it started"
    );
}

#[test]
fn the_wait_gives_up_on_an_error_page_or_nothing_and_says_so() {
    let root = tempfile::tempdir().unwrap();
    new_unjoined_site(&root.path().join("site"), "Ellsworth Adult Education");
    let site = start_site(&root.path().join("site"), &[]);
    let fast = [
        ("CAIRN_KIOSK_WAIT_TRIES", "3"),
        ("CAIRN_KIOSK_WAIT_DELAY", "0.1"),
    ];
    for url in [
        // What the old probe asked for: an error page is not the node being ready.
        format!("http://{}//signin", site.web),
        format!("http://{}/no-such-page", site.web),
        format!("http://127.0.0.1:{}/", free_port()),
    ] {
        let mut env = fast.to_vec();
        env.push(("URL", url.as_str()));
        let (out, took) = with_launcher("kiosk_wait_for_node \"$URL\"", &env);
        assert_eq!(out.status.code(), Some(1), "{url}: {}", text(&out));
        assert!(
            text(&out).contains("did not answer after 3 tries"),
            "{url}: {}",
            text(&out)
        );
        assert!(
            took < Duration::from_secs(5),
            "{url}: gave up after {took:?}"
        );
    }
    let out = Command::new("bash")
        .arg(launcher())
        .arg("--check")
        .env(
            "CAIRN_KIOSK_URL",
            format!("http://127.0.0.1:{}/", free_port()),
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("does not answer"), "{}", text(&out));
}
