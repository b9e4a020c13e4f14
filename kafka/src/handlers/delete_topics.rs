//! DeleteTopics (v1–v6): by name, or by topic id from v6.

use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse};
use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::{sb, topic_name, Handlers, RequestContext};
use crate::backend::Backend;
use chronik_api::security::AclOperation;

/// Handles DeleteTopics.
pub(crate) async fn handle<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    request: DeleteTopicsRequest,
) -> DeleteTopicsResponse {
    let wanted: Vec<(Option<String>, Uuid)> = if ctx.api_version >= 6 {
        request
            .topics
            .iter()
            .map(|t| (t.name.as_ref().map(|n| n.to_string()), t.topic_id))
            .collect()
    } else {
        request
            .topic_names
            .iter()
            .map(|n| (Some(n.to_string()), Uuid::nil()))
            .collect()
    };
    let topics = handlers.backend.list_topics().await.unwrap_or_default();
    let v6 = ctx.api_version >= 6;
    let with_message = ctx.api_version >= 5;
    let access = handlers.access(ctx).await;
    let mut responses = Vec::with_capacity(wanted.len());
    for (name, id) in wanted {
        let resolved = match &name {
            Some(n) => topics.iter().find(|t| &t.name == n),
            // A topic the principal may not see is unknown by id.
            None => topics
                .iter()
                .find(|t| t.id == id && access.topic(AclOperation::Describe, &t.name)),
        };
        let entry = DeletableTopicResult::default().with_name(name.as_deref().map(topic_name));
        let entry = if v6 { entry.with_topic_id(id) } else { entry };
        let checked = name.as_deref().or(resolved.map(|t| t.name.as_str()));
        if checked.is_some_and(|n| !access.topic(AclOperation::Delete, n)) {
            let entry = entry.with_error_code(ResponseError::TopicAuthorizationFailed.code());
            responses.push(if with_message {
                entry.with_error_message(Some(sb("not authorized to delete the topic")))
            } else {
                entry
            });
            continue;
        }
        let Some(info) = resolved else {
            let entry = entry.with_error_code(ResponseError::UnknownTopicOrPartition.code());
            responses.push(if with_message {
                entry.with_error_message(Some(sb("unknown topic")))
            } else {
                entry
            });
            continue;
        };
        let entry = entry.with_name(Some(topic_name(&info.name)));
        let entry = if v6 {
            entry.with_topic_id(info.id)
        } else {
            entry
        };
        match handlers.backend.delete_topic(&info.name).await {
            Ok(()) => responses.push(entry),
            Err(e) => {
                let entry = entry.with_error_code(e.code());
                responses.push(if with_message {
                    entry.with_error_message(Some(sb(&e.to_string())))
                } else {
                    entry
                });
            }
        }
    }
    DeleteTopicsResponse::default().with_responses(responses)
}
