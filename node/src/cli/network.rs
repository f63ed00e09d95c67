//! The long-running commands: `cairn serve` (the hub), `cairn run` (a site: kiosk and sync) and a
//! looping `cairn sync`. Whichever runs holds the store, so it also answers the control socket:
//! every other command on the data folder is carried out by it.

use super::Output;
use super::args::{Cli, Command};
use crate::app::App;
use crate::control::protocol::SignIn;
use crate::error::{Error, Result};
use crate::node::Node;
use crate::sync::driver::Timing;
use crate::sync::{hub, site};
use serde_json::json;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .map_err(|e| Error::storage("cannot start the async runtime", e))
}

/// Resolves on Ctrl-C or SIGTERM (systemd's stop).
async fn interrupted() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// Resolves when `stop` is set.
async fn stopped(stop: Arc<tokio::sync::watch::Sender<bool>>) {
    let mut rx = stop.subscribe();
    let _ = rx.wait_for(|s| *s).await;
}

fn now() -> String {
    crate::clock::now_rfc3339()
}

/// Start the service the command names; runs until interrupted.
pub(super) fn service(cli: Cli, _claim: Option<SignIn>) -> Result<Output> {
    let node = Arc::new(Node::open(&cli.data)?);
    let rt = runtime()?;
    let app = App::new(node.clone(), Some(rt.handle().clone()));
    let socket_path = crate::control::client::socket_path(&cli.data);
    // One signal stops everything: the control socket, the kiosk, sync.
    let stop = Arc::new(tokio::sync::watch::channel(false).0);
    rt.block_on(async {
        let listener = crate::control::server::bind(&socket_path)?;
        tokio::spawn(crate::control::server::serve(
            app.clone(),
            listener,
            socket_path.clone(),
            stopped(stop.clone()),
        ));
        let signal_stop = stop.clone();
        tokio::spawn(async move {
            interrupted().await;
            let _ = signal_stop.send(true);
        });
        let outcome = match cli.command {
            Command::Serve { listen } => serve(&app, listen, stop.clone()).await,
            Command::Run {
                hub,
                interval,
                max_backoff,
                web,
                no_web,
                idle,
                bundle_dir,
            } => {
                let web = (!no_web).then(|| Web {
                    listen: web,
                    idle: Duration::from_secs(idle.max(5)),
                    bundles: bundle_dir.unwrap_or_else(|| cli.data.join("bundles")),
                });
                run(&app, hub, interval, max_backoff, web, stop.clone()).await
            }
            Command::Sync { hub, .. } => {
                let backoff = site::Backoff::default();
                sync_loop(&app, hub, backoff, stop.clone()).await
            }
            _ => Err(Error::Usage("not a service command".into())),
        };
        let _ = stop.send(true);
        // Give the socket's last answers a moment to go out.
        tokio::time::sleep(Duration::from_millis(50)).await;
        outcome
    })
}

async fn serve(
    app: &Arc<App>,
    listen: Option<String>,
    stop: Arc<tokio::sync::watch::Sender<bool>>,
) -> Result<Output> {
    let node = app.node().clone();
    if !node.is_hub() {
        return Err(Error::Usage(
            "`cairn serve` runs on the hub; a site uses `cairn run` or `cairn sync`".into(),
        ));
    }
    let address = listen
        .or_else(|| node.config().listen.clone())
        .unwrap_or_else(|| "0.0.0.0:7443".into());
    let listener = hub::bind(&address).await?;
    let bound = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or(address);
    eprintln!(
        "Hub \"{}\" serving sites on {bound} (Ctrl-C to stop).",
        node.config().name
    );
    // Tests and scripts read the bound address (useful with port 0).
    println!("listening {bound}");
    let _ = std::io::stdout().flush();
    // The hub's upkeep (program settings, site endorsements, program-signed copies of awards
    // received): once now, and before every session, so what it signs travels in that session.
    let upkeep = {
        let app = app.clone();
        move || {
            if let Err(e) = app.program_upkeep() {
                eprintln!("{}: signing the program's credentials failed: {e}", now());
            }
        }
    };
    let stats = hub::ServeStats {
        before_session: hub::SessionHook(Some(Arc::new(upkeep.clone()))),
        ..Default::default()
    };
    let _initial = tokio::task::spawn_blocking(upkeep);
    hub::serve(
        node,
        listener,
        Timing::default(),
        Arc::new(stats),
        stopped(stop),
    )
    .await?;
    Ok(Output::new(json!({"stopped": true}), "Stopped."))
}

