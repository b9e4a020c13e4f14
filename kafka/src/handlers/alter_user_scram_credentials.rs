//! AlterUserScramCredentials (v0): upserts (a salted password computed by
//! the client, turned into StoredKey and ServerKey here) and deletions, with
//! Kafka's per-user errors: a user altered twice is `DUPLICATE_RESOURCE`,
//! an empty name or iterations outside 4096..=16384 `UNACCEPTABLE_CREDENTIAL`,
//! an unknown mechanism `UNSUPPORTED_SASL_MECHANISM`, deleting a missing
//! credential `RESOURCE_NOT_FOUND`. The accepted changes apply together.

use std::collections::BTreeMap;

use kafka_protocol::messages::alter_user_scram_credentials_response::AlterUserScramCredentialsResult;
use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse,
};
use kafka_protocol::ResponseError;

use super::{sb, Handlers};
use crate::backend::{Backend, ScramAlteration};
use crate::sasl::{ScramCredential, ScramMechanism};
use chronik_api::security::{UserCredentials, MAX_SCRAM_ITERATIONS, MIN_SCRAM_ITERATIONS};

type Refusal = (ResponseError, String);

fn mechanism(t: i8) -> Result<ScramMechanism, Refusal> {
    ScramMechanism::from_kafka_type(t).ok_or((
        ResponseError::UnsupportedSaslMechanism,
        format!("Unknown SCRAM mechanism type {t}"),
    ))
}

/// Checks an upsert's iterations, salt and salted password.
fn check_upsert(iterations: i32, salt: &[u8], salted_password: &[u8]) -> Result<u32, Refusal> {
    let unacceptable = |m: String| (ResponseError::UnacceptableCredential, m);
    let iterations = u32::try_from(iterations)
        .map_err(|_| unacceptable(format!("Too few iterations: {iterations}")))?;
    if iterations < MIN_SCRAM_ITERATIONS {
        return Err(unacceptable(format!(
            "Too few iterations: {iterations}, at least {MIN_SCRAM_ITERATIONS}"
        )));
    }
    if iterations > MAX_SCRAM_ITERATIONS {
        return Err(unacceptable(format!(
            "Too many iterations: {iterations}, at most {MAX_SCRAM_ITERATIONS}"
        )));
    }
    if salt.is_empty() || salted_password.is_empty() {
        return Err(unacceptable(
            "Salt and salted password must not be empty".to_string(),
        ));
    }
    Ok(iterations)
}

fn has(users: &[UserCredentials], user: &str, m: ScramMechanism) -> bool {
    users
        .iter()
        .any(|u| u.user == user && u.credentials.iter().any(|c| c.mechanism == m))
}

/// Handles AlterUserScramCredentials.
pub(crate) async fn handle<B: Backend>(
    handlers: &Handlers<B>,
    request: AlterUserScramCredentialsRequest,
) -> AlterUserScramCredentialsResponse {
    let existing = handlers.backend.scram_users().await;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for name in request
        .deletions
        .iter()
        .map(|d| &d.name)
        .chain(request.upsertions.iter().map(|u| &u.name))
    {
        *counts.entry(name.to_string()).or_default() += 1;
    }
    let mut outcome: BTreeMap<String, Result<(), Refusal>> = BTreeMap::new();
    let mut accepted = Vec::new();
    let mut checked = |user: &str, result: Result<ScramAlteration, Refusal>| {
        let result = if user.is_empty() {
            Err((
                ResponseError::UnacceptableCredential,
                "Username must not be empty".to_string(),
            ))
        } else if counts.get(user).copied().unwrap_or(0) > 1 {
            Err((
                ResponseError::DuplicateResource,
                "A user credential cannot be altered twice in the same request".to_string(),
            ))
        } else {
            result
        };
        outcome.insert(user.to_string(), result.map(|a| accepted.push(a)));
    };
    for d in &request.deletions {
        let user = d.name.to_string();
        let result = mechanism(d.mechanism).and_then(|m| match &existing {
            Ok(users) if has(users, &user, m) => Ok(ScramAlteration::Delete {
                user: user.clone(),
                mechanism: m,
            }),
            Ok(_) => Err((
                ResponseError::ResourceNotFound,
                "Attempt to delete a user credential that does not exist".to_string(),
            )),
            Err(e) => Err((e.response_error(), e.to_string())),
        });
        checked(&user, result);
    }
    for u in &request.upsertions {
        let user = u.name.to_string();
        let result = mechanism(u.mechanism).and_then(|m| {
            let iterations = check_upsert(u.iterations, &u.salt, &u.salted_password)?;
            Ok(ScramAlteration::Upsert {
                user: user.clone(),
                mechanism: m,
                credential: ScramCredential::from_salted_password(
                    m,
                    &u.salt,
                    &u.salted_password,
                    iterations,
                ),
            })
        });
        checked(&user, result);
    }
    if !accepted.is_empty() {
        if let Err(e) = handlers.backend.alter_scram_credentials(accepted).await {
            for r in outcome.values_mut().filter(|r| r.is_ok()) {
                *r = Err((e.response_error(), e.to_string()));
            }
        }
    }
    let results = outcome
        .into_iter()
        .map(|(user, r)| {
            let base = AlterUserScramCredentialsResult::default().with_user(sb(&user));
            match r {
                Ok(()) => base,
                Err((error, message)) => base
                    .with_error_code(error.code())
                    .with_error_message(Some(sb(&message))),
            }
        })
        .collect();
    AlterUserScramCredentialsResponse::default().with_results(results)
}
