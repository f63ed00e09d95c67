//! `cargo bench -p cairn-node --bench sync -- [initial|concurrent|open|slowlink|scope|flush|doubling|batches|all]`
//!
//! Benchmarks of issue 9 on a realistic program, with in-process nodes over loopback TLS (the
//! same store, protocol and transport code as `cairn`). Sizes come from the environment:
//! `CAIRN_BENCH_LEARNERS` (learners per site, default 500), `CAIRN_BENCH_SESSIONS` (concurrent
//! sites, default "50,200"), `CAIRN_BENCH_OPEN` (entries for the open-time runs, default
//! "100000,1000000"), `CAIRN_BENCH_SLOW_LEARNERS` (learners for the slow link, default 20),
//! `CAIRN_BENCH_KEEP_STORE` (a folder on the same disk to keep each open-time hub store in, for
//! profiling or to grow further, also when the run gives up waiting for the hub's upkeep),
//! `CAIRN_BENCH_OPEN_FROM` (a kept hub store the open-time runs copy and add sites to),
//! `CAIRN_BENCH_PROGRAM_SITES` (sites the program has in the concurrent runs, of which
//! `CAIRN_BENCH_SESSIONS` sync at once; by default as many as sync), `CAIRN_BENCH_CROWDS`
//! (crowds each concurrent run measures, one after another, default 5), `CAIRN_BENCH_PERF_CTL`
//! (a `perf record --control` fifo: the concurrent runs profile only their sessions, the
//! initial run its sync and the hub's derivation after it, the open run's growth the hub's
//! derivation of what each round's syncs left queued),
//! `CAIRN_BENCH_SITES_IN` (where the concurrent and open runs keep the sites' stores, such as
//! `/dev/shm`; by default beside the hub's), `CAIRN_BENCH_HUB_CPUS` and `CAIRN_BENCH_SITES_CPUS`
//! (processor numbers, such as `0` and `1`, the benchmark's own process, which is the hub's,
//! and the sites' process are kept on; the first applies to every run of the process and what
//! it starts, as `taskset -c 0` on the benchmark would; with both, the hub has one processor to
//! itself and the sites another, as when they are other machines; a hub kept to one processor
//! also derives on one thread, so its "all derived at" column is not comparable with a shared
//! run's), `CAIRN_BENCH_START_BUSY=1` (the concurrent runs' procedure before
//! round 16: the sites' stores prepared by the benchmark's own process and reopened cold by
//! the sites' process, the sessions started as soon as it has opened them; by default the
//! sites' process fetches the catalog and records the sites' work itself, and the sessions
//! start once both processes are idle), `CAIRN_BENCH_SITES_PER_PROCESS` (sites to each sites'
//! process; by default all in one), `CAIRN_BENCH_HUB_WORKERS` (the hub's async worker threads
//! in the concurrent runs; by default as many as `cairn serve` runs,
//! `hub::SERVICE_WORKER_THREADS`), `CAIRN_BENCH_SITES_PERIODIC_FLUSH=1` (the sites' process
//! opens its stores with sled's periodic flush, as before round 20; by default without it),
//! `CAIRN_BENCH_SCOPE` (sites and learners per site of the scope runs, default "200,100"),
//! `CAIRN_BENCH_FLUSH_FROM` (the kept hub store the `flush` run copies and writes to),
//! `CAIRN_BENCH_FLUSHES` (its writes after the first, default 200) and
//! `CAIRN_BENCH_FLUSH_EXTRA_BLOBS` (empty files it adds to the copy's blob folder, default 0),
//! `CAIRN_BENCH_SITES_DERIVE_AFTER=1` (the sites' process derives what each site received once
//! the crowd's sessions are all done, as sites on machines of their own would without costing
//! the hub's processors; by default each site's worker derives after its own session),
//! `CAIRN_BENCH_PAIRED=1` (the concurrent runs of every size at once, their crowds in turn, and
//! each steady crowd's ratio of the last size's throughput to the first's; see [`paired`]),
//! `CAIRN_BENCH_DOUBLING` (learners and learners per roster of the `doubling` run, default
//! "300000,1000"; run only when named, not by `all`), `CAIRN_BENCH_BATCHES` (batches, keys a
//! batch and bytes a value of the `batches` run, default "200,4,1800"; run only when named).
//! Prints a Markdown table per scenario for docs/benchmarks.md.

use cairn_node::app::App;
use cairn_node::config::NodeRole;
use cairn_node::domain::lifecycle::{self, Decision};
use cairn_node::domain::{catalog, learners, people};
use cairn_node::node::Node;
use cairn_node::sync::driver::{SyncReport, Timing};
use cairn_node::sync::{hub, provision, site};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ACHIEVEMENTS: [&str; 5] = [
    "css-level-1",
    "css-level-2",
    "css-level-3",
    "workready",
    "opportunity-ready",
];

/// A number from the environment, if `name` is set to one.
fn env_number(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

fn env_list(name: &str, default: &str) -> Vec<usize> {
    std::env::var(name)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

fn staff(node: &Node, roles: &[people::Role]) -> people::Actor {
    people::add_user(node, &people::Actor::Operator, "op", roles, "135790").unwrap();
    cairn_node::signin::staff_once(node, "op", "135790").unwrap()
}

fn new_hub(dir: &Path) -> Node {
    let hub = Node::init(dir, NodeRole::Hub, "Hub", None).unwrap();
    let op = staff(&hub, &[people::Role::Admin, people::Role::Developer]);
    for (i, id) in ACHIEVEMENTS.iter().enumerate() {
        catalog::add_achievement(
            &hub,
            &op,
            catalog::Achievement {
                id: id.to_string(),
                name: format!("Achievement {id}"),
                description: "A realistic description of what this badge stands for.".into(),
                criteria: "Resolves a help-desk ticket end to end and documents it".into(),
                level: Some((i % 3) as i64 + 1),
                ..Default::default()
            },
        )
        .unwrap();
    }
    catalog::add_pathway(
        &hub,
        &op,
        catalog::Pathway {
            id: "css".into(),
            name: "Computer Support Specialist".into(),
            description: "Levels 1-3".into(),
            parts: ACHIEVEMENTS[..3].iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        },
    )
    .unwrap();
    hub
}

/// A new site numbered `i`, admitted by the hub as `cairn site enroll` admits one (its key
/// endorsed there and then) and joined. Until round 46 the harness admitted sites without the
/// endorsement, which the hub then made in the site's first session.
fn new_site(hub: &App, root: &Path, i: usize) -> Node {
    let node = Node::init(
        &root.join(format!("site{i}")),
        NodeRole::Site,
        &format!("Site {i}"),
        None,
    )
    .unwrap();
    let op = cairn_node::signin::staff_once(hub.node(), "op", "135790").unwrap();
    let admitted = hub
        .perform(
            &op,
            cairn_node::app::Request::SiteEnroll {
                site: node.id().to_string(),
                name: format!("Site {i}"),
                address: None,
            },
            cairn_node::audit::Channel::CommandLine,
            &mut cairn_node::app::NoFiles,
        )
        .unwrap();
    let cairn_node::app::Reply::SiteEnrolled { file, .. } = admitted else {
        panic!("admitting site {i} gave {admitted:?}");
    };
    provision::join(&node, file.as_bytes()).unwrap();
    staff(
        &node,
        &[
            people::Role::Admin,
            people::Role::Assessor,
            people::Role::Issuer,
        ],
    );
    node
}

/// Learners with 5 enrollments each, 2-3 evidence submissions and an assessment per enrollment,
/// and the awards that follow (including the pathway micro-credential).
fn populate(node: &Node, site: usize, learners_n: usize) -> Duration {
    populate_more(node, site, 0..learners_n)
}

/// [`populate`] for the site's learners numbered `learners` (a later crowd's work at the same
/// site takes the numbers after an earlier one's).
fn populate_more(node: &Node, site: usize, learners: std::ops::Range<usize>) -> Duration {
    let op = cairn_node::signin::staff_once(node, "op", "135790").unwrap();
    let started = Instant::now();
    for l in learners {
        let profile = learners::Profile {
            number: format!("S{site}-{l}"),
            given_name: "Learner".into(),
            family_name: format!("Number {l}"),
            year_of_birth: Some(1970 + (l % 40) as i64),
            pell_eligible: Some(l % 2 == 0),
            ..Default::default()
        };
        let lid = learners::add(node, &op, profile, None).unwrap().id;
        for (k, a) in ACHIEVEMENTS.iter().enumerate() {
            let e = lifecycle::enroll(node, &op, &lid, a, false).unwrap().id;
            let submissions = 2 + (l + k) % 2;
            let mut last = String::new();
            for s in 0..submissions {
                let text = format!(
                    "Submission {s}: a paragraph describing the work done for {a}, the ticket handled and what was learned from it."
                );
                last = lifecycle::submit_evidence(node, &op, &e, Some(&text), &[])
                    .unwrap()
                    .id;
            }
            lifecycle::assess(
                node,
                &op,
                &last,
                Decision::Proficient,
                Some("Meets the criteria."),
            )
            .unwrap();
            lifecycle::award(node, &op, &e).unwrap();
        }
    }
    started.elapsed()
}

fn runtime() -> tokio::runtime::Runtime {
    runtime_with(2)
}

fn runtime_with(workers: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap()
}

/// The hub's runtime in the concurrent runs: as many workers as `cairn serve` runs, unless
/// `CAIRN_BENCH_HUB_WORKERS` says otherwise (before round 17 the runs used 2).
fn hub_runtime() -> tokio::runtime::Runtime {
    runtime_with(env_number("CAIRN_BENCH_HUB_WORKERS").unwrap_or(hub::SERVICE_WORKER_THREADS))
}

/// A loopback relay that counts every byte (TLS records included) and can throttle and cut.
async fn relay(
    to: String,
    total: Arc<AtomicU64>,
    bytes_per_sec: Option<u64>,
    cut_after: Option<Duration>,
) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = tokio::net::TcpStream::connect(&to).await else {
                continue;
            };
            // As the node's own sockets: no Nagle delay on small frames.
            let _ = (client.set_nodelay(true), server.set_nodelay(true));
            let total = total.clone();
            tokio::spawn(async move {
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                let pipe = |mut r: tokio::net::tcp::OwnedReadHalf,
                            mut w: tokio::net::tcp::OwnedWriteHalf,
                            total: Arc<AtomicU64>| async move {
                    let mut buf = vec![0u8; 16 * 1024];
                    loop {
                        let chunk = match bytes_per_sec {
                            Some(b) => (b / 10).max(1) as usize,
                            None => buf.len(),
                        };
                        let n = match r.read(&mut buf[..chunk.min(16 * 1024)]).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        total.fetch_add(n as u64, Ordering::Relaxed);
                        if let Some(b) = bytes_per_sec {
                            tokio::time::sleep(Duration::from_secs_f64(n as f64 / b as f64)).await;
                        }
                        if w.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    let _ = w.shutdown().await;
                };
                let a = tokio::spawn(pipe(cr, sw, total.clone()));
                let b = tokio::spawn(pipe(sr, cw, total));
                match cut_after {
                    Some(d) => {
                        tokio::time::sleep(d).await;
                        a.abort();
                        b.abort();
                    }
                    None => {
                        let _ = tokio::join!(a, b);
                    }
                }
            });
        }
    });
    addr
}

