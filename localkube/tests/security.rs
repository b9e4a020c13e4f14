//! What the operator's security features need from the local cluster:
//! NetworkPolicy objects through the real kubectl, node ports allocated and
//! checked like the API server does, and (with podman) projected Secret and
//! ConfigMap volumes inside a running container that follow updates of their
//! objects, and a pod reached from the host through its NodePort and load
//! balancer address.
//!
//! The podman tests run a FROM-scratch image of this crate's statically
//! linked binary (built with `-C target-feature=+crt-static`, as `cargo
//! xtask test` does). Without podman or a static binary they print why they
//! are skipped, except under CI (`CI=true`), where they fail.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chronik_localkube::runner::podman::Podman;
use chronik_localkube::runner::{Runner, RunnerConfig, RunnerHandle};
use chronik_testkit::localkube::Env;
use serde_json::Value;

const NETPOL: &str = "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: demo-brokers
spec:
  podSelector:
    matchLabels: {app: chronik}
  policyTypes: [Ingress]
  ingress:
  - from:
    - podSelector:
        matchLabels: {app: chronik}
    ports:
    - {port: 7000, protocol: TCP}
  - ports:
    - {port: 9092}
";

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_policy_round_trips_through_kubectl() {
    let env = Env::start().await;
    let resources = env
        .ok(&["api-resources", "--api-group=networking.k8s.io"])
        .await;
    assert!(
        resources.contains("networkpolicies") && resources.contains("netpol"),
        "{resources}"
    );
    env.apply("default", NETPOL).await;
    // Applying it again changes nothing.
    assert!(env.apply("default", NETPOL).await.contains("unchanged"));
    let got = json(
        &env.ok(&["get", "netpol", "demo-brokers", "-o", "json"])
            .await,
    );
    assert_eq!(got["apiVersion"], "networking.k8s.io/v1");
    assert_eq!(got["spec"]["ingress"][0]["ports"][0]["port"], 7000);
    assert_eq!(got["spec"]["podSelector"]["matchLabels"]["app"], "chronik");
    let table = env.ok(&["get", "networkpolicies"]).await;
    assert!(
        table.contains("POD-SELECTOR") && table.contains("app=chronik"),
        "{table}"
    );
    env.ok(&["delete", "netpol", "demo-brokers"]).await;
    assert!(env
        .ok(&["get", "netpol", "-o", "name"])
        .await
        .trim()
        .is_empty());
}

fn service(name: &str, ty: &str, node_port: Option<u64>) -> String {
    let np = node_port
        .map(|n| format!(", nodePort: {n}"))
        .unwrap_or_default();
    format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  type: {ty}\n  selector: {{app: x}}\n  ports:\n  - {{name: kafka, port: 9094{np}}}\n"
    )
}

