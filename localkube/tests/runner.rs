//! The workload runner with the in-memory engine, driven through kube-rs:
//! ordinals, claims, downward API and `$(VAR)` expansion, restarts, pod
//! re-creation, scale down, rolling update, cascading delete.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chronik_localkube::runner::backend::FakeBackend;
use chronik_localkube::runner::{Runner, RunnerConfig};
use chronik_testkit::localkube::Env;
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
    let runner = fake_runner(&env, &engine);
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
    let runner = fake_runner(&env, &engine);
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

fn fake_runner(env: &Env, engine: &FakeBackend) -> chronik_localkube::runner::RunnerHandle {
    Runner::new(
        env.server.state.clone(),
        Arc::new(engine.clone()),
        RunnerConfig {
            interval: Duration::from_millis(50),
            work_dir: env.dir.path().join("runner"),
            pod_kubeconfig: None,
            node_ip: None,
        },
    )
    .spawn()
}

fn aliases_of(engine: &FakeBackend, container: &str) -> Option<Vec<String>> {
    engine
        .lock()
        .containers
        .get(container)
        .and_then(|(_, st)| st.aliases.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_names_resolve_to_ready_pods_only() {
    use k8s_openapi::api::core::v1::Service;
    let env = Env::start().await;
    let engine = FakeBackend::default();
    let runner = fake_runner(&env, &engine);
    let client = env.client().await;
    let pp = PatchParams::apply("test").force();
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    for (name, headless) in [("db-headless", true), ("db", false)] {
        let mut spec = json!({"selector": {"app": "db"}, "ports": [{"port": 9092}]});
        if headless {
            spec["clusterIP"] = json!("None");
            spec["publishNotReadyAddresses"] = json!(true);
        }
        let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec});
        services
            .patch(name, &pp, &Patch::Apply(svc))
            .await
            .expect("service");
    }
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    sets.patch("db", &pp, &Patch::Apply(sts(2, "db:1")))
        .await
        .expect("apply sts");
    let container = "fake-default-db-1";
    let has = |aliases: &Option<Vec<String>>, name: &str| {
        aliases
            .as_ref()
            .is_some_and(|a| a.iter().any(|x| x == name))
    };
    eventually("db-1 ready and behind the client Service", || async {
        let a = aliases_of(&engine, container);
        has(&a, "db.default.svc.cluster.local") && has(&a, "db-headless.default.svc")
    })
    .await;
    assert!(has(
        &aliases_of(&engine, container),
        "db-1.db-headless.default.svc.cluster.local"
    ));

    // A frozen pod is not Ready: the client Service stops resolving to it,
    // the headless names (publishNotReadyAddresses) keep resolving.
    if let Some((_, st)) = engine.lock().containers.get_mut(container) {
        st.paused = true;
    }
    eventually("db-1 out of the client Service", || async {
        let a = aliases_of(&engine, container);
        !has(&a, "db.default.svc.cluster.local")
            && !has(&a, "db.default")
            && has(&a, "db-headless.default.svc.cluster.local")
            && has(&a, "db-1.db-headless.default.svc.cluster.local")
    })
    .await;
    let p1 = pods.get("db-1").await.expect("db-1");
    assert!(p1
        .status
        .and_then(|s| s.container_statuses)
        .is_some_and(|c| !c[0].ready));
    assert!(has(
        &aliases_of(&engine, "fake-default-db-0"),
        "db.default.svc.cluster.local"
    ));

    // A container disconnected from the network (a partition) is left
    // alone; reconnected without aliases, it gets them back.
    {
        let mut state = engine.lock();
        if let Some((_, st)) = state.containers.get_mut(container) {
            st.paused = false;
            st.aliases = None;
        }
    }
    let changes = engine.lock().alias_changes;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(aliases_of(&engine, container), None);
    assert_eq!(
        engine.lock().alias_changes,
        changes,
        "no reconnect by the runner"
    );
    if let Some((_, st)) = engine.lock().containers.get_mut(container) {
        st.aliases = Some(Vec::new());
    }
    eventually("db-1 aliases restored", || async {
        let a = aliases_of(&engine, container);
        has(&a, "db.default.svc.cluster.local") && has(&a, "db-1.db-headless.default")
    })
    .await;
    runner.stop(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_that_do_not_restart_complete() {
    let env = Env::start().await;
    let engine = FakeBackend::default();
    engine.lock().missing_images.push("missing:1".into());
    let runner = fake_runner(&env, &engine);
    let client = env.client().await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pp = PatchParams::apply("test").force();
    let pod = |name: &str, policy: &str, image: &str| {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
               "spec": {"restartPolicy": policy, "containers": [{"name": "c", "image": image}]}})
    };
    for (name, policy, image) in [
        ("never-ok", "Never", "job:1"),
        ("never-fail", "Never", "job:1"),
        ("onfailure-ok", "OnFailure", "job:1"),
        ("onfailure-fail", "OnFailure", "job:1"),
        ("no-image", "Always", "missing:1"),
    ] {
        pods.patch(name, &pp, &Patch::Apply(pod(name, policy, image)))
            .await
            .expect("pod");
    }
    eventually("job containers started", || async {
        engine.lock().containers.len() == 4
    })
    .await;
    {
        let mut state = engine.lock();
        for (name, code) in [
            ("never-ok", 0),
            ("never-fail", 3),
            ("onfailure-ok", 0),
            ("onfailure-fail", 1),
        ] {
            if let Some((_, st)) = state.containers.get_mut(&format!("fake-default-{name}")) {
                st.running = false;
                st.exit_code = Some(code);
            }
        }
    }
    let phase = |p: &Pod| p.status.as_ref().and_then(|s| s.phase.clone());
    for (name, want) in [
        ("never-ok", "Succeeded"),
        ("never-fail", "Failed"),
        ("onfailure-ok", "Succeeded"),
    ] {
        eventually(&format!("{name} {want}"), || async {
            pods.get(name).await.ok().and_then(|p| phase(&p)).as_deref() == Some(want)
        })
        .await;
    }
    let failed = pods.get("never-fail").await.expect("never-fail");
    let cs = failed
        .status
        .and_then(|s| s.container_statuses)
        .expect("container statuses");
    let terminated = cs[0]
        .state
        .as_ref()
        .and_then(|s| s.terminated.clone())
        .expect("terminated state");
    assert_eq!(terminated.exit_code, 3);
    assert_eq!(cs[0].restart_count, 0);
    eventually("onfailure-fail restarted", || async {
        pods.get("onfailure-fail")
            .await
            .ok()
            .and_then(|p| p.status)
            .and_then(|s| s.container_statuses)
            .is_some_and(|c| c[0].restart_count == 1)
    })
    .await;

    // A missing image reads as a failed pull, then as its back-off.
    let waiting = |p: Pod| {
        p.status
            .and_then(|s| s.container_statuses)
            .and_then(|c| c[0].state.clone())
            .and_then(|s| s.waiting)
    };
    let first = waiting(pods.get("no-image").await.expect("no-image")).expect("waiting");
    assert_eq!(first.reason.as_deref(), Some("ErrImagePull"));
    assert!(
        first
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("missing:1"),
        "{first:?}"
    );
    eventually("ImagePullBackOff", || async {
        pods.get("no-image")
            .await
            .ok()
            .and_then(waiting)
            .and_then(|w| w.reason)
            .as_deref()
            == Some("ImagePullBackOff")
    })
    .await;
    assert_eq!(
        phase(&pods.get("no-image").await.expect("no-image")).as_deref(),
        Some("Pending")
    );
    runner.stop(true);
}
