//! Every command while the node runs: with `cairn serve` holding the hub's folder and `cairn run`
//! holding the site's — syncing all the while — the whole story goes through the command line,
//! carried out by the running processes over their control sockets. Then eight writers at once
//! against the running site: every write that said it succeeded is there, and at the hub, once.

use cairn_tests::*;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Poll `check` until it is true (at most `secs` seconds).
fn eventually(secs: u64, what: &str, mut check: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < until {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("{what} did not happen within {secs} s");
}

#[test]
fn the_whole_story_runs_against_running_nodes() {
    let root = tempfile::tempdir().unwrap();
    let hub = new_hub(&root.path().join("hub"));
    let site = new_site(&hub, &root.path().join("site"), "Ellsworth Adult Education");
    let other =
        new_unjoined_site(&root.path().join("other"), "Second Site").acting_as("ada", "222222");
    let serving = start_hub(&hub.dir);
    let running = run_site(&site.dir, &serving.addr, &["--interval", "1"]);
    // Both answer through their control sockets.
    assert_eq!(hub.run(&["status"]).ok()["running"], true);
    assert_eq!(site.run(&["status"]).ok()["running"], true);
    // A sync now, while the background loop syncs too, brings the catalog.
    site.run(&["sync", "--once"]).ok();
    assert!(
        site.run(&["catalog", "list"]).ok()["achievements"]
            .as_object()
            .unwrap()
            .contains_key("workready")
    );

    // Meanwhile someone asks the site to sync, again and again.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let syncing = {
        let (site, stop) = (site.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) && n < 200 {
                let r = site.run(&["sync", "--once"]);
                assert!(r.code == 0 || r.code == 5, "{}", r.stderr);
                n += 1;
            }
            n
        })
    };

    // The hub admits a second site while it serves.
    let prov = root.path().join("other.json");
    hub.run(&[
        "site",
        "enroll",
        "--site-id",
        &node_id(&other),
        "--name",
        "Second Site",
        "--address",
        &serving.addr,
        "--out",
        prov.to_str().unwrap(),
    ])
    .ok();
    other.run(&["join", prov.to_str().unwrap()]).ok();
    other.run(&["sync", "--once"]).ok();

    // The site's day, all while it runs.
    let f = distinct_file(root.path(), "portfolio.pdf", 300_000, 7);
    let learner = learner_with_award(&site, "EAE-1", "workready", &f);
    let record = site.run(&["learner", "show", &learner]).ok().clone();
    let award = record["awards"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    let credential = root.path().join("credential.json");
    site.run(&[
        "credential",
        "export",
        &award,
        "--out",
        credential.to_str().unwrap(),
    ])
    .ok();
    assert_eq!(
        site.run(&["credential", "verify", credential.to_str().unwrap()])
            .code,
        0
    );
    let copy = root.path().join("copy.pdf");
    assert_first_evidence_file_is(&site, &record, &f, &copy);
    site.run(&[
        "outcome",
        "add",
        "--learner",
        "EAE-1",
        "--kind",
        "new-employment",
        "--detail",
        "Help desk",
    ])
    .ok();

    // A USB bundle from the running site, imported at the running hub.
    let bundle = root.path().join("to-hub.cairn");
    site.run(&["bundle", "export", "--out", bundle.to_str().unwrap()])
        .ok();
    hub.run(&["bundle", "import", bundle.to_str().unwrap()])
        .ok();

    // The hub operator's day, while it serves.
    eventually(60, "the learner reaching the hub", || {
        hub.run(&["learner", "list"]).ok()["learners"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["number"] == "EAE-1")
    });
    let csv = root.path().join("codebook.csv");
    let rows = hub
        .run(&["report", "codebook", "--out", csv.to_str().unwrap()])
        .ok()["rows"]
        .as_u64()
        .unwrap();
    assert!(rows >= 1 && std::fs::read_to_string(&csv).unwrap().contains(&learner));
    hub.run(&["reconcile"]).ok();
    hub.run(&["report", "outcomes"]).ok();
    hub.run(&["report", "sites"]).ok();
    let hub_status = hub.run(&["status"]).ok().clone();
    assert!(hub_status["peers"].as_array().unwrap().len() >= 2);

    // Health and backups of both, while they run.
    for (node, name) in [(&hub, "hub"), (&site, "site")] {
        node.run(&["check"]).ok();
        let out = root.path().join(format!("{name}-backup"));
        node.run(&["backup", "--out", out.to_str().unwrap()]).ok();
        assert!(out.join("node.key").exists() && out.join("store").is_dir());
        // The backup restores, and the restored copy passes its own check.
        let restored = root.path().join(format!("{name}-restored"));
        Cairn::new(&restored)
            .run(&["restore", "--from", out.to_str().unwrap()])
            .ok();
        Cairn::new(&restored).run(&["check"]).ok();
    }

    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let syncs = syncing.join().unwrap();
    assert!(syncs > 0);
    assert!(running.stop().success());
    serving.stop();
    // Stopped, the same commands open the stores themselves again.
    assert_eq!(site.run(&["status"]).ok()["running"], false);
    site.run(&["check"]).ok();
    hub.run(&["check"]).ok();
}

#[test]
fn eight_writers_at_once_against_a_running_site_lose_nothing_and_double_nothing() {
    let root = tempfile::tempdir().unwrap();
    let hub = new_hub(&root.path().join("hub"));
    let site = new_site(&hub, &root.path().join("site"), "Ellsworth Adult Education");
    let serving = start_hub(&hub.dir);
    let running = run_site(&site.dir, &serving.addr, &["--interval", "1"]);
    const WRITERS: usize = 8;
    const EACH: usize = 6;
    let written: Vec<(String, i32)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..WRITERS)
            .map(|w| {
                let site = site.clone();
                s.spawn(move || {
                    (0..EACH)
                        .map(|i| {
                            let number = format!("W{w}-{i}");
                            let r = site.run(&[
                                "learner",
                                "add",
                                "--number",
                                &number,
                                "--given-name",
                                "Writer",
                                "--family-name",
                                &number,
                            ]);
                            (number, r.code)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let ok: Vec<&String> = written
        .iter()
        .filter(|(_, code)| *code == 0)
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        ok.len(),
        WRITERS * EACH,
        "every write through the running node succeeded: {written:?}"
    );
    let count = |c: &Cairn| -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for l in c.run(&["learner", "list"]).ok()["learners"]
            .as_array()
            .unwrap()
        {
            *m.entry(l["number"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
        m
    };
    let at_site = count(&site);
    for n in &ok {
        assert_eq!(at_site.get(*n), Some(&1), "{n} at the site");
    }
    eventually(60, "every learner reaching the hub", || {
        let at_hub = count(&hub);
        ok.iter().all(|n| at_hub.contains_key(*n))
    });
    let at_hub = count(&hub);
    for n in &ok {
        assert_eq!(at_hub.get(*n), Some(&1), "{n} at the hub, once");
    }
    site.run(&["check"]).ok();
    hub.run(&["check"]).ok();
    assert!(running.stop().success());
    serving.stop();
    site.run(&["check"]).ok();
}
