//! A site reaching its hub: one session now (`cairn sync --once`), or in the background whenever
//! the hub is reachable (`cairn run`), retrying with capped exponential backoff and jitter.

use super::driver::{self, Progress, Side, SyncReport, Timing};
use crate::error::{Error, Result};
use crate::node::Node;
use crate::transport::tls;
use cairn_sync_protocol::NodeId;
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;

/// The hub this site trusts, and where to reach it.
pub fn hub_of(node: &Node, address: Option<&str>) -> Result<(NodeId, String)> {
    let config = node.config();
    let hub = config.hub.as_ref().ok_or_else(|| {
        Error::Usage("this site has not joined a hub yet: run `cairn join FILE` with the hub's provisioning file".into())
    })?;
    let id: NodeId = hub
        .id
        .parse()
        .map_err(|e| Error::storage_msg(format!("the hub id in config.toml is not valid: {e}")))?;
    let address = address
        .map(str::to_string)
        .or_else(|| hub.address.clone())
        .ok_or_else(|| Error::Usage("the hub has no network address on record: pass --hub HOST:PORT, or use USB bundles".into()))?;
    Ok((id, address))
}

/// Connect to the hub and run one session.
pub async fn sync_once(
    node: &Node,
    address: &str,
    timing: Timing,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<SyncReport> {
    let (hub, mut stream) = connect(node, address).await?;
    let running = node.store.session_running();
    driver::run(
        node,
        &running,
        &mut stream,
        hub,
        Side::Site,
        timing,
        progress,
    )
    .await
}

/// A TLS connection to the hub, authenticated both ways.
pub type HubStream = tokio_rustls::client::TlsStream<tokio::net::TcpStream>;

/// Connect to the hub at `address` and complete the TLS handshake.
pub async fn connect(node: &Node, address: &str) -> Result<(NodeId, HubStream)> {
    let (hub, _) = hub_of(node, Some(address))?;
    let connect = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::net::TcpStream::connect(address),
    );
    let tcp = match connect.await {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => {
            return Err(Error::Unreachable(format!(
                "cannot reach the hub at {address}: {e}"
            )));
        }
        Err(_) => {
            return Err(Error::Unreachable(format!(
                "cannot reach the hub at {address}: timed out"
            )));
        }
    };
    let _ = tcp.set_nodelay(true);
    let config = node
        .tls_client
        .for_hub(&node.key, hub)
        .map_err(|e| Error::storage_msg(e.to_string()))?;
    let connector = tokio_rustls::TlsConnector::from(config);
    let name = rustls::pki_types::ServerName::try_from(tls::SERVER_NAME)
        .map_err(|e| Error::storage_msg(e.to_string()))?;
    let stream =
        match tokio::time::timeout(Duration::from_secs(15), connector.connect(name, tcp)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                // Our own verifier refusing the server is a forged/wrong hub; an alert from the
                // server is a refusal of this site; anything else is a network failure.
                return Err(match tls::refusal_of(&e) {
                    Some(r) => Error::forged(format!(
                        "the server at {address} is not this site's hub: {r}"
                    )),
                    None => driver::io_error(e),
                });
            }
            Err(_) => {
                return Err(Error::Unreachable(format!(
                    "the TLS handshake with {address} timed out"
                )));
            }
        };
    Ok((hub, stream))
}

/// How `cairn run` retries.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    /// First retry delay.
    pub initial: Duration,
    /// Longest delay between attempts.
    pub max: Duration,
    /// Delay between syncs while the hub is reachable.
    pub interval: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(60),
            interval: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// The delay before attempt `failures + 1`: exponential, capped, with ±25 % jitter so many
    /// sites coming back at once do not arrive together.
    pub fn delay(&self, failures: u32) -> Duration {
        let base = self
            .initial
            .saturating_mul(1u32 << failures.min(16))
            .min(self.max);
        let jitter = rand::thread_rng().gen_range(0.75..1.25);
        base.mul_f64(jitter).min(self.max)
    }
}

/// Sync in the background until `stop` resolves: every `interval` while the hub answers, with
/// backoff while it does not. Each outcome is passed to `report`.
pub async fn run_loop(
    node: Arc<Node>,
    address: String,
    backoff: Backoff,
    timing: Timing,
    sessions: &tokio::sync::Mutex<()>,
    mut report: impl FnMut(&Result<SyncReport>) + Send,
    stop: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(stop);
    let mut failures = 0u32;
    loop {
        // One session with the hub at a time: "Sync now" (web or command line) takes the same
        // lock, so two sessions never save this node's checkpoint against each other.
        let outcome = {
            let _one_at_a_time = sessions.lock().await;
            sync_once(&node, &address, timing, &mut |_| {}).await
        };
        report(&outcome);
        let delay = match &outcome {
            Ok(_) => {
                failures = 0;
                backoff.interval
            }
            // A refusal (this site is not admitted, or was revoked; or the server is not its
            // hub) does not go away by asking again soon: wait the longest delay, not the
            // shortest, so a revoked site does not hammer the hub.
            Err(Error::Refused(_)) => {
                failures = failures.saturating_add(1);
                backoff.max
            }
            Err(_) => {
                let d = backoff.delay(failures);
                failures = failures.saturating_add(1);
                d
            }
        };
        tokio::select! {
            _ = &mut stop => return,
            _ = tokio::time::sleep(delay) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let b = Backoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(60),
            interval: Duration::from_secs(30),
        };
        for _ in 0..50 {
            let d0 = b.delay(0);
            assert!(d0 >= Duration::from_millis(750) && d0 <= Duration::from_millis(1250));
            let d3 = b.delay(3);
            assert!(d3 >= Duration::from_secs(6) && d3 <= Duration::from_secs(10));
            assert!(b.delay(30) <= Duration::from_secs(60));
            assert!(b.delay(30) >= Duration::from_secs(45));
        }
    }
}
