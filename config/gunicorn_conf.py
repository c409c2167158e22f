"""Gunicorn settings of the hub's web process: ``gunicorn -c python:config.gunicorn_conf config.wsgi:application``.

Its point is the access log: a webhook or callback URL's key is that endpoint's only credential,
and gunicorn's default access log writes the whole URL. ``KeyMaskingLogger`` masks every request
atom as the format reads it (request line, path, query, referer, headers, environ), keeping the
key's first 6 characters (``/api/webhooks/receive/AbC123…``), as the hub's own logs do.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger, SafeAtoms

from integrations.redaction import mask_url_keys

# Request headers never written, whatever access_log_format asks for.
_SECRET_HEADERS = frozenset({"{authorization}i", "{cookie}i", "{x-api-key}i", "{proxy-authorization}i"})


class _MaskedAtoms(SafeAtoms):
    def __getitem__(self, k: str) -> Any:
        value = super().__getitem__(k)
        if k.lower() in _SECRET_HEADERS and value != "-":
            return "********"
        if isinstance(value, str):
            return mask_url_keys(value)
        return value


class KeyMaskingLogger(Logger):
    """Gunicorn's logger with URL keys masked in the access log."""

    atoms_wrapper_class = _MaskedAtoms


logger_class = KeyMaskingLogger
