//! The dynamic cluster-wide broker configs over HTTP, body
//! [`DynamicBrokerConfig`]: `GET /v1/config` (this broker's applied copy)
//! and `PUT /v1/config`, which replaces the whole set (keys not listed fall
//! back to the static `--config` value or the table's default). A PUT is
//! proposed to the metadata group like AlterConfigs on a broker resource:
//! 400 naming the key for an unknown, invalid or static key, 421 on a
//! follower, 200 with the new set once applied.

use super::error::{bad_request, error_response};
use super::HttpState;
use crate::state_machine::set_broker_config_command;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chronik_api::config::{validate_dynamic_broker_config, DynamicBrokerConfig};

pub(super) async fn get_config(State(s): State<HttpState>) -> Response {
    match s.node.query(|sm| sm.broker_config().clone()).await {
        Ok(configs) => Json(DynamicBrokerConfig { configs }).into_response(),
        Err(e) => error_response(e),
    }
}

pub(super) async fn put_config(State(s): State<HttpState>, body: Bytes) -> Response {
    let wanted: DynamicBrokerConfig = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => return bad_request(format!("expected {{\"configs\": {{key: value}}}}: {e}")),
    };
    for (key, value) in &wanted.configs {
        if let Err(e) = validate_dynamic_broker_config(key, value) {
            return bad_request(e);
        }
    }
    match s
        .node
        .propose(set_broker_config_command(wanted.configs.clone()))
        .await
    {
        Ok(_) => Json(wanted).into_response(),
        Err(e) => error_response(e),
    }
}
