//! The master key: AES-256-GCM sealing of CA private keys at rest.
//!
//! Sealed format: `0x01 || nonce (12) || ciphertext || tag (16)`. The associated data binds a
//! sealed key to the CA id it belongs to, so a sealed blob copied onto another row fails to open.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use store::DeploymentStore;

const FORMAT_VERSION: u8 = 1;
const KEY_LEN: usize = 32;
const CHECK_PLAINTEXT: &[u8] = b"clientca master key check";
const CHECK_CONTEXT: &[u8] = b"master-key-check";

#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error("the master key must be 32 bytes written as 64 hex characters")]
    BadFormat,
    #[error(
        "the master key does not match this database (it was initialised with another key); \
         start with the original key (CLIENTCA_MASTER_KEY or --master-key-file)"
    )]
    WrongKey,
    #[error("a sealed CA key is corrupt or was sealed under another master key")]
    Unseal,
    #[error("no master key is configured; CA keys cannot be used")]
    Missing,
    #[error("the operating system random source failed")]
    Random,
}

#[derive(Clone)]
pub struct MasterKey {
    bytes: [u8; KEY_LEN],
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    pub fn generate() -> Result<Self, MasterKeyError> {
        let mut bytes = [0u8; KEY_LEN];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| MasterKeyError::Random)?;
        Ok(Self { bytes })
    }

    /// Parse the text form (64 hex characters, surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Result<Self, MasterKeyError> {
        let decoded = hex::decode(text.trim()).map_err(|_| MasterKeyError::BadFormat)?;
        let bytes = decoded.try_into().map_err(|_| MasterKeyError::BadFormat)?;
        Ok(Self { bytes })
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.bytes)
    }

    fn aead(&self) -> LessSafeKey {
        // A 32-byte key is always valid for AES-256-GCM.
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &self.bytes).expect("32-byte AES-256 key"))
    }

    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Vec<u8>, MasterKeyError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| MasterKeyError::Random)?;
        let mut buffer = plaintext.to_vec();
        self.aead()
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context),
                &mut buffer,
            )
            .map_err(|_| MasterKeyError::Unseal)?;
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + buffer.len());
        sealed.push(FORMAT_VERSION);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&buffer);
        Ok(sealed)
    }

    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, MasterKeyError> {
        let (&version, rest) = sealed.split_first().ok_or(MasterKeyError::Unseal)?;
        if version != FORMAT_VERSION || rest.len() < NONCE_LEN {
            return Err(MasterKeyError::Unseal);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| MasterKeyError::Unseal)?;
        let mut buffer = ciphertext.to_vec();
        let plaintext = self
            .aead()
            .open_in_place(nonce, Aad::from(context), &mut buffer)
            .map_err(|_| MasterKeyError::Unseal)?;
        Ok(plaintext.to_vec())
    }
}

/// The value stored to recognise `key` later.
pub(crate) fn check_value(key: &MasterKey) -> Result<String, MasterKeyError> {
    Ok(hex::encode(key.seal(CHECK_PLAINTEXT, CHECK_CONTEXT)?))
}

/// Record a check value on first use; afterwards refuse a key that cannot open it.
pub(crate) async fn verify_against_store(
    key: &MasterKey,
    store: &dyn DeploymentStore,
) -> Result<(), crate::Error> {
    let candidate = check_value(key)?;
    let stored = store
        .put_setting_if_absent(store::MASTER_KEY_CHECK_SETTING, &candidate)
        .await?;
    let sealed = hex::decode(stored).map_err(|_| MasterKeyError::WrongKey)?;
    match key.open(&sealed, CHECK_CONTEXT) {
        Ok(plain) if plain == CHECK_PLAINTEXT => Ok(()),
        _ => Err(MasterKeyError::WrongKey.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open_round_trip_bound_to_context() {
        let key = MasterKey::generate().unwrap();
        let sealed = key.seal(b"secret", b"ca-1").unwrap();
        assert_ne!(&sealed[1 + NONCE_LEN..], b"secret");
        assert_eq!(key.open(&sealed, b"ca-1").unwrap(), b"secret");
        assert!(matches!(
            key.open(&sealed, b"ca-2"),
            Err(MasterKeyError::Unseal)
        ));
        let other = MasterKey::generate().unwrap();
        assert!(matches!(
            other.open(&sealed, b"ca-1"),
            Err(MasterKeyError::Unseal)
        ));
        assert!(matches!(
            key.open(&sealed[..10], b"ca-1"),
            Err(MasterKeyError::Unseal)
        ));
    }

    #[test]
    fn hex_form_round_trips_and_rejects_bad_lengths() {
        let key = MasterKey::generate().unwrap();
        assert_eq!(
            MasterKey::from_hex(&format!(" {}\n", key.to_hex()))
                .unwrap()
                .bytes,
            key.bytes
        );
        assert!(MasterKey::from_hex("abcd").is_err());
        assert!(MasterKey::from_hex(&"zz".repeat(32)).is_err());
        assert_eq!(format!("{key:?}"), "MasterKey(..)");
    }
}
