//! The broker client over mutual TLS, against loopback https servers that
//! require a client certificate of the cluster CA (as the brokers' admin
//! port does): the operator's certificate is accepted, a certificate of
//! another CA is refused, a server the cluster CA did not sign is not
//! trusted, and `421` answers are followed to the leader's https URL (for
//! membership changes and for the dynamic broker config).

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::{get, on, post, put, MethodFilter};
use chronik_api::config::DynamicBrokerConfig;
use chronik_api::{Membership, NodeId, NotLeaderBody};
use chronik_operator::addresses::MemberAddresses;
use chronik_operator::brokers::{
    BrokerApi, BrokerClients, ClientTls, ConfigApi, HttpBrokerClients, HttpBrokers, MemberChange,
};
use chronik_operator::certs::pem::{issue_leaf, new_ca, CaPem};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::collections::BTreeSet;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

const YEAR: i64 = 365 * 86_400;

/// Certificates are checked against the clock here: sign them now.
fn now() -> i64 {
    k8s_openapi::jiff::Timestamp::now().as_second()
}

fn sans(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// A CA and the operator's identity signed by it.
fn operator_identity(ca: &CaPem) -> ClientTls {
    let leaf = issue_leaf(
        ca,
        "operator",
        &sans(&["uri:urn:chronik:operator"]),
        now(),
        YEAR,
        now() + YEAR,
    )
    .unwrap();
    ClientTls {
        ca_pem: ca.cert.clone(),
        cert_pem: leaf.cert,
        key_pem: leaf.key,
    }
}

/// TLS on top of a TCP listener, requiring a client certificate of `ca`.
struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.tcp.accept().await else {
                continue;
            };
            // A refused handshake is the client's failure; keep serving.
            if let Ok(tls) = self.acceptor.accept(stream).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// Serve `app` over https as a broker of `ca` (DNS SAN `localhost`), with
/// client certificates of `ca` required. Returns `https://localhost:<port>`.
async fn serve_tls(ca: &CaPem, app: axum::Router) -> String {
    let leaf = issue_leaf(
        ca,
        "c-0",
        &sans(&["dns:localhost", "uri:urn:chronik:node:1"]),
        now(),
        YEAR,
        now() + YEAR,
    )
    .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca.cert.as_bytes()).unwrap())
        .unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![CertificateDer::from_pem_slice(leaf.cert.as_bytes()).unwrap()],
            PrivateKeyDer::from_pem_slice(leaf.key.as_bytes()).unwrap(),
        )
        .unwrap();
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tcp.local_addr().unwrap().port();
    let listener = TlsListener {
        tcp,
        acceptor: TlsAcceptor::from(Arc::new(config)),
    };
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("https://localhost:{port}")
}

fn status_app() -> axum::Router {
    axum::Router::new().route(
        "/v1/status",
        get(|| async {
            axum::Json(
                serde_json::json!({"node_id": 1, "cluster_id": "c", "incarnation": "i",
                "role": "leader", "leader_id": 1, "term": 4, "commit_index": 3, "applied_index": 3,
                "members": []}),
            )
        }),
    )
}

fn client(tls: &ClientTls) -> HttpBrokers {
    HttpBrokers::with_tls(Duration::from_secs(2), Duration::from_secs(2), tls).unwrap()
}

#[tokio::test]
async fn the_operator_certificate_is_accepted_and_others_are_not() {
    let ca = new_ca("orders cluster CA", now(), YEAR).unwrap();
    let url = serve_tls(&ca, status_app()).await;

    let status = client(&operator_identity(&ca))
        .status(url.clone())
        .await
        .unwrap();
    assert_eq!((status.node_id, status.term), (1, 4));

    // A certificate of another cluster's CA: the broker refuses it.
    let other = new_ca("other cluster CA", now(), YEAR).unwrap();
    let mut foreign = operator_identity(&other);
    foreign.ca_pem = ca.cert.clone();
    let err = client(&foreign).status(url.clone()).await.unwrap_err();
    assert!(err.to_string().contains("/v1/status"), "{err}");

    // The operator trusts only its cluster's CA: a broker of another CA is
    // not believed even with a valid client certificate.
    let mut wrong_trust = operator_identity(&ca);
    wrong_trust.ca_pem = other.cert.clone();
    assert!(client(&wrong_trust).status(url.clone()).await.is_err());

    // Plain HTTP cannot talk to the admin port.
    let plain = HttpBrokers::new(Duration::from_secs(2), Duration::from_secs(2)).unwrap();
    assert!(plain.status(url.replace("https", "http")).await.is_err());
}

