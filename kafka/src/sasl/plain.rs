//! PLAIN (RFC 4616): `[authzid] NUL user NUL password` in one message.
//! Chronik keeps no passwords, so a PLAIN password is checked by salting it
//! with the salt and iterations of the user's stored SCRAM credential and
//! comparing the StoredKey it yields.

use super::scram::{ScramCredential, ScramError};
use super::ScramMechanism;

/// A parsed PLAIN message.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainToken {
    /// The user name.
    pub user: String,
    /// The password.
    pub password: Vec<u8>,
}

impl std::fmt::Debug for PlainToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlainToken")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// Parses a PLAIN message; an authorization id must be empty or the user.
pub fn parse(message: &[u8]) -> Result<PlainToken, ScramError> {
    let mut parts = message.split(|b| *b == 0);
    let (Some(authzid), Some(user), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ScramError::Malformed(
            "PLAIN needs authzid, user and password",
        ));
    };
    let user = std::str::from_utf8(user)
        .ok()
        .filter(|u| !u.is_empty())
        .ok_or(ScramError::Malformed("PLAIN user name"))?;
    if !authzid.is_empty() && authzid != user.as_bytes() {
        return Err(ScramError::AuthzId);
    }
    Ok(PlainToken {
        user: user.to_string(),
        password: password.to_vec(),
    })
}

/// Whether `password` matches one of the user's credentials (SHA-512 is
/// tried first); `false` for a user without credentials.
pub fn verify(credentials: &[(ScramMechanism, ScramCredential)], password: &[u8]) -> bool {
    let mut sorted: Vec<_> = credentials.iter().collect();
    sorted.sort_by_key(|(m, _)| std::cmp::Reverse(*m));
    sorted
        .first()
        .is_some_and(|(m, c)| c.matches_password(*m, password))
}
