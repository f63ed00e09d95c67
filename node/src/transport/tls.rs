//! Mutually authenticated TLS 1.3 between Cairn nodes, identified by pinned Ed25519 node keys.
//!
//! Each node presents a self-signed certificate made from its own node key. Nothing about the
//! certificate matters except that key: not its dates (offline sites' clocks drift for months), not
//! its names. The verifiers extract the key, ask a [`PeerPolicy`] whether that key may connect (the
//! hub asks its live list of admitted, unrevoked sites at every handshake, so a revocation takes
//! effect on the next attempt), and check the handshake signature with it. TLS 1.2 is not offered.
//!
//! Self-signed certificates were chosen over RFC 7250 raw public keys because standard tools
//! (`openssl s_client`) can talk to them, which the refusal tests use.

use cairn_sync_protocol::{NodeId, NodeKey};
use ed25519_dalek::pkcs8::EncodePrivateKey;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use std::sync::{Arc, Mutex};

/// The server name every node uses; certificates are pinned by key, not by name.
pub const SERVER_NAME: &str = "cairn.invalid";

/// Why a peer was refused during the handshake.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The key is not one this node trusts.
    #[error("unknown node {0}")]
    Unknown(String),
    /// The key belongs to a revoked site.
    #[error("node {0} is revoked")]
    Revoked(String),
    /// The certificate does not carry an Ed25519 key.
    #[error("the certificate does not carry an Ed25519 node key")]
    NotAnEd25519Key,
}

/// Decides, at every handshake, whether a peer key may connect.
pub trait PeerPolicy: Send + Sync + std::fmt::Debug {
    /// Allow or refuse `key`.
    fn check(&self, key: &NodeId) -> Result<(), Refusal>;
}

/// Accept exactly one key (a site trusting its hub).
#[derive(Debug, Clone)]
pub struct OnlyKey(pub NodeId);

impl PeerPolicy for OnlyKey {
    fn check(&self, key: &NodeId) -> Result<(), Refusal> {
        if *key == self.0 {
            Ok(())
        } else {
            Err(Refusal::Unknown(key.to_string()))
        }
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("TLS setup failed: {0}")]
pub struct SetupError(String);

/// This node's certificate and private key for TLS.
pub fn identity(
    key: &NodeKey,
) -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), SetupError> {
    let pkcs8 = key
        .signing_key()
        .to_pkcs8_der()
        .map_err(|e| SetupError(format!("encoding the node key: {e}")))?;
    let der = PrivatePkcs8KeyDer::from(pkcs8.as_bytes().to_vec());
    let key_pair = rcgen::KeyPair::try_from(&der)
        .map_err(|e| SetupError(format!("loading the node key: {e}")))?;
    let mut params = rcgen::CertificateParams::new(vec![SERVER_NAME.to_string()])
        .map_err(|e| SetupError(e.to_string()))?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, key.id().to_string());
    // Validity is irrelevant (pinned keys, drifting clocks); make it wide so tools don't complain.
    params.not_before = rcgen::date_time_ymd(2000, 1, 1);
    params.not_after = rcgen::date_time_ymd(2999, 12, 31);
    let cert = params
        .self_signed(&key_pair)
        .map_err(|e| SetupError(format!("making the certificate: {e}")))?;
    Ok((cert.der().clone(), PrivateKeyDer::Pkcs8(der)))
}

/// The Ed25519 node key a certificate carries.
pub fn key_of(cert: &CertificateDer<'_>) -> Result<NodeId, Refusal> {
    use x509_parser::prelude::*;
    let (_, parsed) =
        X509Certificate::from_der(cert.as_ref()).map_err(|_| Refusal::NotAnEd25519Key)?;
    let spki = &parsed.tbs_certificate.subject_pki;
    // 1.3.101.112 is id-Ed25519 (RFC 8410).
    if spki.algorithm.algorithm.to_id_string() != "1.3.101.112" {
        return Err(Refusal::NotAnEd25519Key);
    }
    let bytes: [u8; 32] = spki
        .subject_public_key
        .data
        .as_ref()
        .try_into()
        .map_err(|_| Refusal::NotAnEd25519Key)?;
    let id = NodeId(bytes);
    id.verifying_key().map_err(|_| Refusal::NotAnEd25519Key)?;
    Ok(id)
}

/// A refusal as rustls carries it: typed, so the caller can tell its own verifier's refusal from
/// anything else by downcasting (see [`refusal_of`]) instead of matching words.
fn refuse(side: &str, r: Refusal) -> rustls::Error {
    tracing::warn!("TLS handshake refused ({side}): {r}");
    rustls::Error::Other(rustls::OtherError(Arc::new(r)))
}

