"""Model fields whose values are encrypted in the database (see crypto.py)."""

from __future__ import annotations

import json
from typing import Any

from django.db import models

from .crypto import key_ring


class _EncryptedField(models.TextField):
    """Stores ``enc:v1:...`` text; Python code sees the plaintext value.

    The column name is bound in as associated data, so a ciphertext copied into another column or
    table does not decrypt.
    """

    def _aad(self) -> bytes:
        return f"{self.model._meta.db_table}.{self.column}".encode()

    def to_plain(self, value: Any) -> bytes:  # pragma: no cover - abstract
        raise NotImplementedError

    def from_plain(self, raw: bytes) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def empty(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return self.empty()
        return self.from_plain(key_ring().decrypt(value, self._aad()))

    def get_prep_value(self, value):
        if value is None:
            value = self.empty()
        return key_ring().encrypt(self.to_plain(value), self._aad())

    def to_python(self, value):
        return value

    def encrypt_existing(self, token: str) -> str:
        """Re-encrypt a stored token under the primary key (used by key rotation)."""
        return key_ring().encrypt(key_ring().decrypt(token, self._aad()), self._aad())


class EncryptedJSONField(_EncryptedField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("default", dict)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def empty(self) -> Any:
        return {}

    def to_plain(self, value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()

    def from_plain(self, raw: bytes) -> Any:
        return json.loads(raw)


class EncryptedTextField(_EncryptedField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("default", "")
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def empty(self) -> str:
        return ""

    def to_plain(self, value: Any) -> bytes:
        return str(value).encode()

    def from_plain(self, raw: bytes) -> str:
        return raw.decode()
