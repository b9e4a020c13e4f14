//! Security end to end (the security issue): a 3-broker ChronikCluster
//! with a TLS + SCRAM-SHA-512 internal listener, a TLS + SCRAM-SHA-512
//! NodePort listener and the `simple` authorizer; two ChronikUsers (one
//! with Write, Describe, Create and Read on a topic prefix and Read on a
//! group prefix, one with Read only). Client pods take the password from
//! the user's Secret (`secretKeyRef`) and its `ca.crt` (mounted) and speak
//! SASL_SSL with librdkafka's certificate and host name verification:
//! (a) the user produces and reads back every acknowledged record;
//! (b) the read-only user cannot produce (an authorization failure) but
//! consumes; (c) a wrong password fails to authenticate and writes nothing;
//! (d) the host produces and consumes through the NodePort listener at the
//! node address the brokers advertise; (e) the broker certificates are
//! renewed (their Secret deleted, the operator issues new ones, the brokers
//! reload them) while a producer with acks=all writes, every acknowledged
//! record is read back exactly once, and the brokers present the new
//! certificates.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use chronik_testkit::kubectl::{wait_for, Kubectl};
use serde_json::{json, Value};

use super::support::chronik::wait_healthy;
use super::support::kafka::{
    assert_all_acked, consume_all, KafkaClient, Outcome, Produced, SaslUser,
};
use super::{Scenario, START};

const NAME: &str = "sec";
/// The internal TLS + SCRAM listener's port.
const TLS_PORT: u16 = 9093;
/// The NodePort listener's name and port.
const EXTERNAL: &str = "external";
const EXTERNAL_PORT: u16 = 9094;
/// The users and the topic prefix their ACLs name.
const APP: &str = "app";
const READER: &str = "reader";
const PREFIX: &str = "secure-";
/// How long the operator may take for users, Secrets and certificates.
const REACT: Duration = Duration::from_secs(120);
/// The producer running across the certificate renewal.
const RENEWAL_RATE: u64 = 50;
const RENEWAL_SECS: u64 = 60;

#[test]
#[ignore = "needs a cluster with the operator installed: run by `cargo xtask e2e`"]
fn tls_scram_acls_nodeport_and_certificate_renewal() {
    let s = Scenario::start("sec");
    s.step("a 3-broker cluster: TLS+SCRAM internal listener, TLS+SCRAM NodePort listener, simple authorizer");
    let r = s.kubectl.apply(&s.ns, &cluster(&s));
    assert!(r.ok, "applying ChronikCluster {NAME}: {}", r.stderr);
    wait_healthy(&s.kubectl, &s.ns, NAME, 3, START);
    for (user, acls) in [(APP, app_acls()), (READER, reader_acls())] {
        let r = s.kubectl.apply(&s.ns, &chronik_user(user, acls));
        assert!(r.ok, "applying ChronikUser {user}: {}", r.stderr);
    }
    for user in [APP, READER] {
        wait_user_ready(&s.kubectl, &s.ns, user);
    }
    let base = s.client(NAME);
    let app = base.as_user(NAME, TLS_PORT, sasl_user(APP, None));
    let reader = base.as_user(NAME, TLS_PORT, sasl_user(READER, None));

    s.step("(a) the user produces over SASL_SSL and reads every acknowledged record back");
    let topic = format!("{PREFIX}orders");
    assert_all_acked(app.produce(&topic, 1000, 3), &topic, 1000);
    consume_all(&app, &topic, 1000);

    s.step("(b) the read-only user cannot produce, but consumes");
    let denied = reader.produce_within(&topic, 10, 30);
    assert_failed_with(
        &denied,
        "authorization failed",
        "the read-only user's produce",
    );
    consume_all(&reader, &topic, 1000);

    s.step("(c) a wrong password fails to authenticate and writes nothing");
    let intruder = base.as_user(NAME, TLS_PORT, sasl_user(APP, Some("not-the-password")));
    let wrong = intruder.produce_within(&topic, 10, 20);
    // librdkafka's admin client does not raise the broker's
    // SASL_AUTHENTICATION_FAILED to the application (it only times out);
    // what matters here is that nothing was acknowledged or written.
    assert_failed_with(&wrong, "", "the wrong password's produce");
    let out = app.consume(&topic, 1000);
    assert!(
        out.succeeded && out.summary.other_runs == 0,
        "{topic} holds records of another run: {:?}\n{}",
        out.summary,
        out.logs
    );
    println!("    {topic} still holds exactly the 1000 records of (a)");

    s.step("(d) from the host through the NodePort listener");
    let host = HostClient::new(&s.kubectl, &s.ns);
    let host_topic = format!("{PREFIX}from-host");
    let produced = host.run(
        "produce",
        &host_topic,
        &["--count", "500", "--run-id", &host_topic],
    );
    assert!(
        produced["acked"] == json!(500) && produced["failed"] == json!(0),
        "producing from the host: {produced}"
    );
    let consumed = host.run(
        "consume",
        &host_topic,
        &[
            "--expect",
            "500",
            "--run-id",
            &host_topic,
            "--group-id",
            &host_topic,
        ],
    );
    assert!(
        consumed["unique"] == json!(500) && consumed["duplicates"] == json!(0),
        "consuming from the host: {consumed}"
    );
    println!(
        "    host client via {}: 500 records produced and consumed",
        host.bootstrap
    );

    s.step("(e) broker certificates renewed while a producer (acks=all) writes");
    renew_while_producing(&s, &app, &host);
}

