//! Kafka users' SCRAM credentials over HTTP: `GET /v1/users`,
//! `PUT /v1/users/{user}/scram` ([`ScramUpsert`]: a salted password, never
//! the password), `DELETE /v1/users/{user}/scram/{mechanism}`. Writes are
//! proposed to the metadata group, as AlterUserScramCredentials' are.

use super::error::{bad_request, error_body, error_response};
use super::HttpState;
use crate::state_machine::scram_command;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chronik_api::security::{
    ScramMechanism, ScramUpsert, MAX_SCRAM_ITERATIONS, MIN_SCRAM_ITERATIONS,
};
use chronik_kafka::backend::ScramAlteration;
use chronik_kafka::sasl::ScramCredential;

pub(super) async fn list_users(State(s): State<HttpState>) -> Response {
    match s.node.query(|sm| sm.scram().users()).await {
        Ok(users) => Json(users).into_response(),
        Err(e) => error_response(e),
    }
}

fn credential(upsert: &ScramUpsert) -> Result<ScramCredential, String> {
    if !(MIN_SCRAM_ITERATIONS..=MAX_SCRAM_ITERATIONS).contains(&upsert.iterations) {
        return Err(format!(
            "iterations must be between {MIN_SCRAM_ITERATIONS} and {MAX_SCRAM_ITERATIONS}"
        ));
    }
    let salt = B64.decode(&upsert.salt).map_err(|e| format!("salt: {e}"))?;
    let salted = B64
        .decode(&upsert.salted_password)
        .map_err(|e| format!("salted_password: {e}"))?;
    if salt.is_empty() || salted.is_empty() {
        return Err("salt and salted_password must not be empty".to_string());
    }
    Ok(ScramCredential::from_salted_password(
        upsert.mechanism,
        &salt,
        &salted,
        upsert.iterations,
    ))
}

pub(super) async fn put_scram(
    State(s): State<HttpState>,
    Path(user): Path<String>,
    body: Bytes,
) -> Response {
    let upsert: ScramUpsert = match serde_json::from_slice(&body) {
        Ok(u) => u,
        Err(e) => return bad_request(format!("expected a ScramUpsert body: {e}")),
    };
    if user.is_empty() {
        return bad_request("the user name must not be empty");
    }
    let credential = match credential(&upsert) {
        Ok(c) => c,
        Err(e) => return bad_request(e),
    };
    let cmd = scram_command(vec![ScramAlteration::Upsert {
        user,
        mechanism: upsert.mechanism,
        credential,
    }]);
    match s.node.propose(cmd).await {
        Ok(index) => Json(serde_json::json!({"index": index})).into_response(),
        Err(e) => error_response(e),
    }
}

pub(super) async fn delete_scram(
    State(s): State<HttpState>,
    Path((user, mechanism)): Path<(String, String)>,
) -> Response {
    let Ok(mechanism) =
        serde_json::from_value::<ScramMechanism>(serde_json::Value::String(mechanism.clone()))
    else {
        return bad_request(format!(
            "unknown mechanism {mechanism:?} (SCRAM-SHA-256 or SCRAM-SHA-512)"
        ));
    };
    let u = user.clone();
    match s
        .node
        .query(move |sm| sm.scram().of(&u).iter().any(|(m, _)| *m == mechanism))
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            return error_body(
                StatusCode::NOT_FOUND,
                format!("user {user:?} has no {} credential", mechanism.name()),
            )
        }
        Err(e) => return error_response(e),
    }
    let cmd = scram_command(vec![ScramAlteration::Delete { user, mechanism }]);
    match s.node.propose(cmd).await {
        Ok(index) => Json(serde_json::json!({"index": index})).into_response(),
        Err(e) => error_response(e),
    }
}
