//! The real kubectl (>= 1.34) against the emulator: namespaces, CRDs,
//! custom objects with printer columns, validation, patches, the scale and
//! status subresources, client-side apply of built-in kinds, finalizers and
//! cascading deletion.

use chronik_testkit::localkube::Env;
use std::path::PathBuf;

const WIDGET: &str = "apiVersion: example.com/v1
kind: Widget
metadata:
  name: w1
spec:
  image: app:1
  replicas: 3
";

async fn setup() -> Env {
    let env = Env::start().await;
    env.apply(
        "default",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: t1\n",
    )
    .await;
    let crd = data("widget-crd.yaml");
    env.ok(&["apply", "-f", crd.to_str().unwrap_or_default()])
        .await;
    env.ok(&[
        "wait",
        "--for",
        "condition=Established",
        "crd/widgets.example.com",
        "--timeout=10s",
    ])
    .await;
    env
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_objects_through_kubectl() {
    let env = setup().await;
    assert!(env.ok(&["api-resources"]).await.contains("widgets"));
    env.apply("t1", WIDGET).await;
    let explain = env.ok(&["explain", "widgets.spec.replicas"]).await;
    assert!(explain.contains("integer"), "{explain}");

    // Printer columns: the priority-1 column only with -o wide; defaults applied.
    let plain = env.ok(&["get", "wd", "-n", "t1"]).await;
    assert!(
        plain.contains("REPLICAS") && !plain.contains("IMAGE"),
        "{plain}"
    );
    let wide = env.ok(&["get", "widgets", "-n", "t1", "-o", "wide"]).await;
    assert!(wide.contains("IMAGE") && wide.contains("app:1"), "{wide}");
    let size = env
        .ok(&["get", "wd", "w1", "-n", "t1", "-o", "jsonpath={.spec.size}"])
        .await;
    assert_eq!(size, "1Gi");

    // Schema and CEL validation.
    let err = env
        .apply_fails("t1", &WIDGET.replace("replicas: 3", "replicas: 2"))
        .await;
    assert!(err.contains("replicas must be odd"), "{err}");
    let err = env
        .fails(&[
            "patch",
            "wd",
            "w1",
            "-n",
            "t1",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"size":"2Gi"}}"#,
        ])
        .await;
    assert!(err.contains("size is immutable"), "{err}");
    let err = env
        .apply_fails("t1", &WIDGET.replace("image: app:1", "bogus: 1"))
        .await;
    assert!(err.contains("spec.image") || err.contains("bogus"), "{err}");

    // Patches bump generation on spec changes only.
    env.ok(&[
        "patch",
        "wd",
        "w1",
        "-n",
        "t1",
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"image":"app:2"}}"#,
    ])
    .await;
    env.ok(&[
        "patch",
        "wd",
        "w1",
        "-n",
        "t1",
        "--type",
        "json",
        "-p",
        r#"[{"op":"replace","path":"/spec/replicas","value":5}]"#,
    ])
    .await;
    env.ok(&["label", "wd", "w1", "-n", "t1", "tier=gold"])
        .await;
    let gen = env
        .ok(&[
            "get",
            "wd",
            "w1",
            "-n",
            "t1",
            "-o",
            "jsonpath={.metadata.generation}",
        ])
        .await;
    assert_eq!(gen, "3");

    // Scale subresource.
    env.ok(&["scale", "wd", "w1", "-n", "t1", "--replicas=7"])
        .await;
    let r = env
        .ok(&[
            "get",
            "wd",
            "w1",
            "-n",
            "t1",
            "-o",
            "jsonpath={.spec.replicas}",
        ])
        .await;
    assert_eq!(r, "7");
    assert!(
        !env.kubectl(&["scale", "wd", "w1", "-n", "t1", "--replicas=4"])
            .await
            .ok
    );

    // Status subresource: status writes do not bump generation, spec in them is ignored.
    env.ok(&[
        "patch",
        "wd",
        "w1",
        "-n",
        "t1",
        "--subresource=status",
        "--type",
        "merge",
        "-p",
        r#"{"status":{"replicas":7,"readyReplicas":6},"spec":{"image":"ignored"}}"#,
    ])
    .await;
    let row = env
        .ok(&["get", "wd", "w1", "-n", "t1", "--no-headers"])
        .await;
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(&cells[..3], ["w1", "7", "6"], "{row}");
    let out = env
        .ok(&[
            "get",
            "wd",
            "w1",
            "-n",
            "t1",
            "-o",
            "jsonpath={.metadata.generation} {.spec.image}",
        ])
        .await;
    assert_eq!(out, "4 app:2");

    // Cascading deletion through ownerReferences, and kubectl's wait-for-delete.
    let uid = env
        .ok(&[
            "get",
            "wd",
            "w1",
            "-n",
            "t1",
            "-o",
            "jsonpath={.metadata.uid}",
        ])
        .await;
    let owned = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: w1-config\n  ownerReferences:\n  - {{apiVersion: example.com/v1, kind: Widget, name: w1, uid: {uid}}}\ndata: {{a: b}}\n"
    );
    env.apply("t1", &owned).await;
    env.ok(&[
        "delete",
        "wd",
        "w1",
        "-n",
        "t1",
        "--wait=true",
        "--timeout=10s",
    ])
    .await;
    let cms = env.ok(&["get", "cm", "-n", "t1", "-o", "name"]).await;
    assert!(!cms.contains("w1-config"), "{cms}");

    // Deleting a namespace removes what is in it.
    env.apply("t1", &WIDGET.replace("name: w1", "name: w2"))
        .await;
    env.ok(&["delete", "ns", "t1", "--timeout=10s"]).await;
    assert!(!env.kubectl(&["get", "wd", "w2", "-n", "t1"]).await.ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finalizers_hold_deletion() {
    let env = setup().await;
    env.apply(
        "t1",
        &WIDGET.replace(
            "metadata:\n",
            "metadata:\n  finalizers: [example.com/hold]\n",
        ),
    )
    .await;
    env.ok(&["delete", "wd", "w1", "-n", "t1", "--wait=false"])
        .await;
    let ts = env
        .ok(&[
            "get",
            "wd",
            "w1",
            "-n",
            "t1",
            "-o",
            "jsonpath={.metadata.deletionTimestamp}",
        ])
        .await;
    assert!(
        !ts.is_empty(),
        "deletionTimestamp set while the finalizer holds it"
    );
    env.ok(&[
        "patch",
        "wd",
        "w1",
        "-n",
        "t1",
        "--type",
        "merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ])
    .await;
    let err = env.fails(&["get", "wd", "w1", "-n", "t1"]).await;
    assert!(
        err.contains("NotFound") || err.contains("not found"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_side_apply_of_builtin_kinds() {
    let env = setup().await;
    let sts = "apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: web
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: main
        image: img:1
        env: [{name: A, value: '1'}, {name: B, value: '2'}]
      - name: side
        image: side:1
";
    env.apply("t1", sts).await;
    // Second apply: one container removed, one env var replaced, image changed.
    let changed = sts
        .replace("img:1", "img:2")
        .replace("{name: B, value: '2'}", "{name: C, value: '3'}")
        .replace("      - name: side\n        image: side:1\n", "");
    env.apply("t1", &changed).await;
    let containers = env
        .ok(&["get", "sts", "web", "-n", "t1", "-o", "jsonpath={.spec.template.spec.containers[*].name} {.spec.template.spec.containers[0].env[*].name} {.spec.template.spec.containers[0].image}"])
        .await;
    assert_eq!(containers, "main A C img:2");
    env.ok(&["scale", "sts", "web", "-n", "t1", "--replicas=3"])
        .await;
    let out = env
        .ok(&[
            "get",
            "sts",
            "web",
            "-n",
            "t1",
            "-o",
            "jsonpath={.spec.replicas} {.metadata.generation}",
        ])
        .await;
    assert_eq!(out, "3 3");
    // Server-side apply from kubectl, then a no-op re-apply.
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata: {a: '1'}\n";
    let r = env
        .kubectl_in(&["apply", "--server-side", "-n", "t1", "-f", "-"], Some(cm))
        .await;
    assert!(r.ok, "{}", r.stderr);
    let rv1 = env
        .ok(&[
            "get",
            "cm",
            "ssa",
            "-n",
            "t1",
            "-o",
            "jsonpath={.metadata.resourceVersion}",
        ])
        .await;
    let r = env
        .kubectl_in(&["apply", "--server-side", "-n", "t1", "-f", "-"], Some(cm))
        .await;
    assert!(r.ok, "{}", r.stderr);
    let rv2 = env
        .ok(&[
            "get",
            "cm",
            "ssa",
            "-n",
            "t1",
            "-o",
            "jsonpath={.metadata.resourceVersion}",
        ])
        .await;
    assert_eq!(rv1, rv2);
    // Table output of built-ins.
    let svc = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  clusterIP: None\n  ports: [{port: 80}]\n";
    env.apply("t1", svc).await;
    let out = env.ok(&["get", "svc,sts,cm", "-n", "t1"]).await;
    assert!(
        out.contains("CLUSTER-IP") && out.contains("None") && out.contains("statefulset.apps/web"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_crds_are_served() {
    // The operator's generated CRDs, when present in this checkout.
    let dir = chronik_testkit::workspace::root().join("crds");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("no {} in this checkout; skipped", dir.display());
        return;
    };
    let env = Env::start().await;
    for e in entries.flatten() {
        let path = e.path();
        if path.extension().is_some_and(|x| x == "yaml") {
            env.ok(&["apply", "-f", path.to_str().unwrap_or_default()])
                .await;
        }
    }
    let out = env.ok(&["get", "crd"]).await;
    assert!(out.contains("chronik"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_kubectl_commands_and_helm() {
    // kubectl's typed clients send protobuf for these kinds.
    let env = Env::start().await;
    env.ok(&["create", "namespace", "apps"]).await;
    env.ok(&[
        "create",
        "configmap",
        "c1",
        "-n",
        "apps",
        "--from-literal=a=b",
    ])
    .await;
    env.ok(&[
        "create",
        "secret",
        "generic",
        "s1",
        "-n",
        "apps",
        "--from-literal=p=q",
    ])
    .await;
    env.ok(&["create", "serviceaccount", "sa1", "-n", "apps"])
        .await;
    let data = env
        .ok(&["get", "cm", "c1", "-n", "apps", "-o", "jsonpath={.data.a}"])
        .await;
    assert_eq!(data, "b");
    let secret = env
        .ok(&[
            "get",
            "secret",
            "s1",
            "-n",
            "apps",
            "-o",
            "jsonpath={.type} {.data.p}",
        ])
        .await;
    assert_eq!(secret, "Opaque cQ==");

    // helm stores releases in Secrets (protobuf) and applies the rendered objects.
    let chart = data_path("testchart");
    env.helm(&["install", "rel", &chart, "-n", "apps"]).await;
    env.helm(&[
        "upgrade",
        "rel",
        &chart,
        "-n",
        "apps",
        "--set",
        "replicas=3",
    ])
    .await;
    let replicas = env
        .ok(&[
            "get",
            "deploy",
            "rel",
            "-n",
            "apps",
            "-o",
            "jsonpath={.spec.replicas}",
        ])
        .await;
    assert_eq!(replicas, "3");
    assert!(env.helm(&["list", "-n", "apps"]).await.contains("rel"));
    env.helm(&["uninstall", "rel", "-n", "apps"]).await;
    assert!(
        !env.kubectl(&["get", "deploy", "rel", "-n", "apps"])
            .await
            .ok
    );
}

fn data_path(name: &str) -> String {
    data(name).to_string_lossy().into_owned()
}

/// A file of `tests/data`.
fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}
