//! Attacks on the site's web interface from the kiosk and the LAN (issue 14), each reproduced
//! over raw HTTP from chosen loopback source addresses against a running `cairn run`: wiping or
//! sidestepping sign-in throttling, racing it, exhausting memory before sign-in, cross-site
//! request forgery, cached pages after sign-out, missing security headers, timing that tells
//! known accounts from unknown ones, and error pages that show server paths.

use cairn_tests::http::{self, Request, Response, csrf_field, send};
use cairn_tests::*;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::{Duration, Instant};

/// Staff of the lab: an admin/assessor/issuer with a six-digit PIN.
const ADMIN: (&str, &str) = ("ada", "246810");

/// A site (no hub needed) with its admin and `learners` learners numbered K-1… with PIN 1357
/// (the victim V-1 has 2468).
fn lab(dir: &Path, learners: usize) -> Cairn {
    let c = Cairn::new(dir);
    c.run(&["init", "--role", "site", "--name", "Lab"]).ok();
    c.run(&[
        "user",
        "add",
        "--name",
        ADMIN.0,
        "--role",
        "admin,assessor,issuer",
        "--pin",
        ADMIN.1,
    ])
    .ok();
    let c = c.acting_as(ADMIN.0, ADMIN.1);
    c.run(&[
        "learner",
        "add",
        "--number",
        "V-1",
        "--given-name",
        "Vera",
        "--family-name",
        "Victim",
        "--pin",
        "2468",
    ])
    .ok();
    for i in 1..=learners {
        let n = format!("K-{i}");
        c.run(&[
            "learner",
            "add",
            "--number",
            &n,
            "--given-name",
            "Lee",
            "--family-name",
            &n,
            "--pin",
            "1357",
        ])
        .ok();
    }
    c
}

/// A lab with `learners` learners, its service running.
fn running_lab(learners: usize) -> (tempfile::TempDir, Cairn, RunningSite) {
    let root = tempfile::tempdir().unwrap();
    let site = lab(&root.path().join("site"), learners);
    let running = start_site(&site.dir, &[]);
    (root, site, running)
}

/// What a sign-in attempt came to.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Outcome {
    /// Signed in (a session cookie and a redirect into the app).
    In,
    /// The secret was checked and was wrong.
    Wrong,
    /// Refused without checking the secret: the account or address must wait.
    Held,
    /// Anything else (a status code).
    Other(u16),
}

/// Sign in as a browser would (see [`http::sign_in`]) and classify the answer.
fn sign_in(web: &str, from: Ipv4Addr, kind: &str, who: &str, secret: &str) -> (Outcome, Response) {
    let r = http::sign_in(web, from, kind, who, secret);
    (classify(&r), r)
}

fn classify(r: &Response) -> Outcome {
    let to = r.location();
    match r.status {
        302 | 303 | 307 if to.contains("error=locked") || to.contains("error=wait") => {
            Outcome::Held
        }
        302 | 303 | 307 if to.contains("error=") => Outcome::Wrong,
        302 | 303 | 307 if to.starts_with("/me") || to.starts_with("/staff") => Outcome::In,
        429 => Outcome::Held,
        s => Outcome::Other(s),
    }
}

fn addr(n: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(127, 0, 0, 0)) + n)
}

/// Wrong guesses at an account until it is held; returns how many were checked (bounded).
fn guess_until_held(web: &str, kind: &str, spellings: &[&str], first_addr: u32) -> usize {
    let mut checked = 0;
    for i in 0..60u32 {
        let who = spellings[i as usize % spellings.len()];
        match sign_in(web, addr(first_addr + i), kind, who, "999999").0 {
            Outcome::Wrong => checked += 1,
            Outcome::Held => return checked,
            other => panic!("unexpected answer to a wrong guess: {other:?}"),
        }
    }
    panic!("60 wrong guesses at one account were all checked: no throttling");
}

