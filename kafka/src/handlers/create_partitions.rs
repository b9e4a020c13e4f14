//! CreatePartitions (v0–v3). Manual assignments are not supported.

use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};
use kafka_protocol::ResponseError;

use super::{sb, Handlers, RequestContext};
use crate::backend::{Backend, BackendError};
use chronik_api::security::AclOperation;

/// Handles CreatePartitions.
pub(crate) async fn handle<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    request: CreatePartitionsRequest,
) -> CreatePartitionsResponse {
    let access = handlers.access(ctx).await;
    let mut results = Vec::with_capacity(request.topics.len());
    for topic in &request.topics {
        let entry = CreatePartitionsTopicResult::default().with_name(topic.name.clone());
        let outcome: Result<(), (ResponseError, String)> = if !access
            .topic(AclOperation::Alter, topic.name.as_str())
        {
            Err((
                ResponseError::TopicAuthorizationFailed,
                "not authorized to alter the topic".to_owned(),
            ))
        } else if topic.assignments.is_some() {
            Err((
                ResponseError::InvalidRequest,
                "manual replica assignment is not supported".to_owned(),
            ))
        } else if request.validate_only {
            match handlers.backend.list_topics().await {
                Ok(topics) => match topics.iter().find(|t| t.name == topic.name.as_str()) {
                    None => Err((
                        ResponseError::UnknownTopicOrPartition,
                        "unknown topic".to_owned(),
                    )),
                    Some(t) if usize::try_from(topic.count).unwrap_or(0) <= t.partitions.len() => {
                        let e = BackendError::InvalidPartitions {
                            topic: t.name.clone(),
                            current: i32::try_from(t.partitions.len()).unwrap_or(i32::MAX),
                            requested: topic.count,
                        };
                        Err((e.response_error(), e.to_string()))
                    }
                    Some(_) => handlers
                        .backend
                        .validate_partitions(topic.name.as_str(), topic.count)
                        .await
                        .map_err(|e| (e.response_error(), e.to_string())),
                },
                Err(e) => Err((e.response_error(), e.to_string())),
            }
        } else {
            handlers
                .backend
                .create_partitions(topic.name.as_str(), topic.count)
                .await
                .map_err(|e| (e.response_error(), e.to_string()))
        };
        results.push(match outcome {
            Ok(()) => entry,
            Err((error, message)) => entry
                .with_error_code(error.code())
                .with_error_message(Some(sb(&message))),
        });
    }
    CreatePartitionsResponse::default().with_results(results)
}
