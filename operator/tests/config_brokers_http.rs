//! [`HttpBrokers`]' dynamic config calls against HTTP servers on loopback
//! built to the broker's contract: `GET /v1/config` answers a
//! `DynamicBrokerConfig`, `PUT /v1/config` takes the whole set and answers
//! it (`400` with an `ErrorBody` naming a refused key), and a follower
//! answers `421` with a `NotLeaderBody`, followed to the leader.

mod support;

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use chronik_api::config::{validate_dynamic_broker_config, DynamicBrokerConfig};
use chronik_api::{ErrorBody, NotLeaderBody};
use chronik_operator::addresses::MemberAddresses;
use chronik_operator::brokers::{BrokerError, ConfigApi};
use support::brokers_http::{brokers, serve, Two};

/// The leader's dynamic config and the requests it saw.
#[derive(Default)]
struct Leader {
    config: DynamicBrokerConfig,
    seen: Vec<(&'static str, Option<DynamicBrokerConfig>)>,
}

type Shared = Arc<Mutex<Leader>>;

async fn read(State(leader): State<Shared>) -> axum::Json<DynamicBrokerConfig> {
    let mut leader = leader.lock().unwrap();
    leader.seen.push(("GET", None));
    axum::Json(leader.config.clone())
}

/// `PUT /v1/config` as the broker answers it: every key checked with the
/// table (dynamic keys only), the whole set replaced.
async fn write(
    State(leader): State<Shared>,
    axum::Json(body): axum::Json<DynamicBrokerConfig>,
) -> axum::response::Response {
    let mut leader = leader.lock().unwrap();
    leader.seen.push(("PUT", Some(body.clone())));
    for (key, value) in &body.configs {
        if let Err(error) = validate_dynamic_broker_config(key, value) {
            let body = ErrorBody {
                error: error.to_string(),
            };
            return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
        }
    }
    leader.config = body.clone();
    axum::Json(body).into_response()
}

async fn leader(shared: Shared) -> String {
    let app = axum::Router::new()
        .route("/v1/config", get(read).put(write))
        .with_state(shared);
    serve(app).await
}

/// A follower: every request is answered `421` naming leader 2 by id.
async fn follower() -> String {
    let app = axum::Router::new().fallback(|| async {
        let body = NotLeaderBody {
            error: "not the leader".to_string(),
            leader_id: 2,
            leader_url: String::new(),
            leader_raft_url: String::new(),
        };
        (StatusCode::MISDIRECTED_REQUEST, axum::Json(body))
    });
    serve(app).await
}

fn set(pairs: &[(&str, &str)]) -> DynamicBrokerConfig {
    DynamicBrokerConfig {
        configs: pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

#[tokio::test]
async fn get_and_put_follow_421_to_the_leader_with_the_contract_bodies() {
    let shared = Shared::default();
    shared.lock().unwrap().config = set(&[("log.retention.ms", "604800000")]);
    let members: Arc<dyn MemberAddresses> = Arc::new(Two {
        follower: follower().await,
        leader: leader(shared.clone()).await,
    });
    let brokers = brokers();
    let current = brokers
        .get_config(members.clone(), 1)
        .await
        .expect("GET via the follower");
    assert_eq!(current, set(&[("log.retention.ms", "604800000")]));
    let desired = set(&[
        ("log.cleanup.policy", "compact,delete"),
        ("message.max.bytes", "2097152"),
    ]);
    let answered = brokers
        .put_config(members.clone(), 1, desired.clone())
        .await
        .expect("PUT via the follower");
    assert_eq!(answered, desired);
    let leader = shared.lock().unwrap();
    assert_eq!(leader.config, desired, "the whole set replaced");
    assert_eq!(
        leader.seen,
        vec![("GET", None), ("PUT", Some(desired.clone()))]
    );
}

#[tokio::test]
async fn a_refused_key_is_a_400_naming_it() {
    let shared = Shared::default();
    let url = leader(shared.clone()).await;
    let members: Arc<dyn MemberAddresses> = Arc::new(Two {
        follower: url.clone(),
        leader: url.clone(),
    });
    let error = brokers()
        .put_config(members, 2, set(&[("num.partitions", "3")]))
        .await
        .expect_err("a static key is refused");
    let BrokerError::Http {
        method,
        url: called,
        code,
        message,
    } = error
    else {
        panic!("not an HTTP error: {error:?}");
    };
    assert_eq!((method, code), ("PUT", 400));
    assert_eq!(called, format!("{url}/v1/config"));
    assert!(message.contains("num.partitions"), "{message}");
    assert_eq!(
        shared.lock().unwrap().config,
        DynamicBrokerConfig::default()
    );
}

#[tokio::test]
async fn a_broker_without_the_endpoint_is_an_error_naming_the_request() {
    let url = serve(axum::Router::new()).await;
    let members: Arc<dyn MemberAddresses> = Arc::new(Two {
        follower: url.clone(),
        leader: url.clone(),
    });
    let error = brokers().get_config(members, 1).await.expect_err("404");
    assert!(
        matches!(&error, BrokerError::Http { code: 404, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("GET"), "{error}");
    assert!(error.to_string().contains("/v1/config"), "{error}");
}