async fn sync_via(node: &Node, addr: &str) -> cairn_node::error::Result<SyncReport> {
    site::sync_once(node, addr, Timing::default(), &mut |_| {}).await
}

struct Served {
    addr: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    stats: Arc<hub::ServeStats>,
}

async fn serve(app: Arc<App>) -> Served {
    // As `cairn serve` binds, with its backlog.
    let listener = hub::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let hub_node = app.node().clone();
    // The hub's upkeep before each session, as `cairn serve` runs it.
    let stats = Arc::new(hub::ServeStats {
        before_session: hub::SessionHook(Some(Arc::new(
            move |site: &cairn_sync_protocol::NodeId| app.upkeep_before_session(site),
        ))),
        ..Default::default()
    });
    tokio::spawn(hub::serve(
        hub_node,
        listener,
        Timing::default(),
        stats.clone(),
        async {
            let _ = rx.await;
        },
    ));
    Served {
        addr,
        stop: Some(tx),
        stats,
    }
}

/// The middle value, or the mean of the two middle values of an even count. Before round 29 it
/// was the upper of the two: odd counts (the no-op syncs, the opens, a run's 5 crowds) give the
/// same figure as before, even ones (a crowd's p50 over 50 or 200 sessions, the flush run's
/// 200 writes) may differ by half a step between neighbouring values.
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let mid = v.len() / 2;
    if v.len().is_multiple_of(2) {
        (v[mid - 1] + v[mid]) / 2.0
    } else {
        v[mid]
    }
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// 1-4: initial sync to an empty hub, bytes on the wire, no-op and one-entry syncs, and
/// automerge's own sync protocol on the same documents.
fn initial(learners_n: usize) {
    let root = tempfile::tempdir().unwrap();
    let hub_node = Arc::new(new_hub(&root.path().join("hub")));
    let hub_app = App::new(hub_node.clone(), None);
    let site_node = Arc::new(new_site(&hub_app, root.path(), 0));
    let rt = runtime();
    let mut served = rt.block_on(serve(hub_app));
    rt.block_on(sync_via(&site_node, &served.addr)).unwrap(); // the catalog
    let generated = populate(&site_node, 0, learners_n);
    let entries = site_node.store.vector().unwrap().total();
    println!(
        "\n## Initial sync of one site ({learners_n} learners, {entries} entries in the site's store; generated in {:.1} s)\n",
        generated.as_secs_f64()
    );
    let total = Arc::new(AtomicU64::new(0));
    let via = rt.block_on(relay(served.addr.clone(), total.clone(), None, None));
    tell_perf("enable");
    let started = Instant::now();
    let r = rt.block_on(sync_via(&site_node, &via)).unwrap();
    let wall = started.elapsed().as_secs_f64();
    // The hub acknowledged durable entries; how long until it has derived them all.
    hub_node.store.settle().unwrap();
    let derived = started.elapsed().as_secs_f64();
    tell_perf("disable");
    assert!(r.complete);
    let p = r.progress;
    let tls = total.load(Ordering::Relaxed);
    println!("| measure | value |\n|---|---|");
    println!("| entries sent | {} |", p.sent);
    println!("| wall time | {wall:.2} s |");
    println!("| entries per second | {:.0} |", p.sent as f64 / wall);
    println!("| hub: everything derived after | {derived:.2} s |");
    println!(
        "| entries per second, until derived at the hub | {:.0} |",
        p.sent as f64 / derived
    );
    println!(
        "| automerge change bytes (payloads) | {} |",
        p.payload_bytes_sent
    );
    println!(
        "| application bytes (both directions) | {} |",
        p.bytes_sent + p.bytes_received
    );
    println!("| TLS bytes on the wire (both directions) | {tls} |");
    println!(
        "| application bytes per entry | {:.1} |",
        (p.bytes_sent + p.bytes_received) as f64 / p.sent as f64
    );
    println!(
        "| change bytes per entry | {:.1} |",
        p.payload_bytes_sent as f64 / p.sent as f64
    );
    println!(
        "| ratio application / changes | {:.3} |",
        (p.bytes_sent + p.bytes_received) as f64 / p.payload_bytes_sent as f64
    );
    println!(
        "| ratio TLS / changes | {:.3} |",
        tls as f64 / p.payload_bytes_sent as f64
    );

    // 3. No-op and one-new-entry syncs.
    println!(
        "\n## No-op and one-entry syncs (median of 9)\n\n| sync | messages | app bytes | TLS bytes (incl. handshake) | ms |\n|---|---|---|---|---|"
    );
    let op = cairn_node::signin::staff_once(&site_node, "op", "135790").unwrap();
    let _ = &op;
    let lid = learners::list(&site_node).unwrap()[0].id.clone();
    for one in [false, true] {
        let (mut msgs, mut app, mut wire, mut ms) = (vec![], vec![], vec![], vec![]);
        for i in 0..9 {
            if one {
                let changes = learners::ProfileChanges {
                    primary_language: Some(format!("lang {i}")),
                    ..Default::default()
                };
                learners::edit(&site_node, &op, &lid, &changes, None).unwrap();
            }
            total.store(0, Ordering::Relaxed);
            let t = Instant::now();
            let r = rt.block_on(sync_via(&site_node, &via)).unwrap();
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
            msgs.push(r.messages as f64);
            app.push((r.progress.bytes_sent + r.progress.bytes_received) as f64);
            wire.push(total.load(Ordering::Relaxed) as f64);
        }
        println!(
            "| {} | {} | {} | {} | {:.1} |",
            if one { "one new entry" } else { "no-op" },
            median(&mut msgs),
            median(&mut app),
            median(&mut wire),
            median(&mut ms)
        );
    }
    let origins = hub_node.store.vector().unwrap().iter().count();
    println!("\n(the hub holds {origins} feeds; a Hello carries one vector entry per feed)");

    // 4. The same documents through automerge's own sync protocol, one sync::State per document.
    use automerge::sync::{Message, State, SyncDoc};
    let docs: Vec<automerge::Automerge> = site_node
        .store
        .index_scan(b"learner/")
        .unwrap()
        .into_iter()
        .filter_map(|(d, _)| {
            site_node
                .store
                .doc(&cairn_sync_protocol::DocId(d.as_slice().try_into().ok()?))
                .ok()
                .flatten()
        })
        .collect();
    let started = Instant::now();
    let (mut messages, mut bytes) = (0u64, 0u64);
    for doc in &docs {
        let mut a = doc.clone();
        let mut b = automerge::Automerge::new();
        let (mut sa, mut sb) = (State::new(), State::new());
        for _ in 0..100 {
            let mut moved = false;
            if let Some(m) = a.generate_sync_message(&mut sa) {
                let enc = m.encode();
                messages += 1;
                bytes += enc.len() as u64;
                b.receive_sync_message(&mut sb, Message::decode(&enc).unwrap())
                    .unwrap();
                moved = true;
            }
            if let Some(m) = b.generate_sync_message(&mut sb) {
                let enc = m.encode();
                messages += 1;
                bytes += enc.len() as u64;
                a.receive_sync_message(&mut sa, Message::decode(&enc).unwrap())
                    .unwrap();
                moved = true;
            }
            if !moved {
                break;
            }
        }
        assert_eq!(a.get_heads(), b.get_heads());
    }
    let am_time = started.elapsed().as_secs_f64();
    println!(
        "\n## Cairn's protocol against automerge's sync protocol, same {} learner documents\n",
        docs.len()
    );
    println!("| protocol | messages | bytes | seconds |\n|---|---|---|---|");
    println!(
        "| Cairn (one session, TLS, verified, stored durably) | {} | {} | {wall:.2} |",
        r.messages,
        p.bytes_sent + p.bytes_received
    );
    println!(
        "| automerge sync, in memory, no network, no signatures, no storage | {messages} | {bytes} | {am_time:.2} |"
    );
    println!(
        "| ratio Cairn / automerge | {:.3} | {:.3} | {:.2} |",
        r.messages as f64 / messages as f64,
        (p.bytes_sent + p.bytes_received) as f64 / bytes as f64,
        wall / am_time
    );
    let _ = served.stop.take().map(|s| s.send(()));
    let _ = served.stats;
}

/// 6: the hub under many concurrent site sessions.
fn concurrent(n: usize) {
    let mut run = CrowdRun::start(n);
    for crowd in 0..run.crowds_to_run() {
        if crowd > 0 {
            run.more();
        }
        run.crowd();
    }
    run.finish();
}

/// `CAIRN_BENCH_PAIRED=1`: the concurrent runs of every size in `CAIRN_BENCH_SESSIONS` at once,
/// each with its own hub (in this process) and its own sites' process, their crowds taken in
/// turn (the order reversed each time, so neither size always goes first) and each crowd of one
/// size seconds from the other's (about 2 s, or 7-13 s after a 200-site crowd, whose hub takes
/// that long to go idle). Runs of one size after another, as before, put minutes between the
/// crowds compared, and this machine drifts by as much as the difference sought within minutes
/// (round 36); pairs seconds apart share most of the drift. The hub's processor time counts the
/// whole process, the other hub (idle, under a tenth of a processor) too. Prints each size's
/// table, as a run of it alone would, then each steady crowd's ratio of the last size's
/// throughput to the first's, and their median with a 95 % range.
fn paired(sizes: &[usize]) {
    assert!(
        sites_in_processes() && crowds_per_run() > 1,
        "CAIRN_BENCH_PAIRED=1 needs the sites in processes of their own and CAIRN_BENCH_CROWDS > 1"
    );
    let mut runs: Vec<CrowdRun> = sizes.iter().map(|&n| CrowdRun::start(n)).collect();
    let mut order: Vec<usize> = (0..runs.len()).collect();
    for crowd in 0..crowds_per_run() {
        if crowd > 0 {
            // Every sites' process records its next work together, then each crowd runs
            // with the other processes quiet.
            runs.iter_mut().for_each(CrowdRun::ask_for_more);
            runs.iter_mut().for_each(CrowdRun::ready);
        }
        for &i in &order {
            runs[i].crowd();
        }
        order.reverse();
    }
    let throughput: Vec<Vec<f64>> = runs
        .iter()
        .map(|r| r.crowds.iter().map(Crowd::throughput).collect())
        .collect();
    let (small, large) = (sizes[0], sizes[sizes.len() - 1]);
    for run in runs {
        run.finish();
    }
    let (first, last) = (&throughput[0], &throughput[throughput.len() - 1]);
    println!(
        "\n| crowd | {small} sites, entries/s | {large} sites, entries/s | {large} / {small} |\n|---|---|---|---|"
    );
    let mut ratios = Vec::new();
    for k in 1..first.len() {
        let ratio = last[k] / first[k];
        ratios.push(ratio);
        println!(
            "| {} | {:.0} | {:.0} | {ratio:.3} |",
            k + 1,
            first[k],
            last[k]
        );
    }
    let range = match median_range(&mut ratios) {
        Some((low, high)) => format!("95 % range of the median {low:.3}–{high:.3}×"),
        None => "too few pairs for a 95 % range".to_string(),
    };
    println!(
        "\nSteady crowds, {large} sites against {small}, crowd by crowd: median {:.3}× ({range}, \
         {} pairs)\n",
        median(&mut ratios),
        ratios.len()
    );
}

