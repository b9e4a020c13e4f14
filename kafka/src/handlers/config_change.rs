//! What AlterConfigs and IncrementalAlterConfigs share: authorization, the
//! resource's current config, validation of the new set against
//! `chronik_api::config`, and applying it through the backend.
//!
//! A topic's change replaces its whole set of overrides; a broker's
//! (resource name `""` or a broker id) replaces the dynamic cluster-wide
//! broker configs, which are the defaults of every topic without an
//! override. Each resource succeeds or fails on its own.

use std::collections::BTreeMap;
use std::future::Future;

use chronik_api::config::{validate_dynamic_broker_config, validate_topic_config, ConfigLayers};
use chronik_api::security::AclOperation::AlterConfigs;
use kafka_protocol::messages::{
    alter_configs_request, alter_configs_response, incremental_alter_configs_request,
    incremental_alter_configs_response,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::describe_configs::{RESOURCE_BROKER, RESOURCE_TOPIC};
use super::{sb, Handlers, RequestContext};
use crate::backend::Backend;

/// Why a resource's change was refused: the Kafka error and a message.
pub(crate) type Refusal = (ResponseError, String);

/// The resource a change is about, with its current config.
pub(crate) enum Target {
    /// A topic and its overrides.
    Topic {
        /// The topic.
        name: String,
        /// Its overrides now.
        current: BTreeMap<String, String>,
    },
    /// The cluster-wide dynamic broker configs.
    Brokers {
        /// The dynamic configs now.
        current: BTreeMap<String, String>,
    },
}

impl Target {
    /// The config set the change starts from.
    pub(crate) fn current(&self) -> &BTreeMap<String, String> {
        match self {
            Target::Topic { current, .. } | Target::Brokers { current } => current,
        }
    }
}

/// Finds the resource and checks the principal may alter it.
pub(crate) async fn target<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    resource_type: i8,
    name: &str,
) -> Result<Target, Refusal> {
    let access = handlers.access(ctx).await;
    match resource_type {
        RESOURCE_TOPIC => {
            if !access.topic(AlterConfigs, name) {
                return Err((
                    ResponseError::TopicAuthorizationFailed,
                    "not authorized to alter the topic's configs".into(),
                ));
            }
            let topics = handlers.backend.list_topics().await.map_err(backend)?;
            let topic = topics.into_iter().find(|t| t.name == name).ok_or_else(|| {
                (
                    ResponseError::UnknownTopicOrPartition,
                    format!("unknown topic {name}"),
                )
            })?;
            Ok(Target::Topic {
                name: name.to_string(),
                current: topic.configs,
            })
        }
        RESOURCE_BROKER => {
            if !access.cluster(AlterConfigs) {
                return Err((
                    ResponseError::ClusterAuthorizationFailed,
                    "not authorized to alter broker configs".into(),
                ));
            }
            if !name.is_empty() && name.parse::<i32>().is_err() {
                return Err((
                    ResponseError::InvalidRequest,
                    format!("broker resource name {name:?} is neither empty nor a broker id"),
                ));
            }
            Ok(Target::Brokers {
                current: layers(handlers).await?.dynamic,
            })
        }
        other => Err((
            ResponseError::InvalidRequest,
            format!("resource type {other} has no configs to alter"),
        )),
    }
}

/// The broker layers (current effective values for list appends).
pub(crate) async fn layers<B: Backend>(handlers: &Handlers<B>) -> Result<ConfigLayers, Refusal> {
    handlers.backend.config_layers().await.map_err(backend)
}

fn backend(e: crate::backend::BackendError) -> Refusal {
    (e.response_error(), e.to_string())
}

/// Validates `config` as the target's new set and, unless `validate_only`,
/// applies it.
pub(crate) async fn apply<B: Backend>(
    handlers: &Handlers<B>,
    target: &Target,
    config: BTreeMap<String, String>,
    validate_only: bool,
) -> Result<(), Refusal> {
    for (key, value) in &config {
        let checked = match target {
            Target::Topic { .. } => validate_topic_config(key, value),
            Target::Brokers { .. } => validate_dynamic_broker_config(key, value),
        };
        checked.map_err(|e| (ResponseError::InvalidConfig, e.to_string()))?;
    }
    if validate_only {
        return Ok(());
    }
    match target {
        Target::Topic { name, .. } => handlers.backend.set_topic_config(name, config).await,
        Target::Brokers { .. } => handlers.backend.set_broker_config(config).await,
    }
    .map_err(backend)
}

/// A resource of an AlterConfigs or IncrementalAlterConfigs request, which
/// its response answers.
pub(crate) trait Resource {
    /// The resource's answer in the response.
    type Answer;

    /// The answer naming this resource, with `error_code` and `message`.
    fn answer(&self, error_code: i16, message: Option<StrBytes>) -> Self::Answer;
}

/// Implements [`Resource`] for request resources and their answers, alike
/// in both APIs.
macro_rules! resource_answers {
    ($($resource:ty => $answer:ty),* $(,)?) => {$(
        impl Resource for $resource {
            type Answer = $answer;

            fn answer(&self, error_code: i16, message: Option<StrBytes>) -> $answer {
                <$answer>::default()
                    .with_resource_type(self.resource_type)
                    .with_resource_name(self.resource_name.clone())
                    .with_error_code(error_code)
                    .with_error_message(message)
            }
        }
    )*};
}

resource_answers!(
    alter_configs_request::AlterConfigsResource => alter_configs_response::AlterConfigsResourceResponse,
    incremental_alter_configs_request::AlterConfigsResource =>
        incremental_alter_configs_response::AlterConfigsResourceResponse,
);

/// Alters each of `resources` in turn with `alter`; each one's answer (error
/// code `0` and no message when its change applied).
pub(crate) async fn alter_each<'a, R, F>(
    resources: &'a [R],
    alter: impl Fn(&'a R) -> F,
) -> Vec<R::Answer>
where
    R: Resource,
    F: Future<Output = Result<(), Refusal>>,
{
    let mut answers = Vec::with_capacity(resources.len());
    for r in resources {
        answers.push(match alter(r).await {
            Ok(()) => r.answer(0, None),
            Err((error, message)) => r.answer(error.code(), Some(sb(&message))),
        });
    }
    answers
}
