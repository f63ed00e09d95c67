//! Commands that talk to other nodes: admitting sites, joining, serving and syncing.

use super::Output;
use super::args::SiteCommand;
use crate::domain::people::Actor;
use crate::error::{Error, Result};
use crate::node::Node;
use crate::sync::driver::{Progress, Timing};
use crate::sync::{hub, peer, provision, site};
use serde_json::json;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .map_err(|e| Error::Storage(format!("cannot start the async runtime: {e}")))
}

/// Resolves on Ctrl-C or SIGTERM (systemd's stop).
async fn interrupted() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

pub(super) fn site_cmd(node: &Node, actor: &Actor, cmd: SiteCommand) -> Result<Output> {
    match cmd {
        SiteCommand::Enroll {
            site_id,
            name,
            out,
            address,
        } => {
            let p = provision::enroll_site(node, actor, &site_id, &name, address.as_deref(), &out)?;
            let text = format!(
                "Admitted {} ({}).\nProvisioning file: {}\nAt the site, run: cairn join {}\n{}",
                p.site.name,
                p.site.id,
                out.display(),
                out.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default(),
                match &p.hub.address {
                    Some(a) => format!("The site will reach this hub at {a}."),
                    None => "No hub address recorded: the site will sync by USB bundle (or pass --address).".into(),
                }
            );
            Ok(Output::new(json!({"provisioning": p, "out": out}), text))
        }
        SiteCommand::Revoke { site_id, reason } => {
            provision::revoke_site(node, actor, &site_id, &reason)?;
            Ok(Output::new(
                json!({"revoked": site_id, "reason": reason}),
                format!("Revoked {site_id}: its next connection or bundle will be refused."),
            ))
        }
        SiteCommand::List => {
            let sites = node.store.site_records()?;
            let peers = peer::all(&node.store)?;
            let mut text = String::new();
            let mut rows = Vec::new();
            for s in &sites {
                let p = peers.iter().find(|p| p.id == s.node);
                let last = p.and_then(|p| p.last_success_ms);
                let status = if s.revoked.is_some() {
                    "revoked"
                } else {
                    "admitted"
                };
                let _ = std::fmt::Write::write_fmt(
                    &mut text,
                    format_args!(
                        "{:<32} {:<9} last sync: {}  {}\n",
                        s.name,
                        status,
                        describe_time(last),
                        s.node
                    ),
                );
                rows.push(json!({"site": s, "last_success_ms": last}));
            }
            if sites.is_empty() {
                text = "No sites admitted yet: `cairn site enroll --site-id ID --name NAME --out FILE`.".into();
            }
            Ok(Output::new(json!({"sites": rows}), text))
        }
    }
}

/// "3 minutes ago", "never".
pub fn describe_time(ms: Option<u64>) -> String {
    let Some(ms) = ms else { return "never".into() };
    let now = crate::node::now_ms();
    let ago = now.saturating_sub(ms) / 1000;
    match ago {
        0..=59 => format!("{ago} s ago"),
        60..=3599 => format!("{} min ago", ago / 60),
        3600..=172_799 => format!("{} h ago", ago / 3600),
        _ => format!("{} days ago", ago / 86_400),
    }
}

pub(super) fn join(node: &mut Node, file: &Path) -> Result<Output> {
    let p = provision::join(node, file)?;
    let text = format!(
        "This site now trusts hub \"{}\".\nHub id: {}\nCheck that id with the hub operator before syncing.\n{}",
        p.hub.name,
        p.hub.id,
        match &p.hub.address {
            Some(a) =>
                format!("Sync with `cairn sync --once` (hub at {a}) or keep `cairn run` going."),
            None => "The hub has no network address: exchange USB bundles (`cairn bundle export`)."
                .into(),
        }
    );
    Ok(Output::new(json!({"hub": p.hub}), text))
}

pub(super) fn serve(node: Node, listen: Option<String>) -> Result<Output> {
    if !node.is_hub() {
        return Err(Error::Usage(
            "`cairn serve` runs on the hub; a site uses `cairn run` or `cairn sync`".into(),
        ));
    }
    let address = listen
        .or_else(|| node.config.listen.clone())
        .unwrap_or_else(|| "0.0.0.0:7443".into());
    #[cfg(unix)]
    match hub::raise_open_file_limit() {
        Ok(limit) => tracing::debug!("open file limit: {limit:?}"),
        Err(e) => tracing::warn!("cannot raise the open file limit: {e}"),
    }
    let node = Arc::new(node);
    runtime()?.block_on(async move {
        let listener = hub::bind(&address).await?;
        let bound = listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or(address);
        eprintln!(
            "Hub \"{}\" serving sites on {bound} (Ctrl-C to stop).",
            node.config.name
        );
        // Tests and scripts read the bound address (useful with port 0).
        println!("listening {bound}");
        let _ = std::io::stdout().flush();
        hub::serve(
            node,
            listener,
            Timing::default(),
            Default::default(),
            interrupted(),
        )
        .await?;
        Ok(Output::new(json!({"stopped": true}), "Stopped."))
    })
}