/// The ChronikCluster: the 3-node example with the listeners and the
/// authorizer.
fn cluster(s: &Scenario) -> Value {
    let mut cr = s.cluster("chronikcluster-3-node.yaml", NAME).to_value();
    cr["spec"]["listeners"] = json!([
        {"name": "tls", "port": TLS_PORT, "tls": true,
         "authentication": {"type": "scram-sha-512"}},
        {"name": EXTERNAL, "port": EXTERNAL_PORT, "type": "nodeport", "tls": true,
         "authentication": {"type": "scram-sha-512"}},
    ]);
    cr["spec"]["authorization"] = json!({"type": "simple"});
    cr
}

fn app_acls() -> Value {
    json!([
        {"resource": {"type": "topic", "name": PREFIX, "patternType": "prefixed"},
         "operations": ["Write", "Describe", "Read", "Create"]},
        {"resource": {"type": "group", "name": PREFIX, "patternType": "prefixed"},
         "operations": ["Read"]},
    ])
}

fn reader_acls() -> Value {
    json!([
        {"resource": {"type": "topic", "name": PREFIX, "patternType": "prefixed"},
         "operations": ["Read"]},
        {"resource": {"type": "group", "name": PREFIX, "patternType": "prefixed"},
         "operations": ["Read"]},
    ])
}

fn chronik_user(name: &str, acls: Value) -> Value {
    json!({
        "apiVersion": "chronik.io/v1alpha1", "kind": "ChronikUser",
        "metadata": {"name": name},
        "spec": {"cluster": NAME, "authentication": {"type": "scram-sha-512"},
                 "authorization": {"acls": acls}},
    })
}

fn sasl_user(name: &str, password: Option<&str>) -> SaslUser {
    SaslUser {
        username: name.to_string(),
        secret: name.to_string(),
        password: password.map(str::to_string),
    }
}