/// A distribution-free 95 % range for the median of `v`: the order statistics the sign test
/// gives (the median lies between them in at least 95 % of samples of this size, whatever the
/// distribution), or `None` with fewer than 6 values, too few for one.
fn median_range(v: &mut [f64]) -> Option<(f64, f64)> {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    // The largest j with P(Binomial(n, 1/2) < j) <= 2.5 %: the range is the j-th value from
    // either end (counting from 1).
    let mut below = 0.0;
    let mut j = 0;
    let mut term = 0.5f64.powi(n as i32);
    for i in 0..n {
        if below + term > 0.025 {
            break;
        }
        below += term;
        j = i + 1;
        term = term * (n - i) as f64 / (i + 1) as f64;
    }
    (j > 0).then(|| (v[j - 1], v[n - j]))
}

/// The sites of a concurrent run: in processes of their own, or in the hub's
/// (`CAIRN_BENCH_SITES_PROCESS=0`).
enum CrowdSites {
    Processes(SitesProcesses),
    InProcess(Vec<Arc<Node>>),
}

/// A hub serving a program and the sites that sync with it at once, crowd after crowd.
struct CrowdRun {
    n: usize,
    hub_node: Arc<Node>,
    served: Served,
    sites: CrowdSites,
    crowds: Vec<Crowd>,
    // Bucket places the hub's record index has passed in doublings since the run started
    // (`Store::watch_doublings`): a crowd's share tells whether it met one.
    doubling_places: Arc<AtomicU64>,
    rt: tokio::runtime::Runtime,
    // Dropped last (fields drop in order): the stores' folders.
    _sites_root: tempfile::TempDir,
    _root: tempfile::TempDir,
}

impl CrowdRun {
    /// A hub, its program and `n` sites ready for the first crowd.
    fn start(n: usize) -> CrowdRun {
        let root = tempfile::tempdir().unwrap();
        let hub_node = Arc::new(new_hub(&root.path().join("hub")));
        let doubling_places = Arc::new(AtomicU64::new(0));
        let places = doubling_places.clone();
        assert!(hub_node.store.watch_doublings(move |_, _| {
            places.fetch_add(1, Ordering::Relaxed);
        }));
        // Deployed, each site flushes its own disk. Here all sites share the machine: with
        // `CAIRN_BENCH_SITES_IN=/dev/shm` their stores live in memory, so the hub's disk serves
        // the hub alone; by default they share the hub's disk and its flush queue.
        let sites_root = sites_root(root.path());
        // The program's sites: by default the `n` that sync at once. With more, the others are
        // admitted and get the catalog but sit the run out, so runs of different `n` in a
        // program of the same size compare the crowd alone (a hub's work per session also grew
        // with the sites the program has: before round 17 every session exchanged version
        // vectors naming them; the hub still reads every feed's tip).
        let program = env_number("CAIRN_BENCH_PROGRAM_SITES").map_or(n, |p| p.max(n));
        let hub_app = App::new(hub_node.clone(), None);
        let mut sites: Vec<Arc<Node>> = (0..program)
            .map(|i| {
                let s = new_site(&hub_app, sites_root.path(), i);
                Arc::new(s)
            })
            .collect();
        let rt = hub_runtime();
        let served = rt.block_on(serve(hub_app));
        let separate = sites_in_processes();
        // Every site first gets the catalog, then the `n` of the run write 2 learners' worth of
        // work. The sites' process does both for its own sites, so they sync as running nodes
        // whose stores hold in memory what they last wrote and read, not as nodes just started.
        let prepared_by_child = separate && !start_busy();
        let first = if prepared_by_child { n } else { 0 };
        fetch_catalog(&rt, &sites[first..], &served.addr);
        sites.truncate(n);
        if !prepared_by_child {
            for (i, s) in sites.iter().enumerate() {
                populate(s, i, 2);
            }
        }
        let sites = if separate {
            let dirs: Vec<std::path::PathBuf> = sites.iter().map(|s| s.dir.clone()).collect();
            // Closed here, so the other process can open them.
            drop(sites);
            // All in one process unless `CAIRN_BENCH_SITES_PER_PROCESS` says otherwise. One
            // process a site, as deployed, measured slower at both sizes (round 16): each
            // process's first session pays for what a running node has long set up.
            let per_process = env_number("CAIRN_BENCH_SITES_PER_PROCESS").unwrap_or(n);
            CrowdSites::Processes(SitesProcesses::start(
                &served.addr,
                &dirs,
                prepared_by_child,
                per_process,
            ))
        } else {
            CrowdSites::InProcess(sites)
        };
        CrowdRun {
            n,
            hub_node,
            served,
            sites,
            crowds: Vec::new(),
            doubling_places,
            rt,
            _sites_root: sites_root,
            _root: root,
        }
    }

    /// Crowds this run measures: [`crowds_per_run`], or one with the sites in the hub's process.
    fn crowds_to_run(&self) -> usize {
        match self.sites {
            CrowdSites::Processes(_) => crowds_per_run(),
            CrowdSites::InProcess(_) => 1,
        }
    }

    /// Have the sites record their next crowd's work and wait until they are ready.
    fn more(&mut self) {
        self.ask_for_more();
        self.ready();
    }

    /// Have the sites' processes record their next crowd's work (2 more learners' each).
    fn ask_for_more(&mut self) {
        if let CrowdSites::Processes(child) = &mut self.sites {
            child.send("more");
        }
    }

    /// Wait until the sites' processes have recorded their work and gone quiet.
    fn ready(&mut self) {
        if let CrowdSites::Processes(child) = &mut self.sites {
            child.ready();
        }
    }

    /// One crowd: every site's session at once, then the hub derives what it brought and the
    /// sites' processes go quiet, so that the next crowd (of this run or another) starts from
    /// idle processes.
    fn crowd(&mut self) {
        if !start_busy() {
            wait_until_idle(match self.sites {
                CrowdSites::Processes(_) => "the hub's process",
                CrowdSites::InProcess(_) => "the benchmark's process",
            });
        }
        tell_perf("enable");
        let hub_cpu_at_go = processor_seconds();
        let flushes_at_go = self.hub_node.store.flushes();
        let buckets_at_go = self.record_buckets();
        let places_at_go = self.doubling_places.load(Ordering::Relaxed);
        let started = Instant::now();
        let (latencies, entries, received, wall, sites_cpu) = match &mut self.sites {
            CrowdSites::Processes(child) => child.run(),
            CrowdSites::InProcess(sites) => {
                let done = self.rt.block_on(sessions(sites, &self.served.addr));
                (
                    done.iter().map(|d| d.ms).collect(),
                    done.iter().map(|d| d.sent).sum(),
                    done.iter().map(|d| d.received).collect(),
                    started.elapsed().as_secs_f64(),
                    // One process: the sites' share cannot be told apart from the hub's.
                    0.0,
                )
            }
        };
        // The hub's processor time and the profile end with the sessions, before the sites'
        // process closes its stores: until round 21 they ended once it had exited, which at
        // 200 sites took long enough to take in the hub's derivation after the crowd too.
        let hub_cpu = processor_seconds() - hub_cpu_at_go;
        let hub_flushes = self.hub_node.store.flushes() - flushes_at_go;
        let places_at_end = self.doubling_places.load(Ordering::Relaxed);
        tell_perf("disable");
        // The next crowd starts from a hub that has derived this one's entries.
        self.hub_node.store.settle().unwrap();
        let derived = started.elapsed().as_secs_f64();
        let doubling = Doubling {
            buckets_at_go,
            places: [places_at_go, places_at_end],
        };
        if let CrowdSites::Processes(child) = &mut self.sites {
            child.quiet();
        }
        self.crowds.push(Crowd {
            latencies,
            entries,
            received,
            wall,
            derived,
            hub_cpu,
            sites_cpu,
            hub_flushes,
            doubling,
        });
    }

    /// The hub's record index's buckets, or `None` before it holds a record.
    fn record_buckets(&self) -> Option<u32> {
        let buckets = self.hub_node.store.record_buckets().unwrap();
        buckets.map(|(buckets, _)| buckets)
    }

    /// Print the run's rows: each crowd's, the steady crowds' medians, and all crowds' medians.
    fn finish(self) {
        // The record index as the last crowd's doubling (if any) left it.
        wait_until_idle("the hub's process");
        let index_at_end = (
            self.record_buckets(),
            self.doubling_places.load(Ordering::Relaxed),
        );
        let CrowdRun {
            n,
            served,
            sites,
            crowds,
            ..
        } = self;
        if let CrowdSites::Processes(child) = sites {
            child.wait();
        }
        let peak = served.stats.peak.load(Ordering::SeqCst);
        let completed = served.stats.completed.load(Ordering::SeqCst);
        // A row per crowd when there are several, then their medians under the size alone (the
        // row the tables in docs/benchmarks.md quote).
        let rows: Vec<[f64; 9]> = crowds.iter().map(|c| c.row(n)).collect();
        if rows.len() > 1 {
            for (i, (c, r)) in crowds.iter().zip(&rows).enumerate() {
                print_crowd_row(
                    &format!("{n}, crowd {}", i + 1),
                    peak,
                    c.entries,
                    r,
                    completed,
                );
            }
        }
        // The crowds after the first are the steady state (sites receiving the program's copies
        // of their earlier awards, round 23): their medians get a row of their own.
        if rows.len() > 2 {
            let steady = &crowds[1..];
            print_crowd_row(
                &format!("{n}, crowds 2-{}", rows.len()),
                peak,
                steady.iter().map(|c| c.entries).sum::<u64>() / steady.len() as u64,
                &medians_of(&rows[1..]),
                completed,
            );
        }
        let entries = crowds.iter().map(|c| c.entries).sum::<u64>() / crowds.len() as u64;
        print_crowd_row(&n.to_string(), peak, entries, &medians_of(&rows), completed);
        print_received(n, &crowds);
        print_doublings(n, &crowds, index_at_end);
    }
}

