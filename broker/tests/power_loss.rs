//! Power loss, not only kill -9: every broker runs its Raft log on the
//! test filesystem that keeps unsynced writes in process memory (and may
//! leak a torn prefix of one to disk), so `kill -9` loses exactly what a
//! power cut would. Under idempotent `acks=all` load, random brokers (the
//! metadata leader now and then) or the whole cluster at once (at least the
//! last time) lose power at random moments and are restarted; every acknowledged record must be read back exactly once and
//! in order, and every broker must start again from what survived.
//!
//! `POWER_LOSS_SEED` replays a run (the seed is printed).

mod support;

use chronik_testkit::python::{read_line_with, spawn_script};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use support::TestCluster;

const TOPIC: &str = "powerloss";
const CRASHES: usize = 6;

/// A small seeded generator (xorshift64*) so a failing run replays.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// Whether node `id`'s process has exited (a zombie not yet reaped).
fn exited(c: &TestCluster, id: u64) -> bool {
    let Some(pid) = c.pid(id) else {
        return true;
    };
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            stat.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(true)
}

/// Waits until node `id` is ready; a broker that exits instead (refuses its
/// recovered data, panics) fails the test.
async fn wait_started(c: &TestCluster, id: u64, seed: u64) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while !c.ready(id).await {
        assert!(
            !exited(c, id),
            "seed {seed}: node {id} exited while recovering from a power loss"
        );
        assert!(
            Instant::now() < deadline,
            "seed {seed}: node {id} did not become ready after a power loss: {:?}",
            c.status(id).await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_records_survive_power_loss_of_any_broker() {
    let seed = std::env::var("POWER_LOSS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    println!("power_loss seed {seed} (POWER_LOSS_SEED={seed} replays it)");
    let mut rng = Rng(seed | 1);
    // Children inherit these: the test filesystem is refused without them.
    std::env::set_var("CHRONIK_ENABLE_TEST_FS", "1");
    std::env::set_var("CHRONIK_TEST_FS_SEED", seed.to_string());

    let mut c = TestCluster::plan(3);
    c.extra_args = vec!["--test-fs".into(), "drop-unsynced-torn".into()];
    c.start_all();
    let ids = [1, 2, 3];
    c.wait_leader(&ids, Duration::from_secs(30)).await;
    for id in ids {
        wait_started(&c, id, seed).await;
    }

    let stop_file = c.dir.path().join("stop-load");
    let stop_arg = stop_file.display().to_string();
    let bootstrap = c.kafka_list(&ids);
    let mut load = spawn_script(
        "durability.py",
        &[
            "load",
            "--bootstrap",
            &bootstrap,
            "--topic",
            TOPIC,
            "--partitions",
            "3",
            "--stop-file",
            &stop_arg,
        ],
    );
    let mut stderr = load.stderr.take().expect("piped stderr");
    let errors = std::thread::spawn(move || {
        let mut all = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut all);
        all
    });
    let (_, output) = read_line_with(&mut load, "LOADING");

    let mut crashed: Vec<Vec<u64>> = Vec::new();
    for round in 0..CRASHES {
        tokio::time::sleep(Duration::from_millis(500 + rng.below(3_000))).await;
        // A power cut of the whole cluster (at least once: only it proves
        // what a majority fsynced, since one node's loss is repaired from
        // its peers' memory), or of one broker, the leader now and then.
        let victims = if round == CRASHES - 1 || rng.below(4) == 0 {
            ids.to_vec()
        } else {
            match c.leader(&ids).await {
                Some(leader) if rng.below(3) == 0 => vec![leader],
                _ => vec![ids[rng.below(3) as usize]],
            }
        };
        for &id in &victims {
            c.kill9(id);
        }
        println!("seed {seed}: power loss of nodes {victims:?}");
        tokio::time::sleep(Duration::from_millis(rng.below(1_500))).await;
        for &id in &victims {
            c.spawn(id);
        }
        for &id in &victims {
            wait_started(&c, id, seed).await;
        }
        crashed.push(victims);
    }
    // Some load after the last restart, then the client flushes and checks.
    tokio::time::sleep(Duration::from_secs(2)).await;
    std::fs::write(&stop_file, b"stop").expect("write the stop file");

    let status = tokio::task::spawn_blocking(move || load.wait())
        .await
        .expect("join the load client")
        .expect("wait for the load client");
    let stdout = output.join().unwrap_or_default();
    let stderr = errors.join().unwrap_or_default();
    println!("seed {seed}: crashed {crashed:?}\n{stdout}");
    assert!(
        status.success() && stdout.contains("OK "),
        "seed {seed}: acknowledged records lost, duplicated or reordered after power loss of {crashed:?}: {stdout}\n{stderr}"
    );
    for id in ids {
        assert!(!exited(&c, id), "seed {seed}: node {id} exited");
    }
}
