//! The hub operator's job across sites: likely duplicates, concurrent values and assessments,
//! revoked sites; signed resolutions that sync back; the codebook CSV and completion rates,
//! checked against figures computed here from the scenario itself.

use cairn_tests::*;
use serde_json::Value;
use std::collections::BTreeMap;

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

type GroupFilter = dyn Fn(&Learner) -> bool;

struct Learner {
    number: &'static str,
    given: &'static str,
    family: &'static str,
    extra: &'static [&'static str],
    /// Enrolled in WorkReady, and whether it was awarded.
    workready: Option<bool>,
    pell: bool,
    bipoc: bool,
}

const AT_A: &[Learner] = &[
    Learner {
        number: "A1",
        given: "Rosa",
        family: "Park",
        extra: &[
            "--institution",
            "UMS",
            "--institution-id",
            "UMS-100",
            "--race-ethnicity",
            "white",
            "--pell-eligible",
            "yes",
            "--year-of-birth",
            "1990",
        ],
        workready: Some(true),
        pell: true,
        bipoc: false,
    },
    Learner {
        number: "A2",
        given: "Sam",
        family: "Lee",
        extra: &[
            "--race-ethnicity",
            "black-african-american",
            "--year-of-birth",
            "1985",
            "--primary-language",
            "=1+1",
            "--institution",
            "@SUM(A1)",
        ],
        workready: Some(false),
        pell: false,
        bipoc: true,
    },
];

const AT_B: &[Learner] = &[
    Learner {
        number: "B1",
        given: "Rosa",
        family: "Parks",
        extra: &[
            "--institution",
            "UMS",
            "--institution-id",
            "UMS-100",
            "--race-ethnicity",
            "hispanic-latino",
        ],
        workready: Some(true),
        pell: false,
        bipoc: true,
    },
    Learner {
        number: "B2",
        given: "Sam",
        family: "Lee",
        extra: &["--year-of-birth", "1985"],
        workready: None,
        pell: false,
        bipoc: false,
    },
];

fn add(site: &Cairn, l: &Learner, file: &std::path::Path) -> (String, Option<String>) {
    let mut args = vec![
        "learner",
        "add",
        "--number",
        l.number,
        "--given-name",
        l.given,
        "--family-name",
        l.family,
        "--pin",
        "1234",
    ];
    args.extend_from_slice(l.extra);
    let learner = id(site.run(&args).ok());
    let mut evidence = None;
    if let Some(awarded) = l.workready {
        let e = id(site
            .run(&[
                "enroll",
                "--learner",
                &learner,
                "--achievement",
                "workready",
            ])
            .ok());
        let v = id(site
            .run(&[
                "evidence",
                "submit",
                "--enrollment",
                &e,
                "--file",
                file.to_str().unwrap(),
            ])
            .ok());
        if awarded {
            site.run(&["assess", "--evidence", &v, "--decision", "proficient"])
                .ok();
            site.run(&["award", "--enrollment", &e]).ok();
        } else {
            evidence = Some(v);
        }
    }
    (learner, evidence)
}