/// Whether the concurrent runs' sites run their sessions from a process of their own (unless
/// `CAIRN_BENCH_SITES_PROCESS=0`): sled guards every tree of a process with one lock
/// (`sled::concurrency_control` is a process-wide static), so 200 site stores in the hub's
/// process would serialize the hub's writes behind theirs, which no deployment does.
fn sites_in_processes() -> bool {
    std::env::var("CAIRN_BENCH_SITES_PROCESS").map_or(true, |v| v != "0")
}

/// `perf record --control fifo:CTL,ACK -D -1 ...` profiles only the sessions when
/// `CAIRN_BENCH_PERF_CTL` names CTL.
fn tell_perf(what: &str) {
    if let Ok(ctl) = std::env::var("CAIRN_BENCH_PERF_CTL") {
        let _ = std::fs::write(ctl, format!("{what}\n"));
    }
}

/// What a session of each crowd received from the hub, medians over its sessions: a line under
/// the table, so that runs of different sizes show whether a session carries more at one.
fn print_received(n: usize, crowds: &[Crowd]) {
    let per_crowd: Vec<String> = crowds
        .iter()
        .map(|c| {
            let rows: Vec<[f64; 3]> = c.received.iter().map(|r| r.map(|v| v as f64)).collect();
            let [bytes, entries, messages] = medians_of(&rows);
            format!("{bytes:.0} B / {entries:.0} entries / {messages:.0} messages")
        })
        .collect();
    println!(
        "\n{n} sites, what a session received from the hub, crowd by crowd (medians of its \
         sessions: application bytes, whole entries, messages both ways): {}\n",
        per_crowd.join("; ")
    );
}

/// The hub's record index crowd by crowd: a line under the table, so that a crowd that met a
/// doubling can be told from its row. `at_end` is the buckets and places passed once the last
/// crowd's work was done.
fn print_doublings(n: usize, crowds: &[Crowd], at_end: (Option<u32>, u64)) {
    let next_go = crowds
        .iter()
        .skip(1)
        .map(|c| (c.doubling.buckets_at_go, c.doubling.places[0]))
        .chain(std::iter::once(at_end));
    let per_crowd: Vec<String> = crowds
        .iter()
        .zip(next_go)
        .enumerate()
        .map(|(i, (c, (buckets_after, places_after)))| {
            let [go, end] = c.doubling.places;
            let shown = |b: Option<u32>| b.map_or("none".to_string(), |b| b.to_string());
            format!(
                "{}: {} → {} ({} / {})",
                i + 1,
                shown(c.doubling.buckets_at_go),
                shown(buckets_after),
                end - go,
                places_after - end
            )
        })
        .collect();
    println!(
        "\n{n} sites, the hub's record index crowd by crowd (buckets at the go → after its work; \
         bucket places its doublings passed while the sessions ran / after them): {}\n",
        per_crowd.join("; ")
    );
}

/// Each column's median over the rows.
fn medians_of<const N: usize>(rows: &[[f64; N]]) -> [f64; N] {
    std::array::from_fn(|k| median(&mut rows.iter().map(|r| r[k]).collect::<Vec<_>>()))
}

/// The settings that change what a concurrent run measures, in a sentence for its log.
fn concurrent_setting() -> String {
    if !sites_in_processes() {
        return format!(
            "Processors: the hub and the sites in one process, on {}. One crowd a run.",
            allowed_processors()
        );
    }
    format!(
        "Processors: the hub's process on {}, the sites' on {}. The sites derive what they \
         received {}. {}",
        allowed_processors(),
        std::env::var("CAIRN_BENCH_SITES_CPUS").unwrap_or_else(|_| "the hub's".into()),
        if std::env::var("CAIRN_BENCH_SITES_DERIVE_AFTER").is_ok_and(|v| v == "1") {
            "once the crowd is done"
        } else {
            "after each session"
        },
        match crowds_per_run() {
            1 => "One crowd a run.".to_string(),
            k => format!(
                "{k} crowds a run; the rows `N, crowds 2-{k}` are the steady crowds' medians \
                 (their peak and completed columns count the whole run)."
            ),
        },
    )
}

/// The processors this process may run on, such as `0` or `0,1`: what `CAIRN_BENCH_HUB_CPUS`,
/// `taskset` or a cpuset left it.
fn allowed_processors() -> String {
    // SAFETY: `set` is a plain bit set on the stack that sched_getaffinity fills.
    let set = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        let rc = libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set);
        if rc != 0 {
            return "(unknown)".into();
        }
        set
    };
    (0..libc::CPU_SETSIZE as usize)
        // SAFETY: `cpu` is below CPU_SETSIZE, the set's size.
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
        .map(|cpu| cpu.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Crowds a concurrent run measures, one after another with the same sites and hub, each site
/// bringing 2 more learners' work each time: `CAIRN_BENCH_CROWDS`, by default 5. A crowd of 50
/// sessions lasts under a tenth of a second here, so one crowd moves with every few
/// milliseconds the machine loses (round 23); the run reports each and their medians. With
/// `CAIRN_BENCH_SITES_PROCESS=0` (the sites in the hub's process) a run measures one crowd.
fn crowds_per_run() -> usize {
    env_number("CAIRN_BENCH_CROWDS").unwrap_or(5).max(1)
}

/// One crowd of a concurrent run: every site's session at once.
struct Crowd {
    /// Each session's time, connect to done, in ms.
    latencies: Vec<f64>,
    /// Entries the sites sent.
    entries: u64,
    /// Each session's bytes and entries from the hub and its messages both ways
    /// ([`Session::received`]).
    received: Vec<[u64; 3]>,
    /// From the go to the last session's end, in s.
    wall: f64,
    /// From the go until the hub has derived everything, in s.
    derived: f64,
    /// Processor time over the sessions, in s.
    hub_cpu: f64,
    sites_cpu: f64,
    /// Group-commit flushes the hub's sessions waited for (`Store::flushes`): each a write to
    /// the disk and a wait for it, so that a crowd's disk work per session can be compared.
    hub_flushes: u64,
    doubling: Doubling,
}

/// The hub's record index at a crowd's go and end. A doubling can run on after the derivation
/// the crowd waits for (with the writer, so whatever writes next waits), so what it did after the
/// sessions is read at the next crowd's go, once the hub is idle.
struct Doubling {
    buckets_at_go: Option<u32>,
    /// Bucket places its doublings had passed since the run started, at the go and at the last
    /// session's end.
    places: [u64; 2],
}

impl Crowd {
    /// Entries the sites sent a second, from the go to the last session's end.
    fn throughput(&self) -> f64 {
        self.entries as f64 / self.wall
    }

    /// wall s, entries/s, p50, p95, p99 ms, all derived at s, hub and sites processor ms a
    /// session, the hub's flushes a session.
    fn row(&self, n: usize) -> [f64; 9] {
        let mut l = self.latencies.clone();
        [
            self.wall,
            self.throughput(),
            median(&mut l),
            percentile(&mut l, 0.95),
            percentile(&mut l, 0.99),
            self.derived,
            self.hub_cpu * 1000.0 / n as f64,
            self.sites_cpu * 1000.0 / n as f64,
            self.hub_flushes as f64 / n as f64,
        ]
    }
}

fn print_crowd_row(label: &str, peak: usize, entries: u64, r: &[f64], completed: usize) {
    println!(
        "| {label} | {peak} | {entries} | {:.2} | {:.0} | {:.0} | {:.0} | {:.0} | {completed} | {:.2} | {:.1} | {:.1} | {:.2} |",
        r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8],
    );
}

/// Each site in turn fetches the catalog from the hub.
fn fetch_catalog(rt: &tokio::runtime::Runtime, sites: &[Arc<Node>], addr: &str) {
    rt.block_on(async {
        for s in sites {
            sync_via(s, addr).await.unwrap();
        }
    });
}

/// What one site's session of a crowd took and moved.
struct Session {
    /// Connect to done, in ms.
    ms: f64,
    /// Entries the site sent.
    sent: u64,
    /// What the hub sent it: bytes (application), whole entries, and the session's messages
    /// both ways, so that a crowd's rows can show what a session carries at each size.
    received: [u64; 3],
}

/// Every site syncs with the hub at once.
async fn sessions(sites: &[Arc<Node>], addr: &str) -> Vec<Session> {
    let barrier = Arc::new(tokio::sync::Barrier::new(sites.len()));
    let mut tasks = Vec::new();
    for s in sites {
        let (s, addr, barrier) = (s.clone(), addr.to_string(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let t = Instant::now();
            let r = sync_via(&s, &addr).await.unwrap();
            Session {
                ms: t.elapsed().as_secs_f64() * 1000.0,
                sent: r.progress.sent,
                received: [r.progress.bytes_received, r.progress.received, r.messages],
            }
        }));
    }
    let mut done = Vec::new();
    for t in tasks {
        done.push(t.await.unwrap());
    }
    done
}

/// The sites of a concurrent run, in processes of their own (this benchmark, run again with
/// `CAIRN_BENCH_SITES_CHILD` naming a file: the hub's address, then `NUMBER FOLDER` for each of
/// its sites). Each opens its sites (with `CAIRN_BENCH_SITES_PREPARE=1`, fetches the catalog and
/// records the sites' work), waits until it is idle, says `ready`, waits for `go` on its input,
/// runs its sessions at once and prints `session MS SENT BYTES ENTRIES MESSAGES` for each (see
/// [`Session`]), `cpu S`, then `end NS`, and once its sites have derived what they received and
/// it is idle again, `quiet`; and again for each further crowd ([`crowds_per_run`]), recording 2
/// more learners' work when told `more`, then saying `ready`. Nothing it does between crowds
/// overlaps a crowd, its own or (with `CAIRN_BENCH_PAIRED=1`) another run's.
struct SitesProcesses {
    children: Vec<(
        std::process::Child,
        std::io::BufReader<std::process::ChildStdout>,
    )>,
    inputs: Vec<std::process::ChildStdin>,
    _lists: Vec<tempfile::NamedTempFile>,
}

