"""Keep secrets out of logs: mask known secret keys in structures and token-like values in text."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
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


# --- keys in URLs -----------------------------------------------------------------------------
# A webhook or callback URL's key is its only credential. Routes that carry one declare it as a
# ``<str:key>`` parameter; ``?token=`` carries one too (KiotViet's webhook URL). Log lines keep a
# recognisable prefix of the key (as the stored endpoints do), never the whole key.
_KEY_QUERY = re.compile(r"([?&](?:token|key)=)([^&#\s\"]{1,6})[^&#\s\"]*")
_keyed_route: re.Pattern[str] | None = None


def _keyed_prefixes(patterns, prefix: str = "") -> list[str]:
    found = []
    for p in patterns:
        route = str(p.pattern).lstrip("^")
        if hasattr(p, "url_patterns"):
            found += _keyed_prefixes(p.url_patterns, prefix + route)
        elif "<str:key>" in route or "<key>" in route:
            before = (prefix + route).split("<", 1)[0]
            if before:
                found.append("/" + before.lstrip("/"))
    return found


def _keyed_route_pattern() -> re.Pattern[str] | None:
    """``/<prefix>KEY`` for every URL route with a ``key`` parameter, read once from the URLconf.

    None until the URLconf has been imported by the process (a web process imports it to answer its
    first request): a log call must never be what imports it.
    """
    global _keyed_route
    if _keyed_route is None:
        from django.conf import settings
        from django.urls import get_resolver

        if getattr(settings, "ROOT_URLCONF", None) not in sys.modules:
            return None

        prefixes = sorted(set(_keyed_prefixes(get_resolver().url_patterns)), key=len, reverse=True)
        alternatives = "|".join(re.escape(p) for p in prefixes) or r"(?!)"
        _keyed_route = re.compile(rf"({alternatives})([^/?#\s\"]{{1,6}})[^/?#\s\"]*")
    return _keyed_route


def mask_url_keys(text: str) -> str:
    """``text`` (a path, request line or log message) with every URL key cut to its first 6 characters."""
    if "/" not in text and "=" not in text:
        return text
    keyed = _keyed_route_pattern()
    if keyed is not None:
        text = keyed.sub("\\1\\2…", text)
    return _KEY_QUERY.sub("\\1\\2…", text) if "=" in text else text


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
        except (ValueError, RecursionError):  # nested too deep is bad input like any other: masked as text
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
        # Django's "Not Found: /api/.../<key>" lines. Before settings exist (early start-up) it
        # cannot run: the line is logged as it is rather than lost.
        with contextlib.suppress(Exception):
            cleaned = mask_url_keys(cleaned)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