/// The refusal this node's own verifier made, if that is what ended a handshake.
pub fn refusal_of(e: &std::io::Error) -> Option<&Refusal> {
    match e.get_ref()?.downcast_ref::<rustls::Error>()? {
        rustls::Error::Other(other) => other.0.downcast_ref::<Refusal>(),
        _ => None,
    }
}

/// Whether the peer ended the handshake with a TLS alert: in TLS 1.3 that is how a hub refuses
/// a site whose certificate it does not admit.
pub fn alert_received(e: &std::io::Error) -> bool {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|r| matches!(r, rustls::Error::AlertReceived(_)))
}

fn algorithms() -> WebPkiSupportedAlgorithms {
    provider().signature_verification_algorithms
}

fn verify13(
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    rustls::crypto::verify_tls13_signature(message, cert, dss, &algorithms())
}

/// Client side: accept the server only if the policy allows its key.
#[derive(Debug)]
struct PinnedServer {
    policy: Arc<dyn PeerPolicy>,
}

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let key = key_of(end_entity).map_err(|r| refuse("server", r))?;
        self.policy.check(&key).map_err(|r| refuse("server", r))?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("TLS 1.2 is not supported".into()))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![SignatureScheme::ED25519]
    }
}

/// Server side: require a client certificate whose key the policy allows.
#[derive(Debug)]
struct PinnedClient {
    policy: Arc<dyn PeerPolicy>,
}

impl ClientCertVerifier for PinnedClient {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let key = key_of(end_entity).map_err(|r| refuse("client", r))?;
        self.policy.check(&key).map_err(|r| refuse("client", r))?;
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("TLS 1.2 is not supported".into()))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![SignatureScheme::ED25519]
    }
}

/// TLS 1.3-only server configuration presenting `key` and admitting clients `policy` allows.
pub fn server_config(
    key: &NodeKey,
    policy: Arc<dyn PeerPolicy>,
) -> Result<Arc<rustls::ServerConfig>, SetupError> {
    let (cert, private) = identity(key)?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| SetupError(e.to_string()))?
        .with_client_cert_verifier(Arc::new(PinnedClient { policy }))
        .with_single_cert(vec![cert], private)
        .map_err(|e| SetupError(e.to_string()))?;
    // No session resumption (the client refuses it too, see `client_config`). A resumed
    // handshake skips the certificate verifiers, and with them the `PeerPolicy` the hub asks at
    // every handshake: a site revoked after its last session could come back on a ticket.
    // Sending no tickets also spares the hub making and storing two per session that no site
    // would use.
    config.send_tls13_tickets = 0;
    config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    Ok(Arc::new(config))
}

/// TLS 1.3-only client configuration presenting `key` and accepting servers `policy` allows.
pub fn client_config(
    key: &NodeKey,
    policy: Arc<dyn PeerPolicy>,
) -> Result<Arc<rustls::ClientConfig>, SetupError> {
    let (cert, private) = identity(key)?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| SetupError(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedServer { policy }))
        .with_client_auth_cert(vec![cert], private)
        .map_err(|e| SetupError(e.to_string()))?;
    // Each side refuses resumption on its own: see `server_config`.
    config.resumption = rustls::client::Resumption::disabled();
    Ok(Arc::new(config))
}

/// A site's client configuration for its hub, made once and kept while the node is open:
/// making one makes and signs a certificate, which every session used to do (about a twentieth
/// of a site's processor time in a session, docs/benchmarks.md round 9). Made again if the
/// hub changes (`cairn join` while the node runs).
#[derive(Default)]
pub struct ClientConfigCache(Mutex<Option<CachedClientConfig>>);

type CachedClientConfig = ((NodeId, NodeId), Arc<rustls::ClientConfig>);

impl ClientConfigCache {
    /// The configuration presenting `key` and accepting only `hub`.
    pub fn for_hub(
        &self,
        key: &NodeKey,
        hub: NodeId,
    ) -> Result<Arc<rustls::ClientConfig>, SetupError> {
        // Keyed by the presenting key as well, so no caller can get a certificate made from
        // another key than the one it passed.
        let made_for = (key.id(), hub);
        let mut cached = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((for_pair, config)) = cached.as_ref()
            && *for_pair == made_for
        {
            return Ok(config.clone());
        }
        let config = client_config(key, Arc::new(OnlyKey(hub)))?;
        *cached = Some((made_for, config.clone()));
        Ok(config)
    }
}

