//! KIP-951 new-leader hints for Produce (v10+) and Fetch (v12+/v16+): a
//! partition answered `NOT_LEADER_OR_FOLLOWER` or `FENCED_LEADER_EPOCH`
//! carries the leader this broker knows (id and epoch), and the response
//! lists that leader's endpoint on the client's listener, so the client
//! redirects without a Metadata round trip. Also resolves topic ids (Produce
//! v13, Fetch v13+).

use std::collections::{BTreeMap, HashMap};

use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::{Handlers, RequestContext};
use crate::backend::{Backend, BrokerInfo, TopicInfo};

/// Whether a partition error asks for a leader hint.
pub(crate) fn wants_hint(error_code: i16) -> bool {
    error_code == ResponseError::NotLeaderOrFollower.code()
        || error_code == ResponseError::FencedLeaderEpoch.code()
}

/// Topic names by id, read once per request that names topics by id.
#[derive(Debug, Default)]
pub(crate) struct TopicIds(HashMap<Uuid, String>);

impl TopicIds {
    /// Reads the ids from the backend (an error resolves every id to
    /// unknown: the client retries after refreshing its metadata).
    pub(crate) async fn load<B: Backend>(handlers: &Handlers<B>) -> Self {
        Self(handlers.backend.topic_ids().await.unwrap_or_default())
    }

    /// The name of the topic with id `id`.
    pub(crate) fn name_of(&self, id: Uuid) -> Option<&str> {
        self.0.get(&id).map(String::as_str)
    }
}

/// Topics (for leaders) and brokers on the client's listener, read once per
/// request, only when an error asks for a hint.
#[derive(Debug, Default)]
pub(crate) struct ClusterSnapshot {
    topics: Vec<TopicInfo>,
    brokers: Vec<BrokerInfo>,
}

impl ClusterSnapshot {
    /// Reads topics and, with `with_brokers`, the brokers on the request's
    /// listener. A backend error leaves the parts it could not read empty
    /// (hints are best effort).
    pub(crate) async fn load<B: Backend>(
        handlers: &Handlers<B>,
        ctx: &RequestContext,
        with_brokers: bool,
    ) -> Self {
        let topics = handlers.backend.list_topics().await.unwrap_or_default();
        let brokers = if with_brokers {
            handlers
                .cluster_on(&ctx.listener)
                .await
                .map(|c| c.brokers)
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        Self { topics, brokers }
    }

    /// The known leader of a partition and its epoch.
    pub(crate) fn leader_of(&self, topic: &str, partition: i32) -> Option<(i32, i32)> {
        let t = self.topics.iter().find(|t| t.name == topic)?;
        let p = t.partitions.iter().find(|p| p.partition == partition)?;
        (p.leader >= 0).then_some((p.leader, p.leader_epoch))
    }

    /// The endpoints of `leaders` (each once, by node id).
    pub(crate) fn endpoints(&self, leaders: impl IntoIterator<Item = i32>) -> Vec<&BrokerInfo> {
        let wanted: BTreeMap<i32, ()> = leaders.into_iter().map(|id| (id, ())).collect();
        self.brokers
            .iter()
            .filter(|b| wanted.contains_key(&b.node_id))
            .collect()
    }
}
