//! Request dispatch: one module per API, all sharing one [`Handlers`] (the
//! backend, the consumer group coordinator and the front-end settings).

mod alter_configs;
mod alter_user_scram_credentials;
mod api_versions;
mod config_change;
mod create_acls;
mod create_partitions;
mod create_topics;
mod delete_acls;
mod delete_groups;
mod delete_records;
mod delete_topics;
mod describe_acls;
mod describe_cluster;
mod describe_configs;
mod describe_groups;
mod describe_log_dirs;
mod describe_producers;
mod describe_user_scram_credentials;
mod elect_leaders;
mod fetch;
mod find_coordinator;
mod group_store;
mod heartbeat;
mod incremental_alter_configs;
mod init_producer_id;
mod join_group;
mod leader_hints;
mod leave_group;
mod list_groups;
mod list_offsets;
mod metadata;
mod offset_commit;
mod offset_delete;
mod offset_fetch;
mod offset_for_leader_epoch;
mod produce;
pub(crate) mod sasl_authenticate;
pub(crate) mod sasl_handshake;
mod sync_group;

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::{GroupId, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use crate::authz::{Access, AuthorizerKind, AuthzConfig};
use crate::backend::{Backend, BackendError, BrokerInfo, ClusterView};
use crate::codec::{self, CodecError, Decoded, DecodedRequest, RequestBody, ResponseBody};
use crate::group::GroupCoordinator;
pub use chronik_api::security::Principal;

/// Front-end settings that are not the backend's business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontendConfig {
    /// Partitions of a topic created with `num_partitions = -1`.
    pub default_partitions: i32,
    /// Replication factor of a topic created with `replication_factor = -1`.
    pub default_replication_factor: i16,
    /// Most record bytes in one Fetch response (`fetch.max.bytes`): the
    /// client's `max_bytes` is capped by it (one batch is still returned when
    /// the first is larger, so consumers make progress).
    pub fetch_max_bytes: usize,
    /// Which authorizer checks requests, and its settings.
    pub authz: AuthzConfig,
    /// `auto.create.topics.enable`: Metadata for an unknown topic creates
    /// it with [`Self::default_partitions`] and
    /// [`Self::default_replication_factor`].
    pub auto_create_topics_enable: bool,
}

/// A broker key's Kafka default from the shared table, parsed.
fn table_default<T: std::str::FromStr>(key: &str, fallback: T) -> T {
    chronik_api::config::broker_key(key)
        .and_then(|k| k.default.parse().ok())
        .unwrap_or(fallback)
}

/// Kafka's broker default of `fetch.max.bytes`: 55 MiB.
pub const DEFAULT_FETCH_MAX_BYTES: usize = 55 * 1024 * 1024;

impl Default for FrontendConfig {
    fn default() -> Self {
        Self {
            default_partitions: table_default("num.partitions", 1),
            default_replication_factor: table_default("default.replication.factor", 3),
            fetch_max_bytes: DEFAULT_FETCH_MAX_BYTES,
            authz: AuthzConfig::default(),
            auto_create_topics_enable: table_default("auto.create.topics.enable", true),
        }
    }
}

/// Per-request information handlers may need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    /// API version of the request.
    pub api_version: i16,
    /// Client id from the header.
    pub client_id: String,
    /// Peer address of the connection.
    pub client_host: String,
    /// Name of the listener the connection came in on.
    pub listener: String,
    /// Who the connection authenticated as (`User:ANONYMOUS` without
    /// authentication).
    pub principal: Principal,
}

/// What a connection knows of its client, handed to every request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Peer address of the connection.
    pub client_host: String,
    /// Name of the listener the connection came in on.
    pub listener: String,
    /// Who the connection authenticated as.
    pub principal: Principal,
}

impl Session {
    /// An unauthenticated connection from `client_host` on `listener`.
    pub fn anonymous(client_host: &str, listener: &str) -> Self {
        Self {
            client_host: client_host.to_string(),
            listener: listener.to_string(),
            principal: Principal::anonymous(),
        }
    }
}

