//! Forged peers against a mutual-TLS cluster of real brokers: a client
//! without a certificate, one with a certificate of another CA, and one
//! with a valid cluster certificate for node 9 that sends Raft messages as
//! an existing member (appends of garbage entries, votes at a high term,
//! a snapshot). None of them can append, vote, move the term or the
//! leader, or crash a broker, and every broker counts the refusals.

mod support;

use chronik_broker::tls::{TlsFiles, TlsMaterial};
use chronik_broker::transport::PeerConnector;
use chronik_proto::raft::raft_transport_client::RaftTransportClient;
use chronik_proto::raft::{RaftBatch, RaftEnvelope, SenderInfo, SnapshotRequest};
use chronik_testkit::certs::{write_files, Leaf, TestCa};
use protobuf::Message as _;
use raft::eraftpb::{Entry, Message, MessageType, Snapshot};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::TestCluster;
use tonic::transport::Endpoint;

const SEC: Duration = Duration::from_secs(1);

/// TLS material of `leaf`, issued by `ca`, in a directory of `dir`.
fn material(ca: &TestCa, leaf: &Leaf, dir: &std::path::Path) -> Arc<TlsMaterial> {
    ca.write_dir(leaf, dir);
    TlsMaterial::load(TlsFiles::in_dir(dir, None)).expect("load certificate")
}

/// A client trusting the cluster CA and presenting no certificate.
fn anonymous(ca_pem: &str) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for ca in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(ca.expect("CA PEM")).expect("CA");
    }
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth(),
    )
}

fn envelope(m: &Message) -> RaftEnvelope {
    RaftEnvelope {
        group_id: 0,
        message: m.write_to_bytes().expect("encode"),
    }
}

/// An append of garbage entries far ahead and a vote request at a high
/// term, both claiming to come from node `from`.
fn forged_messages(from: u64, to: u64, term: u64, commit: u64) -> Vec<RaftEnvelope> {
    let mut append = Message::default();
    append.set_msg_type(MessageType::MsgAppend);
    append.from = from;
    append.to = to;
    append.term = term;
    append.index = commit;
    append.log_term = term;
    append.commit = commit + 3;
    append.entries = (1..=3)
        .map(|i| Entry {
            index: commit + i,
            term,
            data: vec![0xde, 0xad, 0xbe, 0xef].into(),
            ..Default::default()
        })
        .collect();
    let mut vote = Message::default();
    vote.set_msg_type(MessageType::MsgRequestVote);
    vote.from = from;
    vote.to = to;
    vote.term = term + 100;
    vote.index = commit + 1_000;
    vote.log_term = term + 100;
    vec![envelope(&append), envelope(&vote)]
}

/// Sends one batch (and one snapshot) to node `to` over TLS with `config`;
/// `Ok` if the broker accepted anything, else every refusal seen.
async fn forge(
    c: &TestCluster,
    to: u64,
    config: Arc<rustls::ClientConfig>,
    sender: SenderInfo,
    messages: Vec<RaftEnvelope>,
) -> Result<(), String> {
    let endpoint = Endpoint::from_shared(c.specs[&to].raft_url())
        .expect("url")
        .connect_timeout(2 * SEC)
        .timeout(5 * SEC);
    let channel = endpoint
        .connect_with_connector(PeerConnector::new(config))
        .await
        .map_err(|e| format!("connect: {e:?}"))?;
    let mut client = RaftTransportClient::new(channel);
    let mut refusals = Vec::new();
    let batch = RaftBatch {
        seq: 1,
        sender: Some(sender.clone()),
        messages: messages.clone(),
    };
    match client.stream(tokio_stream::iter(vec![batch])).await {
        Err(status) => refusals.push(format!("stream: {status:?}")),
        Ok(acks) => match acks.into_inner().message().await {
            Ok(Some(ack)) if ack.refused.is_empty() => return Ok(()),
            other => refusals.push(format!("ack: {other:?}")),
        },
    }
    let mut snap = Message::default();
    snap.set_msg_type(MessageType::MsgSnapshot);
    snap.from = messages.first().map_or(0, |e| {
        Message::parse_from_bytes(&e.message).map_or(0, |m| m.from)
    });
    snap.to = to;
    snap.term = 1_000;
    let mut snapshot = Snapshot::default();
    snapshot.mut_metadata().index = 1_000_000;
    snapshot.mut_metadata().term = 1_000;
    snapshot.data = vec![0xff; 16].into();
    snap.set_snapshot(snapshot);
    let request = SnapshotRequest {
        sender: Some(sender),
        message: Some(envelope(&snap)),
    };
    match client.snapshot(request).await {
        Ok(reply) if reply.get_ref().refused.is_empty() => return Ok(()),
        other => refusals.push(format!("snapshot: {other:?}")),
    }
    Err(refusals.join("; "))
}