/// The verified node key of the peer on an established connection.
pub fn peer_key(certs: Option<&[CertificateDer<'static>]>) -> Option<NodeId> {
    certs.and_then(|c| c.first()).and_then(|c| key_of(c).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn a_certificate_carries_the_node_key() {
        let key = NodeKey::generate(&mut rand::rngs::StdRng::seed_from_u64(3));
        let (cert, _) = identity(&key).unwrap();
        assert_eq!(key_of(&cert), Ok(key.id()));
    }

    /// Allows one key and counts how often it was asked.
    #[derive(Debug)]
    struct Counting(NodeId, std::sync::atomic::AtomicUsize);

    impl PeerPolicy for Counting {
        fn check(&self, key: &NodeId) -> Result<(), Refusal> {
            self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            OnlyKey(self.0).check(key)
        }
    }

    fn pass(from: &mut rustls::Connection, to: &mut rustls::Connection) {
        let mut bytes = Vec::new();
        while from.wants_write() {
            from.write_tls(&mut bytes).unwrap();
        }
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            to.read_tls(&mut rest).unwrap();
        }
        to.process_new_packets().unwrap();
    }

    /// One handshake in memory; how it went on the client's side.
    fn handshake(
        client: &Arc<rustls::ClientConfig>,
        server: &Arc<rustls::ServerConfig>,
    ) -> rustls::HandshakeKind {
        let name = ServerName::try_from(SERVER_NAME).unwrap();
        let mut c = rustls::Connection::Client(
            rustls::ClientConnection::new(client.clone(), name).unwrap(),
        );
        let mut s =
            rustls::Connection::Server(rustls::ServerConnection::new(server.clone()).unwrap());
        for _ in 0..10 {
            pass(&mut c, &mut s);
            pass(&mut s, &mut c);
            if !c.is_handshaking() && !s.is_handshaking() {
                break;
            }
        }
        assert!(!c.is_handshaking() && !s.is_handshaking());
        // Whatever the server sends after the handshake (tickets, if it made any).
        pass(&mut s, &mut c);
        c.handshake_kind().unwrap()
    }

    /// A site keeps one client configuration for its hub, so a resumption ticket, were one
    /// sent, would be used by its next session — and a resumed handshake never asks the hub's
    /// policy, so a site revoked in between would be let in. Every handshake is a full one and
    /// asks the policy.
    #[test]
    fn every_handshake_is_full_and_asks_the_policy() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(4);
        let (site, hub) = (NodeKey::generate(&mut rng), NodeKey::generate(&mut rng));
        let policy = Arc::new(Counting(site.id(), Default::default()));
        let server = server_config(&hub, policy.clone()).unwrap();
        let cache = ClientConfigCache::default();
        let client = cache.for_hub(&site, hub.id()).unwrap();
        for n in 1..=3 {
            let again = cache.for_hub(&site, hub.id()).unwrap();
            assert!(
                Arc::ptr_eq(&client, &again),
                "the configuration was made again"
            );
            assert_eq!(handshake(&again, &server), rustls::HandshakeKind::Full);
            assert_eq!(policy.1.load(std::sync::atomic::Ordering::SeqCst), n);
        }
        // Each side refuses alone: against a peer that would resume, still full handshakes.
        let mut resuming_client = (*client).clone();
        resuming_client.resumption = rustls::client::Resumption::default();
        let resuming_client = Arc::new(resuming_client);
        let mut ticketing_server = (*server).clone();
        ticketing_server.send_tls13_tickets = 2;
        ticketing_server.session_storage = rustls::server::ServerSessionMemoryCache::new(16);
        let ticketing_server = Arc::new(ticketing_server);
        for (c, s) in [(&resuming_client, &server), (&client, &ticketing_server)] {
            for _ in 0..2 {
                assert_eq!(handshake(c, s), rustls::HandshakeKind::Full);
            }
        }
        // The two permissive sides together do resume: the checks above can fail.
        handshake(&resuming_client, &ticketing_server);
        assert_eq!(
            handshake(&resuming_client, &ticketing_server),
            rustls::HandshakeKind::Resumed
        );
        // Another hub, or another key: another configuration.
        let other = NodeKey::generate(&mut rng);
        let moved = cache.for_hub(&site, other.id()).unwrap();
        assert!(!Arc::ptr_eq(&client, &moved));
        let rekeyed = cache.for_hub(&other, other.id()).unwrap();
        assert!(!Arc::ptr_eq(&moved, &rekeyed));
    }

    #[test]
    fn garbage_is_not_a_key() {
        assert_eq!(
            key_of(&CertificateDer::from(vec![0x30, 0x03, 1, 2, 3])),
            Err(Refusal::NotAnEd25519Key)
        );
    }
}
