//! Tests against a mocked API server (tower-test `mock::pair`, the kube-rs
//! `ApiServerVerifier` pattern) that stores what is written, so that a second
//! pass sees the first pass's result: reconcile and leader election.

mod support;

use std::sync::Arc;
use std::time::Duration;

use chronik_operator::brokers::MemberChange;
use chronik_operator::controller::reconcile;
use chronik_operator::crd::{ClusterMemberRole, ClusterPhase};
use chronik_operator::leader::{LeaderElector, LeaseConfig};
use kube::Client;
use serde_json::json;
use support::condition;
use support::fake_api::*;

#[tokio::test]
async fn create_then_idempotent_second_pass_makes_zero_writes() {
    let Harness {
        api, ctx, metrics, ..
    } = Harness::with_leader(2);
    let cluster = support::cluster("orders", 3);
    api.store_cluster(&cluster);

    reconcile(Arc::new(cluster), ctx.clone())
        .await
        .expect("first reconcile");
    let calls = api.take_calls();
    let writes: Vec<_> = calls
        .iter()
        .filter(|c| c.is_write())
        .map(|c| c.path.clone())
        .collect();
    assert_eq!(
        writes,
        vec![
            format!("/api/v1{NS}/secrets/orders-cluster-ca"),
            format!("/api/v1{NS}/secrets/orders-cluster-ca-cert"),
            format!("/api/v1{NS}/secrets/orders-clients-ca"),
            format!("/api/v1{NS}/secrets/orders-clients-ca-cert"),
            format!("/api/v1{NS}/secrets/orders-brokers"),
            format!("/api/v1{NS}/secrets/orders-operator"),
            format!("/api/v1{NS}/configmaps/orders-config"),
            format!("/api/v1{NS}/services/orders-headless"),
            format!("/api/v1{NS}/services/orders"),
            format!("/apis/apps/v1{NS}/statefulsets/orders"),
            format!("/apis/policy/v1{NS}/poddisruptionbudgets/orders"),
            format!("/apis/networking.k8s.io/v1{NS}/networkpolicies/orders"),
            format!("/apis/chronik.io/v1alpha1{NS}/chronikclusters/orders/status"),
        ]
    );
    for call in calls.iter().filter(|c| c.method == "PATCH") {
        assert!(
            call.query.contains("fieldManager=chronik-operator"),
            "{call:?}"
        );
        assert!(call.query.contains("force=true"), "{call:?}");
    }
    let sts = api
        .object(&format!("/apis/apps/v1{NS}/statefulsets/orders"))
        .unwrap();
    assert_eq!(sts["spec"]["serviceName"], "orders-headless");
    assert_eq!(
        sts["metadata"]["ownerReferences"][0]["kind"],
        "ChronikCluster"
    );

    // The second pass sees the stored objects and status: nothing to write.
    let stored = api.cluster("orders");
    assert!(stored.status.is_some());
    reconcile(Arc::new(stored), ctx.clone())
        .await
        .expect("second reconcile");
    let calls = api.take_calls();
    let writes: Vec<_> = calls.iter().filter(|c| c.is_write()).collect();
    assert!(writes.is_empty(), "second pass wrote: {writes:?}");
    assert_eq!(
        calls.len(),
        20,
        "the StatefulSet and pod list for planning, the six certificate Secrets, \
         then one GET per owned object: {calls:?}"
    );

    let text = metrics.encode().unwrap();
    assert!(
        text.contains("chronik_operator_reconciles_total 2"),
        "{text}"
    );
}

#[tokio::test]
async fn drift_is_corrected() {
    let Harness { api, ctx, .. } = Harness::with_leader(1);
    let cluster = support::cluster("orders", 3);
    api.store_cluster(&cluster);
    reconcile(Arc::new(cluster), ctx.clone()).await.unwrap();
    api.take_calls();

    let path = format!("/apis/apps/v1{NS}/statefulsets/orders");
    api.state.lock().unwrap().objects.get_mut(&path).unwrap()["spec"]["replicas"] = json!(1);
    reconcile(Arc::new(api.cluster("orders")), ctx)
        .await
        .unwrap();
    let writes: Vec<_> = api
        .take_calls()
        .into_iter()
        .filter(Call::is_write)
        .map(|c| c.path)
        .collect();
    assert_eq!(writes[0], path);
    assert_eq!(api.object(&path).unwrap()["spec"]["replicas"], 3);
}

