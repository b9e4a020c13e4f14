//! The nemesis: a Jepsen-style fault test. Three brokers (in network
//! namespaces when they can be created: required under CI) take seeded
//! random faults — kill -9, SIGSTOP, partitions, wiped disks, leader
//! transfers, remove/re-add/promote, restarts — one at a time, while an
//! idempotent `acks=all` producer writes to 3 partitions and a consumer group
//! commits offsets (confluent-kafka, `kafka/tests/clients/nemesis.py`). Then
//! every fault is undone, the cluster must heal without help within a bound,
//! a fresh consumer reads everything from offset 0, and the checker
//! (`chronik_testkit::nemesis::checker`) judges the history.
//!
//! `CHRONIK_NEMESIS_SECONDS` (default 150) is how long faults are injected;
//! `CHRONIK_NEMESIS_SEED` (default: from the clock, printed) chooses them: the
//! same seed gives the same schedule. `cargo xtask chaos --minutes N
//! [--seed S]` runs this test longer.

mod support;

use chronik_testkit::nemesis::clients::{Client, StopFile};
use chronik_testkit::nemesis::inject::{Injected, Nemesis};
use chronik_testkit::nemesis::schedule::{Schedule, ScheduleSpec};
use chronik_testkit::nemesis::{check, History, Verdict};
use chronik_testkit::netns::{self, Lab};
use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};
use support::{NodeSpec, TestCluster};

const SEC: Duration = Duration::from_secs(1);
const NODES: u64 = 3;
const TOPIC: &str = "nemesis";
const PARTITIONS: &str = "3";
const GROUP: &str = "nemesis-group";
/// How long the cluster may take to heal once every fault is undone.
const HEAL_BOUND: Duration = Duration::from_secs(180);

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    Some(
        v.trim()
            .parse()
            .unwrap_or_else(|e| panic!("{name}={v:?}: {e}")),
    )
}

/// The brokers: in namespaces (so partitions can be injected) or on loopback.
fn cluster(lab: Option<&Lab>) -> TestCluster {
    let Some(lab) = lab else {
        return TestCluster::plan(NODES);
    };
    let specs: BTreeMap<u64, NodeSpec> = (1..=NODES)
        .map(|id| {
            let spec = NodeSpec {
                id,
                ip: lab.addr(id),
                raft_port: 5001,
                http_port: 8080,
                kafka_port: 9092,
                netns: Some(lab.netns(id)),
            };
            (id, spec)
        })
        .collect();
    TestCluster::with_specs(specs)
}

