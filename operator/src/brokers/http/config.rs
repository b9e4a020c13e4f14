//! [`ConfigApi`] for [`HttpBrokers`]: `GET /v1/config` and
//! `PUT /v1/config` with [`DynamicBrokerConfig`] bodies, sent like the
//! security calls (following `421` to the leader).

use std::sync::Arc;

use chronik_api::config::DynamicBrokerConfig;
use futures::future::BoxFuture;

use super::security::{json, Call};
use super::{parse, HttpBrokers};
use crate::addresses::MemberAddresses;
use crate::brokers::{BrokerError, ConfigApi};

/// Path of the dynamic broker config on the brokers' admin API.
const CONFIG_PATH: &str = "/v1/config";

impl HttpBrokers {
    async fn read_config(
        &self,
        members: &dyn MemberAddresses,
        via: u64,
    ) -> Result<DynamicBrokerConfig, BrokerError> {
        let call = Call {
            method: "GET",
            path: CONFIG_PATH.to_string(),
            body: None,
            absent_is_ok: false,
        };
        let text = self.security_call(members, via, call).await?;
        parse("GET", CONFIG_PATH.to_string(), &text)
    }

    async fn write_config(
        &self,
        members: &dyn MemberAddresses,
        via: u64,
        config: &DynamicBrokerConfig,
    ) -> Result<DynamicBrokerConfig, BrokerError> {
        let body = json("PUT", config)?;
        let call = Call {
            method: "PUT",
            path: CONFIG_PATH.to_string(),
            body: Some(&body),
            absent_is_ok: false,
        };
        let text = self.security_call(members, via, call).await?;
        parse("PUT", CONFIG_PATH.to_string(), &text)
    }
}

impl ConfigApi for HttpBrokers {
    fn get_config(
        &self,
        members: Arc<dyn MemberAddresses>,
        via: u64,
    ) -> BoxFuture<'static, Result<DynamicBrokerConfig, BrokerError>> {
        let brokers = self.clone();
        Box::pin(async move { brokers.read_config(members.as_ref(), via).await })
    }

    fn put_config(
        &self,
        members: Arc<dyn MemberAddresses>,
        via: u64,
        config: DynamicBrokerConfig,
    ) -> BoxFuture<'static, Result<DynamicBrokerConfig, BrokerError>> {
        let brokers = self.clone();
        Box::pin(async move { brokers.write_config(members.as_ref(), via, &config).await })
    }
}
