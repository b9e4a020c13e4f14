//! Lifecycle bookkeeping through the controller against the fake API server:
//! the step is recorded in `status.operation` before it runs, Events and
//! conditions say what happens, a restarted operator (a new `Context`)
//! resumes from the recorded status, `spec.paused` freezes the workload, and
//! rolls delete one pod and stop on a pod that does not come up.

mod support;

use std::sync::Arc;

use chronik_api::MemberRole::{self, Learner, Voter};
use chronik_operator::brokers::MemberChange;
use chronik_operator::controller::reconcile;
use chronik_operator::crd::{ChronikClusterStatus, OperationKind, OperationStep};
use serde_json::{json, Value};
use support::condition;
use support::fake_api::*;

const NS: &str = "/namespaces/streams";

fn sts_path() -> String {
    format!("/apis/apps/v1{NS}/statefulsets/orders")
}

/// Every broker in `members` answers; `members` = (id, role, match index).
fn answers(brokers: &FakeBrokers, leader: u64, commit: u64, members: &[(u64, MemberRole, u64)]) {
    let mut map = brokers.answers.lock().unwrap();
    map.clear();
    for (id, _, _) in members {
        map.insert(
            base_url(id - 1),
            Ok(broker_answer(*id, leader, 2, commit, members)),
        );
    }
}

/// Store pod `orders-<ordinal>` with a revision, readiness and waiting reason.
fn store_pod(api: &FakeApi, ordinal: u64, revision: &str, ready: bool, waiting: Option<&str>) {
    let name = format!("orders-{ordinal}");
    let mut pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "streams",
            "labels": {"controller-revision-hash": revision}},
        "status": {"conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]}
    });
    if let Some(reason) = waiting {
        pod["status"]["containerStatuses"] = json!([{"name": "broker", "ready": false,
            "restartCount": 3, "image": "x", "imageID": "", "state": {"waiting": {"reason": reason}}}]);
    }
    api.state
        .lock()
        .unwrap()
        .objects
        .insert(format!("/api/v1{NS}/pods/{name}"), pod);
}

fn status(api: &FakeApi) -> ChronikClusterStatus {
    api.cluster("orders").status.expect("status written")
}

