//! Peer mutual TLS between real broker processes: a TLS cluster elects,
//! replicates (key/value writes and a Kafka topic through kcat) and says
//! so in its status; the admin API needs a certificate naming a node or the
//! operator while the plain port keeps only health, metrics and status;
//! every node's certificate is replaced under a writer without losing a
//! write; a broker started without certificates runs in plaintext and says
//! so.

mod support;

use chronik_api::security::PeerSecurity;
use chronik_api::{AddMemberRequest, CreateTopicRequest, ErrorBody, NotLeaderBody};
use chronik_testkit::certs::{Leaf, TestCa};
use chronik_testkit::cluster::tls::https_client;
use chronik_testkit::kcat::require_kcat;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::TestCluster;

const SEC: Duration = Duration::from_secs(1);

async fn tls_cluster() -> TestCluster {
    let mut c = TestCluster::plan_tls(3);
    c.start_all();
    c.wait_leader(&[1, 2, 3], 15 * SEC).await;
    c
}

/// Runs kcat with `stdin`; its standard output (fails the test on error).
fn kcat(args: &[&str], stdin: &str) -> String {
    let mut child = chronik_testkit::kcat::command(60)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run kcat");
    if let Some(mut input) = child.stdin.take() {
        input.write_all(stdin.as_bytes()).expect("kcat stdin");
    }
    let out = child.wait_with_output().expect("kcat output");
    assert!(
        out.status.success(),
        "kcat {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tls_cluster_elects_replicates_and_reports_mtls() {
    require_kcat();
    let c = tls_cluster().await;
    let index = c.put("k", "v", 10 * SEC).await.expect("a write over mTLS");
    c.wait_applied(&[1, 2, 3], index, 10 * SEC).await;
    for id in 1..=3 {
        let status = c.status(id).await.expect("status on the admin port");
        assert_eq!(status.peer_security, PeerSecurity::Mtls, "node {id}");
        assert_eq!(c.get(id, "k").await.as_deref(), Some("v"), "node {id}");
    }

    // A partition group replicates over the same transport.
    let leader = c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    let topic = CreateTopicRequest {
        name: "secure".into(),
        partitions: 1,
        config: Default::default(),
    };
    let r = c
        .client
        .post(format!("{}/v1/topics", c.api(leader)))
        .json(&topic)
        .send()
        .await
        .expect("create topic");
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    c.wait_groups_converged(&[1, 2, 3], 1, 20 * SEC).await;
    kcat(&["-b", &c.kafka(1), "-P", "-t", "secure"], "a\nb\nc\n");
    let consumed = kcat(
        &[
            "-b",
            &c.kafka(2),
            "-C",
            "-t",
            "secure",
            "-o",
            "beginning",
            "-e",
            "-q",
        ],
        "",
    );
    assert_eq!(consumed.lines().collect::<Vec<_>>(), ["a", "b", "c"]);

    // Brokers register their admin URL: a follower's 421 points there.
    let follower = (1..=3).find(|id| *id != leader).expect("a follower");
    let admin = format!(
        "https://127.0.0.1:{}",
        c.tls.as_ref().expect("tls").admin_ports[&leader]
    );
    let deadline = Instant::now() + 10 * SEC;
    loop {
        let r = c
            .client
            .put(format!("{}/v1/kv/x", c.api(follower)))
            .body("y")
            .send()
            .await
            .expect("put on a follower");
        assert_eq!(r.status(), 421);
        let body: NotLeaderBody = r.json().await.expect("NotLeaderBody");
        if body.leader_url == admin {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "421 names {:?}, not {admin}",
            body.leader_url
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_api_needs_a_certificate_naming_a_node_or_the_operator() {
    let c = tls_cluster().await;
    let leader = c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    let tls = c.tls.as_ref().expect("tls");
    let ca = tls.ca.cert_pem();
    let members = format!("{}/v1/members", c.api(leader));
    let intruder = AddMemberRequest {
        id: 9,
        url: "http://127.0.0.1:1".into(),
    };

    let anonymous = https_client(&ca, None);
    let r = anonymous.post(&members).json(&intruder).send().await;
    assert!(r.is_err(), "no client certificate: {r:?}");

    let other_ca = TestCa::new("intruder-ca");
    let foreign = https_client(&ca, Some(&other_ca.issue(&Leaf::operator())));
    let r = foreign.post(&members).json(&intruder).send().await;
    assert!(r.is_err(), "a certificate of another CA: {r:?}");

    // A certificate of the cluster CA that names neither a node nor the operator.
    let app = https_client(&ca, Some(&tls.ca.issue(&Leaf::client("app"))));
    let r = app
        .post(&members)
        .json(&intruder)
        .send()
        .await
        .expect("answered");
    assert_eq!(r.status(), 403);
    let body: ErrorBody = r.json().await.expect("ErrorBody");
    assert!(
        body.error.contains("urn:chronik:operator"),
        "{}",
        body.error
    );

    // The plain port refuses writes and membership, naming the admin port,
    // and keeps health, metrics and status.
    let plain = reqwest::Client::new();
    let http = c.specs[&leader].http();
    let admin_port = tls.admin_ports[&leader].to_string();
    for r in [
        plain.post(format!("{http}/v1/members")).json(&intruder),
        plain.put(format!("{http}/v1/kv/a")).body("b"),
        plain.post(format!("{http}/v1/leader/transfer")).body("{}"),
    ] {
        let r = r.send().await.expect("answered");
        assert_eq!(r.status(), 403);
        let body: ErrorBody = r.json().await.expect("ErrorBody");
        assert!(body.error.contains(&admin_port), "{}", body.error);
    }
    for path in ["/livez", "/readyz", "/metrics", "/v1/status"] {
        let r = plain.get(format!("{http}{path}")).send().await.expect(path);
        // /readyz may still say 503 (catching up); it is served, not refused.
        assert_ne!(r.status(), 403, "{path}");
        if path != "/readyz" {
            assert_eq!(r.status(), 200, "{path}");
        }
    }

    // Nothing was added; the operator's certificate may write.
    let status = c.status(leader).await.expect("status");
    assert_eq!(status.members.len(), 3, "{:?}", status.members);
    c.put("by-operator", "ok", 10 * SEC)
        .await
        .expect("the operator writes");
}

/// The leaf certificate node `id` presents on its Raft port now (a new
/// handshake with the operator's certificate).
async fn presented(c: &TestCluster, id: u64) -> Vec<u8> {
    let tls = c.tls.as_ref().expect("tls");
    let mut roots = rustls::RootCertStore::empty();
    for ca in CertificateDer::pem_slice_iter(tls.ca.cert_pem().as_bytes()) {
        roots.add(ca.expect("CA PEM")).expect("CA");
    }
    let chain = CertificateDer::pem_slice_iter(tls.operator.cert.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .expect("operator PEM");
    let key = PrivateKeyDer::from_pem_slice(tls.operator.key.as_bytes()).expect("key");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_client_auth_cert(chain, key)
    .expect("client config");
    let spec = &c.specs[&id];
    let tcp = tokio::net::TcpStream::connect((spec.ip.as_str(), spec.raft_port))
        .await
        .expect("connect");
    let name = ServerName::try_from(spec.ip.clone()).expect("name");
    let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .expect("handshake");
    let certs = stream
        .get_ref()
        .1
        .peer_certificates()
        .expect("server certificate");
    certs[0].to_vec()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_certificate_is_replaced_under_writes_without_losing_one() {
    let mut c = tls_cluster().await;
    let mut before = Vec::new();
    for id in 1..=3 {
        before.push(presented(&c, id).await);
    }
    let stop = AtomicBool::new(false);
    let writer = async {
        let mut acked = Vec::new();
        while !stop.load(Ordering::SeqCst) {
            let key = format!("w-{}", acked.len());
            c.put(&key, "v", 10 * SEC).await.expect("writes continue");
            acked.push(key);
        }
        acked
    };
    let rotation = async {
        tokio::time::sleep(SEC).await;
        for id in 1..=3 {
            c.rotate_cert(id);
        }
        let deadline = Instant::now() + 10 * SEC;
        for id in 1..=3 {
            while presented(&c, id).await == before[id as usize - 1] {
                assert!(
                    Instant::now() < deadline,
                    "node {id} still presents its old certificate"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        tokio::time::sleep(2 * SEC).await;
        stop.store(true, Ordering::SeqCst);
    };
    let (acked, ()) = tokio::join!(writer, rotation);
    assert!(acked.len() > 10, "only {} writes acknowledged", acked.len());

    // A restarted node makes new handshakes on every link, with the new
    // certificates on both sides, and catches up.
    c.kill9(3);
    c.spawn(3);
    let index = c
        .put("after", "restart", 20 * SEC)
        .await
        .expect("write after restart");
    c.wait_applied(&[1, 2, 3], index, 20 * SEC).await;
    for key in &acked {
        assert_eq!(c.get(3, key).await.as_deref(), Some("v"), "{key} on node 3");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broker_without_certificates_runs_in_plaintext_and_says_so() {
    let c = TestCluster::plan(1);
    let mut child = c
        .command(1)
        .env("RUST_LOG", "warn")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn broker");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("PLAINTEXT") {
                let _ = tx.send(line);
            }
        }
    });
    let warning = rx.recv_timeout(10 * SEC);
    let leader = tokio::time::timeout(10 * SEC, c.wait_leader(&[1], 10 * SEC)).await;
    let status = c.status(1).await;
    // The node runs outside the cluster's process list: write through it.
    let write = c.put_via(1, "plain", "works").await;
    let _ = child.kill();
    let _ = child.wait();
    assert!(warning.is_ok(), "no plaintext warning in the log");
    assert!(leader.is_ok());
    assert_eq!(
        status.expect("status").peer_security,
        PeerSecurity::Plaintext
    );
    write.expect("the plain port serves writes without peer TLS");
}