async fn node_port(env: &Env, name: &str) -> u64 {
    let svc = json(&env.ok(&["get", "svc", name, "-o", "json"]).await);
    svc["spec"]["ports"][0]["nodePort"]
        .as_u64()
        .unwrap_or_else(|| panic!("no nodePort: {svc}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_ports_are_allocated_kept_and_checked() {
    let env = Env::start().await;
    env.apply("default", &service("b-0", "NodePort", None))
        .await;
    let first = node_port(&env, "b-0").await;
    assert!((30000..=32767).contains(&first), "{first}");
    // Re-applied (client-side and server-side), merge-patched without the
    // nodePort: the port stays.
    env.apply("default", &service("b-0", "NodePort", None))
        .await;
    let r = env
        .kubectl_in(
            &["apply", "--server-side", "--field-manager=op", "-f", "-"],
            Some(&service("b-0", "NodePort", None)),
        )
        .await;
    assert!(r.ok, "{}", r.stderr);
    env.ok(&[
        "patch",
        "svc",
        "b-0",
        "--type=merge",
        "-p",
        r#"{"spec":{"ports":[{"name":"kafka","port":9094,"targetPort":9095}]}}"#,
    ])
    .await;
    assert_eq!(node_port(&env, "b-0").await, first);
    // A requested port taken by another Service, or out of range, is refused.
    let err = env
        .apply_fails("default", &service("b-1", "NodePort", Some(first)))
        .await;
    assert!(
        err.contains(&format!(
            "spec.ports[0].nodePort: Invalid value: {first}: provided port is already allocated"
        )),
        "{err}"
    );
    let err = env
        .apply_fails("default", &service("b-1", "NodePort", Some(40000)))
        .await;
    assert!(
        err.contains(
            "provided port is not in the valid range. The range of valid ports is 30000-32767"
        ),
        "{err}"
    );
    let err = env
        .apply_fails("default", &service("plain", "ClusterIP", Some(31999)))
        .await;
    assert!(
        err.contains("may not be used when `type` is 'ClusterIP'"),
        "{err}"
    );
    // A requested free port is granted.
    let wanted = if first == 32000 { 32001 } else { 32000 };
    env.apply("default", &service("b-1", "NodePort", Some(wanted)))
        .await;
    assert_eq!(node_port(&env, "b-1").await, wanted);
    // LoadBalancer Services get a node port and each its own loopback address.
    env.apply("default", &service("lb-0", "LoadBalancer", None))
        .await;
    env.apply("default", &service("lb-1", "LoadBalancer", None))
        .await;
    let mut ips = Vec::new();
    for name in ["lb-0", "lb-1"] {
        let svc = json(&env.ok(&["get", "svc", name, "-o", "json"]).await);
        let ip = svc["status"]["loadBalancer"]["ingress"][0]["ip"]
            .as_str()
            .map(str::to_string);
        let ip = ip.unwrap_or_else(|| panic!("no ingress: {svc}"));
        assert!(
            ip.starts_with("127.0.") && !ip.starts_with("127.0.0."),
            "{ip}"
        );
        assert!(node_port(&env, name).await != first);
        ips.push(ip);
    }
    assert_ne!(ips[0], ips[1]);
    let table = env.ok(&["get", "svc", "lb-0"]).await;
    assert!(
        table.contains(&ips[0]) && table.contains("9094:"),
        "{table}"
    );
    // Back to ClusterIP: the node port is released and can be taken.
    env.ok(&[
        "patch",
        "svc",
        "b-0",
        "--type=merge",
        "-p",
        r#"{"spec":{"type":"ClusterIP"}}"#,
    ])
    .await;
    let svc = json(&env.ok(&["get", "svc", "b-0", "-o", "json"]).await);
    assert!(svc["spec"]["ports"][0].get("nodePort").is_none(), "{svc}");
    env.apply("default", &service("b-2", "NodePort", Some(first)))
        .await;
}

// ---- podman ----------------------------------------------------------------

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

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_chronik-localkube"))
}

/// Why the podman tests cannot run here, if they cannot.
fn unavailable() -> Option<String> {
    match Command::new("podman")
        .arg("info")
        .env("CONTAINERS_CONF", conf())
        .output()
    {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            return Some(format!(
                "podman info failed: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            ))
        }
        Err(e) => return Some(format!("cannot run podman: {e}")),
    }
    let bin = std::fs::read(binary()).unwrap_or_default();
    let head = &bin[..bin.len().min(8192)];
    if head.windows(10).any(|w| w == b"/lib64/ld-") {
        return Some(format!(
            "{} is dynamically linked (build with RUSTFLAGS=\"-C target-feature=+crt-static\")",
            binary().display()
        ));
    }
    None
}

fn podman_required(what: &str) -> bool {
    let Some(why) = unavailable() else {
        return true;
    };
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{what} needs podman and a static binary, and CI must run it: {why}"
    );
    eprintln!("SKIPPED: {what}: {why}");
    false
}

/// An emulator with a podman runner, a network of its own and an image of
/// this crate's binary.
struct Lab {
    env: Env,
    engine: Podman,
    runner: Option<RunnerHandle>,
    prefix: String,
    image: String,
    gateway: std::net::Ipv4Addr,
}

impl Lab {
    async fn start() -> Lab {
        let env = Env::start().await;
        let prefix = format!("lks{}", &uuid::Uuid::new_v4().simple().to_string()[..6]);
        let image = format!("localhost/chronik-localkube-{prefix}:test");
        build_image(env.dir.path(), &image);
        let engine = Podman::new(&prefix, Some(&conf())).expect("podman network");
        let gateway = engine
            .gateway()
            .expect("gateway")
            .parse()
            .expect("IPv4 gateway");
        let runner = Runner::new(
            env.server.state.clone(),
            Arc::new(engine.clone()),
            RunnerConfig {
                interval: Duration::from_millis(300),
                work_dir: env.dir.path().join("runner"),
                pod_kubeconfig: None,
                node_ip: Some(gateway),
            },
        )
        .spawn();
        Lab {
            env,
            engine,
            runner: Some(runner),
            prefix,
            image,
            gateway,
        }
    }

    fn container(&self, pod: &str) -> String {
        format!("{}-default-{pod}", self.prefix)
    }

    /// A pod serving the emulator's HTTP API on 8080 (Ready once it answers).
    fn pod_yaml(&self, name: &str, volumes: &str, mounts: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  labels: {{app: {name}}}\nspec:\n  securityContext: {{runAsUser: 0}}\n  containers:\n  - name: web\n    image: {}\n    args: [--listen, 0.0.0.0:8080]\n    ports: [{{name: http, containerPort: 8080}}]\n    env:\n    - name: HOST_IP\n      valueFrom: {{fieldRef: {{fieldPath: status.hostIP}}}}\n    readinessProbe: {{httpGet: {{path: /readyz, port: http}}}}\n    volumeMounts: {mounts}\n  volumes: {volumes}\n",
            self.image
        )
    }

    async fn wait_ready(&self, pod: &str) {
        eventually(&format!("{pod} Ready"), || async {
            let r = self
                .env
                .kubectl(&[
                    "get",
                    "pod",
                    pod,
                    "-o",
                    "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
                ])
                .await;
            r.stdout.trim() == "True"
        })
        .await;
    }

    /// A file as a process inside the pod's running container reads it.
    fn read_in(&self, pod: &str, path: &str) -> String {
        let out = podman(&[
            "exec",
            &self.container(pod),
            "/chronik-localkube",
            "cat",
            path,
        ]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    async fn stop(mut self) {
        let runner = self.runner.take();
        let (engine, image) = (self.engine.clone(), self.image.clone());
        tokio::task::spawn_blocking(move || {
            if let Some(r) = runner {
                r.stop(true);
            }
            let _ = engine.remove_network();
            let _ = podman(&["rmi", "-f", &image]);
        })
        .await
        .expect("cleanup");
    }
}

fn build_image(dir: &Path, image: &str) {
    std::fs::copy(binary(), dir.join("chronik-localkube")).expect("copy binary");
    std::fs::write(
        dir.join("Containerfile"),
        "FROM scratch\nCOPY chronik-localkube /chronik-localkube\nENTRYPOINT [\"/chronik-localkube\"]\n",
    )
    .expect("write Containerfile");
    let out = podman(&["build", "-q", "-t", image, dir.to_str().unwrap_or_default()]);
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
    while start.elapsed() < Duration::from_secs(40) {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    panic!("timed out waiting for {what}");
}

const TLS_OBJECTS: &str = "apiVersion: v1
kind: Secret
metadata: {name: brokers}
stringData: {web.crt: cert-one, web.key: key-one, other.crt: not-mounted}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ca}
data: {ca.crt: ca-one}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: advertised}
data: {listeners: 0 external 127.0.0.1:31000}
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projected_volumes_follow_their_objects_in_a_running_container() {
    if !podman_required("projected volumes in podman") {
        return;
    }
    let lab = Lab::start().await;
    lab.env.apply("default", TLS_OBJECTS).await;
    let volumes = "[{name: tls, projected: {sources: [\
        {secret: {name: brokers, items: [{key: web.crt, path: web.crt}, {key: web.key, path: keys/web.key}]}},\
        {configMap: {name: ca, items: [{key: ca.crt, path: ca.crt}]}},\
        {secret: {name: absent, optional: true}}]}},\
        {name: adv, configMap: {name: advertised}}]";
    let mounts = "[{name: tls, mountPath: /tls, readOnly: true}, {name: adv, mountPath: /adv}]";
    lab.env
        .apply("default", &lab.pod_yaml("web", volumes, mounts))
        .await;
    lab.wait_ready("web").await;
    assert_eq!(lab.read_in("web", "/tls/web.crt"), "cert-one");
    assert_eq!(lab.read_in("web", "/tls/keys/web.key"), "key-one");
    assert_eq!(lab.read_in("web", "/tls/ca.crt"), "ca-one");
    assert_eq!(
        lab.read_in("web", "/tls/other.crt"),
        "",
        "keys not in items are not mounted"
    );
    assert_eq!(
        lab.read_in("web", "/adv/listeners"),
        "0 external 127.0.0.1:31000"
    );
    let started = lab
        .env
        .ok(&[
            "get",
            "pod",
            "web",
            "-o",
            "jsonpath={.status.containerStatuses[0].restartCount}",
        ])
        .await;
    // Certificate renewal and a new advertised address reach the running container.
    lab.env
        .ok(&[
            "patch",
            "secret",
            "brokers",
            "-p",
            r#"{"stringData":{"web.crt":"cert-two"}}"#,
        ])
        .await;
    lab.env
        .ok(&[
            "patch",
            "configmap",
            "advertised",
            "-p",
            r#"{"data":{"listeners":"0 external 10.0.0.1:31000"}}"#,
        ])
        .await;
    eventually("the renewed certificate in the container", || async {
        lab.read_in("web", "/tls/web.crt") == "cert-two"
    })
    .await;
    eventually("the new address in the container", || async {
        lab.read_in("web", "/adv/listeners") == "0 external 10.0.0.1:31000"
    })
    .await;
    assert_eq!(lab.read_in("web", "/tls/ca.crt"), "ca-one");
    let now = lab
        .env
        .ok(&[
            "get",
            "pod",
            "web",
            "-o",
            "jsonpath={.status.containerStatuses[0].restartCount}",
        ])
        .await;
    assert_eq!(started, now, "the container was not restarted");
    // A pod whose Secret does not exist waits for it, then starts.
    let volumes = "[{name: tls, projected: {sources: [{secret: {name: later}}]}}]";
    lab.env
        .apply(
            "default",
            &lab.pod_yaml("late", volumes, "[{name: tls, mountPath: /tls}]"),
        )
        .await;
    eventually("late waiting for its Secret", || async {
        let r = lab
            .env
            .kubectl(&[
                "get",
                "pod",
                "late",
                "-o",
                "jsonpath={.status.containerStatuses[0].state.waiting.message}",
            ])
            .await;
        r.stdout.contains("secret \"later\" not found")
    })
    .await;
    lab.env
        .ok(&[
            "create",
            "secret",
            "generic",
            "later",
            "--from-literal=tls.crt=late-cert",
        ])
        .await;
    lab.wait_ready("late").await;
    assert_eq!(lab.read_in("late", "/tls/tls.crt"), "late-cert");
    lab.stop().await;
}

async fn http_get(url: &str) -> Option<String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .ok()?;
    let r = client.get(url).send().await.ok()?;
    if !r.status().is_success() {
        return None;
    }
    r.text().await.ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_is_reached_from_the_host_through_its_node_port() {
    if !podman_required("node ports with podman") {
        return;
    }
    let lab = Lab::start().await;
    // Services first: the pod is unreachable until it is Ready.
    lab.env
        .apply(
            "default",
            "apiVersion: v1\nkind: Service\nmetadata: {name: web-np}\nspec:\n  type: NodePort\n  selector: {app: web}\n  ports: [{port: 80, targetPort: http}]\n---\napiVersion: v1\nkind: Service\nmetadata: {name: web-lb}\nspec:\n  type: LoadBalancer\n  selector: {app: web}\n  ports: [{port: 8080}]\n",
        )
        .await;
    let svc = json(&lab.env.ok(&["get", "svc", "web-np", "-o", "json"]).await);
    let np = svc["spec"]["ports"][0]["nodePort"]
        .as_u64()
        .expect("nodePort");
    let lb = json(&lab.env.ok(&["get", "svc", "web-lb", "-o", "json"]).await);
    let lb_ip = lb["status"]["loadBalancer"]["ingress"][0]["ip"]
        .as_str()
        .expect("lb ip")
        .to_string();
    // A NetworkPolicy is stored, not enforced: it changes nothing here.
    lab.env
        .apply("default", &NETPOL.replace("app: chronik", "app: web"))
        .await;
    lab.env
        .apply("default", &lab.pod_yaml("web", "[]", "[]"))
        .await;
    lab.wait_ready("web").await;
    for url in [
        format!("http://127.0.0.1:{np}/version"),
        format!("http://{}:{np}/version", lab.gateway),
        format!("http://{lb_ip}:8080/version"),
    ] {
        eventually(&url, || async {
            http_get(&url)
                .await
                .is_some_and(|b| b.contains("gitVersion"))
        })
        .await;
    }
    // The downward API's status.hostIP is the node address, which pods reach
    // the node port on too.
    let env = podman(&[
        "inspect",
        "--format",
        "{{.Config.Env}}",
        &lab.container("web"),
    ]);
    let host_ip = format!("HOST_IP={}", lab.gateway);
    assert!(
        String::from_utf8_lossy(&env.stdout).contains(&host_ip),
        "{}",
        String::from_utf8_lossy(&env.stdout)
    );
    let from_pod = format!("http://{}:{np}/version", lab.gateway);
    let out = podman(&[
        "run",
        "--rm",
        "--network",
        lab.engine.network(),
        &lab.image,
        "check-url",
        &from_pod,
    ]);
    assert!(
        out.status.success(),
        "{from_pod} from a pod: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Without a ready endpoint the node port answers nothing.
    lab.env.ok(&["delete", "pod", "web", "--wait=false"]).await;
    let url = format!("http://127.0.0.1:{np}/version");
    eventually("no endpoint behind the node port", || async {
        http_get(&url).await.is_none()
    })
    .await;
    lab.stop().await;
}
