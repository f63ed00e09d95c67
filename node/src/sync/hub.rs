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

/// Most sessions served at once; further sites wait for a free slot after their handshake.
pub const MAX_SESSIONS: usize = 512;

/// The async worker threads of the service (`cairn serve`, `cairn run`). More than a small
/// machine's processors: a session's store calls on a worker can wait for sled's lock, which
/// a batch being applied holds for the whole process, and meanwhile the other workers keep the
/// processors busy with other sessions' TLS, decompression and signature checks.
pub const SERVICE_WORKER_THREADS: usize = 4;

/// Most TLS handshakes under way at once. Generous — a site's handshake takes a few round trips
/// — so only a flood reaches it; then a new connection ends the oldest silent one (see
/// [`Handshakes`]).
pub const MAX_HANDSHAKES: usize = 1024;

/// How long a new connection may stay silent: a site sends its ClientHello as soon as it is
/// connected, so a connection that says nothing for this long is not a site.
const CLIENT_HELLO_WAIT: Duration = Duration::from_secs(3);

/// Longest a handshake may take, from the connection's arrival.
const HANDSHAKE_LIMIT: Duration = Duration::from_secs(10);

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
    /// Run before each session with an admitted site (the service signs the program's copies
    /// of awards received so far when the site has any waiting, so they travel in this very
    /// session; see `App::upkeep_before_session`).
    pub before_session: SessionHook,
}

/// Work the hub does before each session, on a blocking thread.
#[derive(Clone, Default)]
pub struct SessionHook(pub Option<Arc<BeforeSession>>);

/// What runs before a session with a site, given the site.
pub type BeforeSession = dyn Fn(&NodeId) + Send + Sync;

impl std::fmt::Debug for SessionHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "SessionHook(set)"
        } else {
            "SessionHook(none)"
        })
    }
}

/// Serve sites on `listener` until `shutdown` resolves.
///
/// A connection holds a session slot only once its handshake has completed: connections that
/// never begin one (a flood of half-open connections) cannot keep sites out. They are bounded
/// by their own limits instead ([`CLIENT_HELLO_WAIT`], [`HANDSHAKE_LIMIT`], [`MAX_HANDSHAKES`]).
pub async fn serve(
    node: Arc<Node>,
    listener: TcpListener,
    timing: Timing,
    stats: Arc<ServeStats>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<()> {
    let policy = Arc::new(AdmittedSites { node: node.clone() });
    let config =
        tls::server_config(&node.key, policy).map_err(|e| Error::storage_msg(e.to_string()))?;
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_SESSIONS));
    let handshakes = Arc::new(Handshakes::default());
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
                // Sessions leave their records of the sites to the next flush (see
                // `driver::run`): a hub that stops cleanly keeps all of them.
                return node.store.flush();
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
        let handshake = handshakes.admit(MAX_HANDSHAKES);
        let (node, acceptor, stats, slots) =
            (node.clone(), acceptor.clone(), stats.clone(), slots.clone());
        tokio::spawn(async move {
            serve_one(
                &node, acceptor, tcp, addr, handshake, &slots, timing, &stats,
            )
            .await;
        });
    }
}

