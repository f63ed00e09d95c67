//! `cairn serve`: the hub accepts sites over mutually authenticated TLS, many at once.

use super::driver::{self, Side, Timing};
use crate::error::{Error, Result};
use crate::node::Node;
use crate::transport::tls::{self, PeerPolicy, Refusal};
use cairn_sync_protocol::NodeId;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// Most sessions served at once; further connections wait for a free slot.
pub const MAX_SESSIONS: usize = 512;

/// The hub admits a key when its control entries admitted that site and did not revoke it.
/// Consulted at every handshake, so a revocation takes effect on the site's next attempt.
pub struct AdmittedSites {
    node: Arc<Node>,
}

impl std::fmt::Debug for AdmittedSites {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AdmittedSites(hub {})", self.node.id().short())
    }
}

impl PeerPolicy for AdmittedSites {
    fn check(&self, key: &NodeId) -> Result<(), Refusal> {
        match self.node.store.site_record(key) {
            Ok(Some(r)) if r.revoked.is_none() => Ok(()),
            Ok(Some(_)) => Err(Refusal::Revoked(key.to_string())),
            Ok(None) => Err(Refusal::Unknown(key.to_string())),
            Err(e) => {
                tracing::error!("cannot read site records: {e}");
                Err(Refusal::Unknown(key.to_string()))
            }
        }
    }
}

/// Counters of a running hub.
#[derive(Debug, Default)]
pub struct ServeStats {
    /// Sessions running now.
    pub active: std::sync::atomic::AtomicUsize,
    /// Most sessions running at once so far.
    pub peak: std::sync::atomic::AtomicUsize,
    /// Sessions that completed.
    pub completed: std::sync::atomic::AtomicUsize,
    /// Connections refused or failed.
    pub failed: std::sync::atomic::AtomicUsize,
}

/// Serve sites on `listener` until `shutdown` resolves.
pub async fn serve(
    node: Arc<Node>,
    listener: TcpListener,
    timing: Timing,
    stats: Arc<ServeStats>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<()> {
    let policy = Arc::new(AdmittedSites { node: node.clone() });
    let config =
        tls::server_config(&node.key, policy).map_err(|e| Error::Storage(e.to_string()))?;
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_SESSIONS));
    tokio::pin!(shutdown);
    loop {
        let (tcp, addr) = tokio::select! {
            _ = &mut shutdown => {
                // Stop accepting; let sessions under way finish (bounded), so nothing a site
                // was told is stored goes unacknowledged.
                let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
                while stats.active.load(std::sync::atomic::Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                return Ok(());
            }
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return Ok(());
        };
        let (node, acceptor, stats) = (node.clone(), acceptor.clone(), stats.clone());
        tokio::spawn(async move {
            let _permit = permit;
            serve_one(&node, acceptor, tcp, addr, timing, &stats).await;
        });
    }
}

async fn serve_one(
    node: &Node,
    acceptor: tokio_rustls::TlsAcceptor,
    mut tcp: tokio::net::TcpStream,
    addr: SocketAddr,
    timing: Timing,
    stats: &ServeStats,
) {
    use std::sync::atomic::Ordering;
    let _ = tcp.set_nodelay(true);
    // The handshake borrows the socket, so that after a refusal it is still here to close well.
    let accepted = tokio::time::timeout(Duration::from_secs(15), acceptor.accept(&mut tcp)).await;
    let mut stream = match accepted {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::warn!(%addr, "refused during the TLS handshake: {e}");
            stats.failed.fetch_add(1, Ordering::Relaxed);
            linger_close(&mut tcp).await;
            return;
        }
        Err(_) => {
            tracing::warn!(%addr, "TLS handshake timed out");
            stats.failed.fetch_add(1, Ordering::Relaxed);
            return;
        }
    };
    let Some(site) = tls::peer_key(stream.get_ref().1.peer_certificates()) else {
        tracing::warn!(%addr, "no usable client certificate");
        return;
    };
    let now = stats.active.fetch_add(1, Ordering::SeqCst) + 1;
    stats.peak.fetch_max(now, Ordering::SeqCst);
    let outcome = driver::run(
        node,
        &mut stream,
        site,
        Side::Hub { site },
        timing,
        &mut |_| {},
    )
    .await;
    stats.active.fetch_sub(1, Ordering::SeqCst);
    match &outcome {
        Ok(_) => stats.completed.fetch_add(1, Ordering::Relaxed),
        Err(_) => stats.failed.fetch_add(1, Ordering::Relaxed),
    };
    match outcome {
        Ok(r) => tracing::info!(
            %addr, site = %site.short(), received = r.progress.received, sent = r.progress.sent,
            "sync with site complete"
        ),
        Err(e) => tracing::warn!(%addr, site = %site.short(), "sync with site ended: {e}"),
    }
}

/// How long a refused connection is drained before it is dropped.
const LINGER: Duration = Duration::from_secs(2);
/// Most bytes drained from a refused connection: a site's first flight (its `Hello` and up to a
/// window of batches) fits several times over.
const LINGER_BYTES: usize = 8 << 20;

/// Close a connection refused during the handshake so that the site reads the alert.
///
/// In TLS 1.3 the hub checks the site's certificate only after the site's side of the handshake
/// is complete, and a site that has entries to send sends them at once. Closing a socket with
/// unread data makes the kernel answer with a reset, which can reach the site before it reads
/// the alert (it then reports "connection reset" — unreachable — instead of the refusal). So
/// send the alert, then a FIN, and read and discard what the site still sends until it closes,
/// bounded in time and bytes so that a refused peer cannot hold the hub.
async fn linger_close(tcp: &mut tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = tcp.flush().await;
    let _ = tcp.shutdown().await;
    let deadline = tokio::time::Instant::now() + LINGER;
    let mut buf = [0u8; 16 * 1024];
    let mut drained = 0;
    while drained < LINGER_BYTES {
        match tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => drained += n,
            _ => break,
        }
    }
}

/// Bind the hub's listening address.
pub async fn bind(address: &str) -> Result<TcpListener> {
    TcpListener::bind(address)
        .await
        .map_err(|e| Error::Storage(format!("cannot listen on {address}: {e}")))
}
