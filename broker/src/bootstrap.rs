//! Whether this broker bootstraps the cluster: `--initial-cluster-state`
//! (etcd's meaning). Only an initial voter with an empty log under `new`
//! bootstraps; under `existing` an empty data directory waits to be caught
//! up by the cluster's leader, so wiped voters can never form a second
//! cluster under the same cluster id.

use clap::ValueEnum;

/// `--initial-cluster-state`: may an empty data directory bootstrap?
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum InitialClusterState {
    /// The cluster is being created: an initial voter (listed in `--peers`)
    /// with an empty data directory bootstraps the configuration.
    #[default]
    New,
    /// The cluster already exists: an empty data directory never bootstraps;
    /// the broker waits for the leader to send it the configuration.
    Existing,
}

/// What the broker does with its metadata log at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartMode {
    /// Persist the initial configuration (snapshot at index 1, term 1).
    Bootstrap,
    /// The data directory holds a log: restart from it (either state).
    Resume,
    /// Empty and not allowed to bootstrap: never campaign until a leader
    /// sends the configuration.
    WaitToJoin(WaitReason),
}

/// Why an empty broker waits instead of bootstrapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitReason {
    /// Not listed in `--peers`: it is added through the membership API.
    NotAnInitialVoter,
    /// Listed in `--peers`, but `--initial-cluster-state existing`.
    ClusterExists,
}

impl StartMode {
    /// The start mode for a log that is `empty` or not, of a node that is
    /// an `initial_voter` or not, under `state`.
    pub fn decide(empty: bool, initial_voter: bool, state: InitialClusterState) -> Self {
        match (empty, initial_voter, state) {
            (false, _, _) => Self::Resume,
            (true, false, _) => Self::WaitToJoin(WaitReason::NotAnInitialVoter),
            (true, true, InitialClusterState::Existing) => {
                Self::WaitToJoin(WaitReason::ClusterExists)
            }
            (true, true, InitialClusterState::New) => Self::Bootstrap,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use InitialClusterState::{Existing, New};

    fn state_of(extra: &[&str]) -> Result<InitialClusterState, clap::Error> {
        use clap::Parser;
        let mut argv = vec!["chronik-broker"];
        argv.extend_from_slice(extra);
        Ok(crate::cli::Cli::try_parse_from(argv)?
            .node
            .initial_cluster_state)
    }

    #[test]
    fn the_flag_defaults_to_new_and_takes_etcd_values() {
        if std::env::var_os("CHRONIK_INITIAL_CLUSTER_STATE").is_none() {
            assert_eq!(state_of(&[]).unwrap(), New);
        }
        assert_eq!(
            state_of(&["--initial-cluster-state", "existing"]).unwrap(),
            Existing
        );
        assert_eq!(state_of(&["--initial-cluster-state=new"]).unwrap(), New);
        assert!(state_of(&["--initial-cluster-state", "fresh"]).is_err());
    }

    #[test]
    fn only_an_empty_initial_voter_under_new_bootstraps() {
        assert_eq!(StartMode::decide(true, true, New), StartMode::Bootstrap);
        assert_eq!(
            StartMode::decide(true, true, Existing),
            StartMode::WaitToJoin(WaitReason::ClusterExists)
        );
        for state in [New, Existing] {
            assert_eq!(
                StartMode::decide(true, false, state),
                StartMode::WaitToJoin(WaitReason::NotAnInitialVoter)
            );
            assert_eq!(StartMode::decide(false, true, state), StartMode::Resume);
            assert_eq!(StartMode::decide(false, false, state), StartMode::Resume);
        }
    }
}