/// The web interface `cairn run` serves.
struct Web {
    listen: String,
    idle: Duration,
    bundles: std::path::PathBuf,
}

async fn run(
    app: &Arc<App>,
    hub_addr: Option<String>,
    interval: u64,
    max_backoff: u64,
    web: Option<Web>,
    stop: Arc<tokio::sync::watch::Sender<bool>>,
) -> Result<Output> {
    if app.node().is_hub() {
        return Err(Error::Usage(
            "`cairn run` runs a site; the hub uses `cairn serve`".into(),
        ));
    }
    let backoff = site::Backoff {
        initial: Duration::from_secs(1),
        max: Duration::from_secs(max_backoff.max(1)),
        interval: Duration::from_secs(interval.max(1)),
    };
    if let Some(web) = web {
        let listener = tokio::net::TcpListener::bind(&web.listen)
            .await
            .map_err(|e| Error::Usage(format!("cannot listen on {}: {e}", web.listen)))?;
        let bound = listener
            .local_addr()
            .map_err(|e| Error::storage("reading the bound address", e))?;
        println!("kiosk http://{bound}/");
        let _ = std::io::stdout().flush();
        let kiosk = crate::kiosk::Kiosk::new(app.clone(), web.idle, web.bundles);
        let stop = stop.clone();
        tokio::spawn(async move {
            if let Err(e) = crate::kiosk::serve(kiosk, listener, stopped(stop)).await {
                eprintln!("the web interface stopped: {e}");
            }
        });
    }
    sync_loop(app, hub_addr, backoff, stop).await
}

/// Sync with the hub whenever it is reachable; a site that has not joined (or knows no address)
/// waits until it does — `cairn join` works while it runs.
async fn sync_loop(
    app: &Arc<App>,
    hub_addr: Option<String>,
    backoff: site::Backoff,
    stop: Arc<tokio::sync::watch::Sender<bool>>,
) -> Result<Output> {
    let node = app.node().clone();
    app.set_hub_address(hub_addr.clone());
    let changed = app.config_changed();
    let mut said = false;
    let address = loop {
        match site::hub_of(&node, hub_addr.as_deref()) {
            Ok((_, a)) => break a,
            Err(e) => {
                if !said {
                    eprintln!(
                        "Not syncing over the network ({e}); the kiosk runs and USB bundles work."
                    );
                    said = true;
                }
                tokio::select! {
                    _ = stopped(stop.clone()) => {
                        return Ok(Output::new(json!({"stopped": true}), "Stopped."));
                    }
                    _ = changed.notified() => {}
                }
            }
        }
    };
    eprintln!(
        "Site \"{}\": syncing with the hub at {address} whenever it is reachable (Ctrl-C to stop).",
        node.config().name
    );
    let wake = Arc::new(tokio::sync::Notify::new());
    site::run_loop(
        node,
        address,
        backoff,
        Timing::default(),
        wake,
        |r| match r {
            Ok(r) => eprintln!(
                "{}: synced (received {}, sent {})",
                now(),
                r.progress.received,
                r.progress.sent
            ),
            Err(e) => eprintln!("{}: hub not reached: {e}", now()),
        },
        stopped(stop),
    )
    .await;
    Ok(Output::new(json!({"stopped": true}), "Stopped."))
}