/// A response ready to encode.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Version to encode with (normally the request's).
    pub version: i16,
    /// The body.
    pub body: ResponseBody,
}

/// The Kafka request handlers of one listener and what they share across
/// connections: backend, consumer group coordinator, settings.
#[derive(Debug)]
pub struct Handlers<B> {
    backend: Arc<B>,
    groups: Arc<GroupCoordinator>,
    /// Held while the stored groups load (one load at a time).
    group_load: tokio::sync::Mutex<()>,
    config: FrontendConfig,
}

impl<B: Backend> Handlers<B> {
    /// Creates the handlers; starts the consumer group coordinator's timer
    /// (needs a Tokio runtime).
    pub fn new(backend: Arc<B>, config: FrontendConfig) -> Self {
        let store = Arc::new(group_store::BackendGroups(Arc::clone(&backend)));
        Self {
            backend,
            groups: GroupCoordinator::start_with_store(store),
            group_load: tokio::sync::Mutex::new(()),
            config,
        }
    }

    /// Groups with members on this broker's coordinator: their committed
    /// offsets must not expire (`offsets.retention.minutes`).
    pub fn active_groups(&self) -> Vec<String> {
        self.groups
            .list()
            .into_iter()
            .filter(|g| g.state != crate::group::GroupState::Empty)
            .map(|g| g.group_id)
            .collect()
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<B> {
        &self.backend
    }

    /// Decodes a frame, handles it and encodes the answer. `Ok(None)` means no
    /// response is due (Produce with `acks=0`); an error means the connection should
    /// be closed.
    pub async fn handle_frame(
        &self,
        frame: Bytes,
        session: &Session,
    ) -> Result<Option<Bytes>, CodecError> {
        let request = codec::decode_request(frame)?;
        let correlation_id = request.header.correlation_id;
        match self.handle(request, session).await {
            Some(reply) => {
                codec::encode_response(correlation_id, reply.version, &reply.body).map(Some)
            }
            None => Ok(None),
        }
    }

    /// Handles a decoded request.
    pub async fn handle(&self, request: DecodedRequest, session: &Session) -> Option<Reply> {
        let ctx = RequestContext {
            api_version: request.header.request_api_version,
            client_id: request
                .header
                .client_id
                .as_ref()
                .map(|s| s.to_string())
                .unwrap_or_default(),
            client_host: session.client_host.clone(),
            listener: session.listener.clone(),
            principal: session.principal.clone(),
        };
        let body = match request.body {
            Decoded::UnsupportedApiVersions => {
                return Some(Reply {
                    version: 0,
                    body: ResponseBody::ApiVersions(api_versions::unsupported()),
                })
            }
            Decoded::Body(body) => *body,
        };
        let version = ctx.api_version;
        let response = match body {
            RequestBody::ApiVersions(r) => ResponseBody::ApiVersions(api_versions::handle(&r)),
            RequestBody::Metadata(r) => {
                ResponseBody::Metadata(metadata::handle(self, &ctx, r).await)
            }
            RequestBody::CreateTopics(r) => {
                ResponseBody::CreateTopics(create_topics::handle(self, &ctx, r).await)
            }
            RequestBody::DeleteTopics(r) => {
                ResponseBody::DeleteTopics(delete_topics::handle(self, &ctx, r).await)
            }
            RequestBody::DeleteRecords(r) => {
                ResponseBody::DeleteRecords(delete_records::handle(self, &ctx, r).await)
            }
            RequestBody::CreatePartitions(r) => {
                ResponseBody::CreatePartitions(create_partitions::handle(self, &ctx, r).await)
            }
            RequestBody::Produce(r) => ResponseBody::Produce(produce::handle(self, &ctx, r).await?),
            RequestBody::Fetch(r) => ResponseBody::Fetch(fetch::handle(self, &ctx, r).await),
            RequestBody::ListOffsets(r) => {
                ResponseBody::ListOffsets(list_offsets::handle(self, &ctx, r).await)
            }
            RequestBody::InitProducerId(r) => {
                ResponseBody::InitProducerId(init_producer_id::handle(self, &ctx, r).await)
            }
            RequestBody::FindCoordinator(r) => {
                ResponseBody::FindCoordinator(find_coordinator::handle(self, &ctx, r).await)
            }
            RequestBody::JoinGroup(r) => {
                ResponseBody::JoinGroup(join_group::handle(self, &ctx, r).await)
            }
            RequestBody::SyncGroup(r) => {
                ResponseBody::SyncGroup(sync_group::handle(self, &ctx, r).await)
            }
            RequestBody::Heartbeat(r) => {
                ResponseBody::Heartbeat(heartbeat::handle(self, &ctx, r).await)
            }
            RequestBody::LeaveGroup(r) => {
                ResponseBody::LeaveGroup(leave_group::handle(self, &ctx, r).await)
            }
            RequestBody::OffsetCommit(r) => {
                ResponseBody::OffsetCommit(offset_commit::handle(self, &ctx, r).await)
            }
            RequestBody::OffsetFetch(r) => {
                ResponseBody::OffsetFetch(offset_fetch::handle(self, &ctx, r).await)
            }
            RequestBody::DescribeGroups(r) => {
                ResponseBody::DescribeGroups(describe_groups::handle(self, &ctx, r).await)
            }
            RequestBody::ListGroups(r) => {
                ResponseBody::ListGroups(list_groups::handle(self, &ctx, r).await)
            }
            RequestBody::CreateAcls(r) => {
                ResponseBody::CreateAcls(create_acls::handle(self, &ctx, r).await)
            }
            RequestBody::DescribeAcls(r) => {
                ResponseBody::DescribeAcls(describe_acls::handle(self, &ctx, r).await)
            }
            RequestBody::DeleteAcls(r) => {
                ResponseBody::DeleteAcls(delete_acls::handle(self, &ctx, r).await)
            }
            RequestBody::DeleteGroups(r) => {
                ResponseBody::DeleteGroups(delete_groups::handle(self, &ctx, r).await)
            }
            RequestBody::OffsetDelete(r) => {
                ResponseBody::OffsetDelete(offset_delete::handle(self, &ctx, r).await)
            }
            RequestBody::DescribeCluster(r) => {
                ResponseBody::DescribeCluster(describe_cluster::handle(self, &ctx, r).await)
            }
            RequestBody::DescribeConfigs(r) => {
                ResponseBody::DescribeConfigs(describe_configs::handle(self, &ctx, r).await)
            }
            RequestBody::AlterConfigs(r) => {
                ResponseBody::AlterConfigs(alter_configs::handle(self, &ctx, r).await)
            }
            RequestBody::IncrementalAlterConfigs(r) => ResponseBody::IncrementalAlterConfigs(
                incremental_alter_configs::handle(self, &ctx, r).await,
            ),
            RequestBody::SaslHandshake(_) => {
                ResponseBody::SaslHandshake(sasl_handshake::out_of_state())
            }
            RequestBody::SaslAuthenticate(_) => {
                ResponseBody::SaslAuthenticate(sasl_authenticate::out_of_state())
            }
            RequestBody::DescribeUserScramCredentials(r) => {
                ResponseBody::DescribeUserScramCredentials(
                    describe_user_scram_credentials::handle(self, &ctx, r).await,
                )
            }
            RequestBody::AlterUserScramCredentials(r) => ResponseBody::AlterUserScramCredentials(
                alter_user_scram_credentials::handle(self, &ctx, r).await,
            ),
            RequestBody::OffsetForLeaderEpoch(r) => ResponseBody::OffsetForLeaderEpoch(
                offset_for_leader_epoch::handle(self, &ctx, r).await,
            ),
            RequestBody::DescribeProducers(r) => {
                ResponseBody::DescribeProducers(describe_producers::handle(self, &ctx, r).await)
            }
            RequestBody::DescribeLogDirs(r) => {
                ResponseBody::DescribeLogDirs(describe_log_dirs::handle(self, &ctx, r).await)
            }
            RequestBody::ElectLeaders(r) => {
                ResponseBody::ElectLeaders(elect_leaders::handle(self, &ctx, r).await)
            }
        };
        Some(Reply {
            version,
            body: response,
        })
    }

    /// `Ok` when this broker coordinates `group`, else the error to answer with.
    async fn check_coordinator(&self, group: &str) -> Result<(), ResponseError> {
        match self.backend.group_coordinator(group).await {
            Ok(node) if node == self.backend.node_id() => self.ensure_groups_loaded().await,
            Ok(_) => Err(ResponseError::NotCoordinator),
            Err(_) => Err(ResponseError::CoordinatorNotAvailable),
        }
    }

    /// What the request's principal may do, with the ACLs in force now
    /// (read once per request; unreadable ACLs allow only super users).
    async fn access(&self, ctx: &RequestContext) -> Access {
        let authz = &self.config.authz;
        if authz.kind == AuthorizerKind::None || authz.super_users.contains(&ctx.principal) {
            return Access::everything(&ctx.principal, &ctx.client_host);
        }
        let acls = match self.backend.acls().await {
            Ok(acls) => Some(acls),
            Err(e) => {
                tracing::warn!(error = %e, "ACLs unavailable: denying the request");
                None
            }
        };
        Access::new(authz, &ctx.principal, &ctx.client_host, acls)
    }

    /// [`Self::check_coordinator`] after checking `operation` on the group
    /// (`GROUP_AUTHORIZATION_FAILED`, as Kafka answers before anything else).
    async fn check_group(
        &self,
        ctx: &RequestContext,
        operation: chronik_api::security::AclOperation,
        group: &str,
    ) -> Result<(), ResponseError> {
        if !self.access(ctx).await.group(operation, group) {
            return Err(ResponseError::GroupAuthorizationFailed);
        }
        self.check_coordinator(group).await
    }

    /// Looks up a broker of the cluster as seen on `listener`.
    async fn broker_info(&self, node_id: i32, listener: &str) -> Option<BrokerInfo> {
        let cluster = self.cluster_on(listener).await.ok()?;
        cluster.brokers.into_iter().find(|b| b.node_id == node_id)
    }

    /// The cluster as a client on `listener` sees it: every broker at its
    /// address on that listener (its default address when it has none).
    async fn cluster_on(&self, listener: &str) -> Result<ClusterView, BackendError> {
        let mut cluster = self.backend.cluster().await?;
        let addresses = self.backend.listener_addresses().await?;
        if let Some(on_listener) = addresses.get(listener) {
            for broker in &mut cluster.brokers {
                if let Some((host, port)) = on_listener.get(&broker.node_id) {
                    broker.host.clone_from(host);
                    broker.port = *port;
                }
            }
        }
        Ok(cluster)
    }
}

/// A `StrBytes` from a string slice.
pub(crate) fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_owned())
}

/// A `TopicName` from a string slice.
pub(crate) fn topic_name(s: &str) -> TopicName {
    TopicName(sb(s))
}

/// A `GroupId` from a string slice.
pub(crate) fn group_id(s: &str) -> GroupId {
    GroupId(sb(s))
}

/// The numeric code of an optional error (`0` for none).
pub(crate) fn code(error: Option<ResponseError>) -> i16 {
    error.map_or(0, |e| e.code())
}

#[cfg(test)]
mod test_harness;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_authz;
#[cfg(test)]
mod tests_configs;
#[cfg(test)]
mod tests_delete_records;
#[cfg(test)]
mod tests_groups;
#[cfg(test)]
mod tests_legacy;
#[cfg(test)]
mod tests_partition_admin;
#[cfg(test)]
mod tests_produce;
