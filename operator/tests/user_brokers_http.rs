//! [`HttpBrokers`]' user and ACL calls against two HTTP servers on
//! loopback: a follower that answers `421` naming the leader by id, and the
//! leader that records the requests. Every call reaches the leader with
//! the paths and `chronik_api::security` bodies of the shared contract.

mod support;

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{Method, StatusCode, Uri};
use axum::response::IntoResponse;
use chronik_api::security::{
    AclBinding, AclDeleteRequest, AclList, AclOperation, AclPermission, PatternType, Principal,
    ResourceType, ScramMechanism, ScramUpsert,
};
use chronik_operator::addresses::MemberAddresses;
use chronik_operator::brokers::{BrokerError, SecurityApi};
use serde_json::{json, Value};
use support::brokers_http::{brokers, serve, Two};

type Seen = Arc<Mutex<Vec<(String, String, Value)>>>;

/// The leader: records every request and answers as the broker would.
async fn leader(seen: Seen) -> String {
    let app = axum::Router::new().fallback(move |method: Method, uri: Uri, body: Bytes| {
        let seen = seen.clone();
        async move {
            let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let path = uri.path().to_string();
            seen.lock()
                .unwrap()
                .push((method.to_string(), path.clone(), body));
            match (method.as_str(), path.as_str()) {
                ("GET", "/v1/users") => axum::Json(json!([{"user": "alice",
                    "credentials": [{"mechanism": "SCRAM-SHA-512", "iterations": 4096}]}]))
                .into_response(),
                ("GET", "/v1/acls") => axum::Json(json!({"acls": []})).into_response(),
                ("DELETE", "/v1/users/gone/scram/SCRAM-SHA-512") => {
                    StatusCode::NOT_FOUND.into_response()
                }
                _ => axum::Json(json!({})).into_response(),
            }
        }
    });
    serve(app).await
}

/// A follower: every request is answered `421` naming leader 2 by id.
async fn follower() -> String {
    let app = axum::Router::new().fallback(|| async {
        (
            StatusCode::MISDIRECTED_REQUEST,
            axum::Json(json!({"error": "not the leader", "leader_id": 2})),
        )
    });
    serve(app).await
}

#[tokio::test]
async fn security_calls_follow_421_to_the_leader_with_the_contract_bodies() {
    let seen = Seen::default();
    let members: Arc<dyn MemberAddresses> = Arc::new(Two {
        follower: follower().await,
        leader: leader(seen.clone()).await,
    });
    let brokers = brokers();
    let users = brokers
        .list_scram_users(members.clone(), 1)
        .await
        .expect("users");
    assert_eq!(users[0].user, "alice");
    assert_eq!(
        users[0].credentials[0].mechanism,
        ScramMechanism::ScramSha512
    );
    let credential = ScramUpsert {
        mechanism: ScramMechanism::ScramSha512,
        iterations: 4096,
        salt: "c2FsdA==".to_string(),
        salted_password: "AAAA".to_string(),
    };
    brokers
        .upsert_scram(members.clone(), 1, "alice".to_string(), credential.clone())
        .await
        .expect("upsert");
    // An absent credential is already deleted.
    brokers
        .delete_scram(
            members.clone(),
            1,
            "gone".to_string(),
            ScramMechanism::ScramSha512,
        )
        .await
        .expect("delete of an absent credential");
    assert!(brokers
        .list_acls(members.clone(), 1)
        .await
        .expect("acls")
        .acls
        .is_empty());
    let binding = AclBinding {
        resource_type: ResourceType::Topic,
        resource_name: "orders".to_string(),
        pattern_type: PatternType::Literal,
        principal: Principal::user("alice"),
        host: "*".to_string(),
        operation: AclOperation::Read,
        permission: AclPermission::Allow,
    };
    let list = AclList {
        acls: vec![binding.clone()],
    };
    brokers
        .create_acls(members.clone(), 1, list.clone())
        .await
        .expect("create");
    let delete = AclDeleteRequest {
        exact: vec![binding],
        ..AclDeleteRequest::default()
    };
    brokers
        .delete_acls(members.clone(), 1, delete.clone())
        .await
        .expect("delete");

    let seen = seen.lock().unwrap().clone();
    let lines: Vec<(&str, &str)> = seen
        .iter()
        .map(|(m, p, _)| (m.as_str(), p.as_str()))
        .collect();
    assert_eq!(
        lines,
        [
            ("GET", "/v1/users"),
            ("PUT", "/v1/users/alice/scram"),
            ("DELETE", "/v1/users/gone/scram/SCRAM-SHA-512"),
            ("GET", "/v1/acls"),
            ("POST", "/v1/acls"),
            ("POST", "/v1/acls/delete"),
        ]
    );
    assert_eq!(seen[1].2, serde_json::to_value(&credential).expect("json"));
    assert_eq!(seen[4].2, serde_json::to_value(&list).expect("json"));
    assert_eq!(seen[5].2, serde_json::to_value(&delete).expect("json"));
}

#[tokio::test]
async fn errors_name_the_request() {
    let app = axum::Router::new().fallback(|| async {
        (
            StatusCode::FORBIDDEN,
            axum::Json(json!({"error": "use the admin port"})),
        )
    });
    let url = serve(app).await;
    let members: Arc<dyn MemberAddresses> = Arc::new(Two {
        follower: url.clone(),
        leader: url.clone(),
    });
    let brokers = brokers();
    let error = brokers
        .create_acls(members, 1, AclList::default())
        .await
        .expect_err("forbidden");
    assert_eq!(
        error,
        BrokerError::Http {
            method: "POST",
            url: format!("{url}/v1/acls"),
            code: 403,
            message: "use the admin port".to_string(),
        }
    );
}
