//! Kafka traffic the way in-cluster clients make it: the client image
//! (`chronik-kafka-client`, librdkafka) runs as a Pod in the test namespace
//! against the cluster's client Service; its last stdout line is a JSON
//! summary.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};

use chronik_testkit::kubectl::{wait_for, Kubectl};

/// Seconds the client itself may take for one command.
const CLIENT_TIMEOUT_SECS: u64 = 90;

/// Summary of `chronik-kafka-client produce`.
#[derive(Debug, Deserialize)]
pub struct Produced {
    /// Records acknowledged (acks=all).
    pub acked: u64,
    /// Records that failed.
    pub failed: u64,
    /// Error texts.
    #[serde(default)]
    pub errors: Vec<Value>,
    /// Acknowledged and failed records and the time of the last
    /// acknowledgement, per partition.
    #[serde(default)]
    pub partitions: Value,
}

/// Summary of `chronik-kafka-client consume`.
#[derive(Debug, Deserialize)]
pub struct Consumed {
    /// Records read.
    pub consumed: u64,
    /// Distinct records of this run.
    pub unique: u64,
    /// Records read more than once.
    pub duplicates: u64,
    /// Records out of order within their partition.
    pub out_of_order: u64,
    /// Expected records never read.
    pub missing: u64,
    /// Records of other runs read (the consumer reads each partition at
    /// least up to its end offset at its start).
    #[serde(default)]
    pub other_runs: u64,
}

/// What a client pod did.
#[derive(Debug)]
pub struct Outcome<T> {
    /// The pod ended in phase `Succeeded` (exit code 0).
    pub succeeded: bool,
    /// Its summary line.
    pub summary: T,
    /// Its whole output, for failure messages.
    pub logs: String,
}

/// Runs client pods in one namespace against one cluster.
pub struct KafkaClient<'a> {
    kubectl: &'a Kubectl,
    ns: String,
    image: String,
    bootstrap: String,
    auth: Option<SaslUser>,
}

/// A SCRAM user a client pod authenticates as, over `SASL_SSL`, configured
/// the way an application takes it from the user's Secret.
#[derive(Debug, Clone)]
pub struct SaslUser {
    /// The Kafka user name.
    pub username: String,
    /// The ChronikUser's Secret: `ca.crt` is mounted and used as the CA.
    pub secret: String,
    /// The password: `None` takes the Secret's `password` through a
    /// `secretKeyRef`; `Some` gives this one instead (a wrong password).
    pub password: Option<String>,
}

/// Where a client pod mounts its user's Secret.
const USER_SECRET_DIR: &str = "/etc/chronik-user";

static SEQ: AtomicU32 = AtomicU32::new(0);

impl<'a> KafkaClient<'a> {
    /// A client of ChronikCluster `cluster` (its client Service on port 9092).
    pub fn new(kubectl: &'a Kubectl, ns: &str, image: &str, cluster: &str) -> Self {
        KafkaClient {
            kubectl,
            ns: ns.to_string(),
            image: image.to_string(),
            bootstrap: format!("{cluster}.{ns}.svc.cluster.local:9092"),
            auth: None,
        }
    }

