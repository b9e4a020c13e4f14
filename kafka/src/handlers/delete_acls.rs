//! DeleteAcls (v1–v3): needs Alter on the cluster; each filter (Kafka's ANY
//! and MATCH semantics) is answered with the ACLs it matched, and every
//! matched ACL is removed through the backend at once.

use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
use kafka_protocol::messages::delete_acls_response::{
    DeleteAclsFilterResult, DeleteAclsMatchingAcl,
};
use kafka_protocol::messages::{DeleteAclsRequest, DeleteAclsResponse};
use kafka_protocol::ResponseError;

use super::{sb, Handlers, RequestContext};
use crate::authz::{
    filter_from_wire, operation_code, pattern_code, permission_code, resource_code, AclFilter,
    WireFilter,
};
use crate::backend::Backend;
use chronik_api::security::{AclBinding, AclOperation};

fn failed(error: ResponseError, message: &str) -> DeleteAclsFilterResult {
    DeleteAclsFilterResult::default()
        .with_error_code(error.code())
        .with_error_message(Some(sb(message)))
}

fn parse(f: &DeleteAclsFilter) -> Result<AclFilter, String> {
    filter_from_wire(WireFilter {
        resource_type: f.resource_type_filter,
        resource_name: f.resource_name_filter.as_deref(),
        pattern_type: f.pattern_type_filter,
        principal: f.principal_filter.as_deref(),
        host: f.host_filter.as_deref(),
        operation: f.operation,
        permission: f.permission_type,
    })
    .map_err(|e| format!("invalid ACL filter: {e}"))
}

fn matching(a: &AclBinding) -> DeleteAclsMatchingAcl {
    DeleteAclsMatchingAcl::default()
        .with_error_message(None)
        .with_resource_type(resource_code(a.resource_type))
        .with_resource_name(sb(&a.resource_name))
        .with_pattern_type(pattern_code(a.pattern_type))
        .with_principal(sb(&a.principal.to_string()))
        .with_host(sb(&a.host))
        .with_operation(operation_code(a.operation))
        .with_permission_type(permission_code(a.permission))
}

/// Handles DeleteAcls.
pub(crate) async fn handle<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    request: DeleteAclsRequest,
) -> DeleteAclsResponse {
    let every = |r: DeleteAclsFilterResult| vec![r; request.filters.len()];
    if !handlers.access(ctx).await.cluster(AclOperation::Alter) {
        let denied = failed(
            ResponseError::ClusterAuthorizationFailed,
            "not authorized to alter the cluster",
        );
        return DeleteAclsResponse::default().with_filter_results(every(denied));
    }
    let acls = match handlers.backend.acls().await {
        Ok(acls) => acls,
        Err(e) => {
            let r = failed(e.response_error(), &e.to_string());
            return DeleteAclsResponse::default().with_filter_results(every(r));
        }
    };
    let matched: Vec<Result<Vec<AclBinding>, String>> = request
        .filters
        .iter()
        .map(|f| parse(f).map(|f| acls.iter().filter(|a| f.matches(a)).cloned().collect()))
        .collect();
    let mut doomed: Vec<AclBinding> = matched.iter().flatten().flatten().cloned().collect();
    doomed.sort();
    doomed.dedup();
    let removed = if doomed.is_empty() {
        Ok(())
    } else {
        handlers.backend.delete_acls(doomed).await
    };
    let results = matched
        .into_iter()
        .map(|m| match (m, &removed) {
            (Err(reason), _) => failed(ResponseError::InvalidRequest, &reason),
            (Ok(found), Ok(())) => DeleteAclsFilterResult::default()
                .with_error_message(None)
                .with_matching_acls(found.iter().map(matching).collect()),
            (Ok(_), Err(e)) => failed(e.response_error(), &e.to_string()),
        })
        .collect();
    DeleteAclsResponse::default().with_filter_results(results)
}
