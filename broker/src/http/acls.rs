//! ACL endpoints (bodies of `chronik_api::security`): `GET /v1/acls` lists
//! the ACLs this broker applied; `POST /v1/acls` (an `AclList`) and
//! `POST /v1/acls/delete` (an `AclDeleteRequest`) are proposed to the
//! metadata group like topic creation (421 with the leader on a follower).

use super::error::{bad_request, error_response};
use super::HttpState;
use crate::state_machine::acls;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chronik_api::security::{AclBinding, AclDeleteRequest, AclList};
use chronik_kafka::authz::{
    binding_from_wire, operation_code, pattern_code, permission_code, resource_code, WireAcl,
};

pub(super) async fn list(State(s): State<HttpState>) -> Response {
    match s
        .node
        .query(|sm| sm.acls().all().iter().cloned().collect())
        .await
    {
        Ok(acls) => Json(AclList { acls }).into_response(),
        Err(e) => error_response(e),
    }
}

/// Kafka's CreateAcls validation (cluster name, empty names and hosts).
fn validate(a: &AclBinding) -> Result<(), String> {
    let principal = a.principal.to_string();
    binding_from_wire(WireAcl {
        resource_type: resource_code(a.resource_type),
        resource_name: &a.resource_name,
        pattern_type: pattern_code(a.pattern_type),
        principal: &principal,
        host: &a.host,
        operation: operation_code(a.operation),
        permission: permission_code(a.permission),
    })
    .map(|_| ())
    .map_err(|e| format!("invalid ACL {a:?}: {e}"))
}

pub(super) async fn create(State(s): State<HttpState>, body: Bytes) -> Response {
    let list: AclList = match serde_json::from_slice(&body) {
        Ok(l) => l,
        Err(e) => return bad_request(format!("expected {{\"acls\": [...]}}: {e}")),
    };
    if let Err(e) = list.acls.iter().try_for_each(validate) {
        return bad_request(e);
    }
    match s.node.propose(acls::create_command(&list.acls)).await {
        Ok(_) => (StatusCode::CREATED, Json(list)).into_response(),
        Err(e) => error_response(e),
    }
}

pub(super) async fn delete(State(s): State<HttpState>, body: Bytes) -> Response {
    let req: AclDeleteRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad_request(format!("expected an ACL delete request: {e}")),
    };
    let by_filter = req.principal.is_some() || req.resource_type.is_some() || req.exact.is_empty();
    let matching = move |sm: &crate::state_machine::MetaStateMachine| -> Vec<AclBinding> {
        sm.acls()
            .all()
            .iter()
            .filter(|a| {
                let filtered = by_filter
                    && req.principal.as_ref().is_none_or(|p| *p == a.principal)
                    && req.resource_type.is_none_or(|t| t == a.resource_type);
                filtered || req.exact.contains(a)
            })
            .cloned()
            .collect()
    };
    let doomed = match s.node.query(matching).await {
        Ok(d) => d,
        Err(e) => return error_response(e),
    };
    if doomed.is_empty() {
        return Json(AclList::default()).into_response();
    }
    match s.node.propose(acls::delete_command(&doomed)).await {
        Ok(_) => Json(AclList { acls: doomed }).into_response(),
        Err(e) => error_response(e),
    }
}
