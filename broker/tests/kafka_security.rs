//! Kafka listeners with TLS, SASL and mTLS, against real brokers and real
//! clients (kcat, confluent-kafka, kafka-python): SCRAM-SHA-512 over
//! SASL_SSL with users created through AlterUserScramCredentials (both
//! admin clients) and through the HTTP API, mTLS with a client certificate,
//! PLAIN over TLS; a wrong password and an unsupported mechanism are refused
//! and produce nothing; each listener's clients see that listener's
//! addresses; credentials are served by every broker and survive a restart
//! of the whole cluster.

mod support;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chronik_api::security::ScramMechanism;
use chronik_testkit::certs::{Leaf, TestCa};
use chronik_testkit::kcat::require_kcat;
use chronik_testkit::ports::free_port;
use chronik_testkit::python::run_script;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::TestCluster;

const SCRIPT: &str = "secure_clients.py";

/// Each node's extra listener ports.
#[derive(Clone, Copy)]
struct Ports {
    scram: u16,
    sasl_plain: u16,
    mtls: u16,
}

/// A 3-node cluster whose nodes run with four listeners each; the
/// processes are this test's (killed on drop).
struct Secure {
    c: TestCluster,
    ports: BTreeMap<u64, Ports>,
    tls: PathBuf,
    children: BTreeMap<u64, Child>,
}

