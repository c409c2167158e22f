"""AES-256-GCM encryption of secrets at rest, with a key ring so keys can rotate.

Stored form: ``enc:v1:<key id>:<base64url(nonce 12 bytes + ciphertext + tag)>``. A fresh random
nonce for every value (never a fixed one: GCM with a reused nonce leaks the key stream). The key id
travels with the ciphertext so old keys still decrypt after a new one becomes primary, and
``manage.py rotate_encryption_key`` moves every value to the newest key.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

PREFIX = "enc:v1:"
DERIVED_KEY_ID = "sk0"  # key derived from SECRET_KEY when ENCRYPTION_KEYS is not set


class DecryptionError(Exception):
    """The value was tampered with, or was encrypted with a key the ring does not hold."""


@dataclass(frozen=True)
class KeyRing:
    primary_id: str
    keys: dict[str, bytes]

    def encrypt(self, plaintext: bytes, aad: bytes = b"") -> str:
        nonce = os.urandom(12)
        blob = nonce + AESGCM(self.keys[self.primary_id]).encrypt(nonce, plaintext, aad or None)
        return f"{PREFIX}{self.primary_id}:{base64.urlsafe_b64encode(blob).decode()}"

    def decrypt(self, token: str, aad: bytes = b"") -> bytes:
        key_id, blob = parse_token(token)
        key = self.keys.get(key_id)
        if key is None:
            raise DecryptionError(f"no key with id {key_id!r} in ENCRYPTION_KEYS")
        try:
            raw = base64.urlsafe_b64decode(blob.encode())
            return AESGCM(key).decrypt(raw[:12], raw[12:], aad or None)
        except (InvalidTag, ValueError) as exc:
            raise DecryptionError("ciphertext failed authentication (tampered or wrong key)") from exc


def parse_token(token: str) -> tuple[str, str]:
    if not token.startswith(PREFIX):
        raise DecryptionError("value is not an encrypted token")
    key_id, sep, blob = token[len(PREFIX):].partition(":")
    if not sep:
        raise DecryptionError("malformed encrypted token")
    return key_id, blob


def key_id_of(token: str) -> str:
    return parse_token(token)[0]


def parse_key_ring(spec: str, secret_key: str) -> KeyRing:
    """``"kid:base64key,kid2:base64key"``; the first entry is the primary (encrypting) key."""
    keys: dict[str, bytes] = {}
    order: list[str] = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        key_id, sep, b64 = item.partition(":")
        if not sep or not key_id:
            raise ValueError("ENCRYPTION_KEYS entries look like 'kid:base64key'")
        key = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))
        if len(key) != 32:
            raise ValueError(f"encryption key {key_id!r} must be 32 bytes (AES-256), got {len(key)}")
        keys[key_id] = key
        order.append(key_id)
    # The SECRET_KEY-derived key always decrypts, so values written before ENCRYPTION_KEYS was set
    # stay readable until rotate_encryption_key moves them.
    keys.setdefault(DERIVED_KEY_ID, hashlib.sha256(b"integration-hub-encryption:" + secret_key.encode()).digest())
    return KeyRing(primary_id=order[0] if order else DERIVED_KEY_ID, keys=keys)


@lru_cache(maxsize=4)
def _ring(spec: str, secret_key: str) -> KeyRing:
    return parse_key_ring(spec, secret_key)


def key_ring() -> KeyRing:
    return _ring(settings.ENCRYPTION_KEYS, settings.SECRET_KEY)


def generate_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
