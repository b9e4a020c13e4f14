//! DeleteGroups (v0–v2): removes empty groups with their committed offsets.
//! Per group, as Kafka answers: `GROUP_AUTHORIZATION_FAILED` without Delete
//! on the group, `NOT_COORDINATOR` elsewhere than on the coordinator,
//! `GROUP_ID_NOT_FOUND` for an unknown group, `NON_EMPTY_GROUP` while it has
//! members.

use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse};
use kafka_protocol::ResponseError;

use super::{Handlers, RequestContext};
use crate::backend::Backend;
use chronik_api::security::AclOperation::Delete;

async fn delete_one<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    group: &str,
) -> Result<(), ResponseError> {
    handlers.check_group(ctx, Delete, group).await?;
    handlers.groups.check_deletable(group)?;
    handlers
        .backend
        .delete_group(group)
        .await
        .map_err(|e| e.response_error())?;
    handlers.groups.remove_empty(group);
    Ok(())
}

/// Handles DeleteGroups.
pub(crate) async fn handle<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    request: DeleteGroupsRequest,
) -> DeleteGroupsResponse {
    let mut results = Vec::with_capacity(request.groups_names.len());
    for group in &request.groups_names {
        let outcome = delete_one(handlers, ctx, group.as_str()).await;
        results.push(
            DeletableGroupResult::default()
                .with_group_id(group.clone())
                .with_error_code(outcome.err().map_or(0, |e| e.code())),
        );
    }
    DeleteGroupsResponse::default().with_results(results)
}
