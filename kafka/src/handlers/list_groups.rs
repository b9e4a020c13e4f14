//! ListGroups (v0–v4): the groups this broker coordinates (loaded from the
//! backend first; none on a broker that coordinates none), optionally
//! filtered by state (v4).

use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{ListGroupsRequest, ListGroupsResponse};

use super::{group_id, sb, Handlers, RequestContext};
use crate::backend::Backend;
use chronik_api::security::AclOperation::Describe;

/// Handles ListGroups: every group with Describe on the cluster, else
/// only the groups the principal may Describe.
pub(crate) async fn handle<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    request: ListGroupsRequest,
) -> ListGroupsResponse {
    if !handlers.coordinates_groups().await {
        return ListGroupsResponse::default();
    }
    let access = handlers.access(ctx).await;
    let everything = access.cluster(Describe);
    let groups = handlers
        .groups
        .list()
        .into_iter()
        .filter(|g| everything || access.group(Describe, &g.group_id))
        .filter(|g| {
            request.states_filter.is_empty()
                || request
                    .states_filter
                    .iter()
                    .any(|s| s.as_str().eq_ignore_ascii_case(g.state.as_str()))
        })
        .map(|g| {
            ListedGroup::default()
                .with_group_id(group_id(&g.group_id))
                .with_protocol_type(sb(&g.protocol_type))
                .with_group_state(sb(g.state.as_str()))
        })
        .collect();
    ListGroupsResponse::default().with_groups(groups)
}
