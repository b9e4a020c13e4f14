//! DescribeUserScramCredentials (v0): each user's mechanisms and iteration
//! counts (never salts or keys). No user list, or an empty one, describes
//! every user; a named user without credentials is `RESOURCE_NOT_FOUND`, a
//! user named twice `DUPLICATE_RESOURCE`.

use std::collections::BTreeMap;

use kafka_protocol::messages::describe_user_scram_credentials_response::{
    CredentialInfo, DescribeUserScramCredentialsResult,
};
use kafka_protocol::messages::{
    DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse,
};
use kafka_protocol::ResponseError;

use super::{sb, Handlers};
use crate::backend::Backend;
use chronik_api::security::UserCredentials;

fn described(user: &UserCredentials) -> DescribeUserScramCredentialsResult {
    DescribeUserScramCredentialsResult::default()
        .with_user(sb(&user.user))
        .with_credential_infos(
            user.credentials
                .iter()
                .map(|c| {
                    CredentialInfo::default()
                        .with_mechanism(c.mechanism.kafka_type())
                        .with_iterations(i32::try_from(c.iterations).unwrap_or(i32::MAX))
                })
                .collect(),
        )
}

fn refused(
    user: &str,
    error: ResponseError,
    message: String,
) -> DescribeUserScramCredentialsResult {
    DescribeUserScramCredentialsResult::default()
        .with_user(sb(user))
        .with_error_code(error.code())
        .with_error_message(Some(sb(&message)))
}

/// Handles DescribeUserScramCredentials.
pub(crate) async fn handle<B: Backend>(
    handlers: &Handlers<B>,
    request: DescribeUserScramCredentialsRequest,
) -> DescribeUserScramCredentialsResponse {
    let users = match handlers.backend.scram_users().await {
        Ok(users) => users,
        Err(e) => {
            return DescribeUserScramCredentialsResponse::default()
                .with_error_code(e.code())
                .with_error_message(Some(sb(&e.to_string())))
        }
    };
    let wanted = request.users.unwrap_or_default();
    if wanted.is_empty() {
        return DescribeUserScramCredentialsResponse::default()
            .with_results(users.iter().map(described).collect());
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for u in &wanted {
        *counts.entry(u.name.as_str()).or_default() += 1;
    }
    let results = counts
        .into_iter()
        .map(|(name, count)| {
            if count > 1 {
                return refused(
                    name,
                    ResponseError::DuplicateResource,
                    format!("Cannot describe SCRAM credentials for the same user twice in a single request: {name}"),
                );
            }
            match users.iter().find(|u| u.user == name) {
                Some(user) => described(user),
                None => refused(
                    name,
                    ResponseError::ResourceNotFound,
                    format!("Attempt to describe a user credential that does not exist: {name}"),
                ),
            }
        })
        .collect();
    DescribeUserScramCredentialsResponse::default().with_results(results)
}
