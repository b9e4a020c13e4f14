//! DescribeCluster (v0–v2): the brokers (at their addresses on the client's
//! listener), the controller and the cluster id. As in Kafka it needs no
//! permission; the cluster's authorized operations are computed only when
//! asked for (0 without Describe on the cluster).

use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterRequest, DescribeClusterResponse};
use kafka_protocol::ResponseError;

use super::{sb, Handlers, RequestContext};
use crate::authz::{operation_code, Access};
use crate::backend::Backend;
use chronik_api::security::AclOperation;

/// Kafka's endpoint type of brokers (v1+; 2 = controllers).
const BROKERS: i8 = 1;

/// Operations that apply to the cluster resource, as Kafka lists them.
const CLUSTER_OPERATIONS: [AclOperation; 7] = [
    AclOperation::Alter,
    AclOperation::AlterConfigs,
    AclOperation::ClusterAction,
    AclOperation::Create,
    AclOperation::Describe,
    AclOperation::DescribeConfigs,
    AclOperation::IdempotentWrite,
];

/// The bit set of cluster operations `access` allows (Kafka's encoding:
/// bit n = operation code n); 0 without Describe. Metadata v8–v10 answers it
/// too (librdkafka's `DescribeCluster` asks Metadata).
pub(super) fn authorized_operations(access: &Access) -> i32 {
    if !access.cluster(AclOperation::Describe) {
        return 0;
    }
    CLUSTER_OPERATIONS
        .into_iter()
        .filter(|o| access.cluster(*o))
        .fold(0, |bits, o| bits | (1 << operation_code(o)))
}

/// Handles DescribeCluster.
pub(crate) async fn handle<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    request: DescribeClusterRequest,
) -> DescribeClusterResponse {
    let response = DescribeClusterResponse::default().with_endpoint_type(BROKERS);
    if ctx.api_version >= 1 && request.endpoint_type != BROKERS {
        return response
            .with_error_code(ResponseError::UnsupportedEndpointType.code())
            .with_error_message(Some(sb("a broker describes brokers (endpoint type 1)")));
    }
    let cluster = match handlers.cluster_on(&ctx.listener).await {
        Ok(c) => c,
        Err(e) => {
            return response
                .with_error_code(e.response_error().code())
                .with_error_message(Some(sb(&e.to_string())))
        }
    };
    let operations = if request.include_cluster_authorized_operations {
        authorized_operations(&handlers.access(ctx).await)
    } else {
        i32::MIN
    };
    let brokers = cluster
        .brokers
        .iter()
        .map(|b| {
            DescribeClusterBroker::default()
                .with_broker_id(BrokerId(b.node_id))
                .with_host(sb(&b.host))
                .with_port(b.port)
        })
        .collect();
    response
        .with_cluster_id(sb(&cluster.cluster_id))
        .with_controller_id(BrokerId(cluster.controller_id))
        .with_brokers(brokers)
        .with_cluster_authorized_operations(operations)
}