#[test]
fn the_operator_reconciles_sites_and_reports_match_figures_computed_independently() {
    let root = tempfile::tempdir().unwrap();
    let hub = new_hub(&root.path().join("hub"));
    hub.run(&[
        "catalog",
        "add",
        "pathway",
        "--id",
        "wr-path",
        "--name",
        "WorkReady Stack",
        "--description",
        "d",
        "--part",
        "workready",
        "--program",
        "EMCC",
    ])
    .ok();
    let a = new_site(&hub, &root.path().join("a"), "Ellsworth Adult Education");
    let b = new_site(
        &hub,
        &root.path().join("b"),
        "Southern Maine Women's Reentry Center",
    );
    sync_through(&hub, &[&a, &b]);
    let f = root.path().join("e.txt");
    std::fs::write(&f, b"evidence").unwrap();
    let mut ids: BTreeMap<&str, String> = BTreeMap::new();
    let mut open_evidence = None;
    for (site, list) in [(&a, AT_A), (&b, AT_B)] {
        for l in list {
            let (lid, ev) = add(site, l, &f);
            ids.insert(l.number, lid);
            open_evidence = open_evidence.or(ev);
        }
    }
    let a1 = ids["A1"].clone();
    a.run(&[
        "outcome",
        "add",
        "--learner",
        &a1,
        "--kind",
        "wage-increase",
    ])
    .ok();
    a.run(&[
        "outcome",
        "add",
        "--learner",
        &a1,
        "--kind",
        "wage-increase",
    ])
    .ok();
    a.run(&[
        "outcome",
        "add",
        "--learner",
        &a1,
        "--kind",
        "degree-program",
        "--degree",
        "AS",
    ])
    .ok();
    sync_through(&hub, &[&a, &b]);
    // While apart: the hub and the site both correct A1's language, and both assess A2's evidence.
    let open_evidence = open_evidence.unwrap();
    hub.run(&["learner", "edit", &a1, "--primary-language", "Spanish"])
        .ok();
    a.run(&["learner", "edit", &a1, "--primary-language", "English"])
        .ok();
    let at_hub = id(hub
        .run(&[
            "assess",
            "--evidence",
            &open_evidence,
            "--decision",
            "not-yet",
        ])
        .ok());
    a.run(&[
        "assess",
        "--evidence",
        &open_evidence,
        "--decision",
        "proficient",
    ])
    .ok();
    sync_through(&hub, &[&a]);
    hub.run(&["site", "revoke", &node_id(&b)]).ok();

    let open = hub.run(&["reconcile"]).ok().clone();
    let pairs: Vec<(Vec<String>, String)> = open["duplicates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let mut p: Vec<String> = d["learners"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_string())
                .collect();
            p.sort();
            (p, d["because"].as_str().unwrap().to_string())
        })
        .collect();
    let pair = |x: &str, y: &str| {
        let mut p = vec![ids[x].clone(), ids[y].clone()];
        p.sort();
        p
    };
    assert!(
        pairs.contains(&(pair("A1", "B1"), "institution id".into())),
        "{pairs:?}"
    );
    assert!(
        pairs.contains(&(pair("A2", "B2"), "name and year of birth".into())),
        "{pairs:?}"
    );
    assert_eq!(pairs.len(), 2, "{pairs:?}");
    let conflict = &open["conflicts"].as_array().unwrap();
    assert!(
        conflict.iter().any(|c| c["learner"] == a1.as_str()
            && c["path"] == serde_json::json!(["profile", "primary_language"])),
        "{open}"
    );
    let concurrent = open["concurrent_assessments"].as_array().unwrap();
    assert_eq!(concurrent.len(), 1);
    assert_eq!(concurrent[0]["evidence"], open_evidence.as_str());
    assert_eq!(open["revoked_sites"][0]["learners_homed"], 2);
    assert_eq!(open["forks"].as_array().unwrap().len(), 0);

    // Settled by explicit, signed actions...
    hub.run(&[
        "reconcile",
        "merge",
        "--keep",
        &a1,
        "--duplicate",
        &ids["B1"],
    ])
    .ok();
    hub.run(&[
        "reconcile",
        "pick",
        "--learner",
        &a1,
        "--field",
        "profile.primary_language",
        "--value",
        "Spanish",
    ])
    .ok();
    hub.run(&["reconcile", "accept", &at_hub]).ok();
    // ...and only from the hub, by an admin.
    assert_eq!(a.run(&["reconcile", "accept", &at_hub]).code, 3);
    let after = hub.run(&["reconcile"]).ok().clone();
    assert_eq!(after["duplicates"].as_array().unwrap().len(), 1);
    assert_eq!(after["conflicts"].as_array().unwrap().len(), 0, "{after}");
    assert_eq!(after["concurrent_assessments"].as_array().unwrap().len(), 0);
    // The resolutions reach the site, attributed to the operator; the conflict is gone there too.
    sync_through(&hub, &[&a]);
    let rec = a.run(&["learner", "show", &a1]).ok().clone();
    let res: Vec<&Value> = rec["resolutions"].as_object().unwrap().values().collect();
    assert_eq!(res.len(), 2);
    assert!(res.iter().all(|r| r["by"]["name"] == "op"));
    assert_eq!(rec["profile"]["primary_language"], "Spanish");
    assert_eq!(
        a.run(&["conflicts"]).ok()["documents"]
            .as_array()
            .unwrap()
            .len(),
        0
    );

    // The codebook: one row per person (B1 merged into A1), readable by a standard CSV reader.
    let csv_path = root.path().join("codebook.csv");
    hub.run(&["report", "codebook", "--out", csv_path.to_str().unwrap()])
        .ok();
    let mut reader = csv::Reader::from_path(&csv_path).unwrap();
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let rows: Vec<BTreeMap<String, String>> = reader
        .records()
        .map(|r| {
            header
                .iter()
                .cloned()
                .zip(r.unwrap().iter().map(str::to_string))
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 3);
    let row = |n: &str| rows.iter().find(|r| r["learner_id"] == ids[n]).unwrap();
    for l in AT_A.iter().chain(AT_B).filter(|l| l.number != "B1") {
        let r = row(l.number);
        let completed = l.workready == Some(true);
        assert_eq!(
            r["wr-path:attempted"],
            if l.workready.is_some() { "yes" } else { "no" },
            "{}",
            l.number
        );
        assert_eq!(
            r["wr-path:completed"],
            if completed { "yes" } else { "no" },
            "{}",
            l.number
        );
    }
    // A1's row counts B1's award too, and A1's outcomes.
    assert_eq!(row("A1")["wr-path:attempts"], "2");
    assert_eq!(row("A1")["wage_increases"], "2");
    assert_eq!(row("A1")["entered_degree_program"], "yes");
    assert_eq!(row("A1")["degree"], "AS");
    // Learner-entered text that looks like a formula is neutralized.
    assert_eq!(row("A2")["primary_language"], "'=1+1");
    assert_eq!(row("A2")["institution"], "'@SUM(A1)");
    let raw = std::fs::read_to_string(&csv_path).unwrap();
    assert!(
        raw.lines().all(|l| l.starts_with('"')),
        "every field quoted"
    );

    // Completion rates, computed here from the scenario: a person is the kept record, with the
    // demographics of that record and the awards of every record merged into it.
    let people: Vec<&Learner> = AT_A
        .iter()
        .chain(AT_B)
        .filter(|l| l.number != "B1")
        .collect();
    let expect = |site: Option<&str>, group: &dyn Fn(&Learner) -> bool| {
        let in_site = |l: &Learner| site.is_none_or(|s| l.number.starts_with(s));
        let attempted: Vec<&&Learner> = people
            .iter()
            .filter(|l| in_site(l) && group(l) && l.workready.is_some())
            .collect();
        let completed = attempted
            .iter()
            .filter(|l| l.workready == Some(true))
            .count();
        (attempted.len() as u64, completed as u64)
    };
    let report = hub.run(&["report", "outcomes"]).ok().clone();
    let find = |site: Option<&str>, group: &str| {
        report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| {
                r["pathway"] == "wr-path" && r["group"] == group && r["site"].as_str() == site
            })
            .unwrap_or_else(|| panic!("no row {site:?} {group}: {report}"))
            .clone()
    };
    let sites = [
        (None, None),
        (Some("Ellsworth Adult Education"), Some("A")),
        (Some("Southern Maine Women's Reentry Center"), Some("B")),
    ];
    let groups: [(&str, &GroupFilter); 3] = [
        ("all learners", &|_| true),
        ("impacted by poverty", &|l| l.pell),
        ("BIPOC", &|l| l.bipoc),
    ];
    for (site_name, prefix) in sites {
        for (group, filter) in groups {
            let r = find(site_name, group);
            let (n, k) = expect(prefix, filter);
            assert_eq!(
                (
                    r["attempted"].as_u64().unwrap(),
                    r["completed"].as_u64().unwrap()
                ),
                (n, k),
                "{site_name:?} {group}"
            );
            if n > 0 {
                assert!((r["rate"].as_f64().unwrap() - k as f64 / n as f64).abs() < 0.001);
            } else {
                assert!(r["rate"].is_null());
            }
            assert_eq!(r["small_group"], true);
            assert_eq!(r["program"], "EMCC");
        }
    }

    // Sites: the revoked site missed the merge written into its learner's record.
    let s = hub.run(&["report", "sites"]).ok().clone();
    let site = |name: &str| {
        s["sites"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == name)
            .unwrap()
            .clone()
    };
    let sa = site("Ellsworth Adult Education");
    assert_eq!(sa["entries_behind"], 0, "{sa}");
    assert!(sa["days_since_contact"].as_f64().unwrap() < 1.0);
    assert!(sa["history"].as_array().unwrap().len() >= 3);
    let sb = site("Southern Maine Women's Reentry Center");
    assert!(sb["entries_behind"].as_u64().unwrap() >= 1, "{sb}");
    assert!(!sb["revoked"].is_null());
    assert_eq!(sa["pending_evidence_files"], 0);
}
