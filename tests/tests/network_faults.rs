//! Network sync under faults: links cut at random byte offsets and throttled, processes killed
//! mid-sync, nodes restored from old backups, clocks months off.

use cairn_tests::*;
use rand::{Rng, SeedableRng};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

fn peer_history(dir: &Path, peer: &str) -> cairn_node::sync::peer::PeerState {
    let node = cairn_node::node::Node::open(dir).unwrap();
    cairn_node::sync::peer::load(&node.store, &peer.parse().unwrap()).unwrap()
}

fn own_entries(dir: &Path) -> u64 {
    let id = cairn_node::node::Node::open(dir).unwrap().id().to_string();
    held_of(dir, &id)
}

/// How many entries of `node`'s feeds the (stopped) node in `dir` holds.
fn held_of(dir: &Path, node: &str) -> u64 {
    cairn_node::node::Node::open(dir)
        .unwrap()
        .store
        .vector()
        .unwrap()
        .iter()
        .filter(|(o, _)| o.node.to_string() == node)
        .map(|(_, s)| *s)
        .sum()
}

/// How many sessions with the site named `name` the running hub has recorded (its newest ten,
/// as `cairn report sites` lists them).
fn sessions_recorded(hub: &Cairn, name: &str) -> usize {
    let report = hub.run(&["report", "sites"]).ok().clone();
    report["sites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .map_or(0, |s| s["history"].as_array().unwrap().len())
}

fn files_of(c: &Cairn, learner: &str) -> Vec<String> {
    let r = c.run(&["learner", "show", learner]).ok().clone();
    r["evidence"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|v| {
            v["files"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["sha256"].as_str().unwrap().to_string())
        })
        .collect()
}

#[test]
fn a_link_cut_at_random_byte_offsets_and_throttled_delivers_everything_exactly_once() {
    let root = tempfile::tempdir().unwrap();
    let hub = new_hub(&root.path().join("hub"));
    let site = new_site(&hub, &root.path().join("site"), "Ellsworth Adult Education");
    sync_through(&hub, &[&site]);
    // About 2.8 MB of evidence in 256 KiB chunks, and the entries around it.
    let mut learners = Vec::new();
    for i in 0..4u8 {
        let f = distinct_file(root.path(), &format!("ev{i}.bin"), 700_000, i + 1);
        learners.push(learner_with_award(
            &site,
            &format!("E-{i}"),
            "workready",
            &f,
        ));
    }
    hub.run(&[
        "catalog",
        "add",
        "achievement",
        "--id",
        "osha-10",
        "--name",
        "OSHA 10",
        "--description",
        "d",
        "--criteria",
        "c",
    ])
    .ok();

    let site_id = node_id(&site);
    let h = start_hub(&hub.dir);
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    // Every connection is cut before 600 KB while the site holds about 2.9 MB to send: a sync
    // that started over after a cut could never finish, so finishing proves it resumes.
    let budgets: Vec<usize> = (0..200).map(|_| rng.gen_range(100_000..600_000)).collect();
    let proxy = start_proxy(&h.addr, 8_000_000, move |n| {
        Some(budgets[n % budgets.len()])
    });
    let mut attempts = 0;
    let mut done = false;
    while attempts < 80 && !done {
        attempts += 1;
        let r = sync(&site, &proxy.addr);
        assert!(
            r.code == 0 || r.code == 5,
            "a cut link is 'unreachable', never anything else: {}",
            r.stderr
        );
        done = r.code == 0;
    }
    assert!(done, "no session completed in {attempts} attempts");
    let cuts = proxy.cuts.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        cuts >= 3,
        "the proxy should have cut several sessions (cut {cuts})"
    );
    drop(proxy);
    // Cleanly: the sessions' history records, counted below, are flushed as the hub stops.
    h.shut_down();
    settle(&hub, &[&site]);

    // Everything arrived: same documents, every file whole, both stores verify.
    let (at_hub, at_site) = (learner_heads(&hub.dir), learner_heads(&site.dir));
    for l in &learners {
        assert_eq!(at_hub.get(l), at_site.get(l), "learner {l}");
        for sha in files_of(&site, l) {
            let out = root.path().join(format!("{sha}.out"));
            hub.run(&["evidence", "file", &sha, "--out", out.to_str().unwrap()])
                .ok();
        }
    }
    assert!(site.run(&["catalog", "list"]).ok()["achievements"]["osha-10"].is_object());
    hub.run(&["check"]).ok();
    site.run(&["check"]).ok();
    // Exactly once: across all the cut sessions, the hub stored each of the site's entries once.
    let own = own_entries(&site.dir);
    let hub_side = peer_history(&hub.dir, &site_id);
    let stored: u64 = hub_side.history.iter().map(|h| h.received).sum();
    assert_eq!(stored, own, "entries stored at the hub across sessions");
    let data: u64 = std::fs::read_dir(root.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("ev"))
        .map(|e| e.metadata().unwrap().len())
        .sum();
    assert!(
        data > 2_500_000,
        "the test needs more data than any one connection carries"
    );
    // Entries the hub received again after a lost acknowledgement were recognized, not stored.
    let duplicates: u64 = hub_side.history.iter().map(|h| h.duplicates).sum();
    eprintln!("{attempts} attempts, {cuts} cuts, {duplicates} duplicates recognized at the hub");
}

