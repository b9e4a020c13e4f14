//! The workload runner with real podman containers: a FROM-scratch image of
//! the statically linked `chronik-localkube` serves HTTP probes; pods reach
//! each other by cluster DNS names; a killed container restarts; scale down
//! removes containers.
//!
//! Ignored by default (it needs podman, runc and a static binary). Run:
//! ```sh
//! RUSTFLAGS="-C target-feature=+crt-static" cargo build --release \
//!     --target x86_64-unknown-linux-gnu -p chronik-localkube --bin chronik-localkube
//! cargo test -p chronik-localkube --test podman -- --ignored
//! ```

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chronik_localkube::runner::podman::Podman;
use chronik_localkube::runner::{Runner, RunnerConfig};
use chronik_testkit::localkube::Env;
use chronik_testkit::workspace::root as workspace_root;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

const IMAGE: &str = "localhost/chronik-localkube-probe:test";

fn conf() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("containers.conf")
}

fn podman(args: &[&str]) -> std::process::Output {
    Command::new("podman")
        .args(args)
        .env("CONTAINERS_CONF", conf())
        .output()
        .expect("podman runs")
}

fn build_image(dir: &std::path::Path) {
    let bin = workspace_root().join("target/x86_64-unknown-linux-gnu/release/chronik-localkube");
    assert!(
        bin.is_file(),
        "build the static binary first (see this file's header): {}",
        bin.display()
    );
    std::fs::copy(&bin, dir.join("chronik-localkube")).expect("copy binary");
    std::fs::write(
        dir.join("Containerfile"),
        "FROM scratch\nCOPY chronik-localkube /chronik-localkube\nUSER 65532\nENTRYPOINT [\"/chronik-localkube\"]\n",
    )
    .expect("write Containerfile");
    let out = podman(&["build", "-q", "-t", IMAGE, dir.to_str().unwrap_or_default()]);
    assert!(
        out.status.success(),
        "podman build: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs podman and the static chronik-localkube binary"]
async fn pods_run_in_podman() {
    let env = Env::start().await;
    build_image(env.dir.path());
    let prefix = format!("lkt{}", &uuid::Uuid::new_v4().simple().to_string()[..6]);
    let engine = Podman::new(&prefix, Some(&conf())).expect("podman network");
    // The API server also listens on the network's gateway (once the bridge
    // exists, i.e. after the first container started), for in-pod clients.
    let gateway: std::net::IpAddr = engine
        .gateway()
        .expect("gateway")
        .parse()
        .expect("gateway address");
    let gw_addr = std::net::SocketAddr::new(gateway, env.server.addr.port());
    let pod_kubeconfig = env.dir.path().join("pod-kubeconfig");
    std::fs::write(
        &pod_kubeconfig,
        chronik_localkube::kubeconfig(&format!("http://{gw_addr}")),
    )
    .expect("pod kubeconfig");
    let runner = Runner::new(
        env.server.state.clone(),
        Arc::new(engine.clone()),
        RunnerConfig {
            interval: Duration::from_millis(300),
            work_dir: env.dir.path().join("runner"),
            pod_kubeconfig: Some(pod_kubeconfig),
            node_ip: None,
        },
    )
    .spawn_serving_logs();
    let client = env.client().await;
    let pp = PatchParams::apply("test").force();
    let svc: Service = serde_json::from_value(json!({"metadata": {"name": "web-h"},
        "spec": {"clusterIP": "None", "publishNotReadyAddresses": true, "selector": {"app": "web"}, "ports": [{"port": 8080}]}}))
    .expect("service");
    Api::<Service>::namespaced(client.clone(), "default")
        .patch("web-h", &pp, &Patch::Apply(&svc))
        .await
        .expect("svc");
    let probe = json!({"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 1, "failureThreshold": 3});
    let sts = json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web"},
        "spec": {"serviceName": "web-h", "replicas": 2, "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{
                "name": "web", "image": IMAGE, "args": ["--listen", "0.0.0.0:8080", "--kubeconfig", "/data/$(POD_NAME).kubeconfig"],
                "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                "ports": [{"name": "http", "containerPort": 8080}],
                "readinessProbe": probe, "livenessProbe": probe,
                "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
                "securityContext": {"runAsUser": 0}}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"resources": {"requests": {"storage": "1Gi"}}}}]}});
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    sets.patch("web", &pp, &Patch::Apply(&sts))
        .await
        .expect("sts");
    eventually("2 ready pods", || async {
        sets.get("web")
            .await
            .ok()
            .and_then(|s| s.status)
            .and_then(|s| s.ready_replicas)
            == Some(2)
    })
    .await;

    // Pod-to-pod by the headless DNS name, and the Service name, from the pod network.
    for url in [
        "http://web-1.web-h.default.svc.cluster.local:8080/readyz",
        "http://web-h.default.svc.cluster.local:8080/healthz",
    ] {
        let out = podman(&[
            "run",
            "--rm",
            "--network",
            engine.network(),
            IMAGE,
            "check-url",
            url,
        ]);
        assert!(
            out.status.success(),
            "{url}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Pods reach the API server through the gateway listener.
    let inner =
        chronik_localkube::apiserver::server::start_with_state(gw_addr, env.server.state.clone())
            .await
            .expect("gateway listener");
    let api = format!("{}/version", inner.url());
    let out = podman(&[
        "run",
        "--rm",
        "--network",
        engine.network(),
        IMAGE,
        "check-url",
        &api,
    ]);
    assert!(
        out.status.success(),
        "{api}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let env_out = podman(&[
        "inspect",
        "--format",
        "{{.Config.Env}}",
        &format!("{prefix}-default-web-0"),
    ]);
    assert!(String::from_utf8_lossy(&env_out.stdout)
        .contains("KUBECONFIG=/var/run/chronik-localkube/kubeconfig"));

    // The expanded argument wrote a kubeconfig on the claim's volume.
    let name0 = format!("{prefix}-default-web-0");
    let ls = podman(&["volume", "inspect", &format!("{prefix}-default-data-web-0")]);
    assert!(ls.status.success(), "volume exists");

    // kubectl logs reads the container's output.
    let logs = env.ok(&["logs", "web-1", "--tail=20"]).await;
    assert!(logs.contains("listening"), "{logs}");

    // A killed container is restarted.
    assert!(podman(&["kill", &name0]).status.success());
    eventually("web-0 restarted and ready", || async {
        pods.get("web-0")
            .await
            .ok()
            .and_then(|p| p.status)
            .and_then(|s| s.container_statuses)
            .is_some_and(|c| c[0].restart_count >= 1 && c[0].ready)
    })
    .await;

    // Scale down removes the highest ordinal's container.
    sets.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 1}})),
    )
    .await
    .expect("scale");
    eventually("web-1 container gone", || async {
        !String::from_utf8_lossy(&podman(&["ps", "-a", "--format", "{{.Names}}"]).stdout)
            .contains(&format!("{prefix}-default-web-1"))
    })
    .await;
    tokio::task::spawn_blocking(move || {
        runner.stop(true);
        let _ = engine.remove_network();
    })
    .await
    .expect("cleanup");
    inner.shutdown().await;
}