#[tokio::test]
async fn status_comes_from_broker_answers() {
    let Harness {
        api, brokers, ctx, ..
    } = Harness::with_leader(2);
    api.store_cluster(&support::cluster("orders", 3));
    reconcile(Arc::new(api.cluster("orders")), ctx.clone())
        .await
        .unwrap();

    let status = api.cluster("orders").status.unwrap();
    assert_eq!(status.phase, Some(ClusterPhase::Running));
    let leader = status.leader.clone().unwrap();
    assert_eq!((leader.id, leader.pod.as_str()), (2, "orders-1"));
    assert_eq!(status.term, Some(3));
    assert_eq!(status.replicas, 3);
    assert_eq!(status.ready_replicas, 3);
    assert_eq!(status.initial_replicas, Some(3));
    assert_eq!(
        status.bootstrap_servers.as_deref(),
        Some("orders.streams.svc.cluster.local:9092")
    );
    assert_eq!(status.members.len(), 3);
    let m3 = &status.members[2];
    assert_eq!(
        (m3.id, m3.pod.as_str(), m3.role, m3.ready, m3.lag),
        (3, "orders-2", ClusterMemberRole::Voter, true, Some(3))
    );
    assert_eq!(m3.url, raft_url(3));
    let cond = |t: &str| condition(&status, t);
    assert_eq!(cond("Available").status, "True");
    assert!(
        cond("Available")
            .message
            .contains("3/3 members healthy, quorum needs 2"),
        "{:?}",
        cond("Available")
    );
    assert_eq!(cond("Degraded").status, "False");
    assert_eq!(cond("Progressing").status, "False");

    // One broker stops answering: still available, degraded, with quorum wording.
    three_node_answers(&brokers, 2, &[3]);
    reconcile(Arc::new(api.cluster("orders")), ctx.clone())
        .await
        .unwrap();
    let status = api.cluster("orders").status.unwrap();
    let cond = |t: &str| condition(&status, t);
    assert_eq!(status.phase, Some(ClusterPhase::Degraded));
    assert_eq!(cond("Available").status, "True");
    assert_eq!(cond("Degraded").status, "True");
    assert!(
        cond("Degraded")
            .message
            .contains("2/3 members healthy, quorum needs 2"),
        "{:?}",
        cond("Degraded")
    );
    assert!(cond("Degraded").message.contains("orders-2"));

    // Two down: quorum lost.
    three_node_answers(&brokers, 2, &[1, 3]);
    reconcile(Arc::new(api.cluster("orders")), ctx)
        .await
        .unwrap();
    let status = api.cluster("orders").status.unwrap();
    let available = condition(&status, "Available");
    assert_eq!(status.phase, Some(ClusterPhase::Unavailable));
    assert_eq!(available.status, "False");
    assert_eq!(available.reason, "QuorumLost");
    assert!(available
        .message
        .contains("1/3 members healthy, quorum needs 2"));
}