impl SitesProcesses {
    /// `per_process` sites to a process, all started together.
    fn start(
        addr: &str,
        dirs: &[std::path::PathBuf],
        prepare: bool,
        per_process: usize,
    ) -> SitesProcesses {
        use std::io::Write;
        let (mut children, mut inputs, mut lists) = (Vec::new(), Vec::new(), Vec::new());
        let numbered: Vec<(usize, &std::path::PathBuf)> = dirs.iter().enumerate().collect();
        for group in numbered.chunks(per_process.max(1)) {
            let mut list = tempfile::NamedTempFile::new().unwrap();
            writeln!(list, "{addr}").unwrap();
            for (i, d) in group {
                writeln!(list, "{i} {}", d.display()).unwrap();
            }
            list.flush().unwrap();
            let mut child = std::process::Command::new(std::env::current_exe().unwrap())
                .env("CAIRN_BENCH_SITES_CHILD", list.path())
                .env("CAIRN_BENCH_SITES_PREPARE", if prepare { "1" } else { "0" })
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            let out = std::io::BufReader::new(child.stdout.take().unwrap());
            inputs.push(child.stdin.take().unwrap());
            children.push((child, out));
            lists.push(list);
        }
        let mut processes = SitesProcesses {
            children,
            inputs,
            _lists: lists,
        };
        processes.ready();
        processes
    }

    /// Wait until every process has said `ready` (its sites' work recorded, the process idle).
    fn ready(&mut self) {
        self.expect("ready");
    }

    /// Wait until every process has said `quiet` (its sites done deriving what the crowd
    /// brought, the process idle), so that nothing of this crowd runs in the next.
    fn quiet(&mut self) {
        self.expect("quiet");
    }

    /// Wait until every process has said `word`, and nothing else.
    fn expect(&mut self, word: &str) {
        use std::io::BufRead;
        for (_, out) in &mut self.children {
            let mut line = String::new();
            out.read_line(&mut line).unwrap();
            assert_eq!(line.trim(), word, "a sites' process said {line:?}");
        }
    }

    /// Go: the sessions' times in ms, the entries sent, what each session received
    /// ([`Session::received`]), the wall time in s (from the go signal to the last session's
    /// end) and the processor time the sites' processes used in s, returned once every process
    /// has reported its sessions (see [`SitesProcesses::wait`]).
    fn run(&mut self) -> (Vec<f64>, u64, Vec<[u64; 3]>, f64, f64) {
        use std::io::BufRead;
        let go = monotonic_ns();
        self.send("go");
        let (mut lat, mut entries, mut end, mut cpu) = (Vec::new(), 0, go, 0.0);
        let mut received = Vec::new();
        for (_, out) in &mut self.children {
            for line in out.lines() {
                let line = line.unwrap();
                let parts: Vec<&str> = line.split_whitespace().collect();
                match parts.as_slice() {
                    ["session", ms, sent, bytes, got, messages] => {
                        lat.push(ms.parse().unwrap());
                        entries += sent.parse::<u64>().unwrap();
                        received.push([bytes, got, messages].map(|v| v.parse().unwrap()));
                    }
                    ["cpu", s] => cpu += s.parse::<f64>().unwrap(),
                    ["end", ns] => {
                        end = end.max(ns.parse().unwrap());
                        break;
                    }
                    _ => panic!("a sites' process said {line}"),
                }
            }
        }
        (lat, entries, received, (end - go) as f64 / 1e9, cpu)
    }

    /// Say `line` to every process: `go` (run the sessions) or `more` (record the next crowd's
    /// work, then say `ready`).
    fn send(&mut self, line: &str) {
        use std::io::Write;
        for input in &mut self.inputs {
            writeln!(input, "{line}").unwrap();
            input.flush().unwrap();
        }
    }

    /// Wait for the sites' processes to close their stores and exit.
    fn wait(mut self) {
        self.inputs.clear();
        for (child, _) in &mut self.children {
            assert!(child.wait().unwrap().success());
        }
    }
}

/// The monotonic clock in ns, the same in every process on the machine.
fn monotonic_ns() -> u64 {
    // SAFETY: `t` is a plain struct on the stack that clock_gettime fills.
    let t = unsafe {
        let mut t: libc::timespec = std::mem::zeroed();
        assert_eq!(libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t), 0);
        t
    };
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// `CAIRN_BENCH_START_BUSY=1`: start a concurrent run as soon as both processes are ready, as
/// before round 16 (docs/benchmarks.md), instead of once they are idle.
fn start_busy() -> bool {
    std::env::var("CAIRN_BENCH_START_BUSY").is_ok_and(|v| v == "1")
}

/// Wait until this process is idle: under 10 % of one processor over 300 ms (or 120 s have
/// passed, said on stderr; 200 site stores that just took a day's writes keep sled's flusher
/// threads at about 5 % for minutes, which is left running). A concurrent run starts from
/// quiet processes, so that work left from preparing it (sled cleaning the segments of stores
/// just written or opened, the hub deriving the last setup batches) does not land in the
/// measured seconds of one size and not another.
fn wait_until_idle(what: &str) {
    let started = Instant::now();
    loop {
        let before = processor_seconds();
        std::thread::sleep(Duration::from_millis(300));
        let used = processor_seconds() - before;
        if used < 0.03 {
            break;
        }
        if started.elapsed() > Duration::from_secs(120) {
            eprintln!(
                "{what} still busy after 120 s ({used:.3} s of processor in 0.3 s); going on"
            );
            return;
        }
    }
    if started.elapsed() > Duration::from_secs(1) {
        eprintln!("{what} idle after {:.1} s", started.elapsed().as_secs_f64());
    }
}

/// Keep this process (every thread it starts from now on) on the processors listed, such as
/// `1` or `0,1`.
fn keep_on(cpus: &str) {
    // SAFETY: `set` is a plain bit set on the stack; sched_setaffinity reads it for this thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for cpu in cpus.split(',') {
            libc::CPU_SET(
                cpu.trim()
                    .parse()
                    .expect("CAIRN_BENCH_HUB_CPUS, CAIRN_BENCH_SITES_CPUS: processor numbers"),
                &mut set,
            );
        }
        let rc = libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
        assert_eq!(
            rc,
            0,
            "sched_setaffinity: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// Processor time this process (all its threads) has used so far, user and system, in s: a
/// figure steal and scheduling disturb less than wall time, to compare builds by.
fn processor_seconds() -> f64 {
    // SAFETY: `usage` is a plain struct on the stack that getrusage fills.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_SELF, &mut usage), 0);
        usage
    };
    let s = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    s(usage.ru_utime) + s(usage.ru_stime)
}

/// Open a simulated site of a concurrent run. Without sled's periodic flush unless
/// `CAIRN_BENCH_SITES_PERIODIC_FLUSH=1` (as before round 20): each of a crowd's 200 stores in
/// one process would otherwise wake a flusher thread twice a second that cleans segments for up
/// to half of it, on the two processors the hub has, work each site's own machine does when
/// deployed. Every flush a site's session waits for still happens.
fn open_simulated_site(dir: &Path) -> Node {
    if std::env::var("CAIRN_BENCH_SITES_PERIODIC_FLUSH").is_ok_and(|v| v == "1") {
        Node::open(dir).unwrap()
    } else {
        Node::open_without_periodic_flush(dir).unwrap()
    }
}

/// The sites' side of [`SitesProcesses`].
fn sites_child(list: &str) {
    use std::io::{BufRead, Write};
    let text = std::fs::read_to_string(list).unwrap();
    let mut lines = text.lines();
    let addr = lines.next().unwrap().to_string();
    let (numbers, sites): (Vec<usize>, Vec<Arc<Node>>) = lines
        .map(|l| {
            let (i, d) = l.split_once(' ').unwrap();
            (
                i.parse::<usize>().unwrap(),
                Arc::new(open_simulated_site(Path::new(d))),
            )
        })
        .unzip();
    let rt = runtime();
    if std::env::var("CAIRN_BENCH_SITES_PREPARE").is_ok_and(|v| v == "1") {
        fetch_catalog(&rt, &sites, &addr);
        for (&i, s) in numbers.iter().zip(&sites) {
            populate(s, i, 2);
        }
    }
    let mut stdout = std::io::stdout();
    // The benchmark's next word on this process's input, which must be `word`.
    let hear = |word: &str| {
        let mut said = String::new();
        std::io::stdin().lock().read_line(&mut said).unwrap();
        assert_eq!(said.trim(), word, "the benchmark said {said:?}");
    };
    for crowd in 0..crowds_per_run() {
        if crowd > 0 {
            hear("more");
            for (&i, s) in numbers.iter().zip(&sites) {
                populate_more(s, i, 2 * crowd..2 * crowd + 2);
            }
        }
        // As running site nodes whose stores went quiet before the hub came back: the work a
        // store does after its writes (sled cleaning segments, on a thread of its own) is done
        // on each site's own machine and costs the hub nothing.
        if !start_busy() {
            wait_until_idle("the sites' process");
        }
        writeln!(stdout, "ready").unwrap();
        stdout.flush().unwrap();
        hear("go");
        // `CAIRN_BENCH_SITES_DERIVE_AFTER=1`: each site's worker derives what its session
        // received once the whole crowd is done, not as soon as its own session ends. Deployed,
        // a site derives on its own machine; here 200 sites' derivations would otherwise share
        // the hub's two processors inside the crowd's window, which a 50-site crowd (over in a
        // tenth of a second) escapes.
        let derive_after = std::env::var("CAIRN_BENCH_SITES_DERIVE_AFTER").is_ok_and(|v| v == "1");
        let holding: Vec<_> = sites
            .iter()
            .filter(|_| derive_after)
            .map(|s| s.store.session_running())
            .collect();
        let cpu = processor_seconds();
        let done = rt.block_on(sessions(&sites, &addr));
        let end = monotonic_ns();
        let cpu = processor_seconds() - cpu;
        drop(holding);
        for d in done {
            let [bytes, entries, messages] = d.received;
            writeln!(
                stdout,
                "session {} {} {bytes} {entries} {messages}",
                d.ms, d.sent
            )
            .unwrap();
        }
        writeln!(stdout, "cpu {cpu}").unwrap();
        writeln!(stdout, "end {end}").unwrap();
        stdout.flush().unwrap();
        if !start_busy() {
            wait_until_idle("the sites' process");
        }
        writeln!(stdout, "quiet").unwrap();
        stdout.flush().unwrap();
    }
}

/// Where the simulated sites keep their stores: `CAIRN_BENCH_SITES_IN`, or beside the hub's.
fn sites_root(beside: &Path) -> tempfile::TempDir {
    match std::env::var("CAIRN_BENCH_SITES_IN") {
        Ok(dir) => tempfile::tempdir_in(dir).unwrap(),
        Err(_) => tempfile::tempdir_in(beside).unwrap(),
    }
}

