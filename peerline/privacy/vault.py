"""Secrets at rest: phone numbers and words, encrypted (Fernet, rotatable).

Numbers are also found by a keyed hash; words (message bodies, transcripts…) are
stored through :class:`peerline.sealed.SealedText`, which uses the same vault.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def _derive(secret: str, purpose: bytes) -> bytes:
    """32 bytes derived from ``secret`` for one ``purpose`` (HKDF-SHA256)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"peerline", info=purpose).derive(
        secret.encode()
    )


class PhoneVault:
    """Encrypts, decrypts and hashes phone numbers; encrypts words with the same keys.

    ``encryption_keys``: Fernet keys, newest first; all of them decrypt, the first
    encrypts (rotation: put the new key first, run ``flask rotate-keys``, drop the old).
    ``hash_key``: the HMAC key for lookups; it does not rotate with the encryption keys.
    """

    def __init__(self, encryption_keys: list[str], hash_key: bytes) -> None:
        self._fernet = MultiFernet([Fernet(k) for k in encryption_keys])
        self._hash_key = hash_key

    @classmethod
    def from_settings(cls, secret_key: str, keys: str = "", hash_key: str = "") -> PhoneVault:
        """Build from settings; missing keys are derived from ``secret_key``."""
        key_list = [k.strip() for k in keys.split(",") if k.strip()]
        if not key_list:
            key_list = [base64.urlsafe_b64encode(_derive(secret_key, b"phone-encryption")).decode()]
        hkey = hash_key.encode() if hash_key else _derive(secret_key, b"phone-hash")
        return cls(key_list, hkey)

    def encrypt(self, number: str) -> str:
        """Ciphertext of an E.164 number (or of any text)."""
        return self._fernet.encrypt(number.encode()).decode()

    def decrypt(self, token: str) -> str:
        """The E.164 number (or text) inside ``token``."""
        return self._fernet.decrypt(token.encode()).decode()

    def rotate(self, token: str) -> str:
        """Re-encrypt ``token`` under the newest key."""
        return self._fernet.rotate(token.encode()).decode()

    def hash(self, number: str) -> str:
        """Keyed hash of an E.164 number, stable across key rotation."""
        return hmac.new(self._hash_key, number.encode(), hashlib.sha256).hexdigest()