#[test]
fn nodes_killed_mid_sync_converge_after_restart() {
    let root = tempfile::tempdir().unwrap();
    let hub = new_hub(&root.path().join("hub"));
    let site = new_site(
        &hub,
        &root.path().join("site"),
        "Southern Maine Women's Reentry Center",
    );
    sync_through(&hub, &[&site]);
    let mut learners = Vec::new();
    for i in 0..3u8 {
        let f = distinct_file(root.path(), &format!("k{i}.bin"), 800_000, 40 + i);
        learners.push(learner_with_award(
            &site,
            &format!("K-{i}"),
            "css-level-1",
            &f,
        ));
    }
    let sync_in_background = |addr: &str| {
        site.command()
            .args(["sync", "--once", "--hub", addr])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    // 1. The hub is killed mid-sync.
    let h = start_hub_on(&hub.dir, "127.0.0.1:0");
    let addr = h.addr.clone();
    let proxy = start_proxy(&addr, 400_000, |_| None);
    let mut child = sync_in_background(&proxy.addr);
    std::thread::sleep(Duration::from_millis(1500));
    h.stop(); // SIGKILL
    let status = child.wait().unwrap();
    assert_ne!(
        status.code(),
        Some(0),
        "the sync should have been cut by the hub dying"
    );
    drop(proxy);
    // 2. The site is killed mid-sync.
    let h = start_hub_on(&hub.dir, &addr);
    let proxy = start_proxy(&h.addr, 400_000, |_| None);
    let mut child = sync_in_background(&proxy.addr);
    std::thread::sleep(Duration::from_millis(1500));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    drop(proxy);
    // 3. Both restart and converge.
    let r = sync(&site, &h.addr);
    assert_eq!(r.code, 0, "{}", r.stderr);
    h.stop();
    settle(&hub, &[&site]);
    let (at_hub, at_site) = (learner_heads(&hub.dir), learner_heads(&site.dir));
    assert_eq!(at_site.len(), 3);
    for l in &learners {
        assert_eq!(at_hub.get(l), at_site.get(l));
    }
    hub.run(&["check"]).ok();
    site.run(&["check"]).ok();
}

/// What a killed session must have sent the hub before it is killed: a whole batch at its largest
/// target (256 KiB), so that the hub has stored some of the round's entries. Unloaded, a session
/// sends about 430 KB in its 1.5 s, so this only lengthens rounds on a machine busy enough to
/// delay the site's start.
const ROUND_BYTES: usize = 256 * 1024;

/// A site whose `cairn sync --once` is killed (SIGKILL) 1.5 s into every session on a 300 KB/s
/// link still makes progress: it keeps the checkpoint — what the hub acknowledged — as the
/// acknowledgements arrive, not only when a session ends cleanly, so the next session does not
/// spend its time resending what the hub already holds.
///
/// Resending is bounded by what was in flight. The hub counts, per session, the entries it
/// receives again (duplicates). The site saves the hub's `Hello` at once and the hub's
/// acknowledgements within 200 ms, so a session can only resend entries the hub stored during
/// the previous session (acknowledged too late to be saved, or not yet acknowledged when the site
/// died): each session's duplicates are at most the previous session's stored entries. Without
/// the checkpoint every session starts again from the last clean end and resends everything the
/// hub stored since, which breaks that bound from the second killed session on. (The bound holds
/// whatever the timing; the count is usually zero.)
#[test]
fn a_site_killed_mid_sync_keeps_what_the_hub_acknowledged() {
    let root = tempfile::tempdir().unwrap();
    let hub = new_hub(&root.path().join("hub"));
    let site = new_site(&hub, &root.path().join("site"), "Ellsworth Adult Education");
    sync_through(&hub, &[&site]);
    // 85 entries, with more evidence than five cut sessions can carry at 300 KB/s: 2.4 MB.
    for i in 0..14u8 {
        let f = distinct_file(root.path(), &format!("p{i}.bin"), 170_000, 80 + i);
        learner_with_award(&site, &format!("P-{i}"), "workready", &f);
    }
    let site_id = node_id(&site);
    let own = own_entries(&site.dir);
    let mut held = vec![held_of(&hub.dir, &site_id)];
    let mut up_per_round = Vec::new();
    for _round in 0..5 {
        let recorded = peer_history(&hub.dir, &site_id).history.len();
        let h = start_hub(&hub.dir);
        let proxy = start_proxy(&h.addr, 300_000, |_| None);
        let mut child = site
            .command()
            .args(["sync", "--once", "--hub", &proxy.addr])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // 1.5 s in, and once the site has sent enough that the hub has stored some of this
        // round's entries: on a loaded machine, starting the site, opening its store and the
        // handshake can take most of the 1.5 s.
        std::thread::sleep(Duration::from_millis(1500));
        wait_for("the site to send the hub a batch", || {
            proxy.forwarded_up.load(Ordering::SeqCst) >= ROUND_BYTES
        });
        up_per_round.push(proxy.forwarded_up.load(Ordering::SeqCst));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // The proxy would go on forwarding what it had buffered; a dead site's connection ends.
        drop(proxy);
        // Let the hub see the connection end and record the session, then count (sled lets one
        // process open a store). On a loaded machine the hub can still be finishing the
        // handshake of a connection whose first batches wait in its socket: a hub that stops
        // then drops it, as it should, and nothing of the round would arrive.
        wait_for("the hub to record the killed session", || {
            sessions_recorded(&hub, "Ellsworth Adult Education") > recorded
        });
        h.shut_down();
        held.push(held_of(&hub.dir, &site_id));
    }
    let h = start_hub(&hub.dir);
    let r = sync(&site, &h.addr);
    assert_eq!(r.code, 0, "{}", r.stderr);
    h.shut_down();
    let finally = held_of(&hub.dir, &site_id);
    // The initial sync, the five killed sessions, the final one: (stored, received again).
    let sessions: Vec<(u64, u64)> = peer_history(&hub.dir, &site_id)
        .history
        .iter()
        .map(|s| (s.received, s.duplicates))
        .collect();
    eprintln!(
        "the hub held {held:?}, then {finally} of the site's {own} entries; sessions (stored, \
         duplicates): {sessions:?}; bytes sent to the hub by the killed sessions: {up_per_round:?}"
    );
    assert!(
        held.windows(2).all(|w| w[1] > w[0]),
        "the hub's count of the site's entries must grow every round: {held:?} of {own}"
    );
    assert_eq!(finally, own);
    assert_eq!(
        sessions.len(),
        7,
        "the hub records every session: {sessions:?}"
    );
    for pair in sessions.windows(2) {
        assert!(
            pair[1].1 <= pair[0].0,
            "a session resent more than the previous one delivered: {sessions:?}"
        );
    }
}

#[test]
fn a_site_restored_from_an_old_backup_recovers_its_feed_and_never_forks() {
    let root = tempfile::tempdir().unwrap();
    let hub = new_hub(&root.path().join("hub"));
    let site = new_site(&hub, &root.path().join("site"), "Ellsworth Adult Education");
    sync_through(&hub, &[&site]);
    let f = distinct_file(root.path(), "a.bin", 10_000, 9);
    let early = learner_with_award(&site, "B-1", "workready", &f);
    // Back up the site (the folder, as an operator would copy it), then keep working and sync.
    let backup = root.path().join("backup");
    copy_dir(&site.dir, &backup);
    let late = learner_with_award(&site, "B-2", "css-level-1", &f);
    sync_through(&hub, &[&site]);
    // The disk fails; the old backup goes back in place.
    std::fs::remove_dir_all(&site.dir).unwrap();
    copy_dir(&backup, &site.dir);
    assert!(
        site.run(&["learner", "show", &late]).code == 3,
        "the backup predates the second learner"
    );
    // The first sync after the restore recovers the site's own entries from the hub and moves
    // the site to a new epoch, so nothing it writes next can collide with what the hub holds.
    let h = start_hub(&hub.dir);
    let r = sync(&site, &h.addr);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.json["result"]["new_epoch"]
            .as_u64()
            .is_some_and(|e| e > 0),
        "{}",
        r.stdout
    );
    site.run(&["learner", "show", &late]).ok();
    let third = learner_with_award(&site, "B-3", "workready", &f);
    assert_eq!(sync(&site, &h.addr).code, 0);
    h.stop();
    settle(&hub, &[&site]);
    let hub_status = hub.run(&["status"]).ok().clone();
    assert_eq!(
        hub_status["forks"].as_array().unwrap().len(),
        0,
        "no fork at the hub"
    );
    for l in [&early, &late, &third] {
        assert_eq!(
            learner_heads(&hub.dir).get(l),
            learner_heads(&site.dir).get(l)
        );
    }
    site.run(&["check"]).ok();
    hub.run(&["check"]).ok();

    // If a restored copy writes before it ever syncs, its feed forks: the hub refuses the second
    // version, freezes that feed, shows it in status, and the site moves on under a new epoch.
    std::fs::remove_dir_all(&site.dir).unwrap();
    copy_dir(&backup, &site.dir);
    let _diverged = learner_with_award(&site, "B-9", "workready", &f);
    let h = start_hub(&hub.dir);
    let r = sync(&site, &h.addr);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let after_fork = learner_with_award(&site, "B-10", "workready", &f);
    assert_eq!(sync(&site, &h.addr).code, 0);
    h.stop();
    let hub_status = hub.run(&["status"]).ok().clone();
    let forks = hub_status["forks"].as_array().unwrap();
    assert_eq!(forks.len(), 1, "{hub_status}");
    assert_eq!(forks[0]["origin"], node_id(&site));
    let text = std::process::Command::new(bin())
        .args(["--data", hub.dir.to_str().unwrap(), "status"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&text.stdout).contains("FORK"));
    // What the site wrote after moving on reached the hub.
    assert!(learner_heads(&hub.dir).contains_key(&after_fork));
    let site_status = site.run(&["status"]).ok().clone();
    assert_eq!(
        site_status["own_forked_epochs"],
        serde_json::json!([0]),
        "{site_status}"
    );

    // The sanctioned way: `cairn backup`, then `cairn restore` into an empty folder. The restored
    // node may write at once — before any sync — and still never forks.
    let fresh = new_site(&hub, &root.path().join("site2"), "Second site");
    sync_through(&hub, &[&fresh]);
    let before = learner_with_award(&fresh, "C-1", "workready", &f);
    let saved = root.path().join("site2-backup");
    fresh
        .run(&["backup", "--out", saved.to_str().unwrap()])
        .ok();
    let after = learner_with_award(&fresh, "C-2", "workready", &f);
    sync_through(&hub, &[&fresh]);
    std::fs::remove_dir_all(&fresh.dir).unwrap();
    let restored = fresh
        .run(&["restore", "--from", saved.to_str().unwrap()])
        .ok()
        .clone();
    assert!(restored["epoch"].as_u64().unwrap() > 0);
    let written_offline = learner_with_award(&fresh, "C-3", "workready", &f);
    sync_through(&hub, &[&fresh]);
    settle(&hub, &[&fresh]);
    let hub_status = hub.run(&["status"]).ok().clone();
    assert_eq!(
        hub_status["forks"].as_array().unwrap().len(),
        1,
        "only the earlier fork: {hub_status}"
    );
    let (at_hub, here) = (learner_heads(&hub.dir), learner_heads(&fresh.dir));
    for l in [&before, &after, &written_offline] {
        assert!(here.contains_key(l), "the restored site lacks {l}");
        assert_eq!(at_hub.get(l), here.get(l));
    }
    fresh.run(&["check"]).ok();
    // A backup put back by hand (not with `cairn restore`) is recognized too.
    let by_hand = root.path().join("by-hand");
    copy_dir(&saved, &by_hand);
    let r = Cairn::new(&by_hand).run(&["status"]).ok().clone();
    assert!(r["epoch"].as_u64().unwrap() > 0);
    assert!(!by_hand.join("RESTORED-FROM-BACKUP").exists());
}