/// 5: open time and memory of a node holding many entries (the hub after receiving sites).
fn open(entries_target: usize) {
    let root = tempfile::tempdir().unwrap();
    // `CAIRN_BENCH_OPEN_FROM=DIR`: start from a copy of a hub store this benchmark kept (3M
    // entries take hours to generate from nothing; from a kept 1M store, two thirds of that).
    let from = std::env::var("CAIRN_BENCH_OPEN_FROM").ok();
    let hub_node = Arc::new(match &from {
        Some(kept) => {
            cairn_node::node::copy_dir(Path::new(kept), &root.path().join("hub"))
                .unwrap_or_else(|e| panic!("could not copy {kept}: {e}"));
            Node::open(&root.path().join("hub")).unwrap()
        }
        None => new_hub(&root.path().join("hub")),
    });
    // The sites' stores are only the source of the hub's entries: with
    // `CAIRN_BENCH_SITES_IN=/dev/shm` their flushed writes cost no disk time, which makes a
    // multi-million-entry hub a matter of the sites' processor time, while the hub, the store
    // measured, stays on disk.
    let sites_dir = sites_root(root.path());
    let rt = runtime();
    let hub_app = App::new(hub_node.clone(), None);
    let served = rt.block_on(serve(hub_app.clone()));
    let per_site = 2000usize; // learners per generated site, ~57k entries each
    // Sites write their own stores, each write flushed: several sites are generated at once so
    // one site's flush overlaps another's work. Each then syncs to the hub in turn.
    let at_once = 4usize;
    let mut total = hub_node.store.vector().unwrap().total() as usize;
    // Site names and learner numbers must not repeat the kept store's: a kept store's sites
    // are numbered from 0, those a growth added from 1000, and a store grown twice (round 45's
    // 1.96M, from the 1M) already holds some of those.
    let mut i = match &from {
        Some(_) => hub_node
            .store
            .site_records()
            .unwrap()
            .iter()
            .filter_map(|s| s.name.strip_prefix("Site ")?.parse::<usize>().ok())
            .map(|n| n + 1)
            .fold(1000, usize::max),
        None => 0,
    };
    let generated = Instant::now();
    // A sync that fails ends the generation, but the store it made so far is kept (with
    // `CAIRN_BENCH_KEEP_STORE`) once the hub has closed it: round 44's run lost 56 minutes'
    // store when a new site's first sync failed at 2.2 million entries.
    let mut failed = None;
    'rounds: while total < entries_target {
        let mut round = Vec::new();
        let mut planned = total;
        // A new site's admission (the hub endorses its key there and then, as for `cairn site
        // enroll`) and its first session with the hub, while the hub derives the last round's
        // batches and signs their copies behind them: the longest of each, and how many
        // sessions met the hub deriving behind.
        let (mut admitted_longest, mut first_longest, mut first_behind) =
            (Duration::ZERO, Duration::ZERO, 0);
        while planned < entries_target && round.len() < at_once {
            let admitted = Instant::now();
            let s = new_site(&hub_app, sites_dir.path(), i);
            admitted_longest = admitted_longest.max(admitted.elapsed());
            first_behind += usize::from(hub_node.store.behind());
            let started = Instant::now();
            if let Err(e) = rt.block_on(sync_via(&s, &served.addr)) {
                failed = Some(format!("site {i}'s first sync: {e}"));
                break 'rounds;
            }
            first_longest = first_longest.max(started.elapsed());
            let want = ((entries_target - planned) / 29).clamp(1, per_site);
            planned += want * 29;
            round.push((i, s, want));
            i += 1;
        }
        std::thread::scope(|scope| {
            for (n, s, want) in &round {
                scope.spawn(move || populate(s, *n, *want));
            }
        });
        for (n, s, _) in round {
            if let Err(e) = rt.block_on(sync_via(&s, &served.addr)) {
                failed = Some(format!("site {n}'s sync: {e}"));
                break 'rounds;
            }
            drop(s);
            let _ = std::fs::remove_dir_all(sites_dir.path().join(format!("site{n}")));
        }
        // What the round's syncs left queued, and how long until it is derived (by the
        // worker once the syncs stop, or here): a hub's derivation rate at this size.
        let queued = hub_node.store.queued_entries().unwrap();
        let deriving = Instant::now();
        tell_perf("enable");
        hub_node.store.settle().unwrap();
        tell_perf("disable");
        let derived_in = deriving.elapsed().as_secs_f64();
        eprintln!(
            "open: the round left {queued} entries queued, derived in {derived_in:.1} s \
             ({:.0} entries/s)",
            queued as f64 / derived_in.max(1e-9)
        );
        total = hub_node.store.vector().unwrap().total() as usize;
        eprintln!(
            "open: {total} entries at the hub after {:.0} s (new sites' admission: longest \
             {:.2} s; first sync: longest {:.2} s, {first_behind} of them begun with the hub \
             deriving behind)",
            generated.elapsed().as_secs_f64(),
            admitted_longest.as_secs_f64(),
            first_longest.as_secs_f64()
        );
    }
    drop(hub_app);
    drop(served);
    drop(rt);
    let dir = root.path().join("hub");
    let size = hub_node.store.size_on_disk().unwrap();
    drop(hub_node);
    // Open in a fresh process, as `cairn status` does, five times: time and peak RSS.
    let bin = env!("CARGO_BIN_EXE_cairn");
    let status = || {
        std::process::Command::new("/usr/bin/time")
            .args([
                "-f",
                "%e %M",
                bin,
                "--data",
                dir.to_str().unwrap(),
                "status",
            ])
            .output()
            .unwrap()
    };
    // The hub's background upkeep (started by the last sessions) may still hold the store
    // open: wait until it is closed, untimed, so that no failed open is measured. After two
    // million entries from 70 new sites it signs tens of thousands of award copies, which took
    // longer than ten minutes; the bound is generous, and a store that hours made is kept
    // (with `CAIRN_BENCH_KEEP_STORE`) before giving up rather than deleted with the folder.
    let waited = Instant::now();
    let mut told = Instant::now();
    while !status().status.success() {
        if waited.elapsed() > Duration::from_secs(3 * 3600) {
            keep_store(&dir, total);
            panic!("the hub's store stayed in use for three hours");
        }
        if told.elapsed() > Duration::from_secs(60) {
            eprintln!(
                "open: waiting for the hub's upkeep to close the store ({:.0} s)",
                waited.elapsed().as_secs_f64()
            );
            told = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    if let Some(failed) = failed {
        keep_store(&dir, total);
        panic!("the generation stopped at {total} entries: {failed}");
    }
    let (mut secs, mut rss) = (vec![], vec![]);
    for _ in 0..5 {
        let out = status();
        assert!(
            out.status.success(),
            "cairn status failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().last().unwrap_or("");
        let mut it = last.split_whitespace();
        secs.push(it.next().and_then(|x| x.parse().ok()).unwrap_or(f64::NAN));
        rss.push(
            it.next()
                .and_then(|x| x.parse::<f64>().ok())
                .unwrap_or(f64::NAN)
                / 1024.0,
        );
    }
    println!(
        "| {total} | {:.1} | {:.1} | {:.3} | {:.1} |",
        generated.elapsed().as_secs_f64(),
        size as f64 / 1e6,
        median(&mut secs),
        median(&mut rss)
    );
    keep_store(&dir, total);
}

/// Keep a generated hub store for profiling its open (`perf record cairn --data DIR status`) or
/// as the start of a larger one (`CAIRN_BENCH_OPEN_FROM`), when `CAIRN_BENCH_KEEP_STORE` names
/// a folder on the same disk.
fn keep_store(dir: &Path, total: usize) {
    if let Ok(keep) = std::env::var("CAIRN_BENCH_KEEP_STORE") {
        let to = Path::new(&keep).join(format!("hub-{total}"));
        let _ = std::fs::remove_dir_all(&to);
        if let Err(e) = std::fs::rename(dir, &to) {
            eprintln!("could not keep the store at {}: {e}", to.display());
        }
    }
}

/// 9: what a flush costs as a store grows. A copy of a kept hub store (beside it, on the same
/// disk) is opened as `cairn` opens it; one small local write, flushed as every acknowledged
/// write is, then `n` more, and `n` more after a pause: the first pays for what the flush does
/// once after opening.
fn flush_cost(from: &Path, n: usize) {
    let root = tempfile::tempdir_in(from.parent().unwrap_or(Path::new("."))).unwrap();
    let dir = root.path().join("hub");
    cairn_node::node::copy_dir(from, &dir)
        .unwrap_or_else(|e| panic!("could not copy {}: {e}", from.display()));
    // `CAIRN_BENCH_FLUSH_EXTRA_BLOBS=N`: N more files in the blob folder, as a larger store
    // holds (a million entries 2,415 blob files, 100,000 entries 243). They
    // are empty and named by numbers no blob of this store has; sled leaves alone the files no
    // page points at, below its log's end.
    let extra = env_list("CAIRN_BENCH_FLUSH_EXTRA_BLOBS", "0")[0];
    let blob_dir = dir.join("store").join("blobs");
    let mut made = 0;
    for name in 1.. {
        if made == extra {
            break;
        }
        let path = blob_dir.join(name.to_string());
        if !path.exists() {
            std::fs::write(path, b"").unwrap();
            made += 1;
        }
    }
    let blobs = std::fs::read_dir(&blob_dir).map_or(0, |d| d.count());
    // On the disk before it is opened, as a store written long ago is.
    assert!(
        std::process::Command::new("sync")
            .status()
            .unwrap()
            .success()
    );
    let opened = Instant::now();
    let node = Node::open(&dir).unwrap();
    let open_s = opened.elapsed().as_secs_f64();
    let entries = node.store.vector().unwrap().total();
    let mut write = |i: u64| {
        let t = Instant::now();
        node.store.set_local("bench-flush", &i).unwrap();
        t.elapsed().as_secs_f64() * 1000.0
    };
    let first = write(0);
    // The blob folder was changed a moment ago (the copy): each flush lists it, as while a
    // crowd of sites makes new blobs. Then, the folder left alone for longer than a flush needs
    // to trust its last listing (`on_disk::SETTLED`, 3 s), as at a quiet hub.
    let mut changed: Vec<f64> = (1..=n as u64).map(&mut write).collect();
    std::thread::sleep(Duration::from_secs(4));
    let mut settled: Vec<f64> = (1..=n as u64).map(|i| write(n as u64 + i)).collect();
    println!(
        "| {entries} | {blobs} | {open_s:.3} | {first:.2} | {:.3} | {:.3} | {:.3} |",
        median(&mut changed),
        percentile(&mut changed, 0.9),
        median(&mut settled),
    );
}

/// 7: a site on a 64 kbit/s link cut every 30 s.
fn slowlink(learners_n: usize) {
    let root = tempfile::tempdir().unwrap();
    let hub_node = Arc::new(new_hub(&root.path().join("hub")));
    let hub_app = App::new(hub_node.clone(), None);
    let site_node = Arc::new(new_site(&hub_app, root.path(), 0));
    let rt = runtime();
    let served = rt.block_on(serve(hub_app));
    rt.block_on(sync_via(&site_node, &served.addr)).unwrap();
    populate(&site_node, 0, learners_n);
    let bytes_per_sec = 64_000 / 8;
    let total = Arc::new(AtomicU64::new(0));
    let via = rt.block_on(relay(
        served.addr.clone(),
        total.clone(),
        Some(bytes_per_sec),
        Some(Duration::from_secs(30)),
    ));
    let started = Instant::now();
    let mut attempts = 0;
    let mut app_bytes = 0;
    loop {
        attempts += 1;
        match rt.block_on(sync_via(&site_node, &via)) {
            Ok(r) if r.complete => {
                app_bytes += r.progress.bytes_sent + r.progress.bytes_received;
                break;
            }
            Ok(r) => app_bytes += r.progress.bytes_sent + r.progress.bytes_received,
            Err(_) => {}
        }
        assert!(attempts < 200, "did not converge");
    }
    let wall = started.elapsed().as_secs_f64();
    let wire = total.load(Ordering::Relaxed);
    let entries = site_node.store.vector().unwrap().total();
    println!(
        "\n## Slow link: 64 kbit/s, cut every 30 s ({learners_n} learners, {entries} entries at the site)\n"
    );
    println!("| measure | value |\n|---|---|");
    println!("| sessions until converged | {attempts} |");
    println!("| time to converge | {wall:.1} s |");
    println!("| bytes on the wire (TLS, all sessions) | {wire} |");
    println!(
        "| wire bytes / bandwidth (the floor) | {:.1} s |",
        wire as f64 / bytes_per_sec as f64
    );
    println!(
        "| ratio time / floor | {:.2} |",
        wall / (wire as f64 / bytes_per_sec as f64)
    );
    println!("| application bytes (all sessions) | {app_bytes} |");
}

fn main() {
    if let Ok(list) = std::env::var("CAIRN_BENCH_SITES_CHILD") {
        if let Ok(cpus) = std::env::var("CAIRN_BENCH_SITES_CPUS") {
            keep_on(&cpus);
        }
        return sites_child(&list);
    }
    // The processors this process may use, before it keeps itself to fewer of them.
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    // Before any thread starts: every thread (the hub's runtime, its store's) and the sites'
    // process, unless `CAIRN_BENCH_SITES_CPUS` moves it, inherit this.
    if let Ok(cpus) = std::env::var("CAIRN_BENCH_HUB_CPUS") {
        keep_on(&cpus);
    }
    let what: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let all = what.is_empty() || what.iter().any(|w| w == "all");
    let want = |s: &str| all || what.iter().any(|w| w == s);
    let learners_n = env_list("CAIRN_BENCH_LEARNERS", "500")[0];
    println!(
        "# cairn sync benchmarks ({cores} cores{})",
        free_page_reporting().map_or(String::new(), |r| format!("; {r}"))
    );
    if want("initial") {
        initial(learners_n);
    }
    if want("concurrent") {
        println!(
            "\n## Hub under concurrent sessions (each site sends 2 learners' work, ~57 entries)\n"
        );
        println!("{}\n", concurrent_setting());
        println!(
            "| sessions | peak held | entries | wall s | entries/s | p50 ms | p95 ms | p99 ms | completed | all derived at s | hub processor ms per session | sites processor ms per session | hub flushes per session |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|"
        );
        let sizes = env_list("CAIRN_BENCH_SESSIONS", "50,200");
        if std::env::var("CAIRN_BENCH_PAIRED").is_ok_and(|v| v == "1") && sizes.len() > 1 {
            paired(&sizes);
        } else {
            for n in sizes {
                concurrent(n);
            }
        }
    }
    if want("open") {
        println!(
            "\n## Open time and memory (hub store, `cairn status` in a fresh process, median of 5)\n"
        );
        println!(
            "| entries | generated in s | store MB | open+status s | peak RSS MB |\n|---|---|---|---|---|"
        );
        for n in env_list("CAIRN_BENCH_OPEN", "100000,1000000") {
            open(n);
        }
    }
    // Only with a kept store to copy: `all` runs it when one is named.
    let flush_from = std::env::var("CAIRN_BENCH_FLUSH_FROM");
    if what.iter().any(|w| w == "flush") || (all && flush_from.is_ok()) {
        let from = flush_from.expect("CAIRN_BENCH_FLUSH_FROM=DIR: a hub store the open runs kept");
        println!(
            "\n## A small local write and its flush on a kept store (`CAIRN_BENCH_FLUSH_FROM`)\n"
        );
        println!(
            "| entries | blob files | open s | first write ms | next writes, blob folder just changed: median ms | p90 ms | folder settled: median ms |\n|---|---|---|---|---|---|---|"
        );
        flush_cost(Path::new(&from), env_list("CAIRN_BENCH_FLUSHES", "200")[0]);
    }
    if want("slowlink") {
        slowlink(env_list("CAIRN_BENCH_SLOW_LEARNERS", "20")[0]);
    }
    if want("scope") {
        let size = env_list("CAIRN_BENCH_SCOPE", "200,100");
        scope(size[0], size.get(1).copied().unwrap_or(100));
    }
    if what.iter().any(|w| w == "doubling") {
        let size = env_list("CAIRN_BENCH_DOUBLING", "300000,1000");
        doubling(size[0], size.get(1).copied().unwrap_or(1000));
    }
    if what.iter().any(|w| w == "batches") {
        let size = env_list("CAIRN_BENCH_BATCHES", "200,4,1800");
        batches(
            size[0],
            size.get(1).copied().unwrap_or(4),
            size.get(2).copied().unwrap_or(1800),
        );
    }
}

/// Whether this (virtual) machine gives the memory it frees back to its host, as the kernel's
/// `page_reporting` says. Round 23 found it decides the concurrent runs' ratio on the project's
/// machine: a page given back costs a fault on the host when it is touched again, and a 200-site
/// crowd touches more memory than the kernel keeps at hand, so every figure is labelled with it.
fn free_page_reporting() -> Option<String> {
    let order: u32 =
        std::fs::read_to_string("/sys/module/page_reporting/parameters/page_reporting_order")
            .ok()?
            .trim()
            .parse()
            .ok()?;
    // /proc/buddyinfo has a column per block order the kernel keeps: orders past the last are
    // never reported.
    let orders = std::fs::read_to_string("/proc/buddyinfo")
        .ok()?
        .lines()
        .next()?
        .split_whitespace()
        .skip(4)
        .count();
    Some(if order as usize >= orders {
        format!("free page reporting off (order {order})")
    } else {
        format!(
            "free page reporting on: free blocks of {} KiB and up go back to the host (order {order})",
            4u64 << order
        )
    })
}

/// A store alone in a temporary folder, with no node around it, and the hub key (seed 1) whose
/// author writes to it: for the runs that time the store itself (`scope`, `doubling`).
fn bare_store() -> (
    tempfile::TempDir,
    cairn_node::store::Store,
    cairn_sync_protocol::NodeKey,
) {
    use rand::SeedableRng;
    let dir = tempfile::tempdir().unwrap();
    let store =
        cairn_node::store::Store::open(dir.path(), Arc::new(cairn_node::records::DocumentIndex))
            .unwrap();
    let hub = cairn_sync_protocol::NodeKey::generate(&mut rand::rngs::StdRng::seed_from_u64(1));
    (dir, store, hub)
}

/// The author of a [`bare_store`]'s writes.
fn bare_author(key: &cairn_sync_protocol::NodeKey) -> cairn_node::store::Author<'_> {
    cairn_node::store::Author {
        key,
        epoch: 0,
        now_ms: 1_000,
        user: cairn_sync_protocol::UserId([1; 16]),
    }
}

/// Document `n` of a bare store's import: `n` in its first bytes, `fill` in the rest.
fn import_doc(fill: u8, n: usize) -> cairn_sync_protocol::DocId {
    let mut d = [fill; 16];
    d[..8].copy_from_slice(&(n as u64).to_be_bytes());
    cairn_sync_protocol::DocId(d)
}

/// A learner's type, record id `L-n` and, if given, home site, put in an import's transaction.
fn put_learner(
    tx: &mut automerge::transaction::Transaction<'_>,
    n: usize,
    home_site: Option<&str>,
) -> cairn_node::error::Result<()> {
    use automerge::{ROOT, transaction::Transactable};
    let err = |e: automerge::AutomergeError| cairn_node::error::Error::invalid(e.to_string());
    tx.put(ROOT, "type", "learner").map_err(err)?;
    tx.put(ROOT, "id", format!("L-{n}")).map_err(err)?;
    if let Some(site) = home_site {
        tx.put(ROOT, "home_site", site).map_err(err)?;
    }
    Ok(())
}

/// 8: a hub's scope for one site (what each session with it starts by deciding), in a program of
/// `sites` sites with `per_site` learners each and two trust records a site (as enrolling one
/// writes): told where the site stands (it holds all the hub has written, as after its last
/// session) and told nothing (a site's first session, or one whose checkpoint was lost), both
/// from the index of the learners homed at the site (`homed/`); and from the scan of every
/// learner's home that a store derived in part by an earlier release falls back to. Medians
/// over every site, one scope each.
fn scope(sites: usize, per_site: usize) {
    use cairn_node::store::Store;
    use cairn_node::sync::scope::SiteScope;
    use cairn_sync_protocol::{DocId, NodeKey};
    use rand::SeedableRng;
    let (_dir, store, hub) = bare_store();
    let node_key = |seed: u64| NodeKey::generate(&mut rand::rngs::StdRng::seed_from_u64(seed));
    let site_ids: Vec<String> = (0..sites)
        .map(|i| node_key(100 + i as u64).id().to_string())
        .collect();
    let author = bare_author(&hub);
    // Imported in rosters of 5,000, as `cairn learner import` would.
    let docs: Vec<DocId> = (0..sites * per_site).map(|i| import_doc(0x5c, i)).collect();
    for (c, chunk) in docs.chunks(5_000).enumerate() {
        store
            .create_docs(&author, "import", chunk, &[], |i, tx| {
                let n = c * 5_000 + i;
                put_learner(tx, n, Some(site_ids[n / per_site].as_str()))
            })
            .unwrap();
    }
    let trust = cairn_node::domain::ids::trust_doc();
    for (i, site) in site_ids.iter().enumerate() {
        for record in ["enrolled", "certificate"] {
            store
                .change_doc(&author, trust, "trust", |tx| {
                    use automerge::{ROOT, transaction::Transactable};
                    tx.put(ROOT, format!("{record}-{i}"), site.as_str())
                        .map_err(|e| cairn_node::error::Error::invalid(e.to_string()))?;
                    Ok(())
                })
                .unwrap();
        }
    }
    let site_keys: Vec<_> = (0..sites).map(|i| node_key(100 + i as u64).id()).collect();
    let everything = store.vector().unwrap();
    let median_ms = |store: &Store, held: &cairn_sync_protocol::VersionVector| {
        let mut ms: Vec<f64> = site_keys
            .iter()
            .map(|site| {
                let started = Instant::now();
                let scope = SiteScope::new(store, hub.id(), *site, held).unwrap();
                let took = started.elapsed().as_secs_f64() * 1e3;
                assert!(cairn_sync_protocol::Scope::send_origin(
                    &scope,
                    &author.origin()
                ));
                took
            })
            .collect();
        median(&mut ms)
    };
    assert!(store.indexed_since(1).unwrap());
    let nothing = cairn_sync_protocol::VersionVector::new();
    let (mut held, mut listed) = (Vec::new(), Vec::new());
    // Alternating, so that both see the same machine.
    for _ in 0..5 {
        held.push(median_ms(&store, &everything));
        listed.push(median_ms(&store, &nothing));
    }
    let (held, listed) = (median(&mut held), median(&mut listed));
    store.remove_local("index_version").unwrap();
    assert!(!store.indexed_since(1).unwrap());
    let scanned = median_ms(&store, &nothing);
    println!("\n## A hub's scope for one site (median over {sites} sites)\n");
    println!(
        "| learners | sites | told where the site stands, ms | told nothing, ms | ratio | scanning every home, ms | ratio |\n|---|---|---|---|---|---|---|"
    );
    println!(
        "| {} | {sites} | {held:.3} | {listed:.3} | {:.1}x | {scanned:.3} | {:.1}x |",
        sites * per_site,
        listed / held,
        scanned / listed
    );
}

/// What the record index's doublings cost (round 41): `learners` learners made in rosters of
/// `per_roster`, each roster one `Store::create_docs` (one signed entry a learner, one sled
/// batch and one flush a roster, the record index written in the same batch), as `cairn
/// learner import` makes them, in a new store on disk. Each roster is timed; a roster that
/// takes the index past eight records a bucket also files every record again under twice the
/// buckets before it returns (in steps after its batch since round 42, in its batch before), and
/// the table sets its time beside the median of the rosters around it (up to eight before and
/// eight after, none that doubled).
///
/// Beside the rosters a bystander thread reads one key of the store every millisecond (the
/// index's shape: one sled `get`), as a hub's sessions read and append while its worker derives,
/// and each roster's longest read is set beside its neighbours' (round 42): sled applies a
/// batch under a lock every read and write of the store takes, so that read waits for the
/// batch's apply, not for the work done before it. A second bystander writes one key every five
/// milliseconds and waits for it to be durable (`Store::set_local`: an insert under the same
/// lock, then the group commit a session's append waits for), and each roster's longest such
/// write is set beside its neighbours' too. (On one thread, a write right after a read found the
/// lock free whenever the read had just waited for it.)
fn doubling(learners: usize, per_roster: usize) {
    use cairn_sync_protocol::DocId;
    let per_roster = per_roster.max(1);
    if learners == 0 {
        eprintln!("doubling: CAIRN_BENCH_DOUBLING names no learners to make");
        return;
    }
    let (_dir, store, hub) = bare_store();
    let author = bare_author(&hub);
    let mut took_ms: Vec<f64> = Vec::new();
    // Each roster's span, in seconds from `started`.
    let mut spans: Vec<(f64, f64)> = Vec::new();
    // (buckets before, after, records after, the roster's place in `took_ms`)
    let mut doublings: Vec<(u32, u32, u64, usize)> = Vec::new();
    let mut buckets = None;
    let started = Instant::now();
    let since = |t: Instant| t.duration_since(started).as_secs_f64();
    let done = std::sync::atomic::AtomicBool::new(false);
    // (when it started, s; how long it took, ms) for every read and every durable write of the
    // bystander.
    type Timed = Vec<(f64, f64)>;
    // `act` every `every_ms` until the rosters are done, each timed.
    let bystander = |every_ms: u64, act: &(dyn Fn(usize) + Sync)| {
        let mut timed = Vec::new();
        while !done.load(Ordering::Relaxed) {
            let t = Instant::now();
            act(timed.len());
            timed.push((since(t), t.elapsed().as_secs_f64() * 1e3));
            std::thread::sleep(Duration::from_millis(every_ms));
        }
        timed
    };
    let (reads, writes): (Timed, Timed) = std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            bystander(1, &|_| {
                store.record_buckets().unwrap();
            })
        });
        let writer =
            scope.spawn(|| bystander(5, &|n| store.set_local("bench-bystander", &n).unwrap()));
        let mut made = 0usize;
        while made < learners {
            let docs: Vec<DocId> = (made..learners.min(made + per_roster))
                .map(|n| import_doc(0xd0, n))
                .collect();
            let first = made;
            let roster = Instant::now();
            store
                .create_docs(&author, "import", &docs, &[], |i, tx| {
                    put_learner(tx, first + i, None)
                })
                .unwrap();
            let ms = roster.elapsed().as_secs_f64() * 1e3;
            spans.push((since(roster), since(Instant::now())));
            made += docs.len();
            let (now, records) = store
                .record_buckets()
                .unwrap()
                .expect("a new store's record index keeps its shape");
            assert_eq!(records, made as u64, "one record a learner");
            if let Some(before) = buckets
                && before != now
            {
                doublings.push((before, now, records, took_ms.len()));
            }
            buckets = Some(now);
            took_ms.push(ms);
        }
        done.store(true, Ordering::Relaxed);
        (reader.join().unwrap(), writer.join().unwrap())
    });
    // Each roster's longest read and durable write by the bystander, of those started while it
    // ran.
    let longest_of = |timed: &Timed| -> Vec<f64> {
        spans
            .iter()
            .map(|&(from, to)| {
                timed
                    .iter()
                    .filter(|r| r.0 >= from && r.0 < to)
                    .map(|r| r.1)
                    .fold(0.0, f64::max)
            })
            .collect()
    };
    let (longest, longest_write) = (longest_of(&reads), longest_of(&writes));
    let total = started.elapsed().as_secs_f64();
    println!(
        "\n## The record index doubling its buckets ({learners} learners in rosters of {per_roster}, {total:.0} s)\n"
    );
    println!(
        "| buckets | records after | the roster that doubled, ms | up to eight rosters before and eight after, median ms | extra ms | a read's longest wait in it, ms | in its neighbours, median ms | a durable write's longest wait in it, ms | in its neighbours, median ms |\n|---|---|---|---|---|---|---|---|---|"
    );
    for &(before, after, records, at) in &doublings {
        let ms = took_ms[at];
        // Its neighbours that did not double: the store about the same size.
        let around: Vec<usize> = (at.saturating_sub(8)..(at + 9).min(took_ms.len()))
            .filter(|&i| i != at && !doublings.iter().any(|d| d.3 == i))
            .collect();
        if around.is_empty() {
            println!(
                "| {before} → {after} | {records} | {ms:.1} | — | — | {:.1} | — | {:.1} | — |",
                longest[at], longest_write[at]
            );
            continue;
        }
        let usual = median(&mut around.iter().map(|&i| took_ms[i]).collect::<Vec<_>>());
        let usual_wait = median(&mut around.iter().map(|&i| longest[i]).collect::<Vec<_>>());
        let usual_write = median(&mut around.iter().map(|&i| longest_write[i]).collect::<Vec<_>>());
        println!(
            "| {before} → {after} | {records} | {ms:.1} | {usual:.1} | {:.1} | {:.1} | {usual_wait:.1} | {:.1} | {usual_write:.1} |",
            ms - usual,
            longest[at],
            longest_write[at]
        );
    }
    println!(
        "\nEvery roster: median {:.1} ms ({} rosters); the bystander's reads: {} in all, median {:.3} ms, the longest {:.1} ms; its durable writes: {} in all, median {:.2} ms, the longest {:.1} ms.",
        median(&mut took_ms.clone()),
        took_ms.len(),
        reads.len(),
        if reads.is_empty() {
            0.0
        } else {
            median(&mut reads.iter().map(|r| r.1).collect::<Vec<_>>())
        },
        reads.iter().map(|r| r.1).fold(0.0, f64::max),
        writes.len(),
        if writes.is_empty() {
            0.0
        } else {
            median(&mut writes.iter().map(|r| r.1).collect::<Vec<_>>())
        },
        writes.iter().map(|r| r.1).fold(0.0, f64::max)
    );
}

