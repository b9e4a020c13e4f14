//! DescribeGroups (v0–v5). Groups without members in this coordinator are reported
//! as `Dead`, as Kafka does for unknown groups.

use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse};

use super::{sb, Handlers, RequestContext};
use crate::backend::Backend;
use chronik_api::security::AclOperation;

/// Handles DescribeGroups.
pub(crate) async fn handle<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    request: DescribeGroupsRequest,
) -> DescribeGroupsResponse {
    let mut groups = Vec::with_capacity(request.groups.len());
    for id in &request.groups {
        let entry = DescribedGroup::default().with_group_id(id.clone());
        let check = handlers.check_group(ctx, AclOperation::Describe, id.as_str());
        if let Err(e) = check.await {
            groups.push(entry.with_error_code(e.code()));
            continue;
        }
        groups.push(match handlers.groups.describe(id.as_str()) {
            None => entry.with_group_state(sb("Dead")),
            Some(d) => entry
                .with_group_state(sb(d.state.as_str()))
                .with_protocol_type(sb(&d.protocol_type))
                .with_protocol_data(sb(&d.protocol_name))
                .with_members(
                    d.members
                        .into_iter()
                        .map(|m| {
                            DescribedGroupMember::default()
                                .with_member_id(sb(&m.member_id))
                                .with_group_instance_id(m.group_instance_id.as_deref().map(sb))
                                .with_client_id(sb(&m.client_id))
                                .with_client_host(sb(&m.client_host))
                                .with_member_metadata(m.metadata)
                                .with_member_assignment(m.assignment)
                        })
                        .collect(),
                ),
        });
    }
    DescribeGroupsResponse::default().with_groups(groups)
}
