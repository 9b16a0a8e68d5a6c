//! SCRAM-SHA-512 credentials: created or replaced, removed, and looked up by user. The password
//! is handed to librdkafka, which draws the salt and derives the salted password; it never
//! reaches a log or an error message.

use super::ffi::{self, NativeError, ScramAlteration, ScramDescription};
use super::{AdminError, KafkaAdmin};
use rdkafka::bindings as rd;
use rdkafka::error::RDKafkaErrorCode as Code;
use secrecy::{ExposeSecret, SecretString};

/// PBKDF2 iterations for new SCRAM-SHA-512 credentials (Kafka accepts 4096 to 16384).
// Kafka's own tools default to 4096 (its minimum for SCRAM-SHA-512). librdkafka derives the
// salted password with one HMAC per iteration: 8192 cost about 43 ms per password here.
const SCRAM_ITERATIONS: i32 = 4096;
const SHA_512: rd::rd_kafka_ScramMechanism_t =
    rd::rd_kafka_ScramMechanism_t::RD_KAFKA_SCRAM_MECHANISM_SHA_512;

/// What to do to a user's SCRAM-SHA-512 credential.
enum Change {
    Upsert(SecretString),
    Delete,
}

impl KafkaAdmin {
    /// Creates or replaces the user's SCRAM-SHA-512 credential. librdkafka draws a random salt
    /// and computes the salted password; the password itself never leaves the client.
    pub async fn upsert_scram_credential(
        &self,
        user: &str,
        password: &SecretString,
    ) -> Result<(), AdminError> {
        if password.expose_secret().is_empty() {
            return Err(AdminError::Client(
                "a SCRAM password cannot be empty".into(),
            ));
        }
        self.alter_scram(user, Change::Upsert(password.clone()))
            .await
    }

    /// Removes the user's SCRAM-SHA-512 credential; Ok if there is none.
    pub async fn delete_scram_credential(&self, user: &str) -> Result<(), AdminError> {
        self.alter_scram(user, Change::Delete).await
    }

    /// Which of these users have a SCRAM-SHA-512 credential (sorted).
    pub async fn scram_users(&self, users: &[&str]) -> Result<Vec<String>, AdminError> {
        if users.is_empty() {
            return Ok(Vec::new()); // librdkafka would describe every user.
        }
        let users = users
            .iter()
            .map(|u| ffi::cstring(u))
            .collect::<Result<Vec<_>, _>>()?;
        self.blocking(move |client, timeout| {
            let descriptions = ffi::describe_scram(client, timeout, &users)?;
            let found = descriptions.into_iter().map(sha512_user);
            let mut found = found
                .filter_map(Result::transpose)
                .collect::<Result<Vec<_>, _>>()?;
            found.sort();
            Ok(found)
        })
        .await
    }

    /// One AlterUserScramCredentials call making `change` to the user's credential.
    async fn alter_scram(&self, user: &str, change: Change) -> Result<(), AdminError> {
        if user.is_empty() {
            return Err(AdminError::Client(
                "a SCRAM user name cannot be empty".into(),
            ));
        }
        let user = ffi::cstring(user)?;
        self.blocking(move |client, timeout| {
            let alteration = match &change {
                Change::Upsert(password) => ScramAlteration::Upsert {
                    user: &user,
                    mechanism: SHA_512,
                    iterations: SCRAM_ITERATIONS,
                    password: password.expose_secret().as_bytes(),
                },
                Change::Delete => ScramAlteration::Delete {
                    user: &user,
                    mechanism: SHA_512,
                },
            };
            altered(ffi::alter_scram(client, timeout, &alteration)?)
        })
        .await
    }
}

/// The outcome of an alteration from its responses' errors. Deleting a credential that does not
/// exist (RESOURCE_NOT_FOUND) is not an error.
fn altered(errors: Vec<Option<NativeError>>) -> Result<(), AdminError> {
    for error in errors.into_iter().flatten() {
        if error.code != Code::ResourceNotFound {
            return Err(AdminError::from_native(&error));
        }
    }
    Ok(())
}

/// The user of a description if it holds a SCRAM-SHA-512 credential; a user without any
/// credential (RESOURCE_NOT_FOUND) is not an error.
fn sha512_user(description: ScramDescription) -> Result<Option<String>, AdminError> {
    match description.error {
        Some(NativeError {
            code: Code::ResourceNotFound,
            ..
        }) => return Ok(None),
        Some(error) => return Err(AdminError::from_native(&error)),
        None => {}
    }
    let sha512 = description.mechanisms.contains(&SHA_512);
    Ok(sha512.then_some(description.user))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA_256: rd::rd_kafka_ScramMechanism_t =
        rd::rd_kafka_ScramMechanism_t::RD_KAFKA_SCRAM_MECHANISM_SHA_256;

    fn error(code: Code) -> NativeError {
        NativeError {
            code,
            message: format!("{code:?}"),
            retriable: false,
        }
    }

    fn description(
        user: &str,
        error: Option<NativeError>,
        mechanisms: &[rd::rd_kafka_ScramMechanism_t],
    ) -> ScramDescription {
        ScramDescription {
            user: user.to_owned(),
            error,
            mechanisms: mechanisms.to_vec(),
        }
    }

    #[test]
    fn only_sha512_credentials_count() {
        let both = description("a", None, &[SHA_256, SHA_512]);
        assert_eq!(sha512_user(both).ok(), Some(Some("a".to_owned())));
        let other = description("b", None, &[SHA_256]);
        assert_eq!(sha512_user(other).ok(), Some(None));
        let none = description("c", None, &[]);
        assert_eq!(sha512_user(none).ok(), Some(None));
    }

    #[test]
    fn a_user_without_credentials_is_not_an_error_but_other_errors_are() {
        let missing = description("a", Some(error(Code::ResourceNotFound)), &[SHA_512]);
        assert_eq!(sha512_user(missing).ok(), Some(None));
        let denied = description("b", Some(error(Code::ClusterAuthorizationFailed)), &[]);
        assert!(matches!(
            sha512_user(denied),
            Err(AdminError::NotAuthorized)
        ));
        let refused = description("c", Some(error(Code::InvalidRequest)), &[]);
        assert!(matches!(sha512_user(refused), Err(AdminError::Refused(_))));
    }

    #[test]
    fn deleting_a_missing_credential_succeeds_and_other_refusals_fail() {
        assert!(altered(vec![None]).is_ok());
        assert!(altered(vec![Some(error(Code::ResourceNotFound))]).is_ok());
        let refused = altered(vec![
            Some(error(Code::ResourceNotFound)),
            Some(error(Code::UnacceptableCredential)),
        ]);
        assert!(matches!(refused, Err(AdminError::Refused(m)) if m == "UnacceptableCredential"));
        let busy = altered(vec![Some(error(Code::NotController))]);
        assert!(busy.is_err_and(|e| e.is_transient()));
    }
}