/// What sled 0.34 does once a batch (round 41): `batches` batches of `keys` keys (values of
/// `value_bytes`), each applied alone, as a hub's sessions append their entries, against the
/// same keys in one batch, as sessions whose appends were merged would. Alternating, 20 rounds
/// after one untimed, a flush after each round; the difference over the batches saved is what
/// merging could save a session.
fn batches(batches: usize, keys: usize, value_bytes: usize) {
    let (batches, keys) = (batches.max(2), keys.max(1));
    let dir = tempfile::tempdir().unwrap();
    let db = sled::Config::new()
        .path(dir.path())
        .flush_every_ms(None)
        .open()
        .unwrap();
    let tree = db.open_tree("entries").unwrap();
    let value = vec![7u8; value_bytes];
    let mut next = 0u64;
    let mut batch_of = |n: usize| {
        let mut b = sled::Batch::default();
        for _ in 0..n {
            next += 1;
            b.insert(&next.to_be_bytes()[..], value.clone());
        }
        b
    };
    let (mut alone, mut merged) = (Vec::new(), Vec::new());
    for round in 0..21 {
        let started = Instant::now();
        for _ in 0..batches {
            tree.apply_batch(batch_of(keys)).unwrap();
        }
        let a = started.elapsed().as_secs_f64() * 1e3;
        let started = Instant::now();
        tree.apply_batch(batch_of(batches * keys)).unwrap();
        let m = started.elapsed().as_secs_f64() * 1e3;
        db.flush().unwrap();
        if round > 0 {
            alone.push(a);
            merged.push(m);
        }
    }
    let (a, m) = (median(&mut alone), median(&mut merged));
    println!(
        "\n## sled: a batch each against one batch ({batches} batches of {keys} keys, {value_bytes} bytes a value; medians of 20)\n"
    );
    println!("| {batches} batches, ms | one batch, ms | saved a batch merged, µs |\n|---|---|---|");
    println!(
        "| {a:.2} | {m:.2} | {:.1} |",
        (a - m) / (batches - 1) as f64 * 1e3
    );
}