fn client_args(c: &TestCluster, mode: &str, extra: &[&str]) -> Vec<String> {
    let ids: Vec<u64> = c.specs.keys().copied().collect();
    let mut args: Vec<String> = vec![
        mode.into(),
        "--bootstrap".into(),
        c.kafka_list(&ids),
        "--topic".into(),
        TOPIC.into(),
        "--partitions".into(),
        PARTITIONS.into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// Runs a short client to completion; whether it succeeded, and its output.
async fn run_client(
    c: &TestCluster,
    mode: &str,
    extra: &[&str],
    within: Duration,
) -> (bool, String) {
    let out = Client::spawn(mode, &client_args(c, mode, extra), within + 5 * SEC)
        .finish(within + 10 * SEC)
        .await;
    (out.success, format!("{}\n{}", out.stdout, out.stderr))
}

/// Waits until the cluster is whole and a produce + consume works; the time
/// it took.
async fn wait_healed(nemesis: &Nemesis<'_>) -> Duration {
    let started = Instant::now();
    let mut last = String::from("not checked");
    while started.elapsed() < HEAL_BOUND {
        match nemesis.whole().await {
            Ok(()) => {
                let (ok, out) =
                    run_client(nemesis.cluster, "probe", &["--timeout", "20"], 20 * SEC).await;
                if ok {
                    return started.elapsed();
                }
                last = format!("probe failed: {out}");
            }
            Err(e) => {
                // A learner left by a remove/add fault is promoted as an
                // operator would; nothing else is helped.
                if e.contains("not a voter") {
                    nemesis.promote_learners().await;
                }
                last = e;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mut statuses = Vec::new();
    for id in 1..=NODES {
        statuses.push(nemesis.cluster.status(id).await);
    }
    panic!("the cluster did not heal within {HEAL_BOUND:?}: {last}\n{statuses:#?}");
}

struct Report<'a> {
    seed: u64,
    seconds: u64,
    partitions: bool,
    faults: &'a [Injected],
    verdict: &'a Verdict,
    heal: Duration,
}

impl std::fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v = self.verdict;
        writeln!(
            f,
            "nemesis: seed {}, {} s of faults, partitions {}",
            self.seed,
            self.seconds,
            if self.partitions { "on" } else { "off" }
        )?;
        for i in self.faults {
            writeln!(
                f,
                "  {:>7.1}s  {}  ({})",
                i.at.as_secs_f64(),
                i.fault,
                i.outcome
            )?;
        }
        writeln!(
            f,
            "faults {}, acknowledged {}, indeterminate {}, read {}, lost {}, duplicated {}, \
             reordered {}, offset conflicts {}, dirty reads {}, commits backwards {}, \
             time to heal {:.1} s",
            self.faults.len(),
            v.acknowledged,
            v.indeterminate,
            v.read,
            v.lost.len(),
            v.duplicated.len(),
            v.reordered.len(),
            v.offset_conflicts.len(),
            v.dirty_reads.len(),
            v.commits_backwards.len(),
            self.heal.as_secs_f64()
        )
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_records_survive_a_seeded_storm_of_faults() {
    let seconds = env_u64("CHRONIK_NEMESIS_SECONDS").unwrap_or(150);
    let seed = env_u64("CHRONIK_NEMESIS_SEED").unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    });
    eprintln!("nemesis: seed {seed} (CHRONIK_NEMESIS_SEED={seed} reproduces the schedule)");
    let partitions = netns::required_under_ci("the nemesis's partition faults");
    let lab = partitions.then(|| Lab::new(NODES));
    let mut c = cluster(lab.as_ref());
    c.start_all();
    c.wait_leader(&[1, 2, 3], 30 * SEC).await;
    // Formed: a broker restarted with an empty disk from now on must wait
    // for the cluster rather than bootstrap a new one.
    c.extra_args.extend([
        "--initial-cluster-state".to_string(),
        "existing".to_string(),
    ]);
    let (ok, out) = run_client(&c, "create", &[], 60 * SEC).await;
    assert!(ok, "create the topic: {out}");
    let started = Instant::now();
    while !run_client(&c, "probe", &["--timeout", "20"], 20 * SEC)
        .await
        .0
    {
        assert!(
            started.elapsed() < 90 * SEC,
            "the new topic never took a record"
        );
    }

    let stop = StopFile::new(c.dir.path());
    let clients_timeout = Duration::from_secs(seconds) + 900 * SEC;
    let load = |mode: &str, extra: &[&str]| {
        let mut extra: Vec<&str> = extra.to_vec();
        let path = stop.path();
        let mut args = client_args(&c, mode, &[]);
        extra.extend(["--stop-file", &path]);
        args.extend(extra.iter().map(|s| s.to_string()));
        Client::spawn(mode, &args, clients_timeout)
    };
    let producer = load("produce", &["--rate", "100"]);
    let group = load("group", &["--group", GROUP]);

    let schedule = Schedule::generate(&ScheduleSpec {
        seed,
        nodes: NODES,
        duration: Duration::from_secs(seconds),
        partitions,
    });
    let mut nemesis = Nemesis::new(&mut c, lab.as_ref());
    nemesis.run(&schedule, Duration::from_secs(seconds)).await;
    nemesis.heal_all().await;
    let heal = wait_healed(&nemesis).await;
    let faults = std::mem::take(&mut nemesis.log);
    drop(nemesis);

    stop.signal();
    let produced = producer.finish(200 * SEC).await;
    let consumed = group.finish(60 * SEC).await;
    let (read_ok, read) = run_client(
        &c,
        "read",
        &["--group", GROUP, "--timeout", "120"],
        120 * SEC,
    )
    .await;
    assert!(produced.success, "the producer failed: {}", produced.stderr);
    assert!(read_ok, "the final read failed: {read}");

    let mut history = History::from_output(&produced.stdout);
    history.extend_from_output(&consumed.stdout);
    history.extend_from_output(&read);
    let verdict = check(&history);
    let report = Report {
        seed,
        seconds,
        partitions,
        faults: &faults,
        verdict: &verdict,
        heal,
    };
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let lines: String = [produced.stdout.as_str(), &consumed.stdout, &read].concat();
    let _ = std::fs::write(dir.join(format!("nemesis-{seed}.jsonl")), lines);
    let _ = std::fs::write(dir.join(format!("nemesis-{seed}.txt")), report.to_string());
    eprintln!("{report}");
    assert!(
        verdict.acknowledged > 0,
        "nothing was acknowledged: {report}"
    );
    assert!(verdict.is_valid(), "{report}\n{verdict:#?}");
}
