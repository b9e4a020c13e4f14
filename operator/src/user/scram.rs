//! SCRAM credentials computed by the operator (RFC 5802): the password
//! stays in the user's Secret; the brokers get only the salt, the iteration
//! count and `SaltedPassword = Hi(password, salt, i)`, from which they derive
//! StoredKey and ServerKey.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chronik_api::security::{ScramMechanism, ScramUpsert, MIN_SCRAM_ITERATIONS};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

/// Iterations of the credentials the operator creates (Kafka's least).
pub const ITERATIONS: u32 = MIN_SCRAM_ITERATIONS;
/// Bytes of random salt per credential.
const SALT_LEN: usize = 24;
/// Characters of a generated password.
const PASSWORD_LEN: usize = 32;
/// Characters a generated password is made of (safe in JAAS and properties).
const PASSWORD_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// The operating system's random source failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("reading random bytes from the operating system: {0}")]
pub struct RandomError(String);

fn random_bytes(buf: &mut [u8]) -> Result<(), RandomError> {
    getrandom::getrandom(buf).map_err(|e| RandomError(e.to_string()))
}

/// A new random password of `PASSWORD_LEN` (32) letters and digits.
pub fn generate_password() -> Result<String, RandomError> {
    let mut password = String::with_capacity(PASSWORD_LEN);
    let mut byte = [0u8; 1];
    // Rejection sampling keeps every character equally likely.
    let limit = 256 - 256 % PASSWORD_ALPHABET.len();
    while password.len() < PASSWORD_LEN {
        random_bytes(&mut byte)?;
        if usize::from(byte[0]) < limit {
            password.push(char::from(
                PASSWORD_ALPHABET[usize::from(byte[0]) % PASSWORD_ALPHABET.len()],
            ));
        }
    }
    Ok(password)
}

/// RFC 5802's `Hi(password, salt, i)`: PBKDF2 with HMAC of the mechanism's hash.
pub fn salted_password(
    mechanism: ScramMechanism,
    password: &str,
    salt: &[u8],
    iterations: u32,
) -> Vec<u8> {
    match mechanism {
        ScramMechanism::ScramSha256 => {
            let mut out = [0u8; 32];
            pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, iterations, &mut out);
            out.to_vec()
        }
        ScramMechanism::ScramSha512 => {
            let mut out = [0u8; 64];
            pbkdf2::pbkdf2_hmac::<Sha512>(password.as_bytes(), salt, iterations, &mut out);
            out.to_vec()
        }
    }
}

/// `HMAC(key, message)` with the mechanism's hash.
pub fn hmac(mechanism: ScramMechanism, key: &[u8], message: &[u8]) -> Vec<u8> {
    fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], message: &[u8]) -> Vec<u8> {
        // HMAC takes keys of any length: `new_from_slice` cannot fail.
        match <M as hmac::digest::KeyInit>::new_from_slice(key) {
            Ok(mut mac) => {
                mac.update(message);
                mac.finalize().into_bytes().to_vec()
            }
            Err(_) => Vec::new(),
        }
    }
    match mechanism {
        ScramMechanism::ScramSha256 => run::<Hmac<Sha256>>(key, message),
        ScramMechanism::ScramSha512 => run::<Hmac<Sha512>>(key, message),
    }
}

/// `H(data)` with the mechanism's hash.
pub fn hash(mechanism: ScramMechanism, data: &[u8]) -> Vec<u8> {
    match mechanism {
        ScramMechanism::ScramSha256 => Sha256::digest(data).to_vec(),
        ScramMechanism::ScramSha512 => Sha512::digest(data).to_vec(),
    }
}

/// RFC 5802's StoredKey `H(HMAC(SaltedPassword, "Client Key"))` and
/// ServerKey `HMAC(SaltedPassword, "Server Key")`, as a broker derives them.
pub fn stored_and_server_key(mechanism: ScramMechanism, salted: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let client_key = hmac(mechanism, salted, b"Client Key");
    (
        hash(mechanism, &client_key),
        hmac(mechanism, salted, b"Server Key"),
    )
}

/// The body of `PUT /v1/users/{user}/scram` for `password`, with a fresh
/// random salt and [`ITERATIONS`].
pub fn credential(mechanism: ScramMechanism, password: &str) -> Result<ScramUpsert, RandomError> {
    let mut salt = [0u8; SALT_LEN];
    random_bytes(&mut salt)?;
    Ok(credential_with_salt(mechanism, password, &salt, ITERATIONS))
}

