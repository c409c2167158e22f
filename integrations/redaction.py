"""Keep secrets out of logs: mask known secret keys in structures and token-like values in text."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

MASK = "********"

# Key names that always hold secrets, whatever the provider.
SECRET_KEY_PATTERN = re.compile(
    r"(pass(word)?|secret|token|api[_-]?key|apikey|authorization|signature|client[_-]?secret|"
    r"private[_-]?key|credential|cookie|session|^key$|access[_-]?key|sign_string|x-api-key)",
    re.IGNORECASE,
)
_TEXT_PATTERNS = [
    # "Authorization: Bearer abc", "Basic abc"
    (re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{6,}"), r"\1 " + MASK),
    # key=value and "key": "value" pairs with secret-looking keys
    (
        re.compile(
            # The key starts at a word boundary and its parts are bounded: an unanchored `[a-z_-]*` on
            # both sides made this quadratic (a 15 kB word took seconds).
            r"(?i)(?<![a-z0-9_-])([\"']?(?:[a-z_-]{0,40}(?:password|secret|token|api[_-]?key|signature|"
            r"client_secret|sign_string)[a-z_-]{0,40})[\"']?\s*[:=]\s*[\"']?)([^\"'&\s,}]+)"
        ),
        r"\1" + MASK,
    ),
]


def is_secret_key(name: str) -> bool:
    return bool(SECRET_KEY_PATTERN.search(name))


def redact(value: Any, extra_secrets: tuple[str, ...] = (), _depth: int = 0) -> Any:
    """Return a copy of ``value`` with secret-named keys and any ``extra_secrets`` values masked."""
    if _depth > 20:
        return MASK
    if isinstance(value, dict):
        return {
            k: (MASK if isinstance(k, str) and is_secret_key(k) and v not in (None, "") else
                redact(v, extra_secrets, _depth + 1))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v, extra_secrets, _depth + 1) for v in value]
    if isinstance(value, str):
        return redact_text(value, extra_secrets)
    return value


def redact_text(text: str, extra_secrets: tuple[str, ...] = ()) -> str:
    for secret in extra_secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, MASK)
    for pattern, repl in _TEXT_PATTERNS:
        text = pattern.sub(repl, text)
    return text


def excerpt(data: Any, extra_secrets: tuple[str, ...] = (), limit: int = 2000) -> str:
    """A redacted, size-capped text excerpt of a request or response body for the integration log."""
    if data is None or data == b"" or data == "":
        return ""
    whole = True
    if isinstance(data, bytes):
        whole = len(data) <= limit * 4  # a larger body (a sync page) is cut: it cannot parse as JSON
        data = data[: limit * 4].decode("utf-8", errors="replace")
    if isinstance(data, str):
        try:
            if whole:
                return json.dumps(redact(json.loads(data), extra_secrets), ensure_ascii=False, default=str)[:limit]
        except ValueError:
            pass
        # Only ``limit`` characters are kept: redact only as far past them as a secret can reach
        # (the patterns mask a value cut short as well), not the whole body.
        reach = limit + 256 + max((len(s) for s in extra_secrets), default=0)
        return redact_text(data[:reach], extra_secrets)[:limit]
    return json.dumps(redact(data, extra_secrets), ensure_ascii=False, default=str)[:limit]


class RedactingFilter(logging.Filter):
    """Logging filter: masks bearer tokens and secret-looking key/value pairs in every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not break logging
            return True
        cleaned = redact_text(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