fn progress_printer(json: bool) -> impl FnMut(Progress) + Send {
    let tty = std::io::stderr().is_terminal() && !json;
    move |p: Progress| {
        if tty {
            eprint!(
                "\rsyncing: received {} entries, sent {} ({:.1} MB in, {:.1} MB out)   ",
                p.received,
                p.sent,
                p.bytes_received as f64 / 1e6,
                p.bytes_sent as f64 / 1e6
            );
        }
    }
}

pub(super) fn sync(node: Node, once: bool, hub_addr: Option<String>, json: bool) -> Result<Output> {
    let (_, address) = site::hub_of(&node, hub_addr.as_deref())?;
    let node = Arc::new(node);
    runtime()?.block_on(async move {
        if once {
            let mut progress = progress_printer(json);
            let r = site::sync_once(&node, &address, Timing::default(), &mut progress).await;
            if std::io::stderr().is_terminal() && !json {
                eprintln!();
            }
            let r = r?;
            let mut text = format!(
                "Synced with the hub at {address}: received {} entries, sent {} ({} messages, {:.1} KB).",
                r.progress.received,
                r.progress.sent,
                r.messages,
                (r.progress.bytes_received + r.progress.bytes_sent) as f64 / 1000.0
            );
            if let Some(e) = r.new_epoch {
                text.push_str(&format!(
                    "\nThe hub held more of this node's feed than its store: this node was restored from an older copy. It now writes under epoch {e}; nothing was lost."
                ));
            }
            for f in &r.forks {
                text.push_str(&format!("\nWARNING: {f}"));
            }
            Ok(Output::new(serde_json::to_value(&r).unwrap_or_default(), text))
        } else {
            run_loop(node, address, site::Backoff::default()).await
        }
    })
}

async fn run_loop(node: Arc<Node>, address: String, backoff: site::Backoff) -> Result<Output> {
    eprintln!(
        "Site \"{}\": syncing with the hub at {address} whenever it is reachable (Ctrl-C to stop).",
        node.config.name
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
                super::super::domain::lifecycle::now_rfc3339(),
                r.progress.received,
                r.progress.sent
            ),
            Err(e @ Error::Refused(r)) if r.kind == crate::error::RefusalKind::Unauthorized => {
                eprintln!(
                    "{}: the hub refused this site (next attempt in {} s): {e}",
                    super::super::domain::lifecycle::now_rfc3339(),
                    backoff.max.as_secs()
                )
            }
            Err(e) => eprintln!(
                "{}: hub not reached: {e}",
                super::super::domain::lifecycle::now_rfc3339()
            ),
        },
        interrupted(),
    )
    .await;
    Ok(Output::new(json!({"stopped": true}), "Stopped."))
}

/// The web interface `cairn run` serves.
pub(super) struct Web {
    /// Where it listens.
    pub listen: String,
    /// Session inactivity limit.
    pub idle: Duration,
    /// Where USB bundles are written.
    pub bundles: std::path::PathBuf,
}

pub(super) fn run(
    node: Node,
    hub_addr: Option<String>,
    interval: u64,
    max_backoff: u64,
    web: Option<Web>,
) -> Result<Output> {
    if node.is_hub() {
        return Err(Error::Usage(
            "`cairn run` runs a site; the hub uses `cairn serve`".into(),
        ));
    }
    // A site not yet joined (or with no address: USB only) still serves its kiosk.
    let address = match site::hub_of(&node, hub_addr.as_deref()) {
        Ok((_, a)) => Some(a),
        Err(e) if web.is_some() => {
            eprintln!("Not syncing over the network ({e}); the kiosk runs and USB bundles work.");
            None
        }
        Err(e) => return Err(e),
    };
    let backoff = site::Backoff {
        initial: Duration::from_secs(1),
        max: Duration::from_secs(max_backoff.max(1)),
        interval: Duration::from_secs(interval.max(1)),
    };
    let node = Arc::new(node);
    runtime()?.block_on(async move {
        if let Some(web) = web {
            let listener = tokio::net::TcpListener::bind(&web.listen)
                .await
                .map_err(|e| Error::Usage(format!("cannot listen on {}: {e}", web.listen)))?;
            let bound = listener
                .local_addr()
                .map_err(|e| Error::storage("reading the bound address", e))?;
            println!("kiosk http://{bound}/");
            let _ = std::io::stdout().flush();
            let kiosk = crate::kiosk::Kiosk::new(node.clone(), web.idle, web.bundles);
            tokio::spawn(async move {
                if let Err(e) = crate::kiosk::serve(kiosk, listener, interrupted()).await {
                    eprintln!("the web interface stopped: {e}");
                }
            });
        }
        match address {
            Some(address) => run_loop(node, address, backoff).await,
            None => {
                interrupted().await;
                Ok(Output::new(json!({"stopped": true}), "Stopped."))
            }
        }
    })
}
