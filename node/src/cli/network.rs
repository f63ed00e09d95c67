//! The long-running commands: `cairn serve` (the hub: sync and the operators' web app), `cairn
//! run` (a site: the web app and sync; on an empty folder, first the page that sets the site up)
//! and a looping `cairn sync`. Whichever runs holds the store, so it also answers the control socket:
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
        .worker_threads(hub::SERVICE_WORKER_THREADS)
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

/// The web app a service serves.
struct WebOptions {
    listen: String,
    idle: Duration,
    bundles: std::path::PathBuf,
}

impl WebOptions {
    fn of(
        listen: String,
        no_web: bool,
        idle: u64,
        bundle_dir: Option<std::path::PathBuf>,
        data: &std::path::Path,
    ) -> Option<WebOptions> {
        (!no_web).then(|| WebOptions {
            listen,
            idle: Duration::from_secs(idle.max(5)),
            bundles: bundle_dir.unwrap_or_else(|| data.join("bundles")),
        })
    }
}

async fn bind_web(listen: &str) -> Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| Error::Usage(format!("cannot listen on {listen} for the web app: {e}")))
}

/// Start the service the command names; runs until interrupted.
pub(super) fn service(cli: Cli, _claim: Option<SignIn>) -> Result<Output> {
    let rt = runtime()?;
    let mut web = match &cli.command {
        Command::Serve {
            web,
            no_web,
            idle,
            bundle_dir,
            ..
        }
        | Command::Run {
            web,
            no_web,
            idle,
            bundle_dir,
            ..
        } => WebOptions::of(web.clone(), *no_web, *idle, bundle_dir.clone(), &cli.data),
        _ => None,
    };
    // First run: `cairn run` on an empty folder sets the site up in the browser, then goes on.
    if let (Command::Run { .. }, Some(w)) = (&cli.command, web.as_mut())
        && crate::web::first_run::is_empty_folder(&cli.data)
    {
        let made = rt.block_on(async {
            let listener = bind_web(&w.listen).await?;
            crate::web::serve_first_run(cli.data.clone(), listener, interrupted()).await
        })?;
        match made {
            // The service takes over the address the browser is on (the same port, even when
            // it was chosen by the system).
            Some(bound) => w.listen = bound.to_string(),
            None => return Ok(Output::new(json!({"stopped": true}), "Stopped.")),
        }
    }
    let node = Arc::new(Node::open(&cli.data)?);
    let app = App::new(node.clone(), Some(rt.handle().clone()));
    let socket_path = crate::control::client::socket_path(&cli.data);
    // One signal stops everything: the control socket, the web app, sync.
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
            Command::Serve { listen, .. } => serve(&app, listen, web, stop.clone()).await,
            Command::Run {
                hub,
                interval,
                max_backoff,
                ..
            } => run(&app, hub, interval, max_backoff, web, stop.clone()).await,
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

/// Serve the web app in the background until `stop`; prints `web http://ADDRESS/` (scripts and
/// tests read it, useful with port 0).
async fn start_web(
    app: &Arc<App>,
    options: WebOptions,
    stop: Arc<tokio::sync::watch::Sender<bool>>,
) -> Result<()> {
    let listener = bind_web(&options.listen).await?;
    let bound = listener
        .local_addr()
        .map_err(|e| Error::storage("reading the bound address", e))?;
    // Written, not printed: a reader that stopped reading must not stop the service.
    let _ =
        writeln!(std::io::stdout(), "web http://{bound}/").and_then(|_| std::io::stdout().flush());
    let web = crate::web::Web::new(app.clone(), options.idle, options.bundles);
    tokio::spawn(async move {
        if let Err(e) = crate::web::serve(web, listener, stopped(stop)).await {
            eprintln!("the web app stopped: {e}");
        }
    });
    Ok(())
}

async fn serve(
    app: &Arc<App>,
    listen: Option<String>,
    web: Option<WebOptions>,
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
    #[cfg(unix)]
    match hub::raise_open_file_limit() {
        Ok(limit) => tracing::debug!("open file limit: {limit:?}"),
        Err(e) => tracing::warn!("cannot raise the open file limit: {e}"),
    }
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
    let _ =
        writeln!(std::io::stdout(), "listening {bound}").and_then(|_| std::io::stdout().flush());
    if let Some(web) = web {
        start_web(app, web, stop.clone()).await?;
    }
    // The hub's upkeep (program settings, site endorsements, program-signed copies of awards
    // received): once now, and before every session, so what it signs travels in that session
    // (or in the next one, when sites arrive together: see `App::upkeep_before_session`).
    let stats = hub::ServeStats {
        before_session: hub::SessionHook(Some(Arc::new({
            let app = app.clone();
            move |site: &cairn_sync_protocol::NodeId| app.upkeep_before_session(site)
        }))),
        ..Default::default()
    };
    let _initial = tokio::task::spawn_blocking({
        let app = app.clone();
        move || {
            if let Err(e) = app.program_upkeep() {
                eprintln!("{}: signing the program's credentials failed: {e}", now());
            }
        }
    });
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

async fn run(
    app: &Arc<App>,
    hub_addr: Option<String>,
    interval: u64,
    max_backoff: u64,
    web: Option<WebOptions>,
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
        start_web(app, web, stop.clone()).await?;
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
                        "Not syncing over the network ({e}); the web app runs and USB bundles work."
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
    let retry = backoff.max.as_secs();
    site::run_loop(
        node,
        address,
        backoff,
        Timing::default(),
        app.sessions(),
        |r| match r {
            Ok(r) => eprintln!(
                "{}: synced (received {}, sent {})",
                now(),
                r.progress.received,
                r.progress.sent
            ),
            Err(e @ Error::Refused(r)) if r.kind == crate::error::RefusalKind::Unauthorized => {
                eprintln!(
                    "{}: the hub refused this site (next attempt in {retry} s): {e}",
                    now(),
                )
            }
            Err(e) => eprintln!("{}: hub not reached: {e}", now()),
        },
        stopped(stop),
    )
    .await;
    Ok(Output::new(json!({"stopped": true}), "Stopped."))
}
