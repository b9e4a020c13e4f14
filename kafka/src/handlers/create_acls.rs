//! CreateAcls (v1–v3): needs Alter on the cluster; each creation is
//! validated as Kafka does and answered on its own (`INVALID_REQUEST` with
//! the reason); the valid ones are added through the backend together.

use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::create_acls_response::AclCreationResult;
use kafka_protocol::messages::{CreateAclsRequest, CreateAclsResponse};
use kafka_protocol::ResponseError;

use super::{sb, Handlers, RequestContext};
use crate::authz::{binding_from_wire, WireAcl};
use crate::backend::Backend;
use chronik_api::security::{AclBinding, AclOperation};

fn failed(error: ResponseError, message: &str) -> AclCreationResult {
    AclCreationResult::default()
        .with_error_code(error.code())
        .with_error_message(Some(sb(message)))
}

fn validate(c: &AclCreation) -> Result<AclBinding, String> {
    binding_from_wire(WireAcl {
        resource_type: c.resource_type,
        resource_name: c.resource_name.as_str(),
        pattern_type: c.resource_pattern_type,
        principal: c.principal.as_str(),
        host: c.host.as_str(),
        operation: c.operation,
        permission: c.permission_type,
    })
    .map_err(|e| format!("invalid ACL creation: {e}"))
}

/// Handles CreateAcls.
pub(crate) async fn handle<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    request: CreateAclsRequest,
) -> CreateAclsResponse {
    if !handlers.access(ctx).await.cluster(AclOperation::Alter) {
        let denied = failed(
            ResponseError::ClusterAuthorizationFailed,
            "not authorized to alter the cluster",
        );
        return CreateAclsResponse::default().with_results(vec![denied; request.creations.len()]);
    }
    let checked: Vec<Result<AclBinding, String>> = request.creations.iter().map(validate).collect();
    let valid: Vec<AclBinding> = checked
        .iter()
        .filter_map(|c| c.as_ref().ok())
        .cloned()
        .collect();
    let stored = if valid.is_empty() {
        Ok(())
    } else {
        handlers.backend.create_acls(valid).await
    };
    let results = checked
        .into_iter()
        .map(|c| match (c, &stored) {
            (Err(reason), _) => failed(ResponseError::InvalidRequest, &reason),
            (Ok(_), Ok(())) => AclCreationResult::default().with_error_message(None),
            (Ok(_), Err(e)) => failed(e.response_error(), &e.to_string()),
        })
        .collect();
    CreateAclsResponse::default().with_results(results)
}