/// [`credential`] with a given salt and iteration count.
pub fn credential_with_salt(
    mechanism: ScramMechanism,
    password: &str,
    salt: &[u8],
    iterations: u32,
) -> ScramUpsert {
    ScramUpsert {
        mechanism,
        iterations,
        salt: STANDARD.encode(salt),
        salted_password: STANDARD.encode(salted_password(mechanism, password, salt, iterations)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xor(a: &[u8], b: &[u8]) -> Vec<u8> {
        a.iter().zip(b).map(|(x, y)| x ^ y).collect()
    }

    /// The client's proof and the server's signature of one exchange, from
    /// the salted password (what both sides compute).
    fn proof_and_signature(
        mechanism: ScramMechanism,
        salted: &[u8],
        auth_message: &str,
    ) -> (Vec<u8>, Vec<u8>) {
        let client_key = hmac(mechanism, salted, b"Client Key");
        let (stored_key, server_key) = stored_and_server_key(mechanism, salted);
        let client_signature = hmac(mechanism, &stored_key, auth_message.as_bytes());
        let server_signature = hmac(mechanism, &server_key, auth_message.as_bytes());
        (xor(&client_key, &client_signature), server_signature)
    }

    /// RFC 7677 section 3: user `user`, password `pencil`.
    #[test]
    fn rfc_7677_scram_sha_256_test_vector() {
        let salt = STANDARD.decode("W22ZaJ0SNY7soEsUEjb6gQ==").expect("salt");
        let upsert = credential_with_salt(ScramMechanism::ScramSha256, "pencil", &salt, 4096);
        assert_eq!(upsert.salt, "W22ZaJ0SNY7soEsUEjb6gQ==");
        let salted = STANDARD.decode(&upsert.salted_password).expect("salted");
        let auth_message = "n=user,r=rOprNGfwEbeRWgbNEkqO,\
            r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,\
            c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        let (proof, signature) =
            proof_and_signature(ScramMechanism::ScramSha256, &salted, auth_message);
        assert_eq!(
            STANDARD.encode(proof),
            "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        assert_eq!(
            STANDARD.encode(signature),
            "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        );
    }

    /// A SCRAM-SHA-512 credential sent to a broker verifies the client that
    /// knows the password and no other.
    #[test]
    fn scram_sha_512_round_trip() {
        let mechanism = ScramMechanism::ScramSha512;
        let password = generate_password().expect("password");
        let upsert = credential(mechanism, &password).expect("credential");
        assert_eq!((upsert.iterations, upsert.mechanism), (4096, mechanism));
        let salt = STANDARD.decode(&upsert.salt).expect("salt");
        assert_eq!(salt.len(), SALT_LEN);
        let sent = STANDARD.decode(&upsert.salted_password).expect("salted");
        assert_eq!(sent.len(), 64);
        assert!(!upsert.salted_password.contains(&password));
        // What the broker keeps.
        let (stored_key, server_key) = stored_and_server_key(mechanism, &sent);
        let auth_message = "n=alice,r=abc,r=abcdef,s=c2FsdA==,i=4096,c=biws,r=abcdef";
        let verify = |password: &str| {
            // The client side, from the password alone.
            let salted = salted_password(mechanism, password, &salt, upsert.iterations);
            let (proof, server_signature) = proof_and_signature(mechanism, &salted, auth_message);
            // The broker side: StoredKey == H(ClientProof XOR ClientSignature).
            let client_signature = hmac(mechanism, &stored_key, auth_message.as_bytes());
            let client_key = xor(&proof, &client_signature);
            hash(mechanism, &client_key) == stored_key
                && server_signature == hmac(mechanism, &server_key, auth_message.as_bytes())
        };
        assert!(verify(&password));
        assert!(!verify("not-the-password"));
    }

    #[test]
    fn passwords_are_fresh_letters_and_digits() {
        let a = generate_password().expect("password");
        let b = generate_password().expect("password");
        assert_eq!(a.len(), PASSWORD_LEN);
        assert!(a.bytes().all(|c| PASSWORD_ALPHABET.contains(&c)));
        assert_ne!(a, b);
        let s1 = credential(ScramMechanism::ScramSha512, &a).expect("credential");
        let s2 = credential(ScramMechanism::ScramSha512, &a).expect("credential");
        assert_ne!(s1.salt, s2.salt, "a random salt per credential");
    }
}
