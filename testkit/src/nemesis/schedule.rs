//! A seeded schedule of faults: the same seed always gives the same list of
//! faults, targets, durations and pauses (the system's own timing may still
//! differ between runs). At most one broker is impaired at a time, so a
//! majority of a 3-broker cluster can always come back.

use std::fmt;
use std::time::Duration;

/// A small deterministic generator (SplitMix64): no dependency, and the
/// sequence for a seed never changes with a library version.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }
}

/// One fault against one broker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// SIGKILL, down for `down`, then started again with its disk.
    Kill { node: u64, down: Duration },
    /// SIGSTOP for `paused`, then SIGCONT.
    Pause { node: u64, paused: Duration },
    /// Cut off the network (its namespace's link) for `isolated`.
    Partition { node: u64, isolated: Duration },
    /// SIGKILL, data directory deleted, started again empty.
    Wipe { node: u64 },
    /// `POST /v1/leader/transfer` to `node`.
    TransferLeader { node: u64 },
    /// Removed from the cluster, wiped, added back as a learner, promoted.
    Rejoin { node: u64 },
    /// SIGTERM, then started again.
    Restart { node: u64 },
}

impl Fault {
    /// The broker the fault targets.
    pub fn node(&self) -> u64 {
        match self {
            Fault::Kill { node, .. }
            | Fault::Pause { node, .. }
            | Fault::Partition { node, .. }
            | Fault::Wipe { node }
            | Fault::TransferLeader { node }
            | Fault::Rejoin { node }
            | Fault::Restart { node } => *node,
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Kill { node, down } => write!(f, "kill -9 node {node}, down {down:?}"),
            Fault::Pause { node, paused } => write!(f, "SIGSTOP node {node} for {paused:?}"),
            Fault::Partition { node, isolated } => {
                write!(f, "isolate node {node} for {isolated:?}")
            }
            Fault::Wipe { node } => write!(f, "wipe node {node}'s disk"),
            Fault::TransferLeader { node } => write!(f, "transfer leadership to node {node}"),
            Fault::Rejoin { node } => {
                write!(f, "remove node {node}, wipe, add as learner, promote")
            }
            Fault::Restart { node } => write!(f, "restart node {node} (SIGTERM)"),
        }
    }
}

/// A fault and the quiet time before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// Time to wait (after the previous fault recovered) before this one.
    pub wait: Duration,
    /// The fault.
    pub fault: Fault,
}

/// What a schedule is made for.
#[derive(Clone, Debug)]
pub struct ScheduleSpec {
    /// The seed.
    pub seed: u64,
    /// Brokers `1..=nodes`.
    pub nodes: u64,
    /// Total planned time of waits and faults.
    pub duration: Duration,
    /// Whether partition faults can be injected (network namespaces).
    pub partitions: bool,
}

/// The faults of one run, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// The seed it was generated from.
    pub seed: u64,
    /// The steps.
    pub steps: Vec<Step>,
}

impl Schedule {
    /// The schedule of `spec`: steps until their planned time (waits of
    /// 2–6 s, faults of 2–10 s, about 15 s for wipes and rejoins) fills twice
    /// the duration: many faults take less than planned, and a run stops at
    /// its duration rather than running out of faults.
    pub fn generate(spec: &ScheduleSpec) -> Self {
        let mut rng = Rng::new(spec.seed);
        let mut steps = Vec::new();
        let mut planned = Duration::ZERO;
        while planned < 2 * spec.duration {
            let wait = Duration::from_millis(rng.range(2_000, 6_000));
            let node = rng.range(1, spec.nodes);
            let length = Duration::from_millis(rng.range(2_000, 10_000));
            let kinds = if spec.partitions { 7 } else { 6 };
            let fault = match rng.range(0, kinds - 1) {
                0 => Fault::Kill { node, down: length },
                1 => Fault::Pause {
                    node,
                    paused: length,
                },
                2 => Fault::Wipe { node },
                3 => Fault::TransferLeader { node },
                4 => Fault::Rejoin { node },
                5 => Fault::Restart { node },
                _ => Fault::Partition {
                    node,
                    isolated: length,
                },
            };
            let cost = match fault {
                Fault::Wipe { .. } | Fault::Rejoin { .. } => Duration::from_secs(15),
                Fault::TransferLeader { .. } | Fault::Restart { .. } => Duration::from_secs(3),
                _ => length,
            };
            planned += wait + cost;
            steps.push(Step { wait, fault });
        }
        Self {
            seed: spec.seed,
            steps,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(seed: u64, partitions: bool) -> ScheduleSpec {
        ScheduleSpec {
            seed,
            nodes: 3,
            duration: Duration::from_secs(150),
            partitions,
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_schedule() {
        assert_eq!(
            Schedule::generate(&spec(42, true)),
            Schedule::generate(&spec(42, true))
        );
        assert_ne!(
            Schedule::generate(&spec(42, true)),
            Schedule::generate(&spec(43, true))
        );
    }

    #[test]
    fn faults_target_existing_brokers_and_fill_the_duration() {
        let s = Schedule::generate(&spec(7, true));
        assert!(s.steps.len() >= 8, "{s:?}");
        assert!(s.steps.iter().all(|st| (1..=3).contains(&st.fault.node())));
        let kinds: std::collections::HashSet<_> = (0..50)
            .flat_map(|seed| Schedule::generate(&spec(seed, true)).steps)
            .map(|st| std::mem::discriminant(&st.fault))
            .collect();
        assert_eq!(kinds.len(), 7, "every kind of fault is drawn");
    }

    #[test]
    fn no_partitions_without_namespaces() {
        for seed in 0..50 {
            let s = Schedule::generate(&spec(seed, false));
            assert!(s
                .steps
                .iter()
                .all(|st| !matches!(st.fault, Fault::Partition { .. })));
        }
    }
}