impl Drop for Secure {
    fn drop(&mut self) {
        for child in self.children.values_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Secure {
    fn start() -> Self {
        let c = TestCluster::plan(3);
        let ca = TestCa::new("kafka-clients");
        let tls = c.dir.path().join("tls");
        for id in 1..=3u64 {
            ca.write_dir(&Leaf::node(id), &tls.join(format!("node-{id}")));
        }
        ca.write_dir(&Leaf::client("app-1"), &tls.join("client"));
        let ports = (1..=3u64)
            .map(|id| {
                let p = Ports {
                    scram: free_port("127.0.0.1"),
                    sasl_plain: free_port("127.0.0.1"),
                    mtls: free_port("127.0.0.1"),
                };
                (id, p)
            })
            .collect();
        let mut s = Self {
            c,
            ports,
            tls,
            children: BTreeMap::new(),
        };
        for id in 1..=3 {
            s.spawn(id);
        }
        s
    }

    fn spawn(&mut self, id: u64) {
        let p = self.ports[&id];
        let plain = self.c.specs[&id].kafka_port;
        let mut cmd = self.c.command(id);
        cmd.args(["--listener", &format!("name=plain,port={plain}")])
            .args([
                "--listener",
                &format!("name=scram,port={},tls=true,auth=scram-sha-512", p.scram),
            ])
            .args([
                "--listener",
                &format!("name=sasl-plain,port={},tls=true,auth=plain", p.sasl_plain),
            ])
            .args([
                "--listener",
                &format!("name=certs,port={},tls=true,auth=mtls", p.mtls),
            ])
            .arg("--kafka-tls-dir")
            .arg(self.tls.join(format!("node-{id}")))
            .stdout(Stdio::null());
        let child = cmd.spawn().expect("spawn chronik-broker");
        self.children.insert(id, child);
    }

    fn kill_all(&mut self) {
        for child in self.children.values_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.children.clear();
    }

    fn addr(port: u16) -> String {
        format!("127.0.0.1:{port}")
    }

    fn ca(&self) -> String {
        self.tls.join("client/ca.crt").display().to_string()
    }

    /// Client arguments for SASL_SSL with `mechanism` as `user`.
    fn sasl(&self, port: u16, mechanism: &str, user: &str, password: &str) -> Vec<String> {
        [
            "--bootstrap",
            &Self::addr(port),
            "--protocol",
            "SASL_SSL",
            "--mechanism",
            mechanism,
            "--user",
            user,
            "--password",
            password,
            "--ca",
            &self.ca(),
        ]
        .map(String::from)
        .to_vec()
    }

    /// Client arguments for mTLS with the client certificate (or without).
    fn mtls(&self, port: u16, with_cert: bool) -> Vec<String> {
        let mut args = [
            "--bootstrap",
            &Self::addr(port),
            "--protocol",
            "SSL",
            "--ca",
            &self.ca(),
        ]
        .map(String::from)
        .to_vec();
        if with_cert {
            let dir = self.tls.join("client");
            args.extend(["--cert".into(), dir.join("tls.crt").display().to_string()]);
            args.extend(["--key".into(), dir.join("tls.key").display().to_string()]);
        }
        args
    }

    /// Proposes through whichever node accepts (the leader), retrying.
    async fn http_until_ok(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            for id in 1..=3 {
                let url = format!("{}{path}", self.c.specs[&id].http());
                let mut req = self.c.client.request(method.clone(), &url);
                if let Some(b) = &body {
                    req = req.json(b);
                }
                if let Ok(r) = req.send().await {
                    if r.status().is_success() {
                        return r.text().await.unwrap_or_default();
                    }
                }
            }
            assert!(Instant::now() < deadline, "{method} {path} never succeeded");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn create_topic(&self, name: &str) {
        let body = serde_json::json!({"name": name, "partitions": 1});
        self.http_until_ok(reqwest::Method::POST, "/v1/topics", Some(body))
            .await;
    }
}

fn script(command: &str, args: &[String], extra: &[&str]) -> String {
    let mut all: Vec<&str> = vec![command];
    all.extend(args.iter().map(String::as_str));
    all.extend_from_slice(extra);
    run_script(SCRIPT, &all)
}

fn plaintext(port: u16) -> Vec<String> {
    vec!["--bootstrap".into(), Secure::addr(port)]
}

fn kcat(args: &[String], input: Option<&str>) -> String {
    let mut cmd = Command::new("timeout");
    cmd.arg("30").arg("kcat").args(args);
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run kcat");
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        use std::io::Write as _;
        stdin.write_all(text.as_bytes()).expect("kcat stdin");
    }
    let out = child.wait_with_output().expect("kcat output");
    assert!(
        out.status.success(),
        "kcat {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn wait_ready(s: &Secure) {
    s.c.wait_leader(&[1, 2, 3], Duration::from_secs(30)).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    for id in 1..=3 {
        while !s.c.ready(id).await {
            assert!(Instant::now() < deadline, "node {id} not ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_sasl_and_mtls_listeners_with_real_clients() {
    require_kcat();
    let mut s = Secure::start();
    wait_ready(&s).await;
    let plain1 = s.c.specs[&1].kafka_port;

    // Users: through both admin clients' AlterUserScramCredentials on node 1
    // and through the HTTP API.
    let out = script(
        "alter-user",
        &plaintext(plain1),
        &[
            "--client",
            "confluent",
            "--new-user",
            "alice",
            "--new-password",
            "alice-pw",
        ],
    );
    assert!(out.contains("OK altered alice"), "{out}");
    let out = script(
        "alter-user",
        &plaintext(plain1),
        &[
            "--client",
            "kafka-python",
            "--new-user",
            "carol",
            "--new-password",
            "carol-pw",
        ],
    );
    assert!(out.contains("OK altered carol"), "{out}");
    let out = script(
        "alter-user",
        &plaintext(plain1),
        &[
            "--client",
            "kafka-python",
            "--new-user",
            "dave",
            "--new-password",
            "x",
            "--iterations",
            "100",
        ],
    );
    assert!(
        out.contains("REFUSED dave") && out.contains("Too few iterations"),
        "{out}"
    );
    let salt = b"salt-of-bob-0123";
    let salted = chronik_kafka::sasl::scram::salted_password(
        ScramMechanism::ScramSha512,
        b"bob-pw",
        salt,
        8192,
    );
    let upsert = serde_json::json!({"mechanism": "SCRAM-SHA-512", "iterations": 8192, "salt": B64.encode(salt), "salted_password": B64.encode(salted)});
    s.http_until_ok(reqwest::Method::PUT, "/v1/users/bob/scram", Some(upsert))
        .await;
    let users = s
        .http_until_ok(reqwest::Method::GET, "/v1/users", None)
        .await;
    for u in ["alice", "bob", "carol"] {
        assert!(users.contains(&format!("\"{u}\"")), "{users}");
    }
    assert!(
        !users.contains("dave") && !users.contains("salt"),
        "{users}"
    );
    let out = script("describe-users", &plaintext(plain1), &[]);
    assert!(
        out.contains(r#""bob": {"error": null, "mechanisms": [["SCRAM_SHA_512", 8192]]}"#),
        "{out}"
    );

    // SASL_SSL SCRAM-SHA-512 through nodes 2 and 3: the credentials were
    // replicated.
    for (client, user, node) in [
        ("confluent", "alice", 2),
        ("kafka-python", "bob", 3),
        ("confluent", "carol", 3),
    ] {
        let topic = format!("scram-{client}-{user}");
        s.create_topic(&topic).await;
        let args = s.sasl(
            s.ports[&node].scram,
            "SCRAM-SHA-512",
            user,
            &format!("{user}-pw"),
        );
        let out = script(
            "produce-consume",
            &args,
            &["--client", client, "--topic", &topic],
        );
        assert!(out.contains("OK 20"), "{client} as {user}: {out}");
    }
    s.create_topic("kcat-scram").await;
    let mut kcat_args: Vec<String> = [
        "-b",
        &Secure::addr(s.ports[&2].scram),
        "-X",
        "security.protocol=SASL_SSL",
        "-X",
        "sasl.mechanisms=SCRAM-SHA-512",
        "-X",
        "sasl.username=carol",
        "-X",
        "sasl.password=carol-pw",
        "-X",
        &format!("ssl.ca.location={}", s.ca()),
        "-t",
        "kcat-scram",
    ]
    .map(String::from)
    .to_vec();
    let mut produce = kcat_args.clone();
    produce.push("-P".into());
    kcat(&produce, Some("one\ntwo\nthree\n"));
    kcat_args.extend(["-C", "-e", "-o", "beginning", "-c", "3"].map(String::from));
    assert_eq!(kcat(&kcat_args, None), "one\ntwo\nthree\n");

    // PLAIN over TLS, checked against the stored SCRAM credential.
    s.create_topic("plain-tls").await;
    let args = s.sasl(s.ports[&1].sasl_plain, "PLAIN", "alice", "alice-pw");
    let out = script(
        "produce-consume",
        &args,
        &["--client", "confluent", "--topic", "plain-tls"],
    );
    assert!(out.contains("OK 20"), "{out}");

    // mTLS: a client certificate of the clients CA; none is refused.
    for client in ["confluent", "kafka-python"] {
        let topic = format!("mtls-{client}");
        s.create_topic(&topic).await;
        let out = script(
            "produce-consume",
            &s.mtls(s.ports[&2].mtls, true),
            &["--client", client, "--topic", &topic],
        );
        assert!(out.contains("OK 20"), "{client}: {out}");
    }
    s.create_topic("guarded").await;
    let out = script(
        "expect-failure",
        &s.mtls(s.ports[&1].mtls, false),
        &["--client", "kafka-python", "--topic", "guarded"],
    );
    assert!(out.starts_with("ERROR"), "{out}");

    // A wrong password and an unknown user fail alike; nothing is produced.
    for (client, user) in [
        ("confluent", "alice"),
        ("kafka-python", "alice"),
        ("confluent", "nobody"),
    ] {
        let args = s.sasl(s.ports[&1].scram, "SCRAM-SHA-512", user, "wrong");
        let out = script(
            "expect-failure",
            &args,
            &["--client", client, "--topic", "guarded"],
        );
        assert!(
            out.contains("Authentication failed: Invalid username or password")
                || out.contains("SaslAuthenticationFailed"),
            "{client} as {user}: {out}"
        );
    }
    let args = s.sasl(s.ports[&1].sasl_plain, "PLAIN", "alice", "wrong");
    let out = script(
        "expect-failure",
        &args,
        &["--client", "confluent", "--topic", "guarded"],
    );
    assert!(out.contains("Authentication failed"), "{out}");
    let out = script("count-records", &plaintext(plain1), &["--topic", "guarded"]);
    assert!(out.contains("COUNT 0"), "{out}");

    // A mechanism the listener does not enable.
    let args = s.sasl(s.ports[&1].scram, "SCRAM-SHA-256", "alice", "alice-pw");
    let out = script(
        "expect-failure",
        &args,
        &["--client", "confluent", "--topic", "guarded"],
    );
    assert!(
        out.contains("Unsupported SASL mechanism") && out.contains("SCRAM-SHA-512"),
        "{out}"
    );

    // Each listener's clients see that listener's addresses.
    let out = script("metadata", &plaintext(plain1), &[]);
    let want: Vec<String> = (1..=3)
        .map(|id| format!("{id}=127.0.0.1:{}", s.c.specs[&id].kafka_port))
        .collect();
    assert!(
        out.contains(&format!("BROKERS {}", want.join(","))),
        "{out}"
    );
    let out = script(
        "metadata",
        &s.sasl(s.ports[&1].scram, "SCRAM-SHA-512", "alice", "alice-pw"),
        &[],
    );
    let want: Vec<String> = (1..=3)
        .map(|id| format!("{id}=127.0.0.1:{}", s.ports[&id].scram))
        .collect();
    assert!(
        out.contains(&format!("BROKERS {}", want.join(","))),
        "{out}"
    );
    let out = script("metadata", &s.mtls(s.ports[&3].mtls, true), &[]);
    let want: Vec<String> = (1..=3)
        .map(|id| format!("{id}=127.0.0.1:{}", s.ports[&id].mtls))
        .collect();
    assert!(
        out.contains(&format!("BROKERS {}", want.join(","))),
        "{out}"
    );

    // Credentials survive a restart of every broker.
    s.kill_all();
    for id in 1..=3 {
        s.spawn(id);
    }
    wait_ready(&s).await;
    s.create_topic("after-restart").await;
    let args = s.sasl(s.ports[&3].scram, "SCRAM-SHA-512", "bob", "bob-pw");
    let out = script(
        "produce-consume",
        &args,
        &["--client", "confluent", "--topic", "after-restart"],
    );
    assert!(out.contains("OK 20"), "{out}");

    // Deleting a credential over HTTP locks the user out.
    s.http_until_ok(
        reqwest::Method::DELETE,
        "/v1/users/bob/scram/SCRAM-SHA-512",
        None,
    )
    .await;
    let users = s
        .http_until_ok(reqwest::Method::GET, "/v1/users", None)
        .await;
    assert!(!users.contains("\"bob\""), "{users}");
}

/// `--advertised-listeners-file`: this node's line overrides its address on
/// a listener, and a change of the file is registered again (what the
/// operator does when a NodePort address becomes known).
#[tokio::test(flavor = "multi_thread")]
async fn advertised_listeners_file_overrides_and_follows_changes() {
    let mut c = TestCluster::plan(1);
    let file = c.dir.path().join("advertised");
    std::fs::write(
        &file,
        "1 plain node-a.example:31001\n2 plain other.example:1\n",
    )
    .expect("write");
    c.extra_args = vec![
        "--advertised-listeners-file".into(),
        file.display().to_string(),
    ];
    c.start_all();
    c.wait_leader(&[1], Duration::from_secs(30)).await;
    let bootstrap = plaintext(c.specs[&1].kafka_port);
    let wait_for = |want: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = script("metadata", &bootstrap, &[]);
            if out.contains(want) {
                return;
            }
            assert!(Instant::now() < deadline, "never saw {want}: {out}");
            std::thread::sleep(Duration::from_millis(500));
        }
    };
    wait_for("BROKERS 1=node-a.example:31001");
    std::fs::write(&file, "1 plain node-b.example:31002\n").expect("rewrite");
    wait_for("BROKERS 1=node-b.example:31002");
}
