//! The binary's subcommands and the operator's HTTP endpoints.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use chronik_operator::metrics::Metrics;
use chronik_operator::server;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn operator(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_chronik-operator"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("running chronik-operator")
}

#[test]
fn crd_subcommand_prints_the_checked_in_crd() {
    let out = operator(&["crd"]);
    assert!(out.status.success());
    let on_disk = std::fs::read(repo().join("crds/chronikcluster.yaml")).unwrap();
    assert!(
        out.stdout == on_disk,
        "`chronik-operator crd` differs from crds/chronikcluster.yaml"
    );
}

#[test]
fn every_example_renders() {
    for (file, replicas, quorum) in [
        ("examples/chronikcluster-1-node.yaml", 1, 1),
        ("examples/chronikcluster-3-node.yaml", 3, 2),
        ("examples/chronikcluster-5-node.yaml", 5, 3),
    ] {
        let out = operator(&["render", "-f", file]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{file}: {stderr}");
        let text = String::from_utf8(out.stdout).unwrap();
        let docs: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(&text)
            .map(|d| serde::Deserialize::deserialize(d).unwrap())
            .collect();
        assert_eq!(docs.len(), 6, "{file}");
        let sts = docs.iter().find(|d| d["kind"] == "StatefulSet").unwrap();
        assert_eq!(sts["spec"]["replicas"].as_i64(), Some(replicas), "{file}");
        let pdb = docs
            .iter()
            .find(|d| d["kind"] == "PodDisruptionBudget")
            .unwrap();
        assert_eq!(pdb["spec"]["minAvailable"].as_i64(), Some(quorum), "{file}");
    }
}

#[test]
fn the_secure_example_renders_listeners_node_ports_and_the_authorizer() {
    let file = "examples/chronikcluster-secure.yaml";
    let out = operator(&["render", "-f", file]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{file}: {stderr}");
    let text = String::from_utf8(out.stdout).unwrap();
    let docs: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect();
    let node_ports = docs
        .iter()
        .filter(|d| d["kind"] == "Service" && d["spec"]["type"] == "NodePort")
        .count();
    // One Service per broker and a bootstrap Service.
    assert_eq!(node_ports, 4, "{text}");
    assert!(docs.iter().any(|d| d["kind"] == "NetworkPolicy"), "{text}");
    let sts = docs.iter().find(|d| d["kind"] == "StatefulSet").unwrap();
    let args = serde_yaml::to_string(&sts["spec"]["template"]["spec"]["containers"][0]).unwrap();
    for flag in [
        "name=tls,port=9093,tls=true,auth=scram-sha-512",
        "--authorizer",
        "--peer-tls-dir",
        "--kafka-tls-dir",
    ] {
        assert!(args.contains(flag), "{flag} missing from {args}");
    }
}

#[test]
fn render_of_an_invalid_cluster_fails_with_the_controllers_message() {
    let dir = std::env::temp_dir().join(format!("chronik-render-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("even.yaml");
    std::fs::write(
        &file,
        "apiVersion: chronik.io/v1alpha1\nkind: ChronikCluster\nmetadata:\n  name: even\nspec:\n  replicas: 2\n",
    )
    .unwrap();
    let out = operator(&["render", "-f", file.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "spec.replicas is 2: must be odd (1, 3, 5, 7 or 9) so that a majority quorum exists"
        ),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[tokio::test]
async fn metrics_health_and_readiness_endpoints_answer() {
    let metrics = Arc::new(Metrics::new());
    metrics.reconciles.inc();
    metrics.failure("Apply");
    metrics.duration.observe(0.02);
    let listener = server::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(server::serve(listener, metrics));
    let http = reqwest::Client::new();
    for path in ["/healthz", "/readyz"] {
        let r = http
            .get(format!("http://{addr}{path}"))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}");
    }
    let text = http
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("chronik_operator_reconciles_total 1"),
        "{text}"
    );
    assert!(
        text.contains("chronik_operator_reconcile_failures_total{error=\"Apply\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("chronik_operator_reconcile_duration_seconds_count 1"),
        "{text}"
    );
    task.abort();
}

#[tokio::test]
async fn broker_status_is_read_over_http() {
    use axum::routing::get;
    use chronik_operator::brokers::{BrokerApi, BrokerError, HttpBrokers};
    use std::time::Duration;

    let app = axum::Router::new()
        .route(
            "/v1/status",
            get(|| async {
                axum::Json(serde_json::json!({"node_id": 2, "cluster_id": "c", "incarnation": "i",
                    "role": "follower", "leader_id": 1, "term": 7, "commit_index": 3, "applied_index": 3,
                    "members": [{"id": 1, "url": "http://a:5001", "role": "voter"}]}))
            }),
        )
        .route("/broken/v1/status", get(|| async { axum::http::StatusCode::SERVICE_UNAVAILABLE }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move { axum::serve(listener, app).await });

    let client = HttpBrokers::new(Duration::from_secs(2), Duration::from_secs(2)).unwrap();
    let status = client.status(format!("http://{addr}")).await.unwrap();
    assert_eq!(
        (status.node_id, status.leader(), status.term),
        (2, Some(1), 7)
    );
    assert_eq!(status.members.len(), 1);

    let err = client
        .status(format!("http://{addr}/broken"))
        .await
        .unwrap_err();
    assert!(matches!(err, BrokerError::Http { code: 503, .. }), "{err}");
    task.abort();
    let _ = task.await; // the listener is closed once the task is gone

    // Nothing listens any more: unreachable, reported with the URL.
    let err = client.status(format!("http://{addr}")).await.unwrap_err();
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}

#[tokio::test]
async fn membership_changes_follow_421_to_the_leader() {
    use axum::http::StatusCode;
    use axum::routing::post;
    use chronik_api::{Membership, NodeId, NotLeaderBody};
    use chronik_operator::addresses::MemberAddresses;
    use chronik_operator::brokers::{BrokerApi, BrokerError, HttpBrokers, MemberChange};
    use std::time::Duration;

    async fn serve(app: axum::Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    }
    let not_leader = |leader_id: u64, leader_url: String| {
        (
            StatusCode::MISDIRECTED_REQUEST,
            axum::Json(NotLeaderBody {
                error: "not the leader".into(),
                leader_id,
                leader_url,
                leader_raft_url: String::new(),
            }),
        )
    };
    // Member 1 leads; member 2 names it by URL, member 3 only by id;
    // member 4 knows no leader; member 5 has a change pending.
    let leader = serve(axum::Router::new().route(
        "/v1/members",
        post(|| async {
            axum::Json(Membership {
                leader_id: 1,
                members: Vec::new(),
            })
        }),
    ))
    .await;
    let by_url = {
        let leader = leader.clone();
        serve(axum::Router::new().route(
            "/v1/members",
            post(move || async move { not_leader(1, leader) }),
        ))
        .await
    };
    let by_id = serve(axum::Router::new().route(
        "/v1/members",
        post(move || async move { not_leader(1, String::new()) }),
    ))
    .await;
    let lost = serve(axum::Router::new().route(
        "/v1/members",
        post(move || async move { not_leader(0, String::new()) }),
    ))
    .await;
    let busy = serve(axum::Router::new().route(
        "/v1/members",
        post(|| async {
            (
                StatusCode::CONFLICT,
                axum::Json(serde_json::json!({"error": "a change is in progress"})),
            )
        }),
    ))
    .await;

    struct Urls(Vec<String>);
    impl MemberAddresses for Urls {
        fn pod_of(&self, id: NodeId) -> String {
            format!("c-{}", id.0 - 1)
        }
        fn raft_url_of(&self, id: NodeId) -> String {
            format!("http://raft-{}:5001", id.0)
        }
        fn http_url_of(&self, id: NodeId) -> String {
            self.0[usize::try_from(id.0 - 1).unwrap()].clone()
        }
    }
    let members = Arc::new(Urls(vec![leader, by_url, by_id, lost, busy]));
    let client = HttpBrokers::new(Duration::from_secs(2), Duration::from_secs(2)).unwrap();
    let add = MemberChange::AddLearner {
        id: 6,
        url: "http://raft-6:5001".into(),
    };
    for via in [1, 2, 3] {
        let membership = client
            .change(members.clone(), via, add.clone())
            .await
            .unwrap_or_else(|e| panic!("via {via}: {e}"));
        assert_eq!(membership.leader_id, 1);
    }
    let err = client
        .change(members.clone(), 4, add.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, BrokerError::NoLeader { .. }), "{err}");
    let err = client.change(members, 5, add).await.unwrap_err();
    assert!(
        matches!(&err, BrokerError::Pending { message, .. } if message == "a change is in progress"),
        "{err}"
    );
}