#[test]
fn a_site_whose_clock_is_months_off_still_syncs_and_orders_by_causality() {
    let root = tempfile::tempdir().unwrap();
    let hub = new_hub(&root.path().join("hub"));
    let site = new_site(
        &hub,
        &root.path().join("site"),
        "Kiosk with a dead clock battery",
    );
    let months = (-200i64 * 24 * 3600 * 1000).to_string();
    let behind = |args: &[&str]| {
        let out = site
            .command()
            .env("CAIRN_CLOCK_OFFSET_MS", &months)
            .args(args)
            .output()
            .unwrap();
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        r["result"].clone()
    };
    let h = start_hub(&hub.dir);
    behind(&["sync", "--once", "--hub", &h.addr]);
    let learner = behind(&[
        "learner",
        "add",
        "--number",
        "T-1",
        "--given-name",
        "Tam",
        "--family-name",
        "Ng",
    ])["id"]
        .as_str()
        .unwrap()
        .to_string();
    behind(&["sync", "--once", "--hub", &h.addr]);
    h.stop();
    // The hub (clock right) corrects the language; the site (clock 200 days behind) then corrects
    // it again after seeing the hub's change. The site's edit is causally later and must win,
    // although its wall-clock time is months earlier.
    hub.run(&["learner", "edit", &learner, "--primary-language", "English"])
        .ok();
    let h = start_hub(&hub.dir);
    behind(&["sync", "--once", "--hub", &h.addr]);
    behind(&["learner", "edit", &learner, "--primary-language", "Spanish"]);
    behind(&["sync", "--once", "--hub", &h.addr]);
    h.stop();
    for c in [&hub, &site] {
        let r = c.run(&["learner", "show", &learner]).ok().clone();
        assert_eq!(r["profile"]["primary_language"], "Spanish");
        assert_eq!(
            c.run(&["conflicts"]).ok()["documents"]
                .as_array()
                .unwrap()
                .len(),
            0
        );
    }
    // The site's hybrid clock moved past the hub's time on contact: its entries sort after.
    let node = cairn_node::node::Node::open(&site.dir).unwrap();
    let own = cairn_sync_protocol::Origin {
        node: node.id(),
        epoch: 0,
    };
    let tip = node.store.tip(&own).unwrap().unwrap();
    let Some(cairn_sync_protocol::FeedItem::Entry(last)) =
        node.store.item_covering(&own, tip.seq).unwrap()
    else {
        panic!()
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(
        last.entry.hlc.wall_ms > now - 3_600_000,
        "the site's clock reading was not lifted past the hub's"
    );
}
