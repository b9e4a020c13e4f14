//! What the brokers answered to `GET /v1/status`, one answer per pod, and
//! the leader among them, found once.

use chronik_api::BrokerStatus;

use super::BrokerError;

/// Every pod's answer by ordinal, and the leader: the broker that says it
/// leads with the highest term. The planner and the status read the leader
/// from here, so they never disagree about it.
#[derive(Debug, Clone)]
pub struct Answers {
    by_ordinal: Vec<Result<BrokerStatus, BrokerError>>,
    leader: Option<usize>,
}

impl Answers {
    /// The answers of pods `0..`, in ordinal order.
    pub fn new(by_ordinal: Vec<Result<BrokerStatus, BrokerError>>) -> Self {
        let leader = by_ordinal
            .iter()
            .enumerate()
            .filter_map(|(i, a)| Some((i, a.as_ref().ok()?)))
            .filter(|(_, a)| a.is_leader())
            .max_by_key(|(_, a)| a.term)
            .map(|(i, _)| i);
        Self { by_ordinal, leader }
    }

    /// The leader's answer: the authority on membership and replication.
    pub fn leader(&self) -> Option<&BrokerStatus> {
        self.leader
            .and_then(|i| self.by_ordinal.get(i))
            .and_then(|a| a.as_ref().ok())
    }

    /// Every answer that came back.
    pub fn answered(&self) -> impl Iterator<Item = &BrokerStatus> {
        self.by_ordinal.iter().filter_map(|a| a.as_ref().ok())
    }

    /// Ordinals of the pods that did not answer.
    pub fn silent_ordinals(&self) -> impl Iterator<Item = u32> + '_ {
        self.by_ordinal
            .iter()
            .enumerate()
            .filter(|(_, a)| a.is_err())
            .filter_map(|(i, _)| u32::try_from(i).ok())
    }
}
