//! The workload runner with the in-memory engine, driven through kube-rs:
//! ordinals, claims, downward API and `$(VAR)` expansion, restarts, pod
//! re-creation, scale down, rolling update, cascading delete.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chronik_e2e::runner::backend::FakeBackend;
use chronik_e2e::runner::{Runner, RunnerConfig};
use common::Env;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::ResourceExt;
use serde_json::json;

async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(15) {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

fn sts(replicas: i32, image: &str) -> serde_json::Value {
    json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
        "spec": {"serviceName": "db-headless", "replicas": replicas,
                 "selector": {"matchLabels": {"app": "db"}},
                 "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{
                     "name": "db", "image": image, "args": ["--id=$(POD_NAME)", "--peer=$(POD_NAME).db-headless"],
                     "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                     "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}},
                 "volumeClaimTemplates": [{"metadata": {"name": "data"},
                     "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statefulsets_become_pods() {
    let env = Env::start().await;
    let engine = FakeBackend::default();
    let runner = Runner::new(
        env.server.state.clone(),
        Arc::new(engine.clone()),
        RunnerConfig {
            interval: Duration::from_millis(50),
            work_dir: env.dir.path().join("runner"),
            pod_kubeconfig: None,
        },
    )
    .spawn();
    let client = env.client().await;
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), "default");
    let pp = PatchParams::apply("test").force();
    sets.patch("db", &pp, &Patch::Apply(sts(3, "db:1")))
        .await
        .expect("apply sts");

    eventually("3 ready replicas", || async {
        let s = sets.get("db").await.expect("get sts");
        s.status.and_then(|st| st.ready_replicas) == Some(3)
    })
    .await;
    let names: Vec<String> = pods
        .list(&ListParams::default())
        .await
        .expect("pods")
        .items
        .iter()
        .map(|p| p.name_any())
        .collect();
    assert_eq!(names, ["db-0", "db-1", "db-2"]);
    let node = Api::<k8s_openapi::api::core::v1::Node>::all(client.clone())
        .get("localkube")
        .await
        .expect("the runner's node");
    assert!(node
        .status
        .and_then(|s| s.conditions)
        .is_some_and(|c| c[0].status == "True"));
    let p0 = pods.get("db-0").await.expect("db-0");
    assert_eq!(
        p0.spec.and_then(|s| s.node_name).as_deref(),
        Some("localkube")
    );
    let bound = claims.list(&ListParams::default()).await.expect("claims");
    assert_eq!(bound.items.len(), 3);
    assert!(bound
        .items
        .iter()
        .all(|c| c.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound")));
    {
        let state = engine.lock();
        let (spec, _) = state
            .containers
            .get("fake-default-db-1")
            .expect("container of db-1");
        assert_eq!(spec.args, ["--id=db-1", "--peer=db-1.db-headless"]);
        assert!(spec
            .aliases
            .contains(&"db-1.db-headless.default.svc.cluster.local".to_string()));
        assert_eq!(spec.mounts[0].source, "fake-default-data-db-1");
    }

    // A crashed container is restarted and counted.
    {
        let mut state = engine.lock();
        if let Some((_, st)) = state.containers.get_mut("fake-default-db-1") {
            st.running = false;
            st.exit_code = Some(1);
        }
    }
    eventually("a restart of db-1", || async {
        let p = pods.get("db-1").await.expect("db-1");
        p.status
            .and_then(|s| s.container_statuses)
            .is_some_and(|c| c[0].restart_count == 1 && c[0].ready)
    })
    .await;

    // A deleted pod comes back with a new uid.
    let old_uid = pods.get("db-0").await.expect("db-0").uid();
    let deleted = pods
        .delete("db-0", &DeleteParams::default())
        .await
        .expect("delete db-0");
    assert!(
        deleted
            .left()
            .is_some_and(|p| p.metadata.deletion_timestamp.is_some()),
        "the pod terminates gracefully first"
    );
    eventually("db-0 recreated", || async {
        pods.get_opt("db-0")
            .await
            .ok()
            .flatten()
            .is_some_and(|p| p.uid() != old_uid)
    })
    .await;

    // Rolling update to a new image, then scale down by ordinal.
    let updated = sets
        .patch("db", &pp, &Patch::Apply(sts(3, "db:2")))
        .await
        .expect("new image");
    let tmpl = serde_json::to_value(&updated.spec.template).expect("template");
    assert_eq!(tmpl["spec"]["containers"][0]["image"], "db:2", "{tmpl}");
    eventually("rolled to db:2", || async {
        let s = sets.get("db").await.expect("sts");
        let generation = s.metadata.generation;
        let st = s.status.unwrap_or_default();
        st.observed_generation == generation
            && st.updated_replicas == Some(3)
            && st.ready_replicas == Some(3)
            && st.current_revision == st.update_revision
    })
    .await;
    let images: Vec<String> = engine
        .lock()
        .containers
        .values()
        .map(|(spec, _)| format!("{} {}", spec.name, spec.image))
        .collect();
    assert!(images.iter().all(|i| i.ends_with(" db:2")), "{images:?}");
    sets.patch("db", &pp, &Patch::Apply(sts(1, "db:2")))
        .await
        .expect("scale down");
    eventually("one pod left", || async {
        pods.list(&ListParams::default())
            .await
            .expect("pods")
            .items
            .len()
            == 1
            && engine.lock().containers.len() == 1
    })
    .await;
    assert!(pods.get_opt("db-0").await.expect("get").is_some());

    // Deleting the StatefulSet deletes its pods (ownerReferences) but keeps the claims.
    sets.delete("db", &DeleteParams::default())
        .await
        .expect("delete sts");
    eventually("no pods and no containers", || async {
        pods.list(&ListParams::default())
            .await
            .expect("pods")
            .items
            .is_empty()
            && engine.lock().containers.is_empty()
    })
    .await;
    assert_eq!(
        claims
            .list(&ListParams::default())
            .await
            .expect("claims")
            .items
            .len(),
        3
    );
    claims
        .delete("data-db-2", &DeleteParams::default())
        .await
        .expect("delete claim");
    eventually("volume of the deleted claim removed", || async {
        !engine
            .lock()
            .volumes
            .contains(&"fake-default-data-db-2".to_string())
    })
    .await;
    runner.stop(true);
    assert!(engine.lock().volumes.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployments_become_pods() {
    use k8s_openapi::api::apps::v1::Deployment;
    let env = Env::start().await;
    let engine = FakeBackend::default();
    let runner = Runner::new(
        env.server.state.clone(),
        Arc::new(engine.clone()),
        RunnerConfig {
            interval: Duration::from_millis(50),
            work_dir: env.dir.path().join("runner"),
            pod_kubeconfig: None,
        },
    )
    .spawn();
    let client = env.client().await;
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let d = |image: &str| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "op"},
               "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "op"}},
                        "template": {"metadata": {"labels": {"app": "op"}},
                                     "spec": {"containers": [{"name": "op", "image": image}]}}}})
    };
    let pp = PatchParams::apply("test").force();
    deploys
        .patch("op", &pp, &Patch::Apply(d("op:1")))
        .await
        .expect("apply");
    eventually("2 available replicas", || async {
        deploys
            .get("op")
            .await
            .ok()
            .and_then(|d| d.status)
            .and_then(|s| s.available_replicas)
            == Some(2)
    })
    .await;
    deploys
        .patch("op", &pp, &Patch::Apply(d("op:2")))
        .await
        .expect("new image");
    eventually("pods replaced by op:2", || async {
        let items = pods.list(&ListParams::default()).await.expect("pods").items;
        items.len() == 2
            && items.iter().all(|p| {
                p.spec
                    .as_ref()
                    .is_some_and(|s| s.containers[0].image.as_deref() == Some("op:2"))
            })
            && engine
                .lock()
                .containers
                .values()
                .all(|(s, _)| s.image == "op:2")
    })
    .await;
    deploys
        .delete("op", &DeleteParams::default())
        .await
        .expect("delete");
    eventually("no pods", || async {
        pods.list(&ListParams::default())
            .await
            .expect("pods")
            .items
            .is_empty()
    })
    .await;
    runner.stop(true);
}