#[allow(clippy::too_many_arguments)]
async fn serve_one(
    node: &Node,
    acceptor: tokio_rustls::TlsAcceptor,
    mut tcp: tokio::net::TcpStream,
    addr: SocketAddr,
    mut handshake: Handshake,
    slots: &tokio::sync::Semaphore,
    timing: Timing,
    stats: &ServeStats,
) {
    use std::sync::atomic::Ordering;
    let _ = tcp.set_nodelay(true);
    let deadline = tokio::time::Instant::now() + HANDSHAKE_LIMIT;
    let mut first = [0u8; 1];
    let spoke = handshake
        .unless_ended(tokio::time::timeout(
            CLIENT_HELLO_WAIT,
            tcp.peek(&mut first),
        ))
        .await;
    if !matches!(spoke, Some(Ok(Ok(n))) if n > 0) {
        tracing::debug!(%addr, "the connection stayed silent");
        stats.failed.fetch_add(1, Ordering::Relaxed);
        return;
    }
    handshake.begun();
    // The handshake borrows the socket, so that after a refusal it is still here to close well.
    let accepted = handshake
        .unless_ended(tokio::time::timeout_at(deadline, acceptor.accept(&mut tcp)))
        .await;
    let mut stream = match accepted {
        Some(Ok(Ok(s))) => s,
        Some(Ok(Err(e))) => {
            tracing::warn!(%addr, "refused during the TLS handshake: {e}");
            stats.failed.fetch_add(1, Ordering::Relaxed);
            handshake.unless_ended(linger_close(&mut tcp)).await;
            return;
        }
        Some(Err(_)) => {
            tracing::warn!(%addr, "TLS handshake timed out");
            stats.failed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        None => {
            tracing::warn!(%addr, "TLS handshake given up: too many under way");
            stats.failed.fetch_add(1, Ordering::Relaxed);
            return;
        }
    };
    drop(handshake);
    let Some(site) = tls::peer_key(stream.get_ref().1.peer_certificates()) else {
        tracing::warn!(%addr, "no usable client certificate");
        return;
    };
    let Ok(_slot) = slots.acquire().await else {
        return;
    };
    let now = stats.active.fetch_add(1, Ordering::SeqCst) + 1;
    stats.peak.fetch_max(now, Ordering::SeqCst);
    // The session counts as running from here, before the hook: background work the hook asks
    // for waits for the sessions to pause (`Store::wait_for_lull`), and the first session of a
    // crowd would otherwise find none running and start it at once, beside the crowd.
    let running = node.store.session_running();
    if let Some(hook) = stats.before_session.0.clone() {
        let _ = tokio::task::spawn_blocking(move || hook(&site)).await;
    }
    let outcome = driver::run(
        node,
        &running,
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

/// The handshakes under way, so that a flood of connections cannot crowd out sites. When
/// `limit` are under way, a new connection ends the oldest one that has not sent a byte (a site
/// sends its ClientHello as soon as it is connected; connections that stay silent are the
/// flood), or, if every one has begun, the oldest of all. A site is then ended only if more new
/// connections arrive during its few round trips than the limit.
#[derive(Debug, Default)]
struct Handshakes {
    state: std::sync::Mutex<HandshakesState>,
}

#[derive(Debug, Default)]
struct HandshakesState {
    next: u64,
    /// Connections that have not sent a byte yet, oldest first; dropping the sender ends one.
    silent: std::collections::BTreeMap<u64, tokio::sync::oneshot::Sender<()>>,
    /// Connections whose handshake has begun, oldest first.
    begun: std::collections::BTreeMap<u64, tokio::sync::oneshot::Sender<()>>,
}

impl Handshakes {
    fn state(&self) -> std::sync::MutexGuard<'_, HandshakesState> {
        // The state stays consistent across a panic elsewhere: every change is one call.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Count a new connection in, ending the oldest silent (else the oldest) one if `limit` are
    /// under way.
    fn admit(self: &Arc<Self>, limit: usize) -> Handshake {
        let mut state = self.state();
        if state.silent.len() + state.begun.len() >= limit && state.silent.pop_first().is_none() {
            state.begun.pop_first();
        }
        let id = state.next;
        state.next += 1;
        let (tx, ended) = tokio::sync::oneshot::channel();
        state.silent.insert(id, tx);
        Handshake {
            handshakes: self.clone(),
            id,
            ended,
        }
    }
}

/// One connection counted among the handshakes under way, until dropped.
#[derive(Debug)]
struct Handshake {
    handshakes: Arc<Handshakes>,
    id: u64,
    /// Resolves when the connection was ended to make room.
    ended: tokio::sync::oneshot::Receiver<()>,
}

impl Handshake {
    /// The connection sent its first bytes.
    fn begun(&self) {
        let mut state = self.handshakes.state();
        if let Some(tx) = state.silent.remove(&self.id) {
            state.begun.insert(self.id, tx);
        }
    }

    /// Run `work` unless this connection is ended to make room first (then `None`).
    async fn unless_ended<T>(&mut self, work: impl std::future::Future<Output = T>) -> Option<T> {
        tokio::select! {
            done = work => Some(done),
            _ = &mut self.ended => None,
        }
    }
}

impl Drop for Handshake {
    fn drop(&mut self) {
        let mut state = self.handshakes.state();
        state.silent.remove(&self.id);
        state.begun.remove(&self.id);
    }
}

/// Raise this process's limit on open files (the soft limit) to the most it may have (the hard
/// limit): each connection is a file, and the usual soft limit (1024) is below what
/// [`MAX_SESSIONS`] sessions plus [`MAX_HANDSHAKES`] handshakes need. Returns the limit now in
/// force (`None`: unlimited).
#[cfg(unix)]
pub fn raise_open_file_limit() -> std::io::Result<Option<u64>> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        limit.current = limit.maximum;
        setrlimit(Resource::Nofile, limit)?;
    }
    Ok(limit.current)
}

/// How many connections the kernel holds for the hub before it accepts them. Sites that sync
/// on a schedule arrive together, and a busy hub accepts them more slowly than they come: with
/// the usual backlog of 128 (tokio's and the standard library's), the kernel dropped the rest
/// of a crowd's first packets and those sites tried again only a second later. The kernel caps
/// this at `net.core.somaxconn` (4096 on current Linux).
pub const BACKLOG: u32 = 1024;

/// Bind the hub's listening address, with room for a crowd of sites in its queue
/// ([`BACKLOG`]). `address` may name a host; like `TcpListener::bind`, the first of its
/// addresses that can be bound is used.
pub async fn bind(address: &str) -> Result<TcpListener> {
    let cannot = |e: std::io::Error| Error::storage_msg(format!("cannot listen on {address}: {e}"));
    let mut last = None;
    for addr in tokio::net::lookup_host(address).await.map_err(cannot)? {
        match listen_on(addr) {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some(e),
        }
    }
    Err(cannot(last.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the address names no host",
        )
    })))
}

