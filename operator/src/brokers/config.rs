//! [`ConfigApi`]: the cluster-wide dynamic broker configs as the operator
//! manages them (a supertrait of [`super::BrokerApi`], so the one broker
//! client carries them): `GET /v1/config` and `PUT /v1/config` with
//! [`DynamicBrokerConfig`], asked of member `via` first and following `421`
//! answers to the leader like every other write.

use std::sync::Arc;

use chronik_api::config::DynamicBrokerConfig;
use futures::future::BoxFuture;

use super::BrokerError;
use crate::addresses::MemberAddresses;

/// The brokers' dynamic cluster-wide configs.
pub trait ConfigApi: Send + Sync {
    /// `GET /v1/config`: the dynamic broker configs in force.
    fn get_config(
        &self,
        members: Arc<dyn MemberAddresses>,
        via: u64,
    ) -> BoxFuture<'static, Result<DynamicBrokerConfig, BrokerError>>;

    /// `PUT /v1/config`: replace the whole set (keys left out return to
    /// their static value or Kafka's default); answers the new set once
    /// committed. A key the broker refuses is `400` ([`BrokerError::Http`]
    /// with code 400, the message naming the key).
    fn put_config(
        &self,
        members: Arc<dyn MemberAddresses>,
        via: u64,
        config: DynamicBrokerConfig,
    ) -> BoxFuture<'static, Result<DynamicBrokerConfig, BrokerError>>;
}