/// Ids map to the servers' URLs.
struct Urls(Vec<String>);

impl MemberAddresses for Urls {
    fn pod_of(&self, id: NodeId) -> String {
        format!("c-{}", id.0 - 1)
    }
    fn raft_url_of(&self, id: NodeId) -> String {
        format!("http://localhost:{}", 5000 + id.0)
    }
    fn http_url_of(&self, id: NodeId) -> String {
        self.0[usize::try_from(id.0 - 1).unwrap()].clone()
    }
}

/// A follower of cluster CA `ca` answering `421` to `method` on `path`,
/// naming leader 2 at `leader_url`; its URL.
async fn not_leader(ca: &CaPem, method: MethodFilter, path: &str, leader_url: &str) -> String {
    let leader_url = leader_url.to_owned();
    let answer = move || {
        let leader_url = leader_url.clone();
        async move {
            (
                StatusCode::MISDIRECTED_REQUEST,
                axum::Json(NotLeaderBody {
                    error: "not the leader".into(),
                    leader_id: 2,
                    leader_url,
                    leader_raft_url: String::new(),
                }),
            )
        }
    };
    serve_tls(ca, axum::Router::new().route(path, on(method, answer))).await
}

#[tokio::test]
async fn membership_changes_follow_421_to_the_leaders_https_url() {
    let ca = new_ca("orders cluster CA", now(), YEAR).unwrap();
    let leader = serve_tls(
        &ca,
        axum::Router::new().route(
            "/v1/members/{id}/promote",
            post(|| async {
                axum::Json(Membership {
                    leader_id: 2,
                    members: Vec::new(),
                })
            }),
        ),
    )
    .await;
    let follower = not_leader(&ca, MethodFilter::POST, "/v1/members/{id}/promote", &leader).await;
    let members = Arc::new(Urls(vec![follower, leader]));
    let membership = client(&operator_identity(&ca))
        .change(members, 1, MemberChange::Promote { id: 3 })
        .await
        .unwrap();
    assert_eq!(membership.leader_id, 2);
}

#[tokio::test]
async fn the_dynamic_config_is_put_over_https_to_the_leader() {
    let ca = new_ca("orders cluster CA", now(), YEAR).unwrap();
    let leader = serve_tls(
        &ca,
        axum::Router::new().route(
            "/v1/config",
            put(
                |axum::Json(body): axum::Json<DynamicBrokerConfig>| async move { axum::Json(body) },
            ),
        ),
    )
    .await;
    let follower = not_leader(&ca, MethodFilter::PUT, "/v1/config", &leader).await;
    let members = Arc::new(Urls(vec![follower, leader]));
    let mut desired = DynamicBrokerConfig::default();
    desired
        .configs
        .insert("log.retention.ms".into(), "3600000".into());
    let applied = client(&operator_identity(&ca))
        .put_config(members, 1, desired.clone())
        .await
        .unwrap();
    assert_eq!(applied, desired);
}

#[tokio::test]
async fn clients_are_built_once_per_identity() {
    let clients = HttpBrokerClients::new(Duration::from_secs(1), Duration::from_secs(1)).unwrap();
    let ca = new_ca("orders cluster CA", now(), YEAR).unwrap();
    let tls = operator_identity(&ca);
    let a = clients.for_cluster(Some(&tls)).unwrap();
    let b = clients.for_cluster(Some(&tls.clone())).unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    let renewed = operator_identity(&ca);
    let c = clients.for_cluster(Some(&renewed)).unwrap();
    assert!(
        !Arc::ptr_eq(&a, &c),
        "a renewed certificate gets a new client"
    );
    let plain = clients.for_cluster(None).unwrap();
    assert!(!Arc::ptr_eq(&a, &plain));
    let broken = ClientTls {
        key_pem: "not a key".into(),
        ..tls
    };
    assert!(clients.for_cluster(Some(&broken)).is_err());
}