fn event_notes(api: &FakeApi) -> Vec<(String, String)> {
    api.state
        .lock()
        .unwrap()
        .events
        .iter()
        .map(|e: &Value| {
            (
                e["type"].as_str().unwrap_or_default().to_string(),
                e["note"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn replicas(api: &FakeApi) -> Value {
    api.object(&sts_path()).unwrap()["spec"]["replicas"].clone()
}

fn min_available(api: &FakeApi) -> Value {
    api.object(&format!("/apis/policy/v1{NS}/poddisruptionbudgets/orders"))
        .unwrap()["spec"]["minAvailable"]
        .clone()
}

#[tokio::test]
async fn scale_up_records_each_step_and_a_restarted_operator_resumes() {
    let Harness {
        api,
        client,
        brokers,
        ctx,
        membership,
        ..
    } = Harness::new();
    let voters3 = [(1, Voter, 10), (2, Voter, 10), (3, Voter, 10)];
    answers(&brokers, 1, 10, &voters3);
    api.store_cluster(&support::cluster("orders", 3));
    reconcile(Arc::new(api.cluster("orders")), ctx)
        .await
        .unwrap();
    for o in 0..3 {
        store_pod(&api, o, "r1", true, None);
    }
    assert_eq!(status(&api).operation, None);

    // Scale to 5: the learner is added first and the step recorded.
    let mut cluster = api.cluster("orders");
    cluster.spec.replicas = 5;
    api.store_cluster(&cluster);
    let (ctx, _, membership2) = context_with_membership(client.clone(), brokers.clone());
    reconcile(Arc::new(api.cluster("orders")), ctx)
        .await
        .unwrap();
    assert!(membership.changes.lock().unwrap().is_empty());
    assert_eq!(
        membership2.changes.lock().unwrap().clone(),
        vec![(
            1,
            MemberChange::AddLearner {
                id: 4,
                url: raft_url(4)
            }
        )]
    );
    let op = status(&api).operation.expect("operation recorded");
    assert_eq!(
        (
            op.kind,
            op.step,
            op.member_id,
            op.target_replicas,
            op.pod.as_deref()
        ),
        (
            OperationKind::Scale,
            OperationStep::AddLearner,
            Some(4),
            5,
            Some("orders-3")
        )
    );
    assert_eq!(replicas(&api), 3, "no pod before its member exists");
    assert_eq!(min_available(&api), 2);
    let st = status(&api);
    let progressing = condition(&st, "Progressing");
    assert_eq!(
        (
            progressing.status.as_str(),
            progressing.reason.as_str(),
            progressing.message.as_str()
        ),
        ("True", "AddingLearner", "adding member 4 as learner")
    );
    assert!(event_notes(&api).contains(&("Normal".into(), "adding member 4 as learner".into())));

    // Operator restarted (new context); the brokers show learner 4: grow.
    let with_learner = [
        (1, Voter, 10),
        (2, Voter, 10),
        (3, Voter, 10),
        (4, Learner, 0),
    ];
    answers(&brokers, 1, 10, &with_learner);
    let (ctx, _, membership3) = context_with_membership(client.clone(), brokers.clone());
    reconcile(Arc::new(api.cluster("orders")), ctx)
        .await
        .unwrap();
    assert!(membership3.changes.lock().unwrap().is_empty());
    assert_eq!(replicas(&api), 4);
    assert_eq!(
        status(&api).operation.unwrap().step,
        OperationStep::GrowStatefulSet
    );
    // Three voters plus a learner pod: still only one voter may be disrupted.
    assert_eq!(min_available(&api), 3);

    // The learner's pod runs but lags.
    store_pod(&api, 3, "r1", true, None);
    let lagging = [
        (1, Voter, 1303),
        (2, Voter, 1303),
        (3, Voter, 1303),
        (4, Learner, 100),
    ];
    answers(&brokers, 1, 1303, &lagging);
    let (ctx, _, membership4) = context_with_membership(client.clone(), brokers.clone());
    reconcile(Arc::new(api.cluster("orders")), ctx.clone())
        .await
        .unwrap();
    assert!(membership4.changes.lock().unwrap().is_empty());
    let s = status(&api);
    assert_eq!(s.operation.as_ref().unwrap().step, OperationStep::CatchUp);
    assert_eq!(
        condition(&s, "Progressing").message,
        "waiting for member 4 to catch up: lag 1203 entries"
    );

    // Caught up: promoted.
    let caught_up = [
        (1, Voter, 1400),
        (2, Voter, 1400),
        (3, Voter, 1400),
        (4, Learner, 1400),
    ];
    answers(&brokers, 1, 1400, &caught_up);
    reconcile(Arc::new(api.cluster("orders")), ctx)
        .await
        .unwrap();
    assert_eq!(
        membership4.changes.lock().unwrap().clone(),
        vec![(1, MemberChange::Promote { id: 4 })]
    );
    assert_eq!(status(&api).operation.unwrap().step, OperationStep::Promote);
}

#[tokio::test]
async fn paused_freezes_the_workload_but_keeps_status_current() {
    let Harness {
        api,
        brokers,
        ctx,
        membership,
        ..
    } = Harness::new();
    answers(
        &brokers,
        2,
        10,
        &[(1, Voter, 10), (2, Voter, 10), (3, Voter, 10)],
    );
    api.store_cluster(&support::cluster("orders", 3));
    reconcile(Arc::new(api.cluster("orders")), ctx.clone())
        .await
        .unwrap();
    api.take_calls();

    let mut cluster = api.cluster("orders");
    cluster.spec.replicas = 5;
    cluster.spec.paused = true;
    cluster.spec.image = "chronik-broker:next".into();
    api.store_cluster(&cluster);
    // A broker goes away: status must still follow.
    answers(&brokers, 2, 10, &[(2, Voter, 10), (3, Voter, 10)]);
    reconcile(Arc::new(api.cluster("orders")), ctx)
        .await
        .unwrap();
    let writes: Vec<String> = api
        .take_calls()
        .into_iter()
        .filter(Call::is_write)
        .map(|c| c.path)
        .collect();
    assert!(
        !writes.iter().any(|w| w.contains("statefulsets")
            || w.contains("configmaps")
            || w.contains("/pods/")),
        "paused wrote the workload: {writes:?}"
    );
    assert!(membership.changes.lock().unwrap().is_empty());
    let s = status(&api);
    assert_eq!(condition(&s, "Progressing").status, "False");
    assert_eq!(condition(&s, "Progressing").reason, "Paused");
    assert_eq!(s.members.len(), 2, "status keeps following the brokers");
}

#[tokio::test]
async fn a_roll_deletes_one_follower_and_stops_on_a_broken_pod() {
    let Harness {
        api, brokers, ctx, ..
    } = Harness::new();
    let voters3 = [(1, Voter, 10), (2, Voter, 10), (3, Voter, 10)];
    answers(&brokers, 1, 10, &voters3);
    api.store_cluster(&support::cluster("orders", 3));
    reconcile(Arc::new(api.cluster("orders")), ctx.clone())
        .await
        .unwrap();
    for o in 0..3 {
        store_pod(&api, o, "r1", true, None);
    }
    // The template changed: the StatefulSet (OnDelete) reports a new revision.
    let sts = sts_path();
    {
        let mut st = api.state.lock().unwrap();
        let object = st.objects.get_mut(&sts).unwrap();
        assert_eq!(object["spec"]["updateStrategy"]["type"], "OnDelete");
        object["status"]["updateRevision"] = json!("r2");
    }
    reconcile(Arc::new(api.cluster("orders")), ctx.clone())
        .await
        .unwrap();
    let pod2 = format!("/api/v1{NS}/pods/orders-2");
    assert_eq!(api.state.lock().unwrap().deleted, vec![pod2.clone()]);
    let op = status(&api).operation.unwrap();
    assert_eq!(
        (op.kind, op.step, op.pod.as_deref(), op.revision.as_deref()),
        (
            OperationKind::Roll,
            OperationStep::RestartPod,
            Some("orders-2"),
            Some("r2")
        )
    );

    // The new pod crash-loops: the roll stops, nothing else is deleted.
    store_pod(&api, 2, "r2", false, Some("CrashLoopBackOff"));
    for _ in 0..2 {
        reconcile(Arc::new(api.cluster("orders")), ctx.clone())
            .await
            .unwrap();
    }
    assert_eq!(api.state.lock().unwrap().deleted, vec![pod2]);
    let s = status(&api);
    let degraded = condition(&s, "Degraded");
    let message = &degraded.message;
    assert_eq!(
        (degraded.status.as_str(), degraded.reason.as_str()),
        ("True", "RollStopped")
    );
    assert!(
        message.contains("pod orders-2 does not become Ready (CrashLoopBackOff)"),
        "{message}"
    );
    let warnings: Vec<_> = event_notes(&api)
        .into_iter()
        .filter(|(t, _)| t == "Warning")
        .collect();
    assert_eq!(
        warnings.len(),
        1,
        "one Warning, not one per pass: {warnings:?}"
    );
}
