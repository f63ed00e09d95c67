//! The web app end to end in Debian's headless Chromium (driven by playwright-core; `.ci/run`
//! installs `chromium`, node and npm): every workflow of docs/web.md, in English and then in
//! Spanish, as a learner, an assessor, an issuer, a site admin and a hub operator; a site set up
//! from an empty folder and joined to the hub entirely in the browser; and the attacks a kiosk
//! sees (forged forms, another learner's records, PIN guessing, an idle screen). On every page the
//! script fails on an untranslated message, an English word on a Spanish page, an axe-core
//! violation of serious or critical impact, or a script that runs (a learner named
//! `<script>alert(1)</script>`, an evidence file named `../../x.html`). A screenshot of every page
//! is kept in `test-artifacts/web/`. The script is `tests/kiosk/web.mjs`.

use cairn_tests::*;
use serde_json::json;
use std::process::Command;

/// Learners at the lab for the attack checks and the charts: number, PIN, language.
const KIOSK: [(&str, &str, &str); 2] = [("K-1", "1111", "en"), ("K-2", "2222", "es")];

fn submit(site: &Cairn, enrollment: &str) -> String {
    site.run(&[
        "evidence",
        "submit",
        "--enrollment",
        enrollment,
        "--narrative",
        "I did the work.",
    ])
    .ok()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn every_workflow_in_the_browser_in_english_and_spanish() {
    let here = concat!(env!("CARGO_MANIFEST_DIR"), "/kiosk");
    let artifacts = concat!(env!("CARGO_MANIFEST_DIR"), "/../test-artifacts/web");
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
    let _ = std::fs::remove_dir_all(artifacts);

    // The program: a hub with a pathway (named in Spanish too), two sites that synced, and
    // records that need the operator (duplicates, values changed at two places at once, evidence
    // assessed twice), plus awards for the charts.
    let root = tempfile::tempdir().unwrap();
    let hub = new_hub(&root.path().join("hub"));
    hub.run(&[
        "catalog",
        "add",
        "pathway",
        "--id",
        "job-ready",
        "--name",
        "Job Ready",
        "--description",
        "Ready for the first job after release.",
        "--part",
        "workready",
        "--program",
        "Reentry",
        "--name-in",
        "es=Listo para el trabajo",
    ])
    .ok();
    let lab = new_site(
        &hub,
        &root.path().join("lab"),
        "Southern Maine Women's Reentry Center",
    );
    let ells = new_site(&hub, &root.path().join("ells"), "Ellsworth Adult Education");
    let spare = new_unjoined_site(&root.path().join("spare"), "Spare Lab");
    sync_through(&hub, &[&lab, &ells]);
    for (name, role, pin) in [("asa", "assessor", "333333"), ("ivy", "issuer", "444444")] {
        lab.run(&["user", "add", "--name", name, "--role", role, "--pin", pin])
            .ok();
    }
    let mut kiosk_enrollments = Vec::new();
    for (number, pin, lang) in KIOSK {
        let l = add_learner(
            &lab,
            number,
            "Kiosk",
            number,
            &["--pin", pin, "--interface-language", lang],
        );
        kiosk_enrollments.push(enroll(&lab, &l, "workready"));
    }
    let evidence = root.path().join("team-log.txt");
    std::fs::write(&evidence, "Monday: led the check-in.\n").unwrap();
    for (site, numbers) in [
        (&lab, ["R-1", "R-2", "R-3"]),
        (&ells, ["R-4", "R-5", "R-6"]),
    ] {
        for n in numbers {
            learner_with_award(site, n, "workready", &evidence);
        }
    }
    // Two pairs of likely duplicates (same name and year of birth at two sites), one per
    // language's pass.
    for (n, given) in [("1", "Dana"), ("2", "Eli")] {
        for (site, prefix) in [(&lab, "DL"), (&ells, "DE")] {
            add_learner(
                site,
                &format!("{prefix}-{n}"),
                given,
                "Rivera",
                &["--year-of-birth", "1985", "--pell-eligible", "true"],
            );
        }
    }
    let conflicted: Vec<String> = ["C-1", "C-2"]
        .iter()
        .map(|n| add_learner(&lab, n, "Casey", n, &["--primary-language", "Tagalog"]))
        .collect();
    let twice: Vec<String> = ["T-1", "T-2"]
        .iter()
        .map(|n| {
            let l = add_learner(&lab, n, "Toni", n, &[]);
            submit(&lab, &enroll(&lab, &l, "css-level-1"))
        })
        .collect();
    sync_through(&hub, &[&lab, &ells]);
    for (l, e) in conflicted.iter().zip(&twice) {
        hub.run(&["learner", "edit", l, "--primary-language", "Spanish"])
            .ok();
        lab.run(&["learner", "edit", l, "--primary-language", "English"])
            .ok();
        hub.run(&["assess", "--evidence", e, "--decision", "not-yet"])
            .ok();
        lab.run(&["assess", "--evidence", e, "--decision", "proficient"])
            .ok();
    }
    sync_through(&hub, &[&lab, &ells]);
    let open = hub.run(&["reconcile"]).ok().clone();
    assert_eq!(open["duplicates"].as_array().unwrap().len(), 2, "{open}");
    assert_eq!(open["conflicts"].as_array().unwrap().len(), 2, "{open}");

    // Everything runs: the hub with its web app, the lab syncing with it, and a new site whose
    // folder is empty.
    let hub_running = start_hub(&hub.dir);
    let bundles = root.path().join("usb-stick");
    // `cairn run` on an empty folder serves the first-run page, and says so the same way.
    let lab_run = run_site(
        &lab.dir,
        &hub_running.addr,
        &["--idle", "20", "--bundle-dir", bundles.to_str().unwrap()],
    );
    let fresh_dir = root.path().join("fresh");
    let fresh_run = run_site(&fresh_dir, &hub_running.addr, &["--idle", "300"]);
    let (lab_url, fresh_url) = (
        format!("http://{}", lab_run.web),
        format!("http://{}", fresh_run.web),
    );

    let big = root.path().join("scan.pdf");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(70 * 1024 * 1024)
        .unwrap();
    let config = json!({
        "lab": lab_url,
        "hub": format!("http://{}", hub_running.web),
        "fresh": fresh_url,
        "hubAddress": hub_running.addr,
        "artifacts": artifacts,
        "evidence": evidence,
        "big": big,
        "idle": 20,
        "spareSite": node_id(&spare),
        "kiosk": KIOSK.iter().map(|(n, p, _)| json!([n, p])).collect::<Vec<_>>(),
        "foreignEnrollment": kiosk_enrollments[0],
        "staff": {"admin": ["ada", "222222"], "assessor": ["asa", "333333"], "issuer": ["ivy", "444444"], "operator": ["op", "111111"]},
    });
    let config_file = root.path().join("web-test.json");
    std::fs::write(&config_file, config.to_string()).unwrap();
    let out = Command::new("node")
        .arg(format!("{here}/web.mjs"))
        .arg(&config_file)
        .env("CHROMIUM", &chromium)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let lab_stopped = lab_run.stop();
    let fresh_stopped = fresh_run.stop();
    drop(hub_running);
    assert!(out.status.success() && text.contains("ALL OK"), "{text}");
    assert!(
        lab_stopped.success(),
        "cairn run did not stop cleanly: {lab_stopped:?}"
    );
    assert!(fresh_stopped.success(), "{fresh_stopped:?}");

    // What the browser did is in the stores, and they verify.
    for lang in ["en", "es"] {
        let r = lab
            .run(&["learner", "show", &format!("W-{lang}")])
            .ok()
            .clone();
        assert_eq!(
            r["awards"].as_object().unwrap().len(),
            2,
            "{lang}: badge and micro-credential: {r}"
        );
        assert_eq!(
            r["profile"]["year_of_birth"], 1991,
            "{lang}: the correction"
        );
        assert_eq!(r["profile"]["pell_eligible"], false, "{lang}");
        let names: Vec<String> = r["evidence"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|v| v["files"].as_array().cloned().unwrap_or_default())
            .map(|f| f["name"].as_str().unwrap().to_string())
            .collect();
        assert!(names.contains(&"team-log.txt".to_string()), "{names:?}");
        assert!(names.iter().all(|n| !n.contains('/')), "{names:?}");
    }
    let k2 = lab.run(&["learner", "show", "K-2"]).ok().clone();
    assert!(
        k2["evidence"].as_object().is_none_or(|e| e.is_empty()),
        "nothing landed on K-2"
    );
    assert_eq!(
        std::fs::read_dir(&bundles).unwrap().count(),
        2,
        "one bundle per pass"
    );
    let settled = hub.run(&["reconcile"]).ok().clone();
    assert_eq!(
        settled["duplicates"].as_array().unwrap().len(),
        0,
        "{settled}"
    );
    assert_eq!(
        settled["conflicts"].as_array().unwrap().len(),
        0,
        "{settled}"
    );
    assert_eq!(
        settled["concurrent_assessments"].as_array().unwrap().len(),
        0,
        "{settled}"
    );
    let fresh = Cairn::new(&fresh_dir);
    let status = fresh.run(&["status"]).ok().clone();
    assert!(
        status["hub"]["id"].is_string(),
        "the new site joined: {status}"
    );
    for c in [&lab, &hub, &fresh] {
        c.run(&["check"]).ok();
    }
    let shots = std::fs::read_dir(artifacts).unwrap().count();
    assert!(shots > 60, "a screenshot of every page: {shots}");
}
