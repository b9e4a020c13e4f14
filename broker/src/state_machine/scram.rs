//! SCRAM credentials replicated in the metadata group: per user and
//! mechanism the salt, StoredKey, ServerKey and iteration count (what
//! AlterUserScramCredentials and `PUT /v1/users/{user}/scram` store). The
//! password and the SaltedPassword never reach the log.

use chronik_api::security::{ScramInfo, ScramMechanism, UserCredentials};
use chronik_kafka::sasl::ScramCredential;
use chronik_proto::meta;
use std::collections::BTreeMap;

/// Credentials by (user, mechanism).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ScramCredentials(BTreeMap<(String, ScramMechanism), ScramCredential>);

fn mechanism(number: i32) -> Option<ScramMechanism> {
    i8::try_from(number)
        .ok()
        .and_then(ScramMechanism::from_kafka_type)
}

impl ScramCredentials {
    /// Applies an AlterScramCredentials command: deletions, then upserts. An
    /// unknown mechanism number is skipped (on every replica alike).
    pub fn apply(&mut self, command: meta::AlterScramCredentials) {
        for d in command.deletions {
            if let Some(m) = mechanism(d.mechanism) {
                self.0.remove(&(d.user, m));
            }
        }
        for u in command.upserts {
            if let Some(m) = mechanism(u.mechanism) {
                let credential = ScramCredential {
                    salt: u.salt,
                    stored_key: u.stored_key,
                    server_key: u.server_key,
                    iterations: u.iterations,
                };
                self.0.insert((u.user, m), credential);
            }
        }
    }

    /// `user`'s credentials.
    pub fn of(&self, user: &str) -> Vec<(ScramMechanism, ScramCredential)> {
        self.0
            .range((user.to_string(), ScramMechanism::ScramSha256)..)
            .take_while(|((u, _), _)| u == user)
            .map(|((_, m), c)| (*m, c.clone()))
            .collect()
    }

    /// Every user with the mechanism and iterations of each credential.
    pub fn users(&self) -> Vec<UserCredentials> {
        let mut out: Vec<UserCredentials> = Vec::new();
        for ((user, m), c) in &self.0 {
            let info = ScramInfo {
                mechanism: *m,
                iterations: c.iterations,
            };
            match out.last_mut() {
                Some(last) if &last.user == user => last.credentials.push(info),
                _ => out.push(UserCredentials {
                    user: user.clone(),
                    credentials: vec![info],
                }),
            }
        }
        out
    }

    /// The snapshot records.
    pub fn encode(&self) -> Vec<meta::ScramCredential> {
        self.0
            .iter()
            .map(|((user, m), c)| record(user, *m, c))
            .collect()
    }

    /// From snapshot records.
    pub fn decode(records: Vec<meta::ScramCredential>) -> Self {
        let mut out = Self::default();
        out.apply(meta::AlterScramCredentials {
            upserts: records,
            deletions: Vec::new(),
        });
        out
    }

    /// Feeds every field, in key order, to the state digest.
    pub fn digest_into(&self, mut bytes: impl FnMut(&[u8])) {
        for ((user, m), c) in &self.0 {
            bytes(user.as_bytes());
            bytes(&[m.kafka_type() as u8]);
            bytes(&c.salt);
            bytes(&c.stored_key);
            bytes(&c.server_key);
            bytes(&c.iterations.to_le_bytes());
        }
    }
}

/// Encodes AlterUserScramCredentials' accepted changes as one command.
pub fn scram_command(alterations: Vec<chronik_kafka::backend::ScramAlteration>) -> Vec<u8> {
    use chronik_kafka::backend::ScramAlteration;
    use prost::Message as _;
    let mut command = meta::AlterScramCredentials::default();
    for a in alterations {
        match a {
            ScramAlteration::Upsert {
                user,
                mechanism,
                credential,
            } => command.upserts.push(record(&user, mechanism, &credential)),
            ScramAlteration::Delete { user, mechanism } => {
                command.deletions.push(meta::ScramCredentialDeletion {
                    user,
                    mechanism: i32::from(mechanism.kafka_type()),
                })
            }
        }
    }
    meta::Command {
        cmd: Some(meta::command::Cmd::AlterScramCredentials(command)),
    }
    .encode_to_vec()
}

/// The log record of one credential.
pub fn record(user: &str, m: ScramMechanism, c: &ScramCredential) -> meta::ScramCredential {
    meta::ScramCredential {
        user: user.to_string(),
        mechanism: i32::from(m.kafka_type()),
        salt: c.salt.clone(),
        stored_key: c.stored_key.clone(),
        server_key: c.server_key.clone(),
        iterations: c.iterations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upserts_deletions_and_snapshots() {
        let sha512 = ScramMechanism::ScramSha512;
        let c = ScramCredential::from_password(sha512, b"pw", b"salt", 4096);
        let mut creds = ScramCredentials::default();
        creds.apply(meta::AlterScramCredentials {
            upserts: vec![record("alice", sha512, &c), record("bob", sha512, &c)],
            deletions: vec![],
        });
        assert_eq!(creds.of("alice"), vec![(sha512, c.clone())]);
        assert_eq!(creds.users().len(), 2);
        assert_eq!(ScramCredentials::decode(creds.encode()), creds);
        creds.apply(meta::AlterScramCredentials {
            upserts: vec![],
            deletions: vec![meta::ScramCredentialDeletion {
                user: "alice".into(),
                mechanism: 2,
            }],
        });
        assert!(creds.of("alice").is_empty());
        assert_eq!(creds.of("bob").len(), 1);
    }
}
