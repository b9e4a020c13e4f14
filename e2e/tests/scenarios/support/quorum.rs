//! Watches, from outside, that a quorum of voters is up during the day-2
//! operations: every few hundred milliseconds each broker pod's
//! `/v1/status` is read (directly at the pod's address on the local
//! cluster, through the API server's pod proxy elsewhere); a voter counts
//! as up when it answered, listing itself as a voter, within the last
//! [`GRACE`] (so that one slow answer on a loaded machine is not mistaken for
//! a lost voter; a pod that restarts is away for longer than that).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chronik_api::{BrokerStatus, MemberRole, RaftRole};
use chronik_testkit::kubectl::Kubectl;

use super::settings::{FaultMode, Settings};

const PERIOD: Duration = Duration::from_millis(300);
/// How recently a voter must have answered to count as up.
const GRACE: Duration = Duration::from_millis(1500);
const BROKER_HTTP_PORT: u16 = 8080;

/// A moment when fewer than a quorum of voters answered.
#[derive(Debug, Clone)]
pub struct Breach {
    /// Seconds since the watch started.
    pub at_secs: f64,
    /// Voters (node ids) of the configuration as last seen.
    pub voters: BTreeSet<u64>,
    /// Voters that answered.
    pub up: BTreeSet<u64>,
}

impl std::fmt::Display for Breach {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "at {:.1}s only voters {:?} of {:?} were up",
            self.at_secs, self.up, self.voters
        )
    }
}

/// What the watch saw.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// Samples taken with a known configuration.
    pub samples: u64,
    /// Samples with fewer than a quorum of voters up.
    pub breaches: Vec<Breach>,
    /// The smallest margin over the quorum seen (voters up − quorum).
    pub min_margin: Option<i64>,
    /// Largest voter count seen.
    pub max_voters: usize,
}

/// A running watch; [`QuorumWatch::stop`] ends it and returns the report.
pub struct QuorumWatch {
    stop: Arc<AtomicBool>,
    report: Arc<Mutex<Report>>,
    thread: Option<JoinHandle<()>>,
}

/// How one broker's status is read.
enum Reader {
    Direct(reqwest::Client),
    Proxy,
}

impl QuorumWatch {
    /// Watches the brokers of ChronikCluster `cluster` in `ns`.
    pub fn start(settings: &Settings, ns: &str, cluster: &str) -> QuorumWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let report = Arc::new(Mutex::new(Report::default()));
        let kubectl = Kubectl::new(&settings.kubeconfig);
        let reader = match settings.faults {
            FaultMode::Podman { .. } => Reader::Direct(
                reqwest::Client::builder()
                    .timeout(Duration::from_millis(800))
                    .build()
                    .expect("an HTTP client"),
            ),
            FaultMode::Kubectl => Reader::Proxy,
        };
        let (ns, cluster) = (ns.to_string(), cluster.to_string());
        let thread = {
            let (stop, report) = (stop.clone(), report.clone());
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime for the quorum watch");
                let mut seen = Seen {
                    started: Instant::now(),
                    voters: BTreeSet::new(),
                    last: BTreeMap::new(),
                };
                while !stop.load(Ordering::SeqCst) {
                    let statuses = rt.block_on(read_all(&kubectl, &reader, &ns, &cluster));
                    seen.sample(&statuses, &report);
                    std::thread::sleep(PERIOD);
                }
            })
        };
        QuorumWatch {
            stop,
            report,
            thread: Some(thread),
        }
    }

    /// Stops watching and returns what was seen.
    pub fn stop(mut self) -> Report {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let report = self.report.lock().expect("report lock").clone();
        report
    }
}

impl Drop for QuorumWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// What the watch remembers between samples.
struct Seen {
    started: Instant,
    /// The configuration's voters as the leader last reported them.
    voters: BTreeSet<u64>,
    /// When each node last answered as a voter.
    last: BTreeMap<u64, Instant>,
}

impl Seen {
    /// Folds one round of statuses into the report.
    fn sample(&mut self, statuses: &BTreeMap<u64, BrokerStatus>, report: &Mutex<Report>) {
        let now = Instant::now();
        // The configuration comes from whoever leads; between leaders the
        // last one seen stands.
        if let Some(leader) = statuses.values().find(|s| s.role == RaftRole::Leader) {
            self.voters = voter_ids(leader);
        }
        for (id, s) in statuses {
            if voter_ids(s).contains(id) {
                self.last.insert(*id, now);
            }
        }
        if self.voters.is_empty() {
            return;
        }
        let up: BTreeSet<u64> = self
            .voters
            .iter()
            .filter(|id| {
                self.last
                    .get(id)
                    .is_some_and(|t| now.duration_since(*t) <= GRACE)
            })
            .copied()
            .collect();
        let quorum = self.voters.len() / 2 + 1;
        let margin = up.len() as i64 - quorum as i64;
        let mut r = report.lock().expect("report lock");
        r.samples += 1;
        r.max_voters = r.max_voters.max(self.voters.len());
        r.min_margin = Some(r.min_margin.map_or(margin, |m| m.min(margin)));
        if margin < 0 {
            r.breaches.push(Breach {
                at_secs: self.started.elapsed().as_secs_f64(),
                voters: self.voters.clone(),
                up,
            });
        }
    }
}

fn voter_ids(status: &BrokerStatus) -> BTreeSet<u64> {
    status
        .members
        .iter()
        .filter(|m| m.role == MemberRole::Voter)
        .map(|m| m.id)
        .collect()
}

/// `/v1/status` of every broker pod that answers, by node id.
async fn read_all(
    kubectl: &Kubectl,
    reader: &Reader,
    ns: &str,
    cluster: &str,
) -> BTreeMap<u64, BrokerStatus> {
    let selector = format!("app.kubernetes.io/instance={cluster}");
    // A failed listing (the API server restarting, say) is a sample without
    // statuses, not a reason to stop watching.
    let mut out = BTreeMap::new();
    let pods = kubectl.try_items(&["-n", ns, "pods", "-l", &selector]);
    for pod in pods.unwrap_or_default() {
        let name = pod["metadata"]["name"].as_str().unwrap_or_default();
        let status = match reader {
            Reader::Direct(http) => {
                let Some(ip) = pod["status"]["podIP"].as_str() else {
                    continue;
                };
                let url = format!("http://{ip}:{BROKER_HTTP_PORT}/v1/status");
                match http.get(url).send().await {
                    Ok(r) => r.json::<BrokerStatus>().await.ok(),
                    Err(_) => None,
                }
            }
            Reader::Proxy => {
                let path = format!(
                    "/api/v1/namespaces/{ns}/pods/{name}:{BROKER_HTTP_PORT}/proxy/v1/status"
                );
                let r = kubectl.run(&["get", "--raw", &path], None);
                r.ok.then(|| serde_json::from_str(&r.stdout).ok()).flatten()
            }
        };
        if let Some(s) = status {
            out.insert(s.node_id, s);
        }
    }
    out
}