fn listen_on(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    // As `TcpListener::bind` does: a restarted hub can listen again at once.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::oneshot::error::TryRecvError;

    fn ended(h: &mut Handshake) -> bool {
        matches!(h.ended.try_recv(), Err(TryRecvError::Closed))
    }

    /// A crowd of sites connecting at once all get into the kernel's queue of connections
    /// waiting for the hub to accept them, even while the hub is too busy to accept any. With
    /// the usual backlog of 128, the connections after the 129th were dropped and their sites
    /// tried again only a second later (measured in the benchmark's 200-site runs).
    #[tokio::test]
    async fn a_crowd_of_sites_connecting_at_once_is_queued_not_dropped() {
        let listener = bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // The kernel caps every backlog at `somaxconn` (4096 on current kernels, 128 on old).
        let cap = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
            .unwrap_or(BACKLOG as usize);
        let crowd = 300.min(cap);
        let mut connects = tokio::task::JoinSet::new();
        for _ in 0..crowd {
            connects.spawn(tokio::time::timeout(
                Duration::from_millis(700),
                tokio::net::TcpStream::connect(addr),
            ));
        }
        let mut held = Vec::new();
        let mut waited = 0;
        while let Some(done) = connects.join_next().await {
            match done.unwrap() {
                Ok(stream) => held.push(stream.unwrap()),
                Err(_) => waited += 1,
            }
        }
        assert_eq!(
            waited, 0,
            "{waited} of {crowd} connections were not queued (somaxconn {cap})"
        );
        drop(listener);
    }

    #[tokio::test]
    async fn an_address_that_cannot_be_bound_is_named_in_the_error() {
        let taken = bind("127.0.0.1:0").await.unwrap();
        let addr = taken.local_addr().unwrap().to_string();
        for bad in [addr.as_str(), "not an address", "[::1]:99999"] {
            let e = bind(bad).await.unwrap_err().to_string();
            assert!(e.contains(&format!("cannot listen on {bad}")), "{e}");
        }
    }

    #[test]
    fn a_full_table_ends_the_oldest_silent_connection_first() {
        let table = Arc::new(Handshakes::default());
        let mut a = table.admit(3);
        let mut b = table.admit(3);
        let mut c = table.admit(3);
        b.begun();
        // Full: the oldest silent one (a) makes room, not the older site that began (b).
        let mut d = table.admit(3);
        assert!(ended(&mut a));
        assert!(!ended(&mut b) && !ended(&mut c) && !ended(&mut d));
        c.begun();
        d.begun();
        // Every one has begun: the oldest of all (b) makes room.
        let mut e = table.admit(3);
        assert!(ended(&mut b));
        assert!(!ended(&mut c) && !ended(&mut d) && !ended(&mut e));
        // A connection that finished its handshake no longer counts.
        drop(c);
        let mut f = table.admit(3);
        assert!(!ended(&mut d) && !ended(&mut e) && !ended(&mut f));
    }
}