/// (term, leader, commit index, state digest) of every node.
async fn fingerprint(c: &TestCluster) -> Vec<(u64, u64, u64, Option<String>)> {
    let mut out = Vec::new();
    for id in 1..=3 {
        let s = c.status(id).await.expect("status");
        let digest = s
            .state_digest
            .map(|d| format!("{}:{}", d.applied_index, d.digest));
        out.push((s.term, s.leader_id, s.commit_index, digest));
    }
    out
}

/// Waits until every node agrees on the commit index and nothing moves.
async fn quiescent(c: &TestCluster) -> Vec<(u64, u64, u64, Option<String>)> {
    let deadline = Instant::now() + 20 * SEC;
    loop {
        let a = fingerprint(c).await;
        tokio::time::sleep(SEC).await;
        let b = fingerprint(c).await;
        let agreed = b.iter().all(|n| n.2 == b[0].2 && n.3 == b[0].3);
        if a == b && agreed {
            return b;
        }
        assert!(
            Instant::now() < deadline,
            "the cluster did not settle: {b:?}"
        );
    }
}

/// The value of `chronik_transport_refusals_total{reason}` on node `id`.
async fn refusals(c: &TestCluster, id: u64, reason: &str) -> u64 {
    let text = reqwest::get(format!("{}/metrics", c.specs[&id].http()))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics body");
    let series = format!("chronik_transport_refusals_total{{reason=\"{reason}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&series))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_peers_can_neither_append_vote_nor_crash_a_broker() {
    let mut c = TestCluster::plan_tls(3);
    c.start_all();
    c.wait_leader(&[1, 2, 3], 15 * SEC).await;
    c.put("before", "attack", 10 * SEC)
        .await
        .expect("healthy write");
    let before = quiescent(&c).await;
    let (term, leader, commit) = (before[0].0, before[0].1, before[0].2);
    let dirs = tempfile::tempdir().expect("tempdir");
    let tls = c.tls.as_ref().expect("tls");
    let ca_pem = tls.ca.cert_pem();
    let other_ca = TestCa::new("another-cluster");
    // Trusts the cluster CA (so the client side of the handshake succeeds)
    // and presents a certificate of another CA naming a member.
    let foreign_dir = dirs.path().join("foreign");
    std::fs::create_dir_all(&foreign_dir).expect("dir");
    write_files(&foreign_dir, &ca_pem, &other_ca.issue(&Leaf::node(leader)));
    let foreign = TlsMaterial::load(TlsFiles::in_dir(&foreign_dir, None)).expect("load");
    let node9 = material(&tls.ca, &Leaf::node(9), &dirs.path().join("node9"));
    let foreign = foreign.client_config().expect("config");
    let node9 = node9.client_config().expect("config");

    for to in 1..=3u64 {
        // Impersonate the leader towards followers, a follower towards the leader.
        let member = if to == leader {
            (1..=3).find(|i| *i != leader).expect("a follower")
        } else {
            leader
        };
        let claim = |node_id| SenderInfo {
            cluster_id: c.cluster_id.clone(),
            node_id,
            url: "http://127.0.0.1:1".into(),
            incarnation: "forged".into(),
        };
        let msgs = forged_messages(member, to, term, commit);
        let attempts = [
            ("no certificate", anonymous(&ca_pem), claim(member)),
            ("another CA", foreign.clone(), claim(member)),
            ("node 9 as a member", node9.clone(), claim(member)),
            (
                "node 9 sending a member's messages",
                node9.clone(),
                claim(9),
            ),
        ];
        for (what, config, sender) in attempts {
            let outcome = forge(&c, to, config, sender, msgs.clone()).await;
            let refusal = outcome.expect_err(&format!("{what} to node {to} was accepted"));
            if what.starts_with("node 9") {
                assert!(refusal.contains("PermissionDenied"), "{what}: {refusal}");
            }
        }
    }

    // Several election timeouts later nothing moved and everyone is alive.
    tokio::time::sleep(3 * SEC).await;
    let after = quiescent(&c).await;
    assert_eq!(after, before, "a forged peer changed the cluster");
    for id in 1..=3 {
        assert!(c.pid(id).is_some());
        let live = reqwest::get(format!("{}/livez", c.specs[&id].http()))
            .await
            .expect("livez");
        assert_eq!(live.status(), 200, "node {id}");
        assert!(refusals(&c, id, "tls_handshake").await >= 2, "node {id}");
        assert!(
            refusals(&c, id, "certificate_mismatch").await >= 1,
            "node {id}"
        );
        assert!(refusals(&c, id, "spoofed").await >= 1, "node {id}");
    }
    let index = c
        .put("after", "attack", 10 * SEC)
        .await
        .expect("healthy write");
    c.wait_applied(&[1, 2, 3], index, 10 * SEC).await;
}