#[test]
fn a_flood_of_new_keys_does_not_wipe_an_accounts_lockout() {
    let (_root, _site, running) = running_lab(0);
    let web = running.web.clone();
    let checked = guess_until_held(&web, "staff", &["ada"], 2);
    assert!(
        checked >= 3,
        "a person who mistypes gets a few tries ({checked})"
    );
    // 325 addresses, each failing with 31 names nobody has: on the old code this cleared the
    // whole failure table (10,000 keys) in under three seconds. Now every unknown name costs a
    // decoy secret check, so the flood is cut at 25 s; either way the lockout must hold.
    let started = Instant::now();
    for a in 0..325u32 {
        // An attacker fetches the form once per address and reuses its token.
        let page = http::sign_in_page(&web, addr(1000 + a));
        for n in 0..31 {
            if started.elapsed() > Duration::from_secs(25) {
                break;
            }
            let who = format!("nobody-{a}-{n}");
            let _ = http::post_sign_in(&web, addr(1000 + a), &page, "staff", &who, "000000");
        }
    }
    // The right PIN, from yet another address, must still wait.
    let (o, r) = sign_in(&web, addr(5000), "staff", ADMIN.0, ADMIN.1);
    assert_eq!(o, Outcome::Held, "the lockout was wiped: {r:?}");
}

#[test]
fn every_spelling_of_an_account_shares_its_tries() {
    let root = tempfile::tempdir().unwrap();
    let site = lab(&root.path().join("site"), 0);
    let shown = site.run(&["learner", "show", "V-1"]).ok().clone();
    let id = shown["id"].as_str().unwrap().to_string();
    let running = start_site(&site.dir, &[]);
    let web = running.web.clone();
    // Staff names are matched without regard to case: one account, one count.
    let checked = guess_until_held(&web, "staff", &["ada", "ADA", " Ada "], 10);
    assert!(checked <= 10, "{checked} guesses at one staff account");
    let (o, _) = sign_in(&web, addr(200), "staff", "ADA", ADMIN.1);
    assert_eq!(o, Outcome::Held, "ADA signed in while ada was held");
    // A learner's number and L- id name the same account.
    let checked = guess_until_held(&web, "learner", &["V-1", &id], 300);
    assert!(checked <= 10, "{checked} guesses at one learner account");
}

#[test]
fn knowing_your_own_pin_does_not_buy_more_guesses() {
    let (_root, _site, running) = running_lab(12);
    let web = running.web.clone();
    let me = addr(7);
    let started = Instant::now();
    let mut checked = 0;
    let mut attempts = 0;
    // Guess at twelve classmates' PINs from one kiosk, signing in as yourself now and then.
    while attempts < 240 && started.elapsed() < Duration::from_secs(60) {
        for i in 1..=12 {
            attempts += 1;
            if sign_in(&web, me, "learner", &format!("K-{i}"), "0000").0 == Outcome::Wrong {
                checked += 1;
            }
        }
        let _ = sign_in(&web, me, "learner", "V-1", "2468");
    }
    let elapsed = started.elapsed().as_secs_f64();
    // The address may be checked a burst and then about one try every few seconds, however
    // often its own sign-ins succeed.
    let allowed = 20 + (elapsed / 3.0).ceil() as usize + 2;
    assert!(
        checked <= allowed,
        "{checked} of {attempts} guesses from one address were checked in {elapsed:.1} s (at most {allowed})"
    );
}

