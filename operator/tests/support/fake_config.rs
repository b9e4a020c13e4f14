//! The brokers' dynamic config for the mock tests: [`FakeConfig`] holds the
//! set a broker would (`GET /v1/config`), records every call, and can refuse
//! a `PUT` as the broker does (`400`, the message naming the key).
// Every test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::sync::Arc;

use chronik_api::config::DynamicBrokerConfig;
use chronik_api::NodeId;
use chronik_operator::addresses::MemberAddresses;
use chronik_operator::brokers::{BrokerError, ConfigApi};
use futures::future::BoxFuture;

use super::fake_api::FakeBrokers;

/// What the brokers hold and what the operator asked.
#[derive(Default)]
pub struct FakeConfig {
    /// The dynamic config in force.
    pub current: DynamicBrokerConfig,
    /// `(method, member asked first, body of a PUT)`, in order.
    pub calls: Vec<(&'static str, u64, Option<DynamicBrokerConfig>)>,
    /// A `PUT` is refused with `400` and this message while set.
    pub refuse: Option<String>,
    /// Every call fails with this while set.
    pub fail: Option<BrokerError>,
}

impl FakeConfig {
    /// The bodies of the `PUT`s so far, emptying the record.
    pub fn take_puts(&mut self) -> Vec<DynamicBrokerConfig> {
        std::mem::take(&mut self.calls)
            .into_iter()
            .filter_map(|(_, _, body)| body)
            .collect()
    }
}

impl ConfigApi for FakeBrokers {
    fn get_config(
        &self,
        _members: Arc<dyn MemberAddresses>,
        via: u64,
    ) -> BoxFuture<'static, Result<DynamicBrokerConfig, BrokerError>> {
        let mut st = self.config.lock().unwrap();
        st.calls.push(("GET", via, None));
        let result = match &st.fail {
            Some(error) => Err(error.clone()),
            None => Ok(st.current.clone()),
        };
        Box::pin(async move { result })
    }

    fn put_config(
        &self,
        members: Arc<dyn MemberAddresses>,
        via: u64,
        config: DynamicBrokerConfig,
    ) -> BoxFuture<'static, Result<DynamicBrokerConfig, BrokerError>> {
        let mut st = self.config.lock().unwrap();
        st.calls.push(("PUT", via, Some(config.clone())));
        let url = format!("{}/v1/config", members.http_url_of(NodeId(via)));
        let result = if let Some(error) = &st.fail {
            Err(error.clone())
        } else if let Some(message) = &st.refuse {
            Err(BrokerError::Http {
                method: "PUT",
                url,
                code: 400,
                message: message.clone(),
            })
        } else {
            st.current = config.clone();
            Ok(config)
        };
        Box::pin(async move { result })
    }
}
