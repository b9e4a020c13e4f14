//! DescribeAcls (v1–v3): needs Describe on the cluster
//! (`CLUSTER_AUTHORIZATION_FAILED`); the ACLs passing the filter (Kafka's
//! ANY and MATCH semantics), grouped by resource pattern.

use kafka_protocol::messages::describe_acls_response::{AclDescription, DescribeAclsResource};
use kafka_protocol::messages::{DescribeAclsRequest, DescribeAclsResponse};
use kafka_protocol::ResponseError;

use super::{sb, Handlers, RequestContext};
use crate::authz::{
    filter_from_wire, operation_code, pattern_code, permission_code, resource_code, WireFilter,
};
use crate::backend::Backend;
use chronik_api::security::{AclBinding, AclOperation};

fn failed(error: ResponseError, message: &str) -> DescribeAclsResponse {
    DescribeAclsResponse::default()
        .with_error_code(error.code())
        .with_error_message(Some(sb(message)))
}

/// Groups bindings (in the backend's stable order) by resource pattern.
fn grouped(acls: Vec<AclBinding>) -> Vec<DescribeAclsResource> {
    let mut resources: Vec<DescribeAclsResource> = Vec::new();
    for a in acls {
        let description = AclDescription::default()
            .with_principal(sb(&a.principal.to_string()))
            .with_host(sb(&a.host))
            .with_operation(operation_code(a.operation))
            .with_permission_type(permission_code(a.permission));
        let (t, p) = (resource_code(a.resource_type), pattern_code(a.pattern_type));
        match resources.iter_mut().find(|r| {
            r.resource_type == t
                && r.pattern_type == p
                && r.resource_name.as_str() == a.resource_name
        }) {
            Some(r) => r.acls.push(description),
            None => resources.push(
                DescribeAclsResource::default()
                    .with_resource_type(t)
                    .with_resource_name(sb(&a.resource_name))
                    .with_pattern_type(p)
                    .with_acls(vec![description]),
            ),
        }
    }
    resources
}

/// Handles DescribeAcls.
pub(crate) async fn handle<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    request: DescribeAclsRequest,
) -> DescribeAclsResponse {
    if !handlers.access(ctx).await.cluster(AclOperation::Describe) {
        return failed(
            ResponseError::ClusterAuthorizationFailed,
            "not authorized to describe the cluster",
        );
    }
    let filter = match filter_from_wire(WireFilter {
        resource_type: request.resource_type_filter,
        resource_name: request.resource_name_filter.as_deref(),
        pattern_type: request.pattern_type_filter,
        principal: request.principal_filter.as_deref(),
        host: request.host_filter.as_deref(),
        operation: request.operation,
        permission: request.permission_type,
    }) {
        Ok(f) => f,
        Err(e) => {
            return failed(
                ResponseError::InvalidRequest,
                &format!("invalid ACL filter: {e}"),
            )
        }
    };
    match handlers.backend.acls().await {
        Ok(acls) => {
            let matching = acls.into_iter().filter(|a| filter.matches(a)).collect();
            DescribeAclsResponse::default()
                .with_error_message(None)
                .with_resources(grouped(matching))
        }
        Err(e) => failed(e.response_error(), &e.to_string()),
    }
}