#[test]
fn parallel_guesses_cannot_slip_past_the_count() {
    let (_root, _site, running) = running_lab(0);
    let web = running.web.clone();
    let outcomes: Vec<Outcome> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..40u32)
            .map(|i| {
                let web = web.clone();
                s.spawn(move || sign_in(&web, addr(400 + i), "learner", "V-1", "0000").0)
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let checked = outcomes.iter().filter(|o| **o == Outcome::Wrong).count();
    assert!(
        checked <= 10,
        "{checked} of 40 parallel guesses were checked: {outcomes:?}"
    );
}

#[test]
fn oversized_sign_in_fields_are_refused_without_growing_memory() {
    let (_root, _site, running) = running_lab(0);
    let web = running.web.clone();
    let _ = sign_in(&web, addr(2), "staff", ADMIN.0, ADMIN.1);
    let before = running.memory_kb("VmRSS");
    let huge = "x".repeat(60 << 20);
    for i in 0..10 {
        let r = send(
            &web,
            &Request::form("/signin/staff", &[("name", &huge), ("secret", "1")])
                .from(addr(20 + i))
                .header("origin", format!("http://{web}")),
        )
        .expect("an answer");
        assert!(
            r.status == 413 || r.status == 400,
            "a 60 MiB sign-in form got {}",
            r.status
        );
    }
    let grown_mb = running.memory_kb("VmRSS").saturating_sub(before) / 1024;
    assert!(
        grown_mb < 64,
        "ten 60 MiB sign-in forms grew the service by {grown_mb} MB"
    );
}

#[test]
fn a_crowd_of_sign_ins_checks_secrets_a_few_at_a_time() {
    let (_root, _site, running) = running_lab(10);
    let web = running.web.clone();
    let _ = sign_in(&web, addr(2), "learner", "K-1", "1357");
    let before = running.memory_kb("VmHWM");
    // A hundred learners press "Sign in" at the same moment, each with the right PIN (so every
    // one of them is checked).
    let pages: Vec<Response> = (0..100u32)
        .map(|i| send(&web, &Request::get("/signin").from(addr(600 + i))).unwrap())
        .collect();
    let start = std::sync::Barrier::new(100);
    std::thread::scope(|s| {
        for (i, page) in pages.iter().enumerate() {
            let (web, start) = (web.clone(), &start);
            s.spawn(move || {
                let who = format!("K-{}", i % 10 + 1);
                let token = csrf_field(page).unwrap_or_default();
                let req = Request::form(
                    "/signin/learner",
                    &[("number", &who), ("pin", "1357"), ("csrf", &token)],
                )
                .from(addr(600 + i as u32))
                .cookie(&page.cookies().join("; "))
                .header("origin", format!("http://{web}"));
                start.wait();
                let _ = send(&web, &req);
            });
        }
    });
    let peak_mb = running.memory_kb("VmHWM").saturating_sub(before) / 1024;
    // Unbounded, this was 1.45 GB (argon2's 19 MiB on every thread that asked). Bounded, the
    // peak depends on how glibc spreads the crowd's threads over its malloc arenas: on the
    // project's 2-core machine it measured 140-160 MB on a quiet machine and 216-254 MB with
    // other work running or one more thread in the process, in two clusters a whole arena apart.
    assert!(
        peak_mb < 320,
        "100 concurrent sign-ins raised the service's peak memory by {peak_mb} MB"
    );
}

#[test]
fn a_shared_kiosk_slows_down_but_is_never_locked_for_everyone() {
    let (_root, _site, running) = running_lab(3);
    let web = running.web.clone();
    let kiosk = addr(9);
    // Thirty mistyped learner numbers at the one kiosk of the lab.
    for i in 0..30 {
        let _ = sign_in(&web, kiosk, "learner", &format!("X-{i}"), "0000");
    }
    // The next learner at that kiosk, with the right PIN, gets in after a short wait at most.
    let started = Instant::now();
    let mut got_in = false;
    while started.elapsed() < Duration::from_secs(8) {
        if sign_in(&web, kiosk, "learner", "V-1", "2468").0 == Outcome::In {
            got_in = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(got_in, "the shared kiosk stayed locked for everyone");
}

#[test]
fn an_unknown_account_takes_as_long_as_a_known_one() {
    let (_root, _site, running) = running_lab(7);
    let web = running.web.clone();
    // One wrong try per account, each from its own address: nothing is held.
    let median = |prefix: &str, base: u32| {
        let mut times: Vec<f64> = (1..=7u32)
            .map(|i| {
                let t = Instant::now();
                let who = format!("{prefix}-{i}");
                let _ = sign_in(&web, addr(base + i), "learner", &who, "0000");
                t.elapsed().as_secs_f64()
            })
            .collect();
        times.sort_by(f64::total_cmp);
        times[3]
    };
    let known = median("K", 100);
    let unknown = median("NO-SUCH", 200);
    assert!(
        unknown >= known * 0.3,
        "an unknown account answers in {unknown:.4} s, a known one in {known:.4} s"
    );
}

#[test]
fn forms_refuse_requests_from_other_origins() {
    let (_root, _site, running) = running_lab(0);
    let web = running.web.clone();
    // A signed-in assessor (SameSite=Strict cookies are still sent from another port of the
    // same host: that is "same site").
    let (o, r) = sign_in(&web, addr(2), "staff", ADMIN.0, ADMIN.1);
    assert_eq!(o, Outcome::In);
    let session = r.cookies().join("; ");
    let evil = "http://127.0.0.1:1";
    let forged = send(
        &web,
        &Request::form(
            "/staff/assess",
            &[("evidence", "V-AAAAAAAAAAAAA"), ("decision", "proficient")],
        )
        .cookie(&session)
        .header("origin", evil),
    )
    .unwrap();
    assert_eq!(
        forged.status, 403,
        "a form posted from another origin was accepted: {forged:?}"
    );
    // Login CSRF: another origin signs this browser in as the attacker's learner.
    let login = send(
        &web,
        &Request::form("/signin/learner", &[("number", "V-1"), ("pin", "2468")])
            .header("origin", evil),
    )
    .unwrap();
    assert!(
        login
            .cookies()
            .iter()
            .all(|c| !c.starts_with("cairn_session=") || c == "cairn_session="),
        "a sign-in posted from another origin started a session: {login:?}"
    );
    assert_eq!(login.status, 403, "{login:?}");
    // Without the page's form token, even the same origin is refused.
    let tokenless = send(
        &web,
        &Request::form("/signin/learner", &[("number", "V-1"), ("pin", "2468")])
            .header("origin", format!("http://{web}")),
    )
    .unwrap();
    assert_eq!(tokenless.status, 403, "{tokenless:?}");
}

#[test]
fn every_page_is_uncached_and_carries_security_headers() {
    let (_root, _site, running) = running_lab(0);
    let web = running.web.clone();
    let (_, learner) = sign_in(&web, addr(2), "learner", "V-1", "2468");
    let session = learner.cookies().join("; ");
    for r in [
        send(&web, &Request::get("/signin")).unwrap(),
        send(&web, &Request::get("/me").cookie(&session)).unwrap(),
        send(&web, &Request::get("/staff")).unwrap(),
        learner,
    ] {
        let h = |n: &str| r.header(n).unwrap_or("").to_string();
        assert!(h("cache-control").contains("no-store"), "{r:?}");
        assert!(
            h("content-security-policy").contains("frame-ancestors 'none'"),
            "{r:?}"
        );
        assert!(
            h("content-security-policy").contains("default-src 'none'"),
            "{r:?}"
        );
        assert_eq!(h("x-content-type-options"), "nosniff", "{r:?}");
        // No referrer leaves for other sites (`no-referrer` would make browsers send
        // `Origin: null` with the kiosk's own forms).
        assert_eq!(h("referrer-policy"), "same-origin", "{r:?}");
    }
}

#[test]
fn pages_never_show_server_paths() {
    let root = tempfile::tempdir().unwrap();
    let hub = new_hub(&root.path().join("hub"));
    let site = new_site(&hub, &root.path().join("site"), "Lab");
    let (name, secret) = (site.acting[0].1.clone(), site.acting[1].1.clone());
    let bundles = root.path().join("usb-stick");
    let running = start_site(&site.dir, &["--bundle-dir", bundles.to_str().unwrap()]);
    let web = running.web.clone();
    let (_, r) = sign_in(&web, addr(2), "staff", &name, &secret);
    let session = r.cookies().join("; ");
    let staff = send(&web, &Request::get("/staff").cookie(&session)).unwrap();
    let token = csrf_field(&staff).unwrap_or_default();
    let started = send(
        &web,
        &Request::form("/staff/bundle", &[("csrf", &token)])
            .cookie(&session)
            .header("origin", format!("http://{web}")),
    )
    .unwrap();
    assert_eq!(started.status, 303, "{started:?}");
    // The bundle is made in the background; its page reports progress, then the file.
    let job = started.header("location").unwrap().to_string();
    let mut page = send(&web, &Request::get(&job).cookie(&session)).unwrap();
    for _ in 0..300 {
        if page.text().contains("bundle-done") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        page = send(&web, &Request::get(&job).cookie(&session)).unwrap();
    }
    let text = page.text();
    assert_eq!(page.status, 200, "{text}");
    assert!(text.contains("bundle-done"), "{text}");
    let root_text = root.path().to_string_lossy();
    assert!(
        !text.contains(root_text.as_ref()),
        "the page shows a server path: {text}"
    );
    assert_eq!(std::fs::read_dir(&bundles).unwrap().count(), 1);
}
