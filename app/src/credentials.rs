//! Application passwords: generated with the operating system's CSPRNG, sealed with the server's
//! key while they wait to be shown once, then forgotten. The cluster keeps only its salted SCRAM
//! verifier.

use crate::domain::EnvironmentName;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use secrecy::{ExposeSecret, SecretString};

/// A fresh password: 32 random bytes, URL-safe base64 (43 characters, 256 bits).
pub fn generate_password() -> SecretString {
    let mut bytes = [0u8; 32];
    chacha20poly1305::aead::rand_core::RngCore::fill_bytes(&mut OsRng, &mut bytes);
    SecretString::from(URL_SAFE_NO_PAD.encode(bytes))
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VaultError {
    #[error("the credential key must be 32 bytes, base64-encoded")]
    BadKey,
    #[error("a sealed credential could not be opened")]
    Unseal,
}

/// Seals and opens passwords waiting to be shown.
#[derive(Clone)]
pub struct CredentialVault {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for CredentialVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CredentialVault(..)")
    }
}

/// A sealed password and the nonce it was sealed with.
pub struct Sealed {
    pub nonce: Vec<u8>,
    pub sealed: Vec<u8>,
}

impl CredentialVault {
    /// From the configured key (base64 of 32 bytes).
    pub fn from_base64(key: &SecretString) -> Result<Self, VaultError> {
        let bytes = STANDARD
            .decode(key.expose_secret().trim())
            .map_err(|_| VaultError::BadKey)?;
        if bytes.len() != 32 {
            return Err(VaultError::BadKey);
        }
        Ok(Self {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&bytes)),
        })
    }

    /// `aad` binds the sealed value to its owner (application and environment), so a sealed
    /// password copied to another row does not open.
    pub fn seal(&self, password: &SecretString, aad: &str) -> Sealed {
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let payload = chacha20poly1305::aead::Payload {
            msg: password.expose_secret().as_bytes(),
            aad: aad.as_bytes(),
        };
        let sealed = self
            .cipher
            .encrypt(&nonce, payload)
            .expect("ChaCha20-Poly1305 encryption of a short message cannot fail");
        Sealed {
            nonce: nonce.to_vec(),
            sealed,
        }
    }

    pub fn open(&self, nonce: &[u8], sealed: &[u8], aad: &str) -> Result<SecretString, VaultError> {
        if nonce.len() != 12 {
            return Err(VaultError::Unseal);
        }
        let payload = chacha20poly1305::aead::Payload {
            msg: sealed,
            aad: aad.as_bytes(),
        };
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), payload)
            .map_err(|_| VaultError::Unseal)?;
        String::from_utf8(plain)
            .map(SecretString::from)
            .map_err(|_| VaultError::Unseal)
    }
}

/// What binds a sealed password to its row.
pub fn seal_context(
    application: crate::domain::ApplicationId,
    environment: &EnvironmentName,
) -> String {
    format!("{application}/{environment}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault() -> CredentialVault {
        CredentialVault::from_base64(&SecretString::from(STANDARD.encode([7u8; 32])))
            .expect("a 32-byte key")
    }

    #[test]
    fn passwords_are_long_and_different() {
        let a = generate_password();
        let b = generate_password();
        assert_eq!(a.expose_secret().len(), 43);
        assert_ne!(a.expose_secret(), b.expose_secret());
    }

    #[test]
    fn sealed_passwords_open_only_with_their_context() {
        let v = vault();
        let secret = SecretString::from("s3cret".to_owned());
        let sealed = v.seal(&secret, "app/sandbox");
        assert_ne!(sealed.sealed, b"s3cret");
        let opened = v
            .open(&sealed.nonce, &sealed.sealed, "app/sandbox")
            .expect("opens with its own context");
        assert_eq!(opened.expose_secret(), "s3cret");
        assert_eq!(
            v.open(&sealed.nonce, &sealed.sealed, "app/prod").err(),
            Some(VaultError::Unseal)
        );
        let mut tampered = sealed.sealed.clone();
        tampered[0] ^= 1;
        assert!(v.open(&sealed.nonce, &tampered, "app/sandbox").is_err());
    }

    #[test]
    fn keys_must_be_32_bytes() {
        assert!(CredentialVault::from_base64(&SecretString::from("c2hvcnQ=".to_owned())).is_err());
        assert!(
            CredentialVault::from_base64(&SecretString::from("not base64!".to_owned())).is_err()
        );
    }
}