/// Waits for the ChronikUser to be Ready and its Secret to hold a password
/// and the CA.
fn wait_user_ready(kubectl: &Kubectl, ns: &str, user: &str) {
    wait_for(
        &format!("ChronikUser {user} Ready with its Secret"),
        REACT,
        || {
            let cr = kubectl.get(&["-n", ns, "chronikuser", user]);
            let ready = cr.as_ref().is_some_and(|cr| {
                cr["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            });
            let secret = kubectl.get(&["-n", ns, "secret", user]);
            let complete = secret.as_ref().is_some_and(|s| {
                s["data"]["password"].is_string() && s["data"]["ca.crt"].is_string()
            });
            if ready && complete {
                Ok(())
            } else {
                Err(format!(
                    "Ready {ready}, Secret complete {complete}; status {}",
                    cr.map(|c| c["status"].to_string()).unwrap_or_default()
                ))
            }
        },
    );
    println!("    ChronikUser {user} Ready, Secret {user} has password and ca.crt");
}

/// A produce run failed, nothing acknowledged, and its errors mention `what`.
fn assert_failed_with(out: &Outcome<Produced>, what: &str, run: &str) {
    let p = &out.summary;
    let errors = serde_json::to_string(&p.errors).unwrap_or_default();
    assert!(
        !out.succeeded && p.acked == 0 && errors.to_lowercase().contains(what),
        "{run}: expected a failure mentioning {what:?}: {} acked, {} failed, errors {errors}\n{}",
        p.acked,
        p.failed,
        out.logs
    );
    println!("    {run} refused: {errors}");
}

/// Decoded key `key` of Secret `name`.
fn secret_key(kubectl: &Kubectl, ns: &str, name: &str, key: &str) -> Option<String> {
    let secret = kubectl.get(&["-n", ns, "secret", name])?;
    let data = secret["data"][key].as_str()?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// `chronik-kafka-client` on the host, as user `app`, through the
/// NodePort listener's advertised addresses.
struct HostClient {
    binary: PathBuf,
    bootstrap: String,
    /// Node id → advertised `host:port` on the NodePort listener.
    brokers: Vec<(u32, String)>,
    password: String,
    ca: tempfile::NamedTempFile,
}

impl HostClient {
    fn new(kubectl: &Kubectl, ns: &str) -> HostClient {
        let brokers = wait_for(
            "the NodePort listener's addresses of 3 brokers",
            REACT,
            || {
                let text = kubectl
                    .get(&["-n", ns, "configmap", &format!("{NAME}-advertised")])
                    .and_then(|c| {
                        c["data"]["advertised-listeners"]
                            .as_str()
                            .map(str::to_string)
                    })
                    .unwrap_or_default();
                let brokers: Vec<(u32, String)> = text
                    .lines()
                    .filter_map(|l| {
                        let mut f = l.split_whitespace();
                        let id = f.next()?.parse().ok()?;
                        (f.next()? == EXTERNAL).then_some(())?;
                        Some((id, f.next()?.to_string()))
                    })
                    .collect();
                if brokers.len() == 3 {
                    Ok(brokers)
                } else {
                    Err(format!("advertised listeners: {text:?}"))
                }
            },
        );
        let password = secret_key(kubectl, ns, APP, "password").expect("the user's password");
        let ca_pem = secret_key(kubectl, ns, APP, "ca.crt").expect("the user's ca.crt");
        let ca = tempfile::NamedTempFile::new().expect("a temporary file");
        std::fs::write(ca.path(), ca_pem).expect("writing the CA");
        HostClient {
            binary: client_binary(),
            bootstrap: brokers[0].1.clone(),
            brokers,
            password,
            ca,
        }
    }

    /// Runs `command` against `topic` and returns its JSON summary.
    fn run(&self, command: &str, topic: &str, args: &[&str]) -> Value {
        let out = Command::new(&self.binary)
            .args([command, "--bootstrap", &self.bootstrap, "--topic", topic])
            .args(args)
            .args(["--timeout-secs", "90", "--security-protocol", "SASL_SSL"])
            .args(["--sasl-mechanism", "SCRAM-SHA-512", "--sasl-username", APP])
            .arg("--ssl-ca-location")
            .arg(self.ca.path())
            .env("KAFKA_SASL_PASSWORD", &self.password)
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", self.binary.display()));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(40).collect();
        stdout
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str(l.trim()).ok())
            .filter(|_| out.status.success())
            .unwrap_or_else(|| {
                panic!(
                    "host {command} on {topic} failed ({}): {stdout}\n{}",
                    out.status,
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )
            })
    }

    /// The certificate broker `id` presents on the NodePort listener, as
    /// its base64 body.
    fn presented(&self, id: u32) -> Result<String, String> {
        let (_, address) = self
            .brokers
            .iter()
            .find(|(b, _)| *b == id)
            .ok_or_else(|| format!("no address of broker {id}"))?;
        let (host, port) = address
            .rsplit_once(':')
            .ok_or_else(|| format!("bad address {address}"))?;
        let out = Command::new(chronik_testkit::python::python())
            .args(["-c", PRESENTED, host, port])
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        Ok(pem_body(&String::from_utf8_lossy(&out.stdout)))
    }
}

/// Prints the certificate the server at argv[1]:argv[2] presents.
const PRESENTED: &str =
    "import ssl, sys; print(ssl.get_server_certificate((sys.argv[1], int(sys.argv[2])), timeout=10))";

/// The base64 body of the first PEM certificate in `pem`.
fn pem_body(pem: &str) -> String {
    pem.lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .map(str::trim)
        .collect()
}

/// `$CHRONIK_E2E_KAFKA_CLIENT_BIN`, else the `chronik-kafka-client` of the
/// build the test runs from (next to the test's `deps/` directory).
fn client_binary() -> PathBuf {
    let path = std::env::var_os("CHRONIK_E2E_KAFKA_CLIENT_BIN")
        .map(PathBuf::from)
        .or_else(|| {
            let exe = std::env::current_exe().ok()?;
            Some(exe.parent()?.parent()?.join("chronik-kafka-client"))
        })
        .unwrap_or_default();
    assert!(
        Path::new(&path).is_file(),
        "chronik-kafka-client not found at {}: build it (`cargo xtask e2e` does) or set \
         CHRONIK_E2E_KAFKA_CLIENT_BIN",
        path.display()
    );
    path
}

/// Each broker pod's certificate in `<c>-brokers`, by node id (ordinal + 1).
fn broker_certs(kubectl: &Kubectl, ns: &str) -> Option<Vec<(u32, String)>> {
    (0..3u32)
        .map(|ordinal| {
            let pem = secret_key(
                kubectl,
                ns,
                &format!("{NAME}-brokers"),
                &format!("{NAME}-{ordinal}.crt"),
            )?;
            Some((ordinal + 1, pem_body(&pem)))
        })
        .collect()
}

/// (e): the `<c>-brokers` Secret is deleted while a paced producer writes;
/// the operator issues new certificates, the brokers present them, and
/// every acknowledged record is read back exactly once.
fn renew_while_producing(s: &Scenario, app: &KafkaClient<'_>, host: &HostClient) {
    let old = broker_certs(&s.kubectl, &s.ns).expect("the brokers' certificates");
    for (id, body) in &old {
        let presented = host
            .presented(*id)
            .unwrap_or_else(|e| panic!("broker {id}: {e}"));
        assert_eq!(
            &presented, body,
            "broker {id} presents another certificate than its Secret's"
        );
    }
    let topic = format!("{PREFIX}renewal");
    let producer = app.start_paced_produce(&topic, RENEWAL_RATE * RENEWAL_SECS, RENEWAL_RATE);
    app.wait_output(&producer, "created topic");
    std::thread::sleep(Duration::from_secs(5));
    s.step(&format!("(e) deleting Secret {NAME}-brokers"));
    s.kubectl
        .ok(&["-n", &s.ns, "delete", "secret", &format!("{NAME}-brokers")]);
    let new = wait_for(
        "the operator to issue new broker certificates",
        REACT,
        || match broker_certs(&s.kubectl, &s.ns) {
            Some(new) if new.iter().zip(&old).all(|(n, o)| n.1 != o.1) => Ok(new),
            Some(_) => Err("some certificates are the old ones".to_string()),
            None => Err(format!("no complete {NAME}-brokers Secret")),
        },
    );
    println!("    {NAME}-brokers holds 3 new certificates");
    for (id, body) in &new {
        wait_for(
            &format!("broker {id} to present its new certificate"),
            REACT,
            || match host.presented(*id) {
                Ok(p) if &p == body => Ok(()),
                Ok(_) => Err("still another certificate".to_string()),
                Err(e) => Err(e),
            },
        );
    }
    println!("    every broker presents its new certificate on the NodePort listener");
    let out = app.finish::<Produced>(producer);
    let acked = out.summary.acked;
    assert_all_acked(out, &topic, RENEWAL_RATE * RENEWAL_SECS);
    consume_all(app, &topic, acked);
    let restarts: i64 = s
        .kubectl
        .items(&[
            "-n",
            &s.ns,
            "pods",
            "-l",
            &format!("app.kubernetes.io/instance={NAME}"),
        ])
        .iter()
        .flat_map(|p| {
            p["status"]["containerStatuses"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|c| c["restartCount"].as_i64().unwrap_or(0))
        .sum();
    assert_eq!(
        restarts, 0,
        "broker containers restarted during the renewal"
    );
    println!("    no broker restarted");
}