    /// The same client as `user`, over `SASL_SSL` on the client Service's
    /// `port`.
    pub fn as_user(&self, cluster: &str, port: u16, user: SaslUser) -> KafkaClient<'a> {
        KafkaClient {
            kubectl: self.kubectl,
            ns: self.ns.clone(),
            image: self.image.clone(),
            bootstrap: format!("{cluster}.{}.svc.cluster.local:{port}", self.ns),
            auth: Some(user),
        }
    }

    /// Produce like [`KafkaClient::produce`], the client giving up after
    /// `timeout_secs` (for runs expected to fail).
    pub fn produce_within(&self, topic: &str, count: u64, timeout_secs: u64) -> Outcome<Produced> {
        let args = produce_args(topic, count, 3, &[]);
        let pod = self.start_for("produce", &strs(&args), timeout_secs);
        self.finish(pod)
    }

    /// Produce `count` records to `topic` (created with 3 partitions and
    /// `replication` replicas), acks=all, idempotent.
    pub fn produce(&self, topic: &str, count: u64, replication: u32) -> Outcome<Produced> {
        let args = produce_args(topic, count, replication, &[]);
        self.run("produce", &strs(&args))
    }

    /// Read `topic` from the earliest offsets, expecting `expect` records.
    pub fn consume(&self, topic: &str, expect: u64) -> Outcome<Consumed> {
        let expect = expect.to_string();
        // A group named after the topic: a user's ACLs on a prefix cover both.
        let group = format!("{topic}-check");
        self.run(
            "consume",
            &[
                "--topic",
                topic,
                "--expect",
                &expect,
                "--run-id",
                topic,
                "--group-id",
                &group,
            ],
        )
    }

    /// Start producing like [`KafkaClient::produce`] without waiting; the
    /// returned pod is finished with [`KafkaClient::finish`].
    pub fn start_produce(&self, topic: &str, count: u64) -> ClientPod {
        let args = produce_args(topic, count, 3, &[]);
        self.start("produce", &strs(&args))
    }

    /// Start an idempotent acks=all producer writing `rate` records per
    /// second until `count` are sent (so it keeps writing while the cluster
    /// changes); finish it with [`KafkaClient::finish`].
    pub fn start_paced_produce(&self, topic: &str, count: u64, rate: u64) -> ClientPod {
        let rate_arg = rate.to_string();
        // Leader changes, producer-id epochs and connections: what a stalled
        // run needs to be understood.
        let extra = ["--rate", &rate_arg, "--debug", "eos,topic,broker"];
        let args = produce_args(topic, count, 3, &extra);
        // Time to send everything, then the usual allowance for the rest.
        let timeout = count / rate.max(1) + CLIENT_TIMEOUT_SECS;
        self.start_for("produce", &strs(&args), timeout)
    }

    fn run<T: for<'de> Deserialize<'de>>(&self, command: &str, args: &[&str]) -> Outcome<T> {
        let pod = self.start(command, args);
        self.finish(pod)
    }

    fn start(&self, command: &str, args: &[&str]) -> ClientPod {
        self.start_for(command, args, CLIENT_TIMEOUT_SECS)
    }

    fn start_for(&self, command: &str, args: &[&str], timeout_secs: u64) -> ClientPod {
        let pod = format!("kafka-{command}-{}", SEQ.fetch_add(1, Ordering::SeqCst));
        let timeout = timeout_secs.to_string();
        let mut all = vec![command, "--bootstrap", &self.bootstrap];
        all.extend_from_slice(args);
        all.extend(["--timeout-secs", &timeout]);
        let mut manifest = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": pod, "labels": {"app.kubernetes.io/name": "chronik-e2e-client"}},
            "spec": {"restartPolicy": "Never", "containers": [{
                "name": "client", "image": self.image, "imagePullPolicy": "IfNotPresent",
                "args": all}]},
        });
        if let Some(user) = &self.auth {
            user.configure(&mut manifest["spec"]);
        }
        let who = self
            .auth
            .as_ref()
            .map(|u| format!(" (SASL_SSL as {})", u.username))
            .unwrap_or_default();
        println!("    client pod {pod}{who}: {}", all.join(" "));
        let r = self.kubectl.apply(&self.ns, &manifest);
        assert!(r.ok, "creating client pod {pod}: {}", r.stderr);
        ClientPod {
            name: pod,
            timeout_secs,
        }
    }

    /// Wait until the client pod's output contains `text`.
    pub fn wait_output(&self, pod: &ClientPod, text: &str) {
        wait_for(
            &format!("client pod {} to print {text:?}", pod.name),
            Duration::from_secs(CLIENT_TIMEOUT_SECS),
            || {
                let r = self.kubectl.run(&["-n", &self.ns, "logs", &pod.name], None);
                if r.ok && r.stdout.contains(text) {
                    Ok(())
                } else {
                    Err(format!("{}{}", r.stdout, r.stderr))
                }
            },
        );
    }

    /// Whether the client pod has not ended yet.
    pub fn is_running(&self, pod: &ClientPod) -> bool {
        self.phase(&pod.name) == "Running"
    }

    fn phase(&self, pod: &str) -> String {
        self.kubectl
            .get(&["-n", &self.ns, "pod", pod])
            .and_then(|p| {
                p.pointer("/status/phase")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_default()
    }

    /// Wait for a client pod to end and read its summary line; the pod is
    /// deleted.
    pub fn finish<T: for<'de> Deserialize<'de>>(&self, pod: ClientPod) -> Outcome<T> {
        let ClientPod {
            name: pod,
            timeout_secs,
        } = pod;
        let phase = wait_for(
            &format!("client pod {pod} to finish"),
            Duration::from_secs(timeout_secs + 60),
            || {
                let phase = self.phase(&pod);
                match phase.as_str() {
                    "Succeeded" | "Failed" => Ok(phase),
                    _ => Err(format!("phase {phase:?}")),
                }
            },
        );
        let logs = self.kubectl.ok(&["-n", &self.ns, "logs", &pod]);
        // `CHRONIK_E2E_CLIENT_LOGS=<dir>` keeps every client's output (the
        // pod is deleted below), e.g. the paced producers' librdkafka debug.
        if let Some(dir) = std::env::var_os("CHRONIK_E2E_CLIENT_LOGS") {
            let path = std::path::Path::new(&dir).join(format!("{}-{pod}.log", self.ns));
            let saved = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, &logs));
            if let Err(e) = saved {
                println!("    could not save {}: {e}", path.display());
            }
        }
        let summary = logs
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str::<T>(l.trim()).ok())
            .unwrap_or_else(|| panic!("client pod {pod} printed no summary line:\n{logs}"));
        self.kubectl
            .ok(&["-n", &self.ns, "delete", "pod", &pod, "--wait=false"]);
        Outcome {
            succeeded: phase == "Succeeded",
            summary,
            logs,
        }
    }
}

