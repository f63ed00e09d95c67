//! `cairn learner import FILE.csv`: a roster registers many learners in one durable batch, on a
//! stopped node and through a running one; a roster with a bad row imports nothing and names the
//! lines; what was imported verifies, signs in, and reaches the hub.

use cairn_tests::*;
use std::fmt::Write as _;

fn roster(rows: usize, first: usize, pins: usize) -> String {
    let mut csv = String::from(
        "Number,Given name,family-name,pin,year_of_birth,gender,race_ethnicity,pell_eligible\n",
    );
    for i in first..first + rows {
        let pin = if i - first < pins { "4321" } else { "" };
        let _ = writeln!(
            csv,
            "R-{i},Ana {i},\"Ríos, {i}\",{pin},{},female,hispanic-latino;white,{}",
            1960 + i % 40,
            if i % 2 == 0 { "yes" } else { "no" }
        );
    }
    csv
}

fn count(site: &Cairn) -> usize {
    site.run(&["learner", "list"]).ok()["learners"]
        .as_array()
        .map_or(0, Vec::len)
}

#[test]
fn a_roster_registers_every_learner_at_once_or_none_of_them() {
    let root = tempfile::tempdir().unwrap();
    let hub = new_hub(&root.path().join("hub"));
    let site = new_site(&hub, &root.path().join("site"), "Lab");
    let file = root.path().join("roster.csv");

    // A good roster, on the stopped node.
    std::fs::write(&file, roster(300, 0, 3)).unwrap();
    let done = site
        .run(&["learner", "import", file.to_str().unwrap()])
        .ok()
        .clone();
    assert_eq!(done["registered"], 300, "{done}");
    assert_eq!(done["with_pin"], 3, "{done}");
    assert_eq!(count(&site), 300);
    let one = site.run(&["learner", "show", "R-7"]).ok().clone();
    assert_eq!(one["profile"]["family_name"], "Ríos, 7");
    assert_eq!(one["profile"]["year_of_birth"], 1967);
    assert_eq!(one["profile"]["pell_eligible"], false);
    assert_eq!(
        one["profile"]["race_ethnicity"].as_array().unwrap().len(),
        2
    );
    // A learner with a PIN from the roster signs in with it; one without cannot.
    let learner = |n: &str| {
        site.run_as(
            &[("CAIRN_AS_LEARNER", n), ("CAIRN_SECRET", "4321")],
            &["learner", "show", n],
        )
    };
    assert_eq!(learner("R-1").code, 0, "{}", learner("R-1").stderr);
    assert_ne!(learner("R-200").code, 0);
    site.run(&["check"]).ok();

    // A roster with bad rows (a year that is not one, a number already used, one used twice in
    // the file) imports nothing, names the lines, and leaves what was stored as it was.
    let mut bad = roster(50, 1000, 0);
    bad.push_str("R-2000,Bo,Lee,,19x0,,,\nR-5,Cy,Kim,,,,,\nR-1001,Di,Ng,,,,,\n");
    std::fs::write(&file, &bad).unwrap();
    let refused = site.run(&["learner", "import", file.to_str().unwrap()]);
    assert_eq!(refused.code, 3, "{}", refused.stderr);
    let said = refused.json["error"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(said.contains("line 52"), "the bad year: {said}");
    assert_eq!(count(&site), 300, "nothing of the bad roster was stored");
    std::fs::write(&file, bad.replace("19x0", "1990")).unwrap();
    let refused = site.run(&["learner", "import", file.to_str().unwrap()]);
    let said = refused.json["error"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(said.contains("R-5") && said.contains("line 54"), "{said}");
    assert!(said.contains("also on line 3"), "R-1001 twice: {said}");
    assert_eq!(count(&site), 300);
    for garbage in [&b"\xff\xfe\x00garbage"[..], b"number,given_name\n"] {
        std::fs::write(&file, garbage).unwrap();
        let r = site.run(&["learner", "import", file.to_str().unwrap()]);
        assert_eq!(r.code, 3, "{}", r.stderr);
    }

    // Through the running node (its control socket), then to the hub.
    let running = start_site(&site.dir, &[]);
    std::fs::write(&file, roster(200, 3000, 0)).unwrap();
    let done = site
        .run(&["learner", "import", file.to_str().unwrap()])
        .ok()
        .clone();
    assert_eq!(done["registered"], 200);
    assert_eq!(count(&site), 500);
    assert!(running.stop().success());
    site.run(&["check"]).ok();
    sync_through(&hub, &[&site]);
    let at_hub = hub.acting_as("op", "111111");
    assert_eq!(
        count(&at_hub),
        500,
        "every imported learner reached the hub"
    );
    at_hub.run(&["check"]).ok();
}