#[tokio::test]
async fn invalid_spec_sets_degraded_and_warns_once_without_touching_the_workload() {
    let Harness {
        api, ctx, metrics, ..
    } = Harness::new();
    let cluster = support::cluster("orders", 4);
    api.store_cluster(&cluster);

    let action = reconcile(Arc::new(cluster), ctx.clone()).await;
    assert!(
        action.is_ok(),
        "an invalid spec is not a reconcile error (no crash loop)"
    );
    let calls = api.take_calls();
    let writes: Vec<_> = calls
        .iter()
        .filter(|c| c.is_write())
        .map(|c| (c.method.clone(), c.path.clone()))
        .collect();
    assert_eq!(
        writes,
        vec![
            (
                "POST".to_string(),
                format!("/apis/events.k8s.io/v1{NS}/events")
            ),
            (
                "PATCH".to_string(),
                format!("/apis/chronik.io/v1alpha1{NS}/chronikclusters/orders/status")
            ),
        ]
    );
    let event = api.state.lock().unwrap().events[0].clone();
    assert_eq!(event["type"], "Warning");
    assert_eq!(event["reason"], "InvalidSpec");
    assert!(event["note"].as_str().unwrap().contains("must be odd"));

    let status = api.cluster("orders").status.unwrap();
    assert_eq!(status.phase, Some(ClusterPhase::Invalid));
    let degraded = condition(&status, "Degraded");
    assert_eq!(
        (degraded.status.as_str(), degraded.reason.as_str()),
        ("True", "InvalidSpec")
    );
    assert!(degraded.message.contains("spec.replicas is 4"));
    assert!(metrics.encode().unwrap().contains("error=\"InvalidSpec\""));

    // Same invalid spec again: no new event, no status write.
    reconcile(Arc::new(api.cluster("orders")), ctx)
        .await
        .unwrap();
    let writes: Vec<_> = api
        .take_calls()
        .into_iter()
        .filter(Call::is_write)
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
}

fn elector(client: Client, identity: &str) -> LeaderElector {
    LeaderElector::new(
        client,
        LeaseConfig {
            name: "chronik-operator-leader".into(),
            namespace: "chronik-system".into(),
            identity: identity.into(),
            lease_duration: Duration::from_secs(15),
            renew_interval: Duration::from_millis(10),
        },
    )
}

const LEASE: &str =
    "/apis/coordination.k8s.io/v1/namespaces/chronik-system/leases/chronik-operator-leader";

#[tokio::test]
async fn only_one_replica_holds_the_lease() {
    let api = FakeApi::default();
    let client = api.start();
    let a = elector(client.clone(), "operator-a");
    let b = elector(client, "operator-b");

    assert!(
        a.try_acquire_or_renew().await.unwrap(),
        "a creates the Lease"
    );
    assert!(
        !b.try_acquire_or_renew().await.unwrap(),
        "b must wait while a renews"
    );
    assert!(a.try_acquire_or_renew().await.unwrap(), "a renews");
    let lease = api.object(LEASE).unwrap();
    assert_eq!(lease["spec"]["holderIdentity"], "operator-a");
    assert_eq!(lease["spec"]["leaseDurationSeconds"], 15);

    // a's Lease expires (no renewal for longer than its duration): b takes over.
    api.state.lock().unwrap().objects.get_mut(LEASE).unwrap()["spec"]["renewTime"] =
        json!("2020-01-01T00:00:00.000000Z");
    assert!(b.try_acquire_or_renew().await.unwrap());
    let lease = api.object(LEASE).unwrap();
    assert_eq!(lease["spec"]["holderIdentity"], "operator-b");
    assert_eq!(lease["spec"]["leaseTransitions"], 1);
    assert!(!a.try_acquire_or_renew().await.unwrap(), "a lost it");

    // b releases on shutdown: a gets it at once.
    b.release().await;
    assert!(a.try_acquire_or_renew().await.unwrap());
}

#[tokio::test]
async fn a_write_based_on_a_stale_read_loses_the_race() {
    let api = FakeApi::default();
    let client = api.start();
    let a = elector(client.clone(), "operator-a");
    let b = elector(client, "operator-b");
    assert!(a.try_acquire_or_renew().await.unwrap());
    api.state.lock().unwrap().objects.get_mut(LEASE).unwrap()["spec"]["renewTime"] =
        json!("2020-01-01T00:00:00.000000Z");
    // Between b's read and b's write, someone else writes the Lease: b's
    // replace carries a stale resourceVersion and must not win.
    api.state.lock().unwrap().race_after_get = Some(LEASE.to_string());
    api.take_calls();
    assert!(!b.try_acquire_or_renew().await.unwrap());
    let calls = api.take_calls();
    assert_eq!(
        calls.iter().map(|c| c.method.as_str()).collect::<Vec<_>>(),
        ["GET", "PUT"]
    );
    assert_eq!(
        api.object(LEASE).unwrap()["spec"]["holderIdentity"],
        "operator-a"
    );
}