impl SaslUser {
    /// Adds the environment (`KAFKA_*`, read by `chronik-kafka-client`)
    /// and the Secret volume to a pod spec.
    fn configure(&self, spec: &mut Value) {
        let password = match &self.password {
            None => json!({"name": "KAFKA_SASL_PASSWORD", "valueFrom": {
                "secretKeyRef": {"name": self.secret, "key": "password"}}}),
            Some(p) => json!({"name": "KAFKA_SASL_PASSWORD", "value": p}),
        };
        spec["containers"][0]["env"] = json!([
            {"name": "KAFKA_SECURITY_PROTOCOL", "value": "SASL_SSL"},
            {"name": "KAFKA_SASL_MECHANISM", "value": "SCRAM-SHA-512"},
            {"name": "KAFKA_SASL_USERNAME", "value": self.username},
            password,
            {"name": "KAFKA_SSL_CA_LOCATION", "value": format!("{USER_SECRET_DIR}/ca.crt")},
        ]);
        spec["containers"][0]["volumeMounts"] =
            json!([{"name": "user", "mountPath": USER_SECRET_DIR, "readOnly": true}]);
        spec["volumes"] = json!([{"name": "user", "secret": {
            "secretName": self.secret, "items": [{"key": "ca.crt", "path": "ca.crt"}]}}]);
    }
}

/// Arguments of `produce`: `count` records to `topic` (3 partitions,
/// `replication` replicas, the topic as run id), then `extra`.
fn produce_args(topic: &str, count: u64, replication: u32, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "--topic",
        topic,
        "--count",
        &count.to_string(),
        "--partitions",
        "3",
        "--replication",
        &replication.to_string(),
        "--run-id",
        topic,
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    args.extend(extra.iter().map(|a| a.to_string()));
    args
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// A client pod started and not yet finished.
#[derive(Debug)]
pub struct ClientPod {
    name: String,
    /// The client's own `--timeout-secs`.
    timeout_secs: u64,
}

/// Produce `count` records and assert every one was acknowledged.
pub fn produce_all(client: &KafkaClient<'_>, topic: &str, count: u64) {
    assert_all_acked(client.produce(topic, count, 3), topic, count);
}

/// Assert that a produce run had every one of its `count` records acknowledged.
pub fn assert_all_acked(out: Outcome<Produced>, topic: &str, count: u64) {
    let p = &out.summary;
    assert!(
        out.succeeded && p.acked == count && p.failed == 0,
        "producing {count} records to {topic}: {} acked, {} failed, errors {:?}\n{}",
        p.acked,
        p.failed,
        p.errors,
        out.logs
    );
    println!("    produced {count} records to {topic}, all acknowledged");
}

/// Consume `topic` and assert that exactly the `count` records produced are
/// there, each once, in order.
pub fn consume_all(client: &KafkaClient<'_>, topic: &str, count: u64) {
    let out = client.consume(topic, count);
    let c = &out.summary;
    assert!(
        out.succeeded
            && c.consumed >= count
            && c.unique == count
            && c.missing == 0
            && c.duplicates == 0
            && c.out_of_order == 0,
        "consuming {count} records from {topic}: {c:?}\n{}",
        out.logs
    );
    println!("    consumed all {count} records of {topic}, once each, in order");
}
