//! Sealed cursors: a [`Cursor`] encrypted and authenticated with the application's [`CursorKey`].
//!
//! The text is base64url of `version ‖ nonce ‖ ciphertext ‖ tag`: XChaCha20-Poly1305 with a random
//! 24-byte nonce per cursor (so random nonces never repeat in practice) and the version byte as
//! associated data. The cipher key is derived from the secret with HKDF-SHA256, so a secret of any
//! length (from [`CursorKey::MIN_SECRET_LEN`]) gives a full-strength key used for nothing else.

use super::{Cursor, base64url, check_len};
use crate::error::StoreError;
use chacha20poly1305::aead::{Aead, Generate, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use std::fmt;

/// The first byte of every sealed cursor: the format, bound to the ciphertext as associated data.
const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// Separates cursor keys from any other key an application derives from the same secret.
const KEY_CONTEXT: &[u8] = b"storehaus cursor seal v1";

/// The application's key for [sealed cursors](Cursor::seal).
///
/// Made from a secret of at least [`MIN_SECRET_LEN`](Self::MIN_SECRET_LEN) bytes (say 32 random
/// bytes from a secret store, the same in every process that serves the API). To rotate, seal with
/// the new secret and keep opening cursors of the old one until they have expired:
///
/// ```
/// use storehaus::CursorKey;
///
/// let key = CursorKey::new(b"a new secret of at least 32 bytes!")?
///     .with_previous(b"the old secret, also 32 bytes long")?;
/// # Ok::<(), storehaus::StoreError>(())
/// ```
///
/// `Debug` shows no key material.
#[derive(Clone)]
pub struct CursorKey {
    /// Seals, and opens first.
    current: XChaCha20Poly1305,
    /// Only open, newest first.
    previous: Vec<XChaCha20Poly1305>,
}

impl CursorKey {
    /// The shortest secret [`new`](Self::new) accepts, in bytes.
    pub const MIN_SECRET_LEN: usize = 32;

    /// A key from `secret`; a secret shorter than [`MIN_SECRET_LEN`](Self::MIN_SECRET_LEN)
    /// bytes is `StoreError::Config`.
    pub fn new(secret: impl AsRef<[u8]>) -> Result<CursorKey, StoreError> {
        Ok(CursorKey { current: cipher(secret.as_ref())?, previous: Vec::new() })
    }

    /// Also opens cursors sealed with `secret`, an earlier secret of this application; sealing
    /// keeps using the one given to [`new`](Self::new). Call it once per secret still accepted.
    pub fn with_previous(mut self, secret: impl AsRef<[u8]>) -> Result<CursorKey, StoreError> {
        self.previous.push(cipher(secret.as_ref())?);
        Ok(self)
    }
}

impl fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CursorKey").field("previous", &self.previous.len()).finish_non_exhaustive()
    }
}

fn cipher(secret: &[u8]) -> Result<XChaCha20Poly1305, StoreError> {
    if secret.len() < CursorKey::MIN_SECRET_LEN {
        return Err(StoreError::Config {
            key: None,
            message: format!(
                "a cursor key needs a secret of at least {} bytes, got {}",
                CursorKey::MIN_SECRET_LEN,
                secret.len()
            ),
        });
    }
    let mut key = chacha20poly1305::Key::default();
    hkdf::Hkdf::<sha2::Sha256>::new(None, secret)
        .expand(KEY_CONTEXT, &mut key)
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    Ok(XChaCha20Poly1305::new(&key))
}

impl Cursor {
    /// The cursor as URL-safe text that only `key` opens: its sort values are encrypted, and any
    /// change to the text makes [`open`](Self::open) refuse it.
    pub fn seal(&self, key: &CursorKey) -> String {
        let nonce = XNonce::generate();
        let ciphertext = key
            .current
            .encrypt(&nonce, Payload { msg: &self.to_bytes(), aad: &[VERSION] })
            .expect("XChaCha20-Poly1305 encrypts messages of any size a cursor has");
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        sealed.push(VERSION);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        base64url::encode(&sealed)
    }

    /// Reads a cursor [sealed](Self::seal) with `key` (or one of its previous secrets).
    ///
    /// Text longer than [`MAX_CURSOR_LEN`](super::MAX_CURSOR_LEN), altered or truncated text, and
    /// text sealed with another key or written by [`encode`](Self::encode) are all
    /// `StoreError::Validation`, without saying which.
    pub fn open(text: &str, key: &CursorKey) -> Result<Cursor, StoreError> {
        check_len(text)?;
        let refused = || StoreError::Validation { field: None, message: "invalid sealed cursor".to_owned() };
        let bytes = base64url::decode(text.trim()).ok_or_else(refused)?;
        if bytes.len() < 1 + NONCE_LEN + TAG_LEN || bytes[0] != VERSION {
            return Err(refused());
        }
        let nonce = XNonce::try_from(&bytes[1..=NONCE_LEN]).map_err(|_| refused())?;
        let payload = || Payload { msg: &bytes[1 + NONCE_LEN..], aad: &[VERSION] };
        let plain = std::iter::once(&key.current)
            .chain(&key.previous)
            .find_map(|cipher| cipher.decrypt(&nonce, payload()).ok())
            .ok_or_else(refused)?;
        Cursor::from_bytes(&plain)
    }
}

#[cfg(test)]
mod tests;
