//! SCRAM credentials kept in memory (the [`crate::MemoryBackend`]'s; the
//! broker replicates its own through the metadata log).

use std::collections::BTreeMap;
use std::sync::Mutex;

use chronik_api::security::{ScramInfo, UserCredentials};

use super::{ScramCredential, ScramMechanism};
use crate::backend::ScramAlteration;

/// Credentials by user, then mechanism.
#[derive(Debug, Default)]
pub struct ScramStore(Mutex<BTreeMap<String, BTreeMap<ScramMechanism, ScramCredential>>>);

impl ScramStore {
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, BTreeMap<String, BTreeMap<ScramMechanism, ScramCredential>>>
    {
        // A poisoned lock only means a panic elsewhere; the map is intact.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `user`'s credentials.
    pub fn get(&self, user: &str) -> Vec<(ScramMechanism, ScramCredential)> {
        self.lock()
            .get(user)
            .map(|m| m.iter().map(|(k, v)| (*k, v.clone())).collect())
            .unwrap_or_default()
    }

    /// Every user with mechanism and iterations of each credential.
    pub fn users(&self) -> Vec<UserCredentials> {
        self.lock()
            .iter()
            .map(|(user, creds)| UserCredentials {
                user: user.clone(),
                credentials: creds
                    .iter()
                    .map(|(m, c)| ScramInfo {
                        mechanism: *m,
                        iterations: c.iterations,
                    })
                    .collect(),
            })
            .collect()
    }

    /// Applies upserts and deletions; a user left without credentials is
    /// forgotten.
    pub fn apply(&self, alterations: Vec<ScramAlteration>) {
        let mut map = self.lock();
        for a in alterations {
            match a {
                ScramAlteration::Upsert {
                    user,
                    mechanism,
                    credential,
                } => {
                    map.entry(user).or_default().insert(mechanism, credential);
                }
                ScramAlteration::Delete { user, mechanism } => {
                    if let Some(creds) = map.get_mut(&user) {
                        creds.remove(&mechanism);
                        if creds.is_empty() {
                            map.remove(&user);
                        }
                    }
                }
            }
        }
    }
}