#[tokio::test]
async fn lost_status_does_not_change_the_peer_list() {
    let Harness {
        api,
        ctx,
        membership,
        ..
    } = Harness::with_leader(1);
    api.store_cluster(&support::cluster("orders", 3));
    reconcile(Arc::new(api.cluster("orders")), ctx.clone())
        .await
        .unwrap();
    let path = format!("/apis/apps/v1{NS}/statefulsets/orders");
    let template_before = api.object(&path).unwrap()["spec"]["template"].clone();
    assert_eq!(
        api.object(&path).unwrap()["metadata"]["annotations"]["chronik.io/initial-replicas"],
        "3"
    );

    // The status is lost (e.g. a restore without status) and replicas changed.
    let mut cluster = api.cluster("orders");
    cluster.status = None;
    cluster.spec.replicas = 5;
    api.store_cluster(&cluster);
    reconcile(Arc::new(cluster), ctx).await.unwrap();
    let sts = api.object(&path).unwrap();
    assert_eq!(
        sts["spec"]["template"], template_before,
        "pod template must not change"
    );
    // Scaling starts with a learner; the StatefulSet grows after it.
    assert_eq!(sts["spec"]["replicas"], 3);
    assert_eq!(
        membership.changes.lock().unwrap().clone(),
        vec![(
            1,
            MemberChange::AddLearner {
                id: 4,
                url: raft_url(4)
            }
        )]
    );
    assert_eq!(
        api.cluster("orders").status.unwrap().initial_replicas,
        Some(3)
    );
}

#[tokio::test]
async fn a_refused_apply_is_reported_on_the_resource_and_retried() {
    let Harness {
        api,
        brokers,
        ctx,
        metrics,
        ..
    } = Harness::new();
    api.store_cluster(&support::cluster("orders", 3));
    let sts_path = format!("/apis/apps/v1{NS}/statefulsets/orders");
    api.state.lock().unwrap().refuse_patch = Some(sts_path.clone());

    let result = reconcile(Arc::new(api.cluster("orders")), ctx.clone()).await;
    let error = result.expect_err("the controller retries with backoff");
    assert!(
        error
            .to_string()
            .contains("applying StatefulSet streams/orders"),
        "{error}"
    );
    let writes: Vec<_> = api
        .take_calls()
        .into_iter()
        .filter(Call::is_write)
        .map(|c| c.path)
        .collect();
    // Six certificate Secrets, the ConfigMap and two Services come first.
    assert_eq!(writes[9], sts_path);
    assert_eq!(writes[10], format!("/apis/events.k8s.io/v1{NS}/events"));
    assert_eq!(
        writes[11],
        format!("/apis/chronik.io/v1alpha1{NS}/chronikclusters/orders/status")
    );
    assert_eq!(
        writes.len(),
        12,
        "no PDB after a failed StatefulSet: {writes:?}"
    );

    let status = api.cluster("orders").status.unwrap();
    let degraded = condition(&status, "Degraded");
    assert_eq!(
        (degraded.status.as_str(), degraded.reason.as_str()),
        ("True", "ApplyFailed")
    );
    assert!(
        degraded.message.contains("Forbidden"),
        "{}",
        degraded.message
    );
    assert!(metrics.encode().unwrap().contains("error=\"Apply\""));

    // Once the API server accepts it again, the next pass heals the status.
    api.state.lock().unwrap().refuse_patch = None;
    three_node_answers(&brokers, 1, &[]);
    reconcile(Arc::new(api.cluster("orders")), ctx)
        .await
        .unwrap();
    let status = api.cluster("orders").status.unwrap();
    let degraded = condition(&status, "Degraded");
    assert_eq!(degraded.status, "False");
    assert_eq!(status.phase, Some(ClusterPhase::Running));
}
